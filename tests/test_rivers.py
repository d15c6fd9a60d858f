"""Tests for ganpo_geo.rivers: builder robustness, the bundled Poyang network, navigation."""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import LineString, Point

from ganpo_geo import ValidationError
from ganpo_geo.crs import area_km2
from ganpo_geo.layers import load_layer
from ganpo_geo.rivers import (
    POYANG_BASINS,
    NetworkBuildWarning,
    basin_of,
    basins_touched,
    catchment_of,
    catchments,
    features_along,
    navigate,
    network_from_gdfs,
    network_from_lines,
    network_to_gdfs,
    poyang_share_of_jiangxi,
    river_network,
    snap,
    upstream_basin,
)

HUKOU = Point(116.22, 29.75)
PUBLISHED_LENGTH_KM = {"gan": 766, "fu": 348, "xin": 329, "xiu": 357, "rao": 267}
PUBLISHED_AREA_KM2 = {"gan": 82_809, "fu": 16_500, "xin": 15_941, "xiu": 14_797}


# --------------------------------------------------------------------------- small builders

REPO = Path(__file__).resolve().parents[1]
OUT = (116.10, 28.00)


def _build(lines: list, *, tol: float = 100.0, lakes=None, outlet=OUT, **kw) -> nx.DiGraph:
    gdf = gpd.GeoDataFrame(
        {"name": [f"l{i}" for i in range(len(lines))]},
        geometry=[LineString(c) for c in lines],
        crs=4326,
        index=[f"l{i}" for i in range(len(lines))],
    )
    return network_from_lines(gdf, outlet=outlet, lakes=lakes, snap_tolerance_m=tol, **kw)


MAIN = [(116.00, 28.00), (116.10, 28.00)]
TRIB = [(116.05, 28.05), (116.05, 28.00)]  # ends on MAIN's interior


def _assert_drains(G: nx.DiGraph) -> None:
    assert nx.is_directed_acyclic_graph(G)
    sinks = [n for n in G if G.out_degree(n) == 0]
    assert sinks == [G.graph["outlet"]]
    for _, v, data in G.edges(data=True):
        # geometry is drawn downstream: its end is at v (or at a lake shore)
        end = shapely.get_coordinates(data["geometry"])[-1]
        if G.nodes[v]["kind"] != "lake":
            assert np.allclose(end, (G.nodes[v]["x"], G.nodes[v]["y"]), atol=1e-9)


def test_t_junction_splits_main_line() -> None:
    G = _build([MAIN, TRIB])
    assert G.number_of_edges() == 3  # main split in two + tributary
    _assert_drains(G)
    junction = [n for n in G if G.in_degree(n) == 2]
    assert len(junction) == 1
    assert G.nodes[junction[0]]["x"] == pytest.approx(116.05, abs=1e-6)
    orders = sorted(d["strahler"] for *_, d in G.edges(data=True))
    assert orders == [1, 1, 2]
    assert max(d["shreve"] for *_, d in G.edges(data=True)) == 2


def test_near_miss_within_tolerance_joins() -> None:
    trib = [(116.05, 28.05), (116.05, 28.0005)]  # ~55 m short of the main line
    G = _build([MAIN, trib], tol=100)
    assert G.number_of_edges() == 3
    assert G.graph["disconnected"] == []
    _assert_drains(G)


def test_near_miss_beyond_tolerance_reported() -> None:
    trib = [(116.05, 28.05), (116.05, 28.002)]  # ~220 m short
    with pytest.warns(NetworkBuildWarning, match="not connected"):
        G = _build([MAIN, trib], tol=100)
    assert G.graph["disconnected"] == ["l1"]
    assert G.number_of_edges() == 1
    assert {d["source"] for *_, d in G.edges(data=True)} == {"l0"}


def test_duplicated_line_dropped() -> None:
    with pytest.warns(NetworkBuildWarning, match="duplicated"):
        G = _build([MAIN, TRIB, MAIN])
    assert G.graph["duplicates"] == ["l2"]
    assert G.number_of_edges() == 3
    _assert_drains(G)


