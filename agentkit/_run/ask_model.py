"""The model's part of a turn: `AskModel` (check the limits, send the transcript, stream the answer) and
`TakeAnswer` (question the answer through the hooks, validate it as the output). Steps of `loop`: each
yields the run's events and, last, the step that comes next.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing
from typing import Any

from ..events import (
    Event,
    FeedbackReason,
    FeedbackSent,
    HistoryCompacted,
    ModelStreamEvent,
    OutputDelta,
    RequestStarted,
    ResponseFinished,
    TextDelta,
    ToolCallDelta,
)
from ..exceptions import ToolArgumentsError, UnexpectedModelBehavior, UsageLimitExceeded
from ..messages import AssistantMessage, Message, UserMessage
from ..models import ModelRequestParameters
from ..settings import ModelSettings
from .history import request_fitted, stream_fitted
from .hook_runner import guarded, step_tools
from .output import FINAL_RESULT_TOOL
from .state import AskModel, End, RunSpec, RunState, RunTools, Step, TakeAnswer, request_parameters

__all__ = ["ask_model", "take_answer"]

EMPTY_RESPONSE_NUDGE = (
    "Your last response was empty{detail}. Answer the request: call a tool with valid JSON arguments, or reply "
    "with the final answer."
)
ANSWER_WITH_TOOL = f"Give your final answer by calling the {FINAL_RESULT_TOOL} tool."


async def ask_model(
    spec: RunSpec[Any], state: RunState, parameters: ModelRequestParameters
) -> AsyncGenerator[Event | Step, None]:
    if state.turn >= spec.max_turns:
        raise UsageLimitExceeded(f"The run reached max_turns={spec.max_turns} without a final answer.")
    limit = state.exceeded(spec.limits)  # a run inside a tool may have spent the budget meanwhile
    if limit:
        raise UsageLimitExceeded(f"Usage limit exceeded: {limit}.")
    state.turn += 1
    state.sent = None
    yield RequestStarted(turn=state.turn, model_name=spec.model.model_name, agent_name=spec.name)
    asked = parameters
    if spec.prepare_tools is not None:
        state.step_tools = await step_tools(spec, state, spec.prepare_tools)
        asked = request_parameters(spec, state.step_tools)
    if state.answer_now and spec.output.is_text:
        asked = dataclasses.replace(asked, tool_choice="none")
    state.answer_now = False  # for this request only: feedback on its answer may ask for a call again
    messages: Sequence[Message] = state.messages
    settings, guard = spec.settings, None
    if spec.hooks is not None:
        messages, asked, settings = await spec.hooks.request(spec, state, asked)
        guard = spec.hooks.guard_first_request(spec, state)
    response = None
    stream = (
        _streamed(spec, state, asked, messages, settings)
        if spec.stream
        else _requested(spec, state, asked, messages, settings)
    )
    async with aclosing(stream if guard is None else guarded(stream, guard, state)) as events:
        async for event in events:
            if isinstance(event, ResponseFinished):
                response = event.message
            else:
                yield event
    if response is None:
        raise UnexpectedModelBehavior(f"{spec.model.describe()} ended its stream without a response.")
    state.charge_response(response)
    yield ResponseFinished(message=response)
    if spec.hooks is not None:
        try:
            await spec.hooks.after_response(spec, state, response)
        except Exception:  # the run fails: the response it paid for stays on its transcript
            state.messages.append(response)
            raise
    limit = state.exceeded(spec.limits)
    if limit:
        state.messages.append(response)
        raise UsageLimitExceeded(f"Usage limit exceeded: {limit}.")
    if not response.tool_calls and not response.content.strip():
        detail = f" ({response.finish_reason})" if response.finish_reason not in (None, "stop") else ""
        problem = f"The model returned an empty response ({response.finish_reason})."
        yield _feedback(spec, state, problem, EMPTY_RESPONSE_NUDGE.format(detail=detail), "empty_response")
        yield AskModel()
        return
    state.messages.append(response)
    if response.tool_calls:
        state.problems = 0
        yield RunTools(response)
    else:
        yield TakeAnswer(response)


async def _requested(
    spec: RunSpec[Any],
    state: RunState,
    parameters: ModelRequestParameters,
    messages: Sequence[Message],
    settings: ModelSettings,
) -> AsyncGenerator[HistoryCompacted | ResponseFinished, None]:
    """A request that does not stream, as the events of a stream: what the fit to the window did, then the
    response."""
    response, compacted = await request_fitted(spec, state, parameters, messages, settings)
    for event in compacted:
        yield event
    yield ResponseFinished(message=response)


async def _streamed(
    spec: RunSpec[Any],
    state: RunState,
    parameters: ModelRequestParameters,
    messages: Sequence[Message],
    settings: ModelSettings,
) -> AsyncGenerator[ModelStreamEvent | OutputDelta[Any] | HistoryCompacted, None]:
    """The model's stream, with answers marked provisional while a hook may question them (`check_answer`),
    and the structured output validated as far as it has arrived."""
    provisional = spec.hooks is not None and spec.hooks.may_check_answer()
    partial = _PartialOutput(spec, parameters)
    stream = stream_fitted(spec, state, parameters, messages, settings)  # what is sent: `_run.history`
    async with aclosing(stream) as events:
        async for event in events:
            if isinstance(event, TextDelta) and provisional:
                event = dataclasses.replace(event, provisional=True)
            yield event
            if isinstance(event, (TextDelta, ToolCallDelta)) and (output := partial.feed(event)) is not None:
                yield output


class _PartialOutput:
    """Follows the structured answer while it arrives (the final-result call's arguments, or the JSON text)."""

    def __init__(self, spec: RunSpec[Any], parameters: ModelRequestParameters) -> None:
        self.output = spec.output
        self.standard = spec.model.partial_output
        self.as_text = parameters.response_format is not None
        self.active = not spec.output.is_text
        self.index: int | None = None
        self.text = ""
        self.last: Any = None

    def feed(self, event: TextDelta | ToolCallDelta) -> OutputDelta[Any] | None:
        if not self.active:
            return None
        if isinstance(event, ToolCallDelta):
            if event.name == FINAL_RESULT_TOOL and self.index is None:
                self.index = event.index
            if event.index != self.index or not event.arguments:
                return None
            self.text += event.arguments
        elif self.as_text:
            self.text += event.text
        else:
            return None
        value = self.output.validate_partial(self.text, self.standard)
        if value is None or value == self.last:
            return None
        self.last = value
        return OutputDelta(output=value)


def _feedback(
    spec: RunSpec[Any], state: RunState, problem: str, text: str, reason: FeedbackReason
) -> FeedbackSent:
    """Count an unusable answer (past the budget the run fails) and tell the model what to do instead."""
    state.problems += 1
    if state.problems > spec.output_retries:
        raise UnexpectedModelBehavior(f"{problem} (after {spec.output_retries} retries)")
    message = UserMessage(content=text, feedback=True)
    state.messages.append(message)
    return FeedbackSent(message=message, reason=reason)


async def take_answer(
    spec: RunSpec[Any], state: RunState, response: AssistantMessage, parameters: ModelRequestParameters
) -> AsyncGenerator[Event | Step, None]:
    doubt = await spec.hooks.check_answer(spec, state, response) if spec.hooks is not None else None
    if doubt is not None:
        message = UserMessage(content=doubt, feedback=True)
        state.messages.append(message)
        yield FeedbackSent(message=message, reason="answer_questioned")
        yield AskModel()
        return
    if spec.output.is_text:
        yield End(response.content)
        return
    try:
        output = spec.output.validate(response.content)
    except ToolArgumentsError as exc:
        hint = (
            ANSWER_WITH_TOOL
            if parameters.response_format is None
            else "Answer with JSON matching the schema."
        )
        problem = f"The model's answer did not validate: {exc}"
        yield _feedback(spec, state, problem, f"{exc}\n{hint}", "invalid_output")
        yield AskModel()
        return
    yield End(output)
