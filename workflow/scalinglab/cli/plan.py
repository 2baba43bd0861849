"""`scalinglab plan CONFIG --target NAME --flops F`: which runs to add to a study to narrow a target's prediction
most per FLOP, from the current fit's bootstrap draws (`scalinglab.fitting.plan`)."""

from __future__ import annotations

import sys

HELP = "rank runs to add to a study by how much each narrows a target's prediction per FLOP; print a YAML snippet"


def add_arguments(parser) -> None:
    parser.add_argument("config", help="the study YAML (its sweep must have been fitted: results/STUDY/fits/...)")
    parser.add_argument("--target", required=True, help="the target (a name under `targets:`) whose prediction to "
                        "narrow")
    parser.add_argument("--flops", required=True, type=float, help="FLOPs to spend on new runs (flops_6nd), e.g. 1e15")
    parser.add_argument("--fit", help="the ladder's fit JSON (default results/STUDY/fits/SWEEP/LAW.json)")
    parser.add_argument("--top", type=int, default=10, help="candidates listed in the ranking (default %(default)s)")
    parser.add_argument("--json", metavar="OUT", help="also write the ranking and the choice as JSON")


def run(args) -> int:
    import math
    from pathlib import Path

    from ..config import ConfigError, StudyPaths, fit_settings, load_config
    from ..fitting import FitInputError, load_fit
    from ..fitting.plan import plan, study_candidates, study_target, yaml_snippet

    if not (args.flops > 0 and math.isfinite(args.flops)):
        raise ConfigError(f"--flops {args.flops:g}: allowed: a finite number of FLOPs > 0, e.g. 1e15")
    if args.top < 1:
        raise ConfigError(f"--top {args.top}: allowed: a whole number >= 1 (candidates listed in the ranking)")
    config = load_config(args.config)
    target, sweep, law = study_target(config, args.target)
    path = args.fit or StudyPaths(config["study"]).fit(sweep["name"], law)
    if not Path(path).is_file():
        raise ConfigError(f"no fit of sweep {sweep['name']!r} with law {law!r} at {path}: run the study first "
                          f"(snakemake --configfile {args.config}), or give --fit")
    try:
        result = load_fit(path)
        x = [column.strip() for column in str(fit_settings(config, sweep["name"])["x"]).split(",")]
        if result.law.name != law or list(result.x) != x:
            raise ConfigError(f"--fit {path}: a fit of law {result.law.name!r} on x = {','.join(result.x)}; target "
                              f"{args.target!r} is predicted by law {law!r} on x = {','.join(x)} (sweep "
                              f"{sweep['name']!r}): give that fit, results/{config['study']}/fits/{sweep['name']}/"
                              f"{law}.json")
        target_x, candidates = study_candidates(config, target, sweep, result.x)
        planned = plan(result, target_x, candidates, args.flops, top=args.top)
    except FitInputError as error:
        print(f"scalinglab plan: error: {path}: {error}", file=sys.stderr)
        return 2
    print(f"target {args.target!r} at {', '.join(f'{k}={v:.4g}' for k, v in planned['target'].items())}: "
          f"{result.y} {planned['value']:.4g}, log-scale sd of the mean {planned['sd_before']:.3g} "
          f"({planned['n_draws']} bootstrap draws of {law})")
    print(f"{'rank':>4}  {'candidate':<52} {'runs':>5} {'FLOPs':>9} {'sd after':>9} {'narrowing/PFLOP':>16}")
    for i, row in enumerate(planned["ranking"], 1):
        runs = next(c["n_runs"] for c in candidates if c["label"] == row["label"])
        print(f"{i:>4}  {row['label']:<52} {runs:>5} {row['flops']:>9.3g} {row['sd_after']:>9.3g} "
              f"{row['narrowing_per_pflop']:>16.3g}")
    print()
    print(yaml_snippet(sweep["name"], planned, result.ci), end="")
    if args.json:
        from ..atomic import write_json
        from ..fitting.persist import clean

        write_json(args.json, clean(planned))
    return 0
