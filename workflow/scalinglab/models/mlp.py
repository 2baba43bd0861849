"""A plain multilayer perceptron: [input_features] -> width x depth hidden layers -> outputs.

depth 0 is a linear model (the teacher_student student). input_features N < n_features makes the model see only
the first N input features (the teacher_student size axis). Init: PyTorch's default for nn.Linear.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from .sizes import MLP_ACTIVATIONS

ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh}
assert tuple(ACTIVATIONS) == MLP_ACTIVATIONS


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


# ---- size arithmetic (count_params, resolve, width) is torch-free, in sizes.py ----


def build(arch: dict) -> MLP:
    """The MLP of an architecture resolved by `sizes.mlp_resolve`."""
    return MLP(arch["n_features"], arch["n_outputs"], arch["width"], arch["depth"], arch["activation"], arch["bias"],
               arch["input_features"])
