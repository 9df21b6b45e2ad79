"""Files sent to a model: `ImagePart`, `DocumentPart`, `AudioPart` from paths and bytes (types from the bytes,
sizes capped), the bounded read behind them (missing files, folders, FIFOs, devices, standard input), the
JSON round trip, and the wire format through the real SDK path."""

from __future__ import annotations

import asyncio
import base64
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from agentkit import (
    Agent,
    AudioPart,
    DocumentPart,
    ImagePart,
    TextPart,
    UserError,
    UserMessage,
    messages_from_json,
    messages_to_json,
)
from agentkit import messages as messages_module
from agentkit._support.files import audio_format, document_type, image_type, read_bounded
from agentkit.models import DEFAULT_MODEL
from agentkit.models.openai import OpenAIChatModel
from agentkit.testing import LoopbackServer

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
PDF = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n%%EOF\n"
WAV = b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 24
MP3_ID3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x64" + b"\x00" * 16
MP3_FRAME = b"\xff\xfb\x90\x64" + b"\x00" * 16


def finishes(call: Callable[[], object], seconds: float = 5.0) -> BaseException | None:
    """Run `call` in a thread; fail the test if it has not finished in `seconds` (a read that blocks)."""
    outcome: list[BaseException | None] = []

    def target() -> None:
        try:
            call()
            outcome.append(None)
        except BaseException as exc:  # handed to the test
            outcome.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert outcome, f"still blocked after {seconds} s"
    return outcome[0]


@pytest.fixture
def stdin_from() -> Iterator[Callable[[int], None]]:
    """Make file descriptor 0 another descriptor for the test (restored after)."""
    saved = os.dup(0)

    def use(fd: int) -> None:
        os.dup2(fd, 0)
        os.close(fd)

    try:
        yield use
    finally:
        os.dup2(saved, 0)
        os.close(saved)


# --- types from the bytes ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (PNG, "image/png"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 8, "image/jpeg"),
        (b"GIF89a" + b"\x00" * 8, "image/gif"),
        (b"GIF87a" + b"\x00" * 8, "image/gif"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
        (WAV, None),
        (PDF, None),
        (b"", None),
    ],
)
def test_image_types_come_from_the_bytes(data: bytes, expected: str | None) -> None:
    assert image_type(data) == expected


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (WAV, "wav"),
        (MP3_ID3, "mp3"),
        (MP3_FRAME, "mp3"),
        (b"\xff\xf3\x90\x64", "mp3"),  # MPEG-2 layer III
        (b"\xff\xf1\x50\x80", None),  # ADTS AAC: layer bits 00
        (b"\xff\xeb\x90\x64", None),  # version bits 01: reserved
        (b"\xff\xd8\xff\xe0", None),  # a JPEG
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", None),
        (b"\xff", None),
        (PDF, None),
    ],
)
def test_audio_formats_come_from_the_bytes(data: bytes, expected: str | None) -> None:
    assert audio_format(data) == expected


def test_a_pdf_header_may_follow_a_few_bytes_of_junk() -> None:
    assert document_type(b"\xef\xbb\xbf" + PDF) == "application/pdf"
    assert document_type(b"x" * 2000 + PDF) is None
    assert document_type(PNG) is None


# --- the parts ---------------------------------------------------------------------------------------------


def test_parts_from_paths_carry_the_bytes(tmp_path: Path) -> None:
    (tmp_path / "report.pdf").write_bytes(PDF)
    (tmp_path / "voice.wav").write_bytes(WAV)
    (tmp_path / "song.mp3").write_bytes(MP3_ID3)
    (tmp_path / "photo.jpg").write_bytes(PNG)  # the name says JPEG; the bytes say PNG, and win
    document = DocumentPart.from_path(tmp_path / "report.pdf")
    assert document.filename == "report.pdf"
    assert document.url == "data:application/pdf;base64," + base64.b64encode(PDF).decode()
    assert AudioPart.from_path(tmp_path / "voice.wav") == AudioPart(
        data=base64.b64encode(WAV).decode(), format="wav"
    )
    assert AudioPart.from_path(str(tmp_path / "song.mp3")).format == "mp3"
    assert ImagePart.from_path(tmp_path / "photo.jpg").url.startswith("data:image/png;base64,")


