"""`--image`: a file path or a URL, made an `ImagePart` after checks that fail before any request."""

from __future__ import annotations

from pathlib import Path

from ..messages import ImagePart
from ._exit import CliError

__all__ = ["MAX_IMAGE_BYTES", "load_image"]

MAX_IMAGE_BYTES = 20 * 1024 * 1024
"""The largest image file sent (20 MiB, OpenAI's limit for one image; OpenRouter passes images on)."""

_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
_URL_SCHEMES = ("http://", "https://")


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
    path = Path(source).expanduser()
    try:
        if path.is_dir():
            raise CliError(f"--image {source}: is a folder, not an image file")
        size = path.stat().st_size
        if size > MAX_IMAGE_BYTES:
            raise CliError(
                f"--image {source}: {_size(size)} is over the limit of {_size(MAX_IMAGE_BYTES)}; make it smaller"
            )
        data = path.read_bytes()
    except OSError as exc:
        raise CliError(f"--image {source}: cannot read it ({exc.strerror or exc})") from None
    media_type = _media_type(data)
    if media_type is None:
        raise CliError(f"--image {source}: not a PNG, JPEG, GIF or WebP image")
    return ImagePart.from_bytes(data, media_type)


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MiB" if n >= 1024 * 1024 else f"{n} bytes"


def _media_type(data: bytes) -> str | None:
    """The image type the file's first bytes show (not its name, which may say anything)."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return next((media for magic, media in _SIGNATURES if data.startswith(magic)), None)
