"""What each request of a run sends: the run's history processors, then the fit to the context window.

```
request_fitted / stream_fitted     the loop's one call site, in place of Model.request / request_stream
  prepare                          the processors in order (each checked), then fit_window; one
                                   HistoryCompacted per step that changed what is sent
  send                             the request; refused as too long ("context length exceeded"): fit again
                                   to half the estimate (the newest results elided too) and retry once
  calibrate                        the provider's count of the request over the estimate scales the
                                   next estimates
```
The transcript (`RunState.messages`) is never changed: processors get a copy of the list and return another.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..context import RunContext
from ..events import HistoryCompacted, ModelStreamEvent, ResponseFinished
from ..exceptions import ModelAPIError, UserError
from ..history import (
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
from ..messages import AssistantMessage, Message, ToolMessage
from ..models._errors import context_limit, is_context_overflow
from ..settings import ModelSettings
from ..usage import UsageView
from .hook_runner import call_user

if TYPE_CHECKING:
    from ..models import ModelProfile, ModelRequestParameters
    from .state import RunSpec, RunState

__all__ = [
    "DEFAULT_OUTPUT_RESERVE",
    "Processor",
    "Request",
    "SentRequest",
    "calibrate",
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
CALIBRATE_MIN_TOKENS = 1_000
RATIO_RANGE = (0.25, 4.0)


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


@dataclass(frozen=True)
class SentRequest:
    """One request as it went to the model: after the `before_request` hooks, the history processors and the
    fit to the context window (a request sent again smaller after a refusal: as sent again)."""

    messages: Sequence[Message]
    settings: ModelSettings


@dataclass(kw_only=True)
class Request:
    """What one request sends."""

    messages: list[Message]
    tokens: int | None = None
    """agentkit's estimate of the request (tools included), when it was fitted to a window."""
    events: list[HistoryCompacted]


async def request_fitted(
    spec: RunSpec[Any],
    state: RunState,
    parameters: ModelRequestParameters,
    messages: Sequence[Message],
    settings: ModelSettings,
) -> tuple[AssistantMessage, list[HistoryCompacted]]:
    """`Model.request` with what the history processors and the window leave of `messages` (the transcript,
    as the run's hooks left it for this request)."""
    sent = await prepare(spec, state, parameters, messages, settings)
    try:
        response = await spec.model.request(_sending(state, sent, settings), parameters, settings)
    except ModelAPIError as exc:
        smaller = _after_refusal(spec, state, parameters, sent.messages, exc)
        if smaller is None:
            raise
        smaller.events[:0] = sent.events
        sent = smaller
        response = await spec.model.request(_sending(state, sent, settings), parameters, settings)
    calibrate(state, sent.tokens, response)
    return response, sent.events


async def stream_fitted(
    spec: RunSpec[Any],
    state: RunState,
    parameters: ModelRequestParameters,
    messages: Sequence[Message],
    settings: ModelSettings,
) -> AsyncGenerator[ModelStreamEvent | HistoryCompacted, None]:
    """`Model.request_stream`, likewise (retried only when the refusal comes before the first event)."""
    sent = await prepare(spec, state, parameters, messages, settings)
    for event in sent.events:
        yield event
    started = False
    try:
        sending = _sending(state, sent, settings)
        async with aclosing(spec.model.request_stream(sending, parameters, settings)) as stream:
            async for item in stream:
                started = True
                if isinstance(item, ResponseFinished):
                    calibrate(state, sent.tokens, item.message)
                yield item
        return
    except ModelAPIError as exc:
        smaller = None if started else _after_refusal(spec, state, parameters, sent.messages, exc)
        if smaller is None:
            raise
    yield smaller.events[0]
    sending = _sending(state, smaller, settings)
    async with aclosing(spec.model.request_stream(sending, parameters, settings)) as stream:
        async for item in stream:
            if isinstance(item, ResponseFinished):
                calibrate(state, smaller.tokens, item.message)
            yield item


def _sending(state: RunState, request: Request, settings: ModelSettings) -> list[Message]:
    """`request`'s messages, noted as what the run's current request sends (`RunState.sent`)."""
    state.sent = SentRequest(messages=request.messages, settings=settings)
    return request.messages


async def prepare(
    spec: RunSpec[Any],
    state: RunState,
    parameters: ModelRequestParameters,
    messages: Sequence[Message],
    settings: ModelSettings,
) -> Request:
    """The messages to send (from `messages`), and an event for each step that changed them."""
    events: list[HistoryCompacted] = []
    messages = list(messages)
    if spec.history_processors:
        messages = await _apply(spec, state, parameters, messages, events)
    limit = window_budget(spec.model.profile, max_tokens=settings.max_tokens, learned=state.context_limit)
    if limit is None:
        return Request(messages=messages, events=events)
    fitted = fit_window(messages, parameters, max(int(limit / state.token_ratio), 1), processor=FIT)
    fitted.events[:0] = events
    return fitted


def calibrate(state: RunState, tokens: int | None, response: AssistantMessage) -> None:
    """Learn how the provider counts: its count of a request (`prompt_tokens`) over agentkit's estimate
    scales the estimates of the run's next requests (`RunState.token_ratio`). Taken only from requests
    of `CALIBRATE_MIN_TOKENS` or more, and only a ratio within `RATIO_RANGE` (a server that reports no
    real count is not believed)."""
    usage = response.usage
    if tokens is None or tokens < CALIBRATE_MIN_TOKENS or usage is None:
        return
    ratio = usage.input_tokens / tokens
    if RATIO_RANGE[0] <= ratio <= RATIO_RANGE[1]:
        state.token_ratio = ratio