def test_parts_from_bytes_check_the_type() -> None:
    assert DocumentPart.from_bytes(PDF, filename="a.pdf").filename == "a.pdf"
    assert AudioPart.from_bytes(MP3_FRAME).format == "mp3"
    assert ImagePart.from_bytes(PNG).url.startswith("data:image/png;base64,")
    assert (
        ImagePart.from_bytes(b"raw", "image/png").url == "data:image/png;base64,cmF3"
    )  # a given type is trusted
    with pytest.raises(UserError, match=r"document a\.pdf: not a PDF \(no %PDF- header\)"):
        DocumentPart.from_bytes(PNG, filename="a.pdf")
    with pytest.raises(UserError, match="audio: not a WAV or MP3 file"):
        AudioPart.from_bytes(PDF)
    with pytest.raises(UserError, match="image: not a PNG, JPEG, GIF or WebP image"):
        ImagePart.from_bytes(PDF)


def test_a_file_of_the_wrong_type_names_the_file(tmp_path: Path) -> None:
    notes = tmp_path / "notes.pdf"
    notes.write_text("plain text")
    with pytest.raises(UserError, match=f"document {notes}: not a PDF"):
        DocumentPart.from_path(notes)
    with pytest.raises(UserError, match=f"audio {notes}: not a WAV or MP3 file"):
        AudioPart.from_path(notes)
    with pytest.raises(UserError, match=f"image {notes}: not a PNG"):
        ImagePart.from_path(notes)


