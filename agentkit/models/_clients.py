"""HTTP clients, one per event loop and configuration, shared by every model configured alike.

Connections belong to one event loop. On each loop, models with the same endpoint, key, headers, retries
and timeout share one client: its SSL context is built once and its connections are reused from run to run,
even by agents made anew for each call (`run_sync` runs them all on one background loop, `agentkit._support.sync`).

A pool holds at most `MAX_CLIENTS` clients; the least recently used one past that is closed as soon as no
request is using it (`in_use` counts them). A loop's clients close when the loop shuts down its async
generators, as `asyncio.run` and `asyncio.Runner` do before closing it, and the background loop's when the
interpreter exits: no connection is left open and no `ResourceWarning` raised, without an `aclose()` to
remember. After a fork, the child starts with no clients (the parent's belong to the parent's loops).
"""

from __future__ import annotations

import asyncio
import os
import weakref
from collections import OrderedDict
from collections.abc import AsyncGenerator, Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar

__all__ = ["MAX_CLIENTS", "client_for", "close_client", "in_use"]

MAX_CLIENTS = 32


class _Closable(Protocol):
    async def close(self) -> Any: ...


C = TypeVar("C", bound=_Closable)


class _Pool:
    """The clients of one event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = weakref.ref(loop)  # a strong one would keep the loop, the key of `_pools`, alive
        self.clients: OrderedDict[Hashable, Any] = OrderedDict()
        self.users: dict[int, int] = {}
        """Requests in flight, by `id(client)`."""
        self.evicted: dict[int, Any] = {}
        """Clients past the pool's size, still in use: closed when their last request ends."""
        self.closer: AsyncGenerator[None, None] | None = None
        self.tasks: set[asyncio.Task[Any]] = set()

    def close_later(self, client: _Closable) -> None:
        loop = self.loop()
        try:
            assert loop is not None
            task = loop.create_task(client.close())
        except (AssertionError, RuntimeError):  # pragma: no cover - the loop is closed or gone: so are they
            return
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def close_all(self) -> None:
        clients = [*self.clients.values(), *self.evicted.values()]
        self.clients.clear()
        self.evicted.clear()
        for client in clients:
            await client.close()
        if self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)


_pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Pool] = weakref.WeakKeyDictionary()


def client_for(key: Hashable, make: Callable[[], C]) -> C:
    """The running loop's client for `key`, made with `make` on first use."""
    loop = asyncio.get_running_loop()
    pool = _pools.get(loop)
    if pool is None:
        pool = _pools[loop] = _Pool(loop)
        _close_with(loop, pool)
    client: C | None = pool.clients.get(key)
    if client is not None:
        pool.clients.move_to_end(key)
        return client
    client = pool.clients[key] = make()
    while len(pool.clients) > MAX_CLIENTS:
        _, old = pool.clients.popitem(last=False)
        if pool.users.get(id(old)):
            pool.evicted[id(old)] = old
        else:
            pool.close_later(old)
    return client


@contextmanager
def in_use(client: object) -> Iterator[None]:
    """Count a request in flight on `client` (of the running loop's pool), so that it is not closed under it."""
    pool = _pools.get(asyncio.get_running_loop())
    if pool is None:
        yield
        return
    key = id(client)
    pool.users[key] = pool.users.get(key, 0) + 1
    try:
        yield
    finally:
        pool.users[key] -= 1
        if not pool.users[key]:
            del pool.users[key]
            evicted = pool.evicted.pop(key, None)
            if evicted is not None:
                pool.close_later(evicted)


async def close_client(key: Hashable) -> None:
    """Close the running loop's client for `key`, if there is one."""
    pool = _pools.get(asyncio.get_running_loop())
    client = pool.clients.pop(key, None) if pool is not None else None
    if client is not None:
        await client.close()


def _close_with(loop: asyncio.AbstractEventLoop, pool: _Pool) -> None:
    """Close `pool`'s clients when `loop` shuts down (the background loop: at interpreter exit)."""
    from .._support.sync import at_close, is_sync_loop

    if is_sync_loop(loop):
        at_close(pool.close_all)
        return

    async def closer() -> AsyncGenerator[None, None]:
        try:
            yield
        finally:
            await pool.close_all()

    pool.closer = closer()  # held by the pool: collected early, it would close the clients early
    started = asyncio.ensure_future(pool.closer.asend(None), loop=loop)
    pool.tasks.add(started)
    started.add_done_callback(pool.tasks.discard)


def _forget_after_fork() -> None:
    _pools.clear()


if hasattr(os, "register_at_fork"):  # pragma: no branch - POSIX
    os.register_at_fork(after_in_child=_forget_after_fork)
