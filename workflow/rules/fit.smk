rule fit:
    input:
        "results/metrics.parquet",
    output:
        "results/fits/{sweep}/{law}.json",
    log:
        "logs/fit/{sweep}/{law}.log",
    conda:
        SCALINGLAB_ENV
    threads: 1
    params:
        settings=lambda wildcards: fit_settings(wildcards.sweep),
    shell:
        "scalinglab fit {input:q} --where sweep={wildcards.sweep:q} --law {wildcards.law:q}"
        " --x {params.settings[x]:q} --y {params.settings[y]:q}"
        " --bootstrap {params.settings[bootstrap]}"
        " --bootstrap-group {params.settings[bootstrap_group]}"
        " --huber-delta {params.settings[huber_delta]} --ci {params.settings[ci]}"
        " --seed {params.settings[seed]} --holdout {params.settings[backtest_holdout]}"
        " --out {output:q} > {log:q} 2>&1"
