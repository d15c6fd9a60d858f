"""Spatial indexes of ``_index``.

NearestLines.build: same index as the per-line reference, in time linear in the number of lines.
PolygonIndex.query_points: the same pairs as ``STRtree.query(points, predicate="intersects")``.
"""

from __future__ import annotations

import pickle
import time

import numpy as np
import pytest
import shapely
from scipy.spatial import cKDTree

from ganpo_geo._index import (
    LineChunks,
    NearestLines,
    PolygonIndex,
    _part_offsets,
    coordinates,
    query_points_many,
    snap_to_lines,
)


def _reference_build(lines: np.ndarray, spacing: float) -> NearestLines:
    """The original build: a per-line scan of every part (quadratic), kept as the oracle."""
    lines = np.asarray(lines, dtype=object)
    parts, line_of_part = shapely.get_parts(lines, return_index=True)
    parts = shapely.segmentize(parts, spacing)
    xy, part_idx = shapely.get_coordinates(parts, return_index=True)
    seg = np.hypot(*np.diff(xy, axis=0).T)
    same = part_idx[1:] == part_idx[:-1]
    step = np.where(same, seg, 0.0)
    along = np.concatenate([[0.0], np.cumsum(step)])
    starts = np.r_[0, np.flatnonzero(~same) + 1]
    along -= np.repeat(along[starts], np.diff(np.r_[starts, len(along)]))
    part_len = shapely.length(parts)
    offset = np.zeros(len(parts))
    for line_pos in np.unique(line_of_part):
        mine = np.flatnonzero(line_of_part == line_pos)
        offset[mine] = np.concatenate([[0.0], np.cumsum(part_len[mine])[:-1]])
    along += offset[part_idx]
    has_next = np.r_[same, False]
    return NearestLines(xy, line_of_part[part_idx], along, has_next, cKDTree(xy), float(spacing))


def _reference_chunks(lines: np.ndarray, vertices: int = 16) -> LineChunks:
    """The original LineChunks.build: a Python loop over lines and parts, kept as the oracle."""
    coords_all, pieces_idx, owner, offset = [], [], [], []
    count = 0
    for pos, line in enumerate(np.asarray(lines, dtype=object)):
        start = 0.0
        for part in shapely.get_parts(line):
            xy = shapely.get_coordinates(part)
            seg = np.hypot(*np.diff(xy, axis=0).T)
            cum = np.concatenate([[0.0], np.cumsum(seg)])
            for s in range(0, max(len(xy) - 1, 1), vertices - 1):
                chunk = xy[s : s + vertices]
                if len(chunk) < 2:
                    continue
                coords_all.append(chunk)
                pieces_idx.append(np.full(len(chunk), count))
                owner.append(pos)
                offset.append(start + cum[s])
                count += 1
            start += cum[-1]
    pieces = shapely.linestrings(np.concatenate(coords_all), indices=np.concatenate(pieces_idx))
    return LineChunks(pieces, np.array(owner), np.array(offset), shapely.STRtree(pieces))


def _random_lines(rng: np.random.Generator, n: int, multi_share: float) -> np.ndarray:
    """Random LineStrings and MultiLineStrings (up to 7 parts, odd lengths), plus empties and None."""
    out = []
    for _ in range(n):
        n_parts = int(rng.integers(2, 8)) if rng.random() < multi_share else 1
        parts = []
        for _ in range(n_parts):
            k = int(rng.integers(2, 6)) if rng.random() < 0.7 else int(rng.integers(14, 60))
            start = rng.uniform(0, 5_000, 2)
            parts.append(shapely.linestrings(start + np.cumsum(rng.normal(0, 37.3, (k, 2)), axis=0)))
        out.append(shapely.multilinestrings(parts) if n_parts > 1 else parts[0])
    out[3] = None
    out[7] = shapely.from_wkt("LINESTRING EMPTY")
    out[11] = shapely.from_wkt("MULTILINESTRING EMPTY")
    return np.array(out, dtype=object)


def _assert_same(a: NearestLines, b: NearestLines) -> None:
    for field in ("xy", "line", "along", "has_next"):
        x, y = getattr(a, field), getattr(b, field)
        assert x.dtype == y.dtype, field
        assert np.array_equal(x, y), field  # bit-identical, not just close
    assert a.spacing == b.spacing


