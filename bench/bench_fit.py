"""Benchmark: the fit `scalinglab fit` runs (Chinchilla, 4,500 starts, bootstrap and backtest off), in process, vs a
plain scipy reference, 4,000 bootstrap refits, and (in `lines`, for bench/run_all.py) `scalinglab fit` from the shell,
`--law all` on one process against the default workers, and on 1,000,000 rows. The in-process fit is the command's
own (`cli.fit.fit_one_law` on its parsed arguments, with its BLAS thread setting): the shell time minus process start,
imports and writing the JSON.

    python bench/bench_fit.py                       # reference timed on a random subset of 300 starts, extrapolated
    python bench/bench_fit.py --reference-starts 4500   # the whole reference (about 5-6 minutes)
    python bench/run_all.py --only fit                  # every line of this benchmark in bench/results.md

Data: Epoch AI's extraction of Hoffmann et al. Figure 4 (tests/data/chinchilla_svg_extracted_data.csv), D = C/(6N),
the 5 highest losses dropped (240 points). Objective: summed Huber (delta 1e-3) on log residuals, LSE form.
Reference: one scipy.optimize.minimize(method="L-BFGS-B", jac=True) per start with the analytic gradient, default
tolerances, exactly as Besiroglu et al. (2024) did. Both runs happen in this process, one after the other.
Not a test: timings depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow"))

# Before numpy loads: `scalinglab fit`'s own BLAS thread setting, so that the in-process fit runs as the command does
import scalinglab.cli.fit as fit_command  # noqa: E402, I001

import numpy as np  # noqa: E402

from scalinglab.cli import build_parser  # noqa: E402
from scalinglab.fitting import DEFAULTS  # noqa: E402
from scalinglab.fitting.bootstrap import refit, resample_weights  # noqa: E402
from scalinglab.fitting.multistart import point_fit  # noqa: E402
from scalinglab.fitting.optimize import huber  # noqa: E402
from scalinglab.fitting.workers import usable_cpus  # noqa: E402
from scalinglab.laws import CHINCHILLA, HOFFMANN_GRID  # noqa: E402

DATA = REPO / "tests" / "data" / "chinchilla_svg_extracted_data.csv"


def load():
    import pandas as pd

    frame = pd.read_csv(DATA)
    N = frame["Model Size"].to_numpy(float)
    D = frame["Training FLOP"].to_numpy(float) / (6 * N)
    L = frame["loss"].to_numpy(float)
    keep = np.argsort(L, kind="stable")[: len(L) - 5]
    keep.sort()
    return N[keep], D[keep], L[keep]


def reference(N, D, L, starts, delta=1e-3):
    from scipy.optimize import minimize
    from scipy.special import logsumexp

    lN, lD, lL = np.log(N), np.log(D), np.log(L)

    def fg(p):
        a, b, e, alpha, beta = p
        u = np.stack([a - alpha * lN, b - beta * lD, np.full_like(lN, e)])
        lse = logsumexp(u, axis=0)
        r = lse - lL
        w = np.exp(u - lse)
        psi = np.clip(r, -delta, delta)
        g = np.array([psi @ w[0], psi @ w[1], psi @ w[2], -(psi * w[0]) @ lN, -(psi * w[1]) @ lD])
        return float(np.sum(huber(r, delta))), g

    best = (np.inf, None)
    for s in starts:
        # Tolerances tight enough that each start's optimum is resolved to the 1e-9 relative precision the
        # comparison asks for (L-BFGS-B's default ftol, 2.2e-9 relative, stops short of it).
        res = minimize(fg, s, jac=True, method="L-BFGS-B", options={"ftol": 1e-13, "gtol": 1e-10, "maxiter": 2000})
        if res.fun < best[0]:
            best = (float(res.fun), res.x)
    return best


def chinchilla_table(folder: Path) -> Path:
    """Epoch AI's CSV with the columns `scalinglab fit --x N --derive D=C/(6*N)` reads."""
    import pandas as pd

    table = folder / "chinchilla.csv"
    pd.read_csv(DATA).rename(columns={"Model Size": "N", "Training FLOP": "C"}).to_csv(table, index=False)
    return table


def fit_arguments(table: Path, out: Path, holdouts: str = "0", bootstrap: int = 0) -> list[str]:
    """`scalinglab fit` of Chinchilla on Epoch AI's data (the 5 highest losses dropped), bootstrap off by default."""
    return ["fit", str(table), "--law", "chinchilla", "--x", "N,D", "--y", "loss", "--derive", "D=C/(6*N)",
            "--drop-top-y", "5", "--bootstrap", str(bootstrap), "--out", str(out), "--backtest-holdouts", holdouts]


