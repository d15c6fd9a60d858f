"""River network: build from lines, orient, name, order, navigate, snap.

The network is a :class:`networkx.DiGraph` whose edges are river reaches (flowing from ``u`` to
``v``) and whose nodes are junctions, sources, lakes and the outlet. Geometries are stored in
WGS84; lengths and distances are measured in the Jiangxi Albers equal-area CRS.

Building rules (:func:`network_from_lines`), stated once:

- Lines are split into reaches only where a line *ends* on another line or at another line's
  end (within ``snap_tolerance_m``). Two lines that cross without either ending there (an
  aqueduct, a bridge, a canal crossing) are not joined; such crossings are counted in
  ``G.graph["crossings"]``.
- A line end within the tolerance of another line's interior splits that line there
  (T-junction). Line ends within the tolerance of each other become one node.
- A line that duplicates another (Hausdorff distance within the tolerance) is dropped and
  listed in ``G.graph["duplicates"]``.
- Every lake polygon becomes one lake node. Line parts inside a lake are removed; the cut
  ends, and dangling line ends within ``lake_tolerance_m`` of the lake, join the lake node.
  A line whose two ends both join the same lake (along or across its shore) is lake, and
  dropped.
- Each reach flows toward the end that is nearer the outlet along the network (shortest
  path). Loops and braids keep all their channels: a closed line is split in three, a second
  channel between the same two nodes is split at its midpoint, and the distance rule orients
  them so that the graph stays acyclic; the node where channels part has two downstream
  reaches (a diversion).
- Pieces not connected to the outlet are reported with a warning and listed (input row
  labels) in ``G.graph["disconnected"]``; they are not in the graph.

Arrays and indexes derived from a graph (routing arrays, snapping indexes, the reach table) are
cached with it and dropped as soon as the graph changes: the graph's node, adjacency and edge
dicts are swapped for dicts that count their own edits (see ``_GraphCache``). Graphs made here
are tracked from the start; a graph you build yourself is tracked at its first use, so edit it
through the graph (``G.edges[e]["length_km"] = ...``) rather than through a dict reference
taken before that first use. ``G.copy()`` gets its own cache; graph views are not cached.
"""

from __future__ import annotations

import itertools
import logging
import warnings
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from shapely.ops import substring

from ganpo_geo._checks import check_number, renamed_parameters
from ganpo_geo._errors import ValidationError
from ganpo_geo._index import GRID_MIN_POINTS, LineChunks, NearestLines, snap_to_lines
from ganpo_geo._layerfiles import load_layer
from ganpo_geo._network import _Arrays, _arrays, _cached, _gather, _graph_cache, _groups
from ganpo_geo.basins import (  # re-exported: they lived here before ganpo_geo.basins
    POYANG_BASINS,
    basin_of,
    basins_touched,
    catchment_of,
    catchments,
    poyang_share_of_jiangxi,
)
from ganpo_geo.crs import JIANGXI_ALBERS, WGS84, as_sites, to_albers, to_wgs84, transformer
from ganpo_geo.types import CRSLike, Edge, GeometryLike, NavMode

__all__ = [
    "FEATURES_MAX_SNAP_M",
    "MAX_SNAP_M",
    "NAVIGATION_MODES",
    "POYANG_BASINS",
    "NetworkBuildWarning",
    "basin_of",
    "basins_touched",
    "catchment_of",
    "catchments",
    "compute_reach_attributes",
    "features_along",
    "navigate",
    "network_from_gdfs",
    "network_from_lines",
    "network_to_gdfs",
    "poyang_share_of_jiangxi",
    "reaches_gdf",
    "river_network",
    "snap",
    "upstream_basin",
]

logger = logging.getLogger(__name__)

NAVIGATION_MODES = ("UM", "UT", "DM", "DD")
Mode = NavMode  # the old name of the alias (kept: it was importable)

#: Snap radius policy. The farthest a point may be from a reach to be snapped to it is always the
#: parameter ``max_snap_m`` (metres); its default is the one of the task: 5 km for a point a user
#: gives (:func:`snap`, :func:`navigate` from a point, ``ganpo river ... --max-snap-m``), 2 km for
#: point features put on a path (:data:`FEATURES_MAX_SNAP_M`, monitoring stations sit on their
#: river), 10 km for pollution sources (:data:`ganpo_geo.loads.SOURCES_MAX_SNAP_M`; farther ones
#: fall back to their catchment) and 20 km for the nearest reach the site check reports
#: (:data:`ganpo_geo.siting.MAX_SNAP_M`).
MAX_SNAP_M = 5000.0
#: Default ``max_snap_m`` of :func:`features_along`.
FEATURES_MAX_SNAP_M = 2000.0


class NetworkBuildWarning(UserWarning):
    """Something in the input lines was not used as given (reported, never silent)."""


# --------------------------------------------------------------------------- building


@dataclass
class _Pieces:
    """Working set of line pieces in the metric CRS."""

    geoms: np.ndarray  # LineStrings, metres
    source: np.ndarray  # input row label of each piece (object array)


def _explode(lines: gpd.GeoDataFrame) -> _Pieces:
    geoms = lines.geometry.to_numpy()
    parts, index = shapely.get_parts(geoms, return_index=True)
    kind = shapely.get_type_id(parts)
    keep = (kind == shapely.GeometryType.LINESTRING) & ~shapely.is_empty(parts)
    parts, index = parts[keep], index[keep]
    keep = shapely.length(parts) > 0
    labels = np.asarray(lines.index, dtype=object)
    return _Pieces(parts[keep], labels[index[keep]])


def _drop_duplicates(pieces: _Pieces, tol: float) -> tuple[_Pieces, list[Hashable]]:
    """Drop pieces within Hausdorff distance ``tol`` of an earlier piece."""
    tree = shapely.STRtree(pieces.geoms)
    left, right = tree.query(pieces.geoms, predicate="dwithin", distance=tol)
    mask = left < right
    left, right = left[mask], right[mask]
    if left.size == 0:
        return pieces, []
    # cheap filters first: a duplicate has about the same length and the same two ends
    length = shapely.length(pieces.geoms)
    start, end = shapely.get_point(pieces.geoms, 0), shapely.get_point(pieces.geoms, -1)
    same_ends = (
        (shapely.distance(start[left], start[right]) <= tol) & (shapely.distance(end[left], end[right]) <= tol)
    ) | ((shapely.distance(start[left], end[right]) <= tol) & (shapely.distance(end[left], start[right]) <= tol))
    cand = same_ends & (np.abs(length[left] - length[right]) <= 2 * tol)
    left, right = left[cand], right[cand]
    close = shapely.hausdorff_distance(pieces.geoms[left], pieces.geoms[right]) <= tol
    drop = np.unique(right[close])
    keep = np.ones(len(pieces.geoms), dtype=bool)
    keep[drop] = False
    return _Pieces(pieces.geoms[keep], pieces.source[keep]), list(pieces.source[drop])


