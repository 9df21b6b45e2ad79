"""What each request of a run sends: the run's history processors, then the fit to the context window.

```
request_fitted / stream_fitted     the loop's one call site, in place of Model.request / request_stream
  prepare                          the processors in order (each checked), then fit_window; one
                                   HistoryCompacted per step that changed what is sent
  send                             the request; refused as too long ("context length exceeded"): fit again
                                   to half the estimate (the newest results elided too) and retry once
```
The transcript (`RunState.messages`) is never changed: processors get a copy of the list and return another.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .context import RunContext
from .events import HistoryCompacted, ModelStreamEvent
from .exceptions import ModelAPIError, UserError
from .history import (
    CurrentRun,
    HistoryProcessor,
    current_run,
    drop_to_budget,
    elided,
    estimate_tokens,
    message_tokens,
    units,
    worth_eliding,
)
from .messages import AssistantMessage, Message, ToolMessage
from .models._errors import context_limit, is_context_overflow
from .usage import UsageView

if TYPE_CHECKING:
    from ._run_state import RunSpec, RunState
    from .models import ModelProfile, ModelRequestParameters

__all__ = [
    "DEFAULT_OUTPUT_RESERVE",
    "Processor",
    "fit_window",
    "prepare_processors",
    "request_fitted",
    "stream_fitted",
    "window_budget",
]

DEFAULT_OUTPUT_RESERVE = 4_096
"""Tokens left for the answer when neither `ModelSettings.max_tokens` nor the profile's
`max_output_tokens` says (and at most a quarter of the window)."""
SAFETY = 0.9
"""Of the window left after the answer's reserve, the share the estimate may fill (estimates err)."""
FIT = "context_window"
"""The name the fit to the context window has in `HistoryCompacted.processor`."""
ELIDE_MIN_CHARS = 200
"""When fitting, tool results this short stay whole."""


@dataclass(frozen=True)
class Processor:
    """A history processor, its signature read once."""

    function: HistoryProcessor
    takes_ctx: bool
    name: str


def prepare_processors(items: Sequence[HistoryProcessor], where: str) -> tuple[Processor, ...]:
    """The processors given to `Agent(...)` or a run (`where` names which), their signatures read."""
    if callable(items) or isinstance(items, (str, bytes)):
        raise UserError(f"{where} takes a list of history processors, not one: history_processors=[f].")
    return tuple(_processor(item, where) for item in items)


def _processor(function: Any, where: str) -> Processor:
    name = getattr(function, "__name__", None) or type(function).__name__
    if not callable(function):
        raise UserError(f"{where}: {function!r} is not callable; a history processor is a function.")
    try:
        parameters = list(inspect.signature(function).parameters.values())
    except (TypeError, ValueError):  # a builtin without a signature: assume (messages)
        return Processor(function=function, takes_ctx=False, name=name)
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required = [p for p in positional if p.default is p.empty]
    if any(p.kind is p.VAR_POSITIONAL for p in parameters) or len(required) in (1, 2):
        return Processor(function=function, takes_ctx=len(required) == 2, name=name)
    raise UserError(
        f"{where}: the history processor {name} takes {len(required)} arguments; it takes (messages) or "
        "(ctx, messages) and returns the messages to send."
    )


