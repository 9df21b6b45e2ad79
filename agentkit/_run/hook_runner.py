"""How a run calls its hooks (`agentkit.hooks`): `HookRunner`, built once per agent (and per run given
`hooks=`, or when the model's profile installs hooks: `ModelProfile.policy`), holds for each hook method
only the objects that have it, so the loop asks nothing of a hook that does not do anything; and the run's
other per-run functions (dynamic instructions, `prepare_tools`).

The loop (`_run.loop`) calls `spec.hooks` (a `HookRunner`, or `None` when no hook does anything) at its steps:
`start` (before_run, guardrails that do not run concurrently), `request` (before_request; the first
request raced against the concurrent input guardrails), `after_response`, `check_tool_call`, `check_call`
(before_tool_call), `after_tool_call`, `check_answer`, `check_output` (output guardrails) and `after_run`.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal, TypeVar, Union

from .._support.threads import run_in_thread
from ..context import RunContext
from ..events import Event, GuardrailTriggered, ResponseFinished, ToolArgumentsChanged, ToolCallDenied
from ..exceptions import AgentkitError, GuardrailTripped, HookError, UserError
from ..hooks import HOOK_METHODS, Deny, Hooks, InputGuardrail, ModelRequest, OutputGuardrail, Reply
from ..messages import AssistantMessage, Message, SystemMessage, TextPart, ToolMessage, UserMessage
from ..models import ModelRequestParameters
from ..settings import ModelSettings
from ..tool import Tool
from ..usage import UsageView
from .output import FINAL_RESULT_TOOL
from .tool_calls import CallOutcome, ValidatedCall, answer, serialize_result, validate_call

if TYPE_CHECKING:
    from ..result import RunResult
    from .state import RunSpec, RunState

__all__ = [
    "DENIED_BY_HOOK",
    "HookRunner",
    "PrepareTools",
    "build_runner",
    "call_user",
    "hook_list",
    "insert_instructions",
    "run_context",
    "split_instructions",
    "step_tools",
]

E = TypeVar("E")

DENIED_BY_HOOK = "Not executed: the call was denied: {reason}"

PrepareTools = Callable[
    [RunContext[Any], list[Tool[..., Any]]],
    Union[Sequence[Tool[..., Any]], Awaitable[Sequence[Tool[..., Any]]]],
]
"""`Agent(prepare_tools=...)`: `(ctx, tools) -> tools to offer`, sync or async, before each request."""

InstructionPart = Union[str, Callable[[RunContext[Any]], Any]]


async def _call(function: Callable[..., Any], *args: Any) -> Any:
    """Call a sync or async function (or one returning an awaitable) and give its value."""
    value = function(*args)
    if inspect.isawaitable(value):
        value = await value
    return value


def run_context(spec: RunSpec[Any], state: RunState, **call: Any) -> RunContext[Any]:
    """The `RunContext` a hook (or an instructions function, `prepare_tools`) gets; `call` sets the
    tool-call fields."""
    return RunContext(
        deps=spec.deps,
        usage=UsageView(state.usage),
        messages=state.messages,
        model_name=spec.model.model_name,
        run_step=state.turn,
        agent_name=spec.name,
        **call,
    )


@dataclass(frozen=True)
class _Method:
    owner: str
    """The hook's class name, for error messages."""
    name: str
    function: Callable[..., Any]

    async def __call__(self, *args: Any) -> Any:
        """The method called (sync or async); an exception that is not agentkit's raised as a `HookError`."""
        try:
            return await _call(self.function, *args)
        except AgentkitError:
            raise
        except Exception as exc:
            raise _hook_error(f"{self.owner}.{self.name}", exc) from exc


def _hook_error(where: str, exc: Exception, *, guardrail: str | None = None) -> HookError:
    """The run's error for an exception a hook (or a guardrail's check) raised; the run adds its transcript."""
    try:
        detail = str(exc)
    except Exception:  # an exception whose text cannot be had: its type says enough
        detail = ""
    text = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
    return HookError(f"{where} raised {text}", hook=where, guardrail=guardrail)


async def call_user(where: str, function: Callable[..., Any], *args: Any) -> Any:
    """A user's function that is not a hook (an instructions function, `prepare_tools`, a history
    processor) called as hooks are: an exception that is not agentkit's raised as a `HookError` naming
    `where`, for the run to add its transcript."""
    try:
        return await _call(function, *args)
    except AgentkitError:
        raise
    except Exception as exc:
        raise _hook_error(where, exc) from exc


