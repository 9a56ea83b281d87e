"""The course file: what the teacher grades and how, in one TOML (or JSON) file.

``npflow teach init course.toml`` writes it with the defaults; ``student``, ``grade``,
``solutions`` and ``autograder`` read it with ``--course``. Nothing in a student's copy can
change it: a copy's ``handed_out.json`` only tells the student's own check what to run.

    assignments = [1, 2, 3, 4, 5, 6, 7, 8]   # the assignments handed out and graded
    [defaults]                               # every exercise, unless it says otherwise
    timeout = 20.0       # wall seconds          cpu = 60          # CPU seconds
    memory_mb = 2048     # address space         processes = 64    # processes and threads of the user
    file_mb = 16         # largest file written  output_kb = 64    # printed output kept, the rest cut
    hidden_cases = 400   # at most, smallest first (0: the public cases only)
    show_case = true     # a failing case shows its inputs and the expected value
    visibility = "visible"   # Gradescope's: visible, hidden, after_due_date, after_published
    [exercises.path]
    points = 2
"""
import json
import os
import tomllib
from dataclasses import dataclass, fields, replace

from .course import ASSIGNMENTS, EXERCISES, exercises_of
from .sandbox import Limits

__all__ = ["Settings", "Course", "VISIBILITIES", "read_course", "default_course", "course_text"]

VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")


@dataclass(frozen=True)
class Settings:
    """How one exercise is graded: its points, its limits, its hidden cases and what a failure shows."""

    points: int
    limits: Limits = Limits()
    hidden_cases: int = 400
    show_case: bool = True
    visibility: str = "visible"


@dataclass(frozen=True)
class Course:
    """The assignments graded, and the ``Settings`` of each of their exercises."""

    assignments: tuple
    settings: dict

    @property
    def exercises(self):
        return exercises_of(list(self.assignments))

    def with_timeout(self, timeout):
        """The same course with every exercise's wall-clock limit set to ``timeout`` seconds (``--timeout``)."""
        return Course(self.assignments, {name: replace(s, limits=replace(s.limits, timeout=timeout))
                                         for name, s in self.settings.items()})


_LIMIT_KEYS = {field.name: field.type for field in fields(Limits)}
_OTHER_KEYS = {"points": int, "hidden_cases": int, "show_case": bool, "visibility": str}


def _settings(base, table, where):
    """``base`` with the keys of ``table`` (a dict from the file) set, each checked."""
    unknown = set(table) - set(_LIMIT_KEYS) - set(_OTHER_KEYS)
    if unknown:
        raise ValueError(f"{where}: unknown key {sorted(unknown)[0]!r}; expected one of "
                         f"{', '.join([*_OTHER_KEYS, *_LIMIT_KEYS])}")
    for key, value in table.items():
        kind = _LIMIT_KEYS.get(key) or _OTHER_KEYS[key]
        if isinstance(value, bool) != (kind is bool) or not isinstance(value, (int, float) if kind is float else kind):
            raise ValueError(f"{where}: {key} must be {kind.__name__}, got {value!r}")
        if kind in (int, float) and (value < 0 or (value == 0 and key not in ("points", "hidden_cases"))):
            raise ValueError(f"{where}: {key} must be > 0, got {value!r}")
    if table.get("visibility", base.visibility) not in VISIBILITIES:
        raise ValueError(f"{where}: visibility must be one of {', '.join(VISIBILITIES)}, got {table['visibility']!r}")
    limits = replace(base.limits, **{key: value for key, value in table.items() if key in _LIMIT_KEYS})
    return replace(base, limits=limits, **{key: value for key, value in table.items() if key in _OTHER_KEYS})


def default_course():
    """The course as ``course.py`` has it: every assignment, its points, the default limits."""
    return Course(tuple(a.number for a in ASSIGNMENTS), {name: Settings(e.points) for name, e in EXERCISES.items()})


def read_course(path=None):
    """The course of the file ``path`` (TOML, or JSON by its ``.json`` suffix); the defaults when None.

    Raises
    ------
    ValueError
        For a key, an exercise, an assignment or a value the course does not know.
    """
    if path is None:
        return default_course()
    with open(path, "rb") as file:
        try:
            table = json.load(file) if path.endswith(".json") else tomllib.load(file)
        except (ValueError, tomllib.TOMLDecodeError) as error:
            raise ValueError(f"{path}: {error}") from None
    unknown = set(table) - {"assignments", "defaults", "exercises"}
    if unknown:
        raise ValueError(f"{path}: unknown key {sorted(unknown)[0]!r}; expected assignments, defaults, exercises")
    assignments = tuple(table.get("assignments", [a.number for a in ASSIGNMENTS]))
    exercises_of(list(assignments))  # refuses an assignment that does not exist
    defaults = table.get("defaults", {})
    settings = {}
    for name, exercise in EXERCISES.items():
        base = _settings(Settings(exercise.points), defaults, f"{path}: [defaults]")
        settings[name] = _settings(base, table.get("exercises", {}).get(name, {}), f"{path}: [exercises.{name}]")
    unknown = set(table.get("exercises", {})) - set(EXERCISES)
    if unknown:
        raise ValueError(f"{path}: unknown exercise {sorted(unknown)[0]!r}")
    return Course(assignments, settings)


def course_text():
    """The TOML text of the default course, with a comment on each key: what ``init`` writes."""
    limits, plain = Limits(), Settings(0)
    lines = ["# The npflow course: what is graded and how. Read by: npflow teach student|grade|solutions|autograder "
             "--course FILE", "", f"assignments = {[a.number for a in ASSIGNMENTS]}", "",
             "[defaults]  # for every exercise; an [exercises.NAME] table overrides any of them",
             f"timeout = {limits.timeout}  # wall-clock seconds an exercise may take",
             f"cpu = {limits.cpu}  # CPU seconds", f"memory_mb = {limits.memory_mb}  # address space (RLIMIT_AS)",
             f"processes = {limits.processes}  # processes and threads of the student's user (RLIMIT_NPROC)",
             f"file_mb = {limits.file_mb}  # the largest file it may write",
             f"output_kb = {limits.output_kb}  # printed output kept; the rest is cut, and marked",
             f"hidden_cases = {plain.hidden_cases}  # at most this many, smallest first; 0: the public cases only",
             "show_case = true  # a failing case shows its inputs and the expected value",
             'visibility = "visible"  # of each test on Gradescope: visible, hidden, after_due_date, after_published']
    for assignment in ASSIGNMENTS:
        for exercise in assignment.exercises:
            lines += ["", f"[exercises.{exercise.name}]  # assignment {assignment.number}", f"points = {exercise.points}"]
    return "\n".join(lines) + "\n"
