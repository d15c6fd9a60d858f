"""The ``ganpo`` command line (click).

Every data error (bad coordinates, unknown CRS, missing file or column) ends the command with
one line on stderr, ``Error: <what is wrong and how to fix it>``, and exit code 1; usage errors
(bad option values, checked by click types) exit with 2, as click does. An unexpected error
is one line too, asking for a report; ``ganpo --debug ...`` shows its traceback. Warnings are
one line each on stderr (``Warning: ...``).
"""

from __future__ import annotations

import json
import math
import os
import sys
import warnings
from pathlib import Path
from typing import Any

import click

from ganpo_geo import __version__
from ganpo_geo._errors import GanpoError

__all__ = ["main"]

_REFERENCE_NOTICE = (
    "Layers marked 'reference' are synthesized for demonstration, not official data; load your official layers instead."
)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings meant for users (UserWarning: ganpo_geo's own) as one line; library noise only with --debug."""
    ctx = click.get_current_context(silent=True)
    if not issubclass(category, UserWarning) and not (ctx is not None and _debug(ctx)):
        return
    click.echo(f"Warning: {_first_line(message) if isinstance(message, Warning) else message}", err=True)


class _GanpoGroup(click.Group):
    """Turns every error into one clean line: ganpo_geo's own (exit 1) and unexpected ones."""

    def invoke(self, ctx: click.Context) -> Any:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            try:
                return super().invoke(ctx)
            except GanpoError as exc:
                raise click.ClickException(str(exc)) from None
            except (click.exceptions.ClickException, click.exceptions.Exit, click.Abort, SystemExit):
                raise
            except OSError as exc:  # permission denied, disk full, ... while reading or writing
                if _debug(ctx):
                    raise
                where = f": {exc.filename}" if getattr(exc, "filename", None) else ""
                raise click.ClickException(f"{exc.strerror or _first_line(exc)}{where}") from None
            except Exception as exc:
                if _debug(ctx):
                    raise
                msg = (
                    f"unexpected error ({type(exc).__name__}: {_first_line(exc)[:300]}); please report it to the "
                    "ganpo_geo developers with the command and the output of `ganpo --debug <the same command>`"
                )
                raise click.ClickException(msg) from None


def _debug(ctx: click.Context) -> bool:
    return bool(ctx.meta.get("ganpo_debug")) or os.environ.get("GANPO_DEBUG", "") not in ("", "0")


class _Number(click.ParamType):
    """A finite float, optionally with a lower bound (click rejects anything else with exit 2)."""

    def __init__(self, minimum: float | None = None, *, inclusive: bool = False) -> None:
        self.minimum = minimum
        self.inclusive = inclusive
        bound = "" if minimum is None else (f" >= {minimum:g}" if inclusive else f" > {minimum:g}")
        self.name = f"finite number{bound}"

    def convert(self, value: Any, param: Any, ctx: Any) -> float:
        if isinstance(value, float) and math.isfinite(value):
            number = value
        else:
            try:
                number = float(value)
            except (TypeError, ValueError):
                self.fail(f"{value!r} is not a number", param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        if self.minimum is not None and (number < self.minimum or (number == self.minimum and not self.inclusive)):
            self.fail(f"{value!r} must be {self.name.split(' ', 2)[-1].strip()}", param, ctx)
        return number


FINITE = _Number()
POSITIVE = _Number(0.0)
NON_NEGATIVE = _Number(0.0, inclusive=True)
COUNT = click.IntRange(min=1)


def _echo_json(obj: Any) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False, indent=2))


def layers_option(func: Any) -> Any:
    """The ``--layers FILE`` option (default: the ``GANPO_LAYERS`` environment variable)."""
    return click.option(
        "--layers",
        "layers_file",
        type=click.Path(dir_okay=False),
        envvar="GANPO_LAYERS",
        default=None,
        help="Layers TOML file naming your official layers (default: $GANPO_LAYERS; else the bundled reference).",
    )(func)


