"""Tests for ganpo_geo.siting and ``ganpo site-check``: verdicts, reports, bad input, batches."""

from __future__ import annotations

import json
import subprocess
import sys

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner
from shapely import Point

from ganpo_geo import ValidationError
from ganpo_geo.cli import main
from ganpo_geo.crs import JIANGXI_ALBERS, wgs84_to_bd09, wgs84_to_gcj02
from ganpo_geo.layers import Layers, load_layer
from ganpo_geo.siting import VERDICT_TABLE, check_site, check_sites, site_html


def _gan_point(offset_m: float) -> Point:
    """A point ``offset_m`` beside the Gan main stem, halfway along a reach south of Nanchang."""
    reaches = load_layer("reaches")
    gan = reaches[(reaches["main_stem"] == "gan") & (reaches["river_en"] == "Gan River")]
    line = gan.sort_values("length_km").iloc[-1].geometry
    metric = gpd.GeoSeries([line], crs=4326).to_crs(JIANGXI_ALBERS).iloc[0]
    mid = metric.interpolate(0.5, normalized=True)
    ahead = metric.interpolate(0.5 + 0.001, normalized=True)
    dx, dy = ahead.x - mid.x, ahead.y - mid.y
    norm = np.hypot(dx, dy)
    site = Point(mid.x - dy / norm * offset_m, mid.y + dx / norm * offset_m)
    return gpd.GeoSeries([site], crs=JIANGXI_ALBERS).to_crs(4326).iloc[0]


# --------------------------------------------------------------------------- real places


@pytest.mark.parametrize(
    ("lon", "lat", "county", "basin", "river"),
    [
        (115.89, 28.68, "360102", "gan", "Gan River"),  # Nanchang
        (117.18, 29.27, "360202", "rao", "Chang River"),  # Jingdezhen
        (117.94, 28.45, "361102", "xin", "Xin River"),  # Shangrao
        (116.36, 27.95, "361002", "fu", "Fu River"),  # Fuzhou (Linchuan)
    ],
)
def test_real_places(lon, lat, county, basin, river) -> None:
    report = check_site((lon, lat), industry="garment")
    assert report.admin["county_adcode"] == county
    assert report.river["basin"] == basin
    assert river in report.river["name_en"]
    assert report.river["dist_to_hukou_km"] > report.river["dist_to_poyang_km"] > 0


def test_chemical_plant_500m_from_gan_is_prohibited() -> None:
    report = check_site(_gan_point(500), industry="化工")
    assert report.river["near_river_1km"] and 400 < report.river["distance_m"] < 600
    assert report.verdict == "prohibited"
    reasons = {r["source"] for r in report.reasons}
    assert "P-SL-01" in reasons  # the Yangtze River Protection Law's 1 km rule
    rule = next(r for r in report.rules["spatial_layout"] if r["rule_id"] == "P-SL-01")
    assert rule["applies"] and not rule["reference"]
    # the same plant 3 km away is not caught by the 1 km rule
    far = check_site(_gan_point(3000), industry="化工")
    assert not far.river["near_river_1km"]
    assert "P-SL-01" not in {r["source"] for r in far.reasons}


def test_redline_site_prohibited_unless_permitted() -> None:
    steel = check_site((116.25, 29.1), industry="steel")  # inside the Poyang wetland red line
    assert steel.redline["overlaps"] and steel.verdict == "prohibited"
    assert {"P-SL-02", "layer:redlines"} <= {r["source"] for r in steel.reasons}
    tourism = check_site((116.25, 29.1), industry="tourism")  # on the permitted list
    assert tourism.verdict == "conditional"
    assert "P-SL-03" in {r["source"] for r in tourism.reasons}
    assert "P-SL-02" not in {r["source"] for r in tourism.reasons}


def test_general_unit_light_industry_allowed_with_rules() -> None:
    report = check_site((116.9, 28.75), industry="服装")  # Wannian, a general-control unit
    assert report.units[0]["category"] == 3
    assert report.verdict == "allowed" and report.reasons == []
    listed = [r["rule_id"] for rules in report.rules.values() for r in rules]
    assert {"P-RE-01", "U3-SL-02", "U3-RE-01"} <= set(listed)
    assert report.data_notice and any("not official" in n for n in report.data_notice)


