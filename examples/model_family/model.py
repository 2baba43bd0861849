"""A model family of your own: a residual MLP, swept over its width.

scalinglab calls `residual_mlp(architecture, meta)` once per run and trains the module it returns with its built-in
loop. `architecture` is the sweep's `architecture` merged with one entry of `sizes`; `meta` describes the prepared
data (here: n_features and n_classes of a classification dataset).
"""

import torch
import torch.nn as nn


class Block(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.fc = nn.Linear(width, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, W) -> (B, W)
        return x + torch.relu(self.fc(self.norm(x)))


class ResidualMLP(nn.Module):
    def __init__(self, n_in: int, n_out: int, width: int, depth: int):
        super().__init__()
        self.stem = nn.Linear(n_in, width)
        self.blocks = nn.Sequential(*[Block(width) for _ in range(depth)])
        self.head = nn.Linear(width, n_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, n_in) -> (B, n_out) logits
        return self.head(self.blocks(self.stem(x)))


def residual_mlp(architecture: dict, meta: dict) -> nn.Module:
    return ResidualMLP(meta["n_features"], meta["n_classes"], architecture["width"], architecture["depth"])


def _width(architecture: dict, meta: dict) -> int:
    """Optional hook: the width that `train.lr_width_rule: inverse` scales the learning rate by."""
    return architecture["width"]


def _count_params(architecture: dict, meta: dict) -> int:
    """Optional hook: the parameter count in closed form, so cluster jobs are sized without building the model
    (scalinglab checks it against the built module)."""
    w, d = architecture["width"], architecture["depth"]
    return (meta["n_features"] + 1) * w + d * (w * w + 3 * w) + (w + 1) * meta["n_classes"]


residual_mlp.width = _width
residual_mlp.count_params = _count_params
