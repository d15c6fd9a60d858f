"""Folium maps of every layer and analysis: zoning, rivers, phosphorus, traces, site reports.

Every map has a layer control, a bilingual legend, a scale bar, a full-screen button, a title,
and a visible notice when reference (synthesized) layers are shown. The default basemap is
drawn from the bundled layers (no tiles, no internet); ``tiles="osm"``, ``"tianditu"`` (key
from ``TIANDITU_KEY``) or ``"amap"`` add web tiles; with AMap the data are shifted to GCJ-02 so
that they line up with its tiles, and the map says so. :func:`to_html` with ``offline=True``
inlines Leaflet, its plugins and styles from the packaged copies of the ``folium-offline``
package, so the file makes no request to any CDN.

Every text that comes from data (names, rule texts) is HTML-escaped before it reaches a popup
or tooltip. Each feature carries its layer key in ``properties["_layer"]``.
"""

from __future__ import annotations

import html
import os
import re
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ganpo_geo._errors import ValidationError
from ganpo_geo.crs import JIANGXI_ALBERS, WGS84, polygonal, to_albers, wgs84_to_gcj02
from ganpo_geo.io import write_text
from ganpo_geo.layers import Layers, bundled_layers, load_layer
from ganpo_geo.loads import bundled_sources, route, trace_sources
from ganpo_geo.rivers import features_along, navigate, network_to_gdfs, river_network
from ganpo_geo.siting import check_site
from ganpo_geo.vocabulary import rules_in_scope

__all__ = [
    "CATEGORY_COLORS",
    "COORD_DECIMALS",
    "MAP_KINDS",
    "make",
    "river_map",
    "save_map",
    "site_map",
    "to_html",
    "tp_map",
    "trace_map",
    "write_all",
    "zoning_map",
]

#: Official-style palette of the control-unit categories.
CATEGORY_COLORS = {1: "#1a9850", 2: "#d73027", 3: "#fee08b"}
CATEGORY_LABELS = {
    1: "优先保护单元 Priority protection",
    2: "重点管控单元 Key control",
    3: "一般管控单元 General control",
}
BASIN_COLORS = {
    "gan": "#1f78b4",
    "fu": "#33a02c",
    "xin": "#e31a1c",
    "rao": "#ff7f00",
    "xiu": "#6a3d9a",
    "lake": "#a6cee3",
    "yangtze": "#555555",
}
#: Coordinates are written with this many decimals (about 10 m).
COORD_DECIMALS = 4
#: Display simplification of the control units and counties (degrees, as a coverage: borders
#: stay shared).
UNIT_DISPLAY_TOLERANCE = 0.002
BASEMAP_TOLERANCE = 0.005
TILES = ("none", "osm", "tianditu", "amap")
#: Fill of the site by verdict, and of the screening layers in turn.
VERDICT_COLORS = {"prohibited": "#d7301f", "conditional": "#fdae61", "allowed": "#1a9641"}
SCREEN_COLORS = ("#0570b0", "#e7298a", "#66a61e", "#e6ab02", "#a6761d")
_BY_ZH = {"county": "区县", "unit": "单元", "reach": "河段"}
_CENTER = (27.6, 115.8)
Mode = Literal["UM", "UT", "DM", "DD"]


# --------------------------------------------------------------------------- common parts


class _Shift:
    """Coordinate shift for the tiles in use (GCJ-02 for AMap), applied to all data."""

    def __init__(self, tiles: str) -> None:
        self.gcj = tiles == "amap"

    def geoms(self, geoms: np.ndarray) -> np.ndarray:
        def move(xy: np.ndarray) -> np.ndarray:
            if self.gcj:
                lon, lat = wgs84_to_gcj02(xy[:, 0], xy[:, 1], errors="coerce")
                xy = np.column_stack([lon, lat])
            return np.round(xy, COORD_DECIMALS)

        return np.asarray(shapely.transform(np.asarray(geoms, dtype=object), move), dtype=object)

    def point(self, lon: float, lat: float) -> tuple[float, float]:
        if self.gcj:
            g_lon, g_lat = wgs84_to_gcj02(lon, lat)
            return float(g_lon), float(g_lat)
        return lon, lat


def _map(
    title: str,
    *,
    m: Any = None,
    tiles: str | None = None,
    location: tuple[float, float] = _CENTER,
    zoom: int = 7,
) -> tuple[Any, _Shift]:
    """A new map (or the given one) with the standard controls, and its coordinate shift."""
    import folium
    from folium import plugins

    tiles = (tiles or "none").lower()
    if tiles == "gaode":
        tiles = "amap"
    if tiles not in TILES:
        msg = f"unknown tiles {tiles!r}: use one of {', '.join(TILES)}"
        raise ValidationError(msg)
    shift = _Shift(tiles)
    if m is not None:
        return m, m._ganpo_shift if hasattr(m, "_ganpo_shift") else shift
    m = folium.Map(location=list(location), zoom_start=zoom, tiles=None, control_scale=True, prefer_canvas=True)
    m._ganpo_shift = shift
    if tiles == "osm":
        folium.TileLayer("OpenStreetMap", name="OpenStreetMap").add_to(m)
    elif tiles == "tianditu":
        key = os.environ.get("TIANDITU_KEY")
        if not key:
            msg = "tiles='tianditu' needs a key in the environment variable TIANDITU_KEY"
            raise ValidationError(msg)
        for layer, name in (("vec", "天地图 矢量 Tianditu"), ("cva", "天地图 注记 labels")):
            url = (
                f"https://t{{s}}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
                f"&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={{z}}&TILEROW={{y}}"
                f"&TILECOL={{x}}&tk={key}"
            )
            folium.TileLayer(
                url, attr="天地图 Tianditu", name=name, subdomains="01234567", overlay=layer == "cva"
            ).add_to(m)
    elif tiles == "amap":
        folium.TileLayer(
            "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}",
            attr="高德地图 AMap (GCJ-02)",
            name="高德 AMap",
            subdomains="1234",
        ).add_to(m)
    _basemap(m, shift, tiles == "none")
    _title(m, title)
    plugins.Fullscreen(position="topleft").add_to(m)  # type: ignore[no-untyped-call]  # folium plugin untyped
    if shift.gcj:
        _control(
            m,
            html.escape("坐标已转换为GCJ-02以匹配高德底图 Data shifted to GCJ-02 to line up with AMap tiles"),
            "bottomright",
            "ganpo-box",
            "background: #e8f4ff;",
        )
    return m, shift


#: Below this width or height (CSS pixels) the layer control starts collapsed (an icon that
#: opens on hover or tap), so that it does not hide the north-east of the province.
SMALL_SCREEN = (1200, 800)


def _finish(m: Any, legend: list[LegendEntry], notices: list[str]) -> Any:
    import folium

    _legend(m, legend)
    if notices:
        _control(
            m,
            "<br>".join(html.escape(n) for n in notices),
            "bottomright",
            "ganpo-notice",
            "background: #fff3cd; max-width: 380px;",
        )
    control = folium.LayerControl(collapsed=False)
    control.add_to(m)
    _collapse_on_small_screens(m, control)
    return m


def _macro(m: Any, name: str, script: str, **attrs: Any) -> None:
    """Add a piece of JavaScript to the map (run after the map and its layers are made)."""
    from branca.element import MacroElement
    from jinja2 import Template

    el = MacroElement()  # type: ignore[no-untyped-call]  # branca is untyped
    el._name = name
    for key, value in attrs.items():
        setattr(el, key, value)
    el._template = Template("{% macro script(this, kwargs) %}" + script + "{% endmacro %}")
    m.add_child(el)


