"""One home for each rule: rule scope, input normalisation, transformers, the snap radius, renamed parameters."""

from __future__ import annotations

import dataclasses
import re
import warnings

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import Point

from ganpo_geo import maps, siting
from ganpo_geo._errors import ValidationError
from ganpo_geo.crs import JIANGXI_ALBERS, WGS84, as_sites, transformer, wgs84_to_gcj02
from ganpo_geo.layers import Layers, bundled_layers, load_layer
from ganpo_geo.redline import redline_overlap
from ganpo_geo.rivers import features_along, navigate, river_network, snap
from ganpo_geo.types import Edge
from ganpo_geo.zoning import industries, rules_for, units_at

INDUSTRIES = ["chemical", "paper", "electroplating", "tourism"]


def _official_layers() -> Layers:
    """The bundled units, two of them with an official 空间布局约束 text (their clauses replace the category rules)."""
    units = load_layer("control_units")
    units["spatial_layout"] = ""
    picked = units.drop_duplicates("category").index[:2]
    units.loc[picked, "spatial_layout"] = "禁止新建化工项目。严格控制造纸项目。"
    return Layers(control_units=units)


def _sample_units(layers: Layers) -> gpd.GeoDataFrame:
    units = layers.units()
    official = layers.access_rules().attrs.get("official_units", frozenset())
    sample = units.groupby("category").head(2)
    return gpd.GeoDataFrame(
        units[units["unit_code"].isin(set(sample["unit_code"]) | set(official))].drop_duplicates("unit_code")
    )


@pytest.mark.parametrize("which", ["bundled", "official"])
def test_site_check_rules_for_and_zoning_map_list_the_same_rules(which: str) -> None:
    layers = bundled_layers() if which == "bundled" else _official_layers()
    rules = layers.access_rules()
    if which == "official":
        assert rules.attrs["official_units"], "the official texts must make some units official"
    units = _sample_units(layers)
    assert len(units) >= 4
    checked = 0
    for unit in units.itertuples():
        site = shapely.point_on_surface(unit.geometry)
        hits = units_at([site], layers=layers)
        if list(hits["unit_code"]) != [unit.unit_code]:
            continue  # a point on a shared border: the unit is not alone
        all_industries: set[str] = set()
        for industry in INDUSTRIES:
            expected = list(rules_for(unit.unit_code, industry, layers=layers)["rule_id"])
            all_industries |= set(expected)
            # the site check's report
            report = siting.check_site(site, industry=industry, layers=layers)
            listed = [r["rule_id"] for dim in report.rules.values() for r in dim]
            assert sorted(listed) == sorted(expected), (unit.unit_code, industry)
            # the verdict's scope (the batch check's per-combination rules)
            override = set(rules.loc[(rules["level"] == "unit") & ~rules["scope"].isin(["1", "2", "3"]), "scope"])
            combo = (
                str(unit.city_adcode),
                unit.category,
                unit.unit_code if unit.unit_code in override else "",
                industry,
            )
            in_verdict = list(siting._combo_rules(layers, rules, combo)["rule_id"])
            assert sorted(in_verdict) == sorted(expected), (unit.unit_code, industry)
        # the zoning map's popup: city and unit rules of every industry (the province list is shown once)
        popup = maps._unit_popup(unit, rules)
        on_map = set(re.findall(r"([\w:-]+) \((?:prohibit|restrict|require|allow)\)", popup))
        not_province = set(rules.loc[rules["level"] != "province", "rule_id"])
        everyone = set()
        for industry in industries().index:
            everyone |= set(rules_for(unit.unit_code, industry, layers=layers)["rule_id"])
        assert all_industries & not_province <= on_map
        assert on_map == everyone & not_province, unit.unit_code
        checked += 1
    assert checked >= 4


# --------------------------------------------------------------------------- hidden state


def test_bundled_layers_cannot_be_changed_for_other_callers() -> None:
    layers = bundled_layers()
    before = rules_for("ZH36010220001", "chemical")[["rule_id", "effect"]]
    with pytest.raises(dataclasses.FrozenInstanceError):
        layers.rules = None  # type: ignore[misc]
    with pytest.raises(TypeError):
        layers.sources["control_units"] = {"path": "x"}  # type: ignore[index]
    mine = layers.access_rules()
    mine["effect"] = "allow"  # a caller rewrites its table in place ...
    mine["level"] = "nowhere"
    mine.attrs["official_units"] = frozenset({"ZH36010220001"})
    assert set(layers.access_rules()["effect"]) > {"allow"}  # ... and nobody else sees it
    assert rules_for("ZH36010220001", "chemical")[["rule_id", "effect"]].equals(before)
    units = layers.units()
    units["unit_code"] = "changed"
    assert "changed" not in set(layers.units()["unit_code"])
    assert bundled_layers() is layers


def test_layers_sources_are_read_only_but_pickle() -> None:
    import pickle

    layers = Layers(sources={"control_units": {"path": "units.shp", "crs": "EPSG:4548"}})
    with pytest.raises(TypeError):
        layers.sources["control_units"]["crs"] = "EPSG:4326"  # type: ignore[index]
    again = pickle.loads(pickle.dumps(layers))
    assert dict(again.sources["control_units"]) == {"path": "units.shp", "crs": "EPSG:4548"}
    assert layers.replace(sources={"x": {"path": "y"}}).sources["x"]["path"] == "y"


