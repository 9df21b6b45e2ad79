"""`--file` for `run`, `chat` and `batch` (PDF, WAV, MP3 by their bytes; a PDF URL), and files the command
line must refuse without hanging or reading forever: a FIFO, /dev/zero, an oversized standard input."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cli_support import cli_env, records

from agentkit.cli import ExitCode, main
from agentkit.messages import MAX_IMAGE_BYTES
from agentkit.testing import LoopbackServer

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
PDF = b"%PDF-1.4\n%%EOF\n"
WAV = b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 24
MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00\xff\xfb\x90\x64"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    paths = {"pdf": tmp_path / "report.pdf", "wav": tmp_path / "voice", "mp3": tmp_path / "song.bin"}
    paths["pdf"].write_bytes(PDF)
    paths["wav"].write_bytes(WAV)  # no suffix: the bytes tell
    paths["mp3"].write_bytes(MP3)
    return paths


def test_run_sends_files_by_their_type(server: LoopbackServer, files: dict[str, Path]) -> None:
    server.add("Read them.")
    argv = ["run", "What is in these?", "--file", str(files["pdf"]), "--file", str(files["wav"])]
    argv += ["--file", str(files["mp3"]), "--file", "https://example.com/a/paper.pdf"]
    assert main(argv) == ExitCode.OK
    assert server.bodies[0]["messages"][-1]["content"] == [
        {"type": "text", "text": "What is in these?"},
        {
            "type": "file",
            "file": {"filename": "report.pdf", "file_data": f"data:application/pdf;base64,{b64(PDF)}"},
        },
        {"type": "input_audio", "input_audio": {"data": b64(WAV), "format": "wav"}},
        {"type": "input_audio", "input_audio": {"data": b64(MP3), "format": "mp3"}},
        {"type": "file", "file": {"filename": "paper.pdf", "file_data": "https://example.com/a/paper.pdf"}},
    ]


def test_run_sends_an_image_given_as_a_file_and_images_first(
    server: LoopbackServer, files: dict[str, Path], tmp_path: Path
) -> None:
    image = tmp_path / "pic"
    image.write_bytes(PNG)
    server.add("ok")
    assert main(["run", "x", "--file", str(files["pdf"]), "--image", str(image), "--file", str(image)]) == 0
    kinds = [p["type"] for p in server.bodies[0]["messages"][-1]["content"]]
    assert kinds == ["text", "image_url", "file", "image_url"]


def test_bad_files_fail_before_any_request(
    server: LoopbackServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    notes = tmp_path / "notes.pdf"
    notes.write_text("not a pdf")
    fifo = tmp_path / "pipe.pdf"
    os.mkfifo(fifo)
    cases = {
        str(tmp_path / "missing.pdf"): "no such file; check the path",
        str(tmp_path): "is a folder; give a file",
        str(notes): "not a PDF, WAV, MP3 or image file",
        str(fifo): "is not a regular file (a device, pipe or socket)",
        "/dev/zero": "is not a regular file",
        "ftp://example.com/a.pdf": "give a file path, or the http(s) URL of a PDF",
    }
    for source, expected in cases.items():
        assert main(["run", "x", "--file", source]) == ExitCode.USAGE
        err = capsys.readouterr().err
        assert err.startswith(f"agentkit run: error: --file {source[:20]}"), err
        assert expected in err
    assert server.requests == []


@pytest.mark.parametrize("flag", ["--image", "--file"])
def test_standard_input_over_the_cap_is_refused(flag: str, tmp_path: Path) -> None:
    big = PNG + b"\x00" * (MAX_IMAGE_BYTES + 1024 * 1024)  # more than the cap: the read stops at cap + 1 byte
    done = subprocess.run(
        [sys.executable, "-m", "agentkit", "run", "x", flag, "/dev/stdin"],
        env=cli_env("http://127.0.0.1:9/v1"),
        input=big,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == ExitCode.USAGE, done.stderr
    assert f"{flag} /dev/stdin: it is over the limit of 20.0 MiB; make it smaller" in done.stderr.decode()


def test_standard_input_within_the_cap_is_sent(tmp_path: Path) -> None:
    with LoopbackServer(["A PDF."]) as server:
        done = subprocess.run(
            [sys.executable, "-m", "agentkit", "run", "x", "--file", "/dev/stdin"],
            env=cli_env(server.base_url),
            input=PDF,
            capture_output=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == ExitCode.OK, done.stderr
    part = server.bodies[0]["messages"][-1]["content"][1]
    assert part["file"]["file_data"] == f"data:application/pdf;base64,{b64(PDF)}"


def test_chat_sends_files_with_the_first_message_and_after_reset(
    files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = iter(["first", "second", "/reset", "third"])

    def fake_input(prompt: str = "") -> str:
        try:
            return next(lines)
        except StopIteration:
            raise EOFError from None

    with LoopbackServer(["One.", "Two.", "Three."]) as server:
        monkeypatch.setenv("AGENTKIT_BASE_URL", server.base_url)
        monkeypatch.setenv("AGENTKIT_API_KEY", "test-key")
        monkeypatch.setattr("builtins.input", fake_input)
        assert main(["chat", "--file", str(files["pdf"])]) == ExitCode.OK
    first, second, third = (b["messages"] for b in server.bodies)
    assert first[-1]["content"][1]["type"] == "file"
    assert second[0]["content"][1]["type"] == "file"  # still in the history
    assert second[-1]["content"] == "second"
    assert [p["type"] for p in third[-1]["content"]] == ["text", "file"]


def test_chat_refuses_a_bad_file_before_starting(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["chat", "--file", str(tmp_path / "nope.pdf")]) == ExitCode.USAGE
    assert "--file" in capsys.readouterr().err


def test_batch_sends_the_files_with_every_task(
    server: LoopbackServer, files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tasks, out = tmp_path / "tasks.jsonl", tmp_path / "out.jsonl"
    tasks.write_text("".join(json.dumps({"id": f"t{i}", "prompt": f"q{i}"}) + "\n" for i in range(3)))
    server.add("a", "b", "c")
    monkeypatch.chdir(tmp_path)
    assert main(["batch", str(tasks), "--out", str(out), "--file", "report.pdf", "--concurrency", "1"]) == 0
    assert sorted(r["id"] for r in records(out)) == ["t0", "t1", "t2"]
    contents: list[Any] = [b["messages"][-1]["content"] for b in server.bodies]
    assert sorted(c[0]["text"] for c in contents) == ["q0", "q1", "q2"]
    assert all(c[1]["file"]["filename"] == "report.pdf" for c in contents)


def test_batch_refuses_a_bad_file_before_any_task(
    server: LoopbackServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tasks, out = tmp_path / "tasks.jsonl", tmp_path / "out.jsonl"
    tasks.write_text(json.dumps({"prompt": "q"}) + "\n")
    assert main(["batch", str(tasks), "--out", str(out), "--file", "/dev/zero"]) == ExitCode.USAGE
    assert "--file /dev/zero: is not a regular file" in capsys.readouterr().err
    assert server.requests == [] and not out.exists()
