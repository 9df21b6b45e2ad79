"""What a run is made of: `RunSpec` (fixed when it starts), `RunState` (what it knows as it goes), the
steps it moves through, and how a run is linked to the run whose tool started it (`ParentRun`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Union

from ..messages import AssistantMessage, Message, SystemMessage, ToolCall, UserMessage
from ..models import Model, ModelRequestParameters, ResponseFormat
from ..settings import ModelSettings
from ..tool import Tool
from ..toolsets import Toolset
from ..usage import Usage, UsageLimits
from .approval import Approver, Decision
from .history import Processor, SentRequest
from .output import FINAL_RESULT_TOOL, OutputSpec, OutputT, choose_mode
from .tool_calls import CallOutcome, ValidatedCall

if TYPE_CHECKING:
    from ..events import Event
    from ..sessions import Session
    from .hook_runner import HookRunner, InstructionPart, PrepareTools

__all__ = [
    "STEPS",
    "AskModel",
    "Budget",
    "End",
    "Opening",
    "ParentRun",
    "RunSpec",
    "RunState",
    "RunTools",
    "Step",
    "TakeAnswer",
    "ToolHook",
    "new_state",
    "request_parameters",
    "start_messages",
]

ToolHook = Callable[[ValidatedCall, Awaitable[CallOutcome]], Awaitable[CallOutcome]]
"""Awaits a call's execution in the call's task (tracing makes the call's span current there)."""


@dataclass(kw_only=True)
class RunSpec(Generic[OutputT]):
    """Everything one run needs, fixed when it starts (its toolsets' tools join `tools` as it begins)."""

    model: Model
    tools: Mapping[str, Tool[..., Any]]
    output: OutputSpec[OutputT]
    settings: ModelSettings
    limits: UsageLimits
    max_turns: int
    retries: int
    output_retries: int
    raise_tool_errors: bool
    deps: Any
    name: str | None = None
    stream: bool = False
    """Request with `Model.request_stream` (deltas as events) instead of `Model.request`."""
    toolsets: Sequence[Toolset] = ()
    """Entered when the run starts; their tools join `tools` for this run."""
    approve: Approver | None = None
    """Decides calls of tools that require approval as they come (`run(approve=...)`); without it they wait."""
    session: Session | None = None
    """Loaded as the history when the run starts; each step's new messages are appended to it."""
    tool_hook: ToolHook | None = None
    """Awaits each call's execution in its task (`agentkit.instrumentation`: the call's span is current)."""
    hooks: HookRunner | None = None
    """The run's hooks and guardrails (`agentkit.hooks`); `None` when none of them does anything."""
    instructions: Sequence[InstructionPart] | None = None
    """Instructions with functions in them, evaluated as the run starts (fixed text is in the messages)."""
    prepare_tools: PrepareTools | None = None
    """Chooses the tools each request offers (`Agent(prepare_tools=...)`)."""
    history_processors: tuple[Processor, ...] = ()
    """Choose what each request sends from the transcript (`_run.history`), before the fit to the window."""


@dataclass(kw_only=True)
class RunState:
    """What a run knows as it goes; the steps read and change only this."""

    messages: list[Message]
    """The transcript: history, then this run's messages."""
    new_index: int
    """Where this run's messages start."""
    instructions_added: bool = False
    """The run put a system message in front of the history (index 0, a new message too)."""
    usage: Usage = field(default_factory=Usage)
    """Live: each response is added as it arrives."""
    turn: int = 0
    """Model requests made in this run."""
    prompt_cleared: bool = False
    """The run's prompt may be stored in its session: the run is set up (instructions, tools) and its input
    guardrails passed. Until then a failed run stores nothing."""
    answer_now: bool = False
    """Ask the next request, and only that one, for an answer without tools (a hook's
    `Reply(answer_next=True)` this turn)."""
    problems: int = 0
    """Unusable answers in a row (empty, or invalid structured output)."""
    failures: dict[str, int] = field(default_factory=dict)
    """Consecutive failed calls per tool."""
    decisions: dict[str, Decision] = field(default_factory=dict)
    """Approvals given for calls waiting in the history (`run(approvals=...)`), by call id."""
    opening: Opening | None = None
    """What the run was started with, for its first moments (`_run.loop`)."""
    saved: int = 0
    """Messages of `messages` already in the session (loaded from it, or appended to it)."""
    step_tools: Mapping[str, Tool[..., Any]] | None = None
    """The tools the last request offered, by the names it offered them under (`prepare_tools`); `None`:
    the run's tools."""
    parents: tuple[Budget, ...] = ()
    """For a run inside a tool (`Agent.as_tool`): the usage and limits of the runs it is part of, innermost
    first. Everything this run consumes is added to each, live, and each one's limits are checked."""
    context_limit: int | None = None
    """A context window learned from the provider refusing a request as too long (`_run.history`)."""
    token_ratio: float = 1.0
    """The provider's count of the last request's tokens over agentkit's estimate (`_run.history.calibrate`)."""
    sent: SentRequest | None = None
    """What the current request sent (`_run.history`, as it sends it; `None` until it does): read by
    `agentkit.instrumentation` for the request's span."""

    def charge(self, usage: Usage) -> None:
        """Add `usage` to this run's usage and to its parents'."""
        self.usage.add(usage)
        for parent in self.parents:
            parent.usage.add(usage)

    def charge_response(self, response: AssistantMessage) -> None:
        """Charge one model response: its usage, and at least one request (a server that reports
        `requests=0`, or no usage at all, still made one)."""
        step = response.usage or Usage(requests=1)
        self.charge(
            Usage(
                requests=max(step.requests, 1),
                input_tokens=step.input_tokens,
                cached_input_tokens=step.cached_input_tokens,
                output_tokens=step.output_tokens,
                reasoning_tokens=step.reasoning_tokens,
                cost_usd=step.cost_usd,
                decisions=step.decisions,
            )
        )

    def exceeded(self, limits: UsageLimits) -> str | None:
        """The first limit exceeded, this run's (`limits`) or a parent's, or `None`."""
        reason = limits.check_after_response(self.usage)
        for parent in self.parents:
            reason = reason or parent.limits.check_after_response(parent.usage)
        return reason


@dataclass(kw_only=True, frozen=True)
class Opening:
    """How a run starts, completed before its first step: the session's messages loaded (with a session),
    the toolsets' tools known, and the approvals checked against the calls the history leaves waiting."""

    instructions: str | None
    prompt: str | list[Any] | None
    approvals: Mapping[str, Decision] | None
    has_callback: bool


@dataclass(kw_only=True, frozen=True)
class Budget:
    """A run's live usage and the limits it must stay within."""

    usage: Usage
    limits: UsageLimits


@dataclass(kw_only=True, frozen=True)
class ParentRun:
    """What a tool that runs an agent (`Agent.as_tool`) needs of the run calling it (`CALLING_RUN`)."""

    budgets: tuple[Budget, ...]
    """The calling run's usage and limits, then its parents'."""
    stream: bool
    approve: Approver | None
    emit: Callable[[Event], None]
    """Puts an event into the calling run's stream (as the tool runs)."""


CALLING_RUN: ContextVar[ParentRun | None] = ContextVar("agentkit_calling_run", default=None)
"""The run whose tool call is running in this task: set by the loop around each call (each runs in a task of
its own), read by a tool that runs an agent (`Agent.as_tool`), so that its sub-run counts in this run."""


@dataclass(frozen=True)
class AskModel:
    pass


@dataclass(frozen=True)
class RunTools:
    response: AssistantMessage
    waiting: tuple[ToolCall, ...] | None = None
    """Only these calls, which waited for approval in the history (the others were answered then)."""


@dataclass(frozen=True)
class TakeAnswer:
    response: AssistantMessage


@dataclass(frozen=True)
class End:
    output: Any
    pending: tuple[ToolCall, ...] = ()
    """Calls waiting for a person's approval (then `output` is `None`)."""


Step = Union[AskModel, RunTools, TakeAnswer, End]
STEPS = (AskModel, RunTools, TakeAnswer, End)
"""The step classes (an item a step yields is either an event or the step that comes next)."""


def start_messages(
    instructions: str | None, history: Sequence[Message], prompt: str | list[Any] | None
) -> tuple[list[Message], int, bool]:
    """The run's transcript (history, the instructions as a system message at the front when the history has
    none, then the prompt), where its new messages start, and whether it put a system message in front of
    the history (a new message too, outside the slice: see `RunResult.new_messages`)."""
    messages = list(history)
    added = bool(instructions) and not (messages and isinstance(messages[0], SystemMessage))
    if added:
        messages.insert(0, SystemMessage(content=instructions or ""))
    new_index = len(messages) if history else 0
    if prompt is not None:
        messages.append(UserMessage(content=prompt))
    return messages, new_index, added and bool(history)


def request_parameters(
    spec: RunSpec[Any], offered: Mapping[str, Tool[..., Any]] | None = None
) -> ModelRequestParameters:
    """Tools and output format offered on every request of this run (the output mode chosen here); `offered`
    replaces the run's tools (`prepare_tools`)."""
    tools = [t.definition for t in (spec.tools if offered is None else offered).values()]
    if spec.output.is_text:
        return ModelRequestParameters(tools=tools)
    profile = spec.model.profile
    mode = choose_mode(spec.output.mode, profile, with_tools=bool(tools), model=spec.model.model_name)
    if mode == "tool":
        return ModelRequestParameters(tools=[*tools, spec.output.tool_definition()], tool_choice="required")
    assert spec.output.schema is not None
    fmt = ResponseFormat(
        name=FINAL_RESULT_TOOL,
        schema=spec.output.schema,
        mode=mode,
    )
    return ModelRequestParameters(tools=tools, response_format=fmt)


def new_state(
    spec: RunSpec[Any],
    messages: list[Message],
    new_index: int,
    *,
    instructions_added: bool = False,
    usage: Usage | None = None,
) -> RunState:
    """The state a run starts from. Pass `usage` to count into a live `Usage` of your own (a parent run's)."""
    return RunState(
        messages=messages,
        new_index=new_index,
        instructions_added=instructions_added,
        usage=usage if usage is not None else Usage(),
    )
