"""The loopback server playing a Gemini 3 thinking model: signed reasoning issued, and enforced.

```
answer with tool calls ──sign()──> + reasoning text and a fresh signature, recorded by the first call's id
                                     openrouter: reasoning_details [reasoning.text, reasoning.encrypted]
                                     google:     tool_calls[0].extra_content.google.thought_signature
later request ──check()──> every assistant tool-call turn must carry back exactly what was issued for it,
                           else HTTP 400 "Function call is missing a thought_signature in functionCall parts"
```
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import itertools
import secrets
import threading
from typing import TYPE_CHECKING, Any, Literal

from ..messages import AssistantMessage

if TYPE_CHECKING:
    from ._loopback import HTTPError

__all__ = ["MISSING_SIGNATURE", "SignedReasoning", "stream_reasoning"]

MISSING_SIGNATURE = (
    "Function call is missing a thought_signature in functionCall parts. This is required for tools to work "
    "correctly, and missing thought_signature may lead to degraded model performance. Additional data, "
    "function call `default_api:{name}` , position {position}. Please refer to "
    "https://ai.google.dev/gemini-api/docs/thought-signatures for more details."
)
"""Gemini's words when a tool-call turn comes back without its signature."""
FORMAT = "google-gemini-v1"
"""OpenRouter's `format` of Gemini's reasoning details."""


class SignedReasoning:
    """Issues signed reasoning with each tool-call answer and refuses requests that drop it.

    `form` is where the signature travels: `"openrouter"` (the assistant message's `reasoning_details`: a
    `reasoning.text` entry and a `reasoning.encrypted` one holding the signature, as OpenRouter sends
    Gemini's) or `"google"` (Gemini's own OpenAI-compatible endpoint: the first call's
    `extra_content.google.thought_signature`).
    """

    def __init__(self, form: Literal["openrouter", "google"]) -> None:
        self.form = form
        self.issued: dict[str, Any] = {}
        """The first call's id -> what was issued with it (the details list, or the call's `extra_content`)."""
        self.refused = 0
        """Requests refused for a missing or changed signature."""
        self._lock = threading.Lock()
        self._turns = itertools.count(1)

    def sign(self, answer: AssistantMessage | str) -> AssistantMessage:
        """`answer` as the thinking model sends it: with its reasoning and, for tool calls, a new signature."""
        message = AssistantMessage(content=answer) if isinstance(answer, str) else answer
        turn = next(self._turns)
        if not message.tool_calls:
            thought = f"Thought {turn}: the results suffice; I answer."
            if self.form == "google":
                return message
            detail = {"type": "reasoning.text", "text": thought, "format": FORMAT, "index": 0}
            return dataclasses.replace(message, reasoning=thought, reasoning_details=[detail])
        names = ", ".join(c.name for c in message.tool_calls)
        thought = f"Thought {turn}: I need {names} for this; I call it."
        signature = base64.b64encode(secrets.token_bytes(48)).decode("ascii")
        first = message.tool_calls[0]
        if self.form == "google":
            extra = {"google": {"thought_signature": signature}}
            with self._lock:
                self.issued[first.id] = copy.deepcopy(extra)
            calls = [dataclasses.replace(first, extra_content=extra), *message.tool_calls[1:]]
            return dataclasses.replace(message, tool_calls=calls)
        details = [
            {"type": "reasoning.text", "text": thought, "format": FORMAT, "index": 0},
            {"type": "reasoning.encrypted", "data": signature, "id": first.id, "format": FORMAT, "index": 1},
        ]
        with self._lock:
            self.issued[first.id] = copy.deepcopy(details)
        return dataclasses.replace(message, reasoning=thought, reasoning_details=details)

    def check(self, body: dict[str, Any]) -> HTTPError | None:
        """An `HTTPError` refusing `body` when a tool-call turn in it lacks what was issued; else `None`."""
        from ._loopback import HTTPError

        for position, message in enumerate(body.get("messages") or ()):
            if not isinstance(message, dict) or message.get("role") != "assistant":
                continue
            calls = message.get("tool_calls")
            if not calls:
                continue
            first = calls[0]
            with self._lock:
                expected = self.issued.get(first.get("id"))
            if self.form == "google":
                carried = first.get("extra_content")
            else:
                carried = message.get("reasoning_details")
            if expected is None or carried != expected:
                with self._lock:
                    self.refused += 1
                name = (first.get("function") or {}).get("name")
                text = MISSING_SIGNATURE.format(name=name, position=position)
                return HTTPError(status=400, message=text, metadata={"provider_name": "Google"})
        return None


def stream_reasoning(message: AssistantMessage) -> list[dict[str, Any]]:
    """The deltas that stream a message's reasoning: its text in pieces, then each detail in fragments
    (a detail's `text` or `summary` in two halves sharing its `index`, the signature on the last one)."""
    deltas: list[dict[str, Any]] = []
    text = message.reasoning or ""
    for start in range(0, len(text), 8):
        deltas.append({"role": "assistant", "content": "", "reasoning": text[start : start + 8]})
    for detail in message.reasoning_details or ():
        deltas.extend({"reasoning_details": [fragment]} for fragment in _fragments(detail))
    return deltas


def _fragments(detail: dict[str, Any]) -> list[dict[str, Any]]:
    key = next((k for k in ("text", "summary") if isinstance(detail.get(k), str)), None)
    if key is None or detail.get("index") is None or len(detail[key]) < 2:
        return [detail]
    half = len(detail[key]) // 2
    first = {k: (v[:half] if k == key else v) for k, v in detail.items() if k != "signature"}
    last: dict[str, Any] = {"index": detail["index"], key: detail[key][half:]}
    if "signature" in detail:
        last["signature"] = detail["signature"]
    return [first, last]
