"""Batch site checks from file to file, streamed in chunks (bounded memory, atomic output).

A UTF-8 CSV input (with or without BOM, ``,`` ``;`` or tab delimited) is read with
``pyarrow.csv`` block by block; each chunk is parsed into sites, checked with
:func:`ganpo_geo.siting.check_sites` and appended to a temporary file next to the output
(``.csv`` through Arrow's CSV writer, ``.parquet`` through a ``pyarrow.parquet.ParquetWriter``),
which is renamed onto the output at the end (:func:`ganpo_geo.io.atomic_path`): an interrupted
run leaves the output as it was, and the input is never replaced. Peak memory follows the chunk
size, not the file size.

Any other input (GBK or UTF-16 CSV, ragged rows, undecodable bytes, XLSX, GeoPackage, ...) or
output (GeoJSON, GeoPackage, XLSX) goes the in-memory way: :func:`read_sites`,
:func:`check_sites`, :func:`ganpo_geo.io.write_table`. Both ways give the same rows.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import re
import sys
import time
import warnings
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import shapely

from ganpo_geo._arrow import text_array
from ganpo_geo._checks import check_count
from ganpo_geo._errors import ValidationError
from ganpo_geo._threads import check_threads, in_threads
from ganpo_geo.io import _DELIMITERS, _sniff_delimiter, atomic_path, check_output_path, write_table
from ganpo_geo.layers import Layers, bundled_layers
from ganpo_geo.siting import FAR_ERROR, _FarPoints, _indexes_ready, _table_sites, check_sites, read_sites

__all__ = ["STREAM_CHUNK", "BatchSummary", "check_file", "error_kind"]

#: Rows per streamed chunk: large enough to vectorize, small enough for a progress step a second.
STREAM_CHUNK = 50_000
#: The first streamed chunk is checked alone (it says the warnings once); when the grid indexes
#: are already there (the disk cache), it is this small, so that the threads start sooner
#: (measured on 100,000 and 1,000,000 rows: 2,000 rows start them about 0.1 s sooner than 10,000).
FIRST_CHUNK_READY = 2_000
#: Batches above this many rows show progress.
PROGRESS_MIN_ROWS = 10_000
_STREAM_OUTPUTS = (".csv", ".parquet")
_STREAM_INPUTS = (".csv", ".txt", ".tsv")
_BLOCK_BYTES = 8 << 20
_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?")
#: The same pattern for Arrow's RE2 (Python's ``\d`` in a str pattern is any Unicode decimal digit).
_NUMBER_RE2 = r"[-+]?\p{Nd}+(?:\.\p{Nd}+)?(?:e[-+]?\p{Nd}+)?"


@dataclass
class BatchSummary:
    """What a batch run did.

    Attributes
    ----------
    rows : int
    verdicts : dict
        Count of each verdict among the rows checked without error.
    errors : dict
        Count of rows per error kind (the error text with its numbers replaced by ``#``).
    seconds : float
        Wall time, reading to renaming the output.
    streamed : bool
        Whether the file went through in chunks (else: read whole, checked, written).
    data_notice : str
    """

    rows: int = 0
    verdicts: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    streamed: bool = False
    data_notice: str = ""

    def add(self, result: pd.DataFrame, table: pa.Table | None = None) -> None:
        """Count the rows, verdicts and error kinds of one checked chunk.

        ``table``: the chunk's Arrow table (the result's columns, text as Arrow strings), when
        there is one: the counts are taken from it, without converting the texts again.
        """
        col = result.attrs.get("ganpo_columns", {})
        names = [col.get(c, c) for c in ("error", "verdict", "data_notice")]
        if table is not None and all(_is_text(table.schema.field(n).type) for n in names):
            error, verdict, notice = (table.column(n) for n in names)
        else:
            error, verdict, notice = (_arrow_texts(result[n].to_numpy(dtype=object)) for n in names)
        import pyarrow.compute as pc  # lazy on purpose: like pyarrow.csv, only batches need it

        self.rows += len(result)
        fine = pc.fill_null(pc.equal(error, ""), False)
        counts = pc.value_counts(verdict.filter(fine))  # in the order of the first row of each
        values, number = counts.field("values").to_pylist(), counts.field("counts").to_numpy()
        # most rows first, ties in the order of their first row (as pandas' value_counts)
        self.verdicts.update({values[i]: int(number[i]) for i in np.argsort(-number, kind="stable")})
        self.errors.update(_error_kinds(error.filter(pc.invert(fine))))
        if not self.data_notice and len(result):
            self.data_notice = str(notice[0].as_py())

    def merge(self, other: BatchSummary) -> None:
        """Add the counts of another part of the same batch (checked after the earlier parts)."""
        self.rows += other.rows
        self.verdicts.update(other.verdicts)
        self.errors.update(other.errors)
        self.data_notice = self.data_notice or other.data_notice

    def text(self) -> str:
        """One line: rows, verdicts, errors and time."""
        verdicts = ", ".join(f"{v} {k}" for k, v in self.verdicts.most_common())
        bad = sum(self.errors.values())
        return f"{self.rows} sites: {verdicts}{', ' if verdicts else ''}{bad} with errors ({self.seconds:.1f} s)"

    def error_lines(self, limit: int = 8) -> list[str]:
        """The most frequent error kinds, one line each (``count x kind``)."""
        return [f"  {count:>9,} x {kind}" for kind, count in self.errors.most_common(limit)]


def error_kind(text: str) -> str:
    """The kind of a row error: its text with the numbers (coordinates, row numbers) as ``#``.

    Parameters
    ----------
    text : str

    Returns
    -------
    str
    """
    return _NUMBER.sub("#", text)


def _is_text(kind: pa.DataType) -> bool:
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind))


def _arrow_texts(texts: np.ndarray) -> pa.Array:
    """An object array of texts as an Arrow string array (anything not a text as its ``str``)."""
    try:
        return pa.array(texts, pa.string())
    except (pa.ArrowTypeError, pa.ArrowInvalid):  # not all str
        return pa.array(texts.astype(str), pa.string())


def _error_kinds(texts: np.ndarray | pa.Array | pa.ChunkedArray) -> dict[str, int]:
    """Rows per error kind (:func:`error_kind`, vectorized), the kinds in the order of their first text.

    That order (of the sorted distinct texts) is the one counting text by text gives: ties in
    :meth:`BatchSummary.error_lines` come out the same. ``texts``: an object array, or Arrow strings.
    """
    if not len(texts):
        return {}
    import pyarrow.compute as pc  # lazy on purpose: like pyarrow.csv, only batches need it

    text = _arrow_texts(texts) if isinstance(texts, np.ndarray) else texts
    kinds = pc.replace_substring_regex(text, _NUMBER_RE2, "#")
    grouped = pa.table({"kind": kinds, "text": text}).group_by("kind").aggregate([("text", "min"), ("text", "count")])
    grouped = grouped.take(pc.sort_indices(grouped, [("text_min", "ascending")]))
    return dict(zip(grouped["kind"].to_pylist(), grouped["text_count"].to_pylist(), strict=True))


class _Progress:
    """Rows done out of an estimate: a tqdm bar on a terminal, else a line every 10% on stderr."""

    def __init__(self, total: int, show: bool | None, label: str) -> None:
        tty = sys.stderr.isatty()
        self.on = (show if show is not None else True) and total > PROGRESS_MIN_ROWS
        self.total = max(total, 1)
        self.done = 0
        self.next_tenth = 1
        self.start = time.perf_counter()
        self.bar: Any = None
        if self.on and tty:
            from tqdm import tqdm  # lazy on purpose: only for a bar on a terminal

            self.bar = tqdm(total=total, unit="rows", desc=label, leave=True, mininterval=0.5)
        elif self.on:
            print(f"{label}: {total:,} rows (estimated)", file=sys.stderr, flush=True)

    def update(self, rows: int) -> None:
        self.done += rows
        if not self.on:
            return
        if self.bar is not None:
            if self.done > self.bar.total:
                self.bar.total = self.done
            self.bar.update(rows)
            return
        tenth = min(10, int(10 * self.done / self.total))
        if tenth >= self.next_tenth:  # one line per 10% reached (several at once with big chunks)
            elapsed = time.perf_counter() - self.start
            print(f"  {tenth * 10:>3}%  {self.done:,} rows  {elapsed:.1f} s", file=sys.stderr, flush=True)
            self.next_tenth = tenth + 1

    def close(self) -> None:
        if self.bar is not None:
            self.bar.total = self.done
            self.bar.refresh()
            self.bar.close()


def _count_lines(path: Path, exact: bool = True) -> int:
    """Lines in a file (an estimate of its rows; quoted line breaks count too).

    ``exact=False``: the lines of its first block, scaled to its size (a batch without a progress
    display needs only the order of magnitude, and need not read the file twice).
    """
    lines = 0
    last = b"\n"
    with path.open("rb") as fh:
        while block := fh.read(_BLOCK_BYTES):
            lines += block.count(b"\n")
            last = block[-1:]
            if not exact and len(block) == _BLOCK_BYTES:
                return round(lines * path.stat().st_size / len(block))
    return lines + (last != b"\n")


def _stream_plan(path: Path) -> tuple[str, list[str], bool] | None:
    """Delimiter, header and BOM of a CSV Arrow can stream, or None (go the in-memory way)."""
    if path.suffix.lower() not in _STREAM_INPUTS or not path.is_file():
        return None
    with path.open("rb") as fh:
        head = fh.read(1 << 16)
    bom = head.startswith(b"\xef\xbb\xbf")
    body = head[3:] if bom else head
    if not body.strip() or b"\x00" in body or body.startswith((b"PK\x03\x04", b"\xff\xfe", b"\xfe\xff")):
        return None
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:  # a multi-byte character cut at the end of the head is fine
        if exc.start < len(body) - 4:
            return None
        text = body[: exc.start].decode("utf-8")
    if "\n" not in text:
        return None
    delimiter = _sniff_delimiter(text)
    first = text.split("\n", 1)[0].rstrip("\r")
    import pyarrow.csv as pacsv  # lazy on purpose: only batches stream CSV (a site check does not)

    columns = pacsv.read_csv(
        pa.py_buffer((first + "\n").encode()),
        read_options=pacsv.ReadOptions(autogenerate_column_names=True),
        parse_options=pacsv.ParseOptions(delimiter=delimiter),
        convert_options=pacsv.ConvertOptions(strings_can_be_null=False),
    )
    header_names = [str(columns.column(i)[0].as_py()) for i in range(columns.num_columns)]
    if len(set(header_names)) != len(header_names) or "" in header_names:
        return None  # pandas renames duplicate and blank headers: the in-memory way does it
    return delimiter, header_names, bom


def _csv_chunks(
    path: Path, delimiter: str, names: list[str], rows: int, first_rows: int | None = None
) -> Iterator[pd.DataFrame]:
    """The CSV's rows as text frames of ``rows`` rows, the first of ``first_rows`` (default ``rows``)
    (raises ``pyarrow.ArrowInvalid`` on bad rows)."""
    import pyarrow.csv as pacsv  # lazy on purpose: only batches stream CSV (a site check does not)

    reader = pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(block_size=_BLOCK_BYTES, use_threads=True),
        parse_options=pacsv.ParseOptions(delimiter=delimiter),
        convert_options=pacsv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=False, quoted_strings_can_be_null=False
        ),
    )
    pending: list[pa.RecordBatch] = []
    held = 0
    offset = 0
    size = rows if first_rows is None else first_rows
    for batch in reader:
        pending.append(batch)
        held += batch.num_rows
        while held >= size:
            table = pa.Table.from_batches(pending).combine_chunks()
            yield _frame(table.slice(0, size), offset)
            offset += size
            rest = table.slice(size)
            pending, held = rest.to_batches(), rest.num_rows
            size = rows
    if held:
        yield _frame(pa.Table.from_batches(pending), offset)


def _frame(table: pa.Table, offset: int) -> pd.DataFrame:
    frame = table.to_pandas()  # text as pandas' default string dtype, as read_csv(dtype=str) gives
    return frame.set_axis(pd.RangeIndex(offset, offset + len(frame)))


def _csv_table(result: pd.DataFrame) -> pa.Table:
    """The result without its geometry as an Arrow table (flags written True/False, as pandas does)."""
    import pyarrow.compute as pc  # lazy on purpose: like pyarrow.csv, only batches need it

    skip = result.geometry.name if isinstance(result, gpd.GeoDataFrame) else None
    plain = result.copy(deep=False)
    plain.attrs = {}  # else pandas deep-copies them into every column taken
    arrays = {}
    for name, col in plain.items():  # column by column: no copy of the frame without its geometry
        if name == skip:
            continue
        if col.dtype == "boolean":
            arrays[str(name)] = pc.if_else(pa.array(col.array), "True", "False")  # missing stays missing
        elif col.dtype == object:
            arrays[str(name)] = text_array(col.to_numpy(dtype=object))
        elif col.dtype == np.float64:
            arrays[str(name)] = _float_text(col.to_numpy())
        else:
            arrays[str(name)] = pa.array(col, from_pandas=True)
    return pa.table(arrays)


def _float_text(values: np.ndarray) -> pa.Array:
    """Floats as pandas writes them to CSV (Python's repr: ``1.0``, ``1e-05``), NaN as null.

    Arrow's shortest round-trip digits, vectorized. Values in [1e-4, 1e9) and zero, which Arrow
    writes without an exponent, take them as they are, whole ones with pandas' ``.0`` (one text
    per distinct whole value); the others (few) go through :func:`_float_text_rare`.
    """
    import pyarrow.compute as pc  # lazy on purpose: like pyarrow.csv, only batches need it

    text = pc.cast(pa.array(values, from_pandas=True), pa.string())
    with np.errstate(invalid="ignore"):
        size = np.abs(values)
        plain = (size < 1e9) & ((size >= 1e-4) | ((values == 0) & ~np.signbit(values)))  # NaN: False
        whole = plain & (np.trunc(values) == values)
    if whole.any():
        uniq, inverse = np.unique(values[whole], return_inverse=True)
        texts = pc.binary_join_element_wise(pc.cast(pa.array(uniq), pa.string()), ".0", "")
        text = pc.replace_with_mask(text, pa.array(whole), texts.take(pa.array(inverse.reshape(-1))))
    rare = ~plain & ~np.isnan(values)
    if rare.any():
        text = pc.replace_with_mask(text, pa.array(rare), _float_text_rare(values[rare]))
    return text


def _float_text_rare(values: np.ndarray) -> pa.Array:
    """:func:`_float_text` of any floats: whole numbers get ``.0``, exponents and tiny values Python's repr."""
    import pyarrow.compute as pc  # lazy on purpose: like pyarrow.csv, only batches need it

    text = pc.cast(pa.array(values, from_pandas=True), pa.string())
    whole = pc.invert(pc.match_substring_regex(text, "[.ein]"))
    text = pc.if_else(whole, pc.binary_join_element_wise(text, ".0", ""), text)
    exponent = pc.fill_null(pc.match_substring(text, "e"), False).to_numpy(zero_copy_only=False)
    with np.errstate(invalid="ignore"):
        tiny = np.flatnonzero((np.isfinite(values) & (values != 0) & (np.abs(values) < 1e-4)) | exponent)
    if tiny.size:
        fixed = np.array(text.to_pylist(), dtype=object)
        fixed[tiny] = [repr(float(v)) for v in values[tiny]]
        text = pa.array(fixed, pa.string())
    return text


