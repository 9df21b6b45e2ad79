"""The same failing call, made again: a small model sends a call the tool refused (its syntax, a value out of
range) again unchanged, until the retry budget ends, although the tool's description says what it takes.

With `RunPolicy(explain_repeated_failures=True)` (the local profile's), when a call (same tool, same
arguments: `ValidatedCall.key`) fails a second time with the same error, the model reads, after that error,
the tool's own description of the arguments involved (their JSON Schema descriptions; the tool's whole
description when one has none) and that the call will not be run again unchanged. A third identical call is
not run: it is answered with that text (and, made once more, the next request asks for a text answer).
A changed call runs as any other.

A tool error reaches the hooks (`after_tool_call` may change its message). A call whose arguments do not
validate never reaches them: the run answers it itself, so for those the explanation is added to what each
request sends (`before_request`), and the transcript keeps the validation error alone.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..._support.given import NOT_JSON, decoded_arguments
from ...hooks import Hooks, ModelRequest, Reply
from ...messages import AssistantMessage, Message, ToolMessage

if TYPE_CHECKING:
    from ..._run.tool_calls import CallKey, ValidatedCall
    from ...context import RunContext
    from ...messages import ToolCall
    from ...tool import ToolDefinition

__all__ = ["FAILED_AGAIN", "NOT_RUN_AGAIN", "ExplainRepeatedFailures", "described_arguments"]

FAILED_AGAIN = (
    "{error}\n\nThis call failed the same way twice. {described}\n"
    "The same call will not be run again unchanged: change {what} as the description says, "
    "or answer without `{name}`."
)
"""Appended to the second identical failure: the error as it was, the tool's words, what happens next."""
NOT_RUN_AGAIN = (
    "Not run: this call already failed twice with the same error ({error}). {described}\n"
    "It will not be run again unchanged: change {what} as the description says, or answer without `{name}`."
)
"""The answer to a third identical call (not run)."""
_ERROR_SHOWN = 200


def described_arguments(definition: ToolDefinition | None, name: str, involved: Sequence[str]) -> str:
    """The tool's description of the `involved` arguments, quoted: each one's schema description, and the
    tool's whole description when one of them has none (or none is involved)."""
    properties = _properties(definition)
    lines = [f'- `{arg}`: "{properties[arg]}"' for arg in involved if properties.get(arg)]
    whole = definition.description.strip() if definition is not None else ""
    if len(lines) < len(involved) or not involved:
        lines.append(f'- `{name}` itself: "{whole}"' if whole else f"- `{name}` has no description.")
    if len(lines) == 1 and involved and properties.get(involved[0]):
        return f'What `{name}` says of `{involved[0]}`: "{properties[involved[0]]}"'
    return f"What `{name}` says of {'it' if not involved else 'its arguments'}:\n" + "\n".join(lines)


def _properties(definition: ToolDefinition | None) -> dict[str, str]:
    if definition is None:
        return {}
    properties = definition.parameters.get("properties")
    if not isinstance(properties, dict):
        return {}
    out: dict[str, str] = {}
    for arg, schema in properties.items():
        text = schema.get("description") if isinstance(schema, dict) else None
        out[str(arg)] = text.strip() if isinstance(text, str) else ""
    return out


def involved_arguments(definition: ToolDefinition | None, decoded: Any, error: str) -> list[str]:
    """The arguments an error is about: the tool's parameters the error names, else those the call sent."""
    names = list(_properties(definition))
    named = [n for n in names if re.search(rf"(?<![\w]){re.escape(n)}(?![\w])", error)]
    if named:
        return named
    sent = list(decoded) if isinstance(decoded, dict) else []
    return [n for n in sent if n in names] or sent


def _shown(error: str) -> str:
    first = error.strip().splitlines()[0] if error.strip() else error
    return first if len(first) <= _ERROR_SHOWN else first[: _ERROR_SHOWN - 3] + "..."


