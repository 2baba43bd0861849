"""MNIST-1D, generated locally: mnist1d.data.make_dataset's samples, bit for bit, drawn in batches (never
get_dataset, which downloads).

pool_size + val_size + test_size samples are generated once with the dataset seed (make_dataset shuffles them):
the training pool is the first pool_size samples, validation the next val_size, test the last test_size.
`pool_size` is the training pool, as for every dataset. A data budget takes the first `budget` samples of the pool,
so budgets are nested and val/test never move.

make_dataset transforms one sample at a time (four scipy interpolators and a Gaussian filter each: 16 s of CPU for
the default study's 65,000 samples). `make_samples` draws the same random numbers in the same order from the same
seeded RandomState, then applies the same floating-point operations to every sample at once: the arrays, hence the
cache's bytes, are identical (tests/test_datasets.py compares them with make_dataset's).
"""

from __future__ import annotations

from ._util import check_sizes, split_in_order


def generate(params: dict):
    import numpy as np

    pool, n_val, n_test = int(params["pool_size"]), int(params["val_size"]), int(params["test_size"])
    check_sizes("mnist1d", pool_size=pool, val_size=n_val, test_size=n_test)
    total = pool + n_val + n_test
    # make_dataset makes num_samples // 10 per class: pad nothing, just check
    if total % 10:
        raise ValueError(f"datasets.mnist1d: pool_size + val_size + test_size must be a multiple of 10, got {total}")
    x, y = make_samples(total, int(params["seed"]))
    arrays = split_in_order(x.astype(np.float32), y.astype(np.int64), pool, n_val)
    meta = {
        "sizes": {"train": pool, "val": n_val, "test": n_test},
        "n_features": int(x.shape[1]),
        "n_classes": 10,
        "source": "mnist1d.data.make_dataset (mnist1d 0.0.2.post1), default generation arguments",
    }
    return arrays, meta


def make_samples(num_samples: int, seed: int):
    """(x, y) of mnist1d.data.make_dataset with its default arguments, num_samples and seed (train_split 1.0)."""
    import numpy as np
    from mnist1d.data import get_dataset_args, get_templates

    args, templates = get_dataset_args(), get_templates()
    per_class = num_samples // len(templates["y"])
    labels = np.repeat(np.arange(len(templates["y"])), per_class)  # make_dataset's order: class by class
    draws = _draws(np.random.RandomState(seed), len(labels), args)
    dilated = args.template_len + args.padding[-1]
    x = np.empty((len(labels), dilated))
    for padding in np.unique(draws["padding"]):  # pad, then dilate: one interpolation per padded length
        rows = np.flatnonzero(draws["padding"] == padding)
        padded = np.zeros((len(rows), args.template_len + padding))
        padded[:, : args.template_len] = templates["x"][labels[rows]] + 1e-8
        x[rows] = _interpolate_rows(padded, dilated)
    x *= (1 + args.scale_coeff * (draws["scale"] - 0.5))[:, None]
    x = _translate_rows(x, draws["shift"])
    x = _noisy(x, draws, args)
    shear = args.shear_scale * (draws["shear"] - 0.5)
    x = x - shear[:, None] * np.linspace(-0.5, 0.5, dilated)
    x = _interpolate_rows(x, args.final_seq_length)
    shuffle = draws["shuffle"]
    xs, ys = x[shuffle], templates["y"][labels][shuffle]
    return (xs - xs.mean()) / xs.std(), ys


def _draws(rng, n: int, args) -> dict:
    """Every random number make_dataset draws, in its order: per sample the padding, the scale, the shift, the
    correlated and the iid noise, the shear; then the shuffle of the samples."""
    import numpy as np

    low, high = args.padding
    length = args.template_len + high
    out = {"padding": np.empty(n, dtype=np.int64), "scale": np.empty(n), "shift": np.empty(n, dtype=np.int64),
           "corr": np.empty((n, length)), "iid": np.empty((n, length)), "shear": np.empty(n)}
    rand, choice, randn = rng.rand, rng.choice, rng.randn
    for i in range(n):
        out["padding"][i] = low + int(rand() * (high - low + 1))
        out["scale"][i] = rand()
        out["shift"][i] = choice(args.max_translation)
        out["corr"][i] = randn(length)
        out["iid"][i] = randn(length)
        out["shear"][i] = rand()
    out["shuffle"] = rng.permutation(n)
    return out


def _noisy(x, draws, args):
    """Correlated noise where the signal is exactly zero (the padding), then iid noise everywhere."""
    from scipy.ndimage import gaussian_filter1d

    corr = gaussian_filter1d(args.corr_noise_scale * draws["corr"], 2, axis=-1)
    mask = x != 0
    x = mask * x + (1 - mask) * corr
    return x + args.iid_noise_scale * draws["iid"]


def _translate_rows(x, shifts):
    """Each row rotated right by its shift (make_dataset's concatenate([x[-k:], x[:-k]]), k = 0 leaving it)."""
    import numpy as np

    columns = (np.arange(x.shape[1])[None, :] - shifts[:, None]) % x.shape[1]
    return np.take_along_axis(x, columns, axis=1)


def _interpolate_rows(y, n: int):
    """Each row resampled to n points as np.interp(linspace(0, 1, n), linspace(0, 1, len), row) computes it
    (scipy's linear interp1d of a 1-D array delegates to np.interp): the same slope and the same two operations."""
    import numpy as np

    old, new = np.linspace(0, 1, y.shape[1]), np.linspace(0, 1, n)
    left = np.searchsorted(old, new, side="right") - 1
    right = np.minimum(left + 1, len(old) - 1)
    with np.errstate(invalid="ignore"):  # 0 / 0 at the last point, replaced below
        slope = (y[:, right] - y[:, left]) / (old[right] - old[left])
        out = slope * (new - old[left]) + y[:, left]
    exact = new == old[left]  # np.interp returns the point itself there (and at the last point)
    out[:, exact] = y[:, left[exact]]
    return out
