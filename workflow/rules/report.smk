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
    threads: LOCAL_CORES
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
