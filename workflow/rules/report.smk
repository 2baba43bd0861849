rule report:
    input:
        metrics="results/metrics.parquet",
        curves="results/curves.parquet",
        fits=fit_targets(),
    output:
        report(
            "reports/report.html",
            category="Report",
            caption="../report/report.rst",
        ),
    log:
        "logs/report.log",
    conda:
        SCALINGLAB_ENV
    params:
        config=lambda wildcards: canonical_json(config),
    shell:
        "scalinglab report --metrics {input.metrics:q} --curves {input.curves:q}"
        " --fits {input.fits:q} --config-json {params.config:q} --out {output:q} > {log:q} 2>&1"
