"""The training substrate: real torch training on tiny settings (no mocks).

Covers determinism, SIGKILL + resume, divergence, failure injection and on_failure, FLOP accounting, schedules, the
hand-written AdamW, and the import hygiene of the pipeline path.
"""

import copy
import json
import math
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from scalinglab import datasets, trainers  # noqa: E402
from scalinglab.cli import main as cli_main  # noqa: E402
from scalinglab.trainers import builtin, checkpoint, divergence, hooks, optim, settings  # noqa: E402
from scalinglab.trainers.data import Batches  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHAKESPEARE_PARAMS = {"val_fraction": 0.01, "test_fraction": 0.01}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    # small held-out splits (1% each, 50K tokens): every run's whole-split final evaluation stays quick
    datasets.prepare("shakespeare_char", SHAKESPEARE_PARAMS, root / "shakespeare_char")
    datasets.prepare("iris", {}, root / "iris")
    datasets.prepare("teacher_student", {"dim": 32, "pool_size": 2000, "val_size": 500, "test_size": 500},
                     root / "teacher_student")
    return root


def gpt_spec(**train_overrides):
    spec = {
        "sweep": "t", "dataset": "shakespeare_char", "dataset_params": SHAKESPEARE_PARAMS,
        "model": "gpt", "architecture": {"n_layer": 1, "head_dim": 8, "context": 16, "d_model": 16},
        "size_label": "d16", "seed": 0, "budget": 16 * 16 * 60, "budget_unit": "tokens",
        "train": {**settings.train_defaults(), "batch_size": 16, "lr": 0.01, "warmup_steps": 5, "eval_points": 4,
                  "eval_batches": 2},
        "device": "cpu", "checkpoint_interval_s": 60, "keep_checkpoints": False, "on_failure": "stop",
        "run_id": "000000000000", "run_path": "t/d16/15K-tokens/seed0",
    }
    spec["train"].update(train_overrides)
    return spec


def mlp_spec(dataset="iris", **train_overrides):
    spec = {
        "sweep": "m", "dataset": dataset, "dataset_params": {}, "model": "mlp",
        "architecture": {"depth": 2, "width": 16}, "size_label": "w16", "seed": 1, "budget": 90,
        "budget_unit": "samples",
        "train": {**settings.train_defaults(), "batch_size": 16, "lr": 0.01, "epochs": 5, "lr_schedule": "onecycle",
                  "eval_points": 5},
        "device": "cpu", "checkpoint_interval_s": 60, "keep_checkpoints": False, "on_failure": "stop",
        "run_id": "111111111111", "run_path": "m/w16/90-samples/seed1",
    }
    spec["train"].update(train_overrides)
    return spec


def deterministic_part(result):
    metrics = {k: v for k, v in result["metrics"].items() if k not in trainers.TIMING_FIELDS}
    return metrics, result["curve"]


