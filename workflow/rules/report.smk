rule report:
    input:
        metrics=PATHS.metrics,
        curves=PATHS.curves,
        fits=fit_targets(),
        # the targets' scores open the report
        scorecard=[PATHS.scorecard] if TARGETS else [],
    output:
        report(
            PATHS.report,
            category="Report",
            caption="../report/report.rst",
        ),
    log:
        f"{PATHS.logs}/report.log",
    benchmark:
        f"{PATHS.benchmarks}/report.tsv"
    conda:
        SCALINGLAB_ENV
    # The study's last job: its figures are drawn in parallel on every core this snakemake runs jobs on (--cores;
    # --local-cores in a cluster run, which has no --cores and runs `report` locally).
    threads: workflow.resource_settings.cores or workflow.resource_settings.local_cores
    params:
        # a function: a plain string would be read as a pattern (a command template has braces)
        config=lambda wildcards: REPORT_CONFIG_JSON,
        scorecard=lambda wildcards, input: (
            f"--scorecard {shlex.quote(input.scorecard[0])}" if input.scorecard else ""
        ),
    shell:
        "scalinglab report --metrics {input.metrics:q} --curves {input.curves:q}"
        " --fits {input.fits:q} --config-json {params.config:q} {params.scorecard}"
        " --workers {threads} --out {output:q} > {log:q} 2>&1"
