"""``ganpo river upstream|downstream``: navigate the Poyang river network from a point."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

from ganpo_geo._commands._common import FINITE, POSITIVE, _echo_json, _echo_layers_in_use, _load_layers, layers_option
from ganpo_geo._errors import ValidationError
from ganpo_geo.crs import parse_crs, to_wgs84, wgs84_to_gcj02
from ganpo_geo.rivers import navigate, river_network, snap, upstream_basin
from ganpo_geo.types import NavMode

if TYPE_CHECKING:
    import shapely

__all__ = ["river_group"]

_F = TypeVar("_F", bound=Callable[..., Any])


@click.group("river")
@layers_option
@click.pass_context
def river_group(ctx: click.Context, layers_file: str | None) -> None:
    """Navigate the Poyang river network from a point (NLDI-style).

    The river network is always the bundled one; --layers (GANPO_LAYERS) is checked and the
    zoning layers in use are named on stderr.
    """
    layers = _load_layers(layers_file)
    ctx.obj = {"layers": layers}
    _echo_layers_in_use(layers, err=True)


_NAV_COLUMNS = [
    "reach_id",
    "river_zh",
    "river_en",
    "basin",
    "strahler",
    "length_km",
    "distance_km",
    "clipped",
    "travelled_km",
    "dist_to_outlet_km",
]


def _site_point(lon: float, lat: float, crs_name: str) -> shapely.Point:
    import shapely

    if parse_crs(crs_name).kind != "proj":
        wgs84_to_gcj02(lon, lat)  # degrees: range check with a clear error
    point: shapely.Point = to_wgs84(shapely.Point(lon, lat), crs=crs_name)
    wgs84_to_gcj02(point.x, point.y)  # projected input (e.g. EPSG:4548 metres): check where it lands
    return point


def _navigate_cmd(
    lon: float,
    lat: float,
    crs_name: str,
    mode: NavMode,
    distance_km: float | None,
    max_snap_m: float,
    fmt: str,
) -> None:
    import geopandas as gpd

    point = _site_point(lon, lat, crs_name)
    G = river_network()
    hit = snap(gpd.GeoSeries([point], crs="EPSG:4326"), G, max_snap_m=max_snap_m).iloc[0]
    if hit.isna()["reach_id"]:
        msg = (
            f"no river reach within {max_snap_m:.0f} m of ({point.x:.5f}, {point.y:.5f}); "
            "the point may be outside the Poyang basin, or raise --max-snap-m"
        )
        raise ValidationError(msg)
    path = navigate(G, point, mode, distance_km)
    table = path[_NAV_COLUMNS].copy()
    if fmt == "geojson":
        click.echo(path[[*_NAV_COLUMNS, "geometry"]].to_json(ensure_ascii=False, drop_id=True))
        return
    summary: dict[str, Any] = {
        "start": {
            "lon": point.x,
            "lat": point.y,
            "reach_id": int(hit["reach_id"]),
            "snap_distance_m": round(float(hit["distance_m"]), 1),
        },
        "mode": mode,
        "distance_km": distance_km,
        "reaches": len(table),
        # the distance travelled: from the snap point, and up to --distance-km (not whole reaches)
        "total_length_km": round(float(table["travelled_km"].sum()), 3),
        "whole_reaches_length_km": round(float(table["length_km"].sum()), 3),
    }
    if fmt == "json":
        records = table.round(3).to_dict(orient="records")
        _echo_json({**summary, "path": records})
        return
    start = summary["start"]
    click.echo(
        f"{mode} from ({start['lon']:.5f}, {start['lat']:.5f}), snapped to reach "
        f"{start['reach_id']} ({start['snap_distance_m']:.0f} m away)"
        + (f", within {distance_km} km" if distance_km is not None else "")
    )
    click.echo(
        f"{'reach':>6} {'river':<28} {'basin':<8} {'order':>5} {'len km':>8} {'travelled km':>13} {'from start km':>14}"
    )
    for row in table.itertuples():
        name = f"{row.river_zh} {row.river_en}".strip() or "-"
        click.echo(
            f"{int(row.reach_id):>6} {name:<28} {row.basin:<8} {int(row.strahler):>5} "
            f"{row.length_km:>8.1f} {row.travelled_km:>13.1f} {row.distance_km:>14.1f}"
        )
    click.echo(
        f"{summary['reaches']} reaches, {summary['total_length_km']:,.1f} km travelled from the start point"
        f" (whole reaches: {summary['whole_reaches_length_km']:,.1f} km)"
    )


def _nav_options(default_mode: str, modes: list[str]) -> Callable[[_F], _F]:
    def decorate(func: _F) -> _F:
        func = click.option(
            "--format",
            "fmt",
            type=click.Choice(["text", "json", "geojson"]),
            default="text",
            show_default=True,
        )(func)
        func = click.option(
            "--max-snap-m",
            type=POSITIVE,
            default=5000.0,
            show_default=True,
            help="Farthest a point may be from a reach.",
        )(func)
        func = click.option("--distance-km", type=POSITIVE, default=None, help="Stop after this network distance.")(
            func
        )
        func = click.option(
            "--mode",
            type=click.Choice(modes, case_sensitive=False),
            default=default_mode,
            show_default=True,
        )(func)
        func = click.option(
            "--crs",
            "crs_name",
            default="wgs84",
            show_default=True,
            help="CRS of --lon/--lat: wgs84, cgcs2000, gcj02, bd09 or EPSG:xxxx.",
        )(func)
        func = click.option("--lat", type=FINITE, required=True, help="Latitude (or northing).")(func)
        return click.option("--lon", type=FINITE, required=True, help="Longitude (or easting).")(func)

    return decorate


@river_group.command("upstream")
@_nav_options("UT", ["UT", "UM"])
@click.option(
    "--basin-geojson",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Also write the upstream basin polygon (union of the UT reaches' catchments) as GeoJSON.",
)
def river_upstream(
    lon: float,
    lat: float,
    crs_name: str,
    mode: str,
    distance_km: float | None,
    max_snap_m: float,
    fmt: str,
    basin_geojson: str | None,
) -> None:
    """Reaches upstream of a point: UT with tributaries (default) or UM main stem."""
    _navigate_cmd(lon, lat, crs_name, cast(NavMode, mode.upper()), distance_km, max_snap_m, fmt)
    if basin_geojson:
        from pathlib import Path

        basin = upstream_basin(river_network(), _site_point(lon, lat, crs_name), distance_km=distance_km)
        Path(basin_geojson).write_text(basin.to_json(ensure_ascii=False, drop_id=True), encoding="utf-8")


@river_group.command("downstream")
@_nav_options("DM", ["DM", "DD"])
def river_downstream(
    lon: float,
    lat: float,
    crs_name: str,
    mode: str,
    distance_km: float | None,
    max_snap_m: float,
    fmt: str,
) -> None:
    """Reaches downstream of a point to Hukou: DM main stem (default) or DD with diversions."""
    _navigate_cmd(lon, lat, crs_name, cast(NavMode, mode.upper()), distance_km, max_snap_m, fmt)