def test_gpt_run_writes_contract(data, tmp_path):
    builtin.run_training(gpt_spec(), data / "shakespeare_char", tmp_path)
    on_disk = json.loads((tmp_path / "run.json").read_text())
    assert set(on_disk) == {"spec", "metrics", "curve", "env", "started_at", "finished_at"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", on_disk["started_at"])
    assert on_disk["started_at"] <= on_disk["finished_at"]
    assert on_disk["spec"] == gpt_spec()
    m = on_disk["metrics"]
    for key in ("status", "n_params", "n_params_nonembedding", "flops_6nd", "flops", "steps", "tokens_seen",
                "best_val_loss", "final_val_loss", "test_loss", "test_accuracy", "val_accuracy", "wall_s",
                "throughput", "peak_rss_mb", "flops_per_s", "diverged_step", "error", "lr_effective",
                "resumed_from_step"):
        assert key in m, key
    assert m["status"] == "ok" and m["steps"] == 60 and m["tokens_seen"] == 60 * 16 * 16
    assert m["final_val_loss"] < math.log(82)  # it learned something
    # the best checkpoint is chosen on the fixed validation subset, which the last step is scored on too
    assert m["best_val_step"] in [row["step"] for row in on_disk["curve"]]
    if m["best_val_step"] < m["steps"]:
        assert m["best_val_loss"] == next(r["val_loss"] for r in on_disk["curve"] if r["step"] == m["best_val_step"])
    sizes = json.loads((data / "shakespeare_char" / "meta.json").read_text())["sizes"]
    assert m["val_eval_size"] == sizes["val"] - 1 and m["test_eval_size"] == sizes["test"] - 1  # whole splits
    assert [row["step"] for row in on_disk["curve"]] == settings.eval_steps(60, 4)
    for row in on_disk["curve"]:
        assert set(row) == {"step", "tokens", "flops", "train_loss", "val_loss", "val_accuracy", "lr"}
    assert on_disk["env"]["threads"] == 1 and on_disk["env"]["torch"] == torch.__version__
    assert not (tmp_path / "checkpoint.pt").exists()


def test_same_spec_and_seed_give_identical_metrics(data, tmp_path):
    for spec, name in ((gpt_spec(), "shakespeare_char"), (mlp_spec(), "iris")):
        a = builtin.run_training(spec, data / name, tmp_path / "a" / name)
        b = builtin.run_training(copy.deepcopy(spec), data / name, tmp_path / "b" / name)
        assert deterministic_part(a) == deterministic_part(b)
        other = copy.deepcopy(spec)
        other["seed"] += 1
        c = builtin.run_training(other, data / name, tmp_path / "c" / name)
        assert c["metrics"]["final_val_loss"] != a["metrics"]["final_val_loss"]


def _cli_train(spec, data_dir, out_dir, *extra, env=None):
    return subprocess.run(
        [sys.executable, "-m", "scalinglab.cli", "train", "--spec-json", json.dumps(spec), "--data-dir",
         str(data_dir), "--out-dir", str(out_dir), *extra],
        capture_output=True, text=True, timeout=120, env={**os.environ, "OMP_NUM_THREADS": "1", **(env or {})},
        cwd=REPO,
    )


def test_sigkill_then_rerun_resumes_to_the_same_metrics(data, tmp_path):
    spec = gpt_spec(steps=60, eval_points=6)
    reference = builtin.run_training(copy.deepcopy(spec), data / "shakespeare_char", tmp_path / "reference")

    # the test hook checkpoints after step 35 and SIGKILLs the job: a crash at a known step, no timing involved
    out = tmp_path / "killed"
    killed = _cli_train(spec, data / "shakespeare_char", out, env={hooks.KILL_AT_STEP: "35"})
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert (out / checkpoint.NAME).exists() and not (out / "run.json").exists()

    # the rerun in this process: the same command line, without a second start of Python and torch
    assert cli_main(["train", "--spec-json", json.dumps(spec), "--data-dir", str(data / "shakespeare_char"),
                     "--out-dir", str(out)]) == 0
    result = json.loads((out / "run.json").read_text())
    assert result["metrics"]["resumed_from_step"] == 35
    assert deterministic_part(result) == deterministic_part(json.loads(json.dumps(reference)))
    assert not (out / checkpoint.NAME).exists()


def test_checkpoint_is_kept_when_asked_and_ignored_for_another_spec(data, tmp_path):
    spec = mlp_spec()
    spec["checkpoint_interval_s"] = 1e-9
    spec["keep_checkpoints"] = True
    first = builtin.run_training(spec, data / "iris", tmp_path)
    assert (tmp_path / "checkpoint.pt").exists()
    other = copy.deepcopy(spec)
    other["seed"] = 7  # a different run: the stale checkpoint must not be used
    result = builtin.run_training(other, data / "iris", tmp_path)
    assert result["metrics"]["resumed_from_step"] is None
    assert result["metrics"]["final_val_loss"] != first["metrics"]["final_val_loss"]


def test_divergence_is_recorded_with_its_step(data, tmp_path):
    spec = gpt_spec(lr=1e4, warmup_steps=0, grad_clip=0, weight_decay=0.0)
    assert cli_main(["train", "--spec-json", json.dumps(spec), "--data-dir", str(data / "shakespeare_char"),
                     "--out-dir", str(tmp_path)]) == 0
    m = json.loads((tmp_path / "run.json").read_text())["metrics"]
    # NaN on some CPUs, a finite 6.7e8 on others (AVX-512): the rule makes both `diverged`
    assert m["status"] == "diverged"
    assert m["divergence_rule"] in (divergence.NONFINITE, divergence.ABOVE_INITIAL)
    assert isinstance(m["diverged_step"], int) and 1 <= m["diverged_step"] <= 60
    assert m["steps"] < m["diverged_step"] or m["steps"] == m["diverged_step"]
    assert m["final_val_loss"] is None and m["test_loss"] is None and m["test_loss_at_best_val"] is None


def test_a_finite_but_exploding_loss_is_diverged_by_the_rule(data, tmp_path):
    """Adam moves each weight by about lr per step, so lr 100 on a linear model makes the loss huge but finite on
    every machine: only the loss_above_initial rule can catch it."""
    spec = mlp_spec(dataset="teacher_student", lr=100.0, epochs=3, lr_schedule="constant", grad_clip=0,
                    weight_decay=0.0, eval_points=6)
    spec["dataset_params"] = {"dim": 32, "pool_size": 2000, "val_size": 500, "test_size": 500}
    spec["architecture"] = {"depth": 0, "input_features": 8}
    spec["budget"] = 2000
    result = builtin.run_training(spec, data / "teacher_student", tmp_path)
    m, curve = result["metrics"], result["curve"]
    assert m["status"] == "diverged" and m["divergence_rule"] == divergence.ABOVE_INITIAL
    assert all(math.isfinite(row["val_loss"]) for row in curve)
    arrays, meta = datasets.load(data / "teacher_student")
    limit = divergence.threshold(divergence.constant_prediction_loss(meta, arrays), m["initial_train_loss"])
    above = [row["step"] for row in curve if row["val_loss"] > limit]
    # fired at the PATIENCE-th consecutive evaluation above the limit, and training stopped there
    assert above[-divergence.PATIENCE:] == [row["step"] for row in curve[-divergence.PATIENCE:]]
    assert m["diverged_step"] == m["steps"] == curve[-1]["step"] < m["steps_planned"]


def test_divergence_rule_counts_consecutive_evaluations():
    limit = divergence.threshold(constant_loss=2.0, initial_loss=2.5)
    assert limit == divergence.FACTOR * 2.5
    strikes = 0
    for loss in (1.0, 9.0, 1.0, 9.0):  # isolated spikes never fire before the last evaluation
        strikes = divergence.strikes_after(loss, limit, strikes)
        assert not divergence.fired(strikes, last_evaluation=False)
    assert divergence.fired(strikes, last_evaluation=True)  # a run may not end above the limit
    strikes = divergence.strikes_after(9.0, limit, strikes)
    assert strikes == 2 and divergence.fired(strikes, last_evaluation=False)


def test_language_models_end_with_a_whole_split_evaluation(data):
    """The last evaluation and the test evaluation cover every token of their split once, in non-overlapping
    windows of `context` tokens; the intermediate ones a fixed subset."""
    arrays, meta = datasets.load(data / "shakespeare_char")
    arrays = {split: tokens[:5003] for split, tokens in arrays.items()}  # short splits: the loop below is slow
    spec = gpt_spec()
    batches = Batches(spec, arrays, meta, settings.train_settings(spec), 16, torch.device("cpu"))
    for split in ("val", "test"):
        chunks = batches.eval_data(split, whole=True)
        tokens = torch.from_numpy(arrays[split]).long()
        targets = torch.cat([y.reshape(-1) for _, y in chunks])
        inputs = torch.cat([x.reshape(-1) for x, _ in chunks])
        assert torch.equal(targets, tokens[1:]) and torch.equal(inputs, tokens[:-1])
        assert all(x.shape[-1] <= 16 for x, _ in chunks)
        subset = batches.eval_data(split)
        assert sum(y.numel() for _, y in subset) == spec["train"]["eval_batches"] * 16 * 16

    # evaluate() over those windows equals a plain loop over every window, one at a time
    from scalinglab import models

    torch.manual_seed(0)
    resolved = models.resolve("gpt", spec["architecture"], meta)
    model = models.build("gpt", resolved)
    loss, accuracy = builtin.evaluate(model, batches, "val", whole=True)
    tokens = torch.from_numpy(arrays["val"]).long()
    total, correct = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(tokens) - 1, 16):
            window = tokens[start : start + 17]
            logits = model(window[None, :-1])[0]
            total += float(torch.nn.functional.cross_entropy(logits, window[1:], reduction="sum"))
            correct += int((logits.argmax(-1) == window[1:]).sum())
    assert loss == pytest.approx(total / (len(tokens) - 1), rel=1e-5)
    assert accuracy == correct / (len(tokens) - 1)


