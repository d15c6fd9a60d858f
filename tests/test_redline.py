"""Tests for ganpo_geo.redline: reference red lines, overlap checks, official layers."""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely import Point

from ganpo_geo import ValidationError
from ganpo_geo._index import GRID_MIN_POINTS
from ganpo_geo.crs import JIANGXI_ALBERS, WGS84, area_km2, to_albers, transformer
from ganpo_geo.layers import Layers, layer_info, load_layer
from ganpo_geo.redline import _redline_parts, load_redlines, overlap_columns, redline_overlap, redlines


@pytest.fixture(scope="module")
def red() -> gpd.GeoDataFrame:
    return redlines()


def test_total_area_and_zones(red) -> None:
    total = area_km2(red.geometry).sum()
    assert abs(total - 41_200) / 41_200 < 0.05
    assert red.geometry.is_valid.all()
    assert red["zone_id"].is_unique
    assert set(red["kind"]) == {"protected_area", "lake_wetland", "river", "reservoir", "mountain"}
    assert red["name_zh"].str.len().gt(0).all() and red["name_en"].str.len().gt(0).all()
    names = " ".join(red["name_en"])
    for belt in ("Poyang Lake", "Wuyi", "Luoxiao|Jinggang|Wugong", "Nanling|Jiulian", "Lushan"):
        assert any(part in names for part in belt.split("|")), belt


def test_zones_do_not_overlap(red) -> None:
    metric = to_albers(red.geometry)
    tree = shapely.STRtree(metric)
    left, right = tree.query(metric, predicate="intersects")
    pair = left < right
    overlap = shapely.area(shapely.intersection(metric[left[pair]], metric[right[pair]])).sum() / 1e6
    assert overlap < 0.01  # km2, float noise only


def test_reference_flagged(red) -> None:
    info = layer_info("redlines")
    assert info.synthetic
    assert red["source"].str.contains("NOT the official").all()


def test_point_inside_and_outside() -> None:
    out = redline_overlap(gpd.GeoSeries([Point(116.25, 29.1), Point(115.89, 28.68)], index=["lake", "city"], crs=4326))
    assert out.loc["lake", "overlaps"] and out.loc["lake", "nearest_m"] == 0
    assert out.loc["lake", "share"] == 1.0 and "Poyang" in out.loc["lake", "zone_names"]
    assert not out.loc["city", "overlaps"] and out.loc["city", "zone_ids"] == ""
    assert out.loc["city", "nearest_m"] > 0


def test_nearest_distance_is_exact(red) -> None:
    rng = np.random.default_rng(5)
    pts = shapely.points(rng.uniform(114, 118, 3000), rng.uniform(25, 29.5, 3000))
    out = redline_overlap(pts)
    metric_pts = to_albers(pts)
    exact = shapely.distance(metric_pts[:, None], shapely.union_all(to_albers(red.geometry))).ravel()
    got = out["nearest_m"].to_numpy()
    assert (np.isnan(got) == (exact > 50_000)).all()  # NaN only beyond the search radius
    # to the union of the red lines (new vertices where zones meet): equal to float rounding
    np.testing.assert_allclose(got[~np.isnan(got)], exact[~np.isnan(got)], rtol=0, atol=1e-6)


@pytest.fixture(scope="module")
def grid_layers() -> Layers:
    """Bundled layers whose large-batch red-line indexes (the border grid) are built."""
    layers = Layers()
    rng = np.random.default_rng(8)
    n = GRID_MIN_POINTS
    overlap_columns(shapely.points(rng.uniform(114, 118, n), rng.uniform(25, 29.5, n)), layers=layers)
    assert "redline_segments" in layers._cache
    return layers


def _tree_distance(layers: Layers, pts: np.ndarray, max_m: float) -> np.ndarray:
    """The distance to the nearest red-line border by a tree of the borders (0 inside a red line),
    as GEOS measures it."""
    _, parts, _ = _redline_parts(layers)
    borders = shapely.STRtree(shapely.boundary(parts))
    metric = to_albers(pts)
    (i, _), dist = borders.query_nearest(metric, max_distance=max_m, return_distance=True, all_matches=False)
    d = np.full(len(pts), np.nan)
    d[i] = dist
    wgs_parts = shapely.get_parts(layers.red().geometry.to_numpy())
    d[shapely.STRtree(wgs_parts).query(pts, predicate="intersects")[0]] = 0.0  # touching, tested in WGS84
    return d


