import pathlib
import subprocess
import sys

import pytest

EXAMPLES = sorted((pathlib.Path(__file__).parent.parent / "examples").glob("*.py"))
#: The examples that print comparisons: a quick run of each must say that it is too small to conclude.
COMPARING = {"couplings_compared.py", "diffusion_vs_flow.py", "digits.py", "discrete_flow.py", "guidance.py",
             "sampler_pitfall.py", "tutorial_in_numpy.py"}


def test_there_are_examples():
    assert len(EXAMPLES) >= 2
    assert COMPARING <= {script.name for script in EXAMPLES}


@pytest.mark.slow
@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_runs_quick_and_writes_figures(tmp_path, script):
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, str(script), "--quick", "--out", str(out)],
                            cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    figures = list(out.glob("*.png"))
    assert figures and all(f.stat().st_size > 10_000 for f in figures)
    if script.name in COMPARING:
        assert "quick: too small to conclude" in result.stdout


def test_examples_are_percent_notebooks():
    for script in EXAMPLES:
        assert script.read_text().startswith("# %% [markdown]"), script.name
