"""Runs saved by the version before the restructuring still load, sample and resume the same.

The fixtures in ``tests/fixtures/runs_v1`` were written by that version's ``npflow train``, and
each ``NAME.old.npz`` beside a run holds what that version computed from it: the network's output
and the run's samples from a fixed draw, a conditional run's guided samples, and the losses and
the network's output after resuming it for five more steps (``tests/fixtures/runs_v1/README.md``
says how). The new code must agree.

One change is on purpose: a run that predicts the noise holds its data prediction below t =
``npflow.core.views.MARGIN``, which was ``OLD_MARGIN`` then. Its network's output is the old one;
its samples are the old ones when it is read with the old margin.
"""
import dataclasses
import json
import pathlib

import numpy as np
import pytest

import npflow
from npflow.core.sampling import generate
from npflow.core.views import velocity_from_prediction
from npflow.models import OBJECTIVES, option_names
from npflow.runs.config import recipe

FIXTURES = pathlib.Path(__file__).parent / "fixtures" / "runs_v1"
MORE_STEPS = 5  # how far the old code resumed each run
OLD_MARGIN = 0.1  # npflow.views.MARGIN in the old code: where a noise prediction started to hold its data prediction

#: Each fixture's recipe, as the command that made it says it (README.md), in the new code's terms.
RECIPES = {
    "tutorial": npflow.TrainConfig(steps=20, hidden=(8,)),
    "conditional": npflow.TrainConfig(dataset="gmm", steps=20, hidden=(8,), options={"conditional": True}),
    "noise_vp": npflow.TrainConfig(path="vp", steps=20, hidden=(8,), options={"predict": "noise"}),
    "meanflow": npflow.TrainConfig(objective="meanflow", steps=20, hidden=(8,)),
    "fast": recipe("fast", steps=20, hidden=(8,)),
}


def old_file(name):
    """The old code's ``config.json`` of a fixture, as a dict."""
    return json.loads((FIXTURES / name / "config.json").read_text())


def old_results(name):
    with np.load(FIXTURES / f"{name}.old.npz") as results:
        return dict(results)


def fixed_draw(run):
    """The draw the old code sampled from: 8 points of N(0, I) from seed 0."""
    return np.random.default_rng(0).standard_normal((8, run.dim))


def fixed_times():
    """The times, one per point of ``fixed_draw``, at which the old code read the network."""
    return np.linspace(0.0, 1.0, 8)


def tolerance(run):
    """To rounding in the run's precision (the same operations, maybe in another order)."""
    return {"rtol": 1e-5, "atol": 1e-6} if run.config.dtype == "float32" else {"rtol": 1e-10, "atol": 1e-12}


def test_the_fixtures_were_written_by_the_old_code_in_its_flat_form():
    for name in RECIPES:
        saved = old_file(name)
        assert saved["format"] == "npflow-run" and saved["format_version"] == 1, name
        assert "options" not in saved["config"] and "conditional" in saved["config"], name  # the old, flat form
        assert (FIXTURES / name / "checkpoint.npz").stat().st_size < 10_000, name  # kept small


@pytest.mark.parametrize("name", RECIPES)
def test_an_old_run_loads_with_the_recipe_its_command_gave(name):
    run = npflow.load_run(FIXTURES / name)
    assert run.config == RECIPES[name]
    assert run.step == run.config.steps == 20
    assert run.losses.shape == (20,) and np.all(np.isfinite(run.losses))


def test_old_runs_read_back_their_objective_and_its_options():
    conditional, noise, meanflow, fast = (npflow.load_run(FIXTURES / name).config
                                          for name in ("conditional", "noise_vp", "meanflow", "fast"))
    assert conditional.objective == "cfm" and conditional.options.conditional is True
    assert conditional.options.p_uncond == old_file("conditional")["config"]["p_uncond"]
    assert noise.objective == "cfm" and noise.options.predict == "noise" and noise.path == "vp"
    assert noise.options.conditional is False
    assert meanflow.objective == "meanflow" and not hasattr(meanflow.options, "conditional")
    assert fast.ema == 0.999 and fast.dtype == "float32" and fast.lr_schedule == "cosine"


