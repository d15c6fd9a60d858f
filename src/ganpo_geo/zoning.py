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

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ganpo_geo._checks import check_geometry_coords
from ganpo_geo._errors import ValidationError
from ganpo_geo._index import GRID_MIN_POINTS, PolygonIndex, coordinates
from ganpo_geo._official import (
    COVERAGE_WARNING_SHARE,
    GAP_TOLERANCE_KM2,
    OFFICIAL_BASIS,
    OFFICIAL_CONDITION_TERMS,
    OVERLAP_TOLERANCE_KM2,
    SCREENING_CONDITION_WORDS,
    UNIT_FIELDS,
    Problem,
    ValidationReport,
    load_control_units,
    official_clauses,
    official_rules,
    read_rules,
    validate_control_units,
)
from ganpo_geo.crs import as_sites, to_albers
from ganpo_geo.layers import Layers, bundled_layers
from ganpo_geo.requirements import parse_requirements as _parse_requirements
from ganpo_geo.types import CRSLike, GeometryLike
from ganpo_geo.vocabulary import (
    CATEGORY_EN,
    CATEGORY_ZH,
    CONDITION_TERMS,
    DIMENSIONS,
    MAX_NEAR_WATER_M,
    UNIT_CODE_PATTERN,
    clause_industries_apply,
    condition_terms,
    gbt4754_sections,
    industries,
    parse_category,
    resolve_industry,
    rules_in_scope,
)

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
# Re-exported from the modules below (the vocabulary, the official-layer readers): every name that
# was importable from ganpo_geo.zoning stays importable from it.
_REEXPORTED = (
    COVERAGE_WARNING_SHARE,
    GAP_TOLERANCE_KM2,
    MAX_NEAR_WATER_M,
    OFFICIAL_BASIS,
    OFFICIAL_CONDITION_TERMS,
    OVERLAP_TOLERANCE_KM2,
    SCREENING_CONDITION_WORDS,
    UNIT_FIELDS,
    clause_industries_apply,
    official_clauses,
    official_rules,
)


# --------------------------------------------------------------------------- rules


def parse_requirements(text: str, *, dimension: str | None = None) -> pd.DataFrame:
    """Split an official requirement text into checkable clauses.

    The compiler lives in :mod:`ganpo_geo.requirements` (which builds on the rules
    vocabulary, :mod:`ganpo_geo.vocabulary`); this is its entry point next to the rules. See
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
    return _parse_requirements(text, dimension=dimension)


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
    mask = rules_in_scope(
        rules, city_adcode=unit["city_adcode"], category=unit["category"], unit_code=unit_code, industry=key
    )
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


def units_at(geometries: GeometryLike, *, crs: CRSLike | None = None, layers: Layers | None = None) -> pd.DataFrame:
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
    series = as_sites(geometries, crs)
    geoms = series.to_numpy()
    check_geometry_coords(geoms, "geometries")
    units = layers.units()
    kind = shapely.get_type_id(geoms)
    index = _unit_index(layers, int((kind == shapely.GeometryType.POINT).sum()))
    is_point = kind == shapely.GeometryType.POINT
    point_pos = np.flatnonzero(is_point)
    xy = coordinates(geoms[point_pos]) if point_pos.size else np.empty((0, 2))
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