def _cut_lakes(pieces: _Pieces, lake_geoms: np.ndarray) -> _Pieces:
    """Remove the parts of lines inside lakes."""
    if lake_geoms.size == 0:
        return pieces
    lake_union = shapely.union_all(lake_geoms)
    hit = shapely.intersects(pieces.geoms, lake_union)
    if not hit.any():
        return pieces
    cut = shapely.difference(pieces.geoms[hit], lake_union)
    parts, index = shapely.get_parts(cut, return_index=True)
    parts = shapely.line_merge(parts) if parts.size else parts
    parts, index2 = shapely.get_parts(parts, return_index=True)
    index = index[index2]
    ok = (shapely.get_type_id(parts) == shapely.GeometryType.LINESTRING) & (shapely.length(parts) > 0)
    src_hit = pieces.source[hit]
    return _Pieces(
        np.concatenate([pieces.geoms[~hit], parts[ok]]),
        np.concatenate([pieces.source[~hit], src_hit[index[ok]]]),
    )


def _split_at(geom: shapely.LineString, positions: Iterable[float]) -> list[shapely.LineString]:
    cuts = [0.0, *sorted(set(positions)), geom.length]
    out = []
    for start, end in itertools.pairwise(cuts):
        if end - start > 0:
            out.append(substring(geom, start, end))
    return out


def _split_t_junctions(pieces: _Pieces, tol: float) -> _Pieces:
    """Split lines where another line's end lies on their interior (within ``tol``)."""
    n = len(pieces.geoms)
    ends = np.concatenate([shapely.get_point(pieces.geoms, 0), shapely.get_point(pieces.geoms, -1)])
    owner = np.concatenate([np.arange(n), np.arange(n)])
    tree = shapely.STRtree(pieces.geoms)
    end_idx, line_idx = tree.query(ends, predicate="dwithin", distance=tol)
    other = owner[end_idx] != line_idx
    end_idx, line_idx = end_idx[other], line_idx[other]
    if end_idx.size == 0:
        return pieces
    pos = shapely.line_locate_point(pieces.geoms[line_idx], ends[end_idx])
    length = shapely.length(pieces.geoms[line_idx])
    interior = (pos > tol) & (pos < length - tol)
    if not interior.any():
        return pieces
    splits = pd.Series(pos[interior]).groupby(line_idx[interior]).agg(list)
    keep = np.ones(n, dtype=bool)
    new_geoms, new_src = [], []
    for i, positions in splits.items():
        keep[i] = False
        parts = _split_at(pieces.geoms[i], positions)
        new_geoms.extend(parts)
        new_src.extend([pieces.source[i]] * len(parts))
    return _Pieces(
        np.concatenate([pieces.geoms[keep], np.array(new_geoms, dtype=object)]),
        np.concatenate([pieces.source[keep], np.array(new_src, dtype=object)]),
    )


def _split_closed(pieces: _Pieces, tol: float) -> _Pieces:
    """Split closed lines (loops) in three so that they become ordinary reaches."""
    closed = shapely.is_closed(pieces.geoms) & (shapely.length(pieces.geoms) > 3 * tol)
    if not closed.any():
        return pieces
    geoms, src = [], []
    for geom, label in zip(pieces.geoms[closed], pieces.source[closed], strict=True):
        parts = _split_at(geom, [geom.length / 3, 2 * geom.length / 3])
        geoms.extend(parts)
        src.extend([label] * len(parts))
    return _Pieces(
        np.concatenate([pieces.geoms[~closed], np.array(geoms, dtype=object)]),
        np.concatenate([pieces.source[~closed], np.array(src, dtype=object)]),
    )


def _cluster_points(points: np.ndarray, tol: float) -> np.ndarray:
    """Label points so that points within ``tol`` of each other (transitively) share a label."""
    from scipy import sparse  # lazy on purpose: scipy.sparse costs ~1 s to import; only builds and walks use it
    from scipy.sparse import csgraph

    tree = shapely.STRtree(points)
    left, right = tree.query(points, predicate="dwithin", distance=tol)
    n = len(points)
    adj = sparse.coo_matrix((np.ones(left.size, dtype=np.int8), (left, right)), shape=(n, n))
    _, labels = csgraph.connected_components(adj, directed=False)
    out: np.ndarray = labels
    return out


