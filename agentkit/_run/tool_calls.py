"""One turn's tool calls: each decoded and validated once (`ValidatedCall`), then run concurrently.

`validate_call` is the only place a call's JSON text is decoded: the hooks that check calls
(`check_tool_call`: the grounding check, the repeated-call steering), the final-result tool and the function
all read the `ValidatedCall` it returns, and its `key` is the one definition of "the same call". `run_concurrently` runs calls as tasks (a `sequential` tool alone, between
batches) and yields each outcome as it finishes; closing it early cancels the calls still running.
A call that fails (unknown tool, invalid arguments, `ModelRetry`, a timeout, an exception) answers the model
with a message saying what to fix (for an unknown tool, the closest real name).

Arguments that fail to decode or validate are first repaired locally when the intent is unambiguous
(`_schema.repair`): the `ValidatedCall` then holds the repaired call (`ToolCall.original_arguments` keeps what the
model wrote), and `validate_calls` splits two objects written as one call's arguments into two calls.
Arguments that are not a JSON object and cannot be repaired are kept in `original_arguments` too, the call
holding `{}` in their place: a request never carries invalid JSON back (Gemini refuses the whole request). A
result longer than the tool's `max_result_chars` is cut, and the model told its length. A tool may return
images (an `ImagePart`, or a list of `TextPart`/`ImagePart`): the message keeps its text, noting the images,
and the images beside it (`ToolMessage.images`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import difflib
import json
import logging
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from .._schema.function import ArgumentsPastLimits, parse_arguments
from .._schema.repair import coerce_to_schema, repair_text, split_objects
from .._support.unicode import valid_text
from ..context import RunContext
from ..exceptions import (
    AgentkitError,
    ModelRetry,
    ToolArgumentsError,
    ToolExecutionError,
    UsageLimitExceeded,
)
from ..messages import ImagePart, Message, TextPart, ToolCall, ToolMessage, unique_call_id
from ..tool import DEFAULT_MAX_RESULT_CHARS, Tool
from .output import FINAL_RESULT_TOOL, OutputSpec
from .retry import call_with_retry

__all__ = [
    "CallOutcome",
    "Inbox",
    "SubRunFailed",
    "SubRunOutput",
    "ValidatedCall",
    "execute",
    "result_parts",
    "run_concurrently",
    "serialize_result",
    "validate_call",
    "validate_calls",
]

TRUNCATED = "\n\n[Truncated: the result was {length:,} characters long; only the first {shown:,} are shown.]"

KEPT_AS_WRITTEN = "(This call is shown with arguments {} here, since what you wrote is not a JSON object.)"

logger = logging.getLogger("agentkit")

CallKey = tuple[str, str]
T = TypeVar("T")


def serialize_result(value: object) -> str:
    """A tool's return value as message text: `str` as is, anything else as compact JSON, else its `str()`
    (raises `UnwritableResult` when that raises too)."""
    if isinstance(value, str):
        return value
    from pydantic_core import PydanticSerializationError, to_json, to_jsonable_python

    try:
        return to_json(value).decode()
    except PydanticSerializationError:
        pass
    try:  # JSON that UTF-8 cannot encode (lone surrogates): kept as text, for `valid_text` to replace
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=to_jsonable_python)
    except (ValueError, TypeError, RecursionError):  # PydanticSerializationError is a ValueError
        pass
    try:
        return str(value)
    except Exception as exc:
        raise UnwritableResult(f"str() raised {describe(exc)}") from exc


class UnwritableResult(Exception):
    """A tool's return value that cannot be turned into text (neither JSON nor its `str()`)."""


def describe(exc: BaseException) -> str:
    """`TypeName: message`, even for an exception whose `str()` raises (`TypeName (its message could not be
    read)`)."""
    try:
        return f"{type(exc).__name__}: {exc}"
    except Exception:
        return f"{type(exc).__name__} (its message could not be read)"


def result_parts(value: object) -> tuple[str, list[ImagePart]]:
    """A tool's return value as message text and images: an `ImagePart`, or a list of `TextPart` and
    `ImagePart` (not empty), gives its text parts joined by newlines and its images; anything else,
    `serialize_result(value)` and no images."""
    parts: list[object] = (
        [value] if isinstance(value, ImagePart) else value if isinstance(value, list) else []
    )
    if not parts or not all(isinstance(p, (TextPart, ImagePart)) for p in parts):
        return serialize_result(value), []
    texts = [p.text for p in parts if isinstance(p, TextPart)]
    images = [p for p in parts if isinstance(p, ImagePart)]
    return "\n".join(texts), images


