# The shared dataset cache: results/data/{dataset}/{dataset_id}/, named by the hash of the generation parameters, so
# every study that asks for the same parameters uses the same prepared data and none overwrites another's.
rule prepare_data:
    output:
        data=f"{dataset_dir('{dataset}', '{dataset_id}')}/data.npz",
        meta=f"{dataset_dir('{dataset}', '{dataset_id}')}/meta.json",
    log:
        "logs/data/{dataset}/{dataset_id}.log",
    benchmark:
        "benchmarks/data/{dataset}/{dataset_id}.tsv"
    priority: PREPARE_PRIORITY
    conda:
        SCALINGLAB_ENV
    threads: 1
    params:
        generation=dataset_params_json,
        out_dir=lambda wildcards, output: os.path.dirname(output.meta),
        # A budget larger than the study's own data is refused here, before any training job.
        budgets=dataset_budgets_json,
    shell:
        "OMP_NUM_THREADS={threads} scalinglab prepare-data {wildcards.dataset:q}"
        " --params-json {params.generation:q} --out-dir {params.out_dir:q}"
        " --budgets-json {params.budgets:q} --log {log:q} > {log:q} 2>&1"
        " || {{ tail -n 1 {log:q} >&2; exit 1; }}"
