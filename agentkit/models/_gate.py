"""Requests past a client's connection count wait here, in agentkit, before the SDK builds them.

An HTTP client has a fixed number of connections (`AsyncOpenAI`'s default is 1,000). Past that, a request
the SDK has built waits in httpx's pool holding everything built for it: the SDK's copies of the request
options, the headers, the encoded JSON body, the pool's events; and the pool walks its whole list of
requests, the waiting ones included, each time a request is added or removed. A `Gate` per client and event loop, sized to the pool, keeps
the waiting runs here instead, first come first served, holding only their messages (docs/rate-limits.md:
10,000 concurrent runs at 12 KiB each, against 42 KiB for the raw SDK loop).
"""

from __future__ import annotations

import asyncio
import weakref
from collections import deque
from typing import Any

__all__ = ["Gate", "gate_for"]


class Gate:
    """At most `free` requests of one HTTP client inside the SDK at once (its pool's connections): the others
    wait here, first come first served, holding their messages but none of the SDK's and httpx's objects for
    a request (options, headers, the encoded body), and sparing the pool a long list to walk."""

    __slots__ = ("free", "loop", "waiters")

    def __init__(self, size: int, loop: asyncio.AbstractEventLoop) -> None:
        self.free = size
        self.loop = loop
        self.waiters: deque[asyncio.Future[None]] = deque()

    async def acquire(self) -> None:
        if self.free > 0 and not self.waiters:
            self.free -= 1
            return
        future = self.loop.create_future()
        self.waiters.append(future)
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.release()  # granted as it was cancelled: pass it on
            raise

    def release(self) -> None:
        while self.waiters:
            future = self.waiters.popleft()
            if not future.done():
                future.set_result(None)
                return
        self.free += 1


_gates: weakref.WeakKeyDictionary[Any, Gate] = weakref.WeakKeyDictionary()


def gate_for(http: Any) -> Gate | None:
    """The gate of an HTTP client on the running loop, sized to its connection pool (None: no known size)."""
    loop = asyncio.get_running_loop()
    gate = _gates.get(http)
    if gate is not None:
        return gate if gate.loop is loop else None
    pool = getattr(getattr(http, "_transport", None), "_pool", None)
    size = getattr(pool, "_max_connections", None)
    if not isinstance(size, int) or not 0 < size < 1 << 31:
        return None
    gate = _gates[http] = Gate(size, loop)
    return gate
