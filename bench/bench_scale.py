"""Bookkeeping at 1,000 to 100,000 runs: the Snakemake DAG against its floor, aggregation, report and paper figures,
and the peak memory of each step.

    python bench/bench_scale.py                 # 1,000 and 10,000 runs
    python bench/bench_scale.py --sizes         # also 100,000 runs, with growth exponents (~8-10 min idle)
    python bench/bench_scale.py --runs 10000 --repeats 3

`snakemake -n` on a study of N runs is timed against a minimal Snakefile with the same number of jobs (one data rule,
one wildcard rule with a lambda param, one aggregate: Snakemake's own floor), alternating the two, best of the
repeats: the machines are shared, so only the ratio of two figures from the same run means much. Synthetic run.json
files (losses on a known law) stand in for training; aggregation, fit and report read them as they read real ones,
from the shell, and their peak memory is the child process's own.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
import tempfile
import time
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
REPO = HERE.parent
sys.path.insert(0, str(REPO / "workflow"))

from common import growth_exponent, line, run_timed, scalinglab_command  # noqa: E402

DAG_GOAL = 1.2  # snakemake -n at 10,000 runs, against the floor
AGGREGATE_GOAL_S = 3.0  # 10,000 run records
MEMORY_GOAL_GIB = 2.0  # aggregate, fit, report and paper figures at 10,000 runs
FIGURES_GOAL_S = 60.0  # the paper figures of 10,000 runs (bench_fit times the report)
# Linear growth, up to the noise of one timing per size on a shared machine: cost ~ n^k from 1,000 to 100,000 runs.
GROWTH_GOAL = 1.1
COMMAND = "python bench/bench_scale.py"

FLOOR = '''
import os
N = int(os.environ["NRUNS"])
IDS = [f"s{i % 10}/r{i}" for i in range(N)]

rule all:
    input: "agg.txt"

rule data:
    output: "data.txt"
    shell: "touch {output}"

rule train:
    input: "data.txt"
    output: "runs/{run}/run.json"
    params: spec=lambda w: w.run
    shell: "touch {output}"

rule aggregate:
    input: expand("runs/{run}/run.json", run=IDS)
    output: "agg.txt"
    shell: "touch {output}"
'''


def study(n_runs: int) -> dict:
    """About n_runs runs: 10 GPT sweeps x sizes x budgets x 2 seeds (sizes and budgets grow together, as studies
    grow; at least 3 sizes, a saturating power law's parameters), from config/test.yaml's sweep."""
    sizes = max(3, math.ceil(math.sqrt(n_runs / 20)))
    budgets = max(1, round(n_runs / (20 * sizes)))
    base = yaml.safe_load((REPO / "config" / "test.yaml").read_text())
    gpt = base["sweeps"][0]
    base["study"] = f"scale{n_runs}"
    base["sweeps"] = [{**gpt, "name": f"sweep{i}", "sizes": [{"d_model": 8 + j} for j in range(sizes)],
                       "seeds": [0, 1], "budgets": [100_000 + 1_000 * k for k in range(budgets)]}
                      for i in range(10)]
    base["fit"] = {"laws": ["saturating_power"], "x": "n_params", "y": "final_val_loss", "bootstrap": 100}
    return base


def snakemake_dry_run(snakefile: Path, workdir: Path, extra: list[str], env: dict | None = None) -> tuple[float, float]:
    """(wall, CPU) seconds of `snakemake -n -q` in a fresh working directory (nothing prepared, nothing trained).
    The CPU seconds (user + system of the child) say the same on a loaded machine, where the wall time does not."""
    import os
    import resource

    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    command = [sys.executable, "-m", "snakemake", "-n", "-q", "--cores", "2", "--snakefile", str(snakefile),
               "--directory", str(workdir), *extra]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall, _ = run_timed(command, cwd=REPO, env={**os.environ, **(env or {})})
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def dag_ratio(n_runs: int, tmp: Path, repeats: int) -> dict:
    """Our dry run and the floor's, alternated, best of `repeats` each."""
    from scalinglab.config import expand, validate_config

    config = study(n_runs)
    tmp.mkdir(parents=True, exist_ok=True)
    path = tmp / f"study{n_runs}.yaml"
    path.write_text(yaml.safe_dump(config))
    jobs = len(expand(validate_config(json.loads(json.dumps(config)))))
    floor = tmp / "floor.smk"
    floor.write_text(FLOOR)
    ours, minimal = [], []
    for _ in range(repeats):
        ours.append(snakemake_dry_run(REPO / "Snakefile", tmp / "ours", ["--configfile", str(path)]))
        minimal.append(snakemake_dry_run(floor, tmp / "floor", [], env={"NRUNS": str(jobs)}))
    return {"runs": jobs, "ours_s": min(wall for wall, _ in ours), "floor_s": min(wall for wall, _ in minimal),
            "ours_cpu_s": min(cpu for _, cpu in ours), "floor_cpu_s": min(cpu for _, cpu in minimal), "config": path}


def fake_records(config_path: Path, workdir: Path) -> tuple[list[dict], Path]:
    """run.json files of every run of the study, losses on L = 1.5 + 30 N^-0.35 with 1% noise."""
    import random

    from scalinglab.config import StudyPaths, load_study

    config, specs, _ = load_study(config_path, run_checks=False)
    paths = StudyPaths(config["study"], str(workdir / "results"))
    rng = random.Random(0)
    for spec in specs:
        d = spec["architecture"]["d_model"]
        n = 12 * d * d + 13 * d + 2 * d + 82 * d + 32 * d
        loss = (1.5 + 30 * n ** -0.35) * (1 + 0.01 * rng.gauss(0, 1))
        steps = spec["budget"] // (16 * 32)
        metrics = {"status": "ok", "n_params": n, "n_params_nonembedding": n - 114 * d, "tokens_seen": steps * 512,
                   "flops_6nd": 6.0 * n * steps * 512, "flops": 7.0 * n * steps * 512, "steps": steps,
                   "final_val_loss": loss, "test_loss": loss, "best_val_loss": loss, "best_val_step": steps,
                   "test_loss_at_best_val": loss, "val_accuracy": 0.3, "error": None, "divergence_rule": None,
                   "diverged_step": None, "wall_s": 10.0, "train_s": 9.0, "resolved_d_model": d}
        curve = [{"step": s, "tokens": s * 512, "flops": 7.0 * n * s * 512, "train_loss": loss * (1 + 1 / s),
                  "val_loss": loss * (1 + 1 / s), "lr": 0.01} for s in (1, 3, 10, 30, 100, steps)]
        record = {"spec": spec, "metrics": metrics, "curve": curve, "env": {"python": "3.11", "hostname": "bench"},
                  "started_at": "2026-11-28T16:26:40Z", "finished_at": "2026-11-28T16:26:50Z"}
        file = Path(paths.run_file(spec["run_path"]))
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(json.dumps(record))
    return config, paths


def downstream(config_path: Path, tmp: Path, repeats: int = 1, paper: bool = True) -> dict:
    """Aggregation, one fit, the report and (`paper`) the paper figures of a study's synthetic records, each from
    the shell: wall and peak RSS (aggregation: the best of `repeats`, as the dry runs)."""
    from scalinglab.config import canonical_json, fit_settings, report_config, run_table_config

    workdir = tmp / "records"
    shutil.rmtree(workdir, ignore_errors=True)
    config, paths = fake_records(config_path, workdir)
    scalinglab = scalinglab_command()
    out = {}
    aggregate = [*scalinglab, "aggregate", "--config-json", canonical_json(run_table_config(config)), "--runs-root",
                 paths.runs, "--metrics", paths.metrics, "--curves", paths.curves]
    out["aggregate"] = min((run_timed(aggregate) for _ in range(repeats)), key=lambda timed: timed[0])
    sweep = config["sweeps"][0]["name"]
    settings = fit_settings(config, sweep)
    fit = str(workdir / "fit.json")
    out["fit"] = run_timed([*scalinglab, "fit", paths.metrics, "--where", f"sweep={sweep}", "--law",
                            settings["laws"][0], "--x", settings["x"], "--y", settings["y"], "--bootstrap",
                            str(settings["bootstrap"]), "--out", fit])
    out["report"] = run_timed([*scalinglab, "report", "--metrics", paths.metrics, "--curves", paths.curves,
                               "--fits", fit, "--config-json", canonical_json(report_config(config)),
                               "--out", str(workdir / "report.html")])
    if not paper:
        return out
    out["paper-figures"] = run_timed([*scalinglab, "paper-figures", "--metrics", paths.metrics, "--curves",
                                      paths.curves, "--fits", fit, "--config-json",
                                      canonical_json(report_config(config)), "--out-dir", str(workdir / "figures")])
    return out


def measure(n_runs: int, tmp: Path, repeats: int, records: bool) -> dict:
    """The dry runs at n_runs and, with `records`, the steps downstream of training (the paper figures only at
    10,000 runs, where their line is); with the seconds this size took, to size the sizes mode."""
    start = time.perf_counter()
    result = dag_ratio(n_runs, tmp, repeats)
    if records:
        for step, (wall, rss) in downstream(result["config"], tmp, repeats, paper=n_runs == 10_000).items():
            result[f"{step}_s"], result[f"{step}_gib"] = wall, rss / 2**30
    result["elapsed_s"] = time.perf_counter() - start
    print(f"   ({n_runs:,} runs measured in {result['elapsed_s']:.0f} s)", flush=True)
    return result


def lines(mode: str) -> list:
    """The bookkeeping rows of bench/results.md (bench/run_all.py)."""
    sizes = [1000, 10_000, 100_000] if mode == "sizes" else [1000, 10_000]
    repeats = 1 if mode == "quick" else 3
    with tempfile.TemporaryDirectory() as tmp:
        results = {n: measure(n, Path(tmp) / str(n), repeats if n <= 10_000 else 1, records=n == 10_000 or
                              mode == "sizes") for n in sizes}
    rows = []
    for n, r in results.items():
        ratio = r["ours_s"] / r["floor_s"]
        reference = (f"minimal Snakefile with the same {r['runs']:,} jobs: {r['floor_s']:.1f} s; "
                     f"ours {r['ours_s']:.1f} s (CPU: {r['floor_cpu_s']:.1f} s and {r['ours_cpu_s']:.1f} s, "
                     f"{r['ours_cpu_s'] / r['floor_cpu_s']:.2f}x)")
        goal = ("<=", DAG_GOAL) if n == 10_000 else (None, None)
        rows.append(line(f"`snakemake -n`, {r['runs']:,} runs, against Snakemake's floor", ratio, "x", *goal,
                         reference=reference, command=COMMAND))
    ten = results[10_000]
    rows.append(line(f"aggregate {ten['runs']:,} run records (`scalinglab aggregate`, from the shell)",
                     ten["aggregate_s"], "s", "<=", AGGREGATE_GOAL_S, command=COMMAND))
    # the report's own line (every sweep fitted, as the workflow does) is bench_fit's
    rows.append(line(f"`scalinglab paper-figures` of {ten['runs']:,} runs (from the shell)", ten["paper-figures_s"],
                     "s", "<=", FIGURES_GOAL_S, command=COMMAND))
    for step in ("aggregate", "fit", "report", "paper-figures"):
        rows.append(line(f"peak memory of `scalinglab {step}` at {ten['runs']:,} runs", ten[f"{step}_gib"], "GiB",
                         "<=", MEMORY_GOAL_GIB, command=COMMAND))
    if mode == "sizes":
        rows += growth_lines(list(results.values()))
    return rows


def growth_lines(results: list[dict]) -> list:
    """k in cost ~ n^k per step, from the sizes' wall times; the floor's k is the reference ours is read against.
    The dry runs' k from CPU seconds too: on a loaded machine a wall time at 100,000 runs says more about the load
    (one 2-core run at load 7: k = 1.39 by wall, 0.81 by CPU)."""
    runs = [r["runs"] for r in results]
    rows = []
    for what, key, goal in (("`snakemake -n`", "ours_s", ("<=", GROWTH_GOAL)), ("Snakemake's floor", "floor_s",
                            (None, None)), ("`scalinglab aggregate`", "aggregate_s", ("<=", GROWTH_GOAL)),
                            ("`scalinglab report`", "report_s", ("<=", GROWTH_GOAL))):
        k = growth_exponent(runs, [r[key] for r in results])
        reference = ", ".join(f"{r['runs']:,}: {r[key]:.1f} s" for r in results)
        cpu = key.replace("_s", "_cpu_s")
        if cpu in results[0]:
            reference += (f"; by CPU seconds k = {growth_exponent(runs, [r[cpu] for r in results]):.2f} ("
                          + ", ".join(f"{r[cpu]:.1f} s" for r in results) + ")")
        rows.append(line(f"growth of {what} from {runs[0]:,} to {runs[-1]:,} runs (cost ~ n^k)", k, "exponent",
                         *goal, reference=reference, command=f"{COMMAND} --sizes"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", action="store_true", help="also 100,000 runs, with growth exponents")
    parser.add_argument("--quick", action="store_true", help="one repeat")
    args = parser.parse_args()
    start = time.perf_counter()
    for row in lines("sizes" if args.sizes else "quick" if args.quick else "full"):
        verdict = "" if row.ok is None else ("ok" if row.ok else "MISSED")
        print(f"{row.name}: {row.value:.3g} {row.unit} {row.goal} {verdict}  [{row.reference}]")
    print(f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
