"""How `agentkit run` shows a run: plain lines (not a terminal), one JSON object (`--json`), or live in a
terminal (`_terminal`, with rich). Each renderer takes the run's events, then the result or the error.

Plain lines keep stdout for the answer alone (so `agentkit run ... > answer.txt` works) and write what
happens on the way (tool calls, interim text, the usage line, errors) to stderr, without escape codes.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import IO, TYPE_CHECKING, Any

from .._support.unicode import valid_unicode
from ..events import (
    ApprovalRequired,
    Event,
    FeedbackSent,
    GuardrailTriggered,
    HistoryCompacted,
    ResponseFinished,
    SubAgentEvent,
    TextDelta,
    ThinkingDelta,
    ToolCallDenied,
    ToolCallFinished,
    ToolCallStarted,
)
from ..exceptions import AgentRunError, UserError
from ..messages import AssistantMessage, Message, messages_to_json
from ._exit import ExitCode, one_line

if TYPE_CHECKING:
    from ..result import RunResult
    from ..usage import Usage

__all__ = [
    "FEEDBACK_NOTES",
    "JsonRenderer",
    "PlainRenderer",
    "Renderer",
    "add_thinking_argument",
    "answered_by",
    "call_line",
    "compacted_line",
    "dollars",
    "error_line",
    "hook_line",
    "output_text",
    "short_result",
    "tolerant_output",
    "usage_line",
]

_RESULT_CHARS = 100
_ARGUMENT_CHARS = 60
FEEDBACK_NOTES = {
    "empty_response": "the answer was empty; asking again",
    "invalid_output": "the answer did not validate; asking again",
    "answer_questioned": "answer questioned by a check (a hook's check_answer); the model answers again",
}


class Renderer(ABC):
    """Shows one run."""

    def __init__(
        self,
        output_type: Any = str,
        *,
        command: str = "run",
        show_usage: bool = True,
        show_thinking: bool = True,
    ) -> None:
        self.output_type = output_type
        """The agent's output type, to write a structured answer as JSON."""
        self.command = command
        """The command whose name starts error lines (`agentkit run: ...`)."""
        self.show_usage = show_usage
        """End an answer with the usage line (`agentkit chat` keeps it for `/usage`)."""
        self.show_thinking = show_thinking
        """Show a thinking model's reasoning text (`ThinkingDelta`s); `--no-thinking` hides it."""

    @abstractmethod
    def event(self, event: Event) -> None:
        """Show one event, as it happens."""

    @abstractmethod
    def finished(self, result: RunResult[Any], model: str) -> None:
        """Show the answer and what the run cost; `model` answered last."""

    @abstractmethod
    def failed(self, error: Exception, code: ExitCode, model: str) -> None:
        """Show why the run failed (one line) and what it cost up to there: an `AgentRunError`, a
        `UserError`, or any exception the run raised."""

    def stopped(self) -> None:
        """The run was cancelled (Ctrl-C in `agentkit chat`): leave the display tidy."""
        return

    def pause(self) -> None:
        """Someone is about to be asked something on the terminal (`--approve ask`): stop any animation."""
        return


