"""Official requirement texts: the clause compiler and the access-list spreadsheet reader.

An access list (生态环境准入清单) states, for the province, each city and each control unit, its
requirements in four dimensions (空间布局约束 / 污染物排放管控 / 环境风险防控 / 资源开发效率要求)
as free Chinese text. :func:`parse_requirements` splits such a text into clauses and reads each
one with a small documented rule set (the constants below and ``data/zoning/clause_terms.csv``):
its effect (prohibit / restrict / require / allow / unknown), the industries it speaks of (keys of
:func:`ganpo_geo.zoning.industries`) and the spatial conditions a siting check can evaluate.
:func:`requirement_effect` turns a parsed table into a verdict for one industry.
:func:`read_access_list` reads the lists as Excel writes them (.xlsx with merged and multi-line
cells, CSV in UTF-8, UTF-8 with BOM or GBK); :func:`compare_access_list` matches them to the units.

The rules are heuristics over the vocabulary of published lists, measured on a labelled set
(``tests/data/requirement_clauses.csv``; see docs/requirements.md). A clause they cannot read is
kept with ``effect="unknown"`` and makes a verdict at least ``conditional`` ("manual review").

Examples
--------
>>> from ganpo_geo.requirements import parse_requirements, requirement_effect
>>> parsed = parse_requirements("1.禁止新建化工项目。2.鼓励发展电子信息产业。")
>>> list(parsed["effect"])
['prohibit', 'allow']
>>> requirement_effect(parsed, "化工").verdict
'prohibited'
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from ganpo_geo._errors import (
    AccessListColumnError,
    AccessListEncodingError,
    LayerFileNotFoundError,
    RequirementTextError,
    ValidationError,
)
from ganpo_geo._layerfiles import data_path
from ganpo_geo.vocabulary import DIMENSIONS, industries, resolve_industry

__all__ = [
    "ACCESS_LIST_FIELDS",
    "CLAUSE_COLUMNS",
    "CONDITION_KEYS",
    "EFFECTS",
    "AccessListComparison",
    "RequirementEffect",
    "clause_applies",
    "clauses_for_industry",
    "compare_access_list",
    "compile_access_list",
    "parse_requirements",
    "parse_unit_requirements",
    "read_access_list",
    "requirement_effect",
]

#: Effects a clause can have, strongest first (``unknown``: the rules could not read it).
EFFECTS = ("prohibit", "restrict", "require", "allow", "unknown")
#: Columns of :func:`parse_requirements`.
CLAUSE_COLUMNS = ["clause_no", "text", "effect", "industries", "condition", "confidence", "dimension"]

#: Condition keys: spatial conditions under which a clause applies. ``near_<feature>_<N>km`` takes any
#: distance written in the clause (一公里, 1 km, 1000米 ...); the usual ones are listed.
CONDITION_KEYS: dict[str, str] = {
    "in_redline": "inside an ecological protection red line (生态保护红线)",
    "in_protected_area": "inside a nature reserve or other protected area (自然保护区/自然保护地/风景名胜区/"
    "森林公园/湿地公园/地质公园/重要湿地)",
    "in_water_source_zone": "inside a drinking-water source protection zone (饮用水水源一级/二级/准保护区, 水源地)",
    "near_yangtze_or_tributary_1km": "within 1 km of the shoreline of the Yangtze main stem or its tributaries "
    "(长江干支流岸线一公里; the five rivers count as tributaries)",
    "near_yangtze_<N>km": "within N km of the Yangtze (长江干流/长江岸线/长江沿岸 ... N公里)",
    "near_main_river_<N>km": "within N km of a main river (赣江/抚河/信江/饶河/修河/五河/昌江/乐安河 ... 干流 N公里)",
    "near_lake_shore_<N>km": "within N km of a lake shore (鄱阳湖/湖体/湖岸线/湖泊 ... N公里)",
    "in_river_management_zone": "inside a river or lake management zone (河道管理范围/河湖管理范围/岸线保护区)",
    "outside_industrial_park": "outside a lawfully established industrial park (园区外; also 须入园/进入…园区: "
    "the clause is not met outside a park)",
    "in_industrial_park": "inside an industrial park or cluster zone (园区内/在…园区/集中区)",
    "in_central_urban_area": "inside a central urban or built-up area (中心城区/主城区/城市建成区/城区)",
    "in_basic_farmland": "inside permanent basic farmland (永久基本农田/基本农田)",
    "in_livestock_ban_zone": "inside a livestock no-farming zone (禁养区)",
    "tp_exceeding_basin": "in a basin or control unit whose total phosphorus exceeds its target (总磷超标/不达标)",
}
#: A ``require`` clause with one of these conditions holding is not met by the site (e.g. "须进入园区"
#: for a site outside any park), so it weighs like a prohibition.
REQUIRE_FAILS_WHEN = frozenset({"outside_industrial_park"})

# --------------------------------------------------------------------------- effect vocabulary
# Patterns run on an NFKC-normalised copy of the clause (full-width punctuation becomes ASCII).

#: Standards phrased with a negation are requirements, not prohibitions ("不得超过排放标准").
STANDARD_NEGATION = re.compile(r"不(?:得|应|能)?(?:低于|高于|超过|少于|大于|小于)")
#: "未经批准不得..." needs an approval: a requirement (only with 不得/不准, not with 禁止/严禁).
UNAPPROVED = re.compile(r"未(?:经|取得|完成|通过|落实|依法|批准)[^。;]{0,20}?(?:不得|不准)")
#: Negated permissions and hedged prohibitions.
NEGATED_ALLOW_PROHIBIT = re.compile(r"不允许|不准许|不予(?:审批|批准|核准|许可|备案|受理)")
NEGATED_ALLOW_RESTRICT = re.compile(r"不鼓励|不支持|不提倡")
#: "仅允许/只允许/仅限": everything else is prohibited.
ONLY_ALLOW = re.compile(r"仅允许|只允许|仅限|仅可")
#: "原则上" before a prohibition softens it to a restriction (exceptions can be approved).
IN_PRINCIPLE = re.compile(r"原则上[^,。;]{0,4}?(?:禁止|不得|不再|不准|不予|不能|不应|严禁|不)")
PROHIBIT = re.compile(
    r"禁止|严禁|不得|不准|一律不|杜绝|不应|不能|不再(?:新建|新增|扩建|审批|布局|建设|引进|批准|规划)|不予"
)
RESTRICT = re.compile(r"限制|严格限制|严控|从严(?:审批|控制|把关)|审慎|慎重|不宜|压减|控制[^,。;]{0,8}?规模")
#: "严格控制" restricts projects, but controlling emissions or totals is a requirement.
STRICT_CONTROL = re.compile(r"(?:严格控制|从严控制)([^,。;]{0,16})")
STRICT_CONTROL_PROJECTS = re.compile(r"新建|扩建|布局|发展|规模|开发|项目|产能|企业")
STRICT_CONTROL_AMOUNTS = re.compile(r"排放|总量|用水|用量|消费|浓度|排污")
#: Existing plants ordered to move, exit or close: new ones are at least restricted.
EXIT = re.compile(r"搬迁|退出|关闭|关停|取缔|迁出|迁建")
REQUIRE_STRONG = re.compile(r"应当|应|须|必须|需|务必|落实|执行|实行|实施|确保|达到|完成")
#: Verbs that make a clause a requirement only when nothing stronger (or a permission) is present;
#: 符合/满足/要求 are often qualifiers ("符合产业定位的项目", "无特殊要求").
REQUIRE_WEAK = re.compile(
    r"加强|推进|推动|开展|建立|健全|完善|提高|提升|采用|设置|淘汰|改造|整治|规范|强化|优化|保障|严格|加快|"
    r"削减|替代|控制|治理|修复|监测|收集|处理|利用|符合|满足|按照|配套|申领|纳入|要求|引导|促进|推广|防范|防止|"
    r"保持|建成|遵循|降低|减少"
)
#: "本单元无特殊要求": a statement that there is nothing to apply.
NO_REQUIREMENT = re.compile(
    r"^(?:本单元|该单元|本区域)?(?:暂)?无(?:特殊|其他|具体|特别)?[^,。;]{0,12}(?:要求|约束|规定)"
)
ALLOW = re.compile(r"鼓励|允许|支持|准许|可以|优先发展|适度发展|有序发展|(?<![许认不])可(?!能|行|靠|持续|视|养)")
#: What a permission encourages ("鼓励…实施改造") is not itself a requirement: masked up to the next comma.
ALLOW_SCOPE = re.compile(r"(?:鼓励|允许|支持|准许|可以|(?<![许认不])可(?!能|行|靠|持续|视|养))[^,;。]*")

# --------------------------------------------------------------------------- condition vocabulary

_CN_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
DISTANCE = re.compile(r"(\d+(?:\.\d+)?|[一二两三四五六七八九十]{1,3})\s*(公里|千米|km|KM|米|m)(?![a-zA-Z²2])")
_FEATURES = (  # (feature key, pattern), first match wins for each distance
    ("yangtze_or_tributary", re.compile(r"长江干支流|长江及其支流|长江干流及(?:其)?支流")),
    ("yangtze", re.compile(r"长江")),
    ("main_river", re.compile(r"赣江|抚河|信江|饶河|修河|五河|昌江|乐安河|袁河|锦江|章江|贡江|干流")),
    ("lake_shore", re.compile(r"鄱阳湖|湖体|湖岸|湖泊|湖区|湖滨")),
)
_AREA_CONDITIONS = (  # (condition key, pattern)
    ("in_redline", re.compile(r"生态保护红线|生态红线")),
    (
        "in_protected_area",
        re.compile(r"自然保护区|自然保护地|风景名胜区|森林公园|湿地公园|地质公园|重要湿地|世界(?:自然)?遗产"),
    ),
    (  # upstream/downstream of a source zone is not inside it
        "in_water_source_zone",
        re.compile(
            r"(?:饮用水)?水源(?:地)?(?:[一二]级|准)?(?:、[一二]级)?保护区(?!上游|下游)|饮用水水源地(?!上游|下游)"
        ),
    ),
    ("in_river_management_zone", re.compile(r"河道管理范围|河湖管理范围|湖泊管理范围|岸线保护区")),
    ("in_central_urban_area", re.compile(r"中心城区|主城区|城市建成区|建成区|老城区|城区(?!外)")),
    ("in_basic_farmland", re.compile(r"基本农田")),
    ("in_livestock_ban_zone", re.compile(r"禁养区")),
    ("tp_exceeding_basin", re.compile(r"总磷(?:超标|不达标|未达标)|总磷[^,。;]{0,8}超标")),
)
_PARK = r"(?:园区|集中区|集聚区|工业区|开发区)"
OUTSIDE_PARK = re.compile(
    rf"{_PARK}(?:外|以外|之外)|入园|进入[^,。;]{{0,14}}?{_PARK}|未进入{_PARK}|"
    rf"(?:应|须|必须|需|要)(?:布局|布设|建设|设立|位于|安排|集中)(?:在|于|到)[^,。;]{{0,14}}?{_PARK}"
)
INSIDE_PARK = re.compile(
    rf"{_PARK}内|(?:在|于)[^,。;]{{0,10}}?{_PARK}(?!外|以外|之外)|^[^,。;]{{0,6}}{_PARK}(?!外|以外|之外)|"
    rf"{_PARK}(?:应|须|必须|要)"
)
#: Park mentions that describe moving existing plants, not the site's location.
_EXISTING_INTO_PARK = re.compile(rf"(?:搬迁|退城)[^,。;]{{0,6}}(?:入园|进入[^,。;]{{0,10}}{_PARK})")
_NOT_A_PARK = re.compile(r"居民集中区|人口集中区|周边居民区|居住区|(?:核心)?景区(?:内|范围)")
#: Receiving facilities named as infrastructure, not as the project (masked before reading industries).
_INFRASTRUCTURE = re.compile(
    rf"(?:接入|排入|进入|纳入|依托|达到|送至|送入)[^,。;]{{0,8}}?污水处理(?:厂|设施)|"
    rf"配套建设[^,。;]{{0,8}}?污水处理(?:厂|设施)|"
    rf"(?:工业|产业)?{_PARK}"
)

# --------------------------------------------------------------------------- industries vocabulary

#: Industry names read only inside longer terms: bare 工业 is part of "稀土工业污染物排放标准",
#: so ``industrial`` comes from 工业项目/工业企业/工业用水 ... (clause_terms.csv).
_BARE_TERMS_SKIPPED = frozenset({"工业"})
#: "除 X 外" / "除 X 以外": X is an exception.
_EXCEPT = re.compile(r"除([^,。;]{1,40}?)(?:以外|之外|外)")


@cache
def _industry_terms() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """(term, industry keys) pairs, longest term first: names and Chinese aliases from the industries
    table, plus the compiler's groups, synonyms and out-of-vocabulary activities (clause_terms.csv)."""
    terms: dict[str, tuple[str, ...]] = {}
    for row in industries().itertuples():
        for word in [row.name_zh, *row.aliases.split(";")]:
            word = word.strip()
            if word and re.search(r"[\u4e00-\u9fff]", word) and word not in _BARE_TERMS_SKIPPED:
                terms.setdefault(word, (row.industry,))
    extra = pd.read_csv(data_path("zoning/clause_terms.csv"), dtype=str, keep_default_na=False)
    for row in extra.itertuples():
        terms[row.term] = tuple(k for k in row.industries.split(";") if k)
    return tuple(sorted(terms.items(), key=lambda kv: -len(kv[0])))


