"""Ecological protection red lines (生态保护红线): layers and vectorized overlap checks.

The bundled red lines are REFERENCE DATA synthesized for demonstration (41,200 km2 as in the
2021-2035 plan, by the rules in ``ganpo_geo/_build/zoning.py``), not the official red lines;
load the official ones with :func:`load_redlines`.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ganpo_geo._checks import check_geometry_coords, check_number
from ganpo_geo._errors import ValidationError
from ganpo_geo._index import GRID_MIN_POINTS, LineChunks, PolygonIndex, SegmentGrid, coordinates
from ganpo_geo._official import REDLINE_FIELDS, load_redlines
from ganpo_geo._threads import prepare_shared
from ganpo_geo.crs import JIANGXI_ALBERS, WGS84, as_sites, to_albers, transformer
from ganpo_geo.layers import Layers, bundled_layers, load_layer
from ganpo_geo.types import CRSLike, GeometryLike

__all__ = ["MAX_SEARCH_M", "REDLINE_FIELDS", "load_redlines", "overlap_columns", "redline_overlap", "redlines"]

#: How far (metres) the distance to the nearest red-line border is looked for by default.
MAX_SEARCH_M = 50_000.0


def redlines(layers: Layers | None = None) -> gpd.GeoDataFrame:
    """Red-line zones in use (by default the bundled REFERENCE red lines, not official).

    Parameters
    ----------
    layers : Layers, optional

    Returns
    -------
    geopandas.GeoDataFrame
        ``zone_id``, ``name_zh``, ``name_en``, ``kind``, ``area_km2`` and geometry.
    """
    return (layers or bundled_layers()).red()


#: Largest ``max_search_m`` the border grid of large batches answers (metres); a larger one is
#: measured with the tree. Both give the exact distance, to the same bits.
GRID_SEARCH_M = 50_000.0

#: Cell of the border grid (metres): each cell lists the border segments that can be nearest to
#: a point in it (~9 on average for the bundled red lines, 22 MB for the province).
GRID_CELL_M = 500.0


def _redline_parts(layers: Layers) -> tuple[shapely.STRtree, np.ndarray, np.ndarray]:
    """Red lines exploded into single polygons (metric CRS), their zone positions, a tree."""

    def build() -> tuple[shapely.STRtree, np.ndarray, np.ndarray]:
        metric = to_albers(layers.red().geometry)
        parts, zone = shapely.get_parts(metric, return_index=True)
        prepare_shared(parts)
        return shapely.STRtree(parts), parts, zone

    return layers.cached("redline_parts", build)


def _border_tree(layers: Layers) -> shapely.STRtree:
    """A tree of the red-line parts' borders (metric): the nearest-border distance of small batches.

    Borders, not polygons: a site not touching a red line (tested in WGS84) is measured to the
    nearest border, as the border grid of large batches measures it, to the same bits, even in
    the rare case of a site within a metre of a border that the projection puts inside.
    """
    _, parts, _ = _redline_parts(layers)
    return layers.cached("redline_border_tree", lambda: shapely.STRtree(shapely.boundary(parts)))


def _redline_fast(layers: Layers, n_sites: int) -> tuple[SegmentGrid | None, PolygonIndex]:
    """Indexes for large batches (border grid, point grid), or the tree alone for small ones.

    Used whenever this ``Layers`` has them (built by an earlier large batch or loaded from the
    disk cache): their answers are the tree's, to the last bit, so results do not depend on
    what ran before.
    """

    def wgs_parts() -> np.ndarray:
        parts: np.ndarray = shapely.get_parts(layers.red().geometry.to_numpy())
        return parts

    if n_sites >= GRID_MIN_POINTS or "redline_grid" in layers._cache:
        _, parts, _ = _redline_parts(layers)
        borders = layers.cached("redline_segments", lambda: _border_grid(parts))
        return borders, layers.cached("redline_grid", lambda: PolygonIndex.build(wgs_parts()))
    return None, layers.cached("redline_tree", lambda: PolygonIndex.build(wgs_parts(), None))


def _border_grid(parts: np.ndarray) -> SegmentGrid:
    """Exact nearest-border distances for large batches: the borders of the red-line parts
    (metric) on a grid over Jiangxi within ``GRID_SEARCH_M`` of a red line."""
    chunks = LineChunks.build(shapely.boundary(parts))
    # sites are checked in Jiangxi; points outside the grid are measured with the tree
    province = tuple(shapely.total_bounds(to_albers(load_layer("province").geometry)))
    bounds = province
    if len(parts):
        w, s, e, n = shapely.total_bounds(parts)
        reach = GRID_SEARCH_M
        near = (
            max(w - reach, province[0]),
            max(s - reach, province[1]),
            min(e + reach, province[2]),
            min(n + reach, province[3]),
        )
        bounds = near if near[0] < near[2] and near[1] < near[3] else (w - reach, s - reach, e + reach, n + reach)
    return SegmentGrid.build(chunks, bounds, GRID_SEARCH_M, GRID_CELL_M)


def redline_overlap(
    geometries: GeometryLike,
    *,
    buffer_m: float = 0.0,
    crs: CRSLike | None = None,
    layers: Layers | None = None,
    max_search_m: float = MAX_SEARCH_M,
) -> pd.DataFrame:
    """Overlap of sites (points, lines, polygons) with red lines, and the nearest distance.

    Parameters
    ----------
    geometries : GeoSeries, GeoDataFrame or array of shapely geometries
        Any CRS for Geo* input (or ``crs=``); plain geometries default to WGS84.
    buffer_m : float
        Screening buffer around each site (metres); 0 tests the site itself.
    crs : optional
        CRS of the coordinates.
    layers : Layers, optional
        Default: the bundled reference red lines.
    max_search_m : float
        Distances beyond this are reported as NaN (nothing near).

    Returns
    -------
    pandas.DataFrame
        Aligned with the input: ``overlaps`` (bool), ``overlap_km2`` (of the buffered site),
        ``overlap_km`` (length of an unbuffered line inside red lines), ``share`` (of the
        buffered site's area; of an unbuffered line's length; for a point without buffer 1.0
        inside, else 0), ``nearest_m`` (distance of the site itself: 0 when it touches a red line,
        else the exact distance to the nearest red-line border, NaN beyond ``max_search_m``; for
        lines and polygons measured from their nearest vertex), ``zone_ids``
        and ``zone_names`` (``;``-joined).

    Raises
    ------
    ValidationError
        A negative or infinite buffer; ``CoordinateError`` for a NaN, infinite or
        out-of-range coordinate (naming the geometry and vertex).

    Examples
    --------
    Central Nanchang is outside the (bundled reference) red lines, the Lushan summit inside:

    >>> from shapely.geometry import Point
    >>> hits = redline_overlap([Point(115.89, 28.68), Point(116.0, 29.55)])
    >>> hits["overlaps"].tolist()
    [False, True]
    >>> hits.loc[1, "zone_names"]
    '庐山风景名胜区生态保护红线 Lushan National Park red line'
    >>> bool(hits.loc[0, "nearest_m"] > 1000)
    True
    """
    series = as_sites(geometries, crs)
    columns = overlap_columns(series.to_numpy(), buffer_m=buffer_m, layers=layers, max_search_m=max_search_m)
    return pd.DataFrame(columns, index=series.index)


def _zone_texts(zones: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Each red-line zone's id and its name (Chinese and English) as texts, by row."""
    ids = zones["zone_id"].astype(str).to_numpy(dtype=object)
    blank = pd.Series("", index=zones.index, dtype=str)
    name_en = zones["name_en"].astype(str) if "name_en" in zones else blank
    name_zh = zones["name_zh"].astype(str) if "name_zh" in zones else blank
    names = (name_zh + " " + name_en).str.strip() if len(zones) else pd.Series([], dtype=str)
    return ids, names.to_numpy(dtype=object)


