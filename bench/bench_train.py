"""Training efficiency, per-step overhead and per-job start-up, against this machine's own references.

    python bench/bench_train.py [--config config/config.yaml] [--rounds 12] [--chunk 10] [--repeats 5] [--json OUT]
    python bench/run_all.py --only train      # the same lines in bench/results.md (measured by this script, run
                                              # as a process of its own, as a training job is)

1. Efficiency: the study's largest GPT trains through the real loop (`scalinglab.trainers.builtin.train_loop`), after
   10 untimed warm-up steps, in `rounds` stretches of `chunk` optimizer steps; before each stretch, and once after
   the last, the one-core fp32 matmul peak is measured (best of 3, n = 512, 1024, 2048). Achieved FLOP/s = measured
   FLOPs per step (torch.utils.flop_counter, attention included) x steps / time in the stretch. The share of the
   peak is the best stretch against the best peak sample (a stretch of 10 steps lasts about as long as a peak
   sample, so both bests come from windows alike); interleaving the two keeps a shared machine's load from
   landing on one side only (the median stretch against the median peak is printed too). Both are timed in the
   process's CPU time (time.process_time), so that other processes' time slices count on neither side. Goal: >= 65%.
   The same stretch is also given against the run's analytic count, `flops_6nd` (Kaplan et al.'s 6 D (N +
   n_layer context d_model), the metrics' column): it leaves out the tied output head and the masked half of
   attention, which the measured count includes, as well as the scores the attention kernel recomputes in its
   backward (torch's counter counts them), so it is the lower of the two conventions.
2. Small models: the smallest GPT's and the smallest model's (an MLP of the default study) time per step, and the
   share of it spent outside forward and backward (batch, clipping, AdamW, learning rate, loss bookkeeping: the
   per-step Python overhead), best of repeated timings.
3. The whole-split final evaluation (validation and test) of the largest GPT against its full run's training time.
4. Start-up: `scalinglab train --spec-json ...` of a tiny run (the smallest GPT, 2 steps, on splits of 1%) from the
   shell, as the pipeline starts a job, against `python -c pass` and `python -c "import torch"` timed in the same
   run (median of `repeats` after one warm-up); and `first_step_s` from its run.json (process start -> end of the
   first optimizer step, read from /proc by the job). Goal: first step <= 2 s.
Not a test: timings vary with machine load; compare the ratios.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
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
# the environment the workflow gives a training job on one core (workflow/rules/train.smk)
ONE_CORE_JOB = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
# In-process figures are CPU time of this process: on a shared machine the time slices other processes take fall
# out of both sides of a ratio (wall time would charge them to whichever side they landed on). Start-up is wall time.
clock = time.process_time


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
            t = clock()
            for _ in range(reps):
                a @ b
            best = max(best, 2 * n**3 * reps / (clock() - t) / 1e9)
        out[n] = best
    return out


def study_runs(config_path: str, data_root: Path, model: str = "gpt") -> tuple[dict, dict, Path]:
    """(smallest, largest) run specs of the study's `model` family (by parameters, CPU) and their prepared dataset
    folder (the first such sweep's dataset, in the workflow's cache folder)."""
    from scalinglab import datasets, models
    from scalinglab.config import expand, load_config

    specs = [s for s in expand(load_config(config_path)) if s["model"] == model]
    if not specs:
        raise SystemExit(f"{config_path} trains no {model} sweep")
    specs = [s for s in specs if s["dataset_id"] == specs[0]["dataset_id"]]
    directory = data_root / specs[0]["dataset"] / specs[0]["dataset_id"]  # the workflow's shared cache folder
    meta = datasets.prepare(specs[0]["dataset"], specs[0]["dataset_params"], directory)
    size = lambda s: models.count_params(model, models.resolve(model, s["architecture"], meta))[0]  # noqa: E731
    smallest, largest = (copy.deepcopy(f(specs, key=size)) for f in (min, max))
    for spec in (smallest, largest):
        spec["device"] = "cpu"
    return smallest, largest, directory


def start_run(spec: dict, data_dir: Path, out_dir: Path):
    """(run, progress, FLOPs per step, the full run's steps): the run set up without evaluations, after
    WARMUP_STEPS untimed steps (first calls allocate and warm caches: not the steady state a run lives in)."""
    from scalinglab.trainers import builtin

    run = builtin.setup(spec, data_dir, out_dir)
    planned = run.steps
    run.evals = set()  # time the steps alone
    for s in range(WARMUP_STEPS):
        builtin.train_step(run, s)
    return run, builtin.Progress(step=WARMUP_STEPS), builtin.measure_flops_per_step(run), planned


def analytic_flops_per_step(run) -> float:
    """The run's `flops_6nd` for one step: 6 x tokens (or samples) per step x (N + the attention term)."""
    from scalinglab.flops import flops_6nd

    return flops_6nd(run.spec["model"], run.resolved, run.n_params, run.n_params_nonembedding, run.per_step_units)


def train_stretch(run, progress, steps: int) -> float:
    """CPU seconds of `steps` more optimizer steps through the real loop (its host syncs and bookkeeping included)."""
    from scalinglab.trainers import builtin

    run.steps = progress.step + steps  # the loop stops there; only the learning rate's schedule reads it
    start = clock()
    builtin.train_loop(run, progress)
    return clock() - start


def interleaved_efficiency(run, progress, flops: int, rounds: int, chunk: int) -> dict:
    """Achieved GFLOP/s of `rounds` stretches of `chunk` steps, with a matmul peak sample before each and after the
    last one."""
    peaks, rates, step_s = [], [], []
    for _ in range(rounds):
        peaks.append(max(matmul_peak_gflops().values()))
        seconds = train_stretch(run, progress, chunk)
        rates.append(flops * chunk / seconds / 1e9)
        step_s.append(seconds / chunk)
    peaks.append(max(matmul_peak_gflops().values()))
    return {"peaks": peaks, "rates": rates, "peak_gflops": max(peaks), "achieved_gflops": max(rates),
            "fraction_of_peak": max(rates) / max(peaks),
            "median_fraction": statistics.median(rates) / statistics.median(peaks), "step_s": min(step_s)}


def step_overhead(run, rounds: int = 9, repeats: int = 30) -> tuple[float, float]:
    """(seconds per step, share of it outside forward and backward): the best of `rounds` timings of `repeats` whole
    steps and of as many forward-backward passes on the same steps' batches (drawn beforehand), the two taken in
    turns so that load falls on both alike. A loop of forward-backward passes alone keeps less code hot than whole
    steps do, so the share is an upper bound of the work outside them."""
    from scalinglab.trainers import builtin

    batches = [run.batches.train_batch(100 + i) for i in range(repeats)]

    def forward_backward(i):
        _, loss = builtin.compute_loss(run.model, run.batches.task, *batches[i])
        run.optimizer.zero_grad(set_to_none=True)
        loss.backward()

    def step(i):
        builtin.train_step(run, 100 + i)

    best = {step: float("inf"), forward_backward: float("inf")}
    for _ in range(rounds):
        for fn in best:
            t = clock()
            for i in range(repeats):
                fn(i)
            best[fn] = min(best[fn], (clock() - t) / repeats)
    return best[step], max(0.0, 1 - best[forward_backward] / best[step])


def whole_split_evaluation_s(run) -> float:
    from scalinglab.trainers import builtin

    t = clock()
    for split in ("val", "test"):
        builtin.evaluate(run.model, run.batches, split, whole=True)
    return clock() - t


def tiny_job(spec: dict, tmp: Path) -> tuple[dict, Path]:
    """The smallest GPT for 2 steps on shakespeare_char with 1% validation and test splits (prepared in tmp)."""
    from scalinglab import datasets

    params = {**spec["dataset_params"], "val_fraction": 0.01, "test_fraction": 0.01}
    data_dir = tmp / "tiny_data"
    datasets.prepare(spec["dataset"], params, data_dir)
    job = copy.deepcopy(spec)
    job["dataset_params"] = params
    job["train"] = {**job["train"], "steps": 2, "eval_points": 2, "eval_batches": 1}
    return job, data_dir


def job_start_up(spec: dict, tmp: Path, repeats: int) -> dict:
    """Wall seconds of `scalinglab train` of a tiny run from the shell (each into a fresh folder), of `python -c
    pass` and of `python -c "import torch"`, medians of `repeats` after one warm-up each; the jobs' first_step_s."""
    from common import run_timed, scalinglab_command, shell_wall

    job, data_dir = tiny_job(spec, tmp)
    env = {**os.environ, **ONE_CORE_JOB}
    command = [*scalinglab_command(), "train", "--spec-json", json.dumps(job), "--data-dir", str(data_dir)]
    walls, firsts = [], []
    for i in range(repeats + 1):  # the first one warms the page cache, as the pipeline's second job finds it
        out = tmp / f"job{i}"
        wall = run_timed([*command, "--out-dir", str(out)], cwd=REPO, env=env)[0]
        if i:
            walls.append(wall)
            firsts.append(json.loads((out / "run.json").read_text())["metrics"]["first_step_s"])
    python = shell_wall([sys.executable, "-c", "pass"], repeats=repeats, env=env)
    torch_import = shell_wall([sys.executable, "-c", "import torch"], repeats=repeats, env=env)
    return {"job_s": statistics.median(walls), "job_all": walls, "first_step_s": statistics.median(firsts),
            "first_step_all": firsts, "python_s": python["median"], "import_torch_s": torch_import["median"]}


def measure(config: str, data_root: Path, rounds: int, chunk: int, repeats: int) -> dict:
    import torch

    torch.set_num_threads(1)
    smallest, largest, data_dir = study_runs(config, data_root)
    mlp, _, mlp_data_dir = study_runs(config, data_root, "mlp")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        run, progress, flops, planned = start_run(largest, data_dir, tmp / "large")
        efficiency = interleaved_efficiency(run, progress, flops, rounds, chunk)
        eval_s = whole_split_evaluation_s(run)
        small_run, _, small_flops, _ = start_run(smallest, data_dir, tmp / "small")
        small_step_s, small_overhead = step_overhead(small_run)
        mlp_run = start_run(mlp, mlp_data_dir, tmp / "mlp")[0]
        mlp_step_s, mlp_overhead = step_overhead(mlp_run, repeats=300)
        start_up = job_start_up(smallest, tmp, repeats)
        analytic = analytic_flops_per_step(run)
    return {
        "largest": largest["run_path"], "smallest": smallest["run_path"], **efficiency,
        "flops_per_step": flops, "flops_6nd_per_step": analytic,
        "fraction_of_peak_6nd": efficiency["fraction_of_peak"] * analytic / flops,
        "large_step_ms": efficiency["step_s"] * 1e3,
        "eval_s": eval_s, "eval_fraction": eval_s / (planned * efficiency["step_s"]), "planned_steps": planned,
        "small_step_ms": small_step_s * 1e3, "small_overhead": small_overhead, "mlp": mlp["run_path"],
        "mlp_step_ms": mlp_step_s * 1e3, "mlp_overhead": mlp_overhead,
        "small_fraction_of_peak": small_flops / small_step_s / 1e9 / efficiency["peak_gflops"], **start_up,
    }


def measure_in_fresh_process(rounds: int, chunk: int, repeats: int) -> dict:
    """`measure` of the default study by this script in a process of its own, as a training job has one: started
    with a one-core job's environment and, as `scalinglab train` does, malloc's settings (allocator); not inside
    bench/run_all.py's process, whose heap and thread pools the sections before it have already shaped."""
    import subprocess

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "train.json"
        command = [sys.executable, __file__, "--rounds", str(rounds), "--chunk", str(chunk), "--repeats",
                   str(repeats), "--json", str(out)]
        subprocess.run(command, check=True, cwd=REPO, env={**os.environ, **ONE_CORE_JOB})
        return json.loads(out.read_text())


def lines(mode: str) -> list:
    """The training rows of bench/results.md (bench/run_all.py)."""
    from common import line

    quick = mode == "quick"
    r = measure_in_fresh_process(rounds=6 if quick else 12, chunk=10, repeats=2 if quick else 5)
    peak = (f"one-core fp32 matmul peak {r['peak_gflops']:.0f} GFLOP/s, sampled between the stretches (median "
            f"stretch / median peak: {100 * r['median_fraction']:.0f}%); FLOPs measured by torch's counter, "
            f"{r['flops_per_step'] / 1e9:.3f} G a step (by the analytic flops_6nd, "
            f"{r['flops_6nd_per_step'] / 1e9:.3f} G: {100 * r['fraction_of_peak_6nd']:.1f}%)")
    return [
        line(f"training FLOP/s of the largest default GPT ({r['largest']}), share of the peak",
             100 * r["fraction_of_peak"], "%", ">=", 100 * EFFICIENCY_GOAL, reference=peak, command=COMMAND),
        line(f"smallest default GPT ({r['smallest']}): time per step outside forward and backward", 100 *
             r["small_overhead"], "%", reference=f"{r['small_step_ms']:.2f} ms per step", command=COMMAND),
        line(f"smallest default model ({r['mlp']}): time per step outside forward and backward", 100 *
             r["mlp_overhead"], "%", reference=f"{r['mlp_step_ms']:.3f} ms per step", command=COMMAND),
        line("whole-split final evaluation (val + test) of the largest GPT, against its run's training time",
             100 * r["eval_fraction"], "%", reference=f"{r['eval_s']:.1f} s against {r['planned_steps']} steps x "
             f"{r['large_step_ms']:.1f} ms", command=COMMAND),
        line("`scalinglab train` of a tiny run (smallest GPT, 2 steps, 1% splits) from the shell (median)",
             r["job_s"], "s", reference=f"`python -c pass` {r['python_s']:.2f} s, `python -c \"import torch\"` "
             f"{r['import_torch_s']:.2f} s", command=COMMAND),
        line("training job start-up: process start to the end of the first optimizer step (median)",
             r["first_step_s"], "s", "<=", FIRST_STEP_GOAL_S,
             reference=f"`python -c \"import torch\"` {r['import_torch_s']:.2f} s", command=COMMAND),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", default=str(REPO / "config" / "config.yaml"))
    parser.add_argument("--rounds", type=int, default=12, help="timed stretches of the largest GPT")
    parser.add_argument("--chunk", type=int, default=10, help="optimizer steps per stretch (about as long as a "
                        "peak sample, so that the best of each side is taken over windows alike)")
    parser.add_argument("--repeats", type=int, default=5, help="job start-ups to time")
    parser.add_argument("--data-root", default=str(REPO / "results" / "data"),
                        help="prepared datasets (reused when their parameters match, else generated here)")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args()
    from scalinglab.allocator import keep_freed_memory

    keep_freed_memory()  # as the `scalinglab` command does before a training job's first array
    r = measure(args.config, Path(args.data_root), args.rounds, args.chunk, args.repeats)
    print("fp32 matmul peak, 1 thread, GFLOP/s, before each stretch and after the last: "
          + ", ".join(f"{v:.0f}" for v in r["peaks"]))
    print(f"largest GPT {r['largest']}: GFLOP/s per stretch " + ", ".join(f"{v:.1f}" for v in r["rates"])
          + f"; best {r['achieved_gflops']:.1f} = {r['fraction_of_peak']:.1%} of the best peak (goal >= "
          f"{EFFICIENCY_GOAL:.0%}); median {r['median_fraction']:.1%} of the median peak; "
          f"{r['large_step_ms']:.1f} ms per step; {r['flops_per_step'] / 1e9:.3f} GFLOP a step by torch's counter "
          f"(by the analytic flops_6nd {r['flops_6nd_per_step'] / 1e9:.3f}: {r['fraction_of_peak_6nd']:.1%} of the "
          "best peak)")
    print(f"smallest GPT {r['smallest']}: {r['small_step_ms']:.2f} ms per step, {r['small_overhead']:.0%} of it "
          f"outside forward and backward; {r['small_fraction_of_peak']:.0%} of the peak")
    print(f"smallest model {r['mlp']}: {r['mlp_step_ms']:.3f} ms per step, {r['mlp_overhead']:.0%} of it outside "
          "forward and backward")
    print(f"whole-split final evaluation of the largest GPT: {r['eval_s']:.1f} s = {r['eval_fraction']:.1%} of its "
          f"{r['planned_steps']}-step run's training time")
    print(f"`scalinglab train`, tiny run, from the shell: {r['job_s']:.2f} s (median of {args.repeats}: "
          + ", ".join(f"{v:.2f}" for v in r["job_all"]) + f"); `python -c pass` {r['python_s']:.3f} s; "
          f"`import torch` {r['import_torch_s']:.2f} s; first step at {r['first_step_s']:.2f} s after process start")
    if args.json:
        Path(args.json).write_text(json.dumps(r, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
