import io

import autograd
import numpy as np
import pytest
from autograd.test_util import check_grads

from npflow.core.metrics import energy_distance, mode_fractions, mode_stds
from npflow.core.mlp import init_mlp, layer_sizes, velocity
from npflow.core.optim import Adam
from npflow.core.paths import LinearPath, VPPath
from npflow.core.primitives import mean_squared_error
from npflow.core.sampling import generate, noise
from npflow.core.training import cfm_loss, ema_decay, ema_update, loss_and_grad, training_step
from npflow.data.datasets import TWO_GAUSSIANS, two_gaussians
from npflow.runs.config import TrainConfig
from npflow.runs.loop import train
from npflow.runs.run import start_run


@pytest.mark.parametrize("activation", ["silu", "tanh", "relu"])
def test_loss_gradient_matches_finite_differences(rng, activation):
    params = init_mlp(layer_sizes(2, (6, 5)), rng)
    t, x_t, u_t = rng.random(7), rng.standard_normal((7, 2)), rng.standard_normal((7, 2))
    check_grads(lambda p: cfm_loss(p, t, x_t, u_t, activation), modes=["rev"], order=1)(params)


def test_mean_squared_error_primitive_has_the_derivatives_of_its_formula(rng):
    v_t, u_t = rng.standard_normal((6, 2)), rng.standard_normal((6, 2))
    off_by_3_and_4 = np.tile([3.0, -4.0], (6, 1))  # every row 3 and 4 from its target: the mean square is 25 / 2
    assert mean_squared_error(u_t + off_by_3_and_4, u_t) == pytest.approx(12.5, rel=1e-14)
    check_grads(mean_squared_error, modes=["rev"], order=2)(v_t, u_t)  # both arguments, and its VJP traced again


def test_float32_loss_has_a_float32_backward_pass(rng):
    # autograd's own VJP of np.mean hands back float64 here, and the whole backward pass of a
    # float32 run then ran in float64 (cast back to float32 only at the parameters, so the
    # gradient with respect to x_t, which has no such cast, is the one that shows it)
    params = [(W.astype(np.float32), b.astype(np.float32)) for W, b in init_mlp(layer_sizes(2, (8,)), rng)]
    t, x_t, u_t = (a.astype(np.float32) for a in (rng.random(5), rng.standard_normal((5, 2)), rng.standard_normal((5, 2))))
    loss, grads = loss_and_grad(params, t, x_t, u_t)
    assert np.asarray(loss).dtype == np.float32
    assert {g.dtype for layer in grads for g in layer} == {np.dtype(np.float32)}
    assert autograd.grad(lambda x: cfm_loss(params, t, x, u_t))(x_t).dtype == np.float32


def test_loss_is_the_mean_over_points_and_coordinates(rng):
    params = init_mlp(layer_sizes(2, (4,)), rng)
    t, x_t, u_t = rng.random(5), rng.standard_normal((5, 2)), rng.standard_normal((5, 2))
    residual = velocity(params, t, x_t) - u_t
    assert cfm_loss(params, t, x_t, u_t) == pytest.approx(np.sum(residual**2) / 10)


def test_training_step_is_adam_on_the_loss_gradient(rng):
    params = init_mlp(layer_sizes(2, (8,)), rng)
    path = LinearPath(0.1)
    x_1, t, x_0 = rng.standard_normal((16, 2)), rng.random(16), rng.standard_normal((16, 2))
    new, loss = training_step(params, Adam(lr=0.01), path, x_0, x_1, t)
    x_t, u_t = path.sample(x_0=x_0, x_1=x_1, t=t)
    expected_loss, grads = loss_and_grad(params, t, x_t, u_t)
    expected = Adam(lr=0.01).step(params, grads)
    assert loss == expected_loss
    for (W, b), (W_e, b_e) in zip(new, expected):
        np.testing.assert_array_equal(W, W_e)
        np.testing.assert_array_equal(b, b_e)


def test_callback_and_progress():
    seen, stream = [], io.StringIO()
    result = train(TrainConfig(steps=6, hidden=(4,)), callback=lambda step, loss, params: seen.append((step, loss)),
                   log_every=3, stream=stream)
    assert [step for step, _ in seen] == list(range(6))
    np.testing.assert_array_equal([loss for _, loss in seen], result.losses)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2 and lines[1].startswith("step 6/6  loss ")
    assert "steps/s" in lines[0] and "ETA" in lines[0]


