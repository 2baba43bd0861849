# scalinglab: train a family of models per sweep, aggregate every run, fit scaling laws, report.
# The default study is config/config.yaml; pass --configfile to run another. See README.md.
from snakemake.utils import min_version

min_version("9.0")


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


localrules:
    all,
    aggregate,
    report,
    paper,


rule all:
    input:
        "reports/report.html",
