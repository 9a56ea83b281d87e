"""Grading a submission: each exercise in the sandbox, judged against a bank, results written last.

For each exercise: a fresh copy of the graded tree (``npflow.teach.tree``), a request file of
the bank's cases, a child run under its limits (``npflow.teach.sandbox``), the child's answer
read as values and judged (``npflow.teach.judge``). Results are printed in order as the
exercises end (several at once with ``jobs``); the caller writes the results files only after
``grade_all`` has returned, which is after a last sweep has found no student process left.
"""
import functools
import os
import shutil
import sys
import tempfile
import time
from dataclasses import replace

from . import exchange, reaper
from .grading import Result, blame_dependency
from .judge import judge, scrub
from .runner import report, run
from .sandbox import run_child
from .tree import fresh

__all__ = ["grade_one", "grade_all"]


def _give(path, user):
    """Let ``user`` (uid, gid) write in the folder ``path``; the rest of the work folder stays the grader's."""
    if user:
        os.chown(path, *user)


def grade_one(name, tree, entries, settings, user=None, explain=None, secrets=()):
    """Run exercise ``name`` of the graded ``tree`` on ``entries`` in a child, and judge it: a ``Result``.

    A hidden test (``settings.visibility``) shows no case, whatever ``settings.show_case`` says.
    """
    if settings.visibility == "hidden":
        settings = replace(settings, show_case=False)
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


def _graded(name, tree, bank, course, user, explain, secrets, worker=False):
    """``grade_one`` of exercise ``name``, timed; in a worker process (``worker``), first made the subreaper of
    what its child leaves, so that its own sweep finds and kills that."""
    if worker:
        reaper.become_subreaper()
    hint = (lambda entry, got: explain(name, entry, got)) if explain else None
    started = time.monotonic()
    result = grade_one(name, tree, bank[name], course.settings[name], user, hint, secrets)
    result.seconds = time.monotonic() - started
    return result


def grade_all(names, tree, bank, course, stream=sys.stdout, user=None, explain=None, secrets=(), jobs=1):
    """Grade ``names``; returns their ``Result``s, in the order of ``names``, once no student process is left.

    An exercise that fails and calls one graded before it that failed too says so first (``blame_dependency``).

    Parameters
    ----------
    bank : dict
        Exercise -> list of Entry.
    course : npflow.teach.config.Course
    explain : callable, optional
        ``explain(name, entry, got)``: a usual mistake's hint.
    jobs : int
        Exercises graded at once. With more than one, each is graded by a worker process of the grader's
        (``runner.run``), which starts the student's child, judges it and sends back the ``Result``; the results
        are printed in the order of ``names``, as with one.
    """
    reaper.become_subreaper()
    since = reaper.boot_ticks() - 2
    results = []

    def finish(result):  # in the order of names, so that the exercises an exercise calls are done before it
        result.points = course.settings[result.name].points  # also for a worker stopped late
        blame_dependency(result, lambda other: any(r.name == other and not r.passed for r in results))
        report(result, stream)
        results.append(result)

    graded = functools.partial(_graded, tree=tree, bank=bank, course=course, user=user, explain=explain,
                               secrets=secrets, worker=jobs > 1)
    if jobs > 1 and len(names) > 1:  # a worker's time: its child's limit, a copy of the tree, the sweep's patience
        run(names, graded, max(course.settings[name].limits.timeout for name in names) + 60, stream, jobs, finish)
    else:
        for name in names:
            finish(graded(name))
    if not reaper.sweep(None, since):
        raise RuntimeError("a student process could not be stopped: no results written")
    return results
