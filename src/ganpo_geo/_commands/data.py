"""``ganpo layers``, ``ganpo summary`` and ``ganpo export``: what the bundled data and the layers in use hold."""

from __future__ import annotations

from typing import Any

import click

from ganpo_geo._commands._common import _REFERENCE_NOTICE, _echo_json, _echo_layers_in_use, _load_layers, layers_option
from ganpo_geo.basins import catchments, poyang_share_of_jiangxi
from ganpo_geo.crs import area_km2
from ganpo_geo.layers import bundled_layers, export_layers, list_layers, load_layer

__all__ = ["export_cmd", "layers_cmd", "summary_cmd"]


@click.command("layers")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@layers_option
def layers_cmd(fmt: str, layers_file: str | None) -> None:
    """List the bundled layers: features, CRS, source and real/reference status.

    With --layers FILE (or GANPO_LAYERS): the zoning layers in use, each official (your file) or
    reference (bundled), with path, CRS, feature count and validation status.
    """
    layers = _load_layers(layers_file)
    if layers is not None:
        entries = layers.describe()
        if fmt == "json":
            _echo_json(entries)
            return
        header = f"{'layer':<24}{'status':<10}{'features':>9}  {'crs':<11}{'validation':<12}path"
        click.echo(header)
        click.echo("-" * len(header))
        for e in entries:
            click.echo(
                f"{e['layer']:<24}{e['status']:<10}{e['features']:>9}  {e['crs'] or '-':<11}"
                f"{e['validation']:<12}{e['path']}"
            )
        if any(e["status"] == "reference" for e in entries):
            click.echo("\n" + _REFERENCE_NOTICE)
        return
    infos = list_layers()
    if fmt == "json":
        _echo_json([info.to_dict() for info in infos])
        return
    header = f"{'layer':<14}{'features':>9}  {'crs':<10}{'status':<12}source (licence)"
    click.echo(header)
    click.echo("-" * len(header))
    for info in infos:
        status = "reference" if info.synthetic else ("approx." if info.approximate else "real")
        click.echo(f"{info.name:<14}{info.features:>9}  {info.crs:<10}{status:<12}{info.source} ({info.licence})")
    if any(info.synthetic for info in infos):
        click.echo("\n" + _REFERENCE_NOTICE)
    if any(info.approximate for info in infos):
        click.echo("\n'approx.': derived from real data by an approximation (see its derivation).")
    click.echo("`ganpo layers --format json` shows each layer's full derivation.")


def _summary() -> dict[str, Any]:
    province = load_layer("province")
    cities = load_layer("cities")
    counties = load_layer("counties")
    lakes = load_layer("lakes")
    river_lines = load_layer("river_lines")
    county_counts = counties.groupby("parent_adcode").size()
    named = lakes[lakes["name_en"] != ""]
    return {
        "province": {
            "name_zh": province["name_zh"].iloc[0],
            "name_en": province["name_en"].iloc[0],
            "area_km2": round(float(province["area_km2"].iloc[0]), 1),
        },
        "cities": [
            {
                "adcode": row.adcode,
                "name_zh": row.name_zh,
                "name_en": row.name_en,
                "counties": int(county_counts.get(row.adcode, 0)),
                "area_km2": round(float(row.area_km2), 1),
            }
            for row in cities.itertuples()
        ],
        "counties": len(counties),
        "river_lines": {
            "count": len(river_lines),
            "length_km": round(float(river_lines["length_km"].sum()), 1),
        },
        "named_water_bodies": [
            {"name_zh": r.name_zh, "name_en": r.name_en, "area_km2": round(float(r.area_km2), 1)}
            for r in named.itertuples()
        ],
        "reference_layers": [info.name for info in list_layers() if info.synthetic],
        "basins": _basin_summary(),
    }


def _basin_summary() -> dict[str, Any]:
    """Area of Jiangxi by basin (the catchments) and the Poyang share next to the published one."""
    cat = catchments()
    area = area_km2(cat.geometry)
    totals: dict[str, float] = {}
    for basin, value in zip(cat["basin"].astype(str), area, strict=True):
        totals[basin] = totals.get(basin, 0.0) + float(value)
    return {
        "area_km2": {k: round(v, 0) for k, v in sorted(totals.items(), key=lambda kv: -kv[1])},
        "poyang_share_of_jiangxi_pct": round(poyang_share_of_jiangxi(), 1),
        # 156,743 of 166,946 km2 (data/rivers/facts.csv); 96.6% is the share of the basin in Jiangxi
        "published_poyang_share_of_jiangxi_pct": 93.9,
        "published_share_of_the_basin_in_jiangxi_pct": 96.6,
    }


@click.command("summary")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@layers_option
def summary_cmd(fmt: str, layers_file: str | None) -> None:
    """Report what the bundled data holds: province, cities, counties, rivers, lakes."""
    layers = _load_layers(layers_file)
    data = _summary()
    if layers is not None:
        data["layers_in_use"] = layers.describe()
        data["reference_layers"] = [e["layer"] for e in data["layers_in_use"] if e["status"] == "reference"]
    if fmt == "json":
        _echo_json(data)
        return
    _echo_layers_in_use(layers)
    prov = data["province"]
    click.echo(f"{prov['name_zh']} {prov['name_en']}: {prov['area_km2']:,.0f} km2 (Albers equal-area)")
    click.echo(f"{len(data['cities'])} prefecture cities, {data['counties']} county-level divisions")
    for city in data["cities"]:
        click.echo(
            f"  {city['adcode']} {city['name_zh']:<5} {city['name_en']:<11}"
            f"{city['counties']:>3} counties {city['area_km2']:>10,.0f} km2"
        )
    rivers = data["river_lines"]
    click.echo(f"River lines (GSHHG/WDBII, raw): {rivers['count']} lines, {rivers['length_km']:,.0f} km")
    for water in data["named_water_bodies"]:
        click.echo(f"  {water['name_zh']} {water['name_en']}: {water['area_km2']:,.0f} km2")
    basins = data["basins"]
    click.echo(
        f"Basins (approximate catchments): Poyang Lake water system {basins['poyang_share_of_jiangxi_pct']}% of "
        f"Jiangxi (published: {basins['published_poyang_share_of_jiangxi_pct']}%, i.e. 156,743 of 166,946 km2; "
        f"the often quoted {basins['published_share_of_the_basin_in_jiangxi_pct']}% is the share of the basin "
        "that lies in Jiangxi)"
    )
    click.echo("  " + ", ".join(f"{k} {v:,.0f} km2" for k, v in basins["area_km2"].items()))
    if data["reference_layers"]:
        click.echo(_REFERENCE_NOTICE)
    else:
        click.echo("All bundled layers so far are real data (no synthesized reference layers).")


@click.command("export")
@click.option("--to", "folder", required=True, type=click.Path(file_okay=False), help="Folder to write into.")
@click.option("--crs", "crs_name", default=None, help="CRS to write (default: the units' declared CRS, else WGS84).")
@layers_option
def export_cmd(folder: str, crs_name: str | None, layers_file: str | None) -> None:
    """Write the layers in use in official field names: GBK shapefiles with .cpg, a GeoPackage, a layers.toml."""
    layers = _load_layers(layers_file) or bundled_layers()
    for path in export_layers(layers, folder, crs=crs_name):
        click.echo(f"wrote {path}")
