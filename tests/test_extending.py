"""Bring your own: user model families, user datasets and the command trainer, through the real trainers.

Each contract of docs/extending.md is exercised with user code written to temporary files, and each kind of broken
input is checked for an error that names the file (and line) and says what is allowed.
"""

import json
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from scalinglab import datasets, models, plugins, trainers  # noqa: E402
from scalinglab.config import ConfigError  # noqa: E402
from scalinglab.datasets.user import DataError  # noqa: E402
from scalinglab.trainers import builtin, command, settings  # noqa: E402

FAMILY = '''
import torch.nn as nn


def wide(architecture, meta):
    """An MLP family of the user's: hidden width from the sweep, shapes from the data's meta."""
    width = architecture["width"]
    return nn.Sequential(nn.Linear(meta["n_features"], width), nn.ReLU(), nn.Linear(width, meta["n_classes"]))


wide.width = lambda architecture, meta: architecture["width"]
wide.count_params = lambda architecture, meta: (
    meta["n_features"] * architecture["width"] + architecture["width"] * (1 + meta["n_classes"]) + meta["n_classes"])


class Embedded(nn.Module):
    def __init__(self, architecture, meta):
        super().__init__()
        self.table = nn.Embedding(meta["vocab_size"], architecture["d"])
        self.head = nn.Linear(architecture["d"], meta["vocab_size"])

    def forward(self, idx):  # (B, T) -> (B, T, V)
        return self.head(self.table(idx))


def wrong_shape(architecture, meta):
    return nn.Linear(meta["n_features"], meta["n_classes"] + 1)


def not_a_module(architecture, meta):
    return "a model"


def one_argument(architecture):
    return nn.Linear(4, 3)


class Broken(nn.Module):
    def __init__(self, architecture, meta):
        super().__init__()
        self.layer = nn.Linear(meta["n_features"], meta["n_classes"])

    def forward(self, x):
        return self.layer(x.t())  # the mistake: a transpose
'''


@pytest.fixture(scope="module")
def iris(tmp_path_factory):
    root = tmp_path_factory.mktemp("iris")
    datasets.prepare("iris", {}, root)
    return root


