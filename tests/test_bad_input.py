"""Bad study configs are refused before any job, by `scalinglab sweep CONFIG` and by `snakemake -n --configfile
CONFIG` alike, with one message that names the file, the key path, the bad value and what is allowed. Never a
traceback, an InputFunctionException or a KeyError, and nothing is written."""

from __future__ import annotations

import copy
import subprocess
import sys

import pytest
import yaml
from conftest import REPO, iris_study, job_environment

from scalinglab.cli import main as cli_main


def study() -> dict:
    """A valid tiny study; every case breaks one thing in it."""
    return iris_study("bad_input", budget=90, bootstrap=0)


def mutated(change) -> dict:
    config = copy.deepcopy(study())
    change(config)
    return config


def sweep(**changes):
    return lambda config: config["sweeps"][0].update(changes)


LONG_NAME = "s" * 300
CHINCHILLA_CSV = REPO / "tests" / "data" / "chinchilla_svg_extracted_data.csv"


def external(path=CHINCHILLA_CSV, size_column="Model Size") -> dict:
    """A study of external data (the Chinchilla CSV)."""
    return {"study": "bad_external", "external": [{
        "name": "chin", "path": str(path), "source": "https://example.org/chinchilla.csv",
        "columns": {"n_params": size_column, "flops": "Training FLOP", "final_val_loss": "loss"},
        "derive": {"tokens": "flops / (6 * n_params)"}}],
        "fit": {"laws": ["saturating_power"], "bootstrap": 0}}


def mutated_external(targets=None, **changes) -> dict:
    config = external()
    config["external"][0].update(changes)
    if targets:
        config["targets"] = targets
    return config

