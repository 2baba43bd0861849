# scalinglab: train a family of models per sweep, aggregate every run, fit scaling laws, report.
# The study is the one --configfile FILE, or config/config.yaml (the default study) when none is given: a study file
# is never merged with another. Its results go to results/STUDY/, its report to reports/STUDY/. See README.md.
import gc
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


# The study's tables (specs, paths, priorities: tens of thousands of objects at 10,000 runs) live as long as snakemake
# does: keep them out of the cyclic garbage collector's passes (freeze), and let it pass over the young objects
# snakemake allocates for every job a hundred times less often (after 70,000 allocations; Python's default, 700, is
# sized for small programs). Its passes over every live object took a quarter of a 10,000-run dry run
# (bench/bench_scale.py); the garbage this leaves uncollected for longer is bounded by the threshold.
gc.freeze()
_young, *_older = gc.get_threshold()
gc.set_threshold(max(_young, 70_000), *_older)


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