def _method(hook: object, name: str) -> _Method | None:
    """The hook's method `name`, unless it is missing or `Hooks`'s own no-op."""
    function = getattr(hook, name, None)
    if function is None or getattr(type(hook), name, None) is getattr(Hooks, name):
        return None
    if not callable(function):
        raise UserError(f"The hook {hook!r} has a {name!r} that is not a method.")
    return _Method(owner=type(hook).__name__, name=name, function=function)


class HookRunner:
    """The run's hooks, sorted once by the methods they have."""

    def __init__(self, hooks: Sequence[object]) -> None:
        self.hooks = tuple(hooks)
        found: dict[str, list[_Method]] = {name: [] for name in HOOK_METHODS}
        answer_checkers: list[object] = []
        self.input_guardrails: list[InputGuardrail] = []
        self.output_guardrails: list[OutputGuardrail] = []
        for hook in self.hooks:
            if isinstance(hook, InputGuardrail):
                self.input_guardrails.append(hook)
                continue
            if isinstance(hook, OutputGuardrail):
                self.output_guardrails.append(hook)
                continue
            if isinstance(hook, type):
                raise UserError(f"hooks=[...] takes hook objects, not the class {hook.__name__}: add ().")
            methods = {name: _method(hook, name) for name in HOOK_METHODS}
            if not isinstance(hook, Hooks) and not any(methods.values()):
                raise UserError(
                    f"{hook!r} is not a hook: give hooks=[...] objects with any of the methods "
                    f"{', '.join(HOOK_METHODS)} (or Hooks subclasses), or InputGuardrail / OutputGuardrail."
                )
            for name, method in methods.items():
                if method is not None:
                    found[name].append(method)
            if methods["check_answer"] is not None:
                answer_checkers.append(hook)
        self._before_run = tuple(found["before_run"])
        self._before_request = tuple(found["before_request"])
        self._after_response = tuple(found["after_response"])
        self._check_tool_call = tuple(found["check_tool_call"])
        self._check_answer = tuple(found["check_answer"])
        self._answer_checkers = tuple(answer_checkers)
        self._before_tool_call = tuple(found["before_tool_call"])
        self._after_tool_call = tuple(found["after_tool_call"])
        self._after_run = tuple(found["after_run"])
        self._blocking_inputs = tuple(g for g in self.input_guardrails if not g.concurrent)
        self._concurrent_inputs = tuple(g for g in self.input_guardrails if g.concurrent)
        self.checks_calls = bool(self._before_tool_call)
        """A hook has `before_tool_call`."""
        self.checks_results = bool(self._after_tool_call)
        """A hook has `after_tool_call`."""
        self.active = any(found.values()) or bool(self.input_guardrails or self.output_guardrails)
        """Some hook does something."""

    # --- the run's start and end ----------------------------------------------------------------------

    async def start(self, spec: RunSpec[Any], state: RunState) -> AsyncGenerator[Event, None]:
        """`before_run`, then the input guardrails that run before the first request."""
        if self._before_run:
            ctx = run_context(spec, state)
            for method in self._before_run:
                await method(ctx)
        if self._blocking_inputs:
            tripped = await _check_inputs(self._blocking_inputs, spec, state)
            if tripped is not None:
                yield tripped.event
                raise tripped.error(state)
        if not self._concurrent_inputs:
            state.prompt_cleared = True

    async def check_output(
        self, spec: RunSpec[Any], state: RunState, output: Any
    ) -> AsyncGenerator[Event, None]:
        """The output guardrails, in order: the first to trip stops the run."""
        ctx = run_context(spec, state)
        for guardrail in self.output_guardrails:
            verdict = await _guardrail_call(guardrail, ctx, output)
            if isinstance(verdict, Deny):
                tripped = _Tripped(guardrail.label, "output", verdict.reason)
                yield tripped.event
                raise tripped.error(state)

    async def after_run(
        self, spec: RunSpec[Any], state: RunState, result: RunResult[Any] | None, error: Exception | None
    ) -> None:
        if self._after_run:
            ctx = run_context(spec, state)
            try:
                for method in self._after_run:
                    await method(ctx, result, error)
            except (
                HookError
            ) as failed:  # raised after the run's own error handling: the transcript added here
                failed.messages = list(state.messages)
                failed.usage = state.usage
                raise

    # --- model requests -------------------------------------------------------------------------------

    async def request(
        self, spec: RunSpec[Any], state: RunState, parameters: ModelRequestParameters
    ) -> tuple[Sequence[Message], ModelRequestParameters, ModelSettings]:
        """What the next request sends: the transcript, `parameters` and the run's settings, as the
        `before_request` hooks change them (each sees the one before's request)."""
        if not self._before_request:
            return state.messages, parameters, spec.settings
        original = request = ModelRequest(
            messages=list(state.messages),
            tools=tuple(parameters.tools),
            tool_choice=parameters.tool_choice,
            settings=spec.settings,
        )
        ctx = run_context(spec, state)
        for method in self._before_request:
            changed = await method(ctx, request)
            if changed is not None:
                if not isinstance(changed, ModelRequest):
                    raise UserError(
                        f"{method.owner}.before_request returned {type(changed).__name__}: return a "
                        "ModelRequest (request.replace(...)) or None."
                    )
                request = changed
        if request is original:  # nothing changed: the run's own objects go out
            return state.messages, parameters, spec.settings
        asked = replace(parameters, tools=list(request.tools), tool_choice=request.tool_choice)
        return list(request.messages), asked, request.settings

    def guard_first_request(
        self, spec: RunSpec[Any], state: RunState
    ) -> asyncio.Task[_Tripped | None] | None:
        """For the run's first request: the concurrent input guardrails, started (or `None`)."""
        if not self._concurrent_inputs or state.turn != 1:
            return None
        return asyncio.ensure_future(_check_inputs(self._concurrent_inputs, spec, state))

    async def after_response(self, spec: RunSpec[Any], state: RunState, response: AssistantMessage) -> None:
        if self._after_response:
            ctx = run_context(spec, state)
            for method in self._after_response:
                await method(ctx, response)

    # --- answers --------------------------------------------------------------------------------------

    def may_check_answer(self) -> bool:
        """Whether a `check_answer` hook may still question an answer (a streamed answer is provisional)."""
        return any(getattr(hook, "may_check_answer", True) for hook in self._answer_checkers)

    async def check_answer(self, spec: RunSpec[Any], state: RunState, answer: AssistantMessage) -> str | None:
        """`check_answer` on an answer (the transcript's last message): the first feedback a hook gives."""
        if not self._check_answer:
            return None
        ctx = run_context(spec, state)
        for method in self._check_answer:
            feedback = await method(ctx, answer)
            if feedback is None:
                continue
            if not isinstance(feedback, str):
                raise UserError(
                    f"{method.owner}.check_answer returned {type(feedback).__name__}: return the feedback to "
                    "send (a str) or None."
                )
            return feedback
        return None

    # --- tool calls -----------------------------------------------------------------------------------

    async def check_tool_call(self, spec: RunSpec[Any], state: RunState, call: ValidatedCall) -> Reply | None:
        """`check_tool_call` on a valid call as its turn is taken in: the first `Reply` a hook gives."""
        if not self._check_tool_call:
            return None
        ctx = run_context(spec, state, tool_name=call.call.name, tool_call_id=call.call.id)
        for method in self._check_tool_call:
            verdict = await method(ctx, call)
            if verdict is None:
                continue
            if not isinstance(verdict, Reply):
                raise UserError(
                    f"{method.owner}.check_tool_call returned {type(verdict).__name__}: return "
                    "Reply(content) or None."
                )
            return verdict
        return None

    async def check_call(
        self, spec: RunSpec[Any], state: RunState, call: ValidatedCall, tools: Mapping[str, Tool[..., Any]]
    ) -> tuple[ValidatedCall, CallOutcome | None, Event | None]:
        """`before_tool_call` on a call about to run: the call (with changed arguments validated again), its
        answer if a hook denied it, and the event saying what changed (or `None`)."""
        original = call
        ctx = run_context(spec, state, tool_name=call.call.name, tool_call_id=call.call.id)
        for method in self._before_tool_call:
            verdict = await method(ctx, call.call, dict(call.arguments))
            if isinstance(verdict, Deny):
                outcome = answer(call.call, DENIED_BY_HOOK.format(reason=verdict.reason), is_error=True)
                return original, outcome, ToolCallDenied(call=original.call, reason=verdict.reason)
            if verdict is None or verdict == call.arguments:  # the same arguments: nothing changes
                continue
            if not isinstance(verdict, dict):
                raise UserError(
                    f"{method.owner}.before_tool_call returned {type(verdict).__name__}: return the "
                    "arguments (a dict), Deny(reason) or None."
                )
            call = _revalidated(spec, call, verdict, tools, method.owner)
        if call is original:
            return call, None, None
        event = ToolArgumentsChanged(
            call=original.call, arguments=call.arguments, previous=original.arguments
        )
        return call, None, event

    async def after_tool_call(
        self, ctx: RunContext[Any], call: ValidatedCall, outcome: CallOutcome
    ) -> CallOutcome:
        """`after_tool_call` on a call that ran: the outcome with the message the hooks give."""
        message = outcome.message
        for method in self._after_tool_call:
            changed = await method(ctx, call.call, message)
            if changed is None:
                continue
            if not isinstance(changed, ToolMessage):
                raise UserError(
                    f"{method.owner}.after_tool_call returned {type(changed).__name__}: return a ToolMessage "
                    "(dataclasses.replace(result, content=...)) or None."
                )
            message = changed
        return outcome if message is outcome.message else replace(outcome, message=message)


