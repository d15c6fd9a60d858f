"""``ganpo validate``: check a zoning (control-unit) file and an access list."""

from __future__ import annotations

import click

from ganpo_geo._commands._common import _echo_json, _echo_layers_in_use, _load_layers, layers_option
from ganpo_geo._errors import ValidationError
from ganpo_geo.requirements import compare_access_list
from ganpo_geo.zoning import validate_control_units

__all__ = ["validate_cmd"]


def _parse_columns(pairs: tuple[str, ...]) -> dict[str, str]:
    mapping = {}
    for pair in pairs:
        if "=" not in pair:
            msg = f"--column takes FILE_COLUMN=STANDARD_NAME (e.g. DYBM=unit_code), got {pair!r}"
            raise ValidationError(msg)
        src, dst = pair.split("=", 1)
        mapping[src.strip()] = dst.strip()
    return mapping


@click.command("validate")
@click.argument("path", type=click.Path(dir_okay=False, path_type=str), required=False)
@click.option("--layer", default=None, help="Layer inside a GeoPackage.")
@click.option(
    "--column",
    "columns",
    multiple=True,
    metavar="FILE=STD",
    help="Map a file column to a standard name (unit_code, category, name_zh); repeatable.",
)
@click.option("--crs", "crs_name", default=None, help="CRS of the coordinates if the file does not say.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@layers_option
def validate_cmd(
    path: str | None,
    layer: str | None,
    columns: tuple[str, ...],
    crs_name: str | None,
    fmt: str,
    layers_file: str | None,
) -> None:
    """Check a zoning (control-unit) file; exit 0 only if nothing is wrong.

    Reports missing fields, duplicate or malformed unit codes, unknown categories, invalid
    geometries (with the fix make_valid would make), units outside Jiangxi, gaps and
    overlaps between units (area and location), and the count per category. Without PATH, the
    control units of --layers FILE (GANPO_LAYERS) are checked, and its access list is compared
    with them (codes in the list with no unit, units with no requirement text, and the reverse).
    """
    layers = _load_layers(layers_file) if path is None else None
    access = None
    if path is None:
        source = (layers.sources.get("control_units") if layers is not None else None) or {}
        if not source:
            msg = "give a control-unit file (PATH) or --layers FILE (GANPO_LAYERS) with a [control_units] section"
            raise ValidationError(msg)
        path = source["path"]
        crs_name = crs_name or source.get("crs") or None
        assert layers is not None  # a non-empty source comes only from layers
        if layers.access_list is not None:
            access = compare_access_list(layers.access_list, layers.units())
    report = validate_control_units(path, _parse_columns(columns), layer=layer, crs=crs_name)
    if access is not None and not access.ok:
        ok = False
    else:
        ok = report.ok
    if fmt == "json":
        out = report.to_dict()
        if access is not None:
            out["access_list"] = access.to_dict()
        if layers is not None:
            out["layers_in_use"] = layers.describe()
        _echo_json(out)
    else:
        click.echo(
            f"{report.source}: {report.units} units; per category: "
            + ", ".join(f"{k}: {v}" for k, v in report.counts.items())
            + f"; covers {report.coverage_share:.1%} of Jiangxi"
        )
        for warning in report.warnings:
            click.echo(f"  [warning] {warning}")
        if report.ok:
            click.echo("OK: no problems found")
        else:
            kinds: dict[str, int] = {}
            for problem in report.problems:
                kinds[problem.kind] = kinds.get(problem.kind, 0) + 1
                click.echo(f"  [{problem.kind}] {problem.message}")
            click.echo(f"{len(report.problems)} problem(s): " + ", ".join(f"{k} {v}" for k, v in kinds.items()))
        if access is not None:
            click.echo(f"access list: {access.matched} unit code(s) matched")
            for label, codes in (
                ("in the access list but not in the layer", access.only_in_list),
                ("in the layer but not in the access list", access.only_in_layer),
                ("in the access list without requirement text", access.without_text),
                ("listed more than once in the access list", access.duplicated),
            ):
                if codes:
                    click.echo(f"  [access_list] {len(codes)} unit code(s) {label}: {', '.join(codes[:20])}")
        _echo_layers_in_use(layers, validation=True)
    if not ok:
        raise SystemExit(1)
