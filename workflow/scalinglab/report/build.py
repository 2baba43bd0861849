"""What goes into the report and the paper: per sweep, the figures that apply and the tables, built once from
metrics, curves, fits and the study config. ``html`` renders it; ``paper`` saves the same figures to files."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from . import figures as F
from .fits import SweepFit, Unfittable, fmt, fmt_interval, headline

MAX_RUN_ROWS = 300  # beyond this the runs table lists only runs that are not ok, plus a summary


@dataclass
class Figure:
    kind: str  # scaling, residuals, learning_curves, grid, isoflop, tokens_per_param, compute, figure4, accuracy
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
    grid_edges: list[str] = field(default_factory=list)  # sizes whose best grid value is at an edge of the grid
    notes: list[str] = field(default_factory=list)
    unfittable: list[dict] = field(default_factory=list)  # laws that could not be fitted: why, runs left out
    ci: float = 0.95  # the level of the intervals in the law comparison (the fits')


def sweep_order(metrics, fits, config) -> list[tuple[str, str]]:
    names = [(s["name"], "sweep") for s in config.get("sweeps") or []]
    names += [(s["name"], "external") for s in config.get("external") or []]
    seen = {n for n, _ in names}
    extra = list(metrics["sweep"].astype(str).unique()) if "sweep" in metrics else []
    extra += [f.sweep for f in fits]
    for name in extra:
        if name not in seen:
            names.append((name, "sweep"))
            seen.add(name)
    return names


def references_for(config: dict, name: str) -> list[dict]:
    block = next((s for s in config.get("external") or [] if s["name"] == name), {})
    return list(block.get("references") or [])


def plan_sweep(name: str, kind: str, runs, curves, fits: list[SweepFit], config: dict) -> Sweep:
    status = runs["status"].fillna("unknown").value_counts().to_dict() if "status" in runs else {"ok": len(runs)}
    sweep = Sweep(name=name, kind=kind, n_runs=len(runs), status_counts=status)
    sweep.unfittable = [_unfittable_row(f, runs) for f in fits if isinstance(f, Unfittable)]
    fits = sorted((f for f in fits if isinstance(f, SweepFit)), key=lambda f: f.law)
    one_d = [f for f in fits if len(f.result.x) == 1]
    two_d = [f for f in fits if len(f.result.x) == 2]
    _fit_figures(sweep, runs, one_d, two_d, references_for(config, name))
    _learning_curves(sweep, runs, curves)
    _grid(sweep, fits)
    if fits:
        _isoflop(sweep, one_d, two_d)
    _accuracy(sweep, runs)
    if fits:
        sweep.ci = fits[0].result.ci
    for fit in sorted(fits, key=_backtest):
        sweep.laws.append(_comparison_row(fit))
        sweep.params.append(_parameter_table(fit, _references_of(references_for(config, name), fit.law)))
    return sweep


def _fit_figures(sweep, runs, one_d, two_d, references):
    name = sweep.name
    not_ok = {k: v for k, v in sweep.status_counts.items() if k != "ok"}
    excluded_text = ("; not drawn: " + ", ".join(f"{v} {k}" for k, v in not_ok.items())) if not_ok else ""
    by_x: dict[str, list] = {}
    for fit in one_d:
        by_x.setdefault(fit.result.x[0], []).append(fit)
    for x, group in by_x.items():
        y = group[0].result.y
        laws = ", ".join(f.law for f in group)
        sweep.figures.append(Figure(
            "scaling", f"{name}: {F.label(y)} against {F.label(x)}",
            f"Every ok run (colour: seed) on log-log axes with {laws}: solid inside the runs, dashed to "
            f"{F.EXTRAPOLATE:g}x beyond the largest (dotted line). Shaded: the confidence band of the fitted curve "
            "(bootstrap draws of the law: where the mean loss lies); dotted lines: the prediction interval of one new "
            "run (those draws plus the observation noise estimated from the residuals, Student t)"
            f"{excluded_text}.",
            lambda size, runs=runs, group=group, t=name: F.scaling_figure(runs, group, size=size, title=t)))
    for fit in two_d:
        if fit.result.law.compute_optimal is None:
            sweep.notes.append(f"law {fit.law} has no closed-form compute-optimal allocation: no frontier drawn")
        sweep.figures.append(Figure(
            "compute", f"{name}: {fit.law} along the compute-optimal frontier",
            "Every run against its compute C = 6ND (colour: N); the line is the fitted loss at the compute-optimal "
            f"allocation, dashed to {F.EXTRAPOLATE:g}x beyond the largest compute, shaded: the confidence band of that "
            "optimal loss (bootstrap draws of the law).",
            lambda size, fit=fit, t=name: F.compute_scaling_figure(runs, fit, size=size, title=t)))
        sweep.figures.append(Figure(
            "figure4", f"{name}: {fit.law} in the (compute, parameters) plane",
            "After Hoffmann et al. (2022) Figure 4: runs coloured by loss, iso-loss contours of the fit and its "
            "efficient frontier" + (", with the frontiers of the reference parameters" if references else "") + ".",
            functools.partial(F.figure4_figure, runs, fit, _references_of(references, fit.law), title=name),
            paper_size=F.TWO_COLUMN))
    if one_d or two_d:
        sweep.figures.append(Figure(
            "residuals", f"{name}: residuals",
            "log(observed) - log(fitted) at every fitted point, in percent.",
            lambda size, fits=one_d + two_d, t=name: F.residuals_figure(runs, fits, size=size, title=t)))


def _learning_curves(sweep, runs, curves):
    name = sweep.name
    sweep_curves = (
        curves[curves["sweep"].astype(str) == name] if len(curves) and "sweep" in curves else curves.iloc[0:0]
    )
    if len(sweep_curves) and "val_loss" in sweep_curves and sweep_curves["val_loss"].notna().any():
        sweep.figures.append(Figure(
            "learning_curves", f"{name}: learning curves",
            "Validation loss against data seen, median over seeds, one line per size and budget (colour: size).",
            lambda size, c=sweep_curves, t=name: F.learning_curves_figure(c, runs, size=size, title=t)))


def _grid(sweep, fits):
    """A grid sweep's envelope as its fit computed it (`fitting.envelope`, in the fit JSON): loss against each grid
    value per size, and the sizes whose best value lies at an edge of the grid (their loss is an upper bound on what
    the size can reach, and an exponent fitted through them is biased: Porian et al. 2024)."""
    record = next((f.result.envelope for f in fits if (f.result.envelope or {}).get("columns")), None)
    if record is None:
        return
    for cell in record["cells"]:
        if cell["at_edge"]:
            where = ", ".join(f"{c.removeprefix('grid_')} at its {side} value {cell['winner'][c]:g}"
                              for c, side in cell["at_edge"].items())
            sweep.grid_edges.append(f"{_cell_text(cell)}: {where}")
    keys = ", ".join(c.removeprefix("grid_") for c in record["columns"])
    sweep.figures.append(Figure(
        "grid", f"{sweep.name}: {F.label(record['y'])} against each {keys} value",
        f"Mean {F.label(record['y'])} over seeds for every grid value, one line per (size, budget) cell (colour: "
        "size); the filled marker is the value the fits use (the envelope: " + record["rule"] + "). A red ring marks "
        "a best value at the edge of the grid: that size may do better outside it, so its loss is an upper bound. "
        f"{record['n_kept']} of {record['n_rows']} runs are fitted.",
        lambda size, record=record, t=sweep.name: F.grid_figure(record, size=size, title=t)))


def _cell_text(cell: dict) -> str:
    parts = {k: v for k, v in cell["cell"].items() if k != "sweep"}
    return ", ".join(f"{k} {fmt(v) if isinstance(v, (int, float)) else v}" for k, v in parts.items())


def _isoflop(sweep, one_d, two_d):
    """Approaches 2 and 3 as the fit computed them (the fit JSON's `approaches`, `fitting.approaches`): the IsoFLOP
    profiles with the frontier, tokens per parameter against compute, and the table comparing the two."""
    fits = [f for f in two_d + one_d if (f.result.approaches.get("approach2") or {}).get("budgets") is not None]
    if not fits:
        return
    fit = fits[0]
    record = fit.result.approaches
    two, three = record["approach2"], record.get("approach3") or {}
    sweep.isoflop = {
        "exponent": fmt(two["a"], 3), "interval": _pair(two["interval"].get("a")), "n_profiles": two["n_budgets"],
        "n_runs": two["n_runs"], "compute": two["compute"], "law": fit.law, "ci": record.get("ci", fit.result.ci),
        "refused": [f"C={r['C']:.3g}: {r['why']}" for r in two["refused"]],
        "skipped": two.get("skipped"), "n_bootstrap": (two.get("bootstrap") or {}).get("n_used", 0),
        "bootstrap_method": (two.get("bootstrap") or {}).get("method"),
        "approach3": None if three.get("skipped") else {"law": three["law"], "n_runs": three["n_runs"],
                                                        "n_bootstrap": three["n_bootstrap"]},
        "rows": [_approach_row(row) for row in record.get("table") or []],
        "verdict": (record.get("verdict") or {}).get("text"), "agree": (record.get("verdict") or {}).get("agree"),
    }
    two_d_fit = fit if fit in two_d and not three.get("skipped") else None
    sweep.figures.append(Figure(
        "isoflop", f"{sweep.name}: IsoFLOP profiles and compute-optimal frontier",
        f"Left: the fitted runs grouped by compute ({two['compute']}; mean loss per size) with a parabola in log N "
        "each (diamond: its interior minimum, approach 2's compute-optimal size). Right: those minima against compute "
        "with the power law N_opt = k C^a fitted through them (approach 2)"
        + (f" and the frontier of the parametric fit (approach 3, {fit.law})." if two_d_fit else ".")
        + f" Approach 2 rests on {two['n_runs']} runs in {two['n_budgets']} budgets with an interior minimum.",
        lambda size, iso=two, t=sweep.name, f2=two_d_fit: F.isoflop_figure(iso, f2, size=size, title=t),
        paper_size=F.TWO_COLUMN))
    if record.get("table"):
        sweep.figures.append(Figure(
            "tokens_per_param", f"{sweep.name}: compute-optimal tokens per parameter against compute",
            f"D_opt / N_opt at each compute budget by approach 2 (IsoFLOP minima, resampling runs within budgets) and "
            f"approach 3 ({fit.law}, its bootstrap draws), with their {record['ci']:.0%} intervals; the line "
            f"continues approach 3 to {F.EXTRAPOLATE:g}x the largest budget.",
            lambda size, record=record, f2=two_d_fit, t=sweep.name:
            F.tokens_per_param_figure(record, f2, size=size, title=t)))


def _pair(bounds) -> str:
    return "" if not bounds or None in bounds else f"[{fmt(bounds[0], 3)}, {fmt(bounds[1], 3)}]"


def _approach_row(row: dict) -> dict:
    return {"quantity": row["quantity"], "C": "" if row["C"] is None else f"{row['C']:.3g}", "meaning": row["meaning"],
            "approach2": fmt(row["approach2"]["value"], 3), "interval2": _pair(row["approach2"]["interval"]),
            "approach3": fmt(row["approach3"]["value"], 3), "interval3": _pair(row["approach3"]["interval"]),
            "agree": {True: "yes", False: "NO", None: "—"}[row["agree"]]}


def _accuracy(sweep, runs):
    splits = F.accuracy_columns(runs)
    x = "arch_width" if "arch_width" in runs and runs["arch_width"].notna().all() else "n_params"
    if not splits or x not in runs:
        return
    sweep.figures.append(Figure(
        "accuracy", f"{sweep.name}: accuracy against {'hidden width' if x == 'arch_width' else 'size'}",
        "Train and held-out accuracy side by side: mean per size (line) and every seed (dots)."
        + ("" if "train_accuracy" in splits else " Train accuracy was not recorded for these runs."),
        lambda size, x=x, t=sweep.name: F.accuracy_figure(runs, x, size=size, title=t)))
    ok = runs[runs["status"].fillna("ok") == "ok"] if "status" in runs else runs
    for value, group in ok.groupby(x, sort=True):
        row = {"size": fmt(value), "runs": len(group)}
        for col, split in splits.items():
            vals = group[col].astype(float).dropna()
            row[split] = f"{vals.mean():.3f} ± {vals.std(ddof=0):.3f}" if len(vals) else "—"
        sweep.accuracy.append(row)


def _unfittable_row(record: Unfittable, runs, most: int = 10) -> dict:
    """Why the law could not be fitted, and each reason's runs: their ids, and for the first few what the run
    record says went wrong (its error, or the divergence rule that fired)."""
    excluded = []
    for reason, ids in record.excluded_runs.items():
        why = []
        if "run_id" in runs:
            for _, run in runs[runs["run_id"].astype(str).isin(ids)].head(most).iterrows():
                text = next((str(run[c]) for c in ("error", "divergence_rule") if c in run and isinstance(run[c], str)),
                            "")
                why.append(f"{run.get('run_path', run['run_id'])}" + (f": {text}" if text else ""))
        excluded.append({"reason": reason, "count": record.excluded.get(reason, len(ids)), "runs": ", ".join(ids),
                         "why": why})
    return {"law": record.law, "reason": record.reason, "excluded": excluded}


def _comparison_row(fit: SweepFit) -> dict:
    r = fit.result
    ic, bt = r.information_criteria, r.backtest
    scored = [o for o in bt.get("origins", []) if "rms_log_error" in o]
    return {
        "law": fit.law, "formula": r.law.formula, "n_points": r.n_points, "n_excluded": r.n_excluded,
        "rms": _pct(r.rms_log_residual), "rms_means": _pct(r.rms_log_residual_of_means),
        "aic": fmt(ic.get("aic"), 5), "aicc": fmt(ic.get("aicc"), 5), "bic": fmt(ic.get("bic"), 5),
        "n_eff": ic.get("n_eff", "—"),
        "backtest": _pct(bt.get("rms_log_error")),
        "backtest_interval": "[" + ", ".join(_pct(v) for v in bt["interval"]) + "]" if bt.get("interval")
        and bt["interval"][0] is not None else "",
        "origins": ", ".join(f"{o['holdout']}: {_pct(o['rms_log_error'])}" for o in scored) or "—",
        "axis": "compute 6ND" if bt.get("axis", "").startswith("compute") else "size",
    }


def _parameter_table(fit: SweepFit, refs: list[dict]) -> dict:
    r = fit.result
    rows = [{"name": p, "value": fmt(v), "interval": fmt_interval(r, p), "refs": [_ref_value(x, p) for x in refs],
             "derived": False, "at_bound": _bound_text(r.at_bound.get(p))} for p, v in r.params.items()]
    rows += [{"name": d, "value": fmt(entry["value"]), "interval": fmt_interval(r, d),
              "refs": [_ref_value(x, d) for x in refs], "derived": True, "at_bound": ""}
             for d, entry in r.derived.items()]
    diagnostics = {k: v for k, v in r.diagnostics.items() if isinstance(v, (int, float, str, bool))}
    return {"law": fit.law, "formula": r.law.formula, "rows": rows, "refs": [x["name"] for x in refs], "ci": r.ci,
            "objective": fmt(r.objective, 8), "diagnostics": diagnostics, "bootstrap": r.bootstrap.get("n", 0),
            "unit": r.bootstrap.get("unit", ""), "warnings": optimum_warnings(r)}


def optimum_warnings(r) -> list[str]:
    """What a reader must know before trusting this optimum and its intervals, from the fit's own checks."""
    out = []
    ident = r.identification or {}
    if ident.get("weakly_identified"):
        direction = ", ".join(f"{name} ({weight:+.2f})" for name, weight in ident["weakest_direction"].items())
        out.append(f"Weakly identified: the curvature at the optimum has condition number "
                   f"{fmt(ident['hessian_condition'], 2)} (above {fmt(ident['threshold'], 2)}); the data barely "
                   f"constrain the combination {direction} of the fitted parameters, so their values and intervals "
                   "are not reliable, and a prediction that depends on them extrapolates a guess.")
    racing = r.diagnostics.get("racing_check") or {}
    if racing.get("n_beat_winner"):
        out.append(f"Racing check: {racing['n_beat_winner']} of {racing['n_checked']} pruned starts, run to the end, "
                   "beat the best survivor; the optimum reported is the better one, but the objective surface has "
                   "competing basins.")
    basin = r.diagnostics.get("bootstrap_basin_check") or {}
    if basin.get("n_better"):
        out.append(f"Bootstrap basin check: {basin['n_better']} of {basin['n_checked']} resamples found a better "
                   "optimum with the full multi-start search than from the warm starts; every resample was refitted "
                   "with those optima added.")
    return out


def _bound_text(hit: dict | None) -> str:
    if not hit:
        return ""
    return (f"at the {hit['side']} bound {fmt(hit['bound'])} of the law: the data do not pin this parameter, and "
            "its interval is not a real interval")


def _references_of(references: list[dict], law: str) -> list[dict]:
    return [r for r in references if r.get("law", law) == law]


def _backtest(fit: SweepFit):
    value = fit.result.backtest.get("rms_log_error")
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


def headlines(fits: list) -> list[str]:
    fitted = [f for f in fits if isinstance(f, SweepFit)]
    lines = [headline(fit) for fit in sorted(fitted, key=lambda f: (f.sweep, _backtest(f)))]
    return lines + [f"{f.sweep}: {f.law} could not be fitted: {f.reason}" for f in fits if isinstance(f, Unfittable)]
