"""A loopback HTTP server that speaks OpenRouter's chat-completions wire format, for end-to-end tests.

It answers from a script, records every request (path, headers, JSON body), and reproduces OpenRouter's
shapes: `usage.cost`, errors as HTTP statuses and inside 200 bodies, and SSE streams with
`: OPENROUTER PROCESSING` comment lines, a final usage chunk and errors mid-stream. `RawStream` sends any
list of SSE events (chunks built with `chunk()` and `usage_chunk()`), slowly or cut short if asked.

With `thought_signatures`, it plays a Gemini 3 thinking model (`_signatures`): each tool-call answer
carries reasoning and a signature the server issued, and a request whose tool-call turn does not carry
back exactly what was issued for it is refused with HTTP 400, as Gemini refuses it.
"""

from __future__ import annotations

import itertools
import json
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import urlsplit

from ..messages import AssistantMessage
from ._signatures import SignedReasoning, stream_reasoning

__all__ = ["BodyError", "HTTPError", "LoopbackServer", "RawStream", "RecordedHTTPRequest", "StreamError"]


@dataclass(kw_only=True, frozen=True)
class HTTPError:
    """Answer with an HTTP error status and an OpenRouter-style error body."""

    status: int
    message: str = "error"
    code: str | int | None = None
    """The error's `code` (defaults to the status)."""
    metadata: dict[str, Any] | None = None
    headers: dict[str, str] | None = None
    """Extra response headers, e.g. `{"retry-after-ms": "10"}` to make the SDK retry quickly."""

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {
            "code": self.code if self.code is not None else self.status,
            "message": self.message,
        }
        if self.metadata:
            error["metadata"] = self.metadata
        return {"error": error}


@dataclass(kw_only=True, frozen=True)
class BodyError:
    """Answer HTTP 200 with `{"error": {...}}` instead of a completion (OpenRouter does this)."""

    code: int | str = 502
    message: str = "Provider returned error"
    metadata: dict[str, Any] | None = None


@dataclass(kw_only=True, frozen=True)
class StreamError:
    """In a stream: send `content` first, then an error chunk, then end the stream."""

    content: str = ""
    code: int | str = 502
    message: str = "Provider disconnected"


@dataclass(kw_only=True, frozen=True)
class RawStream:
    """Answer with exactly these SSE events (whatever the request asked): a dict is sent as `data: <json>`,
    a string as the line it is (`": OPENROUTER PROCESSING"`, `"data: [DONE]"`).

    Nothing is added: no processing comments, no usage chunk, no `[DONE]` unless listed.
    """

    events: list[dict[str, Any] | str]
    delay: float = 0.0
    """Seconds to wait before each event (a slow stream, to close early)."""
    cut: bool = False
    """Close the connection after the events although the announced body is longer (a dropped connection)."""


Answer = AssistantMessage | str | dict[str, Any] | HTTPError | BodyError | StreamError | RawStream
Responder = Callable[[dict[str, Any]], Answer]


@dataclass(kw_only=True)
class RecordedHTTPRequest:
    """A request the server received."""

    path: str
    headers: dict[str, str]
    """Header names in lower case."""
    body: dict[str, Any]
    client_port: int = 0
    """The client's port: requests with the same one came over the same connection."""


@dataclass(kw_only=True)
class _Usage:
    prompt_tokens: int = 11
    completion_tokens: int = 7
    cost: float | None = 0.0000042


