# The study, read and checked once when the workflow is parsed; helpers of the rules (O(1) work per job).
import inspect
import os
import re
import shlex
import sys
from pathlib import Path

from snakemake.settings.types import DeploymentMethod

from scalinglab import recovery
from scalinglab.config import (
    ConfigError,
    StudyPaths,
    canonical_json,
    dataset_dir,
    fit_settings,
    fitted_blocks,
    load_study,
    report_config,
    run_identity,
    run_table_config,
)
from scalinglab.config.paths import migration_hint, old_layout
from scalinglab.config.targets import target_table
from scalinglab.laws import LAWS

SCALINGLAB_ENV = "../../envs/scalinglab.yaml"
# The main snakemake process checks the study and repairs what it can; cluster jobs re-read the Snakefile and must
# not (they would race with the other jobs).
MAIN = workflow.is_main_process


def stop(message):
    """End the workflow before any job with one line (SystemExit: no traceback)."""
    raise SystemExit(f"scalinglab: error: {message}")


try:
    from snakemake.common import overwrite_function_params
except (
    ImportError
):  # a snakemake without it inspects each call itself: slower, the same result

    def overwrite_function_params(function, params):
        pass


def per_job(function):
    """A function snakemake calls for every job (an input function, a param, a resource), its signature read once
    here: snakemake reads it with inspect.signature two or three times per call otherwise (at 10,000 runs, a fifth
    of a dry run)."""
    overwrite_function_params(function, inspect.signature(function).parameters)
    return function


if DeploymentMethod.CONDA in workflow.deployment_settings.deployment_method:
    # --sdm conda only: the environment (envs/scalinglab.yaml) cannot install this package (snakemake copies the env
    # file before creating it, so a `-e .` pip entry breaks), so jobs run it from this checkout: PYTHONPATH, and a
    # `scalinglab` shell function standing in for the installed command. Snakemake formats the prefix like a shell
    # command, hence the doubled braces.
    shell.prefix(
        "export PYTHONPATH="
        + shlex.quote(os.path.join(workflow.basedir, "workflow"))
        + '${{PYTHONPATH:+:$PYTHONPATH}}; scalinglab() {{ python -m scalinglab "$@"; }}; '
    )

STUDY_FILES = [str(path) for path in workflow.overwrite_configfiles] or [
    "config/config.yaml"
]
if len(STUDY_FILES) > 1:
    stop(
        f"one study file at a time, not {len(STUDY_FILES)} ({', '.join(STUDY_FILES)}): "
        "a study file is never merged with another"
    )
if not config:
    stop(
        f"no study: give --configfile FILE (the default study {STUDY_FILES[0]} is not in {os.getcwd()})"
    )
try:
    STUDY_TEXT = Path(STUDY_FILES[0]).read_text()
except OSError:
    STUDY_TEXT = None
try:
    _, SPECS, _warnings = load_study(
        config,
        source=STUDY_FILES[0],
        text=STUDY_TEXT,
        root=os.getcwd(),
        run_checks=MAIN,
    )
    if MAIN and old_layout():
        raise ConfigError(migration_hint(old_layout()))
except ConfigError as error:
    stop(error)

STUDY = config["study"]
PATHS = StudyPaths(STUDY)
# Every run of the study, keyed by its readable path under results/STUDY/runs/.
RUNS = {spec["run_path"]: spec for spec in SPECS}
# The ladder runs: every run that is not a target (metrics.parquet holds them, fits see only them).
LADDER = [path for path, spec in RUNS.items() if spec["role"] == "ladder"]
# Trained sweeps and external (CSV) sweeps are fitted and reported alike.
SWEEPS = fitted_blocks(config)
# Targets: name -> what predicting and scoring it needs (its x, known before it trains; its runs).
TARGETS = target_table(config, SPECS, os.getcwd())
# The prepared datasets the runs use: (name, dataset_id) -> generation parameters (a command sweep may have none).
DATASETS = {
    (spec["dataset"], spec["dataset_id"]): spec["dataset_params"]
    for spec in SPECS
    if spec["dataset"] is not None
}
# (name, dataset_id) -> {sweep: its largest budget}: prepare_data refuses a sample budget larger than the training
# pool, which the study's own data knows only once prepared, before any training job.
DATASET_BUDGETS = {}
for _spec in SPECS:
    if _spec["dataset"] is not None:
        _largest = DATASET_BUDGETS.setdefault(
            (_spec["dataset"], _spec["dataset_id"]), {}
        )
        _largest[_spec["sweep"]] = max(_largest.get(_spec["sweep"], 0), _spec["budget"])
