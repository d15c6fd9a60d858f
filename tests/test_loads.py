"""Tests for ganpo_geo.loads: routing, attribution, scenarios, calibration, bad input."""

from __future__ import annotations

import json
import math

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from rasterio.transform import from_origin

from ganpo_geo import ColumnMappingError, ValidationError, rivers
from ganpo_geo.cli import main
from ganpo_geo.loads import (
    Change,
    RoutingParams,
    bundled_sources,
    calibrate,
    point_sources,
    raster_sources,
    route,
    scenario,
    target_load,
    trace_sources,
)
from ganpo_geo.rivers import river_network

# --------------------------------------------------------------------------- random networks


def random_network(seed: int, n_nodes: int, *, diversions: int = 0, lake: bool = False) -> nx.DiGraph:
    """A random drainage network: node i > 0 drains to a random lower node; node 0 is the outlet.

    ``diversions`` nodes get a second downstream channel (still to a lower node: acyclic).
    """
    rng = np.random.default_rng(seed)
    G = nx.DiGraph(outlet=0)
    for i in range(n_nodes):
        G.add_node(i, kind="junction", x=float(i), y=0.0)
    G.nodes[0]["kind"] = "outlet"
    reach = 0
    for i in range(1, n_nodes):
        j = int(rng.integers(0, i))
        reach += 1
        G.add_edge(i, j, reach_id=reach, length_km=float(rng.uniform(1, 80)),
                   geometry=shapely.LineString([(i, 0), (j, 1)]))  # fmt: skip
    for i in rng.choice(np.arange(2, n_nodes), size=min(diversions, max(n_nodes - 2, 0)), replace=False):
        j = int(rng.integers(0, i))
        if not G.has_edge(int(i), j):
            reach += 1
            G.add_edge(int(i), j, reach_id=reach, length_km=float(rng.uniform(1, 80)),
                       geometry=shapely.LineString([(int(i), 0), (j, 2)]))  # fmt: skip
    if lake and n_nodes > 3:
        G.nodes[int(rng.integers(1, n_nodes))]["kind"] = "lake"
    return G


def random_sources(seed: int, G: nx.DiGraph, n: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed + 1)
    reach_ids = [d["reach_id"] for *_, d in G.edges(data=True)]
    return pd.DataFrame(
        {
            "source_id": [f"s{i}" for i in range(n)],
            "reach_id": rng.choice(reach_ids, size=n),
            "tp_kg_yr": rng.uniform(0, 1000, size=n),
            "kind": rng.choice(["a", "b"], size=n),
            "county_adcode": rng.choice(["360102", "360121"], size=n),
            "unit_code": "x",
            "basin": "gan",
        }
    )


def reference_route(G: nx.DiGraph, sources: pd.DataFrame, params: RoutingParams) -> dict[int, float]:
    """Plain networkx walk, written independently: load at each reach's downstream end."""
    local: dict[int, float] = {}
    for rid, load in zip(sources["reach_id"], sources["tp_kg_yr"], strict=True):
        local[int(rid)] = local.get(int(rid), 0.0) + float(load)
    out: dict[int, float] = {}
    for node in nx.topological_sort(G):
        inflow = sum(out[G.edges[p, node]["reach_id"]] for p in G.predecessors(node))
        if G.nodes[node].get("kind") == "lake":
            inflow *= 1.0 / (1.0 + params.lake_k * params.lake_z)
        succ = list(G.successors(node))
        for s in succ:
            d = G.edges[node, s]
            length = d["length_km"]
            out[d["reach_id"]] = inflow / len(succ) * math.exp(-params.k_per_km * length) + local.get(
                d["reach_id"], 0.0
            ) * math.exp(-params.k_per_km * length / 2)
    return out


network_args = st.tuples(st.integers(0, 10_000), st.integers(2, 60), st.integers(0, 6), st.booleans())
param_args = st.tuples(st.floats(0, 0.05), st.floats(0, 0.5), st.floats(0, 10))


def _random_case(net: tuple, prm: tuple):
    """A random network, sources on it and routing parameters, from the hypothesis draws."""
    seed, n, div, lake = net
    G = random_network(seed, n, diversions=div, lake=lake)
    return G, random_sources(seed, G, 3 * n), RoutingParams(k_per_km=prm[0], lake_k=prm[1], lake_z=prm[2])


