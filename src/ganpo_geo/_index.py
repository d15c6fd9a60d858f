"""Spatial indexes shared by zoning, red lines and siting: polygons with a grid accelerator.

Point-in-polygon for millions of points against a coverage of detailed polygons is dominated
by exact tests. A coarse grid of polygon ids answers every point whose cell no polygon boundary
crosses; a point in a cell that a boundary crosses is tested exactly (``shapely.intersects_xy``)
against the one or two polygons whose boundaries cross that cell, listed per cell at build time.
The answer is the same as the STRtree's ``intersects`` query for every point.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import shapely

from ganpo_geo._threads import prepare_shared

if TYPE_CHECKING:
    from affine import Affine

__all__ = [
    "GRID_MIN_POINTS",
    "LineChunks",
    "NearMask",
    "NearestLines",
    "PolygonIndex",
    "SegmentGrid",
    "coordinates",
    "query_points_many",
    "snap_to_lines",
]

#: Below this many points a query uses the tree alone (building a grid costs ~1 s).
GRID_MIN_POINTS = 20_000

_GRID_DEG = 0.002  # ~200 m: boundary cells cover ~3% of the province with 1093 units

#: A grid holds at most this many cells (int16: 32 MB); a wider extent gets larger cells (the
#: answers do not depend on the cell size). Jiangxi at the default size: 6.9 million.
_MAX_CELLS = 16_000_000

#: Slack (degrees) around each boundary segment when its cells are marked: far above the
#: rounding of ``shapely.segmentize`` and of the cell arithmetic, far below a cell.
_EDGE_SLACK = 1e-9


class _NoGrid(NamedTuple):
    """The identity grid transform (the ``a, c, e, f`` that :meth:`PolygonIndex.query_points`
    reads) of an index built without a grid, so that it does not import affine."""

    a: float = 1.0
    c: float = 0.0
    e: float = 1.0
    f: float = 0.0


def _cells(x: np.ndarray, y: np.ndarray, transform: Affine | _NoGrid) -> tuple[np.ndarray, np.ndarray]:
    """Column and row (as floats, NaN for NaN) of points in a grid: the one formula that the
    build and the query share, monotonic in ``x`` and in ``y``."""
    with np.errstate(invalid="ignore"):
        col = np.floor((x - transform.c) / transform.a)
        row = np.floor((y - transform.f) / transform.e)
    return col, row


@dataclass(frozen=True)
class PolygonIndex:
    """Polygons (WGS84) with an STRtree and a grid of ids for fast point lookups.

    Every grid cell is one of: inside exactly one polygon and crossed by no boundary (its id),
    in no polygon (0), or *special* (-1): crossed by the boundary of some polygon, or inside
    several (overlaps). The ``k``-th special cell (``special[k]``, a flat cell position) holds
    the short list ``cell_poly[cell_start[k]:cell_start[k + 1]]`` of the polygons that may hold
    its points, sorted, each flagged in ``cell_test`` when the point needs the exact test (the
    polygon's boundary crosses the cell) rather than being inside for sure (the cell lies in the
    polygon's interior). A point is answered by its cell alone, or by exact
    ``shapely.intersects_xy`` tests against its cell's few flagged polygons: the same pairs as
    ``tree.query(points, predicate="intersects")``.

    Attributes
    ----------
    geoms : numpy.ndarray
        The polygons, WGS84 (prepared).
    tree : shapely.STRtree
        Index over ``geoms``.
    grid : numpy.ndarray
        Raster (``int16`` when the polygon positions fit, else ``int32``): polygon position + 1
        for cells inside one polygon that no boundary crosses, 0 for cells in no polygon, -1 for
        special cells. Cell edges lie on multiples of the cell size, and the grid has a cell of
        margin around the polygons, so points outside it match nothing. An index built without a
        grid has an empty (0, 0) grid: every point is tested with the tree.
    transform : affine.Affine
        Grid transform (degrees); without a grid an identity stand-in.
    special : numpy.ndarray
        Flat positions (``row * ncol + col``) of the special cells, sorted.
    cell_start : numpy.ndarray
        Length ``len(special) + 1``: where each special cell's polygons start in ``cell_poly``.
    cell_poly : numpy.ndarray
        Polygon positions of the special cells (``int16`` when they fit), sorted within each
        cell.
    cell_test : numpy.ndarray
        ``bool``, aligned with ``cell_poly``: True when the polygon's boundary crosses the cell
        (exact test), False when the cell lies inside the polygon.
    """

    geoms: np.ndarray
    tree: shapely.STRtree
    grid: np.ndarray
    transform: Affine | _NoGrid
    special: np.ndarray
    cell_start: np.ndarray
    cell_poly: np.ndarray
    cell_test: np.ndarray

    @classmethod
    def build(cls, geoms: np.ndarray, grid_deg: float | None = _GRID_DEG) -> PolygonIndex:
        """Index polygons; the grid covers their extent at ``grid_deg``.

        ``grid_deg=None`` builds the tree only (every point tested exactly): the cheap choice
        for a handful of points, where rasterizing the grid would cost more than it saves.
        """
        geoms = np.asarray(geoms, dtype=object)
        prepare_shared(geoms)
        tree = shapely.STRtree(geoms)
        present = np.flatnonzero(~(shapely.is_missing(geoms) | shapely.is_empty(geoms)))
        if grid_deg is None or present.size == 0:
            return cls(geoms, tree, np.zeros((0, 0), dtype=np.int32), _NoGrid(), *_no_cells())
        if not grid_deg > 0:
            raise ValueError(f"grid_deg must be positive, got {grid_deg}")
        # lazy on purpose, only when a grid is built: importing rasterio costs 0.15 s, affine
        # (with attrs) 0.05 s of a single site check
        from affine import Affine

        # cell edges on multiples of grid_deg (indexes of one region share their grid), and a
        # cell of margin on each side: no outline reaches the grid's edge
        bounds = shapely.total_bounds(geoms[present])
        while True:
            west, south, east, north = bounds / grid_deg
            col0, row0 = np.floor(west) - 1, np.ceil(north) + 1
            ncol = int(np.ceil(east) + 1 - col0)
            nrow = int(row0 - (np.floor(south) - 1))
            if nrow * ncol <= _MAX_CELLS:
                break
            grid_deg *= 2
        transform = Affine(grid_deg, 0.0, col0 * grid_deg, 0.0, -grid_deg, row0 * grid_deg)
        edge_cell, edge_poly = _outline_cells(geoms, present, transform, (nrow, ncol))
        ids, count = _center_rasters(geoms, present, transform, (nrow, ncol))
        # special cells: crossed by a boundary, or with their centre in several polygons
        multi = np.flatnonzero(count.ravel() > 1)
        special = _sorted_unique(np.concatenate([edge_cell, multi]))
        # the polygons holding a special cell's centre whose boundary does not cross the cell
        # hold the whole cell (no test); one from the raster, several from the tree
        flat_ids = ids.ravel()
        single = special[count.ravel()[special] == 1]
        held_cell = [single, np.empty(0, dtype=np.int64)]
        held_poly = [flat_ids[single].astype(np.int64) - 1, np.empty(0, dtype=np.int64)]
        if multi.size:
            centre_x = transform.c + (multi % ncol + 0.5) * grid_deg
            centre_y = transform.f - (multi // ncol + 0.5) * grid_deg
            c_idx, p_idx = tree.query(shapely.points(centre_x, centre_y), predicate="intersects")
            held_cell[1], held_poly[1] = multi[c_idx], p_idx
        held_key = _sorted_unique(np.concatenate(held_cell) * len(geoms) + np.concatenate(held_poly))
        edge_key = edge_cell * len(geoms) + edge_poly  # unique
        if edge_key.size:  # edge_key is sorted: a binary search beats isin's sort
            at = np.minimum(np.searchsorted(edge_key, held_key), edge_key.size - 1)
            held_key = held_key[edge_key[at] != held_key]
        key = np.concatenate([edge_key, held_key])
        test = np.r_[np.ones(len(edge_key), dtype=bool), np.zeros(len(held_key), dtype=bool)]
        order = np.argsort(key, kind="stable")
        key, test = key[order], test[order]
        cell, poly = np.divmod(key, len(geoms))
        # every special cell has at least one polygon: a cell in `multi` without an edge holds
        # its centre's polygons (at least two)
        small = _small_int(len(geoms) + 1)
        grid = np.where(count == 1, ids, 0).astype(small)
        grid.ravel()[special] = -1
        cell_start = np.searchsorted(cell, np.r_[special, nrow * ncol]).astype(_small_int(len(cell)))
        special = special.astype(_small_int(nrow * ncol))
        return cls(geoms, tree, grid, transform, special, cell_start, poly.astype(small), test)

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Unpickling: pickles drop the geometries' preparation; prepare them again, here,
        before any thread can query them (the disk cache restores them prepared and warmed)."""
        for name, value in state.items():
            object.__setattr__(self, name, value)
        unprepared = ~shapely.is_prepared(self.geoms)
        if unprepared.any():
            prepare_shared(self.geoms[unprepared])

    def query_points(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pairs (point position, polygon position) of points inside (or on) polygons.

        Parameters
        ----------
        x, y : numpy.ndarray
            Point coordinates (WGS84); NaN points match nothing.

        Returns
        -------
        (numpy.ndarray, numpy.ndarray)
            Point and polygon positions (``int64``), sorted by point then polygon; a point on
            a shared border matches both polygons, as with ``intersects``.
        """
        (pairs,) = query_points_many([self], x, y)
        return pairs

    def _grid_key(self) -> tuple[tuple[int, ...], tuple[float, ...]]:
        """What :func:`_cells` and the bounds test depend on: indexes with equal keys locate
        points in the same cells."""
        t = self.transform
        return self.grid.shape, (t.a, t.c, t.e, t.f)

    def _locate(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positions of the points inside the grid, and their flat cell positions."""
        nrow, ncol = self.grid.shape
        col, row = _cells(x, y, self.transform)
        pos = np.flatnonzero((col >= 0) & (col < ncol) & (row >= 0) & (row < nrow))  # NaN: False
        flat = row[pos].astype(np.intp) * ncol + col[pos].astype(np.intp)
        return pos, flat

    def _answer(self, x: np.ndarray, y: np.ndarray, pos: np.ndarray, flat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`query_points` from the points' cells (:meth:`_locate`)."""
        value = self.grid.ravel()[flat]
        fast = value > 0
        fast_pts = pos[fast]
        fast_polys = value[fast].astype(np.int64) - 1
        special = np.flatnonzero(value < 0)
        if special.size == 0:
            return fast_pts, fast_polys
        k = np.searchsorted(self.special, flat[special])
        start = self.cell_start[k].astype(np.int64)
        n_cand = self.cell_start[k + 1] - start
        first = np.cumsum(n_cand) - n_cand
        cand = np.arange(int(n_cand.sum())) + np.repeat(start - first, n_cand)
        pts = np.repeat(pos[special], n_cand)
        polys = self.cell_poly[cand].astype(np.int64)
        hit = ~self.cell_test[cand]
        tested = np.flatnonzero(~hit)
        hit[tested] = shapely.intersects_xy(self.geoms[polys[tested]], x[pts[tested]], y[pts[tested]])
        # both runs are sorted by point (then polygon) and share no point: a stable sort merges
        pts_all = np.concatenate([fast_pts, pts[hit]])
        polys_all = np.concatenate([fast_polys, polys[hit]])
        order = np.argsort(pts_all, kind="stable")
        return pts_all[order], polys_all[order]

    def _tree_answer(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`query_points` of an index without a grid: the tree answers every point."""
        finite = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
        p_idx, g_idx = self.tree.query(shapely.points(x[finite], y[finite]), predicate="intersects")
        pts, polys = finite[p_idx], g_idx.astype(np.int64)
        order = np.lexsort((polys, pts))
        return pts[order], polys[order]


def query_points_many(
    indexes: Sequence[PolygonIndex], x: np.ndarray, y: np.ndarray
) -> list[tuple[np.ndarray, np.ndarray]]:
    """:meth:`PolygonIndex.query_points` of several indexes in one pass over the points.

    Indexes built over the same region at the same ``grid_deg`` share their grid (cell edges lie
    on multiples of the cell size): the points' cells are computed once for all of them, and
    each index only reads its own grid there. Indexes with other grids, or none, are answered
    on their own.

    Parameters
    ----------
    indexes : sequence of PolygonIndex
    x, y : numpy.ndarray
        Point coordinates (WGS84); NaN points match nothing.

    Returns
    -------
    list of (numpy.ndarray, numpy.ndarray)
        For each index, what its ``query_points(x, y)`` returns.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"x and y must be 1-d arrays of one length, got shapes {x.shape} and {y.shape}")
    located: dict[tuple[tuple[int, ...], tuple[float, ...]], tuple[np.ndarray, np.ndarray]] = {}
    out = []
    for index in indexes:
        if index.grid.size == 0:
            out.append(index._tree_answer(x, y))
            continue
        key = index._grid_key()
        if key not in located:
            located[key] = index._locate(x, y)
        out.append(index._answer(x, y, *located[key]))
    return out


def coordinates(geoms: np.ndarray, return_index: bool = False) -> Any:
    """``shapely.get_coordinates`` (x, y), without holding the GIL when every geometry is a point.

    shapely's ``get_coordinates`` holds the GIL while it walks the geometries (shapely#2048), so
    chunks checked on threads would wait on each other there; ``get_x``/``get_y`` are ufuncs
    that release it. Same values, same rows (empty points and missing geometries have none).

    Parameters
    ----------
    geoms : numpy.ndarray of shapely geometries
    return_index : bool
        Also return the position of each row's geometry.

    Returns
    -------
    numpy.ndarray or (numpy.ndarray, numpy.ndarray)
        Coordinates, shape (n, 2), and with ``return_index`` the geometry of each row.
    """
    geoms = np.asarray(geoms, dtype=object)
    if not geoms.size or not (shapely.get_type_id(geoms) == shapely.GeometryType.POINT).all():
        return shapely.get_coordinates(geoms, return_index=return_index)
    keep = ~shapely.is_empty(geoms)
    points = geoms if keep.all() else geoms[keep]
    xy = np.column_stack([shapely.get_x(points), shapely.get_y(points)])
    return (xy, np.flatnonzero(keep)) if return_index else xy


def _no_cells() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Empty special-cell arrays (an index without a grid)."""
    return np.empty(0, dtype=np.int32), np.zeros(1, dtype=np.int32), np.empty(0, dtype=np.int16), np.empty(0, bool)


def _sorted_unique(values: np.ndarray) -> np.ndarray:
    """``np.unique`` of integers by sorting (numpy's hashing unique is slower on millions)."""
    values = np.sort(values)
    return values[np.r_[True, values[1:] != values[:-1]]] if values.size else values


def _small_int(largest: int) -> type[np.signedinteger[Any]]:
    """The smallest of int16, int32, int64 that holds ``largest``."""
    for kind in (np.int16, np.int32):
        if largest <= np.iinfo(kind).max:
            return kind
    return np.int64


def _outline_cells(
    geoms: np.ndarray, present: np.ndarray, transform: Affine, shape: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Every (flat cell, polygon position) pair, unique and sorted, where the polygon's outline
    (boundary; lines and points themselves) may meet the cell.

    Outlines are cut into segments at most half a cell long; each segment marks the cells of
    its bounding box (at most 2 x 2) widened by ``_EDGE_SLACK``, computed with the query's own
    cell formula. That formula is monotonic, so any point of the outline, and any query point on
    it, falls in a marked cell: an unmarked cell lies wholly inside or wholly outside the
    polygon. (Longer segments would only mark more cells; the answers do not depend on it.)
    """
    nrow, ncol = shape
    parts, owner = shapely.get_parts(geoms[present], return_index=True)
    owner = present[owner]
    polygonal = shapely.get_dimensions(parts) == 2
    outline = parts.copy()
    outline[polygonal] = shapely.boundary(parts[polygonal])
    pieces, piece_of = shapely.get_parts(outline, return_index=True)
    pieces = shapely.segmentize(pieces, transform.a / 2)
    xy, vertex_of = shapely.get_coordinates(pieces, return_index=True)
    # segments between consecutive vertices of a piece; a lone vertex (a point) is its own
    same = np.r_[vertex_of[1:] == vertex_of[:-1], False]
    lone = ~same & ~np.r_[False, same[:-1]]
    seg = np.flatnonzero(same)
    a_idx = np.r_[seg, np.flatnonzero(lone)]
    b_idx = np.r_[seg + 1, np.flatnonzero(lone)]
    poly = owner[piece_of[vertex_of[a_idx]]]
    ax, ay, bx, by = xy[a_idx, 0], xy[a_idx, 1], xy[b_idx, 0], xy[b_idx, 1]
    c_lo, r_hi = _cells(np.minimum(ax, bx) - _EDGE_SLACK, np.minimum(ay, by) - _EDGE_SLACK, transform)
    c_hi, r_lo = _cells(np.maximum(ax, bx) + _EDGE_SLACK, np.maximum(ay, by) + _EDGE_SLACK, transform)
    box = [c_lo.astype(np.int64), c_hi.astype(np.int64), r_lo.astype(np.int64), r_hi.astype(np.int64), poly]
    # runs of segments in the same cells (the most) are marked once
    repeat = np.r_[False, np.ones(max(len(poly) - 1, 0), dtype=bool)]
    for b in box:
        repeat[1:] &= b[1:] == b[:-1]
    c_lo, c_hi, r_lo, r_hi, poly = (b[~repeat] for b in box)
    if poly.size and (c_lo.min() < 0 or r_lo.min() < 0 or c_hi.max() >= ncol or r_hi.max() >= nrow):
        raise AssertionError("polygon outline outside its own grid")  # the margin rules it out
    keys = []
    for dr in range(int((r_hi - r_lo).max(initial=0)) + 1):
        for dc in range(int((c_hi - c_lo).max(initial=0)) + 1):
            more = (r_lo + dr <= r_hi) & (c_lo + dc <= c_hi)  # most boxes hold one cell
            keys.append(((r_lo[more] + dr) * ncol + c_lo[more] + dc) * len(geoms) + poly[more])
    key = _sorted_unique(np.concatenate(keys)) if keys else np.empty(0, dtype=np.int64)
    cell, poly = np.divmod(key, len(geoms))
    return cell, poly


def _center_rasters(
    geoms: np.ndarray, present: np.ndarray, transform: Affine, shape: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Rasters of the polygon (position + 1) and of the number of polygons holding each cell's
    centre (rasterio, polygonal parts only). Exact for every cell no outline meets: its centre
    is half a cell from any boundary."""
    import rasterio.features
    from rasterio.enums import MergeAlg

    parts, owner = shapely.get_parts(geoms[present], return_index=True)
    keep = shapely.get_dimensions(parts) == 2
    parts, owner = parts[keep], present[owner[keep]]
    ids = np.zeros(shape, dtype=np.int32)
    count = np.zeros(shape, dtype=np.int32)
    if parts.size:
        shapes = [p.__geo_interface__ for p in parts]  # once for both rasters (the slow part)
        ids = rasterio.features.rasterize(
            zip(shapes, owner + 1, strict=True), out_shape=shape, transform=transform, fill=0, dtype="int32"
        )
        count = rasterio.features.rasterize(
            ((p, 1) for p in shapes),
            out_shape=shape,
            transform=transform,
            fill=0,
            merge_alg=MergeAlg.add,
            dtype="int32",
        )
    return ids, count


def _z_order(xy: np.ndarray, cell: float) -> np.ndarray:
    """Permutation that sorts points by the Z-order (Morton) code of their ``cell``-sized grid cell."""
    if len(xy) == 0:
        return np.zeros(0, dtype=np.int64)
    c = np.floor((xy - xy.min(axis=0)) / cell).astype(np.int64) & 0xFFFF

    def spread(v: np.ndarray) -> np.ndarray:
        v = (v | (v << 8)) & 0x00FF00FF
        v = (v | (v << 4)) & 0x0F0F0F0F
        v = (v | (v << 2)) & 0x33333333
        out: np.ndarray = (v | (v << 1)) & 0x55555555
        return out

    order: np.ndarray = np.argsort(spread(c[:, 0]) | (spread(c[:, 1]) << 1), kind="stable")
    return order


@dataclass(frozen=True)
class NearestLines:
    """Nearest line (metric CRS) for many points: a KD-tree of densified vertices.

    The lines are densified to ``spacing`` metres; a point's nearest vertex is found with
    ``scipy.spatial.cKDTree`` (both cores), then the exact distance to the two segments on
    either side of that vertex is taken. Any point of a line is within ``spacing / 2`` of one
    of its vertices, so the distance returned exceeds the true one by at most ``spacing / 2``
    (5 m by default), and is exact whenever the nearest point lies next to the nearest vertex.

    Attributes
    ----------
    xy : numpy.ndarray
        Densified vertices, shape (n, 2).
    line : numpy.ndarray
        Line position of each vertex.
    along : numpy.ndarray
        Distance of each vertex from its line's start (metres).
    has_next : numpy.ndarray
        Whether the vertex has a following vertex on the same line.
    tree : scipy.spatial.cKDTree
    spacing : float
    """

    xy: np.ndarray
    line: np.ndarray
    along: np.ndarray
    has_next: np.ndarray
    tree: Any  # scipy.spatial.cKDTree (scipy is imported when a tree is built)
    spacing: float

    @classmethod
    def build(cls, lines: np.ndarray, spacing: float = 10.0) -> NearestLines:
        """Index line geometries (LineString/MultiLineString/rings) in a metric CRS."""
        from scipy.spatial import cKDTree

        lines = np.asarray(lines, dtype=object)
        if (shapely.get_type_id(lines) == shapely.GeometryType.LINESTRING).all():
            parts, line_of_part = lines, np.arange(len(lines))  # what get_parts returns, without copies
        else:
            parts, line_of_part = shapely.get_parts(lines, return_index=True)
        parts = shapely.segmentize(parts, spacing)
        xy, part_idx = shapely.get_coordinates(parts, return_index=True)
        seg = np.hypot(*np.diff(xy, axis=0).T)
        same = part_idx[1:] == part_idx[:-1]
        step = np.where(same, seg, 0.0)
        along = np.concatenate([[0.0], np.cumsum(step)])
        starts = np.r_[0, np.flatnonzero(~same) + 1]
        # restart the running length at every part, then add the part's offset in its line
        along -= np.repeat(along[starts], np.diff(np.r_[starts, len(along)]))
        along += _part_offsets(line_of_part, shapely.length(parts))[part_idx]
        has_next = np.r_[same, False]
        return cls(xy, line_of_part[part_idx], along, has_next, cKDTree(xy), float(spacing))

    def query(
        self, x: np.ndarray, y: np.ndarray, max_distance: float = np.inf
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Nearest line of each point.

        Parameters
        ----------
        x, y : numpy.ndarray
            Point coordinates in the same metric CRS.
        max_distance : float
            Points farther than this get line -1 and distance NaN.

        Returns
        -------
        (line, distance, along) : tuple of numpy.ndarray
            Line position (-1 when none), distance (metres) and position along the line
            (metres from its start) of the nearest point.
        """
        pts = np.column_stack([np.asarray(x, float), np.asarray(y, float)])
        n = len(pts)
        line = np.full(n, -1, dtype=np.int64)
        dist = np.full(n, np.nan)
        along = np.full(n, np.nan)
        ok = np.isfinite(pts).all(axis=1)
        if not ok.any() or len(self.xy) == 0:
            return line, dist, along
        bound = max_distance + self.spacing if np.isfinite(max_distance) else np.inf
        # queried in Z order: neighbouring queries walk the same tree nodes (1.3-1.6x faster for
        # a million random points); each answer does not depend on the order
        order = _z_order(pts[ok], 20 * self.spacing)
        d0 = np.empty(len(order))
        v = np.empty(len(order), dtype=np.int64)
        d0[order], v[order] = self.tree.query(pts[ok][order], k=1, distance_upper_bound=bound, workers=-1)
        found = np.isfinite(d0)
        rows = np.flatnonzero(ok)[found]
        v = v[found]
        p = pts[rows]
        best_d = np.hypot(*(p - self.xy[v]).T)
        best_along = self.along[v].copy()
        for a_idx, valid in (
            (v - 1, (v > 0) & self.has_next[np.maximum(v - 1, 0)]),
            (v, self.has_next[v]),
        ):
            a_idx = np.where(valid, a_idx, v)
            b_idx = np.where(valid, a_idx + 1, v)
            a, b = self.xy[a_idx], self.xy[np.minimum(b_idx, len(self.xy) - 1)]
            ab = b - a
            denom = (ab * ab).sum(axis=1)
            t = np.clip(
                np.divide(((p - a) * ab).sum(axis=1), denom, out=np.zeros(len(p)), where=denom > 0),
                0,
                1,
            )
            proj = a + ab * t[:, None]
            d = np.hypot(*(p - proj).T)
            seg_len = np.sqrt(denom)
            better = valid & (d < best_d)
            best_d = np.where(better, d, best_d)
            best_along = np.where(better, self.along[a_idx] + t * seg_len, best_along)
        keep = best_d <= max_distance
        line[rows[keep]] = self.line[v[keep]]
        dist[rows[keep]] = best_d[keep]
        along[rows[keep]] = best_along[keep]
        return line, dist, along


def _running_sums(group: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Per run of equal ``group`` values, the sum of the earlier ``values`` in the run (0 first).

    The sums are taken in the same order as ``np.cumsum`` over each run (one vectorized step per
    rank in the run, over all runs that long), so they are bit-identical to a per-run
    ``np.concatenate([[0.0], np.cumsum(v)[:-1]])``, in time linear in ``len(values)``.
    """
    n = len(group)
    out = np.zeros(n)
    if n < 2:
        return out
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    rank = np.arange(n) - np.repeat(starts, np.diff(np.r_[starts, n]))
    later = np.flatnonzero(rank > 0)  # the first of each run stays 0
    if later.size == 0:
        return out
    order = later[np.argsort(rank[later], kind="stable")]
    bounds = np.r_[0, np.cumsum(np.bincount(rank[later])[1:])]
    for lo, hi in itertools.pairwise(bounds):  # one step per rank, not per run
        at = order[lo:hi]
        out[at] = out[at - 1] + values[at - 1]
    return out


def _part_offsets(line_of_part: np.ndarray, part_len: np.ndarray) -> np.ndarray:
    """Offset of each part from its line's start: the running length of the line's earlier parts.

    ``shapely.get_parts`` returns a line's parts next to each other, so each line is one run of
    ``line_of_part``.
    """
    return _running_sums(line_of_part, part_len)


@dataclass(frozen=True)
class LineChunks:
    """Lines (metric CRS) cut into short pieces for exact nearest queries.

    Distances to a long line with thousands of vertices are slow to compute; to short pieces
    they are cheap, and the nearest piece belongs to the nearest line.

    Attributes
    ----------
    pieces : numpy.ndarray
        LineStrings of at most ``_CHUNK_VERTICES`` vertices.
    owner : numpy.ndarray
        Position of each piece's line.
    offset : numpy.ndarray
        Distance along the line where each piece starts (metres).
    tree : shapely.STRtree
    """

    pieces: np.ndarray
    owner: np.ndarray
    offset: np.ndarray
    tree: shapely.STRtree

    @classmethod
    def build(cls, lines: np.ndarray, vertices: int = 16) -> LineChunks:
        """Cut LineStrings (one per line; MultiLineStrings are taken part by part) into pieces.

        Pieces of a part share their end vertices and hold ``vertices`` vertices (the last one
        fewer); ``offset`` is the running length of the line before the piece. Vectorized over
        all parts; running lengths are summed in the order of a per-part ``np.cumsum``.
        """
        if vertices < 2:
            raise ValueError(f"vertices must be at least 2, got {vertices}")
        parts, line_of_part = shapely.get_parts(np.asarray(lines, dtype=object), return_index=True)
        xy, part_of_vertex = shapely.get_coordinates(parts, return_index=True)
        n_vert = np.bincount(part_of_vertex, minlength=len(parts))
        first = np.r_[0, np.cumsum(n_vert)[:-1]]
        # running length of each vertex along its part (0 at the part's first vertex)
        step = np.hypot(*np.diff(xy, axis=0).T) if len(xy) > 1 else np.zeros(0)
        cum = _running_sums(part_of_vertex, np.r_[step, 0.0])
        part_len = np.zeros(len(parts))
        has = n_vert > 0
        part_len[has] = cum[first[has] + n_vert[has] - 1]
        start = _running_sums(line_of_part, part_len)  # the line's length before each part
        # pieces: each part's vertices in windows of `vertices`, stepping by vertices - 1
        span = vertices - 1
        n_pieces = np.where(n_vert >= 2, -(-(n_vert - 1) // span), 0)
        piece_part = np.repeat(np.arange(len(parts)), n_pieces)
        piece_rank = np.arange(len(piece_part)) - np.repeat(np.cumsum(n_pieces) - n_pieces, n_pieces)
        piece_start = first[piece_part] + piece_rank * span  # global index of the piece's first vertex
        piece_n = np.minimum(vertices, first[piece_part] + n_vert[piece_part] - piece_start)
        vert = np.repeat(piece_start - np.cumsum(np.r_[0, piece_n[:-1]]), piece_n) + np.arange(piece_n.sum())
        pieces = shapely.linestrings(xy[vert], indices=np.repeat(np.arange(len(piece_n)), piece_n))
        offset = start[piece_part] + cum[piece_start]
        owner = line_of_part[piece_part].astype(np.int64)
        return cls(pieces, owner, offset, shapely.STRtree(pieces))


def snap_to_lines(
    x: np.ndarray,
    y: np.ndarray,
    chunks: LineChunks,
    line_ids: np.ndarray,
    line_lengths: np.ndarray,
    max_distance_m: float,
    nearest: NearestLines | None = None,
    grid: SegmentGrid | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Exact nearest line of each point (metric CRS): id, distance, position and fraction along it.

    Without ``nearest`` the STRtree of short line pieces answers directly (exact). With it (a
    KD-tree, for large batches) each point first gets an upper bound on its distance; the pieces
    whose envelopes come within that bound are measured exactly, and the nearest is kept. With
    ``grid`` (a :class:`SegmentGrid` of the same ``chunks``, for large batches) the grid's
    candidate segments are measured in numpy, and only points outside the grid take the tree.
    All three give the same answers to the last bit. Ties go to the lower line id, then to the
    earlier piece of the line (and the earlier segment of the piece).

    Returns
    -------
    (ids, distance, along, fraction) : tuple of numpy.ndarray
        ``ids`` as float (NaN where no line is within ``max_distance_m``).
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    n = len(x)
    ids = np.full(n, np.nan)
    dist_out = np.full(n, np.nan)
    along_out = np.full(n, np.nan)
    frac_out = np.full(n, np.nan)
    if n == 0:
        return ids, dist_out, along_out, frac_out
    finite = np.isfinite(x) & np.isfinite(y)
    if not finite.all():  # NaN or infinite points have no nearest line
        keep = np.flatnonzero(finite)
        sub = snap_to_lines(x[keep], y[keep], chunks, line_ids, line_lengths, max_distance_m, nearest, grid)
        for out, part in zip((ids, dist_out, along_out, frac_out), sub, strict=True):
            out[keep] = part
        return ids, dist_out, along_out, frac_out
    if grid is not None and grid.max_distance >= max_distance_m:
        rank = np.empty(len(line_ids), dtype=np.int64)
        rank[np.argsort(line_ids, kind="stable")] = np.arange(len(line_ids))
        answered, seg, dist, factor = grid.query(x, y, rank, chunks.owner)
        found = np.flatnonzero(answered & (seg >= 0) & (dist <= max_distance_m))
        line = chunks.owner[grid.seg_piece[seg[found]]]
        along = grid.along(seg[found], factor[found], chunks.offset)
        length = line_lengths[line]
        ids[found] = line_ids[line]
        dist_out[found] = dist[found]
        along_out[found] = along
        frac_out[found] = np.divide(along, length, out=np.zeros_like(along), where=length > 0)
        rest = np.flatnonzero(~answered)
        if rest.size:  # outside the grid: the pieces' tree
            sub = snap_to_lines(x[rest], y[rest], chunks, line_ids, line_lengths, max_distance_m)
            for out, part in zip((ids, dist_out, along_out, frac_out), sub, strict=True):
                out[rest] = part
        return ids, dist_out, along_out, frac_out
    pts = shapely.points(x, y)
    if nearest is None:
        (p_idx, c_idx), dist = chunks.tree.query_nearest(
            pts, max_distance=max_distance_m, return_distance=True, all_matches=True
        )
    else:
        _, bound, _ = nearest.query(x, y, max_distance_m + nearest.spacing)
        rows = np.flatnonzero(np.isfinite(bound))
        b = bound[rows] + 1e-6
        # envelope query, then one exact distance per candidate ("dwithin" would take it twice)
        boxes = shapely.box(x[rows] - b, y[rows] - b, x[rows] + b, y[rows] + b)
        p_sub, c_idx = chunks.tree.query(boxes)
        p_idx = rows[p_sub]
        dist = shapely.distance(pts[p_idx], chunks.pieces[c_idx])
        near = dist <= b[p_sub]
        p_idx, c_idx, dist = p_idx[near], c_idx[near], dist[near]
    line = chunks.owner[c_idx]
    # per point: nearest, then lowest id, then the earlier piece (the tree's order is arbitrary)
    order = np.lexsort((c_idx, line_ids[line], dist, p_idx))
    p_idx, c_idx, dist, line = p_idx[order], c_idx[order], dist[order], line[order]
    first = np.unique(p_idx, return_index=True)[1]
    p_idx, c_idx, dist, line = p_idx[first], c_idx[first], dist[first], line[first]
    keep = dist <= max_distance_m
    p_idx, c_idx, dist, line = p_idx[keep], c_idx[keep], dist[keep], line[keep]
    along = chunks.offset[c_idx] + shapely.line_locate_point(chunks.pieces[c_idx], pts[p_idx])
    length = line_lengths[line]
    ids[p_idx] = line_ids[line]
    dist_out[p_idx] = dist
    along_out[p_idx] = along
    frac_out[p_idx] = np.divide(along, length, out=np.zeros_like(along), where=length > 0)
    return ids, dist_out, along_out, frac_out


def _point_segment(
    px: np.ndarray, py: np.ndarray, ax: np.ndarray, ay: np.ndarray, bx: np.ndarray, by: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Distance from points to segments and the projection factor, computed as GEOS does.

    The operations follow GEOS ``Distance::pointToSegment`` and ``LineSegment::projectionFactor``
    in the same order (a negated operand changes only the sign, exactly), so the distances are
    the ones ``shapely.distance`` gives, to the last bit.
    """
    dx = bx - ax
    dy = by - ay
    len2 = dx * dx
    len2 += dy * dy
    ux = px - ax
    uy = py - ay
    with np.errstate(invalid="ignore", divide="ignore"):
        r = ux * dx
        r += uy * dy
        r /= len2
        dist = ux * dy
        dist -= uy * dx
        dist /= len2
    np.abs(dist, out=dist)
    dist *= np.sqrt(len2)
    at_a = (len2 == 0) | (r <= 0.0)
    ux, uy = ux[at_a], uy[at_a]
    dist[at_a] = np.sqrt(ux * ux + uy * uy)
    at_b = ~at_a & (r >= 1.0)
    vx = px[at_b] - bx[at_b]
    vy = py[at_b] - by[at_b]
    dist[at_b] = np.sqrt(vx * vx + vy * vy)
    return dist, r


#: Cells measured at once when a segment grid is built (bounded memory).
_CENTRES_AT_ONCE = 4096


def _segment_candidates(
    seg_xy: np.ndarray,
    pieces: np.ndarray,
    origin: tuple[float, float],
    cell: float,
    shape: tuple[int, int],
    max_distance: float,
) -> tuple[np.ndarray, np.ndarray]:
    """CSR offsets per cell and the segments, ascending per cell, that can be nearest to a point of the cell.

    A cheap upper bound first: the distance from each cell centre to the segments next to its
    nearest vertex of the lines densified to ``cell / 2`` (a KD-tree). The segments within that
    bound plus ``2r`` (``r`` half the cell diagonal) are measured from the centre exactly
    (``D``), and those within ``D + 2r`` kept.
    """
    nrow, ncol = shape
    west, south = origin
    half_diag = cell * np.sqrt(0.5)
    cx = west + (np.arange(ncol) + 0.5) * cell
    cy = south + (np.arange(nrow) + 0.5) * cell
    centre_x = np.tile(cx, nrow)
    centre_y = np.repeat(cy, ncol)
    _, e, _ = NearestLines.build(pieces, cell / 2).query(centre_x, centre_y)
    bound = np.minimum(np.nan_to_num(e, nan=np.inf) + 2 * half_diag, max_distance + half_diag) + 1.0
    tree = shapely.STRtree(shapely.linestrings(seg_xy.reshape(-1, 2, 2)))
    counts = np.zeros(nrow * ncol, dtype=np.int64)
    segs_out = [np.empty(0, dtype=np.int32)]
    for start in range(0, len(centre_x), _CENTRES_AT_ONCE):  # bounded memory: a few thousand cells at a time
        stop = start + _CENTRES_AT_ONCE
        centres = shapely.points(centre_x[start:stop], centre_y[start:stop])
        q_cell, q_seg = tree.query(centres, predicate="dwithin", distance=bound[start:stop])
        if q_cell.size == 0:
            continue
        order = np.lexsort((q_seg, q_cell))
        q_cell, q_seg = q_cell[order] + start, q_seg[order]
        s = seg_xy[q_seg]
        d, _ = _point_segment(centre_x[q_cell], centre_y[q_cell], s[:, 0], s[:, 1], s[:, 2], s[:, 3])
        first = np.flatnonzero(np.r_[True, q_cell[1:] != q_cell[:-1]])
        useful = _useful(d, first, half_diag, max_distance)
        counts += np.bincount(q_cell[useful], minlength=len(counts))
        segs_out.append(q_seg[useful].astype(np.int32))
    return _csr(counts), np.concatenate(segs_out)


def _csr(counts: np.ndarray) -> np.ndarray:
    """CSR offsets (``int64``, one more than cells) of per-cell counts."""
    ptr = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=ptr[1:])
    return ptr


def _useful(d: np.ndarray, first: np.ndarray, half_diag: float, max_distance: float) -> np.ndarray:
    """Candidates worth keeping, of cells whose candidates ``d`` (distances from the cell centre)
    start at ``first``: within ``D + 2r`` of the centre (``D`` its distance to the cell's nearest
    segment, ``r`` the half diagonal) and within ``max_distance + r``, in a cell some point of
    which is within ``max_distance`` of a segment. The 1 m of slack only adds candidates:
    answers stay exact."""
    nearest = np.repeat(np.minimum.reduceat(d, first), np.diff(np.r_[first, len(d)]))
    within: np.ndarray = (d <= np.minimum(nearest + 2 * half_diag, max_distance + half_diag) + 1.0) & (
        nearest - half_diag <= max_distance
    )
    return within


def _gathered_blocks(
    lo: np.ndarray, count: np.ndarray, values: np.ndarray, block: int
) -> Iterator[tuple[int, int, np.ndarray, np.ndarray]]:
    """The CSR lists ``values[lo[i]:lo[i] + count[i]]`` of consecutive items, about ``block``
    values at a time (bounded memory).

    Yields ``(start, stop, first, gathered)``: the items ``start:stop`` (at least one), where
    each item's values start in ``gathered``, and those values in item order. Items with no
    values must be left out by the caller (``first`` would repeat).
    """
    ends = np.cumsum(count)
    start = 0
    while start < len(count):
        stop = max(int(np.searchsorted(ends, ends[start] - count[start] + block, side="right")), start + 1)
        part = count[start:stop]
        first = np.cumsum(part) - part
        yield start, stop, first, values[np.arange(int(part.sum())) - np.repeat(first - lo[start:stop], part)]
        start = stop


def _refine_candidates(
    seg_xy: np.ndarray,
    origin: tuple[float, float],
    cell: float,
    shape: tuple[int, int],
    parent: tuple[int, np.ndarray, np.ndarray],
    max_distance: float,
    block: int = 250_000,
) -> tuple[np.ndarray, np.ndarray]:
    """The candidates of :func:`_segment_candidates` for a grid of ``cell``, from its parent grid's.

    ``parent`` is ``(columns, cell_ptr, cell_seg)`` of the grid of cells twice as large over the
    same origin. Every candidate of a child cell is a candidate of its parent: with ``r`` the
    child's half diagonal (the parent's is ``2r``, and the centres are ``r`` apart), a segment
    within ``D_c + 2r`` of the child centre is within ``D_c + 3r <= D_p + 4r`` of the parent's,
    and so is the child centre's nearest segment. Measuring the parent's candidates from the
    child centres therefore gives the same pairs as measuring every segment, at a fraction of
    the cost. Worked ``block`` pairs at a time (bounded memory).
    """
    nrow, ncol = shape
    west, south = origin
    half_diag = cell * np.sqrt(0.5)
    parent_ncol, parent_ptr, parent_seg = parent
    c_row, c_col = np.divmod(np.arange(nrow * ncol, dtype=np.int64), ncol)
    up = (c_row // 2) * parent_ncol + c_col // 2
    lo_all = parent_ptr[up]
    count_all = parent_ptr[up + 1] - lo_all
    cells_all = np.flatnonzero(count_all > 0)  # a cell whose parent has none has none
    counts = np.zeros(nrow * ncol, dtype=np.int64)
    segs_out = [np.empty(0, dtype=np.int32)]
    for start, stop, first, seg in _gathered_blocks(lo_all[cells_all], count_all[cells_all], parent_seg, block):
        cells = cells_all[start:stop]
        count = count_all[cells]
        # centres as _segment_candidates computes them, to the same bits
        centre_x = west + (c_col[cells] + 0.5) * cell
        centre_y = south + (c_row[cells] + 0.5) * cell
        s = seg_xy[seg]
        px, py = np.repeat(centre_x, count), np.repeat(centre_y, count)
        d, _ = _point_segment(px, py, s[:, 0], s[:, 1], s[:, 2], s[:, 3])
        useful = _useful(d, first, half_diag, max_distance)
        counts[cells] = np.add.reduceat(useful, first)
        segs_out.append(seg[useful].astype(np.int32))
    return _csr(counts), np.concatenate(segs_out)


@dataclass(frozen=True)
class SegmentGrid:
    """Exact nearest segment of many points (metric CRS) from a grid of candidate segments.

    The lines are taken as the short pieces of a :class:`LineChunks` and split into their
    segments. Each cell of a square grid stores the segments that can be nearest to some point
    of the cell: with ``D`` the distance from the cell centre to the nearest segment and ``r``
    half the cell diagonal, a point of the cell is within ``D + r`` of a segment, so its nearest
    segment is within ``D + 2r`` of the centre. A query measures only those candidates, in
    numpy, with GEOS's formulas (:func:`_point_segment`): distances and positions along the
    lines equal those of :func:`snap_to_lines` with the pieces' tree, bit for bit. Cells farther
    than ``max_distance`` from every segment hold no candidates. Points outside the grid are
    reported as not answered (the caller measures them with the tree).

    Attributes
    ----------
    seg_xy : numpy.ndarray
        Segment end points, shape (n, 4): ``ax, ay, bx, by``.
    seg_piece : numpy.ndarray
        Piece (position in the ``LineChunks``) of each segment; segments are in piece order.
    seg_start : numpy.ndarray
        Length of the piece before each segment (metres; summed as GEOS does).
    seg_len : numpy.ndarray
        Length of each segment (metres).
    origin : tuple of float
        ``(x, y)`` of the grid's lower-left corner.
    cell : float
        Cell size (metres).
    shape : tuple of int
        ``(rows, columns)``.
    cell_ptr : numpy.ndarray
        CSR offsets into ``cell_seg`` per cell (row-major), length ``rows * columns + 1``.
    cell_seg : numpy.ndarray
        Candidate segments of each cell, ascending.
    max_distance : float
        Nothing farther than this is answered.
    """

    seg_xy: np.ndarray
    seg_piece: np.ndarray
    seg_start: np.ndarray
    seg_len: np.ndarray
    origin: tuple[float, float]
    cell: float
    shape: tuple[int, int]
    cell_ptr: np.ndarray
    cell_seg: np.ndarray
    max_distance: float

    @classmethod
    def build(
        cls,
        chunks: LineChunks,
        bounds: tuple[float, float, float, float],
        max_distance: float,
        cell: float = 500.0,
        refinements: int = 2,
    ) -> SegmentGrid:
        """Index the segments of ``chunks`` over ``bounds`` (metric ``west, south, east, north``).

        The candidates are found for cells ``2**refinements`` times as large, then for cells of
        half the size from those, down to ``cell`` (:func:`_refine_candidates`): the same
        candidates as measuring every segment from every cell, for less.

        Parameters
        ----------
        chunks : LineChunks
            The lines, cut into pieces.
        bounds : tuple of float
            Area the queries will come from; points outside it are not answered.
        max_distance : float
            Largest distance a query answers (metres, finite).
        cell : float
            Cell size (metres): smaller cells hold fewer candidates (faster queries) but cost
            more to build and to store.
        refinements : int
            Halvings from the first, coarse grid down to ``cell`` (>= 0).
        """
        if not (np.isfinite(max_distance) and max_distance >= 0 and cell > 0 and refinements >= 0):
            raise ValueError(
                f"max_distance must be finite and >= 0, cell > 0 and refinements >= 0, got {max_distance}, "
                f"{cell}, {refinements}"
            )
        xy, piece = shapely.get_coordinates(chunks.pieces, return_index=True)
        same = piece[1:] == piece[:-1]
        a = np.flatnonzero(same)  # a segment from every vertex followed by one of the same piece
        seg_xy = np.column_stack([xy[a], xy[a + 1]])
        seg_piece = piece[a].astype(np.int64)
        dx = seg_xy[:, 0] - seg_xy[:, 2]
        dy = seg_xy[:, 1] - seg_xy[:, 3]
        seg_len = np.sqrt(dx * dx + dy * dy)  # GEOS LineSegment::getLength
        seg_start = _running_sums(seg_piece, seg_len)
        west, south, east, north = (float(v) for v in bounds)

        def shape_of(size: float) -> tuple[int, int]:
            return max(1, int(np.ceil((north - south) / size))), max(1, int(np.ceil((east - west) / size)))

        nrow, ncol = shape_of(cell)
        ptr = np.zeros(nrow * ncol + 1, dtype=np.int64)
        cand = np.empty(0, dtype=np.int16)
        if len(seg_xy):
            size = cell * 2**refinements
            level = shape_of(size)
            ptr, cand = _segment_candidates(seg_xy, chunks.pieces, (west, south), size, level, max_distance)
            for _ in range(refinements):
                parent = (level[1], ptr, cand)
                size /= 2
                level = shape_of(size)
                ptr, cand = _refine_candidates(seg_xy, (west, south), size, level, parent, max_distance)
            # the smallest integers that hold the segment numbers (int16 for the bundled layers):
            # less memory read per query, a smaller cache file
            cand = cand.astype(np.int16 if len(seg_xy) <= np.iinfo(np.int16).max else np.int32)
        return cls(
            seg_xy=seg_xy,
            seg_piece=seg_piece,
            seg_start=seg_start,
            seg_len=seg_len,
            origin=(west, south),
            cell=float(cell),
            shape=(nrow, ncol),
            cell_ptr=ptr,
            cell_seg=cand,
            max_distance=float(max_distance),
        )

    def query(
        self, x: np.ndarray, y: np.ndarray, line_rank: np.ndarray, owner: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Nearest segment of each point within ``max_distance``.

        Parameters
        ----------
        x, y : numpy.ndarray
            Point coordinates (metric, the grid's CRS).
        line_rank : numpy.ndarray
            Tie-break rank of each line (position in ``owner``'s numbering): on equal distances
            the line of lower rank wins, then the earlier segment.
        owner : numpy.ndarray
            Line of each piece (``LineChunks.owner``).

        Returns
        -------
        (answered, segment, distance, factor) : tuple of numpy.ndarray
            ``answered`` is False for points outside the grid (and NaN points), which the
            caller must measure another way; ``segment`` is -1 where no segment is within
            ``max_distance``; ``factor`` is GEOS's projection factor on that segment.
        """
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        n = len(x)
        segment = np.full(n, -1, dtype=np.int64)
        distance = np.full(n, np.nan)
        factor = np.full(n, np.nan)
        answered, blocks = self._blocks(x, y)
        for pts, count, first, seg, dist in blocks:
            best = np.minimum.reduceat(dist, first)
            # ties: the lower line rank, then the earlier segment (as GEOS within a piece)
            rank = line_rank[owner[self.seg_piece[seg]]].astype(np.int64)
            key = np.where(dist == np.repeat(best, count), rank * len(self.seg_xy) + seg, np.iinfo(np.int64).max)
            won = np.minimum.reduceat(key, first) % len(self.seg_xy)
            near = best <= self.max_distance
            segment[pts[near]] = won[near]
            distance[pts[near]] = best[near]
        pts = np.flatnonzero(segment >= 0)
        w = self.seg_xy[segment[pts]]
        _, factor[pts] = _point_segment(x[pts], y[pts], w[:, 0], w[:, 1], w[:, 2], w[:, 3])
        return answered, segment, distance, factor

    def distance(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Distance of each point to the nearest segment, within ``max_distance``.

        Cheaper than :meth:`query` when only the distance matters (no tie-break, no position).

        Parameters
        ----------
        x, y : numpy.ndarray
            Point coordinates (metric, the grid's CRS).

        Returns
        -------
        (answered, distance) : tuple of numpy.ndarray
            ``answered`` as for :meth:`query`; ``distance`` is NaN where nothing is within
            ``max_distance`` (and where not answered). Equal, bit for bit, to
            ``shapely.distance`` to the nearest line.
        """
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        distance = np.full(len(x), np.nan)
        answered, blocks = self._blocks(x, y)
        for pts, _, first, _, dist in blocks:
            best = np.minimum.reduceat(dist, first)
            near = best <= self.max_distance
            distance[pts[near]] = best[near]
        return answered, distance

    #: Candidates measured at once: memory stays at a few tens of MB per query, and the arrays
    #: of a block stay in the processor's cache longer.
    _BLOCK = 100_000

    def _blocks(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, Iterator[tuple[np.ndarray, ...]]]:
        """Which points are in the grid, and their candidates measured block by block.

        Each block is ``(points, counts, first, segments, distances)``: points with candidates,
        their candidate counts, where each point's candidates start in the block, and per
        candidate its segment and distance (:func:`_point_segment`).
        """
        nrow, ncol = self.shape
        with np.errstate(invalid="ignore"):
            col = np.floor((x - self.origin[0]) / self.cell)
            row = np.floor((y - self.origin[1]) / self.cell)
            answered = (col >= 0) & (col < ncol) & (row >= 0) & (row < nrow)
        pts_all = np.flatnonzero(answered)
        cell_id = row[pts_all].astype(np.int64) * ncol + col[pts_all].astype(np.int64)
        lo_all = self.cell_ptr[cell_id]
        count_all = self.cell_ptr[cell_id + 1] - lo_all
        has = count_all > 0
        pts_all, lo_all, count_all = pts_all[has], lo_all[has], count_all[has]

        def blocks() -> Iterator[tuple[np.ndarray, ...]]:
            for start, stop, first, seg in _gathered_blocks(lo_all, count_all, self.cell_seg, self._BLOCK):
                pts, count = pts_all[start:stop], count_all[start:stop]
                p = np.repeat(pts, count)
                s = self.seg_xy[seg]
                dist, _ = _point_segment(x[p], y[p], s[:, 0], s[:, 1], s[:, 2], s[:, 3])
                yield pts, count, first, seg.astype(np.int64), dist

        return answered, blocks()

    def along(self, segment: np.ndarray, factor: np.ndarray, offset: np.ndarray) -> np.ndarray:
        """Position along the line (metres) of the nearest points, as ``line_locate_point`` on the piece
        plus the piece's ``offset`` (GEOS ``LengthIndexOfPoint``)."""
        start = self.seg_start[segment]
        length = self.seg_len[segment]
        in_piece = np.where(factor <= 0.0, start, np.where(factor <= 1.0, start + factor * length, start + length))
        # GEOS: a point equal to the segment's end has factor 1 (it is, with these formulas)
        out: np.ndarray = offset[self.seg_piece[segment]] + in_piece
        return out


@dataclass(frozen=True)
class NearMask:
    """Cells of a grid (metric CRS) within a distance of some line: a cheap filter for range queries.

    A cell is marked when its centre is within ``distance`` plus half the cell diagonal of a
    line, so every point within ``distance`` of a line lies in a marked cell (points outside the
    grid count as marked). The exact test is left to the caller.

    Attributes
    ----------
    origin : tuple of float
        ``(x, y)`` of the lower-left corner.
    cell : float
        Cell size (metres).
    mask : numpy.ndarray
        ``bool`` raster, row 0 at ``origin``'s y.
    """

    origin: tuple[float, float]
    cell: float
    mask: np.ndarray

    @classmethod
    def build(
        cls, tree: shapely.STRtree, bounds: tuple[float, float, float, float], distance: float, cell: float = 500.0
    ) -> NearMask:
        """Mark the cells over ``bounds`` within ``distance`` of the geometries of ``tree``."""
        if not (np.isfinite(distance) and distance >= 0 and cell > 0):
            raise ValueError(f"distance must be finite and >= 0 and cell > 0, got {distance}, {cell}")
        west, south, east, north = (float(v) for v in bounds)
        ncol = max(1, int(np.ceil((east - west) / cell)))
        nrow = max(1, int(np.ceil((north - south) / cell)))
        cx = west + (np.arange(ncol) + 0.5) * cell
        cy = south + (np.arange(nrow) + 0.5) * cell
        centres = shapely.points(np.tile(cx, nrow), np.repeat(cy, ncol))
        mask = np.zeros(nrow * ncol, dtype=bool)
        # 1 m of slack: marking more cells only costs exact tests
        hit, _ = tree.query(centres, predicate="dwithin", distance=distance + cell * np.sqrt(0.5) + 1.0)
        mask[hit] = True
        return cls((west, south), float(cell), mask.reshape(nrow, ncol))

    def __call__(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Whether each point may be within the distance (True outside the grid; False for NaN)."""
        nrow, ncol = self.mask.shape
        with np.errstate(invalid="ignore"):
            col = np.floor((np.asarray(x, float) - self.origin[0]) / self.cell)
            row = np.floor((np.asarray(y, float) - self.origin[1]) / self.cell)
            inside = (col >= 0) & (col < ncol) & (row >= 0) & (row < nrow)
        out: np.ndarray = np.isfinite(x) & np.isfinite(y) & ~inside
        out[inside] = self.mask[row[inside].astype(np.int64), col[inside].astype(np.int64)]
        return out
