"""A prompted reply that writes its calls again and again is cut at the first repeat (`cut_repeated_calls`,
on in the local profile): the calls before it kept, the stream closed there (nothing after it is read), a
plain request read from a stream so it is cut the same way. Through the real `AsyncOpenAI` client against
the loopback server."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest

from agentkit import Agent, ModelSettings, UserMessage, tool
from agentkit.events import ResponseFinished, TextDelta
from agentkit.exceptions import ModelAPIError
from agentkit.local.policy import LOCAL
from agentkit.models import ModelRequestParameters
from agentkit.models._repeats import repeated_call_at
from agentkit.models.openai import OpenAIChatModel
from agentkit.models.profiles import ModelProfile
from agentkit.testing import LoopbackServer, RawStream

FORMAT = dataclasses.replace(LOCAL, policy=None, constrain_calls=False, decide_tool_use=False)  # no checks
OSLO = '{"name": "get_weather", "arguments": {"city": "Oslo"}}'
LIMA = '{"name": "get_weather", "arguments": {"city": "Lima"}}'
LIMA_REORDERED = '{"arguments": {"city": "Lima"}, "name": "get_weather"}'


@tool
def get_weather(city: str) -> str:
    """Current weather in a city."""
    return f"{city}: snow"


PARAMETERS = ModelRequestParameters(tools=[get_weather.definition])
QUESTION = [UserMessage(content="Weather in Oslo and Lima?")]


# -- where a reply repeats itself --------------------------------------------------------------------------------


def test_the_first_repeated_call_line_is_found() -> None:
    text = f"{OSLO}\n{LIMA}\n{OSLO}\n{LIMA}\n"
    assert repeated_call_at(text) == len(OSLO) + len(LIMA) + 2


def test_equal_objects_repeat_whatever_their_spacing_or_key_order() -> None:
    text = f"{OSLO}\n{LIMA}\n{LIMA_REORDERED}\n"
    assert repeated_call_at(text) == len(OSLO) + len(LIMA) + 2
    assert repeated_call_at(f"{LIMA}\n  {LIMA.replace(': ', ':')}  \n") == len(LIMA) + 1


@pytest.mark.parametrize(
    "text",
    [
        f"{OSLO}\n{LIMA}\n",  # different calls
        f"{OSLO}\n{OSLO}",  # the repeat is still being written
        "Checking.\nChecking.\n",  # text repeats, no call
        f"{OSLO} {OSLO}\n",  # two calls on one line
        '{"a": [1, 2}\n{"a": [1, 2}\n',  # not JSON
        "[1, 2]\n[1, 2]\n",  # not an object
        "",
    ],
)
def test_nothing_else_counts_as_a_repeat(text: str) -> None:
    assert repeated_call_at(text) is None


# -- on the wire ---------------------------------------------------------------------------------------------------


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer(model="local-test") as srv:
        yield srv


def looping(server: LoopbackServer) -> RawStream:
    """A reply that writes two calls, then the first again, a token or so a chunk; an error after the repeat
    that a client reading on would raise."""
    pieces = [
        OSLO[:20],
        OSLO[20:],
        "\n",
        LIMA[:30],
        LIMA[30:] + "\n",
        OSLO[:10],
        OSLO[10:] + "\n",
        LIMA + "\n",
    ]
    events: list[dict[str, Any] | str] = [server.chunk({"role": "assistant", "content": p}) for p in pieces]
    events.append({"error": {"code": 502, "message": "read past the repeat"}})
    return RawStream(events=events)


def model_on(server: LoopbackServer, profile: ModelProfile = FORMAT) -> OpenAIChatModel:
    return OpenAIChatModel("local-test", base_url=server.base_url, profile=profile)


def test_a_request_is_cut_at_the_first_repeat(server: LoopbackServer) -> None:
    server.add(looping(server))
    reply = asyncio.run(model_on(server).request(QUESTION, PARAMETERS, ModelSettings()))
    assert [c.arguments for c in reply.tool_calls] == ['{"city": "Oslo"}', '{"city": "Lima"}']
    assert reply.content == "" and reply.finish_reason == "stop"
    # the server's usage comes last, never read: the chunks before the cut count as output tokens
    assert reply.usage is not None and (reply.usage.output_tokens, reply.usage.requests) == (7, 1)
    (body,) = server.bodies
    assert body["stream"] is True  # a plain request is read from a stream


def test_a_stream_is_cut_at_the_first_repeat(server: LoopbackServer) -> None:
    server.add(looping(server))

    async def events() -> list[object]:
        return [e async for e in model_on(server).request_stream(QUESTION, PARAMETERS, ModelSettings())]

    got = asyncio.run(events())
    assert not [e for e in got if isinstance(e, TextDelta)]  # call lines are held back, never shown
    (finished,) = [e for e in got if isinstance(e, ResponseFinished)]
    assert len(finished.message.tool_calls) == 2


def test_a_run_takes_the_calls_before_the_repeat(server: LoopbackServer) -> None:
    server.add(looping(server), "Snow in both.")
    result = Agent(model_on(server), tools=[get_weather]).run_sync("Weather in Oslo and Lima?")
    assert result.output == "Snow in both."
    assert [m.content for m in result.messages if m.role == "tool"] == ["Oslo: snow", "Lima: snow"]


def test_without_the_profile_field_the_whole_reply_is_read(server: LoopbackServer) -> None:
    server.add(looping(server))
    profile = dataclasses.replace(FORMAT, cut_repeated_calls=False)

    async def read_all() -> list[object]:
        return [
            e async for e in model_on(server, profile).request_stream(QUESTION, PARAMETERS, ModelSettings())
        ]

    with pytest.raises(ModelAPIError):  # read on to the error after the repeat
        asyncio.run(read_all())


def test_a_reply_without_tools_is_not_streamed(server: LoopbackServer) -> None:
    server.add("Hello.")
    Agent(model_on(server)).run_sync("Hi")
    (body,) = server.bodies
    assert "stream" not in body


def test_the_local_profile_cuts_repeats_and_others_do_not() -> None:
    assert LOCAL.cut_repeated_calls and not ModelProfile().cut_repeated_calls
