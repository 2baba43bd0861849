# External data mode: a study whose `external` block names CSVs of runs it did not train. Their rows become
# results/STUDY/metrics.parquet (and an empty curves.parquet), then the usual fit and report rules run on them.
# A missing CSV, or one without a mapped column, stopped the workflow already (config.table_checks.check_runs).
if config.get("external"):
    # Only the external block and the targets (their rows are held out of the ladder) are a rerun trigger: fit
    # settings and references never re-import.
    EXTERNAL_IMPORT_JSON = canonical_json(
        {
            "external": [dict(b, fit={}, references=[]) for b in config["external"]],
            "targets": config.get("targets") or [],
        }
    )

    rule import_external:
        input:
            [block["path"] for block in config["external"]],
        output:
            metrics=PATHS.metrics,
            curves=PATHS.curves,
        log:
            f"{PATHS.logs}/import_external.log",
        conda:
            SCALINGLAB_ENV
        params:
            external=lambda wildcards: EXTERNAL_IMPORT_JSON,
        shell:
            "scalinglab import-external --config-json {params.external:q}"
            " --metrics {output.metrics:q} --curves {output.curves:q} > {log:q} 2>&1"

    ruleorder: import_external > aggregate

    localrules:
        import_external,
