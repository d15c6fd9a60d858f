"""Benchmark: ``units_at`` and ``redline_overlap`` on random points in Jiangxi.

Baselines measured in the same run on the same points: ``geopandas.sjoin`` (predicate
"intersects") against the control units; ``geopandas.sjoin`` + ``geopandas.sjoin_nearest`` for
red-line membership and distance. Answers are compared before anything is written. The
spatial indexes are built before timing, as they are once per process in use (``Layers`` keeps
them); their build time is reported in ``info`` (zero when an earlier size built them; the
unit grid is built from 20,000 points on, smaller batches use the tree alone).

Writes ``bench/results/zoning.json``. Usage: ``python bench/bench_zoning.py [--quick | --sizes N ...]``.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from _bench import Task, Timer, bench_main, main_guard, timed

from ganpo_geo.crs import JIANGXI_ALBERS
from ganpo_geo.layers import bundled_layers, load_layer
from ganpo_geo.redline import _redline_fast, _redline_parts, redline_overlap
from ganpo_geo.zoning import _unit_index, units_at

TASKS = [
    Task("`units_at`, points in 1093 control units", "units_at_s", "baseline_sjoin_s", "`geopandas.sjoin`"),
    Task(
        "`redline_overlap` (membership + nearest distance)",
        "redline_overlap_s",
        "baseline_sjoin_plus_sjoin_nearest_s",
        "`sjoin` + `sjoin_nearest`",
    ),
]


def random_points_in_province(n: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """``n`` random points inside the bundled province outline (rejection sampling)."""
    rng = np.random.default_rng(seed)
    province = load_layer("province").geometry.iloc[0]
    west, south, east, north = province.bounds
    xs, ys = [], []
    while sum(len(x) for x in xs) < n:
        x = rng.uniform(west, east, n)
        y = rng.uniform(south, north, n)
        inside = shapely.contains_xy(province, x, y)
        xs.append(x[inside])
        ys.append(y[inside])
    return np.concatenate(xs)[:n], np.concatenate(ys)[:n]


def run_size(size: int) -> dict:
    x, y = random_points_in_province(size)
    pts = gpd.GeoSeries(shapely.points(x, y), crs=4326)
    units = load_layer("control_units")
    red = load_layer("redlines")
    layers = bundled_layers()

    _, t_unit_index = timed(lambda: _unit_index(layers, size))
    _, t_red_index = timed(lambda: (_redline_parts(layers), _redline_fast(layers, size)))
    timer = Timer()
    ours = timer.run("units_at_s", lambda: units_at(pts))
    pts_gdf = gpd.GeoDataFrame(geometry=pts)
    ref = timer.run(
        "baseline_sjoin_s", lambda: gpd.sjoin(pts_gdf, units[["unit_code", "geometry"]], predicate="intersects")
    )
    assert sorted(zip(ours["input_index"], ours["unit_code"], strict=True)) == sorted(
        zip(ref.index, ref["unit_code"], strict=True)
    )

    red_ours = timer.run("redline_overlap_s", lambda: redline_overlap(pts))

    def baseline_red():
        inside = gpd.sjoin(pts_gdf, red[["zone_id", "geometry"]], predicate="intersects")
        metric_pts = pts_gdf.to_crs(JIANGXI_ALBERS)
        near = gpd.sjoin_nearest(metric_pts, red[["zone_id", "geometry"]].to_crs(JIANGXI_ALBERS), distance_col="d")
        return inside, near

    red_in, red_near = timer.run("baseline_sjoin_plus_sjoin_nearest_s", baseline_red)
    assert set(np.flatnonzero(red_ours["overlaps"].to_numpy())) == set(red_in.index)
    d_ref = red_near[~red_near.index.duplicated()]["d"].sort_index().to_numpy()
    ours_m = red_ours["nearest_m"].to_numpy()
    both = (ours_m > 0) & (d_ref > 0)
    diff = ours_m[both] - d_ref[both]
    assert np.nanmax(np.abs(diff)) <= 1e-6  # exact: GEOS's distance both ways, within rounding
    # inside a red line as tested in WGS84 but not once projected, or the other way round (edges
    # bend under the projection): points within a metre of a border
    edge = np.isfinite(ours_m) & ((ours_m > 0) != (d_ref > 0))
    assert np.nanmax(np.fmax(ours_m[edge], d_ref[edge]), initial=0.0) <= 1.0
    return timer.result(
        units=len(units),
        redline_zones=len(red),
        unit_index_build_s=round(t_unit_index, 3),
        redline_index_build_s=round(t_red_index, 3),
        redline_nearest_max_abs_error_m=round(float(np.nanmax(np.abs(diff))), 9),
        redline_inside_one_way_only=int(edge.sum()),
        redline_inside_one_way_only_max_m=round(float(np.nanmax(np.fmax(ours_m[edge], d_ref[edge]), initial=0.0)), 3),
        redline_nearest_share_exact_1cm=round(float(np.nanmean(np.abs(diff) < 0.01)), 5),
    )


def main() -> None:
    bench_main(
        "zoning",
        TASKS,
        run_size,
        sizes=[10_000, 100_000, 1_000_000],
        quick_sizes=[1_000, 10_000, 30_000],
        size_unit="points",
        description="control-unit lookup and red-line overlap of random points in Jiangxi",
        extra_paths=("src/ganpo_geo/data/boundaries",),
    )


if __name__ == "__main__":
    main_guard(main)
