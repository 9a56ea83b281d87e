"""The teaching kit: markers, the student copy (no answer in it), its own grader, and the instructor's grader
run as the command line runs it (a process per exercise, a time limit, Gradescope's results.json)."""
import functools
import json
import os
import pathlib
import re
import subprocess
import sys

import numpy as np
import npflow
import pytest

from npflow.teach.__main__ import main
from npflow.teach.cases import CHECKS
from npflow.teach.checks import Size, Unfinished, outcome
from npflow.teach.course import ASSIGNMENTS, EXERCISES, exercises_of
from npflow.teach.grading import public_cases
from npflow.teach.instructor.copy import answers, write_blank_package, write_solutions, write_student_copy
from npflow.teach.instructor.grader import grade_exercise
from npflow.teach.markers import MissingBlocks, blank, find_blocks, normalise, splice, strip_exercises
from npflow.teach.packages import load_package, module, unload
from npflow.teach.tree import graded_tree

SOURCE = ("def f(x):\n    # >>> exercise double: return twice x\n    return 2 * x\n    # <<< exercise\n\n"
          "def g(x):\n    # >>> exercise triple: three times\n    return 3 * x\n    # <<< exercise\n")


def test_a_blank_keeps_its_markers_and_the_hint_and_the_others_lose_theirs():
    text, names = blank(SOURCE, ["double"])
    assert names == ["double"]
    assert text.startswith("def f(x):\n    # >>> exercise double: return twice x\n"
                           "    raise NotImplementedError('exercise double: return twice x')\n    # <<< exercise\n")
    assert "def g(x):\n    return 3 * x\n" in text and "triple" not in text
    assert strip_exercises(SOURCE)[1] == ["double", "triple"]


def test_splicing_takes_the_students_block_and_nothing_else():
    student = SOURCE.replace("def g(x):", "def g(x):  # edited outside the block: not graded")
    student = student.replace("        ", "    ").replace("    return 2 * x\n", "  # mine\n    return x + x\n")
    text, lines = splice(SOURCE, student, "double")
    assert "return x + x" in text and "edited outside" not in text
    assert text.count("# >>> exercise") == 2
    line = text.splitlines().index("    return x + x") + 1
    assert student.splitlines()[lines[line] - 1].strip() == "return x + x"
    with pytest.raises(MissingBlocks, match="found 0"):
        splice(SOURCE, "def f(x):\n    return 2 * x\n", "double")


@pytest.fixture(scope="module")
def copy_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("class") / "alice"
    assert write_student_copy(path) == list(EXERCISES)
    return path


def files_of(directory):
    for folder, _, files in os.walk(directory):
        for name in files:
            yield os.path.join(folder, name)


def leaks(directory, names):
    """(file, answer line) for every reference line of the exercises ``names`` found in a file of ``directory``."""
    secret = answers(names)
    assert len(secret) >= 3 * len(names) // 2
    found = []
    for path in files_of(directory):
        with open(path, errors="replace") as file:
            lines = [normalise(line) for line in file]
        found += [(path, answer) for answer in secret if any(answer in line for line in lines)]
    return found


def test_no_answer_line_is_anywhere_in_the_copy(copy_dir):
    assert leaks(copy_dir, list(EXERCISES)) == []
    assert not (copy_dir / "npflow" / "teach" / "instructor").exists()  # hidden cases, mistakes, the copy writer


@pytest.mark.parametrize("number", [assignment.number for assignment in ASSIGNMENTS])
def test_no_answer_line_is_in_the_copy_of_one_assignment(tmp_path, number):
    assert write_student_copy(tmp_path / "bob", [number]) == exercises_of([number])
    assert leaks(tmp_path / "bob", exercises_of([number])) == []
    handouts = os.listdir(tmp_path / "bob" / "handouts")
    assert handouts == [f"assignment-{number}.md"]


def test_a_copy_that_blanks_the_divergence_leaves_out_its_closed_form_once(tmp_path):
    number = next(a.number for a in ASSIGNMENTS if "divergence" in exercises_of([a.number]))
    write_student_copy(tmp_path / "carol", [number])
    closed_form = (tmp_path / "carol" / "npflow" / "core" / "mlp_divergence.py").read_text()
    assert "slope(z_1) @ B" not in closed_form and closed_form.count("is left out of this copy") == 1
    package = load_package(tmp_path / "carol", lazy=True)
    try:
        assert module(package, "core/mlp_divergence").mlp_divergence([]) is None
    finally:
        unload(package)