# How jobs execute, passed to train without being a rerun trigger (see train.smk): changing retries, on_failure or
# checkpoints retrains nothing.
EXECUTION_JSON = canonical_json(
    {
        key: config[key]
        for key in ("checkpoint_interval_s", "keep_checkpoints", "on_failure")
    }
)
MAX_ATTEMPTS = config["retries"] + 1
# Every core this snakemake runs jobs on: --cores, or --local-cores in a cluster run (which has no --cores and runs
# `report` and `paper` locally). Those two draw their figures in parallel on them, after the last training job.
LOCAL_CORES = workflow.resource_settings.cores or workflow.resource_settings.local_cores
EXECUTION_ARG = shlex.quote(EXECUTION_JSON)


def one_of(names):
    """A wildcard constraint that matches exactly these names (and nothing when there are none)."""
    names = sorted(set(map(str, names)))
    return "|".join(map(re.escape, names)) if names else "(?!)"


def run_pattern():
    """The shapes of the study's run paths: per sweep, SIZE/BUDGET[/GRID]/seedN and targets/NAME/seedN. Compact on
    purpose: snakemake embeds the pattern in every train job's output, log and benchmark path and scans it each time
    it makes a job (a pattern that listed every size label took a third of a 10,000-run dry run).
    """
    shapes = {}
    for spec in SPECS:
        name, *rest = spec["run_path"].split("/")
        if spec["role"] == "target":
            shapes.setdefault(("target", name), set()).add(spec["target"])
        else:
            shapes.setdefault(("ladder", len(rest)), set()).add(name)
    patterns = []
    for (kind, key), names in shapes.items():
        if kind == "target":
            patterns.append(f"{re.escape(key)}/targets/(?:{one_of(names)})/seed[0-9]+")
        else:
            segments = [f"(?:{one_of(names)})", *["[^/]+"] * (key - 1), "seed[0-9]+"]
            patterns.append("/".join(segments))
    return "|".join(patterns) or "(?!)"


wildcard_constraints:
    run=run_pattern(),
    target=one_of(TARGETS),
    sweep=one_of(SWEEPS),
    law=one_of(LAWS),
    dataset=one_of(name for name, _ in DATASETS),
    dataset_id="[0-9a-f]{12}",


# run path -> the dataset folder its train job reads ("" for a command sweep that brings its own data), and, for a
# target run, its prediction file.
DATA_DIRS = {
    path: dataset_dir(spec["dataset"], spec["dataset_id"]) if spec["dataset"] else ""
    for path, spec in RUNS.items()
}
PREDICTIONS = {
    path: PATHS.prediction(spec["target"])
    for path, spec in RUNS.items()
    if spec["role"] == "target"
}


def dataset_params_json(wildcards):
    return canonical_json(DATASETS[(wildcards.dataset, wildcards.dataset_id)])


def dataset_budgets_json(wildcards, resources):
    """{sweep: largest budget} of the runs on this dataset; computed from `resources`, so no rerun trigger."""
    return canonical_json(DATASET_BUDGETS[(wildcards.dataset, wildcards.dataset_id)])


@per_job
def train_spec_json(wildcards):
    """What the run computes (its identity, run_id and run_path): the train job's rerun trigger."""
    spec = RUNS[wildcards.run]
    return canonical_json(
        {**run_identity(spec), "run_id": spec["run_id"], "run_path": spec["run_path"]}
    )


