"""OpenRouter as users configure it, through the real AsyncOpenAI client against the loopback server:
provider routing sent and the serving provider recorded, `extra_body`, prompt-cache breakpoints, and what a
request costs when the provider sends no `usage.cost` (images, cached input tokens)."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest

from agentkit import (
    Agent,
    AssistantMessage,
    ImagePart,
    ModelSettings,
    ProviderRouting,
    TextPart,
    messages_from_json,
    messages_to_json,
    tool,
)
from agentkit.models import DEFAULT_MODEL
from agentkit.models._caching import with_cache_breakpoints
from agentkit.models.openai import OpenAIChatModel
from agentkit.models.profiles import GEMINI_2_0_FLASH, GEMINI_2_5_FLASH, ModelProfile, profile_for
from agentkit.testing import LoopbackServer, tool_call_response

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
EPHEMERAL = {"type": "ephemeral"}


@tool
def snapshot() -> list[TextPart | ImagePart]:
    """Take a picture."""
    return [TextPart(text="here it is"), ImagePart.from_bytes(PNG)]


@tool
def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


def model(server: LoopbackServer, **kwargs: Any) -> OpenAIChatModel:
    return OpenAIChatModel(DEFAULT_MODEL, base_url=server.base_url, api_key="sk-test", **kwargs)


def run(agent: Agent[None, Any], prompt: Any, *, stream: bool, **kwargs: Any) -> Any:
    if not stream:
        return agent.run_sync(prompt, **kwargs)

    async def go() -> Any:
        async with agent.run_stream(prompt, **kwargs) as streamed:
            async for _ in streamed:
                pass
        return streamed.result

    return asyncio.run(go())


# --- provider routing ---------------------------------------------------------------------------------------

ROUTING = ProviderRouting(
    order=("google-vertex", "google-ai-studio"),
    allow_fallbacks=False,
    require_parameters=True,
    only=["google-vertex", "google-ai-studio"],
    ignore=["deepinfra"],
    data_collection="deny",
    zdr=True,
    quantizations=["bf16"],
    sort="price",
    max_price={"prompt": 0.5, "completion": 2},
)
ROUTING_JSON = {
    "order": ["google-vertex", "google-ai-studio"],
    "allow_fallbacks": False,
    "require_parameters": True,
    "only": ["google-vertex", "google-ai-studio"],
    "ignore": ["deepinfra"],
    "data_collection": "deny",
    "zdr": True,
    "quantizations": ["bf16"],
    "sort": "price",
    "max_price": {"prompt": 0.5, "completion": 2},
}


@pytest.mark.parametrize("stream", [False, True])
def test_provider_routing_goes_with_every_openrouter_request(stream: bool) -> None:
    with LoopbackServer([tool_call_response("add", {"a": 1, "b": 2}), "3"]) as server:
        agent = Agent(
            model(server, openrouter=True), tools=[add], model_settings=ModelSettings(provider=ROUTING)
        )
        result = run(agent, "1+2?", stream=stream)
    assert result.output == "3"
    assert [b["provider"] for b in server.bodies] == [ROUTING_JSON, ROUTING_JSON]


def test_provider_routing_sends_only_the_fields_set_and_is_merged_like_other_settings() -> None:
    with LoopbackServer(["a", "b"]) as server:
        agent = Agent(model(server, openrouter=True), model_settings=ModelSettings(provider=ROUTING, seed=1))
        agent.run_sync("x", model_settings=ModelSettings(provider=ProviderRouting(sort="throughput")))
        agent.run_sync("y", model_settings=ModelSettings(temperature=0.5))
    assert server.bodies[0]["provider"] == {"sort": "throughput"}  # the run's routing replaces the agent's
    assert server.bodies[0]["seed"] == 1
    assert server.bodies[1]["provider"] == ROUTING_JSON


def test_provider_routing_is_never_sent_to_other_endpoints() -> None:
    with LoopbackServer(["a"]) as server:
        Agent(model(server), model_settings=ModelSettings(provider=ROUTING)).run_sync("x")
    assert "provider" not in server.bodies[0]


def test_extra_body_is_sent_as_given_and_wins() -> None:
    extra = {
        "provider": {"order": ["anthropic"]},
        "plugins": [{"id": "file-parser", "pdf": {"engine": "native"}}],
    }
    with LoopbackServer(["a", "b"]) as server:
        agent = Agent(
            model(server, openrouter=True),
            model_settings=ModelSettings(provider=ROUTING, extra_body={"session_id": "s-1"}),
        )
        agent.run_sync("x", model_settings=ModelSettings(extra_body=extra))
        run(agent, "y", stream=True)
    first, second = server.bodies
    assert first["provider"] == {"order": ["anthropic"]}  # extra_body comes last
    assert first["plugins"] == extra["plugins"]
    assert first["session_id"] == "s-1"  # mappings are combined
    assert second["provider"] == ROUTING_JSON and second["session_id"] == "s-1" and second["stream"] is True


# --- the provider that served each answer -------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
def test_the_serving_provider_is_recorded_and_kept_in_transcripts(stream: bool) -> None:
    with LoopbackServer([tool_call_response("add", {"a": 1, "b": 2}), "3"]) as server:
        result = run(Agent(model(server, openrouter=True), tools=[add]), "1+2?", stream=stream)
    answers = [m for m in result.messages if isinstance(m, AssistantMessage)]
    assert [m.provider for m in answers] == ["Google", "Google"]
    again = [
        m for m in messages_from_json(messages_to_json(result.messages)) if isinstance(m, AssistantMessage)
    ]
    assert [m.provider for m in again] == ["Google", "Google"]


def test_no_provider_when_the_endpoint_names_none() -> None:
    with LoopbackServer() as server:
        completion = server.completion("plain")
        del completion["provider"]
        server.add(completion)
        result = Agent(model(server)).run_sync("x")
    assert result.messages[-1].provider is None


# --- prompt-cache breakpoints -------------------------------------------------------------------------------


def marks(body: dict[str, Any]) -> list[tuple[int, str]]:
    """(message index, role) of every message with a cache_control mark in a request body."""
    found = []
    for index, message in enumerate(body["messages"]):
        content = message.get("content")
        if isinstance(content, list) and any(isinstance(p, dict) and "cache_control" in p for p in content):
            found.append((index, message["role"]))
    return found


@pytest.mark.parametrize("stream", [False, True])
def test_cache_control_marks_the_instructions_and_the_newest_message(stream: bool) -> None:
    answers = [tool_call_response("add", {"a": 1, "b": 2}), tool_call_response("add", {"a": 3, "b": 3}), "6"]
    with LoopbackServer(answers) as server:
        agent = Agent(
            model(server, openrouter=True),
            tools=[add],
            instructions="You add.",
            model_settings=ModelSettings(cache_control=True),
        )
        result = run(agent, "1+2, then +3?", stream=stream)
    first, second, third = server.bodies
    assert first["messages"][0] == {
        "role": "system",
        "content": [{"type": "text", "text": "You add.", "cache_control": EPHEMERAL}],
    }
    assert first["messages"][1]["content"] == [
        {"type": "text", "text": "1+2, then +3?", "cache_control": EPHEMERAL}
    ]
    assert marks(first) == [(0, "system"), (1, "user")]
    assert marks(second) == [(0, "system"), (3, "tool")]  # the user message is plain text again
    assert second["messages"][1] == {"role": "user", "content": "1+2, then +3?"}
    assert second["messages"][3]["content"] == [{"type": "text", "text": "3", "cache_control": EPHEMERAL}]
    assert marks(third) == [(0, "system"), (5, "tool")]
    assert result.messages[0].content == "You add."  # the transcript is not changed


def test_no_cache_control_unless_asked() -> None:
    with LoopbackServer(["a", "b"]) as server:
        agent = Agent(
            model(server), instructions="Be brief.", model_settings=ModelSettings(cache_control=True)
        )
        agent.run_sync("x", model_settings=ModelSettings(cache_control=False))
        Agent(model(server), instructions="Be brief.").run_sync("y")
    assert [marks(b) for b in server.bodies] == [[], []]
    assert server.bodies[0]["messages"][0] == {"role": "system", "content": "Be brief."}


def test_breakpoints_on_parts_go_on_the_last_text_part() -> None:
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA=="}}
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "A"},
        {"role": "system", "content": "B"},
        {"role": "user", "content": [{"type": "text", "text": "look"}, image]},
    ]
    marked = with_cache_breakpoints(messages)
    assert marked[1] == {"role": "system", "content": "B"}  # only the first system message
    assert marked[2]["content"] == [{"type": "text", "text": "look", "cache_control": EPHEMERAL}, image]
    assert messages[2]["content"][0] == {"type": "text", "text": "look"}  # the input is not changed
    assert with_cache_breakpoints([{"role": "user", "content": [image]}]) == [
        {"role": "user", "content": [image]}
    ]
    assert with_cache_breakpoints([{"role": "user", "content": ""}]) == [{"role": "user", "content": ""}]
    assistant = [{"role": "assistant", "content": "hi"}]
    assert with_cache_breakpoints(assistant) == assistant
    assert with_cache_breakpoints([]) == []
    assert with_cache_breakpoints([{"role": "tool", "content": None}]) == [{"role": "tool", "content": None}]


# --- prices when the provider sends no cost -----------------------------------------------------------------


def expected_cost(
    profile: ModelProfile, *, input_tokens: int, output_tokens: int, cached: int, images: int
) -> float:
    """The listed prices, written out independently of `ModelProfile.cost`."""
    cache_price = profile.cache_read_price_per_mtok
    uncached = input_tokens - cached if cache_price is not None else input_tokens
    total = (
        uncached * (profile.input_price_per_mtok or 0) / 1e6
        + output_tokens * (profile.output_price_per_mtok or 0) / 1e6
    )
    if cache_price is not None:
        total += cached * cache_price / 1e6
    return total + images * (profile.image_price_per_k or 0) / 1e3


@pytest.mark.parametrize("stream", [False, True])
def test_images_in_the_request_are_priced_when_no_cost_is_sent(stream: bool) -> None:
    usage = {"cost": None, "prompt_tokens": 1000, "completion_tokens": 100}
    profile = profile_for(DEFAULT_MODEL)
    assert profile is GEMINI_2_0_FLASH and profile.image_price_per_k == 0.026
    prompt = [
        TextPart(text="Compare."),
        ImagePart.from_bytes(PNG),
        ImagePart(url="https://example.com/b.png"),
    ]
    with LoopbackServer([tool_call_response("snapshot", {}), "Alike."], usage=usage) as server:
        result = run(Agent(model(server), tools=[snapshot]), prompt, stream=stream)
    first, second = (m.usage for m in result.messages if isinstance(m, AssistantMessage))
    assert first.cost_usd == pytest.approx(
        expected_cost(profile, input_tokens=1000, output_tokens=100, cached=0, images=2)
    )
    # the second request carries the two user images and the one the tool returned
    assert second.cost_usd == pytest.approx(
        expected_cost(profile, input_tokens=1000, output_tokens=100, cached=0, images=3)
    )
    assert result.usage.cost_usd == pytest.approx(first.cost_usd + second.cost_usd)


def test_the_providers_cost_wins_over_the_prices() -> None:
    with LoopbackServer(["a"], usage={"cost": 0.5}) as server:
        result = Agent(model(server)).run_sync([TextPart(text="x"), ImagePart.from_bytes(PNG)])
    assert result.usage.cost_usd == 0.5


@pytest.mark.parametrize("stream", [False, True])
def test_cached_input_tokens_are_priced_at_the_cache_read_price(stream: bool) -> None:
    cached_profile = dataclasses.replace(GEMINI_2_5_FLASH, cache_read_price_per_mtok=0.03)
    unpriced = dataclasses.replace(GEMINI_2_5_FLASH, cache_read_price_per_mtok=None)
    usage = {
        "cost": None,
        "prompt_tokens": 10_000,
        "completion_tokens": 50,
        "prompt_tokens_details": {"cached_tokens": 8_000},
    }
    with LoopbackServer(["a", "b"], usage=usage) as server:
        priced = run(Agent(model(server, profile=cached_profile)), "x", stream=stream)
        plain = run(Agent(model(server, profile=unpriced)), "x", stream=stream)
    assert priced.usage.cached_input_tokens == 8_000
    assert priced.usage.cost_usd == pytest.approx(
        expected_cost(cached_profile, input_tokens=10_000, output_tokens=50, cached=8_000, images=0)
    )
    # no cache price listed: cached tokens cost as input
    assert plain.usage.cost_usd == pytest.approx(
        expected_cost(unpriced, input_tokens=10_000, output_tokens=50, cached=8_000, images=0)
    )
    assert priced.usage.cost_usd < plain.usage.cost_usd


def test_profile_cost_bounds_the_cached_count() -> None:
    profile = ModelProfile(input_price_per_mtok=1.0, output_price_per_mtok=2.0, cache_read_price_per_mtok=0.1)
    assert profile.cost(100, 0, cached_input_tokens=500) == pytest.approx(100 * 0.1 / 1e6)
    assert profile.cost(100, 0, cached_input_tokens=-5) == pytest.approx(100 * 1.0 / 1e6)
    assert ModelProfile().cost(100, 100, cached_input_tokens=50, images=3) == 0.0
