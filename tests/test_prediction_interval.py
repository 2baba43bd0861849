"""The prediction interval's quantiles (fitting.predict._noisy_quantiles: bisection, then Newton steps kept inside the
bracket) against 60 steps of plain bisection on the same mixture CDF, the method it replaced."""

from __future__ import annotations

import numpy as np
import pytest

from scalinglab.fitting.predict import _noisy_quantiles


def bisection_quantiles(centres, sigma, dof, ci):
    """The same quantiles by 60 bisection steps alone (no Newton step): the method the Newton steps replaced."""
    return _noisy_quantiles(centres, sigma, dof, ci, bisections=60, max_steps=0)


def curve_draws(rng, draws=1000, points=21, spread=0.05):
    """Bootstrap-like log-loss draws of a curve: a common shape, per-draw offsets and slopes."""
    x = np.linspace(0.0, 1.0, points)
    return 1.0 - 0.4 * x + spread * (rng.normal(size=(draws, 1)) + rng.normal(size=(draws, 1)) * x)


# case -> (centres, sigma, dof, ci, how far apart the two may be in log units)
CASES = {
    "curve draws": (lambda rng: curve_draws(rng), 0.02, 11, 0.95, 1e-12),
    "one row (no bootstrap)": (lambda rng: curve_draws(rng)[:1], 0.02, 11, 0.95, 1e-12),
    "Cauchy noise (dof 1)": (lambda rng: curve_draws(rng), 0.02, 1, 0.9, 1e-12),
    "nearly normal noise": (lambda rng: curve_draws(rng), 0.02, 1e6, 0.95, 1e-12),
    "noise far wider than the draws": (lambda rng: curve_draws(rng, spread=1e-4), 0.3, 5, 0.8, 1e-12),
    # Draws far apart against the noise: the mixture's CDF sits on the level, to within rounding, along whole
    # stretches between two draws (Newton stalls anywhere on them). Where the CDF leaves the level is then decided by
    # the last bits of a mean of 1,000 terms, so the two methods may part by 1e-8; a quantile at the stretch's wrong
    # end (a stalled step taken for the answer) is 1e-2 away.
    "flat stretches": (lambda rng: rng.normal(0.0, 2.0, (1000, 21)), 0.002, 200, 0.95, 1e-6),
    "flat stretches, another level": (lambda rng: rng.normal(0.0, 2.0, (1000, 21)), 0.002, 200, 0.951, 1e-6),
}


@pytest.mark.parametrize("case", CASES)
def test_quantiles_match_plain_bisection(case):
    make, sigma, dof, ci, atol = CASES[case]
    centres = make(np.random.default_rng(7))
    ours, reference = _noisy_quantiles(centres, sigma, dof, ci), bisection_quantiles(centres, sigma, dof, ci)
    for mine, theirs in zip(ours, reference):
        assert np.all(np.isfinite(mine))
        np.testing.assert_allclose(np.log(mine), np.log(theirs), rtol=0, atol=atol)
    assert np.all(ours[0] < ours[1])
