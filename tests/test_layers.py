"""The shape of the code, read from the source (``docs`` DESIGN section 3): layers that import only
those below, no import circle, no import hidden in a function, and modules and functions short
enough to read.

Every check is a function of a source tree (``package_tree``), so that the tests at the end can
run the same checks on a small, deliberately bad package and see each one fail.
"""
import ast
import pathlib
import textwrap
from dataclasses import dataclass

import pytest

ROOT = pathlib.Path(__file__).parent.parent
PACKAGE = "npflow"

#: The layers, bottom to top: (name, the packages in it, why it sits there). A module may import
#: from its own layer and the layers below; a module in no layer is itself an error.
LAYERS = (
    ("math", ("npflow.core", "npflow.diffusion", "npflow.guidance", "npflow.meanflow", "npflow.images",
              "npflow.discrete"),
     "pure functions on arrays, one chapter a package: what a student reads beside the paper"),
    ("models", ("npflow.data", "npflow.models"),
     "the datasets and the registry of objectives and networks, built from the math"),
    ("runs", ("npflow.runs",),
     "the recipe, the loop and a run's state, which ask the registry and never branch on a name"),
    ("application", ("npflow.plumbing", "npflow.cli", "npflow", "npflow.__main__", "npflow.version"),
     "the command line, files, plots, the version a run file records and the package's front door, on top of runs"),
    ("course", ("npflow.teach",),
     "the course, on top of everything; only the course imports the course"),
)
#: Within the math layer: the chapters a chapter may import (besides itself). Every chapter sits on core.
CHAPTERS = {
    "npflow.core": (),
    "npflow.diffusion": ("npflow.core",),
    "npflow.guidance": ("npflow.core",),
    "npflow.meanflow": ("npflow.core",),
    "npflow.images": ("npflow.core", "npflow.guidance"),
    "npflow.discrete": ("npflow.core",),
}
#: Only the course may import the course.
COURSE = "npflow.teach"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


# --- reading the imports ------------------------------------------------------------------------

@dataclass(frozen=True)
class Import:
    """One import of one module of the package by another: ``source -> target`` at ``line``."""
    source: str
    target: str
    line: int
    in_function: bool

    def __str__(self):
        where = " (inside a function)" if self.in_function else ""
        return f"{self.source} -> {self.target} (line {self.line}){where}"