def test_reversed_line_oriented_to_outlet() -> None:
    reversed_main = MAIN[::-1]  # digitized from the mouth upward
    G = _build([reversed_main, [(116.00, 28.05), (116.00, 28.00)]])
    _assert_drains(G)
    outlet = G.graph["outlet"]
    assert G.nodes[outlet]["x"] == pytest.approx(116.10)
    (_, _, data) = next(iter(G.in_edges(outlet, data=True)))
    assert shapely.get_coordinates(data["geometry"])[-1][0] == pytest.approx(116.10)


def test_crossing_without_touching_is_not_a_junction() -> None:
    # a canal (aqueduct) crossing MAIN, joining the tributary's upstream end
    canal = [(116.07, 27.95), (116.07, 28.05), (116.05, 28.05)]
    G = _build([MAIN, TRIB, canal])
    _assert_drains(G)
    assert G.graph["crossings"] == 1
    assert not any(abs(d["x"] - 116.07) < 1e-6 and abs(d["y"] - 28.0) < 1e-6 for _, d in G.nodes(data=True))
    assert G.number_of_edges() == 4  # main in two, tributary, canal
    canal_edge = [d for *_, d in G.edges(data=True) if d["source"] == "l2"]
    assert len(canal_edge) == 1


def test_loop_and_braid_resolved_acyclic() -> None:
    loop = [(116.02, 28.00), (116.02, 28.02), (116.03, 28.02), (116.02, 28.00)]
    braid = [(116.06, 28.00), (116.07, 27.99), (116.08, 28.00)]  # second channel of MAIN
    G = _build([MAIN, loop, braid])
    _assert_drains(G)
    sources = {d["source"] for *_, d in G.edges(data=True)}
    assert sources == {"l0", "l1", "l2"}  # nothing dropped
    total_km = sum(d["length_km"] for *_, d in G.edges(data=True))
    expected = area_km2  # noqa: F841 (documenting that lengths are metric)
    lengths = gpd.GeoSeries([LineString(c) for c in (MAIN, loop, braid)], crs=4326)
    assert total_km == pytest.approx(lengths.to_crs(3857).length.sum() / 1000 * np.cos(np.radians(28)), rel=0.01)
    diversions = [n for n in G if G.out_degree(n) == 2]
    assert diversions  # where the braid parts from the main channel
    dd = navigate(G, ("node", diversions[0]), "DD")
    dm = navigate(G, ("node", diversions[0]), "DM")
    assert len(dd) > len(dm)


def test_disconnected_piece_reported_not_silent() -> None:
    far = [(117.0, 29.0), (117.05, 29.0)]
    with pytest.warns(NetworkBuildWarning):
        G = _build([MAIN, TRIB, far])
    assert G.graph["disconnected"] == ["l2"]
    _assert_drains(G)


def test_lake_becomes_one_node() -> None:
    lake = gpd.GeoDataFrame({"name_en": ["Test Lake"]}, geometry=[shapely.box(116.03, 27.98, 116.06, 28.02)], crs=4326)
    G = _build([MAIN, [(116.045, 28.10), (116.045, 28.023)]], lakes=lake, tol=500)
    lakes = [n for n, d in G.nodes(data=True) if d["kind"] == "lake"]
    assert len(lakes) == 1 and G.nodes[lakes[0]]["lake_name"] == "Test Lake"
    assert G.in_degree(lakes[0]) == 2 and G.out_degree(lakes[0]) == 1
    _assert_drains(G)
    for *_, data in G.edges(data=True):  # no line runs inside the lake
        assert not data["geometry"].intersection(lake.geometry.iloc[0].buffer(-1e-4)).length


