"""Training efficiency and per-job overhead, measured against this machine's own matmul peak.

    python bench/bench_train.py [--config config/config.yaml] [--steps 300] [--repeats 3] [--json OUT]

1. Peak: best-of-3 fp32 matmul GFLOP/s on one thread (n = 512, 1024, 2048), measured in this run before and after
   the training measurement; the higher of the two is the reference (the machines are shared: compare figures from
   the same run only).
2. Efficiency: the largest model of the study (most parameters) trains for --steps optimizer steps through the real
   `scalinglab.trainers.builtin.run_training`; achieved FLOP/s = measured FLOPs (torch.utils.flop_counter) / time in
   training steps. Goal: >= 50% of the single-core peak.
3. Overhead: `python -m scalinglab.cli train --spec-json ...` of that run with 2 steps, as the pipeline starts it;
   `first_step_s` = process start -> end of the first optimizer step (read from /proc by the job). Goal: <= 2 s.
   Also the whole 2-step job's wall time (start-up + final evaluation + FLOP count + run.json).
Not a test: timings vary with machine load.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow"))


def matmul_peak_gflops(sizes=(512, 1024, 2048), repeats=3) -> dict:
    import torch

    torch.set_num_threads(1)
    out = {}
    for n in sizes:
        a, b = torch.randn(n, n), torch.randn(n, n)
        a @ b  # warm-up
        reps = max(1, int(2e9 / (2 * n**3)))
        best = 0.0
        for _ in range(repeats):
            t = time.perf_counter()
            for _ in range(reps):
                a @ b
            best = max(best, 2 * n**3 * reps / (time.perf_counter() - t) / 1e9)
        out[n] = best
    return out


def largest_run(config_path: str, data_root: Path) -> tuple[dict, Path]:
    from scalinglab import datasets, models
    from scalinglab.config import expand, load_config

    specs = expand(load_config(config_path))
    best, best_n = None, -1
    metas = {}
    for spec in specs:
        if spec["dataset"] not in metas:
            directory = data_root / spec["dataset"] / spec["dataset_id"]  # the workflow's shared cache folder
            metas[spec["dataset"]] = datasets.prepare(spec["dataset"], spec["dataset_params"], directory)
        resolved = models.resolve(spec["model"], spec["architecture"], metas[spec["dataset"]])
        n = models.count_params(spec["model"], resolved)[0]
        if n > best_n:
            best, best_n = spec, n
    return best, data_root / best["dataset"] / best["dataset_id"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", default=str(REPO / "config" / "config.yaml"))
    parser.add_argument("--steps", type=int, default=300, help="optimizer steps for the efficiency measurement")
    parser.add_argument("--repeats", type=int, default=3, help="job start-ups to time")
    parser.add_argument("--data-root", default=str(REPO / "results" / "data"),
                        help="prepared datasets (reused when their parameters match, else generated here)")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args()

    from scalinglab.trainers.builtin import run_training

    spec, data_dir = largest_run(args.config, Path(args.data_root))
    spec = copy.deepcopy(spec)
    spec["device"] = "cpu"
    print(f"largest run of {args.config}: {spec['run_path']} ({spec['model']}, {spec['architecture']})")

    peak = matmul_peak_gflops()
    peak_1t = max(peak.values())
    print("fp32 matmul, 1 thread, GFLOP/s: " + ", ".join(f"n={n}: {v:.0f}" for n, v in peak.items()))

    with tempfile.TemporaryDirectory() as tmp:
        bench = copy.deepcopy(spec)
        bench["train"] = {**bench["train"], "steps": args.steps, "eval_points": 2, "eval_batches": 1}
        metrics = run_training(bench, data_dir, Path(tmp) / "efficiency")["metrics"]
        after = matmul_peak_gflops()
        print("fp32 matmul peak again after training: " + ", ".join(f"n={n}: {v:.0f}" for n, v in after.items()))
        peak_1t = max(peak_1t, max(after.values()))  # the higher peak: a conservative fraction on a shared machine
        achieved = metrics["flops_per_s"] / 1e9
        analytic = metrics["flops_6nd"] / metrics["train_s"] / 1e9
        print(f"training: {metrics['steps']} steps in {metrics['train_s']:.2f} s, "
              f"{metrics['throughput']:.0f} {spec['budget_unit']}/s, n_params {metrics['n_params']}")
        print(f"achieved: {achieved:.1f} GFLOP/s measured ({achieved / peak_1t:.0%} of the 1-thread peak); "
              f"6ND-based {analytic:.1f} GFLOP/s ({analytic / peak_1t:.0%})")

        job = copy.deepcopy(spec)
        job["train"] = {**job["train"], "steps": 2, "eval_points": 2}
        firsts, walls = [], []
        env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
               "PYTHONPATH": str(REPO / "workflow") + os.pathsep + os.environ.get("PYTHONPATH", "")}
        for i in range(args.repeats):
            out = Path(tmp) / f"job{i}"
            t = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "scalinglab.cli", "train", "--spec-json", json.dumps(job),
                 "--data-dir", str(data_dir), "--out-dir", str(out)],
                check=True, env=env, stdout=subprocess.DEVNULL,
            )
            walls.append(time.perf_counter() - t)
            firsts.append(json.loads((out / "run.json").read_text())["metrics"]["first_step_s"])
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import torch"], check=True, env=env)
        torch_import = time.perf_counter() - t
    first = statistics.median(firsts)
    print(f"per-job overhead: process start -> first optimizer step {first:.2f} s (median of {args.repeats}: "
          + ", ".join(f"{v:.2f}" for v in firsts) + f"); whole 2-step job {statistics.median(walls):.2f} s; "
          f"`import torch` alone {torch_import:.2f} s")
    goals = {"efficiency >= 50% of 1-thread peak": achieved / peak_1t >= 0.5, "first step <= 2 s": first <= 2.0}
    for goal, met in goals.items():
        print(f"  goal {goal}: {'met' if met else 'NOT met'}")
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "run_path": spec["run_path"],
                    "peak_gflops_1thread": peak,
                    "peak_gflops_1thread_after": after,
                    "achieved_gflops": achieved,
                    "fraction_of_peak": achieved / peak_1t,
                    "gflops_6nd": analytic,
                    "first_step_s": firsts,
                    "job_wall_s": walls,
                    "import_torch_s": torch_import,
                    "train_metrics": metrics,
                },
                indent=1,
                default=str,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
