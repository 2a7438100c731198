"""Sphinx configuration for the leace_sklearn documentation.

Build with::

    sphinx-build -W --keep-going -b html docs docs/_build/html
"""

import sys
from pathlib import Path

# Make the package importable from a source checkout without installing it.
# The path is computed relative to this file, never hard-coded.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import leace_sklearn  # noqa: E402

# -- Project information -----------------------------------------------------

project = "leace_sklearn"
author = "The leace_sklearn developers"
copyright = "The leace_sklearn developers"
release = leace_sklearn.__version__
version = release

# -- General configuration ---------------------------------------------------

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.doctest",
    "numpydoc",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
source_suffix = {".rst": "restructuredtext"}
root_doc = "index"

# autosummary writes one page per object into docs/generated/ (git-ignored).
autosummary_generate = True
autosummary_imported_members = False

autodoc_default_options = {"member-order": "groupwise"}
autodoc_typehints = "none"  # the numpydoc docstrings already give the types

# numpydoc
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True

# -- Options for HTML output -------------------------------------------------

html_theme = "pydata_sphinx_theme"
html_title = f"leace_sklearn {release}"
html_theme_options = {
    # No external links or icons: the documentation must build and display
    # without network access.
    "icon_links": [],
    "navbar_end": ["theme-switcher"],
    "show_prev_next": True,
    "navigation_with_keys": False,
}
html_sidebars = {"**": ["sidebar-nav-bs"]}
html_show_sourcelink = False


# -- Hide scikit-learn's generated metadata-routing methods ------------------
#
# scikit-learn attaches ``set_{fit,partial_fit,transform,...}_request`` methods
# to every estimator class.  Their docstrings link to scikit-learn's own user
# guide (``:ref:`metadata_routing```), a target that does not exist here, so
# they are left out of the API reference.


def _skip_sklearn_request_methods(app, what, name, obj, skip, options):
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_sklearn_request_methods)
