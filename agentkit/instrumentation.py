"""OpenTelemetry spans for agent runs, following the GenAI semantic conventions (the `otel` extra).

```
invoke_agent {agent name}   the run (INTERNAL): agent, model, totals of tokens and cost, last finish reason
├── chat {model}            each model request (CLIENT): settings and messages as sent, response id and model,
│                           tokens, cost, finish reason
└── execute_tool {tool}     each tool call (INTERNAL), the current span while the tool runs
```
Tracing is on, with nothing to call, once the application has configured a tracer provider
(`opentelemetry.trace.set_tracer_provider`, or the `opentelemetry-instrument` launcher); otherwise a run
costs one dictionary lookup and imports nothing. `configure()` passes a provider of your own instead, or
turns on message content. Prompts, answers, tool arguments and results are recorded only when content
capture is on (`OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true`, or `configure(capture_content=True)`);
API keys never are. Errors end their span with status ERROR, `error.type` and an exception event: a failed
run, a failed request, a tool that raised (whose error still goes back to the model).

The spans are read from the run's events (`traced_run` wraps `_run.loop.run_events`), plus one hook that runs
each tool call inside its span. No OpenTelemetry context stays attached across a yield: the run's span is
made current only while the run computes its next event.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from collections.abc import AsyncGenerator, Awaitable, Sequence
from contextlib import aclosing
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ._run.loop import run_events
from ._run.state import RunSpec, RunState
from .events import (
    Event,
    FeedbackSent,
    HistoryCompacted,
    RequestStarted,
    ResponseFinished,
    RunFinished,
    ToolCallFinished,
)
from .messages import (
    AssistantMessage,
    AudioPart,
    DocumentPart,
    ImagePart,
    Message,
    ToolMessage,
    UserMessage,
)

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.trace import Span, Tracer, TracerProvider
    from opentelemetry.util.types import AttributeValue

    from ._run.tool_calls import CallOutcome, ValidatedCall
    from .models import Model
    from .usage import Usage

__all__ = ["CAPTURE_CONTENT_ENV", "configure", "is_enabled"]

CAPTURE_CONTENT_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
"""The convention's switch for message content: `true` records prompts, answers, tool arguments and results."""

TRACER_NAME = "agentkit"
COST_ATTRIBUTE = "agentkit.usage.cost_usd"

_FINISH_REASONS = {
    **dict.fromkeys(("stop", "end_turn", "stop_sequence", "eos", "finish_reason_stop"), "stop"),
    **dict.fromkeys(("tool_calls", "tool_call", "function_call", "tool_use"), "tool_call"),
    **dict.fromkeys(("length", "max_tokens", "model_length"), "length"),
    **dict.fromkeys(
        (
            "content_filter",
            "safety",
            "recitation",
            "blocklist",
            "prohibited_content",
            "spii",
            "image_safety",
            "refusal",
        ),
        "content_filter",
    ),
    **dict.fromkeys(("error", "malformed_function_call", "unexpected_tool_call"), "error"),
}
"""Finish reasons as providers send them (OpenAI's, Gemini's native ones, Anthropic's), lower-cased -> the
GenAI conventions' values: `stop`, `tool_call`, `length`, `content_filter`, `error`."""

_PROVIDER_HOSTS = {
    "api.openai.com": "openai",
    "generativelanguage.googleapis.com": "gcp.gemini",
    "api.anthropic.com": "anthropic",
    "api.groq.com": "groq",
    "api.deepseek.com": "deepseek",
    "api.mistral.ai": "mistral_ai",
    "api.x.ai": "x_ai",
    "api.perplexity.ai": "perplexity",
}
"""OpenAI-compatible endpoints of providers the conventions name (`gen_ai.provider.name`)."""

_REQUEST_SETTINGS = {
    "temperature": "gen_ai.request.temperature",
    "top_p": "gen_ai.request.top_p",
    "max_tokens": "gen_ai.request.max_tokens",
    "seed": "gen_ai.request.seed",
    "presence_penalty": "gen_ai.request.presence_penalty",
    "frequency_penalty": "gen_ai.request.frequency_penalty",
}


@dataclasses.dataclass(kw_only=True)
class _Settings:
    tracer_provider: TracerProvider | None = None
    capture_content: bool | None = None
    tracer: tuple[TracerProvider, Tracer] | None = None
    """The tracer last made, and the provider it came from."""


_settings = _Settings()


