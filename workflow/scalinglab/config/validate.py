"""Load a study YAML and validate it: the JSON Schema (defaults filled in), then the checks a schema cannot express.

Every error is one ConfigError whose message names the file and line (when known), the key path (e.g.
`sweeps[0].fit.bootstrp`), the bad value and what is allowed, with a "did you mean" for near misses.
"""

from __future__ import annotations

import copy
import difflib
import math
from pathlib import Path

from .errors import ConfigError


def key_path(path) -> str:
    """('sweeps', 0, 'fit', 'x') -> 'sweeps[0].fit.x'; the top level is 'config'."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "config"


def did_you_mean(value, allowed) -> str:
    """' (did you mean 'lr'?)' for a near miss among `allowed`, else ''."""
    if not isinstance(value, str):
        return ""
    close = difflib.get_close_matches(value, [str(a) for a in allowed], n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def unknown_key_message(path, key, allowed) -> str:
    return (f"{key_path([*path, key])}: unknown key {key!r}{did_you_mean(key, allowed)}; "
            f"allowed: {', '.join(sorted(allowed))}")


def validate_config(config: dict, source: str | Path | None = None, text: str | None = None) -> dict:
    """Validate `config` in place, fill in the schema's defaults, run the semantic checks; return it.

    `source` (the file) and `text` (its YAML) only make messages point at a file and line."""
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate

    from .. import SCHEMA_PATH

    try:
        _check_grid_overrides(config)  # before the schema fills train's defaults: only what the study wrote
        try:
            validate(config, str(SCHEMA_PATH), set_default=True)
        except WorkflowError as error:
            raise _schema_error(error) from None
        from .checks import check_study

        check_study(config)
    except ConfigError as error:
        raise _located(error, source, text) from None
    return config


def _check_grid_overrides(config: dict) -> None:
    """A train key a sweep's grid varies is not also set in its `train` block: the grid's values win, and the
    train value would be silently ignored."""
    sweeps = config.get("sweeps") if isinstance(config, dict) else None
    for i, sweep in enumerate(sweeps if isinstance(sweeps, list) else []):
        if not isinstance(sweep, dict) or not isinstance(sweep.get("grid"), dict):
            continue
        train = sweep.get("train") if isinstance(sweep.get("train"), dict) else {}
        for key in sweep["grid"]:
            if key in train:
                path = ["sweeps", i, "train", key]
                raise ConfigError(f"{key_path(path)}: {train[key]!r} is never used: the grid varies {key} "
                                  f"({sweep['grid'][key]}), and each run trains its grid value; leave train.{key} "
                                  "out", path)


def _located(error: ConfigError, source, text) -> ConfigError:
    """The error with 'FILE:LINE: ' in front when the file is known (and the line, when its key path is)."""
    if source is None:
        return error
    path = error.key_path
    line = _line_of(text, path) if text is not None and path is not None else None
    return ConfigError(f"{source}{f':{line}' if line else ''}: {error}", path)


def _line_of(text: str, path) -> int | None:
    """1-based line of the key path in the YAML text (the deepest part of it that exists), or None."""
    import yaml

    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return None
    line = None
    for part in path:
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value if k.value == part), None)
            if match is None:
                break
            line, node = match[0].start_mark.line + 1, match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _schema_error(exc: Exception) -> ConfigError:
    """One readable ConfigError from snakemake's wrapped jsonschema ValidationError (its cause)."""
    cause = exc.__cause__ or exc.__context__
    if cause is None or not hasattr(cause, "absolute_path"):
        return ConfigError(f"invalid study config: {exc}")
    return problem_error(cause)


def problem_error(problem, base=()) -> ConfigError:
    """A ConfigError from a jsonschema ValidationError found at key path `base` (its own path is relative)."""
    if problem.validator in ("oneOf", "anyOf") and problem.context and list(problem.absolute_path):
        # "not valid under any of the given schemas" names nothing: report the closest alternative's failure.
        from jsonschema.exceptions import best_match

        problem = best_match(problem.context)
    path = [*base, *problem.absolute_path]
    if problem.validator == "required" and not path and "study" not in problem.instance:
        return ConfigError("study: missing; every study file names its study (its results go to results/STUDY/, its "
                           "report to reports/STUDY/), e.g. `study: mine`", ["study"])
    if problem.validator == "oneOf" and not path:
        has = [key for key in ("sweeps", "external") if key in problem.instance]
        what = "has both" if len(has) == 2 else "has neither"
        return ConfigError(f"config: a study trains `sweeps` or reads `external` CSVs, one of the two; this one {what}",
                           [has[-1]] if has else [])
    if problem.validator == "not" and path == ["study"]:
        from .paths import RESERVED_STUDY_NAMES

        return ConfigError(f"study: {problem.instance!r} is reserved ({', '.join(RESERVED_STUDY_NAMES)} are folders of "
                           "results/ itself); choose another name", path)
    if problem.validator == "pattern":
        return _pattern_error(problem, path)
    if problem.validator == "additionalProperties" and isinstance(problem.instance, dict):
        allowed = set(problem.schema.get("properties", {}))
        unknown = sorted(set(problem.instance) - allowed)
        if unknown:
            return ConfigError(unknown_key_message(path, unknown[0], allowed), [*path, unknown[0]])
    if problem.validator == "enum":
        allowed = problem.validator_value
        return ConfigError(f"{key_path(path)}: {problem.instance!r} is not allowed"
                           f"{did_you_mean(problem.instance, allowed)}; allowed: {', '.join(map(str, allowed))}", path)
    return ConfigError(f"{key_path(path)}: {problem.message}{_number_hint(problem)}", path)


