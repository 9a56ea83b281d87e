"""The instructor's grader: each exercise on reference code but its own, hidden cases, hints.

For exercise E, the package graded is the reference npflow with only E's block(s) replaced by
the student's (``npflow.teach.markers.splice``): every other exercise runs on reference code, so
one mistake costs one exercise. Its outcomes are compared with the reference's on the public
cases and on hidden ones, drawn at grading time from a seed: every size of ``SIZES``, every
variant the check knows (paths, activations, solvers, ...) and both dtypes, smallest first. A
wrong outcome is matched against the catalogue of usual mistakes (``mistakes.CATALOGUE``): the
hint of the first mistake that gives the same outcome is shown.
"""
import os
import sys

import numpy as np

from ..cases import CHECKS
from ..checks import Size, compare, outcome
from ..course import EXERCISES
from ..grading import Result, check_exercise
from ..markers import MissingBlocks, splice
from ..packages import load_package, module as load_module, unload
from .mistakes import CATALOGUE

__all__ = ["SIZES", "REFERENCE_DIR", "hidden_cases", "graded_package", "mistake_package", "grade_exercise",
           "explainer"]

#: The (n, d) of the hidden cases, smallest first; two more are drawn when grading.
SIZES = ((1, 1), (2, 1), (1, 2), (2, 3), (4, 2), (7, 3))
#: The folder that holds the reference ``npflow`` package: the one this module belongs to.
REFERENCE_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def _source(directory, module):
    with open(os.path.join(directory, "npflow", f"{module}.py")) as file:
        return file.read()


def hidden_cases(name, seed, reference):
    """The hidden cases of ``name``: (label, case, expected) for every size, variant and dtype, smallest first.

    The sizes are ``SIZES`` and two more drawn from ``seed`` (up to 12 points in 4 dimensions).
    Each case is drawn from its own seed, itself drawn from ``seed``, so a case can be told by its label.
    """
    check, rng = CHECKS[name], np.random.default_rng(seed)
    drawn = [(int(rng.integers(1, 13)), int(rng.integers(1, 5))) for _ in range(2)]
    shapes = sorted(set(SIZES) | set(drawn), key=lambda shape: (shape[0] * shape[1], shape))
    sizes = [Size(n, d, dtype, variant)
             for n, d in shapes for variant in range(check.variants) for dtype in check.dtypes]
    cases = []
    for k, size in enumerate(sizes):
        case_seed = int(rng.integers(2**31))
        label = f"hidden case {k + 1} of {len(sizes)}, the smallest that fails ({size}, seed {case_seed})"
        cases.append((label, check.draw(np.random.default_rng(case_seed), size),
                      lambda case: outcome(reference, check, case)))
    return cases


def graded_package(name, student_dir=None, code=None):
    """The reference package with the blocks of exercise ``name`` taken from a student's copy.

    Parameters
    ----------
    name : str
    student_dir : str, optional
        The folder holding the student's ``npflow``; None for the reference itself.
    code : str, optional
        Instead of a student's file: the code of the block (used for the catalogue of mistakes).

    Returns
    -------
    package : module
    locate : callable
        ``locate(filename, line) -> str or None``: the student's line for a line of their code.

    Raises
    ------
    MissingBlocks, OSError, SyntaxError
    """
    module = EXERCISES[name].module
    reference = _source(REFERENCE_DIR, module)
    if code is not None:
        student, filename = f"# >>> exercise {name}: -\n{code}# <<< exercise\n", f"<{name}: a catalogued mistake>"
    else:
        directory = student_dir or REFERENCE_DIR
        filename = os.path.join(os.path.abspath(directory), "npflow", f"{module}.py")
        student = _source(directory, module)
    text, lines = splice(reference, student, name)

    def locate(file, line):
        return f"npflow/{module}.py, line {lines[line]}" if file == filename and line in lines else None

    package = load_package(REFERENCE_DIR, overrides={module: (text, filename)}, lazy=True)
    try:
        load_module(package, module)  # now, so that a syntax error is told as one
    except SyntaxError as error:  # name the line in the student's file, not in the spliced text
        unload(package)
        error.lineno = lines.get(error.lineno, error.lineno)
        raise
    return package, locate


#: (exercise, mistake's code) -> its package, so that each is loaded once.
_MISTAKES = {}


def mistake_package(name, code):
    """The reference package with a catalogued mistake as the code of exercise ``name``: loaded once, and loaded
    again if it has been unloaded since (``npflow.teach.packages.unload``)."""
    package = _MISTAKES.get((name, code))
    if package is None or sys.modules.get(package.__name__) is not package:
        package = _MISTAKES[(name, code)] = graded_package(name, code=code)[0]
    return package


def explainer(name):
    """``explain(case, got)``: the hint of the first catalogued mistake of ``name`` whose outcome is ``got``."""
    def explain(case, got):
        for mistake in CATALOGUE.get(name, ()):
            if compare(outcome(mistake_package(name, mistake.code), CHECKS[name], case), got) is None:
                return mistake.hint
        return None

    return explain


def grade_exercise(name, student_dir=None, seed=0, hidden=True):
    """Grade exercise ``name`` of the copy in ``student_dir`` (the reference when None): a ``Result``."""
    reference = sys.modules[__name__.split(".")[0]]  # the npflow this grader belongs to
    points = EXERCISES[name].points
    try:
        package, locate = graded_package(name, student_dir)
    except MissingBlocks as error:
        return Result(name, points, False, f"npflow/{EXERCISES[name].module}.py: {error}")
    except OSError as error:
        return Result(name, points, False, f"npflow/{EXERCISES[name].module}.py: cannot read it ({error.strerror})")
    except SyntaxError as error:
        return Result(name, points, False, f"npflow/{EXERCISES[name].module}.py, line {error.lineno}: "
                                           f"SyntaxError in your code: {error.msg}")
    try:
        return check_exercise(name, package, lambda index, case: outcome(reference, CHECKS[name], case),
                              hidden_cases(name, seed, reference) if hidden else (), explainer(name),
                              locate)
    finally:
        unload(package)
