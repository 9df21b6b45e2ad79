"""Streamed chat completions -> events and the final message (plain dicts; no SDK types).

```
SSE lines ──SSEDecoder──> data strings ──json──> chunks ──StreamAssembler──> ThinkingDelta / TextDelta /
                                                                               ToolCallDelta
                                                                  └─finish()─> ResponseFinished
```

Reasoning text (`delta.reasoning`) streams as `ThinkingDelta`s; `delta.reasoning_details` fragments are merged
by their `index` (`_reasoning.DetailsMerger`) and a call's `extra_content` is kept from its first piece.

`StreamAssembler` yields the deltas as they come and, at the end, rebuilds the completion body the chunks
add up to and reads it with `parse_completion`, the same code `request` uses: the final `AssistantMessage`
(ids made unique, prompted calls parsed, usage and cost) is the one a plain request would give. With
prompted tool calling the calls are written in the text, so text that may still become a call is held
back until the end (`_HeldText`).
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ..events import ModelStreamEvent, ResponseFinished, TextDelta, ThinkingDelta, ToolCallDelta
from ..exceptions import ModelAPIError
from ..settings import ModelSettings
from . import ModelRequestParameters
from ._chat_format import is_prompted, parse_completion
from ._reasoning import DetailsMerger
from ._repeats import repeated_call_at
from .profiles import ModelProfile

__all__ = ["DONE", "SSEDecoder", "StreamAssembler", "chunk_error", "retry_before_first"]

DONE = "[DONE]"
"""The data of the SSE event that ends an OpenAI-style stream."""

# Where a prompted call may start: a JSON object or list, a code fence, a <tool_call> tag.
_CALL_MARKERS = ("{", "[", "```", "<tool_call", "</tool_call")
_MARKER_START = re.compile("|".join(re.escape(m) for m in _CALL_MARKERS))

E = TypeVar("E")


class SSEDecoder:
    """Server-sent events, line by line: the `data` of each event; comments (`: OPENROUTER PROCESSING`),
    `event:`, `id:` and `retry:` fields are skipped."""

    def __init__(self) -> None:
        self._data: list[str] = []

    def line(self, line: str) -> str | None:
        """Feed one line (without its line break); returns the event's data when the line ends an event."""
        if not line:
            return self.end()
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        if name == "data":
            self._data.append(value[1:] if value.startswith(" ") else value)
        return None

    def end(self) -> str | None:
        """The data of an event the body ended without a blank line after, if any."""
        data, self._data = self._data, []
        return "\n".join(data) if data else None


def chunk_error(chunk: dict[str, Any]) -> Any:
    """The error a chunk reports, or `None`.

    OpenRouter sends a top-level `error` object (with `finish_reason: "error"` in its choice); other servers
    send only `{"error": {...}}`, or only `finish_reason: "error"`. A `finish_reason` of `"error"` with a
    native reason of its own (Gemini's `MALFORMED_FUNCTION_CALL`) is an answer, as it is for `request`.
    """
    error = chunk.get("error")
    if error:
        return error
    for choice in chunk.get("choices") or ():
        native = choice.get("native_finish_reason")
        if choice.get("finish_reason") == "error" and native in (None, "", "error"):
            return {"message": 'The stream ended with finish_reason "error".'}
    return None


@dataclass(kw_only=True)
class _Call:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)
    extra_content: dict[str, Any] | None = None


