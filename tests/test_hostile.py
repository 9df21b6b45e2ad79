"""A bad reply or a bad result ends no more than its own run: each becomes a tool error the model reads, or an
`AgentRunError` carrying the transcript and usage (docs/failures.md).

Arguments with a number of 4,301+ digits, nesting past `MAX_ARGUMENT_DEPTH`, `NaN`, `Infinity` or `1e400`;
results holding lone surrogates, whose `str()` raises, or that raise an exception whose `str()` raises; lone
surrogates anywhere in a transcript (requests, `messages_to_json`, sessions). Each through `run` and
`run_stream`, and through the real `AsyncOpenAI` client against the loopback server where the wire matters.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import pytest
from pydantic import AfterValidator, BaseModel

from agentkit import (
    Agent,
    AgentRunError,
    AssistantMessage,
    ToolCall,
    ToolMessage,
    UserMessage,
    messages_from_json,
    messages_to_json,
)
from agentkit._schema.function import MAX_ARGUMENT_DEPTH
from agentkit.models.openai import OpenAIChatModel
from agentkit.result import RunResult
from agentkit.sessions import SQLiteSession
from agentkit.testing import LoopbackServer, RawStream, ScriptedModel

MODEL = "google/gemini-2.0-flash-001"
LONE = "\udcff"
"""A lone surrogate: what `os.listdir` gives for the byte 0xff in a file name that is not UTF-8."""


def number(x: float) -> str:
    """Echo a number."""
    return f"got {x!r}"


def whole(x: int) -> str:
    """Echo a whole number."""
    return f"got {x}"


def anything(x: Any) -> str:
    """Echo anything."""
    return "got it"


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no text for you")

    __repr__ = __str__


class UnprintableError(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no text for the error either")


def unprintable() -> object:
    """A result that cannot be written as text."""
    return Unprintable()


def raises_unprintable() -> str:
    """Raises an exception that cannot be written as text."""
    raise UnprintableError


def surrogate_name() -> str:
    """A file name that is not UTF-8."""
    return f"report-{LONE}.txt"


def surrogate_raise() -> str:
    """Fails on a file name that is not UTF-8."""
    raise FileNotFoundError(f"no such file: report-{LONE}.txt")


def surrogate_dict() -> dict[str, str]:
    """A mapping with a surrogate in a key and a value."""
    return {f"k{LONE}": f"v{LONE}"}


def call(name: str, arguments: str) -> AssistantMessage:
    return AssistantMessage(tool_calls=[ToolCall(id="c", name=name, arguments=arguments)])


async def run(agent: Agent[None, Any], *, stream: bool, prompt: str = "go") -> RunResult[Any]:
    if not stream:
        return await agent.run(prompt)
    async with agent.run_stream(prompt) as events:
        async for _ in events:
            pass
    return events.result


def tool_messages(result: RunResult[Any]) -> list[ToolMessage]:
    return [m for m in result.messages if isinstance(m, ToolMessage)]


BAD_ARGUMENTS = [
    pytest.param(whole, '{"x": ' + "9" * 5000 + "}", "5,000 digits", id="int-5000-digits"),
    pytest.param(number, '{"x": ' + "9" * 5000 + "}", "5,000 digits", id="float-5000-digits"),
    pytest.param(number, '{"x": -' + "9" * 4301 + ".5}", "not a finite number", id="float-4301-digits"),
    pytest.param(anything, '{"x": ' + "[" * 5000 + "]" * 5000 + "}", "nested", id="nested-5000"),
    pytest.param(
        anything,
        '{"x": ' + "[" * MAX_ARGUMENT_DEPTH + "]" * MAX_ARGUMENT_DEPTH + "}",
        "nested",
        id="nested-past-the-limit",
    ),
    pytest.param(anything, "{'x': " + "[" * 5000 + "]" * 5000 + "}", "not valid JSON", id="nested-unquoted"),
    pytest.param(anything, '{"x": 1}' + "[" * 5000 + "]" * 5000, "not valid JSON", id="nested-second"),
    pytest.param(
        anything, '{"x": 1} {"x": ' + "[" * 5000 + "]" * 5000 + "}", "not valid JSON", id="nested-split"
    ),
    pytest.param(
        anything,
        json.dumps('{"x": ' + "[" * 5000 + "]" * 5000 + "}"),
        "got a string",
        id="nested-in-a-string",
    ),
    pytest.param(number, '{"x": 1e400}', "$.x: not a finite number", id="1e400"),
    pytest.param(number, '{"x": NaN}', "$.x: not a finite number", id="NaN"),
    pytest.param(number, '{"x": -Infinity}', "$.x: not a finite number", id="-Infinity"),
    pytest.param(anything, '{"x": {"y": [1, Infinity]}}', "$.x.y[1]: not a finite number", id="deep-inf"),
]


@pytest.mark.parametrize("stream", [False, True], ids=["run", "stream"])
@pytest.mark.parametrize(("function", "arguments", "said"), BAD_ARGUMENTS)
async def test_unreadable_arguments_are_a_tool_error_the_model_reads(
    function: Any, arguments: str, said: str, stream: bool
) -> None:
    model = ScriptedModel([call(function.__name__, arguments), "ok"])
    result = await run(Agent(model, tools=[function]), stream=stream)
    assert result.output == "ok"
    (message,) = tool_messages(result)
    assert message.is_error and said in message.content, message.content
    assert "call the tool again" in message.content
    assert model.requests[-1].last_tool_messages[0].content == message.content  # the model read it


def _refuse(value: int) -> int:
    raise LookupError(f"no entry {value}")


def picky(x: Annotated[int, AfterValidator(_refuse)]) -> str:
    """A tool whose argument validator has a bug: it raises something pydantic does not catch."""
    return "never"


async def test_a_validator_that_raises_anything_is_a_tool_error() -> None:
    model = ScriptedModel([call("picky", '{"x": 3}'), "ok"])
    result = await Agent(model, tools=[picky]).run("go")
    (message,) = tool_messages(result)
    assert message.is_error
    assert "$: the arguments could not be validated (LookupError: no entry 3)" in message.content


async def test_arguments_just_inside_the_limits_run() -> None:
    depth = MAX_ARGUMENT_DEPTH - 1  # the arguments object is one level, so x may be one less
    arguments = '{"x": ' + "[" * depth + "]" * depth + "}"
    digits = sys.get_int_max_str_digits()
    model = ScriptedModel([call("anything", arguments), call("whole", '{"x": ' + "9" * digits + "}"), "ok"])
    result = await Agent(model, tools=[anything, whole]).run("go")
    assert [m.is_error for m in tool_messages(result)] == [False, False]


@pytest.mark.parametrize("stream", [False, True], ids=["run", "stream"])
async def test_a_result_whose_str_raises_is_a_tool_error(stream: bool) -> None:
    model = ScriptedModel([call("unprintable", "{}"), call("raises_unprintable", "{}"), "ok"])
    result = await run(Agent(model, tools=[unprintable, raises_unprintable]), stream=stream)
    assert result.output == "ok"
    first, second = tool_messages(result)
    assert first.is_error
    assert first.content == (
        "The tool's result (a Unprintable) could not be turned into text: str() raised RuntimeError: "
        "no text for you"
    )
    assert second.is_error
    assert second.content == "The tool raised UnprintableError (its message could not be read)"


async def test_a_result_whose_str_raises_counts_against_the_tool_budget() -> None:
    model = ScriptedModel([call("unprintable", "{}")] * 2)
    with pytest.raises(AgentRunError, match="failed 2 times") as caught:
        await Agent(model, tools=[unprintable], retries=1).run("go")
    assert caught.value.usage is not None and caught.value.usage.requests == 2
    assert [m.role for m in caught.value.messages] == ["user", "assistant", "tool", "assistant", "tool"]


@pytest.mark.parametrize("stream", [False, True], ids=["run", "stream"])
async def test_lone_surrogates_in_results_are_replaced_and_the_model_told(stream: bool) -> None:
    model = ScriptedModel(
        [
            AssistantMessage(
                tool_calls=[
                    ToolCall(id="a", name="surrogate_name", arguments="{}"),
                    ToolCall(id="b", name="surrogate_raise", arguments="{}"),
                    ToolCall(id="c", name="surrogate_dict", arguments="{}"),
                ]
            ),
            "ok",
        ]
    )
    agent = Agent(model, tools=[surrogate_name, surrogate_raise, surrogate_dict])
    result = await run(agent, stream=stream)
    name, error, mapping = tool_messages(result)
    note = "[1 character that is not valid Unicode (a lone surrogate, as in a file name that is not UTF-8)"
    assert name.content.startswith("report-\ufffd.txt\n") and note in name.content
    assert error.is_error and error.content.startswith(
        "The tool raised FileNotFoundError: no such file: report-\ufffd"
    )
    assert "2 characters that are not valid Unicode" in mapping.content
    for message in (name, error, mapping):
        message.content.encode("utf-8")
    assert messages_from_json(result.messages_json()) == result.messages


async def test_a_surrogate_result_reaches_the_server_and_the_session(tmp_path: Path) -> None:
    session = SQLiteSession(tmp_path / "s.db", "s")
    with LoopbackServer([call("surrogate_name", "{}"), "ok"]) as server:
        model = OpenAIChatModel(MODEL, base_url=server.base_url, api_key="test-key")
        result = await Agent(model, tools=[surrogate_name]).run("list", session=session)
        await model.aclose()
    assert result.output == "ok"
    sent = server.bodies[1]["messages"][-1]
    assert sent["role"] == "tool" and sent["content"].startswith("report-\ufffd.txt")
    assert session.load_sync() == result.messages


@pytest.mark.parametrize("stream", [False, True], ids=["run", "stream"])
async def test_surrogates_from_anywhere_are_sent_as_u_fffd(stream: bool) -> None:
    """A prompt read from a command line in a non-UTF-8 locale, a streamed reply decoded from `\\udcff`, a
    call's name and arguments: the request is still sent, each lone surrogate as U+FFFD."""
    reply = AssistantMessage(
        content=f"see {LONE}", tool_calls=[ToolCall(id="c", name=f"f{LONE}", arguments=f'{{"x": "{LONE}"}}')]
    )
    with LoopbackServer([reply, "ok"]) as server:
        model = OpenAIChatModel(MODEL, base_url=server.base_url, api_key="test-key")
        result = await run(Agent(model, tools=[number]), stream=stream, prompt=f"hello {LONE}")
        await model.aclose()
    assert result.output == "ok"
    sent = server.bodies[1]["messages"]
    assert sent[0] == {"role": "user", "content": "hello \ufffd"}
    assert sent[1]["content"] == "see \ufffd"
    assert sent[1]["tool_calls"][0]["function"] == {"name": "f\ufffd", "arguments": '{"x": "\ufffd"}'}
    assert result.messages[0] == UserMessage(content=f"hello {LONE}")  # the transcript keeps what it got