def images_note(count: int) -> str:
    """What a tool message's text says of the images that come with it."""
    return f"[{count} image{'s' if count > 1 else ''} attached]"


@dataclass(kw_only=True, frozen=True)
class ValidatedCall:
    """A tool call with its arguments decoded and validated, once, for every later reader: what a hook's
    `check_tool_call(ctx, call)` gets (public as `agentkit.ValidatedCall`; build none yourself)."""

    call: ToolCall
    tool: Tool[..., Any] | None
    """The tool called (`None` for an unknown name and for the final-result tool)."""
    decoded: Any
    """The arguments as the model wrote them, decoded from JSON (`{}` for empty or `null`); for a repaired
    call, as repaired; `None` when they are not a JSON object (then `call.arguments` is `{}`, and
    `call.original_arguments` what the model wrote)."""
    arguments: dict[str, Any]
    """The validated keyword arguments for the function (empty when `problem` is set)."""
    final: bool = False
    """The call is the final-result tool's (structured output)."""
    output: Any = None
    """For the final-result tool: the validated answer."""
    problem: str | None = None
    """Why the call cannot run, written for the model (unknown tool, invalid arguments)."""
    budget: int
    """Consecutive failures of this tool the run tolerates."""
    key: CallKey
    """What makes two calls the same call: the tool's name and the validated arguments (`5000` and `"5000"`
    for an `int` are the same), or the validated answer for the final-result tool."""

    @property
    def repaired(self) -> bool:
        """agentkit repaired the call locally (`call.original_arguments` keeps what the model wrote)."""
        return self.problem is None and self.call.original_arguments is not None


def validate_calls(
    calls: Sequence[ToolCall],
    *,
    tools: Mapping[str, Tool[..., Any]],
    output: OutputSpec[Any],
    retries: int,
    taken_ids: Iterable[str] = (),
) -> list[ValidatedCall]:
    """`validate_call` for each of a turn's calls; arguments holding two objects back to back (`{...}{...}`)
    become two calls when each validates for the tool (the first keeps the id, the next get fresh ones)."""
    taken = {*taken_ids, *(c.id for c in calls)}
    validated: list[ValidatedCall] = []
    for call in calls:
        single = validate_call(call, tools=tools, output=output, retries=retries)
        # well-formed arguments are decoded once; only a call that failed or needed a repair may be two
        # objects back to back (which a repair would have cut down to the last one)
        pieces = None
        if (single.problem is not None or single.call is not call) and call.name in tools:
            pieces = _split(call.arguments)
        if pieces is not None:
            split = [
                validate_call(
                    dataclasses.replace(
                        call,
                        id=call.id if index == 0 else unique_call_id("", taken),
                        arguments=json.dumps(piece, ensure_ascii=False),
                        original_arguments=call.original_arguments or call.arguments,
                    ),
                    tools=tools,
                    output=output,
                    retries=retries,
                )
                for index, piece in enumerate(pieces)
            ]
            if all(v.problem is None for v in split):
                validated.extend(split)
                continue
        validated.append(single)
    return validated


def _split(text: str) -> list[dict[str, Any]] | None:
    """`split_objects(text)`, or `None` when the text is past what the decoder takes (nested too deeply)."""
    try:
        return split_objects(text)
    except RecursionError:
        return None


def validate_call(
    call: ToolCall,
    *,
    tools: Mapping[str, Tool[..., Any]],
    output: OutputSpec[Any],
    retries: int,
) -> ValidatedCall:
    """Decode `call`'s arguments once and validate them for its tool (or for the output type); arguments
    that fail are repaired when the intent is unambiguous, else the problem is told to the model."""
    final = call.name == FINAL_RESULT_TOOL and not output.is_text
    tool = None if final else tools.get(call.name)
    budget = retries if tool is None or tool.retries is None else tool.retries
    raw_key = (call.name, call.arguments.strip())
    if tool is None and not final:
        return ValidatedCall(
            call=call,
            tool=None,
            decoded=None,
            arguments={},
            problem=_unknown_tool(call.name, tools),
            budget=budget,
            key=raw_key,
        )
    decoded: dict[str, Any] | None = None
    try:
        decoded = parse_arguments(call.name, call.arguments)
        return _validated(call, tool, output, budget, final=final, decoded=decoded)
    except ToolArgumentsError as exc:
        repaired = _try_repair(call, tool, output, budget, final=final, decoded=decoded, problem=exc)
        if repaired is not None:
            return repaired
        fix = (
            f"Fix the answer and call {FINAL_RESULT_TOOL} again."
            if final
            else "Fix the arguments and call the tool again."
        )
        return ValidatedCall(
            call=call if decoded is not None else _kept_as_written(call),
            tool=tool,
            decoded=decoded,
            arguments={},
            final=final,
            problem=f"{exc}\n{fix}" if decoded is not None else f"{exc}\n{KEPT_AS_WRITTEN}\n{fix}",
            budget=budget,
            key=raw_key,
        )