def window_budget(profile: ModelProfile, *, max_tokens: int | None, learned: int | None = None) -> int | None:
    """The tokens a request may take: the context window (the profile's, or a smaller one `learned` from a
    refusal) less the answer's reserve (`max_tokens`, else the profile's `max_output_tokens` or
    `DEFAULT_OUTPUT_RESERVE`, at most a quarter of the window), at `SAFETY`; `None` when it is unknown."""
    known = [w for w in (profile.context_window, learned) if w]
    if not known:
        return None
    window = min(known)
    reserve = max_tokens or min(profile.max_output_tokens or DEFAULT_OUTPUT_RESERVE, window // 4)
    return max(int((window - reserve) * SAFETY), 1)


async def request_fitted(
    spec: RunSpec[Any], state: RunState, parameters: ModelRequestParameters
) -> tuple[AssistantMessage, list[HistoryCompacted]]:
    """`Model.request` with what the history processors and the window leave of the transcript."""
    sent, events = await prepare(spec, state, parameters)
    try:
        return await spec.model.request(sent, parameters, spec.settings), events
    except ModelAPIError as exc:
        smaller = _after_refusal(spec, state, parameters, sent, exc)
        if smaller is None:
            raise
        events.append(smaller[1])
        return await spec.model.request(smaller[0], parameters, spec.settings), events


async def stream_fitted(
    spec: RunSpec[Any], state: RunState, parameters: ModelRequestParameters
) -> AsyncGenerator[ModelStreamEvent | HistoryCompacted, None]:
    """`Model.request_stream`, likewise (retried only when the refusal comes before the first event)."""
    sent, events = await prepare(spec, state, parameters)
    for event in events:
        yield event
    started = False
    try:
        async with aclosing(spec.model.request_stream(sent, parameters, spec.settings)) as stream:
            async for item in stream:
                started = True
                yield item
        return
    except ModelAPIError as exc:
        smaller = None if started else _after_refusal(spec, state, parameters, sent, exc)
        if smaller is None:
            raise
    yield smaller[1]
    async with aclosing(spec.model.request_stream(smaller[0], parameters, spec.settings)) as stream:
        async for item in stream:
            yield item


async def prepare(
    spec: RunSpec[Any], state: RunState, parameters: ModelRequestParameters
) -> tuple[list[Message], list[HistoryCompacted]]:
    """The messages to send, and an event for each step that changed them."""
    events: list[HistoryCompacted] = []
    messages = state.messages
    if spec.history_processors:
        messages = await _apply(spec, state, parameters, events)
    limit = window_budget(
        spec.model.profile, max_tokens=spec.settings.max_tokens, learned=state.context_limit
    )
    if limit is not None:
        fitted, event = fit_window(messages, parameters, limit, processor=FIT)
        if event is not None:
            messages = fitted
            events.append(event)
    return messages, events


async def _apply(
    spec: RunSpec[Any], state: RunState, parameters: ModelRequestParameters, events: list[HistoryCompacted]
) -> list[Message]:
    ctx = RunContext(
        deps=spec.deps,
        usage=UsageView(state.usage),
        messages=state.messages,
        model_name=spec.model.model_name,
        run_step=state.turn,
        agent_name=spec.name,
    )
    token = current_run.set(CurrentRun(model=spec.model, settings=spec.settings, charge=state.charge))
    try:
        messages = state.messages
        for processor in spec.history_processors:
            given = list(messages)
            out = processor.function(ctx, given) if processor.takes_ctx else processor.function(given)  # type: ignore[call-arg,arg-type]
            if inspect.isawaitable(out):
                out = await out
            out = _checked(out, messages, processor.name)
            if len(out) != len(messages) or any(a is not b for a, b in zip(out, messages, strict=True)):
                events.append(_event(processor.name, messages, out, parameters))
            messages = out
        return messages
    finally:
        current_run.reset(token)


def _checked(out: object, given: list[Message], name: str) -> list[Message]:
    """`out` if it is a transcript the wire can take, else a `UserError` saying what `name` got wrong."""
    from .messages import SystemMessage, UserMessage

    kinds = (SystemMessage, UserMessage, AssistantMessage, ToolMessage)
    if not isinstance(out, list) or not all(isinstance(m, kinds) for m in out):
        raise UserError(
            f"The history processor {name} returned {type(out).__name__}; return a list of messages."
        )
    if not out:
        raise UserError(f"The history processor {name} returned no messages; keep at least the prompt.")
    results = {m.tool_call_id for m in given if isinstance(m, ToolMessage)}
    calls: set[str] = set()
    kept: set[str] = set()
    for message in out:
        if isinstance(message, AssistantMessage):
            calls.update(c.id for c in message.tool_calls)
        elif isinstance(message, ToolMessage):
            if message.tool_call_id not in calls:
                raise UserError(
                    f"The history processor {name} kept the result of call {message.tool_call_id!r} "
                    f"({message.name}) without the assistant message that made the call; keep or drop "
                    "a turn whole."
                )
            kept.add(message.tool_call_id)
    split = (calls & results) - kept
    if split:
        raise UserError(
            f"The history processor {name} dropped the result of call {sorted(split)[0]!r} but kept the call; "
            "keep or drop a turn whole."
        )
    return out


def fit_window(
    messages: list[Message],
    parameters: ModelRequestParameters,
    limit: int,
    *,
    processor: str,
    harder: bool = False,
    retry: bool = False,
) -> tuple[list[Message], HistoryCompacted | None]:
    """`messages` fitted within `limit` tokens (tools and response format counted): old tool results
    elided first, oldest first (the newest turn's too when `harder`), then the oldest turns dropped. The
    event is `None` when nothing had to change."""
    fixed = estimate_tokens((), tools=parameters.tools, response_format=parameters.response_format)
    sizes = [message_tokens(m) for m in messages]
    total = before = fixed + sum(sizes)
    if total <= limit:
        return messages, None
    out = list(messages)
    newest = units(out)[-1].start if out else 0
    for index, message in enumerate(out):
        if total <= limit:
            break
        if (harder or index < newest) and worth_eliding(message, ELIDE_MIN_CHARS):
            assert isinstance(message, ToolMessage)
            out[index] = elided(message)
            size = message_tokens(out[index])
            total += size - sizes[index]
            sizes[index] = size
    out, sizes, total = drop_to_budget(out, sizes, total, limit)
    return out, HistoryCompacted(
        processor=processor,
        messages_before=len(messages),
        messages_after=len(out),
        tokens_before=before,
        tokens_after=total,
        retry=retry,
    )


def _after_refusal(
    spec: RunSpec[Any],
    state: RunState,
    parameters: ModelRequestParameters,
    sent: list[Message],
    exc: ModelAPIError,
) -> tuple[list[Message], HistoryCompacted] | None:
    """After a "context length exceeded" refusal: the messages fitted to half of what was sent (the window
    the error states, or what was sent, is remembered for the run's later requests); `None` for any other
    error, or when nothing is left to take out."""
    if not is_context_overflow(exc.status_code, exc.code, exc.message):
        return None
    estimated = estimate_tokens(sent, tools=parameters.tools, response_format=parameters.response_format)
    stated = context_limit(exc.message, exc.body)
    learned = stated if stated is not None and stated < estimated else estimated
    state.context_limit = min(state.context_limit or learned, learned)
    fitted, event = fit_window(sent, parameters, estimated // 2, processor=FIT, harder=True, retry=True)
    if event is None or event.tokens_after >= estimated:
        return None
    return fitted, event


def _event(
    name: str, before: list[Message], after: list[Message], parameters: ModelRequestParameters
) -> HistoryCompacted:
    fixed = estimate_tokens((), tools=parameters.tools, response_format=parameters.response_format)
    return HistoryCompacted(
        processor=name,
        messages_before=len(before),
        messages_after=len(after),
        tokens_before=fixed + estimate_tokens(before),
        tokens_after=fixed + estimate_tokens(after),
    )
