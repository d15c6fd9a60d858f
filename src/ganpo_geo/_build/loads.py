"""Build the bundled ILLUSTRATIVE TP inputs (``rivers/tp_*.csv``), deterministically.

ILLUSTRATIVE DATA, SYNTHESIZED FOR DEMONSTRATION: per-river TP loads of Poyang Lake are not
published here. The inputs are scaled so that the routed export at Hukou matches the published
order of magnitude (``data/rivers/facts.csv``): about 8,450 t/yr leaves the lake (5.9% of the
Yangtze's 143,300 t/yr at its estuary, 2018-2022), and 145 km3/yr at a Class IV lake
concentration (0.05-0.1 mg/L, GB 3838-2002) carries 7,250-14,500 t/yr. With the default lake
retention (40% of the inflow) the lake inflow is then about 1.7 times the export.

- ``tp_export_coefficients.csv``: diffuse export by control-unit category (kg/km2/yr):
  priority 20 (mostly forest), key 180 (urban and industrial), general 90 (farmland and
  villages); within the ranges usually quoted for forest, urban and agricultural land.
- ``tp_sources.csv``: wastewater plants at the 11 city centres (8 at approximate city-centre
  coordinates, 3 at a representative point of the city's first key unit), loads from an
  assumed treated flow and 1.0 mg/L effluent TP (the GB 18918-2002 Class 1B limit);
  industrial parks on every 15th key unit and livestock farms on every 6th general unit
  (representative points), loads drawn with a fixed seed.
- ``tp_reach_loads.csv``: each reach's routed load and its share of the lake inflow, from the
  model with default parameters (read by the siting check).
- ``tp_station_loads.csv``: SYNTHETIC "observations" at the river gauging stations: the
  model's loads with multipliers ``TRUE_MULTIPLIERS`` and decay ``TRUE_K_PER_KM``, times
  lognormal noise (sigma ``NOISE_SIGMA``, fixed seed). They exist to demonstrate calibration
  only.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyogrio

from ganpo_geo import loads
from ganpo_geo._build.common import read_layer
from ganpo_geo._errors import ValidationError
from ganpo_geo.layers import PROVENANCE_KEY, Layers
from ganpo_geo.rivers import network_from_gdfs

SEED = 5_301
TRUE_MULTIPLIERS = {"diffuse": 1.1, "wastewater_plant": 0.9, "industrial_park": 1.25, "livestock_farm": 1.3}
TRUE_K_PER_KM = 0.001
NOISE_SIGMA = 0.08
EXPORT = {1: 20.0, 2: 180.0, 3: 90.0}
CITY_CENTRES = {  # approximate city centres and assumed populations (docs/sources.md)
    "360100": ("南昌", "Nanchang", 115.89, 28.68, 1_500_000),
    "360700": ("赣州", "Ganzhou", 114.93, 25.83, 500_000),
    "360800": ("吉安", "Ji'an", 114.99, 27.11, 250_000),
    "360200": ("景德镇", "Jingdezhen", 117.18, 29.27, 300_000),
    "361100": ("上饶", "Shangrao", 117.94, 28.45, 300_000),
    "360600": ("鹰潭", "Yingtan", 117.07, 28.26, 150_000),
    "361000": ("抚州", "Fuzhou", 116.36, 27.95, 250_000),
    "360400": ("九江", "Jiujiang", 116.00, 29.71, 400_000),
}
OTHER_CITIES = {"360300": ("萍乡", "Pingxiang", 200_000), "360500": ("新余", "Xinyu", 200_000),
                "360900": ("宜春", "Yichun", 250_000)}  # fmt: skip
EFFLUENT_TP_MG_L = 1.0


def _network(out_dir: Path) -> tuple[nx.DiGraph, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The river network, its catchments and its stations as the network step wrote them into
    ``out_dir`` (not the installed package's copy)."""
    nodes = read_layer(out_dir, "rivers/network.gpkg", "nodes").set_index("node_id")
    reaches = read_layer(out_dir, "rivers/network.gpkg", "reaches")
    reaches.index = reaches["reach_id"].to_numpy()
    meta = pyogrio.read_info(out_dir / "rivers" / "network.gpkg", layer="reaches")["layer_metadata"] or {}
    outlet = int(json.loads(meta.get(PROVENANCE_KEY, "{}")).get("outlet_node", -1))
    reaches.attrs["graph"] = {"crs": "EPSG:4326", "outlet": outlet, "name": f"Poyang Lake basin (built in {out_dir})"}
    cats = read_layer(out_dir, "rivers/network.gpkg", "catchments")
    cats = cats.set_index("reach_id", drop=False).rename_axis(None)
    stations = read_layer(out_dir, "rivers/network.gpkg", "stations")
    return network_from_gdfs(nodes, reaches), cats, stations


