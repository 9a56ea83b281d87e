"""Every exercise of the course, checked in-process: the reference passes, the blank fails, and the usual
mistakes of the catalogue fail with their own hint. (The process per exercise is tested in test_teach.py.)"""
import npflow
import pytest

from npflow.teach.cases import CHECKS
from npflow.teach.checks import outcome
from npflow.teach.course import ASSIGNMENTS, EXERCISES
from npflow.teach.grading import check_exercise
from npflow.teach.instructor.grader import explainer, grade_exercise, graded_package, hidden_cases, mistake_package
from npflow.teach.instructor.mistakes import CATALOGUE
from npflow.teach.markers import find_blocks
from npflow.teach.packages import unload

SEED = 3


def grade_code(name, package):
    """Grade ``package`` on exercise ``name``, with its public and hidden checks and the hints."""
    return check_exercise(name, package, lambda index, case: outcome(npflow, CHECKS[name], case),
                          hidden_cases(name, SEED, npflow), explainer(name))


def test_the_course_has_nine_chapters_and_enough_exercises():
    assert [assignment.number for assignment in ASSIGNMENTS] == list(range(1, 10))
    assert len(EXERCISES) >= 16
    assert set(CHECKS) == set(EXERCISES)


@pytest.mark.parametrize("name", EXERCISES)
def test_each_exercise_is_one_block_of_its_module(name):
    with open(f"{npflow.__path__[0]}/{EXERCISES[name].module}.py") as file:
        assert [block.name for block in find_blocks(file.read())].count(name) == 1


@pytest.mark.parametrize("name", EXERCISES)
def test_the_reference_passes(name):
    result = grade_exercise(name, seed=SEED)
    assert result.passed, result.message
    assert result.score == EXERCISES[name].points > 0


@pytest.mark.parametrize("name", EXERCISES)
def test_the_blank_fails(name):
    package, _ = graded_package(name, code=f"raise NotImplementedError('exercise {name}: a stub')\n")
    result = grade_code(name, package)
    unload(package)
    assert not result.passed and result.score == 0
    assert result.message == "not implemented yet: the stub still raises NotImplementedError"


@pytest.mark.parametrize("name", EXERCISES)
def test_each_usual_mistake_fails_with_its_hint(name):
    assert len(CATALOGUE[name]) >= 2
    for mistake in CATALOGUE[name]:
        result = grade_code(name, mistake_package(name, mistake.code))  # loaded once: the hints use it too
        assert not result.passed, mistake.hint
        assert "NameError" not in result.message, result.message  # a mistake that no longer fits its function
        assert result.message.splitlines()[-1] == f"hint: {mistake.hint}", result.message
