"""A loopback OpenAI-compatible chat-completions server that answers instantly from a script.

Every framework under benchmark talks to this server, so every framework gets the same conversation. The
server keeps no conversation state: it decides each answer from the request alone.

* The scenario comes from a `scenario=NAME` token in the first user message (or from a model name of the
  form `bench-NAME`). Scenarios are in `SCENARIOS`.
* The turn is the number of assistant messages already in the request.
* Each turn but the last answers with tool calls; the last answers `done after N tool results`.
* Before answering, the server checks that the request carries one tool result for each call of the previous
  turn and that each result contains the text the scripted call must produce (`expect`), so a framework that
  skipped or mangled a tool call fails loudly instead of looking fast.

A `run=ID` token in the first user message makes the server record, for that run, when each request arrived,
when each response was sent, and the `tools` array of the first request. `GET /stats?run=ID` returns that
record once and forgets it. Runs without an id leave no trace, so 1,000 concurrent runs cost no memory here.

The server is an asyncio HTTP/1.1 server over raw sockets with keep-alive and TCP_NODELAY. It speaks only
what the OpenAI client sends: `Content-Length` or chunked bodies, JSON responses, and SSE when `stream` is
true. Run it alone with `python benchmarks/server.py` (prints the port, serves until stdin closes).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import resource
import socket
import sys
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

FINAL_TEXT = "done after {n} tool results"
"""The last turn's answer; `n` is the number of tool results in the request."""

MODEL_NAME = "google/gemini-2.0-flash-001"
"""The model name every framework sends: it selects each framework's Gemini schema form."""


@dataclass(frozen=True, kw_only=True)
class Call:
    """One scripted tool call."""

    name: str
    """The tool's name; a name ending in `*` matches the first offered tool with that prefix."""
    arguments: dict[str, Any]
    """The arguments the model sends."""
    expect: str
    """Text the tool's result must contain."""


# The 10-tool reference set's calls (see reference_tools.py for the tools).
REFERENCE_CALLS: tuple[Call, ...] = (
    Call(name="get_weather", arguments={"city": "Paris", "units": "c"}, expect="weather:Paris:c"),
    Call(
        name="convert_currency",
        arguments={"amount": 12.5, "from_currency": "EUR", "to_currency": "USD"},
        expect="converted:12.5:EUR:USD",
    ),
    Call(
        name="search_docs", arguments={"query": "rate limits", "limit": 3}, expect="docs:rate limits:3:False"
    ),
    Call(
        name="tag_items",
        arguments={"item_ids": ["a1", "b2", "c3"], "tag": "urgent"},
        expect="tagged:3:urgent",
    ),
    Call(
        name="schedule_meeting",
        arguments={
            "title": "Sync",
            "attendees": ["ana@example.com", "bo@example.com"],
            "duration_minutes": 45,
        },
        expect="meeting:Sync:2:45:None",
    ),
    Call(name="set_priority", arguments={"task_id": "T-42", "priority": "high"}, expect="priority:T-42:high"),
    Call(
        name="create_contact",
        arguments={
            "contact": {
                "name": "Ana",
                "email": "ana@example.com",
                "address": {"street": "1 Main St", "city": "Lisbon", "country": "PT"},
            }
        },
        expect="contact:Ana:Lisbon",
    ),
    Call(
        name="toggle_feature",
        arguments={"name": "dark_mode", "enabled": True},
        expect="feature:dark_mode:True",
    ),
    Call(name="calculate_discount", arguments={"price": 99.99, "percent": 15.0}, expect="84.99"),
    Call(
        name="send_message",
        arguments={"recipient": "bo", "body": "hi", "channel": "sms", "urgent": False},
        expect="sent:sms:bo",
    ),
)

PAUSE_CALL = Call(name="pause*", arguments={"ms": 200}, expect="paused:200")

SCENARIOS: dict[str, tuple[tuple[Call, ...], ...]] = {
    # 2 model turns: one tool call, then the answer.
    "2turn": ((REFERENCE_CALLS[0],),),
    # 10 model turns: 9 turns of one tool call each, then the answer.
    "10turn": tuple((call,) for call in REFERENCE_CALLS[:9]),
    # 2 model turns: 8 parallel calls of the offered pause tool, then the answer.
    "parallel8": ((PAUSE_CALL,) * 8,),
    # 1 model turn: the answer at once.
    "1turn": (),
}
"""Scenario name -> the tool-call turns (each a tuple of calls); a final answer follows the last."""

_TOKEN = re.compile(r"\b(scenario|run)=([\w.-]+)")