@per_job
def train_arguments(wildcards, output):
    """How the job runs, as `scalinglab train` arguments: its data and prediction, its folder, the execution
    settings (checkpoints, on_failure) and retries + 1. Derived from the output: no rerun trigger, so changing them
    retrains nothing (the run's identity is the `spec` param)."""
    return (
        f"--data-dir={shlex.quote(DATA_DIRS[wildcards.run])}"
        f" --prediction={shlex.quote(PREDICTIONS.get(wildcards.run, ''))}"
        f" --out-dir {shlex.quote(os.path.dirname(output[0]))} --execution-json {EXECUTION_ARG}"
        f" --max-attempts {MAX_ATTEMPTS}"
    )


@per_job
def train_inputs(wildcards):
    """A run's prepared dataset (none for a command sweep that brings its own data) and, for a target run, its
    prediction: the DAG trains a target only after it was predicted."""
    return TRAIN_INPUTS[wildcards.run]


def _train_inputs():
    """run path -> its train job's inputs; one list per (dataset, target), shared by its runs. meta.json alone:
    prepare_data writes it last, so it stands for the whole cache (one file per job is cheaper for snakemake than
    two). ancient: the folder is named by the hash of the data's parameters, so a cache rebuilt with the same
    parameters holds the same data and retrains nothing. Per run, not the study's every dataset: a run starts as
    soon as its own data is ready (the default study's MNIST-1D takes 17 s to prepare).
    """
    shared, inputs = {}, {}
    for path, spec in RUNS.items():
        key = (DATA_DIRS[path], PREDICTIONS.get(path))
        if key not in shared:
            shared[key] = [ancient(f"{key[0]}/meta.json")] if key[0] else []
            shared[key] += [key[1]] if key[1] else []
        inputs[path] = shared[key]
    return inputs


TRAIN_INPUTS = _train_inputs()


def sweep_fit_settings(wildcards):
    """The fit settings of one sweep, except `laws` (the law is a wildcard): the fit rule's rerun trigger."""
    settings = fit_settings(config, wildcards.sweep)
    settings.pop("laws")
    settings["backtest_holdouts"] = ",".join(map(str, settings["backtest_holdouts"]))
    return settings


def fit_targets():
    return [
        PATHS.fit(name, law)
        for name in SWEEPS
        for law in fit_settings(config, name)["laws"]
    ]


def run_files():
    return [PATHS.run_file(path) for path in RUNS]


def target_fit(wildcards):
    """The ladder fit a target is predicted from."""
    target = TARGETS[wildcards.target]
    return PATHS.fit(target["sweep"], target["law"])


def ladder_files():
    return [PATHS.run_file(path) for path in LADDER]


def requested_runs():
    """The run files rule all names itself, so that a deleted run is rebuilt even when the tables downstream of it
    are newer (snakemake does not rebuild a missing intermediate file then): every target run (score reads them),
    and the missing ladder runs once metrics.parquet exists (before it, aggregate asks for every run anyway). Naming
    all 10,000 runs of a large study twice would cost a tenth of its dry run."""
    targets = [
        PATHS.run_file(path) for path, spec in RUNS.items() if spec["role"] == "target"
    ]
    if not os.path.exists(PATHS.metrics):
        return targets
    return [file for file in ladder_files() if not os.path.exists(file)] + targets


# The config keys the report and the paper figures use (not retries, on_failure, ...): their rerun trigger.
REPORT_CONFIG_JSON = canonical_json(report_config(config))


if MAIN:
    for message in _warnings:
        print(f"scalinglab: warning: {message}", file=sys.stderr)
    # Damaged run records are set aside, hence retrained; damaged dataset caches are prepared again in place, so
    # the runs that read them stay valid (O(1) per file). Stale locks of a killed run are removed.
    for message in recovery.set_aside_damaged(run_files(), under=PATHS.runs):
        print(f"scalinglab: {message}", file=sys.stderr)
    for (name, dataset_id), params in DATASETS.items():
        message = recovery.repair_dataset(name, params, dataset_dir(name, dataset_id))
        if message:
            print(f"scalinglab: {message}", file=sys.stderr)
    LOCKS = recovery.StaleLocks()
    message = LOCKS.clear()
    if message:
        print(f"scalinglab: {message}", file=sys.stderr)
    LOCKS.register()
