"""Repeated-call steering: a call the model already made (same tool, same arguments) is answered with the
earlier result and a reminder to use it, without running the tool again, and the next request asks for a
text answer (a small model otherwise repeats a call until the turn limit)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...hooks import Hooks, Reply

if TYPE_CHECKING:
    from ..._run.tool_calls import CallKey, ValidatedCall
    from ...context import RunContext
    from ...messages import ToolCall, ToolMessage

__all__ = ["REPEATED_CALL", "SteerRepeatedCalls"]

REPEATED_CALL = (
    "{result}\n\n(You already called {name} with these arguments and this is its result. Do not call it again: "
    "use the result to answer the user's question now.)"
)


class SteerRepeatedCalls(Hooks[Any]):
    """Answers a repeated call with its earlier result. One instance per run: it keeps the run's results."""

    def __init__(self) -> None:
        self._results: dict[CallKey, str] = {}
        """Successful results by call (`ValidatedCall.key`: the tool and the validated arguments)."""
        self._keys: dict[str, CallKey] = {}
        """The key of each call let through, by call id, until its result comes."""

    async def check_tool_call(self, ctx: RunContext[Any], call: ValidatedCall) -> Reply | None:
        if call.final:
            return None
        earlier = self._results.get(call.key)
        if earlier is None:
            self._keys[call.call.id] = call.key
            return None
        return Reply(REPEATED_CALL.format(result=earlier, name=call.call.name), answer_next=True)

    async def after_tool_call(self, ctx: RunContext[Any], call: ToolCall, result: ToolMessage) -> None:
        key = self._keys.pop(call.id, None)
        if key is not None and not result.is_error:
            self._results[key] = result.content
