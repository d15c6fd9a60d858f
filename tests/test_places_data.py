"""Checks of the sourced place tables (county seats, protected areas, real places, river landmarks)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import shapely

from ganpo_geo.layers import load_layer

ROOT = Path(__file__).resolve().parents[1]
TABLES = {
    "county_seats": ROOT / "data" / "boundaries" / "county_seats.csv",
    "protected_areas": ROOT / "data" / "boundaries" / "protected_areas.csv",
    "real_places": ROOT / "tests" / "data" / "real_places.csv",
    "river_landmarks": ROOT / "data" / "rivers" / "river_landmarks.csv",
}
BASINS = {"gan", "fu", "xin", "rao", "xiu", "lake", "xiang", "dongjiang", "beijiang", "yangtze"}


def _rows(name: str) -> list[dict[str, str]]:
    with TABLES[name].open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def counties():
    gdf = load_layer("counties")
    gdf["adcode"] = gdf["adcode"].astype(str)
    return gdf.set_index("adcode")


@pytest.mark.parametrize("name", sorted(TABLES))
def test_every_row_has_a_source_and_wgs84_point(name):
    rows = _rows(name)
    assert rows, f"{name} is empty"
    for row in rows:
        assert row["source"].strip(), f"{name}: row without source: {row}"
        lon, lat = float(row["lon"]), float(row["lat"])
        # Jiangxi with a margin: catches swapped lon/lat and projected numbers
        assert 113.3 < lon < 118.7 and 24.3 < lat < 30.3, f"{name}: {row['lon']},{row['lat']} not in Jiangxi"
        # at least 3 decimals as published
        assert len(row["lon"].split(".")[-1]) >= 3 and len(row["lat"].split(".")[-1]) >= 3


def test_county_seats_are_unique_known_and_inside_their_own_county(counties):
    rows = _rows("county_seats")
    codes = [r["adcode"] for r in rows]
    assert len(codes) == len(set(codes)), "duplicate adcode in county_seats.csv"
    assert set(codes) <= set(counties.index), "adcode not in the bundled counties layer"
    pts = shapely.points([float(r["lon"]) for r in rows], [float(r["lat"]) for r in rows])
    polys = counties.loc[codes].geometry.values
    inside = shapely.contains(np.asarray(polys), pts)
    outside = [r["name_zh"] for r, ok in zip(rows, inside, strict=True) if not ok]
    assert not outside, f"seat outside its own county: {outside}"
    for r in rows:
        assert r["name_zh"] == counties.loc[r["adcode"], "name_zh"]


def test_real_places_expected_county_and_basin(counties):
    rows = _rows("real_places")
    assert len(rows) >= 40
    assert len({r["prefecture"] for r in rows}) == 11, "real places must cover all 11 prefecture cities"
    pts = shapely.points([float(r["lon"]) for r in rows], [float(r["lat"]) for r in rows])
    polys = counties.loc[[r["county_adcode"] for r in rows]].geometry.values
    inside = shapely.contains(np.asarray(polys), pts)
    assert inside.all(), [r["name_zh"] for r, ok in zip(rows, inside, strict=True) if not ok]
    for r in rows:
        assert r["basin"] in BASINS, r
        assert r["on_main_stem"] in {"true", "false"}, r
        assert r["basin_source"].strip(), r
        if r["on_main_stem"] == "true":
            assert r["river"].strip(), f"on_main_stem without a river: {r['name_zh']}"


def test_protected_areas_have_known_category_and_positive_area():
    rows = _rows("protected_areas")
    for r in rows:
        assert r["category"] in {"nature_reserve", "world_heritage", "scenic_area", "wetland", "summit"}, r
        assert r["level"] in {"national", "provincial", "world"}, r
        assert r["position_basis"].strip(), r
        if r["area_km2"]:
            assert float(r["area_km2"]) > 0
            assert r["area_source"].strip(), r
    names = " ".join(r["name_zh"] for r in rows)
    for must in ("庐山", "三清山", "井冈山", "黄岗山", "南矶", "鄱阳湖"):
        assert must in names, f"{must} missing from protected_areas.csv"


def test_river_landmarks_kind():
    for r in _rows("river_landmarks"):
        assert r["kind"] in {"bridge", "confluence", "bank", "reach"}, r
        assert r["river_zh"].strip() and r["url"].strip(), r
