"""External data mode: a CSV of runs a study did not train, mapped onto metrics.parquet's columns, so it goes
through the same fit and report rules as trained sweeps (`scalinglab import-external`)."""

from __future__ import annotations

from pathlib import Path

from .config import ConfigError, short_hash

CURVE_COLUMNS = ["run_id", "sweep", "dataset", "model", "size_label", "seed", "budget", "step", "tokens", "samples",
                 "flops", "train_loss", "val_loss", "val_accuracy", "lr"]


def check_files(config: dict, root: str | Path = ".") -> None:
    """Before any work: every external CSV exists (else where to get it) and has the columns its block maps.
    Reads each file's header line only."""
    import csv

    from .config.validate import did_you_mean

    for i, block in enumerate(config.get("external") or []):
        path = Path(root) / block["path"]
        if not path.is_file():
            where = block.get("source") or "see the study's README"
            raise ConfigError(f"external[{i}].path: external data {block['name']!r}: file not found: {block['path']} "
                              f"(resolved: {path.resolve()}). Get it from: {where}", ["external", i, "path"])
        with open(path, newline="", encoding="utf-8", errors="replace") as handle:
            header = next(csv.reader(handle), [])
        for target, source in (block.get("columns") or {}).items():
            if source not in header:
                raise ConfigError(f"external[{i}].columns.{target}: {source!r} is not a column of {block['path']}"
                                  f"{did_you_mean(source, header)}; its columns: {', '.join(header)}",
                                  ["external", i, "columns", target])
        check_derive(block, ["external", i])


def check_derive(block: dict, where: list) -> None:
    """Every `derive` expression parsed and evaluated on one row of ones, before any job: only numbers, mapped (or
    earlier derived) columns, + - * / ** and the evaluator's functions; never Python (scalinglab.fitting.table)."""
    import pandas as pd

    frame = pd.DataFrame({column: [1.0] for column in block.get("columns") or {}})
    for target, expression in (block.get("derive") or {}).items():
        frame[target] = derive(frame, target, expression, [*where, "derive", target])


class _Columns:
    """A DataFrame as the derive evaluator reads a table: `column in`, `numeric(column)`, `columns`, `index`."""

    def __init__(self, frame):
        self.frame, self.columns, self.index = frame, list(frame.columns), frame.index

    def __contains__(self, column) -> bool:
        return column in self.frame

    def __getitem__(self, column):
        return self.frame[column]

    def numeric(self, column):
        import pandas as pd

        values = pd.to_numeric(self.frame[column], errors="coerce")
        return None if values.isna().gt(self.frame[column].isna()).any() else values.to_numpy(dtype=float)


def derive(frame, target: str, expression: str, where: list):
    """The column `target = expression` over `frame`'s columns, by the safe arithmetic evaluator (the one `scalinglab
    fit --derive` uses); a ConfigError at `where` names the expression and what is allowed."""
    from .config.validate import key_path
    from .fitting.errors import FitInputError
    from .fitting.table import evaluate, parse_derive

    spec = f"{target}={expression}"
    try:
        name, tree, quoted = parse_derive(spec)
        return evaluate(tree, _Columns(frame), spec, quoted)
    except FitInputError as error:
        reason = str(error).removeprefix(f"--derive {spec!r}: ")
        raise ConfigError(f"{key_path(where)}: {expression!r}: {reason}", where) from None


