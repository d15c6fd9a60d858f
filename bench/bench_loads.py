"""Benchmark: TP routing + attribution on a synthetic 1,000,000-reach network, 1,000,000 sources.

The network is the drainage tree of ``bench_rivers.py`` (n x n grid, each node draining west or
south at random; 200 m reaches), built straight into a networkx graph. Sources are placed on
random reaches with random loads. Measured in the same run:

- ours, one query: forward routing of all loads (``loads._forward``) + the delivery fraction of
  every reach to the outlet (``loads._delivery_factors``) + every source's delivered load and
  share (numpy); the per-graph arrays (``_routing``) are built once and timed separately;
- ``trace_sources(G, reach, by="source")`` end to end (pandas grouping included);
- baseline: the plain networkx walk of ``tests/test_loads.py`` (topological order, a Python loop
  over nodes) for routing, and the same walk in reverse for the delivery fractions.

Answers are compared (routed loads and delivered totals) before ``bench/results/loads.json``
is written. Usage: ``python bench/bench_loads.py [--grid 1000]``.
"""

from __future__ import annotations

import argparse
import math
import platform

import networkx as nx
import numpy as np
import pandas as pd
from _bench import timed, write_results

from ganpo_geo import loads
from ganpo_geo.loads import RoutingParams


def grid_graph(n: int, seed: int = 0) -> nx.DiGraph:
    rng = np.random.default_rng(seed)
    ii, jj = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    ii, jj = ii.ravel(), jj.ravel()
    west = rng.random(n * n) < 0.5
    to_i = np.where((west & (jj > 0)) | (ii == 0), ii, ii - 1)
    to_j = np.where((west & (jj > 0)) | (ii == 0), jj - 1, jj)
    keep = ~((ii == 0) & (jj == 0))
    src = (ii * n + jj)[keep]
    dst = (to_i * n + to_j)[keep]
    G = nx.DiGraph(outlet=0)
    G.add_nodes_from(range(n * n), kind="junction")
    G.add_edges_from(
        (int(u), int(v), {"reach_id": k + 1, "length_km": 0.2}) for k, (u, v) in enumerate(zip(src, dst, strict=True))
    )
    return G


def networkx_route(G: nx.DiGraph, local: dict, params: RoutingParams) -> dict:
    out = {}
    for node in nx.topological_sort(G):
        inflow = sum(out[G.edges[p, node]["reach_id"]] for p in G.predecessors(node))
        succ = list(G.successors(node))
        for s in succ:
            d = G.edges[node, s]
            out[d["reach_id"]] = inflow / len(succ) * math.exp(-params.k_per_km * d["length_km"]) + local.get(
                d["reach_id"], 0.0
            ) * math.exp(-params.k_per_km * d["length_km"] / 2)
    return out


def networkx_delivery(G: nx.DiGraph, target: int, params: RoutingParams) -> dict:
    g = {target: 1.0}
    for node in reversed(list(nx.topological_sort(G))):
        if node == target:
            continue
        succ = list(G.successors(node))
        g[node] = sum(
            g.get(s, 0.0) * math.exp(-params.k_per_km * G.edges[node, s]["length_km"]) / len(succ) for s in succ
        )
    return g


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--grid", type=int, default=1000)
    parser.add_argument("--sources", type=int, default=1_000_000)
    args = parser.parse_args()
    G, t_graph = timed(lambda: grid_graph(args.grid))
    n_reach = G.number_of_edges()
    rng = np.random.default_rng(1)
    sources = pd.DataFrame(
        {
            "source_id": np.arange(args.sources),
            "reach_id": rng.integers(1, n_reach + 1, args.sources),
            "tp_kg_yr": rng.uniform(0, 100, args.sources),
        }
    )
    params = RoutingParams(k_per_km=0.001)
    _, t_prepare = timed(lambda: loads._routing(G))
    r = loads._routing(G)
    outlet = loads._Target("outlet", "outlet", loads._arrays(G).node_index[0])

    def ours():
        local = loads._local_loads(G, sources)
        routed, inflow = loads._forward(r, local, params)
        delivered = loads._delivered(G, sources, outlet, params)
        share = delivered / delivered.sum() * 100
        return routed, inflow, delivered, share

    (routed, inflow, delivered, _share), t_ours = timed(ours)
    assert math.isclose(delivered.sum(), inflow[outlet.node], rel_tol=1e-9)
    top_reach = int(loads._arrays(G).reach_ids[np.argmax(routed)])
    _traced, t_trace = timed(lambda: loads.trace_sources(G, top_reach, by="source", sources=sources, params=params))

    local_dict = pd.Series(sources["tp_kg_yr"].to_numpy()).groupby(sources["reach_id"].to_numpy()).sum().to_dict()
    base_routed, t_base_route = timed(lambda: networkx_route(G, local_dict, params))
    _base_g, t_base_deliv = timed(lambda: networkx_delivery(G, 0, params))
    a = loads._arrays(G)
    assert np.allclose(routed, [base_routed[int(rid)] for rid in a.reach_ids], rtol=1e-9)

    result = {
        "reaches": n_reach,
        "sources": args.sources,
        "machine": platform.machine(),
        "python": platform.python_version(),
        "graph_build_s": round(t_graph, 2),
        "prepare_arrays_once_s": round(t_prepare, 2),
        "route_and_attribute_s": round(t_ours, 3),
        "trace_sources_end_to_end_s": round(t_trace, 3),
        "baseline_networkx_route_s": round(t_base_route, 2),
        "baseline_networkx_delivery_s": round(t_base_deliv, 2),
        "speedup_vs_networkx": round((t_base_route + t_base_deliv) / t_ours, 1),
        "outlet_load_kg_yr": round(float(inflow[outlet.node]), 1),
        "levels": len(r.levels),
    }
    write_results("loads", result)


if __name__ == "__main__":
    main()
