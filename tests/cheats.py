"""Cheats a student might try (issue 30's 1 to 7), each planted in ``euler_step`` of a blank copy of assignment 3,
and what grading must hold against each: shared by ``test_grading_cheats.py`` (a teacher grading locally) and
``test_autograder.py`` (the Gradescope autograder's ``run_autograder``).

The honest copy has ``midpoint_step`` right and the rest of assignment 3 blank: 1 point of 5.
"""
import json
import os
import pathlib
import resource
import subprocess
import time

from npflow.teach.instructor.banks import secret_lines
from npflow.teach.instructor.copy import write_student_copy
from npflow.teach.markers import normalise
from test_teach import fill, reference_code

HONEST = 1  # midpoint_step written right, the rest of assignment 3 blank
NAMES = ("patches the checker", "forges the result channel", "imports the reference",
         "rewrites the results after grading", "prints the reference and floods the output", "edits handed_out.json",
         "allocates 20 GB")


def cheats(results, printed):
    """{name: the code of ``euler_step``}; ``results`` is the file a late process rewrites, ``printed`` the files
    the output cheat prints (whatever secret the grading machine holds)."""
    prints = "".join(f"print(open({str(path)!r}, errors='replace').read())\n" for path in printed)
    return {
        "patches the checker": (
            "import numpy, npflow.teach.checks as checks\n"
            "numpy.isclose = lambda a, b, **k: numpy.ones(numpy.broadcast(a, b).shape, bool)\n"
            "checks.compare = lambda expected, got: None\nreturn x"),
        "forges the result channel": (
            "import sys, numpy\nfrom npflow.teach import exchange\n"
            "exchange.save(sys.argv[-1], {'exercise': 'euler_step', 'outcomes': [], 'unfinished': None, "
            "'passed': True})\nimport os\nos._exit(0)"),
        "imports the reference": (
            "import sys, npflow\n"
            "ref = [m for name, m in sys.modules.items() if 'graded' in name or 'instructor' in name]\n"
            "return ref[0].core.solvers.euler_step(f, t, x, h) if ref else npflow.core.solvers.euler_step(f, t, x, h)"),
        "rewrites the results after grading": (
            "import os, time\nif not hasattr(os, 'forked') and os.fork() == 0:\n    os.setsid()\n"
            "    if os.fork() == 0:\n"
            f"        open({str(results) + '.pid'!r}, 'w').write(str(os.getpid()))\n"
            f"        time.sleep(5)\n        open({str(results)!r}, 'w').write('{{\"score\": 38}}')\n"
            f"        open({str(results) + '.alive'!r}, 'w').write('!')\n    os._exit(0)\nos.forked = True\nreturn x"),
        "prints the reference and floods the output": (
            f"import os\n{prints}"
            "os.write(1, b'x' * 3_000_000)\nos.write(2, b'y' * 3_000_000)\nprint('z' * 5_000_000)\nreturn x"),
        "edits handed_out.json": "return x + h * f(t, x)",
        "allocates 20 GB": "import numpy\nbomb = numpy.ones(20 * 1024**3 // 8)\nreturn x + h * f(t, x)",
    }


def plant(copy, cheat, code):
    """Write a blank copy of assignment 3 to ``copy`` with ``midpoint_step`` right and ``code`` as ``euler_step``."""
    write_student_copy(copy, [3])
    fill(copy, "midpoint_step", reference_code("midpoint_step"))
    fill(copy, "euler_step", code)
    if cheat == "edits handed_out.json":
        (copy / "npflow" / "teach" / "handed_out.json").write_text(json.dumps({"assignments": [3],
                                                                                "exercises": ["euler_step"]}))


def _alive(pid):
    """Whether process ``pid`` runs (a zombie does not)."""
    try:
        with open(f"/proc/{pid}/stat") as file:
            return file.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def by_exercise(table):
    """{exercise: its test} of a Gradescope results table."""
    return {test["name"].split(": ")[1].split(" ")[0]: test for test in table["tests"]}


def check_graded(cheat, results, stdout, copy):
    """Assert what grading holds against ``cheat``: no more than the honest score, grading went on, nothing rewrote
    ``results`` 3 s later or lives on, output under 1 MB with no line of the reference or the catalogue."""
    written = pathlib.Path(results).read_bytes()
    table = json.loads(written)
    assert table["score"] <= HONEST + (cheat == "edits handed_out.json") and table["max_score"] == 5
    tests = by_exercise(table)
    assert tests["midpoint_step"]["score"] == 1  # grading went on past the cheat
    time.sleep(3)
    assert pathlib.Path(results).read_bytes() == written and not pathlib.Path(f"{results}.alive").exists()
    pid = pathlib.Path(f"{results}.pid")
    if pid.exists() and pid.read_text():  # the process that meant to rewrite them, if it got that far
        assert not _alive(int(pid.read_text()))
    assert len(written) < 2**20 and len(stdout) < 2**20
    shown = [normalise(line) for test in table["tests"] for line in test["output"].splitlines()]
    shown += [normalise(line) for line in table["output"].splitlines()]
    assert not [secret for secret in secret_lines() for line in shown if secret in line]
    left = subprocess.run(["pgrep", "-f", str(copy)], capture_output=True, text=True).stdout.split()
    assert not [pid for pid in left if int(pid) != os.getpid()]
    if cheat == "allocates 20 GB":
        assert tests["euler_step"]["score"] == 0 and "MemoryError" in tests["euler_step"]["output"]
        assert resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss < 2 * 1024**2  # kB: below the 2 GB limit
    if cheat == "prints the reference and floods the output":
        assert "[... output cut" in tests["euler_step"]["output"]
    return table
