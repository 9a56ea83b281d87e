"""Points are checked at the door of ``npflow logprob``: far outside the run's data they are refused in one line
that names the likely cause, and a run on images takes pixels with --units pixels."""
import numpy as np
import pytest

from npflow import load_run
from npflow.cli import main
from npflow.cli.checks import FAR, data_spread
from npflow.core.likelihood import log_likelihood
from npflow.data.datasets import DATASETS, get_dataset
from npflow.data.digits import load_digits
from npflow.images.pixels import bits_per_dim, to_model
from npflow.runs.scoring import scoring_field

TINY = ["--steps", "30", "--hidden", "8", "--batch-size", "16", "--quiet"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("door")
    assert main(["train", *TINY, "--out", str(folder / "points")]) == 0
    assert main(["train", "--recipe", "digits", "--steps", "3", "--hidden", "16,16", "--quiet",
                 "--out", str(folder / "digits")]) == 0
    np.save(folder / "pixels.npy", load_digits("test").pixels[:6].astype(float))
    return folder


def logprob(runs, tmp_path, run, points, *extra):
    out = tmp_path / "logp.npy"
    return main(["logprob", str(runs / run), "--points", str(points), "--steps", "2", "--out", str(out), *extra]), out


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_no_point_of_a_dataset_is_near_the_far_rule(name):
    """The rule leaves room: a draw of any built-in dataset stays within half of FAR typical distances."""
    dataset = get_dataset(name)
    centre, typical = data_spread(dataset)
    x = dataset.sample(10_000, np.random.default_rng(1))
    assert np.linalg.norm(x - centre, axis=1).max() / typical < FAR / 2


def test_pixels_given_to_a_digits_run_are_refused_in_one_line_that_names_the_cause(runs, tmp_path, capsys):
    code, out = logprob(runs, tmp_path, "digits", runs / "pixels.npy")
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and not out.exists(), err
    assert ("these look like pixels 0..16 (6 of 6 points lie far outside the run's data); the model works in "
            "[-1, 1): pass --units pixels, or scale them") in err
    assert "RuntimeWarning" not in err


def test_units_pixels_dequantizes_from_the_seed_and_scores_in_bits_per_dimension(runs, tmp_path, capsys):
    code, out = logprob(runs, tmp_path, "digits", runs / "pixels.npy", "--units", "pixels", "--seed", "3")
    captured = capsys.readouterr()
    assert code == 0 and "RuntimeWarning" not in captured.err
    run = load_run(runs / "digits")
    x = to_model(np.load(runs / "pixels.npy"), np.random.default_rng(3))
    expected = log_likelihood(scoring_field(run, "float32"), x, steps=2)
    np.testing.assert_allclose(np.load(out), expected, rtol=1e-10)
    assert f"{bits_per_dim(expected, 64).mean():.4f} bits/dim of the pixels" in captured.out


@pytest.mark.parametrize("run, content, message", [
    ("points", np.zeros((2, 2)), "--units pixels is for a run on images, such as digits; this run's data "
                                 "(two_gaussians) are points in the model's own units: leave --units out"),
    ("digits", np.full((2, 64), 3.5), "--units pixels takes whole pixel values 0..16; row 0 holds 3.5 in column 0"),
    ("digits", np.full((2, 64), 17.0), "--units pixels takes whole pixel values 0..16; row 0 holds 17 in column 0"),
])
def test_what_units_pixels_refuses(runs, tmp_path, capsys, run, content, message):
    np.save(tmp_path / "p.npy", content)
    code, out = logprob(runs, tmp_path, run, tmp_path / "p.npy", "--units", "pixels")
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1 and not out.exists(), err


def test_points_in_other_units_are_refused_with_how_far_they_are(runs, tmp_path, capsys):
    np.save(tmp_path / "p.npy", np.array([[0.0, 0.0], [40.0, 0.0], [3.0, 1.0]]))
    code, out = logprob(runs, tmp_path, "points", tmp_path / "p.npy")
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and not out.exists(), err
    assert ("1 of 3 points lies far outside the run's data (row 1 is 9 times as far from its centre as a typical data "
            "point; at most 6 is accepted): are they in the units of the data the run was trained on?") in err


def test_points_of_the_run_s_own_data_are_scored(runs, tmp_path):
    np.save(tmp_path / "p.npy", get_dataset("two_gaussians").sample(50, np.random.default_rng(4)))
    assert logprob(runs, tmp_path, "points", tmp_path / "p.npy")[0] == 0
