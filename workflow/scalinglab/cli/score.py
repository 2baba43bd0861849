"""`scalinglab score`: each target's prediction against the run that trained after it (or the held-out rows of
external data)."""

from __future__ import annotations

import json
import sys

HELP = "score target predictions against their runs: results/STUDY/targets.parquet and scorecard.json"


def add_arguments(parser) -> None:
    parser.add_argument("--predictions", nargs="+", required=True, help="prediction files (predict-target)")
    parser.add_argument("--runs", nargs="*", default=[], help="the target runs' run.json files")
    parser.add_argument("--config-json", help="external data: the study's external and targets blocks as JSON; the "
                        "rows each target matches are its truth")
    parser.add_argument("--table", required=True, help="targets.parquet to write: one row per target run")
    parser.add_argument("--scorecard", required=True, help="scorecard.json to write: one entry per target")


def truths(args):
    """Metrics rows of the target runs: from their run.json files, or the rows external data holds out."""
    import pandas as pd

    from ..aggregate import metrics_row, read_run

    frames = []
    for path in args.runs:
        record = read_run(path)
        frames.append(pd.DataFrame([{**metrics_row(record), "started_at": record.get("started_at")}]))
    if args.config_json:
        from ..external import ladder_and_targets

        config = json.loads(args.config_json)
        for block in config.get("external") or []:
            frames += list(ladder_and_targets(config, block)[1].values())
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["target"])


def run(args) -> int:
    from ..aggregate import write_parquet
    from ..atomic import write_json
    from ..fitting.targets import score

    predictions = []
    for path in args.predictions:
        with open(path) as handle:
            predictions.append(json.load(handle))
    table, scorecard = score(predictions, truths(args))
    write_parquet(table, args.table)
    write_json(args.scorecard, scorecard)
    for name, entry in scorecard["targets"].items():
        error = entry["relative_error"]
        print(f"{name}: predicted {entry['prediction']:.6g}, truth "
              f"{'none (no run finished)' if entry['truth'] is None else format(entry['truth'], '.6g')}"
              + ("" if error is None else f", relative error {100 * error:+.2f}%, inside the prediction interval: "
                 f"{entry['in_prediction_interval']}"), file=sys.stdout)
    return 0