@pytest.mark.parametrize("multi_share", [0.0, 0.3, 1.0])
def test_build_is_bit_identical_to_per_line_reference(multi_share: float) -> None:
    rng = np.random.default_rng(int(multi_share * 10) + 5)
    lines = _random_lines(rng, 400, multi_share)
    for spacing in (10.0, 25.0):
        _assert_same(NearestLines.build(lines, spacing), _reference_build(lines, spacing))


def test_build_all_single_part_lines_matches_reference_and_query() -> None:
    rng = np.random.default_rng(2)
    start = rng.uniform(0, 10_000, (300, 2))
    lines = shapely.linestrings(np.stack([start, start + rng.normal(0, 80, (300, 2))], axis=1))
    ours = NearestLines.build(lines, 10.0)
    _assert_same(ours, _reference_build(lines, 10.0))
    x, y = rng.uniform(0, 10_000, (2, 500))
    got_line, got_d, got_along = ours.query(x, y)
    ref_line, ref_d, ref_along = _reference_build(lines, 10.0).query(x, y)
    assert np.array_equal(got_line, ref_line)
    assert np.array_equal(got_d, ref_d) and np.array_equal(got_along, ref_along)


def test_along_restarts_at_each_line_and_continues_across_parts() -> None:
    multi = shapely.from_wkt("MULTILINESTRING ((0 0, 30 0), (100 0, 100 40))")
    single = shapely.from_wkt("LINESTRING (0 10, 0 30)")
    idx = NearestLines.build(np.array([multi, single], dtype=object), 10.0)
    line, dist, along = idx.query(np.array([100.0, 1.0, 20.0]), np.array([40.0, 20.0, 0.0]))
    assert line.tolist() == [0, 1, 0]
    assert along.tolist() == pytest.approx([70.0, 10.0, 20.0])  # 30 m of the first part, then 40 m
    assert dist.tolist() == pytest.approx([0.0, 1.0, 0.0])


def test_part_offsets_bad_order_is_not_silently_merged() -> None:
    # a line's parts are a run; a line id that comes back later starts a new run at offset 0
    offsets = _part_offsets(np.array([0, 0, 1, 0]), np.array([1.5, 2.0, 4.0, 8.0]))
    assert offsets.tolist() == [0.0, 1.5, 0.0, 0.0]


def test_part_offsets_empty_and_single() -> None:
    assert _part_offsets(np.array([], dtype=np.int64), np.array([])).shape == (0,)
    assert _part_offsets(np.array([4]), np.array([2.0])).tolist() == [0.0]


@pytest.mark.parametrize("multi_share", [0.0, 0.4])
@pytest.mark.parametrize("vertices", [2, 5, 16])
def test_line_chunks_bit_identical_to_per_line_loop(multi_share: float, vertices: int) -> None:
    lines = _random_lines(np.random.default_rng(vertices), 300, multi_share)
    ours, ref = LineChunks.build(lines, vertices), _reference_chunks(lines, vertices)
    got_xy, got_i = shapely.get_coordinates(ours.pieces, return_index=True)
    ref_xy, ref_i = shapely.get_coordinates(ref.pieces, return_index=True)
    assert np.array_equal(got_xy, ref_xy) and np.array_equal(got_i, ref_i)
    for field in ("owner", "offset"):
        assert getattr(ours, field).dtype == getattr(ref, field).dtype, field
        assert np.array_equal(getattr(ours, field), getattr(ref, field)), field
    assert (shapely.get_num_coordinates(ours.pieces) <= vertices).all()


def test_line_chunks_snap_same_as_reference() -> None:
    rng = np.random.default_rng(4)
    lines = _random_lines(rng, 200, 0.3)
    ids = np.arange(len(lines)) + 100
    lengths = shapely.length(lines)
    x, y = rng.uniform(-200, 5_200, (2, 2_000))
    got = snap_to_lines(x, y, LineChunks.build(lines), ids, lengths, 300.0)
    ref = snap_to_lines(x, y, _reference_chunks(lines), ids, lengths, 300.0)
    for a, b in zip(got, ref, strict=True):
        assert np.array_equal(a, b, equal_nan=True)
    assert np.isfinite(got[0]).sum() > 1_000  # most points found a line


