"""How an OpenAI-compatible endpoint's errors are read: codes, messages, retired models and their
successors, the errors that are the user's to fix, and completions nested under another key."""

from __future__ import annotations

import re
from typing import Any

from .._support.redact import redact

__all__ = [
    "MAX_SUCCESSOR_HOPS",
    "RETRYABLE_BODY_CODES",
    "RedactedError",
    "code_and_message",
    "context_limit",
    "is_context_overflow",
    "is_unavailable",
    "redacted_cause",
    "snippet",
    "successors",
    "unwrap",
    "with_hint",
]

RETRYABLE_BODY_CODES = frozenset({408, 429, 500, 502, 503, 504, 529})
UNAVAILABLE_CODES = ("model_deprecated", "model_not_found", "model_retired")
UNAVAILABLE_TEXT = (
    "deprecated",
    "retired",
    "no endpoints found",
    "not a valid model",
    "model not found",
    "does not exist",
)
MAX_SUCCESSOR_HOPS = 3
"""A retired model's successor may be retired too; past this many hops in one request, raise."""
YOURS_TO_FIX = {
    400: "The request was refused as malformed: fix the request (messages, tools, schemas, settings).",
    401: "The API key was refused: check OPENROUTER_API_KEY or AGENTKIT_API_KEY (or api_key=...).",
    402: "The account has no credits left for this request: add credits, or lower max_tokens.",
    403: "The request was refused (moderation, or a key without access to this model): change the input "
    "or the key.",
}
"""Errors that are the user's to fix: raised at once with this hint, never retried nor passed to a fallback."""


def code_and_message(error: Any) -> tuple[str | None, str]:
    if not isinstance(error, dict):
        return None, "" if error is None else snippet(str(error))
    code = error.get("code")
    metadata = error.get("metadata") if isinstance(error.get("metadata"), dict) else {}
    raw = metadata.get("raw") if metadata else None
    message = str(error.get("message") or "")
    if raw and str(raw) not in message:
        message = f"{message} ({raw})" if message else str(raw)
    text_code = (
        code if isinstance(code, str) else error.get("type") if isinstance(error.get("type"), str) else None
    )
    return text_code, message


def is_unavailable(status: int | None, code: str | None, message: str) -> bool:
    if code in UNAVAILABLE_CODES:
        return True
    lowered = message.lower()
    return status in (400, 404, 410) and any(t in lowered for t in UNAVAILABLE_TEXT)


CONTEXT_OVERFLOW_CODES = ("context_length_exceeded", "exceed_context_size_error", "string_above_max_length")
"""Error codes (or types) for a request longer than the model's context: OpenAI's and OpenRouter's
`context_length_exceeded`, llama.cpp's `exceed_context_size_error`."""
CONTEXT_OVERFLOW_TEXT = re.compile(
    r"maximum context length|context[ _]length[ _]exceeded|exceeds? the (?:available )?context size"
    r"|input token count .{0,40}exceeds the maximum|prompt is too long|context window",
    re.IGNORECASE,
)
"""How providers word it: OpenAI and OpenRouter ("This model's maximum context length is 128000 tokens"),
llama.cpp ("the request exceeds the available context size"), Gemini ("The input token count (N) exceeds
the maximum number of tokens allowed"), Anthropic ("prompt is too long")."""
_LIMIT = re.compile(r"maximum context length is (\d+)|maximum number of tokens allowed \((\d+)\)")


def is_context_overflow(status: int | None, code: str | None, message: str) -> bool:
    """Whether an error says the request was longer than the model's context window."""
    if code in CONTEXT_OVERFLOW_CODES:
        return True
    return status in (None, 400, 413) and CONTEXT_OVERFLOW_TEXT.search(message) is not None


