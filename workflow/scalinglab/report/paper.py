"""Paper figures: every figure of the study in reports/figures/ as PDF, PNG and SVG, in publication style
(seaborn paper context, colour-blind palette, embedded fonts, one- or two-column widths) with deterministic bytes."""

from __future__ import annotations

from pathlib import Path

from . import build
from . import figures as F


def write_paper_figures(metrics, curves, fits, config, out_dir, workers: int = 1) -> list[Path]:
    """Every figure of every sweep, drawn by `workers` processes (the same bytes as one), the scaling figures first:
    their prediction intervals make them the costliest."""
    from .html import group_fits

    F.setup("paper", paper=True)
    grouped = group_fits(fits)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    named = []  # (figure, file stem)
    for name, kind in build.sweep_order(metrics, fits, config):
        runs = metrics[metrics["sweep"].astype(str) == name] if "sweep" in metrics else metrics.iloc[0:0]
        plan = build.plan_sweep(name, kind, runs, curves, grouped.get(name, []), config)
        counts: dict[str, int] = {}
        for figure in plan.figures:
            counts[figure.kind] = counts.get(figure.kind, 0) + 1
            suffix = "" if counts[figure.kind] == 1 else f"_{counts[figure.kind]}"
            named.append((figure, f"{F.slug(name)}_{figure.kind}{suffix}"))
    drawings = [lambda figure=figure, stem=stem: F.save_paper(figure.make(figure.paper_size), out_dir, stem)
                for figure, stem in named]
    first = [i for i, (figure, _) in enumerate(named) if figure.kind == "scaling"]
    return [path for paths in F.in_parallel(drawings, workers, first=first) for path in paths]