def test_builder_bad_input() -> None:
    with pytest.raises(ValidationError, match="non-empty"):
        network_from_lines(gpd.GeoDataFrame(geometry=[], crs=4326), outlet=OUT)
    with pytest.raises(ValidationError, match="km from the nearest line end"):
        _build([MAIN], outlet=(117.0, 29.0))
    points = gpd.GeoDataFrame(geometry=[Point(116, 28)], crs=4326)
    with pytest.raises(ValidationError, match="no LineString"):
        network_from_lines(points, outlet=OUT)


def test_gdfs_round_trip_small() -> None:
    G = _build([MAIN, TRIB])
    nodes, reaches = network_to_gdfs(G)
    H = network_from_gdfs(nodes, reaches)
    assert set(H.edges) == set(G.edges)
    for e in G.edges:
        for key in ("reach_id", "strahler", "shreve", "length_km", "dist_to_outlet_km"):
            assert H.edges[e][key] == G.edges[e][key]
    assert H.graph["outlet"] == G.graph["outlet"]
    with pytest.raises(ValidationError, match="missing: reach_id"):
        network_from_gdfs(nodes, reaches.drop(columns="reach_id"))
    bad = reaches.copy()
    bad.loc[bad.index[0], "v"] = 999
    with pytest.raises(ValidationError, match="not in the node table"):
        network_from_gdfs(nodes, bad)


# --------------------------------------------------------------------------- bundled network


@pytest.fixture(scope="module")
def G() -> nx.DiGraph:
    return river_network()


@pytest.fixture(scope="module")
def reaches(G) -> gpd.GeoDataFrame:
    return network_to_gdfs(G)[1]


def test_river_network_loads_fast() -> None:
    river_network()  # warm the layer cache, as a long-running process would be
    start = time.perf_counter()
    river_network()
    assert time.perf_counter() - start < 1.0


def test_bundled_graph_invariants(G, reaches) -> None:
    assert nx.is_directed_acyclic_graph(G)
    sinks = [n for n in G if G.out_degree(n) == 0]
    assert sinks == [G.graph["outlet"]], "exactly one outlet"
    outlet = G.nodes[G.graph["outlet"]]
    assert Point(outlet["x"], outlet["y"]).distance(HUKOU) < 0.02  # degrees, ~2 km
    ancestors = nx.ancestors(G, G.graph["outlet"])
    assert set(G) - {G.graph["outlet"]} == ancestors, "every reach drains to Hukou"
    assert set(reaches["basin"]) == {"gan", "fu", "xin", "rao", "xiu", "lake", "yangtze"}
    for col in (
        "reach_id",
        "length_km",
        "strahler",
        "shreve",
        "dist_to_outlet_km",
        "river_zh",
        "river_en",
    ):
        assert col in reaches.columns
    assert reaches["reach_id"].is_unique
    lake_nodes = [n for n, d in G.nodes(data=True) if d["kind"] == "lake"]
    assert len(lake_nodes) == 1 and G.nodes[lake_nodes[0]]["lake_name"] == "Poyang Lake"


def test_yangtze_and_outflow(reaches) -> None:
    yangtze = reaches[reaches["basin"] == "yangtze"]
    assert set(yangtze["river_en"]) == {"Yangtze River"}
    assert (yangtze["length_km"].sum()) > 100
    outflow = reaches[reaches["river_en"].str.startswith("Poyang Lake outflow")]
    assert len(outflow) == 1 and outflow["basin"].iloc[0] == "lake"


def test_gan_basin_largest(reaches) -> None:
    cat = catchments()
    by_basin = cat.groupby("basin")["area_km2"].sum()
    assert by_basin.idxmax() == "gan"
    for basin, published in PUBLISHED_AREA_KM2.items():
        assert abs(by_basin[basin] - published) / published < 0.30, (basin, by_basin[basin])
    # the Rao must exceed its Chang branch's published 7,036 km2
    assert by_basin["rao"] > 7_036


def test_main_stem_lengths(reaches) -> None:
    lengths = reaches[reaches["main_stem"] != ""].groupby("main_stem")["length_km"].sum()
    assert set(lengths.index) == set(PUBLISHED_LENGTH_KM)
    for river, published in PUBLISHED_LENGTH_KM.items():
        assert abs(lengths[river] - published) / published < 0.30, (river, lengths[river])


