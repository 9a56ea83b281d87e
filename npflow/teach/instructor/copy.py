"""Writing a student copy, and the instructor's solutions.

A student copy is a folder holding:

- ``npflow/``: the package, with the exercises of the chosen assignments blanked (their markers
  kept around a ``NotImplementedError`` stub; the markers of the others removed), and without
  ``npflow/teach/instructor/`` (the hidden cases, the catalogue of mistakes, this writer);
- ``npflow/teach/public_expected.json``: the reference's outcomes on the public cases, and
  ``npflow/teach/handed_out.json``: which assignments the copy has;
- ``handouts/assignment-N.md``, one per assignment handed out;
- ``README.md`` without the lines that quote a blanked line (the math-to-code table's rows),
  and ``pyproject.toml`` and ``setup.cfg``, so that ``pip install -e .`` works in it.

Some code outside the exercises would answer one: ``COMPANIONS`` names it, and the copy leaves
it out while that exercise is blanked: its body becomes a ``NotImplementedError``, or a line
that calls the student's own code instead.
"""
import ast
import json
import os
import shutil
import sys

from ...plumbing.outputs import atomic_directory
from ..course import ASSIGNMENTS, CHAPTER, EXERCISES, exercises_of
from ..grading import store_expected
from ..markers import answer_lines, blank, normalise
from .handouts import handout, read_sources, solutions

__all__ = ["COMPANIONS", "PACKAGE_DIR", "write_student_copy", "write_solutions", "answers", "HANDED_OUT",
           "write_blank_package"]

#: The reference package's folder.
PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
#: Functions a copy leaves out while an exercise is blanked: exercise -> [(module, function, stand-in)], the
#: stand-in a body (lines of code) that uses the student's code, or None for a NotImplementedError. No function
#: left in a copy may answer a blank (tests/test_copy_helpers.py calls them all on the hidden cases):
#: - backprop.forward (for the chain rule by hand), the in-place field (for sampling) and the MeanFlow JVP are the
#:   MLP's forward pass written out again. In a copy the field is the student's own ``velocity``, and the JVP
#:   runs the student's own ``mlp`` and takes the derivative by reverse mode, one vjp per output coordinate.
#: - The likelihood's closed form is the forward pass and the divergence at once; without it the likelihood takes
#:   the student's own ``divergence``.
#: - views.data_to_velocity is the velocity written through x_t: in a copy it is the student's own.
_NO_CLOSED_FORM = ("core/mlp_divergence", "mlp_divergence", "return None")
_JVP_BY_REVERSE_MODE = """\
import numpy as np
from autograd import make_vjp
vjp, u = make_vjp(lambda h: mlp(params, h, activation))(network_input(s, t, x))  # u (n, d): the student's mlp
dh = network_input(ds, dt, dx)  # (n, 2 + d): the tangent of the input
# row j of vjp(e_j) is grad_h u_j at each point (points do not interact): du_j = (grad_h u_j) . dh
return u, np.stack([np.sum(vjp(np.broadcast_to(e, u.shape)) * dh, axis=1) for e in np.eye(u.shape[1], dtype=u.dtype)],
                   axis=1)"""
COMPANIONS = {"mlp_forward": [("core/backprop", "forward", None),
                              ("core/in_place", "in_place_velocity",
                               "return lambda t, x: velocity(params, t, x, activation)"),
                              _NO_CLOSED_FORM,
                              ("meanflow/average", "average_velocity_jvp", _JVP_BY_REVERSE_MODE)],
              "divergence": [_NO_CLOSED_FORM],
              "velocity_from_x_t": [("core/views", "data_to_velocity",
                                     "data_to_noise(x1_hat, x_t, t, path)  # for its checks: no blur, sigma_t > 0\n"
                                     "return path.velocity_from_x_t(x_t, x1_hat, t)")]}
#: In a copy: the assignments and exercises handed out, next to the grader.
HANDED_OUT = os.path.join("npflow", "teach", "handed_out.json")
_ROOT_FILES = ("pyproject.toml", "setup.cfg")


def answers(names, package_dir=PACKAGE_DIR):
    """The normalised reference lines of the exercises ``names``: none of them may appear in a copy."""
    sources = read_sources(package_dir)
    return sorted({line for name in names for line in answer_lines(sources[EXERCISES[name].module], name)})


def _leave_out(source, function, exercise, stand_in=None):
    """``source`` with the body of the module-level ``function`` (after its docstring) replaced by ``stand_in``,
    lines of code, or by a ``NotImplementedError`` for None."""
    functions = [node for node in ast.parse(source).body if isinstance(node, ast.FunctionDef)]
    node = next((node for node in functions if node.name == function), None)
    if node is None:
        raise ValueError(f"{function} is not in its module any more: update COMPANIONS in {__name__}")
    lines = source.splitlines(keepends=True)
    first = node.body[1] if ast.get_docstring(node) else node.body[0]
    indent = " " * first.col_offset
    why = f"{function} is left out of this copy: it does the work of exercise {exercise} in another spelling"
    body = [f"{indent}# {why}\n", *(f"{indent}{line}\n" for line in stand_in.splitlines())] if stand_in else [
        f"{indent}raise NotImplementedError({why + ' (train with the default --grad autograd)'!r})\n"]
    return "".join(lines[:first.lineno - 1] + body + lines[node.end_lineno:])


def _text_lines(source):
    """The numbers (from 1) of the lines of ``source`` that are prose: a comment, a string that is a statement of
    its own (a docstring), and the lines after the first of a string that spans several. A line of code that holds a
    string (``np.errstate(over="ignore")``) is code."""
    prose = {i for i, line in enumerate(source.splitlines(), start=1) if line.lstrip().startswith("#")}
    tree = ast.parse(source)
    statements = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            prose.update(range(node.lineno + (id(node) not in statements), node.end_lineno + 1))
    return prose


