"""Every benchmark in one command, one table: bench/results.md (and bench/results.json).

    python bench/run_all.py                 # the default lines (about 15 minutes on 2 cores)
    python bench/run_all.py --quick         # shorter references and fewer repeats (a few minutes)
    python bench/run_all.py --sizes         # also each scaling line at 3+ sizes, with its growth exponent k
    python bench/run_all.py --study         # also the default study end to end (its overhead over training)
    python bench/run_all.py --compute-optimal   # also config/compute_optimal.yaml end to end (<= 20 minutes)
    python bench/run_all.py --only fit,scale

Every line is a ratio against a reference measured in the same run, or a wall time the user experiences from the
shell, next to the goal it is held to. The machines are shared and noisy: compare ratios, and read absolute seconds
together with the date, machine and load printed above the table. Run it with nothing else running.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import Line, machine  # noqa: E402

# module -> what it measures (each exposes lines(mode) -> list[Line]); order = order in the table
SECTIONS = {
    "bench_fit": "fitting: scalinglab fit from the shell, the engine against scipy, bootstrap, 1,000,000 rows",
    "bench_scale": "bookkeeping at 1,000 to 100,000 runs: snakemake -n against its floor, aggregation, report",
    "bench_train": "training: FLOP/s against the matmul peak, per-job start-up",
    "bench_study": "the default study end to end: wall time against the training jobs' own time",
    "bench_compute_optimal": "config/compute_optimal.yaml end to end: wall time, and what it found",
}
OPTIONAL = {"bench_study": "study", "bench_compute_optimal": "compute_optimal"}  # each runs only with its flag


def collect(mode: str, only: set[str] | None, flags: dict) -> tuple[list[tuple[str, list[Line]]], list[str]]:
    sections, errors = [], []
    for name, title in SECTIONS.items():
        short = name.removeprefix("bench_")
        if only and short not in only:
            continue
        if name in OPTIONAL and not flags.get(OPTIONAL[name]) and not (only and short in only):
            continue
        start = time.perf_counter()
        print(f"== {name}: {title}", flush=True)
        try:
            module = importlib.import_module(name)
            lines = module.lines(mode)
        except Exception as error:  # one broken benchmark must not hide the others' numbers
            errors.append(f"{name}: {type(error).__name__}: {error}")
            traceback.print_exc()
            continue
        for row in lines:
            verdict = "" if row.ok is None else ("ok" if row.ok else "MISSED")
            print(f"   {row.name}: {row.value:.4g} {row.unit} {row.goal} {verdict}", flush=True)
        print(f"   ({time.perf_counter() - start:.0f} s)", flush=True)
        sections.append((title, lines))
    return sections, errors


def fmt(value: float, unit: str) -> str:
    if unit == "x":  # two decimals near 1 (an overhead of 1.04x is not 1.0x), one above 10
        return f"{value:,.1f}x" if value >= 10 else f"{value:.2f}x"
    if unit == "exponent":
        return f"k = {value:.2f}"
    if unit == "%":
        return f"{value:.1f}%"
    if unit == "s" and value >= 100:
        return f"{value:,.0f} s"
    return f"{value:.3g} {unit}"


def markdown(sections, errors, info: dict, mode: str, argv: list[str]) -> str:
    out = [
        "# Benchmark results",
        "",
        f"Written by `python bench/run_all.py{(' ' + ' '.join(argv)) if argv else ''}` ({mode} mode).",
        "",
        f"- date: {info['date']}",
        f"- machine: {info['cpu']}, {info['cores']} cores, {info['memory']}; Python {info['python']}",
        f"- commit: {info['commit']}; load average at start: {info['load_at_start']}",
        "",
        "Each line is a ratio against a reference measured in the same run, or a wall time as the user feels it.",
        "",
    ]
    for title, lines in sections:
        out += [f"## {title[0].upper()}{title[1:]}", "", "| what | measured | goal | met | reference (same run) |",
                "|---|---|---|---|---|"]
        for row in lines:
            met = "" if row.ok is None else ("yes" if row.ok else "**no**")
            out.append(f"| {row.name} | {fmt(row.value, row.unit)} | {row.goal} | {met} | {row.reference} |")
        commands = sorted({row.command for row in lines if row.command})
        if commands:
            out += ["", "Reproduce: " + "; ".join(f"`{c}`" for c in commands)]
        out.append("")
    if errors:
        out += ["## Benchmarks that did not run", ""] + [f"- {e}" for e in errors] + [""]
    return "\n".join(out)


def render(source: Path, out: Path) -> int:
    """The markdown table of a results.json written earlier (a change of layout needs no new measurement)."""
    data = json.loads(source.read_text())
    sections = [(section["title"], [Line(**row) for row in section["lines"]]) for section in data["sections"]]
    out.write_text(markdown(sections, data["errors"], data["machine"], data["mode"], data.get("argv", [])))
    print(f"wrote {out} from {source}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter references and fewer repeats")
    parser.add_argument("--sizes", action="store_true", help="each scaling line at 3+ sizes with its growth exponent")
    parser.add_argument("--study", action="store_true", help="also run the default study end to end")
    parser.add_argument("--compute-optimal", action="store_true",
                        help="also run config/compute_optimal.yaml end to end (~12 minutes on 2 cores)")
    parser.add_argument("--only", help="comma-separated sections: fit, scale, train, study, compute_optimal")
    parser.add_argument("--out", default=str(HERE / "results.md"), help="the markdown table (default bench/results.md)")
    parser.add_argument("--render", metavar="JSON", help="measure nothing: write the table again from a results.json")
    args = parser.parse_args(argv)
    if args.render:
        return render(Path(args.render), Path(args.out))
    mode = "sizes" if args.sizes else "quick" if args.quick else "full"
    info = machine()
    only = set(args.only.split(",")) if args.only else None
    sections, errors = collect(mode, only, {"study": args.study, "compute_optimal": args.compute_optimal})
    text = markdown(sections, errors, info, mode, argv)
    Path(args.out).write_text(text)
    Path(args.out).with_suffix(".json").write_text(json.dumps(
        {"machine": info, "mode": mode, "argv": argv, "sections": [{"title": t, "lines": [r.as_dict() for r in rows]}
                                                     for t, rows in sections], "errors": errors}, indent=1))
    print(f"wrote {args.out}")
    missed = [r.name for _, rows in sections for r in rows if r.ok is False]
    if missed:
        print("goals missed: " + "; ".join(missed))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
