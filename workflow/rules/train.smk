rule train:
    input:
        unpack(train_inputs),
    output:
        PATHS.run_file("{run}"),
    log:
        f"{PATHS.logs}/train/{{run}}.log",
    benchmark:
        f"{PATHS.benchmarks}/train/{{run}}.tsv"
    retries: job_retries(config["retries"])
    conda:
        SCALINGLAB_ENV
    threads: 1
    resources:
        # Passed to the job so it knows whether this is its last try (see on_failure).
        attempt=lambda wildcards, attempt: attempt,
        # Cluster requests, estimated per run from its spec (workflow/rules/slurm.smk, docs/slurm.md).
        runtime=train_runtime,
        mem_mb=train_mem_mb,
        gpu=train_gpus,
        gpu_model=train_gpu_model,
        slurm_partition=train_partition,
    params:
        # What the run computes: the rerun trigger.
        spec=train_spec_json,
        out_dir=lambda wildcards, output: os.path.dirname(output[0]),
        data_dir=data_dir_of,
        prediction=prediction_of,
        # How the job executes (checkpoints, on_failure, retries + 1). Params computed from `resources` count as
        # derived for snakemake and are no rerun trigger: changing them retrains nothing.
        execution=lambda wildcards, resources: EXECUTION_JSON,
        max_attempts=lambda wildcards, resources: MAX_ATTEMPTS,
    shell:
        "OMP_NUM_THREADS={threads} MKL_NUM_THREADS={threads} OPENBLAS_NUM_THREADS={threads}"
        " scalinglab train --spec-json {params.spec:q} --execution-json {params.execution:q}"
        " --data-dir={params.data_dir:q} --prediction={params.prediction:q} --out-dir {params.out_dir:q} --log {log:q}"
        " --attempt {resources.attempt} --max-attempts {params.max_attempts} > {log:q} 2>&1"
        # A failed job's last log line (its one-line error: sweep, run, what went wrong, the log) reaches the terminal.
        " || {{ tail -n 1 {log:q} >&2; exit 1; }}"