# --------------------------------------------------------------------------- input normalisation, transformers


def test_one_transformer_per_crs_pair() -> None:
    assert transformer(WGS84, JIANGXI_ALBERS) is transformer(WGS84, JIANGXI_ALBERS)
    x, _y = transformer(WGS84, JIANGXI_ALBERS).transform(116.0, 0.0)
    assert abs(x) < 1e-6  # the central meridian of the Albers CRS


def test_as_sites_reads_every_input_kind_the_same() -> None:
    pts = [Point(115.86, 28.68), Point(114.93, 25.83)]
    series = gpd.GeoSeries(pts, crs=WGS84, index=[7, 9])
    for given in (pts, np.array(pts, dtype=object), series, gpd.GeoDataFrame(geometry=series)):
        out = as_sites(given)
        assert out.crs == WGS84
        assert [g.equals(p) for g, p in zip(out, pts, strict=True)] == [True, True]
    assert list(as_sites(series).index) == [7, 9]
    assert len(as_sites(Point(115.86, 28.68))) == 1
    gx, gy = wgs84_to_gcj02(np.array([115.86]), np.array([28.68]))
    back = as_sites([Point(gx[0], gy[0])], crs="gcj02")[0]
    assert back.distance(pts[0]) < 1e-5
    with pytest.raises(Exception, match="CRS"):
        as_sites(gpd.GeoSeries(pts))  # no CRS and none given


def test_site_functions_agree_on_crs() -> None:
    """units_at, redline_overlap and snap read gcj02 input the same (one normaliser)."""
    pts = [Point(115.86, 28.68), Point(114.93, 25.83), Point(116.5, 27.9)]
    gx, gy = wgs84_to_gcj02(np.array([p.x for p in pts]), np.array([p.y for p in pts]))
    gcj = [Point(x, y) for x, y in zip(gx, gy, strict=True)]
    assert units_at(gcj, crs="gcj02")["unit_code"].tolist() == units_at(pts)["unit_code"].tolist()
    a = redline_overlap(gcj, crs="gcj02")["nearest_m"].to_numpy()
    b = redline_overlap(pts)["nearest_m"].to_numpy()
    assert np.allclose(a, b, atol=2.0)
    G = river_network()
    s1 = snap(gcj, G, crs="gcj02")
    s2 = snap(pts, G)
    assert s1["reach_id"].tolist() == s2["reach_id"].tolist()
    assert np.allclose(s1["distance_m"], s2["distance_m"], atol=2.0)
    assert snap(gcj, G)["distance_m"].sub(s2["distance_m"]).abs().max() > 50  # the crs= mattered


# --------------------------------------------------------------------------- renamed parameters


def test_snap_max_distance_m_is_deprecated_for_max_snap_m() -> None:
    G = river_network()
    pts = [Point(115.86, 28.68), Point(116.9, 29.9)]
    new = snap(pts, G, max_snap_m=300.0)
    with pytest.warns(DeprecationWarning, match=r"snap\(max_distance_m=...\) is deprecated.*max_snap_m"):
        old = snap(pts, G, max_distance_m=300.0)
    assert old.equals(new)
    with pytest.raises(ValidationError, match="max_snap_m= only"):
        snap(pts, G, max_snap_m=300.0, max_distance_m=300.0)
    with pytest.raises(ValidationError, match="max_snap_m"):
        snap(pts, G, max_snap_m=-1)


def test_features_along_max_distance_m_is_deprecated() -> None:
    G = river_network()
    stations = load_layer("stations")
    new = features_along(G, Point(114.93, 25.83), stations, "DM", max_snap_m=500.0)
    with pytest.warns(DeprecationWarning, match="max_snap_m"):
        old = features_along(G, Point(114.93, 25.83), stations, "DM", max_distance_m=500.0)
    assert list(old.index) == list(new.index)
    wide = features_along(G, Point(114.93, 25.83), stations, "DM")
    assert len(wide) >= len(new)


def test_navigate_edge_is_explicit_and_the_bare_tuple_is_deprecated() -> None:
    G = river_network()
    u, v = next(iter(G.edges))
    by_edge = navigate(G, edge=(u, v), mode="DM")
    assert list(navigate(G, Edge(u, v), "DM").index) == list(by_edge.index)
    with pytest.warns(DeprecationWarning, match="edge="):
        old = navigate(G, (u, v), "DM")
    assert list(old.index) == list(by_edge.index)
    assert by_edge.index[0] == G.edges[u, v]["reach_id"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a float point and a reach id give no warning
        navigate(G, (115.86, 28.68), "DM")
        navigate(G, int(G.edges[u, v]["reach_id"]), "DM")
    with pytest.raises(ValidationError, match="exactly one of start"):
        navigate(G, 1, "UT", edge=(u, v))
    with pytest.raises(ValidationError, match="exactly one of start"):
        navigate(G, mode="UT")
    with pytest.raises(ValidationError, match="not in the network"):
        navigate(G, edge=(-1, -2))
    with pytest.raises(ValidationError, match="snap distance"):
        navigate(G, (115.86, 28.68), "DM", max_snap_m=1.0)
