"""A new chapter is a registry entry: a toy objective, written here alone, trains through ``npflow.train`` and
samples through the same samplers, and no file of npflow changes for it."""
from dataclasses import dataclass

import numpy as np
import pytest

import npflow
from npflow.core.mlp import init_mlp, layer_sizes, velocity
from npflow.core.training import loss_and_grad
from npflow.models import OBJECTIVES, Objective, objective_named, register, register_recipe
from npflow.models.batches import batch_sampler
from npflow.runs.config import TrainConfig
from npflow.runs.run import start_run


@dataclass(frozen=True)
class XOptions:
    """The toy's one setting: how close to t = 1 its velocity may divide by 1 - t."""

    floor: float = 1e-3


def x_prediction_velocity(x1_hat, t, x, floor):
    """On the linear path x_t = t x_1 + (1 - t) x_0, u_t = x_1 - x_0 = (x_1 - x_t) / (1 - t)."""
    return (x1_hat - x) / np.maximum(1.0 - np.reshape(t, (-1, 1)), floor)


def _toy_velocity(config, params):
    return lambda t, x: x_prediction_velocity(velocity(params, t, x, config.activation), t, x, config.options.floor)


def _check_linear(config):
    if config.path != "linear" or config.sigma_min != 0.0 or config.source != "gaussian":
        raise ValueError("objective 'toy_x' learns x_1 on the linear path from N(0, I), with sigma_min 0")


CALLS = []


def _counted_gradient(params, t, x_t, target, activation):
    CALLS.append(len(t))
    return loss_and_grad(params, t, x_t, target, activation)


TOY = Objective(
    name="toy_x", summary="x-prediction on the linear path (a test's own)", options=XOptions, check=_check_linear,
    sizes=lambda config: layer_sizes(config.dim, config.hidden),
    init=lambda config, rng: init_mlp(layer_sizes(config.dim, config.hidden), rng),
    batches=batch_sampler, gradients=lambda config: lambda t, rng: (t, _counted_gradient),
    output=lambda config, params: lambda t, x: velocity(params, t, x, config.activation),
    velocity=_toy_velocity, predict=lambda config: "data", labelled=lambda config: False)


@pytest.fixture
def toy(monkeypatch):
    """The toy registered for one test, and gone after it."""
    monkeypatch.setitem(OBJECTIVES, "toy_x", None)  # so that monkeypatch puts the registry back as it was
    del OBJECTIVES["toy_x"]
    CALLS.clear()
    return register(TOY)


def test_a_toy_objective_trains_through_train_and_samples_through_the_same_samplers(toy):
    config = TrainConfig(objective="toy_x", steps=50, hidden=(32, 32), lr=3e-3, seed=1)
    run = npflow.train(config, stream=None)
    assert CALLS == [config.batch_size] * 50  # every step took the toy's gradient, on its batch
    assert run.step == 50 and np.isfinite(run.losses).all()
    assert run.losses[-10:].mean() < run.losses[:10].mean()  # it learns

    x_0 = np.random.default_rng(2).standard_normal((200, 2))
    t = np.full(200, 0.3)
    expected = x_prediction_velocity(velocity(run.params, t, x_0, "relu"), t, x_0, 1e-3)
    np.testing.assert_array_equal(run.velocity(t, x_0), expected)  # the entry's field, not a built-in one
    for solver in ("rk4", "euler", "RK45"):
        assert np.isfinite(run.sample(x_0, solver, steps=20).x[-1]).all()
    stochastic = run.sample(x_0, "euler-maruyama", steps=20, rng=np.random.default_rng(3))
    assert np.isfinite(stochastic.x[-1]).all()


def test_a_toy_objective_keeps_its_options_and_checks_its_recipe(toy):
    config = TrainConfig(objective="toy_x", options={"floor": 0.01})
    assert config.options == XOptions(0.01) and config.to_dict()["floor"] == 0.01
    assert TrainConfig.from_settings(config.to_dict()) == config
    with pytest.raises(ValueError, match="objective 'toy_x' has no setting 'predict'"):
        TrainConfig(objective="toy_x", options={"predict": "noise"})
    with pytest.raises(ValueError, match="objective 'toy_x' learns x_1 on the linear path"):
        TrainConfig(objective="toy_x", path="vp")


def test_a_toy_run_saves_and_loads_as_any_run(toy, tmp_path):
    from npflow.plumbing.io import load_run, save_run

    run = npflow.train(TrainConfig(objective="toy_x", steps=3, hidden=(8,)), stream=None)
    save_run(tmp_path / "toy", run)
    loaded = load_run(tmp_path / "toy")
    assert loaded.config == run.config
    x = np.zeros((3, 2))
    np.testing.assert_array_equal(loaded.velocity(0.5, x), run.velocity(0.5, x))


def test_an_entry_never_replaces_another():
    with pytest.raises(ValueError, match="objective 'cfm' is registered already"):
        register(objective_named("cfm"))
    with pytest.raises(ValueError, match="recipe 'fast' is registered already"):
        register_recipe("fast", {})


def test_an_unknown_objective_is_one_line_naming_the_registered_ones():
    with pytest.raises(ValueError, match="objective must be one of cfm, meanflow, got 'diffusion'"):
        TrainConfig(objective="diffusion")
    with pytest.raises(ValueError, match="network must be one of mlp, resnet, got 'unet'"):
        TrainConfig(network="unet")


def test_every_registered_objective_starts_a_run_of_its_own_widths():
    for name, objective in OBJECTIVES.items():
        config = TrainConfig(objective=name, steps=1, hidden=(8,))
        run = start_run(config)
        widths = [W.shape[0] for W, _ in run.params] + [run.params[-1][0].shape[1]]
        assert widths == objective.sizes(config), name
