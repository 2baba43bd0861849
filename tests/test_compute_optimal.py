"""The workflow side of compute-optimal studies and targets: IsoFLOP run tables (compute budgets, tokens per
parameter), hyperparameter grids, targets predicted before they train and scored after, and their checks.

One tiny IsoFLOP study with a grid and a target runs through real snakemake (slow); the rest are run tables and dry
runs.
"""

from __future__ import annotations

import json
import math
import random
import re

import pandas as pd
import pytest
import yaml
from conftest import REPO, snakemake

from scalinglab.cli import main as cli_main
from scalinglab.config import (
    StudyPaths,
    expand,
    expand_with_skipped,
    run_id,
    run_paths,
    run_table_config,
    validate_config,
)
from scalinglab.config.identity import NEUTRAL_VALUES
from scalinglab.config.targets import target_point

CORPUS_CHARACTERS = 60_000


def corpus(path) -> None:
    """A small character corpus (word salad over a fixed vocabulary): cheap to prepare and to evaluate whole."""
    rng = random.Random(0)
    words = ["the", "scaling", "law", "of", "small", "models", "predicts", "large", "ones", "and", "data"]
    text = []
    while sum(map(len, text)) < CORPUS_CHARACTERS:
        text.append(" ".join(rng.choice(words) for _ in range(rng.randint(3, 12))) + ".\n")
    path.write_text("".join(text))


def iso_study(**changes) -> dict:
    """An IsoFLOP GPT sweep with a learning-rate grid and one target one compute step beyond the ladder."""
    config = {
        "study": "iso",
        "device": "cpu",
        "datasets": {"words": {"kind": "text", "path": "words.txt", "val_fraction": 0.02, "test_fraction": 0.02}},
        "sweeps": [{
            "name": "iso",
            "dataset": "words",
            "model": "gpt",
            "architecture": {"n_layer": 1, "context": 16},
            "sizes": [{"d_model": 8}, {"d_model": 16}, {"d_model": 32}],
            "compute_budgets": [2.0e7, 6.0e7],
            "tokens_per_param": [0.05, 1000],
            "grid": {"lr": [0.01, 0.03]},
            "train": {"batch_size": 8, "eval_points": 2, "eval_batches": 2},
        }],
        "targets": [{"name": "big", "sweep": "iso", "size": {"d_model": 48}, "compute_budget": 3.6e8}],
        "fit": {"laws": ["saturating_power"], "x": "n_params", "bootstrap": 20, "backtest_holdouts": [1]},
    }
    for key, value in changes.items():
        config[key] = value
    return config


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    corpus(tmp_path / "words.txt")
    monkeypatch.chdir(tmp_path)  # paths in a study are relative to the directory snakemake runs in
    return tmp_path


def sweep_of(config: dict, **changes) -> dict:
    config["sweeps"][0].update(changes)
    return config


# ------------------------------------------------------------------------------------------------ the run table


def test_a_compute_budget_buys_whole_steps_whose_flops_6nd_is_the_budget(workdir):
    config = validate_config(iso_study())
    specs, skipped = expand_with_skipped(config)
    ladder = [s for s in specs if s["role"] == "ladder"]
    for spec in ladder + [s for s in specs if s["role"] == "target"]:
        steps = spec["budget"] / (8 * 16)
        assert steps == int(steps) and steps >= 1  # whole optimizer steps of 8 x 16 tokens
        point = target_point(spec, ["flops_6nd", "n_params_nonembedding"])
        per_step = point["flops_6nd"] / steps
        assert abs(point["flops_6nd"] - spec["compute_budget"]) <= per_step / 2 + 1e-6, spec["run_path"]
    assert {s["run_path"].split("/")[2] for s in ladder} == {"C2e+07", "C6e+07"}
    # d32 at 2e7 FLOPs buys 2 steps: 0.02 tokens per parameter, outside [0.05, 1000]
    assert [(c["size_label"], c["compute_budget"]) for c in skipped] == [("d32", 2.0e7)]
    assert "outside tokens_per_param [0.05, 1000]" in skipped[0]["reason"]
    assert not any(s["run_path"].startswith("iso/d32/C2e+07") for s in specs)


