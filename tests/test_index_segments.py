"""SegmentGrid (in ``_index``): the nearest line from a grid of candidate segments, bit for bit
the answer of the pieces' tree (``snap_to_lines`` without an index)."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from ganpo_geo._index import LineChunks, NearMask, SegmentGrid, _point_segment, snap_to_lines


def _random_lines(rng: np.random.Generator, n: int) -> np.ndarray:
    """Wiggly metric lines (a few km long) over a 60 km square, some multi-part."""
    lines = []
    for _ in range(n):
        k = int(rng.integers(2, 60))
        start = rng.uniform(0, 60_000, 2)
        steps = rng.normal(0, 400, (k, 2)).cumsum(axis=0)
        lines.append(shapely.linestrings(start + steps))
    lines[3] = shapely.multilinestrings([lines[3], lines[4]])
    return np.asarray(lines, dtype=object)


def _both(x, y, lines, ids, max_m, cell=1500.0, bounds=(0.0, 0.0, 60_000.0, 60_000.0)):
    chunks = LineChunks.build(lines, vertices=8)
    length = shapely.length(lines)
    grid = SegmentGrid.build(chunks, bounds, max_m, cell)
    fast = snap_to_lines(x, y, chunks, ids, length, max_m, grid=grid)
    tree = snap_to_lines(x, y, chunks, ids, length, max_m)
    return fast, tree, grid


def _assert_same(a: tuple[np.ndarray, ...], b: tuple[np.ndarray, ...]) -> None:
    for got, want in zip(a, b, strict=True):
        np.testing.assert_array_equal(got, want)  # NaN == NaN here; no tolerance


def test_grid_equals_the_tree_to_the_last_bit() -> None:
    rng = np.random.default_rng(1)
    lines = _random_lines(rng, 40)
    ids = rng.permutation(1000)[:40]
    verts = shapely.get_coordinates(lines)
    x = np.r_[rng.uniform(-5_000, 65_000, 20_000), verts[:500, 0], np.nan, 1e9]
    y = np.r_[rng.uniform(-5_000, 65_000, 20_000), verts[:500, 1], 3.0, 1e9]
    fast, tree, _ = _both(x, y, lines, ids, 4_000.0)
    _assert_same(fast, tree)
    assert np.isfinite(fast[1]).mean() > 0.5  # most points are answered, some are too far
    assert np.isnan(fast[1][-2:]).all()  # NaN and far-away points: no answer


def test_points_on_segments_and_outside_the_grid() -> None:
    rng = np.random.default_rng(2)
    lines = _random_lines(rng, 15)
    ids = np.arange(15)
    on = shapely.line_interpolate_point(lines, rng.uniform(0, 1, 15), normalized=True)
    xy = shapely.get_coordinates(on)
    # also points beyond the grid's bounds but within reach of a line: the tree answers those
    x = np.r_[xy[:, 0], -1_500.0, 61_000.0]
    y = np.r_[xy[:, 1], 30_000.0, 30_000.0]
    fast, tree, _ = _both(x, y, lines, ids, 50_000.0)
    _assert_same(fast, tree)
    assert (fast[1][:15] < 1e-6).all()


def test_ties_go_to_the_lower_id_then_the_earlier_piece() -> None:
    # two lines at the same distance from the point: the lower id wins in both paths
    lines = np.array(
        [shapely.LineString([(0, 10), (100, 10)]), shapely.LineString([(0, -10), (100, -10)])], dtype=object
    )
    x, y = np.array([50.0]), np.array([0.0])
    fast, tree, _ = _both(x, y, lines, np.array([7, 3]), 1_000.0, cell=40.0, bounds=(-50, -50, 150, 50))
    _assert_same(fast, tree)
    assert fast[0][0] == 3
    # a point nearest to the vertex two pieces share: the earlier piece's end, in both paths
    zigzag = np.array([shapely.LineString([(i * 10.0, (i % 2) * 10.0) for i in range(30)])], dtype=object)
    x = np.array([70.0, 70.0])
    y = np.array([20.0, 15.0])
    fast, tree, _ = _both(x, y, zigzag, np.array([1]), 1_000.0, cell=25.0, bounds=(-10, -10, 300, 40))
    _assert_same(fast, tree)


def test_point_segment_matches_shapely_distance() -> None:
    rng = np.random.default_rng(3)
    a, b, p = rng.uniform(0, 1e5, (3, 5000, 2))
    b[:50] = a[:50]  # degenerate segments
    p[50:100] = a[50:100]  # points on an end
    p[100:150] = b[100:150]
    d, _ = _point_segment(p[:, 0], p[:, 1], a[:, 0], a[:, 1], b[:, 0], b[:, 1])
    want = shapely.distance(shapely.points(p), shapely.linestrings(np.stack([a, b], axis=1)))
    np.testing.assert_array_equal(d, want)


def test_candidates_make_the_answer_exact_in_every_cell() -> None:
    rng = np.random.default_rng(4)
    lines = _random_lines(rng, 25)
    chunks = LineChunks.build(lines)
    grid = SegmentGrid.build(chunks, (0.0, 0.0, 60_000.0, 60_000.0), 3_000.0, 2_000.0)
    # the cells hold far fewer candidates than there are segments
    assert np.diff(grid.cell_ptr).mean() < len(grid.seg_xy) / 10
    # points at cell corners (the farthest from the centres the candidates were chosen from)
    cx, cy = np.meshgrid(np.arange(0, 60_001, 2_000.0), np.arange(0, 60_001, 2_000.0))
    x, y = cx.ravel() - 1e-6, cy.ravel() - 1e-6
    fast = snap_to_lines(x, y, chunks, np.arange(25), shapely.length(lines), 3_000.0, grid=grid)
    tree = snap_to_lines(x, y, chunks, np.arange(25), shapely.length(lines), 3_000.0)
    _assert_same(fast, tree)


@pytest.mark.parametrize(("cell", "max_m"), [(500.0, 4_000.0), (333.0, 50_000.0), (1_000.0, 100.0), (50.0, 10.0)])
def test_refined_candidates_are_those_of_a_direct_build(cell, max_m) -> None:
    # the cells' candidates found from the parent grids' are exactly those measured from all segments
    chunks = LineChunks.build(_random_lines(np.random.default_rng(7), 40), vertices=8)
    bounds = (0.0, 0.0, 60_000.0, 60_010.0)  # not a whole number of cells: edge cells without parents' twins
    direct = SegmentGrid.build(chunks, bounds, max_m, cell, refinements=0)
    for refinements in (1, 3):
        refined = SegmentGrid.build(chunks, bounds, max_m, cell, refinements=refinements)
        assert refined.shape == direct.shape
        np.testing.assert_array_equal(refined.cell_ptr, direct.cell_ptr)
        np.testing.assert_array_equal(refined.cell_seg, direct.cell_seg)
    assert len(direct.cell_seg) > 1_000


def test_distance_alone_is_the_query_distance() -> None:
    rng = np.random.default_rng(8)
    lines = _random_lines(rng, 30)
    chunks = LineChunks.build(lines)
    grid = SegmentGrid.build(chunks, (0.0, 0.0, 60_000.0, 60_000.0), 2_500.0)
    x = np.r_[rng.uniform(-3_000, 63_000, 5_000), np.nan]
    y = np.r_[rng.uniform(-3_000, 63_000, 5_000), 1.0]
    answered, _, distance, _ = grid.query(x, y, np.arange(30), chunks.owner)
    answered_alone, alone = grid.distance(x, y)
    np.testing.assert_array_equal(answered_alone, answered)
    np.testing.assert_array_equal(alone, distance)
    with np.errstate(invalid="ignore"):  # the NaN point
        direct = shapely.distance(shapely.points(x, y)[:, None], lines[None, :]).min(axis=1)
    inside = answered & (direct <= 2_500.0)
    np.testing.assert_array_equal(alone[inside], direct[inside])  # GEOS's distance, to the bit
    assert np.isnan(alone[answered & (direct > 2_500.0)]).all() and inside.sum() > 1_000


def test_answers_do_not_depend_on_the_block_size(monkeypatch) -> None:
    rng = np.random.default_rng(9)
    lines = _random_lines(rng, 30)
    chunks = LineChunks.build(lines)
    grid = SegmentGrid.build(chunks, (0.0, 0.0, 60_000.0, 60_000.0), 2_500.0)
    x, y = rng.uniform(-3_000, 63_000, (2, 4_000))
    rank = rng.permutation(30)
    whole = grid.query(x, y, rank, chunks.owner), grid.distance(x, y)
    monkeypatch.setattr(SegmentGrid, "_BLOCK", 37)  # blocks of a few points (one point at least)
    blocked = grid.query(x, y, rank, chunks.owner), grid.distance(x, y)
    for got, want in zip([*blocked[0], *blocked[1]], [*whole[0], *whole[1]], strict=True):
        np.testing.assert_array_equal(got, want)
    assert np.isfinite(whole[1][1]).sum() > 500


def test_more_segments_than_int16_numbers() -> None:
    # a line of 40,000 segments: the candidate lists need int32
    rng = np.random.default_rng(10)
    xs = np.linspace(0, 60_000, 40_001)
    line = shapely.linestrings(xs, 30_000 + rng.normal(0, 50, xs.size))
    x, y = rng.uniform(0, 60_000, (2, 3_000))
    fast, tree, grid = _both(x, y, np.array([line], dtype=object), np.array([1]), 2_000.0)
    assert grid.cell_seg.dtype == np.int32 and len(grid.seg_xy) > 32_767
    _assert_same(fast, tree)
    assert np.isfinite(fast[1]).sum() > 100


def test_bad_build_arguments_are_refused() -> None:
    chunks = LineChunks.build(np.array([shapely.LineString([(0, 0), (1, 1)])], dtype=object))
    with pytest.raises(ValueError, match="max_distance"):
        SegmentGrid.build(chunks, (0, 0, 10, 10), np.inf)
    with pytest.raises(ValueError, match="cell"):
        SegmentGrid.build(chunks, (0, 0, 10, 10), 100.0, cell=0.0)
    with pytest.raises(ValueError, match="refinements"):
        SegmentGrid.build(chunks, (0, 0, 10, 10), 100.0, refinements=-1)


def test_a_larger_request_than_the_grid_answers_uses_the_tree() -> None:
    rng = np.random.default_rng(5)
    lines = _random_lines(rng, 10)
    chunks = LineChunks.build(lines)
    grid = SegmentGrid.build(chunks, (0.0, 0.0, 60_000.0, 60_000.0), 500.0)
    x, y = rng.uniform(0, 60_000, (2, 2000))
    far = snap_to_lines(x, y, chunks, np.arange(10), shapely.length(lines), 20_000.0, grid=grid)
    tree = snap_to_lines(x, y, chunks, np.arange(10), shapely.length(lines), 20_000.0)
    _assert_same(far, tree)
    assert np.nanmax(far[1]) > 500.0


def test_near_mask_keeps_every_point_within_the_distance() -> None:
    rng = np.random.default_rng(6)
    lines = _random_lines(rng, 20)
    tree = shapely.STRtree(lines)
    mask = NearMask.build(tree, (0.0, 0.0, 60_000.0, 60_000.0), 1_000.0, 700.0)
    x, y = rng.uniform(-2_000, 62_000, (2, 50_000))
    kept = mask(x, y)
    hit, _ = tree.query(shapely.points(x, y), predicate="dwithin", distance=1_000.0)
    assert kept[hit].all()  # never drops a point within reach
    assert kept.mean() < 0.8  # and does drop points
    outside = (x < 0) | (y < 0)  # (the grid ends past 60 km: whole cells)
    assert kept[outside].all()  # outside the grid: kept for the exact test
    assert not mask(np.array([np.nan]), np.array([1.0]))[0]
    with pytest.raises(ValueError, match="distance"):
        NearMask.build(tree, (0, 0, 1, 1), -1.0)
