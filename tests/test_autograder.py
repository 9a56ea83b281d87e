"""The Gradescope autograder (``npflow teach autograder OUT.zip``): what the zip holds (no reference line, no
instructor's folder, a bank whose values are the reference's), and its ``run_autograder`` run as Gradescope runs
it, rooted at ``AUTOGRADER_ROOT``, on a blank, the reference and each planted cheat of ``tests/cheats.py``, with
``results.json`` checked against Gradescope's format."""
import io
import json
import os
import pathlib
import pwd
import shutil
import subprocess
import sys
import zipfile

import numpy as np
import npflow
import pytest

from cheats import NAMES, by_exercise, cheats, check_graded, plant
from npflow.teach import exchange
from npflow.teach.__main__ import main
from npflow.teach.bank import load_bank
from npflow.teach.cases import CHECKS
from npflow.teach.checks import compare, outcome
from npflow.teach.course import EXERCISES, exercises_of
from npflow.teach.instructor import autograder
from npflow.teach.instructor.copy import answers, write_student_copy
from npflow.teach.instructor.mistakes import CATALOGUE
from npflow.teach.markers import normalise
from test_teach import fill

REFERENCE = pathlib.Path(npflow.__file__).parent
VISIBILITIES = {"visible", "hidden", "after_due_date", "after_published"}


def strings(value):
    """Every string in plain nested data (JSON's dicts, lists and strings)."""
    if isinstance(value, dict):
        return [text for key, item in value.items() for text in [key, *strings(item)]]
    if isinstance(value, list):
        return [text for item in value for text in strings(item)]
    return [value] if isinstance(value, str) else []


def member_texts(archive, member):
    """The normalised lines a member of the zip holds: of an ``.npz``, its arrays of strings and the strings of
    those that are JSON (a bank's layout: labels, hints, messages); of any other file, its text."""
    data = archive.read(member)
    if member.endswith(".npz"):
        with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
            texts = [str(text) for key in arrays.files if arrays[key].dtype.kind in "US"
                     for text in arrays[key].astype(str).ravel()]
        texts += [string for text in texts if text.startswith(("{", "[")) for string in strings(json.loads(text))]
    else:
        texts = [data.decode("utf-8", errors="replace")]
    return [normalise(line) for text in texts for line in text.splitlines()]


def zip_leaks(path, names):
    """(member, line) for each line of the reference of ``names`` a member holds, and each line of their usual
    mistakes that a member beside the copy's ``npflow/`` (the student's own copy, checked as a copy is) holds."""
    secret = answers(names)
    mistakes = {normalise(line) for name in names for mistake in CATALOGUE.get(name, ())
                for line in mistake.code.splitlines() if len(normalise(line)) >= 8}
    found = []
    with zipfile.ZipFile(path) as archive:
        for member in archive.namelist():
            lines = member_texts(archive, member)
            shown = [*secret, *mistakes] if not member.startswith("npflow/") else secret
            found += [(member, answer) for answer in shown if any(answer in line for line in lines)]
    return found


def check_gradescope(table):
    """Assert that ``table`` is a results.json as Gradescope reads it, and return it."""
    assert isinstance(table.get("score"), (int, float)) and isinstance(table["tests"], list)
    assert isinstance(table["output"], str) and table["visibility"] in VISIBILITIES
    assert table["stdout_visibility"] in VISIBILITIES
    for test in table["tests"]:
        assert isinstance(test["name"], str) and isinstance(test.get("output", ""), str)
        assert isinstance(test["score"], (int, float)) and isinstance(test["max_score"], (int, float))
        assert 0 <= test["score"] <= test["max_score"] and test["visibility"] in VISIBILITIES
        assert test["status"] in ("passed", "failed")
        assert test["max_score"] == 0 or (test["status"] == "passed") == (test["score"] == test["max_score"])
    assert table["score"] == sum(test["score"] for test in table["tests"])
    return table


# --- the zip ------------------------------------------------------------------------------------

