"""`Root`: a folder the file tools may not leave, and the checks that keep a model's paths inside it.

A path the model gives is checked twice:

1. As text: no NUL or control characters, no absolute, home (`~`), drive (`C:`) or UNC (`\\\\server`) forms, no
   backslashes, no `..` component. Nothing is decoded: `%2e%2e` or a full-width dot is a literal file name.
2. On disk: `os.path.realpath` resolves symbolic links and the result must lie under the root
   (`os.path.commonpath`). Then the resolved path is opened one component at a time from a descriptor of the
   root, each with `O_NOFOLLOW`: a link swapped in after the check (a race) makes the open fail instead of
   leading outside. Only regular files are read or written (never fifos, devices or sockets).
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
from collections.abc import Iterator
from typing import BinaryIO

from agentkit import ModelRetry, UserError

__all__ = ["MAX_PATH_CHARS", "Root", "check_text", "open_regular", "reported", "split"]

MAX_PATH_CHARS = 1024
_RESOLVE_TRIES = 3
_DRIVE = re.compile(r"^[A-Za-z]:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def check_text(path: str) -> None:
    """Refuse a path whose text could name something outside the root, saying what to write instead."""
    if "\x00" in path:
        raise ModelRetry(f"{path!r}: a path cannot contain a NUL byte.")
    if _CONTROL.search(path):
        raise ModelRetry(f"{path!r}: a path cannot contain control characters.")
    if len(path) > MAX_PATH_CHARS:
        raise ModelRetry(f"A path is at most {MAX_PATH_CHARS} characters; this one has {len(path)}.")
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        raise ModelRetry(f"{path!r} is not valid text (a lone surrogate); write the name as it is.") from None
    if path.startswith("~"):
        raise ModelRetry(
            f"{path!r}: '~' is not expanded; give the path relative to the folder, e.g. 'notes.txt'."
        )
    if "\\" in path:
        raise ModelRetry(f"{path!r}: use '/' between folders; backslashes (Windows paths) are not accepted.")
    if _DRIVE.match(path):
        raise ModelRetry(f"{path!r}: drive letters are not accepted; give the path relative to the folder.")
    if path.startswith("/"):
        raise ModelRetry(
            f"{path!r} is absolute; give the path relative to the folder, e.g. 'docs/a.txt' (not '/docs/a.txt')."
        )
    if ".." in path.split("/"):
        raise ModelRetry(f"{path!r}: '..' is not allowed; every path stays inside the folder.")


def _parts(relative: str) -> list[str]:
    return [p for p in relative.split("/") if p not in ("", ".")]


class Root:
    """A folder, resolved once; every path is checked against it and opened without following links."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        if not (hasattr(os, "O_NOFOLLOW") and os.open in os.supports_dir_fd):  # pragma: no cover - Windows
            raise UserError("The file tools need a POSIX system (os.open with dir_fd and O_NOFOLLOW).")
        path = os.path.realpath(os.fspath(root))
        if not os.path.isdir(path):
            raise UserError(f"The root {os.fspath(root)!r} is not an existing folder.")
        self.path = path

    def resolve(self, path: str) -> str:
        """`path` checked (text, then links resolved) -> its form relative to the root, `.` for the root."""
        check_text(path)
        real = _realpath(os.path.join(self.path, path), path)
        if os.path.commonpath([real, self.path]) != self.path:
            raise ModelRetry(
                f"{path!r} leads outside the folder (through a symbolic link); it cannot be used."
            )
        return os.path.relpath(real, self.path)

    @contextlib.contextmanager
    def directory(self, relative: str, *, create: bool = False) -> Iterator[int]:
        """A descriptor of the folder `relative` (resolved), opened component by component without links."""
        fd = os.open(self.path, _DIR_FLAGS)
        try:
            for part in _parts(relative):
                try:
                    if create:
                        with contextlib.suppress(FileExistsError):
                            os.mkdir(part, 0o777, dir_fd=fd)
                    child = os.open(part, _DIR_FLAGS, dir_fd=fd)
                except OSError as exc:
                    if _is_link(fd, part):
                        exc.errno = errno.ELOOP
                    raise _explain(relative, exc, "folder") from None
                os.close(fd)
                fd = child
            yield fd
        finally:
            os.close(fd)

    @contextlib.contextmanager
    def open_file(self, relative: str) -> Iterator[tuple[BinaryIO, os.stat_result]]:
        """The regular file `relative` (resolved) opened for reading, with its `stat`."""
        head, name = split(relative)
        with self.directory(head) as parent:
            fd = open_regular(parent, name, relative)
            with os.fdopen(fd, "rb") as file:
                yield file, os.fstat(file.fileno())


