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

__all__ = ["data"]

_STEP = re.compile(r"""\.?([A-Za-z_][\w-]*)|\[(\*|-?\d+)\]|\[\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)')\s*\]""")
_FILTER = re.compile(r"^\s*(.+?)\s*(==|!=|>=|<=|>|<|=| contains | startswith )\s*(.*?)\s*$", re.S)


def data(root: str | os.PathLike[str], *, max_bytes: int = 10_000_000) -> list[Tool[..., Any]]:
    """`query_json` and `query_csv` on the files under `root`.

    Args:
        root: The folder the files are in; paths the model gives are relative to it and cannot leave it.
        max_bytes: The largest file read.
    """
    if max_bytes < 1:
        raise UserError("data(): max_bytes must be at least 1.")
    reader = _DataReader(Root(root), max_bytes)
    return [Tool(reader.query_json, name="query_json"), Tool(reader.query_csv, name="query_csv")]


class _DataReader:
    def __init__(self, root: Root, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes

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
        try:
            document = json.loads(self._text(path))
        except json.JSONDecodeError as exc:
            raise ModelRetry(f"{path!r} is not valid JSON: {exc}.") from None
        values, _ = _select([document], query.strip().removeprefix("$"))
        result = values if "[*]" in query else values[0]
        return json.dumps(result, ensure_ascii=False, indent=1)

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


def _filter(text: str, index: dict[str, int]) -> Callable[[list[str]], bool]:
    match = _FILTER.match(text)
    if match is None:
        raise ModelRetry(f"Cannot read the filter {text!r}; write 'column operator value', e.g. 'age >= 30'.")
    name, operator, wanted = match.group(1), match.group(2).strip(), match.group(3).strip("'\"")
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