#: Groups implied by what a clause's projects emit, used only when it names no industry.
_IMPLIED = (
    (
        re.compile(r"排放[^,。;]{0,12}重金属"),
        ("chemical", "electroplating", "lead_battery", "mining", "nonferrous_smelting", "tanning"),
    ),
)


def _find_industries(text: str) -> tuple[list[str], bool]:
    """Industry keys named in ``text`` (longest terms first, each character used once) and whether
    an out-of-vocabulary activity was named."""
    found: list[str] = []
    other = False
    taken = [False] * len(text)
    for term, keys in _industry_terms():
        start = text.find(term)
        while start >= 0:
            end = start + len(term)
            if not any(taken[start:end]):
                taken[start:end] = [True] * len(term)
                if keys:
                    found.extend(k for k in keys if k not in found)
                else:
                    other = True
            start = text.find(term, end)
    return found, other


def _mask(text: str, pattern: re.Pattern[str]) -> str:
    return pattern.sub(lambda m: "□" * len(m.group(0)), text)


def _industries_of(text: str) -> str:
    """The ``industries`` value of one clause: keys, ``all``, ``all_except:...`` or ``""``."""
    masked = _mask(_mask(text, _NOT_A_PARK), _INFRASTRUCTURE)
    only = ONLY_ALLOW.search(masked)
    if only:  # "仅允许 X": everything but X
        keys, _ = _find_industries(masked[only.end() :])
        return "all_except:" + ";".join(sorted(keys)) if keys else "all"
    excepted: list[str] = []
    exc = _EXCEPT.search(masked)
    if exc:
        excepted, _ = _find_industries(exc.group(1))
        masked = masked[: exc.start()] + "□" * (exc.end() - exc.start()) + masked[exc.end() :]
    keys, other = _find_industries(masked)
    if not keys:
        for pattern, implied in _IMPLIED:
            if pattern.search(masked):
                keys = list(implied)
    if keys:
        kept = [k for k in keys if k not in excepted]
        return ";".join(sorted(kept or keys))
    if other:
        return ""
    if excepted:
        return "all_except:" + ";".join(sorted(excepted))
    return "all"


