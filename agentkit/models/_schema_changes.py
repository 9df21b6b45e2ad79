"""What a schema dialect changed, recorded by the dialect functions themselves (`_dialects`) while a
`dialect_changes()` block is open: where, what, and whether the meaning is kept. No second copy of the
dialect logic: `agentkit tools --check` builds each tool's entry as a request does, inside the block."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeVar

__all__ = ["SchemaChange", "dialect_changes", "left_out", "record_change", "tentative", "under"]

_ANNOTATIONS = frozenset(
    {"title", "default", "examples", "$comment", "$schema", "$id", "readOnly", "writeOnly", "deprecated"}
)
"""Keywords that only annotate (JSON Schema's meta-data): leaving them out changes nothing a value must be
(a default left out still applies: the function has it)."""


@dataclass(kw_only=True, frozen=True)
class SchemaChange:
    """One thing a dialect changed in a schema."""

    path: str
    """Where: a parameter (`city`, `place.country`, `tags[]`), or `(arguments)` for the whole object."""
    change: str
    """What changed, in a few words."""
    kept: bool
    """The meaning is kept (agentkit undoes the change on the way back, or the description says it);
    `False`: the model is not told this constraint (agentkit still enforces it when it validates)."""


@dataclass(kw_only=True)
class _Recorder:
    path: list[str] = field(default_factory=list)
    changes: list[SchemaChange] = field(default_factory=list)


_RECORDER: ContextVar[_Recorder | None] = ContextVar("agentkit_dialect_changes", default=None)
_T = TypeVar("_T")


@contextmanager
def dialect_changes() -> Iterator[list[SchemaChange]]:
    """Record what the dialect functions (`to_dialect`, and what builds a tool's entry) change inside the
    `with` block, into the list it gives: the same code that builds the request, not a second copy."""
    recorder = _Recorder()
    token = _RECORDER.set(recorder)
    try:
        yield recorder.changes
    finally:
        _RECORDER.reset(token)


@contextmanager
def tentative() -> Iterator[None]:
    """Changes recorded inside the block are dropped when it raises (a translation given up)."""
    recorder = _RECORDER.get()
    size = len(recorder.changes) if recorder is not None else 0
    try:
        yield
    except BaseException:
        if recorder is not None:
            del recorder.changes[size:]
        raise


def record_change(change: str, *, kept: bool = True, at: str = "") -> None:
    """Note a change at the current place, or at its step `at` (only inside `dialect_changes`)."""
    recorder = _RECORDER.get()
    if recorder is None:
        return
    path = ("".join(recorder.path) + at).lstrip(".") or "(arguments)"
    item = SchemaChange(path=path, change=change, kept=kept)
    if item not in recorder.changes:
        recorder.changes.append(item)


def under(step: str, function: Callable[..., _T], *args: Any) -> _T:
    """`function(*args)` with `step` (`.name`, `[]`) added to the recorded place."""
    recorder = _RECORDER.get()
    if recorder is None:
        return function(*args)
    recorder.path.append(step)
    try:
        return function(*args)
    finally:
        recorder.path.pop()


def left_out(keys: Iterable[str]) -> None:
    """Note keywords a dialect leaves out (kept: annotations only)."""
    for key in keys:
        record_change(f"{key} left out", kept=key in _ANNOTATIONS)
