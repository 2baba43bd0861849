"""Chinchilla (Hoffmann et al. 2022, approach 3): L(N, D) = E + A/N^alpha + B/D^beta.

Fitted as LSE(a - alpha log N, b - beta log D, e) with Hoffmann's internal order (a, b, e, alpha, beta), from his
4,500-point start grid. Besides the generic Jacobian this module gives the fused summed-Huber objective, gradient and
exact 5x5 Hessian for a batch of starts (the batched Newton optimiser's hot loop), and the closed-form
compute-optimal allocation under C = 6ND.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from .law import Law, lse, product_grid


def _log_predict(theta, X):
    lN, lD = np.log(X[0])[None, :], np.log(X[1])[None, :]
    out, _ = lse(theta[:, 0:1] - theta[:, 3:4] * lN, theta[:, 1:2] - theta[:, 4:5] * lD, theta[:, 2:3])
    return out


def _log_grad(theta, X):
    lN, lD = np.log(X[0])[None, :], np.log(X[1])[None, :]
    out, (w1, w2, w3) = lse(theta[:, 0:1] - theta[:, 3:4] * lN, theta[:, 1:2] - theta[:, 4:5] * lD, theta[:, 2:3])
    return out, np.stack([w1, w2, w3, -w1 * lN, -w2 * lD], axis=-1)


@dataclass(frozen=True)
class LogInputs:
    """What the fused kernels need of the data X = (N, D), computed once per objective (`Law.fast_inputs`), not
    on every call of the optimiser's loop."""

    lN: np.ndarray
    lD: np.ndarray
    kernel_features: tuple[np.ndarray, np.ndarray]  # (n, 4) and (n, 2): the features KERNEL_FEATURES of each point
    basis: np.ndarray  # (3, n): 1, lN, lD, the rows the two data-dependent exponents are linear in
    lN_range: tuple[float, float]
    lD_range: tuple[float, float]


def log_inputs(X) -> LogInputs:
    lN, lD = np.log(X[0]), np.log(X[1])
    features = np.stack([np.ones_like(lN), lN, lD, lN * lN, lD * lD, lN * lD], axis=1)  # the columns FEATURES
    kernel_features = tuple(np.ascontiguousarray(features[:, [FEATURES.index(f) for f in group]])
                            for group in KERNEL_FEATURES)
    return LogInputs(lN, lD, kernel_features, np.ascontiguousarray(features[:, :3].T),
                     (float(lN.min()), float(lN.max())), (float(lD.min()), float(lD.max())))


def _inputs(X) -> LogInputs:
    return X if isinstance(X, LogInputs) else log_inputs(X)


FLOOR = -230.0  # exponents are floored here (exp: 1e-100): a smaller term changes no sum at double precision, and
# products of the weights then stay out of the subnormal range, where arithmetic is about 100x slower
TINY_SUM = 1e-80  # a start where some point's three terms all fall below this (relative to the start's shift) is
# evaluated with a shift per point instead


def _weights_and_residual(theta, data: LogInputs, logy, irreducible_weight=False):
    """The softmax weights w1, w2 of the two data-dependent LSE terms, w3 of the irreducible one (only when asked:
    else None), and the log residual r, (S, n) each, for a batch of starts. Each start is shifted by the largest
    value any of its terms reaches on the data (the terms are linear in log N or log D, so that is a per-start
    number): the irreducible term is then one exp per start, not per point. Call under np.errstate(all="ignore")."""
    a, b, e, alpha, beta = theta.T
    n0, n1 = alpha * data.lN_range[0], alpha * data.lN_range[1]
    d0, d1 = beta * data.lD_range[0], beta * data.lD_range[1]
    m = np.maximum(e, np.maximum(a - np.minimum(n0, n1), b - np.minimum(d0, d1)))
    w1, w2, offset = _exponents_and_offset(theta, m, data, logy)
    # the smallest exponent of each term on the data, relative to m: the floor costs a pass only where one reaches it
    if (a - np.maximum(n0, n1) - m).min() < FLOOR:
        np.maximum(w1, FLOOR, out=w1)
    if (b - np.maximum(d0, d1) - m).min() < FLOOR:
        np.maximum(w2, FLOOR, out=w2)
    np.exp(w1, out=w1)
    np.exp(w2, out=w2)
    t3 = np.exp(np.maximum(e - m, FLOOR))[:, None]
    s = w1 + w2
    s += t3
    # every point's sum is at least the irreducible term t3: the points' minimum only where that is tiny
    tiny = s.min(axis=1) < TINY_SUM if t3.min() < TINY_SUM else None
    r = np.log(s)
    r += offset
    w1 /= s  # two divisions cost less than numpy's reciprocal and two products
    w2 /= s
    w3 = None
    if irreducible_weight:
        np.divide(t3, s, out=s)
        w3 = s
    if tiny is not None and tiny.any():
        w3_part = (w3,) if irreducible_weight else ()
        for full, part in zip((w1, w2, r, *w3_part), _weights_and_residual_per_point(theta[tiny], data.lN, data.lD,
                                                                                       logy)):
            full[tiny] = part
    return w1, w2, w3, r


