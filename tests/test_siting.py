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

from ganpo_geo import ValidationError, siting
from ganpo_geo._index import GRID_MIN_POINTS
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
    assert report.phosphorus["basin"] == basin
    assert river in report.river["name_en"]
    assert report.river["dist_to_hukou_km"] > report.river["dist_to_poyang_km"] > 0


def test_chemical_plant_500m_from_gan_centreline_is_caught_by_the_shoreline_rule() -> None:
    report = check_site(_gan_point(500), industry="化工")
    assert 400 < report.river["distance_m"] < 600
    # measured to the bank (centreline minus the Gan's half-width), with the lines' uncertainty
    bank = 500 - _shoreline_row("gan")["half_width_m"]
    assert report.river["shoreline_distance_m"] == pytest.approx(max(bank, 0), abs=5)
    expected = "inside" if bank + _shoreline_row("gan")["positional_uncertainty_m"] <= 1000 else "uncertain"
    assert report.river["shoreline_1km"] == expected
    assert report.verdict in ("prohibited", "conditional")
    sources = {r["source"] for r in report.reasons}
    assert ("P-SL-01" if expected == "inside" else "P-SL-01(uncertain)") in sources
    rule = next(r for r in report.rules["spatial_layout"] if r["rule_id"] == "P-SL-01")
    assert rule["condition_state"] == ("met" if expected == "inside" else "uncertain") and not rule["reference"]
    # far beyond the 1 km line plus the data's error: the rule is left out
    far = check_site(_gan_point(5000), industry="化工")
    assert far.river["shoreline_1km"] == "outside"
    assert not {"P-SL-01", "P-SL-01(uncertain)"} & {r["source"] for r in far.reasons}


def _shoreline_row(key: str) -> pd.Series:
    from ganpo_geo.layers import data_path

    table = pd.read_csv(data_path("rivers/shoreline_rules.csv"))
    return table.set_index("body_key").loc[key]


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
    assert garment.phosphorus["lake_tp_inflow_via_reach_pct"] > 0


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
    assert "control_units: reference" not in out["data_notice"].iloc[0]
    assert "control_units: official" in out["data_notice"].iloc[0]


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
    with pytest.warns(DeprecationWarning):
        page = site_html(report)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page


# --------------------------------------------------------------------------- right answers on real places


def _province_grid(step: float) -> gpd.GeoDataFrame:
    province = load_layer("province").geometry.iloc[0]
    west, south, east, north = province.bounds
    xs, ys = np.meshgrid(np.arange(west, east, step), np.arange(south, north, step))
    pts = shapely.points(xs.ravel(), ys.ravel())
    pts = pts[shapely.contains(province, pts)]
    return gpd.GeoDataFrame({"industry": ["化工"] * len(pts)}, geometry=pts, crs=4326)


@pytest.fixture(scope="module")
def grid_results() -> gpd.GeoDataFrame:
    return check_sites(_province_grid(0.05), industry="化工")


def test_site_basin_is_basin_of_everywhere(grid_results) -> None:
    from ganpo_geo.rivers import basin_of

    assert len(grid_results) > 5000 and (grid_results["error"] == "").all()
    expected = basin_of(grid_results.geometry).fillna("").to_numpy()
    assert (grid_results["basin"].to_numpy() == expected).all()
    poyang = np.isin(expected, ["gan", "fu", "xin", "rao", "xiu", "lake"])
    assert (grid_results["tp_exceeding_basin"].to_numpy() == poyang).all()


def test_a_cited_ban_always_means_prohibited(grid_results) -> None:
    """No verdict is a plain `conditional` while it cites a prohibiting rule whose condition holds."""
    rules = load_layer_rules()
    bans = set(rules.loc[rules["effect"] == "prohibit", "rule_id"])
    cites_ban = grid_results["reasons"].map(lambda r: bool(bans & set(str(r).split(";"))))
    assert cites_ban.any()
    assert (grid_results.loc[cites_ban, "verdict"] == "prohibited").all()
    # and a rule cited as uncertain never makes a site prohibited on its own
    only_uncertain = grid_results["reasons"].map(
        lambda r: bool(r) and all(x.endswith("(uncertain)") for x in str(r).split(";"))
    )
    assert (grid_results.loc[only_uncertain, "verdict"] == "conditional").all()


def load_layer_rules() -> pd.DataFrame:
    from ganpo_geo.layers import bundled_layers

    return bundled_layers().access_rules()


