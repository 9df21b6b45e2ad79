"""Cassettes: a run's HTTP exchanges with its model endpoint, recorded to a readable JSON file and replayed.

```python
with cassette("tests/cassettes/weather.json"):  # mode="auto": replay the file when it exists, else record
    result = agent.run_sync("Oslo or Rome?")
```

Recording sends each request to the real server and stores it with its answer; replaying answers from the
file, offline and deterministically, and fails with `CassetteMismatchError` (a diff of what changed) when a
request differs from the recording. The interception is at the HTTP transport (`_cassette_http`), so it
catches every `AsyncOpenAI` client, those made (and cached) before the block included, on any thread or
event loop (`run_sync`'s background loop too).

The file: `{"version": 1, "interactions": [{"request": {...}, "response": {...}}, ...]}`, one interaction
per request, in order. A request keeps its method, URL and JSON body; a response its status, content type,
the few headers the SDK acts on (retries), and its body as JSON, as the list of its server-sent-event lines,
or as text. No request header is written, secrets in the URL's query are replaced with `REDACTED`, and any
key or token value the requests carried is scrubbed from the whole file.
"""

from __future__ import annotations

import base64
import contextlib
import difflib
import json
import logging
import os
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .._support.redact import is_secret_name, redact, redact_bytes
from ..exceptions import UserError

__all__ = ["RECORD_ENV", "Cassette", "CassetteMismatchError", "Interaction", "cassette"]

logger = logging.getLogger("agentkit")

Mode = Literal["record", "replay", "auto"]
BodyKind = Literal["json", "sse", "text", "base64"]

VERSION = 1
RECORD_ENV = "AGENTKIT_RECORD"
"""Set to `1` to record every cassette in mode `"auto"` again (pytest: `--agentkit-record`)."""
REDACTED = "REDACTED"
MAX_DIFF_LINES = 60

_TRUE = ("1", "true", "yes", "on")
_MISSING = "<absent>"


class CassetteMismatchError(AssertionError):
    """A replayed run does not match its recording: a request differs, there is one more than recorded, or
    recorded ones were left unused. The message shows what changed and how to record again.

    An `AssertionError`, not an `AgentkitError`: it is a failed test expectation, not an error of the run,
    so the handlers that catch agentkit's errors (a batch's per-input outcomes, a `FallbackModel` chain, the
    command line) let it through, and pytest reports it as a failed assertion.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


@dataclass(kw_only=True)
class Interaction:
    """One recorded request and its response."""

    method: str
    url: str
    """The request's URL, secrets in its query replaced with `REDACTED`."""
    body: Any = None
    """The request's JSON body (its text when it is not JSON, `None` when empty)."""
    status: int = 0
    content_type: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    """The response headers the SDK acts on (retry hints), lower-case names."""
    kind: BodyKind = "text"
    """How `response` holds the body: a JSON value, the list of SSE lines, text, or base64 of raw bytes."""
    response: Any = ""

    @property
    def target(self) -> str:
        """The path and query of `url`: what a replayed request is matched on, with its method and body."""
        parts = urlsplit(self.url)
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def to_json(self) -> dict[str, Any]:
        response: dict[str, Any] = {"status": self.status, "content_type": self.content_type}
        if self.headers:
            response["headers"] = self.headers
        response[self.kind] = self.response
        return {"request": {"method": self.method, "url": self.url, "body": self.body}, "response": response}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Interaction:
        request, response = data["request"], data["response"]
        kind: BodyKind = next((k for k in ("json", "sse", "text", "base64") if k in response), "text")
        return cls(
            method=request["method"],
            url=request["url"],
            body=request.get("body"),
            status=response["status"],
            content_type=response.get("content_type", ""),
            headers=dict(response.get("headers", {})),
            kind=kind,
            response=response.get(kind, ""),
        )


def cassette(path: str | os.PathLike[str], *, mode: Mode = "auto") -> Cassette:
    """A cassette at `path`, to use as `with cassette(path):` (or `async with`) around any runs.

    Args:
        path: The JSON file (its folders are made when it is recorded).
        mode: `"record"` sends the requests to the real server and writes the file at the end of the block;
            `"replay"` answers from the file and sends nothing; `"auto"` replays when the file exists and
            records otherwise, or records again when `AGENTKIT_RECORD=1` is set.
    """
    return Cassette(path, mode=mode)