def test_every_cell_trains_every_grid_value_recorded_in_grid_train_and_path(workdir):
    specs = [s for s in expand(validate_config(iso_study())) if s["role"] == "ladder"]
    assert len(specs) == (3 * 2 - 1) * 2
    for spec in specs:
        assert spec["grid"]["lr"] in (0.01, 0.03) and spec["train"]["lr"] == spec["grid"]["lr"]
        assert spec["run_path"].split("/")[3] == f"lr{spec['grid']['lr']}"
    by_cell = {}
    for spec in specs:
        by_cell.setdefault((spec["size_label"], spec["compute_budget"]), set()).add(spec["run_id"])
    assert all(len(ids) == 2 for ids in by_cell.values())


def test_two_grid_keys_train_every_combination(workdir):
    config = validate_config(sweep_of(iso_study(), grid={"lr": [0.01, 0.03], "warmup_steps": [0, 5]},
                                      compute_budgets=[6.0e7]))
    ladder = [s for s in expand(config) if s["role"] == "ladder"]
    assert len(ladder) == 3 * 4
    assert {s["run_path"].split("/")[3] for s in ladder} == {"lr0.01-warmup_steps0", "lr0.01-warmup_steps5",
                                                            "lr0.03-warmup_steps0", "lr0.03-warmup_steps5"}


def test_targets_are_runs_of_their_own_known_before_the_dag_is_built(workdir):
    config = validate_config(iso_study(targets=[{"name": "big", "sweep": "iso", "size": {"d_model": 48},
                                                 "compute_budget": 3.6e8, "seeds": [0, 1]}]))
    targets = [s for s in expand(config) if s["role"] == "target"]
    assert [s["run_path"] for s in targets] == ["iso/targets/big/seed0", "iso/targets/big/seed1"]
    for spec in targets:
        # a grid sweep's target trains the grid value its prediction chooses: no grid in its identity
        assert spec["target"] == "big" and spec["grid"] == {} and spec["train"]["lr"] == 0.001
    assert run_paths(run_table_config(config)) == [s["run_path"] for s in expand(config) if s["role"] == "ladder"]
    assert run_paths(run_table_config(config), role="target") == [s["run_path"] for s in targets]
    default = validate_config(iso_study())
    assert [s["seed"] for s in expand(default) if s["role"] == "target"] == [0]  # the sweep's first seed


def test_runs_recorded_before_the_spec_had_its_newer_keys_keep_their_ids():
    config = validate_config(yaml.safe_load((REPO / "config" / "test.yaml").read_text()))
    for spec in expand(config):
        old = {key: value for key, value in spec.items() if key not in NEUTRAL_VALUES}
        assert run_id(old) == spec["run_id"]


def test_scalinglab_sweep_lists_skipped_cells_with_the_reason(workdir, capsys):
    (workdir / "iso.yaml").write_text(yaml.safe_dump(iso_study()))
    assert cli_main(["sweep", "iso.yaml"]) == 0
    out = capsys.readouterr().out
    assert "skipped iso/d32/C2e+07: 0.0197 tokens per parameter, outside tokens_per_param [0.05, 1000]" in out
    assert "iso/targets/big/seed0" in out and "11 runs (1 of them targets), 1 cells skipped" in out


def planned_jobs(dry_run: str) -> list[dict]:
    """The jobs of `snakemake -n`: [{rule, input, output}], input and output as the text of their lines."""
    jobs = []
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", dry_run):
        rule = re.match(r"(?:local)?rule (\w+):", block)
        if rule:
            field = {key: (re.search(rf"^\s+{key}: (.*)$", block, re.MULTILINE) or [None, ""])[1]
                     for key in ("input", "output")}
            jobs.append({"rule": rule.group(1), **field})
    return jobs


def test_the_dag_predicts_a_target_before_it_trains_and_scores_it_after(workdir):
    (workdir / "iso.yaml").write_text(yaml.safe_dump(iso_study()))
    jobs = planned_jobs(snakemake("-n", "--configfile", "iso.yaml", cwd=workdir).stdout)
    train_big = next(job for job in jobs if job["output"].endswith("targets/big/seed0/run.json"))
    assert "results/iso/predictions/big.json" in train_big["input"]
    predict = next(job for job in jobs if job["rule"] == "predict_target")
    assert "results/iso/fits/iso/saturating_power.json" in predict["input"]
    assert "results/iso/metrics.parquet" in predict["input"]
    aggregate = next(job for job in jobs if job["rule"] == "aggregate")
    assert "targets/big" not in aggregate["input"] and aggregate["input"].count("run.json") == 10  # the ladder only
    score = next(job for job in jobs if job["rule"] == "score")
    assert "targets/big/seed0/run.json" in score["input"] and "predictions/big.json" in score["input"]