async def _apply(
    spec: RunSpec[Any],
    state: RunState,
    parameters: ModelRequestParameters,
    messages: list[Message],
    events: list[HistoryCompacted],
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
        for processor in spec.history_processors:
            given = list(messages)
            args = (ctx, given) if processor.takes_ctx else (given,)
            out = await call_user(f"history processor {processor.name!r}", processor.function, *args)
            out = _checked(out, messages, processor.name)
            if len(out) != len(messages) or any(a is not b for a, b in zip(out, messages, strict=True)):
                events.append(_event(processor.name, messages, out, parameters))
            messages = out
        return messages
    finally:
        current_run.reset(token)


def _checked(out: object, given: list[Message], name: str) -> list[Message]:
    """`out` if it is a transcript the wire can take, else a `UserError` saying what `name` got wrong
    (what was already wrong in `given`, a history passed in, is not its fault)."""
    from ..messages import SystemMessage, UserMessage

    kinds = (SystemMessage, UserMessage, AssistantMessage, ToolMessage)
    if not isinstance(out, list) or not all(isinstance(m, kinds) for m in out):
        raise UserError(
            f"The history processor {name} returned {type(out).__name__}; return a list of messages."
        )
    if not out:
        raise UserError(f"The history processor {name} returned no messages; keep at least the prompt.")
    was_stray, was_paired = _pairing(given)
    stray, paired = _pairing(out)
    if stray - was_stray:
        raise UserError(
            f"The history processor {name} sent the result of call {sorted(stray - was_stray)[0]!r} without "
            "the assistant message that made the call right before it; keep or drop a turn whole."
        )
    calls = {i for m in out if isinstance(m, AssistantMessage) for i in _ids(m)}
    split = (was_paired - paired) & calls
    if split:
        raise UserError(
            f"The history processor {name} dropped the result of call {sorted(split)[0]!r} but kept the call; "
            "keep or drop a turn whole."
        )
    return out


def _pairing(messages: list[Message]) -> tuple[set[str], set[str]]:
    """The ids of the results that do not follow their call (after the call's message and its turn's other
    results), and of those that do."""
    strays: set[str] = set()
    paired: set[str] = set()
    turn: set[str] = set()
    for message in messages:
        if isinstance(message, ToolMessage):
            (paired if message.tool_call_id in turn else strays).add(message.tool_call_id)
        else:
            turn = _ids(message) if isinstance(message, AssistantMessage) else set()
    return strays, paired


def _ids(message: AssistantMessage) -> set[str]:
    return {c.id for c in message.tool_calls}


def fit_window(
    messages: list[Message],
    parameters: ModelRequestParameters,
    limit: int,
    *,
    processor: str,
    harder: bool = False,
    retry: bool = False,
) -> Request:
    """`messages` fitted within `limit` tokens (tools and response format counted): old tool results
    elided first, oldest first (the newest turn's too when `harder`), then the oldest turns dropped; with
    one event when something had to change."""
    fixed = _fixed_tokens(parameters)
    sizes = [message_tokens(m) for m in messages]
    total = before = fixed + sum(sizes)
    if total <= limit:
        return Request(messages=messages, tokens=total, events=[])
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
    event = HistoryCompacted(
        processor=processor,
        messages_before=len(messages),
        messages_after=len(out),
        tokens_before=before,
        tokens_after=total,
        retry=retry,
    )
    return Request(messages=out, tokens=total, events=[event])


_FIXED_CACHE_SIZE = 1_024
_FIXED: dict[int, tuple[object, object, int]] = {}
"""The tokens of a request's tools and response format, by the identity of its tools (the same each
request of a run), kept with the objects counted so an id is never mistaken for another's."""


def _fixed_tokens(parameters: ModelRequestParameters) -> int:
    tools, fmt = parameters.tools, parameters.response_format
    cached = _FIXED.get(id(tools))
    if cached is not None and cached[0] is tools and cached[1] is fmt:
        return cached[2]
    tokens = estimate_tokens((), tools=tools, response_format=fmt)
    if len(_FIXED) >= _FIXED_CACHE_SIZE:
        _FIXED.clear()
    _FIXED[id(tools)] = (tools, fmt, tokens)
    return tokens


def _after_refusal(
    spec: RunSpec[Any],
    state: RunState,
    parameters: ModelRequestParameters,
    sent: list[Message],
    exc: ModelAPIError,
) -> Request | None:
    """After a "context length exceeded" refusal: the messages fitted to half of what was sent (the window
    the error states, or what was sent, is remembered for the run's later requests); `None` for any other
    error, or when nothing is left to take out."""
    if not is_context_overflow(exc.status_code, exc.code, exc.message):
        return None
    estimated = estimate_tokens(sent, tools=parameters.tools, response_format=parameters.response_format)
    stated = context_limit(exc.message, exc.body)
    learned = stated if stated is not None and stated < estimated else estimated
    state.context_limit = min(state.context_limit or learned, learned)
    fitted = fit_window(sent, parameters, estimated // 2, processor=FIT, harder=True, retry=True)
    if not fitted.events or fitted.events[0].tokens_after >= estimated:
        return None
    return fitted


def _event(
    name: str, before: list[Message], after: list[Message], parameters: ModelRequestParameters
) -> HistoryCompacted:
    fixed = _fixed_tokens(parameters)
    return HistoryCompacted(
        processor=name,
        messages_before=len(before),
        messages_after=len(after),
        tokens_before=fixed + estimate_tokens(before),
        tokens_after=fixed + estimate_tokens(after),
    )
