"""Tests for ganpo_geo.zoning: reference units, rules, units_at, official layers, validation."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from click.testing import CliRunner
from shapely import Point

from ganpo_geo import ColumnMappingError, ValidationError
from ganpo_geo.cli import main
from ganpo_geo.crs import area_km2, to_albers
from ganpo_geo.layers import Layers, data_path, layer_info, load_layer
from ganpo_geo.zoning import (
    UNIT_CODE_PATTERN,
    condition_terms,
    industries,
    load_control_units,
    parse_category,
    read_rules,
    resolve_industry,
    rules_for,
    units_at,
    validate_control_units,
)

PROVINCE_KM2 = 166_926
_RULES_CSV = data_path("zoning/access_rules.csv")
SEATS_CSV = Path(__file__).resolve().parents[1] / "data" / "boundaries" / "county_seats.csv"


def _seats() -> pd.DataFrame:
    return pd.read_csv(SEATS_CSV, dtype={"adcode": str})


def _seat_points() -> np.ndarray:
    seats = _seats()
    return to_albers(shapely.points(seats["lon"], seats["lat"]))


@pytest.fixture(scope="module")
def units() -> gpd.GeoDataFrame:
    return load_layer("control_units")


@pytest.fixture(scope="module")
def units_m(units) -> np.ndarray:
    return to_albers(units.geometry)


# --------------------------------------------------------------------------- reference units


def test_count_codes_fields(units) -> None:
    assert len(units) == 1093
    assert units["unit_code"].is_unique
    parsed = units["unit_code"].str.extract(UNIT_CODE_PATTERN)
    assert parsed.notna().all().all()
    assert (parsed[0] == units["county_adcode"]).all()
    assert (parsed[1].astype(int) == units["category"]).all()
    assert (units["city_adcode"] == units["county_adcode"].str[:4] + "00").all()
    for col in ("name_zh", "name_en", "category_zh", "area_km2", "source", "derivation"):
        assert col in units.columns
    assert units["source"].str.contains("NOT the official").all()


def test_category_counts_and_shares(units) -> None:
    counts = units["category"].value_counts()
    for cat, target in {1: 203, 2: 617, 3: 273}.items():
        assert abs(counts[cat] - target) <= 0.10 * target
    share = units.groupby("category")["area_km2"].sum() / units["area_km2"].sum()
    for cat, target in {1: 0.34, 2: 0.26, 3: 0.40}.items():
        assert abs(share[cat] - target) <= 0.05


def test_units_tile_province(units_m) -> None:
    province_m = to_albers(load_layer("province").geometry)[0]
    union = shapely.union_all(units_m)
    assert abs(union.area - province_m.area) / province_m.area < 0.001
    tree = shapely.STRtree(units_m)
    left, right = tree.query(units_m, predicate="intersects")
    pair = left < right
    overlap = shapely.area(shapely.intersection(units_m[left[pair]], units_m[right[pair]])).sum()
    assert overlap < 0.0001 * province_m.area


def test_each_unit_in_one_county(units, units_m) -> None:
    counties = load_layer("counties").set_index("adcode")
    county_m = to_albers(counties.geometry.loc[units["county_adcode"]].to_numpy())
    inside = shapely.area(shapely.intersection(units_m, county_m)) / shapely.area(units_m)
    assert (inside > 0.999).all()


def test_no_slivers(units) -> None:
    params = layer_info("control_units").provenance["parameters"]
    assert units["area_km2"].min() >= params["min_unit_km2"]


def test_priority_units_cover_redlines_lake_and_rivers(units, units_m) -> None:
    priority = shapely.union_all(units_m[units["category"].to_numpy() == 1])
    red = shapely.union_all(to_albers(load_layer("redlines").geometry))
    assert shapely.difference(red, priority).area / red.area < 0.001
    lakes = load_layer("lakes")
    poyang = to_albers(lakes.geometry[lakes["name_en"] == "Poyang Lake"])[0]
    province_m = to_albers(load_layer("province").geometry)[0]
    lake_in = shapely.intersection(poyang, province_m)
    # ... except in the built-up cores around the county seats, which are never priority land
    params = layer_info("control_units").provenance["parameters"]
    cores = shapely.union_all(shapely.buffer(_seat_points(), params["urban_core_m"]))
    reaches = load_layer("reaches")
    stems = shapely.union_all(to_albers(reaches.geometry[reaches["main_stem"] != ""]))
    stems_in = shapely.difference(shapely.intersection(stems, province_m), cores)
    assert shapely.difference(stems_in, priority).length / stems_in.length < 0.01
    lake_open = shapely.difference(lake_in, cores)
    assert shapely.difference(lake_open, priority).area / lake_open.area < 0.001


def test_key_units_at_city_centres(units) -> None:
    """Key units sit on urban centres: the centres of the 11 prefecture cities' main towns."""
    centres = [(115.89, 28.68), (114.93, 25.83), (117.18, 29.27), (116.00, 29.71),
               (117.94, 28.45), (117.07, 28.26), (116.36, 27.95), (114.99, 27.11)]  # fmt: skip
    hits = units_at(gpd.GeoSeries([Point(xy) for xy in centres], crs=4326))
    assert len(hits) == len(centres) and (hits["category"] == 2).all()


