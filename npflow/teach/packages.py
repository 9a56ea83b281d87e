"""Loading a copy of npflow under a name of its own, with some of its modules' text replaced.

The grader never imports a student's files as ``npflow``: it loads a package from a folder under
a fresh name (``npflow_graded_1``, ...), so the reference npflow, the student's copy and any
number of mixes of the two can live in one process. A mix is the reference folder with the text
of a few modules replaced (``overrides``): the modules of the exercise under test, with the
student's blocks spliced in.
"""
import importlib.abc
import importlib.machinery
import importlib.util
import itertools
import os
import sys

__all__ = ["load_package", "unload", "module"]

_counter = itertools.count(1)


class _TextLoader(importlib.abc.Loader):
    """Executes a module from a text held in memory, compiled under the file name ``path``."""

    def __init__(self, text, path):
        self.text, self.path = text, path

    def create_module(self, spec):
        return None  # the default module object

    def exec_module(self, module):
        module.__file__ = self.path
        exec(compile(self.text, self.path, "exec"), module.__dict__)


class _Overrides(importlib.abc.MetaPathFinder):
    """Finds the modules whose text is replaced, ahead of the file system; one instance per process."""

    texts = {}  # full module name -> (text, file name)

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in self.texts:
            return None
        text, filename = self.texts[fullname]
        return importlib.util.spec_from_loader(fullname, _TextLoader(text, filename), origin=filename)


_FINDER = _Overrides()


def load_package(directory, overrides=None, name=None, lazy=False):
    """Import the ``npflow`` package in ``directory`` under a fresh name, and return it.

    With ``lazy``, the package's ``__init__`` is not run: its modules are imported when first
    asked for (``module(package, "paths")``), so that only those a check needs are loaded.

    Parameters
    ----------
    directory : str
        The folder that holds ``npflow/__init__.py``.
    overrides : dict of str to (str, str), optional
        Module name within the package (``"paths"``) -> (its text, the file name to report).
    name : str, optional
        The package's name; a fresh ``npflow_graded_<k>`` by default.
    lazy : bool

    Raises
    ------
    ValueError
        If ``directory`` holds no npflow package.
    """
    init = os.path.join(directory, "npflow", "__init__.py")
    if not os.path.isfile(init):
        raise ValueError(f"{directory!r} holds no npflow package (no npflow/__init__.py)")
    name = name or f"npflow_graded_{next(_counter)}"
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)
    for module_name, text_and_file in (overrides or {}).items():
        _Overrides.texts[f"{name}.{module_name.replace('/', '.')}"] = text_and_file
    spec = importlib.util.spec_from_file_location(name, init, submodule_search_locations=[os.path.dirname(init)])
    package = importlib.util.module_from_spec(spec)
    sys.modules[name] = package  # the package's relative imports find it here
    try:
        if not lazy:
            spec.loader.exec_module(package)
    except BaseException:
        unload(package)
        raise
    return package


def unload(package):
    """Forget a package loaded by ``load_package``, its submodules and its overrides."""
    prefix = package.__name__
    for key in [key for key in sys.modules if key == prefix or key.startswith(prefix + ".")]:
        del sys.modules[key]
    for key in [key for key in _Overrides.texts if key.startswith(prefix + ".")]:
        del _Overrides.texts[key]


def module(package, name):
    """The submodule ``name`` of a package, named by its path (``module(pkg, "core/mlp")`` is ``pkg.core.mlp``)."""
    return importlib.import_module(f"{package.__name__}.{name.replace('/', '.')}")
