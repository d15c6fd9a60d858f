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
from _browser import CHROMIUM, COUNT_JS, require_chromium

from ganpo_geo.layers import Layers, load_layer
from ganpo_geo.loads import trace_sources
from ganpo_geo.maps import MAP_KINDS, save_map, write_all, zoning_map
from ganpo_geo.rivers import navigate, river_network

REPO = Path(__file__).resolve().parents[1]

require_chromium()

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


def _open(browser, path: Path, size: tuple[int, int] = (1100, 760)):
    page = browser.new_page(viewport={"width": size[0], "height": size[1]})
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


SIZES = [(1400, 1000), (1024, 640)]
BOXES_JS = """() => Array.from(document.querySelectorAll('.leaflet-control, .ganpo-title'))
  .filter(e => e.offsetParent !== null)
  .map(e => { const r = e.getBoundingClientRect();
    return {name: e.className, x0: r.left, y0: r.top, x1: r.right, y1: r.bottom}; })"""
STYLES_JS = """() => {
  const styles = {};
  for (const key of Object.keys(window)) {
    let value;
    try { value = window[key]; } catch (e) { continue; }
    if (value && window.L && value instanceof L.Map) {
      value.eachLayer(layer => {
        const p = layer.feature && layer.feature.properties;
        if (p && p._layer && layer.options) {
          const o = layer.options;
          (styles[p._layer] = styles[p._layer] || []).push(
            {color: o.color, fillColor: o.fillColor || o.color, fillOpacity: o.fillOpacity, fill: o.fill});
        }
      });
    }
  }
  const swatches = Array.from(document.querySelectorAll('.ganpo-legend .ganpo-swatch')).map(e => {
    const cs = getComputedStyle(e);
    return {layer: e.dataset.layer, kind: e.dataset.kind, bg: cs.backgroundColor,
            border: cs.borderTopColor, text: e.parentElement.textContent};
  });
  return {styles, swatches};
}"""


def _rgb(hex_color: str, opacity: float | None = None) -> str:
    h = hex_color.lstrip("#")
    if len(h) == 3:
        h = "".join(c * 2 for c in h)
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    if opacity is None or opacity >= 1:
        return f"rgb({r}, {g}, {b})"
    return f"rgba({r}, {g}, {b}, {opacity:g})"


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("kind", MAP_KINDS)
def test_controls_do_not_overlap(browser, map_dir, kind, size) -> None:
    """Every control (zoom, full screen, rules, legend, notice, scale, layers, title) has its own
    room: no two bounding boxes intersect, at a large and at a small window."""
    page, seen = _open(browser, map_dir / f"{kind}.html", size)
    boxes = page.evaluate(BOXES_JS)
    names = " ".join(b["name"] for b in boxes)
    # the full-screen button sits in the zoom bar, whose box is checked against the others
    fs = page.locator(".leaflet-control-zoom-fullscreen").bounding_box()
    bar = page.locator(".leaflet-control-zoom").bounding_box()
    assert fs is not None and bar is not None
    assert bar["y"] <= fs["y"] and fs["y"] + fs["height"] <= bar["y"] + bar["height"] + 0.5
    assert "ganpo-legend" in names and "leaflet-control-layers" in names
    if kind == "zoning":
        assert "ganpo-rules" in names  # the "Access rules" toggle the full-screen button used to cover
    for i, a in enumerate(boxes):
        assert a["x0"] >= 0 and a["y0"] >= 0 and a["x1"] <= size[0] and a["y1"] <= size[1], a
        for b in boxes[i + 1 :]:
            apart = a["x1"] <= b["x0"] or b["x1"] <= a["x0"] or a["y1"] <= b["y0"] or b["y1"] <= a["y0"]
            assert apart, (a, b)
    expanded = page.locator(".leaflet-control-layers-expanded").count()
    assert expanded == (1 if size == (1400, 1000) else 0)  # collapsed to its icon on a small screen
    assert seen["errors"] == []
    page.close()