@settings(max_examples=60, deadline=None)
@given(network_args, param_args)
def test_routing_matches_networkx_reference(net, prm) -> None:
    G, sources, params = _random_case(net, prm)
    ours = route(G, sources, params).set_index("reach_id")["load_kg_yr"]
    ref = reference_route(G, sources, params)
    for rid, value in ref.items():
        assert ours[rid] == pytest.approx(value, rel=1e-9, abs=1e-9)


@settings(max_examples=40, deadline=None)
@given(network_args, param_args)
def test_mass_balance_at_every_reach(net, prm) -> None:
    G, sources, params = _random_case(net, prm)
    edges = list(G.edges(data=True))
    for k, (_, _, d) in enumerate(edges[:: max(1, len(edges) // 5)]):
        traced = trace_sources(G, d["reach_id"], by="source", sources=sources, params=params)
        load = target_load(G, d["reach_id"], sources, params)
        assert traced["delivered_kg_yr"].sum() == pytest.approx(load, rel=1e-9, abs=1e-9)
        if load > 0:
            assert traced["share_pct"].sum() == pytest.approx(100.0, rel=1e-9)
        if k == 0:
            for by in ("reach", "county"):
                grouped = trace_sources(G, d["reach_id"], by=by, sources=sources, params=params)
                assert grouped["delivered_kg_yr"].sum() == pytest.approx(load, rel=1e-9, abs=1e-9)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.integers(2, 60))
def test_no_decay_no_retention_delivers_everything(seed, n) -> None:
    G = random_network(seed, n, diversions=0, lake=True)
    sources = random_sources(seed, G, 2 * n)
    params = RoutingParams(k_per_km=0.0, lake_k=0.0)
    outlet_reaches = [d["reach_id"] for _, v, d in G.edges(data=True) if v == 0]
    for rid in outlet_reaches:
        traced = trace_sources(G, rid, by="source", sources=sources, params=params)
        assert (traced["delivery_fraction"] == 1.0).all()


def test_diversion_shares_equally() -> None:
    G = nx.DiGraph(outlet=0)
    for i, kind in enumerate(["outlet", "junction", "junction", "junction"]):
        G.add_node(i, kind=kind, x=float(i), y=0.0)
    line = shapely.LineString([(0, 0), (1, 1)])
    G.add_edge(3, 2, reach_id=1, length_km=1.0, geometry=line)
    G.add_edge(2, 1, reach_id=2, length_km=1.0, geometry=line)  # two channels leave node 2
    G.add_edge(2, 0, reach_id=3, length_km=1.0, geometry=line)
    G.add_edge(1, 0, reach_id=4, length_km=1.0, geometry=line)
    src = pd.DataFrame(
        {
            "source_id": ["a"],
            "reach_id": [1],
            "tp_kg_yr": [100.0],
            "kind": "a",
            "county_adcode": "x",
            "unit_code": "x",
            "basin": "gan",
        }
    )
    p = RoutingParams(k_per_km=0.0)
    loads = route(G, src, p).set_index("reach_id")["load_kg_yr"]
    assert loads[2] == pytest.approx(50.0) and loads[3] == pytest.approx(50.0) and loads[4] == pytest.approx(50.0)


# --------------------------------------------------------------------------- bundled model


@pytest.fixture(scope="module")
def G() -> nx.DiGraph:
    return river_network()


def test_bundled_sources_illustrative_and_complete() -> None:
    src = bundled_sources()
    assert "ILLUSTRATIVE" in src.attrs["notice"]
    table = pd.read_csv(__import__("ganpo_geo.layers", fromlist=["data_path"]).data_path("rivers/tp_sources.csv"))
    points = src[src["type"] == "point"]
    assert len(points) == len(table)  # every point source kept, even off-network ones
    off = points[points["reach_id"].isna()]
    assert (off["error"].str.contains("outside every catchment")).all() and len(off) > 0
    assert table["source"].str.contains("ILLUSTRATIVE").all()


def test_bundled_lake_inflow_plausible(G) -> None:
    traced = trace_sources(G, "poyang", by="basin")
    inflow_t = traced.attrs["target_load_kg_yr"] / 1000
    assert 2_000 < inflow_t < 50_000  # order of 10^4 t/yr (145 km3/yr x ~0.08 mg/L)
    assert traced["share_pct"].sum() == pytest.approx(100.0)
    assert traced.iloc[0]["basin"] == "gan"
    hukou = target_load(G, "hukou")
    assert hukou < inflow_t * 1000  # the lake retains part of it


@pytest.mark.parametrize("by", ["source", "reach", "county", "unit", "basin"])
def test_trace_by_every_grouping(G, by) -> None:
    traced = trace_sources(G, "waizhou", by=by, top=5)
    assert len(traced) <= 5 and traced.geometry.notna().all()
    assert traced["delivered_kg_yr"].is_monotonic_decreasing
    assert ((traced["delivery_fraction"] > 0) & (traced["delivery_fraction"] <= 1)).all()
    full = trace_sources(G, "waizhou", by=by)
    assert full["delivered_kg_yr"].sum() == pytest.approx(target_load(G, "waizhou"), rel=1e-9)


def test_station_target_is_on_its_reach(G) -> None:
    # Qiujin sits just above where the Gan's western branch joins the Xiu: the Gan is not in it
    traced = trace_sources(G, "qiujin", by="basin")
    assert set(traced["basin"]) == {"xiu"}


def test_trace_targets_and_errors(G) -> None:
    assert trace_sources(G, (115.83, 28.63), by="basin").attrs["target_load_kg_yr"] > 0
    with pytest.raises(ValidationError, match=r"cannot be a trace target.*nearest reachable station: qiujin"):
        trace_sources(G, "wanjiabu")
    with pytest.raises(ValidationError, match=r"unknown target 'poyng'.*close matches: poyang"):
        trace_sources(G, "poyng")
    with pytest.raises(ValidationError, match="by must be one of"):
        trace_sources(G, "poyang", by="province")
    with pytest.raises(ValidationError, match="reach 99999 is not in the network"):
        trace_sources(G, 99999)


def test_scenario_reduction_and_new_source(G) -> None:
    cut = scenario(G, changes=[Change.parse_reduce("diffuse:xin:50")])
    rows = cut["targets"].set_index("target")
    assert rows.loc["station Meigang (梅港)", "change_pct"] < -10
    assert rows.loc["station Waizhou (外洲)", "change_pct"] == pytest.approx(0.0)
    assert rows.loc["Poyang Lake inflow", "change_kg_yr"] < 0
    new = scenario(G, changes=[Change(add_point=(114.99, 27.11), add_kg_yr=100_000)])  # at Ji'an
    rows = new["targets"].set_index("target")
    assert 0 < rows.loc["station Waizhou (外洲)", "change_kg_yr"] < 100_000
    assert not cut["top_before"].empty and not cut["top_after"].empty


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ("livestock:xin", "kind:basin:percent"),
        ("livestock:xin:150", "between 0 and 100"),
        ("livestock:xin:abc", "must be a number"),
    ],
)
def test_scenario_bad_specs(spec, match) -> None:
    with pytest.raises(ValidationError, match=match):
        Change.parse_reduce(spec)