def test_reference_metadata(units) -> None:
    for name in ("control_units", "redlines"):
        info = layer_info(name)
        assert info.synthetic and info.status.startswith("reference")
        assert "NOT the official" in info.provenance["notice"]
        assert "REFERENCE DATA" in info.derivation
    result = CliRunner().invoke(main, ["layers"])
    line = next(ln for ln in result.output.splitlines() if ln.startswith("control_units"))
    assert "reference" in line
    assert "synthesized" in result.output


# --------------------------------------------------------------------------- unit elements


def test_element_column(units) -> None:
    expected = {1: {"ecological"}, 2: {"urban", "industrial", "town"}, 3: {"general"}}
    for cat, allowed in expected.items():
        assert set(units.loc[units["category"] == cat, "element"]) == allowed
    fields = layer_info("control_units").provenance["fields"]["element"]
    assert set(fields) == {"urban", "industrial", "town", "ecological", "general"}
    # every county has its urban core
    urban = units[units["element"] == "urban"]
    assert set(urban["county_adcode"]) == set(units["county_adcode"])


def test_county_seats_in_urban_key_units(units) -> None:
    """Every sourced county seat (town centre) lies in a key unit of element urban, of its county."""
    seats = _seats()
    hits = units_at(gpd.GeoSeries(shapely.points(seats["lon"], seats["lat"]), crs=4326))
    hits = hits.merge(units[["unit_code", "element", "county_adcode"]], on="unit_code")
    assert len(hits) == len(seats)
    assert (hits["category"] == 2).all() and (hits["element"] == "urban").all()
    assert (hits.sort_values("input_index")["county_adcode"].to_numpy() == seats["adcode"].to_numpy()).all()
    # the counties the table lacks are approximated and listed in the metadata
    approx = layer_info("control_units").provenance["inputs"]["county_seats_approximated"]
    assert set(approx) == set(units["county_adcode"]) - set(seats["adcode"])


def test_urban_units_never_in_redlines(units, units_m) -> None:
    red = shapely.union_all(to_albers(load_layer("redlines").geometry))
    urban = units_m[units["element"].to_numpy() == "urban"]
    assert urban.size >= len(_seats())
    assert shapely.area(shapely.intersection(shapely.union_all(urban), red)) < 0.01e6  # m2


def test_industrial_units_follow_rivers(units, units_m) -> None:
    reaches = shapely.union_all(to_albers(load_layer("reaches").geometry))
    industrial = units_m[units["element"].to_numpy() == "industrial"]
    assert industrial.size >= 50
    assert np.mean(shapely.intersects(industrial, reaches)) >= 0.95  # 95% with the 2026-11 network


# --------------------------------------------------------------------------- build inputs (bad input)


