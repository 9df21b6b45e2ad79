"""The fault suite: every case of fault_cases.py, with `agent.run()` and `agent.run_stream()`, through the real
`AsyncOpenAI` client and a loopback server; and a local llama.cpp server that dies mid-run.

Each case asserts: recovered with the right answer, or exactly the typed error it names; the error carries
the transcript and the usage so far; the number of HTTP requests the server saw; the tool executions;
nothing written to stderr (logs go to logging, which pytest captures).
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fault_cases import CASES, FaultCase, Mode, case_named, continue_transcript, run_case

from agentkit import Agent, AgentRunError, ModelAPIError, ToolExecutionError, UserError, tool
from agentkit.local import LocalModel, LocalServer, LocalServerError, _server
from agentkit.messages import ToolMessage, UserMessage
from agentkit.testing import tool_call_response

PARAMS = [pytest.param(case, mode, id=f"{case.name}-{mode}") for case in CASES for mode in case.modes]


@pytest.mark.parametrize(("case", "mode"), PARAMS)
async def test_fault(case: FaultCase, mode: Mode, capfd: pytest.CaptureFixture[str]) -> None:
    reason = case.requires() if case.requires is not None else None
    if reason is not None:
        pytest.skip(reason)
    outcome = await run_case(case, mode)
    if isinstance(case.expect, str):
        assert outcome.error is None, repr(outcome.error)
        assert outcome.output == case.expect
    else:
        assert type(outcome.error) is case.expect, repr(outcome.error)
        error = outcome.error
        assert isinstance(error, AgentRunError)
        assert error.messages, "the error carries the transcript"
        assert isinstance(error.messages[0], UserMessage) and error.messages[0].content == "Weather in Oslo?"
        assert error.usage is not None, "the error carries the usage so far"
        assert str(error), "the error says what happened"
    assert outcome.requests == case.requests
    assert outcome.refused == [], "every request passes Gemini's history check"
    # and the transcript, continued (as a session would), makes a request Gemini accepts
    assert await continue_transcript(outcome.messages, mode) == []
    assert outcome.usage is not None
    assert outcome.usage.requests <= outcome.requests  # only answered requests count
    if case.tool_calls is not None:
        assert sorted(outcome.tool_calls) == sorted(case.tool_calls)
        assert outcome.usage.tool_calls == len(case.tool_calls)
    if case.check is not None:
        case.check(outcome)
    assert capfd.readouterr().err == ""


@pytest.mark.parametrize("mode", ["run", "stream"])
async def test_tool_execution_error_usage_counts_the_call_that_raised(mode: Mode) -> None:
    outcome = await run_case(case_named("tool_raises_raise_errors"), mode)
    assert isinstance(outcome.error, ToolExecutionError)
    assert outcome.usage is not None and outcome.usage.tool_calls == 1


def test_every_fault_of_the_issue_has_a_case() -> None:
    names = {c.name for c in CASES}
    for status in (400, 401, 402, 403, 404, 408, 429, 500, 502, 503):
        assert any(n.startswith(f"http_{status}") for n in names), status
    wanted = {
        "http_404_model_deprecated",
        "http_429_retry_after_s",
        "http_429_no_retry_after",
        "connection_reset",
        "read_timeout",
        "html_200",
        "not_json_200",
        "error_in_200",
        "choices_null",
        "choices_missing",
        "completion_nested",
        "error_mid_stream",
        "stream_no_done",
        "stream_cut",
        "empty_then_ok",
        "malformed_function_call",
        "call_as_json_text",
        "missing_call_ids",
        "repeated_call_ids",
        "same_function_3x",
        "tool_choice_required",
        "tool_raises",
        "tool_timeout",
        "tool_not_serialisable",
        "tool_huge_result",
    }
    assert wanted <= names, wanted - names


# --- a local server that dies mid-run ------------------------------------------------------------------

FAKE_LLAMA = """\
#!{python}
# A stand-in for llama-server: /health, and /v1/chat/completions answering one tool call, then text.
# When the file FAKE_LLAMA_DEAD exists it dies during start-up, as a server with a broken install would.
import argparse, http.server, json, os, sys

parser = argparse.ArgumentParser()
parser.add_argument("--host")
parser.add_argument("--port", type=int)
args, _ = parser.parse_known_args()
if os.path.exists(os.environ["FAKE_LLAMA_DEAD"]):
    print("error: failed to load model", flush=True)
    sys.exit(3)