def test_the_copy_leaves_out_backprops_forward_pass_and_redacts_quoted_answers(copy_dir):
    package = load_package(copy_dir, lazy=True)
    try:
        with pytest.raises(NotImplementedError, match="work of exercise mlp_forward"):
            module(package, "core/backprop").forward([], None)
        field = module(package, "core/in_place").in_place_velocity([(np.ones((3, 2)), np.ones(2))])
        with pytest.raises(NotImplementedError, match="mlp_forward"):  # the student's own mlp, still blank
            field(0.5, np.zeros((4, 2)))
        assert module(package, "core/mlp_divergence").mlp_divergence([]) is None  # no closed form: divergence's
    finally:
        unload(package)
    in_place = (copy_dir / "npflow" / "core" / "in_place.py").read_text()
    reference = pathlib.Path(npflow.__file__).parent / "core" / "in_place.py"
    assert "for W, b in hidden_layers:" in reference.read_text() and "for W, b in hidden_layers:" not in in_place
    closed_form = (copy_dir / "npflow" / "core" / "mlp_divergence.py").read_text()
    assert "B = W_2 * (W_1[1:].T @ W_3.T)" not in closed_form and "slope(z_1) @ B" not in closed_form
    assert closed_form.count("is left out of this copy") == 1  # blanked by two exercises, left out once
    assert "[a line of exercise training_step, left out of this copy]" in (copy_dir / "npflow" / "core" / "training.py").read_text()
    readme = (copy_dir / "README.md").read_text()
    assert "This is a student copy of npflow" in readme and "pip install -e '.[test]'" in readme  # other lines stay
    assert "| x_t = alpha_t x_1 + sigma_t x_0 |" not in readme  # the path's row quotes its answer


def test_the_rest_of_the_copy_runs(copy_dir):
    package = load_package(copy_dir)
    try:
        gmm = package.GaussianMixture([[0.0, 0.0]], std=1.0)
        x = gmm.sample(5, __import__("numpy").random.default_rng(0))
        heun = package.integrate(lambda t, y: -y, x, 0.0, 1.0, "heun", steps=4)  # heun is not an exercise
        assert heun.x.shape == (5, 5, 2)
        with pytest.raises(NotImplementedError, match="exercise euler_step"):
            package.integrate(lambda t, y: -y, x, 0.0, 1.0, "euler", steps=4)
    finally:
        unload(package)


def test_a_handout_says_what_to_write_how_to_check_and_the_points(copy_dir):
    text = (copy_dir / "handouts" / "assignment-4.md").read_text()
    for part in ("## Goal", "## The equations", "div v = sum_j dv_j / dx_j", "def divergence(f, t, x, probes=None):",
                 "x : ndarray, shape (n, d)", "python -m npflow.teach grade --assignment 4", "hidden checks",
                 "| `divergence` | `npflow/core/likelihood.py` | 2 |", "| total | | 5 |",
                 "It calls `divergence`, `hutchinson`, `euler_step`, `midpoint_step`, `rk4_step`: where your copy has "
                 "those blank, it runs your own, so its checks wait until they are done"):
        assert part in text, part


def fill(copy, name, code):
    """Write ``code`` as the answer to exercise ``name`` in a copy, indented like the stub."""
    path = copy / "npflow" / f"{EXERCISES[name].module}.py"
    text = path.read_text()
    stub = re.search(rf"^( *)raise NotImplementedError\(['\"]exercise {name}:.*$", text, re.MULTILINE)
    path.write_text(text.replace(stub.group(0), "\n".join(stub.group(1) + line for line in code.splitlines())))


def reference_code(name):
    with open(f"{npflow.__path__[0]}/{EXERCISES[name].module}.py") as file:
        block = next(block for block in find_blocks(file.read()) if block.name == name)
    return "\n".join(line[len(block.indent):] for line in block.body.splitlines())


def copy_grader(copy):
    """The copy's own ``grade_in_copy`` (its public checks and stored values), loaded from the copy."""
    package = load_package(copy, lazy=True)
    return package, module(package, "teach.grading").grade_in_copy


def test_the_copys_own_grader_runs_public_checks_only(tmp_path):
    copy = tmp_path / "carol"
    write_student_copy(copy, [4])
    fill(copy, "divergence", reference_code("divergence"))
    fill(copy, "hutchinson", "div = np.sum([np.sum(vjp(eps) * eps, axis=1) for eps in probes], axis=0)")
    package, grade_in_copy = copy_grader(copy)
    try:
        assert grade_in_copy("divergence", str(copy)).passed
        result = grade_in_copy("hutchinson", str(copy))
        assert not result.passed and "hidden" not in result.message and "hint:" not in result.message
        assert result.message.startswith("public case 1 of 2 (n=3, d=2, float64, variant 2) fails:")
        stored = json.loads((copy / "npflow" / "teach" / "public_expected.json").read_text())
        assert sorted(stored) == sorted(exercises_of([4]))  # the public cases of what was handed out
    finally:
        unload(package)