class PlainRenderer(Renderer):
    """Plain lines: the answer on `out`, the way there on `err`; no escape codes."""

    def __init__(
        self,
        output_type: Any = str,
        *,
        out: IO[str] | None = None,
        err: IO[str] | None = None,
        command: str = "run",
        show_usage: bool = True,
        show_thinking: bool = True,
    ):
        super().__init__(output_type, command=command, show_usage=show_usage, show_thinking=show_thinking)
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self._text: list[str] = []
        self._thinking: list[str] = []

    def _note(self, line: str) -> None:
        print(line, file=self.err, flush=True)

    def event(self, event: Event) -> None:
        if isinstance(event, TextDelta):
            self._text.append(event.text)
        elif isinstance(event, ThinkingDelta):
            self._thinking.append(event.text)
        elif isinstance(event, ResponseFinished):
            thinking = "".join(self._thinking).strip()
            if thinking and self.show_thinking:
                self._note(f"thinking: {one_line(thinking)}")
            self._thinking.clear()
            text = "".join(self._text).strip()
            if event.message.tool_calls and text:  # text on the way, not the answer
                self._note(f"model: {one_line(text)}")
            self._text.clear()
        elif isinstance(event, ToolCallStarted):
            self._note(f"-> {call_line(event.call.name, event.arguments)}")
        elif isinstance(event, ToolCallFinished):
            self._note(f"<- {event.message.name}: {short_result(event)}")
        elif isinstance(event, FeedbackSent):
            self._note(f"agentkit: {FEEDBACK_NOTES[event.reason]}")
        elif isinstance(event, ApprovalRequired):
            self._note(f"waiting for approval: {call_line(event.call.name, event.arguments)}")
        elif isinstance(event, HistoryCompacted):
            self._note(compacted_line(event))
        elif (line := hook_line(event)) is not None or (line := nested_line(event)) is not None:
            self._note(line)

    def finished(self, result: RunResult[Any], model: str) -> None:
        print(output_text(result.output, self.output_type), file=self.out, flush=True)
        if self.show_usage:
            self._note(usage_line(result.usage, model))

    def failed(self, error: Exception, code: ExitCode, model: str) -> None:
        usage = error.usage if isinstance(error, AgentRunError) else None
        if usage is not None and usage.requests:
            self._note(usage_line(usage, model, prefix="spent"))
        self._note(error_line(error, self.command))


class JsonRenderer(Renderer):
    """Exactly one JSON object on `out` when the run ends, answered or failed; nothing else there."""

    def __init__(self, output_type: Any = str, *, out: IO[str] | None = None, err: IO[str] | None = None):
        super().__init__(output_type)
        self.out = out or sys.stdout
        self.err = err or sys.stderr

    def event(self, event: Event) -> None:
        return

    def finished(self, result: RunResult[Any], model: str) -> None:
        self._write(
            output=_jsonable(result.output, self.output_type),
            model=model,
            usage=result.usage,
            messages=result.messages,
            error=None,
        )

    def failed(self, error: Exception, code: ExitCode, model: str) -> None:
        messages = error.messages if isinstance(error, AgentRunError) else []
        usage = error.usage if isinstance(error, AgentRunError) else None
        self._write(
            output=None,
            model=model,
            usage=usage,
            messages=messages,
            error={"type": type(error).__name__, "message": error_text(error), "exit_code": int(code)},
        )
        print(error_line(error), file=self.err, flush=True)

    def _write(
        self, *, output: Any, model: str, usage: Usage | None, messages: list[Message], error: Any
    ) -> None:
        document = {
            "output": output,
            "model": model,
            "usage": _usage_dict(usage),
            "messages": json.loads(messages_to_json(messages)),
            "error": error,
        }
        # one object in every case: lone surrogates (a reply's "\\udcff") are written as U+FFFD
        print(json.dumps(valid_unicode(document), ensure_ascii=False), file=self.out, flush=True)


def tolerant_output() -> None:
    """Text stdout's or stderr's encoding cannot write (a lone surrogate in a reply, `\\udcff`) is shown as
    `?` instead of failing the command after the answer came."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="replace")


def add_thinking_argument(parser: argparse.ArgumentParser) -> None:
    """Add `--no-thinking` to `parser`."""
    parser.add_argument(
        "--no-thinking",
        action="store_true",
        help="hide the model's thinking (thinking models show it dimmed, or on stderr as 'thinking:' lines)",
    )


def answered_by(messages: list[Message], default: str) -> str:
    """The model that wrote the last answer (as the provider reported it), else `default`."""
    for message in reversed(messages):
        if isinstance(message, AssistantMessage) and message.model_name:
            return message.model_name
    return default


def nested_line(event: Event) -> str | None:
    """A sub-agent's tool call or result (`Agent.as_tool`) on one line, `agent: -> call`, or `None`."""
    path: list[str] = []
    while isinstance(event, SubAgentEvent):
        path.append(event.agent_name)
        event = event.event
    if not path:
        return None
    where = "/".join(path)
    if isinstance(event, ToolCallStarted):
        return f"  {where}: -> {call_line(event.call.name, event.arguments)}"
    if isinstance(event, ToolCallFinished):
        return f"  {where}: <- {event.message.name}: {short_result(event)}"
    if (line := hook_line(event)) is not None:
        return f"  {where}: {line}"
    return None