def _revalidated(
    spec: RunSpec[Any],
    call: ValidatedCall,
    arguments: dict[str, Any],
    tools: Mapping[str, Tool[..., Any]],
    owner: str,
) -> ValidatedCall:
    changed = replace(call.call, arguments=serialize_result(arguments))
    checked = validate_call(changed, tools=tools, output=spec.output, retries=call.budget)
    if checked.problem is not None or checked.call is not changed:  # not valid as given (even if repairable)
        raise UserError(
            f"{owner}.before_tool_call changed the arguments of {call.call.name!r} to ones that do not validate: "
            f"{checked.problem or 'they needed repair'}"
        )
    return checked


@dataclass(frozen=True)
class _Tripped:
    guardrail: str
    kind: Literal["input", "output"]
    reason: str

    @property
    def event(self) -> GuardrailTriggered:
        return GuardrailTriggered(guardrail=self.guardrail, guardrail_kind=self.kind, reason=self.reason)

    def error(self, state: RunState) -> GuardrailTripped:
        return GuardrailTripped(
            f"The {self.kind} guardrail {self.guardrail!r} tripped: {self.reason}",
            guardrail=self.guardrail,
            kind=self.kind,
            reason=self.reason,
            messages=state.messages,
            usage=state.usage,
        )


async def _check_inputs(
    guardrails: Sequence[InputGuardrail], spec: RunSpec[Any], state: RunState
) -> _Tripped | None:
    """The input guardrails, together: the first (in order) that trips, or `None`."""
    ctx = run_context(spec, state)
    text = _input_text(state.messages)
    checks = [asyncio.ensure_future(_guardrail_call(g, ctx, text)) for g in guardrails]
    try:
        verdicts = await asyncio.gather(*checks)
    finally:  # one failed, or the run stopped waiting: the others are not needed
        for check in checks:
            check.cancel()
        await asyncio.gather(*checks, return_exceptions=True)
    for guardrail, verdict in zip(guardrails, verdicts, strict=True):
        if isinstance(verdict, Deny):
            return _Tripped(guardrail.label, "input", verdict.reason)
    return None


