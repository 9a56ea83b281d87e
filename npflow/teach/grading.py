"""Grading one exercise: its public cases, its public checks, then (for the instructor) hidden cases.

``check_exercise`` is the same for a student checking a copy and for the instructor grading one;
what differs is where the expected values come from. In a student copy they are the values the
reference gave on the public cases, stored in ``public_expected.json`` when the copy was
written; the instructor's grader (``npflow.teach.instructor``) runs the reference itself, on the
public cases and on hidden ones drawn at grading time, and explains a wrong answer from its
catalogue of usual mistakes.
"""
import json
import os
from dataclasses import asdict, dataclass

import numpy as np

from .cases import CHECKS
from .checks import Outcome, Unfinished, compare, describe_case, describe_error, outcome
from .course import EXERCISES
from .markers import find_blocks
from .packages import load_package, unload

__all__ = ["Result", "check_exercise", "public_cases", "store_expected", "stored_expected", "grade_in_copy",
           "blame_dependency", "EXPECTED_FILE"]

#: In a student copy, the reference's values on the public cases (next to this module).
EXPECTED_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "public_expected.json")
_PUBLIC_SEED = 20261126
_UNFINISHED = ("not implemented", "waits for")  # the message of an exercise that cannot run yet (judge's too)


@dataclass
class Result:
    """How one exercise did: its points if ``passed``, else 0, and a message either way."""

    name: str
    points: int
    passed: bool
    message: str
    seconds: float = 0.0

    @property
    def score(self):
        return self.points if self.passed else 0

    def to_dict(self):
        return {**asdict(self), "score": self.score}


def public_cases(name):
    """The public cases of an exercise: a list of (label, case), drawn from fixed seeds."""
    check = CHECKS[name]
    return [(f"public case {i + 1} of {len(check.public)} ({size})",
             check.draw(np.random.default_rng([_PUBLIC_SEED, i]), size)) for i, size in enumerate(check.public)]


def _failure(name, label, case, problem, hint):
    lines = [f"{label} fails:", problem]
    if case is not None:
        lines[1:1] = ["inputs:", describe_case(case)]
    if hint:
        lines.append(f"hint: {hint}")
    return Result(name, EXERCISES[name].points, False, "\n".join(lines))


def check_exercise(name, package, expected, hidden=(), explain=None, locate=None):
    """Check exercise ``name`` in ``package``: the ``hidden`` cases (smallest first), the public cases, the
    public checks. The first case that fails is reported, with its inputs.

    Parameters
    ----------
    name : str
    package : module
        A loaded npflow (``npflow.teach.packages.load_package``).
    expected : callable
        ``expected(index, case) -> Outcome`` for the public case of that index.
    hidden : sequence of (str, dict, callable)
        Hidden cases, smallest first: a label, the case, and ``reference(case) -> Outcome``.
    explain : callable, optional
        ``explain(case, got) -> str or None``: a hint for a wrong outcome.
    locate : callable, optional
        ``locate(filename, line) -> str or None``: names a place in the student's code.

    Returns
    -------
    Result
    """
    check, points = CHECKS[name], EXERCISES[name].points
    public = [(label, case, lambda case, i=i: expected(i, case)) for i, (label, case) in enumerate(public_cases(name))]
    try:
        for label, case, want in [*hidden, *public]:
            got = outcome(package, check, case, locate)
            problem = compare(want(case), got)
            if problem:
                return _failure(name, label, case, problem, explain(case, got) if explain else None)
        for prop in check.properties:
            problem = _run_property(prop, package, locate)
            if problem:
                return _failure(name, f"public check ({' '.join(prop.__doc__.split())})", None, problem, None)
    except Unfinished as unfinished:
        if unfinished.name == name:
            return Result(name, points, False, "not implemented yet: the stub still raises NotImplementedError")
        return Result(name, points, False, f"waits for exercise {unfinished.name}, which it calls and which is not "
                                           "done yet in this copy: do that one first")
    counts = f"{len(check.public)} public cases, {len(check.properties)} public checks"
    return Result(name, points, True, f"passed: {counts}" + (f", {len(hidden)} hidden cases" if hidden else ""))


def _run_property(prop, package, locate):
    try:
        with np.errstate(all="ignore"):
            prop(package)
    except AssertionError as error:
        return str(error)
    except NotImplementedError as error:
        text = str(error)
        if text.startswith("exercise "):
            raise Unfinished(text[len("exercise "):text.index(":")]) from None
        return describe_error(error, locate)
    except (Exception, SystemExit) as error:
        return describe_error(error, locate)
    return None


# --- the stored expected values of a student copy -----------------------------------------------

def _encode(result):
    if result.error is not None:
        return {"raises": type(result.error).__name__, "message": str(result.error)}
    return {key: {"dtype": str(value.dtype), "shape": list(value.shape), "values": value.ravel().tolist()}
            for key, value in result.value.items()}


def _decode(stored):
    if "raises" in stored:
        return Outcome(error=type(stored["raises"], (Exception,), {})(stored["message"]))
    return Outcome({key: np.array(item["values"], dtype=item["dtype"]).reshape(item["shape"])
                    for key, item in stored.items()})


def store_expected(path, names, reference):
    """Write the outcomes of ``reference`` (a loaded package) on the public cases of ``names`` to ``path`` (JSON)."""
    table = {name: [_encode(outcome(reference, CHECKS[name], case)) for _, case in public_cases(name)]
             for name in names}
    with open(path, "w") as file:
        json.dump(table, file)


def stored_expected(name, path=EXPECTED_FILE):
    """``expected(index, case)`` from the stored values of a copy."""
    with open(path) as file:
        table = json.load(file)[name]
    return lambda index, case: _decode(table[index])


def blame_dependency(result, failed):
    """``result`` (a failed ``Result``) with a first line that names an exercise it calls which fails too.

    ``failed(name) -> bool`` says whether exercise ``name`` fails its own check. An exercise that
    waits for another, or is not written yet, is left as it is.
    """
    if result.passed or result.message.startswith(_UNFINISHED):
        return result
    culprit = next((other for other in EXERCISES[result.name].depends if failed(other)), None)
    if culprit is not None:
        result.message = (f"{result.name} fails, and it calls {culprit}, which fails its own check: fix {culprit} "
                          f"first\n{result.message}")
    return result


def grade_in_copy(name, directory):
    """Check exercise ``name`` in the student copy in ``directory`` on its public cases and checks (no reference).

    When it fails, each exercise it calls that the copy has is checked too, to say which to fix first.
    """
    sources = {}
    package_dir = os.path.join(directory, "npflow")

    def locate(filename, line):
        if not filename.startswith(package_dir):
            return None
        if filename not in sources:
            with open(filename) as file:
                sources[filename] = find_blocks(file.read())
        inside = any(block.line <= line < block.line + block.body.count("\n") for block in sources[filename])
        return f"{os.path.relpath(filename, directory)}, line {line}" if inside else None

    package = load_package(directory, lazy=True)
    try:
        with open(EXPECTED_FILE) as file:
            handed_out = set(json.load(file))

        def failed(other):
            if other not in handed_out:  # the reference's code, in this copy
                return False
            return not check_exercise(other, package, stored_expected(other), locate=locate).passed

        return blame_dependency(check_exercise(name, package, stored_expected(name), locate=locate), failed)
    finally:
        unload(package)