def test_test_loss_at_the_best_validation_checkpoint(data, tmp_path):
    """An overfitting run: the best validation loss comes before the end, and the reported test loss at that
    checkpoint is the test loss of the model at that step (a run stopped there, with the same constant schedule)."""
    spec = mlp_spec(lr=0.03, lr_schedule="constant", epochs=60, eval_points=8, weight_decay=0.0)
    spec["architecture"] = {"depth": 2, "width": 64}
    m = builtin.run_training(copy.deepcopy(spec), data / "iris", tmp_path / "full")["metrics"]
    curve = json.loads((tmp_path / "full" / "run.json").read_text())["curve"]
    best = min(curve, key=lambda row: row["val_loss"])
    assert m["best_val_step"] == best["step"] < m["steps"] and m["best_val_loss"] == best["val_loss"]
    assert m["test_loss_at_best_val"] != m["test_loss"]
    stopped = copy.deepcopy(spec)
    stopped["train"]["steps"] = m["best_val_step"]
    early = builtin.run_training(stopped, data / "iris", tmp_path / "early")["metrics"]
    assert early["final_val_loss"] == m["best_val_loss"]
    assert early["test_loss"] == m["test_loss_at_best_val"]
    assert early["test_accuracy"] == m["test_accuracy_at_best_val"]
    # a run whose best model is its last reports the same test loss twice
    final_best = builtin.run_training(gpt_spec(), data / "shakespeare_char", tmp_path / "gpt")["metrics"]
    assert final_best["best_val_step"] == final_best["steps"]
    assert final_best["test_loss_at_best_val"] == final_best["test_loss"]


