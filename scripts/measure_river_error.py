"""Measure the positional error of the bundled river lines against sourced points on the rivers.

Reads ``data/rivers/river_landmarks.csv`` (bridges, confluences and river mouths whose published
WGS84 coordinates lie on the channel) and measures, in the Jiangxi Albers CRS, how far each
point is from the water body the shoreline rule uses for its river: the GSHHG Yangtze or Poyang
Lake polygon (0 m when the point is inside it; the lake's outflow channel is part of the lake
polygon) or the bundled network's reaches named after the river (the WDBII centreline).
Prints one line per landmark and the median, 90th percentile and maximum per kind of line, and
with ``--json FILE`` writes them (docs/guide/siting.md, "Positional error of the river lines").

Usage: ``python scripts/measure_river_error.py [--json FILE]``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from ganpo_geo.crs import to_albers
from ganpo_geo.layers import load_layer

REPO = Path(__file__).resolve().parents[1]
LANDMARKS = REPO / "data" / "rivers" / "river_landmarks.csv"


def measure(landmarks: pd.DataFrame) -> pd.DataFrame:
    """Distance (m) from each landmark to its river's bundled geometry; NaN when the river has none."""
    reaches = load_layer("reaches")
    lakes = load_layer("lakes")
    out = []
    for row in landmarks.itertuples(index=False):
        point = to_albers(np.array([shapely.Point(row.lon, row.lat)], dtype=object))[0]
        if row.river_zh == "长江":
            geoms = lakes.geometry[lakes["name_zh"] == "长江"]
        elif row.river_zh in ("鄱阳湖", "鄱阳湖出湖水道"):  # the outflow channel is part of the lake polygon
            geoms = lakes.geometry[lakes["name_zh"] == "鄱阳湖"]
        else:
            geoms = reaches.geometry[reaches["river_zh"].fillna("") == row.river_zh]
        if len(geoms) == 0:
            out.append(np.nan)
            continue
        out.append(float(shapely.distance(point, shapely.union_all(to_albers(geoms.to_numpy())))))
    return landmarks.assign(error_m=out)


POLYGON_RIVERS = ("长江", "鄱阳湖", "鄱阳湖出湖水道")


def summary(measured: pd.DataFrame) -> dict[str, dict[str, float | int]]:
    """Median, 90th percentile and maximum of the measured errors (metres), for the WDBII
    centrelines and for the GSHHG bank polygons separately."""
    polygon = measured["river_zh"].isin(POLYGON_RIVERS)
    out = {}
    for kind, rows in (("centreline", measured[~polygon]), ("bank_polygon", measured[polygon])):
        err = rows["error_m"].dropna().to_numpy()
        out[kind] = {
            "n": int(err.size),
            "median_m": float(np.median(err)) if err.size else float("nan"),
            "p90_m": float(np.percentile(err, 90)) if err.size else float("nan"),
            "max_m": float(err.max()) if err.size else float("nan"),
        }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, help="write the summary and the per-landmark errors here")
    args = parser.parse_args(argv)
    measured = measure(pd.read_csv(LANDMARKS))
    for row in measured.itertuples(index=False):
        print(f"{row.river_zh:6s} {row.error_m:8.0f} m  {row.name_zh}")
    stats = summary(measured)
    print(json.dumps(stats, indent=1))
    if args.json:
        payload = {**stats, "landmarks": measured[["name_zh", "river_zh", "error_m"]].to_dict("records")}
        args.json.write_text(json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