def test_same_seed_same_bits_and_another_seed_differs():
    config = TrainConfig(steps=20, hidden=(8,))
    a, b = train(config, stream=None), train(config, stream=None)
    c = train(TrainConfig(steps=20, hidden=(8,), seed=7), stream=None)
    np.testing.assert_array_equal(a.losses, b.losses)
    for (W_a, _), (W_b, _) in zip(a.params, b.params):
        np.testing.assert_array_equal(W_a, W_b)
    assert not np.array_equal(a.losses, c.losses)


@pytest.mark.parametrize("field, value, message", [
    ("steps", 0, "steps must be a positive integer"),
    ("batch_size", -3, "batch_size must be a positive integer"),
    ("lr", float("inf"), "lr must be a finite positive number"),
    ("lr", 0.0, "lr must be a finite positive number"),
    ("hidden", (128, 0), "hidden must be one or more positive integer widths"),
    ("hidden", (), "hidden must be one or more positive integer widths"),
    ("activation", "gelu", "unknown activation 'gelu'"),
    ("sigma_min", 1.0, "sigma_min must be in"),
    ("dataset", "mnist", "unknown dataset 'mnist'"),
    ("seed", -1, "seed must be a non-negative integer"),
    ("sigma_min", "0.1", "sigma_min must be a number"),
    ("source", "nowhere", "unknown dataset 'nowhere'"),
    ("pairs_file", 3, "pairs_file must be a file name"),
    ("predict", "epsilon", "predict must be one of velocity, noise, data, got 'epsilon'"),
])
def test_config_validation(field, value, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig.from_settings({field: value})


def sample_quality(result, n=4000, seed=0):
    def v(t, x):
        return velocity(result.params, t, x, result.config.activation)

    rng = np.random.default_rng(seed)
    x = generate(v, noise(n, 2, rng), "rk4", steps=100).x[-1]
    return x, energy_distance(x, two_gaussians(n, rng))


@pytest.mark.slow
def test_short_training_fills_both_modes_evenly():
    result = train(TrainConfig(steps=2000), stream=None)
    x, distance = sample_quality(result, n=2000)
    fractions = mode_fractions(x, TWO_GAUSSIANS.means)
    assert np.all(np.abs(fractions - 0.5) < 0.08), fractions
    assert distance < 0.15


@pytest.mark.slow
def test_the_tutorial_recipe_matches_the_target():
    """The tutorial's full recipe (10,000 steps), sampled by RK4 with 100 steps: the issue's bar."""
    x, distance = sample_quality(train(TrainConfig(), stream=None))
    assert distance <= 0.08
    fractions, stds = mode_fractions(x, TWO_GAUSSIANS.means), mode_stds(x, TWO_GAUSSIANS.means)
    assert np.all((0.42 <= fractions) & (fractions <= 0.58)), fractions
    assert np.all((0.9 <= stds) & (stds <= 1.1)), stds


@pytest.mark.slow
def test_field_error_falls_and_logging_changes_no_bit():
    config = TrainConfig(steps=1500)
    logged = train(config, stream=None, field_error_every=500)
    plain = train(config, stream=None)
    np.testing.assert_array_equal(logged.losses, plain.losses)
    assert plain.field_errors.shape == (0, 2)
    steps, errors = logged.field_errors.T
    assert list(steps) == [500, 1000, 1500]
    assert errors[-1] < errors[0] / 3


def test_ctrl_c_stops_between_steps_and_resumes_to_the_same_bits():
    import os
    import signal

    from npflow.runs.loop import TrainingInterrupted

    config = TrainConfig(steps=30, hidden=(8,), batch_size=16)
    handler_before = signal.getsignal(signal.SIGINT)  # Python's default, or SIG_IGN in a process started with &

    def press_ctrl_c(step, loss, params):
        if step == 11:
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(TrainingInterrupted) as interrupt:
        train(config, callback=press_ctrl_c, stream=None)
    assert interrupt.value.run.step == 12  # the step in progress was finished, no more
    resumed = train(config, resume=interrupt.value.run, stream=None)
    straight = train(config, stream=None)
    np.testing.assert_array_equal(resumed.losses, straight.losses)
    for (W, b), (W_s, b_s) in zip(resumed.params, straight.params):
        np.testing.assert_array_equal(W, W_s)
        np.testing.assert_array_equal(b, b_s)
    assert signal.getsignal(signal.SIGINT) is handler_before  # the handler was put back


def test_divergence_names_the_step_and_the_learning_rate():
    from npflow.core.training import TrainingDiverged

    last = []
    with pytest.raises(TrainingDiverged, match=r"diverged at step 2: the loss is (inf|nan), with lr 1e\+100"):
        train(TrainConfig(steps=10, hidden=(8,), lr=1e100), callback=lambda s, l, p: last.append(p), stream=None)
    assert len(last) == 1 and all(np.all(np.isfinite(W)) for W, _ in last[0])


def test_resume_keeps_the_recipe():
    run = train(TrainConfig(steps=3, hidden=(8,)), stream=None)
    with pytest.raises(ValueError, match="only steps may change"):
        train(TrainConfig(steps=6, hidden=(8,), lr=0.1), resume=run, stream=None)
    with pytest.raises(ValueError, match="at least the 3 steps"):
        train(TrainConfig(steps=2, hidden=(8,)), resume=run, stream=None)


def test_cosine_schedule_falls_from_lr_to_0_symmetrically():
    from npflow.core.training import scheduled_lr

    n, lr = 100, 0.01
    rates = np.array([scheduled_lr(TrainConfig(steps=n, lr=lr, lr_schedule="cosine"), k) for k in range(n + 1)])
    assert rates[0] == lr and rates[n // 2] == pytest.approx(lr / 2, rel=1e-14) and abs(rates[n]) < 1e-18
    assert np.all(np.diff(rates) < 0)
    np.testing.assert_allclose(rates + rates[::-1], lr, rtol=1e-13)  # symmetric about (n / 2, lr / 2)
    assert rates[:n].mean() == pytest.approx(lr * (n + 1) / (2 * n), rel=1e-13)  # as sum_{k<n} cos(pi k / n) = 1
    assert scheduled_lr(TrainConfig(steps=n, lr=lr), n - 1) == lr  # the constant schedule


def test_the_moving_average_of_a_constant_closes_its_gap_by_the_product_of_the_decays():
    """With theta_k = c for every k, ema_k - c = (ema_0 - c) * d_1 * ... * d_k."""
    assert [ema_decay(0.9, k) for k in (0, 10, 80, 1000)] == [0.1, 0.55, 0.9, 0.9]  # (1 + k) / (10 + k), then 0.9
    decays = [ema_decay(0.9, k) for k in range(40)]
    ema, constant = [(np.full((2, 3), 5.0), np.full(3, -1.0))], [(np.full((2, 3), 2.0), np.full(3, 3.0))]
    for decay in decays:
        ema = ema_update(ema, constant, decay)
    (W, b), = ema
    np.testing.assert_allclose(W, 2.0 + 3.0 * np.prod(decays), rtol=1e-14)
    np.testing.assert_allclose(b, 3.0 - 4.0 * np.prod(decays), rtol=1e-14)


def test_moving_average_of_the_weights(rng):
    """The run's average is the weighted sum the recursion unrolls to:

    ema_K = (d_0 ... d_{K-1}) theta_init + sum_k (1 - d_k) (d_{k+1} ... d_{K-1}) theta_k,
    with theta_k the weights after step k; the weights sum to 1.
    """
    config = TrainConfig(steps=20, hidden=(8,), ema=0.9)
    seen = []
    run = train(config, callback=lambda step, loss, params: seen.append(params), stream=None)
    decays = np.minimum(0.9, (1 + np.arange(20)) / (10 + np.arange(20)))
    later = np.append(np.cumprod(decays[::-1])[::-1][1:], 1.0)  # d_{k+1} ... d_{K-1}, and 1 for the last k
    weights = np.concatenate([[np.prod(decays)], (1 - decays) * later])  # of theta_init, theta_0, ..., theta_19
    assert weights.sum() == pytest.approx(1.0, rel=1e-14)
    history = [start_run(config).params] + seen
    for i, (W, b) in enumerate(run.ema):
        np.testing.assert_allclose(W, sum(w * params[i][0] for w, params in zip(weights, history)), rtol=1e-12,
                                   atol=1e-15)
        np.testing.assert_allclose(b, sum(w * params[i][1] for w, params in zip(weights, history)), rtol=1e-12,
                                   atol=1e-15)
    x = rng.standard_normal((5, 2))
    np.testing.assert_allclose(run.velocity(0.3, x), velocity(run.ema, 0.3, x), rtol=1e-12)  # it samples with the average
    assert not np.allclose(run.velocity(0.3, x), velocity(run.params, 0.3, x))


def test_resume_with_schedule_and_average_gives_the_same_bits(tmp_path):
    from npflow.plumbing.io import load_run, save_checkpoint, save_run

    config = TrainConfig(steps=30, hidden=(8,), batch_size=16, ema=0.99, lr_schedule="cosine", grad="backprop")
    straight = train(config, stream=None)
    path = tmp_path / "run"
    save_run(path, start_run(config))

    def keep_step_12(run):  # a run that "crashed" after its checkpoint at step 12
        if run.step == 12:
            save_checkpoint(path, run)

    train(config, resume=load_run(path), stream=None, checkpoint=keep_step_12, checkpoint_every=12)
    halfway = load_run(path)
    assert halfway.step == 12
    resumed = train(config, resume=halfway, stream=None)
    np.testing.assert_array_equal(resumed.losses, straight.losses)
    for (W, b), (W_s, b_s) in zip(resumed.ema, straight.ema):
        np.testing.assert_array_equal(W, W_s)
        np.testing.assert_array_equal(b, b_s)


def test_float32_training_follows_float64():
    run_64 = train(TrainConfig(steps=200, hidden=(16, 16)), stream=None)
    run_32 = train(TrainConfig(steps=200, hidden=(16, 16), dtype="float32"), stream=None)
    assert run_32.params[0][0].dtype == np.float32 and run_32.optimizer.m.dtype == np.float32
    np.testing.assert_allclose(run_32.losses, run_64.losses, rtol=1e-3)  # the same draws, in single precision


def test_batches_come_from_the_source_and_the_coupling(tmp_path):
    from npflow.data.datasets import get_dataset
    from npflow.models.batches import batch_sampler

    x_0, x_1, t = batch_sampler(TrainConfig(dataset="moons", source="eight_gaussians"))(64, np.random.default_rng(3))
    rng = np.random.default_rng(3)  # the same draws, by hand, in the documented order
    np.testing.assert_array_equal(t, rng.random(64))
    np.testing.assert_array_equal(x_1, get_dataset("moons").sample(64, rng))
    np.testing.assert_array_equal(x_0, get_dataset("eight_gaussians").sample(64, rng))

    path = str(tmp_path / "pairs.npz")
    np.savez(path, x_0=np.arange(10.0).reshape(5, 2), x_1=-np.arange(10.0).reshape(5, 2))
    x_0, x_1, t = batch_sampler(TrainConfig(coupling="pairs", pairs_file=path))(40, np.random.default_rng(0))
    np.testing.assert_array_equal(x_1, -x_0)  # every x_1 came with its own x_0
    assert t.shape == (40,) and len(np.unique(x_0[:, 0])) == 5


def test_icfm_without_blur_trains_the_same_bits_as_the_linear_path():
    linear = train(TrainConfig(steps=20, hidden=(8,)), stream=None)
    icfm = train(TrainConfig(steps=20, hidden=(8,), path="icfm"), stream=None)
    blurred = train(TrainConfig(steps=20, hidden=(8,), path="icfm", sigma_min=0.1), stream=None)
    np.testing.assert_array_equal(linear.losses, icfm.losses)  # no eps is drawn when sigma is 0
    assert not np.array_equal(linear.losses, blurred.losses)


@pytest.mark.slow
def test_data_to_data_transport_reaches_the_target():
    """A flow from two Gaussians to moons carries fresh source points onto the moons."""
    from npflow.data.datasets import get_dataset

    run = train(TrainConfig(dataset="moons", source="two_gaussians", path="icfm", sigma_min=0.05, steps=2000,
                            batch_size=256, grad="backprop"), stream=None)
    rng = np.random.default_rng(0)
    x_0, target = two_gaussians(1000, rng), get_dataset("moons").sample(1000, rng)
    x_1 = generate(run.velocity, x_0, "rk4", steps=50).x[-1]
    before, after = energy_distance(x_0, target), energy_distance(x_1, target)
    assert after < before / 20, (before, after)


@pytest.mark.parametrize("bad", [[np.nan, 0.0], [np.inf, 0.0], [np.inf, -np.inf]])
def test_a_non_finite_gradient_stops_the_step_before_the_update(rng, bad):
    from npflow.core.training import TrainingDiverged

    params = init_mlp(layer_sizes(2, [4]), rng)
    optimizer = Adam(lr=0.1)

    def gradient(params, t, x_t, u_t, activation):  # a finite loss, with one or two bad entries in its gradient
        grads = [(np.zeros_like(W), np.zeros_like(b)) for W, b in params]
        grads[0][0][0, 0], grads[-1][1][0] = bad
        return 1.0, grads

    x = rng.standard_normal((8, 2))
    with pytest.raises(TrainingDiverged, match="the gradient is not finite"):
        training_step(params, optimizer, LinearPath(), x_0=x, x_1=x, t=rng.random(8), gradient=gradient)
    assert optimizer.step_count == 0


@pytest.mark.parametrize("recipe", [{"path": "icfm", "sigma_min": 0.1}, {"coupling": "pairs"},
                                    {"coupling": "ot", "source": "eight_gaussians"}])
def test_stopped_and_resumed_runs_give_the_same_bits_for_every_coupling_and_path(tmp_path, recipe):
    from dataclasses import replace

    if recipe.get("coupling") == "pairs":
        rng = np.random.default_rng(0)
        recipe = {**recipe, "pairs_file": str(tmp_path / "pairs.npz")}
        np.savez(recipe["pairs_file"], x_0=rng.standard_normal((50, 2)), x_1=rng.standard_normal((50, 2)))
    config = TrainConfig(steps=12, hidden=(8,), batch_size=16, **recipe)
    whole = train(config, stream=None)
    resumed = train(config, resume=train(replace(config, steps=5), stream=None), stream=None)
    np.testing.assert_array_equal(resumed.losses, whole.losses)
    for (W, b), (W_whole, b_whole) in zip(resumed.params, whole.params):
        np.testing.assert_array_equal(W, W_whole)
        np.testing.assert_array_equal(b, b_whole)


def test_the_field_error_is_refused_where_the_exact_field_is_not_the_runs():
    from npflow.runs.field_error import exact_mixture

    assert exact_mixture(TrainConfig()) is not None
    for recipe in ({"coupling": "ot"}, {"path": "vp"}, {"source": "eight_gaussians"}, {"dataset": "moons"},
                   {"predict": "noise"}):
        assert exact_mixture(TrainConfig.from_settings(recipe), required=False) is None
        with pytest.raises(ValueError, match="exact field"):
            train(TrainConfig.from_settings({"steps": 2, "hidden": (4,), **recipe}), field_error_every=1, stream=None)


def test_a_recipe_reads_no_file_and_a_run_checks_its_files_where_it_starts(tmp_path):
    from npflow.runs.config import check_data_files

    config = TrainConfig(dataset=str(tmp_path / "missing.npy"))  # a value: nothing is read yet
    for start in (check_data_files, start_run, lambda c: train(c, stream=None)):
        with pytest.raises(ValueError, match=r"dataset file '.*missing\.npy' does not exist"):
            start(config)
    three_d, pairs = str(tmp_path / "three_d.npy"), str(tmp_path / "pairs.npz")
    np.save(three_d, np.random.default_rng(0).standard_normal((10, 3)))
    np.savez(pairs, x_0=np.zeros((4, 2)), x_1=np.ones((4, 2)))
    with pytest.raises(ValueError, match="the source 'moons' has dimension 2, but the data has dimension 3"):
        start_run(TrainConfig(dataset=three_d, source="moons"))
    with pytest.raises(ValueError, match="have dimension 2, but the data has dimension 3"):
        start_run(TrainConfig(dataset=three_d, coupling="pairs", pairs_file=pairs))
    run = start_run(TrainConfig(dataset=three_d, hidden=(4,)))
    assert run.dim == 3 and run.params[0][0].shape == (4, 4)  # input [t, x] of width 1 + 3


def test_the_tutorial_recipe_is_the_default_and_keeps_its_old_name():
    from npflow.models import RECIPE_ALIASES, RECIPES

    assert TrainConfig.from_settings(RECIPES["tutorial"]) == TrainConfig()
    assert RECIPE_ALIASES == {"seed": "tutorial"} and RECIPES["seed"] == RECIPES["tutorial"]


@pytest.mark.parametrize("changes, message", [
    ({"predict": "noise", "source": "moons"}, r"predict 'noise' needs x_t = alpha_t x_1 \+ sigma_t x_0 with "
                                              r"x_0 ~ N\(0, I\) .* this recipe has source 'moons'"),
    ({"predict": "data", "path": "icfm", "sigma_min": 0.1}, r"this recipe has path 'icfm' with a blur"),
])
def test_a_noise_or_data_prediction_needs_gaussian_noise(changes, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig.from_settings(changes)


@pytest.mark.parametrize("predict", ["noise", "data"])
def test_training_step_regresses_on_the_noise_or_the_data(rng, predict):
    params = init_mlp(layer_sizes(2, (8,)), rng)
    path = VPPath()
    x_0, x_1, t = rng.standard_normal((16, 2)), rng.standard_normal((16, 2)), rng.random(16)
    new, loss = training_step(params, Adam(lr=0.01), path, x_0, x_1, t, predict=predict)
    x_t, _ = path.sample(x_0, x_1, t)
    target = x_0 if predict == "noise" else x_1
    assert loss == pytest.approx(np.mean((velocity(params, t, x_t) - target) ** 2), rel=1e-12)
    expected = Adam(lr=0.01).step(params, loss_and_grad(params, t, x_t, target)[1])
    for (W, b), (W_e, b_e) in zip(new, expected):
        np.testing.assert_array_equal(W, W_e)
        np.testing.assert_array_equal(b, b_e)


def test_a_run_turns_its_noise_prediction_into_the_velocity(rng):
    """From t = MARGIN on, Run.velocity is (2) with x1_hat from (1), written out here; below it, finite."""
    from npflow.core.views import MARGIN

    run = start_run(TrainConfig(path="vp", hidden=(8,), options={"predict": "noise"}))
    path, x = VPPath(), rng.standard_normal((5, 2))
    for t in (MARGIN, 0.5, 1.0):
        x0_hat = velocity(run.params, t, x)
        x1_hat = (x - path.sigma(t) * x0_hat) / path.alpha(t)
        np.testing.assert_allclose(run.velocity(t, x), path.d_alpha(t) * x1_hat + path.d_sigma(t) * x0_hat,
                                   rtol=1e-12, atol=1e-12)
    assert np.all(np.isfinite(run.velocity(0.0, x)))


@pytest.mark.slow
def test_a_noise_predicting_run_on_the_vp_path_reaches_the_target():
    """DDPM's recipe in npflow's terms, short (the fast recipe): both modes filled, by the ancestral step and ODE."""
    from npflow.diffusion.stochastic import ddpm_generate
    from npflow.runs.config import RECIPES

    run = train(TrainConfig.from_settings({**RECIPES["fast"], "path": "vp", "predict": "noise", "steps": 1000}), stream=None)
    rng = np.random.default_rng(0)
    target, x_0 = two_gaussians(2000, rng), noise(2000, 2, rng)
    for x in (ddpm_generate(run.velocity, x_0, run.path, 100, 1.0, rng=rng).x[-1],
              generate(run.velocity, x_0, "rk4", steps=50).x[-1]):
        assert np.all(np.abs(mode_fractions(x, TWO_GAUSSIANS.means) - 0.5) < 0.05)
        assert energy_distance(x, target) < 0.05


@pytest.mark.parametrize("config", [TrainConfig(), TrainConfig(dataset="gmm", steps=500, hidden=(64, 64)),
                                    TrainConfig(options={"conditional": True, "p_uncond": 0.3}, dataset="moons"),
                                    TrainConfig(objective="meanflow", options={"share_equal": 0.75}, lr=3e-3)])
def test_a_recipe_and_a_run_print_on_one_line_as_the_call_that_makes_them(config):
    text = repr(config)
    assert "\n" not in text and len(text) < 200
    assert eval(text, {"TrainConfig": TrainConfig}) == config  # noqa: S307 - our own repr, read back
    run = start_run(config)
    assert repr(run) == f"Run({text}, step 0/{config.steps})"
