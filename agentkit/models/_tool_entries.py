"""The schema dialects at the model layer's edge: a tool's `tools[]` entry (and the output schema) go out in
the model's dialect (`_dialects`), and what the model wrote comes back in standard form.

`restore_reply` is applied by the adapter to each parsed reply (`parse_completion`, the stream assembler):
each call of an offered tool gets its arguments restored for the canonical schema (`restore_arguments`), and
a JSON answer for a response format its value; the run sees standard JSON only. A call whose arguments
changed keeps what the model wrote in `ToolCall.wire_arguments`, which goes back on the wire to the same
model family (Gemini's signed thought covers the call as written); `original_arguments` stays for repairs.
Arguments that are not valid JSON are repaired here when the repair is in the dialect (only here can it be
restored): the call is then a repair like the run's (`original_arguments`, and it goes back as repaired).
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import TYPE_CHECKING, Any

from ..exceptions import UserError
from ..messages import AssistantMessage, ToolCall
from . import FINAL_RESULT_TOOL
from ._dialects import DIALECTS, Dialect, NotStrictCompatible, restore_arguments, to_dialect
from ._schema_changes import SchemaChange, dialect_changes, record_change, tentative

if TYPE_CHECKING:
    from .._schema.types import JsonSchema
    from ..tool import ToolDefinition
    from . import ModelRequestParameters

__all__ = [
    "Dialect",
    "SchemaChange",
    "check_dialect",
    "restore_reply",
    "schema_changes",
    "standard_arguments",
    "tool_entry",
]

_FENCED = re.compile(r"```[ \t]*(?:json)?[ \t]*\n?(.*?)\n?[ \t]*```", re.S | re.I)
"""A fenced JSON block, found as the run finds it (`_run.output`)."""


def check_dialect(dialect: str) -> None:
    """Raise `UserError` for a dialect agentkit does not know."""
    if dialect not in DIALECTS:
        raise UserError(f"Unknown schema dialect {dialect!r}; use one of {', '.join(DIALECTS)}.")


def tool_entry(definition: ToolDefinition, dialect: Dialect) -> dict[str, Any]:
    """The chat-completions `tools[]` entry for `definition`, its schema in `dialect`: built once per
    dialect and cached on the definition (treat it as read-only)."""
    entry = definition._entries.get(dialect)
    if entry is None:
        check_dialect(dialect)
        entry = definition._entries[dialect] = _entry(definition, dialect)
    return entry


def schema_changes(definition: ToolDefinition, dialect: Dialect) -> list[SchemaChange]:
    """What `dialect` changes in the tool's schema, as `tool_entry` builds it (built again, by the same code,
    recording). Raises `UserError` when the schema cannot be sent in `dialect`."""
    check_dialect(dialect)
    with dialect_changes() as changes:
        _entry(definition, dialect)
    return changes


def _entry(definition: ToolDefinition, dialect: Dialect) -> dict[str, Any]:
    function: dict[str, Any] = {"name": definition.name}
    if definition.description:
        function["description"] = definition.description
    parameters = definition.parameters
    strict = dialect == "openai-strict" and definition.strict is not False
    if strict:
        try:
            with tentative():
                parameters = to_dialect(parameters, "openai-strict")
        except NotStrictCompatible as exc:
            record_change(f"sent non-strict (as standard JSON Schema): strict mode cannot express {exc}")
            strict = False
    elif dialect == "gemini":
        parameters = to_dialect(parameters, "gemini")
    if parameters:  # Gemini: a tool without arguments sends no parameters (it rejects empty objects)
        function["parameters"] = parameters
    if strict:
        function["strict"] = True
    return {"type": "function", "function": function}


def standard_arguments(arguments: dict[str, Any], schema: JsonSchema, dialect: Dialect) -> dict[str, Any]:
    """`arguments` as written in `dialect` -> standard form for the canonical `schema` (`restore_arguments`)."""
    check_dialect(dialect)
    restored: dict[str, Any] = restore_arguments(arguments, schema, dialect)
    return restored


def restore_reply(
    message: AssistantMessage, parameters: ModelRequestParameters | None, dialect: Dialect
) -> AssistantMessage:
    """`message` with its calls' arguments (and a JSON answer to a response format) in standard form."""
    if dialect == "standard" or parameters is None:
        return message
    schemas = {t.name: t.parameters for t in parameters.tools}
    calls = [_restored_call(c, schemas.get(c.name), dialect) for c in message.tool_calls]
    content = message.content
    fmt = parameters.response_format
    # the answer's schema: the response format's, or the final-result tool's when the answer came as text
    answer = fmt.schema if fmt is not None else None if message.tool_calls else schemas.get(FINAL_RESULT_TOOL)
    if answer is not None and content:
        content = _restored_text(content, answer, dialect)
    if content == message.content and all(a is b for a, b in zip(calls, message.tool_calls, strict=True)):
        return message
    return dataclasses.replace(message, content=content, tool_calls=calls)


def _restored_call(call: ToolCall, schema: JsonSchema | None, dialect: Dialect) -> ToolCall:
    if schema is None:
        return call
    text = call.arguments
    try:
        value: Any = json.loads(text)
    except (ValueError, RecursionError):
        value = None
    if isinstance(value, dict):
        restored = restore_arguments(value, schema, dialect)
        if restored == value:
            return call
        return dataclasses.replace(call, arguments=_json(restored), wire_arguments=text)
    # not a JSON object: what the run would repair (or split into calls, `{...}{...}`) is restored here, since
    # only here can it be; the call is then a repair like the run's (`original_arguments`: it goes back as run)
    pieces = _readable(text)
    if pieces is None:
        return call  # the run tells the model what is wrong
    restored_pieces = [restore_arguments(piece, schema, dialect) for piece in pieces]
    if restored_pieces == pieces:
        return call  # nothing of the dialect in it: a repair, if it needs one, is the run's
    return dataclasses.replace(
        call, arguments="".join(_json(p) for p in restored_pieces), original_arguments=text
    )


def _readable(text: str) -> list[dict[str, Any]] | None:
    """The object(s) `text` means, as the run's repair reads it (`repair_text`, else `split_objects`); `None`
    when it cannot tell, or the text is past what the repair takes."""
    from .._schema.repair import repair_text, split_objects

    try:
        one = repair_text(text)
        return [one] if one is not None else split_objects(text)
    except (RecursionError, ValueError):
        return None


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _restored_text(content: str, schema: JsonSchema, dialect: Dialect) -> str:
    """A JSON answer restored in place: the text itself, or the first ``` fenced block in it (the words
    around it kept), as the run reads it."""
    start, end = 0, len(content)
    if not content.lstrip().startswith(("{", "[")) and (fenced := _FENCED.search(content)) is not None:
        start, end = fenced.span(1)
    try:
        value = json.loads(content[start:end])
    except (ValueError, RecursionError):
        return content
    if not isinstance(value, dict):
        return content
    restored = restore_arguments(value, schema, dialect)
    if restored == value:
        return content
    return content[:start] + json.dumps(restored, ensure_ascii=False) + content[end:]
