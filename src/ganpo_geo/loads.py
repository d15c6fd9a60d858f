"""Total phosphorus (TP): sources, SPARROW-style routing, attribution, scenarios, calibration.

Model (after SPARROW, Schwarz et al. 2006):

- Every source is assigned to a reach: point sources by snapping, diffuse sources (control
  units or counties x export coefficients, or a raster of export coefficients) by the area
  they share with each reach catchment.
- A reach's local load enters mid-reach: it reaches the reach's downstream end attenuated by
  ``exp(-k * length_km / 2)``; load entering at the top passes the whole reach,
  ``exp(-k * length_km)`` (or travel time, ``length / velocity``, when velocity is given).
- At a lake node the load is multiplied by the retention factor ``1 / (1 + k_R * Z)``.
- Where a channel splits (a diversion), the load is shared equally among the channels.
- Loads accumulate downstream in hydrologic order. Because the model is linear, the load
  at any target is the sum of each source's delivered load, ``source x mid-reach factor x
  fraction delivered from the reach's end to the target``: shares add up to 100%.

Routing and attribution run on arrays (reaches grouped by topological level, computed once
per graph and cached in it); the networkx graph stays the user-facing model.

The bundled TP inputs (``data/rivers/tp_*.csv``) are ILLUSTRATIVE, synthesized for
demonstration; they are not measured loads.
"""

from __future__ import annotations

import difflib
import math
import warnings
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely

from ganpo_geo._checks import check_count, check_number
from ganpo_geo._errors import ColumnMappingError, CoordinateError, ValidationError
from ganpo_geo._network import _arrays, _cached, _groups
from ganpo_geo.crs import JIANGXI_ALBERS, WGS84, to_albers, to_wgs84, transformer
from ganpo_geo.layers import Layers, bundled_layers, data_path, load_layer
from ganpo_geo.rivers import catchment_of, catchments, reaches_gdf, river_network, snap
from ganpo_geo.zoning import units_at

__all__ = [
    "Change",
    "RoutingParams",
    "bundled_sources",
    "calibrate",
    "delivered_loads",
    "delivery_from_reaches",
    "diffuse_sources",
    "finish_sources",
    "point_sources",
    "raster_sources",
    "route",
    "scenario",
    "station_observations",
    "target_load",
    "trace_sources",
]

TRACE_BY = ("source", "reach", "county", "unit", "basin")
#: Default ``max_snap_m`` of :func:`point_sources` (the snap radius policy: :data:`ganpo_geo.rivers.MAX_SNAP_M`).
SOURCES_MAX_SNAP_M = 10_000.0
_POINT_COLUMNS = ("source_id", "name", "lon", "lat", "tp_kg_yr", "kind")


