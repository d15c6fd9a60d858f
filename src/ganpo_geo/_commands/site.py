"""``ganpo site-check``: one site or a batch of sites (unit, rules, red line, river, phosphorus, verdict)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
import pandas as pd
import shapely

from ganpo_geo._commands import _first_line
from ganpo_geo._commands._common import COUNT, FINITE, POSITIVE, _load_layers, layers_option
from ganpo_geo._errors import ValidationError
from ganpo_geo.batch import check_file
from ganpo_geo.dask_batch import check_to_dataset
from ganpo_geo.io import XLSX_MAX_ROWS, atomic_path, check_output_path, write_table
from ganpo_geo.layers import Layers
from ganpo_geo.siting import check_site, check_sites, cited_rules, read_sites

__all__ = ["site_check_cmd"]


@click.command("site-check")
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
    type=click.Path(),
    default=None,
    help="Batch output: .csv, .xlsx, .geojson, .gpkg or .parquet (default: CSV on stdout); written atomically. "
    "With --engine dask a folder (no suffix): partitioned GeoParquet, one part per input block, written by "
    "the workers.",
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
@click.option(
    "--lang",
    type=click.Choice(["zh", "en"]),
    default="zh",
    show_default=True,
    help="Language of the text output and of every label of --html/--pdf/--html-dir reports.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "geojson"]),
    default=None,
    help="One site's report format (default: text on a terminal, json otherwise).",
)
@click.option(
    "--html",
    "html_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="One site: write the printable report (map, screening questions, rules, provenance) as offline HTML.",
)
@click.option(
    "--pdf",
    "pdf_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="One site: print the report to an A4 PDF (needs playwright and Chromium).",
)
@click.option(
    "--html-dir",
    "html_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Batch (--input): one report page per row plus index.html, for at most 200 rows.",
)
@click.option("--engine", type=click.Choice(["default", "dask"]), default="default", show_default=True)
@click.option(
    "--workers",
    type=COUNT,
    default=None,
    help="Threads checking chunks at once (the results do not depend on it; default: one per core), "
    "or the workers of --engine dask.",
)
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
    lon: float | None,
    lat: float | None,
    wkt: str | None,
    geojson_path: str | None,
    input_path: str | None,
    sheet: str | None,
    output_path: str | None,
    bom: bool,
    crs_name: str | None,
    industry: str | None,
    industry_col: str,
    buffer_m: float,
    lang: str,
    fmt: str | None,
    html_path: str | None,
    pdf_path: str | None,
    html_dir: str | None,
    engine: str,
    workers: int | None,
    scheduler: str | None,
    lon_col: str | None,
    lat_col: str | None,
    quiet: bool,
    layers_file: str | None,
) -> None:
    """May a project go here? Unit, rules, red line, river, phosphorus and a verdict.

    One site: --lon/--lat, --wkt or --geojson (report on stdout; exit 1 with one line on
    stderr if the site cannot be checked). Many sites: --input FILE [--output FILE]: one output
    row per input row, the input's columns kept, an error column for rows that could not be
    checked. Outputs are written to a temporary file and renamed into place, so an interrupted
    run never leaves a partial file or destroys the previous one.
    """
    singles = sum([lon is not None or lat is not None, wkt is not None, geojson_path is not None])
    if singles + (input_path is not None) != 1:
        msg = "give exactly one of --lon/--lat, --wkt, --geojson or --input"
        raise ValidationError(msg)
    # outputs are checked before any work: known format, writable folder, not an input file
    dataset = output_path is not None and engine == "dask" and Path(output_path).suffix == ""
    if output_path is not None:
        if input_path is None:
            msg = "--output is for batches (--input); one site's report goes to stdout (and --html)"
            raise ValidationError(msg)
        if not dataset:  # a partitioned output folder is checked by check_to_dataset
            check_output_path(output_path, inputs=[input_path])
    if html_path is not None:
        if input_path is not None:
            msg = "--html writes one site's report; it cannot be used with --input"
            raise ValidationError(msg)
        check_output_path(html_path, inputs=[geojson_path], suffixes=[".html", ".htm"], option="--html")
    if pdf_path is not None:
        if input_path is not None:
            msg = "--pdf prints one site's report; for a batch use --html-dir"
            raise ValidationError(msg)
        check_output_path(pdf_path, inputs=[geojson_path], suffixes=[".pdf"], option="--pdf")
    if html_dir is not None and input_path is None:
        msg = "--html-dir is for batches (--input); one site's report goes to --html or --pdf"
        raise ValidationError(msg)
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
            scheduler=scheduler,
            html_dir=html_dir,
            lang=lang,
        )
        return
    if industry is None:
        msg = "--industry is required for one site (e.g. --industry 化工 or --industry garment)"
        raise ValidationError(msg)
    geometry: tuple[float, float] | str | shapely.Geometry
    if lon is not None or lat is not None:
        if lon is None or lat is None:
            msg = "give both --lon and --lat"
            raise ValidationError(msg)
        geometry = (lon, lat)
    elif wkt is not None:
        geometry = wkt
    else:
        assert geojson_path is not None  # one of --lon/--lat, --wkt, --geojson was checked above
        geometry = _read_geojson_site(geojson_path)
    report = check_site(geometry, industry=industry, crs=crs_name or "wgs84", buffer_m=buffer_m, layers=layers)
    fmt = fmt or ("text" if sys.stdout.isatty() else "json")
    if fmt == "text":
        click.echo(report.to_text(lang))
    elif fmt == "json":
        click.echo(report.to_json(indent=2))
    else:
        click.echo(report.to_geojson())
    if html_path or pdf_path:
        from ganpo_geo import report as site_report

        if html_path:
            site_report.write_html(report, html_path, lang=lang, layers=layers)
        if pdf_path:
            site_report.write_pdf(report, pdf_path, lang=lang, layers=layers)


def _read_geojson_site(path: str) -> shapely.Geometry:
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
    input_path: str,
    sheet: str | None,
    output_path: str | None,
    bom: bool,
    crs_name: str | None,
    industry: str | None,
    industry_col: str,
    buffer_m: float,
    engine: str,
    workers: int | None,
    lon_col: str | None,
    lat_col: str | None,
    quiet: bool,
    layers: Layers | None = None,
    scheduler: str | None = None,
    html_dir: str | None = None,
    lang: str = "zh",
) -> None:
    if output_path is not None and engine == "dask" and Path(output_path).suffix == "":
        if html_dir is not None:
            msg = "--html-dir is for at most 200 rows: use it without --engine dask"
            raise ValidationError(msg)
        written = check_to_dataset(
            input_path,
            output_path,
            industry=industry,
            industry_col=industry_col,
            crs=crs_name,
            buffer_m=buffer_m,
            lon_col=lon_col,
            lat_col=lat_col,
            scheduler=scheduler,
            workers=workers,
            layers=layers,
        )
        click.echo(written.text(), err=True)
        click.echo(written.data_notice, err=True)
        return
    if (
        output_path is not None
        and html_dir is None
        and engine == "default"
        and Path(output_path).suffix.lower() != ".xlsx"
    ):
        # file to file: streamed in chunks when it can be
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
            workers=workers,
        )
        click.echo(done.text() + f"; written to {output_path}", err=True)
        if not quiet:
            for line in done.error_lines():
                click.echo(line, err=True)
        click.echo(done.data_notice, err=True)
        return
    sites = read_sites(input_path, crs=crs_name, lon_col=lon_col, lat_col=lat_col, sheet=sheet)
    if html_dir is not None:
        from ganpo_geo.report import MAX_HTML_ROWS

        if len(sites) > MAX_HTML_ROWS:  # refused before any work
            msg = (
                f"--html-dir writes at most {MAX_HTML_ROWS} reports, {input_path} has {len(sites)} rows: "
                "filter the input (or use --output for a table of all rows)"
            )
            raise ValidationError(msg)
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
    if html_dir is not None:
        from ganpo_geo.report import batch_reports, write_html_dir

        reports, ids = batch_reports(sites, result, buffer_m=buffer_m, layers=layers)
        pages = write_html_dir(reports, html_dir, lang=lang, layers=layers, ids=ids)
        summary += f"; {len(pages) - 1} report(s) and index.html written to {html_dir}"
    click.echo(summary, err=True)
    click.echo(result[col.get("data_notice", "data_notice")].iloc[0] if len(result) else "", err=True)


def _write_xlsx(result: pd.DataFrame, output_path: str, layers: Layers | None) -> None:
    """Batch result as .xlsx: sheet ``site_check`` (every row) and ``cited_rules`` (the rule texts cited)."""

    if len(result) > XLSX_MAX_ROWS:
        msg = f"{len(result):,} rows do not fit in an Excel sheet ({XLSX_MAX_ROWS:,} at most): use .csv"
        raise ValidationError(msg)
    plain = pd.DataFrame(result.drop(columns=result.geometry.name))
    rules = cited_rules(result, layers)
    with atomic_path(output_path) as tmp, pd.ExcelWriter(tmp, engine="openpyxl") as writer:
        plain.to_excel(writer, sheet_name="site_check", index=False)
        rules.to_excel(writer, sheet_name="cited_rules", index=False)
