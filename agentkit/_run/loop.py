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

Each step is an async generator that yields events and, last, the step that comes next: `AskModel` and
`TakeAnswer` are in `ask_model`, `RunTools` in `run_tools`; this module runs them in turn. Everything a step
knows of the run is in `RunState` (`state`). Every failure raises an `AgentRunError` carrying the
transcript.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import AsyncExitStack, aclosing
from typing import TYPE_CHECKING, Any

from ..context import RunContext
from ..events import Event, RunFinished
from ..exceptions import AgentRunError, GuardrailTripped, HookError, UserError
from ..messages import SystemMessage
from ..models import ModelRequestParameters
from ..result import RunResult
from ..tool import Tool
from ..usage import UsageView
from .approval import check_approvals, unanswered_calls, waiting_calls
from .ask_model import ask_model, take_answer
from .hook_runner import insert_instructions, step_tools
from .output import FINAL_RESULT_TOOL, OutputT
from .run_tools import run_tools
from .state import (
    STEPS,
    AskModel,
    End,
    RunSpec,
    RunState,
    RunTools,
    Step,
    TakeAnswer,
    request_parameters,
    start_messages,
)

if TYPE_CHECKING:
    from ..sessions import Session

__all__ = ["run_events"]


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
        return run_tools(spec, state, step.response, step.waiting)
    if isinstance(step, TakeAnswer):
        return take_answer(spec, state, step.response, parameters)
    return ask_model(spec, state, parameters)