@pytest.fixture(scope="module")
def build_zoning_module():
    pytest.importorskip("rasterio", reason="the [build-data] extra is not installed: pip install -e '.[build-data]'")
    pytest.importorskip("scipy", reason="the [build-data] extra is not installed: pip install -e '.[build-data]'")
    import importlib.util
    import sys

    scripts = Path(__file__).resolve().parents[1] / "scripts"
    sys.path.insert(0, str(scripts))
    spec = importlib.util.spec_from_file_location("build_zoning", scripts / "build_zoning.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_build_reads_tables_from_repo(build_zoning_module) -> None:
    repo = Path(__file__).resolve().parents[1]
    assert build_zoning_module.COUNTY_SEATS_CSV == repo / "data" / "boundaries" / "county_seats.csv"
    assert build_zoning_module.PROTECTED_AREAS_CSV == repo / "data" / "boundaries" / "protected_areas.csv"
    areas, points = build_zoning_module.read_protected_areas()
    assert areas["area_km2"].gt(0).all() and len(areas) + len(points) == len(
        pd.read_csv(build_zoning_module.PROTECTED_AREAS_CSV)
    )
    assert build_zoning_module.short_name("三清山国家公园(世界自然遗产)") == "三清山国家公园"


def test_build_rejects_bad_tables(build_zoning_module, tmp_path) -> None:
    bz = build_zoning_module
    counties_m = load_layer("counties").to_crs(bz.JIANGXI_ALBERS)
    reaches = np.array([], dtype=object)
    seats = _seats()
    nolon = tmp_path / "nolon.csv"
    seats.drop(columns="lon").to_csv(nolon, index=False)
    with pytest.raises(ValueError, match=r"lacks column.*lon"):
        bz.read_county_seats(counties_m, reaches, nolon)
    far = tmp_path / "far.csv"
    seats.assign(lon=np.where(seats.index == 0, 117.5, seats["lon"])).to_csv(far, index=False)
    with pytest.raises(ValueError, match=r"seat of \d{6} is .* km outside its county"):
        bz.read_county_seats(counties_m, reaches, far)
    dup = tmp_path / "dup.csv"
    pd.concat([seats, seats.iloc[:1]]).to_csv(dup, index=False)
    with pytest.raises(ValueError, match="duplicate adcode"):
        bz.read_county_seats(counties_m, reaches, dup)
    with pytest.raises(FileNotFoundError, match="sourced table"):
        bz.read_county_seats(counties_m, reaches, tmp_path / "none.csv")
    pa = pd.read_csv(bz.PROTECTED_AREAS_CSV, dtype=str, keep_default_na=False)
    neg = tmp_path / "neg.csv"
    pa.assign(area_km2="-5").to_csv(neg, index=False)
    with pytest.raises(ValueError, match="area_km2 must be > 0"):
        bz.read_protected_areas(neg)


# --------------------------------------------------------------------------- industries and rules


def test_industry_vocabulary() -> None:
    table = industries()
    assert len(table) >= 15
    assert table["gbt4754"].str.len().gt(0).all()
    for key in ("chemical", "petrochemical", "pharmaceutical", "nonferrous_smelting", "steel", "cement",
                "paper", "textile_dyeing", "electroplating", "tanning", "livestock", "mining",
                "thermal_power", "landfill", "wastewater_plant", "real_estate", "tourism"):  # fmt: skip
        assert key in table.index
    assert resolve_industry("化工") == "chemical"
    assert resolve_industry("Chemical Plant") == "chemical"
    assert resolve_industry("养猪") == "livestock"


def test_unknown_industry_lists_close_matches() -> None:
    with pytest.raises(ValidationError, match=r"unknown industry 'chemcal'.*close matches: chemical"):
        resolve_industry("chemcal")


def test_rules_order_and_scope() -> None:
    rules = rules_for("ZH36010220001", "化工")  # a Nanchang key unit
    levels = list(rules["level"])
    assert levels == sorted(levels, key=["province", "city", "unit"].index)
    assert {"province", "city", "unit"} <= set(levels)
    assert set(rules.loc[rules["level"] == "city", "scope"]) == {"360100"}
    assert set(rules.loc[rules["level"] == "unit", "scope"]) <= {"2", "ZH36010220001"}
    assert "P-SL-01" in set(rules["rule_id"])  # the real 1 km rule
    yangtze = rules.set_index("rule_id").loc["P-SL-01"]
    assert yangtze["condition"] == "shoreline_1km" and not yangtze["reference"]
    assert set(rules["dimension"]) <= {
        "spatial_layout",
        "pollutant_discharge",
        "environmental_risk",
        "resource_efficiency",
    }


def test_rules_industry_filter() -> None:
    garment = rules_for("ZH36010220001", "garment")
    assert "P-SL-01" not in set(garment["rule_id"])  # not a chemical project
    assert "U2-SL-02" in set(garment["rule_id"])  # allowed in key units
    tp = rules_for("ZH36010220001", "livestock")
    assert "P-PD-01" in set(tp["rule_id"])  # TP offsetting for TP dischargers


def test_unit_override_only_for_its_unit() -> None:
    own = rules_for("ZH36042810002", "sand_mining")
    assert own["rule_id"].iloc[-1] == "U-ZH36042810002-01"
    other = rules_for("ZH36010220001", "sand_mining")
    assert "U-ZH36042810002-01" not in set(other["rule_id"])
    codes = set(load_layer("control_units")["unit_code"])
    from ganpo_geo.layers import bundled_layers

    rules = bundled_layers().access_rules()
    for scope in rules.loc[(rules["level"] == "unit") & rules["scope"].str.startswith("ZH"), "scope"]:
        assert scope in codes


def test_rules_unknown_unit() -> None:
    with pytest.raises(ValidationError, match=r"unknown unit code 'ZH36010220009'; close matches"):
        rules_for("ZH36010220009", "chemical")


def test_redline_rule_real_and_permitted_list() -> None:
    rules = rules_for("ZH36042810002", "tourism")
    assert "P-SL-03" in set(rules["rule_id"]) and "P-SL-02" not in set(rules["rule_id"])
    assert "P-SL-02" in set(rules_for("ZH36042810002", "steel")["rule_id"])


# --------------------------------------------------------------------------- units_at


def test_units_at_points_match_sjoin(units) -> None:
    rng = np.random.default_rng(3)
    pts = gpd.GeoSeries(shapely.points(rng.uniform(113.5, 118.5, 20_000), rng.uniform(24.5, 30.1, 20_000)), crs=4326)
    ours = units_at(pts)
    ref = gpd.sjoin(gpd.GeoDataFrame(geometry=pts), units[["unit_code", "geometry"]], predicate="intersects")
    assert sorted(zip(ours["input_index"], ours["unit_code"], strict=True)) == sorted(
        zip(ref.index, ref["unit_code"], strict=True)
    )
    assert (ours["share"] == 1.0).all()


def test_units_at_polygons_and_lines(units) -> None:
    poly = shapely.box(115.8, 28.6, 116.0, 28.8)
    line = shapely.LineString([(115.8, 28.6), (116.0, 28.8)])
    out = units_at(gpd.GeoSeries([poly, line, Point(0, 0)], index=["p", "l", "far"], crs=4326))
    assert set(out["input_index"]) == {"p", "l"}
    p = out[out["input_index"] == "p"]
    assert p["share"].sum() == pytest.approx(1.0, abs=1e-6)
    assert p["overlap_km2"].sum() == pytest.approx(area_km2([poly])[0], rel=1e-6)
    ln = out[out["input_index"] == "l"]
    assert ln["share"].sum() == pytest.approx(1.0, abs=1e-6) and (ln["overlap_km2"] == 0).all()


def test_units_at_gcj02_input(units) -> None:
    from ganpo_geo.crs import wgs84_to_gcj02

    lon, lat = wgs84_to_gcj02(115.89, 28.68)
    a = units_at([Point(115.89, 28.68)])
    b = units_at([Point(float(lon), float(lat))], crs="gcj02")
    assert list(a["unit_code"]) == list(b["unit_code"])


# --------------------------------------------------------------------------- official layers


def _official_style(units: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "单元编码": units["unit_code"],
            "单元名称": units["name_zh"],
            "单元分类": units["category_zh"],
            "空间布局": "示例空间布局约束",
        },
        geometry=units.geometry.to_numpy(),
        crs=4326,
    )