def _distance_km(number: str, unit: str) -> float:
    value = float(number) if number[0].isdigit() else _cn_number(number)
    return value / 1000.0 if unit in ("米", "m") else value


def _cn_number(text: str) -> float:
    if text == "十":
        return 10.0
    if text.startswith("十"):
        return 10.0 + _CN_DIGITS.get(text[1:], 0)
    if "十" in text:
        tens, _, ones = text.partition("十")
        return _CN_DIGITS[tens] * 10.0 + (_CN_DIGITS[ones] if ones else 0)
    return float(_CN_DIGITS[text[0]])


def _km_label(km: float) -> str:
    return f"{km:g}".replace(".", "p") + "km"


def _conditions_of(text: str) -> list[str]:
    """Condition keys of one clause, in :data:`CONDITION_KEYS` order of discovery."""
    text = _mask(_mask(text, _NOT_A_PARK), _EXISTING_INTO_PARK)
    text_for_park = _mask(text, re.compile(r"(?:接入|排入|纳入|依托)[^,。;]{0,8}?污水处理(?:厂|设施)"))
    found: list[str] = []
    for match in DISTANCE.finditer(text):
        before = text[max(0, match.start() - 40) : match.start()]
        before = re.split(r"[。;]", before)[-1]
        km = _distance_km(match.group(1), match.group(2))
        for key, pattern in _FEATURES:
            if pattern.search(before):
                if key == "yangtze_or_tributary":
                    cond = f"near_yangtze_or_tributary_{_km_label(km)}"
                    found.append(cond)
                    break
                found.append(f"near_{key}_{_km_label(km)}")
                if key == "yangtze" and re.search(r"赣江|抚河|信江|饶河|修河|五河", before):
                    found.append(f"near_main_river_{_km_label(km)}")
                break
    for key, pattern in _AREA_CONDITIONS:
        if pattern.search(text):
            found.append(key)
    if OUTSIDE_PARK.search(text_for_park):
        found.append("outside_industrial_park")
    elif INSIDE_PARK.search(text_for_park):
        found.append("in_industrial_park")
    return list(dict.fromkeys(found))


def _effect_of(text: str) -> tuple[str, float]:
    """(effect, confidence) of one clause (NFKC text)."""
    strong_require = bool(STANDARD_NEGATION.search(text))
    t = STANDARD_NEGATION.sub("〇", text)
    unapproved = UNAPPROVED.search(t)
    if unapproved and not re.search(r"禁止|严禁", t):
        t = t.replace(unapproved.group(0), "〇")
        strong_require = True
    found: set[str] = set()
    if NEGATED_ALLOW_PROHIBIT.search(t) or ONLY_ALLOW.search(t):
        found.add("prohibit")
    if NEGATED_ALLOW_RESTRICT.search(t):
        found.add("restrict")
    t = NEGATED_ALLOW_RESTRICT.sub("〇", NEGATED_ALLOW_PROHIBIT.sub("〇", t))
    hedged = bool(IN_PRINCIPLE.search(t))
    if hedged:
        found.add("restrict")
        t = IN_PRINCIPLE.sub("〇", t)
    if PROHIBIT.search(t):
        found.add("prohibit")
    for match in STRICT_CONTROL.finditer(t):
        obj = match.group(1)
        if STRICT_CONTROL_AMOUNTS.search(obj) and not STRICT_CONTROL_PROJECTS.search(obj):
            found.add("require")
        else:
            found.add("restrict")
    t = STRICT_CONTROL.sub("〇", t)
    if RESTRICT.search(t):
        found.add("restrict")
    exit_only = bool(EXIT.search(t)) and "prohibit" not in found
    allow = bool(ALLOW.search(t))
    if allow:
        t = ALLOW_SCOPE.sub("〇", t)
    if NO_REQUIREMENT.search(t) and not found:
        return "unknown", 0.0
    if strong_require or REQUIRE_STRONG.search(t):
        found.add("require")
    weak = bool(REQUIRE_WEAK.search(t))
    if "prohibit" in found:
        effect = "prohibit"
    elif exit_only and not allow:
        return "restrict", 0.7
    elif "restrict" in found:
        effect = "restrict"
    elif "require" in found:
        effect = "require"
    elif allow:
        effect = "allow"
    elif weak:
        return "require", 0.6
    else:
        return "unknown", 0.0
    confidence = 0.9 - 0.15 * (len(found | ({"allow"} if allow else set())) > 1) - 0.1 * hedged
    return effect, round(confidence, 2)


def _read_clause(text: str, inherited: list[str]) -> dict[str, Any]:
    norm = unicodedata.normalize("NFKC", text)
    effect, confidence = _effect_of(norm)
    conditions = list(dict.fromkeys([*inherited, *_conditions_of(norm)]))
    return {
        "effect": effect,
        "industries": _industries_of(norm),
        "condition": ";".join(conditions),
        "confidence": confidence,
    }


# --------------------------------------------------------------------------- splitting

