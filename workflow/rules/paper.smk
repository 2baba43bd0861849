# `snakemake paper`: every figure of the study in reports/STUDY/figures/ as PDF, PNG and SVG (deterministic bytes).
rule paper:
    input:
        metrics=PATHS.metrics,
        curves=PATHS.curves,
        fits=fit_targets(),
    output:
        report(
            directory(PATHS.figures),
            patterns=["{name}.png"],
            category="Paper figures",
            caption="../report/paper.rst",
        ),
    log:
        f"{PATHS.logs}/paper.log",
    conda:
        SCALINGLAB_ENV
    threads: LOCAL_CORES
    params:
        # a function: a plain string would be read as a pattern (a command template has braces)
        config=lambda wildcards: REPORT_CONFIG_JSON,
    shell:
        "scalinglab paper-figures --metrics {input.metrics:q}"
        " --curves {input.curves:q} --fits {input.fits:q} --config-json {params.config:q}"
        " --workers {threads} --out-dir {output:q} > {log:q} 2>&1"