def _kept_as_written(call: ToolCall) -> ToolCall:
    """A call whose arguments are not a JSON object and could not be repaired: `{}` goes back to the model
    in its place (providers refuse a history holding anything else), and `original_arguments` keeps what
    the model wrote. `{}` because it claims nothing: no value the model did not write whole."""
    return dataclasses.replace(
        call, arguments="{}", original_arguments=call.original_arguments or call.arguments
    )


def _validated(
    call: ToolCall,
    tool: Tool[..., Any] | None,
    output: OutputSpec[Any],
    budget: int,
    *,
    final: bool,
    decoded: Any,
) -> ValidatedCall:
    """The call validated, its arguments `decoded` (the one decoding of them); raises `ToolArgumentsError`,
    also for arguments a validator failed on with another exception (a bad reply ends no more than the
    call: the model is told)."""
    try:
        return _validate(call, tool, output, budget, final=final, decoded=decoded)
    except AgentkitError:
        raise  # ToolArgumentsError; a UserError is misuse, not a bad reply
    except Exception as exc:
        logger.warning("validating the arguments of a call to %r raised %s", call.name, describe(exc))
        problem = f"$: the arguments could not be validated ({describe(exc)})"
        raise ToolArgumentsError(call.name, [problem]) from exc


def _try_repair(
    call: ToolCall,
    tool: Tool[..., Any] | None,
    output: OutputSpec[Any],
    budget: int,
    *,
    final: bool,
    decoded: dict[str, Any] | None,
    problem: ToolArgumentsError,
) -> ValidatedCall | None:
    """`_repaired`, or `None` for arguments past the limits (JSON, not malformed: nothing to repair) and when
    the repair itself fails on text past what it can take: the model gets the original problem."""
    if isinstance(problem, ArgumentsPastLimits):
        return None
    try:
        return _repaired(call, tool, output, budget, final=final, decoded=decoded)
    except (RecursionError, ValueError) as exc:
        logger.debug("no repair of a call to %r: %s", call.name, describe(exc))
        return None


def _validate(
    call: ToolCall,
    tool: Tool[..., Any] | None,
    output: OutputSpec[Any],
    budget: int,
    *,
    final: bool,
    decoded: Any,
) -> ValidatedCall:
    if final:
        value = output.validate(decoded)
        return ValidatedCall(
            call=call,
            tool=None,
            decoded=decoded,
            arguments={},
            final=True,
            output=value,
            budget=budget,
            key=(call.name, _canonical(value)),
        )
    assert tool is not None
    arguments = tool.validate_arguments(decoded)
    key = (call.name, _canonical({k: arguments[k] for k in sorted(arguments)}))
    return ValidatedCall(call=call, tool=tool, decoded=decoded, arguments=arguments, budget=budget, key=key)


def _repaired(
    call: ToolCall,
    tool: Tool[..., Any] | None,
    output: OutputSpec[Any],
    budget: int,
    *,
    final: bool,
    decoded: dict[str, Any] | None,
) -> ValidatedCall | None:
    """The call with its arguments repaired (`_schema.repair`), if that gives arguments that validate (`decoded`:
    the arguments as decoded, `None` when they are not a JSON object)."""
    text = repair_text(call.arguments)
    if text is not None:
        decoded = text
    if decoded is None:
        return None
    schema = tool.parameters if tool is not None else output.schema
    coerced = coerce_to_schema(decoded, schema) if schema else decoded
    if text is None and coerced is decoded:
        return None  # nothing to repair
    decoded = coerced
    fixed = dataclasses.replace(
        call,
        arguments=json.dumps(decoded, ensure_ascii=False),
        original_arguments=call.original_arguments or call.arguments,
    )
    try:
        validated = _validated(fixed, tool, output, budget, final=final, decoded=decoded)
    except ToolArgumentsError:
        return None
    logger.info(
        "repaired the arguments of a call to %r: %s -> %s", call.name, call.arguments, fixed.arguments
    )
    return validated


