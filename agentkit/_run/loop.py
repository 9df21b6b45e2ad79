"""The run as steps over one `RunState`; the steps yield the run's events, and `run()` consumes them.

```
AskModel    check the limits, send the transcript (`_run.history`: as processors and the window leave it),
            stream the answer  -> RunTools | TakeAnswer | AskModel
RunTools    validate each call once, check / approve / run them, record the results
            -> End (an answer, or calls waiting for approval) | AskModel
TakeAnswer  check the answer (the hooks' `check_answer`), validate the output  -> End | AskModel
End         the output; `run_events` yields `RunFinished`
```
A run continuing a transcript that ends with calls waiting for approval starts with `RunTools` on those
calls (each approved or denied by the run's decisions). Before the first step the run loads its session and
enters its toolsets; after each step it appends the step's messages to its session (not what a guardrail
stops: the prompt once the input guardrails pass, an answer once the output guardrails do).

The run's hooks (`spec.hooks`, a `_run.hook_runner.HookRunner`; `None` when no hook does anything) are called at
these points: `before_run` once the run has started (then the input guardrails that do not run beside the
first request), `before_request` / `after_response` around each request in `AskModel` (the first request
raced against the other input guardrails), `check_tool_call` on each valid call as `RunTools` takes the
turn in (before approval), `before_tool_call` on each call about to run and `after_tool_call` in each
call's task in `RunTools`, `check_answer` in `TakeAnswer`, the output guardrails on `End`'s output, and
`after_run` with the result or the error. The model profile's `policy` puts its hooks (made once per run)
in front of the agent's: that is how the small local model's checks come in. Instructions with functions
are evaluated as the run starts, and `prepare_tools` before each request (the calls of that response are
matched against the tools it offered).

Each step is an async generator that yields events and, last, the step that comes next. Everything a step
knows of the run is in `RunState` (`_run.state`). Every failure raises an `AgentRunError` carrying the
transcript.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncGenerator, Sequence
from contextlib import AsyncExitStack, aclosing
from typing import TYPE_CHECKING, Any

from ..context import RunContext
from ..events import (
    ApprovalRequired,
    Event,
    FeedbackReason,
    FeedbackSent,
    HistoryCompacted,
    ModelStreamEvent,
    OutputDelta,
    RequestStarted,
    ResponseFinished,
    RunFinished,
    TextDelta,
    ToolCallDelta,
    ToolCallFinished,
    ToolCallStarted,
)
from ..exceptions import (
    AgentRunError,
    GuardrailTripped,
    HookError,
    ToolArgumentsError,
    UnexpectedModelBehavior,
    UsageLimitExceeded,
    UserError,
)
from ..messages import (
    AssistantMessage,
    Message,
    SystemMessage,
    ToolCall,
    UserMessage,
    transcript_call_ids,
)
from ..models import ModelRequestParameters
from ..result import RunResult
from ..settings import ModelSettings
from ..tool import Tool
from ..usage import Usage, UsageView
from .approval import check_approvals, decide, denial, unanswered_calls, waiting_calls
from .history import request_fitted, stream_fitted
from .hook_runner import guarded, insert_instructions, step_tools
from .output import FINAL_RESULT_TOOL, OutputT
from .state import (
    CALLING_RUN,
    STEPS,
    AskModel,
    Budget,
    End,
    ParentRun,
    RunSpec,
    RunState,
    RunTools,
    Step,
    TakeAnswer,
    request_parameters,
    start_messages,
)
from .tool_calls import (
    CallOutcome,
    Inbox,
    ValidatedCall,
    answer,
    execute,
    run_concurrently,
    validate_calls,
)

if TYPE_CHECKING:
    from ..sessions import Session

__all__ = ["run_events"]


EMPTY_RESPONSE_NUDGE = (
    "Your last response was empty{detail}. Answer the request: call a tool with valid JSON arguments, or reply "
    "with the final answer."
)
ANSWER_WITH_TOOL = f"Give your final answer by calling the {FINAL_RESULT_TOOL} tool."
NOT_EXECUTED = "Not executed: the final result was already given in this turn."


async def run_events(spec: RunSpec[OutputT], state: RunState) -> AsyncGenerator[Event, None]:
    """The run's events, from the first request to `RunFinished` (the toolsets entered meanwhile)."""
    step: Step = AskModel()
    hooks = spec.hooks
    async with AsyncExitStack() as toolsets:  # left when the run ends, however it ends
        try:
            if spec.session is not None:
                await _open_session(spec.session, state)
            if spec.toolsets:
                spec.tools = await _resolve_toolsets(spec, state, toolsets)
            if spec.instructions is not None:
                await insert_instructions(spec, state, spec.instructions)
            if spec.prepare_tools is not None and unanswered_calls(state.messages) is not None:
                # calls waiting for approval are matched against the tools offered as the run resumes
                state.step_tools = await step_tools(spec, state, spec.prepare_tools)
            step = _first_step(spec, state)
            # the prompt, once the run is known to be well formed (and its input guardrails passed: what one
            # stops is never stored, for a later run to send)
            if hooks is None or not hooks.input_guardrails:
                state.prompt_cleared = True
                await _save(spec, state, step)
            parameters = request_parameters(spec)
            if hooks is not None:
                async with aclosing(hooks.start(spec, state)) as started:
                    async for event in started:
                        yield event
            while not isinstance(step, End):
                async with aclosing(_step(spec, state, parameters, step)) as items:
                    async for item in items:
                        if isinstance(item, STEPS):
                            step = item
                        else:
                            yield item
                state.prompt_cleared = True  # a step done: the input guardrails passed
                if not _checks_output(spec, step):
                    await _save(spec, state, step)
            if hooks is not None and _checks_output(spec, step):
                async with aclosing(hooks.check_output(spec, state, step.output)) as checked:
                    async for event in checked:
                        yield event
                await _save(spec, state, step)  # the answer, once the output guardrails let it through
        except _NotStored as failure:
            error = AgentRunError(
                f"{failure}. The whole transcript is on this error (.messages): append the unsaved ones to the "
                "session once it can be written.",
                messages=state.messages,
                usage=state.usage,
            )
            if hooks is not None:
                await hooks.after_run(spec, state, None, error)
            raise error from failure.__cause__
        except AgentRunError as exc:
            try:
                # what the run never cleared (set up, passed the input guardrails), what a guardrail stopped
                # (or could not check) is not stored
                if state.prompt_cleared and not _stopped_by_guardrail(exc):
                    await _save(spec, state, step)
            except _NotStored as failure:  # the run's own error says more: it stays, with this added
                exc.message = f"{exc.message} (also, {str(failure)[0].lower()}{str(failure)[1:]})"
            if not exc.messages:
                exc.messages = list(state.messages)
            if exc.usage is None:
                exc.usage = state.usage
            if hooks is not None:
                await hooks.after_run(spec, state, None, exc)
            raise
        except Exception as exc:
            if hooks is not None:
                await hooks.after_run(spec, state, None, exc)
            raise
        result: RunResult[OutputT] = RunResult(
            output=step.output,
            pending_approvals=list(step.pending),
            messages=state.messages,
            usage=state.usage,
            new_message_index=state.new_index,
            instructions_added=state.instructions_added,
        )
        if hooks is not None:
            await hooks.after_run(spec, state, result, None)
        yield RunFinished(result=result)