def _far_errors(table: pa.Table, column: str, far: _FarPoints) -> pa.Table:
    """The table with the error texts of the far points (:func:`ganpo_geo.siting._table_sites`)
    written in their rows."""
    import pyarrow.compute as pc  # lazy on purpose: like pyarrow.csv, only batches need it

    at = table.schema.get_field_index(column)
    rows, texts = far[0], far[3]
    mask = np.zeros(table.num_rows, dtype=bool)
    mask[rows] = True
    errors = table.column(at).combine_chunks()
    if not pc.all(pc.equal(errors.filter(pa.array(mask)), FAR_ERROR)).as_py():  # they went through the check as such
        msg = "far points lost their placeholder error in the check"
        raise AssertionError(msg)
    written = pc.replace_with_mask(errors, pa.array(mask), texts.cast(errors.type))
    return table.set_column(at, table.schema.field(at), written)


def _parquet_table(result: gpd.GeoDataFrame, like: pa.Schema | None = None, far: _FarPoints | None = None) -> pa.Table:
    """GeoParquet table (WKB geometry, ``geo`` metadata without a chunk's bounding box).

    ``like``: the schema of an earlier chunk of the same file (its metadata is the file's). The
    text columns are then converted by :func:`ganpo_geo._arrow.text_array` (without the GIL) instead of by
    geopandas, and the table takes that schema. ``far``: the points read without a geometry
    (:func:`ganpo_geo.siting._table_sites`), written from their coordinates (made as shapely
    points first when geopandas converts the chunk: the first one, or one not all points).
    """
    if far is not None and len(far[0]) and like is None:  # geopandas writes the geometry: make the points
        result = result.copy(deep=False)
        geoms = result.geometry.to_numpy().copy()
        geoms[far[0]] = shapely.points(far[1], far[2])
        result[result.geometry.name] = gpd.GeoSeries(geoms, index=result.index, crs=result.crs)
        far = None
    import json

    from geopandas.io.arrow import _geopandas_to_arrow

    if like is not None:
        geometry_name = result.geometry.name
        plain = result.copy(deep=False)
        plain.attrs = {}  # else pandas deep-copies them into every column taken (the file has them from `like`)
        columns = dict(plain.items())
        texts = [c for c, col in columns.items() if col.dtype == object and c != geometry_name]
        try:
            converted = {c: text_array(columns[c].to_numpy(dtype=object)) for c in texts}
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # not all text: geopandas converts it
            return _parquet_table(result).cast(like)
        wkb = _point_wkb(columns[geometry_name].to_numpy(), far)
        if wkb is None and far is not None and len(far[0]):  # not all points: geopandas, with the far points made
            return _parquet_table(result, None, far).cast(like)
        if wkb is not None:
            converted[geometry_name] = wkb
            rest = pa.Table.from_pandas(
                pd.DataFrame(plain.drop(columns=list(converted))), preserve_index=False, nthreads=1
            )  # one thread: the chunks are on threads already
        else:
            rest = _geopandas_to_arrow(plain.drop(columns=texts), index=False)
        arrays = [converted[c] if c in converted else rest.column(str(c)) for c in result.columns]
        return pa.Table.from_arrays(arrays, names=[str(c) for c in result.columns]).cast(like)
    table = _geopandas_to_arrow(result, index=False)
    meta = dict(table.schema.metadata or {})
    if b"geo" in meta:
        geo = json.loads(meta[b"geo"])
        for column in geo.get("columns", {}).values():
            column.pop("bbox", None)  # a chunk's box is not the file's
        meta[b"geo"] = json.dumps(geo).encode()
    return table.replace_schema_metadata(meta)


