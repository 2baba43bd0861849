"""`scalinglab fit DATA`: fit a scaling law to a table; several laws are ranked by their backtest, `isoflop` is
approach 2. pandas and scipy are imported only inside run()."""

from __future__ import annotations

import argparse
import json
import os
import sys

# One BLAS thread unless the user chose otherwise (set before numpy loads): a fit's matrix products are many and small,
# and OpenBLAS's second thread only spins on them; on a busy 2-core machine it cost 3.6 s of CPU against 0.76 s.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

HELP = "fit a scaling law to a CSV/parquet table (multi-start summed Huber, bootstrap intervals)"


def _number(text: str, kind, ok, what: str):
    """argparse type: `text` parsed as `kind` (int or float) and checked by `ok`, else an error saying `what`."""
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a {'whole number' if kind is int else 'number'}") from None
    if not ok(value):
        raise argparse.ArgumentTypeError(f"{text} {what}")
    return value


def count(text: str) -> int:
    return _number(text, int, lambda v: v >= 0, "is negative; give a count >= 0 (0: none)")


def at_least_one(text: str) -> int:
    return _number(text, int, lambda v: v >= 1, "is below 1; give a count of processes >= 1 (1: this one only)")


def level(text: str) -> float:
    return _number(text, float, lambda v: 0 < v < 1, "is not between 0 and 1 (exclusive), e.g. 0.95")


def positive(text: str) -> float:
    return _number(text, float, lambda v: v > 0, "is not > 0")


def holdouts(text: str) -> list[int]:
    """argparse type: '1,2,3' -> [1, 2, 3], each >= 1; '0' or 'none' -> [] (no backtest)."""
    if text.strip().lower() in ("0", "none", ""):
        return []
    try:
        values = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected comma-separated counts, e.g. 1,2,3") from None
    if any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"{text!r}: each count of largest sizes to hold out must be >= 1")
    return values


