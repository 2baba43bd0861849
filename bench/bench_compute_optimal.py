"""config/compute_optimal.yaml end to end, as a new user runs it: wall time against the 20-minute goal, and what it
found (the compute-optimal exponent a by approaches 2 and 3, tokens per parameter, the target's error).

    python bench/bench_compute_optimal.py            # ~12 minutes on an idle 2-core machine
    python bench/run_all.py --compute-optimal        # the same line in bench/results.md

Runs `snakemake --cores all --configfile config/compute_optimal.yaml` in a temporary copy of the checkout (as a fresh
clone: the dataset is prepared there too), with bench_study's runner. The goal (issue: at most 20 minutes on 2 CPU
cores) is a wall time the user feels, so it needs an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_study import run_study  # noqa: E402
from common import line  # noqa: E402

CONFIG = "config/compute_optimal.yaml"
GOAL_S = 20 * 60
COMMAND = "python bench/bench_compute_optimal.py"


def findings(root: Path, study: str) -> dict:
    """What the study reports: the fit JSON's approaches table and the scorecard (nothing is recomputed here)."""
    results = root / "results" / study
    fits = sorted((results / "fits").rglob("*.json"))
    fit = json.loads(fits[0].read_text()) if fits else {}
    card = json.loads((results / "scorecard.json").read_text()) if (results / "scorecard.json").exists() else {}
    return {"approaches": fit.get("approaches"), "derived": fit.get("derived"), "scorecard": card.get("targets", {})}


def lines(mode: str) -> list:
    cores = os.cpu_count() or 1
    r = run_study(CONFIG, cores, inspect=findings)
    training = sum(r["train"].values())
    found = r.get("inspected", {})
    card = next(iter(found.get("scorecard", {}).values()), {})
    reference = (f"{len(r['train'])} training jobs, {training:.0f} s in all (benchmarks/), on {cores} cores; target "
                 f"relative error {card.get('relative_error', float('nan')):+.3f}, inside its prediction interval: "
                 f"{card.get('in_prediction_interval')}")
    return [line("config/compute_optimal.yaml end to end (snakemake --cores all), wall", r["wall_s"], "s", "<=",
                 GOAL_S, reference=reference, command=COMMAND, detail=found)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args()
    for row in lines("full"):
        print(f"{row.name}: {row.value:.0f} s (goal {row.goal}); {row.reference}")
        print(json.dumps(row.detail, indent=1, default=str))


if __name__ == "__main__":
    main()
