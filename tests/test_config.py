import copy
import json
import re

import pytest
import yaml

from scalinglab import SCHEMA_PATH
from scalinglab.config import (
    ConfigError,
    canonical_json,
    default_y,
    fit_settings,
    load_config,
    run_id,
    validate_config,
)
from scalinglab.config.schema import allowed, defaults


def minimal():
    return {
        "study": "unit",
        "sweeps": [{"name": "s", "dataset": "mnist1d", "model": "mlp", "budgets": [100],
                    "sizes": [{"width": 8}, {"width": 16}, {"width": 32}]}],
    }


def test_defaults_are_filled_in():
    config = validate_config(minimal())
    assert config["device"] == "auto"
    assert config["sweeps"][0]["seeds"] == [0]
    assert config["sweeps"][0]["train"]["lr_schedule"] == "cosine"
    assert config["fit"]["huber_delta"] == pytest.approx(1e-3)
    assert config["fit"]["laws"] == ["saturating_power"]
    assert config["fit"]["backtest_holdouts"] == [1, 2, 3]
    assert config["fit"]["bootstrap_unit"] == "run"


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda c: c["sweeps"][0].update(budgets=[-5]), "sweeps[0].budgets[0]: -5 is less than the minimum of 1"),
        (lambda c: c["sweeps"][0].update(train={"lrr": 1}),
         "sweeps[0].train.lrr: unknown key 'lrr' (did you mean 'lr'?); allowed: "),
        (lambda c: c["sweeps"][0].update(model="mpl"), "sweeps[0].model: unknown model 'mpl' (did you mean 'mlp'?)"),
        (lambda c: c.update(device="quantum"), "device: 'quantum' is not allowed; allowed: auto, cpu, cuda"),
        (lambda c: c["sweeps"][0].pop("sizes"), "sweeps[0]: 'sizes' is a required property"),
        (lambda c: c["sweeps"][0].update(fit={"bootstrp": 10}),
         "sweeps[0].fit.bootstrp: unknown key 'bootstrp' (did you mean 'bootstrap'?)"),
        (lambda c: c["sweeps"][0].update(fit={"law": ["power"]}),
         "sweeps[0].fit.law: unknown key 'law' (did you mean 'laws'?)"),
        (lambda c: c["sweeps"][0].update(fit={"bootstrap_unit": "seeds"}),
         "sweeps[0].fit.bootstrap_unit: 'seeds' is not allowed (did you mean 'seed'?); allowed: run, seed"),
        (lambda c: c["sweeps"][0].update(fit={"ci": 1.5}), "sweeps[0].fit.ci: 1.5 is greater than or equal to"),
    ],
)
def test_bad_config_names_the_key_the_value_and_what_is_allowed(mutate, message):
    config = minimal()
    mutate(config)
    with pytest.raises(ConfigError) as error:
        validate_config(config)
    assert message in str(error.value)


def test_a_sweeps_fit_block_has_no_defaults_of_its_own():
    config = minimal()
    config["fit"] = {"bootstrap": 50, "ci": 0.9}
    config["sweeps"][0]["fit"] = {"y": "best_val_loss"}
    validate_config(config)
    assert config["sweeps"][0]["fit"] == {"y": "best_val_loss"}
    settings = fit_settings(config, "s")
    assert settings["bootstrap"] == 50 and settings["ci"] == 0.9 and settings["y"] == "best_val_loss"
    assert settings["x"] == defaults("fit")["x"]
    # a name the study does not know (a sweep only in metrics.parquet) gets the study's settings
    assert fit_settings(config, "elsewhere")["x"] == defaults("fit")["x"]
    # an empty config (e.g. a report drawn without one) gets the schema's
    assert fit_settings({}, "s") == {**defaults("fit"), "y": "final_val_loss"}


def test_the_default_y_is_held_out_and_follows_the_trainer():
    config = minimal()
    validate_config(config)
    assert "y" not in defaults("fit")  # one rule, default_y, not a schema default
    assert fit_settings(config, "s")["y"] == "test_loss_at_best_val"  # the built-in trainer selects a checkpoint
    assert fit_settings({"sweeps": [{"name": "c", "trainer": "command"}]}, "c")["y"] == "final_val_loss"
    assert fit_settings({"external": [{"name": "e", "path": "x.csv"}]}, "e")["y"] == "final_val_loss"
    config["fit"]["y"] = "final_val_loss"  # a study that names y keeps it
    assert fit_settings(config, "s")["y"] == "final_val_loss"


