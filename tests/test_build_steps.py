"""The reference-data build as a package (``ganpo_geo._build``): each step reads the earlier
steps' outputs from its output folder (never the installed package), the subpackage stays out
of ``import ganpo_geo``, and its command line fails with one clear line."""

from __future__ import annotations

import ast
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from ganpo_geo._build import common, run
from ganpo_geo._build.loads import build_loads
from ganpo_geo._errors import BuildInputError
from ganpo_geo.layers import PROVENANCE_KEY, data_path

REPO = Path(__file__).resolve().parents[1]
BUILD = REPO / "src" / "ganpo_geo" / "_build"
TP_FILES = ("tp_export_coefficients.csv", "tp_sources.csv", "tp_reach_loads.csv", "tp_station_loads.csv")


def _copy_layer(src: Path, dst: Path, layer: str, change=None) -> None:
    """Copy one GeoPackage layer with its provenance, optionally changing the frame."""
    frame = pyogrio.read_dataframe(src, layer=layer)
    meta = pyogrio.read_info(src, layer=layer)["layer_metadata"]
    if change is not None:
        frame = change(frame)
    dst.parent.mkdir(parents=True, exist_ok=True)
    pyogrio.write_dataframe(frame, dst, layer=layer, driver="GPKG", layer_metadata=meta, append=False)


def _earlier_outputs(out: Path, *, units=None, stations=None) -> Path:
    """An output folder holding what the network and zoning steps wrote (the committed files),
    with the units and/or stations changed."""
    for layer in ("reaches", "nodes", "catchments", "stations"):
        change = stations if layer == "stations" else None
        _copy_layer(data_path("rivers/network.gpkg"), out / "rivers" / "network.gpkg", layer, change)
    _copy_layer(data_path("boundaries/zoning.gpkg"), out / "boundaries" / "zoning.gpkg", "control_units", units)
    return out


@pytest.fixture
def no_package_data(monkeypatch):
    """Every read of the installed package's data fails (the build must not need it)."""

    def broken(*args, **kwargs):
        msg = "the build read the installed package's data"
        raise AssertionError(msg)

    patched = 0
    for name, module in list(sys.modules.items()):
        if name.startswith("ganpo_geo") and not name.startswith("ganpo_geo._build"):
            for attr in ("data_path", "_read_bundled"):
                if hasattr(module, attr):
                    monkeypatch.setattr(module, attr, broken)
                    patched += 1
    assert patched >= 3


def test_loads_step_needs_nothing_from_the_installed_package(tmp_path, no_package_data) -> None:
    out = _earlier_outputs(tmp_path / "out")
    build_loads(out, common.find_data_dir())
    with pytest.raises(AssertionError, match="installed package"):
        sys.modules["ganpo_geo.layers"].data_path("rivers/tp_sources.csv")  # the fixture is in force
    for name in TP_FILES:
        committed = REPO / "src" / "ganpo_geo" / "data" / "rivers" / name
        assert (out / "rivers" / name).read_bytes() == committed.read_bytes(), name


def test_loads_step_uses_the_earlier_outputs_in_its_out_folder(tmp_path, no_package_data) -> None:
    def rename(units):
        return units.assign(name_zh="试验" + units["name_zh"])

    def drop_waizhou(stations):
        return stations.assign(
            trace_target=np.where(stations["station_id"] == "waizhou", "none", stations["trace_target"])
        )

    out = _earlier_outputs(tmp_path / "out", units=rename, stations=drop_waizhou)
    build_loads(out, common.find_data_dir())
    sources = pd.read_csv(out / "rivers" / "tp_sources.csv")
    parks = sources[sources["kind"] == "industrial_park"]
    assert len(parks) and parks["name"].str.startswith("试验").all()
    observed = pd.read_csv(out / "rivers" / "tp_station_loads.csv")["station_id"]
    committed = pd.read_csv(REPO / "src/ganpo_geo/data/rivers/tp_station_loads.csv")["station_id"]
    assert "waizhou" in set(committed) and "waizhou" not in set(observed)


def test_a_step_without_its_earlier_outputs_names_them(tmp_path) -> None:
    with pytest.raises(BuildInputError, match=r"zoning\.gpkg not found: run the build step"):
        build_loads(tmp_path, common.find_data_dir())
    with pytest.raises(BuildInputError, match=r"jiangxi_admin\.gpkg not found"):
        run.build_all(tmp_path, ["hydrography"])


