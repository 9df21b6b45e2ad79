"""A wire Gemini never refuses: a call that cannot be repaired goes back as valid JSON (the transcript keeps
what the model wrote), text after a whole object is repaired when the object validates, and every request
body passes `check_gemini_history`, which a `LoopbackServer` can enforce as Gemini does."""

from __future__ import annotations

import json
from typing import Any

import pytest
from shared_tools import add

from agentkit import Agent, AssistantMessage, ToolCall, ToolMessage, UserMessage
from agentkit.messages import SystemMessage
from agentkit.models._chat_format import wire_messages
from agentkit.models.openai import OpenAIChatModel
from agentkit.testing import LoopbackServer, ScriptedModel, check_gemini_history, tool_call_response

MODEL = "google/gemini-2.5-flash"
CUT_IN_KEY = '{"a": 17, "b'
WITH_COMMENT = '{"a": 17, "b": 25} // sum'


def first_call(messages: list[Any]) -> ToolCall:
    return next(m for m in messages if isinstance(m, AssistantMessage) and m.tool_calls).tool_calls[0]


def tool_messages(messages: list[Any]) -> list[ToolMessage]:
    return [m for m in messages if isinstance(m, ToolMessage)]


# --- through ScriptedModel: the transcript -------------------------------------------------------------


async def test_a_call_cut_inside_a_key_goes_back_as_an_empty_object_with_the_error() -> None:
    model = ScriptedModel(
        [tool_call_response("add", CUT_IN_KEY), tool_call_response("add", {"a": 17, "b": 25}), "42"]
    )
    result = await Agent(model, tools=[add]).run("17 + 25?")
    assert result.output == "42"
    call = first_call(result.messages)
    assert call.arguments == "{}" and call.original_arguments == CUT_IN_KEY
    told = tool_messages(result.messages)[0]
    assert told.is_error and "not valid JSON" in told.content
    assert CUT_IN_KEY in told.content  # the model sees what it wrote, although the history shows {}
    assert "shown with arguments {}" in told.content
    assert "Fix the arguments and call the tool again." in told.content
    assert result.usage.repairs == 0  # kept as written, not repaired
    sent = model.requests[1].messages
    assert first_call(sent) == call


COMMENTS = [
    ("line comment", WITH_COMMENT),
    ("stray word", '{"a": 17, "b": 25} done'),
    ("closing tag", '{"a": 17, "b": 25}</tool_call>'),
    ("extra brace", '{"a": 17, "b": 25}}'),
    ("hash comment", '{"a": 17, "b": 25}\n# the sum'),
    ("in a fence", '```json\n{"a": 17, "b": 25} // sum\n```'),
]


@pytest.mark.parametrize("raw", [c[1] for c in COMMENTS], ids=[c[0] for c in COMMENTS])
async def test_text_after_a_whole_object_is_repaired_when_the_object_validates(raw: str) -> None:
    model = ScriptedModel([tool_call_response("add", raw), "42"])
    result = await Agent(model, tools=[add]).run("17 + 25?")
    assert result.output == "42" and len(model.requests) == 2
    call = first_call(result.messages)
    assert json.loads(call.arguments) == {"a": 17, "b": 25} and call.original_arguments == raw
    assert tool_messages(result.messages)[0].content == "42"
    assert result.usage.repairs == 1


NOT_REPAIRED = [
    ("object does not validate", '{"a": 17} // sum'),
    ("a second object begun", '{"a": 17, "b": 25} {"a": 1'),
    ("a second object after a word", '{"a": 17, "b": 25} and {"a": 1, "b": 2}'),
    ("a list after it", '{"a": 17, "b": 25} [1]'),
]


@pytest.mark.parametrize("raw", [c[1] for c in NOT_REPAIRED], ids=[c[0] for c in NOT_REPAIRED])
async def test_text_after_an_object_is_not_repaired_otherwise(raw: str) -> None:
    model = ScriptedModel([tool_call_response("add", raw), "done"])
    result = await Agent(model, tools=[add]).run("17 + 25?")
    call = first_call(result.messages)
    assert call.arguments == "{}" and call.original_arguments == raw
    told = tool_messages(result.messages)[0]
    assert told.is_error and result.usage.repairs == 0


async def test_valid_json_that_does_not_validate_goes_back_as_written() -> None:
    raw = '{"a": "seventeen", "b": 25}'
    model = ScriptedModel([tool_call_response("add", raw), "done"])
    result = await Agent(model, tools=[add]).run("17 + 25?")
    call = first_call(result.messages)
    assert call.arguments == raw and call.original_arguments is None  # already valid JSON: faithful as is
    assert tool_messages(result.messages)[0].is_error