def overlap_columns(
    wgs: np.ndarray, *, buffer_m: float = 0.0, layers: Layers | None = None, max_search_m: float = MAX_SEARCH_M
) -> dict[str, np.ndarray]:
    """:func:`redline_overlap` of WGS84 geometries, as arrays (text as object arrays).

    For the batch check, which writes the arrays into its own: no frame, and no text column
    converted to pandas' string dtype and back.

    Parameters
    ----------
    wgs : numpy.ndarray of shapely geometries
        WGS84 longitude/latitude.
    buffer_m, layers, max_search_m
        As for :func:`redline_overlap`.

    Returns
    -------
    dict of str to numpy.ndarray
        The columns of :func:`redline_overlap`, in its order.
    """
    if not buffer_m >= 0:
        msg = f"buffer_m must be >= 0, got {buffer_m!r}"
        raise ValidationError(msg)
    check_number(buffer_m, "buffer_m", inclusive=True)
    check_number(max_search_m, "max_search_m")
    check_geometry_coords(wgs, "geometries")
    return _overlap_columns(wgs, buffer_m, layers or bundled_layers(), max_search_m)


def _overlap_columns(wgs: np.ndarray, buffer_m: float, layers: Layers, max_search_m: float) -> dict[str, np.ndarray]:
    """:func:`overlap_columns` of geometries already checked (the site check's, range-checked on input)."""
    n = len(wgs)
    valid = ~(shapely.is_empty(wgs) | shapely.is_missing(wgs))
    tree, parts, zone_of_part = _redline_parts(layers)
    borders, point_index = _redline_fast(layers, n)
    overlap_km2: np.ndarray = np.zeros(n)
    touching = np.zeros(n, dtype=bool)  # the site itself touches a red line
    is_point = valid & (shapely.get_type_id(wgs) == shapely.GeometryType.POINT)

    # points: the grid index (exact near borders)
    point_pos = np.flatnonzero(is_point)
    xy = coordinates(wgs[point_pos])
    p_in, p_part = point_index.query_points(xy[:, 0], xy[:, 1])
    touching[point_pos[p_in]] = True
    pair_site, pair_part = [point_pos[p_in]], [p_part]

    # everything else, and every site when buffered: exact overlaps in the metric CRS
    metric = np.full(n, None, dtype=object)
    need_metric = valid & (~is_point | (buffer_m > 0))
    convert = np.flatnonzero(need_metric)
    if convert.size:
        metric[convert] = to_albers(wgs[convert])
    other = np.flatnonzero(valid & ~is_point)
    if other.size:
        o_in, _ = tree.query(metric[other], predicate="intersects")
        touching[other[o_in]] = True
    exact_sites = np.flatnonzero(need_metric)
    if exact_sites.size:
        sites = metric[exact_sites]
        if buffer_m > 0:
            sites = shapely.buffer(sites, buffer_m)
        s_idx, e_part = tree.query(sites, predicate="intersects")
        rows: np.ndarray = exact_sites[s_idx]
        inter_geom = shapely.intersection(sites[s_idx], parts[e_part])
        overlap_km2 = np.bincount(rows, weights=shapely.area(inter_geom) / 1e6, minlength=n)
        # lines (unbuffered): the length inside, so a line partly inside has its true share
        overlap_km: np.ndarray = np.bincount(rows, weights=shapely.length(inter_geom) / 1e3, minlength=n)
        site_area = np.zeros(n)
        site_area[exact_sites] = shapely.area(sites) / 1e6
        site_length = np.zeros(n)
        is_line = shapely.get_dimensions(sites) == 1
        site_length[exact_sites[is_line]] = shapely.length(sites[is_line]) / 1e3
        overlap_km[site_length == 0] = 0.0
        overlaps = np.zeros(n, dtype=bool)
        overlaps[rows] = True
        if buffer_m > 0:  # the buffered sites decide which zones are in play
            pair_site, pair_part = [rows], [e_part]
        else:
            pair_site.append(rows)
            pair_part.append(e_part)
            overlaps |= touching
    else:
        site_area = np.zeros(n)
        site_length = np.zeros(n)
        overlap_km = np.zeros(n)
        overlaps = touching.copy()
    share = np.divide(overlap_km2, site_area, out=np.zeros(n), where=site_area > 0)
    by_length = (site_area == 0) & (site_length > 0)
    share[by_length] = overlap_km[by_length] / site_length[by_length]
    share[(site_area == 0) & (site_length == 0) & overlaps] = 1.0  # points

    # distance of the site itself: 0 when it touches a red line, else to the nearest border
    nearest = np.full(n, np.nan)
    nearest[touching] = 0.0
    away = np.flatnonzero(valid & ~touching)
    if away.size:
        # for lines and polygons: the distance from their nearest vertex (points: as is);
        # only coordinates are projected, not geometries
        coords, owner = coordinates(wgs[away], return_index=True)
        x, y = transformer(WGS84, JIANGXI_ALBERS).transform(coords[:, 0], coords[:, 1])
        d = np.full(len(x), np.nan)
        by_tree = np.ones(len(x), dtype=bool)
        if borders is not None and max_search_m <= borders.max_distance:
            by_grid, d = borders.distance(x, y)
            d[d > max_search_m] = np.nan
            by_tree = ~by_grid
        if by_tree.any():  # a small batch, or points outside the grid: the tree, as exact
            at = np.flatnonzero(by_tree)
            (v_idx, _), dist = _border_tree(layers).query_nearest(
                shapely.points(x[at], y[at]), max_distance=max_search_m, return_distance=True, all_matches=False
            )
            d[at[v_idx]] = dist
        if len(owner) == away.size:  # one vertex per site: points
            nearest[away] = d
        else:
            nearest[away] = pd.Series(d).groupby(owner).min().reindex(range(away.size)).to_numpy()
    rows = np.concatenate(pair_site) if pair_site else np.empty(0, dtype=np.int64)  # (site, zone part) pairs
    p_idx = np.concatenate(pair_part) if pair_part else np.empty(0, dtype=np.int64)

    ids, names = layers.cached("redline_zone_texts", lambda: _zone_texts(layers.red()))
    zone_ids = np.empty(n, dtype=object)
    zone_ids.fill("")  # the object array's fill: several times faster than np.full(n, "")
    zone_names = zone_ids.copy()
    if rows.size:
        # distinct (site, zone) pairs by site, each site's zones in the order first found
        zone = zone_of_part[p_idx].astype(np.int64)
        _, first = np.unique(rows.astype(np.int64) * len(ids) + zone, return_index=True)
        first = first[np.lexsort((first, rows[first]))]
        site, zone = rows[first], zone[first]
        starts = np.flatnonzero(np.r_[True, site[1:] != site[:-1]])
        ends = np.r_[starts[1:], len(site)]
        single = ends - starts == 1
        zone_ids[site[starts[single]]] = ids[zone[starts[single]]]
        zone_names[site[starts[single]]] = names[zone[starts[single]]]
        for a, b in zip(starts[~single].tolist(), ends[~single].tolist(), strict=True):
            zone_ids[site[a]] = ";".join(ids[zone[a:b]])  # few: sites in several zones
            zone_names[site[a]] = ";".join(names[zone[a:b]])
    return {
        "overlaps": overlaps,
        "overlap_km2": overlap_km2,
        "overlap_km": overlap_km,
        "share": share,
        "nearest_m": nearest,
        "zone_ids": zone_ids,
        "zone_names": zone_names,
    }
