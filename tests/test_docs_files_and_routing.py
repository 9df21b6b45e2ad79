"""Every code block of docs/files-and-routing.md runs, against the loopback server, and sends what the page
says it sends."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from agentkit.models.openai import OpenAIChatModel
from agentkit.testing import LoopbackServer

PAGE = Path(__file__).resolve().parent.parent / "docs" / "files-and-routing.md"
BLOCKS = re.findall(r"```python\n(.*?)```", PAGE.read_text(encoding="utf-8"), flags=re.DOTALL)


def test_the_page_has_its_four_examples() -> None:
    assert len(BLOCKS) == 4


def test_every_block_runs_and_sends_what_the_page_says(
    server: LoopbackServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(OpenAIChatModel, "is_openrouter", property(lambda self: True))  # as on openrouter.ai
    (tmp_path / "report.pdf").write_bytes(b"%PDF-1.7\n%%EOF\n")
    (tmp_path / "call.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 24)
    (tmp_path / "chart.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 16)
    server.add(*["Answered."] * len(BLOCKS))
    for block in BLOCKS:
        exec(compile(block, str(PAGE), "exec"), {})
    files, routed, extra, cached = server.bodies
    assert [p["type"] for p in files["messages"][-1]["content"]] == [
        "text",
        "file",
        "file",
        "input_audio",
        "image_url",
    ]
    assert files["messages"][-1]["content"][2]["file"]["file_data"] == "https://example.com/annual-report.pdf"
    assert routed["provider"] == {
        "order": ["google-vertex", "google-ai-studio"],
        "allow_fallbacks": False,
        "data_collection": "deny",
        "zdr": True,
        "max_price": {"prompt": 0.5, "completion": 3},
    }
    assert "Answered.\nGoogle\n" in capsys.readouterr().out
    assert extra["session_id"] == "ticket-4711"
    assert cached["messages"][0]["content"][0]["cache_control"] == {"type": "ephemeral"}
    assert cached["messages"][-1]["content"][0]["cache_control"] == {"type": "ephemeral"}
