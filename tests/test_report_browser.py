"""The site report in a real headless Chromium (Debian ``chromium`` driven by Playwright) and
its PDF read back with poppler (``pdftoppm``, ``pdftotext``).

For a point, a line and a polygon: the page renders with its map (counted from Leaflet inside
the report's frame), logs no error, makes no network request; the PDF is A4, opens with
``pdftoppm`` and has the verdict on page 1. With ``GANPO_WRITE_SCREENSHOTS=1`` the screenshot
of each page and the first PDF page are written to ``docs/screenshots/report_*.png``.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from _browser import CHROMIUM, COUNT_JS, require_chromium

from ganpo_geo import report as R
from ganpo_geo.siting import check_site

REPO = Path(__file__).resolve().parents[1]

require_chromium()

if shutil.which("pdftoppm") is None or shutil.which("pdftotext") is None:
    if os.environ.get("CI"):
        pytest.fail("pdftoppm/pdftotext are missing: .ci/run installs poppler-utils", pytrace=False)
    pytest.skip("no pdftoppm (apt-get install poppler-utils); CI installs it", allow_module_level=True)

sync_api = pytest.importorskip("playwright.sync_api", reason="the [test] extra (playwright) is not installed")

SITES = {
    "point": ((115.89, 28.68), "化工", "zh"),
    "line": ("LINESTRING (115.80 28.60, 116.00 28.75)", "线性基础设施", "en"),
    "polygon": ("POLYGON ((116.89 28.74, 116.91 28.74, 116.91 28.76, 116.89 28.76, 116.89 28.74))", "garment", "en"),
}


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


def _small_png(png: bytes, target: Path, width: int) -> None:
    """Save a screenshot scaled to ``width`` in 256 colours (small files for the README)."""
    from PIL import Image

    img = Image.open(io.BytesIO(png)).convert("RGB")
    img = img.resize((width, round(img.height * width / img.width)), Image.LANCZOS)
    target.parent.mkdir(parents=True, exist_ok=True)
    img.quantize(colors=256).save(target, optimize=True)


def _not_blank(png: bytes) -> None:
    from PIL import Image

    img = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    assert len(np.unique(img.reshape(-1, 3), axis=0)) > 50 and img.std() > 20


@pytest.mark.parametrize("kind", list(SITES))
def test_report_page_and_pdf(browser, tmp_path, kind) -> None:
    geometry, industry, lang = SITES[kind]
    report = check_site(geometry, industry=industry)
    page_path = R.write_html(report, tmp_path / f"{kind}.html", lang=lang)

    page = browser.new_page(viewport={"width": 1000, "height": 1400})
    requests: list[str] = []
    errors: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.route(
        "**/*",
        lambda route: (
            route.continue_() if route.request.url.startswith(("file:", "data:", "about:")) else route.abort()
        ),
    )
    page.goto(page_path.as_uri())
    page.wait_for_load_state("load")
    frame = next(f for f in page.frames if f != page.main_frame)
    frame.wait_for_function("() => window.L !== undefined")
    page.wait_for_timeout(400)
    counts = frame.evaluate(COUNT_JS)
    assert counts.get("site") == 1 and counts.get("site_buffer") == 1, counts
    assert counts.get("site_units", 0) >= 1 and counts.get("site_downstream", 0) >= 1, counts
    assert errors == []
    assert [u for u in requests if not u.startswith(("file:", "data:", "about:"))] == []
    verdict = page.locator("#verdict").inner_text()
    assert verdict == R.label(report.verdict, lang)
    assert page.locator("table.questions tr").count() >= 7
    png = page.screenshot()
    _not_blank(png)
    page.close()

    pdf = R.write_pdf(report, tmp_path / f"{kind}.pdf", lang=lang)
    assert pdf.read_bytes().startswith(b"%PDF")
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=False)
    if info.returncode == 0:
        assert "(A4)" in info.stdout, info.stdout
    subprocess.run(["pdftoppm", "-f", "1", "-l", "1", "-r", "60", "-png", str(pdf), str(tmp_path / "p")], check=True)
    first = next(tmp_path.glob("p-*1.png")).read_bytes()
    _not_blank(first)
    text = subprocess.run(
        ["pdftotext", "-f", "1", "-l", "1", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert R.label(report.verdict, lang) in text and R.label("verdict", lang) in text
    if os.environ.get("GANPO_WRITE_SCREENSHOTS"):
        _small_png(png, REPO / "docs" / "screenshots" / f"report_{kind}.png", 800)
        _small_png(first, REPO / "docs" / "screenshots" / f"report_{kind}_pdf_page1.png", 496)