def test_injected_failure_retry_and_record(data, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv(hooks.FAIL_ATTEMPTS, "1")
    spec = mlp_spec()
    args = ["train", "--spec-json", json.dumps(spec), "--data-dir", str(data / "iris"), "--out-dir", str(tmp_path)]
    assert cli_main(args + ["--attempt", "1", "--max-attempts", "2"]) == 1
    err = capsys.readouterr().err
    assert spec["run_path"] in err and "InjectedFailure" in err
    assert not (tmp_path / "run.json").exists()
    assert cli_main(args + ["--attempt", "2", "--max-attempts", "2"]) == 0
    assert json.loads((tmp_path / "run.json").read_text())["metrics"]["status"] == "ok"

    monkeypatch.setenv(hooks.FAIL_ATTEMPTS, "3")
    record = mlp_spec()
    record["on_failure"] = "record"
    out = tmp_path / "recorded"
    args = ["train", "--spec-json", json.dumps(record), "--data-dir", str(data / "iris"), "--out-dir", str(out)]
    assert cli_main(args + ["--attempt", "1", "--max-attempts", "2"]) == 1  # not the last attempt yet
    assert cli_main(args + ["--attempt", "2", "--max-attempts", "2"]) == 0
    m = json.loads((out / "run.json").read_text())["metrics"]
    assert m["status"] == "failed" and "InjectedFailure" in m["error"]

    # limited to matching runs: another run path trains normally
    monkeypatch.setenv(hooks.FAIL_RUNS, "gpt_*")
    other = tmp_path / "other"
    args = ["train", "--spec-json", json.dumps(mlp_spec()), "--data-dir", str(data / "iris"), "--out-dir", str(other)]
    assert cli_main(args) == 0 and json.loads((other / "run.json").read_text())["metrics"]["status"] == "ok"


def test_the_optimizer_switch_gives_the_same_run(data, tmp_path, monkeypatch):
    """SCALINGLAB_OPTIMIZER=torch trains with torch.optim.AdamW and clip_grad_norm_: the same metrics, bit for bit."""
    spec = gpt_spec(grad_clip=0.5, steps=30)
    builtin_run = builtin.run_training(copy.deepcopy(spec), data / "shakespeare_char", tmp_path / "builtin")
    monkeypatch.setenv(optim.OPTIMIZER_ENV, "torch")
    torch_run = builtin.run_training(copy.deepcopy(spec), data / "shakespeare_char", tmp_path / "torch")
    assert deterministic_part(torch_run) == deterministic_part(builtin_run)
    monkeypatch.setenv(optim.OPTIMIZER_ENV, "adam")
    with pytest.raises(ValueError, match=r"SCALINGLAB_OPTIMIZER='adam'.*builtin, torch"):
        optim.implementation()


def test_flop_counts(data, tmp_path):
    gpt = builtin.run_training(gpt_spec(), data / "shakespeare_char", tmp_path / "g")["metrics"]
    # measured FLOPs add the tied output head and the masked half of attention to 6ND: more, but not wildly
    assert gpt["flops_6nd"] < gpt["flops"] < 2.5 * gpt["flops_6nd"]
    assert gpt["flops"] == gpt["flops_per_step"] * gpt["steps"]
    # an MLP: forward 2*sum(a*b) per sample; backward twice that, minus the unneeded input gradient
    mlp = builtin.run_training(mlp_spec(), data / "iris", tmp_path / "m")["metrics"]
    dims = [4, 16, 16, 3]
    forward = 2 * sum(a * b for a, b in zip(dims[:-1], dims[1:]))
    per_sample = 3 * forward - 2 * dims[0] * dims[1]
    assert mlp["flops_per_step"] == 16 * per_sample
    assert mlp["flops_6nd"] == 6 * mlp["n_params"] * mlp["samples_seen"]


def test_budget_subsamples_training_pool_only(data):
    arrays, meta = datasets.load(data / "iris")
    small, large = mlp_spec(), mlp_spec()
    small["budget"], large["budget"] = 30, 90
    sets = []
    for spec in (small, large):
        sets.append(Batches(spec, arrays, meta, settings.train_settings(spec), None, torch.device("cpu")))
    assert len(sets[0].y) == 30 and len(sets[1].y) == 90
    assert torch.equal(sets[0].x, sets[1].x[:30])  # nested budgets
    for split in ("val", "test"):
        for (xa, ya), (xb, yb) in zip(sets[0].eval_data(split), sets[1].eval_data(split)):
            assert torch.equal(xa, xb) and torch.equal(ya, yb)
    assert settings.count_steps(small, settings.train_settings(small), None) == math.ceil(30 * 5 / 16)
    tokens = gpt_spec()
    assert settings.count_steps(tokens, settings.train_settings(tokens), 16) == 60
    assert settings.count_steps(tokens, {**settings.train_settings(tokens), "steps": 7}, 16) == 7
    with pytest.raises(ValueError, match="exceeds the training pool"):
        over = mlp_spec()
        over["budget"] = 91
        Batches(over, arrays, meta, settings.train_settings(over), None, torch.device("cpu"))


def test_teacher_student_regression_runs(data, tmp_path):
    spec = mlp_spec(dataset="teacher_student", lr=0.01, epochs=3, lr_schedule="cosine")
    spec["dataset_params"] = {"dim": 32, "pool_size": 2000, "val_size": 500, "test_size": 500}
    spec["architecture"] = {"depth": 0, "input_features": 8}
    spec["budget"] = 2000
    m = builtin.run_training(spec, data / "teacher_student", tmp_path)["metrics"]
    truth = json.loads((data / "teacher_student" / "meta.json").read_text())["truth"]["loss_by_features"]
    assert m["status"] == "ok" and m["n_params"] == 9 and m["test_accuracy"] is None
    assert truth[8] * 0.9 < m["final_val_loss"] < truth[0]


def test_train_settings_fall_back_to_the_schema_defaults():
    import yaml

    from scalinglab import SCHEMA_PATH

    schema = yaml.safe_load(SCHEMA_PATH.read_text())["$defs"]["train"]["properties"]
    defaults = settings.train_defaults()
    assert defaults == {k: v["default"] for k, v in schema.items() if "default" in v} and "steps" not in defaults
    block = settings.train_settings({"train": {"lr": 0.5}})
    assert block["lr"] == 0.5 and block["batch_size"] == defaults["batch_size"] and block.get("steps") is None
    with pytest.raises(KeyError):
        block["no_such_setting"]


def test_lr_schedules_and_width_rule():
    base = settings.train_defaults()
    assert settings.effective_lr({**base, "lr": 0.01, "lr_width_rule": "inverse", "lr_base_width": 64}, 128) == 0.005
    assert settings.effective_lr({**base, "lr": 0.01, "lr_width_rule": "inverse", "lr_base_width": 64}, 32) == 0.01
    cosine = {**base, "lr_schedule": "cosine", "warmup_steps": 10, "min_lr_ratio": 0.1}
    lrs = [settings.schedule(cosine, 1.0, 100, s)[0] for s in range(100)]
    assert lrs[0] == pytest.approx(0.1) and lrs[9] == pytest.approx(1.0) and lrs[-1] == pytest.approx(0.1)
    assert all(a >= b for a, b in zip(lrs[9:], lrs[10:]))
    # onecycle equals torch's OneCycleLR with its defaults, momentum (beta1) included
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.AdamW([p], lr=0.002)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.002, total_steps=50)
    onecycle = {**base, "lr_schedule": "onecycle"}
    for s in range(50):
        lr, beta1 = settings.schedule(onecycle, 0.002, 50, s)
        assert lr == pytest.approx(opt.param_groups[0]["lr"], rel=1e-9)
        assert beta1 == pytest.approx(opt.param_groups[0]["betas"][0], rel=1e-9)
        opt.step()
        sched.step()
    assert settings.eval_steps(1000, 4) == [1, 10, 100, 1000]
    assert settings.eval_steps(1, 5) == [1]