def test_gbk_shapefile_round_trip(tmp_path, units) -> None:
    path = tmp_path / "官方管控单元.shp"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pyogrio.write_dataframe(_official_style(units), path, encoding="GBK")
    path.with_suffix(".cpg").unlink()  # as many desktop GIS exports are
    back = load_control_units(path)
    assert list(back["unit_code"]) == list(units["unit_code"])
    assert list(back["name_zh"]) == list(units["name_zh"])
    assert list(back["category"]) == list(units["category"])
    assert (back["spatial_layout"] == "示例空间布局约束").all()
    # shapefiles store single-part multipolygons as polygons and reorder rings: equal as shapes
    assert back.geometry.geom_equals(units.geometry).all()


def test_official_field_names_and_numeric_categories(tmp_path, units) -> None:
    sub = units.iloc[:50]
    gdf = gpd.GeoDataFrame(
        {
            "HJZHGKDYBM": sub["unit_code"],
            "HJZHGKDYMC": sub["name_zh"],
            "ZHGKDYFL": sub["category"].astype(str),
            "KJBJYS": "x",
            "PWWPFGK": "y",
            "HJFXFK": "z",
            "ZYKFXLYQ": "w",
        },
        geometry=sub.geometry.to_numpy(),
        crs=4326,
    )
    path = tmp_path / "units.gpkg"
    gdf.to_file(path)
    back = load_control_units(path)
    assert list(back["category"]) == list(sub["category"])
    assert set(back.columns) >= {
        "spatial_layout",
        "pollutant_discharge",
        "environmental_risk",
        "resource_efficiency",
    }