#: WKB of a 2-D point, little-endian: byte order (1), type (1 = Point), x, y (21 bytes, unpadded).
_POINT_WKB = np.dtype([("order", "u1"), ("kind", "<u4"), ("x", "<f8"), ("y", "<f8")])


def _point_wkb(geoms: np.ndarray, far: _FarPoints | None = None) -> pa.Array | None:
    """The WKB of 2-D points (missing ones null) as an Arrow binary array built from numpy
    buffers, without the GIL; None for anything else (geopandas converts it then).

    ``far``: (rows, x, y) of points given by their coordinates (those rows have no geometry).
    The bytes are those of ``shapely.to_wkb`` on a little-endian machine (what geopandas
    writes): shapely makes a Python bytes object per point, under the GIL.
    """
    kind = shapely.get_type_id(geoms)
    present = kind == shapely.GeometryType.POINT
    if not (present | (kind == -1)).all() or sys.byteorder != "little":
        return None
    points = geoms[present]
    if shapely.is_empty(points).any() or shapely.has_z(points).any():
        return None
    x, y = np.full(len(geoms), np.nan), np.full(len(geoms), np.nan)
    x[present], y[present] = shapely.get_x(points), shapely.get_y(points)
    if far is not None and len(far[0]):
        x[far[0]], y[far[0]] = far[1], far[2]
        present[far[0]] = True
    body = np.empty(int(present.sum()), dtype=_POINT_WKB)
    body["order"], body["kind"] = 1, 1
    body["x"], body["y"] = x[present], y[present]
    offsets = np.zeros(len(geoms) + 1, dtype=np.int32)
    np.cumsum(np.where(present, _POINT_WKB.itemsize, 0), out=offsets[1:])
    missing = int((~present).sum())
    validity = pa.array(present).buffers()[1] if missing else None
    return pa.Array.from_buffers(
        pa.binary(), len(geoms), [validity, pa.py_buffer(offsets), pa.py_buffer(body)], null_count=missing
    )


