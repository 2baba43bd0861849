"""The catalogue: one declarative `Law` per scaling law, and how a law is named.

Adding a law means adding one `Law(...)` (here, or in your own module: pass the object, or its `module:NAME`
string, wherever a law name is accepted). Bounds on exponents are +-EXPONENT_LIMIT: far wider than any published
exponent (BNSL fits reach beyond 5), so that a fit lands on a bound only when the data cannot pin the parameter,
which every fit then reports (`at_bound` in the fit JSON).
"""

from __future__ import annotations

import numpy as np

from .chinchilla import CHINCHILLA
from .law import INF, UNBOUNDED, Law, lse, ols

EXPONENT_LIMIT = 50.0
EXPONENT = (-EXPONENT_LIMIT, EXPONENT_LIMIT)
DECAY_EXPONENT = (0.0, EXPONENT_LIMIT)  # an exponent that the law's form needs >= 0


# ---- simple relations (the seed document's candidates). x is rescaled by its largest value during the fit so that
# the slope is well conditioned, then mapped back by `unscale`.
def _affine_law(name, transform, unscale_power, log_x, formula, description):
    """y = c0 + c1 * g(x)."""

    def log_predict(theta, X):
        f = theta[:, 0:1] + theta[:, 1:2] * transform(X[0])[None, :]
        with np.errstate(all="ignore"):
            return np.where(f > 0, np.log(np.where(f > 0, f, 1.0)), np.nan)

    def log_grad(theta, X):
        g = transform(X[0])
        f = theta[:, 0:1] + theta[:, 1:2] * g[None, :]
        with np.errstate(all="ignore"):
            inv = 1.0 / f
        return log_predict(theta, X), np.stack([inv, inv * g[None, :]], axis=-1)

    def starts(X, logy):
        y = np.exp(logy)
        g = transform(X[0])
        c0, c1 = ols(np.stack([np.ones_like(g), g], 1), y)
        spread = np.std(y) + 1e-12
        out = [[c0, c1], [np.median(y), 0.0]]
        out += [[c0 * f0 if c0 else spread * f0, c1 * f1] for f0 in (0.5, 0.9, 1.0, 1.1, 1.5) for f1 in (0, 0.5, 1, 2)]
        return np.array(out, dtype=float)

    def unscale(theta, scales):
        theta = np.array(theta, dtype=float, copy=True)
        if unscale_power == "log":  # c0 + c1 log(x/s) = (c0 - c1 log s) + c1 log x
            theta[..., 0] = theta[..., 0] - theta[..., 1] * np.log(scales[0])
        else:
            theta[..., 1] = theta[..., 1] / scales[0] ** unscale_power
        return theta

    return Law(name=name, formula=formula, inputs=("x",), params=("c0", "c1"), log_predict=log_predict,
               log_grad=log_grad, starts=starts, log_inputs=(log_x,), scale_inputs=True, unscale=unscale,
               description=description,
               reference="seed document: candidate relations between size and resources/performance")


LINEAR = _affine_law("linear", lambda x: x, 1.0, False, "y = c0 + c1*x", "y linear in x")
SQRT = _affine_law("sqrt", np.sqrt, 0.5, False, "y = c0 + c1*sqrt(x)", "y linear in sqrt(x)")
LOGARITHMIC = _affine_law("logarithmic", np.log, "log", True, "y = c0 + c1*log(x)", "y linear in log(x)")


# ---- exponential: y = A exp(b x), fitted as log y = a + b x.
def _exp_log_grad(theta, X):
    lf = theta[:, 0:1] + theta[:, 1:2] * X[0][None, :]
    return lf, np.stack(np.broadcast_arrays(np.ones_like(lf), X[0][None, :] + 0 * lf), axis=-1)


def _exp_starts(X, logy):
    a, b = ols(np.stack([np.ones_like(X[0]), X[0]], 1), logy)
    return np.array([[a, b]] + [[a + da, b * fb] for da in (-1, 0, 1) for fb in (0.0, 0.5, 2.0)])


def _exp_unscale(theta, scales):
    theta = np.array(theta, dtype=float, copy=True)
    theta[..., 1] = theta[..., 1] / scales[0]
    return theta


