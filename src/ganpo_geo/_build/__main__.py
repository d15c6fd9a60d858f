"""``python -m ganpo_geo._build``: rebuild the bundled reference data (see :mod:`ganpo_geo._build.run`)."""

from ganpo_geo._build.run import main

raise SystemExit(main())
