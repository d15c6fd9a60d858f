"""The :class:`Layers` container: which zoning layers a computation uses, and their index cache.

A ``Layers`` object holds the control units, red lines, access rules, an official access list and
screening layers in use (bundled reference layers where none is given), reads users' official
files (:meth:`Layers.official`, :meth:`Layers.from_file`) and writes them back in official field
names (:func:`export_layers`).

The bundled layer registry and file reading (:func:`load_layer`, :func:`data_path`,
:func:`layer_info`, :func:`list_layers`) live in :mod:`ganpo_geo._layerfiles` and are re-exported
here, so ``from ganpo_geo.layers import load_layer`` keeps working.

Examples
--------
>>> from ganpo_geo.layers import load_layer
>>> counties = load_layer("counties")
>>> len(counties)
100
"""

from __future__ import annotations

import dataclasses
import json
import threading
import warnings
from collections.abc import Callable, Hashable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely

from ganpo_geo._errors import LayerFileNotFoundError, LayersFileError, UnknownLayerError, ValidationError
from ganpo_geo._layerfiles import (
    BUNDLED_LAYERS,
    PROVENANCE_KEY,
    BundledLayer,
    LayerInfo,
    data_path,
    layer_info,
    list_layers,
    load_layer,
)
from ganpo_geo._layerfiles import (
    _read_file as _read_file,  # re-exported: the site check reads tables with it
)
from ganpo_geo._official import (
    load_control_units,
    load_redlines,
    official_clauses,
    official_rules,
    read_rules,
)
from ganpo_geo.requirements import compare_access_list, read_access_list
from ganpo_geo.vocabulary import CATEGORY_ZH, resolve_industry

__all__ = [
    "BUNDLED_LAYERS",
    "PROVENANCE_KEY",
    "BundledLayer",
    "LayerInfo",
    "Layers",
    "ScreeningLayer",
    "bundled_layers",
    "data_path",
    "export_layers",
    "layer_info",
    "list_layers",
    "load_layer",
]

#: Effects a screening layer can have on the verdict (``notice`` only lists it in the report).
SCREENING_EFFECTS = ("prohibit", "restrict", "require", "notice")
#: Sections a layers file may have, with the fields each takes (required fields first).
LAYERS_FILE_SECTIONS: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]] = MappingProxyType(
    {
        "control_units": (("path",), ("crs", "columns", "layer", "encoding")),
        "redlines": (("path",), ("crs", "columns", "layer", "encoding")),
        "access_list": (("path",), ("sheet",)),
        "rules": (("path",), ()),
        "screening": (
            ("name", "path"),
            ("effect", "industries", "buffer_m", "text_zh", "text_en", "basis", "crs", "columns", "layer", "encoding"),
        ),
    }
)


_T = TypeVar("_T")

#: Held while a cached index is built (re-entrant: a build may use other cached values).
_BUILD_LOCK = threading.RLock()


class _ReadOnly(Mapping[str, Any]):
    """A read-only mapping that pickles (``Layers.sources``; a mappingproxy does not pickle)."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self._data = dict(data)

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return repr(self._data)


@dataclass(frozen=True, eq=False)
class ScreeningLayer:
    """An extra layer checked like the red lines (e.g. drinking-water source protection zones).

    Attributes
    ----------
    name : str
        Name shown in reports and used in column names (``screening_<name>_overlap`` ...).
    zones : geopandas.GeoDataFrame
        Polygons in WGS84 (read with :func:`ganpo_geo.redline.load_redlines`).
    effect : str
        ``prohibit``, ``restrict``, ``require`` or ``notice`` (listed only).
    industries : str
        ``all`` or ``;``-joined industry keys the effect applies to.
    buffer_m : float
        A site within this distance counts as inside (0: overlap only).
    text_zh, text_en, basis : str
        The requirement cited when the layer applies, and its legal basis.
    path : str
        The file it was read from.
    """

    name: str
    zones: gpd.GeoDataFrame
    effect: str = "notice"
    industries: str = "all"
    buffer_m: float = 0.0
    text_zh: str = ""
    text_en: str = ""
    basis: str = ""
    path: str = ""
    _cache: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def rule_id(self) -> str:
        """Id of the rule row this layer adds to the access rules (``screening:<name>``)."""
        return f"screening:{self.name}"

    def as_layers(self) -> Layers:
        """A :class:`Layers` whose red lines are this layer's zones (its overlap index is kept)."""
        layers = self._cache.get("layers")
        if not isinstance(layers, Layers):
            layers = self._cache["layers"] = Layers(redlines=self.zones)
        return layers


