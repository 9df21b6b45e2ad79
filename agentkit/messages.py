"""Provider-neutral messages: what a run's transcript is made of, and its JSON round trip.

A transcript is a list of `Message`: `SystemMessage`, `UserMessage`, `AssistantMessage` (text and/or tool
calls, with the usage of the request that produced it) and `ToolMessage` (one per tool call; its text, and
the images the tool returned, if any). The model
adapters in `agentkit.models` translate these to and from each provider's wire format.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

from .exceptions import UserError
from .usage import Usage

if TYPE_CHECKING:
    from pydantic import TypeAdapter

__all__ = [
    "MAX_AUDIO_BYTES",
    "MAX_DOCUMENT_BYTES",
    "MAX_IMAGE_BYTES",
    "AssistantMessage",
    "AudioPart",
    "ContentPart",
    "DocumentPart",
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


MAX_IMAGE_BYTES = 20 * 1024 * 1024
"""The largest image read from a file or bytes (20 MiB, OpenAI's limit for one image; OpenRouter passes
images on). A larger one: scale it down, or give an `https:` URL."""
MAX_DOCUMENT_BYTES = 20 * 1024 * 1024
"""The largest PDF sent inline (20 MiB): its base64 copy, a third larger, goes in every request of the run,
and providers cap a request's inline data (Gemini near 20 MB). A larger one: give an `https:` URL."""
MAX_AUDIO_BYTES = 20 * 1024 * 1024
"""The largest WAV or MP3 sent inline (20 MiB; audio goes only inline, as base64)."""


@dataclass(kw_only=True, frozen=True)
class ImagePart:
    """An image inside a user message or a tool's result, as an `https:` or `data:` URL."""

    url: str
    detail: Literal["auto", "low", "high"] | None = None
    """Resolution hint for providers that take one."""
    type: Literal["image"] = "image"

    @classmethod
    def from_bytes(cls, data: bytes, media_type: str | None = None) -> ImagePart:
        """An image from raw bytes, sent inline as a base64 `data:` URL.

        Without `media_type`, the type is the one the bytes show (PNG, JPEG, GIF or WebP); given, it is trusted.

        Raises:
            UserError: The bytes are no PNG, JPEG, GIF or WebP image (no `media_type` given), or are larger
                than `MAX_IMAGE_BYTES`.
        """
        _check_size(data, MAX_IMAGE_BYTES, "image")
        media_type = media_type or _image_type(data, "image")
        return cls(url=_data_url(media_type, data))

    @classmethod
    def from_path(cls, path: str | Path) -> ImagePart:
        """An image read from a file (at most `MAX_IMAGE_BYTES`); its type comes from its bytes, not its name.

        Raises:
            UserError: The file is missing, unreadable, not a regular file, too large, or no PNG, JPEG, GIF
                or WebP image.
        """
        from ._support.files import read_bounded

        data = read_bounded(path, limit=MAX_IMAGE_BYTES, what="image")
        return cls(url=_data_url(_image_type(data, f"image {path}"), data))


@dataclass(kw_only=True, frozen=True)
class DocumentPart:
    """A PDF inside a user message: inline as a `data:application/pdf;base64,` URL, or an `https:` URL that
    the provider fetches (OpenRouter does, for any model: natively where the model reads PDFs, else parsed).

    Sent as `{"type": "file", "file": {"filename": ..., "file_data": <url>}}`.
    """

    url: str
    filename: str = "document.pdf"
    """The file name the model is told."""
    type: Literal["document"] = "document"

    @classmethod
    def from_bytes(cls, data: bytes, *, filename: str = "document.pdf") -> DocumentPart:
        """A PDF from raw bytes, sent inline.

        Raises:
            UserError: The bytes are not a PDF, or are larger than `MAX_DOCUMENT_BYTES`.
        """
        _check_size(data, MAX_DOCUMENT_BYTES, "document", "; give an https: URL instead")
        return cls(url=_data_url(_document_type(data, f"document {filename}"), data), filename=filename)

    @classmethod
    def from_path(cls, path: str | Path) -> DocumentPart:
        """A PDF read from a file (at most `MAX_DOCUMENT_BYTES`), named after it.

        Raises:
            UserError: The file is missing, unreadable, not a regular file, too large, or not a PDF.
        """
        from ._support.files import read_bounded

        data = read_bounded(path, limit=MAX_DOCUMENT_BYTES, what="document")
        media_type = _document_type(data, f"document {path}")
        return cls(url=_data_url(media_type, data), filename=Path(path).name or "document.pdf")

    @classmethod
    def from_url(cls, url: str, *, filename: str | None = None) -> DocumentPart:
        """A PDF at a public `http(s):` URL, fetched by the provider; named after the URL's last segment.

        Raises:
            UserError: The URL is not `http(s):` or a `data:application/pdf` URL.
        """
        if not url.startswith(("https://", "http://", "data:application/pdf")):
            raise UserError(f"document {url[:60]}: give an http(s) URL or a data:application/pdf URL")
        if filename is None:
            from urllib.parse import unquote, urlsplit

            last = unquote(urlsplit(url).path.rsplit("/", 1)[-1]) if url.startswith("http") else ""
            filename = last or "document.pdf"
        return cls(url=url, filename=filename)