def load_block(block: dict):
    """One external block -> a metrics-shaped DataFrame (one row per external run)."""
    import numpy as np
    import pandas as pd

    path = Path(block["path"])
    if not path.is_file():
        check_files({"external": [block]})
    raw = pd.read_csv(path)
    mapping = block.get("columns") or {}
    absent = [source for source in mapping.values() if source not in raw.columns]
    if absent:
        raise ConfigError(f"external data {block['name']!r}: {path} has no column(s) {', '.join(map(repr, absent))}; "
                          f"its columns are {', '.join(map(repr, raw.columns))}")
    frame = pd.DataFrame({target: pd.to_numeric(raw[source], errors="coerce") if target not in ("size_label",)
                          else raw[source].astype(str) for target, source in mapping.items()})
    for target, expression in (block.get("derive") or {}).items():
        frame[target] = derive(frame, target, expression, ["derive", target])
    name = block["name"]
    frame.insert(0, "sweep", name)
    frame["dataset"] = block.get("dataset", name)
    frame["model"] = "external"
    frame["status"] = "ok"
    frame["error"] = None
    n = frame.get("n_params", None)
    d = next((frame[c] for c in ("tokens", "samples") if c in frame), None)
    if n is not None and d is not None:
        frame["flops_6nd"] = 6.0 * n * d
        frame["budget"] = d
        frame["budget_unit"] = "tokens" if "tokens" in frame else "samples"
    if "flops" not in frame and "flops_6nd" in frame:
        frame["flops"] = frame["flops_6nd"]
    if "size_label" not in frame and n is not None:
        from .config import human_count

        frame["size_label"] = [human_count(v) if np.isfinite(v) else "?" for v in n]
    frame["seed"] = frame.get("seed", 0)
    for column, count in (block.get("drop_largest") or {}).items():
        # Marked, not removed: the fit excludes them (status != ok) and says how many; the report lists them.
        if column not in frame:
            raise ConfigError(f"external data {name!r}: drop_largest names unknown column {column!r}")
        index = frame[column].sort_values(ascending=False, kind="stable").index[: int(count)]
        frame.loc[index, "status"] = "excluded"
        frame.loc[index, "error"] = f"dropped: one of the {count} largest {column}"
    ids = [short_hash([name, i, *map(str, row)]) for i, row in enumerate(raw.itertuples(index=False))]
    frame.insert(0, "run_id", ids)
    frame.insert(1, "run_path", [f"{name}/row{i:05d}" for i in range(len(frame))])
    return frame


def target_mask(block: dict, frame, match: dict):
    """The rows of an external block's table (`load_block`) that a target's `match` picks: each column a metrics
    column (as mapped) or a column of the CSV, each value equal (numbers to 1e-9 relative)."""
    import numpy as np
    import pandas as pd

    raw = None
    mask = np.ones(len(frame), dtype=bool)
    for column, value in match.items():
        if column in frame:
            values = frame[column]
        else:
            raw = pd.read_csv(block["path"]) if raw is None else raw
            if column not in raw:
                from .config.validate import did_you_mean

                known = [*frame.columns, *raw.columns]
                raise ConfigError(f"match: {column!r} is neither a column of {block['path']} nor a mapped column"
                                  f"{did_you_mean(column, known)}")
            values = raw[column]
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
            mask &= np.isclose(numbers, float(value), rtol=1e-9, atol=0.0)
        else:
            mask &= values.astype(str).to_numpy() == str(value)
    return mask


def external_targets(config: dict, name: str) -> list[dict]:
    """The targets of external block `name`."""
    return [target for target in config.get("targets") or [] if target["sweep"] == name]


def ladder_and_targets(config: dict, block: dict):
    """(ladder rows, {target name: its rows}) of one external block: matching rows are held out of the ladder."""
    import numpy as np

    frame = load_block(block)
    held_out, rows = np.zeros(len(frame), dtype=bool), {}
    for target in external_targets(config, block["name"]):
        mask = target_mask(block, frame, target["match"])
        rows[target["name"]] = frame[mask].assign(role="target", target=target["name"])
        held_out |= mask
    return frame[~held_out].assign(role="ladder", target=None), rows