def _redact(source, secret, path):
    """``source`` with every prose line that quotes an answer replaced by a note naming its exercise.

    A docstring may spell out an algorithm in the lines of its code (train.py's does). A line of
    code outside the exercises that quotes an answer would give it away: that raises ValueError.
    """
    lines, prose = source.splitlines(keepends=True), None
    for i, line in enumerate(lines):
        quoted = [name for answer, name in secret.items() if answer in normalise(line)]
        if not quoted:
            continue
        prose = _text_lines(source) if prose is None else prose
        if i + 1 not in prose:
            raise ValueError(f"{path}, line {i + 1} holds a line of the answer to exercise {quoted[0]} outside "
                             f"its block: a student copy would give it away")
        indent = line[:len(line) - len(line.lstrip())]
        lines[i] = f"{indent}[a line of exercise {quoted[0]}, left out of this copy]\n"
    return "".join(lines)


def _blank_package(target, names):
    """Blank ``names`` in every module under ``target``, leave out their companions, redact quoted answers."""
    sources = read_sources(PACKAGE_DIR)
    secret = {line: name for name in names for line in answer_lines(sources[EXERCISES[name].module], name)}
    left_out = {}  # (file, function) -> (exercise, stand-in): a function two blanked exercises name goes once
    for exercise in names:
        for module, function, stand_in in COMPANIONS.get(exercise, ()):
            left_out.setdefault((os.path.join(target, *f"{module}.py".split("/")), function), (exercise, stand_in))
    for folder, _, files in os.walk(target):
        for file in files:
            if file.endswith(".py"):
                path = os.path.join(folder, file)
                with open(path) as handle:
                    text, _ = blank(handle.read(), names)
                for (where, function), (exercise, stand_in) in left_out.items():
                    if where == path:  # before the redaction, which would refuse the function's answer lines
                        text = _leave_out(text, function, exercise, stand_in)
                with open(path, "w") as handle:
                    handle.write(_redact(text, secret, os.path.relpath(path, target)))


def _readme(names, numbers):
    """The README of a copy: a note on top, and no line that quotes an answer."""
    path = os.path.join(os.path.dirname(PACKAGE_DIR), "README.md")
    lines = ["# npflow\n"]
    if os.path.isfile(path):  # an installed npflow has no README beside it
        with open(path) as file:
            lines = file.read().splitlines(keepends=True)
    secret = answers(names)
    kept = [line for line in lines if not any(answer in normalise(line) for answer in secret)]
    note = (f"> **This is a student copy of npflow**, with the exercises of assignment(s) "
            f"{', '.join(map(str, numbers))} blanked: read `handouts/`, write your answers between the markers, and "
            f"check them with `python -m npflow.teach grade`.\n\n")
    return "".join(kept[:1]) + "\n" + note + "".join(kept[1:])


def write_blank_package(target, names):
    """Write into ``target`` the package with ``names`` blanked, as a copy has it: no instructor's folder."""
    shutil.copytree(PACKAGE_DIR, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "instructor",
                                                                       "public_expected.json", "handed_out.json"))
    _blank_package(target, names)


def write_student_copy(out_dir, assignments=None, force=False, course=None):
    """Write a student copy of the assignments ``assignments`` (all when None) into ``out_dir``; its handouts give
    the points of ``course`` (``npflow.teach.config.Course``, the course file's), course.py's when None.

    Returns
    -------
    list of str
        The exercises blanked, in course order.

    Raises
    ------
    ValueError, FileExistsError
        For an unknown assignment, or an ``out_dir`` that exists (unless ``force`` and it is a copy).
    """
    names = exercises_of(assignments)
    numbers = sorted({CHAPTER[name] for name in names})
    with atomic_directory(out_dir, force, marker=os.path.join("npflow", "__init__.py")) as tmp:
        target = os.path.join(tmp, "npflow")
        write_blank_package(target, names)
        reference = sys.modules[__name__.split(".")[0]]  # the npflow this writer belongs to
        store_expected(os.path.join(target, "teach", "public_expected.json"), names, reference)
        with open(os.path.join(tmp, HANDED_OUT), "w") as file:
            json.dump({"assignments": numbers, "exercises": names}, file)
        with open(os.path.join(tmp, "README.md"), "w") as file:
            file.write(_readme(names, numbers))
        for name in _ROOT_FILES:
            if os.path.isfile(os.path.join(os.path.dirname(PACKAGE_DIR), name)):
                shutil.copy(os.path.join(os.path.dirname(PACKAGE_DIR), name), tmp)
        _write_pages(os.path.join(tmp, "handouts"), "assignment", numbers, handout, course)
    return names


def _write_pages(folder, stem, numbers, page, course):
    os.makedirs(folder)
    sources = read_sources(PACKAGE_DIR)
    points = {name: settings.points for name, settings in course.settings.items()} if course else None
    for assignment in ASSIGNMENTS:
        if assignment.number in numbers:
            with open(os.path.join(folder, f"{stem}-{assignment.number}.md"), "w") as file:
                file.write(page(assignment, sources, points))


def write_solutions(out_dir, assignments=None, force=False, course=None):
    """Write ``out_dir/solutions/solutions-N.md`` for the assignments ``assignments`` (all when None), with the
    points of ``course`` (course.py's when None).

    Returns the exercise names covered.
    """
    names = exercises_of(assignments)
    with atomic_directory(out_dir, force, marker="solutions") as tmp:
        _write_pages(os.path.join(tmp, "solutions"), "solutions", sorted({CHAPTER[name] for name in names}), solutions,
                     course)
    return names