def test_line_chunks_bad_vertices_and_no_lines() -> None:
    line = shapely.linestrings([[0, 0], [1, 1]])
    with pytest.raises(ValueError, match="at least 2"):
        LineChunks.build(np.array([line]), vertices=1)
    empty = LineChunks.build(np.array([None, shapely.from_wkt("LINESTRING EMPTY")], dtype=object))
    assert len(empty.pieces) == len(empty.owner) == len(empty.offset) == 0


def _best_of(func, repeat: int) -> float:
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - start)
    return best


def test_build_200k_single_part_lines_is_not_quadratic() -> None:
    """200,000 lines: the per-line scan takes ~240x an STRtree build; the linear build 10-25x.

    The bound is relative to an STRtree over the same lines in the same run, so a slow or busy
    machine moves both sides. Measured on the 2-core development machine: STRtree 0.065 s,
    per-line (quadratic) build 15.6 s (241x), this build 0.65-1.5 s (10-23x). 60x sits a factor
    of 4 from the quadratic build and 2.5-6 from the linear one.
    """
    rng = np.random.default_rng(0)
    n = 200_000
    start = rng.uniform(0, 100_000, (n, 2))
    lines = shapely.linestrings(np.stack([start, start + rng.uniform(-200, 200, (n, 2))], axis=1))
    t_tree = _best_of(lambda: shapely.STRtree(lines), 3)
    t_build = _best_of(lambda: NearestLines.build(lines, 200.0), 2)
    idx = NearestLines.build(lines, 200.0)
    assert len(np.unique(idx.line)) == n
    assert t_build < 60 * t_tree, f"NearestLines.build {t_build:.2f} s vs STRtree {t_tree:.3f} s"


def test_snap_with_kdtree_bound_matches_exact_tree_path() -> None:
    """The KD-tree bound + envelope candidates give the exact path's answer (same ids, distances)."""
    rng = np.random.default_rng(9)
    lines = _random_lines(rng, 300, 0.3)
    chunks = LineChunks.build(lines, 16)
    nearest = NearestLines.build(lines, 25.0)
    ids = np.arange(len(lines)) * 3 + 7
    lengths = shapely.length(lines)
    x, y = rng.uniform(-300, 5_300, (2, 5_000))
    fast = snap_to_lines(x, y, chunks, ids, lengths, 150.0, nearest)
    exact = snap_to_lines(x, y, chunks, ids, lengths, 150.0)
    assert np.array_equal(fast[0], exact[0], equal_nan=True)
    assert np.array_equal(fast[1], exact[1], equal_nan=True)
    assert np.allclose(fast[2], exact[2], equal_nan=True, atol=1e-9)
    found = np.isfinite(exact[0])
    assert 0 < found.sum() < len(x)  # some points within 150 m, some farther


# --- PolygonIndex ------------------------------------------------------------------------------