def network_from_lines(
    lines: gpd.GeoDataFrame,
    *,
    outlet: Any,
    lakes: gpd.GeoDataFrame | None = None,
    snap_tolerance_m: float = 100.0,
    lake_tolerance_m: float | None = None,
    lake_name_col: str = "name_en",
    max_outlet_distance_m: float = 5000.0,
) -> nx.DiGraph:
    """Build a river network (DiGraph) oriented toward an outlet from river lines.

    Parameters
    ----------
    lines : geopandas.GeoDataFrame
        River lines (LineString/MultiLineString) in any CRS: the bundled GSHHG lines, a 1:250k
        hydrography layer, HydroRIVERS or OSM waterways. Row labels are kept as ``source``.
    outlet : shapely Point or (lon, lat)
        The network outlet in WGS84; the nearest node becomes the outlet node.
    lakes : geopandas.GeoDataFrame, optional
        Lake polygons; each becomes one lake node (see the module docstring for the rules).
    snap_tolerance_m : float
        Line ends closer than this to another line or line end are joined (metres).
    lake_tolerance_m : float, optional
        Dangling line ends closer than this to a lake join the lake node (default: the snap
        tolerance). GSHHG lake outlines and WDBII river ends can be kilometres apart.
    lake_name_col : str
        Column of ``lakes`` with the lake name, copied to the lake node.
    max_outlet_distance_m : float
        The outlet must lie within this distance of a node.

    Returns
    -------
    networkx.DiGraph
        Nodes have ``x``, ``y`` (WGS84) and ``kind`` (``"outlet"``, ``"lake"``,
        ``"junction"``, ``"source"``); edges have ``reach_id``, ``geometry`` (WGS84
        LineString drawn downstream), ``length_km``, ``source`` (input row label) and the
        attributes of :func:`compute_reach_attributes`. ``G.graph`` holds ``outlet``,
        ``crs``, ``disconnected``, ``duplicates`` and ``crossings``.

    Raises
    ------
    ValidationError
        No usable lines, or the outlet is too far from every line.
    """
    from scipy import sparse  # lazy on purpose: scipy.sparse costs ~1 s to import; only builds and walks use it
    from scipy.sparse import csgraph

    if not isinstance(lines, gpd.GeoDataFrame) or len(lines) == 0:
        msg = "network_from_lines needs a non-empty GeoDataFrame of river lines"
        raise ValidationError(msg)
    tol = float(snap_tolerance_m)
    lake_tol = tol if lake_tolerance_m is None else float(lake_tolerance_m)
    metric = to_wgs84(lines).to_crs(JIANGXI_ALBERS)
    pieces = _explode(metric)
    if len(pieces.geoms) == 0:
        msg = "network_from_lines: the lines contain no LineString with a length"
        raise ValidationError(msg)
    pieces, duplicates = _drop_duplicates(pieces, tol)

    lake_geoms = np.empty(0, dtype=object)
    lake_names: list[str] = []
    if lakes is not None and len(lakes):
        lakes_m = to_wgs84(lakes)
        lake_geoms = to_albers(lakes_m.geometry)
        if lake_name_col in lakes_m.columns:
            lake_names = [str(v) for v in lakes_m[lake_name_col]]
        else:
            lake_names = [str(v) for v in lakes_m.index]
        pieces = _cut_lakes(pieces, lake_geoms)

    pieces = _split_t_junctions(pieces, tol)
    pieces = _split_closed(pieces, tol)
    geoms = pieces.geoms
    n = len(geoms)

    # nodes: clusters of line ends
    ends = np.concatenate([shapely.get_point(geoms, 0), shapely.get_point(geoms, -1)])
    labels = _cluster_points(ends, tol)
    _, first = np.unique(labels, return_index=True)
    node_xy = shapely.get_coordinates(ends[first])  # one representative end per cluster
    n_nodes = len(node_xy)
    u, v = labels[:n], labels[n:]

    # lakes: cut ends and dangling ends near a lake join the lake node
    node_lake = np.full(n_nodes, -1)
    if lake_geoms.size:
        degree = np.bincount(np.concatenate([u, v]), minlength=n_nodes)
        node_pts = shapely.points(node_xy)
        tree = shapely.STRtree(lake_geoms)
        nd, lk = tree.query(node_pts, predicate="dwithin", distance=max(lake_tol, tol))
        dist = shapely.distance(node_pts[nd], lake_geoms[lk])
        ok = (dist <= tol) | ((degree[nd] == 1) & (dist <= lake_tol))
        nd, lk, dist = nd[ok], lk[ok], dist[ok]
        order = np.lexsort((dist, nd))  # nearest lake per node
        nd, lk = nd[order], lk[order]
        firsts = np.unique(nd, return_index=True)[1]
        node_lake[nd[firsts]] = lk[firsts]
    lake_node_ids = {}
    remap = np.arange(n_nodes)
    for lake_idx in np.unique(node_lake[node_lake >= 0]):
        members = np.flatnonzero(node_lake == lake_idx)
        lake_node_ids[int(lake_idx)] = int(members[0])
        remap[members] = members[0]
    u, v = remap[u], remap[v]
    lake_point = {}
    for lake_idx, node in lake_node_ids.items():
        lake_point[node] = shapely.get_coordinates(lake_geoms[lake_idx].representative_point())[0]
        node_xy[node] = lake_point[node]

    # drop reaches that collapsed into a point; split parallel channels
    loops = u == v
    if loops.any():
        short = loops & (shapely.length(geoms) <= 3 * tol)
        if short.any():
            logger.debug("dropping %d reaches shorter than the snap tolerance", short.sum())
        # a line whose two ends both join the same lake runs along or across the lake: lake
        lake_loop = loops & np.isin(u, list(lake_point)) if lake_point else np.zeros(len(u), bool)
        if lake_loop.any():
            logger.debug("dropping %d lines with both ends on one lake", lake_loop.sum())
        short = short | lake_loop
        geoms, u, v, src = geoms[~short], u[~short], v[~short], pieces.source[~short]
    else:
        src = pieces.source
    geoms, u, v, src, node_xy = _split_parallel(geoms, u, v, src, node_xy)
    n_nodes = len(node_xy)

    # snap reach ends onto their nodes (lake ends keep the shore point)
    geoms = _snap_ends(geoms, u, v, node_xy, set(lake_point))

    # outlet and orientation
    outlet_pt = shapely.Point(outlet) if not isinstance(outlet, shapely.Geometry) else outlet
    outlet_m = to_wgs84(gpd.GeoSeries([outlet_pt], crs=WGS84)).to_crs(JIANGXI_ALBERS).iloc[0]
    node_pts = shapely.points(node_xy)
    d_out = shapely.distance(node_pts, outlet_m)
    for lake_idx, node in lake_node_ids.items():  # a lake node stands for its whole polygon
        d_out[node] = shapely.distance(lake_geoms[lake_idx], outlet_m)
    outlet_node = int(np.argmin(d_out))
    if d_out[outlet_node] > max_outlet_distance_m:
        msg = (
            f"the outlet {outlet_pt.wkt} is {d_out[outlet_node] / 1000:.1f} km from the nearest "
            f"line end (limit {max_outlet_distance_m / 1000:.1f} km): give an outlet on the network"
        )
        raise ValidationError(msg)
    length = shapely.length(geoms)
    adj = sparse.coo_matrix((length, (u, v)), shape=(n_nodes, n_nodes)).tocsr()
    dist = csgraph.dijkstra(adj, directed=False, indices=outlet_node)
    connected = np.isfinite(dist[u]) & np.isfinite(dist[v])
    disconnected = sorted({*src[~connected]}, key=str)
    if disconnected:
        msg = (
            f"{len(disconnected)} input line(s) are not connected to the outlet and were left "
            f"out; their labels are in G.graph['disconnected'] (first: {disconnected[:5]})"
        )
        warnings.warn(msg, NetworkBuildWarning, stacklevel=2)
    if duplicates:
        msg = f"{len(duplicates)} duplicated line(s) dropped; see G.graph['duplicates']"
        warnings.warn(msg, NetworkBuildWarning, stacklevel=2)
    geoms, u, v, src, length = (
        geoms[connected],
        u[connected],
        v[connected],
        src[connected],
        length[connected],
    )
    flip = (dist[u] < dist[v]) | ((dist[u] == dist[v]) & (u < v))
    up = np.where(flip, v, u)
    down = np.where(flip, u, v)
    geoms = np.where(flip, shapely.reverse(geoms), geoms)

    crossings = _count_crossings(geoms)
    return _assemble(
        geoms=geoms,
        up=up,
        down=down,
        src=src,
        length_m=length,
        node_xy=node_xy,
        outlet_node=outlet_node,
        lake_nodes={node: lake_names[idx] if lake_names else str(idx) for idx, node in lake_node_ids.items()},
        extra_graph={
            "disconnected": disconnected,
            "duplicates": duplicates,
            "crossings": crossings,
            "snap_tolerance_m": tol,
            "lake_tolerance_m": lake_tol,
        },
    )


