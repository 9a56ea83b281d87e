"""The command line of conditional runs: train --conditional, and --label / --guidance in sample, evaluate, plot."""
import json
import struct

import numpy as np
import pytest

from npflow import load_run
from npflow.core.sampling import generate
from npflow.guidance.labels import equal_shares
from npflow.cli import main

TINY = ["--steps", "30", "--hidden", "8", "--batch-size", "16", "--quiet"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A conditional run on gmm (3 classes) and an unconditional one."""
    folder = tmp_path_factory.mktemp("labels")
    assert main(["train", *TINY, "--dataset", "gmm", "--conditional", "--out", str(folder / "cond")]) == 0
    assert main(["train", *TINY, "--dataset", "gmm", "--out", str(folder / "plain")]) == 0
    return folder


def test_train_conditional_writes_a_run_with_the_one_hot_in_its_input(runs):
    run = load_run(runs / "cond")
    assert run.config.options.conditional and run.config.options.p_uncond == 0.2 and run.config.num_classes == 3
    assert run.params[0][0].shape == (1 + 2 + 3 + 1, 8)


@pytest.mark.parametrize("labels, guidance", [(["all"], None), (["2", "--label", "0"], "2.5")])
def test_sample_with_labels_saves_x_and_y_as_the_library_makes_them(runs, tmp_path, capsys, labels, guidance):
    out = tmp_path / "x.npz"
    argv = ["sample", str(runs / "cond"), "--n", "30", "--steps", "10", "--seed", "4", "--label", *labels,
            *(["--guidance", guidance] if guidance else []), "--out", str(out)]
    assert main(argv) == 0
    run, classes = load_run(runs / "cond").astype(np.float32), [0, 1, 2] if labels == ["all"] else [2, 0]
    y = equal_shares(np.array(classes), 30)
    x_0 = np.random.default_rng(4).standard_normal((30, 2)).astype(np.float32)  # float32 by default
    expected = generate(run.guided_velocity(y, float(guidance or 0)), x_0, steps=10).x[-1]
    with np.load(out) as saved:
        assert saved.files == ["x", "y"]
        np.testing.assert_array_equal(saved["y"], y)
        np.testing.assert_array_equal(saved["x"], expected)
    assert np.bincount(y, minlength=3)[classes].tolist() == [30 // len(classes)] * len(classes)  # equal shares


def test_labelled_samples_are_a_dataset_a_conditional_run_trains_on(runs, tmp_path):
    out = tmp_path / "drawn.npz"
    assert main(["sample", str(runs / "cond"), "--n", "40", "--steps", "5", "--label", "all", "--out", str(out)]) == 0
    assert main(["train", *TINY, "--dataset", str(out), "--conditional", "--out", str(tmp_path / "again")]) == 0
    run = load_run(tmp_path / "again")
    assert run.config.dataset.endswith("data.npz") and run.config.num_classes == 3
    assert main(["train", "--resume", str(tmp_path / "again"), "--steps", "40", "--quiet"]) == 0


def test_a_conditional_run_resumes_to_the_bits_of_an_uninterrupted_one(tmp_path):
    recipe = ["--steps", "20", "--hidden", "8", "--batch-size", "16", "--quiet", "--dataset", "moons", "--conditional",
              "--p-uncond", "0.5", "--coupling", "ot", "--grad", "backprop", "--dtype", "float32"]
    assert main(["train", *recipe, "--out", str(tmp_path / "whole")]) == 0
    assert main(["train", *recipe, "--steps", "8", "--out", str(tmp_path / "half")]) == 0
    assert main(["train", "--resume", str(tmp_path / "half"), "--steps", "20", "--quiet"]) == 0
    with np.load(tmp_path / "whole" / "checkpoint.npz") as a, np.load(tmp_path / "half" / "checkpoint.npz") as b:
        for key in a.files:
            np.testing.assert_array_equal(a[key], b[key])


def test_evaluate_reports_each_label_against_the_exact_field(runs, capsys):
    assert main(["evaluate", str(runs / "cond"), "--n", "60", "--steps", "10"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    header = lines[lines.index("(60 target points, ± one standard error: sd / sqrt(n) for a mean, else a bootstrap of "
                               "50 resamples; NFE 40, solver rk4)") + 1]
    assert header.split() == ["label", "s_k", "in", "class", "spread", "shift", "energy", "distance", "field", "error"]
    assert out.count("±") >= 11 + 3 * 5  # every figure, and every figure of every label
    assert "field error vs exact field" in out  # the unconditional field's, as for any run
    assert main(["evaluate", str(runs / "cond"), "--n", "60", "--steps", "10", "--label", "1", "--guidance", "3",
                 "--json"]) == 0
    labels = json.loads(capsys.readouterr().out)["labels"]
    assert labels["label"] == [1] and labels["guidance"] == 3.0 and labels["s_k"] == [0.9]
    assert 0 <= labels["share"][0] <= 1 and labels["field_error"][0] > 0
    assert all(labels[f"{key}_stderr"][0] >= 0 for key in ("share", "spread", "shift", "energy_distance",
                                                           "field_error"))


def test_evaluate_an_unconditional_run_has_no_label_table(runs, capsys):
    assert main(["evaluate", str(runs / "plain"), "--n", "40", "--steps", "5"]) == 0
    assert "in class" not in capsys.readouterr().out


@pytest.mark.parametrize("argv", [["--kind", "guidance"], ["--kind", "guidance", "--label", "0", "--label", "2"],
                                  ["--kind", "field", "--label", "1", "--guidance", "2"],
                                  ["--kind", "samples", "--label", "all", "--guidance", "-1"]])
def test_plot_draws_guided_fields(runs, tmp_path, argv):
    out = tmp_path / "figure.png"
    assert main(["plot", str(runs / "cond"), "--n", "60", "--steps", "5", *argv, "--out", str(out)]) == 0
    assert out.stat().st_size > 10_000
    with open(out, "rb") as file:
        width, height = struct.unpack(">II", file.read(24)[16:24])  # the PNG header's IHDR
    assert max(width, height) >= 800


def test_export_of_a_conditional_run_says_what_the_weights_do_not_carry(runs, tmp_path, capsys):
    assert main(["export", str(runs / "cond"), "--out", str(tmp_path / "w.npz")]) == 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "first layer takes [t, x, onehot(y)], 7 inputs of which the last 4" in err
    with np.load(tmp_path / "w.npz") as weights:
        assert weights["net.0.weight"].shape == (8, 7)


BAD = [
    (["sample", "COND", "--label", "3"], "--label 3 is not a class of this run: expected 0..2 or all"),
    (["sample", "PLAIN", "--label", "0"], "--label needs a conditional run (npflow train --conditional)"),
    (["sample", "COND", "--label", "0", "--guidance", "nan"], "argument --guidance: expected a finite number, got 'nan'"),
    (["sample", "COND", "--label", "0", "--guidance", "inf"], "expected a finite number, got 'inf'"),
    (["sample", "COND", "--guidance", "1"], "--guidance guides the field towards a class: give --label K"),
    (["sample", "PLAIN", "--guidance", "1"], "--guidance needs a conditional run (npflow train --conditional)"),
    (["sample", "COND", "--label", "-1"], "argument --label: expected a class number 0, 1, 2, ... or all, got '-1'"),
    (["sample", "COND", "--label", "all", "--label", "1"], "--label all asks for every class; give it alone"),
    (["sample", "COND", "--label", "0", "OUT=x.npy"], "--label saves the samples with their labels, as an .npz"),
    (["evaluate", "COND", "--label", "5"], "--label 5 is not a class of this run"),
    (["evaluate", "PLAIN", "--label", "0"], "--label needs a conditional run"),
    (["plot", "COND", "--kind", "field", "--label", "all"], "this figure draws one field at a grid of points"),
    (["plot", "PLAIN", "--kind", "guidance"], "--kind guidance needs a conditional run"),
    (["plot", "COND", "--kind", "guidance", "--guidance", "2"], "--kind guidance draws w = -1, 0, 0.5, 1, 2, 4"),
    (["plot", "COND", "--kind", "samples", "--label", "7"], "--label 7 is not a class of this run"),
    (["train", "--dataset", "spirals", "--conditional"], "dataset 'spirals' has no labels"),
    (["train", "--p-uncond", "0.3"], "p_uncond is the label dropout of a conditional run"),
    (["train", "--conditional", "--p-uncond", "1.5"], "argument --p-uncond: expected a probability in [0, 1]"),
    (["train", "--conditional", "--dataset", "DIR/plain.npy"], "has no labels; a conditional run needs one"),
    (["train", "--conditional", "--dataset", "DIR/float_y.npz"], "y must hold integer labels, got dtype float64"),
    (["train", "--conditional", "--dataset", "DIR/short_y.npz"], "y must hold one label per point, shape (4,)"),
    (["train", "--conditional", "--dataset", "DIR/gap_y.npz"], "class 1 has no examples"),
    (["train", "--dataset", "DIR/gap_y.npz"], "class 1 has no examples"),  # checked for an unconditional run too
    (["train", "--conditional", "--coupling", "pairs", "--pairs-file", "DIR/pairs.npz"],
     "coupling 'pairs' draws from a table of pairs without labels"),
    (["reflow", "COND"], "coupling 'pairs' draws from a table of pairs without labels"),
]


@pytest.mark.parametrize("argv, message", BAD, ids=[message[:40] for _, message in BAD])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(runs, tmp_path, capsys, argv, message):
    np.save(tmp_path / "plain.npy", np.zeros((4, 2)))
    np.savez(tmp_path / "float_y.npz", x=np.zeros((4, 2)), y=np.zeros(4))
    np.savez(tmp_path / "short_y.npz", x=np.zeros((4, 2)), y=np.zeros(3, dtype=int))
    np.savez(tmp_path / "gap_y.npz", x=np.zeros((4, 2)), y=np.array([0, 2, 2, 0]))
    np.savez(tmp_path / "pairs.npz", x_0=np.zeros((4, 2)), x_1=np.ones((4, 2)))
    out = tmp_path / {"sample": "x.npz", "plot": "f.png"}.get(argv[0], "new_run")
    out = tmp_path / argv.pop()[4:] if argv[-1].startswith("OUT=") else out
    argv = [{"COND": str(runs / "cond"), "PLAIN": str(runs / "plain")}.get(a, a.replace("DIR", str(tmp_path)))
            for a in argv]
    if argv[0] != "evaluate":
        argv += ["--out", str(out)]
    try:
        status = main(argv)
    except SystemExit as exit_info:  # argparse's own refusals
        status = exit_info.code
    assert status == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err
    assert not out.exists()


def test_evaluate_a_conditional_run_without_modes_reports_the_energy_distance_per_class(tmp_path, capsys):
    assert main(["train", *TINY, "--dataset", "checkerboard", "--conditional", "--out", str(tmp_path / "board")]) == 0
    assert main(["evaluate", str(tmp_path / "board"), "--n", "80", "--steps", "5", "--label", "0", "--label", "7"]) == 0
    out = capsys.readouterr().out
    assert "label  energy distance\n    0  " in out and "\n    7  " in out and "in class" not in out
    assert "the energy distance of the samples asked for k to the target's class k" in out


@pytest.fixture(scope="module")
def ten_classes(tmp_path_factory):
    """A conditional run with ten classes, trained on a small labelled table."""
    folder = tmp_path_factory.mktemp("ten")
    rng = np.random.default_rng(0)
    y = np.arange(200) % 10
    np.savez(folder / "data.npz", x=rng.standard_normal((200, 2)) + y[:, None], y=y)
    assert main(["train", *TINY, "--dataset", str(folder / "data.npz"), "--conditional", "--out",
                 str(folder / "run")]) == 0
    return folder / "run"


@pytest.mark.parametrize("command", ["sample", "evaluate"])
def test_label_all_with_fewer_points_than_classes_is_refused_naming_the_smallest_n(ten_classes, tmp_path, capsys,
                                                                                    command):
    out = ["--out", str(tmp_path / "x.npz")] if command == "sample" else []
    assert main([command, str(ten_classes), "--label", "all", "--n", "7", "--steps", "2", *out]) == 2
    err = capsys.readouterr().err
    assert err == (f"npflow {command}: error: --n 7 cannot give each of the 10 classes asked for a sample: the "
                   "smallest --n that does is 10\n")
    assert not (tmp_path / "x.npz").exists()


def test_label_all_spreads_the_remainder_one_sample_a_class_and_says_so(ten_classes, tmp_path, capsys):
    out = tmp_path / "x.npz"
    assert main(["sample", str(ten_classes), "--label", "all", "--n", "23", "--steps", "2", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert err == ("npflow sample: note: --n 23 does not divide among 10 classes: 3 samples each for the first 3 "
                   "(classes 0, 1, 2), 2 for the other 7\n")
    with np.load(out) as saved:
        assert sorted(np.bincount(saved["y"], minlength=10)) == [2] * 7 + [3] * 3
    assert main(["sample", str(ten_classes), "--label", "all", "--n", "30", "--steps", "2", "--out",
                 str(tmp_path / "y.npz")]) == 0
    assert capsys.readouterr().err == ""  # ten classes divide 30: nothing to say
