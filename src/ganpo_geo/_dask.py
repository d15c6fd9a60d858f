"""dask and dask.distributed for the batch engines: optional imports and the scheduler to use.

dask is an optional extra (``pip install 'ganpo_geo[dask]'``); every import of it goes through
here, so that a missing extra is one line saying how to install it.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any

from ganpo_geo._errors import ValidationError

__all__ = ["SCHEDULER_PATTERN", "check_scheduler", "client_for", "import_dask"]

#: What ``scheduler=`` / ``--scheduler`` accepts.
SCHEDULER_PATTERN = re.compile(r"threads|processes|tcp://[^\s:/]+:\d+")


def check_scheduler(scheduler: str | None, engine: str = "dask") -> str:
    """The scheduler to use (``threads`` when none is given), or a one-line error.

    Parameters
    ----------
    scheduler : str, optional
        ``threads``, ``processes`` or ``tcp://HOST:PORT``.
    engine : str
        The engine asked for: a scheduler is only for ``dask``.

    Returns
    -------
    str
    """
    if scheduler is None:
        return "threads"
    if engine != "dask" or not SCHEDULER_PATTERN.fullmatch(scheduler):
        msg = f"scheduler {scheduler!r}: use threads, processes or tcp://HOST:PORT, with engine dask"
        raise ValidationError(msg)
    return scheduler


def import_dask() -> tuple[Any, Any]:
    """``(dask, dask_geopandas)``, or a one-line error naming the extra to install."""
    try:  # lazy on purpose: dask is an optional extra
        import dask
        import dask_geopandas
    except ImportError:
        msg = "the dask engine needs the [dask] extra: pip install 'ganpo_geo[dask]'"
        raise ValidationError(msg) from None
    return dask, dask_geopandas


@contextlib.contextmanager
def client_for(scheduler: str, workers: int | None) -> Iterator[Any]:
    """A ``dask.distributed.Client`` for ``processes`` (a local cluster, closed on exit) or a
    ``tcp://`` address (an existing cluster, left running); ``None`` for ``threads``.

    Parameters
    ----------
    scheduler : str
        As returned by :func:`check_scheduler`.
    workers : int, optional
        Worker processes of a local cluster (default 2).
    """
    if scheduler == "threads":
        yield None
        return
    try:  # lazy on purpose: the distributed scheduler is optional too
        import dask.distributed

        distributed: Any = dask.distributed  # untyped library
    except ImportError:
        msg = "a distributed scheduler needs dask.distributed: pip install 'ganpo_geo[dask]'"
        raise ValidationError(msg) from None
    cluster: Any = None
    if scheduler == "processes":
        cluster = distributed.LocalCluster(
            n_workers=workers or 2, threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = distributed.Client(cluster)
    else:
        try:
            client = distributed.Client(scheduler, timeout="10s")
        except OSError as exc:
            msg = f"cannot reach the dask scheduler at {scheduler} ({exc}); start it or check the address"
            raise ValidationError(msg) from None
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
