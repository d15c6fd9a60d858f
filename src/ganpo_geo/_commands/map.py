"""``ganpo map``: HTML maps (zoning, rivers, tp, trace, site, all)."""

from __future__ import annotations

import click

from ganpo_geo import maps
from ganpo_geo._commands._common import COUNT, FINITE, POSITIVE, _load_layers, layers_option
from ganpo_geo._errors import GanpoError
from ganpo_geo.io import check_output_path

__all__ = ["map_cmd"]


@click.command("map")
@click.argument("kind", type=click.Choice(["zoning", "rivers", "tp", "trace", "site", "all"]))
@click.option("-o", "--output", "output", required=True, help="HTML file (for 'all': a folder).")
@click.option("--offline/--no-offline", default=True, show_default=True, help="Inline Leaflet (no CDN).")
@click.option(
    "--tiles",
    type=click.Choice(["none", "osm", "tianditu", "amap"]),
    default="none",
    show_default=True,
    help="Basemap: the bundled boundaries (none), OpenStreetMap, Tianditu (TIANDITU_KEY), AMap (GCJ-02).",
)
@click.option("--lon", type=FINITE, default=None, help="Trace start or site (default: Waizhou / Nanchang).")
@click.option("--lat", type=FINITE, default=None)
@click.option("--crs", "crs_name", default="wgs84", show_default=True, help="CRS of --lon/--lat for the site map.")
@click.option("--industry", default=None, help="Industry for the site map (default 化工).")
@click.option("--mode", type=click.Choice(["UT", "UM", "DM", "DD"]), default=None, help="Trace mode (default UT).")
@click.option("--distance-km", type=POSITIVE, default=None, help="Trace distance limit.")
@click.option("--by", type=click.Choice(["county", "unit", "reach"]), default=None, help="TP map grouping.")
@click.option("--top", type=COUNT, default=None, help="TP map: how many top sources.")
@layers_option
def map_cmd(
    kind: str,
    output: str,
    offline: bool,
    tiles: str,
    lon: float | None,
    lat: float | None,
    crs_name: str,
    industry: str | None,
    mode: str | None,
    distance_km: float | None,
    by: str | None,
    top: int | None,
    layers_file: str | None,
) -> None:
    """Write an HTML map: zoning, rivers, tp, trace, site (or all of them into a folder)."""
    if kind != "all":  # checked before the map is made
        check_output_path(output, suffixes=[".html", ".htm"])
    layers = _load_layers(layers_file)
    if kind == "all":
        if layers is not None:
            msg = "--layers is for one map (zoning, site); 'all' writes the gallery of the bundled reference layers"
            raise GanpoError(msg)
        for path in maps.write_all(output, offline=offline, tiles=tiles):
            click.echo(f"wrote {path}")
        return
    m = maps.make(
        kind,
        tiles=tiles,
        lon=lon,
        lat=lat,
        crs=crs_name,
        industry=industry,
        mode=mode,
        distance_km=distance_km,
        by=by,
        top=top,
        layers=layers,
    )
    path = maps.save_map(m, output, offline=offline)
    click.echo(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB{', offline' if offline else ''})")
