"""Running one turn's tool calls: concurrently, in the model's order, with errors turned into messages.

A call that fails (unknown tool, invalid arguments, `ModelRetry`, a timeout, an exception) answers the
model with a message saying what to fix. Each tool has a budget of consecutive failures; past it the run
fails with `UnexpectedModelBehavior` carrying the transcript.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ._dialects import Dialect
from ._grounding import CallChecks
from ._output import FINAL_RESULT_TOOL, OutputSpec
from .context import RunContext
from .exceptions import ModelRetry, ToolArgumentsError, ToolExecutionError, UnexpectedModelBehavior
from .messages import Message, ToolCall, ToolMessage
from .tool import Tool

__all__ = ["NO_OUTPUT", "ToolRunner", "serialize_result"]

logger = logging.getLogger("agentkit")

NO_OUTPUT: Any = object()
NOT_EXECUTED = "Not executed: the final result was already given in this turn."
REPEATED_CALL = (
    "{result}\n\n(You already called {name} with these arguments and this is its result. Do not call it again: "
    "use the result to answer the user's question now.)"
)


def serialize_result(value: object) -> str:
    """A tool's return value as message text: `str` as is, anything else as compact JSON."""
    if isinstance(value, str):
        return value
    from pydantic_core import PydanticSerializationError, to_json

    try:
        return to_json(value).decode()
    except PydanticSerializationError:
        return str(value)


@dataclass
class _Outcome:
    message: ToolMessage
    failed: str | None = None
    """The budget key charged for a failure (the tool's name), or `None` on success."""
    budget: int = 0


