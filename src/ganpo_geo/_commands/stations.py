"""``ganpo stations``: the monitoring stations of the phosphorus model (illustrative loads).

Its own module because it reads the loads tables (:mod:`ganpo_geo.loads`, which imports the
river network), which ``ganpo industries`` and ``ganpo rules`` do not need.
"""

from __future__ import annotations

import click
import pandas as pd

from ganpo_geo._commands._common import _REFERENCE_NOTICE
from ganpo_geo._commands.vocab import _emit, _format_option
from ganpo_geo.layers import load_layer
from ganpo_geo.loads import station_observations

__all__ = ["station_table", "stations_cmd"]


def station_table() -> pd.DataFrame:
    """The bundled monitoring stations with their (illustrative) observed TP loads.

    Returns
    -------
    pandas.DataFrame
        ``station_id``, names, river, ``basin``, ``lon``/``lat``, ``role``, ``trace_target``,
        ``reach_id`` (nullable integer), ``gauged_area_km2``, ``observed_tp_kg_yr`` (synthetic),
        ``note`` and ``source``.
    """
    stations = load_layer("stations")
    table = pd.DataFrame(stations.drop(columns=stations.geometry.name))
    table["reach_id"] = table["reach_id"].astype("Int64")
    loads = station_observations().set_index("station_id")["load_kg_yr"]
    table["observed_tp_kg_yr"] = table["station_id"].map(loads)
    columns = [
        "station_id",
        "name_zh",
        "name_en",
        "river_zh",
        "river_en",
        "basin",
        "lon",
        "lat",
        "role",
        "trace_target",
        "reach_id",
        "gauged_area_km2",
        "observed_tp_kg_yr",
        "note",
        "source",
    ]
    return table[columns]


@click.command("stations")
@_format_option
def stations_cmd(fmt: str) -> None:
    """List the monitoring stations of the phosphorus model (illustrative loads)."""
    table = station_table()
    columns = [
        ("station_id", "station", 12),
        ("name_zh", "name_zh", 8),
        ("river_zh", "river", 12),
        ("basin", "basin", 7),
        ("lon", "lon", 8),
        ("lat", "lat", 7),
        ("reach_id", "reach", 7),
        ("trace_target", "trace", 8),
        ("observed_tp_kg_yr", "obs. TP kg/yr", 15),
        ("role", "role", 0),
    ]
    footer = [
        "Observed TP loads are ILLUSTRATIVE, synthesized for demonstration (not measured); positions approximate.",
        "A station id is a `ganpo tp trace --to` target (trace: reach, lake or outlet; none: not on the network).",
        _REFERENCE_NOTICE,
    ]
    _emit(table, fmt, columns, footer)