def configure(*, tracer_provider: TracerProvider | None = None, capture_content: bool | None = None) -> None:
    """Choose the tracer provider and the content capture of every later run (each call replaces the last).

    Args:
        tracer_provider: The provider to trace with, instead of the global one; `None` goes back to the
            global provider. `opentelemetry.trace.NoOpTracerProvider()` turns tracing off.
        capture_content: Record prompts, answers, tool arguments and results (`True`) or not (`False`);
            `None` follows `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT` (off unless `true`).
    """
    _settings.tracer_provider = tracer_provider
    _settings.capture_content = capture_content
    _settings.tracer = None


def is_enabled() -> bool:
    """Whether a run started now would be traced."""
    return _tracer() is not None


def traced_run(spec: RunSpec[Any], state: RunState) -> AsyncGenerator[Event, None]:
    """The run's events (`_run.loop.run_events`), with its spans when tracing is on; the bare events otherwise."""
    tracer = _tracer()
    if tracer is None:
        return run_events(spec, state)
    trace = _RunTrace(tracer, spec, state, capture=_capture_content())
    spec = trace.spec = dataclasses.replace(spec, tool_hook=trace.run_tool)  # the loop adds toolsets' tools
    return trace.events(run_events(spec, state))


def _tracer() -> Tracer | None:
    """The tracer for a run, or `None` when no provider is configured (without importing OpenTelemetry)."""
    provider = _settings.tracer_provider
    if provider is None:
        api = sys.modules.get("opentelemetry.trace")
        if api is None:  # nobody imported OpenTelemetry: no provider can be configured
            return None
        provider = api.get_tracer_provider()
    cached = _settings.tracer
    if cached is not None and cached[0] is provider:
        return cached[1]
    from opentelemetry import trace

    if isinstance(provider, (trace.ProxyTracerProvider, trace.NoOpTracerProvider)):
        return None
    from ._version import __version__

    tracer = provider.get_tracer(TRACER_NAME, __version__)
    _settings.tracer = (provider, tracer)
    return tracer


def _capture_content() -> bool:
    if _settings.capture_content is not None:
        return _settings.capture_content
    return os.environ.get(CAPTURE_CONTENT_ENV, "").strip().lower() == "true"


