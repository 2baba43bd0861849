"""The law catalogue: every law is complete, its analytic gradient matches finite differences, the natural
parametrisation round-trips, and fused objectives agree with the generic path."""

import numpy as np
import pytest

from scalinglab.laws import CHINCHILLA, HOFFMANN_GRID, LAWS, get_law

EXPECTED = {
    "linear", "sqrt", "logarithmic", "exponential", "power", "saturating_power",
    "kaplan", "chinchilla", "broken_power", "m4",
}

# a plausible internal parameter vector and inputs for each law
POINTS = {
    "linear": ([1.0, 0.5], [np.linspace(0.1, 1, 7)]),
    "sqrt": ([0.5, 1.0], [np.linspace(0.1, 1, 7)]),
    "logarithmic": ([5.0, -0.2], [np.geomspace(1e2, 1e6, 7)]),
    "exponential": ([0.7, -0.3], [np.linspace(0, 3, 7)]),
    "power": ([4.0, 0.3], [np.geomspace(1e2, 1e6, 7)]),
    "saturating_power": ([0.5, 6.0, 0.35], [np.geomspace(1e2, 1e6, 7)]),
    "kaplan": ([0.076, 0.095, np.log(8.8e13), np.log(5.4e13)], [np.geomspace(1e6, 1e9, 7), np.geomspace(1e8, 1e11, 7)]),
    "chinchilla": ([6.0, 6.0, 0.5, 0.34, 0.28], [np.geomspace(1e7, 1e10, 7), np.geomspace(1e9, 1e12, 7)]),
    "broken_power": ([np.log(0.5), np.log(20), 0.2, 0.4, np.log(1e4), 0.5], [np.geomspace(1e2, 1e7, 7)]),
    "m4": ([np.log(0.1), 0.0, 0.5, np.log(30), 0.35], [np.geomspace(1e2, 1e7, 7)]),
}


def test_catalogue_is_complete():
    assert set(LAWS) >= EXPECTED
    for name, law in LAWS.items():
        assert law.name == name
        assert len(law.params) == len(law.natural) == len(law.bounds)
        assert law.formula and law.inputs
        assert len(law.log_inputs) == len(law.inputs)


def test_default_law_and_unknown_law():
    assert get_law("saturating_power").irreducible
    with pytest.raises(ValueError, match="unknown law 'nope'"):
        get_law("nope")


def test_hoffmann_grid_is_4500_points():
    assert HOFFMANN_GRID.shape == (4500, 5)
    starts = CHINCHILLA.starts(None, None)
    assert sorted(set(starts[:, 0])) == [0, 5, 10, 15, 20, 25]
    assert sorted(set(starts[:, 2])) == [-1, -0.5, 0, 0.5, 1]
    assert sorted(set(starts[:, 3])) == [0, 0.5, 1, 1.5, 2]


