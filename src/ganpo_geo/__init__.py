"""ganpo_geo: environmental zoning and watershed analysis for Jiangxi (Gan River, Poyang Lake).

The public names below are imported on first use (PEP 562 module ``__getattr__``), so that
``import ganpo_geo`` and ``ganpo --version`` do not pay for geopandas, pyproj and the data tables.
``from ganpo_geo import load_layer`` and ``ganpo_geo.load_layer`` work as before.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the names the lazy loader below provides, for type checkers and IDEs
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
    from ganpo_geo._version import __version__
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

#: public name -> the module that defines it
_LAZY: dict[str, str] = {
    "__version__": "ganpo_geo._version",
    **dict.fromkeys(
        (
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
        ),
        "ganpo_geo._errors",
    ),
    **dict.fromkeys(
        (
            "JIANGXI_ALBERS",
            "WGS84",
            "bd09_to_gcj02",
            "bd09_to_wgs84",
            "gcj02_to_bd09",
            "gcj02_to_wgs84",
            "parse_crs",
            "to_wgs84",
            "wgs84_to_bd09",
            "wgs84_to_gcj02",
        ),
        "ganpo_geo.crs",
    ),
    **dict.fromkeys(("BUNDLED_LAYERS", "layer_info", "list_layers", "load_layer"), "ganpo_geo.layers"),
    **dict.fromkeys(
        (
            "clauses_for_industry",
            "compare_access_list",
            "compile_access_list",
            "parse_requirements",
            "parse_unit_requirements",
            "read_access_list",
            "requirement_effect",
        ),
        "ganpo_geo.requirements",
    ),
}


#: submodules reachable as attributes of the package (``import ganpo_geo; ganpo_geo.zoning``), as
#: when this file imported them eagerly
_SUBMODULES = frozenset(
    ("basins", "cli", "crs", "io", "layers", "loads", "maps", "redline", "requirements", "rivers", "siting", "zoning")
)


def __getattr__(name: str) -> Any:
    """Import a public name (or a submodule such as ``ganpo_geo.rivers``) on first use."""
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value  # later lookups skip this function
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f"ganpo_geo.{name}")  # the import sets the attribute
    msg = f"module 'ganpo_geo' has no attribute {name!r}"
    raise AttributeError(msg)


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY, *_SUBMODULES})


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
