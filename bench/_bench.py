"""Shared parts of the benchmarks: timing, scaling over sizes, and results that name their code.

Every bench script defines a ``run_size(size)`` that measures ours and a baseline at one size
and returns ``{"times_s": {...}, "runs": {...}, "info": {...}}``; :func:`bench_main` runs it at
three sizes and writes ``bench/results/<name>.json`` with

- ``git``: the commit of HEAD and any uncommitted change to the benchmarked paths (the run
  refuses a dirty tree unless ``--allow-dirty``; ``tests/test_bench_results.py`` fails on such
  results), so a results file names the code it measured;
- ``benchmarked_paths``: every ``src/ganpo_geo`` module the run imported (plus the bench script
  and the bundled data it reads). The staleness test fails when one of them changed in a commit
  after ``git.commit``;
- ``date``, ``machine`` (cores, CPU model, load average), ``libraries`` (versions);
- ``results``: per size, the median time of each measurement and how many runs it took;
- ``scaling``: the growth exponent of each time between consecutive sizes; a step above
  :data:`SUPER_LINEAR_EXPONENT` is flagged (printed, and listed in ``super_linear``).

This module imports nothing heavy, so the tests can import it.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
SCRATCH_DIR = BENCH_DIR / "_scratch"

#: Time growth exponent between two sizes above which a step is called super-linear.
#: n log n between 10k and 100k points is ~1.2; quadratic is 2.
SUPER_LINEAR_EXPONENT = 1.3
#: Steps whose larger time is below this are too short to judge (timer and start-up noise).
MIN_SCALING_TIME_S = 0.1
#: Repeat a measurement up to this many times and report the median ...
REPEAT = 3
#: ... but stop repeating once the runs so far took this long (a 1M-point baseline takes minutes).
REPEAT_BUDGET_S = 20.0

#: Modules imported during a run that are not benchmarked code (re-exports and exception classes).
_NOT_MEASURED = {"src/ganpo_geo/__init__.py", "src/ganpo_geo/_errors.py"}

LIBRARIES = ("numpy", "pandas", "shapely", "geopandas", "pyproj", "scipy", "networkx", "pyogrio", "rasterio")


@dataclass(frozen=True)
class Task:
    """One row of the README table: a timed key of ours against a timed key of the baseline.

    ``speedup`` in the table is baseline time / our time (below 1 when ours is slower).
    """

    label: str
    ours: str
    baseline: str
    baseline_label: str
    note: str = ""


def timed(func: Callable[[], Any]) -> tuple[Any, float]:
    """Call ``func()`` once; return its result and the wall time in seconds."""
    start = time.perf_counter()
    out = func()
    return out, time.perf_counter() - start


class Timer:
    """Collects median times of named measurements for one size.

    ``timer.run("snap_s", func)`` calls ``func`` up to :data:`REPEAT` times (fewer once
    :data:`REPEAT_BUDGET_S` is spent) and keeps the median; ``before`` runs untimed before each
    call (to drop a cache, for example). Returns the last result.
    """

    def __init__(self, repeat: int = REPEAT, budget_s: float = REPEAT_BUDGET_S) -> None:
        self.repeat = repeat
        self.budget_s = budget_s
        self.times: dict[str, float] = {}
        self.runs: dict[str, int] = {}

    def run(self, key: str, func: Callable[[], Any], before: Callable[[], Any] | None = None) -> Any:
        times: list[float] = []
        out = None
        while len(times) < self.repeat and sum(times) < self.budget_s:
            if before is not None:
                before()
            out, t = timed(func)
            times.append(t)
        self.times[key] = statistics.median(times)
        self.runs[key] = len(times)
        return out

    def alternate(
        self, measurements: list[tuple[str, Callable[[], Any], Callable[[], Any] | None]], min_rounds: int = 2
    ) -> list[Any]:
        """Time several calls in turn, round after round, and keep each one's median.

        For ours against a baseline on a shared machine: a burst of load from elsewhere falls on
        both rather than on whichever ran alone at that moment. Each round starts one place
        further along the list, so every call also runs first, second, ... (after the others'
        allocations) in turn. Runs ``min_rounds`` rounds, and more (up to ``repeat``) while the
        rounds so far took less than ``budget_s`` per call. Each entry is ``(key, func, before)``;
        returns the last result of each.
        """
        times: dict[str, list[float]] = {key: [] for key, _, _ in measurements}
        outs: list[Any] = [None] * len(measurements)
        rounds = 0
        while rounds < max(min_rounds, 1) or (
            rounds < self.repeat and sum(map(sum, times.values())) < self.budget_s * len(measurements)
        ):
            for j in range(len(measurements)):
                i = (j + rounds) % len(measurements)
                key, func, before = measurements[i]
                if before is not None:
                    before()
                outs[i], t = timed(func)
                times[key].append(t)
            rounds += 1
        for key, ts in times.items():
            self.times[key] = statistics.median(ts)
            self.runs[key] = len(ts)
        return outs

    def add(self, key: str, seconds: float, runs: int = 1) -> None:
        """Record a time measured elsewhere (a subprocess wall time, a scaled subset)."""
        self.times[key] = seconds
        self.runs[key] = runs

    def result(self, **info: Any) -> dict:
        return {
            "times_s": {k: _round_s(v) for k, v in self.times.items()},
            "runs": dict(self.runs),
            "info": info,
        }


def _round_s(seconds: float) -> float:
    """Three significant figures, at least to the millisecond's tenth."""
    if seconds <= 0 or not math.isfinite(seconds):
        return seconds
    digits = max(4, 2 - math.floor(math.log10(seconds)))
    return round(seconds, digits)


