"""Every code block of docs/wire.md runs: the example test, and the preflight's output exactly as shown."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from agentkit.cli import ExitCode, main

PAGE = Path(__file__).resolve().parents[1] / "docs" / "wire.md"
BLOCKS = re.findall(r"```(\w+)\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.DOTALL)


def _blocks(kind: str) -> list[str]:
    return [code for language, code in BLOCKS if language == kind]


def test_the_example_runs() -> None:
    example = next(code for code in _blocks("python") if "check_gemini_history" in code)
    exec(compile(example, str(PAGE), "exec"), {"__name__": "docs_wire"})


def test_the_preflight_prints_what_the_page_shows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "path", list(sys.path))
    source = next(code for code in _blocks("python") if "preflight" in code or "class Step" in code)
    (tmp_path / "preflight_tools.py").write_text(source, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    argv = ["tools", "preflight_tools.py", "--model", "google/gemini-2.5-flash", "--check"]
    assert main(argv) == ExitCode.RUN_FAILED
    captured = capsys.readouterr()
    out, err = (code for code in _blocks("text") if code.startswith(("2 tools", "agentkit tools:")))
    assert captured.out == out
    assert captured.err == err