def _load_layers(path: str | None):
    """The Layers of a layers file, or None (bundled reference layers)."""
    if not path:
        return None
    from ganpo_geo.layers import Layers

    return Layers.from_file(path)


def _echo_layers_in_use(layers, *, err: bool = False, validation: bool = False) -> None:
    """One line per zoning layer: official (with its file) or reference (and its validation status)."""
    if layers is None:
        return
    for entry in layers.describe():
        check = f"; {entry['validation']}" if validation else ""
        click.echo(f"layer {entry['layer']}: {entry['status']} ({entry['path']}){check}", err=err)


@click.group(cls=_GanpoGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ganpo")
@click.option("--debug", is_flag=True, help="Show the traceback of an unexpected error (also: GANPO_DEBUG=1).")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """Environmental zoning and watershed analysis for Jiangxi (Gan River, Poyang Lake)."""
    ctx.meta["ganpo_debug"] = debug


@main.command("layers")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@layers_option
def layers_cmd(fmt: str, layers_file: str | None) -> None:
    """List the bundled layers: features, CRS, source and real/reference status.

    With --layers FILE (or GANPO_LAYERS): the zoning layers in use, each official (your file) or
    reference (bundled), with path, CRS, feature count and validation status.
    """
    from ganpo_geo.layers import list_layers

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
    from ganpo_geo.layers import list_layers, load_layer

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
    from ganpo_geo.crs import area_km2
    from ganpo_geo.rivers import catchments, poyang_share_of_jiangxi

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


@main.command("summary")
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


_CRS_CHOICES = ["wgs84", "cgcs2000", "gcj02", "bd09"]


@main.command("convert")
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
    from ganpo_geo import crs

    to_wgs = {
        "wgs84": lambda x, y: (x, y),
        "cgcs2000": lambda x, y: (x, y),
        "gcj02": crs.gcj02_to_wgs84,
        "bd09": crs.bd09_to_wgs84,
    }
    from_wgs = {
        "wgs84": lambda x, y: (x, y),
        "cgcs2000": lambda x, y: (x, y),
        "gcj02": crs.wgs84_to_gcj02,
        "bd09": crs.wgs84_to_bd09,
    }
    crs.wgs84_to_gcj02(lon, lat)  # validates the range, with a clear error
    w_lon, w_lat = to_wgs[src.lower()](lon, lat)
    out_lon, out_lat = from_wgs[dst.lower()](w_lon, w_lat)
    click.echo(f"{float(out_lon):.7f} {float(out_lat):.7f}")


def _parse_columns(pairs: tuple[str, ...]) -> dict[str, str]:
    from ganpo_geo._errors import ValidationError

    mapping = {}
    for pair in pairs:
        if "=" not in pair:
            msg = f"--column takes FILE_COLUMN=STANDARD_NAME (e.g. DYBM=unit_code), got {pair!r}"
            raise ValidationError(msg)
        src, dst = pair.split("=", 1)
        mapping[src.strip()] = dst.strip()
    return mapping


@main.command("validate")
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
def validate_cmd(path, layer, columns, crs_name, fmt, layers_file) -> None:
    """Check a zoning (control-unit) file; exit 0 only if nothing is wrong.

    Reports missing fields, duplicate or malformed unit codes, unknown categories, invalid
    geometries (with the fix make_valid would make), units outside Jiangxi, gaps and
    overlaps between units (area and location), and the count per category. Without PATH, the
    control units of --layers FILE (GANPO_LAYERS) are checked, and its access list is compared
    with them (codes in the list with no unit, units with no requirement text, and the reverse).
    """
    from ganpo_geo._errors import ValidationError
    from ganpo_geo.zoning import validate_control_units

    layers = _load_layers(layers_file) if path is None else None
    access = None
    if path is None:
        source = (layers.sources.get("control_units") if layers is not None else None) or {}
        if not source:
            msg = "give a control-unit file (PATH) or --layers FILE (GANPO_LAYERS) with a [control_units] section"
            raise ValidationError(msg)
        path = source["path"]
        crs_name = crs_name or source.get("crs") or None
        if layers.access_list is not None:
            from ganpo_geo.requirements import compare_access_list

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


@main.command("site-check")
@click.option("--lon", type=FINITE, default=None, help="Longitude of one site.")
@click.option("--lat", type=FINITE, default=None, help="Latitude of one site.")
@click.option("--wkt", default=None, help="One site as WKT: POINT, LINESTRING (pipeline), POLYGON (footprint).")
@click.option(
    "--geojson",
    "geojson_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="One site as a GeoJSON file (a geometry or a single feature).",
)
@click.option(
    "--input",
    "input_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Many sites: CSV or XLSX (lon/lat or wkt columns), GeoJSON, GeoPackage, GeoParquet, Shapefile.",
)
@click.option("--sheet", default=None, help="Sheet of an .xlsx --input (name or 0-based number; default: the first).")
@click.option(
    "--output",
    "output_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Batch output: .csv, .xlsx, .geojson, .gpkg or .parquet (default: CSV on stdout); written atomically.",
)
@click.option(
    "--bom/--no-bom",
    default=False,
    show_default=True,
    help="CSV output: start with a UTF-8 byte-order mark so that Excel shows Chinese correctly.",
)
@click.option("--crs", "crs_name", default=None, help="wgs84 (default), cgcs2000, gcj02, bd09 or EPSG:xxxx.")
@click.option("--industry", default=None, help="Industry for every site (Chinese or English name).")
@click.option(
    "--industry-col",
    default="industry",
    show_default=True,
    help="Per-row industry column of --input (by default also 行业, 行业类别, 项目类型).",
)
@click.option("--buffer-m", type=POSITIVE, default=1000.0, show_default=True, help="Screening buffer in metres.")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "geojson"]),
    default=None,
    help="One site's report format (default: text on a terminal, json otherwise).",
)
@click.option(
    "--html", "html_path", type=click.Path(dir_okay=False), default=None, help="Write a one-page HTML report."
)
@click.option("--engine", type=click.Choice(["default", "dask"]), default="default", show_default=True)
@click.option("--workers", type=COUNT, default=None, help="Workers for --engine dask.")
@click.option(
    "--scheduler",
    default=None,
    help="--engine dask: threads (default), processes (a local cluster of --workers processes) "
    "or tcp://HOST:PORT (a running dask.distributed scheduler).",
)
@click.option("--lon-col", default=None, help="CSV longitude column if not recognised.")
@click.option("--lat-col", default=None, help="CSV latitude column if not recognised.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@layers_option
def site_check_cmd(
    lon,
    lat,
    wkt,
    geojson_path,
    input_path,
    sheet,
    output_path,
    bom,
    crs_name,
    industry,
    industry_col,
    buffer_m,
    lang,
    fmt,
    html_path,
    engine,
    workers,
    scheduler,
    lon_col,
    lat_col,
    quiet,
    layers_file,
) -> None:
    """May a project go here? Unit, rules, red line, river, phosphorus and a verdict.

    One site: --lon/--lat, --wkt or --geojson (report on stdout; exit 1 with one line on
    stderr if the site cannot be checked). Many sites: --input FILE [--output FILE]: one output
    row per input row, the input's columns kept, an error column for rows that could not be
    checked. Outputs are written to a temporary file and renamed into place, so an interrupted
    run never leaves a partial file or destroys the previous one.
    """
    from ganpo_geo._errors import ValidationError
    from ganpo_geo.io import check_output_path

    singles = sum([lon is not None or lat is not None, wkt is not None, geojson_path is not None])
    if singles + (input_path is not None) != 1:
        msg = "give exactly one of --lon/--lat, --wkt, --geojson or --input"
        raise ValidationError(msg)
    # outputs are checked before any work: known format, writable folder, not an input file
    if output_path is not None:
        if input_path is None:
            msg = "--output is for batches (--input); one site's report goes to stdout (and --html)"
            raise ValidationError(msg)
        check_output_path(output_path, inputs=[input_path])
    if html_path is not None:
        if input_path is not None:
            msg = "--html writes one site's report; it cannot be used with --input"
            raise ValidationError(msg)
        check_output_path(html_path, inputs=[geojson_path], suffixes=[".html", ".htm"], option="--html")
    layers = _load_layers(layers_file)
    if input_path is not None:
        _site_batch(
            input_path,
            sheet,
            output_path,
            bom,
            crs_name,
            industry,
            industry_col,
            buffer_m,
            engine,
            workers,
            lon_col,
            lat_col,
            quiet,
            layers,
            scheduler,
        )
        return
    if industry is None:
        msg = "--industry is required for one site (e.g. --industry 化工 or --industry garment)"
        raise ValidationError(msg)
    from ganpo_geo.siting import check_site, site_html

    if lon is not None or lat is not None:
        if lon is None or lat is None:
            msg = "give both --lon and --lat"
            raise ValidationError(msg)
        geometry = (lon, lat)
    elif wkt is not None:
        geometry = wkt
    else:
        geometry = _read_geojson_site(geojson_path)
    report = check_site(geometry, industry=industry, crs=crs_name or "wgs84", buffer_m=buffer_m, layers=layers)
    fmt = fmt or ("text" if sys.stdout.isatty() else "json")
    if fmt == "text":
        click.echo(report.to_text(lang))
    elif fmt == "json":
        click.echo(report.to_json(indent=2))
    else:
        click.echo(report.to_geojson())
    if html_path:
        from ganpo_geo.io import write_text

        write_text(html_path, site_html(report))


def _read_geojson_site(path: str):
    import shapely

    from ganpo_geo._errors import ValidationError

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        msg = f"GeoJSON file not found: {path}"
        raise ValidationError(msg) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        msg = f"{path} is not valid JSON (UTF-8): {_first_line(exc)}"
        raise ValidationError(msg) from None
    if not isinstance(data, dict):
        msg = f"{path} holds a JSON {type(data).__name__}, not a GeoJSON geometry or feature"
        raise ValidationError(msg)
    if data.get("type") == "FeatureCollection":
        features = data.get("features", [])
        if len(features) != 1:
            msg = f"{path} holds {len(features)} features: use --input for many sites"
            raise ValidationError(msg)
        data = features[0]
    if isinstance(data, dict) and data.get("type") == "Feature":
        data = data.get("geometry")
    try:
        geom = shapely.geometry.shape(data)
    except Exception as exc:
        msg = f"{path} holds no valid GeoJSON geometry: {_first_line(exc) or type(exc).__name__}"
        raise ValidationError(msg) from None
    if geom.is_empty:
        msg = f"{path} holds an empty geometry"
        raise ValidationError(msg)
    return geom


def _site_batch(
    input_path,
    sheet,
    output_path,
    bom,
    crs_name,
    industry,
    industry_col,
    buffer_m,
    engine,
    workers,
    lon_col,
    lat_col,
    quiet,
    layers=None,
    scheduler=None,
) -> None:
    from ganpo_geo.io import write_table
    from ganpo_geo.siting import check_sites, read_sites

    if output_path is not None and engine == "default" and Path(output_path).suffix.lower() != ".xlsx":
        from ganpo_geo.batch import check_file  # file to file: streamed in chunks when it can be

        done = check_file(
            input_path,
            output_path,
            industry=industry,
            industry_col=industry_col,
            crs=crs_name,
            buffer_m=buffer_m,
            lon_col=lon_col,
            lat_col=lat_col,
            sheet=sheet,
            layers=layers,
            bom=bom,
            progress=False if quiet else None,
        )
        click.echo(done.text() + f"; written to {output_path}", err=True)
        if not quiet:
            for line in done.error_lines():
                click.echo(line, err=True)
        click.echo(done.data_notice, err=True)
        return
    sites = read_sites(input_path, crs=crs_name, lon_col=lon_col, lat_col=lat_col, sheet=sheet)
    result = check_sites(
        sites,
        industry=industry,
        industry_col=industry_col,
        crs="wgs84",
        buffer_m=buffer_m,
        engine=engine,
        workers=workers,
        scheduler=scheduler,
        progress=False if quiet else None,
        layers=layers,
    )
    col = result.attrs.get("ganpo_columns", {})
    error, verdict = result[col.get("error", "error")], result[col.get("verdict", "verdict")]
    counts = verdict[error == ""].value_counts().to_dict()
    bad = int((error != "").sum())
    summary = f"{len(result)} sites: " + ", ".join(f"{v} {k}" for k, v in counts.items()) + f", {bad} with errors"
    if output_path is None:
        text = result.drop(columns=result.geometry.name).to_csv(index=False)
        click.echo(("\ufeff" if bom else "") + text, nl=False)
    elif Path(output_path).suffix.lower() == ".xlsx":
        _write_xlsx(result, output_path, layers)
        summary += f"; written to {output_path} (sheets site_check and cited_rules)"
    else:
        write_table(result, output_path, bom=bom)
        summary += f"; written to {output_path}"
    click.echo(summary, err=True)
    click.echo(result[col.get("data_notice", "data_notice")].iloc[0] if len(result) else "", err=True)


def _write_xlsx(result, output_path: str, layers) -> None:
    """Batch result as .xlsx: sheet ``site_check`` (every row) and ``cited_rules`` (the rule texts cited)."""
    import pandas as pd

    from ganpo_geo._errors import ValidationError
    from ganpo_geo.io import XLSX_MAX_ROWS, atomic_path
    from ganpo_geo.siting import cited_rules

    if len(result) > XLSX_MAX_ROWS:
        msg = f"{len(result):,} rows do not fit in an Excel sheet ({XLSX_MAX_ROWS:,} at most): use .csv"
        raise ValidationError(msg)
    plain = pd.DataFrame(result.drop(columns=result.geometry.name))
    rules = cited_rules(result, layers)
    with atomic_path(output_path) as tmp, pd.ExcelWriter(tmp, engine="openpyxl") as writer:
        plain.to_excel(writer, sheet_name="site_check", index=False)
        rules.to_excel(writer, sheet_name="cited_rules", index=False)


@main.command("export")
@click.option("--to", "folder", required=True, type=click.Path(file_okay=False), help="Folder to write into.")
@click.option("--crs", "crs_name", default=None, help="CRS to write (default: the units' declared CRS, else WGS84).")
@layers_option
def export_cmd(folder: str, crs_name: str | None, layers_file: str | None) -> None:
    """Write the layers in use in official field names: GBK shapefiles with .cpg, a GeoPackage, a layers.toml."""
    from ganpo_geo.layers import bundled_layers, export_layers

    layers = _load_layers(layers_file) or bundled_layers()
    for path in export_layers(layers, folder, crs=crs_name):
        click.echo(f"wrote {path}")


@main.command("map")
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
    kind, output, offline, tiles, lon, lat, crs_name, industry, mode, distance_km, by, top, layers_file
) -> None:
    """Write an HTML map: zoning, rivers, tp, trace, site (or all of them into a folder)."""
    from ganpo_geo import maps
    from ganpo_geo.io import check_output_path

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