def check_targets(config: dict, root: str | Path = ".") -> None:
    """Before any work: each external target matches rows of its CSV, at one x (a target is one point)."""
    from .config.study import fit_settings
    from .config.validate import key_path

    blocks = {block["name"]: block for block in config.get("external") or []}
    taken: dict[str, list] = {}  # block name -> [(target index, the rows it holds out)]
    for i, target in enumerate(config.get("targets") or []):
        if target["sweep"] not in blocks:
            continue
        where = ["targets", i, "match"]
        block = {**blocks[target["sweep"]], "path": str(Path(root) / blocks[target["sweep"]]["path"])}
        frame = load_block(block)
        try:
            rows = frame[target_mask(block, frame, target["match"])]
        except ConfigError as error:
            raise ConfigError(f"{key_path(where)}: {error}", where) from None
        if rows.empty:
            raise ConfigError(f"{key_path(where)}: no row of {blocks[target['sweep']]['path']} matches "
                              f"{target['match']}", where)
        x = [c.strip() for c in fit_settings(config, target["sweep"])["x"].split(",")]
        points = rows[[c for c in x if c in rows]].drop_duplicates()
        if len(points) > 1:
            raise ConfigError(f"{key_path(where)}: the {len(rows)} rows matching {target['match']} lie at "
                              f"{len(points)} different x ({', '.join(x)}); a target is one point: narrow `match`",
                              where)
        if len(rows) == len(frame):
            raise ConfigError(f"{key_path(where)}: {target['match']} matches every row; nothing is left to fit",
                              where)
        shared = next((j for j, other in taken.get(target["sweep"], []) if set(other) & set(rows.index)), None)
        if shared is not None:
            raise ConfigError(f"{key_path(where)}: {target['match']} matches rows that targets[{shared}] also holds "
                              "out; each row is one target's truth: make the matches disjoint", where)
        taken.setdefault(target["sweep"], []).append((i, list(rows.index)))


def check_ladder_points(config: dict, root: str | Path = ".") -> None:
    """Before any work: each external block's ladder (its rows less those its targets hold out and those
    drop_largest marks) gives every law of its fit as many distinct x points as the law has parameters."""
    from .config.study import fit_settings
    from .config.validate import key_path
    from .laws import LAWS

    for i, block in enumerate(config.get("external") or []):
        settings = fit_settings(config, block["name"])
        x = [c.strip() for c in str(settings["x"]).split(",") if c.strip()]
        ladder, held_out = ladder_and_targets(config, {**block, "path": str(Path(root) / block["path"])})
        usable = ladder[ladder["status"] == "ok"]
        columns = [c for c in x if c in usable]
        points = len(usable[columns].dropna().drop_duplicates()) if columns else len(usable)
        for law in settings["laws"]:
            need = LAWS[law].n_params
            if points >= need:
                continue
            held = sum(len(rows) for rows in held_out.values())
            dropped = int((ladder["status"] == "excluded").sum())
            removed = ([f"{held} row(s) held out by target(s) {', '.join(held_out)}"] if held else []) + \
                ([f"{dropped} row(s) dropped by drop_largest"] if dropped else [])
            where = ["external", i, "drop_largest"] if dropped and not held else ["external", i]
            raise ConfigError(f"{key_path(where)}: law {law!r} has {need} parameters but external data "
                              f"{block['name']!r} leaves its ladder {points} distinct point(s) in x = "
                              f"{', '.join(x)}{' after ' + ' and '.join(removed) if removed else ''}; hold out "
                              "fewer rows, or fit a law with fewer parameters (scalinglab laws)", where)


def target_point(config: dict, target: dict, root: str | Path = ".") -> dict:
    """The x ({column: value}) of an external target: its rows' (one point, `check_targets`)."""
    from .config.study import fit_settings

    block = next(b for b in config["external"] if b["name"] == target["sweep"])
    block = {**block, "path": str(Path(root) / block["path"])}
    frame = load_block(block)
    rows = frame[target_mask(block, frame, target["match"])]
    x = [c.strip() for c in fit_settings(config, target["sweep"])["x"].split(",")]
    return {column: float(rows[column].iloc[0]) for column in x if column in rows}


def import_external(config: dict, metrics_out: str | Path, curves_out: str | Path) -> int:
    """Write the ladder rows of every external block (rows its targets match are held out) to metrics_out."""
    import pandas as pd

    from .aggregate import write_parquet

    check_files(config)
    frames = [ladder_and_targets(config, block)[0] for block in config.get("external") or []]
    metrics = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    curves = pd.DataFrame(
        {
            c: pd.Series(
                dtype="float64" if c not in ("run_id", "sweep", "dataset", "model", "size_label") else "object"
            )
            for c in CURVE_COLUMNS
        }
    )
    write_parquet(metrics, metrics_out)
    write_parquet(curves, curves_out)
    return len(metrics)

