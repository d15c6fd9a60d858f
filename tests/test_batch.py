"""File-to-file batch checks streamed in chunks (ganpo_geo.batch)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import shapely
from click.testing import CliRunner

from ganpo_geo import batch
from ganpo_geo._errors import ValidationError
from ganpo_geo.batch import BatchSummary, check_file, error_kind
from ganpo_geo.cli import main
from ganpo_geo.io import write_table
from ganpo_geo.siting import check_sites, read_sites


def _table(n: int = 1_200, seed: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    lon = rng.uniform(113.5, 118.5, n).round(5).astype(str).astype(object)
    lat = rng.uniform(24.5, 30.1, n).round(5).astype(str).astype(object)  # some outside Jiangxi
    lon[::97] = "abc"
    lat[5::101] = "95"
    return pd.DataFrame(
        {
            "id": np.arange(n).astype(str),
            "name": [f'工厂 {i}, "quoted"' for i in range(n)],
            "lon": lon,
            "lat": lat,
            "industry": rng.choice(["化工", "garment", "steel", "nonsense"], n),
        }
    )


@pytest.fixture(scope="module")
def sites_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("batch") / "sites.csv"
    _table().to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def in_memory(sites_csv):
    return check_sites(read_sites(sites_csv), crs="wgs84", progress=False)


def test_streamed_csv_equals_the_in_memory_check(sites_csv, in_memory, tmp_path) -> None:
    out = tmp_path / "out.csv"
    summary = check_file(sites_csv, out, chunk_size=250, progress=False)  # 5 chunks
    assert summary.streamed
    expected = tmp_path / "expected.csv"
    write_table(in_memory, expected)
    got = pd.read_csv(out, dtype=str, keep_default_na=False)  # every cell's text, as written
    want = pd.read_csv(expected, dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(got, want)
    assert summary.rows == len(want) == 1_200
    assert sum(summary.errors.values()) == int((want["error"] != "").sum()) > 0
    assert sum(summary.verdicts.values()) == int((want["error"] == "").sum())


def test_streamed_parquet_equals_the_in_memory_check(sites_csv, in_memory, tmp_path) -> None:
    out = tmp_path / "out.parquet"
    assert check_file(sites_csv, out, chunk_size=300, progress=False).streamed
    got = gpd.read_parquet(out)
    assert got.crs.equals(in_memory.crs)
    pd.testing.assert_frame_equal(
        pd.DataFrame(got.drop(columns="geometry")),
        pd.DataFrame(in_memory.drop(columns="geometry")).reset_index(drop=True),
        check_dtype=False,
    )
    assert (
        got.geometry.geom_equals_exact(in_memory.geometry.reset_index(drop=True), 0).sum() == got.geometry.notna().sum()
    )
    assert got.geometry.notna().sum() == in_memory.geometry.notna().sum()  # no point left out


def _national_table(n: int = 900, seed: int = 8) -> pd.DataFrame:
    """Sites over China and beyond (most far outside Jiangxi), a few in it, swapped and bad ones."""
    rng = np.random.default_rng(seed)
    lon, lat = rng.uniform(70, 140, n), rng.uniform(10, 55, n)
    lon[::5], lat[::5] = rng.uniform(114.5, 117.5, len(lon[::5])), rng.uniform(25.5, 29.5, len(lat[::5]))
    text_lon, text_lat = lon.round(6).astype(str).astype(object), lat.round(6).astype(str).astype(object)
    text_lon[7], text_lat[7] = "28.68", "115.89"  # swapped: Nanchang
    text_lon[11], text_lat[11] = "181", "28"  # out of range
    text_lon[13] = "abc"
    return pd.DataFrame({"id": np.arange(n).astype(str), "lon": text_lon, "lat": text_lat, "industry": "化工"})


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_streamed_batch_of_sites_far_outside_jiangxi_equals_the_in_memory_check(tmp_path, suffix) -> None:
    # points outside the counties' box get their error without a shapely point: same rows, same geometry
    src = tmp_path / "national.csv"
    _national_table().to_csv(src, index=False)
    want = check_sites(read_sites(src), crs="wgs84", progress=False).reset_index(drop=True)
    out = tmp_path / f"out{suffix}"
    assert check_file(src, out, chunk_size=100, progress=False, workers=2).streamed  # 9 chunks
    far = want["error"].str.contains("outside Jiangxi, in |outside China", regex=True)
    assert far.sum() > 500 and want["error"].iloc[7].startswith("longitude and latitude look swapped")
    if suffix == ".csv":
        expected = tmp_path / "expected.csv"
        write_table(want, expected)
        pd.testing.assert_frame_equal(
            pd.read_csv(out, dtype=str, keep_default_na=False), pd.read_csv(expected, dtype=str, keep_default_na=False)
        )
    else:
        got = gpd.read_parquet(out)
        pd.testing.assert_frame_equal(
            pd.DataFrame(got.drop(columns="geometry")), pd.DataFrame(want.drop(columns="geometry")), check_dtype=False
        )
        assert got.geometry.notna().sum() == want.geometry.notna().sum() > 800  # the far points too
        assert got.geometry.geom_equals_exact(want.geometry, 0).sum() == want.geometry.notna().sum()


def test_far_points_are_found_only_for_wgs84_coordinates() -> None:
    from ganpo_geo.layers import bundled_layers
    from ganpo_geo.siting import _ERR, FAR_ERROR, _table_sites

    table = _national_table(200)
    sites, (rows, lon, lat, texts) = _table_sites(table, outside=bundled_layers())
    assert len(rows) > 100 and sites.geometry.iloc[rows].isna().all()  # no point made for them
    assert np.array_equal(lon, pd.to_numeric(table["lon"], errors="coerce").to_numpy()[rows])
    assert np.array_equal(lat, pd.to_numeric(table["lat"], errors="coerce").to_numpy()[rows])
    assert (sites[_ERR].iloc[rows] == FAR_ERROR).all()  # the placeholder; the texts come apart
    checked = check_sites(table, progress=False)["error"].to_numpy()[rows]
    assert texts.to_pylist() == checked.tolist()  # the check's own texts
    plain = _table_sites(table)[1][0]
    gcj = _table_sites(table, crs="gcj02", outside=bundled_layers())[1][0]
    assert len(plain) == len(gcj) == 0  # without the layers, or in another CRS: the plain way


def test_ragged_csv_falls_back_and_keeps_row_errors(tmp_path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text("lon,lat,industry\n115.9,28.7,化工\n115.8,28.6,化工,extra\n", encoding="utf-8")
    summary = check_file(path, tmp_path / "out.csv", progress=False)
    assert not summary.streamed
    out = pd.read_csv(tmp_path / "out.csv", keep_default_na=False)
    assert len(out) == 2 and out["error"].iloc[1].startswith("row 2")


def test_failure_leaves_no_partial_output(sites_csv, tmp_path, monkeypatch) -> None:
    out = tmp_path / "out.csv"
    out.write_text("previous", encoding="utf-8")
    import ganpo_geo.batch as batch

    calls = {"n": 0}
    real = batch.check_sites

    def fail_on_third(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(batch, "check_sites", fail_on_third)
    with pytest.raises(KeyboardInterrupt):
        check_file(sites_csv, out, chunk_size=250, progress=False)
    assert out.read_text(encoding="utf-8") == "previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]  # no temporary file left


def test_output_may_not_be_the_input(sites_csv) -> None:
    with pytest.raises(ValidationError, match="destroy the input"):
        check_file(sites_csv, sites_csv)


def test_bad_chunk_size_and_header_only(sites_csv, tmp_path) -> None:
    with pytest.raises(ValidationError, match="chunk_size"):
        check_file(sites_csv, tmp_path / "o.csv", chunk_size=0)
    empty = tmp_path / "empty.csv"
    empty.write_text("lon,lat,industry\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="no rows"):
        check_file(empty, tmp_path / "o.csv")
    assert not (tmp_path / "o.csv").exists()


def test_progress_lines_every_tenth_in_a_pipe(tmp_path, capsys) -> None:
    path = tmp_path / "big.csv"
    _table(12_000, seed=9).to_csv(path, index=False)
    summary = check_file(path, tmp_path / "out.parquet", chunk_size=1_200)
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if "%" in line]
    assert [int(line.split("%")[0]) for line in lines] == list(range(10, 101, 10))
    assert summary.rows == 12_000
    check_file(path, tmp_path / "out2.parquet", chunk_size=1_200, progress=False)
    assert "%" not in capsys.readouterr().err


def test_error_kind_and_summary() -> None:
    assert error_kind("the site (120.50000, 35.10000) is outside Jiangxi, in Shandong") == (
        "the site (#, #) is outside Jiangxi, in Shandong"
    )
    s = BatchSummary(rows=3, seconds=1.0)
    s.errors.update({"latitude # is outside [#, #]": 2})
    assert "2 with errors" in s.text() and "2 x latitude" in s.error_lines()[0]


def test_cli_batch_streams_and_summarises(sites_csv, tmp_path) -> None:
    out = tmp_path / "out.csv"
    res = CliRunner().invoke(main, ["site-check", "--input", str(sites_csv), "--output", str(out), "--quiet"])
    assert res.exit_code == 0, res.output
    assert "1200 sites:" in res.output and "with errors" in res.output
    assert len(pd.read_csv(out)) == 1_200


def _kinds_one_by_one(texts: np.ndarray) -> list[tuple[str, int]]:
    """Error kinds counted text by text (the reference the vectorized count must equal, order included)."""
    from collections import Counter

    counts: Counter[str] = Counter()
    uniq, n = np.unique(texts.astype(str), return_counts=True)
    for text, count in zip(uniq.tolist(), n.tolist(), strict=True):
        counts[error_kind(text)] += count
    return list(counts.items())


def test_error_kinds_vectorized_equal_one_by_one() -> None:
    from ganpo_geo.batch import _error_kinds

    rng = np.random.default_rng(3)
    texts = np.array(
        [
            "the site (120.50000, 35.10000) is outside Jiangxi, in Shandong",
            "latitude 91.5 is outside [-90, 90]",
            "latitude -91.25 (vertex 3) is outside [-90, 90]",
            "x１２３y ٣٤.٥ (Unicode digits are digits, as for Python's re)",
            "²3 and ⅷ 8 (not decimal digits)",
            "1.2.3 -1.5e-3 +2e5 3.e4 e5 1e 1e+",
            "unknown industry 'abc'",
            "",
        ],
        dtype=object,
    )
    sample = texts[rng.integers(0, len(texts), 500)]
    assert list(_error_kinds(sample).items()) == _kinds_one_by_one(sample)
    assert _error_kinds(np.array([], dtype=object)) == {}
    summary = BatchSummary()
    summary.add(pd.DataFrame({"error": sample, "verdict": "", "data_notice": "n"}))
    assert list(summary.errors.items()) == _kinds_one_by_one(sample[sample != ""])  # ties keep the same order
    assert summary.rows == 500


def test_float_text_is_the_general_rule_on_every_magnitude() -> None:
    from ganpo_geo.batch import _float_text, _float_text_rare

    rng = np.random.default_rng(0)
    for scale in [1e-310, 1e-8, 1e-5, 1e-4, 1e-3, 1, 1e3, 1e8, 1e9, 1e10, 1e15, 1e16, 1e20, 1e300]:
        v = rng.standard_normal(5_000) * scale
        v[::3] = np.round(v[::3])
        v[::7], v[::11], v[::13], v[::19], v[::17] = np.nan, 0.0, np.inf, -np.inf, -0.0
        v[::23], v[::29], v[::31] = 1e9, 1e-4, 999_999_999.0
        assert _float_text(v).equals(_float_text_rare(v)), scale
    assert _float_text(np.array([1.0, 0.5, -0.0, 1e-5, np.nan, 1e16])).to_pylist() == [
        "1.0",
        "0.5",
        "-0.0",
        "1e-05",
        None,
        "1e+16",
    ]
    assert _float_text(np.array([], dtype=float)).to_pylist() == []


def test_a_failed_write_raises_and_leaves_no_output(sites_csv, tmp_path, monkeypatch) -> None:
    import pyarrow.csv as pacsv

    out = tmp_path / "out.csv"
    real = pacsv.CSVWriter

    class FailingWriter:  # the second chunk cannot be written
        def __init__(self, *args):
            self.inner, self.n = real(*args), 0

        def write_table(self, table):
            self.n += 1
            if self.n == 2:
                raise OSError("disk full")
            self.inner.write_table(table)

        def close(self):
            self.inner.close()

    monkeypatch.setattr(pacsv, "CSVWriter", FailingWriter)
    with pytest.raises(OSError, match="disk full"):  # written in a thread: the error still reaches the caller
        check_file(sites_csv, out, chunk_size=250, progress=False)
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_threads_write_the_same_file_as_one_thread(sites_csv, tmp_path, suffix) -> None:
    one, two = tmp_path / f"one{suffix}", tmp_path / f"two{suffix}"
    s1 = check_file(sites_csv, one, chunk_size=100, progress=False, workers=1)  # 12 chunks
    s2 = check_file(sites_csv, two, chunk_size=100, progress=False, workers=2)
    assert s1.streamed and s2.streamed
    if suffix == ".csv":
        assert one.read_bytes() == two.read_bytes()
    else:
        pd.testing.assert_frame_equal(gpd.read_parquet(two), gpd.read_parquet(one), check_exact=True)
    assert (s1.rows, s1.verdicts, list(s1.errors.items())) == (s2.rows, s2.verdicts, list(s2.errors.items()))
    with pytest.raises(ValidationError, match="workers"):
        check_file(sites_csv, tmp_path / "x.csv", workers=0)


def test_csv_chunks_with_a_smaller_first_chunk(sites_csv) -> None:
    from ganpo_geo.batch import _csv_chunks

    names = list(pd.read_csv(sites_csv, nrows=0).columns)
    chunks = list(_csv_chunks(sites_csv, ",", names, 500, first_rows=30))
    assert [len(c) for c in chunks] == [30, 500, 500, 170]
    assert [c.index[0] for c in chunks] == [0, 30, 530, 1030]  # row positions kept
    whole = pd.read_csv(sites_csv, dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(pd.concat(chunks), whole, check_dtype=False)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_small_first_chunk_when_the_indexes_are_ready_writes_the_same_file(
    sites_csv, tmp_path, monkeypatch, suffix
) -> None:
    one = tmp_path / f"one{suffix}"
    check_file(sites_csv, one, chunk_size=100, progress=False, workers=1)
    monkeypatch.setattr(batch, "FIRST_CHUNK_READY", 30)
    monkeypatch.setattr(batch, "_indexes_ready", lambda layers, n: True)
    seen = []
    original = batch._csv_chunks

    def spy(*args, **kwargs):
        for chunk in original(*args, **kwargs):
            seen.append(len(chunk))
            yield chunk

    monkeypatch.setattr(batch, "_csv_chunks", spy)
    two = tmp_path / f"two{suffix}"
    check_file(sites_csv, two, chunk_size=100, progress=False, workers=2)
    assert seen[:2] == [30, 100] and sum(seen) == 1200
    if suffix == ".csv":
        assert one.read_bytes() == two.read_bytes()
    else:
        pd.testing.assert_frame_equal(gpd.read_parquet(two), gpd.read_parquet(one), check_exact=True)


def test_a_chunk_independent_warning_is_said_once_with_threads(tmp_path) -> None:
    table = _table(600)
    table["verdict"] = "old"  # a result column name: the results go to prefixed columns, with a warning
    src = tmp_path / "again.csv"
    table.to_csv(src, index=False)
    with pytest.warns(UserWarning, match="prefixed columns") as caught:
        check_file(src, tmp_path / "out.csv", chunk_size=100, progress=False, workers=2)
    assert sum("prefixed columns" in str(w.message) for w in caught) == 1
    out = pd.read_csv(tmp_path / "out.csv", dtype=str, keep_default_na=False)
    assert (out["verdict"] == "old").all() and "ganpo_verdict" in out


def test_summary_parts_merge_to_the_whole(in_memory) -> None:
    whole, added, merged = BatchSummary(), BatchSummary(), BatchSummary()
    whole.add(in_memory)
    for start in range(0, len(in_memory), 300):
        chunk = in_memory.iloc[start : start + 300]
        added.add(chunk)  # what one thread did, chunk after chunk
        part = BatchSummary()
        part.add(chunk)  # what a worker thread does
        merged.merge(part)
    assert (merged.rows, merged.verdicts, list(merged.errors.items())) == (
        added.rows,
        added.verdicts,
        list(added.errors.items()),
    )
    assert (merged.rows, dict(merged.errors), dict(merged.verdicts)) == (
        whole.rows,
        dict(whole.errors),
        dict(whole.verdicts),
    )
    assert merged.data_notice == whole.data_notice != ""


def test_cli_workers_sets_the_threads_of_a_file_batch(sites_csv, tmp_path) -> None:
    runner = CliRunner()
    outs = []
    for workers in ("1", "2"):
        out = tmp_path / f"w{workers}.csv"
        args = ["site-check", "--input", str(sites_csv), "--output", str(out), "--workers", workers, "--quiet"]
        result = runner.invoke(main, args)
        assert result.exit_code == 0, result.output
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    args = ["site-check", "--input", str(sites_csv), "--output", str(tmp_path / "x.csv"), "--workers", "0"]
    bad = runner.invoke(main, args)
    assert bad.exit_code != 0 and "workers" in bad.output.lower()


def test_parquet_tables_of_later_chunks_equal_geopandas_conversion(in_memory) -> None:
    from ganpo_geo.batch import _parquet_table, _point_wkb, _widen

    like = _widen(_parquet_table(in_memory.iloc[:400]).schema)
    for part in (in_memory.iloc[400:800], in_memory.iloc[800:]):
        assert _parquet_table(part, like).equals(_parquet_table(part).cast(like))
    mixed = in_memory.iloc[:50].copy()
    mixed.loc[mixed.index[3], "geometry"] = shapely.box(116.0, 28.0, 116.1, 28.1)  # not all points: geopandas' way
    assert _point_wkb(mixed.geometry.to_numpy()) is None
    assert _parquet_table(mixed, like).equals(_parquet_table(mixed).cast(like))
    points = in_memory.geometry.to_numpy().copy()
    points[[1, 7]] = None
    assert _point_wkb(points).equals(pa.array(np.asarray(shapely.to_wkb(points, flavor="iso")), pa.binary()))


def test_row_estimate_without_progress_reads_one_block(tmp_path, monkeypatch) -> None:
    from ganpo_geo import batch

    monkeypatch.setattr(batch, "_BLOCK_BYTES", 1 << 20)
    small = tmp_path / "small.csv"
    small.write_text("lon,lat\n115.9,28.7\n116.0,28.5")  # no final line break
    assert batch._count_lines(small) == batch._count_lines(small, exact=False) == 3
    rows = np.random.default_rng(3).uniform(100, 120, 400_000)
    big = tmp_path / "big.csv"
    big.write_text("lon,lat\n" + "".join(f"{x:.6f},28.{i % 997}\n" for i, x in enumerate(rows)))
    assert big.stat().st_size > 2 * batch._BLOCK_BYTES
    exact, estimate = batch._count_lines(big), batch._count_lines(big, exact=False)
    assert exact == 400_001 and abs(estimate - exact) < 0.02 * exact