@dataclass(kw_only=True)
class ToolRunner:
    """Runs tool calls for one run; keeps the failure counts that make up the retry budgets."""

    tools: Mapping[str, Tool[..., Any]]
    output: OutputSpec[Any]
    dialect: Dialect
    retries: int
    """Default budget of consecutive failures per tool (and for unknown tool names)."""
    raise_tool_errors: bool
    make_context: Callable[[str, str, int], RunContext[Any]]
    steer_repeated_calls: bool = False
    """Answer a repeated identical call from the earlier result instead of running the tool again."""
    failures: dict[str, int] = field(default_factory=dict)
    results: dict[tuple[str, str], str] = field(default_factory=dict)
    """Successful results by (tool, canonical arguments), for `steer_repeated_calls`."""
    repeated: bool = False
    """Whether the last turn repeated an earlier call."""
    grounding: CallChecks | None = None
    """With the profile's `check_grounding`: questions calls holding values nothing gave (`_grounding`)."""

    async def run_turn(
        self, calls: Sequence[ToolCall], transcript: list[Message]
    ) -> tuple[list[ToolMessage], Any]:
        """Run one turn's calls. Returns the tool messages (model order) and the final output or `NO_OUTPUT`."""
        outcomes: list[_Outcome | None] = [None] * len(calls)
        final: Any = NO_OUTPUT
        self.repeated = False
        if self.grounding is not None:
            self.grounding.start_turn(transcript)
        if not self.output.is_text:
            for index, call in enumerate(calls):
                if call.name == FINAL_RESULT_TOOL and final is NO_OUTPUT:
                    outcome, final = self._questioned(call), NO_OUTPUT
                    if outcome is None:
                        outcome, final = self._final_result(call)
                    outcomes[index] = outcome
        if final is not NO_OUTPUT:
            for index, call in enumerate(calls):
                if outcomes[index] is None:
                    outcomes[index] = _Outcome(_message(call, NOT_EXECUTED))
        else:
            await self._run_batches(calls, outcomes, transcript)
        messages = [o.message for o in outcomes if o is not None]
        self._charge([o for o in outcomes if o is not None], transcript, messages)
        return messages, final

    async def _run_batches(
        self, calls: Sequence[ToolCall], outcomes: list[_Outcome | None], transcript: list[Message]
    ) -> None:
        batch: list[int] = []
        for index, call in enumerate(calls):
            if outcomes[index] is not None:
                continue
            tool = self.tools.get(call.name)
            if tool is not None and tool.sequential:
                await self._gather(calls, batch, outcomes, transcript)
                batch = []
                await self._gather(calls, [index], outcomes, transcript)
            else:
                batch.append(index)
        await self._gather(calls, batch, outcomes, transcript)

    async def _gather(
        self,
        calls: Sequence[ToolCall],
        indexes: list[int],
        outcomes: list[_Outcome | None],
        transcript: list[Message],
    ) -> None:
        if not indexes:
            return
        results = await asyncio.gather(*(self._call(calls[i], transcript) for i in indexes))
        for i, outcome in zip(indexes, results, strict=True):
            outcomes[i] = outcome

    async def _call(self, call: ToolCall, transcript: list[Message]) -> _Outcome:
        tool = self.tools.get(call.name)
        if tool is None:
            names = ", ".join(sorted(self.tools)) or "none"
            return self._failure(call, f"Unknown tool {call.name!r}. Available tools: {names}.", self.retries)
        budget = self.retries if tool.retries is None else tool.retries
        try:
            arguments = tool.validate_arguments(call.arguments, dialect=self.dialect)
        except ToolArgumentsError as exc:
            return self._failure(call, f"{exc}\nFix the arguments and call the tool again.", budget)
        key = (call.name, _canonical(arguments))
        if self.steer_repeated_calls and key in self.results:
            self.repeated = True
            return _Outcome(_message(call, REPEATED_CALL.format(result=self.results[key], name=call.name)))
        if (questioned := self._questioned(call)) is not None:
            return questioned
        ctx = self.make_context(call.name, call.id, self.failures.get(call.name, 0))
        try:
            if tool.timeout is None:
                value = await tool.call(arguments, ctx)
            else:
                value = await asyncio.wait_for(tool.call(arguments, ctx), tool.timeout)
        except ModelRetry as exc:
            return self._failure(call, exc.message, budget)
        except asyncio.TimeoutError:
            return self._failure(call, f"The tool timed out after {tool.timeout:g} seconds.", budget)
        except Exception as exc:
            if self.raise_tool_errors:
                raise ToolExecutionError(
                    f"Tool {call.name!r} raised {type(exc).__name__}: {exc}",
                    tool_name=call.name,
                    tool_call_id=call.id,
                    messages=transcript,
                ) from exc
            logger.warning("tool %r raised %s: %s", call.name, type(exc).__name__, exc)
            return self._failure(call, f"The tool raised {type(exc).__name__}: {exc}", budget)
        content = serialize_result(value)
        self.results[key] = content
        return _Outcome(_message(call, content))

    def _questioned(self, call: ToolCall) -> _Outcome | None:
        """The call not run, with the reason for the model, when the grounding check questions it."""
        if self.grounding is None:
            return None
        tool = self.tools.get(call.name)
        text = self.grounding.question(call, tool.definition if tool else None, list(self.tools))
        if text is None:
            return None
        self.repeated = self.repeated or self.grounding.insisted
        return _Outcome(_message(call, text, is_error=True))

    def _final_result(self, call: ToolCall) -> tuple[_Outcome, Any]:
        try:
            value = self.output.validate(call.arguments, self.dialect)
        except ToolArgumentsError as exc:
            return self._failure(
                call, f"{exc}\nFix the answer and call {FINAL_RESULT_TOOL} again.", self.retries
            ), NO_OUTPUT
        return _Outcome(_message(call, "Final result received.")), value

    def _failure(self, call: ToolCall, text: str, budget: int) -> _Outcome:
        return _Outcome(_message(call, text, is_error=True), failed=call.name, budget=budget)

    def _charge(
        self, outcomes: list[_Outcome], transcript: list[Message], messages: list[ToolMessage]
    ) -> None:
        """Count failures (a success resets its tool's count); past a budget, fail the run."""
        for outcome in outcomes:
            name = outcome.message.name
            if outcome.failed is None:
                self.failures.pop(name, None)
                continue
            count = self.failures[name] = self.failures.get(name, 0) + 1
            if count > outcome.budget:
                raise UnexpectedModelBehavior(
                    f"Tool {name!r} failed {count} times in a row (retries={outcome.budget}). "
                    f"Last error: {outcome.message.content}",
                    messages=[*transcript, *messages],
                )


def _canonical(arguments: dict[str, Any]) -> str:
    try:
        return serialize_result({k: arguments[k] for k in sorted(arguments)})
    except Exception:  # pragma: no cover - arguments that cannot be serialised are never treated as repeats
        return repr(object())


def _message(call: ToolCall, content: str, *, is_error: bool = False) -> ToolMessage:
    return ToolMessage(tool_call_id=call.id, name=call.name, content=content, is_error=is_error)