@pytest.mark.parametrize("name", RECIPES)
def test_an_old_runs_network_gives_what_the_old_code_read_from_it(name):
    run = npflow.load_run(FIXTURES / name)
    np.testing.assert_allclose(run.prediction(fixed_times(), fixed_draw(run)), old_results(name)["prediction"],
                               **tolerance(run))


@pytest.mark.parametrize("name", ["tutorial", "conditional", "meanflow", "fast"])
def test_an_old_run_samples_what_the_old_code_sampled(name):
    run = npflow.load_run(FIXTURES / name)
    np.testing.assert_allclose(run.sample(fixed_draw(run), steps=5).x, old_results(name)["sample"], **tolerance(run))


def test_an_old_noise_predicting_run_read_with_the_old_margin_samples_what_the_old_code_sampled():
    run = npflow.load_run(FIXTURES / "noise_vp")
    field = velocity_from_prediction(run.prediction, run.path, run.config.options.predict, margin=OLD_MARGIN)
    np.testing.assert_allclose(generate(field, fixed_draw(run), "rk4", steps=5).x, old_results("noise_vp")["sample"],
                               **tolerance(run))


def test_an_old_conditional_run_guides_as_the_old_code_did():
    run = npflow.load_run(FIXTURES / "conditional")
    guided = generate(run.guided_velocity(1, 1.0), fixed_draw(run), "rk4", steps=5).x
    np.testing.assert_allclose(guided, old_results("conditional")["guided"], **tolerance(run))


@pytest.mark.parametrize("name", RECIPES)
def test_an_old_run_resumes_to_what_the_old_code_resumed_it_to(name, tmp_path):
    run = npflow.load_run(FIXTURES / name)
    more = npflow.train(dataclasses.replace(run.config, steps=run.step + MORE_STEPS), resume=run, stream=None)
    old = old_results(name)
    assert more.step == run.step + MORE_STEPS
    np.testing.assert_array_equal(more.losses[:run.step], run.losses)
    np.testing.assert_allclose(more.losses[run.step:], old["resumed_losses"], **tolerance(run))
    np.testing.assert_allclose(more.prediction(fixed_times(), fixed_draw(run)), old["resumed_prediction"],
                               **tolerance(run))
    npflow.save_run(tmp_path / "resumed", more)  # and the new code saves what it resumed, and reads it back
    np.testing.assert_array_equal(npflow.load_run(tmp_path / "resumed").losses, more.losses)


@pytest.mark.parametrize("name", ["tutorial", "conditional", "noise_vp", "fast"])
def test_a_flow_run_the_new_code_writes_has_the_old_files_config(name, tmp_path):
    """Flat, as the old reader reads it: the objective's options beside the shared fields, every key the
    old file had and no other, with the same values."""
    npflow.save_run(tmp_path / name, npflow.load_run(FIXTURES / name))
    new, old = json.loads((tmp_path / name / "config.json").read_text()), old_file(name)
    assert (new["format"], new["format_version"]) == (old["format"], old["format_version"])
    assert new["config"] == old["config"]


def test_a_meanflow_run_the_new_code_writes_is_flat_with_its_own_option_beside_the_shared_fields(tmp_path):
    """The old reader's shared keys, and MeanFlow's own option (new: the old reader does not know it) in place
    of the flow options (conditional, p_uncond, predict) a MeanFlow run never used."""
    npflow.save_run(tmp_path / "meanflow", npflow.load_run(FIXTURES / "meanflow"))
    new = json.loads((tmp_path / "meanflow" / "config.json").read_text())["config"]
    old = old_file("meanflow")["config"]
    flow_options = {"conditional", "p_uncond", "predict"}
    assert set(new) == set(old) - flow_options | set(option_names(OBJECTIVES["meanflow"]))
    assert {key: new[key] for key in set(old) - flow_options} == {key: old[key] for key in set(old) - flow_options}
    assert all(isinstance(value, (str, int, float, bool, list)) for value in new.values())