class StreamAssembler:
    """Chunks of one streamed completion -> deltas as they come, then the whole message.

    Tool-call pieces are keyed by their `index` (a missing index counts as the piece's position in its
    chunk); a piece whose new id arrives at an index already taken by another call starts a new call at the
    next free index (some providers send every parallel call at index 0). A call's `id` and `name` are
    passed on once, on its first piece that has them. A chunk that carries a whole
    `message` instead of a `delta` (a server that ignored `stream`) counts as one delta; a whole completion
    (`object: "chat.completion"`) ends the stream, even with no choices in it.
    """

    def __init__(
        self,
        *,
        profile: ModelProfile,
        taken_ids: Iterable[str],
        parameters: ModelRequestParameters,
        settings: ModelSettings,
        images: int = 0,
    ) -> None:
        self._profile = profile
        self._images = images
        self._taken = list(taken_ids)
        self._parameters = parameters
        self._settings = settings
        self._text: list[str] = []
        self._reasoning: list[str] = []
        self._details = DetailsMerger()
        self._calls: dict[int, _Call] = {}
        self._slots: dict[int, int] = {}  # the provider's index -> the call's key in `_calls`
        self._by_id: dict[tuple[int, str], int] = {}  # (index, id) -> the call's key
        self._model: str | None = None
        self._provider: str | None = None
        self._finish: str | None = None
        self._native_finish: str | None = None
        self._id: str | None = None
        self._usage: Any = None
        self._held = _HeldText() if is_prompted(profile, parameters) else None
        self._cut_repeats = profile.cut_repeated_calls and self._held is not None
        self._text_chunks = 0
        self.done = False
        """Whether the stream's `[DONE]` arrived."""
        self.cut = False
        """Whether the reply was cut where it repeated a call (`cut_repeated_calls`): read no more of it."""
        self._whole = False
        self._before: list[Any] = []  # the usage of the parts before a `resume`

    @property
    def text(self) -> str:
        """The reply's text so far (prompted calls included)."""
        return "".join(self._text)

    def resume(self) -> None:
        """Continue the reply with another streamed request's chunks (`_more_calls`): a line break after the
        text so far, the finish and `[DONE]` forgotten, the usage so far kept to be added to the next."""
        self._text.append("\n")
        if self._held is not None:
            self._held.push("\n")
        self._before.append(self._usage)
        self._usage = None
        self._text_chunks = 0
        self._finish = self._native_finish = None
        self.done = False

    @property
    def finished(self) -> bool:
        """Whether the stream ended properly: a `finish_reason`, `[DONE]` or a whole completion arrived."""
        return self.done or self._whole or self._finish is not None

    def add(self, chunk: dict[str, Any]) -> list[ModelStreamEvent]:
        """Take one chunk; return its deltas (text that may still be a prompted call is held back)."""
        if isinstance(chunk.get("id"), str) and chunk["id"]:
            self._id = chunk["id"]
        if chunk.get("model"):
            self._model = str(chunk["model"])
        if chunk.get("provider"):  # OpenRouter names the provider that serves the stream on every chunk
            self._provider = str(chunk["provider"])
        if chunk.get("usage"):
            self._usage = chunk["usage"]
        if chunk.get("object") == "chat.completion":  # a server that ignored `stream`: nothing follows
            self._whole = True
        events: list[ModelStreamEvent] = []
        for choice in chunk.get("choices") or ():
            if choice.get("index", 0) not in (0, None):
                continue  # only the first choice is asked for
            delta = choice.get("delta") or choice.get("message") or {}
            thinking = delta.get("reasoning")
            if isinstance(thinking, str) and thinking:
                self._reasoning.append(thinking)
                events.append(ThinkingDelta(text=thinking))
            self._details.add(delta.get("reasoning_details"))
            text = delta.get("content")
            if isinstance(text, str) and text:
                events.extend(self._add_text(text))
            for position, piece in enumerate(delta.get("tool_calls") or ()):
                events.append(self._add_call_piece(position, piece))
            if choice.get("finish_reason"):
                self._finish = str(choice["finish_reason"])
            if choice.get("native_finish_reason"):
                self._native_finish = str(choice["native_finish_reason"])
        return events

    def _add_text(self, text: str) -> list[ModelStreamEvent]:
        if self.cut:
            return []
        self._text.append(text)
        self._text_chunks += 1
        whole = "".join(self._text) if self._cut_repeats and "\n" in text else ""
        at = repeated_call_at(whole) if whole else None
        if at is not None:
            self._text = [whole[:at]]
            self.cut = True
            self._finish = "stop"
            # the server reports usage at the end, which a cut stream never reaches: one token a chunk
            self._usage = self._usage or {"completion_tokens": self._text_chunks}
            return []  # the repeat is a call line, held back (`_HeldText`) and now dropped
        shown = text if self._held is None else self._held.push(text)
        return [TextDelta(text=shown)] if shown else []

    def _add_call_piece(self, position: int, piece: dict[str, Any]) -> ToolCallDelta:
        index = piece.get("index")
        index = index if isinstance(index, int) else position
        function = piece.get("function") or {}
        call_id = piece.get("id") or ""
        key = self._slots.get(index)
        if key is None or (call_id and self._calls[key].id and call_id != self._calls[key].id):
            # a call not seen at this index yet: interleaved calls sharing an index keep apart by their ids
            key = self._by_id.get((index, call_id))
            if key is None:
                key = index if index not in self._calls else max(self._calls) + 1
                self._calls[key] = _Call()
        self._slots[index] = key
        if call_id:
            self._by_id.setdefault((index, call_id), key)
        call = self._calls[key]
        new_id = call_id if call_id and not call.id else None  # some providers repeat them on every piece
        new_name = str(function.get("name") or "") if not call.name else ""
        call.id, call.name = call.id or call_id, call.name or new_name
        arguments = function.get("arguments") or ""
        if not isinstance(arguments, str):  # a whole call sent as an object
            arguments = json.dumps(arguments)
        call.arguments.append(arguments)
        extra = piece.get("extra_content")
        if call.extra_content is None and isinstance(extra, dict) and extra:
            call.extra_content = extra
        return ToolCallDelta(index=key, id=new_id, name=new_name or None, arguments=arguments)

    def completion(self) -> dict[str, Any]:
        """The chat-completion body the chunks so far add up to."""
        message: dict[str, Any] = {"role": "assistant", "content": "".join(self._text) or None}
        if self._reasoning:
            message["reasoning"] = "".join(self._reasoning)
        if self._details.details:
            message["reasoning_details"] = self._details.details
        if self._calls:
            message["tool_calls"] = [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": "".join(c.arguments)},
                    **({"extra_content": c.extra_content} if c.extra_content else {}),
                }
                for _, c in sorted(self._calls.items())
            ]
        choice = {"index": 0, "message": message, "finish_reason": self._finish}
        if self._native_finish:
            choice["native_finish_reason"] = self._native_finish
        usage = self._usage
        for earlier in self._before:
            usage = _added_usage(earlier, usage)
        return {"model": self._model, "provider": self._provider, "choices": [choice], "usage": usage}

    def finish(self) -> list[ModelStreamEvent]:
        """The last events: held-back text, prompted calls, then `ResponseFinished` with the whole message.

        The message comes from `parse_completion`, as for a plain request. The concatenated `TextDelta`s
        equal its `content`, except in one corner of prompted calling: when the text already shown is not
        the start of the parsed content (a preamble that began with blanks, or was only brackets and
        commas), nothing more is shown and the message keeps the content as parsed.
        """
        message = parse_completion(
            self.completion(),
            self._profile,
            self._taken,
            self._parameters,
            self._settings,
            images=self._images,
        )
        events: list[ModelStreamEvent] = []
        if self._held is not None:
            rest = self._held.rest(message.content)
            if rest:
                events.append(TextDelta(text=rest))
            first = max(self._calls, default=-1) + 1
            for offset, call in enumerate(
                message.tool_calls[len(self._calls) :]
            ):  # calls written in the text
                delta = ToolCallDelta(
                    index=first + offset, id=call.id, name=call.name, arguments=call.arguments
                )
                events.append(delta)
        message.response_id = self._id  # the completion's id, sent on every chunk
        events.append(ResponseFinished(message=message))
        return events