def test_quickstart_chemical_plant_in_central_nanchang() -> None:
    report = check_site((115.89, 28.68), industry="化工")
    sources = {r["source"] for r in report.reasons}
    bans = {r["rule_id"] for rules in report.rules.values() for r in rules if r["effect"] == "prohibit"}
    assert report.verdict == "prohibited" or (
        report.verdict == "conditional" and any(s.endswith("(uncertain)") for s in sources)
    )
    if report.verdict == "conditional":
        assert not (bans & sources)


def test_line_crossing_the_gan_is_measured_from_the_whole_line() -> None:
    mid = _gan_point(0)
    a, b = _gan_point(-3000), _gan_point(3000)
    pipe = shapely.LineString([a.coords[0], b.coords[0]])
    report = check_site(pipe, industry="chemical")
    assert report.river["distance_m"] < 1.0  # it crosses the river
    assert report.river["shoreline_distance_m"] == 0.0
    assert report.river["shoreline_1km"] in ("inside", "uncertain")
    # the same check as a point on the crossing gets the same shoreline answer
    assert check_site(mid, industry="chemical").river["shoreline_1km"] == report.river["shoreline_1km"]


def test_polygon_drawn_over_the_river_gets_the_shoreline_rule() -> None:
    centre = _gan_point(0)
    metric = gpd.GeoSeries([centre], crs=4326).to_crs(JIANGXI_ALBERS).iloc[0]
    footprint = gpd.GeoSeries([metric.buffer(800)], crs=JIANGXI_ALBERS).to_crs(4326).iloc[0]
    report = check_site(footprint, industry="chemical")
    assert report.river["distance_m"] < 1.0
    assert report.river["shoreline_1km"] in ("inside", "uncertain")
    assert {"P-SL-01", "P-SL-01(uncertain)"} & {r["source"] for r in report.reasons}


def test_line_partly_inside_a_red_line_reports_its_length_share() -> None:
    red = load_layer("redlines")
    zone = red.loc[red["name_en"].str.contains("Poyang"), "geometry"].iloc[0]
    inside_pt = shapely.point_on_surface(zone)
    # a line from inside the lake red line heading out east by 0.3 degrees
    line = shapely.LineString([inside_pt.coords[0], (inside_pt.x + 0.3, inside_pt.y)])
    report = check_site(line, industry="linear_infrastructure")
    metric = gpd.GeoSeries([line], crs=4326).to_crs(JIANGXI_ALBERS)
    zones_m = red.to_crs(JIANGXI_ALBERS).geometry.union_all()
    expected_km = metric.intersection(zones_m).length.iloc[0] / 1e3
    assert report.redline["overlaps"]
    assert report.redline["overlap_km"] == pytest.approx(expected_km, rel=0.01)
    assert report.redline["share"] == pytest.approx(expected_km / (metric.length.iloc[0] / 1e3), rel=0.01)
    assert 0 < report.redline["share"] < 1 and report.redline["overlap_km2"] == 0


def test_yangtze_bank_is_the_double_line_polygon() -> None:
    lakes = load_layer("lakes")
    yangtze = lakes.loc[lakes["name_en"] == "Yangtze River", "geometry"].iloc[0]
    in_river = shapely.point_on_surface(yangtze.intersection(load_layer("province").geometry.iloc[0]))
    report = check_site(in_river, industry="chemical")
    assert report.river["shoreline_body"].startswith("长江")
    assert report.river["shoreline_distance_m"] == 0.0
    assert report.river["shoreline_1km"] == "inside"  # 0 m + the polygon's uncertainty < 1 km
    assert report.verdict == "prohibited" and "P-SL-01" in {r["source"] for r in report.reasons}


def test_small_unnamed_tributaries_do_not_trigger_the_shoreline_rule() -> None:
    reaches = load_layer("reaches")
    unnamed = reaches[reaches["river_zh"].fillna("") == ""]
    line = unnamed.sort_values("length_km").iloc[-1].geometry
    on_line = line.interpolate(0.5, normalized=True)
    report = check_site(on_line, industry="chemical")
    assert report.river["distance_m"] < 1.0
    if report.river["shoreline_body"]:  # a named water body may still be near; then it is named
        assert report.river["shoreline_distance_m"] > 0


def test_line_partly_outside_jiangxi_checks_the_part_inside() -> None:
    # from Pingxiang west into Hunan
    line = shapely.LineString([(113.95, 27.62), (113.40, 27.62)])
    report = check_site(line, industry="garment")
    assert any("outside Jiangxi" in w for w in report.warnings)
    checked = shapely.from_wkt(report.site["wkt"])
    province = load_layer("province").geometry.iloc[0]
    assert checked.length < line.length and province.buffer(1e-6).contains(checked)


