"""Constrained tool calls: a grammar that lets a prompted model write only valid calls of the offered tools.

With a profile's `constrain_calls`, each prompted request carries an LLGuidance grammar (llama.cpp's
`grammar` field; the xllamacpp engine is built with LLGuidance) that says: the reply is either plain text
that does not start as a call, or one or more calls, one per line, each `{"name": ..., "arguments": ...}`
with a name of an offered tool and arguments valid for that tool's JSON schema. The server masks every token
that would leave the grammar, so a small model cannot invent a tool or a parameter, give a wrong type or
forget a required argument. (Values are still the model's: the grounding check and validation stay.)

With the profile's `calls_after_text`, a short text may come before the calls (`prose? calls`), ending at a
line break (blank lines may come between the calls, and a code fence may close after them), and the calls
after it are held to the schemas like any other. Text is then lines in none of which `parse_tool_calls`
could find a call (`{"name":` and its other shapes), nor the rest of one whose `{` ended the line before (a
line starting with `"name":`), so every call the parser can find in a reply was written under the grammar.
An answer may still be a dict literal or JSON (`{"a": 1}`), unless it has a key `name`, `function` or
`tool`. (Without `calls_after_text`, a call written after some text is not constrained.)

LLGuidance's lexer is greedy: a token that is complete but could go on does go on. So a call's opening, up
to its arguments (`{"name": "get_weather", "arguments": `), is one lexeme, complete only once it can be
nothing but a call; text and a call can then share a first `{`, and text before the calls ends with its
last line's line break.

Each tool gets its own `%json` rule holding its whole argument schema as the prompt shows it (so `$defs`
and `$ref`s resolve inside it, and properties come in the prompt's order, which LLGuidance keeps). Objects
that list their properties get `additionalProperties: false` unless they say otherwise (pydantic leaves it
out, and extra keys would be ignored anyway).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from ..tool import ToolDefinition
from ._tool_entries import tool_entry
from .profiles import ModelProfile

__all__ = ["tool_call_grammar"]

_CALL_START = r"""\{\s*("type"\s*:\s*"function"\s*,\s*)?["']?(name|function|tool)["']?\s*:"""
"""Where `_prompted.parse_tool_calls` sees a call begin (its `_CALL_START`)."""
_KEY_START = r"""\s*("type"\s*:\s*"function"\s*,\s*)?["']?(name|function|tool)["']?\s*:"""
"""A call's first key at the start of a line: the rest of a call whose `{` ended the line before."""
_NO_CALL = rf"~/(.|\n)*{_CALL_START}(.|\n)*/ & ~/{_KEY_START}(.|\n)*/"
"""A line in which `parse_tool_calls` can find no call, nor the rest of one begun on the line before."""
LINE = rf"/[^\n]*\n/ & {_NO_CALL}"
"""A line of text with its line break (`calls_after_text`)."""
LAST = rf"/[^\n]+/ & {_NO_CALL}"
"""The last line of an answer, with no line break (`calls_after_text`)."""
FIRST_LINE = rf"/[^\s][^\n]*\n/ & {_NO_CALL}"
"""The first line of text, which starts with no white space (`calls_after_text`)."""
ONE_LINE = rf"/[^\s][^\n]*/ & {_NO_CALL}"
"""An answer of one line with no line break (`calls_after_text`)."""
ANSWER = rf"/[^\s](.|\n)*/ & ~/\s*{_CALL_START}(.|\n)*/"
"""Plain text that does not start as a call (without `calls_after_text`, where a call after text is not held)."""
SEP = r"/\n{1,3}/"
"""Between calls (`calls_after_text`): a line break, up to two blank lines (bounded, as all white space here:
unbounded, a small model under a grammar may write line breaks until its token cap)."""
CLOSE = r"/\n{1,3}(```\n?)?/"
"""After the calls (`calls_after_text`): line breaks, and the fence closing a code block the text before
them opened. Without it a model that wants to close its fence after a call can only write more calls."""


WHITESPACE = '{"whitespace_pattern": "[ ]?"}'
"""Inside a call: at most one space between tokens (`{"a": 1}` or `{"a":1}`), no line breaks. LLGuidance's
default allows any run of white space, which leaves a small model room to write blanks until its token cap
(a known failure of JSON under a grammar); the prompt's calls have single spaces."""


def tool_call_grammar(
    tools: Sequence[ToolDefinition], profile: ModelProfile, tool_choice: str | None
) -> str | None:
    """The LLGuidance grammar for one prompted request, or `None` when nothing is to be constrained.

    `tool_choice="required"` allows calls only; `"none"` (no call allowed) sends no grammar.
    """
    if not tools or tool_choice == "none":
        return None
    calls = tuple((t.name, json.dumps(_arguments_schema(t, profile), ensure_ascii=False)) for t in tools)
    return _grammar(calls, tool_choice == "required", profile.calls_after_text)


@lru_cache(maxsize=256)
def _grammar(calls: tuple[tuple[str, str], ...], required: bool, after_text: bool) -> str:
    lines = ["%llguidance {}"]
    if after_text:
        lines.append("start: prose? calls CLOSE?" if required else "start: answer | prose? calls CLOSE?")
        lines += ["calls: call (SEP call)*", "prose: FIRST_LINE LINE*"]
        if not required:
            lines.append("answer: ONE_LINE | FIRST_LINE LINE* LAST?")
    else:
        lines.append("start: calls" if required else "start: calls | ANSWER")
        lines.append('calls: call ("\\n" call)*')
    lines.append("call: " + " | ".join(f"call_{i}" for i in range(len(calls))))
    for i, (name, arguments) in enumerate(calls):
        # The opening up to the arguments is one lexeme. LLGuidance's lexer is greedy (a lexeme that could
        # go on does), so a call whose first lexeme were `{` alone could never start where text may also
        # start with `{` (a dict literal in an answer); this one is complete only once it is a call.
        lines.append(f"call_{i}: CALL_{i} arguments_{i} CALL_END")
        lines.append(f'CALL_{i}: /\\{{ ?"name" ?: ?{_literal(json.dumps(name))} ?, ?"arguments" ?: ?/')
        lines.append(f'arguments_{i}: %json {{"x-guidance": {WHITESPACE}, {arguments[1:-1]}}}')
    lines.append("CALL_END: / ?\\}/")
    if after_text:
        lines += [f"FIRST_LINE: {FIRST_LINE}", f"LINE: {LINE}", f"SEP: {SEP}", f"CLOSE: {CLOSE}"]
        if not required:
            lines += [f"ONE_LINE: {ONE_LINE}", f"LAST: {LAST}"]
    elif not required:
        lines.append(f"ANSWER: {ANSWER}")
    return "\n".join(lines) + "\n"


def _literal(text: str) -> str:
    """`text` matched as it is in an LLGuidance regex (each ASCII character that is not a letter or digit
    escaped)."""
    return "".join(f"\\{c}" if c.isascii() and not c.isalnum() else c for c in text)


def _arguments_schema(definition: ToolDefinition, profile: ModelProfile) -> dict[str, Any]:
    parameters = tool_entry(definition, profile.schema_dialect)["function"].get("parameters")
    schema: dict[str, Any] = dict(parameters) if isinstance(parameters, dict) else {}
    schema.setdefault("type", "object")
    schema.setdefault("properties", {})  # a tool without parameters takes `{}`
    return _closed(schema)


_SCHEMA_MAPS = ("properties", "$defs", "definitions", "patternProperties")
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SCHEMAS = ("items", "additionalProperties", "not", "contains")


def _closed(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of `schema` where each object listing `properties` forbids others (unless it says)."""
    out = dict(schema)
    for key in _SCHEMA_MAPS:
        if isinstance(value := schema.get(key), dict):
            out[key] = {k: _closed(v) if isinstance(v, dict) else v for k, v in value.items()}
    for key in _SCHEMA_LISTS:
        if isinstance(value := schema.get(key), list):
            out[key] = [_closed(v) if isinstance(v, dict) else v for v in value]
    for key in _SCHEMAS:
        if isinstance(value := schema.get(key), dict):
            out[key] = _closed(value)
    if isinstance(schema.get("properties"), dict) and "additionalProperties" not in schema:
        out["additionalProperties"] = False
    return out
