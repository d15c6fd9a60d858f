"""Project siting checks: one site or a million, with verdicts that cite their rules.

For each site (a point, a line such as a pipeline, or a polygon such as a plant footprint):
the county and city; every control unit it touches; the province, city and unit rules for the
project's industry; red-line overlap and distance; the nearest river reach, the 1 km
Yangtze-tributary test and the way down to Poyang Lake and Hukou; the phosphorus situation;
and a verdict.

Verdict table (the only place verdicts are decided; see :data:`VERDICT_TABLE`). The rules that
apply are the province, city and unit rules for the industry (one scope definition:
:func:`ganpo_geo.zoning.rules_in_scope`) whose spatial condition holds. Conditions are the
terms of :data:`ganpo_geo.zoning.CONDITION_TERMS`, evaluated on the site's whole geometry;
distance terms (``shoreline_1km``, ``near_water:<body>:<m>``) are measured to banks and are
``uncertain`` when the threshold lies within the data's positional uncertainty:

====================================================================  ==============
an applicable rule ...                                                 verdict
====================================================================  ==============
prohibits (condition met)                                              ``prohibited``
restricts, or requires something specific (named industries or a      ``conditional``
spatial condition); or prohibits/restricts with an ``uncertain``
condition (the reason asks the user to verify against official data)
only allows, or sets general requirements (all industries, no          ``allowed``
condition)
====================================================================  ==============

A site touching several units takes the strictest verdict of them. Every reason names the
rule (``rule_id``, ``(uncertain)`` appended when its condition is uncertain) or layer that
produced it.
"""

from __future__ import annotations

import json
import logging
import sys
import warnings
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely
from geopandas.array import GeometryArray
from pandas.api.internals import create_dataframe_from_blocks

from ganpo_geo import _cache
from ganpo_geo._arrow import str_array
from ganpo_geo._checks import check_count, check_geometry_coords, check_number
from ganpo_geo._dask import check_scheduler, client_for, import_dask
from ganpo_geo._errors import ColumnMappingError, CoordinateError, ValidationError
from ganpo_geo._index import (
    GRID_MIN_POINTS,
    LineChunks,
    NearMask,
    PolygonIndex,
    SegmentGrid,
    coordinates,
    snap_to_lines,
)
from ganpo_geo._threads import check_threads, chunk_bounds, in_threads, prepare_shared
from ganpo_geo.basins import _basin_texts, basin_of
from ganpo_geo.crs import JIANGXI_ALBERS, WGS84, parse_crs, to_albers, to_wgs84, transformer
from ganpo_geo.io import read_csv_table, read_excel_table
from ganpo_geo.layers import Layers, _read_file, bundled_layers, data_path, load_layer
from ganpo_geo.redline import MAX_SEARCH_M, _overlap_columns, redline_overlap
from ganpo_geo.vocabulary import clause_industries_apply
from ganpo_geo.zoning import (
    DIMENSIONS,
    _unit_index,
    _unit_table,
    condition_terms,
    industries,
    resolve_industry,
    rules_for,
    rules_in_scope,
    units_at,
)

__all__ = [
    "NEAR_RIVER_M",
    "POYANG_BASINS",
    "VERDICT_TABLE",
    "SiteReport",
    "check_site",
    "check_sites",
    "cited_rules",
    "read_sites",
    "screening_columns",
]

logger = logging.getLogger(__name__)

#: Distance of the shoreline rule (Yangtze River Protection Law art. 26), to banks.
NEAR_RIVER_M = 1000.0
#: Basins that drain to Poyang Lake, whose TP exceeds its target (Class IV, TP the failing
#: parameter; see docs/sources.md): TP offsetting applies.
POYANG_BASINS = frozenset({"gan", "fu", "xin", "rao", "xiu", "lake"})
#: What :func:`ganpo_geo.rivers.basin_of` keys mean, for reports.
BASIN_LABELS = {
    "gan": "赣江流域 Gan River basin",
    "fu": "抚河流域 Fu River basin",
    "xin": "信江流域 Xin River basin",
    "rao": "饶河流域 Rao River basin",
    "xiu": "修河流域 Xiu River basin",
    "lake": "鄱阳湖区 land draining straight into Poyang Lake",
    "yangtze": "长江干流 direct Yangtze tributaries (not Poyang Lake)",
    "xiang": "湘江流域 Xiang River basin (drains to Dongting Lake, not Poyang Lake)",
    "dongjiang": "东江流域 Dongjiang basin (Pearl River system, not Poyang Lake)",
    "beijiang": "北江流域 Beijiang basin (Pearl River system, not Poyang Lake)",
}
#: Nearest reach searched up to this distance.
MAX_SNAP_M = 20_000.0
#: Severity -> verdict.
VERDICT_TABLE = {3: "prohibited", 2: "conditional", 1: "allowed", 0: "allowed"}
_RESULT_COLUMNS = [
    "error",
    "warnings",
    "verdict",
    "reasons",
    "reason_texts",
    "conditions",
    "industry_key",
    "province",
    "city_adcode",
    "city_name",
    "county_adcode",
    "county_name",
    "unit_code",
    "unit_name",
    "unit_category",
    "units_touched",
    "redline_overlap",
    "redline_overlap_km2",
    "redline_overlap_km",
    "redline_share",
    "redline_nearest_m",
    "redline_zones",
    "basin",
    "basins_touched",
    "river_reach_id",
    "river_name",
    "river_distance_m",
    "shoreline_1km",
    "shoreline_distance_m",
    "shoreline_body",
    "positional_uncertainty_m",
    "dist_to_poyang_km",
    "dist_to_hukou_km",
    "stations_downstream",
    "tp_exceeding_basin",
    "tp_offset_required",
    "lake_tp_inflow_via_reach_pct",
    "data_notice",
]
_FLOAT_COLUMNS = [
    "redline_overlap_km2",
    "redline_overlap_km",
    "redline_share",
    "redline_nearest_m",
    "river_distance_m",
    "shoreline_distance_m",
    "positional_uncertainty_m",
    "dist_to_poyang_km",
    "dist_to_hukou_km",
    "lake_tp_inflow_via_reach_pct",
]
_BOOL_COLUMNS = ["redline_overlap", "tp_exceeding_basin", "tp_offset_required"]
#: Numeric columns that hold whole numbers (NaN for rows not checked).
_COUNT_COLUMNS = ["units_touched", "unit_category", "river_reach_id"]
_TEXT_COLUMNS = [c for c in _RESULT_COLUMNS if c not in {*_FLOAT_COLUMNS, *_BOOL_COLUMNS, *_COUNT_COLUMNS}]
_LON_NAMES = ("lon", "lng", "longitude", "long", "x", "经度", "東經", "东经")
_LAT_NAMES = ("lat", "latitude", "y", "纬度", "北纬")


# --------------------------------------------------------------------------- report


