"""One test per class of bad input of the robustness review (files, rows, encodings, layers, odd values).

Each asserts the behaviour the review asked for; see docs/bad_input.md for the table of classes
and their messages.
"""

from __future__ import annotations

import json
import time

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely
from click.testing import CliRunner
from shapely.geometry import LineString, MultiPoint, Point

from ganpo_geo._errors import CoordinateError, ValidationError
from ganpo_geo.cli import main
from ganpo_geo.crs import gcj02_to_wgs84, wgs84_to_gcj02
from ganpo_geo.layers import Layers, load_layer
from ganpo_geo.siting import check_site, check_sites

CHECKED_WKT = "checked_wkt"  # the column documented in check_sites


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def _one_line_error(result, code: int = 1) -> str:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    err = result.stderr.strip().splitlines()
    assert err[-1].startswith("Error:"), result.stderr
    return err[-1]


def _csv(path, text: str, encoding: str = "utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


SITES = "name,lon,lat,industry\nok,115.89,28.68,化工\nok2,116.9,28.75,garment\n"


# --------------------------------------------------------------------------- files lost or corrupted


def test_output_equal_to_input_is_refused(runner, tmp_path) -> None:
    path = _csv(tmp_path / "sites.csv", SITES)
    result = runner.invoke(main, ["site-check", "--input", str(path), "--output", str(path)])
    assert "is the input file" in _one_line_error(result)
    assert path.read_text(encoding="utf-8") == SITES


def test_bad_coordinates_of_geometry_input_come_back_as_given() -> None:
    sites = gpd.GeoDataFrame(
        {"industry": ["garment", "garment"]}, geometry=[Point(200, 28), Point(115.89, 28.68)], crs=4326
    )
    out = check_sites(sites)
    assert out.geometry.iloc[0].equals(Point(200, 28)) and "longitude 200" in out["error"].iloc[0]
    assert out.geometry.iloc[1].equals(Point(115.89, 28.68)) and out["error"].iloc[1] == ""
    assert CHECKED_WKT not in out  # nothing differs: no extra column


def test_gcj02_geometry_input_comes_back_as_given() -> None:
    g_lon, g_lat = (float(v) for v in wgs84_to_gcj02(115.89, 28.68))
    sites = gpd.GeoDataFrame({"industry": ["garment"]}, geometry=[Point(g_lon, g_lat)], crs=4326)
    out = check_sites(sites, crs="gcj02")
    assert out.geometry.iloc[0].equals(Point(g_lon, g_lat))  # the user's own coordinates
    checked = shapely.from_wkt(out[CHECKED_WKT].iloc[0])
    assert checked.x == pytest.approx(115.89, abs=1e-6) and checked.y == pytest.approx(28.68, abs=1e-6)


def test_projected_geometry_input_keeps_its_crs() -> None:
    metres = gpd.GeoSeries([Point(115.89, 28.68)], crs=4326).to_crs(4548)
    out = check_sites(gpd.GeoDataFrame({"industry": ["garment"]}, geometry=metres))
    assert out.crs.to_epsg() == 4548 and out.geometry.iloc[0].equals(metres.iloc[0])
    assert shapely.from_wkt(out[CHECKED_WKT].iloc[0]).x == pytest.approx(115.89, abs=1e-6)


def test_input_columns_named_geometry_and_input_error_survive(tmp_path) -> None:
    path = _csv(tmp_path / "s.csv", "lon,lat,geometry,_input_error,industry\n115.89,28.68,my shape,my note,化工\n")
    out = check_sites(path)
    assert out["geometry"].iloc[0] == "my shape" and out["_input_error"].iloc[0] == "my note"
    assert out.geometry.name == "ganpo_geometry" and out["error"].iloc[0] == ""


# --------------------------------------------------------------------------- whole batch lost to one row


def test_ragged_row_is_a_row_error_and_the_rest_is_checked(runner, tmp_path) -> None:
    path = _csv(tmp_path / "s.csv", SITES + "bad,116.0,28.0,garment,EXTRA\nok3,116.0,28.0,garment\n")
    out = tmp_path / "out.csv"
    result = runner.invoke(main, ["site-check", "--input", str(path), "--output", str(out)])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(table["name"]) == ["ok", "ok2", "bad", "ok3"]
    assert table["error"].tolist() == ["", "", "row 3 (line 4): 5 fields, expected 4", ""]
    assert (table["verdict"] != "").sum() == 3


def test_binary_input_is_one_line(runner, tmp_path) -> None:
    path = tmp_path / "photo.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    assert "binary file" in _one_line_error(runner.invoke(main, ["site-check", "--input", str(path)]))


def test_empty_geometry_in_wkt_column_is_a_row_error(tmp_path) -> None:
    path = _csv(tmp_path / "w.csv", 'wkt,industry\n"POLYGON EMPTY",garment\n"POINT (115.89 28.68)",garment\n')
    out = check_sites(path)
    assert out["error"].tolist() == ["empty geometry in column wkt", ""]
    empty = gpd.GeoDataFrame({"industry": ["garment"] * 2}, geometry=[Point(), Point(115.89, 28.68)], crs=4326)
    assert check_sites(empty)["error"].tolist() == ["empty geometry", ""]


def test_input_columns_named_like_results_are_kept(tmp_path) -> None:
    text = "lon,lat,industry,error,verdict,reasons,county_name\n115.89,28.68,化工,e0,v0,r0,c0\n"
    path = _csv(tmp_path / "s.csv", text)
    with pytest.warns(UserWarning, match="error -> ganpo_error"):
        out = check_sites(path)
    assert out[["error", "verdict", "reasons", "county_name"]].iloc[0].tolist() == ["e0", "v0", "r0", "c0"]
    assert out["ganpo_error"].iloc[0] == "" and out["ganpo_verdict"].iloc[0] in ("prohibited", "conditional")
    assert out.attrs["ganpo_columns"]["verdict"] == "ganpo_verdict"


def test_rechecking_ganpos_own_output(runner, tmp_path) -> None:
    first, second = tmp_path / "out1.csv", tmp_path / "out2.csv"
    runner.invoke(main, ["site-check", "--input", str(_csv(tmp_path / "s.csv", SITES)), "--output", str(first)])
    result = runner.invoke(main, ["site-check", "--input", str(first), "--output", str(second)])
    assert result.exit_code == 0, result.output
    a = pd.read_csv(first, dtype=str, keep_default_na=False)
    b = pd.read_csv(second, dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(b[a.columns], a)  # the first output survives unchanged
    assert b["ganpo_verdict"].tolist() == a["verdict"].tolist()
    assert "ganpo_" in result.stderr and "2 sites" in result.stderr


@pytest.mark.parametrize("option", ["--output", "--html"])
def test_unwritable_output_fails_before_computing(runner, tmp_path, monkeypatch, option) -> None:
    import ganpo_geo._commands.site

    def never(*args, **kwargs):
        raise AssertionError("computed before checking the output")

    monkeypatch.setattr(ganpo_geo._commands.site, "check_sites", never)
    monkeypatch.setattr(ganpo_geo._commands.site, "check_site", never)
    target = str(tmp_path / "no" / ("out.csv" if option == "--output" else "r.html"))
    args = ["--input", str(_csv(tmp_path / "s.csv", SITES))] if option == "--output" else ["--lon", "115.9"]
    args += [] if option == "--output" else ["--lat", "28.7", "--industry", "化工"]
    start = time.perf_counter()
    line = _one_line_error(runner.invoke(main, ["site-check", *args, option, target]))
    assert "does not exist" in line and time.perf_counter() - start < 5
    bad_format = runner.invoke(main, ["site-check", *args[:2], "--output", str(tmp_path / "o.docx")])
    if option == "--output":
        assert "unknown output format '.docx'" in _one_line_error(bad_format)


def test_map_output_checked_before_the_map_is_made(runner, tmp_path) -> None:
    line = _one_line_error(runner.invoke(main, ["map", "zoning", "-o", str(tmp_path / "no" / "z.html")]))
    assert "does not exist" in line
    assert "unknown output format '.png'" in _one_line_error(runner.invoke(main, ["map", "zoning", "-o", "z.png"]))


# --------------------------------------------------------------------------- encodings and delimiters


@pytest.mark.parametrize(
    ("encoding", "delimiter", "said"),
    [("gbk", ",", "GB18030"), ("utf-16", ",", "UTF-16"), ("utf-8", ";", "semicolon"), ("utf-8", "\t", "tab")],
)
def test_encodings_and_delimiters_through_the_cli(runner, tmp_path, encoding, delimiter, said) -> None:
    text = "名称,经度,纬度,行业\n南昌,115.89,28.68,化工\n".replace(",", delimiter)
    path = _csv(tmp_path / "s.csv", text, encoding)
    result = runner.invoke(main, ["site-check", "--input", str(path)])
    assert result.exit_code == 0, result.output
    assert f"Warning: s.csv: read as" in result.stderr and said in result.stderr  # noqa: F541
    table = pd.read_csv(pd.io.common.StringIO(result.stdout), dtype=str, keep_default_na=False)
    assert table["名称"].tolist() == ["南昌"] and table["industry_key"].tolist() == ["chemical"]


def test_decimal_commas(tmp_path) -> None:
    path = _csv(tmp_path / "s.csv", "name;lon;lat;industry\na;115,89;28,68;化工\n")
    out = check_sites(path)
    assert out["error"].iloc[0] == "" and out["lon"].iloc[0] == "115,89"  # checked, and kept as given
    assert out.geometry.iloc[0].x == pytest.approx(115.89)


def test_chinese_column_names_and_excel_bom(runner, tmp_path) -> None:
    path = _csv(tmp_path / "s.csv", "东经,北纬,项目类型\n115.89,28.68,化工\n")
    out = tmp_path / "out.csv"
    result = runner.invoke(main, ["site-check", "--input", str(path), "--output", str(out), "--bom"])
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")
    table = pd.read_csv(out, encoding="utf-8-sig", dtype=str)
    assert table["industry_key"].tolist() == ["chemical"]
    for name in ("行业", "行业类别"):
        frame = pd.DataFrame({"lon": ["115.89"], "lat": ["28.68"], name: ["化工"]})
        assert check_sites(frame)["industry_key"].tolist() == ["chemical"]


# --------------------------------------------------------------------------- layers that cannot work


@pytest.fixture(scope="module")
def nanchang_units() -> gpd.GeoDataFrame:
    units = load_layer("control_units")
    return units[units["city_adcode"] == "360100"][["unit_code", "name_zh", "category", "geometry"]].copy()


def test_validate_fails_on_metres_labelled_degrees(runner, tmp_path, nanchang_units) -> None:
    path = tmp_path / "metres.gpkg"
    nanchang_units.to_crs(4548).set_crs(4326, allow_override=True).to_file(path)
    result = runner.invoke(main, ["validate", str(path)])
    assert result.exit_code == 1 and "[crs_range]" in result.output and "try --crs EPSG:4548" in result.output
    with pytest.raises(ValidationError, match="metres labelled as degrees\\? try --crs EPSG:4548"):
        Layers.official(control_units=path)
    with pytest.raises(ValidationError, match=r"red lines coordinates .* metres labelled as degrees"):
        Layers.official(redlines=path)
    fixed = runner.invoke(main, ["validate", str(path), "--crs", "EPSG:4548"])
    assert fixed.exit_code == 0 and "OK: no problems found" in fixed.output, fixed.output


@pytest.mark.parametrize("kind", ["points", "empty"])
def test_validate_fails_on_points_and_empty_layers(runner, tmp_path, nanchang_units, kind) -> None:
    layer = nanchang_units.copy()
    if kind == "points":
        layer["geometry"] = layer.geometry.representative_point()
    else:
        layer = layer.iloc[:0]
    path = tmp_path / f"{kind}.gpkg"
    layer.to_file(path)
    result = runner.invoke(main, ["validate", str(path)])
    expected = {"points": "[not_polygons]", "empty": "[no_features]"}[kind]
    assert result.exit_code == 1 and expected in result.output, result.output
    from ganpo_geo.redline import load_redlines

    with pytest.raises(ValidationError, match=r"not polygons|no features|holds no polygons"):
        Layers.official(control_units=path)
    with pytest.raises(ValidationError, match=r"not polygons|no features|holds no polygons"):
        load_redlines(path)


def test_duplicate_unit_codes_warn_and_siting_uses_the_first(runner, tmp_path, nanchang_units) -> None:
    layer = nanchang_units.reset_index(drop=True)
    layer.loc[1, "unit_code"] = layer.loc[0, "unit_code"]
    path = tmp_path / "dup.gpkg"
    layer.to_file(path)
    assert runner.invoke(main, ["validate", str(path)]).exit_code == 1
    with pytest.warns(UserWarning, match="used more than once"):
        layers = Layers.official(control_units=path)
    inside = shapely.point_on_surface(layer.geometry.iloc[1])
    report = check_site((inside.x, inside.y), industry="garment", layers=layers)
    assert report.units[0]["unit_code"] == layer.loc[0, "unit_code"]
    assert any("used by several units" in w for w in report.warnings)


def test_validate_warns_on_low_coverage_and_gcj02_shift(runner, tmp_path) -> None:
    units = load_layer("control_units")[["unit_code", "name_zh", "category", "geometry"]]

    def shift(coords):
        lon, lat = wgs84_to_gcj02(coords[:, 0], coords[:, 1])
        return np.column_stack([lon, lat])

    gcj = units.copy()
    gcj["geometry"] = shapely.transform(units.geometry.to_numpy(), shift)
    path = tmp_path / "gcj.gpkg"
    gcj.to_file(path)
    result = runner.invoke(main, ["validate", str(path)])
    assert "GCJ-02 coordinates labelled WGS84?" in result.output
    part = tmp_path / "part.gpkg"
    units[units["unit_code"].str.startswith("ZH360102")].to_file(part)
    result = runner.invoke(main, ["validate", str(part)])
    assert "[warning] the units cover" in result.output and "partial layer" in result.output
    assert "GCJ-02" not in result.output


# --------------------------------------------------------------------------- silent wrong answers on odd values


def test_multipoint_partly_outside_jiangxi() -> None:
    report = check_site(MultiPoint([(115.89, 28.68), (113.3, 23.1)]), industry="garment")  # 2nd: Guangzhou
    assert any("outside Jiangxi" in w and "left out" in w for w in report.warnings)
    assert report.admin["county_adcode"].startswith("3601")


def test_redline_overlap_out_of_range_longitude() -> None:
    from ganpo_geo.redline import redline_overlap

    with pytest.raises(CoordinateError, match=r"vertex 0 \(200\.0, 28\.0\)"):
        redline_overlap([Point(200, 28)])
    with pytest.raises(ValidationError, match="buffer_m must be a finite number"):
        redline_overlap([Point(116, 28)], buffer_m=float("inf"))


@pytest.fixture(scope="module")
def network():
    from ganpo_geo.rivers import river_network

    return river_network()


@pytest.mark.parametrize("bad", [np.nan, -5.0, "lots"])
def test_trace_sources_rejects_bad_loads(network, bad) -> None:
    from ganpo_geo.loads import bundled_sources, trace_sources

    sources = bundled_sources().copy()
    sources["tp_kg_yr"] = sources["tp_kg_yr"].astype(object)
    sources.loc[sources.index[3], "tp_kg_yr"] = bad
    with pytest.raises(ValidationError, match="sources: tp_kg_yr must be a number >= 0"):
        trace_sources(network, "poyang", sources=sources)


@pytest.mark.parametrize("top", [-1, 0, 2.5])
def test_trace_sources_rejects_bad_top(network, top) -> None:
    from ganpo_geo.loads import scenario, trace_sources

    with pytest.raises(ValidationError, match=f"top must be a whole number >= 1, got {top}"):
        trace_sources(network, "poyang", top=top)
    with pytest.raises(ValidationError, match="top must be"):
        scenario(network, changes=[], top=top)
    with pytest.raises(CoordinateError, match="target"):
        trace_sources(network, (float("nan"), 28.0))


def test_nan_point_names_the_argument() -> None:
    with pytest.raises(CoordinateError, match=r"geometry: vertex 0 \(nan, nan\) is not a finite number"):
        check_site(Point(np.nan, np.nan), industry="garment")
    with pytest.raises(CoordinateError, match="vertex 1"):
        check_site(LineString([(115.8, 28.6), (np.inf, 28.7)]), industry="garment")


def test_bad_line_vertex_is_the_one_quoted() -> None:
    line = LineString([(115.8, 28.6), (115.9, 28.7), (215.9, 28.7)])
    with pytest.raises(ValidationError, match=r"longitude 215\.9 \(vertex 2\) is outside"):
        check_site(line, industry="garment")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["tp", "trace", "--to", "1,2,3"], "LON,LAT takes two numbers"),
        (["tp", "trace", "--to", "nan,nan"], "LON,LAT must be finite"),
        (["tp", "trace", "--top", "-1"], "-1 is not in the range x>=0"),
        (["river", "upstream", "--lon", "115.9", "--lat", "28.7", "--max-snap-m", "-1"], "must be > 0"),
        (["river", "upstream", "--lon", "nan", "--lat", "28.7"], "is not a finite number"),
        (["site-check", "--input", "x.csv", "--workers", "-1"], "-1 is not in the range x>=1"),
        (["site-check", "--lon", "115.9", "--lat", "28.7", "--industry", "化工", "--buffer-m", "inf"], "not a finite"),
        (["site-check", "--lon", "115.9", "--lat", "28.7", "--industry", "化工", "--buffer-m", "0"], "must be > 0"),
    ],
)
def test_cli_options_are_checked_by_click_types(runner, args, message) -> None:
    result = runner.invoke(main, args)
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output


