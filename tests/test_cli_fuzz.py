"""Bad invocations of every command: never a traceback, never exit 0, never a change to an existing run.

Each row is run in-process against one tiny trained run; its files are hashed before and after.
An exception escaping ``main`` fails the test (it would be a traceback on the command line).
"""
import hashlib
import os
import tempfile

import numpy as np
import pytest

from npflow.cli import main

TINY = ["--steps", "20", "--hidden", "8", "--batch-size", "16", "--quiet"]


def read_only_folder():
    """A folder that refuses new files even to root (Linux's /sys); elsewhere a path under a file, also unwritable."""
    try:
        os.close(tempfile.mkstemp(dir="/sys")[0])
    except OSError:
        return "/sys"
    return "FILE/under"


@pytest.fixture(scope="module")
def places(tmp_path_factory):
    """A trained run, a corrupt one, and files good and bad, as placeholders the rows name."""
    root = tmp_path_factory.mktemp("fuzz")
    assert main(["train", *TINY, "--out", str(root / "run")]) == 0
    (root / "corrupt").mkdir()
    (root / "corrupt" / "config.json").write_text((root / "run" / "config.json").read_text())
    (root / "corrupt" / "checkpoint.npz").write_bytes((root / "run" / "checkpoint.npz").read_bytes()[:200])
    np.save(root / "points.npy", np.zeros((4, 2)))
    np.save(root / "points3d.npy", np.zeros((4, 3)))
    np.save(root / "pickle.npy", np.array([[{"x": 1}]], dtype=object), allow_pickle=True)
    (root / "garbage.npy").write_bytes(os.urandom(300))
    (root / "empty.csv").write_text("  \n")
    (root / "existing.npy").write_bytes(b"keep")
    (root / "file").write_bytes(b"a file, not a folder")
    names = {"RUN": "run", "CORRUPT": "corrupt", "POINTS": "points.npy", "P3D": "points3d.npy",
             "PICKLE": "pickle.npy", "GARBAGE": "garbage.npy", "EMPTY": "empty.csv", "EXISTING": "existing.npy",
             "FILE": "file", "NEW": "new", "NOWHERE": "nowhere"}
    return root, {key: str(root / name) for key, name in names.items()}