EXPONENTIAL = Law(
    name="exponential", formula="y = A*exp(b*x)", inputs=("x",), params=("a", "b"),
    reported={"A": "a", "b": "b"}, log_params=("a",),
    log_predict=lambda theta, X: theta[:, 0:1] + theta[:, 1:2] * X[0][None, :],
    log_grad=_exp_log_grad, starts=_exp_starts, log_inputs=(False,), scale_inputs=True, unscale=_exp_unscale,
    description="exponential relation (log y linear in x)", reference="seed document: candidate relations",
)


# ---- pure power law: y = A x^-alpha, fitted as log y = a - alpha log x.
def _pow_log_grad(theta, X):
    lx = np.log(X[0])[None, :]
    lf = theta[:, 0:1] - theta[:, 1:2] * lx
    return lf, np.stack([np.ones_like(lf), -lx + 0 * lf], axis=-1)


def _pow_starts(X, logy):
    lx = np.log(X[0])
    a, slope = ols(np.stack([np.ones_like(lx), lx], 1), logy)
    out = [[a, -slope]]
    for da in (-2, 0, 2):
        for al in (-1.0, -0.3, 0.0, 0.1, 0.3, 1.0):
            out.append([a + da + (al + slope) * np.mean(lx), al])
    return np.array(out)


POWER = Law(
    name="power", formula="y = A*x^(-alpha)", inputs=("x",), params=("a", "alpha"),
    reported={"A": "a", "alpha": "alpha"}, log_params=("a",),
    log_predict=lambda theta, X: theta[:, 0:1] - theta[:, 1:2] * np.log(X[0])[None, :],
    log_grad=_pow_log_grad, starts=_pow_starts, description="pure power law",
)


# ---- saturating power law: y = E + A x^-alpha = exp(LSE(e, a - alpha log x)).
def _sat_log_predict(theta, X):
    out, _ = lse(theta[:, 0:1], theta[:, 1:2] - theta[:, 2:3] * np.log(X[0])[None, :])
    return out


def _sat_log_grad(theta, X):
    lx = np.log(X[0])[None, :]
    out, (w0, w1) = lse(theta[:, 0:1], theta[:, 1:2] - theta[:, 2:3] * lx)
    return out, np.stack([w0, w1, -w1 * lx], axis=-1)


def _sat_starts(X, logy):
    lx = np.log(X[0])
    ymin, ygeo = np.exp(logy).min(), np.exp(np.mean(logy))
    out = []
    for frac in (0.02, 0.3, 0.6, 0.85, 0.97):
        E = ymin * frac
        for alpha in (0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0, 1.5):
            for mult in (0.3, 1.0, 3.0):
                out.append([np.log(E), np.log(max(ygeo - E, 1e-6 * ygeo) * mult) + alpha * np.mean(lx), alpha])
    return np.array(out)


SATURATING_POWER = Law(
    name="saturating_power", formula="y = E + A*x^(-alpha)", inputs=("x",), params=("e", "a", "alpha"),
    reported={"E": "e", "A": "a", "alpha": "alpha"}, log_params=("e", "a"),
    log_predict=_sat_log_predict, log_grad=_sat_log_grad, starts=_sat_starts,
    bounds=(UNBOUNDED, UNBOUNDED, DECAY_EXPONENT), irreducible=True,
    description="power law with an irreducible term (the pipeline default)",
    reference="Hestness et al. 2017; Hoffmann et al. 2022 (one-variable form)",
)


# ---- Kaplan et al. 2020: L(N, D) = [(Nc/N)^(aN/aD) + Dc/D]^aD, fitted with nc = log Nc, dc = log Dc:
# log L = aD * LSE((aN/aD)(nc - log N), dc - log D).
def _kap_terms(theta, X):
    lN, lD = np.log(X[0])[None, :], np.log(X[1])[None, :]
    aN, aD, nc, dc = (theta[:, i : i + 1] for i in range(4))
    return lN, lD, aN, aD, nc, dc, aN / aD


def _kap_log_predict(theta, X):
    lN, lD, aN, aD, nc, dc, r = _kap_terms(theta, X)
    out, _ = lse(r * (nc - lN), dc - lD)
    return aD * out


