"""`scalinglab migrate --study NAME`: move results of the layout before studies had homes under a study."""

from __future__ import annotations

HELP = "move results of the old single-study layout (results/runs/, results/metrics.parquet, ...) under a study"


def add_arguments(parser) -> None:
    parser.add_argument("--study", required=True, help="the study the old results belong to (its `study:` name)")
    parser.add_argument("--root", default=".", help="the directory snakemake runs in (default: here)")
    parser.add_argument("--dry-run", action="store_true", help="print the moves without making them")


def run(args) -> int:
    from ..config import ConfigError
    from ..config.paths import RESERVED_STUDY_NAMES, migrate, old_layout

    if args.study in RESERVED_STUDY_NAMES or "/" in args.study or not args.study.strip("."):
        raise ConfigError(f"--study {args.study!r} cannot name a study folder")
    if not old_layout(args.root):
        print(f"nothing to migrate: no results of the old layout under {args.root}")
        return 0
    moves = migrate(args.study, args.root, dry_run=args.dry_run)
    for old, new in moves:
        print(f"{'would move' if args.dry_run else 'moved'} {old} -> {new}")
    if not args.dry_run:
        print(f"done: the study {args.study!r} now lives in results/{args.study}/ and reports/{args.study}/; "
              "`snakemake` re-aggregates, refits and redraws it from the moved runs without retraining them")
    return 0
