
import pytest

from scalinglab.config import ConfigError, expand, human_count, runs_table, size_label, validate_config


def study(**sweep_overrides):
    sweep = {
        "name": "gpt_width",
        "dataset": "shakespeare_char",
        "model": "gpt",
        "architecture": {"n_layer": 2, "context": 64},
        "sizes": [{"d_model": 16}, {"d_model": 32}, {"d_model": 64}],
        "seeds": [0, 1, 2],
        "budgets": [1000000, 2000000],
    }
    sweep.update(sweep_overrides)
    return validate_config({"study": "unit", "sweeps": [sweep]})


def test_one_run_per_cell_with_readable_paths():
    specs = expand(study())
    assert len(specs) == 3 * 3 * 2
    paths = {spec["run_path"] for spec in specs}
    assert "gpt_width/d16/1M-tokens/seed0" in paths
    assert "gpt_width/d32/2M-tokens/seed2" in paths
    assert len({spec["run_id"] for spec in specs}) == len(specs)
    spec = specs[0]
    assert spec["architecture"] == {"n_layer": 2, "context": 64, "d_model": 16}
    assert spec["budget_unit"] == "tokens"
    assert spec["train"]["lr_schedule"] == "cosine"


def test_run_ids_are_stable_and_depend_on_the_run_only():
    first = {spec["run_path"]: spec["run_id"] for spec in expand(study())}
    assert first == {spec["run_path"]: spec["run_id"] for spec in expand(study())}
    # Adding a seed leaves the other runs' ids alone.
    more = {spec["run_path"]: spec["run_id"] for spec in expand(study(seeds=[0, 1, 2, 3]))}
    assert all(more[path] == run_id for path, run_id in first.items())
    # A training setting is part of the run, so it changes the id.
    changed = expand(study(train={"lr": 0.5}))
    assert {spec["run_id"] for spec in changed}.isdisjoint(first.values())


def test_operational_settings_do_not_change_run_ids():
    base = study()
    other = study()
    other.update(checkpoint_interval_s=5, keep_checkpoints=True, on_failure="record")
    assert [s["run_id"] for s in expand(base)] == [s["run_id"] for s in expand(other)]


def test_unknown_dataset_is_named():
    with pytest.raises(ConfigError, match="'imagenet'"):
        expand(study(dataset="imagenet"))


def test_duplicate_sizes_and_sweep_names_are_refused():
    with pytest.raises(ConfigError, match="twice"):
        expand(study(sizes=[{"d_model": 16}, {"d_model": 16}]))
    config = study()
    config["sweeps"].append(dict(config["sweeps"][0]))
    with pytest.raises(ConfigError, match=r"sweeps\[1\]\.name: 'gpt_width' is already the name of sweeps\[0\]"):
        validate_config(config)


def test_unknown_dataset_parameter_is_named():
    config = study()
    config["datasets"] = {"shakespeare_char": {"val_fracton": 0.1}}
    with pytest.raises(ConfigError, match="val_fracton"):
        expand(config)


def test_labels():
    assert human_count(2_000_000) == "2M"
    assert human_count(2500) == "2.5K"
    assert size_label({"d_model": 64, "n_layer": 4}) == "d64-L4"
    assert size_label({"target_params": 100000}) == "p100K"


def test_table_flattens_blocks():
    table = runs_table(expand(study()))
    assert {"run_id", "run_path", "arch_d_model", "train_lr", "data_val_fraction"} <= set(table.columns)
    assert len(table) == 18


def test_cluster_scale_expansion_stays_cheap():
    # 10,000 runs: 100 sizes x 10 budgets x 10 seeds. Correctness at scale, not a timing assertion.
    config = study(sizes=[{"d_model": 8 * (i + 1)} for i in range(100)],
                   budgets=[10**5 * (i + 1) for i in range(10)], seeds=list(range(10)))
    specs = expand(config)
    assert len(specs) == 10_000
    assert len({spec["run_id"] for spec in specs}) == 10_000
