"""Grading a submission: each exercise in the sandbox, judged against a bank, results written last.

For each exercise: a fresh copy of the graded tree (``npflow.teach.tree``), a request file of
the bank's cases, a child run under its limits (``npflow.teach.sandbox``), the child's answer
read as values and judged (``npflow.teach.judge``). Results are printed as each exercise
ends; the caller writes the results files only after ``grade_all`` has returned, which is
after a last sweep has found no student process left.
"""
import os
import shutil
import sys
import tempfile
import time

from . import exchange, reaper
from .grading import Result
from .judge import judge, scrub
from .runner import report
from .sandbox import run_child
from .tree import fresh

__all__ = ["grade_one", "grade_all"]


def _give(path, user):
    """Let ``user`` (uid, gid) write in the folder ``path``; the rest of the work folder stays the grader's."""
    if user:
        os.chown(path, *user)


def grade_one(name, tree, entries, settings, user=None, explain=None, secrets=()):
    """Run exercise ``name`` of the graded ``tree`` on ``entries`` in a child, and judge it: a ``Result``."""
    if name in tree.problems:
        return Result(name, settings.points, False, scrub(tree.problems[name], secrets))
    work = tempfile.mkdtemp(prefix=f"npflow-grade-{name}-")
    try:
        os.chmod(work, 0o755)
        folder = fresh(tree, os.path.join(work, "tree"))
        answers = os.path.join(work, "answer")
        os.mkdir(answers)
        _give(answers, user)
        request = os.path.join(work, "request.npz")
        exchange.save(request, {"exercise": name, "cases": [entry.case for entry in entries], "lines": tree.lines})
        os.chmod(request, 0o644)
        run = run_child(folder, request, os.path.join(answers, "answer.npz"), settings.limits, user)
        try:
            answer = exchange.load(os.path.join(answers, "answer.npz"))
        except Exception:  # absent, cut, or not what the child writes: no answer, whatever it holds
            answer = None
        return judge(name, entries, answer, run, settings, explain, secrets)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def grade_all(names, tree, bank, course, stream=sys.stdout, user=None, explain=None, secrets=()):
    """Grade ``names`` one after the other; returns their ``Result``s once no student process is left.

    Parameters
    ----------
    bank : dict
        Exercise -> list of Entry.
    course : npflow.teach.config.Course
    explain : callable, optional
        ``explain(name, entry, got)``: a usual mistake's hint.
    """
    reaper.become_subreaper()
    since = reaper.boot_ticks() - 2
    results = []
    for name in names:
        hint = (lambda entry, got, name=name: explain(name, entry, got)) if explain else None
        started = time.monotonic()
        result = grade_one(name, tree, bank[name], course.settings[name], user, hint, secrets)
        result.seconds = time.monotonic() - started
        report(result, stream)
        results.append(result)
    if not reaper.sweep(None, since):
        raise RuntimeError("a student process could not be stopped: no results written")
    return results
