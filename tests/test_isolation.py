"""Studies never overwrite each other, and deleted or damaged results are rebuilt, never ignored: the real snakemake
on tiny studies in a temporary directory (dry runs where no training is needed)."""

from __future__ import annotations

import copy
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import REPO, iris_study, job_environment, snakemake
from test_workflow import planned_jobs

from scalinglab.config import StudyPaths

pytestmark = pytest.mark.slow


def write_study(workdir: Path, config: dict) -> Path:
    path = workdir / f"{config['study']}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def files_of(workdir: Path, study: str) -> dict[str, tuple[int, str]]:
    """Every file of a study (and of the dataset caches it reads): path -> (mtime_ns, sha256)."""
    paths = StudyPaths(study)
    roots = [paths.results, paths.reports, paths.logs, paths.benchmarks]
    found = {}
    for root in roots:
        for file in sorted((workdir / root).rglob("*")):
            if file.is_file():
                found[str(file.relative_to(workdir))] = (file.stat().st_mtime_ns,
                                                         hashlib.sha256(file.read_bytes()).hexdigest())
    return found


@pytest.fixture(scope="module")
def study_a(tmp_path_factory):
    """Study A run end to end; tests copy it before changing anything."""
    workdir = tmp_path_factory.mktemp("study_a")
    path = write_study(workdir, iris_study("study_a", val_size=30))
    snakemake("--configfile", path, "--cores", "2", cwd=workdir)
    return workdir


def copy_of(study_a: Path, tmp_path: Path) -> Path:
    workdir = tmp_path / "copy"
    shutil.copytree(study_a, workdir, symlinks=True)
    return workdir


def test_study_b_changes_no_file_of_study_a_and_a_reruns_nothing(study_a, tmp_path):
    workdir = copy_of(study_a, tmp_path)
    before = files_of(workdir, "study_a")
    a_data = sorted((workdir / "results" / "data" / "iris").iterdir())
    data_before = {p.name: p.stat().st_mtime_ns for folder in a_data for p in folder.iterdir()}
    # B shares the dataset with other generation parameters
    path_b = write_study(workdir, iris_study("study_b", val_size=20))
    snakemake("--configfile", path_b, "--cores", "2", cwd=workdir)
    assert (workdir / "reports" / "study_b" / "report.html").is_file()
    assert len(list((workdir / "results" / "data" / "iris").iterdir())) == 2, "B has its own dataset cache"
    result = snakemake("-n", "--configfile", workdir / "study_a.yaml", "--cores", "2", cwd=workdir)
    assert planned_jobs(result) == {} and "Nothing to be done" in result.stdout + result.stderr
    assert files_of(workdir, "study_a") == before
    assert {p.name: p.stat().st_mtime_ns for folder in a_data for p in folder.iterdir()} == data_before


def test_a_deleted_run_is_retrained_alone_then_everything_downstream(study_a, tmp_path):
    workdir = copy_of(study_a, tmp_path)
    paths = StudyPaths("study_a")
    runs = sorted((workdir / paths.runs).rglob("run.json"))
    before = {path: path.stat().st_mtime_ns for path in runs}
    deleted = runs[1]
    shutil.rmtree(deleted.parent)
    result = snakemake("--configfile", workdir / "study_a.yaml", "--cores", "2", cwd=workdir)
    assert planned_jobs(result) == {"train": 1, "aggregate": 1, "fit": 1, "report": 1, "all": 1}
    assert deleted.is_file()
    assert {path: path.stat().st_mtime_ns for path in runs if path != deleted} == {
        path: mtime for path, mtime in before.items() if path != deleted}
    report = (workdir / paths.report).stat().st_mtime_ns
    assert report > deleted.stat().st_mtime_ns > before[runs[0]]


@pytest.mark.parametrize("name", ["metrics.parquet", "curves.parquet", "fits"])
def test_a_deleted_intermediate_is_rebuilt(study_a, tmp_path, name):
    workdir = copy_of(study_a, tmp_path)
    target = workdir / "results" / "study_a" / name
    shutil.rmtree(target) if target.is_dir() else target.unlink()
    result = snakemake("-n", "--configfile", workdir / "study_a.yaml", "--cores", "2", cwd=workdir)
    jobs = planned_jobs(result)
    assert "train" not in jobs and jobs.get("report") == 1
    assert jobs.get("aggregate" if name != "fits" else "fit")


def test_a_truncated_run_record_is_named_and_retrained(study_a, tmp_path):
    workdir = copy_of(study_a, tmp_path)
    record = sorted((workdir / StudyPaths("study_a").runs).rglob("run.json"))[0]
    record.write_bytes(record.read_bytes()[:200])
    result = snakemake("-n", "--configfile", workdir / "study_a.yaml", "--cores", "2", cwd=workdir)
    relative = record.relative_to(workdir)
    assert f"scalinglab: {relative} is damaged: it is truncated" in result.stderr
    assert planned_jobs(result)["train"] == 1


def test_a_truncated_dataset_cache_is_prepared_again_and_retrains_nothing(study_a, tmp_path):
    workdir = copy_of(study_a, tmp_path)
    data = next((workdir / "results" / "data" / "iris").glob("*/data.npz"))
    good = hashlib.sha256(data.read_bytes()).hexdigest()
    data.write_bytes(data.read_bytes()[:500])
    result = snakemake("-n", "--configfile", workdir / "study_a.yaml", "--cores", "2", cwd=workdir)
    assert f"damaged dataset cache ({data.relative_to(workdir)}: it is truncated" in result.stderr
    assert planned_jobs(result) == {}
    assert hashlib.sha256(data.read_bytes()).hexdigest() == good