async def _guardrail_call(guardrail: InputGuardrail | OutputGuardrail, *args: Any) -> Any:
    """A guardrail's check: an async one awaited, a sync one run in a worker thread (as sync tools are), so
    that a slow check does not hold up the request it runs beside. An exception that is not agentkit's is
    raised as a `HookError`."""
    check: Callable[..., Any] = guardrail.check
    try:
        if inspect.iscoroutinefunction(check) or inspect.iscoroutinefunction(type(check).__call__):
            return await check(*args)
        value = await run_in_thread(check, *args)
        return await value if inspect.isawaitable(value) else value
    except AgentkitError:
        raise
    except Exception as exc:
        kind = "input" if isinstance(guardrail, InputGuardrail) else "output"
        raise _hook_error(f"{kind} guardrail {guardrail.label!r}", exc, guardrail=guardrail.label) from exc


def _input_text(messages: Sequence[Message]) -> str:
    """The text of the last user message (not agentkit's feedback): the run's input."""
    for message in reversed(messages):
        if isinstance(message, UserMessage) and not message.feedback:
            content = message.content
            if isinstance(content, str):
                return content
            return "\n".join(p.text for p in content if isinstance(p, TextPart))
    return ""


async def guarded(
    events: AsyncGenerator[E, None], checks: asyncio.Task[_Tripped | None], state: RunState
) -> AsyncGenerator[E | GuardrailTriggered, None]:
    """The first request's events while the input guardrails run: held back until every guardrail has
    passed (then passed on as they come). If one trips, the request is cancelled (the stream closed), what
    was held back dropped, `GuardrailTriggered` yielded and `GuardrailTripped` raised."""
    held: list[E] = []
    async with aclosing(events) as stream:
        step: asyncio.Future[E] = asyncio.ensure_future(anext(stream))
        try:
            while True:
                if not checks.done():
                    both: set[asyncio.Future[Any]] = {step, checks}
                    await asyncio.wait(both, return_when=asyncio.FIRST_COMPLETED)
                if checks.done():
                    if (tripped := checks.result()) is not None:
                        yield tripped.event
                        raise tripped.error(state)
                    state.prompt_cleared = True
                    while held:
                        yield held.pop(0)
                try:
                    event = await step  # done, or (the guardrails passed) the stream's next event
                except StopAsyncIteration:
                    return
                if isinstance(event, ResponseFinished) and (tripped := await checks) is not None:
                    # the guardrails outlasted the request: its answer is dropped, its cost counted
                    state.charge_response(event.message)
                    yield tripped.event
                    raise tripped.error(state)
                if checks.done():
                    while held:
                        yield held.pop(0)
                    yield event
                else:
                    held.append(event)
                step = asyncio.ensure_future(anext(stream))
        finally:
            await _cancel(step)  # before the stream is closed (it cannot be while it runs)
            await _cancel(checks)


