"""Check the site answers on real towns and landmarks and write the table of the siting guide.

Reads ``tests/data/real_places.csv`` (61 sourced places over all 11 cities, with the county,
basin and, for places on a main stem or major tributary, the river that published sources give
them), checks each with :func:`ganpo_geo.siting.check_sites` and compares: the county
(adcode), the basin (:func:`ganpo_geo.rivers.basin_of`) and, where the place is on a main stem,
the name of the nearest reach. Rewrites the table between ``<!-- places:start -->`` and
``<!-- places:end -->`` in docs/guide/siting.md (``--write``) or prints it.

Usage: ``python scripts/real_places_table.py [--write]``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from ganpo_geo.siting import check_sites

REPO = Path(__file__).resolve().parents[1]
PLACES = REPO / "tests" / "data" / "real_places.csv"
START, END = "<!-- places:start -->", "<!-- places:end -->"
PAGE = REPO / "docs" / "guide" / "siting.md"  # the page holding the table


def compare(places: pd.DataFrame | None = None) -> pd.DataFrame:
    """The project's answers next to the expected ones, with a hit flag per question."""
    places = pd.read_csv(PLACES, dtype={"county_adcode": str}) if places is None else places
    sites = gpd.GeoDataFrame(
        places[["name_en"]], geometry=shapely.points(places["lon"], places["lat"]), crs=4326
    )
    got = check_sites(sites, industry="garment")
    out = places[["name_zh", "name_en", "county_adcode", "basin", "river", "on_main_stem"]].copy()
    out["got_county"] = got["county_adcode"].to_numpy()
    out["got_basin"] = got["basin"].to_numpy()
    out["got_river"] = got["river_name"].str.split(" ").str[0].fillna("").to_numpy()
    out["county_ok"] = out["county_adcode"] == out["got_county"]
    out["basin_ok"] = out["basin"] == out["got_basin"]
    on_stem = out["on_main_stem"].astype(str).str.lower() == "true"
    out["river_ok"] = pd.array([pd.NA] * len(out), dtype="boolean")
    out.loc[on_stem, "river_ok"] = out.loc[on_stem, "river"] == out.loc[on_stem, "got_river"]
    return out


def rates(table: pd.DataFrame) -> str:
    """One line with the hit rates."""
    river = table["river_ok"].dropna()
    return (
        f"County {int(table['county_ok'].sum())}/{len(table)}, "
        f"basin {int(table['basin_ok'].sum())}/{len(table)}, "
        f"river on main stems {int(river.sum())}/{len(river)}."
    )


def markdown(table: pd.DataFrame) -> str:
    """The table (Markdown)."""
    mark = {True: "✓", False: "✗"}
    lines = [
        "| place | county (expected → ganpo) | basin | river on main stem |",
        "|---|---|---|---|",
    ]
    for row in table.itertuples(index=False):
        river = "" if pd.isna(row.river_ok) else f"{row.river} → {row.got_river or '-'} {mark[bool(row.river_ok)]}"
        lines.append(
            f"| {row.name_zh} {row.name_en} | {row.county_adcode} → {row.got_county} {mark[bool(row.county_ok)]} "
            f"| {row.basin} → {row.got_basin or '-'} {mark[bool(row.basin_ok)]} | {river} |"
        )
    return "\n".join([rates(table), "", *lines])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help="rewrite the table in docs/guide/siting.md")
    args = parser.parse_args(argv)
    text = markdown(compare())
    if not args.write:
        print(text)
        return 0
    body = PAGE.read_text(encoding="utf-8")
    head, rest = body.split(START, 1)
    _, tail = rest.split(END, 1)
    PAGE.write_text(f"{head}{START}\n{text}\n{END}{tail}", encoding="utf-8")
    print(rates(compare()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
