import numpy as np
import pytest

from npflow.core.metrics import straightness, wasserstein2
from npflow.core.sampling import generate
from npflow.cli import main
from npflow.plumbing.io import load_run, save_pairs
from npflow.runs.config import TrainConfig
from npflow.runs.loop import train
from npflow.runs.reflow import reflow_config, reflow_pairs


def test_pairs_are_the_flow_of_source_points():
    run = train(TrainConfig(steps=30, hidden=(8,)), stream=None)
    x_0, x_1 = reflow_pairs(run, 50, np.random.default_rng(0))
    np.testing.assert_array_equal(x_0, np.random.default_rng(0).standard_normal((50, 2)))
    exact = generate(run.velocity, x_0, "DOP853", rtol=1e-10, atol=1e-10).x[-1]
    np.testing.assert_allclose(x_1, exact, atol=1e-4)  # RK45 at 1e-6 by default


@pytest.mark.slow
def test_reflow_straightens_the_flow(tmp_path):
    """Reflowed on its own pairs, a flow's paths get straighter and one Euler step lands near its samples."""
    first = train(TrainConfig(dataset="eight_gaussians", steps=1500, batch_size=256, grad="backprop"), stream=None)
    pairs = str(tmp_path / "pairs.npz")
    save_pairs(pairs, *reflow_pairs(first, 4000, np.random.default_rng(1)))
    second = train(reflow_config(first.config, pairs), stream=None)
    x_0 = np.random.default_rng(2).standard_normal((1000, 2))
    reference = generate(first.velocity, x_0, "RK45", rtol=1e-6, atol=1e-6).x[-1]  # where the first flow goes
    straight = [straightness(generate(run.velocity, x_0, "rk4", steps=50)) for run in (first, second)]
    one_step = [wasserstein2(generate(run.velocity, x_0, "euler", steps=1).x[-1], reference) for run in (first, second)]
    assert straight[1] < straight[0] / 3, straight
    assert one_step[1] < one_step[0] / 2, one_step


def test_npflow_reflow_writes_a_run_that_loads_samples_and_resumes(tmp_path, capsys):
    first, second = tmp_path / "first", tmp_path / "second"
    assert main(["train", "--steps", "30", "--hidden", "8", "--quiet", "--out", str(first)]) == 0
    assert main(["reflow", str(first), "--out", str(second), "--pairs", "200", "--steps", "20", "--quiet"]) == 0
    run = load_run(second)
    assert run.step == 20 and run.config.coupling == "pairs" and run.config.hidden == (8,)
    assert sorted(p.name for p in second.iterdir()) == ["checkpoint.npz", "config.json", "pairs.npz"]
    with np.load(second / "pairs.npz") as table:
        assert table["x_0"].shape == table["x_1"].shape == (200, 2)
    assert main(["sample", str(second), "--n", "10", "--out", str(tmp_path / "x.npy")]) == 0
    assert np.load(tmp_path / "x.npy").shape == (10, 2)
    assert main(["train", "--resume", str(second), "--steps", "25", "--quiet"]) == 0
    assert load_run(second).step == 25
    capsys.readouterr()
    assert main(["reflow", str(first), "--out", str(second), "--quiet"]) == 2  # exists, and nothing is redone
    assert "already exists" in capsys.readouterr().err
    assert main(["reflow", str(tmp_path / "none"), "--out", str(tmp_path / "third")]) == 2
    assert "does not exist" in capsys.readouterr().err and not (tmp_path / "third").exists()


def test_reflow_refuses_too_few_pairs_and_a_flow_that_blows_up(tmp_path, capsys):
    first = tmp_path / "first"
    assert main(["train", "--steps", "5", "--hidden", "4", "--quiet", "--out", str(first)]) == 0
    with pytest.raises(SystemExit) as exit_info:
        main(["reflow", str(first), "--out", str(tmp_path / "new"), "--pairs", "1"])
    assert exit_info.value.code == 2 and not (tmp_path / "new").exists()
    assert "--pairs: expected an integer >= 2, got '1'" in capsys.readouterr().err
    run = load_run(first)
    run.params[-1][1][:] = np.inf  # the output bias: every velocity is infinite
    with pytest.raises(ValueError, match="carried 20 of 20 source points to NaN or infinity"):
        reflow_pairs(run, 20, np.random.default_rng(0), "rk4", steps=2)


def test_a_reflow_learns_the_velocity_whatever_the_first_run_predicted():
    config = reflow_config(TrainConfig(path="vp", options={"predict": "noise"}), "pairs.npz")
    assert (config.path, config.options.predict, config.coupling) == ("linear", "velocity", "pairs")
