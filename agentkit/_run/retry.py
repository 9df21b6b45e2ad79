"""`@tool(retry=...)`: a tool call run again, after a pause, when its function raises an exception named in
its `RetryPolicy` (`agentkit.tool`: the tool's option), before the model sees an error.

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
from typing import TYPE_CHECKING, Any

from ..exceptions import ModelRetry, UsageLimitExceeded
from ..tool import RetryPolicy

if TYPE_CHECKING:
    from ..context import RunContext
    from ..tool import Tool

__all__ = ["backoff_delay", "call_with_retry"]

logger = logging.getLogger("agentkit")


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