class Cassette:
    """Recorded HTTP exchanges with model endpoints; see `cassette()`.

    Only one cassette is in use at a time (the interception is process-wide). Recording to a real
    (non-loopback) endpoint in tests needs `allow_model_requests()`; replaying needs nothing, and works
    while real requests are blocked.
    """

    def __init__(self, path: str | os.PathLike[str], *, mode: Mode = "auto") -> None:
        if mode not in ("record", "replay", "auto"):
            raise UserError(f"Unknown cassette mode {mode!r}: use 'record', 'replay' or 'auto'.")
        self.path = Path(path)
        self.requested_mode: Mode = mode
        self.mode: Literal["record", "replay"] = "replay"
        """What the cassette does in its block: decided on entering it (for `"auto"`, by the file)."""
        self.interactions: list[Interaction] = []
        """The recording: read from the file to replay, or growing as requests are recorded."""
        self._used: list[bool] = []
        self._requests = 0
        self._secrets: set[str] = set()
        self._mismatched = False
        self._lock = threading.Lock()
        self._exits = contextlib.ExitStack()

    def __repr__(self) -> str:
        return f"Cassette({str(self.path)!r}, mode={self.mode!r})"

    # --- lifecycle -----------------------------------------------------------------------------------------

    def start(self) -> Cassette:
        """Start intercepting (what `with` does on entering)."""
        from ..models._guard import replaying
        from . import _cassette_http

        self.mode = self._resolve_mode()
        self.interactions, self._used, self._requests, self._mismatched = [], [], 0, False
        if self.mode == "replay":
            self.interactions = self._read()
            self._used = [False] * len(self.interactions)
        with contextlib.ExitStack() as exits:
            exits.enter_context(_cassette_http.intercept(self))
            if self.mode == "replay":  # nothing leaves the process: no guard, and no key needed
                exits.enter_context(replaying())
            self._exits = exits.pop_all()
        return self

    def stop(self, *, failed: bool = False) -> None:
        """Stop intercepting; a recording is written, a replay checked for unused interactions, unless the
        block `failed` (a failed run's recording is not kept; its replay has told what went wrong)."""
        self._exits.close()
        if failed or self._mismatched:
            if self.mode == "record":
                logger.info("cassette %s not written: the block failed", self.path)
            return
        if self.mode == "record":
            self._write()
            return
        unused = [i for i, used in enumerate(self._used) if not used]
        if unused:
            first = self.interactions[unused[0]]
            raise CassetteMismatchError(
                f"The run made {self._requests} request(s), but {self.path} recorded {len(self.interactions)}: "
                f"{len(unused)} recorded interaction(s) were not used, from #{unused[0] + 1} "
                f"({first.method} {first.target}). The run changed. {_rerecord_hint()}"
            )

    def __enter__(self) -> Cassette:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop(failed=exc_type is not None)

    async def __aenter__(self) -> Cassette:
        return self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop(failed=exc_type is not None)

    def _resolve_mode(self) -> Literal["record", "replay"]:
        if self.requested_mode != "auto":
            if self.requested_mode == "replay" and not self.path.exists():
                raise UserError(
                    f"No cassette at {self.path} to replay: record it first (mode='record' or 'auto')."
                )
            return self.requested_mode
        if os.environ.get(RECORD_ENV, "").strip().lower() in _TRUE:
            return "record"
        return "replay" if self.path.exists() else "record"

    # --- the file ------------------------------------------------------------------------------------------

    def _read(self) -> list[Interaction]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if data.get("version") != VERSION:
                raise ValueError(f"version {data.get('version')!r}, expected {VERSION}")
            return [Interaction.from_json(item) for item in data["interactions"]]
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise UserError(
                f"The cassette {self.path} cannot be read ({exc}); record it again (mode='record')."
            ) from exc

    def _write(self) -> None:
        for interaction in self.interactions:  # secrets a response body sends back (a token endpoint's)
            if interaction.kind == "json":
                interaction.response, found = redact_body(interaction.response)
                self.add_secrets(found)
        for interaction in self.interactions:  # raw bytes (a body that is not UTF-8): masked where they are
            if interaction.kind == "base64":
                raw = base64.b64decode(interaction.response)
                interaction.response = base64.b64encode(redact_bytes(raw, self._secrets)).decode("ascii")
        data = {"version": VERSION, "interactions": [i.to_json() for i in self.interactions]}
        text = scrub(json.dumps(data, indent=2, ensure_ascii=False), self._secrets) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(text, encoding="utf-8")
        logger.info("cassette %s recorded: %d interaction(s)", self.path, len(self.interactions))

    # --- used by the transport (`_cassette_http`), from any thread ------------------------------------------

    def add_secrets(self, values: Iterable[str]) -> None:
        """Values never to be written (keys and tokens seen in a request's headers or query)."""
        with self._lock:
            self._secrets.update(v for v in values if len(v) >= 4)

    def record(self, interaction: Interaction) -> None:
        """Keep `interaction` (its response may still be filling in: it is written at the end)."""
        with self._lock:
            self.interactions.append(interaction)

    def take(self, request: Interaction) -> Interaction:
        """The recorded interaction answering `request`: the first unused one equal to it (in order, so
        concurrent runs whose requests interleave differently still replay); else `CassetteMismatchError`."""
        with self._lock:
            self._requests += 1
            number = self._requests
            unused = [i for i, used in enumerate(self._used) if not used]
            for index in unused:
                if _same_request(self.interactions[index], request):
                    self._used[index] = True
                    return self.interactions[index]
            self._mismatched = True
        if not unused:
            raise CassetteMismatchError(
                f"Request #{number} ({request.method} {request.target}) was not recorded: {self.path} holds "
                f"{len(self.interactions)} interaction(s), all used. The run changed. {_rerecord_hint()}"
            )
        index = unused[0]
        raise CassetteMismatchError(
            mismatch_message(self.interactions[index], request, number, index, self.path)
        )