def test_data_dir_is_the_checkout_and_a_missing_one_is_one_clear_line(tmp_path, monkeypatch, capsys) -> None:
    assert common.find_data_dir() == REPO / "data"
    assert common.find_data_dir(REPO / "data") == REPO / "data"
    # an installed wheel (no data/ next to src/) run from the checkout finds the checkout's data/
    monkeypatch.setattr(common, "REPO_DATA", tmp_path / "site-packages" / "data")
    monkeypatch.chdir(REPO)
    assert common.find_data_dir() == REPO / "data"
    # ... and run from anywhere else says how to fix it
    monkeypatch.chdir(tmp_path)
    with pytest.raises(BuildInputError, match="run the build from a ganpo_geo git checkout or pass --data-dir"):
        common.find_data_dir()
    assert run.main(["--only", "loads", "--out", str(tmp_path), "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--data-dir" in err and str(tmp_path) in err
    with pytest.raises(SystemExit):
        run.main(["--only", "network,bogus"])
    assert "unknown build steps bogus" in capsys.readouterr().err
    with pytest.raises(ValueError, match="unknown build steps"):
        run.build_all(tmp_path, ["bogus"])


def test_cli_runs_as_a_module() -> None:
    res = subprocess.run(
        [sys.executable, "-m", "ganpo_geo._build", "--help"], capture_output=True, text=True, check=False
    )
    assert res.returncode == 0, res.stderr
    assert "--only" in res.stdout and "--data-dir" in res.stdout and "--out" in res.stdout


def test_importing_ganpo_geo_never_imports_the_build() -> None:
    modules = sorted(f"ganpo_geo.{p.stem}" for p in (REPO / "src" / "ganpo_geo").glob("*.py") if p.stem != "__init__")
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}:\n"
        "    importlib.import_module(m)\n"
        "bad = [m for m in sys.modules if m.startswith('ganpo_geo._build')]\n"
        "assert not bad, bad\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stderr


def test_build_modules_form_layers_without_path_tricks() -> None:
    """Steps import only ``common`` of the build (no cycles); ``run`` imports the steps; no
    module nor the wrapper script touches sys.path."""
    imports: dict[str, set[str]] = {}
    for path in BUILD.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        found = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("ganpo_geo._build"):
                found.add(node.module.removeprefix("ganpo_geo._build").lstrip(".") or "__init__")
            if isinstance(node, ast.Attribute) and node.attr == "path" and getattr(node.value, "id", "") == "sys":
                pytest.fail(f"{path.name} uses sys.path")
        imports[path.stem] = found
    steps = set(run.STEPS) - {"provinces"}
    assert {"admin", "hydrography", "network", "zoning", "loads", "common", "run"} <= set(imports)
    for step in steps:
        assert imports[step] <= {"common"}, (step, imports[step])
    assert imports["common"] == set()
    assert imports["run"] >= steps | {"common"}
    assert "sys.path" not in (REPO / "scripts" / "build_reference_data.py").read_text(encoding="utf-8")


def test_densify_keeps_a_polygon_that_segmentize_collapses() -> None:
    # a valid polygon that GEOSDensify (GEOS 3.14) turns into an empty one
    # (https://github.com/libgeos/geos/issues/1294)
    poly = shapely.from_wkt(
        "POLYGON ((201339.625 216496.375, 201330.125 216502.125, 201334.625 216505.625, "
        "201348.125 216514.375, 201339.01432334355 216508.46993179675, 201339.109 216508.482, "
        "201340.87 216508.175, 201342.462 216507.364, 201343.744 216506.119, 201344.603 216504.551, "
        "201344.963 216502.8, 201344.79 216501.021, 201344.75351527496 216500.93368024443, "
        "201339.625 216496.375))"
    )
    assert poly.is_valid
    line = shapely.LineString([(0, 0), (100, 0)])
    multi = shapely.MultiPolygon([poly, shapely.box(0, 0, 100, 100)])
    dense = common.densify([poly, line, multi, shapely.Polygon()], 9.0)
    assert dense[0].geom_type == "Polygon" and dense[0].area == pytest.approx(poly.area, rel=1e-9)
    assert dense[2].geom_type == "MultiPolygon" and dense[2].area == pytest.approx(multi.area, rel=1e-9)
    assert dense[3].is_empty
    assert len(shapely.get_coordinates(dense[0])) > len(shapely.get_coordinates(poly))
    for geom in (dense[0].boundary, dense[1], *shapely.get_parts(dense[2].boundary)):
        xy = shapely.get_coordinates(geom)
        assert np.hypot(*np.diff(xy, axis=0).T).max() <= 9.0 + 1e-9
    steps = np.hypot(*np.diff(shapely.get_coordinates(dense[1]), axis=0).T)
    assert steps.max() <= 9.0 + 1e-9 and len(steps) == 12


def test_committed_stations_layer_was_built_from_the_current_table() -> None:
    """A quick staleness check (the full one, tests/test_build.py, needs the [build-data] extra)."""
    meta = json.loads(
        pyogrio.read_info(data_path("rivers/network.gpkg"), layer="stations")["layer_metadata"][PROVENANCE_KEY]
    )
    digest = meta["source_version"].removeprefix("sha256:")
    assert hashlib.sha256((REPO / "data/rivers/stations.csv").read_bytes()).hexdigest()[:12] == digest


# --------------------------------------------------------------------------- the loads API the build uses


@pytest.fixture(scope="module")
def bundled():
    from ganpo_geo import loads
    from ganpo_geo.rivers import river_network

    G = river_network()
    return G, loads.bundled_sources()


def test_delivered_loads_sum_to_the_forward_routed_target_load(bundled) -> None:
    from ganpo_geo import loads

    G, sources = bundled
    for target in ("poyang", "waizhou", "hukou"):
        per_source = loads.delivered_loads(G, sources, target)
        assert per_source.shape == (len(sources),) and (per_source >= 0).all()
        assert per_source.sum() == pytest.approx(loads.target_load(G, target, sources), rel=1e-9)
    stations = sys.modules["ganpo_geo.layers"].load_layer("stations")
    renamed = stations.assign(station_id=stations["station_id"].replace({"waizhou": "gan_outlet"}))
    assert loads.delivered_loads(G, sources, "gan_outlet", stations=renamed).sum() == pytest.approx(
        loads.delivered_loads(G, sources, "waizhou").sum()
    )


def test_delivered_loads_bad_targets(bundled) -> None:
    from ganpo_geo import ValidationError, loads

    G, sources = bundled
    with pytest.raises(ValidationError, match="station wanjiabu cannot be a trace target"):
        loads.delivered_loads(G, sources, "wanjiabu")
    stations = sys.modules["ganpo_geo.layers"].load_layer("stations")
    with pytest.raises(ValidationError, match="unknown target 'waizhou'"):
        loads.delivered_loads(G, sources, "waizhou", stations=stations[stations["station_id"] != "waizhou"])


def test_delivery_from_reaches_is_one_at_the_lake_and_zero_off_it(bundled) -> None:
    from ganpo_geo import loads
    from ganpo_geo.rivers import reaches_gdf

    G, sources = bundled
    ratio = loads.delivery_from_reaches(G)
    routed = loads.route(G, sources)
    assert ratio.shape == (len(routed),) and ((ratio >= 0) & (ratio <= 1 + 1e-12)).all()
    reaches = reaches_gdf(G).loc[routed["reach_id"].to_numpy()]
    lake = next(n for n, d in G.nodes(data=True) if d.get("kind") == "lake")
    into_lake = (reaches["v"] == lake).to_numpy()
    assert into_lake.any() and np.allclose(ratio[into_lake], 1.0)
    yangtze = (reaches["basin"] == "yangtze").to_numpy()
    assert yangtze.any() and (ratio[yangtze] == 0).all()
    upstream = ~into_lake & ~yangtze & (reaches["basin"] != "lake").to_numpy()
    assert (ratio[upstream] < 1).all()  # decay on the way


def test_diffuse_and_point_sources_use_the_given_catchments(bundled) -> None:
    from ganpo_geo import loads
    from ganpo_geo.rivers import catchments

    G, _ = bundled
    cats = catchments()
    one = cats[cats["reach_id"] == cats["reach_id"][cats["reach_id"] > 0].iloc[0]]
    diffuse = loads.diffuse_sources(catchments_gdf=one)
    assert len(diffuse) and set(diffuse["reach_id"]) == set(one["reach_id"])
    inside = one.geometry.iloc[0].representative_point()
    table = pd.DataFrame(
        {"source_id": ["S1"], "name": ["x"], "lon": [inside.x], "lat": [inside.y], "tp_kg_yr": [1.0], "kind": ["x"]}
    )
    snapped = loads.point_sources(table, G, max_snap_m=0.001, catchments_gdf=one)
    assert snapped["reach_id"].tolist() == one["reach_id"].tolist()
    elsewhere = cats[cats["reach_id"] > 0].iloc[[1]]
    with pytest.warns(UserWarning, match="reach no river reach"):
        off = loads.point_sources(table, G, max_snap_m=0.001, catchments_gdf=elsewhere)
    assert off["reach_id"].isna().all()
