"""Malformed tool calls repaired locally (no round trip when the intent is unambiguous), counted and kept in
the transcript; ambiguous ones answered with the validation error as before; unknown names get the closest
real name; huge results capped."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel

from agentkit import (
    Agent,
    AssistantMessage,
    Tool,
    ToolMessage,
    Usage,
    messages_from_json,
    messages_to_json,
    tool,
)
from agentkit._run.tool_calls import KEPT_AS_WRITTEN
from agentkit._schema.repair import coerce_to_schema, repair_text, split_objects
from agentkit.events import ResponseFinished, TextDelta
from agentkit.models.openai import OpenAIChatModel
from agentkit.testing import LoopbackServer, ScriptedModel, tool_call_response
from agentkit.usage import UsageView

received: list[dict[str, Any]] = []


@pytest.fixture(autouse=True)
def _clear() -> None:
    received.clear()


@tool
def get_weather(city: str, days: int = 1, metric: bool = True, note: str | None = None) -> str:
    """Weather in a city."""
    received.append({"city": city, "days": days, "metric": metric, "note": note})
    return f"{city}: sunny"


@tool
def ping() -> str:
    """No arguments."""
    received.append({})
    return "pong"


class Place(BaseModel):
    city: str
    country: str


@tool
def locate(place: Place, tags: list[str]) -> str:
    """A nested object."""
    received.append({"place": place, "tags": tags})
    return "found"


def _count(days: Any) -> str:
    received.append({"days": days})
    return "ok"


count = Tool.from_schema(
    _count,
    name="count",
    description="A hand-written schema (validated by jsonschema).",
    parameters={"type": "object", "properties": {"days": {"type": "integer"}}, "required": ["days"]},
)


def agent_with(*script: AssistantMessage | str) -> tuple[Agent[None, str], ScriptedModel]:
    model = ScriptedModel(list(script))
    return Agent(model, tools=[get_weather, ping, locate, count]), model


def first_calls(result_messages: list[Any]) -> list[Any]:
    return next(m for m in result_messages if isinstance(m, AssistantMessage) and m.tool_calls).tool_calls


REPAIRED = [
    ("trailing comma", '{"city": "Paris", "days": 3,}', {"city": "Paris", "days": 3}),
    ("single quotes", "{'city': 'Paris', 'days': 3}", {"city": "Paris", "days": 3}),
    (
        "python literals",
        '{"city": "Paris", "metric": False, "note": None}',
        {"city": "Paris", "metric": False},
    ),
    ("markdown fence", '```json\n{"city": "Paris", "days": 2}\n```', {"city": "Paris", "days": 2}),
    ("comments", '{"city": "Paris", // where\n "days": 2 /* how long */}', {"city": "Paris", "days": 2}),
    ("cut between values", '{"city": "Paris", "days": 3', {"city": "Paris", "days": 3}),
    ("cut after a comma", '{"city": "Paris", "days": 3,', {"city": "Paris", "days": 3}),
    ("arguments as a JSON string", json.dumps('{"city": "Paris"}'), {"city": "Paris"}),
]


@pytest.mark.parametrize(("raw", "expected"), [c[1:] for c in REPAIRED], ids=[c[0] for c in REPAIRED])
async def test_syntax_repaired_without_a_round_trip(raw: str, expected: dict[str, Any]) -> None:
    agent, model = agent_with(tool_call_response("get_weather", raw), "done")
    result = await agent.run("weather?")
    assert result.output == "done"
    assert len(model.requests) == 2  # the call ran on the first answer: no round trip
    assert len(received) == 1 and {k: received[0][k] for k in expected} == expected
    call = first_calls(result.messages)[0]
    assert call.original_arguments == raw
    assert json.loads(call.arguments) == json.loads(json.dumps(expected)) | json.loads(call.arguments)
    assert result.usage.repairs == 1
    tool_message = next(m for m in result.messages if isinstance(m, ToolMessage))
    assert not tool_message.is_error and tool_message.tool_call_id == call.id
    # what goes back to the model on the next request is the repaired call
    sent = model.requests[1].messages
    assert any(isinstance(m, AssistantMessage) and m.tool_calls == [call] for m in sent)


@pytest.mark.parametrize("raw", ["", "null", "  ", "{}"])
async def test_empty_arguments_for_a_tool_without_parameters_are_fine_already(raw: str) -> None:
    agent, model = agent_with(tool_call_response("ping", raw), "done")
    result = await agent.run("ping")
    assert received == [{}] and len(model.requests) == 2
    assert result.usage.repairs == 0 and first_calls(result.messages)[0].original_arguments is None


async def test_empty_arguments_for_required_parameters_still_fail() -> None:
    agent, _ = agent_with(tool_call_response("get_weather", "null"), "done")
    result = await agent.run("weather?")
    error = next(m for m in result.messages if isinstance(m, ToolMessage))
    assert error.is_error and "$.city: Field required" in error.content
    assert result.usage.repairs == 0 and received == []


async def test_nested_objects_sent_as_json_strings_are_decoded_by_the_schema() -> None:
    raw = json.dumps({"place": json.dumps({"city": "Paris", "country": "FR"}), "tags": '["a", "b"]'})
    agent, model = agent_with(tool_call_response("locate", raw), "done")
    result = await agent.run("where?")
    assert received == [{"place": Place(city="Paris", country="FR"), "tags": ["a", "b"]}]
    call = first_calls(result.messages)[0]
    assert json.loads(call.arguments) == {"place": {"city": "Paris", "country": "FR"}, "tags": ["a", "b"]}
    assert call.original_arguments == raw and result.usage.repairs == 1 and len(model.requests) == 2


async def test_numbers_as_strings() -> None:
    # pydantic's lax mode already accepts "3" for an int: no repair, nothing counted
    agent, _ = agent_with(tool_call_response("get_weather", '{"city": "Paris", "days": "3"}'), "done")
    result = await agent.run("weather?")
    assert received[0]["days"] == 3 and result.usage.repairs == 0
    # a jsonschema-validated tool does not: the schema-guided repair makes it a number
    received.clear()
    agent, model = agent_with(tool_call_response("count", '{"days": "3"}'), "done")
    result = await agent.run("count")
    assert received == [{"days": 3}] and result.usage.repairs == 1 and len(model.requests) == 2
    assert first_calls(result.messages)[0].arguments == '{"days": 3}'


async def test_two_objects_concatenated_become_two_calls() -> None:
    raw = '{"city": "Paris"}{"city": "Rome", "days": 2}'
    agent, model = agent_with(tool_call_response("get_weather", raw, id="c1"), "done")
    result = await agent.run("weather in Paris and Rome?")
    assert sorted((r["city"], r["days"]) for r in received) == [("Paris", 1), ("Rome", 2)]
    calls = first_calls(result.messages)
    assert [c.id for c in calls] == ["c1", "call_2"]
    assert [json.loads(c.arguments) for c in calls] == [{"city": "Paris"}, {"city": "Rome", "days": 2}]
    assert all(c.original_arguments == raw for c in calls)
    answers = [m for m in result.messages if isinstance(m, ToolMessage)]
    assert [m.tool_call_id for m in answers] == ["c1", "call_2"] and not any(m.is_error for m in answers)
    assert result.usage.repairs == 2 and len(model.requests) == 2


async def test_concatenated_objects_that_do_not_all_validate_get_the_error() -> None:
    raw = '{"city": "Paris"}{"town": "Rome"}'
    agent, _ = agent_with(tool_call_response("get_weather", raw), "done")
    result = await agent.run("weather?")
    error = next(m for m in result.messages if isinstance(m, ToolMessage))
    assert error.is_error and "not valid JSON" in error.content  # as before: nothing guessed
    assert received == [] and result.usage.repairs == 0
    call = first_calls(result.messages)[0]  # not JSON: `{}` goes back, what the model wrote is kept
    assert call.arguments == "{}" and call.original_arguments == raw


AMBIGUOUS = [
    ("cut inside a string", '{"city": "Paris", "note": "sunn', "not valid JSON"),
    ("cut inside a key", '{"city": "Paris", "da', "not valid JSON"),
    ("cut after a colon", '{"city": "Paris", "days":', "not valid JSON"),
    ("cut inside a literal", '{"city": "Paris", "metric": tru', "not valid JSON"),
    ("cut and single-quoted", "{'city': 'Par", "not valid JSON"),
    ("prose", "the city is Paris", "not valid JSON"),
    ("repaired but invalid", "{'town': 'Paris',}", "not valid JSON"),
    ("nested string that is not an object", '{"place": "Paris", "tags": []}', "$.place"),
]


@pytest.mark.parametrize(("raw", "error"), [c[1:] for c in AMBIGUOUS], ids=[c[0] for c in AMBIGUOUS])
async def test_ambiguous_repairs_get_the_validation_error_as_before(raw: str, error: str) -> None:
    name = "locate" if "place" in raw else "get_weather"
    agent, model = agent_with(tool_call_response(name, raw), "done")
    result = await agent.run("weather?")
    message = next(m for m in result.messages if isinstance(m, ToolMessage))
    tool_ = get_weather if name == "get_weather" else locate
    try:
        tool_.validate_arguments(raw)
    except Exception as exc:
        kept = "" if error.startswith("$") else f"{KEPT_AS_WRITTEN}\n"
        expected = f"{exc}\n{kept}Fix the arguments and call the tool again."
    assert message.is_error and message.content == expected and error in message.content
    assert received == [] and result.usage.repairs == 0 and len(model.requests) == 2
    call = first_calls(result.messages)[0]
    if error == "not valid JSON":  # `{}` goes back in its place; the transcript keeps what the model wrote
        assert call.arguments == "{}" and call.original_arguments == raw
    else:  # valid JSON that does not validate goes back as written
        assert call.arguments == raw and call.original_arguments is None


async def test_unknown_tool_names_get_the_closest_real_name() -> None:
    agent, _ = agent_with(tool_call_response("get_wether", {"city": "Paris"}), "done")
    result = await agent.run("weather?")
    message = next(m for m in result.messages if isinstance(m, ToolMessage))
    assert message.content == (
        "Unknown tool 'get_wether'. Did you mean 'get_weather'? Available tools: count, get_weather, locate, ping."
    )
    agent, _ = agent_with(tool_call_response("zzz", {}), "done")
    result = await agent.run("weather?")
    message = next(m for m in result.messages if isinstance(m, ToolMessage))
    assert "Did you mean" not in message.content


async def test_huge_results_are_capped_and_the_model_told() -> None:
    @tool
    def dump() -> str:
        """A lot of text."""
        return "x" * 60_000

    @tool(max_result_chars=100)
    def small() -> list[int]:
        """A long list."""
        return list(range(1000))

    model = ScriptedModel([tool_call_response("dump"), tool_call_response("small"), "done"])
    result = await Agent(model, tools=[dump, small]).run("go")
    big, little = [m for m in result.messages if isinstance(m, ToolMessage)]
    assert big.content.startswith("x" * 50_000) and not big.content.startswith("x" * 50_001)
    assert big.content.endswith(
        "[Truncated: the result was 60,000 characters long; only the first 50,000 are shown.]"
    )
    assert little.content.startswith("[0,1,2,") and "only the first 100 are shown" in little.content
    assert not big.is_error and not little.is_error


def test_max_result_chars_must_be_positive() -> None:
    from agentkit import UserError

    with pytest.raises(UserError, match="max_result_chars must be >= 1"):
        tool(name="x", max_result_chars=0)(lambda: "")


def test_original_arguments_round_trip_through_json() -> None:
    raw = "{'city': 'Paris'}"
    message = tool_call_response("get_weather", '{"city": "Paris"}')
    call = message.tool_calls[0]
    message.tool_calls = [
        type(call)(id=call.id, name=call.name, arguments=call.arguments, original_arguments=raw)
    ]
    loaded = messages_from_json(messages_to_json([message]))
    assert loaded == [message] and loaded[0].tool_calls[0].original_arguments == raw  # type: ignore[union-attr]


def test_usage_counts_repairs() -> None:
    usage = Usage(repairs=1)
    usage.add(Usage(repairs=2))
    assert usage.repairs == 3 and (usage + Usage(repairs=1)).repairs == 4
    assert UsageView(usage).repairs == 3 and UsageView(usage).snapshot().repairs == 3


def test_repair_functions_directly() -> None:
    assert repair_text('{"a": 1}') is None  # valid JSON needs no repair
    assert repair_text(' {"a": 1} ') is None
    assert repair_text('```\n{"a": 1}\n```') == {"a": 1}
    assert repair_text("[1, 2]") is None and repair_text('"text"') is None
    assert split_objects('[{"a": 1}, {"a": 2}]') == [{"a": 1}, {"a": 2}]
    assert split_objects('{"a": 1}\n{"a": 2}') == [{"a": 1}, {"a": 2}]
    assert split_objects('{"a": 1}') is None and split_objects('{"a": 1} x') is None
    assert split_objects("[1, 2]") is None
    schema = {
        "type": "object",
        "properties": {
            "n": {"anyOf": [{"type": "number"}, {"type": "null"}]},
            "i": {"type": "integer"},
            "s": {"type": "string"},
            "o": {"$ref": "#/$defs/O"},
            "xs": {"type": "array", "items": {"type": "integer"}},
            "m": {"type": "object", "additionalProperties": {"type": "integer"}},
        },
        "$defs": {"O": {"type": "object", "properties": {"k": {"type": "integer"}}}},
    }
    value = {"n": "2.5", "i": "7", "s": "8", "o": '{"k": "1"}', "xs": ["1", 2], "m": {"a": "3"}}
    assert coerce_to_schema(value, schema) == {
        "n": 2.5,
        "i": 7,
        "s": "8",
        "o": {"k": 1},
        "xs": [1, 2],
        "m": {"a": 3},
    }
    same = {"i": 1, "xs": [1]}
    assert coerce_to_schema(same, schema) is same
    assert coerce_to_schema({"i": "2.5", "n": "nan", "o": "[1]", "xs": "nope"}, schema) == {
        "i": "2.5",
        "n": "nan",
        "o": "[1]",
        "xs": "nope",
    }


# --- a call written as JSON text by a native tool-calling model ----------------------------------------


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer(model="google/gemini-2.5-flash") as srv:
        yield srv


CALL_TEXT = '{"name": "get_weather", "arguments": {"city": "Oslo"}}'


@pytest.mark.parametrize("stream", [False, True])
async def test_a_call_written_as_text_becomes_a_tool_call(server: LoopbackServer, stream: bool) -> None:
    server.add(CALL_TEXT, "It is sunny in Oslo.")
    model = OpenAIChatModel("google/gemini-2.5-flash", base_url=server.base_url, api_key="test")
    agent = Agent(model, tools=[get_weather])
    if stream:
        async with agent.run_stream("weather in Oslo?") as events:
            seen = [e async for e in events]
        result = events.result
        # the text was already streamed before it turned out to be a call (documented)
        assert "".join(e.text for e in seen if isinstance(e, TextDelta)).startswith(CALL_TEXT)
        finished = [e.message for e in seen if isinstance(e, ResponseFinished)]
        assert finished[0].tool_calls and finished[0].content == ""
    else:
        result = await agent.run("weather in Oslo?")
    await model.aclose()
    assert result.output == "It is sunny in Oslo."
    assert received[0]["city"] == "Oslo" and len(server.bodies) == 2
    call = first_calls(result.messages)[0]
    assert call.name == "get_weather" and json.loads(call.arguments) == {"city": "Oslo"}
    assert call.original_arguments == CALL_TEXT and result.usage.repairs == 1
    sent = server.bodies[1]["messages"]
    assert sent[-2]["tool_calls"][0]["function"]["name"] == "get_weather" and sent[-2]["content"] == ""


async def test_text_that_only_looks_like_a_call_stays_text(server: LoopbackServer) -> None:
    text = '{"name": "not_a_tool", "arguments": {}}'
    server.add(text, 'Here: {"name": "get_weather", "arguments": {"city": "Oslo"}} is how to call it.')
    model = OpenAIChatModel("google/gemini-2.5-flash", base_url=server.base_url, api_key="test")
    agent = Agent(model, tools=[get_weather])
    assert (await agent.run("json?")).output == text
    result = await agent.run("how?")
    await model.aclose()
    assert result.output.startswith("Here:") and result.usage.repairs == 0 and received == []