def test_official_units_replace_reference(tmp_path, units) -> None:
    sub = units[units["city_adcode"] == "360100"].copy()
    sub["category"] = 3  # pretend the official zoning made all of Nanchang general control
    sub["unit_code"] = [f"ZH{c}3{i:04d}" for i, c in enumerate(sub["county_adcode"], start=1)]
    path = tmp_path / "nanchang.geojson"
    sub[["unit_code", "name_zh", "category", "geometry"]].to_file(path)
    layers = Layers.official(control_units=path)
    hit = units_at([Point(115.89, 28.68)], layers=layers)
    assert hit["category"].tolist() == [3]
    assert rules_for(hit["unit_code"].iloc[0], "garment", layers=layers)["scope"].isin(["3"]).any()
    assert "control_units" not in layers.reference_layers()
    assert units_at([Point(114.93, 25.83)], layers=layers).empty  # Ganzhou is not in the file


def test_load_control_units_bad_input(tmp_path, units) -> None:
    sub = units.iloc[:3][["unit_code", "geometry"]]
    path = tmp_path / "nocat.geojson"
    sub.to_file(path)
    with pytest.raises(ColumnMappingError, match=r"no category column .*columns found: unit_code"):
        load_control_units(path)
    bad = units.iloc[:3][["unit_code", "geometry"]].assign(category=["1", "重点管控单元", "special"])
    path2 = tmp_path / "badcat.geojson"
    bad.to_file(path2)
    with pytest.raises(ValidationError, match="unknown category 'special'"):
        load_control_units(path2)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1, 1),
        ("2", 2),
        (3.0, 3),
        ("优先保护单元", 1),
        ("重点管控", 2),
        ("General", 3),
        ("x", None),
        (None, None),
    ],
)
def test_parse_category(value, expected) -> None:
    assert parse_category(value) == expected


# --------------------------------------------------------------------------- validation


