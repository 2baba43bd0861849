"""What goes into the report and the paper: per sweep, the figures that apply and the tables, built once from
metrics, curves, fits and the study config. ``html`` renders it; ``paper`` saves the same figures to files."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import figures as F
from .fits import fmt, fmt_interval, headline, natural_params, predictor, x_columns, y_column

MAX_RUN_ROWS = 300  # beyond this the runs table lists only runs that are not ok, plus a summary


@dataclass
class Figure:
    kind: str  # scaling, residuals, learning_curves, isoflop, compute, figure4, accuracy
    title: str
    caption: str
    make: Callable  # (size) -> matplotlib Figure
    paper_size: tuple = F.ONE_COLUMN


@dataclass
class Sweep:
    name: str
    kind: str  # "sweep" or "external"
    n_runs: int
    status_counts: dict
    figures: list[Figure] = field(default_factory=list)
    laws: list[dict] = field(default_factory=list)  # comparison rows
    params: list[dict] = field(default_factory=list)  # one table per law
    accuracy: list[dict] = field(default_factory=list)
    isoflop: dict | None = None
    notes: list[str] = field(default_factory=list)


def read_table(path):
    import pandas as pd

    if path is None or not Path(path).exists():
        return pd.DataFrame()
    return pd.read_parquet(path) if str(path).endswith(".parquet") else pd.read_csv(path)


def sweep_order(metrics, fits, config) -> list[tuple[str, str]]:
    names = [(s["name"], "sweep") for s in config.get("sweeps") or []]
    names += [(s["name"], "external") for s in config.get("external") or []]
    seen = {n for n, _ in names}
    extra = list(metrics["sweep"].astype(str).unique()) if "sweep" in metrics else []
    extra += [f["_sweep"] for f in fits]
    for name in extra:
        if name not in seen:
            names.append((name, "sweep"))
            seen.add(name)
    return names


def fit_settings(config: dict, name: str) -> dict:
    block = next((s for s in (config.get("sweeps") or []) + (config.get("external") or []) if s["name"] == name), {})
    return {"x": "n_params", "y": "final_val_loss", **(config.get("fit") or {}), **(block.get("fit") or {})}


def references_for(config: dict, name: str) -> list[dict]:
    block = next((s for s in config.get("external") or [] if s["name"] == name), {})
    return list(block.get("references") or [])


def plan_sweep(name: str, kind: str, runs, curves, fits: list[dict], config: dict) -> Sweep:
    status = runs["status"].fillna("unknown").value_counts().to_dict() if "status" in runs else {"ok": len(runs)}
    sweep = Sweep(name=name, kind=kind, n_runs=len(runs), status_counts=status)
    settings = fit_settings(config, name)
    references = references_for(config, name)
    fits = sorted(fits, key=lambda f: f["law"])
    preds = {f["law"]: predictor(f) for f in fits}
    one_d = [f for f in fits if preds[f["law"]] is not None and preds[f["law"]].n_inputs == 1]
    two_d = [f for f in fits if preds[f["law"]] is not None and preds[f["law"]].n_inputs == 2]
    bad = [f["law"] for f in fits if preds[f["law"]] is None]
    if bad:
        sweep.notes.append(f"no prediction available for law(s) {', '.join(bad)}: their curves are not drawn")
    not_ok = {k: v for k, v in status.items() if k != "ok"}
    excluded_text = ("; not drawn: " + ", ".join(f"{v} {k}" for k, v in not_ok.items())) if not_ok else ""

    by_x: dict[str, list] = {}
    for fit in one_d:
        by_x.setdefault(x_columns(fit)[0], []).append(fit)
    if not by_x and not two_d and len(runs):
        x = settings["x"].split(",")[0] if isinstance(settings["x"], str) else settings["x"][0]
        by_x[x] = [{"law": "(no fit)", "x": x, "y": settings["y"]}]
    for x, group in by_x.items():
        y = y_column(group[0])
        laws = ", ".join(f["law"] for f in group if f["law"] != "(no fit)") or "no law fitted"
        sweep.figures.append(Figure(
            "scaling", f"{name}: {F.label(y)} against {F.label(x)}",
            f"Every ok run (colour: seed) on log-log axes with {laws}: solid inside the runs, dashed to "
            f"{F.EXTRAPOLATE:g}x beyond the largest (dotted line), shaded: bootstrap band{excluded_text}.",
            lambda size, runs=runs, group=group, t=name: F.scaling_figure(runs, group, size=size, title=t)))
    for fit in two_d:
        sweep.figures.append(Figure(
            "compute", f"{name}: {fit['law']} along the compute-optimal frontier",
            "Every run against its compute C = 6ND (colour: N); the line is the fitted loss at the compute-optimal "
            f"allocation, dashed to {F.EXTRAPOLATE:g}x beyond the largest compute, shaded: its bootstrap band.",
            lambda size, fit=fit, t=name: F.compute_scaling_figure(runs, fit, size=size, title=t)))
        sweep.figures.append(Figure(
            "figure4", f"{name}: {fit['law']} in the (compute, parameters) plane",
            "After Hoffmann et al. (2022) Figure 4: runs coloured by loss, iso-loss contours of the fit and its "
            "efficient frontier" + (", with the frontiers of the reference parameters" if references else "") + ".",
            functools.partial(F.figure4_figure, runs, fit, _references_of(references, fit["law"]), title=name),
            paper_size=F.TWO_COLUMN))
    if fits and (one_d or two_d):
        sweep.figures.append(Figure(
            "residuals", f"{name}: residuals",
            "log(observed) - log(fitted) at every fitted point, in percent.",
            lambda size, fits=one_d + two_d, t=name: F.residuals_figure(runs, fits, size=size, title=t)))

    sweep_curves = (
        curves[curves["sweep"].astype(str) == name] if len(curves) and "sweep" in curves else curves.iloc[0:0]
    )
    if len(sweep_curves) and "val_loss" in sweep_curves and sweep_curves["val_loss"].notna().any():
        sweep.figures.append(Figure(
            "learning_curves", f"{name}: learning curves",
            "Validation loss against data seen, median over seeds, one line per size and budget (colour: size).",
            lambda size, c=sweep_curves, t=name: F.learning_curves_figure(c, runs, size=size, title=t)))

    n_col = (x_columns(two_d[0])[0] if two_d else x_columns(one_d[0])[0] if one_d else "n_params")
    y_col = y_column(fits[0]) if fits else settings["y"]
    varies_d = any(runs[c].nunique() > 1 for c in ("budget", "tokens", "samples") if c in runs)
    if varies_d and n_col in runs and runs[n_col].nunique() > 1:
        iso = F.isoflop_profiles(runs, n_col, y_col)
        if iso is not None:
            sweep.isoflop = {
                "exponent": fmt(iso["exponent"], 3),
                "n_profiles": len(iso["profiles"]),
                "refused": [f"C={r['C']:.3g}: {r['why']}" for r in iso["refused"]],
            }
            sweep.figures.append(Figure(
                "isoflop", f"{name}: IsoFLOP profiles and compute-optimal frontier",
                "Left: runs grouped by compute with a parabola in log N each (diamond: its interior minimum). "
                "Right: those minima against compute with a power-law fit (approach 2)"
                + (" and the frontier of the parametric fit (approach 3)." if two_d else "."),
                lambda size, iso=iso, t=name, f2=(two_d[0] if two_d else None):
                F.isoflop_figure(iso, n_col, y_col, f2, size=size, title=t), paper_size=F.TWO_COLUMN))

    splits = F.accuracy_columns(runs)
    if splits:
        x = "arch_width" if "arch_width" in runs and runs["arch_width"].notna().all() else "n_params"
        if x in runs:
            sweep.figures.append(Figure(
                "accuracy", f"{name}: accuracy against {'hidden width' if x == 'arch_width' else 'size'}",
                "Train and held-out accuracy side by side: mean per size (line) and every seed (dots)."
                + ("" if "train_accuracy" in splits else " Train accuracy was not recorded for these runs."),
                lambda size, x=x, t=name: F.accuracy_figure(runs, x, size=size, title=t)))
            ok = runs[runs["status"].fillna("ok") == "ok"] if "status" in runs else runs
            for value, group in ok.groupby(x, sort=True):
                row = {"size": fmt(value), "runs": len(group)}
                for col, split in splits.items():
                    vals = group[col].astype(float).dropna()
                    row[split] = f"{vals.mean():.3f} ± {vals.std(ddof=0):.3f}" if len(vals) else "—"
                sweep.accuracy.append(row)

    for fit in sorted(fits, key=lambda f: _backtest(f)):
        backtest = fit.get("backtest") or {}
        sweep.laws.append({
            "law": fit["law"], "formula": fit.get("formula", ""), "n_points": fit.get("n_points", "—"),
            "n_excluded": fit.get("n_excluded", 0), "rms": _pct(fit.get("rms_log_residual")),
            "rms_means": _pct(fit.get("rms_log_residual_of_means")),
            "aic": fmt(fit.get("aic"), 5), "bic": fmt(fit.get("bic"), 5),
            "backtest": _pct(backtest.get("rms_log_error")), "holdout": backtest.get("holdout", "—"),
        })
        refs = [r for r in references if r.get("law", fit["law"]) == fit["law"]]
        rows = []
        params = natural_params(fit)
        for pname, value in params.items():
            rows.append({"name": pname, "value": fmt(value), "interval": fmt_interval(fit, pname),
                         "refs": [_ref_value(r, pname) for r in refs], "derived": False})
        for dname, entry in (fit.get("derived") or {}).items():
            value = entry.get("value") if isinstance(entry, dict) else entry
            if isinstance(value, (int, float)):
                rows.append(
                    {
                        "name": dname,
                        "value": fmt(value),
                        "interval": fmt_interval(fit, dname),
                        "refs": [_ref_value(r, dname) for r in refs],
                        "derived": True,
                    }
                )
        diagnostics = {
            k: v for k, v in (fit.get("diagnostics") or {}).items() if isinstance(v, (int, float, str, bool))
        }
        sweep.params.append({"law": fit["law"], "formula": fit.get("formula", ""), "rows": rows,
                             "refs": [r["name"] for r in refs], "ci": fit.get("ci", 0.95),
                             "objective": fmt(fit.get("objective"), 8), "diagnostics": diagnostics,
                             "bootstrap": (fit.get("bootstrap") or {}).get("n", 0),
                             "unit": (fit.get("bootstrap") or {}).get("unit", "")})
    return sweep


def _references_of(references: list[dict], law: str) -> list[dict]:
    return [r for r in references if r.get("law", law) == law]


def _backtest(fit):
    value = (fit.get("backtest") or {}).get("rms_log_error")
    return float(value) if value is not None and np.isfinite(float(value)) else np.inf


def _pct(value):
    if value is None:
        return "—"
    return f"{100 * float(value):.3g}%" if np.isfinite(float(value)) else "—"


def _ref_value(reference: dict, name: str) -> str:
    value = (reference.get("params") or {}).get(name)
    if value is None:
        value = (reference.get("derived") or {}).get(name)
    text = fmt(value)
    bounds = (reference.get("intervals") or {}).get(name)
    if value is not None and bounds:
        text += f" [{fmt(bounds[0])}, {fmt(bounds[1])}]"
    return text


def runs_table(metrics, limit: int = MAX_RUN_ROWS) -> dict:
    columns = [c for c in ("run_path", "sweep", "size_label", "seed", "budget", "status", "n_params", "final_val_loss",
                           "best_val_loss", "test_accuracy", "wall_s", "diverged_step", "error") if c in metrics]
    frame = metrics
    if "status" in frame:
        order = frame["status"].fillna("unknown").map({"failed": 0, "diverged": 1}).fillna(2)
        frame = frame.assign(_order=order).sort_values(["_order"], kind="stable").drop(columns="_order")
    truncated = len(frame) > limit
    if truncated:
        bad = frame[frame["status"].fillna("unknown") != "ok"] if "status" in frame else frame.iloc[0:0]
        frame = bad.head(limit)
    rows = []
    for record in frame[columns].to_dict("records"):
        rows.append({c: _cell(record[c]) for c in columns})
    return {"columns": columns, "rows": rows, "truncated": truncated, "total": len(metrics), "shown": len(rows)}


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if not np.isfinite(value) else fmt(value)
    if isinstance(value, (np.integer, int)):
        return str(int(value))
    return str(value)


def compute_spent(metrics) -> dict:
    import pandas as pd

    rows = []
    if not len(metrics):
        return {"rows": rows, "total_flops": "—", "core_hours": "—"}
    flops_col = (
        "flops"
        if "flops" in metrics and metrics["flops"].notna().any()
        else ("flops_6nd" if "flops_6nd" in metrics else None)
    )
    threads = pd.to_numeric(metrics["env_threads"], errors="coerce").fillna(1) if "env_threads" in metrics else 1
    wall = (pd.to_numeric(metrics["wall_s"], errors="coerce") if "wall_s" in metrics
            else pd.Series(np.nan, metrics.index))
    core_s = wall * threads
    flops = pd.to_numeric(metrics[flops_col], errors="coerce") if flops_col else pd.Series(np.nan, metrics.index)
    sweeps = metrics["sweep"].astype(str) if "sweep" in metrics else pd.Series("all", metrics.index)
    for name in dict.fromkeys(sweeps):
        mask = sweeps == name
        rows.append({"sweep": name, "runs": int(mask.sum()), "flops": _sum(flops[mask]),
                     "core_hours": _sum(core_s[mask] / 3600, digits=3),
                     "wall_hours": _sum(wall[mask] / 3600, digits=3)})
    return {"rows": rows, "total_flops": _sum(flops), "core_hours": _sum(core_s / 3600, digits=3),
            "flops_column": flops_col or "—"}


def _sum(series, digits=4):
    values = series.dropna()
    return fmt(values.sum(), digits) if len(values) else "—"


def headlines(sweeps_fits: dict[str, list[dict]]) -> list[str]:
    lines = []
    for name, fits in sweeps_fits.items():
        for fit in sorted(fits, key=lambda f: _backtest(f)):
            lines.append(headline(fit, name))
    return lines