def test_calibrate_with_empty_observations(runner, tmp_path) -> None:
    empty = tmp_path / "obs.csv"
    empty.write_text("")
    assert "not a readable CSV" in _one_line_error(runner.invoke(main, ["tp", "calibrate", "--observations", empty]))
    header = tmp_path / "obs2.csv"
    header.write_text("station_id,load_kg_yr\n")
    assert "has no rows" in _one_line_error(runner.invoke(main, ["tp", "calibrate", "--observations", header]))


@pytest.mark.parametrize("content", ["[1, 2]", '"text"', '{"type": "Point"}', '{"type": "Point", "coordinates": []}'])
def test_geojson_site_that_is_not_a_geometry(runner, tmp_path, content) -> None:
    path = tmp_path / "site.geojson"
    path.write_text(content)
    result = runner.invoke(main, ["site-check", "--geojson", str(path), "--industry", "化工"])
    line = _one_line_error(result)
    assert str(path) in line


def test_river_with_projected_metres(runner) -> None:
    to_m = pyproj.Transformer.from_crs(4326, 4548, always_xy=True)
    x, y = to_m.transform(115.89, 28.68)
    wgs = runner.invoke(main, ["river", "downstream", "--lon", "115.89", "--lat", "28.68", "--format", "json"])
    metres = runner.invoke(
        main, ["river", "downstream", "--lon", str(x), "--lat", str(y), "--crs", "EPSG:4548", "--format", "json"]
    )
    assert metres.exit_code == 0, metres.output
    assert json.loads(metres.stdout)["path"] == json.loads(wgs.stdout)["path"]


def test_gcj_round_trip_sanity() -> None:  # the helper the GCJ-02 tests rely on
    lon, lat = gcj02_to_wgs84(*wgs84_to_gcj02(115.89, 28.68))
    assert float(lon) == pytest.approx(115.89, abs=1e-6) and float(lat) == pytest.approx(28.68, abs=1e-6)


# --------------------------------------------------------------------------- no traceback reaches a user


def test_unexpected_error_is_one_line_and_debug_shows_it(runner, tmp_path, monkeypatch) -> None:
    import ganpo_geo._commands.site

    def boom(*args, **kwargs):
        raise KeyError("internal")

    monkeypatch.setattr(ganpo_geo._commands.site, "check_site", boom)
    args = ["site-check", "--lon", "115.9", "--lat", "28.7", "--industry", "化工"]
    line = _one_line_error(runner.invoke(main, args))
    assert "unexpected error (KeyError" in line and "please report" in line and "--debug" in line
    debug = runner.invoke(main, ["--debug", *args])
    assert isinstance(debug.exception, KeyError)  # the traceback is shown, not swallowed
