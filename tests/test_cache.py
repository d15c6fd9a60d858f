"""The on-disk index cache: keyed by content, safe against stale and corrupt files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely

from ganpo_geo import _cache
from ganpo_geo.basins import _bundled_catchment_index
from ganpo_geo.layers import Layers
from ganpo_geo.siting import _bundled_key, check_site, check_sites


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("GANPO_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_round_trip_and_content_key(cache_dir, tmp_path) -> None:
    a = tmp_path / "a.txt"
    a.write_text("one", encoding="utf-8")
    key = _cache.content_key([a], "v1")
    tree = shapely.STRtree(shapely.points(np.arange(5.0), np.arange(5.0)))
    assert _cache.save(key, {"tree": tree, "grid": np.arange(4), "bad": lambda: 1}) is not None
    back = _cache.load(key)
    assert set(back) == {"tree", "grid"}  # what does not pickle is left out (rebuilt)
    assert back["tree"].query(shapely.box(0, 0, 2, 2)).tolist() == [0, 1, 2]
    a.write_text("two", encoding="utf-8")  # changed content: another key, the old file is not used
    assert _cache.content_key([a], "v1") != key
    assert _cache.content_key([a], "v2") != _cache.content_key([a], "v1")
    assert _cache.load(_cache.content_key([a], "v1")) is None


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "flip_stream", "flip_raw", "empty"])
def test_corrupt_file_is_removed_and_ignored(cache_dir, damage) -> None:
    key = "ab" * 32
    big = np.arange(100_000, dtype=np.int64)  # written raw, after the pickle stream
    path = _cache.save(key, {"x": np.arange(1000), "big": big, "text": "t" * 5000})
    raw = path.read_bytes()
    at = raw.index(b"t" * 5000) if damage == "flip_stream" else len(raw) - big.nbytes // 2
    if damage == "truncate":
        path.write_bytes(raw[: len(raw) // 2])
    elif damage == "flip":
        path.write_bytes(raw[:-10] + bytes(b ^ 0xFF for b in raw[-10:]))
    elif damage in ("flip_stream", "flip_raw"):  # one bit in the middle of the stream / of a raw buffer
        path.write_bytes(raw[:at] + bytes([raw[at] ^ 1]) + raw[at + 1 :])
    elif damage == "empty":
        path.write_bytes(b"")
    else:
        path.write_bytes(b"not a cache file")
    assert _cache.load(key) is None
    assert not path.exists()


def test_arrays_load_mapped_writable_and_the_file_stays(cache_dir) -> None:
    key = "ef" * 32
    grid = np.arange(300_000, dtype=np.int32).reshape(600, 500)
    fortran = np.asfortranarray(np.arange(40_000, dtype=np.float64).reshape(200, 200))
    frame = pd.DataFrame({"a": np.arange(50_000), "b": ["x", "y"] * 25_000})
    _cache.save(key, {"grid": grid, "fortran": fortran, "frame": frame, "small": np.arange(3)})
    back = _cache.load(key)
    np.testing.assert_array_equal(back["grid"], grid)
    assert back["grid"].dtype == np.int32 and back["grid"].flags.c_contiguous
    np.testing.assert_array_equal(back["fortran"], fortran)
    pd.testing.assert_frame_equal(back["frame"], frame)
    assert back["grid"].flags.writeable  # copy on write: a caller may write, the file does not change
    back["grid"][0, 0] = -7
    assert _cache.load(key)["grid"][0, 0] == 0


def _mapped_file_kb() -> int:
    """This process's resident pages of mapped files (kB, Linux)."""
    status = Path("/proc/self/status").read_text(encoding="ascii")
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("RssFile:")))


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc/self/status (Linux)")
def test_buffers_a_batch_does_not_use_stay_out_of_its_memory(cache_dir) -> None:
    # the raw buffers are checksummed from the file, not through the mapping: loading 64 MB
    # does not make them resident in this process; using them does
    key = "cd" * 32
    _cache.save(key, {"big": np.ones(8 * 2**20)})
    before = _mapped_file_kb()
    back = _cache.load(key)
    assert _mapped_file_kb() - before < 16 * 1024
    assert float(back["big"].sum()) == 8 * 2**20
    assert _mapped_file_kb() - before > 48 * 1024


