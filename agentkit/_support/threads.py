"""The worker threads that run sync tools, so that a turn's calls really run side by side."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

__all__ = ["MAX_TOOL_THREADS", "run_in_thread"]

T = TypeVar("T")

MAX_TOOL_THREADS = 64
"""Sync tool calls running at once in one process (asyncio's default pool has only cores + 4)."""

_executor: ThreadPoolExecutor | None = None
_lock = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    global _executor
    if _executor is None:
        with _lock:
            if _executor is None:
                _executor = ThreadPoolExecutor(
                    max_workers=MAX_TOOL_THREADS, thread_name_prefix="agentkit-tool"
                )
    return _executor


async def run_in_thread(function: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Run a sync function in agentkit's tool pool, with the caller's context variables."""
    context = contextvars.copy_context()
    call = functools.partial(context.run, function, *args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(_pool(), call)
