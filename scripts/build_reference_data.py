"""Rebuild ganpo_geo's bundled reference data: a thin wrapper of ``python -m ganpo_geo._build``.

Needs the ``[build-data]`` extra (``pip install -e ".[build-data]"``) and a checkout (the
build reads the sourced tables of ``data/``). Usage::

    python scripts/build_reference_data.py [--out DIR] [--only network,zoning,loads] [--data-dir DATA]

The steps live in ``src/ganpo_geo/_build/`` (one module per step; see its ``run`` module).
"""

from __future__ import annotations

from ganpo_geo._build.run import DEFAULT_OUT, STEPS, build_all, main

__all__ = ["DEFAULT_OUT", "STEPS", "build_all", "main"]

if __name__ == "__main__":
    raise SystemExit(main())
