"""No helper answers a blank: no public function of a student copy gives an exercise's expected answer when called
on its hidden inputs (``copy_probe.py`` calls them all, in an interpreter whose only npflow is the copy)."""
import json
import os
import pathlib
import subprocess
import sys

import npflow
import numpy as np
import pytest

from npflow.teach import exchange
from npflow.teach.cases import CHECKS
from npflow.teach.checks import outcome
from npflow.teach.course import ASSIGNMENTS, exercises_of
from npflow.teach.instructor.copy import write_student_copy
from npflow.teach.instructor.grader import hidden_cases
from npflow.teach.packages import load_package, module, unload
from npflow.teach.sandbox import library_paths
from test_teach import fill, reference_code

PROBE = pathlib.Path(__file__).with_name("copy_probe.py")
SEED = 0
SIZE = "n=4, d=2"  # one size of the hidden cases, every variant: big enough that no value matches by chance


def request(names):
    """{exercise: {"cases", "expected"}}: its hidden cases of ``SIZE`` in its first dtype, the reference's values."""
    table = {}
    for name in names:
        cases = [case for label, case, _ in hidden_cases(name, SEED, npflow)
                 if f"({SIZE}, {CHECKS[name].dtypes[0]}," in label]
        outcomes = [outcome(npflow, CHECKS[name], case) for case in cases]
        kept = [(case, got.value) for case, got in zip(cases, outcomes) if got.error is None]
        assert kept, name
        table[name] = {"cases": [case for case, _ in kept], "expected": [value for _, value in kept]}
    return table


def probe(copy, names, folder):
    """What ``copy_probe.py`` finds in ``copy`` for the exercises ``names``."""
    exchange.save(folder / "request.npz", request(names))
    done = subprocess.run([sys.executable, "-I", "-S", str(PROBE), str(copy), os.pathsep.join(library_paths()),
                           str(folder / "request.npz"), str(folder / "answer.json")],
                          capture_output=True, text=True, timeout=900, cwd=folder)
    printed = (folder / "printed.txt").read_text(errors="replace") if (folder / "printed.txt").exists() else ""
    assert done.returncode == 0, done.stderr[-2000:] + printed[-2000:]
    return json.loads((folder / "answer.json").read_text())


def answering(found):
    """The findings of a function whose value holds the whole answer, one line each."""
    return sorted({f"{f['exercise']}: {f['function']} (the case's arguments {f['arguments']})"
                   for f in found["findings"] if set(f["keys"]) == set(f["answer"])})


@pytest.mark.slow
@pytest.mark.parametrize("number", [assignment.number for assignment in ASSIGNMENTS])
def test_no_public_function_of_a_copy_answers_one_of_its_blanks(tmp_path, number):
    write_student_copy(tmp_path / "copy", [number])  # one assignment: the rest of the package is the reference's
    found = probe(tmp_path / "copy", exercises_of([number]), tmp_path)
    assert found["functions"] > 300 and not found["broken"]
    assert answering(found) == [], found["late"]


@pytest.mark.slow
def test_the_probe_finds_a_helper_planted_in_a_copy(tmp_path):
    number = next(a.number for a in ASSIGNMENTS if "label_dropout" in exercises_of([a.number]))
    write_student_copy(tmp_path / "copy", [number])
    labels = tmp_path / "copy" / "npflow" / "guidance" / "labels.py"
    labels.write_text(labels.read_text() + "\n\ndef keep_some(p_uncond, rng, y):\n"
                      "    return np.where(rng.random(y.shape) < p_uncond, NO_LABEL, y)\n")
    found = probe(tmp_path / "copy", ["label_dropout"], tmp_path)
    assert answering(found) == ["label_dropout: npflow.guidance.labels.keep_some (the case's arguments [1, 2, 0])"]


def test_the_mlps_forward_pass_is_in_no_other_function_of_a_copy_that_blanks_it(tmp_path):
    """average_velocity_jvp runs an MLP forward on [s, t - s, x]: on any inputs with those three columns its u is
    the MLP's output. In a copy that blanks mlp_forward it runs the student's own mlp (and waits for it), and takes
    the derivative by reverse mode: the same values as the reference's forward mode, in the same dtype."""
    rng = np.random.default_rng(0)
    params = [(rng.standard_normal((4, 3)), rng.standard_normal(3)), (rng.standard_normal((3, 2)),
                                                                      rng.standard_normal(2))]
    inputs, dx = rng.standard_normal((5, 4)), rng.standard_normal((5, 2))
    s, t, x = inputs[:, 0], inputs[:, 0] + inputs[:, 1], inputs[:, 2:]
    jvp = npflow.meanflow.average.average_velocity_jvp
    u, _ = jvp(params, s, t, x, 1.0, 0.0, dx, "tanh")
    np.testing.assert_allclose(u, npflow.core.mlp.mlp(params, inputs, "tanh"), rtol=1e-12)
    number = next(a.number for a in ASSIGNMENTS if "mlp_forward" in exercises_of([a.number]))
    write_student_copy(tmp_path / "copy", [number])
    package = load_package(tmp_path / "copy", lazy=True)
    try:
        with pytest.raises(NotImplementedError, match="exercise mlp_forward"):
            module(package, "meanflow/average").average_velocity_jvp(params, s, t, x, 1.0, 0.0, dx, "tanh")
    finally:
        unload(package)
    fill(tmp_path / "copy", "mlp_forward", reference_code("mlp_forward"))
    package = load_package(tmp_path / "copy", lazy=True)
    try:
        for dtype, rtol in (("float64", 1e-12), ("float32", 1e-5)):
            args = [[(W.astype(dtype), b.astype(dtype)) for W, b in params], *(a.astype(dtype) for a in (s, t, x)),
                    1.0, 0.0, dx.astype(dtype), "silu"]
            got = module(package, "meanflow/average").average_velocity_jvp(*args)
            for mine, want in zip(got, jvp(*args)):
                assert mine.dtype == want.dtype == dtype
                np.testing.assert_allclose(mine, want, rtol=rtol, atol=rtol)
    finally:
        unload(package)