def test_hand_written_adamw_matches_torch():
    from scalinglab import models

    torch.manual_seed(0)
    arch = models.resolve("gpt", {"n_layer": 1, "d_model": 16, "context": 8}, {"vocab_size": 11})
    mine, ref = models.build("gpt", arch), None
    ref = copy.deepcopy(mine)

    def groups(model):
        return [{"params": [p for p in model.parameters() if p.dim() >= 2], "weight_decay": 0.1},
                {"params": [p for p in model.parameters() if p.dim() < 2], "weight_decay": 0.0}]

    a = optim.AdamW(groups(mine), lr=1e-2, betas=(0.9, 0.95), clip_order=list(mine.parameters()))
    b = torch.optim.AdamW(groups(ref), lr=1e-2, betas=(0.9, 0.95), foreach=True)
    for i in range(10):
        x = torch.randint(0, 11, (4, 8))
        for model, opt in ((mine, a), (ref, b)):
            opt.zero_grad()
            logits = model(x)
            torch.nn.functional.cross_entropy(logits.view(-1, 11), x.view(-1)).backward()
            if opt is a:
                opt.clip_grad_norm(0.5)
            else:
                torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
            for j, g in enumerate(opt.param_groups):  # on odd steps the groups' learning rates differ
                g["lr"], g["betas"] = 1e-2 * (i + 1) / 10 * (0.5 if j and i % 2 else 1), (0.85 + 0.01 * i, 0.95)
            opt.step()
    assert all(torch.equal(p, q) for p, q in zip(mine.parameters(), ref.parameters()))