_PLACEHOLDERS = {"", "无", "/", "-", "—", "——", "－", "暂无", "无要求", "nan", "none", "null", "n/a", "na"}
_MARKER = re.compile(
    r"(?:^|(?<=[\n。；;：:]))[ \t\u3000]*"
    r"(?P<m>[（(][ \t]*(?:\d{1,2}|[一二三四五六七八九十]{1,3})[ \t]*[)）]"
    r"|[一二三四五六七八九十]{1,3}[、．.]"
    r"|\d{1,2}(?:\.\d{1,2})*(?:[.、．](?!\d)|[)）]))"
    r"|(?P<c>[①-⑳])"
)
_SENTENCE_END = re.compile(r"(?<=[。；;！!？?])")
_CONTINUES = re.compile(r"[，,、：:（(《“]$")


def _dimension_key(value: Any) -> str:
    text = str(value).strip()
    for key, (zh, en, code) in DIMENSIONS.items():
        if text.lower() in (key, en, code.lower()) or text == zh or (len(text) >= 4 and zh.startswith(text)):
            return key
    names = ", ".join(f"{k} ({v[0]})" for k, v in DIMENSIONS.items())
    msg = f"unknown requirement dimension {value!r}; use one of {names}"
    raise RequirementTextError(msg)


def _heading_dimension(text: str) -> str | None:
    core = re.sub(r"[：:\s]", "", text)
    for key, (zh, _en, _code) in DIMENSIONS.items():
        if core in (zh, zh.removesuffix("要求"), zh.removesuffix("约束"), zh.removesuffix("管控")):
            return key
    return None


def _marker_token(match: re.Match[str]) -> str:
    raw = (match.group("m") or match.group("c")).strip()
    raw = unicodedata.normalize("NFKC", raw)  # circled numbers become digits; keep them as written
    if match.group("c"):
        return match.group("c")
    if raw.startswith("("):
        return "(" + raw.strip("() ") + ")"
    return raw.rstrip(".、)")


def _marker_style(token: str) -> str:
    if token.startswith("("):
        return "paren-cn" if re.search(r"[一二三四五六七八九十]", token) else "paren"
    if token in "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳":
        return "circled"
    if re.match(r"[一二三四五六七八九十]", token):
        return "cn"
    return f"num{token.count('.')}"


def _sentences(body: str) -> list[str]:
    """Split one item into sentences: at 。；！？ and at line breaks that end a line without a comma."""
    lines = [ln.strip() for ln in body.split("\n")]
    joined: list[str] = []
    for ln in lines:
        if not ln:
            continue
        if joined and _CONTINUES.search(joined[-1]):
            joined[-1] += ln
        else:
            joined.append(ln)
    out: list[str] = []
    for ln in joined:
        for piece in _SENTENCE_END.split(ln):
            piece = piece.strip()
            if not piece:
                continue
            if out and not re.search(r"\w", piece):  # bare punctuation stays with its sentence
                out[-1] += piece
            else:
                out.append(piece)
    return out


def _lead_in(sentence: str) -> tuple[str, str]:
    """("生态保护红线内", "禁止…") when a sentence opens with a short lead-in ending in a colon."""
    match = re.match(r"^([^：:。；;]{1,30})[：:](.*)$", sentence, flags=re.S)
    if match and _effect_of(unicodedata.normalize("NFKC", match.group(1)))[0] not in ("prohibit", "restrict"):
        return match.group(1), match.group(2)
    return "", sentence


def _empty_table() -> pd.DataFrame:
    table = pd.DataFrame({c: pd.Series(dtype=float if c == "confidence" else object) for c in CLAUSE_COLUMNS})
    return table


def parse_requirements(text: Any, *, dimension: str | None = None) -> pd.DataFrame:
    """Split a requirement text into clauses and read each one's effect, industries and conditions.

    Numbered items ("1." "1、" "（1）" "(一)" "①" "一、", nested in any order) are clauses; items and
    unnumbered text are further split into sentences at 。；！？ and at line breaks (a line ending in
    a comma or 顿号 continues on the next one, as in a wrapped Excel cell). A heading naming a
    dimension (e.g. "一、空间布局约束") sets the dimension of the clauses under it; a short lead-in
    ending in a colon ("生态保护红线内：") passes its conditions to the clauses after it.

    Each clause is read with the rules documented in docs/requirements.md:

    - ``effect``: ``prohibit`` (禁止/严禁/不得/不再新建/不予审批/不允许/仅允许…), ``restrict``
      (限制/严格控制 projects/原则上不/不宜/不鼓励, and existing plants ordered to move or exit:
      现有…搬迁/退出/关闭), ``require`` (应/须/必须/落实/执行/实行/达到; standards such as 不得超过;
      未经批准不得; 严格控制 emissions or totals; and weak verbs such as 加强/推进 when nothing stronger
      is present), ``allow`` (鼓励/允许/支持/可) or ``unknown`` (none of these). The strongest wins.
    - ``industries``: keys of :func:`ganpo_geo.zoning.industries` named by the clause (names, aliases
      and the groups/synonyms of ``data/zoning/clause_terms.csv``, e.g. 两高, 涉重金属), ``;``-joined
      and sorted; ``all`` when it names none (it speaks of every project); ``all_except:a;b`` for
      "除 a、b 外…" and "仅允许 a、b"; ``""`` when it names only an activity outside the vocabulary
      (e.g. 水产养殖, 光伏).
    - ``condition``: ``;``-joined keys of :data:`CONDITION_KEYS` (``""`` when none).
    - ``confidence``: 0.9 for one clear effect word, lower for mixed or weak cues, 0 for unknown.

    Nothing is dropped: every sentence is a row; one the rules cannot read has ``effect="unknown"``.

    Parameters
    ----------
    text : str or None
        The requirement text of one cell. ``None``, NaN, empty text and placeholders ("无", "/",
        "—", "暂无") give an empty table.
    dimension : str, optional
        The dimension of the whole text: a key of :data:`ganpo_geo.zoning.DIMENSIONS`, its Chinese
        name, English name or official field name (KJBJYS ...). Headings in the text override it.

    Returns
    -------
    pandas.DataFrame
        ``clause_no`` (marker as written, nested with ``.``, e.g. ``"1"``, ``"2.(1)"``, ``"①"``;
        unnumbered sentences are numbered ``"1"``, ``"2"`` ... in order and several sentences of one
        item ``"3-1"``, ``"3-2"``), ``text`` (verbatim, line breaks inside a clause removed),
        ``effect``, ``industries``, ``condition``, ``confidence``, ``dimension``.

    Raises
    ------
    RequirementTextError
        ``text`` is not a string (e.g. a number or a list), or ``dimension`` is unknown.
    """
    rows = _clause_rows(text, dimension)
    if not rows:
        return _empty_table()
    return pd.DataFrame([dict(zip(CLAUSE_COLUMNS, r, strict=True)) for r in rows], columns=CLAUSE_COLUMNS)