def _unknown_tool(name: str, tools: Mapping[str, Tool[..., Any]]) -> str:
    names = ", ".join(sorted(tools)) or "none"
    close = difflib.get_close_matches(name, list(tools), n=1, cutoff=0.6)
    if not close:
        lowered = {n.lower(): n for n in tools}
        close = [lowered[name.lower()]] if name.lower() in lowered else []
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return f"Unknown tool {name!r}.{hint} Available tools: {names}."


def _canonical(value: object) -> str:
    try:
        return serialize_result(value)
    except Exception:  # pragma: no cover - a value that cannot be written is never the same as another
        return repr(object())


@dataclass(kw_only=True, frozen=True)
class CallOutcome:
    """What one call gave: the message for the model, and whether it counts as a failure."""

    message: ToolMessage
    failed: bool = False
    """Charged to the tool's budget of consecutive failures."""
    ran: bool = False
    """The function was called."""
    duration_s: float = 0.0
    error: Exception | None = None
    """The exception the function raised (`ModelRetry` and timeouts included), for tracing."""
    attempts: int = 1
    """Times the function was called (more than 1 when `@tool(retry=...)` ran it again)."""


@dataclass(kw_only=True, frozen=True)
class SubRunOutput:
    """What a tool that runs an agent (`Agent.as_tool`) returns: the output for the model, and the sub-run's
    transcript, which `execute` keeps on the call's `ToolMessage` (`transcript`)."""

    output: object
    transcript: list[Message]


class SubRunFailed(ModelRetry):
    """Raised by such a tool when its run failed: a tool error for the model, the transcript kept as well.
    (It pickles, as a durable run's step errors must: `transcript` has a default for that.)"""

    def __init__(self, message: str, *, transcript: list[Message] | None = None) -> None:
        super().__init__(message)
        self.transcript = transcript


def answer(
    call: ToolCall, content: str, *, failed: bool = False, is_error: bool | None = None
) -> CallOutcome:
    """An outcome for a call that did not run."""
    error = failed if is_error is None else is_error
    message = ToolMessage(tool_call_id=call.id, name=call.name, content=valid_text(content), is_error=error)
    return CallOutcome(message=message, failed=failed)


async def execute(
    call: ValidatedCall, ctx: RunContext[Any], *, raise_tool_errors: bool, transcript: Sequence[Message]
) -> CallOutcome:
    """Run a valid call's function (each attempt bounded by the tool's timeout, retried as its `retry` policy
    says); failures become messages for the model."""
    tool = call.tool
    assert tool is not None and call.problem is None
    name = call.call.name
    started = time.perf_counter()
    failure: str | None = None
    error: Exception | None = None
    sub_run: list[Message] | None = None
    try:
        value = await call_with_retry(tool, call.arguments, ctx)
    except ModelRetry as exc:
        failure, error = exc.message, exc
        sub_run = exc.transcript if isinstance(exc, SubRunFailed) else None
    except UsageLimitExceeded:
        raise  # the run's limits are spent (by a sub-agent's run): the run ends, it is not the tool's error
    except asyncio.TimeoutError as exc:
        error = exc
        if tool.timeout is None:  # the function's own timeout, not the tool's
            failure = _raised(call, ctx, exc, raise_tool_errors, transcript)
        else:
            failure = f"The tool timed out after {tool.timeout:g} seconds."
    except Exception as exc:
        error = exc
        failure = _raised(call, ctx, exc, raise_tool_errors, transcript)
    duration = time.perf_counter() - started
    content, images = "", list[ImagePart]()
    if failure is None:
        if isinstance(value, SubRunOutput):
            sub_run, value = value.transcript, value.output
        try:
            content, images = _result_content(value, tool)
        except Exception as exc:  # a result that cannot be written: the model is told, as for a raise
            error = exc
            failure = f"The tool's result (a {type(value).__name__}) could not be turned into text: "
            failure += str(exc) if isinstance(exc, UnwritableResult) else describe(exc)
    if failure is not None:
        content = failure
    message = ToolMessage(
        tool_call_id=call.call.id,
        name=name,
        content=valid_text(content),
        is_error=failure is not None,
        images=images,
        transcript=sub_run,
    )
    return CallOutcome(
        message=message,
        failed=failure is not None,
        ran=True,
        duration_s=duration,
        error=error,
        attempts=ctx.attempt,
    )


