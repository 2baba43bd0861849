"""Model families: the registry a sweep's `model` is looked up in.

A sweep's `model` is a built-in family (`gpt`, `mlp`) or the user's own (docs/extending.md):
`path/to/file.py:NAME`, `package.module:NAME`, or a name that an installed distribution registers under the
entry-point group `scalinglab.models`. The contract of a user family is

    NAME(architecture: dict, meta: dict) -> torch.nn.Module

`architecture` is the sweep's `architecture` merged with one `sizes` entry; `meta` is the prepared dataset's
meta.json (`task`; `vocab_size` for text; `n_features` with `n_classes` or `n_outputs` for arrays). The module maps
the dataset's inputs to logits (lm: (B, T) token ids -> (B, T, V); classification: (B, ...) -> (B, n_classes)) or
predictions (regression: (B, ...) -> (B, n_outputs)); the trainer computes the loss of the task.

Optional hooks, attributes of NAME:
- `NAME.width(architecture, meta) -> number`: the width `train.lr_width_rule: inverse` scales the learning rate by;
- `NAME.count_params(architecture, meta) -> n_params | (n_params, n_params_nonembedding)`: the count in closed form,
  so cluster jobs are sized without building the model (checked against the built module when it trains).

Parameters are always counted on the built module (`count_module_params`): n_params_nonembedding leaves out the
weights of every nn.Embedding. The built-in families' size arithmetic is torch-free (sizes.py), so
`scalinglab.resources` sizes cluster requests at parse time with the numbers training will use.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from .. import plugins
from . import sizes

GROUP = "scalinglab.models"
CONTRACT = "NAME(architecture: dict, meta: dict) -> torch.nn.Module"


@dataclass(frozen=True)
class BuiltinFamily:
    name: str
    _resolve: Callable[[dict, dict], dict]
    _count: Callable[[dict], tuple[int, int]]
    _width: Callable[[dict], float]
    builtin = True

    def resolve(self, architecture: dict, meta: dict) -> dict:
        """The full architecture: defaults filled, `target_params` turned into a width, the data's shapes added."""
        return self._resolve(dict(architecture), meta)

    def count_params(self, resolved: dict, meta: dict | None = None) -> tuple[int, int]:
        return self._count(resolved)

    def width(self, resolved: dict, meta: dict | None = None) -> float:
        return self._width(resolved)

    def build(self, resolved: dict, meta: dict | None = None):
        return importlib.import_module(f"{__name__}.{self.name}").build(resolved)


BUILTIN = {
    "gpt": BuiltinFamily("gpt", sizes.gpt_resolve, sizes.gpt_count_params, sizes.gpt_width),
    "mlp": BuiltinFamily("mlp", sizes.mlp_resolve, sizes.mlp_count_params, sizes.mlp_width),
}


class UserFamily:
    """A family from the user's code, imported when first needed (torch comes with it)."""

    builtin = False

    def __init__(self, name: str):
        self.name = name
        self._loaded = None

    def _load(self):
        if self._loaded is None:
            self._loaded = plugins.load(self.name, GROUP)
        return self._loaded

    @property
    def reference(self) -> plugins.Reference:
        return self._load()[1]

    def resolve(self, architecture: dict, meta: dict) -> dict:
        return dict(architecture)

    def _hook(self, name: str):
        hook = getattr(self._load()[0], name, None)
        return hook if callable(hook) else None

    def count_params(self, resolved: dict, meta: dict) -> tuple[int, int] | None:
        """The `count_params` hook's (n_params, n_params_nonembedding), or None without the hook."""
        hook = self._hook("count_params")
        if hook is None:
            return None
        contract = "NAME.count_params(architecture, meta) -> int | (int, int)"
        count = plugins.call(hook, self.reference, (resolved, meta), {}, contract)
        counts = (count, count) if not isinstance(count, (tuple, list)) else tuple(count)
        if len(counts) != 2 or not all(_whole(n) and n >= 0 for n in counts):
            raise plugins.UserCodeError(f"{self.name}: count_params returned {count!r} for architecture "
                                        f"{resolved}; the contract is {contract}, counts >= 0",
                                        plugins._display(self.reference.path))
        return int(counts[0]), int(counts[1])

    def width(self, resolved: dict, meta: dict) -> float | None:
        hook = self._hook("width")
        if hook is None:
            return None
        width = plugins.call(hook, self.reference, (resolved, meta), {}, "NAME.width(architecture, meta) -> number")
        return float(width)

    def build(self, resolved: dict, meta: dict):
        import torch

        factory, ref = self._load()
        module = plugins.call(factory, ref, (dict(resolved), dict(meta)), {}, CONTRACT)
        if not isinstance(module, torch.nn.Module):
            raise plugins.UserCodeError(f"{ref.text} returned a {type(module).__name__}, not a torch.nn.Module; the "
                                        f"contract is {CONTRACT}", plugins._display(ref.path))
        return module


def _whole(value) -> bool:
    """An integer (numpy's too), not a bool: a parameter count."""
    import numbers

    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def family(name: str):
    """The family a sweep's `model` names: built-in, or the user's (not imported until used)."""
    if name in BUILTIN:
        return BUILTIN[name]
    ref = plugins.parse(name, GROUP)  # a malformed reference fails here
    if ref.kind == "entry_point" and name not in plugins.entry_points(GROUP):
        raise unknown(name)
    return UserFamily(name)


def unknown(name: str) -> plugins.UserCodeError:
    installed = ", ".join(sorted(plugins.entry_points(GROUP))) or "none installed"
    return plugins.UserCodeError(
        f"unknown model {name!r}: not a built-in family ({', '.join(BUILTIN)}), not a path/file.py:NAME or "
        f"package.module:NAME reference, and no installed distribution registers it in the entry-point group "
        f"{GROUP} ({installed})")


def check(name: str) -> None:
    """Check a sweep's `model` before any job runs, without importing it or torch (plugins.check)."""
    family(name)
    if name not in BUILTIN:
        plugins.check(name, GROUP, arity=2, contract=CONTRACT)


def count_module_params(module) -> tuple[int, int]:
    """(n_params, n_params_nonembedding) of a built module: every parameter once (tied weights count once), and the
    same without the weights of its nn.Embedding layers."""
    import torch

    params = {id(p): p.numel() for p in module.parameters()}
    embeddings = {id(m.weight) for m in module.modules() if isinstance(m, torch.nn.Embedding)}
    n = sum(params.values())
    return n, n - sum(params[i] for i in embeddings if i in params)


def resolve(name: str, architecture: dict, meta: dict) -> dict:
    return family(name).resolve(architecture, meta)


def count_params(name: str, resolved: dict, meta: dict | None = None) -> tuple[int, int] | None:
    """(n_params, n_params_nonembedding) in closed form (built-ins; user families with the hook), else None."""
    return family(name).count_params(resolved, meta)


def width(name: str, resolved: dict, meta: dict | None = None) -> float | None:
    """The width used by lr_width_rule: d_model for gpt, the hidden width for mlp, the hook's for a user family."""
    return family(name).width(resolved, meta)


def build(name: str, resolved: dict, meta: dict | None = None):
    return family(name).build(resolved, meta)
