"""The dask engine on a dask.distributed cluster of processes gives the default engine's result."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

from ganpo_geo._errors import ValidationError
from ganpo_geo.layers import Layers
from ganpo_geo.siting import check_sites


def _sites(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(16)
    lon = rng.uniform(113.0, 119.0, n)  # some outside Jiangxi
    lat = rng.uniform(24.0, 30.5, n)
    lon[::1000] = np.nan
    return pd.DataFrame({"lon": lon, "lat": lat, "industry": rng.choice(["化工", "garment", "steel", "?"], n)})


def test_local_cluster_of_two_processes_gives_identical_output(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("GANPO_CACHE_DIR", str(tmp_path / "cache"))  # the workers load the indexes from it
    sites = _sites(200_000)
    layers = Layers()
    default = check_sites(sites, layers=layers, progress=False)
    assert list((tmp_path / "cache").glob("indexes-*.pkl"))
    on_cluster = check_sites(sites, layers=layers, engine="dask", scheduler="processes", workers=2, progress=False)
    assert shapely.equals_exact(on_cluster.geometry.to_numpy(), default.geometry.to_numpy(), 0).sum() == (
        default.geometry.notna().sum()
    )
    # exact: partitions under 20,000 sites snap with the pieces' tree, larger ones with the
    # segment grid, and both break ties the same way (lowest reach id, then earliest piece)
    pd.testing.assert_frame_equal(
        pd.DataFrame(on_cluster.drop(columns="geometry")),
        pd.DataFrame(default.drop(columns="geometry")),
        check_exact=True,
    )


def test_a_running_cluster_by_its_tcp_address(tmp_path, monkeypatch) -> None:
    """A scheduler given as tcp://HOST:PORT (here a LocalCluster of 2 processes started by the test):
    check_sites and the partitioned file-to-file batch both run on it, with the default engine's answers."""
    from dask.distributed import LocalCluster

    from ganpo_geo.dask_batch import check_to_dataset

    monkeypatch.setenv("GANPO_CACHE_DIR", str(tmp_path / "cache"))
    sites = _sites(30_000)
    # fresh layers: the red-line distance takes the same path here as on the workers, which start
    # from this test's cache folder (the bundled layers of this process may hold indexes that
    # earlier tests built, and saved elsewhere)
    default = check_sites(sites, layers=Layers(), progress=False)
    source = tmp_path / "sites.csv"
    sites.to_csv(source, index=False)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tcp://")
        on_cluster = check_sites(sites, engine="dask", scheduler=address, progress=False)
        summary = check_to_dataset(source, tmp_path / "out", scheduler=address, blocksize=300_000)
    pd.testing.assert_frame_equal(
        pd.DataFrame(on_cluster.drop(columns="geometry")), pd.DataFrame(default.drop(columns="geometry"))
    )
    assert summary.parts > 1 and summary.rows == len(sites)
    written = pd.concat([pd.read_parquet(p) for p in sorted((tmp_path / "out").glob("part.*.parquet"))])
    assert written["verdict"].tolist() == default["verdict"].tolist()
    assert written["error"].str.len().gt(0).sum() == (default["error"] != "").sum()


def test_an_unreachable_scheduler_is_one_line() -> None:
    with pytest.raises(ValidationError, match="cannot reach the dask scheduler"):
        check_sites(_sites(3), engine="dask", scheduler="tcp://127.0.0.1:9")


@pytest.mark.parametrize("scheduler", ["cluster", "tcp://host", "processes;rm"])
def test_bad_scheduler_is_one_line(scheduler) -> None:
    with pytest.raises(ValidationError, match="tcp://HOST:PORT"):
        check_sites(_sites(3), engine="dask", scheduler=scheduler)


def test_scheduler_needs_the_dask_engine() -> None:
    with pytest.raises(ValidationError, match="with engine dask"):
        check_sites(_sites(3), scheduler="processes")
