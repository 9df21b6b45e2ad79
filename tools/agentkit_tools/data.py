"""`data(root)`: `query_json` (a path into a JSON file) and `query_csv` (rows of a CSV file by column filters).

Files are opened like the file tools open them (see `_paths`): relative to `root`, never outside it.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from collections.abc import Callable
from typing import Any

from agentkit import ModelRetry, Tool, UserError

from ._paths import Root, reported

__all__ = ["MAX_FILTER_CHARS", "data"]

_STEP = re.compile(r"""\.?([A-Za-z_][\w-]*)|\[(\*|-?\d+)\]|\[\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)')\s*\]""")
_OPERATORS = ("==", "!=", ">=", "<=", ">", "<", "=", " contains ", " startswith ")
"""Filter operators, the longer before their prefixes: at one position the first that matches wins."""
MAX_FILTER_CHARS = 200
"""Characters a `query_csv` filter may have."""


def data(
    root: str | os.PathLike[str], *, max_bytes: int = 10_000_000, max_result_chars: int = 100_000
) -> list[Tool[..., Any]]:
    """`query_json` and `query_csv` on the files under `root`.

    Args:
        root: The folder the files are in; paths the model gives are relative to it and cannot leave it.
        max_bytes: The largest file read.
        max_result_chars: Characters of JSON `query_json` returns at most; a longer result is cut, and the
            model told so.
    """
    if max_bytes < 1 or max_result_chars < 1:
        raise UserError("data(): max_bytes and max_result_chars must be at least 1.")
    reader = _DataReader(Root(root), max_bytes, max_result_chars)
    return [Tool(reader.query_json, name="query_json"), Tool(reader.query_csv, name="query_csv")]


class _DataReader:
    def __init__(self, root: Root, max_bytes: int, max_result_chars: int) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self.max_result_chars = max_result_chars

    def _text(self, path: str) -> str:
        relative = self.root.resolve(path)
        with reported(relative), self.root.open_file(relative) as (file, info):
            if info.st_size > self.max_bytes:
                raise ModelRetry(
                    f"{relative!r} has {info.st_size} bytes; files above {self.max_bytes} are not read."
                )
            return file.read(self.max_bytes + 1).decode("utf-8-sig", errors="replace")

    def query_json(self, path: str, query: str = "") -> str:
        """Read a JSON file, or the part of it a path selects.

        Args:
            path: The JSON file, relative to the working folder.
            query: Which part: keys and indexes such as "users[0].email", "users[*].name" (every item),
                'config["key with spaces"]'; empty for the whole document.
        """
        text = self._text(path)
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ModelRetry(f"{path!r} is not valid JSON: {exc}.") from None
        except RecursionError:
            raise ModelRetry(f"{path!r} is nested too deeply to be read.") from None
        values, _ = _select([document], query.strip().removeprefix("$"))
        result = values if "[*]" in query else values[0]
        return _dump(result, self.max_result_chars)

    def query_csv(
        self, path: str, where: list[str] | None = None, columns: list[str] | None = None, limit: int = 50
    ) -> str:
        """Read the rows of a CSV file that match every filter, as CSV with a header line.

        Args:
            path: The CSV file, relative to the working folder.
            where: Filters a row must all pass, each "column operator value" with an operator among
                == != > >= < <= contains startswith, e.g. ["country == Norway", "population > 100000"].
                Numbers are compared as numbers.
            columns: The columns to return (all when left out).
            limit: Rows returned at most.
        """
        text = self._text(path)
        try:
            dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t|")
        except csv.Error:
            dialect = csv.excel
        rows = list(csv.reader(io.StringIO(text), dialect))
        if not rows:
            raise ModelRetry(f"{path!r} has no rows.")
        header, body = rows[0], rows[1:]
        index = {name: i for i, name in enumerate(header)}
        tests = [_filter(f, index) for f in where or []]
        shown = [_column(c, index) for c in columns] if columns else list(range(len(header)))
        matching = [row for row in body if all(test(row) for test in tests)]
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([header[i] for i in shown])
        for row in matching[: max(limit, 0)]:
            writer.writerow([row[i] if i < len(row) else "" for i in shown])
        more = f" (the first {limit} shown)" if len(matching) > limit else ""
        return f"{len(matching)} of {len(body)} rows match{more}.\n{out.getvalue()}"


