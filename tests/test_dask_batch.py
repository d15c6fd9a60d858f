"""check_to_dataset: a CSV checked block by block on dask, written as a partitioned GeoParquet folder."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from ganpo_geo._errors import ValidationError
from ganpo_geo.cli import main
from ganpo_geo.dask_batch import check_to_dataset
from ganpo_geo.siting import check_sites


def _csv(path, n: int = 3000, seed: int = 9) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    table = pd.DataFrame(
        {
            "id": [f"S{i}" for i in range(n)],
            "lon": np.char.mod("%.5f", rng.uniform(113.5, 118.6, n)).astype(object),
            "lat": np.char.mod("%.5f", rng.uniform(24.4, 30.2, n)).astype(object),
            "industry": rng.choice(["化工", "garment", "steel", "2611", "no such trade"], n),
        }
    )
    table.loc[5, "lon"] = "abc"  # a bad coordinate
    table.loc[7, "lat"] = ""  # a missing one
    table.to_csv(path, index=False)
    return table


def _read_dataset(folder) -> pd.DataFrame:
    parts = sorted(folder.glob("part.*.parquet"))
    return pd.concat([gpd.read_parquet(p) for p in parts], ignore_index=True)


def test_dataset_equals_check_sites_row_for_row(tmp_path) -> None:
    source = tmp_path / "sites.csv"
    table = _csv(source)
    out = tmp_path / "checked"
    summary = check_to_dataset(source, out, blocksize=40_000)
    assert summary.parts > 1  # really partitioned
    assert summary.rows == len(table) and summary.output == out
    assert not list(tmp_path.glob(".checked.*"))  # no temporary folder left
    written = _read_dataset(out)
    expected = check_sites(pd.read_csv(source, dtype=str, keep_default_na=False), progress=False)
    assert len(written) == len(table)
    assert written["id"].tolist() == table["id"].tolist()  # input order
    assert summary.errors == int((expected["error"] != "").sum()) >= 2
    assert written.loc[5, "error"] != "" and written.loc[7, "error"] != ""
    for column in ["error", "verdict", "unit_code", "county_name", "reasons", "redline_zones"]:
        assert written[column].tolist() == expected[column].tolist(), column
    for column in ["river_distance_m", "dist_to_hukou_km", "redline_nearest_m"]:
        np.testing.assert_array_equal(written[column].to_numpy(float), expected[column].to_numpy(float))
    # the folder reads back as one table with geopandas too
    assert len(gpd.read_parquet(out)) == len(table)


def test_an_earlier_output_is_replaced_only_when_complete(tmp_path, monkeypatch) -> None:
    source = tmp_path / "sites.csv"
    _csv(source, n=400)
    out = tmp_path / "checked"
    check_to_dataset(source, out)
    before = sorted(p.read_bytes() for p in out.iterdir())

    def broken(*args, **kwargs):
        raise RuntimeError("worker lost")

    monkeypatch.setattr("ganpo_geo.dask_batch.check_sites", broken)
    with pytest.raises(RuntimeError, match="worker lost"):
        check_to_dataset(source, out)
    assert sorted(p.read_bytes() for p in out.iterdir()) == before  # the old output is intact
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    monkeypatch.undo()
    check_to_dataset(source, out, industry="garment")
    assert (_read_dataset(out)["industry_key"][_read_dataset(out)["error"] == ""] == "garment").all()


def _output(folder, kind: str):
    if kind == "file":
        (folder / "out.txt").write_text("x")
        return folder / "out.txt"
    if kind == "folder of other files":
        (folder / "notes").mkdir()
        (folder / "notes" / "a.doc").write_text("x")
        return folder / "notes"
    return folder / "missing" / "out"


@pytest.mark.parametrize(
    ("kind", "message"),
    [("file", "is a file"), ("folder of other files", "other files"), ("no parent", "does not exist")],
)
def test_bad_outputs_are_refused_in_one_line(tmp_path, kind, message) -> None:
    source = tmp_path / "sites.csv"
    _csv(source, n=10)
    with pytest.raises(ValidationError, match=message) as info:
        check_to_dataset(source, _output(tmp_path, kind))
    assert "\n" not in str(info.value)


def test_bad_inputs_are_refused_in_one_line(tmp_path) -> None:
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes("lon,lat,industry\n115.9,28.7,化工\n".encode("gbk"))
    with pytest.raises(ValidationError, match="not UTF-8"):
        check_to_dataset(gbk, tmp_path / "a")
    with pytest.raises(ValidationError, match="no such file"):
        check_to_dataset(tmp_path / "nope.csv", tmp_path / "b")
    xlsx = tmp_path / "sites.xlsx"
    xlsx.write_bytes(b"PK")
    with pytest.raises(ValidationError, match="UTF-8 CSV"):
        check_to_dataset(xlsx, tmp_path / "d")
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("lon,lat,industry\n115.9,28.7,化工\n115.9,28.7,化工,extra,cells\n", encoding="utf-8")
    with pytest.raises(ValidationError, match=r"ragged\.csv") as info:
        check_to_dataset(ragged, tmp_path / "e")
    assert "\n" not in str(info.value)
    assert not (tmp_path / "e").exists() and not list(tmp_path.glob(".e.*"))
    good = tmp_path / "good.csv"
    _csv(good, n=5)
    with pytest.raises(ValidationError, match="scheduler"):
        check_to_dataset(good, tmp_path / "f", scheduler="cluster")
    with pytest.raises(ValidationError, match="holds the input"):
        check_to_dataset(good, tmp_path)


def test_cli_writes_a_partitioned_folder_with_the_dask_engine(tmp_path) -> None:
    source = tmp_path / "sites.csv"
    table = _csv(source, n=600)
    out = tmp_path / "result"
    run = CliRunner().invoke(
        main, ["site-check", "--input", str(source), "--output", str(out), "--engine", "dask", "--quiet"]
    )
    assert run.exit_code == 0, run.output
    assert "600 sites" in run.output and "part(s)" in run.output
    # the synthetic reference layers say so, as in every other ganpo output
    assert "control_units: reference data synthesized for demonstration, not official" in run.output
    assert (_read_dataset(out)["data_notice"] == check_to_dataset(source, tmp_path / "again").data_notice).all()
    assert len(_read_dataset(out)) == len(table)
    # without --engine dask a folder is not an output
    run = CliRunner().invoke(main, ["site-check", "--input", str(source), "--output", str(out)])
    assert run.exit_code != 0 and "unknown output format" in run.output
