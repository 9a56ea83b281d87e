"""Runs of the digits with the residual network: the dataset, the recipe, the gradients, the CLI's pixels and refusals."""
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from npflow.data.datasets import get_dataset
from npflow.data.digits import load_digits
from npflow.images.pixels import LEVELS, to_model, to_pixels
from npflow.images.resnet import init_resnet, resnet
from npflow.models.resnet_run import flatten, nest, resnet_gradient, resnet_sizes
from npflow.models.registry import RECIPES
from npflow.runs.config import TrainConfig
from npflow.runs.loop import train
from npflow.runs.run import start_run

SMALL = {**RECIPES["digits"], "steps": 4, "hidden": (16, 16), "batch_size": 32, "dtype": "float64"}


def test_a_draw_of_digits_is_a_dequantized_train_image_with_its_label():
    x, y = get_dataset("digits").sample_labelled(200, np.random.default_rng(0))
    train_split = load_digits("train")
    pixels = to_pixels(x)
    seen = {(tuple(row), label) for row, label in zip(train_split.pixels, train_split.labels)}
    assert x.shape == (200, 64) and np.all((x >= -1) & (x < 1))
    assert all((tuple(row), label) in seen for row, label in zip(pixels, y))
    assert np.all(np.abs((x + 1) / 2 * LEVELS - pixels - 0.5) <= 0.5)  # inside each pixel's bin [v, v + 1)


def test_flat_weights_nest_back_to_the_network_and_have_the_recipes_widths():
    nested = init_resnet(64, 16, 2, np.random.default_rng(0), label_width=11)
    flat = flatten(nested)
    sizes = resnet_sizes(64, (16, 16), label_width=11)
    assert [W.shape for W, _ in flat] == list(zip(sizes[:-1], sizes[1:]))
    x = np.random.default_rng(1).standard_normal((3, 64))
    y = np.eye(11)[[0, 4, 10]]
    np.testing.assert_array_equal(resnet(nest(flat), 0.3, x, y), resnet(nested, 0.3, x, y))


@pytest.mark.parametrize("conditional", [False, True])
def test_the_hand_written_gradient_trains_to_autograds_numbers(conditional):
    runs = [train(TrainConfig.from_settings({**SMALL, "grad": grad, "conditional": conditional}), stream=None)
            for grad in ("autograd", "backprop")]
    np.testing.assert_allclose(runs[0].losses, runs[1].losses, rtol=1e-10)
    for (W_a, b_a), (W_b, b_b) in zip(runs[0].params, runs[1].params):
        np.testing.assert_allclose(W_a, W_b, rtol=1e-8, atol=1e-12)
        np.testing.assert_allclose(b_a, b_b, rtol=1e-8, atol=1e-12)


def test_the_step_gradient_is_the_flat_gradient_of_the_loss_by_central_differences():
    rng = np.random.default_rng(2)
    params = flatten(init_resnet(64, 8, 1, rng, label_width=11))
    x_t, u_t, t, y = rng.standard_normal((5, 64)), rng.standard_normal((5, 64)), rng.random(5), np.array([1, 2, 3, 9, -1])
    gradient = resnet_gradient("backprop", y, 10)
    _, grads = gradient(params, t, x_t, u_t, "silu")
    W, b = params[1]
    eps, (i, j) = 1e-6, (3, 5)
    shifted = [[(W + s * eps * np.eye(8)[i][:, None] * np.eye(8)[j], b) if k == 1 else layer
                for k, layer in enumerate(params)] for s in (1, -1)]
    numeric = (gradient(shifted[0], t, x_t, u_t, "silu")[0] - gradient(shifted[1], t, x_t, u_t, "silu")[0]) / (2 * eps)
    np.testing.assert_allclose(grads[1][0][i, j], numeric, rtol=1e-6, atol=1e-9)


def test_a_resnet_run_samples_its_field_and_a_guided_one():
    run = train(TrainConfig.from_settings({**SMALL, "conditional": True}), stream=None)
    x = np.random.default_rng(0).standard_normal((3, 64))
    unconditional = run.velocity(0.5, x)
    np.testing.assert_array_equal(run.guided_velocity(-1, 0.0)(0.5, x), unconditional)  # no label: the same field
    guided = run.guided_velocity(3, 2.0)(0.5, x)
    conditional = run.guided_velocity(3, 0.0)(0.5, x)
    np.testing.assert_allclose(guided, 3 * conditional - 2 * unconditional, atol=1e-12)  # (1 + w) v_y - w v


def test_the_mlp_is_still_the_default_and_its_runs_unchanged():
    config = TrainConfig(steps=3, hidden=(8,))
    assert config.network == "mlp"
    run = train(config, stream=None)
    again = train(replace(config, network="mlp"), stream=None)
    np.testing.assert_array_equal(run.losses, again.losses)
    assert start_run(config).config.layer_sizes == [3, 8, 2]


