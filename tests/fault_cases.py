"""The fault table: what the server (or the model, or a tool) does, and what a run must make of it.

One table for tests/test_faults.py (parametrized), tests/test_secrets.py (the same runs, grepped for the
key) and benchmarks/fault_matrix.py (prints the matrix). Every case goes through the real `AsyncOpenAI`
client: the OpenRouter-like `LoopbackServer`, or `RawSocketServer` below for what an HTTP handler cannot
do (a connection reset, an HTML page, a body that is not JSON, a server that never answers).

Every server plays Gemini's history check (`check_gemini_history`): a request whose history Gemini would
refuse is refused (HTTP 400), so a wire fault shows up as a failed run, and `Outcome.refused` lists the
requests the check refused, with their problems (the fault matrix counts them; there must be none).

A case expects either `recovered` (the run's output equals `expect`) or a typed error (`expect` is an
`AgentRunError` subclass) carrying the transcript and the usage so far; `requests` is the number of HTTP
requests the server must have seen. Cases that need work not landed yet name it in `requires`: they are
skipped, with the reason, while the feature is absent.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import struct
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from agentkit import (
    Agent,
    AgentRunError,
    ModelAPIError,
    ModelRetry,
    ModelSettings,
    ModelUnavailableError,
    ToolExecutionError,
    UnexpectedModelBehavior,
    Usage,
    UsageLimitExceeded,
    tool,
)
from agentkit.messages import AssistantMessage, Message, ToolCall
from agentkit.models.openai import OpenAIChatModel
from agentkit.testing import (
    BodyError,
    HTTPError,
    LoopbackServer,
    RawStream,
    StreamError,
    check_gemini_history,
    tool_call_response,
    tool_calls_response,
)
from agentkit.testing._loopback import Answer, Responder

__all__ = [
    "CASES",
    "FaultCase",
    "Outcome",
    "RawSocketServer",
    "case_named",
    "continue_transcript",
    "run_case",
]

MODEL = "google/gemini-2.0-flash-001"
ANSWER = "Oslo: 3°C, light snow."
Mode = Literal["run", "stream"]
FAST = {"retry-after-ms": "5"}
"""Makes the SDK retry at once (it honours `retry-after-ms`, then `retry-after`)."""


# --- tools ------------------------------------------------------------------------------------------------

calls: list[str] = []
"""Every tool execution of the current case, `name(arguments)`."""


@tool
def get_weather(city: str) -> str:
    """Current weather in a city.

    Args:
        city: City name.
    """
    calls.append(f"get_weather({city})")
    return {"Oslo": "3°C, light snow", "Rome": "17°C, sunny"}.get(city, "unknown")


@tool
def flaky(city: str) -> str:
    """A tool that always fails.

    Args:
        city: City name.
    """
    calls.append(f"flaky({city})")
    raise RuntimeError("the weather station is down")


@tool
def picky(city: str) -> str:
    """A tool that asks the model to try again.

    Args:
        city: City name.
    """
    calls.append(f"picky({city})")
    if city != "Oslo":
        raise ModelRetry("Only Oslo is known; call again with city='Oslo'.")
    return "3°C, light snow"


@tool(timeout=0.2)
async def slow(city: str) -> str:
    """A tool that hangs past its timeout.

    Args:
        city: City name.
    """
    calls.append(f"slow({city})")
    await asyncio.sleep(30)
    return "never"


class _Opaque:
    def __repr__(self) -> str:
        return "<opaque station reading>"


@tool
def opaque(city: str) -> object:
    """A tool whose result is not JSON-serialisable.

    Args:
        city: City name.
    """
    calls.append(f"opaque({city})")
    return {"reading": _Opaque(), "at": {1, 2}}


@tool
def huge(city: str) -> str:
    """A tool with a huge result.

    Args:
        city: City name.
    """
    calls.append(f"huge({city})")
    return "x" * 2_000_000


TOOLS = (get_weather, flaky, picky, slow, opaque, huge)


# --- a server for what an HTTP handler cannot do -----------------------------------------------------------

RESET = "reset"
"""Read the request, then reset the connection (RST, no response)."""
SILENT = "silent"
"""Read the request and never answer (the client's read timeout fires)."""
RawAnswer = bytes | str  # bytes: the whole HTTP response as sent; or RESET / SILENT


def http_response(status: str, body: bytes, content_type: str) -> bytes:
    head = f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
    return (head + "Connection: close\r\n\r\n").encode() + body


def json_response(payload: dict[str, Any]) -> bytes:
    return http_response("200 OK", json.dumps(payload).encode(), "application/json")


HTML_PAGE = b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"


class RawSocketServer:
    """A TCP server on 127.0.0.1 answering each connection from `plan` (one item per request).

    Past the plan it answers like the last item. `requests` counts the requests read; `bodies` keeps their
    JSON bodies.
    """

    def __init__(self, plan: Sequence[RawAnswer]) -> None:
        self.plan = list(plan)
        self.requests = 0
        self.bodies: list[dict[str, Any]] = []
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.02)  # accept() wakes up to see `stop`
        self._open: list[socket.socket] = []
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, name="fault-raw-server", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}/v1"

    def __enter__(self) -> RawSocketServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopped.set()
        self._thread.join(5)
        self._sock.close()
        for conn in self._open:
            conn.close()

    def _serve(self) -> None:
        while not self._stopped.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(None)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        body = _read_request(conn)
        if body is None:
            conn.close()
            return
        with self._lock:
            self.bodies.append(json.loads(body or b"{}"))
            index = self.requests
            self.requests += 1
            answer = self.plan[min(index, len(self.plan) - 1)]
        if answer == SILENT:
            self._open.append(conn)  # closed when the server stops
            return
        if answer == RESET:
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()
            return
        assert isinstance(answer, bytes)
        with contextlib.suppress(OSError):
            conn.sendall(answer)
        conn.close()