@pytest.mark.parametrize("max_m", [50_000.0, 3_000.0, 80_000.0])
def test_large_batches_measure_as_the_tree_to_the_last_bit(grid_layers, max_m) -> None:
    # the whole province and around it (outside the grid: the tree), border vertices and
    # points just off them
    rng = np.random.default_rng(9)
    verts = shapely.get_coordinates(grid_layers.red().geometry.to_numpy())[::40][:400]
    pts = np.r_[
        shapely.points(rng.uniform(112.5, 119.5, 30_000), rng.uniform(23.5, 31, 30_000)),
        shapely.points(verts),  # on a border: 0
        shapely.points(verts + rng.normal(0, 3e-4, verts.shape)),  # some 30 m off it
    ]
    got = overlap_columns(pts, layers=grid_layers, max_search_m=max_m)["nearest_m"]
    want = _tree_distance(grid_layers, pts, max_m)
    np.testing.assert_array_equal(got, want)  # NaN == NaN; no tolerance
    assert (got > 0).sum() > 1_000 and (got == 0).sum() >= 400  # measured ones, and the border vertices


def test_sites_the_projection_moves_across_a_border_measure_the_same_both_ways(grid_layers) -> None:
    # halfway between the midpoint of a long border edge in WGS84 and that of the projected edge:
    # outside the red line as tested in WGS84, inside it once projected (edges bend under the
    # projection). Small batches (a tree) and large ones (the grid) both measure the nearest border.
    parts_wgs = shapely.get_parts(grid_layers.red().geometry.to_numpy())
    xy, owner = shapely.get_coordinates(shapely.get_exterior_ring(parts_wgs), return_index=True)
    same = owner[1:] == owner[:-1]
    a, b = xy[:-1][same], xy[1:][same]
    longest = np.argsort(np.hypot(*(b - a).T))[-300:]
    a, b = a[longest], b[longest]
    forward, back = transformer(WGS84, JIANGXI_ALBERS), transformer(JIANGXI_ALBERS, WGS84)
    ax, ay = forward.transform(a[:, 0], a[:, 1])
    bx, by = forward.transform(b[:, 0], b[:, 1])
    mid_x, mid_y = back.transform((ax + bx) / 2, (ay + by) / 2)  # the projected edge's midpoint
    mid = (a + b) / 2
    pts = shapely.points(mid + 0.5 * (np.column_stack([mid_x, mid_y]) - mid))
    small = overlap_columns(pts, layers=Layers())["nearest_m"]  # fresh layers: the tree
    large = overlap_columns(pts, layers=grid_layers)["nearest_m"]  # the border grid
    np.testing.assert_array_equal(small, large)
    _, parts_m, _ = _redline_parts(grid_layers)
    inside_projected = np.zeros(len(pts), dtype=bool)
    inside_projected[shapely.STRtree(parts_m).query(to_albers(pts), predicate="intersects")[0]] = True
    moved = inside_projected & (small > 0)
    assert moved.sum() > 20 and (small[moved] < 1.0).all()  # a border a fraction of a metre away


def test_a_site_measures_the_same_before_and_after_a_large_batch(grid_layers) -> None:
    pts = [Point(115.89, 28.68), Point(114.93, 27.82), Point(117.2, 28.3), Point(116.0, 29.55)]
    fresh = redline_overlap(pts, layers=Layers())  # a small batch on fresh layers: the tree
    after = redline_overlap(pts, layers=grid_layers)  # the border grid
    np.testing.assert_array_equal(fresh["nearest_m"].to_numpy(), after["nearest_m"].to_numpy())
    assert (fresh["nearest_m"].iloc[:3] > 0).all() and fresh["nearest_m"].iloc[3] == 0


def test_membership_matches_sjoin(red) -> None:
    rng = np.random.default_rng(6)
    pts = gpd.GeoSeries(shapely.points(rng.uniform(113.5, 118.5, 20_000), rng.uniform(24.5, 30.1, 20_000)), crs=4326)
    ours = redline_overlap(pts)
    ref = gpd.sjoin(gpd.GeoDataFrame(geometry=pts), red[["zone_id", "geometry"]], predicate="intersects")
    assert set(np.flatnonzero(ours["overlaps"].to_numpy())) == set(ref.index)


