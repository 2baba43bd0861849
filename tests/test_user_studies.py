"""Studies of the researcher's own model family, data and training script, through the real workflow.

Each example of examples/ runs through real snakemake (made tiny), and broken variants of each kind run through it
too: a failed run is recorded and listed in the report with its sweep, run, file and log; bad data is refused when
it is prepared, before any training job. The pre-job checks of user code are in test_bad_input.py; the trainers'
side of the contracts in test_extending.py.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import textwrap
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import REPO, snakemake

from scalinglab.config import StudyPaths, dataset_dir, load_study

EXAMPLES = REPO / "examples"


def example_study(tmp_path: Path, name: str, **train) -> tuple[Path, dict]:
    """examples/NAME copied under tmp_path (its paths are relative to the directory snakemake runs in), its config
    made tiny: fewer epochs, fewer bootstrap resamples."""
    shutil.copytree(EXAMPLES / name, tmp_path / "examples" / name)
    path = tmp_path / "examples" / name / "config.yaml"
    config = yaml.safe_load(path.read_text())
    config["sweeps"][0]["train"].update(train)
    config["fit"]["bootstrap"] = 20
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path, config


def ran(tmp_path: Path, config: dict) -> tuple[pd.DataFrame, dict]:
    """The metrics table and the first sweep's fit of a finished study."""
    paths = StudyPaths(config["study"])
    metrics = pd.read_parquet(tmp_path / paths.metrics)
    sweep = config["sweeps"][0]["name"]
    fit = json.loads((tmp_path / paths.fit(sweep, config["fit"]["laws"][0])).read_text())
    assert (tmp_path / paths.report).is_file()
    return metrics, fit


def job_counts(plan: str) -> dict[str, int]:
    """{rule: jobs} from the job stats of `snakemake -n`."""
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", plan, re.MULTILINE)}


def nothing_to_do(tmp_path: Path, study: Path) -> bool:
    return "Nothing to be done" in snakemake("-n", "--configfile", study, cwd=tmp_path).stdout


@pytest.mark.slow
def test_a_model_family_from_a_user_file_is_swept_fitted_and_reported(tmp_path):
    study, config = example_study(tmp_path, "model_family", epochs=2)
    snakemake("--configfile", study, "--cores", "2", cwd=tmp_path)
    metrics, fit = ran(tmp_path, config)
    assert len(metrics) == len(config["sweeps"][0]["sizes"]) and set(metrics["status"]) == {"ok"}
    assert metrics["model"].unique().tolist() == ["examples/model_family/model.py:residual_mlp"]
    # parameters counted on the built module agree with the family's closed-form hook
    for _, row in metrics.iterrows():
        w, d = row["arch_width"], row["arch_depth"]
        assert row["n_params"] == (64 + 1) * w + d * (w * w + 3 * w) + (w + 1) * 10
    assert metrics["flops_6nd"].gt(0).all() and fit["y"] == "test_loss_at_best_val" and fit["params"]
    assert nothing_to_do(tmp_path, study)  # resumable: the same study reruns nothing


@pytest.mark.slow
def test_a_dataset_from_a_user_file_is_cached_by_content_and_a_change_retrains(tmp_path, monkeypatch):
    study, config = example_study(tmp_path, "dataset_file", epochs=3)
    snakemake("--configfile", study, "--cores", "2", cwd=tmp_path)
    metrics, fit = ran(tmp_path, config)
    assert set(metrics["status"]) == {"ok"} and fit["params"]
    csv = tmp_path / "examples" / "dataset_file" / "spirals.csv"
    dataset_id = metrics["dataset_id"].iloc[0]
    meta = json.loads((tmp_path / dataset_dir("spirals", dataset_id) / "meta.json").read_text())
    assert meta["file_sha256"] == hashlib.sha256(csv.read_bytes()).hexdigest()
    assert meta["classes"] == ["blue", "green", "red"] and meta["sizes"]["train"] == 2400
    assert nothing_to_do(tmp_path, study)

    # an edited file is another dataset: prepared again, and every run retrains under a new run id
    csv.write_text(csv.read_text() + "0.10000,0.20000,red\n")
    plan = job_counts(snakemake("-n", "--configfile", study, cwd=tmp_path).stdout)
    assert plan["prepare_data"] == 1 and plan["train"] == len(metrics)
    monkeypatch.chdir(tmp_path)  # paths in a study are relative to the directory snakemake runs in
    _, specs, _ = load_study(study, root=tmp_path)
    assert not set(spec["run_id"] for spec in specs) & set(metrics["run_id"])