def _read_request(conn: socket.socket) -> bytes | None:
    data = b""
    while b"\r\n\r\n" not in data:
        piece = conn.recv(65536)
        if not piece:
            return None
        data += piece
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        piece = conn.recv(65536)
        if not piece:
            return None
        body += piece
    return body


# --- the table ----------------------------------------------------------------------------------------

Script = Callable[[LoopbackServer, Mode], list[Answer | Responder]]


def _has_repairs() -> str | None:
    if hasattr(Usage(), "repairs"):
        return None
    return "local repair of malformed calls is not landed yet (no Usage.repairs)"


def _has_result_cap() -> str | None:
    import agentkit._run.tool_calls as module

    names = " ".join(dir(module)).lower()
    if "cap" in names or "truncat" in names or "max_result" in names:
        return None
    return "tool result capping is not landed yet (nothing in agentkit._run.tool_calls caps results)"


def _has_fallback() -> str | None:
    import agentkit
    import agentkit.models as models

    if hasattr(agentkit, "FallbackModel") or hasattr(models, "FallbackModel"):
        return None
    import inspect

    if "fallback_models" in inspect.signature(Agent.__init__).parameters:
        return None
    return "fallback chains are not landed yet (no FallbackModel, no Agent(fallback_models=...))"


def _has_successors() -> str | None:
    import inspect

    if {"strict", "follow_successors", "successors"} & set(inspect.signature(OpenAIChatModel).parameters):
        return None
    return "retired-model successors are not landed yet (no OpenAIChatModel option for them)"