@dataclass
class SiteReport:
    """The full check of one site (JSON schema: docs/guide/siting.md).

    Attributes
    ----------
    site : dict
        ``wkt`` (WGS84), ``geometry_type``, ``crs`` given, ``industry`` and its key, ``buffer_m``.
    admin : dict
        ``province``, ``city_adcode``, ``city_name``, ``county_adcode``, ``county_name``.
    units : list of dict
        Every unit touched: ``unit_code``, ``name_zh``, ``category``, ``share``.
    rules : dict
        By dimension: lists of ``rule_id``, ``level``, ``effect``, ``condition``,
        ``condition_state`` (``met``/``uncertain``/``not met``, empty without condition),
        ``applies`` (condition met or none), ``text_zh``, ``text_en``, ``basis``, ``reference``.
    redline : dict
        ``overlaps``, ``overlap_km2``, ``share``, ``nearest_m``, ``zones``, ``within_buffer``.
    river : dict
        Nearest reach of the whole geometry (``reach_id``, ``name_zh``, ``name_en``,
        ``distance_m``); the shoreline rule measured to banks (``shoreline_1km``:
        ``inside``/``outside``/``uncertain``, ``shoreline_distance_m``, ``shoreline_body``,
        ``positional_uncertainty_m``); ``dist_to_poyang_km``, ``dist_to_hukou_km``,
        ``stations_downstream``.
    phosphorus : dict
        ``basin`` (from :func:`ganpo_geo.rivers.basin_of`), ``basin_label``, ``basins_touched``,
        ``tp_exceeding_basin``, ``status``, ``discharges_tp``, ``offset_required``,
        ``lake_tp_inflow_via_reach_pct`` (share of the lake's TP inflow that passes the
        nearest reach: a property of the reach, not the site's own contribution).
    verdict : str
        ``prohibited``, ``conditional`` or ``allowed``.
    reasons : list of dict
        ``source`` (rule id or layer), ``effect``, ``text_zh``, ``text_en``.
    warnings : list of str
    data_notice : list of str
        Which layers were official (a user's files) and which reference (synthesized) or
        illustrative data.
    screening : list of dict
        One entry per screening layer in use (``[[screening]]`` of a layers file): ``name``,
        ``effect``, ``industries``, ``applies_to_industry``, ``overlaps``, ``overlap_km2``,
        ``overlap_km`` (a line's length inside), ``share``, ``nearest_m``, ``buffer_m``,
        ``within_buffer``, ``zones``, ``text_zh``, ``basis``, ``path``.
    """

    site: dict[str, Any]
    admin: dict[str, Any]
    units: list[dict[str, Any]]
    rules: dict[str, list[dict[str, Any]]]
    redline: dict[str, Any]
    river: dict[str, Any]
    phosphorus: dict[str, Any]
    verdict: str
    reasons: list[dict[str, Any]]
    warnings: list[str] = field(default_factory=list)
    data_notice: list[str] = field(default_factory=list)
    screening: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        out: dict[str, Any] = _jsonable(asdict(self))
        return out

    def to_json(self, **kwargs: Any) -> str:
        """The report as JSON (UTF-8 text, Chinese kept)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, **kwargs)

    def to_geojson(self) -> str:
        """The site as a GeoJSON Feature with the report in its properties."""
        props = self.to_dict()
        geom = shapely.geometry.mapping(shapely.from_wkt(self.site["wkt"]))
        return json.dumps({"type": "Feature", "geometry": geom, "properties": props}, ensure_ascii=False)

    def to_html(self, lang: str = "zh", *, layers: Layers | None = None) -> str:
        """The printable report page: map, screening questions, rules cited, provenance.

        A thin wrapper of :func:`ganpo_geo.report.to_html` (see there); ``lang`` (``"zh"`` or
        ``"en"``) translates every label. ``layers`` are the layers the report was made with.
        """
        # lazy on purpose: ganpo_geo.report sits above siting (it draws the map with
        # ganpo_geo.maps and needs folium); importing it at the top would invert the layers
        from ganpo_geo import report as _report

        return _report.to_html(self, lang=lang, layers=layers)

    def to_text(self, lang: str = "zh") -> str:
        """A readable bilingual summary (``lang`` puts Chinese or English first)."""
        zh = lang == "zh"
        verdicts = {"prohibited": "禁止 prohibited", "conditional": "有条件 conditional", "allowed": "允许 allowed"}
        a, r, rl, p = self.admin, self.river, self.redline, self.phosphorus
        lines = [
            f"{'选址结论' if zh else 'Verdict'}: {verdicts[self.verdict]}  "
            f"({self.site['industry']} -> {self.site['industry_key']}, {self.site['geometry_type']})",
            f"{'位置' if zh else 'Where'}: 江西省 Jiangxi / {a['city_name']} / "
            f"{a['county_name']} ({a['county_adcode']})",
        ]
        for u in self.units:
            lines.append(
                f"  {'管控单元' if zh else 'Unit'}: {u['unit_code']} {u['name_zh']} "
                f"(category {u['category']}, share {u['share']:.0%})"
            )
        red = f"{'生态保护红线' if zh else 'Red line'}: " + (
            "overlaps 压占 " + rl["zones"] if rl["overlaps"] else f"no overlap 不压占; nearest {rl['nearest_m']:.0f} m"
        )
        lines.append(red)
        if r.get("reach_id") is not None:
            lines.append(
                f"{'河流' if zh else 'River'}: {r['name_zh'] or '-'} {r['name_en'] or ''}, "
                f"{_num(r['distance_m'])} m; "
                f"to Poyang Lake 至鄱阳湖 {_km(r['dist_to_poyang_km'])}, to Hukou 至湖口 {_km(r['dist_to_hukou_km'])}"
            )
            if r["stations_downstream"]:
                lines.append(f"  {'下游断面' if zh else 'Stations downstream'}: {', '.join(r['stations_downstream'])}")
        shore = {"inside": "inside 是", "outside": "outside 否", "uncertain": "uncertain 不确定"}
        bank = (
            f"nearest protected bank 最近岸线 {r['shoreline_body']} {_num(r['shoreline_distance_m'])} m "
            f"(positional uncertainty 位置误差 ±{_num(r['positional_uncertainty_m'])} m)"
            if r["shoreline_body"]
            else "no protected shoreline within 1 km plus the data's error 一公里（含数据误差）内无受保护岸线"
        )
        lines.append(
            f"{'岸线一公里' if zh else 'Shoreline 1 km'} (长江保护法第二十六条): "
            f"{shore.get(r['shoreline_1km'], r['shoreline_1km'])}; {bank}"
        )
        share = p["lake_tp_inflow_via_reach_pct"]
        lines.append(
            f"{'总磷' if zh else 'Phosphorus'}: {p['status']}; offset required 需总磷替代: "
            f"{'yes 是' if p['offset_required'] else 'no 否'}"
            + (
                f"; share of Poyang's TP inflow that passes the nearest reach 经最近河段入湖总磷占比 {share:.1f}%"
                if share is not None
                else ""
            )
        )
        lines.append(f"{'理由' if zh else 'Reasons'}:")
        for reason in self.reasons:
            first, second = (reason["text_zh"], reason["text_en"]) if zh else (reason["text_en"], reason["text_zh"])
            lines.append(f"  [{reason['source']}] {reason['effect']}: {first} / {second}")
        for dim, rules in self.rules.items():
            applied = [x for x in rules if x["applies"]]
            if applied:
                lines.append(f"{dim}: " + "; ".join(f"{x['rule_id']} {x['effect']}" for x in applied))
        for sc in self.screening:
            where = (
                "inside 位于范围内"
                if sc["within_buffer"]
                else f"outside 不在范围内 (nearest {_num(sc['nearest_m'])} m)"
            )
            lines.append(f"{'筛查图层' if zh else 'Screening'} {sc['name']}: {where}; effect {sc['effect']}")
        for w in self.warnings:
            lines.append(f"{'注意' if zh else 'Warning'}: {w}")
        for notice in self.data_notice:
            lines.append(f"NOTICE: {notice}")
        return "\n".join(lines)


def _km(value: Any) -> str:
    return "-" if value is None or (isinstance(value, float) and np.isnan(value)) else f"{value:.1f} km"


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and np.isnan(obj):
        return None
    if obj is pd.NA:
        return None
    return obj


# --------------------------------------------------------------------------- input


def _find_column(columns: list[str], names: tuple[str, ...]) -> str | None:
    lower = {str(c).strip().lower(): c for c in columns}
    for name in names:
        if name in lower:
            return lower[name]
    return None


#: Internal columns of a frame read by :func:`read_sites` (never taken from the user's columns).
_ERR = "_ganpo_input_error"
_ORIG = "_ganpo_input_geometry"
#: Prefix given to a result column whose name the input already uses (the input column is kept).
RESULT_PREFIX = "ganpo_"
#: Column holding the checked WGS84 geometry (WKT) when it differs from the input's own.
CHECKED_WKT = "checked_wkt"
#: Names recognised as a per-row industry column when ``industry_col`` is left at its default.
_INDUSTRY_NAMES = ("industry", "行业", "行业类别", "项目类型")


def read_sites(
    path: str | Path,
    *,
    crs: Any = None,
    lon_col: str | None = None,
    lat_col: str | None = None,
    layer: str | int | None = None,
    sheet: str | int | None = None,
) -> gpd.GeoDataFrame:
    """Read a batch of sites: CSV or XLSX (lon/lat or WKT column), GeoJSON, GeoPackage, GeoParquet, Shapefile.

    CSV files may be UTF-8 (with or without BOM), GBK/GB18030 or UTF-16 (with BOM), delimited by
    ``,`` ``;`` or tab; what was detected is said in a warning when it is not plain UTF-8 with
    commas. Rows that cannot be used (ragged or undecodable CSV rows, missing or bad
    coordinates, empty geometries) are kept with their problem as a row error, so that output
    rows = input rows.

    Parameters
    ----------
    path : path
    crs : optional
        The coordinates' CRS (``wgs84``, ``gcj02``, ``bd09``, EPSG ...); default: the file's, or
        WGS84 for a CSV.
    lon_col, lat_col : str, optional
        Table coordinate columns when they are not recognised (lon/lng/longitude/x/经度/东经 ...).
    layer : optional
        Layer of a GeoPackage.
    sheet : str or int, optional
        Sheet of an ``.xlsx`` workbook (default: the first).

    Returns
    -------
    geopandas.GeoDataFrame
        The input's own columns unchanged, the WGS84 geometry (``geometry``, or
        ``ganpo_geometry`` when the input has a column named ``geometry``) and the private
        row-error column used by :func:`check_sites`.

    Raises
    ------
    ValidationError
        A missing, empty or binary file, or a table without recognisable coordinate columns.
    """
    path = Path(path)
    if not path.exists():
        msg = f"input file not found: {path}"
        raise ValidationError(msg)
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt", ".tsv", ".xlsx"):
        read = read_excel_table(path, sheet) if suffix == ".xlsx" else read_csv_table(path)
        for note in read.notes:
            warnings.warn(note, UserWarning, stacklevel=2)
        return sites_from_table(read.table, crs=crs, lon_col=lon_col, lat_col=lat_col, row_errors=read.row_errors)
    frame = _read_file(path, layer, None)
    if len(frame) == 0:
        msg = f"{path} holds no features"
        raise ValidationError(msg)
    if not isinstance(frame, gpd.GeoDataFrame):
        return sites_from_table(pd.DataFrame(frame), crs=crs, lon_col=lon_col, lat_col=lat_col)
    return _sites_from_geometries(frame, crs)


def _texts(values: np.ndarray) -> np.ndarray:
    """An object array with its missing values (None, NaN, NA) as ``""``."""
    out = values.copy()
    out[pd.isna(values)] = ""
    return out


def _geoseries(geoms: np.ndarray | GeometryArray, index: pd.Index, crs: Any, name: Any = None) -> gpd.GeoSeries:
    """A GeoSeries on ``geoms`` (shapely geometries or None: the check's own arrays, or a
    GeometryArray) without copying them or checking them one by one, as ``GeoSeries(ndarray)`` does."""
    array = geoms if isinstance(geoms, GeometryArray) else GeometryArray(geoms, crs=crs)
    return gpd.GeoSeries(array, index=index, crs=crs, name=name, copy=False)


def _blank(shape: int | tuple[int, ...]) -> np.ndarray:
    """An object array of empty texts (several times faster than ``np.full(shape, "", dtype=object)``)."""
    out = np.empty(shape, dtype=object)
    out.fill("")
    return out


def _numbers(values: pd.Series) -> np.ndarray:
    """Text to floats; decimal commas (``115,89``) are read as decimal points; the rest NaN."""
    out = _plain_decimals(values)
    if out is None:
        out = np.array(pd.to_numeric(values, errors="coerce"), dtype=float)  # a writable copy
    miss = np.isnan(out)
    if miss.any():
        text = values[miss].astype(str).str.strip()
        comma = text.str.fullmatch(r"[-+]?\d+,\d+")
        if comma.any():
            fixed = pd.to_numeric(text[comma].str.replace(",", ".", regex=False), errors="coerce")
            out[np.flatnonzero(miss)[comma.to_numpy()]] = fixed.to_numpy(dtype=float)
    return out


#: Plain decimals (``-115.123456``): Arrow's parser and pandas' read them to the same double when
#: they have at most 15 digits (both exact: the digits as an integer, one division by a power of 10).
_PLAIN_DECIMAL = r"^[-+]?[0-9]+\.[0-9]+$"
_PLAIN_MAX_CHARS = 15


def _plain_decimals(values: pd.Series) -> np.ndarray | None:
    """``pandas.to_numeric(values, errors="coerce")`` as floats, with Arrow's parser for plain decimals.

    For Arrow text only (else None); the other values (bad ones, integers, exponents, long
    numbers) go through pandas as before, or the whole column does when one of them is long.
    """
    if not (isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow"):
        return None
    text = pa.array(values.array)
    short = pc.less_equal(pc.utf8_length(text), _PLAIN_MAX_CHARS)
    plain = pc.and_(pc.match_substring_regex(text, _PLAIN_DECIMAL), short)
    plain_rows = plain.fill_null(False).to_numpy(zero_copy_only=False)
    rest = np.flatnonzero(~plain_rows)
    longest = pc.max(pc.utf8_length(text.take(pa.array(rest)))).as_py() if rest.size else None
    if longest is not None and longest > _PLAIN_MAX_CHARS:
        return None  # a long value: pandas reads the column, as it always did
    out = np.full(len(values), np.nan)
    out[plain_rows] = pc.cast(text.filter(plain_rows), pa.float64()).to_numpy(zero_copy_only=False)
    if rest.size:
        out[rest] = np.array(pd.to_numeric(values.iloc[rest], errors="coerce"), dtype=float)
    return out


def sites_from_table(
    table: pd.DataFrame,
    *,
    crs: Any = None,
    lon_col: str | None = None,
    lat_col: str | None = None,
    row_errors: np.ndarray | None = None,
) -> gpd.GeoDataFrame:
    """Sites from a table with lon/lat columns (or a ``wkt`` column); bad rows keep an error.

    Parameters
    ----------
    table : pandas.DataFrame
    crs, lon_col, lat_col
        See :func:`read_sites`.
    row_errors : numpy.ndarray, optional
        Errors already known per row (e.g. ragged CSV rows).

    Returns
    -------
    geopandas.GeoDataFrame
        The table's columns unchanged, WGS84 geometry, and the private row-error column.

    Raises
    ------
    ColumnMappingError
        No coordinate columns (the message lists the columns found and suggests fixes).
    """
    return _table_sites(table, crs=crs, lon_col=lon_col, lat_col=lat_col, row_errors=row_errors)[0]


#: Points certainly outside Jiangxi, found before the check (see :func:`_table_sites`): rows, lon,
#: lat, and their error texts (Arrow strings).
_FarPoints = tuple[np.ndarray, np.ndarray, np.ndarray, pa.Array]

#: The row error a far point carries through the check in place of its text (see :func:`_table_sites`).
FAR_ERROR = "outside Jiangxi (text to follow)"


def _table_sites(
    table: pd.DataFrame,
    *,
    crs: Any = None,
    lon_col: str | None = None,
    lat_col: str | None = None,
    row_errors: np.ndarray | None = None,
    outside: Layers | None = None,
) -> tuple[gpd.GeoDataFrame, _FarPoints]:
    """:func:`sites_from_table`, and with ``outside`` (the layers of the check) the WGS84 points
    outside the bounding box of the layers' counties, which are certainly outside Jiangxi.

    Those rows get no geometry (no shapely point is made for them: making points holds the GIL,
    and a national list may be half outside Jiangxi) and the row error :data:`FAR_ERROR`; their
    real error, the check's own text for a site outside Jiangxi (:func:`_outside_texts`), is
    returned as Arrow strings with their (rows, lon, lat), for the caller to write in their place
    (no Python text per row). Other CRSs are converted first: no such rows.
    """
    cols = [str(c) for c in table.columns]
    for given, option in ((lon_col, "lon_col"), (lat_col, "lat_col")):
        if given is not None and given not in table.columns:
            msg = f"{option} {given!r} is not a column; columns found: {', '.join(cols)}"
            raise ColumnMappingError(msg)
    lon_name = lon_col or _find_column(cols, _LON_NAMES)
    lat_name = lat_col or _find_column(cols, _LAT_NAMES)
    wkt_name = _find_column(cols, ("wkt", "geometry", "geom"))
    geom_name = "geometry" if "geometry" not in table.columns else RESULT_PREFIX + "geometry"
    out = table.copy(deep=False)  # copy-on-write: the user's table is not changed
    out[geom_name] = _geoseries(np.full(len(table), None, dtype=object), table.index, WGS84)
    out = gpd.GeoDataFrame(out, geometry=geom_name, crs=WGS84, copy=False)  # out is ours: no copy
    errors = _blank(len(table)) if row_errors is None else np.asarray(row_errors, dtype=object).copy()
    spec = parse_crs(crs if crs is not None else "wgs84")
    far: _FarPoints = (np.empty(0, dtype=np.intp), np.empty(0), np.empty(0), pa.array([], pa.string()))
    if lon_name and lat_name and lon_name in table and lat_name in table:
        lon = _numbers(table[lon_name])
        lat = _numbers(table[lat_name])
        missing = (np.isnan(lon) | np.isnan(lat)) & (errors == "")
        errors[missing] = f"non-numeric or missing coordinates ({lon_name}, {lat_name})"
        fine = ~np.isnan(lon) & ~np.isnan(lat)
        if outside is not None and spec.kind == "wgs84":
            rows = _far_from_jiangxi(lon, lat, fine & (errors == ""), outside)
            texts = _outside_texts(lon[rows], lat[rows], _context(outside), outside, arrow=True)
            errors[rows] = FAR_ERROR
            fine[rows] = False
            far = (rows, lon[rows], lat[rows], texts)
        geoms = np.full(len(table), None, dtype=object)
        geoms[fine] = shapely.points(lon[fine], lat[fine])
    elif wkt_name:
        geoms = shapely.from_wkt(table[wkt_name].astype(str).to_numpy(), on_invalid="ignore")
        bad = shapely.is_missing(geoms) & (errors == "")
        errors[bad] = f"invalid WKT in column {wkt_name}"
        empty = ~shapely.is_missing(geoms) & shapely.is_empty(geoms) & (errors == "")
        errors[empty] = f"empty geometry in column {wkt_name}"
    else:
        found = ", ".join(cols)
        delims = [d for d in (";", "\t") if len(cols) == 1 and d in cols[0]]
        hint = " (the header holds a ';' or tab: is the delimiter detected?)" if delims else ""
        msg = (
            f"no coordinate columns found (looked for lon/lng/longitude/x/经度/东经 and lat/latitude/y/纬度/北纬, or "
            f"wkt); columns found: {found}{hint}; name them with --lon-col/--lat-col"
        )
        raise ColumnMappingError(msg)
    return _finish_input(out, geoms, errors, spec), far


def _far_from_jiangxi(lon: np.ndarray, lat: np.ndarray, candidates: np.ndarray, layers: Layers) -> np.ndarray:
    """Rows among ``candidates`` whose longitude/latitude is valid but outside the bounding box of
    the counties (which tile Jiangxi): a check would find them in no county."""
    west, south, east, north = _context(layers).counties.total_bounds
    with np.errstate(invalid="ignore"):
        valid = candidates & (np.abs(lon) <= 180) & (np.abs(lat) <= 90)
        away = (lon < west) | (lon > east) | (lat < south) | (lat > north)
    return np.flatnonzero(valid & away)


def _sites_from_geometries(frame: gpd.GeoDataFrame, crs: Any) -> gpd.GeoDataFrame:
    if _ERR in frame.columns:  # already read by read_sites: keep its row errors
        return frame
    if crs is None and frame.crs is None:
        msg = "the sites have no CRS: pass crs= (wgs84, cgcs2000, gcj02, bd09 or an EPSG code)"
        raise ValidationError(msg)
    spec = parse_crs(crs if crs is not None else frame.crs)
    geoms = frame.geometry.to_numpy().copy()
    errors = _blank(len(frame))
    errors[shapely.is_missing(geoms)] = "no geometry"
    errors[~shapely.is_missing(geoms) & shapely.is_empty(geoms)] = "empty geometry"
    collection = shapely.get_type_id(geoms) == shapely.GeometryType.GEOMETRYCOLLECTION
    errors[collection & (errors == "")] = "a GeometryCollection is not a site: give points, lines or polygons"
    out = frame.copy(deep=False)  # copy-on-write: the user's frame is not changed
    # the input's geometry as given (with its CRS) comes back in the output of check_sites
    out[_ORIG] = _geoseries(frame.geometry.array, frame.index, frame.crs)
    return _finish_input(out, geoms, errors, spec)


def _finish_input(out: gpd.GeoDataFrame, geoms: np.ndarray, errors: np.ndarray, spec: Any) -> gpd.GeoDataFrame:
    """Range-check the coordinates, convert to WGS84 row by row safely, keep every row."""
    geoms = np.asarray(geoms, dtype=object)
    ok = ~shapely.is_missing(geoms) & (errors == "")
    coords, owner = coordinates(geoms[ok], return_index=True) if ok.any() else (np.empty((0, 2)), np.empty(0, int))
    rows = np.flatnonzero(ok)
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(coords).all(axis=1)
        if spec.kind in ("wgs84", "gcj02", "bd09"):
            bad |= (np.abs(coords[:, 1]) > 90) | (np.abs(coords[:, 0]) > 180)
    if bad.any():  # one text per kind of mistake, built as arrays (the first bad vertex of each bad row)
        first_bad = np.flatnonzero(bad)
        owners, at = np.unique(owner[first_bad], return_index=True)
        worst = first_bad[at]
        errors[rows[owners]] = _coordinate_errors(coords[worst], worst, owners, owner, geoms[rows[owners]], spec)
        ok[rows[owners]] = False  # texts, never empty
    converted = np.full(len(geoms), None, dtype=object)
    if ok.any():
        try:
            converted[ok] = to_wgs84(geoms[ok], crs=spec)
        except CoordinateError:  # one bad row must not sink the batch: convert one by one
            for i in np.flatnonzero(ok):
                try:
                    converted[i] = to_wgs84(geoms[i], crs=spec)
                except CoordinateError as exc:
                    errors[i] = str(exc)
    out = out.set_geometry(_geoseries(converted, out.index, WGS84, name=out.geometry.name))
    out[_ERR] = pd.Series(errors, index=out.index, dtype=object)  # ours: no conversion to the str dtype
    return out


def _coordinate_errors(
    xy: np.ndarray, vertex_at: np.ndarray, owners: np.ndarray, owner: np.ndarray, geoms: np.ndarray, spec: Any
) -> np.ndarray:
    """The error text of each row's first bad vertex ``xy`` (position ``vertex_at`` among the coordinates)."""
    x, y = xy[:, 0], xy[:, 1]
    vertex = (vertex_at - np.searchsorted(owner, owners)).astype(str).astype(object)
    where = np.where(shapely.get_num_coordinates(geoms) > 1, " (vertex " + vertex + ")", "").astype(object)
    finite = np.isfinite(x) & np.isfinite(y)
    swapped = np.zeros(len(x), dtype=bool)
    with np.errstate(invalid="ignore"):
        maybe = finite & (np.abs(y) <= 180) & (np.abs(x) <= 90)
    if spec.kind != "proj" and maybe.any():
        province = load_layer("province").geometry.iloc[0]
        swapped[maybe] = shapely.contains_xy(province, y[maybe], x[maybe])
    xs, ys = _float_texts(x), _float_texts(y)
    with np.errstate(invalid="ignore"):
        high = np.abs(y) > 90
    pair, turned = "(" + xs + ", " + ys + ")", "(" + ys + ", " + xs + ")"
    latitude = "latitude " + ys + where + " is outside [-90, 90]"
    longitude = "longitude " + xs + where + " is outside [-180, 180]"
    texts = np.where(
        ~finite,
        "non-numeric or missing coordinates" + where + ": " + pair,
        np.where(
            swapped,
            "longitude and latitude look swapped: " + pair + " is not a place, but " + turned + " is in Jiangxi",
            np.where(high, latitude, longitude),
        ),
    )
    out: np.ndarray = texts.astype(object)
    return out


