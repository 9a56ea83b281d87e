"""One writer per run: a second writer is refused naming the first; a lock left by a killed writer is taken over."""
import os
import signal
import subprocess
import sys
import time

import pytest

from npflow import load_run
from npflow.cli import main
from npflow.plumbing.lock import LOCK_FILE, RunBusy, RunLock, is_locked, lock_holder

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="runs are locked with flock, which Windows lacks")

QUICK = ["--hidden", "8", "--batch-size", "16", "--quiet"]


def start_training(cwd, out, steps=10_000_000):
    """A long ``npflow train`` in another process, returned once it holds the lock of ``out``."""
    process = subprocess.Popen([sys.executable, "-m", "npflow", "train", "--steps", str(steps), *QUICK,
                                "--checkpoint-every", "200", "--out", out], cwd=cwd, stderr=subprocess.PIPE, text=True)
    run_dir = os.path.join(cwd, out)
    deadline = time.monotonic() + 60
    while not (is_locked(run_dir) and os.path.exists(os.path.join(run_dir, "checkpoint.npz"))):
        assert process.poll() is None, process.stderr.read()
        assert time.monotonic() < deadline, "the writer never took its lock"
        time.sleep(0.05)
    return process


def run_bytes(run_dir):
    return {name: (run_dir / name).read_bytes() for name in ("config.json", "checkpoint.npz")}


@pytest.mark.slow
def test_a_second_writer_is_refused_naming_the_first(tmp_path, capsys):
    writer = start_training(tmp_path, "run")
    try:
        second = subprocess.run([sys.executable, "-m", "npflow", "train", "--steps", "20", *QUICK, "--recipe", "fast",
                                 "--out", "run", "--force"], cwd=tmp_path, capture_output=True, text=True)
        assert second.returncode == 2, second.stderr
        assert second.stderr.count("\n") == 1 and "Traceback" not in second.stderr
        assert f"is being written by another process (pid {writer.pid}: npflow train --steps" in second.stderr
        assert main(["train", "--resume", str(tmp_path / "run"), "--quiet"]) == 2  # resuming is writing too
        assert f"pid {writer.pid}" in capsys.readouterr().err
        assert main(["sample", str(tmp_path / "run"), "--n", "3", "--out", str(tmp_path / "x.npy")]) == 0  # reading is not
        assert "is still training" in capsys.readouterr().err
    finally:
        writer.send_signal(signal.SIGINT)  # the writer saves its checkpoint and lets its lock go
        assert writer.wait(timeout=60) == 130
    run = load_run(tmp_path / "run")
    assert run.config.steps == 10_000_000 and run.config.grad == "autograd"  # the first writer's run, not the fast one
    assert not (tmp_path / "run" / LOCK_FILE).exists()
    assert main(["sample", str(tmp_path / "run"), "--n", "3", "--out", str(tmp_path / "y.npy")]) == 0
    assert f"was interrupted at step {run.step} of 10000000" in capsys.readouterr().err


def test_a_lock_left_by_a_killed_writer_is_taken_over(tmp_path, capsys):
    writer = start_training(tmp_path, "run")
    writer.kill()  # SIGKILL: no chance to clean up
    writer.wait(timeout=60)
    run_dir = tmp_path / "run"
    assert f"pid {writer.pid}" in lock_holder(run_dir) and not is_locked(run_dir)  # the file stays, the flock went
    assert main(["sample", str(run_dir), "--n", "3", "--out", str(tmp_path / "x.npy")]) == 0
    assert "without a word (its process was killed?); resume with: npflow train --resume" in capsys.readouterr().err
    step = load_run(run_dir).step
    assert main(["train", "--resume", str(run_dir), "--steps", str(step + 10), "--quiet"]) == 0
    assert load_run(run_dir).step == step + 10 and not (run_dir / LOCK_FILE).exists()
    assert main(["sample", str(run_dir), "--n", "3", "--out", str(tmp_path / "y.npy")]) == 0
    assert capsys.readouterr().err == ""  # finished now: nothing to say


def test_force_cannot_replace_a_run_that_is_being_written(tmp_path, capsys):
    assert main(["train", "--steps", "5", *QUICK, "--out", str(tmp_path / "run")]) == 0
    before = run_bytes(tmp_path / "run")
    with RunLock(tmp_path / "run", command="npflow train --out run"):
        assert main(["train", "--steps", "5", "--seed", "1", *QUICK, "--out", str(tmp_path / "run"), "--force"]) == 2
        assert f"(pid {os.getpid()}: npflow train --out run)" in capsys.readouterr().err
        with pytest.raises(RunBusy):
            RunLock(tmp_path / "run").acquire()
    assert run_bytes(tmp_path / "run") == before
    assert main(["train", "--steps", "5", "--seed", "1", *QUICK, "--out", str(tmp_path / "run"), "--force"]) == 0
    assert load_run(tmp_path / "run").config.seed == 1


def test_a_lock_is_released_and_its_file_removed(tmp_path):
    lock = RunLock(tmp_path, command="test").acquire()
    assert is_locked(tmp_path) and lock_holder(tmp_path) == f"pid {os.getpid()}: test"
    lock.release()
    assert not is_locked(tmp_path) and not (tmp_path / LOCK_FILE).exists()
    with RunLock(tmp_path):  # and it can be taken again
        assert is_locked(tmp_path)