def _broken_file(tmp_path, units) -> str:
    county = units[units["county_adcode"] == "360124"].copy().reset_index(drop=True)  # Jinxian
    county.loc[1, "unit_code"] = county.loc[0, "unit_code"]  # duplicate code
    x0, y0, *_ = county.geometry.iloc[2].bounds
    county.loc[2, "geometry"] = shapely.Polygon(
        [(x0, y0), (x0 + 0.05, y0 + 0.05), (x0 + 0.05, y0), (x0, y0 + 0.05)]
    )  # bowtie
    hole = shapely.buffer(shapely.point_on_surface(county.geometry.iloc[3]), 0.01)
    county.loc[3, "geometry"] = shapely.difference(county.geometry.iloc[3], hole)  # gap
    county.loc[4, "geometry"] = shapely.box(119.5, 26.0, 119.6, 26.1)  # in Fujian
    county.loc[5, "category"] = 9  # unknown category
    county["category"] = county["category"].astype(object)
    county.loc[5, "category"] = "特殊"
    path = tmp_path / "broken.gpkg"
    county[["unit_code", "name_zh", "category", "geometry"]].to_file(path)
    return str(path)


def test_validate_reports_each_problem(tmp_path, units) -> None:
    report = validate_control_units(_broken_file(tmp_path, units))
    kinds = {p.kind for p in report.problems}
    assert {
        "duplicate_code",
        "invalid_geometry",
        "gap",
        "outside_jiangxi",
        "unknown_category",
    } <= kinds
    bowtie = next(p for p in report.problems if p.kind == "invalid_geometry")
    assert (
        "Self-intersection" in bowtie.message and "make_valid would give a MultiPolygon of 2 part(s)" in bowtie.message
    )
    fujian = next(p for p in report.problems if p.kind == "outside_jiangxi")
    assert fujian.lon == pytest.approx(119.55, abs=0.06)
    gap = max((p for p in report.problems if p.kind == "gap"), key=lambda p: p.area_km2)  # the punched hole
    assert gap.area_km2 > 0.5 and gap.lon is not None
    assert not report.ok


def test_validate_overlap_and_missing_field(tmp_path, units) -> None:
    two = units.iloc[:2][["unit_code", "category", "geometry"]].copy()
    two.loc[two.index[1], "geometry"] = two.geometry.iloc[0].buffer(0.01)
    path = tmp_path / "overlap.gpkg"
    two.to_file(path)
    report = validate_control_units(path)
    assert any(p.kind == "overlap" for p in report.problems)
    nofield = tmp_path / "nofield.gpkg"
    two[["unit_code", "geometry"]].to_file(nofield)
    report = validate_control_units(nofield)
    assert any(p.kind == "missing_field" and "category" in p.message for p in report.problems)


def test_validate_cli(tmp_path, units) -> None:
    runner = CliRunner()
    bad = runner.invoke(main, ["validate", _broken_file(tmp_path, units)])
    assert bad.exit_code == 1
    for word in (
        "duplicate_code",
        "invalid_geometry",
        "gap",
        "outside_jiangxi",
        "unknown_category",
    ):
        assert word in bad.output
    js = runner.invoke(main, ["validate", _broken_file(tmp_path, units), "--format", "json"])
    data = json.loads(js.output)
    assert js.exit_code == 1 and not data["ok"] and data["problems"]
    from ganpo_geo.layers import data_path

    good = runner.invoke(main, ["validate", str(data_path("boundaries/zoning.gpkg")), "--layer", "control_units"])
    assert good.exit_code == 0, good.output
    assert "OK: no problems found" in good.output and "1: 203" in good.output
    missing = runner.invoke(main, ["validate", str(tmp_path / "nope.gpkg")])
    assert missing.exit_code == 1 and "not found" in missing.output
    badcol = runner.invoke(main, ["validate", _broken_file(tmp_path, units), "--column", "oops"])
    assert badcol.exit_code == 1 and "FILE_COLUMN=STANDARD_NAME" in badcol.output


# --------------------------------------------------------------------------- rules say what their text says

