"""Gemini 3 thinking models end to end: signed reasoning carried back, through every path a user takes.

The loopback server plays a Gemini 3 model that signs its tool calls and refuses (HTTP 400, Gemini's words)
a request whose tool-call turn does not carry back exactly what it issued. Before agentkit carried
reasoning, the second request of every tool run was refused.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import pytest
from shared_tools import add

from agentkit import Agent, AssistantMessage, Message, ModelAPIError, messages_to_json
from agentkit.cli import main
from agentkit.events import ResponseFinished, TextDelta, ThinkingDelta, ToolCallFinished
from agentkit.models.fallback import FallbackModel
from agentkit.models.openai import OpenAIChatModel
from agentkit.models.profiles import profile_for
from agentkit.testing import HTTPError, LoopbackServer, cassette, tool_call_response

GEMINI_3 = "google/gemini-3-flash-preview"
SHARED_TOOLS = Path(__file__).parent / "shared_tools.py"
Form = Literal["openrouter", "google"]


def tool_run_script(turns: int, prefix: str = "gem") -> list[Any]:
    """A run of `turns` requests: `turns - 1` calls of `add` (ids `<prefix>_<n>`), then the answer."""
    calls: list[Any] = [
        tool_call_response("add", {"a": n, "b": 1}, id=f"{prefix}_{n}") for n in range(turns - 1)
    ]
    return [*calls, f"Done after {turns - 1} calls."]


@pytest.fixture(params=["openrouter", "google"])
def gemini(request: pytest.FixtureRequest) -> Iterator[LoopbackServer]:
    form: Form = request.param
    with LoopbackServer(model=GEMINI_3, thought_signatures=form) as server:
        yield server


def agent_for(server: LoopbackServer, model: str = GEMINI_3) -> Agent[None, str]:
    return Agent(OpenAIChatModel(model, base_url=server.base_url, api_key="test"), tools=[add])


def assert_signatures_carried(server: LoopbackServer, turns: int) -> None:
    """Every request after the first carried back every signed turn, exactly as issued."""
    signatures = server.signatures
    assert signatures is not None and signatures.refused == 0
    assert len(server.bodies) == turns
    for n, body in enumerate(server.bodies[1:], start=1):
        turns_sent = [m for m in body["messages"] if m["role"] == "assistant" and m.get("tool_calls")]
        assert len(turns_sent) == n
        for message in turns_sent:
            issued = signatures.issued[message["tool_calls"][0]["id"]]
            if signatures.form == "openrouter":
                assert message["reasoning_details"] == issued
                assert json.dumps(message["reasoning_details"]) == json.dumps(issued)  # key order too
            else:
                assert message["tool_calls"][0]["extra_content"] == issued


@pytest.mark.parametrize("turns", [2, 10])
def test_run_sync_carries_signatures(gemini: LoopbackServer, turns: int) -> None:
    gemini.add(*tool_run_script(turns))
    result = agent_for(gemini).run_sync("Add some numbers.")
    assert result.output == f"Done after {turns - 1} calls."
    assert_signatures_carried(gemini, turns)
    answers = [m for m in result.messages if isinstance(m, AssistantMessage)]
    assert all(m.model_family == profile_for(GEMINI_3).family for m in answers if m.tool_calls)
    per_request = gemini.usage["completion_tokens_details"]["reasoning_tokens"]
    assert result.usage.reasoning_tokens == per_request * turns


@pytest.mark.parametrize("turns", [2, 10])
async def test_run_stream_carries_signatures_and_streams_thinking(gemini: LoopbackServer, turns: int) -> None:
    gemini.add(*tool_run_script(turns))
    agent = agent_for(gemini)
    async with agent.run_stream("Add some numbers.") as stream:
        events = [event async for event in stream]
    await agent.model.aclose()
    assert stream.result.output == f"Done after {turns - 1} calls."
    assert_signatures_carried(gemini, turns)
    assert sum(isinstance(e, ToolCallFinished) for e in events) == turns - 1
    # the thinking text streams as its own events, turn by turn, never as the answer's text
    thinking, answered = "", ""
    for event in events:
        if isinstance(event, ThinkingDelta):
            thinking += event.text
        elif isinstance(event, ResponseFinished):
            assert thinking == (event.message.reasoning or "")
            assert "Thought" not in event.message.content
            thinking = ""
        elif isinstance(event, TextDelta):
            answered += event.text
    if gemini.signatures is not None and gemini.signatures.form == "openrouter":
        assert any(isinstance(e, ThinkingDelta) for e in events)
    assert answered == stream.result.output


def test_without_the_signatures_the_second_request_is_refused(gemini: LoopbackServer) -> None:
    """What every tool run met before reasoning was carried: the turn sent back without its signature."""
    gemini.add(*tool_run_script(2))
    agent = agent_for(gemini)
    first = agent.run_sync("Add.", message_history=None)
    assert first.output == "Done after 1 calls."
    stripped = []
    for message in first.messages:
        if isinstance(message, AssistantMessage):
            calls = [c.__class__(id=c.id, name=c.name, arguments=c.arguments) for c in message.tool_calls]
            message = AssistantMessage(content=message.content, tool_calls=calls)
        stripped.append(message)
    gemini.add("never sent")
    with pytest.raises(ModelAPIError) as caught:
        agent.run_sync("And again?", message_history=stripped)
    assert caught.value.status_code == 400
    assert "missing a thought_signature" in str(caught.value)


def test_a_fallback_to_another_family_sends_no_gemini_signatures(gemini: LoopbackServer) -> None:
    """Gemini answers with a signed call, then fails; the chain's OpenAI model gets the turn unsigned."""
    gemini.add(tool_call_response("add", {"a": 1, "b": 2}, id="gem_0"), HTTPError(status=503, message="busy"))
    with LoopbackServer(model="openai/gpt-4o-mini") as other:
        other.add("3, by the other model.")
        chain = FallbackModel(
            OpenAIChatModel(GEMINI_3, base_url=gemini.base_url, api_key="test", max_retries=0),
            OpenAIChatModel("openai/gpt-4o-mini", base_url=other.base_url, api_key="test"),
        )
        result = Agent(chain, tools=[add]).run_sync("Add 1 and 2.")
        assert result.output == "3, by the other model."
        [body] = other.bodies
    signatures = gemini.signatures
    assert signatures is not None
    [signed] = signatures.issued.values()
    sent = json.dumps(body)
    for secret in _signature_values(signed):
        assert secret not in sent
    [turn] = [m for m in body["messages"] if m["role"] == "assistant"]
    assert "extra_content" not in turn["tool_calls"][0]
    assert all(
        d["type"] != "reasoning.encrypted" and "signature" not in d for d in turn.get("reasoning_details", [])
    )
    assert turn["tool_calls"][0]["function"] == {"name": "add", "arguments": '{"a": 1, "b": 2}'}


