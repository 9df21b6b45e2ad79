"""What the page shows, as small JSON items: made from a run's events as they come, and from a stored
transcript when a chat is reopened, so the page has one renderer for both.

```
user        {text, attachments}         a message the person sent
turn        {}                          a model request begins: the next text starts a new bubble
thinking    {text}                      a piece of the model's reasoning
text        {text, provisional}         a piece of the answer
retract     {}                          the provisional text just shown is not the answer: drop it
tool_start  {id, name, arguments, repaired, parent}    a call began (parent: the sub-agent's call)
tool_end    {id, content, is_error, images, duration_s, attempts}
approval    {id, name, arguments}       a call waits for Approve / Deny
usage       {usage, model}              one model response's usage, and the model that answered
output      {text}                      a structured answer (JSON), when the output is not text
done        {usage, session}            the run ended: its total usage
error       {message}                   the run failed
```
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from ..events import (
    ApprovalRequired,
    Event,
    FeedbackSent,
    RequestStarted,
    ResponseFinished,
    RunFinished,
    SubAgentEvent,
    TextDelta,
    ThinkingDelta,
    ToolCallFinished,
    ToolCallStarted,
)
from ..messages import AssistantMessage, ImagePart, Message, ToolCall, ToolMessage, UserMessage
from ..usage import Usage

__all__ = ["Item", "event_items", "transcript_items", "usage_json"]

Item = dict[str, Any]


def usage_json(usage: Usage | None) -> dict[str, Any]:
    """A `Usage` as JSON, with its total tokens."""
    if usage is None:
        return {}
    return {**dataclasses.asdict(usage), "total_tokens": usage.total_tokens}


def event_items(event: Event, *, parent: str | None = None) -> Iterator[Item]:
    """The page's items for one run event (`parent`: the call of the sub-agent the event comes from)."""
    if isinstance(event, SubAgentEvent):
        yield from event_items(event.event, parent=event.tool_call_id)
    elif isinstance(event, ToolCallStarted):
        yield _call_start(event.call, event.arguments, parent)
    elif isinstance(event, ToolCallFinished):
        yield _call_end(event.message, duration_s=event.duration_s, attempts=event.attempts)
    elif isinstance(event, ApprovalRequired):
        yield approval_item(event.call, event.arguments)
    elif parent is None:  # the sub-agent's own text, thinking and usage stay inside its call's result
        yield from _top_level_items(event)


def _top_level_items(event: Event) -> Iterator[Item]:
    if isinstance(event, TextDelta):
        yield {"type": "text", "text": event.text, "provisional": event.provisional}
    elif isinstance(event, ThinkingDelta):
        yield {"type": "thinking", "text": event.text}
    elif isinstance(event, RequestStarted):
        yield {"type": "turn"}
    elif isinstance(event, ResponseFinished):
        yield {"type": "usage", "usage": usage_json(event.message.usage), "model": event.message.model_name}
    elif isinstance(event, FeedbackSent) and event.reason == "answer_questioned":
        yield {"type": "retract"}
    elif isinstance(event, RunFinished) and not isinstance(event.result.output, (str, type(None))):
        yield {"type": "output", "text": _json_text(event.result.output)}


def approval_item(call: ToolCall, arguments: Mapping[str, Any] | None) -> Item:
    """The item of a call waiting for a person (`arguments`: validated, else the call's own text)."""
    shown = _json_text(dict(arguments)) if arguments is not None else _pretty(call.arguments)
    return {"type": "approval", "id": call.id, "name": call.name, "arguments": shown}


def transcript_items(messages: Sequence[Message], *, parent: str | None = None) -> Iterator[Item]:
    """The items a stored transcript shows as (durations are not stored: `duration_s` is `None`)."""
    for message in messages:
        if isinstance(message, UserMessage):
            if parent is None and not message.feedback:
                attachments = (
                    0 if isinstance(message.content, str) else len(message.content) - _texts(message)
                )
                yield {"type": "user", "text": message.text, "attachments": attachments}
        elif isinstance(message, AssistantMessage):
            yield from _assistant_items(message, parent)
        elif isinstance(message, ToolMessage):
            if message.transcript:
                yield from transcript_items(message.transcript, parent=message.tool_call_id)
            yield _call_end(message, duration_s=None, attempts=1)


def _assistant_items(message: AssistantMessage, parent: str | None) -> Iterator[Item]:
    if parent is None:
        yield {"type": "turn"}
        if message.reasoning:
            yield {"type": "thinking", "text": message.reasoning}
        if message.content:
            yield {"type": "text", "text": message.content, "provisional": False}
        yield {"type": "usage", "usage": usage_json(message.usage), "model": message.model_name}
    for call in message.tool_calls:
        yield _call_start(call, None, parent)


def _texts(message: UserMessage) -> int:
    return sum(1 for part in message.content if getattr(part, "type", None) == "text")


def _call_start(call: ToolCall, arguments: Mapping[str, Any] | None, parent: str | None) -> Item:
    shown = _json_text(dict(arguments)) if arguments is not None else _pretty(call.arguments)
    return {
        "type": "tool_start",
        "id": call.id,
        "name": call.name,
        "arguments": shown,
        "repaired": call.original_arguments,
        "parent": parent,
    }


def _call_end(message: ToolMessage, *, duration_s: float | None, attempts: int) -> Item:
    return {
        "type": "tool_end",
        "id": message.tool_call_id,
        "content": message.content,
        "is_error": message.is_error,
        "images": [image.url for image in message.images if isinstance(image, ImagePart)],
        "duration_s": duration_s,
        "attempts": attempts,
    }


def _pretty(arguments: str) -> str:
    try:
        return _json_text(json.loads(arguments))
    except ValueError:
        return arguments


def _json_text(value: object) -> str:
    from pydantic_core import to_jsonable_python

    return json.dumps(to_jsonable_python(value, fallback=repr), indent=2, ensure_ascii=False)