@pytest.mark.parametrize(
    ("make", "cap", "data"),
    [
        (lambda d: DocumentPart.from_bytes(d), "MAX_DOCUMENT_BYTES", PDF),
        (lambda d: AudioPart.from_bytes(d), "MAX_AUDIO_BYTES", WAV),
        (lambda d: ImagePart.from_bytes(d), "MAX_IMAGE_BYTES", PNG),
    ],
)
def test_sizes_are_capped(
    make: Callable[[bytes], object], cap: str, data: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert getattr(messages_module, cap) == 20 * 1024 * 1024
    monkeypatch.setattr(messages_module, cap, len(data) - 1)
    with pytest.raises(
        UserError, match=f"{len(data)} bytes is over the limit of {len(data) - 1} bytes; make it smaller"
    ):
        make(data)


def test_document_urls() -> None:
    part = DocumentPart.from_url("https://example.com/papers/attention%20is.pdf?x=1")
    assert (part.url, part.filename) == (
        "https://example.com/papers/attention%20is.pdf?x=1",
        "attention is.pdf",
    )
    assert DocumentPart.from_url("https://example.com/").filename == "document.pdf"
    assert DocumentPart.from_url("https://example.com/x", filename="x.pdf").filename == "x.pdf"
    inline = "data:application/pdf;base64," + base64.b64encode(PDF).decode()
    assert DocumentPart.from_url(inline).filename == "document.pdf"
    with pytest.raises(UserError, match="give an http\\(s\\) URL or a data:application/pdf URL"):
        DocumentPart.from_url("ftp://example.com/a.pdf")


def test_a_transcript_with_every_part_round_trips_through_json() -> None:
    parts = [
        TextPart(text="Summarise these."),
        ImagePart.from_bytes(PNG, "image/png"),
        DocumentPart.from_bytes(PDF, filename="r.pdf"),
        DocumentPart.from_url("https://example.com/r.pdf"),
        AudioPart.from_bytes(WAV),
    ]
    transcript = [UserMessage(content=parts)]
    assert messages_from_json(messages_to_json(transcript)) == transcript


# --- the bounded read --------------------------------------------------------------------------------------


def test_a_missing_file_is_a_user_error_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "missing.png"
    for make in (ImagePart.from_path, DocumentPart.from_path, AudioPart.from_path):
        with pytest.raises(UserError, match=f"{missing}: no such file; check the path"):
            make(missing)


def test_a_folder_and_an_unreadable_file_are_user_errors(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=f"document {tmp_path}: is a folder; give a file"):
        DocumentPart.from_path(tmp_path)
    secret = tmp_path / "secret.pdf"
    secret.write_bytes(PDF)
    secret.chmod(0)
    try:
        if os.access(secret, os.R_OK):  # root reads anything
            pytest.skip("running as root: every file is readable")
        with pytest.raises(UserError, match=r"cannot open it \(Permission denied\)"):
            DocumentPart.from_path(secret)
    finally:
        secret.chmod(0o600)


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.pdf"
    os.mkfifo(fifo)
    error = finishes(lambda: DocumentPart.from_path(fifo))  # no writer: a blocking open would wait forever
    assert isinstance(error, UserError)
    assert "is not a regular file (a device, pipe or socket); save its contents to a file" in str(error)


def test_a_fifo_is_refused_when_standard_input_is_closed(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    saved = os.dup(0)
    os.close(0)  # the FIFO is then opened as descriptor 0: it must still not count as standard input
    try:
        error = finishes(lambda: AudioPart.from_path(fifo))
    finally:
        os.dup2(saved, 0)
        os.close(saved)
    assert isinstance(error, UserError)
    assert "is not a regular file" in str(error)


def test_an_open_or_read_error_is_a_user_error(tmp_path: Path) -> None:
    (tmp_path / "file.pdf").write_bytes(PDF)
    with pytest.raises(UserError, match=r"file\.pdf/inner\.pdf: cannot open it \(Not a directory\)"):
        DocumentPart.from_path(tmp_path / "file.pdf" / "inner.pdf")
    if not Path("/proc/self/mem").exists():  # pragma: no cover - not Linux
        pytest.skip("needs /proc/self/mem")
    with pytest.raises(UserError, match=r"file /proc/self/mem: cannot read it \(Input/output error\)"):
        read_bounded("/proc/self/mem", limit=10)  # a regular file whose first page is never mapped


def test_dev_zero_is_refused_and_never_read() -> None:
    error = finishes(lambda: ImagePart.from_path("/dev/zero"))
    assert isinstance(error, UserError)
    assert "image /dev/zero: is not a regular file" in str(error)


def test_a_regular_file_over_the_limit_is_refused_from_its_size(tmp_path: Path) -> None:
    path = tmp_path / "big.bin"
    path.write_bytes(b"x" * 11)
    with pytest.raises(
        UserError, match=f"file {path}: 11 bytes is over the limit of 10 bytes; make it smaller"
    ):
        read_bounded(path, limit=10)
    assert read_bounded(path, limit=11) == b"x" * 11


def test_standard_input_is_read_but_never_past_the_limit(stdin_from: Callable[[int], None]) -> None:
    stdin_from(os.open("/dev/zero", os.O_RDONLY))  # endless: only a bounded read ends
    error = finishes(lambda: read_bounded("/dev/stdin", limit=1000, what="--image"))
    assert isinstance(error, UserError)
    assert str(error) == "--image /dev/stdin: it is over the limit of 1000 bytes; make it smaller"


def test_a_pipe_on_standard_input_is_read_whole_when_it_fits(stdin_from: Callable[[int], None]) -> None:
    read_end, write_end = os.pipe()
    stdin_from(read_end)

    def write() -> None:
        os.write(write_end, PNG)
        os.close(write_end)

    threading.Thread(target=write, daemon=True).start()
    assert ImagePart.from_path("/dev/stdin").url == ImagePart.from_bytes(PNG).url


def test_a_pipe_on_standard_input_over_the_cap_is_refused(
    stdin_from: Callable[[int], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(messages_module, "MAX_IMAGE_BYTES", 64 * 1024)
    read_end, write_end = os.pipe()
    stdin_from(read_end)
    written: list[int] = []

    def write() -> None:
        try:
            for _ in range(1000):  # 1,000 x 16 KiB, far past the cap; the reader stops long before
                written.append(os.write(write_end, PNG + b"\x00" * (16 * 1024 - len(PNG))))
        except BrokenPipeError:
            pass
        finally:
            os.close(write_end)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    error = finishes(lambda: ImagePart.from_path("/dev/stdin"))
    assert isinstance(error, UserError)
    assert str(error) == f"image /dev/stdin: it is over the limit of {64 * 1024} bytes; make it smaller"


# --- the wire, through the SDK ------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
def test_documents_and_audio_on_the_wire(tmp_path: Path, stream: bool) -> None:
    (tmp_path / "report.pdf").write_bytes(PDF)
    (tmp_path / "voice.mp3").write_bytes(MP3_FRAME)
    prompt: list[Any] = [
        TextPart(text="What do these say?"),
        DocumentPart.from_path(tmp_path / "report.pdf"),
        DocumentPart.from_url("https://example.com/paper.pdf"),
        AudioPart.from_path(tmp_path / "voice.mp3"),
    ]
    with LoopbackServer(["They agree."]) as server:
        agent = Agent(OpenAIChatModel(DEFAULT_MODEL, base_url=server.base_url, api_key="sk-test"))
        if stream:

            async def go() -> None:
                async with agent.run_stream(prompt) as run:
                    async for _ in run:
                        pass

            asyncio.run(go())
        else:
            agent.run_sync(prompt)
    assert server.bodies[0]["messages"][-1]["content"] == [
        {"type": "text", "text": "What do these say?"},
        {
            "type": "file",
            "file": {
                "filename": "report.pdf",
                "file_data": "data:application/pdf;base64," + base64.b64encode(PDF).decode(),
            },
        },
        {"type": "file", "file": {"filename": "paper.pdf", "file_data": "https://example.com/paper.pdf"}},
        {
            "type": "input_audio",
            "input_audio": {"data": base64.b64encode(MP3_FRAME).decode(), "format": "mp3"},
        },
    ]
