"""Training efficiency, per-step overhead and per-job start-up, against this machine's own matmul peak.

    python bench/bench_train.py [--config config/config.yaml] [--steps 300] [--repeats 3] [--json OUT]
    python bench/run_all.py --only train      # the same lines in bench/results.md

1. Peak: best-of-3 fp32 matmul GFLOP/s on one thread (n = 512, 1024, 2048), measured in this run before and after
   the training measurements; the higher is the reference (the machines are shared: compare figures of one run).
2. Efficiency: the study's largest GPT trains --steps optimizer steps through the real loop
   (`scalinglab.trainers.builtin.train_loop`), after 10 untimed warm-up steps; achieved FLOP/s = measured FLOPs
   (torch.utils.flop_counter) / time in training steps. Goal: >= 65% of the one-core peak.
3. Small models: the smallest GPT's time per step, and the share of it spent outside forward and backward (batch,
   clipping, AdamW, bookkeeping: the per-step Python overhead).
4. The whole-split final evaluation (validation and test) of the largest GPT against its full run's training time.
5. Start-up: `python -m scalinglab.cli train --spec-json ...` of the largest run with 2 steps, as the pipeline starts
   it; `first_step_s` = process start -> end of the first optimizer step (read from /proc by the job). Goal: <= 2 s.
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

EFFICIENCY_GOAL = 0.65
WARMUP_STEPS = 10
FIRST_STEP_GOAL_S = 2.0
COMMAND = "python bench/bench_train.py"


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


def gpt_runs(config_path: str, data_root: Path) -> tuple[dict, dict, Path]:
    """(smallest, largest) GPT run specs of the study (by parameters, CPU) and their prepared dataset folder."""
    from scalinglab import datasets, models
    from scalinglab.config import expand, load_config

    specs = [s for s in expand(load_config(config_path)) if s["model"] == "gpt"]
    if not specs:
        raise SystemExit(f"{config_path} trains no gpt sweep")
    directory = data_root / specs[0]["dataset"] / specs[0]["dataset_id"]  # the workflow's shared cache folder
    meta = datasets.prepare(specs[0]["dataset"], specs[0]["dataset_params"], directory)
    size = lambda s: models.count_params("gpt", models.resolve("gpt", s["architecture"], meta))[0]  # noqa: E731
    smallest, largest = (copy.deepcopy(f(specs, key=size)) for f in (min, max))
    for spec in (smallest, largest):
        spec["device"] = "cpu"
    return smallest, largest, directory


def train_steps(spec: dict, data_dir: Path, out_dir: Path, steps: int):
    """(setup, progress, FLOPs per step, the full run's steps) after WARMUP_STEPS untimed steps and `steps` timed
    steps of the real loop (no evaluations)."""
    from scalinglab.trainers import builtin

    short = copy.deepcopy(spec)
    short["train"] = {**spec["train"], "steps": WARMUP_STEPS + steps, "eval_points": 2, "eval_batches": 1}
    run = builtin.setup(short, data_dir, out_dir)
    planned = builtin.count_steps(spec, spec["train"], run.resolved["context"])  # the full run's
    run.evals = set()  # time the steps alone
    for s in range(WARMUP_STEPS):  # first calls allocate and warm caches: not the steady state a run lives in
        builtin.train_step(run, s)
    progress = builtin.Progress(step=WARMUP_STEPS)
    builtin.train_loop(run, progress)  # times the steps after the warm-up
    return run, progress, builtin.measure_flops_per_step(run), planned


def step_overhead(run, repeats: int = 50) -> tuple[float, float]:
    """(seconds per step, share of it outside forward and backward), best of repeated timings."""
    from scalinglab.trainers import builtin

    x, y = run.batches.train_batch(0)

    def forward_backward():
        _, loss = builtin.compute_loss(run.model, run.batches.task, x, y)
        run.optimizer.zero_grad(set_to_none=True)
        loss.backward()

    def best(fn):
        times = []
        for _ in range(5):
            t = time.perf_counter()
            for i in range(repeats):
                fn(i)
            times.append((time.perf_counter() - t) / repeats)
        return min(times)

    step = best(lambda i: builtin.train_step(run, 100 + i))
    core = best(lambda i: forward_backward())
    return step, max(0.0, 1 - core / step)


def whole_split_evaluation_s(run) -> float:
    from scalinglab.trainers import builtin

    t = time.perf_counter()
    for split in ("val", "test"):
        builtin.evaluate(run.model, run.batches, split, whole=True)
    return time.perf_counter() - t


def job_start_up(spec: dict, data_dir: Path, tmp: Path, repeats: int) -> tuple[list[float], float]:
    """(first_step_s of each job, a bare `import torch` in seconds)."""
    job = copy.deepcopy(spec)
    job["train"] = {**job["train"], "steps": 2, "eval_points": 2}
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "PYTHONPATH": str(REPO / "workflow") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    firsts = []
    for i in range(repeats):
        out = tmp / f"job{i}"
        subprocess.run([sys.executable, "-m", "scalinglab.cli", "train", "--spec-json", json.dumps(job),
                        "--data-dir", str(data_dir), "--out-dir", str(out)], check=True, env=env,
                       stdout=subprocess.DEVNULL)
        firsts.append(json.loads((out / "run.json").read_text())["metrics"]["first_step_s"])
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import torch"], check=True, env=env)
    return firsts, time.perf_counter() - t


def measure(config: str, data_root: Path, steps: int, repeats: int) -> dict:
    import torch

    torch.set_num_threads(1)
    smallest, largest, data_dir = gpt_runs(config, data_root)
    peak_before = matmul_peak_gflops()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        run, progress, flops, planned = train_steps(largest, data_dir, tmp / "large", steps)
        timed_steps = progress.step - WARMUP_STEPS
        achieved = flops * timed_steps / progress.train_s / 1e9
        eval_s = whole_split_evaluation_s(run)
        large_step_s = progress.train_s / timed_steps
        small_run, small_progress, small_flops, _ = train_steps(smallest, data_dir, tmp / "small", steps)
        small_step_s, small_overhead = step_overhead(small_run)
        peak_after = matmul_peak_gflops()
        firsts, torch_import = job_start_up(largest, data_dir, tmp, repeats)
    peak = max(max(peak_before.values()), max(peak_after.values()))  # the higher: a conservative fraction
    return {
        "largest": largest["run_path"], "smallest": smallest["run_path"], "peak_gflops": peak,
        "peak_before": peak_before, "peak_after": peak_after, "achieved_gflops": achieved,
        "fraction_of_peak": achieved / peak, "large_step_ms": large_step_s * 1e3,
        "eval_s": eval_s, "eval_fraction": eval_s / (planned * large_step_s), "planned_steps": planned,
        "small_step_ms": small_step_s * 1e3, "small_overhead": small_overhead,
        "small_fraction_of_peak": small_flops / small_step_s / 1e9 / peak,
        "first_step_s": firsts, "import_torch_s": torch_import,
    }


def lines(mode: str) -> list:
    """The training rows of bench/results.md (bench/run_all.py)."""
    from common import line

    r = measure(str(REPO / "config" / "config.yaml"), REPO / "results" / "data",
                steps=100 if mode == "quick" else 300, repeats=1 if mode == "quick" else 3)
    peak = f"one-core fp32 matmul peak {r['peak_gflops']:.0f} GFLOP/s"
    return [
        line(f"training FLOP/s of the largest default GPT ({r['largest']}), share of the peak",
             100 * r["fraction_of_peak"], "%", ">=", 100 * EFFICIENCY_GOAL, reference=peak, command=COMMAND),
        line(f"smallest default GPT ({r['smallest']}): time per step outside forward and backward", 100 *
             r["small_overhead"], "%", reference=f"{r['small_step_ms']:.2f} ms per step", command=COMMAND),
        line("whole-split final evaluation (val + test) of the largest GPT, against its run's training time",
             100 * r["eval_fraction"], "%", reference=f"{r['eval_s']:.1f} s against {r['planned_steps']} steps x "
             f"{r['large_step_ms']:.1f} ms", command=COMMAND),
        line("training job start-up: process start to the first optimizer step (median)",
             statistics.median(r["first_step_s"]), "s", "<=", FIRST_STEP_GOAL_S,
             reference=f"bare `import torch` {r['import_torch_s']:.2f} s", command=COMMAND),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", default=str(REPO / "config" / "config.yaml"))
    parser.add_argument("--steps", type=int, default=300, help="optimizer steps for the efficiency measurement")
    parser.add_argument("--repeats", type=int, default=3, help="job start-ups to time")
    parser.add_argument("--data-root", default=str(REPO / "results" / "data"),
                        help="prepared datasets (reused when their parameters match, else generated here)")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args()
    r = measure(args.config, Path(args.data_root), args.steps, args.repeats)
    print("fp32 matmul, 1 thread, GFLOP/s: before " + ", ".join(f"n={n}: {v:.0f}" for n, v in r["peak_before"].items())
          + "; after " + ", ".join(f"n={n}: {v:.0f}" for n, v in r["peak_after"].items()))
    print(f"largest GPT {r['largest']}: {r['achieved_gflops']:.1f} GFLOP/s measured, {r['fraction_of_peak']:.0%} of "
          f"the one-core peak (goal >= {EFFICIENCY_GOAL:.0%}); {r['large_step_ms']:.1f} ms per step")
    print(f"smallest GPT {r['smallest']}: {r['small_step_ms']:.2f} ms per step, {r['small_overhead']:.0%} of it "
          f"outside forward and backward; {r['small_fraction_of_peak']:.0%} of the peak")
    print(f"whole-split final evaluation of the largest GPT: {r['eval_s']:.1f} s = {r['eval_fraction']:.1%} of its "
          f"{r['planned_steps']}-step run's training time")
    print(f"per-job start-up: process start -> first optimizer step {statistics.median(r['first_step_s']):.2f} s "
          f"(median of {args.repeats}: " + ", ".join(f"{v:.2f}" for v in r["first_step_s"])
          + f"); `import torch` alone {r['import_torch_s']:.2f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(r, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