class _Writer:
    """Appends chunks to a CSV or Parquet file with the first chunk's schema.

    Arrow writes a chunk in a thread of its own (without the GIL, to a native file) while the
    next chunk is checked; one chunk at most waits to be written, in order.
    """

    def __init__(self, path: Path, kind: str, bom: bool) -> None:
        self.path, self.kind, self.bom = path, kind, bom
        self.schema: pa.Schema | None = None
        self.writer: Any = None
        self.handle: Any = None
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ganpo-writer")
        self.pending: Future[None] | None = None

    def write(self, table: pa.Table) -> None:
        """Queue a chunk's Arrow table, after the previous one is written."""
        if self.schema is None:
            self.schema = _widen(table.schema)
            if self.kind == "csv":
                import pyarrow.csv as pacsv  # lazy on purpose: only batches write CSV through Arrow

                self.handle = pa.OSFile(str(self.path), "wb")  # native: written without the GIL
                if self.bom:
                    self.handle.write(b"\xef\xbb\xbf")
                self.writer = pacsv.CSVWriter(self.handle, self.schema)
            else:
                # lazy on purpose: pyarrow.parquet loads the filesystems (S3, Azure, HDFS); only batches need it
                import pyarrow.parquet as pq

                self.writer = pq.ParquetWriter(self.path, self.schema)
        table = table.cast(self.schema)
        self._wait()  # the previous chunk is written (and its error raised) before the next is queued
        self.pending = self.pool.submit(self.writer.write_table, table)

    def _wait(self) -> None:
        if self.pending is not None:
            pending, self.pending = self.pending, None
            pending.result()

    def close(self) -> None:
        try:
            self._wait()
        finally:
            self.pool.shutdown(wait=True)
            if self.writer is not None:
                self.writer.close()
            if self.handle is not None:
                self.handle.close()


