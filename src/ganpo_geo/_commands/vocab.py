"""``ganpo industries``, ``ganpo rules`` and ``ganpo stations``: the vocabularies on the command line."""

from __future__ import annotations

import click

__all__ = ["industries_cmd", "rules_cmd", "stations_cmd"]


@click.command("industries")
def industries_cmd() -> None:
    """List the industries: keys, names, aliases and GB/T 4754-2017 codes."""


@click.command("rules")
def rules_cmd() -> None:
    """List the zoning rules, optionally for one unit and/or one industry."""


@click.command("stations")
def stations_cmd() -> None:
    """List the monitoring stations of the phosphorus model (illustrative loads)."""
