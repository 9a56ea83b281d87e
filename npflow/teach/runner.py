"""Grading many exercises: each in a process of its own, with a time limit, reported in order as they finish.

A student's code may loop forever, crash the interpreter, or call ``sys.exit``; each exercise is
therefore checked in a child process (forked where the system can, so the child starts with
npflow already imported). The parent waits at most ``timeout`` seconds for it; a child that is
late is killed and its exercise scores 0, and grading goes on. What the child prints is kept out
of the report (and shown, shortened, under a failure).

The results can be written as JSON (``write_json``) and in Gradescope's autograder format
(``write_gradescope``: ``score``, ``max_score``, and ``tests``, each with ``name``, ``score``,
``max_score``, ``output``, ``status`` and ``visibility``; the grader's own printout hidden from students).
"""
import io
import json
import multiprocessing
import sys
import time
from multiprocessing.connection import wait

from ..plumbing.outputs import atomic_file
from .checks import describe_error
from .course import CHAPTER, EXERCISES
from .grading import Result

__all__ = ["run", "report", "summary", "write_json", "write_gradescope"]


def _context():
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def _work(sender, task, name):
    """In the child: run ``task(name)`` and send its Result; the student's prints are captured."""
    printed = sys.stdout = sys.stderr = io.StringIO()
    try:
        result = task(name)
    except BaseException as error:  # the grader's own failure, or a student's os-level escape: report, not hang
        result = Result(name, EXERCISES[name].points, False, f"could not be checked: {describe_error(error)}")
    if not result.passed and printed.getvalue().strip():
        shown = printed.getvalue().strip().splitlines()
        more = f"\n  ... ({len(shown) - 5} more lines)" if len(shown) > 5 else ""
        result.message += "\nyour code printed:\n  " + "\n  ".join(shown[:5]) + more
    sender.send(result)
    sender.close()


def _receive(receiver, process, name):
    try:
        return receiver.recv()
    except (EOFError, OSError):
        process.join()
        return Result(name, EXERCISES[name].points, False,
                      f"the process checking it died (exit code {process.exitcode}) before it finished")


def run(names, task, timeout, stream=sys.stdout, jobs=1, each=None):
    """Run ``task(name) -> Result`` for each exercise in a child process; report the results in the order of
    ``names``, each once it and those before it have finished, so that any ``jobs`` prints the same.

    Parameters
    ----------
    names : list of str
    task : callable
        Picklable (a module-level function, or a ``functools.partial`` of one).
    timeout : float
        Seconds an exercise may take; a late one is stopped and scores 0.
    stream : file-like
        Where the results are printed.
    jobs : int
        Exercises checked at once.
    each : callable, optional
        ``each(result)``, called for each result in the order of ``names``; ``report(result, stream)`` by default.

    Returns
    -------
    list of Result, in the order of ``names``
    """
    context, waiting, running, results, shown = _context(), list(names), {}, {}, 0
    each = each or (lambda result: report(result, stream))
    while waiting or running:
        while waiting and len(running) < jobs:
            name = waiting.pop(0)
            receiver, sender = context.Pipe(duplex=False)
            process = context.Process(target=_work, args=(sender, task, name), daemon=True)
            process.start()
            sender.close()
            running[receiver] = (name, process, time.monotonic())
        first_deadline = min(started for _, _, started in running.values()) + timeout
        ready = wait(list(running), timeout=max(0.0, first_deadline - time.monotonic()))
        for receiver, (name, process, started) in list(running.items()):
            late = time.monotonic() - started >= timeout
            if receiver in ready:
                result = _receive(receiver, process, name)
            elif late:
                process.kill()
                result = Result(name, EXERCISES[name].points, False,
                                f"stopped after {timeout:g} s: an infinite loop, or far too slow")
            else:
                continue
            process.join()
            receiver.close()
            del running[receiver]
            result.seconds = time.monotonic() - started
            results[name] = result
        while shown < len(names) and names[shown] in results:
            each(results[names[shown]])
            shown += 1
    return [results[name] for name in names]


def report(result, stream):
    """Print one result: a line with its name and score, then its message, indented."""
    first, *rest = result.message.splitlines() or [""]
    print(f"{result.name:<20} {result.score}/{result.points}  {first}", file=stream)
    for line in rest:
        print(f"    {line}", file=stream)
    stream.flush()


def summary(results):
    """``"score: 12/40 (5 of 22 exercises passed)"``."""
    passed = sum(result.passed for result in results)
    return (f"score: {sum(r.score for r in results)}/{sum(r.points for r in results)} "
            f"({passed} of {len(results)} exercises passed)")


def write_json(path, results, seed):
    """Write the results as JSON: the score, the hidden cases' seed, and each exercise's result."""
    table = {"score": sum(r.score for r in results), "max_score": sum(r.points for r in results), "seed": seed,
             "exercises": [{**r.to_dict(), "assignment": CHAPTER[r.name]} for r in results]}
    with atomic_file(path) as tmp, open(tmp, "w") as file:
        json.dump(table, file, indent=1)


def write_gradescope(path, results, seed, course=None):
    """Write ``results.json`` in Gradescope's autograder format, one test per exercise, each with the visibility
    the ``course`` (``npflow.teach.config.Course``) gives it."""
    numbers = [sum(CHAPTER[other.name] == CHAPTER[r.name] for other in results[:i + 1]) for i, r in enumerate(results)]
    tests = [{"name": f"assignment {CHAPTER[r.name]}: {r.name} (npflow/{EXERCISES[r.name].module}.py)",
              "number": f"{CHAPTER[r.name]}.{k}", "score": r.score, "max_score": r.points, "output": r.message,
              "status": "passed" if r.passed else "failed",
              "visibility": course.settings[r.name].visibility if course else "visible"}
             for k, r in zip(numbers, results)]
    table = {"score": sum(r.score for r in results), "max_score": sum(r.points for r in results),
             "execution_time": round(sum(r.seconds for r in results), 1), "visibility": "visible",
             "stdout_visibility": "hidden",
             "output": f"npflow.teach: {summary(results)}; hidden cases drawn with seed {seed}", "tests": tests}
    with atomic_file(path) as tmp, open(tmp, "w") as file:
        json.dump(table, file, indent=1)
