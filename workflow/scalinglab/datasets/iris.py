"""scikit-learn's bundled Iris: stratified fixed val/test splits, features standardized with train statistics."""

from __future__ import annotations

from ._util import check_sizes


def stratified_split(name, x, y, params, n_classes, standardize):
    import numpy as np
    from sklearn.model_selection import train_test_split

    n_val, n_test, seed = int(params["val_size"]), int(params["test_size"]), int(params["seed"])
    check_sizes(name, len(y), val_size=n_val, test_size=n_test)
    index = np.arange(len(y))
    rest, test = train_test_split(index, test_size=n_test, stratify=y, random_state=seed)
    train, val = train_test_split(rest, test_size=n_val, stratify=y[rest], random_state=seed + 1)
    if standardize:
        mean, std = x[train].mean(0), x[train].std(0)
        x = (x - mean) / np.where(std > 0, std, 1)
    x = x.astype(np.float32)
    arrays = {}
    for split, idx in (("train", train), ("val", val), ("test", test)):
        arrays[f"x_{split}"] = x[idx]
        arrays[f"y_{split}"] = y[idx].astype(np.int64)
    meta = {
        "sizes": {"train": len(train), "val": len(val), "test": len(test)},
        "n_features": int(x.shape[1]),
        "n_classes": n_classes,
        "source": f"sklearn.datasets.load_{name} (bundled with scikit-learn)",
    }
    return arrays, meta


def generate(params: dict):
    import numpy as np
    from sklearn.datasets import load_iris

    bunch = load_iris()
    x = np.asarray(bunch.data, dtype=np.float64)
    y = np.asarray(bunch.target, dtype=np.int64)
    return stratified_split("iris", x, y, params, n_classes=3, standardize=True)