def test_a_copy_says_which_exercise_a_check_waits_for(tmp_path):
    copy = tmp_path / "dan"
    write_student_copy(copy, [4])
    fill(copy, "log_likelihood", reference_code("log_likelihood"))
    package, grade_in_copy = copy_grader(copy)
    try:
        assert grade_in_copy("log_likelihood", str(copy)).message.startswith("waits for exercise divergence")
    finally:
        unload(package)


@pytest.mark.slow
def test_the_copys_command_line_grades_its_public_checks_on_its_own(tmp_path):
    copy = tmp_path / "hal"
    write_student_copy(copy, [3])
    fill(copy, "euler_step", reference_code("euler_step"))
    env = {**os.environ, "PYTHONPATH": str(copy)}  # the copy's npflow, not this one

    def teach(*argv):
        return subprocess.run([sys.executable, "-m", "npflow.teach", *argv], cwd=copy, env=env, capture_output=True,
                              text=True, timeout=300)

    done = teach("grade", "--exercise", "euler_step", "midpoint_step")
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert "(public checks; 20 s each)" in lines[0]
    assert lines[1] == "euler_step           1/1  passed: 1 public cases, 1 public checks"
    assert lines[2].startswith("midpoint_step        0/1  not implemented yet")
    assert "invalid choice: 'student'" in teach("student", "again").stderr  # no copy writer in a copy


def test_one_mistake_costs_one_exercise(tmp_path):
    copy = tmp_path / "erin"
    write_student_copy(copy, [1, 2])
    for name in exercises_of([1, 2])[1:]:
        fill(copy, name, reference_code(name))
    fill(copy, "path", "t = np.reshape(t, (-1, 1))\nx_t = t * x_1 + (1 - t) * x_0\nu_t = x_1 - x_0")
    results = {name: grade_exercise(name, str(copy), seed=1) for name in exercises_of([1, 2])}
    assert [name for name, result in results.items() if not result.passed] == ["path"]
    assert "hint: sigma_min (and the vp schedule) forgotten" in results["path"].message
    assert "n=1, d=1" in results["path"].message  # the smallest case that shows it


def test_a_syntax_error_and_lost_markers_are_told_in_one_line(tmp_path):
    copy = tmp_path / "fay"
    write_student_copy(copy, [3])
    fill(copy, "euler_step", "return x + h * f(t, x")
    line = (copy / "npflow" / "core" / "solvers.py").read_text().splitlines().index("    return x + h * f(t, x") + 1
    message = grade_exercise("euler_step", str(copy)).message
    assert message == f"npflow/core/solvers.py, line {line}: SyntaxError in your code: '(' was never closed"
    path = copy / "npflow" / "core" / "sampling.py"
    path.write_text(re.sub(r" *# (>>>|<<<) exercise.*\n", "", path.read_text()))
    assert "found 0" in grade_exercise("generate", str(copy)).message


@pytest.mark.slow
def test_grading_a_copy_writes_gradescope_results_with_every_exercise_at_zero(copy_dir, tmp_path, capsys):
    out = tmp_path / "results.json"
    assert main(["grade", str(copy_dir), "--gradescope", str(out), "--json", str(tmp_path / "all.json")]) == 1
    results = json.loads(out.read_text())
    assert results["score"] == 0 and results["max_score"] == sum(e.points for e in EXERCISES.values())
    assert len(results["tests"]) == len(EXERCISES) >= 16
    for test in results["tests"]:
        assert set(test) >= {"name", "score", "max_score", "output", "visibility"} and test["output"]
    printed = capsys.readouterr().out.splitlines()
    assert printed[1].startswith(f"grading {len(EXERCISES)} exercises") and "each in a sandbox" in printed[1]
    assert printed[2].startswith("path                 0/2  not implemented yet")
    assert json.loads((tmp_path / "all.json").read_text())["exercises"][0]["name"] == "path"


@pytest.mark.slow
def test_an_infinite_loop_or_a_crash_scores_zero_and_grading_goes_on(tmp_path, capsys):
    copy = tmp_path / "gus"
    write_student_copy(copy, [3])
    fill(copy, "euler_step", "while True:\n    pass")
    fill(copy, "midpoint_step", "import os\nos._exit(3)")
    fill(copy, "rk4_step", reference_code("rk4_step"))
    out = tmp_path / "results.json"
    assert main(["grade", str(copy), "--assignment", "3", "--timeout", "3", "--gradescope", str(out)]) == 1
    tests = {test["name"].split(": ")[1].split(" ")[0]: test for test in json.loads(out.read_text())["tests"]}
    assert tests["euler_step"]["score"] == 0 and "stopped after 3 s" in tests["euler_step"]["output"]
    assert tests["midpoint_step"]["score"] == 0 and "ended (exit status 3)" in tests["midpoint_step"]["output"]
    assert tests["rk4_step"]["score"] == 2 and tests["generate"]["score"] == 0
    assert capsys.readouterr().out.splitlines()[-2] == "score: 2/5 (1 of 4 exercises passed)"


