"""Printable site reports: one self-contained, offline, bilingual HTML page per site, and its PDF.

A report (:func:`to_html`) has a header with the verdict and the site, a map of the site (the
offline folium map of :func:`ganpo_geo.maps.site_map`: units, red lines, screening layers, the
nearest river and the way down to Hukou), a table of screening questions answered yes / no /
uncertain with distances, the rules cited per dimension with their text and legal basis, the
reasons for the verdict, warnings and data notices, and the provenance of every layer used
(source, licence, derivation), with the date and the ganpo_geo version.

``lang="zh"`` or ``"en"`` translates every label of the page; data values (unit names, rule
texts, place names) are shown as they are stored and marked ``class="data"``. The page prints on
A4 (``@page`` rules, no table row split over two pages); :func:`write_pdf` prints it through
headless Chromium (Playwright). :func:`write_html_dir` writes one report per site of a batch
and an ``index.html``, for at most :data:`MAX_HTML_ROWS` sites.

Every text that comes from data is HTML-escaped. Files are written atomically.
"""

from __future__ import annotations

import datetime as _dt
import html
import os
import re
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ganpo_geo import __version__
from ganpo_geo import maps as _maps
from ganpo_geo._errors import GanpoError, ValidationError
from ganpo_geo.io import atomic_path, write_text
from ganpo_geo.layers import Layers, bundled_layers, layer_info
from ganpo_geo.siting import SiteReport, check_site
from ganpo_geo.zoning import DIMENSIONS

__all__ = [
    "LANGS",
    "MAX_HTML_ROWS",
    "PdfUnavailableError",
    "batch_reports",
    "label",
    "to_html",
    "write_html",
    "write_html_dir",
    "write_pdf",
]

#: Languages of the report's labels.
LANGS = ("zh", "en")
#: Most sites ``--html-dir`` writes reports for (each holds a map of about 1 MB and takes about
#: a second): filter a bigger input first.
MAX_HTML_ROWS = 200
#: Bundled layers every site check reads (besides the zoning layers of :meth:`Layers.describe`).
CHECK_LAYERS = ("counties", "cities", "lakes", "reaches", "catchments", "stations")


class PdfUnavailableError(GanpoError, RuntimeError):
    """PDF output needs Playwright and a Chromium it can start."""


