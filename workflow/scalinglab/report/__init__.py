"""The HTML report (jinja2, autoescaped), its figures (seaborn) and the paper figures.

Modules: ``fits`` (fit JSON -> predictions and bootstrap bands), ``figures`` (one function per figure, deterministic
saving), ``html`` (the report context and template), ``paper`` (``reports/figures/`` in PDF, PNG and SVG),
``external`` (a CSV of runs trained elsewhere -> ``metrics.parquet``), ``commands`` (the CLI).
"""
