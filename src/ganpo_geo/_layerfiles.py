"""Bundled layer registry, layer provenance, and reading of users' own layer files (file I/O only).

This is the low layer of the package: it knows files, not zoning. The :class:`~ganpo_geo.layers.Layers`
container (which reads official layers with the zoning readers) lives in :mod:`ganpo_geo.layers`, which
re-exports everything public here, so ``from ganpo_geo.layers import load_layer`` keeps working.

Bundled layers ship inside the package (``ganpo_geo/data``) as GeoPackages; every layer keeps
its provenance (source package and version, licence, derivation, whether it is synthesized
reference data) as JSON in the GeoPackage layer metadata. Users' files (Shapefile, also
GBK-encoded, GeoPackage, GeoJSON, GeoParquet) are read with pyogrio, renamed through a column
mapping and converted to WGS84.

Examples
--------
>>> from ganpo_geo._layerfiles import load_layer
>>> counties = load_layer("counties")
>>> len(counties)
100
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from functools import cache
from importlib.resources import files
from pathlib import Path
from types import MappingProxyType
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio

from ganpo_geo._errors import (
    ColumnMappingError,
    GeometryColumnError,
    LayerFileNotFoundError,
    UnknownCRSError,
    UnknownLayerError,
    ValidationError,
)
from ganpo_geo.crs import to_wgs84

__all__ = [
    "BUNDLED_LAYERS",
    "PROVENANCE_KEY",
    "BundledLayer",
    "LayerInfo",
    "data_path",
    "layer_info",
    "list_layers",
    "load_layer",
]

logger = logging.getLogger(__name__)

#: Key of the provenance JSON in the GeoPackage layer metadata.
PROVENANCE_KEY = "ganpo_provenance"

_PARQUET_SUFFIXES = (".parquet", ".geoparquet")


@dataclass(frozen=True)
class BundledLayer:
    """Where a bundled layer lives.

    Attributes
    ----------
    name : str
        Registry name, used with :func:`load_layer`.
    file : str
        Path relative to the package data folder.
    layer : str
        Layer name inside the GeoPackage.
    """

    name: str
    file: str
    layer: str


#: Every layer that ships with ganpo_geo, by name (read-only).
BUNDLED_LAYERS: Mapping[str, BundledLayer] = MappingProxyType(
    {
        layer.name: layer
        for layer in (
            BundledLayer("province", "boundaries/jiangxi_admin.gpkg", "province"),
            BundledLayer("cities", "boundaries/jiangxi_admin.gpkg", "cities"),
            BundledLayer("counties", "boundaries/jiangxi_admin.gpkg", "counties"),
            BundledLayer("china_provinces", "boundaries/china_provinces.gpkg", "provinces"),
            BundledLayer("river_lines", "rivers/hydrography.gpkg", "river_lines"),
            BundledLayer("lakes", "rivers/hydrography.gpkg", "lakes"),
            BundledLayer("control_units", "boundaries/zoning.gpkg", "control_units"),
            BundledLayer("redlines", "boundaries/zoning.gpkg", "redlines"),
            BundledLayer("reaches", "rivers/network.gpkg", "reaches"),
            BundledLayer("river_nodes", "rivers/network.gpkg", "nodes"),
            BundledLayer("catchments", "rivers/network.gpkg", "catchments"),
            BundledLayer("stations", "rivers/network.gpkg", "stations"),
        )
    }
)


@dataclass(frozen=True)
class LayerInfo:
    """What ``ganpo layers`` shows about a bundled layer.

    Attributes
    ----------
    name, file, layer : str
        Registry name, file relative to the data folder, layer inside the file.
    features : int
        Number of features.
    crs : str
        CRS of the stored coordinates (always EPSG:4326 for bundled layers).
    geometry_type : str
        OGR geometry type.
    synthetic : bool
        True for reference layers synthesized for demonstration (not official data).
    source : str
        Source package (and version) the layer was built from.
    licence : str
        Licence of the source.
    derivation : str
        How the layer was made from its source.
    description : str
        One line on what the layer holds.
    provenance : dict
        The full provenance record stored with the layer.
    """

    name: str
    file: str
    layer: str
    features: int
    crs: str
    geometry_type: str
    synthetic: bool
    source: str
    licence: str
    derivation: str
    description: str
    provenance: dict[str, Any] = field(repr=False)

    @property
    def approximate(self) -> bool:
        """True for real-data layers derived by an approximation (e.g. catchments)."""
        return bool(self.provenance.get("approximate", False))

    @property
    def status(self) -> str:
        """``"reference (synthesized, not official)"``, ``"real (approximate)"`` or ``"real"``."""
        if self.synthetic:
            return "reference (synthesized, not official)"
        return "real (approximate)" if self.approximate else "real"

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-ready) of this record."""
        out = asdict(self)
        out["status"] = self.status
        return out