@dataclass(frozen=True, kw_only=True)
class FaultCase:
    """One row of the fault matrix."""

    name: str
    does: str
    """What the server (model, tool) does, in a few words."""
    script: Script | None = None
    """The loopback server's answers, built per mode."""
    raw: Sequence[RawAnswer] | None = None
    """Or: the raw socket server's plan."""
    expect: str | type[AgentRunError] = ANSWER
    """The run's output when it recovers, or the error class it must raise (exactly this class)."""
    requests: int = 1
    """HTTP requests the server must see."""
    modes: tuple[Mode, ...] = ("run", "stream")
    max_retries: int = 0
    timeout: float = 5.0
    tools: tuple[Any, ...] = (get_weather,)
    settings: ModelSettings | None = None
    agent_options: dict[str, Any] = field(default_factory=dict)
    tool_calls: tuple[str, ...] | None = None
    """The tool executions the run must have made, when it matters."""
    fallback: str | None = None
    """A fallback model (same server): `Agent(model, fallback_models=[fallback])`."""
    requires: Callable[[], str | None] | None = None
    """Says why the case cannot run yet (a feature not landed), or `None`."""
    check: Callable[[Outcome], None] | None = None
    """More assertions on the outcome."""


@dataclass(kw_only=True)
class Outcome:
    """What a case's run did."""

    case: FaultCase
    mode: Mode
    output: object = None
    error: BaseException | None = None
    requests: int = 0
    usage: Usage | None = None
    messages: list[Message] = field(default_factory=list)
    tool_calls: list[str] = field(default_factory=list)
    result: object = None
    """The `RunResult` (or the `RunStream`), for repr checks."""
    model: OpenAIChatModel | None = None
    agent: Agent[None, str] | None = None
    refused: list[list[str]] = field(default_factory=list)
    """Per request Gemini's history check refuses (`check_gemini_history`), its problems: none."""

    @property
    def label(self) -> str:
        if self.error is None:
            return "recovered"
        return type(self.error).__name__


def _text(text: str) -> Script:
    return lambda server, mode: [text]


def _weather_then_answer(server: LoopbackServer, mode: Mode) -> list[Answer | Responder]:
    return [tool_call_response("get_weather", {"city": "Oslo"}), ANSWER]


def _errors_then_answer(*errors: Answer) -> Script:
    return lambda server, mode: [*errors, ANSWER]


def _raw_completion(message: dict[str, Any], finish: str, native: str | None = None) -> Script:
    def script(server: LoopbackServer, mode: Mode) -> list[Answer | Responder]:
        body = server.completion("")
        body["choices"][0].update(
            message=message, finish_reason=finish, native_finish_reason=native or finish.upper()
        )
        return [body, ANSWER]

    return script


def _choices(value: object, *, drop: bool = False) -> Script:
    def script(server: LoopbackServer, mode: Mode) -> list[Answer | Responder]:
        body = server.completion("")
        if drop:
            del body["choices"]
        else:
            body["choices"] = value
        return [body, ANSWER]

    return script


def _calls_with_ids(ids: Sequence[str | None], cities: Sequence[str]) -> Script:
    def script(server: LoopbackServer, mode: Mode) -> list[Answer | Responder]:
        body = server.completion("")
        wire = []
        for call_id, city in zip(ids, cities, strict=True):
            raw: dict[str, Any] = {
                "type": "function",
                "function": {"name": "get_weather", "arguments": json.dumps({"city": city})},
            }
            if call_id is not None:
                raw["id"] = call_id
            wire.append(raw)
        body["choices"][0]["message"] = {"role": "assistant", "content": None, "tool_calls": wire}
        body["choices"][0]["finish_reason"] = "tool_calls"
        return [body, ANSWER]

    return script


def _stream_events(server: LoopbackServer, *, done: bool) -> list[dict[str, Any] | str]:
    events: list[dict[str, Any] | str] = [server.chunk({"role": "assistant", "content": "Oslo: 3°C"})]
    if done:
        events += [server.chunk({}, "stop"), server.usage_chunk(), "data: [DONE]"]
    return events


def _always_calls(server: LoopbackServer, mode: Mode) -> list[Answer | Responder]:
    def respond(body: dict[str, Any]) -> Answer:
        if body.get("tool_choice") == "none" or not body.get("tools"):
            return ANSWER
        return tool_call_response("get_weather", {"city": "Oslo"})

    return [respond] * 10


def _call_then_answer(name: str, arguments: dict[str, Any], *more: Answer) -> Script:
    return lambda server, mode: [tool_call_response(name, arguments), *more, ANSWER]


