rule train:
    input:
        unpack(dataset_files),
    output:
        "results/runs/{run}/run.json",
    params:
        spec=train_spec_json,
        out_dir=lambda wildcards, output: os.path.dirname(output[0]),
        max_attempts=config["retries"] + 1,
    log:
        "logs/train/{run}.log",
    benchmark:
        "benchmarks/train/{run}.tsv"
    threads: 1
    retries: config["retries"]
    resources:
        # Passed to the job so it knows whether this is its last try (see on_failure).
        attempt=lambda wildcards, attempt: attempt,
    shell:
        "OMP_NUM_THREADS={threads} MKL_NUM_THREADS={threads} OPENBLAS_NUM_THREADS={threads}"
        " scalinglab train --spec-json {params.spec:q} --data-dir $(dirname {input.data:q})"
        " --out-dir {params.out_dir:q} --attempt {resources.attempt}"
        " --max-attempts {params.max_attempts} > {log:q} 2>&1"