def test_stations_on_their_own_rivers(G, reaches) -> None:
    stations = load_layer("stations").set_index("station_id")
    expected = {
        "waizhou": "Gan River",
        "lijiadu": "Fu River",
        "meigang": "Xin River",
        "hushan": "Le'an River",
        "dufengkeng": "Chang River",
        "qiujin": "Xiu River",
    }
    snapped = snap(stations.geometry, G, max_snap_m=15_000)
    for station, river in expected.items():
        reach = snapped.loc[station, "reach_id"]
        assert reaches.loc[reach, "river_en"] == river, station
    # the Liao has no line at this data's scale: Wanjiabu snaps to nothing and is left so
    assert pd.isna(snapped.loc["wanjiabu", "reach_id"])
    main_stations = ["waizhou", "lijiadu", "meigang", "hushan", "qiujin"]
    assert (reaches.loc[snapped.loc[main_stations, "reach_id"].astype(int), "main_stem"] != "").all()


def test_named_tributaries(reaches) -> None:
    names = set(reaches["river_en"])
    assert {"Zhang River", "Gong River", "Le'an River", "Chang River"} <= names
    # the Gong continues the Gan's main stem above Ganzhou; the Zhang does not
    assert set(reaches.loc[reaches["river_en"] == "Gong River", "main_stem"]) == {"gan"}
    assert set(reaches.loc[reaches["river_en"] == "Zhang River", "main_stem"]) == {""}
    assert set(reaches.loc[reaches["river_en"] == "Zhang River", "basin"]) == {"gan"}


FIVE = ("gan", "fu", "xin", "rao", "xiu")
RIVER_NAMES = {"gan": "赣江", "fu": "抚河", "xin": "信江", "rao": "饶河", "xiu": "修河"}


def _lake(G) -> int:
    return next(n for n, d in G.nodes(data=True) if d["kind"] == "lake")


@pytest.mark.parametrize("river", FIVE)
def test_each_river_has_its_own_mouths(G, reaches, river) -> None:
    """Every reach that enters the lake carries one basin, and every river has a mouth; the
    land upstream of a river's mouths holds only that river's basin."""
    mouths = reaches[(reaches["v"] == _lake(G)) & (reaches["basin"] == river)]
    assert len(mouths), river
    for rid in mouths.index:
        assert set(reaches.loc[list(navigate(G, int(rid), "UT").index), "basin"]) == {river}


@pytest.mark.parametrize(
    ("lon", "lat", "river"),
    [
        (117.94, 28.45, "xin"),
        (114.36, 25.40, "gan"),
        (116.36, 27.95, "fu"),
        (117.86, 29.25, "rao"),
        (114.55, 29.03, "xiu"),
    ],
)
def test_downstream_reaches_lake_without_other_rivers(G, lon, lat, river) -> None:
    """DM from a town on a river reaches Poyang Lake through that river's reaches only
    (issue: Shangrao used to run 信江 -> 抚河 -> 赣江 through dry-season channels)."""
    path = navigate(G, Point(lon, lat), "DM")
    lake = _lake(G)
    before = path.iloc[: int(np.flatnonzero(path["v"].to_numpy() == lake)[0]) + 1]
    assert set(before["basin"]) == {river}
    others = {RIVER_NAMES[r] for r in FIVE if r != river}
    assert not (set(before["river_zh"]) & others)
    if river == "xin":
        assert set(before["river_zh"]) == {"信江"}