def _clause_rows(text: Any, dimension: str | None) -> tuple[tuple[Any, ...], ...]:
    """Rows of :func:`parse_requirements` as tuples in :data:`CLAUSE_COLUMNS` order (checks the input)."""
    base_dimension = _dimension_key(dimension) if dimension is not None else ""
    if text is None or (isinstance(text, float) and pd.isna(text)):
        return ()
    if not isinstance(text, str):
        msg = f"requirement text must be a string, got {type(text).__name__} {text!r:.60}; pass the cell's text"
        raise RequirementTextError(msg)
    return _clause_rows_cached(text, base_dimension)


@lru_cache(maxsize=4096)
def _clause_rows_cached(text: str, base_dimension: str) -> tuple[tuple[Any, ...], ...]:
    """The compiler proper; cached because access lists repeat the same texts across units."""
    clean = text.replace("_x000D_", "").replace("\r\n", "\n").replace("\r", "\n").strip()
    if clean.lower() in _PLACEHOLDERS:
        return ()

    # items: (chain of marker tokens, body)
    items: list[tuple[list[str], str]] = []
    styles: list[str] = []
    chain: list[str] = []
    pos = 0
    pending: list[str] = []
    for match in _MARKER.finditer(clean):
        body = clean[pos : match.start()]
        if body.strip() or pos == 0:
            items.append((list(pending), body))
        token = _marker_token(match)
        style = _marker_style(token)
        if style in styles:
            level = styles.index(style)
            styles = styles[:level]
            chain = chain[:level]
        styles.append(style)
        chain.append(token)
        pending = list(chain)
        pos = match.end()
    items.append((list(pending), clean[pos:]))

    rows: list[dict[str, Any]] = []
    heading_dims: dict[tuple[str, ...], str] = {}
    lead_conditions: dict[tuple[str, ...], list[str]] = {}
    counter = 0
    for marks, body in items:
        sentences = _sentences(body)
        if not sentences:
            continue
        key = tuple(marks)
        dim = base_dimension
        inherited: list[str] = []
        for n in range(len(key), -1, -1):  # nearest heading / lead-in of an ancestor
            if key[:n] in heading_dims and dim == base_dimension:
                dim = heading_dims[key[:n]]
            if key[:n] in lead_conditions and n < len(key):
                inherited = lead_conditions[key[:n]] + inherited
        if len(sentences) == 1 and marks and (hd := _heading_dimension(sentences[0])):
            heading_dims[key] = hd
            continue
        local: list[str] = []
        emitted: list[tuple[str, list[str]]] = []
        for sentence in sentences:
            lead, rest = _lead_in(sentence)
            if lead:
                local = _conditions_of(unicodedata.normalize("NFKC", lead))
                if not rest.strip():
                    if marks:
                        lead_conditions[key] = local
                    continue
            emitted.append((sentence, [*inherited, *local]))
        for j, (sentence, conds) in enumerate(emitted, start=1):
            if marks:
                number = ".".join(marks) + (f"-{j}" if len(emitted) > 1 else "")
            else:
                counter += 1
                number = str(counter)
            rows.append({"clause_no": number, "text": sentence, **_read_clause(sentence, conds), "dimension": dim})
    return tuple(tuple(r[c] for c in CLAUSE_COLUMNS) for r in rows)


def parse_unit_requirements(texts: Mapping[str, Any]) -> pd.DataFrame:
    """Parse the four requirement texts of one unit (or one general list) into one clause table.

    Parameters
    ----------
    texts : mapping
        ``{dimension: text}``; a dimension may be a key of :data:`ganpo_geo.zoning.DIMENSIONS`, its
        Chinese name or its official field name (``KJBJYS`` ...), so a row of official units or of
        :func:`read_access_list` can be passed as is (other keys are ignored).

    Returns
    -------
    pandas.DataFrame
        :func:`parse_requirements` rows of the four dimensions in the standard order, ``dimension`` set.
    """
    found: dict[str, Any] = {}
    for name, value in texts.items():
        try:
            key = _dimension_key(name)
        except RequirementTextError:
            continue
        found.setdefault(key, value)
    rows = [r for k in DIMENSIONS if k in found for r in _clause_rows(found[k], k)]
    if not rows:
        return _empty_table()
    return pd.DataFrame(rows, columns=CLAUSE_COLUMNS)


def compile_access_list(access_list: pd.DataFrame) -> pd.DataFrame:
    """All clauses of an access list, one row per clause, keyed by level and unit.

    Parameters
    ----------
    access_list : pandas.DataFrame
        Output of :func:`read_access_list`, or any table with ``unit_code`` and some of the four
        dimension columns (e.g. official control units from :func:`ganpo_geo.zoning.load_control_units`).

    Returns
    -------
    pandas.DataFrame
        ``level``, ``unit_code``, ``name_zh``, ``city`` (where the table has them) and the
        :func:`parse_requirements` columns. Rows without any text give no clauses.
    """
    keys = [c for c in ("level", "unit_code", "name_zh", "city") if c in access_list.columns]
    dims = [c for c in _DIMENSION_COLUMNS if c in access_list.columns]
    if not dims:
        cols = ", ".join(str(c) for c in access_list.columns if c != "geometry")
        msg = f"the table has none of the four requirement columns ({', '.join(_DIMENSION_COLUMNS)}); columns: {cols}"
        raise AccessListColumnError(msg)
    rows: list[tuple[Any, ...]] = []
    for record in access_list[keys + dims].itertuples(index=False, name=None):
        head = record[: len(keys)]
        for dim, text in zip(dims, record[len(keys) :], strict=True):
            rows.extend(head + clause for clause in _clause_rows(text, dim))
    return pd.DataFrame(rows, columns=keys + CLAUSE_COLUMNS)


# --------------------------------------------------------------------------- verdict helpers

_SECTIONS = {  # GB/T 4754-2017 sections and their two-digit divisions
    "A": (1, 5), "B": (6, 12), "C": (13, 43), "D": (44, 46), "E": (47, 50), "F": (51, 52), "G": (53, 60),
    "H": (61, 62), "I": (63, 65), "J": (66, 69), "K": (70, 70), "L": (71, 72), "M": (73, 75), "N": (76, 79),
    "O": (80, 82), "P": (83, 83), "Q": (84, 85), "R": (86, 90), "S": (91, 96), "T": (97, 97),
}  # fmt: skip


def _code_covers(broad: str, narrow: str) -> bool:
    """Whether GB/T 4754 code ``broad`` (section letter or numeric prefix) contains ``narrow``."""
    if broad in _SECTIONS:
        if narrow in _SECTIONS:
            return broad == narrow
        lo, hi = _SECTIONS[broad]
        return narrow[:2].isdigit() and lo <= int(narrow[:2]) <= hi
    return narrow.isdigit() and narrow.startswith(broad)


def _covers(clause_key: str, industry: str) -> bool:
    """A clause naming ``clause_key`` applies to ``industry`` (equal, or a broader GB/T 4754 class)."""
    if clause_key == industry:
        return True
    table = industries()
    if clause_key not in table.index or industry not in table.index:
        return False
    broad = table.at[clause_key, "gbt4754"].split(";")
    narrow = table.at[industry, "gbt4754"].split(";")
    return any(_code_covers(b, n) for b in broad for n in narrow)


