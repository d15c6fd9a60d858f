"""Tests for ganpo_geo.crs: GCJ-02/BD-09 conversions, CRS parsing, to_wgs84."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import prcoords
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from ganpo_geo import CoordinateError, UnknownCRSError
from ganpo_geo.crs import (
    JIANGXI_ALBERS,
    area_km2,
    bd09_to_gcj02,
    bd09_to_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    in_china,
    parse_crs,
    to_wgs84,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

# Jiangxi's extent with a margin
JX_LON = st.floats(113.0, 119.0, allow_nan=False)
JX_LAT = st.floats(24.0, 30.6, allow_nan=False)


def _jiangxi_grid(step: float = 0.01) -> tuple[np.ndarray, np.ndarray]:
    lon, lat = np.meshgrid(np.arange(113.5, 118.6, step), np.arange(24.4, 30.15, step))
    return lon.ravel(), lat.ravel()


def test_round_trip_dense_grid_jiangxi() -> None:
    lon, lat = _jiangxi_grid(0.01)  # ~290,000 points, about 1 km apart
    back_lon, back_lat = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
    assert np.abs(back_lon - lon).max() < 1e-6
    assert np.abs(back_lat - lat).max() < 1e-6
    # the implementation is far better than the requirement: hold it there
    assert max(np.abs(back_lon - lon).max(), np.abs(back_lat - lat).max()) < 1e-9


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(JX_LON, JX_LAT), min_size=1, max_size=50),
    st.sampled_from(["gcj", "bd"]),
)
def test_round_trip_property(points: list[tuple[float, float]], system: str) -> None:
    lon, lat = np.array(points).T
    if system == "gcj":
        back = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
    else:
        back = bd09_to_wgs84(*wgs84_to_bd09(lon, lat))
    np.testing.assert_allclose(back[0], lon, rtol=0, atol=1e-6)
    np.testing.assert_allclose(back[1], lat, rtol=0, atol=1e-6)


@settings(max_examples=300, deadline=None)
@given(JX_LON, JX_LAT)
def test_forward_matches_published_implementation(lon: float, lat: float) -> None:
    """prcoords (public domain, Krasovsky constants) is an independent implementation."""
    ref = prcoords.wgs_gcj((lat, lon))
    got_lon, got_lat = wgs84_to_gcj02(lon, lat)
    assert abs(float(got_lon) - ref.lon) < 1e-9
    assert abs(float(got_lat) - ref.lat) < 1e-9
    ref_bd = prcoords.gcj_bd((ref.lat, ref.lon))
    bd_lon, bd_lat = gcj02_to_bd09(got_lon, got_lat)
    assert abs(float(bd_lon) - ref_bd.lon) < 1e-9
    assert abs(float(bd_lat) - ref_bd.lat) < 1e-9


def test_inverse_beats_published_approximate_bd_inverse() -> None:
    lon, lat = _jiangxi_grid(0.1)
    bd = wgs84_to_bd09(lon, lat)
    g_lon, g_lat = bd09_to_gcj02(*bd)
    f_lon, f_lat = gcj02_to_bd09(g_lon, g_lat)
    assert np.abs(f_lon - bd[0]).max() < 1e-9
    assert np.abs(f_lat - bd[1]).max() < 1e-9


def test_offset_size_in_jiangxi() -> None:
    """GCJ-02 shifts Nanchang by several hundred metres (not zero, not kilometres)."""
    g_lon, g_lat = wgs84_to_gcj02(115.89, 28.68)
    dx = (float(g_lon) - 115.89) * 111_320 * np.cos(np.radians(28.68))
    dy = (float(g_lat) - 28.68) * 110_574
    assert 200 < np.hypot(dx, dy) < 1000


def test_shapes_preserved() -> None:
    lon = np.full((3, 4), 116.0)
    lat = np.full((3, 4), 28.0)
    for func in (
        wgs84_to_gcj02,
        gcj02_to_wgs84,
        wgs84_to_bd09,
        bd09_to_wgs84,
        gcj02_to_bd09,
        bd09_to_gcj02,
    ):
        out_lon, out_lat = func(lon, lat)
        assert out_lon.shape == (3, 4) and out_lat.shape == (3, 4)
    s_lon, s_lat = gcj02_to_wgs84(116.0, 28.0)
    assert s_lon.shape == () and s_lat.shape == ()
    b_lon, _ = wgs84_to_gcj02([116.0, 117.0], 28.0)  # broadcasting
    assert b_lon.shape == (2,)


def test_outside_china_unchanged() -> None:
    lon = np.array([2.35, -74.0, 139.7, 151.2, 115.9])  # Paris, New York, Tokyo, Sydney
    lat = np.array([48.85, 40.7, 35.7, -33.9, 60.0])  # ... and Siberia north of the box
    assert not in_china(lon, lat).any()
    for func in (wgs84_to_gcj02, gcj02_to_wgs84):
        out_lon, out_lat = func(lon, lat)
        np.testing.assert_array_equal(out_lon, lon)
        np.testing.assert_array_equal(out_lat, lat)


def test_inputs_not_modified() -> None:
    lon = np.array([116.0, 117.0])
    lat = np.array([28.0, 29.0])
    gcj02_to_wgs84(lon, lat)
    np.testing.assert_array_equal(lon, [116.0, 117.0])


@pytest.mark.parametrize(
    ("lon", "lat", "match"),
    [
        ([116.0, np.nan], [28.0, 28.0], r"index \(1,\).*lon=nan"),
        (116.0, 95.0, "lat=95.0"),
        (-190.0, 28.0, "lon=-190.0"),
        (np.inf, 28.0, "lon=inf"),
        ("east", 28.0, "must be numbers"),
    ],
)
def test_bad_coordinates_raise(lon, lat, match) -> None:
    with pytest.raises(CoordinateError, match=match):
        gcj02_to_wgs84(lon, lat)
    with pytest.raises(ValueError):  # CoordinateError is a ValueError for callers
        wgs84_to_gcj02(lon, lat)


def test_bad_coordinates_coerce() -> None:
    out_lon, out_lat = wgs84_to_gcj02([116.0, np.nan, 200.0], [28.0, 28.0, 28.0], errors="coerce")
    assert np.isfinite(out_lon[0]) and np.isnan(out_lon[1:]).all() and np.isnan(out_lat[1:]).all()


def test_mismatched_shapes() -> None:
    with pytest.raises(CoordinateError, match="different shapes"):
        wgs84_to_gcj02([1.0, 2.0, 3.0], [1.0, 2.0])


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("wgs84", "wgs84"),
        ("WGS-84", "wgs84"),
        ("CGCS2000", "wgs84"),
        ("EPSG:4490", "wgs84"),
        (4326, "wgs84"),
        ("gcj02", "gcj02"),
        ("GCJ-02", "gcj02"),
        ("gaode", "gcj02"),
        ("bd09", "bd09"),
        ("Baidu", "bd09"),
        ("EPSG:4549", "proj"),
        ("+proj=utm +zone=50 +datum=WGS84", "proj"),
    ],
)
def test_parse_crs(name, kind) -> None:
    assert parse_crs(name).kind == kind


@pytest.mark.parametrize("name", ["mars2000", "EPSG:999999", "", "wgs48"])
def test_unknown_crs(name) -> None:
    with pytest.raises(UnknownCRSError, match=r"CRS .*use wgs84, cgcs2000, gcj02"):
        parse_crs(name)


def test_to_wgs84_gcj_geometries_and_gdf() -> None:
    wgs = shapely.points([115.89, 114.93], [28.68, 25.83])
    g_lon, g_lat = wgs84_to_gcj02([115.89, 114.93], [28.68, 25.83])
    gcj = shapely.points(g_lon, g_lat)
    back = to_wgs84(gcj, crs="gcj02")
    assert shapely.equals_exact(back, wgs, tolerance=1e-9).all()
    gdf = gpd.GeoDataFrame({"name": ["a", "b"]}, geometry=gcj, crs=4326)
    out = to_wgs84(gdf, crs="gcj02")  # labelled WGS84 but really GCJ-02
    assert out.crs.to_epsg() == 4326
    assert list(out["name"]) == ["a", "b"]
    assert shapely.equals_exact(out.geometry.to_numpy(), wgs, tolerance=1e-9).all()
    # the input is not modified
    assert shapely.equals_exact(gdf.geometry.to_numpy(), gcj, tolerance=0).all()


def test_to_wgs84_projected_and_polygon() -> None:
    # A polygon in CGCS2000 / 3-degree Gauss-Kruger CM 117E (EPSG:4548), around Nanchang
    poly = shapely.box(115.8, 28.6, 116.0, 28.8)
    gdf = gpd.GeoDataFrame(geometry=[poly], crs=4326).to_crs(4548)
    out = to_wgs84(gdf)
    assert out.geometry.iloc[0].equals_exact(poly, tolerance=1e-7) or (
        out.geometry.iloc[0].symmetric_difference(poly).area < 1e-10
    )


def test_to_wgs84_requires_crs_when_missing() -> None:
    gdf = gpd.GeoDataFrame(geometry=[shapely.Point(116, 28)])
    with pytest.raises(UnknownCRSError, match="no CRS"):
        to_wgs84(gdf)


def test_to_wgs84_out_of_range_gcj() -> None:
    with pytest.raises(CoordinateError):
        to_wgs84(shapely.Point(116, 95), crs="gcj02")


def test_albers_crs() -> None:
    operation = JIANGXI_ALBERS.coordinate_operation
    assert operation.method_name == "Albers Equal Area"
    params = {p.name: p.value for p in operation.params}
    assert params["Latitude of 1st standard parallel"] == 25
    assert params["Latitude of 2nd standard parallel"] == 30
    assert params["Longitude of false origin"] == 116
    assert JIANGXI_ALBERS.ellipsoid.name == "GRS 1980"
    assert JIANGXI_ALBERS.is_projected
    # a 1 x 1 degree cell at 28N is about 98 x 111 km
    assert 10_500 < area_km2([shapely.box(115.5, 27.5, 116.5, 28.5)])[0] < 11_200
