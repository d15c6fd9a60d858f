"""The human-maintained input tables under data/: every row has a source and a reader."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
TABLES = sorted((REPO / "data").rglob("*.csv"))
# the build scripts and the package read the build inputs; test points are read by the tests
READERS = [
    *sorted((REPO / "scripts").glob("*.py")),
    *sorted((REPO / "src" / "ganpo_geo").rglob("*.py")),
    *[p for p in sorted((REPO / "tests").glob("test_*.py")) if p.name != "test_data_tables.py"],
]


def test_the_specified_layout_exists() -> None:
    for folder in ("src/ganpo_geo", "data/boundaries", "data/rivers", "scripts", "tests", "maps"):
        assert (REPO / folder).is_dir(), folder
    assert (REPO / "maps" / "README.md").is_file()
    for folder in ("data/boundaries", "data/rivers"):
        assert any(p.name.startswith("README") for p in (REPO / folder).iterdir()), folder


@pytest.mark.parametrize("path", TABLES, ids=[p.relative_to(REPO).as_posix() for p in TABLES])
def test_every_row_has_a_source(path: Path) -> None:
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert len(table) > 0
    assert "source" in table.columns, f"{path.name} has no source column"
    empty = table.index[table["source"].str.strip() == ""]
    assert empty.empty, f"{path.name}: rows without a source: {list(empty[:5])}"


@pytest.mark.parametrize("path", TABLES, ids=[p.relative_to(REPO).as_posix() for p in TABLES])
def test_every_table_is_read_and_documented(path: Path) -> None:
    readers = [p for p in READERS if path.name in p.read_text(encoding="utf-8")]
    assert readers, f"no script or module reads {path.name}"
    docs = " ".join(p.read_text(encoding="utf-8") for p in path.parent.glob("README*.md"))
    assert path.name in docs, f"{path.name} is not explained in a README of {path.parent.name}/"


def test_packaged_shoreline_table_is_the_data_table() -> None:
    from ganpo_geo.layers import data_path

    assert (
        data_path("rivers/shoreline_rules.csv").read_bytes() == (REPO / "data/rivers/shoreline_rules.csv").read_bytes()
    )