def test_kill_9_of_the_whole_workflow_recovers_with_one_command(study_a, tmp_path):
    workdir = copy_of(study_a, tmp_path)
    paths = StudyPaths("study_a")
    deleted = sorted((workdir / paths.runs).rglob("run.json"))[0]
    shutil.rmtree(deleted.parent)  # a run to train: the workflow is killed while its job runs
    path = workdir / "study_a.yaml"
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--workflow-profile",
               "none", "--configfile", str(path), "--cores", "1"]
    process = subprocess.Popen(command, cwd=workdir, env=job_environment(), start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    incomplete = workdir / ".snakemake" / "incomplete"

    def job_running() -> bool:  # snakemake marks a job's output incomplete when the job starts
        return incomplete.is_dir() and any(path.is_file() for path in incomplete.rglob("*"))

    deadline = time.monotonic() + 120
    try:
        while not job_running():
            assert process.poll() is None and time.monotonic() < deadline, "no job started"
            time.sleep(0.05)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    assert list((workdir / ".snakemake" / "locks").glob("*.lock")), "the kill left the lock behind"
    assert not deleted.exists()
    # The recovery the README documents: one command.
    recovered = snakemake("--configfile", path, "--cores", "1", "--rerun-incomplete", cwd=workdir)
    assert "removed the locks left by a snakemake of this workflow that is no longer running" in recovered.stderr
    assert deleted.is_file() and (workdir / paths.report).stat().st_mtime_ns > deleted.stat().st_mtime_ns


def test_a_sweep_whose_runs_all_failed_does_not_block_the_report(tmp_path):
    config = iris_study("doomed", bootstrap=0)
    config.update(on_failure="record", retries=0)
    config["sweeps"].append({**copy.deepcopy(config["sweeps"][0]), "name": "fails"})
    path = write_study(tmp_path, config)
    # every run of the sweep `fails` raises (the trainer's test hook); on_failure: record keeps them as status=failed
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--workflow-profile", "none",
               "--configfile", str(path), "--cores", "2"]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600,
                          env=job_environment(SCALINGLAB_TEST_FAIL_ATTEMPTS="99", SCALINGLAB_TEST_FAIL_RUNS="fails/*"))
    assert done.returncode == 0, done.stderr[-4000:]
    paths = StudyPaths("doomed")
    record = json.loads((tmp_path / paths.fit("fails", "saturating_power")).read_text())
    assert record["status"] == "unfittable" and record["excluded"] == {"status=failed": 3}
    assert "0 usable point(s)" in record["reason"] and "3 status=failed" in record["reason"]
    assert json.loads((tmp_path / paths.fit("iris_width", "saturating_power")).read_text())["params"]
    html = (tmp_path / paths.report).read_text()
    assert "saturating_power could not be fitted to this sweep" in html
    assert "fails/w4/60-samples/seed0: " in html and "InjectedFailure" in html


def test_the_old_layout_is_refused_with_the_command_that_moves_it(study_a, tmp_path):
    workdir = copy_of(study_a, tmp_path)
    paths = StudyPaths("study_a")
    # the layout before studies had homes, with run records as they were written then
    for new, old in ((paths.runs, "results/runs"), (paths.metrics, "results/metrics.parquet"),
                     (paths.curves, "results/curves.parquet"), (f"{paths.results}/fits", "results/fits"),
                     (paths.report, "reports/report.html")):
        os.replace(workdir / new, workdir / old)
    cache = next((workdir / "results" / "data" / "iris").iterdir())
    for name in ("data.npz", "meta.json"):
        os.replace(cache / name, workdir / "results" / "data" / "iris" / name)
    cache.rmdir()
    for record_path in (workdir / "results" / "runs").rglob("run.json"):
        record = json.loads(record_path.read_text())
        del record["spec"]["dataset_id"]
        record_path.write_text(json.dumps(record, indent=1) + "\n")
    study_file = workdir / "study_a.yaml"

    refused = snakemake("-n", "--configfile", study_file, "--cores", "2", cwd=workdir, check=False)
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert "scalinglab migrate --study NAME" in refused.stderr and "results/runs" in refused.stderr

    migrated = subprocess.run([sys.executable, "-m", "scalinglab", "migrate", "--study", "study_a"], cwd=workdir,
                              capture_output=True, text=True, env=job_environment())
    assert migrated.returncode == 0, migrated.stderr
    assert "moved results/runs -> results/study_a/runs" in migrated.stdout
    assert (workdir / paths.runs).is_dir() and not (workdir / "results" / "runs").exists()
    result = snakemake("-n", "--configfile", study_file, "--cores", "2", cwd=workdir)
    jobs = planned_jobs(result)
    assert "train" not in jobs and "prepare_data" not in jobs, "migrated runs are reused, not retrained"


def test_paper_figures_go_to_each_studys_folder(study_a, tmp_path):
    workdir = copy_of(study_a, tmp_path)
    config = copy.deepcopy(iris_study("study_a", val_size=30))
    snakemake("paper", "--configfile", workdir / "study_a.yaml", "--cores", "1", cwd=workdir)
    figures = [path for path in (workdir / "reports" / config["study"] / "figures").iterdir()
               if not path.name.startswith(".")]  # snakemake's .snakemake_timestamp of a directory output
    assert figures and {path.suffix for path in figures} == {".pdf", ".png", ".svg"}
    assert not (workdir / "reports" / "figures").exists()
