"""On-disk cache of built indexes, keyed by a content hash of the layers they were built from.

A new process that checks sites against the same layers loads the indexes (point grids, trees,
KD-trees, tables) from one file instead of rebuilding them (seconds). The key is the SHA-256 of
the layer files' bytes (and of the code that builds the indexes, the library versions and the
cache format), so any change to a layer or to that code gives a new key: a stale file is never
used. Each file carries the SHA-256 of everything after it; a truncated or corrupt file fails
that check (or unpickling) and is removed, and the caller rebuilds. Files are written to a
temporary name and renamed (atomic).

The objects are pickled (protocol 5) with their large array buffers out of band: each buffer is
written raw, aligned, after the pickle stream, and a load maps the file (``mmap``, copy on
write) and hands the buffers to ``pickle.loads`` where they lie, so a load copies nothing and
the grids' pages come from the page cache. Any picklable object can be cached: a class that
gains a field is rebuilt under the new key its changed code gives.

Besides the per-:class:`~ganpo_geo.layers.Layers` indexes, :func:`shared` holds indexes built once
per process by modules below :mod:`ganpo_geo.siting` (the catchment grid of
:mod:`ganpo_geo.basins`); the caller of :func:`load` and :func:`save` puts them in the same file.

The folder is ``$GANPO_CACHE_DIR`` when set, else the user cache folder
(``platformdirs.user_cache_dir("ganpo_geo")``). ``GANPO_CACHE_DIR=off`` disables the cache.
The files are pickles: only the user's own cache folder is read.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import mmap
import os
import pickle
import struct
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import shapely

from ganpo_geo._threads import prepare_shared

__all__ = ["CACHE_FORMAT", "cache_dir", "content_key", "load", "save", "share", "shared", "shared_objects"]

_T = TypeVar("_T")

#: Bumped when what is cached or the file layout changes shape (old files then have another key).
CACHE_FORMAT = "2"
_MAGIC = b"GANPOIDX2\n"
_DIGEST = 32  # two SHA-256 after the magic: of the stream (and its table), and of the raw buffers
_COUNTS = struct.Struct("<QQ")  # pickle stream length, number of raw buffers
_ENTRY = struct.Struct("<QQ")  # a raw buffer's offset in the file and its length
_ALIGN = 64  # raw buffers start at multiples of this (aligned for any dtype)
#: Buffers at least this large are written raw (out of band); smaller ones stay in the stream.
RAW_MIN_BYTES = 1 << 14
#: The kinds of file: the indexes, written once, and small tables that grow (rewritten when they do).
KINDS = ("indexes", "tables")
#: Files of this many keys are kept per kind (the newest): other versions or data in use keep theirs,
#: and the folder does not fill up with the indexes of every version that ever ran.
KEEP_KEYS = 3
_STALE_TMP_S = 3600.0  # a temporary file this old is what a killed save left

_SHARED: dict[str, Any] = {}
_SHARED_LOCK = threading.RLock()  # held while a shared object is built
_RING_TYPE = int(shapely.GeometryType.LINEARRING)


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
    """SHA-256 (hex) of the files' names and bytes (sorted by path) and ``extra``.

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


def shared(name: str, build: Callable[[], _T]) -> _T:
    """The process-wide object ``name``: restored from the disk cache (:func:`share`) or built once.

    For indexes of the bundled data built by modules that cannot see a
    :class:`~ganpo_geo.layers.Layers` (the catchment grid): a batch saves them with its own
    indexes (:func:`shared_objects`) and a new process gets them back without rebuilding.

    Parameters
    ----------
    name : str
        Unique among the shared objects; it names the object in the cache file.
    build : callable
        Builds the object (from the bundled data only: the cache key covers nothing else).

    Returns
    -------
    object
    """
    try:
        value: _T = _SHARED[name]
    except KeyError:
        with _SHARED_LOCK:  # threads checking chunks at once build it once
            if name not in _SHARED:
                _SHARED[name] = build()
            value = _SHARED[name]
    return value


def shared_objects() -> dict[str, Any]:
    """The shared objects of this process (a copy), to save with a batch's indexes."""
    return dict(_SHARED)