def test_buffer_and_polygon_share() -> None:
    # a site in central Nanchang, some km from a red line: no overlap, but a buffer reaching
    # 700 m past the nearest red line overlaps it in part
    site = gpd.GeoSeries([Point(115.89, 28.68)], crs=4326)
    plain = redline_overlap(site)
    assert 1_000 < plain["nearest_m"].iloc[0] < 20_000
    buffered = redline_overlap(site, buffer_m=plain["nearest_m"].iloc[0] + 700)
    assert not plain["overlaps"].iloc[0]
    assert buffered["overlaps"].iloc[0] and 0 < buffered["share"].iloc[0] < 1
    assert buffered["nearest_m"].iloc[0] == pytest.approx(plain["nearest_m"].iloc[0])
    box = shapely.box(116.2, 29.0, 116.3, 29.1)
    poly = redline_overlap([box])
    assert poly["overlaps"].iloc[0] and 0 < poly["share"].iloc[0] <= 1
    assert poly["overlap_km2"].iloc[0] == pytest.approx(poly["share"].iloc[0] * area_km2([box])[0], rel=1e-6)


def test_aligned_and_empty_input() -> None:
    s = gpd.GeoSeries([Point(116.25, 29.1), None, shapely.Point()], index=[10, 11, 12], crs=4326)
    out = redline_overlap(s)
    assert list(out.index) == [10, 11, 12]
    assert out.loc[10, "overlaps"] and not out.loc[11, "overlaps"] and pd.isna(out.loc[12, "nearest_m"])


def test_negative_buffer() -> None:
    with pytest.raises(ValidationError, match="buffer_m must be >= 0"):
        redline_overlap([Point(116, 28)], buffer_m=-1)


def test_load_official_redlines(tmp_path, red) -> None:
    sub = pd.concat([red[red["kind"] == "lake_wetland"], red[red["kind"] == "river"].iloc[:2]])
    gdf = gpd.GeoDataFrame(
        {"红线名称": sub["name_zh"], "红线类型": sub["kind"]},
        geometry=sub.geometry.to_numpy(),
        crs=4326,
    )
    path = tmp_path / "hx.geojson"
    gdf.to_file(path)
    official = load_redlines(path)
    assert list(official["zone_id"]) == ["RL0001", "RL0002", "RL0003"]
    assert list(official["name_zh"]) == list(sub["name_zh"])
    layers = Layers(redlines=official)
    inside = redline_overlap([Point(116.25, 29.1)], layers=layers)
    assert inside["zone_ids"].iloc[0] == "RL0001"
    lines = gpd.GeoDataFrame(geometry=[shapely.LineString([(116, 28), (117, 29)])], crs=4326)
    bad = tmp_path / "lines.geojson"
    lines.to_file(bad)
    with pytest.raises(ValidationError, match="holds no polygons"):
        load_redlines(bad)


def test_overlapping_official_zones_fall_back_to_exact(tmp_path) -> None:
    a = shapely.box(116.0, 28.0, 116.2, 28.2)
    b = shapely.box(116.1, 28.1, 116.3, 28.3)  # overlaps a
    layers = Layers(
        redlines=gpd.GeoDataFrame({"zone_id": ["A", "B"], "name_zh": ["甲", "乙"]}, geometry=[a, b], crs=4326)
    )
    out = redline_overlap([Point(116.15, 28.15), Point(116.05, 28.05)], layers=layers)
    assert out["zone_ids"].tolist() == ["A;B", "A"]


def test_load_layer_of_bundled(red) -> None:
    assert len(load_layer("redlines")) == len(red)


# --------------------------------------------------------------------------- anchored on real places
# The reference red lines are built from the sourced tables in data/boundaries/ (see
# src/ganpo_geo/_build/zoning.py); these tests read the same tables.

DATA = Path(__file__).resolve().parents[1] / "data" / "boundaries"
#: Dahanyang Peak 大汉阳峰, Lushan's summit: en.wikipedia "Mount Lu" infobox 29°33′34″N 115°59′36″E.
LUSHAN_SUMMIT = (115.99333, 29.55944)


