"""The HTTP seam of cassettes: `httpx2.AsyncHTTPTransport.handle_async_request`, patched while one is in use.

The openai SDK sends every request of every `AsyncOpenAI` client through an `AsyncHTTPTransport`, those
made before the cassette was (`models._clients` caches them) included; patching the class reaches them all,
on any thread and event loop. Recording passes the request through and keeps a copy of the response's bytes
as they stream by; replaying answers from the recording and opens no connection.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import zlib
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING

import httpx2

from .._support.redact import header_secrets
from ..exceptions import UserError
from ._cassette import Interaction, redact_body, redact_url

if TYPE_CHECKING:
    from ._cassette import Cassette

__all__ = ["intercept"]

KEPT_HEADERS = ("retry-after", "retry-after-ms", "x-should-retry")
"""Response headers kept besides the content type: the SDK's retries act on them."""

_EVENT_END = re.compile(r"(?<=\n\n)|(?<=\n\r\n)")

_lock = threading.Lock()
_active: list[Cassette] = []
_original = httpx2.AsyncHTTPTransport.handle_async_request
"""The method in place when the cassette started (another library's patch is kept, and put back)."""


@contextmanager
def intercept(cassette: Cassette) -> Iterator[None]:
    """Within the block, every async HTTP request goes through `cassette`."""
    with _lock:
        if _active:
            raise UserError(
                f"A cassette ({_active[0].path}) is already in use; use one cassette at a time "
                "(several runs can share one)."
            )
        global _original
        _active.append(cassette)
        _original = httpx2.AsyncHTTPTransport.handle_async_request
        httpx2.AsyncHTTPTransport.handle_async_request = _handle  # type: ignore[method-assign]
    try:
        yield
    finally:
        with _lock:
            _active.clear()
            httpx2.AsyncHTTPTransport.handle_async_request = _original  # type: ignore[method-assign]


async def _handle(self: httpx2.AsyncHTTPTransport, request: httpx2.Request) -> httpx2.Response:
    """The patched `AsyncHTTPTransport.handle_async_request` (`self` is the transport)."""
    cassette = _active[0] if _active else None
    if cassette is None:  # pragma: no cover - a request that started as the cassette was being removed
        return await _original(self, request)
    await request.aread()
    seen = _seen(request, cassette)
    if cassette.mode == "replay":
        return _replay(cassette.take(seen))
    request.headers["accept-encoding"] = "identity"  # a readable body to record (the SDK asks for gzip)
    response = await _original(self, request)
    assert isinstance(response.stream, httpx2.AsyncByteStream)
    seen.status = response.status_code
    seen.content_type = response.headers.get("content-type", "")
    seen.headers = {name: response.headers[name] for name in KEPT_HEADERS if name in response.headers}
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    response.stream = _RecordingStream(response.stream, seen, encoding)
    cassette.record(seen)
    return response


def _seen(request: httpx2.Request, cassette: Cassette) -> Interaction:
    """The request as an interaction without a response; its secrets told to `cassette`."""
    url, secrets = redact_url(str(request.url))
    cassette.add_secrets([*secrets, *header_secrets(request.headers.items())])
    content = request.content
    body: object = None
    if content:
        try:
            body, found = redact_body(json.loads(content))  # redacted alike when recorded and when replayed
            cassette.add_secrets(found)
        except ValueError:
            body = content.decode("utf-8", "replace")
    return Interaction(method=request.method, url=url, body=body)


def set_body(interaction: Interaction, data: bytes, encoding: str = "identity") -> None:
    """Store `data` in `interaction` in its most readable form: JSON, SSE lines, text, else base64."""
    if encoding in ("gzip", "deflate", "x-gzip"):
        with suppress(zlib.error):
            data, encoding = zlib.decompress(data, zlib.MAX_WBITS | 32), "identity"
    try:
        if encoding != "identity":
            raise ValueError(encoding)
        text = data.decode("utf-8")
    except ValueError:  # UnicodeDecodeError included: raw bytes, as they came
        interaction.kind, interaction.response = "base64", base64.b64encode(data).decode("ascii")
        if encoding != "identity":
            interaction.headers["content-encoding"] = encoding
        return
    if "event-stream" in interaction.content_type:
        interaction.kind, interaction.response = "sse", text.split("\n")
        return
    if "json" in interaction.content_type:
        try:
            interaction.kind, interaction.response = "json", json.loads(text)
            return
        except ValueError:
            pass
    interaction.kind, interaction.response = "text", text


def body_chunks(interaction: Interaction) -> list[bytes]:
    """The recorded body as the pieces a replay sends: one per server-sent event for a stream."""
    if interaction.kind == "json":
        return [json.dumps(interaction.response, ensure_ascii=False).encode()]
    if interaction.kind == "base64":
        return [base64.b64decode(interaction.response)]
    if interaction.kind == "sse":
        text = "\n".join(interaction.response)
        return [piece.encode() for piece in _EVENT_END.split(text) if piece]
    return [str(interaction.response).encode()]


def _replay(interaction: Interaction) -> httpx2.Response:
    headers = [("content-type", interaction.content_type)] if interaction.content_type else []
    # a replayed 429 or 503 is retried at once: the recorded wait was the server's, not the test's
    headers.extend((k, "0" if k.startswith("retry-after") else v) for k, v in interaction.headers.items())
    return httpx2.Response(
        interaction.status, headers=headers, stream=_ReplayStream(body_chunks(interaction))
    )


class _ReplayStream(httpx2.AsyncByteStream):
    def __init__(self, chunks: list[bytes]) -> None:
        self._chunks = chunks

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks:
            yield chunk


class _RecordingStream(httpx2.AsyncByteStream):
    """The server's response stream, passed through as it arrives, its bytes kept for the cassette."""

    def __init__(self, inner: httpx2.AsyncByteStream, interaction: Interaction, encoding: str) -> None:
        self._inner = inner
        self._interaction = interaction
        self._encoding = encoding
        self._parts: list[bytes] = []
        self._done = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for part in self._inner:
            self._parts.append(part)
            yield part
        self._finish()

    async def aclose(self) -> None:
        self._finish()
        await self._inner.aclose()

    def _finish(self) -> None:
        if not self._done:
            self._done = True
            set_body(self._interaction, b"".join(self._parts), self._encoding)