def test_scenario_unknown_kind_or_basin(G) -> None:
    with pytest.raises(ValidationError, match="no source of kind 'cows'"):
        scenario(G, changes=[Change.parse_reduce("cows:xin:10")])
    with pytest.raises(ValidationError, match="unknown basin 'amazon'"):
        scenario(G, changes=[Change.parse_reduce("all:amazon:10")])


# --------------------------------------------------------------------------- calibration


def _synthetic_calibration(seed: int = 11):
    G = random_network(seed, 400, diversions=0)
    rng = np.random.default_rng(seed)
    reach_ids = np.array([d["reach_id"] for *_, d in G.edges(data=True)])
    n = 1200
    sources = pd.DataFrame(
        {
            "source_id": [f"s{i}" for i in range(n)],
            "reach_id": rng.choice(reach_ids, size=n),
            "tp_kg_yr": rng.uniform(100, 1000, size=n),
            "kind": rng.choice(["diffuse", "farm", "plant"], size=n),
        }
    )
    truth = {"diffuse": 1.2, "farm": 0.7, "plant": 2.0}
    k_true = 0.004
    scaled = sources.assign(tp_kg_yr=sources["tp_kg_yr"] * sources["kind"].map(truth))
    stations = rng.choice(reach_ids, size=60, replace=False)
    params = RoutingParams(k_per_km=k_true)
    loads = np.array([target_load(G, int(r), scaled, params) for r in stations])
    keep = loads > 0
    noisy = loads[keep] * rng.lognormal(0, 0.03, size=keep.sum())
    obs = pd.DataFrame({"reach_id": stations[keep], "load_kg_yr": noisy})
    return G, sources, obs, truth, k_true


