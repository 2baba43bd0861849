# `snakemake paper`: every figure of the study in reports/figures/ as PDF, PNG and SVG (deterministic bytes).
rule paper:
    input:
        metrics="results/metrics.parquet",
        curves="results/curves.parquet",
        fits=fit_targets(),
    output:
        report(
            directory("reports/figures"),
            patterns=["{name}.png"],
            category="Paper figures",
            caption="../report/paper.rst",
        ),
    log:
        "logs/paper.log",
    conda:
        SCALINGLAB_ENV
    params:
        config=lambda wildcards: canonical_json(config),
    shell:
        "scalinglab paper-figures --metrics {input.metrics:q}"
        " --curves {input.curves:q} --fits {input.fits:q} --config-json {params.config:q}"
        " --out-dir {output:q} > {log:q} 2>&1"
