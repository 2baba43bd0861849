"""Every figure of the report and the paper, one function each, plus deterministic saving.

Figures take plain DataFrames (rows of metrics.parquet / curves.parquet) and fits (`report.fits.SweepFit`), and return
a matplotlib Figure. Every curve, band and optimum comes from the fitting API; figures only draw. They never draw one
artist per run beyond a scatter, so a 10,000-run study stays fast; dense scatters are rasterised.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np

from .. import atomic
from ..fitting import predict
from ..fitting.allocation import frontier, frontier_point

ONE_COLUMN = (3.4, 2.6)  # inches: one column of a two-column paper
TWO_COLUMN = (7.0, 2.8)
REPORT = (6.4, 4.0)
NARROW_INCHES = 4.5  # a figure narrower than this puts its legend below the axes
RASTERIZE_ABOVE = 400  # points in one scatter: beyond this it is embedded as an image (small files)
SVG_SALT = "scalinglab"
EXTRAPOLATE = 10.0  # draw fits to 10x beyond the largest run
CURVE_POINTS = 240  # a fitted line's points across its figure
# Every BAND_STRIDE-th of them (and the last) carries the bands: a prediction interval costs ~30 ms of CPU per point
# (1,000 draws, a bisection of their mixture), and the bands are smooth: at 61 points they lie within 0.11 px of
# the 240-point bands in the default study's figures (at 100 dpi), for a quarter of the report's largest cost.
BAND_STRIDE = 4

LABELS = {
    "n_params": "parameters N",
    "n_params_nonembedding": "non-embedding parameters N",
    "tokens": "tokens D",
    "samples": "samples D",
    "budget": "data budget D",
    "flops": "compute C (FLOPs)",
    "flops_6nd": "compute C = 6ND (FLOPs)",
    "final_val_loss": "final validation loss",
    "best_val_loss": "best validation loss",
    "test_loss": "test loss",
    "val_loss": "validation loss",
}


def label(column: str) -> str:
    return safe(LABELS.get(column, column.replace("_", " ")))


def safe(text) -> str:
    """A user string (sweep, size or law name, title) as literal text: never mathtext."""
    return str(text).replace("$", r"\$")


def setup(context: str = "notebook", paper: bool = False):
    """Seaborn theme, colour-blind palette, deterministic output settings. Returns pyplot."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    sns.set_theme(context=context, style="ticks", palette="colorblind", font="DejaVu Sans")
    plt.rcParams.update({
        "svg.hashsalt": SVG_SALT,
        "svg.fonttype": "path" if paper else "none",  # paper SVGs embed glyphs; the report uses page fonts
        "pdf.fonttype": 42,  # embedded TrueType
        "ps.fonttype": 42,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "legend.frameon": False,
        "figure.dpi": 100,
        "savefig.dpi": 300 if paper else 100,
        "savefig.bbox": "standard",
    })
    return plt


def to_svg(fig) -> str:
    """The figure as an inline <svg> element (no XML prolog), deterministic."""
    import matplotlib.pyplot as plt

    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None})
    plt.close(fig)
    text = buffer.getvalue()
    return text[text.index("<svg"):]


# The drawings of one in_parallel call: forked workers inherit them (closures over frames cannot be pickled).
_DRAWINGS: list = []


def _draw(index: int):
    return _DRAWINGS[index]()


def in_parallel(drawings: list, workers: int = 1, first=()) -> list:
    """[drawing() for drawing in drawings], computed by up to `workers` forked processes: each figure is drawn
    from the same inputs with the same settings (inherited), so its bytes do not depend on where it was drawn.
    `first`: indices to start first (the costliest), so that no worker is left with a long one at the end. Serial
    with one worker, one drawing, or where processes cannot be forked."""
    import multiprocessing

    workers = min(workers, len(drawings))
    if workers <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        return [drawing() for drawing in drawings]
    order = [*first, *(i for i in range(len(drawings)) if i not in set(first))]
    global _DRAWINGS
    _DRAWINGS = drawings
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            drawn = pool.map(_draw, order, chunksize=1)
    finally:
        _DRAWINGS = []
    out = [None] * len(drawings)
    for index, result in zip(order, drawn):
        out[index] = result
    return out


