"""A Gradescope autograder in one zip, which holds values and no reference code: ``npflow teach autograder OUT.zip``.

The zip holds:

- ``setup.sh`` and ``run_autograder`` (from ``gradescope/``, beside this module): Gradescope runs
  the first as root when it builds the image (it installs NumPy, SciPy and autograd, and makes
  the user ``npflow-student``), and the second for each submission (it grades
  ``$AUTOGRADER_ROOT/submission/`` into ``$AUTOGRADER_ROOT/results/results.json`` with
  ``grade --bank``, the students' code run as ``npflow-student``);
- ``npflow/``: the package of a student copy (``copy.write_student_copy``), the exercises of
  the graded assignments blanked, and no ``instructor/``;
- ``bank.npz``: each graded exercise's hidden and public cases, drawn now from a seed, with the
  outcome the reference gives and what each usual mistake gives (``banks.draw_bank``,
  ``npflow.teach.bank.save_bank``): values, never code;
- ``course.toml`` (or ``course.json``): the course file, whose points, limits, visibility and
  ``show_case`` the grading follows (its hidden cases were drawn into the bank).

Before the zip is written, every text in it, and every string the bank holds, is checked
against every line of the reference of each blanked exercise: the check a student copy passes.
"""
import json
import os
import shutil
import tempfile
import zipfile

import numpy as np

from ...plumbing.outputs import atomic_file, check_output_path
from ..bank import save_bank
from ..config import course_text, read_course
from ..course import exercises_of
from ..markers import normalise
from .banks import draw_bank
from .copy import answers, write_student_copy

__all__ = ["SCRIPTS", "build_autograder", "texts_of", "leaks"]

#: The folder of ``setup.sh`` and ``run_autograder``, the two files Gradescope runs.
SCRIPTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "gradescope")
_EXECUTABLE, _PLAIN = 0o100755, 0o100644  # a zip member's Unix mode, in its external attributes' high bits


def _strings(value):
    """The strings nested in plain data (dicts, lists, strings)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for key, item in value.items() for text in [key, *_strings(item)]]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return []


def _npz_texts(path):
    """The texts an ``.npz`` holds: its arrays of strings, and the strings of those that are JSON (``exchange``'s
    layout, which holds a bank's labels, hints and messages)."""
    texts = []
    with np.load(path, allow_pickle=False) as arrays:
        for key in arrays.files:
            if arrays[key].dtype.kind in "US":
                for text in arrays[key].astype(str).ravel():
                    try:
                        texts += [str(text), *_strings(json.loads(str(text)))]
                    except ValueError:
                        texts.append(str(text))
    return texts


def texts_of(path):
    """The normalised lines of the file ``path``: of the texts it holds for an ``.npz`` (``_npz_texts``), else of its
    text, read as UTF-8 with any other byte replaced."""
    if path.endswith(".npz"):
        texts = _npz_texts(path)
    else:
        with open(path, encoding="utf-8", errors="replace") as file:
            texts = [file.read()]
    return [normalise(line) for text in texts for line in text.splitlines()]


def leaks(folder, names):
    """(file, answer line) for each line of the reference of the exercises ``names`` that a file under ``folder``
    holds (``texts_of``)."""
    secret = answers(names)
    found = []
    for directory, _, files in os.walk(folder):
        for file in files:
            path = os.path.join(directory, file)
            lines = texts_of(path)
            found += [(os.path.relpath(path, folder), answer) for answer in secret
                      if any(answer in line for line in lines)]
    return found


def _stage(folder, course, course_path, numbers, seed):
    """Write the autograder's files into ``folder``; returns the exercises graded (and blanked)."""
    names = exercises_of(numbers)
    copy = os.path.join(folder, "copy")
    write_student_copy(copy, numbers)
    shutil.move(os.path.join(copy, "npflow"), os.path.join(folder, "npflow"))
    shutil.rmtree(copy)
    save_bank(os.path.join(folder, "bank.npz"), draw_bank(names, seed, course, mistakes=True), seed)
    if course_path is None:
        with open(os.path.join(folder, "course.toml"), "w") as file:
            file.write(course_text())
    else:
        name = "course.json" if course_path.endswith(".json") else "course.toml"  # read_course goes by the suffix
        shutil.copy(course_path, os.path.join(folder, name))
    for script in sorted(os.listdir(SCRIPTS)):
        shutil.copy(os.path.join(SCRIPTS, script), folder)
    return names


def _zip(folder, path):
    """Zip the files under ``folder`` into ``path``: the scripts executable, the rest readable."""
    scripts = set(os.listdir(SCRIPTS))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for directory, folders, files in os.walk(folder):
            folders.sort()
            for file in sorted(files):
                relative = os.path.relpath(os.path.join(directory, file), folder)
                member = zipfile.ZipInfo(relative.replace(os.sep, "/"), date_time=(2026, 1, 1, 0, 0, 0))
                member.compress_type = zipfile.ZIP_DEFLATED
                member.external_attr = (_EXECUTABLE if relative in scripts else _PLAIN) << 16
                with open(os.path.join(directory, file), "rb") as data:
                    archive.writestr(member, data.read())


def build_autograder(out, course_path=None, assignments=None, seed=None, force=False):
    """Write the Gradescope autograder of a course to the zip ``out``.

    Parameters
    ----------
    out : str
        The zip to write (``.zip``).
    course_path : str, optional
        The course file (``npflow teach init``); its defaults when None.
    assignments : list of int, optional
        Grade only these, which the course must hold; the course's when None.
    seed : int, optional
        The seed the bank's hidden cases are drawn from; a random one when None.
    force : bool
        Replace ``out`` if it exists.

    Returns
    -------
    names : list of str
        The exercises graded, in course order.
    seed : int

    Raises
    ------
    ValueError
        For an ``out`` that is not a ``.zip``, an assignment the course does not hold, a bad course file,
        or a reference line found in what the zip would hold.
    """
    if not os.fspath(out).endswith(".zip"):
        raise ValueError(f"the autograder is a .zip file, got {os.fspath(out)!r}")
    if seed is not None and seed < 0:
        raise ValueError(f"--seed must be >= 0, got {seed}")
    check_output_path(out, force)
    course = read_course(course_path)
    numbers = list(assignments or course.assignments)
    missing = sorted(set(numbers) - set(course.assignments))
    if missing:
        raise ValueError(f"assignment {missing[0]} is not one the course file {course_path} grades: "
                         f"{', '.join(map(str, course.assignments))}")
    seed = int(np.random.SeedSequence().entropy % 10**9) if seed is None else seed
    with tempfile.TemporaryDirectory(prefix="npflow-autograder-") as folder:
        names = _stage(folder, course, course_path, numbers, seed)
        found = leaks(folder, names)
        if found:
            raise ValueError(f"{found[0][0]} holds a line of the reference of a blanked exercise ({found[0][1]!r}): "
                             "the autograder would give it away")
        with atomic_file(out) as tmp:
            _zip(folder, tmp)
    return names, seed
