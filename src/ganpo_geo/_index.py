"""Spatial indexes shared by zoning, red lines and siting: polygons with a grid accelerator.

Point-in-polygon for millions of points against a coverage of detailed polygons is dominated
by exact tests. A coarse raster of polygon ids (rasterio) answers every point whose grid cell
no polygon boundary crosses; only points in boundary cells (and outside the grid) go to the
STRtree for the exact test. The answer is the same as the exact test for every point.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import shapely

if TYPE_CHECKING:
    from affine import Affine

__all__ = ["GRID_MIN_POINTS", "LineChunks", "NearMask", "NearestLines", "PolygonIndex", "SegmentGrid", "snap_to_lines"]

#: Below this many points a query uses the tree alone (building a grid costs ~1 s).
GRID_MIN_POINTS = 20_000

_GRID_DEG = 0.002  # ~200 m: border cells cover ~13% of the province with 1093 units


class _NoGrid(NamedTuple):
    """The identity grid transform (the ``a, c, e, f`` that :meth:`PolygonIndex.query_points`
    reads) of an index built without a grid, so that it does not import affine."""

    a: float = 1.0
    c: float = 0.0
    e: float = 1.0
    f: float = 0.0


@dataclass(frozen=True)
class PolygonIndex:
    """Polygons (WGS84) with an STRtree and a grid of ids for fast point lookups.

    Attributes
    ----------
    geoms : numpy.ndarray
        The polygons, WGS84.
    tree : shapely.STRtree
        Index over ``geoms``.
    grid : numpy.ndarray
        ``int32`` raster: polygon position + 1 for cells no boundary crosses, 0 outside,
        -1 for cells a boundary crosses (exact test needed). When polygons overlap each
        other the whole grid is -1 (every point is tested exactly).
    transform : affine.Affine
        Grid transform (degrees); without a grid an identity stand-in (every point is tested
        exactly).
    """

    geoms: np.ndarray
    tree: shapely.STRtree
    grid: np.ndarray
    transform: Affine | _NoGrid

    @classmethod
    def build(cls, geoms: np.ndarray, grid_deg: float | None = _GRID_DEG) -> PolygonIndex:
        """Index polygons; the grid covers their extent at ``grid_deg``.

        ``grid_deg=None`` builds the tree only (every point tested exactly): the cheap choice
        for a handful of points, where rasterizing the grid would cost more than it saves.
        """
        geoms = np.asarray(geoms, dtype=object)
        shapely.prepare(geoms)
        if grid_deg is None:
            return cls(geoms, shapely.STRtree(geoms), np.full((1, 1), -1, dtype=np.int32), _NoGrid())
        west, south, east, north = shapely.total_bounds(geoms)
        # lazy on purpose, only when a grid is built: importing rasterio costs 0.15 s, affine
        # (with attrs) 0.05 s of a single site check
        import rasterio.features
        from affine import Affine

        ncol = max(1, int(np.ceil((east - west) / grid_deg)))
        nrow = max(1, int(np.ceil((north - south) / grid_deg)))
        transform = Affine(grid_deg, 0.0, west, 0.0, -grid_deg, north)
        ids = rasterio.features.rasterize(
            ((g, i + 1) for i, g in enumerate(geoms) if not g.is_empty),
            out_shape=(nrow, ncol),
            transform=transform,
            fill=0,
            all_touched=False,
            dtype="int32",
        )
        edges = rasterio.features.rasterize(
            ((b, 1) for b in shapely.boundary(geoms) if not b.is_empty),
            out_shape=(nrow, ncol),
            transform=transform,
            fill=0,
            all_touched=True,
            dtype="uint8",
        ).astype(bool)
        # one cell of margin around every boundary cell, against rounding at cell edges
        grown = edges.copy()
        grown[1:, :] |= edges[:-1, :]
        grown[:-1, :] |= edges[1:, :]
        grown[:, 1:] |= edges[:, :-1]
        grown[:, :-1] |= edges[:, 1:]
        ids[grown] = -1
        tree = shapely.STRtree(geoms)
        left, right = tree.query(geoms, predicate="overlaps")
        pair = left < right
        if pair.any():
            # slivers along shared borders lie in border cells, which are tested exactly; a real
            # overlap (a cell's worth) would put one id where two polygons are: test all exactly
            area = shapely.area(shapely.intersection(geoms[left[pair]], geoms[right[pair]]))
            if (area > 0.01 * grid_deg**2).any():
                ids[:] = -1
        return cls(geoms, tree, ids, transform)

    def query_points(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pairs (point position, polygon position) of points inside (or on) polygons.

        Parameters
        ----------
        x, y : numpy.ndarray
            Point coordinates (WGS84); NaN points match nothing.

        Returns
        -------
        (numpy.ndarray, numpy.ndarray)
            Point and polygon positions, sorted by point; a point on a shared border may
            match two polygons, as with ``intersects``.
        """
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        nrow, ncol = self.grid.shape
        with np.errstate(invalid="ignore"):
            col = np.floor((x - self.transform.c) / self.transform.a)
            row = np.floor((y - self.transform.f) / self.transform.e)
            inside = (col >= 0) & (col < ncol) & (row >= 0) & (row < nrow)
        value = np.full(x.shape, -1, dtype=np.int64)
        value[inside] = self.grid[row[inside].astype(np.int64), col[inside].astype(np.int64)]
        finite = np.isfinite(x) & np.isfinite(y)
        value[~finite] = 0
        value[~inside & finite] = -1
        fast = value > 0
        fast_pts = np.flatnonzero(fast)
        fast_polys = value[fast] - 1
        slow = np.flatnonzero(value == -1)
        if slow.size:
            pts = shapely.points(x[slow], y[slow])
            p_idx, g_idx = self.tree.query(pts, predicate="intersects")
            slow_pts, slow_polys = slow[p_idx], g_idx
        else:
            slow_pts = slow_polys = np.empty(0, dtype=np.int64)
        pts_all = np.concatenate([fast_pts, slow_pts])
        polys_all = np.concatenate([fast_polys, slow_polys])
        order = np.lexsort((polys_all, pts_all))
        return pts_all[order], polys_all[order]


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