def save_paper(fig, out_dir: str | Path, stem: str) -> list[Path]:
    """PDF, PNG and SVG with fixed metadata: the same data give the same bytes."""
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    metadata = {
        "pdf": {"CreationDate": None, "ModDate": None},
        "png": {"Software": None},
        "svg": {"Date": None},
    }
    for ext, meta in metadata.items():
        path = out_dir / f"{stem}.{ext}"
        with atomic.replacing(path) as tmp:
            fig.savefig(tmp, format=ext, metadata=meta)
        paths.append(path)
    plt.close(fig)
    return paths


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(text)).strip("_") or "x"


# ----------------------------------------------------------------------------------------------------------------
def ok_runs(runs, columns):
    """The ok runs with a finite, positive value in every column (what a log-log figure can draw)."""
    import pandas as pd

    frame = runs
    if "status" in frame:
        frame = frame[frame["status"].fillna("ok") == "ok"]
    for column in columns:
        if column not in frame:
            return frame.iloc[0:0]
        values = pd.to_numeric(frame[column], errors="coerce")
        frame = frame[np.isfinite(values) & (values > 0)]
    return frame


def _seed_hue(frame):
    if "seed" in frame and 1 < frame["seed"].nunique() <= 12:
        return frame["seed"].astype(str).rename("seed")
    return None


def _law_colours(n):
    import seaborn as sns

    return sns.color_palette("colorblind", max(n, 1))[1:] + sns.color_palette("colorblind", 1)