def test_the_zip_holds_the_scripts_a_copy_a_bank_and_the_course_and_no_reference(tmp_path, capsys):
    course = tmp_path / "course.json"
    course.write_text(json.dumps({"assignments": [7], "defaults": {"hidden_cases": 6}}))
    out = tmp_path / "ag.zip"
    assert main(["autograder", str(out), "--course", str(course), "--seed", "3"]) == 0
    assert "seed 3" in capsys.readouterr().out
    names = exercises_of([7])
    with zipfile.ZipFile(out) as archive:
        members = {info.filename: info.external_attr >> 16 for info in archive.infolist()}
        archive.extractall(tmp_path / "source")
    assert members["setup.sh"] & 0o111 and members["run_autograder"] & 0o111 and not members["bank.npz"] & 0o111
    for script in ("setup.sh", "run_autograder"):
        assert subprocess.run(["bash", "-n", str(tmp_path / "source" / script)]).returncode == 0
    assert {"course.json", "npflow/__init__.py", "npflow/teach/child.py"} <= set(members)
    assert not [member for member in members if "instructor" in member or member.endswith(".pyc")]
    assert zip_leaks(out, names) == []
    assert json.loads((tmp_path / "source" / "course.json").read_text()) == json.loads(course.read_text())
    bank, seed = load_bank(tmp_path / "source" / "bank.npz")
    assert seed == 3 and list(bank) == names
    for name in names:
        assert sum(not entry.public for entry in bank[name]) == 6
        for entry in bank[name]:  # the reference's values, and each usual mistake's
            assert compare(entry.expected, outcome(npflow, CHECKS[name], entry.case)) is None
            assert [hint for hint, _ in entry.mistakes] == [mistake.hint for mistake in CATALOGUE[name]]


def test_the_leak_check_finds_a_reference_line_in_the_zip(tmp_path, monkeypatch):
    scripts = tmp_path / "scripts"
    shutil.copytree(autograder.SCRIPTS, scripts)
    line = answers(["guided_velocity"])[0]
    (scripts / "setup.sh").write_text((scripts / "setup.sh").read_text() + f"# {line}\n")
    monkeypatch.setattr(autograder, "SCRIPTS", str(scripts))
    with pytest.raises(ValueError, match="setup.sh holds a line of the reference"):
        autograder.build_autograder(tmp_path / "ag.zip", assignments=[7], seed=0)
    assert not (tmp_path / "ag.zip").exists()
    exchange.save(tmp_path / "bank.npz", {"bank": [{"hint": f"first\n    {line}"}]})  # the test's own check, too
    with zipfile.ZipFile(tmp_path / "planted.zip", "w") as archive:
        archive.write(tmp_path / "bank.npz", "bank.npz")
        archive.writestr("npflow/a.py", f"x = 1\n        {line}\n")
    assert [member for member, _ in zip_leaks(tmp_path / "planted.zip", ["guided_velocity"])] == ["bank.npz",
                                                                                                "npflow/a.py"]


@pytest.mark.parametrize("argv, message", [
    (["autograder", "ag.txt"], "is a .zip file"),
    (["autograder", "ag.zip", "--seed", "-1"], "--seed must be >= 0"),
    (["autograder", "no/such/folder/ag.zip"], "does not exist"),
])
def test_bad_input_is_one_line_and_exit_2(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.splitlines()) == 1


def test_an_assignment_the_course_does_not_grade_and_an_existing_zip_are_refused(tmp_path, capsys):
    course = tmp_path / "course.toml"
    course.write_text("assignments = [7]\n")
    assert main(["autograder", str(tmp_path / "ag.zip"), "--course", str(course), "--assignment", "3"]) == 2
    assert "assignment 3 is not one the course file" in capsys.readouterr().err
    (tmp_path / "ag.zip").write_text("mine")
    assert main(["autograder", str(tmp_path / "ag.zip"), "--assignment", "8"]) == 2
    assert "already exists" in capsys.readouterr().err and (tmp_path / "ag.zip").read_text() == "mine"


# --- run_autograder, as Gradescope runs it ------------------------------------------------------

