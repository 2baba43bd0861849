"""The HTML report (jinja2, autoescaped), its figures (seaborn) and the paper figures. The report only draws: every
number, curve, band and optimum it shows comes from `scalinglab.fitting`.

Modules: ``fits`` (the fits of a study, read with ``fitting.load_fit``, and how their numbers are written),
``figures`` (one function per figure, deterministic saving), ``build`` (what each sweep's section holds), ``html``
(the report context and template), ``paper`` (the paper figures in PDF, PNG and SVG).
Their command line is ``scalinglab.cli.report`` and ``scalinglab.cli.paper_figures``.
"""
