import json
import os
import pickle

import numpy as np
import pytest

from npflow.io import RunError, load_run, save_array, save_run
from npflow.train import Run, TrainConfig, train


@pytest.fixture(scope="module")
def trained():
    return train(TrainConfig(steps=5, hidden=(8, 4)), stream=None)


@pytest.fixture
def run_dir(tmp_path, trained):
    path = tmp_path / "run"
    save_run(path, trained)
    return path


def test_round_trip(run_dir, trained):
    run = load_run(run_dir)
    assert run.config == trained.config
    np.testing.assert_array_equal(run.losses, trained.losses)
    for (W, b), (W_0, b_0) in zip(run.params, trained.params):
        np.testing.assert_array_equal(W, W_0)
        np.testing.assert_array_equal(b, b_0)
    x = np.ones((3, 2))
    assert run.velocity(0.5, x).shape == (3, 2)
    with pytest.raises(ValueError, match=r"x must have shape \(n, 2\), got shape \(3, 3\)"):
        run.velocity(0.5, np.ones((3, 3)))


def test_config_has_a_format_version(run_dir):
    header = json.loads((run_dir / "config.json").read_text())
    assert header["format"] == "npflow-run" and header["format_version"] == 1
    assert header["config"]["hidden"] == [8, 4]


def test_existing_output_is_refused_and_untouched(run_dir, trained):
    before = {p.name: p.read_bytes() for p in run_dir.iterdir()}
    with pytest.raises(FileExistsError, match="already exists; pass --force"):
        save_run(run_dir, Run(trained.params, TrainConfig(steps=5, hidden=(8, 4), seed=1), trained.losses))
    assert {p.name: p.read_bytes() for p in run_dir.iterdir()} == before


def test_force_replaces_a_run_but_never_another_folder(tmp_path, run_dir, trained):
    config = TrainConfig(steps=5, hidden=(8, 4), seed=9)
    save_run(run_dir, Run(trained.params, config, trained.losses), force=True)
    assert load_run(run_dir).config.seed == 9
    precious = tmp_path / "thesis"
    precious.mkdir()
    (precious / "chapter1.tex").write_text("...")
    with pytest.raises(FileExistsError, match="not a directory that npflow wrote"):
        save_run(precious, Run(trained.params, config, trained.losses), force=True)
    assert (precious / "chapter1.tex").read_text() == "..."
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run", "thesis"]  # no temporary left behind


def test_save_array_is_atomic_and_refuses_overwrites(tmp_path):
    path = tmp_path / "x.npy"
    save_array(path, np.arange(3.0))
    with pytest.raises(FileExistsError):
        save_array(path, np.zeros(2))
    np.testing.assert_array_equal(np.load(path), np.arange(3.0))
    save_array(path, np.zeros(2), force=True)
    np.testing.assert_array_equal(np.load(path), np.zeros(2))
    assert os.listdir(tmp_path) == ["x.npy"]
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save_array(tmp_path / "missing" / "x.npy", np.zeros(2))


def corrupt(run_dir, name, content):
    (run_dir / name).write_bytes(content) if isinstance(content, bytes) else (run_dir / name).write_text(content)


@pytest.mark.parametrize("breakage, message", [
    (lambda d: (d / "config.json").unlink(), "config.json is missing"),
    (lambda d: corrupt(d, "config.json", "{not json"), "is not valid JSON"),
    (lambda d: corrupt(d, "config.json", '{"format": "other"}'), "is not an npflow run config"),
    (lambda d: corrupt(d, "config.json", '{"format": "npflow-run", "format_version": 99, "config": {}}'),
     "format_version 99"),
    (lambda d: corrupt(d, "config.json", '{"format": "npflow-run", "format_version": 1, "config": {"steps": -1}}'),
     "invalid config: steps must be a positive integer"),
    (lambda d: corrupt(d, "config.json", '{"format": "npflow-run", "format_version": 1, "config": {"colour": 1}}'),
     "invalid config"),
    (lambda d: (d / "params.npz").unlink(), "parameter file .* is missing"),
    (lambda d: corrupt(d, "params.npz", (d / "params.npz").read_bytes()[:200]), "unreadable or corrupt"),
    (lambda d: corrupt(d, "params.npz", b"garbage" * 10), "unreadable or corrupt"),
    (lambda d: np.savez(d / "params.npz", W0=np.zeros((3, 8))), "holds arrays"),
    (lambda d: (d / "losses.npy").unlink(), "loss file .* is missing"),
    (lambda d: np.save(d / "losses.npy", np.zeros(4)), "does not hold 5 floating-point losses"),
])
def test_broken_runs_are_refused_in_one_line(run_dir, breakage, message):
    breakage(run_dir)
    with pytest.raises(RunError, match=message) as error:
        load_run(run_dir)
    assert "\n" not in str(error.value)


def rewrite_params(run_dir, change):
    with np.load(run_dir / "params.npz") as archive:
        arrays = dict(archive)
    change(arrays)
    np.savez(run_dir / "params.npz", **arrays)


@pytest.mark.parametrize("change, message", [
    (lambda a: a.update(W0=np.zeros((3, 9))), r"W0 has shape \(3, 9\), expected \(3, 8\)"),
    (lambda a: a.update(b1=np.full(4, np.nan)), "b1 contains NaN"),
    (lambda a: a.update(W2=np.zeros((4, 2), dtype=int)), "W2 has dtype int64, expected floating point"),
])
def test_parameters_are_checked_against_the_config(run_dir, change, message):
    rewrite_params(run_dir, change)
    with pytest.raises(RunError, match=message):
        load_run(run_dir)


class Exploit:
    """Unpickling this creates a file: proof that code ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_pickle_in_the_parameters_is_refused_and_never_runs(run_dir, tmp_path):
    marker = tmp_path / "pwned"
    payload = np.empty(1, dtype=object)
    payload[0] = Exploit(str(marker))
    pickle.dumps(payload)  # the payload really is picklable
    rewrite_params(run_dir, lambda a: a.update(W0=payload))
    with pytest.raises(RunError, match="W0"):
        load_run(run_dir)
    assert not marker.exists()


def test_missing_run_directory(tmp_path):
    with pytest.raises(RunError, match="does not exist"):
        load_run(tmp_path / "nowhere")