def data_path(relative: str = "") -> Path:
    """Path of a file in the package's bundled data folder.

    Parameters
    ----------
    relative : str
        Path relative to the data folder, e.g. ``"boundaries/jiangxi_admin.gpkg"``.

    Returns
    -------
    pathlib.Path
    """
    return Path(str(files("ganpo_geo").joinpath("data"))) / relative


def _bundled(name: str) -> BundledLayer:
    try:
        return BUNDLED_LAYERS[name]
    except KeyError:
        known = ", ".join(BUNDLED_LAYERS)
        msg = f"unknown bundled layer {name!r}; bundled layers are: {known}"
        raise UnknownLayerError(msg) from None


@cache
def layer_info(name: str) -> LayerInfo:
    """Provenance and summary of one bundled layer (read from the file's metadata).

    Parameters
    ----------
    name : str
        A key of :data:`BUNDLED_LAYERS`.

    Returns
    -------
    LayerInfo
    """
    entry = _bundled(name)
    info = pyogrio.read_info(data_path(entry.file), layer=entry.layer)
    provenance = json.loads((info.get("layer_metadata") or {}).get(PROVENANCE_KEY, "{}"))
    source = provenance.get("source_package", "")
    if provenance.get("source_version"):
        source += f" {provenance['source_version']}"
    return LayerInfo(
        name=name,
        file=entry.file,
        layer=entry.layer,
        features=int(info["features"]),
        crs=str(info["crs"]),
        geometry_type=str(info["geometry_type"]),
        synthetic=bool(provenance.get("synthetic", False)),
        source=source or provenance.get("source", ""),
        licence=provenance.get("licence", ""),
        derivation=provenance.get("derivation", ""),
        description=provenance.get("description", ""),
        provenance=provenance,
    )


def list_layers() -> list[LayerInfo]:
    """Every bundled layer with its feature count, CRS and provenance.

    Returns
    -------
    list of LayerInfo
        In registry order.
    """
    return [layer_info(name) for name in BUNDLED_LAYERS]


class _Provenance(dict[str, Any]):
    """A layer's provenance in ``gdf.attrs``: a dict whose deep copy is a shallow one.

    pandas deep-copies ``attrs`` into every frame derived from a layer (each column, slice or
    ``.copy()``); a full deep copy of the provenance took about 0.1 s of a single site check.
    The copy is still a dict of its own (setting a key does not touch the layer's); nested
    values are shared, so treat them as read-only.
    """

    def __deepcopy__(self, memo: dict[int, Any]) -> _Provenance:
        return _Provenance(self)


