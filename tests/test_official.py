"""Official data end to end: a layers TOML file, official requirement texts, screening layers."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import openpyxl
import pytest
import shapely
from click.testing import CliRunner

from ganpo_geo._errors import LayersFileError
from ganpo_geo.cli import main
from ganpo_geo.layers import Layers, load_layer
from ganpo_geo.siting import check_site, check_sites, screening_columns

#: A site in a general-control (category 3) unit of Ji'an, away from rivers and red lines, where
#: the bundled reference rules give chemical projects only ``conditional`` (U3-SL-01).
SITE = (115.727597, 27.006655)
#: A second site, in another unit (no ban in its text), inside the water-source zone drawn around it.
WATER_SITE = (115.80, 27.05)
BAN = "禁止新建化工项目。"
KJBJYS = f"1.{BAN}2.鼓励发展电子信息产业。"
OFFICIAL_MARK = "官方版"  # in the official unit names: shows which units a map or report used
WATER_TEXT = "饮用水水源一级、二级保护区内禁止新建排放污染物的建设项目。"


def _target_unit() -> str:
    units = load_layer("control_units")
    return str(units.loc[units.contains(shapely.Point(*SITE)), "unit_code"].iloc[0])


def _write_dataset(folder: Path) -> dict[str, object]:
    """Official-style files: GBK shapefile without .cpg in EPSG:4548, .xlsx access list, screening
    layer, layers TOML naming them."""
    folder.mkdir(parents=True, exist_ok=True)
    units = load_layer("control_units")
    target = _target_unit()
    county = units.loc[units["unit_code"] == target, "county_adcode"].iloc[0]
    mine = units[units["county_adcode"] == county].copy()
    official = gpd.GeoDataFrame(
        {
            "HJZHGKDYBM": mine["unit_code"].to_numpy(),
            "HJZHGKDYMC": (mine["name_zh"] + OFFICIAL_MARK).to_numpy(),
            "ZHGKDYFL": mine["category"].map({1: "优先保护单元", 2: "重点管控单元", 3: "一般管控单元"}).to_numpy(),
            "KJBJYS": [KJBJYS if c == target else "执行区域总体管控要求。" for c in mine["unit_code"]],
            "PWWPFGK": "污染物排放执行国家和地方排放标准。",
            "HJFXFK": "落实企业突发环境事件应急预案。",
            "ZYKFXLYQ": "严格执行用水总量控制。",
        },
        geometry=mine.geometry.to_numpy(),
        crs="EPSG:4326",
    ).to_crs("EPSG:4548")
    shp = folder / "环境管控单元.shp"
    official.to_file(shp, encoding="GBK", engine="pyogrio")
    shp.with_suffix(".cpg").unlink(missing_ok=True)
    # access list: the units of the county, the target's spatial text verbatim, one unlisted unit
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "单元清单"
    ws.append(
        ["环境管控单元编码", "管控单元名称", "空间布局约束", "污染物排放管控", "环境风险防控", "资源开发效率要求"]
    )
    for code, name, kj in zip(official["HJZHGKDYBM"], official["HJZHGKDYMC"], official["KJBJYS"], strict=True):
        ws.append(
            [
                code,
                name,
                kj,
                "污染物排放执行国家和地方排放标准。",
                "落实企业突发环境事件应急预案。",
                "严格执行用水总量控制。",
            ]
        )
    ws.append(["ZH36999930001", "不存在的单元", "禁止新建化工项目。", "", "", ""])
    xlsx = folder / "生态环境准入清单.xlsx"
    book.save(xlsx)
    # screening: a drinking-water source zone around the second site, in its own shapefile
    zone = gpd.GeoDataFrame(
        {"name_zh": ["某水库饮用水水源保护区"]}, geometry=[shapely.Point(*WATER_SITE).buffer(0.01)], crs="EPSG:4326"
    )
    water = folder / "water_source_zones.shp"
    zone.to_file(water, encoding="UTF-8", engine="pyogrio")
    toml = folder / "layers.toml"
    toml.write_text(
        f"""[control_units]
