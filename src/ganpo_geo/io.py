"""Batch files: robust table readers (CSV of any common encoding and delimiter, XLSX) and atomic writers.

Reading never loses a row: a ragged or undecodable CSV row becomes a row error and every other
row is read. Writing never leaves a partial file: every output is written to a temporary file
in the target's folder and renamed into place on success (``os.replace``), so an interrupted
or failed write leaves the previous file untouched, and of two writers of one path one
complete file wins.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import glob
import io
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ganpo_geo._errors import ValidationError

__all__ = [
    "STALE_TEMPORARY_S",
    "TABLE_OUTPUTS",
    "TableRead",
    "atomic_path",
    "check_output_path",
    "read_csv_table",
    "read_excel_table",
    "write_table",
    "write_text",
]

#: Output suffix -> format of :func:`write_table`.
TABLE_OUTPUTS = {
    ".csv": "csv",
    ".geojson": "geojson",
    ".json": "geojson",
    ".gpkg": "gpkg",
    ".parquet": "parquet",
    ".geoparquet": "parquet",
    ".xlsx": "xlsx",
}
_DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab"}
#: Encoding names used in messages -> Python codecs.
_CODECS = {"UTF-8": "utf-8", "UTF-8 with BOM": "utf-8-sig", "UTF-16": "utf-16", "GB18030 (GBK)": "gb18030"}
#: The most rows an Excel sheet holds (one is the header).
XLSX_MAX_ROWS = 1_048_575


@dataclass
class TableRead:
    """A table read by :func:`read_csv_table` or :func:`read_excel_table`.

    Attributes
    ----------
    table : pandas.DataFrame
        All cells as text, one row per data row of the file.
    row_errors : numpy.ndarray
        Per row: ``""`` or why the row could not be read as it stands.
    encoding : str
    delimiter : str
    notes : list of str
        What was detected, when it is not plain UTF-8 with commas.
    """

    table: pd.DataFrame
    row_errors: np.ndarray
    encoding: str = "utf-8"
    delimiter: str = ","
    notes: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- reading


def _decode(raw: bytes, path: Path) -> tuple[str, str, bool]:
    """Text, encoding name and whether some bytes could not be decoded (replaced by U+FFFD)."""
    if raw.startswith(codecs.BOM_UTF8):
        text = raw[3:].decode("utf-8", errors="replace")
        return text, "UTF-8 with BOM", "\ufffd" in text
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = raw.decode("utf-16", errors="replace")
        return text, "UTF-16", "\ufffd" in text
    head = raw[:65536]
    if head.startswith(b"PK\x03\x04"):
        msg = f"{path} is a zip file (an Excel workbook?), not a CSV: name it .xlsx or export it as CSV"
        raise ValidationError(msg)
    if b"\x00" in head:
        msg = f"{path} is a binary file, not a text CSV: export the data as CSV (UTF-8) or .xlsx"
        raise ValidationError(msg)
    try:
        return raw.decode("utf-8"), "UTF-8", False
    except UnicodeDecodeError:
        pass
    lines = raw.split(b"\n")
    bad_lines = 0
    good_multibyte = False
    for line in lines:
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            bad_lines += 1
        else:
            good_multibyte = good_multibyte or any(b > 0x7F for b in line)
    if not (good_multibyte and bad_lines <= max(1, len(lines) // 100)):
        try:
            return raw.decode("gb18030"), "GB18030 (GBK)", False
        except UnicodeDecodeError:
            pass
    text = raw.decode("utf-8", errors="replace")
    if text.count("\ufffd") > max(16, len(text) // 10):
        msg = f"{path} is not a text CSV (most of its bytes are neither UTF-8 nor GBK): export it as CSV (UTF-8)"
        raise ValidationError(msg)
    return text, "UTF-8", True


def _sniff_delimiter(text: str) -> str:
    header = next((line for line in text.splitlines() if line.strip()), "")
    counts = {d: header.count(d) for d in _DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def _parse_slow(text: str, delimiter: str, columns: pd.Index) -> tuple[pd.DataFrame, np.ndarray]:
    """Row by row with the csv module: ragged rows become row errors (the error path only)."""
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    next(reader, None)  # the header
    n = len(columns)
    rows: list[list[str]] = []
    errors: list[str] = []
    for record in reader:
        if not record or (len(record) == 1 and not record[0].strip() and n > 1):
            continue  # blank line (pandas skips them too)
        if len(record) != n:
            errors.append(f"row {len(rows) + 1} (line {reader.line_num}): {len(record)} fields, expected {n}")
            record = (record + [""] * n)[:n]
        else:
            errors.append("")
        rows.append(record)
    table = pd.DataFrame(rows, columns=columns, dtype=object) if rows else pd.DataFrame(columns=columns, dtype=object)
    return table, np.array(errors, dtype=object)


def read_csv_table(path: str | Path) -> TableRead:
    """Read a CSV whatever its encoding (UTF-8, UTF-8-BOM, GBK/GB18030, UTF-16) and delimiter.

    The delimiter (``,`` ``;`` or tab) is taken from the header line. Rows with more or fewer
    fields than the header, and rows with bytes that cannot be decoded, are kept (padded or
    cut to the header's width) with a row error; every other row is read exactly.

    Parameters
    ----------
    path : path

    Returns
    -------
    TableRead

    Raises
    ------
    ValidationError
        A missing, empty or binary file, or a header without rows.
    """
    path = Path(path)
    if not path.is_file():
        msg = f"input file not found: {path}"
        raise ValidationError(msg)
    raw = path.read_bytes()
    if not raw.strip():
        msg = f"{path} is empty: give a CSV with a header and one row per site"
        raise ValidationError(msg)
    text, encoding, undecodable = _decode(raw, path)
    if not text.strip():
        msg = f"{path} is empty: give a CSV with a header and one row per site"
        raise ValidationError(msg)
    delimiter = _sniff_delimiter(text)
    errors = None
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", pd.errors.ParserWarning)
            table = pd.read_csv(
                io.BytesIO(raw),  # the C parser reads bytes fastest
                sep=delimiter,
                dtype=str,
                keep_default_na=False,
                index_col=False,
                engine="c",
                encoding=_CODECS[encoding],
                encoding_errors="replace",
            )
        if any(issubclass(w.category, pd.errors.ParserWarning) for w in caught):
            table = None  # rows longer than the header (pandas would drop their extra fields)
    except pd.errors.ParserError:
        table = None
    except pd.errors.EmptyDataError:
        msg = f"{path} is empty: give a CSV with a header and one row per site"
        raise ValidationError(msg) from None
    if table is None or table.isna().to_numpy().any():  # ragged rows: find them exactly
        columns = pd.read_csv(io.StringIO(text), sep=delimiter, dtype=str, nrows=0).columns
        table, errors = _parse_slow(text, delimiter, columns)
    if errors is None:
        errors = np.full(len(table), "", dtype=object)
    if table.empty:
        msg = f"{path} has a header but no rows"
        raise ValidationError(msg)
    if undecodable:
        hit = np.zeros(len(table), dtype=bool)
        for col in table.columns:
            hit |= table[col].astype(str).str.contains("\ufffd", regex=False).to_numpy()
        rows = np.flatnonzero(hit & (errors == ""))
        errors[rows] = [f"row {i + 1}: bytes that are not valid {encoding} (shown as \ufffd)" for i in rows]
    notes = []
    if encoding != "UTF-8" or delimiter != ",":
        notes.append(f"{path.name}: read as {encoding}, {_DELIMITERS[delimiter]}-delimited")
    return TableRead(table, errors, encoding, delimiter, notes)


def read_excel_table(path: str | Path, sheet: str | int | None = None) -> TableRead:
    """Read a sheet of an ``.xlsx`` workbook as text cells (the first sheet by default).

    Parameters
    ----------
    path : path
    sheet : str or int, optional
        Sheet name or 0-based position.

    Returns
    -------
    TableRead

    Raises
    ------
    ValidationError
        A missing or unreadable workbook, an unknown sheet, or a sheet without rows.
    """
    path = Path(path)
    if not path.is_file():
        msg = f"input file not found: {path}"
        raise ValidationError(msg)
    try:
        book = pd.ExcelFile(path, engine="openpyxl")
    except ImportError:
        msg = "reading .xlsx needs openpyxl: pip install openpyxl"
        raise ValidationError(msg) from None
    except Exception as exc:  # zipfile.BadZipFile, KeyError, ... from a damaged workbook
        msg = f"cannot read {path} as an Excel workbook ({type(exc).__name__}): save it again as .xlsx or CSV"
        raise ValidationError(msg) from None
    names = book.sheet_names
    if sheet is None:
        sheet = names[0]
    elif isinstance(sheet, str) and sheet not in names and sheet.isdigit():
        sheet = int(sheet)
    if (isinstance(sheet, str) and sheet not in names) or (isinstance(sheet, int) and not 0 <= sheet < len(names)):
        msg = f"{path} has no sheet {sheet!r}; its sheets are: {', '.join(names)}"
        raise ValidationError(msg)
    table = pd.read_excel(book, sheet_name=sheet, dtype=str, keep_default_na=False).fillna("")
    if table.empty:
        msg = f"sheet {sheet!r} of {path} has no rows"
        raise ValidationError(msg)
    table.columns = [str(c) for c in table.columns]
    return TableRead(table, np.full(len(table), "", dtype=object), "xlsx", "", [])


# --------------------------------------------------------------------------- writing


def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.resolve() == b.resolve():
            return True
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def check_output_path(
    path: str | Path,
    *,
    inputs: Iterable[str | Path | None] = (),
    suffixes: Iterable[str] | None = None,
    option: str = "--output",
) -> Path:
    """Check an output path before any work is done: known format, writable folder, not an input.

    Parameters
    ----------
    path : path
    inputs : paths
        Files the command reads; the output may not be one of them (same path or same inode).
    suffixes : iterable of str, optional
        Allowed suffixes (default: :data:`TABLE_OUTPUTS`).
    option : str
        The option's name, for the message.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ValidationError
        One line saying what is wrong and what to do.
    """
    out = Path(path)
    allowed = list(TABLE_OUTPUTS) if suffixes is None else list(suffixes)
    if out.suffix.lower() not in allowed:
        msg = f"{option} {path}: unknown output format {out.suffix or '(no suffix)'!r}; use {', '.join(allowed)}"
        raise ValidationError(msg)
    for given in inputs:
        if given is not None and _same_file(out, Path(given)):
            msg = f"{option} {path} is the input file {given}: writing it would destroy the input; choose another name"
            raise ValidationError(msg)
    if out.is_dir():
        msg = f"{option} {path} is a folder: give a file name"
        raise ValidationError(msg)
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        msg = f"{option} {path}: the folder {folder} does not exist; create it first"
        raise ValidationError(msg)
    if not os.access(folder, os.W_OK | os.X_OK):
        msg = f"{option} {path}: the folder {folder} is not writable; choose another folder"
        raise ValidationError(msg)
    return out


#: A hidden temporary output unchanged for this long (s) is what a crashed or killed run left
#: (a native crash or SIGKILL runs no clean-up); the next write of the same file removes it. A
#: run still writing changes its file as it goes (chunks are appended).
STALE_TEMPORARY_S = 3600.0


def _remove_stale_temporaries(target: Path, folder: Path) -> None:
    """Remove the temporaries of ``target`` (see :func:`atomic_path`) older than :data:`STALE_TEMPORARY_S`."""
    now = time.time()
    for file in folder.glob(f".{glob.escape(target.name)}.*.tmp{glob.escape(target.suffix)}"):
        with contextlib.suppress(OSError):
            if now - file.stat().st_mtime > STALE_TEMPORARY_S:
                _remove(file)


def _remove(path: Path) -> None:
    for extra in ("", "-journal", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            Path(str(path) + extra).unlink()


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path next to ``path``; renamed onto ``path`` when the block ends without error.

    On an exception or interrupt (``KeyboardInterrupt`` included) the temporary file is removed
    and ``path`` keeps its previous content. Temporaries of ``path`` left by runs that could not
    clean up (a crash, ``kill -9``), unchanged for an hour, are removed first.

    Parameters
    ----------
    path : path

    Yields
    ------
    pathlib.Path
        Where to write (same folder, same suffix, a hidden name).
    """
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    _remove_stale_temporaries(target, folder)
    fd, name = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=f".tmp{target.suffix}")
    os.close(fd)
    tmp = Path(name)
    tmp.unlink()  # the writer (GDAL, pyarrow) creates it with the usual permissions
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException:
        _remove(tmp)
        raise


