"""Model families: the registry a sweep's `model` is looked up in.

A family turns a sweep's architecture (plus the dataset's meta) into an nn.Module:
- `resolve(name, architecture, meta)`: the full architecture (built-ins fill defaults and turn `target_params` into
  a width; the resolved dict also carries what the model needs from meta, such as `vocab_size`);
- `count_params(name, resolved)`: (n_params, n_params_nonembedding) in closed form, equal to the built model's;
- `width(name, resolved)`: the width `train.lr_width_rule` scales by;
- `build(name, resolved)`: the nn.Module (imports the family's file, and with it torch).

Built-in families: `gpt` (gpt.py) and `mlp` (mlp.py). Their size arithmetic is torch-free (sizes.py), so
`scalinglab.resources` sizes cluster requests at parse time with the numbers training will use.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from . import sizes


@dataclass(frozen=True)
class BuiltinFamily:
    name: str
    resolve: Callable[[dict, dict], dict]
    count_params: Callable[[dict], tuple[int, int]]
    width: Callable[[dict], float]

    def build(self, resolved: dict):
        return importlib.import_module(f"{__name__}.{self.name}").build(resolved)


BUILTIN = {
    "gpt": BuiltinFamily("gpt", sizes.gpt_resolve, sizes.gpt_count_params, sizes.gpt_width),
    "mlp": BuiltinFamily("mlp", sizes.mlp_resolve, sizes.mlp_count_params, sizes.mlp_width),
}


def family(name: str) -> BuiltinFamily:
    if name not in BUILTIN:
        raise ValueError(f"unknown model {name!r}; known: {', '.join(BUILTIN)}")
    return BUILTIN[name]


def resolve(name: str, architecture: dict, meta: dict) -> dict:
    return family(name).resolve(dict(architecture), meta)


def count_params(name: str, resolved: dict) -> tuple[int, int]:
    """(n_params, n_params_nonembedding) in closed form, equal to the built model's counts."""
    return family(name).count_params(resolved)


def width(name: str, resolved: dict) -> float:
    """The width used by lr_width_rule: d_model for gpt, the hidden width for mlp."""
    return family(name).width(resolved)


def build(name: str, resolved: dict):
    return family(name).build(resolved)
