rule train:
    input:
        unpack(dataset_files),
    output:
        "results/runs/{run}/run.json",
    log:
        "logs/train/{run}.log",
    benchmark:
        "benchmarks/train/{run}.tsv"
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
        spec=train_spec_json,
        out_dir=lambda wildcards, output: os.path.dirname(output[0]),
        max_attempts=config["retries"] + 1,
    shell:
        "OMP_NUM_THREADS={threads} MKL_NUM_THREADS={threads} OPENBLAS_NUM_THREADS={threads}"
        " scalinglab train --spec-json {params.spec:q} --data-dir $(dirname {input.data:q})"
        " --out-dir {params.out_dir:q} --attempt {resources.attempt}"
        " --max-attempts {params.max_attempts} > {log:q} 2>&1"
