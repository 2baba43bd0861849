"""The real snakemake on config/test.yaml, end to end, in a temporary directory."""

import json
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import REPO, snakemake

from scalinglab.config import expand, load_config

pytestmark = pytest.mark.slow


def planned_jobs(result) -> dict[str, int]:
    """The 'Job stats' table of a run or dry run: rule -> number of jobs."""
    stats = (result.stdout + result.stderr).split("Job stats:")
    if len(stats) < 2:
        return {}
    jobs = {}
    for line in stats[1].splitlines()[3:]:
        match = re.fullmatch(r"(\w+)\s+(\d+)", line.strip())
        if not match:
            break
        jobs[match.group(1)] = int(match.group(2))
    jobs.pop("total", None)
    return jobs


def test_one_metrics_row_per_run_with_finite_losses(tiny_study):
    workdir, _ = tiny_study
    expected = {spec["run_id"]: spec for spec in expand(load_config(REPO / "config" / "test.yaml"))}
    metrics = pd.read_parquet(workdir / "results" / "tiny" / "metrics.parquet")
    assert sorted(metrics["run_id"]) == sorted(expected)
    assert (metrics["status"] == "ok").all()
    for column in ("final_val_loss", "best_val_loss", "n_params", "flops"):
        assert np.isfinite(metrics[column].astype(float)).all(), column
    # every config column travels with the metrics
    assert {"sweep", "dataset", "model", "seed", "budget", "train_lr", "size_label"} <= set(metrics.columns)


def test_fit_columns_known_before_the_runs_are_the_columns_they_write(tiny_study):
    """scalinglab.config.columns (what fit.x and fit.y are checked against before any job) against real runs."""
    from scalinglab.config.columns import metric_columns, spec_columns

    workdir, _ = tiny_study
    config = load_config(REPO / "config" / "test.yaml")
    metrics = pd.read_parquet(workdir / "results" / "tiny" / "metrics.parquet")
    from scalinglab.datasets import get_spec

    specs = {spec["sweep"]: spec for spec in expand(config)}
    for sweep in config["sweeps"]:
        spec = specs[sweep["name"]]
        rows = metrics[metrics["sweep"] == sweep["name"]].dropna(axis=1, how="all")
        task = get_spec(spec["dataset"], spec["dataset_params"]).task
        known = spec_columns(sweep, spec["dataset_params"]) | metric_columns(sweep, spec["budget_unit"], task)
        written = {column for column in rows.columns if not column.startswith("env_")}
        assert written <= known, sorted(written - known)


def test_learning_curves_cover_every_run(tiny_study):
    workdir, _ = tiny_study
    curves = pd.read_parquet(workdir / "results" / "tiny" / "curves.parquet")
    metrics = pd.read_parquet(workdir / "results" / "tiny" / "metrics.parquet")
    assert set(curves["run_id"]) == set(metrics["run_id"])
    assert curves.groupby("run_id").size().min() >= 2
    assert np.isfinite(curves["val_loss"]).all()


def test_a_fit_per_sweep_and_law(tiny_study):
    workdir, _ = tiny_study
    config = load_config(REPO / "config" / "test.yaml")
    for sweep in config["sweeps"]:
        for law in config["fit"]["laws"]:
            fit = json.loads((workdir / "results" / "tiny" / "fits" / sweep["name"] / f"{law}.json").read_text())
            assert fit["law"] == law
            assert set(fit["params"]) == set(fit["intervals"])
            assert all(np.isfinite(value) for value in fit["params"].values())


def test_report_is_written(tiny_study):
    workdir, _ = tiny_study
    html = (workdir / "reports" / "tiny" / "report.html").read_text()
    assert "gpt_tiny" in html and "mlp_tiny" in html
    assert "<img" in html or "<svg" in html


def test_every_rule_logged(tiny_study):
    workdir, _ = tiny_study
    logs = workdir / "logs" / "tiny"
    assert (logs / "aggregate.log").is_file()
    assert len(list((logs / "train").rglob("*.log"))) == len(expand(load_config(REPO / "config" / "test.yaml")))
    benchmarks = workdir / "benchmarks" / "tiny"
    assert len(list((benchmarks / "train").rglob("*.tsv"))) == len(expand(load_config(REPO / "config" / "test.yaml")))
    assert (benchmarks / "report.tsv").is_file() and list((benchmarks / "fit").rglob("*.tsv"))


def test_rerun_with_nothing_changed_does_nothing(tiny_study):
    workdir, _ = tiny_study
    result = snakemake("-n", "--configfile", workdir / "test.yaml", "--cores", "2", cwd=workdir)
    assert planned_jobs(result) == {}
    assert "Nothing to be done" in result.stdout + result.stderr


def test_changing_a_fit_setting_reruns_only_fit_and_report(tiny_study):
    workdir, _ = tiny_study
    config = yaml.safe_load((workdir / "test.yaml").read_text())
    config["fit"]["bootstrap"] = config["fit"].get("bootstrap", 1000) + 7
    changed = workdir / "test_fit_changed.yaml"
    changed.write_text(yaml.safe_dump(config))
    result = snakemake("-n", "--configfile", changed, "--cores", "2", cwd=workdir)
    assert set(planned_jobs(result)) == {"fit", "report", "all"}


def test_changing_how_jobs_run_reruns_nothing(tiny_study):
    workdir, _ = tiny_study
    config = yaml.safe_load((workdir / "test.yaml").read_text())
    config.update(retries=3, on_failure="record", checkpoint_interval_s=5, keep_checkpoints=True)
    changed = workdir / "test_execution_changed.yaml"
    changed.write_text(yaml.safe_dump(config))
    result = snakemake("-n", "--configfile", changed, "--cores", "2", cwd=workdir)
    assert planned_jobs(result) == {}


def test_bad_config_fails_before_any_work(tmp_path):
    config = yaml.safe_load((REPO / "config" / "test.yaml").read_text())
    config["sweeps"][0]["train"]["batch_size"] = 0
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(config))
    result = snakemake("--configfile", path, "--cores", "1", cwd=tmp_path, check=False)
    assert result.returncode != 0
    assert "batch_size" in result.stdout + result.stderr
    assert not (tmp_path / "results").exists()


def test_lint_is_clean(tmp_path):
    result = snakemake("--lint", cwd=REPO, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Congratulations" in result.stdout + result.stderr


def test_snakefmt_is_clean():
    snakefmt = shutil.which("snakefmt", path=str(Path(sys.executable).parent)) or shutil.which("snakefmt")
    assert snakefmt, "snakefmt is part of the test extra"
    import subprocess

    result = subprocess.run([snakefmt, "--check", str(REPO / "Snakefile"), str(REPO / "workflow" / "rules")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
