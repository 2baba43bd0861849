"""Model families. `resolve(model, architecture, meta)` turns a sweep's architecture (explicit keys or
{target_params: N}) plus the dataset's meta into a full architecture; `build` makes the nn.Module.

target_params means n_params_nonembedding for gpt (independent of the vocabulary) and n_params for mlp; the
resolved size is the one whose count is nearest on a log scale (gpt: d_model a multiple of 8, or of n_head when given).
The size arithmetic is torch-free (`sizes.py`); only `build` imports a model file, and with it torch.
"""

from __future__ import annotations

import importlib

from . import sizes
from .sizes import MODELS


def module(name: str):
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; known: {', '.join(MODELS)}")
    return importlib.import_module(f"{__name__}.{name}")


def resolve(name: str, architecture: dict, meta: dict) -> dict:
    return sizes.resolve(name, architecture, meta)


def count_params(name: str, resolved: dict) -> tuple[int, int]:
    """(n_params, n_params_nonembedding) in closed form, equal to the built model's counts."""
    return sizes.count_params(name, resolved)


def build(name: str, resolved: dict):
    return module(name).build(resolved)


def width(name: str, resolved: dict) -> int:
    """The width used by lr_width_rule: d_model for gpt, the hidden width for mlp."""
    return sizes.width(name, resolved)