def _exponents_and_offset(theta, m, data: LogInputs, logy):
    """(3, S, n): the exponents a - m - alpha log N and b - m - beta log D of the two data-dependent terms, and the
    offset m - log y of the log residual, as one BLAS product of per-start coefficients with the rows (1, log N,
    log D, log y): numpy spreads a per-start column over the points at about twice the cost of a plain pass."""
    S = theta.shape[0]
    coefficients = np.zeros((3, S, 4))
    coefficients[0, :, 0] = theta[:, 0] - m
    coefficients[0, :, 1] = -theta[:, 3]
    coefficients[1, :, 0] = theta[:, 1] - m
    coefficients[1, :, 2] = -theta[:, 4]
    coefficients[2, :, 0] = m
    coefficients[2, :, 3] = -1.0
    return (coefficients.reshape(3 * S, 4) @ np.concatenate((data.basis, logy[None, :]))).reshape(3, S, -1)


def _weights_and_residual_per_point(theta, lN, lD, logy):
    """w1, w2, r, w3 of `_weights_and_residual` with every point shifted by its own largest term (never a sum below
    1)."""
    u1 = np.multiply.outer(theta[:, 3], -lN)
    u1 += theta[:, 0:1]
    u2 = np.multiply.outer(theta[:, 4], -lD)
    u2 += theta[:, 1:2]
    m = np.maximum(u1, u2)
    np.maximum(m, theta[:, 2:3], out=m)
    u3 = theta[:, 2:3] - m
    u1 -= m
    u2 -= m
    for u in (u1, u2, u3):
        np.maximum(u, FLOOR, out=u)
        np.exp(u, out=u)
    s = u1 + u2
    s += u3
    r = np.log(s)
    r += m
    r -= logy
    np.reciprocal(s, out=s)
    u1 *= s
    u2 *= s
    u3 *= s
    return u1, u2, r, u3


EDGE_ELEMENTS = 2**15  # the clipping edges are cached arrays of at most this many numbers (256 KiB each), made for
# as many starts as fit: a kernel call on small data holds fewer (optimize.CACHE_ELEMENTS), and there the scalar form
# costs most; larger calls clip against scalars


@functools.lru_cache(maxsize=4)
def _band_edges(delta: float, rows: int, n: int):
    """Read-only (rows, n) arrays of -delta and +delta: numpy's maximum and minimum against an array of the same
    shape run about twice as fast as against a scalar (numpy 2.4, float64), and the kernels clip every residual."""
    upper = np.full((rows, n), delta)
    lower = -upper
    upper.flags.writeable = lower.flags.writeable = False
    return lower, upper


def _edges(delta, shape):
    """(-delta, +delta) for residuals of `shape`: the leading rows of the cached `_band_edges` pair where a pair of
    at most EDGE_ELEMENTS numbers holds them, else the scalars (the same results either way)."""
    S, n = shape
    rows = EDGE_ELEMENTS // n
    if rows < S:
        return -delta, delta
    lower, upper = _band_edges(float(delta), rows, n)
    return lower[:S], upper[:S]