def _json_in_content(server: LoopbackServer, mode: Mode) -> list[Answer | Responder]:
    text = json.dumps({"name": "get_weather", "arguments": {"city": "Oslo"}})
    return [AssistantMessage(content=text), ANSWER]


def _malformed_arguments(server: LoopbackServer, mode: Mode) -> list[Answer | Responder]:
    call = ToolCall(id="call_a", name="get_weather", arguments="{'city': 'Oslo',}")
    return [AssistantMessage(tool_calls=[call]), ANSWER]


def _bad_arguments(arguments: str, *then: Answer) -> Script:
    def script(server: LoopbackServer, mode: Mode) -> list[Answer | Responder]:
        call = ToolCall(id="call_a", name="get_weather", arguments=arguments)
        return [AssistantMessage(tool_calls=[call]), *then, ANSWER]

    return script


def _successor(server: LoopbackServer, mode: Mode) -> list[Answer | Responder]:
    gone = HTTPError(
        status=404,
        message=f"The model {MODEL} has been deprecated.",
        code="model_deprecated",
        metadata={"availability": {"fallback_models": ["google/gemini-2.5-flash"]}},
    )

    def successor(body: dict[str, Any]) -> Answer:
        assert body["model"] == "google/gemini-2.5-flash", body["model"]
        return ANSWER

    return [gone, successor]


def _nested(server: LoopbackServer, mode: Mode) -> list[Answer | Responder]:
    return [{"data": server.completion(ANSWER)}]


def _check_error_told(text: str) -> Callable[[Outcome], None]:
    def check(outcome: Outcome) -> None:
        told = [m.content for m in outcome.messages if getattr(m, "role", "") == "tool"]
        assert any(text in str(t) for t in told), told

    return check


def _check_status(status: int | None, code: str | None = None) -> Callable[[Outcome], None]:
    def check(outcome: Outcome) -> None:
        assert isinstance(outcome.error, ModelAPIError)
        assert outcome.error.status_code == status, outcome.error.status_code
        if code is not None:
            assert outcome.error.code == code, outcome.error.code

    return check


def _check_repairs(outcome: Outcome) -> None:
    assert outcome.usage is not None and getattr(outcome.usage, "repairs", 0) >= 1


def _check_capped(outcome: Outcome) -> None:
    told = [str(m.content) for m in outcome.messages if getattr(m, "role", "") == "tool"]
    assert told and len(told[0]) < 200_000, [len(t) for t in told]
    assert "truncat" in told[0].lower()


def _status_cases() -> list[FaultCase]:
    cases = []
    for status, code in ((400, None), (401, None), (402, None), (403, "moderation"), (404, None)):
        message = {404: f"No endpoints found matching your data policy for {MODEL}"}.get(status, "nope")
        if status == 404:
            message = "Not Found"
        cases.append(
            FaultCase(
                name=f"http_{status}",
                does=f"HTTP {status}",
                script=_errors_then_answer(HTTPError(status=status, message=message, code=code)),
                expect=ModelAPIError,
                max_retries=2,
                check=_check_status(status),
            )
        )
    cases.append(
        FaultCase(
            name="http_404_model_deprecated",
            does="HTTP 404 model_deprecated",
            script=_errors_then_answer(
                HTTPError(status=404, message=f"{MODEL} is deprecated", code="model_deprecated")
            ),
            expect=ModelUnavailableError,
            max_retries=2,
            check=_check_status(404, "model_deprecated"),
        )
    )
    for status in (408, 429, 500, 502, 503):
        cases.append(
            FaultCase(
                name=f"http_{status}_then_ok",
                does=f"HTTP {status} (retry-after-ms), then an answer",
                script=_errors_then_answer(HTTPError(status=status, headers=FAST)),
                max_retries=2,
                requests=2,
            )
        )
        cases.append(
            FaultCase(
                name=f"http_{status}_always",
                does=f"HTTP {status} (retry-after-ms) on every try",
                script=_errors_then_answer(*[HTTPError(status=status, headers=FAST)] * 3),
                expect=ModelAPIError,
                max_retries=2,
                requests=3,
                check=_check_status(status),
            )
        )
    cases.append(
        FaultCase(
            name="http_429_retry_after_s",
            does="HTTP 429 with Retry-After: 0.01 (seconds), then an answer",
            script=_errors_then_answer(HTTPError(status=429, headers={"Retry-After": "0.01"})),
            max_retries=1,
            requests=2,
        )
    )
    cases.append(
        FaultCase(
            name="http_429_no_retry_after",
            does="HTTP 429 without Retry-After (SDK backoff ~0.5 s), then an answer",
            script=_errors_then_answer(HTTPError(status=429)),
            max_retries=1,
            requests=2,
        )
    )
    cases.append(
        FaultCase(
            name="http_429_retry_after_too_long",
            does="HTTP 429 with Retry-After: 3600 (not retried)",
            script=_errors_then_answer(HTTPError(status=429, headers={"Retry-After": "3600"})),
            expect=ModelAPIError,
            max_retries=2,
            requests=1,
            check=_check_status(429),
        )
    )
    return cases


