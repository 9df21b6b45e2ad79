"""`request_stream` through the real AsyncOpenAI client against the loopback server: every wire quirk."""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import json
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

import pytest

from agentkit import (
    AssistantMessage,
    Message,
    ModelAPIError,
    ModelRequestParameters,
    ModelSettings,
    ModelUnavailableError,
    ToolCall,
    UserError,
    UserMessage,
    tool,
)
from agentkit.events import ModelStreamEvent, ResponseFinished, TextDelta, ToolCallDelta
from agentkit.local import LocalModel
from agentkit.models import DEFAULT_MODEL, Model
from agentkit.models._stream import SSEDecoder
from agentkit.models.openai import OpenAIChatModel
from agentkit.models.profiles import ModelProfile
from agentkit.testing import (
    BodyError,
    HTTPError,
    LoopbackServer,
    RawStream,
    StreamError,
    tool_calls_response,
)

QUICK_RETRY = {"retry-after-ms": "1"}
PLAIN = ModelRequestParameters()
NO_SETTINGS = ModelSettings()
QUESTION: list[Message] = [UserMessage(content="Weather in Oslo?")]


@tool
def get_weather(city: str) -> str:
    """Get the weather.

    Args:
        city: The city.
    """
    return f"sunny in {city}"


TOOLS = ModelRequestParameters(tools=[get_weather.definition])


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as srv:
        yield srv


@pytest.fixture
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    async def instant(_: float) -> None:
        return None

    monkeypatch.setattr("agentkit.models.openai.asyncio.sleep", instant)


_OPEN: list[OpenAIChatModel] = []


@pytest.fixture(autouse=True)
async def _close_models() -> AsyncIterator[None]:
    """Every model a test made releases its connections when the test ends (no ResourceWarning)."""
    yield
    while _OPEN:
        await _OPEN.pop().aclose()


def opened(model: OpenAIChatModel) -> OpenAIChatModel:
    _OPEN.append(model)
    return model


def gemini(server: LoopbackServer, **kwargs: Any) -> OpenAIChatModel:
    return opened(OpenAIChatModel(DEFAULT_MODEL, base_url=server.base_url, api_key="sk-test", **kwargs))


def prompted(server: LoopbackServer) -> OpenAIChatModel:
    profile = ModelProfile(tool_calling="prompted")
    return opened(OpenAIChatModel("small", base_url=server.base_url, profile=profile))


async def collect(
    model: Model,
    parameters: ModelRequestParameters = PLAIN,
    settings: ModelSettings = NO_SETTINGS,
    messages: Sequence[Message] = QUESTION,
    into: list[ModelStreamEvent] | None = None,
) -> list[ModelStreamEvent]:
    """Every event of one `request_stream`, appended to `into` as they come (so they survive an error)."""
    events = [] if into is None else into
    async for event in model.request_stream(messages, parameters, settings):
        events.append(event)
    return events


def final(events: list[ModelStreamEvent]) -> AssistantMessage:
    """The message of the one `ResponseFinished`, checked to come last."""
    finished = [e for e in events if isinstance(e, ResponseFinished)]
    assert len(finished) == 1 and events[-1] is finished[0]
    return finished[0].message