# (case id, the config (dict) or raw YAML text, what the one message must contain)
CASES = [
    ("unknown law", mutated(lambda c: c["fit"].update(laws=["saturating_powr"])),
     "fit.laws[0]: unknown law 'saturating_powr' (did you mean 'saturating_power'?); known laws: "),
    ("unknown law in a sweep", mutated(sweep(fit={"laws": ["powr"]})),
     "sweeps[0].fit.laws[0]: unknown law 'powr' (did you mean 'power'?)"),
    ("typo in a sweep's fit", mutated(sweep(fit={"bootstrp": 10})),
     "sweeps[0].fit.bootstrp: unknown key 'bootstrp' (did you mean 'bootstrap'?); allowed: "),
    ("law for laws in a sweep's fit", mutated(sweep(fit={"law": ["power"]})),
     "sweeps[0].fit.law: unknown key 'law' (did you mean 'laws'?)"),
    ("bootstrap_unit seeds", mutated(sweep(fit={"bootstrap_unit": "seeds"})),
     "sweeps[0].fit.bootstrap_unit: 'seeds' is not allowed (did you mean 'seed'?); allowed: run, seed"),
    ("typo in architecture", mutated(sweep(architecture={"depht": 1})),
     "sweeps[0].architecture.depht: unknown key 'depht' (did you mean 'depth'?); allowed: "),
    ("typo in a size", mutated(sweep(sizes=[{"widht": 4}, {"width": 8}, {"width": 16}])),
     "sweeps[0].sizes[0].widht: unknown key 'widht' (did you mean 'width'?)"),
    ("unknown dataset block", mutated(lambda c: c.update(datasets={"iriss": {"val_size": 30}})),
     "datasets.iriss: unknown dataset 'iriss' (did you mean 'iris'?); known: "),
    ("unknown dataset of a sweep", mutated(sweep(dataset="iriss")),
     "sweeps[0].dataset: unknown dataset 'iriss' (did you mean 'iris'?)"),
    ("unknown dataset parameter", mutated(lambda c: c["datasets"]["iris"].update(val_sise=3)),
     "datasets.iris.val_sise: unknown key 'val_sise' (did you mean 'val_size'?)"),
    ("zero size", mutated(sweep(sizes=[{"width": 0}, {"width": 8}, {"width": 16}])),
     "sweeps[0].sizes[0].width: 0 is not a size; width is a whole number >= 1"),
    ("negative size", mutated(sweep(sizes=[{"width": 4}, {"width": -8}, {"width": 16}])),
     "sweeps[0].sizes[1].width: -8 is not a size"),
    ("zero target_params", mutated(sweep(sizes=[{"target_params": 0}, {"width": 8}, {"width": 16}])),
     "sweeps[0].sizes[0].target_params: 0 is not a size"),
    ("unknown activation", mutated(sweep(architecture={"depth": 1, "activation": "sigmoid"})),
     "sweeps[0].architecture: mlp architecture: activation must be one of relu, gelu, tanh"),
    ("heads that do not divide the width",
     mutated(sweep(model="gpt", dataset="shakespeare_char", architecture={"n_layer": 1, "context": 16},
                   sizes=[{"d_model": 16}, {"d_model": 30, "n_head": 4}, {"d_model": 64}], budgets=[10000])),
     "sweeps[0].sizes[1]: gpt architecture: d_model 30 is not a multiple of n_head 4"),
    ("repeated size", mutated(sweep(sizes=[{"width": 4}, {"width": 4}, {"width": 16}])),
     "sweeps[0].sizes[1]: {'width': 4} is listed twice (also sizes[0])"),
    ("budget above the training pool", mutated(sweep(budgets=[1000])),
     "sweeps[0].budgets[0]: 1000 samples is more than the training pool of iris (90 samples with these "
     "parameters)"),
    ("val + test above the corpus", mutated(lambda c: c["datasets"]["iris"].update(val_size=80, test_size=80)),
     "datasets.iris: val_size 80, test_size 80 leave no training samples of the 150 in iris"),
    ("fewer points than parameters", mutated(sweep(sizes=[{"width": 4}, {"width": 8}])),
     "fit.laws: law 'saturating_power' has 3 parameters but sweep 'iris_width' gives 2 distinct size(s)"),
    ("two-input law on one x column", mutated(lambda c: c["fit"].update(laws=["chinchilla"])),
     "fit.x: law 'chinchilla' takes 2 input(s) (N, D) but x names 1 (n_params)"),
    ("sweep name too long for the file system", mutated(sweep(name=LONG_NAME)),
     "is 300 bytes; this file system allows 255"),
    ("no study name", mutated(lambda c: c.pop("study")), "study: missing; every study file names its study"),
    ("reserved study name", mutated(lambda c: c.update(study="data")), "study: 'data' is reserved"),
    ("neither sweeps nor external", mutated(lambda c: c.pop("sweeps")),
     "config: a study trains `sweeps` or reads `external` CSVs, one of the two; this one has neither"),
    ("negative budget", mutated(sweep(budgets=[-5])), "sweeps[0].budgets[0]: -5 is less than the minimum of 1"),
    ("wrong type", mutated(lambda c: c.update(retries="twice")), "retries: 'twice' is not of type 'integer'"),
    ("unknown top-level key", mutated(lambda c: c.update(sweep=[])),
     ": sweep: unknown key 'sweep' (did you mean 'sweeps'?); allowed: "),
    ("external CSV missing", external(path="/nowhere/runs.csv"),
     "external[0].path: external data 'chin': file not found: /nowhere/runs.csv (resolved: /nowhere/runs.csv). Get "
     "it from: https://example.org/chinchilla.csv"),
    ("external column typo", external(size_column="Model Sise"),
     "external[0].columns.n_params: 'Model Sise' is not a column of "),
    ("study '..'", mutated(lambda c: c.update(study="..")),
     "study: '..' is not allowed; allowed: letters, digits, '_', '-' and '.', not first (a name is one folder: no "
     "'/', no '.' or '..', no hidden folder)"),
    ("study '.'", mutated(lambda c: c.update(study=".")), "study: '.' is not allowed; allowed: letters, digits"),
    ("hidden study", mutated(lambda c: c.update(study=".hidden")), "study: '.hidden' is not allowed"),
    ("dataset name with a slash",
     mutated(lambda c: c["datasets"].update({"a/b": {"kind": "arrays", "path": "rows.csv", "target": "label"}})),
     "datasets.a/b: the name 'a/b' is not allowed; allowed: letters, digits, '_', '-' and '.', not first"),
    ("NaN compute budget", mutated(lambda c: (c["sweeps"][0].pop("budgets"),
                                              c["sweeps"][0].update(compute_budgets=[float("nan"), 1.0e6]))),
     "sweeps[0].compute_budgets[0]: nan is not a compute budget; allowed: a finite number of FLOPs > 0, e.g. "
     "2.0e+10"),
    ("infinite compute budget", mutated(lambda c: (c["sweeps"][0].pop("budgets"),
                                                   c["sweeps"][0].update(compute_budgets=[1.0e6, float("inf")]))),
     "sweeps[0].compute_budgets[1]: inf is not a compute budget"),
    ("infinite target compute budget",
     mutated(lambda c: (c["sweeps"][0].pop("budgets"), c["sweeps"][0].update(compute_budgets=[5.0e3, 1.5e4]),
                        c["sweeps"][0]["train"].update(batch_size=1),
                        c.update(targets=[{"name": "big", "sweep": "iris_width", "size": {"width": 64},
                                           "compute_budget": float("inf")}]))),
     "targets[0].compute_budget: inf is not a compute budget"),
    ("a number YAML reads as text", mutated(lambda c: (c["sweeps"][0].pop("budgets"),
                                                       c["sweeps"][0].update(compute_budgets=["2e10"]))),
     "sweeps[0].compute_budgets[0]: '2e10' is not of type 'number'; YAML reads 2e10 as text (a number in exponent "
     "form needs a '.' and a signed exponent): write 2.0e+10"),
    ("a whole number YAML reads as text", mutated(sweep(budgets=["9e1"])),
     "sweeps[0].budgets[0]: '9e1' is not of type 'integer'; YAML reads 9e1 as text (a number in exponent form needs "
     "a '.' and a signed exponent): write 90"),
    ("duplicate YAML key", "study: x\ndevice: cpu\ndevice: cuda\nsweeps: []\n",
     ":3:1: not valid YAML: the key 'device' is given twice in one mapping (lines 2 and 3); YAML would keep only "
     "the last: remove one"),
    ("external derive runs no Python", mutated_external(derive={"tokens": "__import__('os').system('true')"}),
     "external[0].derive.tokens: \"__import__('os').system('true')\": only numbers, columns, + - * / ** and log, "
     "log10, exp, sqrt, abs are allowed"),
    ("external derive of an unknown column", mutated_external(derive={"tokens": "flopz / 6"}),
     "external[0].derive.tokens: 'flopz / 6': unknown column 'flopz'; columns are n_params, flops, final_val_loss"),
    ("external derive syntax error", mutated_external(derive={"tokens": "flops / (6 * n_params"}),
     "external[0].derive.tokens: 'flops / (6 * n_params': cannot parse"),
    ("external drop_largest drops every row", mutated_external(drop_largest={"final_val_loss": 1000}),
     "external[0].drop_largest: law 'saturating_power' has 3 parameters but external data 'chin' leaves its ladder 0 "
     "distinct point(s) in x = n_params after 245 row(s) dropped by drop_largest"),
    ("target name too long for the file system",
     mutated(lambda c: c.update(targets=[{"name": LONG_NAME, "sweep": "iris_width", "size": {"width": 64},
                                          "budget": 90}])),
     "targets[0].name: the path component 'ssssssss"),
    ("a train value the grid overrides",
     mutated(lambda c: c["sweeps"][0].update(grid={"lr": [0.01, 0.03]}, train={"batch_size": 30, "lr": 0.5})),
     "sweeps[0].train.lr: 0.5 is never used: the grid varies lr ([0.01, 0.03]), and each run trains its grid value"),
    ("a law listed twice", mutated(lambda c: c["fit"].update(laws=["power", "power"])),
     "fit.laws[1]: law 'power' is listed twice (also laws[0]); each law is fitted once"),
    ("sizes that resolve to one model",
     mutated(sweep(sizes=[{"target_params": 1}, {"target_params": 2}, {"target_params": 3}])),
     "sweeps[0].sizes[1]: {'target_params': 2} resolves to the same model as sizes[0] ({'target_params': 1}), "
     "width 1, depth 1 with 11 parameters: its runs would repeat that size's"),
    ("absurd memory request", mutated(sweep(resources={"mem_mb": 10**15})),
     "sweeps[0].resources.mem_mb: 1000000000000000 is greater than the maximum of 100000000"),
    ("YAML syntax error", "study: x\nsweeps:\n  - name: [unclosed\n", ":4:1: not valid YAML"),
    ("not a mapping", "- just\n- a list\n", "a study file holds a mapping of keys (study, sweeps, ...); not a list"),
    ("empty file", "", "a study file holds a mapping of keys (study, sweeps, ...); it is empty"),
]
# ----------------------------------------------------------------------------- the researcher's own code and data