class _RunTrace:
    """The spans of one run, made as its events pass."""

    def __init__(self, tracer: Tracer, spec: RunSpec[Any], state: RunState, *, capture: bool) -> None:
        from opentelemetry import context, trace

        self.otel_context = context  # imported once per run, not in every step (`from` in a function costs)
        self.otel_trace = trace
        self.tracer = tracer
        self.spec = spec
        self.state = state
        self.capture = capture
        self.model: dict[str, AttributeValue] = _model_attributes(spec.model)
        self.run_context: Context | None = None
        self.chat: Span | None = None
        self.chat_context: Context | None = None
        self.finished = False
        """`RunFinished` went by."""
        self.last_finish: str | None = None
        """The finish reason of the run's last response (the convention's value)."""
        self.ran: set[str] = set()
        """Ids of the calls that ran inside `run_tool` (the others get their span from `ToolCallFinished`)."""

    async def events(self, events: AsyncGenerator[Event, None]) -> AsyncGenerator[Event, None]:
        context, trace = self.otel_context, self.otel_trace
        run = self._start_run()
        self.run_context = trace.set_span_in_context(run)
        try:
            async with aclosing(events):
                while True:
                    current = self.chat_context if self.chat_context is not None else self.run_context
                    token = context.attach(current)
                    try:
                        event = await events.__anext__()
                    except StopAsyncIteration:
                        break
                    finally:
                        context.detach(token)
                    self._see(run, event)
                    yield event
        except BaseException as exc:
            if self.chat is not None:
                self._record_sent(self.chat)
                _record_error(self.chat, exc, capture=self.capture)
            if not self.finished:  # `run()` closes the events once it has the result: no error then
                _record_error(run, exc, capture=self.capture)
            raise
        finally:
            if self.chat is not None:
                self.chat.end()
            run.end()

    def _start_run(self) -> Span:
        name = self.spec.name
        attributes: dict[str, AttributeValue] = {"gen_ai.operation.name": "invoke_agent", **self.model}
        if name:
            attributes["gen_ai.agent.name"] = name
        if not self.spec.output.is_text:
            attributes["gen_ai.output.type"] = "json"
        if self.capture:
            new = self.state.messages[self.state.new_index :]
            attributes["gen_ai.input.messages"] = _messages_json(new)
        title = f"invoke_agent {name}" if name else "invoke_agent"
        return self.tracer.start_span(title, kind=self.otel_trace.SpanKind.INTERNAL, attributes=attributes)

    def _see(self, run: Span, event: Event) -> None:
        if isinstance(event, RequestStarted):
            self._start_chat()
        elif isinstance(event, ResponseFinished):
            self._end_chat(event.message)
        elif isinstance(event, ToolCallFinished) and event.message.tool_call_id not in self.ran:
            self._unrun_call(event.message)
        elif isinstance(event, FeedbackSent):
            run.add_event("agentkit.feedback", {"agentkit.feedback.reason": event.reason})
        elif isinstance(event, HistoryCompacted):
            run.add_event("agentkit.history_compacted", _compaction_attributes(event))
        elif isinstance(event, RunFinished):
            self.finished = True
            if self.last_finish is not None:
                run.set_attribute("gen_ai.response.finish_reasons", [self.last_finish])
            run.set_attributes(_usage_attributes(event.result.usage))
            run.set_attribute("agentkit.usage.requests", event.result.usage.requests)
            run.set_attribute("agentkit.usage.tool_calls", event.result.usage.tool_calls)
            run.set_attribute("agentkit.usage.tool_retries", event.result.usage.tool_retries)
            pending = event.result.pending_approvals
            if pending:  # the run stopped for a person's approval: no answer
                run.set_attribute("agentkit.pending_approvals", [c.name for c in pending])
                run.set_attribute("agentkit.pending_approval_ids", [c.id for c in pending])
            elif self.capture:
                output = event.result.output
                text = output if isinstance(output, str) else _json(_dump(output))
                run.set_attribute("gen_ai.output.messages", _output_json(AssistantMessage(content=text)))

    def _start_chat(self) -> None:
        trace = self.otel_trace
        spec = self.spec
        attributes: dict[str, AttributeValue] = {"gen_ai.operation.name": "chat", **self.model}
        if spec.stream:
            attributes["gen_ai.request.stream"] = True
        if not spec.output.is_text:
            attributes["gen_ai.output.type"] = "json"
        self.chat = self.tracer.start_span(
            f"chat {spec.model.model_name}",
            context=self.run_context,
            kind=self.otel_trace.SpanKind.CLIENT,
            attributes=attributes,
        )
        self.chat_context = trace.set_span_in_context(self.chat, self.run_context)

    def _record_sent(self, chat: Span) -> None:
        """The request as it was sent (`RunState.sent`: after the hooks, the history processors and the fit to
        the window): its settings, and with content capture its messages. Nothing when nothing was sent."""
        sent = self.state.sent
        if sent is None or not chat.is_recording():
            return
        settings = sent.settings
        for field, key in _REQUEST_SETTINGS.items():
            value = getattr(settings, field)
            if value is not None:
                chat.set_attribute(key, value)
        if settings.stop:
            chat.set_attribute("gen_ai.request.stop_sequences", list(settings.stop))
        if self.capture:
            chat.set_attribute("gen_ai.input.messages", _messages_json(sent.messages))

    def _end_chat(self, message: AssistantMessage) -> None:
        chat, self.chat, self.chat_context = self.chat, None, None
        if chat is None:  # pragma: no cover - every response follows its RequestStarted
            return
        self._record_sent(chat)
        if message.response_id:
            chat.set_attribute("gen_ai.response.id", message.response_id)
        if message.model_name:
            chat.set_attribute("gen_ai.response.model", message.model_name)
        self.last_finish = _finish_reason(message)
        if self.last_finish is not None:
            chat.set_attribute("gen_ai.response.finish_reasons", [self.last_finish])
        if message.usage is not None:
            chat.set_attributes(_usage_attributes(message.usage))
        if self.capture:
            chat.set_attribute("gen_ai.output.messages", _output_json(message))
        chat.end()

    async def run_tool(self, call: ValidatedCall, work: Awaitable[CallOutcome]) -> CallOutcome:
        """`_run.loop`'s tool hook: the call runs in its task with its span current, and the span ends with it."""
        context, trace = self.otel_context, self.otel_trace

        self.ran.add(call.call.id)
        description = call.tool.description if call.tool is not None else ""
        span = self._start_tool(call.call.name, call.call.id, call.call.arguments, description)
        token = context.attach(trace.set_span_in_context(span, self.run_context))
        try:
            outcome = await work
        except BaseException as exc:
            _record_error(span, exc, capture=self.capture)
            raise
        else:
            if outcome.attempts > 1:
                span.set_attribute("agentkit.tool.attempts", outcome.attempts)
            self._end_tool(span, outcome.message, outcome.error)
            return outcome
        finally:
            context.detach(token)
            span.end()

    def _unrun_call(self, message: ToolMessage) -> None:
        """A call agentkit answered without running it (invalid arguments, unknown tool, questioned...)."""
        tool = self.spec.tools.get(message.name)
        span = self._start_tool(message.name, message.tool_call_id, None, tool.description if tool else "")
        span.set_attribute("agentkit.tool.executed", False)
        if message.is_error:
            span.set_attribute("error.type", "rejected")
            _set_error_status(span)
        if self.capture:
            span.set_attribute("gen_ai.tool.call.result", message.content)
        span.end()

    def _start_tool(self, name: str, call_id: str, arguments: str | None, description: str) -> Span:
        attributes: dict[str, AttributeValue] = {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": name,
            "gen_ai.tool.call.id": call_id,
            "gen_ai.tool.type": "function",
        }
        if description:
            attributes["gen_ai.tool.description"] = description
        if self.capture and arguments is not None:
            attributes["gen_ai.tool.call.arguments"] = arguments
        return self.tracer.start_span(
            f"execute_tool {name}",
            context=self.run_context,
            kind=self.otel_trace.SpanKind.INTERNAL,
            attributes=attributes,
        )

    def _end_tool(self, span: Span, message: ToolMessage, error: Exception | None) -> None:
        if self.capture:
            span.set_attribute("gen_ai.tool.call.result", message.content)
        if not message.is_error:
            return
        if error is not None:
            _record_error(span, error, capture=self.capture)
        else:  # pragma: no cover - a call that ran fails only by raising
            span.set_attribute("error.type", "_OTHER")
            _set_error_status(span)