def _number_hint(problem) -> str:
    """For a number YAML read as text (`2e10`: YAML 1.1 wants a '.' and a signed exponent), how to write it."""
    wanted = problem.validator_value if problem.validator == "type" else None
    wanted = [wanted] if isinstance(wanted, str) else wanted or []
    if not isinstance(problem.instance, str) or not {"number", "integer"} & set(wanted):
        return ""
    try:
        value = float(problem.instance)
    except ValueError:
        return ""
    if "e" in problem.instance.lower() and math.isfinite(value):
        spelled = f"{int(value)}" if "integer" in wanted and value.is_integer() else yaml_float(value)
        return (f"; YAML reads {problem.instance} as text (a number in exponent form needs a '.' and a signed "
                f"exponent): write {spelled}")
    return f"; YAML reads {problem.instance!r} as text: write the number without quotes"


def yaml_float(value: float) -> str:
    """A float as a study file must spell it to be read back as a number: YAML 1.1 (PyYAML) reads `1e+12` and
    `2e10` as text, so exponent form (below 1e-3 and from 1e5 on) always has a '.' and a signed exponent (`1.0e+12`,
    `2.5e-05`), with the fewest digits that read back as the same float; in between, Python's own (`0.01`)."""
    value = float(value)
    if not math.isfinite(value):
        return {math.inf: ".inf", -math.inf: "-.inf"}.get(value, ".nan")
    if value == 0 or 1e-3 <= abs(value) < 1e5:
        return repr(value)
    digits = next(p for p in range(1, 18) if float(f"{value:.{p}e}") == value)
    return f"{value:.{digits}e}"


# What each name pattern of the schema allows, in words (names become folders: one path component each).
PATTERN_WORDS = {
    "^[A-Za-z0-9_-][A-Za-z0-9_.-]*$": "letters, digits, '_', '-' and '.', not first (a name is one folder: no "
                                      "'/', no '.' or '..', no hidden folder)",
    "^[A-Za-z0-9_-]+$": "letters, digits, '_' and '-' (a name is one folder)",
}


def _pattern_error(problem, path) -> ConfigError:
    """A name the schema's pattern refuses, in words; a key of a mapping (propertyNames) is named by its own path."""
    allowed = PATTERN_WORDS.get(problem.validator_value, f"a match of {problem.validator_value}")
    if "propertyNames" in problem.schema_path:
        path = [*path, problem.instance]
        return ConfigError(f"{key_path(path)}: the name {problem.instance!r} is not allowed; allowed: {allowed}", path)
    return ConfigError(f"{key_path(path)}: {problem.instance!r} is not allowed; allowed: {allowed}", path)


def study_loader():
    """libyaml's safe loader where installed (a 10,000-run study file parses in a tenth of the time) that refuses a
    key given twice in one mapping: YAML would silently keep the last (`device: cpu` ... `device: cuda`)."""
    import yaml

    class StudyLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
        def construct_mapping(self, node, deep=False):
            if isinstance(node, yaml.MappingNode):
                first = {}
                for key_node, _ in node.value:
                    if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                        continue  # `<<: *anchor` merges are overridden by the mapping's own keys, on purpose
                    line = key_node.start_mark.line + 1
                    if key_node.value in first:
                        raise yaml.constructor.ConstructorError(
                            None, None, f"the key {key_node.value!r} is given twice in one mapping (lines "
                            f"{first[key_node.value]} and {line}); YAML would keep only the last: remove one",
                            key_node.start_mark)
                    first[key_node.value] = line
            return super().construct_mapping(node, deep=deep)

    return StudyLoader


def parse_study(text: str, path) -> dict:
    """The mapping a study file holds; ConfigError with FILE:LINE:COLUMN for YAML syntax errors."""
    import yaml  # here, not at the top: `scalinglab train` imports this package on its start-up path

    try:
        config = yaml.load(text, Loader=study_loader())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{where}: not valid YAML: {problem}") from None
    if not isinstance(config, dict):
        what = "it is empty" if config is None else f"not a {type(config).__name__}"
        raise ConfigError(f"{path}: a study file holds a mapping of keys (study, sweeps, ...); {what}")
    return config


def load_config(path: str | Path) -> dict:
    """Read a study YAML, validate it and return the config with defaults filled in."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    text = path.read_text()
    return validate_config(copy.deepcopy(parse_study(text, path)), source=path, text=text)


def load_study(config: dict | str | Path, root: str | Path = ".", source=None, text=None, run_checks=True):
    """(config, run specs, warnings) of a study file (or a config dict): validated, expanded, and checked for what
    the run table adds (external files, path lengths); the warnings name runs that would take years. Raises
    ConfigError. run_checks=False skips the checks of the run table (a cluster job: the main process made them)."""
    from .runs import expand
    from .table_checks import check_runs

    if isinstance(config, dict):
        config = validate_config(config, source=source, text=text)
    else:
        source = config
        config = load_config(config)
        text = Path(source).read_text()
    try:
        specs = expand(config)
        warnings = check_runs(config, specs, root) if run_checks else []
    except ConfigError as error:
        raise _located(error, source, text) from None
    return config, specs, warnings
