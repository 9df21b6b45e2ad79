"""`files(root)`: list, read and search the files of one folder, and (`write=True`) write and edit them.

Every path is relative to `root` and checked by `Root` (see `_paths`): no `..`, no absolute, home, drive or
UNC paths, no NUL bytes, no symbolic link that leads outside, no fifo, device or socket, and reads are capped.
A refused path raises `ModelRetry`, whose message tells the model what to write instead; so does every
failure of the operating system, naming only the relative path. Writes replace the file through a temporary
one: a read-only file is not replaced, and a replaced file keeps its permission bits without setuid, setgid or
sticky. `edit_file` refuses to replace a file saved by someone else since it read it (a conflict the model is
told to resolve by reading again). Odd names (line breaks, control characters, bytes that are not UTF-8) are
shown escaped in listings. See docs/tool-safety.md.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import secrets
import stat
from typing import Any, BinaryIO

from agentkit import ModelRetry, Tool, UserError

from ._paths import Root, open_regular, reported, split

__all__ = ["MAX_ENTRIES", "MAX_MATCHES", "files"]

MAX_ENTRIES = 500
"""Entries `list_files` returns at most (it says when it stopped)."""
MAX_MATCHES = 100
"""Matching lines `search_files` returns at most."""
MAX_SCAN_BYTES = 64 * 1024 * 1024
"""Bytes `read_file` reads through at most to reach a line range."""
_BINARY_PROBE = 8192
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def files(
    root: str | os.PathLike[str],
    *,
    write: bool = False,
    max_read_bytes: int = 100_000,
    max_write_bytes: int = 1_000_000,
    require_approval: bool = True,
) -> list[Tool[..., Any]]:
    """Tools on the files under `root`: `list_files`, `read_file`, `search_files`; with `write=True` also
    `write_file` and `edit_file`.

    Args:
        root: The folder the tools work in; paths the model gives are relative to it and cannot leave it.
        write: Add `write_file` and `edit_file` (off by default: the model can only read).
        max_read_bytes: Bytes one read returns at most; a larger file must be read by line ranges. Files
            larger than this are also skipped by `search_files` beyond ten times this size.
        max_write_bytes: Bytes one write may store (and the largest file `edit_file` edits).
        require_approval: Writing and editing need a person's approval of each call (`requires_approval`
            on the tools). `False` lets them run unattended.
    """
    if max_read_bytes < 1 or max_write_bytes < 1:
        raise UserError("files(): max_read_bytes and max_write_bytes must be at least 1.")
    folder = Root(root)
    reader = _Reader(folder, max_read_bytes)
    tools: list[Tool[..., Any]] = [
        Tool(reader.list_files, name="list_files"),
        Tool(reader.read_file, name="read_file"),
        Tool(reader.search_files, name="search_files"),
    ]
    if write:
        writer = _Writer(folder, max_write_bytes)
        tools += [
            Tool(writer.write_file, name="write_file", requires_approval=require_approval, sequential=True),
            Tool(writer.edit_file, name="edit_file", requires_approval=require_approval, sequential=True),
        ]
    return tools


class _Reader:
    def __init__(self, root: Root, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes

    def list_files(self, path: str = ".", recursive: bool = False) -> str:
        """List the files and folders in a folder (folders end with '/', files show their size in bytes).

        Args:
            path: The folder, relative to the working folder ('.' is the working folder itself).
            recursive: Also list everything inside the sub-folders.
        """
        relative = self.root.resolve(path or ".")
        lines: list[str] = []
        with reported(relative), self.root.directory(relative) as fd:
            if recursive:
                for folder, dirs, names, folder_fd in os.fwalk(".", dir_fd=fd, follow_symlinks=False):
                    dirs.sort()
                    prefix = "" if folder == "." else folder[2:] + "/"
                    for name in sorted(dirs + names):
                        lines.append(_entry(prefix + name, folder_fd, name))
                        if len(lines) > MAX_ENTRIES:
                            break
                    if len(lines) > MAX_ENTRIES:
                        break
            else:
                with os.scandir(fd) as entries:
                    for entry in sorted(entries, key=lambda e: e.name):
                        lines.append(_entry(entry.name, fd, entry.name))
        if not lines:
            return f"{_shown(relative)} is empty."
        if len(lines) > MAX_ENTRIES:
            lines[MAX_ENTRIES:] = [f"[stopped after {MAX_ENTRIES} entries: list a sub-folder]"]
        return "\n".join(lines)

    def read_file(self, path: str, start_line: int = 1, end_line: int | None = None) -> str:
        """Read a text file, whole or a range of its lines.

        Args:
            path: The file, relative to the working folder.
            start_line: The first line to return (1 is the first line of the file).
            end_line: The last line to return (included); leave it out to read to the end.
        """
        if start_line < 1 or (end_line is not None and end_line < start_line):
            raise ModelRetry("Lines are numbered from 1, and end_line must not be before start_line.")
        relative = self.root.resolve(path)
        with reported(relative), self.root.open_file(relative) as (file, info):
            _refuse_binary(file, relative)
            whole = start_line == 1 and end_line is None
            if whole and info.st_size > self.max_bytes:
                raise ModelRetry(
                    f"{relative!r} has {info.st_size} bytes, more than the {self.max_bytes} one read returns; "
                    "read it in parts with start_line and end_line (search_files finds the lines you need)."
                )
            return self._lines(file, relative, start_line, end_line)

    def _lines(self, file: BinaryIO, relative: str, start: int, end: int | None) -> str:
        taken: list[bytes] = []
        limit = self.max_bytes + 1
        size = scanned = number = 0
        while end is None or number < end:
            line = file.readline(limit)
            if not line:
                break
            number += 1
            scanned += len(line)
            while True:
                if scanned > MAX_SCAN_BYTES:
                    raise ModelRetry(f"Line {start} of {relative!r} is too far into the file to reach.")
                if number >= start or len(line) < limit or line.endswith(b"\n"):
                    break
                line = file.readline(limit)  # the rest of a long line before the range
                scanned += len(line)
            if number < start:
                continue
            size += len(line)
            if size > self.max_bytes:
                fits = number - start
                hint = (
                    f"ask for start_line={start}, end_line={start + fits - 1}"
                    if fits
                    else "that line is too long"
                )
                raise ModelRetry(
                    f"Those lines of {relative!r} are more than the {self.max_bytes} bytes one read returns; {hint}."
                )
            taken.append(line)
        if number < start:
            raise ModelRetry(f"{relative!r} has only {number} lines; start_line must be at most that.")
        return b"".join(taken).decode("utf-8", errors="replace")

    def search_files(self, text: str, path: str = ".", ignore_case: bool = False) -> str:
        """Find the lines that contain a text, in every file under a folder.

        Args:
            text: The exact text to look for (not a pattern).
            path: The folder to search in, relative to the working folder ('.' searches everything).
            ignore_case: Match upper and lower case alike.
        """
        if not text or "\n" in text:
            raise ModelRetry("Give a non-empty text of one line to search for.")
        needle = text.lower() if ignore_case else text
        relative = self.root.resolve(path or ".")
        matches: list[str] = []
        with reported(relative), self.root.directory(relative) as fd:
            for folder, dirs, names, folder_fd in os.fwalk(".", dir_fd=fd, follow_symlinks=False):
                dirs.sort()
                prefix = _join(relative, "" if folder == "." else folder[2:])
                for name in sorted(names):
                    self._search_one(folder_fd, name, prefix + name, needle, ignore_case, matches)
                    if len(matches) >= MAX_MATCHES:
                        matches.append(f"[stopped after {MAX_MATCHES} matches: search a sub-folder]")
                        return "\n".join(matches)
        return "\n".join(matches) if matches else f"No line contains {text!r}."

    def _search_one(
        self, folder_fd: int, name: str, shown: str, needle: str, ignore_case: bool, matches: list[str]
    ) -> None:
        info = os.stat(name, dir_fd=folder_fd, follow_symlinks=False)
        if not stat.S_ISREG(info.st_mode) or info.st_size > 10 * self.max_bytes:
            return
        with os.fdopen(open_regular(folder_fd, name, shown), "rb") as file:
            if b"\x00" in file.read(_BINARY_PROBE):
                return
            file.seek(0)
            for number, raw in enumerate(file, 1):
                line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
                if needle in (line.lower() if ignore_case else line):
                    matches.append(f"{_escaped(shown)}:{number}: {_escaped(line[:300])}")
                    if len(matches) >= MAX_MATCHES:
                        return


class _Writer:
    def __init__(self, root: Root, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes

    def write_file(self, path: str, content: str) -> str:
        """Create a text file, or replace all of an existing one (missing folders are created).

        Args:
            path: The file, relative to the working folder.
            content: The whole new content of the file.
        """
        data = content.encode("utf-8")
        if len(data) > self.max_bytes:
            raise ModelRetry(f"That is {len(data)} bytes; one write stores at most {self.max_bytes}.")
        relative = self.root.resolve(path)
        with reported(relative):
            self._store(relative, data)
        return f"Wrote {len(data)} bytes to {relative}."

    def edit_file(self, path: str, old_text: str, new_text: str, replace_all: bool = False) -> str:
        """Replace a piece of text in a file by another.

        Args:
            path: The file, relative to the working folder.
            old_text: The exact text to replace, copied from the file (with enough lines around it to be
                unique).
            new_text: The text to put in its place.
            replace_all: Replace every occurrence instead of exactly one.
        """
        if not old_text:
            raise ModelRetry("old_text cannot be empty; copy the text to replace from the file.")
        relative = self.root.resolve(path)
        with reported(relative), self.root.open_file(relative) as (file, info):
            if info.st_size > self.max_bytes:
                raise ModelRetry(
                    f"{relative!r} has {info.st_size} bytes; files above {self.max_bytes} are not edited."
                )
            raw = file.read()
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise ModelRetry(f"{relative!r} is not UTF-8 text; it cannot be edited.") from None
        read = _Version(info, hashlib.sha256(raw).digest())
        count = text.count(old_text)
        if count == 0:
            raise ModelRetry(f"old_text is not in {relative!r}; read the file and copy the text exactly.")
        if count > 1 and not replace_all:
            raise ModelRetry(
                f"old_text occurs {count} times in {relative!r}; add the lines around it to make it unique, "
                "or set replace_all."
            )
        replaced = count if replace_all else 1
        size = len(text.encode("utf-8")) + replaced * (
            len(new_text.encode("utf-8")) - len(old_text.encode("utf-8"))
        )
        if size > self.max_bytes:  # known before the new text is built
            raise ModelRetry(f"The edited file would have {size} bytes; at most {self.max_bytes} are stored.")
        data = text.replace(old_text, new_text, replaced).encode("utf-8")
        with reported(relative):
            self._store(relative, data, expected=read)
        return f"Replaced {replaced} occurrence(s) in {relative}."

    def _store(self, relative: str, data: bytes, *, expected: _Version | None = None) -> None:
        """Write `data` to a new file beside the target, then rename it over the target (never through a link).

        An existing target keeps its permissions, without setuid, setgid or sticky bits; a read-only one is
        refused. With `expected` (what `edit_file` read), a target that changed since is a conflict."""
        head, name = split(relative)
        with self.root.directory(head, create=True) as parent:
            mode: int | None = None
            try:
                info = os.stat(name, dir_fd=parent, follow_symlinks=False)
            except FileNotFoundError:
                info = None
            if info is not None:
                if not stat.S_ISREG(info.st_mode):
                    raise ModelRetry(f"{relative!r} exists and is not a regular file; it cannot be written.")
                if not info.st_mode & 0o222:
                    raise ModelRetry(
                        f"{relative!r} is read-only (it has no write permission); it was not changed."
                    )
                mode = stat.S_IMODE(info.st_mode) & 0o777
            if expected is not None:
                _check_unchanged(parent, name, relative, info, expected)
            temporary = f".{_cut(name, 100)}.{secrets.token_hex(6)}.tmp"
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
            fd = os.open(temporary, flags, 0o600 if mode is not None else 0o666, dir_fd=parent)
            try:
                with os.fdopen(fd, "wb") as file:
                    file.write(data)
                    if mode is not None:
                        os.fchmod(file.fileno(), mode)
                os.replace(temporary, name, src_dir_fd=parent, dst_dir_fd=parent)
            except BaseException:
                os.unlink(temporary, dir_fd=parent)
                raise


@dataclasses.dataclass(frozen=True)
class _Version:
    """What `edit_file` read: the file's identity, size and times, and a hash of its bytes."""

    info: os.stat_result
    digest: bytes


