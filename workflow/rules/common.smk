import os
import shlex
import sys

from snakemake.exceptions import WorkflowError

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

from scalinglab.config import (
    canonical_json,
    expand as expand_runs,
    fit_settings,
    fitted_blocks,
    run_table_config,
    validate_config,
    ConfigError,
)

try:
    validate_config(config)
except ConfigError as error:
    raise WorkflowError(str(error))
SCALINGLAB_ENV = "../../envs/scalinglab.yaml"

# Every run of the study, keyed by its readable path under results/runs/.
RUNS = (
    {spec["run_path"]: spec for spec in expand_runs(config)}
    if config.get("sweeps")
    else {}
)
# Trained sweeps and external (CSV) sweeps are fitted and reported alike.
SWEEPS = fitted_blocks(config)


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


def sweep_fit_settings(wildcards):
    """The fit settings of one sweep, except `laws` (the law is a wildcard): the fit rule's rerun trigger."""
    settings = fit_settings(config, wildcards.sweep)
    settings.pop("laws")
    settings["backtest_holdouts"] = ",".join(map(str, settings["backtest_holdouts"]))
    return settings


def fit_targets():
    return [
        f"results/fits/{name}/{law}.json"
        for name in SWEEPS
        for law in fit_settings(config, name)["laws"]
    ]


def run_files():
    return [f"results/runs/{path}/run.json" for path in RUNS]
