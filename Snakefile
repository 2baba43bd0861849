# scalinglab: train a family of models per sweep, aggregate every run, fit scaling laws, report.
# The study is the one --configfile FILE, or config/config.yaml (the default study) when none is given: a study file
# is never merged with another. Its results go to results/STUDY/, its report to reports/STUDY/. See README.md.
import os

from snakemake.utils import min_version

min_version("9.0")


if not workflow.overwrite_configfiles and os.path.isfile("config/config.yaml"):

    configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/slurm.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/aggregate.smk"
include: "workflow/rules/fit.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/paper.smk"
include: "workflow/rules/external.smk"
include: "workflow/rules/targets.smk"


localrules:
    all,
    aggregate,
    report,
    paper,


rule all:
    input:
        # Every missing run, table and fit as well as the report: whatever is deleted (or set aside as damaged) is
        # missing, hence rebuilt, even when the report is newer than it (requested_runs). Not the dataset cache: a
        # deleted cache is prepared again when a run needs it, and a damaged one is rebuilt in place (common.smk);
        # neither retrains a run.
        requested_runs(),
        PATHS.metrics,
        PATHS.curves,
        fit_targets(),
        [PATHS.prediction(name) for name in TARGETS],
        [PATHS.targets, PATHS.scorecard] if TARGETS else [],
        PATHS.report,
