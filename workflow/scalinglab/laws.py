"""The catalogue of scaling laws: one small declarative object per law.

Every law is fitted on log residuals, ``log f(x; theta) - log y``, so each law provides

* ``log_predict(theta, X) -> (S, n)``: the log of the prediction for a batch of ``S`` internal parameter
  vectors ``theta`` (shape ``(S, P)``) at ``n`` points (``X`` has shape ``(k, n)``, one row per input);
* ``log_grad(theta, X) -> (logf (S, n), J (S, n, P))``: the same plus the analytic Jacobian of log f;
* ``to_natural`` / ``from_natural``: map the internal (fitted) parametrisation to the reported one.
  Laws with an irreducible term use Hoffmann's parametrisation, E = exp(e), A = exp(a), and are evaluated in
  log-sum-exp form, exactly as Hoffmann et al. (2022) and Besiroglu et al. (2024) fit Chinchilla;
* ``starts(X, logy) -> (K, P)``: the starting points (a fixed grid, or one placed from the data's scale);
* ``bounds``: box bounds on the internal parameters (``-inf``/``inf`` for none).

Adding a law means adding one ``Law(...)`` to ``LAWS`` below. Keep this module free of heavy imports (numpy only).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

INF = float("inf")
_TINY = 1e-300


def _identity(theta):
    return theta


@dataclass(frozen=True)
class Law:
    name: str
    formula: str
    inputs: tuple[str, ...]  # names of the x variables, in the order the law expects them
    params: tuple[str, ...]  # internal (fitted) parameter names
    natural: tuple[str, ...]  # reported parameter names (same length and order as params)
    log_predict: Callable
    log_grad: Callable | None
    starts: Callable  # (X, logy) -> (K, P) internal starting points
    bounds: tuple[tuple[float, float], ...]
    to_natural: Callable = _identity
    from_natural: Callable = _identity
    irreducible: bool = False  # has an irreducible term, fitted in log-sum-exp form
    log_inputs: tuple[bool, ...] = ()  # whether each input is passed through a log (must be > 0)
    scale_inputs: bool = False  # fit on x / scale; ``unscale(theta, scales)`` maps back
    unscale: Callable | None = None
    derived: Callable | None = None  # (natural dict of arrays, settings) -> dict of arrays
    # optional fused summed-Huber objective and gradient: (theta, X, logy, W or None, delta) -> (f (S,), g (S, P));
    # must agree with log_grad (a test checks); used by the optimiser where present for speed
    fast_objective: Callable | None = None
    # optional fused objective, gradient and 5x5 Hessian for the batched Newton optimiser:
    # (theta, X, logy, W or None, delta, curvature) -> (f (S,), g (S, P), H (S, P, P)); curvature "exact" or "irls"
    fast_hessian: Callable | None = None
    description: str = ""
    reference: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def n_params(self) -> int:
        return len(self.params)

    def predict(self, theta, X) -> np.ndarray:
        """Predictions in natural units for internal parameters theta ((P,) or (S, P)) at X ((k, n))."""
        theta = np.atleast_2d(np.asarray(theta, dtype=float))
        with np.errstate(all="ignore"):
            return np.exp(self.log_predict(theta, np.asarray(X, dtype=float)))

    def numeric_grad(self, theta, X, eps=1e-6):
        """Central finite differences of log_predict (fallback, and the tests' check of log_grad)."""
        theta = np.atleast_2d(np.asarray(theta, dtype=float))
        f = self.log_predict(theta, X)
        J = np.empty(f.shape + (theta.shape[1],))
        for j in range(theta.shape[1]):
            h = eps * np.maximum(1.0, np.abs(theta[:, j]))
            tp, tm = theta.copy(), theta.copy()
            tp[:, j] += h
            tm[:, j] -= h
            J[:, :, j] = (self.log_predict(tp, X) - self.log_predict(tm, X)) / (2 * h[:, None])
        return f, J

    def value_and_jacobian(self, theta, X):
        if self.log_grad is not None:
            return self.log_grad(theta, X)
        return self.numeric_grad(theta, X)

    def describe(self) -> dict:
        return {
            "name": self.name,
            "formula": self.formula,
            "inputs": list(self.inputs),
            "parameters": list(self.natural),
            "fit_parameters": list(self.params),
            "irreducible": self.irreducible,
            "description": self.description,
            "reference": self.reference,
        }


def product_grid(*axes) -> np.ndarray:
    return np.array(list(itertools.product(*axes)), dtype=float)


def _lse(*terms):
    """Stable log(sum(exp(terms))) and the softmax weights, all broadcast to one shape."""
    terms = np.broadcast_arrays(*terms)
    m = np.maximum.reduce(terms)
    m = np.where(np.isfinite(m), m, 0.0)
    exps = [np.exp(t - m) for t in terms]
    total = sum(exps)
    out = m + np.log(total)
    weights = [e / total for e in exps]
    return out, weights


def _ols(design, target):
    coef, *_ = np.linalg.lstsq(design, target, rcond=None)
    return coef


# ---------------------------------------------------------------------------------------------------------------
# Simple relations (the seed document's candidates). y must be > 0 (log residuals); x is rescaled by its
# geometric mean during the fit so that the slope is well conditioned, then mapped back.


def _affine_family(name, transform, dtransform_label, formula, unscale_power, log_x):
    # y = c0 + c1 * g(x)
    def log_predict(theta, X):
        g = transform(X[0])
        with np.errstate(all="ignore"):
            f = theta[:, 0:1] + theta[:, 1:2] * g[None, :]
            return np.where(f > 0, np.log(np.where(f > 0, f, 1.0)), np.nan)

    def log_grad(theta, X):
        g = transform(X[0])
        f = theta[:, 0:1] + theta[:, 1:2] * g[None, :]
        with np.errstate(all="ignore"):
            lf = np.where(f > 0, np.log(np.where(f > 0, f, 1.0)), np.nan)
            inv = 1.0 / f
        J = np.stack([inv, inv * g[None, :]], axis=-1)
        return lf, J

    def starts(X, logy):
        y = np.exp(logy)
        g = transform(X[0])
        c0, c1 = _ols(np.stack([np.ones_like(g), g], 1), y)
        spread = np.std(y) + 1e-12
        base = [[c0, c1]]
        for f0 in (0.5, 0.9, 1.0, 1.1, 1.5):
            for f1 in (0.0, 0.5, 1.0, 2.0):
                base.append([c0 * f0 if c0 else spread * f0, c1 * f1])
        base.append([np.median(y), 0.0])
        return np.array(base, dtype=float)

    def unscale(theta, scales):
        theta = np.array(theta, dtype=float, copy=True)
        s = scales[0]
        if unscale_power == "log":
            # c0 + c1 log(x/s) = (c0 - c1 log s) + c1 log x
            theta[..., 0] = theta[..., 0] - theta[..., 1] * np.log(s)
        else:
            theta[..., 1] = theta[..., 1] / s**unscale_power
        return theta

    return Law(
        name=name,
        formula=formula,
        inputs=("x",),
        params=("c0", "c1"),
        natural=("c0", "c1"),
        log_predict=log_predict,
        log_grad=log_grad,
        starts=starts,
        bounds=((-INF, INF), (-INF, INF)),
        log_inputs=(log_x,),
        scale_inputs=True,
        unscale=unscale,
        description=dtransform_label,
        reference="seed document: candidate relations between size and resources/performance",
    )


LINEAR = _affine_family("linear", lambda x: x, "y linear in x", "y = c0 + c1*x", 1.0, False)
SQRT = _affine_family("sqrt", lambda x: np.sqrt(x), "y linear in sqrt(x)", "y = c0 + c1*sqrt(x)", 0.5, False)
LOGARITHMIC = _affine_family(
    "logarithmic", lambda x: np.log(x), "y linear in log(x)", "y = c0 + c1*log(x)", "log", True
)


# exponential: y = A * exp(b x), fitted as log y = a + b x (A = exp(a)).
def _exp_log_predict(theta, X):
    return theta[:, 0:1] + theta[:, 1:2] * X[0][None, :]


def _exp_log_grad(theta, X):
    lf = _exp_log_predict(theta, X)
    J = np.stack(np.broadcast_arrays(np.ones_like(lf), X[0][None, :] + 0 * lf), axis=-1)
    return lf, J


def _exp_starts(X, logy):
    a, b = _ols(np.stack([np.ones_like(X[0]), X[0]], 1), logy)
    return np.array([[a, b]] + [[a + da, b * fb] for da in (-1, 0, 1) for fb in (0.0, 0.5, 2.0)])


def _exp_unscale(theta, scales):
    theta = np.array(theta, dtype=float, copy=True)
    theta[..., 1] = theta[..., 1] / scales[0]
    return theta


EXPONENTIAL = Law(
    name="exponential",
    formula="y = A*exp(b*x)",
    inputs=("x",),
    params=("a", "b"),
    natural=("A", "b"),
    log_predict=_exp_log_predict,
    log_grad=_exp_log_grad,
    starts=_exp_starts,
    bounds=((-INF, INF), (-INF, INF)),
    to_natural=lambda t: np.stack([np.exp(t[..., 0]), t[..., 1]], -1),
    from_natural=lambda t: np.stack([np.log(t[..., 0]), t[..., 1]], -1),
    log_inputs=(False,),
    scale_inputs=True,
    unscale=_exp_unscale,
    description="exponential relation (log y linear in x)",
    reference="seed document: candidate relations",
)


# pure power law: y = A x^-alpha, fitted as log y = a - alpha log x.
def _pow_log_predict(theta, X):
    return theta[:, 0:1] - theta[:, 1:2] * np.log(X[0])[None, :]


def _pow_log_grad(theta, X):
    lx = np.log(X[0])[None, :]
    lf = theta[:, 0:1] - theta[:, 1:2] * lx
    J = np.stack([np.ones_like(lf), -lx + 0 * lf], axis=-1)
    return lf, J


def _pow_starts(X, logy):
    lx = np.log(X[0])
    a, slope = _ols(np.stack([np.ones_like(lx), lx], 1), logy)
    alpha = -slope
    out = [[a, alpha]]
    for da in (-2, 0, 2):
        for al in (-1.0, -0.3, 0.0, 0.1, 0.3, 1.0):
            out.append([a + da + (al - alpha) * np.mean(lx), al])
    return np.array(out)


POWER = Law(
    name="power",
    formula="y = A*x^(-alpha)",
    inputs=("x",),
    params=("a", "alpha"),
    natural=("A", "alpha"),
    log_predict=_pow_log_predict,
    log_grad=_pow_log_grad,
    starts=_pow_starts,
    bounds=((-INF, INF), (-INF, INF)),
    to_natural=lambda t: np.stack([np.exp(t[..., 0]), t[..., 1]], -1),
    from_natural=lambda t: np.stack([np.log(t[..., 0]), t[..., 1]], -1),
    log_inputs=(True,),
    description="pure power law",
)


# saturating power law: y = E + A x^-alpha = exp(LSE(e, a - alpha log x)).
def _sat_log_predict(theta, X):
    lx = np.log(X[0])[None, :]
    out, _ = _lse(theta[:, 0:1], theta[:, 1:2] - theta[:, 2:3] * lx)
    return out


def _sat_log_grad(theta, X):
    lx = np.log(X[0])[None, :]
    out, (w0, w1) = _lse(theta[:, 0:1], theta[:, 1:2] - theta[:, 2:3] * lx)
    return out, np.stack([w0, w1, -w1 * lx], axis=-1)


def _sat_starts(X, logy):
    lx = np.log(X[0])
    y = np.exp(logy)
    ymin, ygeo = y.min(), np.exp(np.mean(logy))
    out = []
    for frac in (0.02, 0.3, 0.6, 0.85, 0.97):
        E = ymin * frac
        for alpha in (0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0, 1.5):
            for mult in (0.3, 1.0, 3.0):
                a = np.log(max(ygeo - E, 1e-6 * ygeo) * mult) + alpha * np.mean(lx)
                out.append([np.log(E), a, alpha])
    return np.array(out)


def _sat_to_nat(t):
    return np.stack([np.exp(t[..., 0]), np.exp(t[..., 1]), t[..., 2]], -1)


def _sat_from_nat(t):
    return np.stack([np.log(t[..., 0]), np.log(t[..., 1]), t[..., 2]], -1)


SATURATING_POWER = Law(
    name="saturating_power",
    formula="y = E + A*x^(-alpha)",
    inputs=("x",),
    params=("e", "a", "alpha"),
    natural=("E", "A", "alpha"),
    log_predict=_sat_log_predict,
    log_grad=_sat_log_grad,
    starts=_sat_starts,
    bounds=((-INF, INF), (-INF, INF), (0.0, 20.0)),
    to_natural=_sat_to_nat,
    from_natural=_sat_from_nat,
    irreducible=True,
    log_inputs=(True,),
    description="power law with an irreducible term (the pipeline default)",
    reference="Hestness et al. 2017; Hoffmann et al. 2022 (one-variable form)",
)


# Kaplan et al. 2020: L(N, D) = [(Nc/N)^(aN/aD) + Dc/D]^aD, fitted with nc = log Nc, dc = log Dc:
# log L = aD * LSE((aN/aD)(nc - log N), dc - log D).
def _kap_terms(theta, X):
    lN, lD = np.log(X[0])[None, :], np.log(X[1])[None, :]
    aN, aD, nc, dc = (theta[:, i : i + 1] for i in range(4))
    r = aN / aD
    return lN, lD, aN, aD, nc, dc, r


def _kap_log_predict(theta, X):
    lN, lD, aN, aD, nc, dc, r = _kap_terms(theta, X)
    out, _ = _lse(r * (nc - lN), dc - lD)
    return aD * out


def _kap_log_grad(theta, X):
    lN, lD, aN, aD, nc, dc, r = _kap_terms(theta, X)
    u1 = r * (nc - lN)
    s, (w1, w2) = _lse(u1, dc - lD)
    # d(aD*s)/d aN = aD * w1 * (nc - lN)/aD = w1 (nc - lN)
    d_aN = w1 * (nc - lN)
    d_aD = s - w1 * u1  # s + aD * w1 * (-aN/aD^2)(nc - lN)
    d_nc = aD * w1 * r
    d_dc = aD * w2
    return aD * s, np.stack([d_aN, d_aD, d_nc + 0 * s, d_dc], axis=-1)


def _kap_starts(X, logy):
    lN, lD = np.log(X[0]), np.log(X[1])
    out = []
    for aN in (0.05, 0.076, 0.15, 0.3):
        for aD in (0.05, 0.095, 0.2, 0.35):
            nc0 = np.median(lN + logy / aN)
            dc0 = np.median(lD + logy / aD)
            for dn in (-2.0, 0.0, 2.0):
                for dd in (-2.0, 0.0, 2.0):
                    out.append([aN, aD, nc0 + dn, dc0 + dd])
    return np.array(out)


KAPLAN = Law(
    name="kaplan",
    formula="L = ((Nc/N)^(alpha_N/alpha_D) + Dc/D)^alpha_D",
    inputs=("N", "D"),
    params=("alpha_N", "alpha_D", "nc", "dc"),
    natural=("alpha_N", "alpha_D", "Nc", "Dc"),
    log_predict=_kap_log_predict,
    log_grad=_kap_log_grad,
    starts=_kap_starts,
    bounds=((1e-4, 5.0), (1e-4, 5.0), (-INF, INF), (-INF, INF)),
    to_natural=lambda t: np.stack([t[..., 0], t[..., 1], np.exp(t[..., 2]), np.exp(t[..., 3])], -1),
    from_natural=lambda t: np.stack([t[..., 0], t[..., 1], np.log(t[..., 2]), np.log(t[..., 3])], -1),
    log_inputs=(True, True),
    description="Kaplan et al. joint L(N, D)",
    reference="Kaplan et al. 2020, eq. 1.5",
)


# Chinchilla (Hoffmann et al. 2022, approach 3): L = E + A/N^alpha + B/D^beta,
# fitted as LSE(a - alpha log N, b - beta log D, e). Internal order follows Hoffmann: (a, b, e, alpha, beta).
def _chin_log_predict(theta, X):
    lN, lD = np.log(X[0])[None, :], np.log(X[1])[None, :]
    out, _ = _lse(theta[:, 0:1] - theta[:, 3:4] * lN, theta[:, 1:2] - theta[:, 4:5] * lD, theta[:, 2:3])
    return out


def _chin_log_grad(theta, X):
    lN, lD = np.log(X[0])[None, :], np.log(X[1])[None, :]
    out, (w1, w2, w3) = _lse(
        theta[:, 0:1] - theta[:, 3:4] * lN, theta[:, 1:2] - theta[:, 4:5] * lD, theta[:, 2:3]
    )
    return out, np.stack([w1, w2, w3, -w1 * lN, -w2 * lD], axis=-1)


def _chin_huber_forward(theta, lN, lD, logy, W, delta):
    """The shared forward pass of the fast Chinchilla objectives, for a batch of starts: the max-shifted exponentials
    u1, u2, e3 of the three LSE terms, their sum s, the log residual r, |r|, the Huber band mask and the summed
    (weighted) Huber loss f. Call under np.errstate(all="ignore")."""
    u1 = np.multiply.outer(theta[:, 3], -lN)
    u1 += theta[:, 0:1]
    u2 = np.multiply.outer(theta[:, 4], -lD)
    u2 += theta[:, 1:2]
    e = theta[:, 2:3]
    m = np.maximum(u1, u2)
    np.maximum(m, e, out=m)
    u1 -= m
    np.exp(u1, out=u1)
    u2 -= m
    np.exp(u2, out=u2)
    e3 = np.exp(e - m)
    s = u1 + u2
    s += e3
    r = np.log(s)
    r += m
    r -= logy
    a = np.abs(r)
    inside = a <= delta
    h = np.where(inside, 0.5 * r * r, delta * (a - 0.5 * delta))
    if W is not None:
        h *= W
    return u1, u2, e3, s, r, a, inside, h.sum(1)


def _chin_fast_objective(theta, X, logy, W, delta):
    lN, lD = np.log(X[0]), np.log(X[1])
    with np.errstate(all="ignore"):
        u1, u2, e3, s, r, _, _, f = _chin_huber_forward(theta, lN, lD, logy, W, delta)
        np.clip(r, -delta, delta, out=r)
        if W is not None:
            r *= W
        r /= s
        u1 *= r
        u2 *= r
        e3 *= r
        g = np.empty((theta.shape[0], 5))
        g[:, 0] = u1.sum(1)
        g[:, 3] = -(u1 @ lN)
        g[:, 1] = u2.sum(1)
        g[:, 4] = -(u2 @ lD)
        g[:, 2] = e3.sum(1)
    return f, g


def _chin_fast_hessian(theta, X, logy, W, delta, curvature="exact"):
    """Summed Huber objective, gradient and Hessian of the Chinchilla LSE form, for a batch of starts.

    With g_i = grad LSE_i and w_ik the softmax weights, the exact Hessian is
    sum_i (h''(r_i) - psi_i) g_i g_i^T + psi_i sum_k w_ik J_k J_k^T  (J_k = d u_k / d theta, constant).
    curvature="irls" replaces h''(r) (0 outside the Huber band) by psi(r)/r = min(1, delta/|r|), the IRLS weight:
    a curvature that sees every point, which makes far-from-optimum steps much better on the L1-like objective."""
    lN, lD = np.log(X[0]), np.log(X[1])
    S = theta.shape[0]
    with np.errstate(all="ignore"):
        u1, u2, e3, s, r, a, inside, f = _chin_huber_forward(theta, lN, lD, logy, W, delta)
        psi = np.clip(r, -delta, delta)
        if W is not None:
            psi *= W
        np.reciprocal(s, out=s)
        u1 *= s  # softmax weights w1, w2, w3
        u2 *= s
        e3 *= s
        # flush negligible weights to zero: their products would be subnormal numbers, which are ~100x slower
        for w in (u1, u2, e3):
            w[w < 1e-100] = 0.0
        if curvature == "exact":
            c = inside.astype(float)
        else:
            c = np.where(inside, 1.0, delta / np.maximum(a, 1e-300))
        if W is not None:
            c *= W
        c -= psi
        # every entry of g and H is a sum over points of one of 9 products times one of 6 features;
        # fill the products into one buffer and do all the sums with a single BLAS matmul
        buf = np.empty((9, S, lN.size))
        np.multiply(psi, u1, out=buf[0])
        np.multiply(psi, u2, out=buf[1])
        np.multiply(psi, e3, out=buf[2])
        cw = c * u1
        np.multiply(cw, u1, out=buf[3])
        np.multiply(cw, u2, out=buf[4])
        np.multiply(cw, e3, out=buf[5])
        np.multiply(c, u2, out=cw)
        np.multiply(cw, u2, out=buf[6])
        np.multiply(cw, e3, out=buf[7])
        np.multiply(c, e3, out=cw)
        np.multiply(cw, e3, out=buf[8])
        feats = np.stack([np.ones_like(lN), lN, lD, lN * lN, lD * lD, lN * lD], axis=1)
        M = (feats.T @ buf.reshape(9 * S, -1).T).T.reshape(9, S, 6)  # this orientation is ~5x faster in OpenBLAS
        one, fN, fD, fNN, fDD, fND = range(6)
        P1, P2, P3, C11, C12, C13, C22, C23, C33 = M
        g = np.empty((S, 5))
        g[:, 0] = P1[:, one]
        g[:, 1] = P2[:, one]
        g[:, 2] = P3[:, one]
        g[:, 3] = -P1[:, fN]
        g[:, 4] = -P2[:, fD]
        H = np.empty((S, 5, 5))
        # (a, b, e, alpha, beta); Gauss-Newton-like part sum c g g^T
        H[:, 0, 0] = C11[:, one]
        H[:, 0, 1] = C12[:, one]
        H[:, 0, 2] = C13[:, one]
        H[:, 0, 3] = -C11[:, fN]
        H[:, 0, 4] = -C12[:, fD]
        H[:, 1, 1] = C22[:, one]
        H[:, 1, 2] = C23[:, one]
        H[:, 1, 3] = -C12[:, fN]
        H[:, 1, 4] = -C22[:, fD]
        H[:, 2, 2] = C33[:, one]
        H[:, 2, 3] = -C13[:, fN]
        H[:, 2, 4] = -C23[:, fD]
        H[:, 3, 3] = C11[:, fNN]
        H[:, 3, 4] = C12[:, fND]
        H[:, 4, 4] = C22[:, fDD]
        # plus psi * sum_k w_k J_k J_k^T (J_1 = e_a - lN e_alpha, J_2 = e_b - lD e_beta, J_3 = e_e)
        H[:, 0, 0] += P1[:, one]
        H[:, 0, 3] -= P1[:, fN]
        H[:, 3, 3] += P1[:, fNN]
        H[:, 1, 1] += P2[:, one]
        H[:, 1, 4] -= P2[:, fD]
        H[:, 4, 4] += P2[:, fDD]
        H[:, 2, 2] += P3[:, one]
        iu = np.triu_indices(5, 1)
        H[:, iu[1], iu[0]] = H[:, iu[0], iu[1]]
    return f, g, H


HOFFMANN_GRID = product_grid(
    np.arange(0, 30, 5),  # a: 0, 5, ..., 25
    np.arange(0, 30, 5),  # b
    np.arange(-1, 1.5, 0.5),  # e: -1, -0.5, ..., 1
    np.arange(0, 2.5, 0.5),  # alpha: 0, 0.5, ..., 2
    np.arange(0, 2.5, 0.5),  # beta
)  # 6 * 6 * 5 * 5 * 5 = 4,500 starts


def _chin_to_nat(t):
    return np.stack([np.exp(t[..., 2]), np.exp(t[..., 0]), np.exp(t[..., 1]), t[..., 3], t[..., 4]], -1)


def _chin_from_nat(t):
    return np.stack([np.log(t[..., 1]), np.log(t[..., 2]), np.log(t[..., 0]), t[..., 3], t[..., 4]], -1)


def _chin_derived(nat: dict, settings: dict) -> dict:
    """Compute-optimal allocation under C = 6 N D (Hoffmann et al. 2022, eq. 4)."""
    E, A, B, alpha, beta = (nat[k] for k in ("E", "A", "B", "alpha", "beta"))
    with np.errstate(all="ignore"):
        a = beta / (alpha + beta)
        b = alpha / (alpha + beta)
        G = (alpha * A / (beta * B)) ** (1.0 / (alpha + beta))
        out = {"a_opt": a, "b_opt": b, "G": G}
        for C in settings.get("compute") or []:
            N_opt = G * (C / 6.0) ** a
            D_opt = (C / 6.0) ** b / G
            tag = f"{C:g}"
            out[f"N_opt@C={tag}"] = N_opt
            out[f"D_opt@C={tag}"] = D_opt
            out[f"tokens_per_param@C={tag}"] = D_opt / N_opt
            out[f"loss_opt@C={tag}"] = E + A / N_opt**alpha + B / D_opt**beta
    return out


CHINCHILLA = Law(
    name="chinchilla",
    formula="L = E + A/N^alpha + B/D^beta",
    inputs=("N", "D"),
    params=("a", "b", "e", "alpha", "beta"),
    natural=("E", "A", "B", "alpha", "beta"),
    log_predict=_chin_log_predict,
    log_grad=_chin_log_grad,
    starts=lambda X, logy: HOFFMANN_GRID.copy(),
    bounds=((-INF, INF),) * 5,
    to_natural=_chin_to_nat,
    from_natural=_chin_from_nat,
    irreducible=True,
    log_inputs=(True, True),
    derived=_chin_derived,
    fast_objective=_chin_fast_objective,
    fast_hessian=_chin_fast_hessian,
    description="Chinchilla approach 3; default starts are Hoffmann's 4,500-point grid",
    reference="Hoffmann et al. 2022; Besiroglu et al. 2024 (summed Huber)",
)


# Broken neural scaling law with one break (Caballero et al. 2022):
# y = E + B x^-c0 (1 + (x/d)^(1/f))^(-c1 f)
# fitted as LSE(e, lb - c0 lx - c1 f softplus((lx - ld)/f)).
def _bnsl_parts(theta, X):
    lx = np.log(X[0])[None, :]
    e, lb, c0, c1, ld, f = (theta[:, i : i + 1] for i in range(6))
    z = (lx - ld) / f
    sp = np.logaddexp(0.0, z)
    u = lb - c0 * lx - c1 * f * sp
    return lx, e, lb, c0, c1, ld, f, z, sp, u


def _bnsl_log_predict(theta, X):
    lx, e, lb, c0, c1, ld, f, z, sp, u = _bnsl_parts(theta, X)
    out, _ = _lse(e, u)
    return out


def _bnsl_log_grad(theta, X):
    lx, e, lb, c0, c1, ld, f, z, sp, u = _bnsl_parts(theta, X)
    out, (w0, w1) = _lse(e, u)
    sig = 0.5 * (1.0 + np.tanh(0.5 * z))
    J = np.stack(
        [w0, w1, -w1 * lx, -w1 * f * sp, w1 * c1 * sig, -w1 * c1 * (sp - sig * z)],
        axis=-1,
    )
    return out, J


def _bnsl_starts(X, logy):
    lx = np.log(X[0])
    y = np.exp(logy)
    out = []
    for frac in (0.05, 0.5, 0.9):
        E = y.min() * frac
        for c0 in (0.05, 0.3, 0.8):
            for c1 in (-0.3, 0.0, 0.3):
                for q in (0.25, 0.5, 0.75):
                    ld = np.quantile(lx, q)
                    for f in (0.3, 1.0):
                        lb = np.log(max(y.max() - E, 1e-6 * y.max())) + c0 * lx.min()
                        out.append([np.log(E), lb, c0, c1, ld, f])
    return np.array(out)


BROKEN_POWER = Law(
    name="broken_power",
    formula="y = E + B*x^(-c0)*(1 + (x/d1)^(1/f1))^(-c1*f1)",
    inputs=("x",),
    params=("e", "b", "c0", "c1", "ld1", "f1"),
    natural=("E", "B", "c0", "c1", "d1", "f1"),
    log_predict=_bnsl_log_predict,
    log_grad=_bnsl_log_grad,
    starts=_bnsl_starts,
    bounds=((-INF, INF), (-INF, INF), (-5.0, 5.0), (-5.0, 5.0), (-INF, INF), (0.02, 20.0)),
    to_natural=lambda t: np.stack(
        [np.exp(t[..., 0]), np.exp(t[..., 1]), t[..., 2], t[..., 3], np.exp(t[..., 4]), t[..., 5]], -1
    ),
    from_natural=lambda t: np.stack(
        [np.log(t[..., 0]), np.log(t[..., 1]), t[..., 2], t[..., 3], np.log(t[..., 4]), t[..., 5]], -1
    ),
    irreducible=True,
    log_inputs=(True,),
    description="broken neural scaling law with one break",
    reference="Caballero et al. 2022",
)


# Alabdulmohsin et al. 2022, M4: (y - e_inf) / (e_0 - y)^gamma = B x^(-c)   (their beta x^c with c < 0).
# y is implicit; solved per point by bisection + Newton, gradient by the implicit function theorem.
# Internal: ei = log e_inf, e0 = log e_0, gamma, lb = log B, c.
def _m4_solve(theta, X):
    ei, le0, g, lb, c = (theta[:, i : i + 1] for i in range(5))
    lx = np.log(X[0])[None, :]
    einf, e0 = np.exp(ei), np.exp(le0)
    lt = lb - c * lx  # log of the right-hand side
    shape = np.broadcast_shapes(einf.shape, lt.shape)
    lo = np.broadcast_to(einf, shape).copy()
    hi = np.broadcast_to(e0, shape).copy()
    valid = hi > lo
    lt = np.broadcast_to(lt, shape)

    def F(y):  # increasing in y on (einf, e0)
        with np.errstate(all="ignore"):
            return np.log(y - einf) - g * np.log(e0 - y) - lt

    for _ in range(45):
        mid = 0.5 * (lo + hi)
        pos = F(mid) > 0
        hi = np.where(pos, mid, hi)
        lo = np.where(pos, lo, mid)
    y = 0.5 * (lo + hi)
    with np.errstate(all="ignore"):
        for _ in range(3):  # Newton polish, stays in the bracket
            dF = 1.0 / (y - einf) + g / (e0 - y)
            ynew = y - F(y) / dF
            y = np.where((ynew > einf) & (ynew < e0), ynew, y)
    y = np.where(valid & (g >= 0), y, np.nan)
    return y, einf, e0, g, lx


def _m4_log_predict(theta, X):
    y, *_ = _m4_solve(theta, X)
    with np.errstate(all="ignore"):
        return np.log(y)


def _m4_log_grad(theta, X):
    y, einf, e0, g, lx = _m4_solve(theta, X)
    with np.errstate(all="ignore"):
        dFy = 1.0 / (y - einf) + g / (e0 - y)
        dF = [
            -einf / (y - einf),  # d/d ei
            -g * e0 / (e0 - y),  # d/d le0
            -np.log(e0 - y),  # d/d gamma
            -np.ones_like(y),  # d/d lb
            lx + 0 * y,  # d/d c
        ]
        J = np.stack([-d / dFy / y for d in dF], axis=-1)
        return np.log(y), J


def _m4_starts(X, logy):
    y = np.exp(logy)
    lx = np.log(X[0])
    out = []
    for finf in (0.1, 0.5, 0.9):
        for f0 in (1.05, 1.5, 3.0):
            for g in (0.0, 0.5, 1.0):
                for c in (0.1, 0.3, 0.7):
                    einf, e0 = y.min() * finf, y.max() * f0
                    ym = np.exp(np.mean(logy))
                    lb = np.log(max(ym - einf, 1e-9)) - g * np.log(max(e0 - ym, 1e-9)) + c * np.mean(lx)
                    out.append([np.log(einf), np.log(e0), g, lb, c])
    return np.array(out)


M4 = Law(
    name="m4",
    formula="(y - e_inf)/(e_0 - y)^gamma = B*x^(-c)",
    inputs=("x",),
    params=("ei", "e0", "gamma", "b", "c"),
    natural=("e_inf", "e_0", "gamma", "B", "c"),
    log_predict=_m4_log_predict,
    log_grad=_m4_log_grad,
    starts=_m4_starts,
    bounds=((-INF, INF), (-INF, INF), (0.0, 10.0), (-INF, INF), (-5.0, 5.0)),
    to_natural=lambda t: np.stack(
        [np.exp(t[..., 0]), np.exp(t[..., 1]), t[..., 2], np.exp(t[..., 3]), t[..., 4]], -1
    ),
    from_natural=lambda t: np.stack(
        [np.log(t[..., 0]), np.log(t[..., 1]), t[..., 2], np.log(t[..., 3]), t[..., 4]], -1
    ),
    irreducible=True,
    log_inputs=(True,),
    description="Alabdulmohsin et al. M4 (implicit; saturates at e_0 for small x and e_inf for large x)",
    reference="Alabdulmohsin, Neyshabur, Zhai 2022",
)


LAWS: dict[str, Law] = {
    law.name: law
    for law in (
        LINEAR,
        SQRT,
        LOGARITHMIC,
        EXPONENTIAL,
        POWER,
        SATURATING_POWER,
        KAPLAN,
        CHINCHILLA,
        BROKEN_POWER,
        M4,
    )
}
DEFAULT_LAW = "saturating_power"


def get_law(name: str) -> Law:
    from .config import ConfigError

    if isinstance(name, Law):
        return name
    try:
        return LAWS[name]
    except KeyError:
        raise ConfigError(f"unknown law {name!r}; known laws: {', '.join(LAWS)}") from None
