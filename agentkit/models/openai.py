"""`OpenAIChatModel`: any OpenAI-compatible chat-completions endpoint through `openai.AsyncOpenAI`.

OpenRouter (the default endpoint), OpenAI, llama.cpp's server, vLLM, Ollama... The SDK does the HTTP work,
including retries of 408/409/429/5xx with backoff; this adapter builds the body (`_chat_format`), maps
errors to agentkit's tree (`_api_errors`), and reads OpenRouter's extras (`usage.cost`, errors inside 200
bodies, the successors it names for a retired model).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from contextlib import aclosing, asynccontextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .._support.redact import header_secrets
from ..exceptions import ModelAPIError, ModelUnavailableError, UserError
from ..messages import transcript_call_ids
from ..settings import ModelSettings
from ..usage import Usage
from . import DEFAULT_BASE_URL, DEFAULT_MODEL, Model, ModelRequestParameters
from ._api_errors import APIErrors
from ._caching import with_cache_breakpoints
from ._chat_format import (
    build_request,
    is_prompted,
    parse_completion,
    reasoning_options,
    request_images,
)
from ._clients import client_for, close_client, in_use
from ._errors import MAX_SUCCESSOR_HOPS, RETRYABLE_BODY_CODES, snippet, unwrap
from ._more_calls import asks_more, continuation_body, more_calls_after
from ._pacing import RateLimit, paced, pacer_for
from ._reasoning import stamp_family
from ._tool_decision import Decision, decide
from .profiles import ModelProfile, profile_for

if TYPE_CHECKING:
    import httpx2
    from openai import AsyncOpenAI

    from ..events import ModelStreamEvent
    from ..messages import AssistantMessage, Message
    from ._stream import StreamAssembler

__all__ = ["OpenAIChatModel"]

logger = logging.getLogger("agentkit")

_STRICT_VALUES = ("1", "true", "yes", "on")
_warned_successors: set[tuple[str, str]] = set()
_successor_of: dict[tuple[str, str], str] = {}
"""(base URL, retired model) -> the successor this process continued with."""
_warned_lock = threading.Lock()


class OpenAIChatModel(Model):
    """A model behind an OpenAI-compatible `/chat/completions` endpoint.

    Arguments beat the environment: `model_name` (else `AGENTKIT_MODEL`, else Gemini 2.0 Flash),
    `base_url` (else `AGENTKIT_BASE_URL`, else OpenRouter), `api_key` (else `AGENTKIT_API_KEY`, else
    `OPENROUTER_API_KEY` for OpenRouter). A server of your own needs no key. Pass `client` to reuse an
    `AsyncOpenAI` you configured yourself. `openrouter` forces OpenRouter's extras on or off (by default:
    when the base URL is openrouter.ai). `http_referer` and `x_title` (or `AGENTKIT_HTTP_REFERER`,
    `AGENTKIT_X_TITLE`) set OpenRouter's attribution headers.

    Retired models: when the endpoint answers that the model is gone (404 `model_deprecated`, over HTTP,
    inside a 200 body or mid-stream before anything was streamed) and names successors (OpenRouter's
    `error.availability.fallback_models`), the request is sent again to the first successor, which this
    model then keeps using (`model_name` and `profile` follow it); one warning per process names both
    models. `follow_successors=False`, or `AGENTKIT_STRICT_MODEL=1` in the environment, turns this off:
    `ModelUnavailableError` is raised, its `successors` listing the suggestions. By default a model in a
    `FallbackModel` chain does not follow successors: the chain's next model is tried instead.

    The API key is never part of `repr(model)`, an error message or a log record; nor of a raised
    error's `body` or its chain of causes, should the server quote it back (see docs/security.md).

    Rate limits: requests wait their turn under the limits the endpoint states in its responses, shared by
    every run of the process using the same endpoint, key and model; `rate_limit` (else the environment's
    `AGENTKIT_REQUESTS_PER_MINUTE` / `AGENTKIT_TOKENS_PER_MINUTE`) adds limits of your own. See
    docs/rate-limits.md.
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
        follow_successors: bool | None = None,
        rate_limit: RateLimit | None = None,
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
        self._follow_successors = follow_successors
        self._rate_limit = rate_limit if rate_limit is not None else RateLimit.from_env()
        self._in_chain = False
        """Set by `FallbackModel` for its members: the chain, not a successor, takes over from this model."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model_name={self.model_name!r}, base_url={self.base_url!r})"

    @property
    def model_name(self) -> str:
        return self._model_name

    @property
    def follows_successors(self) -> bool:
        """Whether a retired model is replaced by the successor the endpoint names (see the class docs)."""
        if self._follow_successors is not None:
            return self._follow_successors
        if os.environ.get("AGENTKIT_STRICT_MODEL", "").strip().lower() in _STRICT_VALUES:
            return False
        return not self._in_chain

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
        """A missing key for OpenRouter is a `UserError` before anything is sent (unless a cassette
        replays: then nothing is sent)."""
        from ._guard import is_replaying

        if self._api_key is None and self.is_openrouter and not is_replaying():
            raise UserError(
                "No API key for OpenRouter: set OPENROUTER_API_KEY (or AGENTKIT_API_KEY), or pass "
                "api_key=... . To use another OpenAI-compatible server, set AGENTKIT_BASE_URL."
            )

    keepalive_expiry: float | None = None
    """Seconds an idle connection is kept for reuse (`None`: the SDK's 5 s). A server that closes idle
    connections after as long as that (llama.cpp's does, after 5 s) races the client reusing one: the request
    then fails with "Server disconnected". A subclass for such a server sets it lower."""

    def _new_client(self) -> AsyncOpenAI:
        from openai import AsyncOpenAI

        self._new_client_check()
        key = self._api_key or "not-needed"  # servers of your own (llama.cpp, vLLM, Ollama) take any key
        http_client = None
        if self.keepalive_expiry is not None:
            import httpx2
            from openai import DefaultAsyncHttpx2Client
            from openai._constants import DEFAULT_CONNECTION_LIMITS

            limits = httpx2.Limits(
                max_connections=DEFAULT_CONNECTION_LIMITS.max_connections,
                max_keepalive_connections=DEFAULT_CONNECTION_LIMITS.max_keepalive_connections,
                keepalive_expiry=self.keepalive_expiry,
            )
            http_client = DefaultAsyncHttpx2Client(limits=limits)
        return AsyncOpenAI(
            api_key=key,
            base_url=self.base_url,
            max_retries=self._max_retries,
            timeout=self._timeout,
            default_headers=self._headers or None,
            http_client=http_client,
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
        To OpenRouter, also `usage: {"include": true}` and the settings' `provider` routing; with the
        settings' `cache_control`, prompt-cache breakpoints (`_caching`). `extra_body` comes last and wins.
        """
        body = build_request(self._model_name, messages, parameters, settings, self.profile)
        if settings.cache_control:
            body["messages"] = with_cache_breakpoints(body["messages"])
        if self.is_openrouter:
            body.setdefault("usage", {"include": True})
            if settings.provider is not None:
                body["provider"] = settings.provider.to_json()
        body.update(reasoning_options(settings, openrouter=self.is_openrouter))
        if stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        body.update(settings.extra_body)
        return body

    async def request(
        self, messages: Sequence[Message], parameters: ModelRequestParameters, settings: ModelSettings
    ) -> AssistantMessage:
        from ._guard import check_model_request

        if self.profile.cut_repeated_calls and is_prompted(self.profile, parameters):
            return await self._request_streamed(messages, parameters, settings)
        client = self.client  # raises UserError for a missing key before anything is sent
        check_model_request(self.base_url)
        self._take_known_successor()
        followed: list[str] = []
        try:
            while True:
                try:
                    return await self._request_once(client, messages, parameters, settings)
                except ModelUnavailableError as exc:
                    if not self._follow_successor(exc, followed):
                        raise
        except ModelAPIError as exc:
            self._errors.detach(exc)
            raise

    async def _request_streamed(
        self, messages: Sequence[Message], parameters: ModelRequestParameters, settings: ModelSettings
    ) -> AssistantMessage:
        """`request` read from `request_stream` (the profile's `cut_repeated_calls` reads a reply as it comes):
        the stream's final message, with the same errors and retries."""
        from ..events import ResponseFinished

        message = None
        async with aclosing(self.request_stream(messages, parameters, settings)) as events:
            async for event in events:
                if isinstance(event, ResponseFinished):
                    message = event.message
        assert message is not None  # a stream ends with its message or raises
        return message

    async def _request_once(
        self,
        client: AsyncOpenAI,
        messages: Sequence[Message],
        parameters: ModelRequestParameters,
        settings: ModelSettings,
    ) -> AssistantMessage:
        """One request to the current model, errors in 200 bodies retried."""
        profile = self.profile  # the asked model's: it prices the answer
        decision = await self._decide_tool_use(client, messages, parameters, settings, streamed=False)
        parameters, settings, ready = decision.parameters, decision.settings, decision.reply
        body = self.request_body(messages, parameters, settings)
        attempt = 0
        while True:
            if ready is not None:  # the decision's check already asked for the reply
                data, ready = ready, None
            else:
                with in_use(client):
                    data = await self._post(client, body, settings)
            error = data.get("error")
            if not error:
                message = parse_completion(
                    data,
                    profile,
                    transcript_call_ids(messages),
                    parameters,
                    settings,
                    images=request_images(body),
                )
                message.model_name = message.model_name or body["model"]
                stamp_family(message, profile, body["model"])
                if decision.usage is not None:
                    message.usage = decision.usage + (message.usage or Usage())
                return message
            exc = self._errors.body_error(error, data, body["model"])
            if not await self._retry_body_error(exc, attempt):
                raise exc
            attempt += 1

    async def _decide_tool_use(
        self,
        client: AsyncOpenAI,
        messages: Sequence[Message],
        parameters: ModelRequestParameters,
        settings: ModelSettings,
        *,
        streamed: bool,
    ) -> Decision:
        """The profile's `decide_tool_use` (`_tool_decision.decide`), its requests posted as any other; the
        reply its check asks for is `streamed` as the reply would be."""
        if not self.profile.decide_tool_use:
            return Decision(parameters=parameters, settings=settings)

        async def post(body: dict[str, Any]) -> dict[str, Any]:
            with in_use(client):
                return await self._post(client, body, settings)

        async def ask() -> dict[str, Any]:
            """The reply streamed (so that `cut_repeated_calls` cuts it) and added up, none of it passed on."""
            reply_body = self.request_body(messages, parameters, settings, stream=True)
            assembler = self._assembler(transcript_call_ids(messages), parameters, settings, reply_body)
            with in_use(client):
                async for _ in self._stream_chunks(client, reply_body, settings, assembler):
                    pass
            return assembler.completion()

        body = self.request_body(messages, parameters, settings)
        return await decide(
            self.profile, messages, parameters, settings, body, post, ask if streamed else None
        )

    def _take_known_successor(self) -> None:
        """Go straight to the successor this process already found for a retired model (another model
        object, a later agent), instead of asking the retired one again."""
        if not _successor_of or not self.follows_successors:
            return
        hops = 0
        while (
            new := _successor_of.get((self.base_url, self._model_name))
        ) is not None and hops < MAX_SUCCESSOR_HOPS:
            self._model_name, hops = new, hops + 1

    def _follow_successor(self, exc: ModelUnavailableError, followed: list[str]) -> bool:
        """After `exc`: whether to send the request again, to a successor of the retired model (switched
        to for later requests too, with one warning per process and pair)."""
        old = exc.model_name or self._model_name
        new = next((s for s in exc.successors if s != old and s not in followed), None)
        if new is None or not self.follows_successors or len(followed) >= MAX_SUCCESSOR_HOPS:
            return False
        followed.append(old)
        if self._model_name == old:  # a concurrent request may have moved on already
            self._model_name = new
        with _warned_lock:
            first = (old, new) not in _warned_successors
            _warned_successors.add((old, new))
            _successor_of[(self.base_url, old)] = new
        if first:
            logger.warning(
                "The model %s is no longer available at %s; continuing with its successor %s "
                "(pass follow_successors=False or set AGENTKIT_STRICT_MODEL=1 to raise instead).",
                old,
                self.base_url,
                new,
            )
        return True

    async def request_stream(
        self, messages: Sequence[Message], parameters: ModelRequestParameters, settings: ModelSettings
    ) -> AsyncGenerator[ModelStreamEvent, None]:
        """Stream one request (`stream: true`); the same errors, retries and final message as `request`.

        An error reported in the stream before anything was yielded is retried like an error in a 200 body;
        after that it raises. A stream that ends with neither a finish reason nor `[DONE]` was cut: it
        raises `ModelAPIError`. Closing the iterator early closes the HTTP response.
        """
        from ._guard import check_model_request

        client = self.client  # raises UserError for a missing key before anything is sent
        check_model_request(self.base_url)
        self._take_known_successor()
        followed: list[str] = []
        try:
            while True:
                started = False
                try:
                    async with aclosing(self._stream_once(client, messages, parameters, settings)) as events:
                        async for event in events:
                            started = True
                            yield event
                    return
                except ModelUnavailableError as exc:
                    if started or not self._follow_successor(exc, followed):
                        raise
        except ModelAPIError as exc:
            self._errors.detach(exc)
            raise

    async def _stream_once(
        self,
        client: AsyncOpenAI,
        messages: Sequence[Message],
        parameters: ModelRequestParameters,
        settings: ModelSettings,
    ) -> AsyncGenerator[ModelStreamEvent, None]:
        """One streamed request to the current model, errors before the first event retried."""
        from ..events import ResponseFinished
        from ._stream import retry_before_first

        profile = self.profile
        decision = await self._decide_tool_use(client, messages, parameters, settings, streamed=True)
        parameters, settings = decision.parameters, decision.settings
        body = self.request_body(messages, parameters, settings, stream=True)
        taken = transcript_call_ids(messages)
        more = asks_more(profile, messages, parameters, settings)

        def attempt() -> AsyncGenerator[ModelStreamEvent, None]:
            assembler = self._assembler(taken, parameters, settings, body)
            return self._stream_attempt(
                client, body, settings, assembler, more_calls=more, ready=decision.reply
            )

        with in_use(client):
            async with aclosing(retry_before_first(attempt, self._retry_stream_error)) as events:
                async for event in events:
                    if isinstance(event, ResponseFinished):
                        event.message.model_name = event.message.model_name or body["model"]
                        stamp_family(event.message, profile, body["model"])
                        if decision.usage is not None:
                            event.message.usage = decision.usage + (event.message.usage or Usage())
                    yield event

    def _assembler(
        self,
        taken: list[str],
        parameters: ModelRequestParameters,
        settings: ModelSettings,
        body: dict[str, Any],
    ) -> StreamAssembler:
        """A `StreamAssembler` for the reply to the streamed request `body`."""
        from ._stream import StreamAssembler

        return StreamAssembler(
            profile=self.profile,
            taken_ids=taken,
            parameters=parameters,
            settings=settings,
            images=request_images(body),
        )

    async def _retry_stream_error(self, exc: ModelAPIError, attempt: int) -> bool:
        """Whether to try a stream again: errors reported in it, as for errors in 200 bodies; an HTTP status
        was already retried by the SDK."""
        import openai

        if isinstance(exc.__cause__, openai.APIStatusError):
            return False
        return await self._retry_body_error(exc, attempt)

    async def _retry_body_error(self, exc: ModelAPIError, attempt: int) -> bool:
        """Whether to try again after `exc` (an error reported with HTTP 200); waits before saying yes."""
        if exc.status_code not in RETRYABLE_BODY_CODES or attempt >= self._max_retries:
            return False
        delay = min(8.0, 0.5 * 2**attempt)
        logger.info(
            "retrying %s after an error in a 200 body (%s), in %.1fs", self._model_name, exc.message, delay
        )
        await asyncio.sleep(delay)
        return True

    async def _stream_attempt(
        self,
        client: AsyncOpenAI,
        body: dict[str, Any],
        settings: ModelSettings,
        assembler: StreamAssembler,
        *,
        more_calls: bool = False,
        ready: dict[str, Any] | None = None,
    ) -> AsyncGenerator[ModelStreamEvent, None]:
        """One streamed request: its chunks through `assembler`, errors in them raised; with `more_calls`, a
        reply of one prompted call continued when the model leans to another (`_more_calls`). A `ready`
        completion (the decision's check asked for it) is the reply instead of the first request, taken as
        one chunk."""
        from ..events import ResponseFinished

        if ready is not None:
            for event in assembler.add(ready):
                yield event
        else:
            async for event in self._stream_chunks(client, body, settings, assembler):
                yield event

        async def post(question: dict[str, Any]) -> dict[str, Any]:
            return await self._post(client, question, settings)

        probed = await more_calls_after(self.profile, body, assembler, post) if more_calls else None
        if probed is not None and probed[1]:
            assembler.resume()
            async for event in self._stream_chunks(
                client, continuation_body(body, probed[1]), settings, assembler
            ):
                yield event
        for event in assembler.finish():
            if probed is not None and isinstance(event, ResponseFinished):
                event.message.usage = probed[0] + (event.message.usage or Usage())
            yield event

    async def _stream_chunks(
        self, client: AsyncOpenAI, body: dict[str, Any], settings: ModelSettings, assembler: StreamAssembler
    ) -> AsyncGenerator[ModelStreamEvent, None]:
        """The chunks of one streamed request through `assembler`, errors in them raised."""
        from ._stream import DONE, chunk_error

        model = body["model"]
        async with self._stream_data(client, body, settings) as datas:
            async for data in datas:
                if assembler.done:
                    continue  # read to the end, so that the connection can be reused
                if data.strip() == DONE:
                    assembler.done = True
                    continue
                chunk = self._decode_chunk(data, model)
                error = chunk_error(chunk)
                if error is not None:
                    raise self._errors.body_error(error, chunk, model)
                for event in assembler.add(chunk):
                    yield event
                if assembler.cut:
                    break  # closing the response stops the server's writing
        if not assembler.finished:
            raise self._errors.error(
                f"The stream from {self.describe()} was cut: it ended without a finish reason or [DONE].",
                model=model,
            )

    @asynccontextmanager
    async def _stream_data(
        self, client: AsyncOpenAI, body: dict[str, Any], settings: ModelSettings
    ) -> AsyncIterator[AsyncIterator[str]]:
        """The HTTP response of a streamed request, open for the block, as the `data` of its events.

        A body that is not an event stream (an error in a 200 body, or a server that ignored `stream`) is
        one piece of data.
        """
        payload = {k: v for k, v in body.items() if k not in ("model", "messages", "stream")}
        pacer = pacer_for(self.base_url, client.api_key, body["model"], self._rate_limit)
        with self._errors.from_sdk(body["model"]):
            async with (
                paced(client, pacer),
                client.chat.completions.with_streaming_response.create(
                    model=body["model"],
                    messages=body["messages"],
                    stream=True,
                    extra_body=payload,
                    **self._request_options(settings),
                ) as response,
            ):
                datas = self._event_data(response.http_response, body["model"])
                try:
                    yield datas
                finally:
                    await datas.aclose()

    async def _event_data(self, response: httpx2.Response, model: str) -> AsyncGenerator[str, None]:
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
            raise self._errors.error(
                f"The stream from {self.describe()} timed out: {exc!r}", model=model
            ) from exc
        except httpx2.RequestError as exc:
            raise self._errors.error(
                f"The stream from {self.describe()} was cut: {exc!r}", model=model
            ) from exc

    def _decode_chunk(self, data: str, model: str) -> dict[str, Any]:
        try:
            chunk = json.loads(data)
        except ValueError as exc:
            raise self._errors.error(
                f"{self.describe()} streamed data that is not JSON: {snippet(data)!r}", model=model
            ) from exc
        if not isinstance(chunk, dict):
            raise self._errors.error(
                f"{self.describe()} streamed JSON that is not an object.", body=chunk, model=model
            )
        return unwrap(chunk)  # a whole completion some gateways nest under another key

    @property
    def _errors(self) -> APIErrors:
        """How this model's errors are worded (`_api_errors`): its description, its endpoint, and the secrets
        taken out of them (the API key, secret-named default headers such as `X-Api-Key`)."""
        secrets = tuple(s for s in (self._api_key, *header_secrets(self._headers.items())) if s)
        return APIErrors(where=self.describe(), base_url=self.base_url, secrets=secrets)

    def _request_options(self, settings: ModelSettings) -> dict[str, Any]:
        options: dict[str, Any] = {}
        if settings.extra_headers:
            options["extra_headers"] = dict(settings.extra_headers)
        if settings.timeout is not None:
            options["timeout"] = settings.timeout
        return options

    async def _post(
        self, client: AsyncOpenAI, body: dict[str, Any], settings: ModelSettings
    ) -> dict[str, Any]:
        """The decoded JSON object of a completion (found under another key when it is the only one there)."""
        model = body["model"]
        payload = {k: v for k, v in body.items() if k not in ("model", "messages")}
        pacer = pacer_for(self.base_url, client.api_key, model, self._rate_limit)
        with self._errors.from_sdk(model):
            async with paced(client, pacer):
                raw = await client.chat.completions.with_raw_response.create(
                    model=model,
                    messages=body["messages"],
                    extra_body=payload,
                    **self._request_options(settings),
                )
        try:
            data = json.loads(raw.http_response.content)
        except ValueError as exc:
            raise self._errors.error(
                f"{self.describe()} answered with a body that is not JSON: {snippet(raw.http_response.text)!r}",
                status_code=raw.http_response.status_code,
                model=model,
            ) from exc
        if not isinstance(data, dict):
            raise self._errors.error(
                f"{self.describe()} answered with JSON that is not an object.", body=data, model=model
            )
        return unwrap(data)
