"""Human approval of tool calls: the decisions a person gives, and the calls a transcript leaves waiting.

A call of a tool with `requires_approval` runs only once decided: by `approvals` given to the run that
continues the transcript (`{call_id: True}` runs it; `False` or a reason denies it, and the model reads the
reason), or by the run's `approve` callback as the call comes. Undecided, it waits: the run ends after its
turn with the call in `RunResult.pending_approvals`, and the transcript ends with it unanswered.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Union

from .._support.threads import run_in_thread
from ..exceptions import UserError
from ..messages import AssistantMessage, Message, ToolCall, ToolMessage

if TYPE_CHECKING:
    from ..tool import Tool

__all__ = ["Approver", "Decision", "check_approvals", "decide", "denial", "unanswered_calls", "waiting_calls"]

Decision = Union[bool, str]
"""A person's decision on a call: `True` runs it; `False` or a reason (text the model reads) denies it."""
Approver = Callable[[ToolCall], Union[Decision, Awaitable[Decision]]]
"""Decides a call that needs approval as the run goes (the `approve=` option of `run()`)."""

DENIED = "Not executed: the user denied this call{reason}"


def denial(decision: Decision) -> str:
    """What the model reads for a denied call."""
    reason = f": {decision}" if isinstance(decision, str) and decision.strip() else "."
    return DENIED.format(reason=reason)


async def decide(call: ToolCall, decisions: dict[str, Decision], approve: Approver | None) -> Decision | None:
    """A person's decision on a call that needs approval: given for this run, or asked of the run's
    `approve` callback (a plain function runs in a worker thread: it may wait on a terminal); `None` when
    the call must wait."""
    if call.id in decisions:
        return decisions.pop(call.id)
    if approve is None:
        return None
    if inspect.iscoroutinefunction(approve):
        decision = await approve(call)
    else:
        decision = await run_in_thread(approve, call)
        if inspect.isawaitable(decision):
            decision = await decision
    if not isinstance(decision, (bool, str)):
        raise UserError(
            f"The approve callback returned {type(decision).__name__} for {call.name!r}: return True to run "
            "the call, or False or a reason (a str) to deny it."
        )
    return decision


def unanswered_calls(messages: Sequence[Message]) -> tuple[AssistantMessage, list[ToolCall]] | None:
    """The calls of a transcript's last turn that have no result yet, with the message that made them;
    `None` when the transcript does not end that way."""
    answered: set[str] = set()
    for message in reversed(messages):
        if isinstance(message, ToolMessage):
            answered.add(message.tool_call_id)
            continue
        if isinstance(message, AssistantMessage) and message.tool_calls:
            waiting = [c for c in message.tool_calls if c.id not in answered]
            return (message, waiting) if waiting else None
        return None
    return None


def waiting_calls(
    messages: Sequence[Message], tools: Mapping[str, Tool[..., Any]]
) -> tuple[AssistantMessage, list[ToolCall]] | None:
    """The unanswered calls a transcript ends with that wait for approval (calls of `tools` that require
    it), with the message that made them; other unanswered calls are not waiting (the wire format answers
    them as not executed)."""
    found = unanswered_calls(messages)
    if found is None:
        return None
    waiting = [c for c in found[1] if (t := tools.get(c.name)) is not None and t.requires_approval]
    return (found[0], waiting) if waiting else None


def check_approvals(
    history: Sequence[Message],
    prompt: object,
    approvals: Mapping[str, Decision] | None,
    *,
    tools: Mapping[str, Tool[..., Any]],
    has_callback: bool,
) -> dict[str, Decision]:
    """The run's `approvals`, checked against the calls the history ends with (`UserError` if they do not
    fit, or if calls wait and nothing decides them)."""
    approvals = dict(approvals or {})
    waiting = waiting_calls(history, tools)
    ids = [c.id for c in waiting[1]] if waiting is not None else []
    if not waiting:
        if approvals:
            raise UserError(
                "approvals were given, but message_history does not end with calls waiting for approval "
                "(pass the transcript of the run that stopped: result.messages)."
            )
        return approvals
    listed = ", ".join(f"{c.id} ({c.name})" for c in waiting[1])
    if prompt is not None:
        raise UserError(
            f"message_history ends with calls waiting for approval ({listed}): continue with prompt=None and "
            "approvals={call_id: True or a reason to deny}."
        )
    unknown = sorted(set(approvals) - set(ids))
    if unknown:
        raise UserError(
            f"approvals name calls that are not waiting: {', '.join(unknown)}; waiting: {listed}."
        )
    bad = [k for k, v in approvals.items() if not isinstance(v, (bool, str))]
    if bad:
        raise UserError(f"approvals[{bad[0]!r}] must be True, False or a reason (str).")
    if not approvals and not has_callback:
        raise UserError(
            f"message_history ends with calls waiting for approval ({listed}): pass approvals={{call_id: True "
            "or a reason to deny}, or approve=callback."
        )
    return approvals