class LoopbackServer:
    """An OpenRouter-compatible server on 127.0.0.1 answering from a script.

    `script` items are used in order, one per request: an `AssistantMessage` or text (sent as an
    OpenRouter completion, or streamed when the request asks for a stream), a raw completion dict, an
    `HTTPError`, a `BodyError`, a `StreamError`, a `RawStream`, or a callable that receives the request body
    and returns one of those. Use as a context manager; `base_url` ends in `/v1`.

    With `check` (a function of the request body returning problems, such as `check_gemini_history`), a
    request it finds problems in is refused as the provider would: HTTP 400 naming them, without using
    a scripted answer (the request is still recorded). With `thought_signatures`, it plays a Gemini 3
    thinking model that signs its tool calls and enforces the signatures (`signatures`).
    """

    def __init__(
        self,
        script: Iterable[Answer | Responder] = (),
        *,
        model: str = "google/gemini-2.0-flash-001",
        usage: dict[str, Any] | None = None,
        processing_comments: int = 2,
        port: int = 0,
        check: Callable[[dict[str, Any]], Sequence[str]] | None = None,
        thought_signatures: Literal["openrouter", "google"] | None = None,
    ) -> None:
        self.script: list[Answer | Responder] = list(script)
        self.requests: list[RecordedHTTPRequest] = []
        self.model = model
        self.usage = {**_Usage().__dict__, **(usage or {})}
        if thought_signatures:  # a thinking model spends some of its output thinking
            self.usage.setdefault("completion_tokens_details", {"reasoning_tokens": 5})
        self.processing_comments = processing_comments
        self.requested_port = port
        """The port to listen on; 0 picks a free one."""
        self.check = check
        """Refuses (HTTP 400) the requests it finds problems in."""
        self.signatures = SignedReasoning(thought_signatures) if thought_signatures else None
        """Plays a Gemini 3 model that signs its tool calls and refuses a turn sent back without the
        signature (`"openrouter"`: OpenRouter's `reasoning_details`; `"google"`: Gemini's own endpoint,
        `extra_content.google.thought_signature` on the first call). `None`: no reasoning."""
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ---------------------------------------------------------------------------------------

    def start(self) -> LoopbackServer:
        handler = type("_Handler", (_Handler,), {"owner": self})
        self._server = _QuietServer(("127.0.0.1", self.requested_port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="agentkit-loopback",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "start the server first"
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def add(self, *answers: Answer | Responder) -> None:
        """Queue more answers."""
        with self._lock:
            self.script.extend(answers)

    @property
    def bodies(self) -> list[dict[str, Any]]:
        """The JSON bodies of every request so far."""
        return [r.body for r in self.requests]

    # --- answers -----------------------------------------------------------------------------------------

    def _next(self, body: dict[str, Any]) -> Answer:
        if self.signatures is not None and (refusal := self.signatures.check(body)) is not None:
            return refusal  # a refused request uses no scripted answer
        answer = self._scripted(body)
        if self.signatures is not None and isinstance(answer, (AssistantMessage, str)):
            return self.signatures.sign(answer)
        return answer

    def _scripted(self, body: dict[str, Any]) -> Answer:
        with self._lock:
            if not self.script:
                return HTTPError(
                    status=400, message="LoopbackServer: no scripted answer left for this request"
                )
            item = self.script.pop(0)
        if callable(item) and not isinstance(
            item, (AssistantMessage, HTTPError, BodyError, StreamError, RawStream, dict)
        ):
            return item(body)
        return item

    def completion(self, answer: AssistantMessage | str) -> dict[str, Any]:
        """An OpenRouter chat completion for `answer`."""
        message = AssistantMessage(content=answer) if isinstance(answer, str) else answer
        wire: dict[str, Any] = {"role": "assistant", "content": message.content or None}
        if message.reasoning:
            wire["reasoning"] = message.reasoning
        if message.reasoning_details:
            wire["reasoning_details"] = message.reasoning_details
        if message.tool_calls:
            wire["tool_calls"] = [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": c.arguments},
                    **({"extra_content": c.extra_content} if c.extra_content else {}),
                }
                for c in message.tool_calls
            ]
        finish = message.finish_reason or ("tool_calls" if message.tool_calls else "stop")
        return {
            "id": f"gen-{next(self._ids)}",
            "provider": "Google",
            "model": self.model,
            "object": "chat.completion",
            "created": int(time.time()),
            "choices": [
                {
                    "index": 0,
                    "logprobs": None,
                    "finish_reason": finish,
                    "native_finish_reason": finish.upper(),
                    "message": wire,
                }
            ],
            "usage": self._usage(),
        }

    def _usage(self) -> dict[str, Any]:
        usage = {
            "prompt_tokens": self.usage["prompt_tokens"],
            "completion_tokens": self.usage["completion_tokens"],
            "total_tokens": self.usage["prompt_tokens"] + self.usage["completion_tokens"],
        }
        if self.usage.get("cost") is not None:
            usage["cost"] = self.usage["cost"]
        usage.update(
            (k, v) for k, v in self.usage.items() if k not in _Usage.__dict__
        )  # prompt_tokens_details
        return usage

    def chunk(
        self, delta: dict[str, Any], finish: str | None = None, *, gen_id: str = "gen-stream", **extra: Any
    ) -> dict[str, Any]:
        """A `chat.completion.chunk` with one choice carrying `delta` (and `finish` as its finish reason)."""
        choice: dict[str, Any] = {"index": 0, "delta": delta, "finish_reason": finish}
        if finish is not None:
            choice["native_finish_reason"] = finish.upper()
        return {
            "id": gen_id,
            "provider": "Google",
            "model": self.model,
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "choices": [choice],
            **extra,
        }

    def usage_chunk(self, *, gen_id: str = "gen-stream") -> dict[str, Any]:
        """The last chunk of a stream that asked for usage: no choices, the usage (with OpenRouter's cost)."""
        chunk = self.chunk({}, gen_id=gen_id, usage=self._usage())
        chunk["choices"] = []
        return chunk

    def stream_events(self, answer: AssistantMessage | str | StreamError) -> list[str]:
        """The SSE lines (without the trailing blank line) for a streamed answer."""
        events = [": OPENROUTER PROCESSING"] * self.processing_comments
        gen_id = f"gen-{next(self._ids)}"

        def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
            return "data: " + json.dumps(self.chunk(delta, finish, gen_id=gen_id))

        if isinstance(answer, StreamError):
            if answer.content:
                events.append(chunk({"role": "assistant", "content": answer.content}))
            error = {
                "error": {"code": answer.code, "message": answer.message},
                "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": "error"}],
            }
            events.append("data: " + json.dumps(error))
            return events
        message = AssistantMessage(content=answer) if isinstance(answer, str) else answer
        events.extend(chunk(delta) for delta in stream_reasoning(message))
        text = message.content
        for start in range(0, len(text), 8):
            events.append(chunk({"role": "assistant", "content": text[start : start + 8]}))
        for index, call in enumerate(message.tool_calls):
            half = len(call.arguments) // 2
            first = {
                "index": index,
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments[:half]},
                **({"extra_content": call.extra_content} if call.extra_content else {}),
            }
            events.append(chunk({"role": "assistant", "tool_calls": [first]}))
            events.append(
                chunk({"tool_calls": [{"index": index, "function": {"arguments": call.arguments[half:]}}]})
            )
        events.append(chunk({}, "tool_calls" if message.tool_calls else "stop"))
        events.append("data: " + json.dumps(self.usage_chunk(gen_id=gen_id)))
        events.append("data: [DONE]")
        return events


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that drops its connection (a stream closed early) is normal here, not worth a traceback
        on stderr; anything else is reported as usual."""
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    owner: LoopbackServer
    disable_nagle_algorithm = True  # no 40 ms delayed-ACK stalls on loopback
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            self._json(400, {"error": {"code": 400, "message": "request body is not JSON"}})
            return
        owner = self.owner
        with owner._lock:
            owner.requests.append(
                RecordedHTTPRequest(
                    path=self.path,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                    client_port=int(self.client_address[1]),
                )
            )
        if not urlsplit(self.path).path.rstrip("/").endswith("/chat/completions"):
            self._json(404, {"error": {"code": 404, "message": f"no route {self.path}"}})
            return
        problems = list(owner.check(body)) if owner.check is not None else []
        if problems:
            message = "Request refused: " + "; ".join(problems)
            self._json(400, {"error": {"code": 400, "message": message, "metadata": {"problems": problems}}})
            return
        answer = owner._next(body)
        if isinstance(answer, RawStream):
            lines = [e if isinstance(e, str) else "data: " + json.dumps(e) for e in answer.events]
            self._stream(lines, delay=answer.delay, cut=answer.cut)
        elif isinstance(answer, HTTPError):
            self._json(answer.status, answer.body(), answer.headers)
        elif isinstance(answer, BodyError):
            error: dict[str, Any] = {"code": answer.code, "message": answer.message}
            if answer.metadata:
                error["metadata"] = answer.metadata
            self._json(200, {"error": error, "user_id": "user_1"})
        elif isinstance(answer, dict):
            self._json(200, answer)
        elif body.get("stream"):
            self._stream(owner.stream_events(answer))
        elif isinstance(answer, StreamError):
            self._json(200, {"error": {"code": answer.code, "message": answer.message}})
        else:
            self._json(200, owner.completion(answer))

    def _json(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, events: list[str], *, delay: float = 0.0, cut: bool = False) -> None:
        pieces = [f"{e}\n\n".encode() for e in events]
        length = sum(len(p) for p in pieces)
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Content-Length", str(length + 64 if cut else length))
        self.end_headers()
        try:
            if delay:
                for piece in pieces:
                    time.sleep(delay)
                    self.wfile.write(piece)
            else:
                self.wfile.write(b"".join(pieces))
        except (BrokenPipeError, ConnectionResetError):  # the client closed the stream early
            self.close_connection = True
        if cut:  # the body is shorter than announced: closing now drops the connection mid-body
            self.close_connection = True
