"""A server that quotes the refused key back in its error body: the key must reach no sink.

Every request goes through the real `AsyncOpenAI` client to a loopback server that answers with an error
body holding the `Authorization` header it received, in one of several encodings. What is searched: the
formatted traceback of the error (`traceback.format_exception`, and `logger.exception`'s record), every
exception along `__cause__` and `__context__` (text, repr and attributes), `ModelAPIError.body`, the pickle
of the run's error (what a durable run records), a span's `exception.stacktrace` with content capture on,
and a cassette recorded across a retried 500 whose body is not UTF-8.
"""

from __future__ import annotations

import base64
import json
import logging
import pickle
import threading
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from agentkit import Agent, AgentRunError, ModelAPIError
from agentkit import instrumentation as instr
from agentkit._support.redact import redact, redact_bytes, redact_value
from agentkit.models.fallback import FallbackModel
from agentkit.models.openai import OpenAIChatModel
from agentkit.testing import cassette

KEY = "sk-echo-v1-" + "5e3c0a9f17b24d6c8e0f2a4b6c8d0e1f" * 2
"""Shaped like a provider key (a prefix, then 64 hex digits); no real key's prefix."""
MODEL = "google/gemini-2.0-flash-001"


def encodings_of(text: str) -> list[bytes]:
    return [text.encode(e) for e in ("utf-8", "utf-16-le", "utf-16-be", "utf-32-le")]


def leaks(value: object) -> bool:
    """Whether `value` (text or bytes) holds the key, its 24-character tail, or its hex part alone."""
    fragments = (KEY, KEY[-24:], KEY[11:43])
    if isinstance(value, bytes):
        return any(f in value for fragment in fragments for f in encodings_of(fragment))
    text = str(value)
    return any(f in text for f in fragments)


# --- the echoing server ----------------------------------------------------------------------------------


def _utf8(key: str) -> tuple[bytes, str]:
    body = {"error": {"message": f"Invalid API key: {key}", "code": 401}}
    return json.dumps(body).encode(), "application/json"


def _json_escaped(key: str) -> tuple[bytes, str]:
    escaped = "".join(f"\\u{ord(c):04x}" for c in key)
    return ('{"error": {"message": "Invalid API key: ' + escaped + '"}}').encode(), "application/json"


def _url_encoded(key: str) -> tuple[bytes, str]:
    quoted = "".join(f"%{ord(c):02X}" for c in key)
    body = {"error": {"message": f"Rejected https://gateway.example/v1?api_key={quoted}"}}
    return json.dumps(body).encode(), "application/json"


def _latin1(key: str) -> tuple[bytes, str]:
    return f"Cl\xe9 refus\xe9e : {key}".encode("latin-1"), "text/plain; charset=latin-1"


def _utf16(key: str) -> tuple[bytes, str]:
    body = json.dumps({"error": {"message": f"Invalid API key: {key}"}})
    return body.encode("utf-16"), "application/json; charset=utf-16"


def _utf16_undeclared(key: str) -> tuple[bytes, str]:
    return f"Invalid API key: {key}".encode("utf-16-le"), "application/octet-stream"


def _base64(key: str) -> tuple[bytes, str]:
    token = base64.b64encode(f"user:{key}".encode()).decode()
    return json.dumps({"error": {"message": f"Bad credentials Basic {token}"}}).encode(), "application/json"


def _truncated(key: str) -> tuple[bytes, str]:
    return json.dumps({"error": {"message": f"Unknown key ...{key[-30:]}"}}).encode(), "application/json"


ECHOES: dict[str, Callable[[str], tuple[bytes, str]]] = {
    "utf-8": _utf8,
    "json-escaped": _json_escaped,
    "url-encoded": _url_encoded,
    "latin-1": _latin1,
    "utf-16": _utf16,
    "utf-16-undeclared": _utf16_undeclared,
    "base64": _base64,
    "truncated": _truncated,
}


@dataclass(kw_only=True)
class Plan:
    status: int
    echo: Callable[[str], tuple[bytes, str]]
    failures: int = 10**6
    """How many requests fail before the server answers properly."""


