"""Benchmark: TP routing + attribution on a synthetic network, as many sources as reaches.

The network is the drainage tree of ``bench_rivers.py`` (n x n grid, each node draining west or
south at random; 200 m reaches; n*n ~ size), built straight into a networkx graph. Sources
are placed on random reaches with random loads. Measured in the same run:

- ours, one query: forward routing of all loads (``loads._forward``) + the delivery fraction of
  every reach to the outlet (``loads._delivery_factors``) + every source's delivered load and
  share (numpy); the per-graph arrays (``_routing``) are built once and timed separately;
- ``trace_sources(G, reach, by="source")`` end to end (pandas grouping included);
- baseline: the plain networkx walk of ``tests/test_loads.py`` (topological order, a Python loop
  over nodes) for routing, and the same walk in reverse for the delivery fractions.

Answers are compared (routed loads and delivered totals) before ``bench/results/loads.json``
is written. Usage: ``python bench/bench_loads.py [--quick | --sizes N ...]``.
"""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pandas as pd
from _bench import Task, Timer, bench_main, main_guard, timed

from ganpo_geo import loads
from ganpo_geo.loads import RoutingParams

TASKS = [
    Task(
        "TP routing + attribution to the outlet",
        "route_and_attribute_s",
        "baseline_networkx_walk_s",
        "networkx walk (route + delivery)",
    ),
    Task(
        "`trace_sources` end to end (by source)",
        "trace_sources_s",
        "baseline_networkx_walk_s",
        "networkx walk (route + delivery)",
    ),
]


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


def run_size(size: int) -> dict:
    grid = max(3, round(math.sqrt(size)))
    G, t_graph = timed(lambda: grid_graph(grid))
    n_reach = G.number_of_edges()
    n_sources = n_reach
    rng = np.random.default_rng(1)
    sources = pd.DataFrame(
        {
            "source_id": np.arange(n_sources),
            "reach_id": rng.integers(1, n_reach + 1, n_sources),
            "tp_kg_yr": rng.uniform(0, 100, n_sources),
        }
    )
    params = RoutingParams(k_per_km=0.001)
    timer = Timer()
    _, t_prepare = timed(lambda: loads._routing(G))  # cached in the graph: timed once
    timer.add("prepare_arrays_once_s", t_prepare)
    r = loads._routing(G)
    outlet = loads._Target("outlet", "outlet", loads._arrays(G).node_index[0])

    def ours():
        local = loads._local_loads(G, sources)
        routed, inflow = loads._forward(r, local, params)
        delivered = loads._delivered(G, sources, outlet, params)
        share = delivered / delivered.sum() * 100
        return routed, inflow, delivered, share

    routed, inflow, delivered, _share = timer.run("route_and_attribute_s", ours)
    assert math.isclose(delivered.sum(), inflow[outlet.node], rel_tol=1e-9)
    top_reach = int(loads._arrays(G).reach_ids[np.argmax(routed)])
    timer.run("trace_sources_s", lambda: loads.trace_sources(G, top_reach, by="source", sources=sources, params=params))

    local_dict = pd.Series(sources["tp_kg_yr"].to_numpy()).groupby(sources["reach_id"].to_numpy()).sum().to_dict()

    def baseline():
        return networkx_route(G, local_dict, params), networkx_delivery(G, 0, params)

    base_routed, _base_g = timer.run("baseline_networkx_walk_s", baseline)
    a = loads._arrays(G)
    assert np.allclose(routed, [base_routed[int(rid)] for rid in a.reach_ids], rtol=1e-9)
    return timer.result(
        reaches=n_reach,
        sources=n_sources,
        synthetic_graph_build_s=round(t_graph, 2),
        outlet_load_kg_yr=round(float(inflow[outlet.node]), 1),
        levels=len(r.levels),
    )


def main() -> None:
    bench_main(
        "loads",
        TASKS,
        run_size,
        sizes=[10_000, 100_000, 1_000_000],
        quick_sizes=[2_500, 10_000, 40_000],
        size_unit="reaches (and as many sources)",
        description="TP routing and source attribution on a synthetic n x n drainage grid",
    )


if __name__ == "__main__":
    main_guard(main)
