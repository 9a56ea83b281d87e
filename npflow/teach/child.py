"""The student's side of grading: compute an exercise's outcomes on given cases, and write them as values.

The grader (``npflow.teach.sandbox``) starts this module in a fresh interpreter whose only
``npflow`` is the graded copy: the blank copy with the student's blocks spliced in. Nothing
here judges anything: it reads the cases from an ``.npz`` file, runs the exercise's call on
each (``npflow.teach.checks.outcome``), and writes what came out, arrays or the exception
raised, to another ``.npz`` file. The grader compares them with the expected values in its own
process, so that code which patches this process, or writes a forged file, can change
nothing but its own values.

    python -I -S -B -c "<bootstrap>" IN.npz OUT.npz
"""
import os
import sys

from . import exchange
from .cases import CHECKS
from .checks import Unfinished, outcome
from .packages import module

__all__ = ["compute", "main"]


def _locator(lines, root):
    """``locate(filename, line)`` naming the student's file and line, from the splice's line table."""
    def locate(filename, line):
        relative = os.path.relpath(filename, root) if filename.startswith(root) else None
        student_line = dict(lines.get(relative, ())).get(line) if relative else None
        return f"{relative}, line {student_line}" if student_line else None

    return locate


def compute(package, request):
    """The outcomes of ``request["exercise"]`` on ``request["cases"]`` in ``package``, as plain data.

    Stops at the first case that reaches an exercise which still raises NotImplementedError.
    """
    name, check = request["exercise"], CHECKS[request["exercise"]]
    root = os.path.dirname(os.path.dirname(os.path.abspath(package.__file__)))
    locate = _locator(request["lines"], root)
    outcomes = []
    try:
        for case in request["cases"]:
            outcomes.append(exchange.encode_outcome(outcome(package, check, case, locate)))
    except Unfinished as unfinished:
        return {"exercise": name, "outcomes": outcomes, "unfinished": unfinished.name}
    return {"exercise": name, "outcomes": outcomes, "unfinished": None}


def main(argv=None):
    """Read the request, compute, write the answer; the exit status is 0 when the answer is written."""
    source, target = argv or sys.argv[1:]
    request = exchange.load(source)
    package = sys.modules[__name__.split(".")[0]]  # the graded copy's npflow, the only one on sys.path
    module(package, "teach.cases")
    exchange.save(target, compute(package, request))
    return 0