def _transport_cases() -> list[FaultCase]:
    stream_ok = json_response(LoopbackServer(model=MODEL).completion(ANSWER))
    return [
        FaultCase(
            name="connection_reset",
            does="connection reset on every try",
            raw=[RESET],
            expect=ModelAPIError,
            max_retries=1,
            requests=2,
            check=_check_status(None),
        ),
        FaultCase(
            name="connection_reset_then_ok",
            does="connection reset, then an answer",
            raw=[RESET, stream_ok],
            max_retries=1,
            requests=2,
        ),
        FaultCase(
            name="read_timeout",
            does="never answers (timeout 0.3 s)",
            raw=[SILENT],
            expect=ModelAPIError,
            max_retries=1,
            timeout=0.3,
            requests=2,
            check=_check_status(None),
        ),
        FaultCase(
            name="read_timeout_mid_stream",
            does="stream stalls after one chunk (timeout 0.3 s)",
            script=lambda server, mode: [RawStream(events=_stream_events(server, done=True), delay=0.6)],
            expect=ModelAPIError,
            timeout=0.3,
            modes=("stream",),
            check=_check_status(None),
        ),
        FaultCase(
            name="html_200",
            does="HTTP 200 with an HTML page",
            raw=[http_response("200 OK", HTML_PAGE, "text/html")],
            expect=ModelAPIError,
        ),
        FaultCase(
            name="html_502",
            does="HTTP 502 with an HTML page (retried by the SDK)",
            raw=[http_response("502 Bad Gateway", HTML_PAGE, "text/html")],
            expect=ModelAPIError,
            max_retries=1,
            requests=2,
            check=_check_status(502),
        ),
        FaultCase(
            name="not_json_200",
            does="HTTP 200, application/json, body not JSON",
            raw=[http_response("200 OK", b"upstream error, try again", "application/json")],
            expect=ModelAPIError,
        ),
        FaultCase(
            name="json_not_object",
            does="HTTP 200 with a JSON list",
            raw=[http_response("200 OK", b"[1, 2]", "application/json")],
            expect=ModelAPIError,
        ),
    ]


