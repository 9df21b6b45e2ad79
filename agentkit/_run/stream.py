"""`RunStream`: a run as it happens, what `Agent.run_stream()` returns."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic

from ..events import Event, OutputDelta, RunFinished
from ..exceptions import UserError
from ..result import OutputT

if TYPE_CHECKING:
    from ..messages import Message
    from ..result import RunResult
    from ..usage import Usage
    from .state import RunState

__all__ = ["RunStream"]


class RunStream(Generic[OutputT]):
    """The events of one run (`agentkit.events`), as an async iterator inside `async with`.

    ```python
    async with agent.run_stream("What's the weather in Oslo?") as stream:
        async for event in stream:
            if isinstance(event, TextDelta):
                print(event.text, end="", flush=True)
    print(stream.result.usage)
    ```
    Leaving the `async with` before the end (a `break`, an exception, a cancelled task) cancels the model
    request and any running async tools (a sync tool cannot be interrupted: it finishes in its worker
    thread and its result is dropped); `messages` then holds the transcript so far. An error of the run is
    raised from the iteration, carrying the transcript like `run()`'s.
    """

    def __init__(self, events: AsyncGenerator[Event, None], state: RunState) -> None:
        self._events = events
        self._state = state
        self._result: RunResult[OutputT] | None = None
        self._pending: asyncio.Task[Any] | None = None
        """The task waiting in `__anext__`, if any."""
        self.partial_output: OutputT | None = None
        """The structured answer validated as far as it has arrived (`None` until some of it validates)."""

    async def __aenter__(self) -> RunStream[OutputT]:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.aclose()

    def __aiter__(self) -> RunStream[OutputT]:
        return self

    async def __anext__(self) -> Event:
        self._pending = asyncio.current_task()
        try:
            event = await self._events.__anext__()
        finally:
            self._pending = None
        if isinstance(event, RunFinished):
            self._result = event.result
        elif isinstance(event, OutputDelta):
            self.partial_output = event.output
        return event

    async def aclose(self) -> None:
        """Stop the run (cancelling the request and running tools) unless it has ended; safe to call while
        another task waits for the next event (that task is cancelled first)."""
        pending = self._pending
        if pending is not None and pending is not asyncio.current_task():
            pending.cancel()
            await asyncio.wait({pending})
        await self._events.aclose()

    @property
    def is_finished(self) -> bool:
        """Whether the run ended with an answer."""
        return self._result is not None

    @property
    def result(self) -> RunResult[OutputT]:
        """The `RunResult`, once the iteration has reached `RunFinished`."""
        if self._result is None:
            raise UserError(
                "The run has not finished: iterate the stream to its end before reading `result`."
            )
        return self._result

    @property
    def messages(self) -> list[Message]:
        """The transcript so far (the whole one once finished; up to the stop when stopped early)."""
        return self._state.messages

    @property
    def usage(self) -> Usage:
        """Requests, tokens and cost so far."""
        return self._state.usage

    def __repr__(self) -> str:
        state: Any = "finished" if self._result is not None else f"{len(self.messages)} messages so far"
        return f"RunStream({state})"
