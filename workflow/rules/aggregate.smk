rule aggregate:
    input:
        run_files(),
    output:
        metrics="results/metrics.parquet",
        curves="results/curves.parquet",
    log:
        "logs/aggregate.log",
    run:
        # A run: block, not a shell command: a 10,000-run study would overflow the command line.
        from scalinglab.aggregate import aggregate_runs

        aggregate_runs(list(input), output.metrics, output.curves, log_path=log[0])
