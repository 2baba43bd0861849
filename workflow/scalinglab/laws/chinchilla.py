"""Chinchilla (Hoffmann et al. 2022, approach 3): L(N, D) = E + A/N^alpha + B/D^beta.

Fitted as LSE(a - alpha log N, b - beta log D, e) with Hoffmann's internal order (a, b, e, alpha, beta), from his
4,500-point start grid. Besides the generic Jacobian this module gives the fused summed-Huber objective, gradient and
exact 5x5 Hessian for a batch of starts (the batched Newton optimiser's hot loop), and the closed-form
compute-optimal allocation under C = 6ND.
"""

from __future__ import annotations

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


def _huber_forward(theta, lN, lD, logy, W, delta):
    """The shared forward pass of the fused objectives, for a batch of starts: the max-shifted exponentials
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


def fast_objective(theta, X, logy, W, delta):
    lN, lD = np.log(X[0]), np.log(X[1])
    with np.errstate(all="ignore"):
        u1, u2, e3, s, r, _, _, f = _huber_forward(theta, lN, lD, logy, W, delta)
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


def fast_hessian(theta, X, logy, W, delta, curvature="exact"):
    """Summed Huber objective, gradient and Hessian of the LSE form, for a batch of starts.

    With g_i = grad LSE_i and w_ik the softmax weights, the exact Hessian is
    sum_i (h''(r_i) - psi_i) g_i g_i^T + psi_i sum_k w_ik J_k J_k^T  (J_k = d u_k / d theta, constant).
    curvature="irls" replaces h''(r) (0 outside the Huber band) by psi(r)/r = min(1, delta/|r|), the IRLS weight:
    a curvature that sees every point, which makes far-from-optimum steps much better on the L1-like objective."""
    lN, lD = np.log(X[0]), np.log(X[1])
    S = theta.shape[0]
    with np.errstate(all="ignore"):
        u1, u2, e3, s, r, a, inside, f = _huber_forward(theta, lN, lD, logy, W, delta)
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
    description="Chinchilla approach 3; default starts are Hoffmann's 4,500-point grid",
    reference="Hoffmann et al. 2022; Besiroglu et al. 2024 (summed Huber)",
)
