"""The discrete chapter as a registered objective: train, sample, evaluate and plot a run of tokens through
``npflow.train`` and the command line, as any run."""
import re
from dataclasses import replace

import numpy as np
import pytest

import npflow
from npflow.cli import main
from npflow.data.datasets import get_dataset
from npflow.discrete.metrics import histogram, total_variation
from npflow.discrete.posterior import cross_entropy_and_grad, init_posterior, posterior_probs
from npflow.discrete.sampling import STEPS, distinct_rows, sample_tokens, step_probabilities
from npflow.discrete.schedulers import polynomial
from npflow.discrete.velocity import draw_tokens
from npflow.models.discrete import cross_entropy_and_grad_by_hand
from npflow.plumbing.io import load_run
from npflow.runs.config import TrainConfig, recipe

TINY = ["--hidden", "32,32", "--batch-size", "64", "--quiet"]


@pytest.fixture(scope="module")
def grid_run(tmp_path_factory):
    """A tiny run of grid_eight_gaussians from the masked source, trained by the command line."""
    run_dir = tmp_path_factory.mktemp("discrete") / "run"
    assert main(["train", "--objective", "discrete", "--dataset", "grid_eight_gaussians", "--source", "mask",
                 "--steps", "50", "--out", str(run_dir), *TINY]) == 0
    return run_dir


def test_the_gradient_by_hand_is_autograds(rng=np.random.default_rng(0)):
    params = init_posterior(3, 4, 5, [16, 16], rng)
    t, x_t, x_1 = rng.random(9), rng.integers(0, 5, (9, 3)), rng.integers(0, 4, (9, 3))
    for masked_only in (False, True):
        loss, grads = cross_entropy_and_grad(params, t, x_t, x_1, 4, 5, "relu", masked_only)
        by_hand, by_hand_grads = cross_entropy_and_grad_by_hand(params, t, x_t, x_1, 4, 5, "relu", masked_only)
        assert by_hand == pytest.approx(loss, rel=1e-12)
        for (dW, db), (hW, hb) in zip(grads, by_hand_grads):
            np.testing.assert_allclose(hW, dW, rtol=1e-9, atol=1e-12)
            np.testing.assert_allclose(hb, db, rtol=1e-9, atol=1e-12)


def test_distinct_rows_give_back_every_row():
    rng = np.random.default_rng(1)
    x_t = rng.integers(0, 7, (500, 2))
    rows, inverse = distinct_rows(x_t, 7)
    np.testing.assert_array_equal(rows[inverse], x_t)
    assert len(rows) == len(np.unique(x_t, axis=0))
    long = rng.integers(0, 18, (40, 64))  # 18^64 does not fit an int64: the rows themselves are sorted
    rows, inverse = distinct_rows(np.concatenate([long, long]), 18)
    np.testing.assert_array_equal(rows[inverse], np.concatenate([long, long]))


@pytest.mark.parametrize("step", STEPS)
def test_a_step_computed_once_per_distinct_row_draws_the_bits_of_every_row_computed(step):
    params = init_posterior(2, 6, 7, [8], np.random.default_rng(1))
    posterior = lambda t, x: posterior_probs(params, t, x, 6, 7)  # noqa: E731
    x_0 = np.full((300, 2), 6)  # all MASK
    once = sample_tokens(posterior, x_0, 8, polynomial(1.0), np.random.default_rng(2), 7, step, keep=True).x
    rng, x, every = np.random.default_rng(2), x_0, [x_0]
    for t in np.arange(8) / 8:  # the sampler's loop with every row computed
        x = draw_tokens(step_probabilities(posterior(t, x), x, t, 1 / 8, polynomial(1.0), 7, step), rng)
        every.append(x)
    np.testing.assert_array_equal(once, np.stack(every))


