"""The ``ganpo`` subcommands, one module per command (group), loaded on demand by :mod:`ganpo_geo.cli`."""