async def _cancel(future: asyncio.Future[Any]) -> None:
    if not future.done():
        future.cancel()
    await asyncio.gather(future, return_exceptions=True)


# --- dynamic instructions, per-step tools --------------------------------------------------------------


def split_instructions(instructions: object) -> tuple[str | None, tuple[InstructionPart, ...] | None]:
    """`Agent(instructions=...)` as fixed text, or `(None, parts)` when a part is a function (evaluated
    when each run starts). Raises `UserError` for anything else."""
    if instructions is None or isinstance(instructions, str):
        return instructions, None
    parts: tuple[Any, ...] = (instructions,) if callable(instructions) else tuple(instructions)  # type: ignore[arg-type]
    for part in parts:
        if not (isinstance(part, str) or callable(part)):
            raise UserError(
                f"instructions takes text, a function of the RunContext, or a list of them; not {type(part).__name__}."
            )
    if all(isinstance(p, str) for p in parts):
        return _joined(parts), None
    return None, parts


def _joined(parts: Sequence[object]) -> str | None:
    return "\n\n".join(p for p in parts if isinstance(p, str) and p) or None


async def insert_instructions(spec: RunSpec[Any], state: RunState, parts: Sequence[InstructionPart]) -> None:
    """Evaluate the instructions' functions (once, as the run starts) and put the text in front of the
    transcript, as fixed instructions are when the history has no system message."""
    ctx = run_context(spec, state)
    texts: list[object] = []
    for part in parts:
        name = getattr(part, "__name__", repr(part))
        value = (
            part if isinstance(part, str) else await call_user(f"instructions function {name!r}", part, ctx)
        )
        if value is not None and not isinstance(value, str):
            raise UserError(
                f"The instructions function {name} returned {type(value).__name__}: return text or None."
            )
        texts.append(value)
    text = _joined(texts)
    messages = state.messages
    if not text or (messages and isinstance(messages[0], SystemMessage)):
        return
    messages.insert(0, SystemMessage(content=text))
    if state.new_index > 0:  # a history: the system message goes in front of it, outside the new messages
        state.new_index += 1
        state.saved += 1
        state.instructions_added = True


async def step_tools(spec: RunSpec[Any], state: RunState, prepare: PrepareTools) -> dict[str, Tool[..., Any]]:
    """The tools this step offers: `prepare(ctx, tools)`, checked."""
    name = getattr(prepare, "__name__", None) or type(prepare).__name__
    offered = await call_user(
        f"prepare_tools {name!r}", prepare, run_context(spec, state), list(spec.tools.values())
    )
    tools: dict[str, Tool[..., Any]] = {}
    for item in offered:
        if not isinstance(item, Tool):
            raise UserError(f"prepare_tools returned a {type(item).__name__}: return Tool objects.")
        if item.name in tools or item.name == FINAL_RESULT_TOOL:
            raise UserError(f"prepare_tools returned two tools named {item.name!r} (or a reserved name).")
        tools[item.name] = item
    return tools


def hook_list(hooks: object) -> list[object]:
    """`hooks=` as a list; anything but a list (or tuple) of objects is refused."""
    if isinstance(hooks, (str, bytes)) or not isinstance(hooks, Sequence):
        raise UserError("hooks takes a list of hook objects: hooks=[MyHooks()].")
    return list(hooks)


def build_runner(hooks: object) -> HookRunner | None:
    """A `HookRunner` for `hooks`, or `None` when none of them does anything."""
    runner = HookRunner(hook_list(hooks))
    return runner if runner.active else None
