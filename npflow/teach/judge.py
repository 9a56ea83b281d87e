"""The grader's verdict on one exercise: the student's values against the bank's, in the grader's own process.

The child (``npflow.teach.child``) sends values only; here they are compared with the
expected ones (``npflow.teach.checks.compare``), in order, smallest case first, and the first
that differs is reported: with its inputs and the expected value if the course shows them,
and the hint of a usual mistake that gives the same. Every text shown to the student passes
through ``scrub``, which withholds any line that holds a line the grader keeps secret.
"""
from . import exchange
from .checks import Outcome, compare, describe_case
from .grading import Result
from .markers import normalise

__all__ = ["judge", "scrub", "WITHHELD"]

WITHHELD = "[a line withheld: it quotes the reference or the catalogue of mistakes]"
_MESSAGE_CHARS = 4000  # an exception's message, or a comparison, is cut after this many characters


def scrub(text, secrets):
    """``text`` with each line that holds one of ``secrets`` (normalised lines) replaced by ``WITHHELD``."""
    if not secrets:
        return text
    lines = text.splitlines()
    return "\n".join(WITHHELD if any(secret in normalise(line) for secret in secrets) else line for line in lines)


def _shorten(text):
    return text if len(text) <= _MESSAGE_CHARS else text[:_MESSAGE_CHARS] + " [... cut]"


def _failure(entry, got, settings, explain):
    """The message of a failing case: its label, its inputs and the difference when shown, and a hint."""
    problem = _shorten(compare(entry.expected, got) or "")
    hint = explain(entry, got) if explain else None
    lines = [f"{entry.label} fails:"]
    if settings.show_case or entry.public:
        lines += ["inputs:", _shorten(describe_case(entry.case)), problem]
    elif got.error is not None:  # the student's own exception says nothing of the expected value
        lines.append(problem)
    else:
        lines.append("(this course shows neither the inputs nor the expected value of a hidden case)")
    return "\n".join(lines + ([f"hint: {hint}"] if hint else []))


def _verdict(name, entries, answer, settings, explain):
    """(passed, message) from the child's answer."""
    if not isinstance(answer, dict) or answer.get("exercise") != name:
        return False, "its process wrote no answer for this exercise"
    outcomes = answer["outcomes"]
    for index, entry in enumerate(entries):
        if index >= len(outcomes):
            unfinished = answer.get("unfinished")
            if unfinished == name:
                return False, "not implemented yet: the stub still raises NotImplementedError"
            if unfinished:
                return False, (f"waits for exercise {unfinished}, which it calls and which raises "
                               "NotImplementedError in your copy: do that one first")
            return False, "its process gave fewer outcomes than there are cases"
        got = exchange.decode_outcome(outcomes[index], Outcome)
        if compare(entry.expected, got) is not None:
            return False, _failure(entry, got, settings, explain)
    hidden = sum(not entry.public for entry in entries)
    return True, f"passed: {len(entries) - hidden} public cases, {hidden} hidden cases"


def judge(name, entries, answer, run, settings, explain=None, secrets=()):
    """The ``Result`` of exercise ``name`` from its child's ``answer`` (None if unreadable) and ``run``.

    Parameters
    ----------
    entries : list of Entry
    answer : dict or None
        What the child wrote (``npflow.teach.child.compute``).
    run : npflow.teach.sandbox.Run
    settings : npflow.teach.config.Settings
    explain : callable, optional
        ``explain(entry, got) -> str or None``, a usual mistake's hint.
    secrets : collection of str
        Normalised lines no text shown may hold.
    """
    if run.stopped:
        passed, message = False, run.stopped
    elif answer is None:
        passed, message = False, (f"the process checking it ended (exit status {run.returncode}) before it wrote "
                                  f"its answer: out of memory (over {settings.limits.memory_mb} MB), a crash, "
                                  "or os._exit")
    else:
        passed, message = _verdict(name, entries, answer, settings, explain)
    if run.left_behind:
        passed, message = False, message + "\nit left processes that could not be stopped"
    if not passed and run.output.strip():
        message += "\nyour code printed:\n" + "\n".join("  " + line for line in run.output.strip().splitlines())
    return Result(name, settings.points, passed, scrub(message, secrets))
