"""Thinking models' reasoning: parsed from responses and streams, kept byte for byte, sent back to the same
family only, shown as `ThinkingDelta`s, counted in `Usage`, traced, and asked for through `ModelSettings`.

Whole runs on the loopback server playing a Gemini 3 model are in test_reasoning_runs.py.
"""

from __future__ import annotations

import copy
import dataclasses
import io
import json
from collections.abc import AsyncGenerator, Iterator, Sequence
from typing import Any

import pytest
from pydantic import BaseModel
from rich.console import Console
from shared_tools import add

from agentkit import (
    Agent,
    AssistantMessage,
    Message,
    ModelRequestParameters,
    ModelSettings,
    ToolCall,
    ToolMessage,
    Usage,
    UserError,
    UserMessage,
    messages_from_json,
    messages_to_json,
)
from agentkit.cli import main
from agentkit.cli._chat import ChatSession
from agentkit.cli._render import PlainRenderer
from agentkit.cli._terminal import TerminalRenderer
from agentkit.events import OutputDelta, ResponseFinished, TextDelta, ThinkingDelta, ToolCallDelta
from agentkit.models import Model
from agentkit.models._chat_format import build_request, parse_usage, wire_messages
from agentkit.models._reasoning import DetailsMerger, family_key
from agentkit.models.openai import OpenAIChatModel
from agentkit.models.profiles import DEFAULT, OPENAI, ModelProfile, profile_for
from agentkit.testing import HTTPError, LoopbackServer, RawStream, ScriptedModel, tool_call_response
from agentkit.testing._signatures import SignedReasoning, stream_reasoning
from agentkit.usage import UsageView

GEMINI_3 = "google/gemini-3-pro-preview"

# What OpenRouter sends for a Gemini thinking model, with the oddities a provider may add: unknown keys,
# floats that look like ints, nulls, nested values, a key order of its own. All of it must come back as is.
DETAILS: list[dict[str, Any]] = [
    {"type": "reasoning.text", "text": "I should add.", "format": "google-gemini-v1", "index": 0},
    {"format": "google-gemini-v1", "index": 1, "type": "reasoning.summary", "summary": "Adding."},
    {
        "type": "reasoning.encrypted",
        "data": "c2lnbmVk+/==",
        "id": "tool_add_0",
        "format": "google-gemini-v1",
        "index": 2,
        "weight": 1.0,
        "extra": {"z": None, "a": [1, "x", 2.5]},
    },
    {"type": "reasoning.text", "text": "Signed text.", "signature": "sig-ü/+=", "index": 3, "id": None},
]
EXTRA = {"google": {"thought_signature": "Z29vZ2xlLXNpZw==", "thought": True}, "other": {"k": 1}}


def signed_reply() -> dict[str, Any]:
    """A completion carrying reasoning, details and a call with `extra_content`."""
    call = {
        "id": "tool_add_0",
        "type": "function",
        "function": {"name": "add", "arguments": '{"a": 1, "b": 2}'},
        "extra_content": copy.deepcopy(EXTRA),
    }
    message = {
        "role": "assistant",
        "content": None,
        "reasoning": "I should add.",
        "reasoning_details": copy.deepcopy(DETAILS),
        "tool_calls": [call],
    }
    return {
        "id": "gen-1",
        "model": GEMINI_3,
        "object": "chat.completion",
        "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls"}],
        "usage": {
            "prompt_tokens": 10,
            "completion_tokens": 30,
            "completion_tokens_details": {"reasoning_tokens": 24},
        },
    }


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer(model=GEMINI_3) as srv:
        yield srv


def model_for(server: LoopbackServer, name: str = GEMINI_3, **options: Any) -> OpenAIChatModel:
    return OpenAIChatModel(name, base_url=server.base_url, api_key="test", **options)


# --- parsed, kept, sent back --------------------------------------------------------------------------------