RO, LONG = "RO", "NEW" + "x" * 300
BAD = [
    ["train", "--steps", "0", "--out", "NEW"],
    ["train", *TINY, "--out", "RUN"],
    ["train", *TINY, "--out", "RUN/inner"],
    ["train", "--resume", "NOWHERE"],
    ["train", "--resume", "RUN", "--lr", "0.1"],
    ["train", "--resume", "RUN", "--steps", "1"],
    ["train", "--resume", "CORRUPT"],
    ["train", *TINY, "--dataset", "GARBAGE", "--out", "NEW"],
    ["train", *TINY, "--dataset", "PICKLE", "--out", "NEW"],
    ["train", "--batch-size", "10000000000", "--out", "NEW"],
    ["train", "--hidden", "100000,100000,100000", "--out", "NEW"],
    ["train", *TINY, "--out", f"{RO}/run"],
    ["train", *TINY, "--out", LONG],
    ["train", "--hidden", "8,x", "--out", "NEW"],
    ["train", *TINY, "--coupling", "pairs", "--pairs-file", "POINTS", "--out", "NEW"],
    ["reflow", "RUN", "--pairs", "10", "--steps", "2", "--out", "RUN", "--force", "--quiet"],
    ["reflow", "NOWHERE", "--out", "NEW"],
    ["reflow", "RUN", "--pairs", "1", "--out", "NEW"],
    ["reflow", "RUN", "--pairs", "100000000000", "--out", "NEW"],
    ["reflow", "RUN", "--pairs", "10", "--steps", "2", "--out", f"{RO}/new", "--quiet"],
    ["sample", "RUN", "--n", "-1", "--out", "NEW.npy"],
    ["sample", "RUN", "--out", "RUN/checkpoint.npz", "--force"],
    ["sample", "RUN", "--out", "NEW.txt"],
    ["sample", "RUN", "--n", "1000000000000", "--out", "NEW.npy"],
    ["sample", "RUN", "--n", "5", "--out", f"{RO}/x.npy"],
    ["sample", "RUN", "--n", "5", "--out", LONG + ".npy"],
    ["sample", "CORRUPT", "--out", "NEW.npy"],
    ["sample", "RUN", "--solver", "rk9", "--out", "NEW.npy"],
    ["sample", "RUN", "--n", "5", "--out", "EXISTING"],
    ["sample", "RUN", "--rtol", "-1", "--out", "NEW.npy"],
    ["sample", "RUN", "--n", "5", "--out", "FILE/x.npy"],
    ["logprob", "RUN", "--points", "GARBAGE", "--out", "NEW.npy"],
    ["logprob", "RUN", "--points", "PICKLE", "--out", "NEW.npy"],
    ["logprob", "RUN", "--points", "EMPTY", "--out", "NEW.npy"],
    ["logprob", "RUN", "--points", "POINTS", "--out", "POINTS", "--force"],
    ["logprob", "RUN", "--points", "P3D", "--out", "NEW.npy"],
    ["logprob", "RUN", "--points", "NOWHERE", "--out", "NEW.npy"],
    ["logprob", "RUN", "--points", "POINTS", "--probes", "0", "--out", "NEW.npy"],
    ["logprob", "RUN", "--points", "POINTS", "--out", f"{RO}/lp.npy"],
    ["evaluate", "RUN", "--n", "1"],
    ["evaluate", "RUN", "--n", "100000000"],
    ["evaluate", "NOWHERE"],
    ["evaluate", "RUN", "--steps", "0"],
    ["evaluate", "CORRUPT"],
    ["plot", "RUN", "--kind", "pie", "--out", "NEW.png"],
    ["plot", "RUN", "--kind", "samples", "--out", "RUN/x.png"],
    ["plot", "RUN", "--kind", "loss", "--out", f"{RO}/x.png"],
    ["plot", "RUN", "--kind", "animation", "--out", "NEW.png"],
    ["plot", "RUN", "--kind", "samples", "--n", "100000000000", "--out", "NEW.png"],
    ["plot", "RUN", "--kind", "loss", "--out", "NEW.txt"],
    ["plot", "RUN", "--kind", "loss", "--out", LONG + ".png"],
    ["export", "RUN", "--out", "RUN/w.npz"],
    ["export", "RUN", "--out", f"{RO}/w.npz"],
    ["export", "NOWHERE", "--out", "NEW.npz"],
    ["export", "RUN", "--out", "NEW.pt"],
    ["demo", "--out", "RUN", "--force"],
    ["demo", "--n", "0", "--out", "NEW"],
    ["demo", "--steps", "2", "--n", "10", "--out", f"{RO}/demo"],
    ["demo", "--n", "100000000", "--out", "NEW"],
    ["demo", "--steps", "2", "--n", "10", "--out", "RUN/demo"],
    ["teach", "grade", "--assignment", "10"],
    [],
    ["nonsense"],
]


def hashes(folder):
    """Every file under ``folder``, by its path, as a hash of its bytes."""
    return {str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.rglob("*")) if path.is_file()}


def test_the_table_covers_every_command_with_forty_rows():
    from npflow.cli import build_parser

    commands = next(action for action in build_parser()._actions if action.dest == "command").choices
    assert len(BAD) >= 40 and set(commands) <= {row[0] for row in BAD if row}


@pytest.mark.parametrize("argv", BAD, ids=lambda argv: " ".join(argv)[:60])
def test_a_bad_invocation_is_refused_in_one_line_and_changes_nothing(places, capfd, argv):
    root, names = places
    argv = [arg.replace(RO, read_only_folder()) for arg in argv]
    argv = [next((arg.replace(key, path, 1) for key, path in names.items() if arg.startswith(key)), arg)
            for arg in argv]
    before = hashes(root)
    try:
        status = main(argv)
    except SystemExit as exit_info:  # argparse's own exit, after its one-line message
        status = exit_info.code
    err = capfd.readouterr().err  # at the descriptor: npflow teach runs the course in a process of its own
    assert status not in (0, None), err
    assert "Traceback" not in err and "Warning" not in err and err.count("\n") == 1, err
    assert hashes(root) == before  # nothing written, nothing changed, nothing half-written