def add_arguments(parser) -> None:
    # The settings a study's `fit` block also has take their defaults and help from the schema (the one source).
    from ..config.schema import defaults, description
    from ..config.study import default_y
    from ..fitting import DEFAULTS  # the library's own knobs, which a study's fit block does not have

    study = defaults("fit")
    parser.add_argument("data", help="table to fit: .csv, .tsv, .json or .parquet")
    parser.add_argument(
        "--law",
        default=",".join(study["laws"]),
        help="law name (see `scalinglab laws`) or package.module:NAME; several comma-separated (a,b,c) or 'all': rank "
        "them by backtest and write a comparison; 'isoflop': approach 2 (IsoFLOP parabolas, --x size, --y loss, "
        "--isoflop-compute) (default %(default)s)",
    )
    parser.add_argument("--x", default=study["x"], help="x column(s), comma-separated in the law's input order "
                        "(default %(default)s)")
    parser.add_argument("--y", default=default_y(None),
                        help="y column (must be > 0; fitted on log y) (default %(default)s)")
    parser.add_argument("--out", help="write the fit JSON here (default: print it)")
    parser.add_argument("--bootstrap", type=count, default=study["bootstrap"],
                        help=f"{description('fit', 'bootstrap')} (default %(default)s)")
    parser.add_argument(
        "--bootstrap-unit", default=study["bootstrap_unit"], metavar="run|COLUMN",
        help="what one bootstrap draw resamples: 'run' resamples rows (one per run); any other value names a column "
        "whose groups of rows are resampled together, e.g. seed (default %(default)s)",
    )
    parser.add_argument("--seed", type=count, default=study["seed"],
                        help=f"{description('fit', 'seed')} (default %(default)s)")
    parser.add_argument("--huber-delta", type=positive, default=study["huber_delta"],
                        help=f"{description('fit', 'huber_delta')} (default %(default)s)")
    parser.add_argument("--ci", type=level, default=study["ci"],
                        help=f"{description('fit', 'ci')} (default %(default)s)")
    parser.add_argument(
        "--backtest-holdouts", type=holdouts, default=study["backtest_holdouts"], metavar="K[,K...]",
        help=f"{description('fit', 'backtest_holdouts')}; 0: no backtest "
        f"(default {','.join(map(str, study['backtest_holdouts']))})",
    )
    parser.add_argument("--drop-top-y", type=count, default=0, metavar="K", help="drop the K rows with largest y")
    parser.add_argument("--where", action="append", default=[], metavar="COL=VALUE",
                        help="keep rows where COL=VALUE (repeatable; COL!=VALUE too)")
    parser.add_argument("--derive", action="append", default=[], metavar="NAME=EXPR",
                        help="add a column, e.g. D=C/(6*N), or D=`Training FLOP`/(6*`Model Size`) for names with "
                        "spaces; + - * / ** log exp sqrt (repeatable, before --where)")
    parser.add_argument("--compute", action="append", type=positive, default=[], metavar="C",
                        help="two-input laws: compute-optimal allocation at compute C (repeatable)")
    parser.add_argument("--predict-at", action="append", default=[], metavar="N=1e9[,D=2e10]",
                        help="derived prediction with interval (repeatable)")
    parser.add_argument("--max-iter", type=count, default=DEFAULTS["max_iter"],
                        help="Newton iterations per start (the best unconverged ones then run up to 1,000 more)")
    parser.add_argument("--interval", choices=("percentile", "bca"), default=DEFAULTS["interval"],
                        help="bootstrap interval method: percentile, or bca (bias-corrected and accelerated; "
                        "jackknife refits)")
    parser.add_argument(
        "--if-unfittable", choices=("fail", "record"), default="fail",
        help="when the usable runs cannot fit the law (all diverged or failed, fewer points or distinct sizes than "
        "parameters): 'fail' exits 2; 'record' writes a fit JSON with status 'unfittable', the reason and the "
        "excluded runs by reason, and exits 0, so the rest of a study goes on (default %(default)s)",
    )
    parser.add_argument(
        "--envelope", default=DEFAULTS["envelope"], metavar="auto|none|COL[,COL...]",
        help="hyperparameter grids: fit, per (size, budget) cell, only the runs of the grid value with the best mean y "
        "over seeds (the fit JSON's `envelope` records every cell's winner). 'auto': every grid_* column with "
        "several values; 'none': every run; or the grid columns to use, e.g. grid_lr (default %(default)s)",
    )
    parser.add_argument(
        "--workers", type=at_least_one, default=None, metavar="N",
        help="processes the fit may keep busy, this one included. One law: the backtest's refits run in the others "
        "while this one fits all the data, and the bootstrap's basin check is shared out; several (a,b or all): the "
        "laws are fitted side by side. Up to 100,000 rows; beyond, one after another, to bound memory. The result "
        "is the same for any N (default: the CPUs this process may use; the workflow passes its fit job's one "
        "thread, its fits running side by side as jobs)",
    )
    parser.add_argument("--isoflop-compute", default="C", metavar="COL",
                        help="--law isoflop: the compute budget column (default C)")


def fmt(v):
    return "nan" if v is None else f"{v:.6g}"


def pct(v):
    return "—" if v is None else f"{100 * v:.3g}%"


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


def _table(args):
    from ..fitting import table as tbl

    frame = tbl.as_table(args.data)
    frame = tbl.apply_derive(frame, args.derive)
    return tbl.apply_where(frame, args.where)


def _settings(args) -> dict:
    return {"bootstrap": args.bootstrap, "bootstrap_unit": args.bootstrap_unit, "seed": args.seed,
            "huber_delta": args.huber_delta, "ci": args.ci, "backtest_holdouts": args.backtest_holdouts,
            "drop_top_y": args.drop_top_y, "max_iter": args.max_iter, "envelope": args.envelope}


def _workers(args) -> int:
    """--workers, or by default the CPUs this process may use."""
    from ..fitting.workers import usable_cpus

    return args.workers or usable_cpus()


