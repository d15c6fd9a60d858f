"""The clause compiler (parse_requirements and the verdict helpers) and the access-list reader."""

from __future__ import annotations

import re
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from openpyxl.styles import Alignment

from ganpo_geo import (
    AccessListColumnError,
    AccessListEncodingError,
    LayerFileNotFoundError,
    RequirementTextError,
    ValidationError,
    clauses_for_industry,
    compare_access_list,
    compile_access_list,
    parse_requirements,
    parse_unit_requirements,
    read_access_list,
    requirement_effect,
)
from ganpo_geo.requirements import CLAUSE_COLUMNS, CONDITION_KEYS, EFFECTS, clause_applies
from ganpo_geo.zoning import DIMENSIONS, industries, resolve_industry

LABELLED = Path(__file__).parent / "data" / "requirement_clauses.csv"


# --------------------------------------------------------------------------- the labelled set


def _labelled() -> pd.DataFrame:
    return pd.read_csv(LABELLED, dtype=str, keep_default_na=False)


def _tokens(spec: str) -> set[str]:
    if spec.startswith("all_except:"):
        return {"all_except:" + k for k in spec.removeprefix("all_except:").split(";") if k}
    return {k for k in spec.split(";") if k}


def _scores(rows: pd.DataFrame) -> dict[str, float]:
    """Effect accuracy (= micro precision = micro recall for one label per clause), micro
    precision/recall of the industry keys, and binding recall: the share of (clause, expected
    industry) pairs whose industry the parsed clause binds (via clause_applies; expected ``all``
    must be parsed as ``all``)."""
    order = {e: i for i, e in enumerate(EFFECTS)}
    right = tp = fp = fn = bound = to_bind = 0
    for row in rows.itertuples():
        parsed = parse_requirements(row.text, dimension=row.dimension)
        assert len(parsed) >= 1, row.text  # nothing is dropped
        effect = min(parsed["effect"], key=order.__getitem__)  # strongest, if a clause was split
        got = set().union(*(_tokens(s) for s in parsed["industries"]))
        want = _tokens(row.industries)
        right += effect == row.effect
        if not row.industries.startswith("all_except:") and row.industries:
            for key in want:
                to_bind += 1
                if key == "all":
                    bound += "all" in set(parsed["industries"])
                else:
                    bound += any(clause_applies(spec, key) for spec in parsed["industries"])
        tp += len(got & want)
        fp += len(got - want)
        fn += len(want - got)
    return {
        "effect": right / len(rows),
        "industries_precision": tp / (tp + fp),
        "industries_recall": tp / (tp + fn),
        "binding_recall": bound / to_bind,
    }


def test_labelled_set_is_well_formed() -> None:
    table = _labelled()
    assert len(table) >= 150
    assert set(table["dimension"]) == set(DIMENSIONS)
    assert (table.groupby("dimension").size() >= 25).all()
    assert set(table["effect"]) <= set(EFFECTS)
    assert set(table["effect"]) >= {"prohibit", "restrict", "require", "allow", "unknown"}
    assert table["split"].isin(["dev", "heldout", "heldout2", "heldout3"]).all()
    for part in ("heldout", "heldout2", "heldout3"):
        assert (table["split"] == part).sum() >= 40
    assert table["text"].is_unique
    keys = set(industries().index)
    for spec in table["industries"]:
        for token in _tokens(spec):
            assert token == "all" or token.removeprefix("all_except:") in keys, spec
    patterns = [re.compile("^" + re.escape(k).replace(re.escape("<N>"), r"\d+(p\d+)?") + "$") for k in CONDITION_KEYS]
    for spec in table["condition"]:
        for key in filter(None, spec.split(";")):
            assert any(p.match(key) for p in patterns), key


def test_precision_recall_on_the_labelled_set() -> None:
    scores = _scores(_labelled())
    assert scores["effect"] >= 0.95, scores
    assert scores["industries_precision"] >= 0.90, scores
    assert scores["industries_recall"] >= 0.90, scores
    assert scores["binding_recall"] >= 0.95, scores


