"""AdamW and gradient clipping, written out, with a switch to torch's own.

Constructing any `torch.optim` optimizer imports `torch._dynamo` (about 1.3 s per job on these CPUs, more than the
whole rest of a job's start-up), so the built-in trainer uses `AdamW` below: the same arithmetic as
`torch.optim.AdamW(foreach=True)` and `torch.nn.utils.clip_grad_norm_`, bit for bit
(tests/test_train.py::test_hand_written_adamw_matches_torch).

It is also faster on small models: the parameters live in one flat buffer (each parameter a view into it, each param
group a slice), so an update is a handful of operations on one long vector instead of a handful per parameter tensor
(a d16 GPT has 30: the update took 0.31 ms, now 0.10 ms), and the groups, which differ only in weight decay, share
them. Gradients are gathered into a flat buffer with one call per group, and the clipping norm reads them there. The
arithmetic is elementwise, so it is the same per element.

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
    """Matrices (and embeddings) decay; biases and norm gains do not. Frozen parameters are left out."""
    trained = [p for p in model.parameters() if p.requires_grad]
    return [{"params": [p for p in trained if p.dim() >= 2], "weight_decay": weight_decay},
            {"params": [p for p in trained if p.dim() < 2], "weight_decay": 0.0}]


def make_optimizer(model, lr: float, betas: tuple[float, float], weight_decay: float):
    """The optimizer of `model`: zero_grad(), clip_grad_norm(max_norm), step(), param_groups, state_dict().
    Clipping takes the norm over the parameters in the model's order, as clip_grad_norm_(model.parameters())."""
    groups = [g for g in param_groups(model, weight_decay) if g["params"]]
    in_order = [p for p in model.parameters() if p.requires_grad]
    if implementation() == "torch":
        return torch_adamw(groups, lr, betas, in_order)
    return AdamW(groups, lr=lr, betas=betas, clip_order=in_order)


def torch_adamw(groups: list[dict], lr: float, betas: tuple[float, float], in_order: list):
    import torch

    class TorchAdamW(torch.optim.AdamW):
        def clip_grad_norm(self, max_norm: float):
            return torch.nn.utils.clip_grad_norm_(in_order, max_norm)

    return TorchAdamW(groups, lr=lr, betas=tuple(betas), eps=1e-8, foreach=True)


def flatten(params: list) -> object | None:
    """Move the parameters into one flat buffer, each becoming a view of it; returns the buffer, or None when they
    cannot share one (different dtypes or devices, sparse tensors)."""
    import torch

    first = params[0]
    if any(p.dtype != first.dtype or p.device != first.device or p.is_sparse for p in params):
        return None
    with torch.no_grad():
        flat = torch.cat([p.detach().reshape(-1) for p in params])
        for p, view in zip(params, views(flat, params)):
            p.data = view
    return flat


def views(flat, like: list) -> list:
    """Views of a flat buffer shaped like the tensors of `like`, in order."""
    out, offset = [], 0
    for p in like:
        out.append(flat[offset : offset + p.numel()].view_as(p))
        offset += p.numel()
    return out