def _body_cases() -> list[FaultCase]:
    return [
        FaultCase(
            name="error_in_200_then_ok",
            does="error 502 inside a 200 body, then an answer",
            script=_errors_then_answer(BodyError(code=502)),
            max_retries=1,
            requests=2,
        ),
        FaultCase(
            name="error_in_200",
            does="error 400 inside a 200 body",
            script=_errors_then_answer(BodyError(code=400, message="Invalid request")),
            expect=ModelAPIError,
            max_retries=2,
            check=_check_status(400),
        ),
        FaultCase(
            name="error_in_200_deprecated",
            does="model_deprecated inside a 200 body",
            script=_errors_then_answer(BodyError(code="model_deprecated", message="deprecated")),
            expect=ModelUnavailableError,
            max_retries=2,
        ),
        FaultCase(
            name="choices_null",
            does="choices: null, then an answer",
            script=_choices(None),
            max_retries=1,
            requests=2,
        ),
        FaultCase(
            name="choices_missing",
            does="no choices key, then an answer",
            script=_choices(None, drop=True),
            max_retries=1,
            requests=2,
        ),
        FaultCase(
            name="completion_nested",
            does="the completion nested under data",
            script=_nested,
        ),
        FaultCase(
            name="error_mid_stream",
            does="stream: text, then an error chunk",
            script=lambda server, mode: [StreamError(content="Oslo: 3"), ANSWER],
            expect=ModelAPIError,
            modes=("stream",),
            max_retries=2,
        ),
        FaultCase(
            name="error_first_in_stream",
            does="stream: an error chunk before anything, then an answer",
            script=_errors_then_answer(StreamError(code=502)),
            modes=("stream",),
            max_retries=1,
            requests=2,
        ),
        FaultCase(
            name="stream_no_done",
            does="stream ends without finish reason or [DONE]",
            script=lambda server, mode: [RawStream(events=_stream_events(server, done=False)), ANSWER],
            expect=ModelAPIError,
            modes=("stream",),
            max_retries=2,
        ),
        FaultCase(
            name="stream_cut",
            does="connection dropped mid-stream",
            script=lambda server, mode: [
                RawStream(events=_stream_events(server, done=False), cut=True),
                ANSWER,
            ],
            expect=ModelAPIError,
            modes=("stream",),
            max_retries=2,
        ),
    ]


def _output_cases() -> list[FaultCase]:
    return [
        FaultCase(
            name="empty_then_ok",
            does="empty content, no calls, then an answer",
            script=lambda server, mode: ["", ANSWER],
            requests=2,
        ),
        FaultCase(
            name="empty_always",
            does="empty content, no calls, every time",
            script=lambda server, mode: [""] * 5,
            expect=UnexpectedModelBehavior,
            requests=3,
        ),
        FaultCase(
            name="malformed_function_call",
            does="finish MALFORMED_FUNCTION_CALL, then an answer",
            script=_raw_completion(
                {"role": "assistant", "content": None}, "error", "MALFORMED_FUNCTION_CALL"
            ),
            requests=2,
        ),
        FaultCase(
            name="call_as_json_text",
            does="a call written as JSON in content",
            script=_json_in_content,
            requests=2,
            tool_calls=("get_weather(Oslo)",),
            requires=_has_repairs,
            check=_check_repairs,
        ),
        FaultCase(
            name="malformed_arguments",
            does="arguments with single quotes and a trailing comma",
            script=_malformed_arguments,
            requests=2,
            tool_calls=("get_weather(Oslo)",),
            requires=_has_repairs,
            check=_check_repairs,
        ),
        FaultCase(
            name="arguments_cut_in_key",
            does='arguments cut inside a key (`{"city": "Oslo", "da`): told, calls again',
            script=_bad_arguments(
                '{"city": "Oslo", "da', tool_call_response("get_weather", {"city": "Oslo"})
            ),
            requests=3,
            tool_calls=("get_weather(Oslo)",),
            check=_check_error_told("not valid JSON"),
        ),
        FaultCase(
            name="arguments_then_comment",
            does='a whole object, then a comment (`{"city": "Oslo"} // weather`)',
            script=_bad_arguments('{"city": "Oslo"} // weather'),
            requests=2,
            tool_calls=("get_weather(Oslo)",),
            requires=_has_repairs,
            check=_check_repairs,
        ),
        FaultCase(
            name="missing_call_ids",
            does="two calls without ids",
            script=_calls_with_ids([None, None], ["Oslo", "Rome"]),
            requests=2,
            tool_calls=("get_weather(Oslo)", "get_weather(Rome)"),
        ),
        FaultCase(
            name="repeated_call_ids",
            does="two calls with the same id",
            script=_calls_with_ids(["call_1", "call_1"], ["Oslo", "Rome"]),
            requests=2,
            tool_calls=("get_weather(Oslo)", "get_weather(Rome)"),
        ),
        FaultCase(
            name="same_function_3x",
            does="get_weather called 3 times in one turn",
            script=lambda server, mode: [
                tool_calls_response([("get_weather", {"city": c}) for c in ("Oslo", "Rome", "Paris")]),
                ANSWER,
            ],
            requests=2,
            tool_calls=("get_weather(Oslo)", "get_weather(Paris)", "get_weather(Rome)"),
        ),
        FaultCase(
            name="tool_choice_required",
            does='tool_choice "required": the model only ever calls',
            script=_always_calls,
            settings=ModelSettings(tool_choice="required"),
            agent_options={"max_turns": 4},
            expect=UsageLimitExceeded,
            requests=4,
        ),
    ]