def test_sample_writes_integer_tokens_of_shape_n_by_d(grid_run, tmp_path, capsys):
    out = tmp_path / "x.npy"
    assert main(["sample", str(grid_run), "--steps", "8", "--n", "500", "--out", str(out), "--quiet"]) == 0
    x = np.load(out)
    assert x.shape == (500, 2) and x.dtype.kind == "i" and x.min() >= 0 and x.max() <= 31
    assert "500 samples by euler, 8 steps: NFE 8" in capsys.readouterr().out
    again = tmp_path / "y.npy"
    assert main(["sample", str(grid_run), "--steps", "8", "--n", "500", "--out", str(again), "--quiet"]) == 0
    np.testing.assert_array_equal(np.load(again), x)  # same seed, same bits


def test_evaluate_prints_tv_and_kl_beside_their_floor_and_the_exact_laws_closed_form(grid_run, capsys):
    assert main(["evaluate", str(grid_run), "--steps", "8", "--n", "2000", "--quiet"]) == 0
    out = capsys.readouterr().out
    for line in ("the run", "its floor: i.i.d. draws of the table", "the exact posterior, same steps and n",
                 "its exact law (no sampling noise)"):
        assert line in out
    table = get_dataset("grid_eight_gaussians").table
    closed_form = total_variation(table, np.outer(table.sum(axis=1), table.sum(axis=0))) / 8  # masked source, kappa = t
    printed = float(re.search(r"its exact law \(no sampling noise\)\s+([0-9.]+)", out).group(1))
    assert printed == pytest.approx(closed_form, abs=5e-5)
    floor = float(re.search(r"i\.i\.d\. draws of the table\s+([0-9.]+)", out).group(1))
    assert 0.1 < floor < 0.3  # 2,000 draws over ~1,000 cells of mass: far from 0, far from 1


@pytest.mark.parametrize("kind, suffix", [("samples", "png"), ("trajectories", "png"), ("loss", "png"),
                                          ("animation", "gif")])
def test_every_figure_of_a_discrete_run_is_written(grid_run, tmp_path, kind, suffix):
    out = tmp_path / f"{kind}.{suffix}"
    assert main(["plot", str(grid_run), "--kind", kind, "--steps", "4", "--n", "300", "--out", str(out)]) == 0
    assert out.stat().st_size > 1000


