"""The three output modes on the wire: the real `AsyncOpenAI` client against the loopback server, streamed and
not, asserting on the JSON that goes out (`response_format`, the tools, the system prompt)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, Literal

import pytest
from loopback_support import model_at
from pydantic import BaseModel

from agentkit import Agent, UserError
from agentkit._run.output import OutputSpec
from agentkit.events import Event, OutputDelta, RunFinished
from agentkit.models import OutputMode
from agentkit.models._dialects import to_dialect
from agentkit.models._output_prompt import OUTPUT_INSTRUCTIONS
from agentkit.models.fallback import FallbackModel
from agentkit.models.openai import OpenAIChatModel
from agentkit.models.profiles import ModelProfile
from agentkit.result import RunResult
from agentkit.testing import HTTPError, LoopbackServer, tool_call_response
from tests.shared_tools import add

GEMINI_3 = "google/gemini-3-flash-preview"
GEMINI_2_5 = "google/gemini-2.5-flash"


class Stop(BaseModel):
    city: str
    nights: int


class Trip(BaseModel):
    stops: list[Stop]
    budget: dict[str, int]
    rating: Literal[1, 2, 3]


TRIP = Trip(stops=[Stop(city="Oslo", nights=2)], budget={"hotel": 300}, rating=3)
# the answer as a Gemini model writes it for the Gemini-dialect schema: the dict as key/value pairs, the integer
# enum as a string; validation restores both
GEMINI_TRIP = {
    "stops": [{"city": "Oslo", "nights": 2}],
    "budget": [{"key": "hotel", "value": 300}],
    "rating": "3",
}
BAD_TRIP = {**GEMINI_TRIP, "rating": "7"}
SCHEMA = OutputSpec.build(Trip).schema
assert SCHEMA is not None
GEMINI_SCHEMA = to_dialect(SCHEMA, "gemini")


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer(model=GEMINI_3) as srv:
        yield srv


def run(agent: Agent[None, Any], prompt: str, *, stream: bool) -> tuple[RunResult[Any], list[Event]]:
    """The run's result, and its events when streamed."""
    if not stream:
        return agent.run_sync(prompt), []
    events = list(agent.run_stream_sync(prompt))
    finished = events[-1]
    assert isinstance(finished, RunFinished)
    return finished.result, events


def reply(mode: OutputMode, value: dict[str, Any]) -> Any:
    text = json.dumps(value)
    return tool_call_response("final_result", text) if mode == "tool" else text


def tool_names(body: dict[str, Any]) -> list[str]:
    return [t["function"]["name"] for t in body.get("tools", ())]


@pytest.mark.parametrize("stream", [False, True])
def test_gemini_3_takes_tools_and_a_response_format_in_its_dialect(
    server: LoopbackServer, stream: bool
) -> None:
    server.add(tool_call_response("add", {"a": 100, "b": 200}), json.dumps(GEMINI_TRIP))
    agent = Agent(model_at(server, GEMINI_3), tools=[add], output_type=Trip)
    result, events = run(agent, "Plan a trip", stream=stream)
    assert result.output == TRIP
    for body in server.bodies:
        assert body["response_format"] == {
            "type": "json_schema",
            "json_schema": {"name": "final_result", "schema": GEMINI_SCHEMA},
        }
        assert tool_names(body) == ["add"] and "tool_choice" not in body
        assert body.get("stream", False) is stream
    sent = json.dumps(server.bodies[0]["response_format"])
    assert "$ref" not in sent and "$defs" not in sent and "additionalProperties" not in sent
    if stream:
        partials = [e.output for e in events if isinstance(e, OutputDelta)]
        assert partials and partials[-1] == TRIP


@pytest.mark.parametrize("stream", [False, True])
def test_gemini_2_5_answers_through_the_final_result_tool(server: LoopbackServer, stream: bool) -> None:
    server.add(reply("tool", GEMINI_TRIP))
    agent = Agent(model_at(server, GEMINI_2_5), tools=[add], output_type=Trip)
    result, events = run(agent, "Plan a trip", stream=stream)
    assert result.output == TRIP
    body = server.bodies[0]
    assert "response_format" not in body and body["tool_choice"] == "required"
    assert tool_names(body) == ["add", "final_result"]
    assert body["tools"][1]["function"]["parameters"] == GEMINI_SCHEMA
    if stream:
        assert [e.output for e in events if isinstance(e, OutputDelta)][-1] == TRIP


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("instructions", ["Be brief.", None])
def test_prompted_mode_says_the_schema_after_the_system_prompt(
    server: LoopbackServer, stream: bool, instructions: str | None
) -> None:
    server.add(tool_call_response("add", {"a": 100, "b": 200}), f"```json\n{json.dumps(GEMINI_TRIP)}\n```")
    model = model_at(server, GEMINI_3)
    agent = Agent(model, instructions=instructions, tools=[add], output_type=Trip, output_mode="prompted")
    result, events = run(agent, "Plan a trip", stream=stream)
    assert result.output == TRIP
    said = OUTPUT_INSTRUCTIONS.format(schema=json.dumps(GEMINI_SCHEMA, separators=(",", ":")))
    expected = f"{instructions}\n\n{said}" if instructions else said
    for body in server.bodies:  # the same system prompt on every request
        assert "response_format" not in body and tool_names(body) == ["add"]
        assert body["messages"][0] == {"role": "system", "content": expected}
        assert body["messages"][1] == {"role": "user", "content": "Plan a trip"}
    assert [m["role"] for m in server.bodies[1]["messages"]] == ["system", "user", "assistant", "tool"]
    if stream:
        assert [e.output for e in events if isinstance(e, OutputDelta)][-1] == TRIP


