"""Catchments and river basins: which basin a site lies in, without the river network.

The functions here read only the bundled catchment polygons (``load_layer("catchments")``), so
a site check (:mod:`ganpo_geo.siting`) never imports networkx or builds the network.
:mod:`ganpo_geo.rivers` re-exports them, where they lived before.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ganpo_geo import _cache
from ganpo_geo._index import GRID_MIN_POINTS, PolygonIndex, coordinates
from ganpo_geo._layerfiles import load_layer
from ganpo_geo.crs import WGS84, as_sites, to_albers, to_wgs84

__all__ = [
    "POYANG_BASINS",
    "basin_of",
    "basins_touched",
    "catchment_of",
    "catchments",
    "poyang_share_of_jiangxi",
]

# --------------------------------------------------------------------------- catchments


#: Basin keys of the Poyang Lake water system (the five rivers and the lake's own land).
POYANG_BASINS = ("gan", "fu", "xin", "rao", "xiu", "lake")


def catchments(G: object | None = None) -> gpd.GeoDataFrame:
    """Catchments of the bundled network, covering the whole of Jiangxi.

    Parameters
    ----------
    G : networkx.DiGraph, optional
        Unused for the bundled layer; reserved for user networks with their own catchments.

    Returns
    -------
    geopandas.GeoDataFrame
        ``reach_id``, ``basin``, ``area_km2`` and polygon geometry, indexed by ``reach_id``;
        together they tile the province. Rows with ``reach_id < 0`` are land that drains
        outside Poyang Lake (basin ``xiang``, ``dongjiang``, ``beijiang`` or ``yangtze``) and
        have no reach; the ``yangtze`` reach's own catchment has a positive id.
    """
    return load_layer("catchments").set_index("reach_id", drop=False).rename_axis(None)


def _catchment_hits(
    series: gpd.GeoSeries, cat_geoms: np.ndarray, *, bundled: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(input position, catchment position, measure) for every geometry-catchment pair that
    meet: 1 for points, length (m) for lines, area (m2) for polygons, in the Albers CRS.

    Points in the bundled catchments use a point index built once per process (a grid for
    large batches), so a million points take about a second."""
    geoms = series.to_numpy()
    valid = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    hits_in, hits_cat = [], []
    rest = valid
    if bundled:
        points = np.flatnonzero(valid & (shapely.get_type_id(geoms) == shapely.GeometryType.POINT))
        if points.size:
            xy = coordinates(geoms[points])
            index = _bundled_catchment_index(points.size >= GRID_MIN_POINTS)
            p_in, p_cat = index.query_points(xy[:, 0], xy[:, 1])
            hits_in.append(points[p_in])
            hits_cat.append(np.asarray(p_cat, dtype=np.int64))
            rest = valid.copy()
            rest[points] = False
    others = np.flatnonzero(rest)
    if others.size:
        tree = shapely.STRtree(cat_geoms)
        o_in, o_cat = tree.query(geoms[others], predicate="intersects")
        hits_in.append(others[o_in])
        hits_cat.append(o_cat)
    idx_in = np.concatenate(hits_in) if hits_in else np.empty(0, dtype=np.int64)
    idx_cat = np.concatenate(hits_cat) if hits_cat else np.empty(0, dtype=np.int64)
    dim = shapely.get_dimensions(geoms[idx_in])
    measure = np.ones(len(idx_in))
    extended = dim > 0
    if extended.any():
        pieces = shapely.intersection(geoms[idx_in[extended]], cat_geoms[idx_cat[extended]])
        metric = to_albers(gpd.GeoSeries(pieces, crs=WGS84))
        measure[extended] = np.where(dim[extended] == 1, shapely.length(metric), shapely.area(metric))
    return idx_in, idx_cat, measure


