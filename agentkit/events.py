"""The events of a run, in the order they happen: what `agent.run_stream()` yields.

```
RequestStarted          a model request begins (turn 1, 2, ...)
├── ThinkingDelta       a piece of a thinking model's reasoning text, as it writes it
├── TextDelta           a piece of the answer's text, as the model writes it
├── ToolCallDelta       a piece of a tool call: its name once known, then argument fragments
├── OutputDelta         the structured answer validated so far (while its arguments arrive)
└── ResponseFinished    the whole `AssistantMessage`, with its usage and cost
ToolCallStarted         a call is about to run, its arguments decoded and validated
ToolCallFinished        its `ToolMessage` (result or error) and how long it took
ApprovalRequired        a call waits for a person's approval (it does not run; the run ends after the turn)
SubAgentEvent           an event of an agent run by a tool (`Agent.as_tool`), as that tool runs
FeedbackSent            agentkit answered the model itself (empty answer, invalid output, questioned answer)
ToolCallDenied          a hook denied a call (`agentkit.hooks`): it does not run; the model reads the reason
ToolArgumentsChanged    a hook changed a call's arguments before it ran
GuardrailTriggered      an input or output guardrail tripped: the run raises `GuardrailTripped` next
HistoryCompacted        what a request sends was cut down (a history processor, or the fit to the window)
RunFinished             the `RunResult`, the same one `run()` returns
```

Within a turn the deltas keep the model's order; `ToolCallFinished` events come as calls finish (the
transcript keeps the model's order). Concatenated `TextDelta`s of the final turn equal the text output.
`Model.request_stream` yields the first four kinds (`ThinkingDelta`, `TextDelta`, `ToolCallDelta`,
`ResponseFinished`). Concatenated `ThinkingDelta`s equal the message's `reasoning`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Literal, Union

from .result import OutputT

if TYPE_CHECKING:
    from .messages import AssistantMessage, ToolCall, ToolMessage, UserMessage
    from .result import RunResult

__all__ = [
    "ApprovalRequired",
    "Event",
    "FeedbackReason",
    "FeedbackSent",
    "GuardrailTriggered",
    "HistoryCompacted",
    "ModelStreamEvent",
    "OutputDelta",
    "RequestStarted",
    "ResponseFinished",
    "RunFinished",
    "SubAgentEvent",
    "TextDelta",
    "ThinkingDelta",
    "ToolArgumentsChanged",
    "ToolCallDelta",
    "ToolCallDenied",
    "ToolCallFinished",
    "ToolCallStarted",
]


@dataclass(kw_only=True, frozen=True)
class RequestStarted:
    """A model request begins."""

    turn: int
    """1 for the run's first request, then 2, 3..."""
    model_name: str
    """The model asked."""
    agent_name: str | None = None
    """The agent's `name`, when it has one."""
    kind: Literal["request_started"] = "request_started"


@dataclass(kw_only=True, frozen=True)
class TextDelta:
    """A piece of the answer's text."""

    text: str
    provisional: bool = False
    """True while a hook may still question the answer (`check_answer`, such as the local profile's grounding
    check): show it as tentative, and drop it if `FeedbackSent(reason="answer_questioned")` follows."""
    kind: Literal["text_delta"] = "text_delta"


@dataclass(kw_only=True, frozen=True)
class ThinkingDelta:
    """A piece of a thinking model's reasoning text (not part of the answer; `AssistantMessage.reasoning`
    keeps the whole of it)."""

    text: str
    kind: Literal["thinking_delta"] = "thinking_delta"


@dataclass(kw_only=True, frozen=True)
class ToolCallDelta:
    """A piece of a tool call, as the model writes it."""

    index: int
    """Which call of the turn (0, 1...): pieces of several calls may interleave."""
    name: str | None = None
    """The tool's name, on the call's first piece."""
    arguments: str = ""
    """The next fragment of the arguments' JSON text."""
    id: str | None = None
    """The provider's call id, on the call's first piece when it sends one (agentkit may replace it)."""
    kind: Literal["tool_call_delta"] = "tool_call_delta"


@dataclass(kw_only=True, frozen=True)
class OutputDelta(Generic[OutputT]):
    """The structured answer as validated so far, while its arguments arrive (fields may be missing)."""

    output: OutputT
    kind: Literal["output_delta"] = "output_delta"


@dataclass(kw_only=True, frozen=True)
class ResponseFinished:
    """The model's whole answer for this turn."""

    message: AssistantMessage
    """Text and tool calls, `usage` (tokens, cost) and the `model_name` that answered."""
    kind: Literal["response_finished"] = "response_finished"


@dataclass(kw_only=True, frozen=True)
class ToolCallStarted:
    """A tool call was started (it runs while you handle this event): its arguments were decoded and validated."""

    call: ToolCall
    """The call as the model made it (id, name, raw arguments)."""
    arguments: Mapping[str, Any]
    """The validated keyword arguments the function receives."""
    kind: Literal["tool_call_started"] = "tool_call_started"