def time_command_fit(repeats=3) -> tuple[float, float, object]:
    """(best wall s of `repeats` after a warm-up call, the warm-up's wall s, the FitResult) of exactly the fit
    `scalinglab fit ... --bootstrap 0 --backtest-holdouts 0` runs (cli.fit.fit_one_law on its parsed arguments),
    in this process: no process start, no imports, no JSON written."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        args = build_parser("fit").parse_args(fit_arguments(chinchilla_table(Path(tmp)), Path(tmp) / "f.json"))
        t0 = time.perf_counter()
        result = fit_command.fit_one_law(args)
        cold = time.perf_counter() - t0
        best = np.inf
        for _ in range(repeats):
            t0 = time.perf_counter()
            result = fit_command.fit_one_law(args)
            best = min(best, time.perf_counter() - t0)
    return best, cold, result


def measure(reference_starts=300, bootstrap=4000, seed=0) -> dict:
    """The fit `scalinglab fit` runs (best of 3 after a warm-up) and the scipy loop on `reference_starts` random
    starts of the grid (scaled to 4,500), both in this process, then `bootstrap` warm-started refits."""
    N, D, L = load()
    X = np.stack([N, D])
    settings = dict(DEFAULTS)
    reference(N, D, L, HOFFMANN_GRID[:2])
    t_fast, t_cold, result = time_command_fit()
    _, fastcore, *_ = point_fit(CHINCHILLA, X, L, settings)  # the warm starts of the bootstrap refits below
    k = min(reference_starts, len(HOFFMANN_GRID))
    rng = np.random.default_rng(seed)
    subset = HOFFMANN_GRID if k == len(HOFFMANN_GRID) else HOFFMANN_GRID[np.sort(rng.choice(len(HOFFMANN_GRID), k,
                                                                                           replace=False))]
    t0 = time.perf_counter()
    ref_f, _ = reference(N, D, L, subset)
    t_ref_subset = time.perf_counter() - t0
    t_ref = t_ref_subset * len(HOFFMANN_GRID) / k
    W, _ = resample_weights(len(L), None, bootstrap, np.random.default_rng(seed))
    t0 = time.perf_counter()
    boot, _, info = refit(CHINCHILLA, X, np.log(L), 1e-3, fastcore, W, settings)
    t_boot = time.perf_counter() - t0
    boot_nat = CHINCHILLA.to_natural(boot)
    return {
        "cpus": os.cpu_count(),
        "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
        "batched_fit_s": t_fast,
        "batched_fit_first_call_s": t_cold,
        "batched_objective": result.objective,
        "batched_params": result.params,
        "n_starts_at_optimum": result.diagnostics["n_starts_at_optimum"],
        "reference_starts_timed": k,
        "reference_subset_s": t_ref_subset,
        "reference_all_starts_s": t_ref,
        "reference_extrapolated": k < len(HOFFMANN_GRID),
        "reference_objective": ref_f,
        "objective_rel_diff": abs(result.objective - ref_f) / ref_f,
        "speedup": t_ref / t_fast,
        "bootstrap_refits": bootstrap,
        "bootstrap_s": t_boot,
        "bootstrap_failed": info["n_failed"],
        "bootstrap_intervals": {n: [float(v) for v in np.nanpercentile(boot_nat[:, i], [2.5, 97.5])]
                                for i, n in enumerate(CHINCHILLA.natural)},
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reference-starts", type=int, default=300, help="random subset of the grid for the reference")
    parser.add_argument("--bootstrap", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="also write the numbers here")
    args = parser.parse_args(argv)
    out = measure(args.reference_starts, args.bootstrap, args.seed)
    k = out["reference_starts_timed"]
    print(f"scalinglab fit's fit, 4,500 starts, in process: {out['batched_fit_s']:8.3f} s   objective "
          f"{out['batched_objective']:.12g}   (best of 3 after a warm-up call; the first call, with imports, took "
          f"{out['batched_fit_first_call_s']:.2f} s; OPENBLAS_NUM_THREADS={out['blas_threads']})")
    print("   " + "  ".join(f"{n}={v:.6g}" for n, v in out["batched_params"].items()))
    note = (f" (timed on a random subset of {k} starts, seed {args.seed}, scaled x{len(HOFFMANN_GRID) / k:.1f})"
            if out["reference_extrapolated"] else "")
    print(f"scipy reference, 4,500:    {out['reference_all_starts_s']:8.2f} s{note}   objective "
          f"{out['reference_objective']:.12g}")
    rel = out["objective_rel_diff"]
    print(f"same optimum: relative difference {rel:.2e} ({'OK' if rel <= 1e-9 else 'DIFFERENT'} at 1e-9)")
    print(f"speed ratio: {out['speedup']:.1f}x (goal >= 300x)")
    print(f"{args.bootstrap} bootstrap refits: {out['bootstrap_s']:.2f} s (goal <= 5 s), "
          f"{out['bootstrap_failed']} failed")
    for n, (lo, hi) in out["bootstrap_intervals"].items():
        print(f"   {n}: [{lo:.4g}, {hi:.4g}]")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1) + "\n")
    return 0


# ---- the lines of bench/run_all.py ---------------------------------------------------------------------------------
def _rows_table(n: int, folder: Path) -> Path:
    """n rows of a saturating power law at distinct sizes (1e4 to 1e8), 1% noise, as parquet."""
    import pandas as pd

    rng = np.random.default_rng(0)
    N = np.exp(rng.uniform(np.log(1e4), np.log(1e8), n))
    path = folder / f"rows{n}.parquet"
    pd.DataFrame({"N": N, "loss": (1.7 + 400 * N**-0.34) * np.exp(rng.normal(0, 0.01, n))}).to_parquet(path)
    return path


def _ranking_line(cli: list[str], folder: Path, quick: bool):
    """`scalinglab fit --law all` (every one-input law ranked by its backtest) on 40 rows from the shell: on one
    process (`--workers 1`) against the default, the laws side by side on the CPUs the command may use."""
    from common import line, shell_wall

    command = cli + ["fit", str(_rows_table(40, folder)), "--x", "N", "--y", "loss", "--law", "all", "--out",
                     str(folder / "ranking.json")]
    one = shell_wall(command + ["--workers", "1"], repeats=1 if quick else 2)
    default = shell_wall(command, repeats=1 if quick else 2)
    return line("scalinglab fit --law all (8 one-input laws ranked by backtest, 40 rows) from the shell, --workers 1 "
                "against the default (the usable CPUs)", one["median"] / default["median"], "x",
                reference=f"{one['median']:.2f} s against {default['median']:.2f} s on {usable_cpus()} CPUs",
                command=" ".join(command[1:]))


def _timed_capped(command: list[str], cap_s: float) -> tuple[float, float, bool]:
    """(wall s, peak RSS GiB, finished) of a child, killed at cap_s (its peak memory up to then is still read)."""
    import signal
    import subprocess

    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    finished = True
    while True:
        pid, _, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() - start > cap_s:
            process.send_signal(signal.SIGKILL)
            _, _, usage = os.wait4(process.pid, 0)
            finished = False
            break
        time.sleep(0.01)
    return time.perf_counter() - start, usage.ru_maxrss / 2**20, finished


def report_at(n_runs: int, folder: Path) -> dict:
    """`scalinglab report` of a study of about n_runs runs (bench_scale's: 10 GPT sweeps, synthetic run records),
    after aggregating them and fitting every sweep as the workflow does: {runs, report_s, report_gib, fit_s,
    fit_gib} (the fit's numbers are its slowest sweep's)."""
    import yaml
    from bench_scale import fake_records, study
    from common import run_timed, scalinglab_command

    from scalinglab.config import canonical_json, fit_settings, report_config, run_table_config

    path = folder / f"study{n_runs}.yaml"
    path.write_text(yaml.safe_dump(study(n_runs)))
    config, paths = fake_records(path, folder / "records")
    cli = scalinglab_command()
    run_timed([*cli, "aggregate", "--config-json", canonical_json(run_table_config(config)), "--runs-root",
               paths.runs, "--metrics", paths.metrics, "--curves", paths.curves])
    fits, fit_runs = [], []
    for sweep in config["sweeps"]:
        settings = fit_settings(config, sweep["name"])
        fits.append(paths.fit(sweep["name"], settings["laws"][0]))
        fit_runs.append(run_timed([*cli, "fit", paths.metrics, "--where", f"sweep={sweep['name']}", "--law",
                                   settings["laws"][0], "--x", settings["x"], "--y", settings["y"], "--bootstrap",
                                   str(settings["bootstrap"]), "--out", fits[-1]]))
    wall, peak = run_timed([*cli, "report", "--metrics", paths.metrics, "--curves", paths.curves, "--fits", *fits,
                            "--config-json", canonical_json(report_config(config)), "--out",
                            str(folder / "report.html")])
    import pandas as pd

    return {"runs": len(pd.read_parquet(paths.metrics)), "report_s": wall, "report_gib": peak / 2**30,
            "fit_s": max(w for w, _ in fit_runs), "fit_gib": max(m for _, m in fit_runs) / 2**30}


def lines(mode: str) -> list:
    """Rows of bench/results.md (bench/common.py's Line): mode quick, full or sizes."""
    import tempfile

    from common import growth_exponent, line, scalinglab_command, shell_wall

    quick = mode == "quick"
    out = []
    cli = scalinglab_command()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        table = chinchilla_table(folder)
        shell = {}
        for holdouts, bootstrap, what in (("0", 0, "no bootstrap, no backtest"),
                                          ("1,2,3", 0, "no bootstrap, with the default backtest (3 more fits)"),
                                          ("1,2,3", 1000, "the defaults: 1,000 bootstrap resamples and the backtest")):
            fit_cmd = cli + fit_arguments(table, folder / "f.json", holdouts, bootstrap)
            wall = shell[holdouts, bootstrap] = shell_wall(fit_cmd, repeats=2 if quick else 5)
            goal = ("<=", 1.0) if holdouts == "0" else (None, None)  # #14's goal is for the fit alone
            out.append(line(f"scalinglab fit, Chinchilla 4,500 starts, {what}, from the shell",
                            wall["median"], "s", *goal, detail=wall, command=" ".join(fit_cmd[1:])))
        out.append(_ranking_line(cli, folder, quick))
        # #14 holds the ratio to the FULL scipy loop (about 5 minutes here); quick mode times a subset of it
        m = measure(reference_starts=60 if quick else len(HOFFMANN_GRID))
        timed = ("the full loop" if not m["reference_extrapolated"] else
                 f"extrapolated from {m['reference_starts_timed']} of its starts")
        out.append(line(f"scalinglab fit's fit in process against the scipy L-BFGS-B loop, 4,500 starts ({timed}; "
                        "same optimum)", m["speedup"], "x", ">=", 300.0,
                        reference=f"scipy loop {m['reference_all_starts_s']:.0f} s, ours {m['batched_fit_s']:.2f} s; "
                        f"objectives differ by {m['objective_rel_diff']:.1e}",
                        command="python bench/bench_fit.py --reference-starts 4500"))
        # as the user feels it: Besiroglu et al.'s script is python + pandas + scipy, then the loop
        imports = shell_wall([sys.executable, "-c", "import pandas, scipy.optimize, scipy.special"], repeats=3)
        felt = (imports["median"] + m["reference_all_starts_s"]) / shell["0", 0]["median"]
        out.append(line("scalinglab fit from the shell against the scipy loop as a script (its imports included)", felt,
                        "x", reference=f"scipy script {imports['median'] + m['reference_all_starts_s']:.0f} s, "
                        f"scalinglab fit {shell['0', 0]['median']:.2f} s",
                        command="python bench/run_all.py --only fit"))
        out.append(line("4,000 bootstrap refits of Chinchilla", m["bootstrap_s"], "s", "<=", 5.0,
                        command="python bench/bench_fit.py"))
        sizes = [10_000, 100_000, 1_000_000] if mode == "sizes" else [1_000_000]
        walls = []
        for n in sizes:
            path = _rows_table(n, folder)
            command = cli + ["fit", str(path), "--x", "N", "--y", "loss", "--bootstrap", "0", "--out",
                             str(folder / "big.json")]
            wall, peak, _ = _timed_capped(command, 600)
            walls.append(wall)
            out.append(line(f"scalinglab fit, {n:,} rows of a one-input law, no bootstrap", wall, "s", "<=", 30.0,
                            detail={"peak_gib": peak}, command=" ".join(command[1:])))
        if len(sizes) > 1:
            out.append(line("growth of that fit with rows (cost ~ rows^k)", growth_exponent(sizes, walls), "exponent",
                            "<=", 1.1))
        if not quick:
            command = cli + ["fit", str(_rows_table(1_000_000, folder)), "--x", "N", "--y", "loss", "--out",
                             str(folder / "boot.json")]
            wall, peak, finished = _timed_capped(command, 600)
            out.append(line("scalinglab fit, 1,000,000 rows, default 1,000 resamples: peak memory", peak, "GiB", "<=",
                            2.0, command=" ".join(command[1:])))
            out.append(line("... and its wall time" + ("" if finished else " (stopped at the 600 s goal)"), wall, "s",
                            "<=", 600.0))
        report = report_at(10_000, folder)
        command = "python -c 'import bench_fit; print(bench_fit.report_at(10_000, ...))' (bench/)"
        out.append(line(f"scalinglab report, {report['runs']:,} runs (10 sweeps, their fits and learning curves), "
                        "from the shell", report["report_s"], "s", "<=", 60.0, command=command))
        out.append(line("... its peak memory", report["report_gib"], "GiB", "<=", 2.0, command=command))
        out.append(line("peak memory of `scalinglab fit` of one sweep of that study (bootstrap 100)",
                        report["fit_gib"], "GiB", "<=", 2.0, command=command))
    return out


if __name__ == "__main__":
    sys.exit(main())