@pytest.mark.parametrize("argv, message", [
    (["train", "--source", "mask", "--steps", "1"],
     "source 'mask' is a source of objective 'discrete' only; objective 'cfm' starts from 'gaussian', a dataset "
     "or a file"),
    (["train", "--objective", "discrete", "--dataset", "grid_checkerboard", "--steps", "1"],
     "objective 'discrete' starts from a source of tokens, mask or uniform; got source 'gaussian'"),
    (["train", "--objective", "discrete", "--dataset", "moons", "--source", "mask", "--steps", "1"],
     "dataset 'moons' has none"),
    (["train", "--objective", "discrete", "--source", "uniform", "--masked-only", "--steps", "1"],
     "masked_only averages over the masked tokens: it needs source 'mask'"),
])
def test_bad_recipes_are_one_line_and_exit_2(argv, message, tmp_path, capsys):
    assert main([*argv, "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "run").exists()


def test_a_discrete_run_refuses_an_ode_solver_and_the_figures_of_points(grid_run, tmp_path, capsys):
    assert main(["sample", str(grid_run), "--solver", "rk4", "--out", str(tmp_path / "x.npy")]) == 2
    assert "a discrete run samples by the jumps of its tokens; leave out --solver" in capsys.readouterr().err
    assert main(["evaluate", str(grid_run), "--solver", "euler"]) == 2
    assert "leave out --solver (got 'euler')" in capsys.readouterr().err
    assert main(["plot", str(grid_run), "--kind", "field", "--out", str(tmp_path / "f.png")]) == 2
    assert "it draws --kind samples, trajectories, animation, loss" in capsys.readouterr().err
    with pytest.raises(ValueError, match="no velocity field"):
        load_run(grid_run).velocity(0.5, np.zeros((2, 2)))


def test_training_resumes_to_the_same_bits():
    config = TrainConfig(objective="discrete", dataset="grid_checkerboard", source="uniform", steps=40, hidden=(16,),
                         batch_size=32, options={"scheduler": "t^2", "transition": "exponential"})
    whole = npflow.train(config, stream=None)
    resumed = npflow.train(config, resume=npflow.train(replace(config, steps=15), stream=None), stream=None)
    for (W, b), (W_r, b_r) in zip(whole.params, resumed.params):
        np.testing.assert_array_equal(W_r, W)
        np.testing.assert_array_equal(b_r, b)
    np.testing.assert_array_equal(resumed.losses, whole.losses)


def test_it_learns_the_grid_beyond_the_source(rng=np.random.default_rng(3)):
    config = TrainConfig(objective="discrete", dataset="grid_checkerboard", source="mask", steps=400, hidden=(64, 64),
                         batch_size=128, lr=3e-3, grad="backprop")
    run = npflow.train(config, stream=None)
    x = run.sample(np.full((4000, 2), 32), steps=16, rng=rng).x[-1]
    table = get_dataset("grid_checkerboard").table
    assert table[x[:, 0], x[:, 1]].mean() > 0.9 / 512  # most samples land on the even blocks
    assert total_variation(histogram(x, 32), table) < 0.35  # uniform over the grid would be 0.5


def test_bring_your_own_integer_tokens(tmp_path, capsys):
    data = np.random.default_rng(0).integers(0, 5, (300, 3))
    np.save(tmp_path / "ints.npy", data)
    run_dir = tmp_path / "run"
    assert main(["train", "--objective", "discrete", "--dataset", str(tmp_path / "ints.npy"), "--source", "uniform",
                 "--steps", "20", "--out", str(run_dir), *TINY]) == 0
    assert main(["sample", str(run_dir), "--steps", "4", "--n", "50", "--out", str(tmp_path / "x.npy"),
                 "--quiet"]) == 0
    x = np.load(tmp_path / "x.npy")
    assert x.shape == (50, 3) and x.dtype.kind == "i" and set(np.unique(x)) <= set(range(5))
    assert main(["evaluate", str(run_dir), "--steps", "4", "--n", "200", "--quiet"]) == 0
    assert "TV to 200 draws of the data" in capsys.readouterr().out


def test_digits_as_tokens_sample_as_integer_pixels(tmp_path):
    run_dir = tmp_path / "run"
    assert main(["train", "--objective", "discrete", "--dataset", "digits", "--source", "mask", "--masked-only",
                 "--steps", "5", "--out", str(run_dir), *TINY]) == 0
    assert main(["sample", str(run_dir), "--steps", "4", "--n", "30", "--out", str(tmp_path / "x.npy"),
                 "--quiet"]) == 0
    x = np.load(tmp_path / "x.npy")
    assert x.shape == (30, 64) and x.dtype.kind == "i" and x.min() >= 0 and x.max() <= 16


@pytest.mark.slow
def test_the_discrete_recipe_reaches_the_issues_bar():
    """``recipe("discrete")`` on grid_eight_gaussians, masked: TV <= 0.040 at 64 steps over 100,000 samples."""
    config = recipe("discrete", seed=0)
    run = npflow.train(config, stream=None).astype("float32")
    rng = np.random.default_rng(1)
    x = run.sample(config.source_distribution.sample(100_000, rng), steps=64, rng=rng).x[-1]
    assert total_variation(histogram(x, 32), get_dataset("grid_eight_gaussians").table) <= 0.040


def test_a_non_finite_cross_entropy_stops_training_before_the_weights_change():
    from npflow.core.training import TrainingDiverged
    from npflow.runs.run import start_run

    config = TrainConfig(objective="discrete", dataset="grid_checkerboard", source="mask", steps=3, hidden=(8,))
    run = start_run(config)
    run.params[-1] = (run.params[-1][0], np.full_like(run.params[-1][1], np.inf))  # logits inf - inf: NaN
    with pytest.raises(TrainingDiverged, match="training diverged at step 1: the cross-entropy is not finite"):
        npflow.train(config, resume=run, stream=None)
