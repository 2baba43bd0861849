"""The fitting engine: recovery of known synthetic laws (with interval coverage), the Chinchilla validation
against Besiroglu et al. (2024), bad-input errors, backtests, ranking and compute-optimal allocation."""

import importlib
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scalinglab.config import ConfigError
from scalinglab.fitting import (
    FitInputError,
    NonInteriorMinimumError,
    compute_optimal,
    fit,
    isoflop,
    load_fit,
    predict,
    rank_laws,
)
from scalinglab.laws import HOFFMANN_GRID, LAWS, Law

DATA = Path(__file__).resolve().parent / "data" / "chinchilla_svg_extracted_data.csv"

# truth in natural parameters, and x values
G = np.geomspace
TRUTH = {
    "linear": ({"c0": 1.0, "c1": 2e-7}, [G(1e4, 1e7, 8)]),
    "sqrt": ({"c0": 0.5, "c1": 1e-3}, [G(1e4, 1e7, 8)]),
    "logarithmic": ({"c0": 5.0, "c1": -0.2}, [G(1e4, 1e7, 8)]),
    "exponential": ({"A": 2.0, "b": -0.3}, [np.linspace(0, 10, 8)]),
    "power": ({"A": 50.0, "alpha": 0.3}, [G(1e4, 1e7, 8)]),
    "saturating_power": ({"E": 1.7, "A": 400.0, "alpha": 0.35}, [G(1e4, 1e8, 8)]),
    "kaplan": (
        {"alpha_N": 0.076, "alpha_D": 0.095, "Nc": 8.8e13, "Dc": 5.4e13},
        [np.repeat(G(1e6, 1e10, 5), 5), np.tile(G(1e8, 1e12, 5), 5)],
    ),
    "chinchilla": (
        {"E": 1.7, "A": 400.0, "B": 410.0, "alpha": 0.34, "beta": 0.28},
        [np.repeat(G(1e7, 1e10, 5), 5), np.tile(G(1e9, 1e12, 5), 5)],
    ),
    "broken_power": ({"E": 0.5, "B": 20.0, "c0": 0.2, "c1": 0.4, "d1": 1e5, "f1": 0.5}, [G(1e2, 1e8, 16)]),
    "m4": ({"e_inf": 0.1, "e_0": 1.0, "gamma": 0.5, "B": 30.0, "c": 0.35}, [G(1e2, 1e7, 10)]),
}
# a small subset of Hoffmann's grid keeps the synthetic chinchilla fits fast (the full grid is tested on real data)
SMALL_GRID = HOFFMANN_GRID[(HOFFMANN_GRID[:, 3] > 0) & (HOFFMANN_GRID[:, 4] > 0) & (HOFFMANN_GRID[:, 2] >= 0)][::4]


def synthetic(name, rng, noise=0.005, reps=3):
    law = LAWS[name]
    nat, xs = TRUTH[name]
    theta = law.from_natural(np.array([[nat[p] for p in law.natural]]))[0]
    X = np.repeat(np.array(xs), reps, axis=1)
    y = law.predict(theta, X)[0] * np.exp(rng.normal(0, noise, X.shape[1]))
    cols = {f"x{i}": X[i] for i in range(X.shape[0])}
    return pd.DataFrame({**cols, "y": y}), ",".join(cols), nat


def _fit_synthetic(name, seed, bootstrap, ci=0.95, **settings):
    rng = np.random.default_rng(seed)
    frame, x, nat = synthetic(name, rng)
    extra = {"starts": SMALL_GRID} if name == "chinchilla" else {}
    settings = {"backtest_holdouts": [], **settings}  # the backtest has tests of its own
    return fit(frame, name, x, "y", bootstrap=bootstrap, ci=ci, seed=seed, **extra, **settings), nat


@pytest.mark.parametrize("name", sorted(TRUTH))
def test_recovers_synthetic_law(name):
    result, nat = _fit_synthetic(name, seed=11, bootstrap=60 if name in ("broken_power", "m4") else 150, ci=0.99)
    d = result.to_dict()
    assert d["diagnostics"]["converged"]
    assert d["rms_log_residual"] < 0.01
    for p, true in nat.items():
        lo, hi = d["intervals"][p]
        assert lo is not None and hi is not None, p
        slack = 0.05 * (hi - lo) + 1e-12
        assert lo - slack <= true <= hi + slack, f"{name}.{p}: truth {true} outside [{lo}, {hi}]"


def test_bca_intervals_and_setting():
    result, nat = _fit_synthetic("saturating_power", seed=7, bootstrap=100, interval="bca")
    assert result.settings["interval"] == "bca"
    for p, _true in nat.items():
        lo, hi = result.intervals[p]
        assert lo < result.params[p] < hi
    with pytest.raises(ConfigError, match="interval must be one of"):
        _fit_synthetic("power", seed=7, bootstrap=10, interval="studentised")


# ---- Chinchilla validation -----------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def chinchilla():
    frame = pd.read_csv(DATA)
    frame = frame.rename(columns={"Model Size": "N", "Training FLOP": "C"})
    return fit(
        frame, "chinchilla", "N,D", "loss", derive=["D=C/(6*N)"], drop_top_y=5, bootstrap=200, seed=0,
        compute=[5.88e23], backtest_holdouts=[],
    )


def test_chinchilla_reaches_summed_huber_optimum(chinchilla):
    d = chinchilla.to_dict()
    assert d["n_points"] == 240 and d["excluded"] == {"drop_top_y": 5}
    assert d["diagnostics"]["n_starts"] == 4500
    diag = d["diagnostics"]
    # racing stops the worst starts early; the count is of starts actually run to convergence at the optimum
    assert diag["n_starts_pruned"] + diag["n_starts_run_to_end"] == 4500
    assert 100 < diag["n_starts_at_optimum"] <= diag["n_starts_run_to_end"]
    assert diag["start_status"].get("pruned (racing)") == diag["n_starts_pruned"]
    assert d["diagnostics"]["converged"]
    assert d["objective"] == pytest.approx(0.001018274018, rel=1e-8)
    p = d["params"]
    assert p["A"] == pytest.approx(477.8, rel=2e-3)
    assert p["B"] == pytest.approx(2143.9, rel=2e-3)
    assert p["E"] == pytest.approx(1.8172, abs=2e-4)
    assert p["alpha"] == pytest.approx(0.3473, abs=2e-4)
    assert p["beta"] == pytest.approx(0.3672, abs=2e-4)
    assert d["derived"]["a_opt"]["value"] == pytest.approx(0.51, abs=0.01)


