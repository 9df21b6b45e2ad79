"""The OpenAI-compatible adapter through the real AsyncOpenAI client, against the loopback server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel

from agentkit import (
    Agent,
    AssistantMessage,
    ModelAPIError,
    ModelSettings,
    ModelUnavailableError,
    ToolCall,
    ToolMessage,
    UnexpectedModelBehavior,
    UserError,
    UserMessage,
    tool,
)
from agentkit.models import DEFAULT_BASE_URL, DEFAULT_MODEL, infer_model
from agentkit.models.openai import OpenAIChatModel
from agentkit.testing import BodyError, HTTPError, LoopbackServer, tool_call_response, tool_calls_response

QUICK_RETRY = {"retry-after-ms": "1"}


@tool
def get_weather(city: str, days: dict[str, int] | None = None) -> str:
    """Get the weather.

    Args:
        city: The city.
        days: Per-day counts.
    """
    return f"sunny in {city}"


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as srv:
        yield srv


def gemini(server: LoopbackServer, **kwargs: Any) -> OpenAIChatModel:
    return OpenAIChatModel(DEFAULT_MODEL, base_url=server.base_url, api_key="sk-test", **kwargs)


def test_tool_round_trip_json_on_the_wire(server: LoopbackServer) -> None:
    server.add(
        tool_calls_response(
            [
                ("get_weather", {"city": "Oslo", "days": [{"key": "mon", "value": 1}]}),
                ("get_weather", {"city": "Rome"}),
            ]
        ),
        "Sunny in both.",
    )
    model = gemini(server, http_referer="https://example.test", x_title="agentkit tests", openrouter=True)
    result = Agent(model, instructions="Be brief.", tools=[get_weather]).run_sync("Weather?")
    assert result.output == "Sunny in both."
    first, second = server.requests
    assert first.path == "/v1/chat/completions"
    assert first.headers["authorization"] == "Bearer sk-test"
    assert first.headers["http-referer"] == "https://example.test"
    assert first.headers["x-title"] == "agentkit tests"
    body = first.body
    assert body["model"] == "google/gemini-2.0-flash-001"
    assert body["usage"] == {"include": True}
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather?"},
    ]
    (entry,) = body["tools"]
    params = entry["function"]["parameters"]
    assert "additionalProperties" not in params  # Gemini dialect
    assert params["properties"]["days"]["type"] == "array"
    assert params["properties"]["days"]["nullable"] is True
    assistant, *tools = second.body["messages"][2:]
    assert assistant["content"] == ""
    assert [c["id"] for c in assistant["tool_calls"]] == ["call_1", "call_2"]
    assert tools == [
        {"role": "tool", "tool_call_id": "call_1", "name": "get_weather", "content": "sunny in Oslo"},
        {"role": "tool", "tool_call_id": "call_2", "name": "get_weather", "content": "sunny in Rome"},
    ]
    assert result.usage.requests == 2
    assert result.usage.input_tokens == 22 and result.usage.output_tokens == 14
    assert result.usage.cost_usd == pytest.approx(2 * 0.0000042)


def test_cost_from_profile_prices_when_not_reported() -> None:
    with LoopbackServer(
        ["hi"], usage={"prompt_tokens": 1_000_000, "completion_tokens": 1_000_000, "cost": None}
    ) as srv:
        result = Agent(gemini(srv)).run_sync("hello")
    assert result.usage.cost_usd == pytest.approx(0.10 + 0.40)
    assert "usage" not in srv.requests[0].body  # OpenRouter extras only for OpenRouter


def test_settings_become_request_fields(server: LoopbackServer) -> None:
    server.add("ok")
    settings = ModelSettings(
        temperature=0, top_p=0.5, max_tokens=20, seed=7, stop=["END"], presence_penalty=0.1, frequency_penalty=0.2,
        parallel_tool_calls=False, tool_choice="auto", extra_headers={"X-Extra": "1"}, extra_body={"provider": {"order": ["Google"]}},
    )  # fmt: skip
    Agent(gemini(server), tools=[get_weather], model_settings=settings).run_sync("go")
    body = server.requests[0].body
    for key, value in {"temperature": 0, "top_p": 0.5, "max_tokens": 20, "seed": 7, "stop": ["END"], "presence_penalty": 0.1,
                       "frequency_penalty": 0.2, "parallel_tool_calls": False, "tool_choice": "auto", "provider": {"order": ["Google"]}}.items():  # fmt: skip
        assert body[key] == value
    assert server.requests[0].headers["x-extra"] == "1"


class Answer(BaseModel):
    city: str
    temperature: float


def test_structured_output_on_gemini_uses_final_result_tool(server: LoopbackServer) -> None:
    server.add(tool_call_response("final_result", {"city": "Oslo", "temperature": 3.5}))
    result = Agent(gemini(server), tools=[get_weather], output_type=Answer).run_sync("go")
    assert result.output == Answer(city="Oslo", temperature=3.5)
    body = server.requests[0].body
    assert "response_format" not in body
    assert body["tool_choice"] == "required"
    assert [t["function"]["name"] for t in body["tools"]] == ["get_weather", "final_result"]


def test_structured_output_elsewhere_uses_response_format(server: LoopbackServer) -> None:
    server.add('{"city": "Oslo", "temperature": 3.5}')
    model = OpenAIChatModel("qwen2.5-coder", base_url=server.base_url)
    result = Agent(model, output_type=Answer).run_sync("go")
    assert result.output.city == "Oslo"
    fmt = server.requests[0].body["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["name"] == "final_result"
    assert fmt["json_schema"]["schema"]["required"] == ["city", "temperature"]
    assert server.requests[0].headers["authorization"] == "Bearer not-needed"


def test_openai_models_get_strict_schemas(server: LoopbackServer) -> None:
    server.add('{"city": "Oslo", "temperature": 3.5}')
    model = OpenAIChatModel("gpt-4o-mini", base_url=server.base_url)
    Agent(model, tools=[get_weather], output_type=Answer).run_sync("go")
    body = server.requests[0].body
    assert body["tools"][0]["function"]["strict"] is True
    assert body["response_format"]["json_schema"]["strict"] is True


def test_gemini_quirks_in_responses_are_repaired(server: LoopbackServer) -> None:
    repeated = {
        "id": "gen-1", "model": DEFAULT_MODEL,
        "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant", "content": None, "tool_calls": [
            {"id": "", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "A"}'}},
            {"id": "", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "B"}'}},
        ]}}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 5},
    }  # fmt: skip
    malformed = {
        "id": "gen-2", "model": DEFAULT_MODEL,
        "choices": [{"index": 0, "finish_reason": "error", "native_finish_reason": "MALFORMED_FUNCTION_CALL", "message": {"role": "assistant", "content": ""}}],
    }  # fmt: skip
    server.add(repeated, malformed, "done")
    result = Agent(gemini(server), tools=[get_weather]).run_sync("go")
    assert result.output == "done"
    calls = [c for m in result.messages if isinstance(m, AssistantMessage) for c in m.tool_calls]
    assert len({c.id for c in calls}) == 2 and all(c.id for c in calls)
    nudge = server.requests[2].body["messages"][-1]
    assert nudge["role"] == "user" and "MALFORMED_FUNCTION_CALL" in nudge["content"]


def test_history_with_a_missing_tool_result_is_repaired(server: LoopbackServer) -> None:
    server.add("ok")
    history = [
        UserMessage(content="go"),
        AssistantMessage(
            tool_calls=[
                ToolCall(id="a", name="get_weather", arguments=""),
                ToolCall(id="b", name="get_weather", arguments="{}"),
            ]
        ),
        ToolMessage(tool_call_id="b", name="get_weather", content="B"),
        ToolMessage(tool_call_id="zzz", name="get_weather", content="orphan"),
    ]
    Agent(gemini(server)).run_sync("next", message_history=history)
    sent = server.requests[0].body["messages"]
    assert sent[1]["tool_calls"][0]["function"]["arguments"] == "{}"
    assert [(m["tool_call_id"], m["content"]) for m in sent[2:4]] == [
        ("a", "No result: this call was not executed."),
        ("b", "B"),
    ]
    assert sent[4] == {"role": "user", "content": "next"}


def test_http_error_keeps_status_body_and_transcript(server: LoopbackServer) -> None:
    server.add(HTTPError(status=400, message="Invalid schema for function", metadata={"raw": "bad"}))
    with pytest.raises(ModelAPIError, match="HTTP 400: Invalid schema for function") as info:
        Agent(gemini(server)).run_sync("go")
    error = info.value
    assert error.status_code == 400
    assert isinstance(error.body, dict) and "bad" in str(error.body)
    assert "(bad)" in error.message
    assert error.messages == [UserMessage(content="go")]


def test_model_deprecated_404_is_a_first_class_error(server: LoopbackServer) -> None:
    server.add(
        HTTPError(
            status=404, code="model_deprecated", message="google/gemini-2.0-flash-001 has been deprecated"
        )
    )
    with pytest.raises(ModelUnavailableError, match="Choose another") as info:
        Agent(gemini(server)).run_sync("go")
    assert info.value.status_code == 404 and info.value.code == "model_deprecated"
    assert info.value.model_name == DEFAULT_MODEL
    assert len(server.requests) == 1  # not retried


def test_no_endpoints_found_is_unavailable(server: LoopbackServer) -> None:
    server.add(HTTPError(status=404, message="No endpoints found for google/gemini-2.0-flash-001."))
    with pytest.raises(ModelUnavailableError):
        Agent(gemini(server)).run_sync("go")


def test_rate_limit_is_retried_by_the_sdk(server: LoopbackServer) -> None:
    server.add(HTTPError(status=429, message="Rate limited", headers=QUICK_RETRY), "after retry")
    assert Agent(gemini(server)).run_sync("go").output == "after retry"
    assert len(server.requests) == 2


def test_error_in_a_200_body_is_retried_then_raised(
    server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import agentkit.models.openai as adapter

    async def no_sleep(_: float) -> None:
        return None

    monkeypatch.setattr(adapter.asyncio, "sleep", no_sleep)
    server.add(BodyError(code=502, message="Provider returned error"), "recovered")
    assert Agent(gemini(server)).run_sync("go").output == "recovered"
    server.add(*[BodyError(code=503, message="overloaded")] * 3)
    with pytest.raises(ModelAPIError, match="overloaded") as info:
        Agent(gemini(server, max_retries=2)).run_sync("go")
    assert info.value.status_code == 503


def test_non_retryable_body_error_raises_at_once(server: LoopbackServer) -> None:
    server.add(BodyError(code=400, message="Bad request"))
    with pytest.raises(ModelAPIError, match="Bad request"):
        Agent(gemini(server)).run_sync("go")
    assert len(server.requests) == 1


def test_deprecated_in_a_200_body(server: LoopbackServer) -> None:
    server.add(BodyError(code="model_deprecated", message="deprecated"))
    with pytest.raises(ModelUnavailableError):
        Agent(gemini(server)).run_sync("go")


def test_non_json_and_non_object_bodies(server: LoopbackServer) -> None:
    server.add(lambda body: {"choices": []})
    with pytest.raises(UnexpectedModelBehavior):
        Agent(gemini(server), output_retries=0).run_sync("go")


def test_connection_refused_is_a_model_api_error() -> None:
    with LoopbackServer() as srv:
        url = srv.base_url
    model = OpenAIChatModel("m", base_url=url, max_retries=0)
    with pytest.raises(ModelAPIError, match="Could not connect"):
        Agent(model).run_sync("go")


def test_missing_openrouter_key_fails_before_any_request() -> None:
    agent = Agent("google/gemini-2.0-flash-001")  # on OpenRouter, the default endpoint
    with pytest.raises(UserError, match="OPENROUTER_API_KEY"):
        agent.run_sync("go")


def test_real_requests_are_blocked_in_tests() -> None:
    model = OpenAIChatModel(api_key="sk-or-test")
    with pytest.raises(UserError, match="blocked"):
        Agent(model).run_sync("go")


def test_environment_configuration(monkeypatch: pytest.MonkeyPatch, server: LoopbackServer) -> None:
    monkeypatch.setenv("AGENTKIT_MODEL", "my-model")
    monkeypatch.setenv("AGENTKIT_BASE_URL", server.base_url)
    monkeypatch.setenv("AGENTKIT_API_KEY", "env-key")
    server.add("from env", "explicit")
    model = infer_model(None)
    assert isinstance(model, OpenAIChatModel)
    assert (model.model_name, model.base_url) == ("my-model", server.base_url)
    assert Agent().run_sync("go").output == "from env"
    assert server.requests[0].headers["authorization"] == "Bearer env-key"
    assert server.requests[0].body["model"] == "my-model"
    explicit = OpenAIChatModel("other", base_url=server.base_url, api_key="arg-key")
    Agent(explicit).run_sync("go")
    assert server.requests[1].headers["authorization"] == "Bearer arg-key"
    assert server.requests[1].body["model"] == "other"


def test_defaults_point_at_openrouter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-or-x")
    model = OpenAIChatModel()
    assert (model.model_name, model.base_url, model.is_openrouter) == (DEFAULT_MODEL, DEFAULT_BASE_URL, True)
    assert model.profile.schema_dialect == "gemini"
    assert model.describe() == f"{DEFAULT_MODEL} at {DEFAULT_BASE_URL}"
    assert model.client.api_key == "sk-or-x"


async def test_a_client_of_your_own(server: LoopbackServer) -> None:
    from openai import AsyncOpenAI

    server.add("mine")
    async with AsyncOpenAI(base_url=server.base_url, api_key="own") as client:
        model = OpenAIChatModel("m", client=client)
        assert model.base_url == server.base_url
        assert (await Agent(model).run("go")).output == "mine"
        await model.aclose()  # the client is yours: agentkit leaves it open
        assert not client.is_closed()


def test_image_parts_use_image_url(server: LoopbackServer) -> None:
    from agentkit import ImagePart, TextPart

    server.add("a boardwalk")
    Agent(gemini(server)).run_sync(
        [TextPart(text="What is in this image?"), ImagePart(url="https://example.test/a.jpg", detail="low")]
    )
    assert server.requests[0].body["messages"][0]["content"] == [
        {"type": "text", "text": "What is in this image?"},
        {"type": "image_url", "image_url": {"url": "https://example.test/a.jpg", "detail": "low"}},
    ]
