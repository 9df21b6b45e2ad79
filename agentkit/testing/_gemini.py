"""What Gemini refuses in a chat-completions history, as a check on a request body (no network).

Gemini (through OpenRouter, or its own OpenAI-compatible endpoint) turns the `messages` of a request into
`contents` of `user` and `model` turns with `functionCall` / `functionResponse` parts, and refuses the whole
request (HTTP 400, `INVALID_ARGUMENT`) when the history breaks one of its rules. Each rule below is one it is
known to enforce, with the message users meet:

- every call's `arguments` is valid JSON (RFC 8259: no `NaN`, no comments) and an object: "function call
  arguments are not valid JSON" (the args become a protobuf `Struct`);
- every call is answered by exactly one tool message, in the calls' order, before the next user or assistant
  turn: "the number of function response parts is equal to the number of function call parts of the function
  call turn" (google-gemini/gemini-cli#4217);
- a tool message answers a call of the assistant turn right before it, never nothing: "function response
  turn comes immediately after a function call turn" (langchain-ai/langchain#27799, gemini-cli#26956);
- an assistant turn with calls comes right after a user message or tool results (not first after the
  system message, not after another assistant turn): "function call turn comes immediately after a user
  turn or after a function response turn" (gemini-cli#11814);
- no empty turn (an assistant message with no text and no calls, a user message with no text): "contents.parts
  must not be empty" (aaif-goose/goose#1458), and an assistant turn with calls carries `content` as a string,
  not null: "must include at least one parts field" through OpenRouter (RooCodeInc/Roo-Code#10559);
- call ids are unique in the request and a tool message's `name`, when given, is its call's (Gemini matches
  a function response to its call by name); a function name is 1 to 64 letters, digits, `_ . : -`,
  starting with a letter or `_`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["check_gemini_history"]

_FUNCTION_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.:-]{0,63}")


def check_gemini_history(body: Mapping[str, Any]) -> list[str]:
    """The problems Gemini would refuse a chat-completions request `body` for (its `messages`), one line
    each, naming the message (`messages[3]: ...`); an empty list when it would accept the history.

    Use it on what a `LoopbackServer` recorded, or give it to `LoopbackServer(check=...)` to have the server
    refuse such a request with HTTP 400, as Gemini does.
    """
    messages = body.get("messages")
    if not isinstance(messages, list):
        return ["messages: missing, or not a list"]
    problems: list[str] = []
    waiting: list[tuple[str, str]] = []  # (id, name) of the calls still to be answered, in order
    asked_at = 0
    ids: set[str] = set()
    previous: object = None
    for index, message in enumerate(messages):
        where = f"messages[{index}]"
        role = message.get("role") if isinstance(message, dict) else None
        if role == "tool":
            assert isinstance(message, dict)
            problems.extend(f"{where}: {p}" for p in _answer_problems(message, waiting))
            previous = role
            continue
        if waiting:
            pending = ", ".join(repr(i) for i, _ in waiting)
            problems.append(f"{where}: a {role} turn before the calls of messages[{asked_at}] were all "
                            f"answered (no tool message for {pending})")  # fmt: skip
            waiting = []
        if role == "assistant":
            assert isinstance(message, dict)
            problems.extend(f"{where}: {p}" for p in _assistant_problems(message, previous, ids))
            waiting = [(str(c.get("id")), _name(c)) for c in _calls(message)]
            asked_at = index
        elif role == "user":
            assert isinstance(message, dict)
            if _empty(message.get("content")):
                problems.append(f"{where}: an empty user message (Gemini refuses a turn with no parts)")
        elif role not in ("system", "developer"):
            problems.append(f"{where}: unknown role {role!r}")
        previous = role
    if waiting:
        pending = ", ".join(repr(i) for i, _ in waiting)
        problems.append(f"messages[{asked_at}]: calls never answered by a tool message: {pending}")
    return problems


def _answer_problems(message: dict[str, Any], waiting: list[tuple[str, str]]) -> list[str]:
    """What is wrong with a tool message, given the calls still to answer (the answered one is removed)."""
    call_id = message.get("tool_call_id")
    if not waiting:
        return [f"a tool message (for {call_id!r}) that answers no call of the assistant turn before it"]
    expected, name = waiting.pop(0)
    problems = []
    if call_id != expected:
        problems.append(f"a tool message for {call_id!r} where the answer to call {expected!r} comes next "
                        "(each call answered once, in order)")  # fmt: skip
    if "name" in message and message["name"] != name:
        problems.append(f"a tool message named {message['name']!r} answering a call of {name!r}")
    if not isinstance(message.get("content"), (str, list)):
        problems.append("a tool message without content")
    return problems


def _assistant_problems(message: dict[str, Any], previous: object, ids: set[str]) -> list[str]:
    calls = _calls(message)
    content = message.get("content")
    if not calls:
        if _empty(content):
            return ["an empty assistant message (no text and no tool calls)"]
        return []
    problems = []
    if not isinstance(content, str) and not isinstance(content, list):
        problems.append('an assistant turn with tool calls whose content is not a string (send "")')
    if previous not in ("user", "tool"):
        problems.append("a tool-call turn that does not come right after a user message or tool results")
    for position, call in enumerate(calls):
        where = f"tool_calls[{position}]"
        call_id = call.get("id")
        if not isinstance(call_id, str) or not call_id:
            problems.append(f"{where}: no id")
        elif call_id in ids:
            problems.append(f"{where}: the id {call_id!r} is used twice")
        else:
            ids.add(call_id)
        name = _name(call)
        if not _FUNCTION_NAME.fullmatch(name):
            problems.append(f"{where}: {name!r} is not a function name Gemini accepts")
        arguments = (call.get("function") or {}).get("arguments")
        problem = _arguments_problem(arguments)
        if problem is not None:
            problems.append(f"{where}: the arguments of {name!r} {problem}: {_snippet(arguments)}")
    return problems


def _arguments_problem(arguments: object) -> str | None:
    if not isinstance(arguments, str):
        return "are not a JSON string"
    try:
        value = json.loads(arguments, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        return "are not valid JSON"
    if not isinstance(value, dict):
        return "are not a JSON object"
    return None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _calls(message: dict[str, Any]) -> list[dict[str, Any]]:
    calls = message.get("tool_calls") or []
    return [c if isinstance(c, dict) else {} for c in calls] if isinstance(calls, list) else [{}]


def _name(call: dict[str, Any]) -> str:
    function = call.get("function")
    return str(function.get("name") or "") if isinstance(function, dict) else ""


def _empty(content: object) -> bool:
    if isinstance(content, str):
        return not content
    if isinstance(content, list):
        return not content
    return True


def _snippet(value: object) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