def scaling_figure(runs, fits: list, size=REPORT, title: str | None = None):
    """Loss against the size axis on log-log axes: every seed's point, each one-input fit with its confidence band
    (where the fitted curve lies: bootstrap draws) and its prediction interval (where one new run lands: the draws
    plus observation noise), and its extrapolation to 10x beyond the largest run."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    x, y = fits[0].result.x[0], fits[0].result.y
    data = ok_runs(runs, [x, y])
    fig, ax = plt.subplots(figsize=size, layout="constrained")
    hue = _seed_hue(data)
    proxies = []
    sns.scatterplot(x=data[x].astype(float), y=data[y].astype(float), hue=hue, ax=ax, s=22, alpha=0.85,
                    palette="colorblind" if hue is not None else None, color="0.25" if hue is None else None,
                    rasterized=len(data) > RASTERIZE_ABOVE, zorder=3, edgecolor="none")
    if len(data):
        xmin, xmax = float(data[x].min()), float(data[x].max())
        grid = np.geomspace(xmin / 1.2, xmax * EXTRAPOLATE, CURVE_POINTS)
        inside = grid <= xmax
        bands_at = grid[np.unique(np.r_[np.arange(0, len(grid), BAND_STRIDE), len(grid) - 1])]
        for fit, colour in zip(fits, _law_colours(len(fits))):
            value = predict(fit.result, {x: grid}, intervals=False)["value"]
            ax.plot(grid[inside], value[inside], color=colour, lw=1.8, label=safe(f"{fit.law} fit"), zorder=4)
            ax.plot(grid[~inside], value[~inside], color=colour, lw=1.8, ls="--", zorder=4)
            bands = predict(fit.result, {x: bands_at})
            low, high = bands["confidence_interval"]
            if np.isfinite(low).any():
                ax.fill_between(bands_at, low, high, color=colour, alpha=0.2, lw=0, zorder=2)
            low, high = bands["prediction_interval"]
            if np.isfinite(low).any():
                ax.plot(bands_at, low, color=colour, lw=0.8, ls=(0, (1, 2)), zorder=2)
                ax.plot(bands_at, high, color=colour, lw=0.8, ls=(0, (1, 2)), zorder=2)
        ax.axvline(xmax, color="0.5", ls=":", lw=1, zorder=1)
        from matplotlib.lines import Line2D
        from matplotlib.patches import Patch

        level = f"{fits[0].result.ci:.0%}"
        proxies = [Line2D([], [], color="0.4", ls="--", label=f"extrapolation ({EXTRAPOLATE:g}x)"),
                   Patch(color="0.4", alpha=0.25, label=f"{level} confidence band of the curve"),
                   Line2D([], [], color="0.4", lw=0.8, ls=(0, (1, 2)), label=f"{level} prediction interval, new run")]
    ax.set_xscale("log")
    _log_y(ax)
    ax.set_xlabel(label(x))
    ax.set_ylabel(label(y))
    if title:
        ax.set_title(safe(title), fontsize="medium")
    _outside_legend(ax, proxies, title="seed" if hue is not None else None)
    return fig


def _log_y(ax):
    """Log y axis with plain tick labels (2.2, not 2.2x10^0): losses rarely span a decade."""
    from matplotlib.ticker import LogFormatter

    ax.set_yscale("log")
    # LogFormatter writes plain numbers and labels minor ticks only where the axis spans about a decade or less.
    ax.yaxis.set_major_formatter(LogFormatter(labelOnlyBase=False))
    ax.yaxis.set_minor_formatter(LogFormatter(labelOnlyBase=False, minor_thresholds=(1, 0.4)))


def _outside_legend(ax, extra=(), **kwargs):
    """The legend beside the axes; below them on a narrow (one-column) figure, where beside them it would squeeze
    the axes to a sliver."""
    handles, labels = ax.get_legend_handles_labels()
    handles, labels = handles + list(extra), labels + [h.get_label() for h in extra]
    if not handles:
        return
    narrow = ax.figure.get_figwidth() < NARROW_INCHES
    place = (dict(loc="upper center", bbox_to_anchor=(0.5, -0.36), ncol=2) if narrow
             else dict(loc="upper left", bbox_to_anchor=(1.01, 1.0)))
    ax.legend(handles, labels, fontsize="x-small", title_fontsize="x-small", borderaxespad=0, **place, **kwargs)


def residuals_figure(runs, fits: list, size=REPORT, title: str | None = None):
    """Log residuals log(y) - log(fit) of each fit at its points, in percent."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=size, layout="constrained")
    markers = "osD^v<>"
    for i, (fit, colour) in enumerate(zip(fits, _law_colours(len(fits)))):
        xs, y = fit.result.x, fit.result.y
        data = ok_runs(runs, xs + [y])
        if not len(data):
            continue
        fitted = predict(fit.result, {c: data[c].to_numpy(float) for c in xs}, intervals=False)["value"]
        with np.errstate(all="ignore"):
            resid = 100 * (np.log(data[y].to_numpy(float)) - np.log(fitted))
        ax.scatter(data[xs[0]].to_numpy(float), resid, s=18, color=colour, marker=markers[i % len(markers)],
                   label=safe(fit.law), alpha=0.85, rasterized=len(data) > RASTERIZE_ABOVE, edgecolor="none")
    ax.axhline(0, color="0.3", lw=1)
    ax.set_xscale("log")
    ax.set_xlabel(label(fits[0].result.x[0]))
    ax.set_ylabel("log residual (%)")
    if title:
        ax.set_title(safe(title), fontsize="medium")
    _outside_legend(ax)
    return fig