USER_FILES = {
    "family.py": "def one_argument(architecture):\n    return None\n\n\n"
                 "def family(architecture, meta):\n    return None\n",
    "data.py": "def make(n, noise=0.1):\n    return None\n",
    "train.py": "print('never run')\n",
    "boom.py": "raise RuntimeError('boom at import')\n\n\ndef family(architecture, meta):\n    return None\n",
    "counts.py": "notcallable = 42\n\n\ndef family(architecture, meta):\n    return None\n\n\n"
                 "family.count_params = lambda architecture, meta: 'lots'\n",
    "words.txt": "the scaling law of small models predicts large ones\n" * 20,
    "rows.csv": "x,y,label\n1,2,a\n",
    "empty.txt": "",
    "ladder.csv": "N,loss\n" + "".join(f"{n},{1 + 10 * n ** -0.3}\n" for n in (1e6, 3e6, 1e7, 3e7) for _ in (0, 1)),
}


def command_sweep(**changes) -> dict:
    """A command sweep; a change to None leaves that key out."""
    block = {"name": "script", "trainer": "command", "command": "python train.py --width {width} --out {out_dir}",
             "sizes": [{"width": 4}, {"width": 8}, {"width": 16}], "budgets": [100], **changes}
    return {key: value for key, value in block.items() if value is not None}


