import json
import os
from dataclasses import replace

import numpy as np
import pytest

from npflow.plumbing.io import RunError, load_run, save_checkpoint, save_run
from npflow.plumbing.outputs import save_array
from npflow.runs.config import TrainConfig
from npflow.runs.loop import train
from npflow.runs.run import Run

CONFIG = TrainConfig(steps=5, hidden=(8, 4))


@pytest.fixture(scope="module")
def trained():
    return train(CONFIG, stream=None)


@pytest.fixture
def run_dir(tmp_path, trained):
    path = tmp_path / "run"
    save_run(path, trained)
    return path


def assert_same_run(a, b):
    assert a.config == b.config
    np.testing.assert_array_equal(a.losses, b.losses)
    np.testing.assert_array_equal(a.field_errors, b.field_errors)
    for (W, b_), (W_0, b_0) in zip(a.params, b.params):
        np.testing.assert_array_equal(W, W_0)
        np.testing.assert_array_equal(b_, b_0)
    assert a.optimizer.step_count == b.optimizer.step_count
    np.testing.assert_array_equal(a.optimizer.m, b.optimizer.m)
    np.testing.assert_array_equal(a.optimizer.v, b.optimizer.v)
    assert a.rng.bit_generator.state == b.rng.bit_generator.state


def test_round_trip(run_dir, trained):
    run = load_run(run_dir)
    assert_same_run(run, trained)
    assert run.velocity(0.5, np.ones((3, 2))).shape == (3, 2)
    with pytest.raises(ValueError, match=r"x must have shape \(n, 2\), got shape \(3, 3\)"):
        run.velocity(0.5, np.ones((3, 3)))


def test_config_has_a_format_version(run_dir):
    header = json.loads((run_dir / "config.json").read_text())
    assert header["format"] == "npflow-run" and header["format_version"] == 1
    assert header["config"]["hidden"] == [8, 4]
    assert sorted(os.listdir(run_dir)) == ["checkpoint.npz", "config.json"]


def test_checkpoints_resume_to_the_same_bits(tmp_path):
    """Stop at step 7 (by steps), save, load, resume to 20: the same bits as 20 straight."""
    config = TrainConfig(steps=20, hidden=(8,), batch_size=16)
    straight = train(config, stream=None)
    path = tmp_path / "run"
    save_run(path, train(TrainConfig(steps=7, hidden=(8,), batch_size=16), stream=None))
    resumed = train(config, resume=load_run(path), stream=None)
    assert_same_run(resumed, straight)


def test_checkpoint_callback_saves_whole_states(tmp_path):
    config = TrainConfig(steps=12, hidden=(8,), batch_size=16)
    path = tmp_path / "run"
    seen = []

    def checkpoint(run):
        save_checkpoint(path, run)
        seen.append(load_run(path).step)

    save_run(path, train(TrainConfig(steps=0 + 1, hidden=(8,), batch_size=16), stream=None))
    train(config, resume=load_run(path), stream=None, checkpoint=checkpoint, checkpoint_every=5)
    assert seen == [5, 10]
    assert json.loads((path / "config.json").read_text())["config"]["steps"] == 12
    assert sorted(os.listdir(path)) == ["checkpoint.npz", "config.json"]  # no temporary left behind


def test_a_crash_mid_write_keeps_the_previous_checkpoint(run_dir, trained, monkeypatch):
    before = (run_dir / "checkpoint.npz").read_bytes()

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(run_dir, trained)
    assert (run_dir / "checkpoint.npz").read_bytes() == before
    assert sorted(os.listdir(run_dir)) == ["checkpoint.npz", "config.json"]
    assert load_run(run_dir).step == 5


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


def test_a_run_without_optimizer_state_loads_but_does_not_resume(tmp_path, trained):
    path = tmp_path / "bare"
    save_run(path, Run(trained.params, CONFIG, trained.losses))
    run = load_run(path)
    assert run.rng is None and run.optimizer is None
    with pytest.raises(ValueError, match="cannot be resumed"):
        train(TrainConfig(steps=8, hidden=(8, 4)), resume=run, stream=None)


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


def write_config(run_dir, header):
    (run_dir / "config.json").write_text(header if isinstance(header, str) else json.dumps(header))


