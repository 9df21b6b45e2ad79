"""OpenTelemetry spans of a run (`agentkit.instrumentation`), read with the SDK's in-memory exporter.

Each test passes its provider through `instrumentation.configure` (the global provider can be set once per
process, so the tests that need it run in a subprocess).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from pydantic import BaseModel
from shared_tools import add

from agentkit import (
    Agent,
    AssistantMessage,
    AudioPart,
    DocumentPart,
    HookError,
    Hooks,
    ImagePart,
    Model,
    ModelAPIError,
    ModelRequest,
    ModelRequestParameters,
    ModelRetry,
    ModelSettings,
    RunContext,
    TextPart,
    ToolExecutionError,
    Usage,
    UsageLimitExceeded,
    UsageLimits,
    UserMessage,
    tool,
)
from agentkit import instrumentation as instr
from agentkit.events import ToolCallStarted
from agentkit.local import LocalModel
from agentkit.messages import Message
from agentkit.models.fallback import FallbackModel
from agentkit.models.openai import OpenAIChatModel
from agentkit.testing import (
    FunctionModel,
    LoopbackServer,
    RequestInfo,
    ScriptedModel,
    tool_call_response,
    tool_calls_response,
)
from agentkit.toolsets import FunctionToolset

ROOT = Path(__file__).resolve().parents[1]
CONTENT = (
    "gen_ai.input.messages",
    "gen_ai.output.messages",
    "gen_ai.tool.call.arguments",
    "gen_ai.tool.call.result",
)


class _Open(SpanProcessor):
    """Counts the spans started and not ended."""

    def __init__(self) -> None:
        self.open: set[int] = set()

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        self.open.add(span.context.span_id)

    def on_end(self, span: ReadableSpan) -> None:
        self.open.discard(span.context.span_id)


class Traced:
    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.opened = _Open()
        self.provider = TracerProvider()
        self.provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.provider.add_span_processor(self.opened)

    @property
    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def named(self, name: str) -> list[ReadableSpan]:
        return [s for s in self.spans if s.name == name]

    def one(self, name: str) -> ReadableSpan:
        [span] = self.named(name)
        return span


@pytest.fixture
def traced(monkeypatch: pytest.MonkeyPatch) -> Iterator[Traced]:
    monkeypatch.delenv(instr.CAPTURE_CONTENT_ENV, raising=False)
    spans = Traced()
    instr.configure(tracer_provider=spans.provider)
    yield spans
    instr.configure()
    assert not spans.opened.open, "a span was never ended"


@tool
def explode(reason: str) -> str:
    """Fail on purpose.

    Args:
        reason: Why.
    """
    raise ValueError(f"exploded: {reason}")


def answer(
    text: str, *, input_tokens: int = 20, output_tokens: int = 5, cost: float = 0.001
) -> AssistantMessage:
    usage = Usage(requests=1, input_tokens=input_tokens, output_tokens=output_tokens, cost_usd=cost)
    return AssistantMessage(content=text, model_name="scripted-v2", finish_reason="stop", usage=usage)


def calls(*items: tuple[str, dict[str, Any]]) -> AssistantMessage:
    message = tool_calls_response(list(items))
    message.usage = Usage(requests=1, input_tokens=11, output_tokens=3, cost_usd=0.0005)
    message.finish_reason = "tool_calls"
    message.model_name = "scripted-v2"
    return message


def attributes(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def every_value(spans: Sequence[ReadableSpan]) -> list[str]:
    """Every attribute, event attribute and status text of every span, as text."""
    values: list[str] = []
    for span in spans:
        values += [span.name, str(span.status.description)]
        values += [f"{k}={v}" for k, v in (span.attributes or {}).items()]
        for event in span.events:
            values += [event.name, *(f"{k}={v}" for k, v in (event.attributes or {}).items())]
    return values


# --- spans, parents, attributes ---------------------------------------------------------------------------


async def test_a_run_makes_a_run_span_with_chat_and_tool_spans_under_it(traced: Traced) -> None:
    model = ScriptedModel([calls(("add", {"a": 1, "b": 2}), ("add", {"a": 3, "b": 4})), answer("3 and 7")])
    settings = ModelSettings(temperature=0.2, top_p=0.9, max_tokens=256, seed=7, stop=["END"])
    agent = Agent(model, tools=[add], name="calculator", model_settings=settings)
    result = await agent.run("Add 1+2 and 3+4.")

    run = traced.one("invoke_agent calculator")
    chats = traced.named("chat scripted")
    tools = traced.named("execute_tool add")
    assert len(traced.spans) == 5 and len(chats) == 2 and len(tools) == 2
    assert run.parent is None and run.kind is SpanKind.INTERNAL
    assert all(s.parent is not None and s.parent.span_id == run.context.span_id for s in chats + tools)
    assert {s.kind for s in chats} == {SpanKind.CLIENT} and {s.kind for s in tools} == {SpanKind.INTERNAL}
    assert all(s.status.status_code is StatusCode.UNSET for s in traced.spans)

    run_attrs = attributes(run)
    assert run_attrs["gen_ai.operation.name"] == "invoke_agent"
    assert run_attrs["gen_ai.agent.name"] == "calculator"
    assert run_attrs["gen_ai.provider.name"] == "scripted"
    assert run_attrs["gen_ai.request.model"] == "scripted"
    assert run_attrs["gen_ai.response.finish_reasons"] == ("stop",), "the last response's"
    assert run_attrs["gen_ai.usage.input_tokens"] == result.usage.input_tokens
    assert run_attrs["gen_ai.usage.output_tokens"] == result.usage.output_tokens
    assert run_attrs["agentkit.usage.cost_usd"] == pytest.approx(result.usage.cost_usd)
    assert run_attrs["agentkit.usage.requests"] == 2 and run_attrs["agentkit.usage.tool_calls"] == 2
    assert "agentkit.cancelled" not in run_attrs

    first, last = sorted(chats, key=lambda s: s.start_time or 0)
    assert attributes(first) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "scripted",
        "gen_ai.request.model": "scripted",
        "gen_ai.request.temperature": 0.2,
        "gen_ai.request.top_p": 0.9,
        "gen_ai.request.max_tokens": 256,
        "gen_ai.request.seed": 7,
        "gen_ai.request.stop_sequences": ("END",),
        "gen_ai.response.model": "scripted-v2",
        "gen_ai.response.finish_reasons": ("tool_call",),
        "gen_ai.usage.input_tokens": 11,
        "gen_ai.usage.output_tokens": 3,
        "agentkit.usage.cost_usd": 0.0005,
    }
    assert attributes(last)["gen_ai.response.finish_reasons"] == ("stop",)
    assert attributes(last)["gen_ai.usage.input_tokens"] == 20

    transcript_calls = [c for m in result.messages if isinstance(m, AssistantMessage) for c in m.tool_calls]
    assert sorted(attributes(s)["gen_ai.tool.call.id"] for s in tools) == sorted(
        c.id for c in transcript_calls
    )
    assert attributes(tools[0]) | {"gen_ai.tool.call.id": "-"} == {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "add",
        "gen_ai.tool.call.id": "-",
        "gen_ai.tool.type": "function",
        "gen_ai.tool.description": "Add two numbers.",
    }


async def test_settings_left_unset_are_not_recorded_and_an_unnamed_agent_is_invoke_agent(
    traced: Traced,
) -> None:
    await Agent(ScriptedModel(["hi"])).run("Hello")
    run = traced.one("invoke_agent")
    assert "gen_ai.agent.name" not in attributes(run)
    chat = attributes(traced.one("chat scripted"))
    assert not [k for k in chat if k.startswith("gen_ai.request.") and k != "gen_ai.request.model"]


async def test_the_tool_span_is_current_while_the_tool_runs(traced: Traced) -> None:
    tracer = traced.provider.get_tracer("app")

    @tool
    async def lookup(key: str) -> str:
        """Look up.

        Args:
            key: The key.
        """
        with tracer.start_as_current_span("db query"):
            await asyncio.sleep(0)
        return key

    @tool
    def blocking(key: str) -> str:
        """Sync, in a thread.

        Args:
            key: The key.
        """
        with tracer.start_as_current_span("file read"):
            return key

    model = ScriptedModel([calls(("lookup", {"key": "a"}), ("blocking", {"key": "b"})), answer("ok")])
    await Agent(model, tools=[lookup, blocking]).run("Go")
    for child, parent in (("db query", "execute_tool lookup"), ("file read", "execute_tool blocking")):
        assert traced.one(child).parent.span_id == traced.one(parent).context.span_id  # type: ignore[union-attr]


async def test_the_chat_span_is_current_during_the_request(traced: Traced) -> None:
    seen: list[trace.Span] = []

    def respond(messages: list[Message], info: RequestInfo) -> str:
        seen.append(trace.get_current_span())
        return "done"

    await Agent(FunctionModel(respond)).run("Go")
    assert seen[0].get_span_context().span_id == traced.one("chat function").context.span_id
    assert trace.get_current_span() is trace.INVALID_SPAN  # nothing left attached


async def test_a_run_nests_under_the_applications_span_also_when_sync(traced: Traced) -> None:
    tracer = traced.provider.get_tracer("app")
    agent = Agent(ScriptedModel(["one", "two"]))
    with tracer.start_as_current_span("request handler") as handler:
        await agent.run("First")
        await asyncio.to_thread(agent.run_sync, "Second")
    runs = traced.named("invoke_agent")
    assert len(runs) == 2
    assert all(r.parent is not None and r.parent.span_id == handler.get_span_context().span_id for r in runs)


async def test_a_streamed_run_makes_the_same_spans(traced: Traced) -> None:
    model = ScriptedModel([calls(("add", {"a": 1, "b": 2})), answer("3")])
    async with Agent(model, tools=[add], name="calc").run_stream("1+2?") as stream:
        kinds = [event.kind async for event in stream]
    assert kinds[-1] == "run_finished"
    run = traced.one("invoke_agent calc")
    chats = traced.named("chat scripted")
    assert [s.name for s in traced.spans].count("execute_tool add") == 1 and len(chats) == 2
    assert all(attributes(c)["gen_ai.request.stream"] is True for c in chats)
    assert all(s.parent.span_id == run.context.span_id for s in traced.spans if s is not run)  # type: ignore[union-attr]
    assert attributes(run)["gen_ai.usage.output_tokens"] == stream.result.usage.output_tokens


async def test_feedback_is_an_event_of_the_run_span_and_structured_output_is_json(traced: Traced) -> None:
    class City(BaseModel):
        name: str

    model = ScriptedModel(
        [AssistantMessage(content=""), tool_call_response("final_result", {"name": "Oslo"})]
    )
    await Agent(model, output_type=City).run("A city?")
    run = traced.one("invoke_agent")
    assert [(e.name, dict(e.attributes or {})) for e in run.events] == [
        ("agentkit.feedback", {"agentkit.feedback.reason": "empty_response"})
    ]
    assert attributes(run)["gen_ai.output.type"] == "json"
    final = traced.one("execute_tool final_result")  # answered by agentkit, not run
    assert attributes(final)["agentkit.tool.executed"] is False
    assert final.status.status_code is StatusCode.UNSET


async def test_a_compaction_is_an_event_of_the_run_span(traced: Traced) -> None:
    model = ScriptedModel([answer("ok")])
    history = [UserMessage(content="old"), AssistantMessage(content="older answer")]
    await Agent(model).run("new", message_history=history, history_processors=[lambda m: m[-1:]])
    run = traced.one("invoke_agent")
    assert [(e.name, dict(e.attributes or {})) for e in run.events] == [
        (
            "agentkit.history_compacted",
            {
                "agentkit.history.processor": "<lambda>",
                "agentkit.history.messages_before": 3,
                "agentkit.history.messages_after": 1,
                "agentkit.history.tokens_before": 15,
                "agentkit.history.tokens_after": 4,
                "agentkit.history.retry": False,
            },
        )
    ]


# --- errors -------------------------------------------------------------------------------------------------


async def test_a_tool_that_raises_marks_its_span_and_the_run_goes_on(traced: Traced) -> None:
    model = ScriptedModel([calls(("explode", {"reason": "test"})), answer("It failed.")])
    result = await Agent(model, tools=[explode]).run("Try")
    assert result.output == "It failed."
    span = traced.one("execute_tool explode")
    assert span.status.status_code is StatusCode.ERROR
    assert attributes(span)["error.type"] == "ValueError"
    [event] = span.events
    assert event.name == "exception"
    assert (event.attributes or {})["exception.type"] == "ValueError"
    assert traced.one("invoke_agent").status.status_code is StatusCode.UNSET


async def test_model_retry_and_an_unknown_tool_are_errors_of_their_tool_spans(traced: Traced) -> None:
    @tool
    def picky(n: int) -> int:
        """Wants 2.

        Args:
            n: A number.
        """
        raise ModelRetry("Use 2.")

    model = ScriptedModel([calls(("picky", {"n": 1}), ("missing", {}), ("sub", {"a": []})), answer("ok")])
    await Agent(model, tools=[picky], toolsets=[FunctionToolset([subtract])]).run("Try")
    picky_span, missing = traced.one("execute_tool picky"), traced.one("execute_tool missing")
    assert attributes(picky_span)["error.type"] == "ModelRetry"
    assert attributes(missing)["error.type"] == "rejected"
    assert attributes(missing)["agentkit.tool.executed"] is False
    assert "gen_ai.tool.description" not in attributes(missing)
    assert {picky_span.status.status_code, missing.status.status_code} == {StatusCode.ERROR}
    rejected = attributes(traced.one("execute_tool sub"))  # a toolset's tool, its arguments invalid
    assert rejected["agentkit.tool.executed"] is False and rejected["error.type"] == "rejected"
    assert rejected["gen_ai.tool.description"] == "Subtract b from a."


@tool(name="sub")
def subtract(a: int, b: int) -> int:
    """Subtract b from a.

    Args:
        a: A number.
        b: Another.
    """
    return a - b


@pytest.mark.parametrize(
    ("raw", "with_calls", "expected"),
    [
        ("stop", False, "stop"),
        ("STOP", True, "tool_call"),
        (None, True, "tool_call"),
        (None, False, None),
        ("tool_calls", True, "tool_call"),
        ("TOOL_CALLS", True, "tool_call"),
        ("MAX_TOKENS", False, "length"),
        ("length", True, "length"),
        ("SAFETY", False, "content_filter"),
        ("content_filter", False, "content_filter"),
        ("MALFORMED_FUNCTION_CALL", False, "error"),
        ("error", False, "error"),
        ("end_turn", False, "stop"),
        ("FINISH_REASON_UNSPECIFIED", False, "finish_reason_unspecified"),
    ],
)
def test_finish_reasons_take_the_conventions_values(raw: str | None, with_calls: bool, expected: str) -> None:
    message = calls(("add", {"a": 1, "b": 2})) if with_calls else AssistantMessage(content="x")
    message.finish_reason = raw
    assert instr._finish_reason(message) == expected


async def test_a_failed_request_marks_the_chat_and_run_spans(traced: Traced) -> None:
    model = ScriptedModel([ModelAPIError("upstream is down", status_code=503)])
    with pytest.raises(ModelAPIError):
        await Agent(model).run("Hi")
    for span in (traced.one("chat scripted"), traced.one("invoke_agent")):
        assert span.status.status_code is StatusCode.ERROR
        assert span.status.description == "ModelAPIError"  # the error's text only with content capture
        assert attributes(span)["error.type"] == "ModelAPIError"
        assert [(e.name, dict(e.attributes or {})) for e in span.events] == [
            ("exception", {"exception.type": "ModelAPIError"})
        ]


async def test_error_texts_that_quote_content_are_recorded_only_with_content_capture(traced: Traced) -> None:
    @tool
    def lookup(person: str) -> str:
        """Look a person up."""
        raise ValueError(f"no record for SSN 123-45-6789 ({person})")

    def script() -> ScriptedModel:
        return ScriptedModel([calls(("lookup", {"person": "Ann"})), answer("Not found.")])

    await Agent(script(), tools=[lookup]).run("Who?")
    assert "123-45-6789" not in json.dumps(every_value(traced.spans))
    span = traced.one("execute_tool lookup")
    assert span.status.description == "ValueError" and attributes(span)["error.type"] == "ValueError"
    traced.exporter.clear()
    instr.configure(tracer_provider=traced.provider, capture_content=True)
    await Agent(script(), tools=[lookup]).run("Who?")
    span = traced.one("execute_tool lookup")
    assert "no record for SSN" in (span.status.description or "")
    assert span.events[0].name == "exception" and "exception.stacktrace" in (span.events[0].attributes or {})


async def test_a_run_stopped_for_approval_records_the_waiting_calls_not_an_answer(traced: Traced) -> None:
    @tool(requires_approval=True)
    def pay(amount: int) -> str:
        """Pay."""
        return "paid"

    instr.configure(tracer_provider=traced.provider, capture_content=True)
    result = await Agent(ScriptedModel([calls(("pay", {"amount": 3}))]), tools=[pay]).run("pay")
    run = attributes(traced.one("invoke_agent"))
    assert run["agentkit.pending_approvals"] == ("pay",)
    assert run["agentkit.pending_approval_ids"] == (result.pending_approvals[0].id,)
    assert "gen_ai.output.messages" not in run


async def test_a_run_that_fails_after_a_response_marks_only_the_run_span(traced: Traced) -> None:
    model = ScriptedModel([answer("too long", output_tokens=500)])
    with pytest.raises(UsageLimitExceeded):
        await Agent(model, usage_limits=UsageLimits(output_tokens_limit=10)).run("Hi")
    assert traced.one("chat scripted").status.status_code is StatusCode.UNSET
    run = traced.one("invoke_agent")
    assert run.status.status_code is StatusCode.ERROR
    assert attributes(run)["error.type"] == "UsageLimitExceeded"


async def test_raise_tool_errors_fails_the_tool_span_and_the_run(traced: Traced) -> None:
    model = ScriptedModel([calls(("explode", {"reason": "x"}))])
    with pytest.raises(ToolExecutionError):
        await Agent(model, tools=[explode], raise_tool_errors=True).run("Try")
    assert attributes(traced.one("execute_tool explode"))["error.type"] == "ToolExecutionError"
    assert attributes(traced.one("invoke_agent"))["error.type"] == "ToolExecutionError"


async def test_every_span_ends_when_a_stream_is_left_while_a_tool_runs(traced: Traced) -> None:
    @tool
    async def slow() -> str:
        """Takes a while."""
        await asyncio.sleep(30)
        return "late"

    model = ScriptedModel([calls(("slow", {})), answer("never")])
    async with Agent(model, tools=[slow]).run_stream("Go") as stream:
        async for event in stream:
            if isinstance(event, ToolCallStarted):
                await asyncio.sleep(0)  # the tool's task starts
                break
    tool_span, run = traced.one("execute_tool slow"), traced.one("invoke_agent")
    assert attributes(tool_span)["agentkit.cancelled"] is True
    assert attributes(run)["agentkit.cancelled"] is True
    assert run.status.status_code is StatusCode.UNSET  # stopping is no error


async def test_every_span_ends_when_the_run_task_is_cancelled_mid_request(traced: Traced) -> None:
    started = asyncio.Event()

    async def respond(messages: list[Message], info: RequestInfo) -> str:
        started.set()
        await asyncio.sleep(30)
        return "never"

    task = asyncio.ensure_future(Agent(FunctionModel(respond)).run("Go"))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert attributes(traced.one("chat function"))["agentkit.cancelled"] is True
    assert attributes(traced.one("invoke_agent"))["agentkit.cancelled"] is True


# --- content and secrets ------------------------------------------------------------------------------------


async def _run_with_content(prompt: str) -> None:
    model = ScriptedModel([calls(("add", {"a": 40, "b": 2})), answer("The sum is 42.")])
    await Agent(model, tools=[add], instructions="You add numbers.").run(prompt)


async def test_content_is_not_recorded_by_default(traced: Traced) -> None:
    await _run_with_content("What is forty plus two?")
    values = every_value(traced.spans)
    assert not [v for v in values if v.split("=")[0] in CONTENT]
    assert not [v for v in values if "forty" in v or "sum is" in v or "You add" in v]


@pytest.mark.parametrize("switch", ["env", "api"])
async def test_content_is_recorded_when_turned_on(
    traced: Traced, monkeypatch: pytest.MonkeyPatch, switch: str
) -> None:
    if switch == "env":
        monkeypatch.setenv(instr.CAPTURE_CONTENT_ENV, "true")
    else:
        instr.configure(tracer_provider=traced.provider, capture_content=True)
    await _run_with_content("What is forty plus two?")
    first, last = sorted(traced.named("chat scripted"), key=lambda s: s.start_time or 0)
    sent = json.loads(str(attributes(last)["gen_ai.input.messages"]))
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "tool"]
    assert sent[1]["parts"] == [{"type": "text", "content": "What is forty plus two?"}]
    assert sent[2]["parts"][0] | {"id": "-"} == {
        "type": "tool_call",
        "id": "-",
        "name": "add",
        "arguments": {"a": 40, "b": 2},
    }
    assert sent[3]["parts"][0]["response"] == "42"
    out = json.loads(str(attributes(last)["gen_ai.output.messages"]))
    assert out == [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": "The sum is 42."}],
            "finish_reason": "stop",
        }
    ]
    assert json.loads(str(attributes(first)["gen_ai.output.messages"]))[0]["finish_reason"] == "tool_call"
    tool_attrs = attributes(traced.one("execute_tool add"))
    assert json.loads(str(tool_attrs["gen_ai.tool.call.arguments"])) == {"a": 40, "b": 2}
    assert tool_attrs["gen_ai.tool.call.result"] == "42"
    run = attributes(traced.one("invoke_agent"))
    assert json.loads(str(run["gen_ai.input.messages"]))[-1]["role"] == "user"
    assert "The sum is 42." in str(run["gen_ai.output.messages"])


async def test_the_api_switch_beats_the_environment(traced: Traced, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(instr.CAPTURE_CONTENT_ENV, "true")
    instr.configure(tracer_provider=traced.provider, capture_content=False)
    await _run_with_content("What is forty plus two?")
    assert not [v for v in every_value(traced.spans) if "forty" in v]


async def test_content_of_images_and_structured_answers(traced: Traced) -> None:
    class Sum(BaseModel):
        total: int

    instr.configure(tracer_provider=traced.provider, capture_content=True)
    prompt = [
        TextPart(text="Sum these"),
        ImagePart(url="https://example.com/a.png"),
        ImagePart.from_bytes(b"\x89PNG", "image/png"),
        DocumentPart.from_url("https://example.com/r.pdf"),
        DocumentPart.from_bytes(b"%PDF-1.4 x"),
        AudioPart.from_bytes(b"ID3 audio"),
    ]
    model = ScriptedModel(
        [tool_call_response("final_result", "{not json"), tool_call_response("final_result", {"total": 3})]
    )
    await Agent(model, output_type=Sum).run(prompt)
    run = attributes(traced.one("invoke_agent"))
    [user] = json.loads(str(run["gen_ai.input.messages"]))
    assert user["parts"] == [
        {"type": "text", "content": "Sum these"},
        {"type": "uri", "modality": "image", "uri": "https://example.com/a.png"},
        {"type": "blob", "modality": "image", "mime_type": "image/png"},
        {"type": "uri", "modality": "document", "uri": "https://example.com/r.pdf"},
        {"type": "blob", "modality": "document", "mime_type": "application/pdf"},  # the bytes are left out
        {"type": "blob", "modality": "audio", "mime_type": "audio/mpeg"},
    ]
    assert json.loads(json.loads(str(run["gen_ai.output.messages"]))[0]["parts"][0]["content"]) == {
        "total": 3
    }
    first = json.loads(str(attributes(traced.named("chat scripted")[0])["gen_ai.output.messages"]))
    assert first[0]["parts"][0]["arguments"] == "{not json"


async def test_the_api_key_is_in_no_span_over_the_real_client(traced: Traced) -> None:
    key = "fake-tracing-test-key-4242-do-not-record"
    instr.configure(tracer_provider=traced.provider, capture_content=True)  # the most that is ever recorded
    with LoopbackServer(model="google/gemini-2.0-flash-001") as server:
        server.add(tool_calls_response([("add", {"a": 1, "b": 2})]), "3", "again")
        model = OpenAIChatModel("google/gemini-2.0-flash-001", base_url=server.base_url, api_key=key)
        agent = Agent(model, tools=[add])
        port = server.port
        agent_messages = (await agent.run("1+2?")).messages
        async with agent.run_stream("Again") as stream:
            [_ async for _ in stream]
        await model.aclose()
    assert len(traced.named("chat google/gemini-2.0-flash-001")) == 3
    assert not [v for v in every_value(traced.spans) if "FAKE-KEY" in v]
    for span in traced.spans:
        for event in span.events:
            assert "FAKE-KEY" not in json.dumps(dict(event.attributes or {}), default=str)
    chats = sorted(traced.named("chat google/gemini-2.0-flash-001"), key=lambda s: s.start_time or 0)
    chat = attributes(chats[0])
    assert chat["gen_ai.provider.name"] == "127.0.0.1", "a server of one's own is named by its host"
    assert chat["server.address"] == "127.0.0.1" and chat["server.port"] == port
    assert chat["gen_ai.response.model"] == "google/gemini-2.0-flash-001"
    first_answer = next(m for m in agent_messages if isinstance(m, AssistantMessage))
    assert first_answer.finish_reason == "TOOL_CALLS", "Gemini's native reason, as OpenRouter sends it"
    assert chat["gen_ai.response.finish_reasons"] == ("tool_call",)
    assert [attributes(c)["gen_ai.response.id"] for c in chats] == ["gen-1", "gen-2", "gen-3"]
    assert first_answer.response_id == "gen-1"
    run = attributes(traced.named("invoke_agent")[0])
    assert run["gen_ai.response.finish_reasons"] == ("stop",)
    assert chat["agentkit.usage.cost_usd"] == pytest.approx(server.usage["cost"])


class BareModel(Model):
    """A model of your own that reports nothing but text."""

    base_url = "/no/host"

    @property
    def model_name(self) -> str:
        return "bare"

    async def request(
        self, messages: Sequence[Message], parameters: ModelRequestParameters, settings: ModelSettings
    ) -> AssistantMessage:
        return AssistantMessage(content="plain")


async def test_what_a_model_does_not_report_is_left_out(traced: Traced) -> None:
    await Agent(BareModel()).run("Hi")
    chat = attributes(traced.one("chat bare"))
    assert chat == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "bare",
        "gen_ai.request.model": "bare",
    }


async def test_cached_input_tokens_are_recorded(traced: Traced) -> None:
    message = answer("hi")
    message.usage = Usage(requests=1, input_tokens=100, cached_input_tokens=80, output_tokens=2)
    await Agent(ScriptedModel([message])).run("Hi")
    for name in ("chat scripted", "invoke_agent"):
        assert attributes(traced.one(name))["gen_ai.usage.cache_read.input_tokens"] == 80


def test_provider_names() -> None:
    provider = instr._provider_name
    assert (
        provider(OpenAIChatModel("m", base_url="https://openrouter.ai/api/v1", api_key="k")) == "openrouter"
    )
    assert provider(OpenAIChatModel("m", base_url="http://localhost:8080/v1")) == "localhost"
    assert provider(OpenAIChatModel("m", base_url="https://api.openai.com/v1", api_key="k")) == "openai"
    assert provider(OpenAIChatModel("m", base_url="https://api.groq.com/openai/v1", api_key="k")) == "groq"
    azure = OpenAIChatModel("m", base_url="https://mine.openai.azure.com/openai/v1", api_key="k")
    assert provider(azure) == "azure.ai.openai"
    assert provider(LocalModel()) == "llama.cpp"
    chain = FallbackModel(OpenAIChatModel("m", base_url="https://openrouter.ai/api/v1", api_key="k"), "x/y")
    assert provider(chain) == "openrouter"
    assert provider(ScriptedModel([])) == "scripted"
    assert provider(FunctionModel(lambda messages, info: "ok")) == "function"
    attrs = instr._model_attributes(
        OpenAIChatModel("m", base_url="https://openrouter.ai/api/v1", api_key="k")
    )
    assert (attrs["server.address"], attrs["server.port"]) == ("openrouter.ai", 443)


# --- off ----------------------------------------------------------------------------------------------------


def test_without_a_configured_provider_a_run_is_not_wrapped(monkeypatch: pytest.MonkeyPatch) -> None:
    if not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):  # pragma: no cover
        pytest.skip("a global tracer provider was set in this process")
    instr.configure()
    assert not instr.is_enabled()
    agent = Agent(ScriptedModel(["hi"]))
    spec, state = agent._start("Hi", {}, stream=False)
    events = instr.traced_run(spec, state)
    assert events.ag_code.co_name == "run_events"  # the loop's own generator: nothing in between
    monkeypatch.delitem(sys.modules, "opentelemetry.trace")  # as if never imported: not even looked up
    assert not instr.is_enabled()
    monkeypatch.undo()
    instr.configure(tracer_provider=trace.NoOpTracerProvider())
    assert not instr.is_enabled()
    instr.configure()


CHECK_OFF = """
import sys
from agentkit import Agent
from agentkit.instrumentation import is_enabled
from agentkit.testing import ScriptedModel

