"""The example script runs (quick mode) and prints the numbers behind the essay's figures."""

import pathlib
import subprocess
import sys

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples"


def test_essay_example_runs(tmp_path):
    out = subprocess.run(
        [sys.executable, str(EXAMPLES / "essay.py"), "--quick", "--out", str(tmp_path)],
        capture_output=True, text=True, check=False, timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "mean-field roots" in out.stdout and "snapshot at β_c" in out.stdout
    # The ln Z/N table: mean field below exact below TRW at every β.
    rows = [line.split() for line in out.stdout.splitlines() if line[:1] == " " and "." in line]
    table = [list(map(float, r)) for r in rows if len(r) == 5]
    assert len(table) == 4
    for _, exact, mf, _bethe, trw in table:
        assert mf <= exact <= trw