def _tree_pairs(geoms: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The oracle: STRtree ``intersects`` of every finite point, sorted by point then polygon."""
    finite = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
    p, g = shapely.STRtree(geoms).query(shapely.points(x[finite], y[finite]), predicate="intersects")
    p = finite[p]
    order = np.lexsort((g, p))
    return p[order], g[order]


def _assert_pairs(index: PolygonIndex, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    got = index.query_points(x, y)
    want = _tree_pairs(index.geoms, x, y)
    assert got[0].dtype == got[1].dtype == np.int64
    assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
    return got


def _probe_points(
    geoms: np.ndarray, index: PolygonIndex, rng: np.random.Generator, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Random points around the polygons, their vertices, points on their edges, points on grid
    cell edges and corners (also where edges run along them), far points, NaN and infinities."""
    west, south, east, north = shapely.total_bounds(geoms)
    w, h = east - west, north - south
    x = [rng.uniform(west - 0.1 * w, east + 0.1 * w, n)]
    y = [rng.uniform(south - 0.1 * h, north + 0.1 * h, n)]
    xy = shapely.get_coordinates(geoms)
    x.append(xy[:, 0])
    y.append(xy[:, 1])
    parts = shapely.get_parts(shapely.get_parts(geoms))
    rings = shapely.get_exterior_ring(parts[(shapely.get_dimensions(parts) == 2) & ~shapely.is_empty(parts)])
    on_edge = shapely.line_interpolate_point(rings, rng.uniform(0, 1, (20, len(rings))), normalized=True).ravel()
    x.append(shapely.get_x(on_edge))
    y.append(shapely.get_y(on_edge))
    t = index.transform
    if index.grid.size:
        nrow, ncol = index.grid.shape
        cols = rng.integers(0, ncol + 1, n)
        rows = rng.integers(0, nrow + 1, n)
        gx, gy = t.c + cols * t.a, t.f + rows * t.e  # cell edges (as the query computes them)
        x += [gx, gx, rng.uniform(west, east, n)]
        y += [gy, rng.uniform(south, north, n), gy]
    x.append(np.array([np.nan, 0.0, np.inf, -np.inf, west - 10 * w, 1e300, west]))
    y.append(np.array([0.0, np.nan, south, north, south, 1e300, np.nan]))
    return np.concatenate(x), np.concatenate(y)


def _voronoi_coverage(rng: np.random.Generator, n: int) -> np.ndarray:
    """A coverage (shared borders) of Voronoi cells, one with a hole filled by an island, one
    multipolygon of two cells, and a tiny polygon smaller than a grid cell."""
    seeds = shapely.multipoints(rng.uniform(0, 10, (n, 2)))
    frame = shapely.box(0, 0, 10, 10)
    cells = shapely.intersection(shapely.get_parts(shapely.voronoi_polygons(seeds, extend_to=frame)), frame)
    cells = list(cells[shapely.area(cells) > 0])
    centre = shapely.centroid(cells[0])
    island = shapely.buffer(centre, 0.05)
    cells[0] = shapely.difference(cells[0], island)
    cells.append(island)
    cells.append(shapely.union(cells.pop(1), cells.pop(1)))
    cells.append(shapely.box(20.001, 20.001, 20.002, 20.002))  # 1/100 of a cell, far off
    return np.array(cells, dtype=object)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_polygon_index_same_pairs_as_tree_on_a_coverage(seed: int) -> None:
    rng = np.random.default_rng(seed)
    geoms = _voronoi_coverage(rng, 40)
    index = PolygonIndex.build(geoms, 0.1)
    assert index.grid.shape[0] > 100 and (index.grid > 0).any() and (index.grid < 0).any()
    x, y = _probe_points(geoms, index, rng, 20_000)
    pts, _ = _assert_pairs(index, x, y)
    twice = np.bincount(pts)
    assert (twice >= 2).sum() > 100  # vertices and edge points on shared borders match two
    _assert_pairs(PolygonIndex.build(geoms, None), x, y)


def test_polygon_index_checkerboard_with_edges_on_the_grid_lines() -> None:
    """Squares whose edges run along the grid lines, probed on every line and corner: points on
    a cell edge match all the squares that share it (two, or four at a corner)."""
    step = 0.25  # exact in binary, like the cell edges
    i, j = np.meshgrid(np.arange(8), np.arange(6))
    squares = shapely.box(i.ravel() * step, j.ravel() * step, (i.ravel() + 1) * step, (j.ravel() + 1) * step)
    keep = (i.ravel() + j.ravel()) % 5 != 0  # some holes in the board
    geoms = squares[keep]
    for grid_deg in (0.25, 0.125, 0.1, 0.3):
        index = PolygonIndex.build(geoms, grid_deg)
        k = np.arange(-8, 70) * (step / 4)
        gx, gy = np.meshgrid(k, k)
        x = np.r_[gx.ravel(), np.nextafter(gx.ravel(), np.inf), np.nextafter(gx.ravel(), -np.inf)]
        y = np.r_[gy.ravel(), gy.ravel(), np.nextafter(gy.ravel(), np.inf)]
        pts, _ = _assert_pairs(index, x, y)
        assert np.bincount(pts).max() == 4


def test_polygon_index_overlapping_polygons_and_mixed_geometries() -> None:
    """Overlaps (points in several polygons at once), lines, points, a collection, None and
    empty geometries: the grid still gives the tree's pairs."""
    rng = np.random.default_rng(5)
    discs = shapely.buffer(shapely.points(rng.uniform(0, 5, (30, 2))), rng.uniform(0.1, 1.5, 30))
    extra = [
        shapely.box(1, 1, 4, 4),  # holds many discs
        shapely.linestrings([[0, 0], [5, 5], [5, 0]]),
        shapely.points(2.5, 2.5),
        shapely.from_wkt("GEOMETRYCOLLECTION (POLYGON ((6 6, 7 6, 7 7, 6 6)), LINESTRING (6 0, 7 1))"),
        None,
        shapely.from_wkt("POLYGON EMPTY"),
    ]
    geoms = np.array(list(discs) + extra, dtype=object)
    index = PolygonIndex.build(geoms, 0.05)
    present = geoms[[g is not None for g in geoms]]
    x, y = _probe_points(present, index, rng, 30_000)
    x = np.r_[x, [2.5, 0.0, 5.0, 2.0, 6.5]]
    y = np.r_[y, [2.5, 0.0, 5.0, 2.0, 0.5]]  # on the point, the line's ends and middle, the collection's line
    pts, polys = _assert_pairs(index, x, y)
    assert np.bincount(pts).max() >= 4
    assert {30 + 1, 30 + 2, 30 + 3} <= set(polys.tolist())


@pytest.mark.parametrize("name", ["counties", "control_units", "redlines", "catchments"])
def test_polygon_index_bundled_layers(name: str) -> None:
    """The four bundled polygon layers the checks index (red lines by part), at the default grid."""
    from ganpo_geo.layers import load_layer

    rng = np.random.default_rng(3)
    geoms = shapely.get_parts(load_layer(name).geometry.to_numpy())
    index = PolygonIndex.build(geoms)
    x, y = _probe_points(geoms, index, rng, 20_000)
    pick = rng.choice(len(x), 60_000, replace=False)  # all vertices would take the tree long
    pts, _ = _assert_pairs(index, x[pick], y[pick])
    assert (np.bincount(pts) >= 2).sum() > (100 if name != "redlines" else 0)


def test_polygon_index_grid_answers_without_the_tree() -> None:
    """Boundary cells are answered by their own short lists, not by the STRtree."""

    class NoQueries:
        def query(self, *args: object, **kwargs: object) -> None:
            raise AssertionError("the tree was queried")

    rng = np.random.default_rng(4)
    geoms = _voronoi_coverage(rng, 30)
    index = PolygonIndex.build(geoms, 0.1)
    blind = PolygonIndex(**{**index.__dict__, "tree": NoQueries()})
    x, y = _probe_points(geoms, index, rng, 5_000)
    got = blind.query_points(x, y)
    want = _tree_pairs(geoms, x, y)
    assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])


