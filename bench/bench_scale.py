"""How the workflow scales with the number of runs: sweep expansion, the Snakemake DAG, aggregation.

    python bench/bench_scale.py [--runs 10000]

Each step is timed at 100 runs and at --runs runs in the same process, and reported as a ratio: the machines are
shared and noisy, so absolute seconds mean little, but a ratio near runs/100 shows the cost grows linearly.
Synthetic run.json files stand in for training (aggregation reads them exactly as it reads real ones).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow"))

from scalinglab.aggregate import aggregate_runs  # noqa: E402
from scalinglab.config import expand, validate_config  # noqa: E402


def study(n_runs: int) -> dict:
    """n_runs runs: 10 sweeps x (n/20) sizes x 2 seeds x 1 budget (at least 3 sizes: the law has 3 parameters)."""
    sizes_per_sweep = max(3, n_runs // 20)
    base = yaml.safe_load((REPO / "config" / "test.yaml").read_text())
    gpt = base["sweeps"][0]
    base["sweeps"] = [
        {**gpt, "name": f"sweep{i}", "sizes": [{"d_model": 8 + j} for j in range(sizes_per_sweep)],
         "seeds": [0, 1], "budgets": [100000]}
        for i in range(10)
    ]
    return base


def timed(function, *args):
    start = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - start, result


def fake_records(specs, root: Path) -> list[Path]:
    paths = []
    for i, spec in enumerate(specs):
        path = root / "runs" / spec["run_path"] / "run.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        curve = [{"step": s, "tokens": s * 512, "flops": s * 1e9, "train_loss": 2.0, "val_loss": 2.1} for s in
                 (1, 3, 10, 30, 100, 300)]
        metrics = {"status": "ok", "n_params": 1000 + i, "final_val_loss": 2.0, "wall_s": 1.0}
        path.write_text(json.dumps({"spec": spec, "metrics": metrics, "curve": curve, "env": {"torch": "x"}}))
        paths.append(path)
    return paths


def dry_run(config_path: Path, workdir: Path) -> float:
    command = [sys.executable, "-m", "snakemake", "-n", "--quiet", "all", "--cores", "2", "--snakefile",
               str(REPO / "Snakefile"), "--directory", str(workdir), "--configfile", str(config_path),
               "--workflow-profile", "none"]
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - start


def measure(n_runs: int, tmp: Path) -> dict:
    raw = study(n_runs)
    config = validate_config(json.loads(json.dumps(raw)))
    expand_s, specs = timed(expand, config)
    workdir = tmp / f"n{n_runs}"
    workdir.mkdir()
    config_path = workdir / "study.yaml"
    config_path.write_text(yaml.safe_dump(raw))
    paths = fake_records(specs, workdir)
    aggregate_s, _ = timed(aggregate_runs, paths, workdir / "metrics.parquet", workdir / "curves.parquet")
    return {"runs": len(specs), "expand_s": expand_s, "dag_s": dry_run(config_path, workdir),
            "aggregate_s": aggregate_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        small = measure(100, Path(tmp))
        large = measure(args.runs, Path(tmp))
    scale = large["runs"] / small["runs"]
    print(f"{'step':<12}{small['runs']:>10} runs{large['runs']:>10} runs{'ratio':>10}  (runs ratio {scale:.0f})")
    for key in ("expand_s", "dag_s", "aggregate_s"):
        print(f"{key:<12}{small[key]:>14.3f}{large[key]:>14.3f}{large[key] / small[key]:>10.1f}")


if __name__ == "__main__":
    main()