@pytest.mark.parametrize(
    ("lon", "lat", "name"),
    [
        (114.36, 25.40, "章江"),  # Dayu
        (114.76, 25.66, "章江"),  # Nankang
        (116.03, 25.89, "贡江"),  # Ruijin
        (116.01, 26.48, "梅江"),  # Ningdu
        (114.92, 25.39, "桃江"),  # Xinfeng
        (114.24, 26.95, "禾水"),  # Yongxin
        (114.39, 27.80, "袁水"),  # Yichun
        (115.37, 28.42, "锦江"),  # Gao'an
        (117.86, 29.25, "乐安河"),  # Wuyuan
        (117.18, 29.27, "昌江"),  # Jingdezhen
        (116.33, 26.84, "盱江"),  # Guangchang
        (114.99, 27.11, "赣江"),  # Ji'an
    ],
)
def test_named_rivers_at_real_towns(G, reaches, lon, lat, name) -> None:
    hit = snap(gpd.GeoSeries([Point(lon, lat)], crs=4326), G).iloc[0]
    assert reaches.loc[int(hit["reach_id"]), "river_zh"] == name


def test_names_come_from_the_table(reaches) -> None:
    table = pd.read_csv(REPO / "data" / "rivers" / "river_names.csv")
    named = set(reaches["river_zh"]) - {"", "长江", "鄱阳湖出湖水道", "鄱阳湖(湖岸)"}
    assert named <= set(table["name_zh"])
    assert (reaches["river_zh"] == "").any()  # unnamed reaches stay unnamed


def test_lake_shore_reach_enters_the_lake(G, reaches) -> None:
    shore = reaches[reaches["kind"] == "lake_shore"]
    assert len(shore) == 1
    assert shore["v"].iloc[0] == _lake(G) and shore["length_km"].iloc[0] == 0
    assert shore["basin"].iloc[0] == "lake"


@pytest.mark.parametrize("mode", ["DM", "DD"])
def test_downstream_ends_at_hukou(G, reaches, mode) -> None:
    outlet = G.graph["outlet"]
    for reach_id in reaches.index[::7]:
        path = navigate(G, int(reach_id), mode)
        assert outlet in set(path["v"]), reach_id
        if mode == "DM":
            assert path["v"].iloc[-1] == outlet


def test_distance_limit_cuts_path(G) -> None:
    start = Point(115.83, 28.63)  # Waizhou
    full = navigate(G, start, "UT")
    for limit in (0.0, 25.0, 150.0, 400.0):
        cut = navigate(G, start, "UT", distance_km=limit)
        assert (cut["distance_km"] <= limit).all()
        assert set(cut.index) == set(full.index[full["distance_km"] <= limit])
    assert len(navigate(G, start, "UT", distance_km=150.0)) < len(full)
    down = navigate(G, start, "DM")
    cut = navigate(G, start, "DM", distance_km=20)
    assert list(cut.index) == list(down.index[: len(cut)])


def test_um_follows_longest_branch(G, reaches) -> None:
    path = navigate(G, Point(115.83, 28.63), "UM")
    assert set(path["main_stem"]) == {"gan"}
    assert "Gong River" in set(path["river_en"])


def test_navigate_bad_input(G) -> None:
    with pytest.raises(ValidationError, match="unknown navigation mode 'UP'"):
        navigate(G, 1, "UP")
    with pytest.raises(ValidationError, match="cannot start"):
        navigate(G, 999_999, "UT")
    with pytest.raises(ValidationError, match="distance_km"):
        navigate(G, 1, "UT", distance_km=-5)
    with pytest.raises(ValidationError, match="farther than the snap distance"):
        navigate(G, Point(100.0, 40.0), "UT")


def test_features_along_stations(G) -> None:
    stations = load_layer("stations")
    found = features_along(G, Point(114.93, 25.83), stations, "DM")  # from Ganzhou down
    assert list(found["station_id"])[:1] == ["waizhou"]
    assert "hukou" in set(found["station_id"])
    assert found["distance_km"].is_monotonic_increasing


def test_snap_vectorized(G) -> None:
    pts = gpd.GeoSeries([Point(115.83, 28.63), Point(100.0, 40.0), Point(116.82, 28.43)], crs=4326, index=[5, 6, 7])
    out = snap(pts, G)
    assert list(out.index) == [5, 6, 7]
    assert pd.isna(out.loc[6, "reach_id"]) and np.isnan(out.loc[6, "distance_m"])
    assert out.loc[5, "distance_m"] < 1000 and 0 <= out.loc[5, "fraction"] <= 1
    assert out.loc[7, "reach_id"] != out.loc[5, "reach_id"]


