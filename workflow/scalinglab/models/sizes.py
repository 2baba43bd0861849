"""Size arithmetic of the model families, in pure Python (no torch, no numpy): closed-form parameter counts,
architecture resolution (explicit keys or `target_params`) and the width used by `lr_width_rule`.

The nn.Modules live in gpt.py and mlp.py (which import torch); training and `scalinglab.resources` (imported by
the Snakefile at parse time, before any data exists) both resolve sizes here, so the two can never disagree.
`meta` is a prepared dataset's meta.json, or `scalinglab.datasets.DatasetSpec.shape_meta(params)` before it exists.
The registry of families (built-in and user) is `scalinglab.models`.
"""

from __future__ import annotations

import math

# ------------------------------------------------------------------------------------------------------------ gpt

GPT_DEFAULTS = {"n_layer": 2, "context": 64, "bias": True}
GPT_KEYS = {"d_model", "n_layer", "n_head", "head_dim", "context", "bias", "vocab_size", "target_params"}
HEAD_DIM = 16  # default head_dim when neither n_head nor head_dim is given


def _closest(target: int, candidates: range, count) -> int:
    """The candidate whose count(candidate) is nearest `target` on a log scale (the first of ties), searching the
    increasing candidates until the count passes 4x the target."""
    best, best_err = candidates[0], math.inf
    for candidate in candidates:
        n = count(candidate)
        err = abs(math.log(n / target))
        if err < best_err:
            best, best_err = candidate, err
        if n > target * 4:
            break
    return best


def gpt_count_params(arch: dict) -> tuple[int, int]:
    """(n_params, n_params_nonembedding) of a resolved GPT architecture, in closed form."""
    d, L, V, T, bias = arch["d_model"], arch["n_layer"], arch["vocab_size"], arch["context"], arch["bias"]
    per_layer = 12 * d * d + (13 * d if bias else 2 * d)  # qkv, proj, fc, fc-proj (+ biases) and two LayerNorms
    non_emb = L * per_layer + (2 * d if bias else d)  # + final LayerNorm
    return non_emb + V * d + T * d, non_emb


def gpt_n_head(d_model: int, head_dim: int = HEAD_DIM) -> int:
    """n_head = d_model // head_dim (at least 1), lowered until it divides d_model: d24 with head_dim 16 -> 1 head."""
    n_head = max(1, d_model // head_dim)
    while d_model % n_head:
        n_head -= 1
    return n_head


def gpt_resolve(arch: dict, meta: dict) -> dict:
    """Fill an architecture from the sweep (explicit keys or target_params) and the dataset's vocabulary."""
    unknown = sorted(set(arch) - GPT_KEYS)
    if unknown:
        raise ValueError(f"gpt architecture: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(GPT_KEYS))}")
    out = {**GPT_DEFAULTS, **{k: v for k, v in arch.items() if k != "target_params"}}
    vocab = int(meta["vocab_size"])
    out["vocab_size"] = int(out.get("vocab_size", vocab))
    if out["vocab_size"] < vocab:
        raise ValueError(f"gpt architecture: vocab_size {out['vocab_size']} is smaller than the data's {vocab}")
    if "n_head" in out and "head_dim" in out:
        raise ValueError("gpt architecture: give n_head or head_dim, not both")
    if "target_params" in arch:
        if "d_model" in arch:
            raise ValueError("gpt architecture: give d_model or target_params, not both")
        out["d_model"] = _gpt_d_model_for(int(arch["target_params"]), out)
    if "d_model" not in out:
        raise ValueError("gpt architecture: d_model (or target_params) is required")
    d = int(out["d_model"])
    if "n_head" not in out:
        out["n_head"] = gpt_n_head(d, int(out.get("head_dim", HEAD_DIM)))
    elif d % int(out["n_head"]):
        raise ValueError(f"gpt architecture: d_model {d} is not a multiple of n_head {out['n_head']}")
    out.pop("head_dim", None)
    for key in ("d_model", "n_layer", "n_head", "context"):
        out[key] = int(out[key])
        if out[key] < 1:
            raise ValueError(f"gpt architecture: {key} must be >= 1")
    out["bias"] = bool(out["bias"])
    out["head_dim"] = out["d_model"] // out["n_head"]
    return out


def _gpt_d_model_for(target: int, arch: dict) -> int:
    """The d_model (a multiple of 8, or of n_head when fixed) whose non-embedding count is closest to target,
    on a log scale."""
    step = int(arch.get("n_head", 0) or 8)
    non_embedding = lambda d: gpt_count_params({**arch, "d_model": d, "vocab_size": 1, "context": 1})[1]  # noqa: E731
    return _closest(target, range(step, 65536 + 1, step), non_embedding)


def gpt_width(arch: dict) -> int:
    return arch["d_model"]


# ------------------------------------------------------------------------------------------------------------ mlp

MLP_DEFAULTS = {"depth": 2, "activation": "relu", "bias": True}
MLP_KEYS = {"width", "depth", "activation", "bias", "input_features", "target_params"}
MLP_ACTIVATIONS = ("relu", "gelu", "tanh")  # mlp.ACTIVATIONS maps each to its nn.Module


def mlp_count_params(arch: dict) -> tuple[int, int]:
    dims = [arch["input_features"]] + [arch["width"]] * arch["depth"] + [arch["n_outputs"]]
    n = sum(a * b + (b if arch["bias"] else 0) for a, b in zip(dims[:-1], dims[1:]))
    return n, n


def mlp_resolve(arch: dict, meta: dict) -> dict:
    unknown = sorted(set(arch) - MLP_KEYS)
    if unknown:
        raise ValueError(f"mlp architecture: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(MLP_KEYS))}")
    if len(meta.get("input_shape") or []) > 1:
        raise ValueError(f"mlp: the data's samples have shape {tuple(meta['input_shape'])}; the mlp takes flat "
                         "feature vectors (flatten X, or bring a model family of your own)")
    out = {**MLP_DEFAULTS, **{k: v for k, v in arch.items() if k != "target_params"}}
    out["n_features"] = int(meta["n_features"])
    out["n_outputs"] = int(meta.get("n_classes") or meta.get("n_outputs") or 1)
    out["input_features"] = int(out.get("input_features", out["n_features"]))
    if not 1 <= out["input_features"] <= out["n_features"]:
        raise ValueError(f"mlp architecture: input_features must be in 1..{out['n_features']}")
    out["depth"] = int(out["depth"])
    if out["activation"] not in MLP_ACTIVATIONS:
        raise ValueError(f"mlp architecture: activation must be one of {', '.join(MLP_ACTIVATIONS)}")
    out["bias"] = bool(out["bias"])
    if out["depth"] == 0:
        if "target_params" in arch:
            raise ValueError("mlp architecture: target_params needs depth >= 1 (a linear model has a fixed size)")
        out["width"] = 0
    elif "target_params" in arch:
        if "width" in arch:
            raise ValueError("mlp architecture: give width or target_params, not both")
        out["width"] = _mlp_width_for(int(arch["target_params"]), out)
    elif "width" not in out:
        raise ValueError("mlp architecture: width (or target_params) is required")
    out["width"] = int(out["width"])
    if out["depth"] > 0 and out["width"] < 1:
        raise ValueError("mlp architecture: width must be >= 1")
    return out


def _mlp_width_for(target: int, arch: dict) -> int:
    return _closest(target, range(1, 1 << 17), lambda w: mlp_count_params({**arch, "width": w})[0])


def mlp_width(arch: dict) -> int:
    return arch["width"] or arch["input_features"]