# every label of the page, (Chinese, English)
_LABELS: dict[str, tuple[str, str]] = {
    "title": ("建设项目选址环境准入筛查报告", "Site screening report: environmental zoning and access"),
    "verdict": ("选址结论", "Verdict"),
    "prohibited": ("禁止", "Prohibited"),
    "conditional": ("有条件准入", "Conditional"),
    "allowed": ("允许", "Allowed"),
    "site": ("拟选址", "Site"),
    "industry": ("行业", "Industry"),
    "geometry": ("几何类型", "Geometry"),
    "Point": ("点", "point"),
    "MultiPoint": ("多点", "multipoint"),
    "LineString": ("线（管线）", "line (pipeline)"),
    "MultiLineString": ("多线", "multiline"),
    "Polygon": ("面（厂区）", "polygon (footprint)"),
    "MultiPolygon": ("多面", "multipolygon"),
    "location": ("所在行政区", "Administrative location"),
    "crs": ("输入坐标系", "Input CRS"),
    "buffer": ("筛查缓冲区", "Screening buffer"),
    "coords": ("坐标（WGS84）", "Coordinates (WGS84)"),
    "generated": ("生成时间", "Generated"),
    "software": ("软件版本", "Software"),
    "map": ("选址位置图", "Map of the site"),
    "map_title": ("选址检查", "Site check"),
    "questions": ("筛查问题", "Screening questions"),
    "question": ("问题", "Question"),
    "answer": ("结论", "Answer"),
    "detail": ("说明与距离", "Details and distances"),
    "yes": ("是", "yes"),
    "no": ("否", "no"),
    "uncertain": ("不确定", "uncertain"),
    "q_redline": ("是否压占生态保护红线？", "Inside an ecological protection red line?"),
    "q_redline_buffer": ("缓冲区内是否有生态保护红线？", "A red line within the screening buffer?"),
    "q_units": ("位于哪些环境管控单元？", "Which environmental control units?"),
    "q_shore": (
        "是否在受保护岸线一公里范围内（长江保护法第二十六条）？",
        "Within 1 km of a protected shoreline (Yangtze River Protection Law art. 26)?",
    ),
    "q_tp": ("是否位于总磷超标流域？", "In a basin where total phosphorus exceeds its target?"),
    "q_offset": ("是否需要总磷等量或倍量替代？", "Is a TP offset required?"),
    "q_river": ("最近河流及至鄱阳湖、湖口距离", "Nearest river, distance to Poyang Lake and Hukou"),
    "q_screen": ("是否位于筛查图层范围内：", "Inside the screening layer:"),
    "nearest": ("最近距离", "nearest"),
    "overlap": ("压占面积", "overlap"),
    "share": ("占比", "share"),
    "zones": ("红线区", "zones"),
    "category": ("类别", "category"),
    "cat1": ("优先保护单元", "priority protection"),
    "cat2": ("重点管控单元", "key control"),
    "cat3": ("一般管控单元", "general control"),
    "bank": ("最近受保护岸线", "nearest protected bank"),
    "no_bank": (
        "一公里（含数据位置误差）内无受保护岸线",
        "no protected shoreline within 1 km plus the data's positional error",
    ),
    "pos_err": ("位置误差", "positional uncertainty"),
    "basin": ("流域", "basin"),
    "status": ("状态", "status"),
    "via_reach": ("经最近河段的入湖总磷占比", "share of the lake's TP inflow passing the nearest reach"),
    "river": ("河流", "river"),
    "distance": ("距离", "distance"),
    "to_poyang": ("至鄱阳湖", "to Poyang Lake"),
    "to_hukou": ("至湖口", "to Hukou"),
    "stations": ("下游断面", "stations downstream"),
    "effect": ("效力", "effect"),
    "industries": ("适用行业", "industries"),
    "applies_industry": ("适用于本行业", "applies to this industry"),
    "no_river": ("未找到河段", "no reach found"),
    "rules": ("引用的准入规则（按维度）", "Access rules cited, by dimension"),
    "rule": ("编号", "Rule"),
    "level": ("层级", "Level"),
    "condition": ("条件", "Condition"),
    "applies": ("适用", "Applies"),
    "text": ("规则内容", "Text"),
    "basis": ("依据", "Legal basis"),
    "reference_rule": ("参考规则（合成示例，非官方）", "reference rule (synthesized, not official)"),
    "no_rules": ("无", "none"),
    "reasons": ("结论理由", "Reasons for the verdict"),
    "no_reasons": ("无限制性规则", "no restricting rule"),
    "warnings": ("注意事项", "Warnings"),
    "notices": ("数据说明", "Data notices"),
    "provenance": ("所用数据图层及来源", "Layers used and their provenance"),
    "layer": ("图层", "Layer"),
    "layer_status": ("性质", "Status"),
    "source": ("来源", "Source"),
    "licence": ("许可", "Licence"),
    "derivation": ("制作方法", "Derivation"),
    "features": ("要素数", "Features"),
    "official": ("官方（用户提供）", "official (user's file)"),
    "reference": ("参考数据（合成，非官方）", "reference data (synthesized, not official)"),
    "bundled": ("内置公开数据", "bundled public data"),
    "disclaimer": (
        "本报告为初步筛查结果，不替代环境影响评价及主管部门的正式审查意见。",
        "This report is a preliminary screening; it does not replace an environmental impact "
        "assessment or the competent authority's decision.",
    ),
    "prohibit": ("禁止", "prohibit"),
    "restrict": ("限制", "restrict"),
    "require": ("要求", "require"),
    "allow": ("允许", "allow"),
    "met": ("满足", "met"),
    "not met": ("不满足", "not met"),
    "province": ("省级", "province"),
    "city": ("市级", "city"),
    "unit": ("单元", "unit"),
    "index_title": ("选址筛查报告目录", "Site screening reports"),
    "row": ("行", "Row"),
    "report": ("报告", "Report"),
    "error": ("无法检查", "Could not be checked"),
    "open": ("打开", "open"),
    "page": ("页", "page"),
}
for _key, (_zh, _en, _code) in DIMENSIONS.items():
    _LABELS[_key] = (_zh, _en[0].upper() + _en[1:])