def _widen(schema: pa.Schema) -> pa.Schema:
    """A chunk's schema with null columns (all values missing in that chunk) as strings."""
    fields = [f.with_type(pa.string()) if pa.types.is_null(f.type) else f for f in schema]
    return pa.schema(fields, metadata=schema.metadata)


def check_file(
    input_path: str | Path,
    output_path: str | Path,
    *,
    industry: str | None = None,
    industry_col: str = "industry",
    crs: Any = None,
    buffer_m: float = 1000.0,
    lon_col: str | None = None,
    lat_col: str | None = None,
    sheet: str | int | None = None,
    layers: Layers | None = None,
    bom: bool = False,
    progress: bool | None = None,
    chunk_size: int = STREAM_CHUNK,
    workers: int | None = None,
) -> BatchSummary:
    """Check every site of a file and write the results to another file (atomically).

    A UTF-8 CSV to ``.csv`` or ``.parquet`` is streamed in chunks of ``chunk_size`` rows (memory
    bounded by the chunk); anything else is read, checked and written whole. The output never
    replaces the input, and appears only when complete.

    Parameters
    ----------
    input_path, output_path : path
    industry, industry_col, crs, buffer_m, lon_col, lat_col, sheet, layers
        As for :func:`ganpo_geo.siting.check_sites` and :func:`ganpo_geo.siting.read_sites`.
    bom : bool
        CSV output: start with a UTF-8 byte-order mark (for Excel).
    progress : bool, optional
        Progress for batches over 10,000 rows (reading, checking and writing): a bar on a
        terminal, else a line every 10% on stderr; ``False`` silences it. Default: on.
    chunk_size : int
        Rows per streamed chunk.
    workers : int, optional
        Threads checking chunks at once (>= 1). The results and their order do not depend on
        it. Default: one per usable core.

    Returns
    -------
    BatchSummary

    Raises
    ------
    ValidationError
        An output path that is the input, an unknown output format, or the errors of
        :func:`read_sites` and :func:`check_sites`.
    """
    start = time.perf_counter()
    src, dst = Path(input_path), Path(output_path)
    check_output_path(dst, inputs=[src])
    if chunk_size < 1:
        msg = f"chunk_size must be >= 1, got {chunk_size}"
        raise ValidationError(msg)
    threads = check_threads(check_count(workers, "workers", allow_none=True))
    options: dict[str, Any] = {
        "industry": industry,
        "industry_col": industry_col,
        "buffer_m": buffer_m,
        "layers": layers,
    }
    plan = _stream_plan(src) if dst.suffix.lower() in _STREAM_OUTPUTS and sheet is None else None
    summary = BatchSummary()
    if plan is not None:
        try:
            chunking = (chunk_size, threads)
            _stream(src, dst, plan, summary, options, crs, lon_col, lat_col, bom, progress, chunking)
            summary.streamed = True
        except (pa.ArrowInvalid, UnicodeDecodeError):
            summary = BatchSummary()  # ragged rows or bad bytes: the in-memory way reports them per row
    if not summary.streamed:
        sites = read_sites(src, crs=crs, lon_col=lon_col, lat_col=lat_col, sheet=sheet)
        result = check_sites(sites, crs="wgs84", progress=progress, workers=threads, **options)
        write_table(result, dst, bom=bom)
        summary.add(result)
    summary.seconds = time.perf_counter() - start
    return summary