path = "环境管控单元.shp"
crs = "EPSG:4548"

[access_list]
path = "生态环境准入清单.xlsx"

[[screening]]
name = "饮用水水源保护区"
path = "water_source_zones.shp"
effect = "prohibit"
industries = ["chemical", "electroplating"]
buffer_m = 0
text_zh = "{WATER_TEXT}"
basis = "《水污染防治法》第六十五、六十六条"
""",
        encoding="utf-8",
    )
    return {"toml": toml, "target": target, "units": len(official), "shp": shp, "xlsx": xlsx}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    return _write_dataset(tmp_path_factory.mktemp("official"))


@pytest.fixture(scope="module")
def official(dataset: dict[str, object]) -> Layers:
    return Layers.from_file(dataset["toml"])


def _cli(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(main, list(args), env=env or {"GANPO_LAYERS": ""})


# --------------------------------------------------------------------------- the layers file


def test_layers_file_reads_every_official_layer(dataset, official) -> None:
    units = official.units()
    assert len(units) == dataset["units"]
    # GBK without .cpg decoded; EPSG:4548 metres brought to WGS84 degrees
    assert units["name_zh"].str.endswith(OFFICIAL_MARK).all()
    assert units.crs.to_epsg() == 4326 and 114 < units.total_bounds[0] < 117
    assert units.loc[units["unit_code"] == dataset["target"], "spatial_layout"].iloc[0] == KJBJYS
    assert official.access_list is not None and len(official.access_list) == dataset["units"] + 1
    assert [s.name for s in official.screening] == ["饮用水水源保护区"]
    assert official.screening[0].industries == "chemical;electroplating"
    assert official.redlines is None  # not named: stays the bundled reference
    described = {e["layer"]: e for e in official.describe()}
    assert described["control_units"]["status"] == "official"
    assert described["control_units"]["crs"] == "EPSG:4548"
    assert described["control_units"]["path"] == str(dataset["shp"])
    assert described["redlines"]["status"] == "reference"
    assert "ZH36999930001" in described["control_units"]["validation"]
    assert described["screening:饮用水水源保护区"]["features"] == 1


def test_relative_paths_resolve_against_the_toml_file(dataset, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # not the dataset folder
    layers = Layers.from_file(dataset["toml"])
    assert len(layers.units()) == dataset["units"]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("[control_units\npath = 'x.shp'", ["not a TOML file"]),
        ("[units]\npath = '环境管控单元.shp'", ["unknown section [units]", "[control_units]"]),
        ("[control_units]\ncrs = 'EPSG:4548'", ["[control_units] has no path", 'path = "..."']),
        ("[control_units]\npath = 'missing.shp'", ["[control_units] path", "missing.shp", "does not exist"]),
        ("[redlines]\npath = 'water_source_zones.shp'\ncolour = 'red'", ["unknown field 'colour'"]),
        ("[[screening]]\npath = 'water_source_zones.shp'", ["[[screening]] #1 has no name"]),
        (
            "[[screening]]\nname = 'w'\npath = 'water_source_zones.shp'\neffect = 'ban'",
            ["[[screening]] w", "unknown effect 'ban'", "prohibit"],
        ),
        (
            "[[screening]]\nname = 'w'\npath = 'water_source_zones.shp'\nindustries = ['nuclear fusion']",
            ["[[screening]] w", "nuclear fusion"],
        ),
        (
            "[control_units]\npath = 'water_source_zones.shp'",
            ["[control_units]", "no unit_code column", "columns found"],
        ),
    ],
)
def test_bad_layers_files_fail_in_one_line(dataset, body: str, words: list[str]) -> None:
    bad = Path(dataset["toml"]).parent / "bad.toml"
    bad.write_text(body, encoding="utf-8")
    with pytest.raises(LayersFileError) as err:
        Layers.from_file(bad)
    message = str(err.value)
    assert "\n" not in message and str(bad) in message
    for word in words:
        assert word in message
    result = _cli("site-check", "--layers", str(bad), "--lon", "115.7", "--lat", "27.0", "--industry", "化工")
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [f"Error: {message}"]


def test_missing_layers_file_is_one_line(tmp_path) -> None:
    with pytest.raises(LayersFileError, match="layers file not found"):
        Layers.from_file(tmp_path / "nothing.toml")
    result = _cli("layers", env={"GANPO_LAYERS": str(tmp_path / "nothing.toml")})
    assert result.exit_code == 1 and "layers file not found" in result.output


# --------------------------------------------------------------------------- official texts decide


def test_official_clause_decides_instead_of_reference_rules(dataset, official) -> None:
    reference = check_site(SITE, industry="化工")
    assert reference.verdict == "conditional"  # the case: a reference rule, not the official ban
    report = check_site(SITE, industry="化工", layers=official)
    assert report.verdict == "prohibited"
    cited = {r["source"]: r for r in report.reasons}
    rule_id = f"{dataset['target']}-spatial_layout-1"
    assert cited[rule_id]["text_zh"] == BAN and cited[rule_id]["effect"] == "prohibit"
    assert cited[rule_id]["basis"] == "official access list"
    # no reference unit rule (category or code scoped) for a unit with official text
    unit_rules = [r for rules in report.rules.values() for r in rules if r["level"] == "unit"]
    assert unit_rules and all(r["rule_id"].startswith(dataset["target"]) for r in unit_rules)
    assert all(not r["reference"] for r in unit_rules)
    assert any("control_units: official" in n for n in report.data_notice)
    # an industry the text does not ban (it even encourages electronics)
    other = check_site(SITE, industry="electronics", layers=official)
    assert other.verdict != "prohibited"
    assert rule_id not in {r["source"] for r in other.reasons}


def test_unit_text_without_access_list_and_manual_review(dataset, official) -> None:
    units = official.units().copy()
    target = units["unit_code"] == dataset["target"]
    garbled = "甲乙丙丁戊己庚辛。"
    units.loc[target, "spatial_layout"] = f"1.禁止新建电镀项目。2.{garbled}"
    layers = Layers(control_units=units)  # texts from the unit layer's own fields
    plating = check_site(SITE, industry="electroplating", layers=layers)
    assert plating.verdict == "prohibited"
    assert "禁止新建电镀项目。" in [r["text_zh"] for r in plating.reasons]
    garment = check_site(SITE, industry="garment", layers=layers)
    assert garment.verdict == "conditional"  # the unreadable clause: at least conditional
    manual = [r for r in garment.reasons if r["effect"] == "manual review"]
    assert manual and manual[0]["text_zh"] == garbled
    assert manual[0]["text_en"] == f"manual review: {garbled}"


def test_batch_uses_the_official_texts_and_screening_columns(dataset, official) -> None:
    import pandas as pd

    sites = pd.DataFrame(
        {
            "lon": [SITE[0]] * 3 + [WATER_SITE[0]] * 3,
            "lat": [SITE[1]] * 3 + [WATER_SITE[1]] * 3,
            "行业": ["化工", "electronics", "garment", "化工", "garment", "electroplating"],
        }
    )
    out = check_sites(sites, layers=official)
    assert list(out["verdict"][:2]) == ["prohibited", "allowed"]
    assert f"{dataset['target']}-spatial_layout-1" in out["reasons"].iloc[0]
    assert BAN in out["reason_texts"].iloc[0]
    cols = screening_columns("饮用水水源保护区")
    assert list(out[cols["overlap"]]) == [False, False, False, True, True, True]
    assert list(out[cols["within_buffer"]]) == [False, False, False, True, True, True]
    assert (out[cols["nearest_m"]][:3] > 1000).all()
    assert list(out[cols["share"]]) == [0.0, 0.0, 0.0, 1.0, 1.0, 1.0]  # points: 1 inside
    # a pipeline crossing the zone: the length inside, as for the red lines
    line = shapely.LineString([(WATER_SITE[0] - 0.05, WATER_SITE[1]), (WATER_SITE[0] + 0.05, WATER_SITE[1])])
    crossing = check_sites(gpd.GeoDataFrame({"industry": ["化工"]}, geometry=[line], crs=4326), layers=official)
    assert 1.5 < crossing[cols["overlap_km"]].iloc[0] < 2.5  # the zone is 0.02 degrees (about 2 km) wide
    assert crossing[cols["overlap"]].iloc[0] and crossing["verdict"].iloc[0] == "prohibited"
    # the clause table holds each unit's clauses once (the access list wins over the unit fields)
    from ganpo_geo.zoning import official_clauses

    clauses = official_clauses(official)
    assert not clauses.duplicated(["unit_code", "dimension", "clause_no"]).any()


# --------------------------------------------------------------------------- screening layers


def test_screening_layer_applies_to_named_industries(official) -> None:
    chem = check_site(WATER_SITE, industry="化工", layers=official)
    assert chem.verdict == "prohibited"
    assert "screening:饮用水水源保护区" in {r["source"] for r in chem.reasons}
    assert WATER_TEXT in [r["text_zh"] for r in chem.reasons]
    [entry] = chem.screening
    assert entry["within_buffer"] and entry["overlaps"] and entry["applies_to_industry"]
    assert entry["zones"] == "某水库饮用水水源保护区"
    garment = check_site(WATER_SITE, industry="garment", layers=official)
    assert "screening:饮用水水源保护区" not in {r["source"] for r in garment.reasons}
    assert garment.screening[0]["within_buffer"] and not garment.screening[0]["applies_to_industry"]
    # outside the zone the layer does not apply
    away = check_site(SITE, industry="electroplating", layers=official)
    assert not away.screening[0]["within_buffer"]
    assert "screening:饮用水水源保护区" not in {r["source"] for r in away.reasons}


def test_screening_buffer(official) -> None:
    screen = official.screening[0]
    near = (WATER_SITE[0] + 0.012, WATER_SITE[1])  # about 200 m outside the zone's edge
    wide = official.replace(screening=[dataclasses_replace(screen, buffer_m=1000.0)])
    assert not check_site(near, industry="化工", layers=official).screening[0]["within_buffer"]
    report = check_site(near, industry="化工", layers=wide)
    assert report.screening[0]["within_buffer"] and not report.screening[0]["overlaps"]
    assert "screening:饮用水水源保护区" in {r["source"] for r in report.reasons}


def dataclasses_replace(obj, **changes):
    import dataclasses

    return dataclasses.replace(obj, **changes)


# --------------------------------------------------------------------------- the command line


def _site_json(*extra: str, env: dict[str, str] | None = None, industry: str = "化工", where=SITE) -> dict:
    result = _cli(
        "site-check", "--lon", str(where[0]), "--lat", str(where[1]), "--industry", industry,
        "--format", "json", *extra, env=env,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_cli_site_check_with_layers_file_and_env(dataset) -> None:
    toml = str(dataset["toml"])
    by_option = _site_json("--layers", toml)
    assert by_option["verdict"] == "prohibited"
    cited = {r["source"]: r["text_zh"] for r in by_option["reasons"]}
    assert cited[f"{dataset['target']}-spatial_layout-1"] == BAN
    by_env = _site_json(env={"GANPO_LAYERS": toml})
    assert by_env["verdict"] == by_option["verdict"] and by_env["reasons"] == by_option["reasons"]
    assert by_env["units"][0]["name_zh"].endswith(OFFICIAL_MARK)
    assert _site_json("--layers", toml, industry="electronics")["verdict"] != "prohibited"
    assert _site_json()["verdict"] == "conditional"  # without layers: the bundled reference


def test_cli_batch_with_layers_has_screening_columns(dataset, tmp_path) -> None:
    csv = tmp_path / "sites.csv"
    csv.write_text(
        f"经度,纬度,行业\n{SITE[0]},{SITE[1]},化工\n{WATER_SITE[0]},{WATER_SITE[1]},电镀\n", encoding="utf-8"
    )
    out = tmp_path / "out.csv"
    result = _cli("site-check", "--input", str(csv), "--output", str(out), "--layers", str(dataset["toml"]))
    assert result.exit_code == 0, result.output
    import pandas as pd

    table = pd.read_csv(out)
    assert list(table["verdict"]) == ["prohibited", "prohibited"]
    assert list(table["screening_饮用水水源保护区_overlap"]) == [False, True]
    assert "control_units: official" in table["data_notice"].iloc[0]


def test_cli_layers_lists_official_and_reference(dataset) -> None:
    result = _cli("layers", "--layers", str(dataset["toml"]))
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines() if line.strip()}
    assert "official" in lines["control_units"] and "EPSG:4548" in lines["control_units"]
    assert str(dataset["units"]) in lines["control_units"].split()
    assert "reference" in lines["redlines"]
    assert "official" in lines["screening:饮用水水源保护区"]
    as_json = json.loads(_cli("layers", "--format", "json", env={"GANPO_LAYERS": str(dataset["toml"])}).output)
    assert {e["layer"]: e["status"] for e in as_json}["control_units"] == "official"


def test_cli_validate_with_layers_compares_the_access_list(dataset) -> None:
    result = _cli("validate", "--layers", str(dataset["toml"]))
    assert "ZH36999930001" in result.output
    assert "in the access list but not in the layer" in result.output
    assert result.exit_code == 1  # a listed code with no unit is a problem
    as_json = json.loads(_cli("validate", "--layers", str(dataset["toml"]), "--format", "json").output)
    assert as_json["access_list"]["only_in_list"] == ["ZH36999930001"]
    # a unit without requirement text is listed, never a crash
    units = gpd.read_file(dataset["shp"], encoding="GBK")
    units.loc[0, ["KJBJYS", "PWWPFGK", "HJFXFK", "ZYKFXLYQ"]] = ""
    folder = Path(dataset["toml"]).parent / "no_text"
    folder.mkdir(exist_ok=True)
    units.to_file(folder / "units.shp", encoding="GBK")
    (folder / "layers.toml").write_text('[control_units]\npath = "units.shp"\n', encoding="utf-8")
    listed = _cli("validate", "--layers", str(folder / "layers.toml"))
    assert f"1 unit(s) without requirement text (first {units.loc[0, 'HJZHGKDYBM']})" in listed.output
    no_file = _cli("validate")
    assert no_file.exit_code == 1 and "--layers" in no_file.output


def test_cli_summary_and_tp_name_the_layers(dataset) -> None:
    summary = _cli("summary", "--layers", str(dataset["toml"]))
    assert summary.exit_code == 0
    assert "layer control_units: official" in summary.output
    tp = _cli("tp", "--layers", str(dataset["toml"]), "trace", "--by", "unit", "--format", "json")
    assert tp.exit_code == 0, tp.output
    assert "layer control_units: official" in tp.output


def test_cli_site_map_draws_the_official_layers(dataset, tmp_path) -> None:
    out = tmp_path / "site.html"
    args = ["map", "site", "-o", str(out), "--lon", str(WATER_SITE[0]), "--lat", str(WATER_SITE[1])]
    result = _cli(*args, "--layers", str(dataset["toml"]))
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert OFFICIAL_MARK in page  # the official units' names
    assert "饮用水水源保护区" in page and "official 官方" in page
    by_env = tmp_path / "env.html"
    assert _cli(*args[:2], "-o", str(by_env), *args[4:], env={"GANPO_LAYERS": str(dataset["toml"])}).exit_code == 0
    assert OFFICIAL_MARK in by_env.read_text(encoding="utf-8")
    reference = tmp_path / "reference.html"
    assert (
        _cli("map", "site", "-o", str(reference), "--lon", str(WATER_SITE[0]), "--lat", str(WATER_SITE[1])).exit_code
        == 0
    )
    assert OFFICIAL_MARK not in reference.read_text(encoding="utf-8")


def test_xlsx_output_has_a_sheet_of_cited_rule_texts(dataset, tmp_path) -> None:
    import pandas as pd

    csv = tmp_path / "sites.csv"
    rows = [(SITE, "化工"), (SITE, "electronics"), (WATER_SITE, "电镀")]
    csv.write_text("经度,纬度,行业\n" + "".join(f"{p[0]},{p[1]},{i}\n" for p, i in rows), encoding="gbk")
    out = tmp_path / "out.xlsx"
    result = _cli("site-check", "--input", str(csv), "--output", str(out), "--layers", str(dataset["toml"]))
    assert result.exit_code == 0, result.output
    sheets = pd.read_excel(out, sheet_name=None)
    assert list(sheets) == ["site_check", "cited_rules"]
    assert len(sheets["site_check"]) == len(rows)
    assert list(sheets["site_check"]["行业"]) == [i for _, i in rows]
    rules = sheets["cited_rules"].set_index("rule_id")
    cited = {r for value in sheets["site_check"]["reasons"].dropna() for r in value.split(";")}
    assert set(rules.index) == {r.removesuffix("(uncertain)") for r in cited}
    assert rules.at[f"{dataset['target']}-spatial_layout-1", "text_zh"] == BAN
    assert rules.at["screening:饮用水水源保护区", "text_zh"] == WATER_TEXT


def test_export_round_trip_loses_nothing(dataset, official, tmp_path) -> None:
    out = tmp_path / "export"
    result = _cli("export", "--layers", str(dataset["toml"]), "--to", str(out))
    assert result.exit_code == 0, result.output
    assert (out / "control_units.cpg").read_text() == "GBK"
    raw = gpd.read_file(out / "control_units.shp", encoding="GBK")
    original = gpd.read_file(dataset["shp"], encoding="GBK")
    assert list(raw.columns) == list(original.columns)  # the official field names, in order
    assert raw.crs.to_epsg() == 4548
    for col in ("HJZHGKDYBM", "HJZHGKDYMC", "ZHGKDYFL", "KJBJYS", "PWWPFGK", "HJFXFK", "ZYKFXLYQ"):
        assert list(raw[col]) == list(original[col]), col
    moved = raw.geometry.to_numpy(), original.geometry.to_numpy()
    assert shapely.hausdorff_distance(*moved).max() < 0.01  # metres, after EPSG:4548 -> WGS84 -> EPSG:4548
    packaged = gpd.read_file(out / "layers.gpkg", layer="control_units")
    assert list(packaged["KJBJYS"]) == list(original["KJBJYS"])
    assert (out / "redlines_reference.shp").exists()  # the bundled red lines, labelled
    again = Layers.from_file(out / "layers.toml")
    listed = official.access_list.reset_index(drop=True)
    relisted = again.access_list.reset_index(drop=True)
    for col in ("unit_code", "name_zh", "spatial_layout", "pollutant_discharge", "environmental_risk"):
        assert list(relisted[col]) == list(listed[col]), col
    assert [s.name for s in again.screening] == ["饮用水水源保护区"]
    assert again.screening[0].industries == official.screening[0].industries
    first = check_site(SITE, industry="化工", layers=official)
    second = check_site(SITE, industry="化工", layers=again)
    assert second.verdict == first.verdict == "prohibited"
    assert BAN in [r["text_zh"] for r in second.reasons]


def test_clause_conditions_answered_by_a_screening_layer(dataset, official) -> None:
    """A clause "in a drinking-water source zone ..." is checked against the water-source layer;
    without such a layer the check cannot evaluate it and asks for manual review."""
    units = official.units().copy()
    water_unit = units.contains(shapely.Point(*WATER_SITE))
    clause = "饮用水水源二级保护区内禁止新建化工项目。"
    units.loc[water_unit, "spatial_layout"] = clause
    notice = [dataclasses_replace(official.screening[0], effect="notice")]  # the layer alone decides nothing
    with_layer = Layers(control_units=units, screening=tuple(notice))
    inside = check_site(WATER_SITE, industry="化工", layers=with_layer)
    assert inside.verdict == "prohibited" and clause in [r["text_zh"] for r in inside.reasons]
    code = units.loc[water_unit, "unit_code"].iloc[0]
    outside_zone = (WATER_SITE[0] + 0.03, WATER_SITE[1])
    assert units.loc[units["unit_code"] == code].contains(shapely.Point(*outside_zone)).iloc[0]
    outside = check_site(outside_zone, industry="化工", layers=with_layer)
    assert clause not in [r["text_zh"] for r in outside.reasons]
    without_layer = Layers(control_units=units)
    unsure = check_site(WATER_SITE, industry="化工", layers=without_layer)
    manual = [r for r in unsure.reasons if r["text_zh"] == clause]
    assert unsure.verdict == "conditional" and manual[0]["effect"] == "manual review"
    assert "in_water_source_zone" in manual[0]["text_en"]


def test_zoning_map_and_river_with_layers(dataset, tmp_path) -> None:
    out = tmp_path / "zoning.html"
    result = _cli("map", "zoning", "-o", str(out), "--layers", str(dataset["toml"]))
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert OFFICIAL_MARK in page and "Official layers in use: control_units" in page
    assert BAN in page  # the official clause in the unit's rules
    river = _cli("river", "--layers", str(dataset["toml"]), "downstream", "--lon", "115.89", "--lat", "28.68")
    assert river.exit_code == 0, river.output
    assert "layer control_units: official" in river.output
    bad = _cli("river", "--layers", str(tmp_path / "none.toml"), "downstream", "--lon", "115.89", "--lat", "28.68")
    assert bad.exit_code == 1 and "layers file not found" in bad.output


def test_province_and_city_lists_come_from_the_access_list(dataset, tmp_path) -> None:
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(
        ["层级", "地市", "环境管控单元编码", "空间布局约束", "污染物排放管控", "环境风险防控", "资源开发效率要求"]
    )
    ws.append(["省级", "", "", "禁止新建燃煤自备电厂。", "", "", ""])
    ws.append(["市级", "吉安市", "", "禁止新建制革项目。", "", "", ""])
    ws.append(["单元", "吉安市", dataset["target"], KJBJYS, "", "", ""])
    xlsx = tmp_path / "lists.xlsx"
    book.save(xlsx)
    toml = tmp_path / "layers.toml"
    toml.write_text(
        f'[control_units]\npath = "{dataset["shp"]}"\n[access_list]\npath = "lists.xlsx"\n', encoding="utf-8"
    )
    layers = Layers.from_file(toml)
    rules = layers.access_rules()
    province = rules[rules["level"] == "province"]
    assert list(province["text_zh"]) == ["禁止新建燃煤自备电厂。"]  # the bundled province list is replaced
    city = rules[(rules["level"] == "city") & (rules["scope"] == "360800")]
    assert list(city["text_zh"]) == ["禁止新建制革项目。"] and not city["reference"].any()
    assert ((rules["level"] == "city") & (rules["scope"] == "360100")).any()  # other cities: bundled
    tanning = check_site(SITE, industry="制革", layers=layers)
    assert tanning.verdict == "prohibited"
    assert "禁止新建制革项目。" in [r["text_zh"] for r in tanning.reasons]
    assert not any(r["source"].startswith("P-") for r in tanning.reasons)


def test_columns_mapping_in_the_layers_file(dataset, tmp_path) -> None:
    units = gpd.read_file(dataset["shp"], encoding="GBK").rename(columns={"HJZHGKDYBM": "DYBM", "ZHGKDYFL": "LB"})
    units.to_file(tmp_path / "units.shp", encoding="GBK")
    toml = tmp_path / "layers.toml"
    toml.write_text('[control_units]\npath = "units.shp"\ncolumns = { DYBM = "unit_code", LB = "category" }\n')
    layers = Layers.from_file(toml)
    assert dataset["target"] in set(layers.units()["unit_code"])
    assert check_site(SITE, industry="化工", layers=layers).verdict == "prohibited"
    toml.write_text('[control_units]\npath = "units.shp"\ncolumns = { BM = "unit_code" }\n')
    with pytest.raises(LayersFileError, match=r"\[control_units\].*'BM'.*columns found"):
        Layers.from_file(toml)
