"""Tests for ganpo_geo.maps that need no browser: sizes, offline pages, escaping, tiles, CLI.

The maps are opened in a real headless Chromium in ``test_maps_browser.py``.
"""

from __future__ import annotations

import json
import re

import folium
import numpy as np
import pytest
from click.testing import CliRunner

from ganpo_geo import ValidationError
from ganpo_geo.cli import main
from ganpo_geo.crs import wgs84_to_gcj02
from ganpo_geo.layers import Layers, load_layer
from ganpo_geo.maps import (
    MAP_KINDS,
    make,
    river_map,
    save_map,
    site_map,
    to_html,
    trace_map,
    write_all,
    zoning_map,
)
from ganpo_geo.siting import check_site

MB = 1_000_000


@pytest.fixture(scope="module")
def pages() -> dict[str, str]:
    return {kind: to_html(make(kind), offline=True) for kind in MAP_KINDS}


def _features(page: str, layer: str) -> list[dict]:
    """The GeoJSON features of one layer, parsed from the page's ``geo_json_*_add({...})`` calls."""
    decoder = json.JSONDecoder()
    out = []
    for match in re.finditer(r'_add\((?=\{"features")', page):
        data, _ = decoder.raw_decode(page, match.end())
        out.extend(f for f in data["features"] if f["properties"].get("_layer") == layer)
    return out


def test_sizes(pages) -> None:
    assert len(pages["zoning"].encode()) < 5 * MB
    for kind in ("rivers", "tp", "trace", "site"):
        assert len(pages[kind].encode()) < 3 * MB, kind
    assert len(to_html(make("tp", by="unit"), offline=True).encode()) < 3 * MB


def test_offline_pages_load_nothing_from_the_web(pages) -> None:
    for kind, page in pages.items():
        assert not re.search(r'<script[^>]+src="https?://', page), kind
        assert not re.search(r'<link[^>]+href="https?://', page), kind
        assert ("L.map(" in page and "L.Control.FullScreen" in page) or "fullscreen" in page.lower()
    online = to_html(make("rivers"))
    assert re.search(r'<script[^>]+src="https://cdn\.jsdelivr\.net/npm/leaflet@', online)


def test_every_map_has_its_furniture(pages) -> None:
    for kind, page in pages.items():
        assert "ganpo-title" in page and "ganpo-legend" in page, kind
        assert "图例 Legend" in page
        assert "L.control.layers" in page, kind  # layer control
        assert "L.control.scale" in page, kind  # scale bar
    assert "ganpo-notice" in pages["zoning"] and "NOT official" in pages["zoning"]
    assert "ILLUSTRATIVE" in pages["tp"]
    assert "not official" in pages["site"]
    assert "ganpo-rules" in pages["zoning"]


def test_maps_add_to_an_existing_map() -> None:
    m = river_map()
    same = trace_map("waizhou", "UM", m=m)
    assert same is m
    assert isinstance(m, folium.Map)


def test_hostile_names_are_escaped() -> None:
    units = load_layer("control_units").iloc[:5].copy()
    units.loc[units.index[0], "name_zh"] = "<script>alert(1)</script>"
    red = load_layer("redlines").iloc[:2].copy()
    red.loc[red.index[0], "name_zh"] = '<img src=x onerror="alert(2)">'
    page = to_html(zoning_map(Layers(control_units=units, redlines=red)))
    assert "<script>alert(1)</script>" not in page
    assert "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in json.loads(f'"{_first_escaped(page)}"')


def _first_escaped(page: str) -> str:
    match = re.search(r"\\u0026lt;script\\u0026gt;alert\(1\)\\u0026lt;/script\\u0026gt;", page)
    assert match, "the escaped name is in the page"
    return match.group(0)


def test_amap_tiles_shift_data_to_gcj02_and_say_so() -> None:
    default = to_html(river_map())
    amap = to_html(river_map(tiles="amap"))
    st_default = {f["properties"]["_tip"]: f["geometry"]["coordinates"] for f in _features(default, "stations")}
    st_amap = {f["properties"]["_tip"]: f["geometry"]["coordinates"] for f in _features(amap, "stations")}
    stations = load_layer("stations")
    hukou = stations[stations["station_id"] == "hukou"].iloc[0]
    key = "湖口 Hukou"
    # default: WGS84 as stored (to the 4 decimals written)
    assert np.allclose(st_default[key], [hukou["lon"], hukou["lat"]], atol=6e-5)
    g_lon, g_lat = wgs84_to_gcj02(hukou["lon"], hukou["lat"])
    assert np.allclose(st_amap[key], [float(g_lon), float(g_lat)], atol=6e-5)
    offset = np.hypot(*(np.array(st_amap[key]) - np.array(st_default[key])))
    assert offset > 0.002  # several hundred metres
    assert "autonavi" in amap and "GCJ-02" in amap
    assert "autonavi" not in default