def _collapse_on_small_screens(m: Any, control: Any) -> None:
    """Collapse the layer control to its icon when the window is small (expands on hover/tap)."""
    _macro(
        m,
        "GanpoCollapse",
        "(function(){var c = " + control.get_name() + ";"
        f"if (window.innerWidth < {SMALL_SCREEN[0]} || window.innerHeight < {SMALL_SCREEN[1]})"
        "{var k = c.getContainer(); c.collapse();"
        "L.DomEvent.on(k, 'mouseenter', c.expand, c); L.DomEvent.on(k, 'mouseleave', c.collapse, c);"
        "var a = k.querySelector('.leaflet-control-layers-toggle');"
        "if (a) { L.DomEvent.on(a, 'click', function(e){ L.DomEvent.preventDefault(e); c.expand(); }); }"
        "{{ this._parent.get_name() }}.on('click', c.collapse, c);}})();",
    )


def _control(m: Any, content: str, position: str, css_class: str, style: str = "") -> None:
    """A box docked in one of Leaflet's control corners (raw HTML ``content``, already escaped).

    Leaflet stacks the controls of one corner, so boxes never cover the zoom, full-screen, scale
    or layer controls (they did when each box had its own fixed position).
    """
    _macro(
        m,
        "GanpoControl",
        "(function(){var c = L.control({position: {{ this.position|tojson }}});"
        "c.onAdd = function(){var d = L.DomUtil.create('div', {{ this.css|tojson }});"
        "d.setAttribute('style', {{ this.style|tojson }}); d.innerHTML = {{ this.content|tojson }};"
        "L.DomEvent.disableClickPropagation(d); L.DomEvent.disableScrollPropagation(d); return d;};"
        "c.addTo({{ this._parent.get_name() }});})();",
        position=position,
        css=css_class,
        content=content,
        style="background: white; padding: 6px 10px; border: 1px solid #999; border-radius: 4px; "
        "font-family: sans-serif; font-size: 12px; " + style,
    )


def _title(m: Any, title: str) -> None:
    from branca.element import Element

    m.get_root().html.add_child(
        Element(
            '<div class="ganpo-title" style="position: fixed; z-index: 1000; top: 10px; left: 60px; '
            "max-width: 40%; background: white; padding: 6px 10px; border: 1px solid #999; "
            'border-radius: 4px; font-family: sans-serif; font-size: 15px; font-weight: bold;">'
            f"{html.escape(title)}</div>"
        )
    )


class LegendEntry(NamedTuple):
    """One legend row, drawn exactly as its layer is styled.

    ``kind`` is ``"fill"`` (a polygon: fill colour at its opacity, outlined in the stroke colour),
    ``"line"`` (the stroke colour), ``"point"`` (a round marker) or ``"note"`` (text only).
    ``layer`` is the ``_layer`` key of the features the swatch stands for (the browser tests
    compare each swatch with the style Leaflet draws those features with).
    """

    label: str
    kind: str
    layer: str = ""
    fill: str = ""
    fill_opacity: float = 1.0
    stroke: str = ""


