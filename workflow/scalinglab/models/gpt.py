"""A small decoder-only transformer in nanoGPT's plain style: pre-LayerNorm blocks, causal SDPA attention,
GELU MLP of width 4 d_model, learned position embeddings, token embedding tied to the output head,
every Linear/Embedding weight initialised N(0, 0.02), biases zero.

Shapes: B batch, T context, C = d_model, H heads, D = head_dim = C / H, V vocab.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class CausalSelfAttention(nn.Module):
    def __init__(self, d_model: int, n_head: int, bias: bool):
        super().__init__()
        assert d_model % n_head == 0, "d_model must be a multiple of n_head"
        self.n_head = n_head
        self.c_attn = nn.Linear(d_model, 3 * d_model, bias=bias)  # q, k, v for all heads at once
        self.c_proj = nn.Linear(d_model, d_model, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        H = self.n_head
        q, k, v = self.c_attn(x).split(C, dim=2)  # each (B, T, C)
        q = q.view(B, T, H, C // H).transpose(1, 2)  # (B, H, T, D)
        k = k.view(B, T, H, C // H).transpose(1, 2)
        v = v.view(B, T, H, C // H).transpose(1, 2)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # (B, H, T, D)
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.c_proj(y)


class MLP(nn.Module):
    def __init__(self, d_model: int, bias: bool):
        super().__init__()
        self.c_fc = nn.Linear(d_model, 4 * d_model, bias=bias)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * d_model, d_model, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.c_proj(self.gelu(self.c_fc(x)))


class Block(nn.Module):
    def __init__(self, d_model: int, n_head: int, bias: bool):
        super().__init__()
        self.ln_1 = nn.LayerNorm(d_model, bias=bias)
        self.attn = CausalSelfAttention(d_model, n_head, bias)
        self.ln_2 = nn.LayerNorm(d_model, bias=bias)
        self.mlp = MLP(d_model, bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    def __init__(self, vocab_size: int, context: int, d_model: int, n_layer: int, n_head: int, bias: bool = True):
        super().__init__()
        self.context = context
        self.wte = nn.Embedding(vocab_size, d_model)  # (V, C), also the output head (tied)
        self.wpe = nn.Embedding(context, d_model)  # (T, C)
        self.blocks = nn.ModuleList([Block(d_model, n_head, bias) for _ in range(n_layer)])
        self.ln_f = nn.LayerNorm(d_model, bias=bias)
        self.apply(_init_weights)

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None):
        B, T = idx.shape  # token ids (B, T)
        assert T <= self.context, f"sequence of {T} tokens is longer than the context {self.context}"
        pos = torch.arange(T, device=idx.device)
        x = self.wte(idx) + self.wpe(pos)  # (B, T, C)
        for block in self.blocks:
            x = block(x)
        x = self.ln_f(x)
        logits = F.linear(x, self.wte.weight)  # (B, T, V), tied head
        if targets is None:
            return logits, None
        loss = F.cross_entropy(logits.view(B * T, -1), targets.reshape(B * T))
        return logits, loss

    def num_params(self, non_embedding: bool = False) -> int:
        n = sum(p.numel() for p in self.parameters())
        if non_embedding:  # Kaplan et al.: exclude token and position embeddings (the tied head goes with wte)
            n -= self.wte.weight.numel() + self.wpe.weight.numel()
        return n


def _init_weights(module: nn.Module) -> None:
    if isinstance(module, (nn.Linear, nn.Embedding)):
        nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if getattr(module, "bias", None) is not None:
            nn.init.zeros_(module.bias)


# ---- architecture resolution (pure Python: no torch needed by callers, but this module imports torch) ----

DEFAULTS = {"n_layer": 2, "context": 64, "bias": True}
KEYS = {"d_model", "n_layer", "n_head", "head_dim", "context", "bias", "vocab_size", "target_params"}


def count_params(arch: dict) -> tuple[int, int]:
    """(n_params, n_params_nonembedding) of a resolved architecture, in closed form."""
    d, L, V, T, bias = arch["d_model"], arch["n_layer"], arch["vocab_size"], arch["context"], arch["bias"]
    per_layer = 12 * d * d + (13 * d if bias else 2 * d)  # qkv, proj, fc, fc-proj (+ biases) and two LayerNorms
    non_emb = L * per_layer + (2 * d if bias else d)  # + final LayerNorm
    return non_emb + V * d + T * d, non_emb


def resolve(arch: dict, meta: dict) -> dict:
    """Fill an architecture from the sweep (explicit keys or target_params) and the dataset's vocabulary."""
    unknown = sorted(set(arch) - KEYS)
    if unknown:
        raise ValueError(f"gpt architecture: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(KEYS))}")
    out = {**DEFAULTS, **{k: v for k, v in arch.items() if k != "target_params"}}
    vocab = int(meta["vocab_size"])
    out["vocab_size"] = int(out.get("vocab_size", vocab))
    if out["vocab_size"] < vocab:
        raise ValueError(f"gpt architecture: vocab_size {out['vocab_size']} is smaller than the data's {vocab}")
    if "n_head" in out and "head_dim" in out:
        raise ValueError("gpt architecture: give n_head or head_dim, not both")
    if "target_params" in arch:
        if "d_model" in arch:
            raise ValueError("gpt architecture: give d_model or target_params, not both")
        out["d_model"] = _d_model_for(int(arch["target_params"]), out)
    if "d_model" not in out:
        raise ValueError("gpt architecture: d_model (or target_params) is required")
    d = int(out["d_model"])
    if "n_head" not in out:
        # n_head = d_model // head_dim (at least 1), lowered until it divides d_model: d24 with head_dim 16 -> 1 head
        n_head = max(1, d // int(out.get("head_dim", 16)))
        while d % n_head:
            n_head -= 1
        out["n_head"] = n_head
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


def _d_model_for(target: int, arch: dict) -> int:
    """The d_model (multiple of 8, or of n_head when fixed) whose non-embedding count is closest to target (log scale)."""
    step = int(arch.get("n_head", 0) or 8)
    best, best_err = step, math.inf
    for d in range(step, 65536 + 1, step):
        _, n = count_params({**arch, "d_model": d, "vocab_size": 1, "context": 1})
        err = abs(math.log(n / target))
        if err < best_err:
            best, best_err = d, err
        if n > target * 4:
            break
    return best


def width(arch: dict) -> int:
    return arch["d_model"]


def build(arch: dict) -> GPT:
    return GPT(arch["vocab_size"], arch["context"], arch["d_model"], arch["n_layer"], arch["n_head"], arch["bias"])
