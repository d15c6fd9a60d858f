"""Tests for ganpo_geo.io: robust batch readers, atomic writers, and the batch's input/output properties."""

from __future__ import annotations

import csv
import io
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ganpo_geo._errors import ValidationError
from ganpo_geo.io import atomic_path, check_output_path, read_csv_table, read_excel_table, write_table, write_text
from ganpo_geo.siting import check_sites, read_sites

ROWS = [("a", "115.89", "28.68", "化工"), ("b", "116.9", "28.75", "garment"), ("c", "114.93", "25.85", "钢铁")]


def _write(path: Path, text: str, encoding: str) -> Path:
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize(
    ("encoding", "delimiter", "note"),
    [
        ("utf-8", ",", None),
        ("utf-8-sig", ",", "UTF-8 with BOM"),
        ("gbk", ",", "GB18030"),
        ("gb18030", ";", "GB18030"),
        ("utf-16", "\t", "UTF-16"),
        ("utf-8", ";", "semicolon"),
        ("utf-8", "\t", "tab"),
    ],
)
def test_csv_encodings_and_delimiters(tmp_path, encoding, delimiter, note) -> None:
    lines = [delimiter.join(("名称", "经度", "纬度", "行业"))] + [delimiter.join(r) for r in ROWS]
    path = _write(tmp_path / "sites.csv", "\n".join(lines) + "\n", encoding)
    read = read_csv_table(path)
    assert list(read.table.columns) == ["名称", "经度", "纬度", "行业"]
    assert read.table.to_numpy().tolist() == [list(r) for r in ROWS]
    assert (read.row_errors == "").all()
    if note is None:
        assert read.notes == []
    else:
        assert note in read.notes[0]


def test_ragged_and_short_rows_are_row_errors(tmp_path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text("name,lon,lat,industry\na,115.89,28.68,化工\nb,116.9,28.75,garment,EXTRA\nc,114.93\nd,116,28,x\n")
    read = read_csv_table(path)
    assert list(read.table["name"]) == ["a", "b", "c", "d"]
    assert read.row_errors[0] == "" and read.row_errors[3] == ""
    assert read.row_errors[1] == "row 2 (line 3): 5 fields, expected 4"
    assert read.row_errors[2] == "row 3 (line 4): 2 fields, expected 4"
    assert read.table.loc[1, "industry"] == "garment"  # the fields that fit are kept


def test_undecodable_row_is_a_row_error(tmp_path) -> None:
    good = "name,lon,lat,industry\n" + "".join(f"s{i},115.89,28.68,化工\n" for i in range(200))
    raw = good.encode("utf-8") + b"bad,115.9,28.7,\xff\xfe\xfa\n"
    path = tmp_path / "bytes.csv"
    path.write_bytes(raw)
    read = read_csv_table(path)
    assert len(read.table) == 201 and read.table["industry"].iloc[0] == "化工"  # still UTF-8, not GBK
    assert (read.row_errors[:200] == "").all() and "not valid UTF-8" in read.row_errors[200]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4, "binary file"),
        (b"PK\x03\x04" + b"\x00" * 100, "zip file"),
        (b"name,lon,lat\n", "header but no rows"),
    ],
)
def test_unreadable_csv_is_one_line(tmp_path, content, message) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(ValidationError, match=message) as info:
        read_csv_table(path)
    assert "\n" not in str(info.value)


def test_xlsx_input_first_or_named_sheet(tmp_path) -> None:
    path = tmp_path / "sites.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        pd.DataFrame({"x": [1]}).to_excel(writer, sheet_name="notes", index=False)
        pd.DataFrame([r[1:] for r in ROWS], columns=["东经", "北纬", "项目类型"]).to_excel(
            writer, sheet_name="sites", index=False
        )
    read = read_excel_table(path, "sites")
    assert read.table["项目类型"].tolist() == ["化工", "garment", "钢铁"]
    assert read_excel_table(path, 1).table.shape == (3, 3)
    assert list(read_excel_table(path).table.columns) == ["x"]
    with pytest.raises(ValidationError, match="has no sheet 'nope'; its sheets are: notes, sites"):
        read_excel_table(path, "nope")

    result = check_sites(read_sites(path, sheet="sites"))
    assert list(result["verdict"]) and (result["error"] == "").all()
    assert list(result["industry_key"]) == ["chemical", "garment", "steel"]


def test_check_output_path(tmp_path) -> None:
    src = tmp_path / "in.csv"
    src.write_text("a\n1\n")
    with pytest.raises(ValidationError, match="is the input file"):
        check_output_path(src, inputs=[src])
    link = tmp_path / "link.csv"
    os.link(src, link)  # the same inode under another name
    with pytest.raises(ValidationError, match="is the input file"):
        check_output_path(link, inputs=[src])
    with pytest.raises(ValidationError, match=r"unknown output format '\.txt'"):
        check_output_path(tmp_path / "out.txt")
    with pytest.raises(ValidationError, match="does not exist"):
        check_output_path(tmp_path / "missing" / "out.csv")
    assert check_output_path(tmp_path / "out.gpkg") == tmp_path / "out.gpkg"


