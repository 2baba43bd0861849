import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data"  # committed test data, with sources and licences (tests/data/README.md)


def job_environment(**extra) -> dict:
    """os.environ with this interpreter's bin/ first on PATH: jobs call the installed `scalinglab` command."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    return {**os.environ, "PATH": path, "PYTHONUNBUFFERED": "1", **extra}


def snakemake(*args, cwd, timeout=600, check=True):
    """Run the real snakemake CLI on this repository's Snakefile in another working directory."""
    command = [
        sys.executable, "-m", "snakemake",
        "--snakefile", str(REPO / "Snakefile"),
        "--directory", str(cwd),
        "--workflow-profile", "none",
        *map(str, args),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=job_environment())
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(map(str, args))} failed ({result.returncode}):\n"
                             f"{result.stdout[-4000:]}\n{result.stderr[-6000:]}")
    return result


# `.ci/run` installs chromium and SLURM and sets this: there, a system test that cannot run is a failure, so CI
# cannot go green without the real cluster and browser. On a laptop without them it is a skip that says why.
REQUIRE_SYSTEM_TESTS = os.environ.get("SCALINGLAB_REQUIRE_SYSTEM_TESTS") == "1"


def system_unavailable(reason: str):
    """Skip (laptop) or fail (CI, SCALINGLAB_REQUIRE_SYSTEM_TESTS=1) a test whose system package cannot run."""
    if REQUIRE_SYSTEM_TESTS:
        pytest.fail(f"{reason} (SCALINGLAB_REQUIRE_SYSTEM_TESTS=1: .ci/run installs it, so this is a failure)",
                    pytrace=False)
    pytest.skip(reason)


def iris_study(name: str, val_size: int = 30, budget: int = 60, bootstrap: int = 20) -> dict:
    """A valid tiny study: three one-layer MLPs on Iris, one seed, seconds to train. `val_size` sets the dataset's
    generation parameters, and so its cache folder."""
    return {
        "study": name,
        "device": "cpu",
        "datasets": {"iris": {"val_size": val_size, "test_size": 30}},
        "sweeps": [{
            "name": "iris_width",
            "dataset": "iris",
            "model": "mlp",
            "architecture": {"depth": 1},
            "sizes": [{"width": 4}, {"width": 8}, {"width": 16}],
            "seeds": [0],
            "budgets": [budget],
            "train": {"batch_size": 30, "epochs": 1, "eval_points": 2},
        }],
        "fit": {"laws": ["saturating_power"], "bootstrap": bootstrap},
    }


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def tiny_study(tmp_path_factory):
    """config/test.yaml run once, end to end, by the real snakemake in a temporary directory."""
    workdir = tmp_path_factory.mktemp("tiny_study")
    shutil.copy(REPO / "config" / "test.yaml", workdir / "test.yaml")
    result = snakemake("--configfile", workdir / "test.yaml", "--cores", "2", cwd=workdir)
    return workdir, result