def test_batch_carries_rule_texts_and_condition_states() -> None:
    sites = gpd.GeoDataFrame(
        {"industry": ["化工", "garment"]}, geometry=[_gan_point(500), Point(116.9, 28.75)], crs=4326
    )
    out = check_sites(sites)
    first = out.iloc[0]
    for rid in (r for r in first["reasons"].split(";") if r):
        assert rid in first["reason_texts"]
    assert "禁止" in first["reason_texts"] or "须" in first["reason_texts"]
    assert "shoreline_1km=" in first["conditions"]
    text = check_site(Point(116.9, 28.75), industry="garment").to_text()
    assert "None" not in text


def test_site_outside_the_poyang_basin_gets_a_basin_label() -> None:
    from ganpo_geo.rivers import basin_of

    grid = _province_grid(0.1)
    basins = basin_of(grid.geometry)
    outside = grid[~basins.isin(["gan", "fu", "xin", "rao", "xiu", "lake"]) & basins.notna()]
    if outside.empty:
        pytest.fail("the catchments label no land of Jiangxi outside the Poyang basin")
    report = check_site(outside.geometry.iloc[0], industry="livestock")
    assert not report.phosphorus["tp_exceeding_basin"] and not report.phosphorus["offset_required"]
    assert "not in the Poyang Lake basin" in report.phosphorus["status"]
    assert report.phosphorus["basin_label"]