def _stopped_by_guardrail(error: AgentRunError) -> bool:
    """Whether a guardrail stopped the run: it tripped, or its check raised (and so cleared nothing)."""
    return isinstance(error, GuardrailTripped) or (
        isinstance(error, HookError) and error.guardrail is not None
    )


def _checks_output(spec: RunSpec[Any], step: Step) -> bool:
    """Whether the run's output guardrails are to check the answer `step` holds (`TakeAnswer`, or an `End`
    with an output): until they pass, it is not stored."""
    if spec.hooks is None or not spec.hooks.output_guardrails:
        return False
    return isinstance(step, TakeAnswer) or (isinstance(step, End) and not step.pending)


def _first_step(spec: RunSpec[Any], state: RunState) -> Step:
    """`RunTools` on the calls the history leaves waiting for approval (the run's approvals checked against
    them), else `AskModel`."""
    opening = state.opening
    assert opening is not None
    history = state.messages if opening.prompt is None else state.messages[:-1]
    tools = spec.tools if state.step_tools is None else state.step_tools
    state.decisions = check_approvals(
        history, opening.prompt, opening.approvals, tools=tools, has_callback=opening.has_callback
    )
    waiting = waiting_calls(history, tools) if opening.prompt is None else None
    return AskModel() if waiting is None else RunTools(waiting[0], waiting=tuple(waiting[1]))