def test_losses_read_in_batches_give_the_same_run_as_reading_every_step(data, tmp_path, monkeypatch):
    """The loop reads its losses from the device every SYNC_EVERY steps (fewer host syncs on a GPU); the metrics,
    a diverged run's step included, are those of reading them after every step."""
    for name, spec, folder in (("ok", gpt_spec(steps=70), "shakespeare_char"),
                               ("diverged", gpt_spec(lr=1e4, warmup_steps=0, grad_clip=0, weight_decay=0.0),
                                "shakespeare_char")):
        batched = builtin.run_training(copy.deepcopy(spec), data / folder, tmp_path / name / "batched")
        monkeypatch.setattr(builtin, "SYNC_EVERY", 1)
        each = builtin.run_training(copy.deepcopy(spec), data / folder, tmp_path / name / "each")
        monkeypatch.undo()
        assert deterministic_part(batched) == deterministic_part(each)
    assert batched["metrics"]["status"] == "diverged"


def test_parameters_without_gradients_are_skipped_like_torch_does():
    """A parameter the loss does not reach keeps its value and moments (the update goes tensor by tensor then)."""
    class WithUnused(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.used, self.unused = torch.nn.Linear(4, 3), torch.nn.Linear(2, 2)

        def forward(self, x):
            return self.used(x)

    def build():
        torch.manual_seed(0)
        return WithUnused()

    mine, ref = build(), build()
    a = optim.make_optimizer(mine, 1e-2, (0.9, 0.95), 0.1)
    b = torch.optim.AdamW(optim.param_groups(ref, 0.1), lr=1e-2, betas=(0.9, 0.95), foreach=True)
    before = mine.unused.weight.detach().clone()
    for _ in range(5):
        x = torch.randn(16, 4)
        for model, opt in ((mine, a), (ref, b)):
            opt.zero_grad()
            model(x).square().mean().backward()
            opt.step()
    assert all(torch.equal(p, q) for p, q in zip(mine.parameters(), ref.parameters()))
    assert torch.equal(mine.unused.weight, before)


def test_pipeline_path_imports_only_torch_and_numpy(data, tmp_path):
    code = (
        "import sys, json; from scalinglab.cli import main; "
        f"rc = main(['train', '--spec-json', {json.dumps(mlp_spec())!r}, '--data-dir', "
        f"{str(data / 'iris')!r}, '--out-dir', {str(tmp_path)!r}]); "
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & "
        "{'pandas', 'scipy', 'sklearn', 'matplotlib', 'snakemake', 'seaborn', 'mnist1d', "
        "'torch._dynamo', 'jinja2', 'yaml'}); "
        "dyn = 'torch._dynamo' in sys.modules; print(json.dumps([rc, heavy, dyn]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert out.returncode == 0, out.stderr
    rc, heavy, dynamo = json.loads(out.stdout.strip().splitlines()[-1])
    assert rc == 0 and heavy == [] and dynamo is False


def test_user_form_trains_one_cell_of_a_config(tmp_path, capsys):
    config = tmp_path / "study.yaml"
    config.write_text(
        "study: unit\ndevice: cpu\nsweeps:\n  - name: iris_mlp\n    dataset: iris\n    model: mlp\n"
        "    architecture: {depth: 1}\n    sizes: [{width: 8}, {width: 16}, {width: 32}]\n    budgets: [90]\n"
        "    train: {batch_size: 30, epochs: 2, eval_points: 2}\n"
    )
    results = tmp_path / "results"
    assert cli_main(["train", "--config", str(config), "--run", "iris_mlp/w8/90-samples/seed0",
                     "--results-dir", str(results)]) == 0
    run = json.loads((results / "unit" / "runs" / "iris_mlp/w8/90-samples/seed0" / "run.json").read_text())
    assert run["metrics"]["status"] == "ok" and run["spec"]["run_path"] == "iris_mlp/w8/90-samples/seed0"
    assert (results / "data" / "iris" / run["spec"]["dataset_id"] / "meta.json").exists()
