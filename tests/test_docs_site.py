"""The documentation site's sources: what the API reference documents, and what the docs extra installs.

The site itself is built by ``sphinx-build -W -b html docs docs/_build/html`` (in CI, after the
tests); these checks need no Sphinx.
"""
import configparser
import importlib
import pathlib
import pkgutil
import re

import pytest

ROOT = pathlib.Path(__file__).parent.parent
DOCS = ROOT / "docs"
API = DOCS / "api"

#: The packages whose every module the API reference documents, with autodoc (``__all__`` says what is public).
DOCUMENTED = ("npflow.core", "npflow.diffusion", "npflow.guidance", "npflow.meanflow", "npflow.images",
              "npflow.discrete", "npflow.data", "npflow.models", "npflow.runs")


def modules_of(package_name):
    package = importlib.import_module(package_name)
    yield package_name
    for info in pkgutil.iter_modules(package.__path__):
        yield f"{package_name}.{info.name}"


def automodules():
    """``{module: options}`` of every ``.. automodule::`` directive of docs/api/*.md."""
    found = {}
    for page in API.glob("*.md"):
        for name, options in re.findall(r"^\.\. automodule:: ([\w.]+)\n((?:   :.*\n)*)", page.read_text(), re.MULTILINE):
            found[name] = options
    return found


@pytest.mark.parametrize("package", DOCUMENTED)
def test_every_module_has_its_api_page_entry(package):
    documented = automodules()
    missing = [name for name in modules_of(package) if name not in documented]
    assert not missing, f"docs/api/ documents no automodule for {missing}"


def test_every_module_page_documents_its_members():
    """A module's members are documented (autodoc's defaults in conf.py); only the packages' own pages leave them to the modules."""
    conf = (DOCS / "conf.py").read_text()
    assert re.search(r'autodoc_default_options = \{"members": True, "undoc-members": True', conf)
    for name, options in automodules().items():
        is_package = hasattr(importlib.import_module(name), "__path__")
        assert (":no-members:" in options) == is_package, name


def test_the_api_pages_are_in_the_api_toctree():
    index = (API / "index.md").read_text()
    toctree = index[index.index("```{toctree}"):]
    for page in API.glob("*.md"):
        if page.stem != "index":
            assert f"\n{page.stem}\n" in toctree, page.name
    assert "\nnpflow\n" in toctree  # the namespace page, generated when the site is built


def test_the_docs_extra_holds_the_documentation_tools_only():
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    names = lambda text: {re.split(r"[<>=!~ \[]", line.strip())[0].lower() for line in text.strip().splitlines()
                          if line.strip() and not line.strip().startswith("#")}
    extras = config["options.extras_require"]
    assert names(extras["docs"]) == {"sphinx", "pydata-sphinx-theme", "myst-parser", "numpydoc", "sphinx-gallery",
                                     "sphinx-copybutton"}
    assert names(config["options"]["install_requires"]) == {"numpy", "scipy", "autograd", "matplotlib"}
    assert config["metadata"]["name"] == "npflow-matching"  # "npflow" on PyPI is another project


def test_the_generated_pages_are_not_kept():
    ignored = (ROOT / ".gitignore").read_text().splitlines()
    for path in ("/docs/_build/", "/docs/cli_reference.md", "/docs/api/npflow.md", "/docs/_examples/", "/docs/gallery/"):
        assert path in ignored, path


def test_every_name_of_the_namespace_is_documented_where_it_is_defined():
    """The namespace page links each name of ``npflow.__all__`` to its module, which must have an API entry."""
    import npflow
    documented = automodules()
    for name in npflow.__all__:
        module = getattr(getattr(npflow, name), "__module__", None)
        if module and module.startswith("npflow."):
            assert module in documented, f"npflow.{name} is defined in {module}, which docs/api/ does not document"