@cache
def _gpkg_provenance(file: str) -> dict[str, dict[str, Any]]:
    """Provenance of every layer of a bundled GeoPackage, read in one SQLite query.

    The same metadata item :func:`layer_info` reads through GDAL (``pyogrio.read_info``), which
    opens the file once per layer; a site check reads ten layers, so this saves about 0.1 s.
    Layers whose provenance is not found here fall back to :func:`layer_info`.
    """
    import sqlite3  # standard library, only needed here
    import xml.etree.ElementTree as ET

    query = (
        "SELECT r.table_name, m.metadata FROM gpkg_metadata_reference r "
        "JOIN gpkg_metadata m ON m.id = r.md_file_id "
        "WHERE r.reference_scope = 'table' AND m.md_standard_uri = 'http://gdal.org'"
    )
    out: dict[str, dict[str, Any]] = {}
    try:
        with contextlib.closing(sqlite3.connect(f"{data_path(file).as_uri()}?mode=ro", uri=True)) as db:
            rows = db.execute(query).fetchall()
    except sqlite3.Error:
        return out
    for table, xml in rows:
        try:
            items = ET.fromstring(xml).iter("MDI")
            value = next((item.text for item in items if item.get("key") == PROVENANCE_KEY), None)
            if value is not None:
                out[str(table)] = json.loads(value)
        except (ET.ParseError, json.JSONDecodeError):
            continue
    return out


def _provenance(name: str) -> dict[str, Any]:
    """The provenance of a bundled layer (what ``layer_info(name).provenance`` holds)."""
    entry = _bundled(name)
    found = _gpkg_provenance(entry.file).get(entry.layer or "")
    return found if found is not None else layer_info(name).provenance


@cache
def _read_bundled(name: str) -> gpd.GeoDataFrame:
    entry = _bundled(name)
    gdf = pyogrio.read_dataframe(data_path(entry.file), layer=entry.layer, use_arrow=True)
    gdf.attrs["provenance"] = _Provenance(_provenance(name))
    return gdf


def _shapefile_encoding(path: Path) -> str | None:
    """Guess a shapefile's text encoding when it has no .cpg file.

    Chinese shapefiles from desktop GIS are often GBK without a .cpg. GDAL would then decode
    them as Latin-1 and garble every name, so: if the .dbf's bytes are not valid UTF-8,
    read them as GBK (which also covers GB2312).
    """
    if path.with_suffix(".cpg").exists() or path.with_suffix(".CPG").exists():
        return None
    dbf = next((p for p in (path.with_suffix(".dbf"), path.with_suffix(".DBF")) if p.exists()), None)
    if dbf is None:
        return None
    raw = dbf.read_bytes()
    header_len = int.from_bytes(raw[8:10], "little") if len(raw) >= 10 else 0
    try:
        raw[header_len:].decode("utf-8")
    except UnicodeDecodeError:
        return "GBK"
    return None


def _read_file(path: Path, layer: str | int | None, encoding: str | None) -> pd.DataFrame:
    suffix = path.suffix.lower()
    if suffix in _PARQUET_SUFFIXES:
        try:
            return gpd.read_parquet(path)
        except ValueError as exc:  # plain parquet without geo metadata
            msg = f"{path}: {exc}; write it with GeoDataFrame.to_parquet to keep the geometry"
            raise GeometryColumnError(msg) from None
    if suffix == ".shp" and encoding is None:
        encoding = _shapefile_encoding(path)
    if layer is not None and suffix == ".gpkg":
        available = [str(n) for n, _ in pyogrio.list_layers(path)]
        if isinstance(layer, str) and layer not in available:
            msg = f"{path} has no layer {layer!r}; its layers are: {', '.join(available)}"
            raise ValidationError(msg)
    try:
        return pyogrio.read_dataframe(path, layer=layer, encoding=encoding, use_arrow=False)
    except pyogrio.errors.DataSourceError as exc:
        msg = f"cannot read {path}: {str(exc).splitlines()[0]}"
        raise ValidationError(msg) from None
    except pyogrio.errors.DataLayerError as exc:
        msg = f"cannot read layer {layer!r} of {path}: {str(exc).splitlines()[0]}"
        raise ValidationError(msg) from None


def _apply_columns(gdf: gpd.GeoDataFrame, columns: Mapping[str, str], source: str) -> gpd.GeoDataFrame:
    missing = [col for col in columns if col not in gdf.columns]
    if missing:
        found = ", ".join(str(c) for c in gdf.columns if c != gdf.geometry.name)
        msg = f"column {missing[0]!r} named in the column mapping is not in {source}; columns found: {found}"
        raise ColumnMappingError(msg)
    return gdf.rename(columns=dict(columns))


