"""Tests for ganpo_geo.redline: reference red lines, overlap checks, official layers."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely import Point

from ganpo_geo import ValidationError
from ganpo_geo.crs import area_km2, to_albers
from ganpo_geo.layers import Layers, layer_info, load_layer
from ganpo_geo.redline import NEAREST_SPACING_M, load_redlines, redline_overlap, redlines


@pytest.fixture(scope="module")
def red() -> gpd.GeoDataFrame:
    return redlines()


def test_total_area_and_zones(red) -> None:
    total = area_km2(red.geometry).sum()
    assert abs(total - 41_200) / 41_200 < 0.05
    assert red.geometry.is_valid.all()
    assert red["zone_id"].is_unique
    assert set(red["kind"]) == {"lake_wetland", "river", "reservoir", "mountain"}
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


def test_nearest_distance_bound(red) -> None:
    rng = np.random.default_rng(5)
    pts = shapely.points(rng.uniform(114, 118, 3000), rng.uniform(25, 29.5, 3000))
    out = redline_overlap(pts)
    metric_pts = to_albers(pts)
    exact = shapely.distance(metric_pts[:, None], shapely.union_all(to_albers(red.geometry))).ravel()
    got = out["nearest_m"].to_numpy()
    assert (np.isnan(got) == (exact > 50_000)).all()  # NaN only beyond the search radius
    diff = got[~np.isnan(got)] - exact[~np.isnan(got)]
    assert np.abs(diff).max() <= NEAREST_SPACING_M / 2
    assert np.mean(np.abs(diff) < 0.01) > 0.99  # exact for almost every point


def test_membership_matches_sjoin(red) -> None:
    rng = np.random.default_rng(6)
    pts = gpd.GeoSeries(shapely.points(rng.uniform(113.5, 118.5, 20_000), rng.uniform(24.5, 30.1, 20_000)), crs=4326)
    ours = redline_overlap(pts)
    ref = gpd.sjoin(gpd.GeoDataFrame(geometry=pts), red[["zone_id", "geometry"]], predicate="intersects")
    assert set(np.flatnonzero(ours["overlaps"].to_numpy())) == set(ref.index)


def test_buffer_and_polygon_share() -> None:
    # a site 1.8 km from a red line: no overlap, but a 2 km buffer reaches it
    site = gpd.GeoSeries([Point(115.89, 28.68)], crs=4326)
    plain = redline_overlap(site)
    buffered = redline_overlap(site, buffer_m=2500)
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
    sub = red.iloc[:3]
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
