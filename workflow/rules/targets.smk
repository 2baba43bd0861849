# Targets: each is predicted from its sweep's ladder fit before its runs train (their train jobs take the prediction
# file as an input, so the DAG orders them), then scored against them: results/STUDY/targets.parquet and
# scorecard.json. External data's targets are rows of its CSV, held out of the ladder. A changed prediction retrains
# its target: every score compares a prediction made before its run started.
if TARGETS:

    rule predict_target:
        input:
            metrics=PATHS.metrics,
            # the checkpoints join the final runs in the two-step accuracy's loss-to-accuracy link
            curves=PATHS.curves,
            fit=target_fit,
        output:
            PATHS.prediction("{target}"),
        log:
            f"{PATHS.logs}/predict/{{target}}.log",
        conda:
            SCALINGLAB_ENV
        params:
            sweep=lambda wildcards: TARGETS[wildcards.target]["sweep"],
            x=lambda wildcards: canonical_json(TARGETS[wildcards.target]["x"]),
            run_ids=lambda wildcards: canonical_json(
                TARGETS[wildcards.target]["run_ids"]
            ),
            grid=lambda wildcards: canonical_json(TARGETS[wildcards.target]["grid"]),
        shell:
            "scalinglab predict-target --target {wildcards.target:q} --sweep {params.sweep:q}"
            " --fit {input.fit:q} --metrics {input.metrics:q} --curves {input.curves:q} --x-json {params.x:q}"
            " --run-ids-json {params.run_ids:q} --grid-json {params.grid:q} --out {output:q} > {log:q} 2>&1"

    # External data: the blocks and targets that say which rows are the truth (a rerun trigger).
    SCORE_CONFIG_JSON = canonical_json(
        {
            "external": config.get("external") or [],
            "targets": config.get("targets") or [],
        }
    )

    rule score:
        input:
            predictions=[PATHS.prediction(name) for name in TARGETS],
            runs=[
                PATHS.run_file(path)
                for target in TARGETS.values()
                for path in target["run_paths"]
            ],
        output:
            table=PATHS.targets,
            scorecard=PATHS.scorecard,
        log:
            f"{PATHS.logs}/score.log",
        conda:
            SCALINGLAB_ENV
        params:
            config=lambda wildcards: SCORE_CONFIG_JSON if config.get("external") else "",
        shell:
            "scalinglab score --predictions {input.predictions:q} --runs {input.runs:q}"
            " --config-json={params.config:q} --table {output.table:q}"
            " --scorecard {output.scorecard:q} > {log:q} 2>&1"

    localrules:
        predict_target,
        score,
