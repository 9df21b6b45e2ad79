"""The model adapter translates: schemas go out in the model's dialect, arguments and answers come back to
the run in standard form, and what the model wrote goes back to it on the wire (`ToolCall.wire_arguments`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, Literal

import pytest
from loopback_support import model_at
from pydantic import BaseModel

from agentkit import Agent
from agentkit.events import RunFinished
from agentkit.messages import AssistantMessage, ToolCall
from agentkit.models import ModelRequestParameters, ResponseFormat
from agentkit.models._chat_format import _response_format
from agentkit.models._tool_entries import restore_reply
from agentkit.models.profiles import profile_for
from agentkit.result import RunResult
from agentkit.testing import LoopbackServer, tool_call_response
from agentkit.tool import tool

GEMINI = "google/gemini-3-flash-preview"
OPENAI = "openai/gpt-4o-mini"
SEEN: list[tuple[dict[str, int], int]] = []


@tool
def tally(counts: dict[str, int], unit: Literal[1, 2] = 1) -> int:
    """Add up the counts, times the unit."""
    SEEN.append((counts, unit))
    return sum(counts.values()) * unit


AS_GEMINI_WRITES = {"counts": [{"key": "a", "value": 2}, {"key": "b", "value": 3}], "unit": "2"}
"""A dict as key/value pairs, an integer enum as text: the Gemini dialect of `tally`'s arguments."""
STANDARD = {"counts": {"a": 2, "b": 3}, "unit": 2}


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    SEEN.clear()
    with LoopbackServer(model=GEMINI) as srv:
        yield srv


def run(agent: Agent[None, Any], prompt: str, *, stream: bool, **options: Any) -> RunResult[Any]:
    if not stream:
        return agent.run_sync(prompt, **options)
    finished = list(agent.run_stream_sync(prompt, **options))[-1]
    assert isinstance(finished, RunFinished)
    return finished.result


def calls_in(result: RunResult[Any]) -> list[ToolCall]:
    return [c for m in result.messages if isinstance(m, AssistantMessage) for c in m.tool_calls]


def sent_arguments(body: dict[str, Any]) -> list[str]:
    return [
        c["function"]["arguments"]
        for m in body["messages"]
        if m["role"] == "assistant"
        for c in m.get("tool_calls") or ()
    ]


@pytest.mark.parametrize("stream", [False, True])
def test_the_transcript_holds_standard_arguments_and_the_model_gets_back_what_it_wrote(
    server: LoopbackServer, stream: bool
) -> None:
    written = json.dumps(AS_GEMINI_WRITES)
    server.add(tool_call_response("tally", written), "10")
    result = run(Agent(model_at(server, GEMINI), tools=[tally]), "Tally", stream=stream)
    assert SEEN == [({"a": 2, "b": 3}, 2)] and result.output == "10"
    [call] = calls_in(result)
    assert json.loads(call.arguments) == STANDARD  # what the run saw and ran
    assert call.wire_arguments == written and call.original_arguments is None
    entry = server.bodies[0]["tools"][0]["function"]["parameters"]
    assert entry["properties"]["counts"]["type"] == "array"  # sent in the dialect
    assert sent_arguments(server.bodies[1]) == [written]  # the call as the model wrote it

    # the same transcript sent to another family: standard arguments, for the standard schema
    server.add("done")
    run(
        Agent(model_at(server, OPENAI), tools=[tally]),
        "Again",
        stream=stream,
        message_history=result.messages,
    )
    assert [json.loads(a) for a in sent_arguments(server.bodies[2])] == [STANDARD]


def test_arguments_in_the_dialect_that_need_a_repair_are_repaired_and_restored(
    server: LoopbackServer,
) -> None:
    written = json.dumps(AS_GEMINI_WRITES)[:-1]  # the closing brace is missing
    server.add(tool_call_response("tally", written), "10")
    result = Agent(model_at(server, GEMINI), tools=[tally]).run_sync("Tally")
    assert SEEN == [({"a": 2, "b": 3}, 2)] and result.usage.repairs == 1
    [call] = calls_in(result)
    assert json.loads(call.arguments) == STANDARD and call.original_arguments == written
    assert [json.loads(a) for a in sent_arguments(server.bodies[1])] == [STANDARD]  # repaired: as run


def test_two_calls_written_as_one_in_the_dialect_are_restored_and_split(server: LoopbackServer) -> None:
    second = {"counts": [{"key": "c", "value": 1}], "unit": "1"}
    written = json.dumps(AS_GEMINI_WRITES) + json.dumps(second)
    server.add(tool_call_response("tally", written), "11")
    result = Agent(model_at(server, GEMINI), tools=[tally]).run_sync("Tally")
    assert SEEN == [({"a": 2, "b": 3}, 2), ({"c": 1}, 1)] and result.output == "11"
    assert [c.original_arguments for c in calls_in(result)] == [written, written]


