"""On-disk cache of built indexes, keyed by a content hash of the layers they were built from.

A new process that checks sites against the same layers loads the indexes (point grids, trees,
KD-trees, tables) from one file instead of rebuilding them (seconds). The key is the SHA-256 of
the layer files' bytes (and of this package's version and the cache format), so any change to a
layer gives a new key: a stale file is never used. Each file carries the SHA-256 of its payload;
a truncated or corrupt file fails that check (or unpickling) and is removed, and the caller
rebuilds. Files are written to a temporary name and renamed (atomic).

The folder is ``$GANPO_CACHE_DIR`` when set, else the user cache folder
(``platformdirs.user_cache_dir("ganpo_geo")``). ``GANPO_CACHE_DIR=off`` disables the cache.
The files are pickles: only the user's own cache folder is read.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

__all__ = ["CACHE_FORMAT", "cache_dir", "content_key", "load", "save"]

#: Bumped when what is cached changes shape (old files then have another key).
CACHE_FORMAT = "1"
_MAGIC = b"GANPOIDX1\n"
_DIGEST = 32


def cache_dir() -> Path | None:
    """The cache folder (created on first save), or None when disabled (``GANPO_CACHE_DIR=off``)."""
    given = os.environ.get("GANPO_CACHE_DIR")
    if given is not None:
        return None if given.strip().lower() in ("off", "0", "none", "") else Path(given)
    try:
        import platformdirs  # lazy on purpose: only when a cache is read or written
    except ImportError:
        return Path.home() / ".cache" / "ganpo_geo"
    return Path(platformdirs.user_cache_dir("ganpo_geo"))


def content_key(files: Iterable[Path], extra: str = "") -> str:
    """SHA-256 (hex) of the files' names and bytes (sorted by name) and ``extra``.

    Parameters
    ----------
    files : iterable of pathlib.Path
    extra : str
        Anything else the cached objects depend on (versions, options).

    Returns
    -------
    str
    """
    digest = hashlib.sha256(f"{CACHE_FORMAT}\0{extra}\0".encode())
    for path in sorted(Path(f) for f in files):
        digest.update(path.name.encode() + b"\0")
        with path.open("rb") as fh:
            while block := fh.read(1 << 20):
                digest.update(block)
        digest.update(b"\0")
    return digest.hexdigest()


def _path(key: str) -> Path | None:
    folder = cache_dir()
    return None if folder is None else folder / f"indexes-{key[:32]}.pkl"


def load(key: str) -> dict[str, Any] | None:
    """The objects saved under ``key``, or None (no file, or a stale/corrupt one, then removed).

    Parameters
    ----------
    key : str

    Returns
    -------
    dict or None
    """
    path = _path(key)
    if path is None or not path.is_file():
        return None
    try:
        raw = path.read_bytes()
        start = len(_MAGIC) + _DIGEST
        head, digest, payload = raw[: len(_MAGIC)], raw[len(_MAGIC) : start], raw[start:]
        if head != _MAGIC or hashlib.sha256(payload).digest() != digest:
            raise ValueError("checksum")
        value = pickle.loads(payload)  # the user's own cache folder, checksummed
        if not isinstance(value, dict) or value.get("__key__") != key:
            raise ValueError("key")
    except Exception:  # any unreadable file is rebuilt, never trusted
        with contextlib.suppress(OSError):
            path.unlink()
        return None
    value.pop("__key__")
    return value


def save(key: str, objects: dict[str, Any]) -> Path | None:
    """Save ``objects`` under ``key`` (atomically); those that cannot be pickled are left out.

    Parameters
    ----------
    key : str
    objects : dict

    Returns
    -------
    pathlib.Path or None
        The file, or None when the cache is disabled or the folder is not writable.
    """
    path = _path(key)
    if path is None:
        return None
    kept: dict[str, Any] = {"__key__": key, **objects}
    try:
        payload = pickle.dumps(kept, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # some object does not pickle: keep those that do (the rest is rebuilt)
        for name, value in objects.items():
            try:
                pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
            except Exception:
                del kept[name]
        payload = pickle.dumps(kept, protocol=pickle.HIGHEST_PROTOCOL)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(_MAGIC + hashlib.sha256(payload).digest() + payload)
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError, UnboundLocalError):
            Path(tmp).unlink()
        return None
    return path
