"""docs/tool-safety.md: its Python examples run, and what it quotes is what the code says."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest
from agentkit_tools import files
from agentkit_tools._confine import namespace_prefix

from agentkit.mcp._serve import approval_note

PAGE = Path(__file__).parent.parent / "docs" / "tool-safety.md"


def test_the_python_examples_run_and_print_what_they_say(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    if namespace_prefix() is None:
        pytest.skip("the example prints the namespace sentence; this system refuses namespaces")
    monkeypatch.chdir(tmp_path)
    blocks = re.findall(r"```python\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.S)
    assert blocks
    for block in blocks:
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compile(block, str(PAGE), "exec"), {})
        expected = [line[2:] for line in block.splitlines() if line.startswith("# ")]
        assert printed.getvalue().splitlines() == expected


def test_the_quoted_start_up_lines_are_the_servers(tmp_path: Path) -> None:
    (tmp_path / "ws").mkdir()
    tools = files(tmp_path / "ws", write=True)
    note = approval_note(tools, allow_unapproved=False)
    text = " ".join(PAGE.read_text(encoding="utf-8").split())
    assert f"agentkit mcp: {note}" in text
    assert "serving 5 tool(s) over stdio: " + ", ".join(t.name for t in tools) in text
