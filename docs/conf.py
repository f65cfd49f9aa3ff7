"""Sphinx configuration for skprepal's documentation."""

from __future__ import annotations

import skprepal

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
]
autosummary_generate = True
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
templates_path = ["_templates"]
exclude_patterns = ["_build", "generated/*.examples"]
html_theme = "pydata_sphinx_theme"
html_title = f"skprepal {release}"
intersphinx_mapping = {}  # offline builds: no inventories are fetched


def _skip_metadata_request_methods(app, what, name, obj, skip, options):
    # scikit-learn generates set_*_request methods on every estimator; their docstrings point
    # into scikit-learn's own glossary, and they are documented there.
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return skip


def setup(app):
    app.connect("autodoc-skip-member", _skip_metadata_request_methods)
