"""A new chapter is a registry entry: a toy objective, written here alone, trains through ``npflow.train`` and
samples through the same samplers, and no file of npflow changes for it."""
from dataclasses import dataclass, replace

import matplotlib.pyplot as plt
import numpy as np
import pytest

import npflow
from npflow.cli import main
from npflow.core.mlp import init_mlp, layer_sizes, velocity
from npflow.core.training import TrainingDiverged, loss_and_grad, scheduled_lr
from npflow.data.digits import load_digits
from npflow.models import OBJECTIVES, Objective, objective_named, register, register_recipe
from npflow.models.batches import batch_sampler
from npflow.plumbing.chunks import source_draws
from npflow.plumbing.displays import DISPLAYS, Display
from npflow.plumbing.evaluate_images import sample_quality
from npflow.plumbing.io import load_run, save_run
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
    with pytest.raises(ValueError, match=f"objective must be one of {', '.join(OBJECTIVES)}, got 'diffusion'"):
        TrainConfig(objective="diffusion")
    with pytest.raises(ValueError, match="network must be one of mlp, resnet, got 'unet'"):
        TrainConfig(network="unet")


def test_every_registered_objective_starts_a_run_of_its_own_widths():
    for name, objective in OBJECTIVES.items():
        own = {"source": objective.sources[0], "dataset": "digits"} if objective.sources else {}  # tokens, if its own
        config = TrainConfig(objective=name, steps=1, hidden=(8,), **own)
        run = start_run(config)
        widths = [W.shape[0] for W, _ in run.params] + [run.params[-1][0].shape[1]]
        assert widths == objective.sizes(config), name


# --- the hooks of an objective whose samples are tokens: its own step, source, sampler and display --------------

@dataclass(frozen=True)
class NoOptions:
    """The token toy has no setting of its own."""


def _token_shape(config):
    dataset = npflow.get_dataset(config.dataset)
    return dataset.dim, dataset.vocabulary


def _token_probs(params, D, V):
    """softmax of the toy's logits b, one distribution per token: shape (D, V)."""
    logits = params[-1][1].reshape(D, V)
    return np.exp(logits - logits.max(axis=1, keepdims=True)) / np.exp(logits - logits.max(axis=1, keepdims=True)).sum(
        axis=1, keepdims=True)


LRS = []


def _token_step(config):
    """Independent tokens: L = -mean log p_i(x_1^i) with p_i = softmax(b_i); dL/db_i = (p_i - histogram_i) / D."""
    D, V = _token_shape(config)
    tokens = npflow.get_dataset(config.dataset).tokens

    def step(params, optimizer, rng):
        LRS.append(optimizer.lr)
        x_1 = tokens(config.batch_size, rng)  # (n, D)
        p = _token_probs(params, D, V)  # (D, V)
        loss = -np.log(p[np.arange(D), x_1]).mean()
        histogram = (x_1[:, :, None] == np.arange(V)).mean(axis=0)  # (D, V)
        grads = [(np.zeros_like(params[0][0]), ((p - histogram) / D).ravel())]
        return optimizer.step(params, grads), float(loss)

    return step


def _token_sample(run, x_0, solver, steps, rng):
    """Each token drawn from its softmax, by one uniform each from ``rng``: a Trajectory of x_0 and the tokens."""
    D, V = _token_shape(run.config)
    cumulative = np.cumsum(_token_probs(run.params, D, V), axis=1)  # (D, V)
    u = rng.random(x_0.shape)  # (n, D)
    x_1 = np.minimum((u[:, :, None] > cumulative).sum(axis=2), V - 1)
    return npflow.Trajectory(np.array([0.0, 1.0]), np.stack([x_0, x_1]), 1, "toy draw")


def _no_field(config, params):
    raise ValueError("objective 'toy_tokens' has no field")


def _check_tokens(config):
    if config.source != "ones":
        raise ValueError("objective 'toy_tokens' starts from its source 'ones'")


TOKENS = Objective(
    name="toy_tokens", summary="independent tokens (a test's own)", options=NoOptions, check=_check_tokens,
    sizes=lambda config: [1, int(np.prod(_token_shape(config)))],
    init=lambda config, rng: [(np.zeros((1, int(np.prod(_token_shape(config))))),
                               np.zeros(int(np.prod(_token_shape(config)))))],
    batches=_no_field, gradients=_no_field, output=_no_field, velocity=_no_field,
    predict=lambda config: "data", labelled=lambda config: False, sample=_token_sample, solver="toy", likelihood=False,
    train_step=_token_step, sources=("ones",), draw_source=lambda config, n, rng: np.ones((n, config.dim), np.int64),
    dim=lambda config, params: config.dim)