def test_shoreline_uncertainty_covers_the_measured_error_of_the_lines() -> None:
    """The uncertainty the shoreline rule uses is at least what the sourced landmarks measure."""
    import importlib.util
    from pathlib import Path

    from ganpo_geo.layers import data_path

    script = Path(__file__).resolve().parents[1] / "scripts" / "measure_river_error.py"
    spec = importlib.util.spec_from_file_location("measure_river_error", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    stats = module.summary(module.measure(pd.read_csv(module.LANDMARKS)))
    assert stats["centreline"]["n"] >= 5 and stats["bank_polygon"]["n"] >= 3
    table = pd.read_csv(data_path("rivers/shoreline_rules.csv"))
    lines = table.loc[table["kind"] == "centreline", "positional_uncertainty_m"]
    polygons = table.loc[table["kind"] == "bank_polygon", "positional_uncertainty_m"]
    assert lines.min() >= stats["centreline"]["p90_m"]
    assert polygons.min() >= stats["bank_polygon"]["max_m"]


def _real_places_module():
    import importlib.util
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "scripts" / "real_places_table.py"
    spec = importlib.util.spec_from_file_location("real_places_table", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_answers_on_real_places_and_the_siting_guide_table() -> None:
    module = _real_places_module()
    table = module.compare()
    assert len(table) >= 30 and table["county_ok"].all()
    assert table["basin_ok"].mean() >= 0.9
    river = table["river_ok"].dropna()
    assert len(river) >= 20 and river.mean() >= 0.8
    by_name = table.set_index("name_en")
    for name, basin in (("Changning, Xunwu", "dongjiang"), ("Xiangdong, Pingxiang", "xiang"), ("Duchang town", "lake")):
        assert by_name.loc[name, "got_basin"] == basin, name
    assert by_name.loc["Nan'an, Dayu", "got_river"] == "章江"
    page = module.PAGE.read_text(encoding="utf-8")
    stale = f"{module.PAGE.name} table is stale: python scripts/real_places_table.py --write"
    assert module.rates(table) in page, stale


def test_a_pipeline_across_two_basins_lists_both() -> None:
    from ganpo_geo.rivers import basin_of

    # from the Gan basin (Nanchang) east into the Fu basin
    line = shapely.LineString([(115.70, 28.40), (116.40, 28.00)])
    touched = basin_of([line], all_basins=True).iloc[0]
    report = check_site(line, industry="linear_infrastructure")
    assert len(touched) >= 2
    assert report.phosphorus["basins_touched"] == list(touched)
    assert report.phosphorus["basin"] in touched


# --------------------------------------------------------------------------- batch assembly (issue 16)


def test_plain_decimals_read_as_pandas_reads_them() -> None:
    from ganpo_geo.siting import _numbers, _plain_decimals

    rng = np.random.default_rng(1)
    digits = rng.integers(0, 10**12, 20_000).astype(str)
    cut = rng.integers(1, 12, 20_000)
    pairs = enumerate(zip(digits.tolist(), cut.tolist(), strict=True))
    plain = [f"{'-' if k % 3 == 0 else ''}{d[:-c] or '0'}.{d[-c:]}" for k, (d, c) in pairs]
    odd = ["", "abc", "nan", "999", "-0", "-0.0", "+0.50", "007.5", "1e5", " 1.5", "1_000.5", "inf", "１２.５", None]
    values = pd.Series(pd.array(plain + odd * 20, dtype="str"))
    fast = _plain_decimals(values)
    assert fast is not None
    slow = np.array(pd.to_numeric(values, errors="coerce"), dtype=float)
    np.testing.assert_array_equal(fast.view(np.int64)[~np.isnan(slow)], slow.view(np.int64)[~np.isnan(slow)])
    assert np.isnan(fast[np.isnan(slow)]).all()  # bit for bit, -0.0 included
    assert _plain_decimals(pd.Series(plain, dtype=object)) is None  # not Arrow text: pandas reads it
    assert _plain_decimals(pd.Series(pd.array(["1.5", "123456789.1234567"], dtype="str"))) is None  # long: pandas
    assert _numbers(pd.Series(pd.array(["115,89", "1.5", "x"], dtype="str")))[:2].tolist() == [115.89, 1.5]


def test_stations_on_the_sites_reach_as_site_by_site() -> None:
    from ganpo_geo.siting import _stations_on_reach

    rng = np.random.default_rng(5)
    on_reach = {3: [(0.7, "A"), (0.2, "B"), (0.7, "C")], 8: [(0.5, "D")]}
    reach = rng.choice([3.0, 8.0, 9.0, np.nan], 2_000)
    fraction = rng.choice([0.0, 0.2, 0.5, 0.7, 1.0, np.nan, *rng.uniform(0, 1, 20)], 2_000)
    below_reach = {3.0: "X; Y", 8.0: "", 9.0: "X"}  # the stations below a reach (the same for its sites)
    down = np.array([below_reach.get(r, "") for r in reach], dtype=object)
    expected = down.copy()
    for k in range(len(reach)):  # the rule, site by site
        if reach[k] in on_reach:
            below = [name for f, name in on_reach[int(reach[k])] if f > fraction[k]]
            expected[k] = "; ".join([*below, *([down[k]] if down[k] else [])])
    _stations_on_reach(down, reach, fraction, on_reach)
    assert down.tolist() == expected.tolist()


def test_batch_frame_wraps_its_arrays_and_keeps_the_dtypes() -> None:
    from ganpo_geo.layers import bundled_layers
    from ganpo_geo.siting import _Checked

    checked = _Checked.empty(5, bundled_layers())
    frame = checked.frame(pd.RangeIndex(5))
    assert np.shares_memory(frame["verdict"].to_numpy(), checked.text2d)  # no copy of the text block
    assert np.shares_memory(frame["river_distance_m"].to_numpy(), checked.float2d)
    assert frame["verdict"].dtype == object and frame["units_touched"].dtype == "Int64"
    assert frame["redline_overlap"].dtype == "boolean" and frame["redline_overlap"].isna().all()
    sites = pd.DataFrame({"lon": [115.89, 200.0], "lat": [28.68, 28.0], "industry": ["化工", "化工"]})
    out = check_sites(sites, progress=False)
    assert out["warnings"].dtype == "str" and out["verdict"].dtype == object  # as pandas' setitem gives
    assert check_sites(sites.iloc[:0], progress=False)["warnings"].dtype == object
    shifted = gpd.GeoDataFrame({"industry": ["化工"]}, geometry=[Point(115.89, 28.68)], crs=4326).to_crs(4548)
    assert check_sites(shifted, progress=False)["checked_wkt"].dtype == "str"


def test_industry_keys_once_per_name() -> None:
    from ganpo_geo.siting import _industry_keys

    keys, errors, unknown = _industry_keys(pd.Series(["化工", "chemical", "nonsense", None, "化工"], dtype=object))
    assert keys[0] == keys[4] != "" and errors[0] == ""
    assert keys[2] == "" and "nonsense" in errors[2]
    assert errors[3] == "" or "None" in errors[3]
    assert (unknown == (errors != "")).all()  # the mask says where the texts are


def _mixed_sites(n: int, seed: int = 5) -> gpd.GeoDataFrame:
    """Points over and around Jiangxi (some outside, one NaN), with lines, polygons and a bow-tie among them."""
    rng = np.random.default_rng(seed)
    lon, lat = rng.uniform(113.0, 119.0, n), rng.uniform(24.0, 30.5, n)
    geoms = shapely.points(lon, lat).astype(object)
    geoms[7::50] = shapely.buffer(geoms[7::50], 0.01)
    ends = zip(lon[11::50], lat[11::50], strict=True)
    geoms[11::50] = [shapely.LineString([(x, y), (x + 0.05, y + 0.03)]) for x, y in ends]
    geoms[13] = shapely.from_wkt("POLYGON ((116.89 28.74, 116.91 28.76, 116.91 28.74, 116.89 28.76, 116.89 28.74))")
    geoms[17] = Point(np.nan, 28.0)
    industry = rng.choice(["化工", "garment", "steel", "livestock", "nonsense"], n)
    return gpd.GeoDataFrame({"industry": industry}, geometry=list(geoms), crs=4326)


@pytest.mark.parametrize(("n", "chunk_size"), [(3_000, 500), (50_000, 25_000)])
def test_chunks_checked_on_threads_give_the_serial_results(n: int, chunk_size: int) -> None:
    sites = _mixed_sites(n)
    serial = check_sites(sites, progress=False, chunk_size=chunk_size, workers=1)
    threaded = check_sites(sites, progress=False, chunk_size=chunk_size, workers=2)
    pd.testing.assert_frame_equal(threaded, serial, check_exact=True)
    assert (serial["error"] != "").any() and (serial["error"] == "").sum() > n // 5
    assert serial["warnings"].str.contains("make_valid").any()


def test_threads_on_fresh_user_layers_build_each_index_once(tmp_path, monkeypatch) -> None:
    units = load_layer("control_units")
    path = tmp_path / "official.gpkg"
    units[["unit_code", "name_zh", "category", "geometry"]].to_file(path)
    sites = _mixed_sites(4_000, seed=9)
    serial = check_sites(sites, progress=False, chunk_size=400, workers=1, layers=Layers.official(control_units=path))
    built = []
    original = Layers.cached

    def counting(self, key, build):
        def counted():
            built.append(key)
            return build()

        return original(self, key, counted)

    monkeypatch.setattr(Layers, "cached", counting)
    fresh = Layers.official(control_units=path)
    threaded = check_sites(sites, progress=False, chunk_size=400, workers=4, layers=fresh)
    pd.testing.assert_frame_equal(threaded, serial, check_exact=True)
    assert built and len(built) == len(set(built))  # no index built twice by racing threads


def test_chunks_start_together_once_the_grids_are_built(tmp_path, monkeypatch) -> None:
    units = load_layer("control_units")
    path = tmp_path / "official.gpkg"
    units[["unit_code", "name_zh", "category", "geometry"]].to_file(path)
    layers = Layers.official(control_units=path)  # user layers: never from the disk cache
    firsts = []
    original = siting.in_threads

    def spy(func, jobs, threads, *, first_alone=True):
        firsts.append(first_alone)
        return original(func, jobs, threads, first_alone=first_alone)

    monkeypatch.setattr(siting, "in_threads", spy)
    province = load_layer("province").geometry.iloc[0]
    rng = np.random.default_rng(12)
    lon, lat = rng.uniform(114.0, 118.0, 40_000), rng.uniform(25.0, 29.5, 40_000)
    inside = shapely.contains_xy(province, lon, lat)
    big = gpd.GeoDataFrame(geometry=shapely.points(lon[inside], lat[inside]), crs=4326)
    assert len(big) > GRID_MIN_POINTS and not siting._grids_ready(layers)
    check_sites(big, industry="化工", progress=False, layers=layers)  # builds the grids
    assert siting._grids_ready(layers) and firsts == [True]
    sites = _mixed_sites(6_000, seed=11)
    threaded = check_sites(sites, progress=False, chunk_size=1_000, workers=2, layers=layers)
    assert firsts[-1] is False  # every chunk started at once
    serial = check_sites(sites, progress=False, chunk_size=1_000, workers=1, layers=Layers.official(control_units=path))
    pd.testing.assert_frame_equal(threaded, serial, check_exact=True)


def test_workers_must_be_a_positive_count() -> None:
    sites = _mixed_sites(20)
    with pytest.raises(ValidationError, match="workers"):
        check_sites(sites, workers=0)


def test_fixed5_is_python_percent_5f_on_ties_and_signs() -> None:
    from ganpo_geo.siting import _fixed5

    rng = np.random.default_rng(12)
    cases = [
        rng.uniform(-180, 180, 200_000),
        np.round(rng.uniform(-180, 180, 200_000), 6),  # six decimals: many look like ties
        (np.floor(rng.uniform(-180, 180, 200_000) * 1e5) + 0.5) / 1e5,  # the nearest doubles to ties
        np.array([0.0, -0.0, -1e-9, 1e-9, 5e-6, -5e-6, 1.5e-5, 2.5e-5, 179.999995, -179.999995, 89.999995]),
        np.array([1e9 + 0.123455, -(2.0**35) - 0.5e-5, 2.0**35 + 1.5e-5]),
    ]
    for values in cases:
        want = [f"{v:.5f}" for v in values]
        assert _fixed5(values).to_pylist() == want
