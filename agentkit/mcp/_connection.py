"""One MCP client session, owned by one background task, usable from any task (or event loop).

The `mcp` SDK's clients hold anyio task groups and cancel scopes, which must be entered and left in the
same task; agentkit may start a toolset in one task and stop it in another (`run_stream_sync` drives a run
from separate `run_sync` calls; `async with agent:` spans many runs). So a `Connection` opens the client in
a task of its own, which waits until `close()` asks it to leave; calls go through the session from any task,
and from another event loop they are handed to the owner's loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from mcp import Client

__all__ = ["Connection", "OpenClient"]

T = TypeVar("T")

logger = logging.getLogger("agentkit")

OpenClient = Callable[[AsyncExitStack], Awaitable["Client"]]
"""Opens an entered `mcp.Client` on the stack given (closed when the stack is)."""

CLOSE_TIMEOUT = 10.0
"""Seconds `close()` waits for the SDK's own shutdown (stdio: close stdin, then SIGTERM, then SIGKILL, each
after a grace of 2 s) before cancelling the owner task."""


class Connection:
    """An open MCP client session: `client` to call, `close()` to end it (from any task)."""

    client: Client

    def __init__(self, open_client: OpenClient, label: str) -> None:
        self._open_client = open_client
        self.loop = asyncio.get_running_loop()
        self._ready: asyncio.Future[Client] = self.loop.create_future()
        self._leave = asyncio.Event()
        self._task = self.loop.create_task(self._own(), name=f"agentkit MCP {label}")

    @classmethod
    async def open(cls, open_client: OpenClient, label: str, *, timeout: float) -> Connection:
        """Open a session in a new owner task; raises what opening raised (`TimeoutError` after `timeout`)."""
        connection = cls(open_client, label)
        try:
            connection.client = await asyncio.wait_for(connection._ready, timeout)
        except BaseException:
            await connection.close()
            raise
        return connection

    @property
    def is_open(self) -> bool:
        """Whether the owner task still holds the session (not closing, not ended)."""
        return not self._leave.is_set() and not self._task.done()

    async def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Await `coroutine` (a call on `client`) here, or on the owner's loop when called from another."""
        if _current_loop() is self.loop:
            return await coroutine
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coroutine, self.loop))

    async def close(self) -> None:
        """Ask the owner task to leave the session and wait for it (bounded by `CLOSE_TIMEOUT`)."""
        if _current_loop() is self.loop:
            await self._close()
        else:
            await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(self._close(), self.loop))

    async def _close(self) -> None:
        self._leave.set()
        if not self._ready.done() or self._ready.cancelled():  # still opening: nothing to leave politely
            self._task.cancel()
        _, pending = await asyncio.wait({self._task}, timeout=CLOSE_TIMEOUT)
        if pending:  # pragma: no cover - the SDK bounds its own shutdown
            self._task.cancel()
            await asyncio.wait({self._task})

    async def _own(self) -> None:
        try:
            async with AsyncExitStack() as stack:
                client = await self._open_client(stack)
                if self._ready.done():  # open() gave up waiting
                    return
                self._ready.set_result(client)
                await self._leave.wait()
        except asyncio.CancelledError:
            self._ready.cancel()  # no-op when done
            raise
        # opening failed (open() raises it), or leaving did (nothing to do but say so)
        except Exception as exc:
            if not self._ready.done():
                self._ready.set_exception(exc)
            else:
                logger.debug("closing the MCP session failed: %s", exc, exc_info=exc)


def _current_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:  # pragma: no cover - always called from a coroutine
        return None