def _dump(value: Any, limit: int) -> str:
    """`value` as compact JSON, encoded piece by piece and cut past `limit` characters (with a note)."""
    pieces: list[str] = []
    size = 0
    try:
        for piece in json.JSONEncoder(ensure_ascii=False).iterencode(value):
            pieces.append(piece)
            size += len(piece)
            if size > limit:
                text = "".join(pieces)[:limit]
                return (
                    f"{text}\n[cut: the result is longer than {limit} characters; select a part with query]"
                )
    except RecursionError:
        raise ModelRetry("The result is nested too deeply to be shown; select a part with query.") from None
    return "".join(pieces)


def _select(values: list[Any], query: str) -> tuple[list[Any], str]:
    position, at = 0, "$"
    while position < len(query):
        step = _STEP.match(query, position)
        if step is None:
            raise ModelRetry(
                f"Cannot read the query at {query[position:]!r}; write keys and indexes: a.b[0].c"
            )
        position = step.end()
        key, item, quoted, single = step.groups()
        chosen: list[Any] = []
        if item is not None:
            for value in values:
                chosen += _items(value, item, at)
            at += f"[{item}]"
        else:
            name = key if key is not None else (single if single is not None else json.loads(f'"{quoted}"'))
            chosen = [_member(value, name, at) for value in values]
            at += f".{name}" if key is not None else f"[{json.dumps(name)}]"
        values = chosen
    return values, at


def _items(value: Any, item: str, at: str) -> list[Any]:
    if not isinstance(value, list):
        raise ModelRetry(f"{at} is not a list, so it has no [{item}].")
    if item == "*":
        return value
    number = int(item)
    if not -len(value) <= number < len(value):
        raise ModelRetry(f"{at} has {len(value)} items; [{item}] is not one of them.")
    return [value[number]]


def _member(value: Any, name: str, at: str) -> Any:
    if not isinstance(value, dict):
        raise ModelRetry(f"{at} is not an object, so it has no key {name!r}.")
    if name not in value:
        keys = ", ".join(list(value)[:30])
        raise ModelRetry(f"{at} has no key {name!r}; its keys: {keys}.")
    return value[name]


def _column(name: str, index: dict[str, int]) -> int:
    if name in index:
        return index[name]
    folded = {key.strip().lower(): i for key, i in index.items()}
    if name.strip().lower() in folded:
        return folded[name.strip().lower()]
    raise ModelRetry(f"No column {name!r}; the columns are: {', '.join(index)}.")


def _number(text: str) -> float | None:
    try:
        return float(text.replace(",", "")) if text.strip() else None
    except ValueError:
        return None


def _split_filter(text: str) -> tuple[str, str, str]:
    """ "column operator value" split at the first operator (one pass, no backtracking)."""
    if len(text) > MAX_FILTER_CHARS:
        raise ModelRetry(f"A filter has at most {MAX_FILTER_CHARS} characters; that one has {len(text)}.")
    stripped = text.strip()
    for at in range(1, len(stripped)):
        for operator in _OPERATORS:
            if stripped.startswith(operator, at):
                wanted = stripped[at + len(operator) :].strip().strip("'\"")
                return stripped[:at].strip(), operator.strip(), wanted
    raise ModelRetry(f"Cannot read the filter {text!r}; write 'column operator value', e.g. 'age >= 30'.")


def _filter(text: str, index: dict[str, int]) -> Callable[[list[str]], bool]:
    name, operator, wanted = _split_filter(text)
    column = _column(name, index)
    target = _number(wanted)

    def test(row: list[str]) -> bool:
        cell = row[column].strip() if column < len(row) else ""
        if operator == "contains":
            return wanted.lower() in cell.lower()
        if operator == "startswith":
            return cell.lower().startswith(wanted.lower())
        value = _number(cell)
        left: Any = cell
        right: Any = wanted
        if target is not None and value is not None:
            left, right = value, target
        elif operator in ("==", "=", "!="):
            left, right = cell.lower(), wanted.lower()
        if operator in ("==", "="):
            return bool(left == right)
        if operator == "!=":
            return bool(left != right)
        if operator == ">":
            return bool(left > right)
        if operator == ">=":
            return bool(left >= right)
        if operator == "<":
            return bool(left < right)
        return bool(left <= right)

    return test