@main.group("river")
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
    "dist_to_outlet_km",
]


def _site_point(lon: float, lat: float, crs_name: str):
    import shapely

    from ganpo_geo.crs import parse_crs, to_wgs84, wgs84_to_gcj02

    if parse_crs(crs_name).kind != "proj":
        wgs84_to_gcj02(lon, lat)  # degrees: range check with a clear error
    point = to_wgs84(shapely.Point(lon, lat), crs=crs_name)
    wgs84_to_gcj02(point.x, point.y)  # projected input (e.g. EPSG:4548 metres): check where it lands
    return point


def _navigate_cmd(lon, lat, crs_name, mode, distance_km, max_snap_m, fmt) -> None:
    import geopandas as gpd

    from ganpo_geo._errors import ValidationError
    from ganpo_geo.rivers import navigate, river_network, snap

    point = _site_point(lon, lat, crs_name)
    G = river_network()
    hit = snap(gpd.GeoSeries([point], crs="EPSG:4326"), G, max_distance_m=max_snap_m).iloc[0]
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
    summary = {
        "start": {
            "lon": point.x,
            "lat": point.y,
            "reach_id": int(hit["reach_id"]),
            "snap_distance_m": round(float(hit["distance_m"]), 1),
        },
        "mode": mode,
        "distance_km": distance_km,
        "reaches": len(table),
        "total_length_km": round(float(table["length_km"].sum()), 3),
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
    click.echo(f"{'reach':>6} {'river':<28} {'basin':<8} {'order':>5} {'len km':>8} {'from start km':>14}")
    for row in table.itertuples():
        name = f"{row.river_zh} {row.river_en}".strip() or "-"
        click.echo(
            f"{row.reach_id:>6} {name:<28} {row.basin:<8} {row.strahler:>5} "
            f"{row.length_km:>8.1f} {row.distance_km:>14.1f}"
        )
    click.echo(f"{summary['reaches']} reaches, {summary['total_length_km']:,.1f} km")


def _nav_options(default_mode: str, modes: list[str]):
    def decorate(func):
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
def river_upstream(lon, lat, crs_name, mode, distance_km, max_snap_m, fmt, basin_geojson) -> None:
    """Reaches upstream of a point: UT with tributaries (default) or UM main stem."""
    _navigate_cmd(lon, lat, crs_name, mode.upper(), distance_km, max_snap_m, fmt)
    if basin_geojson:
        from pathlib import Path

        from ganpo_geo.rivers import river_network, upstream_basin

        basin = upstream_basin(river_network(), _site_point(lon, lat, crs_name), distance_km=distance_km)
        Path(basin_geojson).write_text(basin.to_json(ensure_ascii=False, drop_id=True), encoding="utf-8")


@river_group.command("downstream")
@_nav_options("DM", ["DM", "DD"])
def river_downstream(lon, lat, crs_name, mode, distance_km, max_snap_m, fmt) -> None:
    """Reaches downstream of a point to Hukou: DM main stem (default) or DD with diversions."""
    _navigate_cmd(lon, lat, crs_name, mode.upper(), distance_km, max_snap_m, fmt)


_TP_NOTICE = (
    "NOTICE: TP sources, export coefficients and station loads are ILLUSTRATIVE, synthesized "
    "for demonstration (not measured); units are reference data."
)


@main.group("tp")
@layers_option
@click.pass_context
def tp_group(ctx: click.Context, layers_file: str | None) -> None:
    """Poyang Lake total phosphorus: trace, scenarios, calibration (illustrative inputs).

    --layers (GANPO_LAYERS): ``tp trace --by unit`` groups by the control units in use; the zoning
    layers in use are named on stderr.
    """
    layers = _load_layers(layers_file)
    ctx.obj = {"layers": layers}
    _echo_layers_in_use(layers, err=True)


class _Target(click.ParamType):
    """poyang, hukou, a station id, a reach id, or LON,LAT (two finite numbers in range)."""

    name = "target"

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        if not isinstance(value, str):
            return value
        if "," in value:
            parts = value.split(",")
            try:
                lon, lat = (float(v) for v in parts)
            except ValueError:
                self.fail(f"LON,LAT takes two numbers (e.g. 116.0,28.5), got {value!r}", param, ctx)
            if not (math.isfinite(lon) and math.isfinite(lat) and abs(lon) <= 180 and abs(lat) <= 90):
                self.fail(f"LON,LAT must be finite, lon in [-180, 180] and lat in [-90, 90], got {value!r}", param, ctx)
            return (lon, lat)
        return int(value) if value.isdigit() else value


@tp_group.command("trace")
@click.option(
    "--to",
    "target",
    type=_Target(),
    default="poyang",
    show_default=True,
    help="poyang, hukou, a station id (waizhou, lijiadu, ...), a reach id, or LON,LAT.",
)
@click.option(
    "--by", type=click.Choice(["source", "reach", "county", "unit", "basin"]), default="county", show_default=True
)
@click.option(
    "--top", type=click.IntRange(min=0), default=10, show_default=True, help="How many contributors (0: all)."
)
@click.option("--k-per-km", type=NON_NEGATIVE, default=None, help="In-stream decay rate per km.")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json", "csv", "geojson"]), default="text", show_default=True
)
@click.pass_context
def tp_trace(ctx, target, by, top, k_per_km, fmt) -> None:
    """Which upstream places send the phosphorus: delivered load and share per contributor."""
    from ganpo_geo.loads import RoutingParams, trace_sources
    from ganpo_geo.rivers import river_network

    params = RoutingParams() if k_per_km is None else RoutingParams(k_per_km=k_per_km)
    layers = (ctx.obj or {}).get("layers")
    result = trace_sources(river_network(), target, by=by, top=top or None, params=params, layers=layers)
    total = result.attrs["target_load_kg_yr"]
    table = result.drop(columns="geometry")
    if fmt == "geojson":
        click.echo(result.to_json(ensure_ascii=False, drop_id=True))
        return
    if fmt == "csv":
        click.echo(table.to_csv(index=False), nl=False)
        return
    if fmt == "json":
        _echo_json(
            {
                "target": result.attrs["target"],
                "target_load_kg_yr": total,
                "by": by,
                "notice": _TP_NOTICE,
                "contributors": json.loads(table.to_json(orient="records")),
            }
        )
        return
    click.echo(f"TP delivered to {result.attrs['target']}: {total / 1000:,.0f} t/yr; top {len(table)} by {by}")
    label = {"county": "name_zh", "unit": "name_zh", "source": "name", "reach": "river_zh", "basin": "basin"}[by]
    key = {
        "county": "county_adcode",
        "unit": "unit_code",
        "source": "source_id",
        "reach": "reach_id",
        "basin": "basin",
    }[by]
    click.echo(f"{'':>3} {key:<16} {'name':<22} {'delivered t/yr':>14} {'share %':>8} {'delivered/source':>16}")
    for i, row in enumerate(table.itertuples(), start=1):
        name = str(getattr(row, label, "") or "")
        click.echo(
            f"{i:>3} {getattr(row, key)!s:<16} {name[:22]:<22} {row.delivered_kg_yr / 1000:>14,.1f} "
            f"{row.share_pct:>8.1f} {row.delivery_fraction:>16.2f}"
        )
    click.echo(_TP_NOTICE)