def _clip(r, edges, out):
    """psi = r clipped to [-delta, delta] (np.clip's result), into `out`; edges = _edges(delta, r.shape)."""
    lower, upper = edges
    np.maximum(r, lower, out=out)
    return np.minimum(out, upper, out=out)


def _huber(r, psi, W, out):
    """The summed Huber loss f, weighted by W; psi (the clipped residual) is weighted by W in place. `out` is
    scratch of r's shape. huber(r) = psi (r - psi/2) inside and outside the band."""
    np.multiply(psi, 0.5, out=out)
    np.subtract(r, out, out=out)
    out *= psi
    if W is not None:
        out *= W
        psi *= W
    return out.sum(axis=1)


def fast_objective(theta, X, logy, W, delta):
    data = _inputs(X)
    lN, lD = data.lN, data.lD
    with np.errstate(all="ignore"):
        w1, w2, w3, r = _weights_and_residual(theta, data, logy, irreducible_weight=True)
        psi = _clip(r, _edges(delta, r.shape), np.empty_like(r))
        f = _huber(r, psi, W, np.empty_like(r))
        w1 *= psi
        w2 *= psi
        w3 *= psi
        g = np.empty((theta.shape[0], 5))
        g[:, 0] = w1.sum(1)
        g[:, 3] = -(w1 @ lN)
        g[:, 1] = w2.sum(1)
        g[:, 4] = -(w2 @ lD)
        g[:, 2] = w3.sum(1)
    return f, g


def fast_hessian(theta, X, logy, W, delta, curvature="exact"):
    """Summed Huber objective, gradient and Hessian of the LSE form, for a batch of starts.

    With g_i = grad LSE_i and w_ik the softmax weights, the exact Hessian is
    sum_i (h''(r_i) - psi_i) g_i g_i^T + psi_i sum_k w_ik J_k J_k^T  (J_k = d u_k / d theta, constant).
    curvature="irls" replaces h''(r) (0 outside the Huber band) by psi(r)/r = min(1, delta/|r|), the IRLS weight:
    a curvature that sees every point, which makes far-from-optimum steps much better on the L1-like objective."""
    data = _inputs(X)
    with np.errstate(all="ignore"):
        w1, w2, _, r = _weights_and_residual(theta, data, logy)
        buf = np.empty((9,) + r.shape)  # the rows KERNEL_PRODUCTS
        edges = _edges(delta, r.shape)
        psi = _clip(r, edges, buf[KERNEL_PRODUCTS.index("PSI")])
        if curvature == "exact":
            c = np.equal(psi, r)  # h'', 1 in the band (bool: it becomes a number in c - psi below)
        else:
            c = np.abs(r)
            np.maximum(c, edges[1], out=c)
            np.divide(delta, c, out=c)
        f = _huber(r, psi, W, buf[0])  # scratch: the row is written below
        if W is not None:
            c = c * W
        # every entry of g and H is a sum over points of one of 9 products times a feature of (log N, log D): the
        # rows of KERNEL_PRODUCTS, 7 multiplications (the products with w3 follow from w1 + w2 + w3 = 1)
        P1, C11, P2, C22, C12, _, CW1, CW2, C = buf
        np.subtract(c, psi, out=C)
        for u, v, out in ((psi, w1, P1), (psi, w2, P2), (C, w1, CW1), (C, w2, CW2), (CW1, w1, C11), (CW1, w2, C12),
                          (CW2, w2, C22)):
            np.multiply(u, v, out=out)
        return f, *_assemble(_kernel_sums(buf, data.kernel_features), KERNEL_ASSEMBLY)


def _kernel_sums(buf, kernel_features):
    """(S, 44): the KERNEL_PRODUCTS rows of buf summed over points against the features they need: every row against
    KERNEL_FEATURES[0], the first SQUARED_ROWS rows against KERNEL_FEATURES[1], by two BLAS matmuls (OpenBLAS takes a
    product with 4 columns in about half the time of one with 6)."""
    S = buf.shape[1]
    common, squares = kernel_features
    sums = (buf.reshape(-1, buf.shape[2]) @ common).reshape(len(KERNEL_PRODUCTS), S, -1)
    squared = (buf[:SQUARED_ROWS].reshape(-1, buf.shape[2]) @ squares).reshape(SQUARED_ROWS, S, -1)
    return np.concatenate((sums.transpose(1, 0, 2).reshape(S, -1), squared.transpose(1, 0, 2).reshape(S, -1)), axis=1)


