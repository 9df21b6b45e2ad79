"""`ModelProfile.decline_invented_calls` on the wire: the first reply to a question is read whole before any of
it is passed on and its calls checked (`_invented_calls`); calls made of values nobody gave send the question
back without calls, and a reply that passes is used as it came, passed on as one chunk. Requests through the real `AsyncOpenAI` client
against the loopback server."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import pytest
from loopback_support import logprobs

from agentkit import Agent, tool
from agentkit.events import ToolCallDelta
from agentkit.local.policy import LOCAL
from agentkit.models.openai import OpenAIChatModel
from agentkit.models.profiles import ModelProfile
from agentkit.testing import BodyError, LoopbackServer

CHECKING = dataclasses.replace(LOCAL, policy=None, decline_invented_calls=True, more_calls_threshold=None)
"""The local profile's wire format and decision with the check; no run policy, no probe for more calls."""
CALL = logprobs(('{"', -0.01), ("The", -5.0))
"""The decision's one token: a call (log P(text) - log P(call) about -5, below the local threshold)."""
SUN = '{"name": "star_info", "arguments": {"star_name": "Sun", "information": "radius"}}'
VEGA = '{"name": "star_info", "arguments": {"star_name": "Vega", "information": "age"}}'


@tool
def star_info(star_name: str, information: str) -> str:
    """Facts about a star.

    Args:
        star_name: The star's name.
        information: Which fact: radius, mass or age.
    """
    return f"{star_name}: {information} 455 million years"


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer(model="local-test") as srv:
        yield srv


def model_on(server: LoopbackServer, profile: ModelProfile = CHECKING) -> OpenAIChatModel:
    return OpenAIChatModel("local-test", base_url=server.base_url, profile=profile)


def test_the_local_profile_checks_its_first_calls() -> None:
    assert LOCAL.decline_invented_calls and LOCAL.decide_tool_use
    assert not ModelProfile().decline_invented_calls


def test_invented_calls_send_the_question_back_without_calls(server: LoopbackServer) -> None:
    server.add(CALL, SUN, "Jupiter is the largest planet we know.")
    result = Agent(model_on(server), tools=[star_info]).run_sync(
        "What is the largest planet in the universe?"
    )
    assert result.output == "Jupiter is the largest planet we know."
    decision, checked, reply = server.bodies
    assert decision["max_tokens"] == 1
    # the checked reply is the reply's own request (streamed, so that a repeated call is cut), its grammar too
    assert checked["stream"] is True and "grammar" in checked
    assert checked["messages"] == decision["messages"]
    assert reply["stream"] is True and "grammar" not in reply
    assert reply["messages"][-1]["content"].endswith("Answer in plain text, without calling a tool.")
    # one reply; the decision's token and the checked reply count as decisions, their tokens with the rest
    assert (result.usage.requests, result.usage.decisions) == (1, 2)
    assert result.usage.input_tokens == 2 * server.usage["prompt_tokens"]  # the token's answer has no usage
    assert not any(m.role == "tool" for m in result.messages)


def test_a_reply_whose_values_were_given_is_used_as_it_came(server: LoopbackServer) -> None:
    server.add(CALL, VEGA, "Vega is about 455 million years old.")

    async def main() -> tuple[Any, list[Any]]:
        seen = []
        async with Agent(model_on(server), tools=[star_info]).run_stream(
            "How old is the star Vega?"
        ) as stream:
            async for event in stream:
                seen.append(event)
        return stream.result, seen

    result, events = asyncio.run(main())
    assert result.output == "Vega is about 455 million years old."
    _, checked, after_results = server.bodies  # the checked reply is not asked for again
    assert checked["stream"] is True and "grammar" in checked
    assert after_results["messages"][2]["content"] == VEGA
    calls = [e for e in events if isinstance(e, ToolCallDelta)]
    assert [(c.name, json.loads(c.arguments)) for c in calls] == [
        ("star_info", {"star_name": "Vega", "information": "age"})
    ]
    assert (result.usage.requests, result.usage.decisions) == (2, 1)


def test_without_streaming_the_checked_reply_is_the_reply(server: LoopbackServer) -> None:
    profile = dataclasses.replace(CHECKING, cut_repeated_calls=False)  # `request` then posts, not streams
    server.add(CALL, VEGA, "Vega is about 455 million years old.")
    result = Agent(model_on(server, profile), tools=[star_info]).run_sync("How old is the star Vega?")
    assert result.output == "Vega is about 455 million years old."
    assert len(server.bodies) == 3 and not any(b.get("stream") for b in server.bodies)
    server.add(CALL, SUN, "Jupiter.")
    result = Agent(model_on(server, profile), tools=[star_info]).run_sync("The largest planet?")
    assert result.output == "Jupiter." and "grammar" not in server.bodies[-1]


def test_an_error_in_the_checked_reply_asks_for_the_reply_again(server: LoopbackServer) -> None:
    server.add(CALL, BodyError(code=502, message="Provider returned error"), VEGA, "455 million years.")
    result = Agent(model_on(server), tools=[star_info]).run_sync("How old is the star Vega?")
    assert result.output == "455 million years."
    _, failed, again, _ = server.bodies
    assert again == failed  # the same request, now the reply's


def test_the_check_is_asked_only_where_the_decision_is(server: LoopbackServer) -> None:
    # after tool results the reply streams as usual: one request per reply after the first
    server.add(CALL, VEGA, VEGA.replace("age", "radius"), "Done.")
    Agent(model_on(server), tools=[star_info]).run_sync("How old is the star Vega?")
    assert [b.get("max_tokens") == 1 for b in server.bodies] == [True, False, False, False]
    # a text reply needs no check: nothing is declined, nothing asked again
    server.add(CALL, "Vega is a star.")
    result = Agent(model_on(server), tools=[star_info]).run_sync("What is Vega?")
    assert result.output == "Vega is a star." and len(server.bodies) == 6


def test_more_calls_continue_a_checked_reply(server: LoopbackServer) -> None:
    profile = dataclasses.replace(CHECKING, more_calls_threshold=0.056)
    deneb = VEGA.replace("Vega", "Deneb")
    server.add(CALL, VEGA, logprobs(("\n", -0.1)), deneb, "Both are about 455 million years old.")
    result = Agent(model_on(server, profile), tools=[star_info]).run_sync("How old are Vega and Deneb?")
    assert result.output == "Both are about 455 million years old."
    _, _, probe, continued, after_results = server.bodies
    assert probe["messages"][-1] == {"role": "assistant", "content": VEGA}
    assert continued["stream"] is True and continued["messages"][-1]["content"] == VEGA + "\n"
    names = [
        json.loads(m["content"].splitlines()[i])["arguments"]["star_name"]
        for m in [after_results["messages"][2]]
        for i in (0, 1)
    ]
    assert names == ["Vega", "Deneb"]


def test_a_checked_reply_that_repeats_its_call_is_cut(server: LoopbackServer) -> None:
    server.add(CALL, "\n".join([VEGA] * 30), "455 million years.")
    result = Agent(model_on(server), tools=[star_info]).run_sync("How old is the star Vega?")
    assert result.output == "455 million years."
    assert result.messages[1].tool_calls[0].name == "star_info" and len(result.messages[1].tool_calls) == 1