_CSS = """
body { font-family: "Noto Sans CJK SC", "WenQuanYi Micro Hei", "Microsoft YaHei", sans-serif;
       font-size: 10.5pt; color: #222; max-width: 190mm; margin: 1em auto; line-height: 1.4; }
h1 { font-size: 16pt; margin: 0 0 .3em; }
h2 { font-size: 12.5pt; border-bottom: 2px solid #446; margin: 1.2em 0 .4em; break-after: avoid; }
h3 { font-size: 11pt; margin: .8em 0 .3em; break-after: avoid; }
table { border-collapse: collapse; width: 100%; margin: .3em 0; }
th, td { border: 1px solid #bbb; padding: 3px 5px; vertical-align: top; text-align: left; }
th { background: #eef0f4; }
tr { break-inside: avoid; }
.verdict { display: inline-block; padding: .25em .8em; border-radius: 4px; color: #fff; font-weight: bold;
           font-size: 14pt; }
.v-prohibited { background: #d7301f; } .v-conditional { background: #e08214; } .v-allowed { background: #1a9641; }
.a-yes { color: #b2182b; font-weight: bold; } .a-no { color: #1a7837; } .a-uncertain { color: #b35806;
           font-weight: bold; }
.notice { background: #fff3cd; border: 1px solid #e0c36b; padding: .4em .6em; margin: .3em 0; }
.warning { background: #fde0dd; border: 1px solid #e08a8a; padding: .4em .6em; margin: .3em 0; }
.meta td:first-child, .meta th { width: 28%; }
.map { width: 100%; height: 115mm; border: 1px solid #999; break-inside: avoid; }
.small { font-size: 8.5pt; color: #555; }
.section { break-inside: auto; }
.keep { break-inside: avoid; }
@page { size: A4; margin: 14mm 12mm; }
@media print {
  body { max-width: none; margin: 0; }
  .map { height: 110mm; }
  h2 { break-after: avoid; }
  .rules, .provenance { break-before: page; }
}
"""

_CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]")


def label(key: str, lang: str) -> str:
    """One label of the report in ``lang`` (``"zh"`` or ``"en"``).

    Parameters
    ----------
    key : str
        A label key (e.g. ``"verdict"``, ``"q_redline"``, a dimension such as ``"spatial_layout"``).
    lang : {"zh", "en"}

    Returns
    -------
    str
        The translation; an unknown key is returned as it is (data values such as an
        unrecognized rule effect are shown untranslated).
    """
    pair = _LABELS.get(key)
    if pair is None:
        return key
    return pair[0] if lang == "zh" else pair[1]


def _labeller(lang: str) -> Callable[[str], str]:
    """``label`` in one language, HTML-escaped."""

    def escaped(key: str) -> str:
        return html.escape(label(key, lang))

    return escaped


def _check_lang(lang: str) -> str:
    if lang not in LANGS:
        msg = f"lang must be 'zh' or 'en', got {lang!r}"
        raise ValidationError(msg)
    return lang


def _d(value: Any) -> str:
    """A data value (kept as stored, escaped), marked as data."""
    return f'<span class="data">{html.escape(str(value))}</span>'


def _num(value: Any, digits: int = 0, unit: str = "") -> str:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return "-"
    if out != out:  # NaN
        return "-"
    return f"{out:,.{digits}f}{(' ' + unit) if unit else ''}"


def _answer(state: str, lang: str) -> str:
    return f'<td class="a-{state}">{html.escape(label(state, lang))}</td>'


def _yes_no(flag: Any) -> str:
    return "yes" if bool(flag) else "no"


