"""Batches for the built-in trainer: training batches as a pure function of (seed, step), fixed evaluation sets.

Language models (task `lm`) draw `batch_size` windows of `context + 1` tokens at random offsets of the training split;
other tasks walk one permutation of the run's training samples per epoch. Either way the batch of step s depends on
nothing but (seed, s), so a resumed run sees exactly the batches an uninterrupted one would.

Evaluation sets never depend on the seed or the budget. Other tasks evaluate the whole split every time. Language
models evaluate a fixed subset (`eval_batches x batch_size` windows drawn once with a fixed generator) during
training, and the whole split at the end (`whole=True`): consecutive, non-overlapping windows of `context` tokens, so
every token of the split but the first is predicted exactly once, from the tokens before it in its window.
"""

from __future__ import annotations

EVAL_SEED = 1234  # fixed generator for evaluation windows: identical for every run on a dataset
EVAL_CHUNK = 4096  # samples per evaluation forward pass (non-language tasks)
EVAL_TOKENS_PER_PASS = 4096  # tokens per forward pass of a whole-split language-model evaluation (cache-sized)
TRAIN_EVAL_SAMPLES = 10_000  # training samples re-evaluated at the end (memorisation vs held-out)


def mix_seed(*keys: int) -> int:
    """One 62-bit generator seed from several integers (seed, stream, step)."""
    value = 0
    for key in keys:
        value = (value * 1_000_003 + key) % (1 << 62)
    return value


