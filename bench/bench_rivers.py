"""Benchmark: build and navigate a synthetic river network, and snap points to it.

A synthetic drainage tree on an n x n grid (200 m spacing, in the Jiangxi Albers CRS, placed
over Jiangxi): every grid node drains to its west or south neighbour at random, the south-west
corner is the outlet, so there are n*n - 1 reaches. At each size (n*n ~ size; as many random
points as reaches) the same run measures:

- build: ``network_from_lines`` from the line GeoDataFrame (noding, snapping, orientation,
  Strahler/Shreve/distances, networkx assembly) vs. a plain networkx baseline that is given
  the node pairs directly (no geometry work) and orients edges by BFS from the outlet;
- navigation: ``navigate`` UT from the outlet node (the whole network) and DM from the
  farthest source vs. ``networkx.ancestors`` / ``networkx.shortest_path``;
- snap: ``snap`` of random WGS84 points vs. ``geopandas.sjoin_nearest`` on the same points
  (projected to the metric CRS in the timed call, as ``snap`` does) against the reaches already
  projected; ``snap`` also returns the position along each reach. ``snap_s`` is a first large
  batch on the graph: it includes building the KD-tree of reach vertices (``NearestLines``),
  which the graph then keeps (``snap_index_kept_s``: a second batch). The per-graph reach
  pieces (projected reaches cut for exact distances) are built by a 10-point call first and
  timed apart (``snap_graph_setup_s``). ``sjoin_nearest`` and the two ``snap`` calls are timed
  in turn, for three rounds, each round starting one call further on (every call runs first
  once), so that load from elsewhere and the order of calls fall on both sides.
  Distances are compared with the baseline's.

Writes ``bench/results/rivers.json``. Usage: ``python bench/bench_rivers.py [--quick | --sizes N ...]``.
"""

from __future__ import annotations

import math
import warnings

import geopandas as gpd
import networkx as nx
import numpy as np
import shapely
from _bench import Task, Timer, bench_main, main_guard, timed

from ganpo_geo._index import GRID_MIN_POINTS, NearestLines
from ganpo_geo.crs import JIANGXI_ALBERS
from ganpo_geo.rivers import _graph_cache, _metric_index, navigate, network_from_lines, snap

TASKS = [
    Task(
        "build a network from the lines",
        "build_s",
        "baseline_networkx_build_s",
        "networkx handed the node pairs",
        "ours does the geometry work",
    ),
    Task("`navigate` UT over the whole network", "navigate_UT_s", "baseline_networkx_ancestors_s", "`nx.ancestors`"),
    Task(
        "`navigate` DM along the longest path",
        "navigate_DM_s",
        "baseline_networkx_shortest_path_s",
        "`nx.shortest_path`",
        "ours returns a GeoDataFrame with distances",
    ),
    Task(
        "`snap` points to reaches (exact), first batch: builds the KD-tree",
        "snap_s",
        "baseline_sjoin_nearest_s",
        "`sjoin_nearest`",
    ),
    Task("`snap`, later batches (KD-tree kept)", "snap_index_kept_s", "baseline_sjoin_nearest_s", "`sjoin_nearest`"),
]


