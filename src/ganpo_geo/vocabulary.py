"""The rules vocabulary: unit categories, access-list dimensions, industries, condition terms, rule scope.

The words every rule is written in, and the one definition of which rules reach a unit
(:func:`rules_in_scope`). It sits low in the package: :mod:`ganpo_geo.requirements` (the clause
compiler), the official-layer readers and :mod:`ganpo_geo.zoning` all build on it, and
:mod:`ganpo_geo.zoning` re-exports every public name here.

Examples
--------
>>> from ganpo_geo.vocabulary import resolve_industry
>>> resolve_industry("化工")
'chemical'
"""

from __future__ import annotations

import difflib
import re
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from ganpo_geo._errors import ValidationError
from ganpo_geo._layerfiles import data_path

__all__ = [
    "CATEGORY_EN",
    "CATEGORY_ZH",
    "CONDITION_TERMS",
    "DIMENSIONS",
    "MAX_NEAR_WATER_M",
    "UNIT_CODE_PATTERN",
    "clause_industries_apply",
    "condition_terms",
    "gbt4754_sections",
    "industries",
    "parse_category",
    "resolve_industry",
    "rules_in_scope",
]


CATEGORY_ZH = {1: "优先保护单元", 2: "重点管控单元", 3: "一般管控单元"}


CATEGORY_EN = {1: "priority protection", 2: "key control", 3: "general control"}


#: The four dimensions of an access list: key -> (Chinese, English, official field name)
DIMENSIONS = {
    "spatial_layout": ("空间布局约束", "spatial layout", "KJBJYS"),
    "pollutant_discharge": ("污染物排放管控", "pollutant discharge", "PWWPFGK"),
    "environmental_risk": ("环境风险防控", "environmental risk", "HJFXFK"),
    "resource_efficiency": ("资源开发效率要求", "resource efficiency", "ZYKFXLYQ"),
}


#: ``ZH`` + 6-digit county code + category digit + 4-digit serial (docs/sources.md, unverified).
UNIT_CODE_PATTERN = re.compile(r"^ZH(36\d{4})([123])(\d{4})$")


_CATEGORY_TEXT = {
    "1": 1, "优先保护单元": 1, "优先保护": 1, "优先": 1, "priority": 1, "priority protection": 1,
    "2": 2, "重点管控单元": 2, "重点管控": 2, "重点": 2, "key": 2, "key control": 2,
    "3": 3, "一般管控单元": 3, "一般管控": 3, "一般": 3, "general": 3, "general control": 3,
}  # fmt: skip


@cache
def _industry_table() -> pd.DataFrame:
    table = pd.read_csv(data_path("zoning/industries.csv"), dtype=str, keep_default_na=False)
    for col in ("discharges_tp", "chemical_project"):
        table[col] = table[col].str.lower().eq("true")
    return table.set_index("industry", drop=False)


def industries() -> pd.DataFrame:
    """The industry vocabulary: key, Chinese and English names, GB/T 4754-2017 code, flags.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``industry`` with ``name_zh``, ``name_en``, ``gbt4754``,
        ``gbt4754_name_zh``, ``discharges_tp``, ``chemical_project`` and ``aliases``.
    """
    return _industry_table().copy()


@cache
def _industry_lookup() -> dict[str, str]:
    lookup: dict[str, str] = {}
    for row in _industry_table().itertuples():
        names = [row.industry, row.name_zh, row.name_en, *row.aliases.split(";")]
        for name in names:
            if name:
                lookup.setdefault(name.strip().lower(), row.industry)
    return lookup


def resolve_industry(name: str) -> str:
    """The vocabulary key of an industry given in Chinese, English, by key or alias.

    Parameters
    ----------
    name : str
        E.g. ``"化工"``, ``"chemical plant"``, ``"chemical"``, or a GB/T 4754-2017 code such as
        ``"2611"`` or ``"C26"`` (the class whose code is the longest prefix of it).

    Returns
    -------
    str
        The industry key (e.g. ``"chemical"``).

    Raises
    ------
    ValidationError
        An unknown industry; the message lists close matches.

    Examples
    --------
    >>> resolve_industry("化工")
    'chemical'
    >>> resolve_industry("chemical plant")
    'chemical'
    >>> resolve_industry("2611")  # GB/T 4754-2017: 无机酸制造, in C26
    'chemical'
    """
    key = str(name).strip().lower()
    lookup = _industry_lookup()
    if key in lookup:
        return lookup[key]
    if _GBT4754_CODE.fullmatch(key):
        return _industry_of_code(str(name).strip())
    close = difflib.get_close_matches(key, list(lookup), n=5, cutoff=0.5)
    close_keys = list(dict.fromkeys(lookup[c] for c in close))
    hint = f"close matches: {', '.join(close_keys)}" if close_keys else _INDUSTRY_HELP
    msg = f"unknown industry {name!r}; {hint} (the vocabulary has {len(_industry_table())} classes)"
    raise ValidationError(msg)


