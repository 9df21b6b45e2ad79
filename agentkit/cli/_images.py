"""`--image` and `--file`: a path or a URL, made a content part after checks that fail before any request.

Files are read with a bounded read (`agentkit._support.files.read_bounded`): never more than the cap plus one byte,
never blocking on a named pipe; devices, pipes and sockets are refused except standard input (`/dev/stdin`).
Their type comes from their bytes, not their name.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .._support.files import audio_format, document_type, image_type, read_bounded
from ..exceptions import UserError
from ..messages import (
    MAX_AUDIO_BYTES,
    MAX_DOCUMENT_BYTES,
    MAX_IMAGE_BYTES,
    AudioPart,
    DocumentPart,
    ImagePart,
)
from ._exit import CliError

__all__ = ["MAX_FILE_BYTES", "MAX_IMAGE_BYTES", "add_file_argument", "load_file", "load_image"]

MAX_FILE_BYTES = max(MAX_DOCUMENT_BYTES, MAX_AUDIO_BYTES, MAX_IMAGE_BYTES)
"""The most `--file` reads; each kind then has its own cap."""
_URL_SCHEMES = ("http://", "https://")


def add_file_argument(parser: argparse.ArgumentParser, when: str) -> None:
    """Add `--file` (repeatable) to a command; `when` says when the files are sent."""
    parser.add_argument(
        "--file",
        action="append",
        default=[],
        metavar="PATH_OR_URL",
        help=f"a file to send {when}: a PDF, WAV or MP3 (or image) file up to {MAX_FILE_BYTES // 1024 // 1024} "
        "MiB, its type read from its bytes, or the http(s) URL of a PDF (repeatable)",
    )


def load_image(source: str) -> ImagePart:
    """An `ImagePart` for a path (read now, sent inline) or an `http(s):` / `data:image/` URL (sent as is).

    Raises:
        CliError: For a file that cannot be read, is not a PNG, JPEG, GIF or WebP image, or is larger
            than `MAX_IMAGE_BYTES`; for a URL of another scheme.
    """
    if source.startswith(_URL_SCHEMES) or source.startswith("data:image/"):
        return ImagePart(url=source)
    if "://" in source or source.startswith("data:"):
        raise CliError(f"--image {source[:60]}: give a file path, an http(s) URL or a data:image/ URL")
    try:
        data = read_bounded(source, limit=MAX_IMAGE_BYTES, what="--image")
        if image_type(data) is None:
            raise UserError(f"--image {source}: not a PNG, JPEG, GIF or WebP image")
        return ImagePart.from_bytes(data)
    except UserError as exc:
        raise CliError(_named(exc.message, f"--image {source}")) from None


def load_file(source: str) -> DocumentPart | AudioPart | ImagePart:
    """A part for `--file`: a PDF, WAV or MP3 file (an image file too), by what its bytes are; or an
    `http(s):` or `data:application/pdf` URL of a PDF (the provider fetches it).

    Raises:
        CliError: For a file that cannot be read, is too large, or is none of those types; for another URL.
    """
    if source.startswith(_URL_SCHEMES) or source.startswith("data:application/pdf"):
        return DocumentPart.from_url(source)
    if "://" in source or source.startswith("data:"):
        raise CliError(f"--file {source[:60]}: give a file path, or the http(s) URL of a PDF")
    try:
        data = read_bounded(source, limit=MAX_FILE_BYTES, what="--file")
        what = f"--file {source}"
        if document_type(data):
            return DocumentPart.from_bytes(data, filename=Path(source).name or "document.pdf")
        if audio_format(data):
            return AudioPart.from_bytes(data)
        if image_type(data):
            return ImagePart.from_bytes(data)
        raise UserError(f"{what}: not a PDF, WAV, MP3 or image file (its first bytes say otherwise)")
    except UserError as exc:
        raise CliError(_named(exc.message, f"--file {source}")) from None


def _named(message: str, name: str) -> str:
    """`message` starting with the flag and file it is about."""
    return message if message.startswith(name.split()[0]) else f"{name}: {message}"