def clause_applies(industries: str, industry: str) -> bool:
    """Whether a clause's ``industries`` value applies to a project of ``industry`` (a key).

    ``all`` applies to every industry; ``all_except:a;b`` to all but a and b (and their
    sub-classes); a list to its keys and to industries they contain by GB/T 4754 code (a clause on
    ``industrial``, sections B-D, applies to ``chemical``; one on ``mining`` to ``tungsten``);
    ``""`` to none.

    Parameters
    ----------
    industries : str
        The clause's ``industries`` value.
    industry : str
        An industry key.

    Returns
    -------
    bool
    """
    spec = str(industries).strip()
    if spec == "all":
        return True
    if spec.startswith("all_except:"):
        return not any(_covers(k, industry) for k in spec.removeprefix("all_except:").split(";") if k)
    return any(_covers(k, industry) for k in spec.split(";") if k)


def clauses_for_industry(parsed: pd.DataFrame, industry: str) -> pd.DataFrame:
    """The clauses of a parsed table that apply to one industry (see :func:`clause_applies`).

    Parameters
    ----------
    parsed : pandas.DataFrame
        Output of :func:`parse_requirements` (or several concatenated).
    industry : str
        An industry key, or a name/alias :func:`ganpo_geo.zoning.resolve_industry` knows (化工 ...).

    Returns
    -------
    pandas.DataFrame
        The applicable rows, in order. ``unknown`` clauses always apply (they must be read by a person).

    Raises
    ------
    ValidationError
        An unknown industry, or a table without the ``industries`` and ``effect`` columns.
    """
    missing = [c for c in ("industries", "effect") if c not in parsed.columns]
    if missing:
        msg = f"parsed clauses lack column(s) {', '.join(missing)}; pass the output of parse_requirements()"
        raise ValidationError(msg)
    key = resolve_industry(industry)
    mask = [
        e == "unknown" or clause_applies(s, key) for s, e in zip(parsed["industries"], parsed["effect"], strict=True)
    ]
    return parsed[pd.Series(mask, index=parsed.index, dtype=bool)]


#: Severity of an applicable clause (3 prohibited, 2 conditional, 1 allowed), as in the siting verdict table.
_SEVERITY = {"prohibit": 3, "restrict": 2, "require": 2, "allow": 1, "unknown": 2}
_VERDICTS = {3: "prohibited", 2: "conditional", 1: "allowed", 0: "allowed"}


@dataclass
class RequirementEffect:
    """Verdict of a parsed requirement table for one industry (see :func:`requirement_effect`).

    Attributes
    ----------
    verdict : str
        ``prohibited``, ``conditional`` or ``allowed``.
    severity : int
        3, 2 or 1 (0 when no clause applies).
    reasons : list of str
        One line per clause that made the verdict conditional or prohibited, citing it verbatim:
        ``"prohibit: <clause>"``, ``"if in_redline: <clause>"``, ``"manual review: <clause>"``.
    clauses : pandas.DataFrame
        The applicable clauses with ``applies`` (True, False, or None when a condition is unknown).
    """

    verdict: str
    severity: int
    reasons: list[str] = field(default_factory=list)
    clauses: pd.DataFrame = field(default_factory=_empty_table)


def requirement_effect(
    parsed: pd.DataFrame, industry: str, *, conditions: Mapping[str, bool] | None = None
) -> RequirementEffect:
    """The verdict a parsed requirement table gives one industry at one site.

    Severity of each applicable clause (the strictest wins, as in the siting verdict table):
    ``prohibit`` 3; ``restrict`` 2; ``require`` 2 when it names industries or a condition, else 1
    (general requirements such as "执行排放标准" do not make a site conditional); a ``require`` whose
    condition is in :data:`REQUIRE_FAILS_WHEN` and holds (须入园, site outside a park) 3; ``allow`` 1;
    ``unknown`` 2 with the reason ``"manual review: <clause>"``. A clause whose condition is false
    does not apply; one whose condition is not given in ``conditions`` applies at most as
    ``conditional`` with the reason ``"if <condition>: <clause>"``.

    Parameters
    ----------
    parsed : pandas.DataFrame
        Output of :func:`parse_requirements` (one or several texts concatenated).
    industry : str
        Industry key or name.
    conditions : mapping, optional
        ``{condition key: bool}`` for the site, e.g. ``{"in_redline": False, "near_yangtze_or_tributary_1km":
        True}``. Missing keys are unknown.

    Returns
    -------
    RequirementEffect
    """
    conditions = dict(conditions or {})
    applicable = clauses_for_industry(parsed, industry).copy()
    severity = 0
    reasons: list[str] = []
    applies_col: list[bool | None] = []
    for row in applicable.itertuples():
        keys = [c for c in str(row.condition).split(";") if c]
        states = [conditions.get(k) for k in keys]
        if any(s is False for s in states):
            applies_col.append(False)
            continue
        known = all(s is True for s in states)
        applies_col.append(True if known else None)
        specific = bool(keys) or row.industries != "all"
        sev = _SEVERITY[row.effect]
        if row.effect == "require" and not specific:
            sev = 1
        if row.effect == "require" and known and REQUIRE_FAILS_WHEN.intersection(keys):
            sev = 3
        if not known:
            sev = min(sev, 2)
        severity = max(severity, sev)
        if sev >= 2:
            if row.effect == "unknown":
                reasons.append(f"manual review: {row.text}")
            elif not known:
                unknown_keys = ";".join(k for k, s in zip(keys, states, strict=True) if s is None)
                reasons.append(f"if {unknown_keys}: {row.text}")
            else:
                reasons.append(f"{row.effect}: {row.text}")
    applicable["applies"] = pd.Series(applies_col, index=applicable.index, dtype=object)
    return RequirementEffect(_VERDICTS[severity], severity, reasons, applicable)


# --------------------------------------------------------------------------- access-list spreadsheets

#: Column names recognised in access lists, in order of preference, for each standard column.
ACCESS_LIST_FIELDS: dict[str, list[str]] = {
    "unit_code": [
        "unit_code", "HJZHGKDYBM", "环境管控单元编码", "管控单元编码", "单元编码", "DYBM", "编码", "单元代码",
    ],
    "name_zh": ["name_zh", "HJZHGKDYMC", "环境管控单元名称", "管控单元名称", "单元名称", "DYMC", "名称"],
    "category": [
        "category", "ZHGKDYFL", "环境管控单元分类", "管控单元分类", "管控单元类别", "单元分类", "管控类别",
        "类别", "分类",
    ],
    "level": ["level", "层级", "清单层级", "级别", "清单级别", "管控层级"],
    "city": ["CITY", "市", "地市", "设区市", "所属地市", "城市"],
    "county": ["AREA", "区县", "县区", "县（市、区）", "所属区县"],
    "spatial_layout": ["spatial_layout", "KJBJYS", "空间布局约束", "空间布局"],
    "pollutant_discharge": ["pollutant_discharge", "PWWPFGK", "污染物排放管控", "污染排放"],
    "environmental_risk": ["environmental_risk", "HJFXFK", "环境风险防控", "风险防控"],
    "resource_efficiency": ["resource_efficiency", "ZYKFXLYQ", "资源开发效率要求", "资源开发效率", "资源效率"],
}  # fmt: skip
_DIMENSION_COLUMNS = ("spatial_layout", "pollutant_discharge", "environmental_risk", "resource_efficiency")
_LEVEL_TEXT = {
    "province": ("省", "省级", "全省", "省级总体", "province"),
    "city": ("市", "市级", "设区市", "地市", "市级总体", "city"),
    "unit": ("单元", "管控单元", "环境管控单元", "unit"),
}


