"""The user's code: `module:attr` references, as console scripts name their functions, and entry points.

A reference names a callable in one of three ways:
- `path/to/file.py:NAME`: a Python file, relative to the directory snakemake runs in (the one rule for every path in
  a study config); the file's directory is put on sys.path, so it may import its neighbours;
- `package.module:NAME`: an importable module (installed, or on PYTHONPATH);
- `NAME` alone: an entry point of an installed distribution, in the group of its kind (`scalinglab.models`,
  `scalinglab.datasets`), declared in the distribution's pyproject.toml:

      [project.entry-points."scalinglab.models"]
      wide_resnet = "mypkg.models:wide_resnet"

`check` tells whether a reference can be loaded without running it (the file exists and defines NAME at its top
level, with the right number of arguments where that can be read from the source): studies are checked before any
job starts, without importing torch. `load` imports it. Errors are `UserCodeError`s naming the file and, where known,
the line; `located` turns an exception raised inside the user's code into one, at the traceback's last frame in the
user's file.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib
import importlib.util
import inspect
import re
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path

_MODULE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class UserCodeError(ValueError):
    """A reference that cannot be loaded or called, or an error raised by the user's code.

    `file` and `line` point at the user's code where known; str() gives the message with `(FILE, line N)`."""

    def __init__(self, message: str, file: str | None = None, line: int | None = None):
        self.message, self.file, self.line = message, file, line
        where = f" ({file}, line {line})" if file and line else (f" ({file})" if file else "")
        super().__init__(message + where)


@dataclass(frozen=True)
class Reference:
    text: str  # as written in the config
    kind: str  # "file", "module" or "entry_point"
    target: str  # the file path, the module name, or the entry point's name
    attr: str | None  # NAME (None for an entry point until it is resolved)
    group: str  # the entry-point group of its kind, e.g. scalinglab.models

    @property
    def path(self) -> Path | None:
        """The source file: the file itself, or a module's file (found without importing it), or None."""
        if self.kind == "file":
            return Path(self.target)
        if self.kind == "module":
            return _module_file(self.target)
        return None


def parse(text: str, group: str) -> Reference:
    """`file.py:NAME`, `package.module:NAME` or an entry-point name; raises UserCodeError for anything else."""
    if not isinstance(text, str) or not text.strip():
        raise UserCodeError(f"{text!r} is not a reference: write path/to/file.py:NAME, package.module:NAME or the "
                            f"name of an entry point in the group {group}")
    text = text.strip()
    if ":" not in text:
        if not _NAME.match(text.replace("-", "_").replace(".", "_")):
            raise UserCodeError(f"{text!r} is not a reference: write path/to/file.py:NAME, package.module:NAME or "
                                f"the name of an entry point in the group {group}")
        return Reference(text, "entry_point", text, None, group)
    target, _, attr = text.rpartition(":")
    if not _NAME.match(attr):
        raise UserCodeError(f"{text!r}: {attr!r} after the colon is not a Python name")
    if target.endswith(".py") or "/" in target or "\\" in target:
        return Reference(text, "file", target, attr, group)
    if not _MODULE.match(target):
        raise UserCodeError(f"{text!r}: {target!r} is neither a .py file nor a dotted module name")
    return Reference(text, "module", target, attr, group)


def entry_points(group: str) -> dict:
    """{name: EntryPoint} of the installed distributions in `group` (a copy)."""
    return dict(_entry_points(group, tuple(sys.path)))


@functools.cache
def _entry_points(group: str, path: tuple) -> dict:
    # Read once per sys.path: scanning every installed distribution's metadata takes ~10 ms, and the workflow asks
    # for the dataset of each run while it is parsed (10,000 runs: minutes).
    import importlib.metadata as metadata

    return {ep.name: ep for ep in metadata.entry_points(group=group)}