def own(change) -> dict:
    """The tiny study with a change that brings the user's code or data."""
    return mutated(change)


USER_CASES = [
    ("model file missing", own(sweep(model="models/nowhere.py:family")),
     "sweeps[0].model: models/nowhere.py:family: no file models/nowhere.py (paths in a study are relative to the "
     "directory snakemake runs in"),
    ("model attribute missing", own(sweep(model="family.py:famliy")),
     "sweeps[0].model: family.py:famliy: family.py defines no 'famliy' at its top level (it defines: family, "
     "one_argument)"),
    ("model with the wrong signature", own(sweep(model="family.py:one_argument")),
     "sweeps[0].model: family.py:one_argument: wrong signature, one_argument(architecture) takes 1 positional "
     "argument(s), not 2; the contract is NAME(architecture: dict, meta: dict) -> torch.nn.Module (family.py, line 1)"),
    ("model module missing", own(sweep(model="nopackage.models:family")),
     "sweeps[0].model: nopackage.models:family: no module named 'nopackage' can be imported here"),
    ("unknown placeholder", own(lambda c: c.update(sweeps=[command_sweep(command="python train.py --w {widht}")])),
     "sweeps[0].command: command 'python train.py --w {widht}': unknown placeholder(s) {widht}; known: attempt, "
     "budget, out_dir, run_id, seed, spec, width"),
    ("size key clashes with a placeholder",
     own(lambda c: c.update(sweeps=[command_sweep(sizes=[{"width": 4, "seed": 1}, {"width": 8}, {"width": 16}])])),
     "sweeps[0].sizes[0].seed: architecture key 'seed' clashes with the placeholder {seed}"),
    ("train key clashes with a placeholder", own(lambda c: c.update(sweeps=[command_sweep(train={"out_dir": "x"})])),
     "sweeps[0].train.out_dir: train key 'out_dir' clashes with the placeholder {out_dir}"),
    ("data_dir without a dataset",
     own(lambda c: c.update(sweeps=[command_sweep(command="python train.py {data_dir}")])),
     "sweeps[0].command: command 'python train.py {data_dir}': unknown placeholder(s) {data_dir}"),
    ("model in a command sweep", own(lambda c: c.update(sweeps=[command_sweep(model="mlp")])),
     "sweeps[0].model: a command sweep's script builds its own model: leave `model` out"),
    ("command sweep without a command", own(lambda c: c.update(sweeps=[command_sweep(command=None)])),
     "sweeps[0]: sweep 'script' has `trainer: command` but no `command`, the shell command run once per run"),
    ("command in a built-in sweep", own(sweep(command="python train.py")),
     "sweeps[0].command: only a sweep with `trainer: command` runs a command"),
    ("built-in sweep without a model", own(lambda c: c["sweeps"][0].pop("model")),
     "sweeps[0]: sweep 'iris_width' has no `model`; the built-in trainer needs one"),
    ("model raises at import", own(sweep(model="boom.py:family")),
     "sweeps[0].model: boom.py:family: importing boom.py raised RuntimeError: boom at import (boom.py, line 1)"),
    ("model attribute not callable", own(sweep(model="counts.py:notcallable")),
     "sweeps[0].model: counts.py:notcallable: notcallable is a int, not a function or class"),
    ("count_params hook returns garbage",
     own(lambda c: (c["sweeps"][0].pop("budgets"), sweep(model="counts.py:family", compute_budgets=[1.0e6])(c))),
     "sweeps[0].model: counts.py:family: count_params returned 'lots' for architecture {'depth': 1, 'width': 4}; "
     "the contract is NAME.count_params(architecture, meta) -> int | (int, int), counts >= 0"),
    ("text data on the mlp", own(lambda c: (c["datasets"].update(words={"kind": "text", "path": "words.txt"}),
                                            sweep(dataset="words", budgets=[10])(c))),
     "sweeps[0].architecture: model 'mlp' cannot train on dataset 'words': mlp takes feature vectors (a "
     "classification or regression dataset), and 'words' has no n_features"),
    ("compute budget beyond the training pool",
     own(lambda c: (c["sweeps"][0].pop("budgets"), sweep(compute_budgets=[1.0e12])(c))),
     "sweeps[0].compute_budgets[0]: 1e+12 FLOPs buy 4.762e+09 samples at size w4, more than the training pool of "
     "iris (90 samples with these parameters)"),
    ("target budget beyond the training pool",
     own(lambda c: c.update(targets=[{"name": "big", "sweep": "iris_width", "size": {"width": 64},
                                      "budget": 100000}])),
     "targets[0].budget: 100000 samples is more than the training pool of iris (90 samples"),
    ("target equal to a ladder cell",
     own(lambda c: c.update(targets=[{"name": "big", "sweep": "iris_width", "size": {"width": 16}, "budget": 90}])),
     "targets[0]: target 'big' (size {'width': 16}, budget 90) is a cell sweep 'iris_width' already trains: it "
     "would retrain a ladder run and extrapolate nothing"),
    ("external targets leave too few ladder points",
     {**mutated_external(path="ladder.csv", columns={"n_params": "N", "final_val_loss": "loss"}, derive={}),
      "targets": [{"name": "a", "sweep": "chin", "match": {"N": 3e7}}, {"name": "b", "sweep": "chin",
                                                                          "match": {"N": 1e7}}]},
     "external[0]: law 'saturating_power' has 3 parameters but external data 'chin' leaves its ladder 2 distinct "
     "point(s) in x = n_params after 4 row(s) held out by target(s) a, b; hold out fewer rows"),
    ("command without {out_dir} or {spec}",
     own(lambda c: c.update(sweeps=[command_sweep(command="python train.py --width {width}")])),
     "sweeps[0].command: 'python train.py --width {width}' has neither {out_dir} nor {spec}: the command must write "
     "its metrics.json into {out_dir}"),
    ("command that ignores a size key",
     own(lambda c: c.update(sweeps=[command_sweep(command="python train.py --out {out_dir}")])),
     "sweeps[0].command: 'python train.py --out {out_dir}' uses neither {width} nor {spec}, but width varies between "
     "runs (sizes): those runs would be identical"),
    ("command that ignores a grid key",
     own(lambda c: c.update(sweeps=[command_sweep(grid={"lr": [0.1, 0.2]})])),
     "uses neither {lr} nor {spec}, but lr varies between runs (grid.lr): those runs would be identical"),
    ("two external targets on the same rows",
     {**mutated_external(path="ladder.csv", columns={"n_params": "N", "final_val_loss": "loss"}, derive={}),
      "targets": [{"name": "a", "sweep": "chin", "match": {"N": 3e7}}, {"name": "b", "sweep": "chin",
                                                                          "match": {"loss": 1 + 10 * 3e7 ** -0.3}}]},
     "matches rows that targets[0] also holds out; each row is one target's truth: make the matches disjoint"),
    ("empty text file", own(lambda c: c["datasets"].update(own={"kind": "text", "path": "empty.txt"})),
     "datasets.own.path: empty.txt is empty; a text dataset needs text to train on"),
    ("table without its target column",
     own(lambda c: c["datasets"].update(own={"kind": "arrays", "path": "rows.csv", "target": "labell"})),
     "datasets.own.target: 'labell' is not a column of rows.csv (did you mean 'label'?); its columns: x, y, label"),
    ("table without a feature column",
     own(lambda c: c["datasets"].update(own={"kind": "arrays", "path": "rows.csv", "target": "label",
                                             "features": ["x", "zz"]})),
     "datasets.own.features[1]: 'zz' is not a column of rows.csv; its columns: x, y, label"),
    ("split fractions that leave no training data",
     own(lambda c: c["datasets"].update(own={"kind": "arrays", "path": "rows.csv", "target": "label",
                                             "val_size": 0.9, "test_size": 0.5})),
     "datasets.own: val_size 0.9 + test_size 0.5 = 1.4 leave no samples for training; allowed: fractions that sum "
     "to less than 1"),
    ("placeholder with a conversion",
     own(lambda c: c.update(sweeps=[command_sweep(command="python train.py --w {width!r} --out {out_dir}")])),
     "placeholder {width!r} must be a plain name such as {seed}"),
    ("data file missing", own(lambda c: (c["datasets"].update(own={"kind": "arrays", "path": "nowhere.csv",
                                                                     "target": "label"}), sweep(dataset="own")(c))),
     "datasets.own.path: no file nowhere.csv (paths in a study are relative to the directory snakemake runs in"),
    ("table without a target", own(lambda c: (c["datasets"].update(own={"kind": "arrays", "path": "rows.csv"}),
                                               sweep(dataset="own")(c))),
     "datasets.own: a table (.csv) needs `target:`, the column to predict"),
    ("typo in a data key", own(lambda c: c["datasets"].update(own={"kind": "arrays", "path": "rows.csv",
                                                                    "targte": "label"})),
     "datasets.own.targte: unknown key 'targte' (did you mean 'target'?)"),
    ("unknown kind of data", own(lambda c: c["datasets"].update(own={"kind": "table", "path": "rows.csv"})),
     "datasets.own.kind: 'table' is not allowed; allowed: text, arrays, python"),
    ("data function with other parameters",
     own(lambda c: c["datasets"].update(own={"kind": "python", "function": "data.py:make", "params": {"m": 3}})),
     "datasets.own.function: data.py:make: wrong signature, make(n, noise) takes no argument 'm'"),
    ("typo in fit.y", own(sweep(fit={"y": "test_loss_at_best"})),
     "sweeps[0].fit.y: 'test_loss_at_best' is not a column of sweep 'iris_width''s runs (did you mean "
     "'test_loss_at_best_val'?)"),
    ("typo in fit.x", own(lambda c: c["fit"].update(x="n_param")),
     "fit.x: 'n_param' is not a column of sweep 'iris_width''s runs (did you mean 'n_params'?)"),
    ("a metric the sweep's data does not give", mutated(lambda c: c["fit"].update(x="tokens_seen")),
     "fit.x: sweep 'iris_width''s runs do not write 'tokens_seen' on its data 'iris' (did you mean 'samples_seen'?)"),
]


