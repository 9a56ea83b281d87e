"""Cheats a student might try (``tests/cheats.py``), each planted in one blank of a blank copy (assignment 3,
``euler_step``), graded as a teacher grades: none may score more than the honest copy, leave a process behind,
rewrite the results after grading, or show a line of the reference or of the catalogue of mistakes."""
import pathlib
import subprocess
import sys

import npflow
import pytest

from cheats import NAMES, check_graded, cheats, plant

REFERENCE = pathlib.Path(npflow.__file__).parent


def grade(copy, results, *extra):
    command = [sys.executable, "-m", "npflow.teach", "grade", str(copy), "--assignment", "3", "--seed", "5",
               "--gradescope", str(results), *extra]
    return subprocess.run(command, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
@pytest.mark.parametrize("cheat", NAMES)
def test_a_planted_cheat_scores_no_more_than_the_honest_copy(tmp_path, cheat):
    copy, results = tmp_path / "mallory", tmp_path / "results.json"
    printed = [REFERENCE / "core" / "solvers.py", REFERENCE / "teach" / "instructor" / "mistakes.py"]
    plant(copy, cheat, cheats(results, printed)[cheat])
    done = grade(copy, results)
    assert done.returncode == 1, done.stderr
    check_graded(cheat, results, done.stdout, copy)
