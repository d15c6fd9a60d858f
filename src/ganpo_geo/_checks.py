"""Argument and layer checks shared by the public functions (one clear error per bad input)."""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

import geopandas as gpd
import numpy as np
import shapely

from ganpo_geo._errors import CoordinateError, ValidationError
from ganpo_geo._index import coordinates
from ganpo_geo._layerfiles import load_layer
from ganpo_geo.crs import JIANGXI_ALBERS, WGS84, gcj02_to_wgs84, to_albers, transformer

__all__ = [
    "JIANGXI_BOUNDS",
    "check_count",
    "check_geometry_coords",
    "check_layer_usable",
    "check_number",
    "renamed_parameters",
]

_P = ParamSpec("_P")
_R = TypeVar("_R")


def renamed_parameters(**renames: str) -> Callable[[Callable[_P, _R]], Callable[_P, _R]]:
    """Keep old keyword names of a function working for one release, with a DeprecationWarning.

    Parameters
    ----------
    **renames : str
        ``old_name="new_name"`` pairs.

    Returns
    -------
    callable
        A decorator: the function it wraps takes ``old_name=`` as ``new_name=`` (warning
        ``DeprecationWarning``), and refuses both given at once with a :class:`ValidationError`.

    Examples
    --------
    >>> @renamed_parameters(max_distance_m="max_snap_m")
    ... def f(*, max_snap_m: float = 1.0) -> float:
    ...     return max_snap_m
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     f(max_distance_m=2.0)
    2.0
    """

    def decorate(func: Callable[_P, _R]) -> Callable[_P, _R]:
        @functools.wraps(func)
        def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
            for old, new in renames.items():
                if old not in kwargs:
                    continue
                if new in kwargs:
                    msg = f"{func.__name__}: pass {new}= only ({old}= is its deprecated old name)"
                    raise ValidationError(msg)
                warnings.warn(
                    f"{func.__name__}({old}=...) is deprecated and goes in the next release; use {new}=",
                    DeprecationWarning,
                    stacklevel=2,
                )
                kwargs[new] = kwargs.pop(old)
            return func(*args, **kwargs)

        return wrapper

    return decorate


#: Jiangxi's extent in WGS84 degrees (west, south, east, north), rounded outwards.
JIANGXI_BOUNDS = (113.5, 24.4, 118.5, 30.1)
#: How far (degrees) a layer may reach beyond Jiangxi's extent before it is called misplaced.
BOUNDS_TOLERANCE_DEG = 1.0


def check_number(
    value: Any, name: str, *, minimum: float = 0.0, inclusive: bool = False, allow_none: bool = False
) -> float | None:
    """A finite number above ``minimum`` (or at least it when ``inclusive``), else ValidationError.

    Parameters
    ----------
    value : Any
    name : str
        The argument's name, for the message.
    minimum : float
    inclusive : bool
        Whether ``minimum`` itself is allowed.
    allow_none : bool
        Whether None passes (returned as None).

    Returns
    -------
    float or None
    """
    if value is None and allow_none:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        msg = f"{name} must be a number, got {value!r}"
        raise ValidationError(msg) from None
    ok = math.isfinite(number) and (number >= minimum if inclusive else number > minimum)
    if not ok:
        bound = f">= {minimum:g}" if inclusive else f"> {minimum:g}"
        msg = f"{name} must be a finite number {bound}, got {value!r}"
        raise ValidationError(msg)
    return number


def check_count(value: Any, name: str, *, minimum: int = 1, allow_none: bool = False) -> int | None:
    """An integer >= ``minimum``, else ValidationError (booleans and fractions are refused).

    Parameters
    ----------
    value : Any
    name : str
    minimum : int
    allow_none : bool

    Returns
    -------
    int or None
    """
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        msg = f"{name} must be a whole number >= {minimum}, got {value!r}"
        raise ValidationError(msg)
    return int(value)


def check_geometry_coords(geometries: Any, name: str, *, degrees: bool = True) -> None:
    """Raise CoordinateError on the first non-finite (or, in degrees, out-of-range) vertex.

    Parameters
    ----------
    geometries : array of shapely geometries
    name : str
        The argument's name, for the message.
    degrees : bool
        Whether the coordinates are longitude/latitude (then |lon| <= 180, |lat| <= 90).
    """
    geoms = np.asarray(geometries, dtype=object).ravel()
    coords, owner = coordinates(geoms, return_index=True)
    if not len(coords):
        return
    finite = np.isfinite(coords).all(axis=1)
    bad = ~finite
    if degrees:
        with np.errstate(invalid="ignore"):
            bad |= (np.abs(coords[:, 0]) > 180) | (np.abs(coords[:, 1]) > 90)
    if not bad.any():
        return
    k = int(np.flatnonzero(bad)[0])
    row = int(owner[k])
    vertex = k - int(np.flatnonzero(owner == row)[0])
    x, y = coords[k]
    what = "is not a finite number" if not finite[k] else "is outside lon [-180, 180] / lat [-90, 90]"
    where = f"geometry {row}, " if len(geoms) > 1 else ""
    msg = f"{name}: {where}vertex {vertex} ({x}, {y}) {what}"
    raise CoordinateError(msg)


def _province_m() -> shapely.Geometry:
    return to_albers(load_layer("province").geometry.to_numpy())[0]


