"""Import specs: how the command line finds tools (`--tools`) and an output type (`--output-type`).

A spec is one of:

- a file path, `tools.py` (or `path/to/tools.py`): the file is imported as a module;
- a module, `mytools` or `package.tools`, imported from the current directory or the environment;
- either of those followed by `:name` (or `:name1,name2`): only the named objects;
- a bare name of a ready-made tool, `calculator`: `agentkit_tools.calculator`, unless a file of that name
  (without `.py`) or an installed module of that name exists (a `calculator.py` here is loaded as
  `calculator.py`, by its file name).

Only the named file or module is taken from the current directory (or the file's folder): that folder is
on `sys.path` while it is imported, after everything installed (so that its imports of its neighbours work,
and a file there named like an installed module, an `openai.py`, shadows nothing), and off `sys.path` again
once it is imported. A neighbour imported later, from inside a tool call, is not found: import it at the top.

From a whole module the tools are its `Tool` objects (what `@tool` makes): those listed in `__all__` when it
has one, otherwise every public name holding a `Tool` (tools it imports included). A named object may also
be a plain function, made a tool with `@tool`'s defaults. A spec that does not load raises `CliError` with
one line naming the spec and the reason.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from types import ModuleType
from typing import Any

from ..exceptions import UserError
from ..tool import Tool
from ._exit import CliError, one_line

__all__ = ["load_object", "load_tools", "portable_spec"]

READY_MADE = "agentkit_tools"
_FILE_MODULE_PREFIX = "_agentkit_cli_"
"""Modules imported from a file path are named `_agentkit_cli_<stem>_<hash>` in `sys.modules`."""


def load_tools(specs: list[str]) -> list[Tool[..., Any]]:
    """The tools named by `specs`, in order, each once; raises `CliError` for a spec that does not load."""
    tools: dict[int, Tool[..., Any]] = {}
    for spec in specs:
        for found in _tools_of(spec):
            tools.setdefault(id(found), found)
    names: set[str] = set()
    for found in tools.values():
        if found.name in names:
            raise CliError(f"two tools are named {found.name!r}; pass only one of them (e.g. 'module:name')")
        names.add(found.name)
    return list(tools.values())


def load_object(spec: str, *, what: str) -> object:
    """The object a `module:name` or `file.py:name` spec names (`what` says what it is for, in errors)."""
    target, names = _split(spec)
    if len(names) != 1:
        raise CliError(f"{what} {spec!r}: give one object, as 'module:Name' or 'file.py:Name'")
    return _attribute(_import(target, spec), names[0], spec)


def portable_spec(spec: str) -> str:
    """`spec` as it loads from any working folder: a file path made absolute (`:names` kept)."""
    target, names = _split(spec)
    if not _is_file(target):
        return spec
    absolute = str(Path(target).resolve())
    return f"{absolute}:{','.join(names)}" if names else absolute


def _tools_of(spec: str) -> list[Tool[..., Any]]:
    target, names = _split(spec)
    if not names and _is_ready_made(target):
        return [_as_tool(_attribute(_import(READY_MADE, spec, ready_made=True), target, spec), spec)]
    module = _import(target, spec)
    if names:
        return [_as_tool(_attribute(module, name, spec), f"{target}:{name}") for name in names]
    found = _module_tools(module)
    if not found:
        raise CliError(
            f"{spec}: no tools found (decorate functions with @tool, or name one as '{spec}:name')"
        )
    return found


def _split(spec: str) -> tuple[str, list[str]]:
    target, colon, names = spec.rpartition(":")
    if not colon or not names or os.sep in names or (os.altsep and os.altsep in names):
        return spec, []  # no `:name` part (a Windows drive letter is not one either)
    return target, [n.strip() for n in names.split(",") if n.strip()]


def _is_file(target: str) -> bool:
    return target.endswith(".py") or os.sep in target or Path(target).is_file()


def _is_ready_made(target: str) -> bool:
    """A bare name that is no file and no module, but a ready-made tool."""
    if _is_file(target) or not target.isidentifier():
        return False
    try:
        if importlib.util.find_spec(target) is not None:
            return False
        ready_made = importlib.util.find_spec(READY_MADE) is not None
    except (ImportError, ValueError):
        return False
    return ready_made and target in _ready_made_names()


def _import(target: str, spec: str, *, ready_made: bool = False) -> ModuleType:
    try:
        if _is_file(target):
            return _import_file(Path(target), spec)
        if ready_made:
            return importlib.import_module(target)  # installed: nothing from the current directory
        return _import_module(target)
    except CliError:
        raise
    except ModuleNotFoundError as exc:
        if exc.name is not None and (target == exc.name or target.startswith(f"{exc.name}.")):
            hint = f"; ready-made tools: {', '.join(_ready_made_names())}" if "." not in target else ""
            raise CliError(f"{spec}: no file or module named {target!r}{hint}") from None
        raise CliError(f"{spec}: {_reason(exc)}") from None
    except SyntaxError as exc:
        where = f"{exc.filename}, line {exc.lineno}" if exc.filename else f"line {exc.lineno}"
        raise CliError(f"{spec}: SyntaxError: {exc.msg} ({where})") from None
    except UserError as exc:
        raise CliError(f"{spec}: {one_line(str(exc))}") from None
    except Exception as exc:
        raise CliError(f"{spec}: importing it raised {_reason(exc)}") from None


def _import_file(path: Path, spec: str) -> ModuleType:
    if not path.is_file():
        raise CliError(f"{spec}: no such file: {path}")
    path = path.resolve()
    name = f"{_FILE_MODULE_PREFIX}{path.stem}_{abs(hash(str(path))):x}"
    if name in sys.modules:
        return sys.modules[name]
    module_spec = importlib.util.spec_from_file_location(name, path)
    if module_spec is None or module_spec.loader is None:
        raise CliError(f"{spec}: cannot be imported as a Python module")
    return _execute(module_spec, name, str(path.parent))


def _import_module(target: str) -> ModuleType:
    """The module `target` names: its top-level package from the current directory when it is there (as
    `python -m` would take it), else from the environment."""
    top = target.partition(".")[0]
    folder = os.getcwd()
    if top not in sys.modules:
        found = importlib.machinery.PathFinder.find_spec(top, [folder])
        if found is not None and found.loader is not None:  # (a namespace package has none: see below)
            _execute(found, top, folder)
    with _importable(folder):  # a namespace package of the current directory
        return importlib.import_module(target)


def _execute(module_spec: importlib.machinery.ModuleSpec, name: str, folder: str) -> ModuleType:
    """Run the module as `name`, its folder importable meanwhile (its imports of its neighbours work)."""
    assert module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module  # dataclasses and pydantic look their module up here
    try:
        with _importable(folder):
            module_spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


@contextmanager
def _importable(folder: str) -> Iterator[None]:
    """`folder`'s modules importable meanwhile: at the end of `sys.path`, after everything installed (a file
    there named like an installed module shadows nothing), and off it again afterwards."""
    if folder in sys.path:
        yield  # put there by whoever started Python: left as it is
        return
    sys.path.append(folder)
    try:
        yield
    finally:
        with suppress(ValueError):
            sys.path.remove(folder)


def _attribute(module: ModuleType, name: str, spec: str) -> object:
    try:
        return getattr(module, name)
    except AttributeError:
        available = [n for n, v in vars(module).items() if isinstance(v, Tool)]
        hint = f" (its tools: {', '.join(available)})" if available else ""
        raise CliError(f"{spec}: {_shown(module)} has no attribute {name!r}{hint}") from None


def _as_tool(value: object, spec: str) -> Tool[..., Any]:
    if isinstance(value, Tool):
        return value
    if callable(value) and not isinstance(value, type):
        try:
            return Tool(value)
        except UserError as exc:
            raise CliError(f"{spec}: {one_line(str(exc))}") from None
    raise CliError(f"{spec}: not a tool or a function (type: {type(value).__name__})")


def _module_tools(module: ModuleType) -> list[Tool[..., Any]]:
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n in vars(module) if not n.startswith("_")]
    return [value for n in names if isinstance(value := getattr(module, n, None), Tool)]


def _shown(module: ModuleType) -> str:
    """A module as the user named it: its file for one loaded from a path."""
    if module.__name__.startswith(_FILE_MODULE_PREFIX) and module.__file__:
        return module.__file__
    return module.__name__


def _ready_made_names() -> list[str]:
    """The ready-made `Tool`s by name (not the factories beside them, such as `files(root)`)."""
    try:
        module = importlib.import_module(READY_MADE)
    except ImportError:
        return []
    return [name for name in getattr(module, "__all__", ()) if isinstance(getattr(module, name, None), Tool)]


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {one_line(str(exc))}" if str(exc) else type(exc).__name__
