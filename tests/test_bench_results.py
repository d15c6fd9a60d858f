"""Benchmark results name their code and are not stale; the README table is generated from them.

Every ``bench/results/<name>.json`` records the commit it measured and the paths it measured
(``benchmarked_paths``: the ``src/ganpo_geo`` modules the run imported, the bench script, the
bundled data it read). A test here fails when any of those paths differs between that commit
and HEAD: rerun ``python bench/run_all.py`` and commit the results.

These tests need the git history, so they fail (they do not skip) outside a git clone, e.g.
from an unpacked sdist: the results cannot be checked there, and a silent skip would hide
stale figures in CI. A shallow clone fails with a message asking for ``git fetch --unshallow``.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "bench"


def _load(name: str):
    path = BENCH / f"{name}.py"
    if not path.exists():
        pytest.fail(f"{path} is missing: the benchmark checks need the repository's bench/ folder (a git clone)")
    spec = importlib.util.spec_from_file_location(f"bench_{name}_module", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


_bench = _load("_bench")
report = _load("report")

BENCH_NAMES = sorted(p.stem.removeprefix("bench_") for p in BENCH.glob("bench_*.py"))
RESULTS = {name: BENCH / "results" / f"{name}.json" for name in BENCH_NAMES}


def _record(name: str) -> dict:
    path = RESULTS[name]
    assert path.exists(), f"{path} is missing: run python bench/run_all.py --only {name}"
    return json.loads(path.read_text())


def test_every_bench_script_has_results() -> None:
    assert set(BENCH_NAMES) >= {"crs", "zoning", "rivers", "loads", "siting", "startup"}
    stray = {p.stem for p in (BENCH / "results").glob("*.json")} - set(BENCH_NAMES)
    assert not stray, f"results without a bench script: {stray}"


@pytest.mark.parametrize("name", BENCH_NAMES)
def test_results_name_their_code_machine_and_sizes(name: str) -> None:
    rec = _record(name)
    assert re.fullmatch(r"[0-9a-f]{40}", rec["git"]["commit"])
    assert rec["git"]["dirty_paths"] == [], f"{name}: measured uncommitted code {rec['git']['dirty_paths']}"
    assert re.match(r"\d{4}-\d\d-\d\dT", rec["date"])
    assert rec["machine"]["cores"] >= 1 and rec["machine"]["cpu_model"]
    assert {"numpy", "shapely", "geopandas"} <= set(rec["libraries"])
    sizes = rec["sizes"]
    assert len(sizes) >= 3 and sizes == sorted(set(sizes)), sizes
    assert [r["size"] for r in rec["results"]] == sizes
    for task in rec["tasks"]:  # ours and the baseline at every size, from the same run
        for res in rec["results"]:
            assert res["times_s"][task["ours"]] > 0 and res["times_s"][task["baseline"]] > 0
    paths = rec["benchmarked_paths"]
    assert f"bench/bench_{name}.py" in paths
    assert any(p.startswith("src/ganpo_geo/") and p.endswith(".py") for p in paths)
    missing = [p for p in paths if not (REPO / p).exists()]
    assert not missing, f"{name}: benchmarked paths no longer exist: {missing}; rerun the bench"


@pytest.mark.parametrize("name", BENCH_NAMES)
def test_results_are_not_stale(name: str) -> None:
    rec = _record(name)
    try:
        changed = _bench.changed_since(rec["git"]["commit"], rec["benchmarked_paths"])
    except _bench.BenchSetupError as exc:
        pytest.fail(f"bench/results/{name}.json cannot be checked against the code: {exc}")
    assert not changed, (
        f"bench/results/{name}.json measured {rec['git']['commit'][:7]}, but {', '.join(changed)} changed since: "
        f"rerun python bench/run_all.py --only {name} and commit the results"
    )


@pytest.mark.parametrize("name", BENCH_NAMES)
def test_recorded_scaling_matches_recorded_times(name: str) -> None:
    rec = _record(name)
    assert rec["scaling"] == _bench.scaling(rec["sizes"], rec["results"])
    flagged = [s for s in rec["scaling"] if s["super_linear"]]
    assert len(rec["super_linear"]) == len(flagged)


def test_readme_table_is_generated_from_the_results() -> None:
    records = report.load_results(BENCH / "results")
    readme = (REPO / "README.md").read_text()
    assert readme.count(report.START) == 1 and readme.count(report.END) == 1
    assert report.replace_block(readme, report.table(records)) == readme, (
        "README benchmark table differs from bench/results: run python bench/report.py"
    )


# --------------------------------------------------------------------------- the mechanisms


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", *args],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def test_changed_since_sees_a_later_commit_and_ignores_other_paths(tmp_path: Path) -> None:
    _git(tmp_path, "init", "-q")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.py").write_text("x = 1\n")
    (tmp_path / "src" / "b.py").write_text("y = 1\n")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-qm", "one")
    measured = _git(tmp_path, "rev-parse", "HEAD")
    assert _bench.changed_since(measured, ["src/a.py"], repo=tmp_path) == []
    (tmp_path / "src" / "b.py").write_text("y = 2\n")
    _git(tmp_path, "commit", "-qam", "two: another module")
    assert _bench.changed_since(measured, ["src/a.py"], repo=tmp_path) == []
    (tmp_path / "src" / "a.py").write_text("x = 2\n")
    _git(tmp_path, "commit", "-qam", "three: the measured module")
    assert _bench.changed_since(measured, ["src/a.py", "src/b.py"], repo=tmp_path) == ["src/a.py", "src/b.py"]
    assert _bench.changed_since(measured, ["src"], repo=tmp_path) == ["src/a.py", "src/b.py"]


def test_changed_since_rejects_unknown_and_foreign_commits(tmp_path: Path) -> None:
    _git(tmp_path, "init", "-q")
    (tmp_path / "a.py").write_text("x = 1\n")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-qm", "one")
    with pytest.raises(_bench.BenchSetupError, match="not in this clone"):
        _bench.changed_since("0" * 40, ["a.py"], repo=tmp_path)
    _git(tmp_path, "checkout", "-qb", "side")
    (tmp_path / "a.py").write_text("x = 2\n")
    _git(tmp_path, "commit", "-qam", "side")
    side = _git(tmp_path, "rev-parse", "HEAD")
    _git(tmp_path, "checkout", "-q", "-")
    with pytest.raises(_bench.BenchSetupError, match="not an ancestor"):
        _bench.changed_since(side, ["a.py"], repo=tmp_path)


def test_changed_since_outside_git_fails_with_a_clear_message(tmp_path: Path) -> None:
    with pytest.raises(_bench.BenchSetupError, match="not in this clone"):
        _bench.changed_since("a" * 40, ["x.py"], repo=tmp_path)


def _result(times: dict) -> dict:
    return {"times_s": times}


def test_scaling_flags_quadratic_steps_only() -> None:
    sizes = [10_000, 100_000, 1_000_000]
    results = [
        _result({"linear": 0.1, "quadratic": 0.01, "tiny": 0.0001, "nlogn": 0.1}),
        _result({"linear": 1.0, "quadratic": 1.0, "tiny": 0.01, "nlogn": 1.25}),
        _result({"linear": 10.5, "quadratic": 100.0, "tiny": 0.05, "nlogn": 15.0}),
    ]
    steps = {(s["key"], s["to_size"]): s for s in _bench.scaling(sizes, results)}
    assert steps[("quadratic", 100_000)]["exponent"] == 2.0
    assert steps[("quadratic", 1_000_000)]["super_linear"]
    assert not steps[("linear", 1_000_000)]["super_linear"]
    assert not steps[("nlogn", 1_000_000)]["super_linear"]  # n log n stays under the threshold
    assert not steps[("tiny", 100_000)]["super_linear"]  # exponent 2 but under the time floor


def test_report_block_replacement_keeps_the_rest_and_needs_markers() -> None:
    text = f"intro\n{report.START}\nold table\n{report.END}\noutro\n"
    assert report.replace_block(text, "new") == f"intro\n{report.START}\nnew\n{report.END}\noutro\n"
    with pytest.raises(SystemExit, match="bench:start"):
        report.replace_block("no markers here", "new")


def test_alternate_rotates_the_order_and_keeps_medians() -> None:
    order: list[str] = []
    dropped: list[str] = []
    timer = _bench.Timer(repeat=3, budget_s=60.0)
    outs = timer.alternate(
        [
            ("a", lambda: order.append("a") or "A", None),
            ("b", lambda: order.append("b") or "B", lambda: dropped.append("b")),
            ("c", lambda: order.append("c") or "C", None),
        ],
        min_rounds=3,
    )
    assert order == ["a", "b", "c", "b", "c", "a", "c", "a", "b"]  # each call runs first once
    assert dropped == ["b", "b", "b"]  # the untimed set-up runs before every call it belongs to
    assert outs == ["A", "B", "C"]
    assert timer.runs == {"a": 3, "b": 3, "c": 3} and all(t >= 0 for t in timer.times.values())
