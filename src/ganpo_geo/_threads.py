"""Batches checked in chunks on threads: the chunk plan and a runner that keeps the chunks' order.

The check is vectorized numpy, shapely and pyproj work, which releases the GIL for most of its
time, so chunks checked on two threads take less wall time on two cores than one after the
other (1.3 to 1.5 times less for a million sites, ``bench/bench_siting.py``). Results do not
depend on the number of threads: each chunk writes only its own rows.
"""

from __future__ import annotations

import itertools
import os
from collections import deque
from collections.abc import Callable, Generator, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

import numpy as np
import shapely

__all__ = ["check_threads", "chunk_bounds", "in_threads", "prepare_shared", "usable_cores"]

_T = TypeVar("_T")

def usable_cores() -> int:
    """CPU cores this process may run on (its affinity mask where the OS has one).

    Returns
    -------
    int
        At least 1.
    """
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def check_threads(workers: int | None) -> int:
    """Threads that check chunks at once: ``workers`` when given, else one per usable core.

    Parameters
    ----------
    workers : int, optional
        The user's choice (validated >= 1 by the caller).

    Returns
    -------
    int
    """
    return usable_cores() if workers is None else int(workers)


def chunk_bounds(n: int, chunk_size: int) -> list[tuple[int, int]]:
    """``(start, stop)`` of the chunks of a batch of ``n`` rows, in order.

    As few chunks as hold at most ``chunk_size`` rows each, their sizes within one row of each
    other and never growing: the first chunk is a largest one (see :func:`in_threads`). A batch
    of one chunk is checked in the calling thread: splitting it for threads was measured slower
    (the first chunk runs alone, and every chunk has a fixed cost).

    Parameters
    ----------
    n : int
        Rows in the batch (>= 0); an empty batch is one empty chunk.
    chunk_size : int
        Most rows per chunk (>= 1).

    Returns
    -------
    list of (int, int)

    Examples
    --------
    >>> chunk_bounds(250_000, 100_000)
    [(0, 83334), (83334, 166667), (166667, 250000)]
    >>> chunk_bounds(50_000, 100_000)
    [(0, 50000)]
    """
    if n <= 0:
        return [(0, 0)]
    count = -(-n // chunk_size)
    base, extra = divmod(n, count)
    stops = [(i + 1) * base + min(i + 1, extra) for i in range(count)]
    return list(zip([0, *stops[:-1]], stops, strict=True))


def in_threads(
    func: Callable[..., _T],
    jobs: Iterable[tuple[Any, ...]],
    threads: int,
    *,
    first_alone: bool = True,
) -> Generator[_T, None, None]:
    """``func(*job)`` for each job, yielded in the jobs' order, ``threads`` jobs at a time.

    With ``first_alone`` the first job runs alone, in the calling thread: it builds whatever
    the check builds lazily once per process (indexes, memo tables, the point locators of GEOS
    prepared geometries, which are not safe to build from two threads at once,
    libgeos/geos#825), and it decides, as the largest chunk, which index paths a batch takes,
    as a serial run would. ``jobs`` is consumed lazily: at most ``threads + 1`` jobs are queued
    or running at once, so a stream of chunks read from a file stays bounded in memory.

    Parameters
    ----------
    func : callable
    jobs : iterable of tuple
        Positional arguments of each call.
    threads : int
        Threads at once; 1: every job in the calling thread, one after the other.
    first_alone : bool
        Run the first job alone in the calling thread before the others start.

    Yields
    ------
    object
        Each call's result, in order. An exception of a call is raised when its turn comes;
        the calls not yet started are then cancelled.
    """
    it = iter(jobs)
    if threads <= 1:
        for job in it:
            yield func(*job)
        return
    first_result: list[_T] = []
    if first_alone:
        first = next(it, None)
        if first is None:
            return
        first_result.append(func(*first))
    executor = ThreadPoolExecutor(threads, thread_name_prefix="ganpo-check")
    pending: deque[Future[_T]] = deque()
    try:
        for job in itertools.islice(it, threads):
            pending.append(executor.submit(func, *job))
        yield from first_result
        for job in it:
            pending.append(executor.submit(func, *job))
            yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


def prepare_shared(geoms: Any) -> None:
    """Prepare geometries (in place) and build their lazy point locators now, in one thread.

    A GEOS prepared polygon answers its first point test with a plain (unindexed) locator and
    builds its indexed locator on the second test, lazily and not thread-safe
    (``PreparedPolygon::getPointLocator``, libgeos/geos#825). shapely releases the GIL during
    the tests, so threads sharing prepared geometries (chunks checked at once, the dask
    engine's threaded scheduler) must find the indexed locator built: two tests here build it.
    Point tests (``intersects_xy``, ``contains_xy``) are then safe to share; tests against
    lines or polygons are not: pass the unprepared site first for those.

    Parameters
    ----------
    geoms : shapely geometry or numpy.ndarray of them
    """
    geoms = np.atleast_1d(np.asarray(geoms, dtype=object))
    shapely.prepare(geoms)
    present = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    if present.size:  # tests at the centre of each envelope: past the envelope check, a locator is used
        west, south, east, north = shapely.bounds(present).T
        x, y = (west + east) / 2, (south + north) / 2
        for _ in range(2):  # the first test uses the plain locator, the second builds the indexed one
            shapely.intersects_xy(present, x, y)