assert Agent(ScriptedModel(["hi"])).run_sync("Hello").output == "hi"
assert not is_enabled()
print(sorted(m for m in sys.modules if m.startswith("opentelemetry")))
"""

CHECK_GLOBAL = """
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from agentkit import Agent
from agentkit.testing import ScriptedModel

exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)
with trace.get_tracer("app").start_as_current_span("app"):
    Agent(ScriptedModel(["hi"]), name="greeter").run_sync("Hello")
spans = {s.name: s for s in exporter.get_finished_spans()}
assert spans["invoke_agent greeter"].parent.span_id == spans["app"].context.span_id
print(sorted(spans))
"""


def _python(code: str) -> str:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    env.pop(instr.CAPTURE_CONTENT_ENV, None)
    env.pop("OTEL_PYTHON_TRACER_PROVIDER", None)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)
    assert run.returncode == 0, run.stderr
    return run.stdout.strip()


def test_a_run_without_opentelemetry_imported_imports_none_of_it() -> None:
    assert _python(CHECK_OFF) == "[]"


def test_a_global_provider_turns_tracing_on_with_no_further_call() -> None:
    assert _python(CHECK_GLOBAL) == "['app', 'chat scripted', 'invoke_agent greeter']"


async def test_a_sub_agents_run_nests_under_the_tool_span_that_runs_it(traced: Traced) -> None:
    researcher = Agent(
        ScriptedModel([calls(("add", {"a": 1, "b": 2})), answer("3")]), name="researcher", tools=[add]
    )
    planner = Agent(
        ScriptedModel([calls(("researcher", {"task": "add 1 and 2"})), answer("It is 3.")]),
        name="planner",
        tools=[researcher.as_tool()],
    )
    await planner.run("go")
    outer = traced.one("invoke_agent planner")
    delegation = traced.one("execute_tool researcher")
    inner = traced.one("invoke_agent researcher")
    assert delegation.parent is not None and delegation.parent.span_id == outer.context.span_id
    assert inner.parent is not None and inner.parent.span_id == delegation.context.span_id
    inner_tool = traced.one("execute_tool add")
    assert inner_tool.parent is not None and inner_tool.parent.span_id == inner.context.span_id
    # the run span's totals include the sub-run's (two requests of each agent: 11 + 20 input tokens each)
    assert attributes(outer)["gen_ai.usage.input_tokens"] == 62
    assert attributes(inner)["gen_ai.usage.input_tokens"] == 31


async def test_a_retried_tool_call_shows_its_attempts_on_its_span_and_the_runs(traced: Traced) -> None:
    from agentkit import RetryPolicy

    attempts: list[int] = []

    @tool(retry=RetryPolicy(exceptions=(ConnectionError,), initial_delay=0, max_delay=0))
    def flaky() -> str:
        """Fails once."""
        attempts.append(1)
        if len(attempts) == 1:
            raise ConnectionError("reset")
        return "ok"

    model = ScriptedModel([calls(("flaky", {}), ("add", {"a": 1, "b": 2})), answer("done")])
    await Agent(model, tools=[flaky, add], name="retrier").run("go")
    assert attributes(traced.one("execute_tool flaky"))["agentkit.tool.attempts"] == 2
    assert "agentkit.tool.attempts" not in attributes(traced.one("execute_tool add"))  # ran once
    assert traced.one("execute_tool flaky").status.status_code is StatusCode.UNSET
    assert attributes(traced.one("invoke_agent retrier"))["agentkit.usage.tool_retries"] == 1


class _Cooler(Hooks):
    """Sends each request with a note added and a lower temperature (the transcript keeps neither)."""

    async def before_request(self, ctx: RunContext[Any], request: ModelRequest) -> ModelRequest:
        note = UserMessage(content="(answer briefly)")
        settings = dataclasses.replace(request.settings, temperature=0.1)
        return request.replace(messages=[*request.messages, note], settings=settings)


def _without_earlier(messages: list[Message]) -> list[Message]:
    """A history processor: leaves out the earlier exchange."""
    return [m for m in messages if not str(m.content).startswith("earlier")]


@pytest.mark.parametrize("stream", [False, True])
async def test_the_chat_span_records_what_was_sent(traced: Traced, stream: bool) -> None:
    """The chat span's input is the request as sent (after the history processors and `before_request`), with
    the settings it was sent with: not the run's transcript and settings."""
    instr.configure(tracer_provider=traced.provider, capture_content=True)
    model = ScriptedModel([answer("Fine.")])
    agent = Agent(
        model,
        instructions="Be kind.",
        hooks=[_Cooler()],
        history_processors=[_without_earlier],
        model_settings=ModelSettings(temperature=0.9, max_tokens=200),
    )
    history: list[Message] = [
        UserMessage(content="earlier question"),
        AssistantMessage(content="earlier answer"),
    ]
    if stream:
        async with agent.run_stream("How are you?", message_history=history) as run:
            async for _ in run:
                pass
        transcript = run.result.messages
    else:
        transcript = (await agent.run("How are you?", message_history=history)).messages
    [sent] = model.requests
    assert len(sent.messages) < len(transcript)  # what was sent is not the transcript
    chat = attributes(traced.one("chat scripted"))
    assert json.loads(str(chat["gen_ai.input.messages"])) == json.loads(instr._messages_json(sent.messages))
    assert [m["role"] for m in json.loads(str(chat["gen_ai.input.messages"]))] == ["system", "user", "user"]
    assert "earlier" not in str(chat["gen_ai.input.messages"])
    assert chat["gen_ai.request.temperature"] == sent.settings.temperature == 0.1
    assert chat["gen_ai.request.max_tokens"] == 200


async def test_a_request_that_fails_before_it_is_sent_records_no_input(traced: Traced) -> None:
    class Broken(Hooks[None]):
        def before_request(self, ctx: RunContext[None], request: ModelRequest) -> None:
            raise RuntimeError("no")

    instr.configure(tracer_provider=traced.provider, capture_content=True)
    with pytest.raises(HookError):
        await Agent(ScriptedModel(["hi"]), hooks=[Broken()]).run("hello")
    chat = traced.one("chat scripted")
    assert chat.status.status_code is StatusCode.ERROR
    assert "gen_ai.input.messages" not in attributes(chat)