@pytest.mark.slow
def test_a_training_script_of_your_own_runs_as_a_command_sweep(tmp_path):
    study, config = example_study(tmp_path, "command_trainer", epochs=3)
    result = snakemake("--configfile", study, "--cores", "2", cwd=tmp_path)
    metrics, fit = ran(tmp_path, config)
    sweep = config["sweeps"][0]
    assert len(metrics) == len(sweep["sizes"]) * len(sweep["seeds"]) and set(metrics["status"]) == {"ok"}
    assert (metrics["n_params"] == metrics["arch_width"] + 1).all()  # as the script counts them
    assert metrics["flops_estimated"].all() and (metrics["samples_seen"] == 4000).all()
    assert "final_train_loss" in metrics  # a metric of the script's own
    assert fit["y"] == "final_val_loss" and fit["params"]
    curves = pd.read_parquet(tmp_path / StudyPaths(config["study"]).curves)
    assert len(curves) == len(metrics) * 3 and set(curves["run_id"]) == set(metrics["run_id"])
    assert "prepare_data" not in result.stdout + result.stderr  # it brings its own data (job lines go to stderr)
    assert nothing_to_do(tmp_path, study)


# ------------------------------------------------------------------------------------ broken runs, recorded

SCRIPT = '''
"""A training script whose run breaks the output contract in the way its width asks for."""
import json, math, sys
width, out = int(sys.argv[1]), sys.argv[2]
good = {"final_val_loss": 1.0 + 4.0 / width, "n_params": 10 * width}
if width == 1:
    sys.exit(3)                                                    # exits non-zero
write = {2: None,                                                  # writes no metrics.json
         3: '{"final_val_loss": 1.0,',                             # malformed JSON
         5: json.dumps({"final_val_loss": 1.0}),                   # no n_params
         6: '{"final_val_loss": NaN, "n_params": 60}'}.get(width, json.dumps(good))
if write is not None:
    open(out + "/metrics.json", "w").write(write)
'''

FAMILY = '''
import torch.nn as nn


def family(architecture, meta):
    width = architecture["width"]
    outputs = meta["n_classes"] + (1 if width == 5 else 0)  # width 5 answers one class too many
    return nn.Sequential(nn.Linear(meta["n_features"], width), nn.ReLU(), nn.Linear(width, outputs))
'''

BROKEN = {  # width of the command sweep -> what its run's error says
    1: "the command exited with status 3",
    2: "wrote no",
    3: "is not valid JSON",
    5: "has no 'n_params'",
    6: "final_val_loss is nan, not a finite number",
}


def broken_study(tmp_path: Path, on_failure: str) -> Path:
    (tmp_path / "train.py").write_text(textwrap.dedent(SCRIPT))
    (tmp_path / "family.py").write_text(textwrap.dedent(FAMILY))
    config = {
        "study": "broken", "device": "cpu", "retries": 0, "on_failure": on_failure,
        "datasets": {"iris": {"val_size": 30, "test_size": 30}},
        "sweeps": [
            {"name": "script", "trainer": "command", "command": "python train.py {width} {out_dir}",
             "sizes": [{"width": w} for w in (1, 2, 3, 5, 6, 8, 16, 32)], "budgets": [100]},
            {"name": "family", "dataset": "iris", "model": "family.py:family",
             "sizes": [{"width": w} for w in (4, 5, 8, 16)], "budgets": [60],
             "train": {"batch_size": 30, "epochs": 1, "eval_points": 2}},
        ],
        "fit": {"laws": ["saturating_power"], "bootstrap": 0},
    }
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@pytest.mark.slow
def test_broken_runs_are_recorded_named_and_listed_in_the_report(tmp_path):
    study = broken_study(tmp_path, on_failure="record")
    snakemake("--configfile", study, "--cores", "2", cwd=tmp_path)
    paths = StudyPaths("broken")
    metrics = pd.read_parquet(tmp_path / paths.metrics).set_index("run_path")
    expected = {f"script/w{w}/100-samples/seed0": why for w, why in BROKEN.items()}
    expected["family/w5/60-samples/seed0"] = "family.py"
    for run, why in expected.items():
        row = metrics.loc[run]
        log = f"logs/broken/train/{run}.log"
        assert row["status"] == "failed", run
        assert why in row["error"] and f"sweep {row['sweep']!r}, run {run}" in row["error"], row["error"]
        assert f"(log: {log})" in row["error"] and (tmp_path / log).is_file()
    assert "(family.py)" in metrics.loc["family/w5/60-samples/seed0", "error"]  # the user's file
    ok = metrics[metrics["status"] == "ok"]
    assert sorted(ok.index) == sorted(set(metrics.index) - set(expected))  # the others finished
    report = (tmp_path / paths.report).read_text()
    for run in expected:
        assert run in report
    for sweep in ("script", "family"):  # fitted on the runs that finished
        assert json.loads((tmp_path / paths.fit(sweep, "saturating_power")).read_text())["params"]


