"""How well the data pin the optimum: parameters left on a bound of the law's box, and the conditioning of the
curvature at the optimum (weak identification)."""

from __future__ import annotations

import numpy as np

BOUND_TOLERANCE = 1e-6  # a parameter this close to a bound (relative to max(|bound|, 1)) is reported as on it
WEAK_CONDITION = 1e6  # scaled condition number above which a law is weakly identified on the data
# Measured (scaled condition numbers): well identified fits 1e2 to 8e4 (Epoch's Chinchilla data 7.9e4, synthetic
# laws on 8 sizes x 3 replicates 1e2 to 4e4); Chinchilla on 3-5 sizes x 3-5 data budgets over 0.5-1.5 decades,
# where B/D^beta and E trade off, 4e6 to 1.5e13.


def parameters_at_bounds(law, theta) -> dict:
    """{reported name: {side, bound, fit_parameter}} for each fitted parameter (optimiser coordinates) that ended
    on a bound of the law's box: the data did not pin it, and its bootstrap interval is not a real interval."""
    out = {}
    for name, value, (lo, hi) in zip(law.params, theta, law.box):
        for side, bound in (("lower", lo), ("upper", hi)):
            if np.isfinite(bound) and abs(value - bound) <= BOUND_TOLERANCE * max(abs(bound), 1.0):
                out[law.reported_name(name)] = {"side": side, "bound": float(bound), "fit_parameter": name}
    return out


def identification(law, Xs, logy, theta, delta) -> dict:
    """The condition number of the curvature of the summed Huber objective at the optimum theta (optimiser
    coordinates), taken as the Gauss-Newton matrix with IRLS weights, J^T diag(min(1, delta/|r|)) J (the exact
    Hessian of the Huber loss is zero outside its band, so it says nothing about most points), scaled to unit
    diagonal so that parameter units do not count. Large means a combination of parameters the data barely
    constrain: `weakest_direction` gives it (loadings on the fitted parameters, largest first)."""
    with np.errstate(all="ignore"):
        lf, J = law.value_and_jacobian(np.asarray(theta, dtype=float)[None, :], Xs)
        resid = lf[0] - logy
        w = np.minimum(1.0, delta / np.maximum(np.abs(resid), 1e-300))
        H = J[0].T @ (w[:, None] * J[0])
    out = {"hessian_condition": None, "weakly_identified": None, "weakest_direction": {},
           "threshold": WEAK_CONDITION, "curvature": "Gauss-Newton with IRLS weights, scaled to unit diagonal"}
    if not np.all(np.isfinite(H)):
        return out
    scale = np.sqrt(np.maximum(np.diag(H), 1e-300))
    eigenvalues, vectors = np.linalg.eigh(H / np.outer(scale, scale))
    condition = float(eigenvalues[-1] / eigenvalues[0]) if eigenvalues[0] > 0 else float("inf")
    weakest = vectors[:, 0] * np.sign(vectors[np.argmax(np.abs(vectors[:, 0])), 0])
    order = np.argsort(-np.abs(weakest))
    out.update(hessian_condition=condition, weakly_identified=bool(condition > WEAK_CONDITION),
               weakest_direction={law.params[i]: round(float(weakest[i]), 3) for i in order if abs(weakest[i]) > 0.2})
    return out
