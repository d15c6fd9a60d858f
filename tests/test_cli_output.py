"""Output that reads right: integer ids, the by-basin table, navigation totals, calibration warnings."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from click.testing import CliRunner

from ganpo_geo.cli import main
from ganpo_geo.rivers import navigate, river_network

NANCHANG = (115.9, 28.7)  # on the Gan below Nanchang, ~50 km from Hukou


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_trace_by_reach_prints_integer_reach_ids(runner) -> None:
    text = runner.invoke(main, ["tp", "trace", "--by", "reach", "--top", "5"])
    assert text.exit_code == 0, text.output
    rows = [line.split() for line in text.output.splitlines()[2:7]]
    assert all(re.fullmatch(r"\d+", row[1]) for row in rows), text.output
    table = runner.invoke(main, ["tp", "trace", "--by", "reach", "--top", "5", "--format", "csv"]).output
    assert all(re.fullmatch(r"\d+", r["reach_id"]) for r in csv.DictReader(io.StringIO(table)))
    data = json.loads(runner.invoke(main, ["tp", "trace", "--by", "source", "--top", "5", "--format", "json"]).output)
    assert all(isinstance(c["reach_id"], int) for c in data["contributors"] if c["reach_id"] is not None)


def test_trace_by_basin_names_each_basin_once(runner) -> None:
    text = runner.invoke(main, ["tp", "trace", "--by", "basin"])
    assert text.exit_code == 0, text.output
    gan = next(line for line in text.output.splitlines() if re.match(r"\s*\d+ gan ", line))
    assert "gan gan" not in gan and "赣江流域" in gan


def test_navigation_totals_count_the_distance_travelled(runner) -> None:
    G = river_network()
    path = navigate(G, NANCHANG, "DM")
    travelled = float(path["travelled_km"].sum())
    # a main-stem walk: the total is the distance from the start point to the far end of the path
    assert travelled == pytest.approx(float((path["distance_km"] + path["travelled_km"]).max()), abs=1e-6)
    assert travelled < float(path["length_km"].sum())  # the start reach counts only below the point
    limited = navigate(G, NANCHANG, "DM", distance_km=20.0)
    assert float(limited["travelled_km"].sum()) == pytest.approx(20.0, abs=1e-6)
    up = navigate(G, NANCHANG, "UT", distance_km=30.0)
    assert (up["travelled_km"] <= up["length_km"] + 1e-9).all() and (up["travelled_km"] <= 30.0 + 1e-9).all()

    args = ["river", "downstream", "--lon", str(NANCHANG[0]), "--lat", str(NANCHANG[1])]
    data = json.loads(runner.invoke(main, [*args, "--format", "json"]).output)
    assert data["total_length_km"] == pytest.approx(travelled, abs=1e-3)
    assert data["whole_reaches_length_km"] > data["total_length_km"]
    text = runner.invoke(main, args).output
    assert f"{travelled:,.1f} km travelled" in text
    # the site check's "to Hukou" is the same distance
    site_args = ["site-check", "--lon", "115.9", "--lat", "28.7", "--industry", "化工"]
    site = json.loads(runner.invoke(main, site_args).output)
    to_hukou = site["river"]["dist_to_hukou_km"]
    assert to_hukou == pytest.approx(travelled, abs=0.2)


def test_calibrate_warns_on_few_degrees_of_freedom_and_explains_adjusted(runner) -> None:
    text = runner.invoke(main, ["tp", "calibrate"])
    assert text.exit_code == 0, text.output
    assert "degree(s) of freedom (fewer than 3)" in text.stderr
    assert text.stderr.startswith("Warning: ") and text.stderr.count("\n") == 1
    assert "adjusted: the monitoring-adjusted load" in text.stdout
    data = json.loads(runner.invoke(main, ["tp", "calibrate", "--format", "json"]).stdout)
    assert data["degrees_of_freedom"] == len(data["stations"]) - len(data["coefficients"])
    assert data["degrees_of_freedom"] < 3 and data["warnings"]
    assert "monitoring-adjusted" in data["adjusted_kg_yr_means"]


def test_calibration_cautions_follow_the_degrees_of_freedom() -> None:
    # fixing the decay rate leaves 4 parameters for the 6 stations: 2 degrees of freedom, still a
    # warning; it goes away at 3 (fewer parameters, checked on the helper)
    from ganpo_geo._commands.tp import _calibration_cautions
    from ganpo_geo.loads import calibrate

    result = calibrate(river_network(), fit_decay=False)
    dof, cautions = _calibration_cautions(result)
    assert dof == len(result.stations) - len(result.coefficients) == 2 and cautions
    result.coefficients = result.coefficients.head(len(result.stations) - 3)
    assert _calibration_cautions(result) == (3, [])
