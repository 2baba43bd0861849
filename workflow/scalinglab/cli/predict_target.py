"""`scalinglab predict-target`: a target's prediction from its sweep's ladder fit, written before the target trains."""

from __future__ import annotations

import json

HELP = "predict a target run from its sweep's ladder fit (results/STUDY/predictions/TARGET.json), before it trains"


def add_arguments(parser) -> None:
    parser.add_argument("--target", required=True, help="the target's name")
    parser.add_argument("--sweep", required=True, help="the sweep (or external entry) whose ladder predicts it")
    parser.add_argument("--fit", required=True, help="the ladder's fit JSON, e.g. results/STUDY/fits/SWEEP/LAW.json")
    parser.add_argument("--metrics", required=True, help="the ladder's runs, results/STUDY/metrics.parquet")
    parser.add_argument("--curves", help="the ladder's learning curves, results/STUDY/curves.parquet: their "
                        "checkpoints join the final runs in the loss-to-accuracy link of the two-step accuracy")
    parser.add_argument("--x-json", required=True, help='the target\'s x as a JSON object, e.g. {"n_params": 2.1e6}')
    parser.add_argument("--run-ids-json", default="[]", help="the target runs' run ids, a JSON list")
    parser.add_argument("--grid-json", default="{}", help="the sweep's grid {key: [values]}: the prediction chooses "
                        "the value that won at the largest ladder size, and the target trains it")
    parser.add_argument("--out", required=True, help="the prediction file to write")


def run(args) -> int:
    import pandas as pd

    from ..atomic import write_json
    from ..fitting.targets import predict_target

    prediction = predict_target(args.fit, pd.read_parquet(args.metrics), target=args.target, sweep=args.sweep,
                                x=json.loads(args.x_json), run_ids=json.loads(args.run_ids_json),
                                grid=json.loads(args.grid_json),
                                curves=pd.read_parquet(args.curves) if args.curves else None)
    write_json(args.out, prediction)
    interval = prediction["prediction_interval"]
    grid = f", trains grid value {prediction['grid_choice']}" if prediction["grid_choice"] else ""
    print(f"{args.target}: {prediction['y']} predicted {prediction['value']:.6g}, {100 * prediction['ci']:g}% "
          f"prediction interval {interval} from {prediction['n_ladder_runs']} ladder runs "
          f"({prediction['predicted_at']}){grid}")
    accuracy = prediction["accuracy"]
    if accuracy:
        print(f"  two-step {accuracy['y']}: {accuracy['value']:.4g}, prediction interval "
              f"{accuracy['prediction_interval']} (sigmoid link on {accuracy['link']['n_points']} ladder points)")
    return 0