def test_calibration_recovers_known_coefficients() -> None:
    G, sources, obs, truth, k_true = _synthetic_calibration()
    result = calibrate(G, sources, obs, params=RoutingParams(k_per_km=0.001))
    est = result.coefficients.set_index("parameter")
    for kind, value in truth.items():
        row = est.loc[f"beta_{kind}"]
        assert abs(row["estimate"] - value) <= 3 * row["std_error"], (kind, row.to_dict())
        assert row["std_error"] < 0.2 * value
    k = est.loc["k_per_km"]
    assert abs(k["estimate"] - k_true) <= 3 * k["std_error"]
    assert result.r2_log > 0.95 and result.rmse_log < 0.1
    assert len(result.stations) == len(obs) and {
        "observed_kg_yr",
        "predicted_kg_yr",
        "log_residual",
        "adjusted_kg_yr",
    } <= set(result.stations.columns)


def test_calibration_refuses_proportional_sources() -> None:
    G, sources, obs, *_ = _synthetic_calibration()
    twin = sources[sources["kind"] == "farm"].assign(kind="farm_copy", source_id=lambda d: d["source_id"] + "c")
    with pytest.raises(ValidationError, match="'farm' and 'farm_copy' deliver proportional loads"):
        calibrate(G, pd.concat([sources, twin], ignore_index=True), obs)


def test_calibration_refuses_too_few_stations() -> None:
    G, sources, obs, *_ = _synthetic_calibration()
    with pytest.raises(ValidationError, match=r"cannot fit 4 parameters .* from 3 station"):
        calibrate(G, sources, obs.head(3))


def test_calibration_bundled_runs(G) -> None:
    result = calibrate(G)
    assert set(result.coefficients["parameter"]) >= {"beta_diffuse", "k_per_km"}
    assert np.isfinite(result.coefficients["estimate"]).all()


# --------------------------------------------------------------------------- bad input


def test_point_source_outside_catchments_reported(G) -> None:
    table = pd.DataFrame(
        {
            "source_id": ["in", "out", "bad"],
            "name": ["a", "b", "c"],
            "lon": [115.83, 110.0, 999.0],
            "lat": [28.63, 35.0, 28.0],
            "tp_kg_yr": [10.0, 10.0, 10.0],
            "kind": ["x", "x", "x"],
        }
    )
    with pytest.warns(UserWarning, match="2 point source"):
        out = point_sources(table, G)
    assert list(out["source_id"]) == ["in", "out", "bad"]
    assert out.loc[0, "error"] == "" and not pd.isna(out.loc[0, "reach_id"])
    assert "outside every catchment" in out.loc[1, "error"]
    assert out.loc[2, "error"] == "invalid coordinates"


def test_point_sources_gcj02(G) -> None:
    from ganpo_geo.crs import wgs84_to_gcj02

    lon, lat = wgs84_to_gcj02(115.83, 28.63)
    table = pd.DataFrame(
        {"source_id": ["a"], "name": ["a"], "lon": [float(lon)], "lat": [float(lat)], "tp_kg_yr": [1.0], "kind": ["x"]}
    )
    wgs = pd.DataFrame(
        {"source_id": ["a"], "name": ["a"], "lon": [115.83], "lat": [28.63], "tp_kg_yr": [1.0], "kind": ["x"]}
    )
    assert point_sources(table, G, crs="gcj02")["reach_id"].iloc[0] == point_sources(wgs, G)["reach_id"].iloc[0]


