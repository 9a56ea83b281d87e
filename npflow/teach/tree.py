"""The graded copy: a blank copy of npflow with a student's blocks, and nothing else of theirs, spliced in.

Only the lines between an exercise's markers are taken from the student's files; the rest of
the package is the grader's blank copy, so a helper written elsewhere is not seen, and an
exercise that calls another runs the student's own answer to it. Each exercise is then run on
a fresh copy of this tree (``fresh``), so what one exercise's code writes cannot reach the next.
"""
import os
import shutil

from .course import EXERCISES
from .markers import MissingBlocks, find_blocks, splice

__all__ = ["Tree", "graded_tree", "fresh", "find_submission"]


class Tree:
    """A graded copy on disk: its folder, the line table of the student's lines, and the exercises it could not take."""

    def __init__(self, folder, lines, problems):
        self.folder, self.lines, self.problems = folder, lines, problems


def find_submission(folder):
    """The folder holding the submission's ``npflow/``: ``folder`` itself or one folder below it."""
    if os.path.isdir(os.path.join(folder, "npflow")):
        return folder
    for entry in sorted(os.listdir(folder)) if os.path.isdir(folder) else ():
        if os.path.isdir(os.path.join(folder, entry, "npflow")):
            return os.path.join(folder, entry)
    raise ValueError(f"{folder!r} holds no npflow/ folder (nor does any folder in it)")


def _read(path):
    with open(path, encoding="utf-8", errors="replace") as file:
        return file.read()


def _splice_module(text, student, names, problems, relative):
    """``text`` with the student's blocks of ``names`` spliced in, top block first, and the table of their lines."""
    first = {block.name: block.start for block in reversed(find_blocks(text))}
    lines = {}
    for name in sorted(names, key=lambda name: first.get(name, len(text))):
        if student is None:
            problems[name] = f"{relative}: cannot read it"
            continue
        try:  # top first: a later splice moves only the lines below it, so the earlier tables hold
            text, table = splice(text, student, name)
        except MissingBlocks as error:
            problems[name] = f"{relative}: {error}"
            continue
        lines.update(table)
    return text, lines


def graded_tree(base, submission, names, folder):
    """Write into ``folder`` the blank copy ``base`` (a folder holding ``npflow/``) with the blocks of ``names``
    taken from ``submission``.

    Returns
    -------
    Tree
        ``problems`` maps an exercise whose blocks could not be taken to why.
    """
    shutil.copytree(os.path.join(base, "npflow"), os.path.join(folder, "npflow"),
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    by_module, problems, tables = {}, {}, {}
    for name in names:
        by_module.setdefault(EXERCISES[name].module, []).append(name)
    for module, module_names in by_module.items():
        relative = os.path.join("npflow", *f"{module}.py".split("/"))
        try:
            student = _read(os.path.join(submission, relative))
        except OSError:
            student = None
        text, lines = _splice_module(_read(os.path.join(base, relative)), student, module_names, problems, relative)
        with open(os.path.join(folder, relative), "w") as file:
            file.write(text)
        tables[relative] = sorted(lines.items())
    return Tree(folder, tables, problems)


def fresh(tree, folder):
    """A copy of the graded ``tree`` in ``folder``, for one exercise; returns its path."""
    shutil.copytree(tree.folder, folder)
    return folder