def learning_curves_figure(curves, runs=None, size=REPORT, title: str | None = None, y: str = "val_loss"):
    """Validation loss against data seen, one line per size (median over seeds), coloured by size."""
    import matplotlib.pyplot as plt
    import seaborn as sns
    from matplotlib.lines import Line2D

    fig, ax = plt.subplots(figsize=size, layout="constrained")
    xcol = next((c for c in ("tokens", "samples") if c in curves and curves[c].notna().any()), "step")
    data = curves[np.isfinite(curves[y].astype(float)) & (curves[xcol].astype(float) > 0)] if len(curves) else curves
    if len(data):
        order = _size_order(data, runs)
        colours = dict(zip(order, sns.color_palette("viridis", len(order))))
        keys = ["size_label", "budget"] if "budget" in data else ["size_label"]
        med = data.groupby(keys + [xcol], sort=True)[y].median().reset_index()
        for key, group in med.groupby(keys, sort=False):
            key = key if isinstance(key, tuple) else (key,)
            ax.plot(group[xcol].astype(float), group[y].astype(float), color=colours[key[0]], lw=1.3, alpha=0.9)
        shown = order if len(order) <= 10 else [order[i] for i in np.linspace(0, len(order) - 1, 8).astype(int)]
        ax.legend([Line2D([], [], color=colours[s], lw=2) for s in shown], [safe(s) for s in shown], title="size",
                  fontsize="x-small", title_fontsize="x-small", loc="upper left", bbox_to_anchor=(1.01, 1.0),
                  borderaxespad=0)
    ax.set_xscale("log")
    _log_y(ax)
    ax.set_xlabel(label(xcol) if xcol != "step" else "step")
    ax.set_ylabel(label(y))
    if title:
        ax.set_title(safe(title), fontsize="medium")
    return fig


def _size_order(curves, runs):
    labels = list(dict.fromkeys(curves["size_label"].astype(str)))
    if runs is not None and "n_params" in runs and "size_label" in runs:
        sizes = runs.groupby(runs["size_label"].astype(str))["n_params"].median()
        labels.sort(key=lambda s: (float(sizes.get(s, np.inf)) if np.isfinite(sizes.get(s, np.inf)) else np.inf, s))
    return labels


def accuracy_figure(runs, x: str, size=REPORT, title: str | None = None):
    """Train and held-out accuracy against width/size: every seed's point and the mean per size."""
    import matplotlib.pyplot as plt
    import pandas as pd
    import seaborn as sns

    splits = accuracy_columns(runs)
    data = ok_runs(runs, [x])
    long = pd.concat([
        pd.DataFrame({x: data[x].astype(float), "accuracy": data[col].astype(float), "split": name})
        for col, name in splits.items()
    ], ignore_index=True).dropna()
    fig, ax = plt.subplots(figsize=size, layout="constrained")
    if len(long):
        sns.lineplot(data=long, x=x, y="accuracy", hue="split", style="split", markers=True, dashes=False,
                     errorbar=None, ax=ax, palette="colorblind")
        palette = dict(zip(splits.values(), sns.color_palette("colorblind", len(splits))))
        for name, group in long.groupby("split", sort=False):
            ax.scatter(group[x], group["accuracy"], s=10, alpha=0.4, color=palette[name], edgecolor="none",
                       rasterized=len(group) > RASTERIZE_ABOVE)
    ax.set_xscale("log")
    ax.set_xlabel("hidden width" if x == "arch_width" else label(x))
    ax.set_ylabel("accuracy")
    if title:
        ax.set_title(safe(title), fontsize="medium")
    _outside_legend(ax)
    return fig


def accuracy_columns(runs) -> dict[str, str]:
    names = {"train_accuracy": "train", "val_accuracy": "validation (held out)", "test_accuracy": "test (held out)"}
    return {c: n for c, n in names.items() if c in runs and runs[c].notna().any()}


# ----------------------------------------------------------------------------------------------------------------
def compute_column(runs) -> str | None:
    for column in ("flops_6nd", "flops"):
        if column in runs and (runs[column].astype(float) > 0).any():
            return column
    return None


