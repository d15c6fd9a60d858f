"""Benchmark: ``units_at`` and ``redline_overlap`` on 1,000,000 random points in Jiangxi.

Baselines measured in the same run on the same points: ``geopandas.sjoin`` (predicate
"intersects") against the control units; ``geopandas.sjoin`` + ``geopandas.sjoin_nearest`` for
red-line membership and distance. Answers are compared before the times are written to
``bench/results/zoning.json``. The spatial indexes are built once before timing, as they are
once per process in use (``Layers`` keeps them); their build time is reported separately.

Usage: ``python bench/bench_zoning.py [--points 1000000]``
"""

from __future__ import annotations

import argparse
import platform

import geopandas as gpd
import numpy as np
import shapely
from _bench import timed, write_results

from ganpo_geo.crs import JIANGXI_ALBERS
from ganpo_geo.layers import bundled_layers, load_layer
from ganpo_geo.redline import NEAREST_SPACING_M, _redline_fast, _redline_parts, redline_overlap
from ganpo_geo.zoning import _unit_index, units_at


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, default=1_000_000)
    args = parser.parse_args()
    rng = np.random.default_rng(7)
    province = load_layer("province").geometry.iloc[0]
    # random points inside the province (rejection sampling in its bounding box)
    west, south, east, north = province.bounds
    xs, ys = [], []
    while sum(len(x) for x in xs) < args.points:
        x = rng.uniform(west, east, args.points)
        y = rng.uniform(south, north, args.points)
        inside = shapely.contains_xy(province, x, y)
        xs.append(x[inside])
        ys.append(y[inside])
    x = np.concatenate(xs)[: args.points]
    y = np.concatenate(ys)[: args.points]
    pts = gpd.GeoSeries(shapely.points(x, y), crs=4326)
    units = load_layer("control_units")
    red = load_layer("redlines")
    layers = bundled_layers()

    _, t_unit_index = timed(lambda: _unit_index(layers, args.points))
    _, t_red_index = timed(lambda: (_redline_parts(layers), _redline_fast(layers, args.points)))
    ours, t_units = timed(lambda: units_at(pts))
    pts_gdf = gpd.GeoDataFrame(geometry=pts)
    ref, t_sjoin = timed(lambda: gpd.sjoin(pts_gdf, units[["unit_code", "geometry"]], predicate="intersects"))
    assert sorted(zip(ours["input_index"], ours["unit_code"], strict=True)) == sorted(
        zip(ref.index, ref["unit_code"], strict=True)
    )

    red_ours, t_red = timed(lambda: redline_overlap(pts))

    def baseline_red():
        inside = gpd.sjoin(pts_gdf, red[["zone_id", "geometry"]], predicate="intersects")
        metric_pts = pts_gdf.to_crs(JIANGXI_ALBERS)
        near = gpd.sjoin_nearest(metric_pts, red[["zone_id", "geometry"]].to_crs(JIANGXI_ALBERS), distance_col="d")
        return inside, near

    (red_in, red_near), t_red_base = timed(baseline_red)
    assert set(np.flatnonzero(red_ours["overlaps"].to_numpy())) == set(red_in.index)
    d_ref = red_near[~red_near.index.duplicated()]["d"].sort_index().to_numpy()
    diff = red_ours["nearest_m"].to_numpy() - d_ref
    assert np.nanmax(np.abs(diff)) <= NEAREST_SPACING_M / 2

    result = {
        "points": args.points,
        "units": len(units),
        "redline_zones": len(red),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "unit_index_build_s": round(t_unit_index, 3),
        "redline_index_build_s": round(t_red_index, 3),
        "units_at_s": round(t_units, 3),
        "baseline_sjoin_s": round(t_sjoin, 3),
        "units_at_speedup_vs_sjoin": round(t_sjoin / t_units, 2),
        "redline_overlap_s": round(t_red, 3),
        "baseline_sjoin_plus_sjoin_nearest_s": round(t_red_base, 3),
        "redline_speedup_vs_baseline": round(t_red_base / t_red, 2),
        "redline_nearest_max_abs_error_m": round(float(np.nanmax(np.abs(diff))), 3),
        "redline_nearest_share_exact_1cm": round(float(np.nanmean(np.abs(diff) < 0.01)), 5),
    }
    write_results("zoning", result)


if __name__ == "__main__":
    main()