def test_a_reply_s_reasoning_is_kept_byte_for_byte_and_sent_back_unchanged(server: LoopbackServer) -> None:
    server.add(signed_reply(), "3")
    result = Agent(model_for(server), tools=[add]).run_sync("1+2?")
    turn = result.messages[1]
    assert isinstance(turn, AssistantMessage)
    assert turn.reasoning == "I should add."
    assert json.dumps(turn.reasoning_details) == json.dumps(DETAILS)
    assert turn.tool_calls[0].extra_content == EXTRA
    assert turn.model_family == profile_for(GEMINI_3).family
    assert result.usage.reasoning_tokens == 24
    # the transcript's JSON round trip keeps every value, type and key order
    loaded = messages_from_json(messages_to_json(result.messages))
    assert loaded == result.messages
    assert messages_to_json(loaded) == messages_to_json(result.messages)
    again = loaded[1]
    assert isinstance(again, AssistantMessage) and json.dumps(again.reasoning_details) == json.dumps(DETAILS)
    # and the next request carries them, exactly as received
    sent = server.bodies[1]["messages"][1]
    assert sent["reasoning"] == "I should add."
    assert json.dumps(sent["reasoning_details"]) == json.dumps(DETAILS)
    assert json.dumps(sent["tool_calls"][0]["extra_content"]) == json.dumps(EXTRA)


def test_streamed_reasoning_is_thinking_deltas_and_details_merged_by_index(server: LoopbackServer) -> None:
    text = {"type": "reasoning.text", "format": "google-gemini-v1", "index": 0}
    events: list[dict[str, Any] | str] = [
        server.chunk(
            {
                "role": "assistant",
                "content": "",
                "reasoning": "Let me ",
                "reasoning_details": [{**text, "text": "Let me "}],
            }
        ),
        server.chunk(
            {
                "reasoning": "think.",
                "reasoning_details": [{"type": "reasoning.text", "text": "think.", "index": 0}],
            }
        ),
        server.chunk({"reasoning_details": [{"index": 0, "signature": "sig0"}, "not a detail"]}),
        server.chunk(
            {"reasoning_details": [{"type": "reasoning.encrypted", "data": "enc", "id": "c1", "index": 1}]}
        ),
        server.chunk({"reasoning_details": [{"type": "reasoning.summary", "summary": "no index"}]}),
        server.chunk({"reasoning_details": "not a list"}),
        server.chunk(
            {
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "c1",
                        "type": "function",
                        "function": {"name": "add", "arguments": '{"a": 1,'},
                        "extra_content": {"google": {"thought_signature": "ts"}},
                    }
                ]
            }
        ),
        server.chunk(
            {
                "tool_calls": [
                    {"index": 0, "function": {"arguments": ' "b": 2}'}, "extra_content": {"late": 1}}
                ]
            }
        ),
        server.chunk({}, "tool_calls"),
        server.usage_chunk(),
        "data: [DONE]",
    ]
    server.add(RawStream(events=events), "3")
    seen = list(Agent(model_for(server), tools=[add]).run_stream_sync("1+2?"))
    thinking = [e.text for e in seen if isinstance(e, ThinkingDelta)]
    assert thinking == ["Let me ", "think."]
    [first, _] = [e.message for e in seen if isinstance(e, ResponseFinished)]
    assert first.reasoning == "Let me think."
    assert first.reasoning_details == [
        {**text, "text": "Let me think.", "signature": "sig0"},
        {"type": "reasoning.encrypted", "data": "enc", "id": "c1", "index": 1},
        {"type": "reasoning.summary", "summary": "no index"},
    ]
    assert first.tool_calls[0].extra_content == {"google": {"thought_signature": "ts"}}
    sent = server.bodies[1]["messages"][1]
    assert sent["reasoning_details"] == first.reasoning_details
    assert sent["tool_calls"][0]["extra_content"] == {"google": {"thought_signature": "ts"}}


def test_details_merger_appends_text_pieces_and_takes_other_fields_once() -> None:
    merger = DetailsMerger()
    merger.add([{"type": "reasoning.encrypted", "data": "ab", "index": 5, "format": None}])
    merger.add([{"data": "cd", "index": 5, "format": "f", "type": "other"}])
    assert merger.details == [{"type": "reasoning.encrypted", "data": "abcd", "index": 5, "format": "f"}]


