"""`scalinglab laws|fit|predict` end to end, as real subprocesses."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]


def cli(*args):
    env = {**os.environ, "PYTHONPATH": str(REPO / "workflow") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run(
        [sys.executable, "-m", "scalinglab.cli", *map(str, args)], capture_output=True, text=True, env=env, cwd=REPO
    )


def _table(tmp_path):
    rng = np.random.default_rng(0)
    N = np.repeat(np.geomspace(1e4, 1e7, 8), 3)
    seed = np.tile([0, 1, 2], 8)
    loss = (1.5 + 300 * N**-0.4) * np.exp(rng.normal(0, 0.005, N.size))
    status = np.where(np.arange(N.size) == 5, "failed", "ok")
    frame = pd.DataFrame({"N": N, "seed": seed, "loss": loss, "status": status, "sweep": "a", "C": 6 * N * 1e3})
    other = frame.assign(sweep="b", loss=frame.loss * 2)
    path = tmp_path / "metrics.csv"
    pd.concat([frame, other]).to_csv(path, index=False)
    return path


def test_laws_lists_catalogue():
    out = cli("laws")
    assert out.returncode == 0, out.stderr
    assert "saturating_power" in out.stdout and "chinchilla" in out.stdout
    data = json.loads(cli("laws", "--json").stdout)
    assert {d["name"] for d in data} >= {"linear", "kaplan", "broken_power", "m4"}


def test_fit_and_predict_pipeline_flags(tmp_path):
    data = _table(tmp_path)
    out_path = tmp_path / "fits" / "a" / "saturating_power.json"
    out = cli(
        "fit", data, "--where", "sweep=a", "--law", "saturating_power", "--x", "N", "--y", "loss",
        "--bootstrap", 200, "--bootstrap-unit", "run", "--huber-delta", 1e-3, "--ci", 0.9, "--seed", 1,
        "--backtest-holdouts", "1,2", "--out", out_path,
    )
    assert out.returncode == 0, out.stderr
    d = json.loads(out_path.read_text())
    for key in ("law", "formula", "parameters", "x", "y", "params", "intervals", "ci", "objective", "n_points",
                "n_excluded", "excluded", "rms_log_residual", "information_criteria", "backtest", "diagnostics",
                "derived", "bootstrap", "settings", "data_hash", "version"):
        assert key in d, key
    assert d["n_points"] == 23 and d["excluded"] == {"status=failed": 1}
    assert d["ci"] == 0.9 and d["settings"]["where"] == ["sweep=a"] and d["settings"]["bootstrap_unit"] == "run"
    assert abs(d["params"]["alpha"] - 0.4) < 0.02
    assert d["intervals"]["alpha"][0] < d["params"]["alpha"] < d["intervals"]["alpha"][1]
    assert len(d["bootstrap"]["params"]) == 200 and d["bootstrap"]["unit"] == "run"
    assert d["backtest"]["rms_log_error"] < 0.05 and [o["holdout"] for o in d["backtest"]["origins"]] == [1, 2]
    assert "backtest along x: mean RMS log error" in out.stdout
    for key in ("n_starts", "best_start", "n_starts_at_optimum", "converged", "iterations", "grad_norm"):
        assert key in d["diagnostics"]
    pred = cli("predict", out_path, "--at", "N=1e9", "--json")
    assert pred.returncode == 0, pred.stderr
    row = json.loads(pred.stdout)["predictions"][0]
    assert row["confidence_interval"][0] <= row["value"] <= row["confidence_interval"][1]
    assert row["prediction_interval"][0] < row["confidence_interval"][0]
    assert row["confidence_interval"][1] < row["prediction_interval"][1]
    text = cli("predict", out_path, "--at", "N=1e9").stdout
    assert "loss(N=1e+09)" in text and "confidence interval of the fitted curve" in text
    assert "prediction interval for a new run" in text and "from the residuals" in text


def test_fit_derive_and_group_bootstrap(tmp_path):
    data = _table(tmp_path)
    out_path = tmp_path / "fit.json"
    out = cli(
        "fit", data, "--where", "sweep=b", "--derive", "D=C/(6*N)", "--x", "N", "--y", "loss", "--bootstrap", 50,
        "--bootstrap-unit", "seed", "--drop-top-y", 2, "--predict-at", "N=1e8", "--out", out_path,
    )
    assert out.returncode == 0, out.stderr
    d = json.loads(out_path.read_text())
    assert d["excluded"] == {"status=failed": 1, "drop_top_y": 2} and d["n_excluded"] == 3
    assert d["bootstrap"]["unit"] == "seed"
    assert "y@N=1e8" in d["derived"]


def test_fit_errors_are_clean(tmp_path):
    data = _table(tmp_path)
    out = cli("fit", data, "--x", "params", "--bootstrap", 0)
    assert out.returncode == 2
    assert "missing x column 'params'" in out.stderr and "Traceback" not in out.stderr
    out = cli("fit", data, "--x", "N", "--y", "loss", "--law", "nope")
    assert out.returncode == 2 and "unknown law 'nope'" in out.stderr
    out = cli("fit", tmp_path / "absent.csv", "--x", "N")
    assert out.returncode == 2 and "data file not found" in out.stderr


def test_fit_several_laws_writes_backtest_ranking(tmp_path):
    data = _table(tmp_path)
    out_path = tmp_path / "compare.json"
    out = cli("fit", data, "--where", "sweep=a", "--law", "power,saturating_power,linear", "--x", "N", "--y", "loss",
              "--backtest-holdouts", "1,2", "--bootstrap", 50, "--out", out_path)
    assert out.returncode == 0, out.stderr
    d = json.loads(out_path.read_text())
    assert d["comparison"] == "backtest" and d["backtest_holdouts"] == [1, 2]
    assert [r["rank"] for r in d["ranking"]] == [1, 2, 3]
    assert d["ranking"][0]["law"] == "saturating_power"
    assert "1. saturating_power" in out.stdout


def test_fit_isoflop_cli_and_non_interior_error(tmp_path):
    rows = []
    for C in (1e18, 1e19, 1e20):
        for N in np.geomspace(1e7, 1e11, 9):
            D = C / (6 * N)
            rows.append({"C": C, "N": N, "loss": 1.7 + 400 / N**0.34 + 410 / D**0.28})
    path = tmp_path / "iso.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    out_path = tmp_path / "iso.json"
    out = cli("fit", path, "--law", "isoflop", "--x", "N", "--y", "loss", "--bootstrap", 0, "--out", out_path)
    assert out.returncode == 0, out.stderr
    d = json.loads(out_path.read_text())
    assert d["approach"] == 2 and len(d["budgets"]) == 3 and 0.4 < d["a"] < 0.65
    bad = pd.DataFrame([r for r in rows if not (r["C"] == 1e20 and r["N"] > 1.1e8)])
    bad.to_csv(path, index=False)
    out = cli("fit", path, "--law", "isoflop", "--x", "N", "--y", "loss", "--bootstrap", 0)
    assert out.returncode == 2 and "C=1e+20" in out.stderr and "above the largest" in out.stderr
    assert "Traceback" not in out.stderr


def test_parameter_on_a_bound_is_printed(tmp_path):
    # loss that grows with N: the saturating law's exponent wants to be negative and stops on its bound 0
    N = np.repeat(np.geomspace(1e4, 1e7, 6), 2)
    rng = np.random.default_rng(1)
    path = tmp_path / "up.csv"
    pd.DataFrame({"N": N, "loss": (1 + 0.05 * np.log(N)) * np.exp(rng.normal(0, 0.002, N.size))}).to_csv(path)
    out = cli("fit", path, "--x", "N", "--y", "loss", "--bootstrap", 20, "--out", tmp_path / "f.json")
    assert out.returncode == 0, out.stderr
    d = json.loads((tmp_path / "f.json").read_text())
    assert d["at_bound"]["alpha"]["side"] == "lower" and d["at_bound"]["alpha"]["bound"] == 0.0
    line = next(line for line in out.stdout.splitlines() if line.strip().startswith("alpha"))
    assert "AT THE LOWER BOUND 0" in line and "not a real interval" in line


def test_fit_defaults_are_the_schemas():
    """One source for every default: the library's (which the CLI uses) equal the study schema's `fit` block."""
    from scalinglab.cli import build_parser
    from scalinglab.config.schema import defaults
    from scalinglab.fitting import DEFAULTS

    shared = {k: v for k, v in defaults("fit").items() if k in DEFAULTS}
    assert set(shared) == {"huber_delta", "bootstrap", "bootstrap_unit", "ci", "seed", "backtest_holdouts"}
    for key, value in shared.items():
        assert list(DEFAULTS[key]) == value if isinstance(value, list) else DEFAULTS[key] == value, key
    args = build_parser("fit").parse_args(["fit", "data.csv", "--x", "N"])
    for key, value in shared.items():
        assert getattr(args, key) == value, key
