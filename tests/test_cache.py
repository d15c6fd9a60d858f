"""The on-disk index cache: keyed by content, safe against stale and corrupt files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

from ganpo_geo import _cache
from ganpo_geo.layers import Layers
from ganpo_geo.siting import _bundled_key, check_sites


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


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage"])
def test_corrupt_file_is_removed_and_ignored(cache_dir, damage) -> None:
    key = "ab" * 32
    path = _cache.save(key, {"x": np.arange(1000)})
    raw = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(raw[: len(raw) // 2])
    elif damage == "flip":
        path.write_bytes(raw[:-10] + bytes(b ^ 0xFF for b in raw[-10:]))
    else:
        path.write_bytes(b"not a cache file")
    assert _cache.load(key) is None
    assert not path.exists()


def test_file_of_another_key_is_not_trusted(cache_dir) -> None:
    key, other = "cd" * 32, "cd" * 16 + "ef" * 16  # same file name (first 32 characters)
    _cache.save(key, {"x": 1})
    assert _cache.load(other) is None


def test_disabled_cache(monkeypatch) -> None:
    monkeypatch.setenv("GANPO_CACHE_DIR", "off")
    assert _cache.cache_dir() is None
    assert _cache.save("ab" * 32, {"x": 1}) is None
    assert _cache.load("ab" * 32) is None


def test_user_layers_are_not_cached() -> None:
    units = Layers().units().head(3)
    assert _bundled_key(Layers(control_units=units)) is None
    assert _bundled_key(Layers()) is not None


def test_a_new_process_reuses_the_indexes_with_the_same_results(cache_dir) -> None:
    rng = np.random.default_rng(2)
    n = 25_000  # above the grid threshold: the grids are built, then saved
    sites = pd.DataFrame({"lon": rng.uniform(114, 118, n), "lat": rng.uniform(25, 30, n), "industry": "化工"})
    first = check_sites(sites, layers=Layers(), progress=False)
    files = list(cache_dir.glob("indexes-*.pkl"))
    assert len(files) == 1
    fresh = Layers()  # like a new process: nothing built
    again = check_sites(sites.head(500), layers=fresh, progress=False)
    assert fresh._cache["_ganpo_disk_cache"]["loaded"]
    assert "county_grid" in fresh._cache  # loaded, not rebuilt for 500 sites
    pd.testing.assert_frame_equal(
        pd.DataFrame(again.drop(columns="geometry")), pd.DataFrame(first.drop(columns="geometry")).head(500)
    )