def test_precision_recall_on_the_held_out_part() -> None:
    # "heldout3" was written after the current rules were frozen (27be760); measured effect 0.978,
    # industries precision 0.769, recall 0.889, binding recall 1.000 (docs/requirements.md). The floors
    # sit below those figures: they guard against regressions without tuning the rules to these clauses.
    table = _labelled()
    scores = _scores(table[table["split"] == "heldout3"])
    assert scores["effect"] >= 0.95, scores
    assert scores["industries_precision"] >= 0.70, scores
    assert scores["industries_recall"] >= 0.80, scores
    assert scores["binding_recall"] >= 0.95, scores


# --------------------------------------------------------------------------- effects


@pytest.mark.parametrize(
    ("text", "effect"),
    [
        ("禁止新建化工项目。", "prohibit"),
        ("严禁在红线内开展开发活动。", "prohibit"),
        ("园区外不得新建电镀项目。", "prohibit"),
        ("中心城区不再新建化工项目。", "prohibit"),
        ("化工项目不予审批。", "prohibit"),
        ("不允许新建造纸项目。", "prohibit"),  # a negated permission is a prohibition
        ("仅允许建设必要的线性基础设施。", "prohibit"),  # everything else is prohibited
        ("限制新建水泥项目。", "restrict"),
        ("严格控制新建燃煤火电项目。", "restrict"),
        ("原则上不得新建工业项目。", "restrict"),  # "in principle": exceptions can be approved
        ("原则上禁止人为活动。", "restrict"),
        ("不宜布局大型养殖场。", "restrict"),
        ("不鼓励发展高耗水产业。", "restrict"),
        ("现有化工企业逐步搬迁入园。", "restrict"),  # existing plants out: new ones at least restricted
        ("禁养区内现有养殖场依法关闭。", "restrict"),
        ("中心城区不再新建化工项目，现有企业逐步搬迁。", "prohibit"),  # the ban on new ones wins
        ("新建项目应达到国内先进水平。", "require"),
        ("电镀企业须执行排放标准。", "require"),
        ("造纸企业废水排放不得超过排放标准。", "require"),  # a standard, not a ban
        ("陶瓷行业清洁能源使用比例不低于90%。", "require"),
        ("未经批准不得擅自开采稀土资源。", "require"),  # needs an approval
        ("严格控制挥发性有机物排放。", "require"),  # controlling emissions is a requirement
        ("严格控制建设用地规模。", "restrict"),
        ("加强土壤污染隐患排查。", "require"),
        ("可能发生水污染事故的企业应采取措施。", "require"),  # 可能 is not 可 (allow)
        ("鼓励发展电子信息产业。", "allow"),
        ("允许建设必要的道路。", "allow"),
        ("可在合规园区内适度发展精细化工。", "allow"),
        ("依法申领排污许可证。", "require"),  # 许可 is not 可
        ("鼓励发展节水型产业，限制新建高耗水项目。", "restrict"),  # the strongest wins
        ("赣江水质目标为Ⅱ类。", "unknown"),
        ("详见南昌市总体准入清单。", "unknown"),
    ],
)
def test_effect_rules(text: str, effect: str) -> None:
    parsed = parse_requirements(text)
    assert list(parsed["effect"]) == [effect]
    assert parsed["text"].iloc[0] == text  # verbatim


def test_confidence_orders_clear_mixed_and_unknown_clauses() -> None:
    clear = parse_requirements("禁止新建化工项目。")["confidence"].iloc[0]
    weak = parse_requirements("加强监管。")["confidence"].iloc[0]
    unknown = parse_requirements("赣江水质目标为Ⅱ类。")["confidence"].iloc[0]
    assert clear > weak > unknown == 0.0


# --------------------------------------------------------------------------- industries