def test_chinchilla_bootstrap_comparable_with_epoch(chinchilla):
    d = chinchilla.to_dict()
    epoch = {"E": (1.769, 1.871), "alpha": (0.317, 0.373), "beta": (0.331, 0.415), "A": (285, 744), "B": (1042, 5810)}
    for p, (lo, hi) in epoch.items():
        ours = d["intervals"][p]
        width, ewidth = ours[1] - ours[0], hi - lo
        assert 0.5 * ewidth < width < 2.0 * ewidth, (p, ours, (lo, hi))
        assert ours[0] < hi and ours[1] > lo, (p, ours, (lo, hi))  # overlap
    lo, hi = d["derived"]["a_opt"]["interval"]
    assert lo < 0.513 < hi and hi - lo < 0.15
    tpp = d["derived"]["tokens_per_param@C=5.88e+23"]
    assert 10 < tpp["value"] < 40
    assert len(d["bootstrap"]["params"]) == 200


def test_compute_optimal_from_loaded_fit(chinchilla, tmp_path):
    path = chinchilla.save(tmp_path / "fit.json")
    out = compute_optimal(load_fit(path), [5.88e23])[5.88e23]
    assert set(out) >= {"N_opt", "D_opt", "tokens_per_param"}
    assert out["D_opt"]["value"] / out["N_opt"]["value"] == pytest.approx(out["tokens_per_param"]["value"])
    lo, hi = out["N_opt"]["interval"]
    assert lo < out["N_opt"]["value"] < hi