def text_of(events: list[ModelStreamEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def call_pieces(events: list[ModelStreamEvent]) -> list[ToolCallDelta]:
    return [e for e in events if isinstance(e, ToolCallDelta)]


async def same_as_request(
    server: LoopbackServer,
    model: Model,
    answer: Any,
    parameters: ModelRequestParameters = PLAIN,
    settings: ModelSettings = NO_SETTINGS,
) -> list[ModelStreamEvent]:
    """Stream `answer`, then request it plainly: the final messages are equal."""
    server.add(answer, answer)
    events = await collect(model, parameters, settings)
    plain = await model.request(QUESTION, parameters, settings)
    streamed = final(events)
    assert streamed.response_id and plain.response_id, "each carries its completion's id"
    assert dataclasses.replace(streamed, response_id=None) == dataclasses.replace(plain, response_id=None)
    return events


# -- the body and the plain path -------------------------------------------------------------------------


async def test_text_stream_sends_stream_fields_and_matches_request(server: LoopbackServer) -> None:
    model = gemini(server, openrouter=True)
    events = await same_as_request(server, model, "Sunny and mild in Oslo today, 18 degrees.")
    body = server.bodies[0]
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["usage"] == {"include": True}
    assert body["model"] == DEFAULT_MODEL
    assert body["messages"] == [{"role": "user", "content": "Weather in Oslo?"}]
    assert {k: v for k, v in body.items() if k not in ("stream", "stream_options")} == server.bodies[1]
    assert body == model.request_body(QUESTION, PLAIN, NO_SETTINGS, stream=True)
    message = final(events)
    assert len([e for e in events if isinstance(e, TextDelta)]) > 1  # in pieces, as they came
    assert text_of(events) == message.content == "Sunny and mild in Oslo today, 18 degrees."
    assert message.model_name == DEFAULT_MODEL and message.finish_reason == "STOP"
    assert message.usage is not None
    assert (message.usage.input_tokens, message.usage.output_tokens) == (11, 7)
    assert message.usage.cost_usd == pytest.approx(0.0000042)


async def test_extra_body_can_replace_stream_options(server: LoopbackServer) -> None:
    server.add("ok")
    await collect(gemini(server), settings=ModelSettings(extra_body={"stream_options": None}))
    assert server.bodies[0]["stream_options"] is None and server.bodies[0]["stream"] is True


async def test_parallel_tool_calls_in_fragments(server: LoopbackServer) -> None:
    answer = tool_calls_response([("get_weather", {"city": "Oslo"}), ("get_weather", {"city": "Rome"})])
    events = await same_as_request(server, gemini(server), answer, TOOLS)
    pieces = call_pieces(events)
    assert [(p.index, p.id, p.name) for p in pieces] == [
        (0, "call_1", "get_weather"),
        (0, None, None),
        (1, "call_2", "get_weather"),
        (1, None, None),
    ]
    message = final(events)
    assert [json.loads(c.arguments) for c in message.tool_calls] == [{"city": "Oslo"}, {"city": "Rome"}]
    for index, call in enumerate(message.tool_calls):
        assert "".join(p.arguments for p in pieces if p.index == index) == call.arguments
    assert message.finish_reason == "TOOL_CALLS"


async def test_interleaved_calls_null_content_comments_and_usage_with_cost(server: LoopbackServer) -> None:
    c = server.chunk
    server.add(
        RawStream(
            events=[
                ": OPENROUTER PROCESSING",
                c({"role": "assistant", "content": None}),
                c({"tool_calls": [{"index": 0, "id": "a", "type": "function", "function": {"name": "get_weather", "arguments": ""}}]}),
                c({"content": None, "tool_calls": [{"index": 1, "id": "b", "function": {"name": "get_weather", "arguments": '{"ci'}}]}),
                ": OPENROUTER PROCESSING",
                c({"tool_calls": [{"index": 0, "function": {"arguments": '{"city": '}}]}),
                c({"tool_calls": [{"index": 1, "function": {"arguments": 'ty": "Rome"}'}}]}),
                c({"tool_calls": [{"index": 0, "function": {"arguments": '"Oslo"}'}}]}),
                c({}, "tool_calls"),
                {**server.usage_chunk(), "usage": {"prompt_tokens": 40, "completion_tokens": 20, "cost": 0.5}},
                "data: [DONE]",
            ]
        )
    )  # fmt: skip
    events = await collect(gemini(server), TOOLS)
    assert [(p.index, p.id, p.name) for p in call_pieces(events)] == [
        (0, "a", "get_weather"), (1, "b", "get_weather"), (0, None, None), (1, None, None), (0, None, None),
    ]  # fmt: skip
    assert text_of(events) == ""
    message = final(events)
    assert message.content == ""
    assert [(c.id, json.loads(c.arguments)) for c in message.tool_calls] == [
        ("a", {"city": "Oslo"}),
        ("b", {"city": "Rome"}),
    ]
    assert message.usage is not None and message.usage.cost_usd == 0.5
    assert (message.usage.input_tokens, message.usage.output_tokens) == (40, 20)
    assert message.finish_reason == "TOOL_CALLS" and message.model_name == DEFAULT_MODEL


async def test_missing_and_repeated_ids_are_made_unique(server: LoopbackServer) -> None:
    c = server.chunk
    call = {"type": "function", "function": {"name": "get_weather", "arguments": '{"city": "X"}'}}
    server.add(
        RawStream(
            events=[
                c({"tool_calls": [{"index": 0, "id": "", **call}, {"index": 1, "id": "old", **call}]}),
                c({"tool_calls": [{"index": 2, "id": "old", **call}]}),
                c({}, "tool_calls"),
                "data: [DONE]",
            ]
        )
    )
    history: list[Message] = [
        *QUESTION,
        AssistantMessage(tool_calls=[ToolCall(id="old", name="get_weather", arguments="{}")]),
    ]
    events = await collect(gemini(server), TOOLS, messages=history)
    assert [p.id for p in call_pieces(events)] == [None, "old", "old"]  # as the provider sent them
    ids = [c.id for c in final(events).tool_calls]
    assert len(set(ids)) == 3 and "old" not in ids and all(ids)


async def test_a_new_id_at_a_taken_index_is_a_new_call(server: LoopbackServer) -> None:
    c = server.chunk
    server.add(
        RawStream(
            events=[
                c({"tool_calls": [{"id": "x", "function": {"name": "get_weather", "arguments": '{"city": '}}]}),
                c({"tool_calls": [{"id": "x", "function": {"name": "get_weather", "arguments": '"A"}'}}]}),
                c({"tool_calls": [{"index": 0, "id": "y", "function": {"name": "get_weather", "arguments": '{"city": "B"}'}}]}),
                c({}, "tool_calls"),
            ]
        )
    )  # fmt: skip
    events = await collect(gemini(server), TOOLS)
    # id and name repeated on every piece are passed on once
    assert [(p.index, p.id, p.name) for p in call_pieces(events)] == [
        (0, "x", "get_weather"), (0, None, None), (1, "y", "get_weather"),
    ]  # fmt: skip
    assert [(c.id, c.arguments) for c in final(events).tool_calls] == [
        ("x", '{"city": "A"}'),
        ("y", '{"city": "B"}'),
    ]


async def test_other_choices_object_arguments_and_data_after_done_are_ignored_or_read(
    server: LoopbackServer,
) -> None:
    c = server.chunk
    second_choice = {**c({}), "choices": [{"index": 1, "delta": {"content": "other choice"}}]}
    call = {"index": 0, "id": "a", "function": {"name": "get_weather", "arguments": {"city": "Oslo"}}}
    server.add(
        RawStream(
            events=[c({"content": "Hi"}), second_choice, c({"tool_calls": [call]}), c({}, "stop"), "data: [DONE]", c({"content": "late"})]
        )
    )  # fmt: skip
    message = final(await collect(gemini(server), TOOLS))
    assert message.content == "Hi"
    assert [(c.id, json.loads(c.arguments)) for c in message.tool_calls] == [("a", {"city": "Oslo"})]


async def test_prompted_profile_keeps_native_calls_too(server: LoopbackServer) -> None:
    answer = tool_calls_response([("get_weather", {"city": "Rome"})], text=f"And also {CALL}")
    events = await same_as_request(server, prompted(server), answer, TOOLS)
    message = final(events)
    assert [(p.index, p.id) for p in call_pieces(events) if p.name] == [(0, "call_1"), (1, "call_2")]
    assert [json.loads(c.arguments)["city"] for c in message.tool_calls] == ["Rome", "Oslo"]
    assert text_of(events) == message.content == "And also"


async def test_cost_from_profile_prices_when_not_sent() -> None:
    with LoopbackServer(
        ["hi"], usage={"prompt_tokens": 1_000_000, "completion_tokens": 0, "cost": None}
    ) as srv:
        message = final(await collect(gemini(srv)))
    assert message.usage is not None and message.usage.cost_usd == pytest.approx(0.10)


async def test_done_without_finish_reason_and_finish_without_done_both_end_a_stream(
    server: LoopbackServer,
) -> None:
    c = server.chunk
    server.add(
        RawStream(events=[c({"content": "one"}), "data: [DONE]"]),
        RawStream(events=[c({"content": "two"}), c({}, "stop")]),
    )
    first = final(await collect(gemini(server)))
    assert (first.content, first.finish_reason) == ("one", None)
    assert final(await collect(gemini(server))).content == "two"


async def test_a_server_that_ignores_stream_answers_in_one_piece(server: LoopbackServer) -> None:
    completion = server.completion(tool_calls_response([("get_weather", {"city": "Oslo"})], text="Checking."))
    events = await same_as_request(server, gemini(server), completion, TOOLS)
    assert text_of(events) == "Checking."
    assert [(p.index, p.id, p.name) for p in call_pieces(events)] == [(0, "call_1", "get_weather")]


# -- errors ------------------------------------------------------------------------------------------------


async def test_error_chunk_after_text_raises_and_is_not_retried(server: LoopbackServer) -> None:
    server.add(StreamError(content="partial", code=502, message="Provider disconnected"), "unused")
    seen: list[ModelStreamEvent] = []
    with pytest.raises(ModelAPIError, match="Provider disconnected") as info:
        await collect(gemini(server), into=seen)
    assert text_of(seen) == "partial"
    assert info.value.status_code == 502 and info.value.model_name == DEFAULT_MODEL
    assert isinstance(info.value.body, dict) and info.value.body["choices"][0]["finish_reason"] == "error"
    assert len(server.requests) == 1


async def test_error_chunk_before_anything_is_retried(server: LoopbackServer, no_sleep: None) -> None:
    server.add(StreamError(code=502, message="Provider disconnected"), "recovered")
    assert text_of(await collect(gemini(server))) == "recovered"
    assert len(server.requests) == 2


async def test_retries_run_out(server: LoopbackServer, no_sleep: None) -> None:
    server.add(*[StreamError(code=503, message="overloaded")] * 2)
    with pytest.raises(ModelAPIError, match="overloaded") as info:
        await collect(gemini(server, max_retries=1))
    assert info.value.status_code == 503 and len(server.requests) == 2


async def test_bare_error_object_shape(server: LoopbackServer) -> None:
    server.add(RawStream(events=[{"error": {"code": 400, "message": "context too long", "type": "invalid"}}]))
    with pytest.raises(ModelAPIError, match="context too long") as info:
        await collect(gemini(server))
    assert (info.value.status_code, info.value.code) == (400, "invalid")
    assert len(server.requests) == 1


async def test_unavailable_model_reported_in_the_stream(server: LoopbackServer) -> None:
    error = {"error": {"code": "model_not_found", "message": "no such model"}}
    server.add(RawStream(events=[server.chunk({"content": ""}), error]))
    with pytest.raises(ModelUnavailableError, match="Choose another") as info:
        await collect(gemini(server))
    assert info.value.code == "model_not_found"


async def test_finish_reason_error_without_an_error_object(server: LoopbackServer) -> None:
    chunk = server.chunk({"content": "half"})
    failed = {**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "error"}]}
    server.add(RawStream(events=[chunk, failed]))
    with pytest.raises(ModelAPIError, match='finish_reason "error"') as info:
        await collect(gemini(server))
    assert info.value.status_code is None