@pytest.mark.parametrize(
    ("text", "industries"),
    [
        ("禁止新建精细化工项目。", "chemical"),
        ("禁止新建制革、鞣革项目。", "tanning"),
        ("严格控制新建造纸、制浆项目。", "paper"),
        ("禁止新建砖瓦窑和陶瓷窑炉。", "brick_tile;ceramics"),
        ("稀土、钨等矿产资源开采必须执行总量控制。", "mining;rare_earth;tungsten"),
        ("鼓励锂电新能源产业集聚发展。", "lithium_battery"),
        ("限制新建有色金属冶炼项目。", "nonferrous_smelting"),
        ("禁止新建印染、电镀项目。", "electroplating;textile_dyeing"),
        ("禁止新建畜禽养殖场。", "livestock"),
        ("新建石化项目须入园。", "petrochemical"),
        (
            "严格限制两高项目。",
            "brick_tile;cement;ceramics;chemical;flat_glass;nonferrous_smelting;petrochemical;steel;thermal_power",
        ),
        ("涉重金属企业须建立排放台账。", "chemical;electroplating;lead_battery;mining;nonferrous_smelting;tanning"),
        ("禁止新建排放污染物的建设项目。", "all"),  # no industry named: every project
        ("禁止在湖泊、水库投肥养殖。", ""),  # an activity outside the vocabulary: no industry key
        ("稀土冶炼企业须执行稀土工业污染物排放标准。", "rare_earth"),  # bare 工业 inside a name is not "industrial"
        ("新建工业项目原则上应进入工业园区。", "industrial"),  # the park is a place, 工业项目 the project
        ("化工园区应建立三级防控体系。", "chemical"),
        ("医药企业须预处理后接入园区污水处理厂。", "pharmaceutical"),  # the receiving plant is not the project
    ],
)
def test_industry_words(text: str, industries: str) -> None:
    assert parse_requirements(text)["industries"].iloc[0] == industries


def test_exceptions() -> None:
    redline = parse_requirements("生态保护红线内除必要的线性基础设施和生态旅游外，禁止开展开发性、生产性建设活动。")
    assert redline["industries"].iloc[0] == "all_except:linear_infrastructure;tourism"
    assert redline["effect"].iloc[0] == "prohibit"
    only = parse_requirements("生态保护红线内仅允许生态旅游。")
    assert (only["effect"].iloc[0], only["industries"].iloc[0]) == ("prohibit", "all_except:tourism")
    inner = parse_requirements("严禁新建、扩建除污水处理设施以外的排污项目。")
    assert inner["industries"].iloc[0] == "all_except:wastewater_plant"
    # an exception inside the named industry narrows it but does not remove it
    chp = parse_requirements("除热电联产外，不得新建燃煤发电项目。")
    assert chp["industries"].iloc[0] == "thermal_power"
    # an exception that names no industry leaves the named ones
    assert parse_requirements("除国家重大项目外，禁止新建工业项目。")["industries"].iloc[0] == "industrial"


def test_industry_vocabulary_has_the_issue_industries() -> None:
    table = industries()
    assert table["source"].str.contains("GB/T 4754-2017").all()
    expected = {"brick_tile": "3031", "tungsten": "0931", "lithium_battery": "3841", "lead_battery": "3843",
                "hazardous_waste": "7724", "flat_glass": "3041"}  # fmt: skip
    for key, code in expected.items():
        assert table.at[key, "gbt4754"] == code
    words = {"精细化工": "chemical", "石化": "petrochemical", "鞣革": "tanning", "制浆": "paper", "砖瓦": "brick_tile",
             "钨": "tungsten", "锂电": "lithium_battery", "印染": "textile_dyeing", "电镀": "electroplating",
             "稀土": "rare_earth", "畜禽养殖": "livestock"}  # fmt: skip
    for word, key in words.items():
        assert resolve_industry(word) == key


def test_clause_applies_follows_gbt4754() -> None:
    assert clause_applies("industrial", "chemical")  # section C contains division 26
    assert clause_applies("industrial", "thermal_power")  # section D
    assert not clause_applies("industrial", "tourism")
    assert not clause_applies("industrial", "livestock")  # 03 is agriculture (A)
    assert clause_applies("mining", "tungsten")  # B contains 0931
    assert not clause_applies("tungsten", "mining")  # the narrower clause does not cover all mining
    assert clause_applies("chemical", "phosphate_chemical")  # 26 contains 2621
    assert clause_applies("all_except:tourism", "chemical")
    assert not clause_applies("all_except:tourism", "tourism")
    assert not clause_applies("all_except:industrial", "cement")
    assert not clause_applies("", "chemical")