async def test_a_raw_stream_with_a_surrogate_in_its_text() -> None:
    with LoopbackServer() as server:
        server.add(
            RawStream(
                events=[
                    server.chunk({"role": "assistant", "content": "bad " + LONE}),
                    server.chunk({}, "stop"),
                    "data: [DONE]",
                ]
            )
        )
        model = OpenAIChatModel(MODEL, base_url=server.base_url, api_key="test-key")
        result = await run(Agent(model), stream=True)
        await model.aclose()
    assert result.output == f"bad {LONE}"
    assert json.loads(result.messages_json())[1]["content"] == "bad \ufffd"


def test_messages_to_json_replaces_lone_surrogates(tmp_path: Path) -> None:
    messages = [
        UserMessage(content=f"a{LONE}"),
        AssistantMessage(tool_calls=[ToolCall(id="c", name="f", arguments=f'{{"p": "{LONE}"}}')]),
        ToolMessage(tool_call_id="c", name="f", content=f"\ud800x{LONE}"),
    ]
    compact = messages_to_json(messages)
    assert json.loads(compact)[2]["content"] == "\ufffdx\ufffd"
    assert (
        messages_to_json(messages, indent=2)
        == json.dumps(json.loads(compact), indent=2, ensure_ascii=False).encode()
    )
    loaded = messages_from_json(compact)
    assert loaded[0] == UserMessage(content="a\ufffd")
    session = SQLiteSession(tmp_path / "s.db", "s")
    session.append_sync(messages)
    assert session.load_sync() == loaded