@pytest.mark.parametrize("kind", MAP_KINDS)
def test_legend_matches_drawn_style(browser, map_dir, kind) -> None:
    """Each legend swatch is read from the page and compared with the style Leaflet draws the
    features of its layer with (the options the canvas renderer paints)."""
    page, _ = _open(browser, map_dir / f"{kind}.html")
    got = page.evaluate(STYLES_JS)
    styles, swatches = got["styles"], got["swatches"]
    assert len(swatches) >= 3
    for sw in swatches:
        drawn = styles.get(sw["layer"])
        assert drawn, f"legend entry {sw['text']!r} names layer {sw['layer']!r}, which draws nothing"
        if sw["kind"] == "line":
            assert sw["bg"] in {_rgb(s["color"]) for s in drawn}, (sw, drawn[:3])
        else:
            looks = {(_rgb(s["fillColor"], s["fillOpacity"]), _rgb(s["color"])) for s in drawn}
            assert (sw["bg"], sw["border"]) in looks, (sw, sorted(looks)[:5])
    page.close()


def test_rivers_legend_names_and_labels(browser, map_dir) -> None:
    """Basins in the legend by name; the lake, the Yangtze and the five rivers labelled in
    Chinese with the English name on hover, and no two labels collide at either size."""
    for size in SIZES:
        page, _ = _open(browser, map_dir / "rivers.html", size)
        legend = page.locator(".ganpo-legend").inner_text()
        for name in ("赣江 Gan River", "抚河 Fu River", "信江 Xin River", "饶河 Rao River", "修河 Xiu River"):
            assert name in legend
        assert "\ngan\n" not in f"\n{legend}\n"
        labels = page.evaluate(
            """() => Array.from(document.querySelectorAll('.ganpo-label div')).map(e => {
              const r = e.getBoundingClientRect();
              return {text: e.textContent, title: e.title, x0: r.left, y0: r.top, x1: r.right, y1: r.bottom}; })"""
        )
        by_text = {lab["text"]: lab["title"] for lab in labels}
        for zh, en in [
            ("鄱阳湖", "Poyang Lake"),
            ("长江", "Yangtze River"),
            ("赣江", "Gan River"),
            ("抚河", "Fu River"),
            ("信江", "Xin River"),
            ("饶河", "Rao River"),
            ("修河", "Xiu River"),
        ]:
            assert by_text.get(zh) == en, (zh, by_text)
        for i, a in enumerate(labels):
            for b in labels[i + 1 :]:
                apart = a["x1"] <= b["x0"] or b["x1"] <= a["x0"] or a["y1"] <= b["y0"] or b["y1"] <= a["y0"]
                assert apart, (a, b)
        page.close()


@pytest.mark.parametrize("kind,layer", [("trace", "trace"), ("site", "site_buffer")])
def test_map_opens_on_its_subject(browser, map_dir, kind, layer) -> None:
    """The trace map opens on the traced reaches, the site map on the site's buffer: the view holds
    them and is no more than one zoom level wider than needed."""
    page, _ = _open(browser, map_dir / f"{kind}.html", (1024, 640))
    fit = page.evaluate(
        """(layerKey) => {
      for (const key of Object.keys(window)) { let v; try { v = window[key]; } catch (e) { continue; }
        if (v && window.L && v instanceof L.Map) {
          const group = L.featureGroup();
          v.eachLayer(l => { const p = l.feature && l.feature.properties;
            if (p && p._layer === layerKey && l.getBounds) group.addLayer(L.rectangle(l.getBounds())); });
          const b = group.getBounds();
          return {contains: v.getBounds().contains(b), zoom: v.getZoom(), best: v.getBoundsZoom(b)};
        } } }""",
        layer,
    )
    assert fit["contains"], fit
    assert fit["best"] - fit["zoom"] <= 1, fit
    page.close()
