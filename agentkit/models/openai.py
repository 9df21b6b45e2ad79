"""`OpenAIChatModel`: any OpenAI-compatible chat-completions endpoint through `openai.AsyncOpenAI`.

OpenRouter (the default endpoint), OpenAI, llama.cpp's server, vLLM, Ollama... The SDK does the HTTP work,
including retries of 408/409/429/5xx with backoff; this adapter builds the body (`_chat_format`), maps
errors to agentkit's tree, and reads OpenRouter's extras (`usage.cost`, errors inside 200 bodies).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import AsyncGenerator, AsyncIterator, Iterator, Mapping, Sequence
from contextlib import aclosing, asynccontextmanager, contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..exceptions import ModelAPIError, ModelUnavailableError, UserError
from ..settings import ModelSettings
from . import DEFAULT_BASE_URL, DEFAULT_MODEL, Model, ModelRequestParameters
from ._chat_format import build_request, parse_completion, transcript_call_ids
from ._clients import client_for, close_client, in_use
from .profiles import ModelProfile, profile_for

if TYPE_CHECKING:
    import httpx2
    from openai import AsyncOpenAI

    from ..events import ModelStreamEvent
    from ..messages import AssistantMessage, Message
    from ._stream import StreamAssembler

__all__ = ["OpenAIChatModel"]

logger = logging.getLogger("agentkit")

_RETRYABLE_BODY_CODES = frozenset({408, 429, 500, 502, 503, 504, 529})
_UNAVAILABLE_CODES = ("model_deprecated", "model_not_found", "model_retired")
_UNAVAILABLE_TEXT = (
    "deprecated",
    "retired",
    "no endpoints found",
    "not a valid model",
    "model not found",
    "does not exist",
)


class OpenAIChatModel(Model):
    """A model behind an OpenAI-compatible `/chat/completions` endpoint.

    Arguments beat the environment: `model_name` (else `AGENTKIT_MODEL`, else Gemini 2.0 Flash),
    `base_url` (else `AGENTKIT_BASE_URL`, else OpenRouter), `api_key` (else `AGENTKIT_API_KEY`, else
    `OPENROUTER_API_KEY` for OpenRouter). A server of your own needs no key. Pass `client` to reuse an
    `AsyncOpenAI` you configured yourself. `openrouter` forces OpenRouter's extras on or off (by default:
    when the base URL is openrouter.ai). `http_referer` and `x_title` (or `AGENTKIT_HTTP_REFERER`,
    `AGENTKIT_X_TITLE`) set OpenRouter's attribution headers.
    """

    def __init__(
        self,
        model_name: str | None = None,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        client: AsyncOpenAI | None = None,
        profile: ModelProfile | None = None,
        http_referer: str | None = None,
        x_title: str | None = None,
        max_retries: int = 2,
        timeout: float | None = 120.0,
        default_headers: Mapping[str, str] | None = None,
        openrouter: bool | None = None,
    ) -> None:
        self._model_name = model_name or os.environ.get("AGENTKIT_MODEL") or DEFAULT_MODEL
        if client is not None:
            self.base_url = str(client.base_url).rstrip("/")
        else:
            self.base_url = (base_url or os.environ.get("AGENTKIT_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        self._openrouter = openrouter
        self._api_key = api_key or os.environ.get("AGENTKIT_API_KEY") or None
        if self._api_key is None and self.is_openrouter:
            self._api_key = os.environ.get("OPENROUTER_API_KEY") or None
        self._profile = profile
        headers = dict(default_headers or {})
        referer = http_referer or os.environ.get("AGENTKIT_HTTP_REFERER")
        title = x_title or os.environ.get("AGENTKIT_X_TITLE")
        if referer:
            headers["HTTP-Referer"] = referer
        if title:
            headers["X-Title"] = title
        self._headers = headers
        self._max_retries = max_retries
        self._timeout = timeout
        self._client = client

    @property
    def model_name(self) -> str:
        return self._model_name

    @property
    def profile(self) -> ModelProfile:
        return self._profile or profile_for(self._model_name)

    @property
    def is_openrouter(self) -> bool:
        """Whether the endpoint is OpenRouter (its extras are then requested and read)."""
        if self._openrouter is not None:
            return self._openrouter
        return (urlsplit(self.base_url).hostname or "").endswith("openrouter.ai")

    def describe(self) -> str:
        return f"{self._model_name} at {self.base_url}"

    @property
    def client(self) -> AsyncOpenAI:
        """The `AsyncOpenAI` client for the running event loop, created on first use.

        Connections belong to one event loop; on each loop, models configured alike share one client
        (`_clients`), closed when the loop shuts down. A missing key is a `UserError` here, before anything
        is sent.
        """
        if self._client is not None:
            return self._client
        self._new_client_check()
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return self._new_client()  # no loop to share it on: the caller owns it
        return client_for(self._client_key, self._new_client)

    async def aclose(self) -> None:
        """Close the running loop's client of this model's configuration (shared with models configured
        alike; the next request makes a new one). Loops close their clients when they shut down anyway."""
        if self._client is None:
            await close_client(self._client_key)

    @property
    def _client_key(self) -> tuple[object, ...]:
        headers = tuple(sorted(self._headers.items()))
        return (self.base_url, self._api_key, headers, self._max_retries, self._timeout)

    def _new_client_check(self) -> None:
        """A missing key for OpenRouter is a `UserError` before anything is sent."""
        if self._api_key is None and self.is_openrouter:
            raise UserError(
                "No API key for OpenRouter: set OPENROUTER_API_KEY (or AGENTKIT_API_KEY), or pass "
                "api_key=... . To use another OpenAI-compatible server, set AGENTKIT_BASE_URL."
            )

    def _new_client(self) -> AsyncOpenAI:
        from openai import AsyncOpenAI

        self._new_client_check()
        key = self._api_key or "not-needed"  # servers of your own (llama.cpp, vLLM, Ollama) take any key
        return AsyncOpenAI(
            api_key=key,
            base_url=self.base_url,
            max_retries=self._max_retries,
            timeout=self._timeout,
            default_headers=self._headers or None,
        )

    def request_body(
        self,
        messages: Sequence[Message],
        parameters: ModelRequestParameters,
        settings: ModelSettings,
        *,
        stream: bool = False,
    ) -> dict[str, Any]:
        """The JSON body this model sends for a request (useful to inspect, record or replay).

        With `stream`, the body of `request_stream`: `stream: true` and `stream_options` asking for the usage.
        """
        body = build_request(self._model_name, messages, parameters, settings, self.profile)
        if self.is_openrouter:
            body.setdefault("usage", {"include": True})
        if stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        body.update(settings.extra_body)
        return body

    async def request(
        self, messages: Sequence[Message], parameters: ModelRequestParameters, settings: ModelSettings
    ) -> AssistantMessage:
        from ._guard import check_model_request

        client = self.client  # raises UserError for a missing key before anything is sent
        check_model_request(self.base_url)
        body = self.request_body(messages, parameters, settings)
        attempt = 0
        while True:
            with in_use(client):
                data = await self._post(client, body, settings)
            error = data.get("error") if isinstance(data, dict) else None
            if not error:
                return parse_completion(
                    data, self.profile, transcript_call_ids(messages), parameters, settings
                )
            exc = self._body_error(error, data)
            if not await self._retry_body_error(exc, attempt):
                raise exc
            attempt += 1

    async def request_stream(
        self, messages: Sequence[Message], parameters: ModelRequestParameters, settings: ModelSettings
    ) -> AsyncGenerator[ModelStreamEvent, None]:
        """Stream one request (`stream: true`); the same errors, retries and final message as `request`.

        An error reported in the stream before anything was yielded is retried like an error in a 200 body;
        after that it raises. A stream that ends with neither a finish reason nor `[DONE]` was cut: it
        raises `ModelAPIError`. Closing the iterator early closes the HTTP response.
        """
        from ._guard import check_model_request
        from ._stream import StreamAssembler, retry_before_first

        client = self.client  # raises UserError for a missing key before anything is sent
        check_model_request(self.base_url)
        body = self.request_body(messages, parameters, settings, stream=True)
        taken = transcript_call_ids(messages)

        def attempt() -> AsyncGenerator[ModelStreamEvent, None]:
            assembler = StreamAssembler(
                profile=self.profile, taken_ids=taken, parameters=parameters, settings=settings
            )
            return self._stream_attempt(client, body, settings, assembler)

        with in_use(client):
            async with aclosing(retry_before_first(attempt, self._retry_stream_error)) as events:
                async for event in events:
                    yield event

    async def _retry_stream_error(self, exc: ModelAPIError, attempt: int) -> bool:
        """Whether to try a stream again: errors reported in it, as for errors in 200 bodies; an HTTP status
        was already retried by the SDK."""
        import openai

        if isinstance(exc.__cause__, openai.APIStatusError):
            return False
        return await self._retry_body_error(exc, attempt)

    async def _retry_body_error(self, exc: ModelAPIError, attempt: int) -> bool:
        """Whether to try again after `exc` (an error reported with HTTP 200); waits before saying yes."""
        if exc.status_code not in _RETRYABLE_BODY_CODES or attempt >= self._max_retries:
            return False
        delay = min(8.0, 0.5 * 2**attempt)
        logger.info(
            "retrying %s after an error in a 200 body (%s), in %.1fs", self._model_name, exc.message, delay
        )
        await asyncio.sleep(delay)
        return True

    async def _stream_attempt(
        self, client: AsyncOpenAI, body: dict[str, Any], settings: ModelSettings, assembler: StreamAssembler
    ) -> AsyncGenerator[ModelStreamEvent, None]:
        """One streamed request: its chunks through `assembler`, errors in them raised."""
        from ._stream import DONE, chunk_error

        async with self._stream_data(client, body, settings) as datas:
            async for data in datas:
                if assembler.done:
                    continue  # read to the end, so that the connection can be reused
                if data.strip() == DONE:
                    assembler.done = True
                    continue
                chunk = self._decode_chunk(data)
                error = chunk_error(chunk)
                if error is not None:
                    raise self._body_error(error, chunk)
                for event in assembler.add(chunk):
                    yield event
        if not assembler.finished:
            raise ModelAPIError(
                f"The stream from {self.describe()} was cut: it ended without a finish reason or [DONE].",
                model_name=self._model_name,
            )
        for event in assembler.finish():
            yield event

    @asynccontextmanager
    async def _stream_data(
        self, client: AsyncOpenAI, body: dict[str, Any], settings: ModelSettings
    ) -> AsyncIterator[AsyncIterator[str]]:
        """The HTTP response of a streamed request, open for the block, as the `data` of its events.

        A body that is not an event stream (an error in a 200 body, or a server that ignored `stream`) is
        one piece of data.
        """
        payload = {k: v for k, v in body.items() if k not in ("model", "messages", "stream")}
        with self._sdk_errors():
            async with client.chat.completions.with_streaming_response.create(
                model=body["model"],
                messages=body["messages"],
                stream=True,
                extra_body=payload,
                **self._request_options(settings),
            ) as response:
                datas = self._event_data(response.http_response)
                try:
                    yield datas
                finally:
                    await datas.aclose()

    async def _event_data(self, response: httpx2.Response) -> AsyncGenerator[str, None]:
        """The `data` of each server-sent event; errors of the connection as `ModelAPIError`s."""
        import httpx2

        from ._stream import SSEDecoder

        try:
            if "json" in response.headers.get("content-type", ""):
                yield (await response.aread()).decode("utf-8", "replace")
                return
            decoder = SSEDecoder()
            async for line in response.aiter_lines():
                data = decoder.line(line)
                if data is not None:
                    yield data
            data = decoder.end()
            if data is not None:
                yield data
        except httpx2.TimeoutException as exc:
            raise ModelAPIError(
                f"The stream from {self.describe()} timed out: {exc!r}", model_name=self._model_name
            ) from exc
        except httpx2.RequestError as exc:
            raise ModelAPIError(
                f"The stream from {self.describe()} was cut: {exc!r}", model_name=self._model_name
            ) from exc

    def _decode_chunk(self, data: str) -> dict[str, Any]:
        try:
            chunk = json.loads(data)
        except ValueError as exc:
            raise ModelAPIError(
                f"{self.describe()} streamed data that is not JSON: {data[:200]!r}",
                model_name=self._model_name,
            ) from exc
        if not isinstance(chunk, dict):
            raise ModelAPIError(
                f"{self.describe()} streamed JSON that is not an object.",
                body=chunk,
                model_name=self._model_name,
            )
        return chunk

    def _request_options(self, settings: ModelSettings) -> dict[str, Any]:
        options: dict[str, Any] = {}
        if settings.extra_headers:
            options["extra_headers"] = dict(settings.extra_headers)
        if settings.timeout is not None:
            options["timeout"] = settings.timeout
        return options

    @contextmanager
    def _sdk_errors(self) -> Iterator[None]:
        """The SDK's errors (after its own retries) as agentkit's."""
        import openai

        try:
            yield
        except openai.APIStatusError as exc:
            raise self._status_error(exc) from exc
        except openai.APITimeoutError as exc:
            raise ModelAPIError(
                f"Request to {self.describe()} timed out (after the SDK's retries).",
                model_name=self._model_name,
            ) from exc
        except openai.APIConnectionError as exc:
            raise ModelAPIError(
                f"Could not connect to {self.base_url}: {exc}. Is the server running and the URL right?",
                model_name=self._model_name,
            ) from exc

    async def _post(
        self, client: AsyncOpenAI, body: dict[str, Any], settings: ModelSettings
    ) -> dict[str, Any]:
        payload = {k: v for k, v in body.items() if k not in ("model", "messages")}
        with self._sdk_errors():
            raw = await client.chat.completions.with_raw_response.create(
                model=body["model"],
                messages=body["messages"],
                extra_body=payload,
                **self._request_options(settings),
            )
        try:
            data = json.loads(raw.http_response.content)
        except ValueError as exc:
            snippet = raw.http_response.text[:200]
            raise ModelAPIError(
                f"{self.describe()} answered with a body that is not JSON: {snippet!r}",
                status_code=raw.http_response.status_code,
                model_name=self._model_name,
            ) from exc
        if not isinstance(data, dict):
            raise ModelAPIError(f"{self.describe()} answered with JSON that is not an object.", body=data)
        return data

    def _status_error(self, exc: Any) -> ModelAPIError:
        body = exc.body
        error = body.get("error", body) if isinstance(body, dict) else body
        code, message = _code_and_message(error)
        message = message or str(exc)
        text = f"{self.describe()} answered HTTP {exc.status_code}: {message}"
        if _is_unavailable(exc.status_code, code, message):
            return self._unavailable(text, exc.status_code, code, body)
        return ModelAPIError(
            text, status_code=exc.status_code, code=code, body=body, model_name=self._model_name
        )

    def _body_error(self, error: Any, data: dict[str, Any]) -> ModelAPIError:
        code, message = _code_and_message(error)
        status = error.get("code") if isinstance(error, dict) else None
        status_code = status if isinstance(status, int) else None
        text = f"{self.describe()} reported an error in its response: {message or error!r}"
        if _is_unavailable(status_code, code, message):
            return self._unavailable(text, status_code, code, data)
        return ModelAPIError(text, status_code=status_code, code=code, body=data, model_name=self._model_name)

    def _unavailable(
        self, text: str, status: int | None, code: str | None, body: object
    ) -> ModelUnavailableError:
        hint = (
            f" The model {self._model_name!r} is not served here any more (or never was). Choose another: "
            "Agent(model=...) or AGENTKIT_MODEL, for example google/gemini-2.5-flash on OpenRouter."
        )
        return ModelUnavailableError(
            text + hint, status_code=status, code=code, body=body, model_name=self._model_name
        )


def _code_and_message(error: Any) -> tuple[str | None, str]:
    if not isinstance(error, dict):
        return None, "" if error is None else str(error)
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


def _is_unavailable(status: int | None, code: str | None, message: str) -> bool:
    if code in _UNAVAILABLE_CODES:
        return True
    lowered = message.lower()
    return status in (400, 404, 410) and any(t in lowered for t in _UNAVAILABLE_TEXT)