@dataclass(frozen=True, eq=False)
class Layers:
    """The zoning layers a computation uses: the bundled reference ones or a user's official ones.

    Pass one to ``units_at``, ``rules_for``, ``redline_overlap`` (and the siting check) with
    ``layers=``; ``None`` there means the bundled reference layers. Spatial indexes are built
    once per ``Layers`` object and kept in it, never in module state.

    A ``Layers`` object is immutable (assigning an attribute raises
    ``dataclasses.FrozenInstanceError``), so an index can never describe other layers than
    the ones it holds: to use other layers make a new object, e.g.
    ``layers.replace(control_units=units)``, which builds its own indexes.

    Attributes
    ----------
    control_units : geopandas.GeoDataFrame, optional
        Units with ``unit_code``, ``category`` (1/2/3), ``city_adcode`` ... (see
        :func:`ganpo_geo.zoning.load_control_units`); default: the bundled reference units.
        Official units that carry requirement texts (KJBJYS/PWWPFGK/HJFXFK/ZYKFXLYQ) have them
        compiled into rules (see :func:`ganpo_geo.zoning.official_rules`).
    redlines : geopandas.GeoDataFrame, optional
        Red-line zones (see :func:`ganpo_geo.redline.load_redlines`); default: bundled.
    rules : pandas.DataFrame, optional
        Access rules in the bundled ``access_rules.csv`` format; default: bundled.
    access_list : pandas.DataFrame, optional
        An official access list (:func:`ganpo_geo.requirements.read_access_list`), joined to the
        units by unit code; its province/city rows replace the bundled general lists.
    screening : tuple of ScreeningLayer
        Extra layers checked like the red lines.
    sources : mapping
        ``{layer name: {"path": ..., "crs": ...}}`` of the files the layers were read from.

    Examples
    --------
    >>> from ganpo_geo.layers import Layers
    >>> official = Layers.official(control_units="units.shp")  # doctest: +SKIP
    >>> official = Layers.from_file("layers.toml")  # doctest: +SKIP
    """

    control_units: gpd.GeoDataFrame | None = None
    redlines: gpd.GeoDataFrame | None = None
    rules: pd.DataFrame | None = None
    access_list: pd.DataFrame | None = None
    screening: tuple[ScreeningLayer, ...] = ()
    sources: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    _cache: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # read-only views: a caller cannot change what other users of the same object see
        sources = _ReadOnly({k: _ReadOnly(v) for k, v in dict(self.sources).items()})
        object.__setattr__(self, "sources", sources)
        object.__setattr__(self, "screening", tuple(self.screening))

    def replace(self, **changes: Any) -> Layers:
        """A new ``Layers`` with some layers replaced (and its own, empty index cache).

        Parameters
        ----------
        **changes
            ``control_units=``, ``redlines=``, ``rules=``, ``access_list=`` (None: the bundled
            layer), ``screening=`` and/or ``sources=``.

        Returns
        -------
        Layers
        """
        allowed = {"control_units", "redlines", "rules", "access_list", "screening", "sources"}
        unknown = set(changes) - allowed
        if unknown:
            msg = f"Layers.replace takes {', '.join(sorted(allowed))}; got {', '.join(sorted(unknown))}"
            raise ValidationError(msg)
        if "screening" in changes:
            changes["screening"] = tuple(changes["screening"] or ())
        return dataclasses.replace(self, **changes)

    @classmethod
    def official(
        cls,
        *,
        control_units: str | Path | None = None,
        redlines: str | Path | None = None,
        rules: str | Path | None = None,
        unit_columns: Mapping[str, str] | None = None,
        redline_columns: Mapping[str, str] | None = None,
        crs: Any = None,
    ) -> Layers:
        """Layers read from a user's official files (any not given stay bundled).

        Parameters
        ----------
        control_units, redlines : path, optional
            Files read with :func:`~ganpo_geo.zoning.load_control_units` and
            :func:`~ganpo_geo.redline.load_redlines`.
        rules : path, optional
            A CSV in the ``access_rules.csv`` format.
        unit_columns, redline_columns : mapping, optional
            Column mappings for files whose field names are not recognised.
        crs : optional
            CRS of the files' coordinates when they do not say (see :func:`load_layer`).

        Returns
        -------
        Layers
        """
        return cls(
            control_units=None
            if control_units is None
            else load_control_units(control_units, columns=unit_columns, crs=crs),
            redlines=None if redlines is None else load_redlines(redlines, columns=redline_columns, crs=crs),
            rules=None if rules is None else read_rules(rules),
        )

    @classmethod
    def from_file(cls, path: str | Path) -> Layers:
        """Layers named in a TOML layers file (what ``--layers FILE`` and ``GANPO_LAYERS`` read).

        Sections: ``[control_units]``, ``[redlines]`` (``path``, optional ``crs``, ``columns``,
        ``layer``, ``encoding``), ``[access_list]`` (``path``, optional ``sheet``), ``[rules]``
        (``path``: a CSV in the ``access_rules.csv`` format) and any number of ``[[screening]]``
        (``name``, ``path``, ``effect``, ``industries``, ``buffer_m``, ``text_zh``, ``basis`` ...).
        Relative paths resolve against the TOML file's folder. Layers not named stay the
        bundled reference layers.

        Parameters
        ----------
        path : path
            The TOML file.

        Returns
        -------
        Layers

        Raises
        ------
        LayersFileError
            The file does not exist or is not TOML, has an unknown section or field, a section
            without its required fields, or names a file that does not exist (one line naming the
            file, the section and the fix).
        """
        toml_path = Path(path)
        if not toml_path.is_file():
            msg = f"layers file not found: {toml_path}; pass the path of a TOML file (--layers or GANPO_LAYERS)"
            raise LayersFileError(msg)
        import tomllib  # lazy on purpose: only a --layers file needs the TOML parser (~4 ms a start-up)

        try:
            spec = tomllib.loads(toml_path.read_text(encoding="utf-8-sig"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            first = str(exc).splitlines()[0]
            msg = f'{toml_path}: not a TOML file ({first}); write sections like [control_units] with path = "units.shp"'
            raise LayersFileError(msg) from None
        for section in spec:
            if section not in LAYERS_FILE_SECTIONS:
                msg = (
                    f"{toml_path}: unknown section [{section}]; "
                    f"use {', '.join('[[screening]]' if s == 'screening' else f'[{s}]' for s in LAYERS_FILE_SECTIONS)}"
                )
                raise LayersFileError(msg)
        base = toml_path.parent
        entries = {k: v for k, v in spec.items() if k != "screening"}
        for section, entry in entries.items():
            _check_entry(toml_path, section, entry)
        screens = spec.get("screening", [])
        if isinstance(screens, dict):
            screens = [screens]
        if not isinstance(screens, list):
            msg = f"{toml_path}: [[screening]] must be a table array; write each layer under its own [[screening]]"
            raise LayersFileError(msg)
        for i, entry in enumerate(screens, start=1):
            _check_entry(toml_path, f"screening #{i}", entry)
        sources: dict[str, dict[str, Any]] = {}

        def resolve(section: str, entry: Mapping[str, Any]) -> Path:
            file = Path(str(entry["path"]))
            file = file if file.is_absolute() else base / file
            if not file.exists():
                msg = f"{toml_path}: [{section}] path {file} does not exist; fix path (relative paths start at {base})"
                raise LayersFileError(msg)
            sources[section] = {"path": str(file), "crs": entry.get("crs", "")}
            return file

        def read(section: str, reader: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                return reader(*args, **kwargs)
            except (ValidationError, UnknownLayerError, LayerFileNotFoundError) as exc:
                msg = f"{toml_path}: [{section}]: {exc}"
                raise LayersFileError(msg) from None

        layer_args = ("columns", "layer", "crs", "encoding")
        units = reds = rules = access = None
        if "control_units" in entries:
            e = entries["control_units"]
            file = resolve("control_units", e)
            units = read("control_units", load_control_units, file, **{k: e.get(k) for k in layer_args})
        if "redlines" in entries:
            e = entries["redlines"]
            file = resolve("redlines", e)
            reds = read("redlines", load_redlines, file, **{k: e.get(k) for k in layer_args})
        if "rules" in entries:
            file = resolve("rules", entries["rules"])
            rules = read("rules", read_rules, file)
        if "access_list" in entries:
            e = entries["access_list"]
            file = resolve("access_list", e)
            access = read("access_list", read_access_list, file, sheet=e.get("sheet"))
        screening = []
        names: set[str] = set()
        for i, e in enumerate(screens, start=1):
            section = f"screening #{i}"
            name = str(e["name"]).strip()
            if not name or name in names:
                msg = f"{toml_path}: [[screening]] #{i}: name {name!r} is empty or used twice; give each its own name"
                raise LayersFileError(msg)
            names.add(name)
            effect = str(e.get("effect", "notice"))
            if effect not in SCREENING_EFFECTS:
                msg = (
                    f"{toml_path}: [[screening]] {name}: unknown effect {effect!r}; "
                    f"use one of {', '.join(SCREENING_EFFECTS)}"
                )
                raise LayersFileError(msg)
            industries = _screening_industries(toml_path, name, e.get("industries", "all"))
            try:
                buffer_m = float(e.get("buffer_m", 0.0))
            except (TypeError, ValueError):
                buffer_m = float("nan")
            if not (buffer_m >= 0 and buffer_m < 1e6):
                msg = f"{toml_path}: [[screening]] {name}: buffer_m must be metres >= 0, got {e.get('buffer_m')!r}"
                raise LayersFileError(msg)
            file = resolve(f"screening:{name}", e)
            zones = read(f"screening:{name}", load_redlines, file, **{k: e.get(k) for k in layer_args})
            screening.append(
                ScreeningLayer(
                    name=name,
                    zones=zones,
                    effect=effect,
                    industries=industries,
                    buffer_m=buffer_m,
                    text_zh=str(e.get("text_zh", "")),
                    text_en=str(e.get("text_en", "")),
                    basis=str(e.get("basis", "")),
                    path=str(file),
                )
            )
        sources["layers_file"] = {"path": str(toml_path), "crs": ""}
        return cls(
            control_units=units,
            redlines=reds,
            rules=rules,
            access_list=access,
            screening=tuple(screening),
            sources=sources,
        )

    def units(self) -> gpd.GeoDataFrame:
        """The control units in use."""
        return self.control_units if self.control_units is not None else load_layer("control_units")

    def red(self) -> gpd.GeoDataFrame:
        """The red lines in use."""
        return self.redlines if self.redlines is not None else load_layer("redlines")

    def has_official_texts(self) -> bool:
        """Whether official requirement texts are in use (units' fields or an access list)."""
        return self.access_list is not None or len(self.cached("official_clauses", lambda: official_clauses(self))) > 0

    def access_rules(self) -> pd.DataFrame:
        """The access rules in use.

        The bundled (or ``rules``) table, with official requirement texts compiled into rule rows
        (see :func:`ganpo_geo.zoning.official_rules`) replacing the reference rules of the units
        (and general lists) they cover, plus one rule per screening layer with an effect.

        Returns
        -------
        pandas.DataFrame
            A copy: changing it changes nothing for other users of these layers (the table
            itself is built once per ``Layers`` object).
        """
        return self._access_rules().copy()

    def _access_rules(self) -> pd.DataFrame:
        if self.rules is not None:
            base = self.rules
        else:
            base = self.cached("bundled_access_rules", lambda: read_rules(data_path("zoning/access_rules.csv")))
        if not self.screening and self.control_units is None and self.access_list is None:
            return base
        return self.cached("access_rules_in_use", lambda: official_rules(self, base))

    def reference_layers(self) -> list[str]:
        """Names of the layers in use that are synthesized reference data."""
        names = []
        if self.control_units is None or self.control_units.attrs.get("provenance", {}).get("synthetic"):
            names.append("control_units")
        if self.redlines is None or self.redlines.attrs.get("provenance", {}).get("synthetic"):
            names.append("redlines")
        if self.rules is None:
            rules = self.access_rules()
            if "reference" not in rules or rules["reference"].astype(bool).any():
                # next to official texts, only the bundled lists they do not replace are reference
                names.append(
                    "access_rules (bundled lists without official text)"
                    if self.has_official_texts()
                    else "access_rules"
                )
        return names

    def describe(self) -> list[dict[str, Any]]:
        """Each zoning layer in use: official (a user's file) or reference (bundled).

        Returns
        -------
        list of dict
            ``layer``, ``status`` (``official`` / ``reference``), ``path``, ``crs`` (as declared in
            the layers file, else the stored CRS), ``features`` and ``validation`` (``ok`` or the
            problems found: invalid geometries, units without requirement text, access-list codes
            with no unit and the reverse).
        """
        out: list[dict[str, Any]] = []

        def row(name: str, gdf: Any, official: bool, validation: str) -> None:
            src = self.sources.get(name, {})
            crs = src.get("crs") or (str(gdf.crs) if getattr(gdf, "crs", None) is not None else "")
            if not official:
                entry = BUNDLED_LAYERS.get(name)
                path = f"bundled: {entry.file}" if entry else "bundled"
            else:
                path = src.get("path", "(given in Python)")
            out.append(
                {
                    "layer": name,
                    "status": "official" if official else "reference",
                    "path": path,
                    "crs": crs,
                    "features": len(gdf),
                    "validation": validation,
                }
            )

        def geom_check(gdf: gpd.GeoDataFrame) -> list[str]:
            bad = int((~shapely.is_valid(gdf.geometry.to_numpy())).sum())
            return [f"{bad} invalid geometries"] if bad else []

        units = self.units()
        problems = geom_check(units) if self.control_units is not None else []
        if self.control_units is not None:
            clauses = self.cached("official_clauses", lambda: official_clauses(self))
            without = sorted(set(units["unit_code"]) - set(clauses.get("unit_code", pd.Series(dtype=str))))
            if without:
                problems.append(f"{len(without)} unit(s) without requirement text (first {without[0]})")
        if self.access_list is not None:
            cmp = compare_access_list(self.access_list, units)
            if cmp.only_in_list:
                problems.append(
                    f"{len(cmp.only_in_list)} access-list code(s) with no unit (first {cmp.only_in_list[0]})"
                )
            if cmp.only_in_layer:
                problems.append(
                    f"{len(cmp.only_in_layer)} unit(s) not in the access list (first {cmp.only_in_layer[0]})"
                )
        row("control_units", units, self.control_units is not None, "; ".join(problems) or "ok")
        red = self.red()
        row(
            "redlines",
            red,
            self.redlines is not None,
            "; ".join(geom_check(red)) if self.redlines is not None else "ok",
        )
        rules = self.access_rules()
        official_rows = int((~rules["reference"].astype(bool)).sum()) if "reference" in rules else len(rules)
        if self.access_list is not None:
            row("access_list", self.access_list, True, "ok")
        status = (
            "ok"
            if self.rules is not None
            else f"{official_rows} official or legal rules, {len(rules) - official_rows} reference"
        )
        out.append(
            {
                "layer": "access_rules",
                "status": "official" if self.rules is not None or self.has_official_texts() else "reference",
                "path": self.sources.get("rules", {}).get("path", "bundled: zoning/access_rules.csv")
                if self.rules is not None
                else "bundled: zoning/access_rules.csv" + (" + official texts" if self.has_official_texts() else ""),
                "crs": "",
                "features": len(rules),
                "validation": status,
            }
        )
        for screen in self.screening:
            out.append(
                {
                    "layer": f"screening:{screen.name}",
                    "status": "official",
                    "path": screen.path,
                    "crs": self.sources.get(f"screening:{screen.name}", {}).get("crs", "") or "EPSG:4326",
                    "features": len(screen.zones),
                    "validation": "; ".join(geom_check(screen.zones)) or "ok",
                }
            )
        return out

    def cached(self, key: str, build: Callable[[], _T]) -> _T:
        """Value of ``build()`` computed once per Layers object (spatial indexes).

        Safe from several threads (chunks of a batch checked at once): one builds, the
        others wait for it instead of building the same index again.
        """
        return _built_once(self._cache, key, build)

    def memo(self, table: str, key: Hashable, build: Callable[[], _T]) -> _T:
        """Entry ``key`` of the memo table ``table`` (a dict cached like :meth:`cached`).

        A missing entry is computed once, under the same lock: the chunks of a batch on
        several threads miss the same entries at once, and the builds read shared pandas
        frames, which pandas does not promise to be safe from several threads.

        Parameters
        ----------
        table : str
            Name of the memo table (a key of this object's cache).
        key : hashable
            The entry.
        build : callable
            Computes the entry.

        Returns
        -------
        object
        """
        found: dict[Hashable, _T] = self.cached(table, dict)
        return _built_once(found, key, build)


def _built_once(found: dict[Any, Any], key: Hashable, build: Callable[[], _T]) -> _T:
    """``found[key]``, built by ``build()`` if missing: by one thread, the others waiting for it."""
    try:
        value: _T = found[key]
    except KeyError:
        with _BUILD_LOCK:
            if key not in found:
                found[key] = build()
            value = found[key]
    return value


def _check_entry(toml_path: Path, section: str, entry: Any) -> None:
    kind = section.split(" ")[0]
    required, optional = LAYERS_FILE_SECTIONS[kind]
    label = f"[[screening]] {section.split(' ')[-1]}" if kind == "screening" else f"[{section}]"
    if not isinstance(entry, dict):
        msg = f'{toml_path}: {label} must be a table; write it as {label} with path = "..." below'
        raise LayersFileError(msg)
    missing = [k for k in required if k not in entry]
    if missing:
        msg = f'{toml_path}: {label} has no {missing[0]}; add {missing[0]} = "..."'
        raise LayersFileError(msg)
    unknown = [k for k in entry if k not in required and k not in optional]
    if unknown:
        msg = f"{toml_path}: {label} has unknown field {unknown[0]!r}; fields are: {', '.join(required + optional)}"
        raise LayersFileError(msg)
    columns = entry.get("columns")
    if columns is not None and not (isinstance(columns, dict) and all(isinstance(v, str) for v in columns.values())):
        msg = f'{toml_path}: {label} columns must be a table like {{ DYBM = "unit_code" }}'
        raise LayersFileError(msg)


def _screening_industries(toml_path: Path, name: str, value: Any) -> str:
    if value == "all" or value == ["all"]:
        return "all"
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        msg = f'{toml_path}: [[screening]] {name}: industries must be "all" or a list of industries'
        raise LayersFileError(msg)
    keys = []
    for item in items:
        try:
            keys.append(resolve_industry(str(item)))
        except ValidationError as exc:
            msg = f"{toml_path}: [[screening]] {name}: {exc}"
            raise LayersFileError(msg) from None
    return ";".join(dict.fromkeys(keys))


@cache
def bundled_layers() -> Layers:
    """The process-wide :class:`Layers` of the bundled reference data (indexes built once)."""
    return Layers()


#: Official field names written by :func:`export_layers` for the standard unit columns (when the
#: file the units came from did not name them itself).
OFFICIAL_UNIT_FIELDS: Mapping[str, str] = MappingProxyType(
    {
        "unit_code": "HJZHGKDYBM",
        "name_zh": "HJZHGKDYMC",
        "category": "ZHGKDYFL",
        "province": "PROV",
        "city": "CITY",
        "county": "AREA",
        "element": "HJYS",
        "basin": "LYMC",
        "reach": "HDMC",
        "remark": "REMARK",
        "spatial_layout": "KJBJYS",
        "pollutant_discharge": "PWWPFGK",
        "environmental_risk": "HJFXFK",
        "resource_efficiency": "ZYKFXLYQ",
    }
)
#: Columns ganpo derives when it reads units; not written back.
_DERIVED_UNIT_COLUMNS = ("category_zh", "county_adcode", "city_adcode", "area_km2", "source", "name_en", "derivation")
#: A DBF text field holds at most this many bytes; longer texts are complete only in the GeoPackage.
DBF_TEXT_BYTES = 254


def _official_units(units: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Units in the field names of the file they came from (official names for standard columns)."""
    names = dict(OFFICIAL_UNIT_FIELDS) | dict(units.attrs.get("field_names", {}))
    out = units.drop(columns=[c for c in _DERIVED_UNIT_COLUMNS if c in units.columns])
    if units.attrs.get("category_as_text", True):
        out["category"] = out["category"].map(CATEGORY_ZH)
    return out.rename(columns={k: v for k, v in names.items() if k in out.columns})


def export_layers(layers: Layers, folder: str | Path, *, crs: Any = None) -> list[Path]:
    """Write the zoning layers in use in official field names: GBK shapefiles (+ .cpg) and a GeoPackage.

    Control units get their official field names back (HJZHGKDYBM, HJZHGKDYMC, ZHGKDYFL, KJBJYS,
    PWWPFGK, HJFXFK, ZYKFXLYQ ... or the names of the file they were read from); red lines and
    screening layers keep their columns. Each layer is written as ``<name>.shp`` (GBK, with a
    ``.cpg`` saying so, as Chinese desktop GIS expects) and as a layer of ``layers.gpkg`` (UTF-8, no
    field-length limit); an access list in use is written as ``access_list.xlsx`` with the Chinese
    column names of published lists; a ``layers.toml`` naming the files is written too, so the
    export can be read back with :meth:`Layers.from_file`. Bundled reference layers in use are written with
    ``_reference`` in their names.

    Parameters
    ----------
    layers : Layers
    folder : path
        Created if missing.
    crs : optional
        CRS to write (e.g. ``"EPSG:4548"``); default the CRS the layers file declared for the
        units, else WGS84.

    Returns
    -------
    list of pathlib.Path
        The files written.

    Warns
    -----
    UserWarning
        A text longer than a DBF field holds (254 bytes in GBK): the shapefile has it cut, the
        GeoPackage has it whole.
    """
    out_dir = Path(folder)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = crs or layers.sources.get("control_units", {}).get("crs") or "EPSG:4326"
    items: list[tuple[str, gpd.GeoDataFrame, str | None]] = []
    units = layers.units()
    items.append(
        (
            "control_units" if layers.control_units is not None else "control_units_reference",
            _official_units(units) if layers.control_units is not None else units,
            "control_units",
        )
    )
    red = layers.red()
    items.append(("redlines" if layers.redlines is not None else "redlines_reference", red, "redlines"))
    for screen in layers.screening:
        items.append((f"screening_{screen.name}", screen.zones, None))
    written: list[Path] = []
    gpkg = out_dir / "layers.gpkg"
    gpkg.unlink(missing_ok=True)
    toml_lines = []
    for name, gdf, section in items:
        frame = gdf.to_crs(target)
        for col in frame.columns:
            if frame[col].dtype == object and col != frame.geometry.name:
                lengths = frame[col].dropna().astype(str).map(lambda t: len(t.encode("gb18030")))
                if len(lengths) and lengths.max() > DBF_TEXT_BYTES:
                    warnings.warn(
                        f"{name}: field {col} has texts over {DBF_TEXT_BYTES} bytes (GBK); the shapefile cuts "
                        "them, layers.gpkg keeps them whole: use the GeoPackage",
                        UserWarning,
                        stacklevel=2,
                    )
        shp = out_dir / f"{name}.shp"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # GDAL's notes on truncated values
            pyogrio.write_dataframe(frame, shp, encoding="GBK")
        shp.with_suffix(".cpg").write_text("GBK", encoding="ascii")
        pyogrio.write_dataframe(frame, gpkg, layer=name)
        written.extend([shp, shp.with_suffix(".cpg")])
        if section is not None and not name.endswith("_reference"):
            toml_lines.append(f'[{section}]\npath = "{shp.name}"\n')
    if layers.access_list is not None:
        xlsx = out_dir / "access_list.xlsx"
        _write_access_list(layers.access_list, xlsx)
        written.append(xlsx)
        toml_lines.append(f'[access_list]\npath = "{xlsx.name}"\n')
    for screen in layers.screening:
        toml_lines.append(
            "[[screening]]\n"
            + "".join(
                f"{key} = {json.dumps(value, ensure_ascii=False)}\n"
                for key, value in (
                    ("name", screen.name),
                    ("path", f"screening_{screen.name}.shp"),
                    ("effect", screen.effect),
                    ("industries", screen.industries.split(";") if screen.industries != "all" else "all"),
                    ("buffer_m", screen.buffer_m),
                    ("text_zh", screen.text_zh),
                    ("basis", screen.basis),
                )
            )
        )
    toml = out_dir / "layers.toml"
    toml.write_text("\n".join(toml_lines), encoding="utf-8")
    return [*written, gpkg, toml]


#: Column names written by :func:`export_layers` for an access list (as in published lists).
ACCESS_LIST_HEADERS: Mapping[str, str] = MappingProxyType(
    {
        "level": "层级",
        "city": "地市",
        "county": "区县",
        "unit_code": "环境管控单元编码",
        "name_zh": "管控单元名称",
        "category": "管控单元分类",
        "spatial_layout": "空间布局约束",
        "pollutant_discharge": "污染物排放管控",
        "environmental_risk": "环境风险防控",
        "resource_efficiency": "资源开发效率要求",
    }
)
_LEVEL_ZH = {"province": "省级", "city": "市级", "unit": "单元"}


def _write_access_list(table: pd.DataFrame, path: Path) -> None:
    """An access list as one .xlsx sheet in the column names of published lists."""
    cols = [c for c in ACCESS_LIST_HEADERS if c in table.columns]
    out = table[cols].copy()
    if "level" in out.columns:
        out["level"] = out["level"].map(lambda v: _LEVEL_ZH.get(v, v))
    out.rename(columns=dict(ACCESS_LIST_HEADERS)).to_excel(path, index=False, sheet_name="准入清单", engine="openpyxl")