def test_prompted_mode_writes_standard_json_schema_for_other_models(server: LoopbackServer) -> None:
    server.add(json.dumps(TRIP.model_dump()))
    agent = Agent(model_at(server, "openai/gpt-4.1-mini"), output_type=Trip, output_mode="prompted")
    assert agent.run_sync("Plan a trip").output == TRIP
    system = server.bodies[0]["messages"][0]["content"]
    assert system == OUTPUT_INSTRUCTIONS.format(schema=json.dumps(SCHEMA, separators=(",", ":")))
    assert "response_format" not in server.bodies[0]


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("mode", ["tool", "native", "prompted"])
def test_an_invalid_answer_is_fed_back_on_the_wire(
    server: LoopbackServer, mode: OutputMode, stream: bool
) -> None:
    server.add(reply(mode, BAD_TRIP), reply(mode, GEMINI_TRIP))
    agent = Agent(model_at(server, GEMINI_3), output_type=Trip, output_mode=mode)
    result, _ = run(agent, "Plan a trip", stream=stream)
    assert result.output == TRIP
    last = server.bodies[1]["messages"][-1]
    if mode == "tool":
        assert last["role"] == "tool" and "$.rating" in last["content"]
    else:
        assert last["role"] == "user" and "$.rating" in last["content"]
        assert "Answer with JSON matching the schema." in last["content"]
    assert ("response_format" in server.bodies[1]) is (mode == "native")


def test_a_native_mode_the_model_cannot_do_fails_before_any_request(server: LoopbackServer) -> None:
    agent = Agent(model_at(server, GEMINI_2_5), tools=[add], output_type=Trip, output_mode="native")
    with pytest.raises(UserError, match=r"output_mode='native' is not available on google/gemini-2\.5-flash"):
        agent.run_sync("Plan a trip")
    assert server.requests == []


def test_a_fallback_that_cannot_take_the_response_format_gets_the_schema_in_the_prompt() -> None:
    with LoopbackServer(model=GEMINI_3) as first, LoopbackServer(model=GEMINI_2_5) as second:
        first.add(HTTPError(status=503, message="overloaded"))
        second.add(json.dumps(GEMINI_TRIP))
        chain = FallbackModel(model_at(first, GEMINI_3), model_at(second, GEMINI_2_5))
        result = Agent(chain, tools=[add], output_type=Trip).run_sync("Plan a trip")
    assert result.output == TRIP
    assert first.bodies[0]["response_format"]["json_schema"]["schema"] == GEMINI_SCHEMA
    fallback = second.bodies[0]
    assert "response_format" not in fallback and tool_names(fallback) == ["add"]
    assert fallback["messages"][0]["role"] == "system"
    assert json.dumps(GEMINI_SCHEMA, separators=(",", ":")) in fallback["messages"][0]["content"]


@pytest.mark.parametrize("stream", [False, True])
def test_a_server_with_neither_tools_nor_a_response_format_gets_both_in_the_prompt(
    server: LoopbackServer, stream: bool
) -> None:
    plain = ModelProfile(
        family="plain", tool_calling="prompted", supports_response_format=False, structured_output="prompted"
    )
    server.add('{"name": "add", "arguments": {"a": 100, "b": 200}}', json.dumps(TRIP.model_dump()))
    model = OpenAIChatModel("plain-server", base_url=server.base_url, profile=plain)
    result, events = run(Agent(model, tools=[add], output_type=Trip), "Plan a trip", stream=stream)
    assert result.output == TRIP
    said = OUTPUT_INSTRUCTIONS.format(schema=json.dumps(SCHEMA, separators=(",", ":")))
    for body in server.bodies:
        assert "tools" not in body and "response_format" not in body
        system = body["messages"][0]["content"]
        assert '"name": "add"' in system and system.endswith(said)  # the tools, then the answer's schema
    assert "Tool results:" in server.bodies[1]["messages"][-1]["content"]
    if stream:
        assert [e.output for e in events if isinstance(e, OutputDelta)][-1] == TRIP