@pytest.mark.parametrize("value", [-5.0, "lots", np.nan])
def test_negative_or_bad_loads(G, value) -> None:
    table = pd.DataFrame(
        {"source_id": ["a"], "name": ["a"], "lon": [115.8], "lat": [28.6], "tp_kg_yr": [value], "kind": ["x"]}
    )
    with pytest.raises(ValidationError, match="tp_kg_yr must be a number >= 0"):
        point_sources(table, G)


def test_missing_columns(G) -> None:
    with pytest.raises(ColumnMappingError, match="missing: tp_kg_yr"):
        point_sources(pd.DataFrame({"source_id": ["a"], "name": ["a"], "lon": [1.0], "lat": [1.0], "kind": ["x"]}), G)


def test_raster_without_crs_refused(tmp_path) -> None:
    path = tmp_path / "nocrs.tif"
    with rasterio.open(path, "w", driver="GTiff", width=10, height=10, count=1, dtype="float32",
                       transform=from_origin(115, 29, 0.1, 0.1)) as dst:  # fmt: skip
        dst.write(np.ones((1, 10, 10), dtype="float32"))
    with pytest.raises(ValidationError, match="has no CRS"):
        raster_sources(path)


@pytest.mark.parametrize("epsg", [4326, 32650])
def test_raster_sources_sum_export(tmp_path, epsg) -> None:
    """A uniform 50 kg/km2/yr raster over the province gives 50 x catchment area per reach."""
    from ganpo_geo.rivers import catchments

    cats = catchments()
    bounds = gpd.GeoSeries([shapely.box(*cats.total_bounds)], crs=4326).to_crs(epsg).total_bounds
    res = 0.02 if epsg == 4326 else 2000.0
    w = int((bounds[2] - bounds[0]) / res) + 2
    h = int((bounds[3] - bounds[1]) / res) + 2
    path = tmp_path / f"export_{epsg}.tif"
    with rasterio.open(path, "w", driver="GTiff", width=w, height=h, count=1, dtype="float32", crs=f"EPSG:{epsg}",
                       transform=from_origin(bounds[0] - res, bounds[3] + res, res, res)) as dst:  # fmt: skip
        dst.write(np.full((1, h, w), 50.0, dtype="float32"))
    out = raster_sources(path).set_index("reach_id")
    expected = cats.set_index("reach_id")["area_km2"] * 50
    common = expected.index.intersection(out.index)
    assert len(common) > 0.9 * len(expected)
    total_ratio = out.loc[common, "tp_kg_yr"].sum() / expected.loc[common].sum()
    assert 0.97 < total_ratio < 1.03


def test_routing_params_validation() -> None:
    with pytest.raises(ValidationError, match="k_per_km must be a number >= 0"):
        RoutingParams(k_per_km=-1)


# --------------------------------------------------------------------------- CLI


def test_cli_tp_trace_formats() -> None:
    runner = CliRunner()
    text = runner.invoke(main, ["tp", "trace", "--to", "poyang", "--by", "county", "--top", "10"])
    assert text.exit_code == 0 and "ILLUSTRATIVE" in text.output and "t/yr" in text.output
    js = json.loads(runner.invoke(main, ["tp", "trace", "--to", "waizhou", "--by", "basin", "--format", "json"]).output)
    assert js["contributors"][0]["basin"] == "gan" and "ILLUSTRATIVE" in js["notice"]
    csv = runner.invoke(main, ["tp", "trace", "--by", "reach", "--top", "3", "--format", "csv"])
    assert csv.output.splitlines()[0].startswith("reach_id") and len(csv.output.splitlines()) == 4
    gj = json.loads(runner.invoke(main, ["tp", "trace", "--by", "basin", "--format", "geojson"]).output)
    assert gj["type"] == "FeatureCollection" and gj["features"]
    bad = runner.invoke(main, ["tp", "trace", "--to", "nowhere"])
    assert bad.exit_code == 1 and "unknown target" in bad.output