@pytest.fixture
def toy_tokens(monkeypatch, tmp_path):
    """The token toy registered for one test, and a file of integer tokens (V = 4, D = 2) to learn."""
    monkeypatch.setitem(OBJECTIVES, "toy_tokens", None)
    del OBJECTIVES["toy_tokens"]
    LRS.clear()
    register(TOKENS)
    x = np.random.default_rng(0).choice(4, size=(500, 2), p=[0.1, 0.2, 0.3, 0.4])  # int64 (500, 2)
    np.save(tmp_path / "tokens.npy", x)
    return str(tmp_path / "tokens.npy"), x


def test_an_objective_with_its_own_step_trains_in_the_loops_frame_and_resumes_to_the_same_bits(toy_tokens):
    data, x = toy_tokens
    config = TrainConfig(objective="toy_tokens", dataset=data, source="ones", steps=300, lr=0.05,
                         lr_schedule="cosine", batch_size=64)
    run = npflow.train(config, stream=None)
    assert LRS == [scheduled_lr(config, step) for step in range(300)]  # the loop set the schedule's lr each step
    histogram = (x[:, :, None] == np.arange(4)).mean(axis=0)
    np.testing.assert_allclose(_token_probs(run.params, 2, 4), histogram, atol=0.05)  # it learned the marginals
    constant = replace(config, lr_schedule="constant")  # whose lr does not depend on the steps aimed at
    whole = npflow.train(constant, stream=None)
    resumed = npflow.train(constant, resume=npflow.train(replace(constant, steps=120), stream=None), stream=None)
    np.testing.assert_array_equal(resumed.params[0][1], whole.params[0][1])
    np.testing.assert_array_equal(resumed.losses, whole.losses)


def test_a_divergence_in_an_objectives_own_step_is_named_by_the_loop(toy_tokens, monkeypatch):

    def diverging(config):
        def step(params, optimizer, rng):
            if len(LRS) == 2:
                raise TrainingDiverged("the loss is nan")
            LRS.append(optimizer.lr)
            return params, 1.0
        return step

    monkeypatch.setitem(OBJECTIVES, "toy_tokens", replace(TOKENS, train_step=diverging))
    with pytest.raises(TrainingDiverged, match=r"training diverged at step 3: the loss is nan, with lr 0\.001"):
        npflow.train(TrainConfig(objective="toy_tokens", dataset=toy_tokens[0], source="ones", steps=5), stream=None)


def test_an_objectives_own_source_is_accepted_for_it_alone_and_drawn_by_it(toy_tokens):

    config = TrainConfig(objective="toy_tokens", dataset=toy_tokens[0], source="ones", steps=1)
    x_0 = config.source_distribution.sample(3, np.random.default_rng(0))
    np.testing.assert_array_equal(x_0, np.ones((3, 2), np.int64))
    run = npflow.train(config, stream=None)
    cast, x_0 = source_draws(run, 3, np.random.default_rng(0), "float32")
    assert x_0.dtype == np.int64 and cast.params[0][1].dtype == np.float32  # tokens stay tokens; weights are cast
    with pytest.raises(ValueError, match="source 'ones' is a source of objective 'toy_tokens' only; objective 'cfm'"):
        TrainConfig(source="ones")  # the cfm objective has no such source
    with pytest.raises(ValueError, match="starts from its source 'ones'"):
        TrainConfig(objective="toy_tokens", dataset=toy_tokens[0])


def test_an_objectives_own_sampler_gets_the_run_and_the_generator(toy_tokens):
    run = npflow.train(TrainConfig(objective="toy_tokens", dataset=toy_tokens[0], source="ones", steps=50, lr=0.05),
                       stream=None)
    assert run.dim == 2  # the objective's dim: the network's output is D V = 8 wide
    x_0 = np.ones((1000, 2), np.int64)
    first = run.sample(x_0, rng=np.random.default_rng(5)).x[-1]
    again = _token_sample(run, x_0, None, 1, np.random.default_rng(5)).x[-1]
    np.testing.assert_array_equal(first, again)
    assert first.dtype.kind == "i" and set(np.unique(first)) <= {0, 1, 2, 3}