def test_the_reference_scores_full_marks_from_the_command_line(tmp_path, capsys):
    assert main(["grade", "--assignment", "7", "8", "--json", str(tmp_path / "r.json")]) == 0
    assert json.loads((tmp_path / "r.json").read_text())["score"] == 4


@pytest.mark.parametrize("argv, message", [
    (["grade", "nowhere"], "holds no npflow package"),
    (["grade", "--exercise", "pth"], "unknown exercise 'pth'"),
    (["grade", "--assignment", "10"], "assignment must be one of 1, 2, 3, 4, 5, 6, 7, 8, 9, got 10"),
    (["grade", "--timeout", "0"], "--timeout must be > 0"),
    (["grade", "--seed", "-1"], "--seed >= 0"),
    (["grade", "--json", "no/such/folder/r.json"], "its folder does not exist"),
])
def test_bad_input_is_one_line_and_exit_2(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.splitlines()) == 1


def test_a_copy_is_not_written_over_and_solutions_hold_the_answers(copy_dir, tmp_path, capsys):
    assert main(["student", str(copy_dir)]) == 2
    assert "already exists" in capsys.readouterr().err
    write_solutions(tmp_path / "ta", [1])
    text = (tmp_path / "ta" / "solutions" / "solutions-1.md").read_text()
    assert "x_t = self.alpha(t) * x_1 + self.sigma(t) * x_0" in text and "Usual mistakes" in text


@pytest.mark.slow
@pytest.mark.parametrize("name", EXERCISES)
def test_the_exercises_an_exercise_calls_are_its_depends(tmp_path_factory, name):
    """In a blank copy with this exercise's reference block alone, its checks (a case of each variant, its public
    cases and checks) wait for exactly the exercises of its ``depends``, and run once those are in too."""
    base = tmp_path_factory.getbasetemp() / "all-blank"
    if not base.exists():
        write_blank_package(str(base / "npflow"), list(EXERCISES))
    check, found = CHECKS[name], set()
    cases = [check.draw(np.random.default_rng(v), Size(3, 2, check.dtypes[0], v)) for v in range(check.variants)]
    cases += [case for _, case in public_cases(name)]
    for attempt in range(len(EXERCISES)):
        folder = tmp_path_factory.mktemp(f"{name}-{attempt}")
        graded_tree(str(base), os.path.dirname(npflow.__path__[0]), [name, *found], str(folder))
        package, waits = load_package(folder, lazy=True), set()
        try:
            for run in [*(functools.partial(outcome, package, check, case) for case in cases),
                        *(functools.partial(prop, package) for prop in check.properties)]:
                try:
                    run()
                except Unfinished as unfinished:
                    waits.add(unfinished.name)
                except NotImplementedError as error:  # a public check, which calls the package itself
                    waits.add(str(error).split(":")[0].removeprefix("exercise "))
                except AssertionError:
                    pass
        finally:
            unload(package)
        if not waits - found:
            break
        found |= waits
    assert found == set(EXERCISES[name].depends)


def test_the_local_check_says_to_fix_a_wrong_exercise_an_exercise_calls_first(tmp_path):
    copy = tmp_path / "kim"
    write_student_copy(copy, [4])
    for name in ("hutchinson", "log_likelihood"):
        fill(copy, name, reference_code(name))
    fill(copy, "divergence", reference_code("divergence").replace("div = sum(", "div = 2 * sum("))
    package, grade_in_copy = copy_grader(copy)
    try:
        first, *rest = grade_in_copy("log_likelihood", str(copy)).message.splitlines()
        assert first == "log_likelihood fails, and it calls divergence, which fails its own check: fix divergence first"
        assert rest[0].startswith("public case 1 of 2")  # then its own failure, as always
        assert not grade_in_copy("divergence", str(copy)).message.startswith("divergence fails, and")
        path = copy / "npflow" / "core" / "likelihood.py"
        path.write_text(path.read_text().replace("div = 2 * sum(", "div = sum("))
        assert grade_in_copy("log_likelihood", str(copy)).passed  # the same code passes once divergence is right
    finally:
        unload(package)
