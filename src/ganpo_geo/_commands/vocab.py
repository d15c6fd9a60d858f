"""``ganpo industries`` and ``ganpo rules``: the vocabularies on the command line (see also ``stations``).

Each prints a table (``--format text``), a JSON list of records (``json``) or CSV (``csv``). The
functions behind them are the library's: :func:`ganpo_geo.zoning.industries` and
:func:`ganpo_geo.zoning.resolve_industry` (which also reads GB/T 4754-2017 codes),
:func:`ganpo_geo.zoning.rules_for` and the access rules of the layers in use, and the bundled
``stations`` layer with the (illustrative) observed loads of
:func:`ganpo_geo.loads.station_observations` (in :mod:`ganpo_geo._commands.stations`).
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import click
import pandas as pd

from ganpo_geo._commands._common import _load_layers, layers_option
from ganpo_geo._errors import ValidationError
from ganpo_geo.layers import Layers, bundled_layers
from ganpo_geo.vocabulary import clause_industries_apply
from ganpo_geo.zoning import gbt4754_sections, industries, resolve_industry, rules_for

__all__ = ["industries_cmd", "industry_table", "rule_table", "rules_cmd"]

_FORMATS = click.Choice(["text", "json", "csv"])


def _format_option(func: Any) -> Any:
    return click.option("--format", "fmt", type=_FORMATS, default="text", show_default=True)(func)


def _plain(value: Any) -> Any:
    """A JSON/CSV/text cell: integers as integers (not 49.0), missing values as None."""
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
        return None
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _records(table: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: _plain(v) for k, v in row.items()} for row in table.to_dict(orient="records")]


def _emit(table: pd.DataFrame, fmt: str, columns: list[tuple[str, str, int]], footer: list[str]) -> None:
    """Write ``table`` as JSON, CSV or a text table of ``columns`` (column, header, width; 0: last)."""
    if fmt == "json":
        click.echo(json.dumps(_records(table), ensure_ascii=False, indent=2))
        return
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=[str(c) for c in table.columns], lineterminator="\n")
        writer.writeheader()
        writer.writerows(_records(table))  # None -> empty cell; integers stay integers
        click.echo(out.getvalue(), nl=False)
        return
    header = "".join(f"{title:<{width}}" if width else title for _, title, width in columns)
    click.echo(header)
    click.echo("-" * min(len(header) + 20, 120))
    for row in _records(table):
        cells = []
        for col, _, width in columns:
            text = "" if row.get(col) is None else str(row[col])
            cells.append(f"{_clip(text, width - 1):<{_pad(_clip(text, width - 1), width)}}" if width else text)
        click.echo("".join(cells))
    for line in footer:
        click.echo(line)


def _display_width(text: str) -> int:
    """Columns a string takes in a terminal: CJK characters take two."""
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


def _clip(text: str, width: int) -> str:
    if _display_width(text) <= width:
        return text
    out = ""
    for ch in text:
        if _display_width(out + ch) > width - 1:
            break
        out += ch
    return out + "…"


def _pad(text: str, width: int) -> int:
    """The ``str.format`` width that fills ``width`` terminal columns with ``text``."""
    return max(width - (_display_width(text) - len(text)), 0)


# --------------------------------------------------------------------------- industries


def _code_with_section(code: str, sections: pd.DataFrame) -> str:
    """``26`` -> ``C26``, ``0932`` -> ``B0932``; section letters (``B;C;D``) stay as they are."""
    out = []
    for part in (p.strip() for p in code.split(";") if p.strip()):
        if part.isdigit():
            division = int(part[:2])
            hit = sections[(sections["first"] <= division) & (sections["last"] >= division)]
            part = f"{hit['section'].iloc[0]}{part}" if len(hit) else part
        out.append(part)
    return ";".join(out)


def industry_table(search: str | None = None) -> pd.DataFrame:
    """The industry vocabulary for listing, optionally only the classes that match ``search``.

    Parameters
    ----------
    search : str, optional
        Case-insensitive text found in a key, a name, an alias or the GB/T 4754-2017 name, or a
        GB/T 4754-2017 code (``2611``, ``C26``: the class it resolves to, see
        :func:`ganpo_geo.zoning.resolve_industry`).

    Returns
    -------
    pandas.DataFrame
        ``industry``, ``name_zh``, ``name_en``, ``gbt4754`` (with its section letter, e.g.
        ``C26``), ``gbt4754_name_zh``, ``discharges_tp``, ``chemical_project``, ``aliases``
        (``;``-separated) and ``source``, in vocabulary order.
    """
    table = industries().reset_index(drop=True)
    sections = gbt4754_sections()
    table["gbt4754"] = table["gbt4754"].map(lambda code: _code_with_section(str(code), sections))
    if search is not None and search.strip():
        text = search.strip().lower()
        haystack = table[["industry", "name_zh", "name_en", "aliases", "gbt4754_name_zh"]].apply(
            lambda col: col.astype(str).str.lower()
        )
        mask = haystack.apply(lambda col: col.str.contains(text, regex=False)).any(axis=1)
        try:
            mask |= table["industry"] == resolve_industry(search)
        except ValidationError:
            pass
        table = table[mask]
    columns = [
        "industry",
        "name_zh",
        "name_en",
        "gbt4754",
        "gbt4754_name_zh",
        "discharges_tp",
        "chemical_project",
        "aliases",
        "source",
    ]
    return table[columns].reset_index(drop=True)


@click.command("industries")
@click.option(
    "--search",
    default=None,
    metavar="TEXT",
    help="Only the classes whose key, names, aliases or GB/T 4754 name contain TEXT, or that a code (2611, C26) names.",
)
@_format_option
def industries_cmd(search: str | None, fmt: str) -> None:
    """List the industries: keys, names, aliases and GB/T 4754-2017 codes.

    Any of a key, a Chinese or English name, an alias or a GB/T 4754-2017 code (``2611``,
    ``C26``: the class whose code is the longest prefix of it) is accepted wherever a command
    takes an industry (``--industry``, the industry column of a batch).
    """
    table = industry_table(search)
    if table.empty:
        msg = f"no industry matches {search!r}; `ganpo industries` lists them all"
        raise ValidationError(msg)
    columns = [
        ("industry", "key", 22),
        ("name_zh", "name_zh", 16),
        ("name_en", "name_en", 34),
        ("gbt4754", "GB/T 4754", 11),
        ("gbt4754_name_zh", "GB/T 4754 name", 36),
        ("aliases", "aliases", 0),
    ]
    footer = [
        f"{len(table)} of {len(industries())} classes. Codes: GB/T 4754-2017 (amendment 1, 2019); a code such as "
        "2611 or C26 is read as the class whose code is its longest prefix.",
    ]
    _emit(table, fmt, columns, footer)


# --------------------------------------------------------------------------- rules

_RULE_COLUMNS = [
    "rule_id",
    "level",
    "scope",
    "dimension",
    "industries",
    "effect",
    "condition",
    "text_zh",
    "text_en",
    "basis",
    "reference",
]


def rule_table(layers: Layers | None = None, *, unit: str | None = None, industry: str | None = None) -> pd.DataFrame:
    """The access rules of the layers in use, optionally those reaching one unit and/or industry.

    Parameters
    ----------
    layers : Layers, optional
        Default: the bundled reference layers.
    unit : str, optional
        A unit code: only the rules that reach this unit (province, its city, its category, its
        code); with ``industry``, :func:`ganpo_geo.zoning.rules_for` exactly.
    industry : str, optional
        Anything :func:`ganpo_geo.zoning.resolve_industry` accepts (a name, an alias, ``2611``).

    Returns
    -------
    pandas.DataFrame
        The rule columns of ``access_rules.csv`` (and ``industry`` when one is given).
    """
    layers = layers or bundled_layers()
    key = resolve_industry(industry) if industry is not None else None
    if unit is not None:
        keys = [key] if key is not None else list(industries()["industry"])
        parts = [rules_for(unit, k, layers=layers) for k in keys]
        table = pd.concat(parts, ignore_index=True).drop_duplicates("rule_id")
        if key is None:
            table = table.drop(columns="industry")
    else:
        table = layers.access_rules().copy()
        if key is not None:
            mask = table["industries"].map(lambda spec: clause_industries_apply(str(spec), key))
            table = table[mask]
            table.insert(0, "industry", key)
    columns = [c for c in ["industry", *_RULE_COLUMNS] if c in table.columns]
    return table[columns].reset_index(drop=True)


@click.command("rules")
@click.option("--unit", default=None, metavar="CODE", help="Only the rules that reach this control unit.")
@click.option("--industry", default=None, help="Only the rules for this industry (name, alias, or code such as 2611).")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True, help="Rule text language.")
@_format_option
@layers_option
def rules_cmd(unit: str | None, industry: str | None, lang: str, fmt: str, layers_file: str | None) -> None:
    """List the zoning rules, optionally for one unit and/or one industry.

    The rules are those of the layers in use (--layers FILE or GANPO_LAYERS; else the bundled
    reference rules): province, city and unit-category lists with their legal basis.
    """
    layers = _load_layers(layers_file)
    table = rule_table(layers, unit=unit, industry=industry)
    columns = [
        ("rule_id", "rule", 12),
        ("level", "level", 10),
        ("scope", "scope", 18),
        ("effect", "effect", 10),
        ("condition", "condition", 30),
        (f"text_{lang}", "text", 0),
    ]
    what = " and ".join(
        part for part in (f"unit {unit}" if unit else "", f"industry {industry}" if industry else "") if part
    )
    footer = [f"{len(table)} rule(s)" + (f" for {what}" if what else "") + "; --format json shows the legal basis."]
    if len(table) and table["reference"].astype(str).str.lower().eq("true").any():
        footer.append("Rules marked reference=true are written for demonstration, not official.")
    _emit(table, fmt, columns, footer)