def _bundled_catchment_index(grid: bool) -> PolygonIndex:
    """The point index of the bundled catchments: with a grid (large batches) or the tree alone
    (a few points), each built once per process or saved with a batch's indexes in the disk
    cache and loaded from it (:func:`_cache.shared`)."""
    # both through the shared objects' lock: they prepare the same geometries, and two threads
    # preparing one geometry at once corrupt GEOS's memory (see _threads.prepare_shared)
    if grid:
        return _cache.shared("catchment_grid", lambda: PolygonIndex.build(catchments().geometry.to_numpy()))
    return _cache.shared("catchment_tree", lambda: PolygonIndex.build(catchments().geometry.to_numpy(), None))


def catchment_of(geometries: Any, catchments_gdf: gpd.GeoDataFrame | None = None) -> pd.Series:
    """Reach id of the catchment that holds each geometry (vectorized).

    Points use their location; lines and polygons the catchment holding most of their length
    or area.

    Parameters
    ----------
    geometries : GeoSeries, GeoDataFrame or array of shapely geometries
        Any CRS for Geo* input; plain geometries are WGS84.
    catchments_gdf : geopandas.GeoDataFrame, optional
        Catchment polygons with ``reach_id``; defaults to the bundled ones (:func:`catchments`).

    Returns
    -------
    pandas.Series
        Nullable ``reach_id`` aligned with the input: NA outside every catchment and in land
        that drains outside the network (bundled catchments with ``reach_id < 0``).
    """
    cat = catchments() if catchments_gdf is None else to_wgs84(catchments_gdf)
    series = as_sites(geometries)
    idx_in, idx_cat, measure = _catchment_hits(series, cat.geometry.to_numpy(), bundled=catchments_gdf is None)
    out = pd.Series(pd.array([pd.NA] * len(series), dtype="Int64"), index=series.index, name="reach_id")
    if idx_in.size:
        order = np.lexsort((idx_cat, -measure, idx_in))
        first = order[np.unique(idx_in[order], return_index=True)[1]]
        ids = cat["reach_id"].to_numpy()[idx_cat[first]].astype(np.int64)
        out.iloc[idx_in[first][ids > 0]] = ids[ids > 0]
    return out


def basin_of(
    geometries: Any,
    catchments_gdf: gpd.GeoDataFrame | None = None,
    *,
    all_basins: bool = False,
) -> pd.Series:
    """River basin of each geometry: the single source of a site's basin (vectorized).

    Basins are ``gan``, ``fu``, ``xin``, ``rao``, ``xiu`` and ``lake`` (land draining straight
    into Poyang Lake) in the Poyang Lake water system, and ``xiang``, ``dongjiang``,
    ``beijiang`` and ``yangtze`` (direct Yangtze tributaries) for the parts of Jiangxi that
    drain elsewhere. The bundled catchments cover the whole province (approximate divides,
    see ``ganpo_geo/_build/network.py``).

    Parameters
    ----------
    geometries : GeoSeries, GeoDataFrame or array of shapely geometries
        Points, lines or polygons; any CRS for Geo* input, plain geometries are WGS84.
    catchments_gdf : geopandas.GeoDataFrame, optional
        Catchments with ``basin`` (default: :func:`catchments`).
    all_basins : bool
        Return, for each geometry, the sorted tuple of every basin it touches instead.

    Returns
    -------
    pandas.Series
        Aligned with the input. By default the basin holding most of each geometry (its
        location for points, the largest length or area otherwise); None outside Jiangxi or
        for empty geometries. With ``all_basins`` a tuple of basins (empty outside).

    Examples
    --------
    >>> from shapely.geometry import Point
    >>> basin_of([Point(115.89, 28.68), Point(117.94, 28.45)]).tolist()  # Nanchang, Shangrao
    ['gan', 'xin']
    """
    series, idx_in, basins, measure = _basin_hits(geometries, catchments_gdf)
    n = len(series)
    if all_basins:
        frame = pd.DataFrame({"i": idx_in, "basin": basins}).drop_duplicates().sort_values(["i", "basin"])
        grouped = frame.groupby("i")["basin"].agg(tuple)
        values = np.empty(n, dtype=object)
        values[:] = [()] * n
        values[grouped.index.to_numpy()] = grouped.to_numpy()
        return pd.Series(values, index=series.index, name="basins", dtype=object)
    values = _largest_basin(series.to_numpy(), idx_in, basins, measure, np.full(n, None, dtype=object))
    return pd.Series(values, index=series.index, name="basin", dtype=object)