def share(objects: dict[str, Any]) -> None:
    """Make loaded objects the process's shared ones (those already built here are kept)."""
    for name, value in objects.items():
        _SHARED.setdefault(name, value)


def _path(key: str, kind: str) -> Path | None:
    if kind not in KINDS:
        msg = f"unknown cache file kind {kind!r}: use one of {', '.join(KINDS)}"
        raise ValueError(msg)
    folder = cache_dir()
    return None if folder is None else folder / f"{kind}-{key[:32]}.pkl"


def load(key: str, kind: str = "indexes") -> dict[str, Any] | None:
    """The objects saved under ``key``, or None (no file, or a stale/corrupt one, then removed).

    The file is mapped, not read: large arrays of the objects are views of the mapping (copy
    on write: writable, the file never changes). The pickle stream is checked before it is
    unpickled; the raw buffers (plain numbers) are checked in a thread while it is.

    Parameters
    ----------
    key : str
    kind : {"indexes", "tables"}
        Which of the key's files.

    Returns
    -------
    dict or None
    """
    path = _path(key, kind)
    if path is None or not path.is_file():
        return None
    try:
        with path.open("rb") as fh:
            data = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_COPY)
            return _load_mapped(fh, data, key)
    except Exception:  # any unreadable file is rebuilt, never trusted
        with contextlib.suppress(OSError):
            path.unlink()
        return None


def _load_mapped(fh: io.BufferedReader, data: mmap.mmap, key: str) -> dict[str, Any]:
    """Check and unpickle a mapped cache file (raises on anything wrong).

    The raw buffers are hashed from the open file (``fh``, the mapped one, even if the path
    was replaced since), not through the mapping: the pages a check never uses stay out of
    this process's memory (its resident set), only in the system's file cache.
    """
    view = memoryview(data)
    start = len(_MAGIC) + 2 * _DIGEST
    if len(view) < start + _COUNTS.size or view[: len(_MAGIC)] != _MAGIC:
        raise ValueError("not a cache file")
    n_stream, n_raw = _COUNTS.unpack_from(view, start)
    at = start + _COUNTS.size + n_raw * _ENTRY.size
    end = at + n_stream  # the raw buffers follow
    if end > len(view):
        raise ValueError("truncated")
    if hashlib.sha256(view[start:end]).digest() != view[len(_MAGIC) : len(_MAGIC) + _DIGEST]:
        raise ValueError("checksum")
    table = [_ENTRY.unpack_from(view, start + _COUNTS.size + i * _ENTRY.size) for i in range(n_raw)]
    if any(offset < end or offset + size > len(view) for offset, size in table):
        raise ValueError("layout")
    raw_digest: list[bytes] = []
    check = threading.Thread(target=lambda: raw_digest.append(_file_digest(fh, end)))
    check.start()  # reading and hashing let go of the GIL: the buffers are hashed while the stream is read
    try:
        # the user's own cache folder, checksummed
        value = pickle.loads(view[at:end], buffers=[view[offset : offset + size] for offset, size in table])
    finally:
        check.join()
    if raw_digest != [bytes(view[len(_MAGIC) + _DIGEST : start])]:
        raise ValueError("checksum")
    if not isinstance(value, dict) or value.get("__key__") != key:
        raise ValueError("key")
    value.pop("__key__")
    return value


def _file_digest(fh: io.BufferedReader, offset: int) -> bytes:
    """SHA-256 of an open file from ``offset`` to its end, read in blocks."""
    digest = hashlib.sha256()
    fh.seek(offset)
    block = bytearray(1 << 22)
    while size := fh.readinto(block):
        digest.update(memoryview(block)[:size])
    return digest.digest()


def _geometry(build: Callable[..., Any], args: tuple[Any, ...], prepared: bool) -> shapely.Geometry:
    """A geometry from the cache (shapely's own pickling), prepared again if it was."""
    geom: shapely.Geometry = build(*args)
    if prepared:
        prepare_shared(geom)  # its point locator too: threads may share it
    return geom


def _geometries(wkb: np.ndarray, prepared: np.ndarray) -> np.ndarray:
    """An array of geometries from the cache (one vectorized parse), prepared again where they were."""
    geoms: np.ndarray = shapely.from_wkb(wkb)
    if prepared.any():
        prepare_shared(geoms[prepared])  # their point locators too: threads may share them
    return geoms