def check_layer_usable(gdf: gpd.GeoDataFrame, source: str, *, what: str = "layer") -> None:
    """Refuse a zoning layer that cannot work: no features, not polygons, or not in Jiangxi.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        The layer in WGS84 (as :func:`~ganpo_geo.layers.load_layer` returns it).
    source : str
        Its file, for the message.
    what : str
        What the layer is (``control units``, ``red lines``), for the message.

    Raises
    ------
    ValidationError
        With the likely cause (e.g. metres labelled as degrees: try --crs EPSG:4548).
    """
    problem = layer_problem(gdf, source, what=what)
    if problem is not None:
        raise ValidationError(problem[1])


def layer_problem(gdf: gpd.GeoDataFrame, source: str, *, what: str = "layer") -> tuple[str, str] | None:
    """The first reason a layer is unusable, as ``(kind, message)``, or None.

    Kinds: ``no_features``, ``not_polygons``, ``crs_range`` (coordinates outside the
    declared CRS's range), ``outside_jiangxi_bounds``.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
    source : str
    what : str

    Returns
    -------
    tuple or None
    """
    geoms = gdf.geometry.to_numpy()
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if len(gdf) == 0 or not present.any():
        msg = f"{source}: the {what} layer holds no features (or only empty geometries); give the file with the data"
        return "no_features", msg
    types = shapely.get_type_id(geoms[present])
    polygonal = np.isin(types, [shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON])
    if not polygonal.all():
        names = sorted({g.geom_type for g in geoms[present][~polygonal]})
        msg = (
            f"{source}: {int((~polygonal).sum())} of {int(present.sum())} {what} are not polygons "
            f"({', '.join(names)}); {what} must be Polygon or MultiPolygon areas"
        )
        return "not_polygons", msg
    west, south, east, north = shapely.total_bounds(geoms[present])
    metres = max(abs(west), abs(east)) > 1000 or max(abs(south), abs(north)) > 1000
    hint = (
        "metres labelled as degrees? try --crs EPSG:4548 (CGCS2000 / 3-degree Gauss-Kruger CM 117E) or the "
        "file's real projected CRS"
        if metres
        else "check the file's CRS (GCJ-02/BD-09 web-map coordinates need --crs gcj02 / bd09)"
    )
    if not (np.isfinite([west, south, east, north]).all() and abs(west) <= 180 and abs(east) <= 180):
        msg = (
            f"{source}: {what} coordinates ({west:.6g}, {south:.6g}) - ({east:.6g}, {north:.6g}) are outside "
            f"the valid range of degrees; {hint}"
        )
        return "crs_range", msg
    if abs(south) > 90 or abs(north) > 90:
        msg = f"{source}: {what} latitudes {south:.6g} .. {north:.6g} are outside [-90, 90]; {hint}"
        return "crs_range", msg
    jw, js, je, jn = JIANGXI_BOUNDS
    tol = BOUNDS_TOLERANCE_DEG
    if east < jw - tol or west > je + tol or north < js - tol or south > jn + tol:
        msg = (
            f"{source}: the {what} ({west:.3f}, {south:.3f}) - ({east:.3f}, {north:.3f}) lie outside Jiangxi "
            f"({jw}, {js}) - ({je}, {jn}); {hint}"
        )
        return "outside_jiangxi_bounds", msg
    return None


#: A GCJ-02 offset in Jiangxi is 300-600 m; a layer whose border fits the province better by
#: this factor after a GCJ-02 -> WGS84 conversion is most likely GCJ-02 labelled WGS84.
GCJ_IMPROVEMENT = 0.5


def gcj02_shift_warning(union_m: shapely.Geometry, source: str, *, samples: int = 400) -> str | None:
    """A warning when a layer's outer border is shifted ~500 m against Jiangxi's as GCJ-02 would be.

    Parameters
    ----------
    union_m : shapely geometry
        The union of the layer's polygons in the Jiangxi Albers CRS.
    source : str
    samples : int
        Points sampled along the layer's outer border.

    Returns
    -------
    str or None
    """

    if union_m is None or union_m.is_empty:
        return None
    province = _province_m()
    shell = shapely.boundary(shapely.union_all([shapely.Polygon(p.exterior) for p in shapely.get_parts(union_m)]))
    length = shapely.length(shell)
    if length == 0:
        return None
    pts = shapely.line_interpolate_point(shell, np.linspace(0, length, samples, endpoint=False))
    border = shapely.boundary(province)
    d_now = np.median(shapely.distance(pts, border))
    if not 150 <= d_now <= 1500:  # no systematic offset of the GCJ-02 size
        return None
    xy = shapely.get_coordinates(pts)
    to_ll = transformer(JIANGXI_ALBERS, WGS84)
    to_m = transformer(WGS84, JIANGXI_ALBERS)
    lon, lat = to_ll.transform(xy[:, 0], xy[:, 1])
    w_lon, w_lat = gcj02_to_wgs84(lon, lat, errors="coerce")
    x2, y2 = to_m.transform(w_lon, w_lat)
    d_fixed = np.nanmedian(shapely.distance(shapely.points(x2, y2), border))
    if d_fixed < GCJ_IMPROVEMENT * d_now:
        return (
            f"{source}: the layer's outer border is shifted {d_now:.0f} m (median) from Jiangxi's; converted "
            f"from GCJ-02 it would be {d_fixed:.0f} m off: GCJ-02 coordinates labelled WGS84? try --crs gcj02"
        )
    return None
