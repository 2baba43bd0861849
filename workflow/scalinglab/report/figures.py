"""Every figure of the report and the paper, one function each, plus deterministic saving.

Figures take plain DataFrames (rows of metrics.parquet / curves.parquet) and fit dicts, and return a matplotlib Figure.
They never draw one artist per run beyond a scatter, so a 10,000-run study stays fast; dense scatters are rasterised.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np

from .. import atomic
from .fits import Predictor, ci_level, predictor, x_columns, y_column

ONE_COLUMN = (3.4, 2.6)  # inches: one column of a two-column paper
TWO_COLUMN = (7.0, 2.8)
REPORT = (6.4, 4.0)
RASTERIZE_ABOVE = 400  # points in one scatter: beyond this it is embedded as an image (small files)
SVG_SALT = "scalinglab"
EXTRAPOLATE = 10.0  # draw fits to 10x beyond the largest run

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
def _ok(runs, columns):
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


def scaling_figure(runs, fits: list[dict], size=REPORT, title: str | None = None):
    """Loss against the size axis on log-log axes: every seed's point, each 1-D fit, its bootstrap band and
    its extrapolation to 10x beyond the largest run."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    x, y = x_columns(fits[0])[0], y_column(fits[0])
    data = _ok(runs, [x, y])
    fig, ax = plt.subplots(figsize=size, layout="constrained")
    hue = _seed_hue(data)
    proxies = []
    sns.scatterplot(x=data[x].astype(float), y=data[y].astype(float), hue=hue, ax=ax, s=22, alpha=0.85,
                    palette="colorblind" if hue is not None else None, color="0.25" if hue is None else None,
                    rasterized=len(data) > RASTERIZE_ABOVE, zorder=3, edgecolor="none")
    if len(data):
        xmin, xmax = float(data[x].min()), float(data[x].max())
        grid = np.geomspace(xmin / 1.2, xmax * EXTRAPOLATE, 240)
        inside = grid <= xmax
        for fit, colour in zip(fits, _law_colours(len(fits))):
            pred = predictor(fit)
            if pred is None or pred.n_inputs != 1:
                continue
            curve = pred.predict(grid[None, :])
            ax.plot(grid[inside], curve[inside], color=colour, lw=1.8, label=safe(f"{fit['law']} fit"), zorder=4)
            ax.plot(grid[~inside], curve[~inside], color=colour, lw=1.8, ls="--", zorder=4)
            band = pred.band(grid[None, :])
            if band is not None:
                ax.fill_between(grid, band[0], band[1], color=colour, alpha=0.2, lw=0, zorder=2)
        ax.axvline(xmax, color="0.5", ls=":", lw=1, zorder=1)
        if any(predictor(f) is not None for f in fits):
            from matplotlib.lines import Line2D
            from matplotlib.patches import Patch

            proxies = [Line2D([], [], color="0.4", ls="--", label=f"extrapolation ({EXTRAPOLATE:g}x)"),
                       Patch(color="0.4", alpha=0.25, label=f"{ci_level(fits[0]):.0%} bootstrap band")]
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
    handles, labels = ax.get_legend_handles_labels()
    handles, labels = handles + list(extra), labels + [h.get_label() for h in extra]
    if handles:
        ax.legend(
            handles,
            labels,
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
            fontsize="x-small",
            title_fontsize="x-small",
            borderaxespad=0,
            **kwargs,
        )


