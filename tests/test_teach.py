import io
import re

import numpy as np
import pytest

from npflow.teach import EXERCISES, grade, load_package, main, strip_exercises, write_student_copy


@pytest.fixture(scope="module")
def student_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("class") / "alice"
    assert sorted(write_student_copy(path)) == sorted(EXERCISES)
    return path


def test_the_reference_passes_every_exercise():
    out = io.StringIO()
    assert grade(stream=out) == {name: None for name in EXERCISES}
    assert out.getvalue().splitlines()[-1] == f"score: {len(EXERCISES)}/{len(EXERCISES)}"


def test_the_student_copy_fails_every_exercise_with_not_implemented(student_dir):
    results = grade(load_package(student_dir), stream=io.StringIO())
    assert all(failure.startswith("not implemented yet (exercise ") for failure in results.values())
    assert main(["grade", str(student_dir)]) == 1


def test_the_rest_of_the_student_copy_runs(student_dir):
    pkg = load_package(student_dir)
    gmm = pkg.GaussianMixture([[0.0, 0.0]], std=1.0)
    x = gmm.sample(5, np.random.default_rng(0))
    euler = pkg.integrate(lambda t, y: -y, x, 0.0, 1.0, "euler", steps=4)  # euler is not an exercise
    np.testing.assert_allclose(euler.x[-1], x * 0.75**4)


def test_stripping_keeps_indentation_and_the_hint():
    source = "def f(x):\n    # >>> exercise double: return twice x\n    return 2 * x\n    # <<< exercise\n"
    text, names = strip_exercises(source)
    assert names == ["double"]
    assert text == "def f(x):\n    raise NotImplementedError('exercise double: return twice x')\n"


def solve(student_dir, module, exercise, code):
    """Fill one exercise of a student copy with ``code`` (indented like the stub)."""
    path = student_dir / "npflow" / f"{module}.py"
    text = path.read_text()
    stub = re.search(rf"^( *)raise NotImplementedError\('exercise {exercise}:.*$", text, re.MULTILINE)
    indent = stub.group(1)
    path.write_text(text.replace(stub.group(0), "\n".join(indent + line for line in code.splitlines())))


def test_messages_say_what_went_wrong(tmp_path):
    path = tmp_path / "bob"
    write_student_copy(path)
    solve(path, "paths", "path", "x_t = (t[:, None] * x_1 + (1 - 0.9 * t[:, None]) * x_0).T\n"
                                 "return x_t, x_1 - (1 - self.sigma_min) * x_0")
    solve(path, "solvers", "rk4_step", "k1 = f(t, x)\nk2 = f(t + h / 2, x + h / 2 * k1)\n"
                                       "k3 = f(t + h / 2, x + h / 2 * k1)\nk4 = f(t + h, x + h * k3)\n"
                                       "return k1, k2, k3, k4")
    solve(path, "mlp", "mlp_forward", "h = inputs\nfor W, b in params:\n    h = ACTIVATIONS[activation](h @ W + b)\n"
                                      "return h")  # an activation on the output layer too
    results = grade(load_package(path), stream=io.StringIO())
    assert results["path"] == "x_t: expected shape (8, 2), got (2, 8) (transposed?)"
    assert re.fullmatch(r"mlp output: first differs at index \(\d, \d\): expected -?[\d.]+, got 0 \(\d+ of 16 .*",
                        results["mlp_forward"]), results["mlp_forward"]
    assert "halving h should divide the error by 2^4" in results["rk4_step"]  # k3 built from k1: order 2


def test_a_student_copy_is_not_written_over(student_dir, capsys):
    assert main(["student", str(student_dir)]) == 2
    assert "already exists" in capsys.readouterr().err


def test_a_path_that_returns_early_loses_the_icfm_blur_and_is_told(tmp_path):
    path = tmp_path / "eve"
    write_student_copy(path)
    solve(path, "paths", "path", "t = np.reshape(t, (-1, 1))\n"
                                 "return self.alpha(t) * x_1 + self.sigma(t) * x_0, "
                                 "self.d_alpha(t) * x_1 + self.d_sigma(t) * x_0")
    results = grade(load_package(path), stream=io.StringIO())
    assert results["path"].startswith("icfm x_t (with its blur 0.5 z): first differs"), results["path"]
