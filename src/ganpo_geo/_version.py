"""The installed version of ganpo_geo, read from the package metadata (imports nothing heavy)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

__all__ = ["__version__"]

try:
    __version__: str = version("ganpo_geo")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0+unknown"
