"""The model of a run: built from its family, counted on the built module, checked against the task."""

from __future__ import annotations

from .data import Batches


def build_model(spec: dict, meta: dict, device):
    """(model, family, resolved architecture, n_params, n_params_nonembedding), initialised from the run's seed.

    Parameters are counted on the built module; a closed form (built-in families, a user family's count_params
    hook) must agree with it."""
    import numpy as np
    import torch

    from .. import models, plugins

    family = models.family(spec["model"])
    resolved = family.resolve(spec.get("architecture") or {}, meta)
    if meta["task"] == "lm" and "context" not in resolved:
        raise plugins.UserCodeError(f"model {spec['model']}: a language-model family needs `context` (tokens per "
                                    "training window) in its sweep's architecture")
    torch.manual_seed(int(spec["seed"]))
    np.random.seed(int(spec["seed"]) % (1 << 32))
    model = family.build(resolved, meta).to(device)
    n_params, n_params_nonembedding = models.count_module_params(model)
    closed_form = family.count_params(resolved, meta)
    if closed_form is not None and closed_form != (n_params, n_params_nonembedding):
        where = "" if family.builtin else f" (its count_params hook, {family.reference.text})"
        raise ValueError(f"model {spec['model']}: the closed-form parameter count{where} is {closed_form}, the built "
                         f"module has (n_params, n_params_nonembedding) = {(n_params, n_params_nonembedding)}")
    return model, family, resolved, n_params, n_params_nonembedding


def check_output(model, family, batches: Batches, meta: dict) -> None:
    """The model's output for two training samples fits the task, or a UserCodeError says what it should be."""
    import torch

    from .. import plugins

    x, y = batches.train_batch(0)
    x = x[:2]
    model.eval()
    try:
        with torch.inference_mode():
            out = model(x)
    except Exception as error:
        if family.builtin:
            raise
        raise plugins.located(error, family.reference, "its module's forward raised") from error
    finally:
        model.train()
    task, batch = meta["task"], x.shape[0]
    if task == "lm":
        expected, ok = f"(B, T, V) logits with V >= vocab_size {meta['vocab_size']}", (
            isinstance(out, torch.Tensor) and out.dim() == 3 and tuple(out.shape[:2]) == tuple(x.shape)
            and out.shape[2] >= int(meta["vocab_size"]))
    elif task == "classification":
        expected = f"(B, n_classes) = (B, {meta['n_classes']}) logits"
        ok = isinstance(out, torch.Tensor) and tuple(out.shape) == (batch, int(meta["n_classes"]))
    else:
        expected = f"(B, n_outputs) = (B, {meta['n_outputs']}) predictions"
        ok = isinstance(out, torch.Tensor) and tuple(out.shape) == (batch, int(meta["n_outputs"]))
    if not ok:
        got = f"shape {tuple(out.shape)}" if isinstance(out, torch.Tensor) else f"a {type(out).__name__}"
        where = (plugins._display(family.reference.path), None) if not family.builtin else (None, None)
        raise plugins.UserCodeError(
            f"model {family.name}: for input of shape {tuple(x.shape)} ({task}) the module returned {got}; it "
            f"must return a tensor of {expected}", *where)
    if not out.is_floating_point():
        raise plugins.UserCodeError(f"model {family.name}: the module returned {out.dtype} values; logits and "
                                    "predictions must be floating point")
