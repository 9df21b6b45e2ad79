"""`--approve` on the command line: ask on the terminal, run all, or deny all (batch's default)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from cli_support import tools_module

from agentkit import ToolCall
from agentkit.cli import main
from agentkit.cli._approve import DENIED_UNATTENDED, approver
from agentkit.testing import LoopbackServer, tool_call_response

TOOLS = '''
from agentkit import tool

SENT = []

@tool(requires_approval=True)
def send(to: str) -> str:
    """Send a message."""
    return f"sent to {to}"
'''

CALL = ToolCall(id="c1", name="send", arguments='{"to": "ann"}')


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def tools_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return tools_module(tmp_path, monkeypatch, TOOLS, "gated_tools")


@pytest.mark.parametrize(
    ("typed", "decision"),
    [("y\n", True), ("YES\n", True), ("\n", False), ("n\n", False), ("not on a Sunday\n", "not on a Sunday")],
)
def test_ask_reads_the_persons_answer(typed: str, decision: bool | str) -> None:
    paused: list[bool] = []
    err = Terminal()
    ask = approver("ask", before_asking=lambda: paused.append(True), stdin=Terminal(typed), stderr=err)
    assert ask(CALL) == decision
    assert paused == [True]
    assert err.getvalue() == '\nApprove send({"to": "ann"})? [y/N or a reason to deny] '


def test_ask_at_end_of_input_denies() -> None:
    assert approver("ask", stdin=Terminal(""), stderr=Terminal())(CALL) == DENIED_UNATTENDED


def test_default_asks_only_at_a_terminal() -> None:
    assert approver(None, stdin=Terminal("y\n"), stderr=Terminal())(CALL) is True
    assert approver(None, stdin=io.StringIO("y\n"), stderr=Terminal())(CALL) == DENIED_UNATTENDED
    assert approver("yes")(CALL) is True and approver("no")(CALL) == DENIED_UNATTENDED


def test_run_denies_without_a_terminal_and_the_model_reads_why(
    server: LoopbackServer, tools_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server.add(tool_call_response("send", {"to": "ann"}), "I could not send it.")
    assert main(["run", "message ann", "--tools", str(tools_file)]) == 0
    out, err = capsys.readouterr()
    assert out == "I could not send it.\n"
    tool_message = server.bodies[1]["messages"][-1]
    assert tool_message["role"] == "tool" and DENIED_UNATTENDED in tool_message["content"]
    assert "<- send: error:" in err


def test_run_with_approve_yes_runs_the_call(
    server: LoopbackServer, tools_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server.add(tool_call_response("send", {"to": "ann"}), "Sent.")
    assert main(["run", "message ann", "--tools", str(tools_file), "--approve", "yes"]) == 0
    assert server.bodies[1]["messages"][-1]["content"] == "sent to ann"


def test_batch_denies_unless_told_yes(server: LoopbackServer, tools_file: Path, tmp_path: Path) -> None:
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text(json.dumps({"id": "a", "prompt": "message ann"}) + "\n", encoding="utf-8")
    server.add(tool_call_response("send", {"to": "ann"}), "not sent")
    out = tmp_path / "out.jsonl"
    assert main(["batch", str(tasks), "--out", str(out), "--tools", str(tools_file)]) == 0
    assert DENIED_UNATTENDED in server.bodies[1]["messages"][-1]["content"]
    server.add(tool_call_response("send", {"to": "ann"}), "sent")
    out2 = tmp_path / "out2.jsonl"
    assert (
        main(["batch", str(tasks), "--out", str(out2), "--tools", str(tools_file), "--approve", "yes"]) == 0
    )
    assert server.bodies[3]["messages"][-1]["content"] == "sent to ann"