def test_catchments_tile_jiangxi() -> None:
    cat = catchments()
    province = load_layer("province").geometry.iloc[0]
    geoms = cat.geometry.to_numpy()
    total = area_km2(geoms).sum()
    union = area_km2([shapely.union_all(geoms)])[0]
    assert abs(total - union) / union < 1e-3  # no overlaps
    assert area_km2([shapely.difference(shapely.union_all(geoms), province)])[0] < 1.0
    assert area_km2([shapely.difference(province, shapely.union_all(geoms))])[0] < 1.0  # no gaps
    assert cat.geometry.is_valid.all()


def test_every_point_of_jiangxi_has_a_basin() -> None:
    province = load_layer("province").geometry.iloc[0]
    lon, lat = np.meshgrid(np.arange(113.5, 118.6, 0.05), np.arange(24.45, 30.1, 0.05))
    pts = shapely.points(lon.ravel(), lat.ravel())
    inside = pts[shapely.contains(province, pts)]
    assert len(inside) > 5000
    basins = basin_of(inside)
    assert basins.notna().all()
    assert set(basins) <= {*POYANG_BASINS, "xiang", "dongjiang", "beijiang", "yangtze"}
    outside = basin_of([Point(112.0, 27.0)])  # Hunan
    assert outside.iloc[0] is None


def test_poyang_share_of_jiangxi() -> None:
    facts = pd.read_csv(REPO / "data" / "rivers" / "facts.csv").set_index("key")["value"]
    share = poyang_share_of_jiangxi()
    # 156,743 km2 of the basin in Jiangxi / 166,946 km2 = 93.9%; the often quoted 96.6% is the
    # share of the basin that lies in Jiangxi (see data/rivers/facts.csv)
    assert abs(share - float(facts["jiangxi_poyang_share_alt_pct"])) <= 2.0
    assert share < float(facts["jiangxi_poyang_share_pct"])


def test_basin_of_places_from_the_table() -> None:
    places = pd.read_csv(REPO / "data" / "rivers" / "basin_places.csv")
    assert places["source"].str.strip().ne("").all()
    got = basin_of(gpd.points_from_xy(places["lon"], places["lat"], crs=4326))
    assert list(got) == list(places["basin"])
    counties = load_layer("counties")
    for row in places.itertuples():  # each place lies in the county the table says
        county = counties[counties.contains(Point(row.lon, row.lat))]
        assert list(county["adcode"]) == [str(row.county_adcode)], row.name_en


def test_basin_of_lines_and_polygons() -> None:
    # a line mostly in the Gan basin with a short end in the Fu basin, and a polygon across
    line = LineString([(114.9, 27.0), (115.3, 27.0), (115.5, 27.0)])
    box = shapely.box(116.0, 29.5, 116.6, 29.95)  # Jiujiang/Hukou: lake and Yangtze
    out = basin_of(gpd.GeoSeries([line, box, None], index=[3, 1, 2], crs=4326))
    assert list(out.index) == [3, 1, 2]
    assert out[3] == "gan" and out[2] is None
    touched = basin_of(gpd.GeoSeries([line, box, None], index=[3, 1, 2], crs=4326), all_basins=True)
    assert out[1] in touched[1] and {"lake", "yangtze"} <= set(touched[1])
    assert touched[2] == ()
    assert list(basins_touched([box])[0]) == list(touched[1])