def _questions(report: SiteReport, lang: str) -> str:
    L = _labeller(lang)
    rl, r, p = report.redline, report.river, report.phosphorus
    rows: list[str] = []

    def row(question: str, answer: str, detail: str) -> None:
        rows.append(f"<tr><td>{question}</td>{answer}<td>{detail}</td></tr>")

    line = "Line" in str(report.site.get("geometry_type", ""))
    overlap = _num(rl.get("overlap_km"), 2, "km") if line else _num(rl["overlap_km2"], 3, "km²")
    red_detail = (
        f"{L('zones')}: {_d(rl['zones'])}; {L('overlap')} {overlap}, "
        f"{L('share')} {_num(100 * float(rl['share'] or 0), 1, '%')}"
        if rl["overlaps"]
        else f"{L('nearest')} {_num(rl['nearest_m'], 0, 'm')}"
    )
    row(L("q_redline"), _answer(_yes_no(rl["overlaps"]), lang), red_detail)
    row(
        L("q_redline_buffer"),
        _answer(_yes_no(rl["within_buffer"]), lang),
        f"{L('buffer')} {_num(report.site['buffer_m'], 0, 'm')}; {L('nearest')} {_num(rl['nearest_m'], 0, 'm')}",
    )
    units = "<br>".join(
        f"{_d(u['unit_code'])} {_d(u['name_zh'])} ({L('category')} {_d(u['category'])} "
        f"{L('cat' + str(u['category'])) if str(u['category']) in '123' else ''}, "
        f"{L('share')} {_num(100 * float(u['share']), 0, '%')})"
        for u in report.units
    )
    row(L("q_units"), f"<td>{_d(len(report.units))}</td>", units or "-")
    shore = str(r.get("shoreline_1km") or "uncertain")
    bank = (
        f"{L('bank')}: {_d(r['shoreline_body'])} {_num(r['shoreline_distance_m'], 0, 'm')} "
        f"({L('pos_err')} ±{_num(r['positional_uncertainty_m'], 0, 'm')})"
        if r.get("shoreline_body")
        else L("no_bank")
    )
    row(L("q_shore"), _answer({"inside": "yes", "outside": "no"}.get(shore, "uncertain"), lang), bank)
    row(
        L("q_tp"),
        _answer(_yes_no(p.get("tp_exceeding_basin")), lang),
        f"{L('basin')}: {_d(p.get('basin_label') or '-')}; {L('status')}: {_d(p.get('status') or '-')}",
    )
    via = p.get("lake_tp_inflow_via_reach_pct")
    row(
        L("q_offset"),
        _answer(_yes_no(p.get("offset_required")), lang),
        f"{L('via_reach')}: {_num(via, 1, '%')}" if via is not None else "-",
    )
    if r.get("reach_id") is not None:
        river = (
            f"{L('river')}: {_d((r.get('name_zh') or '') + ' ' + (r.get('name_en') or ''))} "
            f"(reach {_d(r['reach_id'])}), {L('distance')} {_num(r['distance_m'], 0, 'm')}; "
            f"{L('to_poyang')} {_num(r['dist_to_poyang_km'], 1, 'km')}, {L('to_hukou')} "
            f"{_num(r['dist_to_hukou_km'], 1, 'km')}"
        )
        if r.get("stations_downstream"):
            river += f"; {L('stations')}: {_d(', '.join(r['stations_downstream']))}"
    else:
        river = L("no_river")
    row(L("q_river"), f"<td>{_num(r.get('distance_m'), 0, 'm')}</td>", river)
    for sc in report.screening:
        state = "yes" if sc.get("overlaps") else "no"
        detail = (
            f"{L('effect')}: {html.escape(label(str(sc['effect']), lang))}; {L('nearest')} "
            f"{_num(sc['nearest_m'], 0, 'm')}; {L('buffer')}: "
            f"{html.escape(label(_yes_no(sc['within_buffer']), lang))}; {L('applies_industry')}: "
            f"{html.escape(label(_yes_no(sc['applies_to_industry']), lang))}"
        )
        if sc.get("zones"):
            detail += f"; {L('zones')}: {_d(sc['zones'])}"
        if sc.get("text_zh"):
            detail += f"<br>{_d(sc['text_zh'])}"
        if sc.get("basis"):
            detail += f"<br>{L('basis')}: {_d(sc['basis'])}"
        row(f"{L('q_screen')} {_d(sc['name'])}", _answer(state, lang), detail)
    head = f"<tr><th>{L('question')}</th><th>{L('answer')}</th><th>{L('detail')}</th></tr>"
    return f"<table class='questions'>{head}{''.join(rows)}</table>"