@pytest.fixture(scope="module")
def autograder_zip(tmp_path_factory):
    folder = tmp_path_factory.mktemp("autograder")
    course = folder / "course.toml"
    course.write_text("assignments = [3]\n[defaults]\nhidden_cases = 40\n[exercises.rk4_step]\n"
                      'visibility = "after_due_date"\n')
    autograder.build_autograder(folder / "ag.zip", str(course), seed=5)
    return folder / "ag.zip"


def run_autograder(zip_path, submission, root, python=sys.executable, **env):
    """Unpack the zip into ``root/source``, the submission into ``root/submission``, and run ``run_autograder``
    rooted at ``root`` with ``python`` and the variables ``env``: (the finished process, the results table)."""
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(root / "source")
    shutil.copytree(submission, root / "submission", symlinks=True)  # links stay links, as an upload's would
    script = root / "run_autograder"  # where Gradescope puts it
    shutil.copy(root / "source" / "run_autograder", script)
    env = dict(os.environ, AUTOGRADER_ROOT=str(root), NPFLOW_PYTHON=python, **env)
    done = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    results = root / "results" / "results.json"
    return done, check_gradescope(json.loads(results.read_text()))


@pytest.mark.slow
def test_a_blank_scores_nothing_and_the_reference_full_marks(autograder_zip, tmp_path):
    blank = tmp_path / "blank"
    write_student_copy(blank, [3])
    done, table = run_autograder(autograder_zip, blank, tmp_path / "a")
    assert table["score"] == 0 and len(table["tests"]) == 4
    assert all("not implemented yet" in test["output"] for test in table["tests"])
    assert "the bank of" in done.stdout  # graded against the bank, by the copy in the zip
    assert os.stat(tmp_path / "a" / "results").st_mode & 0o777 == 0o700
    if os.geteuid() == 0:  # as on Gradescope: the bank is the grader's alone
        assert os.stat(tmp_path / "a" / "source").st_mode & 0o777 == 0o700
    reference = tmp_path / "reference"
    shutil.copytree(REFERENCE, reference / "npflow", ignore=shutil.ignore_patterns("__pycache__"))
    _, table = run_autograder(autograder_zip, reference, tmp_path / "b")
    assert table["score"] == 5 == sum(EXERCISES[name].points for name in exercises_of([3]))
    assert by_exercise(table)["rk4_step"]["visibility"] == "after_due_date"
    assert by_exercise(table)["euler_step"]["visibility"] == "visible"


@pytest.mark.slow
def test_module_files_uploaded_alone_are_graded_and_a_submission_of_none_says_why(autograder_zip, tmp_path):
    (tmp_path / "files").mkdir()
    shutil.copy(REFERENCE / "core" / "solvers.py", tmp_path / "files")  # sampling.py (generate) not uploaded
    _, table = run_autograder(autograder_zip, tmp_path / "files", tmp_path / "a")
    assert table["score"] == 4 and "cannot read it" in by_exercise(table)["generate"]["output"]
    (tmp_path / "text").mkdir()
    (tmp_path / "text" / "solvers.txt").write_text("no code\n")
    _, table = run_autograder(autograder_zip, tmp_path / "text", tmp_path / "b")
    assert table["score"] == 0 and table["tests"] == [] and "holds no npflow/ folder" in table["output"]


@pytest.mark.slow
def test_a_link_in_a_submission_is_not_followed(autograder_zip, tmp_path):
    (tmp_path / "links").mkdir()
    (tmp_path / "links" / "solvers.py").symlink_to(REFERENCE / "core" / "solvers.py")  # or to source/bank.npz
    _, table = run_autograder(autograder_zip, tmp_path / "links", tmp_path / "a")
    assert table["score"] == 0 and "holds no npflow/ folder" in table["output"]  # the grader (root) never read it


@pytest.mark.slow
@pytest.mark.parametrize("cheat", NAMES)
def test_a_planted_cheat_scores_no_more_than_the_honest_copy_through_the_autograder(autograder_zip, tmp_path, cheat):
    root = tmp_path / "autograder"
    results = root / "results" / "results.json"
    source = root / "source"
    printed = [source / "bank.npz", source / "course.toml", source / "npflow" / "core" / "solvers.py"]
    plant(tmp_path / "mallory", cheat, cheats(results, printed)[cheat])
    done, _ = run_autograder(autograder_zip, tmp_path / "mallory", root)
    check_graded(cheat, results, done.stdout, root)