answers = [
    {{"role": "assistant", "content": None, "tool_calls": [
        {{"id": "call_1", "type": "function", "function": {{"name": "crash", "arguments": "{{}}"}}}}]}},
    {{"role": "assistant", "content": "still here"}},
]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self):
        request = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        if request.get("logprobs"):  # the local profile's call-or-text decision: a call, and not "none"
            message = {{"role": "assistant", "content": '{{"'}}
        else:
            message = answers.pop(0) if answers else {{"role": "assistant", "content": "done"}}
        finish = "tool_calls" if message.get("tool_calls") else "stop"
        body = json.dumps({{
            "id": "x", "object": "chat.completion", "model": "qwen2.5-coder-1.5b",
            "choices": [{{"index": 0, "message": message, "finish_reason": finish}}],
            "usage": {{"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}},
        }}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


http.server.HTTPServer((args.host, args.port), Handler).serve_forever()
"""


@pytest.fixture
def fake_llama(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fake `llama-server` as the shared server's binary; returns the file that makes its next start fail."""
    binary = tmp_path / "llama-server"
    binary.write_text(FAKE_LLAMA.format(python=sys.executable))
    binary.chmod(0o755)
    weights = tmp_path / "model.gguf"
    weights.write_bytes(b"GGUF")
    dead = tmp_path / "dead"
    monkeypatch.setenv("AGENTKIT_LLAMA_SERVER", str(binary))
    monkeypatch.setenv("AGENTKIT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("FAKE_LLAMA_DEAD", str(dead))
    monkeypatch.setattr(_server, "ensure_model_file", lambda: weights)
    monkeypatch.setattr(_server, "_shared", None)
    yield dead
    leftover = list(_server._running)
    _server._stop_all()
    assert not leftover or all(not s.is_running for s in leftover)


def _crash_tool(dead: Path, server: LocalServer | None = None) -> object:
    @tool
    def crash() -> str:
        """Kill the model server (and keep it from starting again)."""
        dead.touch()
        target = server if server is not None else _server._shared
        assert target is not None and target.pid is not None
        os.killpg(target.pid, signal.SIGKILL)
        target.wait(5)
        return "done"

    return crash


@pytest.mark.parametrize("stream", [False, True], ids=["run", "stream"])
async def test_shared_local_server_dying_mid_run_fails_the_run_with_its_transcript(
    fake_llama: Path, stream: bool, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    agent = Agent(LocalModel(), tools=[_crash_tool(fake_llama)])  # type: ignore[list-item]

    async def run() -> None:
        if stream:
            async with agent.run_stream("go") as events:
                async for _ in events:
                    pass
        else:
            await agent.run("go")

    with pytest.raises(AgentRunError) as info:
        await run()
    error = info.value
    assert isinstance(error, LocalServerError)  # the restart failed: the server's own error, with its log
    assert not isinstance(error, UserError)  # the server failed, not the user
    assert "exited with code 3 during start-up" in str(error)
    assert "failed to load model" in error.log_tail
    assert [type(m).__name__ for m in error.messages] == ["UserMessage", "AssistantMessage", "ToolMessage"]
    assert isinstance(error.messages[-1], ToolMessage) and error.messages[-1].content == "done"
    # the first reply's usage holds the call-or-text decision's request, counted apart
    assert error.usage is not None and error.usage.requests == 1 and error.usage.tool_calls == 1
    assert error.usage.decisions == 1
    assert "The shared llama-server died" in caplog.text
    assert capfd.readouterr().err == ""


async def test_own_local_server_dying_mid_run_fails_the_run_with_its_transcript(
    fake_llama: Path, tmp_path: Path
) -> None:
    server = LocalServer(startup_timeout=10.0)
    agent = Agent(LocalModel(server=server), tools=[_crash_tool(fake_llama, server)])  # type: ignore[list-item]
    try:
        with pytest.raises(ModelAPIError) as info:
            await agent.run("go")
    finally:
        server.stop()
    error = info.value
    assert error.status_code is None
    assert [type(m).__name__ for m in error.messages] == ["UserMessage", "AssistantMessage", "ToolMessage"]
    assert error.usage is not None and (error.usage.requests, error.usage.decisions) == (1, 1)


def test_a_loopback_tool_call_helper_is_importable() -> None:
    # fault_cases builds its answers with the public test doubles only
    assert tool_call_response("get_weather", {"city": "Oslo"}).tool_calls[0].name == "get_weather"
