"""The HTML report (jinja2, autoescaped), its figures (seaborn) and the paper figures.

Modules: ``fits`` (fit JSON -> predictions and bootstrap bands), ``figures`` (one function per figure, deterministic
saving), ``html`` (the report context and template), ``paper`` (the paper figures in PDF, PNG and SVG).
Their command line is ``scalinglab.cli.report`` and ``scalinglab.cli.paper_figures``.
"""
