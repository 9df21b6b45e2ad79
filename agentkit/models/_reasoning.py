"""Thinking models' reasoning on the chat-completions wire: read it, merge it from a stream, send it back.

```
response  message.reasoning / message.reasoning_details / tool_calls[i].extra_content
stream    delta.reasoning (text pieces) / delta.reasoning_details (fragments merged by `index`)
              └──> AssistantMessage.reasoning, .reasoning_details, ToolCall.extra_content (byte-exact)
request   the same fields on that assistant message: unchanged to the same family (`family_key`);
          to another family without the signed parts (`reasoning.encrypted` entries, `signature`s,
          Gemini's `thought_signature`)
```
Reasoning details are signed by the model that wrote them: nothing here changes a kept value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..messages import AssistantMessage, ToolCall
from .profiles import ModelProfile

__all__ = [
    "DetailsMerger",
    "family_key",
    "has_reasoning",
    "outgoing_call_extra",
    "outgoing_reasoning",
    "reasoning_details",
    "reasoning_text",
    "stamp_family",
]

ENCRYPTED = "reasoning.encrypted"
"""The type of a reasoning detail that is nothing but signed, encrypted data."""
_APPENDED = ("text", "summary", "data")
"""The fields of a detail a stream sends in pieces (appended); any other field is set once."""


def family_key(profile: ModelProfile, model_name: str) -> str:
    """The family that signed reasoning belongs to: the profile's `family`, or `model:<id>` when the model
    has no profile of its own (two unknown models are never taken for one family)."""
    return profile.family if profile.family != "default" else f"model:{model_name}"


def stamp_family(message: AssistantMessage, profile: ModelProfile, model_name: str) -> None:
    """Record on a parsed message the family its reasoning, signatures and calls as written in the model's
    dialect (`ToolCall.wire_arguments`) belong to (when it has any)."""
    restored = any(c.wire_arguments is not None for c in message.tool_calls)
    if message.model_family is None and (has_reasoning(message) or restored):
        message.model_family = family_key(profile, model_name)


def reasoning_text(message: Mapping[str, Any]) -> str | None:
    """A wire message's (or delta's) reasoning text (`reasoning`, OpenRouter's field)."""
    text = message.get("reasoning")
    return text if isinstance(text, str) and text else None


def reasoning_details(message: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    """A wire message's `reasoning_details`, the objects as sent (anything else in the list is dropped)."""
    details = message.get("reasoning_details")
    if not isinstance(details, list):
        return None
    kept = [d for d in details if isinstance(d, dict)]
    return kept or None


def has_reasoning(message: AssistantMessage) -> bool:
    """Whether the message carries reasoning or signed call data."""
    return bool(
        message.reasoning or message.reasoning_details or any(c.extra_content for c in message.tool_calls)
    )


def _same_family(message: AssistantMessage, family: str | None) -> bool:
    return message.model_family is None or family is None or message.model_family == family


def outgoing_reasoning(message: AssistantMessage, family: str | None) -> dict[str, Any]:
    """The reasoning fields of `message` in a request to `family` (`None`: any family; empty: none).

    The same family gets them unchanged; another gets the reasoning text and the unsigned details only.
    """
    fields: dict[str, Any] = {}
    if message.reasoning:
        fields["reasoning"] = message.reasoning
    details = message.reasoning_details
    if details and not _same_family(message, family):
        details = [
            {k: v for k, v in d.items() if k != "signature"} for d in details if d.get("type") != ENCRYPTED
        ]
    if details:
        fields["reasoning_details"] = details
    return fields


def outgoing_call_extra(message: AssistantMessage, call: ToolCall, family: str | None) -> dict[str, Any]:
    """The `extra_content` field of one call in a request to `family` (empty: none): unchanged to the same
    family; to another without Gemini's `thought_signature`."""
    extra = call.extra_content
    if not extra:
        return {}
    if not _same_family(message, family):
        google = extra.get("google")
        if isinstance(google, dict) and "thought_signature" in google:
            rest = {k: v for k, v in google.items() if k != "thought_signature"}
            extra = {k: v for k, v in extra.items() if k != "google"}
            if rest:
                extra["google"] = rest
        if not extra:
            return {}
    return {"extra_content": extra}


class DetailsMerger:
    """`reasoning_details` fragments of a stream -> the whole details, in the order first seen.

    Fragments with the same `index` are one detail: `text`, `summary` and `data` are appended, any other
    field (`type`, `id`, `format`, `signature`) is taken from the first fragment that has it. A fragment
    without an `index` is a detail of its own.
    """

    def __init__(self) -> None:
        self._details: list[dict[str, Any]] = []
        self._by_index: dict[object, dict[str, Any]] = {}

    def add(self, fragments: object) -> None:
        """Take the `reasoning_details` of one delta."""
        if not isinstance(fragments, list):
            return
        for fragment in fragments:
            if not isinstance(fragment, dict):
                continue
            index = fragment.get("index")
            detail = self._by_index.get(index) if index is not None else None
            if detail is None:
                detail = dict(fragment)
                self._details.append(detail)
                if index is not None:
                    self._by_index[index] = detail
                continue
            for key, value in fragment.items():
                old = detail.get(key)
                if key in _APPENDED and isinstance(value, str) and isinstance(old, str):
                    detail[key] = old + value
                elif old is None:
                    detail[key] = value

    @property
    def details(self) -> list[dict[str, Any]]:
        """The details so far."""
        return self._details