def _short(name: str) -> str:
    return re.split(r"[(（]", name, maxsplit=1)[0].strip()


@pytest.fixture(scope="module")
def params() -> dict:
    return layer_info("redlines").provenance["parameters"]


@pytest.fixture(scope="module")
def protected() -> pd.DataFrame:
    table = pd.read_csv(DATA / "protected_areas.csv", dtype={"area_km2": float})
    assert len(table) >= 10 and table["source"].str.len().gt(0).all()
    return table


@pytest.fixture(scope="module")
def seats() -> pd.DataFrame:
    table = pd.read_csv(DATA / "county_seats.csv", dtype={"adcode": str})
    assert table["source"].str.len().gt(0).all()
    return table


def _expected_zone(table: pd.DataFrame, params: dict) -> list[str]:
    """The place each row's zone must be named after: its own name for a row with a published
    area; for a point row, the nearest area row within the build's summit_join_m, else its own."""
    has_area = table["area_km2"].notna() & (table["category"] != "summit")
    pts = to_albers(shapely.points(table["lon"], table["lat"]))
    out = []
    for i in range(len(table)):
        name = _short(table["name_zh"].iloc[i])
        if not has_area.iloc[i] and has_area.any():
            dist = np.where(has_area, shapely.distance(pts, pts[i]), np.inf)
            if dist.min() <= params["summit_join_m"]:
                name = _short(table["name_zh"].iloc[int(np.argmin(dist))])
        out.append(name)
    return out


def test_protected_areas_inside_zones_named_after_them(protected, params) -> None:
    pts = gpd.GeoSeries(shapely.points(protected["lon"], protected["lat"]), crs=4326)
    hits = redline_overlap(pts)
    province = to_albers(load_layer("province").geometry)[0]
    inside = shapely.contains(province, to_albers(pts.to_numpy()))
    expected = _expected_zone(protected, params)
    for i, name in enumerate(expected):
        if inside[i]:
            assert hits["overlaps"].iloc[i], protected["name_zh"].iloc[i]
            assert name in hits["zone_names"].iloc[i], (protected["name_zh"].iloc[i], hits["zone_names"].iloc[i])
        else:  # documented exception: a point on the border the bundled province puts outside Jiangxi
            near = redline_overlap(pts.iloc[[i]], buffer_m=1_000)
            assert near["overlaps"].iloc[0] and name in near["zone_names"].iloc[0]
    assert inside.mean() > 0.9


def test_protected_area_zones_have_published_area(red, protected) -> None:
    zones = red[red["kind"] == "protected_area"]
    sized = zones[zones["published_km2"].notna()]
    assert len(sized) >= 0.6 * protected["area_km2"].notna().sum()
    got = area_km2(sized.geometry)
    assert np.all(np.abs(got - sized["published_km2"]) / sized["published_km2"] < 0.03)
    assert zones["basis"].str.startswith("protected_areas.csv").all()
    # each row with an area is counted in exactly one zone's published_km2
    assert sized["published_km2"].sum() == pytest.approx(
        protected.loc[protected["category"] != "summit", "area_km2"].sum(), rel=1e-6
    )


def test_lushan_summit_and_sanqingshan_inside_redlines(protected) -> None:
    sanqing = protected[protected["name_zh"].str.startswith("三清山")].iloc[0]
    lushan = protected[protected["name_zh"].str.startswith("庐山")].iloc[0]
    out = redline_overlap(
        [Point(LUSHAN_SUMMIT), Point(lushan["lon"], lushan["lat"]), Point(sanqing["lon"], sanqing["lat"])]
    )
    assert out["overlaps"].all()
    assert "庐山" in out["zone_names"].iloc[0] and "庐山" in out["zone_names"].iloc[1]
    assert "三清山" in out["zone_names"].iloc[2]


def test_county_seats_never_in_redlines(seats, params) -> None:
    """Built-up cores stay out of every red line, river corridors included."""
    assert set(seats["adcode"]) <= set(load_layer("counties")["adcode"])
    pts = gpd.GeoSeries(shapely.points(seats["lon"], seats["lat"]), crs=4326)
    plain = redline_overlap(pts)
    assert not plain["overlaps"].any(), list(seats["name_zh"][plain["overlaps"].to_numpy()])
    core = redline_overlap(pts, buffer_m=0.8 * params["urban_core_m"])
    assert not core["overlaps"].any(), list(seats["name_zh"][core["overlaps"].to_numpy()])
    # not vacuous: many seats sit on a main stem, where the corridors are cut
    stems = shapely.union_all(to_albers(load_layer("reaches").query("main_stem != ''").geometry))
    on_river = shapely.distance(to_albers(pts.to_numpy()), stems) < params["river_buffer_m"]
    assert on_river.sum() >= 10