@dataclass(kw_only=True, frozen=True)
class AudioPart:
    """Audio inside a user message (WAV or MP3), sent inline as
    `{"type": "input_audio", "input_audio": {"data": <base64>, "format": "wav" | "mp3"}}`."""

    data: str
    """The audio, base64-encoded."""
    format: Literal["wav", "mp3"]
    type: Literal["audio"] = "audio"

    @classmethod
    def from_bytes(cls, data: bytes) -> AudioPart:
        """Audio from raw bytes; the format is the one the bytes show.

        Raises:
            UserError: The bytes are neither WAV nor MP3, or are larger than `MAX_AUDIO_BYTES`.
        """
        _check_size(data, MAX_AUDIO_BYTES, "audio")
        return cls._of(data, "audio")

    @classmethod
    def from_path(cls, path: str | Path) -> AudioPart:
        """Audio read from a WAV or MP3 file (at most `MAX_AUDIO_BYTES`).

        Raises:
            UserError: The file is missing, unreadable, not a regular file, too large, or neither WAV nor MP3.
        """
        from ._support.files import read_bounded

        return cls._of(read_bounded(path, limit=MAX_AUDIO_BYTES, what="audio"), f"audio {path}")

    @classmethod
    def _of(cls, data: bytes, what: str) -> AudioPart:
        from ._support.files import audio_format

        found = audio_format(data)
        if found is None:
            raise UserError(f"{what}: not a WAV or MP3 file (its first bytes say otherwise)")
        fmt: Literal["wav", "mp3"] = "wav" if found == "wav" else "mp3"
        return cls(data=base64.b64encode(data).decode("ascii"), format=fmt)


def _data_url(media_type: str, data: bytes) -> str:
    return f"data:{media_type};base64,{base64.b64encode(data).decode('ascii')}"


def _check_size(data: bytes, limit: int, what: str, hint: str = "") -> None:
    if len(data) > limit:
        from ._support.files import size_text

        raise UserError(
            f"{what}: {size_text(len(data))} is over the limit of {size_text(limit)}; make it smaller{hint}"
        )


def _image_type(data: bytes, what: str) -> str:
    from ._support.files import image_type

    found = image_type(data)
    if found is None:
        raise UserError(f"{what}: not a PNG, JPEG, GIF or WebP image (its first bytes say otherwise)")
    return found


def _document_type(data: bytes, what: str) -> str:
    from ._support.files import document_type

    found = document_type(data)
    if found is None:
        raise UserError(f"{what}: not a PDF (no %PDF- header); only PDF documents can be sent")
    return found


ContentPart = Union[TextPart, ImagePart, DocumentPart, AudioPart]
"""A part of a multi-part user message (its `type` tells which)."""


@dataclass(kw_only=True, frozen=True)
class ToolCall:
    """One tool call the model asked for."""

    id: str
    """The call's id, unique within the transcript (agentkit makes it so when a provider does not)."""
    name: str
    """The tool's name, as the model wrote it."""
    arguments: str
    """The arguments as JSON text: as the model sent them (possibly empty or invalid), as agentkit
    repaired them, or `{}` in place of what the run could neither decode as a JSON object nor repair
    (then `original_arguments` keeps what the model wrote)."""
    original_arguments: str | None = None
    """What the model wrote, when agentkit repaired the call locally instead of asking again: the invalid
    arguments text (for two calls written as one, `{...}{...}`, each keeps the whole text), or the message
    text the model wrote the call in (a JSON call in `content` instead of a tool call); or, for arguments
    that are not a JSON object and could not be repaired, that text (the call holds `{}`, and the model is
    told what was wrong). `None`: as sent."""
    wire_arguments: str | None = None
    """The arguments as the model wrote them, when the model layer rewrote them into standard form in
    `arguments` (a model whose schema dialect sends a dict as key/value pairs, an optional value as `null`,
    ...): sent back in their place to the same model family, whose signed thought covers the call as
    written. Not set by repairs (`original_arguments`); `None`: `arguments` is what the model wrote."""
    extra_content: dict[str, Any] | None = field(default=None, hash=False)
    """Provider data attached to the call, kept as sent and sent back with it: Gemini's own
    OpenAI-compatible endpoint puts the call's signed thought here (`{"google": {"thought_signature": ...}}`).
    Sent back only to the same model family (see `AssistantMessage.model_family`)."""


