"""The closed-form divergence of npflow.core.mlp_divergence against autograd's, and where it is used."""
import numpy as np
import pytest

import npflow
from npflow.core.likelihood import divergence, log_likelihood
from npflow.core.mlp import ACTIVATIONS, init_mlp, layer_sizes, velocity
from npflow.core.mlp_divergence import mlp_divergence
from npflow.runs.scoring import scoring_field
from npflow.cli import main
from npflow.runs.config import TrainConfig
from npflow.runs.run import start_run


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("d", [1, 2, 3])
def test_it_gives_velocity_bit_for_bit_and_autograds_divergence(activation, d):
    rng = np.random.default_rng(d)
    params = init_mlp(layer_sizes(d, [16, 12]), rng)
    x, t = rng.standard_normal((50, d)) * 2, rng.uniform(size=50)
    v, div = mlp_divergence(params, activation)(t, x)
    expected_v, expected_div = divergence(lambda s, y: velocity(params, s, y, activation), t, x)
    assert np.array_equal(v, expected_v)
    np.testing.assert_allclose(div, expected_div, rtol=1e-12, atol=1e-13)


def test_float32_weights_compute_in_float32_from_float64_points():
    rng = np.random.default_rng(0)
    params = init_mlp(layer_sizes(2, [16, 16]), rng)
    x = rng.standard_normal((20, 2))
    v, div = mlp_divergence([(W.astype(np.float32), b.astype(np.float32)) for W, b in params])(0.4, x)
    v_64, div_64 = mlp_divergence(params)(0.4, x)
    assert v.dtype == div.dtype == np.float32
    np.testing.assert_allclose(v, v_64, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(div, div_64, rtol=1e-5, atol=1e-6)


@pytest.fixture(scope="module")
def run():
    return npflow.train(TrainConfig(steps=300, hidden=(32, 32), ema=0.9), stream=None)


def test_a_runs_likelihood_is_the_same_with_the_closed_form(run):
    x = npflow.two_gaussians(64, np.random.default_rng(1))
    field = scoring_field(run)
    assert field.velocity_and_divergence is not None
    np.testing.assert_allclose(log_likelihood(field, x, steps=20), log_likelihood(run.velocity, x, steps=20),
                               rtol=0, atol=1e-12)
    probes = {"method": "hutchinson", "steps": 5}  # the closed form is exact: a Hutchinson estimate ignores it
    assert np.array_equal(log_likelihood(field, x, rng=np.random.default_rng(2), **probes),
                          log_likelihood(run.velocity, x, rng=np.random.default_rng(2), **probes))


def test_the_closed_form_uses_the_moving_average_and_the_asked_dtype(run):
    x = np.random.default_rng(3).standard_normal((8, 2))
    v, _ = scoring_field(run, "float32").velocity_and_divergence(0.5, x)
    assert v.dtype == np.float32
    np.testing.assert_allclose(v, run.velocity(0.5, x), rtol=1e-5, atol=1e-5)
    assert not np.allclose(run.velocity(0.5, x), velocity(run.params, 0.5, x), rtol=1e-3)  # EMA differs


@pytest.mark.parametrize("change", [{"hidden": (16,)}, {"hidden": (8, 8, 8)}, {"conditional": True},
                                    {"predict": "noise"}, {"objective": "meanflow"},
                                    {"network": "resnet", "activation": "silu", "hidden": (16, 16)}])
def test_other_networks_are_scored_by_autograd(change):
    run = start_run(TrainConfig.from_settings(change))
    assert scoring_field(run) == run.velocity


def test_a_stand_in_for_a_run_is_scored_by_its_own_velocity():
    class StandIn:  # a field of its own, under a config that names the tutorial's network
        config = TrainConfig()
        velocity = staticmethod(lambda t, x: 2 * x)

    assert scoring_field(StandIn()) is StandIn.velocity


def test_logprob_scores_in_float32_unless_asked_and_stays_within_rk4s_error(run, tmp_path):
    from npflow.plumbing.io import save_run

    save_run(tmp_path / "run", run)
    np.save(tmp_path / "x.npy", npflow.two_gaussians(200, np.random.default_rng(4)))
    for dtype in ("float32", "float64"):
        assert main(["logprob", str(tmp_path / "run"), "--points", str(tmp_path / "x.npy"), "--dtype", dtype,
                     "--out", str(tmp_path / f"{dtype}.npy")]) == 0
    assert main(["logprob", str(tmp_path / "run"), "--points", str(tmp_path / "x.npy"),
                 "--out", str(tmp_path / "default.npy")]) == 0
    x = np.load(tmp_path / "x.npy")
    log_p = {name: np.load(tmp_path / f"{name}.npy") for name in ("float32", "float64", "default")}
    assert np.array_equal(log_p["default"], log_p["float32"])
    np.testing.assert_allclose(log_p["float64"], log_likelihood(run.velocity, x, steps=100), rtol=0, atol=1e-12)
    rk4_error = np.abs(log_p["float64"] - log_likelihood(run.velocity, x, steps=1000))
    gap = np.abs(log_p["float32"] - log_p["float64"])
    assert 0 < np.median(gap) < 1e-5 and np.median(gap) < np.median(rk4_error) / 100
