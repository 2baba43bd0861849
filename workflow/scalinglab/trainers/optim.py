"""AdamW and gradient clipping, written out, with a switch to torch's own.

Constructing any `torch.optim` optimizer imports `torch._dynamo` (about 1.3 s per job on these CPUs, more than the
whole rest of a job's start-up), so the built-in trainer uses `AdamW` and `clip_grad_norm` below: the same
arithmetic as `torch.optim.AdamW(foreach=True)` and `torch.nn.utils.clip_grad_norm_`, bit for bit
(tests/test_train.py::test_hand_written_adamw_matches_torch).

The switch: the environment variable `SCALINGLAB_OPTIMIZER=torch` makes the trainer use `torch.optim.AdamW` and
`torch.nn.utils.clip_grad_norm_` instead (default `builtin`). Use it to rule the hand-written code out when a result
looks wrong, or on a torch version whose AdamW changed. Results are identical either way, so it is not part of a
run's identity; a checkpoint records the implementation that wrote it and resumes only with the same one.
"""

from __future__ import annotations

import math
import os

OPTIMIZER_ENV = "SCALINGLAB_OPTIMIZER"
IMPLEMENTATIONS = ("builtin", "torch")


def implementation() -> str:
    """`builtin` or `torch`, from SCALINGLAB_OPTIMIZER (unset or empty: builtin)."""
    value = os.environ.get(OPTIMIZER_ENV, "").strip() or "builtin"
    if value not in IMPLEMENTATIONS:
        raise ValueError(f"{OPTIMIZER_ENV}={value!r}: allowed values are {', '.join(IMPLEMENTATIONS)}")
    return value


def param_groups(model, weight_decay: float) -> list[dict]:
    """Matrices (and embeddings) decay; biases and norm gains do not."""
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def make_optimizer(model, lr: float, betas: tuple[float, float], weight_decay: float):
    """(optimizer, clip) for `model`: clip(parameters, max_norm) clips gradients in place."""
    groups = param_groups(model, weight_decay)
    if implementation() == "torch":
        import torch

        groups = [g for g in groups if g["params"]]
        optimizer = torch.optim.AdamW(groups, lr=lr, betas=tuple(betas), eps=1e-8, foreach=True)
        return optimizer, torch.nn.utils.clip_grad_norm_
    return AdamW(groups, lr=lr, betas=betas), clip_grad_norm


class AdamW:
    """AdamW (Loshchilov & Hutter), the same arithmetic as torch.optim.AdamW's foreach path.

    Param groups carry lr, betas, eps and weight_decay; state_dict and load_state_dict round-trip exactly for
    checkpoints.
    """

    def __init__(self, groups: list[dict], lr: float, betas: tuple[float, float], eps: float = 1e-8):
        self.param_groups = [{"lr": lr, "betas": tuple(betas), "eps": eps, **g} for g in groups]
        self.param_groups = [{**g, "params": list(g["params"])} for g in self.param_groups if g["params"]]
        self.step_count = 0
        self.state = [
            {"exp_avg": [p.detach().new_zeros(p.shape) for p in g["params"]],
             "exp_avg_sq": [p.detach().new_zeros(p.shape) for p in g["params"]]}
            for g in self.param_groups
        ]

    def zero_grad(self, set_to_none: bool = True) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                p.grad = None

    def step(self) -> None:
        import torch

        self.step_count += 1
        with torch.no_grad():
            for group, state in zip(self.param_groups, self.state):
                pairs = [(p, m, v) for p, m, v in zip(group["params"], state["exp_avg"], state["exp_avg_sq"])
                         if p.grad is not None]
                if pairs:
                    self._update(group, *(list(t) for t in zip(*pairs)))

    def _update(self, group: dict, params: list, exp_avg: list, exp_avg_sq: list) -> None:
        import torch

        grads = [p.grad for p in params]
        lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        if wd:
            torch._foreach_mul_(params, 1 - lr * wd)
        torch._foreach_lerp_(exp_avg, grads, 1 - beta1)
        torch._foreach_mul_(exp_avg_sq, beta2)
        torch._foreach_addcmul_(exp_avg_sq, grads, grads, 1 - beta2)
        bias_correction1 = 1 - beta1**self.step_count
        bias_correction2 = 1 - beta2**self.step_count
        step_size = lr / bias_correction1
        denom = torch._foreach_sqrt(exp_avg_sq)
        torch._foreach_div_(denom, math.sqrt(bias_correction2))
        torch._foreach_add_(denom, eps)
        torch._foreach_addcdiv_(params, exp_avg, denom, -step_size)

    def state_dict(self) -> dict:
        return {
            "step_count": self.step_count,
            "state": self.state,
            "groups": [{k: v for k, v in g.items() if k != "params"} for g in self.param_groups],
        }

    def load_state_dict(self, state: dict) -> None:
        self.step_count = state["step_count"]
        for mine, theirs in zip(self.state, state["state"]):
            for key in ("exp_avg", "exp_avg_sq"):
                for target, source in zip(mine[key], theirs[key]):
                    target.copy_(source)
        for group, saved in zip(self.param_groups, state["groups"]):
            group.update(saved)


def clip_grad_norm(params: list, max_norm: float):
    """torch.nn.utils.clip_grad_norm_ (L2, foreach), without its import-time cost. Returns the total norm."""
    import torch

    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return torch.tensor(0.0)
    total = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads, 2.0)), 2.0)
    coef = torch.clamp(max_norm / (total + 1e-6), max=1.0)
    torch._foreach_mul_(grads, coef)
    return total