# --------------------------------------------------------------------------- conditions


@pytest.mark.parametrize(
    ("text", "condition"),
    [
        ("禁止在长江干支流岸线一公里范围内新建化工项目。", "near_yangtze_or_tributary_1km"),
        ("禁止在长江干流岸线三公里范围内新建尾矿库。", "near_yangtze_3km"),
        ("赣江岸线1000米范围内禁止新建化工项目。", "near_main_river_1km"),
        ("信江干流1.5公里范围内限制新建造纸项目。", "near_main_river_1p5km"),
        ("鄱阳湖周边五公里范围内须执行更严格的排放限值。", "near_lake_shore_5km"),
        ("生态保护红线内禁止开发活动。", "in_redline"),
        ("饮用水水源二级保护区内禁止新建排污项目。", "in_water_source_zone"),
        ("饮用水水源保护区上游禁止新建高风险项目。", ""),  # upstream is not inside
        ("园区外不得新建化工项目。", "outside_industrial_park"),
        ("新建化工项目必须进入合规化工园区。", "outside_industrial_park"),
        ("化工园区应实施雨污分流。", "in_industrial_park"),
        ("现有企业逐步搬迁进入合规园区。", ""),  # about existing plants, not the site
        ("中心城区禁止新建燃煤锅炉。", "in_central_urban_area"),
        ("永久基本农田范围内禁止采矿。", "in_basic_farmland"),
        ("禁养区内禁止新建养殖场。", "in_livestock_ban_zone"),
        ("在总磷超标的控制单元，禁止新建排磷项目。", "tp_exceeding_basin"),
        ("不得在居民集中区布局工业项目。", ""),  # a residential cluster is not an industrial zone
        ("新建项目应达到国内先进水平。", ""),
    ],
)
def test_condition_rules(text: str, condition: str) -> None:
    assert parse_requirements(text)["condition"].iloc[0] == condition


def test_two_rivers_and_a_distance() -> None:
    cond = parse_requirements("禁止在长江干流和赣江岸线一公里范围内新建化工项目。")["condition"].iloc[0]
    assert cond.split(";") == ["near_yangtze_1km", "near_main_river_1km"]


# --------------------------------------------------------------------------- splitting and numbering


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        ("1.禁止新建化工项目。2.限制新建造纸项目。", ["1", "2"]),
        ("1、禁止新建化工项目；2、限制新建造纸项目。", ["1", "2"]),
        ("（1）禁止新建化工项目。（2）限制新建造纸项目。", ["(1)", "(2)"]),
        ("(1)禁止新建化工项目。(2)限制新建造纸项目。", ["(1)", "(2)"]),
        ("①禁止新建化工项目；②限制新建造纸项目。", ["①", "②"]),
        ("一、禁止新建化工项目。\n二、限制新建造纸项目。", ["一", "二"]),
        ("（一）禁止新建化工项目。（二）限制新建造纸项目。", ["(一)", "(二)"]),
        ("禁止新建化工项目；限制新建造纸项目。", ["1", "2"]),  # ；-separated items
        ("禁止新建化工项目\n限制新建造纸项目", ["1", "2"]),  # one item per line (Alt+Enter in Excel)
    ],
)
def test_numbering_styles(text: str, numbers: list[str]) -> None:
    parsed = parse_requirements(text)
    assert list(parsed["clause_no"]) == numbers
    assert list(parsed["effect"]) == ["prohibit", "restrict"]
    assert list(parsed["industries"]) == ["chemical", "paper"]


def test_numbers_inside_sentences_do_not_split() -> None:
    parsed = parse_requirements(
        "1.信江干流1.5公里范围内禁止新建造纸项目，2025年底前完成整治。2.中心城区禁止新建每小时35蒸吨以下燃煤锅炉。"
    )
    assert list(parsed["clause_no"]) == ["1", "2"]
    assert parsed["text"].iloc[0].startswith("信江干流1.5公里")