def test_tile_options(monkeypatch) -> None:
    monkeypatch.delenv("TIANDITU_KEY", raising=False)
    with pytest.raises(ValidationError, match="TIANDITU_KEY"):
        river_map(tiles="tianditu")
    monkeypatch.setenv("TIANDITU_KEY", "abc123")
    page = to_html(river_map(tiles="tianditu"))
    assert "vec_w/wmts" in page and "tk=abc123" in page and "cva_w" in page
    assert "openstreetmap" in to_html(river_map(tiles="osm")).lower()
    with pytest.raises(ValidationError, match="unknown tiles 'bing'"):
        river_map(tiles="bing")


def test_site_map_and_files(tmp_path) -> None:
    report = check_site((116.9, 28.75), industry="garment")
    path = save_map(site_map(report), tmp_path / "site.html", offline=True)
    assert path.stat().st_size < 3 * MB
    written = write_all(tmp_path / "all")
    assert [p.name for p in written] == ["index.html", *(f"{k}.html" for k in MAP_KINDS)]
    assert all(p.exists() for p in written)


def test_cli_map(tmp_path) -> None:
    runner = CliRunner()
    out = tmp_path / "trace.html"
    result = runner.invoke(main, ["map", "trace", "-o", str(out), "--lon", "115.83", "--lat", "28.63", "--mode", "UM"])
    assert result.exit_code == 0 and out.exists() and "offline" in result.output
    bad = runner.invoke(main, ["map", "trace", "-o", str(out), "--lon", "100", "--lat", "40"])
    assert bad.exit_code == 1 and "farther than the snap distance" in bad.output
    unknown = runner.invoke(main, ["map", "heat", "-o", str(out)])
    assert unknown.exit_code == 2
    with pytest.raises(ValidationError, match="unknown station 'nowhere'"):
        trace_map("nowhere")


def test_zoning_map_units_keep_shared_borders(pages) -> None:
    """Simplified and rounded for display, the units still tile the province: no gaps, no overlaps."""
    import shapely

    from ganpo_geo.crs import area_km2

    features = _features(pages["zoning"], "control_units")
    assert len(features) == 1093
    shown = shapely.from_geojson([json.dumps(f["geometry"]) for f in features])
    total = area_km2(shown).sum()
    union = area_km2(shapely.union_all(shapely.make_valid(shown)))
    assert abs(total - union) / union < 1e-3  # overlaps
    province = area_km2(load_layer("province").geometry.to_numpy()).sum()
    # per-polygon simplification would leave ~0.3% overlaps and ~0.3% gaps here
    assert abs(union - province) / province < 1e-3  # gaps


def test_units_with_stray_parts_still_draw_with_a_warning() -> None:
    import shapely

    units = load_layer("control_units").iloc[:3].copy()
    odd = shapely.GeometryCollection([units.geometry.iloc[0], shapely.Point(116, 28)])
    units.loc[units.index[0], "geometry"] = odd
    with pytest.warns(UserWarning, match="only their polygon parts are drawn"):
        page = to_html(zoning_map(Layers(control_units=units)))
    assert len(_features(page, "control_units")) == 3


def test_save_map_is_atomic(tmp_path, monkeypatch) -> None:
    """A write that fails half-way leaves the previous map byte-identical and no temporary file."""
    import folium

    from ganpo_geo import io as ganpo_io
    from ganpo_geo.maps import save_map

    target = tmp_path / "m.html"
    save_map(folium.Map(location=[28.7, 115.9], zoom_start=7), target)
    before = target.read_bytes()

    def broken_replace(src, dst):
        msg = "disk full"
        raise OSError(msg)

    monkeypatch.setattr(ganpo_io.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        save_map(folium.Map(location=[27.0, 115.0], zoom_start=9), target)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.html"]
