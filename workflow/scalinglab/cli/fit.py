"""`scalinglab fit DATA`: fit a scaling law to a table; several laws are ranked by backtest, `isoflop` is approach 2.
numpy/scipy/pandas are imported only inside run()."""

from __future__ import annotations

import argparse
import json
import sys

HELP = "fit a scaling law to a CSV/parquet table (multi-start summed Huber, bootstrap intervals)"


def holdout_list(text: str) -> list[int]:
    """'1,2,3' -> [1, 2, 3] (--backtest-holdouts)."""
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected whole numbers separated by commas, got {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected whole numbers >= 1, got {text!r}")
    return values


def add_arguments(parser) -> None:
    # The settings a study's `fit` block also has take their defaults and help from the schema (the one source).
    from ..config.schema import defaults, description

    study = defaults("fit")
    parser.add_argument("data", help="table to fit: .csv, .tsv, .json or .parquet")
    parser.add_argument(
        "--law",
        default=",".join(study["laws"]),
        help="law name (see `scalinglab laws`); several comma-separated (a,b,c) or 'all': rank them by backtest "
        "and write a comparison; 'isoflop': approach 2 (IsoFLOP parabolas, --x size, --y loss, --isoflop-compute)"
        " (default %(default)s)",
    )
    parser.add_argument("--x", default=study["x"], help="x column(s), comma-separated in the law's input order "
                        "(default %(default)s)")
    parser.add_argument("--y", default=study["y"], help="y column (must be > 0; fitted on log y) (default %(default)s)")
    parser.add_argument("--out", help="write the fit JSON here (default: print it)")
    parser.add_argument("--bootstrap", type=int, default=study["bootstrap"],
                        help=f"{description('fit', 'bootstrap')} (default %(default)s)")
    parser.add_argument(
        "--bootstrap-unit",
        default=study["bootstrap_unit"],
        help="what one bootstrap draw resamples: 'run' resamples rows (one per run); any other value names a column "
        "whose groups of rows are resampled together, e.g. seed (default %(default)s)",
    )
    parser.add_argument("--seed", type=int, default=study["seed"],
                        help=f"{description('fit', 'seed')} (default %(default)s)")
    parser.add_argument("--huber-delta", type=float, default=study["huber_delta"],
                        help=f"{description('fit', 'huber_delta')} (default %(default)s)")
    parser.add_argument("--ci", type=float, default=study["ci"],
                        help=f"{description('fit', 'ci')} (default %(default)s)")
    parser.add_argument(
        "--backtest-holdouts", type=holdout_list, default=study["backtest_holdouts"], metavar="K[,K...]",
        help=f"{description('fit', 'backtest_holdouts')} (default {','.join(map(str, study['backtest_holdouts']))})",
    )
    parser.add_argument("--drop-top-y", type=int, default=0, metavar="K", help="drop the K rows with largest y")
    parser.add_argument(
        "--where",
        action="append",
        default=[],
        metavar="COL=VALUE",
        help="keep rows where COL=VALUE (repeatable; COL!=VALUE too)",
    )
    parser.add_argument(
        "--derive",
        action="append",
        default=[],
        metavar="NAME=EXPR",
        help="add a column, e.g. D=C/(6*N); + - * / ** log exp sqrt (repeatable, applied before --where)",
    )
    parser.add_argument(
        "--compute",
        action="append",
        type=float,
        default=[],
        metavar="C",
        help="chinchilla: allocation at compute C",
    )
    parser.add_argument(
        "--predict-at", action="append", default=[], metavar="N=1e9[,D=2e10]",
        help="derived prediction with interval"
    )
    parser.add_argument("--max-iter", type=int, default=500, help="L-BFGS iterations per start")
    parser.add_argument(
        "--interval", choices=("percentile", "bca"), default="percentile",
        help="bootstrap interval method: percentile, or bca "
        "(bias-corrected and accelerated; n extra jackknife refits)",
    )
    parser.add_argument(
        "--isoflop-compute", default="C", metavar="COL", help="--law isoflop: the compute budget column (default C)"
    )


def fmt(v):
    return "nan" if v is None else f"{v:.6g}"


def bound_note(d: dict, name: str) -> str:
    """'  AT THE UPPER BOUND 50: ...' for a parameter the fit left on a bound of the law's box, else ''."""
    hit = (d.get("at_bound") or {}).get(name)
    if not hit:
        return ""
    return (f"  AT THE {hit['side'].upper()} BOUND {fmt(hit['bound'])}: the data do not pin it; "
            "its interval is not a real interval")


def _write(d, out):
    if out:
        from .. import atomic

        atomic.write_json(out, d)
    else:
        json.dump(d, sys.stdout, indent=1)
        print()


def _compare(args, laws) -> int:
    from ..fitting import table as tbl
    from ..fitting.compare import rank_laws
    from ..fitting.persist import clean as _clean
    from ..fitting.prepare import listify as _listify

    frame = tbl.as_frame(args.data)
    frame = tbl.apply_derive(frame, _listify(args.derive))
    frame = tbl.apply_where(frame, _listify(args.where))
    holdout = max(args.backtest_holdouts)
    rows = rank_laws(
        frame, args.x, args.y, laws=laws, holdout=holdout, huber_delta=args.huber_delta,
        drop_top_y=args.drop_top_y, max_iter=args.max_iter,
    )
    d = _clean(
        {
            "comparison": "backtest",
            "x": args.x,
            "y": args.y,
            "holdout": holdout,
            "ranking": rows,
            "settings": {
                "laws": laws,
                "holdout": holdout,
                "huber_delta": args.huber_delta,
                "drop_top_y": args.drop_top_y,
                "where": args.where,
                "derive": args.derive,
                "data": str(args.data),
            },
        }
    )
    _write(d, args.out)
    if args.out:
        print(f"laws ranked by backtest rms log error on the {holdout} largest {args.x.split(',')[0]} value(s):")
        for row in d["ranking"]:
            err = row.get("rms_log_error")
            note = f"  ({row['error']})" if row.get("error") else ""
            print(f"  {row['rank']}. {row['law']:<18} {fmt(err)}{note}")
        print(f"  wrote {args.out}")
    return 0


def _isoflop(args) -> int:
    from ..fitting import table as tbl
    from ..fitting.allocation import isoflop
    from ..fitting.persist import clean as _clean
    from ..fitting.prepare import listify as _listify

    frame = tbl.as_frame(args.data)
    frame = tbl.apply_derive(frame, _listify(args.derive))
    frame = tbl.apply_where(frame, _listify(args.where))
    if "status" in frame.columns:
        frame = frame[frame["status"].astype(str) == "ok"]
    out = isoflop(frame, compute=args.isoflop_compute, size=args.x, loss=args.y, bootstrap=args.bootstrap,
                  seed=args.seed, ci=args.ci)
    d = _clean({"approach": 2, "method": "isoflop", "compute": args.isoflop_compute, "size": args.x, "y": args.y,
                **out, "ci": args.ci,
                "settings": {"bootstrap": args.bootstrap, "seed": args.seed, "ci": args.ci, "where": args.where,
                             "derive": args.derive, "data": str(args.data)}})
    _write(d, args.out)
    if args.out:
        lo_hi = d["interval"].get("a", [None, None])
        print(f"IsoFLOP (approach 2): N_opt ~ C^a, a = {fmt(d['a'])} [{fmt(lo_hi[0])}, {fmt(lo_hi[1])}] "
              f"from {len(d['budgets'])} budgets; wrote {args.out}")
    return 0


def run(args) -> int:
    from ..fitting import fit

    if args.law == "isoflop":
        return _isoflop(args)
    if "," in args.law or args.law == "all":
        laws = None if args.law == "all" else [name.strip() for name in args.law.split(",") if name.strip()]
        return _compare(args, laws)

    result = fit(
        args.data,
        args.law,
        args.x,
        args.y,
        bootstrap=args.bootstrap,
        bootstrap_group=None if args.bootstrap_unit == "run" else args.bootstrap_unit,
        seed=args.seed,
        huber_delta=args.huber_delta,
        ci=args.ci,
        # The fitting API backtests one holdout k today: the largest of the list.
        holdout=max(args.backtest_holdouts),
        drop_top_y=args.drop_top_y,
        where=args.where,
        derive=args.derive,
        compute=args.compute,
        predict_at=args.predict_at,
        max_iter=args.max_iter,
        interval=args.interval,
    )
    result.settings["data"] = str(args.data)
    d = result.to_dict()
    if args.out:
        result.save(args.out)
    else:
        json.dump(d, sys.stdout, indent=1)
        print()
        for name in d["at_bound"]:
            print(f"scalinglab fit: warning: {name}{bound_note(d, name)}", file=sys.stderr)
        return 0
    diag = d["diagnostics"]
    print(f"{d['law']}: {d['formula']}  ({d['n_points']} points, {d['n_excluded']} excluded)")
    for name in d["parameters"]:
        lo, hi = d["intervals"][name]
        print(f"  {name:>8} = {fmt(d['params'][name])}  [{fmt(lo)}, {fmt(hi)}]{bound_note(d, name)}")
    for name, item in d["derived"].items():
        lo, hi = item["interval"]
        print(f"  {name:>8} = {fmt(item['value'])}  [{fmt(lo)}, {fmt(hi)}]")
    print(
        f"  objective {d['objective']:.10g}; rms log residual {d['rms_log_residual']:.4g}; "
        f"{diag['n_starts_at_optimum']}/{diag['n_starts']} starts at the optimum; converged {diag['converged']}"
    )
    if d["backtest"].get("rms_log_error") is not None:
        print(f"  backtest (holdout {d['backtest']['holdout']}): rms log error {d['backtest']['rms_log_error']:.4g}")
    print(f"  wrote {args.out}")
    return 0