def load_layer(
    name_or_path: str | Path,
    *,
    layer: str | int | None = None,
    columns: Mapping[str, str] | None = None,
    crs: Any = None,
    encoding: str | None = None,
) -> gpd.GeoDataFrame:
    """Load a bundled layer by name, or a user's layer file.

    Parameters
    ----------
    name_or_path : str or pathlib.Path
        A bundled layer name (see :data:`BUNDLED_LAYERS`, ``ganpo layers``) or the path of a
        Shapefile, GeoPackage, GeoJSON or GeoParquet file.
    layer : str or int, optional
        Layer inside a multi-layer file (GeoPackage).
    columns : mapping, optional
        ``{name_in_file: name_wanted}``: columns to rename. Every key must exist.
    crs : str, int or pyproj.CRS, optional
        The CRS the file's coordinates are really in (``wgs84``, ``cgcs2000``, ``gcj02``,
        ``bd09`` or an EPSG/PROJ string). Needed when the file has no CRS; overrides a stored
        one (for files that say WGS84 but hold GCJ-02 web-map coordinates).
    encoding : str, optional
        Text encoding of the attributes. By default the file's own declaration is used; a
        Shapefile without a .cpg whose text is not UTF-8 is read as GBK.

    Returns
    -------
    geopandas.GeoDataFrame
        In WGS84 (EPSG:4326). Bundled layers carry their provenance in
        ``gdf.attrs["provenance"]``; user files carry ``{"source": path}``.

    Raises
    ------
    UnknownLayerError
        A name that is neither a bundled layer nor an existing file.
    LayerFileNotFoundError
        A path that does not exist.
    GeometryColumnError
        The file has no geometry column.
    ColumnMappingError
        ``columns`` names a column the file does not have.
    UnknownCRSError
        The file has no CRS and ``crs`` is not given, or ``crs`` is not understood.

    Examples
    --------
    >>> import ganpo_geo as gg
    >>> counties = gg.load_layer("counties")
    >>> len(counties), counties.crs.to_epsg()
    (100, 4326)
    >>> counties.attrs["provenance"]["licence"]
    'MIT'
    """
    if isinstance(name_or_path, str) and name_or_path in BUNDLED_LAYERS:
        gdf = _read_bundled(name_or_path).copy()
        gdf.attrs["provenance"] = _Provenance(gdf.attrs["provenance"])
        if columns:
            gdf = _apply_columns(gdf, columns, f"bundled layer {name_or_path!r}")
        return gdf

    path = Path(name_or_path)
    if not path.exists():
        if isinstance(name_or_path, str) and not path.suffix:
            known = ", ".join(BUNDLED_LAYERS)
            msg = f"{name_or_path!r} is neither a bundled layer ({known}) nor an existing file"
            raise UnknownLayerError(msg)
        msg = f"layer file not found: {path}"
        raise LayerFileNotFoundError(msg)
    frame = _read_file(path, layer, encoding)
    if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry.name not in frame.columns:
        cols = ", ".join(str(c) for c in frame.columns)
        msg = (
            f"{path} has no geometry column (columns: {cols}); give a spatial file "
            "(Shapefile, GeoPackage, GeoJSON, GeoParquet)"
        )
        raise GeometryColumnError(msg)
    gdf = frame
    if columns:
        gdf = _apply_columns(gdf, columns, str(path))
    if crs is None and gdf.crs is None:
        msg = (
            f"{path} has no CRS (a shapefile without .prj?): pass crs= (wgs84, cgcs2000, "
            "gcj02, bd09 or an EPSG code) to say what its coordinates are"
        )
        raise UnknownCRSError(msg)
    gdf = to_wgs84(gdf, crs=crs)
    gdf.attrs["provenance"] = {"source": str(path), "synthetic": False, "user_supplied": True}
    logger.debug("read %d features from %s", len(gdf), path)
    return gdf