def _realpath(full: str, shown: str) -> str:
    """`os.path.realpath(full)`, tried again when a link or folder is swapped while it runs (a race raises
    `OSError` naming the absolute path); the model is told only about `shown`."""
    for _ in range(_RESOLVE_TRIES - 1):
        with contextlib.suppress(OSError):
            return os.path.realpath(full)
    try:
        return os.path.realpath(full)
    except OSError:
        raise ModelRetry(
            f"{shown!r} kept changing while it was being checked (a folder or link replaced); try again."
        ) from None


def split(relative: str) -> tuple[str, str]:
    """`a/b/c.txt` -> (`a/b`, `c.txt`); refuses the root itself, which is not a file."""
    parts = _parts(relative)
    if not parts:
        raise ModelRetry("That is the folder itself; give the path of a file in it.")
    return "/".join(parts[:-1]) or ".", parts[-1]


def open_regular(parent: int, name: str, shown: str) -> int:
    """Open `name` in the folder `parent` for reading if it is a regular file (not a link, fifo, device)."""
    try:
        before = os.stat(name, dir_fd=parent, follow_symlinks=False)
    except OSError as exc:
        raise _explain(shown, exc, "file") from None
    _require_regular(shown, before)
    try:
        fd = os.open(name, _READ_FLAGS, dir_fd=parent)
    except OSError as exc:  # pragma: no cover - swapped between the stat and the open
        raise _explain(shown, exc, "file") from None
    after = os.fstat(fd)
    if (after.st_dev, after.st_ino) != (before.st_dev, before.st_ino) or not stat.S_ISREG(after.st_mode):
        os.close(fd)  # pragma: no cover - swapped between the stat and the open
        raise ModelRetry(f"{shown!r} changed while it was opened; try again.")  # pragma: no cover
    return fd


def _is_link(parent: int, name: str) -> bool:
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=parent, follow_symlinks=False).st_mode)
    except OSError:
        return False


@contextlib.contextmanager
def reported(shown: str) -> Iterator[None]:
    """Any `OSError` inside becomes a `ModelRetry` saying what went wrong with `shown`."""
    try:
        yield
    except OSError as exc:
        raise _explain(shown, exc, "file") from None


def _require_regular(shown: str, info: os.stat_result) -> None:
    mode = info.st_mode
    if stat.S_ISREG(mode):
        return
    if stat.S_ISDIR(mode):
        raise ModelRetry(f"{shown!r} is a folder, not a file; list it with list_files.")
    if stat.S_ISLNK(mode):
        raise ModelRetry(f"{shown!r} is a symbolic link that cannot be followed safely.")
    raise ModelRetry(f"{shown!r} is a special file (fifo, device or socket); only regular files can be used.")


def _explain(shown: str, exc: OSError, kind: str) -> ModelRetry:
    if exc.errno == errno.ENOENT:
        return ModelRetry(f"No {kind} {shown!r}; list the folder with list_files to see what exists.")
    if exc.errno in (errno.ELOOP, errno.EMLINK):
        return ModelRetry(f"{shown!r} is a symbolic link that cannot be followed safely.")
    if exc.errno == errno.ENOTDIR:
        return ModelRetry(f"{shown!r}: a part of this path is not a folder.")
    if exc.errno == errno.ENAMETOOLONG:
        return ModelRetry(f"{shown[:80]!r}...: a name in this path is too long.")
    if exc.errno == errno.EACCES:
        return ModelRetry(f"{shown!r}: permission denied.")
    return ModelRetry(f"{shown!r}: {exc.strerror or exc}.")
