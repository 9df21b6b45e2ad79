"""Files sent to a model (images, documents, audio): a bounded read, and the type the bytes show.

`read_bounded` never reads more than `limit + 1` bytes and never blocks on a named pipe: a path is opened
non-blocking, and anything but a regular file is refused, except the process's own standard input
(`/dev/stdin`, `-` where the caller maps it), which is read as the user asked, still bounded. A missing,
unreadable or oversized file is a `UserError` naming the file and saying what to do.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ..exceptions import UserError

__all__ = ["audio_format", "document_type", "image_type", "read_bounded", "size_text"]

_CHUNK = 1024 * 1024
_IMAGE_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def size_text(n: int) -> str:
    """A byte count for people: `20.0 MiB`, `512 bytes`."""
    return f"{n / 1024 / 1024:.1f} MiB" if n >= 1024 * 1024 else f"{n} bytes"


def read_bounded(path: str | os.PathLike[str], *, limit: int, what: str = "file") -> bytes:
    """The bytes of the file at `path`, at most `limit` of them.

    Args:
        path: A regular file, or the process's standard input (`/dev/stdin`).
        limit: The most bytes accepted; one byte more is read to tell a file that is too large.
        what: How the file is named in errors (`"image"`, `"--file"`).

    Raises:
        UserError: The file is missing, a folder, unreadable, a device, pipe or socket other than standard
            input, or larger than `limit`.
    """
    shown = os.fspath(path)
    try:
        fd = os.open(Path(shown).expanduser(), os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise UserError(f"{what} {shown}: no such file; check the path") from None
    except OSError as exc:
        raise UserError(f"{what} {shown}: cannot open it ({exc.strerror or exc})") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise UserError(f"{what} {shown}: is a folder; give a file")
        if stat.S_ISREG(info.st_mode):
            if info.st_size > limit:
                raise _too_large(f"{size_text(info.st_size)} is", limit, what, shown)
        elif _is_stdin(fd, info):
            os.set_blocking(fd, True)  # standard input is read as asked, like any pipe a user points at us
        else:
            raise UserError(
                f"{what} {shown}: is not a regular file (a device, pipe or socket); save its contents to a file "
                "and give that"
            )
        data = _read(fd, limit)
    except OSError as exc:
        raise UserError(f"{what} {shown}: cannot read it ({exc.strerror or exc})") from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise _too_large("it is", limit, what, shown)
    return data


def _is_stdin(fd: int, info: os.stat_result) -> bool:
    """Whether `fd` (just opened) is the process's standard input. When `fd` is 0 itself, standard input was
    closed and the path merely took its number: it is not standard input."""
    if fd == 0:
        return False
    try:
        return os.path.samestat(info, os.fstat(0))
    except OSError:  # pragma: no cover - fd 0 closed again by another thread since the open
        return False


def _read(fd: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while total <= limit:
        chunk = os.read(fd, min(_CHUNK, limit + 1 - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def _too_large(subject: str, limit: int, what: str, shown: str) -> UserError:
    return UserError(f"{what} {shown}: {subject} over the limit of {size_text(limit)}; make it smaller")


def image_type(data: bytes) -> str | None:
    """The image media type the first bytes show (PNG, JPEG, GIF, WebP), or None."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return next((media for magic, media in _IMAGE_SIGNATURES if data.startswith(magic)), None)


def document_type(data: bytes) -> str | None:
    """`application/pdf` when the bytes are a PDF (`%PDF-` within the first 1024 bytes, as readers allow)."""
    return "application/pdf" if b"%PDF-" in data[:1024] else None


def audio_format(data: bytes) -> str | None:
    """`"wav"` or `"mp3"` as the bytes show (a RIFF/WAVE header; an ID3 tag or an MPEG audio frame sync)."""
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "wav"
    if data.startswith(b"ID3"):
        return "mp3"
    sync = len(data) >= 2 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0
    if sync and data[1] & 0x06 and data[1] & 0x18 != 0x08:
        return "mp3"  # an MPEG frame sync, with a version and a layer that are not "reserved"
    return None
