rule train:
    input:
        train_inputs,
    output:
        PATHS.run_file("{run}"),
    log:
        f"{PATHS.logs}/train/{{run}}.log",
    benchmark:
        f"{PATHS.benchmarks}/train/{{run}}.tsv"
    # The longest runs first (estimated by scalinglab.resources), so the last one does not run alone.
    priority: train_priority
    retries: job_retries(config["retries"])
    conda:
        SCALINGLAB_ENV
    threads: 1
    resources:
        **TRAIN_SITE_REQUESTS,
        attempt=train_attempt,
        # Cluster requests, estimated per run from its spec (workflow/rules/slurm.smk, docs/slurm.md).
        runtime=train_runtime,
        mem_mb=train_mem_mb,
    params:
        # What the run computes: the rerun trigger.
        spec=train_spec_json,
        # How it runs (data, prediction, folder, checkpoints, on_failure, retries + 1): derived, no rerun trigger.
        arguments=train_arguments,
    shell:
        "OMP_NUM_THREADS={threads} MKL_NUM_THREADS={threads} OPENBLAS_NUM_THREADS={threads}"
        " scalinglab train --spec-json {params.spec:q} {params.arguments} --log {log:q}"
        " --attempt {resources.attempt} > {log:q} 2>&1"
        # A failed job's last log line (its one-line error: sweep, run, what went wrong, the log) reaches the terminal.
        " || {{ tail -n 1 {log:q} >&2; exit 1; }}"