def package_tree(root, package=PACKAGE):
    """The modules of ``package`` under ``root``: {dotted name: path}; a package is its ``__init__.py``."""
    modules = {}
    for path in sorted((pathlib.Path(root) / package).rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def _resolve(name, modules):
    """The module an imported name lands on: ``name`` itself if it is a module, else the nearest
    enclosing module (``npflow.core.gmm.GaussianMixture`` -> ``npflow.core.gmm``)."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def _functions_around(tree):
    """{id(node): True} for every node that sits inside a function (or lambda) body."""
    inside = {}

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            inside[id(child)] = in_function
            visit(child, in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))

    visit(tree, False)
    return inside


def imports_of(name, modules, package=PACKAGE):
    """Every import of a module of ``package`` that module ``name`` makes, at any depth.

    Resolves ``import npflow.x``, ``from npflow.x import y``, and the relative forms ``from . import x``,
    ``from .x import y`` and ``from ..x.y import z``, where each imported name may be a submodule
    (then the import is of it) or a name in a module (then of that module). Importing a module
    runs its parent packages' ``__init__`` too; those edges are not counted, as import tools do.
    """
    path = modules[name]
    tree = ast.parse(path.read_text(), filename=str(path))
    inside = _functions_around(tree)
    here = name if path.name == "__init__.py" else name.rpartition(".")[0]  # the package `.` means
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here.split(".")[:len(here.split(".")) - (node.level - 1)]
                base = ".".join(base + ([node.module] if node.module else []))
            else:
                base = node.module
            targets = [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for target in targets:
            if target == package or target.startswith(package + "."):
                resolved = _resolve(target, modules)
                imp = Import(name, resolved, node.lineno, inside[id(node)])
                if resolved is not None and resolved != name and imp not in found:  # `from x import a, b`: once
                    found.append(imp)
    return found


def import_graph(modules, package=PACKAGE):
    """All the imports among ``modules``, one ``Import`` each."""
    return [imp for name in modules for imp in imports_of(name, modules, package)]


# --- the checks: each returns a list of lines naming what is wrong, empty when all is well ------

def import_cycles(imports):
    """The import circles: every strongly connected set of modules (Tarjan), with the imports inside it."""
    edges = {}
    for imp in imports:
        edges.setdefault(imp.source, set()).add(imp.target)
        edges.setdefault(imp.target, set())
    index, low, stack, on_stack, components = {}, {}, [], set(), []

    def connect(v):  # Tarjan's algorithm, recursive: the package's graph is shallow
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(component)

    for v in sorted(edges):
        if v not in index:
            connect(v)
    return [f"circle among {', '.join(sorted(c))}: "
            + "; ".join(str(imp) for imp in imports if imp.source in c and imp.target in c)
            for c in components]


def imports_in_functions(imports):
    """Imports of the package's own modules made inside a function (to dodge a circle, or to hide one)."""
    return [str(imp) for imp in imports if imp.in_function]


def _place(name, layers=LAYERS):
    """(layer number, unit) of a module: the longest package of the table it is in, or (None, None).

    The top package (``npflow``) stands for its ``__init__.py`` only, not for all it holds.
    """
    best = (None, None)
    for number, (_, units, _) in enumerate(layers):
        for unit in units:
            if (name == unit or ("." in unit and name.startswith(unit + "."))) and (best[1] is None or len(unit) > len(best[1])):
                best = (number, unit)
    return best


def layer_violations(modules, imports, layers=LAYERS, chapters=CHAPTERS, course=COURSE):
    """Imports that go up a layer, across math chapters not allowed to meet, or into the course from outside;
    and modules in no layer."""
    names = [layer[0] for layer in layers]
    wrong = [f"{name} is in no layer of the table (add its package to LAYERS)"
             for name in modules if _place(name, layers)[0] is None]
    for imp in imports:
        (mine, my_unit), (theirs, their_unit) = _place(imp.source, layers), _place(imp.target, layers)
        if mine is None or theirs is None:
            continue  # reported above
        into_course = imp.target == course or imp.target.startswith(course + ".")
        from_course = imp.source == course or imp.source.startswith(course + ".")
        if into_course and not from_course:
            wrong.append(f"{imp}: only the course imports the course")
        elif theirs > mine:
            wrong.append(f"{imp}: layer '{names[mine]}' imports layer '{names[theirs]}' above it")
        elif theirs == mine and my_unit in chapters and their_unit != my_unit \
                and their_unit not in chapters[my_unit]:
            wrong.append(f"{imp}: chapter {my_unit} may import only "
                         f"{', '.join(chapters[my_unit]) or 'itself'}, not {their_unit}")
    return wrong


def _body_lines(node):
    """Lines of a function from its ``def`` to its end, its docstring left out."""
    lines = node.end_lineno - node.lineno + 1
    first = node.body[0] if node.body else None
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        lines -= first.end_lineno - first.lineno + 1
    return lines


def long_modules(modules, limit=MAX_MODULE_LINES):
    """Modules over ``limit`` lines."""
    return [f"{name} has {n} lines (at most {limit})" for name, path in modules.items()
            if (n := len(path.read_text().splitlines())) > limit]


def long_functions(modules, limit=MAX_FUNCTION_LINES):
    """Functions (and methods) over ``limit`` lines, docstring excluded."""
    wrong = []
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and (n := _body_lines(node)) > limit:
                wrong.append(f"{name}.{node.name} (line {node.lineno}) has {n} lines without its docstring "
                             f"(at most {limit})")
    return wrong


def _report(problems, what):
    return f"{len(problems)} {what}:\n  " + "\n  ".join(problems)


# --- the package itself -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def npflow_tree():
    modules = package_tree(ROOT)
    return modules, import_graph(modules)


def test_the_package_is_read_and_its_imports_found(npflow_tree):
    modules, imports = npflow_tree
    assert {"npflow", "npflow.__main__", "npflow.core.paths", "npflow.runs.loop", "npflow.teach"} <= set(modules)
    assert all(path.suffix == ".py" for path in modules.values())
    layers_reached = {_place(imp.target)[0] for imp in imports if imp.source == "npflow"}
    assert {0, 2} <= layers_reached, "npflow/__init__.py imports the math and the runs: its imports must be found"


def test_no_module_of_npflow_is_in_an_import_circle(npflow_tree):
    _, imports = npflow_tree
    cycles = import_cycles(imports)
    assert not cycles, _report(cycles, "import circle(s), counting imports inside functions")


def test_no_module_of_npflow_imports_npflow_inside_a_function(npflow_tree):
    _, imports = npflow_tree
    lazy = imports_in_functions(imports)
    assert not lazy, _report(lazy, "import(s) of npflow inside a function")


def test_each_module_imports_only_its_own_layer_and_those_below(npflow_tree):
    modules, imports = npflow_tree
    wrong = layer_violations(modules, imports)
    assert not wrong, _report(wrong, "import(s) against the layers")


def test_no_module_of_npflow_is_over_400_lines(npflow_tree):
    modules, _ = npflow_tree
    wrong = long_modules(modules)
    assert not wrong, _report(wrong, "module(s) too long")


def test_no_function_of_npflow_is_over_60_lines(npflow_tree):
    modules, _ = npflow_tree
    wrong = long_functions(modules)
    assert not wrong, _report(wrong, "function(s) too long")


# --- the checks, on a bad package -------------------------------------------------------------

def write_package(root, files):
    """Write ``{relative path: source}`` under ``root``."""
    for relative, source in files.items():
        path = pathlib.Path(root) / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))
    return package_tree(root)


