import json
import os
import subprocess
import sys

import numpy as np
import pytest

from npflow import load_run
from npflow.cli import main

TINY = ["--steps", "30", "--hidden", "8", "--batch-size", "16", "--quiet"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "run"
    assert main(["train", *TINY, "--out", str(path)]) == 0
    return path


def test_train_writes_a_run(run_dir):
    run = load_run(run_dir)
    assert run.config.steps == 30 and run.config.hidden == (8,) and run.losses.shape == (30,)


def test_train_with_hand_written_backprop(tmp_path):
    assert main(["train", *TINY, "--grad", "backprop", "--out", str(tmp_path / "run")]) == 0
    assert load_run(tmp_path / "run").config.grad == "backprop"


@pytest.mark.parametrize("solver", ["rk4", "euler", "RK45", "dop853"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sample_is_generate_from_seeded_noise(run_dir, tmp_path, capsys, solver, dtype):
    """``npflow sample`` saves, bit for bit, what the library's generate makes from noise(n, d, default_rng(seed)),
    with the run and the noise in --dtype (float32 unless given)."""
    from npflow.core.sampling import generate, noise

    out = tmp_path / "x.npy"
    argv = ["sample", str(run_dir), "--n", "25", "--solver", solver, "--steps", "10", "--seed", "7", "--out", str(out)]
    assert main(argv + ([] if dtype == "float32" else ["--dtype", dtype])) == 0
    dtype = dtype if solver in ("rk4", "euler") else "float64"  # scipy's adaptive solvers work in float64
    x_0 = noise(25, 2, np.random.default_rng(7)).astype(dtype)
    expected = generate(load_run(run_dir).astype(dtype).velocity, x_0, "DOP853" if solver == "dop853" else solver,
                        steps=10)
    assert np.load(out).dtype == dtype
    np.testing.assert_array_equal(np.load(out), expected.x[-1])
    printed = capsys.readouterr().out
    assert f"NFE {expected.nfe}," in printed and " s;" in printed


def test_same_command_twice_gives_the_same_bits(run_dir, tmp_path):
    other = tmp_path / "again"
    assert main(["train", *TINY, "--out", str(other)]) == 0
    assert (other / "config.json").read_bytes() == (run_dir / "config.json").read_bytes()
    with np.load(other / "checkpoint.npz") as a, np.load(run_dir / "checkpoint.npz") as b:
        assert a.files == b.files
        for key in a.files:
            np.testing.assert_array_equal(a[key], b[key])
    for name in ("a.npy", "b.npy"):
        assert main(["sample", str(run_dir), "--n", "50", "--seed", "3", "--out", str(tmp_path / name)]) == 0
    assert (tmp_path / "a.npy").read_bytes() == (tmp_path / "b.npy").read_bytes()


def test_demo_quick(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--steps", "50", "--n", "200", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["loss.png", "run", "samples.png", "summary.txt"]
    table = capsys.readouterr().out
    assert "tutorial's sampler (wrong)" in table and "RK45" in table
    assert load_run(out / "run").config.steps == 50


BAD_INPUTS = [
    (["train", "--steps", "0"], "--steps: expected a positive integer, got '0'"),
    (["train", "--batch-size", "-5"], "--batch-size: expected a positive integer, got '-5'"),
    (["train", "--sigma-min", "1"], "--sigma-min: expected a number in [0, 1), got '1'"),
    (["train", "--sigma-min", "-0.1"], "--sigma-min: expected a number in [0, 1)"),
    (["train", "--lr", "nan"], "--lr: expected a finite positive number, got 'nan'"),
    (["train", "--lr=-1e-3"], "--lr: expected a finite positive number"),
    (["train", "--lr", "inf"], "--lr: expected a finite positive number"),
    (["train", "--hidden", "128,,128"], "--hidden: expected comma-separated positive layer widths"),
    (["train", "--hidden", "128,0"], "--hidden: expected comma-separated positive layer widths"),
    (["train", "--activation", "gelu"], "invalid choice: 'gelu'"),
    (["train", "--grad", "jax"], "invalid choice: 'jax'"),
    (["train", "--ema", "1"], "--ema: expected a decay in [0, 1) such as 0.999, got '1'"),
    (["train", "--recipe", "turbo"], "invalid choice: 'turbo'"),
    (["sample", "RUN", "--n", "0"], "--n: expected a positive integer, got '0'"),
    (["sample", "RUN", "--solver", "rk5"], "--solver: expected one of euler, midpoint"),
    (["sample", "RUN", "--steps", "x"], "--steps: expected a positive integer, got 'x'"),
    (["sample", "RUN", "--rtol", "0"], "--rtol: expected a finite positive number"),
    (["train", "--objective", "mean_flow"], "invalid choice: 'mean_flow' (choose from 'cfm', 'discrete', 'meanflow')"),
    (["train", "--predict", "epsilon"], "invalid choice: 'epsilon'"),
    (["sample", "RUN", "--solver", "euler-maruyama", "--diffusion", "-1"], "--diffusion: expected a finite number >= 0"),
    (["sample", "RUN", "--solver", "euler-maruyama", "--diffusion", "inf"], "--diffusion: expected a finite number >= 0"),
    (["sample", "RUN", "--solver", "euler-maruyama", "--diffusion", "nan"], "--diffusion: expected a finite number >= 0"),
    (["sample", "RUN", "--solver", "ddpm", "--eta", "1.5"], "--eta: expected a number in [0, 1], got '1.5'"),
    (["logprob", "RUN", "--points", "p.npy", "--solver", "ddpm"], "--solver: expected one of euler, midpoint"),
]


@pytest.mark.parametrize("argv, message", BAD_INPUTS)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, run_dir, capsys, argv, message):
    out = tmp_path / ("x.npy" if argv[0] == "sample" else "new_run")
    argv = [str(run_dir) if a == "RUN" else a for a in argv] + ["--out", str(out)]
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not out.exists()


BAD_VALUES = [
    (["--dataset", "mnist"], "unknown dataset 'mnist'; expected one of: checkerboard"),
    (["--dataset", "DIR/missing.npy"], "dataset file 'DIR/missing.npy' does not exist"),
    (["--dataset", "DIR/nan.npy"], "has NaN or infinite values in 1 of its 3 rows"),
    (["--dataset", "DIR/flat.npy"], "must hold an array of shape (n, d) with n >= 2, got shape (3,)"),
    (["--dataset", "DIR/words.csv"], "cannot be read as an array of numbers"),
    (["--dataset", "DIR/three_d.npy", "--source", "moons"], "the source 'moons' has dimension 2, but the data has "
                                                           "dimension 3"),
    (["--source", "mnist"], "unknown dataset 'mnist'"),
    (["--coupling", "pairs"], "coupling 'pairs' and a pairs_file go together"),
    (["--pairs-file", "DIR/pairs.npz"], "coupling 'pairs' and a pairs_file go together"),
    (["--coupling", "pairs", "--pairs-file", "DIR/three_d.npy"], "is not an .npz archive (it holds one array)"),
    (["--dataset", "DIR/empty.csv"], "dataset file 'DIR/empty.csv' holds no numbers (it is empty, or only comments)"),
    (["--dataset", "DIR/ragged.csv"], "(the number of columns changed from 2 to 3 at row 2)"),
    (["--dataset", "DIR/objects.npy"], "holds Python objects, which only unpickling could read"),
]


@pytest.mark.parametrize("argv, message", BAD_VALUES)
def test_bad_data_files_and_sources_are_one_line_exit_2_and_write_nothing(tmp_path, capsys, argv, message):
    np.save(tmp_path / "nan.npy", np.array([[0.0, 1.0], [np.nan, 0.0], [1.0, 1.0]]))
    np.save(tmp_path / "flat.npy", np.zeros(3))
    np.save(tmp_path / "three_d.npy", np.zeros((5, 3)))
    np.savez(tmp_path / "pairs.npz", x_0=np.zeros((4, 2)), x_1=np.ones((4, 2)))
    (tmp_path / "words.csv").write_text("1,2\nthree,4\n")
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "ragged.csv").write_text("1,2\n3,4,5\n")
    np.save(tmp_path / "objects.npy", np.array([[{"x": 1}, 2]], dtype=object), allow_pickle=True)
    out = tmp_path / "new_run"
    argv = ["train", *[a.replace("DIR", str(tmp_path)) for a in argv], "--out", str(out)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message.replace("DIR", str(tmp_path)) in err and err.count("\n") == 1, err
    assert "allow_pickle" not in err and "usecols" not in err  # numpy's advice, never ours
    assert not out.exists()


def test_missing_and_corrupt_run_directories(tmp_path, run_dir, capsys):
    assert main(["sample", str(tmp_path / "nope"), "--out", str(tmp_path / "x.npy")]) == 2
    assert "run directory" in capsys.readouterr().err
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{")
    assert main(["sample", str(broken), "--out", str(tmp_path / "x.npy")]) == 2
    err = capsys.readouterr().err
    assert "not valid JSON" in err and err.count("\n") == 1
    assert not (tmp_path / "x.npy").exists()


def test_existing_out_is_refused_unless_forced(tmp_path, run_dir, capsys):
    before = {p.name: p.read_bytes() for p in run_dir.iterdir()}
    assert main(["train", *TINY, "--seed", "5", "--out", str(run_dir)]) == 2
    assert "already exists; pass --force" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in run_dir.iterdir()} == before
    out = tmp_path / "x.npy"
    out.write_bytes(b"keep me")
    assert main(["sample", str(run_dir), "--n", "5", "--out", str(out)]) == 2
    assert out.read_bytes() == b"keep me"
    assert main(["sample", str(run_dir), "--n", "5", "--out", str(out), "--force"]) == 0
    assert np.load(out).shape == (5, 2)


def test_force_replaces_a_run(tmp_path):
    path = tmp_path / "run"
    assert main(["train", *TINY, "--out", str(path)]) == 0
    assert main(["train", *TINY, "--seed", "5", "--out", str(path), "--force"]) == 0
    assert load_run(path).config.seed == 5


@pytest.mark.parametrize("argv", [["train", "--steps", "-1", "--out", "x"], ["sample", "nowhere", "--out", "x.npy"]])
def test_module_entry_point_reports_without_traceback(tmp_path, argv):
    result = subprocess.run([sys.executable, "-m", "npflow", *argv], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def train_options():
    """The options of ``npflow train``, by their dest (the TrainConfig field each sets)."""
    from npflow.cli import build_parser

    commands = next(action for action in build_parser()._actions if action.dest == "command")
    return {action.dest: action for action in commands.choices["train"]._actions}


def test_train_help_shows_the_defaults_a_run_gets():
    """Each recipe option's help ends in [default]: read back by the option's own type, it is TrainConfig's value
    (an objective's own settings: that objective's default)."""
    import re

    from npflow.models import OBJECTIVES
    from npflow.runs.config import TrainConfig

    options = train_options()
    own = {name: {"source": entry.sources[0]} for name, entry in OBJECTIVES.items() if entry.sources}  # its source
    settings = {name: value for objective in reversed(OBJECTIVES) for name, value in
                TrainConfig(objective=objective, **own.get(objective, {})).to_dict().items()}  # cfm's last: they stand
    for name, expected in settings.items():
        action = options[name]
        shown = re.search(r"\[([^[\]]*)\]$", action.help).group(1)
        flag = lambda text: text == str(action.const)  # a flag (--conditional) shows its value when not given
        value = "" if shown == "none" else (action.type or (str if action.const is None else flag))(shown)
        assert value == (tuple(expected) if isinstance(expected, list) else expected), name


def test_the_recipes_help_describes_each_recipe_as_the_options_that_give_it(tmp_path, monkeypatch):
    """Typing the options the help lists for a recipe trains the same recipe as --recipe (new recipes included)."""
    import re

    from npflow.models import RECIPE_ALIASES, RECIPES

    monkeypatch.setitem(RECIPES, "teaching", {"activation": "tanh", "sigma_min": 0.25, "lr": 0.5})
    described = dict(re.findall(r"(\w+): ([^;)]*)", train_options()["recipe"].help))
    assert list(described) == [name for name in RECIPES if name not in RECIPE_ALIASES]  # old names not shown
    short = ["--steps", "2", "--hidden", "4", "--batch-size", "4", "--quiet"]
    for name, options in described.items():
        typed = [] if options == "the defaults above" else options.split()
        assert main(["train", "--recipe", name, *short, "--out", str(tmp_path / name)]) == 0
        assert main(["train", *typed, *short, "--out", str(tmp_path / f"{name}-typed")]) == 0
        assert load_run(tmp_path / name).config == load_run(tmp_path / f"{name}-typed").config
    assert load_run(tmp_path / "teaching").config.activation == "tanh"


def test_help_lists_the_commands():
    result = subprocess.run([sys.executable, "-m", "npflow", "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    for command in ("train", "sample", "demo"):
        assert command in result.stdout


@pytest.fixture
def points(tmp_path):
    path = tmp_path / "points.npy"
    np.save(path, np.random.default_rng(0).standard_normal((30, 2)))
    return path


@pytest.mark.parametrize("extra", [[], ["--method", "hutchinson", "--probes", "3"], ["--solver", "RK45"]])
def test_logprob_end_to_end(run_dir, points, tmp_path, capsys, extra):
    out = tmp_path / "logp.npy"
    assert main(["logprob", str(run_dir), "--points", str(points), "--out", str(out), "--steps", "20", *extra]) == 0
    log_p = np.load(out)
    assert log_p.shape == (30,) and np.all(np.isfinite(log_p))
    assert "mean" in capsys.readouterr().out


def test_logprob_matches_the_library(run_dir, points, tmp_path):
    from npflow.core.likelihood import log_likelihood

    out = tmp_path / "logp.npy"
    assert main(["logprob", str(run_dir), "--points", str(points), "--out", str(out), "--steps", "20"]) == 0
    expected = log_likelihood(load_run(run_dir).velocity, np.load(points), steps=20)
    np.testing.assert_array_equal(np.load(out), expected)


def test_logprob_reads_points_from_a_csv_as_train_reads_data(run_dir, points, tmp_path):
    """The same points as .npy and as .csv (which keeps every bit of a float64 at %.18e) score the same."""
    csv = tmp_path / "points.csv"
    np.savetxt(csv, np.load(points), delimiter=",", header="x,y")
    for name, path in (("npy", points), ("csv", csv)):
        assert main(["logprob", str(run_dir), "--points", str(path), "--out", str(tmp_path / f"{name}.npy"),
                     "--steps", "5"]) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "csv.npy"), np.load(tmp_path / "npy.npy"))


@pytest.mark.parametrize("name, content, message", [
    ("points.npy", np.array([[0.0, np.nan], [1.0, 2.0]]), "has NaN or infinite values in 1 of its 2 rows"),
    ("points.npy", np.zeros((4, 3)), "must have shape (n, 2) with n >= 1, got shape (4, 3)"),
    ("points.npy", np.zeros(4), "must have shape (n, 2) with n >= 1, got shape (4,)"),
    ("points.npy", np.array([["a", "b"]]), "must hold one numeric array"),
    ("points.npy", np.array([[{"x": 1}, 2]], dtype=object), "holds Python objects, which only unpickling could read"),
    ("points.npy", b"not an npy file", "is not a NumPy .npy or .npz file"),
    ("points.npz", np.zeros((3, 2)), "is an .npz archive; expected one array"),
    ("points.csv", b"", "holds no numbers"),
    ("points.csv", b"1,2\n1,2,3\n", "the number of columns changed from 2 to 3 at row 2)"),
    ("points.csv", b"1,2\n1,two\n", "cannot be read as an array of numbers"),
    ("points.csv", b"1,2,3\n", "must have shape (n, 2) with n >= 1, got shape (1, 3)"),
])
def test_logprob_refuses_bad_points(run_dir, tmp_path, capsys, name, content, message):
    points, out = tmp_path / name, tmp_path / "logp.npy"
    if isinstance(content, bytes):
        points.write_bytes(content)
    elif name.endswith(".npz"):
        np.savez(points, x=content)
    else:
        np.save(points, content, allow_pickle=True)
    assert main(["logprob", str(run_dir), "--points", str(points), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err
    assert "allow_pickle" not in err and "usecols" not in err  # numpy's advice, never ours
    assert not out.exists()


def test_evaluate_prints_a_table_and_json(run_dir, capsys):
    assert main(["evaluate", str(run_dir), "--n", "100", "--steps", "10"]) == 0
    table = capsys.readouterr().out
    for row in ("NLL of target samples", "KL(target || model)", "field error vs exact field", "energy distance",
                "kinetic energy of the paths"):
        assert row in table
    assert main(["evaluate", str(run_dir), "--n", "100", "--steps", "10", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert f"{report['kinetic_energy']:.4f}" in table and f"{report['kl']:.4f}" in table  # the same figures
    assert report["field_error"] > 0 and report["n"] == 100


def test_evaluate_samples_in_float32_by_default_and_keeps_the_likelihood_in_float64(run_dir, capsys):
    reports = {}
    for dtype in ("float32", "float64"):
        assert main(["evaluate", str(run_dir), "--n", "300", "--json", "--dtype", dtype]) == 0
        reports[dtype] = json.loads(capsys.readouterr().out)
    assert main(["evaluate", str(run_dir), "--n", "300", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == reports["float32"]
    assert reports["float32"]["nll"] == reports["float64"]["nll"]  # the same float64 likelihood
    assert reports["float32"]["field_error"] == reports["float64"]["field_error"]
    gap = abs(reports["float32"]["energy_distance"] - reports["float64"]["energy_distance"])
    assert 0 < gap < 1e-5  # the samples differ, by float32's rounding


def test_evaluate_against_a_model_whose_density_and_flow_are_known(monkeypatch):
    """A run whose field is the exact field of q = N(m_q, s_q^2 I), scored against the target p = N(m_p, s_p^2 I).

    Its model density is q, so KL(p || q) has a closed form; its flow from N(0, I) is
    x_t = t m_q + sigma(t) x_0 with sigma(t)^2 = t^2 s_q^2 + (1 - t)^2, so its kinetic energy is
    (1/2) integral of |m_q|^2 + d sigma'(t)^2 dt (the cross term has mean 0).
    Neither is computed the way evaluate computes it.
    """
    from scipy.integrate import quad

    from npflow.core.gmm import GaussianMixture
    from npflow.core.oracle import exact_velocity
    from npflow.data.datasets import DATASETS, mixture_dataset
    from npflow.plumbing.evaluate import evaluate
    from npflow.runs.config import TrainConfig
    from npflow.runs.run import Run

    m_p, s_p, m_q, s_q, d, n = np.array([1.0, -0.5]), 1.2, np.array([0.5, 0.0]), 1.5, 2, 500
    monkeypatch.setitem(DATASETS, "p", mixture_dataset("p", GaussianMixture([m_p], std=s_p)))

    class ExactRun:  # all that evaluate asks of a run
        config = TrainConfig(dataset="p")
        velocity = staticmethod(exact_velocity(GaussianMixture([m_q], std=s_q)))
        sample = Run.sample  # which integrates velocity

    report = evaluate(ExactRun(), n=n, rng=np.random.default_rng(0), steps=50)
    kl = d / 2 * (s_p**2 / s_q**2 - 1 + 2 * np.log(s_q / s_p)) + np.sum((m_p - m_q) ** 2) / (2 * s_q**2)
    assert abs(report["kl"] - kl) < 4 * report["kl_stderr"] and report["kl_stderr"] < 0.15 * kl

    sigma = lambda t: np.sqrt(t**2 * s_q**2 + (1 - t) ** 2)  # noqa: E731
    d_sigma = lambda t: (t * s_q**2 - (1 - t)) / sigma(t)  # noqa: E731
    mean_d_sigma_2 = quad(lambda t: d_sigma(t) ** 2, 0, 1)[0]
    energy = 0.5 * (np.sum(m_q**2) + d * mean_d_sigma_2)
    # A point's energy is |m_q|^2 / 2 + (s_q - 1) m_q . x_0 + |x_0|^2 mean(sigma'^2) / 2, and Var |x_0|^2 = 2 d:
    stderr = np.sqrt((s_q - 1) ** 2 * np.sum(m_q**2) + mean_d_sigma_2**2 * 2 * d / 4) / np.sqrt(n)
    assert abs(report["kinetic_energy"] - energy) < 4 * stderr


def test_train_logs_the_field_error(tmp_path, capsys):
    path = tmp_path / "run"
    assert main(["train", "--steps", "20", "--hidden", "8", "--field-error-every", "10", "--out", str(path)]) == 0
    assert "field error" in capsys.readouterr().err
    errors = load_run(path).field_errors
    assert errors.shape == (2, 2) and list(errors[:, 0]) == [10, 20]


def checkpoint_arrays(run_dir):
    with np.load(run_dir / "checkpoint.npz") as archive:
        return {key: archive[key] for key in archive.files}


def assert_same_checkpoints(a, b):
    arrays_a, arrays_b = checkpoint_arrays(a), checkpoint_arrays(b)
    assert arrays_a.keys() == arrays_b.keys()
    for key in arrays_a:
        np.testing.assert_array_equal(arrays_a[key], arrays_b[key])


def test_resume_by_steps_gives_the_uninterrupted_bits(tmp_path, capsys):
    assert main(["train", *TINY, "--steps", "90", "--out", str(tmp_path / "straight")]) == 0
    assert main(["train", *TINY, "--steps", "35", "--out", str(tmp_path / "stopped")]) == 0
    assert main(["train", "--resume", str(tmp_path / "stopped"), "--steps", "90", "--quiet"]) == 0
    assert_same_checkpoints(tmp_path / "stopped", tmp_path / "straight")
    assert load_run(tmp_path / "stopped").step == 90


@pytest.mark.slow
def test_ctrl_c_saves_a_checkpoint_that_resumes_to_the_same_bits(tmp_path):
    import signal

    argv = [sys.executable, "-m", "npflow", "train", "--steps", "6000", "--hidden", "8", "--batch-size", "16"]
    process = subprocess.Popen([*argv, "--out", "stopped"], cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    first_progress_line = process.stderr.readline()  # step 1000 is done
    assert first_progress_line.startswith("step 1000/6000")
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130
    assert "Traceback" not in err and "Resume with: npflow train --resume stopped" in err
    step = load_run(tmp_path / "stopped").step
    assert 1000 <= step < 6000
    subprocess.run([*argv[:3], "train", "--resume", "stopped", "--quiet"], cwd=tmp_path, check=True)
    subprocess.run([*argv, "--out", "straight", "--quiet"], cwd=tmp_path, check=True)
    assert_same_checkpoints(tmp_path / "stopped", tmp_path / "straight")


def test_divergence_stops_cleanly_and_keeps_a_run_that_samples(tmp_path):
    result = subprocess.run([sys.executable, "-m", "npflow", "train", *TINY, "--lr", "1e100", "--out", "run"],
                            cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "Warning" not in result.stderr
    assert "diverged at step 2" in result.stderr and "lr 1e+100" in result.stderr and "smaller --lr" in result.stderr
    assert load_run(tmp_path / "run").step == 0
    assert main(["sample", str(tmp_path / "run"), "--n", "4", "--out", str(tmp_path / "x.npy")]) == 0


@pytest.mark.parametrize("extra, message", [
    (["--lr", "0.1"], "drop --lr"),
    (["--steps", "10"], "steps must be at least the 30 steps the run has taken, got 10"),
])
def test_resume_refuses_changes(run_dir, capsys, extra, message):
    before = checkpoint_arrays(run_dir)
    assert main(["train", "--resume", str(run_dir), *extra]) == 2
    assert message in capsys.readouterr().err
    after = checkpoint_arrays(run_dir)
    assert all(np.array_equal(before[key], after[key]) for key in before)


def test_train_needs_out_or_resume(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--steps", "3"])
    assert exit_info.value.code == 2
    assert "one of the arguments --out --resume is required" in capsys.readouterr().err


def test_sample_in_float32_matches_float64(run_dir, tmp_path):
    for dtype in ("float64", "float32"):
        assert main(["sample", str(run_dir), "--n", "50", "--dtype", dtype, "--out", str(tmp_path / f"{dtype}.npy")]) == 0
    x_64, x_32 = np.load(tmp_path / "float64.npy"), np.load(tmp_path / "float32.npy")
    assert x_32.dtype == np.float32
    np.testing.assert_allclose(x_32, x_64, atol=1e-4)


def test_recipes_and_explicit_options(tmp_path):
    from npflow.runs.config import RECIPES

    assert main(["train", *TINY, "--recipe", "fast", "--out", str(tmp_path / "fast")]) == 0
    config = load_run(tmp_path / "fast").config
    for name, value in RECIPES["fast"].items():
        if name not in ("batch_size", "steps"):  # TINY sets these explicitly, and an explicit option wins
            assert getattr(config, name) == value
    assert config.batch_size == 16
    assert main(["train", *TINY, "--recipe", "fast", "--lr", "0.01", "--ema", "0", "--out", str(tmp_path / "x")]) == 0
    config = load_run(tmp_path / "x").config
    assert config.lr == 0.01 and config.ema == 0.0 and config.lr_schedule == "cosine"


@pytest.mark.parametrize("kind", ["samples", "trajectories", "field", "density", "loss", "time_slices",
                                  pytest.param("animation", marks=pytest.mark.slow)])
def test_plot_every_kind(run_dir, tmp_path, kind):
    from PIL import Image

    out = tmp_path / ("figure.gif" if kind == "animation" else "figure.png")
    assert main(["plot", str(run_dir), "--kind", kind, "--out", str(out), "--n", "100", "--steps", "10"]) == 0
    assert out.stat().st_size > 5000
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name]  # no temporary left behind
    with Image.open(out) as image:  # fit for a slide: 800 px on the long side, a PNG at 150 dpi at least
        assert max(image.size) >= 800 and (kind == "animation" or min(image.info["dpi"]) >= 149.9)


def test_plot_quick_marks_the_figure_and_svg_and_pdf_stay_vectors(run_dir, tmp_path):
    from PIL import Image

    for name, flags in (("plain.png", []), ("quick.png", ["--quick"]), ("f.svg", []), ("f.pdf", [])):
        assert main(["plot", str(run_dir), "--kind", "samples", "--n", "50", "--steps", "5", *flags,
                     "--out", str(tmp_path / name)]) == 0
    with Image.open(tmp_path / "plain.png") as plain, Image.open(tmp_path / "quick.png") as quick:
        assert quick.width == plain.width and quick.height > plain.height  # a strip on top, for the note
    assert (tmp_path / "f.svg").read_text().startswith("<?xml") and (tmp_path / "f.pdf").read_bytes()[:4] == b"%PDF"


def test_plot_refuses_a_gif_for_a_still_and_an_existing_file(run_dir, tmp_path, capsys):
    assert main(["plot", str(run_dir), "--kind", "loss", "--out", str(tmp_path / "x.gif")]) == 2
    assert "only it does" in capsys.readouterr().err
    (tmp_path / "x.png").write_bytes(b"keep")
    assert main(["plot", str(run_dir), "--kind", "loss", "--out", str(tmp_path / "x.png")]) == 2
    assert (tmp_path / "x.png").read_bytes() == b"keep"


def test_field_error_needs_an_exact_field_and_nothing_is_written(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", *TINY, "--dataset", "moons", "--field-error-every", "10", "--out", str(out)]) == 2
    assert "'moons' has none" in capsys.readouterr().err
    assert not out.exists()


def test_evaluate_a_dataset_without_a_known_density(tmp_path, capsys):
    assert main(["train", *TINY, "--dataset", "moons", "--out", str(tmp_path / "run")]) == 0
    assert main(["evaluate", str(tmp_path / "run"), "--n", "100", "--steps", "10"]) == 0
    table = capsys.readouterr().out
    assert "W2 of samples" in table and "straightness" in table and "KL" not in table and "modes" not in table


def test_train_on_the_vp_path(tmp_path, capsys):
    assert main(["train", *TINY, "--path", "vp", "--out", str(tmp_path / "vp")]) == 0
    assert load_run(tmp_path / "vp").config.path == "vp"
    assert main(["evaluate", str(tmp_path / "vp"), "--n", "100", "--steps", "10"]) == 0
    table = capsys.readouterr().out
    assert "KL(target || model)" in table and "field error" not in table  # the exact field is the linear path's
    assert main(["train", *TINY, "--path", "vp", "--field-error-every", "5", "--out", str(tmp_path / "x")]) == 2
    assert "derived for the linear path" in capsys.readouterr().err and not (tmp_path / "x").exists()


def test_bring_your_own_data_in_any_dimension(tmp_path, capsys):
    points = np.random.default_rng(0).standard_normal((400, 3)) * [1.0, 2.0, 0.5] + [3.0, 0.0, -1.0]
    np.savetxt(tmp_path / "points.csv", points, delimiter=",")
    run = tmp_path / "run"
    assert main(["train", *TINY, "--dataset", str(tmp_path / "points.csv"), "--out", str(run)]) == 0
    assert (run / "data.npy").exists() and load_run(run).dim == 3
    assert main(["sample", str(run), "--n", "7", "--out", str(tmp_path / "x.npy")]) == 0
    assert np.load(tmp_path / "x.npy").shape == (7, 3)
    capsys.readouterr()
    assert main(["evaluate", str(run), "--n", "50", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {"nll", "w2", "energy_distance"} <= set(report) and "kl" not in report  # no density to compare with
    assert main(["plot", str(run), "--kind", "samples", "--out", str(tmp_path / "s.png")]) == 2
    assert "draws 2-D data, and this run's data has d = 3" in capsys.readouterr().err


def test_a_run_from_a_source_without_density_samples_but_does_not_score(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", *TINY, "--dataset", "moons", "--source", "circles", "--path", "icfm", "--sigma-min", "0.1",
                 "--out", str(run)]) == 0
    assert main(["sample", str(run), "--n", "5", "--out", str(tmp_path / "x.npy")]) == 0
    np.save(tmp_path / "p.npy", np.zeros((3, 2)))
    capsys.readouterr()
    assert main(["logprob", str(run), "--points", str(tmp_path / "p.npy"), "--out", str(tmp_path / "lp.npy")]) == 2
    assert "'circles' has none" in capsys.readouterr().err and not (tmp_path / "lp.npy").exists()
    assert main(["evaluate", str(run), "--n", "30", "--json"]) == 0
    assert "nll" not in json.loads(capsys.readouterr().out)
    assert main(["plot", str(run), "--kind", "density", "--out", str(tmp_path / "d.png")]) == 2
    assert "needs the density of the run's source" in capsys.readouterr().err and not (tmp_path / "d.png").exists()
    assert main(["plot", str(run), "--kind", "samples", "--n", "50", "--out", str(tmp_path / "s.png")]) == 0


# --- issue 13: no run lost, no traceback, no number that misleads -----------------------------------

def run_hashes(run_dir):
    """Every file of a run directory, by name, as a hash of its bytes."""
    import hashlib

    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted(run_dir.iterdir())}


@pytest.mark.parametrize("argv", [
    ["sample", "RUN", "--n", "5", "--out", "RUN/checkpoint.npz", "--force"],
    ["sample", "RUN", "--n", "5", "--out", "RUN/samples.npy"],
    ["reflow", "RUN", "--pairs", "10", "--steps", "2", "--out", "RUN", "--force", "--quiet"],
    ["reflow", "RUN", "--pairs", "10", "--steps", "2", "--out", "RUN/again", "--quiet"],
    ["logprob", "RUN", "--points", "POINTS", "--out", "POINTS", "--force"],
    ["logprob", "RUN", "--points", "POINTS", "--out", "RUN/logp.npy"],
    ["plot", "RUN", "--kind", "loss", "--out", "RUN/loss.png"],
    ["export", "RUN", "--out", "RUN/checkpoint.npz", "--force"],
    ["train", *TINY, "--out", "RUN/inner"],
    ["demo", "--steps", "2", "--n", "10", "--out", "RUN/demo"],
])
def test_out_may_not_overwrite_a_run_or_the_commands_input(run_dir, tmp_path, capsys, argv):
    points = tmp_path / "points.npy"
    np.save(points, np.zeros((3, 2)))
    points_before, run_before = points.read_bytes(), run_hashes(run_dir)
    argv = [a.replace("RUN", str(run_dir)).replace("POINTS", str(points)) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and ("lies inside the run directory" in err or "this command's own input" in err), err
    assert run_hashes(run_dir) == run_before and points.read_bytes() == points_before


def test_a_symbolic_link_into_a_run_is_refused_too(run_dir, tmp_path, capsys):
    (tmp_path / "link").symlink_to(run_dir)
    assert main(["sample", str(run_dir), "--n", "5", "--out", str(tmp_path / "link" / "x.npy")]) == 2
    assert "lies inside the run directory" in capsys.readouterr().err


def test_a_finished_run_is_read_without_a_note(run_dir, tmp_path, capsys):
    assert main(["sample", str(run_dir), "--n", "5", "--out", str(tmp_path / "x.npy")]) == 0
    assert capsys.readouterr().err == ""
    assert json.loads((run_dir / "config.json").read_text())["status"] == "finished"


def test_a_diverged_run_says_so_when_it_is_read(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", *TINY, "--lr", "1e100", "--out", str(run)]) == 1
    capsys.readouterr()
    for argv in (["sample", str(run), "--n", "4", "--out", str(tmp_path / "x.npy")],
                 ["evaluate", str(run), "--n", "20", "--steps", "2"],
                 ["plot", str(run), "--kind", "samples", "--n", "20", "--out", str(tmp_path / "samples.png")]):
        assert main(argv) == 0
        err = capsys.readouterr().err
        assert err == f"npflow {argv[0]}: note: {str(run)!r} diverged in training; it holds its last good " \
                      "checkpoint, step 0 of 30 (untrained weights)\n"
    assert main(["plot", str(run), "--kind", "loss", "--out", str(tmp_path / "loss.png")]) == 2
    assert "there is no loss to draw: the run has taken no training steps" in capsys.readouterr().err


def test_a_failed_start_leaves_nothing_behind(tmp_path, capsys, monkeypatch):
    """A student's blank exercise raises NotImplementedError at step 0: one line, exit 1, and no run."""
    import importlib

    def blank(*args, **kwargs):
        raise NotImplementedError("exercise training_step: x_t and u_t by path.sample")

    monkeypatch.setattr(importlib.import_module("npflow.cli.train"), "train", blank)
    assert main(["train", *TINY, "--out", str(tmp_path / "run")]) == 1
    assert capsys.readouterr().err == ("npflow train: error: NotImplementedError: exercise training_step: x_t and u_t "
                                       "by path.sample\n")
    assert list(tmp_path.iterdir()) == []


def test_a_run_that_fails_after_a_checkpoint_keeps_it_and_says_how_it_ended(tmp_path, capsys, monkeypatch):
    import importlib
    from dataclasses import replace

    training = importlib.import_module("npflow.cli.train")
    real_train = training.train

    def fails_after_the_first_checkpoint(config, **kwargs):
        ten_steps = real_train(replace(config, steps=10), **{**kwargs, "checkpoint": None})
        kwargs["checkpoint"](replace(ten_steps, config=config))  # at step 10 of 30
        raise MemoryError

    monkeypatch.setattr(training, "train", fails_after_the_first_checkpoint)
    assert main(["train", *TINY, "--out", str(tmp_path / "run")]) == 1
    assert "out of memory" in capsys.readouterr().err
    monkeypatch.undo()
    assert main(["sample", str(tmp_path / "run"), "--n", "4", "--out", str(tmp_path / "x.npy")]) == 0
    assert "stopped at step 10 of 30 on an error; resume with" in capsys.readouterr().err


def read_only_folder():
    """A folder this process cannot write in, even as root: /sys refuses new files. None where there is none."""
    import tempfile

    try:
        os.close(tempfile.mkstemp(dir="/sys")[0])
    except OSError:
        return "/sys"
    return None


@pytest.mark.skipif(read_only_folder() is None, reason="needs a folder that refuses writes (Linux's /sys)")
@pytest.mark.parametrize("argv", [
    ["sample", "RUN", "--n", "5", "--out", "RO/x.npy"],
    ["plot", "RUN", "--kind", "loss", "--out", "RO/loss.png"],
    ["train", *TINY, "--out", "RO/run"],
    ["demo", "--steps", "2", "--n", "10", "--out", "RO/demo"],
    ["export", "RUN", "--out", "RO/w.npz"],
])
def test_a_read_only_folder_is_one_line_exit_1(run_dir, capsys, argv):
    argv = [a.replace("RUN", str(run_dir)).replace("RO", read_only_folder()) for a in argv]
    out = argv[argv.index("--out") + 1]
    assert main(argv) == 1
    err = capsys.readouterr().err  # /sys refuses a new file as "Permission denied", a new folder as "not permitted"
    assert err in [f"npflow {argv[0]}: error: cannot write {out!r}: {cause}\n"
                   for cause in ("Permission denied", "Operation not permitted")], err


@pytest.mark.parametrize("command", ["sample", "plot", "train"])
def test_a_name_too_long_is_one_line_exit_1(run_dir, tmp_path, capsys, command):
    out = str(tmp_path / ("a" * 300 + (".png" if command == "plot" else ".npy")))
    argv = {"sample": ["sample", str(run_dir), "--n", "5"], "plot": ["plot", str(run_dir), "--kind", "loss"],
            "train": ["train", *TINY]}[command]
    assert main([*argv, "--out", out]) == 1
    assert capsys.readouterr().err == f"npflow {command}: error: cannot write {out!r}: File name too long\n"
    assert list(tmp_path.iterdir()) == []


def test_a_full_disk_is_one_line_and_leaves_nothing_half_written(run_dir, tmp_path, capsys, monkeypatch):
    import errno

    def disk_full(file, *args, **kwargs):
        file.write(b"\x93NUMPY half")  # some bytes went out before the disk filled
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "save", disk_full)
    out = tmp_path / "x.npy"
    assert main(["sample", str(run_dir), "--n", "5", "--out", str(out)]) == 1
    assert capsys.readouterr().err == f"npflow sample: error: cannot write {str(out)!r}: No space left on device\n"
    assert list(tmp_path.iterdir()) == []


def test_a_checkpoint_that_cannot_be_written_stops_training_in_one_line(tmp_path, capsys, monkeypatch):
    import errno

    import npflow.plumbing.io as io

    real_write, calls = io._write_checkpoint, []

    def fails_at(failing):
        def write(path, run):  # called for step 0, then for each checkpoint (steps 10, 20, ...)
            calls.append(run.step)
            if run.step == failing:
                raise OSError(errno.ENOSPC, "No space left on device")
            real_write(path, run)
        return write

    run = tmp_path / "run"
    message = f"npflow train: error: cannot write {str(run / 'checkpoint.npz')!r}: No space left on device\n"
    monkeypatch.setattr(io, "_write_checkpoint", fails_at(10))
    assert main(["train", *TINY, "--checkpoint-every", "10", "--out", str(run)]) == 1
    assert capsys.readouterr().err == message
    assert list(tmp_path.iterdir()) == []  # a failed start: no run, no temporary
    monkeypatch.setattr(io, "_write_checkpoint", fails_at(20))
    assert main(["train", *TINY, "--checkpoint-every", "10", "--out", str(run)]) == 1
    assert capsys.readouterr().err == message
    assert load_run(run).step == 10 and sorted(p.name for p in run.iterdir()) == ["checkpoint.npz", "config.json"]
    assert json.loads((run / "config.json").read_text())["status"] == "failed"


@pytest.mark.parametrize("argv, message", [
    (["sample", "RUN", "--n", "1000000000000"], "--n 1000000000000 needs about 48 TB of memory for its arrays"),
    (["evaluate", "RUN", "--n", "10000000"], "--n 10000000 with --steps 100 needs about 2.4 PB of memory"),
    (["plot", "RUN", "--kind", "samples", "--n", "1000", "--steps", "1000000000", "--out", "NEW.png"],
     "with --steps 1000000000 needs"),
    (["train", "--batch-size", "10000000", "--out", "NEW"], "--batch-size 10000000 and --hidden 128,128 needs about"),
    (["train", "--steps", "1000000000000", "--out", "NEW"], "training --steps 1000000000000 with"),
    (["train", "--hidden", "1000000,1000000", "--out", "NEW"], "needs about 40 TB"),
    (["reflow", "RUN", "--pairs", "10000000000", "--out", "NEW"], "--n 10000000000 needs"),
    (["demo", "--n", "10000000", "--out", "NEW"], "--n 10000000 needs about 2.4 PB"),
])
def test_requests_that_cannot_fit_in_memory_are_refused_before_they_start(run_dir, tmp_path, capsys, argv, message):
    before = run_hashes(run_dir)
    argv = [a.replace("RUN", str(run_dir)).replace("NEW", str(tmp_path / "new")) for a in argv]
    assert main(argv + (["--out", str(tmp_path / "x.npy")] if argv[0] == "sample" else [])) == 2
    err = capsys.readouterr().err
    assert message in err and "available; ask for less" in err and err.count("\n") == 1, err
    assert list(tmp_path.iterdir()) == [] and run_hashes(run_dir) == before


def test_the_memory_check_uses_what_this_machine_has(run_dir, tmp_path, capsys, monkeypatch):
    from npflow.plumbing import memory

    monkeypatch.setattr(memory, "available_bytes", lambda: 10**6)  # a machine with 1 MB free
    assert main(["sample", str(run_dir), "--n", "100000", "--out", str(tmp_path / "x.npy")]) == 2
    assert "--n 100000 needs about" in capsys.readouterr().err
    assert main(["train", *TINY, "--batch-size", "20000", "--out", str(tmp_path / "run")]) == 2
    assert "and this machine has 1 MB available" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_memory_available_is_read_from_the_system(tmp_path):
    from npflow.plumbing import memory

    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       24000000 kB\nMemFree:  100 kB\nMemAvailable:   21000000 kB\n")
    assert memory.available_bytes(meminfo) == 21000000 * 1024
    assert memory.available_bytes(tmp_path / "none") > 0  # no /proc/meminfo: os.sysconf's free pages


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("solver", ["rk4", "euler"])
def test_many_samples_flow_in_chunks_to_the_bits_of_one_batch(run_dir, tmp_path, monkeypatch, dtype, solver):
    """With chunks of 64 points, 193 samples (64 + 64 + 65) are the bits of one batch, and no evaluation sees more."""
    from npflow.core.sampling import generate, noise
    from npflow.plumbing import memory

    run = load_run(run_dir).astype(dtype)
    x_0 = noise(193, 2, np.random.default_rng(7)).astype(dtype)
    one_batch = generate(run.velocity, x_0, solver, steps=10).x[-1]
    rows_seen = []
    real_velocity = type(run).velocity
    monkeypatch.setattr(type(run), "velocity", lambda self, t, x: rows_seen.append(len(x)) or real_velocity(self, t, x))
    monkeypatch.setattr(memory, "CHUNK_BYTES", 1)  # the smallest chunk: 64 points
    argv = ["sample", str(run_dir), "--n", "193", "--seed", "7", "--solver", solver, "--steps", "10", "--dtype", dtype]
    assert main([*argv, "--out", str(tmp_path / "x.npy")]) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "x.npy"), one_batch)
    k = len(rows_seen) // 3  # evaluations per chunk
    assert rows_seen == [64] * k + [64] * k + [65] * k  # the one point left over joins the last chunk


def test_a_likelihood_of_many_points_is_computed_in_chunks(run_dir, tmp_path, monkeypatch):
    from npflow.core.likelihood import log_likelihood
    from npflow.plumbing import memory

    points = np.random.default_rng(0).standard_normal((150, 2))
    np.save(tmp_path / "points.npy", points)
    one_batch = log_likelihood(load_run(run_dir).velocity, points, steps=5)
    monkeypatch.setattr(memory, "CHUNK_BYTES", 1)
    import npflow.plumbing.chunks as chunks

    calls = []
    monkeypatch.setattr(chunks, "log_likelihood", lambda f, x, **options: calls.append(len(x)) or log_likelihood(
        f, x, **options))
    assert main(["logprob", str(run_dir), "--points", str(tmp_path / "points.npy"), "--steps", "5",
                 "--out", str(tmp_path / "logp.npy")]) == 0
    assert calls == [64, 64, 22]
    np.testing.assert_allclose(np.load(tmp_path / "logp.npy"), one_batch, rtol=0, atol=1e-12)


def test_a_negative_kl_says_the_solver_was_too_coarse(run_dir, capsys, monkeypatch):
    """A run whose field is the exact one has KL 0; Euler with 2 steps scores it at -0.35 +- 0.04 (n = 300)."""
    from npflow.core.oracle import exact_velocity
    from npflow.data.datasets import TWO_GAUSSIANS
    from npflow.runs.run import Run

    exact = exact_velocity(TWO_GAUSSIANS)
    monkeypatch.setattr(Run, "velocity", lambda self, t, x: exact(t, x))
    assert main(["evaluate", str(run_dir), "--n", "300", "--solver", "euler", "--steps", "2", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["kl"] < -2 * report["kl_stderr"]
    (warning,) = report["warnings"]
    assert "(--solver euler --steps 2) is too coarse" in warning and "--solver rk4 --steps" in warning
    assert main(["evaluate", str(run_dir), "--n", "300", "--solver", "euler", "--steps", "2"]) == 0
    assert f"\nwarning: {warning}\n" in capsys.readouterr().out
    assert main(["evaluate", str(run_dir), "--n", "300", "--steps", "100", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert abs(report["kl"]) < 1e-6 and "warnings" not in report


def test_evaluate_refuses_fewer_points_than_its_metrics_need(run_dir, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["evaluate", str(run_dir), "--n", "1"])
    assert exit_info.value.code == 2
    assert "--n: expected an integer >= 2, got '1'" in capsys.readouterr().err
    assert main(["evaluate", str(run_dir), "--n", "2", "--steps", "2", "--json"]) == 0
    captured = capsys.readouterr()
    assert captured.err == "" and "NaN" not in captured.out


@pytest.mark.parametrize("argv, message", [
    (["sample", "RUN", "--out", "DIR/s.txt"], "--out 'DIR/s.txt' must end in .npy"),
    (["logprob", "RUN", "--points", "DIR/p.npy", "--out", "DIR/s.csv"], "must end in .npy"),
    (["export", "RUN", "--out", "DIR/w.pt"], "must end in .npz"),
    (["plot", "RUN", "--kind", "loss", "--out", "DIR/loss.txt"], "must end in .png or .svg or .pdf"),
])
def test_an_out_without_its_formats_suffix_is_refused(run_dir, tmp_path, capsys, argv, message):
    np.save(tmp_path / "p.npy", np.zeros((3, 2)))
    argv = [a.replace("RUN", str(run_dir)).replace("DIR", str(tmp_path)) for a in argv]
    assert main(argv) == 2
    assert message.replace("DIR", str(tmp_path)) in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.npy"]


def test_bad_points_are_named_as_a_points_file(run_dir, tmp_path, capsys):
    np.save(tmp_path / "nan.npy", np.array([[0.0, np.nan]]))
    assert main(["logprob", str(run_dir), "--points", str(tmp_path / "nan.npy"), "--out", str(tmp_path / "o.npy")]) == 2
    assert f"points file {str(tmp_path / 'nan.npy')!r} has NaN or infinite values" in capsys.readouterr().err


@pytest.mark.parametrize("content", [b"", b"\n\n", b"# x,y\n", b"   \n", b"\xef\xbb\xbf"])
def test_an_empty_csv_says_it_is_empty(run_dir, tmp_path, capsys, content):
    (tmp_path / "p.csv").write_bytes(content)
    assert main(["logprob", str(run_dir), "--points", str(tmp_path / "p.csv"), "--out", str(tmp_path / "o.npy")]) == 2
    err = capsys.readouterr().err
    assert "holds no numbers" in err and "(0, 1)" not in err and "usecols" not in err, err


def test_a_csv_from_a_spreadsheet_program_reads(run_dir, tmp_path):
    """Excel writes a byte-order mark first; a line of spaces is a blank line."""
    (tmp_path / "p.csv").write_bytes(b"\xef\xbb\xbf1.5,2\n   \n-3,4\n")
    assert main(["logprob", str(run_dir), "--points", str(tmp_path / "p.csv"), "--steps", "2",
                 "--out", str(tmp_path / "o.npy")]) == 0
    np.save(tmp_path / "p.npy", np.array([[1.5, 2.0], [-3.0, 4.0]]))
    assert main(["logprob", str(run_dir), "--points", str(tmp_path / "p.npy"), "--steps", "2",
                 "--out", str(tmp_path / "o2.npy")]) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "o.npy"), np.load(tmp_path / "o2.npy"))


def test_gitignore_keeps_virtual_environments_out():
    import pathlib

    ignored = (pathlib.Path(__file__).parent.parent / ".gitignore").read_text().split()
    assert ".venv/" in ignored or ".venv" in ignored


# --- MeanFlow runs -------------------------------------------------------------------------------

MEANFLOW = [*TINY, "--dataset", "eight_gaussians", "--objective", "meanflow"]


@pytest.fixture(scope="module")
def meanflow_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "mf"
    assert main(["train", *MEANFLOW, "--out", str(path)]) == 0
    return path


def test_a_meanflow_run_samples_evaluates_and_plots_by_its_jumps(meanflow_dir, tmp_path, capsys):
    from npflow.core.sampling import noise

    argv = ["sample", str(meanflow_dir), "--n", "25", "--steps", "2", "--seed", "7", "--out", str(tmp_path / "x.npy")]
    assert main(argv) == 0
    x_0 = noise(25, 2, np.random.default_rng(7)).astype(np.float32)  # float32 by default
    expected = load_run(meanflow_dir).astype(np.float32).sample(x_0, steps=2)
    np.testing.assert_array_equal(np.load(tmp_path / "x.npy"), expected.x[-1])
    assert "25 samples by meanflow: NFE 2," in capsys.readouterr().out
    assert main(["evaluate", str(meanflow_dir), "--n", "50", "--steps", "1", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["solver"] == "meanflow" and report["nfe"] == 1 and report["straightness"] == 0
    assert {"w2", "field_error", "modes_covered"} <= set(report) and not {"nll", "kl"} & set(report)
    assert main(["evaluate", str(meanflow_dir), "--n", "50", "--steps", "1"]) == 0
    assert "solver meanflow)" in capsys.readouterr().out
    assert main(["plot", str(meanflow_dir), "--kind", "samples", "--steps", "1", "--out", str(tmp_path / "s.png")]) == 0
    assert main(["plot", str(meanflow_dir), "--kind", "field", "--out", str(tmp_path / "f.png")]) == 0


def test_meanflow_checkpoints_resume_to_the_uninterrupted_bits(tmp_path):
    options = [*MEANFLOW, "--grad", "backprop", "--dtype", "float32", "--ema", "0.9", "--checkpoint-every", "20"]
    assert main(["train", *options, "--steps", "90", "--out", str(tmp_path / "straight")]) == 0
    assert main(["train", *options, "--steps", "35", "--out", str(tmp_path / "stopped")]) == 0
    assert main(["train", "--resume", str(tmp_path / "stopped"), "--steps", "90", "--quiet"]) == 0
    assert_same_checkpoints(tmp_path / "stopped", tmp_path / "straight")
    run = load_run(tmp_path / "stopped")
    assert run.config.objective == "meanflow" and run.params[0][0].shape == (4, 8) and run.ema[0][0].dtype == np.float32


MEANFLOW_REFUSALS = [
    (["sample", "MF", "--solver", "RK45", "--out", "OUT.npy"], "a MeanFlow run samples only by K jumps of its average "
                                                               "velocity (solver meanflow or none, K steps), not by an "
                                                               "ODE solver; got solver 'RK45'"),
    (["sample", "MF", "--solver", "rk4", "--out", "OUT.npy"], "got solver 'rk4'"),
    (["evaluate", "MF", "--solver", "DOP853"], "got solver 'DOP853'"),
    (["plot", "MF", "--kind", "trajectories", "--solver", "euler", "--out", "OUT.png"], "got solver 'euler'"),
    (["plot", "MF", "--kind", "density", "--out", "OUT.png"], "--kind density is not computed for a MeanFlow run"),
    (["logprob", "MF", "--points", "POINTS", "--out", "OUT.npy"], "the likelihood is not computed for a MeanFlow run"),
    (["reflow", "MF", "--out", "OUT"], "is a MeanFlow run, which samples by jumps; reflow straightens a flow's ODE"),
    (["sample", "RUN", "--solver", "MeanFlow", "--out", "OUT.npy"], "solver 'meanflow' takes the jumps of a MeanFlow "
                                                                    "run"),
]


@pytest.mark.parametrize("argv, message", MEANFLOW_REFUSALS)
def test_what_a_meanflow_run_refuses_is_one_line_exit_2(meanflow_dir, run_dir, tmp_path, capsys, argv, message):
    np.save(tmp_path / "points.npy", np.zeros((3, 2)))
    names = {"MF": str(meanflow_dir), "RUN": str(run_dir), "POINTS": str(tmp_path / "points.npy")}
    argv = [names.get(a, a.replace("OUT", str(tmp_path / "out"))) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err
    assert [p.name for p in tmp_path.iterdir()] == ["points.npy"]


def test_the_solver_help_says_how_a_meanflow_run_samples(capsys):
    with pytest.raises(SystemExit):
        main(["sample", "--help"])
    assert "meanflow for a MeanFlow run" in " ".join(capsys.readouterr().out.split())


def test_a_run_saved_before_objectives_loads_as_a_flow(run_dir, tmp_path):
    import shutil

    old = tmp_path / "old"
    shutil.copytree(run_dir, old)
    header = json.loads((old / "config.json").read_text())
    del header["config"]["objective"]
    (old / "config.json").write_text(json.dumps(header))
    assert load_run(old).config.objective == "cfm" and load_run(old).config == load_run(run_dir).config


@pytest.fixture(scope="module")
def other_runs(tmp_path_factory):
    """Runs that the stochastic samplers refuse: from a non-Gaussian source, and with OT pairs."""
    root = tmp_path_factory.mktemp("other")
    assert main(["train", *TINY, "--source", "circles", "--out", str(root / "circles")]) == 0
    assert main(["train", *TINY, "--coupling", "ot", "--out", str(root / "ot")]) == 0
    return root


SAMPLERS_THAT_DO_NOT_FIT = [
    (["sample", "RUN", "--diffusion", "0.5"], "--diffusion goes with --solver euler-maruyama, not --solver rk4"),
    (["sample", "RUN", "--solver", "ddpm", "--diffusion", "0"], "--diffusion goes with --solver euler-maruyama, not "
                                                                "--solver ddpm"),
    (["evaluate", "RUN", "--solver", "RK45", "--eta", "0.5"], "--eta goes with --solver ddpm, not --solver RK45"),
    (["plot", "RUN", "--kind", "samples", "--solver", "euler-maruyama", "--eta", "0"], "--eta goes with --solver ddpm"),
    (["plot", "RUN", "--kind", "density", "--solver", "ddpm"], "--kind density solves the reverse ODE; give an ODE "
                                                               "solver, not --solver ddpm"),
    (["sample", "OTHER/circles", "--solver", "euler-maruyama"], "--solver euler-maruyama needs x_t = alpha_t x_1 + "
                                                                "sigma_t x_0 with x_0 ~ N(0, I) paired independently"),
    (["evaluate", "OTHER/circles", "--solver", "ddpm"], "this recipe has source 'circles'"),
    (["sample", "OTHER/ot", "--solver", "ddpm"], "this recipe has coupling 'ot'"),
    (["train", *TINY, "--predict", "noise", "--source", "moons"], "predict 'noise' needs x_t = alpha_t x_1 + sigma_t "
                                                                  "x_0 with x_0 ~ N(0, I)"),
    (["train", *TINY, "--predict", "data", "--path", "icfm", "--sigma-min", "0.1"], "this recipe has path 'icfm' "
                                                                                    "with a blur (sigma_min 0.1)"),
]


@pytest.mark.parametrize("argv, message", SAMPLERS_THAT_DO_NOT_FIT)
def test_a_sampler_or_prediction_that_does_not_fit_the_run_is_one_line_exit_2(tmp_path, run_dir, other_runs, capsys,
                                                                               argv, message):
    out = tmp_path / ("new_run" if argv[0] == "train" else "x.png" if argv[0] == "plot" else "x.npy")
    argv = [str(run_dir) if a == "RUN" else a.replace("OTHER", str(other_runs)) for a in argv]
    assert main(argv + ([] if argv[0] == "evaluate" else ["--out", str(out)])) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err
    assert not out.exists()


@pytest.fixture(scope="module")
def noise_run(tmp_path_factory):
    path = tmp_path_factory.mktemp("noise") / "run"
    assert main(["train", *TINY, "--path", "vp", "--predict", "noise", "--out", str(path)]) == 0
    return path


@pytest.mark.parametrize("solver, level", [("euler-maruyama", None), ("euler-maruyama", "0.3"), ("ddpm", None),
                                           ("ddpm", "0")])
def test_sample_by_a_stochastic_sampler_is_the_library_s_from_the_seed(noise_run, tmp_path, capsys, solver, level):
    """The noise x_0 and then each step's noise come from default_rng(--seed), as the library draws them."""
    from npflow.diffusion.stochastic import SAMPLERS

    flag = "--diffusion" if solver == "euler-maruyama" else "--eta"
    out = tmp_path / "x.npy"
    argv = ["sample", str(noise_run), "--n", "30", "--solver", solver, "--steps", "12", "--seed", "5", "--out", str(out)]
    assert main(argv + ([flag, level] if level else [])) == 0
    run, rng = load_run(noise_run).astype(np.float32), np.random.default_rng(5)  # float32 by default
    x_0 = rng.standard_normal((30, 2)).astype(np.float32)  # the step noise, then, is drawn in float32 too
    expected = SAMPLERS[solver](run.velocity, x_0, run.path, 12, float(level or 1.0), rng=rng).x[-1]
    np.testing.assert_array_equal(np.load(out), expected)
    assert f"by {solver}: NFE 12," in capsys.readouterr().out


def test_a_noise_predicting_run_samples_scores_evaluates_plots_and_exports(noise_run, tmp_path, capsys):
    assert load_run(noise_run).config.options.predict == "noise"
    assert main(["sample", str(noise_run), "--n", "20", "--steps", "10", "--out", str(tmp_path / "x.npy")]) == 0
    assert np.all(np.isfinite(np.load(tmp_path / "x.npy")))  # RK4 from t = 0, where a noise prediction is singular
    np.save(tmp_path / "data.npy", np.random.default_rng(0).standard_normal((20, 2)) + [4.0, 0.0])  # near the data
    assert main(["logprob", str(noise_run), "--points", str(tmp_path / "data.npy"), "--steps", "10",
                 "--out", str(tmp_path / "lp.npy")]) == 0
    assert np.all(np.isfinite(np.load(tmp_path / "lp.npy")))
    capsys.readouterr()
    assert main(["evaluate", str(noise_run), "--n", "50", "--solver", "ddpm", "--steps", "10"]) == 0
    table = capsys.readouterr().out
    assert "energy distance" in table and "NLL" not in table and "straightness" not in table and "solver ddpm" in table
    assert main(["evaluate", str(noise_run), "--n", "50", "--solver", "euler-maruyama", "--steps", "10", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["nfe"] == 10 and "nll" not in report and "kinetic_energy" not in report
    for kind in ("samples", "trajectories"):
        out = tmp_path / f"{kind}.png"
        assert main(["plot", str(noise_run), "--kind", kind, "--solver", "euler-maruyama", "--diffusion", "2",
                     "--n", "50", "--steps", "10", "--out", str(out)]) == 0
        assert out.stat().st_size > 5000
    capsys.readouterr()
    assert main(["export", str(noise_run), "--out", str(tmp_path / "w.npz")]) == 0
    assert "predicts the noise, not the velocity" in capsys.readouterr().out