def test_tp_offset_for_tp_dischargers() -> None:
    farm = check_site((116.9, 28.75), industry="livestock")
    assert farm.phosphorus["tp_exceeding_basin"] and farm.phosphorus["offset_required"]
    assert "P-PD-01" in {r["source"] for r in farm.reasons} and farm.verdict == "conditional"
    garment = check_site((116.9, 28.75), industry="garment")
    assert not garment.phosphorus["offset_required"]
    assert garment.phosphorus["reach_share_of_lake_inflow_pct"] > 0


def test_same_site_in_wgs84_gcj02_bd09() -> None:
    lon, lat = 115.89, 28.68
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    b_lon, b_lat = wgs84_to_bd09(lon, lat)
    reports = [
        check_site((lon, lat), industry="化工").to_dict(),
        check_site((float(g_lon), float(g_lat)), industry="化工", crs="gcj02").to_dict(),
        check_site((float(b_lon), float(b_lat)), industry="化工", crs="bd09").to_dict(),
    ]
    for r in reports:
        r["site"].pop("crs")
        r["site"]["wkt"] = shapely.from_wkt(r["site"]["wkt"])
    for r in reports[1:]:
        assert r["site"]["wkt"].distance(reports[0]["site"]["wkt"]) < 1e-8
        r["site"]["wkt"] = reports[0]["site"]["wkt"]
        _assert_same(r, reports[0])


def _assert_same(a, b) -> None:
    """Equal, floats to 1e-6 (the coordinate round trips are exact to ~1e-10 degrees)."""
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for key in a:
            _assert_same(a[key], b[key])
    elif isinstance(a, list):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _assert_same(x, y)
    elif isinstance(a, float):
        assert a == pytest.approx(b, rel=1e-6, abs=1e-6)
    else:
        assert a == b


def test_line_and_polygon_sites() -> None:
    pipe = check_site("LINESTRING (115.80 28.60, 116.00 28.75)", industry="linear_infrastructure")
    assert pipe.site["geometry_type"] == "LineString" and len(pipe.units) > 1
    assert sum(u["share"] for u in pipe.units) == pytest.approx(1.0, abs=1e-6)
    plant = check_site(shapely.box(116.89, 28.74, 116.91, 28.76), industry="garment")
    assert plant.site["geometry_type"] == "Polygon" and plant.units


def test_report_formats() -> None:
    report = check_site((115.89, 28.68), industry="化工")
    data = json.loads(report.to_json())
    for key in (
        "site",
        "admin",
        "units",
        "rules",
        "redline",
        "river",
        "phosphorus",
        "verdict",
        "reasons",
        "data_notice",
    ):
        assert key in data
    assert set(data["rules"]) == {"spatial_layout", "pollutant_discharge", "environmental_risk", "resource_efficiency"}
    feature = json.loads(report.to_geojson())
    assert feature["type"] == "Feature" and feature["geometry"]["type"] == "Point"
    assert "选址结论" in report.to_text("zh") and "Verdict" in report.to_text("en")
    assert "NOTICE" in report.to_text("en")
    assert VERDICT_TABLE[3] == "prohibited"


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("geometry", "kwargs", "match"),
    [
        ((28.68, 115.89), {}, "look swapped"),
        ((115.89, 95.0), {}, r"latitude 95\.0 is outside \[-90, 90\]"),
        (("x", "y"), {}, "coordinates must be numbers"),
        ((119.3, 26.08), {}, r"outside Jiangxi, in Fujian \(福建省\)"),
        ((2.35, 48.85), {}, "outside Jiangxi and outside China"),
        ("POINT (115.9", {}, "invalid WKT"),
        ((115.89, 28.68), {"industry": "chemcal"}, "unknown industry 'chemcal'; close matches: chemical"),
        ((115.89, 28.68), {"crs": "mars2000"}, "CRS"),
    ],
)
def test_bad_single_sites(geometry, kwargs, match) -> None:
    kwargs = {"industry": "化工", **kwargs}
    with pytest.raises(ValidationError, match=match):
        check_site(geometry, **kwargs)


def test_self_intersecting_polygon_repaired_with_warning() -> None:
    bowtie = "POLYGON ((116.89 28.74, 116.91 28.76, 116.91 28.74, 116.89 28.76, 116.89 28.74))"
    report = check_site(bowtie, industry="garment")
    assert any("Self-intersection" in w and "make_valid" in w for w in report.warnings)
    assert report.site["geometry_type"] == "MultiPolygon"