def test_read_only_folder_is_refused(tmp_path, monkeypatch) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    real = os.access
    # root may write anywhere: make the folder read-only for os.access as it is for other users
    monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p) == folder else real(p, mode))
    with pytest.raises(ValidationError, match="is not writable"):
        check_output_path(folder / "out.csv")
    afile = tmp_path / "file.txt"
    afile.write_text("x")
    with pytest.raises(ValidationError, match="does not exist"):
        check_output_path(afile / "out.csv")


def _frame(n: int = 3) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"name": [f"s{i}" for i in range(n)], "value": np.arange(n) * 1.5},
        geometry=shapely.points(np.full(n, 115.9), np.linspace(28, 29, n)),
        crs=4326,
    )


@pytest.mark.parametrize("suffix", [".csv", ".geojson", ".gpkg", ".parquet", ".xlsx"])
def test_write_table_every_format_and_failure_keeps_previous(tmp_path, suffix, monkeypatch) -> None:
    path = tmp_path / f"out{suffix}"
    write_table(_frame(3), path)
    before = path.read_bytes()
    assert path.stat().st_mode & 0o777 != 0o600 or os.name != "posix"  # normal permissions, not mkstemp's
    back = pd.read_excel(path) if suffix == ".xlsx" else None
    if suffix in (".csv", ".xlsx"):
        table = pd.read_csv(path) if suffix == ".csv" else back
        assert list(table["name"]) == ["s0", "s1", "s2"] and "geometry" not in table
    elif suffix == ".parquet":
        assert gpd.read_parquet(path).geometry.iloc[2].y == pytest.approx(29)
    else:
        assert len(gpd.read_file(path)) == 3

    def fail(*args, **kwargs):
        partial = Path(args[0] if args and isinstance(args[0], str | Path) else kwargs.get("path", args[-1]))
        partial.write_bytes(b"partial")
        raise KeyboardInterrupt

    target = {".csv": "to_csv", ".xlsx": "to_excel", ".parquet": "to_parquet"}.get(suffix, "to_file")
    cls = pd.DataFrame if suffix in (".csv", ".xlsx") else gpd.GeoDataFrame
    monkeypatch.setattr(cls, target, lambda self, tmp, *a, **k: fail(tmp))
    with pytest.raises(KeyboardInterrupt):
        write_table(_frame(5), path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # no temporary file left


def test_gpkg_output_keeps_the_files_other_layers(tmp_path) -> None:
    import pyogrio

    path = tmp_path / "work.gpkg"
    _frame(2).to_file(path, layer="mine", driver="GPKG")
    write_table(_frame(3), path)
    write_table(_frame(4), path)
    layers = {str(name) for name, _ in pyogrio.list_layers(path)}
    assert layers == {"mine", "site_check"} and len(gpd.read_file(path, layer="site_check")) == 4
    assert len(gpd.read_file(path, layer="mine")) == 2


def test_write_text_and_csv_bom(tmp_path) -> None:
    page = tmp_path / "r.html"
    write_text(page, "<p>选址</p>")
    assert page.read_text(encoding="utf-8") == "<p>选址</p>"
    with pytest.raises(RuntimeError), atomic_path(page) as tmp:
        tmp.write_text("half")
        raise RuntimeError
    assert page.read_text(encoding="utf-8") == "<p>选址</p>" and len(list(tmp_path.iterdir())) == 1
    out = tmp_path / "bom.csv"
    write_table(_frame(2), out, bom=True)
    assert out.read_bytes().startswith(b"\xef\xbb\xbfname,value")
    write_table(_frame(2), out)
    assert out.read_bytes().startswith(b"name,value")


# --------------------------------------------------------------------------- properties of the batch

_CELL = st.text(alphabet=st.sampled_from(list("abc 019,;\"'.-_/江西南昌化工\n")), max_size=8)
_ODD_NAMES = ["error", "verdict", "reasons", "county_name", "geometry", "_input_error", "warnings", "note"]


@st.composite
def _batch(draw):
    odd = draw(st.lists(st.sampled_from(_ODD_NAMES), unique=True, max_size=4))
    n = draw(st.integers(1, 12))
    rows = []
    for i in range(n):
        kind = draw(st.sampled_from(["good", "good", "text", "empty", "outside", "range", "industry", "ragged"]))
        lon, lat = draw(st.floats(114.0, 117.5)), draw(st.floats(25.0, 29.5))
        lon_s, lat_s = {
            "text": ("abc", f"{lat:.5f}"),
            "empty": ("", ""),
            "outside": ("121.47", "31.23"),
            "range": ("200", f"{lat:.5f}"),
        }.get(kind, (f"{lon:.5f}", f"{lat:.5f}"))
        industry = "not-an-industry" if kind == "industry" else draw(st.sampled_from(["化工", "garment", "钢铁"]))
        cells = [str(i), lon_s, lat_s, industry, *(draw(_CELL) for _ in odd)]
        if kind == "ragged":
            cells.append("extra")
        rows.append(cells)
    return ["id", "lon", "lat", "industry", *odd], rows


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=_batch())
def test_batch_properties(tmp_path_factory, case) -> None:
    header, rows = case
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path = tmp_path_factory.mktemp("prop") / "sites.csv"
    path.write_text(buf.getvalue(), encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = check_sites(path)
    cols = out.attrs["ganpo_columns"]
    assert len(out) == len(rows)
    assert list(out["id"]) == [r[0] for r in rows]  # same rows, same order
    for j, name in enumerate(header):  # every input column byte-identical (ragged rows: the fields that fit)
        assert list(out[name]) == [r[j] for r in rows], name
    error, verdict = out[cols["error"]], out[cols["verdict"]]
    assert ((error != "") ^ (verdict != "")).all()  # each row: results or an error, never both or neither
    ragged = np.array([len(r) != len(header) for r in rows])
    assert error[ragged].str.contains("fields, expected").all()


# --------------------------------------------------------------------------- interrupts and concurrent writers


def _sites_csv(path: Path, n: int) -> Path:
    rng = np.random.default_rng(3)
    table = pd.DataFrame({"id": np.arange(n), "lon": rng.uniform(115, 117, n).round(5)})
    table["lat"] = rng.uniform(27, 29, n).round(5)
    table.to_csv(path, index=False)
    return path


def _ganpo(*args: str) -> list[str]:
    return [sys.executable, "-m", "ganpo_geo.cli", "site-check", "--quiet", *args]


def _signals_default() -> None:
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_DFL)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_kill_during_write_keeps_previous_output(tmp_path, signum) -> None:
    sites = _sites_csv(tmp_path / "sites.csv", 300_000)
    out = tmp_path / "out.csv"
    out.write_bytes(b"id,verdict\n" + b"".join(b"%d,allowed\n" % i for i in range(300_000)))  # a previous output
    before = out.read_bytes()
    proc = subprocess.Popen(
        _ganpo("--input", str(sites), "--output", str(out), "--industry", "化工"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        # Ctrl-C as in a terminal: a suite started in the background of a shell without job control
        # (`pytest &`) has SIGINT ignored, its children inherit that, and Python then installs no
        # KeyboardInterrupt handler: the run would finish (what two CI dry runs saw)
        preexec_fn=_signals_default,
    )
    seen = None
    deadline = time.monotonic() + 300
    while proc.poll() is None and time.monotonic() < deadline:
        temps = [p for p in tmp_path.iterdir() if p.name.startswith(".out.csv.")]
        if temps and temps[0].exists() and temps[0].stat().st_size > 0:
            seen = temps[0]
            proc.send_signal(signum)
            break
        time.sleep(0.002)
    proc.communicate(timeout=300)
    assert seen is not None, "the write was never seen in progress"
    assert proc.returncode == (1 if signum == signal.SIGINT else 128 + signal.SIGTERM)  # stopped, not finished
    assert out.read_bytes() == before  # the previous complete output, byte-identical
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv", "sites.csv"]  # no partial file left


def test_two_concurrent_writers_leave_one_complete_file(tmp_path) -> None:
    n = 100_000
    sites = _sites_csv(tmp_path / "sites.csv", n)
    out = tmp_path / "out.csv"
    procs = [
        subprocess.Popen(
            _ganpo("--input", str(sites), "--output", str(out), "--industry", industry),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for industry in ("garment", "化工")
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err.decode()
    table = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert len(table) == n and list(table["id"]) == [str(i) for i in range(n)]
    assert table["industry_key"].replace("", np.nan).dropna().nunique() == 1  # one writer's rows only
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv", "sites.csv"]


def test_temporaries_left_by_a_crashed_run_are_removed_by_the_next_write(tmp_path) -> None:
    import os
    import time

    from ganpo_geo.io import STALE_TEMPORARY_S

    out = tmp_path / "out[1].csv"  # glob characters in the name are taken literally
    stale = tmp_path / ".out[1].csv.k3j9x2ab.tmp.csv"  # what a native crash or kill -9 leaves
    running = tmp_path / ".out[1].csv.q8w7e6rt.tmp.csv"  # another run, still writing
    other = tmp_path / ".other.csv.k3j9x2ab.tmp.csv"  # another output's: not ours to remove
    for file in (stale, running, other):
        file.write_text("partial", encoding="utf-8")
    old = time.time() - STALE_TEMPORARY_S - 60
    os.utime(stale, (old, old))
    os.utime(other, (old, old))
    write_table(pd.DataFrame({"a": [1, 2]}), out)
    assert out.read_text(encoding="utf-8").splitlines() == ["a", "1", "2"]
    assert not stale.exists() and running.exists() and other.exists()
