"""A small synthetic study for the report tests: metrics, curves and fit JSONs shaped like the pipeline's,
generated from known laws (no training, no fitting), so the report can be tested on its own and fast."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

SAT = {"E": 1.5, "A": 40.0, "alpha": 0.35}
CHIN = {"E": 1.8, "A": 480.0, "B": 2100.0, "alpha": 0.35, "beta": 0.37}


def _row(sweep, size, seed, budget, n, loss, **extra):
    return {
        "run_id": f"{abs(hash((sweep, size, seed, budget))) % 16**12:012x}",
        "run_path": f"{sweep}/{size}/{budget}-samples/seed{seed}",
        "sweep": sweep, "dataset": "synthetic", "model": "mlp", "size_label": size, "seed": seed,
        "budget": budget, "budget_unit": "samples", "status": "ok", "n_params": float(n),
        "n_params_nonembedding": float(n), "flops_6nd": 6.0 * n * budget, "flops": 6.3 * n * budget,
        "steps": 100, "best_val_loss": loss * 0.99, "final_val_loss": loss, "test_loss": loss * 1.01,
        "test_accuracy": np.nan, "val_accuracy": np.nan, "wall_s": 2.0 + n / 1e4, "throughput": 1000.0,
        "peak_rss_mb": 300.0, "flops_per_s": 1e9, "diverged_step": np.nan, "error": None, "env_threads": 1,
        **extra,
    }


def make_study(root: Path, sweep_name: str = "width", title_study: str = "synthetic") -> dict:
    """Write metrics.parquet, curves.parquet and fits under root; return paths and the config."""
    rng = np.random.default_rng(0)
    rows, curves = [], []
    widths = [10, 50, 100, 500, 1000]
    for width in widths:
        n = 7 * width + 3 * width + 3
        for seed in range(3):
            loss = (SAT["E"] + SAT["A"] * n ** -SAT["alpha"]) * np.exp(rng.normal(0, 0.01))
            acc = 0.9 + 0.08 * (1 - 1 / np.sqrt(width)) + rng.normal(0, 0.01)
            rows.append(_row(sweep_name, f"w{width}", seed, 100, n, loss, arch_width=width,
                             test_accuracy=acc - 0.03, val_accuracy=acc - 0.02, train_accuracy=min(acc + 0.05, 1)))
    for size in 10 ** np.arange(3, 5.01, 0.5):
        for budget in 10 ** np.arange(4, 6.01, 0.5):
            loss = CHIN["E"] + CHIN["A"] / size ** CHIN["alpha"] + CHIN["B"] / budget ** CHIN["beta"]
            rows.append(_row("grid", f"p{int(size)}", 0, int(budget), size, loss * np.exp(rng.normal(0, 0.005)),
                             tokens=float(budget)))
    for seed in range(2):  # a sweep whose every run diverged: recorded as unfittable, the report goes on
        rows.append(_row("broken", "w10", seed, 100, 73, np.nan, status="diverged", diverged_step=3,
                         best_val_loss=np.nan))
    rows[1].update(status="diverged", final_val_loss=np.nan, best_val_loss=np.nan, diverged_step=12)
    rows[2].update(status="failed", final_val_loss=np.nan, best_val_loss=np.nan, error="RuntimeError: <boom> & co")
    metrics = pd.DataFrame(rows)
    for row in rows:
        for step in (1, 3, 10, 30, 100):
            curves.append({"run_id": row["run_id"], "sweep": row["sweep"], "dataset": "synthetic", "model": "mlp",
                           "size_label": row["size_label"], "seed": row["seed"], "budget": row["budget"],
                           "step": step, "samples": step * 32, "tokens": np.nan, "flops": step * 1e6,
                           "train_loss": 3.0 / step ** 0.2, "val_loss": 3.1 / step ** 0.2 + 1 / row["n_params"] ** 0.1,
                           "val_accuracy": np.nan, "lr": 1e-3})
    root = Path(root)
    (root / "results").mkdir(parents=True, exist_ok=True)
    metrics.to_parquet(root / "results/metrics.parquet", index=False)
    pd.DataFrame(curves).to_parquet(root / "results/curves.parquet", index=False)
    fits = [
        _write_fit(root, sweep_name, "saturating_power", "y = E + A*x^(-alpha)", SAT, ["n_params"], rng),
        _write_fit(root, sweep_name, "power", "y = A*x^(-alpha)", {"A": 3.6, "alpha": 0.085}, ["n_params"], rng),
        _write_fit(root, "grid", "chinchilla", "L = E + A/N^alpha + B/D^beta", CHIN, ["n_params", "tokens"], rng),
    ]
    _add_approaches(fits[-1], metrics[metrics["sweep"] == "grid"])
    broken = root / "results/fits/broken/saturating_power.json"
    broken.parent.mkdir(parents=True, exist_ok=True)
    ids = [r["run_id"] for r in rows if r["sweep"] == "broken"]
    broken.write_text(json.dumps({
        "status": "unfittable", "law": "saturating_power", "x": ["n_params"], "y": "final_val_loss",
        "reason": "0 usable point(s) but law 'saturating_power' has 3 parameters (E, A, alpha); need at least 3; "
                  "excluded: 2 status=diverged",
        "excluded": {"status=diverged": 2}, "excluded_runs": {"status=diverged": ids}}))
    fits.append(broken)
    config = {"study": title_study, "sweeps": [
        {"name": sweep_name, "dataset": "synthetic", "model": "mlp", "fit": {}},
        {"name": "grid", "dataset": "synthetic", "model": "mlp", "fit": {"x": "n_params,tokens"}},
        {"name": "broken", "dataset": "synthetic", "model": "mlp", "fit": {}},
    ], "fit": {"laws": ["saturating_power"], "x": "n_params", "y": "final_val_loss", "ci": 0.95}}
    return {"metrics": root / "results/metrics.parquet", "curves": root / "results/curves.parquet",
            "fits": fits, "config": config}


def _write_fit(root, sweep, law, formula, params, x, rng, n_boot=200):
    names = list(params)
    point = np.array([params[k] for k in names])
    boot = point * np.exp(rng.normal(0, 0.03, size=(n_boot, len(names))))
    low, high = np.quantile(boot, [0.025, 0.975], axis=0)
    fit = {
        "law": law, "formula": formula, "parameters": names, "x": x, "y": "final_val_loss",
        "params": dict(zip(names, point.tolist())),
        "intervals": {k: [float(a), float(b)] for k, a, b in zip(names, low, high)},
        "ci": 0.95, "objective": 1.234e-4, "n_points": 14, "n_excluded": 1, "excluded": ["diverged or failed"],
        "rms_log_residual": 0.01,
        "information_criteria": {"aic": -80.0, "aicc": -77.0, "bic": -78.0, "n_eff": 5, "k": len(names) + 1},
        "backtest": {"holdouts": [1, 2], "axis": "x", "rms_log_error": 0.02 if law != "power" else 0.05,
                     "interval": [0.01, 0.04] if law != "power" else [0.03, 0.08],
                     "origins": [{"holdout": 1, "rms_log_error": 0.015}, {"holdout": 2, "rms_log_error": 0.025}]},
        "diagnostics": {"converged": True, "n_starts": 100, "n_at_best": 37},
        "derived": {"a_opt": {"value": 0.51, "interval": [0.48, 0.54]}} if law == "chinchilla" else {},
        "bootstrap": {"n": n_boot, "unit": "run", "params": boot.tolist()},
        "settings": {"huber_delta": 1e-3},
        # the power fit pretends its exponent ended on the law's lower bound (the report must say so)
        "at_bound": {"alpha": {"side": "lower", "bound": 0.0, "fit_parameter": "alpha"}} if law == "power" else {},
    }
    path = Path(root) / "results/fits" / sweep / f"{law}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(fit))
    return path


def _add_approaches(path: Path, runs: pd.DataFrame) -> None:
    """What the fit step computes for a two-input law: approaches 2 and 3 on its runs (`fitting.approaches`)."""
    from scalinglab.fitting import load_fit
    from scalinglab.fitting.approaches import compare
    from scalinglab.fitting.persist import clean

    n, d, loss = (runs[c].to_numpy(float) for c in ("n_params", "tokens", "final_val_loss"))
    record = json.loads(path.read_text())
    record["approaches"] = clean(compare(load_fit(record), n, loss, 6 * n * d, "C = 6*n_params*tokens",
                                         bootstrap=50))
    path.write_text(json.dumps(record))


# An IsoFLOP ladder with a learning-rate grid, from known laws: loss = chinchilla(N, D) x (1 + lr penalty), the
# penalty zero at each size's best learning rate. Every size's best value lies on the grid except the smallest
# size's, which lies above it (its winner is at the edge).
ISO_TRUTH = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}
ISO_SIZES = np.geomspace(5e5, 8e7, 9)
ISO_BUDGETS = [1e15, 3e15, 1e16, 3e16]
ISO_LRS = [0.001, 0.003, 0.01, 0.03, 0.1]
ISO_TOKENS_PER_PARAM = (0.5, 5000.0)


def best_lr(n: float) -> float:
    """The learning rate a size does best with: 0.3 (above the grid) at the smallest size, then 0.03, 0.01, 0.003."""
    i = int(np.searchsorted(ISO_SIZES, n * 0.999))
    return [0.3, 0.03, 0.03, 0.01, 0.01, 0.01, 0.003, 0.003, 0.003][i]


def iso_loss(n, d, p=ISO_TRUTH):
    return p["E"] + p["A"] / np.asarray(n) ** p["alpha"] + p["B"] / np.asarray(d) ** p["beta"]


def grid_ladder(seed: int = 0, noise: float = 0.003, seeds=(0, 1), sweep: str = "iso",
                budgets=ISO_BUDGETS) -> pd.DataFrame:
    """Metrics rows of an IsoFLOP grid sweep shaped like the pipeline's: every (size, compute budget) inside the
    tokens-per-parameter range trains every learning rate and seed, D = C / (6 N)."""
    rng = np.random.default_rng(seed)
    rows = []
    for n in ISO_SIZES:
        for c in budgets:
            d = c / (6 * n)
            if not ISO_TOKENS_PER_PARAM[0] <= d / n <= ISO_TOKENS_PER_PARAM[1]:
                continue
            for lr in ISO_LRS:
                penalty = 0.1 * np.log10(lr / best_lr(n)) ** 2
                for s in seeds:
                    loss = float(iso_loss(n, d) * (1 + penalty) * np.exp(rng.normal(0, noise)))
                    size = f"n{n:.3g}"
                    rows.append(_row(sweep, size, s, d, n, loss, budget_unit="tokens", tokens_seen=d,
                                     compute_budget=c, flops_6nd=c, grid_lr=lr,
                                     run_path=f"{sweep}/{size}/C{c:g}/lr{lr:g}/seed{s}",
                                     run_id=f"{sweep}-{size}-C{c:g}-lr{lr:g}-s{s}"))
    return pd.DataFrame(rows)