@dataclass(kw_only=True, frozen=True)
class ToolCallFinished:
    """A tool call ended, or was answered without running (invalid arguments, unknown tool, questioned)."""

    message: ToolMessage
    """What goes back to the model."""
    duration_s: float
    """Seconds from `ToolCallStarted` (0.0 for a call that did not run)."""
    attempts: int = 1
    """Times the function was called: more than 1 when `@tool(retry=...)` ran it again after an exception."""
    kind: Literal["tool_call_finished"] = "tool_call_finished"

    @property
    def is_error(self) -> bool:
        """True when the message reports a failure the model should fix."""
        return self.message.is_error


@dataclass(kw_only=True, frozen=True)
class ApprovalRequired:
    """A call of a tool that requires approval waits for a person: it is not run, the turn's other calls
    are, and the run ends with it in `RunResult.pending_approvals`."""

    call: ToolCall
    """The call (id, name, arguments as JSON text)."""
    arguments: Mapping[str, Any]
    """The validated keyword arguments the function would receive."""
    kind: Literal["approval_required"] = "approval_required"


FeedbackReason = Literal["empty_response", "invalid_output", "answer_questioned"]


@dataclass(kw_only=True, frozen=True)
class FeedbackSent:
    """agentkit answered the model itself instead of ending the run."""

    message: UserMessage
    """The feedback, as it goes into the transcript (`feedback=True`)."""
    reason: FeedbackReason
    """Why: `answer_questioned` means the text just streamed is not the answer (a UI should drop it)."""
    kind: Literal["feedback_sent"] = "feedback_sent"


@dataclass(kw_only=True, frozen=True)
class ToolCallDenied:
    """A hook's `before_tool_call` denied a call (`agentkit.hooks.Deny`): it does not run, and its
    `ToolCallFinished` (with the reason, as an error) follows."""

    call: ToolCall
    """The call as the model made it."""
    reason: str
    """The reason the hook gave; the model reads it."""
    kind: Literal["tool_call_denied"] = "tool_call_denied"


@dataclass(kw_only=True, frozen=True)
class ToolArgumentsChanged:
    """A hook's `before_tool_call` changed a call's arguments: the call runs with `arguments` (validated
    again); the transcript keeps the call as the model made it."""

    call: ToolCall
    """The call as the model made it."""
    arguments: Mapping[str, Any]
    """The validated keyword arguments the function now receives."""
    previous: Mapping[str, Any]
    """The validated arguments before the hook changed them."""
    kind: Literal["tool_arguments_changed"] = "tool_arguments_changed"


@dataclass(kw_only=True, frozen=True)
class GuardrailTriggered:
    """An input or output guardrail tripped: the run raises `GuardrailTripped` right after this event."""

    guardrail: str
    """The guardrail's name."""
    guardrail_kind: Literal["input", "output"]
    """Which input it read: the run's input, or its final output."""
    reason: str
    """The reason its check gave."""
    kind: Literal["guardrail_triggered"] = "guardrail_triggered"


@dataclass(kw_only=True, frozen=True)
class HistoryCompacted:
    """What the next request sends was cut down from the transcript (which keeps every message): by a
    history processor, or by the fit to the model's context window. Comes after `RequestStarted`, before
    the request's deltas; token counts are agentkit's estimates (`agentkit.history.estimate_tokens`)."""

    processor: str
    """The processor's name (a function's `__name__`, a class's name), or `"context_window"` for the fit
    to the model's context window."""
    messages_before: int
    messages_after: int
    tokens_before: int
    """Estimated tokens of the request before this step (tools' schemas included)."""
    tokens_after: int
    retry: bool = False
    """The provider refused the request as too long, and it is sent again, cut down harder."""
    kind: Literal["history_compacted"] = "history_compacted"


@dataclass(kw_only=True, frozen=True)
class RunFinished(Generic[OutputT]):
    """The run ended with an answer."""

    result: RunResult[OutputT]
    kind: Literal["run_finished"] = "run_finished"


@dataclass(kw_only=True, frozen=True)
class SubAgentEvent:
    """An event of an agent that a tool runs (`Agent.as_tool`), while that tool runs: its requests, deltas,
    calls and `RunFinished`, each wrapped once per level of nesting."""

    agent_name: str
    """The tool's name (the sub-agent's)."""
    tool_call_id: str | None
    """The parent's call of that tool (its `ToolCallStarted.call.id`)."""
    event: Event
    """The sub-agent's event."""
    kind: Literal["sub_agent_event"] = "sub_agent_event"


ModelStreamEvent = Union[ThinkingDelta, TextDelta, ToolCallDelta, ResponseFinished]
"""What `Model.request_stream` yields: deltas, then exactly one `ResponseFinished`, last."""

Event = Union[
    RequestStarted,
    ThinkingDelta,
    TextDelta,
    ToolCallDelta,
    OutputDelta[Any],
    ResponseFinished,
    ToolCallStarted,
    ToolCallFinished,
    ApprovalRequired,
    SubAgentEvent,
    FeedbackSent,
    ToolCallDenied,
    ToolArgumentsChanged,
    GuardrailTriggered,
    HistoryCompacted,
    RunFinished[Any],
]
"""Any event of a run (`kind` tells which)."""