@pytest.fixture
def user_files(tmp_path, monkeypatch):
    """The user's files in the directory snakemake runs in (here the current one)."""
    for name, text in USER_FILES.items():
        (tmp_path / name).write_text(text)
    monkeypatch.chdir(tmp_path)
    return tmp_path


# Run through snakemake too in the fast subset; the rest there only in the full suite (each is a process start).
FAST_SNAKEMAKE = {"unknown law", "YAML syntax error", "model raises at import"}
ALL_CASES = CASES + USER_CASES


def write(case, tmp_path):
    path = tmp_path / "study.yaml"
    path.write_text(case if isinstance(case, str) else yaml.safe_dump(case, sort_keys=False))
    return path


def one_error_line(stderr: str, message: str) -> str:
    lines = [line for line in stderr.splitlines() if "error" in line.lower()]
    assert len(lines) == 1, stderr
    assert message in lines[0], stderr
    for never in ("Traceback", "InputFunctionException", "KeyError", "Exception"):
        assert never not in stderr, stderr
    return lines[0]


@pytest.mark.parametrize("name, case, message", ALL_CASES, ids=[c[0] for c in ALL_CASES])
def test_scalinglab_sweep_refuses(name, case, message, user_files, capsys):
    path = write(case, user_files)
    assert cli_main(["sweep", str(path)]) == 2
    line = one_error_line(capsys.readouterr().err, message)
    assert line.startswith(f"scalinglab sweep: error: {path}")