def rewrite_checkpoint(run_dir, change):
    with np.load(run_dir / "checkpoint.npz") as archive:
        arrays = dict(archive)
    change(arrays)
    np.savez(run_dir / "checkpoint.npz", **arrays)


def set_state(arrays, **fields):
    state = json.loads(str(arrays["state"]))
    state.update(fields)
    arrays["state"] = np.array(json.dumps(state))


def save_npy_as(path, array):
    """np.save under any name (np.save itself would add .npy to it)."""
    with open(path, "wb") as file:
        np.save(file, array)


VALID = {"format": "npflow-run", "format_version": 1}


@pytest.mark.parametrize("breakage, message", [
    (lambda d: (d / "config.json").unlink(), "config.json is missing"),
    (lambda d: write_config(d, "{not json"), "is not valid JSON"),
    (lambda d: write_config(d, {"format": "other"}), "is not an npflow run config"),
    (lambda d: write_config(d, {**VALID, "format_version": 99, "config": {}}), "format_version 99"),
    (lambda d: write_config(d, {**VALID, "config": {"steps": -1}}), "invalid config: steps must be a positive integer"),
    (lambda d: write_config(d, {**VALID, "config": {"colour": 1}}), "invalid config"),
    (lambda d: write_config(d, {**VALID, "config": {"steps": 5, "hidden": [8, 5]}}), r"W1 has shape \(8, 4\), expected \(8, 5\)"),
    (lambda d: (d / "checkpoint.npz").unlink(), "checkpoint file .* does not exist"),
    (lambda d: (d / "checkpoint.npz").write_bytes((d / "checkpoint.npz").read_bytes()[:300]), "unreadable or corrupt"),
    (lambda d: (d / "checkpoint.npz").write_bytes(b"garbage" * 10), "is not a NumPy .npy or .npz file"),
    (lambda d: save_npy_as(d / "checkpoint.npz", np.zeros(3)), r"is not an .npz archive \(it holds one array\)"),
    (lambda d: np.savez(d / "checkpoint.npz", W0=np.zeros((3, 8))), "state is missing or unreadable"),
    (lambda d: rewrite_checkpoint(d, lambda a: a.pop("W2")), "holds arrays"),
    (lambda d: rewrite_checkpoint(d, lambda a: a.update(extra=np.zeros(1))), "holds arrays"),
    (lambda d: rewrite_checkpoint(d, lambda a: a.update(state=np.array("[1, 2]"))), "integer 'step' and 'adam_step'"),
    (lambda d: rewrite_checkpoint(d, lambda a: set_state(a, step=9)), "step 9 .* does not fit a run of 5 steps"),
    (lambda d: rewrite_checkpoint(d, lambda a: a.update(losses=np.zeros(4))), r"losses has shape \(4,\), expected \(5,\)"),
    (lambda d: rewrite_checkpoint(d, lambda a: a.update(field_errors=np.zeros(3))), r"field_errors has shape"),
    (lambda d: rewrite_checkpoint(d, lambda a: a.update(adam_v=-a["adam_v"] - 1)), "must not be negative"),
    (lambda d: rewrite_checkpoint(d, lambda a: set_state(a, rng={"bit_generator": "MT19937"})), "not a PCG64 state"),
    (lambda d: rewrite_checkpoint(d, lambda a: set_state(a, rng={"bit_generator": "PCG64", "state": 3})),
     "generator state is invalid"),
])
def test_broken_runs_are_refused_in_one_line(run_dir, breakage, message):
    breakage(run_dir)
    with pytest.raises(RunError, match=message) as error:
        load_run(run_dir)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("change, message", [
    (lambda a: a.update(W0=np.zeros((3, 9))), r"W0 has shape \(3, 9\), expected \(3, 8\)"),
    (lambda a: a.update(b1=np.full(4, np.nan)), "b1 contains NaN"),
    (lambda a: a.update(W2=np.zeros((4, 2), dtype=int)), "W2 has dtype int64, expected floating point"),
    (lambda a: a.update(adam_m=np.full(len(a["adam_m"]), np.inf)), "adam_m contains NaN or infinite"),
    (lambda a: a.update(adam_v=np.ones(7)), r"adam_v has shape \(7,\), expected"),
])
def test_arrays_are_checked_against_the_config(run_dir, change, message):
    rewrite_checkpoint(run_dir, change)
    with pytest.raises(RunError, match=message):
        load_run(run_dir)