PRODUCTS = ("P1", "P2", "P3", "C11", "C12", "C13", "C22", "C23", "C33")  # the rows of `buf` in fast_hessian
FEATURES = ("1", "lN", "lD", "lN2", "lD2", "lNlD")  # the features of a point that g and H are sums against
# Each entry of the gradient and of the upper Hessian in (a, b, e, alpha, beta) as signed feature sums: the
# Gauss-Newton-like part sum (h'' - psi) g g^T (the C products) plus psi sum_k w_k J_k J_k^T (the P products; J_1 =
# e_a - lN e_alpha, J_2 = e_b - lD e_beta, J_3 = e_e).
GRADIENT = {0: [("P1", "1", 1)], 1: [("P2", "1", 1)], 2: [("P3", "1", 1)], 3: [("P1", "lN", -1)],
            4: [("P2", "lD", -1)]}
HESSIAN = {
    (0, 0): [("C11", "1", 1), ("P1", "1", 1)], (0, 1): [("C12", "1", 1)], (0, 2): [("C13", "1", 1)],
    (0, 3): [("C11", "lN", -1), ("P1", "lN", -1)], (0, 4): [("C12", "lD", -1)],
    (1, 1): [("C22", "1", 1), ("P2", "1", 1)], (1, 2): [("C23", "1", 1)], (1, 3): [("C12", "lN", -1)],
    (1, 4): [("C22", "lD", -1), ("P2", "lD", -1)],
    (2, 2): [("C33", "1", 1), ("P3", "1", 1)], (2, 3): [("C13", "lN", -1)], (2, 4): [("C23", "lD", -1)],
    (3, 3): [("C11", "lN2", 1), ("P1", "lN2", 1)], (3, 4): [("C12", "lNlD", 1)],
    (4, 4): [("C22", "lD2", 1), ("P2", "lD2", 1)],
}


def _assembly_matrix() -> np.ndarray:
    """(54, 30): the flat feature sums (product-major) times this are the gradient (5) and the Hessian (25, both
    triangles), in one matmul instead of some 40 small array assignments per call."""
    T = np.zeros((len(PRODUCTS) * len(FEATURES), 30))

    def row(product, feature):
        return PRODUCTS.index(product) * len(FEATURES) + FEATURES.index(feature)

    for i, terms in GRADIENT.items():
        for product, feature, sign in terms:
            T[row(product, feature), i] = sign
    for (i, j), terms in HESSIAN.items():
        for product, feature, sign in terms:
            T[row(product, feature), 5 + 5 * i + j] = sign
            T[row(product, feature), 5 + 5 * j + i] = sign
    return T


ASSEMBLY = _assembly_matrix()
KERNEL_PRODUCTS = ("P1", "C11", "P2", "C22", "C12", "PSI", "CW1", "CW2", "C")  # the rows fast_hessian sums: PSI =
# psi, CWk = c w_k, C = c (c = h'' - psi, or the IRLS weight - psi), and since w1 + w2 + w3 = 1: P3 = PSI - P1 - P2,
# C13 = CW1 - C11 - C12, C23 = CW2 - C12 - C22, C33 = C - 2 CW1 - 2 CW2 + C11 + 2 C12 + C22
PRODUCTS_FROM_KERNEL = {"P1": {"P1": 1}, "P2": {"P2": 1}, "P3": {"PSI": 1, "P1": -1, "P2": -1},
                        "C11": {"C11": 1}, "C12": {"C12": 1}, "C22": {"C22": 1},
                        "C13": {"CW1": 1, "C11": -1, "C12": -1}, "C23": {"CW2": 1, "C12": -1, "C22": -1},
                        "C33": {"C": 1, "CW1": -2, "CW2": -2, "C11": 1, "C12": 2, "C22": 1}}