class ScriptError(Exception):
    """The request does not fit the scenario's script; answered with HTTP 400."""


@dataclass(kw_only=True)
class RunRecord:
    """What the server saw of one run that carried a `run=ID` token."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    """Per request: `turn`, `recv_ns`, `sent_ns` (time.monotonic_ns, comparable across processes)."""
    tools: list[Any] | None = None
    """The `tools` array of the run's first request, as parsed."""
    first_body_bytes: int = 0
    """Size of the first request's body as sent."""


@dataclass(kw_only=True)
class Reply:
    """A decided answer: the assistant message and the finish reason."""

    message: dict[str, Any]
    finish_reason: str
    turn: int
    run_id: str | None


class ScriptedModel:
    """Decides answers from requests and keeps the per-run records."""

    def __init__(self) -> None:
        self.records: dict[str, RunRecord] = {}
        self.requests_served = 0

    def decide(self, request: dict[str, Any], body_bytes: int, recv_ns: int) -> Reply:
        messages = request.get("messages") or []
        scenario, run_id = self._tokens(request, messages)
        turns = SCENARIOS.get(scenario)
        if turns is None:
            raise ScriptError(f"unknown scenario {scenario!r}; known: {sorted(SCENARIOS)}")
        turn = sum(1 for m in messages if m.get("role") == "assistant")
        if turn > len(turns):
            raise ScriptError(f"turn {turn} is past the end of scenario {scenario!r}")
        if turn:
            self._check_results(turns[turn - 1], turn, messages)
        if run_id is not None:
            record = self.records.setdefault(run_id, RunRecord())
            if turn == 0:
                record.tools = request.get("tools")
                record.first_body_bytes = body_bytes
            record.requests.append({"turn": turn, "recv_ns": recv_ns, "sent_ns": None})
        if turn == len(turns):
            results = sum(1 for m in messages if m.get("role") == "tool")
            message = {"role": "assistant", "content": FINAL_TEXT.format(n=results)}
            return Reply(message=message, finish_reason="stop", turn=turn, run_id=run_id)
        offered = [t.get("function", {}).get("name", "") for t in request.get("tools") or []]
        tool_calls = [
            {
                "id": f"call_{turn}_{index}",
                "type": "function",
                "function": {"name": _resolve(call.name, offered), "arguments": json.dumps(call.arguments)},
            }
            for index, call in enumerate(turns[turn])
        ]
        message = {"role": "assistant", "content": None, "tool_calls": tool_calls}
        return Reply(message=message, finish_reason="tool_calls", turn=turn, run_id=run_id)

    def mark_sent(self, reply: Reply, sent_ns: int) -> None:
        if reply.run_id is not None and (record := self.records.get(reply.run_id)):
            for entry in reversed(record.requests):
                if entry["turn"] == reply.turn:
                    entry["sent_ns"] = sent_ns
                    break

    @staticmethod
    def _tokens(request: dict[str, Any], messages: list[dict[str, Any]]) -> tuple[str, str | None]:
        first_user = next((m for m in messages if m.get("role") == "user"), None)
        tokens = dict(_TOKEN.findall(_text(first_user.get("content")) if first_user else ""))
        scenario = tokens.get("scenario")
        model = str(request.get("model", ""))
        if scenario is None and model.startswith("bench-"):
            scenario = model.removeprefix("bench-")
        return scenario or "", tokens.get("run")

    @staticmethod
    def _check_results(calls: tuple[Call, ...], turn: int, messages: list[dict[str, Any]]) -> None:
        results = {
            m.get("tool_call_id"): _text(m.get("content")) for m in messages if m.get("role") == "tool"
        }
        for index, call in enumerate(calls):
            call_id = f"call_{turn - 1}_{index}"
            if call_id not in results:
                raise ScriptError(f"no tool result for {call_id} ({call.name})")
            if call.expect not in results[call_id]:
                raise ScriptError(
                    f"tool result for {call_id} ({call.name}) lacks {call.expect!r}: {results[call_id]!r}"
                )


def _resolve(name: str, offered: list[str]) -> str:
    if not name.endswith("*"):
        if offered and name not in offered:
            raise ScriptError(f"tool {name!r} was not offered; offered: {offered}")
        return name
    prefix = name[:-1]
    for candidate in offered:
        if candidate.startswith(prefix):
            return candidate
    raise ScriptError(f"no offered tool starts with {prefix!r}; offered: {offered}")