# --------------------------------------------------------------------------- code identity


class BenchSetupError(RuntimeError):
    """The run cannot name the code it measures (no git, a dirty tree, ganpo_geo imported from elsewhere)."""


def git(*args: str, repo: Path = REPO) -> str:
    """Run ``git -C <repo> args`` and return its stdout without trailing whitespace (or raise ``BenchSetupError``)."""
    try:
        out = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True)
    except FileNotFoundError as exc:
        raise BenchSetupError("git is not installed: results must name a commit; install git") from exc
    except subprocess.CalledProcessError as exc:
        raise BenchSetupError(f"git {' '.join(args)} failed: {exc.stderr.strip()}") from exc
    return out.stdout.rstrip()  # not lstrip: porcelain status lines start with a space


def changed_since(commit: str, paths: list[str], repo: Path = REPO) -> list[str]:
    """Those of ``paths`` whose content at HEAD differs from ``commit`` (the code a result measured).

    Raises ``BenchSetupError`` with the fix when ``commit`` is not in the history of HEAD (a
    shallow clone, a squash merge or rebase that dropped it, a source tree without git).
    """
    if not paths:
        return []
    try:
        git("cat-file", "-e", f"{commit}^{{commit}}", repo=repo)
    except BenchSetupError as exc:
        raise BenchSetupError(
            f"commit {commit[:12]} is not in this clone ({exc}): fetch the full history (git fetch --unshallow), "
            "or, if a squash merge or rebase dropped it, rerun python bench/run_all.py and commit the results"
        ) from None
    ancestor = subprocess.run(
        ["git", "-C", str(repo), "merge-base", "--is-ancestor", commit, "HEAD"], capture_output=True, text=True
    )
    if ancestor.returncode != 0:
        raise BenchSetupError(
            f"commit {commit[:12]} is not an ancestor of HEAD: the results measured code outside this history; "
            "rerun python bench/run_all.py and commit the results"
        )
    out = git("diff", "--name-only", commit, "HEAD", "--", *paths, repo=repo)
    return sorted(set(out.splitlines()))


def check_source_checkout() -> None:
    """Refuse to run when ``ganpo_geo`` is imported from outside this checkout's ``src``."""
    import ganpo_geo

    here = Path(ganpo_geo.__file__).resolve().parent
    want = (REPO / "src" / "ganpo_geo").resolve()
    if here != want:
        raise BenchSetupError(
            f"ganpo_geo is imported from {here}, not from {want}: set PYTHONPATH={REPO / 'src'} "
            "(bench/run_all.py does) or pip install -e . in this checkout"
        )


def dirty_paths(paths: list[str]) -> list[str]:
    """Those of ``paths`` (repo-relative) with uncommitted changes, untracked files included."""
    if not paths:
        return []
    out = git("status", "--porcelain", "--untracked-files=all", "--", *paths)
    return sorted({line[3:].split(" -> ")[-1] for line in out.splitlines() if line.strip()})


def imported_modules() -> list[str]:
    """Repo-relative paths of the ``ganpo_geo`` modules imported so far (minus re-exports/errors)."""
    src = (REPO / "src").resolve()
    found = set()
    for name, module in list(sys.modules.items()):
        if not (name == "ganpo_geo" or name.startswith("ganpo_geo.")):
            continue
        file = getattr(module, "__file__", None)
        if not file:
            continue
        path = Path(file).resolve()
        if path.is_relative_to(src):
            found.add((Path("src") / path.relative_to(src)).as_posix())
    return sorted(found - _NOT_MEASURED)


