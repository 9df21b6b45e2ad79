"""Hooks: one seam for stepping into a run, and the guardrails built on it.

`Agent(hooks=[...])` (every run of the agent) and `agent.run(..., hooks=[...])` (one run; after the agent's)
take objects with any of the methods of `Hooks`, sync or async, called in order at these points of a run:

```
before_run        the run starts (its session loaded, its toolsets entered), before the first request
before_request    before each model request: may return a changed `ModelRequest` (what is sent, not the
                  transcript)
after_response    after each model response
check_tool_call   each valid call as the turn's calls are taken in (before approval; the final-result call
                  too): may return `Reply(content)`, the call's result instead of running it
before_tool_call  before each call runs: may return changed arguments (validated again) or `Deny(reason)`
after_tool_call   after each call ran: may return a changed `ToolMessage`
check_answer      each answer (a response without calls) before it is taken: may return feedback to send
                  instead, and the model is asked again
after_run         the run ended: with its `RunResult`, or with the exception it raises
```
Subclass `Hooks` and override what you need, or pass any object with some of these methods: the methods an
object has (and a `Hooks` subclass overrides) are found once, when the agent (or the run) is made, so a
method nobody wrote costs a run nothing.

`InputGuardrail` and `OutputGuardrail` go in the same list: an input guardrail reads the run's input while
the first request is under way (that request is cancelled if it trips), an output guardrail reads the final
output before the run returns. Either trips by returning `Deny(reason)`: the run then raises
`GuardrailTripped`, with the transcript and usage. A hook or a check that raises ends the run with a
`HookError` (an `AgentRunError` it raises passes through).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import KW_ONLY, dataclass
from typing import TYPE_CHECKING, Any, Generic, Union

from ._run.tool_calls import ValidatedCall
from .context import DepsT, RunContext
from .messages import AssistantMessage, Message, ToolCall, ToolMessage
from .settings import ModelSettings

if TYPE_CHECKING:
    from .result import RunResult
    from .tool import ToolDefinition

__all__ = [
    "HOOK_METHODS",
    "Deny",
    "Hooks",
    "InputCheck",
    "InputGuardrail",
    "Instructions",
    "InstructionsFunction",
    "ModelRequest",
    "OutputCheck",
    "OutputGuardrail",
    "Reply",
    "ValidatedCall",
]

HOOK_METHODS = (
    "before_run",
    "before_request",
    "after_response",
    "check_tool_call",
    "before_tool_call",
    "after_tool_call",
    "check_answer",
    "after_run",
)
"""The methods a hook object may have, in the order a run calls them."""


@dataclass(frozen=True)
class Deny:
    """What a hook returns to say no: from `before_tool_call`, the call does not run and the model reads
    `reason` as the call's error; from a guardrail's check, the guardrail trips."""

    reason: str


@dataclass(frozen=True)
class Reply:
    """What `check_tool_call` returns to answer a call instead of running it: the model reads `content` as the
    call's result, word for word. It does not count as a failure of the tool (`retries`)."""

    content: str
    _: KW_ONLY
    is_error: bool = False
    """Send it as an error result (the call was not right) rather than as a result."""
    answer_next: bool = False
    """Ask the next request for an answer without tool calls (`tool_choice="none"`, when the run's output is
    text): the model has what it needs, or insisted on a call that cannot be right. Only the next request:
    when `check_answer` questions that answer, the request after it may call tools again."""


@dataclass(kw_only=True, frozen=True)
class ModelRequest:
    """One model request as it is about to be sent; `before_request` may return a changed copy
    (`dataclasses.replace(request, ...)`). Changing it changes what is sent, never the run's transcript."""

    messages: Sequence[Message]
    """The messages sent (a copy of the transcript's list: return a new list, and new messages in it, to
    change them; do not change the transcript's messages in place)."""
    tools: Sequence[ToolDefinition]
    """The tools offered (the final-result tool among them when the output comes through a tool). To rename
    a tool, use `Agent(prepare_tools=...)`: a call of a name changed here would not find its tool."""
    tool_choice: str | None
    """`"auto"`, `"required"`, `"none"`, or `None` for the provider's default."""
    settings: ModelSettings
    """The request's sampling and transport options."""

    def replace(self, **changes: Any) -> ModelRequest:
        """A copy with `changes` (`messages=`, `tools=`, `tool_choice=`, `settings=`)."""
        return dataclasses.replace(self, **changes)