def test_a_reply_without_reasoning_is_sent_back_as_before(server: LoopbackServer) -> None:
    server.add(tool_call_response("add", {"a": 1, "b": 2}, id="c1"), "3")
    result = Agent(model_for(server, "openai/gpt-4o-mini"), tools=[add]).run_sync("1+2?")
    assert server.bodies[1]["messages"][1] == {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "add", "arguments": '{"a": 1, "b": 2}'}}
        ],
    }
    turn = result.messages[1]
    assert isinstance(turn, AssistantMessage)
    assert turn.reasoning is None and turn.reasoning_details is None and turn.model_family is None


# --- the family rule ------------------------------------------------------------------------------------


def signed_history(family: str | None) -> list[Message]:
    call = ToolCall(id="c1", name="add", arguments='{"a": 1, "b": 2}', extra_content=copy.deepcopy(EXTRA))
    return [
        UserMessage(content="1+2?"),
        AssistantMessage(
            tool_calls=[call],
            reasoning="I should add.",
            reasoning_details=copy.deepcopy(DETAILS),
            model_family=family,
        ),
        ToolMessage(tool_call_id="c1", name="add", content="3"),
        AssistantMessage(content="3", reasoning="Done.", reasoning_details=[DETAILS[3]], model_family=family),
        UserMessage(content="And 2+2?"),
    ]


def body_for(model_name: str, messages: list[Message], profile: ModelProfile | None = None) -> dict[str, Any]:
    profile = profile or profile_for(model_name)
    return build_request(model_name, messages, ModelRequestParameters(), ModelSettings(), profile)


def test_the_same_family_gets_everything_back_unchanged() -> None:
    wire = body_for(GEMINI_3, signed_history(profile_for(GEMINI_3).family))["messages"]
    assert wire[1]["reasoning_details"] == DETAILS and wire[1]["tool_calls"][0]["extra_content"] == EXTRA
    assert wire[3] == {
        "role": "assistant",
        "content": "3",
        "reasoning": "Done.",
        "reasoning_details": [DETAILS[3]],
    }


def test_another_family_gets_the_message_without_the_signed_parts() -> None:
    body = body_for("openai/gpt-4o-mini", signed_history(profile_for(GEMINI_3).family))
    turn, answer = body["messages"][1], body["messages"][3]
    assert turn["content"] == "" and turn["reasoning"] == "I should add."
    assert turn["tool_calls"][0]["function"] == {"name": "add", "arguments": '{"a": 1, "b": 2}'}
    assert turn["tool_calls"][0]["extra_content"] == {"google": {"thought": True}, "other": {"k": 1}}
    assert turn["reasoning_details"] == [
        DETAILS[0],
        DETAILS[1],
        {"type": "reasoning.text", "text": "Signed text.", "index": 3, "id": None},
    ]
    assert answer == {
        "role": "assistant",
        "content": "3",
        "reasoning": "Done.",
        "reasoning_details": [{"type": "reasoning.text", "text": "Signed text.", "index": 3, "id": None}],
    }
    text = json.dumps(body)
    for secret in ("c2lnbmVk+/==", "sig-", "Z29vZ2xlLXNpZw=="):
        assert secret not in text


def test_a_foreign_call_extra_holding_only_the_signature_is_left_out() -> None:
    call = ToolCall(id="c1", name="add", arguments="{}", extra_content={"google": {"thought_signature": "s"}})
    message = AssistantMessage(tool_calls=[call], reasoning_details=[DETAILS[2]], model_family="gemini")
    [turn, _] = wire_messages([message], "openai")
    assert turn == {
        "role": "assistant",
        "content": "",
        "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "add", "arguments": "{}"}}],
    }


def test_a_foreign_call_extra_without_a_signature_goes_as_it_is() -> None:
    call = ToolCall(id="c1", name="add", arguments="{}", extra_content={"vendor": {"k": 1}})
    message = AssistantMessage(tool_calls=[call], model_family="gemini")
    [turn, _] = wire_messages([message], "openai")
    assert turn["tool_calls"][0]["extra_content"] == {"vendor": {"k": 1}}