def build_loads(out_dir: Path, data_dir: Path) -> Path:
    """Write the three CSVs into ``out_dir/rivers``; return the sources path.

    The units, the network, its catchments and stations are read from ``out_dir`` (what the
    ``network`` and ``zoning`` steps wrote there); ``data_dir`` is not read (the published
    figures this step is scaled to are in the module docstring).
    """
    del data_dir  # same signature as the other steps
    units = read_layer(out_dir, "boundaries/zoning.gpkg", "control_units")
    G, cats, stations = _network(out_dir)
    rng = np.random.default_rng(SEED)
    rivers = out_dir / "rivers"
    pd.DataFrame(
        {
            "category": list(EXPORT),
            "export_kg_km2_yr": list(EXPORT.values()),
            "note": [
                "priority protection (mostly forest)",
                "key control (urban, industrial)",
                "general control (farmland, villages)",
            ],
            "source": "ILLUSTRATIVE (ganpo_geo/_build/loads.py), not measured",
        }
    ).to_csv(rivers / "tp_export_coefficients.csv", index=False)
    rows = []
    for code, (zh, en, lon, lat, flow) in CITY_CENTRES.items():
        rows.append(
            (
                f"WWTP-{code}",
                f"{zh}城市污水处理厂",
                lon,
                lat,
                flow * 365 * EFFLUENT_TP_MG_L / 1000,
                "wastewater_plant",
                en,
            )
        )
    for code, (zh, en, flow) in OTHER_CITIES.items():
        key = units[(units["city_adcode"] == code) & (units["category"] == 2)].iloc[0]
        pt = key.geometry.representative_point()
        rows.append((f"WWTP-{code}", f"{zh}城市污水处理厂", round(pt.x, 5), round(pt.y, 5),
                     flow * 365 * EFFLUENT_TP_MG_L / 1000, "wastewater_plant", en))  # fmt: skip
    key_units = units[units["category"] == 2].iloc[::15]
    for i, unit in enumerate(key_units.itertuples(), start=1):
        pt = unit.geometry.representative_point()
        rows.append((f"IND-{i:03d}", f"{unit.name_zh}工业园区", round(pt.x, 5), round(pt.y, 5),
                     float(np.round(rng.lognormal(np.log(60_000), 0.6), 0)), "industrial_park", ""))  # fmt: skip
    general = units[units["category"] == 3].iloc[::6]
    for i, unit in enumerate(general.itertuples(), start=1):
        pt = unit.geometry.representative_point()
        rows.append((f"FARM-{i:03d}", f"{unit.name_zh}规模化养殖场", round(pt.x, 5), round(pt.y, 5),
                     float(np.round(rng.lognormal(np.log(30_000), 0.7), 0)), "livestock_farm", ""))  # fmt: skip
    sources = pd.DataFrame(rows, columns=["source_id", "name", "lon", "lat", "tp_kg_yr", "kind", "note"])
    sources["tp_kg_yr"] = sources["tp_kg_yr"].round(0)
    sources["source"] = "ILLUSTRATIVE (ganpo_geo/_build/loads.py): synthesized, not measured"
    path = rivers / "tp_sources.csv"
    sources.to_csv(path, index=False)

    # synthetic observations from the model with known multipliers and decay
    layers = Layers(control_units=units)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        points = loads.point_sources(path, G, catchments_gdf=cats)
    diffuse = loads.diffuse_sources(rivers / "tp_export_coefficients.csv", layers=layers, catchments_gdf=cats)
    all_sources = loads.finish_sources(pd.concat([points, diffuse], ignore_index=True), G, layers)
    scaled = all_sources.copy()
    scaled["tp_kg_yr"] = all_sources["tp_kg_yr"] * all_sources["kind"].map(TRUE_MULTIPLIERS).to_numpy()
    params = loads.RoutingParams(k_per_km=TRUE_K_PER_KM)
    obs = []
    # stations on a river reach (not the lake's, not Hukou, not trace_target=none)
    on_reach = (stations["trace_target"] == "reach") & (stations["station_id"] != "hukou")
    for st in stations.loc[on_reach, "station_id"]:
        try:
            true_load = float(loads.delivered_loads(G, scaled, st, params, stations=stations).sum())
        except ValidationError:  # a station not on the network: no observation
            continue
        obs.append((st, round(true_load * float(rng.lognormal(0.0, NOISE_SIGMA)), 0), 1.0))
    # per reach: routed load and its share of the lake inflow (read by the siting check)
    base = loads.RoutingParams()
    routed = loads.route(G, all_sources, base)
    to_lake = routed["load_kg_yr"].to_numpy() * loads.delivery_from_reaches(G, "poyang", base)
    inflow = loads.target_load(G, "poyang", all_sources, base)
    pd.DataFrame(
        {
            "reach_id": routed["reach_id"].to_numpy(),
            "local_kg_yr": routed["local_kg_yr"].round(1).to_numpy(),
            "load_kg_yr": routed["load_kg_yr"].round(1).to_numpy(),
            "delivered_to_lake_kg_yr": np.round(to_lake, 1),
            "share_of_lake_inflow_pct": np.round(to_lake / inflow * 100, 3),
            "source": "ILLUSTRATIVE: bundled TP model with default parameters (ganpo_geo/_build/loads.py)",
        }
    ).sort_values("reach_id").to_csv(rivers / "tp_reach_loads.csv", index=False)
    pd.DataFrame(obs, columns=["station_id", "load_kg_yr", "weight"]).assign(
        source="SYNTHETIC observations (model x lognormal noise, ganpo_geo/_build/loads.py): demonstration only"
    ).to_csv(rivers / "tp_station_loads.csv", index=False)
    return path