def _rgba(color: str, opacity: float) -> str:
    c = color.lstrip("#")
    r, g, b = (int(c[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r}, {g}, {b}, {opacity:g})"


def _swatch(e: LegendEntry) -> str:
    if e.kind == "note":
        return ""
    data = f'class="ganpo-swatch" data-layer="{html.escape(e.layer)}" data-kind="{e.kind}"'
    if e.kind == "line":
        return (
            f'<span {data} style="display:inline-block;width:16px;height:4px;vertical-align:middle;'
            f'background-color:{e.stroke};margin-right:6px"></span>'
        )
    shape = "border-radius:50%;width:10px;" if e.kind == "point" else "width:14px;"
    return (
        f'<span {data} style="display:inline-block;{shape}height:10px;box-sizing:border-box;'
        f"background-color:{_rgba(e.fill, e.fill_opacity)};border:2px solid {e.stroke or e.fill};"
        'margin-right:6px"></span>'
    )


def _legend(m: Any, entries: list[LegendEntry]) -> None:
    rows = "".join(f"<div>{_swatch(e)}{html.escape(e.label)}</div>" for e in entries)
    _control(m, f"<b>图例 Legend</b>{rows}", "bottomleft", "ganpo-legend")


def _display_simplify(geoms: np.ndarray, tolerance: float) -> np.ndarray:
    """Simplify polygons for display as a coverage, so neighbours keep one shared border.

    Stray points and lines (e.g. in a GeometryCollection) are dropped first. Falls back to
    per-polygon simplification (with a warning: borders may then gap) when GEOS cannot treat
    the polygons as a coverage.
    """
    kept = polygonal(geoms)
    if np.any(shapely.get_type_id(np.asarray(geoms, dtype=object)) == shapely.GeometryType.GEOMETRYCOLLECTION):
        warnings.warn(
            "a layer has GeometryCollections; only their polygon parts are drawn (ganpo validate lists them)",
            stacklevel=3,
        )
    geoms = kept
    try:
        return np.asarray(shapely.coverage_simplify(geoms, tolerance), dtype=object)
    except (shapely.errors.GEOSException, TypeError) as exc:
        warnings.warn(
            f"polygons could not be simplified as a coverage ({exc}); simplified one by one, "
            "so shared borders may show small gaps (ganpo validate shows the layer's problems)",
            stacklevel=3,
        )
        return np.asarray(shapely.simplify(geoms, tolerance, preserve_topology=True), dtype=object)


def _features(gdf: gpd.GeoDataFrame, shift: _Shift, layer_key: str, props: dict[str, Any]) -> dict[str, Any]:
    """A GeoJSON FeatureCollection: shifted, rounded geometry; escaped text properties."""
    geoms = shift.geoms(gdf.geometry.to_numpy())
    features = []
    for i, geom in enumerate(geoms):
        if geom is None or geom.is_empty:
            continue
        properties = {"_layer": layer_key}
        for key, values in props.items():
            value = values[i]
            if isinstance(value, np.generic):
                value = value.item()
            properties[key] = value
        # an id per feature: folium keys its styles on it (else on a unique property such as the
        # popup, which it would then copy into the page a second time)
        features.append(
            {"type": "Feature", "id": i, "geometry": shapely.geometry.mapping(geom), "properties": properties}
        )
    return {"type": "FeatureCollection", "features": features}


def _popup_html(title: str, rows: list[tuple[str, Any]]) -> str:
    """Popup HTML; every value escaped (values come from data files)."""
    body = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>" for k, v in rows)
    return f"<b>{html.escape(title)}</b><table>{body}</table>"


def _geojson(
    data: dict[str, Any],
    name: str,
    style: Callable[..., dict[str, Any]],
    *,
    popup: bool = True,
    tooltip: bool = True,
    point_radius: float | None = None,
    show: bool = True,
) -> Any:
    import folium

    kwargs: dict[str, Any] = {}
    if not data["features"]:  # nothing to pop up (folium checks fields against the features)
        popup = tooltip = False
    if popup:
        kwargs["popup"] = folium.GeoJsonPopup(fields=["_popup"], labels=False, max_width=420)
    if tooltip:
        kwargs["tooltip"] = folium.GeoJsonTooltip(fields=["_tip"], labels=False)
    if point_radius is not None:
        kwargs["marker"] = folium.CircleMarker(radius=point_radius, fill=True, fill_opacity=0.9)
    return folium.GeoJson(data, name=name, style_function=style, show=show, **kwargs)


def _basemap(m: Any, shift: _Shift, draw: bool) -> None:
    """The light basemap drawn from the bundled layers (used when no tiles are chosen)."""
    import folium

    if not draw:
        return
    group = folium.FeatureGroup(name="底图 Basemap (bundled boundaries)", control=True)
    province = load_layer("province")
    counties = load_layer("counties")
    counties = counties.set_geometry(
        gpd.GeoSeries(
            _display_simplify(counties.geometry.to_numpy(), BASEMAP_TOLERANCE), crs=WGS84, index=counties.index
        )
    )
    province = province.set_geometry(
        gpd.GeoSeries([shapely.coverage_union_all(counties.geometry.to_numpy())], crs=WGS84, index=province.index)
    )
    lakes = load_layer("lakes")
    big = lakes[lakes["area_km2"] > 20]
    folium.GeoJson(
        _features(province, shift, "basemap_province", {}),
        style_function=lambda f: {"color": "#777", "weight": 1.5, "fillColor": "#f4f1ea", "fillOpacity": 1},
        interactive=False,
    ).add_to(group)
    folium.GeoJson(
        _features(counties, shift, "basemap_counties", {}),
        style_function=lambda f: {"color": "#bbb", "weight": 0.6, "fill": False},
        interactive=False,
    ).add_to(group)
    folium.GeoJson(
        _features(big, shift, "basemap_lakes", {}),
        style_function=lambda f: {"color": "#7fb3d5", "weight": 0.5, "fillColor": "#cfe8f7", "fillOpacity": 1},
        interactive=False,
    ).add_to(group)
    group.add_to(m)


def _reference_notices(layers: Layers, names: list[str]) -> list[str]:
    used = [n for n in layers.reference_layers() if n.split(" ")[0] in names]
    official = [n for n in names if n in ("control_units", "redlines") and getattr(layers, n) is not None]
    official += [f"screening:{s.name}" for s in layers.screening]
    notes = ["官方数据 Official layers in use: " + ", ".join(official)] if official else []
    if not used:
        return notes
    label = {
        "control_units": "管控单元 control units",
        "redlines": "生态保护红线 red lines",
        "access_rules": "准入规则 access rules",
    }
    return [
        "参考数据（合成，非官方）Reference data, synthesized for demonstration, NOT official: "
        + ", ".join(label.get(n, n) for n in used),
        *notes,
    ]


# --------------------------------------------------------------------------- maps


def zoning_map(
    layers: Layers | None = None, *, m: Any = None, tiles: str | None = None, title: str | None = None
) -> Any:
    """The "1+11+1093" zoning: cities and counties, control units by category, red lines on top.

    Parameters
    ----------
    layers : Layers, optional
        Default: the bundled reference layers.
    m : folium.Map, optional
        Add to this map instead of a new one.
    tiles : {"none", "osm", "tianditu", "amap"}, optional
    title : str, optional

    Returns
    -------
    folium.Map
        Popups show each unit's code, name, category and its rules (city and unit lists).
    """
    import folium

    layers = layers or bundled_layers()
    m, shift = _map(
        title or "江西省环境管控单元与生态保护红线 Jiangxi environmental control units and red lines", m=m, tiles=tiles
    )
    units = layers.units().copy()
    geoms = _display_simplify(units.geometry.to_numpy(), UNIT_DISPLAY_TOLERANCE)
    units = units.set_geometry(gpd.GeoSeries(geoms, crs=WGS84, index=units.index))
    rules = layers.access_rules()
    popups = [_unit_popup(row, rules) for row in units.itertuples()]
    cat = units["category"].astype(int).to_numpy()
    data = _features(
        units,
        shift,
        "control_units",
        {
            "category": cat,
            "_popup": popups,
            "_tip": [
                f"{html.escape(str(c))} {html.escape(str(n))}"
                for c, n in zip(units["unit_code"], units["name_zh"], strict=True)
            ],
        },
    )
    _geojson(
        data,
        "环境管控单元 Control units",
        lambda f: {
            "color": "#666",
            "weight": 0.4,
            "fillColor": CATEGORY_COLORS.get(f["properties"]["category"], "#ccc"),
            "fillOpacity": 0.7,
        },
    ).add_to(m)
    cities = load_layer("cities")
    folium.GeoJson(
        _features(cities, shift, "cities", {}),
        name="地级市 Cities",
        style_function=lambda f: {"color": "#333", "weight": 1.6, "fill": False},
        interactive=False,
    ).add_to(m)
    red_entry = _add_redlines(m, layers.red(), shift, "redlines", fill=("#c2a5cf", 0.3))
    _rules_panel(m, rules)
    present = set(cat.tolist())
    legend = [
        LegendEntry(CATEGORY_LABELS[c], "fill", "control_units", CATEGORY_COLORS[c], 0.7, "#666")
        for c in (1, 2, 3)
        if c in present
    ]
    legend += [LegendEntry("地级市界 City boundaries", "line", "cities", stroke="#333")]
    legend += [red_entry] if len(layers.red()) else []
    return _finish(m, legend, _reference_notices(layers, ["control_units", "redlines", "access_rules"]))


def _add_redlines(m: Any, red: gpd.GeoDataFrame, shift: _Shift, key: str, *, fill: tuple[str, float]) -> LegendEntry:
    """The red-line zones as one GeoJSON layer, with name, English name and kind in the popups;
    returns their legend entry (drawn with the same fill and outline)."""
    n = len(red)
    popups = [
        _popup_html(f"{z} {name}", [("名称 name", e), ("类型 kind", k)])
        for z, name, e, k in zip(
            red["zone_id"], red["name_zh"], red.get("name_en", [""] * n), red.get("kind", [""] * n), strict=True
        )
    ]
    data = _features(red, shift, key, {"_popup": popups, "_tip": [html.escape(str(v)) for v in red["name_zh"]]})
    color, opacity = fill
    _geojson(
        data,
        "生态保护红线 Red lines",
        lambda f: {"color": "#7b3294", "weight": 2, "fillColor": color, "fillOpacity": opacity},
    ).add_to(m)
    return LegendEntry("生态保护红线 Ecological red line", "fill", key, color, opacity, "#7b3294")


def _unit_popup(row: Any, rules: pd.DataFrame) -> str:
    category = int(row.category)
    city = str(getattr(row, "city_adcode", ""))
    scope = rules_in_scope(rules, city_adcode=city, category=category, unit_code=row.unit_code, industry=None)
    scope &= rules["level"] != "province"
    items = ", ".join(f"{r.rule_id} ({r.effect})" for r in rules[scope].itertuples())
    return _popup_html(
        f"{row.unit_code} {row.name_zh}",
        [
            ("类别 category", f"{category} {CATEGORY_LABELS.get(category, '')}"),
            ("面积 area", f"{getattr(row, 'area_km2', float('nan')):.1f} km2"),
            ("准入规则 rules (city, unit; plus the provincial list)", items),
        ],
    )


def _rules_panel(m: Any, rules: pd.DataFrame) -> None:
    """All access rules once, in a collapsible panel (the popups cite them by id)."""
    items = "".join(
        f"<li><b>{html.escape(r.rule_id)}</b> [{html.escape(r.level)} {html.escape(r.scope)}; "
        f"{html.escape(r.dimension)}; "
        f"{html.escape(r.effect)}] {html.escape(r.text_zh)} / {html.escape(r.text_en)}"
        f"{' (reference rule)' if r.reference else ''}</li>"
        for r in rules.itertuples()
    )
    _control(
        m,
        f"<details><summary><b>准入规则 Access rules ({len(rules)})</b></summary>"
        f'<ul style="max-height: 300px; overflow: auto; max-width: 520px; padding-left: 16px">{items}</ul></details>',
        "topleft",
        "ganpo-rules",
    )


def river_map(
    G: Any = None,
    *,
    loads: pd.DataFrame | None = None,
    m: Any = None,
    tiles: str | None = None,
    title: str | None = None,
) -> Any:
    """The river network: reaches by Strahler order (or by TP load), main stems labelled, Poyang
    Lake, stations and Hukou.

    Parameters
    ----------
    G : networkx.DiGraph, optional
        Default: the bundled network.
    loads : pandas.DataFrame, optional
        ``reach_id`` and ``load_kg_yr`` (e.g. :func:`ganpo_geo.loads.route`): widths by load.
    m, tiles, title
        See :func:`zoning_map`.

    Returns
    -------
    folium.Map
    """

    G = G if G is not None else river_network()
    m, shift = _map(title or "五河一湖水系 Five rivers and Poyang Lake", m=m, tiles=tiles)
    _, reaches = network_to_gdfs(G)
    _add_lake(m, shift)
    load = None
    if loads is not None:
        load = (
            reaches["reach_id"]
            .map(pd.Series(loads["load_kg_yr"].to_numpy(), index=loads["reach_id"].to_numpy()))
            .fillna(0)
            .to_numpy()
        )
    width = _widths(reaches, load)
    data = _reach_features(reaches, shift, "reaches", width, load)
    _geojson(
        data,
        "河段 Reaches",
        lambda f: {"color": f["properties"]["color"], "weight": f["properties"]["width"], "opacity": 0.9},
    ).add_to(m)
    _labels(m, reaches, shift)
    _add_stations(m, shift)
    present = set(reaches["basin"].fillna("").astype(str)) if "basin" in reaches else set()
    legend = [
        LegendEntry(BASIN_NAMES.get(b, b), "line", "reaches", stroke=c) for b, c in BASIN_COLORS.items() if b in present
    ]
    legend += [
        _LAKE_ENTRY,
        _STATION_ENTRY,
        LegendEntry(
            "线宽 = Strahler 级数 width = Strahler order" if load is None else "线宽 = TP 负荷 width = TP load", "note"
        ),
    ]
    return _finish(m, legend, [])


def _widths(reaches: pd.DataFrame, load: np.ndarray | None) -> np.ndarray:
    if load is None:
        return np.asarray(1.0 + reaches["strahler"].fillna(1).to_numpy(dtype=float), dtype=float)
    top = max(float(np.max(load)), 1.0)
    return 1.0 + 9.0 * np.sqrt(load / top)


def _reach_features(
    reaches: pd.DataFrame, shift: _Shift, key: str, width: np.ndarray, load: np.ndarray | None = None
) -> dict[str, Any]:
    basin = reaches["basin"].fillna("").astype(str).to_numpy() if "basin" in reaches else np.full(len(reaches), "")
    names = (
        reaches.get("river_zh", pd.Series([""] * len(reaches))).fillna("").astype(str)
        + " "
        + reaches.get("river_en", pd.Series([""] * len(reaches))).fillna("").astype(str)
    ).str.strip()
    popups = []
    for i, row in enumerate(reaches.itertuples()):
        to_hukou = getattr(row, "dist_to_outlet_km", float("nan"))
        rows = [
            ("河流 river", names.iloc[i] or "-"),
            ("流域 basin", basin[i]),
            ("长度 length", f"{row.length_km:.1f} km"),
            ("Strahler", getattr(row, "strahler", "")),
            ("至湖口 to Hukou", f"{to_hukou:.1f} km"),
        ]
        if load is not None:
            rows.append(("TP 负荷 load", f"{load[i] / 1000:,.1f} t/yr"))
        popups.append(_popup_html(f"reach {row.reach_id}", rows))
    return _features(
        reaches,
        shift,
        key,
        {
            "color": [BASIN_COLORS.get(b, "#1f78b4") for b in basin],
            "width": np.round(width, 2),
            "_popup": popups,
            "_tip": [html.escape(n or f"reach {r}") for n, r in zip(names, reaches["reach_id"], strict=True)],
        },
    )


#: Chinese and English names of the basins the reaches are coloured by.
BASIN_NAMES = {
    "gan": "赣江 Gan River",
    "fu": "抚河 Fu River",
    "xin": "信江 Xin River",
    "rao": "饶河 Rao River",
    "xiu": "修河 Xiu River",
    "lake": "鄱阳湖区 Poyang Lake area",
    "yangtze": "长江 Yangtze River",
}
#: Always labelled (in Chinese, English on hover): the five rivers and the Yangtze.
MAIN_RIVERS = ("Gan River", "Fu River", "Xin River", "Rao River", "Xiu River", "Yangtze River")
_LABEL_ZOOM = 7  # the labels are placed so that they do not collide at the maps' opening zoom
_LABEL_FONT_PX = 12


def _pixel(lon: np.ndarray, lat: np.ndarray, zoom: int = _LABEL_ZOOM) -> np.ndarray:
    """Web-Mercator pixel coordinates (Leaflet's) at ``zoom``."""
    scale = 256 * 2**zoom
    lat_r = np.radians(lat)
    x = (np.asarray(lon) + 180.0) / 360.0 * scale
    y = (1 - np.log(np.tan(lat_r) + 1 / np.cos(lat_r)) / np.pi) / 2 * scale
    return np.column_stack([x, y])


def _unpixel(x: float, y: float, zoom: int = _LABEL_ZOOM) -> tuple[float, float]:
    """Inverse of :func:`_pixel` for one point: (lon, lat)."""
    scale = 256 * 2**zoom
    lon = x / scale * 360.0 - 180.0
    lat = float(np.degrees(np.arctan(np.sinh(np.pi * (1 - 2 * y / scale)))))
    return lon, lat


def _label_size(text: str, font_px: int) -> tuple[int, int]:
    wide = sum(1 for ch in text if ord(ch) > 0x2E80)
    return int(wide * font_px + (len(text) - wide) * font_px * 0.6) + 8, font_px + 6


def _label_marker(lat: float, lon: float, text: str, hover: str, size: tuple[int, int], font_px: int) -> Any:
    import folium

    w, h = size
    return folium.Marker(
        [lat, lon],
        icon=folium.DivIcon(
            icon_size=(w, h),
            icon_anchor=(w // 2, h // 2),
            class_name="ganpo-label",
            html=f'<div title="{html.escape(hover)}" style="font-size:{font_px}px;line-height:{h}px;'
            "text-align:center;color:#08306b;white-space:nowrap;font-weight:bold;"
            f'text-shadow:0 0 3px #fff,0 0 3px #fff">{html.escape(text)}</div>',
        ),
        interactive=False,
    )


def _lake_label_point() -> tuple[float, float]:
    lakes = load_layer("lakes")
    poyang = lakes[lakes["name_en"] == "Poyang Lake"].geometry.iloc[0]
    c = poyang.centroid
    point = c if poyang.contains(c) else shapely.point_on_surface(poyang)
    return float(point.x), float(point.y)


def _labels(m: Any, reaches: pd.DataFrame, shift: _Shift) -> None:
    """River names in Chinese (English on hover), placed where they do not collide.

    The five rivers and the Yangtze are placed first, then the tributaries where there is room;
    candidate positions are tried along each river's reaches and rejected when their box (at
    the opening zoom, in pixels) would overlap a label already placed, the lake's included.
    """
    import folium

    if "river_en" not in reaches:
        return
    lon, lat = _lake_label_point()
    lake_xy = _pixel(np.array([lon]), np.array([lat]))[0]
    lw, lh = _label_size("鄱阳湖", 14)
    placed = [(lake_xy[0] - lw / 2, lake_xy[1] - lh / 2, lake_xy[0] + lw / 2, lake_xy[1] + lh / 2)]
    named = reaches[~reaches["river_en"].fillna("").isin(["", "Poyang Lake (shore)"])]
    named = named[~named["river_en"].str.startswith("Poyang Lake")]
    order = [n for n in MAIN_RIVERS if n in set(named["river_en"])]
    order += sorted(set(named["river_en"]) - set(order))
    group = folium.FeatureGroup(name="河名 River names")
    fractions = np.array([0.5, 0.35, 0.65, 0.2, 0.8, 0.1, 0.9])
    for name in order:
        rows = named[named["river_en"] == name].sort_values("length_km", ascending=False)
        text = str(rows["river_zh"].iloc[0])
        font = _LABEL_FONT_PX + (1 if name in MAIN_RIVERS else -1)
        w, h = _label_size(text, font)
        lines = np.repeat(rows.geometry.to_numpy(), len(fractions))
        points = shapely.line_interpolate_point(lines, np.tile(fractions, len(rows)), normalized=True)
        xs, ys = shapely.get_x(points), shapely.get_y(points)
        pix = _pixel(xs, ys)
        # beside the river too (above, below, left, right of each point) when its line is crowded
        offsets = [(0, 0), (0, -h), (0, h), (-w * 0.6, 0), (w * 0.6, 0)]
        cands = np.concatenate([pix + np.array(o) for o in offsets])
        for px, py in cands:
            box = (px - w / 2 - 3, py - h / 2 - 3, px + w / 2 + 3, py + h / 2 + 3)
            if all(box[2] < b[0] or box[0] > b[2] or box[3] < b[1] or box[1] > b[3] for b in placed):
                placed.append(box)
                x, y = _unpixel(px, py)
                s_lon, s_lat = shift.point(x, y)
                _label_marker(s_lat, s_lon, text, name, (w, h), font).add_to(group)
                break
    group.add_to(m)


_LAKE_ENTRY = LegendEntry("鄱阳湖 Poyang Lake", "fill", "poyang_lake", "#a6cee3", 0.8, "#2c7fb8")
_STATION_ENTRY = LegendEntry("水文站 stations", "point", "stations", "#ffd700", 1.0, "#000000")


def _add_lake(m: Any, shift: _Shift) -> None:
    """Poyang Lake, and its name in Chinese (English on hover)."""
    lakes = load_layer("lakes")
    poyang = lakes[lakes["name_en"] == "Poyang Lake"]
    data = _features(
        poyang,
        shift,
        "poyang_lake",
        {
            "_popup": [
                _popup_html("鄱阳湖 Poyang Lake", [("面积 area (GSHHG)", f"{a:,.0f} km2") for a in poyang["area_km2"]])
            ],
            "_tip": ["鄱阳湖 Poyang Lake"],
        },
    )
    _geojson(
        data,
        "鄱阳湖 Poyang Lake",
        lambda f: {"color": "#2c7fb8", "weight": 1, "fillColor": "#a6cee3", "fillOpacity": 0.8},
    ).add_to(m)
    lon, lat = shift.point(*_lake_label_point())
    _label_marker(lat, lon, "鄱阳湖", "Poyang Lake", _label_size("鄱阳湖", 14), 14).add_to(m)


def _add_stations(m: Any, shift: _Shift, only: list[str] | None = None) -> None:
    stations = load_layer("stations")
    if only is not None:
        stations = stations[stations["station_id"].isin(only)]
    popups = [
        _popup_html(
            f"{r.name_zh} {r.name_en}",
            [
                ("河流 river", f"{r.river_zh} {r.river_en}"),
                ("控制面积 gauged", "" if pd.isna(r.gauged_area_km2) else f"{r.gauged_area_km2:,.0f} km2"),
                ("来源 source", r.source),
            ],
        )
        for r in stations.itertuples()
    ]
    data = _features(
        stations,
        shift,
        "stations",
        {
            "_popup": popups,
            "_tip": [html.escape(f"{z} {e}") for z, e in zip(stations["name_zh"], stations["name_en"], strict=True)],
        },
    )
    _geojson(
        data,
        "水文站 Stations (incl. Hukou 湖口)",
        lambda f: {"color": "#000000", "fillColor": "#ffd700", "weight": 1, "fillOpacity": 1.0},
        point_radius=6,
    ).add_to(m)


def tp_map(
    G: Any = None,
    *,
    by: str = "county",
    top: int = 10,
    sources: gpd.GeoDataFrame | None = None,
    m: Any = None,
    tiles: str | None = None,
    title: str | None = None,
) -> Any:
    """Delivered TP to Poyang Lake as a choropleth, the top sources, reach widths by routed load.

    Parameters
    ----------
    G : networkx.DiGraph, optional
    by : {"county", "unit", "reach"}
        The choropleth's units.
    top : int
        How many top sources to mark.
    sources : geopandas.GeoDataFrame, optional
        Default: the bundled ILLUSTRATIVE sources.
    m, tiles, title
        See :func:`zoning_map`.

    Returns
    -------
    folium.Map
    """
    import branca.colormap as cm

    if by not in ("county", "unit", "reach"):
        msg = f"by must be county, unit or reach, got {by!r}"
        raise ValidationError(msg)
    G = G if G is not None else river_network()
    sources = sources if sources is not None else bundled_sources()
    m, shift = _map(
        title or f"鄱阳湖入湖总磷来源（按{_BY_ZH[by]}）TP delivered to Poyang Lake by {by}",
        m=m,
        tiles=tiles,
    )
    traced = trace_sources(G, "poyang", by=by, sources=sources)
    total = traced.attrs["target_load_kg_yr"]
    if by == "unit":  # display geometry as in the zoning map
        units = bundled_layers().units()
        simple = pd.Series(
            _display_simplify(units.geometry.to_numpy(), UNIT_DISPLAY_TOLERANCE),
            index=units["unit_code"].to_numpy(),
        )
        geoms = gpd.GeoSeries(simple.reindex(traced["unit_code"]).to_numpy(), crs=WGS84, index=traced.index)
        traced = traced.set_geometry(geoms)
    values = traced["delivered_kg_yr"].to_numpy() / 1000
    colormap = cm.LinearColormap(
        ["#ffffcc", "#fd8d3c", "#800026"],
        vmin=0,
        vmax=max(float(values.max()), 1e-9),
        caption="入湖总磷 TP delivered to Poyang Lake (t/yr)",
    )
    if by in ("county", "unit"):
        label = traced["name_zh"].fillna("").astype(str).to_numpy()
        popups = [
            _popup_html(
                f"{k} {n}",
                [
                    ("入湖 delivered", f"{d / 1000:,.1f} t/yr"),
                    ("占比 share", f"{s:.1f}%"),
                    ("输移比 delivery", f"{f:.2f}"),
                ],
            )
            for k, n, d, s, f in zip(
                traced.iloc[:, 0],
                label,
                traced["delivered_kg_yr"],
                traced["share_pct"],
                traced["delivery_fraction"],
                strict=True,
            )
        ]
        outside = _outside_basin(traced) if by == "county" else np.zeros(len(traced), dtype=bool)
        data = _features(
            traced,
            shift,
            f"tp_{by}",
            {
                "value": np.round(values, 2),
                "outside": outside.tolist(),
                "_popup": popups if by == "county" else [""] * len(popups),
                "_tip": [html.escape(f"{n} {v:,.0f} t/yr") for n, v in zip(label, values, strict=True)],
            },
        )
        _geojson(
            data,
            f"入湖总磷 TP by {by}",
            lambda f: {
                "color": "#555555",
                "weight": 0.5,
                "fillColor": OUTSIDE_BASIN_COLOR if f["properties"]["outside"] else colormap(f["properties"]["value"]),
                "fillOpacity": 0.8,
            },
            popup=by == "county",  # 1093 unit popups would add a megabyte; the tooltip has the figures
        ).add_to(m)
    routed = route(G, sources)
    _, reaches = network_to_gdfs(G)
    load = reaches["reach_id"].map(routed.set_index("reach_id")["load_kg_yr"]).fillna(0).to_numpy()
    data = _reach_features(reaches, shift, "tp_reaches", _widths(reaches, load), load)
    _geojson(
        data,
        "河段负荷 Routed TP load",
        lambda f: {"color": "#08519c", "weight": f["properties"]["width"], "opacity": 0.8},
    ).add_to(m)
    _add_lake(m, shift)
    best = trace_sources(G, "poyang", by="source", top=top, sources=sources)
    best = best[best.geometry.notna()]
    popups = [
        _popup_html(
            f"{i} {n}", [("类型 kind", k), ("入湖 delivered", f"{d / 1000:,.1f} t/yr"), ("占比 share", f"{s:.2f}%")]
        )
        for i, n, k, d, s in zip(
            best["source_id"], best["name"], best["kind"], best["delivered_kg_yr"], best["share_pct"], strict=True
        )
    ]
    data = _features(
        best, shift, "top_sources", {"_popup": popups, "_tip": [html.escape(str(n)) for n in best["name"]]}
    )
    _geojson(
        data,
        f"前{top}位污染源 Top {top} sources",
        lambda f: {"color": "#000000", "fillColor": "#e7298a", "weight": 1, "fillOpacity": 1.0},
        point_radius=7,
    ).add_to(m)
    colormap.add_to(m)
    legend = [LegendEntry("入湖总磷 TP delivered (t/yr): 见色带 see colour bar", "note")]
    if by == "county" and bool(np.any(outside)):
        legend.append(
            LegendEntry(
                "流域外区县 County mostly outside the Poyang Lake basin",
                "fill",
                "tp_county",
                OUTSIDE_BASIN_COLOR,
                0.8,
                "#555555",
            )
        )
    legend += [
        LegendEntry("前位污染源 top sources", "point", "top_sources", "#e7298a", 1.0, "#000000"),
        LegendEntry("河段负荷 routed load (width)", "line", "tp_reaches", stroke="#08519c"),
        _LAKE_ENTRY,
    ]
    notices = [
        "总磷数据为示意（合成）ILLUSTRATIVE TP inputs, synthesized (not measured); "
        f"lake inflow {total / 1000:,.0f} t/yr"
    ]
    return _finish(
        m, legend, notices + _reference_notices(bundled_layers(), ["control_units"]) if by == "unit" else notices
    )


OUTSIDE_BASIN_COLOR = "#bdbdbd"
#: Catchment basins that drain elsewhere than Poyang Lake (the Yangtze directly, Guangdong, Hunan).
_NOT_POYANG = ("yangtze", "beijiang", "dongjiang", "xiang")


def _outside_basin(counties: gpd.GeoDataFrame) -> np.ndarray:
    """True for counties with less than half their area in the Poyang Lake basin."""
    catchments = load_layer("catchments")
    basin = shapely.union_all(catchments[~catchments["basin"].isin(_NOT_POYANG)].geometry.to_numpy())
    geoms = to_albers(counties.geometry.to_numpy())
    inside = shapely.area(shapely.intersection(geoms, to_albers([basin])[0]))
    return np.asarray(inside < 0.5 * shapely.area(geoms))


def _fit(m: Any, shift: _Shift, bounds: tuple[float, float, float, float]) -> None:
    """Open the map on ``bounds`` (min lon, min lat, max lon, max lat, WGS84)."""
    w, s, e, n = bounds
    west, south = shift.point(w, s)
    east, north = shift.point(e, n)
    m.fit_bounds([[south, west], [north, east]], padding=(30, 30))
    m._ganpo_bounds = (west, south, east, north)


def trace_map(
    start: Any = (115.83, 28.63),
    mode: Mode = "UT",
    distance_km: float | None = None,
    *,
    G: Any = None,
    m: Any = None,
    tiles: str | None = None,
    title: str | None = None,
) -> Any:
    """An upstream or downstream navigation highlighted from a point, reach or station.

    Parameters
    ----------
    start : (lon, lat), reach id or station id
    mode : {"UM", "UT", "DM", "DD"}
    distance_km : float, optional
    G, m, tiles, title
        See :func:`river_map`.

    Returns
    -------
    folium.Map
    """

    G = G if G is not None else river_network()
    stations = load_layer("stations")
    if isinstance(start, str):
        hit = stations[stations["station_id"] == start]
        if hit.empty:
            msg = f"unknown station {start!r}; stations: {', '.join(stations['station_id'])}"
            raise ValidationError(msg)
        start = (float(hit["lon"].iloc[0]), float(hit["lat"].iloc[0]))
    point = shapely.Point(start) if isinstance(start, tuple) else None
    path = navigate(G, point if point is not None else start, mode, distance_km)
    m, shift = _map(
        title or f"河网追溯 River trace: {mode}" + (f" {distance_km} km" if distance_km else ""), m=m, tiles=tiles
    )
    _, reaches = network_to_gdfs(G)
    _add_lake(m, shift)
    base = _reach_features(reaches, shift, "network", np.full(len(reaches), 1.5))
    _geojson(base, "全部河段 All reaches", lambda f: {"color": "#9ecae1", "weight": 1.5}, popup=False).add_to(m)
    hl = _reach_features(path, shift, "trace", np.full(len(path), 5.0))
    _geojson(hl, f"追溯河段 Traced reaches ({mode})", lambda f: {"color": "#e6550d", "weight": 5}).add_to(m)
    legend = [
        LegendEntry("追溯河段 traced reaches", "line", "trace", stroke="#e6550d"),
        LegendEntry("其他河段 other reaches", "line", "network", stroke="#9ecae1"),
    ]
    if point is not None:
        start_data = _features(
            gpd.GeoDataFrame(geometry=[point], crs=WGS84),
            shift,
            "trace_start",
            {"_popup": [_popup_html("起点 start", [("", str(start))])], "_tip": [html.escape(f"起点 start {start}")]},
        )
        _geojson(
            start_data,
            "起点 Start",
            lambda f: {"color": "#000000", "fillColor": "#e6550d", "weight": 1, "fillOpacity": 1.0},
            point_radius=9,
        ).add_to(m)
        legend.append(LegendEntry("起点 start", "point", "trace_start", "#e6550d", 1.0, "#000000"))
    found = features_along(G, point if point is not None else start, stations, mode, distance_km)
    _add_stations(m, shift, list(found["station_id"]))
    if len(found):
        legend.append(_STATION_ENTRY._replace(label="沿途水文站 stations on the path"))
    legend.append(_LAKE_ENTRY)
    extent = shapely.union_all([*path.geometry.to_numpy(), *([point] if point is not None else [])])
    if not extent.is_empty:
        _fit(m, shift, tuple(shapely.bounds(extent).tolist()))
    return _finish(m, legend, [])


def site_map(
    report: Any,
    *,
    layers: Layers | None = None,
    m: Any = None,
    tiles: str | None = None,
    title: str | None = None,
    notices: bool = True,
) -> Any:
    """One site report: the site, its buffer, the units it touches, red lines near it, the nearest
    reach and the way down to Poyang Lake; the map opens on the site's buffer and the nearest
    river bank.

    Parameters
    ----------
    report : SiteReport
        From :func:`ganpo_geo.siting.check_site`.
    layers : Layers, optional
        The layers the report was made with (e.g. :meth:`Layers.from_file`): their control units,
        red lines and screening layers are drawn; default the bundled reference layers.
    m, tiles, title
        See :func:`zoning_map`.
    notices : bool
        Show the report's data notices on the map (a printed report shows them beside it).

    Returns
    -------
    folium.Map
    """
    site = shapely.from_wkt(report.site["wkt"])
    m, shift = _map(
        title or f"选址检查 Site check: {report.verdict} ({report.site['industry']})",
        m=m,
        tiles=tiles,
        location=(site.centroid.y, site.centroid.x),
        zoom=11,
    )
    layers = layers or bundled_layers()
    ring = gpd.GeoSeries(
        [shapely.buffer(to_albers([site])[0], max(report.site["buffer_m"], 1.0))], crs=JIANGXI_ALBERS
    ).to_crs(WGS84)
    area = shapely.buffer(ring.iloc[0], 0.05)
    units = layers.units()
    near_units = units[units.intersects(area)]
    codes, names, cats = near_units["unit_code"], near_units["name_zh"], near_units["category"]
    data = _features(
        near_units,
        shift,
        "site_units",
        {
            "category": cats.astype(int).to_numpy(),
            "_popup": [
                _popup_html(f"{c} {n}", [("类别 category", CATEGORY_LABELS.get(int(k), k))])
                for c, n, k in zip(codes, names, cats, strict=True)
            ],
            "_tip": [html.escape(f"{c} {n}") for c, n in zip(codes, names, strict=True)],
        },
    )
    unit_status = "official 官方" if layers.control_units is not None else "reference 参考"
    _geojson(
        data,
        f"管控单元 Control units ({unit_status})",
        lambda f: {
            "color": "#666666",
            "weight": 0.6,
            "fillColor": CATEGORY_COLORS.get(f["properties"]["category"], "#cccccc"),
            "fillOpacity": 0.5,
        },
    ).add_to(m)
    legend = [
        LegendEntry(CATEGORY_LABELS[c], "fill", "site_units", CATEGORY_COLORS[c], 0.5, "#666666")
        for c in (1, 2, 3)
        if c in set(cats.astype(int).tolist())
    ]
    red = layers.red()
    red = red[red.intersects(area)]
    red_entry = _add_redlines(m, red, shift, "site_redlines", fill=("#7b3294", 0.35))
    legend += [red_entry._replace(label="生态保护红线 red line")] if len(red) else []
    for i, screen in enumerate(layers.screening):
        zones = screen.zones[screen.zones.intersects(area)]
        color = SCREEN_COLORS[i % len(SCREEN_COLORS)]
        sdata = _features(
            zones,
            shift,
            f"site_screening_{i}",
            {
                "_popup": [
                    _popup_html(f"{screen.name}: {n}", [("effect", screen.effect), ("", screen.text_zh)])
                    for n in zones["name_zh"].astype(str)
                ],
                "_tip": [html.escape(f"{screen.name} {n}") for n in zones["name_zh"].astype(str)],
            },
        )
        _geojson(
            sdata,
            f"{screen.name} (screening 筛查图层, official 官方)",
            lambda f, c=color: {"color": c, "weight": 1.5, "fillColor": c, "fillOpacity": 0.3},
        ).add_to(m)
        if len(zones):
            legend.append(
                LegendEntry(f"{screen.name} (screening 筛查)", "fill", f"site_screening_{i}", color, 0.3, color)
            )
    _add_lake(m, shift)
    legend.append(_LAKE_ENTRY)
    extent = [ring.iloc[0]]
    if report.river.get("reach_id") is not None:
        G = river_network()
        down = navigate(G, int(report.river["reach_id"]), "DM")
        data = _reach_features(down, shift, "site_downstream", np.full(len(down), 4.0))
        _geojson(data, "下游至湖口 Way down to Hukou", lambda f: {"color": "#08519c", "weight": 4}).add_to(m)
        legend.append(
            LegendEntry("下游路径 way downstream (nearest reach first)", "line", "site_downstream", stroke="#08519c")
        )
        first = down[down["reach_id"] == int(report.river["reach_id"])].geometry
        if len(first):  # the nearest bank in view too
            extent.append(shapely.shortest_line(site, first.iloc[0]))
    buf = _features(
        gpd.GeoDataFrame(geometry=ring, crs=WGS84),
        shift,
        "site_buffer",
        {
            "_popup": [_popup_html("缓冲区 buffer", [("半径 radius", f"{report.site['buffer_m']:.0f} m")])],
            "_tip": [f"buffer {report.site['buffer_m']:.0f} m"],
        },
    )
    _geojson(
        buf,
        "筛查缓冲区 Screening buffer",
        lambda f: {"color": "#000000", "weight": 1.5, "dashArray": "5,5", "fill": False},
    ).add_to(m)
    legend.append(
        LegendEntry(f"筛查缓冲区 buffer {report.site['buffer_m']:.0f} m", "line", "site_buffer", stroke="#000000")
    )
    reasons = [(r["source"], r["effect"], r["text_zh"]) for r in report.reasons]
    popup = _popup_html(
        f"{report.verdict} — {report.site['industry']}",
        [(s, f"[{e}] {t}") for s, e, t in reasons] or [("", "no restricting rule 无限制性规则")],
    )
    site_data = _features(
        gpd.GeoDataFrame(geometry=[site], crs=WGS84),
        shift,
        "site",
        {"_popup": [popup], "_tip": [html.escape(f"选址 site: {report.verdict}")]},
    )
    verdict_color = VERDICT_COLORS[report.verdict]
    kind = {"Point": "point", "MultiPoint": "point", "LineString": "line", "MultiLineString": "line"}.get(
        site.geom_type, "fill"
    )
    # a line is drawn in the verdict's colour (its stroke is all there is to see)
    stroke = verdict_color if kind == "line" else "#000000"
    weight = 5 if kind == "line" else 2
    _geojson(
        site_data,
        "拟选址 Site",
        lambda f: {"color": stroke, "fillColor": verdict_color, "weight": weight, "fillOpacity": 0.9},
        point_radius=9,
    ).add_to(m)
    legend.insert(0, LegendEntry(f"选址结论 verdict: {report.verdict}", kind, "site", verdict_color, 0.9, stroke))
    _fit(m, shift, tuple(shapely.bounds(shapely.union_all(extent)).tolist()))
    return _finish(m, legend, list(report.data_notice) if notices else [])


# --------------------------------------------------------------------------- output


# CJK ideographs, CJK punctuation (U+3000-303F) and full-width forms (U+FF00-FFEF)
_CJK_ESCAPE = re.compile(r"(?<!\\)\\u(30[0-3][0-9a-f]|4[e-f][0-9a-f]{2}|[5-9][0-9a-f]{3}|ff[0-9a-e][0-9a-f])")
_UNUSED = re.compile(r"jquery|bootstrap|awesome|fontawesome|glyphicons", re.IGNORECASE)
_LINK = re.compile(r'<link\s+rel="stylesheet"\s+href="(https?://[^"]+)"\s*/?>')
_SCRIPT = re.compile(r'<script\s+src="(https?://[^"]+)"\s*>\s*</script>')


def to_html(m: Any, *, offline: bool = False) -> str:
    """The map as one HTML page; with ``offline`` every script and style is inlined.

    Parameters
    ----------
    m : folium.Map
    offline : bool
        Inline Leaflet, its plugins and styles from the packaged copies (``folium-offline``):
        the page then makes no request to any CDN.

    Returns
    -------
    str

    Raises
    ------
    ValidationError
        ``offline`` with a resource that has no packaged copy (the page would need the web).
    """
    # JSON escapes every Chinese character as \\uXXXX (6 bytes); as UTF-8 it is 3. Only CJK
    # ideographs are restored: the escapes of < > & stay, which keeps data inert in the page.
    page = _CJK_ESCAPE.sub(lambda mm: chr(int(mm.group(1), 16)), m.get_root().render())
    # folium's default jQuery, Bootstrap and icon fonts serve widgets these maps do not use
    page = _SCRIPT.sub(lambda mm: "" if _UNUSED.search(mm.group(1)) else mm.group(0), page)
    page = _LINK.sub(lambda mm: "" if _UNUSED.search(mm.group(1)) else mm.group(0), page)
    if not offline:
        return page
    try:
        from offlinefolium.elements import _res as packaged
    except ImportError:
        msg = "offline maps need the folium-offline package: pip install folium-offline"
        raise ValidationError(msg) from None

    def script(match: re.Match[str]) -> str:
        url = match.group(1)
        if url not in packaged:
            msg = f"no packaged copy of {url}: this map cannot be written offline"
            raise ValidationError(msg)
        return "<script>" + packaged[url].replace("</script", "<\\/script") + "</script>"

    def style(match: re.Match[str]) -> str:
        url = match.group(1)
        if url not in packaged:
            msg = f"no packaged copy of {url}: this map cannot be written offline"
            raise ValidationError(msg)
        return "<style>" + packaged[url] + "</style>"

    page = _SCRIPT.sub(script, page)
    page = _LINK.sub(style, page)
    left = re.findall(r'<script[^>]+src="(https?://[^"]+)"|<link[^>]+href="(https?://[^"]+)"', page)
    if left:
        msg = f"the offline page still loads {next(u for u in left[0] if u)}"
        raise ValidationError(msg)
    return page


def save_map(m: Any, path: str | Path, *, offline: bool = False) -> Path:
    """Write a map to an HTML file (see :func:`to_html`).

    Parameters
    ----------
    m : folium.Map
    path : path
    offline : bool

    Returns
    -------
    pathlib.Path

    Notes
    -----
    Written atomically (a temporary file in the same folder, then a rename): an interrupted
    write leaves the previous file as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    html_text = to_html(m, offline=offline)  # build first: a failure here leaves no file at all
    return write_text(path, html_text)


SAMPLE_SITE = (115.89, 28.68)  # Nanchang centre (tests/data/real_places.csv: Bayi Park)
SAMPLE_INDUSTRY = "化工"
SAMPLE_TRACE: tuple[str, Mode] = ("waizhou", "UT")
MAP_KINDS = ("zoning", "rivers", "tp", "trace", "site")


def make(kind: str, *, tiles: str | None = None, **options: Any) -> Any:
    """Build one of the standard maps by name.

    Parameters
    ----------
    kind : {"zoning", "rivers", "tp", "trace", "site"}
    tiles : str, optional
    **options
        ``lon``, ``lat`` (trace start or site), ``industry`` (site), ``mode``, ``distance_km``
        (trace), ``by``, ``top`` (tp), ``layers`` (a :class:`~ganpo_geo.layers.Layers`, for the
        zoning, tp and site maps).

    Returns
    -------
    folium.Map
    """
    layers = options.get("layers")
    if kind == "zoning":
        return zoning_map(layers, tiles=tiles)
    if kind == "rivers":
        return river_map(tiles=tiles)
    if kind == "tp":
        return tp_map(by=options.get("by") or "county", top=options.get("top") or 10, tiles=tiles)
    if kind == "trace":
        start = (options["lon"], options["lat"]) if options.get("lon") is not None else SAMPLE_TRACE[0]
        mode: Mode = options.get("mode") or SAMPLE_TRACE[1]
        return trace_map(start, mode, options.get("distance_km"), tiles=tiles)
    if kind == "site":
        where = (options["lon"], options["lat"]) if options.get("lon") is not None else SAMPLE_SITE
        report = check_site(
            where,
            industry=options.get("industry") or SAMPLE_INDUSTRY,
            crs=options.get("crs") or "wgs84",
            layers=layers,
        )
        return site_map(report, layers=layers, tiles=tiles)
    msg = f"unknown map {kind!r}: use one of {', '.join(MAP_KINDS)}"
    raise ValidationError(msg)


_DESCRIPTIONS = {
    "zoning": "环境管控单元与生态保护红线 Control units and red lines (reference data)",
    "rivers": "五河一湖水系 The five rivers and Poyang Lake",
    "tp": "鄱阳湖入湖总磷来源 Where Poyang Lake's phosphorus comes from (illustrative)",
    "trace": "外洲站以上河网 Upstream of Waizhou station (Gan River)",
    "site": "南昌化工项目选址检查 Sample site check: a chemical plant in Nanchang",
}


def write_all(out_dir: str | Path = "maps", *, offline: bool = True, tiles: str | None = None) -> list[Path]:
    """Write every standard map and an ``index.html`` linking them.

    Parameters
    ----------
    out_dir : path
    offline : bool
        Self-contained files (no CDN), the default.
    tiles : str, optional

    Returns
    -------
    list of pathlib.Path
        The files written, index first.
    """
    out = Path(out_dir)
    written = [save_map(make(kind, tiles=tiles), out / f"{kind}.html", offline=offline) for kind in MAP_KINDS]
    items = "".join(f'<li><a href="{kind}.html">{html.escape(_DESCRIPTIONS[kind])}</a></li>' for kind in MAP_KINDS)
    index = out / "index.html"
    write_text(
        index,
        "<!DOCTYPE html><html lang='zh'><head><meta charset='utf-8'><title>ganpo_geo maps</title></head>"
        "<body style='font-family:sans-serif;max-width:50em;margin:2em auto'><h1>ganpo_geo 地图 maps</h1>"
        f"<ul>{items}</ul><p>Control units, red lines and access rules are reference data synthesized for "
        "demonstration, not the official zoning; TP inputs are illustrative.</p></body></html>",
        encoding="utf-8",
    )
    return [index, *written]