def test_multi_line_cell_with_wrapped_clause() -> None:
    cell = "1.禁止在长江干支流岸线一公里范围内新建、\r\n扩建化工项目。\r\n2.鼓励发展电子信息产业。"
    parsed = parse_requirements(cell)
    assert list(parsed["clause_no"]) == ["1", "2"]
    assert parsed["text"].iloc[0] == "禁止在长江干支流岸线一公里范围内新建、扩建化工项目。"
    assert parsed["condition"].iloc[0] == "near_yangtze_or_tributary_1km"


def test_nested_numbering_headings_and_lead_ins() -> None:
    text = (
        "一、空间布局约束\n1.生态保护红线内：（1）禁止开发性建设活动；（2）限制新建旅游设施。\n"
        "2.禁止新建化工项目。\n二、污染物排放管控\n1.电镀企业须执行排放标准。"
    )
    parsed = parse_requirements(text)
    assert list(parsed["clause_no"]) == ["一.1.(1)", "一.1.(2)", "一.2", "二.1"]
    assert list(parsed["dimension"]) == ["spatial_layout"] * 3 + ["pollutant_discharge"]
    assert list(parsed["condition"]) == ["in_redline", "in_redline", "", ""]  # the lead-in's condition is passed on
    assert list(parsed["effect"]) == ["prohibit", "restrict", "prohibit", "require"]


def test_nothing_is_dropped() -> None:
    text = "1.禁止新建化工项目。现有企业逐步搬迁。2.本单元为水源涵养区。3.加强监管；鼓励发展生态旅游。asdf 123"
    parsed = parse_requirements(text)
    kept = "".join(parsed["text"])
    strip = re.compile(r"\d\.|[\s。；]")
    assert strip.sub("", kept) == strip.sub("", text)
    assert "unknown" in set(parsed["effect"])
    assert list(parsed["clause_no"]) == ["1-1", "1-2", "2", "3-1", "3-2", "3-3"]  # "asdf 123" is kept too


def test_dimension_argument() -> None:
    assert set(parse_requirements("禁止新建化工项目。", dimension="空间布局约束")["dimension"]) == {"spatial_layout"}
    assert set(parse_requirements("禁止新建化工项目。", dimension="KJBJYS")["dimension"]) == {"spatial_layout"}
    assert set(parse_requirements("执行排放标准。", dimension="pollutant_discharge")["dimension"]) == {
        "pollutant_discharge"
    }
    with pytest.raises(RequirementTextError, match="unknown requirement dimension 'layout'"):
        parse_requirements("禁止新建化工项目。", dimension="layout")


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("text", [None, float("nan"), "", "   ", "无", "/", "—", "暂无"])
def test_empty_and_placeholder_texts_give_an_empty_table(text: object) -> None:
    parsed = parse_requirements(text)
    assert parsed.empty
    assert list(parsed.columns) == CLAUSE_COLUMNS


@pytest.mark.parametrize("text", [123, 4.5, ["禁止新建化工项目"], {"text": "x"}, b"\xe7\xa6\x81"])
def test_non_string_input_raises(text: object) -> None:
    with pytest.raises(RequirementTextError, match="requirement text must be a string"):
        parse_requirements(text)


@pytest.mark.parametrize("text", ["asdf#$%", "？？？", "12345", "lorem ipsum dolor"])
def test_garbage_is_kept_as_unknown(text: str) -> None:
    parsed = parse_requirements(text)
    assert len(parsed) == 1
    assert parsed["effect"].iloc[0] == "unknown"
    assert parsed["confidence"].iloc[0] == 0.0


# --------------------------------------------------------------------------- verdict helpers


def test_requirement_effect_for_a_banned_and_an_unnamed_industry() -> None:
    parsed = parse_requirements("1.禁止新建化工项目。2.鼓励发展电子信息产业。3.新建项目应达到国内先进水平。")
    chem = requirement_effect(parsed, "化工")
    assert chem.verdict == "prohibited"
    assert chem.reasons == ["prohibit: 禁止新建化工项目。"]
    assert requirement_effect(parsed, "electronics").verdict == "allowed"  # allow + a general requirement
    # a clause on chemistry applies to its sub-class (GB/T 4754 2621 in 26)
    assert requirement_effect(parsed, "phosphate_chemical").verdict == "prohibited"
    assert list(clauses_for_industry(parsed, "chemical")["clause_no"]) == ["1", "3"]