def _rules(report: SiteReport, lang: str) -> str:
    L = _labeller(lang)
    out: list[str] = []
    text_key = "text_zh" if lang == "zh" else "text_en"
    other_key = "text_en" if lang == "zh" else "text_zh"
    for dim in DIMENSIONS:
        rules = report.rules.get(dim, [])
        out.append(f"<h3>{L(dim)}</h3>")
        if not rules:
            out.append(f"<p>{L('no_rules')}</p>")
            continue
        head = (
            f"<tr><th>{L('rule')}</th><th>{L('level')}</th><th>{L('effect')}</th><th>{L('condition')}</th>"
            f"<th>{L('applies')}</th><th>{L('text')}</th><th>{L('basis')}</th></tr>"
        )
        rows = []
        for x in rules:
            cond = _d(x["condition"]) if x.get("condition") else "-"
            if x.get("condition_state"):
                cond += f" ({html.escape(label(str(x['condition_state']), lang))})"
            ref = f"<br><span class='small'>{L('reference_rule')}</span>" if x.get("reference") else ""
            rows.append(
                f"<tr><td>{_d(x['rule_id'])}</td><td>{html.escape(label(str(x['level']), lang))}</td>"
                f"<td>{html.escape(label(str(x['effect']), lang))}</td><td>{cond}</td>"
                f"{_answer(_yes_no(x['applies']), lang)}"
                f"<td>{_d(x.get(text_key) or '')}<br><span class='small'>{_d(x.get(other_key) or '')}</span></td>"
                f"<td>{_d(x.get('basis') or '')}{ref}</td></tr>"
            )
        out.append(f"<table>{head}{''.join(rows)}</table>")
    return "".join(out)


def _reasons(report: SiteReport, lang: str) -> str:
    if not report.reasons:
        return f"<p>{html.escape(label('no_reasons', lang))}</p>"
    key = "text_zh" if lang == "zh" else "text_en"
    items = "".join(
        f"<li>[{_d(x['source'])}] {html.escape(label(str(x['effect']), lang))}: {_d(x.get(key) or '')}</li>"
        for x in report.reasons
    )
    return f"<ul>{items}</ul>"


def _provenance(layers: Layers, lang: str) -> str:
    L = _labeller(lang)
    head = (
        f"<tr><th>{L('layer')}</th><th>{L('layer_status')}</th><th>{L('source')}</th>"
        f"<th>{L('licence')}</th><th>{L('derivation')}</th><th>{L('features')}</th></tr>"
    )
    rows = []
    for entry in layers.describe():
        name = str(entry["layer"])
        official = entry["status"] == "official"
        info = None
        if not official and name in ("control_units", "redlines"):
            info = layer_info(name)
        source = str(entry["path"]) + (f"; {info.source}" if info else "")
        rows.append(
            f"<tr><td>{_d(name)}</td><td>{L('official' if official else 'reference')}</td><td>{_d(source)}</td>"
            f"<td>{_d(info.licence if info else '')}</td>"
            f"<td class='small'>{_d(_short(info.derivation) if info else entry['validation'])}</td>"
            f"<td>{_d(entry['features'])}</td></tr>"
        )
    for name in CHECK_LAYERS:
        info = layer_info(name)
        status = "reference" if info.synthetic else "bundled"
        rows.append(
            f"<tr><td>{_d(name)}</td><td>{L(status)}</td><td>{_d(info.source)}</td><td>{_d(info.licence)}</td>"
            f"<td class='small'>{_d(_short(info.derivation))}</td><td>{_d(info.features)}</td></tr>"
        )
    return f"<table class='small'>{head}{''.join(rows)}</table>"


def _short(text: str, limit: int = 240) -> str:
    one = " ".join(str(text).split())
    return one if len(one) <= limit else one[: limit - 1] + "…"


def _map_frame(report: SiteReport, layers: Layers, lang: str) -> str:
    title = f"{label('map_title', lang)}: {label(report.verdict, lang)} ({report.site['industry']})"
    # the data notices are printed above the map: not a second time over it
    page = _maps.to_html(_maps.site_map(report, layers=layers, title=title, notices=False), offline=True)
    return f'<iframe class="map" title="{html.escape(label("map", lang))}" srcdoc="{html.escape(page)}"></iframe>'


