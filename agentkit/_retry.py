"""`@tool(retry=...)`: a tool call run again, after a pause, when its function raises an exception named in
its `RetryPolicy`, before the model sees an error.

`call_with_retry` is the one place a tool's function is called by a run (a plain run's `execute`, and a
durable run's tool step): each attempt is bounded by the tool's `timeout`, and the pause before retry `n`
(1, 2, ...) is `initial_delay * 2 ** (n - 1)`, at most `max_delay`, shortened at random by up to `jitter` of
itself (so that many runs failing together do not retry together). `ModelRetry` is never retried (it is a
message to the model), nor `UsageLimitExceeded` (the run's limits are spent). The attempt being made is
`RunContext.attempt`; the key a side effect should carry, the same over the attempts, is
`RunContext.idempotency_key`.
"""

from __future__ import annotations

import asyncio
import logging
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .exceptions import ModelRetry, UsageLimitExceeded, UserError

if TYPE_CHECKING:
    from .context import RunContext
    from .tool import Tool

__all__ = ["RetryPolicy", "RetrySpec", "backoff_delay", "call_with_retry", "retry_policy"]

logger = logging.getLogger("agentkit")

ExceptionTypes = tuple[type[Exception], ...]


@dataclass(kw_only=True, frozen=True)
class RetryPolicy:
    """When and how a tool call is run again (`@tool(retry=RetryPolicy(...))`) before the model sees its error.

    `@tool(retry=ConnectionError)` or `@tool(retry=(ConnectionError, TimeoutError))` is this policy with its
    defaults for the exceptions given.
    """

    exceptions: ExceptionTypes
    """The exceptions (and their subclasses) that make the call run again. Name `TimeoutError` to retry a
    call past the tool's `timeout` too. `ModelRetry` is never retried."""
    attempts: int = 3
    """Calls of the function at most, the first one included."""
    initial_delay: float = 0.5
    """Seconds to wait before the first retry; each later wait doubles, up to `max_delay`."""
    max_delay: float = 10.0
    """The longest wait between two attempts, in seconds."""
    jitter: float = 0.5
    """Each wait is shortened at random by up to this fraction of it (0 for exact waits, at most 1)."""

    def __post_init__(self) -> None:
        exceptions = self.exceptions
        if not isinstance(exceptions, tuple) or not exceptions:
            raise UserError(
                f"RetryPolicy(exceptions=...) takes a non-empty tuple of exception types, not {exceptions!r}."
            )
        for kind in exceptions:
            if not (isinstance(kind, type) and issubclass(kind, Exception)):
                raise UserError(
                    f"RetryPolicy(exceptions=...): {kind!r} is not an exception type (a subclass of Exception)."
                )
            if issubclass(kind, ModelRetry):
                raise UserError(
                    "RetryPolicy(exceptions=...) cannot name ModelRetry: it is a message to the model, "
                    "never retried by agentkit; raise it to let the model call the tool again."
                )
        # the tool's timeout raises `asyncio.TimeoutError`, the same class as `TimeoutError` from Python 3.11
        named = (*exceptions, *((asyncio.TimeoutError,) if TimeoutError in exceptions else ()))
        object.__setattr__(self, "exceptions", tuple(dict.fromkeys(named)))
        if self.attempts < 1:
            raise UserError(f"RetryPolicy(attempts=...) must be >= 1 (the first call), not {self.attempts}.")
        for option in ("initial_delay", "max_delay"):
            value = getattr(self, option)
            if not (value >= 0 and math.isfinite(value)):
                raise UserError(f"RetryPolicy({option}=...) must be a number of seconds >= 0, not {value}.")
        if not 0 <= self.jitter <= 1:
            raise UserError(f"RetryPolicy(jitter=...) must be between 0 and 1, not {self.jitter}.")


RetrySpec = RetryPolicy | type[Exception] | tuple[type[Exception], ...]
"""What `@tool(retry=...)` takes: a `RetryPolicy`, or the exception type(s) to retry with its defaults."""


def retry_policy(tool_name: str, retry: RetrySpec | None) -> RetryPolicy | None:
    """`@tool(retry=...)` as a `RetryPolicy` (`None`: no retries); bad input raises `UserError`."""
    if retry is None or isinstance(retry, RetryPolicy):
        return retry
    try:
        return RetryPolicy(exceptions=retry if isinstance(retry, tuple) else (retry,))
    except UserError as exc:
        raise UserError(f"Tool {tool_name!r}: retry={retry!r} is not usable: {exc}") from None


def backoff_delay(policy: RetryPolicy, retry: int, chance: float) -> float:
    """Seconds to wait before retry number `retry` (1 for the first), `chance` being a draw from [0, 1)."""
    delay: float = min(policy.max_delay, policy.initial_delay * 2.0 ** min(retry - 1, 64))
    return delay * (1 - policy.jitter * chance)


def _retryable(policy: RetryPolicy | None, error: Exception) -> bool:
    if policy is None or isinstance(error, (ModelRetry, UsageLimitExceeded)):
        return False
    return isinstance(error, policy.exceptions)


async def call_with_retry(tool: Tool[..., Any], arguments: dict[str, Any], ctx: RunContext[Any]) -> Any:
    """Call `tool`'s function, each attempt bounded by its `timeout`, again after the exceptions its `retry`
    policy names (waiting with `asyncio.sleep`, never blocking the event loop); `ctx.attempt` says which
    attempt runs. The last attempt's exception is raised."""
    policy = tool.retry
    attempts = 1 if policy is None else policy.attempts
    attempt = 1
    while True:
        ctx.attempt = attempt
        try:
            if tool.timeout is None:
                return await tool.call(arguments, ctx)
            return await asyncio.wait_for(tool.call(arguments, ctx), tool.timeout)
        except Exception as exc:
            if attempt == attempts or not _retryable(policy, exc):
                raise
            assert policy is not None
            import random  # only once a retry is due

            delay = backoff_delay(policy, attempt, random.random())
            logger.info(
                "tool %r raised %s (attempt %d of %d); retrying in %.2f s",
                tool.name,
                type(exc).__name__,
                attempt,
                attempts,
                delay,
            )
        await asyncio.sleep(delay)
        attempt += 1
