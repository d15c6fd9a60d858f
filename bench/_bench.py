"""Shared parts of the benchmarks: timing a call and writing ``bench/results/<name>.json``."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def timed(func: Callable[[], Any]) -> tuple[Any, float]:
    """Call ``func()`` once; return its result and the wall time in seconds."""
    start = time.perf_counter()
    out = func()
    return out, time.perf_counter() - start


def write_results(name: str, result: dict) -> Path:
    """Write ``result`` to ``bench/results/<name>.json`` and print it."""
    out = Path(__file__).parent / "results" / f"{name}.json"
    out.parent.mkdir(exist_ok=True)
    text = json.dumps(result, indent=2, ensure_ascii=False)
    out.write_text(text + "\n")
    print(text)
    return out