async def test_malformed_function_call_is_an_answer_as_in_request(server: LoopbackServer) -> None:
    chunk = server.chunk({"content": ""})
    ended = {**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "error", "native_finish_reason": "MALFORMED_FUNCTION_CALL"}]}  # fmt: skip
    server.add(RawStream(events=[chunk, ended, "data: [DONE]"]))
    message = final(await collect(gemini(server), TOOLS))
    assert (message.content, message.tool_calls, message.finish_reason) == ("", [], "MALFORMED_FUNCTION_CALL")


async def test_stream_that_ends_without_finish_or_done_was_cut(server: LoopbackServer) -> None:
    server.add(RawStream(events=[server.chunk({"content": "Sunny in"})]))
    with pytest.raises(ModelAPIError, match="was cut") as info:
        await collect(gemini(server))
    assert info.value.status_code is None


async def test_dropped_connection_mid_stream(server: LoopbackServer) -> None:
    server.add(RawStream(events=[server.chunk({"content": "Sunny in"})], cut=True))
    with pytest.raises(ModelAPIError, match="was cut"):
        await collect(gemini(server))


async def test_data_that_is_not_json(server: LoopbackServer) -> None:
    server.add(RawStream(events=["data: {oops"]), RawStream(events=["data: [1, 2]"]))
    with pytest.raises(ModelAPIError, match="not JSON"):
        await collect(gemini(server))
    with pytest.raises(ModelAPIError, match="not an object"):
        await collect(gemini(server))