def test_polygon_index_pickles_and_answers_the_same() -> None:
    """Pickles drop the preparation of geometries: unpickling prepares them again (and builds
    their point locators, which threads sharing the index must not build concurrently)."""
    from concurrent.futures import ThreadPoolExecutor

    rng = np.random.default_rng(6)
    geoms = _voronoi_coverage(rng, 20)
    index = PolygonIndex.build(geoms, 0.2)
    assert not shapely.is_prepared(pickle.loads(pickle.dumps(geoms))).any()
    clone = pickle.loads(pickle.dumps(index))
    assert shapely.is_prepared(clone.geoms).all()
    x, y = _probe_points(geoms, index, rng, 5_000)
    want = index.query_points(x, y)
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: clone.query_points(x, y), range(8)))
    for got in answers:
        assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])


def test_polygon_index_empty_inputs_and_bad_grid() -> None:
    none = np.empty(0)
    for geoms in (np.empty(0, dtype=object), np.array([None, shapely.from_wkt("POLYGON EMPTY")], dtype=object)):
        for grid_deg in (0.1, None):
            index = PolygonIndex.build(geoms, grid_deg)
            pts, polys = index.query_points(np.array([0.0, np.nan]), np.array([0.0, 1.0]))
            assert len(pts) == len(polys) == 0
    index = PolygonIndex.build(_voronoi_coverage(np.random.default_rng(0), 10), 0.5)
    pts, polys = index.query_points(none, none)
    assert len(pts) == len(polys) == 0 and pts.dtype == polys.dtype == np.int64
    pts, _ = index.query_points(np.array([5.0, np.nan, 5.0]), np.array([5.0, 5.0, np.nan]))
    assert pts.tolist() == [0]
    wide = np.array([shapely.box(-170, -80, 170, 80), shapely.box(10, 10, 10.001, 10.001)])
    index = PolygonIndex.build(wide, 0.002)  # 1.4e10 cells at 0.002: 32 times larger cells instead
    assert index.grid.size <= 16_000_000 and index.transform.a == 0.002 * 2**5
    x = np.array([0.0, 10.0005, 10.001, 10.0011, 175.0])
    pts, polys = index.query_points(x, np.array([0.0, 10.0005, 10.001, 10.0005, 0.0]))
    assert pts.tolist() == [0, 1, 1, 2, 2, 3] and polys.tolist() == [0, 0, 1, 0, 1, 0]
    for bad in (0.0, -0.1, np.nan):
        with pytest.raises(ValueError, match="grid_deg"):
            PolygonIndex.build(np.array([shapely.box(0, 0, 1, 1)]), bad)


