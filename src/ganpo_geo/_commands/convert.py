"""``ganpo convert``: one coordinate between WGS84/CGCS2000, GCJ-02 and BD-09."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from ganpo_geo import crs
from ganpo_geo._commands._common import FINITE

__all__ = ["convert_cmd"]

_CRS_CHOICES = ["wgs84", "cgcs2000", "gcj02", "bd09"]


@click.command("convert")
@click.option("--lon", type=FINITE, required=True, help="Longitude in degrees.")
@click.option("--lat", type=FINITE, required=True, help="Latitude in degrees.")
@click.option(
    "--from",
    "src",
    type=click.Choice(_CRS_CHOICES, case_sensitive=False),
    required=True,
    help="CRS of the input (gcj02 for AMap/Tencent, bd09 for Baidu).",
)
@click.option(
    "--to",
    "dst",
    type=click.Choice(_CRS_CHOICES, case_sensitive=False),
    default="wgs84",
    show_default=True,
)
def convert_cmd(lon: float, lat: float, src: str, dst: str) -> None:
    """Convert one coordinate between WGS84/CGCS2000, GCJ-02 and BD-09."""
    to_wgs: dict[str, Callable[[float, float], tuple[Any, Any]]] = {
        "wgs84": lambda x, y: (x, y),
        "cgcs2000": lambda x, y: (x, y),
        "gcj02": crs.gcj02_to_wgs84,
        "bd09": crs.bd09_to_wgs84,
    }
    from_wgs: dict[str, Callable[[float, float], tuple[Any, Any]]] = {
        "wgs84": lambda x, y: (x, y),
        "cgcs2000": lambda x, y: (x, y),
        "gcj02": crs.wgs84_to_gcj02,
        "bd09": crs.wgs84_to_bd09,
    }
    crs.wgs84_to_gcj02(lon, lat)  # validates the range, with a clear error
    w_lon, w_lat = to_wgs[src.lower()](lon, lat)
    out_lon, out_lat = from_wgs[dst.lower()](w_lon, w_lat)
    click.echo(f"{float(out_lon):.7f} {float(out_lat):.7f}")