_EFFECT_WORDS = (  # strongest first: a text's effect is the first class whose word it uses
    ("prohibit", ("禁止", "不得", "严禁", "不再新建")),
    ("restrict", ("限制", "严格控制", "控制规模", "原则上不", "仅允许")),
    ("require", ("应", "须", "必须", "落实", "执行", "实行")),
    ("allow", ("鼓励", "允许", "支持")),
)
_NOT_A_BAN_ON_LAWFUL_PROJECTS = ("严禁非法", "禁止非法")  # a ban on illegal activity
_PLACE_WORDS = {  # text word -> the condition term it needs (prefix)
    "中心城区": "in_central_urban_area",
    "园区外": "outside_industrial_park",
    "红线": "in_redline",
    "总磷超标流域": "tp_exceeding_basin",
    "抚河流域": "in_basin:fu",
    "饶河（乐安河）流域": "in_basin:rao",
    "一公里": ("shoreline_1km", ":1000"),
    "五百米": ":500",
    "二公里": ":2000",
}


def _keyword_effect(text: str) -> str:
    for phrase in _NOT_A_BAN_ON_LAWFUL_PROJECTS:
        text = text.replace(phrase, "")
    for effect, words in _EFFECT_WORDS:
        if any(w in text for w in words):
            return effect
    return "unknown"


def _bundled_rules() -> pd.DataFrame:
    return read_rules(data_path("zoning/access_rules.csv"))


@pytest.mark.parametrize("rule_id", list(pd.read_csv(_RULES_CSV)["rule_id"]))
def test_rule_effect_and_condition_match_its_text(rule_id) -> None:
    rule = _bundled_rules().set_index("rule_id").loc[rule_id]
    assert rule["effect"] == _keyword_effect(rule["text_zh"]), rule["text_zh"]
    terms = condition_terms(rule["condition"])
    place_scoped = rule["level"] == "unit" and str(rule["scope"]).startswith("ZH")  # the unit is the place
    for word, needed in _PLACE_WORDS.items():
        if word not in rule["text_zh"] or place_scoped:
            continue
        options = needed if isinstance(needed, tuple) else (needed,)
        assert any(t.startswith(o) or t.endswith(o) for t in terms for o in options), (word, terms)
    for term in terms:  # and every condition is in the text
        words = [w for w, n in _PLACE_WORDS.items() for o in (n if isinstance(n, tuple) else (n,))
                 if term.startswith(o) or term.endswith(o)]
        assert any(w in rule["text_zh"] for w in words), (term, rule["text_zh"])


def test_condition_terms_vocabulary() -> None:
    assert condition_terms("") == ()
    assert condition_terms("near_water:gan:500&outside_industrial_park") == (
        "near_water:gan:500",
        "outside_industrial_park",
    )
    for bad in ("near_water:gan", "near_water:gan:5000", "near_the_river", "in_basin:"):
        with pytest.raises(ValidationError, match="condition"):
            condition_terms(bad)


def test_old_condition_name_is_read_with_a_warning(tmp_path) -> None:
    table = pd.read_csv(data_path("zoning/access_rules.csv"), dtype=str, keep_default_na=False)
    table.loc[table["rule_id"] == "P-SL-01", "condition"] = "near_yangtze_or_tributary_1km"
    path = tmp_path / "rules.csv"
    table.to_csv(path, index=False)
    with pytest.warns(DeprecationWarning, match="shoreline_1km"):
        rules = read_rules(path)
    assert rules.set_index("rule_id").loc["P-SL-01", "condition"] == "shoreline_1km"
    table.loc[table["rule_id"] == "P-SL-01", "condition"] = "near_a_river"
    table.to_csv(path, index=False)
    with pytest.raises(ValidationError, match=r"P-SL-01.*unknown condition term"):
        read_rules(path)


def test_site_check_rules_for_and_scope_agree() -> None:
    """The site check lists exactly the rules rules_for gives for its unit and industry."""
    from ganpo_geo.siting import check_site

    for point, industry in (((115.89, 28.68), "化工"), ((116.9, 28.75), "garment"), ((116.25, 29.1), "steel")):
        report = check_site(point, industry=industry)
        listed = {r["rule_id"] for rules in report.rules.values() for r in rules}
        expected = set()
        for unit in report.units:
            expected |= set(rules_for(unit["unit_code"], industry)["rule_id"])
        assert listed == expected
