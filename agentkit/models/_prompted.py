"""Prompted tool calling: the tools described in the prompt, the calls parsed from the model's text.

For servers whose own tool-call support fails (llama.cpp with a small model answers HTTP 500 when a reply
holds two calls, or a brace in plain text). A profile with `tool_calling="prompted"` turns it on. The
transcript keeps real `ToolCall`s and `ToolMessage`s; only the wire form changes (`render_messages`):

- the system prompt lists each tool as JSON (name, description, parameters) and says how to call one (with
  `several_calls_prompt`: the three kinds of reply, text when no tool fits, one call or several, and an
  example of several calls in one reply);
- a past call goes back as the JSON object the model wrote, `{"name": ..., "arguments": {...}}`, without
  the text written before it (written before the result, it is a plan or a guess the model anchors on);
- the results of a turn go back in a user message, each after the call it answers; after the latest ones
  come the question again and what to do next (`results_reminder`: answer once the results suffice; make
  a call that failed earlier, its made-up values blanked, once new results arrived);
- an answer agentkit questioned (followed by a feedback message) is left out, the feedback kept.

`parse_tool_calls` finds the calls in a reply: bare JSON objects, several of them, a JSON list of them,
inside code fences or `<tool_call>` tags, OpenAI-style `{"function": {...}}` wrappers, Python-style quotes,
trailing commas and JSON cut short (closed for it). Every call gets an id unique in the transcript.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from .._support.given import known_numbers, last_question, unsupported_in_arguments
from ..messages import (
    AssistantMessage,
    Message,
    SystemMessage,
    TextPart,
    ToolCall,
    ToolMessage,
    UserMessage,
    turns,
    unique_call_id,
)
from ..tool import ToolDefinition
from . import FINAL_RESULT_TOOL
from ._tool_entries import tool_entry
from .profiles import ModelProfile

__all__ = [
    "ParsedReply",
    "call_json",
    "last_question",
    "parse_tool_calls",
    "render_messages",
    "results_reminder",
    "system_prompt",
]

DEFAULT_SYSTEM = "You are a helpful assistant."
_USE = "Use a tool whenever the question needs a fact or a calculation a tool can give"
_CALL = '{{"name": "<tool name>", "arguments": {{"<argument>": <value>, ...}}}}'
_SHAPE = f"To call a tool, reply with only a JSON object and nothing else:\n{_CALL}"
_SEVERAL = (
    "Reply with only the JSON object of each call, one per line and nothing else, with every call the question "
    f"needs that does not need another call's result in this one reply:\n{_CALL}"
)
_TOOLS_HEAD = f"# Tools\n\n{_USE}: never guess such values and never do arithmetic in your head. {_SHAPE}\n"
"""How both tool sections begin: when to call, and the shape of a call."""
_TOOLS_LIST = (
    "\n\nYour tools, each described by a JSON object: its name, what it does, and the JSON Schema of its "
    f"arguments.\n{{tools}}\n\n{_USE}. "
)
"""How both tool sections end: the tools, then when to call and the shape of a reply again (`_SHAPE`, or
`_SEVERAL` with `several_calls_prompt`). The tools come after the text every request shares, so a server's
prompt cache keeps that text when the tools change (a new agent, a benchmark's next item: for a BFCL item
about 230 of 450 prompt tokens are evaluated); said again after them, the shape keeps a small model as ready to call as with the
tools first, and several calls in one reply (measured: docs/local-evals.md)."""
TOOLS_SECTION = (
    _TOOLS_HEAD
    + "To call several tools at once, write one object per line. When a call needs the result of another call, "
    "make that other call first, alone, and wait for its result. Take argument values from the question or "
    "from earlier results; never make them up. Each result comes back to you with the call it answers. As "
    "soon as the results answer the question, reply with the answer in plain text, without JSON. If the "
    "question needs no tool, answer it directly." + _TOOLS_LIST + _SHAPE
)
CHOICES_SECTION = (
    _TOOLS_HEAD
    + "When the question needs several calls that do not need each other's results (the same tool for several "
    "values, or different tools for different parts of the question), write all of them in this one reply, "
    "one JSON object per line and nothing else. For example, with tools named population and local_time, "
    '"How many people live in Peru and in Chile, and what time is it in Lagos?" gets this reply:\n'
    '{{"name": "population", "arguments": {{"country": "Peru"}}}}\n'
    '{{"name": "population", "arguments": {{"country": "Chile"}}}}\n'
    '{{"name": "local_time", "arguments": {{"city": "Lagos"}}}}\n'
    "When a call needs the result of another call, make that other call first, alone, and wait for its "
    "result. Take argument values from the question or from earlier results; never make them up. Each result "
    "comes back to you with the call it answers. As soon as the results answer the question, reply with the "
    "answer in plain text, without JSON. If no tool does what is asked, call none: answer in plain text. If "
    "the question needs no tool, answer it directly." + _TOOLS_LIST + _SEVERAL
)
"""The tool section with `several_calls_prompt`: several calls in one reply shown, the no-tool reply named."""
RESULTS_HEADER = "Tool results:"
QUESTION = 'The question was: "{question}"'
NEXT_STEP = {
    "auto": "If these results answer all of it, reply now with the answer in plain text. If a step is still "
    "missing (a look-up, a conversion or a calculation), call the tool for it now.",
    "none": "Answer it now in plain text, using these results. Do not call a tool.",
    "required": "If these results answer it, give the answer now by calling {final}. Otherwise call the tool "
    "you still need.",
}
FAILED_STEP = (
    "None of these calls gave a result yet. Reply with only the JSON object of the call to make now: the "
    "corrected call, or the call that gets what is missing. If the question needs no tool, answer it in plain "
    "text instead."
)
PENDING = (
    "Next step: the call below gave no result yet. Make it now, with the values from the results in place "
    "of any `?`, and reply with only its JSON object. (If the results already answer the whole question, "
    "answer instead.)\n{calls}"
)
FIRST_STEP = {"none": "Answer in plain text, without calling a tool.", "required": "Reply with a tool call."}


def system_prompt(base: str | None, tools: Sequence[ToolDefinition], profile: ModelProfile) -> str:
    """The system prompt: `base` (or a default), then how to call a tool, the tool list, and the shape of a
    reply again.

    It does not depend on the tool choice, so a server's prompt cache keeps it from request to request.
    """
    lines = [json.dumps(_describe(t, profile), ensure_ascii=False) for t in tools]
    section = CHOICES_SECTION if profile.several_calls_prompt else TOOLS_SECTION
    return f"{base or DEFAULT_SYSTEM}\n\n{section.format(tools=chr(10).join(lines))}"


def _describe(definition: ToolDefinition, profile: ModelProfile) -> dict[str, Any]:
    function = dict(tool_entry(definition, profile.schema_dialect)["function"])
    function.pop("strict", None)
    function.setdefault("parameters", {"type": "object", "properties": {}})
    return function


def results_reminder(
    messages: Sequence[Message], tool_names: Collection[str], tool_choice: str | None
) -> str:
    """Said after the latest tool results: the question again, then to answer once the results suffice.

    With `tool_choice="none"`: to answer now; with `"required"`: to answer through the final-result tool.
    When every latest call failed: to make the call needed now (small models otherwise copy the error
    message as their answer). When fresh results came and earlier calls of this question failed (or were
    questioned for made-up values), those calls are quoted as still to make, with the values the results
    give: a small model otherwise answers with the first look-up and forgets the step it had planned.
    """
    choice = _choice(tool_choice)
    if choice == "none":
        step = _next_step(choice, tool_names)
    elif _latest_failed(messages):
        step = FAILED_STEP
    elif pending := _pending_calls(messages):
        calls = "\n".join(_blanked(c, messages) for c in pending)
        step = PENDING.format(calls=calls)
    else:
        step = _next_step(choice, tool_names)
    question = last_question(messages).strip()
    return f"{QUESTION.format(question=question)}\n{step}" if question else step


def _blanked(call: ToolCall, messages: Sequence[Message]) -> str:
    """`call_json(call)` with each number that nothing in `messages` gives replaced by `?` (to fill in)."""
    start = _question_index(messages)
    text = call_json(call)
    for value in unsupported_in_arguments(call.arguments, known_numbers(messages, start)):
        text = re.sub(rf"(?<![\d.,]){re.escape(value)}(?![\d.,]*\d)", "?", text)
    return text


def _question_index(messages: Sequence[Message]) -> int:
    return max(
        (i for i, m in enumerate(messages) if isinstance(m, UserMessage) and not m.feedback), default=0
    )


def _latest_results(messages: Sequence[Message]) -> Sequence[Message]:
    index = len(messages)
    while index and isinstance(messages[index - 1], ToolMessage):
        index -= 1
    return messages[index:]


def _latest_failed(messages: Sequence[Message]) -> bool:
    """Whether the transcript ends with tool results that are all errors."""
    latest = _latest_results(messages)
    return bool(latest) and all(isinstance(m, ToolMessage) and m.is_error for m in latest)


def _pending_calls(messages: Sequence[Message]) -> list[ToolCall]:
    """Calls made since the last question that failed, of tools with no successful result since."""
    start = _question_index(messages)
    failed: dict[str, ToolCall] = {}
    calls: dict[str, ToolCall] = {}
    for message in messages[start:]:
        if isinstance(message, AssistantMessage):
            calls.update((c.id, c) for c in message.tool_calls)
        elif isinstance(message, ToolMessage) and (call := calls.get(message.tool_call_id)) is not None:
            if message.is_error:
                failed[call.name] = call
            else:
                failed.pop(call.name, None)
    return [c for c in failed.values() if c.name != FINAL_RESULT_TOOL]


def _choice(tool_choice: str | None) -> str:
    return tool_choice if tool_choice in ("none", "required") else "auto"


def _next_step(choice: str, tool_names: Collection[str]) -> str:
    final = FINAL_RESULT_TOOL if FINAL_RESULT_TOOL in tool_names else "a tool"
    return NEXT_STEP[choice].format(final=final)


def render_messages(
    messages: Sequence[Message],
    tools: Sequence[ToolDefinition],
    profile: ModelProfile,
    tool_choice: str | None = None,
) -> list[Message]:
    """A transcript in prompt form: no tool calls or tool messages left, the tools in the system prompt.

    Assistant calls become their JSON text; the results of one turn become a user message that quotes each
    call with its result. When the transcript ends with results, `results_reminder` follows them (if the
    profile's `results_reminder` is on; a `"none"` or `"required"` tool choice is said either way).
    """
    items = list(messages)
    base = None
    if items and isinstance(first := items[0], SystemMessage):
        base = first.content
        items.pop(0)
    out: list[Message] = [SystemMessage(content=system_prompt(base, tools, profile))]
    ends_with_results = False
    grouped = turns(items)
    for index, (message, results) in enumerate(grouped, start=1):
        ends_with_results = False
        if isinstance(message, AssistantMessage) and message.tool_calls:
            out.append(AssistantMessage(content=_calls_text(message)))
            text = _results_text(message.tool_calls, results)
            images = [i for c in message.tool_calls if (r := results.get(c.id)) is not None for i in r.images]
            out.append(UserMessage(content=[TextPart(text=text), *images] if images else text))
            ends_with_results = True
        elif isinstance(message, AssistantMessage):
            # an answer agentkit questioned (a feedback message follows) is left out: models anchor on it
            if not _is_feedback(grouped, index):
                out.append(AssistantMessage(content=message.content))
        elif isinstance(message, UserMessage) and message.feedback and isinstance(out[-1], UserMessage):
            _say_after(out, message.text)
        else:
            out.append(message)
    choice = _choice(tool_choice)
    names = [t.name for t in tools]
    if ends_with_results and profile.results_reminder:
        step = results_reminder(items, names, choice)
    elif ends_with_results:
        step = "" if choice == "auto" else _next_step(choice, names)
    else:
        step = FIRST_STEP.get(choice, "")
    return _say_after(out, step)


def _is_feedback(grouped: Sequence[tuple[Message, object]], index: int) -> bool:
    item = grouped[index][0] if index < len(grouped) else None
    return isinstance(item, UserMessage) and item.feedback


def _say_after(out: list[Message], step: str) -> list[Message]:
    """`step` appended to the last message when that is the user's."""
    last = out[-1]
    if step and isinstance(last, UserMessage):
        if isinstance(last.content, str):
            out[-1] = UserMessage(content=f"{last.content}\n\n{step}")
        else:
            out[-1] = UserMessage(content=[*last.content, TextPart(text=step)])
    return out


def call_json(call: ToolCall) -> str:
    """A call as the JSON object the model is asked to write (arguments as an object when they parse)."""
    arguments: Any
    try:
        arguments = json.loads(call.arguments) if call.arguments.strip() else {}
    except ValueError:
        arguments = call.arguments
    return json.dumps({"name": call.name, "arguments": arguments}, ensure_ascii=False)


def _calls_text(message: AssistantMessage) -> str:
    return "\n".join(call_json(c) for c in message.tool_calls)


def _results_text(calls: Sequence[ToolCall], results: dict[str, ToolMessage]) -> str:
    parts = [RESULTS_HEADER]
    for call in calls:
        result = results.get(call.id)
        if result is None:
            parts.append(f"{call_json(call)}\nNo result: this call was not executed.")
        elif result.is_error:
            parts.append(f"{call_json(call)}\nError: {result.content}")
        else:
            parts.append(f"{call_json(call)}\nResult: {result.content}")
    return "\n\n".join(parts)


# -- parsing -----------------------------------------------------------------------------------------------

_ARGUMENT_KEYS = ("arguments", "parameters", "args", "input")
_CALL_START = re.compile(r"""\{\s*(?:"type"\s*:\s*"function"\s*,\s*)?["']?(?:name|function|tool)["']?\s*:""")
_WRAPPERS = re.compile(r"</?tool_calls?>|```[a-zA-Z]*")
_LEFTOVER = re.compile(r"^[\s\[\],]*$")
_LIST_OPEN = re.compile(r"\[\s*$")
_LIST_CLOSE = re.compile(r"^\s*\]")


@dataclass(kw_only=True, frozen=True)
class ParsedReply:
    """Reply text split into the tool calls written in it and the rest."""

    calls: list[ToolCall]
    text: str
    """All the text that is not a call (wrappers such as tags and fences removed)."""
    preamble: str
    """The text before the first call: what the model wrote before it asked for a result (what follows a
    call was written without the result, so it is often a guess)."""


def parse_tool_calls(text: str, tool_names: Collection[str], taken_ids: Iterable[str] = ()) -> ParsedReply:
    """The tool calls written in `text`, with ids not in `taken_ids`, and the text around them.

    A call is a JSON object with a `name` and `arguments` (or `parameters`, `args`, `input`), or with the
    `name` of a known tool; objects of other shapes stay text. With no call found, `text` comes back as is.
    """
    spans: list[tuple[int, int]] = []
    found: list[tuple[str, str]] = []
    position = 0
    while (match := _CALL_START.search(text, position)) is not None:
        start = match.start()
        value, end = _decode_object(text, start)
        call = _as_call(value, tool_names) if isinstance(value, dict) else None
        if call is None:
            position = start + 1
            continue
        found.append(call)
        spans.append((start, end))
        position = end
    if not found:
        return ParsedReply(calls=[], text=text, preamble=text)
    pieces, cursor = [], 0
    for start, end in spans:
        pieces.append(text[cursor:start])
        cursor = end
    pieces.append(text[cursor:])
    # the brackets and commas of a JSON list of calls are not text
    pieces = ["" if _LEFTOVER.match(p) else p for p in pieces]
    pieces[0], pieces[-1] = _LIST_OPEN.sub("", pieces[0]), _LIST_CLOSE.sub("", pieces[-1])
    return ParsedReply(
        calls=_with_ids(found, taken_ids), text=_clean("".join(pieces)), preamble=_clean(pieces[0])
    )


def _clean(text: str) -> str:
    rest = _WRAPPERS.sub("", text)
    return "" if _LEFTOVER.match(rest) else rest.strip()


def _decode_object(text: str, start: int) -> tuple[Any, int]:
    """The JSON (or Python-literal) object starting at `start`, and where it ends; `(None, start)` if none."""
    try:
        return json.JSONDecoder().raw_decode(text, start)
    except ValueError:
        pass
    end = _balanced_end(text, start)
    fragment = text[start:end]
    for candidate in (fragment, _close(fragment)):
        value = _loads(candidate)
        if value is not None:
            return value, end
    return None, start


def _outside_strings(
    text: str, start: int = 0, end_quote: list[str] | None = None
) -> Iterator[tuple[int, str]]:
    """`(index, char)` for every character of `text` from `start` that is not inside a quoted string.

    Either quote opens a string (models write Python literals too). When the scan runs to the end, the
    quote still open (or "") is appended to `end_quote`.
    """
    quote = ""
    escaped = False
    for index in range(start, len(text)):
        char = text[index]
        if quote:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        else:
            yield index, char
    if end_quote is not None:
        end_quote.append(quote)


def _balanced_end(text: str, start: int) -> int:
    """Where the bracketed value at `start` closes, or a boundary if it never does."""
    depth = 0
    for index, char in _outside_strings(text, start):
        if char in "{[":
            depth += 1
        elif char in "}]":
            depth -= 1
            if depth == 0:
                return index + 1
    boundary = re.compile(r"</tool_call>|```|\n\s*\n").search(text, start)
    return boundary.start() if boundary else len(text)


def _close(fragment: str) -> str:
    """JSON cut short, completed: an open string closed, trailing commas dropped, open brackets closed."""
    stack: list[str] = []
    open_quote: list[str] = []
    for _, char in _outside_strings(fragment, 0, open_quote):
        if char in "{[":
            stack.append("}" if char == "{" else "]")
        elif char in "}]" and stack:
            stack.pop()
    text = fragment.rstrip() + open_quote[0]
    text = re.sub(r"[,:]\s*$", "", text)
    return text + "".join(reversed(stack))


def _loads(candidate: str) -> Any:
    cleaned = re.sub(r",\s*([}\]])", r"\1", candidate)
    try:
        return json.loads(cleaned)
    except ValueError:
        pass
    try:
        return ast.literal_eval(cleaned)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None


def _as_call(value: dict[str, Any], tool_names: Collection[str]) -> tuple[str, str] | None:
    """`(name, arguments JSON)` when `value` is shaped like a call."""
    if isinstance(value.get("function"), dict):
        value = value["function"]
    name = value.get("name", value.get("tool"))
    if not isinstance(name, str) or not name:
        return None
    key = next((k for k in _ARGUMENT_KEYS if k in value), None)
    if key is None and name not in tool_names:
        return None
    arguments = value.get(key) if key else {}
    if isinstance(arguments, str):
        decoded = _loads(arguments) if arguments.strip() else {}
        arguments = decoded if isinstance(decoded, dict) else arguments
    if arguments is None:
        arguments = {}
    text = arguments if isinstance(arguments, str) else json.dumps(arguments, ensure_ascii=False)
    return name, text


def _with_ids(found: Sequence[tuple[str, str]], taken_ids: Iterable[str]) -> list[ToolCall]:
    taken = set(taken_ids)
    return [
        ToolCall(id=unique_call_id("", taken), name=name, arguments=arguments) for name, arguments in found
    ]
