"""Coverage of the fit's 95% intervals, two-sided (0.90 to 0.99), on the pipeline's own design and the cases that
break naive bootstraps: correlated per-size noise, Chinchilla's derived a_opt, a slightly misspecified truth; for
percentile and BCa intervals from the same draws. The scenarios are in coverage_study.py; docs/coverage.md holds the
measured table (200 data sets each)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from coverage_study import measure

LOW, HIGH = 0.90, 0.99
# The data sets are scored in worker processes, one per core (at most 8): the same data sets and fits, so the same
# counts (coverage_study.measure), in a half of the wall time on 2 cores.
PROCESSES = min(len(os.sched_getaffinity(0)), 8)


def _check(name, datasets, bootstrap):
    out = measure(name, datasets, bootstrap, processes=PROCESSES)
    for method in ("percentile", "bca"):
        covered, total = out[method]
        print(f"{name} {method}: {covered}/{total} = {covered / total:.3f}")
        assert LOW <= covered / total <= HIGH, (name, method, covered, total, out["each"])


@pytest.mark.slow  # ~8 s; the two-sided coverage test on the same design runs in the full suite as well
def test_coverage_on_the_pipeline_design():
    """7 sizes x 2 seeds, saturating power law, 1% noise: 30 data sets x 3 parameters, in a few seconds."""
    _check("pipeline", datasets=30, bootstrap=100)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["pipeline", "correlated", "chinchilla", "misspecified"])
def test_coverage_two_sided(name):
    _check(name, datasets=100, bootstrap=200)


def test_resamples_keep_every_size():
    from scalinglab.fitting.bootstrap import resample_weights

    levels = np.repeat(np.arange(7), 2)
    W, units = resample_weights(14, None, 500, np.random.default_rng(0), levels)
    assert units == 14 and np.all(W.sum(axis=1) == 14)
    present = np.stack([(W[:, levels == k] > 0).any(axis=1) for k in range(7)], axis=1)
    assert present.all()  # a resample without a size is redrawn
    plain, _ = resample_weights(14, None, 500, np.random.default_rng(0))
    assert not np.stack([(plain[:, levels == k] > 0).any(axis=1) for k in range(7)], axis=1).all()


def test_small_sample_widening():
    from scalinglab.fitting.bootstrap import interval, t_expansion

    assert t_expansion(0.95, 11) == pytest.approx(2.2010 / 1.9600, rel=1e-3)  # 14 runs, 3 parameters
    assert t_expansion(0.95, 10_000) == pytest.approx(1.0, abs=1e-3)
    draws = np.random.default_rng(1).normal(2.0, 1.0, 4000)
    lo, hi = interval(draws, 0.95)
    wlo, whi = interval(draws, 0.95, point=2.0, dof=11)
    assert (2.0 - wlo) / (2.0 - lo) == pytest.approx(t_expansion(0.95, 11))
    assert (whi - 2.0) / (hi - 2.0) == pytest.approx(t_expansion(0.95, 11))
    # a positive quantity is widened on the log scale, so that its interval never reaches zero
    positive = np.exp(np.random.default_rng(2).normal(0.0, 1.5, 4000))
    lo, hi = interval(positive, 0.95)
    wlo, whi = interval(positive, 0.95, point=1.0, dof=7)
    assert 0 < wlo < lo and whi > hi
    assert np.log(wlo) / np.log(lo) == pytest.approx(t_expansion(0.95, 7))
