"""What every build step shares: where inputs and outputs live, writing a layer with its
provenance, the sourced input tables of the repository's ``data/`` folder, and densification.

Each step reads the repository's sourced tables from ``data_dir`` (``data/`` of a checkout)
and what earlier steps wrote from its output folder, never from the installed package.
"""

from __future__ import annotations

import importlib.metadata
import json
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from ganpo_geo._errors import BuildInputError
from ganpo_geo.layers import PROVENANCE_KEY

#: ``src/ganpo_geo/data`` next to this subpackage: the bundled data the build writes by default.
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "data"
#: The repository's ``data/`` folder when the package is run from a checkout (``src`` layout).
REPO_DATA = Path(__file__).resolve().parents[3] / "data"
#: A file every data folder of the build must hold (checked before a build starts).
_MARKER = Path("rivers") / "stations.csv"


def find_data_dir(data_dir: Path | str | None = None) -> Path:
    """The folder of the build's sourced input tables (``data/`` of a repository checkout).

    Parameters
    ----------
    data_dir : path, optional
        The folder to use; default: ``data/`` of the checkout this package is run from, else
        ``data/`` in the current directory (a checkout with the package installed from it).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    BuildInputError
        The folder does not hold the input tables (e.g. an installed wheel, not a checkout).
    """
    if data_dir is not None:
        folder = Path(data_dir)
    else:
        # a checkout run in place (editable install), else the checkout the build is run from
        # (a non-editable install, as CI tests the wheel from the repository's root)
        candidates = [REPO_DATA, Path.cwd() / "data"]
        folder = next((c for c in candidates if (c / _MARKER).is_file()), REPO_DATA)
    if not (folder / _MARKER).is_file():
        where = "the data/ folder next to src/ or in the current directory" if data_dir is None else str(folder)
        msg = (
            f"no build input tables in {where} ({_MARKER.as_posix()} missing): run the build from a "
            "ganpo_geo git checkout or pass --data-dir <checkout>/data"
        )
        raise BuildInputError(msg)
    return folder


def package_info(dist: str) -> dict[str, str]:
    """Name, version and licence of an installed data package (for a layer's provenance)."""
    meta = importlib.metadata.metadata(dist)
    return {
        "source_package": dist,
        "source_version": importlib.metadata.version(dist),
        "licence": meta.get("License-Expression") or meta.get("License") or "",  # type: ignore[attr-defined]  # email.Message API
    }


def write_layer(gdf: gpd.GeoDataFrame, path: Path, layer: str, provenance: dict[str, Any]) -> None:
    """Write one layer with its provenance in the GeoPackage layer metadata."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pyogrio.write_dataframe(
        gdf,
        path,
        layer=layer,
        driver="GPKG",
        layer_metadata={PROVENANCE_KEY: json.dumps(provenance, ensure_ascii=False, sort_keys=True)},
        append=False,
    )


def read_layer(out_dir: Path, relative: str, layer: str) -> gpd.GeoDataFrame:
    """A layer an earlier step wrote into ``out_dir``; a clear error when that step has not run."""
    path = out_dir / relative
    if not path.is_file():
        msg = f"{path} not found: run the build step that writes {relative} into the same --out folder first"
        raise BuildInputError(msg)
    frame: gpd.GeoDataFrame = pyogrio.read_dataframe(path, layer=layer)
    return frame


def read_table(data_dir: Path, name: str) -> pd.DataFrame:
    """A sourced input table of ``data_dir/rivers`` (every row must have a source)."""
    table = pd.read_csv(data_dir / "rivers" / name, dtype=str, keep_default_na=False)
    if "source" not in table.columns or (table["source"].str.strip() == "").any():
        msg = f"data/rivers/{name}: every row needs a non-empty source"
        raise ValueError(msg)
    return table


def fact(data_dir: Path, key: str) -> float:
    """A published figure from ``data/rivers/facts.csv``."""
    table = read_table(data_dir, "facts.csv").set_index("key")
    return float(table.loc[key, "value"])


def densify(geoms: Any, max_len: float) -> np.ndarray:
    """Geometries with vertices added so that no segment is longer than ``max_len`` (CRS units).

    ``shapely.segmentize`` on a polygon lets GEOS (3.14) "repair" the densified ring with a
    zero buffer, which can collapse a valid polygon to a sliver; so polygon rings are
    densified as lines and rebuilt (a multi-part input stays a MultiPolygon). Other geometry
    types go to ``shapely.segmentize`` directly. Every build step that densifies uses this.
    """
    geoms = np.asarray(geoms, dtype=object)
    kinds = shapely.get_type_id(geoms)
    polygonal = (kinds == shapely.GeometryType.POLYGON) | (kinds == shapely.GeometryType.MULTIPOLYGON)
    out = geoms.copy()
    if (~polygonal).any():
        out[~polygonal] = shapely.segmentize(geoms[~polygonal], max_len)
    if not polygonal.any():
        return np.asarray(out)
    polys_in = geoms[polygonal]
    parts, part_idx = shapely.get_parts(polys_in, return_index=True)
    keep = ~shapely.is_empty(parts)  # an empty part has no ring
    parts, part_idx = parts[keep], part_idx[keep]
    rings, ring_idx = shapely.get_rings(parts, return_index=True)
    polys = shapely.polygons(shapely.segmentize(rings, max_len), indices=ring_idx)
    dense = np.array([shapely.Polygon()] * len(polys_in), dtype=object)
    multi = shapely.get_type_id(polys_in) == shapely.GeometryType.MULTIPOLYGON
    for i in np.unique(part_idx):
        mine = polys[part_idx == i]
        dense[i] = shapely.MultiPolygon(list(mine)) if multi[i] or mine.size > 1 else mine[0]
    out[polygonal] = dense
    return np.asarray(out)
