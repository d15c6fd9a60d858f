"""Sphinx configuration of the ganpo_geo documentation.

Build: ``sphinx-build -W --keep-going -b html docs docs/_build/html`` (needs the ``[docs]`` extra).
The example notebooks are executed on every build; nothing is downloaded at build or view time.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))  # document the checkout, not an older installed copy
# the notebook kernels import the same checkout
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")]))

import ganpo_geo  # noqa: E402

project = "ganpo_geo"
author = "ganpo_geo developers"
copyright = "ganpo_geo developers, MIT licence"
release = ganpo_geo.__version__
version = release

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
]

language = "en"
exclude_patterns = ["_build", "jupyter_execute", "screenshots/README.md", "**.ipynb_checkpoints"]
templates_path = ["_templates"]

# MyST and notebooks
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3
nb_execution_mode = "force"  # every build runs the notebooks on the bundled data
nb_execution_raise_on_error = True
nb_execution_timeout = 300
nb_execution_show_tb = True
nb_merge_streams = True

# API reference from the numpydoc docstrings
autosummary_generate = True
autosummary_ignore_module_all = False
autodoc_default_options = {"members": True, "member-order": "bysource"}
autodoc_typehints = "none"  # numpydoc's Parameters sections carry the types
autodoc_mock_imports: list[str] = []
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_validation_checks: set[str] = set()

# HTML: pydata theme, offline (no CDN fonts or scripts; the theme bundles its own)
html_theme = "pydata_sphinx_theme"
html_title = "ganpo_geo"
html_static_path = ["_static"]
html_theme_options = {
    "navbar_end": ["navbar-icon-links"],
    "header_links_before_dropdown": 4,
    "icon_links": [],
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "use_edit_page_button": False,
}
# pages without sub-pages: no (empty) section navigation column
html_sidebars = {
    p: [] for p in ("index", "getting_started*", "examples/*", "sources", "requirements", "bad_input", "data_licences")
}
html_show_sourcelink = False
html_copy_source = False