def _float_texts(values: np.ndarray) -> np.ndarray:
    """``str`` of each float (Python's repr digits), formatted once per distinct value (bit for bit)."""
    _, first, inverse = np.unique(values.view(np.int64), return_index=True, return_inverse=True)
    texts = np.array([str(v) for v in values[first]], dtype=object)  # numpy floats, as f"{x}" formats them
    out: np.ndarray = texts[inverse.reshape(-1)]
    return out


def _clip_outside_parts(geoms: np.ndarray, errors: np.ndarray, province: shapely.Geometry) -> np.ndarray:
    """Multi-part sites: parts wholly outside Jiangxi are left out of the check; warnings name them."""
    warns = _blank(len(geoms))
    multi = np.isin(
        shapely.get_type_id(geoms),
        [shapely.GeometryType.MULTIPOINT, shapely.GeometryType.MULTILINESTRING, shapely.GeometryType.MULTIPOLYGON],
    ) & (errors == "")
    if not multi.any():
        return warns
    rows = np.flatnonzero(multi)
    parts, owner = shapely.get_parts(geoms[rows], return_index=True)
    inside = shapely.intersects(parts, province)
    some_in = np.bincount(owner, weights=inside, minlength=len(rows)) > 0
    some_out = np.bincount(owner, weights=~inside, minlength=len(rows)) > 0
    for k in np.flatnonzero(some_in & some_out):  # rows partly outside Jiangxi (rare)
        mine = owner == k
        kept = parts[mine & inside]
        left = parts[mine & ~inside]
        geoms[rows[k]] = type(geoms[rows[k]])(list(kept))
        where = ", ".join(f"({p.x:.5f}, {p.y:.5f})" for p in shapely.point_on_surface(left[:5])) + (
            " ..." if len(left) > 5 else ""
        )
        warns[rows[k]] = (
            f"{len(left)} of {int(mine.sum())} parts lie outside Jiangxi and were left out of the check (near {where})"
        )
    return warns


def _add_text(column: np.ndarray, extra: np.ndarray) -> np.ndarray:
    """Join two arrays of ``; ``-separated texts row by row (only where ``extra`` is set).

    Returns ``column`` itself when ``extra`` is empty everywhere, else a new array.
    """
    rows = np.flatnonzero(extra != "")
    if not rows.size:
        return column
    out = column.astype(object)  # a copy
    for i in rows.tolist():  # few: warnings are rare
        out[i] = f"{extra[i]}; {out[i]}" if out[i] else extra[i]
    return out


# --------------------------------------------------------------------------- context


@dataclass(frozen=True)
class _Shoreline:
    """The water bodies of the shoreline table as short metric line pieces with their bank offsets."""

    bodies: pd.DataFrame  # the table (rivers/shoreline_rules.csv), one row per body
    lines: np.ndarray  # centrelines and the outlines of bank polygons (Jiangxi Albers)
    line_body: np.ndarray  # row in ``bodies`` of each line
    line_half: np.ndarray  # metres between a line and its bank (0 for polygon outlines)
    chunks: Any  # LineChunks of ``lines``: exact distances to short pieces are cheap
    polygons: np.ndarray  # bank polygons (a site inside one is 0 m from its bank)
    polygon_body: np.ndarray
    max_offset_m: float  # largest half-width + positional uncertainty
    # columns of ``bodies`` as arrays, for the chunks (no pandas selection per chunk and term)
    body_rule: np.ndarray
    body_key: np.ndarray
    body_uncertainty_m: np.ndarray
    body_name: np.ndarray  # "name_zh name_en"

    def rows_where(self, rule: str | None = None, key: str | None = None) -> np.ndarray:
        """The rows of the bodies with this ``rule`` (or this ``body_key``)."""
        return np.flatnonzero(self.body_rule == rule) if key is None else np.flatnonzero(self.body_key == key)


def _build_shoreline(reaches: gpd.GeoDataFrame, reach_m: np.ndarray) -> _Shoreline:
    """Geometry of each body of the shoreline table (see ``data/rivers/shoreline_rules.csv``)."""
    table = pd.read_csv(data_path("rivers/shoreline_rules.csv"), dtype=str, keep_default_na=False)
    sources = {"lakes": load_layer("lakes"), "reaches": reaches}
    lines, line_body, polygons, polygon_body = [], [], [], []
    for i, body in enumerate(table.itertuples(index=False)):
        layer = sources[body.layer]
        mask = (layer[body.match_column].fillna("") == body.match_value).to_numpy()
        geoms = reach_m[mask] if body.layer == "reaches" else to_albers(layer.geometry.to_numpy()[mask])
        parts = shapely.get_parts(np.asarray(geoms, dtype=object))
        if body.kind == "bank_polygon":
            polygons.extend(parts)
            polygon_body.extend([i] * len(parts))
            parts = shapely.get_parts(shapely.boundary(parts))
        lines.extend(parts)
        line_body.extend([i] * len(parts))
    bodies = table.assign(
        half_width_m=table["half_width_m"].astype(float),
        positional_uncertainty_m=table["positional_uncertainty_m"].astype(float),
    )
    lines_arr = np.asarray(lines, dtype=object)
    body_arr = np.asarray(line_body, dtype=np.int64)
    polygons_arr = np.asarray(polygons, dtype=object)
    prepare_shared(polygons_arr)
    return _Shoreline(
        bodies=bodies,
        lines=lines_arr,
        line_body=body_arr,
        line_half=np.where(
            bodies["kind"].to_numpy()[body_arr] == "bank_polygon", 0.0, bodies["half_width_m"].to_numpy()[body_arr]
        ),
        chunks=LineChunks.build(lines_arr),
        polygons=polygons_arr,
        polygon_body=np.asarray(polygon_body, dtype=np.int64),
        max_offset_m=float((bodies["half_width_m"] + bodies["positional_uncertainty_m"]).max()),
        body_rule=bodies["rule"].to_numpy(dtype=object),
        body_key=bodies["body_key"].to_numpy(dtype=object),
        body_uncertainty_m=bodies["positional_uncertainty_m"].to_numpy(dtype=float),
        body_name=(bodies["name_zh"] + " " + bodies["name_en"]).to_numpy(dtype=object),
    )


@dataclass(frozen=True)
class _Context:
    """Everything a check needs that does not depend on the sites (built once per Layers)."""

    reach_table: dict[str, np.ndarray]
    reach_pos: np.ndarray
    county_table: dict[str, np.ndarray]
    province: shapely.Geometry
    province_m: shapely.Geometry
    counties: gpd.GeoDataFrame
    cities: pd.Series
    reaches: gpd.GeoDataFrame
    reach_m: np.ndarray
    reach_chunks: Any
    reach_tree: shapely.STRtree
    shoreline: _Shoreline
    dist_to_poyang: pd.Series
    stations_down: pd.Series
    stations_on_reach: dict[int, list[tuple[float, str]]]
    tp_share: pd.Series
    industries: pd.DataFrame


def _context(layers: Layers) -> _Context:
    ctx: _Context = layers.cached("siting_context", lambda: _build_context())
    return ctx


@cache
def _build_context() -> _Context:
    """Tables of the bundled layers the checks use; no networkx needed (fast start-up)."""
    province = load_layer("province").geometry.iloc[0]
    prepare_shared(province)
    reaches = load_layer("reaches").set_index("reach_id", drop=False).rename_axis(None)
    nodes = load_layer("river_nodes")
    lake_node = nodes.loc[nodes["kind"] == "lake", "node_id"]
    lake_node = int(lake_node.iloc[0]) if len(lake_node) else None
    reach_m = to_albers(reaches.geometry)
    # distance from each reach's downstream end to Poyang Lake along the main downstream path
    by_u = reaches[reaches["main_down"].astype(bool)].set_index("u")["reach_id"]
    # plain dicts of the columns the loops read (pandas' .at costs ~0.1 ms a call, ~400 calls)
    reach_u = dict(zip(reaches.index, reaches["u"].to_numpy(), strict=True))
    reach_v = dict(zip(reaches.index, reaches["v"].to_numpy(), strict=True))
    reach_len = dict(zip(reaches.index, reaches["length_km"].to_numpy(), strict=True))
    dist: dict[int, float] = {}
    for rid in reaches.sort_values("dist_to_outlet_km").index:
        v = reach_v[rid]
        if v == lake_node:
            dist[rid] = 0.0
        elif v in by_u.index:
            nxt = int(by_u.at[v])
            dist[rid] = reach_len[nxt] + dist.get(nxt, np.nan)
        else:
            dist[rid] = np.nan
    # stations: on which reach and where; which reaches lie upstream of each
    chunks = LineChunks.build(reach_m)
    ids = reaches["reach_id"].to_numpy()
    stations = load_layer("stations")
    xy = shapely.get_coordinates(to_albers(stations.geometry))
    st_reach, _, _, st_frac = snap_to_lines(xy[:, 0], xy[:, 1], chunks, ids, shapely.length(reach_m), 15_000.0)
    entering: dict[Any, list[int]] = {}
    for rid, v in zip(reaches["reach_id"], reaches["v"], strict=True):
        entering.setdefault(v, []).append(int(rid))
    downstream: dict[int, list[str]] = {}
    same_reach: dict[int, list[tuple[float, str]]] = {}
    names = (stations["name_zh"] + " " + stations["name_en"]).to_numpy()
    for name, rid, frac in zip(names, st_reach, st_frac, strict=True):
        if np.isnan(rid):
            continue
        same_reach.setdefault(int(rid), []).append((float(frac), name))
        stack, seen = list(entering.get(reach_u[int(rid)], [])), set()
        while stack:  # every reach strictly upstream of the station's reach
            up = stack.pop()
            if up in seen:
                continue
            seen.add(up)
            downstream.setdefault(up, []).append(name)
            stack.extend(entering.get(reach_u[up], []))
    tp = pd.read_csv(data_path("rivers/tp_reach_loads.csv")).set_index("reach_id")["share_of_lake_inflow_pct"]
    reach_table = {
        "name": (reaches["river_zh"].fillna("") + " " + reaches["river_en"].fillna(""))
        .str.strip()
        .to_numpy(dtype=object),
        "basin": reaches["basin"].fillna("").to_numpy(dtype=object),
        "length_km": reaches["length_km"].to_numpy(dtype=float),
        "dist_to_outlet_km": reaches["dist_to_outlet_km"].to_numpy(dtype=float),
        "dist_to_poyang_km": pd.Series(dist).reindex(reaches.index).to_numpy(dtype=float),
        "stations_down": pd.Series({k: "; ".join(v) for k, v in downstream.items()}, dtype=object)
        .reindex(reaches.index)
        .fillna("")
        .to_numpy(dtype=object),
        "tp_share": tp.reindex(reaches.index).to_numpy(dtype=float),
    }
    reach_pos = np.full(int(reaches["reach_id"].max()) + 1, -1, dtype=np.int64)
    reach_pos[reaches["reach_id"].to_numpy()] = np.arange(len(reaches))
    counties = load_layer("counties")
    cities = load_layer("cities").set_index("adcode")["name_zh"]
    county_table = {
        "adcode": counties["adcode"].to_numpy(dtype=object),
        "name": (counties["name_zh"] + " " + counties["name_en"]).to_numpy(dtype=object),
        "city_adcode": counties["parent_adcode"].to_numpy(dtype=object),
        "city_name": cities.reindex(counties["parent_adcode"]).to_numpy(dtype=object),
        # city districts (市辖区) make up the central urban areas (中心城区)
        "is_district": counties["name_zh"].astype(str).str.endswith("区").to_numpy(dtype=bool),
    }
    return _Context(
        reach_table=reach_table,
        reach_pos=reach_pos,
        county_table=county_table,
        province=province,
        province_m=to_albers([province])[0],
        counties=counties,
        cities=cities,
        reaches=reaches,
        reach_m=reach_m,
        reach_chunks=chunks,
        reach_tree=shapely.STRtree(reach_m),
        shoreline=_build_shoreline(reaches, reach_m),
        dist_to_poyang=pd.Series(dist),
        stations_down=pd.Series({k: "; ".join(v) for k, v in downstream.items()}, dtype=object),
        stations_on_reach=same_reach,
        tp_share=tp,
        industries=industries(),
    )