def test_unknown_models_are_each_their_own_family_and_unstamped_messages_go_as_they_are() -> None:
    assert family_key(DEFAULT, "acme/thinker") == "model:acme/thinker" != family_key(DEFAULT, "acme/other")
    assert family_key(OPENAI, "gpt-5") == OPENAI.family
    mine = body_for("acme/thinker", signed_history("model:acme/thinker"))["messages"][1]
    assert mine["reasoning_details"] == DETAILS
    other = body_for("acme/other", signed_history("model:acme/thinker"))["messages"][1]
    assert all(d["type"] != "reasoning.encrypted" for d in other["reasoning_details"])
    unstamped = body_for("openai/gpt-4o-mini", signed_history(None))["messages"][1]
    assert unstamped["reasoning_details"] == DETAILS  # a history built by hand is trusted as it is


def test_the_family_is_the_profile_s_when_the_model_has_one_given(server: LoopbackServer) -> None:
    gemini_like = ModelProfile(family="gemini", schema_dialect="gemini")
    server.add(signed_reply(), "3")
    result = Agent(model_for(server, "my-proxy-model", profile=gemini_like), tools=[add]).run_sync("1+2?")
    assert result.messages[1].model_family == "gemini"  # type: ignore[union-attr]
    assert server.bodies[1]["messages"][1]["reasoning_details"] == DETAILS


# --- settings -----------------------------------------------------------------------------------------------


def request_fields(settings: ModelSettings, *, openrouter: bool) -> dict[str, Any]:
    model = OpenAIChatModel(
        "google/gemini-2.5-flash", base_url="http://127.0.0.1:9/v1", openrouter=openrouter
    )
    body = model.request_body([UserMessage(content="hi")], ModelRequestParameters(), settings)
    return {k: v for k, v in body.items() if k.startswith("reasoning")}


def test_reasoning_settings_go_as_openrouter_s_reasoning_object_or_reasoning_effort() -> None:
    agent_level = ModelSettings(reasoning_effort="high", reasoning_exclude=True, temperature=0.5)
    merged = agent_level.merged(ModelSettings(reasoning_effort="low"))
    assert request_fields(merged, openrouter=True) == {"reasoning": {"effort": "low", "exclude": True}}
    assert request_fields(merged, openrouter=False) == {"reasoning_effort": "low"}
    budget = ModelSettings(reasoning_max_tokens=2048, reasoning_exclude=False)
    assert request_fields(budget, openrouter=True) == {"reasoning": {"max_tokens": 2048, "exclude": False}}
    assert request_fields(budget, openrouter=False) == {}
    assert request_fields(ModelSettings(reasoning_effort="none"), openrouter=True) == {
        "reasoning": {"effort": "none"}
    }
    assert request_fields(ModelSettings(), openrouter=True) == {}


def test_reasoning_settings_reach_the_wire(server: LoopbackServer) -> None:
    server.add("hi")
    settings = ModelSettings(reasoning_effort="medium")
    Agent(model_for(server, openrouter=True), model_settings=settings).run_sync("hi")
    assert server.bodies[0]["reasoning"] == {"effort": "medium"}


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        (ModelSettings(reasoning_effort="extreme"), "reasoning_effort='extreme'"),  # type: ignore[arg-type]
        (ModelSettings(reasoning_max_tokens=-1), "reasoning_max_tokens=-1"),
        (ModelSettings(reasoning_max_tokens=True), "reasoning_max_tokens=True"),
        (ModelSettings(reasoning_effort="low", reasoning_max_tokens=100), "not both"),
    ],
)
def test_bad_reasoning_settings_are_a_user_error(settings: ModelSettings, words: str) -> None:
    with pytest.raises(UserError, match=words.replace("(", r"\(")):
        request_fields(settings, openrouter=True)


# --- usage and tracing --------------------------------------------------------------------------------------


def test_reasoning_tokens_are_summed() -> None:
    usage = parse_usage(
        {"completion_tokens": 9, "completion_tokens_details": {"reasoning_tokens": 7}}, DEFAULT
    )
    assert usage.reasoning_tokens == 7
    assert (
        parse_usage({"completion_tokens_details": {"reasoning_tokens": "7"}}, DEFAULT).reasoning_tokens == 0
    )
    assert parse_usage({"completion_tokens_details": None}, DEFAULT).reasoning_tokens == 0
    total = usage + Usage(reasoning_tokens=3)
    assert total.reasoning_tokens == 10
    total.add(usage)
    assert total.reasoning_tokens == 17 == UsageView(total).reasoning_tokens