def _kap_log_grad(theta, X):
    lN, lD, aN, aD, nc, dc, r = _kap_terms(theta, X)
    u1 = r * (nc - lN)
    s, (w1, w2) = lse(u1, dc - lD)
    # d(aD s)/d aN = w1 (nc - lN); d/d aD = s + aD w1 (-aN/aD^2)(nc - lN) = s - w1 u1
    return aD * s, np.stack([w1 * (nc - lN), s - w1 * u1, aD * w1 * r + 0 * s, aD * w2], axis=-1)


def _kap_starts(X, logy):
    lN, lD = np.log(X[0]), np.log(X[1])
    out = []
    for aN in (0.05, 0.076, 0.15, 0.3):
        for aD in (0.05, 0.095, 0.2, 0.35):
            nc0, dc0 = np.median(lN + logy / aN), np.median(lD + logy / aD)
            out += [[aN, aD, nc0 + dn, dc0 + dd] for dn in (-2.0, 0.0, 2.0) for dd in (-2.0, 0.0, 2.0)]
    return np.array(out)


def _kap_compute_optimal(p: dict, C):
    """At C = 6ND, minimise (Nc/N)^r + 6 Dc N / C (r = aN/aD): N^(r+1) = r Nc^r C / (6 Dc)."""
    with np.errstate(all="ignore"):
        r = p["alpha_N"] / p["alpha_D"]
        return (r * p["Nc"] ** r * np.asarray(C, dtype=float) / (6.0 * p["Dc"])) ** (1.0 / (r + 1.0))


KAPLAN = Law(
    name="kaplan", formula="L = ((Nc/N)^(alpha_N/alpha_D) + Dc/D)^alpha_D", inputs=("N", "D"),
    params=("alpha_N", "alpha_D", "nc", "dc"),
    reported={"alpha_N": "alpha_N", "alpha_D": "alpha_D", "Nc": "nc", "Dc": "dc"}, log_params=("nc", "dc"),
    log_predict=_kap_log_predict, log_grad=_kap_log_grad, starts=_kap_starts,
    bounds=((1e-6, EXPONENT_LIMIT), (1e-6, EXPONENT_LIMIT), UNBOUNDED, UNBOUNDED),
    compute_optimal=_kap_compute_optimal,
    description="Kaplan et al. joint L(N, D)", reference="Kaplan et al. 2020, eq. 1.5",
)


# ---- broken neural scaling law with one break (Caballero et al. 2022):
# y = E + B x^-c0 (1 + (x/d)^(1/f))^(-c1 f), fitted as LSE(e, lb - c0 lx - c1 f softplus((lx - ld)/f)).
def _bnsl_parts(theta, X):
    lx = np.log(X[0])[None, :]
    e, lb, c0, c1, ld, f = (theta[:, i : i + 1] for i in range(6))
    z = (lx - ld) / f
    sp = np.logaddexp(0.0, z)
    return lx, e, c0, c1, f, z, sp, lb - c0 * lx - c1 * f * sp


def _bnsl_log_predict(theta, X):
    lx, e, c0, c1, f, z, sp, u = _bnsl_parts(theta, X)
    return lse(e, u)[0]


def _bnsl_log_grad(theta, X):
    lx, e, c0, c1, f, z, sp, u = _bnsl_parts(theta, X)
    out, (w0, w1) = lse(e, u)
    sig = 0.5 * (1.0 + np.tanh(0.5 * z))
    J = np.stack([w0, w1, -w1 * lx, -w1 * f * sp, w1 * c1 * sig, -w1 * c1 * (sp - sig * z)], axis=-1)
    return out, J


def _bnsl_starts(X, logy):
    lx = np.log(X[0])
    y = np.exp(logy)
    out = []
    for frac in (0.05, 0.5, 0.9):
        E = y.min() * frac
        lb = np.log(max(y.max() - E, 1e-6 * y.max()))
        for c0 in (0.05, 0.3, 0.8):
            for c1 in (-0.3, 0.0, 0.3):
                for q in (0.25, 0.5, 0.75):
                    out += [[np.log(E), lb + c0 * lx.min(), c0, c1, np.quantile(lx, q), f] for f in (0.3, 1.0)]
    return np.array(out)


