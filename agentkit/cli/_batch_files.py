"""The files of `agentkit batch`: the tasks it reads and the results file it appends to.

Tasks are JSON lines, `{"id": ..., "prompt": ..., "images": [...]}` (a `.jsonl` or `.ndjson` file), or any
other file read as plain text, one prompt per line, its id the line number. Only a newline (`\n`, or
`\r\n`) ends a line: U+2028, form feeds and the like stay inside their task. Every line is checked before
anything runs: a bad one stops the command with `CliError` naming the file and the line.

The results file gets one JSON object per finished task (`result_line`). It must be a regular file, not the
tasks file, and not in use by another batch: `ResultsFile` opens it once, takes an exclusive lock on it
(`flock`, held until it is closed; not on Windows), and refuses the rest with `CliError`. Reading it back
(`ResultsFile.answered`) takes the ids with an error-free line; a line a crash cut short is not JSON and is
skipped, so that task runs again. `ResultsFile` only ever appends, ending a cut-short line first.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from collections.abc import Iterable
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
        text = path.read_bytes().decode("utf-8")  # no newline translation: only `\n` ends a line
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise CliError(f"{path}: cannot read the tasks ({reason})") from None
    lines = [(n, line) for n, line in enumerate(_lines(text), 1) if line.strip()]
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


def _lines(text: str) -> list[str]:
    """`text`'s lines, ended by `\n` (or `\r\n`) only: `str.splitlines` would also split on U+2028, `\f`,
    `\x85` and others, which a JSON string may hold raw and a prompt may contain."""
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()  # the newline ending the last line
    return [line.removesuffix("\r") for line in lines]


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


def answered_ids(lines: Iterable[bytes]) -> set[str]:
    """The ids (as `Task.key`) that have an error-free line among a results file's `lines`."""
    answered: set[str] = set()
    for raw in lines:
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
    """The results file, open for reading back and appending, and locked against other batches until
    `close`. Each line is written and flushed at once (a crash loses at most the line being written, which
    the next run skips).

    Args:
        path: The file (created if missing).
        tasks: The tasks file, which `path` must not be.

    Raises:
        CliError: `path` cannot be opened, is not a regular file (a pipe such as `/dev/stdout` would be read
            from forever), is the tasks file, or another batch holds its lock.
    """

    def __init__(self, path: Path, *, tasks: Path | None = None) -> None:
        self.path = path
        fd = _open_results(path)
        try:
            _check(path, os.fstat(fd), tasks)
            _lock(path, fd)
        except BaseException:
            os.close(fd)
            raise
        self._handle: IO[bytes] = open(fd, "a+b")  # noqa: SIM115 (open as long as the ResultsFile)
        if _ends_mid_line(self._handle):
            self.write("\n")  # end the line a crash cut short: it stays unreadable, the next ones whole

    def answered(self) -> set[str]:
        """The ids (as `Task.key`) with an error-free line in the file."""
        self._handle.seek(0)
        return answered_ids(self._handle)

    def write(self, line: str) -> None:
        """Append `line` and hand it to the operating system now."""
        self._handle.write(line.encode("utf-8"))
        self._handle.flush()

    def close(self) -> None:
        """Close the file, which ends the lock."""
        self._handle.close()


def _open_results(path: Path) -> int:
    # non-blocking: opening a FIFO must not wait for a writer before it can be refused
    flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        return os.open(path, flags, 0o666)
    except OSError as exc:
        raise CliError(f"--out {path}: cannot write to it ({exc.strerror or exc})") from None


_KINDS = {
    stat.S_IFIFO: "a pipe",
    stat.S_IFCHR: "a character device",
    stat.S_IFSOCK: "a socket",
    stat.S_IFBLK: "a block device",
}


def _check(path: Path, opened: os.stat_result, tasks: Path | None) -> None:
    if not stat.S_ISREG(opened.st_mode):
        kind = _KINDS.get(stat.S_IFMT(opened.st_mode), "not a file")
        raise CliError(
            f"--out {path}: not a regular file ({kind}); the results file must be a file, read back to resume "
            "and appended to"
        )
    task_file = os.stat(tasks) if tasks is not None else None  # read already: it is there
    if task_file is not None and (task_file.st_dev, task_file.st_ino) == (opened.st_dev, opened.st_ino):
        raise CliError(f"--out {path}: that is the tasks file; give another file for the results")


def _lock(path: Path, fd: int) -> None:
    """Take the exclusive lock that marks the file as a running batch's (none on Windows)."""
    if sys.platform == "win32":  # pragma: no cover
        return
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise CliError(
            f"--out {path}: another batch is writing to it (the file is locked); wait for it to end, or give "
            "another results file"
        ) from None
    except OSError as exc:  # a file system without locks, say
        raise CliError(f"--out {path}: cannot lock it ({exc.strerror or exc})") from None


def _ends_mid_line(handle: IO[bytes]) -> bool:
    handle.seek(0, os.SEEK_END)
    if handle.tell() == 0:
        return False
    handle.seek(-1, os.SEEK_END)
    return handle.read(1) != b"\n"
