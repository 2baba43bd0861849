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


def json_argument(text: str, option: str, kind: type, example: str):
    """The JSON of a command-line option, of the JSON type `kind` (dict or list); ConfigError naming the option."""
    from ..config import ConfigError

    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(f"{option} {text!r}: not JSON ({error.msg}); give a JSON {kind_name(kind)}, e.g. "
                          f"{example}") from None
    if not isinstance(value, kind):
        raise ConfigError(f"{option} {text!r}: a JSON {type(value).__name__}, not a JSON {kind_name(kind)}; e.g. "
                          f"{example}")
    return value


def kind_name(kind: type) -> str:
    return {dict: "object", list: "list"}[kind]


def checked_arguments(args) -> tuple[dict, list, dict]:
    """(x, run_ids, grid) of the command line, each the JSON it must be: x {column: finite number}, run ids a list of
    strings, grid {key: [values]}."""
    import math

    from ..config import ConfigError

    x = json_argument(args.x_json, "--x-json", dict, '{"n_params": 2.1e6}')
    if not x:
        raise ConfigError("--x-json {}: the target's x is empty; give a value for every x column of the fit, e.g. "
                          '{"n_params": 2.1e6}')
    for column, value in x.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ConfigError(f"--x-json: {column} is {json.dumps(value)}, not a finite number; e.g. "
                              f'{{"{column}": 2.1e6}}')
    run_ids = json_argument(args.run_ids_json, "--run-ids-json", list, '["4a19ccdb5b0e"]')
    if not all(isinstance(run_id, str) for run_id in run_ids):
        raise ConfigError(f"--run-ids-json {args.run_ids_json!r}: a list of run ids (strings)")
    grid = json_argument(args.grid_json, "--grid-json", dict, '{"lr": [0.005, 0.01, 0.02]}')
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise ConfigError(f"--grid-json: grid key {key!r} is {json.dumps(values)}; each key of the sweep's grid "
                              'maps to the list of its values, e.g. {"lr": [0.005, 0.01, 0.02]}')
    return x, run_ids, grid


def read_runs(path: str, option: str):
    """A parquet file of runs (metrics.parquet, curves.parquet); ConfigError naming the option and the file."""
    from pathlib import Path

    import pandas as pd

    from ..config import ConfigError

    if not Path(path).is_file():
        raise ConfigError(f"{option} {path}: no such file (the study's results/STUDY/{Path(option[2:]).name}.parquet, "
                          "written by `scalinglab aggregate`)")
    try:
        return pd.read_parquet(path)
    except Exception as error:  # pyarrow raises several types for a file that is not parquet
        raise ConfigError(f"{option} {path}: not a parquet file of runs ({type(error).__name__}: "
                          f"{str(error).splitlines()[0] if str(error) else ''})") from None


def run(args) -> int:
    from pathlib import Path

    from ..atomic import write_json
    from ..config import ConfigError
    from ..fitting.targets import predict_target

    x, run_ids, grid = checked_arguments(args)
    if not Path(args.fit).is_file():
        raise ConfigError(f"--fit {args.fit}: no such file (the ladder's fit, results/STUDY/fits/SWEEP/LAW.json)")
    ladder = read_runs(args.metrics, "--metrics")
    if "sweep" in ladder and args.sweep not in set(ladder["sweep"]):
        sweeps = sorted(map(str, set(ladder["sweep"])))
        from ..config.validate import did_you_mean

        raise ConfigError(f"--sweep {args.sweep!r}: {args.metrics} holds no run of it{did_you_mean(args.sweep, sweeps)}"
                          f"; its sweeps: {', '.join(sweeps) or 'none'}")
    from ..fitting.envelope import PREFIX

    missing = [f"{PREFIX}{key}" for key in grid if f"{PREFIX}{key}" not in ladder]
    if missing:
        raise ConfigError(f"--grid-json: {args.metrics} has no column {missing[0]!r}: sweep {args.sweep!r}'s runs "
                          "were not trained over that grid key")
    prediction = predict_target(args.fit, ladder, target=args.target, sweep=args.sweep, x=x, run_ids=run_ids,
                                grid=grid, curves=read_runs(args.curves, "--curves") if args.curves else None)
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
