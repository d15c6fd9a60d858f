"""ganpo_geo: environmental zoning and watershed analysis for Jiangxi (Gan River, Poyang Lake)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from ganpo_geo._errors import (
    AccessListColumnError,
    AccessListEncodingError,
    ColumnMappingError,
    CoordinateError,
    GanpoError,
    GeometryColumnError,
    LayerFileNotFoundError,
    RequirementTextError,
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
from ganpo_geo.requirements import (
    clauses_for_industry,
    compare_access_list,
    compile_access_list,
    parse_requirements,
    parse_unit_requirements,
    read_access_list,
    requirement_effect,
)

try:
    __version__ = version("ganpo_geo")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0+unknown"

__all__ = [
    "BUNDLED_LAYERS",
    "JIANGXI_ALBERS",
    "WGS84",
    "AccessListColumnError",
    "AccessListEncodingError",
    "ColumnMappingError",
    "CoordinateError",
    "GanpoError",
    "GeometryColumnError",
    "LayerFileNotFoundError",
    "RequirementTextError",
    "UnknownCRSError",
    "UnknownLayerError",
    "ValidationError",
    "__version__",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "clauses_for_industry",
    "compare_access_list",
    "compile_access_list",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "layer_info",
    "list_layers",
    "load_layer",
    "parse_crs",
    "parse_requirements",
    "parse_unit_requirements",
    "read_access_list",
    "requirement_effect",
    "to_wgs84",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]