# ---- API details ---------------------------------------------------------------------------------------------
def test_predict_round_trip_and_status_filter(tmp_path):
    rng = np.random.default_rng(3)
    frame, x, nat = synthetic("saturating_power", rng)
    frame["status"] = "ok"
    frame.loc[[0, 1], "status"] = "failed"
    frame.loc[0, "y"] = np.nan  # failed runs may have no loss
    frame["seed"] = np.tile([0, 1, 2], len(frame) // 3)
    result = fit(frame, "saturating_power", x, "y", bootstrap=50, bootstrap_unit="seed", backtest_holdouts=[2],
                 seed=1)
    d = result.to_dict()
    assert d["n_excluded"] == 2 and d["excluded"] == {"status=failed": 2}
    assert d["bootstrap"]["unit"] == "seed" and d["bootstrap"]["n_units"] == 3
    assert [o["holdout"] for o in d["backtest"]["origins"]] == [2] and d["backtest"]["rms_log_error"] < 0.05
    assert d["information_criteria"]["aic"] < 0 and d["information_criteria"]["bic"] > d["information_criteria"]["aic"]
    path = result.save(tmp_path / "f.json")
    p1 = predict(result, {"x0": [1e9, 1e10]})
    p2 = predict(str(path), {"x": [1e9, 1e10]})  # law input name works too
    np.testing.assert_allclose(p1["value"], p2["value"])
    lo, hi = p2["confidence_interval"]
    assert np.all(lo <= p2["value"]) and np.all(p2["value"] <= hi)
    plo, phi = p2["prediction_interval"]
    assert np.all(plo < lo) and np.all(hi < phi)  # a new run is less certain than the mean curve


def test_backtest_ranks_true_law_well():
    rng = np.random.default_rng(5)
    frame, x, _ = synthetic("saturating_power", rng)
    rows = rank_laws(frame, x, "y", laws=["power", "saturating_power", "linear"], bootstrap=100)
    assert rows[0]["law"] == "saturating_power"
    assert [r["rank"] for r in rows] == [1, 2, 3]
    assert [o["holdout"] for o in rows[0]["origins"]] == [1, 2, 3]
    lo, hi = rows[0]["interval"]
    assert lo <= rows[0]["rms_log_error"] <= hi
    # power is far worse: the paired interval on its difference to the best excludes 0
    lo, hi = rows[1]["difference_interval"]
    assert rows[1]["law"] == "power" and 0 < lo <= rows[1]["difference_to_best"] <= hi
    # linear extrapolates below zero: an infinite log error, ranked last
    assert rows[2]["law"] == "linear" and rows[2]["rms_log_error"] == np.inf


@pytest.mark.parametrize(
    "mutate, match",
    [
        (lambda f: f.assign(y=f.y.where(f.index != 4, np.nan)), r"column 'y' has 1 non-finite value.*row 4"),
        (lambda f: f.assign(y=f.y.where(f.index != 2, 0.0)), r"column 'y' has 1 zero or negative.*row 2"),
        (lambda f: f.assign(x0=f.x0.where(f.index != 1, -5.0)), r"column 'x0' has 1 zero or negative.*-5"),
        (lambda f: f.iloc[:2], r"2 usable point\(s\).*3 parameters"),
        (lambda f: f.assign(x0=7.0), r"x column 'x0' has a single distinct value"),
        (lambda f: f.drop(columns="y"), r"missing y column 'y'.*x0"),
        (lambda f: f.assign(x0="big"), r"x column 'x0' is not numeric"),
    ],
)
def test_bad_input_errors_name_the_problem(mutate, match):
    frame, x, _ = synthetic("saturating_power", np.random.default_rng(0))
    with pytest.raises(FitInputError, match=match) as info:
        fit(mutate(frame), "saturating_power", x, "y", bootstrap=0)
    assert isinstance(info.value, ConfigError) and isinstance(info.value, ValueError)


def test_bad_settings():
    frame, x, _ = synthetic("power", np.random.default_rng(0))
    with pytest.raises(ConfigError, match="takes 2 input"):
        fit(frame, "chinchilla", x, "y")
    with pytest.raises(ConfigError, match="unknown fit setting"):
        fit(frame, "power", x, "y", bootstrapp=3)
    with pytest.raises(ConfigError, match="bootstrap must be a count >= 0"):
        fit(frame, "power", x, "y", bootstrap=-1)
    with pytest.raises(ConfigError, match="bootstrap unit 'sed' is neither 'run' nor a column"):
        fit(frame, "power", x, "y", bootstrap_unit="sed")
    with pytest.raises(ConfigError, match="no column 'sweep'"):
        fit(frame, "power", x, "y", where=["sweep=a"])


def test_isoflop_interior_and_non_interior():
    law = LAWS["chinchilla"]
    theta = law.from_natural(np.array([[1.7, 400.0, 410.0, 0.34, 0.28]]))
    rows = []
    for C in (1e18, 1e19, 1e20, 1e21):
        for N in np.geomspace(1e7, 1e11, 15):
            D = C / (6 * N)
            rows.append({"C": C, "N": N, "loss": law.predict(theta, [[N], [D]])[0, 0]})
    frame = pd.DataFrame(rows)
    out = isoflop(frame, bootstrap=30)
    assert 0.4 < out["a"] < 0.65 and len(out["budgets"]) == 4
    assert out["interval"]["a"][0] <= out["a"] + 0.05
    low = pd.concat([frame[frame.C != 1e21], frame[(frame.C == 1e21) & (frame.N < 1e9)]])
    with pytest.raises(NonInteriorMinimumError, match=r"C=1e\+21.*above the largest") as info:
        isoflop(low)
    assert info.value.budget == 1e21


def test_rms_of_size_means_averages_out_seed_noise():
    from scalinglab.fitting.fit import rms_of_group_means

    X = np.array([[1.0, 1.0, 2.0, 2.0, 3.0]])
    resid = np.array([0.1, -0.1, 0.2, 0.0, 0.05])
    # means per x: 0.0, 0.1, 0.05
    assert rms_of_group_means(resid, X) == pytest.approx(np.sqrt((0.0 + 0.01 + 0.0025) / 3))
    assert rms_of_group_means(resid, X) < np.sqrt(np.mean(resid**2))


# ---- bounds that do not decide the answer ---------------------------------------------------------------------
# 4-digit addition (Caballero et al. 2022, BNSL, Figure 4 left; github.com/ethancaballero/broken_neural_scaling_laws):
# fit on the first 14 dataset sizes, extrapolate to the last 3. Their fit gives c1 = 5.66 and an RMS log error on
# the held-out points of 0.0109 (their script, rerun); a [-5, 5] clamp on c1 made ours 0.039, 3.6 times worse.
ADDITION_X = [160, 192, 256, 320, 384, 448, 480, 512, 544, 576, 608, 640, 672, 736, 800, 864, 928]
ADDITION_Y = [2.13809046, 2.11813418, 2.08955508, 2.06988398, 2.05404987, 2.03837089, 2.02814281, 2.00496872,
              1.95576149, 1.86313841, 1.70891537, 1.50637664, 1.29754721, 0.96559684, 0.75856477, 0.64768338,
              0.55695445]


def _addition_backtest(law):
    x, y = np.array(ADDITION_X, float), np.array(ADDITION_Y)
    result = fit({"x": x[:14], "y": y[:14]}, law, "x", "y", bootstrap=0, backtest_holdouts=[])
    err = np.log(result.law.predict(result.theta, x[None, 14:])[0]) - np.log(y[14:])
    return result, float(np.sqrt(np.mean(err**2)))


def test_bnsl_bounds_do_not_decide_the_published_extrapolation():
    result, error = _addition_backtest("broken_power")
    assert result.at_bound == {}
    assert result.params["c1"] > 5
    assert error == pytest.approx(0.0109, rel=0.1)


def test_a_parameter_on_a_bound_is_recorded():
    import dataclasses

    clamped = dataclasses.replace(LAWS["broken_power"], bounds=((-np.inf, np.inf),) * 2 + ((-5.0, 5.0),) * 2
                                  + ((-np.inf, np.inf), (0.02, 20.0)))
    result, error = _addition_backtest(clamped)
    assert result.at_bound == {"c1": {"side": "upper", "bound": 5.0, "fit_parameter": "c1"}}
    assert result.to_dict()["at_bound"]["c1"]["side"] == "upper"
    assert error > 3 * 0.0109


# ---- valid law comparison ---------------------------------------------------------------------------------------
def test_multi_origin_backtest_holds_out_the_largest_sizes_in_turn():
    frame, x, _ = synthetic("saturating_power", np.random.default_rng(8))  # 8 sizes x 3 replicates
    bt = fit(frame, "saturating_power", x, "y", bootstrap=60).backtest
    assert bt["holdouts"] == [1, 2, 3] and bt["axis"] == "x"
    assert [(o["holdout"], o["n_test"], o["n_train"]) for o in bt["origins"]] == [(1, 3, 21), (2, 6, 18), (3, 9, 15)]
    assert bt["rms_log_error"] == pytest.approx(np.mean([o["rms_log_error"] for o in bt["origins"]]))
    assert bt["n_resamples"] == 60 and len(bt["draws"]) == 60
    assert bt["interval"][0] <= bt["rms_log_error"] <= bt["interval"][1]


def test_two_input_backtest_holds_out_along_compute():
    law = LAWS["chinchilla"]
    theta = law.from_natural(np.array([[1.7, 400.0, 410.0, 0.34, 0.28]]))
    N, D = np.meshgrid(np.geomspace(1e7, 1e9, 5), np.geomspace(1e9, 1e11, 5))
    N, D = N.ravel(), D.ravel()
    y = law.predict(theta, [N, D])[0] * np.exp(np.random.default_rng(2).normal(0, 0.003, N.size))
    bt = fit({"N": N, "D": D, "y": y}, law, "N,D", "y", bootstrap=0, starts=SMALL_GRID,
             backtest_holdouts=[1]).backtest
    assert bt["axis"].startswith("compute")
    origin = bt["origins"][0]
    # 25 runs, every one at its own compute: quantile bins of compute; the largest bin is the top compute runs,
    # which include runs smaller than the largest N (holding out along N alone would take all 5 runs at N = 1e9)
    C = 6 * N * D
    held = np.sort(C)[-origin["n_test"]:]
    assert origin["n_test"] < 10 and held.min() > np.median(C)
    assert bt["rms_log_error"] < 0.02


def test_information_criteria_come_from_a_least_squares_fit_on_size_means():
    frame, x, _ = synthetic("saturating_power", np.random.default_rng(9))
    result = fit(frame, "saturating_power", x, "y", bootstrap=0, backtest_holdouts=[])
    ic = result.information_criteria
    assert ic["n_eff"] == 8 and ic["k"] == 4  # 8 distinct sizes (3 replicates each), 3 parameters + noise
    X = frame[x].to_numpy()
    sizes = np.unique(X)
    means = np.array([np.log(frame.y[np.isclose(X, s)]).mean() for s in sizes])
    huber_rss = float(np.sum((result.law.log_predict(result.theta[None], sizes[None])[0] - means) ** 2))
    assert ic["rss"] <= huber_rss * (1 + 1e-9)  # least squares minimises it; the Huber optimum does not
    assert ic["aic"] == pytest.approx(8 * np.log(ic["rss"] / 8) + 2 * 4)
    assert ic["bic"] == pytest.approx(8 * np.log(ic["rss"] / 8) + 4 * np.log(8))
    assert ic["aicc"] == pytest.approx(ic["aic"] + 2 * 4 * 5 / (8 - 4 - 1))
    assert "least-squares" in ic["method"] and "distinct x" in ic["method"]


# ---- multi-start that cannot lose the best basin silently ----------------------------------------------------------
def weak_grid(seed):
    """Chinchilla on 3-5 sizes x 3-5 data budgets spanning 0.5-1.5 decades each, 0.2-2% noise: weakly identified
    (the irreducible E and B/D^beta trade off, the optimum can lie in a long flat valley)."""
    rng = np.random.default_rng(seed)
    nN, nD = rng.integers(3, 6), rng.integers(3, 6)
    N0, D0 = 10 ** rng.uniform(6, 9), 10 ** rng.uniform(8, 11)
    N = np.geomspace(N0, N0 * 10 ** rng.uniform(0.5, 1.5), nN)
    D = np.geomspace(D0, D0 * 10 ** rng.uniform(0.5, 1.5), nD)
    NN, DD = (a.ravel() for a in np.meshgrid(N, D))
    truth = [[1.7 * rng.uniform(0.7, 1.3), 400 * 10 ** rng.uniform(-1, 1), 410 * 10 ** rng.uniform(-1, 1),
              rng.uniform(0.2, 0.5), rng.uniform(0.2, 0.5)]]
    y = LAWS["chinchilla"].predict(LAWS["chinchilla"].from_natural(np.array(truth)), [NN, DD])[0]
    return {"N": NN, "D": DD, "y": y * np.exp(rng.normal(0, rng.uniform(0.002, 0.02), NN.size))}


def _no_pruning_objective(data):
    """The same multi-start with every start run to the end (racing's rounds, nothing pruned)."""
    import functools

    from scalinglab.fitting import multistart as ms

    original = ms.newton_batch
    ms.newton_batch = functools.partial(original, keep=1.0)
    try:
        return fit(data, "chinchilla", "N,D", "y", bootstrap=0, backtest_holdouts=[]).objective
    finally:
        ms.newton_batch = original


# Weak grids 0 and 2 are two of the three of weak_grid(0..13) where racing by objective alone (before the diverse
# survivors, the finishing of the best unconverged end points and the pruned-start check) ended worse than running
# every start to the end: 1.8113e-4 vs 1.8105e-4 and 6.3615e-5 vs 6.3614e-5.
@pytest.mark.parametrize("seed", [0, pytest.param(2, marks=pytest.mark.slow)])  # one weak grid in the fast subset
def test_racing_keeps_the_best_basin_on_weak_grids(seed):
    data = weak_grid(seed)
    result = fit(data, "chinchilla", "N,D", "y", bootstrap=0, backtest_holdouts=[])
    assert result.objective <= _no_pruning_objective(data) * (1 + 1e-6)
    check = result.diagnostics["racing_check"]
    assert check["n_checked"] == 64 and check["winner_objective"] >= result.objective
    assert result.identification["weakly_identified"]


@pytest.mark.slow
def test_racing_never_loses_silently_on_14_weak_grids():
    """Over 14 weak grids: racing reaches the no-pruning optimum, or the fit says why it cannot be trusted (a
    pruned start beat the survivors, or the law is weakly identified)."""
    for seed in range(14):
        data = weak_grid(seed)
        result = fit(data, "chinchilla", "N,D", "y", bootstrap=0, backtest_holdouts=[])
        reference = _no_pruning_objective(data)
        if result.objective > reference * (1 + 1e-6):
            said = result.diagnostics["racing_check"]["n_beat_winner"] or result.identification["weakly_identified"]
            assert said, (seed, result.objective, reference)


def test_identification_of_a_well_and_a_weakly_identified_fit(chinchilla):
    ident = chinchilla.identification
    assert 1e3 < ident["hessian_condition"] < 1e6 and not ident["weakly_identified"]
    weak = fit(weak_grid(12), "chinchilla", "N,D", "y", bootstrap=0, backtest_holdouts=[]).identification
    assert weak["weakly_identified"] and weak["hessian_condition"] > 1e10
    assert set(list(weak["weakest_direction"])[:2]) == {"b", "e"}  # B/D^beta and E trade off when beta -> 0


def _two_basin_law():
    """log y = amplitude * sin(frequency * x): the frequency has several basins."""
    def log_predict(theta, X):
        return theta[:, 0:1] * np.sin(theta[:, 1:2] * X[0][None, :])

    return Law(name="sine", formula="log y = a*sin(w*x)", inputs=("x",), params=("a", "w"), log_predict=log_predict,
               starts=lambda X, logy: np.array([[a, w] for a in (0.5, 1.0) for w in np.linspace(0.5, 2.5, 9)]),
               log_inputs=(False,))


def test_bootstrap_basin_check_frees_resamples_trapped_by_warm_starts():
    # half the points follow frequency 1, half frequency 2: resampling flips which basin is best
    x = np.linspace(0.2, 3.0, 40)
    y = np.exp(np.where(np.arange(40) % 2 == 0, np.sin(x), np.sin(2 * x)))
    result = fit({"x": x, "y": y}, _two_basin_law(), "x", "y", bootstrap=200, backtest_holdouts=[],
                 bootstrap_starts=1)  # warm-start every resample from the one best optimum only
    check = result.diagnostics["bootstrap_basin_check"]
    assert check["n_checked"] == 8 and check["n_better"] >= 1 and check["refitted"]
    w = result.boot_natural[:, 1]
    assert np.any(np.abs(w - 1) < 0.2) and np.any(np.abs(w - 2) < 0.2)  # both basins among the draws


# ---- prediction intervals ----------------------------------------------------------------------------------------
# slow: a coverage count over 30 fits, like tests/test_coverage.py; the fast subset checks that the prediction
# interval contains the confidence band (test_predict_round_trip_and_status_filter, test_fit_cli.py's pipeline flags)
@pytest.mark.slow
def test_prediction_interval_covers_new_runs_the_confidence_band_does_not():
    """On 30 synthetic ladders (7 sizes x 2 seeds, 2% noise), a new run at the largest size falls inside the 95%
    prediction interval about 95% of the time; the confidence band of the curve is far too narrow for it."""
    law = LAWS["saturating_power"]
    theta = law.from_natural(np.array([[1.5, 300.0, 0.4]]))
    sizes = np.geomspace(1e4, 1e6, 7)
    N = np.repeat(sizes, 2)
    inside_pi = inside_ci = 0
    trials = 30
    for trial in range(trials):
        rng = np.random.default_rng(500 + trial)
        y = law.predict(theta, N[None])[0] * np.exp(rng.normal(0, 0.02, N.size))
        result = fit({"N": N, "y": y}, law, "N", "y", bootstrap=40, seed=trial, backtest_holdouts=[])
        new = law.predict(theta, [[1e6]])[0, 0] * np.exp(rng.normal(0, 0.02))
        p = predict(result, {"N": 1e6})
        inside_pi += p["prediction_interval"][0][0] <= new <= p["prediction_interval"][1][0]
        inside_ci += p["confidence_interval"][0][0] <= new <= p["confidence_interval"][1][0]
    assert result.observation_noise["sigma"] == pytest.approx(0.02, rel=0.5)
    assert "residuals" in result.observation_noise["method"] and result.observation_noise["dof"] == 11
    assert inside_pi / trials >= 0.85 and inside_ci / trials <= 0.75, (inside_pi, inside_ci)


# ---- hyperparameter grids: the envelope ----------------------------------------------------------------------
def test_envelope_fits_each_cells_best_grid_value_and_flags_the_edges(tmp_path):
    from report_synthetic import ISO_LRS, ISO_SIZES, best_lr, grid_ladder

    runs = grid_ladder()
    result = fit(runs, "chinchilla", ["n_params", "tokens_seen"], "final_val_loss", bootstrap=0,
                 backtest_holdouts=[])
    grid = load_fit(result.save(tmp_path / "fit.json")).envelope  # recorded in the fit JSON
    cells = grid["cells"]
    assert grid["columns"] == ["grid_lr"] and grid["grid"] == {"grid_lr": ISO_LRS}
    assert result.n_points == grid["n_kept"] == 2 * len(cells) and grid["n_rows"] == len(runs)  # 2 seeds a cell
    for cell in cells:
        truth = best_lr(cell["size"])
        assert cell["winner"] == {"grid_lr": min(truth, max(ISO_LRS))}, cell
        assert cell["at_edge"] == ({"grid_lr": "highest"} if truth > max(ISO_LRS) else {}), cell
        assert len(cell["scores"]) == len(ISO_LRS) and all(s["n_runs"] == 2 for s in cell["scores"])
    assert {c["size"] for c in cells if c["at_edge"]} == {ISO_SIZES[0]}
    assert result.params["alpha"] == pytest.approx(0.34, abs=0.03)  # the envelope recovers the law

    everything = fit(runs, "chinchilla", ["n_params", "tokens_seen"], "final_val_loss", bootstrap=0,
                     backtest_holdouts=[], envelope="none")
    assert everything.n_points == len(runs) and everything.envelope == {}


def test_envelope_ranks_a_value_with_a_diverged_seed_after_complete_ones():
    from report_synthetic import grid_ladder

    from scalinglab.fitting.envelope import envelope

    runs = grid_ladder(seeds=(0, 1, 2))
    cell = (runs["size_label"] == runs["size_label"].iloc[-1]) & (runs["budget"] == runs["budget"].iloc[-1])
    best = runs[cell].groupby("grid_lr")["final_val_loss"].mean().idxmin()
    broken = runs.index[cell & (runs["grid_lr"] == best)][0]
    runs.loc[broken, ["status", "final_val_loss"]] = ["diverged", np.nan]
    record = envelope(runs, "final_val_loss", ["grid_lr"], ["sweep", "size_label", "budget"], size="n_params").record
    last = record["cells"][-1]
    assert last["winner"]["grid_lr"] != best
    assert {s["value"]["grid_lr"]: s["n_finished"] for s in last["scores"]}[best] == 2


def test_envelope_names_an_unknown_grid_column():
    from report_synthetic import grid_ladder

    with pytest.raises(FitInputError, match=r"no column 'grid_warmup'.*grid_lr"):
        fit(grid_ladder(), "chinchilla", ["n_params", "tokens_seen"], "final_val_loss", bootstrap=0,
            envelope="grid_warmup")


def test_a_grid_target_trains_the_value_that_won_at_the_largest_ladder_size():
    from report_synthetic import ISO_LRS, ISO_SIZES, best_lr, grid_ladder

    from scalinglab.fitting.targets import grid_choice

    assert grid_choice(grid_ladder(), "final_val_loss", {"lr": ISO_LRS}) == {"lr": best_lr(ISO_SIZES[-1])}
    assert grid_choice(grid_ladder(), "final_val_loss", {}) == {}


# ---- approaches 2 and 3 on the study's own runs ----------------------------------------------------------------
@pytest.fixture(scope="module")
def iso_fit():
    from report_synthetic import grid_ladder

    return fit(grid_ladder(budgets=[1e15, 3e15, 1e16, 3e16, 1e19]), "chinchilla", ["n_params", "tokens_seen"],
               "final_val_loss", bootstrap=200, backtest_holdouts=[])


def test_approach_2_and_3_agree_within_their_intervals_on_an_isoflop_ladder(iso_fit, tmp_path):
    from report_synthetic import ISO_TRUTH

    record = load_fit(iso_fit.save(tmp_path / "fit.json")).approaches  # in the fit JSON
    truth = ISO_TRUTH["beta"] / (ISO_TRUTH["alpha"] + ISO_TRUTH["beta"])
    two, three = record["approach2"], record["approach3"]
    assert two["compute"] == "compute_budget" and two["n_budgets"] == 4 and two["n_runs"] == iso_fit.n_points
    for approach in (two, three):
        lo, hi = approach["interval"]["a"]
        assert lo < truth < hi and lo < approach["a"] < hi
    assert record["compute"] == [1e15, 3e15, 1e16, 3e16, 1e19]
    assert [(r["quantity"], r["C"]) for r in record["table"][:4]] == [
        ("a", None), ("N_opt", 1e15), ("D_opt", 1e15), ("tokens_per_param", 1e15)]
    assert len(record["table"]) == 1 + 3 * 5
    for row in record["table"]:
        for side in ("approach2", "approach3"):
            lo, hi = row[side]["interval"]
            assert lo < row[side]["value"] < hi, row
    at = three["at"]["1e+16"]
    assert at["D_opt"]["value"] == pytest.approx(1e16 / (6 * at["N_opt"]["value"]))
    assert record["verdict"]["agree"] is True and "agree within their intervals" in record["verdict"]["text"]


def test_approach_2_names_a_budget_whose_minimum_is_not_interior(iso_fit):
    refused = iso_fit.approaches["approach2"]["refused"]
    assert [r["C"] for r in refused] == [1e19] and "above the largest sampled size" in refused[0]["why"]


def test_a_one_input_fit_of_an_isoflop_sweep_still_has_approach_2():
    from report_synthetic import grid_ladder

    result = fit(grid_ladder(), "saturating_power", "n_params", "final_val_loss", bootstrap=20,
                 backtest_holdouts=[])
    record = result.approaches
    assert record["approach2"]["n_budgets"] == 4 and record["approach2"]["interval"]["a"][0] is not None
    assert "no closed-form" in record["approach3"]["skipped"] and record["verdict"]["agree"] is None


# ---- targets: the two-step accuracy ----------------------------------------------------------------------------
LINK = (0.1, 0.95, 6.0, 2.3)  # floor, ceiling, k, L0 of the true loss -> accuracy link


def classification_ladder(rng, sizes, seeds=(0, 1, 2)):
    """Metrics and curves of a classification sweep: loss = E + A N^-alpha (noisy), accuracy = the true link at
    the loss (noisy); every run's checkpoints lie on the same link at higher losses."""
    from scalinglab.fitting.accuracy import link

    E, A, alpha = 1.5, 40.0, 0.35
    rows, curves = [], []
    for n in sizes:
        for seed in seeds:
            loss = (E + A * n**-alpha) * np.exp(rng.normal(0, 0.01))
            run = f"n{n:g}-s{seed}"
            rows.append({"run_id": run, "sweep": "cls", "n_params": n, "seed": seed, "status": "ok",
                         "final_val_loss": loss, "val_accuracy": link(LINK, loss) + rng.normal(0, 0.005)})
            for step, extra in ((10, 1.0), (30, 0.5), (100, 0.2)):
                curves.append({"run_id": run, "step": step, "val_loss": loss + extra,
                               "val_accuracy": link(LINK, loss + extra) + rng.normal(0, 0.005)})
    return pd.DataFrame(rows), pd.DataFrame(curves), (E, A, alpha)


def test_two_step_accuracy_chains_the_link_to_the_loss_prediction_and_is_scored(tmp_path):
    from scalinglab.fitting.accuracy import link
    from scalinglab.fitting.targets import predict_target, score

    rng = np.random.default_rng(4)
    ladder, curves, (E, A, alpha) = classification_ladder(rng, np.geomspace(1e3, 1e5, 6))
    path = fit(ladder, "saturating_power", "n_params", "final_val_loss", bootstrap=200,
               backtest_holdouts=[]).save(tmp_path / "fit.json")
    target_n = 4e5
    prediction = predict_target(path, ladder, target="big", sweep="cls", x={"n_params": target_n}, run_ids=["t0"],
                                curves=curves)
    accuracy = prediction["accuracy"]
    true_loss = E + A * target_n**-alpha
    truth = link(LINK, true_loss)
    assert accuracy["y"] == "val_accuracy" and accuracy["link"]["n_points"] == 18 * 4
    assert accuracy["link"]["n_runs"] == 18 and accuracy["link"]["extrapolated"]  # below the ladder's losses
    assert accuracy["value"] == pytest.approx(truth, abs=0.02)
    clo, chi = accuracy["confidence_interval"]
    plo, phi = accuracy["prediction_interval"]
    assert clo < accuracy["value"] < chi and plo < truth < phi
    assert plo < clo and phi > chi - 1e-3  # a new run is less certain than the mean (up to Monte Carlo noise)
    # without curves the link rests on the final runs only; without a measured accuracy there is no two-step
    assert predict_target(path, ladder, target="big", sweep="cls", x={"n_params": target_n},
                          run_ids=[])["accuracy"]["link"]["n_points"] == 18
    assert predict_target(path, ladder.drop(columns="val_accuracy"), target="big", sweep="cls",
                          x={"n_params": target_n}, run_ids=[])["accuracy"] is None

    runs = pd.DataFrame([{"target": "big", "run_id": "t0", "seed": 0, "status": "ok", "final_val_loss": true_loss,
                          "val_accuracy": truth}])
    table, card = score([prediction], runs)
    scored = card["targets"]["big"]["accuracy"]
    assert scored["truth"] == truth and scored["in_prediction_interval"] is True
    assert scored["relative_error"] == pytest.approx((accuracy["value"] - truth) / truth)
    assert table.loc[0, "accuracy_truth"] == truth and bool(table.loc[0, "accuracy_in_prediction_interval"])


@pytest.mark.slow  # about 6 s of CPU: two fits of 5,000 rows with their bootstraps
def test_many_rows_refit_from_one_newton_step_to_the_same_intervals(monkeypatch):
    """#14: from LARGE_ROWS rows a bootstrap refit starts one shared-curvature Newton step from the point fit and
    stops once its step is below STEP_TOL standard errors: the intervals are those of the full refits.
    Run at 5,000 rows (LARGE_ROWS lowered to it), where the one step alone is further from each refit's optimum:
    refits stopped right after it (STEP_TOL 1e3) miss by 4.6% of an interval's width and fail here, while at
    20,000 rows they missed by 1.2% and passed. The basin check, the same in both fits and tested on its own, is
    off: it was 80% of this test's time."""
    from scalinglab.fitting import bootstrap

    rng = np.random.default_rng(0)
    n = 5000
    monkeypatch.setattr(bootstrap, "LARGE_ROWS", n)
    monkeypatch.setattr(bootstrap, "BASIN_CHECKS", 0)
    x = np.exp(rng.uniform(np.log(1e4), np.log(1e8), n))
    frame = pd.DataFrame({"N": x, "loss": (1.7 + 400 * x**-0.34) * np.exp(rng.normal(0, 0.01, n))})
    fast = fit(frame, "saturating_power", "N", "loss", bootstrap=60, backtest_holdouts=[])
    monkeypatch.setattr(bootstrap, "LARGE_ROWS", 10 * n)
    full = fit(frame, "saturating_power", "N", "loss", bootstrap=60, backtest_holdouts=[])
    for name, (lo, hi) in full.intervals.items():
        assert fast.intervals[name] == pytest.approx([lo, hi], abs=0.02 * (hi - lo)), name
    assert fast.diagnostics["bootstrap_not_converged"] == 0


def test_approach_2_keeps_a_sparse_isoflop_design_and_still_has_intervals(monkeypatch):
    """Three sizes per budget and one seed (a study that fits on 2 cores): resampling runs within a budget would
    leave fewer than 3 distinct sizes most of the time; the residual bootstrap keeps the design."""
    import report_synthetic
    from report_synthetic import grid_ladder

    monkeypatch.setattr(report_synthetic, "ISO_TOKENS_PER_PARAM", (3.0, 60.0))
    runs = grid_ladder(seeds=(0,))
    result = fit(runs, "chinchilla", ["n_params", "tokens_seen"], "final_val_loss", bootstrap=300,
                 backtest_holdouts=[])
    two = result.approaches["approach2"]
    assert two["n_budgets"] == 3 and all(b["n_points"] == 3 for b in two["budgets"])
    assert [r["C"] for r in two["refused"]] == [3e16]  # two sizes: no parabola, named
    assert two["bootstrap"]["n_used"] > 0.9 * 300 and "observation noise" in two["bootstrap"]["method"]
    lo, hi = two["interval"]["a"]
    assert lo < 0.28 / 0.62 < hi and result.approaches["verdict"]["agree"] is True


# ---- worker processes: the time changes, not the fit ------------------------------------------------------------
needs_fork = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="workers are forked on Linux only; "
                                "elsewhere a batch runs in the calling process, so there is no worker to test")


