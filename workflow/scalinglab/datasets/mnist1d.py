"""MNIST-1D, generated locally with mnist1d.data.make_dataset (never get_dataset, which downloads).

One pool of pool_size + val_size samples is generated once with the dataset seed (make_dataset shuffles it);
test = the last test_size samples, val = the val_size before them, train pool = the rest (pool_size - test_size).
A data budget takes the first `budget` samples of the train pool, so budgets are nested and val/test never move.
"""

from __future__ import annotations

from ._util import check_sizes, isolated_global_rng, split_in_order


def generate(params: dict):
    import numpy as np
    from mnist1d.data import get_dataset_args, make_dataset

    pool, n_test, n_val = int(params["pool_size"]), int(params["test_size"]), int(params["val_size"])
    check_sizes("mnist1d", pool, test_size=n_test)
    total = pool + n_val
    args = get_dataset_args()
    args.num_samples = total
    args.train_split = 1.0  # we split ourselves
    args.seed = int(params["seed"])
    with isolated_global_rng():
        data = make_dataset(args)
    x = np.asarray(data["x"], dtype=np.float32)
    y = np.asarray(data["y"], dtype=np.int64)
    # make_dataset makes num_samples // 10 per class: pad nothing, just check
    if len(y) != total:
        raise ValueError(f"mnist1d: pool_size + val_size must be a multiple of 10, got {total}")
    n_train = total - n_val - n_test
    arrays = split_in_order(x, y, n_train, n_val)
    meta = {
        "sizes": {"train": n_train, "val": n_val, "test": n_test},
        "n_features": int(x.shape[1]),
        "n_classes": 10,
        "source": "mnist1d.data.make_dataset (mnist1d 0.0.2.post1), default generation arguments",
    }
    return arrays, meta
