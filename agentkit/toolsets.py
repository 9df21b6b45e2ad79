"""Toolsets: tools supplied per run (an MCP server's, say), resolved when each run starts.

```python
agent = Agent(tools=[add], toolsets=[MCPServerStdio("uvx", ["mcp-server-time"], prefix="time")])
```
A run enters each of its agent's toolsets (`start()` on the first entry), asks each for its tools
(`get_tools`), runs with those beside the agent's own `tools`, and leaves them (`stop()` after the last
exit). `async with agent:` enters them once for many runs, so a server stays up between runs. Tools may
come and go between runs: each run asks again.

Write your own by subclassing `Toolset` and implementing `get_tools` (and `start` / `stop` when it holds a
connection). Entries are counted, so concurrent runs share one started toolset.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from .tool import Tool

if TYPE_CHECKING:
    from .context import RunContext

__all__ = ["FunctionToolset", "Toolset"]


class Toolset(ABC):
    """Something that supplies tools for a run, with an async start/stop lifecycle."""

    _entries: int = 0
    _lock: asyncio.Lock | None = None

    @property
    def name(self) -> str:
        """How logs and errors name this toolset."""
        return type(self).__name__

    async def start(self) -> None:
        """Open what the tools need (a process, a connection). Called on the first entry."""
        return None

    async def stop(self) -> None:
        """Close what `start()` opened. Called after the last exit."""
        return None

    @abstractmethod
    async def get_tools(self, ctx: RunContext[Any]) -> Sequence[Tool[..., Any]]:
        """The tools for the run `ctx` describes (asked once per run, after `start()`)."""

    async def __aenter__(self) -> Toolset:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._entries == 0:
                await self.start()
            self._entries += 1
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        assert self._lock is not None, "__aexit__ without __aenter__"
        async with self._lock:
            self._entries -= 1
            if self._entries == 0:
                await self.stop()

    @property
    def is_running(self) -> bool:
        """Whether the toolset is entered (started and not yet stopped)."""
        return self._entries > 0


class FunctionToolset(Toolset):
    """A fixed list of tools (or plain functions) as a toolset: to group tools, or to share them between
    agents."""

    def __init__(self, tools: Sequence[Tool[..., Any] | Callable[..., Any]]) -> None:
        self.tools: list[Tool[..., Any]] = [t if isinstance(t, Tool) else Tool(t) for t in tools]

    async def get_tools(self, ctx: RunContext[Any]) -> Sequence[Tool[..., Any]]:
        return self.tools

    def __repr__(self) -> str:
        return f"FunctionToolset({[t.name for t in self.tools]})"
