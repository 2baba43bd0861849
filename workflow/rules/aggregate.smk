rule aggregate:
    input:
        # the ladder: target runs are scored (targets.smk), never fitted
        ladder_files(),
    output:
        metrics=PATHS.metrics,
        curves=PATHS.curves,
    log:
        f"{PATHS.logs}/aggregate.log",
    benchmark:
        f"{PATHS.benchmarks}/aggregate.tsv"
    conda:
        SCALINGLAB_ENV
    params:
        # The keys the run table is expanded from, not the run paths: 10,000 paths would overflow the command line.
        # The command lists the runs from them and reads each RUN_PATH/run.json under --runs-root.
        runs=lambda wildcards: canonical_json(run_table_config(config)),
        runs_root=lambda wildcards, output: os.path.join(
            os.path.dirname(output.metrics), "runs"
        ),
    shell:
        "scalinglab aggregate --config-json {params.runs:q} --runs-root {params.runs_root:q}"
        " --metrics {output.metrics:q} --curves {output.curves:q} > {log:q} 2>&1"