@pytest.mark.parametrize(("raw", "problem"), [("[17, 25]", "an array"), ('"17 + 25"', "a string")])
async def test_json_that_is_not_an_object_goes_back_as_an_empty_object(raw: str, problem: str) -> None:
    model = ScriptedModel([tool_call_response("add", raw), "done"])
    result = await Agent(model, tools=[add]).run("17 + 25?")
    call = first_call(result.messages)
    assert call.arguments == "{}" and call.original_arguments == raw
    assert problem in tool_messages(result.messages)[0].content


# --- the wire: a guard for histories that never went through a run ----------------------------------------


@pytest.mark.parametrize(
    "raw", [CUT_IN_KEY, WITH_COMMENT, "", "null", "[1]", '{"a": NaN}', '{"a": Infinity}', "[" * 5000]
)
def test_the_wire_never_carries_arguments_that_are_not_a_json_object(raw: str) -> None:
    history = [
        UserMessage(content="17 + 25?"),
        AssistantMessage(tool_calls=[ToolCall(id="c1", name="add", arguments=raw)]),
        ToolMessage(tool_call_id="c1", name="add", content="error"),
    ]
    wire = wire_messages(history)
    assert wire[1]["tool_calls"][0]["function"]["arguments"] == "{}"
    assert check_gemini_history({"messages": wire}) == []


def test_the_wire_keeps_valid_arguments_byte_for_byte() -> None:
    raw = '{"b": 25,   "a": 17, "note": "é"}'
    history = [
        UserMessage(content="q"),
        AssistantMessage(tool_calls=[ToolCall(id="c1", name="add", arguments=raw)]),
    ]
    assert wire_messages(history)[1]["tool_calls"][0]["function"]["arguments"] == raw


# --- through the real SDK against a server that refuses like Gemini ---------------------------------------


async def _run(server: LoopbackServer, stream: bool) -> Any:
    model = OpenAIChatModel(MODEL, base_url=server.base_url, api_key="test", max_retries=0)
    agent = Agent(model, tools=[add])
    try:
        if stream:
            async with agent.run_stream("17 + 25?") as events:
                async for _ in events:
                    pass
            return events.result
        return await agent.run("17 + 25?")
    finally:
        await model.aclose()


@pytest.mark.parametrize("stream", [False, True], ids=["run", "stream"])
async def test_cut_inside_a_key_on_a_server_that_refuses_like_gemini(stream: bool) -> None:
    with LoopbackServer(model=MODEL, check=check_gemini_history) as server:
        server.add(tool_call_response("add", CUT_IN_KEY), tool_call_response("add", {"a": 17, "b": 25}), "42")
        result = await _run(server, stream)
    assert result.output == "42" and len(server.bodies) == 3
    assert [check_gemini_history(b) for b in server.bodies] == [[], [], []]
    second = server.bodies[1]["messages"]
    assert second[1]["tool_calls"][0]["function"]["arguments"] == "{}"
    assert second[2]["role"] == "tool" and "not valid JSON" in second[2]["content"]
    assert CUT_IN_KEY in second[2]["content"]
    assert first_call(result.messages).original_arguments == CUT_IN_KEY


@pytest.mark.parametrize("stream", [False, True], ids=["run", "stream"])
async def test_object_and_comment_on_a_server_that_refuses_like_gemini(stream: bool) -> None:
    with LoopbackServer(model=MODEL, check=check_gemini_history) as server:
        server.add(tool_call_response("add", WITH_COMMENT), "42")
        result = await _run(server, stream)
    assert result.output == "42" and len(server.bodies) == 2 and result.usage.repairs == 1
    assert json.loads(server.bodies[1]["messages"][1]["tool_calls"][0]["function"]["arguments"]) == {
        "a": 17,
        "b": 25,
    }
    assert server.bodies[1]["messages"][2]["content"] == "42"


async def test_the_server_refuses_a_history_gemini_would_refuse() -> None:
    bad = {"id": "c1", "type": "function", "function": {"name": "add", "arguments": CUT_IN_KEY}}
    import openai

    with LoopbackServer(model=MODEL, check=check_gemini_history) as server:
        server.add("never sent")
        # the SDK itself, so that nothing repairs the history on its way out
        client = openai.AsyncOpenAI(base_url=server.base_url, api_key="test", max_retries=0)
        with pytest.raises(openai.BadRequestError) as caught:
            await client.chat.completions.create(
                model=MODEL,
                messages=[
                    {"role": "user", "content": "17 + 25?"},
                    {"role": "assistant", "content": "", "tool_calls": [bad]},
                    {"role": "tool", "tool_call_id": "c1", "content": "error"},
                ],
            )
        await client.close()
    assert caught.value.status_code == 400 and "not valid JSON" in str(caught.value)
    assert server.script == ["never sent"]  # a refused request uses no scripted answer