class Batches:
    """Training batches and evaluation sets of one run, on its device."""

    def __init__(self, spec: dict, arrays: dict, meta: dict, train: dict, context: int | None, device):
        import torch

        self.torch = torch
        self.device = device
        self.task = meta["task"]
        self.seed = int(spec["seed"])
        self.batch = int(train["batch_size"])
        self.eval_batches = int(train["eval_batches"])
        self.generator = torch.Generator()
        if self.task == "lm":
            self._init_tokens(arrays, int(context))
        else:
            self._init_samples(spec, arrays)
        self._lm_eval: dict[str, list] = {}

    def _init_tokens(self, arrays: dict, context: int) -> None:
        torch = self.torch
        self.context = context
        self.splits = {k: torch.from_numpy(arrays[k]) for k in ("train", "val", "test")}
        for name, tokens in self.splits.items():
            if len(tokens) <= context + 1:
                raise ValueError(f"the {name} split ({len(tokens)} tokens) is shorter than the context + 1")
        self.offsets = torch.arange(context + 1)
        # the training tokens and window offsets on the device, so a step moves only its B start positions there
        self.train_tokens = self.splits["train"].to(self.device)
        self.train_offsets = self.offsets.to(self.device)

    def _init_samples(self, spec: dict, arrays: dict) -> None:
        torch = self.torch
        budget = int(spec["budget"])
        pool = len(arrays["y_train"])
        if budget > pool:
            raise ValueError(f"budget {budget} samples exceeds the training pool of {spec['dataset']} ({pool} samples)")
        # the budget takes the first `budget` samples of the (already shuffled) pool: nested, val/test fixed
        self.x = torch.from_numpy(arrays["x_train"][:budget]).to(self.device)
        self.y = torch.from_numpy(arrays["y_train"][:budget]).to(self.device)
        self.eval_sets = {
            split: (torch.from_numpy(arrays[f"x_{split}"]).to(self.device),
                    torch.from_numpy(arrays[f"y_{split}"]).to(self.device))
            for split in ("val", "test")
        }
        self._perms: dict[int, object] = {}

    def _seeded(self, *keys: int):
        return self.generator.manual_seed(mix_seed(*keys))

    def train_batch(self, step: int):
        """(x, y) of the 0-based step `step`."""
        return self._token_batch(step) if self.task == "lm" else self._sample_batch(step)

    def _token_batch(self, step: int):
        torch = self.torch
        tokens = self.train_tokens
        g = self._seeded(self.seed, 1, step)
        starts = self.to_device(torch.randint(0, len(tokens) - self.context - 1, (self.batch,), generator=g))  # (B,)
        window = tokens[starts[:, None] + self.train_offsets].long()  # (B, T + 1)
        return window[:, :-1], window[:, 1:]

    def _sample_batch(self, step: int):
        torch = self.torch
        n = len(self.y)
        position, have, chunks = step * self.batch, 0, []
        while have < self.batch:  # the sample stream is one permutation per epoch, concatenated
            epoch, offset = divmod(position, n)
            take = min(self.batch - have, n - offset)
            chunks.append(self._perm(epoch)[offset : offset + take])
            position += take
            have += take
        index = torch.cat(chunks) if len(chunks) > 1 else chunks[0]  # on the device, as the permutations are
        return self.x[index], self.y[index]

    def _perm(self, epoch: int):
        if epoch not in self._perms:
            if len(self._perms) > 2:
                self._perms.pop(min(self._perms))
            perm = self.torch.randperm(len(self.y), generator=self._seeded(self.seed, 2, epoch))
            self._perms[epoch] = self.to_device(perm)
        return self._perms[epoch]

    def to_device(self, tensor):
        """A CPU tensor on the run's device without a host sync: a plain `.to("cuda")` of pageable memory waits for
        every queued kernel before it copies (torch synchronises the stream after a blocking copy), which would stop
        a GPU from running ahead of Python once per step. Pinned memory copies asynchronously, in stream order; the
        host allocator keeps the pinned block until the copy has run. On the CPU it is the tensor itself."""
        if self.device.type != "cuda":
            return tensor
        return tensor.pin_memory().to(self.device, non_blocking=True)

    def eval_data(self, split: str, whole: bool = False) -> list:
        """List of (x, y) chunks of the evaluation set of `split`: for a language model the fixed subset of
        windows, or with whole=True every token of the split."""
        if self.task == "lm":
            key = f"{split}/whole" if whole else split
            if key not in self._lm_eval:
                self._lm_eval[key] = self._whole_split_windows(split) if whole else self._token_eval_windows(split)
            return self._lm_eval[key]
        if split == "train":  # the run's training samples: memorisation vs held-out
            x, y = self.x[:TRAIN_EVAL_SAMPLES], self.y[:TRAIN_EVAL_SAMPLES]
        else:
            x, y = self.eval_sets[split]
        return list(zip(x.split(EVAL_CHUNK), y.split(EVAL_CHUNK)))

    def eval_size(self, split: str, whole: bool = False) -> int:
        """Predictions (tokens or samples) an evaluation of `split` scores."""
        return sum(int(y.shape[0] if self.task != "lm" else y.numel()) for _, y in self.eval_data(split, whole))

    def _token_eval_windows(self, split: str) -> list:
        """eval_batches x batch_size windows of the split, drawn once with a fixed generator."""
        torch = self.torch
        tokens = self.splits[split]
        g = torch.Generator().manual_seed(EVAL_SEED)
        count = self.eval_batches * self.batch
        starts = torch.randint(0, len(tokens) - self.context - 1, (count,), generator=g)
        windows = tokens[starts[:, None] + self.offsets].long().to(self.device)  # (count, T + 1)
        return [(w[:, :-1], w[:, 1:]) for w in windows.split(self.batch)]

    def _whole_split_windows(self, split: str) -> list:
        """Non-overlapping windows covering the split: targets tokens[1:] in order, each predicted once."""
        tokens = self.splits[split].long()
        C = self.context
        n_targets = len(tokens) - 1
        full = n_targets // C  # windows of C targets; the remainder goes into one shorter window
        x = tokens[: full * C].view(full, C).to(self.device)  # (full, C)
        y = tokens[1 : full * C + 1].view(full, C).to(self.device)
        per_pass = max(1, EVAL_TOKENS_PER_PASS // C)
        chunks = list(zip(x.split(per_pass), y.split(per_pass)))
        rest = n_targets - full * C
        if rest:
            tail = tokens[full * C :].to(self.device)  # rest + 1 tokens
            chunks.append((tail[None, :-1], tail[None, 1:]))  # (1, rest)
        return chunks