def _added_usage(a: Any, b: Any) -> Any:
    """Two `usage` objects added up: their numbers, and their details' numbers, key by key."""
    if not isinstance(a, dict) or not isinstance(b, dict):
        return b if isinstance(b, dict) else a
    out = dict(b)
    for key, value in a.items():
        other = b.get(key)
        if isinstance(value, (int, float)) and isinstance(other, (int, float)):
            out[key] = value + other
        elif isinstance(value, dict) and isinstance(other, dict):
            out[key] = _added_usage(value, other)
        elif key not in b:
            out[key] = value
    return out


class _HeldText:
    """Prompted tool calling: text is shown only while it cannot be part of a call.

    From the first character that may start a call (`{`, `[`, a code fence, a `<tool_call>` tag) everything
    is held until the end; so are blanks at the end of what is shown (a preamble is stripped) and a partial
    marker at the end of the buffer (a lone backtick, `<tool_`).
    """

    def __init__(self) -> None:
        self.shown = ""
        self._pending = ""
        self._holding = False

    def push(self, text: str) -> str:
        """Take a piece of text; return what can be shown now."""
        self._pending += text
        if self._holding:
            return ""
        match = _MARKER_START.search(self._pending)
        if match is not None:
            self._holding = True
            safe = self._pending[: match.start()]
        else:
            safe = self._pending[: len(self._pending) - _partial_marker(self._pending)]
        safe = safe.rstrip()
        self._pending = self._pending[len(safe) :]
        self.shown += safe
        return safe

    def rest(self, content: str) -> str:
        """What is left to show once the final `content` is known ("" when the shown text does not lead it)."""
        return content[len(self.shown) :] if content.startswith(self.shown) else ""


def _partial_marker(text: str) -> int:
    """The length of the longest end of `text` that is the start of a call marker."""
    for size in range(min(len(text), max(len(m) for m in _CALL_MARKERS) - 1), 0, -1):
        if any(m.startswith(text[-size:]) for m in _CALL_MARKERS):
            return size
    return 0


async def retry_before_first(
    start: Callable[[], AsyncGenerator[E, None]], retry: Callable[[ModelAPIError, int], Awaitable[bool]]
) -> AsyncGenerator[E, None]:
    """The items of `start()`; when it raises `ModelAPIError` before its first item and
    `await retry(error, attempt)` (attempt 0, 1...) says so, the items of a fresh `start()`.

    Each generator is closed when it ends, fails, or when this one is closed early (`aclose()`).
    """
    attempt = 0
    while True:
        started = False
        try:
            async with aclosing(start()) as items:
                async for item in items:
                    started = True
                    yield item
            return
        except ModelAPIError as exc:
            if started or not await retry(exc, attempt):
                raise
        attempt += 1