class ExplainRepeatedFailures(Hooks[Any]):
    """One run's record of failed calls: explains a repeated failure and stops a third identical call."""

    def __init__(self) -> None:
        self._failures: dict[CallKey, tuple[str, int]] = {}
        """The last error of each failing call, and how many times in a row it failed so."""
        self._keys: dict[str, tuple[CallKey, Any]] = {}
        """The key and decoded arguments of each call let through, by call id, until its result comes."""
        self._explained: dict[str, str] = {}
        """What to send instead of the (validation) error result of a call, by call id."""
        self._checked: set[str] = set()
        """The ids of the calls a hook saw (valid ones): the others with an error result did not validate."""
        self._tools: dict[str, ToolDefinition] = {}
        self._seen = 0
        """Transcript messages read for validation errors so far."""

    async def before_run(self, ctx: RunContext[Any]) -> None:
        self._seen = len(ctx.messages)  # the calls of earlier runs are theirs

    async def before_request(self, ctx: RunContext[Any], request: ModelRequest) -> ModelRequest | None:
        self._tools.update((t.name, t) for t in request.tools)
        self._read_invalid(ctx.messages)
        if not self._explained:
            return None
        messages = [self._sent(m) for m in request.messages]
        return request.replace(messages=messages)

    async def check_tool_call(self, ctx: RunContext[Any], call: ValidatedCall) -> Reply | None:
        if call.final:
            return None
        self._checked.add(call.call.id)
        failed = self._failures.get(call.key)
        if failed is None or failed[1] < 2:
            self._keys[call.call.id] = (call.key, call.decoded)
            return None
        error, times = failed
        self._failures[call.key] = (error, times + 1)
        text = self._explain(NOT_RUN_AGAIN, call.call.name, call.decoded, error)
        return Reply(text, is_error=True, answer_next=times >= 3)

    async def after_tool_call(
        self, ctx: RunContext[Any], call: ToolCall, result: ToolMessage
    ) -> ToolMessage | None:
        taken = self._keys.pop(call.id, None)
        if taken is None:
            return None
        key, decoded = taken
        if not result.is_error:
            self._failures.pop(key, None)
            return None
        if self._failed(key, result.content) < 2:
            return None
        text = self._explain(FAILED_AGAIN, call.name, decoded, result.content)
        return dataclasses.replace(result, content=text)

    def _failed(self, key: CallKey, error: str) -> int:
        """Record a failure of the call `key` with `error`: the times in a row it failed so."""
        earlier = self._failures.get(key)
        times = earlier[1] + 1 if earlier is not None and earlier[0] == error else 1
        self._failures[key] = (error, times)
        return times

    def _explain(self, template: str, name: str, decoded: Any, error: str) -> str:
        definition = self._tools.get(name)
        involved = involved_arguments(definition, decoded, error)
        what = "the arguments" if len(involved) != 1 else f"`{involved[0]}`"
        shown = error if template is FAILED_AGAIN else _shown(error)
        described = described_arguments(definition, name, involved)
        return template.format(error=shown, described=described, what=what, name=name)

    def _read_invalid(self, messages: Sequence[Message]) -> None:
        """Record the failures of calls the run answered itself (arguments that did not validate): the
        calls of the responses since the last request that no hook saw, with an error result."""
        results = {m.tool_call_id: m for m in messages[self._seen :] if isinstance(m, ToolMessage)}
        for message in messages[self._seen :]:
            if not isinstance(message, AssistantMessage):
                continue
            for call in message.tool_calls:
                result = results.get(call.id)
                if result is None or not result.is_error or call.id in self._checked:
                    continue
                self._invalid(call, result)
        self._seen = len(messages)

    def _invalid(self, call: ToolCall, result: ToolMessage) -> None:
        written = call.original_arguments or call.arguments
        key: CallKey = (call.name, written.strip())
        times = self._failed(key, result.content)
        if times < 2:
            return
        decoded = _decoded(written)
        template = FAILED_AGAIN if times == 2 else NOT_RUN_AGAIN
        self._explained[call.id] = self._explain(template, call.name, decoded, result.content)

    def _sent(self, message: Message) -> Message:
        if isinstance(message, ToolMessage) and message.tool_call_id in self._explained:
            return dataclasses.replace(message, content=self._explained[message.tool_call_id])
        return message


def _decoded(arguments: str) -> Any:
    value = decoded_arguments(arguments)
    return None if value is NOT_JSON else value
