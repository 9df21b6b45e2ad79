"""A first reply of one prompted call continued when the model leans to another call (`_more_calls`,
`ModelProfile.more_calls_threshold`), on the wire through the loopback server."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import pytest
from loopback_support import logprobs

from agentkit import Agent, ModelSettings, UserMessage, tool
from agentkit.local.policy import LOCAL
from agentkit.models import ModelRequestParameters
from agentkit.models._more_calls import (
    asks_more,
    continuation_body,
    more_likely,
    one_call_line,
    probe_body,
)
from agentkit.models.openai import OpenAIChatModel
from agentkit.testing import HTTPError, LoopbackServer

FORMAT = dataclasses.replace(LOCAL, policy=None, decide_tool_use=False, more_calls_threshold=None)
MORE = dataclasses.replace(FORMAT, more_calls_threshold=0.01)

OSLO = '{"name": "get_weather", "arguments": {"city": "Oslo"}}'
LIMA = '{"name": "get_weather", "arguments": {"city": "Lima"}}'


@tool
def get_weather(city: str) -> str:
    """Current weather in a city."""
    return f"{city}: 3°C"


PROBE_USAGE = {"prompt_tokens": 40, "completion_tokens": 1, "total_tokens": 41}
LEANS_ON = logprobs(("", -0.05), (' {"', -3.0), ("  \n", -5.0), usage=PROBE_USAGE)  # P(more) = 0.057
STOPS = logprobs(("", -0.001), (' {"', -8.0), usage=PROBE_USAGE)  # P(more) = 0.0003


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer(model="local-test") as srv:
        yield srv


def run(server: LoopbackServer, profile: Any = MORE) -> Any:
    model = OpenAIChatModel("local-test", base_url=server.base_url, profile=profile)
    return Agent(model, tools=[get_weather]).run_sync("Weather in Oslo and in Lima?")


def cities(result: Any) -> list[str]:
    calls = result.messages[1].tool_calls
    return [json.loads(c.arguments)["city"] for c in calls]


def test_a_one_call_reply_the_model_would_go_on_from_is_continued(server: LoopbackServer) -> None:
    server.add(OSLO, LEANS_ON, LIMA, "Oslo: 3°C, Lima: 3°C.")
    result = run(server)
    assert result.output == "Oslo: 3°C, Lima: 3°C." and cities(result) == ["Oslo", "Lima"]
    first, probe, more, _ = server.bodies
    # the probe: the reply as the assistant's message, one token, no grammar, not streamed
    assert probe["messages"] == [*first["messages"], {"role": "assistant", "content": OSLO}]
    assert probe["max_tokens"] == 1 and probe["logprobs"] is True and "grammar" not in probe
    assert "stream" not in probe
    # the continuation: the same request, its grammar too, after the reply and a line break
    assert more == {**first, "messages": [*first["messages"], {"role": "assistant", "content": OSLO + "\n"}]}
    assert more["stream"] is True and "grammar" in more
    # the probe counts as a decision; the continuation's tokens with the reply's (one request)
    usage = result.usage
    assert (usage.requests, usage.decisions, usage.tool_calls) == (2, 1, 2)
    assert usage.input_tokens == 3 * server.usage["prompt_tokens"] + 40


def test_a_one_call_reply_the_model_would_end_stays_one_call(server: LoopbackServer) -> None:
    server.add(OSLO, STOPS, "Oslo: 3°C.")
    result = run(server)
    assert cities(result) == ["Oslo"] and len(server.bodies) == 3
    assert result.usage.decisions == 1


def test_a_continuation_that_repeats_the_call_is_cut_to_one_call(server: LoopbackServer) -> None:
    server.add(OSLO, LEANS_ON, f"{OSLO}\n{LIMA}", "Oslo: 3°C.")
    result = run(server)
    assert cities(result) == ["Oslo"]


@pytest.mark.parametrize(
    "reply",
    [f"{OSLO}\n{LIMA}", "It is snowing in Oslo.", f"Checking.\n{OSLO}"],
)
def test_only_a_reply_of_exactly_one_call_line_is_probed(server: LoopbackServer, reply: str) -> None:
    server.add(reply, "Done.")
    run(server)
    assert all("logprobs" not in body for body in server.bodies)


def test_not_probed_without_the_threshold_or_after_tool_results(server: LoopbackServer) -> None:
    server.add(OSLO, "Oslo: 3°C.")
    run(server, FORMAT)
    assert len(server.bodies) == 2
    server.add(OSLO, STOPS, OSLO, "Oslo: 3°C.")  # the second call, after a tool result: not probed
    result = run(server)
    assert len(server.bodies) == 2 + 4 and result.usage.decisions == 1


def test_when_more_calls_are_asked_for() -> None:
    params = ModelRequestParameters(tools=[get_weather.definition], tool_choice="auto")
    hello = [UserMessage(content="Hi")]
    assert asks_more(MORE, hello, params, ModelSettings())
    assert asks_more(LOCAL, hello, params, ModelSettings())  # on in the local profile
    assert not asks_more(MORE, hello, params, ModelSettings(tool_choice="required"))
    assert not asks_more(MORE, [UserMessage(content="Hi", feedback=True)], params, ModelSettings())
    assert not asks_more(dataclasses.replace(MORE, cut_repeated_calls=False), hello, params, ModelSettings())
    assert not asks_more(MORE, hello, ModelRequestParameters(tools=[]), ModelSettings())


def test_the_parts_of_the_probe() -> None:
    assert one_call_line(f"  {OSLO}\n") and not one_call_line(f"{OSLO}\n{LIMA}") and not one_call_line("Hi")
    body = {"model": "m", "stream": True, "grammar": "g", "max_tokens": 9, "messages": [{"role": "user"}]}
    assert probe_body(body, OSLO + "\n")["messages"][-1] == {"role": "assistant", "content": OSLO}
    assert continuation_body(body, OSLO)["grammar"] == "g"
    assert abs(more_likely(LEANS_ON) - 0.0566) < 1e-3 and more_likely(STOPS) < 0.001
    # a server without log-probabilities is read by the token it wrote
    assert more_likely({"choices": [{"message": {"content": "\n"}}]}) == 1.0
    assert more_likely({"choices": [{"message": {"content": ""}}]}) == 0.0


def test_a_failed_probe_leaves_the_reply_as_it_is(server: LoopbackServer) -> None:
    server.add(OSLO, HTTPError(status=400, message="bad prefill"), "Oslo: 3°C.")  # 400: not retried
    result = run(server)
    assert cities(result) == ["Oslo"] and result.output == "Oslo: 3°C."