#: A GB/T 4754-2017 code: a section letter (A-T), a 2-4 digit division/group/class code, or both (``C2611``).
_GBT4754_CODE = re.compile(r"[a-t]|[a-t]?\d{2,4}")
_INDUSTRY_HELP = "`ganpo industries --search TEXT` lists the classes with their GB/T 4754-2017 codes"


@cache
def _gbt4754_sections() -> pd.DataFrame:
    """GB/T 4754-2017 sections (门类) with their division (大类) ranges (bundled, sourced table)."""
    table = pd.read_csv(data_path("zoning/gbt4754_sections.csv"), dtype=str, keep_default_na=False)
    table["first"] = table["first_division"].astype(int)
    table["last"] = table["last_division"].astype(int)
    return table


def gbt4754_sections() -> pd.DataFrame:
    """The GB/T 4754-2017 sections (门类 A-T) and the division (大类) codes each one spans.

    Returns
    -------
    pandas.DataFrame
        ``section``, ``first_division``, ``last_division`` (two-digit strings), ``first`` and
        ``last`` (the same as integers), ``name_zh`` and ``source``.
    """
    return _gbt4754_sections().copy()


def _industry_of_code(code: str) -> str:
    """The industry key of a GB/T 4754-2017 code: the class whose code is its longest prefix.

    ``2611`` (无机酸制造) and ``C26`` give ``chemical`` (C26 化学原料和化学制品制造业); a code
    under no listed division falls back to the class that lists its section letter (``3012``:
    ``industrial``, section C), the one listing fewest codes first.
    """
    sections = _gbt4754_sections()
    code = code.upper()
    letter, digits = (code[0], code[1:]) if code[0].isalpha() else ("", code)
    section = letter
    if digits:
        division = int(digits[:2])
        found = sections[(sections["first"] <= division) & (sections["last"] >= division)]
        if found.empty:
            msg = f"{code!r} is not a GB/T 4754-2017 code (no division {digits[:2]}); {_INDUSTRY_HELP}"
            raise ValidationError(msg)
        section = str(found["section"].iloc[0])
        if letter and letter != section:
            msg = f"{code!r}: division {digits[:2]} is in GB/T 4754-2017 section {section}, not {letter}"
            msg += f"; {_INDUSTRY_HELP}"
            raise ValidationError(msg)
    best: tuple[int, int, str] | None = None  # (-prefix length, number of codes, key)
    for row in _industry_table().itertuples():
        codes = [c.strip().upper() for c in str(row.gbt4754).split(";") if c.strip()]
        for c in codes:
            if c.isdigit() and digits.startswith(c):
                rank = (-len(c), len(codes), str(row.industry))
            elif c == section:
                rank = (0, len(codes), str(row.industry))
            else:
                continue
            best = rank if best is None or rank < best else best
    if best is None:
        msg = (
            f"GB/T 4754-2017 code {code!r} (section {section}) matches no industry of the vocabulary; "
            f"{_INDUSTRY_HELP}"
        )
        raise ValidationError(msg)
    return best[2]


#: Spatial condition terms a rule may carry, evaluated by the site check; ``&`` joins terms
#: that must all hold. ``<body>`` is a ``body_key`` of the shoreline table
#: (``rivers/shoreline_rules.csv``), ``<basin>`` a basin key of :func:`ganpo_geo.rivers.basin_of`.
CONDITION_TERMS = {
    "shoreline_1km": "within 1 km of the shoreline of a water body that the Yangtze Protection Law art. 26 "
    "rule covers (the shoreline table): measured to banks, with the data's positional uncertainty",
    "near_water:<body>:<metres>": "within <metres> (at most 2000) of that water body's bank",
    "in_redline": "the site overlaps an ecological protection red line",
    "tp_exceeding_basin": "the site drains to Poyang Lake, whose TP exceeds its target",
    "in_basin:<basin>": "the site lies (mostly) in that river basin",
    "in_central_urban_area": "the site touches an urban key-control unit of a city district (中心城区)",
    "outside_industrial_park": "the site touches no industrial-park key-control unit (园区外)",
    "in_screening:<name>": "the site overlaps (or lies within the layer's buffer of) that screening layer",
}


#: Older condition names still read from rule files (with a warning).
_CONDITION_ALIASES = {"near_yangtze_or_tributary_1km": "shoreline_1km"}