@pytest.fixture
def user_files(tmp_path, monkeypatch):
    """The user's files in a working directory, which the test makes the current one (snakemake's)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "family.py").write_text(FAMILY)
    return tmp_path


def spec_for(model, dataset="iris", architecture=None, budget=90, **train):
    return {
        "sweep": "mine", "dataset": dataset, "dataset_params": {}, "model": model,
        "architecture": architecture or {"width": 8}, "size_label": "w8", "seed": 0, "budget": budget,
        "budget_unit": "samples", "train": {**settings.train_defaults(), "batch_size": 16, "epochs": 2,
                                            "eval_points": 3, **train},
        "device": "cpu", "checkpoint_interval_s": 60, "keep_checkpoints": False, "on_failure": "stop",
        "run_id": "222222222222", "run_path": "mine/w8/90-samples/seed0",
    }


# ------------------------------------------------------------------------------------------------ model families


def test_a_family_from_a_user_file_trains_with_its_hooks(user_files, iris):
    spec = spec_for("models/family.py:wide", lr_width_rule="inverse", lr_base_width=4)
    m = builtin.run_training(spec, iris, user_files / "run")["metrics"]
    assert m["status"] == "ok" and m["final_val_loss"] > 0
    assert m["n_params"] == m["n_params_nonembedding"] == 4 * 8 + 8 * 4 + 3  # counted on the built module
    assert m["lr_effective"] == pytest.approx(spec["train"]["lr"] * 4 / 8)  # the width hook
    assert m["flops_6nd"] == 6 * m["n_params"] * m["samples_seen"]


def test_module_and_entry_point_references(user_files, iris, monkeypatch):
    package = user_files / "site" / "userpkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "nets.py").write_text(FAMILY)
    dist = user_files / "site" / "userpkg-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: userpkg\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[scalinglab.models]\nuser_wide = userpkg.nets:wide\n")
    monkeypatch.syspath_prepend(str(user_files / "site"))
    for name in ("userpkg.nets:wide", "user_wide"):
        models.check(name)
        m = builtin.run_training(spec_for(name), iris, user_files / name.replace(":", "_"))["metrics"]
        assert m["status"] == "ok" and m["n_params"] == 4 * 8 + 8 * 4 + 3
    with pytest.raises(plugins.UserCodeError, match=r"unknown model 'user_wyde'.*user_wide"):
        models.check("user_wyde")


def test_embeddings_are_not_counted_as_non_embedding_parameters(user_files):
    family = models.family("models/family.py:Embedded")
    module = family.build({"d": 6}, {"vocab_size": 11})
    n, non_embedding = models.count_module_params(module)
    assert n == 11 * 6 + 6 * 11 + 11 and non_embedding == 6 * 11 + 11


@pytest.mark.parametrize("model, message", [
    ("models/nowhere.py:wide", r"no file models/nowhere\.py \(paths in a study are relative to the directory"),
    ("models/family.py:narrow", r"defines no 'narrow' at its top level \(it defines: .*wide"),
    ("models/family.py:one_argument", r"wrong signature, one_argument\(architecture\) takes 1 positional"),
    ("models/family.py:", r"is not a Python name"),
])
def test_bad_references_are_refused_before_any_job(user_files, model, message):
    with pytest.raises(plugins.UserCodeError, match=message) as error:
        models.check(model)
    if "signature" in message:
        assert error.value.file.endswith("family.py") and error.value.line == FAMILY.split("\n").index(
            "def one_argument(architecture):") + 1


@pytest.mark.parametrize("model, message, line", [
    ("models/family.py:wrong_shape", r"returned shape \(2, 4\); it must return a tensor of \(B, n_classes\) = \(B, 3\)",
     None),
    ("models/family.py:not_a_module", r"returned a str, not a torch\.nn\.Module", None),
    ("models/family.py:Broken", r"forward raised RuntimeError", "        return self.layer(x.t())  # the mistake"),
])
def test_a_family_that_breaks_the_contract_names_its_file_and_line(user_files, iris, model, message, line):
    with pytest.raises(plugins.UserCodeError, match=message) as error:
        builtin.run_training(spec_for(model), iris, user_files / "run")
    assert error.value.file == "models/family.py"
    if line:
        assert error.value.line == next(i for i, text in enumerate(FAMILY.split("\n"), 1) if text.startswith(line))
        assert f"(models/family.py, line {error.value.line})" in str(error.value)


def test_a_failing_family_is_recorded_with_sweep_run_file_and_log(user_files, iris):
    spec = spec_for("models/family.py:Broken")
    spec["on_failure"] = "record"
    result = trainers.train_with_policy(spec, iris, user_files / "run", log="logs/train/mine.log")
    error = result["metrics"]["error"]
    assert result["metrics"]["status"] == "failed"
    for part in ("sweep 'mine'", "mine/w8/90-samples/seed0", "models/family.py, line", "logs/train/mine.log"):
        assert part in error


# ------------------------------------------------------------------------------------------------ datasets


def prepare_user(name, block, out, **kw):
    meta = datasets.prepare(name, block, out, **kw)
    arrays, _ = datasets.load(out)
    return arrays, meta


def test_a_text_corpus_trains_a_gpt(user_files):
    text = "".join(f"line {i}: the quick brown fox jumps over the lazy dog.\n" for i in range(400))
    (user_files / "corpus.txt").write_text(text)
    block = {"kind": "text", "path": "corpus.txt"}
    arrays, meta = prepare_user("corpus", block, user_files / "data")
    assert meta["task"] == "lm" and meta["unit"] == "tokens" and meta["vocab"] == sorted(set(text))
    assert meta["file_sha256"] == plugins.file_sha256(user_files / "corpus.txt")
    decoded = "".join(meta["vocab"][i] for split in ("train", "val", "test") for i in arrays[split])
    assert decoded == text  # split in order, nothing lost
    spec = spec_for("gpt", dataset="corpus", architecture={"n_layer": 1, "d_model": 16, "context": 16}, budget=16 * 16
                    * 20, batch_size=16)
    spec.update(dataset_params=block, budget_unit="tokens")
    m = builtin.run_training(spec, user_files / "data", user_files / "run")["metrics"]
    assert m["status"] == "ok" and m["val_eval_size"] == meta["sizes"]["val"] - 1


def test_a_user_language_model_family_on_a_user_text(user_files):
    (user_files / "corpus.txt").write_text("abcabd" * 2000)
    block = {"kind": "text", "path": "corpus.txt", "val_fraction": 0.1, "test_fraction": 0.1}
    meta = datasets.prepare("abc", block, user_files / "data")
    spec = spec_for("models/family.py:Embedded", dataset="abc", architecture={"d": 8, "context": 12}, budget=16 * 12
                    * 30, batch_size=16, lr=0.05)
    spec.update(dataset_params=block, budget_unit="tokens")
    m = builtin.run_training(spec, user_files / "data", user_files / "run")["metrics"]
    assert m["status"] == "ok" and m["final_val_loss"] < np.log(meta["vocab_size"])
    assert m["n_params_nonembedding"] == 8 * 4 + 4 and m["tokens_seen"] == 16 * 12 * 30
    del spec["architecture"]["context"]
    with pytest.raises(plugins.UserCodeError, match="needs `context`"):
        builtin.run_training(spec, user_files / "data", user_files / "run2")


def test_arrays_from_npz_with_explicit_splits_and_inferred_tasks(user_files):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 5))
    np.savez(user_files / "cls.npz", X=x, y=(x[:, 0] > 0).astype(int) * 3 + 1,
             X_test=x[:20], y_test=np.full(20, 4))
    arrays, meta = prepare_user("cls", {"kind": "arrays", "path": "cls.npz", "val_size": 30}, user_files / "a")
    assert meta["task"] == "classification" and meta["n_classes"] == 2 and meta["classes"] == [1, 4]
    assert meta["sizes"] == {"train": 170, "val": 30, "test": 20}
    assert set(np.unique(arrays["y_test"])) == {1} and arrays["x_train"].dtype == np.float32
    np.savez(user_files / "reg.npz", X=x, y=x @ np.arange(5.0))
    arrays, meta = prepare_user("reg", {"kind": "arrays", "path": "reg.npz"}, user_files / "r")
    assert meta["task"] == "regression" and meta["n_outputs"] == 1 and arrays["y_train"].shape == (160, 1)
    again, _ = prepare_user("reg", {"kind": "arrays", "path": "reg.npz"}, user_files / "r2")
    assert all(np.array_equal(arrays[k], again[k]) for k in arrays)  # deterministic from the seed
    other, _ = prepare_user("reg", {"kind": "arrays", "path": "reg.npz", "seed": 1}, user_files / "r3")
    assert not np.array_equal(arrays["y_test"], other["y_test"])


def test_arrays_from_a_csv_table_with_text_labels_train_an_mlp(user_files):
    rng = np.random.default_rng(1)
    rows = ["a,b,c,species"] + [f"{u:.3f},{v:.3f},{u - v:.3f},{'big' if u + v > 0 else 'small'}"
                                for u, v in rng.normal(size=(300, 2))]
    (user_files / "table.csv").write_text("\n".join(rows) + "\n")
    block = {"kind": "arrays", "path": "table.csv", "target": "species", "features": ["a", "b"]}
    arrays, meta = prepare_user("table", block, user_files / "t")
    assert meta["classes"] == ["big", "small"] and meta["n_features"] == 2
    spec = spec_for("mlp", dataset="table", architecture={"depth": 1, "width": 8}, budget=100)
    spec["dataset_params"] = block
    m = builtin.run_training(spec, user_files / "t", user_files / "run")["metrics"]
    assert m["status"] == "ok" and m["test_loss_at_best_val"] is not None


def test_a_python_function_and_the_cache_by_content(user_files):
    (user_files / "make.py").write_text(textwrap.dedent('''
        import numpy as np

        def make(n, noise=0.1):
            rng = np.random.default_rng(7)
            x = rng.normal(size=(n, 3))
            return x, x.sum(axis=1) + noise * rng.normal(size=n)
    '''))
    block = {"kind": "python", "function": "make.py:make", "params": {"n": 120}}
    spec = datasets.get_spec("made", block)
    first_id = spec.dataset_id(block)
    arrays, meta = prepare_user("made", block, user_files / "m")
    assert meta["task"] == "regression" and meta["sizes"]["train"] == 96
    assert datasets.cached_meta("made", block, user_files / "m") is not None
    (user_files / "make.py").write_text((user_files / "make.py").read_text().replace("0.1", "0.2"))
    assert datasets.cached_meta("made", block, user_files / "m") is None  # the file changed: prepare again
    assert spec.dataset_id(block) != first_id


@pytest.mark.parametrize("body, params, message", [
    ("def make(n):\n    return {'X': [[1.0]] * n}\n", {"n": 5}, r"returned a dict; the contract is NAME\(\*\*params\)"),
    ("def make(n):\n    return None\n", {"size": 5}, r"wrong signature make\(n\)"),
    ("def make(n):\n    raise KeyError('no such table')\n", {"n": 5}, r"make raised KeyError: 'no such table'"),
    ("def make(n):\n    return [[1.0, 2.0], [3.0]], [0, 1]\n", {"n": 5}, r"returned X with ragged rows"),
])
def test_a_python_dataset_function_that_breaks_the_contract(user_files, body, params, message):
    (user_files / "bad_make.py").write_text("# a data function\n" + body)
    block = {"kind": "python", "function": "bad_make.py:make", "params": params}
    with pytest.raises((plugins.UserCodeError, DataError), match=message) as error:
        datasets.prepare("made", block, user_files / "out")
    if isinstance(error.value, plugins.UserCodeError) and "raised" in message:
        assert error.value.file == "bad_make.py" and error.value.line == 3


def test_a_budget_larger_than_the_training_pool_is_refused_when_preparing(user_files):
    np.savez(user_files / "small.npz", X=np.arange(40.0).reshape(20, 2), y=np.arange(20) % 2)
    block = {"kind": "arrays", "path": "small.npz", "val_size": 4, "test_size": 4}
    with pytest.raises(ValueError, match=r"training pool of 12 samples.*sweep 'big' asks for 13"):
        datasets.prepare("small", block, user_files / "s", budgets={"ok": 12, "big": 13})


def write_npz(path, **arrays):
    np.savez(path, **arrays)
    return path.name


@pytest.mark.parametrize("make, message", [
    (lambda d: write_npz(d / "nan.npz", X=np.where(np.eye(10, 3) > 0, np.nan, 1.0), y=np.arange(10) % 2),
     r"X row 0 holds NaN or inf"),
    (lambda d: write_npz(d / "one.npz", X=np.ones((10, 3)), y=np.zeros(10, dtype=int)),
     r"a single class \(0\): nothing to classify"),
    (lambda d: write_npz(d / "short.npz", X=np.ones((10, 3)), y=np.zeros(9, dtype=int)),
     r"X has 10 rows and y 9: one label per row"),
    (lambda d: write_npz(d / "keys.npz", x=np.ones((10, 3)), y=np.zeros(10)), r"needs arrays X and y .* holds x, y"),
    (lambda d: (d / "ragged.csv").write_text("a,b,y\n1,2,0\n3,4,5,1\n") and "ragged.csv",
     r"ragged rows: .*line 3"),
    (lambda d: (d / "gap.csv").write_text("a,b,y\n1,2,0\n3,,1\n5,6,1\n") and "gap.csv",
     r"row 1, line 3 has a missing value"),
    (lambda d: "absent.npz", r"no file absent\.npz"),
])
def test_bad_data_is_refused_naming_the_file_and_row(user_files, make, message):
    path = make(user_files)
    block = {"kind": "arrays", "path": path, "val_size": 2, "test_size": 2}
    if path.endswith(".csv"):
        block["target"] = "y"
    with pytest.raises(DataError, match=message):
        datasets.prepare("bad", block, user_files / "out")


def test_bad_dataset_entries_are_config_errors(user_files):
    with pytest.raises(ConfigError, match=r"datasets.mine.kind: 'csv' is not a kind of data; allowed: text, arrays"):
        datasets.get_spec("mine", {"kind": "csv"})
    with pytest.raises(ConfigError, match=r"unknown key\(s\) target for kind text; allowed: kind, path"):
        datasets.get_spec("mine", {"kind": "text", "path": "a.txt", "target": "y"}).params_with_defaults(
            {"kind": "text", "path": "a.txt", "target": "y"})
    with pytest.raises(ConfigError, match=r"unknown dataset 'nope': not a built-in dataset"):
        datasets.get_spec("nope", {})


# ------------------------------------------------------------------------------------------------ command trainer

SCRIPT = '''
import json, os, sys

args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
out = args["--out"]
width, seed = int(args["--width"]), int(args["--seed"])
spec = json.load(open(args["--spec"]))
loss = 3.0 / width ** 0.5 + 0.01 * seed
metrics = {"final_val_loss": loss, "n_params": 100 * width, "tokens_seen": int(args["--tokens"]),
           "my_metric": 7.5, "note": "not a number", "betas": json.loads(args["--betas"])[0],
           "attempt": int(args["--attempt"]), "label": len(args["--label"]),
           "curve": [{"step": 1, "val_loss": loss * 2}, {"step": 2, "val_loss": loss}]}
if spec["run_id"] != args["--run-id"]:
    sys.exit("the spec file is not this run's")
json.dump(metrics, open(os.path.join(out, "metrics.json"), "w"))
'''

COMMAND = ("python train.py --width {width} --tokens {budget} --seed {seed} --out {out_dir} --spec {spec} "
           "--betas {betas} --attempt {attempt} --label {label} --run-id {run_id}")


def command_spec(command=COMMAND, architecture=None, **changes):
    spec = {
        "sweep": "script", "trainer": "command", "command": command, "dataset": None, "dataset_params": None,
        "model": None, "architecture": architecture or {"width": 16, "label": "two words; rm -rf x"},
        "size_label": "w16", "seed": 1, "budget": 5000, "budget_unit": "tokens",
        "train": {"betas": [0.9, 0.95]}, "device": "cpu", "checkpoint_interval_s": 60, "keep_checkpoints": False,
        "on_failure": "stop", "run_id": "333333333333", "run_path": "script/w16/5K-tokens/seed1",
    }
    spec.update(changes)
    return spec


@pytest.fixture
def script_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "train.py").write_text(SCRIPT)
    return tmp_path


def test_the_command_trainer_runs_a_script_and_writes_the_run_record(script_dir):
    spec = command_spec(command=COMMAND.replace("python", sys.executable))
    result = trainers.run(spec, None, script_dir / "run", attempt=2)
    m = result["metrics"]
    assert m["status"] == "ok" and m["final_val_loss"] == pytest.approx(3.0 / 4 + 0.01)
    assert m["n_params"] == m["n_params_nonembedding"] == 1600 and m["tokens_seen"] == 5000
    assert m["flops"] == 6 * 1600 * 5000 and m["flops_estimated"] is True and m["flops_6nd"] == m["flops"]
    assert m["my_metric"] == 7.5 and "note" not in m and m["betas"] == 0.9  # lists arrive as JSON
    assert m["attempt"] == 2 and m["label"] == len("two words; rm -rf x")  # shell-quoted: one argument
    assert m["wall_s"] > 0 and result["curve"] == [{"step": 1, "val_loss": m["final_val_loss"] * 2},
                                                   {"step": 2, "val_loss": m["final_val_loss"]}]
    on_disk = json.loads((script_dir / "run" / "run.json").read_text())
    assert on_disk["spec"] == spec and on_disk["env"]["command"].startswith(sys.executable)


def test_the_flat_placeholder_namespace_refuses_clashes_and_unknown_names():
    with pytest.raises(ValueError, match=r"architecture key 'seed' clashes with the placeholder \{seed\}"):
        command.check_command("run {seed}", {"seed": 3}, {}, has_dataset=False)
    with pytest.raises(ValueError, match=r"train key 'width' clashes"):
        command.check_command("run {width}", {"width": 3}, {"width": 4}, has_dataset=False)
    with pytest.raises(ValueError, match=r"unknown placeholder\(s\) \{widht\}; known: .*width"):
        command.check_command("run {widht}", {"width": 3}, {}, has_dataset=False)
    with pytest.raises(ValueError, match=r"unknown placeholder\(s\) \{data_dir\}"):
        command.check_command("run {data_dir}", {}, {}, has_dataset=False)
    command.check_command("run {data_dir} {{literal}}", {}, {}, has_dataset=True)


@pytest.mark.parametrize("body, message", [
    ("import sys; sys.exit(3)", r"the command exited with status 3"),
    ("pass", r"wrote no .*metrics\.json"),
    ("open(OUT + '/metrics.json', 'w').write('{\"final_val_loss\": 1,')", r"metrics\.json is not valid JSON"),
    ("open(OUT + '/metrics.json', 'w').write('[1, 2]')", r"holds a JSON list, not an object"),
    ("open(OUT + '/metrics.json', 'w').write('{\"final_val_loss\": 1.5}')", r"has no 'n_params'"),
    ("open(OUT + '/metrics.json', 'w').write('{\"final_val_loss\": NaN, \"n_params\": 5}')",
     r"final_val_loss is nan, not a finite number"),
    ("open(OUT + '/metrics.json', 'w').write('{\"final_val_loss\": 1, \"n_params\": 5, \"curve\": [{\"v\": 1}]}')",
     r"curve row 0 has no numeric step"),
])
def test_a_command_that_breaks_the_contract_fails_clearly(script_dir, body, message):
    (script_dir / "bad.py").write_text(f"import sys\nOUT = sys.argv[1]\n{body}\n")
    spec = command_spec(command=f"{sys.executable} bad.py {{out_dir}}")
    with pytest.raises(command.CommandError, match=message):
        trainers.run(spec, None, script_dir / "run")
    spec["on_failure"] = "record"
    result = trainers.train_with_policy(spec, None, script_dir / "run", log="logs/train/script.log")
    assert result["metrics"]["status"] == "failed"
    assert "sweep 'script'" in result["metrics"]["error"] and "logs/train/script.log" in result["metrics"]["error"]


def test_a_retry_reruns_the_command_with_the_next_attempt(script_dir):
    (script_dir / "flaky.py").write_text(textwrap.dedent('''
        import json, sys
        out, attempt = sys.argv[1], int(sys.argv[2])
        if attempt < 2:
            sys.exit("first attempt fails")
        json.dump({"final_val_loss": 1.0, "n_params": 10}, open(out + "/metrics.json", "w"))
    '''))
    spec = command_spec(command=f"{sys.executable} flaky.py {{out_dir}} {{attempt}}")
    with pytest.raises(command.CommandError, match="status 1"):
        trainers.train_with_policy(spec, None, script_dir / "run", attempt=1, max_attempts=2)
    result = trainers.train_with_policy(spec, None, script_dir / "run", attempt=2, max_attempts=2)
    assert result["metrics"]["status"] == "ok" and result["metrics"]["tokens_seen"] == 5000


def test_data_dir_reaches_the_command(script_dir, iris):
    (script_dir / "peek.py").write_text(textwrap.dedent('''
        import json, sys
        meta = json.load(open(sys.argv[2] + "/meta.json"))
        json.dump({"final_val_loss": 1.0, "n_params": meta["n_features"]}, open(sys.argv[1] + "/metrics.json", "w"))
    '''))
    spec = command_spec(command=f"{sys.executable} peek.py {{out_dir}} {{data_dir}}", dataset="iris",
                        budget_unit="samples")
    m = trainers.run(spec, iris, script_dir / "run")["metrics"]
    assert m["n_params"] == 4 and m["samples_seen"] == 5000


def test_references_parse_like_console_scripts():
    assert plugins.parse("a/b.py:f", "g").kind == "file"
    assert plugins.parse("pkg.mod:f", "g") == plugins.Reference("pkg.mod:f", "module", "pkg.mod", "f", "g")
    assert plugins.parse("registered", "g").kind == "entry_point"
    with pytest.raises(plugins.UserCodeError, match=r"neither a \.py file nor a dotted module"):
        plugins.parse("pkg-mod:f", "g")
    assert Path(plugins.parse("x.py:f", "g").path) == Path("x.py")


# ------------------------------------------------------------------------------------------------ the examples

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def example_sweep(name):
    import yaml

    config = yaml.safe_load((EXAMPLES / name / "config.yaml").read_text())
    assert (EXAMPLES / name / "README.md").is_file()
    return config, config["sweeps"][0]


def example_spec(sweep, size, **overrides):
    spec = spec_for(sweep.get("model"), dataset=sweep.get("dataset"),
                    architecture={**sweep.get("architecture", {}), **size}, budget=sweep["budgets"][0])
    spec["train"].update({**sweep.get("train", {}), **overrides})
    spec.update(sweep=sweep["name"], run_path=f"{sweep['name']}/example/seed0")
    return spec


def test_example_model_family_from_a_user_file(tmp_path, monkeypatch):
    monkeypatch.chdir(EXAMPLES.parent)  # example paths are relative to the repository root
    config, sweep = example_sweep("model_family")
    models.check(sweep["model"])
    datasets.prepare(sweep["dataset"], {}, tmp_path / "data")
    spec = example_spec(sweep, sweep["sizes"][1], epochs=2)
    m = builtin.run_training(spec, tmp_path / "data", tmp_path / "run")["metrics"]
    assert m["status"] == "ok" and m["final_val_loss"] < np.log(10)  # it learned, from its own family
    family = models.family(sweep["model"])
    assert family.count_params(spec["architecture"], {"n_features": 64, "n_classes": 10}) == (
        m["n_params"], m["n_params"])  # the hook agrees with the built module


def test_example_dataset_from_a_user_file(tmp_path, monkeypatch):
    monkeypatch.chdir(EXAMPLES.parent)
    config, sweep = example_sweep("dataset_file")
    block = config["datasets"][sweep["dataset"]]
    meta = datasets.prepare(sweep["dataset"], block, tmp_path / "data", budgets={sweep["name"]: max(sweep["budgets"])})
    assert meta["sizes"]["train"] == max(sweep["budgets"]) and meta["classes"] == ["blue", "green", "red"]
    spec = example_spec(sweep, sweep["sizes"][-1], epochs=5)
    spec["dataset_params"] = block
    m = builtin.run_training(spec, tmp_path / "data", tmp_path / "run")["metrics"]
    assert m["status"] == "ok" and m["test_loss_at_best_val"] < np.log(3)


def test_example_training_script_runs_without_scalinglab(tmp_path, monkeypatch):
    import ast

    monkeypatch.chdir(EXAMPLES.parent)
    config, sweep = example_sweep("command_trainer")
    script = EXAMPLES / "command_trainer" / "train.py"
    imported = {alias.name.split(".")[0] for node in ast.walk(ast.parse(script.read_text()))
                if isinstance(node, (ast.Import, ast.ImportFrom)) for alias in node.names}
    assert "scalinglab" not in imported and imported <= {"argparse", "json", "math", "os", "numpy"}
    spec = command_spec(command=sweep["command"].replace("python ", f"{sys.executable} ", 1),
                        architecture=sweep["sizes"][2], train=sweep["train"], budget=sweep["budgets"][0],
                        budget_unit=None)
    command.check_command(spec["command"], spec["architecture"], spec["train"], has_dataset=False)
    result = trainers.run(spec, None, tmp_path / "run")
    m = result["metrics"]
    assert m["status"] == "ok" and m["n_params"] == 17 and m["samples_seen"] == 4000 and m["flops_estimated"]
    assert len(result["curve"]) == sweep["train"]["epochs"] and "final_train_loss" in m
    assert not (tmp_path / "run" / "checkpoint.npz").exists()