def _model_attributes(model: Model) -> dict[str, AttributeValue]:
    attributes: dict[str, AttributeValue] = {
        "gen_ai.provider.name": _provider_name(model),
        "gen_ai.request.model": model.model_name,
    }
    base_url = getattr(model, "base_url", None)
    if isinstance(base_url, str):
        parts = urlsplit(base_url)
        if parts.hostname:
            attributes["server.address"] = parts.hostname
            port = parts.port or (443 if parts.scheme == "https" else 80)
            attributes["server.port"] = port
    return attributes


def _provider_name(model: Model) -> str:
    """`gen_ai.provider.name` for a model: `openrouter`; a provider the conventions name, by its endpoint's
    host (`openai` for api.openai.com, `gcp.gemini`, `groq`...); `llama.cpp` (the local model); else the
    endpoint's host (a server of your own: `localhost`, `vllm.internal`). A `FallbackModel` gives its first
    model's; a model with no endpoint its class's name without `Model` (`scripted`, `function`)."""
    members = getattr(model, "models", None)
    if isinstance(members, list) and members:
        return _provider_name(members[0])
    if type(model).__name__ == "LocalModel":
        return "llama.cpp"
    if getattr(model, "is_openrouter", None) is True:
        return "openrouter"
    base_url = getattr(model, "base_url", None)
    host = urlsplit(base_url).hostname if isinstance(base_url, str) else None
    if host:
        if host.endswith(".openai.azure.com"):
            return "azure.ai.openai"
        return _PROVIDER_HOSTS.get(host, host)
    name = type(model).__name__
    return (name.removesuffix("Model") or name).lower()


def _finish_reason(message: AssistantMessage) -> str | None:
    """The response's finish reason as the conventions name it (`stop`, `tool_call`, `length`,
    `content_filter`, `error`; another provider's reason lower-cased); a response with tool calls that
    says `stop` (Gemini's `STOP`), or nothing, finished with `tool_call`."""
    raw = (message.finish_reason or "").strip().lower()
    reason = _FINISH_REASONS.get(raw, raw) or None
    if message.tool_calls and reason in (None, "stop"):
        return "tool_call"
    return reason


