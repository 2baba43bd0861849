"""`scalinglab train`: one training run, from the pipeline (--spec-json) or by hand (--config --run).

The pipeline path imports only torch and numpy; the user form also loads the study config (snakemake's validator).
"""

from __future__ import annotations

import json
import os
import sys

from ..config.paths import dataset_dir

HELP = "train one run (pipeline: --spec-json; by hand: --config FILE --run RUN_ID_OR_PATH)"


def add_arguments(parser) -> None:
    parser.add_argument("--spec-json", help="the run spec as a JSON object (or @FILE to read it from a file)")
    parser.add_argument("--execution-json", help="how the run executes, merged into the spec: checkpoint_interval_s, "
                        "keep_checkpoints, on_failure (the workflow passes them apart: they are no part of a run)")
    parser.add_argument("--data-dir", help="prepared dataset directory (default: the cache folder "
                        "results/data/DATASET/DATASET_ID)")
    parser.add_argument("--out-dir", help="run directory (--config form: default results/STUDY/runs/RUN_PATH)")
    parser.add_argument("--config", help="study YAML; with --run, trains one of its runs outside snakemake")
    parser.add_argument("--run", help="run_id or run_path of a run in --config")
    parser.add_argument("--results-dir", default="results", help="the results folder, for the default paths")
    parser.add_argument("--attempt", type=int, default=1, help="this job's attempt number (snakemake's attempt)")
    parser.add_argument("--max-attempts", type=int, default=1, help="attempts the workflow allows (retries + 1)")
    parser.add_argument(
        "--on-failure", choices=["stop", "record"], help="override the spec's on_failure for the last attempt"
    )
    parser.add_argument("--log", help="this job's log file, named in error messages")
    parser.add_argument("--prediction", help="a target run: its prediction file (written before it trains); the run "
                        "trains the grid value the prediction chose and records it")


def _pipeline_spec(args) -> tuple[dict, str, str]:
    text = args.spec_json
    if text.startswith("@"):
        with open(text[1:]) as handle:
            text = handle.read()
    spec = json.loads(text)
    if not isinstance(spec, dict):
        raise ValueError("--spec-json must be a JSON object")
    from ..config.identity import with_neutral_values

    spec = with_neutral_values(spec)  # the workflow passes the identity, which leaves neutral values out
    spec.update(json.loads(args.execution_json) if args.execution_json else {})
    if not args.out_dir:
        raise ValueError("--spec-json needs --out-dir (a spec does not know its study)")
    data_dir = args.data_dir or (dataset_dir(spec["dataset"], spec["dataset_id"], args.results_dir)
                                 if spec.get("dataset") and spec.get("dataset_id") else None)
    return spec, data_dir, args.out_dir


def _user_spec(args) -> tuple[dict, str, str]:
    from ..config import ConfigError, StudyPaths, load_study
    from ..datasets import cached_meta, prepare

    config, specs, _ = load_study(args.config)
    matches = [s for s in specs if args.run in (s["run_id"], s["run_path"])]
    if not matches:
        raise ConfigError(f"no run {args.run!r} in {args.config}; runs: {', '.join(s['run_path'] for s in specs)}")
    spec = matches[0]
    data_dir = None  # a command sweep may bring its own data
    if spec.get("dataset"):
        data_dir = args.data_dir or dataset_dir(spec["dataset"], spec["dataset_id"], args.results_dir)
        if cached_meta(spec["dataset"], spec["dataset_params"], data_dir) is None:
            print(f"preparing {spec['dataset']} in {data_dir}", file=sys.stderr)
            prepare(spec["dataset"], spec["dataset_params"], data_dir)
    out_dir = args.out_dir or StudyPaths(config["study"], args.results_dir).run_dir(spec["run_path"])
    return spec, data_dir, out_dir


def run(args) -> int:
    # one thread per CPU job; must be set before torch is imported to reach OpenMP
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("MKL_NUM_THREADS", "1")
    if args.spec_json:
        spec, data_dir, out_dir = _pipeline_spec(args)
    elif args.config and args.run:
        spec, data_dir, out_dir = _user_spec(args)
    else:
        print("scalinglab train: give --spec-json, or --config FILE with --run RUN_ID_OR_PATH", file=sys.stderr)
        return 2

    if args.prediction:
        from ..config.targets import apply_prediction, wait_until_after

        with open(args.prediction) as handle:
            prediction = json.load(handle)
        spec = apply_prediction(spec, prediction)
        wait_until_after(prediction["predicted_at"])  # started_at > predicted_at, to the second
    from ..trainers import failure_message, train_with_policy

    label = spec.get("run_path") or spec.get("run_id") or out_dir
    attempts = f"attempt {args.attempt}/{args.max_attempts}"
    try:
        result = train_with_policy(spec, data_dir, out_dir, attempt=args.attempt, max_attempts=args.max_attempts,
                                   on_failure=args.on_failure, log=args.log)
    except Exception as error:
        print(f"scalinglab train: error on {attempts}: {failure_message(spec, error, args.log)}", file=sys.stderr)
        if os.environ.get("SCALINGLAB_TRACEBACK"):
            raise
        return 1
    m = result["metrics"]
    if m["status"] == "failed":
        print(f"scalinglab train: failed on {attempts}: {m['error']}; recorded status=failed in {out_dir}/run.json",
              file=sys.stderr)
        return 0
    unit = "tokens" if "tokens_seen" in m else "samples"
    line = f"{label}: {m['status']} {unit} {m.get(unit + '_seen')} final_val_loss {m['final_val_loss']}"
    if "steps" in m:
        line += f" steps {m['steps']}"
    line += f" wall {m['wall_s']:.1f}s"
    if m["status"] == "diverged":
        line += f" (diverged at step {m['diverged_step']}: {m['divergence_rule']})"
    print(line)
    return 0
