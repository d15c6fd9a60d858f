"""The package's architecture: the import-linter layers contract, and no hidden in-function imports."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import ganpo_geo

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"
PACKAGE = Path(ganpo_geo.__file__).resolve().parent

#: Modules that may import ganpo_geo modules inside functions: the package's ``__init__`` loads
#: its public names on first use (PEP 562), so that ``ganpo --version`` stays light.
IN_FUNCTION_IMPORTS_ALLOWED = {"__init__.py"}
#: Single in-function imports that are lazy on purpose, each with the reason: the printable
#: report needs folium, which neither a site check nor a batch without --html-dir should load.
LAZY_IMPORTS_ALLOWED = {
    ("siting.py", "ganpo_geo.report"),  # SiteReport.to_html (the contract's one ignored import)
    ("site.py", "ganpo_geo.report"),  # ganpo site-check --html/--pdf/--html-dir
}


def _lint_imports(package_parent: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run lint-imports with the repository's contract on the ganpo_geo found in ``package_parent``."""
    env = {**os.environ, "PYTHONPATH": str(package_parent)}
    code = "from importlinter.cli import lint_imports_command; lint_imports_command()"
    return subprocess.run(
        [sys.executable, "-c", code, "--config", str(PYPROJECT), "--no-cache", "--no-logo"],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=300,
        check=False,
    )


def test_import_contract_is_kept(tmp_path: Path) -> None:
    result = _lint_imports(PACKAGE.parent, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def _copy_package(tmp_path: Path) -> Path:
    target = tmp_path / "pkg" / "ganpo_geo"
    shutil.copytree(PACKAGE, target, ignore=shutil.ignore_patterns("data", "__pycache__"))
    return target


def test_import_contract_catches_the_old_circle(tmp_path: Path) -> None:
    """Re-adding the in-function import the old ``Layers.official`` had (layers -> zoning) breaks the contract."""
    target = _copy_package(tmp_path)
    layers_py = target / "layers.py"
    layers_py.write_text(
        layers_py.read_text(encoding="utf-8")
        + "\n\ndef _old_official() -> object:\n    from ganpo_geo.zoning import load_control_units\n\n"
        "    return load_control_units\n",
        encoding="utf-8",
    )
    result = _lint_imports(target.parent, tmp_path)
    assert result.returncode != 0
    assert "ganpo_geo.layers is not allowed to import ganpo_geo.zoning" in result.stdout
    assert "1 broken" in result.stdout


def test_import_contract_catches_an_unplaced_module(tmp_path: Path) -> None:
    """The contract is exhaustive: a new module must be given its layer."""
    target = _copy_package(tmp_path)
    (target / "newthing.py").write_text('"""A module the contract does not place."""\n', encoding="utf-8")
    result = _lint_imports(target.parent, tmp_path)
    assert result.returncode != 0
    assert "newthing" in result.stdout + result.stderr


def _in_function_imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every ``ganpo_geo`` import below module level (in functions and classes)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = set(map(id, tree.body))
    for node in tree.body:  # imports under a module-level `if TYPE_CHECKING:` are module level too
        if isinstance(node, ast.If):
            top.update(map(id, ast.walk(node)))
    found = []
    for node in ast.walk(tree):
        if id(node) in top:
            continue
        if isinstance(node, ast.ImportFrom) and node.module == "ganpo_geo":
            names = [f"ganpo_geo.{a.name}" for a in node.names]  # from ganpo_geo import report
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            names = [f"(relative) {node.module or ''}"]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        found += [(node.lineno, n) for n in names if n.split(".")[0] == "ganpo_geo" or n.startswith("(relative)")]
    return found


def test_no_in_function_imports_of_the_package() -> None:
    offenders = [
        f"{path.name}:{line} imports {module}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.name not in IN_FUNCTION_IMPORTS_ALLOWED
        for line, module in _in_function_imports(path)
        if (path.name, module) not in LAZY_IMPORTS_ALLOWED
    ]
    assert not offenders, "import these at module top (or move the code to the right layer): " + "; ".join(offenders)


def test_the_in_function_import_check_finds_one(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import ganpo_geo.crs\n\ndef f():\n    from ganpo_geo.zoning import units_at\n    import ganpo_geo.rivers\n",
        encoding="utf-8",
    )
    assert _in_function_imports(probe) == [(4, "ganpo_geo.zoning"), (5, "ganpo_geo.rivers")]


@pytest.mark.parametrize(
    "name",
    ["Layers", "ScreeningLayer", "bundled_layers", "export_layers", "load_layer", "data_path", "layer_info"],
)
def test_old_layers_import_paths_still_work(name: str) -> None:
    import ganpo_geo.layers

    assert callable(getattr(ganpo_geo.layers, name))


@pytest.mark.parametrize(
    "name",
    [
        "DIMENSIONS",
        "CATEGORY_ZH",
        "CONDITION_TERMS",
        "industries",
        "resolve_industry",
        "condition_terms",
        "rules_in_scope",
        "load_control_units",
        "read_rules",
        "validate_control_units",
        "official_clauses",
        "official_rules",
        "Problem",
        "ValidationReport",
    ],
)
def test_old_zoning_import_paths_still_work(name: str) -> None:
    import ganpo_geo.vocabulary
    import ganpo_geo.zoning

    value = getattr(ganpo_geo.zoning, name)
    if hasattr(ganpo_geo.vocabulary, name):  # one object, not a copy
        assert value is getattr(ganpo_geo.vocabulary, name)


#: Modules checked by ``mypy --strict`` here; the whole package once every module is clean (then
#: ``.ci/run`` runs ``mypy`` with the [tool.mypy] settings on src/ganpo_geo).
def test_the_package_passes_mypy_strict(tmp_path: Path) -> None:
    """Every module of the installed package, _build and _commands included (as .ci/run runs it)."""
    # the checkout's sources when the tests run from one (mypy refuses a path inside site-packages)
    source = ROOT / "src" / "ganpo_geo"
    target = source if source.is_dir() else PACKAGE
    files = [str(target)]
    env = {**os.environ, "PYTHONPATH": str(target.parent)}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--ignore-missing-imports",
            "--python-version",
            "3.11",
            "--cache-dir",
            str(tmp_path / "mypy_cache"),
            *files,
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
