"""`LocalModel`: the embedded local model (Qwen2.5-Coder-1.5B on llama.cpp), started on first use.

Its profile (`agentkit.local.policy.LOCAL`) calls tools through the prompt with a grammar (`constrain_calls`); on the
`llama-server` engine, compiled without LLGuidance, the grammar is left out.

`Agent(model="local")` (or no key and no server configured, with `agentkit[local]` installed) runs here: the
package root registers the ids `local` and `local:NAME` with the model layer (`agentkit.models._named`), which
never names this package. The server is shared by every `LocalModel` of the process and stopped when the
interpreter exits.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing
from typing import TYPE_CHECKING

from ..exceptions import ModelAPIError, UserError
from ..models import ModelRequestParameters
from ..models.openai import OpenAIChatModel
from ..settings import ModelSettings
from ._weights import LOCAL_MODEL_ID
from .policy import LOCAL

if TYPE_CHECKING:
    from ..events import ModelStreamEvent
    from ..messages import AssistantMessage, Message
    from ..models.profiles import ModelProfile
    from ._server import LocalServer

__all__ = ["LocalModel"]

KNOWN = ("local", "local:qwen2.5-coder-1.5b")


class LocalModel(OpenAIChatModel):
    """The local llama.cpp model behind agentkit's managed server (or a `LocalServer` you pass)."""

    keepalive_expiry = 2.0
    """llama.cpp's server closes a connection idle for 5 s: reuse one for less than that."""

    def __init__(
        self,
        model_name: str = "local",
        *,
        server: LocalServer | None = None,
        profile: ModelProfile | None = None,
    ) -> None:
        if model_name not in KNOWN:
            raise UserError(f"Unknown local model {model_name!r}; the local models are: {', '.join(KNOWN)}.")
        super().__init__(
            LOCAL_MODEL_ID,
            base_url="http://127.0.0.1/v1",
            api_key=None,  # the server's own, once it runs (`start`)
            profile=profile or LOCAL,
            max_retries=0,
            follow_successors=False,
        )
        self._server = server
        self._started = False
        self._default_profile = profile is None

    @property
    def model_name(self) -> str:
        return f"local:{self._model_name}"

    def describe(self) -> str:
        where = self.base_url if self._started else "a managed llama.cpp server on 127.0.0.1"
        return f"{self.model_name} ({where})"

    async def start(self) -> str:
        """Start (or reuse) the server; returns its base URL. While a cassette replays, nothing starts:
        the cassette answers."""
        from ..models._guard import is_replaying

        if not self._started and not is_replaying():
            from . import get_local_server

            server = self._server
            if server is None:
                server = await asyncio.to_thread(get_local_server)
            elif not server.is_running:
                await asyncio.to_thread(server.start)
            self.base_url = server.base_url
            self._api_key = server.api_key  # the server answers no request without it
            if server.engine_in_use == "llama-server" and self._default_profile:
                # A compiled llama-server has no LLGuidance unless built with it: no grammar then.
                self._profile = dataclasses.replace(self.profile, constrain_calls=False)
            self._started = True
        return self.base_url

    async def request(
        self, messages: Sequence[Message], parameters: ModelRequestParameters, settings: ModelSettings
    ) -> AssistantMessage:
        await self.start()
        try:
            return await super().request(messages, parameters, settings)
        except ModelAPIError as exc:
            if not await self._restart_after(exc):
                raise
            return await super().request(messages, parameters, settings)

    async def request_stream(
        self, messages: Sequence[Message], parameters: ModelRequestParameters, settings: ModelSettings
    ) -> AsyncGenerator[ModelStreamEvent, None]:
        """Stream from the local server (started first); restarted once when it gives no answer at all
        before anything was yielded."""
        from ..models._stream import retry_before_first

        await self.start()

        def attempt() -> AsyncGenerator[ModelStreamEvent, None]:
            return super(LocalModel, self).request_stream(messages, parameters, settings)

        async def retry(exc: ModelAPIError, attempt: int) -> bool:
            return attempt == 0 and await self._restart_after(exc)

        async with aclosing(retry_before_first(attempt, retry)) as events:
            async for event in events:
                yield event

    async def _restart_after(self, exc: ModelAPIError) -> bool:
        """After `exc`: whether the managed server gave no answer at all, restarted (or saying why) if so."""
        if exc.status_code is not None or self._server is not None:
            return False
        # No answer at all: the shared server may have died. It restarts on the same port, or says why.
        from . import get_local_server

        await asyncio.to_thread(get_local_server)
        return True