@dataclass(frozen=True)
class RoutingParams:
    """Routing parameters (illustrative defaults, see the phosphorus guide, docs/guide/phosphorus.md).

    Attributes
    ----------
    k_per_km : float
        First-order in-stream decay rate per km (or per day when ``velocity_km_d`` is set).
    lake_k : float
        Lake retention rate k_R.
    lake_z : float
        Lake factor Z (mean depth in m for Poyang Lake, ~8.4).
    velocity_km_d : float, optional
        Flow velocity; when given decay uses travel time ``length / velocity`` (days).
    """

    k_per_km: float = 0.0008
    lake_k: float = 0.08
    lake_z: float = 8.4
    velocity_km_d: float | None = None

    def __post_init__(self) -> None:
        for name in ("k_per_km", "lake_k", "lake_z"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
                msg = f"RoutingParams.{name} must be a number >= 0, got {value!r}"
                raise ValidationError(msg)

    @property
    def lake_retention(self) -> float:
        """Fraction of the lake's inflow that leaves it, ``1 / (1 + k_R * Z)``."""
        return 1.0 / (1.0 + self.lake_k * self.lake_z)


# --------------------------------------------------------------------------- sources


def _check_loads(values: pd.Series, what: str) -> np.ndarray:
    numeric = pd.to_numeric(values, errors="coerce")
    bad = numeric.isna() | (numeric < 0) | ~np.isfinite(numeric.fillna(0))
    if bad.any():
        first = values.index[bad.to_numpy()][0]
        msg = f"{what}: tp_kg_yr must be a number >= 0; row {first!r} has {values.loc[first]!r}"
        raise ValidationError(msg)
    return np.asarray(numeric.to_numpy(dtype=float))


def _check_target_point(point: Any, name: str = "target") -> None:
    """A (lon, lat) pair of finite numbers in range, else CoordinateError naming the argument."""
    try:
        lon, lat = (float(v) for v in point)
    except (TypeError, ValueError):
        msg = f"{name} must be (lon, lat): two numbers, got {point!r}"
        raise CoordinateError(msg) from None
    if not (np.isfinite(lon) and np.isfinite(lat) and abs(lon) <= 180 and abs(lat) <= 90):
        msg = f"{name} ({lon}, {lat}) must be finite, lon in [-180, 180] and lat in [-90, 90]"
        raise CoordinateError(msg)


def point_sources(
    table: pd.DataFrame | str | Path,
    G: nx.DiGraph,
    *,
    crs: Any = "wgs84",
    max_snap_m: float = SOURCES_MAX_SNAP_M,
    catchments_gdf: gpd.GeoDataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Point sources (wastewater plants, industrial parks, farms) snapped to reaches.

    Parameters
    ----------
    table : DataFrame or path of a CSV
        Columns ``source_id, name, lon, lat, tp_kg_yr, kind``.
    G : networkx.DiGraph
        The river network.
    crs : optional
        CRS of ``lon``/``lat`` (``wgs84``, ``gcj02``, ``bd09``, EPSG ...).
    max_snap_m : float
        Sources farther than this from every reach join the reach of the catchment they lie
        in (bundled network, or ``catchments_gdf``), else they are outside the network.
    catchments_gdf : geopandas.GeoDataFrame, optional
        Catchments of ``G`` (``reach_id`` and polygons) for that fallback; default: the
        bundled catchments when ``G`` is the bundled network, none otherwise.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per input row (none dropped): the input columns, ``reach_id`` and
        ``snap_distance_m``, and ``error`` (empty, or why the source reaches no reach).

    Raises
    ------
    ColumnMappingError
        A required column is missing.
    ValidationError
        A negative or non-numeric load.
    """
    frame = pd.read_csv(table, dtype={"source_id": str}) if isinstance(table, str | Path) else table.copy()
    missing = [c for c in _POINT_COLUMNS if c not in frame.columns]
    if missing:
        msg = f"point sources need columns {', '.join(_POINT_COLUMNS)}; missing: {', '.join(missing)}"
        raise ColumnMappingError(msg)
    frame["tp_kg_yr"] = _check_loads(frame["tp_kg_yr"], "point sources")
    lon = pd.to_numeric(frame["lon"], errors="coerce").to_numpy()
    lat = pd.to_numeric(frame["lat"], errors="coerce").to_numpy()
    ok = np.isfinite(lon) & np.isfinite(lat) & (np.abs(lon) <= 180) & (np.abs(lat) <= 90)
    geoms = np.full(len(frame), None, dtype=object)
    geoms[ok] = to_wgs84(shapely.points(lon[ok], lat[ok]), crs=crs)
    gdf = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, index=frame.index, crs=WGS84))
    snapped = snap(gdf.geometry, G, max_snap_m=max_snap_m)
    reach = snapped["reach_id"].copy()
    far = ok & reach.isna().to_numpy()
    if far.any() and (catchments_gdf is not None or _is_bundled(G)):
        # a source farther than max_snap_m from every reach but inside a catchment of the
        # network drains to that catchment's reach (e.g. the lake shore for land that
        # drains straight into Poyang Lake)
        reach[far] = catchment_of(gdf.geometry[far], catchments_gdf).to_numpy()
    gdf["reach_id"] = reach.to_numpy()
    gdf["snap_distance_m"] = snapped["distance_m"].to_numpy()
    gdf["error"] = ""
    gdf.loc[~ok, "error"] = "invalid coordinates"
    off = ok & gdf["reach_id"].isna().to_numpy()
    gdf.loc[off, "error"] = f"no reach within {max_snap_m:.0f} m and outside every catchment of the network"
    gdf["type"] = "point"
    if off.any() or (~ok).any():
        msg = (
            f"{int((~ok).sum() + off.sum())} point source(s) reach no river reach and carry no load "
            "to the network; see their 'error' column"
        )
        warnings.warn(msg, UserWarning, stacklevel=2)
    return gdf


def _is_bundled(G: nx.DiGraph) -> bool:
    """True for the bundled network (whose catchments are the bundled ones)."""
    return str(G.graph.get("name", "")).endswith("(bundled)")


def _catchment_pieces(polys: gpd.GeoDataFrame, key: str, cats: gpd.GeoDataFrame | None = None) -> pd.DataFrame:
    """Area (km2) each polygon shares with each reach catchment (land draining outside the
    network, ``reach_id < 0``, carries no load to it); bundled catchments by default."""
    cats = catchments() if cats is None else cats
    cats = cats[cats["reach_id"] > 0]
    cat_m = to_albers(cats.geometry)
    poly_m = to_albers(polys.geometry)
    tree = shapely.STRtree(cat_m)
    p_idx, c_idx = tree.query(poly_m, predicate="intersects")
    area = shapely.area(shapely.intersection(poly_m[p_idx], cat_m[c_idx])) / 1e6
    return pd.DataFrame(
        {key: polys[key].to_numpy()[p_idx], "reach_id": cats["reach_id"].to_numpy()[c_idx], "area_km2": area}
    )[lambda d: d["area_km2"] > 0]


def diffuse_sources(
    coefficients: pd.DataFrame | str | Path | None = None,
    *,
    layers: Layers | None = None,
    catchments_gdf: gpd.GeoDataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Diffuse TP from control units: area x export coefficient by category, per catchment.

    Parameters
    ----------
    coefficients : DataFrame or CSV path, optional
        ``category, export_kg_km2_yr`` (the bundled illustrative table by default).
    layers : Layers, optional
        The control units to use (bundled reference units by default).
    catchments_gdf : geopandas.GeoDataFrame, optional
        Reach catchments (``reach_id`` and polygons) to split the units by; default: the
        bundled catchments.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per (unit, reach catchment) piece: ``source_id``, ``kind`` (``diffuse``),
        ``unit_code``, ``county_adcode``, ``reach_id``, ``area_km2``, ``tp_kg_yr``; the
        geometry is the unit's representative point.
    """
    layers = layers or bundled_layers()
    table = _read_table(coefficients, "rivers/tp_export_coefficients.csv")
    for col in ("category", "export_kg_km2_yr"):
        if col not in table.columns:
            msg = f"export coefficients need columns category, export_kg_km2_yr; missing: {col}"
            raise ColumnMappingError(msg)
    coef = dict(
        zip(table["category"].astype(int), _check_loads(table["export_kg_km2_yr"], "export coefficients"), strict=True)
    )
    units = layers.units()
    pieces = _catchment_pieces(units[["unit_code", "geometry"]], "unit_code", catchments_gdf)
    info = units.set_index("unit_code")
    cat = info.loc[pieces["unit_code"], "category"].to_numpy().astype(int)
    unknown = sorted(set(cat) - set(coef))
    if unknown:
        msg = f"no export coefficient for categories {unknown}"
        raise ValidationError(msg)
    loads = pieces["area_km2"].to_numpy() * np.array([coef[c] for c in cat])
    points = shapely.point_on_surface(info.loc[pieces["unit_code"]].geometry.to_numpy())
    return gpd.GeoDataFrame(
        {
            "source_id": [f"D-{u}-{r}" for u, r in zip(pieces["unit_code"], pieces["reach_id"], strict=True)],
            "name": info.loc[pieces["unit_code"], "name_zh"].to_numpy(),
            "kind": "diffuse",
            "type": "diffuse",
            "unit_code": pieces["unit_code"].to_numpy(),
            "county_adcode": info.loc[pieces["unit_code"], "county_adcode"].to_numpy(),
            "reach_id": pieces["reach_id"].to_numpy(),
            "area_km2": pieces["area_km2"].to_numpy(),
            "tp_kg_yr": loads,
            "error": "",
        },
        geometry=points,
        crs=WGS84,
    )


def raster_sources(path: str | Path, *, nodata_as_zero: bool = True) -> gpd.GeoDataFrame:
    """Diffuse TP from a raster of export coefficients (kg/km2/yr), summed per reach catchment.

    Parameters
    ----------
    path : path
        A GeoTIFF (any CRS) of export coefficients in kg/km2/yr.
    nodata_as_zero : bool
        Treat nodata cells as 0 (default) instead of skipping them.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per catchment with load: ``source_id``, ``kind`` (``raster``), ``reach_id``,
        ``tp_kg_yr``; geometry the catchment's representative point.

    Raises
    ------
    ValidationError
        The raster has no CRS or does not overlap the catchments.
    """
    import rasterio  # lazy on purpose: rasterio is heavy and only raster sources need it
    import rasterio.features
    from rasterio.warp import transform_geom

    with rasterio.open(path) as src:
        if src.crs is None:
            msg = (
                f"{path} has no CRS: a raster of export coefficients must say its CRS (set it with gdal_edit.py -a_srs)"
            )
            raise ValidationError(msg)
        values = src.read(1, masked=True).astype(float)
        transform = src.transform
        cats = catchments()
        cats = cats[cats["reach_id"] > 0]
        shapes = [
            (transform_geom(WGS84.to_wkt(), src.crs, shapely.geometry.mapping(g)), i + 1)
            for i, g in enumerate(cats.geometry)
        ]
        zone = rasterio.features.rasterize(shapes, out_shape=values.shape, transform=transform, fill=0, dtype="int32")
        # cell area in km2, measured in the equal-area CRS at each cell centre
        rows, cols = np.indices(values.shape)
        xs, ys = rasterio.transform.xy(transform, rows.ravel(), cols.ravel())
        cell = _cell_area_km2(src.crs, transform, np.asarray(xs), np.asarray(ys)).reshape(values.shape)
    data = values.filled(0.0) if nodata_as_zero else values.filled(np.nan)
    load_per_cell = np.nan_to_num(data) * cell
    sums = np.bincount(zone.ravel(), weights=load_per_cell.ravel(), minlength=len(cats) + 1)[1:]
    if not (zone > 0).any():
        msg = f"{path} does not overlap the reach catchments"
        raise ValidationError(msg)
    keep = sums > 0
    return gpd.GeoDataFrame(
        {
            "source_id": [f"R-{r}" for r in cats["reach_id"].to_numpy()[keep]],
            "name": "raster export",
            "kind": "raster",
            "type": "diffuse",
            "reach_id": cats["reach_id"].to_numpy()[keep],
            "tp_kg_yr": sums[keep],
            "error": "",
        },
        geometry=shapely.point_on_surface(cats.geometry.to_numpy()[keep]),
        crs=WGS84,
    )


def _cell_area_km2(crs: Any, transform: Any, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:

    to_ea = transformer(crs, JIANGXI_ALBERS)
    dx, dy = abs(transform.a), abs(transform.e)
    x0, y0 = to_ea.transform(xs - dx / 2, ys - dy / 2)
    x1, y1 = to_ea.transform(xs + dx / 2, ys - dy / 2)
    x2, y2 = to_ea.transform(xs - dx / 2, ys + dy / 2)
    return np.asarray(np.abs((x1 - x0) * (y2 - y0) - (y1 - y0) * (x2 - x0)) / 1e6)


def _read_table(table: pd.DataFrame | str | Path | None, default: str) -> pd.DataFrame:
    if table is None:
        return pd.read_csv(data_path(default))
    if isinstance(table, str | Path):
        if not Path(table).exists():
            msg = f"table not found: {table}"
            raise ValidationError(msg)
        return pd.read_csv(table)
    return table.copy()


@cache
def _bundled_sources_cached() -> gpd.GeoDataFrame:
    G = river_network()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        points = point_sources(data_path("rivers/tp_sources.csv"), G)
    return finish_sources(pd.concat([points, diffuse_sources()], ignore_index=True), G)


def bundled_sources() -> gpd.GeoDataFrame:
    """The bundled ILLUSTRATIVE TP sources: point sources plus diffuse loads by unit.

    Returns
    -------
    geopandas.GeoDataFrame
        ``source_id``, ``name``, ``kind``, ``type``, ``tp_kg_yr``, ``reach_id``,
        ``county_adcode``, ``unit_code``, ``basin``, ``error`` and geometry.
    """
    out = _bundled_sources_cached().copy()
    out.attrs["notice"] = "ILLUSTRATIVE TP inputs synthesized for demonstration; not measured loads"
    return out


def finish_sources(sources: gpd.GeoDataFrame, G: nx.DiGraph, layers: Layers | None = None) -> gpd.GeoDataFrame:
    """Fill county, unit and basin for every source (from its location or its unit).

    Parameters
    ----------
    sources : geopandas.GeoDataFrame
        Point and/or diffuse sources (:func:`point_sources`, :func:`diffuse_sources`) with
        ``reach_id``; ``unit_code`` and ``county_adcode`` are kept where given.
    G : networkx.DiGraph
        The river network the sources are on (its reaches' ``basin`` is copied).
    layers : Layers, optional
        The control units to locate sources in (bundled reference units by default).

    Returns
    -------
    geopandas.GeoDataFrame
        The sources (new index 0..n-1) with ``unit_code``, ``county_adcode`` and ``basin``.
    """
    out = gpd.GeoDataFrame(sources, geometry="geometry", crs=WGS84).reset_index(drop=True)
    for col in ("unit_code", "county_adcode"):
        if col not in out.columns:
            out[col] = None
    need = out["unit_code"].isna() & out.geometry.notna()
    if need.any():
        hits = units_at(out.geometry[need], layers=layers).drop_duplicates("input_index").set_index("input_index")
        out.loc[hits.index, "unit_code"] = hits["unit_code"]
        out.loc[hits.index, "county_adcode"] = hits["unit_code"].str[2:8]
    basin = reaches_gdf(G)["basin"] if "basin" in reaches_gdf(G).columns else None
    out["basin"] = out["reach_id"].map(basin) if basin is not None else None
    return out


# --------------------------------------------------------------------------- routing core


@dataclass(frozen=True)
class _Level:
    """One topological level: its reaches, grouped for scatter-free sums.

    ``by_down`` orders the level's reaches by downstream node, ``down_nodes``/``down_starts``
    give each distinct node and where its group starts (for ``np.add.reduceat``); the same
    by upstream node in ``by_up``/``up_nodes``/``up_starts``.
    """

    reaches: np.ndarray
    by_down: np.ndarray
    down_nodes: np.ndarray
    down_starts: np.ndarray
    by_up: np.ndarray
    up_nodes: np.ndarray
    up_starts: np.ndarray


def _level(reaches: np.ndarray, up: np.ndarray, down: np.ndarray) -> _Level:
    by_down = reaches[np.argsort(down[reaches], kind="stable")]
    d_nodes, d_starts = np.unique(down[by_down], return_index=True)
    by_up = reaches[np.argsort(up[reaches], kind="stable")]
    u_nodes, u_starts = np.unique(up[by_up], return_index=True)
    return _Level(reaches, by_down, d_nodes, d_starts, by_up, u_nodes, u_starts)


@dataclass(frozen=True)
class _Routing:
    """Per-graph arrays for routing (cached in ``G.graph``)."""

    n_nodes: int
    up: np.ndarray
    down: np.ndarray
    length: np.ndarray
    lake_node: np.ndarray  # bool per node
    share: np.ndarray  # diversion share of each reach (1 / number of channels leaving its node)
    levels: list[Any]  # _Level per topological level of the reaches' upstream nodes, upstream first


def _routing(G: nx.DiGraph) -> _Routing:
    return _cached(G, "routing", lambda: _build_routing(G))


def _build_routing(G: nx.DiGraph) -> _Routing:
    a = _arrays(G)
    n_nodes = len(a.nodes)
    lake = np.array([G.nodes[n].get("kind") == "lake" for n in a.nodes], dtype=bool)
    n_out = np.bincount(a.up, minlength=n_nodes)
    groups = _groups(a.node_level[a.up]) if len(a.up) else []
    value = _Routing(
        n_nodes=n_nodes,
        up=a.up,
        down=a.down,
        length=a.length_km,
        lake_node=lake,
        share=_split_shares(G, a, n_out),
        levels=[_level(g, a.up, a.down) for g in groups],
    )
    return value


def _split_shares(G: nx.DiGraph, a: Any, n_out: np.ndarray) -> np.ndarray:
    """Share of its upstream node's inflow that each reach carries.

    Where a channel splits, the branches' ``split_fraction`` edge attributes (e.g. from
    ``data/rivers/distributaries.csv`` for the bundled network) are used; a split whose
    branches carry none shares equally. Raises when only some branches carry one or when
    they do not sum to 1 at a node.
    """
    equal = 1.0 / np.maximum(n_out[a.up], 1)
    split = n_out[a.up] > 1
    if not split.any():
        return np.asarray(equal)
    edges = G.edges
    pos = np.flatnonzero(split)
    given = np.array([edges[a.edges[i]].get("split_fraction", np.nan) for i in pos], dtype=float)
    share = equal.copy()
    has = ~np.isnan(given)
    share[pos[has]] = given[has]
    nodes = a.up[pos]
    n_given = np.bincount(nodes, weights=has.astype(float), minlength=len(a.nodes))
    total = np.bincount(nodes, weights=np.where(has, given, 0.0), minlength=len(a.nodes))
    partial = (n_given > 0) & (n_given < n_out)
    bad = (n_given > 0) & (np.abs(total - 1.0) > 1e-6)
    for problem, what in ((partial, "some but not all branches have a split_fraction"),
                          (bad, "the split_fraction of its branches must sum to 1")):  # fmt: skip
        if problem.any():
            i = int(np.flatnonzero(problem)[0])
            msg = (
                f"distributary split at node {a.nodes[i]!r}: {what} (sum {total[i]:.4g}); "
                "fix the reaches' split_fraction (or drop them all for equal shares)"
            )
            raise ValidationError(msg)
    return np.asarray(share)


def _attenuation(r: _Routing, params: RoutingParams) -> tuple[np.ndarray, np.ndarray]:
    """Whole-reach transmission and mid-reach factor per reach."""
    time = _time(r, params)
    whole = np.exp(-params.k_per_km * time)
    half = np.exp(-params.k_per_km * time / 2)
    return whole, half


def _node_retention(r: _Routing, params: RoutingParams) -> np.ndarray:
    return np.where(r.lake_node, params.lake_retention, 1.0)


def _forward(r: _Routing, local: np.ndarray, params: RoutingParams) -> tuple[np.ndarray, np.ndarray]:
    """Load at each reach's downstream end and the inflow to each node (before retention)."""
    whole, half = _attenuation(r, params)
    keep = _node_retention(r, params)
    carry = keep[r.up] * r.share * whole  # what a reach passes on of its upstream node's inflow
    own = local * half
    inflow = np.zeros(r.n_nodes)
    out = np.zeros(len(r.up))
    for lv in r.levels:
        out[lv.by_down] = inflow[r.up[lv.by_down]] * carry[lv.by_down] + own[lv.by_down]
        inflow[lv.down_nodes] += np.add.reduceat(out[lv.by_down], lv.down_starts)
    return out, inflow


def _delivery_factors(r: _Routing, target: _Target, params: RoutingParams) -> np.ndarray:
    """Per reach: the fraction of a source's load on it that reaches the target."""
    whole, half = _attenuation(r, params)
    keep = _node_retention(r, params)
    pass_on = r.share * whole
    g = np.zeros(r.n_nodes)  # fraction of a node's inflow that reaches the target
    if target.reach is None:
        fixed = 1.0
    else:  # inflow at the reach's top, its share of the node, part of the reach to the point
        t = target.reach
        fixed = keep[target.node] * r.share[t] * np.exp(-params.k_per_km * _time(r, params)[t] * target.p)
    g[target.node] = fixed
    for lv in reversed(r.levels):  # downstream first
        contrib = pass_on[lv.by_up] * g[r.down[lv.by_up]]
        g[lv.up_nodes] = keep[lv.up_nodes] * np.add.reduceat(contrib, lv.up_starts)
        g[target.node] = fixed
    factor = half * g[r.down]
    if target.reach is not None:
        t = target.reach
        factor[t] = 0.0
        if target.p >= 0.5:  # its own local load enters mid-reach, above the point
            factor[t] = np.exp(-params.k_per_km * _time(r, params)[t] * (target.p - 0.5))
    return np.asarray(factor)


def _time(r: _Routing, params: RoutingParams) -> np.ndarray:
    return r.length / params.velocity_km_d if params.velocity_km_d else r.length


def target_load(
    G: nx.DiGraph, target: Any, sources: gpd.GeoDataFrame | None = None, params: RoutingParams | None = None
) -> float:
    """TP load (kg/yr) at a target, by forward routing (independent of the attribution).

    Parameters
    ----------
    G, target, sources, params
        As in :func:`trace_sources`.

    Returns
    -------
    float
    """
    params = params or RoutingParams()
    sources = bundled_sources() if sources is None else sources
    tgt = _resolve_target(G, target)
    r = _routing(G)
    local = _local_loads(G, sources)
    _, inflow = _forward(r, local, params)
    if tgt.reach is None:
        return float(inflow[tgt.node])
    t = tgt.reach
    keep = _node_retention(r, params)
    time = _time(r, params)[t]
    load = inflow[tgt.node] * keep[tgt.node] * r.share[t] * np.exp(-params.k_per_km * time * tgt.p)
    if tgt.p >= 0.5:
        load += local[t] * np.exp(-params.k_per_km * time * (tgt.p - 0.5))
    return float(load)


def route(
    G: nx.DiGraph,
    sources: gpd.GeoDataFrame | None = None,
    params: RoutingParams | None = None,
) -> gpd.GeoDataFrame:
    """Route TP loads down the network.

    Parameters
    ----------
    G : networkx.DiGraph
        The river network (bundled by default elsewhere; required here).
    sources : geopandas.GeoDataFrame, optional
        With ``reach_id`` and ``tp_kg_yr`` (default: :func:`bundled_sources`).
    params : RoutingParams, optional

    Returns
    -------
    geopandas.GeoDataFrame
        Reaches indexed by ``reach_id`` with ``local_kg_yr`` (sources on the reach) and
        ``load_kg_yr`` (at the reach's downstream end), and geometry.
    """
    params = params or RoutingParams()
    sources = bundled_sources() if sources is None else sources
    r = _routing(G)
    local = _local_loads(G, sources)
    out, _ = _forward(r, local, params)
    reaches = reaches_gdf(G)
    a = _arrays(G)
    result = (
        reaches.loc[a.reach_ids, ["reach_id", "river_zh", "river_en", "basin", "geometry"]]
        if "basin" in reaches
        else reaches.loc[a.reach_ids, ["reach_id", "geometry"]]
    )
    result = result.copy()
    result["local_kg_yr"] = local
    result["load_kg_yr"] = out
    return result


def _reach_positions(G: nx.DiGraph, reach_ids: np.ndarray) -> np.ndarray:
    """Positions of reach ids in the graph's arrays (vectorized); -1 for unknown ids.

    Dense ids (the usual 1..n) use a cached lookup table; sparse ones a cached sort.
    """
    a = _arrays(G)

    def build() -> tuple[str, Any, np.ndarray]:
        lo, hi = int(a.reach_ids.min()), int(a.reach_ids.max())
        if hi - lo + 1 <= 4 * len(a.reach_ids):
            table = np.full(hi - lo + 1, -1, dtype=np.int64)
            table[a.reach_ids - lo] = np.arange(len(a.reach_ids))
            lookup: tuple[str, Any, np.ndarray] = ("table", lo, table)
        else:
            order = np.argsort(a.reach_ids)
            lookup = ("sorted", order, a.reach_ids[order])
        return lookup

    kind, first, second = _cached(G, "reach_lookup", build)
    ids = np.asarray(reach_ids, dtype=np.int64)
    if kind == "table":
        idx = ids - first
        inside = (idx >= 0) & (idx < len(second))
        out = np.full(ids.shape, -1, dtype=np.int64)
        out[inside] = second[idx[inside]]
        return out
    where = np.clip(np.searchsorted(second, ids), 0, len(second) - 1)
    return np.where(second[where] == ids, first[where], -1)


def _local_loads(G: nx.DiGraph, sources: pd.DataFrame) -> np.ndarray:
    a = _arrays(G)
    ok = sources["reach_id"].notna().to_numpy()
    pos = _reach_positions(G, sources["reach_id"].to_numpy()[ok].astype(np.int64))
    if (pos < 0).any():
        bad = sources["reach_id"].to_numpy()[ok][pos < 0][0]
        msg = f"a source names reach {bad}, which is not in the network"
        raise ValidationError(msg)
    return np.bincount(pos, weights=sources["tp_kg_yr"].to_numpy(dtype=float)[ok], minlength=len(a.edges))


# --------------------------------------------------------------------------- targets


@dataclass(frozen=True)
class _Target:
    """Where loads are measured: the inflow of a node (lake, outlet), or a point at fraction
    ``p`` (0 upstream .. 1 downstream end) along a reach (stations, reaches, points)."""

    name: str
    kind: str
    node: int  # node index: the lake/outlet node, or the upstream node of the target reach
    reach: int | None = None  # reach position for reach targets
    p: float = 1.0


def _hukou(G: nx.DiGraph) -> _Target:
    """The lake outflow at Hukou: the end of the reach leaving the lake (not the Yangtze)."""
    a = _arrays(G)
    r = _routing(G)
    lakes = np.flatnonzero(r.lake_node)
    leaving = np.flatnonzero(np.isin(a.up, lakes)) if lakes.size else np.empty(0, dtype=np.int64)
    if leaving.size == 0:  # no lake: the network outlet itself
        return _Target("Hukou (network outlet)", "outlet", a.node_index[G.graph["outlet"]])
    pos = int(leaving[0])
    return _Target("Hukou (lake outflow)", "outlet", int(a.up[pos]), pos, 1.0)


def _reach_target(G: nx.DiGraph, reach_id: int, fraction: float, name: str, kind: str) -> _Target:
    """A target at ``fraction`` along the reach ``reach_id``."""
    a = _arrays(G)
    pos = a.reach_pos[reach_id]
    return _Target(name, kind, int(a.up[pos]), pos, fraction)


def _nearest_reachable(G: nx.DiGraph, point: shapely.Geometry) -> str:
    """'the nearest reachable target is ...' for error messages."""
    hit = snap(gpd.GeoSeries([point], crs=WGS84), G, max_snap_m=1e7).iloc[0]
    if pd.isna(hit["reach_id"]):
        return "the network has no reach"
    rid = int(hit["reach_id"])
    name = reaches_gdf(G).loc[rid].get("river_en", "") if "river_en" in reaches_gdf(G) else ""
    label = f"reach {rid}" + (f" ({name})" if isinstance(name, str) and name else "")
    return f"the nearest reachable target is {label}, {hit['distance_m'] / 1000:.1f} km away"


def _station_target(G: nx.DiGraph, st: pd.Series, stations: gpd.GeoDataFrame) -> _Target:
    """A station as a target, by its ``trace_target`` (reach, lake, outlet or none)."""
    how = str(st.get("trace_target", "reach") or "reach")
    if st["station_id"] == "hukou" or how == "outlet":
        return _hukou(G)
    if how == "lake":
        lake = _resolve_target(G, "poyang")
        return replace(lake, name=f"Poyang Lake inflow (lake station {st['name_en']} {st['name_zh']})")
    on = stations[stations["trace_target"] == "reach"] if "trace_target" in stations else stations
    if how == "none":
        note = str(st.get("note", "") or "it has no reach at this data scale")
        if "basin" in on and (on["basin"] == st.get("basin")).any():
            on = on[on["basin"] == st.get("basin")]  # prefer a station of the same river
        d = shapely.distance(to_albers(on.geometry), to_albers(gpd.GeoSeries([st.geometry], crs=WGS84))[0])
        nearest = on["station_id"].iloc[int(np.argmin(d))] if len(on) else "poyang"
        msg = f"station {st['station_id']} cannot be a trace target: {note} (nearest reachable station: {nearest})"
        raise ValidationError(msg)
    hit = snap(gpd.GeoSeries([st.geometry], crs=WGS84), G, max_snap_m=15_000).iloc[0]
    if pd.isna(hit["reach_id"]):
        nearest = _nearest_reachable(G, st.geometry)
        msg = f"station {st['station_id']} is not on the network (no reach within 15 km); {nearest}"
        raise ValidationError(msg)
    rid = int(hit["reach_id"])
    return _reach_target(G, rid, float(hit["fraction"]), f"station {st['name_en']} ({st['name_zh']})", "station")


def _resolve_target(G: nx.DiGraph, target: Any, stations: gpd.GeoDataFrame | None = None) -> _Target:
    a = _arrays(G)
    r = _routing(G)
    if isinstance(target, str):
        key = target.strip().lower()
        if key in ("poyang", "poyang lake", "鄱阳湖", "lake"):
            lakes = np.flatnonzero(r.lake_node)
            if not lakes.size:
                msg = "the network has no lake node: 'poyang' needs Poyang Lake in the network"
                raise ValidationError(msg)
            return _Target("Poyang Lake inflow", "lake", int(lakes[0]))
        if key in ("hukou", "湖口", "outlet"):
            return _hukou(G)
        stations = load_layer("stations") if stations is None else stations
        match = stations[
            (stations["station_id"].str.lower() == key)
            | (stations["name_zh"] == target)
            | (stations["name_en"].str.lower() == key)
        ]
        if len(match):
            return _station_target(G, match.iloc[0], stations)
        options = ["poyang", "hukou", *stations["station_id"]]
        close = difflib.get_close_matches(key, options, n=3)
        hint = f"; close matches: {', '.join(close)}" if close else ""
        ids = ", ".join(stations["station_id"])
        msg = f"unknown target {target!r}: use poyang, hukou, a station ({ids}), a reach id or a point{hint}"
        raise ValidationError(msg)
    if isinstance(target, int | np.integer):
        if int(target) not in a.reach_pos:
            msg = f"reach {target} is not in the network"
            raise ValidationError(msg)
        return _reach_target(G, int(target), 1.0, f"reach {int(target)} (downstream end)", "reach")
    if isinstance(target, shapely.Geometry) or (isinstance(target, tuple) and len(target) == 2):
        point = target if isinstance(target, shapely.Geometry) else shapely.Point(target)
        hit = snap(gpd.GeoSeries([point], crs=WGS84), G).iloc[0]
        if pd.isna(hit["reach_id"]):
            msg = f"the point {point.wkt} is not near any reach (within 5 km); {_nearest_reachable(G, point)}"
            raise ValidationError(msg)
        reach_id = int(hit["reach_id"])
        return _reach_target(G, reach_id, float(hit["fraction"]), f"reach {reach_id} at the snapped point", "reach")
    msg = f"unknown target {target!r}"
    raise ValidationError(msg)


def _delivered(G: nx.DiGraph, sources: pd.DataFrame, target: _Target, params: RoutingParams) -> np.ndarray:
    """Delivered load (kg/yr) of each source at the target; 0 for sources not upstream."""
    factor = _delivery_factors(_routing(G), target, params)
    delivered = np.zeros(len(sources))
    ok = sources["reach_id"].notna().to_numpy()
    pos = _reach_positions(G, sources["reach_id"].to_numpy()[ok].astype(np.int64))
    if (pos < 0).any():
        msg = "a source names a reach that is not in the network"
        raise ValidationError(msg)
    delivered[ok] = sources["tp_kg_yr"].to_numpy(dtype=float)[ok] * factor[pos]
    return delivered


def delivered_loads(
    G: nx.DiGraph,
    sources: pd.DataFrame,
    target: Any,
    params: RoutingParams | None = None,
    *,
    stations: gpd.GeoDataFrame | None = None,
) -> np.ndarray:
    """Load (kg/yr) of each source that reaches a target, after decay and lake retention.

    Parameters
    ----------
    G : networkx.DiGraph
        The river network.
    sources : pandas.DataFrame
        With ``reach_id`` and ``tp_kg_yr`` (e.g. :func:`finish_sources`).
    target
        As in :func:`trace_sources` (``"poyang"``, ``"hukou"``, a station id, a reach id or a point).
    params : RoutingParams, optional
    stations : geopandas.GeoDataFrame, optional
        The stations a station id names (default: the bundled ``stations`` layer).

    Returns
    -------
    numpy.ndarray
        One value per source row, 0 for sources not upstream of the target.

    Raises
    ------
    ValidationError
        An unknown target, or a station that cannot be a target (not on the network).
    """
    return _delivered(G, sources, _resolve_target(G, target, stations), params or RoutingParams())


def delivery_from_reaches(G: nx.DiGraph, target: Any = "poyang", params: RoutingParams | None = None) -> np.ndarray:
    """Per reach: the fraction of the load at its downstream end that reaches the target.

    Multiply by ``route(G, ...)["load_kg_yr"]`` (same reach order) for each reach's load
    delivered to the target.

    Parameters
    ----------
    G : networkx.DiGraph
        The river network.
    target
        As in :func:`trace_sources` (default: the inflow of Poyang Lake).
    params : RoutingParams, optional

    Returns
    -------
    numpy.ndarray
        One fraction (0..1) per reach, in the order of :func:`route`'s rows.

    Raises
    ------
    ValidationError
        An unknown target.
    """
    params = params or RoutingParams()
    r = _routing(G)
    factor = _delivery_factors(r, _resolve_target(G, target), params)
    _, half = _attenuation(r, params)
    ratio: np.ndarray = np.divide(factor, half, out=np.zeros_like(factor), where=half > 0)
    return ratio


def trace_sources(
    G: nx.DiGraph,
    target: Any = "poyang",
    *,
    by: str = "source",
    top: int | None = None,
    sources: gpd.GeoDataFrame | None = None,
    params: RoutingParams | None = None,
    layers: Layers | None = None,
) -> gpd.GeoDataFrame:
    """Upstream contributors of TP to a target, with delivered load, share and delivery fraction.

    Parameters
    ----------
    G : networkx.DiGraph
        The river network.
    target : str, int or point
        ``"poyang"`` (total inflow to Poyang Lake), ``"hukou"`` (the lake outflow), a station
        id or name (load at the downstream end of the station's reach), a reach id (its
        downstream end), or a point snapped to a reach.
    by : {"source", "reach", "county", "unit", "basin"}
        How to group the contributors.
    top : int, optional
        Keep only the largest contributors (shares stay relative to the whole target load).
    sources : geopandas.GeoDataFrame, optional
        Default: :func:`bundled_sources` (ILLUSTRATIVE).
    params : RoutingParams, optional
    layers : Layers, optional
        For county and unit geometries (default: bundled).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per contributor, largest first: the group key, ``source_kg_yr`` (load at the
        source), ``delivered_kg_yr``, ``share_pct`` and ``delivery_fraction``; geometry of the
        group. ``attrs["target_load_kg_yr"]`` holds the target's load; the delivered loads of
        all contributors sum to it and their shares to 100%.

    Examples
    --------
    The bundled (ILLUSTRATIVE) sources traced to Poyang Lake by basin: the Gan delivers most,
    and the shares add up to 100%.

    >>> from ganpo_geo.rivers import river_network
    >>> by_basin = trace_sources(river_network(), "poyang", by="basin")
    >>> by_basin["basin"].iloc[0]
    'gan'
    >>> sorted(by_basin["basin"])
    ['fu', 'gan', 'lake', 'rao', 'xin', 'xiu']
    >>> round(float(by_basin["share_pct"].sum()), 6)
    100.0
    """
    if by not in TRACE_BY:
        msg = f"by must be one of {', '.join(TRACE_BY)}, got {by!r}"
        raise ValidationError(msg)
    check_count(top, "top", allow_none=True)
    if sources is not None and "tp_kg_yr" in sources:
        _check_loads(sources["tp_kg_yr"], "sources")
    if isinstance(target, tuple | list):
        _check_target_point(target)
    params = params or RoutingParams()
    sources = bundled_sources() if sources is None else sources
    tgt = _resolve_target(G, target)
    delivered = _delivered(G, sources, tgt, params)
    frame = pd.DataFrame(
        {
            "source_kg_yr": sources["tp_kg_yr"].to_numpy(dtype=float),
            "delivered_kg_yr": delivered,
        }
    )
    upstream = delivered > 0
    total = float(delivered.sum())
    key_col = {
        "source": "source_id",
        "reach": "reach_id",
        "county": "county_adcode",
        "unit": "unit_code",
        "basin": "basin",
    }[by]
    frame[key_col] = sources[key_col].to_numpy() if key_col in sources else None
    frame = frame[upstream]
    grouped = (
        frame.groupby(key_col, dropna=False)
        .agg(source_kg_yr=("source_kg_yr", "sum"), delivered_kg_yr=("delivered_kg_yr", "sum"))
        .reset_index()
    )
    grouped["share_pct"] = grouped["delivered_kg_yr"] / total * 100 if total > 0 else 0.0
    grouped["delivery_fraction"] = np.divide(
        grouped["delivered_kg_yr"],
        grouped["source_kg_yr"],
        out=np.zeros(len(grouped)),
        where=grouped["source_kg_yr"] > 0,
    )
    grouped = grouped.sort_values("delivered_kg_yr", ascending=False, kind="stable").reset_index(drop=True)
    if top is not None:
        grouped = grouped.head(int(top))
    out = _attach_geometry(grouped, by, key_col, sources, G, layers)
    out.attrs.update(
        {
            "target": tgt.name,
            "target_load_kg_yr": total,
            "by": by,
            "notice": sources.attrs.get("notice", ""),
            "params": params.__dict__,
        }
    )
    return out


def _attach_geometry(
    grouped: pd.DataFrame, by: str, key_col: str, sources: gpd.GeoDataFrame, G: nx.DiGraph, layers: Layers | None
) -> gpd.GeoDataFrame:
    if by == "source":
        info = sources.drop_duplicates("source_id").set_index("source_id")
        cols = [c for c in ("name", "kind", "reach_id", "county_adcode", "basin") if c in info and c not in grouped]
        extra = info.loc[grouped["source_id"], cols].reset_index(drop=True)
        grouped = pd.concat([grouped, extra], axis=1)
        has_geom = isinstance(info, gpd.GeoDataFrame) and info.geometry.name in info
        geom = info.loc[grouped["source_id"]].geometry.to_numpy() if has_geom else np.full(len(grouped), None)
    elif by == "reach":
        reaches = reaches_gdf(G)
        cols = [c for c in ("river_zh", "river_en", "basin") if c in reaches]
        grouped = pd.concat(
            [grouped, reaches.loc[grouped["reach_id"].astype(int), cols].reset_index(drop=True)], axis=1
        )
        geom = reaches.loc[grouped["reach_id"].astype(int)].geometry.to_numpy()
    elif by == "county":
        counties = load_layer("counties").set_index("adcode")
        known = grouped["county_adcode"].isin(counties.index)
        names = counties["name_zh"].reindex(grouped["county_adcode"]).to_numpy()
        grouped["name_zh"] = names
        grouped["name_en"] = counties["name_en"].reindex(grouped["county_adcode"]).to_numpy()
        geom = np.where(known, counties.geometry.reindex(grouped["county_adcode"]).to_numpy(), None)
    elif by == "unit":
        units = (layers or bundled_layers()).units().set_index("unit_code")
        grouped["name_zh"] = units["name_zh"].reindex(grouped["unit_code"]).to_numpy()
        grouped["category"] = units["category"].reindex(grouped["unit_code"]).to_numpy()
        geom = units.geometry.reindex(grouped["unit_code"]).to_numpy()
    else:
        cats = catchments()
        basin_geom = {b: shapely.union_all(g.to_numpy()) for b, g in cats.groupby("basin").geometry}
        geom = np.array([basin_geom.get(b) for b in grouped["basin"]], dtype=object)
    return gpd.GeoDataFrame(grouped, geometry=gpd.GeoSeries(geom, crs=WGS84), crs=WGS84)


# --------------------------------------------------------------------------- scenarios


@dataclass(frozen=True)
class Change:
    """A scenario change: reduce matching sources by a percentage, or add a point source.

    Attributes
    ----------
    reduce_pct : float
        Percentage reduction (0-100) of the matching sources' loads.
    kind : str
        Source kind to match (``"livestock_farm"``, ``"diffuse"``, ...) or ``"all"``.
    basin : str
        Basin to match (``"xin"``, ...) or ``"all"``.
    add_point : tuple, optional
        ``(lon, lat)`` (WGS84) of a new source, with ``add_kg_yr``.
    add_kg_yr : float
    name : str
    """

    reduce_pct: float = 0.0
    kind: str = "all"
    basin: str = "all"
    add_point: tuple[float, float] | None = None
    add_kg_yr: float = 0.0
    name: str = "new source"

    @classmethod
    def parse_reduce(cls, spec: str) -> Change:
        """Parse ``kind:basin:pct`` (``livestock:xin:30``; ``all`` matches any)."""
        parts = spec.split(":")
        if len(parts) != 3:
            msg = f"--reduce takes kind:basin:percent (e.g. livestock:xin:30), got {spec!r}"
            raise ValidationError(msg)
        kind, basin, pct = parts
        try:
            value = float(pct)
        except ValueError:
            msg = f"--reduce percent must be a number, got {pct!r}"
            raise ValidationError(msg) from None
        if not 0 <= value <= 100:
            msg = f"--reduce percent must be between 0 and 100, got {value}"
            raise ValidationError(msg)
        return cls(reduce_pct=value, kind=kind.strip().lower(), basin=basin.strip().lower())


_KIND_ALIASES = {
    "livestock": "livestock_farm",
    "farm": "livestock_farm",
    "wwtp": "wastewater_plant",
    "wastewater": "wastewater_plant",
    "industry": "industrial_park",
    "industrial": "industrial_park",
}


def _apply(sources: gpd.GeoDataFrame, change: Change, G: nx.DiGraph) -> gpd.GeoDataFrame:
    out = sources.copy()
    if change.reduce_pct:
        kind = _KIND_ALIASES.get(change.kind, change.kind)
        kinds = set(out["kind"].astype(str))
        if kind != "all" and kind not in kinds:
            msg = f"no source of kind {change.kind!r}; kinds are: {', '.join(sorted(kinds))}"
            raise ValidationError(msg)
        basins = set(out["basin"].dropna().astype(str))
        if change.basin != "all" and change.basin not in basins:
            msg = f"unknown basin {change.basin!r}; basins are: {', '.join(sorted(basins))}"
            raise ValidationError(msg)
        match = np.ones(len(out), dtype=bool)
        if kind != "all":
            match &= (out["kind"] == kind).to_numpy()
        if change.basin != "all":
            match &= (out["basin"] == change.basin).to_numpy()
        out.loc[match, "tp_kg_yr"] = out.loc[match, "tp_kg_yr"] * (1 - change.reduce_pct / 100)
    if change.add_point is not None:
        row = {"source_id": f"NEW-{len(out)}", "name": change.name, "lon": change.add_point[0]}
        row |= {"lat": change.add_point[1], "tp_kg_yr": change.add_kg_yr, "kind": "new_source"}
        new = pd.DataFrame([row])
        added = finish_sources(point_sources(new, G), G)
        if added["reach_id"].isna().any():
            where = shapely.Point(change.add_point)
            nearest = _nearest_reachable(G, where)
            msg = f"the new source at {change.add_point} is not near any reach of the network; {nearest}"
            raise ValidationError(msg)
        out = gpd.GeoDataFrame(pd.concat([out, added], ignore_index=True), crs=WGS84)
    return out


def scenario(
    G: nx.DiGraph,
    sources: gpd.GeoDataFrame | None = None,
    changes: list[Change] | None = None,
    *,
    params: RoutingParams | None = None,
    top: int = 5,
) -> dict[str, Any]:
    """Apply changes to the sources and compare loads at every station and at the lake.

    Parameters
    ----------
    G : networkx.DiGraph
    sources : geopandas.GeoDataFrame, optional
        Default: :func:`bundled_sources`.
    changes : list of Change
    params : RoutingParams, optional
    top : int
        How many top contributors (by county) to list before and after.

    Returns
    -------
    dict
        ``targets``: DataFrame (target, before_kg_yr, after_kg_yr, change_kg_yr, change_pct)
        for Poyang Lake inflow, Hukou and each station on the network; ``top_before`` and
        ``top_after``: the top contributors to Poyang Lake by county.
    """
    check_count(top, "top")
    if sources is not None and "tp_kg_yr" in sources:
        _check_loads(sources["tp_kg_yr"], "sources")
    for i, change in enumerate(changes or []):
        check_number(change.reduce_pct, f"changes[{i}].reduce_pct", inclusive=True)
        check_number(change.add_kg_yr, f"changes[{i}].add_kg_yr", inclusive=True)
        if change.add_point is not None:
            _check_target_point(change.add_point, f"changes[{i}].add_point")
    params = params or RoutingParams()
    before_src = bundled_sources() if sources is None else sources
    after_src = before_src
    for change in changes or []:
        after_src = _apply(after_src, change, G)
    stations = load_layer("stations")
    targets = ["poyang", "hukou", *[s for s in stations["station_id"] if s != "hukou"]]
    rows = []
    for t in targets:
        try:
            tgt = _resolve_target(G, t)
        except ValidationError:
            continue  # a station not on this network
        b = float(_delivered(G, before_src, tgt, params).sum())
        a = float(_delivered(G, after_src, tgt, params).sum())
        rows.append({"target": tgt.name, "before_kg_yr": b, "after_kg_yr": a, "change_kg_yr": a - b,
                     "change_pct": (a - b) / b * 100 if b > 0 else 0.0})  # fmt: skip
    return {
        "targets": pd.DataFrame(rows),
        "top_before": pd.DataFrame(
            trace_sources(G, "poyang", by="county", top=top, sources=before_src, params=params).drop(columns="geometry")
        ),
        "top_after": pd.DataFrame(
            trace_sources(G, "poyang", by="county", top=top, sources=after_src, params=params).drop(columns="geometry")
        ),
    }


# --------------------------------------------------------------------------- calibration


def station_observations(path: str | Path | None = None) -> pd.DataFrame:
    """Observed TP loads at stations (the bundled table is ILLUSTRATIVE, synthesized).

    Parameters
    ----------
    path : path, optional
        CSV with ``station_id, load_kg_yr`` (and optionally ``weight``).

    Returns
    -------
    pandas.DataFrame
    """
    table = _read_table(path, "rivers/tp_station_loads.csv")
    if "load_kg_yr" not in table.columns or not ({"station_id", "reach_id"} & set(table.columns)):
        found = ", ".join(table.columns)
        msg = f"station observations need columns station_id (or reach_id) and load_kg_yr; found: {found}"
        raise ColumnMappingError(msg)
    table["load_kg_yr"] = _check_loads(table["load_kg_yr"], "station observations")
    return table


@dataclass
class CalibrationResult:
    """Result of :func:`calibrate`.

    Attributes
    ----------
    coefficients : pandas.DataFrame
        ``parameter``, ``estimate``, ``std_error`` (source-kind multipliers and ``k_per_km``).
    r2_log : float
        R2 of log loads.
    rmse_log : float
        Root mean square of the (weighted) log residuals.
    stations : pandas.DataFrame
        Per station: observed, predicted, log residual, and the monitoring-adjusted load.
    params : RoutingParams
        The fitted routing parameters.
    """

    coefficients: pd.DataFrame
    r2_log: float
    rmse_log: float
    stations: pd.DataFrame
    params: RoutingParams
    notes: list[str] = field(default_factory=list)


def calibrate(
    G: nx.DiGraph,
    sources: gpd.GeoDataFrame | None = None,
    observations: pd.DataFrame | None = None,
    *,
    params: RoutingParams | None = None,
    fit_decay: bool = True,
    group_col: str = "kind",
) -> CalibrationResult:
    """Fit source coefficients and decay to station loads (weighted NLS on log residuals).

    Each source group (``group_col``, by default the source kind) gets a non-negative
    multiplier on its loads; with ``fit_decay`` the in-stream decay rate is fitted too.
    Residuals are ``log(observed) - log(predicted)``, weighted by the observations' ``weight``
    column when present; ``scipy.optimize.least_squares`` with bounds. Standard errors come
    from the Jacobian at the solution. The monitoring adjustment of SPARROW is applied to the
    reported station loads: downstream of a monitored station, predictions are conditioned
    on the station's observed load (the station's modelled load is replaced by the observed
    one before routing on).

    Parameters
    ----------
    G : networkx.DiGraph
    sources : geopandas.GeoDataFrame, optional
        Default: :func:`bundled_sources`.
    observations : pandas.DataFrame, optional
        ``station_id, load_kg_yr[, weight]``; default: :func:`station_observations`.
    params : RoutingParams, optional
        Starting values (and lake parameters, which stay fixed).
    fit_decay : bool
    group_col : str

    Returns
    -------
    CalibrationResult

    Raises
    ------
    ValidationError
        Fewer stations than parameters, a station not on the network, or source groups whose
        delivered loads are proportional at every station (they cannot be told apart).
    """
    from scipy.optimize import least_squares  # lazy on purpose: ~0.6 s to import, calibration only

    params = params or RoutingParams()
    sources = bundled_sources() if sources is None else sources
    observations = station_observations() if observations is None else observations
    groups = sorted(sources[group_col].astype(str).unique())
    n_params = len(groups) + int(fit_decay)
    if "station_id" in observations:
        targets = [_resolve_target(G, s) for s in observations["station_id"]]
        labels = observations["station_id"].to_numpy()
    elif "reach_id" in observations:  # monitoring points given as reach ids (downstream ends)
        targets = [_resolve_target(G, int(r)) for r in observations["reach_id"]]
        labels = observations["reach_id"].to_numpy()
    else:
        msg = "observations need a station_id or a reach_id column"
        raise ColumnMappingError(msg)
    obs = observations["load_kg_yr"].to_numpy(dtype=float)
    if (obs <= 0).any():
        msg = "observed loads must be > 0 for log residuals"
        raise ValidationError(msg)
    if len(obs) < n_params:
        msg = (
            f"cannot fit {n_params} parameters ({', '.join(groups)}{', decay' if fit_decay else ''}) "
            f"from {len(obs)} station(s): need at least as many stations as parameters"
        )
        raise ValidationError(msg)
    weight = np.sqrt(observations["weight"].to_numpy(dtype=float)) if "weight" in observations else np.ones(len(obs))
    group_of = sources[group_col].astype(str).to_numpy()

    def design(k: float) -> np.ndarray:
        p = replace(params, k_per_km=k)
        cols = np.zeros((len(targets), len(groups)))
        for j, tgt in enumerate(targets):
            d = _delivered(G, sources, tgt, p)
            for gi, grp in enumerate(groups):
                cols[j, gi] = d[group_of == grp].sum()
        return cols

    x0_design = design(params.k_per_km)
    _check_identifiable(x0_design, groups)

    def residuals(theta: np.ndarray) -> np.ndarray:
        beta = theta[: len(groups)]
        k = theta[-1] if fit_decay else params.k_per_km
        pred = design(k) @ beta
        return np.asarray(weight * (np.log(obs) - np.log(np.maximum(pred, 1e-12))))

    theta0 = np.r_[np.ones(len(groups)), [params.k_per_km] if fit_decay else []]
    lower = np.zeros(n_params)
    fit = least_squares(residuals, theta0, bounds=(lower, np.inf), x_scale=np.maximum(np.abs(theta0), 1e-4))
    dof = max(len(obs) - n_params, 1)
    s2 = float(fit.fun @ fit.fun) / dof
    jac = fit.jac
    try:
        cov = np.linalg.inv(jac.T @ jac) * s2
        se = np.sqrt(np.clip(np.diag(cov), 0, None))
    except np.linalg.LinAlgError:
        se = np.full(n_params, np.nan)
    names = [f"beta_{g}" for g in groups] + (["k_per_km"] if fit_decay else [])
    fitted = replace(params, k_per_km=float(fit.x[-1]) if fit_decay else params.k_per_km)
    pred = design(fitted.k_per_km) @ fit.x[: len(groups)]
    log_obs = np.log(obs)
    ss_res = float(np.sum((log_obs - np.log(pred)) ** 2))
    ss_tot = float(np.sum((log_obs - log_obs.mean()) ** 2))
    adjusted = _monitoring_adjusted(G, sources, fit.x[: len(groups)], groups, group_of, targets, obs, fitted)
    stations = pd.DataFrame(
        {
            "station_id": labels,
            "target": [t.name for t in targets],
            "observed_kg_yr": obs,
            "predicted_kg_yr": pred,
            "log_residual": log_obs - np.log(pred),
            "adjusted_kg_yr": adjusted,
        }
    )
    return CalibrationResult(
        coefficients=pd.DataFrame({"parameter": names, "estimate": fit.x, "std_error": se}),
        r2_log=1 - ss_res / ss_tot if ss_tot > 0 else float("nan"),
        rmse_log=float(np.sqrt(np.mean(fit.fun**2))),
        stations=stations,
        params=fitted,
        notes=[] if fit.success else [f"least_squares did not converge: {fit.message}"],
    )


def _check_identifiable(design: np.ndarray, groups: list[str]) -> None:
    """Refuse groups whose delivered loads are proportional (or zero) at every station."""
    for i, g in enumerate(groups):
        if not design[:, i].any():
            msg = f"source group {g!r} delivers nothing to any station: its coefficient cannot be estimated"
            raise ValidationError(msg)
    norm = design / np.linalg.norm(design, axis=0)
    for i in range(len(groups)):
        for j in range(i + 1, len(groups)):
            if abs(float(norm[:, i] @ norm[:, j])) > 1 - 1e-9:
                msg = (
                    f"source groups {groups[i]!r} and {groups[j]!r} deliver proportional loads at every "
                    "station, so their coefficients cannot be told apart: merge them or add stations"
                )
                raise ValidationError(msg)
    if np.linalg.matrix_rank(design) < len(groups):
        names = ", ".join(groups)
        msg = f"the source groups {names} are linearly dependent at the stations: coefficients not identifiable"
        raise ValidationError(msg)


def _monitoring_adjusted(
    G: nx.DiGraph,
    sources: gpd.GeoDataFrame,
    beta: np.ndarray,
    groups: Any,
    group_of: np.ndarray,
    targets: Any,
    obs: np.ndarray,
    params: RoutingParams,
) -> np.ndarray:
    """SPARROW's monitoring-adjusted station loads: each station's load predicted with the
    observed loads substituted at every other monitored station upstream of it."""
    scaled = sources.copy()
    mult = dict(zip(groups, beta, strict=True))
    scaled["tp_kg_yr"] = sources["tp_kg_yr"].to_numpy(dtype=float) * np.array([mult[g] for g in group_of])
    r = _routing(G)
    local = _local_loads(G, scaled)
    whole, half = _attenuation(r, params)
    keep = _node_retention(r, params)
    adjusted = np.zeros(len(targets))
    for j, tgt in enumerate(targets):
        # the other stations' reaches carry their observed load from the station downward
        fixed = np.full(len(local), np.nan)
        for other, value in zip(targets, obs, strict=True):
            if other is not tgt and other.reach is not None:
                rest = (1 - other.p) * _time(r, params)[other.reach]
                fixed[other.reach] = value * np.exp(-params.k_per_km * rest) + (
                    local[other.reach] * half[other.reach] if other.p < 0.5 else 0.0
                )
        inflow = np.zeros(r.n_nodes)
        for lv in r.levels:
            reaches = lv.by_down
            u = r.up[reaches]
            out = inflow[u] * keep[u] * r.share[reaches] * whole[reaches] + local[reaches] * half[reaches]
            sub = ~np.isnan(fixed[reaches])
            out[sub] = fixed[reaches][sub]
            inflow[lv.down_nodes] += np.add.reduceat(out, lv.down_starts)
        if tgt.reach is None:
            adjusted[j] = inflow[tgt.node]
        else:
            t = tgt.reach
            time = _time(r, params)[t]
            adjusted[j] = inflow[tgt.node] * keep[tgt.node] * r.share[t] * np.exp(-params.k_per_km * time * tgt.p)
            if tgt.p >= 0.5:
                adjusted[j] += local[t] * np.exp(-params.k_per_km * time * (tgt.p - 0.5))
    return adjusted
