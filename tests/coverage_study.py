"""Coverage of the fit's bootstrap intervals on synthetic truth, for the coverage tests and docs/coverage.md.

    python tests/coverage_study.py [--datasets 200] [--bootstrap 200]     # prints the table of docs/coverage.md

Each scenario draws `datasets` data sets from a known truth, fits each once (bootstrap, with the jackknife for BCa)
and counts, for every checked quantity, how often its 95% interval contains the truth: the percentile interval and
the BCa interval come from the same bootstrap draws. Where the fitted law is not the truth (misspecified), the
target is the pseudo-true value: the fit to the noise-free truth at the same design, which is what the estimator
converges to with ever more seeds.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))

from scalinglab.fitting import fit
from scalinglab.fitting.bootstrap import interval
from scalinglab.laws import HOFFMANN_GRID, LAWS

KINDS = ("percentile", "bca")  # the two intervals counted, from the same bootstrap draws
SIZES = np.geomspace(1e5, 1e8, 7)  # the pipeline's design: 7 sizes x 2 seeds
SEEDS = 2
SAT = {"E": 1.8, "A": 180.0, "alpha": 0.34}
CHIN = {"E": 1.8, "A": 400.0, "B": 1200.0, "alpha": 0.34, "beta": 0.37}
# A Chinchilla ladder: 7 sizes x 3 data budgets (tokens per parameter 5, 20, 80) x 2 seeds
CHIN_TPP = (5.0, 20.0, 80.0)
CHIN_STARTS = HOFFMANN_GRID[(HOFFMANN_GRID[:, 3] > 0) & (HOFFMANN_GRID[:, 4] > 0)][::6]


@dataclass
class Scenario:
    name: str
    law: str
    description: str
    checked: tuple  # parameter or derived names whose coverage is counted

    def design(self):
        if self.law == "chinchilla":
            N = np.repeat(np.tile(SIZES, len(CHIN_TPP)), SEEDS)
            D = np.repeat(np.concatenate([SIZES * t for t in CHIN_TPP]), SEEDS)
            return np.stack([N, D])
        return np.repeat(SIZES, SEEDS)[None, :]

    def mean_log(self, X):
        """log of the true mean curve at X."""
        if self.law == "chinchilla":
            law, p = LAWS["chinchilla"], CHIN
        else:
            law, p = LAWS["saturating_power"], SAT
        log_f = law.log_predict(law.from_natural(np.array([[p[k] for k in law.natural]])), X)[0]
        if self.name == "misspecified":  # a mild bend the law cannot follow: 1.5% lower at the largest size
            u = np.log(X[0] / SIZES[0]) / np.log(SIZES[-1] / SIZES[0])
            log_f = log_f - 0.015 * u**2
        return log_f

    def noise(self, X, rng):
        if self.name == "correlated":  # one shared offset per size (eval subset, data order) plus seed noise
            _, size = np.unique(X[0], return_inverse=True)
            return rng.normal(0, 0.006, size.max() + 1)[size] + rng.normal(0, 0.006, X.shape[1])
        return rng.normal(0, 0.01, X.shape[1])

    def settings(self):
        extra = {"starts": CHIN_STARTS} if self.law == "chinchilla" else {}
        if self.name == "correlated":
            extra["bootstrap_unit"] = "size"
        return extra

    def table(self, X, log_y):
        cols = {"N": X[0], "y": np.exp(log_y), "size": X[0].astype(str)}
        if X.shape[0] == 2:
            cols["D"] = X[1]
        return cols

    def x(self):
        return "N,D" if self.law == "chinchilla" else "N"

    def truth(self):
        """The values the intervals should cover: the true parameters, or the pseudo-true ones."""
        if self.law == "chinchilla":
            a = CHIN["beta"] / (CHIN["alpha"] + CHIN["beta"])
            return {"a_opt": a, "alpha": CHIN["alpha"], "beta": CHIN["beta"]}
        if self.name != "misspecified":
            return dict(SAT)
        X = self.design()[:, ::SEEDS]
        limit = fit(self.table(X, self.mean_log(X)), self.law, "N", "y", bootstrap=0, backtest_holdouts=[])
        return dict(limit.params)


SCENARIOS = {
    s.name: s
    for s in (
        Scenario("pipeline", "saturating_power", "saturating_power truth, 7 sizes x 2 seeds, 1% log-normal noise",
                 ("E", "A", "alpha")),
        Scenario("correlated", "saturating_power",
                 "as pipeline, but noise 0.6% per size (shared by its seeds) + 0.6% per run; resampling sizes",
                 ("E", "A", "alpha")),
        Scenario("chinchilla", "chinchilla",
                 "Chinchilla truth, 7 sizes x 3 budgets (5, 20, 80 tokens/param) x 2 seeds, 1% noise; a_opt derived",
                 ("a_opt", "alpha", "beta")),
        Scenario("misspecified", "saturating_power",
                 "truth bends 1.5% below the power law at the largest size; target: the pseudo-true parameters",
                 ("E", "A", "alpha")),
    )
}


def measure(name: str, datasets: int, bootstrap: int, seed: int = 0, ci: float = 0.95, processes: int = 1) -> dict:
    """{"percentile": (covered, total), "bca": (covered, total)} over `datasets` data sets of scenario `name`.
    `processes` > 1 scores the data sets in that many worker processes: the same data sets, seeds and fits, so the
    same counts, in less wall time."""
    scenario = SCENARIOS[name]
    truth = scenario.truth()
    jobs = [(name, k, bootstrap, seed, ci, truth) for k in range(datasets)]
    if processes > 1:
        # spawn, not fork: a fork of a process that runs threads (pytest's, BLAS's) can deadlock
        with multiprocessing.get_context("spawn").Pool(processes) as pool:
            scored = pool.starmap(_score, jobs)
    else:
        scored = [_score(*job) for job in jobs]
    out = {kind: (sum(sum(s[kind].values()) for s in scored), datasets * len(scenario.checked)) for kind in KINDS}
    out["each"] = {f"{kind} {q}": round(sum(s[kind][q] for s in scored) / datasets, 3)
                   for kind in KINDS for q in scenario.checked}
    return out


def _score(name: str, k: int, bootstrap: int, seed: int, ci: float, truth: dict) -> dict:
    """{"percentile": {q: inside}, "bca": {q: inside}} for data set k of scenario `name`."""
    scenario = SCENARIOS[name]
    X = scenario.design()
    rng = np.random.default_rng([seed, k])
    log_y = scenario.mean_log(X) + scenario.noise(X, rng)
    result = fit(scenario.table(X, log_y), scenario.law, scenario.x(), "y", bootstrap=bootstrap, seed=k,
                 interval="bca", ci=ci, backtest_holdouts=[], **scenario.settings())
    draws = _draws(result)
    dof = result.bootstrap["dof"]
    scored = {kind: {} for kind in KINDS}
    for q in scenario.checked:
        bca = result.intervals.get(q) or result.derived[q]["interval"]
        point = result.params[q] if q in result.params else result.derived[q]["value"]
        pct = interval(draws[q], ci, point, None, dof)  # the fit's percentile interval from the same draws
        for kind, (lo, hi) in (("percentile", pct), ("bca", bca)):
            scored[kind][q] = bool(lo is not None and lo <= truth[q] <= hi)
    return scored


def _draws(result) -> dict:
    nat = result.boot_natural
    out = {n: nat[:, i] for i, n in enumerate(result.law.natural)}
    if "alpha" in out and "beta" in out:
        out["a_opt"] = out["beta"] / (out["alpha"] + out["beta"])
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", type=int, default=200)
    parser.add_argument("--bootstrap", type=int, default=200)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--processes", type=int, default=1, help="worker processes (the counts do not change)")
    args = parser.parse_args(argv)
    print("| scenario | checked | data sets | percentile | BCa |")
    print("|---|---|---|---|---|")
    for name in args.scenarios.split(","):
        out = measure(name, args.datasets, args.bootstrap, processes=args.processes)
        cells = [f"{c / t:.3f} ({c}/{t})" for c, t in (out["percentile"], out["bca"])]
        print(f"| {name}: {SCENARIOS[name].description} | {', '.join(SCENARIOS[name].checked)} | {args.datasets} | "
              f"{cells[0]} | {cells[1]} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