async def test_tracing_records_reasoning_tokens(server: LoopbackServer) -> None:
    pytest.importorskip("opentelemetry.sdk")
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from agentkit import instrumentation

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrumentation.configure(tracer_provider=provider)
    try:
        server.add(signed_reply(), "3")
        agent = Agent(model_for(server), tools=[add])
        await agent.run("1+2?")
        await agent.model.aclose()
    finally:
        instrumentation.configure()
    spans = exporter.get_finished_spans()
    chats = [dict(s.attributes or {}) for s in spans if s.name.startswith("chat")]
    assert [c.get("gen_ai.usage.reasoning.output_tokens") for c in chats] == [24, None]
    [run] = [dict(s.attributes or {}) for s in spans if s.name.startswith("invoke_agent")]
    assert run["gen_ai.usage.reasoning.output_tokens"] == 24
    assert "c2lnbmVk" not in json.dumps([dict(s.attributes or {}) for s in spans], default=str)


# --- events, streaming and the command line --------------------------------------------------------------


class Answer(BaseModel):
    total: int


async def test_thinking_never_feeds_the_structured_output() -> None:
    reply = AssistantMessage(content='{"total": 3}', reasoning='{"total": 999} was my first guess')
    model = ScriptedModel([reply], model_name="acme/thinker", chunk_size=5)
    agent = Agent(model, output_type=Answer)
    async with agent.run_stream("1+2?") as stream:
        events = [event async for event in stream]
    assert "".join(e.text for e in events if isinstance(e, ThinkingDelta)) == reply.reasoning
    outputs = [e.output for e in events if isinstance(e, OutputDelta)]
    assert outputs and all(o.total == 3 for o in outputs)  # type: ignore[attr-defined]
    assert stream.result.output == Answer(total=3)


class _OneShot(Model):
    """A model with `request` only: the default `request_stream` yields its answer in pieces."""

    def __init__(self, answer: AssistantMessage) -> None:
        self.answer = answer

    @property
    def model_name(self) -> str:
        return "one-shot"

    async def request(
        self, messages: Sequence[Message], parameters: ModelRequestParameters, settings: ModelSettings
    ) -> AssistantMessage:
        return self.answer


async def test_the_default_stream_of_a_model_yields_its_thinking_first() -> None:
    model = _OneShot(AssistantMessage(content="3", reasoning="Adding."))
    stream: AsyncGenerator[Any, None] = model.request_stream([], ModelRequestParameters(), ModelSettings())
    kinds = [type(e) async for e in stream]
    assert kinds == [ThinkingDelta, TextDelta, ResponseFinished]


def consoles() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=True, width=100, color_system="standard"), out


@pytest.mark.parametrize("show", [True, False])
def test_the_terminal_shows_thinking_dimmed_unless_hidden(show: bool) -> None:
    console, out = consoles()
    renderer = TerminalRenderer(console=console, err_console=consoles()[0], show_thinking=show)
    for event in (
        ThinkingDelta(text="Let me "),
        ThinkingDelta(text="think."),
        TextDelta(text="3"),
        ToolCallDelta(index=0),
        ResponseFinished(message=AssistantMessage(content="3")),
    ):
        renderer.event(event)
    text = out.getvalue()
    if show:
        assert "\x1b[2;3mLet me \x1b[0m\x1b[2;3mthink.\x1b[0m\n3\n" in text  # dim italic, then the answer
    else:
        assert "think" not in text and "3\n" in text


@pytest.mark.parametrize("show", [True, False])
def test_plain_lines_show_thinking_on_stderr_unless_hidden(show: bool) -> None:
    out, err = io.StringIO(), io.StringIO()
    renderer = PlainRenderer(out=out, err=err, show_thinking=show)
    renderer.event(ThinkingDelta(text="Let me\nthink."))
    renderer.event(ResponseFinished(message=AssistantMessage(content="3")))
    assert err.getvalue() == ("thinking: Let me think.\n" if show else "")
    assert out.getvalue() == ""


