"""The README's commands run as written, and the "Math to code" table of docs/math_to_code.md still quotes the code.

Every command in a ```bash block of README.md runs in a fresh folder, in the README's order, and
must exit with 0, except those that need this repository's folder: the install commands
(``pip install -e ...``), the test command (``python -m pytest``, which runs this test) and
the documentation build (``sphinx-build ...``). Those are run as written, from the repository's
folder, by CI (``.ci/run``), and a test here checks that CI has each of them, word for word.
``tests/test_docs_commands.py`` does the same for each page under ``docs/``, with these helpers.
"""
import os
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).parent.parent
README = ROOT / "README.md"
CI = ROOT / ".ci" / "run"

# -- the commands of a page ------------------------------------------------------------------

BASH_BLOCK = re.compile(r"^```bash\n(.*?)^```", re.DOTALL | re.MULTILINE)
INSTALL = re.compile(r"^(python3? -m )?pip install\b")
NEEDS_THE_CHECKOUT = re.compile(r"^(python3? -m )?(pip install|pytest|sphinx-build)\b")


def bash_commands(text):
    """The commands of the ```bash blocks of a Markdown text, in order: one a line, a line ending in ``\\`` joined to the next."""
    commands = []
    for block in BASH_BLOCK.findall(text):
        pending = ""
        for line in block.splitlines():
            if line.rstrip().endswith("\\"):
                pending += line.rstrip()[:-1].strip() + " "
                continue
            command = (pending + line.strip()).strip()
            pending = ""
            if command and not command.startswith("#"):
                commands.append(command)
        assert not pending, f"a bash block ends in a continued line: {pending!r}"
    return commands


def without_comment(command):
    return re.sub(r"\s+#.*$", "", command).strip()


def run_command(command, folder, timeout=900):
    """Run one command with bash in ``folder``, with this Python's environment first on PATH; fail with its output."""
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    result = subprocess.run(["bash", "-c", command], cwd=folder, env=env, capture_output=True, text=True,
                            timeout=timeout)
    assert result.returncode == 0, (f"{command!r} exited with {result.returncode} in a fresh folder\n"
                                    f"--- stdout (end)\n{result.stdout[-3000:]}\n--- stderr (end)\n{result.stderr[-3000:]}")
    return result


# -- the README --------------------------------------------------------------------------------

README_COMMANDS = bash_commands(README.read_text())


def test_the_readme_has_its_commands():
    bare = [without_comment(command) for command in README_COMMANDS]
    assert "pip install -e '.[test]'" in bare, "the README says how to install npflow"
    assert "python -m pytest" in bare, "the README says how to run the tests"
    assert any(command.startswith("npflow demo") for command in bare)


def test_ci_runs_the_readme_commands_that_need_the_checkout():
    ci_lines = [line.strip() for line in CI.read_text().splitlines() if not line.strip().startswith("#")]
    for command in README_COMMANDS:
        if NEEDS_THE_CHECKOUT.match(command):
            bare = without_comment(command)
            assert any(bare in line for line in ci_lines), f".ci/run does not run the README's {bare!r} as written"


@pytest.mark.slow
def test_the_readme_commands_run_in_a_fresh_folder(tmp_path):
    """Each command of the README, in order, in an empty folder; those that need the checkout are CI's (see above)."""
    ran = 0
    for command in README_COMMANDS:
        if NEEDS_THE_CHECKOUT.match(command):
            continue  # pip install / pytest / sphinx-build: .ci/run runs them from the repository's folder
        run_command(command, tmp_path)
        ran += 1
    assert ran >= 2


# -- the "Math to code" table ------------------------------------------------------------------

PAGE = ROOT / "docs" / "math_to_code.md"
ROWS = re.findall(r"^\| [^|`]+(?:\\\|[^|`]*)* \| `(.+?)` \| `(npflow/[\w/]+\.py)` \|$", PAGE.read_text(), re.MULTILINE)


def test_the_table_is_there():
    assert len(ROWS) >= 15


@pytest.mark.parametrize("code, path", ROWS, ids=[row[0][:40] for row in ROWS])
def test_each_quoted_line_is_in_its_file(code, path):
    lines = [line.strip() for line in (ROOT / path).read_text().splitlines()]
    assert code in lines, f"{code!r} is no longer a line of {path}"