def test_cli_tp_scenario_and_calibrate() -> None:
    runner = CliRunner()
    out = runner.invoke(main, ["tp", "scenario", "--reduce", "livestock:xin:30"])
    assert out.exit_code == 0 and "Poyang Lake inflow" in out.output and "ILLUSTRATIVE" in out.output
    bad = runner.invoke(main, ["tp", "scenario", "--reduce", "livestock-xin-30"])
    assert bad.exit_code == 1 and "kind:basin:percent" in bad.output
    none = runner.invoke(main, ["tp", "scenario"])
    assert none.exit_code == 1
    cal = runner.invoke(main, ["tp", "calibrate", "--format", "json"])
    data = json.loads(cal.output)
    assert cal.exit_code == 0 and data["coefficients"] and "r2_log" in data


# --------------------------------------------------------------- issue 11: magnitudes, lake, caches

PUBLISHED = pd.read_csv(__import__("pathlib").Path(__file__).resolve().parents[1] / "data/rivers/facts.csv").set_index(
    "key"
)["value"]


def test_hukou_export_at_published_magnitude(G) -> None:
    hukou_t = target_load(G, "hukou") / 1000
    inflow_t = target_load(G, "poyang") / 1000
    assert 8_000 <= hukou_t <= 12_000  # published export ~8,450 t/yr
    flow_l = float(PUBLISHED["hukou_outflow_km3_yr"]) * 1e12  # litres per year
    conc = hukou_t * 1e9 / flow_l  # mg/L
    assert float(PUBLISHED["gb3838_lake_class_iii_tp_mg_l"]) <= conc <= float(PUBLISHED["gb3838_lake_class_iv_tp_mg_l"])
    assert hukou_t < inflow_t
    by_basin = trace_sources(G, "poyang", by="basin")
    assert by_basin.iloc[0]["basin"] == "gan"
    assert "fu" in set(by_basin["basin"].head(3))


def test_lake_catchment_goes_into_the_lake(G) -> None:
    by_basin = trace_sources(G, "poyang", by="basin")
    assert "lake" in set(by_basin["basin"])
    assert by_basin.set_index("basin").loc["lake", "delivered_kg_yr"] > 0
    # a lakeshore source (Duchang, issue example) is accepted and raises the lake inflow
    out = scenario(G, changes=[Change(add_point=(116.20, 29.27), add_kg_yr=100_000)])
    rows = out["targets"].set_index("target")
    lake_row = rows.loc["Poyang Lake inflow"]
    assert lake_row["change_kg_yr"] == pytest.approx(100_000, rel=1e-9)  # enters the lake directly
    hukou_row = rows.loc[next(t for t in rows.index if t.startswith("Hukou"))]
    assert 0 < hukou_row["change_kg_yr"] < 100_000  # retained like river inflow


def test_source_far_inland_in_lake_catchment_is_kept(G) -> None:
    # 20 km from any reach but in the lake's own catchment: joins the lake shore reach
    table = pd.DataFrame([{"source_id": "x", "name": "x", "lon": 116.62, "lat": 29.45, "tp_kg_yr": 10.0, "kind": "k"}])
    pts = point_sources(table, G)
    reaches = rivers.reaches_gdf(G)
    assert reaches.loc[int(pts["reach_id"].iloc[0]), "kind"] == "lake_shore"


def _fresh_with(edit) -> tuple:
    edited = river_network()
    trace_sources(edited, "poyang")  # build every cache first
    edit(edited)
    fresh = river_network()
    edit(fresh)
    return edited, fresh


@pytest.mark.parametrize(
    "edit",
    [
        lambda g: g.edges[next(e for e in g.edges if g.edges[e]["reach_id"] == 40)].__setitem__("length_km", 900.0),
        lambda g: nx.set_edge_attributes(g, {next(iter(g.edges)): {"length_km": 0.0}}),
        lambda g: g.add_edge(
            10_000,
            next(iter(g.edges))[0],
            reach_id=99_999,
            length_km=5.0,
            geometry=shapely.LineString([(1, 2), (2, 2)]),
        ),
        lambda g: g.nodes[next(n for n, d in g.nodes(data=True) if d["kind"] == "lake")].update(kind="junction"),
    ],
)
def test_edited_graph_matches_fresh_graph(edit) -> None:
    edited, fresh = _fresh_with(edit)
    srcs = bundled_sources()
    a = trace_sources(edited, "hukou", sources=srcs).attrs["target_load_kg_yr"]
    b = trace_sources(fresh, "hukou", sources=srcs).attrs["target_load_kg_yr"]
    assert a == pytest.approx(b, rel=1e-12)


