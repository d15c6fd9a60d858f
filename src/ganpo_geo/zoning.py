"""The "1+11+1093" environmental zoning: control units, industries and their access rules.

The bundled control units are REFERENCE DATA synthesized for demonstration (see
``ganpo layers``); load the official units with :func:`load_control_units` and pass them in a
:class:`~ganpo_geo.layers.Layers` object.

Examples
--------
>>> from ganpo_geo.zoning import rules_for
>>> rules = rules_for("ZH36010220001", "chemical")
>>> list(rules["level"].drop_duplicates())
['province', 'city', 'unit']
"""

from __future__ import annotations

import difflib
import re
import warnings
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ganpo_geo._errors import ColumnMappingError, ValidationError
from ganpo_geo._index import GRID_MIN_POINTS, PolygonIndex
from ganpo_geo.crs import JIANGXI_ALBERS, WGS84, area_km2, to_albers, to_wgs84
from ganpo_geo.layers import Layers, bundled_layers, data_path, load_layer

__all__ = [
    "CATEGORY_EN",
    "CATEGORY_ZH",
    "CONDITION_TERMS",
    "DIMENSIONS",
    "UNIT_CODE_PATTERN",
    "Problem",
    "ValidationReport",
    "condition_terms",
    "control_units",
    "gbt4754_sections",
    "industries",
    "load_control_units",
    "parse_category",
    "parse_requirements",
    "read_rules",
    "resolve_industry",
    "rules_for",
    "rules_in_scope",
    "units_at",
    "validate_control_units",
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

# Official and common field names, in order of preference, for each standard column.
UNIT_FIELDS: dict[str, list[str]] = {
    "unit_code": ["unit_code", "HJZHGKDYBM", "环境管控单元编码", "管控单元编码", "单元编码", "DYBM", "编码"],
    "name_zh": ["name_zh", "HJZHGKDYMC", "环境管控单元名称", "管控单元名称", "单元名称", "DYMC", "名称"],
    "category": [
        "category", "ZHGKDYFL", "环境管控单元分类", "管控单元分类", "单元分类", "管控分类", "GKDYFL", "类别", "分类",
    ],
    "province": ["PROV", "省", "省份"],
    "city": ["CITY", "市", "地市"],
    "county": ["AREA", "区县", "县区"],
    "element": ["HJYS", "环境要素"],
    "basin": ["LYMC", "流域名称"],
    "reach": ["HDMC", "河段名称"],
    "remark": ["REMARK", "备注"],
    "spatial_layout": ["KJBJYS", "空间布局约束", "空间布局"],
    "pollutant_discharge": ["PWWPFGK", "污染物排放管控", "污染排放"],
    "environmental_risk": ["HJFXFK", "环境风险防控", "风险防控"],
    "resource_efficiency": ["ZYKFXLYQ", "资源开发效率要求", "资源效率"],
}  # fmt: skip
_REQUIRED_UNIT_FIELDS = ("unit_code", "category")


# --------------------------------------------------------------------------- industries


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
    lookup = {}
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


# --------------------------------------------------------------------------- rules


def read_rules(path: str | Path) -> pd.DataFrame:
    """Read an access-rules CSV (the format of the bundled ``access_rules.csv``).

    Parameters
    ----------
    path : path
        CSV with ``rule_id, level, scope, dimension, industries, effect, condition, text_zh,
        text_en, basis, reference``.

    Returns
    -------
    pandas.DataFrame

    Raises
    ------
    ColumnMappingError
        A required column is missing.
    ValidationError
        An unknown level, dimension or effect, or an unknown industry.
    """
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    required = [
        "rule_id",
        "level",
        "scope",
        "dimension",
        "industries",
        "effect",
        "text_zh",
        "text_en",
        "basis",
    ]
    missing = [c for c in required if c not in table.columns]
    if missing:
        msg = f"{path}: missing column(s) {', '.join(missing)}; columns found: {', '.join(table.columns)}"
        raise ColumnMappingError(msg)
    for col, allowed in (
        ("level", {"province", "city", "unit"}),
        ("dimension", set(DIMENSIONS)),
        ("effect", {"prohibit", "restrict", "require", "allow"}),
    ):
        bad = table.loc[~table[col].isin(allowed), ["rule_id", col]]
        if len(bad):
            msg = f"{path}: rule {bad.iloc[0, 0]} has unknown {col} {bad.iloc[0, 1]!r}; use one of {sorted(allowed)}"
            raise ValidationError(msg)
    vocabulary = set(_industry_table().index)
    for rule_id, spec in zip(table["rule_id"], table["industries"], strict=True):
        names = spec.removeprefix("all_except:").split(";") if spec != "all" else []
        unknown = [n for n in names if n and n not in vocabulary]
        if unknown:
            msg = f"{path}: rule {rule_id} names unknown industry {unknown[0]!r}"
            raise ValidationError(msg)
    if "condition" not in table.columns:
        table["condition"] = ""
    table["condition"] = [
        _normalise_condition(c, rule_id, path) for c, rule_id in zip(table["condition"], table["rule_id"], strict=True)
    ]
    if "reference" not in table.columns:
        table["reference"] = "false"
    table["reference"] = table["reference"].str.lower().eq("true")
    table["dimension_zh"] = table["dimension"].map(lambda d: DIMENSIONS[d][0])
    return table


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


def _normalise_condition(condition: str, rule_id: str, path: Any) -> str:
    terms = []
    for term in str(condition).split("&"):
        term = term.strip()
        if term in _CONDITION_ALIASES:
            warnings.warn(
                f"{path}: rule {rule_id}: condition {term!r} is now {_CONDITION_ALIASES[term]!r}",
                DeprecationWarning,
                stacklevel=3,
            )
            term = _CONDITION_ALIASES[term]
        if term:
            terms.append(term)
    joined = "&".join(terms)
    try:
        condition_terms(joined)
    except ValidationError as exc:
        msg = f"{path}: rule {rule_id}: {exc}"
        raise ValidationError(msg) from None
    return joined


def parse_requirements(text: str, *, dimension: str | None = None) -> pd.DataFrame:
    """Split an official requirement text into checkable clauses.

    The compiler lives in :mod:`ganpo_geo.requirements` (which builds on this module's
    vocabulary); this is its entry point next to the rules. See
    :func:`ganpo_geo.requirements.parse_requirements` and ``docs/requirements.md``.

    Parameters
    ----------
    text : str
        A requirement text (e.g. the 空间布局约束 field of an official unit).
    dimension : str, optional
        One of :data:`DIMENSIONS`.

    Returns
    -------
    pandas.DataFrame
        One row per clause: ``clause_no``, ``text``, ``effect``, ``industries``,
        ``condition``, ``confidence``, ``dimension``.
    """
    from ganpo_geo.requirements import parse_requirements as _parse  # requirements imports zoning

    return _parse(text, dimension=dimension)


def rules_in_scope(rules: pd.DataFrame, *, city_adcode: str, category: Any, unit_code: str, industry: str) -> pd.Series:
    """Which rules reach a unit for an industry: province, the unit's city, its category, its code.

    The one definition of rule scope; :func:`rules_for`, the site check and the maps use it.

    Parameters
    ----------
    rules : pandas.DataFrame
        Access rules (see :func:`read_rules`).
    city_adcode : str
        The unit's city adcode (6 digits).
    category : int or str
        The unit's category (1, 2 or 3).
    unit_code : str
        The unit's code (unit-level rules may name it).
    industry : str
        An industry key (see :func:`resolve_industry`).

    Returns
    -------
    pandas.Series
        Boolean mask aligned with ``rules``.
    """
    try:
        category_text = str(int(category))
    except (TypeError, ValueError):
        category_text = str(category)
    scope_ok = (
        (rules["level"] == "province")
        | ((rules["level"] == "city") & (rules["scope"] == str(city_adcode)))
        | ((rules["level"] == "unit") & rules["scope"].isin([category_text, str(unit_code)]))
    )
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


_LEVEL_ORDER = {"province": 0, "city": 1, "unit": 2}


def rules_for(unit_code: str, industry: str, *, layers: Layers | None = None) -> pd.DataFrame:
    """Access rules that apply to an industry in a control unit: province, city, then unit.

    Parameters
    ----------
    unit_code : str
        A unit code of the control units in use.
    industry : str
        An industry key, Chinese or English name or alias (see :func:`resolve_industry`).
    layers : Layers, optional
        The layers to use; default the bundled reference layers.

    Returns
    -------
    pandas.DataFrame
        The rules in order: the province list, the unit's city list, then the unit's category
        rules and the overrides for this unit code. ``condition`` names a spatial condition
        (e.g. ``near_yangtze_or_tributary_1km``) the siting check evaluates; empty when the
        rule always applies. ``reference`` marks rules synthesized for demonstration.

    Raises
    ------
    ValidationError
        An unknown unit code or industry.

    Examples
    --------
    A chemical plant in the key control unit of Donghu District, Nanchang (bundled reference
    units and rules):

    >>> rules = rules_for("ZH36010220001", "化工")
    >>> rules["level"].drop_duplicates().tolist()
    ['province', 'city', 'unit']
    >>> rules.loc[rules["level"] == "city", "rule_id"].tolist()
    ['C-3601-01']
    """
    layers = layers or bundled_layers()
    key = resolve_industry(industry)
    units = _unit_table(layers)
    if unit_code not in units.index:
        close = difflib.get_close_matches(str(unit_code), list(units.index), n=3, cutoff=0.6)
        hint = f"; close matches: {', '.join(close)}" if close else ""
        msg = f"unknown unit code {unit_code!r}{hint}"
        raise ValidationError(msg)
    unit = units.loc[[unit_code]].iloc[0]  # a duplicated code (see validate) takes its first row
    rules = layers.access_rules()
    # a unit with official text: its own clauses replace the reference category rules
    category = "" if unit_code in rules.attrs.get("official_units", ()) else unit["category"]
    mask = rules_in_scope(rules, city_adcode=unit["city_adcode"], category=category, unit_code=unit_code, industry=key)
    out = rules[mask].copy()
    out["_order"] = out["level"].map(_LEVEL_ORDER) * 10 + (out["scope"] == unit_code).astype(int)
    out = out.sort_values(["_order", "rule_id"], kind="stable").drop(columns="_order")
    out.insert(0, "industry", key)
    return out.reset_index(drop=True)


def _unit_table(layers: Layers) -> pd.DataFrame:
    def build() -> pd.DataFrame:
        units = layers.units()
        table = pd.DataFrame(units.drop(columns=units.geometry.name))
        return table.set_index("unit_code", drop=False)

    return layers.cached("unit_table", build)


# --------------------------------------------------------------------------- units


def control_units(layers: Layers | None = None) -> gpd.GeoDataFrame:
    """The control units in use (by default the bundled REFERENCE units, not official).

    Parameters
    ----------
    layers : Layers, optional

    Returns
    -------
    geopandas.GeoDataFrame
        ``unit_code``, ``name_zh``, ``name_en``, ``category`` (1/2/3), ``category_zh``,
        ``county_adcode``, ``city_adcode``, ``area_km2``, ``source``, ``derivation``.
    """
    return (layers or bundled_layers()).units()


def _unit_index(layers: Layers, n_points: int = GRID_MIN_POINTS) -> PolygonIndex:
    """The units' point index: with the grid for large batches, the tree alone for small ones."""
    if n_points >= GRID_MIN_POINTS or "unit_index" in layers._cache:
        return layers.cached("unit_index", lambda: PolygonIndex.build(layers.units().geometry.to_numpy()))
    return layers.cached("unit_tree", lambda: PolygonIndex.build(layers.units().geometry.to_numpy(), None))


def _unit_metric(layers: Layers) -> np.ndarray:
    return layers.cached("unit_metric", lambda: to_albers(layers.units().geometry))


def _as_series(geometries: Any, crs: Any) -> gpd.GeoSeries:
    if isinstance(geometries, gpd.GeoDataFrame):
        geometries = geometries.geometry
    if isinstance(geometries, gpd.GeoSeries):
        return to_wgs84(geometries, crs=crs)
    arr = np.atleast_1d(np.asarray(geometries, dtype=object))
    return gpd.GeoSeries(to_wgs84(arr, crs=crs), crs=WGS84)


def units_at(geometries: Any, *, crs: Any = None, layers: Layers | None = None) -> pd.DataFrame:
    """Control units that points, lines or polygons fall in or touch (vectorized).

    Points are answered by a grid of unit ids with an exact test only near unit borders
    (see ``ganpo_geo._index``); lines and polygons by one STRtree query and exact
    overlaps in the Jiangxi Albers CRS.

    Parameters
    ----------
    geometries : GeoSeries, GeoDataFrame or array of shapely geometries
        Any CRS for Geo* input (or ``crs=``); plain geometries default to WGS84.
    crs : optional
        CRS of the coordinates (``wgs84``, ``gcj02``, ``bd09``, EPSG ...).
    layers : Layers, optional
        Default: the bundled reference units.

    Returns
    -------
    pandas.DataFrame
        One row per (input, unit) pair, ordered by input: ``input_index`` (the input's
        label), ``unit_code``, ``name_zh``, ``category``, ``overlap_km2`` (polygons),
        ``overlap_km`` (lines) and ``share`` (of the input's area, length, or 1 for points).
        Inputs outside every unit have no row.

    Examples
    --------
    >>> from shapely.geometry import Point
    >>> units_at([Point(115.89, 28.68)])[["unit_code", "category", "share"]]
           unit_code  category  share
    0  ZH36010220001         2    1.0
    """
    layers = layers or bundled_layers()
    series = _as_series(geometries, crs)
    geoms = series.to_numpy()
    from ganpo_geo._checks import check_geometry_coords

    check_geometry_coords(geoms, "geometries")
    units = layers.units()
    kind = shapely.get_type_id(geoms)
    index = _unit_index(layers, int((kind == shapely.GeometryType.POINT).sum()))
    is_point = kind == shapely.GeometryType.POINT
    point_pos = np.flatnonzero(is_point)
    xy = shapely.get_coordinates(geoms[point_pos]) if point_pos.size else np.empty((0, 2))
    p_in, p_unit = index.query_points(xy[:, 0], xy[:, 1]) if point_pos.size else (np.empty(0, int),) * 2
    pieces = [
        pd.DataFrame(
            {
                "_pos": point_pos[p_in],
                "_unit": p_unit,
                "overlap_km2": 0.0,
                "overlap_km": 0.0,
                "share": 1.0,
            }
        )
    ]
    other_pos = np.flatnonzero(~is_point & ~shapely.is_empty(geoms) & ~shapely.is_missing(geoms))
    if other_pos.size:
        o_in, o_unit = index.tree.query(geoms[other_pos], predicate="intersects")
        pos = other_pos[o_in]
        metric_in = to_albers(geoms[pos])
        inter = shapely.intersection(metric_in, _unit_metric(layers)[o_unit])
        area = shapely.area(inter) / 1e6
        length = shapely.length(inter) / 1e3
        polygonal = np.isin(kind[pos], [shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON])
        total = np.where(polygonal, shapely.area(metric_in) / 1e6, shapely.length(metric_in) / 1e3)
        part = np.where(polygonal, area, length)
        share = np.divide(part, total, out=np.zeros_like(part), where=total > 0)
        pieces.append(
            pd.DataFrame(
                {
                    "_pos": pos,
                    "_unit": o_unit,
                    "overlap_km2": np.where(polygonal, area, 0.0),
                    "overlap_km": np.where(polygonal, 0.0, length),
                    "share": share,
                }
            )
        )
    pairs = pd.concat(pieces, ignore_index=True).sort_values(["_pos", "_unit"], kind="stable")
    cols = ["unit_code", "name_zh", "category"]
    attrs = units[cols].iloc[pairs["_unit"].to_numpy()].reset_index(drop=True)
    out = pd.concat(
        [
            pd.DataFrame({"input_index": series.index.to_numpy()[pairs["_pos"].to_numpy()]}),
            attrs,
            pairs[["overlap_km2", "overlap_km", "share"]].reset_index(drop=True),
        ],
        axis=1,
    )
    return out


# --------------------------------------------------------------------------- official layers


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


def _match_fields(columns: list[str], fields: Mapping[str, list[str]]) -> dict[str, str]:
    """{file column: standard name} for the recognised field names (first preference wins)."""
    lower = {str(c).lower(): c for c in columns}
    mapping: dict[str, str] = {}
    for target, candidates in fields.items():
        for cand in candidates:
            col = lower.get(cand.lower())
            if col is not None and col not in mapping:
                mapping[col] = target
                break
    return mapping


def load_control_units(
    path: str | Path,
    columns: Mapping[str, str] | None = None,
    *,
    layer: str | int | None = None,
    crs: Any = None,
    encoding: str | None = None,
) -> gpd.GeoDataFrame:
    """Read a user's official control units and bring them to the standard columns.

    Field names of published unit layers are recognised (HJZHGKDYBM, HJZHGKDYMC, ZHGKDYFL,
    KJBJYS, PWWPFGK, HJFXFK, ZYKFXLYQ, PROV, CITY, AREA, ...), and common Chinese names
    (环境管控单元编码, 管控单元分类, 单元编码 ...); ``columns`` adds or overrides mappings.
    Categories may be numbers or text (优先保护单元 / 重点管控单元 / 一般管控单元).
    GBK shapefiles without a .cpg read correctly (see :func:`~ganpo_geo.layers.load_layer`).

    Parameters
    ----------
    path : path
        Shapefile, GeoPackage, GeoJSON or GeoParquet.
    columns : mapping, optional
        ``{name_in_file: standard_name}``, e.g. ``{"DYBM": "unit_code"}``.
    layer, crs, encoding
        As in :func:`~ganpo_geo.layers.load_layer`.

    Returns
    -------
    geopandas.GeoDataFrame
        ``unit_code``, ``name_zh``, ``category`` (int), ``category_zh``, ``county_adcode``,
        ``city_adcode``, ``area_km2``, the four rule texts where present, ``source``.

    Raises
    ------
    ColumnMappingError
        No column recognised as the unit code or the category (the message lists them).
    ValidationError
        A category that is neither 1/2/3 nor a known name; a layer with no features, with
        geometries that are not polygons, or with coordinates that cannot be Jiangxi in the
        declared CRS (e.g. metres labelled as degrees: the message says to try
        ``crs="EPSG:4548"``). Duplicate unit codes only warn: the first unit's attributes are used.
    """
    from ganpo_geo._checks import check_layer_usable

    raw = load_layer(path, layer=layer, crs=crs, encoding=encoding)
    check_layer_usable(raw, str(path), what="control units")
    mapping = _match_fields(list(raw.columns), UNIT_FIELDS)
    if columns:
        missing = [c for c in columns if c not in raw.columns]
        if missing:
            found = ", ".join(str(c) for c in raw.columns if c != raw.geometry.name)
            msg = f"column {missing[0]!r} named in the column mapping is not in {path}; columns found: {found}"
            raise ColumnMappingError(msg)
        mapping = {k: v for k, v in mapping.items() if v not in columns.values()}
        mapping.update(columns)
    gdf = raw.rename(columns=mapping)
    for field_name in _REQUIRED_UNIT_FIELDS:
        if field_name not in gdf.columns:
            found = ", ".join(str(c) for c in raw.columns if c != raw.geometry.name)
            names = ", ".join(UNIT_FIELDS[field_name][1:5])
            msg = (
                f"{path}: no {field_name} column (looked for {names}, ...); columns found: {found}; "
                f"pass columns={{'<your column>': '{field_name}'}}"
            )
            raise ColumnMappingError(msg)
    cats = gdf["category"].map(parse_category)
    if cats.isna().any():
        bad = gdf.loc[cats.isna(), ["unit_code", "category"]].iloc[0]
        msg = (
            f"{path}: unit {bad['unit_code']!r} has unknown category {bad['category']!r}; "
            "use 1/2/3 or 优先保护单元/重点管控单元/一般管控单元"
        )
        raise ValidationError(msg)
    gdf["unit_code"] = gdf["unit_code"].astype(str).str.strip()
    dup = gdf["unit_code"][gdf["unit_code"].duplicated()]
    if len(dup):
        msg = (
            f"{path}: {dup.nunique()} unit code(s) are used more than once (first: {dup.iloc[0]}); "
            "rules for them use the first unit; run `ganpo validate` for details"
        )
        warnings.warn(msg, UserWarning, stacklevel=2)
    gdf["category"] = cats.astype(int)
    gdf["category_zh"] = gdf["category"].map(CATEGORY_ZH)
    if "name_zh" not in gdf.columns:
        gdf["name_zh"] = gdf["unit_code"]
    codes = gdf["unit_code"].str.extract(UNIT_CODE_PATTERN)
    gdf["county_adcode"] = codes[0].fillna("")
    gdf["city_adcode"] = np.where(codes[0].notna(), codes[0].str[:4] + "00", "")
    gdf["area_km2"] = np.round(area_km2(gdf.geometry), 3)
    gdf["source"] = str(path)
    gdf.attrs["provenance"] = {"source": str(path), "synthetic": False, "user_supplied": True}
    # how the file named its fields, for writing it back in its own names (see export_layers)
    gdf.attrs["field_names"] = {std: orig for orig, std in mapping.items()}
    gdf.attrs["category_as_text"] = (
        not pd.to_numeric(raw[_source_column(mapping, "category")], errors="coerce").notna().all()
    )
    return gdf


def _source_column(mapping: Mapping[str, str], standard: str) -> str:
    return next((orig for orig, std in mapping.items() if std == standard), standard)


# --------------------------------------------------------------------------- validation

#: Gaps and overlaps smaller than these are numerical noise, not problems (km2).
GAP_TOLERANCE_KM2 = 0.01
OVERLAP_TOLERANCE_KM2 = 0.0001
#: A unit layer covering less than this share of Jiangxi gets a warning (official units tile it).
COVERAGE_WARNING_SHARE = 0.95


@dataclass
class Problem:
    """One problem found by :func:`validate_control_units`.

    Attributes
    ----------
    kind : str
        ``missing_field``, ``duplicate_code``, ``malformed_code``, ``code_category_mismatch``,
        ``unknown_category``, ``empty_geometry``, ``invalid_geometry``, ``outside_jiangxi``,
        ``gap``, ``overlap``; for a layer that cannot work at all: ``no_features``,
        ``not_polygons``, ``crs_range`` or ``outside_jiangxi_bounds``.
    message : str
        One line: what is wrong, where, and the fix where there is one.
    unit_code : str, optional
    lon, lat : float, optional
        Where it is (WGS84).
    area_km2 : float, optional
    """

    kind: str
    message: str
    unit_code: str | None = None
    lon: float | None = None
    lat: float | None = None
    area_km2: float | None = None


@dataclass
class ValidationReport:
    """Result of :func:`validate_control_units`.

    Attributes
    ----------
    source : str
    units : int
        Number of features read.
    counts : dict
        Units per category (``"1"``, ``"2"``, ``"3"``, ``"unknown"``).
    coverage_share : float
        Share of Jiangxi's area covered by the units (information, not a problem).
    problems : list of Problem
    warnings : list of str
        Not problems (``ok`` stays True): a layer covering less than
        :data:`COVERAGE_WARNING_SHARE` of Jiangxi, a border shifted as GCJ-02 would be.
    """

    source: str
    units: int
    counts: dict[str, int]
    coverage_share: float
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        out = asdict(self)
        out["ok"] = self.ok
        return out


def _where(geom: shapely.Geometry) -> tuple[float, float]:
    point = shapely.point_on_surface(geom) if not geom.is_empty else shapely.Point(np.nan, np.nan)
    return round(float(point.x), 5), round(float(point.y), 5)


def validate_control_units(
    data: str | Path | gpd.GeoDataFrame,
    columns: Mapping[str, str] | None = None,
    *,
    layer: str | int | None = None,
    crs: Any = None,
) -> ValidationReport:
    """Check a zoning (control-unit) file and report every problem found.

    Parameters
    ----------
    data : path or geopandas.GeoDataFrame
        The user's unit file (or a GeoDataFrame already read).
    columns : mapping, optional
        Column mapping as in :func:`load_control_units`.
    layer, crs
        As in :func:`~ganpo_geo.layers.load_layer`.

    Returns
    -------
    ValidationReport
        ``ok`` only when nothing is wrong: all fields present, unit codes unique and well
        formed, categories known, geometries valid and non-empty, every unit inside
        Jiangxi, no gaps inside the area the units cover and no overlaps between units.
    """
    from ganpo_geo._checks import gcj02_shift_warning, layer_problem

    source = "<GeoDataFrame>" if isinstance(data, gpd.GeoDataFrame) else str(data)
    raw = to_wgs84(data, crs=crs) if isinstance(data, gpd.GeoDataFrame) else load_layer(data, layer=layer, crs=crs)
    unusable = layer_problem(raw, source, what="control units")
    if unusable is not None:  # nothing else can be checked meaningfully
        return ValidationReport(source, len(raw), {}, 0.0, [Problem(*unusable)])
    mapping = _match_fields(list(raw.columns), UNIT_FIELDS)
    if columns:
        mapping = {k: v for k, v in mapping.items() if v not in columns.values()}
        mapping.update({k: v for k, v in columns.items() if k in raw.columns})
    gdf = raw.rename(columns=mapping).reset_index(drop=True)
    problems: list[Problem] = []
    found = ", ".join(str(c) for c in raw.columns if c != raw.geometry.name)
    for name in _REQUIRED_UNIT_FIELDS:
        if name not in gdf.columns:
            looked = ", ".join(UNIT_FIELDS[name][1:5])
            problems.append(
                Problem(
                    "missing_field",
                    f"no {name} field (looked for {looked}, ...); fields found: {found}",
                )
            )
    codes = gdf["unit_code"].astype(str).str.strip() if "unit_code" in gdf else pd.Series([""] * len(gdf))
    label = codes.where(codes != "", "row " + pd.Series(range(len(gdf))).astype(str))
    geoms = gdf.geometry.to_numpy()

    if "unit_code" in gdf:
        counts = codes.value_counts()
        for code, n in counts[counts > 1].items():
            rows = list(np.flatnonzero(codes.to_numpy() == code))
            lon, lat = _where(geoms[rows[0]]) if geoms[rows[0]] is not None else (None, None)
            problems.append(
                Problem(
                    "duplicate_code",
                    f"unit code {code} is used by {n} units (rows {rows}); codes must be unique",
                    code,
                    lon,
                    lat,
                )
            )
        parsed = codes.str.extract(UNIT_CODE_PATTERN)
        for i in np.flatnonzero(parsed[0].isna().to_numpy()):
            problems.append(
                Problem(
                    "malformed_code",
                    f"unit code {codes.iloc[i]!r} (row {i}) is not ZH + 6-digit county code + category digit + "
                    "4-digit serial",
                    codes.iloc[i],
                )
            )
    cats = gdf["category"].map(parse_category) if "category" in gdf else pd.Series([None] * len(gdf))
    if "category" in gdf:
        for i in np.flatnonzero(cats.isna().to_numpy()):
            problems.append(
                Problem(
                    "unknown_category",
                    f"{label.iloc[i]}: unknown category {gdf['category'].iloc[i]!r}; "
                    "use 1/2/3 or 优先保护单元/重点管控单元/一般管控单元",
                    codes.iloc[i],
                )
            )
        if "unit_code" in gdf:
            digit = codes.str.extract(UNIT_CODE_PATTERN)[1]
            mismatch = digit.notna() & cats.notna() & (digit != cats.astype("Int64").astype(str))
            for i in np.flatnonzero(mismatch.to_numpy()):
                problems.append(
                    Problem(
                        "code_category_mismatch",
                        f"unit {codes.iloc[i]}: category digit {digit.iloc[i]} in the code "
                        f"but category {int(cats.iloc[i])}",
                        codes.iloc[i],
                    )
                )

    missing_geom = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    for i in np.flatnonzero(missing_geom):
        problems.append(Problem("empty_geometry", f"{label.iloc[i]} has no geometry", codes.iloc[i]))
    usable = np.flatnonzero(~missing_geom)
    reasons = shapely.is_valid_reason(geoms[usable])
    fixed = geoms.copy()
    for i, reason in zip(usable, reasons, strict=True):
        if reason == "Valid Geometry":
            continue
        repaired = shapely.make_valid(geoms[i])
        polys = [p for p in shapely.get_parts(repaired) if p.geom_type in ("Polygon", "MultiPolygon")]
        fixed[i] = shapely.union_all(polys) if polys else repaired
        before = area_km2([shapely.buffer(geoms[i], 0)])[0]
        after = area_km2([fixed[i]])[0]
        lon, lat = _where(fixed[i])
        problems.append(
            Problem(
                "invalid_geometry",
                f"{label.iloc[i]}: {reason}; make_valid would give a {fixed[i].geom_type} of "
                f"{len(shapely.get_parts(fixed[i]))} part(s), {after:.3f} km2 (buffer(0) gives {before:.3f} km2)",
                codes.iloc[i],
                lon,
                lat,
                round(after, 4),
            )
        )

    province = load_layer("province").geometry.iloc[0]
    good = usable
    metric = to_albers(fixed[good])
    province_m = to_albers([province])[0]
    unit_area = shapely.area(metric) / 1e6
    inside_area = shapely.area(shapely.intersection(metric, province_m)) / 1e6
    for j, i in enumerate(good):
        outside = unit_area[j] - inside_area[j]
        if unit_area[j] > 0 and inside_area[j] / unit_area[j] < 0.5:
            lon, lat = _where(fixed[i])
            dist = shapely.distance(shapely.point_on_surface(metric[j]), province_m) / 1000
            problems.append(
                Problem(
                    "outside_jiangxi",
                    f"{label.iloc[i]} lies outside Jiangxi: its centre ({lon}, {lat}) is {dist:.1f} km from "
                    "the province border (check its coordinates or CRS)",
                    codes.iloc[i],
                    lon,
                    lat,
                    round(unit_area[j], 4),
                )
            )
        elif outside > GAP_TOLERANCE_KM2 * 100:
            lon, lat = _where(fixed[i])
            problems.append(
                Problem(
                    "outside_jiangxi",
                    f"{label.iloc[i]} extends {outside:.2f} km2 beyond Jiangxi's border",
                    codes.iloc[i],
                    lon,
                    lat,
                    round(outside, 4),
                )
            )

    # overlaps between units (pairs found with the spatial index)
    tree = shapely.STRtree(metric)
    left, right = tree.query(metric, predicate="intersects")
    pair = left < right
    left, right = left[pair], right[pair]
    if left.size:
        inter = shapely.intersection(metric[left], metric[right])
        area = shapely.area(inter) / 1e6
        for a, b, geom, km2 in zip(left, right, inter, area, strict=True):
            if km2 > OVERLAP_TOLERANCE_KM2:
                lon, lat = _where(gpd.GeoSeries([geom], crs=JIANGXI_ALBERS).to_crs(WGS84).iloc[0])
                problems.append(
                    Problem(
                        "overlap",
                        f"units {label.iloc[good[a]]} and {label.iloc[good[b]]} overlap by {km2:.4f} km2 "
                        f"near ({lon}, {lat})",
                        codes.iloc[good[a]],
                        lon,
                        lat,
                        round(km2, 4),
                    )
                )
    # gaps: holes inside the area the units cover
    union = shapely.union_all(metric) if metric.size else shapely.Polygon()
    for poly in shapely.get_parts(union):
        for ring in (
            shapely.get_parts(shapely.get_interior_ring(poly, range(shapely.get_num_interior_rings(poly))))
            if shapely.get_num_interior_rings(poly)
            else []
        ):
            hole = shapely.Polygon(ring)
            km2 = hole.area / 1e6
            if km2 > GAP_TOLERANCE_KM2:
                lon, lat = _where(gpd.GeoSeries([hole], crs=JIANGXI_ALBERS).to_crs(WGS84).iloc[0])
                problems.append(
                    Problem(
                        "gap",
                        f"gap of {km2:.3f} km2 between units near ({lon}, {lat})",
                        None,
                        lon,
                        lat,
                        round(km2, 4),
                    )
                )
    counts_by_cat = {str(k): int(v) for k, v in cats.value_counts(dropna=True).sort_index().items()}
    if cats.isna().any():
        counts_by_cat["unknown"] = int(cats.isna().sum())
    coverage = float(shapely.area(shapely.intersection(union, province_m)) / shapely.area(province_m))
    notes = []
    if coverage < COVERAGE_WARNING_SHARE:
        notes.append(
            f"the units cover {coverage:.1%} of Jiangxi (official units tile the province): sites elsewhere "
            "will be in no control unit; is this a partial layer?"
        )
    shift = gcj02_shift_warning(union, source)
    if shift:
        notes.append(shift)
    return ValidationReport(source, len(gdf), counts_by_cat, round(coverage, 4), problems, notes)


# --------------------------------------------------------------------------- official texts

#: Condition keys of the clause compiler (:data:`ganpo_geo.requirements.CONDITION_KEYS`) that the
#: site check evaluates, and the condition term each becomes. Other keys cannot be evaluated: a
#: clause with one is cited as "manual review" and weighs at most ``conditional``.
OFFICIAL_CONDITION_TERMS = {
    "in_redline": "in_redline",
    "near_yangtze_or_tributary_1km": "shoreline_1km",
    "outside_industrial_park": "outside_industrial_park",
    "in_central_urban_area": "in_central_urban_area",
    "tp_exceeding_basin": "tp_exceeding_basin",
}
#: Basis written on rule rows compiled from official texts.
OFFICIAL_BASIS = "official access list"


def official_clauses(layers: Layers) -> pd.DataFrame:
    """The clauses of the official requirement texts in use, one row per clause.

    Texts come from the access list (``layers.access_list``) where it has the unit (or the
    province/city general lists), else from the units' own requirement fields (KJBJYS, PWWPFGK,
    HJFXFK, ZYKFXLYQ or their Chinese names). Each distinct text is compiled once.

    Parameters
    ----------
    layers : Layers

    Returns
    -------
    pandas.DataFrame
        ``level`` (province / city / unit), ``unit_code`` (unit level), ``city`` (city level),
        ``source`` (``access list`` or ``unit layer``) and the clause columns of
        :func:`ganpo_geo.requirements.parse_requirements`.
    """
    from ganpo_geo.requirements import CLAUSE_COLUMNS, compile_access_list

    dims = list(DIMENSIONS)
    frames = []
    listed: set[str] = set()
    if layers.access_list is not None:
        table = layers.access_list.copy()
        if "level" not in table.columns:
            table["level"] = "unit"
        for col in ("unit_code", "city", *dims):
            if col not in table.columns:
                table[col] = ""
        table["unit_code"] = table["unit_code"].fillna("").astype(str).str.strip().str.upper()
        compiled = compile_access_list(table[["level", "unit_code", "city", *dims]])
        compiled["source"] = "access list"
        frames.append(compiled)
        listed = set(table.loc[table["level"].eq("unit"), "unit_code"])
    if layers.control_units is not None:
        units = layers.control_units.drop_duplicates("unit_code")
        present = [d for d in dims if d in units.columns]
        if present:
            units = units[~units["unit_code"].isin(listed)]
            table = pd.DataFrame(units[["unit_code", *present]]).assign(level="unit", city="")
            compiled = compile_access_list(table[["level", "unit_code", "city", *present]])
            compiled["source"] = "unit layer"
            frames.append(compiled)
    if not frames:
        return pd.DataFrame(columns=["level", "unit_code", "city", *CLAUSE_COLUMNS, "source"])
    return pd.concat(frames, ignore_index=True)


@cache
def _expanded_industries(spec: str) -> str:
    """A clause's ``industries`` as exact keys (GB/T 4754 classes expanded to the keys they contain)."""
    from ganpo_geo.requirements import clause_applies

    spec = str(spec).strip()
    if spec in ("all", ""):
        return spec
    if spec.startswith("all_except:"):
        keys = [k for k in _industry_table().index if not clause_applies(spec, k)]
        return "all_except:" + ";".join(keys) if keys else "all"
    return ";".join(k for k in _industry_table().index if clause_applies(spec, k))


#: Compiler condition keys a screening layer can answer, by words in the layer's name: a clause
#: "饮用水水源保护区内禁止…" is checked against a screening layer named e.g. 饮用水水源保护区.
SCREENING_CONDITION_WORDS = {
    "in_water_source_zone": re.compile(r"水源"),
    "in_protected_area": re.compile(r"自然保护|保护地|风景名胜|森林公园|湿地公园|地质公园|重要湿地"),
    "in_basic_farmland": re.compile(r"基本农田"),
    "in_livestock_ban_zone": re.compile(r"禁养"),
    "in_river_management_zone": re.compile(r"河道管理|河湖管理|岸线保护"),
}


def _screening_terms(layers: Layers) -> dict[str, str]:
    """{compiler condition key: ``in_screening:<name>``} for the screening layers whose names answer it."""
    found: dict[str, str] = {}
    for key, words in SCREENING_CONDITION_WORDS.items():
        for screen in layers.screening:
            if words.search(screen.name) and not (key == "in_protected_area" and "水源" in screen.name):
                found.setdefault(key, f"in_screening:{screen.name}")
    return found


def _official_condition(condition: str, extra: Mapping[str, str] | None = None) -> tuple[str, list[str]]:
    """(condition terms the check evaluates, compiler keys it cannot evaluate)."""
    known = {**OFFICIAL_CONDITION_TERMS, **(extra or {})}
    terms, manual = [], []
    for key in (k for k in str(condition).split(";") if k):
        if key in known:
            terms.append(known[key])
        else:
            manual.append(key)
    return "&".join(dict.fromkeys(terms)), manual


def _city_codes(names: pd.Series) -> pd.Series:
    """City adcodes of city names or codes as access lists write them (南昌市, 南昌, 360100)."""
    from ganpo_geo.layers import load_layer

    cities = load_layer("cities")
    by_name = {}
    for code, name in zip(cities["adcode"].astype(str), cities["name_zh"].astype(str), strict=True):
        by_name[name] = code
        by_name[name.removesuffix("市")] = code
        by_name[code] = code
    return names.fillna("").astype(str).str.strip().map(lambda n: by_name.get(n, by_name.get(n.removesuffix("市"), "")))


def official_rules(layers: Layers, base: pd.DataFrame) -> pd.DataFrame:
    """The access rules in use when official requirement texts (or screening layers) are given.

    Every clause of the official texts (see :func:`official_clauses`) becomes a rule row:
    ``rule_id`` ``<unit_code>-<dimension>-<clause_no>`` (``province-...``, ``<city adcode>-...``
    for the general lists), ``level``/``scope`` of its list, the clause's ``effect`` and
    ``industries`` (GB/T 4754 classes expanded to keys), its condition mapped to the check's
    condition terms (:data:`OFFICIAL_CONDITION_TERMS`; "in a drinking-water source zone", "in a
    nature reserve" ... to a screening layer whose name says so, see
    :data:`SCREENING_CONDITION_WORDS`), ``text_zh`` the clause verbatim, ``basis``
    ``official access list``, ``reference`` False. A clause the compiler could not read
    (``unknown``), or one whose condition the check cannot evaluate, becomes ``restrict`` with
    ``text_en`` ``"manual review: <clause>"`` (at least conditional, never dropped); "须入园"-type
    requirements (:data:`ganpo_geo.requirements.REQUIRE_FAILS_WHEN`) weigh as prohibitions where
    their condition holds.

    The reference rules of ``base`` are not mixed in for what the official texts cover: unit-level
    rules (category and code scoped) of units with official text are replaced (their rows get
    ``official_unit`` scope handling, see :func:`rules_in_scope`); the province list is replaced when
    the access list has province rows, a city's list when it has that city's rows. Screening layers
    with an effect add one rule ``screening:<name>`` each, with condition ``in_screening:<name>``.

    Parameters
    ----------
    layers : Layers
    base : pandas.DataFrame
        The bundled (or user) rules in the :func:`read_rules` format.

    Returns
    -------
    pandas.DataFrame
        Rules in the :func:`read_rules` format (plus ``dimension_zh``).
    """
    from ganpo_geo.requirements import REQUIRE_FAILS_WHEN

    clauses = layers.cached("official_clauses", lambda: official_clauses(layers))
    screen_terms = _screening_terms(layers)
    rows = []
    keep = pd.Series(True, index=base.index)
    if len(clauses):
        level = clauses["level"].astype(str)
        scope = np.where(level.eq("unit"), clauses["unit_code"].astype(str), "province")
        is_city = level.eq("city").to_numpy()
        if is_city.any():
            scope = scope.astype(object)
            scope[is_city] = _city_codes(clauses.loc[is_city, "city"]).to_numpy()
        clauses = clauses.assign(scope=scope)
        clauses = clauses[clauses["scope"].astype(str) != ""]
        if (clauses["level"] == "province").any():
            keep &= base["level"] != "province"
        keep &= ~((base["level"] == "city") & base["scope"].isin(set(clauses.loc[clauses["level"] == "city", "scope"])))
        official_units = set(clauses.loc[clauses["level"] == "unit", "scope"])
        keep &= ~((base["level"] == "unit") & base["scope"].isin(official_units))
        for c in clauses.itertuples(index=False):
            condition, manual = _official_condition(c.condition, screen_terms)
            effect, text_en = c.effect, ""
            industries_spec = _expanded_industries(c.industries) if effect != "unknown" else "all"
            if effect == "require" and REQUIRE_FAILS_WHEN.intersection(str(c.condition).split(";")):
                effect = "prohibit"
            if c.effect == "unknown":
                effect, text_en = "restrict", f"manual review: {c.text}"
            elif manual and effect in ("prohibit", "restrict", "require"):
                effect = "restrict"
                text_en = f"manual review ({', '.join(manual)} not evaluated by the check): {c.text}"
            else:
                text_en = (
                    f"official clause {c.dimension} {c.clause_no} of {c.scope} (the Chinese text is authoritative)"
                )
            rows.append(
                {
                    "rule_id": f"{c.scope}-{c.dimension}-{c.clause_no}",
                    "level": c.level,
                    "scope": c.scope,
                    "dimension": c.dimension,
                    "industries": industries_spec,
                    "effect": effect,
                    "condition": condition,
                    "text_zh": c.text,
                    "text_en": text_en,
                    "basis": OFFICIAL_BASIS
                    if c.source == "access list"
                    else f"{OFFICIAL_BASIS} (official control-unit layer)",
                    "reference": False,
                    "dimension_zh": DIMENSIONS[c.dimension][0],
                }
            )
    for screen in layers.screening:
        if screen.effect == "notice":
            continue
        rows.append(
            {
                "rule_id": screen.rule_id,
                "level": "province",
                "scope": "province",
                "dimension": "spatial_layout",
                "industries": screen.industries,
                "effect": screen.effect,
                "condition": f"in_screening:{screen.name}",
                "text_zh": screen.text_zh or f"位于{screen.name}内",
                "text_en": screen.text_en or f"inside {screen.name} (screening layer, buffer {screen.buffer_m:g} m)",
                "basis": screen.basis,
                "reference": False,
                "dimension_zh": DIMENSIONS["spatial_layout"][0],
            }
        )
    out = base[keep]
    if rows:
        out = pd.concat([out, pd.DataFrame(rows)], ignore_index=True)
    out.attrs["official_units"] = (
        frozenset(clauses.loc[clauses["level"] == "unit", "scope"]) if len(clauses) else frozenset()
    )
    return out.reset_index(drop=True)