def _stream(
    src: Path,
    dst: Path,
    plan: tuple[str, list[str], bool],
    summary: BatchSummary,
    options: dict[str, Any],
    crs: Any,
    lon_col: str | None,
    lat_col: str | None,
    bom: bool,
    progress: bool | None,
    chunking: tuple[int, int],
) -> None:
    """Read, check and write the CSV chunk by chunk: ``chunking`` is (rows per chunk, threads).

    This thread reads the chunks and writes the results in order. The first chunk is checked
    here, alone (it builds or loads the indexes and says the warnings once); the others by
    ``threads`` threads (:func:`ganpo_geo._threads.in_threads`), each parsing, checking and
    converting one chunk to Arrow at a time.
    """
    delimiter, names, has_bom = plan
    chunk_size, threads = chunking
    if has_bom or delimiter != ",":  # the note read_sites gives
        encoding = "UTF-8 with BOM" if has_bom else "UTF-8"
        warnings.warn(f"{src.name}: read as {encoding}, {_DELIMITERS[delimiter]}-delimited", UserWarning, stacklevel=3)
    estimate = max(_count_lines(src, exact=progress is not False) - 1, 0)
    bar = _Progress(estimate, progress, f"site-check {src.name}")
    kind = "csv" if dst.suffix.lower() == ".csv" else "parquet"
    setup = _ChunkSetup(kind, crs, lon_col, lat_col, chunk_size, options)
    try:
        with atomic_path(dst) as tmp:
            writer = _Writer(tmp, setup.kind, bom)
            try:
                first_rows = chunk_size
                if threads > 1 and _indexes_ready(options["layers"] or bundled_layers(), estimate):
                    first_rows = min(chunk_size, FIRST_CHUNK_READY)
                chunks = _csv_chunks(src, delimiter, names, chunk_size, first_rows)
                first = next(chunks, None)
                if first is not None:
                    with warnings.catch_warnings():
                        done = [_check_chunk(first, setup)]
                        warnings.simplefilter("ignore", UserWarning)  # said once, for the first chunk
                        if setup.kind == "parquet":
                            setup = dataclasses.replace(setup, schema=_widen(done[0][1].schema))
                        jobs = ((chunk, setup) for chunk in chunks)
                        rest = in_threads(_check_chunk, jobs, threads, first_alone=False)
                        with contextlib.closing(rest):
                            for part, table in itertools.chain(done, rest):
                                writer.write(table)
                                summary.merge(part)
                                bar.update(part.rows)
            finally:
                writer.close()
            if summary.rows == 0:
                msg = f"{src} has a header but no rows"
                raise ValidationError(msg)
    finally:
        bar.close()


