"""Parameter and FLOP accounting.

Two FLOP counts per run (1 multiply-add = 2 FLOPs; both cover training steps only, not evaluation):
- `flops_6nd`: the analytic estimate C = 6 * D * (N + attention), D = tokens (gpt) or samples (mlp) processed by
  training steps. gpt: N = n_params_nonembedding and attention = n_layer * context * d_model per token (Kaplan et al.
  2020: forward 2N + 2 n_layer n_ctx d, backward twice the forward). Other families: N = n_params_nonembedding
  (n_params for an mlp), no attention term.
- `flops`: measured with torch.utils.flop_counter.FlopCounterMode on one real training step (forward + backward
  on one batch, every matmul including the tied output head and attention; attention counted as full, non-causal
  QK^T and AV matrices, as FlopCounterMode does for SDPA on CUDA; elementwise ops, softmax, norms and the optimizer
  are not counted), multiplied by the number of steps.
For a GPT `flops` exceeds `flops_6nd` by the output head (6 V d per token) and by the causal half of attention that
is computed anyway; for an MLP the two agree except the first layer's input gradient (not needed, not computed).
"""

from __future__ import annotations


def flops_6nd(model: str, resolved: dict, n_params: int, n_params_nonembedding: int, units: float) -> float:
    """6 D (N + attention): N = n_params_nonembedding (equal to n_params for families without embeddings), with
    gpt's attention term n_layer x context x d_model per token."""
    if model == "gpt":
        per_token = n_params_nonembedding + resolved["n_layer"] * resolved["context"] * resolved["d_model"]
        return 6.0 * per_token * units
    return 6.0 * n_params_nonembedding * units


def estimated_flops(model: str, resolved: dict, n_params: int, n_params_nonembedding: int, units: float) -> float:
    """The measured `flops` predicted in closed form, before a run (cluster requests): `flops_6nd` plus, for gpt,
    what FlopCounterMode also counts: the tied output head (6 V d_model per token) and the masked half of
    attention (another 6 n_layer context d_model per token)."""
    flops = flops_6nd(model, resolved, n_params, n_params_nonembedding, units)
    if model == "gpt":
        head = resolved["vocab_size"] * resolved["d_model"]
        masked_attention = resolved["n_layer"] * resolved["context"] * resolved["d_model"]
        flops += 6.0 * (head + masked_attention) * units
    return flops


def _cpu_sdpa_mapping() -> dict:
    """FlopCounterMode formulas for the CPU flash-attention kernels, which torch does not register."""
    import torch
    from torch.utils.flop_counter import sdpa_backward_flop_count, sdpa_flop_count

    aten = torch.ops.aten
    mapping = {}

    def forward(query, key, value, *args, out_shape=None, **kwargs):
        return sdpa_flop_count(query, key, value)

    def backward(grad_out, query, key, value, *args, out_shape=None, **kwargs):
        return sdpa_backward_flop_count(grad_out, query, key, value)

    if hasattr(aten, "_scaled_dot_product_flash_attention_for_cpu"):
        mapping[aten._scaled_dot_product_flash_attention_for_cpu] = forward
    if hasattr(aten, "_scaled_dot_product_flash_attention_for_cpu_backward"):
        mapping[aten._scaled_dot_product_flash_attention_for_cpu_backward] = backward
    return mapping


def _skip_dynamo_import() -> None:
    """TorchDispatchMode subclasses wrap __torch_dispatch__ in torch._disable_dynamo, which imports torch._dynamo
    (1.3-3 s on these CPUs) on the first dispatched op just to mark the function as not-to-be-compiled. Nothing here is
    compiled, so pre-set the cache attribute that wrapper looks for to the raw function. If torch's internals
    differ, this does nothing and the import simply happens."""
    try:
        import torch.utils.flop_counter as flop_counter

        wrapper = flop_counter._FlopCounterMode.__dict__["__torch_dispatch__"]
        raw = wrapper.__wrapped__
        if getattr(raw, "__dynamo_disable", None) is None:
            raw.__dynamo_disable = raw
    except (AttributeError, KeyError):
        pass


def measure_step_flops(step_fn) -> int:
    """FLOPs of one call of step_fn() (which should run forward and backward on one batch)."""
    from torch.utils.flop_counter import FlopCounterMode

    _skip_dynamo_import()

    with FlopCounterMode(display=False, custom_mapping=_cpu_sdpa_mapping()) as counter:
        step_fn()
    return int(counter.get_total_flops())
