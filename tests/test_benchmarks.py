import pathlib
import subprocess
import sys

BENCH = pathlib.Path(__file__).parent.parent / "benchmarks" / "bench.py"


def test_benchmark_runs_and_writes_a_table(tmp_path):
    """A smoke test: the script runs (with or without torch) and writes its table. No time is asserted."""
    out = tmp_path / "results.md"
    result = subprocess.run([sys.executable, str(BENCH), "--quick", "--out", str(out)], capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    table = out.read_text().splitlines()
    assert table[0].startswith("| measurement | npflow |")
    assert any(line.startswith("| train step, MLP 3-128-128-2") for line in table)