def _segment_candidates(
    seg_xy: np.ndarray,
    pieces: np.ndarray,
    origin: tuple[float, float],
    cell: float,
    shape: tuple[int, int],
    max_distance: float,
) -> tuple[np.ndarray, np.ndarray]:
    """(cell, segment) pairs, sorted, of every segment that can be nearest to a point of the cell.

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
    q_cell, q_seg = tree.query(shapely.points(centre_x, centre_y), predicate="dwithin", distance=bound)
    if q_cell.size == 0:
        return q_cell, q_seg
    order = np.lexsort((q_seg, q_cell))
    q_cell, q_seg = q_cell[order], q_seg[order]
    s = seg_xy[q_seg]
    d, _ = _point_segment(centre_x[q_cell], centre_y[q_cell], s[:, 0], s[:, 1], s[:, 2], s[:, 3])
    first = np.flatnonzero(np.r_[True, q_cell[1:] != q_cell[:-1]])
    nearest = np.minimum.reduceat(d, first)
    nearest = np.repeat(nearest, np.diff(np.r_[first, len(q_cell)]))
    # the 1 m of slack only adds candidates: answers stay exact
    useful = (d <= nearest + 2 * half_diag + 1.0) & (nearest - half_diag <= max_distance)
    return q_cell[useful], q_seg[useful]


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
        cell: float = 1000.0,
    ) -> SegmentGrid:
        """Index the segments of ``chunks`` over ``bounds`` (metric ``west, south, east, north``).

        Parameters
        ----------
        chunks : LineChunks
            The lines, cut into pieces.
        bounds : tuple of float
            Area the queries will come from; points outside it are not answered.
        max_distance : float
            Largest distance a query answers (metres, finite).
        cell : float
            Cell size (metres): smaller cells hold fewer candidates but cost more to build.
        """
        if not (np.isfinite(max_distance) and max_distance >= 0 and cell > 0):
            raise ValueError(f"max_distance must be finite and >= 0 and cell > 0, got {max_distance}, {cell}")
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
        ncol = max(1, int(np.ceil((east - west) / cell)))
        nrow = max(1, int(np.ceil((north - south) / cell)))
        ptr = np.zeros(nrow * ncol + 1, dtype=np.int64)
        cand = np.empty(0, dtype=np.int32)
        if len(seg_xy):
            cand_cell, cand = _segment_candidates(
                seg_xy, chunks.pieces, (west, south), cell, (nrow, ncol), max_distance
            )
            ptr[1:] = np.cumsum(np.bincount(cand_cell, minlength=nrow * ncol))
            cand = cand.astype(np.int32)
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

    def query(self, x: np.ndarray, y: np.ndarray, line_rank: np.ndarray, owner: np.ndarray) -> tuple[
        np.ndarray, np.ndarray, np.ndarray, np.ndarray
    ]:
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
        nrow, ncol = self.shape
        with np.errstate(invalid="ignore"):
            col = np.floor((x - self.origin[0]) / self.cell)
            row = np.floor((y - self.origin[1]) / self.cell)
            answered = (col >= 0) & (col < ncol) & (row >= 0) & (row < nrow)
        segment = np.full(n, -1, dtype=np.int64)
        distance = np.full(n, np.nan)
        factor = np.full(n, np.nan)
        pts = np.flatnonzero(answered)
        cell_id = row[pts].astype(np.int64) * ncol + col[pts].astype(np.int64)
        lo = self.cell_ptr[cell_id]
        count = self.cell_ptr[cell_id + 1] - lo
        has = count > 0
        pts, lo, count = pts[has], lo[has], count[has]
        if pts.size == 0:
            return answered, segment, distance, factor
        first = np.cumsum(count) - count  # where each point's candidates start
        pos = np.arange(int(count.sum())) - np.repeat(first - lo, count)
        seg = self.cell_seg[pos].astype(np.int64)
        p = np.repeat(pts, count)
        s = self.seg_xy[seg]
        dist, _ = _point_segment(x[p], y[p], s[:, 0], s[:, 1], s[:, 2], s[:, 3])
        best = np.minimum.reduceat(dist, first)
        # ties: the lower line rank, then the earlier segment (as GEOS within a piece)
        rank = line_rank[owner[self.seg_piece[seg]]].astype(np.int64)
        key = np.where(dist == np.repeat(best, count), rank * len(self.seg_xy) + seg, np.iinfo(np.int64).max)
        won = np.minimum.reduceat(key, first) % len(self.seg_xy)
        near = best <= self.max_distance
        pts, won, best = pts[near], won[near], best[near]
        segment[pts] = won
        distance[pts] = best
        w = self.seg_xy[won]
        _, factor[pts] = _point_segment(x[pts], y[pts], w[:, 0], w[:, 1], w[:, 2], w[:, 3])
        return answered, segment, distance, factor

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