class _Pickler(pickle.Pickler):
    """Pickles geometries with their prepared state (shapely's own pickling drops it: a loaded
    index is then as it was built, prepared where its builder prepared it), and arrays of
    geometries as one array of WKB (parsed in one call at load, not one call per geometry)."""

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, shapely.Geometry):
            build, args = obj.__reduce__()[:2]
            return _geometry, (build, args, bool(shapely.is_prepared(obj)))
        if type(obj) is np.ndarray and obj.dtype == object and obj.ndim == 1 and obj.size:
            given = shapely.is_geometry(obj)
            # WKB has no linear rings (they would come back as lines): those go one by one
            if given.any() and (given | shapely.is_missing(obj)).all() and _RING_TYPE not in shapely.get_type_id(obj):
                return _geometries, (shapely.to_wkb(obj, include_srid=True), shapely.is_prepared(obj))
        return NotImplemented


def _pickled(kept: dict[str, Any]) -> tuple[bytes, list[pickle.PickleBuffer]]:
    raw: list[pickle.PickleBuffer] = []

    def out_of_band(buffer: pickle.PickleBuffer) -> bool:
        with buffer.raw() as flat:
            if flat.nbytes < RAW_MIN_BYTES:
                return True  # in the stream
        raw.append(buffer)
        return False

    out = io.BytesIO()
    _Pickler(out, protocol=5, buffer_callback=out_of_band).dump(kept)
    return out.getvalue(), raw


def save(key: str, objects: dict[str, Any], kind: str = "indexes") -> Path | None:
    """Save ``objects`` under ``key`` (atomically); those that cannot be pickled are left out.

    Parameters
    ----------
    key : str
    objects : dict
    kind : {"indexes", "tables"}
        Which of the key's files.

    Returns
    -------
    pathlib.Path or None
        The file, or None when the cache is disabled or the folder is not writable.
    """
    path = _path(key, kind)
    if path is None:
        return None
    kept: dict[str, Any] = {"__key__": key, **objects}
    try:
        stream, raw = _pickled(kept)
    except Exception:  # some object does not pickle: keep those that do (the rest is rebuilt)
        for name, value in objects.items():
            try:
                _Pickler(io.BytesIO(), protocol=5).dump(value)
            except Exception:
                del kept[name]
        stream, raw = _pickled(kept)
    flats = [buffer.raw() for buffer in raw]
    head = len(_MAGIC) + 2 * _DIGEST
    body = [_COUNTS.pack(len(stream), len(flats))]
    at = head + _COUNTS.size + len(flats) * _ENTRY.size + len(stream)
    pieces: list[bytes | memoryview] = []
    for flat in flats:
        pad = -at % _ALIGN
        body.append(_ENTRY.pack(at + pad, flat.nbytes))
        pieces += [bytes(pad), flat]
        at += pad + flat.nbytes
    body.append(stream)
    meta, rest = hashlib.sha256(), hashlib.sha256()
    for part in body:
        meta.update(part)
    for piece in pieces:
        rest.update(piece)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(_MAGIC + meta.digest() + rest.digest())
            for chunk in (*body, *pieces):
                fh.write(chunk)
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError, UnboundLocalError):
            Path(tmp).unlink()
        return None
    finally:
        for flat in flats:
            flat.release()
    _prune(path, kind)
    return path


def _prune(kept: Path, kind: str) -> None:
    """Remove the files of all but the ``KEEP_KEYS`` newest keys of ``kind``, and old temporary files."""
    with contextlib.suppress(OSError):
        others = []
        for file in kept.parent.glob(f"{kind}-*.pkl"):
            if file.name != kept.name:
                with contextlib.suppress(OSError):
                    others.append((file.stat().st_mtime, file))
        others.sort(reverse=True)
        now = time.time()
        stale = [f for _, f in others[KEEP_KEYS - 1 :]]
        for file in kept.parent.glob(f".{kind}-*.tmp"):
            with contextlib.suppress(OSError):
                if now - file.stat().st_mtime > _STALE_TMP_S:
                    stale.append(file)
        for file in stale:
            with contextlib.suppress(OSError):
                file.unlink()