def grid_figure(record: dict, size=REPORT, title: str | None = None):
    """A grid envelope (`fitting.envelope`'s record): per grid column, the mean y of every value for each (size,
    budget) cell, a filled marker at the winner, a red ring where it lies at an edge of the grid. One line per cell
    (never per run), coloured by size."""
    import matplotlib.pyplot as plt
    import seaborn as sns
    from matplotlib.colors import LogNorm, Normalize

    columns = record["columns"]
    fig, axes = plt.subplots(1, len(columns), figsize=(size[0], size[1]), layout="constrained", squeeze=False)
    cells = [c for c in record["cells"] if any(s["mean"] is not None for s in c["scores"])]
    sizes = np.array([np.nan if c["size"] is None else c["size"] for c in cells], dtype=float)
    known = sizes[np.isfinite(sizes)]
    norm = (LogNorm if len(known) and known.min() > 0 else Normalize)(
        *(known.min(), known.max()) if len(known) and known.max() > known.min() else (0.5, 1.5))
    cmap = sns.color_palette("viridis", as_cmap=True)
    for ax, column in zip(axes[0], columns):
        values = record["grid"][column]
        numeric = all(isinstance(v, (int, float)) for v in values)
        position = {v: (v if numeric else i) for i, v in enumerate(values)}
        for cell, n in zip(cells, sizes):
            colour = cmap(norm(n)) if np.isfinite(n) else "grey"
            points = sorted((position[s["value"][column]], s["mean"]) for s in cell["scores"] if s["mean"] is not None)
            ax.plot(*zip(*points), color=colour, lw=1, marker="o", ms=3, mfc="white", alpha=0.8)
            if cell["winner"]:
                xw = position[cell["winner"][column]]
                yw = min(s["mean"] for s in cell["scores"] if s["value"] == cell["winner"])
                ax.plot([xw], [yw], marker="o", ms=4, color=colour, zorder=3)
                if column in cell["at_edge"]:
                    ax.plot([xw], [yw], marker="o", ms=9, mfc="none", mec="red", mew=1.2, zorder=4)
        if numeric and all(v > 0 for v in values):
            ax.set_xscale("log")
        if not numeric:
            ax.set_xticks(range(len(values)), [safe(v) for v in values], rotation=30, fontsize="x-small")
        _log_y(ax)
        ax.set_xlabel(safe(column.removeprefix("grid_")) + " (grid)")
        ax.set_ylabel(label(record["y"]) + " (mean over seeds)")
    if len(known):
        fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap=cmap), ax=axes[0, -1], label="size")
    if title:
        fig.suptitle(safe(title), fontsize="medium")
    return fig