def context_limit(message: str, body: object = None) -> int | None:
    """The context window an overflow error states, in tokens ("maximum context length is 32768",
    llama.cpp's `n_ctx`), or `None`."""
    error = body.get("error", body) if isinstance(body, dict) else None
    n_ctx = error.get("n_ctx") if isinstance(error, dict) else None
    if isinstance(n_ctx, int) and n_ctx > 0:
        return n_ctx
    found = _LIMIT.search(message)
    return int(found.group(1) or found.group(2)) if found else None


def with_hint(text: str, status: int | None) -> str:
    """`text`, and what to do when the error is the user's to fix (400, 401, 402, 403)."""
    hint = YOURS_TO_FIX.get(status) if status is not None else None
    return (
        f"{text} {hint} (Not retried: this is for you to fix, not a failure of the model.)" if hint else text
    )


def successors(error: object) -> list[str]:
    """The models an error suggests instead of a retired one: OpenRouter's `availability.fallback_models`
    (also accepted under `metadata`), model ids or objects with an `id`."""
    if not isinstance(error, dict):
        return []
    metadata = error.get("metadata")
    for holder in (error, metadata if isinstance(metadata, dict) else {}):
        availability = holder.get("availability")
        models = availability.get("fallback_models") if isinstance(availability, dict) else None
        if isinstance(models, list):
            ids = [m.get("id") if isinstance(m, dict) else m for m in models]
            names = [m for m in ids if isinstance(m, str) and m]
            if names:
                return names
    return []


def unwrap(data: dict[str, Any]) -> dict[str, Any]:
    """A completion some gateways nest under another key (`{"data": {...}}`, `{"response": {...}}`): the
    nested object when it is the only one with `choices` (and the top level has neither them nor an error)."""
    if "choices" in data or data.get("error"):
        return data
    nested = [v for v in data.values() if isinstance(v, dict) and "choices" in v]
    return nested[0] if len(nested) == 1 else data


def snippet(text: str, limit: int = 200) -> str:
    """The start of a body for an error message (an HTML error page is not worth more)."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit] + "..."


class RedactedError(Exception):
    """What the HTTP client raised under a `ModelAPIError` (its `__cause__`), with the API key taken out.

    The SDK's own error is not kept: its text is the raw error body (which a server may fill with the key
    it refused), and it holds the request with its `Authorization` header. This stand-in keeps what helps
    to debug: the error's type, the HTTP status, the provider's request id and the message, redacted.
    """

    def __init__(
        self, message: str, *, kind: str, status_code: int | None = None, request_id: str | None = None
    ):
        super().__init__(message)
        self.message = message
        self.kind = kind
        """The qualified name of the error's type, e.g. `openai.AuthenticationError`."""
        self.status_code = status_code
        self.request_id = request_id
        """The provider's id of the request (`x-request-id`), when it sent one."""

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[object, ...]:
        return (_restore_redacted, (self.message, self.__dict__))


def _restore_redacted(message: str, state: dict[str, Any]) -> RedactedError:
    error = RedactedError.__new__(RedactedError)
    Exception.__init__(error, message)
    error.__dict__.update(state)
    return error


def redacted_cause(exc: BaseException, secrets: list[str], *, depth: int = 3) -> RedactedError:
    """A `RedactedError` standing for `exc`, and for what caused it in turn (up to `depth` levels)."""
    kind = f"{type(exc).__module__.split('.')[0]}.{type(exc).__qualname__}"
    status = getattr(exc, "status_code", None)
    request_id = getattr(exc, "request_id", None)
    facts = [f"HTTP {status}"] if isinstance(status, int) else []
    if isinstance(request_id, str) and request_id:
        facts.append(f"request id {request_id}")
    label = f"{kind} ({', '.join(facts)})" if facts else kind
    stand_in = RedactedError(
        redact(f"{label}: {snippet(str(exc), 500)}", secrets),
        kind=kind,
        status_code=status if isinstance(status, int) else None,
        request_id=redact(request_id, secrets) if isinstance(request_id, str) else None,
    )
    inner = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    if inner is not None and depth > 1:
        stand_in.__cause__ = redacted_cause(inner, secrets, depth=depth - 1)
    return stand_in
