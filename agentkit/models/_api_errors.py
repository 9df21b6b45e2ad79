"""`APIErrors`: what an OpenAI-compatible endpoint answers with when a request fails, and what the `openai`
SDK raises, as agentkit's errors: `ModelAPIError` (its status, code and body kept), `ModelUnavailableError`
for a retired model (with the successors the endpoint names), each with the API key taken out of its message,
its body and its chain of causes (see docs/security.md). How the errors are read is `_errors`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from .._support.redact import redact, redact_value
from ..exceptions import ModelAPIError, ModelUnavailableError
from ._errors import code_and_message, is_unavailable, redacted_cause, snippet, with_hint
from ._errors import successors as suggested_successors

__all__ = ["APIErrors"]


@dataclass(kw_only=True, frozen=True)
class APIErrors:
    """The errors one model raises, worded with where it sends its requests."""

    where: str
    """The model as its errors name it (`OpenAIChatModel.describe()`: its id and endpoint)."""
    base_url: str
    secrets: tuple[str, ...]
    """The values never to show: the API key, and secret-named default headers (`X-Api-Key`...)."""

    @contextmanager
    def from_sdk(self, model: str) -> Iterator[None]:
        """The SDK's errors (after its own retries), raised inside the block, as agentkit's."""
        import openai

        try:
            yield
        except openai.APIStatusError as exc:
            raise self.status_error(exc, model) from exc
        except openai.APITimeoutError as exc:
            raise self.error(
                f"Request to {self.where} timed out (after the SDK's retries).", model=model
            ) from exc
        except openai.APIConnectionError as exc:
            cause = exc.__cause__
            detail = f"{type(cause).__name__}: {cause}" if cause is not None else str(exc)
            raise self.error(
                f"Could not connect to {self.base_url}, or the connection was lost ({detail}). Is the server "
                "running and the URL right?",
                model=model,
            ) from exc

    def error(
        self,
        text: str,
        *,
        model: str,
        status_code: int | None = None,
        code: str | None = None,
        body: object = None,
    ) -> ModelAPIError:
        """A `ModelAPIError`, with the API key (should a server echo it) taken out of its message and body."""
        return ModelAPIError(
            self.redact(text),
            status_code=status_code,
            code=code,
            body=redact_value(body, self.secrets),
            model_name=model,
        )

    def redact(self, text: str) -> str:
        """`text` without the key, in any form a server may quote it (`agentkit._support.redact`)."""
        return redact(text, self.secrets)

    def detach(self, error: ModelAPIError) -> None:
        """Cut `error` loose from the HTTP client's errors before it leaves the model: its cause becomes a
        redacted stand-in (`RedactedError`: type, status, request id, message) and its context goes. The
        SDK's error quotes the raw body (where a server may echo the key) and holds the request's headers;
        a traceback, a log record or a span's `exception.stacktrace` would print it."""
        if error.__cause__ is not None:
            error.__cause__ = redacted_cause(error.__cause__, list(self.secrets))
        error.__context__ = None
        error.__suppress_context__ = True

    def status_error(self, exc: Any, model: str) -> ModelAPIError:
        """The error of an HTTP status the SDK raised (`openai.APIStatusError`)."""
        body = exc.body
        error = body.get("error", body) if isinstance(body, dict) else body
        code, message = code_and_message(error)
        message = message or str(exc)
        text = f"{self.where} answered HTTP {exc.status_code}: {message}"
        if is_unavailable(exc.status_code, code, message):
            return self._unavailable(text, exc.status_code, code, body, error, model)
        return self.error(
            with_hint(text, exc.status_code), status_code=exc.status_code, code=code, body=body, model=model
        )

    def body_error(self, error: Any, data: dict[str, Any], model: str) -> ModelAPIError:
        """The error an endpoint reported inside a 200 body (or a streamed chunk): `data["error"]`."""
        code, message = code_and_message(error)
        status = error.get("code") if isinstance(error, dict) else None
        status_code = status if isinstance(status, int) else None
        text = f"{self.where} reported an error in its response: {message or snippet(repr(error))}"
        if is_unavailable(status_code, code, message):
            return self._unavailable(text, status_code, code, data, error, model)
        return self.error(
            with_hint(text, status_code), status_code=status_code, code=code, body=data, model=model
        )

    def _unavailable(
        self, text: str, status: int | None, code: str | None, body: object, error: object, model: str
    ) -> ModelUnavailableError:
        successors = suggested_successors(error)
        if successors:
            hint = (
                f" The model {model!r} is not served here any more; the endpoint suggests "
                f"{', '.join(successors)}. Choose one: Agent(model=...) or AGENTKIT_MODEL."
            )
        else:
            hint = (
                f" The model {model!r} is not served here any more (or never was). Choose another: "
                "Agent(model=...) or AGENTKIT_MODEL, for example google/gemini-2.5-flash on OpenRouter."
            )
        return ModelUnavailableError(
            self.redact(text + hint),
            status_code=status,
            code=code,
            body=redact_value(body, self.secrets),
            model_name=model,
            successors=successors,
        )
