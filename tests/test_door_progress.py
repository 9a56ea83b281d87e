"""Long sampling and scoring show their progress on stderr, and an --n whose arrays cannot fit is refused in one
line that says which --n would."""
import re
import sys

import numpy as np
import pytest

from npflow import load_run
from npflow.cli import main
from npflow.core.sampling import generate, noise
from npflow.plumbing import memory, progress
from npflow.plumbing.progress import ChunkProgress

TINY = ["--steps", "30", "--hidden", "8", "--batch-size", "16", "--quiet"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("door") / "run"
    assert main(["train", *TINY, "--out", str(path)]) == 0
    return path


class Clock:
    """A clock that moves only when told to."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_short_work_shows_nothing_and_long_work_a_throttled_line_and_the_last(capsys):
    clock = Clock()
    short = ChunkProgress("sample", 1000, sys.stderr, clock)
    for done in (64, 500, 1000):
        clock.now += 0.1  # 0.2 s for 500 points, too short to estimate from; then done
        short(done)
    assert capsys.readouterr().err == ""
    clock = Clock()
    long = ChunkProgress("logprob", 1000, sys.stderr, clock)
    for done in (100, 200, 300, 1000):
        clock.now += 0.6  # 6 s in all
        long(done)
    assert capsys.readouterr().err.splitlines() == [
        "logprob: 100/1,000 points  167 points/s  ETA 5s",  # 0.6 s of 6: shown, then at most a line a second
        "logprob: 300/1,000 points  167 points/s  ETA 4s",
        "logprob: 1,000/1,000 points  417 points/s  ETA 0s",
    ]


@pytest.fixture
def every_chunk(monkeypatch):
    """Progress after every chunk of 64 points, however quick."""
    monkeypatch.setattr(progress, "LONG", 0.0)
    monkeypatch.setattr(progress, "MEASURE", 0.0)
    monkeypatch.setattr(progress, "EVERY", 0.0)
    monkeypatch.setattr(memory, "CHUNK_BYTES", 1)


@pytest.mark.parametrize("command", ["sample", "logprob"])
def test_the_commands_report_after_each_chunk_unless_quiet(run_dir, tmp_path, capsys, every_chunk, command):
    np.save(tmp_path / "points.npy", np.random.default_rng(0).standard_normal((200, 2)))
    what = ["--n", "200"] if command == "sample" else ["--points", str(tmp_path / "points.npy")]
    argv = [command, str(run_dir), *what, "--steps", "2", "--out", str(tmp_path / "out.npy"), "--force"]
    assert main(argv) == 0
    lines = capsys.readouterr().err.splitlines()
    assert [line.split("  ")[0] for line in lines] == [f"{command}: {done}/200 points" for done in (64, 128, 192, 200)]
    assert all(re.fullmatch(r".*  [\d,]+ points/s  ETA \d+s", line) for line in lines), lines
    assert main([*argv, "--quiet"]) == 0
    assert capsys.readouterr().err == ""


def test_a_million_samples_show_progress(run_dir, tmp_path, capsys, monkeypatch):
    """One Euler step keeps it quick; the progress is asked for whatever the time."""
    monkeypatch.setattr(progress, "LONG", 0.0)
    monkeypatch.setattr(progress, "MEASURE", 0.0)
    out = tmp_path / "x.npy"
    assert main(["sample", str(run_dir), "--n", "1000000", "--solver", "euler", "--steps", "1", "--out", str(out)]) == 0
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("sample: 64/1,000,000 points  ") and lines[-1].startswith("sample: 1,000,000/1,000,000")


def test_chunks_after_the_first_keep_the_bits_of_one_batch(run_dir, tmp_path, monkeypatch):
    """Chunks of 64, then 128, 128 and 44 points: every chunk starts at a multiple of 64 rows."""
    run = load_run(run_dir).astype("float32")
    one_batch = generate(run.velocity, noise(364, 2, np.random.default_rng(7)).astype("float32"), "rk4", steps=5).x[-1]
    monkeypatch.setattr(memory, "CHUNK_BYTES", 2 * memory.network_bytes(run.config.layer_sizes, 64))  # 128 rows
    rows_seen = []
    real_velocity = type(run).velocity
    monkeypatch.setattr(type(run), "velocity", lambda self, t, x: rows_seen.append(len(x)) or real_velocity(self, t, x))
    argv = ["sample", str(run_dir), "--n", "364", "--seed", "7", "--steps", "5", "--out", str(tmp_path / "x.npy")]
    assert main(argv) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "x.npy"), one_batch)
    assert sorted(set(rows_seen)) == [44, 64, 128] and len(rows_seen) == 4 * 20


def refused(capsys, argv, tmp_path):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and list(tmp_path.iterdir()) == [], err
    return err


def test_an_n_too_large_is_refused_with_the_largest_n_that_fits(run_dir, tmp_path, capsys, monkeypatch):
    """On a machine with 10 MB free, 2,431 points fit: the run's chunk (network and trajectory) is the most of it."""
    monkeypatch.setattr(memory, "available_bytes", lambda: 10**7)
    out = str(tmp_path / "x.npy")
    err = refused(capsys, ["sample", str(run_dir), "--n", "1000000", "--out", out], tmp_path)
    assert err == ("npflow sample: error: --n 1000000 needs about 376 MB of memory for its arrays, and this machine "
                   "has 10 MB available; ask for less: --n 2400 with --steps 100 fits\n")
    refused(capsys, ["sample", str(run_dir), "--n", "2500", "--out", out], tmp_path)
    assert main(["sample", str(run_dir), "--n", "2400", "--out", out]) == 0


def test_the_trajectory_of_a_chunk_is_counted(run_dir, tmp_path, capsys):
    """10^8 steps of 100,000 points: 200 TB of recorded steps, refused before any work."""
    err = refused(capsys, ["sample", str(run_dir), "--n", "100000", "--steps", "100000000",
                           "--out", str(tmp_path / "x.npy")], tmp_path)
    assert re.search(r"ask for less: --n \d+ with --steps 100000000 fits$", err.strip()), err


@pytest.mark.parametrize("units", [[], ["--units", "model"]])
def test_logprob_refuses_points_too_many_for_memory(run_dir, tmp_path, capsys, monkeypatch, units):
    np.save(tmp_path / "points.npy", np.zeros((5000, 2)))
    monkeypatch.setattr(memory, "available_bytes", lambda: 10**6)
    assert main(["logprob", str(run_dir), "--points", str(tmp_path / "points.npy"), *units,
                 "--out", str(tmp_path / "l.npy")]) == 2
    err = capsys.readouterr().err
    assert "--n 5000 needs about" in err and "fits" in err and err.count("\n") == 1 and not (tmp_path / "l.npy").exists()


def test_evaluate_reports_its_likelihoods_progress_unless_quiet(run_dir, capsys, every_chunk):
    argv = ["evaluate", str(run_dir), "--n", "200", "--steps", "2"]
    assert main(argv) == 0
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("evaluate: log p")]
    assert [line.split("  ")[0] for line in lines] == [f"evaluate: log p: {done}/200 points"
                                                       for done in (64, 128, 192, 200)]
    assert main([*argv, "--quiet"]) == 0
    assert "evaluate: log p" not in capsys.readouterr().err
