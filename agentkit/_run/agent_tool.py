"""`Agent.as_tool`: an agent another agent calls as a tool.

The sub-run is an ordinary run (`_run.loop.run_events`, traced like any) linked to the calling run, which the
loop names for the task running the call (`CALLING_RUN`): its usage is added, live, to the caller's (and to the caller's callers'), the callers' limits
are checked as it goes, its events go into the caller's stream as `SubAgentEvent`s, and its transcript is
kept on the caller's `ToolMessage` (`transcript`): the tool returns it with the output (`SubRunOutput`), or
raises it with the error (`SubRunFailed`). A failed sub-run is a tool error for the calling model (a
`ModelRetry`), never a crash of the calling run.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import aclosing
from typing import TYPE_CHECKING, Any

from ..context import RunContext
from ..events import RunFinished, SubAgentEvent
from ..exceptions import AgentRunError, UsageLimitExceeded, UserError
from ..instrumentation import traced_run
from ..tool import Tool
from .state import CALLING_RUN, ParentRun, RunSpec, RunState
from .tool_calls import SubRunFailed, SubRunOutput

if TYPE_CHECKING:
    from ..result import RunResult

Start = Callable[[str, dict[str, Any]], tuple[RunSpec[Any], RunState]]
"""Starts a run of the agent: `(task, options)` -> the run's spec and state (the agent's `_start`)."""

__all__ = ["agent_tool"]

PARAMETERS = {
    "type": "object",
    "properties": {
        "task": {
            "type": "string",
            "description": "The task for the agent, with everything it needs to know: it sees nothing else.",
        }
    },
    "required": ["task"],
}


def agent_tool(
    start: Start,
    *,
    name: str | None,
    description: str | None,
    retries: int | None,
    timeout: float | None,
    requires_approval: bool,
) -> Tool[..., Any]:
    """A tool that runs an agent (`start` starts its runs) on the task the calling model gives, and returns
    its output."""
    tool_name = name
    if not tool_name:
        raise UserError("Name the tool: agent.as_tool(name=...), or give the agent a name (Agent(name=...)).")
    text = description or f"Ask the {tool_name} agent to do a task; returns its answer."

    async def run_agent(ctx: RunContext[Any], task: str) -> Any:
        return await _run(start, tool_name, ctx, task)

    return Tool.from_schema(
        run_agent,
        name=tool_name,
        description=text,
        parameters=PARAMETERS,
        takes_ctx=True,
        retries=retries,
        timeout=timeout,
        requires_approval=requires_approval,
    )


async def _run(start: Start, name: str, ctx: RunContext[Any], task: str) -> Any:
    parent = CALLING_RUN.get()
    options: dict[str, Any] = {"deps": ctx.deps, "stream": parent is not None and parent.stream}
    if parent is not None and parent.approve is not None:
        options["approve"] = parent.approve
    spec, state = start(task, options)
    if parent is not None:
        state.parents = parent.budgets
    result: RunResult[Any] | None = None
    try:
        async with aclosing(traced_run(spec, state)) as events:
            async for event in events:
                if parent is not None:
                    parent.emit(SubAgentEvent(agent_name=name, tool_call_id=ctx.tool_call_id, event=event))
                if isinstance(event, RunFinished):
                    result = event.result
    except AgentRunError as exc:
        if isinstance(exc, UsageLimitExceeded) and parent is not None and _spent(parent):
            # the calling run's own budget is spent: that run ends too (with its own transcript)
            raise UsageLimitExceeded(str(exc)) from exc
        raise SubRunFailed(f"The {name} agent failed: {exc}", transcript=list(exc.messages)) from exc
    assert result is not None, "the run ended without RunFinished"
    if result.pending_approvals:
        calls = ", ".join(c.name for c in result.pending_approvals)
        raise SubRunFailed(
            f"The {name} agent stopped: its calls of {calls} need a person's approval, which cannot be given "
            "inside a tool call. Do the task another way, or tell the user.",
            transcript=result.messages,
        )
    return SubRunOutput(output=result.output, transcript=result.messages)


def _spent(parent: ParentRun) -> bool:
    """Whether a limit of the calling run (or of its callers) is exceeded."""
    return any(b.limits.check_after_response(b.usage) is not None for b in parent.budgets)
