"""``ganpo tp trace|scenario|calibrate``: Poyang Lake total phosphorus (illustrative inputs)."""

from __future__ import annotations

import json
import math
from typing import Any

import click
import numpy as np

from ganpo_geo._commands import _first_line
from ganpo_geo._commands._common import (
    NON_NEGATIVE,
    _echo_json,
    _echo_layers_in_use,
    _load_layers,
    integer_ids,
    layers_option,
)
from ganpo_geo._errors import ValidationError
from ganpo_geo.loads import (
    CalibrationResult,
    Change,
    RoutingParams,
    calibrate,
    scenario,
    station_observations,
    trace_sources,
)
from ganpo_geo.rivers import river_network
from ganpo_geo.siting import BASIN_LABELS

__all__ = ["tp_group"]

_TP_NOTICE = (
    "NOTICE: TP sources, export coefficients and station loads are ILLUSTRATIVE, synthesized "
    "for demonstration (not measured); units are reference data."
)


@click.group("tp")
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


class _Target(click.ParamType[Any]):
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
def tp_trace(ctx: click.Context, target: Any, by: str, top: int, k_per_km: float | None, fmt: str) -> None:
    """Which upstream places send the phosphorus: delivered load and share per contributor."""
    params = RoutingParams() if k_per_km is None else RoutingParams(k_per_km=k_per_km)
    layers = (ctx.obj or {}).get("layers")
    result = integer_ids(trace_sources(river_network(), target, by=by, top=top or None, params=params, layers=layers))
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
        # a basin's key is its name: show what the key means instead of repeating it
        name = BASIN_LABELS.get(row.basin, "") if by == "basin" else str(getattr(row, label, "") or "")
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
def tp_scenario(reductions: tuple[str, ...], additions: tuple[str, ...], fmt: str) -> None:
    """Change sources and see the effect at every station, at Poyang Lake and at Hukou."""
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
def tp_calibrate(observations: str | None, no_decay: bool, fmt: str) -> None:
    """Fit source coefficients and decay to station loads (weighted NLS on log residuals)."""
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
    dof, cautions = _calibration_cautions(result)
    if fmt == "json":  # the warnings are in the JSON
        _echo_json(
            {
                "coefficients": json.loads(result.coefficients.to_json(orient="records")),
                "r2_log": result.r2_log,
                "rmse_log": result.rmse_log,
                "degrees_of_freedom": dof,
                "stations": json.loads(result.stations.to_json(orient="records")),
                "adjusted_kg_yr_means": _ADJUSTED_MEANS,
                "warnings": cautions,
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
    same = int(np.isclose(result.stations["adjusted_kg_yr"], result.stations["predicted_kg_yr"], rtol=1e-6).sum())
    click.echo(
        f"adjusted: {_ADJUSTED_MEANS}; it equals predicted at {same} of {len(result.stations)} station(s) "
        "(it differs only below another monitored station)."
    )
    click.echo(f"{len(result.stations)} stations, {len(result.coefficients)} parameters: {dof} degree(s) of freedom.")
    for caution in cautions:
        click.echo(f"Warning: {caution}", err=True)
    for note in result.notes:
        click.echo(note)
    click.echo(_TP_NOTICE)


#: What the ``adjusted`` column of ``tp calibrate`` is (SPARROW's monitoring-adjusted load).
_ADJUSTED_MEANS = (
    "the monitoring-adjusted load (as in SPARROW): the station's load predicted with the observed "
    "loads put in at every other monitored station upstream of it"
)
#: Fewer degrees of freedom than this and the fit says little (the warning below).
MIN_DOF = 3


def _calibration_cautions(result: CalibrationResult) -> tuple[int, list[str]]:
    """Degrees of freedom of a calibration (stations - parameters) and the warnings it calls for."""
    n_obs, n_par = len(result.stations), len(result.coefficients)
    dof = n_obs - n_par
    cautions = []
    if dof < MIN_DOF:
        cautions.append(
            f"{n_obs} stations for {n_par} parameters leave {dof} degree(s) of freedom (fewer than {MIN_DOF}): "
            f"the fit nearly passes through every station, so R2 {result.r2_log:.3f} and the standard errors "
            "say little about the model; add stations, or fit fewer parameters (--no-decay)"
        )
    return dof, cautions