def test_interval_quantiles_are_scipy_stats_to_the_bit():
    """t_expansion and the BCa levels take their quantiles from scipy.special (scipy.stats is slow to import): the
    same bits as scipy.stats' t.ppf, norm.ppf and norm.cdf, which are what they computed before."""
    from scipy.stats import norm, t

    from scalinglab.fitting.bootstrap import _bca_levels, t_expansion

    for ci in (0.5, 0.9, 0.95, 0.99):
        q = 0.5 + ci / 2
        for dof in (1, 2, 3, 5, 8, 13, 40, 237, 10_000):
            assert t_expansion(ci, dof) == float(t.ppf(q, dof) / norm.ppf(q))
    rng = np.random.default_rng(3)
    samples, jack, q = rng.normal(1.0, 0.2, 500), rng.normal(1.0, 0.05, 30), np.array([0.025, 0.975])
    below = np.sum(samples < 1.02) / samples.size
    d = jack.mean() - jack
    acc = np.sum(d**3) / (6.0 * np.sum(d * d) ** 1.5)
    z0, z = norm.ppf(below), norm.ppf(q)
    assert np.array_equal(_bca_levels(samples, q, 1.02, jack), norm.cdf(z0 + (z0 + z) / (1 - acc * (z0 + z))))


@needs_fork
def test_a_batch_runs_in_a_worker_and_comes_back_in_order():
    """fitting.workers.InBackground: with 2 workers the batch starts in a forked process while this one works on;
    the results come back in the items' order, as they do when everything runs here (workers=1)."""
    from scalinglab.fitting.workers import InBackground

    def job(i):
        time.sleep(0.05)
        return i * i, os.getpid()

    batch = InBackground(job, range(3), workers=2)
    time.sleep(0.3)  # this process's own work, while a worker takes the batch
    side_by_side = batch.results()
    alone = InBackground(job, range(3), workers=1).results()
    assert [value for value, _ in side_by_side] == [value for value, _ in alone] == [0, 1, 4]
    assert {pid for _, pid in side_by_side} - {os.getpid()}, "no item ran in a worker"
    assert {pid for _, pid in alone} == {os.getpid()}