class EchoServer:
    """A chat-completions server that answers `plan.failures` requests with `plan.status` and a body
    quoting the request's bearer token, then a completion (text, or a stream when asked)."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.seen = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                owner.seen += 1
                if owner.seen <= owner.plan.failures:
                    token = self.headers.get("Authorization", "").removeprefix("Bearer ")
                    data, content_type = owner.plan.echo(token)
                    self._send(owner.plan.status, data, content_type, {"x-request-id": "req-echo-1"})
                elif body.get("stream"):
                    chunk = {
                        "id": "gen-1",
                        "model": MODEL,
                        "choices": [{"index": 0, "delta": {"content": "ok"}}],
                    }
                    end = {
                        "id": "gen-1",
                        "model": MODEL,
                        "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                    }
                    events = [f"data: {json.dumps(chunk)}", f"data: {json.dumps(end)}", "data: [DONE]"]
                    self._send(200, "".join(f"{e}\n\n" for e in events).encode(), "text/event-stream")
                else:
                    message = {"role": "assistant", "content": "ok"}
                    completion = {
                        "id": "gen-1",
                        "model": MODEL,
                        "choices": [{"index": 0, "message": message}],
                    }
                    self._send(200, json.dumps(completion).encode(), "application/json")

            def _send(
                self, status: int, data: bytes, content_type: str, headers: dict[str, str] | None = None
            ) -> None:
                self.send_response(status)
                for name, value in {**(headers or {}), "retry-after-ms": "1"}.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> EchoServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instr.configure(tracer_provider=provider, capture_content=True)
    yield exporter
    instr.configure()


def _chain(error: BaseException | None) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo = [error]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo += [current.__cause__, current.__context__]


def assert_nowhere(error: BaseException, caplog: pytest.LogCaptureFixture) -> None:
    """The key is in no sink of `error` (see the module's docstring)."""
    assert not leaks("".join(traceback.format_exception(error))), "in the formatted traceback"
    with caplog.at_level(logging.ERROR, logger="app"):
        try:
            raise error
        except AgentRunError:
            logging.getLogger("app").exception("the run failed")
    assert not leaks(caplog.text), "in logger.exception's output"
    for link in _chain(error):
        assert not leaks(str(link)) and not leaks(repr(link)), f"in {type(link).__name__}"
        assert not leaks(repr(vars(link))), f"in the attributes of {type(link).__name__}"
    assert not leaks(pickle.dumps(error)), "in the pickled error (a durable run's record)"
    if isinstance(error, ModelAPIError):
        assert not leaks(repr(error.body)) and not leaks(json.dumps(error.body, default=repr))


async def _stream(agent: Agent[Any, Any]) -> None:
    async with agent.run_stream("hi") as run:
        async for _ in run:
            pass


def _model(server: EchoServer, **options: Any) -> OpenAIChatModel:
    return OpenAIChatModel(MODEL, base_url=server.base_url, api_key=KEY, max_retries=0, **options)


@pytest.mark.parametrize("echo", list(ECHOES), ids=list(ECHOES))
@pytest.mark.parametrize("status", [401, 400, 500])
@pytest.mark.parametrize("stream", [False, True], ids=["run", "stream"])
async def test_a_key_echoed_in_an_error_body_reaches_no_sink(
    echo: str, status: int, stream: bool, caplog: pytest.LogCaptureFixture, spans: InMemorySpanExporter
) -> None:
    for name in ("agentkit", "openai", "httpx", "httpx2", "httpcore", "httpcore2"):
        caplog.set_level(logging.DEBUG, logger=name)
    with EchoServer(Plan(status=status, echo=ECHOES[echo])) as server:
        model = _model(server)
        agent = Agent(model)
        with pytest.raises(ModelAPIError) as info:
            await (_stream(agent) if stream else agent.run("hi"))
        await model.aclose()
    error = info.value
    assert error.status_code == status
    assert_nowhere(error, caplog)
    cause = error.__cause__
    assert cause is not None and f"HTTP {status}" in str(cause) and "req-echo-1" in str(cause), (
        "the cause keeps the status and the request id"
    )
    assert error.__context__ is None
    assert not leaks(caplog.text), "in a DEBUG log record of the SDK or the HTTP client"
    assert str(pickle.loads(pickle.dumps(cause))) == str(cause), "the stand-in pickles"
    recorded = [e for s in spans.get_finished_spans() for e in s.events if e.name == "exception"]
    assert recorded and all("exception.stacktrace" in e.attributes for e in recorded)  # type: ignore[operator]
    for event in recorded:
        assert not leaks(json.dumps(dict(event.attributes or {}))), "in a span's exception event"


async def test_through_a_fallback_chain_the_key_of_neither_model_shows(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with (
        EchoServer(Plan(status=500, echo=_utf16_undeclared)) as first,
        EchoServer(Plan(status=401, echo=_json_escaped)) as second,
    ):
        chain = FallbackModel(_model(first), _model(second))
        with pytest.raises(ModelAPIError) as info:
            await Agent(chain).run("hi")
        for member in chain.models:
            await member.aclose()
    assert first.seen == 1 and second.seen == 1, "the 500 passed the request on to the second model"
    assert_nowhere(info.value, caplog)


async def test_a_cassette_recorded_across_a_retried_500_stores_no_key(tmp_path: Path) -> None:
    path = tmp_path / "echo.json"
    for echo in (_latin1, _utf16_undeclared, _utf8, _base64):
        with EchoServer(Plan(status=500, echo=echo, failures=1)) as server:
            model = OpenAIChatModel(MODEL, base_url=server.base_url, api_key=KEY, max_retries=1)
            async with cassette(path, mode="record"):
                result = await Agent(model).run("hi")
            await model.aclose()
        assert result.output == "ok" and server.seen == 2, "the SDK retried the 500"
        text = path.read_text(encoding="utf-8")
        assert not leaks(text), f"the key is in the cassette ({echo.__name__})"
        for interaction in json.loads(text)["interactions"]:
            stored = interaction["response"]
            if "base64" in stored:
                assert not leaks(base64.b64decode(stored["base64"])), f"in a base64 body ({echo.__name__})"
        async with cassette(path, mode="replay"):  # what was masked still replays
            assert (await Agent(model).run("hi")).output == "ok"


# --- the redaction itself ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        f"key={KEY}",
        "".join(f"\\u{ord(c):04X}" for c in KEY),
        "".join(f"\\\\u{ord(c):04x}" for c in KEY),  # escaped twice (JSON inside a JSON string)
        "".join(f"\\x{ord(c):02x}" for c in KEY),
        "".join(f"&#{ord(c)};" for c in KEY),
        "".join(f"&#x{ord(c):x};" for c in KEY),
        KEY.upper(),
        KEY.replace("-", ""),
        KEY.encode().hex(),
        base64.urlsafe_b64encode(f"x{KEY}yz".encode()).decode(),
        base64.b64encode(f"ab{KEY}".encode()).decode(),
        f"...{KEY[-13:]}",
    ],
)
def test_redact_finds_the_key_in_any_form(text: str) -> None:
    cleaned = redact(f"before {text} after", [KEY])
    assert cleaned.startswith("before ") and cleaned.endswith(" after") and "[API key]" in cleaned
    assert not leaks(cleaned) and KEY[-12:] not in cleaned