@pytest.mark.slow
def test_a_hidden_test_says_so_and_a_failing_hidden_case_shows_no_expected_value(tmp_path):
    course = tmp_path / "course.toml"
    course.write_text("assignments = [3]\n[defaults]\nhidden_cases = 20\n"
                      '[exercises.euler_step]\nvisibility = "hidden"\nshow_case = false\n')
    autograder.build_autograder(tmp_path / "ag.zip", str(course), seed=1)
    copy = tmp_path / "eve"
    write_student_copy(copy, [3])
    fill(copy, "euler_step", "return x + h * f(t, x) + 1.0")
    fill(copy, "midpoint_step", "return x + h * f(t, x) + 1.0")
    _, table = run_autograder(tmp_path / "ag.zip", copy, tmp_path / "a")
    tests = by_exercise(table)
    hidden, shown = tests["euler_step"], tests["midpoint_step"]
    assert hidden["visibility"] == "hidden" and shown["visibility"] == "visible"
    assert hidden["score"] == shown["score"] == 0
    for test in (hidden, shown):
        assert test["output"].startswith("hidden case 1 of ")
    assert "shows neither the inputs nor the expected value" in hidden["output"]
    assert "inputs:" not in hidden["output"] and ": expected " not in hidden["output"]
    assert "inputs:" in shown["output"] and ": expected " in shown["output"]  # the same failure, shown


def python_for(user):
    """A Python with NumPy, SciPy and autograd that ``user`` can run (``$NPFLOW_TEST_PYTHON``, else this one), or
    None: setup.sh's is one, on Gradescope."""
    python = os.environ.get("NPFLOW_TEST_PYTHON", sys.executable)
    entry = pwd.getpwnam(user)
    try:
        done = subprocess.run([python, "-c", "import numpy, scipy, autograd"], user=entry.pw_uid,
                              group=entry.pw_gid, extra_groups=[], capture_output=True, cwd="/")
    except PermissionError:  # it cannot even start it
        return None
    return python if done.returncode == 0 else None


@pytest.mark.slow
@pytest.mark.skipif(os.geteuid() != 0, reason="runs the student's code as another user, as Gradescope's root does")
def test_as_root_the_students_code_runs_as_another_user_that_can_read_no_bank_and_write_no_results(request,
                                                                                                    tmp_path):
    python = python_for("nobody")
    if python is None:
        pytest.skip("no Python with NumPy, SciPy and autograd that the user nobody can run (NPFLOW_TEST_PYTHON)")
    autograder_zip = request.getfixturevalue("autograder_zip")
    reference = tmp_path / "reference"
    shutil.copytree(REFERENCE, reference / "npflow", ignore=shutil.ignore_patterns("__pycache__"))
    _, table = run_autograder(autograder_zip, reference, tmp_path / "a", python, NPFLOW_STUDENT_USER="nobody")
    assert table["score"] == 5
    root, copy = tmp_path / "b", tmp_path / "thief"
    write_student_copy(copy, [3])
    bank = root / "source" / "bank.npz"
    fill(copy, "euler_step", f"import os\nprint('uid', os.getuid())\nopen({str(bank)!r}).read()")
    fill(copy, "midpoint_step", f"open({str(root / 'results' / 'results.json')!r}, 'w').write('{{}}')")
    _, table = run_autograder(autograder_zip, copy, root, python, NPFLOW_STUDENT_USER="nobody")
    tests = by_exercise(table)
    assert table["score"] == 0 and f"uid {pwd.getpwnam('nobody').pw_uid}" in tests["euler_step"]["output"]
    assert "PermissionError" in tests["euler_step"]["output"] and "bank.npz" in tests["euler_step"]["output"]
    assert "PermissionError" in tests["midpoint_step"]["output"]
