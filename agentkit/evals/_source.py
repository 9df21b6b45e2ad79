"""Reading a case file: YAML (with the `evals` extra) or JSON, into plain values and the line each value
starts on, so that an error found after parsing still names its line."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..exceptions import UserError

__all__ = ["MAX_ALIAS_VALUES", "CaseFileError", "Source", "Where", "read_source"]

MAX_ALIAS_VALUES = 100_000
"""The values a YAML case file's aliases may repeat in all (each value inside a repeated one counted): past
it the file is refused, so that nested aliases ("billion laughs") cannot make reading it hang."""

Where = tuple[str | int, ...]
"""Where a value is in the file: keys and list indexes from the top, `("cases", 0, "prompt")`."""


class CaseFileError(UserError):
    """A case file cannot be used: the message names the file, the line (when known) and what to fix."""

    def __init__(self, message: str, *, path: str, line: int | None = None) -> None:
        where = f"{path}, line {line}" if line is not None else path
        super().__init__(f"{where}: {message}")
        self.path = path
        """The case file."""
        self.line = line
        """The line (1-based) the error is on, when known."""


@dataclass(kw_only=True)
class Source:
    """A parsed case file: its data and the line of each value in it."""

    path: str
    data: Any
    lines: dict[Where, int] = field(default_factory=dict)

    def line(self, where: Where) -> int | None:
        """The line of the value at `where`, or of the nearest enclosing value whose line is known."""
        while where:
            if where in self.lines:
                return self.lines[where]
            where = where[:-1]
        return self.lines.get(())

    def error(self, message: str, where: Where) -> CaseFileError:
        """A `CaseFileError` at the value at `where`, its path in the message (`cases[2].evaluators[0]`)."""
        shown = show_path(where)
        return CaseFileError(
            f"{shown}: {message}" if shown else message, path=self.path, line=self.line(where)
        )


def show_path(where: Where) -> str:
    """`("cases", 2, "prompt")` as `cases[2].prompt`."""
    text = ""
    for part in where:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def read_source(path: str | Path) -> Source:
    """Parse the case file at `path`: `.yaml`/`.yml` as YAML, anything else as JSON.

    Raises:
        CaseFileError: The file is missing, unreadable, or not valid YAML/JSON (with its line); or YAML is
            needed and PyYAML is not installed.
    """
    shown = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CaseFileError(f"cannot be read ({type(exc).__name__}: {exc})", path=shown) from None
    if Path(path).suffix.lower() in (".yaml", ".yml"):
        return _read_yaml(text, shown)
    return _read_json(text, shown)


def _read_json(text: str, path: str) -> Source:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CaseFileError(
            f"not valid JSON: {exc.msg} (column {exc.colno})", path=path, line=exc.lineno
        ) from None
    lines: dict[Where, int] = {}
    _JsonLines(text, lines).value(_skip(text, 0), ())
    return Source(path=path, data=data, lines=lines)


def _skip(text: str, index: int) -> int:
    while index < len(text) and text[index] in " \t\r\n":
        index += 1
    return index


class _JsonLines:
    """Walks a JSON text already known to be valid, recording the line each value starts on."""

    def __init__(self, text: str, lines: dict[Where, int]) -> None:
        self.text = text
        self.lines = lines
        self.decoder = json.JSONDecoder()

    def value(self, index: int, where: Where) -> int:
        """Record the value starting at `index`; return the index after it."""
        self.lines[where] = self.text.count("\n", 0, index) + 1
        char = self.text[index]
        if char == "{":
            return self._members(index + 1, where)
        if char == "[":
            return self._items(index + 1, where)
        _, end = self.decoder.raw_decode(self.text, index)
        return int(end)

    def _members(self, index: int, where: Where) -> int:
        index = _skip(self.text, index)
        while self.text[index] != "}":
            key, index = self.decoder.raw_decode(self.text, index)
            index = _skip(self.text, _skip(self.text, index) + 1)  # past the colon
            index = _skip(self.text, self.value(index, (*where, key)))
            if self.text[index] == ",":
                index = _skip(self.text, index + 1)
        return index + 1

    def _items(self, index: int, where: Where) -> int:
        index = _skip(self.text, index)
        position = 0
        while self.text[index] != "]":
            index = _skip(self.text, self.value(index, (*where, position)))
            position += 1
            if self.text[index] == ",":
                index = _skip(self.text, index + 1)
        return index + 1


def _read_yaml(text: str, path: str) -> Source:
    try:
        import yaml
    except ImportError:
        raise CaseFileError(
            "YAML case files need PyYAML: pip install 'agentkit[evals]' (or write the file as JSON)",
            path=path,
        ) from None
    try:
        loader = _loader_class()(text)
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        raise CaseFileError(
            f"not valid YAML: {problem}", path=path, line=mark.line + 1 if mark else None
        ) from None
    except yaml.YAMLError as exc:
        raise CaseFileError(f"not valid YAML: {exc}", path=path) from None
    if node is None:
        return Source(path=path, data=None)
    builder = _Builder(path=path, aliases=loader.aliases, loader=yaml.SafeLoader(""))
    try:
        data = builder.construct(node, (), None)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise CaseFileError(
            f"not valid YAML: {exc.problem or exc.context}", path=path, line=mark.line + 1 if mark else None
        ) from None
    return Source(path=path, data=data, lines=builder.lines)


_Alias = tuple[str, int]
"""An alias as written: the anchor's name, and the line (1-based) of the alias."""


