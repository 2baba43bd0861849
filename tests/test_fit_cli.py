"""`scalinglab laws|fit|predict` end to end: the command line parsed and run by `scalinglab.cli.main`, in this
process (a fresh Python and numpy per call would cost about a second each); `shell` runs the installed module as a
real subprocess, for the tests of what only a new process shows (the catalogue, names with spaces, `plan`)."""

import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]


def shell(*args):
    env = {**os.environ, "PYTHONPATH": str(REPO / "workflow") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run(
        [sys.executable, "-m", "scalinglab.cli", *map(str, args)], capture_output=True, text=True, env=env, cwd=REPO
    )


def cli(*args):
    """`scalinglab ARGS` as `python -m scalinglab.cli` runs it (main's return value is the exit status; argparse
    exits with 2), its output captured; an exception that escapes main fails the test, as a traceback would."""
    from scalinglab.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.chdir(REPO), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([str(arg) for arg in args])
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
    return subprocess.CompletedProcess(["scalinglab", *map(str, args)], code, out.getvalue(), err.getvalue())


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
    out = shell("laws")
    assert out.returncode == 0, out.stderr
    assert "saturating_power" in out.stdout and "chinchilla" in out.stdout
    data = json.loads(shell("laws", "--json").stdout)
    assert {d["name"] for d in data} >= {"linear", "kaplan", "broken_power", "m4"}


def test_fit_and_predict_pipeline_flags(tmp_path):
    data = _table(tmp_path)
    out_path = tmp_path / "fits" / "a" / "saturating_power.json"
    out = cli(
        "fit", data, "--where", "sweep=a", "--law", "saturating_power", "--x", "N", "--y", "loss",
        "--bootstrap", 60, "--bootstrap-unit", "run", "--huber-delta", 1e-3, "--ci", 0.9, "--seed", 1,
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
    assert len(d["bootstrap"]["params"]) == 60 and d["bootstrap"]["unit"] == "run"
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
    out = cli("fit", path, "--x", "N", "--y", "loss", "--bootstrap", 20, "--backtest-holdouts", 0,
              "--out", tmp_path / "f.json")
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


# ---- bad input: a clear error naming the problem, never a traceback, never a quiet wrong answer ---------------------
def _clean_error(out, *needles):
    assert out.returncode == 2, (out.returncode, out.stdout, out.stderr)
    assert "Traceback" not in out.stderr
    for needle in needles:
        assert needle in out.stderr, (needle, out.stderr)


def test_empty_and_header_only_tables(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    _clean_error(cli("fit", empty, "--x", "N", "--y", "loss"), "empty.csv is empty")
    header = tmp_path / "header.csv"
    header.write_text("N,loss,status\n")
    _clean_error(cli("fit", header, "--x", "N", "--y", "loss"), "no rows", "0 row(s) read")


def test_out_of_range_settings_are_refused(tmp_path):
    data = _table(tmp_path)
    _clean_error(cli("fit", data, "--x", "N", "--y", "loss", "--ci", 1.5), "--ci", "1.5 is not between 0 and 1")
    _clean_error(cli("fit", data, "--x", "N", "--y", "loss", "--bootstrap", -1), "--bootstrap", "-1 is negative")
    _clean_error(cli("fit", data, "--x", "N", "--y", "loss", "--backtest-holdouts", "1,-2"), "--backtest-holdouts")


def test_workers_change_the_time_not_the_fit(tmp_path):
    """`--workers N` (processes the fit may keep busy): the same fit JSON, byte for byte, for 1 and 3; 0 is refused."""
    data = _table(tmp_path)
    common = ["--where", "sweep=a", "--x", "N", "--y", "loss", "--bootstrap", 40, "--backtest-holdouts", "1,2,3"]
    for workers in (1, 3):
        out = cli("fit", data, *common, "--workers", workers, "--out", tmp_path / f"fit{workers}.json")
        assert out.returncode == 0, out.stderr
    assert (tmp_path / "fit1.json").read_bytes() == (tmp_path / "fit3.json").read_bytes()
    assert len(json.loads((tmp_path / "fit3.json").read_text())["backtest"]["origins"]) == 3
    _clean_error(cli("fit", data, *common, "--workers", 0), "--workers", "0 is below 1")
    # ranking several laws (fitted side by side): the same comparison, byte for byte
    for workers in (1, 2):
        out = cli("fit", data, *common, "--law", "power,saturating_power,linear", "--workers", workers,
                  "--out", tmp_path / f"rank{workers}.json")
        assert out.returncode == 0, out.stderr
    assert (tmp_path / "rank1.json").read_bytes() == (tmp_path / "rank2.json").read_bytes()
    assert len(json.loads((tmp_path / "rank2.json").read_text())["ranking"]) == 3


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads a process's children from /proc")
def test_ctrl_c_stops_a_fit_with_one_line_and_no_worker_left(tmp_path):
    """Ctrl-C (SIGINT to the process group, as a terminal sends it) during a ranking with workers: exit status 130, one
    line saying so, no traceback, and no worker process left behind."""
    import signal
    import time

    data = tmp_path / "one.csv"
    N = np.geomspace(1e6, 1e9, 40)
    pd.DataFrame({"N": N, "loss": 1.7 + 400 * N**-0.34}).to_csv(data, index=False)
    process = subprocess.Popen([sys.executable, "-m", "scalinglab", "fit", data, "--x", "N", "--y", "loss", "--law",
                                "all", "--workers", "2", "--out", tmp_path / "rank.json"], cwd=REPO,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
    deadline = time.monotonic() + 30
    while not children.read_text().split() and time.monotonic() < deadline:  # until the laws are being fitted
        time.sleep(0.05)
    time.sleep(0.3)
    os.killpg(process.pid, signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert err.strip() == "scalinglab fit: interrupted"
    assert not (tmp_path / "rank.json").exists()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, 0)  # raises once every process of the group is gone
        time.sleep(1.0)
        os.killpg(process.pid, 0)
        raise AssertionError("a process of the fit's group outlived it")


def test_a_non_numeric_value_is_quoted(tmp_path):
    path = tmp_path / "bad.csv"
    pd.DataFrame({"N": ["1e4", "1e5", "1e6", "lots", "1e7"], "loss": [3.0, 2.5, 2.2, 2.1, 2.0]}).to_csv(path)
    _clean_error(cli("fit", path, "--x", "N", "--y", "loss", "--bootstrap", 0), "'lots'", "row 3")


def _saved_fit(tmp_path):
    data = _table(tmp_path)
    out_path = tmp_path / "fit.json"
    out = cli("fit", data, "--where", "sweep=a", "--x", "N", "--y", "loss", "--bootstrap", 30,
              "--backtest-holdouts", 0, "--out", out_path)
    assert out.returncode == 0, out.stderr
    return out_path


def test_predict_refuses_a_fit_with_a_missing_or_null_parameter(tmp_path):
    path = _saved_fit(tmp_path)
    d = json.loads(path.read_text())
    missing = tmp_path / "missing.json"
    missing.write_text(json.dumps({**d, "params": {k: v for k, v in d["params"].items() if k != "alpha"}}))
    _clean_error(cli("predict", missing, "--at", "N=1e8"), "parameter 'alpha'", "is missing")
    null = tmp_path / "null.json"
    null.write_text(json.dumps({**d, "params": {**d["params"], "alpha": None}}))
    _clean_error(cli("predict", null, "--at", "N=1e8"), "parameter 'alpha'", "null")
    _clean_error(cli("predict", path, "--at", "N=1e8", "--ci", 1.5), "--ci")


def test_predict_says_how_far_it_extrapolates(tmp_path):
    path = _saved_fit(tmp_path)  # N from 1e4 to 1e7
    out = cli("predict", path, "--at", "N=1e15", "--json")
    assert out.returncode == 0, out.stderr
    row = json.loads(out.stdout)["predictions"][0]
    assert row["extrapolation_decades"]["N"] == pytest.approx(8.0)
    assert "8.0 decades above the largest fitted N" in out.stderr and "1 decade" in out.stderr
    inside = json.loads(cli("predict", path, "--at", "N=1e6", "--json").stdout)["predictions"][0]
    assert inside["extrapolation_decades"]["N"] == 0 and inside["warnings"] == []


def _all_diverged(tmp_path):
    frame = pd.read_csv(_table(tmp_path))
    frame["run_id"] = [f"run{i:02d}" for i in range(len(frame))]
    frame.loc[frame.sweep == "a", "status"] = "diverged"
    frame.loc[(frame.sweep == "a") & (frame.index % 5 == 0), "status"] = "failed"
    path = tmp_path / "diverged.csv"
    frame.to_csv(path, index=False)
    return path


def test_an_unfittable_sweep_is_recorded_not_fatal(tmp_path):
    data = _all_diverged(tmp_path)
    args = ["fit", data, "--where", "sweep=a", "--x", "N", "--y", "loss", "--bootstrap", 0]
    _clean_error(cli(*args), "0 usable point(s)", "diverged")
    out_path = tmp_path / "fits" / "a" / "saturating_power.json"
    out = cli(*args, "--if-unfittable", "record", "--out", out_path)
    assert out.returncode == 0, out.stderr
    d = json.loads(out_path.read_text())
    assert d["status"] == "unfittable" and "0 usable point(s)" in d["reason"]
    assert set(d["excluded_runs"]) == {"status=diverged", "status=failed"}
    assert d["excluded"]["status=diverged"] + d["excluded"]["status=failed"] == 24
    assert "run05" in d["excluded_runs"]["status=failed"]
    _clean_error(cli("predict", out_path, "--at", "N=1e8"), "could not be fitted")


SCALE = 16  # the memory test below runs #14's million-row case with every budget and the row count divided by this


@pytest.mark.slow
def test_many_rows_stay_in_memory_at_a_sixteenth_of_every_budget(tmp_path, monkeypatch):
    """#14's 1,000,000 rows under 2 GiB, scaled down by SCALE: 62,500 rows, the resample-weight budget
    (bootstrap.MEMORY_ELEMENTS), the per-temporary budget (optimize.CHUNK_ELEMENTS) and the coarse start search's
    rows (COARSE_ROWS) all divided by 16, and the budget 2 GiB / 16 = 128 MiB of traced allocations. With 100
    resamples, holding their weights for 3 warm starts at once would take 143 MiB, so only chunking passes (it
    did: 33 MiB; unchunked 146 MiB). The full-size case is bench_fit's line (peak memory at 1,000,000 rows)."""
    import tracemalloc

    from scalinglab.cli import main
    from scalinglab.fitting import bootstrap, multistart, optimize

    rows, resamples, budget = 1_000_000 // SCALE, 100, 2 * 2**30 // SCALE
    monkeypatch.setattr(bootstrap, "MEMORY_ELEMENTS", bootstrap.MEMORY_ELEMENTS // SCALE)
    monkeypatch.setattr(optimize, "CHUNK_ELEMENTS", optimize.CHUNK_ELEMENTS // SCALE)
    monkeypatch.setattr(multistart, "COARSE_ROWS", multistart.COARSE_ROWS // SCALE)
    monkeypatch.setattr(bootstrap, "COARSE_ROWS", multistart.COARSE_ROWS)
    assert resamples * rows * 3 * 8 > budget  # the weights of every resample for 3 warm starts would not fit
    rng = np.random.default_rng(0)
    N = np.exp(rng.uniform(np.log(1e4), np.log(1e8), rows))
    loss = (1.7 + 400 * N**-0.34) * np.exp(rng.normal(0, 0.01, N.size))
    path, small = tmp_path / "big.parquet", tmp_path / "small.parquet"
    pd.DataFrame({"N": N, "loss": loss}).to_parquet(path)
    pd.DataFrame({"N": N[:200], "loss": loss[:200]}).to_parquet(small)
    common = ["--x", "N", "--y", "loss", "--backtest-holdouts", "0"]
    assert main(["fit", str(small), *common, "--bootstrap", "20", "--out", str(tmp_path / "small.json")]) == 0
    # (that first fit did the lazy imports, whose allocations are not the fit's)
    tracemalloc.start()
    try:
        code = main(["fit", str(path), *common, "--bootstrap", str(resamples), "--out", str(tmp_path / "big.json")])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert code == 0 and peak < budget, peak / 2**20
    d = json.loads((tmp_path / "big.json").read_text())
    assert d["bootstrap"]["n"] == resamples and d["diagnostics"]["coarse_rows"] == multistart.COARSE_ROWS
    assert abs(d["params"]["alpha"] - 0.34) < 0.01


def test_resamples_are_drawn_and_refitted_in_bounded_chunks(monkeypatch):
    from scalinglab.fitting import bootstrap, fit

    assert all(s.stop - s.start == 2 for s in bootstrap.in_chunks(1000, 1_000_000, 3)[:-1])  # 2**23 // 3e6
    monkeypatch.setattr(bootstrap, "MEMORY_ELEMENTS", 14 * 3 * 7)  # 7 resamples of 14 rows x 3 starts per chunk
    sizes = []
    original = bootstrap.refit

    def spy(law, Xs, logy, delta, point, W, settings, starts=None):
        sizes.append(W.shape[0] * starts.shape[0] * W.shape[1])
        return original(law, Xs, logy, delta, point, W, settings, starts)

    monkeypatch.setattr(bootstrap, "refit", spy)
    N = np.repeat(np.geomspace(1e4, 1e7, 7), 2)
    y = (1.5 + 300 * N**-0.4) * np.exp(np.random.default_rng(0).normal(0, 0.01, N.size))
    result = fit({"N": N, "y": y}, "saturating_power", "N", "y", bootstrap=40, backtest_holdouts=[],
                 bootstrap_starts=3)
    assert len(sizes) >= 2 and max(sizes) <= 14 * 3 * 7  # 40 resamples never in one piece
    assert np.isfinite(result.boot_natural).all() and result.boot_natural.shape == (40, 3)


def test_derive_reaches_columns_whose_names_have_spaces(tmp_path):
    """Epoch's CSV of Hoffmann's data names its columns 'Model Size' and 'Training FLOP'."""
    out_path = tmp_path / "epoch.json"
    # the interactive path (#14): a CSV is read without pandas and the optimum polished without scipy
    script = ("import sys, json; from scalinglab.cli import main; code = main(sys.argv[1:]); "
              "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} & {'pandas', 'scipy', 'pyarrow', "
              "'matplotlib', 'seaborn', 'jinja2', 'snakemake', 'torch'}))); sys.exit(code)")
    out = subprocess.run([sys.executable, "-c", script, "fit", REPO / "tests" / "data" /
                          "chinchilla_svg_extracted_data.csv", "--law", "chinchilla", "--x", "Model Size,D",
                          "--y", "loss", "--derive", "D=`Training FLOP`/(6*`Model Size`)", "--drop-top-y", "5",
                          "--bootstrap", "0", "--backtest-holdouts", "0", "--out", out_path],
                         capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
    d = json.loads(out_path.read_text())
    assert d["n_points"] == 240 and abs(d["objective"] - 0.001018274018) < 1e-11
    assert d["diagnostics"]["polish"]["success"]
    _clean_error(cli("fit", REPO / "tests" / "data" / "chinchilla_svg_extracted_data.csv", "--x", "D", "--y", "loss",
                     "--derive", "D=`Model Sise`/2"), "unknown column 'Model Sise'", "in backticks")


def test_a_fit_with_bootstrap_intervals_does_not_import_scipy_stats(tmp_path):
    """scipy.stats costs 0.4-0.5 s to import, more than the fit: the intervals' t and normal quantiles come from
    scipy.special, the same numbers (test_fitting.py::test_interval_quantiles_are_scipy_stats_to_the_bit)."""
    out_path = tmp_path / "bca.json"
    script = ("import sys, json; from scalinglab.cli import main; code = main(sys.argv[1:]); "
              "print(json.dumps(sorted(m for m in sys.modules if m.startswith('scipy.stats')))); sys.exit(code)")
    out = subprocess.run([sys.executable, "-c", script, "fit", REPO / "tests" / "data" /
                          "chinchilla_svg_extracted_data.csv", "--law", "chinchilla", "--x", "Model Size,D",
                          "--y", "loss", "--derive", "D=`Training FLOP`/(6*`Model Size`)", "--bootstrap", "20",
                          "--backtest-holdouts", "0", "--interval", "bca", "--workers", "1", "--out", out_path],
                         capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
    d = json.loads(out_path.read_text())
    assert d["bootstrap"]["dof"] and all(None not in d["intervals"][name] for name in ("E", "A", "alpha"))


# ---- scalinglab plan ---------------------------------------------------------------------------------------------
def test_plan_ranks_what_narrows_a_target_per_flop_on_a_synthetic_ladder():
    """Equal cost, uncertain exponent: a run near the target narrows its prediction more than one at the smallest
    size (both extrapolate the same law; only the near one pins the far end)."""
    from scalinglab.fitting import fit
    from scalinglab.fitting.plan import plan, yaml_snippet

    rng = np.random.default_rng(1)
    n = np.repeat(np.geomspace(1e3, 1e5, 5), 3)
    ladder = pd.DataFrame({"n_params": n, "y": (1.5 + 40 * n**-0.35) * np.exp(rng.normal(0, 0.01, n.size))})
    result = fit(ladder, "saturating_power", "n_params", "y", bootstrap=300, backtest_holdouts=[])
    same_cost = [{"label": f"N={x:g}", "X": [[x]], "flops": 1e12, "yaml": {"sizes": [{"n": x}]}} for x in (1e3, 3e6)]
    planned = plan(result, {"n_params": 1e7}, same_cost, flops=1e12)
    assert [r["label"] for r in planned["ranking"]] == ["N=3e+06", "N=1000"]
    near, small = planned["ranking"]
    assert near["sd_after"] < 0.8 * planned["sd_before"] and small["narrowing"] < 0.5 * near["narrowing"]
    assert [c["label"] for c in planned["chosen"]] == ["N=3e+06"]  # the budget buys one of them
    # greedy within the budget, each pick valued after the ones before it: the target's sd only falls
    costs = [{"label": f"N={x:g}", "X": [[x]], "flops": 6 * x * 1e6, "yaml": {"sizes": [{"n": x}]}}
             for x in (1e3, 1e4, 1e5, 1e6, 3e6)]
    planned = plan(result, {"n_params": 1e7}, costs, flops=1e13)
    assert planned["spent"] <= 1e13 and "N=3e+06" not in [c["label"] for c in planned["chosen"]]  # 1.8e13 > 1e13
    sds = [planned["sd_before"]] + [c["sd_after"] for c in planned["chosen"]]
    assert all(b < a for a, b in zip(sds, sds[1:]))
    snippet = yaml_snippet("width", planned)
    assert "- name: width" in snippet and "{n: 1.0e+06}" in snippet and "sizes:" in snippet


def test_plan_snippet_pastes_back_into_the_study(tmp_path, monkeypatch):
    """The snippet's numbers read back as numbers (PyYAML reads `1e+12` as text, which the study then refuses): its
    lists, added to the sweep's, make a study that validates."""
    from test_compute_optimal import corpus, iso_study

    from scalinglab.config import validate_config
    from scalinglab.config.validate import parse_study
    from scalinglab.fitting.plan import yaml_snippet

    monkeypatch.chdir(tmp_path)
    corpus(tmp_path / "words.txt")
    chosen = [{"yaml": {"compute_budgets": [1.0e12]}},
              {"yaml": {"compute_budgets": [3.3e12], "sizes": [{"d_model": 40}]}}, {"yaml": {"seeds": [1]}}]
    planned = {"chosen": chosen, "spent": 4e12, "flops": 5e12, "sd_before": 0.1, "sd_after": 0.05, "n_draws": 200,
               "noise_sigma": 0.01}
    snippet = yaml_snippet("iso", planned)
    assert "- 1.0e+12" in snippet and "- 3.3e+12" in snippet
    study = iso_study()
    sweep = study["sweeps"][0]
    for key, values in parse_study(snippet, "snippet")["sweeps"][0].items():
        if key != "name":
            sweep[key] = [*sweep.get(key, [0]), *values]
    validate_config(study)
    assert sweep["compute_budgets"][-2:] == [1.0e12, 3.3e12] and sweep["sizes"][-1] == {"d_model": 40}


def test_plan_cli_reads_the_study_and_its_fit_and_prints_a_yaml_snippet(tmp_path):
    import yaml
    from test_compute_optimal import corpus, iso_study

    from scalinglab.config import StudyPaths, expand, validate_config
    from scalinglab.config.targets import target_point
    from scalinglab.fitting import fit

    corpus(tmp_path / "words.txt")
    study = iso_study()
    study["sweeps"][0].update(sizes=[{"d_model": d} for d in (8, 12, 16, 24, 32)], grid={"lr": [0.01, 0.03]},
                              tokens_per_param=[0.001, 1000])
    study["fit"].update(bootstrap=200)
    (tmp_path / "iso.yaml").write_text(yaml.safe_dump(study))
    os.chdir(tmp_path)
    try:
        specs = [s for s in expand(validate_config(iso_study(**{k: study[k] for k in ("sweeps", "fit")})))
                 if s["role"] == "ladder"]
        n = np.array([target_point(s, ["n_params"])["n_params"] for s in specs])
        rng = np.random.default_rng(0)
        metrics = pd.DataFrame({"n_params": n, "y": (1.2 + 30 * n**-0.3) * np.exp(rng.normal(0, 0.01, n.size))})
        fit(metrics, "saturating_power", "n_params", "y", bootstrap=200,
            backtest_holdouts=[]).save(StudyPaths("iso").fit("iso", "saturating_power"))
    finally:
        os.chdir(REPO)
    env = {**os.environ, "PYTHONPATH": str(REPO / "workflow")}
    out = subprocess.run([sys.executable, "-m", "scalinglab.cli", "plan", "iso.yaml", "--target", "big", "--flops",
                          "1e10"], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "one more seed (1) of every cell" in out.stdout and "size {d_model: 40} at every budget" in out.stdout
    assert "compute budget" not in out.stdout  # x is n_params only: a new budget adds no new point to the law
    snippet = yaml.safe_load(out.stdout.split("\n\n", 1)[1])
    assert snippet["sweeps"][0]["name"] == "iso" and set(snippet["sweeps"][0]) - {"name"} <= {"seeds", "sizes"}
    bad = subprocess.run([sys.executable, "-m", "scalinglab.cli", "plan", "iso.yaml", "--target", "bigg", "--flops",
                          "1e10"], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert bad.returncode == 2 and "no target 'bigg' (did you mean 'big'?)" in bad.stderr