@pytest.mark.parametrize("change, message", [
    ({"activation": "relu"}, "uses SiLU"),
    ({"hidden": (16, 8)}, "blocks of one width"),
    ({"network": "cnn"}, "network must be"),
    ({"objective": "meanflow"}, "objective 'cfm'"),
])
def test_a_resnet_recipe_is_refused_in_one_line(change, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig.from_settings({**SMALL, **change})


def _npflow(*args, cwd):
    return subprocess.run([sys.executable, "-m", "npflow", *args], cwd=cwd, capture_output=True, text=True)


@pytest.mark.slow
def test_the_cli_samples_pixels_and_refuses_what_a_64_d_run_cannot_do(tmp_path):
    done = _npflow("train", "--recipe", "digits", "--steps", "3", "--hidden", "16,16", "--out", "run", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    done = _npflow("sample", "run", "--n", "5", "--steps", "4", "--out", "s.npy", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    pixels = np.load(tmp_path / "s.npy")
    assert pixels.shape == (5, 64) and np.all(pixels == np.clip(np.round(pixels), 0, 16))
    np.save(tmp_path / "plane.npy", np.zeros((3, 2)))
    for args in (["plot", "run", "--kind", "field", "--out", "f.png"],
                 ["plot", "run", "--kind", "density", "--out", "f.png"],
                 ["logprob", "run", "--points", "plane.npy", "--out", "l.npy"],
                 ["train", "--dataset", "digits", "--source", "moons", "--steps", "3", "--out", "other"]):
        done = _npflow(*args, cwd=tmp_path)
        assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, (args, done.stderr)
    assert not any((tmp_path / name).exists() for name in ("f.png", "l.npy", "other"))


def test_evaluate_measures_a_digits_run_as_an_image_model():
    from npflow.images.image_metrics import gaussian_baselines
    from npflow.plumbing.evaluate_images import evaluate_images, format_images

    run = train(TrainConfig.from_settings({**SMALL, "conditional": True}), stream=None)
    report = evaluate_images(run, n=60, rng=np.random.default_rng(0), classes=np.array([3, 4]), guidance=1.0,
                             steps=4)
    assert report["classifier_test_accuracy"] >= 0.95 and report["judge_version"] == 1  # the shipped judge
    assert 0 < report["frechet_floor"] < report["frechet_distance"]  # 4 steps of training are far from the data
    assert report["bits_per_dim"] > max(report["baselines"].values())  # and so lose to both Gaussians
    train_split, test_split = load_digits("train"), load_digits("test")
    rng = np.random.default_rng(5)  # the baselines are those of any dequantization, to its noise
    expected = gaussian_baselines(*(to_model(split.pixels, rng) for split in (train_split, test_split)))
    for name, bits in expected.items():
        assert abs(report["baselines"][name] - bits) < 0.02
    assert report["classes"] == [3, 4] and 0 <= report["class_accuracy"] <= 1 and report["memorization_ratio"] > 0
    table = format_images(report)
    assert "its floor" in table and "judge v1" in table
    figures = [key[:-len("_stderr")] for key in report if key.endswith("_stderr")]
    assert len(figures) == 7 and all(np.all(np.isfinite(list(np.atleast_1d(report[f"{key}_stderr"]))))
                                     for key in figures if key != "baselines")
    assert all("±" in line for line in table.splitlines()[:-1])  # every figure carries its error bar


@pytest.mark.slow
def test_plot_samples_of_a_digits_run_draws_a_row_of_images_per_class(tmp_path):
    from npflow.plumbing.plot_images import image_grid

    fig = image_grid({"3": np.zeros((4, 64)), "7": np.full((2, 64), 16.0)})
    axes = fig.get_axes()
    assert len(axes) == 8 and sum(bool(ax.images) for ax in axes) == 6  # the short row's last panels stay empty
    np.testing.assert_array_equal(axes[4].images[0].get_array(), np.full((8, 8), 16.0))
    assert _npflow("train", "--recipe", "digits", "--steps", "3", "--hidden", "16", "--conditional", "--out", "run",
                   cwd=tmp_path).returncode == 0
    done = _npflow("plot", "run", "--kind", "samples", "--steps", "3", "--label", "3", "--out", "g.png", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    done = _npflow("plot", "run", "--kind", "samples", "--steps", "2", "--n", "2", "--label", "all", "--out", "a.png",
                   cwd=tmp_path)
    assert done.returncode == 0, done.stderr  # all: the recipe's 10 classes
    done = _npflow("plot", "run", "--kind", "samples", "--steps", "2", "--label", "10", "--out", "b.png", cwd=tmp_path)
    assert done.returncode == 2 and "10" in done.stderr
    assert (tmp_path / "g.png").stat().st_size > 0


@pytest.mark.slow
def test_export_refuses_a_resnet_run_in_one_line(tmp_path):
    assert _npflow("train", "--recipe", "digits", "--steps", "2", "--hidden", "8", "--out", "run",
                   cwd=tmp_path).returncode == 0
    done = _npflow("export", "run", "--out", "w.npz", cwd=tmp_path)
    assert done.returncode == 2 and "network is 'resnet'" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "w.npz").exists()


def _plot_args(*flags):
    from npflow.cli import build_parser

    return build_parser().parse_args(["plot", "run", "--out", "unused.png", "--steps", "3", *flags])


def test_image_trajectories_run_from_the_noise_to_the_flows_end_one_class_a_row():
    from npflow import generate
    from npflow.cli.plot import IMAGE_FIGURES

    run = train(TrainConfig.from_settings({**SMALL, "conditional": True}), stream=None)
    args = _plot_args("--kind", "trajectories", "--seed", "7", "--label", "all", "--guidance", "2")
    fig = IMAGE_FIGURES["trajectories"](run, args, None)
    x_0 = run.config.source_distribution.sample(10, np.random.default_rng(7))  # one per class, as the figure draws
    x_1 = generate(run.guided_velocity(np.arange(10), 2.0), x_0, "rk4", steps=3).x[-1]
    panels = np.array([ax.images[0].get_array() for ax in fig.get_axes()]).reshape(10, -1, 64)  # (class, time, 64)
    np.testing.assert_array_equal(panels[:, 0], to_pixels(x_0))
    np.testing.assert_array_equal(panels[:, -1], to_pixels(x_1))
    assert [ax.get_title() for ax in fig.get_axes()[:2]] == ["t = 0.0", "t = 0.3"]  # 3 steps: t = 0, 1/3, 2/3, 1
    assert fig.get_suptitle().endswith("w = 2") and fig.get_supylabel() == "class asked for"  # its w, its rows


def test_image_guidance_draws_a_grid_per_weight_each_of_that_weights_field():
    from npflow import generate
    from npflow.cli.plot import IMAGE_FIGURES
    from npflow.plumbing.labels import GUIDANCE_WEIGHTS

    run = train(TrainConfig.from_settings({**SMALL, "conditional": True}), stream=None)
    args = _plot_args("--kind", "guidance", "--label", "2", "--label", "5", "--seed", "0")
    fig = IMAGE_FIGURES["guidance"](run, args, None)
    assert [sub.get_suptitle() for sub in fig.subfigs][:3] == ["w = -1 (unconditional)", "w = 0 (conditional)",
                                                                "w = 0.5"]
    assert fig.get_supylabel() == "class asked for"
    assert [ax.get_ylabel() for ax in fig.subfigs[0].get_axes()[::4]] == ["2", "5"]  # each row's class
    x_0 = run.config.source_distribution.sample(8, np.random.default_rng(0))  # 2 classes x 4 columns, --seed 0
    for sub, w in zip(fig.subfigs, GUIDANCE_WEIGHTS):
        x_1 = generate(run.guided_velocity(np.repeat([2, 5], 4), w), x_0, "rk4", steps=3).x[-1]
        np.testing.assert_array_equal([ax.images[0].get_array() for ax in sub.get_axes()],
                                      to_pixels(x_1).reshape(8, 8, 8))


def test_the_image_animation_writes_every_frame_and_ends_on_the_last(tmp_path):
    from PIL import Image

    from npflow.plumbing.plot_images import image_animation

    frames = np.random.default_rng(0).integers(0, LEVELS, (5, 2, 3, 64)).astype(float)  # 5 times of a 2 x 3 grid
    fig = image_animation(frames, np.linspace(0, 1, 5), tmp_path / "a.gif", names=["a", "b"])
    with Image.open(tmp_path / "a.gif") as gif:
        assert gif.n_frames == 5  # each time once, though 40 frames were allowed
    mosaic = fig.get_axes()[0].images[0].get_array().filled(np.nan)  # the last frame, white lines between images
    assert mosaic.shape == (2 * 9 - 1, 3 * 9 - 1) and np.isnan(mosaic[8]).all() and np.isnan(mosaic[:, 17]).all()
    np.testing.assert_array_equal(mosaic[9:, 18:], frames[-1, 1, 2].reshape(8, 8))  # row b, third column
    np.testing.assert_array_equal(mosaic[:8, 9:17], frames[-1, 0, 1].reshape(8, 8))


@pytest.mark.slow
def test_the_cli_draws_every_image_kind_and_refuses_the_rest_in_one_line(tmp_path):
    for flags in ([], ["--conditional"]):
        assert _npflow("train", "--recipe", "digits", "--steps", "2", "--hidden", "8", "--out", f"run{len(flags)}",
                       *flags, cwd=tmp_path).returncode == 0
    from PIL import Image

    for run_dir, kind, out in (("run1", "samples", "s.png"), ("run1", "trajectories", "t.png"),
                               ("run1", "guidance", "g.png"), ("run1", "animation", "a.gif"),
                               ("run1", "loss", "l.png"), ("run0", "samples", "u.png")):
        done = _npflow("plot", run_dir, "--kind", kind, "--steps", "2", "--out", out, cwd=tmp_path)
        assert done.returncode == 0 and (tmp_path / out).stat().st_size > 0, done.stderr
        with Image.open(tmp_path / out) as image:  # fit for a slide, the GIF's frames too
            assert max(image.size) >= 800
    for run_dir, kind, message in (("run0", "guidance", "needs a conditional run"),
                                   ("run0", "time_slices", "draws --kind samples, trajectories")):
        done = _npflow("plot", run_dir, "--kind", kind, "--steps", "2", "--out", "x.png", cwd=tmp_path)
        assert done.returncode == 2 and message in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x.png").exists()