def _module_file(module: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    origin = getattr(spec, "origin", None) if spec else None
    return Path(origin) if origin and origin.endswith(".py") else None


def _resolve_entry_point(ref: Reference) -> Reference:
    """The `module:attr` an entry point names, as a module reference."""
    found = entry_points(ref.group)
    if ref.target not in found:
        known = ", ".join(sorted(found)) or "none is installed"
        raise UserCodeError(f"{ref.text!r} is not a file.py:NAME or module:NAME reference, and no installed "
                            f"distribution registers it in the entry-point group {ref.group} ({known})")
    value = found[ref.target].value
    module, _, attr = value.partition(":")
    return Reference(ref.text, "module", module.strip(), attr.strip() or None, ref.group)


# ----------------------------------------------------------------------------------------------- without running it


def source_path(text: str, group: str) -> Path | None:
    """The source file a reference names (an entry point resolved to its module), without reading it."""
    ref = parse(text, group)
    return (_resolve_entry_point(ref) if ref.kind == "entry_point" else ref).path



def check(text: str, group: str, arity: int | None = None, contract: str = "", keywords=None) -> Reference:
    """Check a reference without importing it: the file (or module) exists and defines NAME at its top level; when
    NAME is a plain function or class whose parameters can be read, it accepts `arity` positional arguments, or
    (`keywords`, a collection of names) exactly these keyword arguments. Returns the parsed reference; raises
    UserCodeError naming the file and line."""
    ref = parse(text, group)
    if ref.kind == "entry_point":
        ref = _resolve_entry_point(ref)
    path = ref.path
    if ref.kind == "file" and not path.is_file():
        raise UserCodeError(f"{ref.text}: no file {ref.target} (paths in a study are relative to the directory "
                            f"snakemake runs in, here {Path.cwd()})")
    if ref.kind == "module" and path is None:
        if importlib.util.find_spec(ref.target.split(".")[0]) is None:
            raise UserCodeError(f"{ref.text}: no module named {ref.target.split('.')[0]!r} can be imported here "
                                "(install the package, or add its folder to PYTHONPATH)")
        return ref  # a compiled or namespace module: checked when it is loaded
    if ref.attr is None:
        return ref
    source = path.read_text(encoding="utf-8", errors="replace")
    try:
        tree = ast.parse(source, filename=str(path))
    except SyntaxError as error:
        raise UserCodeError(f"{ref.text}: {path} is not valid Python: {error.msg}", str(path), error.lineno) from None
    node = _top_level(tree, ref.attr)
    if node is None:
        defined = sorted(n for n in _top_level_names(tree) if not n.startswith("_"))
        raise UserCodeError(f"{ref.text}: {path} defines no {ref.attr!r} at its top level"
                            f" (it defines: {', '.join(defined) or 'nothing'})", str(path))
    if arity is not None or keywords is not None:
        problem = _arity_problem(node, arity) if arity is not None else _keywords_problem(node, keywords)
        if problem:
            raise UserCodeError(f"{ref.text}: wrong signature, {problem}; the contract is {contract}", str(path),
                                node.lineno)
    return ref


def _top_level_names(tree: ast.Module) -> set[str]:
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def _top_level(tree: ast.Module, name: str):
    """The last top-level statement that binds `name` (def, class, assignment or import), or None."""
    found = None
    for node in tree.body:
        if name in _top_level_names(ast.Module(body=[node], type_ignores=[])):
            found = node
    return found


def _signature_of(node):
    """(the def whose parameters a call meets, how many leading parameters the call does not give: 1 for a class's
    __init__'s self), or None where that is known only at run time (no def: an assignment, an import; a class that
    inherits its __init__)."""
    if isinstance(node, ast.ClassDef):
        init = next((n for n in node.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"), None)
        return None if init is None else (init, 1)
    return (node, 0) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) else None


def _arity_problem(node, arity: int) -> str | None:
    """Why a def (or a class's __init__) cannot take `arity` positional arguments, or None (also when unknown)."""
    if _signature_of(node) is None:
        return None
    node, skip_self = _signature_of(node)
    args = node.args
    positional = [*args.posonlyargs, *args.args][skip_self:]
    required = len(positional) - len(args.defaults)
    required_kwonly = sum(1 for d in args.kw_defaults if d is None)
    shown = f"{node.name}({', '.join(a.arg for a in positional)})"
    if args.vararg is None and len(positional) < arity:
        return f"{shown} takes {len(positional)} positional argument(s), not {arity}"
    if required > arity or required_kwonly:
        return f"{shown} requires more than {arity} argument(s)"
    return None


def _keywords_problem(node, keywords) -> str | None:
    """Why a def (or a class's __init__) cannot be called with exactly these keyword arguments, or None (also when
    unknown)."""
    if _signature_of(node) is None:
        return None
    node, skip_self = _signature_of(node)
    args = node.args
    positional = [*args.posonlyargs, *args.args][skip_self:]
    named = [a.arg for a in args.args if any(a is p for p in positional)] + [a.arg for a in args.kwonlyargs]
    required = [a.arg for a in positional[: len(positional) - len(args.defaults)]]
    required += [a.arg for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is None]
    shown = f"{node.name}({', '.join(a.arg for a in [*positional, *args.kwonlyargs])})"
    unknown = [key for key in keywords if key not in named]
    if unknown and args.kwarg is None:
        return f"{shown} takes no argument {', '.join(map(repr, unknown))}"
    missing = [name for name in required if name not in keywords]
    if missing:
        given = ", ".join(map(repr, keywords)) or "none"
        return f"{shown} requires {', '.join(map(repr, missing))}, which `params` does not give (it gives {given})"
    return None


def file_sha256(path) -> str:
    """The sha256 of a file's content, read once per (file, size, modification time) in a process: the workflow
    asks for the dataset identity of every run while it is parsed."""
    stat = Path(path).stat()
    return _file_sha256(str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)


@functools.cache
def _file_sha256(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --------------------------------------------------------------------------------------------------- loading


def load(text: str, group: str):
    """(object, reference): the callable a reference names, imported. Raises UserCodeError."""
    ref = parse(text, group)
    if ref.kind == "entry_point":
        ref = _resolve_entry_point(ref)
    if ref.kind == "file":
        module = _load_file(ref)
    else:
        try:
            module = importlib.import_module(ref.target)
        except ModuleNotFoundError as error:
            raise UserCodeError(f"{ref.text}: cannot import {ref.target}: {error}") from None
        except Exception as error:
            raise located(error, ref, f"importing {ref.target} raised") from None
    obj = module
    for part in (ref.attr or "").split(".") if ref.attr else []:
        if not hasattr(obj, part):
            defined = sorted(n for n in vars(module) if not n.startswith("_"))
            raise UserCodeError(f"{ref.text}: {ref.target} has no attribute {part!r} (it defines: "
                                f"{', '.join(defined) or 'nothing'})", _display(ref.path))
        obj = getattr(obj, part)
    if not callable(obj):
        raise UserCodeError(f"{ref.text}: {ref.attr} is a {type(obj).__name__}, not a function or class",
                            _display(ref.path))
    return obj, ref


def _load_file(ref: Reference):
    path = Path(ref.target)
    if not path.is_file():
        raise UserCodeError(f"{ref.text}: no file {ref.target} (paths in a study are relative to the directory "
                            f"snakemake runs in, here {Path.cwd()})")
    resolved = path.resolve()
    stem = re.sub(r"[^A-Za-z0-9_]", "_", path.stem)
    name = f"scalinglab_user_{stem}_{hashlib.sha1(str(resolved).encode()).hexdigest()[:8]}"
    if name in sys.modules:
        return sys.modules[name]
    folder = str(resolved.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)  # like `python file.py`: the file may import its neighbours
    spec = importlib.util.spec_from_file_location(name, resolved)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as error:
        del sys.modules[name]
        raise UserCodeError(f"{ref.text}: {ref.target} is not valid Python: {error.msg}", ref.target,
                            error.lineno) from None
    except Exception as error:
        del sys.modules[name]
        raise located(error, ref, f"importing {ref.target} raised") from None
    return module


def _display(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def call(obj, ref: Reference, args: tuple, kwargs: dict, contract: str):
    """obj(*args, **kwargs); a signature that cannot take them, or an exception inside, becomes a UserCodeError at
    the user's file and line."""
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):
        signature = None
    if signature is not None:
        try:
            signature.bind(*args, **kwargs)
        except TypeError as error:
            line = _definition_line(obj)
            raise UserCodeError(f"{ref.text}: wrong signature {ref.attr}{signature} ({error}); the contract is "
                                f"{contract}", _display(ref.path), line) from None
    try:
        return obj(*args, **kwargs)
    except Exception as error:
        raise located(error, ref, f"{ref.attr} raised") from error


def _definition_line(obj) -> int | None:
    try:
        return inspect.getsourcelines(obj)[1]
    except (OSError, TypeError):
        return None


def located(error: BaseException, ref: Reference, what: str) -> UserCodeError:
    """A UserCodeError for an exception raised by the user's code, at the last traceback frame in the user's file
    (for a module: in its package folder)."""
    file, line = user_frame(error, ref)
    return UserCodeError(f"{ref.text}: {what} {type(error).__name__}: {error}", file, line)


def user_frame(error: BaseException, ref: Reference) -> tuple[str | None, int | None]:
    """(file, line) of the last frame of `error`'s traceback in the user's code (the reference's file or a file next
    to it, not scalinglab's or an installed package's), or the reference's file alone."""
    path = ref.path.resolve() if ref.path is not None else None
    if path is None:
        return None, None
    package = Path(__file__).resolve().parent
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        candidate = Path(frame.filename).resolve()
        inside = candidate == path or path.parent in candidate.parents
        if inside and package not in candidate.parents and "site-packages" not in candidate.parts:
            return _display(candidate), frame.lineno
    return _display(path), None
