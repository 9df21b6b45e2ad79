"""One event loop, on a background thread, for every `run_sync` and `run_stream_sync` of the process.

A fresh loop per call (`asyncio.run`) would build a new HTTP client, SSL context and connection pool for
every run; on this loop a model's client, and its open connections, serve every synchronous call, from any
thread. At interpreter exit the loop runs the cleanups registered with `at_close` (closing HTTP clients)
and stops. After a fork the child starts a loop of its own (`agentkit.models._clients` forgets the
parent's clients).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from ..exceptions import UserError

__all__ = ["at_close", "is_closing", "is_sync_loop", "run_sync"]

T = TypeVar("T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_thread: threading.Thread | None = None
_pid = 0
_cleanups: list[Callable[[], Awaitable[None]]] = []
_closing = False

CANCEL_WAIT = 5.0
"""Seconds an interrupted `run_sync` waits for the run to finish cancelling."""


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run `coroutine` on the background loop and wait for it; Ctrl-C (or any interruption) cancels it."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        coroutine.close()
        raise UserError(
            "run_sync() was called inside a running event loop; use `await agent.run(...)` there."
        )
    if _closing:
        coroutine.close()
        raise UserError("run_sync() was called while the interpreter is exiting.")
    # The caller waits on a plain lock, released on the loop when the run has truly ended (a cancelled one
    # included), not on a future: Ctrl-C landing inside a Condition's wait can leave it broken ("cannot
    # release un-acquired lock") instead of raising KeyboardInterrupt, and a cancelled future is done at once.
    # The outcome travels in `outcome`, so nothing else needs waking up.
    ended = threading.Lock()
    ended.acquire()
    outcome: list[Any] = []  # [value] or [value, error]
    tasks: list[asyncio.Task[None]] = []

    async def run() -> None:
        try:
            outcome.append(await coroutine)
        except BaseException as error:  # handed to the caller's thread, raised there
            outcome.extend((None, error))

    def start() -> None:
        task = loop.create_task(run())
        task.add_done_callback(lambda _: ended.release())  # also when cancelled before it started
        tasks.append(task)

    loop = _running_loop()
    loop.call_soon_threadsafe(start)
    try:
        ended.acquire()
    except BaseException:
        # interrupted: cancel the run and let the cancellation land before going on, so that what the
        # caller does next (closing a stream) does not meet a run still going
        loop.call_soon_threadsafe(lambda: [t.cancel() for t in tasks])
        ended.acquire(timeout=CANCEL_WAIT)
        raise
    if not outcome:  # pragma: no cover - cancelled before it started: only by the interruption above
        raise asyncio.CancelledError
    if len(outcome) == 2:
        error = outcome[1]
        raise error.with_traceback(error.__traceback__)
    value: T = outcome[0]
    return value


def is_sync_loop(loop: asyncio.AbstractEventLoop) -> bool:
    """Whether `loop` is the background loop of `run_sync`."""
    return loop is _loop


def is_closing() -> bool:
    """Whether the interpreter is exiting (the background loop is stopping or stopped)."""
    return _closing


def at_close(cleanup: Callable[[], Awaitable[None]]) -> None:
    """Run `cleanup` on the background loop before it stops at exit (call it from that loop)."""
    _cleanups.append(cleanup)


def _running_loop() -> asyncio.AbstractEventLoop:
    global _loop, _thread, _pid
    with _lock:
        if _loop is None or _pid != os.getpid() or _thread is None or not _thread.is_alive():
            _cleanups.clear()
            _loop = asyncio.new_event_loop()
            _pid = os.getpid()
            _thread = threading.Thread(target=_loop.run_forever, name="agentkit-sync", daemon=True)
            _thread.start()
        return _loop


@atexit.register
def _shutdown() -> None:
    global _closing
    _closing = True
    loop, thread = _loop, _thread
    if loop is None or thread is None or not thread.is_alive() or _pid != os.getpid():
        return
    future = asyncio.run_coroutine_threadsafe(_close(), loop)
    with contextlib.suppress(Exception):  # exiting anyway
        future.result(timeout=5)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=5)
    if not loop.is_running():
        loop.close()


async def _close() -> None:
    for cleanup in reversed(_cleanups):
        with contextlib.suppress(Exception):  # a failed close at exit must not stop the others
            await cleanup()
    _cleanups.clear()
    await asyncio.get_running_loop().shutdown_asyncgens()
