"""Models for tests: a scripted model (queued answers) and a function model (a callable answers)."""

from __future__ import annotations

import inspect
import json
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ..events import ModelStreamEvent, ResponseFinished, TextDelta, ThinkingDelta, ToolCallDelta
from ..exceptions import UserError
from ..messages import AssistantMessage, Message, ToolCall, ToolMessage, UserMessage, unique_call_id
from ..models import Model, ModelRequestParameters
from ..models.profiles import ModelProfile, profile_for
from ..settings import ModelSettings
from ..usage import Usage

__all__ = [
    "FunctionModel",
    "RecordedRequest",
    "RequestInfo",
    "ScriptedModel",
    "last_user_text",
    "text_response",
    "tool_call_response",
    "tool_calls_response",
]

Script = AssistantMessage | str | BaseException


def text_response(text: str) -> AssistantMessage:
    """An answer with text only."""
    return AssistantMessage(content=text)


def tool_call_response(
    name: str, arguments: dict[str, Any] | str | None = None, *, id: str | None = None
) -> AssistantMessage:
    """An answer with one tool call; `arguments` as a dict or raw JSON text."""
    return tool_calls_response([(name, arguments)], ids=[id] if id else None)


def tool_calls_response(
    calls: Sequence[tuple[str, dict[str, Any] | str | None]],
    *,
    ids: Sequence[str] | None = None,
    text: str = "",
) -> AssistantMessage:
    """An answer with several tool calls, in order; ids default to `call_1`, `call_2`... per response."""
    tool_calls = []
    taken: set[str] = set()
    for index, (name, arguments) in enumerate(calls):
        raw = arguments if isinstance(arguments, str) else json.dumps(arguments or {})
        call_id = ids[index] if ids else unique_call_id("", taken)
        tool_calls.append(ToolCall(id=call_id, name=name, arguments=raw))
    return AssistantMessage(content=text, tool_calls=tool_calls)


@dataclass(kw_only=True)
class RecordedRequest:
    """One request a test double received."""

    messages: list[Message]
    parameters: ModelRequestParameters
    settings: ModelSettings

    @property
    def tool_names(self) -> list[str]:
        return [t.name for t in self.parameters.tools]

    @property
    def last_tool_messages(self) -> list[ToolMessage]:
        """The tool results sent with this request (those after the last assistant message)."""
        out: list[ToolMessage] = []
        for message in reversed(self.messages):
            if not isinstance(message, ToolMessage):
                break
            out.insert(0, message)
        return out