def _signature_values(issued: Any) -> list[str]:
    if isinstance(issued, dict):
        return [issued["google"]["thought_signature"]]
    return [d["data"] for d in issued if d["type"] == "reasoning.encrypted"]


@pytest.mark.parametrize("turns", [2, 10])
@pytest.mark.parametrize("hide", [False, True])
def test_the_cli_run_carries_signatures_and_shows_thinking_unless_hidden(
    gemini: LoopbackServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    turns: int,
    hide: bool,
) -> None:
    monkeypatch.setenv("AGENTKIT_BASE_URL", gemini.base_url)
    monkeypatch.setenv("AGENTKIT_API_KEY", "test-key")
    gemini.add(*tool_run_script(turns))
    argv = ["run", "Add some numbers.", "--model", GEMINI_3, "--tools", f"{SHARED_TOOLS}:add"]
    assert main([*argv, "--no-thinking"] if hide else argv) == 0
    out, err = capsys.readouterr()
    assert out == f"Done after {turns - 1} calls.\n"
    assert_signatures_carried(gemini, turns)
    thinking = [line for line in err.splitlines() if line.startswith("thinking: ")]
    shows = not hide and gemini.signatures is not None and gemini.signatures.form == "openrouter"
    assert len(thinking) == (turns if shows else 0)
    assert "Thought" not in out


@pytest.mark.parametrize("streamed", [False, True])
def test_a_cassette_keeps_the_signatures_and_its_replay_sends_them_back(
    gemini: LoopbackServer, tmp_path: Path, streamed: bool
) -> None:
    path = tmp_path / "gemini.json"
    gemini.add(*tool_run_script(3))
    agent = agent_for(gemini)

    def run() -> list[Message]:
        if streamed:
            events = list(agent.run_stream_sync("Add some numbers."))
            return events[-1].result.messages  # type: ignore[union-attr]
        return agent.run_sync("Add some numbers.").messages

    with cassette(path, mode="record"):
        recorded = run()
    assert_signatures_carried(gemini, 3)
    with cassette(path, mode="replay"):  # a request that dropped or changed a signature would not match
        replayed = run()
    assert messages_to_json(replayed) == messages_to_json(recorded)
    assert any(isinstance(m, AssistantMessage) and m.tool_calls and m.model_family for m in replayed)