def _tool_cases() -> list[FaultCase]:
    return [
        FaultCase(
            name="tool_raises",
            does="the tool raises; the model is told",
            script=_call_then_answer("flaky", {"city": "Oslo"}),
            tools=(flaky,),
            requests=2,
            tool_calls=("flaky(Oslo)",),
            check=_check_error_told("the weather station is down"),
        ),
        FaultCase(
            name="tool_raises_always",
            does="the tool raises on every call (retries=1)",
            script=lambda server, mode: [tool_call_response("flaky", {"city": "Oslo"})] * 3,
            tools=(flaky,),
            agent_options={"retries": 1},
            expect=UnexpectedModelBehavior,
            requests=2,
            tool_calls=("flaky(Oslo)", "flaky(Oslo)"),
        ),
        FaultCase(
            name="tool_raises_raise_errors",
            does="the tool raises, raise_tool_errors=True",
            script=_call_then_answer("flaky", {"city": "Oslo"}),
            tools=(flaky,),
            agent_options={"raise_tool_errors": True},
            expect=ToolExecutionError,
            tool_calls=("flaky(Oslo)",),
        ),
        FaultCase(
            name="tool_model_retry",
            does="the tool raises ModelRetry, the model calls again",
            script=_call_then_answer(
                "picky", {"city": "Rome"}, tool_call_response("picky", {"city": "Oslo"})
            ),
            tools=(picky,),
            requests=3,
            tool_calls=("picky(Rome)", "picky(Oslo)"),
        ),
        FaultCase(
            name="tool_timeout",
            does="the tool hangs past @tool(timeout=0.2)",
            script=_call_then_answer("slow", {"city": "Oslo"}),
            tools=(slow,),
            requests=2,
            tool_calls=("slow(Oslo)",),
            check=_check_error_told("timed out"),
        ),
        FaultCase(
            name="tool_not_serialisable",
            does="the tool returns a set and an object",
            script=_call_then_answer("opaque", {"city": "Oslo"}),
            tools=(opaque,),
            requests=2,
            tool_calls=("opaque(Oslo)",),
        ),
        FaultCase(
            name="tool_huge_result",
            does="the tool returns 2 MB of text",
            script=_call_then_answer("huge", {"city": "Oslo"}),
            tools=(huge,),
            requests=2,
            tool_calls=("huge(Oslo)",),
            requires=_has_result_cap,
            check=_check_capped,
        ),
    ]


def _answer_as(model: str) -> Responder:
    def respond(body: dict[str, Any]) -> Answer:
        assert body["model"] == model, body["model"]
        return ANSWER

    return respond


