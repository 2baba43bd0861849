import copy

import pytest
import yaml

from scalinglab.config import ConfigError, load_config, validate_config


def minimal():
    return {
        "study": "unit",
        "sweeps": [{"name": "s", "dataset": "mnist1d", "model": "mlp", "sizes": [{"width": 8}], "budgets": [100]}],
    }


def test_defaults_are_filled_in():
    config = validate_config(minimal())
    assert config["device"] == "auto"
    assert config["sweeps"][0]["seeds"] == [0]
    assert config["sweeps"][0]["train"]["lr_schedule"] == "cosine"
    assert config["fit"]["huber_delta"] == pytest.approx(1e-3)
    assert config["fit"]["laws"] == ["saturating_power"]


@pytest.mark.parametrize(
    "mutate, where",
    [
        (lambda c: c["sweeps"][0].update(budgets=[-5]), "['budgets'][0]"),
        (
            lambda c: (
                c["sweeps"][0]["train"].update(lrr=1)
                if "train" in c["sweeps"][0]
                else c["sweeps"][0].update(train={"lrr": 1})
            ),
            "['train']",
        ),
        (lambda c: c["sweeps"][0].update(model="resnet"), "['model']"),
        (lambda c: c.update(device="tpu"), "['device']"),
        (lambda c: c["sweeps"][0].pop("sizes"), "['sweeps'][0]"),
        (lambda c: c.update(sweeps=[]), "['sweeps']"),
    ],
)
def test_bad_config_names_the_key(mutate, where):
    config = minimal()
    mutate(config)
    with pytest.raises(ConfigError) as error:
        validate_config(config)
    assert where in str(error.value)


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


def test_missing_config_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match=r"nowhere\.yaml"):
        load_config(tmp_path / "nowhere.yaml")


def test_load_does_not_mutate_yaml(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(minimal()))
    before = copy.deepcopy(yaml.safe_load(path.read_text()))
    load_config(path)
    assert yaml.safe_load(path.read_text()) == before