def test_copy_gets_its_own_cache(G) -> None:
    base = target_load(G, "poyang")
    copy = G.copy()
    for e in copy.edges:
        copy.edges[e]["length_km"] *= 10
    assert target_load(copy, "poyang") < base
    assert target_load(G, "poyang") == pytest.approx(base)
    assert target_load(river_network(), "poyang") == pytest.approx(base)


def test_split_fractions_used_and_checked() -> None:
    g = nx.DiGraph(outlet=3)
    g.add_nodes_from([0, 1, 2, 3], kind="junction")
    g.add_edge(0, 1, reach_id=1, length_km=0.0, split_fraction=0.8)
    g.add_edge(0, 2, reach_id=2, length_km=0.0, split_fraction=0.2)
    g.add_edge(1, 3, reach_id=3, length_km=0.0)
    g.add_edge(2, 3, reach_id=4, length_km=0.0)
    g.add_edge(4, 0, reach_id=5, length_km=0.0)
    g.add_node(4, kind="source")
    src = pd.DataFrame({"reach_id": [5], "tp_kg_yr": [100.0]})
    assert target_load(g, 3, src) == pytest.approx(80.0)
    g.edges[0, 2]["split_fraction"] = 0.5
    with pytest.raises(ValidationError, match=r"split at node 0.*sum to 1"):
        target_load(g, 3, src)
    del g.edges[0, 2]["split_fraction"]
    with pytest.raises(ValidationError, match="some but not all"):
        target_load(g, 3, src)


def test_xingzi_is_the_lake_and_off_network_point_names_nearest(G) -> None:
    assert trace_sources(G, "xingzi").attrs["target_load_kg_yr"] == pytest.approx(target_load(G, "poyang"))
    with pytest.raises(ValidationError, match="nearest reachable target is reach"):
        trace_sources(G, (119.6, 24.2))


def test_replaced_layer_is_used() -> None:
    import dataclasses

    from ganpo_geo.layers import bundled_layers
    from ganpo_geo.zoning import units_at

    layers = bundled_layers()
    nanchang = [shapely.Point(115.89, 28.68)]
    assert len(units_at(nanchang, layers=layers)) == 1  # builds the index
    units = layers.units()
    ganzhou_only = layers.replace(control_units=units[units["city_adcode"] == "360700"].copy())
    assert len(units_at(nanchang, layers=ganzhou_only)) == 0
    assert len(units_at(nanchang, layers=layers)) == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        layers.control_units = units
    with pytest.raises(ValidationError, match=r"Layers\.replace takes"):
        layers.replace(units=units)


def test_dict_reference_stays_live_and_views_are_not_cached() -> None:
    G = river_network()
    e = next(e for e in G.edges if G.edges[e]["reach_id"] == 40)
    data = G.edges[e]  # a reference taken before any routing
    srcs = bundled_sources()
    before = target_load(G, "hukou", srcs)
    data["length_km"] = 900.0  # edited through the old reference, after the caches were built
    fresh = river_network()
    fresh.edges[e]["length_km"] = 900.0
    assert target_load(G, "hukou", srcs) == pytest.approx(target_load(fresh, "hukou", srcs), rel=1e-12)
    assert target_load(G, "hukou", srcs) != pytest.approx(before)
    view = G.subgraph(list(G.nodes))  # a read-only view: computed, never cached
    assert target_load(view, "hukou", srcs) == pytest.approx(target_load(G, "hukou", srcs), rel=1e-12)


def test_cli_lakeshore_source_raises_lake_inflow() -> None:
    res = CliRunner().invoke(main, ["tp", "scenario", "--add", "116.20,29.27,100000", "--format", "json"])
    assert res.exit_code == 0, res.output
    rows = {r["target"]: r for r in json.loads(res.output[res.output.index("{") :])["targets"]}
    assert rows["Poyang Lake inflow"]["change_kg_yr"] == pytest.approx(100_000)
