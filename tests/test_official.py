"""Official data end to end: a layers TOML file, official requirement texts, screening layers."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import openpyxl
import pytest
import shapely

from ganpo_geo.layers import Layers, load_layer

#: A site in a general-control (category 3) unit of Ji'an, away from rivers and red lines, where
#: the bundled reference rules give chemical projects only ``conditional`` (U3-SL-01).
SITE = (115.727597, 27.006655)
#: A second site, inside the synthetic water-source zone drawn around it.
WATER_SITE = (115.70, 27.06)
BAN = "禁止新建化工项目。"
KJBJYS = f"1.{BAN}2.鼓励发展电子信息产业。"
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
            "HJZHGKDYMC": mine["name_zh"].to_numpy(),
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
