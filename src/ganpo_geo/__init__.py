"""ganpo_geo: environmental zoning and watershed analysis for Jiangxi (Gan River, Poyang Lake)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from ganpo_geo._errors import (
    ColumnMappingError,
    CoordinateError,
    GanpoError,
    GeometryColumnError,
    LayerFileNotFoundError,
    UnknownCRSError,
    UnknownLayerError,
    ValidationError,
)
from ganpo_geo.crs import (
    JIANGXI_ALBERS,
    WGS84,
    bd09_to_gcj02,
    bd09_to_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    parse_crs,
    to_wgs84,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)
from ganpo_geo.layers import BUNDLED_LAYERS, layer_info, list_layers, load_layer

try:
    __version__ = version("ganpo_geo")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0+unknown"

__all__ = [
    "BUNDLED_LAYERS",
    "JIANGXI_ALBERS",
    "WGS84",
    "ColumnMappingError",
    "CoordinateError",
    "GanpoError",
    "GeometryColumnError",
    "LayerFileNotFoundError",
    "UnknownCRSError",
    "UnknownLayerError",
    "ValidationError",
    "__version__",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "layer_info",
    "list_layers",
    "load_layer",
    "parse_crs",
    "to_wgs84",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]