def test_geometries_keep_their_prepared_state(cache_dir) -> None:
    key = "12" * 32
    polys = shapely.buffer(shapely.points(np.arange(50.0), np.zeros(50)), 0.4)
    shapely.prepare(polys[::2])
    mixed = np.array([shapely.Point(1, 2), None, shapely.LineString([(0, 0), (1, 1)])], dtype=object)
    one = shapely.box(0, 0, 1, 1)
    shapely.prepare(one)
    _cache.save(key, {"polys": polys, "mixed": mixed, "one": one, "names": np.array(["a", "b"], dtype=object)})
    back = _cache.load(key)
    assert shapely.equals_exact(back["polys"], polys, tolerance=0).all()
    assert shapely.is_prepared(back["polys"]).tolist() == shapely.is_prepared(polys).tolist()
    assert back["mixed"][1] is None and shapely.equals_exact(back["mixed"][[0, 2]], mixed[[0, 2]], tolerance=0).all()
    assert back["one"].equals(one) and shapely.is_prepared(back["one"])
    assert back["names"].tolist() == ["a", "b"]


def test_geometries_come_back_as_they_were(cache_dir) -> None:
    ring = shapely.LinearRing([(0, 0), (1, 0), (1, 1)])  # WKB alone would give a LineString
    srid = shapely.set_srid(shapely.Point(1, 2), 4326)
    kinds = [ring, shapely.Point(), shapely.Point(1, 2, 3), srid, shapely.from_wkt("POLYGON EMPTY")]
    with_ring, without = np.array(kinds, dtype=object), np.array(kinds[1:], dtype=object)
    _cache.save("34" * 32, {"one": ring, "with_ring": with_ring, "without": without})
    back = _cache.load("34" * 32)
    assert type(back["one"]) is shapely.LinearRing
    for name, given in (("with_ring", with_ring), ("without", without)):
        assert [type(g) for g in back[name]] == [type(g) for g in given]
        assert shapely.get_srid(back[name]).tolist() == shapely.get_srid(given).tolist()
        assert shapely.has_z(back[name]).tolist() == shapely.has_z(given).tolist()
        assert (shapely.equals_exact(back[name], given, tolerance=0) | shapely.is_empty(given)).all()


def test_unknown_kind_of_file() -> None:
    with pytest.raises(ValueError, match="kind"):
        _cache.load("ab" * 32, "everything")


def test_file_of_another_key_is_not_trusted(cache_dir) -> None:
    key, other = "cd" * 32, "cd" * 16 + "ef" * 16  # same file name (first 32 characters)
    _cache.save(key, {"x": 1})
    assert _cache.load(other) is None


def test_disabled_cache(monkeypatch) -> None:
    monkeypatch.setenv("GANPO_CACHE_DIR", "off")
    assert _cache.cache_dir() is None
    assert _cache.save("ab" * 32, {"x": 1}) is None
    assert _cache.load("ab" * 32) is None


def test_key_covers_the_code_that_builds_the_indexes(monkeypatch) -> None:
    seen = {}
    monkeypatch.setattr(_cache, "content_key", lambda files, extra="": seen.setdefault("files", list(files)) and "k")
    _bundled_key(Layers())
    names = {f.name for f in seen["files"]}
    assert {"_index.py", "basins.py", "siting.py", "redline.py", "zoning.py", "_cache.py"} <= names
    assert any(f.suffix == ".gpkg" for f in seen["files"])  # and the data


def test_one_site_does_not_read_the_cache(cache_dir, monkeypatch) -> None:
    def fail(*args, **kwargs):
        raise AssertionError("the batch cache was read for a single site")

    monkeypatch.setattr(_cache, "load", fail)
    report = check_site((115.89, 28.68), industry="化工", layers=Layers())
    assert report.admin and report.verdict


def test_user_layers_are_not_cached() -> None:
    units = Layers().units().head(3)
    assert _bundled_key(Layers(control_units=units)) is None
    assert _bundled_key(Layers()) is not None