def machine_info() -> dict:
    """Cores, CPU model, OS and load average of this machine."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {
        "cores": os.cpu_count(),
        "cpu_model": model,
        "arch": platform.machine(),
        "os": platform.platform(),
        "python": platform.python_version(),
    }
    if hasattr(os, "getloadavg"):
        info["load_avg_1_5_15_at_start"] = [round(v, 2) for v in os.getloadavg()]
    return info


def library_versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in LIBRARIES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            continue
    try:
        import shapely

        out["GEOS"] = shapely.geos_version_string
    except ImportError:
        pass
    return out


# --------------------------------------------------------------------------- scaling


def scaling(sizes: list[int], results: list[dict]) -> list[dict]:
    """Growth exponent log(t2/t1)/log(n2/n1) of every time between consecutive sizes."""
    steps = []
    for i in range(1, len(sizes)):
        (n1, r1), (n2, r2) = (sizes[i - 1], results[i - 1]), (sizes[i], results[i])
        for key, t2 in r2["times_s"].items():
            t1 = r1["times_s"].get(key)
            if not t1 or t1 <= 0 or t2 <= 0 or n2 <= n1:
                continue
            exponent = math.log(t2 / t1) / math.log(n2 / n1)
            steps.append(
                {
                    "key": key,
                    "from_size": n1,
                    "to_size": n2,
                    "exponent": round(exponent, 2),
                    "super_linear": bool(exponent > SUPER_LINEAR_EXPONENT and t2 >= MIN_SCALING_TIME_S),
                }
            )
    return steps


# --------------------------------------------------------------------------- running


def bench_main(
    name: str,
    tasks: list[Task],
    run_size: Callable[[int], dict],
    *,
    sizes: list[int],
    quick_sizes: list[int],
    size_unit: str,
    description: str,
    extra_paths: tuple[str, ...] = (),
    argv: list[str] | None = None,
) -> Path:
    """Parse the common options, run every size, write the results file and return its path.

    Options: ``--sizes N [N ...]``, ``--quick`` (small sizes, written to ``bench/_scratch``),
    ``--out PATH``, ``--allow-dirty`` (run on uncommitted code; the results are flagged and the
    staleness test rejects them).
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--sizes", type=int, nargs="+", help=f"{size_unit} per run (default {sizes})")
    parser.add_argument("--quick", action="store_true", help=f"small sizes {quick_sizes}, written to bench/_scratch")
    parser.add_argument("--out", type=Path, help="results file (default bench/results/<name>.json)")
    parser.add_argument("--allow-dirty", action="store_true", help="run even if the benchmarked code is uncommitted")
    args = parser.parse_args(argv)
    run_sizes = args.sizes or (quick_sizes if args.quick else sizes)
    run_sizes = sorted(set(run_sizes))
    out = args.out or ((SCRATCH_DIR / "results" if args.quick else RESULTS_DIR) / f"{name}.json")

    check_source_checkout()
    script = f"bench/bench_{name}.py"
    commit = git("rev-parse", "HEAD")
    early_dirty = dirty_paths(["src/ganpo_geo", script, "bench/_bench.py"])
    if early_dirty and not args.allow_dirty:
        raise BenchSetupError(
            f"uncommitted changes in {', '.join(early_dirty)}: commit them first so the results can name "
            "their code (or pass --allow-dirty for a trial run)"
        )
    started = time.perf_counter()
    machine = machine_info()
    results = []
    for size in run_sizes:
        print(f"[{name}] {size:,} {size_unit} ...", flush=True)
        t0 = time.perf_counter()
        res = run_size(size)
        res = {"size": size, **res, "wall_s": round(time.perf_counter() - t0, 1)}
        results.append(res)
        print(f"[{name}] {size:,}: " + ", ".join(f"{k}={v}" for k, v in res["times_s"].items()), flush=True)

    paths = sorted({*imported_modules(), script, *extra_paths})
    steps = scaling(run_sizes, results)
    flagged = [
        f"{s['key']}: {s['from_size']:,} -> {s['to_size']:,} grows as n^{s['exponent']}"
        for s in steps
        if s["super_linear"]
    ]
    for line in flagged:
        print(f"[{name}] SUPER-LINEAR: {line}", flush=True)
    record = {
        "bench": name,
        "script": script,
        "description": description,
        "git": {
            "commit": commit,
            "commit_date": git("show", "-s", "--format=%cI", commit),
            "dirty_paths": dirty_paths(paths),
        },
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine,
        "libraries": library_versions(),
        "benchmarked_paths": paths,
        "size_unit": size_unit,
        "sizes": run_sizes,
        "timing": f"median of up to {REPEAT} runs, repeats stop after {REPEAT_BUDGET_S:.0f} s",
        "tasks": [asdict(t) for t in tasks],
        "results": results,
        "scaling": steps,
        "super_linear_exponent": SUPER_LINEAR_EXPONENT,
        "super_linear": flagged,
        "total_wall_s": round(time.perf_counter() - started, 1),
    }
    return write_results(out, record)


def write_results(out: Path, record: dict) -> Path:
    """Write ``record`` as JSON to ``out`` and print where."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {out}", flush=True)
    return out


def main_guard(func: Callable[[], Any]) -> None:
    """Run a bench ``main`` and turn a :class:`BenchSetupError` into one line and exit status 2."""
    try:
        func()
    except BenchSetupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
