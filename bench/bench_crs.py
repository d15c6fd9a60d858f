"""Benchmark: GCJ-02 -> WGS84 inverse throughput on 1,000,000 points in Jiangxi.

Baseline, measured in the same run: a per-point Python loop over prcoords' iterative
inverse (``gcj_wgs_bored``, the published reference implementation), timed on a subset and
scaled. Writes ``bench/results/crs.json``.

Usage::

    python bench/bench_crs.py [--points 1000000]
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
from _bench import write_results

from ganpo_geo.crs import bd09_to_wgs84, gcj02_to_wgs84, wgs84_to_bd09, wgs84_to_gcj02


def _best(func, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--baseline-points", type=int, default=20_000)
    args = parser.parse_args()
    import prcoords

    rng = np.random.default_rng(42)
    lon = rng.uniform(113.5, 118.5, args.points)
    lat = rng.uniform(24.5, 30.1, args.points)
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    b_lon, b_lat = wgs84_to_bd09(lon, lat)

    t_fwd = _best(lambda: wgs84_to_gcj02(lon, lat))
    t_inv = _best(lambda: gcj02_to_wgs84(g_lon, g_lat))
    t_bd_inv = _best(lambda: bd09_to_wgs84(b_lon, b_lat))
    w_lon, w_lat = gcj02_to_wgs84(g_lon, g_lat)
    max_err = float(max(np.abs(w_lon - lon).max(), np.abs(w_lat - lat).max()))

    n_base = min(args.baseline_points, args.points)
    pts = list(zip(g_lat[:n_base].tolist(), g_lon[:n_base].tolist(), strict=True))
    t_base = _best(lambda: [prcoords.gcj_wgs_bored(p) for p in pts], repeat=1) * args.points / n_base

    result = {
        "points": args.points,
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "python": platform.python_version(),
        "wgs84_to_gcj02_s": round(t_fwd, 4),
        "gcj02_to_wgs84_s": round(t_inv, 4),
        "gcj02_to_wgs84_points_per_s": round(args.points / t_inv),
        "bd09_to_wgs84_s": round(t_bd_inv, 4),
        "round_trip_max_error_deg": max_err,
        "baseline": "prcoords.gcj_wgs_bored per-point loop (scaled from a subset)",
        "baseline_points_timed": n_base,
        "baseline_gcj02_to_wgs84_s": round(t_base, 3),
        "speedup_vs_baseline": round(t_base / t_inv, 1),
    }
    write_results("crs", result)


if __name__ == "__main__":
    main()
