"""Synthetic linear teacher-student regression with a power-law feature spectrum, with exact truth.

x ~ N(0, diag(lambda)), lambda_i = i^-a (i = 1..dim); teacher weights w_i ~ N(0, 1) drawn with the dataset seed;
y = w.x + noise, noise ~ N(0, noise_std^2). A student that sees the first N features (mlp with depth 0 and
input_features N) has, with unlimited data, the exact expected squared error
    L(N) = sum_{i>N} lambda_i w_i^2 + noise_std^2,
recorded for every N in meta.json (`truth.loss_by_features`). Its asymptotic exponent is a - 1 (with E|w_i^2| = 1).
"""

from __future__ import annotations

from ._util import check_sizes, split_in_order


def truth(dim: int, exponent: float, noise_std: float, weights) -> dict:
    import numpy as np

    lam = np.arange(1, dim + 1, dtype=np.float64) ** (-exponent)
    signal = lam * np.asarray(weights, dtype=np.float64) ** 2
    # tail[N] = sum_{i > N} signal_i for N = 0..dim
    tail = np.concatenate([np.cumsum(signal[::-1])[::-1], [0.0]])
    irreducible = float(noise_std) ** 2
    return {
        "loss": "mean squared error",
        "irreducible_loss": irreducible,
        "alpha_features": float(exponent) - 1.0,
        "loss_by_features": [float(t + irreducible) for t in tail],  # index N = features seen, 0..dim
        "formula": "L(N) = sum_{i>N} i^-a w_i^2 + noise_std^2 (student sees features 1..N, unlimited data)",
    }


def generate(params: dict):
    import numpy as np

    dim, a, noise = int(params["dim"]), float(params["spectrum_exponent"]), float(params["noise_std"])
    pool, n_val, n_test = int(params["pool_size"]), int(params["val_size"]), int(params["test_size"])
    if dim < 1 or a <= 1:
        raise ValueError("datasets.teacher_student: dim >= 1 and spectrum_exponent > 1 are required")
    check_sizes("teacher_student", pool_size=pool, val_size=n_val, test_size=n_test)
    rng = np.random.default_rng(int(params["seed"]))
    weights = rng.standard_normal(dim)
    scale = np.arange(1, dim + 1, dtype=np.float64) ** (-a / 2)
    total = pool + n_val + n_test
    x = rng.standard_normal((total, dim)) * scale
    y = x @ weights + noise * rng.standard_normal(total)
    x, y = x.astype(np.float32), y.astype(np.float32)[:, None]
    arrays = {**split_in_order(x, y, pool, n_val), "teacher_weights": weights.astype(np.float64)}
    meta = {
        "sizes": {"train": pool, "val": n_val, "test": n_test},
        "n_features": dim,
        "n_outputs": 1,
        "truth": truth(dim, a, noise, weights),
    }
    return arrays, meta
