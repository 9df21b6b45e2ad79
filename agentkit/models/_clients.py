"""HTTP clients: shared on `run_sync`'s background loop, by configuration; closed with any other loop.

Every synchronous run of the process runs on one event loop (`agentkit._sync`), so models configured alike
(the same endpoint, key, headers, retries and timeout) share one client there: its SSL context is built
once and its connections are reused from run to run, even by agents made anew for each call. The least
recently used clients past `MAX_SHARED` are closed; the rest close when the interpreter exits.

On a loop of the user's (`asyncio.run(main())`), `close_with_loop` closes a client when the loop shuts down
its async generators, as `asyncio.run` and `asyncio.Runner` do before closing it: no connection is left
open, and no `ResourceWarning` is raised, without an `aclose()` the user must remember.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import OrderedDict
from collections.abc import AsyncGenerator, Callable, Hashable
from typing import Any, Protocol, TypeVar

__all__ = ["MAX_SHARED", "close_with_loop", "shared_client"]

MAX_SHARED = 32


class _Closable(Protocol):
    async def close(self) -> Any: ...


C = TypeVar("C", bound=_Closable)

_shared: OrderedDict[Hashable, Any] = OrderedDict()
_tasks: set[asyncio.Task[Any]] = set()
_closers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, list[AsyncGenerator[None, None]]] = (
    weakref.WeakKeyDictionary()
)


def shared_client(key: Hashable, make: Callable[[], C]) -> C:
    """The client for `key` on the sync loop (call it from that loop), made with `make` on first use."""
    from .._sync import at_close

    client: C | None = _shared.get(key)
    if client is not None:
        _shared.move_to_end(key)
        return client
    if not _shared:
        at_close(_close_all)
    client = _shared[key] = make()
    while len(_shared) > MAX_SHARED:
        _, old = _shared.popitem(last=False)
        task = asyncio.get_running_loop().create_task(old.close())
        _tasks.add(task)
        task.add_done_callback(_tasks.discard)
    return client


async def _close_all() -> None:
    while _shared:
        _, client = _shared.popitem()
        await client.close()
    if _tasks:
        await asyncio.gather(*_tasks, return_exceptions=True)


def close_with_loop(client: _Closable) -> None:
    """Close `client` when the running loop shuts down its async generators (call it from that loop)."""

    async def closer() -> AsyncGenerator[None, None]:
        try:
            yield
        finally:
            await client.close()

    loop = asyncio.get_running_loop()
    generator = closer()
    _closers.setdefault(loop, []).append(
        generator
    )  # held until the loop goes: collected, it would close early
    started = asyncio.ensure_future(generator.asend(None), loop=loop)
    _tasks.add(started)
    started.add_done_callback(_tasks.discard)