def to_html(
    report: SiteReport,
    *,
    lang: str = "zh",
    layers: Layers | None = None,
    with_map: bool = True,
    generated: _dt.datetime | None = None,
) -> str:
    """The report as one self-contained, offline HTML page (printable on A4).

    Parameters
    ----------
    report : SiteReport
        From :func:`ganpo_geo.siting.check_site`.
    lang : {"zh", "en"}
        Language of every label; data values (names, rule texts) stay as stored.
    layers : Layers, optional
        The layers the report was made with (drawn on the map, listed with their provenance);
        default the bundled reference layers.
    with_map : bool
        Include the map (an offline Leaflet page in an ``iframe``, about 1 MB).
    generated : datetime, optional
        Date printed on the report (default: now, UTC).

    Returns
    -------
    str

    Raises
    ------
    ValidationError
        An unknown ``lang``.
    """
    lang = _check_lang(lang)
    layers = layers or bundled_layers()
    L = _labeller(lang)
    when = (generated or _dt.datetime.now(_dt.UTC)).strftime("%Y-%m-%d %H:%M UTC")
    a, site = report.admin, report.site
    wkt = str(site["wkt"])
    place = " / ".join(str(x) for x in (a.get("province"), a.get("city_name"), a.get("county_name")) if x)
    meta = [
        (L("industry"), f"{_d(site['industry'])} → {_d(site['industry_key'])}"),
        (L("geometry"), L(str(site["geometry_type"]))),
        (L("location"), f"{_d(place)} ({_d(a.get('county_adcode') or '-')})"),
        (L("coords"), _d(wkt if len(wkt) <= 300 else wkt[:299] + "…")),
        (L("crs"), _d(site.get("crs") or "wgs84")),
        (L("buffer"), _num(site["buffer_m"], 0, "m")),
        (L("generated"), _d(when)),
        (L("software"), f"ganpo_geo {_d(__version__)}"),
    ]
    meta_rows = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in meta)
    notices = "".join(f"<div class='notice'>{_d(n)}</div>" for n in report.data_notice)
    warnings = "".join(f"<div class='warning'>{_d(w)}</div>" for w in report.warnings)
    parts = [
        f"<!DOCTYPE html><html lang='{lang}'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>{L('title')}: {html.escape(label(report.verdict, lang))}</title><style>{_CSS}</style></head><body>",
        f"<header><h1>{L('title')}</h1>",
        f"<p>{L('verdict')}: <span class='verdict v-{html.escape(report.verdict)}' id='verdict'>"
        f"{html.escape(label(report.verdict, lang))}</span></p>",
        f"<table class='meta'>{meta_rows}</table>{notices}</header>",
    ]
    if with_map:
        parts.append(f"<section class='section'><h2>{L('map')}</h2>{_map_frame(report, layers, lang)}</section>")
    parts += [
        f"<section class='section keep'><h2>{L('questions')}</h2>{_questions(report, lang)}</section>",
        f"<section class='section'><h2>{L('reasons')}</h2>{_reasons(report, lang)}</section>",
    ]
    if warnings:
        parts.append(f"<section class='section'><h2>{L('warnings')}</h2>{warnings}</section>")
    parts += [
        f"<section class='section rules'><h2>{L('rules')}</h2>{_rules(report, lang)}</section>",
        f"<section class='section'><h2>{L('notices')}</h2>{notices or '-'}</section>",
        f"<section class='section provenance'><h2>{L('provenance')}</h2>{_provenance(layers, lang)}</section>",
        f"<p class='small'>{L('disclaimer')}</p></body></html>",
    ]
    return "".join(parts)


def write_html(report: SiteReport, path: str | Path, *, lang: str = "zh", layers: Layers | None = None) -> Path:
    """Write the report page (see :func:`to_html`) atomically.

    Parameters
    ----------
    report : SiteReport
    path : path
    lang : {"zh", "en"}
    layers : Layers, optional

    Returns
    -------
    pathlib.Path
    """
    page = to_html(report, lang=lang, layers=layers)  # built first: a failure leaves no file
    return write_text(path, page)


def _chromium() -> str | None:
    explicit = os.environ.get("GANPO_CHROMIUM")
    if explicit:
        return explicit
    for candidate in ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"):
        if Path(candidate).exists():
            return candidate
    return None  # Playwright's own browser, if installed