def _same_request(recorded: Interaction, request: Interaction) -> bool:
    return (recorded.method, recorded.target, recorded.body) == (request.method, request.target, request.body)


def _fields(interaction: Interaction) -> dict[str, Any]:
    """The request as fields to compare: method, target, then the body's own fields."""
    fields: dict[str, Any] = {"method": interaction.method, "url path": interaction.target}
    if isinstance(interaction.body, dict):
        fields.update(interaction.body)
    else:
        fields["body"] = interaction.body
    return fields


def mismatch_message(recorded: Interaction, request: Interaction, number: int, index: int, path: Path) -> str:
    """What differs between a recorded request and this run's, as a unified diff of the differing fields."""
    old, new = _fields(recorded), _fields(request)
    names = [n for n in dict.fromkeys([*old, *new]) if old.get(n, _MISSING) != new.get(n, _MISSING)]
    lines = list(
        difflib.unified_diff(
            _pretty({n: old.get(n, _MISSING) for n in names}),
            _pretty({n: new.get(n, _MISSING) for n in names}),
            "recorded",
            "this run",
            n=2,
            lineterm="",
        )
    )
    if len(lines) > MAX_DIFF_LINES:
        lines = [*lines[:MAX_DIFF_LINES], f"... ({len(lines) - MAX_DIFF_LINES} more lines)"]
    diff = "\n".join(lines)
    return (
        f"Request #{number} ({request.method} {request.target}) differs from interaction #{index + 1} of "
        f"{path} in: {', '.join(names)}.\n{diff}\nThe run changed. {_rerecord_hint()}"
    )


def _pretty(value: dict[str, Any]) -> list[str]:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=repr).splitlines()


def _rerecord_hint() -> str:
    return (
        "If the change is intended, record the cassette again: mode='record', or set "
        f"{RECORD_ENV}=1 (with pytest: --agentkit-record)."
    )


# --- secrets -----------------------------------------------------------------------------------------------


def redact_url(url: str) -> tuple[str, list[str]]:
    """`url` with its user info dropped and secret query values replaced; and the secrets taken out."""
    parts = urlsplit(url)
    secrets = [s for s in (parts.username, parts.password) if s]
    query = []
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if is_secret_name(name) and value:
            secrets.append(value)
            value = REDACTED
        query.append((name, value))
    netloc = parts.hostname or ""
    if parts.port is not None:
        netloc = f"{netloc}:{parts.port}"
    clean = urlunsplit((parts.scheme, netloc, parts.path, urlencode(query, safe="/:"), parts.fragment))
    return clean, secrets


_BODY_SECRET = re.compile(
    r"(^|[_-])(api[_-]?key|key|access[_-]?token|refresh[_-]?token|id[_-]?token|secret|client[_-]?secret|"
    r"password|passwd|credentials?|authorization)$",
    re.I,
)
"""JSON body fields that hold a secret (`api_key`, `access_token`, `client_secret`...; not `max_tokens`)."""


def redact_body(value: Any) -> tuple[Any, list[str]]:
    """A JSON body with the string values of secret-named fields (at any depth) replaced with `REDACTED`;
    and the values taken out."""
    secrets: list[str] = []

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            clean = {}
            for key, item in node.items():
                if isinstance(item, str) and item and item != REDACTED and _BODY_SECRET.search(str(key)):
                    secrets.append(item)
                    clean[key] = REDACTED
                else:
                    clean[key] = walk(item)
            return clean
        if isinstance(node, list):
            return [walk(item) for item in node]
        return node

    return walk(value), secrets


def scrub(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret replaced with `REDACTED`: as it is, inside JSON strings, and in the other
    forms `agentkit._support.redact` finds (escaped, percent-encoded, base64, hex, a run of its characters)."""
    ordered = sorted(secrets, key=len, reverse=True)
    for secret in ordered:
        for form in {secret, json.dumps(secret, ensure_ascii=False)[1:-1]}:
            text = text.replace(form, REDACTED)
    return redact(text, ordered, marker=REDACTED)