def _text(content: Any) -> str:
    """The text of a message's content: a string or a list of text parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return "" if content is None else str(content)


def _usage(request: dict[str, Any]) -> dict[str, int]:
    prompt = 50 + 10 * len(request.get("messages") or [])
    return {"prompt_tokens": prompt, "completion_tokens": 10, "total_tokens": prompt + 10}


def _completion(request: dict[str, Any], reply: Reply, serial: int) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{serial}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.get("model", MODEL_NAME),
        "choices": [
            {"index": 0, "message": reply.message, "finish_reason": reply.finish_reason, "logprobs": None}
        ],
        "usage": _usage(request),
    }


def _sse(request: dict[str, Any], reply: Reply, serial: int) -> bytes:
    """The same answer as SSE chunks, as a streaming provider sends it, then a finish chunk, a usage chunk if
    asked for, and `[DONE]`.

    A text answer comes in `TEXT_CHUNKS` content deltas (split at spaces); each tool call comes as a chunk with
    its id and name and then its arguments in two fragments, so a client must assemble calls by `index`.
    """
    base = {
        "id": f"chatcmpl-{serial}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": request.get("model", MODEL_NAME),
    }
    deltas = [_stream_delta(index, part) for index, part in enumerate(_stream_parts(reply.message))]
    chunks = [{**base, "choices": [{"index": 0, "delta": d, "finish_reason": None}]} for d in deltas]
    chunks.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": reply.finish_reason}]})
    if (request.get("stream_options") or {}).get("include_usage"):
        chunks.append({**base, "choices": [], "usage": _usage(request)})
    events = [f"data: {json.dumps(chunk)}\n\n" for chunk in chunks]
    events.append("data: [DONE]\n\n")
    return "".join(events).encode()


TEXT_CHUNKS = 5
"""How many content deltas a streamed text answer comes in (fewer if it has fewer words)."""


def _stream_parts(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The message's pieces in stream order: text pieces, or per tool call its head and two argument halves."""
    if "tool_calls" not in message:
        words = re.findall(r"\S+\s*", message.get("content") or "")
        step = max(1, -(-len(words) // TEXT_CHUNKS))
        return [{"content": "".join(words[i : i + step])} for i in range(0, len(words), step)] or [
            {"content": ""}
        ]
    parts: list[dict[str, Any]] = []
    for index, call in enumerate(message["tool_calls"]):
        arguments = call["function"]["arguments"]
        half = len(arguments) // 2
        head = {"index": index, "id": call["id"], "type": "function"}
        parts.append(
            {"tool_calls": [{**head, "function": {"name": call["function"]["name"], "arguments": ""}}]}
        )
        for fragment in (arguments[:half], arguments[half:]):
            parts.append({"tool_calls": [{"index": index, "function": {"arguments": fragment}}]})
    return parts


def _stream_delta(position: int, part: dict[str, Any]) -> dict[str, Any]:
    """The first delta of a message carries its role (and `content: null` before tool calls)."""
    if position:
        return part
    return {"role": "assistant", **({"content": None} if "tool_calls" in part else {}), **part}


def _response(status: str, body: bytes, content_type: str, *, close: bool, extra: str = "") -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
        f"{extra}Connection: {'close' if close else 'keep-alive'}\r\n\r\n"
    )
    return head.encode("latin-1") + body


async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
    if headers.get("transfer-encoding", "").lower() == "chunked":
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                return b"".join(parts)
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)
    length = int(headers.get("content-length", "0"))
    return await reader.readexactly(length) if length else b""


