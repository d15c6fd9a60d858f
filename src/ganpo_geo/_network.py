"""Array views of a river network and the cache that keeps them while the graph is unchanged.

The one home of the arrays :mod:`ganpo_geo.rivers` (navigation, snapping) and
:mod:`ganpo_geo.loads` (routing) derive from a :class:`networkx.DiGraph`, and of their cache:
the graph's node, adjacency and edge dicts are swapped for dicts that count their own edits
(:class:`_Tracked`), so any change to the graph drops every derived array or index
(see :class:`_GraphCache`).
"""

from __future__ import annotations

import gc
import weakref
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar

import networkx as nx
import numpy as np

from ganpo_geo._errors import ValidationError

_T = TypeVar("_T")


@dataclass(frozen=True)
class _Arrays:
    """Array view of a network: reaches in topological order (upstream first)."""

    nodes: list[Hashable]  # node labels, position = node index
    node_index: dict[Hashable, int]
    up: np.ndarray  # node index of each reach's upstream end
    down: np.ndarray
    reach_ids: np.ndarray
    edges: list[tuple[Hashable, Hashable]]  # (u, v) label pairs, in reach order
    length_km: np.ndarray
    topo: np.ndarray  # reach positions in topological order (upstream first)
    node_level: np.ndarray  # topological level of each node (sources 0)
    reach_pos: dict[int, int]  # reach_id -> position


class _Tracked(dict[Any, Any]):
    """A graph's attribute or adjacency dict that counts its own changes.

    :func:`_graph_cache` swaps a graph's node, adjacency and edge dicts for these (same
    contents) so that any edit made through networkx (``G.edges[e]["length_km"] = ...``,
    ``add_edge``, ``remove_edge``, ``nx.set_edge_attributes`` ...) bumps the shared version
    counter and invalidates every array or index derived from the graph. Copies
    (``dict.copy``, ``G.copy()``, pickling) are plain dicts.
    """

    __slots__ = ("_version",)

    def __init__(self, data: dict[Any, Any], version: list[int]) -> None:
        super().__init__(data)
        self._version = version

    def _bump(self) -> None:
        self._version[0] += 1

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(key, value)
        self._bump()

    def __delitem__(self, key: Any) -> None:
        super().__delitem__(key)
        self._bump()

    def __ior__(self, other: Any) -> _Tracked:  # type: ignore[misc]  # dict's |= typing is narrower
        self.update(other)
        return self

    def update(self, *args: Any, **kwargs: Any) -> None:
        super().update(*args, **kwargs)
        self._bump()

    def pop(self, *args: Any) -> Any:
        self._bump()
        return super().pop(*args)

    def popitem(self) -> tuple[Any, Any]:
        self._bump()
        return super().popitem()

    def clear(self) -> None:
        super().clear()
        self._bump()

    def setdefault(self, key: Any, default: Any = None) -> Any:
        if key not in self:
            self._bump()
        return super().setdefault(key, default)

    def copy(self) -> dict[Any, Any]:
        return dict(self)

    def __reduce__(self) -> tuple[type[dict[Any, Any]], tuple[dict[Any, Any]]]:
        return (dict, (dict(self),))


class _GraphCache:
    """Arrays and indexes derived from one graph, valid while the graph is unchanged.

    Valid only for the graph object that built it (``G.copy()`` shares ``G.graph`` but gets
    its own cache) and only while no tracked dict changed and the node count is the same.
    Pickles as None (rebuilt on first use).
    """

    def __init__(self, G: nx.DiGraph) -> None:
        self.owner = weakref.ref(G)
        self.version = [0]
        self.n_nodes = len(G._node)
        self.values: dict[str, Any] = {}
        version = self.version

        def track(data: dict[Any, Any]) -> _Tracked:
            # a dict tracked before keeps its identity (references to it stay live)
            if isinstance(data, _Tracked):
                data._version = version
                return data
            return _Tracked(data, version)

        was_enabled = gc.isenabled()
        gc.disable()  # a million new dicts would trigger many full collections
        try:
            for node, data in G._node.items():
                G._node[node] = track(data)
            for adj in (G._succ, G._pred):
                for node, nbrs in adj.items():
                    adj[node] = track(nbrs)
            for u, nbrs in G._succ.items():
                for v, data in nbrs.items():
                    tracked = track(data)
                    dict.__setitem__(nbrs, v, tracked)
                    dict.__setitem__(G._pred[v], u, tracked)
        finally:
            if was_enabled:
                gc.enable()

    def valid_for(self, G: nx.DiGraph) -> bool:
        return self.version[0] == 0 and len(G._node) == self.n_nodes and self.owner() is G

    def __reduce__(self) -> tuple[type[None], tuple[()]]:
        return (type(None), ())


