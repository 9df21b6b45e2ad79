"""Provider-neutral messages: what a run's transcript is made of, and its JSON round trip.

A transcript is a list of `Message`: `SystemMessage`, `UserMessage`, `AssistantMessage` (text and/or tool
calls, with the usage of the request that produced it) and `ToolMessage` (one per tool call; its text, and
the images the tool returned, if any). The model
adapters in `agentkit.models` translate these to and from each provider's wire format.
"""

from __future__ import annotations

import base64
import mimetypes
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal, Union

from .usage import Usage

if TYPE_CHECKING:
    from pydantic import TypeAdapter

__all__ = [
    "AssistantMessage",
    "ContentPart",
    "ImagePart",
    "Message",
    "SystemMessage",
    "TextPart",
    "ToolCall",
    "ToolMessage",
    "UserMessage",
    "messages_from_json",
    "messages_to_json",
]


@dataclass(kw_only=True, frozen=True)
class TextPart:
    """Text inside a multi-part user message."""

    text: str
    type: Literal["text"] = "text"


@dataclass(kw_only=True, frozen=True)
class ImagePart:
    """An image inside a user message or a tool's result, as an `https:` or `data:` URL."""

    url: str
    detail: Literal["auto", "low", "high"] | None = None
    """Resolution hint for providers that take one."""
    type: Literal["image"] = "image"

    @classmethod
    def from_bytes(cls, data: bytes, media_type: str) -> ImagePart:
        """An image from raw bytes, sent inline as a base64 `data:` URL."""
        return cls(url=f"data:{media_type};base64,{base64.b64encode(data).decode('ascii')}")

    @classmethod
    def from_path(cls, path: str | Path) -> ImagePart:
        """An image read from a file; the media type comes from the file name."""
        media_type = mimetypes.guess_type(str(path))[0] or "application/octet-stream"
        return cls.from_bytes(Path(path).read_bytes(), media_type)


ContentPart = Union[TextPart, ImagePart]


@dataclass(kw_only=True, frozen=True)
class ToolCall:
    """One tool call the model asked for."""

    id: str
    """The call's id, unique within the transcript (agentkit makes it so when a provider does not)."""
    name: str
    """The tool's name, as the model wrote it."""
    arguments: str
    """The arguments as JSON text: as the model sent them (possibly empty or invalid), or as agentkit
    repaired them (then `original_arguments` keeps what the model wrote)."""
    original_arguments: str | None = None
    """What the model wrote, when agentkit repaired the call locally instead of asking again: the invalid
    arguments text (for two calls written as one, `{...}{...}`, each keeps the whole text), or the message
    text the model wrote the call in (a JSON call in `content` instead of a tool call). `None`: as sent."""


@dataclass(kw_only=True)
class SystemMessage:
    """Instructions for the model."""

    content: str
    role: Literal["system"] = "system"


@dataclass(kw_only=True)
class UserMessage:
    """What the user said: text, or a list of text and image parts."""

    content: str | list[ContentPart]
    feedback: bool = False
    """True when agentkit wrote it during a run (a nudge after an empty or unchecked answer), not the user."""
    role: Literal["user"] = "user"

    @property
    def text(self) -> str:
        """The text of the message, parts joined by newlines."""
        if isinstance(self.content, str):
            return self.content
        return "\n".join(p.text for p in self.content if isinstance(p, TextPart))


@dataclass(kw_only=True)
class AssistantMessage:
    """A model's answer: text, tool calls, or both."""

    content: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    model_name: str | None = None
    """The model that answered, as the provider reported it."""
    finish_reason: str | None = None
    """The provider's finish reason (informational: tool calls are decided by their presence)."""
    response_id: str | None = None
    """The provider's id of the completion (its `id`, e.g. OpenRouter's `gen-...`), when it sends one."""
    usage: Usage | None = None
    """What the request that produced this message consumed."""
    role: Literal["assistant"] = "assistant"


@dataclass(kw_only=True)
class ToolMessage:
    """The result of one tool call, sent back to the model."""

    tool_call_id: str
    name: str
    content: str
    """The result as text (for a result with images, its text parts and a note of the images)."""
    is_error: bool = False
    """True when `content` reports a failure the model should fix (bad arguments, `ModelRetry`, an exception)."""
    images: list[ImagePart] = field(default_factory=list)
    """Images the tool returned (an `ImagePart`, or a list of `TextPart`/`ImagePart`). Chat-completions
    tool messages take text only, so the images follow the turn's results in a user message."""
    transcript: list[Message] | None = None
    """For a tool that runs an agent (`Agent.as_tool`): that run's whole transcript (not sent to the model)."""
    role: Literal["tool"] = "tool"


Message = Union[SystemMessage, UserMessage, AssistantMessage, ToolMessage]
"""Any message of a transcript (its `role` tells which)."""


def transcript_call_ids(messages: Sequence[Message]) -> list[str]:
    """Every tool-call id already used in a transcript."""
    return [c.id for m in messages if isinstance(m, AssistantMessage) for c in m.tool_calls]


@cache
def _adapter() -> TypeAdapter[list[Message]]:
    from pydantic import Field, TypeAdapter

    return TypeAdapter(list[Annotated[Message, Field(discriminator="role")]])


def messages_to_json(messages: Sequence[Message], *, indent: int | None = None) -> bytes:
    """Serialise a transcript to JSON (UTF-8 bytes)."""
    return _adapter().dump_json(list(messages), indent=indent)


def messages_from_json(data: str | bytes) -> list[Message]:
    """Load a transcript written by `messages_to_json`."""
    return _adapter().validate_json(data)
