"""A small decoder-only transformer in nanoGPT's plain style: pre-LayerNorm blocks, causal SDPA attention,
GELU MLP of width 4 d_model, learned position embeddings, token embedding tied to the output head,
every Linear/Embedding weight initialised N(0, 0.02), biases zero. forward(idx) returns logits; the trainer computes
the loss, as for every family.

Shapes: B batch, T context, C = d_model, H heads, D = head_dim = C / H, V vocab.
"""

from __future__ import annotations

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

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        B, T = idx.shape  # token ids (B, T)
        assert self.context >= T, f"sequence of {T} tokens is longer than the context {self.context}"
        pos = torch.arange(T, device=idx.device)
        x = self.wte(idx) + self.wpe(pos)  # (B, T, C)
        for block in self.blocks:
            x = block(x)
        x = self.ln_f(x)
        return F.linear(x, self.wte.weight)  # (B, T, V) logits, tied head

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


# ---- size arithmetic (count_params, resolve, width) is torch-free, in sizes.py ----


def build(arch: dict) -> GPT:
    """The GPT of an architecture resolved by `sizes.gpt_resolve`."""
    return GPT(arch["vocab_size"], arch["context"], arch["d_model"], arch["n_layer"], arch["n_head"], arch["bias"])
