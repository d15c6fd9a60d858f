"""Coordinate systems: WGS84/CGCS2000, GCJ-02 and BD-09 conversions, and the Jiangxi equal-area CRS.

GCJ-02 ("Mars coordinates") is the obfuscated datum of AMap/Gaode, Tencent and Google China
maps; BD-09 is Baidu's, derived from GCJ-02. Both shift points in Jiangxi by several hundred
metres. All converters are vectorized numpy: they take scalars or arrays of longitude and
latitude (degrees) and return a ``(lon, lat)`` tuple of float64 arrays of the broadcast shape.

The GCJ-02 offset is only defined inside China; points outside the usual China box
(72.004-137.8347E, 0.8293-55.8271N, the convention of published implementations) pass through
GCJ-02 conversions unchanged. The box is coarse: it also covers neighbouring countries, where
the offset is applied as the Chinese map apps do.

Examples
--------
>>> from ganpo_geo.crs import wgs84_to_gcj02, gcj02_to_wgs84
>>> lon, lat = wgs84_to_gcj02(115.89, 28.68)   # Nanchang
>>> back_lon, back_lat = gcj02_to_wgs84(lon, lat)
>>> bool(abs(back_lon - 115.89) < 1e-9 and abs(back_lat - 28.68) < 1e-9)
True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pyproj
import shapely

from ganpo_geo._errors import CoordinateError, UnknownCRSError
from ganpo_geo.types import CRSLike, GeometryLike

if TYPE_CHECKING:
    import geopandas as gpd
    from numpy.typing import ArrayLike, NDArray

__all__ = [
    "CGCS2000",
    "JIANGXI_ALBERS",
    "WGS84",
    "CRSSpec",
    "area_km2",
    "as_sites",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "in_china",
    "parse_crs",
    "polygonal",
    "to_albers",
    "to_wgs84",
    "transformer",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

#: Storage and exchange CRS.
WGS84 = pyproj.CRS.from_epsg(4326)
#: China's official datum; within a metre of WGS84, treated as identical here.
CGCS2000 = pyproj.CRS.from_epsg(4490)
#: Equal-area Albers for Jiangxi (standard parallels 25N and 30N, central meridian 116E, GRS80):
#: every area and length in ganpo_geo is measured in this CRS.
JIANGXI_ALBERS = pyproj.CRS.from_proj4(
    "+proj=aea +lat_0=0 +lon_0=116 +lat_1=25 +lat_2=30 +x_0=0 +y_0=0 +ellps=GRS80 +units=m +no_defs +type=crs"
)

# Krasovsky 1940 ellipsoid, as in the original GCJ-02 algorithm.
_GCJ_A = 6378245.0
_GCJ_EE = 0.00669342162296594323
_BD_X_PI = np.pi * 3000.0 / 180.0
_BD_DLON = 0.0065
_BD_DLAT = 0.006
# The box inside which the GCJ-02 offset is applied (the convention of published implementations).
_CHINA_BOX = (72.004, 0.8293, 137.8347, 55.8271)
_INVERSE_STEP_TOL_DEG = 4e-8
_INVERSE_MAX_ITER = 30

Errors = Literal["raise", "coerce"]


def _as_lonlat(lon: ArrayLike, lat: ArrayLike, errors: Errors) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any]]:
    """Broadcast to float arrays and check ranges; return (lon, lat, bad_mask)."""
    try:
        lon_arr = np.asarray(lon, dtype="float64")
        lat_arr = np.asarray(lat, dtype="float64")
    except (TypeError, ValueError) as exc:
        msg = f"coordinates must be numbers: {exc}"
        raise CoordinateError(msg) from None
    try:
        lon_arr, lat_arr = np.broadcast_arrays(lon_arr, lat_arr)
    except ValueError:
        msg = f"lon and lat have different shapes: {lon_arr.shape} and {lat_arr.shape}"
        raise CoordinateError(msg) from None
    with np.errstate(invalid="ignore"):
        bad = ~(np.isfinite(lon_arr) & np.isfinite(lat_arr))
        bad |= (np.abs(lon_arr) > 180.0) | (np.abs(lat_arr) > 90.0)
    if bad.any() and errors == "raise":
        idx = np.argwhere(bad)[0]
        where = f" at index {tuple(int(i) for i in idx)}" if lon_arr.ndim else ""
        bad_lon, bad_lat = lon_arr[tuple(idx)], lat_arr[tuple(idx)]
        msg = (
            f"invalid coordinate{where}: lon={bad_lon}, lat={bad_lat} "
            f"({int(bad.sum())} bad of {bad.size}); longitude must be in [-180, 180] and "
            "latitude in [-90, 90], with no NaN"
        )
        raise CoordinateError(msg)
    return lon_arr.copy(), lat_arr.copy(), bad


def in_china(lon: ArrayLike, lat: ArrayLike) -> NDArray[np.bool_]:
    """Whether points lie in the box where the GCJ-02 offset applies.

    Parameters
    ----------
    lon, lat : array_like
        Longitude and latitude in degrees.

    Returns
    -------
    numpy.ndarray of bool
        True inside 72.004-137.8347E, 0.8293-55.8271N.
    """
    lon_arr = np.asarray(lon, dtype="float64")
    lat_arr = np.asarray(lat, dtype="float64")
    west, south, east, north = _CHINA_BOX
    return (lon_arr >= west) & (lon_arr <= east) & (lat_arr >= south) & (lat_arr <= north)


def _gcj_delta(lon: NDArray[Any], lat: NDArray[Any]) -> tuple[NDArray[Any], NDArray[Any]]:
    """GCJ-02 offset (dlon, dlat) in degrees at WGS84 points.

    The published formula takes twelve sines; here sin(6a) comes from sin(2a), sin(a) from
    sin(a/3) (triple-angle identity) and cos(lat) from sin(lat), so only eight are evaluated.
    The result agrees with the textbook form to ~1e-15 degrees.
    """
    x = lon - 105.0
    y = lat - 35.0
    x_pi = x * np.pi
    y_pi = y * np.pi
    s2x = np.sin(2.0 * x_pi)
    s6x = s2x * (3.0 - 4.0 * s2x * s2x)
    sx3 = np.sin(x_pi / 3.0)
    sx = sx3 * (3.0 - 4.0 * sx3 * sx3)
    sy3 = np.sin(y_pi / 3.0)
    sy = sy3 * (3.0 - 4.0 * sy3 * sy3)
    common = 20.0 * (s6x + s2x)
    sqrt_abs_x = np.sqrt(np.abs(x))
    xy = 0.1 * x * y
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + xy + 0.2 * sqrt_abs_x
    dlat += (common + 20.0 * sy + 40.0 * sy3 + 160.0 * np.sin(y_pi / 12.0) + 320.0 * np.sin(y_pi / 30.0)) * (2.0 / 3.0)
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + xy + 0.1 * sqrt_abs_x
    dlon += (common + 20.0 * sx + 40.0 * sx3 + 150.0 * np.sin(x_pi / 12.0) + 300.0 * np.sin(x_pi / 30.0)) * (2.0 / 3.0)
    sin_lat = np.sin(np.radians(lat))
    magic = 1.0 - _GCJ_EE * sin_lat * sin_lat
    sqrt_magic = np.sqrt(magic)
    cos_lat = np.sqrt(1.0 - sin_lat * sin_lat)  # latitude is within [-90, 90]
    dlat *= (magic * sqrt_magic) * (180.0 / (_GCJ_A * (1.0 - _GCJ_EE) * np.pi))
    dlon *= sqrt_magic / cos_lat * (180.0 / (_GCJ_A * np.pi))
    return dlon, dlat


def _finish(lon: NDArray[Any], lat: NDArray[Any], bad: NDArray[Any]) -> tuple[NDArray[Any], NDArray[Any]]:
    lon[bad] = np.nan
    lat[bad] = np.nan
    return lon, lat


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike, *, errors: Errors = "raise") -> tuple[NDArray[Any], NDArray[Any]]:
    """Convert WGS84 (or CGCS2000) longitude/latitude to GCJ-02.

    Parameters
    ----------
    lon, lat : array_like
        Degrees; scalars or arrays that broadcast together.
    errors : {"raise", "coerce"}
        ``"raise"`` (default) raises :class:`~ganpo_geo.CoordinateError` on NaN or
        out-of-range input; ``"coerce"`` returns NaN for those points.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        GCJ-02 longitude and latitude, same shape as the input. Points outside China are
        returned unchanged.

    Examples
    --------
    >>> lon, lat = wgs84_to_gcj02(115.89, 28.68)
    >>> print(f"{float(lon):.4f} {float(lat):.4f}")
    115.8948 28.6766

    Points outside China pass through unchanged:

    >>> [float(v) for v in wgs84_to_gcj02(2.35, 48.85)]
    [2.35, 48.85]
    """
    lon_arr, lat_arr, bad = _as_lonlat(lon, lat, errors)
    inside = in_china(lon_arr, lat_arr) & ~bad
    dlon, dlat = _gcj_delta(lon_arr[inside], lat_arr[inside])
    lon_arr[inside] += dlon
    lat_arr[inside] += dlat
    return _finish(lon_arr, lat_arr, bad)


def _invert(
    offset: Callable[[NDArray[Any], NDArray[Any]], tuple[NDArray[Any], NDArray[Any]]],
    target_lon: NDArray[Any],
    target_lat: NDArray[Any],
) -> tuple[NDArray[Any], NDArray[Any]]:
    """Invert ``p -> p + offset(p)`` by fixed-point iteration ``p = target - offset(p)``.

    The offsets used here are contractions (Lipschitz constant L about 5e-3 for GCJ-02 and
    under 0.025 for BD-09), so the error after a step is at most L / (1 - L) times the step:
    stopping when every step is under 4e-8 degrees bounds the error by 1e-9 degrees (0.1 mm).
    Only points that have not converged are iterated again.
    """
    d_lon, d_lat = offset(target_lon, target_lat)
    lon, lat = target_lon - d_lon, target_lat - d_lat
    active = np.arange(lon.size)
    for _ in range(_INVERSE_MAX_ITER):
        if active.size == 0:
            break
        d_lon, d_lat = offset(lon[active], lat[active])
        new_lon = target_lon[active] - d_lon
        new_lat = target_lat[active] - d_lat
        step = np.maximum(np.abs(new_lon - lon[active]), np.abs(new_lat - lat[active]))
        lon[active] = new_lon
        lat[active] = new_lat
        active = active[step > _INVERSE_STEP_TOL_DEG]
    return lon, lat


def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike, *, errors: Errors = "raise") -> tuple[NDArray[Any], NDArray[Any]]:
    """Convert GCJ-02 longitude/latitude to WGS84 by iterative inversion.

    The forward offset is inverted by fixed-point iteration with an error bound of 1e-9
    degrees (0.1 mm), far inside the 1e-6 degrees asked of round trips.

    Parameters
    ----------
    lon, lat : array_like
        GCJ-02 degrees; scalars or arrays that broadcast together.
    errors : {"raise", "coerce"}
        See :func:`wgs84_to_gcj02`.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        WGS84 longitude and latitude, same shape as the input. Points outside China are
        returned unchanged.

    Examples
    --------
    A point copied from AMap (GCJ-02) in central Nanchang, back to WGS84:

    >>> lon, lat = gcj02_to_wgs84(115.8948, 28.6766)
    >>> print(f"{float(lon):.4f} {float(lat):.4f}")
    115.8900 28.6800

    Arrays keep their shape:

    >>> gcj02_to_wgs84([115.8948, 114.9358], [28.6766, 25.8279])[0].shape
    (2,)
    """
    lon_arr, lat_arr, bad = _as_lonlat(lon, lat, errors)
    inside = in_china(lon_arr, lat_arr) & ~bad
    w_lon, w_lat = _invert(_gcj_delta, lon_arr[inside], lat_arr[inside])
    lon_arr[inside] = w_lon
    lat_arr[inside] = w_lat
    return _finish(lon_arr, lat_arr, bad)


def _bd_forward_flat(lon: NDArray[Any], lat: NDArray[Any]) -> tuple[NDArray[Any], NDArray[Any]]:
    z = np.hypot(lon, lat) + 0.00002 * np.sin(lat * _BD_X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _BD_X_PI)
    return z * np.cos(theta) + _BD_DLON, z * np.sin(theta) + _BD_DLAT


def _bd_offset(lon: NDArray[Any], lat: NDArray[Any]) -> tuple[NDArray[Any], NDArray[Any]]:
    b_lon, b_lat = _bd_forward_flat(lon, lat)
    return b_lon - lon, b_lat - lat


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike, *, errors: Errors = "raise") -> tuple[NDArray[Any], NDArray[Any]]:
    """Convert GCJ-02 longitude/latitude to Baidu BD-09.

    Parameters
    ----------
    lon, lat : array_like
        GCJ-02 degrees.
    errors : {"raise", "coerce"}
        See :func:`wgs84_to_gcj02`.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        BD-09 longitude and latitude, same shape as the input.
    """
    lon_arr, lat_arr, bad = _as_lonlat(lon, lat, errors)
    ok = ~bad
    lon_arr[ok], lat_arr[ok] = _bd_forward_flat(lon_arr[ok], lat_arr[ok])
    return _finish(lon_arr, lat_arr, bad)


def bd09_to_gcj02(lon: ArrayLike, lat: ArrayLike, *, errors: Errors = "raise") -> tuple[NDArray[Any], NDArray[Any]]:
    """Convert Baidu BD-09 longitude/latitude to GCJ-02.

    Inverts :func:`gcj02_to_bd09` by fixed-point iteration (error under 1e-9 degrees),
    rather than the usual closed-form approximation that is off by up to ~1e-6 degrees.

    Parameters
    ----------
    lon, lat : array_like
        BD-09 degrees.
    errors : {"raise", "coerce"}
        See :func:`wgs84_to_gcj02`.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        GCJ-02 longitude and latitude, same shape as the input.
    """
    lon_arr, lat_arr, bad = _as_lonlat(lon, lat, errors)
    ok = ~bad
    lon_arr[ok], lat_arr[ok] = _invert(_bd_offset, lon_arr[ok], lat_arr[ok])
    return _finish(lon_arr, lat_arr, bad)


def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike, *, errors: Errors = "raise") -> tuple[NDArray[Any], NDArray[Any]]:
    """Convert WGS84 longitude/latitude to BD-09 (through GCJ-02).

    Parameters
    ----------
    lon, lat : array_like
        WGS84 degrees.
    errors : {"raise", "coerce"}
        See :func:`wgs84_to_gcj02`.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        BD-09 longitude and latitude, same shape as the input.
    """
    g_lon, g_lat = wgs84_to_gcj02(lon, lat, errors=errors)
    return gcj02_to_bd09(g_lon, g_lat, errors="coerce")


def bd09_to_wgs84(lon: ArrayLike, lat: ArrayLike, *, errors: Errors = "raise") -> tuple[NDArray[Any], NDArray[Any]]:
    """Convert BD-09 longitude/latitude to WGS84 (through GCJ-02).

    Parameters
    ----------
    lon, lat : array_like
        BD-09 degrees.
    errors : {"raise", "coerce"}
        See :func:`wgs84_to_gcj02`.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        WGS84 longitude and latitude, same shape as the input.
    """
    g_lon, g_lat = bd09_to_gcj02(lon, lat, errors=errors)
    return gcj02_to_wgs84(g_lon, g_lat, errors="coerce")


# --------------------------------------------------------------------------- CRS names

_ALIASES: dict[str, str] = {
    "wgs84": "wgs84",
    "wgs1984": "wgs84",
    "epsg4326": "wgs84",
    "4326": "wgs84",
    "cgcs2000": "cgcs2000",
    "epsg4490": "cgcs2000",
    "4490": "cgcs2000",
    "gcj02": "gcj02",
    "gcj": "gcj02",
    "mars": "gcj02",
    "amap": "gcj02",
    "gaode": "gcj02",
    "bd09": "bd09",
    "bd09ll": "bd09",
    "baidu": "bd09",
}


@dataclass(frozen=True)
class CRSSpec:
    """A parsed input CRS.

    Attributes
    ----------
    kind : {"wgs84", "gcj02", "bd09", "proj"}
        ``"wgs84"`` also covers CGCS2000; ``"proj"`` is any other pyproj CRS.
    crs : pyproj.CRS or None
        The pyproj CRS for ``kind == "proj"`` (and WGS84 for ``"wgs84"``).
    name : str
        The name as the user gave it, for messages.
    """

    kind: Literal["wgs84", "gcj02", "bd09", "proj"]
    crs: pyproj.CRS | None
    name: str


def parse_crs(crs: Any) -> CRSSpec:
    """Parse a CRS given as an alias, an EPSG code, a PROJ string or a pyproj CRS.

    Parameters
    ----------
    crs : str, int or pyproj.CRS
        ``"wgs84"``, ``"cgcs2000"``, ``"gcj02"`` (also ``"gaode"``, ``"amap"``, ``"mars"``),
        ``"bd09"`` (also ``"baidu"``), ``"EPSG:xxxx"``, an integer EPSG code, a PROJ or WKT
        string, or anything else :meth:`pyproj.CRS.from_user_input` accepts.

    Returns
    -------
    CRSSpec

    Raises
    ------
    UnknownCRSError
        If the CRS is neither an alias nor understood by pyproj.

    Examples
    --------
    >>> parse_crs("gcj02").kind
    'gcj02'
    >>> parse_crs("bd09").kind
    'bd09'
    >>> parse_crs(4490).kind  # CGCS2000 is treated as WGS84
    'wgs84'
    """
    if isinstance(crs, CRSSpec):
        return crs
    name = str(crs)
    if isinstance(crs, str | int):
        key = str(crs).strip().lower().replace("-", "").replace("_", "").replace(":", "")
        key = key.replace(" ", "")
        alias = _ALIASES.get(key)
        if alias in ("wgs84", "cgcs2000"):
            return CRSSpec("wgs84", WGS84, name)
        if alias == "gcj02":
            return CRSSpec("gcj02", None, name)
        if alias == "bd09":
            return CRSSpec("bd09", None, name)
    try:
        parsed = pyproj.CRS.from_user_input(crs)
    except (pyproj.exceptions.CRSError, TypeError, ValueError):
        msg = (
            f"unknown CRS {name!r}: use wgs84, cgcs2000, gcj02, bd09, an EPSG code such as EPSG:4549, or a PROJ string"
        )
        raise UnknownCRSError(msg) from None
    ellipsoid = parsed.ellipsoid
    if ellipsoid is not None and not 6.3e6 < ellipsoid.semi_major_metre < 6.4e6:
        msg = (
            f"CRS {name!r} is {parsed.name}, not an Earth CRS: use wgs84, cgcs2000, gcj02 "
            "(for Mars coordinates of Chinese web maps), bd09 or an EPSG code"
        )
        raise UnknownCRSError(msg)
    if parsed.equals(WGS84, ignore_axis_order=True) or parsed.equals(CGCS2000, ignore_axis_order=True):
        return CRSSpec("wgs84", WGS84, name)
    return CRSSpec("proj", parsed, name)


def _coord_func(spec: CRSSpec) -> Callable[[NDArray[Any]], NDArray[Any]] | None:
    """A function mapping an (N, 2) coordinate array to WGS84, or None for identity."""
    if spec.kind == "wgs84":
        return None
    if spec.kind in ("gcj02", "bd09"):
        convert = gcj02_to_wgs84 if spec.kind == "gcj02" else bd09_to_wgs84

        def to_wgs(coords: NDArray[Any]) -> NDArray[Any]:
            lon, lat = convert(coords[:, 0], coords[:, 1], errors="raise")
            return np.column_stack([lon, lat])

        return to_wgs
    to_wgs84_transformer = transformer(spec.crs, WGS84)

    def project(coords: NDArray[Any]) -> NDArray[Any]:
        x, y = to_wgs84_transformer.transform(coords[:, 0], coords[:, 1], errcheck=False)
        out = np.column_stack([x, y])
        if not np.isfinite(out).all():
            first = coords[~np.isfinite(out).all(axis=1)][0]
            msg = (
                f"coordinate ({first[0]}, {first[1]}) cannot be transformed from "
                f"{spec.name} to WGS84: check the CRS of the data"
            )
            raise CoordinateError(msg)
        return out

    return project


def to_wgs84(data: Any, crs: Any = None) -> Any:
    """Convert geometries or a GeoDataFrame to WGS84 (EPSG:4326).

    Parameters
    ----------
    data : GeoDataFrame, GeoSeries, shapely geometry or array of geometries
        The data to convert.
    crs : str, int or pyproj.CRS, optional
        The CRS the coordinates are actually in: ``"wgs84"``, ``"cgcs2000"``, ``"gcj02"``,
        ``"bd09"`` or any EPSG/PROJ string. For a GeoDataFrame/GeoSeries it overrides the
        stored CRS (files from Chinese web maps are often labelled WGS84 but hold GCJ-02);
        when omitted, the stored CRS is used. Plain geometries without ``crs`` are assumed
        to be WGS84 already.

    Returns
    -------
    Same type as ``data``
        Converted to WGS84; a GeoDataFrame/GeoSeries gets ``crs="EPSG:4326"``.

    Raises
    ------
    UnknownCRSError
        If ``crs`` is not understood, or a GeoDataFrame has no CRS and none is given.
    CoordinateError
        If a coordinate is out of range for its CRS.

    Examples
    --------
    A GeoDataFrame of points pasted from AMap (no CRS of its own) and one in CGCS2000 / 3-degree
    Gauss-Kruger (EPSG:4548):

    >>> import geopandas as gpd
    >>> from shapely.geometry import Point
    >>> amap = gpd.GeoDataFrame(geometry=[Point(115.8948, 28.6766)])
    >>> p = to_wgs84(amap, crs="gcj02").geometry.iloc[0]
    >>> print(f"{p.x:.4f} {p.y:.4f}")
    115.8900 28.6800
    >>> gk = gpd.GeoDataFrame(geometry=[Point(500000, 3170000)], crs="EPSG:4548")
    >>> p = to_wgs84(gk).geometry.iloc[0]
    >>> print(f"{p.x:.4f} {p.y:.4f}")
    117.0000 28.6457
    """
    import geopandas as gpd  # lazy on purpose: crs stays importable without loading geopandas

    if isinstance(data, gpd.GeoDataFrame | gpd.GeoSeries):
        if crs is None:
            if data.crs is None:
                msg = (
                    "the data has no CRS: pass crs= (wgs84, cgcs2000, gcj02, bd09 or an EPSG "
                    "code) to say what its coordinates are"
                )
                raise UnknownCRSError(msg)
            crs = data.crs
        func = _coord_func(parse_crs(crs))
        out = data.copy()
        geoms = out.geometry.array if isinstance(out, gpd.GeoDataFrame) else out.array
        converted = np.asarray(geoms, dtype=object)
        if func is not None:
            converted = shapely.transform(converted, func)
        if isinstance(out, gpd.GeoDataFrame):
            out = out.set_geometry(gpd.GeoSeries(converted, index=out.index, crs=WGS84), crs=WGS84)
            return out
        return gpd.GeoSeries(converted, index=out.index, crs=WGS84, name=out.name)
    func = _coord_func(parse_crs(crs if crs is not None else "wgs84"))
    if func is None:
        return data
    return shapely.transform(data, func)


def area_km2(geometries: gpd.GeoSeries | Any) -> NDArray[Any]:
    """Area in km2 of WGS84 geometries, measured in :data:`JIANGXI_ALBERS`.

    Parameters
    ----------
    geometries : GeoSeries or array of shapely geometries
        In WGS84 (a GeoSeries in another CRS is reprojected first).

    Returns
    -------
    numpy.ndarray
        Areas in square kilometres.
    """
    import geopandas as gpd  # lazy on purpose: crs stays importable without loading geopandas

    series = geometries if isinstance(geometries, gpd.GeoSeries) else gpd.GeoSeries(geometries, crs=WGS84)
    if series.crs is None:
        series = series.set_crs(WGS84)
    areas: NDArray[Any] = series.to_crs(JIANGXI_ALBERS).area.to_numpy() / 1e6
    return areas


def polygonal(geometries: Any) -> Any:
    """Keep only the polygon parts of each geometry (make_valid can add lines and points).

    Parameters
    ----------
    geometries : shapely geometry or array of them

    Returns
    -------
    Same shape as the input: Polygon, MultiPolygon or empty Polygon per item.
    """
    arr = np.atleast_1d(np.asarray(geometries, dtype=object))
    out = np.empty(arr.shape, dtype=object)
    for i, geom in enumerate(arr):
        parts = shapely.get_parts(geom)
        kinds = shapely.get_type_id(parts)
        keep = parts[kinds == shapely.GeometryType.POLYGON]
        multi = parts[kinds == shapely.GeometryType.MULTIPOLYGON]
        flat = np.concatenate([keep, shapely.get_parts(multi)]) if multi.size else keep
        if flat.size == 0:
            out[i] = shapely.Polygon()
        elif flat.size == 1:
            out[i] = flat[0]
        else:
            out[i] = shapely.MultiPolygon(list(flat))
    return out if np.ndim(geometries) else out[0]


def albers_transformer() -> pyproj.Transformer:
    """The WGS84 -> :data:`JIANGXI_ALBERS` transformer (lon/lat order), built once per process.

    Building a transformer takes tens of milliseconds; every module that projects point
    coordinates to metres shares this one (from the one cache, :func:`transformer`).

    Returns
    -------
    pyproj.Transformer
    """
    return transformer(WGS84, JIANGXI_ALBERS)


def to_albers(geometries: Any) -> np.ndarray:
    """Project WGS84 geometries to :data:`JIANGXI_ALBERS`, repairing what projection breaks.

    Polygons valid in WGS84 can self-intersect by floating-point noise once projected (parts
    that touch at a point); those few are repaired with ``make_valid``, keeping their
    polygonal parts.

    Parameters
    ----------
    geometries : GeoSeries or array of shapely geometries (WGS84)

    Returns
    -------
    numpy.ndarray
        Geometries in metres.
    """
    import geopandas as gpd  # lazy on purpose: crs stays importable without loading geopandas

    series = (
        geometries
        if isinstance(geometries, gpd.GeoSeries)
        else gpd.GeoSeries(np.atleast_1d(np.asarray(geometries, dtype=object)), crs=WGS84)
    )
    if series.crs is None:
        series = series.set_crs(WGS84)
    out: np.ndarray
    if series.crs == WGS84:
        # the process's one WGS84 -> Albers transformer (GeoSeries.to_crs would build a second
        # one, ~25 ms), applied the way to_crs applies it: same coordinates, bit for bit
        out = _transform(series.to_numpy(), transformer(WGS84, JIANGXI_ALBERS))
    else:
        out = series.to_crs(JIANGXI_ALBERS).to_numpy().copy()
    kinds = shapely.get_type_id(out)
    areal = (kinds == shapely.GeometryType.POLYGON) | (kinds == shapely.GeometryType.MULTIPOLYGON)
    bad = np.flatnonzero(areal & ~shapely.is_valid(out))
    if bad.size:
        out[bad] = polygonal(shapely.make_valid(out[bad]))
    return out


def _transform(geometries: np.ndarray, tr: pyproj.Transformer) -> np.ndarray:
    """New geometries with every coordinate through ``tr`` (as ``GeometryArray.to_crs`` does it)."""
    has_z = shapely.has_z(geometries)
    out = np.empty_like(geometries)
    for sel, include_z in ((~has_z, False), (has_z, True)):
        coords = shapely.get_coordinates(geometries[sel], include_z=include_z)
        moved = tr.transform(*coords.T)
        out[sel] = shapely.set_coordinates(geometries[sel].copy(), np.array(moved).T)
    return out


@lru_cache(maxsize=64)
def transformer(source: CRSLike, target: CRSLike) -> pyproj.Transformer:
    """The ``always_xy`` transformer from one CRS to another, built once per pair (the one cache).

    Every module that projects coordinates gets its transformer here, so each pair is built
    once per process.

    Parameters
    ----------
    source, target : CRSLike
        CRSs pyproj understands (a :class:`pyproj.CRS`, ``"EPSG:4548"``, 4326 ...); not the
        ``gcj02``/``bd09`` aliases, which are not projections (see :func:`to_wgs84`).

    Returns
    -------
    pyproj.Transformer

    Examples
    --------
    >>> transformer(WGS84, JIANGXI_ALBERS) is transformer(WGS84, JIANGXI_ALBERS)
    True
    """
    return pyproj.Transformer.from_crs(source, target, always_xy=True)


def as_sites(geometries: GeometryLike, crs: CRSLike | None = None) -> gpd.GeoSeries:
    """Geometries as a WGS84 GeoSeries: the one input normaliser of the site functions.

    :func:`~ganpo_geo.zoning.units_at`, :func:`~ganpo_geo.redline.redline_overlap` and
    :func:`~ganpo_geo.rivers.snap` read their ``geometries`` through it.

    Parameters
    ----------
    geometries : GeometryLike
        A GeoSeries or GeoDataFrame (its geometry column) in any CRS, one shapely geometry, or a
        sequence/array of them.
    crs : CRSLike, optional
        The CRS the coordinates are in. For Geo* input it overrides the stored CRS (files from
        Chinese web maps are often labelled WGS84 but hold GCJ-02); plain geometries without
        ``crs`` are taken as WGS84.

    Returns
    -------
    geopandas.GeoSeries
        In WGS84 (EPSG:4326), keeping a Geo* input's index.

    Raises
    ------
    UnknownCRSError
        ``crs`` is not understood, or Geo* input has no CRS and none is given.

    Examples
    --------
    >>> import shapely
    >>> as_sites([shapely.Point(115.86, 28.68)]).crs.to_epsg()
    4326
    """
    import geopandas as gpd  # lazy like the rest of this module: importing crs stays light

    if isinstance(geometries, gpd.GeoDataFrame):
        geometries = geometries.geometry
    if isinstance(geometries, gpd.GeoSeries):
        out: gpd.GeoSeries = to_wgs84(geometries, crs=crs)
        return out
    arr = np.atleast_1d(np.asarray(geometries, dtype=object))
    return gpd.GeoSeries(to_wgs84(arr, crs=crs), crs=WGS84)