@needs_fork
def test_this_process_takes_the_batch_back_from_its_end():
    """Asked for the results at once, this process runs the items no worker has started, from the last one back,
    while the worker goes on from the front: the batch splits between them, and the results keep their order."""
    from scalinglab.fitting.workers import InBackground

    here = []

    def job(i):
        here.append(i)  # this process's list: a worker appends to its own copy
        time.sleep(0.2)
        return i, os.getpid()

    results = InBackground(job, range(6), workers=2).results()
    assert [i for i, _ in results] == list(range(6))
    assert results[0][1] != os.getpid(), "the first item did not run in the worker"
    assert here and here == list(range(5, 5 - len(here), -1)), f"taken back out of order: {here}"
    assert [i for i, pid in results if pid == os.getpid()] == sorted(here)


@needs_fork
def test_a_worker_claims_an_item_only_when_it_starts_it():
    """With two items and one worker busy on the first, the second is this process's to take: a worker does not
    hold items it has not started (a pool's queue would, and this process would wait idle)."""
    from scalinglab.fitting.workers import InBackground

    def job(i):
        time.sleep(0.5)
        return os.getpid()

    batch = InBackground(job, range(2), workers=2)
    time.sleep(0.2)  # this process's own work: the worker has started item 0
    first, second = batch.results()
    assert first != os.getpid()
    assert second == os.getpid()


