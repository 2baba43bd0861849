# Cluster resources of each train job, estimated per run from its spec by scalinglab.resources (cheap to import,
# no torch at parse time). Site settings are SCALINGLAB_SLURM_* environment variables; see docs/slurm.md.
# Included after common.smk (it needs RUNS) and before train.smk (which uses these functions).
from scalinglab import resources as run_resources


def train_runtime(wildcards, attempt):
    """Minutes (sbatch -t): the run's estimated time with a safety factor, times the attempt number."""
    return run_resources.runtime_minutes(RUNS[wildcards.run], attempt)


def train_mem_mb(wildcards, attempt):
    return run_resources.mem_mb(RUNS[wildcards.run], attempt)


def train_gpus(wildcards):
    """0 unless the study asks for GPUs (device: cuda) or allows them (device: auto) and the site grants some."""
    return run_resources.gpus(RUNS[wildcards.run])


def train_partition(wildcards):
    """The GPU partition for GPU jobs, else the site's partition; "" lets SLURM use its default partition."""
    return run_resources.partition(RUNS[wildcards.run])


def train_gpu_model(wildcards):
    return run_resources.gpu_model(RUNS[wildcards.run])


def job_retries(retries):
    """How often a failed job is retried. The main snakemake retries a failed cluster job by submitting it again,
    with attempt + 1 and larger requests. Inside a cluster job (remote mode) a job must never retry itself, or it
    would rerun on the same allocation with attempt 2 and the time limit of attempt 1, and attempts would multiply.
    """
    return 0 if workflow.remote_exec else retries
