"""conda cannot be reached here, so the conda environment is checked against pyproject.toml instead."""

import re
import tomllib

import yaml


def pinned(requirements):
    pins = {}
    for requirement in requirements:
        match = re.fullmatch(r"\s*([A-Za-z0-9_.\-\[\]]+)\s*==\s*([^\s;#]+)\s*", requirement)
        assert match, f"not an exact pin: {requirement!r}"
        pins[match.group(1).lower()] = match.group(2)
    return pins


def test_every_runtime_dependency_is_pinned_exactly(repo):
    project = tomllib.loads((repo / "pyproject.toml").read_text())["project"]
    pins = pinned(project["dependencies"])
    assert pins["torch"] == "2.13.0"
    assert pins["snakemake"].startswith("9.")
    for extra in project["optional-dependencies"].values():
        pinned(extra)


def test_conda_env_mirrors_pyproject_pins(repo):
    project = tomllib.loads((repo / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((repo / "envs" / "scalinglab.yaml").read_text())
    pip_section = next(item["pip"] for item in env["dependencies"] if isinstance(item, dict))
    assert pinned(pip_section) == pinned(project["dependencies"])
    python = next(item for item in env["dependencies"] if isinstance(item, str) and item.startswith("python"))
    assert python == "python=3.11"
    assert project["requires-python"].startswith(">=3.11")


def test_rules_use_the_conda_env(repo):
    common = (repo / "workflow" / "rules" / "common.smk").read_text()
    assert 'SCALINGLAB_ENV = "../../envs/scalinglab.yaml"' in common
    assert (repo / "workflow" / "rules" / common.split('SCALINGLAB_ENV = "')[1].split('"')[0]).resolve().is_file()