async def test_http_errors_before_the_stream(server: LoopbackServer) -> None:
    server.add(
        HTTPError(status=429, message="Rate limited", headers=QUICK_RETRY),
        "after the SDK's retry",
        HTTPError(status=400, message="Invalid schema", metadata={"raw": "bad"}),
        HTTPError(status=404, code="model_deprecated", message="deprecated"),
    )
    model = gemini(server)
    assert text_of(await collect(model)) == "after the SDK's retry"
    with pytest.raises(ModelAPIError, match=r"HTTP 400: Invalid schema \(bad\)") as info:
        await collect(model)
    assert info.value.status_code == 400
    with pytest.raises(ModelUnavailableError):
        await collect(model)
    assert len(server.requests) == 4


async def test_http_status_errors_are_retried_by_the_sdk_only(server: LoopbackServer, no_sleep: None) -> None:
    server.add(*[HTTPError(status=503, message="overloaded", headers=QUICK_RETRY)] * 3)
    with pytest.raises(ModelAPIError, match="HTTP 503") as info:
        await collect(gemini(server, max_retries=1))
    assert info.value.status_code == 503 and len(server.requests) == 2


async def test_error_in_a_200_json_body_is_retried(server: LoopbackServer, no_sleep: None) -> None:
    server.add(BodyError(code=502), "recovered", BodyError(code=400, message="Bad request"))
    assert text_of(await collect(gemini(server))) == "recovered"
    with pytest.raises(ModelAPIError, match="Bad request"):
        await collect(gemini(server))
    assert len(server.requests) == 3