def residuals_figure(runs, fits: list[dict], size=REPORT, title: str | None = None):
    """Log residuals log(y) - log(fit) of each fit at its points, in percent."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=size, layout="constrained")
    markers = "osD^v<>"
    for i, (fit, colour) in enumerate(zip(fits, _law_colours(len(fits)))):
        xs, y = x_columns(fit), y_column(fit)
        data = _ok(runs, xs + [y])
        pred = predictor(fit)
        if pred is None or not len(data):
            continue
        X = np.vstack([data[c].to_numpy(float) for c in xs])
        with np.errstate(all="ignore"):
            resid = 100 * (np.log(data[y].to_numpy(float)) - np.log(pred.predict(X)))
        ax.scatter(data[xs[0]].to_numpy(float), resid, s=18, color=colour, marker=markers[i % len(markers)],
                   label=safe(fit["law"]), alpha=0.85, rasterized=len(data) > RASTERIZE_ABOVE, edgecolor="none")
    ax.axhline(0, color="0.3", lw=1)
    ax.set_xscale("log")
    ax.set_xlabel(label(x_columns(fits[0])[0]))
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
    data = _ok(runs, [x])
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


def isoflop_profiles(runs, n: str, y: str, max_bins: int = 8) -> dict | None:
    """Approach 2: group runs by compute, fit a parabola of loss in log N per group, keep interior minima, then
    fit N_opt against C as a power law. None when the runs do not vary both N and D enough."""
    import pandas as pd

    c = compute_column(runs)
    if c is None:
        return None
    data = _ok(runs, [n, y, c]).copy()
    if len(data) < 6 or data[n].nunique() < 3:
        return None
    logc = np.log10(data[c].astype(float))
    rounded = logc.round(1)
    if rounded.nunique() <= max_bins * 2:
        data["bin"] = rounded
    else:
        data["bin"] = pd.qcut(logc, max_bins, labels=False, duplicates="drop")
    profiles, refused = [], []
    for _key, group in data.groupby("bin", sort=True):
        if group[n].nunique() < 3:
            continue
        ln = np.log(group[n].astype(float).to_numpy())
        loss = group[y].astype(float).to_numpy()
        a2, a1, a0 = np.polyfit(ln, loss, 2)
        C = float(np.exp(np.log(group[c].astype(float)).mean()))
        profile = {"C": C, "logN": ln, "loss": loss, "coef": (a2, a1, a0), "N_opt": None}
        vertex = -a1 / (2 * a2) if a2 > 0 else None
        if vertex is not None and ln.min() < vertex < ln.max():
            profile["N_opt"] = float(np.exp(vertex))
            profile["loss_opt"] = float(a0 - a1 ** 2 / (4 * a2))
        else:
            refused.append({"C": C, "why": "parabola opens downwards" if a2 <= 0 else "minimum outside the sizes run"})
        profiles.append(profile)
    if len(profiles) < 2:
        return None
    good = [p for p in profiles if p["N_opt"] is not None]
    result = {"compute": c, "profiles": profiles, "refused": refused, "exponent": None}
    if len(good) >= 2:
        slope, intercept = np.polyfit(np.log([p["C"] for p in good]), np.log([p["N_opt"] for p in good]), 1)
        result.update(exponent=float(slope), intercept=float(intercept))
    return result


def isoflop_figure(iso: dict, n: str, y: str, fit2d: dict | None = None, size=REPORT, title: str | None = None):
    import matplotlib.pyplot as plt
    import seaborn as sns

    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(size[0], size[1] * 0.85), layout="constrained")
    colours = sns.color_palette("viridis", len(iso["profiles"]))
    for profile, colour in zip(iso["profiles"], colours):
        ln = profile["logN"]
        ax.scatter(np.exp(ln), profile["loss"], s=14, color=colour, edgecolor="none",
                   rasterized=len(ln) > RASTERIZE_ABOVE)
        grid = np.linspace(ln.min(), ln.max(), 60)
        ax.plot(np.exp(grid), np.polyval(profile["coef"], grid), color=colour, lw=1.2, label=f"C={profile['C']:.2g}")
        if profile["N_opt"] is not None:
            ax.plot([profile["N_opt"]], [profile["loss_opt"]], marker="D", color=colour, mec="black", mew=0.6, ms=5)
    ax.set_xscale("log")
    ax.set_xlabel(label(n))
    ax.set_ylabel(label(y))
    ax.set_title("IsoFLOP profiles", fontsize="small")
    if len(iso["profiles"]) <= 8:
        ax.legend(fontsize="xx-small")
    good = [p for p in iso["profiles"] if p["N_opt"] is not None]
    cs = np.array([p["C"] for p in good])
    if len(good):
        ax2.scatter(cs, [p["N_opt"] for p in good], color="C0", zorder=3, s=20, label="IsoFLOP minima")
    if iso.get("exponent") is not None:
        grid = np.geomspace(cs.min(), cs.max() * EXTRAPOLATE, 50)
        ax2.plot(grid, np.exp(iso["intercept"]) * grid ** iso["exponent"], color="C0", lw=1.3,
                 label=f"approach 2: N_opt ∝ C^{iso['exponent']:.2f}")
    if fit2d is not None and len(good):
        frontier = optimal_frontier(fit2d, np.geomspace(cs.min(), cs.max() * EXTRAPOLATE, 50))
        if frontier is not None:
            ax2.plot(frontier["C"], frontier["N"], color="C1", lw=1.3, ls="--",
                     label=safe(f"approach 3 ({fit2d['law']})"))
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


def optimal_frontier(fit: dict, C, n_grid: int = 240, pred: Predictor | None = None, band: bool = False,
                     max_draws: int = 400):
    """Numerically, for each compute C (= 6 N D), the N minimising the fitted L(N, D=C/6N), the loss there and,
    optionally, the bootstrap band of that optimal loss."""
    pred = pred or predictor(fit)
    if pred is None or pred.n_inputs != 2:
        return None
    C = np.asarray(C, dtype=float)
    logn = np.linspace(np.log(C.min() / 6) / 2 - 12, np.log(C.max() / 6) / 2 + 12, n_grid)
    N = np.exp(logn)[None, :].repeat(len(C), 0)
    D = C[:, None] / (6 * N)
    X = np.vstack([N.ravel(), D.ravel()])
    loss = pred.predict(X).reshape(len(C), n_grid)
    loss = np.where(np.isfinite(loss), loss, np.inf)
    best = loss.argmin(axis=1)
    out = {"C": C, "N": N[np.arange(len(C)), best], "loss": loss[np.arange(len(C)), best]}
    out["D"] = C / (6 * out["N"])
    if band and pred.boot is not None and len(pred.boot) >= 5:
        draws = pred.law.predict(pred.boot[:max_draws], X).reshape(-1, len(C), n_grid)
        draws = np.where(np.isfinite(draws), draws, np.inf).min(axis=2)
        draws = np.where(np.isfinite(draws), draws, np.nan)
        ci = ci_level(fit)
        out["low"], out["high"] = np.nanquantile(draws, [(1 - ci) / 2, 1 - (1 - ci) / 2], axis=0)
    return out


def compute_scaling_figure(runs, fit: dict, size=REPORT, title: str | None = None):
    """For a two-input law L(N, D): loss against compute with every point coloured by N, the fitted loss along
    the compute-optimal frontier, its bootstrap band and its extrapolation to 10x beyond the largest run."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    n, d = x_columns(fit)[:2]
    y = y_column(fit)
    data = _ok(runs, [n, d, y])
    fig, ax = plt.subplots(figsize=size, layout="constrained")
    if len(data):
        C = 6 * data[n].astype(float) * data[d].astype(float)
        points = ax.scatter(C, data[y].astype(float), c=data[n].astype(float), cmap="viridis", norm=LogNorm(), s=16,
                            edgecolor="none", rasterized=len(data) > RASTERIZE_ABOVE, zorder=3)
        fig.colorbar(points, ax=ax, label=label(n))
        grid = np.geomspace(C.min(), C.max() * EXTRAPOLATE, 120)
        frontier = optimal_frontier(fit, grid, band=True)
        if frontier is not None:
            inside = grid <= C.max()
            ax.plot(grid[inside], frontier["loss"][inside], color="C3", lw=1.8, label="fit at compute-optimal N, D")
            ax.plot(grid[~inside], frontier["loss"][~inside], color="C3", lw=1.8, ls="--",
                    label=f"extrapolation to {EXTRAPOLATE:g}x")
            if "low" in frontier:
                ax.fill_between(grid, frontier["low"], frontier["high"], color="C3", alpha=0.2, lw=0,
                                label=f"{ci_level(fit):.0%} bootstrap band")
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