def _estimate_usage(messages: Sequence[Message], answer: AssistantMessage, profile: ModelProfile) -> Usage:
    """Deterministic token counts for tests: about 4 characters a token."""
    chars = 0
    for m in messages:
        chars += len(m.content) if isinstance(m.content, str) else len(getattr(m, "text", ""))
    out_chars = len(answer.content) + sum(len(c.name) + len(c.arguments) for c in answer.tool_calls)
    inp, outp = max(1, chars // 4), max(1, out_chars // 4)
    return Usage(requests=1, input_tokens=inp, output_tokens=outp, cost_usd=profile.cost(inp, outp))


def _unique_ids(answer: AssistantMessage, messages: Sequence[Message]) -> AssistantMessage:
    from ..messages import transcript_call_ids
    from ..models._chat_format import unique_tool_calls

    if not answer.tool_calls:
        return answer
    raw = [
        {"id": c.id, "function": {"name": c.name, "arguments": c.arguments}, "extra_content": c.extra_content}
        for c in answer.tool_calls
    ]
    calls = unique_tool_calls(raw, transcript_call_ids(messages))
    return replace(answer, tool_calls=calls)  # its reasoning and the rest kept as scripted


class _DoubleModel(Model):
    def __init__(self, model_name: str, profile: ModelProfile | None, chunk_size: int) -> None:
        if chunk_size < 1:
            raise UserError(f"chunk_size must be at least 1, not {chunk_size}.")
        self._name = model_name
        self._profile = profile
        self.chunk_size = chunk_size
        self.requests: list[RecordedRequest] = []

    async def request_stream(
        self, messages: Sequence[Message], parameters: ModelRequestParameters, settings: ModelSettings
    ) -> AsyncGenerator[ModelStreamEvent, None]:
        """The answer in pieces of `chunk_size` characters: its reasoning, its text, then each call's arguments."""
        answer = await self.request(messages, parameters, settings)
        size = self.chunk_size
        reasoning = answer.reasoning or ""
        for start in range(0, len(reasoning), size):
            yield ThinkingDelta(text=reasoning[start : start + size])
        for start in range(0, len(answer.content), size):
            yield TextDelta(text=answer.content[start : start + size])
        for index, call in enumerate(answer.tool_calls):
            yield ToolCallDelta(index=index, id=call.id, name=call.name, arguments=call.arguments[:size])
            for start in range(size, len(call.arguments), size):
                yield ToolCallDelta(index=index, arguments=call.arguments[start : start + size])
        yield ResponseFinished(message=answer)

    @property
    def model_name(self) -> str:
        return self._name

    @property
    def profile(self) -> ModelProfile:
        return self._profile or profile_for(self._name)

    def _finish(self, messages: Sequence[Message], answer: AssistantMessage | str) -> AssistantMessage:
        if isinstance(answer, str):
            answer = AssistantMessage(content=answer)
        answer = _unique_ids(answer, messages)
        if answer.usage is None:
            answer.usage = _estimate_usage(messages, answer, self.profile)
        if answer.model_name is None:
            answer.model_name = self._name
        return answer


class ScriptedModel(_DoubleModel):
    """Answers each request with the next scripted item: an `AssistantMessage`, a text, or an exception to raise.

    Every request is recorded in `requests`; `assert_all_used()` checks the script was used up. Streamed
    (`agent.run_stream`), each answer comes in pieces of `chunk_size` characters.
    """

    def __init__(
        self,
        script: Iterable[Script],
        *,
        model_name: str = "scripted",
        profile: ModelProfile | None = None,
        chunk_size: int = 8,
    ) -> None:
        super().__init__(model_name, profile, chunk_size)
        self.script: list[Script] = list(script)
        self._next = 0

    async def request(
        self, messages: Sequence[Message], parameters: ModelRequestParameters, settings: ModelSettings
    ) -> AssistantMessage:
        self.requests.append(
            RecordedRequest(messages=list(messages), parameters=parameters, settings=settings)
        )
        if self._next >= len(self.script):
            raise UserError(
                f"ScriptedModel ran out of answers: request {self._next + 1} but only {len(self.script)} scripted."
            )
        item = self.script[self._next]
        self._next += 1
        if isinstance(item, BaseException):
            raise item
        return self._finish(messages, item)

    @property
    def remaining(self) -> int:
        """Scripted answers not used yet."""
        return len(self.script) - self._next

    def assert_all_used(self) -> None:
        """Raise `AssertionError` if some scripted answers were never requested."""
        if self.remaining:
            raise AssertionError(
                f"{self.remaining} scripted answer(s) were not used: {self.script[self._next :]!r}"
            )


@dataclass(kw_only=True)
class RequestInfo:
    """What a `FunctionModel`'s function is told besides the messages."""

    parameters: ModelRequestParameters
    settings: ModelSettings
    request_index: int
    """0 for the first request this model receives."""
    tool_results: list[ToolMessage] = field(default_factory=list)
    """The tool results sent with this request."""

    @property
    def tool_names(self) -> list[str]:
        return [t.name for t in self.parameters.tools]


AnswerFunction = Callable[
    [list[Message], RequestInfo], "AssistantMessage | str | Awaitable[AssistantMessage | str]"
]


class FunctionModel(_DoubleModel):
    """Answers each request by calling `function(messages, info)` (sync or async)."""

    def __init__(
        self,
        function: AnswerFunction,
        *,
        model_name: str = "function",
        profile: ModelProfile | None = None,
        chunk_size: int = 8,
    ) -> None:
        super().__init__(model_name, profile, chunk_size)
        self.function = function

    async def request(
        self, messages: Sequence[Message], parameters: ModelRequestParameters, settings: ModelSettings
    ) -> AssistantMessage:
        recorded = RecordedRequest(messages=list(messages), parameters=parameters, settings=settings)
        self.requests.append(recorded)
        info = RequestInfo(
            parameters=parameters,
            settings=settings,
            request_index=len(self.requests) - 1,
            tool_results=recorded.last_tool_messages,
        )
        answer = self.function(list(messages), info)
        if inspect.isawaitable(answer):
            answer = await answer
        return self._finish(messages, answer)


def last_user_text(messages: Sequence[Message]) -> str:
    """The text of the last user message (handy in `FunctionModel` functions)."""
    for message in reversed(messages):
        if isinstance(message, UserMessage):
            return message.text
    return ""
