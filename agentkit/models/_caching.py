"""Prompt-cache breakpoints: `cache_control: {"type": "ephemeral"}` on the instructions and the newest message.

Anthropic caches a prompt's prefix only up to a content part marked so (at most four marks a request), and
OpenRouter passes the same marks to Gemini 2.5 and later (which uses the last one). Two marks keep the
growing prefix of an agent run cached: the instructions (stable across runs), and the newest message (so the
next request, which repeats everything up to it, reads it all from the cache). A mark goes on a text part:
a message whose content is a string becomes one text part; on a list of parts, the last text part is marked.
"""

from __future__ import annotations

from typing import Any

__all__ = ["CACHE_CONTROL", "with_cache_breakpoints"]

CACHE_CONTROL: dict[str, str] = {"type": "ephemeral"}
_MARKED_ROLES = ("system", "user", "tool")


def with_cache_breakpoints(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`messages` (chat-completions dicts) with breakpoints on the first system message and the last message
    (when it is a system, user or tool message with some text); the input is not changed."""
    out = list(messages)
    targets = {i for i, m in enumerate(out) if m.get("role") == "system"}
    first_system = min(targets, default=None)
    marked = {first_system} if first_system is not None else set()
    if out and out[-1].get("role") in _MARKED_ROLES:
        marked.add(len(out) - 1)
    for index in marked:
        out[index] = _marked(out[index])
    return out


def _marked(message: dict[str, Any]) -> dict[str, Any]:
    content = message.get("content")
    if isinstance(content, str):
        if not content:
            return message
        return {
            **message,
            "content": [{"type": "text", "text": content, "cache_control": dict(CACHE_CONTROL)}],
        }
    if isinstance(content, list):
        parts = list(content)
        for index in range(len(parts) - 1, -1, -1):
            part = parts[index]
            if isinstance(part, dict) and part.get("type") == "text":
                parts[index] = {**part, "cache_control": dict(CACHE_CONTROL)}
                return {**message, "content": parts}
    return message