@functools.cache
def _loader_class() -> Any:
    """PyYAML's safe loader, also noting each alias it composes by where it is (`aliases`), so that an error
    about an alias can name its line: composing resolves an alias to the very node anchored."""
    import yaml

    class Loader(yaml.SafeLoader):
        def __init__(self, stream: str) -> None:
            super().__init__(stream)
            self.aliases: dict[tuple[int, object], _Alias] = {}

        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                event = self.peek_event()  # type: ignore[no-untyped-call]
                self.aliases[_slot(parent, index)] = (event.anchor, event.start_mark.line + 1)
            return super().compose_node(parent, index)

    return Loader


def _slot(parent: Any, index: Any) -> tuple[int, object]:
    """Where a node sits: its parent, and its index (a sequence's) or key node (a mapping's)."""
    return id(parent), index if isinstance(index, int) else id(index)


@dataclass(kw_only=True)
class _Builder:
    """Makes plain values of composed YAML nodes, recording the line of each value on the way.

    A node reached again (through an alias) is built again, and so are the aliases inside it: nested aliases
    without a cycle ("billion laughs") would build exponentially many values. Past `MAX_ALIAS_VALUES`
    values built inside repeated nodes, the file is refused, naming the alias being repeated."""

    path: str
    aliases: dict[tuple[int, object], _Alias]
    loader: Any
    lines: dict[Where, int] = field(default_factory=dict)
    seen: set[int] = field(default_factory=set)
    """The nodes built so far (a node built again is an alias's repetition)."""
    repeated: int = 0
    """Values built inside repetitions so far."""
    outermost: tuple[Any, tuple[int, object]] | None = None
    """The repetition being built that is not inside another: the node, and where it sits."""

    def construct(
        self, node: Any, where: Where, slot: tuple[int, object] | None, holders: frozenset[int] = frozenset()
    ) -> Any:
        """The plain value of `node` (at `slot` in its parent; `holders`: the nodes it is inside, so that an
        alias inside its own anchor is an error, not endless recursion)."""
        import yaml

        self.lines[where] = node.start_mark.line + 1
        if id(node) in holders:
            raise yaml.constructor.ConstructorError(
                None, None, "a value holds itself (an alias inside the value anchored here)", node.start_mark
            )
        outermost = self.outermost is None and id(node) in self.seen and slot is not None
        if outermost:
            assert slot is not None
            self.outermost = (node, slot)
        try:
            if self.outermost is not None:
                self.repeated += 1
                if self.repeated > MAX_ALIAS_VALUES:
                    raise self._too_many()
            self.seen.add(id(node))
            return self._value(node, where, holders | {id(node)})
        finally:
            if outermost:
                self.outermost = None

    def _value(self, node: Any, where: Where, holders: frozenset[int]) -> Any:
        import yaml

        if isinstance(node, yaml.MappingNode):
            self.loader.flatten_mapping(node)  # merge keys (<<)
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = self.loader.construct_object(key_node, deep=True)
                if not isinstance(key, (str, int, float, bool)) and key is not None:
                    raise yaml.constructor.ConstructorError(
                        None, None, "a key must be plain text", key_node.start_mark
                    )
                slot = _slot(node, key_node)
                out[key] = self.construct(value_node, (*where, str(key)), slot, holders)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [
                self.construct(item, (*where, i), _slot(node, i), holders)
                for i, item in enumerate(node.value)
            ]
        return self.loader.construct_object(node, deep=True)

    def _too_many(self) -> CaseFileError:
        assert self.outermost is not None
        node, slot = self.outermost
        anchored = node.start_mark.line + 1
        alias = self.aliases.get(slot)
        what = (
            f"the alias *{alias[0]} repeats the value anchored as &{alias[0]} (line {anchored})"
            if alias is not None
            else f"a merge (<<) repeats the value anchored on line {anchored}"
        )
        return CaseFileError(
            f"{what}, and with the aliases inside it the file expands to more than {MAX_ALIAS_VALUES:,} "
            "values (nested aliases, as in a 'billion laughs' file): write the repeated values out, or use "
            "fewer nested aliases",
            path=self.path,
            line=alias[1] if alias is not None else anchored,
        )