def test_batch_keeps_every_row_in_order(tmp_path) -> None:
    csv = tmp_path / "sites.csv"
    csv.write_text(
        "name,经度,纬度,industry\n"
        "ok,115.89,28.68,化工\n"
        "swapped,28.68,115.89,化工\n"
        "text,abc,28.6,garment\n"
        "empty,,,garment\n"
        "fujian,119.3,26.08,garment\n"
        "badind,116.0,28.0,chemcal\n"
        "ok2,116.9,28.75,garment\n",
        encoding="utf-8",
    )
    out = check_sites(csv)
    assert list(out["name"]) == ["ok", "swapped", "text", "empty", "fujian", "badind", "ok2"]
    errors = dict(zip(out["name"], out["error"], strict=True))
    assert errors["ok"] == "" and errors["ok2"] == ""
    assert "swapped" in errors["swapped"] and "non-numeric" in errors["text"] and "non-numeric" in errors["empty"]
    assert "Fujian" in errors["fujian"] and "close matches" in errors["badind"]
    assert out.loc[out["name"] == "ok2", "verdict"].iloc[0] == "allowed"
    assert (out.loc[out["error"] != "", "verdict"] == "").all()


def test_batch_inputs_and_errors(tmp_path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(ValidationError, match="is empty"):
        check_sites(empty, industry="garment")
    nocols = tmp_path / "nocols.csv"
    nocols.write_text("name,east,north\na,115.9,28.7\n")
    with pytest.raises(ValidationError, match=r"no coordinate columns found .*columns found: name, east, north"):
        check_sites(nocols, industry="garment")
    wkt = tmp_path / "wkt.csv"
    wkt.write_text('wkt,industry\n"POINT (115.89 28.68)",garment\n"POINT (115.9",garment\n')
    out = check_sites(wkt)
    assert out["error"].iloc[0] == "" and "invalid WKT" in out["error"].iloc[1]
    with pytest.raises(ValidationError, match="no industry given"):
        check_sites(gpd.GeoDataFrame(geometry=[Point(115.89, 28.68)], crs=4326))
    with pytest.raises(ValidationError, match="buffer_m must be a finite number > 0"):
        check_sites(gpd.GeoDataFrame(geometry=[Point(115.89, 28.68)], crs=4326), industry="x", buffer_m=-1)


def test_batch_geodataframe_in_gcj02_and_official_layers(tmp_path) -> None:
    units = load_layer("control_units")
    sub = units[units["city_adcode"] == "360100"].copy()
    sub["category"] = 1  # pretend the official zoning protects all of Nanchang
    path = tmp_path / "official.gpkg"
    sub[["unit_code", "name_zh", "category", "geometry"]].to_file(path)
    layers = Layers.official(control_units=path)
    g_lon, g_lat = wgs84_to_gcj02(115.89, 28.68)
    sites = gpd.GeoDataFrame({"industry": ["garment"]}, geometry=[Point(float(g_lon), float(g_lat))], crs=4326)
    out = check_sites(sites, crs="gcj02", layers=layers)
    assert out["unit_category"].iloc[0] == 1 and out["verdict"].iloc[0] == "prohibited"
    assert "control_units" not in out["data_notice"].iloc[0]


def test_progress_bar(capsys) -> None:
    rng = np.random.default_rng(0)
    sites = gpd.GeoDataFrame(
        geometry=shapely.points(rng.uniform(115, 116, 12_000), rng.uniform(27, 28, 12_000)), crs=4326
    )
    check_sites(sites, industry="garment", progress=True, chunk_size=5_000)
    assert "checking 12,000 sites" in capsys.readouterr().err
    check_sites(sites, industry="garment", progress=False, chunk_size=5_000)
    assert "checking" not in capsys.readouterr().err


def test_dask_engine_identical_on_200000_sites() -> None:
    pytest.importorskip("dask_geopandas", reason="the [dask] extra is not installed")
    rng = np.random.default_rng(42)
    n = 200_000
    sites = gpd.GeoDataFrame(
        {"industry": rng.choice(["化工", "garment", "livestock", "steel", "tourism"], n)},
        geometry=shapely.points(rng.uniform(113.3, 118.7, n), rng.uniform(24.3, 30.3, n)),
        crs=4326,
    )
    default = check_sites(sites)
    dask = check_sites(sites, engine="dask", workers=2)
    pd.testing.assert_frame_equal(
        pd.DataFrame(default.drop(columns="geometry")), pd.DataFrame(dask.drop(columns="geometry"))
    )
    assert len(default) == n and (default["error"] == "").sum() > 0.4 * n  # ~47% of the box is Jiangxi
    assert set(default.loc[default["error"] == "", "verdict"]) == {"prohibited", "conditional", "allowed"}


# --------------------------------------------------------------------------- CLI


def test_cli_single_site_text_json_html(tmp_path) -> None:
    runner = CliRunner()
    text = runner.invoke(
        main, ["site-check", "--lon", "115.89", "--lat", "28.68", "--industry", "化工", "--format", "text"]
    )
    assert text.exit_code == 0 and "选址结论" in text.output and "NOTICE" in text.output
    html_path = tmp_path / "site.html"
    args = ["--wkt", "POINT (115.89 28.68)", "--industry", "chemical", "--format", "json"]
    js = runner.invoke(main, ["site-check", *args, "--html", str(html_path), "--lang", "en"])
    data = json.loads(js.output)
    assert data["verdict"] in ("prohibited", "conditional", "allowed")
    assert html_path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    gj = tmp_path / "site.geojson"
    gj.write_text(
        json.dumps({"type": "Feature", "geometry": {"type": "Point", "coordinates": [116.9, 28.75]}, "properties": {}})
    )
    out = runner.invoke(main, ["site-check", "--geojson", str(gj), "--industry", "garment", "--format", "geojson"])
    assert json.loads(out.output)["properties"]["verdict"] == "allowed"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--lon", "28.68", "--lat", "115.89", "--industry", "化工"], "look swapped"),
        (["--lon", "119.3", "--lat", "26.08", "--industry", "化工"], "Fujian"),
        (["--wkt", "POINT (1", "--industry", "化工"], "invalid WKT"),
        (["--lon", "115.89", "--lat", "28.68", "--industry", "chemcal"], "close matches"),
        (["--lon", "115.89", "--lat", "28.68", "--industry", "化工", "--crs", "wgs48"], "unknown CRS"),
        (["--lon", "115.89", "--industry", "化工"], "give both --lon and --lat"),
        (["--industry", "化工"], "give exactly one of"),
        (["--lon", "115.89", "--lat", "28.68"], "--industry is required"),
    ],
)
def test_cli_single_site_bad_input(args, message) -> None:
    result = CliRunner().invoke(main, ["site-check", *args])
    assert result.exit_code == 1
    assert message in result.output and len(result.output.strip().splitlines()) == 1


