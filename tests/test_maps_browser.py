"""The maps in a real headless Chromium (Debian ``chromium``, driven by Playwright).

Each offline map is opened from a ``file://`` URL with every non-file request blocked and
recorded: it must render the expected number of features per layer (counted from Leaflet in
the page), log no JavaScript error, make zero network requests, and look like something (a
non-blank screenshot). With ``GANPO_WRITE_SCREENSHOTS=1`` the screenshots are also written to
``docs/screenshots/`` for the README.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest

from ganpo_geo.layers import Layers, load_layer
from ganpo_geo.loads import trace_sources
from ganpo_geo.maps import MAP_KINDS, save_map, write_all, zoning_map
from ganpo_geo.rivers import navigate, river_network

CHROMIUM = os.environ.get("GANPO_CHROMIUM", "/usr/bin/chromium")
REPO = Path(__file__).resolve().parents[1]

if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium", pytrace=False)
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium); CI installs it", allow_module_level=True)

sync_api = pytest.importorskip("playwright.sync_api", reason="the [test] extra (playwright) is not installed")

ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
COUNT_JS = """() => {
  const counts = {};
  for (const key of Object.keys(window)) {
    let value;
    try { value = window[key]; } catch (e) { continue; }
    if (value && window.L && value instanceof L.Map) {
      value.eachLayer(layer => {
        const p = layer.feature && layer.feature.properties;
        if (p && p._layer) counts[p._layer] = (counts[p._layer] || 0) + 1;
      });
    }
  }
  return counts;
}"""


@pytest.fixture(scope="module")
def map_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("maps")
    write_all(out, offline=True)
    return out


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def _open(browser, path: Path):
    page = browser.new_page(viewport={"width": 1100, "height": 760})
    seen = {"requests": [], "errors": [], "dialogs": []}
    page.on("request", lambda r: seen["requests"].append(r.url))
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    page.on("console", lambda m: seen["errors"].append(m.text) if m.type == "error" else None)

    def dialog(d):
        seen["dialogs"].append(d.message)
        d.dismiss()

    page.on("dialog", dialog)
    page.route(
        "**/*", lambda route: route.continue_() if route.request.url.startswith(("file:", "data:")) else route.abort()
    )
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    page.wait_for_function("() => window.L !== undefined")
    page.wait_for_timeout(300)
    return page, seen


def _not_blank(png: bytes) -> None:
    from PIL import Image

    img = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    colours = len(np.unique(img.reshape(-1, 3), axis=0))
    assert colours > 50 and img.std() > 20, (colours, img.std())


def _expected(kind: str) -> dict[str, int]:
    G = river_network()
    common = {"basemap_province": 1, "basemap_counties": 100}
    if kind == "zoning":
        return {**common, "control_units": 1093, "redlines": len(load_layer("redlines")), "cities": 11}
    if kind == "rivers":
        return {**common, "reaches": G.number_of_edges(), "stations": len(load_layer("stations")), "poyang_lake": 1}
    if kind == "tp":
        counties = trace_sources(G, "poyang", by="county")
        return {
            **common,
            "tp_county": int(counties.geometry.notna().sum()),
            "tp_reaches": G.number_of_edges(),
            "top_sources": 10,
        }
    if kind == "trace":
        waizhou = load_layer("stations").set_index("station_id").loc["waizhou"]
        path = navigate(G, (float(waizhou["lon"]), float(waizhou["lat"])), "UT")
        return {**common, "trace": len(path), "network": G.number_of_edges()}
    return {**common, "site": 1, "site_buffer": 1}


@pytest.mark.parametrize("kind", MAP_KINDS)
def test_map_renders_offline(browser, map_dir, kind) -> None:
    page, seen = _open(browser, map_dir / f"{kind}.html")
    counts = page.evaluate(COUNT_JS)
    for layer, n in _expected(kind).items():
        assert counts.get(layer) == n, (layer, counts.get(layer), n)
    assert seen["errors"] == []
    assert [u for u in seen["requests"] if not u.startswith(("file:", "data:"))] == []  # zero network requests
    assert page.locator(".ganpo-title").is_visible() and page.locator(".ganpo-legend").is_visible()
    assert page.locator(".leaflet-control-layers").count() == 1
    assert page.locator(".leaflet-control-scale").count() == 1
    assert page.locator(".leaflet-control-zoom-fullscreen").count() == 1
    if kind in ("zoning", "tp", "site"):
        assert page.locator(".ganpo-notice").is_visible()
    png = page.screenshot()
    _not_blank(png)
    if os.environ.get("GANPO_WRITE_SCREENSHOTS"):
        target = REPO / "docs" / "screenshots" / f"{kind}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(target))
    page.close()


def test_popup_shows_hostile_name_as_text(browser, tmp_path) -> None:
    units = load_layer("control_units").iloc[:5].copy()
    units.loc[units.index[0], "name_zh"] = "<script>alert(1)</script>"
    path = save_map(zoning_map(Layers(control_units=units)), tmp_path / "hostile.html", offline=True)
    page, seen = _open(browser, path)
    clicked = page.evaluate(
        """() => {
      for (const key of Object.keys(window)) {
        let v; try { v = window[key]; } catch (e) { continue; }
        if (v && window.L && v instanceof L.Map) {
          let found = false;
          v.eachLayer(l => { const p = l.feature && l.feature.properties;
            if (!found && p && p._layer === 'control_units' && p._tip.includes('alert')) {
              l.fire('click', {latlng: l.getBounds().getCenter()}, true); found = true; } });
          if (found) return true;
        }
      }
      return false;
    }"""
    )
    assert clicked
    page.wait_for_selector(".leaflet-popup-content")
    text = page.locator(".leaflet-popup-content").text_content()
    assert text is not None and "<script>alert(1)</script>" in text  # shown as text
    page.wait_for_timeout(200)
    assert seen["dialogs"] == [] and seen["errors"] == []
    page.close()


def test_online_map_would_ask_the_cdn(browser, map_dir, tmp_path) -> None:
    """The recorder does catch requests: the online page asks the CDN (blocked here)."""
    from ganpo_geo.maps import make

    online = save_map(make("rivers"), tmp_path / "online.html", offline=False)
    browser_page = browser.new_page()
    asked: list[str] = []
    browser_page.on("request", lambda r: asked.append(r.url))
    browser_page.route(
        "**/*", lambda route: route.continue_() if route.request.url.startswith("file:") else route.abort()
    )
    browser_page.goto(online.as_uri())
    browser_page.wait_for_timeout(300)
    assert any(u.startswith("https://cdn.jsdelivr.net") for u in asked)
    browser_page.close()