def _compaction_attributes(event: HistoryCompacted) -> dict[str, AttributeValue]:
    return {
        "agentkit.history.processor": event.processor,
        "agentkit.history.messages_before": event.messages_before,
        "agentkit.history.messages_after": event.messages_after,
        "agentkit.history.tokens_before": event.tokens_before,
        "agentkit.history.tokens_after": event.tokens_after,
        "agentkit.history.retry": event.retry,
    }


def _usage_attributes(usage: Usage) -> dict[str, AttributeValue]:
    attributes: dict[str, AttributeValue] = {
        "gen_ai.usage.input_tokens": usage.input_tokens,
        "gen_ai.usage.output_tokens": usage.output_tokens,
        COST_ATTRIBUTE: usage.cost_usd,
    }
    if usage.cached_input_tokens:
        attributes["gen_ai.usage.cache_read.input_tokens"] = usage.cached_input_tokens
    if usage.reasoning_tokens:  # of the output tokens (OpenTelemetry's name, in development)
        attributes["gen_ai.usage.reasoning.output_tokens"] = usage.reasoning_tokens
    return attributes


def _record_error(span: Span, exc: BaseException, *, capture: bool) -> None:
    """Status ERROR, `error.type` and an exception event; a cancelled run or a closed stream is no error.

    An error's text may quote content (a tool's error, the model's invalid answer): it is recorded only
    when content capture is on; otherwise the error's type alone."""
    import asyncio

    if isinstance(exc, (GeneratorExit, asyncio.CancelledError)):
        span.set_attribute("agentkit.cancelled", True)
        return
    kind = type(exc).__qualname__
    span.set_attribute("error.type", kind)
    text = _readable(exc) if capture else None
    if text is not None:
        span.record_exception(exc)
        _set_error_status(span, text or kind)
    else:  # not captured, or an error whose `str()` raises (a tool's): its type alone
        span.add_event("exception", {"exception.type": kind})
        _set_error_status(span, kind)


def _readable(exc: BaseException) -> str | None:
    try:
        return str(exc)
    except Exception:
        return None


def _set_error_status(span: Span, description: str | None = None) -> None:
    from opentelemetry.trace import Status, StatusCode

    span.set_status(Status(StatusCode.ERROR, description))


# --- content (only when capture is on) -------------------------------------------------------------------


def _messages_json(messages: Sequence[Message]) -> str:
    """Messages in the convention's input-messages JSON form."""
    return _json([_message(m) for m in messages])


def _output_json(message: AssistantMessage) -> str:
    entry = _message(message)
    entry["finish_reason"] = _finish_reason(message) or "stop"
    return _json([entry])


def _message(message: Message) -> dict[str, Any]:
    parts: list[dict[str, Any]] = []
    if isinstance(message, UserMessage):
        content = message.content
        for item in [content] if isinstance(content, str) else content:
            if isinstance(item, ImagePart):
                parts.append(_image(item))
            elif isinstance(item, DocumentPart):
                parts.append(_media(item.url, "document"))
            elif isinstance(item, AudioPart):  # the bytes are left out, as for images
                mime_type = "audio/mpeg" if item.format == "mp3" else "audio/wav"
                parts.append({"type": "blob", "modality": "audio", "mime_type": mime_type})
            else:
                parts.append({"type": "text", "content": item if isinstance(item, str) else item.text})
    elif isinstance(message, ToolMessage):
        parts.append({"type": "tool_call_response", "id": message.tool_call_id, "response": message.content})
    elif message.content:
        parts.append({"type": "text", "content": message.content})
    if isinstance(message, AssistantMessage):
        for call in message.tool_calls:
            arguments = _arguments(call.arguments)
            parts.append({"type": "tool_call", "id": call.id, "name": call.name, "arguments": arguments})
    return {"role": message.role, "parts": parts}


def _image(part: ImagePart) -> dict[str, Any]:
    return _media(part.url, "image")


def _media(url: str, modality: str) -> dict[str, Any]:
    if url.startswith("data:"):  # the bytes are left out: a trace is no place for images or documents
        mime_type = url[5:].split(";", 1)[0]
        return {"type": "blob", "modality": modality, "mime_type": mime_type}
    return {"type": "uri", "modality": modality, "uri": url}


def _arguments(text: str) -> Any:
    try:
        return json.loads(text) if text.strip() else {}
    except (ValueError, RecursionError):  # not JSON, or past what the decoder takes (a model's hostile reply)
        return text


def _dump(value: object) -> Any:
    from pydantic_core import to_jsonable_python

    return to_jsonable_python(value, fallback=repr)


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