def test_redlines_inside_priority_units(red) -> None:
    units = load_layer("control_units")
    priority = shapely.union_all(to_albers(units.geometry[units["category"] == 1]))
    zones = to_albers(red.geometry)
    outside = shapely.area(shapely.difference(zones, priority))
    assert np.all(outside <= 1e-4 * shapely.area(zones) + 1.0)  # m2: float noise only


def test_zone_names_match_places(red, params) -> None:
    zones = red.assign(geom_m=to_albers(red.geometry))
    cities = load_layer("cities").set_index("adcode")
    for row in zones[zones["kind"] == "mountain"].itertuples():
        city = cities.loc[row.zone_key]
        assert row.name_zh.startswith(city["name_zh"]) and city["name_en"] in row.name_en
        city_m = to_albers(gpd.GeoSeries([city.geometry], crs=4326))[0]
        assert shapely.difference(row.geom_m, city_m).area < 1e-3 * row.geom_m.area
    reaches = load_layer("reaches")
    river_zh = {"gan": "赣江", "fu": "抚河", "xin": "信江", "rao": "饶河", "xiu": "修河", "yangtze": "长江"}
    for row in zones[zones["kind"] == "river"].itertuples():
        assert row.name_zh.startswith(river_zh[row.zone_key])
        if row.zone_key == "yangtze":
            stem = reaches.geometry[reaches["basin"] == "yangtze"]
        else:
            stem = reaches.geometry[reaches["main_stem"] == row.zone_key]
        corridor = shapely.buffer(shapely.union_all(to_albers(stem)), params["river_buffer_m"] + 200)
        assert shapely.difference(row.geom_m, corridor).area < 1e-3 * row.geom_m.area
    lakes = load_layer("lakes")
    poyang = to_albers(lakes.geometry[lakes["name_en"] == "Poyang Lake"])[0]
    lake = zones[zones["kind"] == "lake_wetland"].iloc[0]
    assert "鄱阳湖" in lake["name_zh"]
    assert shapely.difference(lake["geom_m"], shapely.buffer(poyang, params["lake_buffer_m"] + 200)).area < 1e6


def test_no_zone_named_after_a_place_it_misses(red, protected) -> None:
    """The old failure: a zone named 三清山 67 km from the mountain. Every zone named after a
    place of the table holds that place's point (or lies within 1 km of it at the border)."""
    pts = to_albers(shapely.points(protected["lon"], protected["lat"]))
    names = [_short(n) for n in protected["name_zh"]]
    for row in red.itertuples():
        geom = to_albers(gpd.GeoSeries([row.geometry], crs=4326))[0]
        for name, pt in zip(names, pts, strict=True):
            if row.name_zh.startswith(name) or f"、{name}" in row.name_zh:
                assert shapely.distance(geom, pt) < 1_000, (row.name_zh, name)


def test_overlap_columns_are_redline_overlap_as_arrays() -> None:
    rng = np.random.default_rng(8)
    sites = list(shapely.points(rng.uniform(113.5, 118.5, 300), rng.uniform(24.5, 30.1, 300)))
    sites[5] = shapely.buffer(Point(116.0, 29.55), 0.02)  # Lushan: inside a red line
    sites[6] = shapely.LineString([(115.9, 29.4), (116.1, 29.6)])
    frame = redline_overlap(sites, buffer_m=500)
    arrays = overlap_columns(np.asarray(sites, dtype=object), buffer_m=500)
    assert list(arrays) == list(frame.columns)
    for name, values in arrays.items():
        np.testing.assert_array_equal(values, frame[name].to_numpy(dtype=values.dtype))
    assert arrays["zone_ids"].dtype == object and arrays["overlaps"].any()
    with pytest.raises(ValidationError, match="buffer_m"):
        overlap_columns(np.asarray(sites, dtype=object), buffer_m=-1)