def test_catchment_of_aligned_and_vectorized() -> None:
    gdf = gpd.GeoDataFrame(
        geometry=[Point(114.93, 25.83), Point(100, 40), shapely.box(116.3, 27.9, 116.4, 28.0)],
        crs=4326,
        index=["a", "b", "c"],
    )
    out = catchment_of(gdf)
    assert list(out.index) == ["a", "b", "c"]
    assert pd.isna(out["b"]) and not pd.isna(out["a"]) and not pd.isna(out["c"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        basin_of(gdf)


def test_navigation_clipped_at_distance(G) -> None:
    start = Point(115.83, 28.63)  # Waizhou
    cut = navigate(G, start, "UT", distance_km=100.0)
    assert cut["clipped"].any()
    part = cut[cut["clipped"]]
    lengths = gpd.GeoSeries(part.geometry, crs=4326).to_crs("+proj=aea +lat_1=25 +lat_2=30 +lon_0=116").length / 1000
    expected = 100.0 - part["distance_km"]
    assert np.allclose(lengths.to_numpy(), expected.to_numpy(), rtol=0.02)
    assert (lengths.to_numpy() < part["length_km"].to_numpy()).all()
    assert not navigate(G, start, "UT")["clipped"].any()


def test_upstream_basin_polygon(G) -> None:
    basin = upstream_basin(G, Point(115.83, 28.63))  # Waizhou: the gauged Gan
    assert 60_000 < basin["area_km2"].iloc[0] < 90_000
    assert basin.geometry.iloc[0].contains(Point(114.93, 25.83))  # Ganzhou is upstream


def test_cli_upstream_basin_geojson(tmp_path) -> None:
    import json

    from click.testing import CliRunner

    from ganpo_geo.cli import main

    out = tmp_path / "basin.geojson"
    res = CliRunner().invoke(
        main,
        ["river", "upstream", "--lon", "115.83", "--lat", "28.63", "--distance-km", "100", "--basin-geojson", str(out)],
    )
    assert res.exit_code == 0, res.output
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["features"][0]["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert 0 < data["features"][0]["properties"]["area_km2"] < 80_000


def test_data_tables_have_sources_and_are_read_by_the_build() -> None:
    build = "".join(
        p.read_text(encoding="utf-8")
        for p in [*sorted((REPO / "scripts").glob("*.py")), *sorted((REPO / "src/ganpo_geo/_build").glob("*.py"))]
    )
    readme = (REPO / "data" / "rivers" / "README.md").read_text(encoding="utf-8")
    tables = sorted((REPO / "data" / "rivers").glob("*.csv"))
    assert {t.name for t in tables} >= {"river_names.csv", "stations.csv", "distributaries.csv"}
    for table in tables:
        frame = pd.read_csv(table, dtype=str, keep_default_na=False)
        assert "source" in frame.columns, table.name
        assert (frame["source"].str.strip() != "").all(), table.name
        assert table.name in readme, table.name
        if table.name not in ("basin_places.csv", "river_landmarks.csv"):  # test points, read by tests/scripts
            assert table.name in build, table.name


def test_distributary_table_must_sum_to_one(G, reaches) -> None:
    from ganpo_geo._build import network as build_network

    table = pd.read_csv(REPO / "data" / "rivers" / "distributaries.csv", dtype=str, keep_default_na=False)
    ok = build_network.split_fractions(G, reaches, table)
    assert ok.loc[reaches["split_fraction"].index].round(9).equals(reaches["split_fraction"].round(9))
    bad = table.copy()
    bad.loc[0, "fraction"] = "0.7"
    with pytest.raises(ValueError, match=r"split node \d+ must cover every branch and sum to 1"):
        build_network.split_fractions(G, reaches, bad)


def test_cli_downstream_from_shangrao_lists_only_xin() -> None:
    import json

    from click.testing import CliRunner

    from ganpo_geo.cli import main

    res = CliRunner().invoke(main, ["river", "downstream", "--lon", "117.94", "--lat", "28.45", "--format", "json"])
    assert res.exit_code == 0, res.output
    names = [r["river_zh"] for r in json.loads(res.output)["path"]]
    before_lake = names[: names.index("鄱阳湖出湖水道")]
    assert before_lake and set(before_lake) == {"信江"}
