"""Property-based tests: identities that must hold for every input hypothesis can think of."""
import os
import tempfile

import numpy as np
import pytest
import scipy.linalg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from npflow.core.optim import Adam, tree_leaves
from npflow.core.paths import LinearPath
from npflow.core.solvers import integrate
from npflow.cli import main
from npflow.plumbing.io import load_run, save_run
from npflow.runs.config import TrainConfig
from npflow.runs.loop import train

finite = st.floats(-10, 10, allow_nan=False)
# derandomize: CI runs the same examples every time, so a red run is reproducible.
SETTINGS = settings(max_examples=40, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(x_1=arrays(float, (6, 3), elements=finite), x_0=arrays(float, (6, 3), elements=finite),
       t=arrays(float, 6, elements=st.floats(0, 0.99)), sigma_min=st.floats(0, 0.95))
def test_path_identities(x_1, x_0, t, sigma_min):
    path = LinearPath(sigma_min)
    x_t, u_t = path.sample(x_0, x_1, t)
    np.testing.assert_allclose(x_t, t[:, None] * x_1 + (1 - (1 - sigma_min) * t[:, None]) * x_0, atol=1e-9)
    np.testing.assert_allclose(u_t, x_1 - (1 - sigma_min) * x_0, atol=1e-9)
    np.testing.assert_allclose(path.velocity_from_x_t(x_t, x_1, t), u_t, atol=1e-6)
    np.testing.assert_array_equal(path.sample(x_0, x_1, np.zeros(6))[0], x_0)


@SETTINGS
@given(A=arrays(float, (3, 3), elements=st.floats(-1, 1)), x_0=arrays(float, (4, 3), elements=finite),
       t_1=st.sampled_from([1.0, -1.0, 0.5]), method=st.sampled_from(["rk4", "RK45", "DOP853"]))
def test_linear_odes_against_the_matrix_exponential(A, x_0, t_1, method):
    """dx/dt = A x for every row x, solved exactly by x(t) = expm(A t) x(0)."""
    trajectory = integrate(lambda t, x: x @ A.T, x_0, 0.0, t_1, method, steps=100, rtol=1e-10, atol=1e-10)
    exact = x_0 @ scipy.linalg.expm(A * t_1).T
    np.testing.assert_allclose(trajectory.x[-1], exact, rtol=1e-6, atol=1e-6 * (1 + np.abs(exact).max()))


# Magnitudes below 1e-100 would underflow when squared (v = g**2), a limit of floats, not of Adam.
gradient_entries = st.one_of(st.just(0.0), st.floats(1e-100, 1e3), st.floats(-1e3, -1e-100))
gradients = st.lists(arrays(float, 5, elements=gradient_entries), min_size=1, max_size=8)


@SETTINGS
@given(grads=gradients, scale=st.floats(1e-3, 1e3))
def test_adam_ignores_the_scale_of_the_gradient(grads, scale):
    """With eps = 0, m_hat / sqrt(v_hat) is unchanged when every gradient is multiplied by c > 0."""
    a, b = Adam(lr=0.1, eps=0.0), Adam(lr=0.1, eps=0.0)
    p_a = p_b = [np.zeros(5)]
    with np.errstate(invalid="ignore", divide="ignore"):  # 0/0 where a coordinate has had only zero gradients
        for g in grads:
            p_a, p_b = a.step(p_a, [g]), b.step(p_b, [scale * g])
    np.testing.assert_allclose(p_a[0], p_b[0], rtol=1e-9, atol=1e-12)


@SETTINGS
@given(grads=gradients)
def test_adam_steps_are_bounded_by_the_learning_rate(grads):
    """|m_hat| <= sqrt(v_hat) (Cauchy-Schwarz over the weighted history), so no step exceeds lr much."""
    opt, params = Adam(lr=0.01), [np.zeros(5)]
    for k, g in enumerate(grads, start=1):
        new = opt.step(params, [g])
        assert np.all(np.abs(new[0] - params[0]) <= 0.01 * (1 - 0.9) / np.sqrt(1 - 0.999) + 1e-12)
        assert opt.step_count == k and np.all(opt.v >= 0)
        params = new


@SETTINGS
@given(grads=st.lists(st.just(np.zeros(5)), min_size=1, max_size=4))
def test_adam_does_not_move_without_gradient(grads):
    params = [np.arange(5.0)]
    opt = Adam()
    for g in grads:
        params = opt.step(params, [g])
    np.testing.assert_array_equal(params[0], np.arange(5.0))


@settings(max_examples=12, deadline=None, derandomize=True)
@given(hidden=st.lists(st.integers(1, 6), min_size=1, max_size=3), steps=st.integers(1, 6),
       activation=st.sampled_from(["relu", "silu", "tanh"]), sigma_min=st.floats(0, 0.5),
       seed=st.integers(0, 2**32), field_error_every=st.integers(0, 3))
def test_load_of_save_is_the_same_run(hidden, steps, activation, sigma_min, seed, field_error_every):
    config = TrainConfig(steps=steps, hidden=tuple(hidden), activation=activation, sigma_min=sigma_min,
                         seed=seed, batch_size=8)
    run = train(config, stream=None, field_error_every=field_error_every)
    with tempfile.TemporaryDirectory() as tmp:
        save_run(os.path.join(tmp, "run"), run)
        loaded = load_run(os.path.join(tmp, "run"))
    assert loaded.config == run.config
    for a, b in zip(tree_leaves(loaded.params) + [loaded.optimizer.m, loaded.optimizer.v, loaded.losses],
                    tree_leaves(run.params) + [run.optimizer.m, run.optimizer.v, run.losses]):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(loaded.field_errors, run.field_errors)
    assert loaded.optimizer.step_count == run.optimizer.step_count
    assert loaded.rng.bit_generator.state == run.rng.bit_generator.state


TOKENS = ["train", "sample", "logprob", "evaluate", "demo", "--steps", "--n", "--lr", "--hidden", "--seed",
          "--sigma-min", "--solver", "--dataset", "--activation", "--rtol", "--method", "--probes", "--points",
          "--resume", "--force", "--json", "-1", "0", "1e100", "nan", "inf", "-inf", "3,0", ",", "rk4", "RK45",
          "gelu", "1.5", "", " ", "--", "-", "x" * 300, "é", "\x00", "RUN", "OUT"]


@pytest.fixture(scope="module")
def fuzz_run(tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz") / "run"
    assert main(["train", "--steps", "2", "--hidden", "4", "--quiet", "--out", str(path)]) == 0
    return path


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(argv=st.lists(st.one_of(st.sampled_from(TOKENS), st.text(max_size=12)), max_size=8))
def test_cli_fuzzing_never_shows_a_traceback(fuzz_run, tmp_path, monkeypatch, capsys, argv):
    monkeypatch.chdir(tmp_path)  # whatever a command writes by default lands here
    argv = [str(fuzz_run) if a == "RUN" else str(tmp_path / "out") if a == "OUT" else a for a in argv]
    # Keep any command that parses from doing long work: tiny steps and samples.
    if argv[:1] in (["train"], ["demo"]):
        argv += ["--steps", "2", "--hidden", "4"] if argv[0] == "train" else ["--steps", "2", "--n", "5"]
    try:
        status = main(argv)
    except SystemExit as exit_:  # argparse: --help, --version and usage errors
        status = exit_.code
    assert status in (0, 1, 2)
    assert "Traceback" not in capsys.readouterr().err
