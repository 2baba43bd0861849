"""MNIST-1D, generated locally with mnist1d.data.make_dataset (never get_dataset, which downloads).

pool_size + val_size + test_size samples are generated once with the dataset seed (make_dataset shuffles them):
the training pool is the first pool_size samples, validation the next val_size, test the last test_size.
`pool_size` is the training pool, as for every dataset. A data budget takes the first `budget` samples of the pool,
so budgets are nested and val/test never move.
"""

from __future__ import annotations

from ._util import check_sizes, isolated_global_rng, split_in_order


def generate(params: dict):
    import numpy as np
    from mnist1d.data import get_dataset_args, make_dataset

    pool, n_val, n_test = int(params["pool_size"]), int(params["val_size"]), int(params["test_size"])
    check_sizes("mnist1d", pool_size=pool, val_size=n_val, test_size=n_test)
    total = pool + n_val + n_test
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
        raise ValueError(f"datasets.mnist1d: pool_size + val_size + test_size must be a multiple of 10, got {total}")
    arrays = split_in_order(x, y, pool, n_val)
    meta = {
        "sizes": {"train": pool, "val": n_val, "test": n_test},
        "n_features": int(x.shape[1]),
        "n_classes": 10,
        "source": "mnist1d.data.make_dataset (mnist1d 0.0.2.post1), default generation arguments",
    }
    return arrays, meta
