"""Reading a case file: YAML (with the `evals` extra) or JSON, into plain values and the line each value
starts on, so that an error found after parsing still names its line."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..exceptions import UserError

__all__ = ["CaseFileError", "Source", "Where", "read_source"]

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
        node = yaml.compose(text, Loader=yaml.SafeLoader)
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
    lines: dict[Where, int] = {}
    try:
        data = _construct(node, (), lines, yaml.SafeLoader(""))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise CaseFileError(
            f"not valid YAML: {exc.problem or exc.context}", path=path, line=mark.line + 1 if mark else None
        ) from None
    return Source(path=path, data=data, lines=lines)


def _construct(
    node: Any, where: Where, lines: dict[Where, int], loader: Any, holders: frozenset[int] = frozenset()
) -> Any:
    """The plain value of a composed YAML node, the line of each value recorded on the way (`holders`: the
    nodes this one is inside, so that an alias inside its own anchor is an error, not endless recursion)."""
    import yaml

    lines[where] = node.start_mark.line + 1
    if id(node) in holders:
        raise yaml.constructor.ConstructorError(
            None, None, "a value holds itself (an alias inside the value anchored here)", node.start_mark
        )
    holders = holders | {id(node)}
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)  # merge keys (<<)
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                raise yaml.constructor.ConstructorError(
                    None, None, "a key must be plain text", key_node.start_mark
                )
            out[key] = _construct(value_node, (*where, str(key)), lines, loader, holders)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(item, (*where, i), lines, loader, holders) for i, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)