def _basin_texts(geometries: Any) -> np.ndarray:
    """:func:`basin_of` with the bundled catchments, as an object array with ``""`` where there
    is none (the site check's column: no missing values to find and replace afterwards)."""
    series, idx_in, basins, measure = _basin_hits(geometries, None)
    blank = np.empty(len(series), dtype=object)
    blank.fill("")
    return _largest_basin(series.to_numpy(), idx_in, basins, measure, blank)


def _basin_hits(
    geometries: Any, catchments_gdf: gpd.GeoDataFrame | None
) -> tuple[gpd.GeoSeries, np.ndarray, np.ndarray, np.ndarray]:
    """The geometries as sites, and each (site, catchment) hit as its site, basin and measure."""
    if catchments_gdf is None:  # the bundled ones: their arrays once per process, not a frame per call
        cat_geoms, cat_basins = _cache.shared("catchment_basins", lambda: _catchment_arrays(catchments()))
    else:
        cat_geoms, cat_basins = _catchment_arrays(to_wgs84(catchments_gdf))
    series = as_sites(geometries)
    idx_in, idx_cat, measure = _catchment_hits(series, cat_geoms, bundled=catchments_gdf is None)
    return series, idx_in, cat_basins[idx_cat], measure


def _catchment_arrays(cat: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The catchments' geometries and basin names (texts)."""
    return cat.geometry.to_numpy(), cat["basin"].astype(str).to_numpy(dtype=object)


def _largest_basin(
    geoms: np.ndarray, idx_in: np.ndarray, basins: np.ndarray, measure: np.ndarray, values: np.ndarray
) -> np.ndarray:
    """Fill ``values`` (in place) with each geometry's basin: where a point lies (the first hit on
    a shared border), the largest length or area for lines and polygons."""
    is_point = shapely.get_dimensions(geoms[idx_in]) == 0
    if is_point.any():
        first = np.unique(idx_in[is_point], return_index=True)[1]
        values[idx_in[is_point][first]] = basins[is_point][first]
    if is_point.all():
        return values
    frame = pd.DataFrame({"i": idx_in[~is_point], "basin": basins[~is_point], "m": measure[~is_point]})
    frame = frame.groupby(["i", "basin"], as_index=False)["m"].sum()
    frame = frame.sort_values(["i", "m", "basin"], ascending=[True, False, True], kind="stable")
    best = frame.drop_duplicates("i")
    values[best["i"].to_numpy()] = best["basin"].to_numpy()
    return values


def basins_touched(geometries: Any, catchments_gdf: gpd.GeoDataFrame | None = None) -> pd.Series:
    """Every basin each geometry touches (sorted tuples); ``basin_of(..., all_basins=True)``."""
    return basin_of(geometries, catchments_gdf, all_basins=True)


def poyang_share_of_jiangxi(catchments_gdf: gpd.GeoDataFrame | None = None) -> float:
    """Share (%) of Jiangxi's area in the Poyang Lake water system, from the catchments.

    Published: 156,743 km2 of the basin lie in Jiangxi (166,946 km2), i.e. 93.9%; the often
    quoted 96.6% is the share of the basin inside Jiangxi (sources in ``data/rivers/facts.csv``).
    The bundled catchments give 93.7%.

    Parameters
    ----------
    catchments_gdf : geopandas.GeoDataFrame, optional
        Catchments with ``basin`` covering the province (default: :func:`catchments`).

    Returns
    -------
    float
        Percent of the catchments' total area in the basins of :data:`POYANG_BASINS`.
    """
    cat = catchments() if catchments_gdf is None else to_wgs84(catchments_gdf)
    area = shapely.area(to_albers(cat.geometry))
    inside = cat["basin"].isin(POYANG_BASINS).to_numpy()
    return float(area[inside].sum() / area.sum() * 100)