async def _open_session(session: Session, state: RunState) -> None:
    """Put the session's messages in front of the run's."""
    opening = state.opening
    assert opening is not None
    history = await session.load()
    if opening.prompt is None and not history:
        raise UserError(f"Give a prompt: the session {session.session_id!r} has no messages to continue.")
    messages, new_index, added = start_messages(opening.instructions, history, opening.prompt)
    state.messages[:] = messages
    state.new_index = state.saved = new_index
    state.instructions_added = added


async def _save(spec: RunSpec[Any], state: RunState, step: Step) -> None:
    """Append the messages of the steps done to the session, unless a turn's calls are still unanswered
    (those wait for the step that answers them; calls waiting for approval are saved with the run's end)."""
    if spec.session is None or state.saved >= len(state.messages):
        return
    if unanswered_calls(state.messages) is not None and not (isinstance(step, End) and step.pending):
        return
    new = [m for m in state.messages[state.saved :] if not isinstance(m, SystemMessage)]
    try:
        await spec.session.append(new)
    except Exception as exc:
        raise _NotStored(spec.session, exc) from exc
    state.saved = len(state.messages)


class _NotStored(Exception):
    """The session could not store the run's messages (raised by `_save`; the run ends with an
    `AgentRunError` carrying the transcript, this exception's cause as its cause)."""

    def __init__(self, session: Session, cause: Exception) -> None:
        reason = str(cause).strip().rstrip(".") or type(cause).__name__
        super().__init__(
            f"The run's messages could not be stored in session {session.session_id!r}: {reason}"
        )


async def _resolve_toolsets(
    spec: RunSpec[Any], state: RunState, stack: AsyncExitStack
) -> dict[str, Tool[..., Any]]:
    """Enter the run's toolsets and ask each for its tools: the agent's tools, then theirs."""
    tools = dict(spec.tools)
    ctx = RunContext(
        deps=spec.deps,
        usage=UsageView(state.usage),
        messages=list(state.messages),
        model_name=spec.model.model_name,
        agent_name=spec.name,
    )
    for toolset in spec.toolsets:
        await stack.enter_async_context(toolset)
        for tool in await toolset.get_tools(ctx):
            if tool.name in tools or tool.name == FINAL_RESULT_TOOL:
                raise UserError(
                    f"{toolset.name} supplies a tool named {tool.name!r}, a name another tool already has; "
                    "give the toolset a prefix (prefix=...) or filter its tools."
                )
            tools[tool.name] = tool
    return tools


def _step(
    spec: RunSpec[Any], state: RunState, parameters: ModelRequestParameters, step: Step
) -> AsyncGenerator[Event | Step, None]:
    if isinstance(step, RunTools):
        return _run_tools(spec, state, step.response, step.waiting)
    if isinstance(step, TakeAnswer):
        return _take_answer(spec, state, step.response, parameters)
    return _ask_model(spec, state, parameters)


# --- AskModel -------------------------------------------------------------------------------------------


async def _ask_model(
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


# --- RunTools -------------------------------------------------------------------------------------------


async def _run_tools(
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


# --- TakeAnswer -----------------------------------------------------------------------------------------


async def _take_answer(
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