class AdamW:
    """AdamW (Loshchilov & Hutter), the same arithmetic as torch.optim.AdamW's foreach path, on flat buffers.

    Param groups carry lr, betas, eps and weight_decay; state_dict and load_state_dict round-trip exactly for
    checkpoints (the moments are lists of per-parameter views, as before the buffers were flat).
    """

    def __init__(self, groups: list[dict], lr: float, betas: tuple[float, float], eps: float = 1e-8,
                 clip_order: list | None = None):
        self.param_groups = [{"lr": lr, "betas": tuple(betas), "eps": eps, **g} for g in groups]
        self.param_groups = [{**g, "params": list(g["params"])} for g in self.param_groups if g["params"]]
        # the order of the clipping norm's sum (it changes its last bits): the model's, like clip_grad_norm_'s
        self.clip_order = list(clip_order) if clip_order is not None else [
            p for group in self.param_groups for p in group["params"]]
        self.step_count = 0
        self.state = []
        self.flat = []  # per group: (params, grads, exp_avg, exp_avg_sq) as flat buffers, or None
        self.grad_views = []  # per flat group: its gradient buffer's views, shaped like its parameters
        self.grads_gathered = False
        self.denom = {}  # the update's denominator buffer of each flat group, reused every step
        # every group in one buffer when they can share one (each group a slice of it): groups that differ only in
        # weight decay then update with one operation per step, not one per group
        self.whole = self._flatten_whole()
        for group, flat in zip(self.param_groups, self.flat if self.whole else [None] * len(self.param_groups)):
            params = group["params"]
            if flat is None:
                buffer = flatten(params)
                if buffer is not None:
                    flat = (buffer, *(buffer.new_zeros(buffer.shape) for _ in range(3)))
                self.flat.append(flat)
            if flat is None:
                moments = [[p.detach().new_zeros(p.shape) for p in params] for _ in range(2)]
                self.grad_views.append(None)
            else:
                moments = [views(flat[2], params), views(flat[3], params)]
                self.grad_views.append(views(flat[1], params))
            self.state.append({"exp_avg": moments[0], "exp_avg_sq": moments[1]})
        # the gathered gradients in the clipping order (None when a group is not flat): the clipping norm reads
        # them there, so that a step touches each parameter's .grad once
        view_of = {id(p): v for g, vs in zip(self.param_groups, self.grad_views) if vs for p, v in zip(g["params"], vs)}
        self.clip_views = [view_of[id(p)] for p in self.clip_order] if all(self.flat) else None

    def _flatten_whole(self) -> tuple | None:
        """(params, grads, exp_avg, exp_avg_sq) buffers holding every group, each group's slices appended to
        self.flat; None when the parameters cannot share one buffer."""
        everything = [p for group in self.param_groups for p in group["params"]]
        buffer = flatten(everything) if everything else None
        if buffer is None:
            return None
        whole = (buffer, *(buffer.new_zeros(buffer.shape) for _ in range(3)))
        offset = 0
        for group in self.param_groups:
            size = sum(p.numel() for p in group["params"])
            self.flat.append(tuple(b[offset : offset + size] for b in whole))
            offset += size
        return whole

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.grads_gathered = False
        for group in self.param_groups:
            for p in group["params"]:
                p.grad = None

    def _gather_grads(self) -> bool:
        """Copy every gradient into its group's flat gradient buffer; False when a gradient is missing (the update
        then goes tensor by tensor, skipping it, as torch's does)."""
        import torch

        if not self.grads_gathered:
            for group, grad_views in zip(self.param_groups, self.grad_views):
                grads = [p.grad for p in group["params"]]
                if grad_views is None or any(g is None for g in grads):
                    return False
                torch._foreach_copy_(grad_views, grads)  # one call for the group, not a reshape per tensor
            self.grads_gathered = True
        return True

    def clip_grad_norm(self, max_norm: float):
        """torch.nn.utils.clip_grad_norm_ (L2, foreach): the total norm of the per-tensor norms, and every gradient
        scaled by min(1, max_norm / (norm + 1e-6)). Returns the total norm."""
        import torch

        if self._gather_grads():  # the same values, read from the flat buffers
            total = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(self.clip_views, 2.0)), 2.0)
            coef = torch.clamp(max_norm / (total + 1e-6), max=1.0)
            for grads in [self.whole[1]] if self.whole else [flat[1] for flat in self.flat]:
                grads.mul_(coef)
            return total
        grads = [p.grad for p in self.clip_order if p.grad is not None]
        if not grads:
            return torch.tensor(0.0)
        total = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads, 2.0)), 2.0)
        coef = torch.clamp(max_norm / (total + 1e-6), max=1.0)
        torch._foreach_mul_(grads, coef)
        return total

    def step(self) -> None:
        import torch

        self.step_count += 1
        flat_grads = self._gather_grads()
        with torch.no_grad():
            if flat_grads and self.whole and len({(g["lr"], *g["betas"], g["eps"]) for g in self.param_groups}) == 1:
                for group, flat in zip(self.param_groups, self.flat):  # each group's own weight decay, then
                    self._decay(group, flat[0])
                self._adam(self.param_groups[0], *self.whole)  # one update of every group at once
                self.grads_gathered = False
                return
            for group, state, flat in zip(self.param_groups, self.state, self.flat):
                if flat_grads:
                    self._update(group, *flat)
                    continue
                kept = [(p, m, v) for p, m, v in zip(group["params"], state["exp_avg"], state["exp_avg_sq"])
                        if p.grad is not None]
                if kept:
                    params, exp_avg, exp_avg_sq = (list(t) for t in zip(*kept))
                    self._update_each(group, params, [p.grad for p in params], exp_avg, exp_avg_sq)
        self.grads_gathered = False

    def _hyper(self, group: dict) -> tuple:
        lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        bias_correction1 = 1 - beta1**self.step_count
        bias_correction2 = 1 - beta2**self.step_count
        return lr, beta1, beta2, eps, wd, lr / bias_correction1, math.sqrt(bias_correction2)

    def _update(self, group: dict, params, grads, exp_avg, exp_avg_sq) -> None:
        """One update of a group's flat buffers."""
        self._decay(group, params)
        self._adam(group, params, grads, exp_avg, exp_avg_sq)

    def _decay(self, group: dict, params) -> None:
        if group["weight_decay"]:
            params.mul_(1 - group["lr"] * group["weight_decay"])

    def _adam(self, group: dict, params, grads, exp_avg, exp_avg_sq) -> None:
        """Adam's moments and step on flat buffers (the decay is applied before, by _decay)."""
        import torch

        lr, beta1, beta2, eps, wd, step_size, bias_correction2_sqrt = self._hyper(group)
        exp_avg.lerp_(grads, 1 - beta1)
        exp_avg_sq.mul_(beta2)
        exp_avg_sq.addcmul_(grads, grads, value=1 - beta2)
        denom = torch.sqrt(exp_avg_sq, out=self.denom.get(id(exp_avg_sq)))  # a buffer kept between steps
        self.denom[id(exp_avg_sq)] = denom
        denom.div_(bias_correction2_sqrt)
        denom.add_(eps)
        params.addcdiv_(exp_avg, denom, value=-step_size)

    def _update_each(self, group: dict, params: list, grads: list, exp_avg: list, exp_avg_sq: list) -> None:
        """The same update tensor by tensor (parameters that cannot share a buffer, or a missing gradient)."""
        import torch

        lr, beta1, beta2, eps, wd, step_size, bias_correction2_sqrt = self._hyper(group)
        if wd:
            torch._foreach_mul_(params, 1 - lr * wd)
        torch._foreach_lerp_(exp_avg, grads, 1 - beta1)
        torch._foreach_mul_(exp_avg_sq, beta2)
        torch._foreach_addcmul_(exp_avg_sq, grads, grads, 1 - beta2)
        denom = torch._foreach_sqrt(exp_avg_sq)
        torch._foreach_div_(denom, bias_correction2_sqrt)
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
