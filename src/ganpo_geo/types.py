"""Public type aliases used in ganpo_geo's signatures.

Examples
--------
>>> from ganpo_geo.types import Edge, NavMode
>>> Edge(116, 28)
Edge(u=116, v=28)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal, NamedTuple, TypeAlias

import numpy as np
import pyproj
import shapely

if TYPE_CHECKING:  # geopandas is imported lazily by the light modules (crs) that use these aliases
    import geopandas as gpd

__all__ = ["CRSLike", "Edge", "GeometryLike", "NavMode"]

#: Geometries a function accepts: a GeoSeries/GeoDataFrame (any CRS), one shapely geometry, or a
#: sequence/array of them (WGS84 unless ``crs=`` says otherwise).
GeometryLike: TypeAlias = (
    "gpd.GeoSeries | gpd.GeoDataFrame | shapely.Geometry | Sequence[shapely.Geometry] | np.ndarray"
)
#: A CRS as ganpo_geo reads it: an alias (``"wgs84"``, ``"cgcs2000"``, ``"gcj02"``, ``"bd09"``),
#: an EPSG code (``4548``, ``"EPSG:4548"``), a PROJ/WKT string or a :class:`pyproj.CRS`.
CRSLike: TypeAlias = str | int | pyproj.CRS
#: NLDI navigation modes: upstream main stem, upstream with tributaries, downstream main stem,
#: downstream with diversions.
NavMode: TypeAlias = Literal["UM", "UT", "DM", "DD"]


class Edge(NamedTuple):
    """A reach of a river network named by its end nodes (upstream ``u``, downstream ``v``).

    Pass one as ``edge=`` to :func:`ganpo_geo.rivers.navigate`; a bare ``(u, v)`` tuple of ints
    as ``start`` is ambiguous with a ``(lon, lat)`` point and is deprecated.
    """

    u: int
    v: int
