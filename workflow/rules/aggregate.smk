rule aggregate:
    input:
        run_files(),
    output:
        metrics="results/metrics.parquet",
        curves="results/curves.parquet",
    log:
        "logs/aggregate.log",
    conda:
        SCALINGLAB_ENV
    params:
        # The study's runs, not their paths: 10,000 paths would overflow the command line. The command expands the
        # run table from these keys and reads each RUN_PATH/run.json under --runs-root.
        runs=lambda wildcards: canonical_json(run_table_config(config)),
    shell:
        "scalinglab aggregate --config-json {params.runs:q} --runs-root results/runs"
        " --metrics {output.metrics:q} --curves {output.curves:q} > {log:q} 2>&1"