def _graph_cache(G: nx.DiGraph) -> dict[str, Any]:
    """The cache of values derived from G (emptied whenever G changed; see _GraphCache).

    Graph views (``G.subgraph``, ``nx.reverse_view`` ...) cannot be tracked: they get a fresh,
    unshared dict every time (nothing is cached for them).
    """
    if type(G._node) is not dict or type(G._succ) is not dict or type(G._pred) is not dict:
        return {}
    entry = G.graph.get("_cache")
    if not isinstance(entry, _GraphCache) or not entry.valid_for(G):
        entry = _GraphCache(G)
        G.graph["_cache"] = entry
    return entry.values


def _cached(G: nx.DiGraph, name: str, build: Callable[[], _T]) -> _T:
    """``build()`` computed once per unchanged graph."""
    values = _graph_cache(G)
    if name not in values:
        values[name] = build()
    value: _T = values[name]
    return value


def _arrays(G: nx.DiGraph) -> _Arrays:
    """Array view of G, cached with the graph's content (see :class:`_GraphCache`)."""
    return _cached(G, "arrays", lambda: _build_arrays(G))


def _build_arrays(G: nx.DiGraph) -> _Arrays:
    nodes = list(G.nodes)
    node_index = {n: i for i, n in enumerate(nodes)}
    edges = list(G.edges)
    up = np.fromiter((node_index[a] for a, _ in edges), dtype=np.int64, count=len(edges))
    down = np.fromiter((node_index[b] for _, b in edges), dtype=np.int64, count=len(edges))
    data = G.edges(data=True)
    reach_ids = np.fromiter(
        (d.get("reach_id", i + 1) for i, (_, _, d) in enumerate(data)),
        dtype=np.int64,
        count=len(edges),
    )
    length = np.fromiter((d.get("length_km", 0.0) for _, _, d in data), dtype=float, count=len(edges))
    node_level = _node_levels(up, down, len(nodes))
    topo = np.argsort(node_level[up], kind="stable")
    arrays = _Arrays(
        nodes=nodes,
        node_index=node_index,
        up=up,
        down=down,
        reach_ids=reach_ids,
        edges=edges,
        length_km=length,
        topo=topo,
        node_level=node_level,
        reach_pos={int(r): i for i, r in enumerate(reach_ids)},
    )
    return arrays


def _node_levels(up: np.ndarray, down: np.ndarray, n_nodes: int) -> np.ndarray:
    """Topological level of every node (sources 0), by Kahn's algorithm level by level."""
    indeg = np.bincount(down, minlength=n_nodes)
    out_ptr = np.zeros(n_nodes + 1, dtype=np.int64)
    np.cumsum(np.bincount(up, minlength=n_nodes), out=out_ptr[1:])
    by_up = np.argsort(up, kind="stable")
    level = np.full(n_nodes, -1, dtype=np.int64)
    frontier = np.flatnonzero(indeg == 0)
    depth = 0
    while frontier.size:
        level[frontier] = depth
        out_edges = by_up[_gather(out_ptr, frontier)]
        targets = down[out_edges]
        np.subtract.at(indeg, targets, 1)
        frontier = np.unique(targets[indeg[targets] == 0])
        depth += 1
    if (level < 0).any():
        msg = "the river network has a cycle: it must be a DAG (see network_from_lines rules)"
        raise ValidationError(msg)
    return level


def _gather(ptr: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Positions ptr[r]..ptr[r+1]-1 for every r in rows, concatenated (CSR row gather)."""
    starts, stops = ptr[rows], ptr[rows + 1]
    counts = stops - starts
    total = int(counts.sum())
    if total == 0:
        return np.empty(0, dtype=np.int64)
    return np.repeat(starts - np.r_[0, counts.cumsum()[:-1]], counts) + np.arange(total)


def _groups(keys: np.ndarray) -> list[np.ndarray]:
    """Indices grouped by key, groups in increasing key order."""
    order = np.argsort(keys, kind="stable")
    bounds = np.flatnonzero(np.diff(keys[order])) + 1
    return np.split(order, bounds)