def _result_content(value: object, tool: Tool[..., Any]) -> tuple[str, list[ImagePart]]:
    """A return value as the message's text (capped, noting the images) and its images."""
    text, images = result_parts(value)
    content = _capped(text, tool)
    if images:
        content = "\n".join(filter(None, [content, images_note(len(images))]))
    return content, images


def _capped(content: str, tool: Tool[..., Any]) -> str:
    """`content` cut to the tool's `max_result_chars`, saying so and how long it was."""
    limit = tool.max_result_chars or DEFAULT_MAX_RESULT_CHARS
    if len(content) <= limit:
        return content
    return content[:limit] + TRUNCATED.format(length=len(content), shown=limit)


def _raised(
    call: ValidatedCall,
    ctx: RunContext[Any],
    exc: Exception,
    raise_tool_errors: bool,
    transcript: Sequence[Message],
) -> str:
    """What to tell the model about an exception the function raised (or raise `ToolExecutionError`)."""
    name = call.call.name
    text = describe(exc)
    if raise_tool_errors:
        raise ToolExecutionError(
            f"Tool {name!r} raised {text}",
            tool_name=name,
            tool_call_id=call.call.id,
            messages=transcript,
        ) from exc
    agent = f"agent {ctx.agent_name!r}: " if ctx.agent_name else ""
    logger.warning("%stool %r raised %s", agent, name, text)
    return f"The tool raised {text}"


class Inbox(Generic[T]):
    """Items the running calls send out while they run (a sub-agent's events), for `run_concurrently`."""

    def __init__(self) -> None:
        self.items: list[T] = []
        self.wake: asyncio.Future[None] | None = None

    def put(self, item: T) -> None:
        self.items.append(item)
        if self.wake is not None and not self.wake.done():
            self.wake.set_result(None)

    def take(self) -> list[T]:
        items, self.items = self.items, []
        return items


async def run_concurrently(
    calls: Sequence[ValidatedCall],
    run: Callable[[ValidatedCall], Awaitable[CallOutcome]],
    inbox: Inbox[T] | None = None,
) -> AsyncGenerator[tuple[int, CallOutcome | None] | T, None]:
    """Run `calls` as tasks: yields `(index, None)` once a call's task is started and `(index, outcome)` as
    it finishes, and what the calls put in `inbox` as it arrives (before the outcome of the call that put it).

    Calls run together, except that a `sequential` tool's call runs alone, after the calls before it. Closing
    the iterator (or cancelling its consumer) cancels the calls still running.
    """
    loop = asyncio.get_running_loop()
    for batch in _batches(calls):
        tasks = {asyncio.ensure_future(run(calls[i])): i for i in batch}
        try:
            for index in batch:
                yield index, None
            pending: set[asyncio.Future[Any]] = set(tasks)
            while pending:
                waiting = pending
                if inbox is not None:
                    inbox.wake = loop.create_future()
                    if inbox.items:  # put while this generator was suspended at a yield: no need to wait
                        inbox.wake.set_result(None)
                    waiting = {*pending, inbox.wake}
                done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
                if inbox is not None:
                    for item in inbox.take():
                        yield item
                finished = done & pending
                pending -= finished
                for task in sorted(finished, key=tasks.__getitem__):
                    yield tasks[task], task.result()
        finally:
            if inbox is not None and inbox.wake is not None:
                inbox.wake.cancel()
            await _cancel(list(tasks))


def _batches(calls: Sequence[ValidatedCall]) -> list[list[int]]:
    batches: list[list[int]] = [[]]
    for index, call in enumerate(calls):
        if call.tool is not None and call.tool.sequential:
            batches += [[index], []]
        else:
            batches[-1].append(index)
    return [b for b in batches if b]


async def _cancel(tasks: list[asyncio.Future[CallOutcome]]) -> None:
    """Cancel the tasks still running and wait for them (collecting every task's exception, so none is
    reported as never retrieved)."""
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
