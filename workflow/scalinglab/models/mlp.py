"""A plain multilayer perceptron: [input_features] -> width x depth hidden layers -> outputs.

depth 0 is a linear model (the teacher_student student). input_features N < n_features makes the model see only
the first N input features (the teacher_student size axis). Init: PyTorch's default for nn.Linear.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn

ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh}


class MLP(nn.Module):
    def __init__(self, n_in: int, n_out: int, width: int, depth: int, activation: str = "relu", bias: bool = True,
                 input_features: int | None = None):
        super().__init__()
        self.input_features = input_features if input_features is not None else n_in
        dims = [self.input_features] + [width] * depth + [n_out]
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(dims[:-1], dims[1:])):
            layers.append(nn.Linear(a, b, bias=bias))
            if i < len(dims) - 2:
                layers.append(ACTIVATIONS[activation]())
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x (B, n_in) -> (B, n_out)
        return self.net(x[:, : self.input_features])

    def num_params(self, non_embedding: bool = False) -> int:
        return sum(p.numel() for p in self.parameters())  # an MLP has no embeddings


DEFAULTS = {"depth": 2, "activation": "relu", "bias": True}
KEYS = {"width", "depth", "activation", "bias", "input_features", "target_params"}


def count_params(arch: dict) -> tuple[int, int]:
    dims = [arch["input_features"]] + [arch["width"]] * arch["depth"] + [arch["n_outputs"]]
    n = sum(a * b + (b if arch["bias"] else 0) for a, b in zip(dims[:-1], dims[1:]))
    return n, n


def resolve(arch: dict, meta: dict) -> dict:
    unknown = sorted(set(arch) - KEYS)
    if unknown:
        raise ValueError(f"mlp architecture: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(KEYS))}")
    out = {**DEFAULTS, **{k: v for k, v in arch.items() if k != "target_params"}}
    out["n_features"] = int(meta["n_features"])
    out["n_outputs"] = int(meta.get("n_classes") or meta.get("n_outputs") or 1)
    out["input_features"] = int(out.get("input_features", out["n_features"]))
    if not 1 <= out["input_features"] <= out["n_features"]:
        raise ValueError(f"mlp architecture: input_features must be in 1..{out['n_features']}")
    out["depth"] = int(out["depth"])
    if out["activation"] not in ACTIVATIONS:
        raise ValueError(f"mlp architecture: activation must be one of {', '.join(ACTIVATIONS)}")
    out["bias"] = bool(out["bias"])
    if out["depth"] == 0:
        if "target_params" in arch:
            raise ValueError("mlp architecture: target_params needs depth >= 1 (a linear model has a fixed size)")
        out["width"] = 0
    elif "target_params" in arch:
        if "width" in arch:
            raise ValueError("mlp architecture: give width or target_params, not both")
        out["width"] = _width_for(int(arch["target_params"]), out)
    elif "width" not in out:
        raise ValueError("mlp architecture: width (or target_params) is required")
    out["width"] = int(out["width"])
    if out["depth"] > 0 and out["width"] < 1:
        raise ValueError("mlp architecture: width must be >= 1")
    return out


def _width_for(target: int, arch: dict) -> int:
    best, best_err = 1, math.inf
    for w in range(1, 1 << 17):
        n, _ = count_params({**arch, "width": w})
        err = abs(math.log(n / target))
        if err < best_err:
            best, best_err = w, err
        if n > target * 4:
            break
    return best


def width(arch: dict) -> int:
    return arch["width"] or arch["input_features"]


def build(arch: dict) -> MLP:
    return MLP(arch["n_features"], arch["n_outputs"], arch["width"], arch["depth"], arch["activation"], arch["bias"],
               arch["input_features"])