def write_pdf(
    report: SiteReport,
    path: str | Path,
    *,
    lang: str = "zh",
    layers: Layers | None = None,
    timeout_s: float = 60.0,
) -> Path:
    """Print the report to an A4 PDF through headless Chromium (Playwright).

    Parameters
    ----------
    report : SiteReport
    path : path
        Written atomically (a temporary file, then a rename).
    lang : {"zh", "en"}
    layers : Layers, optional
    timeout_s : float
        Longest wait for the page and its map to render.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    PdfUnavailableError
        Playwright is not installed or no Chromium can be started (Chromium is looked for in
        ``GANPO_CHROMIUM``, then ``/usr/bin/chromium``, then Playwright's own download).
    """
    page_html = to_html(report, lang=lang, layers=layers)
    try:
        # lazy on purpose: Playwright is an optional dependency, needed only for PDFs
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError:
        msg = "PDF output needs Playwright and Chromium: pip install playwright, then apt-get install chromium"
        raise PdfUnavailableError(msg) from None
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)

    def render(tmp: Path) -> None:
        source = tmp.with_name(tmp.name + ".html")
        source.write_text(page_html, encoding="utf-8")
        try:
            with sync_playwright() as p:
                exe = _chromium()
                try:
                    browser = p.chromium.launch(
                        executable_path=exe, args=["--headless", "--no-sandbox", "--disable-gpu"]
                    )
                except PlaywrightError as exc:
                    where = exe or "Playwright's bundled Chromium"
                    msg = (
                        f"cannot start Chromium ({where}): {str(exc).splitlines()[0]}; install it "
                        "(apt-get install chromium) or set GANPO_CHROMIUM to its path"
                    )
                    raise PdfUnavailableError(msg) from None
                try:
                    page = browser.new_page(viewport={"width": 1000, "height": 1400})
                    # nothing leaves the machine: the page is self-contained
                    page.route(
                        "**/*",
                        lambda route: (
                            route.continue_()
                            if route.request.url.startswith(("file:", "data:", "about:"))
                            else route.abort()
                        ),
                    )
                    page.goto(source.as_uri(), timeout=timeout_s * 1000)
                    page.wait_for_load_state("load")
                    page.wait_for_timeout(800)  # the map's canvas draws after load
                    page.emulate_media(media="print")
                    page.pdf(
                        path=str(tmp),
                        format="A4",
                        print_background=True,
                        margin={"top": "12mm", "bottom": "14mm", "left": "10mm", "right": "10mm"},
                        display_header_footer=True,
                        header_template="<span></span>",
                        footer_template=(
                            "<div style='font-size:8px;width:100%;text-align:center;color:#666'>"
                            f"ganpo_geo {html.escape(__version__)} · <span class='pageNumber'></span>/"
                            "<span class='totalPages'></span></div>"
                        ),
                    )
                finally:
                    browser.close()
        finally:
            source.unlink(missing_ok=True)

    # Playwright's sync API refuses to run inside a running asyncio loop (Jupyter, or another
    # sync_playwright in this thread): a worker thread of its own always works
    with atomic_path(path) as tmp, ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(render, tmp).result()
    return path


def _safe_name(text: str) -> str:
    return re.sub(r"[^0-9A-Za-z_.-]+", "_", text).strip("_")[:60] or "site"


def write_html_dir(
    reports: Sequence[SiteReport | str],
    out_dir: str | Path,
    *,
    lang: str = "zh",
    layers: Layers | None = None,
    ids: Iterable[Any] | None = None,
) -> list[Path]:
    """One report page per site and an ``index.html`` linking them (batch ``--html-dir``).

    Parameters
    ----------
    reports : sequence of SiteReport or str
        One per input row; a string is the error of a row that could not be checked (listed in
        the index, no page).
    out_dir : path
    lang : {"zh", "en"}
    layers : Layers, optional
    ids : iterable, optional
        A name per row for the file names and the index (default: the row number).

    Returns
    -------
    list of pathlib.Path
        The index first, then the report pages; every file is written atomically.

    Raises
    ------
    ValidationError
        More than :data:`MAX_HTML_ROWS` rows, or an unknown ``lang``.
    """
    lang = _check_lang(lang)
    if len(reports) > MAX_HTML_ROWS:
        msg = (
            f"--html-dir writes at most {MAX_HTML_ROWS} reports, the input has {len(reports)} rows: "
            "filter the input (or use --output for a table of all rows)"
        )
        raise ValidationError(msg)
    layers = layers or bundled_layers()
    names = [str(x) for x in ids] if ids is not None else [str(i + 1) for i in range(len(reports))]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    rows: list[str] = []
    L = _labeller(lang)
    for i, (name, rep) in enumerate(zip(names, reports, strict=True)):
        if isinstance(rep, str):
            rows.append(
                f"<tr><td>{_d(name)}</td><td class='a-uncertain'>{L('error')}</td><td>{_d(rep)}</td><td>-</td></tr>"
            )
            continue
        file = f"{i + 1:04d}_{_safe_name(name)}.html"
        written.append(write_html(rep, out / file, lang=lang, layers=layers))
        place = " / ".join(str(x) for x in (rep.admin.get("city_name"), rep.admin.get("county_name")) if x)
        rows.append(
            f"<tr><td>{_d(name)}</td><td><span class='verdict v-{html.escape(rep.verdict)}'>"
            f"{html.escape(label(rep.verdict, lang))}</span></td><td>{_d(rep.site['industry'])}; {_d(place)}</td>"
            f"<td><a href='{html.escape(file)}'>{L('open')}</a></td></tr>"
        )
    head = f"<tr><th>{L('row')}</th><th>{L('verdict')}</th><th>{L('site')}</th><th>{L('report')}</th></tr>"
    index = (
        f"<!DOCTYPE html><html lang='{lang}'><head><meta charset='utf-8'><title>{L('index_title')}</title>"
        f"<style>{_CSS}</style></head><body><h1>{L('index_title')}</h1>"
        f"<p>ganpo_geo {_d(__version__)}</p><table>{head}{''.join(rows)}</table></body></html>"
    )
    return [write_text(out / "index.html", index), *written]