def _norm_header(value: Any) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    return re.sub(r"\s+", "", str(value).replace("_x000D_", ""))


def _match_columns(headers: list[str]) -> dict[int, str]:
    """{column position: standard name} for recognised headers (first preference wins)."""
    lower = [h.lower() for h in headers]
    out: dict[int, str] = {}
    for target, candidates in ACCESS_LIST_FIELDS.items():
        for cand in candidates:
            hits = [i for i, h in enumerate(lower) if h == cand.lower() and i not in out]
            if hits:
                out[hits[0]] = target
                break
    return out


def _clean_cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).replace("_x000D_", "").replace("\r\n", "\n").replace("\r", "\n").strip()


def _sheet_level(name: str) -> str | None:
    if re.search(r"全省|省级|省总体", name):
        return "province"
    if re.search(r"市级|市总体|总体准入|全市", name):
        return "city"
    return None


def _row_level(value: str) -> str | None:
    text = value.strip().lower()
    for level, words in _LEVEL_TEXT.items():
        if text in words:
            return level
    if "省" in text:
        return "province"
    if "市" in text:
        return "city"
    if "单元" in text:
        return "unit"
    return None


def _table_from_grid(grid: list[list[str]], sheet: str, path: Path) -> tuple[pd.DataFrame | None, list[str]]:
    """Standardised rows of one sheet (None when no header row is recognised) and the headers seen."""
    header_row = None
    best = 0
    for i, row in enumerate(grid[:15]):
        matched = _match_columns([_norm_header(v) for v in row])
        score = len(matched) + 2 * ("unit_code" in matched.values())
        if score > best and len(matched) >= 2:
            header_row, best = i, score
    if header_row is None:
        seen = next((r for r in grid if any(c for c in r)), [])
        return None, [c for c in seen if c]
    headers = [_norm_header(v) for v in grid[header_row]]
    if header_row > 0:  # a two-row header: blanks under a merged group title take the title
        headers = [h or _norm_header(grid[header_row - 1][j]) for j, h in enumerate(headers)]
    mapping = _match_columns(headers)
    names = [mapping.get(j, h or f"column_{j + 1}") for j, h in enumerate(headers)]
    records = []
    for r, row in enumerate(grid[header_row + 1 :], start=header_row + 2):
        if not any(row):
            continue
        if [_norm_header(v) for v in row] == headers:  # a repeated header row
            continue
        rec: dict[str, Any] = dict(zip(names, row, strict=False))
        rec["sheet"] = sheet
        rec["row"] = r
        records.append(rec)
    table = pd.DataFrame(records, columns=[*dict.fromkeys(names), "sheet", "row"])
    table.attrs["headers"] = [h for h in headers if h]
    return table, [h for h in headers if h]


def _xlsx_grids(path: Path, sheet: str | int | None) -> dict[str, list[list[str]]]:
    import openpyxl  # lazy on purpose: heavy, only .xlsx access lists need it

    try:
        book = openpyxl.load_workbook(path, data_only=True)
    except Exception as exc:  # openpyxl raises several types for broken files
        msg = f"{path}: cannot read as an Excel workbook ({type(exc).__name__}: {exc}); save it as .xlsx"
        raise ValidationError(msg) from exc
    names = book.sheetnames
    if sheet is not None:
        if isinstance(sheet, int):
            if not 0 <= sheet < len(names):
                msg = f"{path}: no sheet number {sheet}; the workbook has {len(names)}: {', '.join(names)}"
                raise ValidationError(msg)
            names = [names[sheet]]
        elif sheet not in names:
            msg = f"{path}: no sheet {sheet!r}; sheets found: {', '.join(names)}"
            raise ValidationError(msg)
        else:
            names = [sheet]
    grids: dict[str, list[list[str]]] = {}
    for name in names:
        ws = book[name]
        grid = [[_clean_cell(v) for v in row] for row in ws.iter_rows(values_only=True)]
        for rng in ws.merged_cells.ranges:  # Excel keeps a merged value in the top-left cell only
            top = grid[rng.min_row - 1][rng.min_col - 1] if rng.min_row - 1 < len(grid) else ""
            for r in range(rng.min_row - 1, min(rng.max_row, len(grid))):
                for c in range(rng.min_col - 1, rng.max_col):
                    if c < len(grid[r]):
                        grid[r][c] = top
        grids[name] = grid
    return grids


def _decode(raw: bytes, path: Path) -> tuple[str, str]:
    """Text and encoding name of a CSV: UTF-8 (with or without BOM), else GB18030 (covers GBK)."""
    try:
        return raw.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("gb18030"), "gb18030"
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        msg = (
            f"{path}: line {line} has bytes that are neither UTF-8 nor GBK/GB18030 (byte offset {exc.start}); "
            "re-save the file as UTF-8 or GBK"
        )
        raise AccessListEncodingError(msg) from exc


def _csv_grid(path: Path) -> tuple[list[list[str]], str]:
    text, encoding = _decode(path.read_bytes(), path)
    frame = pd.read_csv(io.StringIO(text), header=None, dtype=str, keep_default_na=False, sep=None, engine="python")
    return [[_clean_cell(v) for v in row] for row in frame.itertuples(index=False)], encoding


