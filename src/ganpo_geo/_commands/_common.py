"""Helpers shared by the ``ganpo`` commands: number types, the ``--layers`` option, JSON output."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any, TypeVar

import click

from ganpo_geo.layers import Layers

__all__ = ["COUNT", "FINITE", "NON_NEGATIVE", "POSITIVE", "layers_option"]

_F = TypeVar("_F", bound=Callable[..., Any])

_REFERENCE_NOTICE = (
    "Layers marked 'reference' are synthesized for demonstration, not official data; load your official layers instead."
)


class _Number(click.ParamType[float]):
    """A finite float, optionally with a lower bound (click rejects anything else with exit 2)."""

    def __init__(self, minimum: float | None = None, *, inclusive: bool = False) -> None:
        self.minimum = minimum
        self.inclusive = inclusive
        bound = "" if minimum is None else (f" >= {minimum:g}" if inclusive else f" > {minimum:g}")
        self.name = f"finite number{bound}"

    def convert(self, value: Any, param: Any, ctx: Any) -> float:
        if isinstance(value, float) and math.isfinite(value):
            number = value
        else:
            try:
                number = float(value)
            except (TypeError, ValueError):
                self.fail(f"{value!r} is not a number", param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        if self.minimum is not None and (number < self.minimum or (number == self.minimum and not self.inclusive)):
            self.fail(f"{value!r} must be {self.name.split(' ', 2)[-1].strip()}", param, ctx)
        return number


FINITE = _Number()
POSITIVE = _Number(0.0)
NON_NEGATIVE = _Number(0.0, inclusive=True)
COUNT = click.IntRange(min=1)


def _echo_json(obj: Any) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False, indent=2))


def layers_option(func: _F) -> _F:
    """The ``--layers FILE`` option (default: the ``GANPO_LAYERS`` environment variable)."""
    return click.option(
        "--layers",
        "layers_file",
        type=click.Path(dir_okay=False),
        envvar="GANPO_LAYERS",
        default=None,
        help="Layers TOML file naming your official layers (default: $GANPO_LAYERS; else the bundled reference).",
    )(func)


def _load_layers(path: str | None) -> Layers | None:
    """The Layers of a layers file, or None (bundled reference layers)."""
    if not path:
        return None

    return Layers.from_file(path)


def _echo_layers_in_use(layers: Layers | None, *, err: bool = False, validation: bool = False) -> None:
    """One line per zoning layer: official (with its file) or reference (and its validation status)."""
    if layers is None:
        return
    for entry in layers.describe():
        check = f"; {entry['validation']}" if validation else ""
        click.echo(f"layer {entry['layer']}: {entry['status']} ({entry['path']}){check}", err=err)


def integer_ids(table: Any) -> Any:
    """``table`` with its id columns (``*_id``) as nullable integers where they hold whole numbers.

    A reach id column with a missing value is float in pandas, and would print as ``49.0``.
    """
    import pandas as pd  # only commands that already hold a table get here

    out = table.copy()
    for col in out.columns:
        if not str(col).endswith("_id") or not pd.api.types.is_float_dtype(out[col]):
            continue
        values = out[col].dropna()
        if (values == values.round()).all():
            out[col] = out[col].astype("Int64")
    return out