GOOD = {
    "npflow/__init__.py": "from .runs.loop import train\nfrom npflow.core import paths\n",
    "npflow/core/__init__.py": "",
    "npflow/core/paths.py": "import numpy as np\n\ndef f():\n    import scipy  # third-party: allowed here\n",
    "npflow/core/solvers.py": "from . import paths\nfrom .paths import f\n",
    "npflow/guidance/__init__.py": "",
    "npflow/guidance/labels.py": "from ..core.solvers import paths\n",
    "npflow/images/__init__.py": "",
    "npflow/images/resnet.py": "from ..guidance import labels\nfrom ..core import solvers\n",
    "npflow/runs/__init__.py": "",
    "npflow/runs/loop.py": "from ..core.paths import f\n\ndef train():\n    pass\n",
    "npflow/teach/__init__.py": "import npflow\nfrom npflow.runs.loop import train\nfrom . import course\n",
    "npflow/teach/course.py": "",
}


def test_the_checks_find_nothing_wrong_in_a_good_package(tmp_path):
    modules = write_package(tmp_path, GOOD)
    imports = import_graph(modules)
    assert {(imp.source, imp.target) for imp in imports} == {
        ("npflow", "npflow.runs.loop"), ("npflow", "npflow.core.paths"),
        ("npflow.core.solvers", "npflow.core.paths"),
        ("npflow.guidance.labels", "npflow.core.solvers"),  # `paths` is a name in solvers, not a module of it
        ("npflow.images.resnet", "npflow.guidance.labels"), ("npflow.images.resnet", "npflow.core.solvers"),
        ("npflow.runs.loop", "npflow.core.paths"),
        ("npflow.teach", "npflow"), ("npflow.teach", "npflow.runs.loop"), ("npflow.teach", "npflow.teach.course")}
    assert import_cycles(imports) == []
    assert imports_in_functions(imports) == []
    assert layer_violations(modules, imports) == []
    assert long_modules(modules) == [] and long_functions(modules) == []


def test_an_import_circle_is_found_even_through_a_function(tmp_path):
    modules = write_package(tmp_path, {**GOOD,
                                       "npflow/core/paths.py": "def f():\n    from .solvers import g\n",
                                       "npflow/core/solvers.py": "from . import paths\n\ndef g():\n    pass\n"})
    cycles = import_cycles(import_graph(modules))
    assert len(cycles) == 1
    assert "npflow.core.paths, npflow.core.solvers" in cycles[0]
    assert "npflow.core.paths -> npflow.core.solvers (line 2) (inside a function)" in cycles[0]


def test_a_circle_through_a_package_init_is_found(tmp_path):
    modules = write_package(tmp_path, {**GOOD, "npflow/runs/loop.py": "import npflow\n"})
    (cycle,) = import_cycles(import_graph(modules))
    assert "npflow, npflow.runs.loop" in cycle


def test_an_import_of_npflow_inside_a_function_is_found(tmp_path):
    modules = write_package(tmp_path, {**GOOD, "npflow/runs/loop.py": "def train():\n    import npflow.core.paths\n"})
    assert imports_in_functions(import_graph(modules)) == [
        "npflow.runs.loop -> npflow.core.paths (line 2) (inside a function)"]


def test_imports_up_a_layer_across_chapters_and_into_the_course_are_found(tmp_path):
    modules = write_package(tmp_path, {
        **GOOD,
        "npflow/core/paths.py": "from ..runs import loop\n",  # math imports runs
        "npflow/guidance/labels.py": "from ..images.resnet import x\n",  # guidance imports images
        "npflow/runs/loop.py": "from ..teach.course import lesson\n",  # runs imports the course
        "npflow/plots/__init__.py": "",  # a package in no layer
    })
    wrong = layer_violations(modules, import_graph(modules))
    assert any("npflow.core.paths -> npflow.runs.loop" in w and "'math' imports layer 'runs'" in w for w in wrong)
    assert any("npflow.guidance.labels -> npflow.images.resnet" in w and "chapter npflow.guidance" in w for w in wrong)
    assert any("npflow.runs.loop -> npflow.teach.course" in w and "only the course" in w for w in wrong)
    assert any(w.startswith("npflow.plots is in no layer") for w in wrong)
    assert len(wrong) == 4, wrong


def test_a_long_module_and_a_long_function_are_found_and_a_docstring_does_not_count(tmp_path):
    docstring = '    """' + "\n".join(["A docstring."] * 400) + '"""\n'
    short_with_docstring = "def documented():\n" + docstring + "".join(f"    x{i} = {i}\n" for i in range(59))
    long_function = "def long():\n" + "".join(f"    x{i} = {i}\n" for i in range(60))
    modules = write_package(tmp_path, {
        **GOOD,
        "npflow/core/paths.py": short_with_docstring,
        "npflow/core/solvers.py": long_function + "\n" * 400,
    })
    assert long_functions(modules) == ["npflow.core.solvers.long (line 1) has 61 lines without its docstring "
                                       "(at most 60)"]
    assert [w.split(" has ")[0] for w in long_modules(modules)] == ["npflow.core.paths", "npflow.core.solvers"]