def test_query_points_many_shares_the_grid_and_answers_like_each_index() -> None:
    from ganpo_geo.layers import load_layer

    rng = np.random.default_rng(8)
    counties = load_layer("counties").geometry.to_numpy()
    catchments = load_layer("catchments").geometry.to_numpy()
    reds = shapely.get_parts(load_layer("redlines").geometry.to_numpy())
    indexes = [
        PolygonIndex.build(counties),
        PolygonIndex.build(catchments),
        PolygonIndex.build(reds),  # a smaller extent: another grid
        PolygonIndex.build(counties, None),  # no grid
        PolygonIndex.build(counties, 0.01),
    ]
    assert indexes[0]._grid_key() == indexes[1]._grid_key() != indexes[2]._grid_key()
    x, y = _probe_points(counties, indexes[0], rng, 30_000)
    calls = []
    locate = PolygonIndex._locate

    def counted(self: PolygonIndex, *args: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        calls.append(self)
        return locate(self, *args)

    PolygonIndex._locate = counted  # type: ignore[method-assign]
    try:
        many = query_points_many(indexes, x, y)
    finally:
        PolygonIndex._locate = locate  # type: ignore[method-assign]
    assert len(calls) == 3  # counties and catchments share one pass, the tree needs none
    for index, (pts, polys) in zip(indexes, many, strict=True):
        alone = index.query_points(x, y)
        assert np.array_equal(pts, alone[0]) and np.array_equal(polys, alone[1])
    assert np.array_equal(many[3][0], many[0][0]) and np.array_equal(many[3][1], many[0][1])
    assert query_points_many([], x, y) == []
    with pytest.raises(ValueError, match="1-d arrays of one length"):
        query_points_many(indexes[:1], x, y[:-1])
    with pytest.raises(ValueError, match="1-d arrays of one length"):
        indexes[0].query_points(x.reshape(-1, 1), y.reshape(-1, 1))


def test_coordinates_equal_shapely_get_coordinates() -> None:
    rng = np.random.default_rng(2)
    points = shapely.points(rng.uniform(-180, 180, 1_000), rng.uniform(-90, 90, 1_000))
    with_empty = points.copy()
    with_empty[[3, 500]] = shapely.Point()  # empty points have no row
    with_nan = points.copy()
    with_nan[7] = shapely.Point(np.nan, 1.0)
    mixed = points.copy()
    mixed[9] = shapely.LineString([(0, 0), (1, 1)])
    mixed[10] = None
    for geoms in (points, with_empty, with_nan, mixed, points[:0]):
        np.testing.assert_array_equal(coordinates(geoms), shapely.get_coordinates(geoms))
        got, got_index = coordinates(geoms, return_index=True)
        want, want_index = shapely.get_coordinates(geoms, return_index=True)
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(got_index, want_index)
        assert got.shape[1] == 2 and got_index.dtype == want_index.dtype
