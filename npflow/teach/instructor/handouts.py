"""The handouts: one Markdown page per assignment, for students, and one page of solutions per assignment, for
instructors.

A handout has the goal, the equations, each function to write (its signature and docstring with
the shapes, read from the source), how to check oneself, and the points. The solutions have each
exercise's reference code and the catalogue's usual mistakes with their hints.
"""
import ast
import os
import textwrap

from ..course import EXERCISES
from ..markers import find_blocks
from .mistakes import CATALOGUE

__all__ = ["signature_and_docstring", "handout", "solutions"]


def _find(tree, qualified):
    node = tree
    for part in qualified.split("."):
        node = next(child for child in ast.iter_child_nodes(node)
                    if isinstance(child, (ast.FunctionDef, ast.ClassDef)) and child.name == part)
    return node


def signature_and_docstring(source, qualified):
    """The ``def`` line(s) and docstring of function ``qualified`` (``"AffinePath.sample"``) in ``source``, dedented."""
    function = _find(ast.parse(source), qualified)
    lines = source.splitlines()
    end = function.body[0].end_lineno if ast.get_docstring(function) else function.body[0].lineno - 1
    return textwrap.dedent("\n".join(lines[function.lineno - 1:end]))


def _hint(source, name):
    return next(block.hint for block in find_blocks(source) if block.name == name)


def _points(assignment, points):
    """Each exercise's points: from ``points`` (exercise -> points, the course file's), else course.py's."""
    return {e.name: points[e.name] if points else e.points for e in assignment.exercises}


def handout(assignment, sources, points=None):
    """The Markdown handout of ``assignment``; ``sources`` maps a module name to its reference text, and ``points``
    an exercise to its points (the course file's; course.py's when None)."""
    count, points = len(assignment.exercises), _points(assignment, points)
    parts = [f"# Assignment {assignment.number}: {assignment.title}\n",
             f"**{sum(points.values())} points**, {count} exercise{'s' * (count > 1)}.\n",
             "## Goal\n", assignment.goal + "\n", "## The equations\n", f"```text\n{assignment.equations}\n```\n",
             "## What to write\n"]
    for i, exercise in enumerate(assignment.exercises, start=1):
        source = sources[exercise.module]
        parts += [f"### {i}. `{exercise.name}`: `{exercise.function}` in `npflow/{exercise.module}.py` "
                  f"({points[exercise.name]} point{'s' * (points[exercise.name] != 1)})\n",
                  f"Write {exercise.task} The hint in the file: *{_hint(source, exercise.name)}*.\n",
                  f"```python\n{signature_and_docstring(source, exercise.function)}\n```\n"]
        if exercise.depends:
            parts.append(f"It calls {', '.join(f'`{name}`' for name in exercise.depends)}: where your copy has "
                         "those blank, it runs your own, so its checks wait until they are done, and when one of them "
                         "is wrong the check says to fix that one first.\n")
    parts += ["Write each answer between its lines `# >>> exercise NAME: ...` and `# <<< exercise`, in place of "
              "the `raise NotImplementedError` line, and keep those two lines. Only what is between them is graded: "
              "the grader runs it inside the reference npflow, so a helper you add elsewhere is not seen, and a "
              "mistake in one exercise costs that exercise alone.\n",
              "## Check yourself\n",
              f"From the folder of your copy:\n\n```bash\npython -m npflow.teach grade --assignment "
              f"{assignment.number}\n```\n",
              "It runs each exercise's public checks in a process of its own, with a time limit. A wrong answer "
              "shows its inputs and what was expected against what your code gave. The public checks compare "
              "with values the reference gave on a few fixed inputs, and with oracles you can read in "
              "`npflow/teach/cases/` (finite differences, the order of convergence of a solver, autograd's Adam).\n",
              "Your grade also runs **hidden checks**: the same functions on inputs drawn when grading, from one "
              "point in one dimension up, in float32 and float64, with every path, activation or solver the function "
              "accepts. Passing the public checks is needed, not enough: try your code on inputs of your own.\n",
              "## Points\n", "| exercise | file | points |\n|---|---|---|"]
    parts += [f"| `{e.name}` | `npflow/{e.module}.py` | {points[e.name]} |" for e in assignment.exercises]
    parts.append(f"| total | | {sum(points.values())} |\n")
    return "\n".join(parts)


def solutions(assignment, sources, points=None):
    """The Markdown solutions of ``assignment``: the reference code of each exercise and its usual mistakes, with its
    points (``points``, as ``handout`` takes them)."""
    points = _points(assignment, points)
    parts = [f"# Solutions to assignment {assignment.number}: {assignment.title}\n",
             "For instructors and teaching assistants: do not hand this out.\n"]
    for exercise in assignment.exercises:
        blocks = [block for block in find_blocks(sources[exercise.module]) if block.name == exercise.name]
        code = "\n".join(textwrap.dedent(block.body).rstrip() for block in blocks)
        worth = points[exercise.name]
        parts += [f"## `{exercise.name}` ({worth} point{'s' * (worth != 1)}), in `{exercise.function}`, "
                  f"`npflow/{exercise.module}.py`\n", f"```python\n{code}\n```\n", "Usual mistakes, with the hint "
                  "the grader gives when a student's code gives the same outcome:\n"]
        for mistake in CATALOGUE.get(exercise.name, ()):
            parts.append(f"- {mistake.hint}\n\n  ```python\n{textwrap.indent(mistake.code.rstrip(), '  ')}\n  ```\n")
    return "\n".join(parts)


def read_sources(package_dir):
    """The text of every module an exercise sits in, by module name."""
    sources = {}
    for module in {exercise.module for exercise in EXERCISES.values()}:
        with open(os.path.join(package_dir, f"{module}.py")) as file:
            sources[module] = file.read()
    return sources