def snakemake_dry_run(path, cwd):
    """`snakemake -n --configfile PATH` as a user types it (the workflow's own profile included)."""
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "-n", "--cores", "1",
               "--configfile", str(path)]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120, env=job_environment())


SNAKEMAKE_CASES = [pytest.param(*case, marks=() if case[0] in FAST_SNAKEMAKE else (pytest.mark.slow,), id=case[0])
                   for case in ALL_CASES]


@pytest.mark.parametrize("name, case, message", SNAKEMAKE_CASES)
def test_snakemake_refuses_before_any_job(name, case, message, user_files):
    path = write(case, user_files)
    result = snakemake_dry_run(path, user_files)
    assert result.returncode != 0
    line = one_error_line(result.stderr, message)
    assert line.startswith(f"scalinglab: error: {path}"), line
    assert "Job stats" not in result.stdout
    assert not any((user_files / folder).exists() for folder in ("results", "reports", "logs", "benchmarks"))


def test_missing_configfile(tmp_path, capsys):
    missing = tmp_path / "nowhere.yaml"
    assert cli_main(["sweep", str(missing)]) == 2
    one_error_line(capsys.readouterr().err, f"config file not found: {missing}")
    result = snakemake_dry_run(missing, tmp_path)
    assert result.returncode != 0
    one_error_line(result.stderr, f"scalinglab: error: --configfile {missing}: no such file")


@pytest.mark.slow
def test_no_study_file_and_no_default_study(tmp_path):
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "-n", "--cores", "1"]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120,
                            env=job_environment())
    assert result.returncode != 0
    one_error_line(result.stderr, "scalinglab: error: no study: give --configfile FILE (the default study "
                                  "config/config.yaml is not in")


@pytest.mark.slow
def test_two_study_files_are_not_merged(tmp_path):
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    first.write_text(yaml.safe_dump(study()))
    second.write_text(yaml.safe_dump({**study(), "study": "other"}))
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "-n", "--cores", "1",
               "--configfile", str(first), str(second)]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120,
                            env=job_environment())
    assert result.returncode != 0
    one_error_line(result.stderr, "one study file at a time, not 2")