@pytest.mark.parametrize("name", sorted(POINTS))
def test_analytic_gradient_matches_finite_differences(name):
    law = LAWS[name]
    theta, X = POINTS[name]
    theta = np.array([theta, np.array(theta) * 1.05])
    X = np.array(X)
    f, J = law.log_grad(theta, X)
    f2, J2 = law.numeric_grad(theta, X, eps=1e-6)
    assert np.all(np.isfinite(f))
    np.testing.assert_allclose(f, f2, rtol=1e-12)
    np.testing.assert_allclose(J, J2, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("name", sorted(POINTS))
def test_natural_round_trip_and_broadcasting(name):
    law = LAWS[name]
    theta, X = POINTS[name]
    theta = np.array([theta] * 3)
    np.testing.assert_allclose(law.from_natural(law.to_natural(theta)), theta, rtol=1e-12, atol=1e-12)
    y = law.predict(theta, np.array(X))
    assert y.shape == (3, len(X[0])) and np.all(y > 0)


def test_closed_forms():
    x = np.array([[10.0, 100.0]])
    np.testing.assert_allclose(
        LAWS["saturating_power"].predict([np.log(2.0), np.log(3.0), 0.5], x), [[2 + 3 / 10**0.5, 2 + 0.3]]
    )
    np.testing.assert_allclose(LAWS["linear"].predict([1.0, 2.0], x), [[21.0, 201.0]])
    t = CHINCHILLA.from_natural(np.array([[1.69, 406.4, 410.7, 0.34, 0.28]]))
    N, D = 1e9, 2e10
    np.testing.assert_allclose(CHINCHILLA.predict(t, [[N], [D]])[0, 0], 1.69 + 406.4 / N**0.34 + 410.7 / D**0.28)
    # M4 solves its implicit equation
    th = np.array(POINTS["m4"][0])
    xs = np.array(POINTS["m4"][1])
    yv = LAWS["m4"].predict(th, xs)[0]
    einf, e0, g, B, c = LAWS["m4"].to_natural(th)
    np.testing.assert_allclose((yv - einf) / (e0 - yv) ** g, B * xs[0] ** -c, rtol=1e-9)


def test_fast_objective_matches_generic():
    from scalinglab.fitting.optimize import Objective

    rng = np.random.default_rng(0)
    X = np.array(POINTS["chinchilla"][1])
    logy = np.log(CHINCHILLA.predict(POINTS["chinchilla"][0], X)[0]) + rng.normal(0, 0.01, X.shape[1])
    theta = HOFFMANN_GRID[::97]
    W = rng.integers(0, 3, size=(theta.shape[0], X.shape[1])).astype(float)
    fast = Objective(CHINCHILLA, X, logy, 1e-3, W).value_grad(theta, np.arange(theta.shape[0]))
    generic_law = LAWS["chinchilla"].__class__(**{**CHINCHILLA.__dict__, "fast_objective": None})
    slow = Objective(generic_law, X, logy, 1e-3, W).value_grad(theta, np.arange(theta.shape[0]))
    ok = np.isfinite(slow[0])
    np.testing.assert_allclose(fast[0][ok], slow[0][ok], rtol=1e-10)
    np.testing.assert_allclose(fast[1][ok], slow[1][ok], rtol=1e-8, atol=1e-12)


def test_chinchilla_hessian_matches_finite_differences():
    from scalinglab.laws import _chin_fast_hessian, _chin_fast_objective

    rng = np.random.default_rng(1)
    X = np.array([np.geomspace(1e7, 1e10, 30), np.geomspace(1e9, 1e12, 30)[rng.permutation(30)]])
    theta0 = np.array([6.0, 6.0, 0.5, 0.34, 0.28])
    logy = CHINCHILLA.log_predict(theta0[None], X)[0] + rng.normal(0, 0.003, 30)
    theta = theta0 + rng.normal(0, 0.05, (20, 5))
    W = rng.integers(0, 3, (20, 30)).astype(float)
    f, g, H = _chin_fast_hessian(theta, X, logy, W, 1e-3)
    f2, g2 = _chin_fast_objective(theta, X, logy, W, 1e-3)
    np.testing.assert_allclose(f, f2, rtol=1e-12)
    np.testing.assert_allclose(g, g2, rtol=1e-9, atol=1e-15)
    eps = 1e-7
    Hn = np.empty_like(H)
    for j in range(5):
        tp, tm = theta.copy(), theta.copy()
        tp[:, j] += eps
        tm[:, j] -= eps
        Hn[:, :, j] = (
            _chin_fast_objective(tp, X, logy, W, 1e-3)[1] - _chin_fast_objective(tm, X, logy, W, 1e-3)[1]
        ) / (2 * eps)
    rel = np.abs(H - Hn).max(axis=(1, 2)) / np.abs(Hn).max(axis=(1, 2))
    assert np.median(rel) < 1e-6  # a few starts may straddle a Huber kink
    np.testing.assert_array_equal(H, H.transpose(0, 2, 1))
