"""How an OpenAI-compatible endpoint's errors are read: codes, messages, retired models and their
successors, the errors that are the user's to fix, and completions nested under another key."""

from __future__ import annotations

import re
from typing import Any

__all__ = [
    "MAX_SUCCESSOR_HOPS",
    "RETRYABLE_BODY_CODES",
    "code_and_message",
    "context_limit",
    "is_context_overflow",
    "is_unavailable",
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
