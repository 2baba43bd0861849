"""Render the self-contained HTML report: jinja2 with autoescape on, figures inlined as SVG."""

from __future__ import annotations

import json
from pathlib import Path

from . import build
from . import figures as F

TEMPLATES = Path(__file__).resolve().parent / "templates"


def environment():
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,  # every user string (sweep names, titles, paths, errors) is escaped
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def group_fits(fits: list) -> dict[str, list]:
    grouped: dict[str, list] = {}
    for fit in fits:
        grouped.setdefault(fit.sweep, []).append(fit)
    return grouped


def report_context(metrics, curves, fits: list, config: dict, provenance: dict | None = None,
                   scorecard: dict | None = None, workers: int = 1) -> dict:
    F.setup("notebook")
    grouped = group_fits(fits)
    plans = []
    for name, kind in build.sweep_order(metrics, fits, config):
        runs = metrics[metrics["sweep"].astype(str) == name] if "sweep" in metrics else metrics.iloc[0:0]
        plans.append(build.plan_sweep(name, kind, runs, curves, grouped.get(name, []), config))
    svgs = iter(_svgs([figure for plan in plans for figure in plan.figures], workers))
    sweeps = []
    for plan in plans:
        rendered = [{"id": f"fig-{F.slug(plan.name)}-{figure.kind}-{index}", "title": figure.title,
                     "caption": figure.caption, "svg": next(svgs)} for index, figure in enumerate(plan.figures)]
        sweeps.append({"plan": plan, "figures": rendered, "anchor": f"sweep-{len(sweeps)}"})
    n_figures = sum(len(s["figures"]) for s in sweeps)
    return {
        "study": str(config.get("study", "study")),
        "headlines": [line for s in sweeps for line in build.headlines(grouped.get(s["plan"].name, []))],
        "sweeps": sweeps,
        "n_figures": n_figures,
        "runs": build.runs_table(metrics),
        "status": _status_summary(metrics),
        "compute": build.compute_spent(metrics),
        "provenance": provenance or {},
        "config_json": json.dumps(config, indent=2, sort_keys=True, default=str),
        "fit_files": [fit.path for fit in fits],
        "scorecard": _scorecard_rows(scorecard),
        "skipped": _skipped_cells(config),
    }


def _svgs(figures: list, workers: int) -> list[str]:
    """Every figure as inline SVG, drawn by `workers` processes; the scaling figures start first: their
    prediction intervals make them the costliest."""
    drawings = [lambda figure=figure: F.to_svg(figure.make(F.REPORT)) for figure in figures]
    first = [i for i, figure in enumerate(figures) if figure.kind == "scaling"]
    return F.in_parallel(drawings, workers, first=first)


def _scorecard_rows(scorecard: dict | None) -> list[dict]:
    """One row per target of results/STUDY/scorecard.json, numbers formatted."""
    def number(value):
        return "" if value is None else f"{value:.4g}"

    def interval(bounds):
        return "" if not bounds or None in bounds else f"[{bounds[0]:.4g}, {bounds[1]:.4g}]"

    rows = []
    for name, entry in ((scorecard or {}).get("targets") or {}).items():
        parts = [(entry, entry.get("y"), entry.get("law"))]
        if entry.get("accuracy"):  # the two-step accuracy: its own row, under the loss it was chained to
            parts.append((entry["accuracy"], entry["accuracy"]["y"], "two-step: sigmoid link from the loss"))
        for part, y, law in parts:
            error = part.get("relative_error")
            rows.append({"target": name, "sweep": entry.get("sweep"), "law": law, "y": y,
                         "prediction": number(part.get("prediction")),
                         "prediction_interval": interval(part.get("prediction_interval")),
                         "confidence_interval": interval(part.get("confidence_interval")),
                         "truth": number(part.get("truth")), "n_runs": entry.get("n_runs"),
                         "relative_error": "" if error is None else f"{100 * error:+.2f}%",
                         "in_prediction_interval": part.get("in_prediction_interval"),
                         "in_confidence_interval": part.get("in_confidence_interval"),
                         "n_ladder_runs": entry.get("n_ladder_runs"), "predicted_at": entry.get("predicted_at"),
                         "grid_choice": entry.get("grid_choice") or {}})
    return rows


def _skipped_cells(config: dict) -> list[dict]:
    """The (size, compute budget) cells of IsoFLOP sweeps their tokens_per_param range skipped, with the reason."""
    if not any("compute_budgets" in sweep for sweep in config.get("sweeps") or []):
        return []
    from ..config import skipped_cells
    from ..config.schema import defaults

    return skipped_cells({**defaults(), **config})


def _status_summary(metrics) -> list[dict]:
    if not len(metrics) or "sweep" not in metrics:
        return []
    status = metrics["status"].fillna("unknown") if "status" in metrics else "ok"
    table = metrics.assign(_status=status).groupby(["sweep", "_status"], sort=False).size()
    rows: dict[str, dict] = {}
    for (sweep, state), count in table.items():
        rows.setdefault(str(sweep), {"sweep": str(sweep), "ok": 0, "diverged": 0, "failed": 0, "other": 0})
        rows[str(sweep)][state if state in ("ok", "diverged", "failed") else "other"] += int(count)
    return list(rows.values())


def render_report(metrics, curves, fits, config, provenance=None, scorecard=None, workers: int = 1) -> str:
    context = report_context(metrics, curves, fits, config, provenance, scorecard, workers)
    return environment().get_template("report.html.j2").render(**context)