def _compare(args, laws) -> int:
    from ..fitting.compare import rank_laws
    from ..fitting.persist import clean

    settings = _settings(args)
    rows = rank_laws(_table(args), args.x, args.y, laws=laws, workers=_workers(args), **settings)
    d = clean({"comparison": "backtest", "x": args.x, "y": args.y, "backtest_holdouts": args.backtest_holdouts,
               "ranking": rows, "settings": {**settings, "laws": laws, "where": args.where, "derive": args.derive,
                                             "data": str(args.data)}})
    _write(d, args.out)
    if args.out:
        holds = ", ".join(map(str, args.backtest_holdouts))
        print(f"laws ranked by the mean RMS log error when the largest {holds} sizes are held out in turn "
              f"({100 * args.ci:g}% intervals; difference to the best is paired):")
        for row in d["ranking"]:
            note = f"  ({row['error']})" if row.get("error") else ""
            lo, hi = row.get("interval") or [None, None]
            dlo, dhi = row.get("difference_interval") or [None, None]
            diff = f"; vs best {pct(row.get('difference_to_best'))} [{pct(dlo)}, {pct(dhi)}]" if row["rank"] > 1 else ""
            print(f"  {row['rank']}. {row['law']:<18} {pct(row.get('rms_log_error'))} [{pct(lo)}, {pct(hi)}]"
                  f"{diff}{note}")
        print(f"  wrote {args.out}")
    return 0


def _isoflop(args) -> int:
    from ..fitting.allocation import isoflop
    from ..fitting.persist import clean

    frame = _table(args)
    if "status" in frame:
        frame = frame.take(frame.text("status") == "ok")
    out = isoflop(frame, compute=args.isoflop_compute, size=args.x, loss=args.y, bootstrap=args.bootstrap,
                  seed=args.seed, ci=args.ci)
    d = clean({"approach": 2, "method": "isoflop", **out, "ci": args.ci,
               "settings": {"bootstrap": args.bootstrap, "seed": args.seed, "ci": args.ci, "where": args.where,
                            "derive": args.derive, "data": str(args.data)}})
    _write(d, args.out)
    if args.out:
        lo, hi = d["interval"].get("a", [None, None])
        print(f"IsoFLOP (approach 2): N_opt ~ C^a, a = {fmt(d['a'])} [{fmt(lo)}, {fmt(hi)}] "
              f"from {len(d['budgets'])} budgets; wrote {args.out}")
    return 0


def run(args) -> int:
    from ..config import ConfigError

    if args.law == "isoflop":
        return _isoflop(args)
    if "isoflop" in [name.strip() for name in args.law.split(",")]:
        raise ConfigError(f"--law {args.law}: isoflop (approach 2: parabolas per compute budget) is not a law to rank "
                          "with others; run it on its own, --law isoflop")
    if args.compute and "," not in args.law and args.law != "all":
        from ..laws import get_law

        inputs = get_law(args.law).inputs
        if len(inputs) != 2:
            raise ConfigError(f"--compute: the compute-optimal allocation splits C between N and D: a two-input law "
                              f"(e.g. chinchilla); {args.law} takes {len(inputs)} input ({', '.join(inputs)})")
    if "," in args.law or args.law == "all":
        laws = None if args.law == "all" else [name.strip() for name in args.law.split(",") if name.strip()]
        return _compare(args, laws)
    from ..fitting.errors import UnfittableError

    try:
        result = fit_one_law(args)
    except UnfittableError as error:
        if args.if_unfittable == "fail":
            raise
        return _record_unfittable(args, error)
    result.settings["data"] = str(args.data)
    d = result.to_dict()
    if not args.out:
        json.dump(d, sys.stdout, indent=1)
        print()
        for name in d["at_bound"]:
            print(f"scalinglab fit: warning: {name}{bound_note(d, name)}", file=sys.stderr)
        return 0
    result.save(args.out)
    print_summary(d)
    print(f"  wrote {args.out}")
    return 0


def fit_one_law(args):
    """The fit of `scalinglab fit DATA --law LAW` (one law) as a FitResult: what bench/bench_fit.py times in process."""
    from ..fitting import fit

    return fit(args.data, args.law, args.x, args.y, workers=_workers(args), **_settings(args), where=args.where,
               derive=args.derive, compute=args.compute, predict_at=args.predict_at, interval=args.interval)


def _record_unfittable(args, error) -> int:
    from ..fitting.persist import unfittable_record
    from ..laws import get_law

    settings = {**_settings(args), "where": args.where, "derive": args.derive, "data": str(args.data)}
    d = unfittable_record(get_law(args.law), args.x, args.y, error, settings)
    _write(d, args.out)
    print(f"scalinglab fit: {args.law} is unfittable on these runs (recorded, exit 0): {error}", file=sys.stderr)
    return 0