def test_chat_takes_no_thinking(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    shown: list[bool] = []
    monkeypatch.setattr(ChatSession, "loop", lambda self: shown.append(self.show_thinking) or 0)
    assert main(["chat", "--model", "openai/gpt-4o-mini", "--no-thinking"]) == 0
    assert main(["chat", "--model", "openai/gpt-4o-mini"]) == 0
    assert shown == [False, True]
    for terminal in (False, True):
        session = ChatSession(Agent(ScriptedModel(["x"])), terminal=terminal, show_thinking=False)
        assert session._renderer().show_thinking is False


def test_run_passes_no_thinking_to_the_terminal_renderer(monkeypatch: pytest.MonkeyPatch) -> None:
    from agentkit.cli import _run

    monkeypatch.setattr(_run.sys.stdout, "isatty", lambda: True)
    renderer = _run._renderer(False, str, show_thinking=False)
    assert isinstance(renderer, TerminalRenderer) and renderer.show_thinking is False


# --- the loopback server's Gemini 3 --------------------------------------------------------------------------


def test_the_google_form_refuses_a_changed_signature_and_leaves_text_answers_alone() -> None:
    signer = SignedReasoning("google")
    assert signer.sign("plain answer") == AssistantMessage(content="plain answer")
    signed = signer.sign(tool_call_response("add", {"a": 1, "b": 2}, id="c1"))
    extra = signed.tool_calls[0].extra_content
    assert extra is not None and set(extra["google"]) == {"thought_signature"}
    good = {
        "role": "assistant",
        "tool_calls": [{"id": "c1", "extra_content": extra, "function": {"name": "add"}}],
    }
    answer = {"role": "assistant", "content": "3"}
    assert signer.check({"messages": ["not a message", {"role": "user"}, good, answer]}) is None
    bad = copy.deepcopy(good)
    bad["tool_calls"][0]["extra_content"]["google"]["thought_signature"] = "forged"
    refusal = signer.check({"messages": [{"role": "user"}, bad]})
    assert isinstance(refusal, HTTPError) and refusal.status == 400
    assert "function call `default_api:add` , position 1" in refusal.message
    assert signer.refused == 1


def test_streamed_details_are_sent_in_fragments_that_merge_back_to_the_issued_ones() -> None:
    details = [
        {"type": "reasoning.text", "text": "Long enough.", "format": "f", "index": 0, "signature": "s"},
        {"type": "reasoning.summary", "summary": "x", "index": 1},
        {"type": "reasoning.encrypted", "data": "enc"},
    ]
    deltas = stream_reasoning(AssistantMessage(reasoning="Thinking.", reasoning_details=details))
    assert "".join(d.get("reasoning", "") for d in deltas) == "Thinking."
    merger = DetailsMerger()
    for delta in deltas:
        merger.add(delta.get("reasoning_details"))
    assert json.dumps(merger.details) == json.dumps(details)
    assert len([d for d in deltas if "reasoning_details" in d]) == 4  # the text in two halves


@pytest.mark.parametrize("stream", [False, True])
async def test_a_scripted_answer_with_calls_keeps_its_reasoning_and_signatures(stream: bool) -> None:
    # the test doubles give calls fresh ids: the answer's reasoning and each call's signed extra stay on it
    details = [{"type": "reasoning.text", "text": "Adding.", "signature": "sig"}]
    extra = {"google": {"thought_signature": "signed"}}
    call = tool_call_response("add", {"a": 1, "b": 2}, id="c1").tool_calls[0]
    calling = AssistantMessage(
        tool_calls=[dataclasses.replace(call, extra_content=extra)],
        reasoning="Adding.",
        reasoning_details=details,
    )
    model = ScriptedModel([calling, "3"], model_name="acme/thinker")
    agent = Agent(model, tools=[add])
    if stream:
        async with agent.run_stream("1+2?") as running:
            thinking = "".join([e.text async for e in running if isinstance(e, ThinkingDelta)])
        assert thinking == "Adding."
        result = running.result
    else:
        result = await agent.run("1+2?")
    sent = model.requests[1].messages[1]
    assert isinstance(sent, AssistantMessage) and sent is result.messages[1]
    assert (sent.reasoning, sent.reasoning_details) == ("Adding.", details)
    assert sent.tool_calls[0].extra_content == extra