class Hooks(Generic[DepsT]):
    """Hooks with nothing to do: subclass it and override the methods you need (sync or async).

    Each method gets the `RunContext` (for the tool-call methods, the call's: `ctx.tool_name`,
    `ctx.tool_call_id`). An exception a hook raises ends the run: an `AgentRunError` as it is, any other as a
    `HookError` (the exception its `__cause__`); either keeps the transcript and the usage.
    """

    async def before_run(self, ctx: RunContext[DepsT]) -> None:
        """The run starts: its session is loaded and its toolsets entered; no request is made yet."""

    async def before_request(self, ctx: RunContext[DepsT], request: ModelRequest) -> ModelRequest | None:
        """Before each model request: return a changed request to send instead, or `None`."""
        return None

    async def after_response(self, ctx: RunContext[DepsT], response: AssistantMessage) -> None:
        """After each model response (before its calls run), with the response as the transcript keeps it."""

    async def check_tool_call(self, ctx: RunContext[DepsT], call: ValidatedCall) -> Reply | None:
        """Each valid call of a response, in the model's order, as the turn's calls are taken in: before
        approval is asked for, and for the final-result call too (`call.final`); not for the calls after a
        final-result call taken as the answer. Return `Reply(content)` to answer the call instead of running
        it (a final-result call answered so is not taken as the answer), or `None`.

        `call.call` is the `ToolCall`, `call.decoded` its arguments as the model wrote them (decoded JSON),
        `call.arguments` the validated ones (for the final-result call, `call.output` is the validated
        answer), `call.tool` the `Tool` called, and `call.key` what makes two calls the same call (the tool and
        the validated arguments). `ValidatedCall` is importable from here (and from `agentkit`)."""
        return None

    async def before_tool_call(
        self, ctx: RunContext[DepsT], call: ToolCall, arguments: dict[str, Any]
    ) -> dict[str, Any] | Deny | None:
        """Before a call runs (after any approval), with its validated arguments: return other arguments (they
        are validated again), `Deny(reason)` (the call does not run; the model reads the reason), or `None`."""
        return None

    async def after_tool_call(
        self, ctx: RunContext[DepsT], call: ToolCall, result: ToolMessage
    ) -> ToolMessage | None:
        """After a call ran (successfully or not): return a changed message for the model, or `None`."""
        return None

    async def check_answer(self, ctx: RunContext[DepsT], answer: AssistantMessage) -> str | None:
        """Each answer (a response without tool calls, the last of `ctx.messages`) before the run takes it (and
        validates a structured one): return feedback to send to the model instead (the run asks it again; the
        stream says `FeedbackSent` with reason `answer_questioned`), or `None` to take the answer."""
        return None

    @property
    def may_check_answer(self) -> bool:
        """Whether `check_answer` may still question an answer in this run. While any hook's may, a streamed
        answer's text is marked provisional (`TextDelta.provisional`). Read only from hooks with `check_answer`."""
        return True

    async def after_run(
        self, ctx: RunContext[DepsT], result: RunResult[Any] | None, error: Exception | None
    ) -> None:
        """The run ended: `result` when it returns, `error` when it raises (a run cancelled, or a stream left
        early, ends without this call)."""


InputCheck = Callable[[RunContext[Any], str], Union["Deny | None", Awaitable["Deny | None"]]]
"""`(ctx, text) -> Deny | None`, sync or async: `text` is the last user message's text."""
OutputCheck = Callable[[RunContext[Any], Any], Union["Deny | None", Awaitable["Deny | None"]]]
"""`(ctx, output) -> Deny | None`, sync or async: `output` is the run's final output."""


@dataclass(frozen=True)
class InputGuardrail:
    """Checks a run's input: `check(ctx, text)` gets the last user message's text (the whole transcript is
    `ctx.messages`) and returns `Deny(reason)` to stop the run, `None` to let it go on.

    It runs while the run's first model request is under way (it only reads); if it trips, that request is
    cancelled and its answer discarded, and the run raises `GuardrailTripped`. With `concurrent=False` it
    runs before the first request instead (no request is paid for a tripped run).
    """

    check: InputCheck
    name: str | None = None
    """How events and errors name it; defaults to the check's function name."""
    concurrent: bool = True
    """Run beside the first request (`True`) or before it (`False`)."""

    @property
    def label(self) -> str:
        return self.name or str(getattr(self.check, "__name__", "input guardrail"))


@dataclass(frozen=True)
class OutputGuardrail:
    """Checks a run's final output before the run returns: `check(ctx, output)` returns `Deny(reason)` to
    fail the run with `GuardrailTripped` (the transcript keeps the answer), `None` to return it. A run that
    ends waiting for approvals has no output to check."""

    check: OutputCheck
    name: str | None = None
    """How events and errors name it; defaults to the check's function name."""

    @property
    def label(self) -> str:
        return self.name or str(getattr(self.check, "__name__", "output guardrail"))


InstructionsFunction = Callable[[RunContext[Any]], Union[str, Awaitable[Union[str, None]], None]]
"""A function giving instructions text (or `None` for none), sync or async."""
Instructions = Union[str, InstructionsFunction, Sequence[Union[str, InstructionsFunction]]]
"""What `Agent(instructions=...)` takes: text, a function of the `RunContext` (sync or async) giving text,
or a list mixing both (the parts joined by blank lines; a function giving `None` or `""` adds nothing)."""
