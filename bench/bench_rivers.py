"""Benchmark: build and navigate a synthetic river network, and snap points to it.

A synthetic drainage tree on an n x n grid (200 m spacing, in the Jiangxi Albers CRS, placed
over Jiangxi): every grid node drains to its west or south neighbour at random, the south-west
corner is the outlet, so there are n*n - 1 reaches. Measured in the same run:

- build: ``network_from_lines`` from the line GeoDataFrame (noding, snapping, orientation,
  Strahler/Shreve/distances, networkx assembly) vs. a plain networkx baseline that is given
  the node pairs directly (no geometry work) and orients edges by BFS from the outlet;
- navigation: ``navigate`` UT from the outlet node (the whole network) and DM from the
  farthest source vs. ``networkx.ancestors`` / ``networkx.shortest_path``;
- snap: ``snap`` of 1,000,000 random WGS84 points vs. ``geopandas.sjoin_nearest`` on the same
  points (projected to the metric CRS in the timed call, as ``snap`` does) against the reaches
  already projected; ``snap`` also returns the position along each reach.

Writes ``bench/results/rivers.json``. Usage: ``python bench/bench_rivers.py [--grid 1000]``.
"""

from __future__ import annotations

import argparse
import platform
import warnings

import geopandas as gpd
import networkx as nx
import numpy as np
import shapely
from _bench import timed, write_results

from ganpo_geo.crs import JIANGXI_ALBERS
from ganpo_geo.rivers import navigate, network_from_lines, snap


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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--grid", type=int, default=1000)
    parser.add_argument("--points", type=int, default=1_000_000)
    args = parser.parse_args()
    n = args.grid
    lines, src, dst = synthetic_lines(n)
    outlet_xy = shapely.get_coordinates(
        gpd.GeoSeries([shapely.Point(-100_000.0, 3_000_000.0)], crs=JIANGXI_ALBERS).to_crs(4326)
    )[0]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        G, t_build = timed(lambda: network_from_lines(lines, outlet=tuple(outlet_xy), snap_tolerance_m=1.0))
    H, t_base_build = timed(lambda: baseline_build(src, dst, 0))
    assert G.number_of_edges() == H.number_of_edges() == n * n - 1

    outlet = G.graph["outlet"]
    far_source = max((d for _, _, d in G.edges(data=True)), key=lambda d: d["dist_to_outlet_km"] + d["length_km"])[
        "reach_id"
    ]
    _, t_ut_first = timed(lambda: navigate(G, ("node", outlet), "UT"))
    ut, t_ut = timed(lambda: navigate(G, ("node", outlet), "UT"))
    dm, t_dm = timed(lambda: navigate(G, far_source, "DM"))
    base_ut, t_base_ut = timed(lambda: nx.ancestors(H, 0))
    far_node = max(H.nodes, key=lambda v: (v // n) + (v % n))
    base_dm, t_base_dm = timed(lambda: nx.shortest_path(H, far_node, 0))
    assert len(ut) == len(base_ut)
    assert len(dm) == len(base_dm) - 1

    rng = np.random.default_rng(1)
    pts_m = shapely.points(
        rng.uniform(-100_000, -100_000 + n * 200, args.points),
        rng.uniform(3_000_000, 3_000_000 + n * 200, args.points),
    )
    pts = gpd.GeoSeries(pts_m, crs=JIANGXI_ALBERS).to_crs(4326)
    snap(pts.iloc[:10], G)  # builds and caches the spatial index once
    snapped, t_snap = timed(lambda: snap(pts, G, max_distance_m=1000))
    reach_m = lines.to_crs(JIANGXI_ALBERS)  # the baseline's reaches, projected once
    pts_wgs = gpd.GeoDataFrame(geometry=pts.to_numpy(), crs=4326)
    joined, t_sjoin = timed(
        lambda: gpd.sjoin_nearest(pts_wgs.to_crs(JIANGXI_ALBERS), reach_m, max_distance=1000, distance_col="d")
    )
    d_ours = snapped["distance_m"].to_numpy()
    d_theirs = joined[~joined.index.duplicated()]["d"].reindex(range(args.points)).to_numpy()
    assert np.allclose(d_ours, d_theirs, atol=0.01, equal_nan=True)

    result = {
        "reaches": G.number_of_edges(),
        "points": args.points,
        "machine": platform.machine(),
        "python": platform.python_version(),
        "build_s": round(t_build, 2),
        "baseline_networkx_build_s": round(t_base_build, 2),
        "build_note": "ours nodes and orients raw geometry and computes orders and distances; "
        "the baseline is handed the node pairs",
        "build_ratio_ours_over_baseline": round(t_build / t_base_build, 2),
        "navigate_UT_whole_network_first_call_s": round(t_ut_first, 3),
        "navigate_UT_whole_network_s": round(t_ut, 3),
        "baseline_networkx_ancestors_s": round(t_base_ut, 3),
        "navigate_UT_speedup_vs_networkx": round(t_base_ut / t_ut, 2),
        "navigate_DM_longest_path_s": round(t_dm, 3),
        "baseline_networkx_shortest_path_s": round(t_base_dm, 3),
        "navigate_DM_path_reaches": len(dm),
        "snap_s": round(t_snap, 2),
        "baseline_sjoin_nearest_s": round(t_sjoin, 2),
        "snap_speedup_vs_sjoin_nearest": round(t_sjoin / t_snap, 2),
    }
    write_results("rivers", result)


if __name__ == "__main__":
    main()