# ------------------------------------------------------------------------------------------------ bad studies

CASES = [
    ("budgets and compute budgets", lambda c: sweep_of(c, budgets=[1000]),
     "sweeps[0]: sweep 'iso' has both `budgets` and `compute_budgets`; give one"),
    ("neither", lambda c: c["sweeps"][0].pop("compute_budgets"),
     "sweeps[0]: sweep 'iso' has neither `budgets` and `compute_budgets`; give one"),
    ("compute budget below one step", lambda c: sweep_of(c, compute_budgets=[1e3], tokens_per_param=None) and
     c["sweeps"][0].pop("tokens_per_param"),
     "sweeps[0].compute_budgets[0]: 1e+03 FLOPs buy 0.164 tokens at size d8, less than one optimizer step"),
    ("tokens per parameter without compute budgets",
     lambda c: (c["sweeps"][0].pop("compute_budgets"), sweep_of(c, budgets=[1000])),
     "sweeps[0].tokens_per_param: skips (size, compute budget) cells; this sweep has budgets"),
    ("tokens per parameter skipping everything", lambda c: sweep_of(c, tokens_per_param=[5000, 6000]),
     "sweeps[0].tokens_per_param: skips every (size, compute budget) cell of sweep 'iso'"),
    ("grid key that is not a train key", lambda c: sweep_of(c, grid={"learning_rate": [0.1]}),
     "sweeps[0].grid.learning_rate: unknown key 'learning_rate'"),
    ("grid value train refuses", lambda c: sweep_of(c, grid={"lr": [0.01, -1]}),
     "sweeps[0].grid.lr[1]: -1 is less than or equal to the minimum of 0"),
    ("empty grid", lambda c: sweep_of(c, grid={}), "sweeps[0].grid: {} should be non-empty"),
    ("empty grid values", lambda c: sweep_of(c, grid={"lr": []}), "sweeps[0].grid.lr: [] should be non-empty"),
    ("steps under a compute budget", lambda c: c["sweeps"][0]["train"].update(steps=10),
     "sweeps[0].train.steps: a compute budget decides each run's steps"),
    ("target of an unknown sweep", lambda c: c["targets"][0].update(sweep="isso"),
     "targets[0].sweep: unknown sweep 'isso' (did you mean 'iso'?)"),
    ("target the family cannot build", lambda c: c["targets"][0].update(size={"d_model": 30, "n_head": 4}),
     "targets[0].size: sweep 'iso' cannot build this size: gpt architecture: d_model 30 is not a multiple of n_head 4"),
    ("target with both budgets", lambda c: c["targets"][0].update(budget=1000),
     "targets[0]: target 'big' has both `budget` and `compute_budget`"),
    ("target with no budget", lambda c: c["targets"][0].pop("compute_budget"),
     "targets[0]: target 'big' has neither `budget` and `compute_budget`"),
    ("target without a size", lambda c: c["targets"][0].pop("size"), "targets[0]: target 'big' has no `size`"),
    ("target with a law the sweep does not fit", lambda c: c["targets"][0].update(law="power"),
     "targets[0].law: sweep 'iso' fits saturating_power, not 'power'"),
    ("two targets of one name", lambda c: c["targets"].append(dict(c["targets"][0])),
     "targets[1].name: 'big' is already the name of targets[0]"),
    ("target whose x is known only after training", lambda c: c["fit"].update(x="final_train_loss"),
     "targets[0]: target 'big' cannot be predicted before it trains: x column 'final_train_loss' of a target is "
     "known only once it has trained"),
]