@dataclass(frozen=True)
class _ChunkSetup:
    """What checking one streamed chunk needs besides the chunk (sent to every worker job)."""

    kind: str  # "csv" or "parquet": the Arrow table to make
    crs: Any
    lon_col: str | None
    lat_col: str | None
    chunk_size: int
    options: dict[str, Any]  # check_sites keywords
    schema: pa.Schema | None = None  # Parquet: the first chunk's (the file's) schema


def _check_chunk(chunk: pd.DataFrame, setup: _ChunkSetup) -> tuple[BatchSummary, pa.Table]:
    """Parse, check and convert one chunk (in any thread): its counts and its Arrow table.

    Points far outside Jiangxi get their error while the coordinates are read, without a shapely
    point (:func:`ganpo_geo.siting._table_sites`); a Parquet chunk writes their geometry from the
    coordinates (:func:`_parquet_table`).
    """
    layers = setup.options["layers"] or bundled_layers()
    sites, far = _table_sites(chunk, crs=setup.crs, lon_col=setup.lon_col, lat_col=setup.lat_col, outside=layers)
    result = check_sites(sites, crs="wgs84", progress=False, chunk_size=setup.chunk_size, workers=1, **setup.options)
    table = _csv_table(result) if setup.kind == "csv" else _parquet_table(result, setup.schema, far)
    if len(far[0]):  # the far points' errors: their texts in place of FAR_ERROR
        table = _far_errors(table, result.attrs.get("ganpo_columns", {}).get("error", "error"), far)
    part = BatchSummary()
    part.add(result, table)
    return part, table
