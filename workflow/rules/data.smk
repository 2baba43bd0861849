rule prepare_data:
    output:
        data="results/data/{dataset}/data.npz",
        meta="results/data/{dataset}/meta.json",
    log:
        "logs/prepare_data/{dataset}.log",
    conda:
        SCALINGLAB_ENV
    threads: 1
    params:
        # A change of any generation parameter regenerates the dataset (params are a rerun trigger).
        generation=dataset_params_json,
        out_dir=lambda wildcards, output: os.path.dirname(output.meta),
    shell:
        "OMP_NUM_THREADS={threads} scalinglab prepare-data {wildcards.dataset:q}"
        " --params-json {params.generation:q} --out-dir {params.out_dir:q} > {log:q} 2>&1"