def _check_unchanged(
    parent: int, name: str, relative: str, info: os.stat_result | None, read: _Version
) -> None:
    """Refuse to replace a file that was saved (or replaced, or removed) after `edit_file` read it."""
    conflict = ModelRetry(
        f"{relative!r} changed after edit_file read it (someone else saved it meanwhile); the edit was not "
        "applied. Read the file again and redo the edit on its new content."
    )
    if info is None:
        raise conflict
    before = read.info
    if (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns) != (
        before.st_dev,
        before.st_ino,
        before.st_size,
        before.st_mtime_ns,
    ):
        raise conflict
    with os.fdopen(open_regular(parent, name, relative), "rb") as file:  # a save within the clock's tick
        if hashlib.sha256(file.read(before.st_size + 1)).digest() != read.digest:
            raise conflict


def _cut(name: str, limit: int) -> str:
    """The start of `name` in at most `limit` bytes (a file name is limited in bytes, not characters), cut at a
    character's edge."""
    return os.fsencode(name)[:limit].decode("utf-8", "ignore")


def _escaped(text: str) -> str:
    """`text` with line breaks, other control characters and undecodable bytes written as escapes (`\\x0a`,
    `\\u2028`), so a file name or a line cannot forge entries in a listing or make the text unsendable."""
    return _UNPRINTABLE.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    code = ord(match[0])
    if 0xDC80 <= code <= 0xDCFF:  # a byte that is not UTF-8, as os.fsdecode keeps it
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _entry(path: str, folder_fd: int, name: str) -> str:
    info = os.stat(name, dir_fd=folder_fd, follow_symlinks=False)
    shown = _escaped(path)
    odd = " [odd name, shown escaped]" if shown != path else ""
    if stat.S_ISDIR(info.st_mode):
        return f"{shown}/{odd}"
    if stat.S_ISREG(info.st_mode):
        return f"{shown} ({info.st_size} bytes){odd}"
    if stat.S_ISLNK(info.st_mode):
        return f"{shown} (symbolic link){odd}"
    return f"{shown} (special file){odd}"


def _refuse_binary(file: BinaryIO, relative: str) -> None:
    if b"\x00" in file.read(_BINARY_PROBE):
        raise ModelRetry(f"{relative!r} is a binary file, not text; it cannot be read as text.")
    file.seek(0)


def _join(relative: str, sub: str) -> str:
    parts = [p for p in (relative, sub) if p and p != "."]
    return "/".join(parts) + "/" if parts else ""


def _shown(relative: str) -> str:
    return "The folder" if relative == "." else repr(relative)
