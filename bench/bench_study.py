"""The default study end to end, and what of its wall time is not training.

    python bench/bench_study.py                 # config/config.yaml in a temporary copy of this checkout (~8 min)
    python bench/bench_study.py --config config/test.yaml --cores 2

Runs `snakemake --cores N` from the root of a temporary copy of the checkout (tracked files, like a fresh clone;
datasets prepared there too, so nothing is reused), then compares the wall time with the training jobs' own time:
the sum of the wall times in benchmarks/STUDY/train/ (snakemake's benchmark files, which include each job's Python
start-up) divided by the cores. The ratio is the study's overhead: scheduling, data preparation, aggregation, fits,
the report, and cores left idle while the last runs finish. Goal: at most 1.05. Needs an otherwise idle machine.
The line's reference says where the rest went: the time before the first training job (parsing, data preparation),
the core-seconds no training job used during training (gaps, the last runs' tail) and the time after the last one
(aggregation, fits, report), from the benchmark files' times.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
REPO = HERE.parent

from common import line  # noqa: E402

OVERHEAD_GOAL = 1.05
COMMAND = "python bench/bench_study.py"


def copy_checkout(dest: Path) -> Path:
    """The repository's tracked and untracked (not ignored) files, as a fresh clone would have them."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO, capture_output=True,
                            text=True, check=True)
    for name in filter(None, listed.stdout.split("\0")):
        source = REPO / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    return dest


def job_seconds(folder: Path) -> dict[str, float]:
    """{job: wall seconds} from snakemake's benchmark files under `folder` (the `s` column)."""
    times = {}
    for path in sorted(folder.rglob("*.tsv")):
        with open(path) as handle:
            row = next(csv.DictReader(handle, delimiter="\t"))
        times[str(path.relative_to(folder).with_suffix(""))] = float(row["s"])
    return times


def job_times(folder: Path) -> list[tuple[float, float]]:
    """(start, end) epoch seconds of every job with a benchmark file under `folder`: the file is written when the
    job ends, and its `s` column is the job's wall time."""
    times = []
    for path in folder.rglob("*.tsv"):
        with open(path) as handle:
            seconds = float(next(csv.DictReader(handle, delimiter="\t"))["s"])
        end = path.stat().st_mtime
        times.append((end - seconds, end))
    return times


def phases(start: float, end: float, cores: int, train: list[tuple[float, float]]) -> dict:
    """Where the wall time goes: before the first training job starts (parsing, data preparation), the training
    span with the core-seconds no training job used (scheduling gaps, cores idle while the last runs finish), and
    after the last training job (aggregation, fits, report)."""
    first, last = min(s for s, _ in train), max(e for _, e in train)
    busy = sum(e - s for s, e in train)
    return {"before_s": first - start, "span_s": last - first, "idle_core_s": cores * (last - first) - busy,
            "after_s": end - last}


def run_study(config: str, cores: int, inspect=None) -> dict:
    """Run the study in a fresh copy; `inspect(root, study)`, when given, reads its results before the copy is
    removed (its answer is under 'inspected')."""
    import yaml

    study = yaml.safe_load((REPO / config).read_text())["study"]
    with tempfile.TemporaryDirectory(prefix="scalinglab-study-") as tmp:
        root = copy_checkout(Path(tmp) / "checkout")
        environment = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
        command = [sys.executable, "-m", "snakemake", "--cores", str(cores), "--configfile", config]
        start, started_at = time.perf_counter(), time.time()
        done = subprocess.run(command, cwd=root, env=environment, capture_output=True, text=True)
        wall, ended_at = time.perf_counter() - start, time.time()
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
        benchmarks = root / "benchmarks" / study
        train = job_seconds(benchmarks / "train")
        fits = job_seconds(benchmarks / "fit") if (benchmarks / "fit").is_dir() else {}
        top = job_seconds(benchmarks)  # report.tsv and aggregate.tsv sit at the top
        data = job_seconds(root / "benchmarks" / "data") if (root / "benchmarks" / "data").is_dir() else {}
        return {"study": study, "wall_s": wall, "cores": cores, "train": train, "fits": fits,
                "report_s": top.get("report", 0.0), "aggregate_s": top.get("aggregate", 0.0), "data": data,
                **phases(started_at, ended_at, cores, job_times(benchmarks / "train")),
                "inspected": inspect(root, study) if inspect else None}


def breakdown(r: dict) -> str:
    """The study's non-training time, phase by phase."""
    return (f"before training {r['before_s']:.0f} s (data preparation {sum(r['data'].values()):.0f} s of jobs); "
            f"training span {r['span_s']:.0f} s with {r['idle_core_s']:.0f} core-s idle; after training "
            f"{r['after_s']:.0f} s (aggregate {r['aggregate_s']:.0f} s, fits {sum(r['fits'].values()):.0f} s of jobs, "
            f"report {r['report_s']:.0f} s)")


def lines(mode: str) -> list:
    """The study row of bench/results.md (bench/run_all.py): the default study, or (quick) config/test.yaml."""
    config = "config/test.yaml" if mode == "quick" else "config/config.yaml"
    cores = min(2, os.cpu_count() or 1) if mode == "quick" else os.cpu_count() or 1
    r = run_study(config, cores)
    training = sum(r["train"].values())
    ratio = r["wall_s"] / (training / r["cores"])
    reference = (f"{len(r['train'])} training jobs, {training:.0f} s in all (benchmarks/, process start included), "
                 f"on {r['cores']} cores; wall {r['wall_s']:.0f} s: {breakdown(r)}")
    goal = ("<=", OVERHEAD_GOAL) if mode != "quick" else (None, None)
    return [line(f"study {r['study']!r} end to end: wall time against its training jobs' time / cores", ratio, "x",
                 *goal, reference=reference, command=f"{COMMAND} --config {config}")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="config/config.yaml", help="the study, relative to the repository root")
    parser.add_argument("--cores", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    r = run_study(args.config, args.cores)
    training = sum(r["train"].values())
    print(f"study {r['study']}: wall {r['wall_s']:.1f} s on {r['cores']} cores; training jobs {training:.1f} s in "
          f"all ({len(r['train'])} jobs, longest {max(r['train'].values()):.1f} s); overhead ratio "
          f"{r['wall_s'] / (training / r['cores']):.3f} (goal <= {OVERHEAD_GOAL}); {breakdown(r)}")


if __name__ == "__main__":
    main()
