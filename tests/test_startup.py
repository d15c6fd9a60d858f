"""What a single check no longer pays for at start-up, checked to give the same answers."""

from __future__ import annotations

import copy

import pytest

from ganpo_geo import _layerfiles
from ganpo_geo._index import PolygonIndex
from ganpo_geo.crs import JIANGXI_ALBERS, WGS84, albers_transformer, transformer
from ganpo_geo.layers import BUNDLED_LAYERS, layer_info, load_layer


@pytest.mark.parametrize("name", list(BUNDLED_LAYERS))
def test_provenance_read_with_sqlite_is_the_one_gdal_reads(name: str) -> None:
    entry = _layerfiles._bundled(name)
    assert _layerfiles._gpkg_provenance(entry.file)[entry.layer] == layer_info(name).provenance
    assert load_layer(name).attrs["provenance"] == layer_info(name).provenance


def test_layer_provenance_copies_are_independent_and_cheap() -> None:
    gdf = load_layer("stations")
    derived = gdf[gdf["basin"] == "gan"]  # pandas deep-copies attrs into derived frames
    assert derived.attrs["provenance"] == gdf.attrs["provenance"]
    derived.attrs["provenance"]["note"] = "changed"
    assert "note" not in gdf.attrs["provenance"] and "note" not in load_layer("stations").attrs["provenance"]
    clone = copy.deepcopy(gdf.attrs["provenance"])
    assert clone == gdf.attrs["provenance"] and clone is not gdf.attrs["provenance"]


def test_one_albers_transformer_per_process() -> None:
    from ganpo_geo.siting import _albers_transformer

    assert transformer(WGS84, JIANGXI_ALBERS) is albers_transformer() is _albers_transformer()
    x, y = albers_transformer().transform(115.9, 28.7)
    assert abs(x) < 1e6 and 2e6 < y < 5e6  # metres in the Jiangxi Albers


def test_index_without_grid_answers_like_the_grid() -> None:
    import numpy as np

    geoms = load_layer("counties").geometry.to_numpy()
    rng = np.random.default_rng(1)
    x, y = rng.uniform(113.5, 118.5, 2000), rng.uniform(24.5, 30.1, 2000)
    exact = PolygonIndex.build(geoms, None).query_points(x, y)
    gridded = PolygonIndex.build(geoms).query_points(x, y)
    assert np.array_equal(exact[0], gridded[0]) and np.array_equal(exact[1], gridded[1])
    assert len(exact[0]) > 1000


def test_submodules_stay_reachable_as_package_attributes() -> None:
    import subprocess
    import sys

    code = (
        "import sys, ganpo_geo; assert 'ganpo_geo.zoning' not in sys.modules; "
        "assert callable(ganpo_geo.zoning.rules_for) and callable(ganpo_geo.rivers.navigate); "
        "assert ganpo_geo.basins.basin_of is ganpo_geo.rivers.basin_of"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
