"""The shipped compute-optimal study has the design the issue asks for: at least 3 compute budgets, enough sizes at
each for an interior minimum to be found, a learning-rate grid over every cell, and one target one compute step
beyond the ladder. (Running it takes ~12 minutes on 2 cores: bench/bench_compute_optimal.py, not a test.)"""

from __future__ import annotations

from collections import defaultdict

from scalinglab.config import expand
from scalinglab.config.validate import load_config


def test_compute_optimal_study_design(repo):
    specs = expand(load_config(repo / "config" / "compute_optimal.yaml"))
    ladder = [s for s in specs if s["role"] == "ladder"]
    targets = [s for s in specs if s["role"] == "target"]
    budgets = sorted({s["compute_budget"] for s in ladder})
    assert len(budgets) >= 3

    sizes = defaultdict(set)  # compute budget -> sizes trained there
    values = defaultdict(set)  # (size, compute budget) -> learning rates trained there
    for s in ladder:
        sizes[s["compute_budget"]].add(s["size_label"])
        values[s["size_label"], s["compute_budget"]].add(s["grid"]["lr"])
    assert all(len(sizes[c]) >= 4 for c in budgets)  # a parabola and a point to spare on either side
    assert len({frozenset(v) for v in values.values()}) == 1 and len(next(iter(values.values()))) >= 3

    assert len(targets) == 1
    step = budgets[-1] / budgets[-2]
    assert targets[0]["compute_budget"] == budgets[-1] * step  # one compute step beyond the ladder
    assert targets[0]["size_label"] not in {s["size_label"] for s in ladder if s["compute_budget"] == budgets[0]}
