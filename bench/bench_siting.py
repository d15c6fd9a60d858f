"""Benchmark: batch site check of random sites, and one ``ganpo site-check`` from the shell.

Batch: random points inside Jiangxi with random industries, checked by ``check_sites`` (the
default engine, all layers: county, units, rules and verdict, red lines, nearest reach, 1 km
river test, distances, phosphorus; chunks on one thread per core), and again with ``workers=1``
(one thread; the results are compared, to the last bit). Baseline in the same run: chaining ``geopandas.sjoin``
(counties, control units, red lines) and ``geopandas.sjoin_nearest`` (reaches) for the same
answers, which are compared (county, unit, red-line membership, nearest reach id and distance)
before anything is written. The baseline does less: no rules, verdicts, distances downstream or
phosphorus. The per-process indexes are built first by a 30,000-site call (untimed).

Dask: the same ``check_sites`` with ``engine="dask", scheduler="processes", workers=2`` (a
``dask.distributed`` LocalCluster of two processes, started inside the timed call; the workers
load the indexes from the on-disk cache), its output compared with the default engine's.

Dask file to folder (what a cluster user runs), at every size: ``ganpo site-check --input F.csv
--output FOLDER --engine dask --scheduler processes --workers 2`` in a fresh process (cluster
start-up included; the workers read the CSV blocks and write the GeoParquet parts), against the
default engine's CSV -> Parquet; its rows are compared with that output.

Single site (at every size, it does not depend on it): median wall time of 5 runs of
``ganpo site-check --lon 115.89 --lat 28.68 --industry 化工 --format json`` against 5 runs of
``python -c "import geopandas"``.

File to file (what users run), at every size: a CSV of ``size`` rows (``random_csv``: 1% bad
coordinates, 43% of the sites outside Jiangxi, as in a real national list) checked by ``ganpo
site-check --input F.csv --output out.csv|out.parquet --quiet`` in a fresh process each (so the
100,000-row run includes start-up and index building), its wall time (median of 3 runs, at every
size) and peak RSS, against the I/O floor: ``pandas.read_csv`` + ``to_csv`` of the same file in a
fresh process. They run first at each size, right after the untimed index build (which also
writes the on-disk index cache the CLI loads), before the in-memory, baseline and dask runs: on
this VM a process started after large runs pays seconds for memory the host took back (a process
that touches and frees 12 GB makes the next CLI runs 2.4 to 6 s slower, measured), which a user
running ``ganpo`` does not. Three runs each, also at 1,000,000 rows. The two outputs' rows are
compared (same errors and verdicts).

Writes ``bench/results/siting.json``. Usage: ``python bench/bench_siting.py [--quick | --sizes N ...]``.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from _bench import SCRATCH_DIR, Task, Timer, bench_main, main_guard

from ganpo_geo.crs import JIANGXI_ALBERS
from ganpo_geo.layers import load_layer
from ganpo_geo.siting import check_sites

TASKS = [
    Task(
        "`check_sites`, all layers, rules and verdicts",
        "check_sites_s",
        "baseline_sjoin_chain_s",
        "`sjoin` x3 + `sjoin_nearest`",
        "the baseline gives fewer answers",
    ),
    Task(
        "`check_sites`, chunks on 2 threads (the default here: one per core)",
        "check_sites_s",
        "check_sites_one_thread_s",
        "`check_sites(..., workers=1)`",
        "the gain of the second core; the same results",
    ),
    Task(
        "`check_sites --engine dask --scheduler processes`, 2 workers (cluster start-up included)",
        "dask_processes_2_s",
        "check_sites_s",
        "`check_sites`, default engine",
        "below 1: the cluster costs more than it brings on one machine",
    ),
    Task(
        "CLI file to file, CSV to CSV (fresh process)",
        "cli_csv_to_csv_s",
        "pandas_read_csv_to_csv_s",
        "`pandas.read_csv` + `to_csv`",
        "the I/O floor: reading and writing the input alone",
    ),
    Task(
        "CLI file to file, CSV to Parquet (fresh process)",
        "cli_csv_to_parquet_s",
        "pandas_read_csv_to_csv_s",
        "`pandas.read_csv` + `to_csv`",
        "the I/O floor: reading and writing the input alone",
    ),
    Task(
        "CLI CSV to a partitioned GeoParquet folder on a local dask cluster of 2 processes (fresh process)",
        "cli_dask_folder_s",
        "cli_csv_to_parquet_s",
        "CLI CSV to Parquet, default engine",
        "below 1: the cluster costs more than it brings on one machine",
    ),
    Task(
        "one `ganpo site-check` from the shell",
        "single_site_cli_wall_s",
        "python_import_geopandas_wall_s",
        '`python -c "import geopandas"`',
        "a speedup below 1: slower than the bare import",
    ),
]


def _wall(cmd: list[str], runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def random_sites(n: int, seed: int = 11) -> gpd.GeoDataFrame:
    """``n`` random sites inside the bundled province outline, with random industries."""
    rng = np.random.default_rng(seed)
    province = load_layer("province").geometry.iloc[0]
    west, south, east, north = province.bounds
    x = rng.uniform(west, east, n * 2 + 1000)
    y = rng.uniform(south, north, n * 2 + 1000)
    inside = shapely.contains_xy(province, x, y)
    x, y = x[inside][:n], y[inside][:n]
    industries = rng.choice(["化工", "garment", "livestock", "steel", "tourism", "electronics"], n)
    return gpd.GeoDataFrame({"industry": industries}, geometry=shapely.points(x, y), crs=4326)


def random_csv(n: int, path: Path, seed: int = 7) -> None:
    """A CSV of ``n`` sites: 57% inside Jiangxi, 43% anywhere in a box around China, 1% bad rows."""
    rng = np.random.default_rng(seed)
    n_out = int(n * 0.43)
    inside = random_sites(n - n_out, seed=seed)
    x = np.r_[shapely.get_x(inside.geometry.to_numpy()), rng.uniform(105, 125, n_out)]
    y = np.r_[shapely.get_y(inside.geometry.to_numpy()), rng.uniform(18, 40, n_out)]
    industry = np.r_[inside["industry"].to_numpy(), rng.choice(["化工", "garment", "steel"], n_out)]
    order = rng.permutation(n)
    lon = np.char.mod("%.6f", x[order]).astype(object)
    lat = np.char.mod("%.6f", y[order]).astype(object)
    bad = rng.choice(n, max(n // 100, 2), replace=False)
    lon[bad[: len(bad) // 2]] = np.array(["", "abc", "nan", "999"], dtype=object)[rng.integers(0, 4, len(bad) // 2)]
    lat[bad[len(bad) // 2 :]] = "91.5"
    frame = pd.DataFrame({"id": np.arange(n), "lon": lon, "lat": lat, "industry": industry[order]})
    frame.to_csv(path, index=False)


_RSS_WRAPPER = (
    "import resource, subprocess, sys, time; t = time.perf_counter(); "
    "done = subprocess.run(sys.argv[1:], capture_output=True); "
    "done.returncode and sys.exit(done.stderr.decode(errors='replace')[-2000:]); "
    "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


def _wall_rss(cmd: list[str]) -> tuple[float, float]:
    """Wall time (s) and peak RSS (MB) of a command run in a fresh child process."""
    out = subprocess.run([sys.executable, "-c", _RSS_WRAPPER, *cmd], capture_output=True, text=True)
    if out.returncode:  # the command's own error, for the log
        raise RuntimeError(f"{' '.join(cmd)} failed: {out.stderr}")
    wall, rss_kb = out.stdout.split()
    return float(wall), int(rss_kb) / 1024


def _file_to_file(size: int, timer: Timer, cmd: list[str]) -> dict:
    """CLI CSV -> CSV and CSV -> Parquet against pandas read_csv + to_csv; peak RSS of each."""
    scratch = SCRATCH_DIR / "siting"
    scratch.mkdir(parents=True, exist_ok=True)
    src = scratch / f"sites_{size}.csv"
    random_csv(size, src)
    info: dict = {}
    floor_out = str(scratch / "floor.csv")
    floor = f"import pandas as pd; pd.read_csv({str(src)!r}, dtype=str).to_csv({floor_out!r}, index=False)"
    runs = 3
    for key, out in (("cli_csv_to_csv", "out.csv"), ("cli_csv_to_parquet", "out.parquet")):
        walls, rss = [], []
        for _ in range(runs):
            w, r = _wall_rss([*cmd, "site-check", "--input", str(src), "--output", str(scratch / out), "--quiet"])
            walls.append(w)
            rss.append(r)
        timer.add(f"{key}_s", statistics.median(walls), runs=runs)
        info[f"{key}_peak_rss_mb"] = round(max(rss), 1)
    walls, rss = zip(*(_wall_rss([sys.executable, "-c", floor]) for _ in range(runs)), strict=True)
    timer.add("pandas_read_csv_to_csv_s", statistics.median(walls), runs=runs)
    info["pandas_read_csv_to_csv_peak_rss_mb"] = round(max(rss), 1)
    # the dask engine, file to folder: the workers read the CSV blocks and write the parts
    folder = scratch / "out_folder"
    dask_cmd = ["--engine", "dask", "--scheduler", "processes", "--workers", "2", "--quiet"]
    w, r = _wall_rss([*cmd, "site-check", "--input", str(src), "--output", str(folder), *dask_cmd])
    timer.add("cli_dask_folder_s", w, runs=1)
    info["cli_dask_folder_client_peak_rss_mb"] = round(r, 1)
    csv_out = pd.read_csv(scratch / "out.csv", dtype=str, keep_default_na=False)
    parquet_out = pd.read_parquet(scratch / "out.parquet", columns=["error", "verdict"])
    assert len(csv_out) == len(parquet_out) == size
    assert (csv_out["error"].to_numpy() == parquet_out["error"].to_numpy()).all()
    assert (csv_out["verdict"].to_numpy() == parquet_out["verdict"].to_numpy()).all()
    parts = sorted(folder.glob("part.*.parquet"))
    folder_out = pd.concat([pd.read_parquet(p, columns=["error", "verdict"]) for p in parts], ignore_index=True)
    assert (folder_out["error"].to_numpy() == parquet_out["error"].to_numpy()).all()
    assert (folder_out["verdict"].to_numpy() == parquet_out["verdict"].to_numpy()).all()
    info["cli_dask_folder_parts"] = len(parts)
    info["file_rows_with_errors"] = int((csv_out["error"] != "").sum())
    return info


def run_size(size: int) -> dict:
    check_sites(random_sites(30_000, seed=3), progress=False)  # builds the indexes once, saves them to disk
    timer = Timer()
    exe = shutil.which("ganpo") or sys.executable
    cmd = [exe] if exe != sys.executable else [sys.executable, "-m", "ganpo_geo.cli"]
    files = _file_to_file(size, timer, cmd)  # first: see the module docstring
    sites = random_sites(size)
    ours = timer.run("check_sites_s", lambda: check_sites(sites, progress=False))
    one_thread = timer.run("check_sites_one_thread_s", lambda: check_sites(sites, progress=False, workers=1))
    pd.testing.assert_frame_equal(one_thread, ours, check_exact=True)  # threads change nothing
    del one_thread

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

    c, u, r, n = timer.run("baseline_sjoin_chain_s", baseline)
    on_cluster = timer.run(
        "dask_processes_2_s",
        lambda: check_sites(sites, engine="dask", scheduler="processes", workers=2, progress=False),
    )
    pd.testing.assert_frame_equal(  # identical, to the last bit
        pd.DataFrame(on_cluster.drop(columns="geometry")), pd.DataFrame(ours.drop(columns="geometry")), check_exact=True
    )
    first = lambda df: df[~df.index.duplicated()].sort_index()  # noqa: E731
    assert (first(c)["adcode"].to_numpy() == ours["county_adcode"].to_numpy()).all()
    assert set(zip(u.index, u["unit_code"], strict=True)) >= set(zip(ours.index, ours["unit_code"], strict=True))
    assert set(r.index) == set(np.flatnonzero(ours["redline_overlap"].to_numpy(dtype=bool)))
    near = first(n)
    d_ours = ours["river_distance_m"].to_numpy()[near.index]
    assert np.allclose(d_ours, near["d"].to_numpy(), atol=1e-6)
    same_reach = float(np.mean(ours["river_reach_id"].to_numpy()[near.index] == near["reach_id"].to_numpy()))

    site = ["site-check", "--lon", "115.89", "--lat", "28.68", "--industry", "化工", "--format", "json"]
    timer.add("single_site_cli_wall_s", _wall([*cmd, *site]), runs=5)
    timer.add("python_import_geopandas_wall_s", _wall([sys.executable, "-c", "import geopandas"]), runs=5)
    return timer.result(
        **files,
        sites=size,
        nearest_reach_same_id_share=round(same_reach, 5),
        verdicts={str(k): int(v) for k, v in ours["verdict"].value_counts().items()},
    )


def main() -> None:
    bench_main(
        "siting",
        TASKS,
        run_size,
        sizes=[10_000, 100_000, 1_000_000],
        quick_sizes=[1_000, 10_000, 30_000],
        size_unit="sites",
        description="batch and single site checks against all bundled layers",
        extra_paths=(
            "src/ganpo_geo/cli.py",
            "src/ganpo_geo/_commands",
            "src/ganpo_geo/batch.py",
            "src/ganpo_geo/dask_batch.py",
            "src/ganpo_geo/_dask.py",
            "src/ganpo_geo/_cache.py",
            "src/ganpo_geo/data",
        ),
    )


if __name__ == "__main__":
    main_guard(main)
