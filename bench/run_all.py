"""Run every benchmark, then regenerate the README table and the scaling plot from the results.

Each bench runs in its own process with ``PYTHONPATH=<this checkout>/src`` (so the code measured
is this checkout's, whatever ganpo_geo is installed), one after the other. A failing bench is
reported and the others still run; the exit status is 1 if any failed. The run refuses to start
when ``src/ganpo_geo`` or ``bench`` has uncommitted changes (results must name their commit);
``--allow-dirty`` runs anyway and the results say so (the staleness test rejects them).

Full size (10,000 / 100,000 / 1,000,000 of each) took 23 minutes on the shared 2-core
development machine (siting 9, rivers 6.5, zoning 4, startup 2, loads 1, crs 0.5;
``total_wall_s`` in each results file); ``--quick`` runs small sizes in about 5 minutes and writes to
``bench/_scratch`` (git-ignored), leaving the README alone.

Usage::

    python bench/run_all.py                   # full size, rewrites README table + scaling.png
    python bench/run_all.py --quick           # small sizes, scratch output
    python bench/run_all.py --only rivers loads
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
#: siting and startup first: they time fresh processes (the CLI, a single check), and on this VM
#: a process started within minutes after others allocated and freed many GB (the rivers and
#: zoning baselines at 1,000,000) pays seconds for memory the host took back. Measured on one
#: commit: the 1M CLI to CSV took 17.5 s after them, 16.5 s with siting first (its own 10,000
#: and 100,000 runs before), and 13.2 s with bench_siting run for 1,000,000 sites alone. The CLI
#: now keeps freed memory for reuse (cli._keep_freed_memory): 11.9 s with siting first.
BENCHES = ("siting", "startup", "crs", "loads", "zoning", "rivers")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, results in bench/_scratch")
    parser.add_argument("--only", nargs="+", choices=BENCHES, help="run only these benches")
    parser.add_argument("--allow-dirty", action="store_true", help="run on uncommitted code (results flagged)")
    parser.add_argument("--no-report", action="store_true", help="do not regenerate the README table and plot")
    args = parser.parse_args(argv)

    if not args.allow_dirty:
        status = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=all", "--", "src/ganpo_geo", "bench"],
            capture_output=True,
            text=True,
        )
        if status.returncode != 0:
            print(f"error: git status failed ({status.stderr.strip()}): results must name a commit", file=sys.stderr)
            return 2
        dirty = [
            line[3:]
            for line in status.stdout.splitlines()
            if line.strip() and not line[3:].startswith(("bench/results/", "bench/_scratch/"))
        ]
        if dirty:
            print(
                f"error: uncommitted changes in {', '.join(dirty)}: commit them first (or --allow-dirty)",
                file=sys.stderr,
            )
            return 2

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "src"), env.get("PYTHONPATH")]))
    results_dir = BENCH_DIR / ("_scratch/results" if args.quick else "results")
    failed, walls = [], {}
    for name in args.only or BENCHES:
        cmd = [sys.executable, str(BENCH_DIR / f"bench_{name}.py")]
        if args.quick:
            cmd.append("--quick")
        if args.allow_dirty:
            cmd.append("--allow-dirty")
        print(f"=== bench_{name}.py", flush=True)
        start = time.perf_counter()
        rc = subprocess.run(cmd, cwd=REPO, env=env).returncode
        walls[name] = time.perf_counter() - start
        if rc != 0:
            failed.append(name)
            print(f"=== bench_{name}.py FAILED (exit {rc}) after {walls[name]:.0f} s", flush=True)
        else:
            print(f"=== bench_{name}.py done in {walls[name]:.0f} s", flush=True)

    summary = ", ".join(f"{k} {v:.0f} s" for k, v in walls.items())
    print(f"wall times: {summary}; total {sum(walls.values()):.0f} s")
    if not args.no_report:
        report = [sys.executable, str(BENCH_DIR / "report.py"), "--results", str(results_dir)]
        if args.quick:
            report += ["--readme", "none", "--plot", str(BENCH_DIR / "_scratch" / "scaling.png")]
        if subprocess.run(report, cwd=REPO, env=env).returncode != 0:
            failed.append("report")
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