async def test_connection_refused_and_blocked_requests() -> None:
    with LoopbackServer() as srv:
        url = srv.base_url
    with pytest.raises(ModelAPIError, match="Could not connect"):
        await collect(opened(OpenAIChatModel("m", base_url=url, max_retries=0)))
    with pytest.raises(UserError, match="blocked"):
        await collect(OpenAIChatModel(api_key="sk-or-test"))


async def test_a_stalled_stream_times_out(server: LoopbackServer) -> None:
    server.add(RawStream(events=[server.chunk({"content": "late"})], delay=1.0))
    with pytest.raises(ModelAPIError, match="timed out"):
        await collect(gemini(server, max_retries=0), settings=ModelSettings(timeout=0.2))


# -- closing early -----------------------------------------------------------------------------------------


def slow_stream(server: LoopbackServer, pieces: int = 40) -> RawStream:
    events: list[dict[str, Any] | str] = [server.chunk({"content": f"piece {i} "}) for i in range(pieces)]
    return RawStream(events=[*events, server.chunk({}, "stop"), "data: [DONE]"], delay=0.05)


async def test_aclose_early_closes_the_response(server: LoopbackServer) -> None:
    server.add(slow_stream(server), "next")
    model = gemini(server)
    stream = model.request_stream(QUESTION, PLAIN, NO_SETTINGS)
    first = await stream.__anext__()
    assert first == TextDelta(text="piece 0 ")
    started = time.monotonic()
    await stream.aclose()
    assert time.monotonic() - started < 0.5
    gc.collect()
    assert text_of(await collect(model)) == "next"  # the client works on


