import os

import numpy as np
import pytest

from npflow.plumbing import threads
from npflow.cli import main
from npflow.plumbing.io import save_run
from npflow.runs.config import TrainConfig
from npflow.runs.loop import train
from npflow.runs.run import start_run

needs_openblas = pytest.mark.skipif(threads.blas_threads() is None, reason="no OpenBLAS found in this process")


@pytest.fixture
def one_thread_after():
    yield
    threads.set_blas_threads(1)  # as conftest left it


@pytest.mark.parametrize("text, expected", [(None, "auto"), ("auto", "auto"), (" AUTO ", "auto"), ("3", 3)])
def test_the_setting_is_auto_or_a_count(text, expected):
    assert threads.requested({} if text is None else {threads.SETTING: text}) == expected


@pytest.mark.parametrize("text", ["0", "-1", "two", "1.5"])
def test_a_bad_setting_is_named_in_one_line(text):
    with pytest.raises(ValueError, match=f"NPFLOW_THREADS must be 'auto' or a positive integer, got '{text}'"):
        threads.requested({threads.SETTING: text})


def test_auto_takes_one_thread_below_the_size_where_a_second_pays():
    assert threads.threads_for(threads.PAYS_FROM - 1, cores_free=8) == 1
    assert threads.threads_for(threads.PAYS_FROM, cores_free=8) == 8
    assert threads.threads_for(threads.PAYS_FROM, cores_free=0) == 1  # a busy machine
    assert threads.threads_for(threads.PAYS_FROM, cores_free=8, cap=2) == 2  # the user's OPENBLAS_NUM_THREADS


def test_free_cores_are_at_least_one_and_at_most_the_processs():
    assert 1 <= threads.free_cores() <= os.cpu_count()


@needs_openblas
def test_the_count_reaches_openblas(one_thread_after):
    assert threads.set_blas_threads(2) >= 1
    assert threads.blas_threads() == 2
    assert threads.use_threads(environ={threads.SETTING: "1"}) == 1
    assert threads.blas_threads() == 1
    big = 2 * threads.PAYS_FROM
    assert threads.use_threads(big, environ={threads.SETTING: "auto", "OPENBLAS_NUM_THREADS": "1"}) == 1
    assert threads.use_threads(0, environ={}) == 1


def test_command_work_reads_the_arguments_and_the_run(tmp_path):
    assert threads.command_work({}) == 128 * 128 * 128  # the tutorial's batch and width
    assert threads.command_work({"command": "demo", "n": 4000}) == 128 * 128 * 128  # the demo's time is training
    assert threads.command_work({"batch_size": 256, "hidden": (512, 64)}) == 256 * 512 * 512
    assert threads.command_work({"n": 1024, "run_dir": str(tmp_path / "none")}) == 1024 * 128 * 128
    save_run(str(tmp_path / "run"), start_run(TrainConfig(hidden=(32, 96), batch_size=64)))
    assert threads.command_work({"n": 2000, "run_dir": str(tmp_path / "run")}) == 2000 * 96 * 96
    assert threads.command_work({"resume": str(tmp_path / "run"), "batch_size": None}) == 64 * 96 * 96


@needs_openblas
def test_the_thread_count_changes_no_bit(one_thread_after):
    """Products large enough for OpenBLAS to split them: the same training run at one thread and at two."""
    config = TrainConfig(steps=5, batch_size=512, hidden=(256, 256), grad="backprop")
    runs = []
    for count in (1, 2):
        threads.set_blas_threads(count)
        runs.append(train(config, stream=None))
    for (W_1, b_1), (W_2, b_2) in zip(runs[0].params, runs[1].params):
        np.testing.assert_array_equal(W_1, W_2)
        np.testing.assert_array_equal(b_1, b_2)


def test_the_command_refuses_a_bad_setting_in_one_line(tmp_path, monkeypatch, capsys):
    save_run(str(tmp_path / "run"), start_run(TrainConfig()))
    monkeypatch.setenv(threads.SETTING, "many")
    out = tmp_path / "weights.npz"
    assert main(["export", str(tmp_path / "run"), "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert error == "npflow export: error: NPFLOW_THREADS must be 'auto' or a positive integer, got 'many'\n"
    assert not out.exists()