def _take(values: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """values[rows], with NaN (numbers) or "" (text) where rows is -1."""
    out = values[np.maximum(rows, 0)]  # a copy (fancy indexing)
    out[rows < 0] = np.nan if values.dtype.kind == "f" else ""
    taken: np.ndarray = out
    return taken


def _metric_xy(g: gpd.GeoSeries) -> np.ndarray:
    """Jiangxi Albers coordinates of each site's point (lines and polygons: their centroid)."""
    geoms = g.to_numpy()
    is_point = shapely.get_type_id(geoms) == shapely.GeometryType.POINT
    sel = geoms if is_point.all() else np.where(is_point, geoms, shapely.centroid(geoms))
    lonlat = coordinates(sel)
    x, y = _albers_transformer().transform(lonlat[:, 0], lonlat[:, 1])
    return np.column_stack([x, y])


def _albers_transformer() -> Any:
    return transformer(WGS84, JIANGXI_ALBERS)


def _snap_sites(xy: np.ndarray, ctx: _Context, layers: Layers) -> pd.DataFrame:
    """Nearest reach of each site (exact): reach_id, distance_m, fraction."""
    grid = None
    # a grid of candidate segments over the province (cached on disk); used whenever it is there:
    # its answers are the tree's, to the last bit, and it is faster for any number of sites
    if len(xy) >= GRID_MIN_POINTS or "siting_reach_segments" in layers._cache:
        grid = layers.cached(
            "siting_reach_segments",
            lambda: SegmentGrid.build(ctx.reach_chunks, ctx.province_m.bounds, MAX_SNAP_M),
        )
    ids, dist, _, frac = snap_to_lines(
        xy[:, 0],
        xy[:, 1],
        ctx.reach_chunks,
        ctx.reaches["reach_id"].to_numpy(),
        shapely.length(ctx.reach_m),
        MAX_SNAP_M,
        grid=grid,
    )
    return pd.DataFrame({"reach_id": ids, "distance_m": dist, "fraction": frac})


# --------------------------------------------------------------------------- rules per combination


_SEVERITY = {"prohibit": 3, "restrict": 2, "allow": 1}


def _rule_severity(effect: str, industries: str, condition: str) -> int:
    if effect == "require":  # something specific to do is a condition of approval
        return 2 if condition != "" or industries != "all" else 1
    return _SEVERITY[effect]


def _term_bits(layers: Layers) -> dict[str, int]:
    """Bit position of each condition term of the rules in use (met = bit, uncertain = bit + 1)."""

    def build() -> dict[str, int]:
        terms = sorted({t for c in layers.access_rules()["condition"] for t in condition_terms(c)})
        return {t: 2 * i for i, t in enumerate(terms)}

    bits: dict[str, int] = layers.cached("siting_term_bits", build)
    return bits


def condition_state(condition: str, mask: int, bits: dict[str, int]) -> str:
    """``"met"``, ``"uncertain"``, ``"not met"`` or ``""`` (no condition) for a site's term mask.

    All terms must hold (``&``); the condition is uncertain when every term is met or
    uncertain and at least one is uncertain.
    """
    terms = condition_terms(condition)
    if not terms:
        return ""
    met = [bool(mask >> bits[t] & 1) for t in terms]
    unsure = [bool(mask >> (bits[t] + 1) & 1) for t in terms]
    if all(met):
        return "met"
    if all(m or u for m, u in zip(met, unsure, strict=True)):
        return "uncertain"
    return "not met"


def _combo_verdict(rules: pd.DataFrame, mask: int, bits: dict[str, int]) -> tuple[int, str]:
    """Severity and reason ids of the rules in scope of one (unit, industry) under a term mask."""
    severity, reasons = 0, []
    columns = (rules[c].tolist() for c in ("rule_id", "effect", "industries", "condition"))
    for rule_id, effect, scope, condition in zip(*columns, strict=True):  # itertuples makes a class per call
        state = condition_state(condition, mask, bits)
        sev = _rule_severity(effect, scope, condition)
        if state in ("", "met"):
            severity = max(severity, sev)
            if sev >= 2:
                reasons.append(rule_id)
        elif state == "uncertain" and sev >= 2:  # might apply: a conditional verdict, to verify
            severity = max(severity, 2)
            reasons.append(f"{rule_id}(uncertain)")
    return severity, ";".join(reasons)


def _combo_rules(layers: Layers, rules: pd.DataFrame, combo: tuple[Any, ...]) -> pd.DataFrame:
    """The rules in scope of one (city, category, unit override, industry), cached per layers."""

    def build() -> pd.DataFrame:
        city_adcode, category, unit_key, industry_key = combo
        mask = rules_in_scope(
            rules, city_adcode=city_adcode, category=category, unit_code=unit_key, industry=industry_key
        )
        return rules[mask][["rule_id", "effect", "industries", "condition"]]

    return layers.memo("siting_combo_rules", combo, build)


def _memo_verdict(
    layers: Layers, rules: pd.DataFrame, combo: tuple[Any, ...], mask: int, bits: dict[str, int]
) -> tuple[int, str]:
    """:func:`_combo_verdict` of one combination under a term mask, memoized per layers."""

    def build() -> tuple[int, str]:  # on a miss only: the saved verdicts need no rules selected
        return _combo_verdict(_combo_rules(layers, rules, combo), mask, bits)

    return layers.memo("verdict_table", (combo, mask), build)


# --------------------------------------------------------------------------- the check


def _industry_keys(values: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Industry keys per row, an error text for unknown ones (resolved once per distinct name)
    and where there is one."""
    codes, names = pd.factorize(values if isinstance(values.dtype, pd.CategoricalDtype) else values.astype(str))
    keys, errors = _blank(len(names) + 1), _blank(len(names) + 1)  # the last: missing names (code -1)
    unknown = np.zeros(len(names) + 1, dtype=bool)
    for j, name in enumerate(map(str, names)):
        try:
            keys[j] = resolve_industry(name)
        except ValidationError as exc:
            errors[j] = str(exc)
            unknown[j] = True
    return keys[codes], errors[codes], unknown[codes]


def _locate_outside(geoms: np.ndarray, ctx: _Context, layers: Layers) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Error texts for sites outside Jiangxi (naming the province, or outside China); vectorized.

    Also returns the county (position) of each point site, -1 for other sites and points outside
    (the one point-in-county pass, reused for the county of the site), and which sites are outside.
    """
    out = _blank(len(geoms))
    county = np.full(len(geoms), -1, dtype=np.int64)
    if len(geoms) == 0:
        return out, county, np.zeros(0, dtype=bool)
    is_point = shapely.get_type_id(geoms) == shapely.GeometryType.POINT
    inside = np.zeros(len(geoms), dtype=bool)
    if is_point.any():  # the counties tile Jiangxi: a point is inside if it is in a county
        xy = coordinates(geoms[is_point])
        p_in, p_poly = _county_index(layers, int(is_point.sum())).query_points(xy[:, 0], xy[:, 1])
        hit = np.zeros(int(is_point.sum()), dtype=bool)
        hit[p_in] = True
        inside[is_point] = hit
        first = np.unique(p_in, return_index=True)[1]  # on a shared border: the first county
        county[np.flatnonzero(is_point)[p_in[first]]] = p_poly[first]
    if (~is_point).any():
        inside[~is_point] = shapely.intersects(geoms[~is_point], ctx.province)
    away = np.flatnonzero(~inside)
    if not away.size:
        return out, county, ~inside
    outside = geoms[away]
    xy = coordinates(outside if is_point[away].all() else shapely.point_on_surface(outside))  # a point is its own
    out[away] = _outside_texts(xy[:, 0], xy[:, 1], ctx, layers)
    return out, county, ~inside


def _outside_texts(x: np.ndarray, y: np.ndarray, ctx: _Context, layers: Layers, *, arrow: bool = False) -> Any:
    """The error text of sites at (x, y) outside Jiangxi: the province they are in, or outside
    China; or swapped coordinates, when (y, x) is in Jiangxi. ``arrow``: as Arrow strings, else
    an object array."""
    swapped = (np.abs(x) <= 90) & shapely.contains_xy(ctx.province, y, x)
    index, names = layers.cached("siting_province_index", _province_index)  # built once, when a site is outside
    p_idx, g_idx = index.query_points(x, y)
    first = np.unique(p_idx, return_index=True)[1]  # on a shared border: the first province
    where = np.full(len(x), -1)
    where[p_idx[first]] = g_idx[first]
    # one text per kind, built by Arrow (without the GIL: chunks may be checked on threads)
    site = pc.binary_join_element_wise("the site (", _fixed5(x), ", ", _fixed5(y), ") is outside Jiangxi", "")
    endings = pa.array([*(f", in {name}" for name in names), " and outside China"], pa.string())
    which = pa.array(np.where(where >= 0, where, len(names)).astype(np.int32))
    ending = pc.cast(pa.DictionaryArray.from_arrays(which, endings), pa.string())
    texts = pc.binary_join_element_wise(site, ending, "")
    swapped_rows = np.flatnonzero(swapped).tolist()  # few: a mistake, not a kind of site
    if swapped_rows:
        fixed = [
            f"longitude and latitude look swapped: ({x[k]}, {y[k]}) is outside Jiangxi but ({y[k]}, {x[k]}) is in it"
            for k in swapped_rows
        ]
        texts = pc.replace_with_mask(texts, pa.array(swapped), pa.array(fixed, pa.string()))
    return texts if arrow else texts.to_numpy(zero_copy_only=False).astype(object)


def _fixed5(values: np.ndarray) -> pa.Array:
    """Python's ``f"{x:.5f}"`` of finite floats (|x| < 4e10), vectorized and without the GIL.

    ``%.5f`` rounds the exact binary value half to even. ``x * 1e5`` is taken exactly as a
    double and its rounding error (Dekker's two-product), so the ties the product only seems
    to have (115.720785 is a little above or below its decimal) round as Python rounds them.
    """
    x = np.asarray(values, dtype=float)
    a = np.abs(x)
    product = a * 1e5
    split = 134217729.0  # 2**27 + 1: halves of 26 bits, whose products are exact
    c = split * a
    a_hi = c - (c - a)
    a_lo = a - a_hi
    c = split * 1e5
    b_hi = c - (c - 1e5)
    b_lo = 1e5 - b_hi
    error = ((a_hi * b_hi - product) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo  # product + error = a * 1e5
    k = np.rint(product)  # half to even, right unless the product is a tie it is not
    off = product - k
    k = (k + ((off == 0.5) & (error > 0)) - ((off == -0.5) & (error < 0))).astype(np.int64)
    whole = pc.cast(pa.array(k // 100_000), pa.string())
    fraction = pc.utf8_lpad(pc.cast(pa.array(k % 100_000), pa.string()), 5, "0")
    text = pc.binary_join_element_wise(whole, fraction, ".")
    return pc.if_else(pa.array(np.signbit(x)), pc.binary_join_element_wise("-", text, ""), text)


#: Cell size (degrees) of the provinces' point grid: China at 0.05 degrees is under a million cells.
_PROVINCE_GRID_DEG = 0.05


def _province_index() -> tuple[PolygonIndex, np.ndarray]:
    """The provinces of China (for sites outside Jiangxi): their point index and names.

    A grid answers most points; the rest are tested against the prepared polygons (a plain tree
    query tests each point against the whole outline, ~20 us a point).
    """
    provinces = load_layer("china_provinces")
    names = (provinces["name_en"] + " (" + provinces["name_zh"] + ")").to_numpy(dtype=object)
    return PolygonIndex.build(provinces.geometry.to_numpy(), _PROVINCE_GRID_DEG), names


def _check_frame(sites: gpd.GeoDataFrame, industries: pd.Series, buffer_m: float, layers: Layers) -> pd.DataFrame:
    """The vectorized check of a batch (WGS84 geometries, errors in ``_input_error``) as a frame."""
    part = _check_arrays(sites.geometry.to_numpy(), sites["_input_error"].to_numpy(), industries, buffer_m, layers)
    res = part.frame(sites.index)
    res["_checked_geometry"] = part.geoms
    return res


def _column_names(layers: Layers) -> tuple[list[str], list[str], list[str]]:
    """Names of the text, number and flag result columns, in the order of the result frame."""
    text, num, flag = list(_TEXT_COLUMNS), [*_FLOAT_COLUMNS, *_COUNT_COLUMNS], list(_BOOL_COLUMNS)
    for screen in layers.screening:  # one group of columns per screening layer
        cols = screening_columns(screen.name)
        flag += [cols["overlap"], cols["within_buffer"]]
        num += [cols["overlap_km2"], cols["overlap_km"], cols["share"], cols["nearest_m"]]
        text.append(cols["zones"])
    return text, num, flag


#: A block of a frame: a 2-D numpy array (one row per column) or an extension array, and its column names.
_Block = tuple[Any, list[str]]


@dataclass
class _Checked:
    """Result columns of a batch as arrays: text (object), numbers (float), flags (float, NaN unknown).

    The text columns are the rows of one 2-D object array and the float columns the rows of
    one 2-D float array: the blocks pandas keeps them in, so that the frame wraps them
    without copying. :meth:`rows` gives views on a range of sites for a chunk to fill in place.
    """

    text: dict[str, np.ndarray]
    num: dict[str, np.ndarray]
    flag: dict[str, np.ndarray]
    geoms: np.ndarray
    text2d: np.ndarray
    float2d: np.ndarray  # the num columns that are not counts, in the order of ``num``

    @classmethod
    def empty(cls, n: int, layers: Layers, *, blank: bool = True) -> _Checked:
        """Unchecked results for ``n`` sites (text ``""``, numbers and flags NaN, no geometry).

        ``blank=False``: the arrays only, not filled yet; each chunk of the batch fills its own
        rows (:meth:`blank`), on its thread, before it writes into them.
        """
        text_names, num_names, flag_names = _column_names(layers)
        floats = [c for c in num_names if c not in _COUNT_COLUMNS]
        text2d = np.empty((len(text_names), n), dtype=object)
        # the warnings first: the block of the other texts is then one slice (see blocks)
        rows = ["warnings", *[c for c in text_names if c != "warnings"]]
        by_row = dict(zip(rows, text2d, strict=True))
        float2d = np.empty((len(floats), n))
        num = dict(zip(floats, float2d, strict=True))
        num |= {c: np.empty(n) for c in num_names if c in _COUNT_COLUMNS}
        checked = cls(
            {c: by_row[c] for c in text_names},
            {c: num[c] for c in num_names},
            {c: np.empty(n) for c in flag_names},
            np.empty(n, dtype=object),
            text2d,
            float2d,
        )
        if blank:
            checked.blank()
        return checked

    def blank(self) -> None:
        """Set every text to ``""`` and every number and flag to NaN (the geometries are set by the check)."""
        self.text2d.fill("")  # the object array's fill: several times faster than np.full(..., "")
        for columns in (self.num, self.flag):
            for column in columns.values():
                column.fill(np.nan)

    def rows(self, start: int, stop: int) -> _Checked:
        """Views on the sites ``start:stop`` (writing into them writes into these results)."""

        def cut(columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
            return {c: v[start:stop] for c, v in columns.items()}

        return _Checked(
            cut(self.text),
            cut(self.num),
            cut(self.flag),
            self.geoms[start:stop],
            self.text2d[:, start:stop],
            self.float2d[:, start:stop],
        )

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, layers: Layers, geoms: np.ndarray) -> _Checked:
        """The arrays of a result frame made by :meth:`frame` (the dask engine's); ``geoms`` if it has none."""
        out = cls.empty(len(frame), layers)
        for c, v in out.text.items():
            v[:] = frame[c].to_numpy(dtype=object)
        for c, v in [*out.num.items(), *out.flag.items()]:
            v[:] = frame[c].to_numpy(dtype=float, na_value=np.nan)
        out.geoms[:] = frame["_checked_geometry"].to_numpy() if "_checked_geometry" in frame else geoms
        return out

    def blocks(self, str_warnings: bool = False) -> list[_Block]:
        """The columns as blocks: text as object, floats, counts as ``Int64``, flags as ``boolean``.

        ``str_warnings``: the warnings with the dtype setting them on a frame gives (``str``).
        """
        text = ["warnings", *[c for c in self.text if c != "warnings"]]
        floats = [c for c in self.num if c not in _COUNT_COLUMNS]
        out: list[_Block] = [(_rows_of(self.float2d, self.num, floats), floats)]
        if str_warnings:
            out.append((_inferred(self.text["warnings"]), ["warnings"]))
            out.append((_rows_of(self.text2d[1:], self.text, text[1:]), text[1:]))
        else:
            out.append((_rows_of(self.text2d, self.text, text), text))
        for c in _COUNT_COLUMNS:
            v = self.num[c]
            nan = np.isnan(v)
            out.append((pd.arrays.IntegerArray(np.where(nan, 0, v).astype(np.int64), nan), [c]))
        out += [(_boolean(v), [c]) for c, v in self.flag.items()]
        return out

    def names(self) -> list[str]:
        """The column names in the order of the frame."""
        return [*self.text, *self.num, *self.flag]

    def frame(self, index: pd.Index) -> pd.DataFrame:
        """One frame: text as object (no str inference), counts as Int64, flags as boolean."""
        return _frame_of(self.blocks(), self.names(), index)


def _inferred(values: np.ndarray) -> Any:
    """An object column as setting it on a frame stores it: ``str`` if it holds text, else itself (as a block)."""
    texts = str_array(values)  # all texts: converted per distinct object, not per row
    if texts is not None:
        return texts
    array = pd.Series(values, copy=False).array
    return values.reshape(1, -1) if isinstance(array, pd.arrays.NumpyExtensionArray) else array


def _rows_of(block: np.ndarray, columns: dict[str, np.ndarray], names: list[str]) -> np.ndarray:
    """``block`` when its rows are still the arrays ``columns[names]``, else those stacked."""
    arrays = [columns[c] for c in names]
    same = len(block) == len(arrays) and all(
        a.__array_interface__ == row.__array_interface__ for a, row in zip(arrays, block, strict=True)
    )
    return block if same else np.vstack(arrays) if arrays else block[:0]


def _boolean(values: np.ndarray) -> pd.arrays.BooleanArray:
    """Flags as 0/1 floats (NaN unknown) to a nullable boolean array."""
    nan = np.isnan(values)
    return pd.arrays.BooleanArray(np.where(nan, False, values == 1), nan)


def _frame_of(blocks: list[_Block], names: list[str], index: pd.Index) -> pd.DataFrame:
    """A frame of the columns ``names`` from blocks holding them, taken as they are (no copy).

    pandas' constructor would copy every numpy column into consolidated blocks; here a 2-D
    block is one pandas block already. ``names`` must be unique.
    """
    at = {c: i for i, c in enumerate(names)}
    placed = [(values, np.array([at[c] for c in cols], dtype=np.intp)) for values, cols in blocks if cols]
    return create_dataframe_from_blocks(placed, index=index, columns=pd.Index(names))


def _check_arrays(
    geoms: np.ndarray,
    input_errors: np.ndarray,
    industries: pd.Series,
    buffer_m: float,
    layers: Layers,
    into: _Checked | None = None,
) -> _Checked:
    """The vectorized check of a batch: every result column as an array, and the checked geometries.

    ``into``: unchecked results of the batch's length to fill in place (views on a larger
    batch's, see :meth:`_Checked.rows`); default: new ones.
    """
    ctx = _context(layers)
    n = len(geoms)
    if into is None:
        out = _Checked.empty(n, layers)
    else:
        out = into
        out.blank()
    text, num, flag = out.text, out.num, out.flag
    errors = np.asarray(input_errors, dtype=object).copy()
    failed = errors != ""  # kept up to date with errors (one comparison of the texts, not one per step)
    warns = text["warnings"]
    out.geoms[:] = geoms
    geoms = out.geoms

    # geometry repair: self-intersecting polygons are repaired with make_valid (and said so)
    present = ~shapely.is_missing(geoms) & ~failed
    invalid = present & ~shapely.is_valid(geoms)
    for i in np.flatnonzero(invalid):
        reason = shapely.is_valid_reason(geoms[i])
        geoms[i] = shapely.make_valid(geoms[i])
        warns[i] = f"invalid geometry ({reason}) repaired with make_valid"
    keys, industry_errors, unknown_industry = _industry_keys(industries)
    where_present = np.flatnonzero(present)
    out_errors, county_present, outside = _locate_outside(geoms[where_present], ctx, layers)
    point_county = np.full(n, -1, dtype=np.int64)
    point_county[where_present] = county_present
    errors[where_present[outside]] = out_errors[outside]
    failed[where_present[outside]] = True
    unknown_industry &= ~failed
    errors[unknown_industry] = industry_errors[unknown_industry]
    failed |= unknown_industry
    ok = ~shapely.is_missing(geoms) & ~failed
    _clip_to_jiangxi(geoms, ok, warns, ctx)
    text["error"][:] = errors
    text["industry_key"][ok] = keys[ok]
    text["data_notice"][:] = "; ".join(_notices(layers))
    pos = np.flatnonzero(ok)
    if pos.size:
        _fill(pos, geoms, keys, text, num, flag, ctx, layers, point_county[pos])
    return out


def _clip_to_jiangxi(geoms: np.ndarray, ok: np.ndarray, warns: np.ndarray, ctx: _Context) -> None:
    """Lines, polygons and multi-points partly outside Jiangxi: check the part inside, and say so."""
    cand = np.flatnonzero(ok & (shapely.get_type_id(geoms) != shapely.GeometryType.POINT))
    if not cand.size:
        return
    partly = cand[~shapely.within(geoms[cand], ctx.province)]
    for i in partly:  # few: only sites that cross the provincial border
        whole = geoms[i]
        inside = shapely.intersection(whole, ctx.province)
        if shapely.get_dimensions(whole) == 2:
            measure = shapely.area
        elif shapely.get_dimensions(whole) == 1:
            measure = shapely.length
        else:
            measure = shapely.get_num_geometries
        metric = to_albers(np.array([whole, inside], dtype=object))
        share_out = 1 - float(measure(metric[1])) / float(measure(metric[0]) or 1)
        geoms[i] = inside
        note = f"{share_out:.0%} of the site lies outside Jiangxi and was left out of the check"
        warns[i] = f"{warns[i]}; {note}" if warns[i] else note


def _fill(
    pos: np.ndarray,
    geoms: np.ndarray,
    keys: np.ndarray,
    text: dict[str, np.ndarray],
    num: dict[str, np.ndarray],
    flag: dict[str, np.ndarray],
    ctx: _Context,
    layers: Layers,
    point_county: np.ndarray,
) -> None:
    """Compute every result column for the checkable sites at positions ``pos``.

    ``point_county``: the county of each point site found while locating the sites (-1 else).
    """
    g = _geoseries(geoms[pos], pd.RangeIndex(len(pos)), WGS84)
    m = len(pos)
    xy_m = _metric_xy(g)  # projected once: representative points of the sites

    # admin: the county holding most of the site
    c = _largest_overlap(g, ctx.counties, layers, point_county)
    text["province"][pos] = "江西省 Jiangxi"
    text["county_adcode"][pos] = ctx.county_table["adcode"][c]
    text["county_name"][pos] = ctx.county_table["name"][c]
    text["city_adcode"][pos] = ctx.county_table["city_adcode"][c]
    text["city_name"][pos] = ctx.county_table["city_name"][c]

    # units: (site, unit) pairs as arrays, the largest share first per site
    ut = _unit_arrays(layers)
    hit_site, hit_code, hit_name, hit_cat, hit_unit = _unit_hits(g, layers, ut)
    touched = np.bincount(hit_site, minlength=m)
    first_hit = np.unique(hit_site, return_index=True)[1]
    primary_site = hit_site[first_hit]
    unit_code = _blank(m)
    unit_code[primary_site] = hit_code[first_hit]  # texts already ("" for a missing code)
    text["unit_code"][pos] = unit_code
    unit_name = _blank(m)
    unit_name[primary_site] = hit_name[first_hit]
    text["unit_name"][pos] = unit_name
    unit_cat = np.full(m, np.nan)
    unit_cat[primary_site] = hit_cat[first_hit]
    num["unit_category"][pos] = unit_cat
    num["units_touched"][pos] = touched

    # red lines
    red = _overlap_columns(g.to_numpy(), 0.0, layers, MAX_SEARCH_M)  # the sites' coordinates are checked on input
    overlaps = red["overlaps"]
    flag["redline_overlap"][pos] = overlaps
    num["redline_overlap_km2"][pos] = red["overlap_km2"]
    num["redline_overlap_km"][pos] = red["overlap_km"]
    num["redline_share"][pos] = red["share"]
    num["redline_nearest_m"][pos] = red["nearest_m"]
    text["redline_zones"][pos] = red["zone_names"]

    # rivers: the nearest reach of the whole geometry (points: the exact fast snap)
    snapped = _snap_sites(xy_m, ctx, layers)
    _snap_whole_geometries(g.to_numpy(), snapped, ctx)
    reach = snapped["reach_id"].to_numpy()
    has = ~np.isnan(reach)
    r = np.where(has, ctx.reach_pos[np.where(has, reach, 0).astype(np.int64)], -1)  # row in reach_table
    rt = {k: _take(v, r) for k, v in ctx.reach_table.items()}
    num["river_reach_id"][pos] = reach
    text["river_name"][pos] = rt["name"]
    num["river_distance_m"][pos] = snapped["distance_m"].to_numpy()
    fraction = snapped["fraction"].to_numpy()
    rest = (1 - fraction) * rt["length_km"]
    num["dist_to_poyang_km"][pos] = rest + rt["dist_to_poyang_km"]
    num["dist_to_hukou_km"][pos] = rest + rt["dist_to_outlet_km"]
    down = rt["stations_down"]  # a new array (_take)
    _stations_on_reach(down, reach, fraction, ctx.stations_on_reach)
    text["stations_downstream"][pos] = down

    # the shoreline rule: distances to banks, with the data's positional uncertainty
    pairs = _bank_distances(g, xy_m, ctx, layers)
    shore = _shoreline_columns(pairs, ctx, m)
    text["shoreline_1km"][pos] = shore["shoreline_1km"]
    num["shoreline_distance_m"][pos] = shore["shoreline_distance_m"]
    text["shoreline_body"][pos] = shore["shoreline_body"]
    num["positional_uncertainty_m"][pos] = shore["uncertainty"]

    # basin: the one basin function (catchments), for the site itself
    basin = _basin_texts(g)
    text["basin"][pos] = basin
    touched_basins = basin.copy()
    extended = shapely.get_type_id(g.to_numpy()) != shapely.GeometryType.POINT
    if extended.any():  # lines and polygons: every basin they touch (points: their own)
        every = basin_of(g[extended], all_basins=True)
        touched_basins[extended] = [";".join(t) for t in every]
    text["basins_touched"][pos] = touched_basins
    basin_code, basin_names = pd.factorize(basin)  # hashing: per distinct basin, not per site
    tp_basin = np.isin(np.asarray(basin_names, dtype=object), list(POYANG_BASINS))[basin_code]
    key_code, key_names = pd.factorize(keys[pos])
    discharges = ctx.industries["discharges_tp"].reindex(key_names).fillna(False).to_numpy(dtype=bool)[key_code]
    flag["tp_exceeding_basin"][pos] = tp_basin
    flag["tp_offset_required"][pos] = tp_basin & discharges
    num["lake_tp_inflow_via_reach_pct"][pos] = rt["tp_share"]

    # verdict: each (site, unit) pair takes its combination's verdict under the site's term mask
    site_of = hit_site
    touched_urban = np.zeros(m, dtype=bool)
    touched_park = np.zeros(m, dtype=bool)
    urban = ut.urban[hit_unit]
    park = ut.park[hit_unit]
    touched_urban[site_of[urban]] = True
    touched_park[site_of[park]] = True
    district = ctx.county_table["is_district"][c]
    flags = {
        "in_redline": overlaps.astype(bool),
        "tp_exceeding_basin": tp_basin,
        "in_central_urban_area": touched_urban & district,
        "outside_industrial_park": ~touched_park,
    }
    flags |= _screening(g, layers, text, num, flag, pos)
    bits = _term_bits(layers)
    basins = (basin_code, np.asarray(basin_names, dtype=object))
    term_mask = _term_states(bits, n=m, pairs=pairs, ctx=ctx, flags=flags, basins=basins)
    text["conditions"][pos] = _describe_terms(term_mask, bits)
    rules = layers.access_rules()
    # the rules' combination of each pair: (city, category, unit override, industry), found per
    # distinct (unit, industry) pair rather than per site
    ind_code, ind_uniq = pd.factorize(keys[pos][site_of])
    unit_combo, unit_triples = layers.cached("siting_unit_combos", lambda: _unit_combos(ut))
    span = len(ind_uniq) + 1
    combo_id, combo_keys = pd.factorize(unit_combo[hit_unit] * span + ind_code)  # hashing, no sort
    combos = [(*unit_triples[k // span], ind_uniq[k % span]) for k in combo_keys.tolist()]
    pair_mask = term_mask[site_of]
    # only the terms a combination's rules use matter to it: the table stays small
    width = 2 * len(bits) + 1  # masks use 2 bits per term
    uniq_id, uniq = pd.factorize((combo_id.astype(np.int64) << width) | pair_mask)  # hashing, no sort
    sev_u = np.zeros(len(uniq), dtype=int)
    why_u = np.full(len(uniq), "", dtype=object)
    for k, packed in enumerate(uniq):
        cid, mask = int(packed) >> width, int(packed) & ((1 << width) - 1)
        sev_u[k], why_u[k] = _memo_verdict(layers, rules, combos[cid], mask, bits)
    pair_sev = sev_u[uniq_id]
    pair_why = why_u[uniq_id]
    site_sev = np.zeros(m, dtype=int)
    np.maximum.at(site_sev, site_of, pair_sev)
    reasons = _blank(m)
    single = touched[site_of] == 1
    reasons[site_of[single]] = pair_why[single]
    for i, whys in _groups(site_of[~single], pair_why[~single]):  # sites touching several units: union of reasons
        ids = [r for w in whys for r in w.split(";") if r]
        reasons[i] = ";".join(dict.fromkeys(ids))
    verdict = np.array([VERDICT_TABLE[s_] for s_ in range(4)], dtype=object)[site_sev]
    no_unit = touched == 0  # inside Jiangxi but in no unit of the (official) layer in use
    verdict[no_unit] = "conditional"
    reasons[no_unit] = "layer:control_units (the site is in no control unit of the layer in use)"
    text["verdict"][pos] = verdict
    text["reasons"][pos] = reasons
    text["reason_texts"][pos] = _reason_texts(reasons, rules)


def _groups(keys: np.ndarray, values: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
    """Each distinct key (ascending) with its values, in their order (a stable sort, not a scan per key)."""
    if not len(keys):
        return
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
    ends = np.r_[starts[1:], len(keys)]
    for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
        yield sorted_keys[a].item(), values[order[a:b]]


def _stations_on_reach(
    down: np.ndarray, reach: np.ndarray, fraction: np.ndarray, on_reach: dict[int, list[tuple[float, str]]]
) -> None:
    """Prepend to ``down`` the stations on a site's own reach below it (``fraction`` along the reach).

    ``down``: the stations below each site's reach (the same for the sites of a reach).

    The stations below a site depend only on where its fraction falls among the stations' own:
    one text per reach and interval, not per site.
    """
    on = np.flatnonzero(np.isin(reach, list(on_reach)))
    for rid, sites in _groups(reach[on].astype(np.int64), on):
        stations = on_reach[int(rid)]
        cuts = np.sort(np.array([f for f, _ in stations], dtype=float))
        interval = np.searchsorted(cuts, fraction[sites], side="right")
        _, first, inverse = np.unique(interval, return_index=True, return_inverse=True)
        texts = []
        for k in sites[first].tolist():  # one site per interval: the others get the same text
            below = [name for f, name in stations if f > fraction[k]]
            texts.append("; ".join([*below, *([down[k]] if down[k] else [])]))
        down[sites] = np.asarray(texts, dtype=object)[inverse.reshape(-1)]


def screening_columns(name: str) -> dict[str, str]:
    """Names of the batch columns of one screening layer (``screening_<name>_overlap`` ...)."""
    keys = ("overlap", "overlap_km2", "overlap_km", "share", "nearest_m", "within_buffer", "zones")
    return {k: f"screening_{name}_{k}" for k in keys}


def _screening(
    g: gpd.GeoSeries,
    layers: Layers,
    text: dict[str, np.ndarray],
    num: dict[str, np.ndarray],
    flag: dict[str, np.ndarray],
    pos: np.ndarray,
) -> dict[str, np.ndarray]:
    """Check the sites against every screening layer like the red lines; the ``in_screening`` flags."""
    flags = {}
    for screen in layers.screening:
        cols = screening_columns(screen.name)
        found = redline_overlap(g, layers=screen.as_layers(), max_search_m=max(50_000.0, screen.buffer_m * 2))
        overlaps = found["overlaps"].to_numpy(dtype=bool)
        nearest = found["nearest_m"].to_numpy(dtype=float)
        within = overlaps | (nearest <= screen.buffer_m)
        flag[cols["overlap"]][pos] = overlaps
        flag[cols["within_buffer"]][pos] = within
        num[cols["overlap_km2"]][pos] = found["overlap_km2"].to_numpy()
        num[cols["overlap_km"]][pos] = found["overlap_km"].to_numpy()
        num[cols["share"]][pos] = found["share"].to_numpy()
        num[cols["nearest_m"]][pos] = nearest
        text[cols["zones"]][pos] = found["zone_names"].to_numpy()
        flags[f"in_screening:{screen.name}"] = within
    return flags


def _unit_combos(ut: _UnitArrays) -> tuple[np.ndarray, list[tuple[Any, Any, Any]]]:
    """Per distinct unit, the code of its (city, category, unit override) as the rules see them, and those.

    The triples are the values of each code's first unit (equal values: the same combination).
    """
    codes, _ = _factorize_rows(pd.DataFrame({"city": ut.city, "category": ut.category, "unit_key": ut.unit_key}))
    first = np.unique(codes, return_index=True)[1]
    return codes, [(ut.city[u], ut.category[u], ut.unit_key[u]) for u in first.tolist()]


def _factorize_rows(frame: pd.DataFrame) -> tuple[np.ndarray, list[tuple[Any, ...]]]:
    """Codes of each row's distinct value tuple and the tuples (column codes packed in one int)."""
    packed = np.zeros(len(frame), dtype=np.int64)
    values = []
    for column in frame.columns:
        codes, uniques = pd.factorize(frame[column].to_numpy(), use_na_sentinel=False)
        packed = packed * (len(uniques) + 1) + codes
        values.append((codes, uniques))
    combo_id, _ = pd.factorize(packed)
    index = np.unique(combo_id, return_index=True)[1]
    combos = [tuple(u[c[i]] for c, u in values) for i in index]
    return combo_id.astype(np.int64), combos


def _describe_terms(mask: np.ndarray, bits: dict[str, int]) -> np.ndarray:
    """``term=met`` / ``term=uncertain`` for the terms that hold, per site (one text per distinct mask)."""
    inverse, uniq = pd.factorize(mask)  # hashing, no sort
    texts = []
    for value in uniq:
        parts = []
        for term, bit in bits.items():
            if value >> bit & 1:
                parts.append(f"{term}=met")
            elif value >> (bit + 1) & 1:
                parts.append(f"{term}=uncertain")
        texts.append("; ".join(parts))
    per_site: np.ndarray = np.asarray(texts, dtype=object)[inverse]
    return per_site


def _reason_texts(reasons: np.ndarray, rules: pd.DataFrame) -> np.ndarray:
    """Each reason id with its rule text (one text per distinct reason list)."""
    text_of = dict(zip(rules["rule_id"], rules["text_zh"], strict=False))
    inverse, uniq = pd.factorize(reasons)  # hashing: no sort of a million strings
    out = []
    for value in uniq:
        items = []
        for rid in (r for r in value.split(";") if r):
            base = rid.removesuffix("(uncertain)")
            note = " [uncertain: within the data's positional error; verify against official shoreline data]"
            items.append(f"{rid}: {text_of.get(base, '')}{note if base != rid else ''}")
        out.append(" | ".join(items))
    texts: np.ndarray = np.asarray(out, dtype=object)[inverse]
    return texts


@dataclass(frozen=True)
class _UnitArrays:
    """The units in use as arrays: per row of the layer, and per distinct unit code (the rules')."""

    code: np.ndarray  # per row of layers.units(), as text ("" for a missing value)
    name: np.ndarray
    category_num: np.ndarray
    row_unit: np.ndarray  # per row: position of its code among the distinct codes
    distinct: pd.Index  # the distinct codes, in the order of their first row
    city: np.ndarray  # per distinct code (its first row), as the rules see it
    category: np.ndarray  # "" where official text replaces the category rules
    unit_key: np.ndarray  # the code where unit-level rules override it, else ""
    urban: np.ndarray
    park: np.ndarray


def _unit_arrays(layers: Layers) -> _UnitArrays:
    """Unit attributes as arrays, built once per Layers (the verdict needs them per pair)."""

    def build() -> _UnitArrays:
        rows = layers.units()
        units = rows.drop_duplicates("unit_code").set_index("unit_code")
        rules = layers.access_rules()
        override_units = set(rules.loc[(rules["level"] == "unit") & ~rules["scope"].isin(["1", "2", "3"]), "scope"])
        codes = units.index.to_series()
        category = units["category"].to_numpy().astype(object)  # rules_in_scope drops them for official units
        flags = _unit_flags(layers).reindex(units.index).fillna(False)
        return _UnitArrays(
            code=_texts(rows["unit_code"].to_numpy(dtype=object)),
            name=_texts(rows["name_zh"].to_numpy(dtype=object)),
            category_num=rows["category"].to_numpy(dtype=float),
            row_unit=units.index.get_indexer(rows["unit_code"]).astype(np.int64),
            distinct=units.index,
            city=units["city_adcode"].fillna("").astype(str).to_numpy(dtype=object),
            category=category,
            unit_key=np.where(codes.isin(override_units).to_numpy(), codes.to_numpy(dtype=object), ""),
            urban=flags["urban"].to_numpy(dtype=bool),
            park=flags["industrial_park"].to_numpy(dtype=bool),
        )

    arrays: _UnitArrays = layers.cached("siting_unit_arrays", build)
    return arrays


def _unit_hits(
    g: gpd.GeoSeries, layers: Layers, ut: _UnitArrays
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(site, unit) pairs, per site the largest share first: site position, unit code, name,
    category and position of the unit code among the distinct codes.

    Points: one pass of the units' point index, attributes taken from arrays; lines and polygons:
    :func:`ganpo_geo.zoning.units_at` (exact overlaps).
    """

    geoms = g.to_numpy()
    is_point = shapely.get_type_id(geoms) == shapely.GeometryType.POINT
    point_pos = np.flatnonzero(is_point)
    xy = coordinates(geoms[point_pos])
    p_in, p_row = _unit_index(layers, int(point_pos.size)).query_points(xy[:, 0], xy[:, 1])
    site = point_pos[p_in]
    code, name, cat = ut.code[p_row], ut.name[p_row], ut.category_num[p_row]
    unit = ut.row_unit[p_row]
    share = np.ones(site.size)
    others = np.flatnonzero(~is_point)
    if others.size:
        hits = units_at(g.iloc[others], layers=layers)
        site = np.concatenate([site, hits["input_index"].to_numpy(dtype=np.int64)])
        code = np.concatenate([code, _texts(hits["unit_code"].to_numpy(dtype=object))])
        name = np.concatenate([name, _texts(hits["name_zh"].to_numpy(dtype=object))])
        cat = np.concatenate([cat, hits["category"].to_numpy(dtype=float)])
        unit = np.concatenate([unit, ut.distinct.get_indexer(hits["unit_code"])])
        share = np.concatenate([share, hits["share"].to_numpy(dtype=float)])
    order = np.lexsort((-share, site))  # stable: the units' order within equal shares kept
    return site[order], code[order], name[order], cat[order], unit[order].astype(np.int64)


def _unit_flags(layers: Layers) -> pd.DataFrame:
    """Per unit code: ``urban`` (an urban key unit) and ``industrial_park`` (an industrial key unit).

    From the ``element`` column when the units have one (the reference units do: ``urban``,
    ``industrial``, ``town``, ``ecological``, ``general``); otherwise from the unit name
    (official names say 城区/城镇 or 园区/开发区/工业区/产业园/高新区).
    """

    def build() -> pd.DataFrame:
        units = layers.units().drop_duplicates("unit_code").set_index("unit_code")
        name = units["name_zh"].fillna("").astype(str) if "name_zh" in units else pd.Series("", index=units.index)
        element = units["element"].fillna("").astype(str) if "element" in units else pd.Series("", index=units.index)
        key = units["category"].astype(str).isin(["2", "2.0"]) if "category" in units else True
        park_name = name.str.contains("园区|开发区|工业区|产业园|高新区|工业集中区", regex=True)
        urban_name = name.str.contains("中心城区|城区|城镇", regex=True) & ~park_name
        return pd.DataFrame(
            {
                "urban": (element == "urban") | ((element == "") & key & urban_name),
                "industrial_park": (element == "industrial") | ((element == "") & key & park_name),
            }
        )

    return layers.cached("siting_unit_flags", build)


def _snap_whole_geometries(geoms: np.ndarray, snapped: pd.DataFrame, ctx: _Context) -> None:
    """Nearest reach of lines and polygons from their whole geometry (in place in ``snapped``)."""
    others = np.flatnonzero(shapely.get_type_id(geoms) != shapely.GeometryType.POINT)
    if not others.size:
        return
    metric = to_albers(geoms[others])
    (site, reach_pos), dist = ctx.reach_tree.query_nearest(
        metric, max_distance=MAX_SNAP_M, return_distance=True, all_matches=False
    )
    ids = np.full(others.size, np.nan)
    d = np.full(others.size, np.nan)
    frac = np.full(others.size, np.nan)
    ids[site] = ctx.reaches["reach_id"].to_numpy()[reach_pos]
    d[site] = dist
    lines = ctx.reach_m[reach_pos]
    on_reach = shapely.get_point(shapely.shortest_line(metric[site], lines), 1)
    frac[site] = shapely.line_locate_point(lines, on_reach, normalized=True)
    snapped.loc[others, "reach_id"] = ids
    snapped.loc[others, "distance_m"] = d
    snapped.loc[others, "fraction"] = frac


def _county_index(layers: Layers, n_points: int) -> Any:
    """The counties' point index: with a grid for large batches, the tree alone for small ones."""
    counties = _context(layers).counties.geometry.to_numpy()
    if n_points >= GRID_MIN_POINTS or "county_grid" in layers._cache:
        return layers.cached("county_grid", lambda: PolygonIndex.build(counties))
    return layers.cached("county_tree", lambda: PolygonIndex.build(counties, None))


def _largest_overlap(
    g: gpd.GeoSeries, polys: gpd.GeoDataFrame, layers: Layers, point_county: np.ndarray | None = None
) -> np.ndarray:
    """Position in ``polys`` (the counties) of the polygon holding the largest part of each geometry.

    ``point_county``: the county of each point already found (-1 for other geometries).
    """

    geoms = g.to_numpy()
    is_point = shapely.get_type_id(geoms) == shapely.GeometryType.POINT
    index = _county_index(layers, int(is_point.sum()))
    answer = np.full(len(geoms), -1, dtype=np.int64)
    if point_county is not None:
        answer[is_point] = point_county[is_point]
    elif is_point.any():
        xy = coordinates(geoms[is_point])
        p_in, p_poly = index.query_points(xy[:, 0], xy[:, 1])
        first = np.unique(p_in, return_index=True)[1]
        answer[np.flatnonzero(is_point)[p_in[first]]] = p_poly[first]
    others = np.flatnonzero(~is_point)
    if others.size:
        o_in, o_poly = index.tree.query(geoms[others], predicate="intersects")
        metric_sites = to_albers(geoms[others])
        metric_polys = to_albers(polys.geometry.to_numpy()[np.unique(o_poly)])
        lookup = dict(zip(np.unique(o_poly), metric_polys, strict=True))
        inter = shapely.intersection(metric_sites[o_in], np.array([lookup[p] for p in o_poly], dtype=object))
        size = np.where(shapely.area(inter) > 0, shapely.area(inter), shapely.length(inter))
        order = np.lexsort((-size, o_in))
        first = np.unique(o_in[order], return_index=True)[1]
        answer[others[o_in[order][first]]] = o_poly[order][first]
    return np.where(answer < 0, 0, answer)  # sites are inside Jiangxi here


@dataclass(frozen=True)
class _BankPairs:
    """(site, body) pairs and the site's signed distance to that body's bank, sorted by site, then body."""

    site: np.ndarray  # position of the site in the chunk
    body: np.ndarray  # row of the shoreline table
    distance_m: np.ndarray

    def of_bodies(self, rows: Any) -> _BankPairs:
        """The pairs of the shoreline bodies ``rows`` only."""
        keep = np.isin(self.body, np.asarray(rows, dtype=np.int64))
        return _BankPairs(self.site[keep], self.body[keep], self.distance_m[keep])


def _bank_distances(g: gpd.GeoSeries, xy: np.ndarray, ctx: _Context, layers: Layers) -> _BankPairs:
    """Signed distance (metres) from each site to the bank of each nearby shoreline body.

    Negative inside a river channel (centreline distance minus half-width); 0 inside a bank
    polygon. Only pairs within the largest threshold plus offset are returned, one per (site,
    body), with the smallest distance (numpy, not a pandas groupby: chunks run on threads,
    and pandas' per-call overhead holds the GIL).
    """
    sh = ctx.shoreline
    reach = NEAR_RIVER_M + sh.max_offset_m
    geoms = g.to_numpy()
    is_point = shapely.get_type_id(geoms) == shapely.GeometryType.POINT
    # points: a grid of the cells within reach of a shoreline line keeps only the points that
    # may be within reach (a superset; the tree below measures exactly)
    # small batches query the pieces' tree directly, unless the mask is there (the same pairs)
    if len(xy) >= GRID_MIN_POINTS or "siting_shore_near" in layers._cache:
        near = layers.cached("siting_shore_near", lambda: NearMask.build(sh.chunks.tree, ctx.province_m.bounds, reach))
        cand = np.flatnonzero(~is_point | near(xy[:, 0], xy[:, 1]))
    else:
        cand = np.arange(len(xy))
    sites: list[np.ndarray] = [np.empty(0, np.int64)]
    bodies: list[np.ndarray] = [np.empty(0, np.int64)]
    distances: list[np.ndarray] = [np.empty(0)]
    if cand.size:
        metric = shapely.points(xy[cand])
        other = ~is_point[cand]
        if other.any():  # lines and polygons: their whole geometry
            metric[other] = to_albers(geoms[cand][other])
        s_idx, piece = sh.chunks.tree.query(metric, predicate="dwithin", distance=reach)
        line = sh.chunks.owner[piece]
        sites.append(cand[s_idx])
        bodies.append(sh.line_body[line])
        distances.append(shapely.distance(metric[s_idx], sh.chunks.pieces[piece]) - sh.line_half[line])
    # inside a bank polygon (the Yangtze, the lake): 0 m from its bank
    if sh.polygons.size:
        pts_in, poly = _inside_polygons(geoms, xy, is_point, sh.polygons)
        sites.append(pts_in)
        bodies.append(sh.polygon_body[poly])
        distances.append(np.zeros(len(pts_in)))
    site = np.concatenate(sites).astype(np.int64)
    body = np.concatenate(bodies).astype(np.int64)
    dist = np.concatenate(distances).astype(np.float64)
    order = np.lexsort((body, site))
    site, body, dist = site[order], body[order], dist[order]
    starts = np.flatnonzero(np.r_[True, (site[1:] != site[:-1]) | (body[1:] != body[:-1])]) if site.size else site
    nearest = np.fmin.reduceat(dist, starts) if site.size else dist  # fmin: NaN only when all are NaN
    return _BankPairs(site[starts], body[starts], nearest)


def _inside_polygons(
    geoms: np.ndarray, xy: np.ndarray, is_point: np.ndarray, polygons: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(site, polygon) pairs where a site lies in or overlaps a (prepared, metric) bank polygon."""
    sites, polys = [], []
    others = np.flatnonzero(~is_point)
    metric_others = to_albers(geoms[others]) if others.size else np.empty(0, dtype=object)
    for k, polygon in enumerate(polygons):
        west, south, east, north = polygon.bounds
        box = (xy[:, 0] >= west) & (xy[:, 0] <= east) & (xy[:, 1] >= south) & (xy[:, 1] <= north) & is_point
        cand = np.flatnonzero(box)
        hit = cand[shapely.contains_xy(polygon, xy[cand, 0], xy[cand, 1])]
        if others.size:
            # the sites first: GEOS prepared geometries are not thread-safe against lines and
            # polygons (libgeos/geos#825), and chunks may be checked on several threads
            hit = np.concatenate([hit, others[shapely.intersects(metric_others, polygon)]])
        sites.append(hit)
        polys.append(np.full(hit.size, k))
    return np.concatenate(sites), np.concatenate(polys)


def _within(pairs: _BankPairs, shore: _Shoreline, n: int, threshold_m: float) -> tuple[np.ndarray, np.ndarray]:
    """(met, uncertain) per site: a body's bank within ``threshold_m`` for sure, or within the
    body's positional uncertainty of it."""
    unc = shore.body_uncertainty_m[pairs.body]
    d = pairs.distance_m
    site = pairs.site
    met = np.zeros(n, dtype=bool)
    maybe = np.zeros(n, dtype=bool)
    met[site[d + unc <= threshold_m]] = True
    maybe[site[d - unc <= threshold_m]] = True
    return met, maybe & ~met


def _term_states(
    terms: dict[str, int],
    *,
    n: int,
    pairs: _BankPairs,
    ctx: _Context,
    flags: dict[str, np.ndarray],
    basins: tuple[np.ndarray, np.ndarray],
) -> np.ndarray:
    """The condition-term mask of each site (see :func:`condition_state`).

    ``basins``: each site's basin as a code into the distinct basin names (codes, names).
    """
    shore = ctx.shoreline
    mask = np.zeros(n, dtype=np.int64)
    basin_code, basin_names = basins
    for term, bit in terms.items():
        name, _, arg = term.partition(":")
        unsure = np.zeros(n, dtype=bool)
        if term == "shoreline_1km":
            met, unsure = _within(pairs.of_bodies(shore.rows_where(rule="shoreline_1km")), shore, n, NEAR_RIVER_M)
        elif name == "near_water":
            key, _, metres = arg.partition(":")
            met, unsure = _within(pairs.of_bodies(shore.rows_where(key=key)), shore, n, float(metres))
        elif name == "in_basin":
            met = np.isin(basin_code, np.flatnonzero(basin_names == arg))
        elif term in flags:
            met = flags[term]
        else:  # a term the check cannot evaluate is never silently "not met"
            met, unsure = np.zeros(n, dtype=bool), np.ones(n, dtype=bool)
        mask |= met.astype(np.int64) << bit
        mask |= unsure.astype(np.int64) << (bit + 1)
    return mask


def _shoreline_columns(pairs: _BankPairs, ctx: _Context, n: int) -> dict[str, np.ndarray]:
    """Nearest protected bank of each site (``shoreline_1km`` bodies) and the 1 km answer."""
    shore = ctx.shoreline
    mine = pairs.of_bodies(shore.rows_where(rule="shoreline_1km"))
    order = np.lexsort((mine.distance_m, mine.site))  # stable: on a tie, the body listed first
    first = order[np.unique(mine.site[order], return_index=True)[1]]  # each site's nearest
    site, body = mine.site[first], mine.body[first]
    dist = np.full(n, np.nan)
    dist[site] = np.maximum(mine.distance_m[first], 0.0)
    name = _blank(n)
    name[site] = shore.body_name[body]
    unc = np.full(n, np.nan)
    unc[site] = shore.body_uncertainty_m[body]
    met, unsure = _within(mine, shore, n, NEAR_RIVER_M)
    answer = np.array(["outside", "uncertain", "inside"], dtype=object)[np.where(met, 2, unsure.astype(np.int64))]
    # the uncertainty that decided an uncertain answer (not always the nearest body's)
    return {"shoreline_1km": answer, "shoreline_distance_m": dist, "shoreline_body": name, "uncertainty": unc}


def _notices(layers: Layers) -> list[str]:
    notes = [
        f"{name}: reference data synthesized for demonstration, not official" for name in layers.reference_layers()
    ]
    official = [
        n for n, flag in (("control_units", layers.control_units), ("redlines", layers.redlines)) if flag is not None
    ]
    official += ["access_list"] if layers.access_list is not None else []
    official += [f"screening:{s.name}" for s in layers.screening]
    for name in official:
        path = layers.sources.get(name, {}).get("path") or next(
            (s.path for s in layers.screening if f"screening:{s.name}" == name), ""
        )
        notes.append(f"{name}: official (user-supplied{': ' + path if path else ''})")
    notes.append("TP loads: illustrative, synthesized for demonstration")
    return notes


# --------------------------------------------------------------------------- public API


def check_sites(
    sites: gpd.GeoDataFrame | pd.DataFrame | str | Path,
    *,
    industry: str | None = None,
    industry_col: str = "industry",
    crs: Any = None,
    buffer_m: float = 1000.0,
    layers: Layers | None = None,
    engine: str = "default",
    workers: int | None = None,
    progress: bool | None = None,
    chunk_size: int = 100_000,
    scheduler: str | None = None,
) -> gpd.GeoDataFrame:
    """Check many sites at once (vectorized); one output row per input row, same order.

    Every input column comes back unchanged. A result column whose name the input already
    uses (``error``, ``verdict`` ... e.g. when re-checking ganpo's own output) is written as
    ``ganpo_<name>`` instead, with a warning; ``attrs["ganpo_columns"]`` maps each standard
    result name to the column that holds it.

    Parameters
    ----------
    sites : GeoDataFrame, DataFrame (lon/lat or wkt columns) or path
        The sites (see :func:`read_sites` for files).
    industry : str, optional
        The industry of every site; else the per-row column ``industry_col``.
    industry_col : str
        Column with each row's industry (Chinese or English names accepted); left at its
        default, ``行业``, ``行业类别`` and ``项目类型`` are recognised too.
    crs : optional
        CRS of the coordinates (``wgs84``, ``cgcs2000``, ``gcj02``, ``bd09``, EPSG ...).
    buffer_m : float
        Screening buffer (metres, finite, > 0): ``redline`` zones within it are flagged.
    layers : Layers, optional
        The user's official layers; default: bundled reference layers.
    engine : {"default", "dask"}
        ``"dask"`` runs the same check partitioned with dask-geopandas (``[dask]`` extra).
    workers : int, optional
        >= 1. The default engine: threads checking chunks at once (default: one per usable
        core; ``1`` checks them one after the other, with the same results). Dask: its workers
        (threads, or processes with ``scheduler="processes"``).
    progress : bool, optional
        A progress bar for batches over 10,000 sites; default: only when stderr is a terminal.
    chunk_size : int
        Sites per vectorized chunk (>= 1).
    scheduler : str, optional
        ``engine="dask"`` only: ``"threads"`` (default, this process), ``"processes"`` (a local
        ``dask.distributed`` cluster of ``workers`` processes) or the address of a running
        ``dask.distributed`` scheduler (``tcp://HOST:PORT``). Each worker loads the bundled
        layers' indexes once (from the on-disk cache when it has one); user layers are sent to
        every worker once.

    Returns
    -------
    geopandas.GeoDataFrame
        The input's columns unchanged, then ``error`` (empty when the row was checked),
        ``warnings``, ``verdict``, ``reasons`` and the flat result columns (listed in docs/guide/siting.md).
        Geometry: for a table input, the checked WGS84 geometry; for a geometry input, the
        input's own geometry as given (its CRS kept), with the checked WGS84 geometry as WKT in
        ``checked_wkt`` when it differs (another CRS, a repair, parts outside Jiangxi left out).

    Raises
    ------
    ValidationError
        Bad options (non-positive or infinite buffer, unknown engine, missing industry column).

    Examples
    --------
    One row per input row, in the same order; a row that cannot be checked says why:

    >>> import pandas as pd
    >>> sites = pd.DataFrame({"lon": [115.89, 200.0], "lat": [28.68, 28.0], "industry": ["化工", "化工"]})
    >>> checked = check_sites(sites, progress=False)
    >>> checked["verdict"].tolist()
    ['prohibited', '']
    >>> checked.loc[1, "error"]
    'longitude 200.0 is outside [-180, 180]'
    """
    out, _ = _check_sites(
        sites,
        industry=industry,
        industry_col=industry_col,
        crs=crs,
        buffer_m=float(check_number(buffer_m, "buffer_m") or 0.0),  # never None: allow_none is off
        layers=layers,
        engine=engine,
        workers=check_count(workers, "workers", allow_none=True),
        progress=progress,
        chunk_size=int(check_count(chunk_size, "chunk_size") or 1),  # never None: allow_none is off
        scheduler=scheduler,
    )
    return out


def _industry_column(frame: pd.DataFrame, industry_col: str) -> str | None:
    if industry_col in frame.columns:
        return industry_col
    if industry_col == "industry":
        return _find_column([str(c) for c in frame.columns], _INDUSTRY_NAMES)
    return None


def _check_sites(
    sites: gpd.GeoDataFrame | pd.DataFrame | str | Path,
    *,
    industry: str | None,
    industry_col: str,
    crs: Any,
    buffer_m: float,
    layers: Layers | None,
    engine: str,
    workers: int | None,
    progress: bool | None,
    chunk_size: int,
    scheduler: str | None = None,
) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """check_sites, also returning the checked WGS84 geometries (for the one-site report)."""
    layers = layers or bundled_layers()
    if isinstance(sites, str | Path):
        frame = read_sites(sites, crs=crs)
    elif isinstance(sites, gpd.GeoDataFrame):
        frame = _sites_from_geometries(sites, crs)
    elif isinstance(sites, pd.DataFrame):
        frame = sites_from_table(sites, crs=crs)
    else:
        msg = f"sites must be a GeoDataFrame, a DataFrame or a path, got {type(sites).__name__}"
        raise ValidationError(msg)
    internal = {frame.geometry.name, _ERR, _ORIG}
    input_cols = [c for c in frame.columns if c not in internal]
    ind_col = _industry_column(frame, industry_col)
    if industry is None and ind_col is None:
        found = ", ".join(str(c) for c in input_cols)
        wanted = "/".join(_INDUSTRY_NAMES) if industry_col == "industry" else repr(industry_col)
        msg = f"no industry given: pass industry= (--industry) or a column {wanted} (columns found: {found})"
        raise ColumnMappingError(msg)
    industries = (
        # one category: no million copies of the name to convert to text and back
        pd.Series(pd.Categorical.from_codes(np.zeros(len(frame), dtype=np.int8), [str(industry)]), index=frame.index)
        if industry is not None
        else frame[ind_col].fillna("").astype(str)
    )
    if engine not in ("default", "dask"):
        msg = f"unknown engine {engine!r}: use default or dask"
        raise ValidationError(msg)
    check_scheduler(scheduler, engine)
    if len(frame) >= DISK_CACHE_MIN_SITES:
        _restore_indexes(layers)
    ctx = _context(layers)
    # only the geometry and the row errors go to the check (the user's columns stay here)
    geoms = frame.geometry.to_numpy().copy()
    errors = frame[_ERR].to_numpy()
    part_warnings = _clip_outside_parts(geoms, errors, ctx.province)
    if engine == "dask":
        core = gpd.GeoDataFrame(
            {"_input_error": errors}, geometry=gpd.GeoSeries(geoms, index=frame.index, crs=WGS84), crs=WGS84
        )
        result = _check_dask(core, industries, buffer_m, layers, workers, scheduler)
        whole = _Checked.from_frame(result, layers, geoms)
    else:
        # the chunks write their results into the batch's arrays (no concatenation)
        whole = _Checked.empty(len(frame), layers, blank=False)  # each chunk blanks its own rows
        show = (sys.stderr.isatty() if progress is None else progress) and len(frame) > 10_000
        threads = check_threads(workers)
        bounds = chunk_bounds(len(frame), chunk_size)
        jobs = [(geoms[a:b], errors[a:b], industries.iloc[a:b], buffer_m, layers, whole.rows(a, b)) for a, b in bounds]
        bar = None
        if show:
            from tqdm import tqdm

            bar = tqdm(total=len(jobs), unit="chunk", desc=f"checking {len(frame):,} sites")
        # the first chunk alone, in this thread, while it may have indexes to build; once they
        # are there (an earlier large batch, the disk cache) all chunks start together
        for _ in in_threads(_check_arrays, jobs, threads, first_alone=not _grids_ready(layers)):
            if bar is not None:
                bar.update()
        if bar is not None:
            bar.close()
        _store_indexes(layers, len(frame))
    checked = whole.geoms
    text = whole.text
    failed = text["error"] != ""
    within = _boolean(np.where(failed, np.nan, whole.num["redline_nearest_m"] <= buffer_m))
    for extra in (part_warnings, _duplicate_unit_warnings(text["unit_code"], layers)):
        text["warnings"][:] = _add_text(text["warnings"], extra)
    blocks = [*whole.blocks(str_warnings=True), (within, ["redline_within_buffer"])]
    # the input geometry as given; the checked one in its own column where it differs
    geom_name = frame.geometry.name
    if _ORIG in frame.columns:
        given = frame[_ORIG]
        same = shapely.equals_exact(given.to_numpy(), checked, tolerance=0.0) | shapely.is_missing(checked)
        if given.crs is not None and not given.crs.equals(WGS84):
            same[:] = shapely.is_missing(checked)
        geometry = _geoseries(given.array.copy(), frame.index, given.crs)  # the output is not the input's array
    else:
        same = np.ones(len(frame), dtype=bool)
        geometry = _geoseries(checked, frame.index, WGS84)
    if not same.all():
        wkt = _blank((1, len(frame)))
        wkt[0, ~same] = shapely.to_wkt(checked[~same], rounding_precision=7)
        blocks.append((_inferred(wkt[0]), [CHECKED_WKT]))
    # result columns never overwrite input columns: clashing ones get the ganpo_ prefix
    taken = {*input_cols, geom_name}
    order = [*whole.names(), "redline_within_buffer", *([CHECKED_WKT] if not same.all() else [])]
    names: dict[str, str] = {}
    for col in order:
        name = col
        while name in taken:
            name = RESULT_PREFIX + name
        names[col] = name
    moved = {k: v for k, v in names.items() if k != v}
    if moved:
        listed = ", ".join(f"{k} -> {v}" for k, v in list(moved.items())[:6]) + (" ..." if len(moved) > 6 else "")
        msg = f"the input already has columns named like results; those results are in prefixed columns: {listed}"
        warnings.warn(msg, UserWarning, stacklevel=3)
    result = _frame_of(
        [(values, [names[c] for c in cols]) for values, cols in blocks], [names[c] for c in order], frame.index
    )
    out = pd.concat([frame[input_cols], geometry.rename(geom_name).to_frame(), result], axis=1)
    gdf = gpd.GeoDataFrame(out, geometry=geom_name, crs=geometry.crs, copy=False)  # out is ours: no copy
    gdf.attrs["ganpo_columns"] = names
    return gdf, checked


def _bundled_key(layers: Layers) -> str | None:
    """Content hash of the bundled data files (None for user layers: they are not cached)."""
    given = (layers.control_units, layers.redlines, layers.rules, layers.access_list)
    if any(g is not None for g in given) or layers.screening:
        return None
    data = Path(data_path("."))
    files = [f for f in data.rglob("*") if f.is_file() and "__pycache__" not in f.parts]
    # the code that builds what is cached is part of the key too (an edited index is rebuilt):
    # every module of the package, so that a new module or class is covered as well
    package = Path(__file__).parent
    files += [f for f in package.rglob("*.py") if f.relative_to(package).parts[0] != "data"]
    versions = f"{shapely.geos_version_string} {np.__version__} {pd.__version__} {gpd.__version__} {sys.version}"
    return _cache.content_key(files, versions)


#: Fewer sites than this do not read the on-disk index cache: hashing the data files and
#: mapping the whole-province indexes (about 140 MB) costs more than the little a few
#: sites build (the context only; no grids below GRID_MIN_POINTS). The results are the same.
DISK_CACHE_MIN_SITES = 100
_DISK = "_ganpo_disk_cache"  # per Layers: {"key": ..., "loaded": bool, "saved": {kind: sizes}}
#: Memo tables that are cheaper to rebuild (for the few entries a batch misses) than to load.
_NOT_SAVED = frozenset({"siting_combo_rules"})
_SHARED_NAMES = "__shared__"  # the entry of a cache file that holds the process-wide objects


def _cache_contents(layers: Layers) -> dict[str, dict[str, Any]]:
    """What a batch saves, by kind of file: the indexes (with the process-wide shared ones), and
    the memo tables (plain dicts) that grow as batches meet new cases."""
    # memo tables are copied (atomically, under the GIL): chunks checked on other threads may
    # still be adding entries while these are pickled
    cached = dict(layers._cache)
    objects = {k: dict(v) if type(v) is dict else v for k, v in cached.items() if k != _DISK and k not in _NOT_SAVED}
    tables = {k: v for k, v in objects.items() if type(v) is dict}
    indexes = {k: v for k, v in objects.items() if k not in tables}
    indexes[_SHARED_NAMES] = _cache.shared_objects()
    return {"indexes": indexes, "tables": tables}


def _sizes(objects: dict[str, Any]) -> dict[str, int]:
    """The names in a cache file and the entries of its tables: a file is rewritten when they grow."""
    sizes = {k: len(v) if type(v) is dict else -1 for k, v in objects.items() if k != _SHARED_NAMES}
    sizes.update({f"{_SHARED_NAMES}.{k}": -1 for k in objects.get(_SHARED_NAMES, {})})
    return sizes


def _restore_indexes(layers: Layers) -> None:
    """Load the indexes of the bundled layers from the on-disk cache, once per Layers."""
    if _DISK in layers._cache:
        return
    key = _bundled_key(layers)
    state: dict[str, Any] = {"key": key, "loaded": False, "saved": {}}
    layers._cache[_DISK] = state
    if key is None:
        return
    for kind in _cache.KINDS:
        found = _cache.load(key, kind)
        if not found:
            continue
        state["saved"][kind] = _sizes(found)
        _cache.share(found.pop(_SHARED_NAMES, {}))
        for name, value in found.items():
            layers._cache.setdefault(name, value)
        state["loaded"] = state["loaded"] or kind == "indexes"


def _indexes_ready(layers: Layers, n_sites: int) -> bool:
    """Load the disk cache of the indexes for a batch of ``n_sites`` (as :func:`check_sites` does);
    whether the grid indexes of large batches are now there.

    A batch split into chunks checks its first chunk alone, in the calling thread, while indexes
    may still have to be built; once they are there, the chunks may start together.

    Parameters
    ----------
    layers : Layers
    n_sites : int
        Rows of the batch (small batches do not read the disk cache).

    Returns
    -------
    bool
    """
    if n_sites >= DISK_CACHE_MIN_SITES:
        _restore_indexes(layers)
    return _grids_ready(layers)


def _grids_ready(layers: Layers) -> bool:
    """Whether the grid indexes of large batches are there: loaded from the disk cache, or built
    by an earlier large batch on these layers (which builds them all)."""
    state = layers._cache.get(_DISK)
    return bool(state and state["loaded"]) or "siting_reach_segments" in layers._cache


def _store_indexes(layers: Layers, n_sites: int) -> None:
    """Save what a batch built or added since the cache files were loaded or last saved.

    The indexes (large) are written by a batch large enough to build the grids, when it built
    an index the file lacks (the first batch of a key, or an index built later); the memo tables
    (small) whenever they grew, so that the next process does not fill them again.
    """
    state = layers._cache.get(_DISK)
    if state is None or state["key"] is None:
        return
    for kind, objects in _cache_contents(layers).items():
        if kind == "indexes" and n_sites < GRID_MIN_POINTS:
            continue
        sizes, before = _sizes(objects), state["saved"].get(kind, {})
        if any(size > before.get(name, -2) for name, size in sizes.items()):
            state["saved"][kind] = sizes
            _cache.save(state["key"], objects, kind)


def _duplicate_unit_warnings(unit_code: np.ndarray, layers: Layers) -> np.ndarray:
    """A warning for sites whose unit code is used by several units of the layer in use."""
    warns = _blank(len(unit_code))

    codes = _unit_table(layers).index  # cached per Layers (the rules use it too)
    dup = codes[codes.duplicated()].unique()
    if len(dup):
        hit = pd.Series(unit_code, dtype=object).isin(dup).to_numpy()
        warns[hit] = (
            "the unit code of this site is used by several units of the control-unit layer; "
            "the attributes and rules of its first unit were used (run `ganpo validate` on the layer)"
        )
    return warns


def _check_dask(
    frame: gpd.GeoDataFrame,
    industries: pd.Series,
    buffer_m: float,
    layers: Layers,
    workers: int | None,
    scheduler: str | None = None,
) -> pd.DataFrame:
    dask, dask_geopandas = import_dask()
    data = frame.assign(_industry=industries.to_numpy())
    nparts = max(1, min(len(data), (workers or 2) * 4))
    ddf = dask_geopandas.from_geopandas(data, npartitions=nparts)
    meta = _check_frame(data.iloc[:0], industries.iloc[:0], buffer_m, layers)
    scheduler = check_scheduler(scheduler)
    with client_for(scheduler, workers) as client:
        if client is None:  # threads, in this process
            result = ddf.map_partitions(_dask_partition, buffer_m, layers, meta=meta)
            with dask.config.set(scheduler="threads", num_workers=workers or 2):
                out: pd.DataFrame = result.compute()
            return out
        result = ddf.map_partitions(_dask_partition, buffer_m, _layers_for_workers(client, layers), meta=meta)
        out = client.compute(result).result()
    return out


def _layers_for_workers(client: Any, layers: Layers) -> Layers | None:
    """What to pass to the dask tasks of ``client`` for ``layers``.

    The bundled layers are not sent (``None``): each worker loads its own, indexes from its disk
    cache. User layers travel once per worker (``Client.scatter(..., broadcast=True)``).
    """
    if _bundled_key(layers) is not None:
        return None
    shipped: Layers = client.scatter(layers, broadcast=True)  # a future standing for the layers
    return shipped


def _dask_partition(part: gpd.GeoDataFrame, buffer_m: float, layers: Layers | None) -> pd.DataFrame:
    """The check of one dask partition (module level: it is sent to worker processes)."""
    layers = layers or bundled_layers()
    _restore_indexes(layers)  # once per worker process: the indexes from the disk cache
    return _check_frame(part, part["_industry"], buffer_m, layers)


def check_site(
    geometry: Any,
    *,
    industry: str,
    crs: Any = "wgs84",
    buffer_m: float = 1000.0,
    layers: Layers | None = None,
) -> SiteReport:
    """Check one site and return the full report.

    Parameters
    ----------
    geometry : shapely geometry, WKT string or (lon, lat)
        A point, a line (pipeline) or a polygon (plant footprint).
    industry : str
        Chinese or English name, key or alias (see :func:`ganpo_geo.zoning.industries`).
    crs : optional
        The coordinates' CRS.
    buffer_m : float
        Screening buffer in metres.
    layers : Layers, optional

    Returns
    -------
    SiteReport

    Raises
    ------
    ValidationError
        Anything that makes the site uncheckable (bad coordinates, outside Jiangxi, invalid
        WKT, unknown industry, unknown CRS), in one line.

    Examples
    --------
    A chemical plant in central Nanchang (bundled reference zoning):

    >>> report = check_site((115.89, 28.68), industry="化工")
    >>> report.verdict
    'prohibited'
    >>> report.admin["county_name"]
    '东湖区 Donghu District'
    >>> "C-3601-01" in [reason["source"] for reason in report.reasons]  # Nanchang's city rule
    True
    """
    layers = layers or bundled_layers()
    if isinstance(geometry, str):
        try:
            geom = shapely.from_wkt(geometry)
        except shapely.errors.GEOSException as exc:
            msg = f"invalid WKT: {str(exc).splitlines()[0]}"
            raise ValidationError(msg) from None
    elif isinstance(geometry, tuple | list) and len(geometry) == 2:
        try:
            geom = shapely.Point(float(geometry[0]), float(geometry[1]))
        except (TypeError, ValueError):
            msg = f"coordinates must be numbers, got {geometry!r}"
            raise CoordinateError(msg) from None
    else:
        geom = geometry
    if geom is None:
        msg = "the site has no geometry"
        raise ValidationError(msg)
    if not isinstance(geom, shapely.Geometry):
        msg = f"geometry must be a shapely geometry, a WKT string or (lon, lat), got {type(geom).__name__}"
        raise ValidationError(msg)
    if geom.is_empty:
        msg = "the site has no geometry (it is empty)"
        raise ValidationError(msg)
    if geom.geom_type == "GeometryCollection":
        msg = "a GeometryCollection is not a site: give a point, a line or a polygon (or Multi- of one kind)"
        raise ValidationError(msg)
    check_geometry_coords([geom], "geometry", degrees=False)  # ranges: checked with the batch's hints
    frame = gpd.GeoDataFrame({"industry": [industry]}, geometry=[geom], crs=WGS84)
    out, checked = _check_sites(
        frame,
        industry=industry,
        industry_col="industry",
        crs=crs,
        buffer_m=float(check_number(buffer_m, "buffer_m") or 0.0),  # never None: allow_none is off
        layers=layers,
        engine="default",
        workers=None,
        progress=False,
        chunk_size=1,
    )
    row = out.iloc[0].copy()
    row["geometry"] = checked[0]  # the report describes the checked WGS84 geometry
    if row["error"]:
        raise ValidationError(str(row["error"]))
    return _report(row, industry, crs, buffer_m, layers)


def _report(row: pd.Series, industry: str, crs: Any, buffer_m: float, layers: Layers) -> SiteReport:
    geom = row.geometry
    hits = units_at(gpd.GeoSeries([geom], crs=WGS84), layers=layers)
    # the site's term mask, read back from its ``conditions`` text (see _describe_terms)
    bits = _term_bits(layers)
    mask = 0
    for item in str(row["conditions"]).split("; "):
        term, _, state = item.partition("=")
        if term in bits and state in ("met", "uncertain"):
            mask |= 1 << (bits[term] + (state == "uncertain"))
    by_dim: dict[str, list[dict[str, Any]]] = {d: [] for d in DIMENSIONS}
    reasons = []
    cited = str(row["reasons"]).split(";")
    seen = set()
    for unit in hits["unit_code"].drop_duplicates():
        for rule in rules_for(unit, row["industry_key"], layers=layers).itertuples():
            if rule.rule_id in seen:
                continue
            seen.add(rule.rule_id)
            state = condition_state(rule.condition, mask, bits)
            entry = {
                "rule_id": rule.rule_id,
                "level": rule.level,
                "scope": rule.scope,
                "effect": rule.effect,
                "condition": rule.condition,
                "condition_state": state,
                "applies": state in ("", "met"),
                "text_zh": rule.text_zh,
                "text_en": rule.text_en,
                "basis": rule.basis,
                "reference": bool(rule.reference),
            }
            by_dim[rule.dimension].append(entry)
            if rule.rule_id in cited:
                reasons.append(
                    {
                        "source": rule.rule_id,
                        "effect": "manual review" if str(rule.text_en).startswith("manual review") else rule.effect,
                        "text_zh": rule.text_zh,
                        "text_en": rule.text_en,
                        "basis": rule.basis,
                    }
                )
            elif f"{rule.rule_id}(uncertain)" in cited:
                reasons.append(
                    {
                        "source": f"{rule.rule_id}(uncertain)",
                        "effect": "uncertain",
                        "text_zh": f"{rule.text_zh}（位置在数据误差范围内，请以官方岸线数据核实）",
                        "text_en": (
                            f"{rule.text_en} -- may apply: the site is within the positional uncertainty of the data "
                            f"({_num(row['positional_uncertainty_m'])} m) of the threshold; verify against official "
                            "shoreline data"
                        ),
                        "basis": rule.basis,
                    }
                )
    if row["redline_overlap"]:
        reasons.append(
            {
                "source": "layer:redlines",
                "effect": "overlap",
                "text_zh": f"压占生态保护红线：{row['redline_zones']}",
                "text_en": f"overlaps red line zone(s): {row['redline_zones']}",
                "basis": "",
            }
        )
    if str(row["reasons"]).startswith("layer:"):
        reasons.append(
            {
                "source": "layer:control_units",
                "effect": "none",
                "text_zh": "不在所用管控单元图层的任何单元内",
                "text_en": str(row["reasons"]),
                "basis": "",
            }
        )
    discharges = bool(_context(layers).industries["discharges_tp"].get(row["industry_key"], False))
    basin = row["basin"] or None
    if row["tp_exceeding_basin"]:
        status = "Poyang Lake TP above its target (Class IV, TP the failing parameter) 鄱阳湖总磷超标"
    elif basin:
        status = f"not in the Poyang Lake basin 不属鄱阳湖流域: {BASIN_LABELS.get(basin, basin)}"
    else:
        status = "basin unknown 流域未知"
    reach_name = str(row["river_name"]) if row["river_name"] else ""
    return SiteReport(
        site={
            "wkt": geom.wkt,
            "geometry_type": geom.geom_type,
            "crs": str(crs),
            "industry": industry,
            "industry_key": row["industry_key"],
            "buffer_m": buffer_m,
        },
        admin={k: row[k] for k in ("province", "city_adcode", "city_name", "county_adcode", "county_name")},
        units=[
            {"unit_code": u.unit_code, "name_zh": u.name_zh, "category": int(u.category), "share": float(u.share)}
            for u in hits.itertuples()
        ],
        rules=by_dim,
        redline={
            "overlaps": bool(row["redline_overlap"]),
            "overlap_km2": float(row["redline_overlap_km2"]),
            "overlap_km": float(row["redline_overlap_km"]),
            "share": float(row["redline_share"]),
            "nearest_m": float(row["redline_nearest_m"]),
            "zones": row["redline_zones"],
            "within_buffer": bool(row["redline_within_buffer"]),
        },
        river={
            "reach_id": None if pd.isna(row["river_reach_id"]) else int(row["river_reach_id"]),
            "name_zh": reach_name.split(" ")[0] if reach_name else "",
            "name_en": " ".join(reach_name.split(" ")[1:]) if reach_name else "",
            "distance_m": _float(row["river_distance_m"]),
            "shoreline_1km": row["shoreline_1km"],
            "shoreline_distance_m": _float(row["shoreline_distance_m"]),
            "shoreline_body": row["shoreline_body"],
            "positional_uncertainty_m": _float(row["positional_uncertainty_m"]),
            "dist_to_poyang_km": _float(row["dist_to_poyang_km"]),
            "dist_to_hukou_km": _float(row["dist_to_hukou_km"]),
            "stations_downstream": [s for s in str(row["stations_downstream"]).split("; ") if s],
        },
        phosphorus={
            "basin": basin,
            "basin_label": BASIN_LABELS.get(basin, basin) if basin else None,
            "basins_touched": [b for b in str(row["basins_touched"]).split(";") if b],
            "tp_exceeding_basin": bool(row["tp_exceeding_basin"]),
            "status": status,
            "discharges_tp": discharges,
            "offset_required": bool(row["tp_offset_required"]),
            "lake_tp_inflow_via_reach_pct": _float(row["lake_tp_inflow_via_reach_pct"]),
        },
        verdict=row["verdict"],
        reasons=reasons,
        warnings=[w for w in str(row["warnings"]).split("; ") if w],
        data_notice=str(row["data_notice"]).split("; "),
        screening=_screening_report(row, layers),
    )


def cited_rules(result: pd.DataFrame, layers: Layers | None = None) -> pd.DataFrame:
    """The rules a batch result cites in its ``reasons`` column, one row each (for a second sheet).

    Parameters
    ----------
    result : pandas.DataFrame
        Output of :func:`check_sites` (a renamed ``reasons`` column is found via
        ``attrs["ganpo_columns"]``).
    layers : Layers, optional
        The layers the check used; default the bundled reference layers.

    Returns
    -------
    pandas.DataFrame
        ``rule_id``, ``sites`` (how many rows cite it), ``level``, ``scope``, ``dimension``,
        ``effect``, ``condition``, ``text_zh`` (verbatim), ``text_en``, ``basis``, ``reference``.
    """
    layers = layers or bundled_layers()
    column = result.attrs.get("ganpo_columns", {}).get("reasons", "reasons")
    ids = result[column].fillna("").astype(str).str.split(";").explode().str.replace("(uncertain)", "", regex=False)
    counts = ids[ids.str.startswith("layer:").eq(False) & ids.ne("")].value_counts()
    rules = layers.access_rules().drop_duplicates("rule_id").set_index("rule_id")
    keep = ["level", "scope", "dimension", "effect", "condition", "text_zh", "text_en", "basis", "reference"]
    table = rules.reindex(counts.index)[keep].rename_axis("rule_id").reset_index()
    table.insert(1, "sites", counts.to_numpy())
    return table


def _screening_report(row: pd.Series, layers: Layers) -> list[dict[str, Any]]:
    """The report's ``screening`` section: one entry per screening layer in use."""
    out = []
    for screen in layers.screening:
        cols = screening_columns(screen.name)
        out.append(
            {
                "name": screen.name,
                "effect": screen.effect,
                "industries": screen.industries,
                "applies_to_industry": clause_industries_apply(screen.industries, row["industry_key"]),
                "overlaps": bool(row[cols["overlap"]]),
                "overlap_km2": _float(row[cols["overlap_km2"]]),
                "overlap_km": _float(row[cols["overlap_km"]]),
                "share": _float(row[cols["share"]]),
                "nearest_m": _float(row[cols["nearest_m"]]),
                "buffer_m": screen.buffer_m,
                "within_buffer": bool(row[cols["within_buffer"]]),
                "zones": row[cols["zones"]],
                "text_zh": screen.text_zh,
                "basis": screen.basis,
                "path": screen.path,
            }
        )
    return out


def _num(value: Any) -> str:
    out = _float(value)
    return "-" if out is None else f"{out:.0f}"


def _float(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return None if np.isnan(out) else out


def site_html(report: SiteReport, lang: str = "zh") -> str:
    """Deprecated alias of :meth:`SiteReport.to_html` (the printable report page).

    Parameters
    ----------
    report : SiteReport
    lang : {"zh", "en"}

    Returns
    -------
    str
    """
    warnings.warn("site_html is deprecated: use SiteReport.to_html(lang=...)", DeprecationWarning, stacklevel=2)
    return report.to_html(lang)
