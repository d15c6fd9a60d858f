"""Write every ganpo_geo map into a folder (default ``maps/``), with an index.html.

Usage::

    python scripts/make_maps.py [--out DIR] [--offline/--no-offline] [--tiles none|osm|tianditu|amap]

Offline (the default) inlines Leaflet and its plugins, so the files open without internet.
"""

from __future__ import annotations

import argparse

from ganpo_geo.maps import write_all


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="maps", help="output folder (default: maps)")
    parser.add_argument(
        "--offline", action=argparse.BooleanOptionalAction, default=True, help="inline Leaflet (default)"
    )
    parser.add_argument("--tiles", default="none", choices=["none", "osm", "tianditu", "amap"])
    args = parser.parse_args(argv)
    for path in write_all(args.out, offline=args.offline, tiles=args.tiles):
        print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
