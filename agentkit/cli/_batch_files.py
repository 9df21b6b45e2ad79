"""The files of `agentkit batch`: the tasks it reads and the results file it appends to.

Tasks are JSON lines, `{"id": ..., "prompt": ..., "images": [...]}` (a `.jsonl` or `.ndjson` file), or any
other file read as plain text, one prompt per line, its id the line number. Every line is checked before
anything runs: a bad one stops the command with `CliError` naming the file and the line.

The results file gets one JSON object per finished task (`result_line`). Reading it back
(`answered_ids`) takes the ids with an error-free line; a line a crash cut short is not JSON and is skipped,
so that task runs again. `ResultsFile` only ever appends, ending a cut-short line first.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from ..usage import Usage
from ._exit import CliError

__all__ = ["ResultsFile", "Task", "answered_ids", "read_tasks", "result_line"]

JSONL_SUFFIXES = (".jsonl", ".ndjson")


@dataclass(kw_only=True, frozen=True)
class Task:
    """One task of a batch."""

    id: str | int
    """Its id, as the tasks file gives it (the line number for a text file, or a JSON line without one)."""
    prompt: str
    images: tuple[str, ...] = ()
    """Image paths (resolved against the tasks file's folder) or URLs, sent with the prompt."""
    files: tuple[str, ...] = ()
    """`--file` paths or URLs (PDF, WAV, MP3), sent with the prompt after the images."""
    line: int = 0
    """Where it is in the tasks file (1 is the first line)."""

    @property
    def key(self) -> str:
        """The id as compared with the results file's ids (`1` and `"1"` are the same task)."""
        return str(self.id)


def read_tasks(path: Path) -> list[Task]:
    """The tasks in `path`, in order; raises `CliError` for a file that cannot be read or a bad line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise CliError(f"{path}: cannot read the tasks ({reason})") from None
    lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    if path.suffix.lower() in JSONL_SUFFIXES:
        tasks, errors = _json_tasks(lines, path.parent)
    else:
        tasks, errors = [Task(id=n, prompt=line.strip(), line=n) for n, line in lines], []
    errors.extend(_duplicates(tasks))
    if errors:
        errors.sort(key=lambda error: error[0])
        first, more = errors[0], len(errors) - 1
        shown = f"; {more} more bad line{'s' if more > 1 else ''}" if more else ""
        raise CliError(f"{path}, line {first[0]}: {first[1]}{shown}; nothing was run")
    if not tasks:
        raise CliError(f"{path}: no tasks in it")
    return tasks


def _json_tasks(lines: list[tuple[int, str]], folder: Path) -> tuple[list[Task], list[tuple[int, str]]]:
    tasks: list[Task] = []
    errors: list[tuple[int, str]] = []
    for n, line in lines:
        try:
            tasks.append(_json_task(n, line, folder))
        except ValueError as exc:
            errors.append((n, str(exc)))
    return tasks, errors


def _json_task(n: int, line: str, folder: Path) -> Task:
    try:
        record = json.loads(line)
    except ValueError as exc:
        raise ValueError(f"not JSON ({exc})") from None
    if not isinstance(record, dict):
        raise ValueError(f'give a JSON object, {{"id": ..., "prompt": ...}}, not {type(record).__name__}')
    prompt = record.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise ValueError('"prompt" is missing or not a non-empty string')
    task_id = record.get("id", n)
    if isinstance(task_id, bool) or not isinstance(task_id, (str, int)):
        raise ValueError(f'"id" must be a string or a whole number, not {json.dumps(task_id)}')
    images = record.get("images", [])
    if not isinstance(images, list) or not all(isinstance(i, str) for i in images):
        raise ValueError('"images" must be a list of paths or URLs')
    return Task(id=task_id, prompt=prompt, images=tuple(_image(i, folder) for i in images), line=n)


def _image(source: str, folder: Path) -> str:
    if "://" in source or source.startswith("data:"):
        return source
    path = folder / Path(source).expanduser()
    if not path.is_file():
        raise ValueError(f"image {source!r}: no such file (paths are relative to the tasks file)")
    return str(path)


def _duplicates(tasks: list[Task]) -> list[tuple[int, str]]:
    seen: dict[str, int] = {}
    errors = []
    for task in tasks:
        if task.key in seen:
            errors.append((task.line, f"id {json.dumps(task.id)} was already used on line {seen[task.key]}"))
        else:
            seen[task.key] = task.line
    return errors


def answered_ids(path: Path) -> set[str]:
    """The ids (as `Task.key`) that have an error-free line in the results file at `path`."""
    answered: set[str] = set()
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return answered
    except OSError as exc:
        raise CliError(f"--out {path}: cannot read it ({exc.strerror or exc})") from None
    with handle:
        for raw in handle:
            try:
                record = json.loads(raw)
            except ValueError:
                continue  # cut short by a crash, or not ours: that task runs again
            if isinstance(record, dict) and "id" in record and record.get("error") is None:
                answered.add(str(record["id"]))
    return answered


def result_line(
    task: Task, *, output: Any, usage: Usage | None, model: str | None, error: Any, duration_s: float
) -> str:
    """One results line (ending in a newline): id, output, model, usage, cost, error, duration."""
    record = {
        "id": task.id,
        "output": output,
        "model": model,
        "usage": None if usage is None else {**asdict(usage), "total_tokens": usage.total_tokens},
        "cost_usd": None if usage is None else usage.cost_usd,
        "error": error,
        "duration_s": round(duration_s, 3),
    }
    return json.dumps(record, ensure_ascii=False) + "\n"


class ResultsFile:
    """The results file, opened for appending; each line is written and flushed at once (a crash loses
    at most the line being written, which the next run skips)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._handle: IO[str] = path.open("a", encoding="utf-8")
        except OSError as exc:
            raise CliError(f"--out {path}: cannot write to it ({exc.strerror or exc})") from None
        if _ends_mid_line(path):
            self.write("\n")  # end the line a crash cut short: it stays unreadable, the next ones whole

    def write(self, line: str) -> None:
        """Append `line` and hand it to the operating system now."""
        self._handle.write(line)
        self._handle.flush()

    def close(self) -> None:
        """Close the file."""
        self._handle.close()


def _ends_mid_line(path: Path) -> bool:
    with path.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        if handle.tell() == 0:
            return False
        handle.seek(-1, os.SEEK_END)
        return handle.read(1) != b"\n"