def test_unknown_clause_means_manual_review() -> None:
    parsed = parse_requirements("1.本单元为赣江水源涵养区。2.鼓励发展生态旅游。")
    result = requirement_effect(parsed, "tourism")
    assert result.verdict == "conditional"
    assert result.reasons == ["manual review: 本单元为赣江水源涵养区。"]
    # the unknown clause applies to every industry, so a prohibit elsewhere still wins
    both = pd.concat([parsed, parse_requirements("禁止新建旅游设施。")], ignore_index=True)
    assert requirement_effect(both, "tourism").verdict == "prohibited"


def test_conditions_decide_whether_a_clause_applies() -> None:
    parsed = parse_requirements("禁止在长江干支流岸线一公里范围内新建化工项目。")
    near = requirement_effect(parsed, "chemical", conditions={"near_yangtze_or_tributary_1km": True})
    far = requirement_effect(parsed, "chemical", conditions={"near_yangtze_or_tributary_1km": False})
    unknown = requirement_effect(parsed, "chemical")
    assert (near.verdict, far.verdict, unknown.verdict) == ("prohibited", "allowed", "conditional")
    assert unknown.reasons == ["if near_yangtze_or_tributary_1km: 禁止在长江干支流岸线一公里范围内新建化工项目。"]
    assert far.clauses["applies"].tolist() == [False]


def test_a_park_requirement_fails_outside_a_park() -> None:
    parsed = parse_requirements("新建化工项目必须进入依法合规设立的化工园区。")
    outside = requirement_effect(parsed, "chemical", conditions={"outside_industrial_park": True})
    inside = requirement_effect(parsed, "chemical", conditions={"outside_industrial_park": False})
    assert (outside.verdict, inside.verdict) == ("prohibited", "allowed")


def test_exceptions_in_the_verdict() -> None:
    parsed = parse_requirements("生态保护红线内除必要的线性基础设施和生态旅游外，禁止开展开发性、生产性建设活动。")
    cond = {"in_redline": True}
    assert requirement_effect(parsed, "cement", conditions=cond).verdict == "prohibited"
    assert requirement_effect(parsed, "tourism", conditions=cond).verdict == "allowed"


def test_verdict_helpers_reject_bad_input() -> None:
    with pytest.raises(ValidationError, match="unknown industry"):
        requirement_effect(parse_requirements("禁止新建化工项目。"), "no such trade")
    with pytest.raises(ValidationError, match="lack column"):
        clauses_for_industry(pd.DataFrame({"text": ["x"]}), "chemical")
    empty = requirement_effect(parse_requirements(None), "chemical")
    assert (empty.verdict, empty.severity, empty.reasons) == ("allowed", 0, [])


# --------------------------------------------------------------------------- access lists

_HEADER = [
    "环境管控单元编码",
    "管控单元名称",
    "管控单元分类",
    "空间布局约束",
    "污染物排放管控",
    "环境风险防控",
    "资源开发效率要求",
]


def _write_unit_sheet(ws: openpyxl.worksheet.worksheet.Worksheet) -> None:
    """A title row merged across, a two-row header with a merged group title, a category merged down
    over two units, a requirement text merged over two units, and multi-line cells."""
    ws.append(["南昌市环境管控单元生态环境准入清单"])
    ws.merge_cells("A1:G1")
    ws.append([*_HEADER[:3], "管控要求", "", "", ""])
    ws.append(["", "", "", *_HEADER[3:]])
    for col in "ABC":  # code, name and category headers span both header rows
        ws.merge_cells(f"{col}2:{col}3")
    ws.merge_cells("D2:G2")
    ws.append(
        [
            "ZH36010220001",
            "青山湖区重点管控单元",
            "重点管控单元",
            "1.禁止新建化工项目。\n2.现有企业逐步搬迁入园。",
            "执行排放标准。",
            "加强风险防控。",
            "无",
        ]
    )
    ws.append(["ZH36010220002", "青云谱区重点管控单元", "", "", "执行排放标准。", "", "/"])
    ws.merge_cells("C4:C5")  # category merged down
    ws.merge_cells("D5:D6")  # a requirement shared by two units
    ws["D5"] = "禁止新建造纸项目。\r\n鼓励发展电子信息产业。"
    ws.append(["ZH36010230001", "新建区一般管控单元", "一般管控单元", "", "", "", ""])
    for row in ws.iter_rows(min_row=4):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True)


