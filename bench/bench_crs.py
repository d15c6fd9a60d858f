"""Benchmark: GCJ-02 -> WGS84 inverse (and forward, BD-09) throughput on random points in Jiangxi.

Baseline, measured in the same run: a per-point Python loop over prcoords' iterative
inverse (``gcj_wgs_bored``, the published reference implementation), timed on a subset of
at most 20,000 points and scaled to the size (so it grows linearly by construction). The
round trip is checked against the input before anything is written.

Writes ``bench/results/crs.json``. Usage: ``python bench/bench_crs.py [--quick | --sizes N ...]``.
"""

from __future__ import annotations

import numpy as np
from _bench import Task, Timer, bench_main, main_guard, timed

from ganpo_geo.crs import bd09_to_wgs84, gcj02_to_wgs84, wgs84_to_bd09, wgs84_to_gcj02

BASELINE_POINTS = 20_000

TASKS = [
    Task(
        "GCJ-02 -> WGS84 points",
        "gcj02_to_wgs84_s",
        "baseline_prcoords_gcj02_to_wgs84_s",
        "prcoords per-point loop",
        "baseline timed on 20,000 points and scaled",
    ),
]


def run_size(size: int) -> dict:
    import prcoords

    rng = np.random.default_rng(42)
    lon = rng.uniform(113.5, 118.5, size)
    lat = rng.uniform(24.5, 30.1, size)
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    b_lon, b_lat = wgs84_to_bd09(lon, lat)

    timer = Timer()
    timer.run("wgs84_to_gcj02_s", lambda: wgs84_to_gcj02(lon, lat))
    w_lon, w_lat = timer.run("gcj02_to_wgs84_s", lambda: gcj02_to_wgs84(g_lon, g_lat))
    timer.run("bd09_to_wgs84_s", lambda: bd09_to_wgs84(b_lon, b_lat))
    max_err = float(max(np.abs(w_lon - lon).max(), np.abs(w_lat - lat).max()))
    assert max_err < 1e-7, max_err

    n_base = min(BASELINE_POINTS, size)
    pts = list(zip(g_lat[:n_base].tolist(), g_lon[:n_base].tolist(), strict=True))
    base, t_base = timed(lambda: [prcoords.gcj_wgs_bored(p) for p in pts])
    base = np.array(base)
    assert np.allclose(base[:, 0], w_lat[:n_base], atol=1e-6) and np.allclose(base[:, 1], w_lon[:n_base], atol=1e-6)
    timer.add("baseline_prcoords_gcj02_to_wgs84_s", t_base * size / n_base)
    return timer.result(
        round_trip_max_error_deg=max_err,
        baseline_points_timed=n_base,
        gcj02_to_wgs84_points_per_s=round(size / timer.times["gcj02_to_wgs84_s"]),
    )


def main() -> None:
    bench_main(
        "crs",
        TASKS,
        run_size,
        sizes=[10_000, 100_000, 1_000_000],
        quick_sizes=[1_000, 10_000, 100_000],
        size_unit="points",
        description="GCJ-02/BD-09 <-> WGS84 conversions, vectorized, vs prcoords per point",
    )


if __name__ == "__main__":
    main_guard(main)