KERNEL_FEATURES = (("1", "lN", "lD", "lNlD"), ("lN2", "lD2"))  # every kernel row's sums, then the squares'
SQUARED_ROWS = 4  # the first KERNEL_PRODUCTS rows (P1, C11, P2, C22): the only ones whose sums use the squares


def _kernel_assembly() -> np.ndarray:
    """(44, 30): ASSEMBLY for the sums of `_kernel_sums` (the linear map to the PRODUCTS rows composed with it, on
    the feature sums the kernel makes; every other sum has no part in g or H)."""
    R = np.zeros((len(PRODUCTS), len(KERNEL_PRODUCTS)))
    for p, terms in PRODUCTS_FROM_KERNEL.items():
        for q, sign in terms.items():
            R[PRODUCTS.index(p), KERNEL_PRODUCTS.index(q)] = sign
    full = np.kron(R.T, np.eye(len(FEATURES))) @ ASSEMBLY  # (kernel row, feature) -> g, H
    common, squares = KERNEL_FEATURES
    made = [(row, f) for row in KERNEL_PRODUCTS for f in common]
    made += [(row, f) for row in KERNEL_PRODUCTS[:SQUARED_ROWS] for f in squares]
    index = [KERNEL_PRODUCTS.index(row) * len(FEATURES) + FEATURES.index(f) for row, f in made]
    assert not np.delete(full, index, axis=0).any(), "a kernel sum that g or H needs is not made"
    return full[index]


KERNEL_ASSEMBLY = _kernel_assembly()


def _assemble(sums, assembly):
    """The gradient (S, 5) and Hessian (S, 5, 5) from the feature sums (S, k) (`_kernel_sums`, KERNEL_ASSEMBLY)."""
    S = sums.shape[0]
    out = sums @ assembly
    return out[:, :5], out[:, 5:].reshape(S, 5, 5)


HOFFMANN_GRID = product_grid(
    np.arange(0, 30, 5),  # a: 0, 5, ..., 25
    np.arange(0, 30, 5),  # b
    np.arange(-1, 1.5, 0.5),  # e: -1, -0.5, ..., 1
    np.arange(0, 2.5, 0.5),  # alpha: 0, 0.5, ..., 2
    np.arange(0, 2.5, 0.5),  # beta
)  # 6 * 6 * 5 * 5 * 5 = 4,500 starts


def compute_optimal(p: dict, C):
    """N_opt(C) = G (C/6)^a with G = (alpha A / (beta B))^(1/(alpha+beta)), a = beta/(alpha+beta)
    (Hoffmann et al. 2022, eq. 4); D_opt = C / (6 N_opt)."""
    alpha, beta = p["alpha"], p["beta"]
    with np.errstate(all="ignore"):
        G = (alpha * p["A"] / (beta * p["B"])) ** (1.0 / (alpha + beta))
        return G * (np.asarray(C, dtype=float) / 6.0) ** (beta / (alpha + beta))


def derived(p: dict) -> dict:
    """The allocation exponents: N_opt ~ C^a_opt, D_opt ~ C^b_opt, and G."""
    alpha, beta = p["alpha"], p["beta"]
    with np.errstate(all="ignore"):
        return {
            "a_opt": beta / (alpha + beta),
            "b_opt": alpha / (alpha + beta),
            "G": (alpha * p["A"] / (beta * p["B"])) ** (1.0 / (alpha + beta)),
        }


CHINCHILLA = Law(
    name="chinchilla",
    formula="L = E + A/N^alpha + B/D^beta",
    inputs=("N", "D"),
    params=("a", "b", "e", "alpha", "beta"),
    reported={"E": "e", "A": "a", "B": "b", "alpha": "alpha", "beta": "beta"},
    log_params=("a", "b", "e"),
    log_predict=_log_predict,
    log_grad=_log_grad,
    starts=lambda X, logy: HOFFMANN_GRID.copy(),
    irreducible=True,
    derived=derived,
    compute_optimal=compute_optimal,
    fast_objective=fast_objective,
    fast_hessian=fast_hessian,
    fast_inputs=log_inputs,
    description="Chinchilla approach 3; default starts are Hoffmann's 4,500-point grid",
    reference="Hoffmann et al. 2022; Besiroglu et al. 2024 (summed Huber)",
)