def test_errors_point_at_the_file_and_line(tmp_path):
    config = minimal()
    config["sweeps"][0]["fit"] = {"bootstrp": 10}
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if "bootstrp" in text)
    with pytest.raises(ConfigError, match=rf"study\.yaml:{line}: sweeps\[0\]\.fit\.bootstrp: unknown key"):
        load_config(path)


def test_yaml_syntax_error_names_file_and_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("study: x\nsweeps:\n  - name: [unclosed\n")
    with pytest.raises(ConfigError, match=r"broken\.yaml:\d+:\d+: not valid YAML"):
        load_config(path)


def test_shipped_configs_validate(repo):
    for path in sorted((repo / "config").glob("*.yaml")):
        load_config(path)


def test_every_schema_key_is_documented(repo):
    schema = yaml.safe_load((repo / "workflow" / "schemas" / "config.schema.yaml").read_text())
    docs = (repo / "config" / "README.md").read_text()

    def keys(node):
        for name, sub in node.get("properties", {}).items():
            yield name
            yield from keys(sub)

    names = set(keys(schema))
    for definition in schema.get("$defs", {}).values():
        names |= set(keys(definition))
    missing = sorted(name for name in names if f"`{name}`" not in docs)
    assert not missing, f"config/README.md does not document: {missing}"


def test_dataset_defaults_live_in_the_registry_alone():
    from scalinglab.datasets import DATASETS

    schema = yaml.safe_load(SCHEMA_PATH.read_text())["properties"]["datasets"]["properties"]
    for name, block in schema.items():
        assert name in DATASETS
        for key, prop in block["properties"].items():
            assert key in DATASETS[name].defaults, (name, key)
            assert "default" not in prop and "default" not in prop.get("description", ""), (name, key)


def test_cli_defaults_are_the_schemas():
    from scalinglab.cli import build_parser

    def defaults_of(command):
        parser = build_parser(command)
        sub = parser._subparsers._group_actions[0].choices[command]
        return {action.dest: action for action in sub._actions}

    fit = defaults_of("fit")
    study = defaults("fit")
    for key in ("x", "bootstrap", "bootstrap_unit", "seed", "huber_delta", "ci", "backtest_holdouts"):
        assert fit[key].default == study[key], key
    assert fit["y"].default == default_y(None)  # a table from outside any study: its final loss
    assert fit["law"].default == ",".join(study["laws"])
    train = defaults_of("train")
    assert list(train["on_failure"].choices) == allowed(None, "on_failure")


def test_one_run_identity_without_operational_keys():
    spec = {"sweep": "s", "seed": 0, "budget": 10, "train": {"lr": 0.1}}
    operational = {"run_id": "x", "run_path": "s/a", "checkpoint_interval_s": 5, "keep_checkpoints": True,
                   "on_failure": "record", "resources": {"runtime": 5}}
    assert run_id({**spec, **operational}) == run_id(spec)
    assert run_id({**spec, "seed": 1}) != run_id(spec)
    assert canonical_json({"b": [1, 2], "a": 1}) == '{"a":1,"b":[1,2]}'
    assert json.loads(canonical_json(spec)) == spec


def test_missing_config_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match=r"nowhere\.yaml"):
        load_config(tmp_path / "nowhere.yaml")


def test_load_does_not_mutate_yaml(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(minimal()))
    before = copy.deepcopy(yaml.safe_load(path.read_text()))
    load_config(path)
    assert yaml.safe_load(path.read_text()) == before


def test_the_metrics_fit_columns_are_checked_against_are_those_of_docs_metrics(repo):
    """fit.x and fit.y are checked before any job against scalinglab.config.columns: its list of a built-in run's
    metrics is docs/metrics.md's table (a real run is compared with it in test_workflow.py)."""
    from scalinglab.config.columns import BUILTIN_METRICS

    text = (repo / "docs" / "metrics.md").read_text()
    table = text.split("| name | unit | meaning |")[1].split("\n\n")[0]
    documented = {name for line in table.splitlines() if line.startswith("| `")
                  for name in re.findall(r"`([a-z0-9_*]+)`", line.split("|")[1])}
    assert documented - {"resolved_*"} == set(BUILTIN_METRICS)
