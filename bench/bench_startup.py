"""Benchmark: start-up time of the ``ganpo`` command, as ratios to ``python -c "import geopandas"``.

Measured in the same run, each the median wall time of ``size`` fresh processes, taken in turn
(round after round, so a burst of load from elsewhere falls on all of them):

- ``python -c "import geopandas"`` (the baseline: the least any geopandas tool pays);
- ``ganpo --version`` and ``ganpo --help`` (the goal: under 0.3 s);
- one ``ganpo site-check`` of a point on the bundled data (the goal: under 1.5x the baseline).

``ganpo`` is the console script installed next to this Python (else ``python -m ganpo_geo.cli``).
Byte-code caching is left on in the child processes (``PYTHONDONTWRITEBYTECODE`` removed) and
each command runs once untimed first, as for an installed package; the result records whether
the variable was set. The ``-X importtime`` profile of one site check (the modules that took
longest, cumulative and self) and the heavy optional libraries it imported are written into
the results, so a regression shows which import caused it.

The size is the number of processes per command; the times are medians, so they should not grow
with it (the sizes are spread by doubling so that noise on a shared machine does not read as growth).

Writes ``bench/results/startup.json``. Usage: ``python bench/bench_startup.py [--quick | --sizes N ...]``.
"""

from __future__ import annotations

import importlib
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _bench import REPO, Task, Timer, bench_main, main_guard

#: One site check on the bundled data (Nanchang, chemical industry), JSON so no TTY is needed.
SITE_CHECK_ARGS = ["site-check", "--lon", "115.9", "--lat", "28.7", "--industry", "化工", "--format", "json"]
#: Libraries a site check does not need; the profile records which of them it imported anyway.
HEAVY_OPTIONAL = ("networkx", "folium", "scipy", "matplotlib", "dask", "playwright", "rasterio", "sklearn")
#: How many modules of the import profile to keep (by cumulative time, and by self time).
PROFILE_TOP = 25

TASKS = [
    Task(
        "ganpo --version",
        "ganpo_version_s",
        "import_geopandas_s",
        'python -c "import geopandas"',
        "fresh process, wall time; goal < 0.3 s",
    ),
    Task(
        "ganpo --help",
        "ganpo_help_s",
        "import_geopandas_s",
        'python -c "import geopandas"',
        "fresh process, wall time; goal < 0.3 s",
    ),
    Task(
        "ganpo site-check (one point)",
        "ganpo_site_check_s",
        "import_geopandas_s",
        'python -c "import geopandas"',
        "fresh process, wall time; goal: speedup above 0.67 (under 1.5x the baseline)",
    ),
]


def _ganpo() -> list[str]:
    script = Path(sys.executable).with_name("ganpo")
    return [str(script)] if script.exists() else [sys.executable, "-m", "ganpo_geo.cli"]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "src"), env.get("PYTHONPATH")]))
    return env


def _run(cmd: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=REPO)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip()[-500:]}")
    return proc


def import_profile(cmd: list[str], env: dict[str, str]) -> dict[str, Any]:
    """The ``-X importtime`` profile of one run of ``cmd``: top modules and total import time."""
    proc = _run(cmd, {**env, "PYTHONPROFILEIMPORTTIME": "1"})
    rows = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        _, self_us, cumulative_us, name = (part.strip() for part in line.replace("import time:", "|").split("|"))
        depth = (len(line.split("|")[2]) - len(line.split("|")[2].lstrip())) // 2
        rows.append(
            {"module": name, "self_ms": int(self_us) / 1000, "cumulative_ms": int(cumulative_us) / 1000, "depth": depth}
        )
    top_level = [r for r in rows if r["depth"] == 0]
    imported = {r["module"].split(".")[0] for r in rows}
    return {
        "command": " ".join(cmd[-len(SITE_CHECK_ARGS) - 1 :]),
        "modules_imported": len(rows),
        "total_import_ms": round(sum(r["cumulative_ms"] for r in top_level), 1),
        "top_cumulative": sorted(rows, key=lambda r: -r["cumulative_ms"])[:PROFILE_TOP],
        "top_self": sorted(rows, key=lambda r: -r["self_ms"])[:PROFILE_TOP],
        "heavy_optional_imported": sorted(imported & set(HEAVY_OPTIONAL)),
        "ganpo_geo_modules": sorted({r["module"] for r in rows if r["module"].startswith("ganpo_geo")}),
    }


def run_size(size: int) -> dict:
    env = _env()
    ganpo = _ganpo()
    commands = {
        "import_geopandas_s": [sys.executable, "-c", "import geopandas"],
        "ganpo_version_s": [*ganpo, "--version"],
        "ganpo_help_s": [*ganpo, "--help"],
        "ganpo_site_check_s": [*ganpo, *SITE_CHECK_ARGS],
    }
    for cmd in commands.values():  # untimed: writes the byte-code caches, checks each command works
        _run(cmd, env)
    times: dict[str, list[float]] = {key: [] for key in commands}
    keys = list(commands)
    for round_ in range(size):
        for j in range(len(keys)):
            key = keys[(j + round_) % len(keys)]
            start = time.perf_counter()
            _run(commands[key], env)
            times[key].append(time.perf_counter() - start)
    timer = Timer()
    for key, ts in times.items():
        timer.add(key, statistics.median(ts), runs=len(ts))
    base = timer.times["import_geopandas_s"]
    profile = import_profile(commands["ganpo_site_check_s"], env)
    for module in profile.pop("ganpo_geo_modules"):  # so that benchmarked_paths lists what a site check runs
        importlib.import_module(module)
    return timer.result(
        ganpo_command=" ".join(ganpo),
        pythondontwritebytecode_was_set=bool(os.environ.get("PYTHONDONTWRITEBYTECODE")),
        ratios_to_import_geopandas={k: round(timer.times[k] / base, 2) for k in keys if k != "import_geopandas_s"},
        goals={
            "ganpo_version_under_0_3_s": timer.times["ganpo_version_s"] < 0.3,
            "ganpo_help_under_0_3_s": timer.times["ganpo_help_s"] < 0.3,
            "site_check_under_1_5x_import_geopandas": timer.times["ganpo_site_check_s"] < 1.5 * base,
        },
        all_times_s={key: [round(t, 3) for t in ts] for key, ts in times.items()},
        site_check_import_profile=profile,
    )


def main() -> None:
    bench_main(
        "startup",
        TASKS,
        run_size,
        sizes=[5, 10, 20],
        quick_sizes=[2, 4, 8],
        size_unit="fresh processes per command",
        extra_paths=("src/ganpo_geo/data",),
        description="ganpo start-up: --version, --help and one site check against python -c 'import geopandas'",
    )


if __name__ == "__main__":
    main_guard(main)