_SIMPLE_TERMS = {
    "shoreline_1km",
    "in_redline",
    "tp_exceeding_basin",
    "in_central_urban_area",
    "outside_industrial_park",
}


MAX_NEAR_WATER_M = 2000.0


def condition_terms(condition: str) -> tuple[str, ...]:
    """The terms of a rule's spatial condition (``""`` means the rule always applies).

    Parameters
    ----------
    condition : str
        E.g. ``"shoreline_1km"`` or ``"near_water:gan:500&outside_industrial_park"``.

    Returns
    -------
    tuple of str
        The terms in order; empty for an unconditional rule.

    Raises
    ------
    ValidationError
        An unknown term, or a malformed ``near_water``/``in_basin`` term.

    Examples
    --------
    >>> condition_terms("near_water:gan:500&outside_industrial_park")
    ('near_water:gan:500', 'outside_industrial_park')
    """
    terms = tuple(t.strip() for t in str(condition).split("&") if t.strip())
    for term in terms:
        name, _, arg = term.partition(":")
        if term in _SIMPLE_TERMS or (name in ("in_basin", "in_screening") and arg):
            continue
        if name == "near_water":
            body, _, metres = arg.partition(":")
            try:
                ok = bool(body) and 0 < float(metres) <= MAX_NEAR_WATER_M
            except ValueError:
                ok = False
            if ok:
                continue
            msg = f"condition {term!r}: write near_water:<body_key>:<metres> with 0 < metres <= {MAX_NEAR_WATER_M:.0f}"
            raise ValidationError(msg)
        msg = f"unknown condition term {term!r}; use one of {', '.join(CONDITION_TERMS)}"
        raise ValidationError(msg)
    return terms


def rules_in_scope(
    rules: pd.DataFrame, *, city_adcode: str, category: Any, unit_code: str, industry: str | None
) -> pd.Series:
    """Which rules reach a unit for an industry: province, the unit's city, its category, its code.

    The one definition of rule scope; :func:`~ganpo_geo.zoning.rules_for`, the site check and the
    zoning map use it. A unit whose official requirement text is in use (listed in
    ``rules.attrs["official_units"]``, see :func:`~ganpo_geo.zoning.official_rules`) gets its own
    clauses instead of the reference rules of its category.

    Parameters
    ----------
    rules : pandas.DataFrame
        Access rules (see :func:`~ganpo_geo.zoning.read_rules`).
    city_adcode : str
        The unit's city adcode (6 digits).
    category : int or str
        The unit's category (1, 2 or 3).
    unit_code : str
        The unit's code (unit-level rules may name it).
    industry : str or None
        An industry key (see :func:`resolve_industry`); None: rules of any industry.

    Returns
    -------
    pandas.Series
        Boolean mask aligned with ``rules``.

    Examples
    --------
    >>> rules = pd.DataFrame({"level": ["province", "city", "unit", "unit"], "scope": ["province", "360100", "2", "3"],
    ...                       "industries": ["all", "chemical", "all", "all"]})
    >>> rules_in_scope(rules, city_adcode="360100", category=2, unit_code="ZH36010220001", industry="paper").tolist()
    [True, False, True, False]
    """
    if str(unit_code) in rules.attrs.get("official_units", ()):
        category_text = ""  # official text replaces the category rules
    else:
        try:
            category_text = str(int(category))
        except (TypeError, ValueError):
            category_text = str(category)
    scope_ok = (
        (rules["level"] == "province")
        | ((rules["level"] == "city") & (rules["scope"] == str(city_adcode)))
        | ((rules["level"] == "unit") & rules["scope"].isin([category_text, str(unit_code)]))
    )
    if industry is None:
        return scope_ok
    return scope_ok & rules["industries"].map(lambda spec: _applies(spec, industry))


def clause_industries_apply(spec: str, industry: str) -> bool:
    """Whether a rule's ``industries`` value (``all``, ``all_except:a;b`` or ``a;b``) covers an industry key.

    Parameters
    ----------
    spec : str
    industry : str

    Returns
    -------
    bool
    """
    return _applies(spec, industry)


def _applies(spec: str, industry: str) -> bool:
    if spec == "all":
        return True
    if spec.startswith("all_except:"):
        return industry not in spec.removeprefix("all_except:").split(";")
    return industry in spec.split(";")


def parse_category(value: Any) -> int | None:
    """Category 1/2/3 from a number or text (优先保护单元, 重点管控, general ...), else None.

    Parameters
    ----------
    value : Any

    Returns
    -------
    int or None
    """
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, int | np.integer | float | np.floating) and float(value).is_integer():
        value = str(int(value))
    return _CATEGORY_TEXT.get(str(value).strip().lower())