def print_summary(d: dict) -> None:
    diag, bt, ic = d["diagnostics"], d["backtest"], d["information_criteria"]
    print(f"{d['law']}: {d['formula']}  ({d['n_points']} points, {d['n_excluded']} excluded)")
    for name in d["parameters"]:
        lo, hi = d["intervals"][name]
        print(f"  {name:>8} = {fmt(d['params'][name])}  [{fmt(lo)}, {fmt(hi)}]{bound_note(d, name)}")
    for name, item in d["derived"].items():
        lo, hi = item["interval"]
        print(f"  {name:>8} = {fmt(item['value'])}  [{fmt(lo)}, {fmt(hi)}]")
    print(f"  objective {d['objective']:.10g}; rms log residual {d['rms_log_residual']:.4g}; "
          f"{diag['n_starts_at_optimum']}/{diag['n_starts']} starts at the optimum; converged {diag['converged']}")
    if bt.get("rms_log_error") is not None:
        lo, hi = bt["interval"]
        scored = [o for o in bt["origins"] if "rms_log_error" in o]
        each = ", ".join(f"largest {o['holdout']}: {pct(o['rms_log_error'])}" for o in scored)
        print(f"  backtest along {bt['axis']}: mean RMS log error {pct(bt['rms_log_error'])} [{pct(lo)}, {pct(hi)}]"
              f" ({each})")
    elif bt.get("skipped"):
        print(f"  backtest: {bt['skipped']}")
    ident = d.get("identification") or {}
    if ident.get("hessian_condition") is not None:
        weak = ident["weakly_identified"]
        direction = ", ".join(f"{k} {v:+.2f}" for k, v in ident["weakest_direction"].items())
        print(f"  curvature condition number {ident['hessian_condition']:.3g}"
              + (f": WEAKLY IDENTIFIED (above {ident['threshold']:g}); the data barely constrain {direction}"
                 if weak else " (well identified)"))
    racing = diag.get("racing_check") or {}
    if racing.get("n_checked"):
        print(f"  racing check: {racing['n_beat_winner']} of {racing['n_checked']} pruned starts run to the end beat "
              "the best survivor" + (" (the better optimum is reported)" if racing["n_beat_winner"] else ""))
    basin = diag.get("bootstrap_basin_check") or {}
    if basin.get("n_checked"):
        print(f"  bootstrap basin check: {basin['n_better']} of {basin['n_checked']} resamples found a better optimum "
              "with the full search" + ("; all resamples refitted with it" if basin["refitted"] else ""))
    grid = d.get("envelope") or {}
    if grid.get("columns"):
        print(f"  grid envelope over {', '.join(grid['columns'])}: the best value of {len(grid['cells'])} (size, "
              f"budget) cells fitted ({grid['n_kept']} of {grid['n_rows']} runs)" + _edge_text(grid["cells"]))
    approaches = d.get("approaches") or {}
    if approaches.get("verdict"):
        two, three = approaches.get("approach2") or {}, approaches.get("approach3") or {}
        parts = [f"approach {n}: a = {fmt(p['a'])} [{', '.join(map(fmt, (p.get('interval') or {}).get('a') or []))}]"
                 for n, p in ((2, two), (3, three)) if p.get("a") is not None]
        print("  compute-optimal allocation: " + "".join(f"{part}; " for part in parts) + approaches["verdict"]["text"])
    if ic.get("aic") is not None:
        print(f"  AIC {ic['aic']:.4g}, AICc {fmt(ic['aicc'])}, BIC {ic['bic']:.4g} (least squares on the means at "
              f"{ic['n_eff']} distinct x)")


def _edge_text(cells: list, most: int = 6) -> str:
    """The cells whose best grid value lies at an edge of the grid, for the summary."""
    edges = [c for c in cells if c["at_edge"]]
    if not edges:
        return ""
    named = [f"{'/'.join(map(str, c['cell'].values()))} ({', '.join(f'{k} {v}' for k, v in c['at_edge'].items())})"
             for c in edges[:most]]
    return (f"; {len(edges)} cell(s) won at the EDGE of the grid (the best value may lie outside it): "
            + ", ".join(named) + (" ..." if len(edges) > most else ""))
