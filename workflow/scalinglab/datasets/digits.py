"""scikit-learn's bundled 8x8 digits: features scaled to [0, 1], stratified fixed val/test splits."""

from __future__ import annotations

from .iris import stratified_split


def generate(params: dict):
    import numpy as np
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = np.asarray(bunch.data, dtype=np.float32) / 16.0
    y = np.asarray(bunch.target, dtype=np.int64)
    return stratified_split("digits", x, y, params, n_classes=10, standardize=False)
