"""The law catalogue: every law is complete, its analytic gradient matches finite differences, the natural
parametrisation round-trips, and fused objectives agree with the generic path."""

import dataclasses

import numpy as np
import pytest

from scalinglab.laws import CHINCHILLA, HOFFMANN_GRID, LAWS, Law, get_law

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
        assert len(law.params) == len(law.natural) == len(law.box)
        assert law.formula and law.inputs
        assert len(law.input_is_logged) == len(law.inputs)


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
    generic_law = dataclasses.replace(CHINCHILLA, fast_objective=None)
    slow = Objective(generic_law, X, logy, 1e-3, W).value_grad(theta, np.arange(theta.shape[0]))
    ok = np.isfinite(slow[0])
    np.testing.assert_allclose(fast[0][ok], slow[0][ok], rtol=1e-10)
    np.testing.assert_allclose(fast[1][ok], slow[1][ok], rtol=1e-8, atol=1e-12)
    # the Gauss-Newton kernel every other law is optimised with has the same objective and gradient
    from scalinglab.fitting.optimize import gauss_newton

    f, g, H = gauss_newton(CHINCHILLA, theta, X, logy, W, 1e-3)
    np.testing.assert_allclose(f[ok], slow[0][ok], rtol=1e-10)
    np.testing.assert_allclose(g[ok], slow[1][ok], rtol=1e-8, atol=1e-12)
    assert np.all(np.linalg.eigvalsh(H[ok]) > -1e-9 * np.abs(H[ok]).max())  # positive semi-definite


def test_chinchilla_hessian_matches_finite_differences():
    from scalinglab.laws.chinchilla import fast_hessian as _chin_fast_hessian
    from scalinglab.laws.chinchilla import fast_objective as _chin_fast_objective

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


# ---- a law from outside the package: one Law object, no edit of scalinglab --------------------------------------
def _offset_log_predict(theta, X):
    # y = A (x + x0)^-alpha, fitted as a - alpha log(x + exp(l0))
    return theta[:, 0:1] - theta[:, 1:2] * np.log(X[0][None, :] + np.exp(theta[:, 2:3]))


OFFSET_POWER = Law(
    name="offset_power",
    formula="y = A*(x + x0)^(-alpha)",
    inputs=("x",),
    params=("a", "alpha", "l0"),
    reported={"A": "a", "alpha": "alpha", "x0": "l0"},
    log_params=("a", "l0"),
    log_predict=_offset_log_predict,
    starts=lambda X, logy: np.array([[logy.mean() + al * np.log(X[0]).mean(), al, l0]
                                     for al in (0.1, 0.3, 0.6) for l0 in (0.0, 3.0, 6.0)]),
    bounds=((-np.inf, np.inf), (0.0, 50.0), (-np.inf, np.inf)),
)


@pytest.mark.parametrize("given", [OFFSET_POWER, "test_laws:OFFSET_POWER"])
def test_a_law_defined_outside_the_package_fits_and_predicts(given, tmp_path):
    from scalinglab.fitting import fit, load_fit, predict

    truth = {"A": 30.0, "alpha": 0.4, "x0": 200.0}
    x = np.repeat(np.geomspace(10, 1e5, 9), 2)
    rng = np.random.default_rng(4)
    y = truth["A"] * (x + truth["x0"]) ** -truth["alpha"] * np.exp(rng.normal(0, 0.003, x.size))
    result = fit({"x": x, "y": y}, given, "x", "y", bootstrap=40)
    assert result.law is OFFSET_POWER
    for name, value in truth.items():
        assert result.params[name] == pytest.approx(value, rel=0.1), name
    path = result.save(tmp_path / "fit.json")
    loaded = load_fit(path) if isinstance(given, str) else load_fit(path, law=OFFSET_POWER)
    p = predict(loaded, {"x": [1e6]})
    assert p["value"][0] == pytest.approx(truth["A"] * (1e6 + truth["x0"]) ** -truth["alpha"], rel=0.05)
    assert p["confidence_interval"][0][0] < p["value"][0] < p["confidence_interval"][1][0]
