"""The reference-data build (private): ``python -m ganpo_geo._build`` or
``python scripts/build_reference_data.py``.

One module per step, in build order, each reading the outputs of the earlier steps from the
output folder and the repository's sourced tables from ``data/`` (never the installed
package's data): :mod:`~ganpo_geo._build.admin` (``admin``, ``provinces``),
:mod:`~ganpo_geo._build.hydrography`, :mod:`~ganpo_geo._build.network`,
:mod:`~ganpo_geo._build.zoning` and :mod:`~ganpo_geo._build.loads`; what they share is in
:mod:`~ganpo_geo._build.common` and the driver in :mod:`~ganpo_geo._build.run`.

Nothing in ganpo_geo imports this subpackage: it needs the ``[build-data]`` extra and a
checkout's ``data/`` folder, neither of which a user of the library has.
"""