@pytest.mark.slow
def test_a_failed_command_stops_the_study_naming_the_sweep_run_and_log(tmp_path):
    study = broken_study(tmp_path, on_failure="stop")
    run = StudyPaths("broken").run_file("script/w1/100-samples/seed0")
    result = snakemake("--configfile", study, "--cores", "1", run, cwd=tmp_path, check=False)
    assert result.returncode != 0 and not (tmp_path / run).exists()
    log = "logs/broken/train/script/w1/100-samples/seed0.log"
    line = next(line for line in result.stderr.splitlines() if "exited with status 3" in line)
    assert "sweep 'script', run script/w1/100-samples/seed0" in line and f"(log: {log})" in line
    assert "python train.py 1" in line  # the command as run (the script's file)


# ------------------------------------------------------------------------------------ bad data, before training

BAD_DATA = {  # dataset -> (CSV text, what prepare_data's error says)
    "with_nan": ("x,y,label\n1.0,2.0,a\n,3.0,b\n" + "0.5,0.5,a\n0.1,0.2,b\n" * 20, "row 1, line 3 has a missing value"),
    "ragged": ("x,y,label\n1.0,2.0,a\n1.0,2.0,3.0,b\n" + "0.5,0.5,a\n" * 20, "has ragged rows"),
    "one_class": ("x,y,label\n" + "0.5,0.5,a\n0.1,0.3,a\n" * 20, "a single class ('a')"),
    "too_small": ("x,y,label\n" + "0.5,0.5,a\n0.1,0.3,b\n" * 20, "has a training pool of 32 samples"),
}


@pytest.mark.slow
def test_bad_data_is_refused_when_prepared_before_any_training_job(tmp_path):
    datasets, sweeps = {}, []
    for name, (text, _) in BAD_DATA.items():
        (tmp_path / f"{name}.csv").write_text(text)
        datasets[name] = {"kind": "arrays", "path": f"{name}.csv", "target": "label", "val_size": 4, "test_size": 4}
        sweeps.append({"name": f"on_{name}", "dataset": name, "model": "mlp", "architecture": {"depth": 1},
                       "sizes": [{"width": 2}, {"width": 4}, {"width": 8}],
                       "budgets": [1000 if name == "too_small" else 8]})
    study = tmp_path / "bad_data.yaml"
    study.write_text(yaml.safe_dump({"study": "bad_data", "device": "cpu", "datasets": datasets, "sweeps": sweeps,
                                     "fit": {"bootstrap": 0}}))
    result = snakemake("--configfile", study, "--cores", "2", "--keep-going", cwd=tmp_path, check=False)
    assert result.returncode != 0
    assert not list(tmp_path.glob("results/bad_data/runs/**/run.json"))  # no training job ran
    for name, (_, why) in BAD_DATA.items():
        dataset_id = next(tmp_path.glob(f"logs/data/{name}/*.log")).stem
        log = f"logs/data/{name}/{dataset_id}.log"
        line = (tmp_path / log).read_text().strip().splitlines()[-1]
        assert why in line and f"{name}.csv" in line and f"(sweep on_{name})" in line and f"(log: {log})" in line
        assert line in result.stderr  # and it reached the terminal
