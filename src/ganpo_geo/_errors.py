"""All custom exceptions of ganpo_geo, in one place.

Each exception subclasses a built-in so that callers who do not know ganpo_geo can still
catch it (``except ValueError``). Messages are one line: what is wrong, the offending value,
and how to fix it.
"""

from __future__ import annotations

__all__ = [
    "AccessListColumnError",
    "AccessListEncodingError",
    "BuildInputError",
    "ColumnMappingError",
    "CoordinateError",
    "GanpoError",
    "GeometryColumnError",
    "LayerFileNotFoundError",
    "LayersFileError",
    "RequirementTextError",
    "UnknownCRSError",
    "UnknownLayerError",
    "ValidationError",
]


class GanpoError(Exception):
    """Base class of every ganpo_geo error."""


class ValidationError(GanpoError, ValueError):
    """Input data failed a check (values, columns, geometries)."""


class CoordinateError(ValidationError):
    """Coordinates are NaN, non-numeric or outside their valid range."""


class UnknownCRSError(ValidationError):
    """A CRS name or code is neither a known alias nor understood by pyproj."""


class ColumnMappingError(ValidationError):
    """A column mapping names a column that the data does not have."""


class GeometryColumnError(ValidationError):
    """A file or table has no geometry column."""


class LayerFileNotFoundError(GanpoError, FileNotFoundError):
    """A user layer file does not exist."""


class UnknownLayerError(GanpoError, KeyError):
    """A bundled layer name is not in the registry."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class RequirementTextError(ValidationError):
    """A requirement text (or its dimension) that the clause compiler cannot take."""


class AccessListColumnError(ColumnMappingError):
    """An access-list spreadsheet without a recognisable unit-code column."""


class AccessListEncodingError(ValidationError):
    """An access-list CSV that is neither UTF-8 nor GBK/GB18030."""


class LayersFileError(ValidationError):
    """A layers TOML file (``--layers``, ``GANPO_LAYERS``) that is not TOML, names a missing file,
    has an unknown section or a section without its required fields."""


class BuildInputError(GanpoError, FileNotFoundError):
    """The reference-data build (``python -m ganpo_geo._build``) cannot find an input: the
    repository's ``data/`` tables or a file an earlier build step writes."""
