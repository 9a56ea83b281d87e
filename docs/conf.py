"""Sphinx configuration of npflow's documentation site.

Build it with the documentation tools installed (``pip install -e '.[docs]'``), from the
repository's folder::

    sphinx-build -W -b html docs docs/_build/html

The pages are the MyST Markdown files under ``docs/`` (they read on GitHub as they are). Three
parts of the site are made at build time by the local extension ``docs/_ext/npflow_docs.py``,
and are not kept in the repository: the command-line reference (``cli_reference.md``, from the
argparse parsers), the table of the top-level ``npflow`` namespace (``api/npflow.md``, from
``npflow.__all__``), and the example gallery (``gallery/``, sphinx-gallery running
``examples/*.py`` with ``--quick``).
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "_ext"))

import npflow  # noqa: E402  (the installed package: pip install -e '.[docs]')

project = "npflow"
author = "The npflow authors"
copyright = "The npflow authors, MIT license"
version = release = npflow.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "sphinx_copybutton",
    "npflow_docs",  # docs/_ext: the CLI reference, the namespace table, the gallery's sources and figures
]

source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build", "_examples", "**/GALLERY_HEADER.rst", "**.ipynb"]
templates_path = []

# MyST: the pages are plain Markdown; headings get anchors down to ###, as GitHub gives them
myst_heading_anchors = 3

# autodoc + numpydoc: the API reference. __all__ says what is public.
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "undoc-members": True, "show-inheritance": True}
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

# sphinx-gallery: examples/*.py in their quick mode. npflow_docs copies them to _examples/ with
# their Markdown cells in reStructuredText (what sphinx-gallery reads), gives each example
# `--quick --out <a temporary folder>`, and collects the figures the example writes there.
sphinx_gallery_conf = {
    "examples_dirs": "_examples",
    "gallery_dirs": "gallery",
    "filename_pattern": r".*\.py$",
    "reset_argv": "npflow_docs.example_argv",
    "image_scrapers": ("matplotlib", "npflow_docs.scrape_written_figures"),
    "within_subsection_order": "npflow_docs.CourseOrder",
    "download_all_examples": False,
    "write_computation_times": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
    "capture_repr": (),  # scripts: show what they print, not the value of a cell's last line
}

# copy buttons: leave out prompts and the output of ```text blocks
copybutton_exclude = ".linenos, .gp, .go"

html_theme = "pydata_sphinx_theme"
html_title = f"npflow {release}"
html_theme_options = {
    "navigation_depth": 2,
    "show_toc_level": 2,
    "navbar_align": "left",
    "secondary_sidebar_items": ["page-toc", "sourcelink"],
}
html_show_sourcelink = True
html_copy_source = True