async def test_cancelling_the_consumer_closes_the_response(server: LoopbackServer) -> None:
    server.add(slow_stream(server), "next")
    model = gemini(server)
    first = asyncio.Event()

    async def consume() -> None:
        async for _ in model.request_stream(QUESTION, PLAIN, NO_SETTINGS):
            first.set()

    task = asyncio.create_task(consume())
    await first.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    gc.collect()
    assert text_of(await collect(model)) == "next"


# -- prompted tool calling ---------------------------------------------------------------------------------

CALL = '{"name": "get_weather", "arguments": {"city": "Oslo"}}'


@pytest.mark.parametrize(
    "answer",
    [
        "It is sunny in Oslo: no tool needed for that.",
        "  Leading blanks and a set {1, 2} and a list [3] and `code` stay text.",
        "Use the <tag> and ``` fences ``` freely, with no call in sight.",
    ],
)
async def test_prompted_answers_are_streamed_whole(server: LoopbackServer, answer: str) -> None:
    events = await same_as_request(server, prompted(server), answer, TOOLS)
    assert text_of(events) == final(events).content == answer
    assert not call_pieces(events)


@pytest.mark.parametrize(
    ("answer", "preamble"),
    [
        (CALL, ""),
        (f"Let me look that up.\n\n{CALL}", "Let me look that up."),
        (f"Checking the weather:\n```json\n{CALL}\n```", "Checking the weather:"),
        (f"One moment. <tool_call>{CALL}</tool_call>", "One moment."),
        (f"Both cities:\n[{CALL}, {CALL.replace('Oslo', 'Rome')}]", "Both cities:"),
    ],
)
async def test_prompted_calls_are_not_leaked_as_text(
    server: LoopbackServer, answer: str, preamble: str
) -> None:
    events = await same_as_request(server, prompted(server), answer, TOOLS)
    message = final(events)
    assert text_of(events) == message.content == preamble
    assert not any(marker in text_of(events) for marker in ('"name"', "{", "`", "<"))
    pieces = call_pieces(events)
    assert [(p.index, p.id, p.name, p.arguments) for p in pieces] == [
        (i, c.id, c.name, c.arguments) for i, c in enumerate(message.tool_calls)
    ]
    assert pieces[0].id == "call_1" and json.loads(pieces[0].arguments) == {"city": "Oslo"}
    assert "tools" not in server.bodies[0]  # described in the prompt instead


async def test_prompted_text_is_shown_before_the_call_arrives(server: LoopbackServer) -> None:
    c = server.chunk
    server.add(
        RawStream(
            events=[c({"content": "Looking "}), c({"content": "it up. <tool_"}), c({"content": "call>" + CALL}), c({}, "stop")],
            delay=0.01,
        )
    )  # fmt: skip
    texts = [e.text for e in await collect(prompted(server), TOOLS) if isinstance(e, TextDelta)]
    assert texts == ["Looking", " it up."]


async def test_prompted_with_tool_choice_none_drops_calls(server: LoopbackServer) -> None:
    settings = ModelSettings(tool_choice="none")
    answer = f"Sunny, I think. {CALL}"
    events = await same_as_request(server, prompted(server), answer, TOOLS, settings)
    assert text_of(events) == final(events).content == "Sunny, I think."
    assert not call_pieces(events) and not final(events).tool_calls


async def test_prompted_text_already_shown_that_does_not_lead_the_content(server: LoopbackServer) -> None:
    """A preamble of blanks then text is shown as it came; the parsed content drops the blanks."""
    events = await same_as_request(server, prompted(server), f"  Hmm, {CALL}", TOOLS)
    assert text_of(events) == "  Hmm,"
    assert final(events).content == "Hmm,"
    assert [p.name for p in call_pieces(events)] == ["get_weather"]


# -- other models ------------------------------------------------------------------------------------------