def test_redact_leaves_other_text_alone() -> None:
    text = "Invalid request: max_tokens must be positive. %41 \\u0041 &#65; not-needed 0123456789"
    assert redact(text, [KEY, None, "abc"]) == text
    assert redact("not needed here", ["not-needed"]) == "not needed here", "a space breaks a run"
    assert redact("use not_needed", ["not-needed"]) == "use [API key]", "a separator does not"
    assert redact(f"short {KEY[:11]}", [KEY]) == f"short {KEY[:11]}", "11 characters are not the key"
    spaced = "Bearer abcdefgh12345678"  # a whole header value: its space breaks runs, its base64 has none
    assert redact(spaced, [spaced]) == spaced
    assert redact(base64.b64encode(spaced.encode()).decode(), [spaced]).startswith("[API key]")


def test_redact_bytes_keeps_the_length_and_the_encoding() -> None:
    for encoding in ("utf-8", "latin-1", "utf-16", "utf-16-be", "utf-32"):
        data = f"Cl\xe9 {KEY} refus\xe9e".encode(encoding)
        masked = redact_bytes(data, [KEY])
        assert len(masked) == len(data) and not leaks(masked)
        assert masked.decode(encoding).endswith(" refus\xe9e")
    assert redact_bytes(b"\x00\xff nothing", [KEY]) == b"\x00\xff nothing"


def test_redact_value_walks_json_keys_and_values() -> None:
    value = {"error": {KEY: [f"k {KEY}", 3, None, KEY.encode()], "t": (KEY,)}}
    cleaned = redact_value(value, [KEY])
    assert not leaks(repr(cleaned))
    assert cleaned["error"]["[API key]"][1:3] == [3, None]
    assert isinstance(cleaned["error"]["t"], tuple)
    assert redact_value(value, [None]) is value


def test_the_security_pages_code_runs() -> None:
    page = Path(__file__).resolve().parents[1] / "docs" / "security.md"
    blocks = page.read_text(encoding="utf-8").split("```python\n")[1:]
    assert blocks, "the page shows code"
    for block in blocks:
        exec(compile(block.split("```", 1)[0], str(page), "exec"), {})
