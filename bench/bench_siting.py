"""Benchmark: batch site check of 1,000,000 sites, and one ``ganpo site-check`` from the shell.

Batch: 1,000,000 random points inside Jiangxi with random industries, checked by
``check_sites`` (the default engine, all layers: county, units, rules and verdict, red lines,
nearest reach, 1 km river test, distances, phosphorus). Baseline in the same run: chaining
``geopandas.sjoin`` (counties, control units, red lines) and ``geopandas.sjoin_nearest``
(reaches) for the same answers, which are compared (county, unit, red-line membership,
nearest reach id and distance) before the times are written. The baseline does less: no
rules, verdicts, distances downstream or phosphorus.

Single site: median wall time of 5 runs of ``ganpo site-check --lon 115.89 --lat 28.68
--industry 化工 --format json`` against 5 runs of ``python -c "import geopandas"``.

Writes ``bench/results/siting.json``. Usage: ``python bench/bench_siting.py [--sites 1000000]``.
"""

from __future__ import annotations

import argparse
import platform
import shutil
import statistics
import subprocess
import sys
import time

import geopandas as gpd
import numpy as np
import shapely
from _bench import timed, write_results

from ganpo_geo.crs import JIANGXI_ALBERS
from ganpo_geo.layers import load_layer
from ganpo_geo.siting import check_sites


def _wall(cmd: list[str], runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sites", type=int, default=1_000_000)
    args = parser.parse_args()
    rng = np.random.default_rng(11)
    province = load_layer("province").geometry.iloc[0]
    west, south, east, north = province.bounds
    x = rng.uniform(west, east, args.sites * 2)
    y = rng.uniform(south, north, args.sites * 2)
    inside = shapely.contains_xy(province, x, y)
    x, y = x[inside][: args.sites], y[inside][: args.sites]
    industries = rng.choice(["化工", "garment", "livestock", "steel", "tourism", "electronics"], args.sites)
    sites = gpd.GeoDataFrame({"industry": industries}, geometry=shapely.points(x, y), crs=4326)

    check_sites(sites.iloc[:30_000], progress=False)  # builds the per-process indexes once
    ours, t_ours = timed(lambda: check_sites(sites, progress=False))

    counties = load_layer("counties")[["adcode", "geometry"]]
    units = load_layer("control_units")[["unit_code", "geometry"]]
    red = load_layer("redlines")[["zone_id", "geometry"]]
    reaches = load_layer("reaches")[["reach_id", "geometry"]].to_crs(JIANGXI_ALBERS)

    def baseline():
        pts = gpd.GeoDataFrame(geometry=sites.geometry)
        c = gpd.sjoin(pts, counties, predicate="intersects")
        u = gpd.sjoin(pts, units, predicate="intersects")
        r = gpd.sjoin(pts, red, predicate="intersects")
        n = gpd.sjoin_nearest(pts.to_crs(JIANGXI_ALBERS), reaches, max_distance=20_000, distance_col="d")
        return c, u, r, n

    (c, u, r, n), t_base = timed(baseline)
    first = lambda df: df[~df.index.duplicated()].sort_index()  # noqa: E731
    assert (first(c)["adcode"].to_numpy() == ours["county_adcode"].to_numpy()).all()
    assert set(zip(u.index, u["unit_code"], strict=True)) >= set(zip(ours.index, ours["unit_code"], strict=True))
    assert set(r.index) == set(np.flatnonzero(ours["redline_overlap"].to_numpy(dtype=bool)))
    near = first(n)
    d_ours = ours["river_distance_m"].to_numpy()[near.index]
    assert np.allclose(d_ours, near["d"].to_numpy(), atol=1e-6)
    same_reach = float(np.mean(ours["river_reach_id"].to_numpy()[near.index] == near["reach_id"].to_numpy()))

    exe = shutil.which("ganpo") or sys.executable
    cmd = [exe] if exe != sys.executable else [sys.executable, "-m", "ganpo_geo.cli"]
    t_cli = _wall([*cmd, "site-check", "--lon", "115.89", "--lat", "28.68", "--industry", "化工", "--format", "json"])
    t_import = _wall([sys.executable, "-c", "import geopandas"])

    result = {
        "sites": args.sites,
        "machine": platform.machine(),
        "python": platform.python_version(),
        "check_sites_s": round(t_ours, 2),
        "baseline_sjoin_chain_s": round(t_base, 2),
        "speedup_vs_sjoin_chain": round(t_base / t_ours, 2),
        "nearest_reach_same_id_share": round(same_reach, 5),
        "verdicts": ours["verdict"].value_counts().to_dict(),
        "single_site_cli_wall_s": round(t_cli, 3),
        "python_import_geopandas_wall_s": round(t_import, 3),
        "single_site_ratio_to_import_geopandas": round(t_cli / t_import, 2),
    }
    write_results("siting", result)


if __name__ == "__main__":
    main()
