"""Cheats a student might try, each planted in one blank of a blank copy (assignment 3, ``euler_step``), graded
as a teacher grades: none may score more than the honest copy, leave a process behind, rewrite the results after
grading, or show a line of the reference or of the catalogue of mistakes."""
import json
import os
import pathlib
import resource
import subprocess
import sys
import time

import npflow
import pytest

from npflow.teach.instructor.banks import secret_lines
from npflow.teach.instructor.copy import write_student_copy
from npflow.teach.markers import normalise
from test_teach import fill, reference_code

REFERENCE = pathlib.Path(npflow.__file__).parent
HONEST = 1  # midpoint_step written right, the rest of assignment 3 blank

CHEATS = {
    "patches the checker": (
        "import numpy, npflow.teach.checks as checks\n"
        "numpy.isclose = lambda a, b, **k: numpy.ones(numpy.broadcast(a, b).shape, bool)\n"
        "checks.compare = lambda expected, got: None\nreturn x"),
    "forges the result channel": (
        "import sys, numpy\nfrom npflow.teach import exchange\n"
        "exchange.save(sys.argv[-1], {'exercise': 'euler_step', 'outcomes': [], 'unfinished': None, 'passed': True})\n"
        "import os\nos._exit(0)"),
    "imports the reference": (
        "import sys, npflow\n"
        "ref = [m for name, m in sys.modules.items() if 'graded' in name or 'instructor' in name]\n"
        "return ref[0].core.solvers.euler_step(f, t, x, h) if ref else npflow.core.solvers.euler_step(f, t, x, h)"),
    "rewrites the results after grading": (
        "import os, time\nif not hasattr(os, 'forked') and os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
        "        time.sleep(5)\n        open(RESULTS, 'w').write('{\"score\": 38}')\n"
        "        open(RESULTS + '.alive', 'w').write('!')\n    os._exit(0)\nos.forked = True\nreturn x"),
    "prints the reference and floods the output": (
        f"import os\nprint(open({str(REFERENCE / 'core' / 'solvers.py')!r}).read())\n"
        f"print(open({str(REFERENCE / 'teach' / 'instructor' / 'mistakes.py')!r}).read())\n"
        "os.write(1, b'x' * 3_000_000)\nos.write(2, b'y' * 3_000_000)\nprint('z' * 5_000_000)\nreturn x"),
    "edits handed_out.json": "return x + h * f(t, x)",
    "allocates 20 GB": "import numpy\nbomb = numpy.ones(20 * 1024**3 // 8)\nreturn x + h * f(t, x)",
}


def grade(copy, results, *extra):
    command = [sys.executable, "-m", "npflow.teach", "grade", str(copy), "--assignment", "3", "--seed", "5",
               "--gradescope", str(results), *extra]
    return subprocess.run(command, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
@pytest.mark.parametrize("cheat", CHEATS)
def test_a_planted_cheat_scores_no_more_than_the_honest_copy(tmp_path, cheat):
    copy, results = tmp_path / "mallory", tmp_path / "results.json"
    write_student_copy(copy, [3])
    fill(copy, "midpoint_step", reference_code("midpoint_step"))
    fill(copy, "euler_step", CHEATS[cheat].replace("RESULTS", repr(str(results))))
    if cheat == "edits handed_out.json":
        (copy / "npflow" / "teach" / "handed_out.json").write_text(json.dumps({"assignments": [3],
                                                                                "exercises": ["euler_step"]}))
    done = grade(copy, results)
    assert done.returncode == 1, done.stderr
    written = results.read_bytes()
    table = json.loads(written)
    assert table["score"] <= HONEST + (cheat == "edits handed_out.json") and table["max_score"] == 5
    tests = {test["name"].split(": ")[1].split(" ")[0]: test for test in table["tests"]}
    assert tests["midpoint_step"]["score"] == 1  # grading went on past the cheat
    time.sleep(3)
    assert results.read_bytes() == written and not pathlib.Path(f"{results}.alive").exists()
    assert len(written) < 2**20 and len(done.stdout) < 2**20
    shown = [normalise(line) for test in table["tests"] for line in test["output"].splitlines()]
    assert not [secret for secret in secret_lines() for line in shown if secret in line]
    left = subprocess.run(["pgrep", "-f", str(copy)], capture_output=True, text=True).stdout.split()
    assert not left
    if cheat == "allocates 20 GB":
        assert tests["euler_step"]["score"] == 0 and "MemoryError" in tests["euler_step"]["output"]
        assert resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss < 2 * 1024**2  # kB: below the 2 GB limit
    if cheat == "prints the reference and floods the output":
        assert "[... output cut" in tests["euler_step"]["output"]