def test_a_budget_of_years_is_a_warning_with_the_estimate(tmp_path, capsys):
    config = study()
    config["datasets"] = {}
    config["sweeps"][0].update(dataset="shakespeare_char", model="gpt", architecture={"n_layer": 48, "context": 1024},
                               sizes=[{"d_model": 1024}, {"d_model": 2048}, {"d_model": 4096}],
                               budgets=[10**12], train={"batch_size": 8})
    path = write(config, tmp_path)
    assert cli_main(["sweep", str(path)]) == 0
    err = capsys.readouterr().err
    assert "warning: sweep 'iris_width': run iris_width/d4096/1T-tokens/seed0 is estimated at" in err
    assert "years on one CPU thread" in err and "FLOP/s" in err


def test_a_command_sweeps_own_metric_is_allowed_with_a_warning(user_files, capsys):
    config = own(lambda c: c.update(sweeps=[command_sweep(fit={"y": "my_loss"})]))
    assert cli_main(["sweep", str(write(config, user_files))]) == 0
    assert ("warning: sweeps[0].fit.y: 'my_loss' is not a metric of the command trainer's contract; sweep 'script''s "
            "script must write it to metrics.json") in capsys.readouterr().err


# ----------------------------------------------------------------------------- commands that read a study's results
@pytest.fixture(scope="module")
def ladder_files(tmp_path_factory):
    """A ladder's metrics.parquet (sweep iris_width), the same runs as CSV, and their saturating_power fit on
    n_params, made once."""
    import numpy as np
    import pandas as pd

    from scalinglab.fitting import fit

    folder = tmp_path_factory.mktemp("ladder")
    n = np.repeat(np.geomspace(1e2, 1e4, 4), 2)
    metrics = pd.DataFrame({"sweep": "iris_width", "status": "ok", "n_params": n,
                            "final_val_loss": 0.2 + 5 * n**-0.4})
    metrics.to_parquet(folder / "metrics.parquet")
    (folder / "runs.csv").write_text(metrics.to_csv(index=False))
    fit(metrics, "saturating_power", "n_params", "final_val_loss", bootstrap=0,
        backtest_holdouts=[]).save(folder / "fit.json")
    return folder


@pytest.fixture
def ladder_fit(ladder_files, tmp_path):
    """The ladder's files in a folder of the test's own."""
    import shutil

    for path in ladder_files.iterdir():
        shutil.copy(path, tmp_path / path.name)
    return tmp_path


PREDICT_TARGET_CASES = [
    ({"--x-json": "not json"}, "--x-json 'not json': not JSON (Expecting value); give a JSON object, e.g. "
                               '{"n_params": 2.1e6}'),
    ({"--x-json": "[1e6]"}, "--x-json '[1e6]': a JSON list, not a JSON object"),
    ({"--x-json": '{"n_params": "big"}'}, '--x-json: n_params is "big", not a finite number'),
    ({"--run-ids-json": '{"a": 1}'}, "--run-ids-json '{\"a\": 1}': a JSON dict, not a JSON list"),
    ({"--grid-json": '{"lr": "x"}'}, "--grid-json: grid key 'lr' is \"x\"; each key of the sweep's grid maps to the "
                                     "list of its values"),
    ({"--grid-json": '{"lr": [0.01]}'}, "has no column 'grid_lr': sweep 'iris_width''s runs were not trained over"),
    ({"--fit": "nowhere.json"}, "--fit nowhere.json: no such file"),
    ({"--metrics": "nowhere.parquet"}, "--metrics nowhere.parquet: no such file"),
    ({"--metrics": "runs.csv"}, "--metrics runs.csv: not a parquet file of runs"),
    ({"--sweep": "iris_widht"}, "--sweep 'iris_widht': metrics.parquet holds no run of it (did you mean "
                                "'iris_width'?); its sweeps: iris_width"),
]


@pytest.mark.parametrize("change, message", PREDICT_TARGET_CASES, ids=[c[1][:30] for c in PREDICT_TARGET_CASES])
def test_predict_target_refuses_bad_arguments(change, message, ladder_fit, monkeypatch, capsys):
    monkeypatch.chdir(ladder_fit)
    arguments = {"--target": "big", "--sweep": "iris_width", "--fit": "fit.json", "--metrics": "metrics.parquet",
                 "--x-json": '{"n_params": 1e5}', "--out": "big.json", **change}
    assert cli_main(["predict-target", *(part for pair in arguments.items() for part in pair)]) == 2
    line = one_error_line(capsys.readouterr().err, message)
    assert line.startswith("scalinglab predict-target: error: ")
    assert not (ladder_fit / "big.json").exists()


