"""Batches on a dask cluster: a CSV read in blocks by the workers, written as partitioned GeoParquet.

:func:`check_to_dataset` is the file-to-file batch for inputs too large for one machine (or to
use several): ``dask.dataframe.read_csv`` cuts the input into blocks, each worker checks its
blocks with :func:`ganpo_geo.siting.check_sites` (the bundled layers' indexes from its on-disk
cache; user layers are sent once per worker) and writes each as one GeoParquet file of a dataset
folder. Nothing but a one-line summary per block comes back to the client. The folder is
written under a temporary name and renamed into place at the end: an interrupted run leaves the
previous output as it was. The input and output paths must be reachable by every worker (a
shared file system) when the cluster runs on other machines.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ganpo_geo._dask import check_scheduler, client_for, import_dask
from ganpo_geo._errors import ValidationError
from ganpo_geo.layers import Layers, bundled_layers
from ganpo_geo.siting import _layers_for_workers, _notices, check_sites, sites_from_table

__all__ = ["DatasetSummary", "check_to_dataset"]

#: Name of each part of the output folder (``part.00000.parquet`` ...), in input order.
PART_NAME = "part.{:05d}.parquet"
_SUMMARY_COLUMNS = ["part", "rows", "errors", "prohibited", "conditional", "allowed"]


@dataclass(frozen=True)
class DatasetSummary:
    """What :func:`check_to_dataset` wrote.

    Attributes
    ----------
    output : pathlib.Path
        The dataset folder (one GeoParquet file per input block).
    parts : int
        Files written.
    rows : int
        Rows written (= rows read).
    errors : int
        Rows that could not be checked (their ``error`` column says why).
    verdicts : dict
        Rows per verdict.
    seconds : float
        Wall time.
    data_notice : str
        Which layers are reference data synthesized for demonstration and which official (the
        ``data_notice`` column of every row).
    """

    output: Path
    parts: int
    rows: int
    errors: int
    verdicts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    data_notice: str = ""

    def text(self) -> str:
        """One line: rows, verdicts, errors, parts, time."""
        counts = ", ".join(f"{n} {v}" for v, n in self.verdicts.items() if n)
        return (
            f"{self.rows} sites: {counts}, {self.errors} with errors ({self.seconds:.1f} s); "
            f"written to {self.output} ({self.parts} part(s))"
        )


def _check_output_dir(output: Path, input_path: Path) -> None:
    """The output folder may be new or a previous dataset of part files, never anything else."""
    if output.resolve() == input_path.resolve() or input_path.resolve().is_relative_to(output.resolve()):
        msg = f"--output {output} holds the input {input_path}: choose another folder"
        raise ValidationError(msg)
    if output.exists():
        if not output.is_dir():
            msg = f"--output {output} is a file: a partitioned output is a folder; give a new folder name"
            raise ValidationError(msg)
        strangers = [p.name for p in output.iterdir() if not (p.name.startswith("part.") and p.suffix == ".parquet")]
        if strangers:
            msg = (
                f"--output {output} is a folder with other files ({', '.join(sorted(strangers)[:3])}): "
                "only an earlier partitioned output is replaced; give a new folder name"
            )
            raise ValidationError(msg)
    parent = output.parent if str(output.parent) else Path(".")
    if not parent.is_dir():
        msg = f"--output {output}: the folder {parent} does not exist; create it first"
        raise ValidationError(msg)
    if not os.access(parent, os.W_OK):
        msg = f"--output {output}: the folder {parent} is not writable; choose another place"
        raise ValidationError(msg)


def _check_input(input_path: Path) -> None:
    if not input_path.is_file():
        msg = f"--input {input_path}: no such file"
        raise ValidationError(msg)
    if input_path.suffix.lower() not in (".csv", ".txt"):
        msg = (
            f"--input {input_path}: a partitioned batch reads a UTF-8 CSV; convert the file "
            "(or write a single output file without --engine dask)"
        )
        raise ValidationError(msg)
    with input_path.open("rb") as handle:
        head = handle.read(1 << 20)
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the end of the sample
            msg = (
                f"--input {input_path} is not UTF-8 (byte {exc.start}): save it as UTF-8 "
                "(or use the default engine, which reads GBK and UTF-16)"
            )
            raise ValidationError(msg) from None


def _check_part(
    part: pd.DataFrame,
    out_dir: str,
    options: dict[str, Any],
    layers: Layers | None,
    partition_info: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """Check one block and write it as one GeoParquet file; return its one-row summary.

    Module level: dask sends it to the worker processes.
    """
    number = int(partition_info["number"]) if partition_info else 0
    table = pd.DataFrame(part).reset_index(drop=True)
    sites = sites_from_table(table, crs=options["crs"], lon_col=options["lon_col"], lat_col=options["lat_col"])
    checked = check_sites(
        sites,
        industry=options["industry"],
        industry_col=options["industry_col"],
        crs="wgs84",
        buffer_m=options["buffer_m"],
        layers=layers or bundled_layers(),
        progress=False,
    )
    name = checked.attrs.get("ganpo_columns", {})
    errors = checked[name.get("error", "error")].to_numpy() != ""
    verdict = checked[name.get("verdict", "verdict")].to_numpy()[~errors]
    checked.to_parquet(Path(out_dir) / PART_NAME.format(number), index=False)
    row: dict[str, int] = {"part": number, "rows": len(checked), "errors": int(errors.sum())}
    for v in _SUMMARY_COLUMNS[3:]:
        row[v] = int((verdict == v).sum())
    return pd.DataFrame([row], columns=_SUMMARY_COLUMNS)


def check_to_dataset(
    input_path: str | Path,
    output_dir: str | Path,
    *,
    industry: str | None = None,
    industry_col: str = "industry",
    crs: Any = None,
    buffer_m: float = 1000.0,
    lon_col: str | None = None,
    lat_col: str | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    blocksize: str | int = "8MB",
    layers: Layers | None = None,
) -> DatasetSummary:
    """Check a (large) CSV of sites on dask and write the result as a partitioned GeoParquet folder.

    Parameters
    ----------
    input_path : path
        UTF-8 CSV with lon/lat (or WKT) columns, as for :func:`ganpo_geo.siting.check_sites`.
    output_dir : path
        The dataset folder to write: new, or an earlier output of this function (replaced as a
        whole at the end). Read it back with ``geopandas.read_parquet(folder)`` or
        ``dask_geopandas.read_parquet(folder)``; the parts are in input order.
    industry, industry_col, crs, buffer_m, layers
        As for :func:`ganpo_geo.siting.check_sites`.
    lon_col, lat_col : str, optional
        Coordinate columns when their names are not recognised.
    scheduler : str, optional
        ``threads`` (default: this process), ``processes`` (a local cluster of ``workers``
        processes) or ``tcp://HOST:PORT`` (a running ``dask.distributed`` scheduler; its workers
        must reach both paths).
    workers : int, optional
        Threads or local worker processes (default 2).
    blocksize : str or int
        Bytes of CSV per block (one output part per block). The default (8 MB, about 200,000
        rows of a few columns) keeps every worker busy and its memory a few hundred MB.

    Returns
    -------
    DatasetSummary

    Raises
    ------
    ValidationError
        A missing or non-UTF-8 input, an output that is a file or a folder of other files, a bad
        scheduler, no dask installed, a CSV row with the wrong number of fields (one line each).
    """
    start = time.perf_counter()
    source = Path(input_path)
    output = Path(output_dir)
    _check_input(source)
    _check_output_dir(output, source)
    scheduler = check_scheduler(scheduler)
    dask, _ = import_dask()
    import dask.dataframe as dd  # lazy on purpose: dask is optional (import_dask said how to get it)

    layers = layers or bundled_layers()
    options = {
        "industry": industry,
        "industry_col": industry_col,
        "crs": crs,
        "buffer_m": float(buffer_m),
        "lon_col": lon_col,
        "lat_col": lat_col,
    }
    parent = output.parent if str(output.parent) else Path(".")
    tmp = Path(tempfile.mkdtemp(prefix=f".{output.name}.", suffix=".tmp", dir=parent))
    try:
        # every cell as text, as the default engine reads it: check_sites parses and reports
        blocks = dd.read_csv(
            source, blocksize=blocksize, dtype=str, keep_default_na=False, encoding="utf-8-sig"
        )
        meta = pd.DataFrame({c: pd.Series(dtype="int64") for c in _SUMMARY_COLUMNS})
        with client_for(scheduler, workers) as client:
            if client is None:
                job = blocks.map_partitions(_check_part, str(tmp), options, layers, meta=meta)
                with dask.config.set(scheduler="threads", num_workers=workers or 2):
                    summary = job.compute()
            else:
                shipped = _layers_for_workers(client, layers)
                job = blocks.map_partitions(_check_part, str(tmp), options, shipped, meta=meta)
                summary = client.compute(job).result()
    except pd.errors.ParserError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        problem = str(exc).strip().splitlines()[-1]
        msg = f"--input {source}: {problem}; fix the row (the default engine reports such rows in the output)"
        raise ValidationError(msg) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    # into place: the old output (if any) moves aside only once the new one is complete
    old = None
    if output.exists():
        old = output.with_name(f".{output.name}.old-{os.getpid()}")
        output.rename(old)
    tmp.rename(output)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    verdicts = {v: int(summary[v].sum()) for v in _SUMMARY_COLUMNS[3:]}
    return DatasetSummary(
        output=output,
        parts=len(summary),
        rows=int(summary["rows"].sum()),
        errors=int(summary["errors"].sum()),
        verdicts=verdicts,
        seconds=time.perf_counter() - start,
        data_notice="; ".join(_notices(layers)),
    )