BROKEN_POWER = Law(
    name="broken_power", formula="y = E + B*x^(-c0)*(1 + (x/d1)^(1/f1))^(-c1*f1)", inputs=("x",),
    params=("e", "b", "c0", "c1", "ld1", "f1"),
    reported={"E": "e", "B": "b", "c0": "c0", "c1": "c1", "d1": "ld1", "f1": "f1"}, log_params=("e", "b", "ld1"),
    log_predict=_bnsl_log_predict, log_grad=_bnsl_log_grad, starts=_bnsl_starts,
    bounds=(UNBOUNDED, UNBOUNDED, EXPONENT, EXPONENT, UNBOUNDED, (1e-3, 1e3)), irreducible=True,
    description="broken neural scaling law with one break", reference="Caballero et al. 2022",
)


# ---- Alabdulmohsin et al. 2022, M4: (y - e_inf) / (e_0 - y)^gamma = B x^(-c) (their beta x^c with c < 0).
# y is implicit: solved per point by bisection and Newton, gradient by the implicit function theorem.
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
            ynew = y - F(y) / (1.0 / (y - einf) + g / (e0 - y))
            y = np.where((ynew > einf) & (ynew < e0), ynew, y)
    return np.where(valid & (g >= 0), y, np.nan), einf, e0, g, lx


def _m4_log_predict(theta, X):
    with np.errstate(all="ignore"):
        return np.log(_m4_solve(theta, X)[0])


def _m4_log_grad(theta, X):
    y, einf, e0, g, lx = _m4_solve(theta, X)
    with np.errstate(all="ignore"):
        dFy = 1.0 / (y - einf) + g / (e0 - y)
        dF = [-einf / (y - einf), -g * e0 / (e0 - y), -np.log(e0 - y), -np.ones_like(y), lx + 0 * y]
        return np.log(y), np.stack([-d / dFy / y for d in dF], axis=-1)


def _m4_starts(X, logy):
    y = np.exp(logy)
    lx = np.log(X[0])
    ym = np.exp(np.mean(logy))
    out = []
    for finf in (0.1, 0.5, 0.9):
        for f0 in (1.05, 1.5, 3.0):
            einf, e0 = y.min() * finf, y.max() * f0
            for g in (0.0, 0.5, 1.0):
                for c in (0.1, 0.3, 0.7):
                    lb = np.log(max(ym - einf, 1e-9)) - g * np.log(max(e0 - ym, 1e-9)) + c * np.mean(lx)
                    out.append([np.log(einf), np.log(e0), g, lb, c])
    return np.array(out)


M4 = Law(
    name="m4", formula="(y - e_inf)/(e_0 - y)^gamma = B*x^(-c)", inputs=("x",),
    params=("ei", "e0", "gamma", "b", "c"),
    reported={"e_inf": "ei", "e_0": "e0", "gamma": "gamma", "B": "b", "c": "c"}, log_params=("ei", "e0", "b"),
    log_predict=_m4_log_predict, log_grad=_m4_log_grad, starts=_m4_starts,
    bounds=(UNBOUNDED, UNBOUNDED, DECAY_EXPONENT, UNBOUNDED, EXPONENT), irreducible=True,
    description="Alabdulmohsin et al. M4 (implicit; saturates at e_0 for small x and e_inf for large x)",
    reference="Alabdulmohsin, Neyshabur, Zhai 2022",
)


LAWS: dict[str, Law] = {
    law.name: law
    for law in (LINEAR, SQRT, LOGARITHMIC, EXPONENTIAL, POWER, SATURATING_POWER, KAPLAN, CHINCHILLA, BROKEN_POWER, M4)
}


def get_law(law) -> Law:
    """A `Law`, a catalogue name, or `package.module:NAME` naming a `Law` in the user's code."""
    from ..config import ConfigError

    if isinstance(law, Law):
        return law
    name = str(law)
    if name in LAWS:
        return LAWS[name]
    if ":" in name:
        import importlib

        module, _, attr = name.partition(":")
        try:
            found = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as error:
            raise ConfigError(f"law {name!r}: cannot import {attr!r} from {module!r}: {error}") from None
        if not isinstance(found, Law):
            raise ConfigError(f"law {name!r} is a {type(found).__name__}, not a scalinglab.laws.Law")
        return found
    raise ConfigError(f"unknown law {name!r}; known laws: {', '.join(LAWS)} (or package.module:NAME for your own)")


__all__ = ["INF", "LAWS", "Law", "get_law"]
