"""Reading and compiling users' official zoning layers: control units, red lines, rule tables, texts.

The readers :class:`~ganpo_geo.layers.Layers` uses for official files (:func:`load_control_units`,
:func:`load_redlines`, :func:`read_rules`), their validation (:func:`validate_control_units`) and
the compilation of official requirement texts into rule rows (:func:`official_clauses`,
:func:`official_rules`). They read files and tables, never the ``Layers`` container (which sits
above them); :mod:`ganpo_geo.zoning` and :mod:`ganpo_geo.redline` re-export the public names.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Protocol

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ganpo_geo._checks import check_layer_usable, gcj02_shift_warning, layer_problem
from ganpo_geo._errors import ColumnMappingError, ValidationError
from ganpo_geo._layerfiles import load_layer
from ganpo_geo.crs import JIANGXI_ALBERS, WGS84, area_km2, to_albers, to_wgs84
from ganpo_geo.requirements import CLAUSE_COLUMNS, REQUIRE_FAILS_WHEN, clause_applies, compile_access_list
from ganpo_geo.vocabulary import (
    _CONDITION_ALIASES,
    CATEGORY_ZH,
    DIMENSIONS,
    UNIT_CODE_PATTERN,
    _industry_table,
    condition_terms,
    parse_category,
)

__all__ = [
    "OFFICIAL_BASIS",
    "OFFICIAL_CONDITION_TERMS",
    "REDLINE_FIELDS",
    "SCREENING_CONDITION_WORDS",
    "UNIT_FIELDS",
    "Problem",
    "ValidationReport",
    "load_control_units",
    "load_redlines",
    "official_clauses",
    "official_rules",
    "read_rules",
    "validate_control_units",
]


#: Gaps and overlaps smaller than these are numerical noise, not problems (km2).
GAP_TOLERANCE_KM2 = 0.01
OVERLAP_TOLERANCE_KM2 = 0.0001


class ScreeningLike(Protocol):
    """What the official-rule compiler reads of a :class:`~ganpo_geo.layers.ScreeningLayer`."""

    @property
    def name(self) -> str: ...
    @property
    def effect(self) -> str: ...
    @property
    def industries(self) -> str: ...
    @property
    def buffer_m(self) -> float: ...
    @property
    def text_zh(self) -> str: ...
    @property
    def text_en(self) -> str: ...
    @property
    def basis(self) -> str: ...
    @property
    def rule_id(self) -> str: ...


class OfficialTexts(Protocol):
    """What the official-text compiler reads of a :class:`~ganpo_geo.layers.Layers` (no import of it)."""

    @property
    def access_list(self) -> pd.DataFrame | None: ...
    @property
    def control_units(self) -> gpd.GeoDataFrame | None: ...
    @property
    def screening(self) -> tuple[ScreeningLike, ...]: ...
    def cached(self, key: str, build: Any) -> Any: ...


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


def official_clauses(layers: OfficialTexts) -> pd.DataFrame:
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


def _screening_terms(layers: OfficialTexts) -> dict[str, str]:
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
    cities = load_layer("cities")
    by_name = {}
    for code, name in zip(cities["adcode"].astype(str), cities["name_zh"].astype(str), strict=True):
        by_name[name] = code
        by_name[name.removesuffix("市")] = code
        by_name[code] = code
    return names.fillna("").astype(str).str.strip().map(lambda n: by_name.get(n, by_name.get(n.removesuffix("市"), "")))


def official_rules(layers: OfficialTexts, base: pd.DataFrame) -> pd.DataFrame:
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


#: Field names recognised in official red-line files, by standard column.
REDLINE_FIELDS: dict[str, list[str]] = {
    "zone_id": ["zone_id", "HXBM", "红线编码", "编码", "BSM", "ID"],
    "name_zh": ["name_zh", "HXMC", "红线名称", "名称", "MC", "NAME"],
    "kind": ["kind", "HXLX", "红线类型", "类型", "LX"],
}


def load_redlines(
    path: str | Path,
    columns: Mapping[str, str] | None = None,
    *,
    layer: str | int | None = None,
    crs: Any = None,
    encoding: str | None = None,
) -> gpd.GeoDataFrame:
    """Read a user's official red-line file and bring it to the standard columns.

    Parameters
    ----------
    path : path
        Shapefile (GBK is detected), GeoPackage, GeoJSON or GeoParquet of red-line polygons.
    columns : mapping, optional
        ``{name_in_file: standard_name}`` for ``zone_id``, ``name_zh``, ``kind``.
    layer, crs, encoding
        As in :func:`~ganpo_geo.layers.load_layer`.

    Returns
    -------
    geopandas.GeoDataFrame
        ``zone_id`` (generated ``RL0001``... when the file has none), ``name_zh``, ``name_en``,
        ``kind``, ``area_km2``, ``source``; geometries repaired with ``make_valid``.

    Raises
    ------
    ValidationError
        The file holds no polygons, also holds other geometries, or has coordinates that cannot
        be Jiangxi in the declared CRS (e.g. metres labelled as degrees).
    """
    raw = load_layer(path, layer=layer, columns=columns, crs=crs, encoding=encoding)
    gdf = raw.rename(columns=_match_fields(list(raw.columns), REDLINE_FIELDS))
    polygonal = gdf.geometry.geom_type.isin(["Polygon", "MultiPolygon"])
    if not polygonal.any():
        msg = f"{path} holds no polygons (geometry types: {sorted(set(gdf.geometry.geom_type))})"
        raise ValidationError(msg)
    check_layer_usable(gdf, str(path), what="red lines")
    gdf = gdf[polygonal].copy()
    if "zone_id" not in gdf.columns:
        gdf["zone_id"] = [f"RL{i:04d}" for i in range(1, len(gdf) + 1)]
    gdf["zone_id"] = gdf["zone_id"].astype(str)
    for col in ("name_zh", "name_en", "kind"):
        if col not in gdf.columns:
            gdf[col] = ""
    gdf.geometry = shapely.make_valid(gdf.geometry.to_numpy())
    gdf["area_km2"] = np.round(area_km2(gdf.geometry), 3)
    gdf["source"] = str(path)
    gdf.attrs["provenance"] = {"source": str(path), "synthetic": False, "user_supplied": True}
    return gdf
