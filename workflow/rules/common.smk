import os
import shlex
import sys

from snakemake.utils import validate

# The workflow and its jobs run the package from this checkout, so they also work where it is not
# installed, e.g. in `--sdm conda` environments, which cannot install it (see envs/scalinglab.yaml).
PACKAGE_PARENT = os.path.join(workflow.basedir, "workflow")
sys.path.insert(0, PACKAGE_PARENT)
# Snakemake formats the prefix like a shell command, hence the doubled braces.
shell.prefix(
    "export PYTHONPATH="
    + shlex.quote(PACKAGE_PARENT)
    + "${{PYTHONPATH:+:$PYTHONPATH}}; "
)

from scalinglab.sweep import canonical_json, expand as expand_runs

validate(config, "../schemas/config.schema.yaml")
SCALINGLAB_ENV = "../../envs/scalinglab.yaml"

# Every run of the study, keyed by its readable path under results/runs/.
RUNS = (
    {spec["run_path"]: spec for spec in expand_runs(config)}
    if config.get("sweeps")
    else {}
)
# Trained sweeps and external (CSV) sweeps are fitted and reported alike.
SWEEPS = {
    sweep["name"]: sweep
    for sweep in config.get("sweeps", []) + config.get("external", [])
}


def dataset_files(wildcards):
    dataset = RUNS[wildcards.run]["dataset"]
    return {
        "data": f"results/data/{dataset}/data.npz",
        "meta": f"results/data/{dataset}/meta.json",
    }


def dataset_params_json(wildcards):
    # Every sweep on a dataset carries the same parameters, with defaults filled in.
    for spec in RUNS.values():
        if spec["dataset"] == wildcards.dataset:
            return canonical_json(spec["dataset_params"])
    raise ValueError(f"no sweep uses dataset {wildcards.dataset!r}")


def train_spec_json(wildcards):
    return canonical_json(RUNS[wildcards.run])


def fit_settings(sweep_name):
    """The study's fit block with the sweep's own overrides on top."""
    settings = {**config["fit"], **SWEEPS[sweep_name]["fit"]}
    # Resampling runs means resampling rows (one per run_id); by seed, whole seeds at a time.
    settings["bootstrap_group"] = {"run": "run_id", "seed": "seed"}[
        settings["bootstrap_unit"]
    ]
    return settings


def fit_targets():
    return [
        f"results/fits/{name}/{law}.json"
        for name in SWEEPS
        for law in fit_settings(name)["laws"]
    ]


def run_table_config():
    """The config keys the run table is expanded from (aggregate's view of the study)."""
    keys = (
        "device",
        "checkpoint_interval_s",
        "keep_checkpoints",
        "on_failure",
        "datasets",
        "sweeps",
    )
    return {key: config[key] for key in keys if key in config}


def run_files():
    return [f"results/runs/{path}/run.json" for path in RUNS]
