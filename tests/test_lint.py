"""The code is lint-clean under the rules chosen in pyproject.toml ([tool.ruff])."""

import shutil
import subprocess
import sys

from conftest import REPO


def test_ruff_is_clean():
    ruff = shutil.which("ruff") or str(REPO / ".venv" / "bin" / "ruff")
    result = subprocess.run([ruff, "check", "--no-cache", str(REPO)], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, f"ruff check found problems:\n{result.stdout}{result.stderr}"
    assert "All checks passed" in result.stdout, result.stdout


def test_the_configured_rules_catch_real_problems(tmp_path):
    # the configuration must select rules that find an unused import and a mutable default, not an empty selection
    bad = tmp_path / "bad.py"
    bad.write_text("import os\n\n\ndef f(x=[]):\n    return x\n")
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--config",
                             str(REPO / "pyproject.toml"), str(bad)], capture_output=True, text=True)
    assert result.returncode == 1
    assert "F401" in result.stdout and "B006" in result.stdout, result.stdout
