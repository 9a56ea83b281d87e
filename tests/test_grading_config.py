"""The course file as local grading reads it: each test's visibility in Gradescope's results.json, and what a failing
case shows (show_case = false, or a hidden test: neither the inputs nor the expected value)."""
import json
import re

import pytest

from npflow.teach.__main__ import main
from npflow.teach.course import EXERCISES
from npflow.teach.instructor.copy import write_student_copy
from npflow.teach.markers import find_blocks
from test_teach import fill

COURSE = """\
assignments = [3]

[exercises.euler_step]
visibility = "hidden"

[exercises.midpoint_step]
show_case = false

[exercises.rk4_step]
points = 5
"""
WRONG = {"euler_step": "return x + h * f(t + h, x)", "midpoint_step": "return x + h * f(t, x)",
         "rk4_step": "k2 = k3 = k4 = k1\nreturn k1, k2, k3, k4"}


@pytest.mark.slow
def test_a_hidden_test_and_show_case_false_show_neither_inputs_nor_expected_values(tmp_path, capsys):
    copy, course, out = tmp_path / "ivy", tmp_path / "course.toml", tmp_path / "results.json"
    write_student_copy(copy, [3])
    for name, code in WRONG.items():
        fill(copy, name, code)
    course.write_text(COURSE)
    assert main(["grade", str(copy), "--course", str(course), "--seed", "2", "--gradescope", str(out)]) == 1
    tests = {re.search(r": (\w+) ", test["name"]).group(1): test for test in json.loads(out.read_text())["tests"]}
    assert {name: test["visibility"] for name, test in tests.items()} == {
        "euler_step": "hidden", "midpoint_step": "visible", "rk4_step": "visible", "generate": "visible"}
    assert tests["rk4_step"]["max_score"] == 5  # the course file's points, not course.py's
    shown = tests["rk4_step"]["output"]  # the course's default: a failing hidden case shows its case
    assert shown.startswith("hidden case")
    assert re.search(r"^inputs:(.|\n)*\n  x = (.|\n)*expected \[", shown, re.MULTILINE)
    for name in ("euler_step", "midpoint_step"):
        output = tests[name]["output"]
        assert tests[name]["score"] == 0 and output.startswith("hidden case"), output
        assert not re.search(r"^inputs:|expected \[|got |[A-Za-z] = ", output, re.MULTILINE), output
        assert "shows neither the inputs nor the expected value" in output
    printed = capsys.readouterr().out  # what the teacher sees: the same messages
    assert "euler_step           0/1  hidden case" in printed


def test_the_handouts_and_the_solutions_give_the_course_files_points(tmp_path, capsys):
    course = tmp_path / "course.toml"
    course.write_text("assignments = [3]\n\n[exercises.euler_step]\npoints = 3\n\n[exercises.rk4_step]\npoints = 0\n")
    assert main(["student", str(tmp_path / "copy"), "--course", str(course)]) == 0
    assert sorted(path.name for path in (tmp_path / "copy" / "handouts").iterdir()) == ["assignment-3.md"]
    text = (tmp_path / "copy" / "handouts" / "assignment-3.md").read_text()
    for part in ("**5 points**, 4 exercises.", "(3 points)", "`rk4_step`: `rk4_stages` in `npflow/core/solvers.py` "
                 "(0 points)", "| `euler_step` | `npflow/core/solvers.py` | 3 |", "| `midpoint_step` | "
                 "`npflow/core/solvers.py` | 1 |", "| `rk4_step` | `npflow/core/solvers.py` | 0 |", "| total | | 5 |"):
        assert part in text, part
    assert main(["solutions", str(tmp_path / "ta"), "--course", str(course)]) == 0
    text = (tmp_path / "ta" / "solutions" / "solutions-3.md").read_text()
    assert "## `euler_step` (3 points)" in text and "## `rk4_step` (0 points)" in text
    assert "## `midpoint_step` (1 point)" in text  # course.py's, which the file does not change


#: euler_step waits (up to 4 s) for midpoint_step to start, and the two say when they start and end
EULER_WAITS = """import os, time
if not os.path.exists(LOG + ".euler"):
    open(LOG + ".euler", "w").close()
    print("euler_step starts", file=open(LOG, "a"))
    for _ in range(400):
        if os.path.exists(LOG + ".midpoint"):
            break
        time.sleep(0.01)
    print("euler_step ends", file=open(LOG, "a"))
return x + h * f(t, x)"""
MIDPOINT_SAYS = """import os
if not os.path.exists(LOG + ".midpoint"):
    print("midpoint_step starts", file=open(LOG, "a"))
    open(LOG + ".midpoint", "w").close()
return x + h * f(t, x)"""


@pytest.mark.slow
def test_grading_with_jobs_runs_exercises_at_once_and_prints_and_writes_what_one_job_does(tmp_path, capsys):
    copy = tmp_path / "jay"
    write_student_copy(copy, [3])
    fill(copy, "rk4_step", "while True:\n    pass")
    outputs, logs = {}, {}
    for jobs in ("1", "2"):
        log = tmp_path / f"log-{jobs}"
        fill_again(copy, "euler_step", EULER_WAITS.replace("LOG", repr(str(log))))
        fill_again(copy, "midpoint_step", MIDPOINT_SAYS.replace("LOG", repr(str(log))))
        out = tmp_path / "results.json"  # one name: the printout names it
        argv = ["grade", str(copy), "--assignment", "3", "--seed", "4", "--timeout", "10", "--jobs", jobs]
        assert main([*argv, "--gradescope", str(out)]) == 1
        table = json.loads(out.read_text())
        del table["execution_time"]
        outputs[jobs] = capsys.readouterr().out, table
        logs[jobs] = log.read_text().splitlines()
    assert logs["1"] == ["euler_step starts", "euler_step ends", "midpoint_step starts"]  # one after the other
    assert logs["2"] == ["euler_step starts", "midpoint_step starts", "euler_step ends"]  # both at once
    assert outputs["2"] == outputs["1"]
    printed, table = outputs["1"]
    assert [test["score"] for test in table["tests"]] == [1, 0, 0, 0]
    assert "stopped after 10 s" in table["tests"][2]["output"]
    assert re.findall(r"^(\w+) +\d/", printed, re.MULTILINE) == ["euler_step", "midpoint_step", "rk4_step", "generate"]


def fill_again(copy, name, code):
    """Write ``code`` as the answer to exercise ``name`` in a copy, in place of what is between its markers."""
    path = copy / "npflow" / f"{EXERCISES[name].module}.py"
    text = path.read_text()
    block = next(block for block in find_blocks(text) if block.name == name)
    at = text.index(block.body, block.start)
    path.write_text(text[:at] + "".join(f"{block.indent}{line}\n" for line in code.splitlines())
                    + text[at + len(block.body):])