def test_datasets_of_whole_numbers_are_tokens_too(tmp_path):

    digits = npflow.get_dataset("digits")
    tokens = digits.tokens(50, np.random.default_rng(0))
    assert digits.vocabulary == 17 and tokens.shape == (50, 64) and tokens.dtype == np.int64
    train = load_digits("train").pixels
    assert all((train == row).all(axis=1).any() for row in tokens)  # whole images of the train split
    np.save(tmp_path / "ints.npy", np.array([[0, 5], [2, 1]]))
    np.save(tmp_path / "floats.npy", np.array([[0.0, 5.0], [2.0, 1.5]]))
    ints = npflow.get_dataset(str(tmp_path / "ints.npy"))
    assert ints.vocabulary == 6 and ints.tokens(4, np.random.default_rng(0)).dtype == np.int64
    floats = npflow.get_dataset(str(tmp_path / "floats.npy"))
    assert floats.vocabulary == 0 and floats.tokens is None
    assert npflow.get_dataset("moons").vocabulary == 0


@pytest.fixture
def toy_display(toy_tokens, monkeypatch):
    """A display of the token toy: a report of its marginals' gap, and one figure kind."""


    def report(run, args, rng):
        D, V = _token_shape(run.config)
        x = run.sample(np.ones((args.n, D), np.int64), rng=rng).x[-1]
        return {"share_of_threes": float((x == 3).mean()), "share_of_threes_stderr": 0.0}

    figures = {"toy_hist": lambda run, args, out: plt.figure(), "loss": lambda run, args, out: plt.figure()}
    monkeypatch.setitem(DISPLAYS, "toy_tokens", Display("toy_tokens", report, lambda r: f"threes {r['share_of_threes']:.3f}",
                                                        figures))
    return toy_tokens


def test_a_registered_display_reports_and_draws_a_run_of_its_objective(toy_display, tmp_path, capsys):

    config = TrainConfig(objective="toy_tokens", dataset=toy_display[0], source="ones", steps=200, lr=0.05)
    save_run(tmp_path / "run", npflow.train(config, stream=None))
    assert main(["evaluate", str(tmp_path / "run"), "--n", "4000"]) == 0
    share = float(capsys.readouterr().out.split()[-1])
    assert abs(share - 0.4) < 0.05
    assert main(["plot", str(tmp_path / "run"), "--kind", "toy_hist", "--out", str(tmp_path / "h.png")]) == 0
    assert (tmp_path / "h.png").exists()
    assert main(["plot", str(tmp_path / "run"), "--kind", "field", "--out", str(tmp_path / "f.png")]) == 2
    assert "--kind field is not drawn for a run of objective 'toy_tokens'; it draws --kind toy_hist, loss" in \
        capsys.readouterr().err
    np.save(tmp_path / "p.npy", np.ones((3, 2)))
    assert main(["logprob", str(tmp_path / "run"), "--points", str(tmp_path / "p.npy"), "--out",
                 str(tmp_path / "l.npy")]) == 2
    assert "the likelihood is not computed for a run of objective 'toy_tokens': its samples are the jumps of its own " \
        "sampler" in capsys.readouterr().err
    save_run(tmp_path / "points", npflow.train(TrainConfig(steps=2, hidden=(8,)), stream=None))
    assert main(["plot", str(tmp_path / "points"), "--kind", "toy_hist", "--out", str(tmp_path / "p.png")]) == 2
    assert "--kind toy_hist is drawn for a run of objective 'toy_tokens', and this run's objective is 'cfm'" in \
        capsys.readouterr().err


def test_sample_saves_an_objectives_integer_tokens_as_they_are(toy_tokens, monkeypatch, tmp_path):

    monkeypatch.setitem(OBJECTIVES, "toy_tokens", replace(TOKENS, check=lambda config: None))
    run = npflow.train(TrainConfig(objective="toy_tokens", dataset="digits", source="ones", steps=3), stream=None)
    save_run(tmp_path / "run", run)
    assert main(["sample", str(tmp_path / "run"), "--n", "70", "--out", str(tmp_path / "x.npy"), "--quiet"]) == 0
    x = np.load(tmp_path / "x.npy")
    assert x.shape == (70, 64) and x.dtype == np.int64 and x.min() >= 0 and x.max() <= 16  # not sent to_pixels


def test_the_image_figures_of_any_sampler_put_the_test_split_at_no_distance_and_no_copying():
    test = load_digits("test").pixels
    report = sample_quality(test, np.random.default_rng(0))
    assert abs(report["frechet_distance"]) < 1e-6 and report["memorization_ratio"] == 1.0
    assert report["frechet_floor"] > 0.01  # the train split is another sample: its own distance
    copies = sample_quality(load_digits("train").pixels[:300], np.random.default_rng(0))
    assert copies["memorization_ratio"] == 0.0  # training images are at distance 0 from themselves