@tp_group.command("scenario")
@click.option(
    "--reduce",
    "reductions",
    multiple=True,
    metavar="KIND:BASIN:PCT",
    help="Cut a source kind in a basin, e.g. livestock:xin:30 (all matches any); repeatable.",
)
@click.option(
    "--add",
    "additions",
    multiple=True,
    metavar="LON,LAT,KG",
    help="A new point source of KG kg TP per year at LON,LAT (WGS84); repeatable.",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def tp_scenario(reductions, additions, fmt) -> None:
    """Change sources and see the effect at every station, at Poyang Lake and at Hukou."""
    from ganpo_geo._errors import ValidationError
    from ganpo_geo.loads import Change, scenario
    from ganpo_geo.rivers import river_network

    changes = [Change.parse_reduce(spec) for spec in reductions]
    for spec in additions:
        try:
            lon, lat, kg = (float(v) for v in spec.split(","))
        except ValueError:
            msg = f"--add takes LON,LAT,KG (e.g. 116.0,28.5,5000), got {spec!r}"
            raise ValidationError(msg) from None
        if not (math.isfinite(lon) and math.isfinite(lat) and abs(lon) <= 180 and abs(lat) <= 90):
            msg = f"--add {spec!r}: LON,LAT must be finite degrees (lon in [-180, 180], lat in [-90, 90])"
            raise ValidationError(msg)
        if not (math.isfinite(kg) and kg >= 0):
            msg = f"--add {spec!r}: KG must be a finite number >= 0"
            raise ValidationError(msg)
        changes.append(Change(add_point=(lon, lat), add_kg_yr=kg))
    if not changes:
        msg = "give at least one --reduce KIND:BASIN:PCT or --add LON,LAT,KG"
        raise ValidationError(msg)
    result = scenario(river_network(), changes=changes)
    if fmt == "json":
        _echo_json({k: json.loads(v.to_json(orient="records")) for k, v in result.items()} | {"notice": _TP_NOTICE})
        return
    click.echo(f"{'target':<40} {'before t/yr':>12} {'after t/yr':>12} {'change %':>9}")
    for row in result["targets"].itertuples():
        click.echo(
            f"{row.target:<40} {row.before_kg_yr / 1000:>12,.1f} {row.after_kg_yr / 1000:>12,.1f} "
            f"{row.change_pct:>9.2f}"
        )
    for label, key in (("before", "top_before"), ("after", "top_after")):
        top = result[key]
        names = ", ".join(f"{r.name_zh} {r.share_pct:.1f}%" for r in top.itertuples())
        click.echo(f"top counties to Poyang Lake {label}: {names}")
    click.echo(_TP_NOTICE)


@tp_group.command("calibrate")
@click.option(
    "--observations",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="CSV station_id,load_kg_yr[,weight] (default: the bundled synthetic loads).",
)
@click.option("--no-decay", is_flag=True, help="Keep the decay rate fixed.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def tp_calibrate(observations, no_decay, fmt) -> None:
    """Fit source coefficients and decay to station loads (weighted NLS on log residuals)."""
    from ganpo_geo._errors import ValidationError
    from ganpo_geo.loads import calibrate, station_observations
    from ganpo_geo.rivers import river_network

    if observations is not None:
        import pandas as pd

        try:
            rows = pd.read_csv(observations, nrows=1)
        except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
            msg = f"--observations {observations} is not a readable CSV ({_first_line(exc)})"
            raise ValidationError(msg) from None
        if rows.empty:
            msg = f"--observations {observations} has no rows: give one row per station (station_id,load_kg_yr)"
            raise ValidationError(msg)
    obs = station_observations(observations)
    result = calibrate(river_network(), observations=obs, fit_decay=not no_decay)
    if fmt == "json":
        _echo_json(
            {
                "coefficients": json.loads(result.coefficients.to_json(orient="records")),
                "r2_log": result.r2_log,
                "rmse_log": result.rmse_log,
                "stations": json.loads(result.stations.to_json(orient="records")),
                "notes": result.notes,
                "notice": _TP_NOTICE,
            }
        )
        return
    click.echo(f"{'parameter':<26} {'estimate':>12} {'std error':>12}")
    for row in result.coefficients.itertuples():
        click.echo(f"{row.parameter:<26} {row.estimate:>12.4g} {row.std_error:>12.3g}")
    click.echo(f"R2 (log loads) {result.r2_log:.3f}; RMSE of log residuals {result.rmse_log:.3f}")
    click.echo(f"{'station':<12} {'observed t/yr':>14} {'predicted':>10} {'log resid':>10} {'adjusted':>10}")
    for row in result.stations.itertuples():
        click.echo(
            f"{row.station_id:<12} {row.observed_kg_yr / 1000:>14,.1f} {row.predicted_kg_yr / 1000:>10,.1f} "
            f"{row.log_residual:>10.3f} {row.adjusted_kg_yr / 1000:>10,.1f}"
        )
    for note in result.notes:
        click.echo(note)
    click.echo(_TP_NOTICE)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