def _pending_feature_cases() -> list[FaultCase]:
    return [
        FaultCase(
            name="fallback_on_503",
            does="HTTP 503 for the model; the fallback answers",
            script=lambda server, mode: [HTTPError(status=503), _answer_as("openai/gpt-4o-mini")],
            fallback="openai/gpt-4o-mini",
            requests=2,
            requires=_has_fallback,
        ),
        FaultCase(
            name="no_fallback_on_401",
            does="HTTP 401: the user's to fix, the fallback is not tried",
            script=lambda server, mode: [HTTPError(status=401), _answer_as("openai/gpt-4o-mini")],
            fallback="openai/gpt-4o-mini",
            expect=ModelAPIError,
            requires=_has_fallback,
            check=_check_status(401),
        ),
        FaultCase(
            name="retired_model_successor",
            does="404 model_deprecated naming a successor, which answers",
            script=_successor,
            requests=2,
            requires=_has_successors,
        ),
    ]


CASES: list[FaultCase] = [
    *_status_cases(),
    *_transport_cases(),
    *_body_cases(),
    *_output_cases(),
    *_tool_cases(),
    *_pending_feature_cases(),
]
assert len({c.name for c in CASES}) == len(CASES), "case names must be unique"


def case_named(name: str) -> FaultCase:
    """The case called `name`."""
    return next(c for c in CASES if c.name == name)


# --- running a case -----------------------------------------------------------------------------------


async def run_case(case: FaultCase, mode: Mode, *, api_key: str = "sk-fault-test") -> Outcome:
    """Run `case` once (`agent.run()` or `agent.run_stream()`) against a fresh server."""
    calls.clear()
    if case.raw is not None:
        with RawSocketServer(case.raw) as raw:
            outcome = await _run(case, mode, raw.base_url, api_key)
            outcome.requests = raw.requests
            bodies = raw.bodies
    else:
        assert case.script is not None
        with LoopbackServer(model=MODEL, check=check_gemini_history) as server:
            server.add(*case.script(server, mode))
            outcome = await _run(case, mode, server.base_url, api_key)
            outcome.requests = len(server.requests)
            bodies = server.bodies
    outcome.refused = [p for p in map(check_gemini_history, bodies) if p]
    outcome.tool_calls = list(calls)
    return outcome


async def continue_transcript(messages: Sequence[Message], mode: Mode) -> list[list[str]]:
    """Continue a case's transcript (of a run that recovered or failed) with a new prompt, against a server
    that refuses like Gemini: the run must succeed; returns the refused requests' problems (none)."""
    with LoopbackServer(model=MODEL, check=check_gemini_history) as server:
        server.add("Glad to help.")
        model = OpenAIChatModel(MODEL, base_url=server.base_url, api_key="sk-fault-test", max_retries=0)
        agent: Agent[None, str] = Agent(model, tools=list(TOOLS))
        try:
            if mode == "run":
                result = await agent.run("Thanks. Anything else?", message_history=messages)
            else:
                async with agent.run_stream("Thanks. Anything else?", message_history=messages) as stream:
                    async for _ in stream:
                        pass
                result = stream.result
        finally:
            await model.aclose()
        assert result.output == "Glad to help.", result.output
        return [p for p in map(check_gemini_history, server.bodies) if p]


async def _run(case: FaultCase, mode: Mode, base_url: str, api_key: str) -> Outcome:
    model = OpenAIChatModel(
        MODEL, base_url=base_url, api_key=api_key, max_retries=case.max_retries, timeout=case.timeout
    )
    options = dict(case.agent_options)
    if case.fallback is not None:
        options["fallback_models"] = [
            OpenAIChatModel(case.fallback, base_url=base_url, api_key=api_key, max_retries=case.max_retries)
        ]
    agent: Agent[None, str] = Agent(model, tools=list(case.tools), model_settings=case.settings, **options)
    outcome = Outcome(case=case, mode=mode, model=model, agent=agent)
    try:
        if mode == "run":
            result = await agent.run("Weather in Oslo?")
            outcome.result = result
        else:
            async with agent.run_stream("Weather in Oslo?") as stream:
                outcome.result = stream
                async for _ in stream:
                    pass
            result = stream.result
        outcome.output, outcome.usage, outcome.messages = result.output, result.usage, result.messages
    except AgentRunError as exc:
        outcome.error, outcome.usage, outcome.messages = exc, exc.usage, exc.messages
    finally:
        await model.aclose()
    return outcome