def hook_line(event: Event) -> str | None:
    """A hook's decision on one line (a denied call, a tripped guardrail), or `None`."""
    if isinstance(event, ToolCallDenied):
        try:
            arguments = json.loads(event.call.arguments or "{}")
        except ValueError:  # what the model wrote, not JSON
            arguments = None
        shown = call_line(event.call.name, arguments if isinstance(arguments, dict) else {})
        return f"denied: {shown}: {one_line(event.reason)}"
    if isinstance(event, GuardrailTriggered):
        return f"{event.guardrail_kind} guardrail {event.guardrail} tripped: {one_line(event.reason)}"
    return None


def compacted_line(event: HistoryCompacted) -> str:
    """`context: 412 -> 37 messages, ~61,240 -> ~27,100 tokens (context_window)`."""
    why = f"{event.processor}, after the provider refused it as too long" if event.retry else event.processor
    return (
        f"context: {event.messages_before} -> {event.messages_after} messages, ~{event.tokens_before:,} -> "
        f"~{event.tokens_after:,} tokens ({why})"
    )


def call_line(name: str, arguments: Mapping[str, Any]) -> str:
    """`name(key=value, ...)`, values as JSON, long ones cut."""
    shown = []
    for key, value in arguments.items():
        text = json.dumps(value, ensure_ascii=False, default=str)
        if len(text) > _ARGUMENT_CHARS:
            text = text[: _ARGUMENT_CHARS - 3] + "..."
        shown.append(f"{key}={text}")
    return f"{name}({', '.join(shown)})"


def short_result(event: ToolCallFinished) -> str:
    """The start of a tool's result on one line, with how long it took and its attempts (or `error:`)."""
    text = one_line(event.message.content)
    if len(text) > _RESULT_CHARS:
        text = text[: _RESULT_CHARS - 3] + "..."
    prefix = "error: " if event.is_error else ""
    attempts = f", {event.attempts} attempts" if event.attempts > 1 else ""
    return f"{prefix}{text} ({event.duration_s:.2f} s{attempts})"


def dollars(cost: float) -> str:
    """`$0.0000084`, `$1.25`, `$0`: no exponent, no trailing zeros."""
    return "$" + (f"{cost:.8f}".rstrip("0").rstrip(".") or "0")


def usage_line(usage: Usage, model: str, *, prefix: str = "done") -> str:
    """`done: 2 requests, 36 tokens (22 in, 14 out), 1 tool call, $0.0000084, google/gemini-2.0-flash-001`."""
    calls = f", {_count(usage.tool_calls, 'tool call')}" if usage.tool_calls else ""
    return (
        f"{prefix}: {_count(usage.requests, 'request')}, {_count(usage.total_tokens, 'token')} "
        f"({usage.input_tokens} in, {usage.output_tokens} out){calls}, {dollars(usage.cost_usd)}, {model}"
    )


def error_line(error: Exception, command: str = "run") -> str:
    """`agentkit run: ModelAPIError: ...` (`error:` for misuse found during the run), on one line."""
    kind = "error" if isinstance(error, UserError) and not isinstance(error, AgentRunError) else None
    return f"agentkit {command}: {kind or type(error).__name__}: {one_line(error_text(error))}"


def error_text(error: BaseException) -> str:
    """`str(error)`, or a note that it could not be read (an exception whose `__str__` raises)."""
    try:
        return str(error)
    except Exception:
        return f"(the message of this {type(error).__name__} could not be read)"


def output_text(output: Any, output_type: Any) -> str:
    """The answer as printed: text as is, a structured answer as indented JSON."""
    if isinstance(output, str):
        return output
    return json.dumps(_jsonable(output, output_type), ensure_ascii=False, indent=2)


def _jsonable(output: Any, output_type: Any) -> Any:
    if isinstance(output, str):
        return output
    from pydantic import TypeAdapter

    return TypeAdapter(output_type).dump_python(output, mode="json")


def _usage_dict(usage: Usage | None) -> dict[str, Any] | None:
    if usage is None:
        return None
    from dataclasses import asdict

    return {**asdict(usage), "total_tokens": usage.total_tokens}


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
