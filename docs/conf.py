"""Sphinx configuration for skprepal's documentation."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

import skprepal

_EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

# The gallery's scripts draw their figures off-screen.
os.environ.setdefault("MPLBACKEND", "Agg")
matplotlib.use("Agg")

project = "skprepal"
author = "skprepal developers"
copyright = "2026, skprepal developers"
release = skprepal.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]
autosummary_generate = True
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
templates_path = ["_templates"]
exclude_patterns = ["_build", "generated/*.examples", "auto_examples/*.ipynb"]
html_theme = "pydata_sphinx_theme"
html_title = f"skprepal {release}"
intersphinx_mapping = {}  # offline builds: no inventories are fetched

# Pages without sub-pages get no (empty) left sidebar.
html_sidebars = {
    page: [] for page in ("index", "getting_started", "user_guide", "labeling", "method")
}
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    # Example pages get the full width for their code and output (no right-hand sidebar).
    "secondary_sidebar_items": {
        "**": ["page-toc"],
        **{f"auto_examples/{script.stem}": [] for script in _EXAMPLES.glob("plot_*.py")},
    },
}

# Every examples/plot_*.py script is run at build time; its output and figures go into the page.
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"__init__\.py",
    "abort_on_example_error": True,
    "image_scrapers": ("matplotlib",),
    "within_subsection_order": "FileNameSortKey",
    "doc_module": ("skprepal",),
    # "Examples using X" lists on the API pages (see _templates/autosummary/*.rst).
    "backreferences_dir": "generated",
    "reference_url": {"skprepal": None},
    "download_all_examples": False,
    "remove_config_comments": True,
    "show_memory": False,
}


def _skip_metadata_request_methods(app, what, name, obj, skip, options):
    # scikit-learn generates set_*_request methods on every estimator; their docstrings point
    # into scikit-learn's own glossary, and they are documented there.
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return skip


def setup(app):
    app.connect("autodoc-skip-member", _skip_metadata_request_methods)