@dataclass(kw_only=True)
class SystemMessage:
    """Instructions for the model."""

    content: str
    role: Literal["system"] = "system"


@dataclass(kw_only=True)
class UserMessage:
    """What the user said: text, or a list of parts (text, images, PDF documents, audio)."""

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
    provider: str | None = None
    """The provider that served the answer, as OpenRouter reports it (`"Google"`, `"Google AI Studio"`);
    `None` when the endpoint does not say."""
    finish_reason: str | None = None
    """The provider's finish reason (informational: tool calls are decided by their presence)."""
    response_id: str | None = None
    """The provider's id of the completion (its `id`, e.g. OpenRouter's `gen-...`), when it sends one."""
    usage: Usage | None = None
    """What the request that produced this message consumed."""
    reasoning: str | None = None
    """The model's thinking as text (the wire's `reasoning`), when it shows it."""
    reasoning_details: list[dict[str, Any]] | None = None
    """The model's reasoning as the provider sent it (OpenRouter's `reasoning_details`: `reasoning.text`,
    `reasoning.summary` and `reasoning.encrypted` entries, some signed). Opaque and kept byte for byte:
    sent back unchanged on this message to the same model family (Gemini 3 refuses a tool-call turn
    without them); to another family the signed parts are left out."""
    model_family: str | None = None
    """The family of the model that wrote the reasoning and signatures (its profile's `family`, or
    `model:<id>` for a model without a known profile); set when the message carries any. A later request
    to another family gets this message without them. `None`: sent as is."""
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


def unique_call_id(call_id: str, taken: set[str]) -> str:
    """`call_id` when it is not empty and not in `taken`, else a new `call_N` (N counting on from the number
    of ids taken); either way added to `taken`. The one place agentkit makes a tool-call id: for a call whose
    id is missing or repeated (Gemini sends both), a call read from a prompted model's text, and the second
    of two calls a model wrote as one."""
    number = len(taken)
    while not call_id or call_id in taken:
        number += 1
        call_id = f"call_{number}"
    taken.add(call_id)
    return call_id


def turns(messages: Sequence[Message]) -> list[tuple[Message, dict[str, ToolMessage]]]:
    """The transcript's messages other than tool results, each assistant turn that made tool calls with its
    results: the tool messages right after it, by call id (a call's first answer wins). A tool message that
    follows no such turn answers nothing and is left out; other messages come with no results. The one
    grouping of a turn's results: the wire format and the prompted format both read it."""
    out: list[tuple[Message, dict[str, ToolMessage]]] = []
    for message in messages:
        if not isinstance(message, ToolMessage):
            out.append((message, {}))
        elif out and isinstance(turn := out[-1][0], AssistantMessage) and turn.tool_calls:
            out[-1][1].setdefault(message.tool_call_id, message)
    return out


@cache
def _adapter() -> TypeAdapter[list[Message]]:
    from pydantic import Field, TypeAdapter

    return TypeAdapter(list[Annotated[Message, Field(discriminator="role")]])


def messages_to_json(messages: Sequence[Message], *, indent: int | None = None) -> bytes:
    """Serialise a transcript to JSON (UTF-8 bytes); a lone surrogate, which UTF-8 cannot encode (a file
    name that is not UTF-8 gives them), is written as U+FFFD."""
    from pydantic_core import PydanticSerializationError, to_json

    try:
        return _adapter().dump_json(list(messages), indent=indent)
    except PydanticSerializationError:
        from ._support.unicode import valid_unicode

        data = valid_unicode(_adapter().dump_python(list(messages), mode="json"))
        return to_json(data, indent=indent)


def messages_from_json(data: str | bytes) -> list[Message]:
    """Load a transcript written by `messages_to_json`."""
    return _adapter().validate_json(data)