def _atomic(path: str | Path, write: Callable[[Path], Any]) -> Path:
    with atomic_path(path) as tmp:
        write(tmp)
    return Path(path)


def write_text(path: str | Path, text: str, *, encoding: str = "utf-8") -> Path:
    """Write text atomically (see :func:`atomic_path`).

    Parameters
    ----------
    path : path
    text : str
    encoding : str

    Returns
    -------
    pathlib.Path
    """
    return _atomic(path, lambda tmp: tmp.write_text(text, encoding=encoding))


def write_table(frame: pd.DataFrame, path: str | Path, *, bom: bool = False, layer: str = "site_check") -> Path:
    """Write a (Geo)DataFrame atomically as CSV, GeoJSON, GeoPackage, GeoParquet or XLSX.

    CSV and XLSX leave the geometry column out (the input's own coordinate columns are kept).

    Parameters
    ----------
    frame : pandas.DataFrame or geopandas.GeoDataFrame
    path : path
        Its suffix picks the format (see :data:`TABLE_OUTPUTS`).
    bom : bool
        CSV only: start with a UTF-8 byte-order mark, so that Excel shows Chinese correctly.
    layer : str
        GeoPackage layer name; an existing GeoPackage keeps its other layers.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ValidationError
        An unknown suffix, or more rows than an XLSX sheet holds.
    """
    import geopandas as gpd

    fmt = TABLE_OUTPUTS.get(Path(path).suffix.lower())
    if fmt is None:
        check_output_path(path)  # raises with the list of formats
    is_geo = isinstance(frame, gpd.GeoDataFrame)
    plain = pd.DataFrame(frame.drop(columns=frame.geometry.name)) if is_geo else frame
    if fmt == "csv":
        encoding = "utf-8-sig" if bom else "utf-8"
        return _atomic(path, lambda tmp: plain.to_csv(tmp, index=False, encoding=encoding))
    if fmt == "xlsx":
        if len(plain) > XLSX_MAX_ROWS:
            msg = f"{len(plain):,} rows do not fit in an Excel sheet ({XLSX_MAX_ROWS:,} at most): use .csv"
            raise ValidationError(msg)
        return _atomic(path, lambda tmp: plain.to_excel(tmp, index=False, engine="openpyxl"))
    if not is_geo:
        msg = f"{path}: {fmt} needs a geometry column; write .csv or .xlsx instead"
        raise ValidationError(msg)
    if fmt == "geojson":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # GDAL's note on non-WGS84 GeoJSON
            return _atomic(path, lambda tmp: frame.to_file(tmp, driver="GeoJSON"))
    if fmt == "gpkg":

        def gpkg(tmp: Path) -> None:
            if Path(path).is_file():  # keep the file's other layers: replace only this one, in a copy
                shutil.copyfile(path, tmp)
            frame.to_file(tmp, driver="GPKG", layer=layer)

        return _atomic(path, gpkg)
    return _atomic(path, lambda tmp: frame.to_parquet(tmp))