def test_read_access_list_xlsx_merged_and_multi_line(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    _write_unit_sheet(book.active)
    path = tmp_path / "清单.xlsx"
    book.save(path)
    table = read_access_list(path)
    assert list(table["unit_code"]) == ["ZH36010220001", "ZH36010220002", "ZH36010230001"]
    assert list(table["category"]) == ["重点管控单元", "重点管控单元", "一般管控单元"]
    assert table["spatial_layout"].iloc[0] == "1.禁止新建化工项目。\n2.现有企业逐步搬迁入园。"
    assert (
        table["spatial_layout"].iloc[1]
        == table["spatial_layout"].iloc[2]
        == "禁止新建造纸项目。\n鼓励发展电子信息产业。"
    )
    assert set(table["level"]) == {"unit"}
    assert list(table["row"]) == [4, 5, 6]
    clauses = parse_requirements(table["spatial_layout"].iloc[1], dimension="spatial_layout")
    assert list(clauses["effect"]) == ["prohibit", "allow"]


def test_read_access_list_general_lists_as_sheets_and_level_rows(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    province = book.active
    province.title = "全省总体准入要求"
    province.append(["管控单元名称", "空间布局约束", "污染物排放管控"])
    province.append(["江西省", "禁止在长江干支流岸线一公里范围内新建化工项目。", "执行排放标准。"])
    units = book.create_sheet("单元清单")
    units.append(["层级", "环境管控单元编码", "管控单元名称", "空间布局约束"])
    units.append(["市级", "", "南昌市", "中心城区不再新建化工项目。"])
    units.append(["单元", "ZH36010220001", "青山湖区", "禁止新建电镀项目。"])
    notes = book.create_sheet("说明")
    notes.append(["本表依据……编制"])
    path = tmp_path / "lists.xlsx"
    book.save(path)
    table = read_access_list(path)
    assert list(table["level"]) == ["province", "city", "unit"]
    assert list(table["sheet"]) == ["全省总体准入要求", "单元清单", "单元清单"]
    assert table.attrs["skipped_sheets"] == ["说明"]
    one = read_access_list(path, sheet="单元清单")
    assert list(one["level"]) == ["city", "unit"]
    assert list(read_access_list(path, sheet=0)["level"]) == ["province"]
    with pytest.raises(ValidationError, match="no sheet 'nope'; sheets found: 全省总体准入要求, 单元清单, 说明"):
        read_access_list(path, sheet="nope")


def test_read_access_list_gbk_and_bom_csv(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {"环境管控单元编码": ["ZH36010220001"], "管控单元名称": ["青山湖区"], "空间布局约束": ["禁止新建化工项目。"]}
    )
    for encoding, expected in [("gbk", "gb18030"), ("utf-8-sig", "utf-8"), ("utf-8", "utf-8")]:
        path = tmp_path / f"list_{encoding}.csv"
        frame.to_csv(path, index=False, encoding=encoding)
        table = read_access_list(path)
        assert table["unit_code"].tolist() == ["ZH36010220001"]
        assert table["spatial_layout"].tolist() == ["禁止新建化工项目。"]
        assert table.attrs["encoding"] == expected


def test_read_access_list_names_the_undecodable_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes("环境管控单元编码,空间布局约束\nZH36010220001,禁止\n".encode("gbk") + b"ZH1,\xff\xff\n")
    with pytest.raises(AccessListEncodingError, match=r"line 3 has bytes that are neither UTF-8 nor GBK"):
        read_access_list(path)


def test_sheet_without_a_code_column_lists_the_columns(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    book.active.append(["单元", "空间布局约束", "备注"])
    book.active.append(["青山湖区", "禁止新建化工项目。", ""])
    path = tmp_path / "nocode.xlsx"
    book.save(path)
    with pytest.raises(
        AccessListColumnError, match=r"no unit-code column.*columns found: sheet 'Sheet': 单元, 空间布局约束, 备注"
    ):
        read_access_list(path)
    csv = tmp_path / "nocode.csv"
    csv.write_text("名字,说明\na,b\n", encoding="utf-8")
    with pytest.raises(AccessListColumnError, match="columns found"):
        read_access_list(csv)


def test_read_access_list_bad_paths(tmp_path: Path) -> None:
    with pytest.raises(LayerFileNotFoundError, match="does not exist"):
        read_access_list(tmp_path / "missing.xlsx")
    other = tmp_path / "list.json"
    other.write_text("{}", encoding="utf-8")
    with pytest.raises(ValidationError, match=r"from .xlsx or .csv, not .json"):
        read_access_list(other)
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"not a zip")
    with pytest.raises(ValidationError, match="cannot read as an Excel workbook"):
        read_access_list(broken)


def test_compare_access_list(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    _write_unit_sheet(book.active)
    path = tmp_path / "清单.xlsx"
    book.save(path)
    table = read_access_list(path)
    layer = pd.DataFrame({"unit_code": ["ZH36010220001", "ZH36010220002", "ZH36010299999"]})
    result = compare_access_list(table, layer)
    assert result.only_in_list == ["ZH36010230001"]
    assert result.only_in_layer == ["ZH36010299999"]
    assert result.matched == 2
    assert result.without_text == []
    assert not result.ok
    assert result.to_dict()["only_in_list"] == ["ZH36010230001"]
    table.loc[2, "spatial_layout"] = ""
    assert compare_access_list(table, table["unit_code"]).without_text == ["ZH36010230001"]
    dup = pd.concat([table, table.iloc[[0]]], ignore_index=True)
    assert compare_access_list(dup, table["unit_code"]).duplicated == ["ZH36010220001"]
    clean = table.iloc[:2]
    assert compare_access_list(clean, clean["unit_code"].str.lower()).ok  # codes compare case-insensitively
    with pytest.raises(AccessListColumnError, match="no unit_code column; columns found: code"):
        compare_access_list(table, pd.DataFrame({"code": ["x"]}))
    with pytest.raises(ValidationError, match="must be a table with a unit_code column or a list of codes"):
        compare_access_list(table, 5)


# --------------------------------------------------------------------------- whole units and lists


def test_parse_unit_requirements_takes_official_and_chinese_field_names() -> None:
    parsed = parse_unit_requirements(
        {"ZYKFXLYQ": "新建项目应达到国内先进水平。", "KJBJYS": "1.禁止新建化工项目。2.鼓励发展电子信息产业。",
         "污染物排放管控": "无", "unit_code": "ZH36010220001", "环境风险防控": None}
    )  # fmt: skip
    assert list(parsed["dimension"]) == ["spatial_layout", "spatial_layout", "resource_efficiency"]
    assert list(parsed["effect"]) == ["prohibit", "allow", "require"]
    assert parse_unit_requirements({"name": "x"}).empty


def test_compile_access_list(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    _write_unit_sheet(book.active)
    path = tmp_path / "清单.xlsx"
    book.save(path)
    clauses = compile_access_list(read_access_list(path))
    first = clauses[clauses["unit_code"] == "ZH36010220001"]
    assert list(first["dimension"]) == ["spatial_layout", "spatial_layout", "pollutant_discharge", "environmental_risk"]
    assert list(first["effect"]) == ["prohibit", "restrict", "require", "require"]
    assert set(clauses["level"]) == {"unit"}
    # the text merged over two units gives both of them the clauses
    shared = clauses[clauses["text"] == "禁止新建造纸项目。"]
    assert sorted(shared["unit_code"]) == ["ZH36010220002", "ZH36010230001"]
    verdict = requirement_effect(clauses[clauses["unit_code"] == "ZH36010230001"], "paper")
    assert verdict.verdict == "prohibited"
    with pytest.raises(AccessListColumnError, match="none of the four requirement columns"):
        compile_access_list(pd.DataFrame({"unit_code": ["x"]}))
    assert compile_access_list(pd.DataFrame({"unit_code": ["x"], "spatial_layout": ["无"]})).empty
