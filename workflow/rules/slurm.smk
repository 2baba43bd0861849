# Cluster resources of each train job, estimated per run from its spec by scalinglab.resources (cheap to import,
# no torch at parse time). Site settings are SCALINGLAB_SLURM_* environment variables; see docs/slurm.md.
# Included after common.smk (it needs RUNS) and before train.smk (which uses these functions).
from scalinglab import resources as run_resources


@per_job
def train_attempt(wildcards, attempt):
    """Passed to the job so it knows whether this is its last try (see on_failure)."""
    return attempt


@per_job
def train_runtime(wildcards, attempt):
    """Minutes (sbatch -t): the run's estimated time with a safety factor (or its sweep's own request), times the
    attempt number."""
    return run_resources.runtime_minutes(RUNS[wildcards.run], attempt)


@per_job
def train_mem_mb(wildcards, attempt):
    return run_resources.mem_mb(RUNS[wildcards.run], attempt)


def site_requests():
    """The train jobs' GPUs, GPU model and partition, where any run has them: GPUs unless the study asks for them
    (device: cuda, or a sweep's resources.gpus) or allows them (device: auto) and the site grants some; the GPU
    partition for GPU jobs, else the site's. One value for the study when every run shares it, else a function of
    the run; left out when no run has one (no GPUs, SLURM's default partition): every resource costs snakemake
    work per job."""
    requests = {}
    for name, request in (
        ("gpu", run_resources.gpus),
        ("gpu_model", run_resources.gpu_model),
        ("slurm_partition", run_resources.partition),
    ):
        # a request depends on the sweep's settings only (device, trainer, resources): one call per sweep
        per_sweep = {}
        for spec in SPECS:
            if spec["sweep"] not in per_sweep:
                per_sweep[spec["sweep"]] = request(spec)
        values = {path: per_sweep[spec["sweep"]] for path, spec in RUNS.items()}
        distinct = set(values.values())
        if distinct - {0, ""} and len(distinct) == 1:
            requests[name] = distinct.pop()
        elif distinct - {0, ""}:
            requests[name] = per_job(
                lambda wildcards, values=values: values[wildcards.run]
            )
    return requests


TRAIN_SITE_REQUESTS = site_requests()


def _longest_first():
    """run path -> its train job's priority: the rank of its estimated seconds (the longest run highest, runs of
    unknown length lowest), so that the longest runs start first and no long run is left to run alone at the end
    while the other cores idle (longest processing time first). A rank, not the seconds: small runs' estimates
    differ by fractions of a second, which whole seconds would tie."""
    estimates = run_resources.estimated_seconds_of_runs(SPECS)
    distinct = sorted(
        {seconds for seconds in estimates.values() if seconds is not None}
    )
    rank = {seconds: place + 1 for place, seconds in enumerate(distinct)}
    return {path: rank.get(seconds, 0) for path, seconds in estimates.items()}


TRAIN_PRIORITY = _longest_first()
# Preparing a dataset outranks every train job: snakemake starts the highest-priority ready jobs first, and a
# priority does not pass to the jobs a job waits for, so a dataset needed only by short (low-priority) runs would
# otherwise wait for every long run to start while those short runs could not (a cache present for one dataset and
# not the other left a core idle for 20 s in the default study).
PREPARE_PRIORITY = max(TRAIN_PRIORITY.values(), default=0) + 1


@per_job
def train_priority(wildcards):
    return TRAIN_PRIORITY[wildcards.run]


def job_retries(retries):
    """How often a failed job is retried. The main snakemake retries a failed cluster job by submitting it again,
    with attempt + 1 and larger requests. Inside a cluster job (remote mode) a job must never retry itself, or it
    would rerun on the same allocation with attempt 2 and the time limit of attempt 1, and attempts would multiply.
    """
    return 0 if workflow.remote_exec else retries
