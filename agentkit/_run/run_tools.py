"""The calls' part of a turn: `RunTools` validates each call once, takes the turn in (a final result, the
hooks' `check_tool_call`), asks for approval, runs the rest concurrently and records the results. A step of
`loop`: it yields the run's events and, last, the step that comes next.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Any

from ..context import RunContext
from ..events import ApprovalRequired, Event, ToolCallFinished, ToolCallStarted
from ..exceptions import UnexpectedModelBehavior
from ..messages import AssistantMessage, ToolCall, transcript_call_ids
from ..usage import Usage, UsageView
from .approval import decide, denial
from .state import CALLING_RUN, AskModel, Budget, End, ParentRun, RunSpec, RunState, Step
from .tool_calls import CallOutcome, Inbox, ValidatedCall, answer, execute, run_concurrently, validate_calls

__all__ = ["NOT_EXECUTED", "run_tools"]

NOT_EXECUTED = "Not executed: the final result was already given in this turn."


async def run_tools(
    spec: RunSpec[Any], state: RunState, response: AssistantMessage, waiting: tuple[ToolCall, ...] | None
) -> AsyncGenerator[Event | Step, None]:
    tools = spec.tools if state.step_tools is None else state.step_tools
    calls = validate_calls(
        response.tool_calls if waiting is None else waiting,
        tools=tools,
        output=spec.output,
        retries=spec.retries,
        taken_ids=transcript_call_ids(state.messages),
    )
    if waiting is None:
        # the transcript shows the calls as run: repaired ones keep what the model wrote in `original_arguments`
        response.tool_calls = [c.call for c in calls]
        state.charge(Usage(repairs=sum(c.repaired for c in calls)))
    state.answer_now = False
    outcomes: list[CallOutcome | None] = [None] * len(calls)
    final = await _take_in(spec, state, calls, outcomes)
    runnable: list[int] = []
    pending: list[int] = []
    for index, call in enumerate(calls):
        if final is not None and _not_executed(call, outcomes[index]):
            outcomes[index] = answer(call.call, NOT_EXECUTED)
        if outcomes[index] is None and call.tool is not None and call.tool.requires_approval:
            decision = await decide(call.call, state.decisions, spec.approve)
            if decision is None:
                pending.append(index)
                yield ApprovalRequired(call=call.call, arguments=call.arguments)
                continue
            if decision is not True:
                outcomes[index] = answer(call.call, denial(decision), is_error=True)
        outcome = outcomes[index]
        if outcome is None and spec.hooks is not None and spec.hooks.checks_calls:
            calls[index], outcome, change = await spec.hooks.check_call(spec, state, call, tools)
            outcomes[index] = outcome
            if change is not None:
                yield change
        if outcome is None:
            runnable.append(index)
        else:
            yield ToolCallFinished(message=outcome.message, duration_s=0.0)
    async with aclosing(_execute(spec, state, calls, runnable, outcomes)) as events:
        async for event in events:
            yield event
    answered = [(c, o) for c, o in zip(calls, outcomes, strict=True) if o is not None]
    state.messages.extend(o.message for _, o in answered)
    _charge(state, answered)
    if final is not None:
        yield End(final.output)
    elif pending:
        yield End(None, pending=tuple(calls[i].call for i in pending))
    else:
        yield AskModel()


async def _take_in(
    spec: RunSpec[Any], state: RunState, calls: list[ValidatedCall], outcomes: list[CallOutcome | None]
) -> ValidatedCall | None:
    """Take the turn's calls in, in order, up to the first final-result call accepted (returned; `None` when
    none is): each call not taken (invalid, or answered by a hook's `check_tool_call`) is answered in
    `outcomes`, and an accepted final-result call with "Final result received."."""
    for index, call in enumerate(calls):
        outcomes[index] = await _answer_unrun(spec, state, call)
        if call.final and outcomes[index] is None:
            outcomes[index] = answer(call.call, "Final result received.")
            return call
    return None


def _not_executed(call: ValidatedCall, outcome: CallOutcome | None) -> bool:
    """With a final result accepted: whether `call` is answered as not executed (a call after it, and a tool
    call before it that was invalid or left to run; what a hook answered keeps its answer)."""
    return outcome is None or (outcome.failed and not call.final)


async def _answer_unrun(spec: RunSpec[Any], state: RunState, call: ValidatedCall) -> CallOutcome | None:
    """The answer to a call that is not taken (invalid, or answered by a hook's `check_tool_call`), or
    `None` to take it."""
    if call.problem is not None:
        return answer(call.call, call.problem, failed=True)
    reply = await spec.hooks.check_tool_call(spec, state, call) if spec.hooks is not None else None
    if reply is None:
        return None
    state.answer_now = state.answer_now or reply.answer_next
    return answer(call.call, reply.content, is_error=reply.is_error)


async def _execute(
    spec: RunSpec[Any],
    state: RunState,
    calls: list[ValidatedCall],
    runnable: list[int],
    outcomes: list[CallOutcome | None],
) -> AsyncGenerator[Event, None]:
    """Run the valid calls concurrently: `ToolCallStarted` as each starts, `ToolCallFinished` as each ends."""
    if not runnable:
        return
    transcript = list(state.messages)
    usage = UsageView(state.usage)
    inbox: Inbox[Event] = Inbox()
    parent = ParentRun(
        budgets=(Budget(usage=state.usage, limits=spec.limits), *state.parents),
        stream=spec.stream,
        approve=spec.approve,
        emit=inbox.put,
    )

    async def run(call: ValidatedCall) -> CallOutcome:
        ctx = RunContext(
            deps=spec.deps,
            usage=usage,
            messages=transcript,
            model_name=spec.model.model_name,
            tool_name=call.call.name,
            tool_call_id=call.call.id,
            retry=state.failures.get(call.call.name, 0),
            run_step=state.turn,
            agent_name=spec.name,
        )
        calling = CALLING_RUN.set(parent)
        try:
            work = execute(call, ctx, raise_tool_errors=spec.raise_tool_errors, transcript=transcript)
            outcome = await (work if spec.tool_hook is None else spec.tool_hook(call, work))
        finally:
            CALLING_RUN.reset(calling)
        if spec.hooks is not None and spec.hooks.checks_results:
            outcome = await spec.hooks.after_tool_call(ctx, call, outcome)
        return outcome

    batch = [calls[i] for i in runnable]
    progress = run_concurrently(batch, run, inbox)
    async with aclosing(progress) as items:
        async for item in items:
            if not isinstance(item, tuple):
                yield item
                continue
            position, outcome = item
            call = batch[position]
            if outcome is None:
                state.charge(Usage(tool_calls=1))  # counted as it starts: a call that raises has run too
                yield ToolCallStarted(call=call.call, arguments=call.arguments)
                continue
            outcomes[runnable[position]] = outcome
            if outcome.attempts > 1:
                state.charge(Usage(tool_retries=outcome.attempts - 1))
            yield ToolCallFinished(
                message=outcome.message, duration_s=outcome.duration_s, attempts=outcome.attempts
            )


def _charge(state: RunState, answered: list[tuple[ValidatedCall, CallOutcome]]) -> None:
    """Count failures per tool (a success resets its count); past a tool's budget, the run fails."""
    for call, outcome in answered:
        name = call.call.name
        if not outcome.failed:
            state.failures.pop(name, None)
            continue
        count = state.failures[name] = state.failures.get(name, 0) + 1
        if count > call.budget:
            raise UnexpectedModelBehavior(
                f"Tool {name!r} failed {count} times in a row (retries={call.budget}). "
                f"Last error: {outcome.message.content}"
            )