@needs_fork
def test_a_worker_error_or_death_reaches_this_process():
    """An exception in a worker is raised here as it was raised there; a worker that dies mid-item is reported
    (not waited for), and no child is left behind either way."""
    import multiprocessing

    from scalinglab.fitting.workers import InBackground

    def fails_first(i):
        if i == 0:
            raise ZeroDivisionError("item 0 failed in a worker")
        time.sleep(0.5)
        return i

    with pytest.raises(ZeroDivisionError, match="item 0 failed in a worker"):
        InBackground(fails_first, range(3), workers=2).results()
    assert multiprocessing.active_children() == []

    tests_process = os.getpid()

    def dies_first(i):
        if i == 0 and os.getpid() != tests_process:  # (never this process, should it take item 0 under load)
            os._exit(3)
        time.sleep(1.0)
        return i

    with pytest.raises(RuntimeError, match="exit code 3"):
        InBackground(dies_first, range(3), workers=2).results()
    assert multiprocessing.active_children() == []


@needs_fork
def test_the_basin_check_in_workers_gives_the_same_fit(monkeypatch, tmp_path):
    """The bootstrap's basin check (a few resamples refitted from a wide set of starts) shared out among 2 processes:
    the same fit JSON, bit for bit, as in this process alone, and some resamples really were checked in a worker."""
    bootstrap_module = importlib.import_module("scalinglab.fitting.bootstrap")
    check_one = bootstrap_module._best_from_wide_starts
    pids = tmp_path / "pids"

    def check_one_noting_the_process(*args):
        with pids.open("a") as out:  # a file: a worker's memory does not come back
            out.write(f"{os.getpid()}\n")
        return check_one(*args)

    monkeypatch.setattr(bootstrap_module, "_best_from_wide_starts", check_one_noting_the_process)
    frame = pd.read_csv(DATA).rename(columns={"Model Size": "N", "Training FLOP": "C"})

    def fitted(workers):
        return fit(frame, "chinchilla", "N,D", "loss", derive=["D=C/(6*N)"], bootstrap=20, backtest_holdouts=[],
                   workers=workers).to_dict()

    here = fitted(1)
    assert set(pids.read_text().split()) == {str(os.getpid())}
    assert here["diagnostics"]["bootstrap_basin_check"]["n_checked"] == bootstrap_module.BASIN_CHECKS
    pids.unlink()
    side_by_side = fitted(2)
    assert set(pids.read_text().split()) - {str(os.getpid())}, "no resample was checked in a worker"
    assert json.dumps(here, sort_keys=True) == json.dumps(side_by_side, sort_keys=True)