def synthetic_lines(n: int, seed: int = 0) -> tuple[gpd.GeoDataFrame, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    ii, jj = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    ii, jj = ii.ravel(), jj.ravel()
    west = rng.random(n * n) < 0.5
    to_i = np.where((west & (jj > 0)) | (ii == 0), ii, ii - 1)
    to_j = np.where((west & (jj > 0)) | (ii == 0), jj - 1, jj)
    keep = ~((ii == 0) & (jj == 0))
    x0, y0 = -100_000.0, 3_000_000.0  # metres in Jiangxi Albers
    spacing = 200.0
    coords = np.stack(
        [
            np.column_stack([x0 + jj[keep] * spacing, y0 + ii[keep] * spacing]),
            np.column_stack([x0 + to_j[keep] * spacing, y0 + to_i[keep] * spacing]),
        ],
        axis=1,
    )
    lines = shapely.linestrings(coords)
    gdf = gpd.GeoDataFrame(geometry=lines, crs=JIANGXI_ALBERS).to_crs(4326)
    return gdf, ii[keep] * n + jj[keep], to_i[keep] * n + to_j[keep]


def baseline_build(src: np.ndarray, dst: np.ndarray, outlet: int) -> nx.DiGraph:
    und = nx.Graph()
    und.add_edges_from(zip(src.tolist(), dst.tolist(), strict=True))
    G = nx.DiGraph()
    for parent, child in nx.bfs_edges(und, outlet):
        G.add_edge(child, parent)
    return G


def run_size(size: int) -> dict:
    n = max(3, round(math.sqrt(size)))
    lines, src, dst = synthetic_lines(n)
    outlet_xy = shapely.get_coordinates(
        gpd.GeoSeries([shapely.Point(-100_000.0, 3_000_000.0)], crs=JIANGXI_ALBERS).to_crs(4326)
    )[0]
    timer = Timer()

    def build():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return network_from_lines(lines, outlet=tuple(outlet_xy), snap_tolerance_m=1.0)

    G = timer.run("build_s", build)
    H = timer.run("baseline_networkx_build_s", lambda: baseline_build(src, dst, 0))
    assert G.number_of_edges() == H.number_of_edges() == n * n - 1

    outlet = G.graph["outlet"]
    far_source = max((d for _, _, d in G.edges(data=True)), key=lambda d: d["dist_to_outlet_km"] + d["length_km"])[
        "reach_id"
    ]
    _, t_ut_first = timed(lambda: navigate(G, ("node", outlet), "UT"))
    timer.add("navigate_UT_first_call_s", t_ut_first)
    ut = timer.run("navigate_UT_s", lambda: navigate(G, ("node", outlet), "UT"))
    dm = timer.run("navigate_DM_s", lambda: navigate(G, far_source, "DM"))
    base_ut = timer.run("baseline_networkx_ancestors_s", lambda: nx.ancestors(H, 0))
    far_node = max(H.nodes, key=lambda v: (v // n) + (v % n))
    base_dm = timer.run("baseline_networkx_shortest_path_s", lambda: nx.shortest_path(H, far_node, 0))
    assert len(ut) == len(base_ut)
    assert len(dm) == len(base_dm) - 1

    n_points = n * n - 1
    rng = np.random.default_rng(1)
    pts_m = shapely.points(
        rng.uniform(-100_000, -100_000 + n * 200, n_points),
        rng.uniform(3_000_000, 3_000_000 + n * 200, n_points),
    )
    pts = gpd.GeoSeries(pts_m, crs=JIANGXI_ALBERS).to_crs(4326)
    _, t_setup = timed(lambda: snap(pts.iloc[:10], G))  # projects and cuts the reaches once per graph
    timer.add("snap_graph_setup_s", t_setup)
    kd = n_points >= GRID_MIN_POINTS  # smaller batches use the STRtree alone

    def drop_kdtree():
        _graph_cache(G).pop("nearest_index", None)

    metric = _metric_index(G)[2]
    timer.run("snap_kdtree_build_s", lambda: NearestLines.build(metric, 200.0))
    reach_m = lines.to_crs(JIANGXI_ALBERS)  # the baseline's reaches, projected once
    pts_wgs = gpd.GeoDataFrame(geometry=pts.to_numpy(), crs=4326)
    # in turn, round after round, rotating the order: load from elsewhere falls on both sides
    joined, snapped, _ = timer.alternate(  # three rounds: the median of each side
        [
            (
                "baseline_sjoin_nearest_s",
                lambda: gpd.sjoin_nearest(pts_wgs.to_crs(JIANGXI_ALBERS), reach_m, max_distance=1000, distance_col="d"),
                None,
            ),
            ("snap_s", lambda: snap(pts, G, max_snap_m=1000), drop_kdtree),
            ("snap_index_kept_s", lambda: snap(pts, G, max_snap_m=1000), None),
        ],
        min_rounds=3,
    )
    assert ("nearest_index" in _graph_cache(G)) == kd, "snap no longer caches its KD-tree as nearest_index"
    d_ours = snapped["distance_m"].to_numpy()
    d_theirs = joined[~joined.index.duplicated()]["d"].reindex(range(n_points)).to_numpy()
    assert np.allclose(d_ours, d_theirs, atol=0.01, equal_nan=True)
    return timer.result(
        reaches=G.number_of_edges(),
        points=n_points,
        navigate_DM_path_reaches=len(dm),
        snap_uses_kdtree=kd,
        snap_speedup_vs_sjoin_nearest=round(timer.times["baseline_sjoin_nearest_s"] / timer.times["snap_s"], 2),
    )


def main() -> None:
    bench_main(
        "rivers",
        TASKS,
        run_size,
        sizes=[10_000, 100_000, 1_000_000],
        quick_sizes=[2_500, 10_000, 40_000],
        size_unit="reaches (and as many points)",
        description="river network build, navigation and snap on a synthetic n x n drainage grid",
    )


if __name__ == "__main__":
    main_guard(main)