@pytest.mark.skipif(sys.platform != "linux", reason="file names are bytes on Linux")
async def test_list_files_with_a_file_name_that_is_not_utf8(tmp_path: Path) -> None:
    from agentkit_tools import files

    os.close(os.open(os.fsencode(tmp_path) + b"/caf\xe9.txt", os.O_CREAT | os.O_WRONLY, 0o600))
    with LoopbackServer([call("list_files", "{}"), "ok"]) as server:
        model = OpenAIChatModel(MODEL, base_url=server.base_url, api_key="test-key")
        result = await Agent(model, tools=files(tmp_path)).run("list")
        await model.aclose()
    assert result.output == "ok"
    listed = server.bodies[1]["messages"][-1]["content"]
    # the name reaches the model escaped (the files() tools mark odd names), and the request is valid UTF-8
    assert listed.startswith("caf\\xe9.txt") and "odd name, shown escaped" in listed


class Labelled(BaseModel):
    label: str


async def test_a_streamed_final_result_holding_a_surrogate() -> None:
    """The partial output is not validated while the text cannot be encoded; the final result is."""
    final = ToolCall(id="c", name="final_result", arguments=f'{{"label": "caf{LONE}"}}')
    agent = Agent(ScriptedModel([AssistantMessage(tool_calls=[final])]), output_type=Labelled)
    async with agent.run_stream("go") as events:
        async for _ in events:
            pass
    assert events.result.output == Labelled(label=f"caf{LONE}")
    assert (
        json.loads(events.result.messages_json())[1]["tool_calls"][0]["arguments"] == '{"label": "caf\ufffd"}'
    )


def test_valid_unicode_copies_only_what_holds_a_surrogate() -> None:
    from agentkit._support.unicode import replace_surrogates, valid_unicode

    clean = {"a": ["é", 1, None, ("x",)], "b": {"c": 2.5}}
    assert valid_unicode(clean) is clean
    dirty = {"a": [("x" + LONE, 1, None)], "k" + LONE: True}
    assert valid_unicode(dirty) == {"a": [["x\ufffd", 1, None]], "k\ufffd": True}
    assert replace_surrogates("plain") == ("plain", 0)
    assert replace_surrogates("é\ud800\udfff") == ("é\ufffd\ufffd", 2)