def text_labels(page: str) -> str:
    """The page's own text without data values and the map (for checking translations).

    Parameters
    ----------
    page : str
        A report page from :func:`to_html`.

    Returns
    -------
    str
    """
    page = re.sub(r"<iframe.*?</iframe>", " ", page, flags=re.DOTALL)
    page = re.sub(r"<style>.*?</style>", " ", page, flags=re.DOTALL)
    page = re.sub(r'<span class="data">.*?</span>', " ", page, flags=re.DOTALL)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def has_cjk(text: str) -> bool:
    """Whether ``text`` holds CJK characters or full-width punctuation.

    Parameters
    ----------
    text : str

    Returns
    -------
    bool
    """
    return bool(_CJK.search(text))


_ID_COLUMNS = ("site_id", "id", "name", "编号", "名称", "项目名称")


def batch_reports(
    sites: Any,
    result: Any,
    *,
    buffer_m: float = 1000.0,
    layers: Layers | None = None,
) -> tuple[list[SiteReport | str], list[str]]:
    """The full report of every row of a checked batch (for :func:`write_html_dir`).

    Parameters
    ----------
    sites : geopandas.GeoDataFrame
        The sites as read (:func:`ganpo_geo.siting.read_sites`, WGS84).
    result : geopandas.GeoDataFrame
        :func:`ganpo_geo.siting.check_sites` of ``sites`` (same rows).
    buffer_m : float
    layers : Layers, optional

    Returns
    -------
    reports : list of SiteReport or str
        A report per row, or the row's error.
    ids : list of str
        A name per row: its ``site_id``/``id``/``name`` column if there is one, else its number.

    Raises
    ------
    ValidationError
        More than :data:`MAX_HTML_ROWS` rows.
    """
    if len(result) > MAX_HTML_ROWS:
        msg = (
            f"--html-dir writes at most {MAX_HTML_ROWS} reports, the input has {len(result)} rows: "
            "filter the input (or use --output for a table of all rows)"
        )
        raise ValidationError(msg)
    cols = result.attrs.get("ganpo_columns", {})
    error = result[cols.get("error", "error")].fillna("").astype(str).to_numpy()
    keys = result[cols.get("industry_key", "industry_key")].fillna("").astype(str).to_numpy()
    id_col = next((c for c in _ID_COLUMNS if c in sites.columns), None)
    ids = [
        str(v) if id_col is not None and str(v) not in ("", "nan") else str(i + 1)
        for i, v in enumerate(sites[id_col] if id_col is not None else range(len(sites)))
    ]
    geoms = sites.geometry.to_numpy()
    out: list[SiteReport | str] = []
    for geom, key, err in zip(geoms, keys, error, strict=True):
        if err:
            out.append(err)
            continue
        try:
            out.append(check_site(geom, industry=key, buffer_m=buffer_m, layers=layers))
        except ValidationError as exc:
            out.append(str(exc))
    return out, ids
