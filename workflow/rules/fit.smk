rule fit:
    input:
        PATHS.metrics,
    output:
        PATHS.fit("{sweep}", "{law}"),
    log:
        f"{PATHS.logs}/fit/{{sweep}}/{{law}}.log",
    benchmark:
        f"{PATHS.benchmarks}/fit/{{sweep}}/{{law}}.tsv"
    conda:
        SCALINGLAB_ENV
    threads: 1
    params:
        settings=sweep_fit_settings,
    shell:
        "scalinglab fit {input:q} --where sweep={wildcards.sweep:q} --law {wildcards.law:q}"
        " --x {params.settings[x]:q} --y {params.settings[y]:q}"
        " --bootstrap {params.settings[bootstrap]}"
        " --bootstrap-unit {params.settings[bootstrap_unit]}"
        " --huber-delta {params.settings[huber_delta]} --ci {params.settings[ci]}"
        " --seed {params.settings[seed]} --backtest-holdouts {params.settings[backtest_holdouts]}"
        " --workers {threads}"
        # A sweep whose runs all diverged or failed gets a record of why, not a failed job: the report still appears.
        " --if-unfittable record --out {output:q} > {log:q} 2>&1"