@needs_fork
def test_a_worker_error_stops_this_process_at_once():
    """This process looks for a worker's error between the items it takes back: it stops at the next one instead of
    running the rest of the batch first."""
    from scalinglab.fitting.workers import InBackground

    tests_process, here = os.getpid(), []

    def fails_first(i):
        if i == 0 and os.getpid() != tests_process:
            raise ZeroDivisionError("item 0 failed in a worker")
        here.append(i)
        time.sleep(1.0)
        return i

    with pytest.raises(ZeroDivisionError):
        InBackground(fails_first, range(6), workers=2).results()
    assert len(here) <= 2, f"this process went on after the worker's error: {here}"


@needs_fork
def test_workers_die_with_the_process_that_forked_them():
    """A process killed with SIGKILL (no clean-up runs) leaves no worker behind: each asked the kernel to kill it when
    its parent dies (PR_SET_PDEATHSIG)."""
    import subprocess

    script = ("import os, signal, sys, time; sys.path.insert(0, sys.argv[1]); "
              "from scalinglab.fitting.workers import InBackground; "
              "batch = InBackground(lambda i: time.sleep(60), range(4), workers=3); "
              "print(' '.join(str(p.pid) for p in batch.processes), flush=True); "
              "os.kill(os.getpid(), signal.SIGKILL)")
    out = subprocess.run([sys.executable, "-c", script, str(Path(__file__).resolve().parents[1] / "workflow")],
                         capture_output=True, text=True, timeout=60)
    pids = [int(pid) for pid in out.stdout.split()]
    assert len(pids) == 2, out.stderr

    def running(pid):  # a zombie waiting for init to reap it is dead
        try:
            return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
        except FileNotFoundError:
            return False

    deadline = time.monotonic() + 10
    while any(running(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(running(pid) for pid in pids), "a worker outlived the process that forked it"


@needs_fork
def test_a_batch_started_in_a_worker_runs_there():
    """A worker does not fork workers of its own (a batch it starts runs there): the CPUs are shared out by the
    process that started the first batch."""
    from scalinglab.fitting.workers import InBackground

    def inner(i):
        return os.getpid()

    def outer(i):
        time.sleep(0.2)
        return os.getpid(), InBackground(inner, range(3), workers=4).results()

    results = InBackground(outer, range(4), workers=2).results()
    in_worker = [(pid, inner_pids) for pid, inner_pids in results if pid != os.getpid()]
    assert in_worker, "no item ran in a worker"
    assert all(set(inner_pids) == {pid} for pid, inner_pids in in_worker)


@needs_fork
def test_laws_ranked_side_by_side_rank_the_same(monkeypatch):
    """rank_laws with workers=2 fits the laws in two processes, each law whole in one, and returns the same rows,
    bit for bit, as with everything in this process."""
    compare_module = importlib.import_module("scalinglab.fitting.compare")
    ranked = compare_module._ranked_law

    def ranked_with_pid(*args):  # the process that fitted the law, in its row
        row, draws = ranked(*args)
        return {**row, "pid": os.getpid()}, draws

    monkeypatch.setattr(compare_module, "_ranked_law", ranked_with_pid)
    frame, x, _ = synthetic("saturating_power", np.random.default_rng(5))
    laws = ["power", "saturating_power", "linear", "logarithmic"]
    alone, side_by_side = (rank_laws(frame, x, "y", laws=laws, bootstrap=20, workers=w) for w in (1, 2))
    assert {row.pop("pid") for row in alone} == {os.getpid()}
    assert {row.pop("pid") for row in side_by_side} - {os.getpid()}, "no law was fitted in a worker"
    assert alone[0]["law"] == "saturating_power"
    assert json.dumps(alone, sort_keys=True) == json.dumps(side_by_side, sort_keys=True)


@needs_fork
def test_an_error_stops_the_workers_at_once():
    """A fit that fails while its batch runs (close(abandon=True), as fit() does on any error) kills the workers
    mid-item instead of waiting for them, and leaves no child process behind."""
    import multiprocessing

    from scalinglab.fitting.workers import InBackground

    batch = InBackground(lambda i: time.sleep(30), range(3), workers=3)
    time.sleep(0.3)
    assert len(multiprocessing.active_children()) == 2
    start = time.perf_counter()
    batch.close(abandon=True)
    assert time.perf_counter() - start < 10
    assert multiprocessing.active_children() == []


@needs_fork
def test_backtest_origins_in_workers_give_the_same_fit(monkeypatch):
    """Chinchilla on Hoffmann's data with the default three backtest origins: fitted in a worker process while this
    one fits all the data (workers=2), the fit JSON is the same, bit for bit, as with everything here (workers=1)."""
    backtest_module = importlib.import_module("scalinglab.fitting.backtest")  # the package exports a function so named
    workers_module = importlib.import_module("scalinglab.fitting.workers")
    origin = backtest_module._origin
    monkeypatch.setattr(backtest_module, "_origin", lambda *args: {**origin(*args), "pid": os.getpid()})
    returned = []
    results = workers_module.InBackground.results
    monkeypatch.setattr(workers_module.InBackground, "results", lambda self: returned.append(results(self)) or
                        returned[-1])
    frame = pd.read_csv(DATA).rename(columns={"Model Size": "N", "Training FLOP": "C"})

    def fitted(workers):
        return fit(frame, "chinchilla", "N,D", "loss", derive=["D=C/(6*N)"], bootstrap=0, workers=workers)

    here, side_by_side = fitted(1).to_dict(), fitted(2).to_dict()
    assert [o["holdout"] for o in here["backtest"]["origins"]] == [1, 2, 3]
    assert here["backtest"]["rms_log_error"] is not None
    assert json.dumps(here, sort_keys=True) == json.dumps(side_by_side, sort_keys=True)
    assert {o["pid"] for o in returned[0]} == {os.getpid()}
    assert {o["pid"] for o in returned[1]} - {os.getpid()}, "no origin was fitted in a worker"