def isoflop_figure(iso: dict, fit2d=None, size=REPORT, title: str | None = None):
    """Approach 2 as `fitting.isoflop` found it (left: each compute level's runs and parabola, diamonds at interior
    minima; right: those minima against compute with the power law), with approach 3's frontier when a two-input
    fit is given."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(size[0], size[1] * 0.85), layout="constrained")
    levels = sorted(iso["budgets"] + iso["refused"], key=lambda b: b["C"])
    colours = sns.color_palette("viridis", len(levels))
    for level, colour in zip(levels, colours):
        sizes = np.asarray(level["sizes"])
        ax.scatter(sizes, level["losses"], s=14, color=colour, edgecolor="none",
                   rasterized=len(sizes) > RASTERIZE_ABOVE)
        if "coef" in level:
            grid = np.linspace(np.log(sizes.min()), np.log(sizes.max()), 60)
            ax.plot(np.exp(grid), np.polyval(level["coef"], grid), color=colour, lw=1.2, label=f"C={level['C']:.2g}")
        if "N_opt" in level:
            ax.plot([level["N_opt"]], [level["loss_opt"]], marker="D", color=colour, mec="black", mew=0.6, ms=5)
    ax.set_xscale("log")
    ax.set_xlabel(label(iso["size"]))
    ax.set_ylabel(label(iso["loss"]))
    ax.set_title("IsoFLOP profiles", fontsize="small")
    if len(levels) <= 8 and ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize="xx-small")
    cs = np.array([b["C"] for b in iso["budgets"]])
    if len(cs):
        ax2.scatter(cs, [b["N_opt"] for b in iso["budgets"]], color="C0", zorder=3, s=20, label="IsoFLOP minima")
        grid = np.geomspace(cs.min(), cs.max() * EXTRAPOLATE, 50)
        if iso.get("a") is not None:
            ax2.plot(grid, iso["k"] * grid ** iso["a"], color="C0", lw=1.3,
                     label=f"approach 2: N_opt ∝ C^{iso['a']:.2f}")
        line = frontier(fit2d.result, grid, band=False) if fit2d is not None else None
        if line is not None:
            ax2.plot(line["C"], line["N"], color="C1", lw=1.3, ls="--", label=safe(f"approach 3 ({fit2d.law})"))
    ax2.set_xscale("log")
    _log_y(ax2)
    ax2.set_xlabel(label(iso["compute"]))
    ax2.set_ylabel("compute-optimal N")
    ax2.set_title("compute-optimal frontier", fontsize="small")
    if ax2.get_legend_handles_labels()[0]:
        ax2.legend(fontsize="xx-small")
    if title:
        fig.suptitle(safe(title), fontsize="medium")
    return fig


def tokens_per_param_figure(record: dict, fit2d=None, size=REPORT, title: str | None = None):
    """Compute-optimal tokens per parameter against compute: approach 2 and approach 3 at each budget with their
    intervals (`fitting.approaches`' table), and approach 3's frontier as a line when its fit is given."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=size, layout="constrained")
    rows = [r for r in record["table"] if r["quantity"] == "tokens_per_param"]
    cs = np.array([r["C"] for r in rows])
    for key, colour, shift, name in (("approach2", "C0", 0.97, "approach 2 (IsoFLOP)"),
                                     ("approach3", "C1", 1.03, "approach 3")):
        values = np.array([r[key]["value"] for r in rows], dtype=float)
        bounds = np.array([r[key]["interval"] or [np.nan, np.nan] for r in rows], dtype=float)
        bounds = np.where(np.isfinite(bounds), bounds, values[:, None])
        ax.errorbar(cs * shift, values, yerr=[values - bounds[:, 0], bounds[:, 1] - values], fmt="o", ms=4,
                    color=colour, capsize=2, label=name)
    if fit2d is not None and len(cs):
        line = frontier(fit2d.result, np.geomspace(cs.min(), cs.max() * EXTRAPOLATE, 50), band=False)
        if line is not None:
            ax.plot(line["C"], line["D"] / line["N"], color="C1", lw=1, ls="--", label=safe(fit2d.law))
    ax.set_xscale("log")
    _log_y(ax)
    ax.set_xlabel("compute C (FLOPs)")
    ax.set_ylabel("tokens per parameter D/N")
    ax.legend(fontsize="x-small")
    if title:
        ax.set_title(safe(title), fontsize="medium")
    return fig


def compute_scaling_figure(runs, fit, size=REPORT, title: str | None = None):
    """For a two-input law L(N, D): loss against compute with every point coloured by N, the fitted loss along
    the compute-optimal frontier (closed form), its bootstrap band and its extrapolation to 10x beyond the largest
    run."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    (n, d), y = fit.result.x[:2], fit.result.y
    data = ok_runs(runs, [n, d, y])
    fig, ax = plt.subplots(figsize=size, layout="constrained")
    if len(data):
        C = 6 * data[n].astype(float) * data[d].astype(float)
        points = ax.scatter(C, data[y].astype(float), c=data[n].astype(float), cmap="viridis", norm=LogNorm(), s=16,
                            edgecolor="none", rasterized=len(data) > RASTERIZE_ABOVE, zorder=3)
        fig.colorbar(points, ax=ax, label=label(n))
        grid = np.geomspace(C.min(), C.max() * EXTRAPOLATE, 120)
        line = frontier(fit.result, grid)
        if line is not None:
            inside = grid <= C.max()
            ax.plot(grid[inside], line["loss"][inside], color="C3", lw=1.8, label="fit at compute-optimal N, D")
            ax.plot(grid[~inside], line["loss"][~inside], color="C3", lw=1.8, ls="--",
                    label=f"extrapolation to {EXTRAPOLATE:g}x")
            if "low" in line:
                ax.fill_between(grid, line["low"], line["high"], color="C3", alpha=0.2, lw=0,
                                label=f"{fit.result.ci:.0%} confidence band of the optimal loss")
        ax.axvline(C.max(), color="0.5", ls=":", lw=1)
    ax.set_xscale("log")
    _log_y(ax)
    ax.set_xlabel("compute C = 6ND (FLOPs)")
    ax.set_ylabel(label(y))
    if title:
        ax.set_title(safe(title), fontsize="medium")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize="x-small")
    return fig


def figure4_figure(runs, fit, references: list[dict] | None = None, size=REPORT, title: str | None = None):
    """Like Hoffmann et al. (2022) Figure 4 (left): runs in the (compute, parameters) plane coloured by loss,
    iso-loss contours of the fitted law, and its efficient frontier (with reference frontiers, if given)."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    (n, d), y = fit.result.x[:2], fit.result.y
    data = ok_runs(runs, [n, d, y])
    fig, ax = plt.subplots(figsize=size, layout="constrained")
    if len(data):
        N = data[n].astype(float).to_numpy()
        C = 6 * N * data[d].astype(float).to_numpy()
        loss = data[y].astype(float).to_numpy()
        cgrid = np.geomspace(C.min() / 3, C.max() * EXTRAPOLATE, 160)
        ngrid = np.geomspace(N.min() / 3, N.max() * 10, 140)
        CC, NN = np.meshgrid(cgrid, ngrid)
        ZZ = predict(fit.result, {n: NN.ravel(), d: (CC / (6 * NN)).ravel()}, intervals=False)["value"]
        ZZ = ZZ.reshape(NN.shape)
        norm = LogNorm(vmin=np.nanmin(loss), vmax=np.nanmax(loss))
        levels = np.geomspace(max(np.nanmin(loss), np.nanmin(ZZ) * 1.001), np.nanmax(loss), 12)
        ax.contour(CC, NN, ZZ, levels=levels, cmap="viridis", norm=norm, linewidths=0.8, alpha=0.8)
        points = ax.scatter(C, N, c=loss, cmap="viridis", norm=norm, s=14, edgecolor="0.2", linewidth=0.2,
                            zorder=3, rasterized=len(data) > RASTERIZE_ABOVE)
        fig.colorbar(points, ax=ax, label=label(y))
        line = frontier(fit.result, cgrid, band=False)
        if line is not None:
            ax.plot(line["C"], line["N"], color="C3", lw=2, label="efficient frontier (this fit)")
        styles = iter([("C0", "--"), ("C2", ":"), ("C4", "-.")])
        for reference in references or []:
            ref = frontier_point(fit.result.law, reference["params"], cgrid)
            if ref is not None:
                colour, ls = next(styles, ("0.4", "--"))
                ax.plot(ref["C"], ref["N"], color=colour, ls=ls, lw=1.4,
                        label=safe(f"efficient frontier ({reference['name']})"))
        ax.set_ylim(ngrid[0], ngrid[-1])
    ax.set_xscale("log")
    _log_y(ax)
    ax.set_xlabel("compute C = 6ND (FLOPs)")
    ax.set_ylabel(label(n))
    if title:
        ax.set_title(safe(title), fontsize="medium")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize="xx-small", loc="upper left")
    return fig