def test_predict_target_with_good_arguments_writes_the_prediction(ladder_fit, monkeypatch, capsys):
    monkeypatch.chdir(ladder_fit)
    assert cli_main(["predict-target", "--target", "big", "--sweep", "iris_width", "--fit", "fit.json", "--metrics",
                     "metrics.parquet", "--x-json", '{"n_params": 1e5}', "--out", "big.json"]) == 0
    assert "from 8 ladder runs" in capsys.readouterr().out and (ladder_fit / "big.json").is_file()


PLAN_CASES = [
    (["--flops", "inf"], "--flops inf: allowed: a finite number of FLOPs > 0, e.g. 1e15"),
    (["--flops", "nan"], "--flops nan: allowed: a finite number of FLOPs > 0"),
    (["--flops", "1e12", "--top", "0"], "--top 0: allowed: a whole number >= 1"),
    (["--flops", "1e12", "--top", "-3"], "--top -3: allowed: a whole number >= 1"),
    (["--flops", "1e12", "--fit", "fit.json"],
     "--fit fit.json: a fit of law 'saturating_power' on x = n_params; target 'big' is predicted by law 'power' on "
     "x = n_params (sweep 'iris_width'): give that fit, results/bad_input/fits/iris_width/power.json"),
]


@pytest.mark.parametrize("arguments, message", PLAN_CASES, ids=[c[1][:24] for c in PLAN_CASES])
def test_plan_refuses_bad_arguments(arguments, message, ladder_fit, monkeypatch, capsys):
    monkeypatch.chdir(ladder_fit)
    config = study()
    config["fit"]["laws"] = ["power", "saturating_power"]
    config["targets"] = [{"name": "big", "sweep": "iris_width", "size": {"width": 64}, "budget": 90}]
    path = write(config, ladder_fit)
    assert cli_main(["plan", str(path), "--target", "big", *arguments]) == 2
    assert one_error_line(capsys.readouterr().err, message).startswith("scalinglab plan: error: ")


FIT_COMMAND_CASES = [
    (["fit", "dupcol.csv", "--x", "n_params", "--y", "final_val_loss"],
     "scalinglab fit: error: dupcol.csv: the header names column 'final_val_loss' twice (columns 2 and 3); rename "
     "one"),
    (["fit", "runs.csv", "--law", "isoflop,power"],
     "scalinglab fit: error: --law isoflop,power: isoflop (approach 2: parabolas per compute budget) is not a law to "
     "rank with others"),
    (["fit", "runs.csv", "--law", "saturating_power", "--x", "n_params", "--y", "final_val_loss", "--compute", "1e9"],
     "scalinglab fit: error: --compute: the compute-optimal allocation splits C between N and D: a two-input law"),
    (["fit", "runs.csv", "--law", "saturating_power", "--x", "n_params", "--y", "final_val_loss", "--envelope",
      "final_val_loss"], "scalinglab fit: error: --envelope final_val_loss: 'final_val_loss' is the fit's y column"),
    (["predict", "fit.json", "--at", "n_params=5e4,tokens=1e9"],
     "scalinglab predict: error: 'tokens' is not an x of this fit: its x column(s) n_params (law input(s) x)"),
    (["predict", "iso_fit.json", "--at", "N=5e4"],
     "scalinglab predict: error: fit file iso_fit.json is an approach-2 IsoFLOP fit (scalinglab fit --law isoflop)"),
]


@pytest.mark.parametrize("arguments, message", FIT_COMMAND_CASES, ids=[c[1][:40] for c in FIT_COMMAND_CASES])
def test_fit_and_predict_refuse_what_they_would_misread(arguments, message, ladder_fit, monkeypatch, capsys):
    monkeypatch.chdir(ladder_fit)
    (ladder_fit / "dupcol.csv").write_text("n_params,final_val_loss,final_val_loss\n1000,3.0,1\n2000,2.8,1\n")
    (ladder_fit / "iso_fit.json").write_text('{"approach": 2, "method": "isoflop", "compute": "C", "size": "N"}')
    assert cli_main([*arguments, "--bootstrap", "0"] if arguments[0] == "fit" else arguments) == 2
    one_error_line(capsys.readouterr().err, message)


def test_a_context_far_beyond_the_model_is_a_warning(tmp_path, capsys):
    config = study()
    config["datasets"] = {}
    config["sweeps"][0].update(dataset="shakespeare_char", model="gpt", architecture={"n_layer": 1, "context": 10**6},
                               sizes=[{"d_model": 8}, {"d_model": 16}, {"d_model": 32}], budgets=[10000])
    assert cli_main(["sweep", str(write(config, tmp_path))]) == 0
    assert ("warning: sweeps[0].architecture.context: 1000000 gives size d8 8,000,000 position parameters, "
            in capsys.readouterr().err)