@pytest.mark.parametrize("name, change, message", CASES, ids=[c[0] for c in CASES])
def test_bad_isoflop_grid_and_target_studies_are_refused_before_any_job(name, change, message, workdir, capsys):
    config = iso_study()
    change(config)
    (workdir / "iso.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    assert cli_main(["sweep", "iso.yaml"]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err, err


# ------------------------------------------------------------------------------------------------ external data

def external_study(tmp_path, match) -> dict:
    """A synthetic Chinchilla ladder in a CSV, its largest run a target held out of the fit."""
    rows = []
    for n in (1e6, 2e6, 4e6, 8e6, 16e6, 64e6):
        for d in (2e7, 8e7, 3.2e8):
            loss = 1.7 + 400 / n**0.34 + 410 / d**0.28
            rows.append({"N": n, "D": d, "loss": loss * (1 + 0.002 * math.sin(n * d)), "name": f"n{n:g}-d{d:g}"})
    pd.DataFrame(rows).to_csv(tmp_path / "ladder.csv", index=False)
    return {"study": "ext", "external": [{"name": "ladder", "path": "ladder.csv",
                                          "columns": {"n_params": "N", "tokens": "D", "final_val_loss": "loss"}}],
            "targets": [{"name": "largest", "sweep": "ladder", "match": match}],
            "fit": {"laws": ["chinchilla"], "x": "n_params,tokens", "bootstrap": 20, "backtest_holdouts": [1]}}


@pytest.mark.parametrize("match, message", [
    ({"n_params": 5e9}, "targets[0].match: no row of ladder.csv matches {'n_params': 5000000000.0}"),
    ({"N": 64e6}, "targets[0].match: the 3 rows matching {'N': 64000000.0} lie at 3 different x"),
    ({"size": 1}, "targets[0].match: match: 'size' is neither a column of"),
])
def test_external_targets_match_one_point_of_the_csv(match, message, workdir, capsys):
    (workdir / "ext.yaml").write_text(yaml.safe_dump(external_study(workdir, match)))
    assert cli_main(["sweep", "ext.yaml"]) == 2
    assert message in capsys.readouterr().err


# ------------------------------------------------------------------------------------------------ end to end


@pytest.mark.slow
def test_a_tiny_isoflop_study_predicts_its_target_before_training_it(workdir):
    (workdir / "iso.yaml").write_text(yaml.safe_dump(iso_study()))
    paths = StudyPaths("iso")
    snakemake("--configfile", "iso.yaml", "--cores", "2", paths.scorecard, cwd=workdir)
    prediction = json.loads((workdir / paths.prediction("big")).read_text())
    record = json.loads((workdir / paths.run_file("iso/targets/big/seed0")).read_text())
    assert prediction["predicted_at"] < record["started_at"]  # ISO 8601 UTC: text order is time order
    assert prediction["run_ids"] == [record["spec"]["run_id"]] and prediction["grid_choice"]["lr"] in (0.01, 0.03)
    assert record["spec"]["grid"] == prediction["grid_choice"] and record["spec"]["train"]["lr"] == \
        prediction["grid_choice"]["lr"]  # it trained the value that won, and recorded it
    flops, per_step = record["metrics"]["flops_6nd"], record["metrics"]["flops_6nd"] / record["metrics"]["steps"]
    assert abs(flops - 3.6e8) <= per_step  # its compute is its budget, up to one step
    metrics = pd.read_parquet(workdir / paths.metrics)
    assert set(metrics["role"]) == {"ladder"} and len(metrics) == 10  # fits never see the target
    scorecard = json.loads((workdir / paths.scorecard).read_text())["targets"]["big"]
    assert scorecard["truth"] == record["metrics"][prediction["y"]]
    assert scorecard["relative_error"] == pytest.approx((prediction["value"] - scorecard["truth"]) / scorecard["truth"])
    table = pd.read_parquet(workdir / paths.targets)
    assert table["run_id"].tolist() == prediction["run_ids"]


@pytest.mark.slow
def test_external_targets_are_held_out_of_the_ladder_and_scored(workdir):
    (workdir / "ext.yaml").write_text(yaml.safe_dump(external_study(workdir, {"name": "n6.4e+07-d3.2e+08"})))
    paths = StudyPaths("ext")
    snakemake("--configfile", "ext.yaml", "--cores", "2", cwd=workdir)
    metrics = pd.read_parquet(workdir / paths.metrics)
    assert len(metrics) == 17 and not ((metrics["n_params"] == 64e6) & (metrics["tokens"] == 3.2e8)).any()
    prediction = json.loads((workdir / paths.prediction("largest")).read_text())
    assert prediction["x"] == {"n_params": 64e6, "tokens": 3.2e8} and prediction["n_ladder_runs"] == 17
    card = json.loads((workdir / paths.scorecard).read_text())["targets"]["largest"]
    truth = 1.7 + 400 / 64e6**0.34 + 410 / 3.2e8**0.28
    assert card["truth"] == pytest.approx(truth, rel=3e-3) and abs(card["relative_error"]) < 0.05
    report = (workdir / paths.report).read_text()
    targets = report.index('<section id="targets">')
    assert targets < report.index('<section id="headline">')  # the scorecard opens the report
    assert "Targets: predicted before they trained" in report[targets:] and "largest" in report[targets:]