def _split_parallel(
    geoms: np.ndarray, u: np.ndarray, v: np.ndarray, src: np.ndarray, node_xy: np.ndarray
) -> Any:
    """Give every second channel between the same two nodes a midpoint node."""
    a, b = np.minimum(u, v), np.maximum(u, v)
    key = pd.DataFrame({"a": a, "b": b})
    dup = key.duplicated(keep="first").to_numpy()
    if not dup.any():
        return geoms, u, v, src, node_xy
    g_list, u_list, v_list, s_list = list(geoms), list(u), list(v), list(src)
    xy_list = [tuple(xy) for xy in node_xy]
    for i in np.flatnonzero(dup):
        first, second = _split_at(g_list[i], [g_list[i].length / 2])
        mid = len(xy_list)
        xy_list.append(tuple(shapely.get_coordinates(first)[-1]))
        g_list[i] = first
        g_list.append(second)
        s_list.append(s_list[i])
        old_v = v_list[i]
        v_list[i] = mid
        u_list.append(mid)
        v_list.append(old_v)
    return (
        np.array(g_list, dtype=object),
        np.array(u_list),
        np.array(v_list),
        np.array(s_list, dtype=object),
        np.array(xy_list, dtype=float),
    )


def _snap_ends(
    geoms: np.ndarray, u: np.ndarray, v: np.ndarray, node_xy: np.ndarray, lake_nodes: set[int]
) -> np.ndarray:
    coords, index = shapely.get_coordinates(geoms, return_index=True)
    starts = np.r_[0, np.flatnonzero(np.diff(index)) + 1]
    stops = np.r_[starts[1:], len(index)] - 1
    is_lake = np.isin(u, list(lake_nodes)) if lake_nodes else np.zeros(len(u), bool)
    coords[starts[~is_lake]] = node_xy[u[~is_lake]]
    is_lake = np.isin(v, list(lake_nodes)) if lake_nodes else np.zeros(len(v), bool)
    coords[stops[~is_lake]] = node_xy[v[~is_lake]]
    lines: np.ndarray = shapely.linestrings(coords, indices=index)
    return lines


def _count_crossings(geoms: np.ndarray) -> int:
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="crosses")
    return int((left < right).sum())


def _assemble(
    *,
    geoms: np.ndarray,
    up: np.ndarray,
    down: np.ndarray,
    src: np.ndarray,
    length_m: np.ndarray,
    node_xy: np.ndarray,
    outlet_node: int,
    lake_nodes: dict[int, str],
    extra_graph: dict[str, Any],
) -> nx.DiGraph:
    """Renumber nodes compactly, convert to WGS84 and build the DiGraph."""
    used = np.unique(np.concatenate([up, down, [outlet_node]]))
    new_id = np.full(len(node_xy), -1)
    new_id[used] = np.arange(used.size)
    wgs = gpd.GeoSeries(geoms, crs=JIANGXI_ALBERS).to_crs(WGS84).to_numpy()
    node_wgs = gpd.GeoSeries(shapely.points(node_xy[used]), crs=JIANGXI_ALBERS).to_crs(WGS84)
    node_lonlat = shapely.get_coordinates(node_wgs.to_numpy())
    order = np.lexsort((new_id[up], new_id[down]))  # deterministic reach ids

    G = nx.DiGraph(crs="EPSG:4326", outlet=int(new_id[outlet_node]), **extra_graph)
    up_set = set(new_id[up].tolist())
    down_set = set(new_id[down].tolist())
    lake_new = {int(new_id[k]): name for k, name in lake_nodes.items() if new_id[k] >= 0}
    for node in range(used.size):
        if node in lake_new:
            kind = "lake"
        elif node == new_id[outlet_node]:
            kind = "outlet"
        elif node in down_set:
            kind = "junction"
        else:
            kind = "source" if node in up_set else "junction"
        attrs = {"x": float(node_lonlat[node, 0]), "y": float(node_lonlat[node, 1]), "kind": kind}
        if node in lake_new:
            attrs["lake_name"] = lake_new[node]
        G.add_node(node, **attrs)
    for reach_id, i in enumerate(order, start=1):
        G.add_edge(
            int(new_id[up[i]]),
            int(new_id[down[i]]),
            reach_id=reach_id,
            geometry=wgs[i],
            length_km=float(length_m[i]) / 1000.0,
            source=src[i],
        )
    compute_reach_attributes(G)
    return G


# --------------------------------------------------------------------------- array view


