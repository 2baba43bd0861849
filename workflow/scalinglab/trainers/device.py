"""The device a run trains on, set up for determinism and speed."""

from __future__ import annotations

import os


def pick_device(requested: str):
    import torch

    if requested == "cuda" or (requested == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise RuntimeError("device: cuda was requested but torch sees no CUDA device")
        return torch.device("cuda")
    return torch.device("cpu")


def keep_freed_memory() -> None:
    """Ask glibc to serve large allocations from its heap and to keep what is freed, instead of mapping fresh pages
    for every activation tensor and unmapping them after each step: a d_model-128 GPT step page-faulted about 300
    times (about 70 after this), which in a virtual machine costs a few percent of the step. Memory is not returned to
    the system while the job runs (its peak stays its size). Nothing happens where the C library is not glibc."""
    import ctypes
    import ctypes.util

    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):
        return
    m_trim_threshold, m_mmap_threshold = -1, -3  # glibc's mallopt parameters
    mallopt(m_mmap_threshold, 32 << 20)  # glibc's largest: allocations up to 32 MiB come from the heap
    mallopt(m_trim_threshold, 1 << 30)


def configure_device(requested: str, strict: bool = True):
    """(device, threads). CPU: one thread (deterministic, and two 1-thread jobs beat one 2-thread job).

    CUDA: fp32 stays fp32 (no TF32 in matmuls or convolutions, no autocast: a run computes what it would on a CPU,
    to rounding) and deterministic algorithms. `strict` (the built-in families) makes an operation without a
    deterministic CUDA kernel an error, and it is what makes attention's backward deterministic: with warn_only,
    SDPA's memory-efficient backward (fp32 attention takes it) may split keys and add in any order. A user's family
    runs with warn_only (strict=False): a nondeterministic operation of theirs warns instead of failing the run."""
    import torch

    device = pick_device(requested)
    if device.type == "cpu":
        torch.set_num_threads(1)
        keep_freed_memory()
        return device, 1
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # read when cuBLAS starts: before the first matmul
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = False
    # CPU kernels with one thread are deterministic already; this call imports torch._inductor (1.5 s)
    torch.use_deterministic_algorithms(True, warn_only=not strict)
    return device, torch.get_num_threads()