@dataclass(kw_only=True)
class RateWindow:
    """A provider's rate limit: `limit` requests per fixed `window` seconds (the first window starts at the
    first request), then HTTP 429 until the next window. Every answer states the limit in OpenRouter's
    headers (`X-RateLimit-Limit`, `-Remaining`, `-Reset` in milliseconds since the epoch); a 429 adds
    `Retry-After`."""

    limit: int
    window: float
    start: float | None = None
    used: int = 0
    index: int = -1
    allowed: int = 0
    refused: int = 0
    last: float | None = None
    """When the last allowed request arrived (seconds since the epoch)."""

    def check(self) -> tuple[bool, str]:
        """Whether a request arriving now is allowed, and the headers of its answer."""
        now = time.time()
        if self.start is None:
            self.start = now
        index = int((now - self.start) // self.window)
        if index != self.index:
            self.index, self.used = index, 0
        ok = self.used < self.limit
        self.used += ok
        self.allowed += ok
        if ok:
            self.last = now
        self.refused += not ok
        reset = self.start + (index + 1) * self.window
        extra = (
            f"X-RateLimit-Limit: {self.limit}\r\nX-RateLimit-Remaining: {self.limit - self.used}\r\n"
            f"X-RateLimit-Reset: {int(reset * 1000)}\r\n"
        )
        return ok, extra if ok else f"{extra}Retry-After: {max(0.0, reset - now):.3f}\r\n"


class BenchServer:
    """The asyncio server around a `ScriptedModel` (rate-limited with `rate`)."""

    def __init__(self, rate: RateWindow | None = None) -> None:
        self.rate = rate
        self.model = ScriptedModel()
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = await asyncio.start_server(self._serve, host, port, backlog=4096, limit=2**22)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                request_line, *header_lines = head.decode("latin-1").split("\r\n")
                method, target, _version = request_line.split(" ", 2)
                headers = {}
                for line in header_lines:
                    if line:
                        key, _, value = line.partition(":")
                        headers[key.strip().lower()] = value.strip()
                body = await _read_body(reader, headers)
                recv_ns = time.monotonic_ns()
                close = headers.get("connection", "").lower() == "close"
                reply, payload = self._handle(method, target, body, recv_ns, close=close)
                writer.write(payload)
                await writer.drain()
                if reply is not None:
                    self.model.mark_sent(reply, time.monotonic_ns())
                if close:
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        except asyncio.CancelledError:  # the server is closing; end quietly
            return
        finally:
            writer.close()

    def _handle(
        self, method: str, target: str, body: bytes, recv_ns: int, *, close: bool
    ) -> tuple[Reply | None, bytes]:
        url = urlsplit(target)
        if method == "POST" and url.path.endswith("/chat/completions"):
            extra = ""
            if self.rate is not None:
                ok, extra = self.rate.check()
                if not ok:
                    error = {"error": {"message": "Rate limit exceeded", "code": 429}}
                    return None, _response(
                        "429 Too Many Requests",
                        json.dumps(error).encode(),
                        "application/json",
                        close=close,
                        extra=extra,
                    )
            try:
                request = json.loads(body)
                reply = self.model.decide(request, len(body), recv_ns)
            except (ScriptError, ValueError, TypeError, AttributeError, KeyError) as exc:
                error = {"error": {"message": str(exc), "type": "invalid_request_error", "code": "script"}}
                print(f"bench server: 400: {exc}", file=sys.stderr)
                return None, _response(
                    "400 Bad Request", json.dumps(error).encode(), "application/json", close=close
                )
            self.model.requests_served += 1
            serial = self.model.requests_served
            if request.get("stream"):
                return reply, _response(
                    "200 OK", _sse(request, reply, serial), "text/event-stream", close=close, extra=extra
                )
            payload = json.dumps(_completion(request, reply, serial)).encode()
            return reply, _response("200 OK", payload, "application/json", close=close, extra=extra)
        if method == "GET" and url.path == "/stats":
            run_id = parse_qs(url.query).get("run", [""])[0]
            record = self.model.records.pop(run_id, None)
            data = None if record is None else record.__dict__
            return None, _response("200 OK", json.dumps(data).encode(), "application/json", close=close)
        if method == "GET" and url.path == "/health":
            data: dict[str, Any] = {"ok": True, "requests_served": self.model.requests_served}
            if self.rate is not None:
                data |= {
                    "allowed": self.rate.allowed,
                    "refused": self.rate.refused,
                    "first_s": self.rate.start,
                    "last_s": self.rate.last,
                }
            return None, _response("200 OK", json.dumps(data).encode(), "application/json", close=close)
        return None, _response("404 Not Found", b'{"error": "not found"}', "application/json", close=close)


def raise_file_limit() -> None:
    """Raise the open-file soft limit to the hard limit: 1,000 concurrent runs hold 1,000 sockets."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def _main(port: int, rate: RateWindow | None = None) -> None:
    raise_file_limit()
    server = BenchServer(rate)
    await server.start(port=port)
    print(server.port, flush=True)
    loop = asyncio.get_running_loop()
    # Serve until stdin closes: the parent's exit (or its closing the pipe) stops the server.
    await loop.run_in_executor(None, sys.stdin.read)
    await server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    parser.add_argument(
        "--rate-limit",
        metavar="N/SECONDS",
        help="allow N requests per SECONDS (fixed windows), then answer 429",
    )
    args = parser.parse_args()
    rate = None
    if args.rate_limit:
        count, seconds = args.rate_limit.split("/")
        rate = RateWindow(limit=int(count), window=float(seconds))
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main(args.port, rate))


if __name__ == "__main__":
    main()
