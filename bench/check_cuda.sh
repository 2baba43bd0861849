#!/usr/bin/env bash
# The CUDA path on a GPU machine (about a minute): one tiny GPT and one MLP run with device: cuda, each trained twice
# (bit-identical), the torch.optim switch, fp32 without TF32, strict deterministic algorithms, and no host sync in
# our batch and optimizer code. From the repository root with its venv. DEVICE=cpu runs the same checks on the CPU
# (without the sync checks). Written for issue #14 (never run on a GPU yet: no device was lent to that session).
set -euo pipefail
DEVICE=${DEVICE:-cuda} timeout 600 python - <<'EOF'
import json, math, os, subprocess, sys, tempfile, warnings
from pathlib import Path
import torch
from scalinglab import datasets
from scalinglab.trainers import TIMING_FIELDS, builtin, settings
device = os.environ["DEVICE"]
assert device == "cpu" or torch.cuda.is_available(), "torch sees no CUDA device"
tmp = Path(tempfile.mkdtemp())
text = {"val_fraction": 0.01, "test_fraction": 0.01}
table = {"dim": 32, "pool_size": 4000, "val_size": 1000, "test_size": 1000}
datasets.prepare("shakespeare_char", text, tmp / "text"); datasets.prepare("teacher_student", table, tmp / "table")
common = {"device": device, "checkpoint_interval_s": 60, "keep_checkpoints": False, "on_failure": "stop",
          "train": {**settings.train_defaults(), "eval_points": 4}}
gpt = {**common, "sweep": "g", "dataset": "shakespeare_char", "dataset_params": text, "model": "gpt",
       "architecture": {"n_layer": 2, "head_dim": 16, "context": 64, "d_model": 64}, "size_label": "d64", "seed": 0,
       "budget": 16 * 64 * 300, "budget_unit": "tokens", "run_id": "0" * 12, "run_path": "g/d64/seed0"}
gpt["train"] = {**gpt["train"], "batch_size": 16, "lr": 0.01, "warmup_steps": 30}
mlp = {**common, "sweep": "m", "dataset": "teacher_student", "dataset_params": table, "model": "mlp",
       "architecture": {"depth": 2, "width": 64}, "size_label": "w64", "seed": 1, "budget": 4000,
       "budget_unit": "samples", "run_id": "1" * 12, "run_path": "m/w64/seed1"}
mlp["train"] = {**mlp["train"], "batch_size": 64, "lr": 0.003, "epochs": 5}


def train(spec, data, name, **env):
    out = tmp / name
    subprocess.run([sys.executable, "-m", "scalinglab.cli", "train", "--spec-json", json.dumps(spec), "--data-dir",
                    str(tmp / data), "--out-dir", str(out)], check=True, env={**os.environ, **env})
    record = json.loads((out / "run.json").read_text()); m, e = record["metrics"], record["env"]
    assert m["status"] == "ok", m
    assert e["device"].startswith(device) and (device == "cpu" or e.get("cuda_device")), e
    assert m["n_params"] > 0 and m["flops"] > 0 and m["flops_per_s"] > 0 and m["first_step_s"] > 0, m
    for key in ("final_val_loss", "test_loss", "test_loss_at_best_val", "best_val_loss"):
        assert math.isfinite(m[key]), (key, m[key])
    assert m["final_val_loss"] < m["initial_train_loss"], "it did not learn"
    print(f"{name}: {e['device']} {e.get('cuda_device', '')}: final_val_loss {m['final_val_loss']:.4f}, "
          f"{m['steps']} steps, {m['train_s']:.2f} s, {m['flops_per_s'] / 1e9:.1f} GFLOP/s")
    return {k: v for k, v in m.items() if k not in TIMING_FIELDS}, record["curve"]


results = {}
for spec, data, name in ((gpt, "text", "gpt"), (mlp, "table", "mlp")):
    results[name] = train(spec, data, name)
    assert train(spec, data, name + "_again") == results[name], f"{name}: two runs of one spec differ on {device}"
    print(f"{name}: a second run is bit-identical")
switched = train(gpt, "text", "gpt_torch_adamw", SCALINGLAB_OPTIMIZER="torch")
print("gpt with SCALINGLAB_OPTIMIZER=torch:", "bit-identical" if switched == results["gpt"] else
      f"differs: {switched[0]['final_val_loss']} vs {results['gpt'][0]['final_val_loss']}")
if device == "cuda":
    run = builtin.setup(gpt, tmp / "text", tmp / "sync")
    assert next(run.model.parameters()).dtype == torch.float32 and not torch.backends.cuda.matmul.allow_tf32
    assert torch.are_deterministic_algorithms_enabled() and not torch.is_deterministic_algorithms_warn_only_enabled()
    losses = [builtin.train_step(run, s) for s in range(3)]
    before = next(run.model.parameters()).detach().clone()
    for s in range(3, 40):
        torch.cuda.set_sync_debug_mode("error"); x, y = run.batches.train_batch(s); torch.cuda.set_sync_debug_mode(0)
        run.optimizer.zero_grad(); builtin.compute_loss(run.model, "lm", x, y)[1].backward()
        torch.cuda.set_sync_debug_mode("error"); run.optimizer.clip_grad_norm(1.0); run.optimizer.step()
        torch.cuda.set_sync_debug_mode(0)
    assert not torch.equal(before, next(run.model.parameters())), "the optimizer did not update"
    torch.cuda.set_sync_debug_mode("warn")  # whole steps, torch's own kernels included: count what still syncs
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always"); losses += [builtin.train_step(run, s) for s in range(40, 72)]
    torch.cuda.set_sync_debug_mode(0)
    print(f"batches and optimizer: no host sync; whole steps: {len(caught)} syncs in 32 steps",
          sorted({str(w.message).splitlines()[0][:120] for w in caught}))
print("all GPU checks passed" if device == "cuda" else "all checks passed on the CPU")
EOF
