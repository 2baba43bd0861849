"""Where a study's files live, relative to the directory snakemake runs in. Every study has its own home; prepared
datasets are shared by every study that asks for the same generation parameters:

    results/data/{dataset}/{dataset_id}/data.npz, meta.json    the shared dataset cache
    results/{study}/runs/{run_path}/run.json                   one run
    results/{study}/metrics.parquet, curves.parquet           every run of the study
    results/{study}/fits/{sweep}/{law}.json                    fits
    reports/{study}/report.html, reports/{study}/figures/      report and paper figures
    logs/{study}/..., benchmarks/{study}/...                   per job

Also the layout before studies had homes (results/runs/, results/metrics.parquet, ...): `old_layout` finds it and
`migrate` moves it under a study.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError

RESULTS = "results"
DATA = f"{RESULTS}/data"
# Names a study cannot take: they are the shared cache, or folders of the layout before studies had homes.
RESERVED_STUDY_NAMES = ("data", "runs", "fits")


def dataset_dir(dataset: str, dataset_id: str, results: str = RESULTS) -> str:
    return f"{results}/data/{dataset}/{dataset_id}"


@dataclass(frozen=True)
class StudyPaths:
    study: str
    root: str = RESULTS  # the results folder; reports/, logs/ and benchmarks/ sit next to it

    @property
    def results(self) -> str:
        return f"{self.root}/{self.study}"

    @property
    def runs(self) -> str:
        return f"{self.results}/runs"

    def run_dir(self, run_path: str) -> str:
        return f"{self.runs}/{run_path}"

    def run_file(self, run_path: str) -> str:
        return f"{self.runs}/{run_path}/run.json"

    @property
    def metrics(self) -> str:
        return f"{self.results}/metrics.parquet"

    @property
    def curves(self) -> str:
        return f"{self.results}/curves.parquet"

    def fit(self, sweep: str, law: str) -> str:
        return f"{self.results}/fits/{sweep}/{law}.json"

    def prediction(self, target: str) -> str:
        """Written from the ladder's fit before the target's train job, which takes it as an input."""
        return f"{self.results}/predictions/{target}.json"

    @property
    def targets(self) -> str:
        """The target runs and their scores, one row per (target, seed)."""
        return f"{self.results}/targets.parquet"

    @property
    def scorecard(self) -> str:
        return f"{self.results}/scorecard.json"

    @property
    def reports(self) -> str:
        return f"reports/{self.study}"

    @property
    def report(self) -> str:
        return f"{self.reports}/report.html"

    @property
    def figures(self) -> str:
        return f"{self.reports}/figures"

    @property
    def logs(self) -> str:
        return f"logs/{self.study}"

    @property
    def benchmarks(self) -> str:
        return f"benchmarks/{self.study}"


# ------------------------------------------------------------------------------------------------ the old layout

OLD_LAYOUT = ("results/runs", "results/metrics.parquet", "results/curves.parquet", "results/fits",
              "reports/report.html", "reports/figures")


def old_layout(root: str | Path = ".") -> list[str]:
    """The paths of the layout before studies had homes that exist under root (cheap: a few stats)."""
    root = Path(root)
    found = [path for path in OLD_LAYOUT if (root / path).exists()]
    data = root / DATA
    if data.is_dir():
        found += [f"{DATA}/{d.name}/data.npz" for d in sorted(data.iterdir()) if (d / "data.npz").is_file()]
    return found


def migration_hint(found: list[str]) -> str:
    shown = ", ".join(found[:4]) + (f" and {len(found) - 4} more" if len(found) > 4 else "")
    return (f"results in the old layout ({shown}) are in the way of the per-study layout; move them under the study "
            "they belong to with: scalinglab migrate --study NAME (e.g. --study default)")


def migrate(study: str, root: str | Path = ".", dry_run: bool = False) -> list[tuple[str, str]]:
    """Move the old layout under `study` (and old dataset caches under their dataset_id); returns (from, to) pairs.

    Run records get the spec keys of the new layout (dataset_id; run_id recomputed from the same identity), so the
    workflow reuses them instead of retraining; the tables, fits and report move too, and are rebuilt from the
    upgraded records."""
    root = Path(root)
    moves = _study_moves(StudyPaths(study), root) + _dataset_moves(root)
    if dry_run:
        return moves
    for old, new in moves:
        (root / new).parent.mkdir(parents=True, exist_ok=True)
        os.replace(root / old, root / new)
    runs = root / StudyPaths(study).runs
    for record_path in sorted(runs.rglob("run.json")) if runs.is_dir() else []:
        _upgrade_record(record_path)
    return moves


def _study_moves(paths: StudyPaths, root: Path) -> list[tuple[str, str]]:
    moves = []
    for old, new in (("results/runs", paths.runs), ("results/metrics.parquet", paths.metrics),
                     ("results/curves.parquet", paths.curves), ("results/fits", f"{paths.results}/fits"),
                     ("reports/report.html", paths.report), ("reports/figures", paths.figures)):
        if (root / old).exists():
            if (root / new).exists():
                raise ConfigError(f"cannot move {old} to {new}: {new} exists already (study {paths.study!r} has "
                                  "results); choose another --study or move it by hand")
            moves.append((old, new))
    return moves


def _dataset_moves(root: Path) -> list[tuple[str, str]]:
    """results/data/NAME/{data.npz,meta.json} -> results/data/NAME/DATASET_ID/, the id from meta.json's parameters."""
    from ..datasets import DATASETS

    moves, data = [], root / DATA
    for folder in sorted(data.iterdir()) if data.is_dir() else []:
        if not (folder / "data.npz").is_file():
            continue
        try:
            meta = json.loads((folder / "meta.json").read_text())
            dataset_id = DATASETS[folder.name].dataset_id(meta["params"])
        except (OSError, ValueError, KeyError) as error:
            raise ConfigError(f"cannot migrate {folder}: its meta.json is unreadable ({error}); delete the folder and "
                              "the workflow prepares the dataset again") from None
        moves += [(f"{DATA}/{folder.name}/{name}", f"{DATA}/{folder.name}/{dataset_id}/{name}")
                  for name in ("data.npz", "meta.json")]
    return moves


def _upgrade_record(path: Path) -> None:
    from .. import atomic
    from ..datasets import DATASETS
    from .identity import run_id

    try:
        record = json.loads(path.read_text())
        spec = record["spec"]
    except (OSError, ValueError, KeyError):
        return  # a damaged record is found and rebuilt by the workflow
    if "dataset_id" in spec or spec.get("dataset") not in DATASETS:
        return
    spec["dataset_id"] = DATASETS[spec["dataset"]].dataset_id(spec.get("dataset_params") or {})
    spec["run_id"] = run_id(spec)
    atomic.write_json(path, record)  # newer than the moved tables: the workflow re-aggregates, refits and redraws