def test_cli_batch_formats(tmp_path) -> None:
    csv = tmp_path / "in.csv"
    csv.write_text("id,lon,lat,industry\n1,115.89,28.68,化工\n2,28.68,115.89,化工\n3,116.9,28.75,garment\n")
    runner = CliRunner()
    for suffix in (".csv", ".geojson", ".gpkg", ".parquet"):
        out = tmp_path / f"out{suffix}"
        result = runner.invoke(main, ["site-check", "--input", str(csv), "--output", str(out), "--quiet"])
        assert result.exit_code == 0, result.output
        back = (
            pd.read_csv(out)
            if suffix == ".csv"
            else (gpd.read_parquet(out) if suffix == ".parquet" else gpd.read_file(out))
        )
        assert len(back) == 3 and list(back["id"].astype(int)) == [1, 2, 3]
        assert "swapped" in str(back["error"].iloc[1])
    stdout = runner.invoke(main, ["site-check", "--input", str(csv)])
    assert stdout.output.startswith("id,lon,lat,industry")
    bad = runner.invoke(main, ["site-check", "--input", str(tmp_path / "missing.csv")])
    assert bad.exit_code == 1 and "not found" in bad.output


def test_cli_subprocess_one_line_on_stderr() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "ganpo_geo.cli", "site-check", "--lon", "119.3", "--lat", "26.08", "--industry", "化工"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 1
    assert proc.stderr.strip().startswith("Error:") and len(proc.stderr.strip().splitlines()) == 1


def test_site_html_escapes() -> None:
    report = check_site((115.89, 28.68), industry="化工")
    report.reasons.append({"source": "x", "effect": "x", "text_zh": "<script>alert(1)</script>", "text_en": "x"})
    page = site_html(report)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
