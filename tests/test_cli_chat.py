"""`agentkit chat` in a real pseudo-terminal against the loopback server (history, streaming, commands,
Ctrl-C), and its commands in-process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cli_support import TOOLS_FILE, Terminal, cli_env

from agentkit import Agent
from agentkit.cli import ExitCode, main
from agentkit.cli._chat import ChatSession
from agentkit.testing import HTTPError, LoopbackServer, RawStream, ScriptedModel, tool_call_response

PROMPT = "you> "


def _roles(body: dict[str, Any]) -> list[tuple[str, str]]:
    return [(m["role"], m.get("content") or "") for m in body["messages"]]


def test_a_session_keeps_history_streams_and_obeys_commands(tmp_path: Path) -> None:
    (tmp_path / "my_tools.py").write_text(TOOLS_FILE, encoding="utf-8")
    slow = RawStream(events=[": OPENROUTER PROCESSING"] * 600, delay=0.05)
    script = [
        tool_call_response("lookup", {"city": "Oslo"}),
        "Oslo has about 700000 people.",
        slow,  # Ctrl-C stops this one
        "Bergen is smaller.",
        "Hello again.",
    ]
    with LoopbackServer(script) as server:
        chat = Terminal("chat", "--tools", "my_tools.py", env=cli_env(server.base_url), cwd=str(tmp_path))
        chat.read_until(PROMPT)
        chat.type("How many people live in Oslo?\r")
        shown = chat.read_until(PROMPT)
        assert 'lookup(city="Oslo")' in shown
        assert "Oslo has about 700000 people." in shown
        chat.type("And Bergen?\r")
        chat.read_until("turn 1: waiting for")
        chat.type("\x03")  # Ctrl-C: the answer stops, the session goes on
        assert "(stopped; this exchange is left out of the conversation)" in chat.read_until(PROMPT)
        chat.type("Is Bergen smaller?\r")
        assert "Bergen is smaller." in chat.read_until(PROMPT)
        chat.type("/usage\r")
        assert "session: 3 requests, 54 tokens" in chat.read_until(PROMPT)  # the stopped one: unpaid
        chat.type("/reset\r")
        chat.read_until(PROMPT)
        chat.type("Hi.\r")
        assert "Hello again." in chat.read_until(PROMPT)
        chat.type("\x04")  # Ctrl-D at the prompt ends the session
        assert chat.finish() == ExitCode.OK
    assert "\x1b[" in chat.screen  # styled: a terminal
    bodies = server.bodies
    assert all(body["stream"] is True for body in bodies)
    assert _roles(bodies[3]) == [
        ("user", "How many people live in Oslo?"),
        ("assistant", ""),
        ("tool", "Oslo: 700000 people"),
        ("assistant", "Oslo has about 700000 people."),
        ("user", "Is Bergen smaller?"),  # the stopped exchange is not in the history
    ]
    assert _roles(bodies[4]) == [("user", "Hi.")]  # after /reset


def test_ctrl_c_at_the_prompt_ends_the_session() -> None:
    with LoopbackServer() as server:
        chat = Terminal("chat", env=cli_env(server.base_url))
        chat.read_until(PROMPT)
        chat.type("\x03")
        assert chat.finish(again="\x03") == ExitCode.INTERRUPTED
    assert server.requests == []


def test_an_error_is_one_line_and_the_session_goes_on() -> None:
    with LoopbackServer([HTTPError(status=401, message="invalid key"), "Fine now."]) as server:
        chat = Terminal("chat", env=cli_env(server.base_url))
        chat.read_until(PROMPT)
        chat.type("Hello?\r")
        assert "agentkit chat: ModelAPIError: " in chat.read_until(PROMPT)
        chat.type("Hello again?\r")
        assert "Fine now." in chat.read_until(PROMPT)
        chat.type("/exit\r")
        assert chat.finish() == ExitCode.OK
    assert _roles(server.bodies[1]) == [("user", "Hello again?")]


def test_piped_chat_answers_each_line_without_escape_codes(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with LoopbackServer(["One.", "Two."]) as server:
        monkeypatch.setenv("AGENTKIT_BASE_URL", server.base_url)
        monkeypatch.setenv("AGENTKIT_API_KEY", "test-key")
        monkeypatch.setattr("sys.stdin", _Lines("first\n", "\n", "second\n", "/usage\n", "/nope\n"))
        assert main(["chat", "--instructions", "Be brief."]) == ExitCode.OK
    out, err = capsys.readouterr()
    assert "One.\n" in out and "Two.\n" in out
    assert "session: 2 requests, 36 tokens (22 in, 14 out), $0.0000084" in out
    assert "unknown command /nope; commands: /reset, /usage, /exit, /help" in out
    assert "\x1b" not in out + err
    assert _roles(server.bodies[1]) == [
        ("system", "Be brief."),
        ("user", "first"),
        ("assistant", "One."),
        ("user", "second"),
    ]


def test_commands(capsys: pytest.CaptureFixture[str]) -> None:
    session = ChatSession(Agent(ScriptedModel(["x"])), terminal=False)
    session.history = [object()]  # type: ignore[list-item]
    assert session.command("/help") is False
    assert session.command("/reset") is False
    assert session.history == []
    assert session.command("/QUIT") is True
    out = capsys.readouterr().out
    assert "/reset   forget the conversation so far" in out
    assert "(the conversation is forgotten" in out


class _Lines:
    """A stdin that is no terminal, giving `lines`, then end of file."""

    def __init__(self, *lines: str) -> None:
        self.lines = list(lines)

    def readline(self) -> str:
        return self.lines.pop(0) if self.lines else ""

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        raise OSError("no file")