def figure4_figure(runs, fit: dict, references: list[dict] | None = None, size=REPORT, title: str | None = None):
    """Like Hoffmann et al. (2022) Figure 4 (left): runs in the (compute, parameters) plane coloured by loss,
    iso-loss contours of the fitted law, and its efficient frontier (with reference frontiers, if given)."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    n, d = x_columns(fit)[:2]
    y = y_column(fit)
    data = _ok(runs, [n, d, y])
    fig, ax = plt.subplots(figsize=size, layout="constrained")
    pred = predictor(fit)
    if len(data) and pred is not None:
        N = data[n].astype(float).to_numpy()
        C = 6 * N * data[d].astype(float).to_numpy()
        loss = data[y].astype(float).to_numpy()
        cgrid = np.geomspace(C.min() / 3, C.max() * EXTRAPOLATE, 160)
        ngrid = np.geomspace(N.min() / 3, N.max() * 10, 140)
        CC, NN = np.meshgrid(cgrid, ngrid)
        ZZ = pred.predict(np.vstack([NN.ravel(), (CC / (6 * NN)).ravel()])).reshape(NN.shape)
        norm = LogNorm(vmin=np.nanmin(loss), vmax=np.nanmax(loss))
        levels = np.geomspace(max(np.nanmin(loss), np.nanmin(ZZ) * 1.001), np.nanmax(loss), 12)
        ax.contour(CC, NN, ZZ, levels=levels, cmap="viridis", norm=norm, linewidths=0.8, alpha=0.8)
        points = ax.scatter(C, N, c=loss, cmap="viridis", norm=norm, s=14, edgecolor="0.2", linewidth=0.2,
                            zorder=3, rasterized=len(data) > RASTERIZE_ABOVE)
        fig.colorbar(points, ax=ax, label=label(y))
        frontier = optimal_frontier(fit, cgrid, pred=pred)
        ax.plot(frontier["C"], frontier["N"], color="C3", lw=2, label="efficient frontier (this fit)")
        styles = iter([("C0", "--"), ("C2", ":"), ("C4", "-.")])
        for reference in references or []:
            ref_fit = {**fit, "params": reference["params"], "bootstrap": None}
            ref = optimal_frontier(ref_fit, cgrid)
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