class Pick(BaseModel):
    weights: dict[str, int]


def test_a_json_answer_comes_back_standard(server: LoopbackServer) -> None:
    server.add(json.dumps({"weights": [{"key": "x", "value": 1}]}))
    agent = Agent(model_at(server, GEMINI), output_type=Pick, output_mode="native")
    result = agent.run_sync("Pick")
    assert result.output == Pick(weights={"x": 1})
    assert json.loads(result.messages[-1].content) == {"weights": {"x": 1}}  # type: ignore[union-attr]


@pytest.mark.parametrize("stream", [False, True])
def test_a_json_answer_as_text_in_tool_mode_comes_back_standard(server: LoopbackServer, stream: bool) -> None:
    server.add(json.dumps({"weights": [{"key": "x", "value": 1}]}))  # not a call of final_result: the JSON
    agent = Agent(model_at(server, GEMINI), tools=[tally], output_type=Pick, output_mode="tool")
    assert run(agent, "Pick", stream=stream).output == Pick(weights={"x": 1})
    assert [t["function"]["name"] for t in server.bodies[0]["tools"]] == ["tally", "final_result"]


SCHEMA = tally.parameters
PARAMETERS = ModelRequestParameters(tools=[tally.definition])


def test_restore_reply_leaves_alone_what_it_cannot_read() -> None:
    calls = [
        ToolCall(id="1", name="tally", arguments='{"counts": [{"key"'),  # not JSON: the run repairs it
        ToolCall(id="2", name="tally", arguments="[1]"),  # not an object: the run tells the model
        ToolCall(id="3", name="other", arguments='{"counts": []}'),  # not offered
        ToolCall(id="4", name="tally", arguments='{"counts": {"a": 1}}'),  # already standard
        ToolCall(id="5", name="tally", arguments="[" * 100_000),  # past what the decoder and repair take
    ]
    message = AssistantMessage(content="", tool_calls=calls)
    assert restore_reply(message, PARAMETERS, "gemini") is message
    assert restore_reply(message, None, "gemini") is message
    assert restore_reply(message, PARAMETERS, "standard") is message


def test_restore_reply_reads_a_fenced_answer_and_keeps_text_that_is_no_object() -> None:
    fmt = ResponseFormat(name="final_result", schema=SCHEMA)
    parameters = ModelRequestParameters(response_format=fmt)
    fenced = AssistantMessage(content='Here:\n```json\n{"counts": [{"key": "a", "value": 1}]}\n```\nDone.')
    restored = restore_reply(fenced, parameters, "gemini")
    assert restored.content == 'Here:\n```json\n{"counts": {"a": 1}}\n```\nDone.'  # the words kept
    for text in ("not JSON", "[1, 2]", '{"counts": {"a": 1}}'):
        message = AssistantMessage(content=text)
        assert restore_reply(message, parameters, "gemini") is message


def test_optional_nulls_of_strict_mode_are_dropped_for_the_run() -> None:
    message = AssistantMessage(
        content="", tool_calls=[ToolCall(id="1", name="tally", arguments='{"counts": {}, "unit": null}')]
    )
    [call] = restore_reply(message, PARAMETERS, "openai-strict").tool_calls
    assert json.loads(call.arguments) == {"counts": {}}
    assert call.wire_arguments == '{"counts": {}, "unit": null}'


class Pair(BaseModel):
    pair: tuple[int, str]  # prefixItems: strict mode cannot express it


def test_a_response_format_strict_mode_cannot_express_goes_plain(server: LoopbackServer) -> None:
    server.add(json.dumps({"pair": [1, "a"]}))
    agent = Agent(model_at(server, OPENAI), output_type=Pair, output_mode="native")
    assert agent.run_sync("Pair").output == Pair(pair=(1, "a"))
    spec = server.bodies[0]["response_format"]["json_schema"]
    assert "strict" not in spec and spec["schema"]["properties"]["pair"]["prefixItems"]


def test_a_response_format_goes_strict_where_the_profile_is() -> None:
    fmt = ResponseFormat(name="final_result", schema=Pick.model_json_schema())
    assert _response_format(fmt.name, fmt.schema, fmt.strict, profile_for(OPENAI))["strict"] is True
    assert "strict" not in _response_format(fmt.name, fmt.schema, fmt.strict, profile_for(GEMINI))