# --- the checker's rules ------------------------------------------------------------------------------


def _call(call_id: str, name: str = "add", arguments: str = '{"a": 1, "b": 2}') -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def _answer(call_id: str, name: str = "add") -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": call_id, "name": name, "content": "3"}


USER = {"role": "user", "content": "q"}


def _asks(*calls: dict[str, Any], content: Any = "") -> dict[str, Any]:
    return {"role": "assistant", "content": content, "tool_calls": list(calls)}


CHECKS = [
    ("fine", [USER, _asks(_call("1"), _call("2")), _answer("1"), _answer("2")], []),
    (
        "unanswered",
        [USER, _asks(_call("1"), _call("2")), _answer("1")],
        ["never answered by a tool message: '2'"],
    ),
    (
        "user turn before the answers",
        [USER, _asks(_call("1")), USER, _answer("1")],
        ["messages[2]: a user turn before", "messages[3]: a tool message (for '1') that answers no call"],
    ),
    (
        "out of order",
        [USER, _asks(_call("1"), _call("2")), _answer("2"), _answer("1")],
        ["in order", "in order"],
    ),
    ("answered twice", [USER, _asks(_call("1")), _answer("1"), _answer("1")], ["answers no call"]),
    ("wrong name", [USER, _asks(_call("1")), _answer("1", "sub")], ["named 'sub' answering a call of 'add'"]),
    (
        "tool message without content",
        [USER, _asks(_call("1")), {"role": "tool", "tool_call_id": "1"}],
        ["without content"],
    ),
    ("orphan tool message", [USER, _answer("1")], ["answers no call"]),
    ("empty assistant", [USER, {"role": "assistant", "content": ""}, USER], ["empty assistant message"]),
    ("null assistant", [USER, {"role": "assistant", "content": None}, USER], ["empty assistant message"]),
    ("empty user", [{"role": "user", "content": ""}], ["empty user message"]),
    ("empty user parts", [{"role": "user", "content": []}], ["empty user message"]),
    ("null content with calls", [USER, _asks(_call("1"), content=None), _answer("1")], ["not a string"]),
    (
        "calls first",
        [{"role": "system", "content": "s"}, _asks(_call("1")), _answer("1")],
        ["right after a user"],
    ),
    (
        "calls after text",
        [USER, {"role": "assistant", "content": "hm"}, _asks(_call("1")), _answer("1")],
        ["right after a user"],
    ),
    ("invalid JSON", [USER, _asks(_call("1", arguments=CUT_IN_KEY)), _answer("1")], ["not valid JSON"]),
    ("NaN", [USER, _asks(_call("1", arguments='{"a": NaN}')), _answer("1")], ["not valid JSON"]),
    ("deep", [USER, _asks(_call("1", arguments="[" * 100_000)), _answer("1")], ["not valid JSON"]),
    ("not an object", [USER, _asks(_call("1", arguments="[1]")), _answer("1")], ["not a JSON object"]),
    (
        "not a string",
        [USER, _asks({"id": "1", "function": {"name": "add", "arguments": {}}}), _answer("1")],
        ["not a JSON string"],
    ),
    ("duplicate id", [USER, _asks(_call("1"), _call("1")), _answer("1"), _answer("1")], ["used twice"]),
    ("no id", [USER, _asks({"function": {"name": "add", "arguments": "{}"}}), _answer("None")], ["no id"]),
    (
        "bad name",
        [USER, _asks(_call("1", name="get weather")), _answer("1", "get weather")],
        ["not a function name"],
    ),
    ("unknown role", [USER, {"role": "robot", "content": "x"}], ["unknown role 'robot'"]),
]


@pytest.mark.parametrize(("messages", "expected"), [c[1:] for c in CHECKS], ids=[c[0] for c in CHECKS])
def test_check_gemini_history_rules(messages: list[dict[str, Any]], expected: list[str]) -> None:
    problems = check_gemini_history({"messages": messages})
    assert len(problems) == len(expected), problems
    for problem, text in zip(problems, expected, strict=True):
        assert text in problem, (problem, text)


def test_check_gemini_history_needs_messages() -> None:
    assert check_gemini_history({}) == ["messages: missing, or not a list"]


def test_the_history_agentkit_builds_passes_even_from_an_unusual_transcript() -> None:
    # a transcript a user hands in: a system message, answers missing, an orphan result
    history = [
        SystemMessage(content="be brief"),
        UserMessage(content="17 + 25?"),
        AssistantMessage(tool_calls=[ToolCall(id="c1", name="add", arguments=CUT_IN_KEY)]),
        ToolMessage(tool_call_id="zz", name="add", content="orphan"),
    ]
    assert check_gemini_history({"messages": wire_messages(history)}) == []