def compute_reach_attributes(G: nx.DiGraph) -> nx.DiGraph:
    """Compute Strahler and Shreve order, upstream length and distance to the outlet.

    Vectorized level by level in topological order. Sets edge attributes ``strahler``,
    ``shreve`` (upstream source count; at a diversion the count is shared between the
    channels), ``upstream_length_km`` (the reach plus everything upstream, shared likewise),
    ``dist_to_outlet_km`` (from the reach's downstream end, along the shortest downstream
    path) and ``main_down`` (the reach is on that shortest path from its upstream node).

    Parameters
    ----------
    G : networkx.DiGraph
        A river network.

    Returns
    -------
    networkx.DiGraph
        The same graph, updated in place.
    """
    a = _arrays(G)
    n_reach, n_nodes = len(a.edges), len(a.nodes)
    strahler = np.ones(n_reach, dtype=np.int64)
    shreve = np.ones(n_reach, dtype=np.int64)
    up_len = a.length_km.copy()
    node_max = np.zeros(n_nodes, dtype=np.int64)
    node_shreve = np.zeros(n_nodes, dtype=np.int64)
    node_len = np.zeros(n_nodes)
    n_out = np.bincount(a.up, minlength=n_nodes)
    in_ptr = np.zeros(n_nodes + 1, dtype=np.int64)
    np.cumsum(np.bincount(a.down, minlength=n_nodes), out=in_ptr[1:])
    by_down = np.argsort(a.down, kind="stable")
    levels = a.node_level[a.up]
    by_level = _groups(levels) if n_reach else []
    for reaches in by_level:
        nodes = np.unique(a.up[reaches])
        incoming = by_down[_gather(in_ptr, nodes)]
        # Strahler: max of incoming, +1 when two or more incoming share that max
        is_max = strahler[incoming] == node_max[a.down[incoming]]
        n_max = np.bincount(a.down[incoming][is_max], minlength=n_nodes)
        node = a.up[reaches]
        has_in = node_max[node] > 0
        strahler[reaches] = np.where(has_in, node_max[node] + (n_max[node] > 1), 1)
        share = np.maximum(n_out[node], 1)
        shreve[reaches] = np.where(has_in, np.maximum(1, node_shreve[node] // share), 1)
        up_len[reaches] += node_len[node] / share
        d = a.down[reaches]
        np.maximum.at(node_max, d, strahler[reaches])
        np.add.at(node_shreve, d, shreve[reaches])
        np.add.at(node_len, d, up_len[reaches])
    # distance to the outlet, from the sinks upward
    dist_node = np.where(n_out == 0, 0.0, np.inf)
    for reaches in reversed(by_level):
        cand = a.length_km[reaches] + dist_node[a.down[reaches]]
        np.minimum.at(dist_node, a.up[reaches], cand)
    cand = a.length_km + dist_node[a.down]
    on_best = cand <= dist_node[a.up]
    # one main downstream reach per node: the first shortest one
    main_down = np.zeros(n_reach, dtype=bool)
    best_pos = np.flatnonzero(on_best)
    _, first = np.unique(a.up[best_pos], return_index=True)
    main_down[best_pos[first]] = True
    dist_to_outlet = dist_node[a.down]
    for k, (uu, vv) in enumerate(a.edges):
        data = G.edges[uu, vv]
        data["strahler"] = int(strahler[k])
        data["shreve"] = int(shreve[k])
        data["upstream_length_km"] = float(up_len[k])
        data["dist_to_outlet_km"] = float(dist_to_outlet[k])
        data["main_down"] = bool(main_down[k])
    return G


# --------------------------------------------------------------------------- converters


def network_to_gdfs(G: nx.DiGraph) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Nodes and reaches of a river network as GeoDataFrames.

    Parameters
    ----------
    G : networkx.DiGraph
        A river network (from :func:`network_from_lines` or :func:`river_network`).

    Returns
    -------
    (nodes, reaches) : tuple of geopandas.GeoDataFrame
        ``nodes`` indexed by node id with ``x``, ``y``, ``kind`` and point geometry;
        ``reaches`` indexed by ``reach_id`` with ``u``, ``v`` and every edge attribute.
        Graph attributes are kept in ``reaches.attrs["graph"]``.
    """
    node_ids = list(G.nodes)
    node_data = [dict(G.nodes[n]) for n in node_ids]
    nodes = gpd.GeoDataFrame(
        node_data,
        index=pd.Index(node_ids, name="node_id"),
        geometry=shapely.points([d["x"] for d in node_data], [d["y"] for d in node_data]),
        crs=WGS84,
    )
    rows = []
    for u, v, data in G.edges(data=True):
        row = {"u": u, "v": v, **data}
        rows.append(row)
    reaches = gpd.GeoDataFrame(rows, geometry="geometry", crs=WGS84)
    reaches = reaches.set_index("reach_id", drop=False).rename_axis(None).sort_index()
    reaches.attrs["graph"] = {k: v for k, v in G.graph.items() if not k.startswith("_")}
    return nodes, reaches


def network_from_gdfs(nodes: gpd.GeoDataFrame, reaches: gpd.GeoDataFrame) -> nx.DiGraph:
    """Rebuild a river network from the GeoDataFrames of :func:`network_to_gdfs`.

    Parameters
    ----------
    nodes : geopandas.GeoDataFrame
        Indexed by node id (or with a ``node_id`` column); point geometry in any CRS.
    reaches : geopandas.GeoDataFrame
        With ``u``, ``v`` (node ids, flow from u to v) and ``reach_id`` columns.

    Returns
    -------
    networkx.DiGraph

    Raises
    ------
    ValidationError
        Missing columns, reaches naming unknown nodes, or a cycle.
    """
    missing = [c for c in ("u", "v", "reach_id") if c not in reaches.columns]
    if missing:
        msg = f"reaches need columns u, v and reach_id; missing: {', '.join(missing)}"
        raise ValidationError(msg)
    if "node_id" in nodes.columns:
        nodes = nodes.set_index("node_id")
    nodes = to_wgs84(nodes) if nodes.crs is not None else nodes
    reaches = to_wgs84(reaches) if reaches.crs is not None else reaches
    unknown = set(reaches["u"]).union(reaches["v"]) - set(nodes.index)
    if unknown:
        msg = f"reaches name nodes that are not in the node table, e.g. {sorted(unknown)[:5]}"
        raise ValidationError(msg)
    graph_attrs = dict(reaches.attrs.get("graph", {}))
    G = nx.DiGraph(**graph_attrs)
    xy = shapely.get_coordinates(nodes.geometry.to_numpy())
    node_cols = [c for c in nodes.columns if c != nodes.geometry.name]
    for (node, row), (x, y) in zip(nodes[node_cols].iterrows(), xy, strict=True):
        attrs = {k: _py(v) for k, v in row.items() if not _isna(v)}
        attrs["x"], attrs["y"] = float(x), float(y)
        G.add_node(_py(node), **attrs)
    edge_cols = [c for c in reaches.columns if c not in ("u", "v")]
    for u, v, *values in zip(reaches["u"], reaches["v"], *(reaches[c] for c in edge_cols), strict=True):
        attrs = {k: _py(val) for k, val in zip(edge_cols, values, strict=True) if not _isna(val)}
        G.add_edge(_py(u), _py(v), **attrs)
    if not nx.is_directed_acyclic_graph(G):
        msg = "the reaches form a cycle: a river network must be a DAG"
        raise ValidationError(msg)
    _graph_cache(G)  # tracked from birth: edits through any reference to its dicts count
    return G


def _isna(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def _py(value: Any) -> Any:
    """numpy scalars to Python scalars (graph attributes stay plain)."""
    return value.item() if isinstance(value, np.generic) else value


# --------------------------------------------------------------------------- bundled network


def _bundled_gdfs() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    nodes = load_layer("river_nodes")
    reaches = load_layer("reaches")
    nodes = nodes.set_index("node_id")
    reaches.index = reaches["reach_id"].to_numpy()
    meta = reaches.attrs.get("provenance", {})
    reaches.attrs["graph"] = {
        "crs": "EPSG:4326",
        "outlet": int(meta.get("outlet_node", -1)),
        "name": "Poyang Lake basin (bundled)",
    }
    return nodes, reaches


def river_network() -> nx.DiGraph:
    """The bundled Poyang Lake river network, outlet at Hukou.

    Built from the bundled GSHHG/WDBII lines by ``scripts/build_reference_data.py`` with
    :func:`network_from_lines` and stored in ``rivers/network.gpkg``; every call returns a
    fresh graph (safe to modify).

    Returns
    -------
    networkx.DiGraph
        See :func:`network_from_lines` for node and edge attributes; reaches also carry
        ``basin``, ``river_zh``, ``river_en``, ``main_stem`` and ``catchment_km2``.
    """
    nodes, reaches = _bundled_gdfs()
    return network_from_gdfs(nodes, reaches)


def reaches_gdf(G: nx.DiGraph) -> gpd.GeoDataFrame:
    """Reaches of a network as a GeoDataFrame indexed by ``reach_id`` (cached on the graph)."""
    return _cached(G, "reaches", lambda: network_to_gdfs(G)[1])


# --------------------------------------------------------------------------- navigation


def _resolve_start(
    G: nx.DiGraph, start: Any, mode: str, max_snap_m: float = MAX_SNAP_M
) -> tuple[int, float, int | None]:
    """Start reach position, fraction along it (0 upstream end .. 1 downstream end), and the
    start node's index when the navigation starts at a node (else None)."""
    a = _arrays(G)
    if isinstance(start, shapely.Geometry) or (
        isinstance(start, tuple) and len(start) == 2 and all(isinstance(c, float) for c in start)
    ):
        point = start if isinstance(start, shapely.Geometry) else shapely.Point(start)
        hit = snap(gpd.GeoSeries([point], crs=WGS84), G, max_snap_m=max_snap_m).iloc[0]
        if pd.isna(hit["reach_id"]):
            msg = (
                f"the point {point.wkt} is farther than the snap distance (max_snap_m={max_snap_m:g}) "
                "from every reach; raise max_snap_m or check the point's CRS"
            )
            raise ValidationError(msg)
        return a.reach_pos[int(hit["reach_id"])], float(hit["fraction"]), None
    if isinstance(start, Edge):
        if start not in G.edges:
            msg = f"edge {tuple(start)!r} is not in the network; give the (u, v) nodes of a reach"
            raise ValidationError(msg)
        return a.reach_pos[int(G.edges[start]["reach_id"])], 1.0, None
    if isinstance(start, tuple) and len(start) == 2 and start in G.edges:
        warnings.warn(
            f"navigate(G, {start!r}): a bare (u, v) tuple as the start is deprecated (it reads like a"
            f" point); pass edge={start!r} or start=Edge{start!r} (goes in the next release)",
            DeprecationWarning,
            stacklevel=3,
        )
        return a.reach_pos[int(G.edges[start]["reach_id"])], 1.0, None
    if isinstance(start, int | np.integer) and int(start) in a.reach_pos:
        return a.reach_pos[int(start)], 1.0, None
    if isinstance(start, tuple) and len(start) == 2 and start[0] == "node":
        node = start[1]
        if node not in G:
            msg = f"node {node!r} is not in the network"
            raise ValidationError(msg)
        outs = [G.edges[node, w] for w in G.successors(node)]
        ins = [G.edges[w, node] for w in G.predecessors(node)]
        if mode in ("DM", "DD"):
            outs.sort(key=lambda d: (not d.get("main_down", True), d["reach_id"]))
            chosen, fraction = (outs[0], 0.0) if outs else (ins[0], 1.0)
        else:
            ins.sort(key=lambda d: (-d.get("upstream_length_km", 0.0), d["reach_id"]))
            chosen, fraction = (ins[0], 1.0) if ins else (outs[0], 0.0)
        return a.reach_pos[int(chosen["reach_id"])], fraction, a.node_index[node]
    msg = f"cannot start a navigation at {start!r}: give a reach id (int), an edge (u, v), ('node', node_id) or a point"
    raise ValidationError(msg)


def navigate(
    G: nx.DiGraph,
    start: Any = None,
    mode: NavMode = "UT",
    distance_km: float | None = None,
    *,
    edge: tuple[int, int] | None = None,
    max_snap_m: float = MAX_SNAP_M,
) -> gpd.GeoDataFrame:
    """Navigate the network NLDI-style from a reach, node or point.

    Parameters
    ----------
    G : networkx.DiGraph
        A river network.
    start : int, Edge, ("node", id) or shapely Point / (lon, lat) floats
        A reach id, an :class:`~ganpo_geo.types.Edge`, a node, or a WGS84 point snapped to the
        nearest reach. A bare ``(u, v)`` tuple of ints naming an edge still works but is
        deprecated (it reads like a point): pass ``edge=(u, v)``.
    edge : (u, v), optional
        Start at the reach from node ``u`` to node ``v`` (instead of ``start``).
    max_snap_m : float
        Snap radius of a point start (see :data:`MAX_SNAP_M`).
    mode : {"UM", "UT", "DM", "DD"}
        Upstream main stem (at each junction the branch with the longest upstream length),
        upstream with tributaries, downstream main stem (the shortest way to the outlet),
        downstream with diversions.
    distance_km : float, optional
        Only the network within this distance of the start, as NLDI does: reaches that
        begin within it, the last one cut at the distance (its geometry shortened and
        ``clipped`` True).

    Returns
    -------
    geopandas.GeoDataFrame
        The start reach and the reaches found, indexed by ``reach_id``, with
        ``distance_km``: network distance from the start to the near end of the reach
        (0 for the start reach), sorted by it, ``clipped``, and ``travelled_km``: the length
        of the reach the walk covers (on the start reach, from the start point; on a clipped
        reach, up to the limit), whose sum is the network length travelled; main-stem walks
        (UM, DM) keep walk order among reaches at the same distance.

    Raises
    ------
    ValidationError
        Unknown mode or start, or a negative distance.

    Examples
    --------
    Downstream from Nanchang: the Gan River, then the lake's outflow channel to Hukou.

    >>> G = river_network()
    >>> down = navigate(G, (115.89, 28.68), "DM")
    >>> down["river_en"].drop_duplicates().tolist()
    ['Gan River', 'Poyang Lake outflow (Hukou channel)']
    >>> bool(40 < down["distance_km"].iloc[-1] < 70)
    True

    Upstream of the Waizhou section, within 100 km of network distance:

    >>> up = navigate(G, (115.83, 28.63), "UT", distance_km=100)
    >>> bool((up["distance_km"] <= 100).all()), bool(up["clipped"].any())
    (True, True)
    """
    if (start is None) == (edge is None):
        msg = "navigate needs exactly one of start= (a reach id, node, point) or edge=(u, v)"
        raise ValidationError(msg)
    if edge is not None:
        start = Edge(*edge)
    check_number(max_snap_m, "max_snap_m")
    mode = str(mode).upper()  # type: ignore[assignment]  # accepts "ut" and makes it "UT"
    if mode not in NAVIGATION_MODES:
        msg = f"unknown navigation mode {mode!r}: use one of {', '.join(NAVIGATION_MODES)}"
        raise ValidationError(msg)
    if distance_km is not None and not distance_km >= 0:
        msg = f"distance_km must be a number >= 0, got {distance_km!r}"
        raise ValidationError(msg)
    a = _arrays(G)
    pos, fraction, node = _resolve_start(G, start, mode, max_snap_m)
    upstream = mode in ("UM", "UT")
    offset = a.length_km[pos] * (fraction if upstream else 1.0 - fraction)
    found, dist = _walk(G, a, pos, mode, node)
    dist = np.where(found == pos, 0.0, dist + offset)
    if distance_km is not None:
        keep = dist <= distance_km
        found, dist = found[keep], dist[keep]
    reaches = reaches_gdf(G).loc[a.reach_ids[found]].copy()
    reaches["distance_km"] = dist
    reaches["clipped"] = False
    # the part of each reach the walk covers: from the start point on the start reach, up to
    # the distance limit on the last ones (their sum is the distance travelled, not whole reaches)
    travelled = np.where(found == pos, offset, a.length_km[found])
    if distance_km is not None:
        travelled = np.minimum(travelled, np.maximum(distance_km - dist, 0.0))
    reaches["travelled_km"] = travelled
    if distance_km is not None:
        _clip(G, a, reaches, found, pos, distance_km - dist, upstream)
    # stable: main-stem walks keep their order where neighbouring reaches tie at a junction
    return reaches.sort_values("distance_km", kind="stable")


def _clip(
    G: nx.DiGraph,
    a: _Arrays,
    reaches: gpd.GeoDataFrame,
    found: np.ndarray,
    start_pos: int,
    remaining: np.ndarray,
    upstream: bool,
) -> None:
    """Cut reaches that run past the distance limit at the limit (in place)."""
    length = a.length_km[found]
    cut = (remaining < length) & (found != start_pos) & (length > 0)
    if not cut.any():
        return
    metric = _metric_index(G)[2][found[cut]]
    keep_m = remaining[cut] * 1000.0 * shapely.length(metric) / (length[cut] * 1000.0)
    total = shapely.length(metric)
    parts = [
        substring(g, t - k, t) if upstream else substring(g, 0.0, k)
        for g, k, t in zip(metric, keep_m, total, strict=True)
    ]
    wgs = gpd.GeoSeries(parts, crs=JIANGXI_ALBERS).to_crs(WGS84).to_numpy()
    rows = reaches.index[cut]
    reaches.loc[rows, "geometry"] = wgs
    reaches.loc[rows, "clipped"] = True


def _walk(G: nx.DiGraph, a: _Arrays, pos: int, mode: str, node: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Reach positions reached from ``pos`` (or from ``node``) and their distance from the
    start reach's far end (or from the node)."""
    from scipy import sparse  # lazy on purpose: scipy.sparse costs ~1 s to import; only builds and walks use it
    from scipy.sparse import csgraph

    n_nodes = len(a.nodes)
    if mode in ("UT", "DD") and node is not None:
        sign = (a.down, a.up) if mode == "UT" else (a.up, a.down)
        adj = sparse.csr_matrix((a.length_km + 1e-12, sign), shape=(n_nodes, n_nodes))
        dist_nodes = csgraph.dijkstra(adj, directed=True, indices=node)
        node_of = a.down if mode == "UT" else a.up
        found = np.flatnonzero(np.isfinite(dist_nodes[node_of]))
        return found, dist_nodes[node_of[found]]
    if mode in ("UT", "DD"):
        # breadth-first over nodes with scipy, then distances by Dijkstra on the subgraph
        if mode == "UT":
            adj = sparse.csr_matrix((a.length_km + 1e-12, (a.down, a.up)), shape=(n_nodes, n_nodes))
            origin = a.up[pos]
            node_of = a.down  # distance to a reach = distance to its downstream (near) end
        else:
            adj = sparse.csr_matrix((a.length_km + 1e-12, (a.up, a.down)), shape=(n_nodes, n_nodes))
            origin = a.down[pos]
            node_of = a.up
        dist_nodes = csgraph.dijkstra(adj, directed=True, indices=origin)
        reach_mask = np.isfinite(dist_nodes[node_of])
        reach_mask[pos] = True
        found = np.flatnonzero(reach_mask)
        return found, np.where(found == pos, 0.0, dist_nodes[node_of[found]])
    data = G.edges
    path, dists, total = [pos], [0.0], 0.0
    current = pos
    while True:
        if mode == "DM":
            at = a.edges[current][1]
            nxt = [(w, d) for w, d in G[at].items() if d.get("main_down", True)]
            if not nxt:
                nxt = list(G[at].items())
        else:  # UM: upstream branch with the longest upstream length
            at = a.edges[current][0]
            cands = [(w, data[w, at]) for w in G.predecessors(at)]
            nxt = sorted(cands, key=lambda c: (-c[1].get("upstream_length_km", 0.0), c[1]["reach_id"]))
        if not nxt:
            break
        _, d = nxt[0]
        current = a.reach_pos[int(d["reach_id"])]
        if current in path:  # defensive: a DAG never revisits
            break
        path.append(current)
        dists.append(total)
        total += a.length_km[current]
    return np.array(path), np.array(dists)


@renamed_parameters(max_distance_m="max_snap_m")
def features_along(
    G: nx.DiGraph,
    start: Any,
    features: gpd.GeoDataFrame,
    mode: NavMode = "DM",
    distance_km: float | None = None,
    *,
    max_snap_m: float = FEATURES_MAX_SNAP_M,
) -> gpd.GeoDataFrame:
    """Point features (e.g. monitoring stations) on the reaches of a navigation.

    Parameters
    ----------
    G : networkx.DiGraph
        A river network.
    start, mode, distance_km
        As in :func:`navigate`.
    features : geopandas.GeoDataFrame
        Point features in any CRS; each is snapped to its nearest reach.
    max_snap_m : float
        Features farther than this from every reach are not on the network (formerly
        ``max_distance_m``, deprecated).

    Returns
    -------
    geopandas.GeoDataFrame
        The features whose reach is on the path, with ``reach_id``, ``snap_distance_m`` and
        ``distance_km`` (network distance from the start), sorted by distance.
    """
    path = navigate(G, start, mode, distance_km)
    snapped = snap(features.geometry, G, max_snap_m=max_snap_m)
    out = to_wgs84(features).copy()
    out["reach_id"] = snapped["reach_id"].to_numpy()
    out["snap_distance_m"] = snapped["distance_m"].to_numpy()
    on_path = out["reach_id"].isin(path.index)
    out = out[on_path].copy()
    length = path["length_km"].reindex(out["reach_id"]).to_numpy()
    frac = snapped["fraction"].to_numpy()[on_path.to_numpy()]
    start_dist = path["distance_km"].reindex(out["reach_id"]).to_numpy()
    # distance to the feature itself: add the part of its reach beyond the reach's near end
    upstream = str(mode).upper() in ("UM", "UT")
    out["distance_km"] = start_dist + np.where(upstream, (1 - frac) * length, frac * length) * (start_dist > 0)
    return out.sort_values("distance_km")


# --------------------------------------------------------------------------- snapping


@renamed_parameters(max_distance_m="max_snap_m")
def snap(
    points: GeometryLike,
    G: nx.DiGraph,
    *,
    max_snap_m: float = MAX_SNAP_M,
    crs: CRSLike | None = None,
) -> pd.DataFrame:
    """Snap points to their nearest reach (vectorized, exact).

    A KD-tree of densified reach vertices gives each point an upper bound on its distance
    to the network; one STRtree query then returns every reach within that bound, and the
    exact nearest among them is kept. Ties go to the lower reach id.

    Parameters
    ----------
    points : GeometryLike
        GeoSeries, GeoDataFrame or array of shapely Points, in any CRS for Geo* input (or
        ``crs=``); plain geometries are taken as WGS84 (see :func:`ganpo_geo.crs.as_sites`).
    G : networkx.DiGraph
        A river network.
    max_snap_m : float
        Points farther than this from every reach get no reach (NaN); formerly
        ``max_distance_m`` (deprecated). See :data:`MAX_SNAP_M` for the policy.
    crs : CRSLike, optional
        CRS of the coordinates (overrides a Geo* input's stored CRS).

    Returns
    -------
    pandas.DataFrame
        Aligned with the input: ``reach_id`` (nullable Int64), ``distance_m``, ``position_km``
        (along the reach from its upstream end) and ``fraction`` (0 upstream .. 1 downstream).

    Examples
    --------
    >>> from shapely.geometry import Point
    >>> G = river_network()
    >>> snapped = snap([Point(115.89, 28.68)], G)
    >>> list(snapped.columns)
    ['reach_id', 'distance_m', 'position_km', 'fraction']
    >>> reach = int(snapped.loc[0, "reach_id"])
    >>> G.edges[next((u, v) for u, v, r in G.edges(data="reach_id") if r == reach)]["river_en"]
    'Gan River'
    >>> bool(0 < snapped.loc[0, "distance_m"] < 5000)
    True
    """
    check_number(max_snap_m, "max_snap_m")
    series = as_sites(points, crs)
    n = len(series)
    chunks, reach_ids, metric_lines = _metric_index(G)
    geoms = series.to_numpy()
    valid = ~(shapely.is_empty(geoms) | shapely.is_missing(geoms))
    out = pd.DataFrame(
        {
            "reach_id": pd.array([pd.NA] * n, dtype="Int64"),
            "distance_m": np.nan,
            "position_km": np.nan,
            "fraction": np.nan,
        },
        index=series.index,
    )
    rows = np.flatnonzero(valid)
    if rows.size == 0:
        return out
    sel = geoms[rows]
    is_point = shapely.get_type_id(sel) == shapely.GeometryType.POINT
    if not is_point.all():  # lines and polygons snap by their centroid
        sel = np.where(is_point, sel, shapely.centroid(sel))
    lonlat = shapely.get_coordinates(sel)
    x, y = transformer(WGS84, JIANGXI_ALBERS).transform(lonlat[:, 0], lonlat[:, 1])
    nearest = _nearest_index(G) if rows.size >= GRID_MIN_POINTS else None
    ids, dist, along, frac = snap_to_lines(
        x, y, chunks, reach_ids, shapely.length(metric_lines), max_snap_m, nearest
    )
    found = np.isfinite(ids)
    target = rows[found]
    out.iloc[target, 0] = ids[found].astype(np.int64)
    out.iloc[target, 1] = dist[found]
    out.iloc[target, 2] = along[found] / 1000.0
    out.iloc[target, 3] = frac[found]
    return out


def _metric_index(G: nx.DiGraph) -> tuple[LineChunks, np.ndarray, np.ndarray]:
    """Reach pieces for exact nearest queries, reach ids, and reach geometries (metric CRS)."""

    def build() -> tuple[LineChunks, np.ndarray, np.ndarray]:
        a = _arrays(G)
        geoms = np.array([G.edges[e]["geometry"] for e in a.edges], dtype=object)
        metric = gpd.GeoSeries(geoms, crs=WGS84).to_crs(JIANGXI_ALBERS).to_numpy()
        return LineChunks.build(metric), a.reach_ids, metric

    return _cached(G, "metric_index", build)


def _nearest_index(G: nx.DiGraph) -> NearestLines:
    """KD-tree of densified reach vertices (built on first large batch, kept in the graph)."""
    return _cached(G, "nearest_index", lambda: NearestLines.build(_metric_index(G)[2], 200.0))


def upstream_basin(G: nx.DiGraph, start: Any, *, distance_km: float | None = None) -> gpd.GeoDataFrame:
    """The land upstream of a point or reach: union of the catchments of its UT navigation.

    Parameters
    ----------
    G : networkx.DiGraph
        The bundled network (catchments are the bundled ones).
    start, distance_km
        As in :func:`navigate` (mode ``UT``).

    Returns
    -------
    geopandas.GeoDataFrame
        One row: ``n_reaches``, ``area_km2`` and the merged polygon (WGS84).
    """
    reaches = navigate(G, start, "UT", distance_km)
    cat = catchments()
    parts = cat[cat["reach_id"].isin(reaches.index)]
    merged = shapely.union_all(parts.geometry.to_numpy()) if len(parts) else shapely.Polygon()
    area = float(shapely.area(to_albers(gpd.GeoSeries([merged], crs=WGS84)))[0] / 1e6)
    return gpd.GeoDataFrame({"n_reaches": [len(reaches)], "area_km2": [area]}, geometry=[merged], crs=WGS84)
