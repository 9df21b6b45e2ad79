"""The turn loop: ask the model, run its tool calls, feed the results back, stop on a final answer or a limit."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, cast

from ._grounding import (
    ANSWER_QUESTION,
    UNUSED_QUESTION,
    CallChecks,
    given_numbers,
    ignored_question,
    ignored_results,
    known_numbers,
    last_question,
    question,
    unsupported_in_text,
    unused_in_question,
)
from ._output import FINAL_RESULT_TOOL, OutputSpec, OutputT
from ._tool_calls import NO_OUTPUT, ToolRunner
from .context import RunContext
from .exceptions import AgentRunError, ToolArgumentsError, UnexpectedModelBehavior, UsageLimitExceeded
from .messages import AssistantMessage, Message, SystemMessage, ToolMessage, UserMessage
from .models import Model, ModelRequestParameters, ResponseFormat
from .result import RunResult
from .settings import ModelSettings
from .tool import Tool
from .usage import Usage, UsageLimits

__all__ = ["RunSpec", "run_loop"]

logger = logging.getLogger("agentkit")

EMPTY_RESPONSE_NUDGE = (
    "Your last response was empty{detail}. Answer the request: call a tool with valid JSON arguments, or reply "
    "with the final answer."
)
ANSWER_CHECKS = 2
"""With `check_grounding`: how many answers of a run may be questioned."""
ANSWER_WITH_TOOL = f"Give your final answer by calling the {FINAL_RESULT_TOOL} tool."


@dataclass(kw_only=True)
class RunSpec(Generic[OutputT]):
    """Everything one run needs, fixed when it starts."""

    model: Model
    tools: Mapping[str, Tool[..., Any]]
    output: OutputSpec[OutputT]
    instructions: str | None
    settings: ModelSettings
    limits: UsageLimits
    max_turns: int
    retries: int
    output_retries: int
    raise_tool_errors: bool
    deps: Any


def start_messages(
    instructions: str | None, history: Sequence[Message], prompt: str | list[Any] | None
) -> list[Message]:
    """History, with the instructions as a system message at the front when it has none, then the prompt."""
    messages = list(history)
    if instructions and not (messages and isinstance(messages[0], SystemMessage)):
        messages.insert(0, SystemMessage(content=instructions))
    if prompt is not None:
        messages.append(UserMessage(content=prompt))
    return messages


def request_parameters(spec: RunSpec[Any]) -> ModelRequestParameters:
    """Tools and output format offered on every request of this run."""
    tools = [t.definition for t in spec.tools.values()]
    if spec.output.is_text:
        return ModelRequestParameters(tools=tools)
    profile = spec.model.profile
    # a response format with tools needs the server's tool support: prompted tool calling uses the tool
    combined = profile.tools_with_response_format and profile.tool_calling == "native"
    via_tool = profile.structured_output == "tool" or (tools and not combined)
    if via_tool:
        return ModelRequestParameters(tools=[*tools, spec.output.tool_definition()], tool_choice="required")
    assert spec.output.schema is not None
    fmt = ResponseFormat(
        name=FINAL_RESULT_TOOL, schema=spec.output.schema, strict=profile.schema_dialect == "openai-strict"
    )
    return ModelRequestParameters(tools=tools, response_format=fmt)


async def run_loop(spec: RunSpec[OutputT], messages: list[Message], new_index: int) -> RunResult[OutputT]:
    """Run to a final answer. Every failure raises an `AgentRunError` carrying `messages`."""
    try:
        return await _run(spec, messages, new_index)
    except AgentRunError as exc:
        if not exc.messages:
            exc.messages = list(messages)
        raise


async def _run(spec: RunSpec[OutputT], messages: list[Message], new_index: int) -> RunResult[OutputT]:
    usage = Usage()
    parameters = request_parameters(spec)
    dialect = spec.model.profile.schema_dialect

    def make_context(tool_name: str, call_id: str, retry: int) -> RunContext[Any]:
        return RunContext(
            deps=spec.deps,
            usage=dataclasses.replace(usage),
            messages=list(messages),
            model_name=spec.model.model_name,
            tool_name=tool_name,
            tool_call_id=call_id,
            retry=retry,
            run_step=usage.requests,
        )

    runner = ToolRunner(
        tools=spec.tools,
        output=spec.output,
        dialect=dialect,
        retries=spec.retries,
        raise_tool_errors=spec.raise_tool_errors,
        make_context=make_context,
        steer_repeated_calls=spec.model.profile.steer_repeated_calls,
        grounding=CallChecks(history_end=new_index) if spec.model.profile.check_grounding else None,
    )
    answer_checks = ANSWER_CHECKS if spec.model.profile.check_grounding and spec.tools else 0
    asked_at: int | None = None  # where the last answer was questioned
    answer_now = dataclasses.replace(parameters, tool_choice="none") if spec.output.is_text else parameters
    problems = 0  # consecutive unusable answers (empty, or invalid structured output as text)
    while True:
        _check_before(spec, usage, messages)
        asked = answer_now if runner.repeated else parameters
        response = await spec.model.request(messages, asked, spec.settings)
        usage = _add_usage(usage, response)
        limit = spec.limits.check_after_response(usage)
        if limit:
            messages.append(response)
            raise UsageLimitExceeded(f"Usage limit exceeded: {limit}.", messages=messages)
        if not response.tool_calls and not response.content.strip():
            problems += 1
            _check_problems(
                problems,
                spec.output_retries,
                f"The model returned an empty response ({response.finish_reason}).",
                messages,
            )
            detail = f" ({response.finish_reason})" if response.finish_reason not in (None, "stop") else ""
            messages.append(UserMessage(content=EMPTY_RESPONSE_NUDGE.format(detail=detail), feedback=True))
            continue
        messages.append(response)
        if response.tool_calls:
            usage.tool_calls += sum(1 for c in response.tool_calls if c.name != FINAL_RESULT_TOOL)
            problems = 0
            results, final = await runner.run_turn(response.tool_calls, messages)
            messages.extend(results)
            if final is not NO_OUTPUT:
                return RunResult(output=final, messages=messages, usage=usage, new_message_index=new_index)
            continue
        # an answer is questioned once; questioned again only if tool results came in since (else a repeated
        # answer is the model confirming it)
        if answer_checks and (asked_at is None or _results_since(messages, asked_at)):
            doubt = _answer_question(spec, messages, new_index)
            if doubt:
                answer_checks -= 1
                asked_at = len(messages)
                messages.append(UserMessage(content=doubt, feedback=True))
                continue
        if spec.output.is_text:
            text = cast("OutputT", response.content)  # output_type is str here
            return RunResult(output=text, messages=messages, usage=usage, new_message_index=new_index)
        try:
            output = spec.output.validate(response.content, dialect)
        except ToolArgumentsError as exc:
            problems += 1
            _check_problems(
                problems, spec.output_retries, f"The model's answer did not validate: {exc}", messages
            )
            hint = (
                ANSWER_WITH_TOOL
                if parameters.response_format is None
                else "Answer with JSON matching the schema."
            )
            messages.append(UserMessage(content=f"{exc}\n{hint}", feedback=True))
            continue
        return RunResult(output=output, messages=messages, usage=usage, new_message_index=new_index)


def _answer_question(spec: RunSpec[Any], messages: list[Message], start: int) -> str | None:
    """For `check_grounding`: what to ask when the last answer holds numbers nothing in the conversation
    gives (naming the tools not used yet and the numbers at hand), leaves numbers of the question unused, or
    ignores a tool result; else `None`."""
    tools = _unused_tools(spec.tools, messages[start:])
    values = unsupported_in_text(str(messages[-1].content), known_numbers(messages, start))
    if values:
        return question(ANSWER_QUESTION, values, tools, given_numbers(messages, start))
    unused = unused_in_question(messages, start)
    if unused:
        return question(UNUSED_QUESTION, unused, tools)
    ignored = ignored_results(messages, start)
    if not ignored:
        return None
    return ignored_question(ignored, last_question(messages[start:]))


def _results_since(messages: list[Message], index: int) -> bool:
    return any(isinstance(m, ToolMessage) and not m.is_error for m in messages[index:])


def _unused_tools(tools: Mapping[str, Tool[..., Any]], run: Sequence[Message]) -> list[str]:
    """The tools this run has not had a result from yet (all of them when it has used each)."""
    used = {m.name for m in run if isinstance(m, ToolMessage) and not m.is_error}
    return [name for name in tools if name not in used] or list(tools)


def _add_usage(usage: Usage, response: AssistantMessage) -> Usage:
    step = response.usage or Usage(requests=1)
    usage.requests += max(step.requests, 1)
    usage.input_tokens += step.input_tokens
    usage.output_tokens += step.output_tokens
    usage.cost_usd += step.cost_usd
    return usage


def _check_before(spec: RunSpec[Any], usage: Usage, messages: list[Message]) -> None:
    if usage.requests >= spec.max_turns:
        raise UsageLimitExceeded(
            f"The run reached max_turns={spec.max_turns} without a final answer.", messages=messages
        )
    reason = spec.limits.check_before_request(usage)
    if reason:
        raise UsageLimitExceeded(f"Usage limit exceeded: {reason}.", messages=messages)


def _check_problems(count: int, budget: int, text: str, messages: list[Message]) -> None:
    if count > budget:
        raise UnexpectedModelBehavior(f"{text} (after {budget} retries)", messages=messages)
