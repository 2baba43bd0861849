rule report:
    input:
        metrics=PATHS.metrics,
        curves=PATHS.curves,
        fits=fit_targets(),
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
    params:
        # a function: a plain string would be read as a pattern (a command template has braces)
        config=lambda wildcards: REPORT_CONFIG_JSON,
    shell:
        "scalinglab report --metrics {input.metrics:q} --curves {input.curves:q}"
        " --fits {input.fits:q} --config-json {params.config:q} --out {output:q} > {log:q} 2>&1"
