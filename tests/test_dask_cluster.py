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
    pd.testing.assert_frame_equal(
        pd.DataFrame(on_cluster.drop(columns="geometry")),
        pd.DataFrame(default.drop(columns="geometry")),
        # exact but for the last bit of dist_to_*_km at a few sites: a partition with under 20,000
        # sites in Jiangxi snaps with the tree, not the KD-tree, and a point equally near two
        # pieces of a reach may be located on the other one (as with smaller chunks in main)
        check_exact=False,
        rtol=1e-12,
        atol=0.0,
    )


@pytest.mark.parametrize("scheduler", ["cluster", "tcp://host", "processes;rm"])
def test_bad_scheduler_is_one_line(scheduler) -> None:
    with pytest.raises(ValidationError, match="tcp://HOST:PORT"):
        check_sites(_sites(3), engine="dask", scheduler=scheduler)


def test_scheduler_needs_the_dask_engine() -> None:
    with pytest.raises(ValidationError, match="with engine dask"):
        check_sites(_sites(3), scheduler="processes")
