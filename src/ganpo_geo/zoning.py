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
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ganpo_geo._errors import ColumnMappingError, ValidationError
from ganpo_geo._index import PolygonIndex
from ganpo_geo.crs import JIANGXI_ALBERS, WGS84, area_km2, to_wgs84
from ganpo_geo.layers import Layers, bundled_layers, data_path, load_layer

__all__ = [
    "CATEGORY_EN",
    "CATEGORY_ZH",
    "DIMENSIONS",
    "UNIT_CODE_PATTERN",
    "control_units",
    "industries",
    "load_control_units",
    "parse_category",
    "read_rules",
    "resolve_industry",
    "rules_for",
    "units_at",
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
#: ``ZH`` + 6-digit county code + category digit + 4-digit serial (FACTS.md, unverified).
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
    "category": ["category", "ZHGKDYFL", "环境管控单元分类", "管控单元分类", "单元分类", "管控分类", "GKDYFL", "类别", "分类"],
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
        E.g. ``"化工"``, ``"chemical plant"``, ``"chemical"``.

    Returns
    -------
    str
        The industry key (e.g. ``"chemical"``).

    Raises
    ------
    ValidationError
        An unknown industry; the message lists close matches.
    """
    key = str(name).strip().lower()
    lookup = _industry_lookup()
    if key in lookup:
        return lookup[key]
    close = difflib.get_close_matches(key, list(lookup), n=5, cutoff=0.5)
    close_keys = list(dict.fromkeys(lookup[c] for c in close))
    hint = f"close matches: {', '.join(close_keys)}" if close_keys else "see `industries()`"
    msg = f"unknown industry {name!r}; {hint} (the vocabulary has {len(_industry_table())} classes)"
    raise ValidationError(msg)


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
    if "reference" not in table.columns:
        table["reference"] = "false"
    table["reference"] = table["reference"].str.lower().eq("true")
    table["dimension_zh"] = table["dimension"].map(lambda d: DIMENSIONS[d][0])
    return table


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
    """
    layers = layers or bundled_layers()
    key = resolve_industry(industry)
    units = _unit_table(layers)
    if unit_code not in units.index:
        close = difflib.get_close_matches(str(unit_code), list(units.index), n=3, cutoff=0.6)
        hint = f"; close matches: {', '.join(close)}" if close else ""
        msg = f"unknown unit code {unit_code!r}{hint}"
        raise ValidationError(msg)
    unit = units.loc[unit_code]
    rules = layers.access_rules()
    scope_ok = (
        (rules["level"] == "province")
        | ((rules["level"] == "city") & (rules["scope"] == str(unit["city_adcode"])))
        | (
            (rules["level"] == "unit")
            & rules["scope"].isin([str(int(unit["category"])), unit_code])
        )
    )
    industry_ok = rules["industries"].map(lambda spec: _applies(spec, key))
    out = rules[scope_ok & industry_ok].copy()
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


def _unit_index(layers: Layers) -> PolygonIndex:
    return layers.cached(
        "unit_index", lambda: PolygonIndex.build(layers.units().geometry.to_numpy())
    )


def _unit_metric(layers: Layers) -> np.ndarray:
    return layers.cached(
        "unit_metric", lambda: layers.units().geometry.to_crs(JIANGXI_ALBERS).to_numpy()
    )


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
    """
    layers = layers or bundled_layers()
    series = _as_series(geometries, crs)
    geoms = series.to_numpy()
    units = layers.units()
    index = _unit_index(layers)
    kind = shapely.get_type_id(geoms)
    is_point = kind == shapely.GeometryType.POINT
    point_pos = np.flatnonzero(is_point)
    xy = shapely.get_coordinates(geoms[point_pos]) if point_pos.size else np.empty((0, 2))
    p_in, p_unit = (
        index.query_points(xy[:, 0], xy[:, 1]) if point_pos.size else (np.empty(0, int),) * 2
    )
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
        metric_in = gpd.GeoSeries(geoms[pos], crs=WGS84).to_crs(JIANGXI_ALBERS).to_numpy()
        inter = shapely.intersection(metric_in, _unit_metric(layers)[o_unit])
        area = shapely.area(inter) / 1e6
        length = shapely.length(inter) / 1e3
        polygonal = np.isin(
            kind[pos], [shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON]
        )
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
        A category that is neither 1/2/3 nor a known name.
    """
    raw = load_layer(path, layer=layer, crs=crs, encoding=encoding)
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
    return gdf
