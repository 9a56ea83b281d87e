import pathlib
import subprocess
import sys

import pytest

BENCH = pathlib.Path(__file__).parent.parent / "benchmarks" / "bench.py"


@pytest.mark.slow
def test_benchmark_runs_and_writes_a_table(tmp_path):
    """A smoke test: the script runs (with or without torch) and writes its table. No time is asserted."""
    out = tmp_path / "results.md"
    result = subprocess.run([sys.executable, str(BENCH), "--quick", "--out", str(out)], capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    table = out.read_text().splitlines()
    assert table[0].startswith("| measurement | npflow |")
    for row in ("train step, MLP 3-128-128-2", "npflow sample RUN, default flags", "npflow train, tutorial recipe",
                "train step, batch 256, --coupling ot", "one-Euler-step W2, moons", "train step, 64-d, width 512",
                "train step, the digits recipe", "sample 100 digits", "--recipe fast against the tutorial's"):
        assert any(line.startswith(f"| {row}") for line in table), row


@pytest.mark.slow
def test_the_meanflow_recipes_benchmark_runs_and_says_its_quick_mode_concludes_nothing():
    """A smoke test of benchmarks/meanflow_recipes.py: its table, and the quick mode marked on it."""
    script = BENCH.parent / "meanflow_recipes.py"
    result = subprocess.run([sys.executable, str(script), "--quick"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "too small to conclude anything" in result.stdout
    assert any(line.startswith("| paper (all three)") for line in result.stdout.splitlines())
