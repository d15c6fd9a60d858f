"""Spatial indexes shared by zoning, red lines and siting: polygons with a grid accelerator.

Point-in-polygon for millions of points against a coverage of detailed polygons is dominated
by exact tests. A coarse raster of polygon ids (rasterio) answers every point whose grid cell
no polygon boundary crosses; only points in boundary cells (and outside the grid) go to the
STRtree for the exact test. The answer is the same as the exact test for every point.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import rasterio.features
import shapely
from affine import Affine

__all__ = ["NearestLines", "PolygonIndex"]

_GRID_DEG = 0.002  # ~200 m: border cells cover ~13% of the province with 1093 units


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
        Grid transform (degrees).
    """

    geoms: np.ndarray
    tree: shapely.STRtree
    grid: np.ndarray
    transform: Affine

    @classmethod
    def build(cls, geoms: np.ndarray, grid_deg: float = _GRID_DEG) -> PolygonIndex:
        """Index polygons; the grid covers their extent at ``grid_deg``."""
        geoms = np.asarray(geoms, dtype=object)
        shapely.prepare(geoms)
        west, south, east, north = shapely.total_bounds(geoms)
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
    tree: object
    spacing: float

    @classmethod
    def build(cls, lines: np.ndarray, spacing: float = 10.0) -> NearestLines:
        """Index line geometries (LineString/MultiLineString/rings) in a metric CRS."""
        from scipy.spatial import cKDTree

        lines = np.asarray(lines, dtype=object)
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
        part_len = shapely.length(parts)
        offset = np.zeros(len(parts))
        for line_pos in np.unique(line_of_part):  # parts of a multi-line follow each other
            mine = np.flatnonzero(line_of_part == line_pos)
            offset[mine] = np.concatenate([[0.0], np.cumsum(part_len[mine])[:-1]])
        along += offset[part_idx]
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
        d0, v = self.tree.query(pts[ok], k=1, distance_upper_bound=bound, workers=-1)
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