class Exploit:
    """Unpickling this creates a file: proof that code ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.parametrize("key", ["W0", "state", "losses"])
def test_a_pickle_in_the_checkpoint_is_refused_and_never_runs(run_dir, tmp_path, key):
    marker = tmp_path / "pwned"
    payload = np.empty(1, dtype=object)
    payload[0] = Exploit(str(marker))
    rewrite_checkpoint(run_dir, lambda a: a.update({key: payload}))
    with pytest.raises(RunError, match=key) as error:
        load_run(run_dir)
    assert "pickle" in str(error.value)
    assert not marker.exists()


def test_the_exploit_is_real(tmp_path):
    """The payload above does run code when a careless loader allows pickles."""
    marker = tmp_path / "pwned"
    payload = np.empty(1, dtype=object)
    payload[0] = Exploit(str(marker))
    np.save(tmp_path / "x.npy", payload, allow_pickle=True)
    np.load(tmp_path / "x.npy", allow_pickle=True)
    assert marker.exists()


def test_missing_run_directory(tmp_path):
    with pytest.raises(RunError, match="does not exist"):
        load_run(tmp_path / "nowhere")


def test_a_run_keeps_its_own_copy_of_its_data_files(tmp_path):
    """Trained from files, a run resumes to the same bits after the files are gone."""
    from npflow.data.datasets import get_dataset

    rng = np.random.default_rng(0)
    data, source = str(tmp_path / "data.csv"), str(tmp_path / "source.npy")
    np.savetxt(data, get_dataset("moons").sample(300, rng), delimiter=",")
    np.save(source, get_dataset("eight_gaussians").sample(300, rng))
    config = TrainConfig(dataset=data, source=source, steps=20, hidden=(8,))
    whole = train(config, stream=None)
    half = train(replace(config, steps=10), stream=None)
    save_run(tmp_path / "run", half)
    os.remove(data), os.remove(source)
    with open(tmp_path / "run" / "config.json") as file:
        fields = json.load(file)["config"]
    assert (fields["dataset"], fields["source"]) == ("data.npy", "source.npy")  # named by the copies
    loaded = load_run(tmp_path / "run")
    assert loaded.config.dataset == os.path.join(str(tmp_path / "run"), "data.npy")
    resumed = train(replace(loaded.config, steps=20), resume=loaded, stream=None)
    for (W, b), (W_whole, b_whole) in zip(resumed.params, whole.params):
        np.testing.assert_array_equal(W, W_whole)
        np.testing.assert_array_equal(b, b_whole)


def test_a_config_naming_an_outside_file_is_refused(run_dir, tmp_path):
    path = run_dir / "config.json"
    header = json.loads(path.read_text())
    header["config"]["dataset"] = str(tmp_path / "elsewhere.npy")
    path.write_text(json.dumps(header))
    with pytest.raises(RunError, match="a run reads only its own copy, data.npy"):
        load_run(run_dir)


def test_a_conditional_run_keeps_its_points_with_their_labels(tmp_path):
    """From an .npz of points and labels, the run keeps data.npz and resumes to the same bits after the file is gone."""
    from npflow.data.datasets import get_dataset

    x, y = get_dataset("gmm").sample_labelled(300, np.random.default_rng(0))
    data = str(tmp_path / "labelled.npz")
    np.savez(data, x=x, y=y)
    config = TrainConfig(dataset=data, steps=20, hidden=(8,), options={"conditional": True})
    whole = train(config, stream=None)
    save_run(tmp_path / "run", train(replace(config, steps=10), stream=None))
    os.remove(data)
    assert json.loads((tmp_path / "run" / "config.json").read_text())["config"]["dataset"] == "data.npz"
    loaded = load_run(tmp_path / "run")
    np.testing.assert_array_equal(get_dataset(loaded.config.dataset).sample_labelled(50, np.random.default_rng(1))[1],
                                  y[np.random.default_rng(1).integers(0, 300, 50)])
    resumed = train(replace(loaded.config, steps=20), resume=loaded, stream=None)
    for (W, b), (W_whole, b_whole) in zip(resumed.params, whole.params):
        np.testing.assert_array_equal(W, W_whole)
        np.testing.assert_array_equal(b, b_whole)
