"""The ``ganpo`` subcommands, one module per command (group), loaded on demand by :mod:`ganpo_geo.cli`.

The two helpers here are what :mod:`ganpo_geo.cli` itself needs to report errors; they import
nothing heavy, so ``ganpo --version`` and ``ganpo --help`` stay light (the command modules and
their shared helpers, :mod:`ganpo_geo._commands._common`, load geopandas).
"""

from __future__ import annotations

import os

import click

__all__: list[str] = []


def _first_line(exc: BaseException) -> str:
    """The first line of an exception's message (the CLI prints one line per error)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""


def _debug(ctx: click.Context) -> bool:
    """Whether --debug (or GANPO_DEBUG) asks for tracebacks."""
    return bool(ctx.meta.get("ganpo_debug")) or os.environ.get("GANPO_DEBUG", "") not in ("", "0")