async def test_default_request_stream_wraps_request() -> None:
    class Minimal(Model):
        @property
        def model_name(self) -> str:
            return "minimal"

        async def request(
            self, messages: Sequence[Message], parameters: ModelRequestParameters, settings: ModelSettings
        ) -> AssistantMessage:
            return AssistantMessage(
                content="ok", tool_calls=[ToolCall(id="c1", name="get_weather", arguments="{}")]
            )

    events = await collect(Minimal())
    assert events[:2] == [
        TextDelta(text="ok"),
        ToolCallDelta(index=0, id="c1", name="get_weather", arguments="{}"),
    ]
    assert final(events).content == "ok"


class _FakeServer:
    def __init__(self, base_url: str, *, is_running: bool = False) -> None:
        self.base_url = base_url
        self.is_running = is_running
        self.starts = 0
        self.engine_in_use = "xllamacpp"
        self.api_key = "fake-local-server-key"

    def start(self) -> _FakeServer:
        self.starts += 1
        self.is_running = True
        return self


async def test_local_model_streams_after_starting_its_server(server: LoopbackServer) -> None:
    server.add("hello from llama.cpp")
    fake = _FakeServer(server.base_url)
    model = opened(LocalModel("local", server=fake))  # type: ignore[arg-type]
    assert text_of(await collect(model)) == "hello from llama.cpp"
    assert fake.starts == 1 and server.bodies[0]["stream"] is True
    assert server.requests[0].headers["authorization"] == "Bearer fake-local-server-key", "the server's key"


async def test_local_model_restarts_a_dead_shared_server_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import agentkit.local

    with LoopbackServer() as first:
        port, url = first.port, first.base_url
    revived = LoopbackServer(["back again"], port=port)
    calls: list[str] = []

    def shared() -> _FakeServer:
        calls.append("get_local_server")
        if len(calls) == 2:  # the restart, on the same port, as the real shared server does
            revived.start()
        return _FakeServer(url, is_running=True)

    monkeypatch.setattr(agentkit.local, "get_local_server", shared)
    try:
        assert text_of(await collect(opened(LocalModel()))) == "back again"
    finally:
        revived.stop()
    assert calls == ["get_local_server", "get_local_server"]


async def test_local_model_does_not_restart_after_text_was_streamed(monkeypatch: pytest.MonkeyPatch) -> None:
    import agentkit.local

    with LoopbackServer() as srv:
        srv.add(RawStream(events=[srv.chunk({"content": "half an answer"})], cut=True))
        fake = _FakeServer(srv.base_url, is_running=True)
        calls: list[str] = []

        def shared() -> _FakeServer:
            calls.append("get_local_server")
            return fake

        monkeypatch.setattr(agentkit.local, "get_local_server", shared)
        with pytest.raises(ModelAPIError, match="was cut"):
            await collect(opened(LocalModel()))
    assert calls == ["get_local_server"]


def test_sse_decoder() -> None:
    decoder = SSEDecoder()
    lines = [": comment", "event: message", "id: 1", "data: {", "data:}", "", "", "retry: 5", "data: tail"]
    assert [d for line in lines if (d := decoder.line(line)) is not None] == ["{\n}"]
    assert decoder.end() == "tail"
    assert decoder.end() is None


def test_calls_all_at_index_0_with_their_ids_repeated_stay_apart() -> None:
    from agentkit.models._stream import StreamAssembler
    from agentkit.models.profiles import DEFAULT

    assembler = StreamAssembler(profile=DEFAULT, taken_ids=[], parameters=None, settings=None)

    def piece(call_id: str, name: str, arguments: str) -> dict[str, object]:
        call = {"index": 0, "id": call_id, "function": {"name": name, "arguments": arguments}}
        return {"choices": [{"index": 0, "delta": {"tool_calls": [call]}}]}

    for chunk in (
        piece("a", "w", '{"c": '),
        piece("b", "w", '{"c": '),
        piece("a", "w", "1}"),
        piece("b", "w", "2}"),
    ):
        assembler.add(chunk)
    assembler.add({"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]})
    calls = {
        c["id"]: c["function"]["arguments"]
        for c in assembler.completion()["choices"][0]["message"]["tool_calls"]
    }
    assert calls == {"a": '{"c": 1}', "b": '{"c": 2}'}
