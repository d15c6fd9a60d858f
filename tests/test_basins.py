"""Basins (ganpo_geo.basins): the bundled catchment indexes shared by threads."""

from __future__ import annotations

import threading

from ganpo_geo import _cache
from ganpo_geo.basins import _bundled_catchment_index


def test_catchment_indexes_are_built_once_by_threads_at_once(monkeypatch) -> None:
    # chunks on two threads ask for the catchment tree at the same moment: one builds it (they
    # would otherwise prepare the same GEOS geometries at once), the other waits for it
    monkeypatch.setattr(_cache, "_SHARED", {})
    for grid in (False, True):
        barrier = threading.Barrier(2)
        got: list[object] = []

        def ask(grid: bool = grid, barrier: threading.Barrier = barrier, got: list[object] = got) -> None:
            barrier.wait()
            got.append(_bundled_catchment_index(grid))

        workers = [threading.Thread(target=ask) for _ in range(2)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        assert len(got) == 2 and got[0] is got[1]
        assert _cache.shared_objects()["catchment_tree" if not grid else "catchment_grid"] is got[0]