def read_access_list(path: str | Path, *, sheet: str | int | None = None) -> pd.DataFrame:
    """Read an access list (生态环境准入清单) from .xlsx or .csv into one standard table.

    Recognised columns (official, Chinese and English names; see :data:`ACCESS_LIST_FIELDS`):
    unit code (环境管控单元编码, HJZHGKDYBM ...), unit name, category (管控单元分类), level
    (层级: 省级/市级/单元), city, county, and the four requirement texts (空间布局约束 KJBJYS,
    污染物排放管控 PWWPFGK, 环境风险防控 HJFXFK, 资源开发效率要求 ZYKFXLYQ). Title rows above the
    header and a two-row header (a merged "管控要求" over the four dimensions) are handled.
    Merged cells take the value Excel shows (top-left) in every cell they cover; multi-line cells
    keep their line breaks (``_x000D_`` and CR removed). CSV files may be UTF-8, UTF-8 with BOM
    or GBK/GB18030 (detected).

    The province and city general lists may be rows (with a level column, or rows without a unit
    code whose name says 全省/…市) or sheets of their own (named e.g. "全省总体", "南昌市总体准入").

    Parameters
    ----------
    path : path
        ``.xlsx``/``.xlsm`` or ``.csv``/``.txt``.
    sheet : str or int, optional
        Read one sheet (name or 0-based position); default all sheets.

    Returns
    -------
    pandas.DataFrame
        ``level`` (province / city / unit), ``unit_code`` ("" for general lists), ``name_zh``,
        ``category``, ``city``, ``county``, the four dimension columns (``spatial_layout``,
        ``pollutant_discharge``, ``environmental_risk``, ``resource_efficiency``; "" where absent),
        ``sheet``, ``row`` (spreadsheet row number, 1-based) and any other columns as found.
        ``attrs["encoding"]`` names a CSV's encoding.

    Raises
    ------
    LayerFileNotFoundError
        No such file.
    AccessListColumnError
        A unit-level sheet with no recognisable unit-code column (the message lists the columns found).
    AccessListEncodingError
        A CSV that is neither UTF-8 nor GBK (the message names the line).
    ValidationError
        Another file type, a missing sheet, or a file that is not a workbook.
    """
    path = Path(path)
    if not path.exists():
        msg = (
            f"access list {path} does not exist; check the path (relative paths resolve against the current directory)"
        )
        raise LayerFileNotFoundError(msg)
    suffix = path.suffix.lower()
    encoding = None
    if suffix in (".xlsx", ".xlsm"):
        grids = _xlsx_grids(path, sheet)
    elif suffix in (".csv", ".txt"):
        grid, encoding = _csv_grid(path)
        grids = {path.stem: grid}
    else:
        msg = f"{path}: access lists are read from .xlsx or .csv, not {suffix or 'a file without extension'}"
        raise ValidationError(msg)

    tables = []
    problems = []
    for name, grid in grids.items():
        table, headers = _table_from_grid(grid, name, path)
        sheet_level = _sheet_level(name)
        if table is None:
            if any(any(r) for r in grid):
                problems.append((name, headers, False))  # e.g. a notes sheet: fatal only if nothing else reads
            continue
        if "unit_code" not in table.columns and "level" not in table.columns and not sheet_level:
            problems.append((name, headers, True))
            continue
        for col in ("level", "unit_code", "name_zh", "category", "city", "county", *_DIMENSION_COLUMNS):
            if col not in table.columns:
                table[col] = ""
        levels = []
        for rec in table.itertuples():
            level = _row_level(rec.level) if rec.level else None
            if level is None and sheet_level and not rec.unit_code:
                level = sheet_level
            if level is None:
                if rec.unit_code:
                    level = "unit"
                elif "全省" in rec.name_zh or rec.name_zh.startswith("江西省"):
                    level = "province"
                elif re.search(r"市(?:总体|级|$)", rec.name_zh):
                    level = "city"
                else:
                    level = "unit"
            levels.append(level)
        table["level"] = levels
        table["unit_code"] = table["unit_code"].str.strip().str.upper()
        tables.append(table)
    fatal = [p for p in problems if p[2]]
    if fatal or not tables:
        found = "; ".join(f"sheet {s!r}: {', '.join(h) if h else '(no header)'}" for s, h, _ in fatal or problems)
        names = ", ".join(ACCESS_LIST_FIELDS["unit_code"][1:5])
        msg = (
            f"{path}: no unit-code column (looked for {names}, ...) and no level column; columns found: "
            f"{found or '(empty file)'}; rename the code column to 环境管控单元编码"
        )
        raise AccessListColumnError(msg)
    out = pd.concat(tables, ignore_index=True) if len(tables) > 1 else tables[0]
    front = ["level", "unit_code", "name_zh", "category", "city", "county", *_DIMENSION_COLUMNS, "sheet", "row"]
    out = out[front + [c for c in out.columns if c not in front]].fillna("")
    out.attrs["source"] = str(path)
    out.attrs["encoding"] = encoding
    out.attrs["skipped_sheets"] = [s for s, _h, _f in problems]
    return out


@dataclass
class AccessListComparison:
    """Unit codes of an access list matched against a control-unit layer.

    Attributes
    ----------
    only_in_list : list of str
        Codes in the list with no unit in the layer.
    only_in_layer : list of str
        Units of the layer with no row in the list.
    matched : int
        Codes in both.
    without_text : list of str
        Unit codes in the list whose four requirement texts are all empty.
    duplicated : list of str
        Codes listed more than once.
    """

    only_in_list: list[str]
    only_in_layer: list[str]
    matched: int
    without_text: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every code matches and every listed unit has text."""
        return not (self.only_in_list or self.only_in_layer or self.without_text or self.duplicated)

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form (JSON-ready)."""
        return {
            "only_in_list": self.only_in_list,
            "only_in_layer": self.only_in_layer,
            "matched": self.matched,
            "without_text": self.without_text,
            "duplicated": self.duplicated,
            "ok": self.ok,
        }


def _codes(values: Any, what: str) -> list[str]:
    if isinstance(values, pd.DataFrame):
        if "unit_code" not in values.columns:
            cols = ", ".join(str(c) for c in values.columns if c != "geometry")
            msg = f"{what} has no unit_code column; columns found: {cols}"
            raise AccessListColumnError(msg)
        values = values["unit_code"]
    if isinstance(values, str) or not isinstance(values, Iterable):
        msg = f"{what} must be a table with a unit_code column or a list of codes, not {type(values).__name__}"
        raise ValidationError(msg)
    return [str(v).strip().upper() for v in values if v is not None and str(v).strip() and str(v) != "nan"]


def compare_access_list(access_list: pd.DataFrame, control_units: Any) -> AccessListComparison:
    """Which unit codes are in the access list but not in the layer, and the reverse.

    Parameters
    ----------
    access_list : pandas.DataFrame
        Output of :func:`read_access_list` (general-list rows without a unit code are ignored).
    control_units : GeoDataFrame, DataFrame or iterable of str
        The units (a ``unit_code`` column) or their codes.

    Returns
    -------
    AccessListComparison
    """
    table = access_list
    if "level" in table.columns:
        table = table[table["level"].eq("unit")]
    listed = _codes(table, "access list")
    layer = set(_codes(control_units, "control units"))
    listed_set = set(listed)
    counts = pd.Series(listed, dtype=object).value_counts()
    present = [c for c in _DIMENSION_COLUMNS if c in table.columns]
    without = []
    if present:
        texts = table[present].fillna("").astype(str).apply(lambda col: col.str.strip())
        empty = texts.eq("").all(axis=1) | texts.isin(sorted(_PLACEHOLDERS)).all(axis=1)
        without = sorted(set(table.loc[empty, "unit_code"].astype(str).str.strip().str.upper()) - {""})
    return AccessListComparison(
        only_in_list=sorted(listed_set - layer),
        only_in_layer=sorted(layer - listed_set),
        matched=len(listed_set & layer),
        without_text=without,
        duplicated=sorted(counts[counts > 1].index.tolist()),
    )