def test_a_new_process_reuses_the_indexes_with_the_same_results(cache_dir, monkeypatch) -> None:
    rng = np.random.default_rng(2)
    n = 25_000  # above the grid threshold: the grids are built, then saved
    sites = pd.DataFrame({"lon": rng.uniform(114, 118, n), "lat": rng.uniform(25, 30, n), "industry": "化工"})
    built = _bundled_catchment_index(True)  # a process-wide index below siting (basins): saved too
    first = check_sites(sites, layers=Layers(), progress=False)
    files = list(cache_dir.glob("indexes-*.pkl"))
    assert len(files) == 1
    tables = list(cache_dir.glob("tables-*.pkl"))
    assert len(tables) == 1
    monkeypatch.setattr(_cache, "_SHARED", {})  # like a new process: nothing built
    fresh = Layers()
    again = check_sites(sites.head(500), layers=fresh, progress=False)
    assert fresh._cache["_ganpo_disk_cache"]["loaded"]
    assert "county_grid" in fresh._cache  # loaded, not rebuilt for 500 sites
    assert "verdict_table" in fresh._cache  # the memo tables too
    loaded = _bundled_catchment_index(True)
    assert loaded is not built  # loaded, not built again
    np.testing.assert_array_equal(loaded.grid, built.grid)
    pd.testing.assert_frame_equal(
        pd.DataFrame(again.drop(columns="geometry")), pd.DataFrame(first.drop(columns="geometry")).head(500)
    )
    # nothing new: no file is written again
    stamps = {f: f.stat().st_mtime_ns for f in (*files, *tables)}
    check_sites(sites.head(500), layers=fresh, progress=False)
    assert {f: f.stat().st_mtime_ns for f in stamps} == stamps
    # a new industry adds verdicts: the small tables file is rewritten, the indexes are not
    grown = Layers()
    other = sites.head(500).assign(industry="garment")
    n_before = len(_cache.load(check_key(grown), "tables")["verdict_table"])
    check_sites(other, layers=grown, progress=False)
    assert files[0].stat().st_mtime_ns == stamps[files[0]]
    assert len(_cache.load(check_key(grown), "tables")["verdict_table"]) > n_before


def check_key(layers: Layers) -> str:
    key = _bundled_key(layers)
    assert key is not None
    return key


_CHECK_IN_NEW_PROCESS = """
import sys
import pandas as pd
from ganpo_geo.layers import Layers
from ganpo_geo.siting import check_sites
sites = pd.read_pickle(sys.argv[1])
layers = Layers()
result = check_sites(sites, layers=layers, progress=False, chunk_size=3_000, workers=2)
assert layers._cache["_ganpo_disk_cache"]["loaded"], "the indexes were not loaded from the cache"
pd.DataFrame(result.drop(columns="geometry")).to_pickle(sys.argv[2])
"""


def test_a_new_process_checks_chunks_on_threads_at_once_from_the_cache(cache_dir, tmp_path) -> None:
    # A new process that loads the indexes starts every chunk at once, on two threads: each
    # prepared polygon must have its GEOS point locator built before (two threads building it
    # at once corrupt memory and abort the process: _threads.prepare_shared), and the indexes
    # built lazily in the chunks (the catchment tree) must be built once, under a lock.
    rng = np.random.default_rng(21)
    n = 60_000  # above the grid threshold: the grids are built, then saved; 20 chunks
    sites = pd.DataFrame({"lon": rng.uniform(113.5, 118.6, n), "lat": rng.uniform(24.4, 30.2, n), "industry": "化工"})
    serial = check_sites(sites, layers=Layers(), progress=False, workers=1)
    assert len(list(cache_dir.glob("indexes-*.pkl"))) == 1
    sites.to_pickle(tmp_path / "sites.pkl")
    for run in range(2):  # a crash is a race: two fresh processes
        out = tmp_path / f"threaded_{run}.pkl"
        done = subprocess.run(
            [sys.executable, "-c", _CHECK_IN_NEW_PROCESS, str(tmp_path / "sites.pkl"), str(out)],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        pd.testing.assert_frame_equal(pd.read_pickle(out), pd.DataFrame(serial.drop(columns="geometry")))
