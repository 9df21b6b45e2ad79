"""Pacing: requests wait their turn under a provider's rate limits instead of collecting 429s.

Every request of the process to the same endpoint, API key and model goes through one `Pacer` (`pacer_for`):

```
OpenAIChatModel._post / _stream_data
  async with paced(client, pacer):     wait for one of the client's connections (`_gate`), then the pacer
                                       in a context variable for the SDK call
    SDK request, and each of its retries
      httpx2 "request" hook  ->  await pacer.acquire(cost)   wait for a slot (FIFO, across every run)
      httpx2 "response" hook ->  pacer.learn(headers, status) the limits the provider states, Retry-After
```

What a pacer knows:

- limits learned from response headers, 429s included: OpenRouter's `X-RateLimit-Limit` / `-Remaining` /
  `-Reset` (milliseconds since the epoch) and OpenAI's `x-ratelimit-{limit,remaining,reset}-requests` and
  `-tokens` (`"1s"`, `"6m0s"`). Each is a window: `remaining` more until `reset`, then `limit` again.
- `Retry-After` (seconds or an HTTP date) and `retry-after-ms`: nothing is sent before then. A 429 without
  either blocks for `DEFAULT_BACKOFF` seconds.
- explicit limits (`RateLimit`, for providers that send no headers): token buckets refilled continuously,
  holding one second's worth (at least one request).

Until a key's first response is seen, one request is in flight (a probe: it tells the limits before a burst
of concurrent runs collects 429s). After that, when nothing is known, a request costs a few dictionary
lookups. Waiters are served first come, first served, whatever event loop or thread they run on.

`set_process_share(fraction)` scales every limit of this process: `agentkit batch --engine ray` gives each of
its N workers 1/N of the limits, so the workers together stay within them.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import re
import threading
import time
import weakref
from collections import deque
from collections.abc import Mapping
from contextvars import ContextVar, Token
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ..exceptions import UserError
from ._gate import Gate, gate_for

__all__ = [
    "DEFAULT_BACKOFF",
    "Pacer",
    "RateLimit",
    "paced",
    "pacer_for",
    "parse_reset",
    "retry_after",
    "set_process_share",
]

DEFAULT_BACKOFF = 1.0
"""Seconds every request waits after a 429 that says neither when to retry nor when the limit resets."""
RESET_MARGIN = 0.1
"""Seconds past a window's stated reset before its budget is used again (clocks and rounding differ)."""
NEWS_WAIT = 1.0
"""Seconds a waiter that needs news (a response telling the window) waits before it checks again."""
_REMAINING = frozenset({"x-ratelimit-remaining", "x-ratelimit-remaining-requests"})
_SIGNALS = frozenset(
    {
        *_REMAINING,
        "x-ratelimit-limit",
        "x-ratelimit-limit-requests",
        "x-ratelimit-limit-tokens",
        "x-ratelimit-remaining-tokens",
        "retry-after",
        "retry-after-ms",
    }
)
"""Response headers that say something about the limits (names in lower case)."""
_STALE = 0.05
"""A reset this close to (or before) the last window's end is the same (or an older) window."""


@dataclass(frozen=True, kw_only=True)
class RateLimit:
    """Limits to keep to when the provider states none in its responses (requests and tokens per minute).

    `OpenAIChatModel(rate_limit=RateLimit(requests_per_minute=60))`, or the environment variables
    `AGENTKIT_REQUESTS_PER_MINUTE` and `AGENTKIT_TOKENS_PER_MINUTE`. Every run of the process that uses the same
    endpoint, key and model shares them; limits the provider states apply as well.
    """

    requests_per_minute: float | None = None
    """Requests per minute, spread evenly (a burst of at most one second's worth)."""
    tokens_per_minute: float | None = None
    """Tokens per minute: a request counts its size in bytes / 4 (its input tokens, estimated)."""

    def __post_init__(self) -> None:
        for name in ("requests_per_minute", "tokens_per_minute"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0
            ):
                raise UserError(f"RateLimit({name}={value!r}): give a number above 0, or None for no limit.")

    @classmethod
    def from_env(cls) -> RateLimit | None:
        """The limit `AGENTKIT_REQUESTS_PER_MINUTE` / `AGENTKIT_TOKENS_PER_MINUTE` set, or None."""
        values: dict[str, float] = {}
        for name in ("requests_per_minute", "tokens_per_minute"):
            variable = f"AGENTKIT_{name.upper()}"
            text = os.environ.get(variable, "").strip()
            if not text:
                continue
            try:
                values[name] = float(text)
            except ValueError:
                raise UserError(f"{variable}={text!r} is not a number: give e.g. {variable}=60.") from None
        return cls(**values) if values else None


# --- reading headers ---------------------------------------------------------------------------------------

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNIT = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def parse_reset(value: str | None, now: float) -> float | None:
    """When a window resets, as seconds since the epoch: from milliseconds or seconds since the epoch
    (OpenRouter), seconds from now (`"30"`), or a Go duration (OpenAI: `"1s"`, `"6m0s"`, `"20ms"`)."""
    if not value:
        return None
    text = value.strip()
    try:
        number = float(text)
    except ValueError:
        parts = _DURATION.findall(text)
        if not parts or "".join(n + u for n, u in parts) != text:
            return None
        return now + sum(float(n) * _UNIT[u] for n, u in parts)
    if number >= 1e12:
        return number / 1000
    return number if number >= 1e9 else now + number


def retry_after(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds to wait that `retry-after-ms` or `Retry-After` (seconds or an HTTP date) asks for."""
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        text = headers.get(name)
        if text is None:
            continue
        try:
            return max(0.0, float(text) * scale)
        except ValueError:
            pass
    text = headers.get("retry-after")
    if text:
        try:
            import email.utils  # an HTTP date: rare, and email loads a dozen modules

            return max(0.0, email.utils.parsedate_to_datetime(text).timestamp() - now)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    return None


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) and number >= 0 else None


# --- the limits ----------------------------------------------------------------------------------------------


class _Bucket:
    """An explicit limit: `rate` per second, holding up to `capacity`; a cost above it runs into debt."""

    def __init__(self, rate: float, capacity: float) -> None:
        self.rate = rate
        self.capacity = capacity
        self.level = capacity
        self.stamp = time.monotonic()

    def delay(self, now: float, cost: float) -> float:
        self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
        self.stamp = now
        need = min(cost, self.capacity)
        return 0.0 if self.level >= need else (need - self.level) / self.rate

    def take(self, cost: float) -> None:
        self.level -= cost


class _Window:
    """A learned limit: `left` more until `end` (monotonic seconds), then `limit` again."""

    def __init__(self) -> None:
        self.limit: float | None = None
        self.left: float | None = None
        self.end: float | None = None
        self.last_end = -math.inf

    def delay(self, now: float, cost: float, share: float, in_flight: int) -> float:
        if self.end is not None and now >= self.end + RESET_MARGIN:
            self._roll(share)
        elif self.end is None and in_flight == 0 and self.left is not None and self.left < cost:
            self._roll(share)  # no answer will say when the window ends: start a new one
        if self.left is None or self.left >= min(cost, (self.limit or cost) * share):
            return 0.0
        return math.inf if self.end is None else self.end + RESET_MARGIN - now

    def _roll(self, share: float) -> None:
        if self.end is not None:
            self.last_end = self.end
        self.end = None
        self.left = None if self.limit is None else self.limit * share

    def take(self, cost: float) -> None:
        if self.left is not None:
            self.left -= cost

    def learn(
        self, limit: float | None, remaining: float | None, end: float | None, share: float, others: int
    ) -> None:
        """What a response says: `remaining` when it was answered (`others` were sent and not answered yet)."""
        if limit is not None and limit > 0:
            self.limit = limit
        if remaining is None:
            return
        if end is not None:
            if end <= self.last_end + _STALE:
                return  # an answer from a window that is over
            if self.end is None or end > self.end + _STALE:
                self.end, self.left = end, None  # a new window
        budget = max(0.0, remaining * share - others)
        self.left = budget if self.left is None else min(self.left, budget)


@dataclass(eq=False)
class _Waiter:
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[None]
    cost: float
    granted: bool = False


_share = 1.0


def set_process_share(fraction: float) -> None:
    """Scale every limit of this process by `fraction` (a Ray worker's share of the batch's limits)."""
    global _share
    if not 0 < fraction <= 1:
        raise UserError(f"set_process_share({fraction!r}): give a fraction above 0 and at most 1.")
    _share = fraction
    with _registry_lock:
        for pacer in _pacers.values():
            pacer.configure(pacer.explicit)


class Pacer:
    """The limits of one endpoint, key and model, and the requests waiting for a slot under them."""

    def __init__(self, explicit: RateLimit | None = None) -> None:
        self._lock = threading.Lock()
        self._queue: deque[_Waiter] = deque()
        self._timer_at = math.inf
        self._timer_loop: asyncio.AbstractEventLoop | None = None
        """The loop the pending timer is armed on."""
        self.explicit: RateLimit | None = None
        self._requests: _Bucket | None = None
        self._tokens: _Bucket | None = None
        self._request_window = _Window()
        self._token_window = _Window()
        self._blocked_until = 0.0
        self.in_flight = 0
        """Requests sent whose response has not been seen."""
        self.seen = False
        """Whether a response was seen (before that, one request at a time: it tells the limits)."""
        self.statuses_429 = 0
        """429 responses seen (the SDK retries them)."""
        self.configure(explicit)

    def configure(self, explicit: RateLimit | None) -> None:
        """Use these explicit limits (None: none) from now on."""
        with self._lock:
            self.explicit = explicit
            rpm = explicit.requests_per_minute if explicit else None
            tpm = explicit.tokens_per_minute if explicit else None
            self._requests = _Bucket(rpm * _share / 60, max(1.0, rpm * _share / 60)) if rpm else None
            self._tokens = _Bucket(tpm * _share / 60, tpm * _share / 60) if tpm else None

    @property
    def counts_tokens(self) -> bool:
        """Whether a request's cost in tokens matters (a token limit is known)."""
        return self._tokens is not None or self._token_window.limit is not None

    # --- waiting ---------------------------------------------------------------------------------------------

    async def acquire(self, tokens: float = 0.0) -> None:
        """Wait for a slot for a request of about `tokens` tokens, and take it (counted in flight)."""
        loop = asyncio.get_running_loop()
        with self._lock:
            if not self._queue and self._delay(time.monotonic(), tokens) <= 0:
                self._take(tokens)
                return
            waiter = _Waiter(loop, loop.create_future(), tokens)
            self._queue.append(waiter)
            self._pump()
        try:
            await waiter.future
        except asyncio.CancelledError:
            with self._lock:
                if waiter.granted:  # granted as it was cancelled: the slot goes unused
                    self.in_flight -= 1
                elif waiter in self._queue:  # (a pump may have dropped it already)
                    self._queue.remove(waiter)
                self._pump()
            raise

    def _delay(self, now: float, tokens: float) -> float:
        if not self.seen and self.in_flight:
            return math.inf
        delay = self._blocked_until - now
        delay = max(delay, self._request_window.delay(now, 1.0, _share, self.in_flight))
        if tokens:
            delay = max(delay, self._token_window.delay(now, tokens, _share, self.in_flight))
        if self._requests is not None:
            delay = max(delay, self._requests.delay(now, 1.0))
        if self._tokens is not None and tokens:
            delay = max(delay, self._tokens.delay(now, tokens))
        return delay

    def _take(self, tokens: float) -> None:
        self.in_flight += 1
        self._request_window.take(1.0)
        if self._requests is not None:
            self._requests.take(1.0)
        if tokens:
            self._token_window.take(tokens)
            if self._tokens is not None:
                self._tokens.take(tokens)

    def _pump(self) -> None:
        """Grant the queue's head slots while it can go; else arrange to look again (the lock is held)."""
        while self._queue:
            head = self._queue[0]
            if head.future.done() or head.loop.is_closed():  # cancelled, or its loop is gone
                self._queue.popleft()
                continue
            now = time.monotonic()
            delay = self._delay(now, head.cost)
            if delay > 0:
                self._wake_at(head.loop, now + min(delay, NEWS_WAIT))
                return
            self._queue.popleft()
            self._take(head.cost)
            head.granted = True
            head.loop.call_soon_threadsafe(_grant, head.future)

    def _wake_at(self, loop: asyncio.AbstractEventLoop, when: float) -> None:
        timer_loop = self._timer_loop
        if (
            when >= self._timer_at - 0.001
            and self._timer_at > time.monotonic() - NEWS_WAIT
            and timer_loop is loop
            and not loop.is_closed()
        ):
            return  # this loop's timer already looks again by then
        # (a timer armed on another loop may never fire: that loop can close first, stranding this waiter)
        self._timer_at = when
        self._timer_loop = loop
        loop.call_soon_threadsafe(self._arm, loop, when)

    def _arm(self, loop: asyncio.AbstractEventLoop, when: float) -> None:
        loop.call_later(max(0.0, when - time.monotonic()), self._on_timer, when)

    def _on_timer(self, when: float) -> None:
        with self._lock:
            if self._timer_at <= when:
                self._timer_at = math.inf
            self._pump()

    # --- learning --------------------------------------------------------------------------------------------

    def finish(self, count: int) -> None:
        """`count` requests ended without a response seen (a connection error, a cancellation)."""
        if count:
            with self._lock:
                self.in_flight -= count
                self._pump()

    def learn(self, headers: Mapping[str, str], status: int) -> None:
        """A response was seen: what its headers say about the limits, and one request less in flight."""
        signals = status == 429 or not _SIGNALS.isdisjoint(headers.keys())
        with self._lock:
            self.in_flight -= 1
            first = not self.seen
            self.seen = True
            if signals:
                self._learn(headers, status)
            elif not first and not self._queue:
                return
            self._pump()

    def _learn(self, headers: Mapping[str, str], status: int) -> None:
        wall, now = time.time(), time.monotonic()
        others = self.in_flight
        for window, suffix in ((self._request_window, ""), (self._request_window, "-requests")):
            remaining = _number(headers.get(f"x-ratelimit-remaining{suffix}"))
            reset = parse_reset(headers.get(f"x-ratelimit-reset{suffix}"), wall)
            end = None if reset is None else now + reset - wall
            window.learn(_number(headers.get(f"x-ratelimit-limit{suffix}")), remaining, end, _share, others)
        remaining = _number(headers.get("x-ratelimit-remaining-tokens"))
        reset = parse_reset(headers.get("x-ratelimit-reset-tokens"), wall)
        self._token_window.learn(
            _number(headers.get("x-ratelimit-limit-tokens")),
            remaining,
            None if reset is None else now + reset - wall,
            _share,
            0,
        )
        delay = retry_after(headers, wall)
        if status == 429:
            self.statuses_429 += 1
            if delay is None and _REMAINING.isdisjoint(headers.keys()):
                delay = DEFAULT_BACKOFF
        if delay is not None:
            self._blocked_until = max(self._blocked_until, now + delay)


def _grant(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


# --- one pacer per endpoint, key and model ------------------------------------------------------------------

_pacers: dict[tuple[str, str, str], Pacer] = {}
_registry_lock = threading.Lock()


@lru_cache(maxsize=64)
def _digest(api_key: str | None) -> str:
    import hashlib

    return hashlib.sha256((api_key or "").encode()).hexdigest()[:16]


def pacer_for(base_url: str, api_key: str | None, model: str, explicit: RateLimit | None) -> Pacer:
    """The process's pacer for this endpoint, key and model (made on first use; explicit limits updated)."""
    key = (base_url, _digest(api_key), model)
    pacer = _pacers.get(key)
    if pacer is None:
        with _registry_lock:
            pacer = _pacers.setdefault(key, Pacer(explicit))
    if pacer.explicit != explicit and explicit is not None:
        pacer.configure(explicit)
    return pacer


def _forget_after_fork() -> None:
    _pacers.clear()  # the parent's waiters and locks are the parent's


if hasattr(os, "register_at_fork"):  # pragma: no branch - POSIX
    os.register_at_fork(after_in_child=_forget_after_fork)


# --- the seam: httpx2 event hooks on the SDK's client ----------------------------------------------------


class _Call:
    """One SDK call under a pacer: its requests still waiting for a response."""

    __slots__ = ("pacer", "pending")

    def __init__(self, pacer: Pacer) -> None:
        self.pacer = pacer
        self.pending = 0


_current: ContextVar[_Call | None] = ContextVar("agentkit_pacing", default=None)
_hooked: weakref.WeakSet[Any] = weakref.WeakSet()


async def _on_request(request: Any) -> None:
    call = _current.get()
    if call is None:
        return  # a request of someone else's on a shared client
    pacer = call.pacer
    if (
        call.pending
    ):  # the SDK tries again after an attempt that got no response (a timeout, a lost connection)
        pacer.finish(call.pending)
        call.pending = 0
    tokens = int(request.headers.get("content-length") or 0) / 4 if pacer.counts_tokens else 0.0
    await pacer.acquire(tokens)
    call.pending += 1


async def _on_response(response: Any) -> None:
    call = _current.get()
    if call is None or not call.pending:
        return
    call.pending -= 1
    call.pacer.learn(response.headers, response.status_code)


def _install_hooks(http: Any) -> None:
    """Add the pacing hooks to the SDK client's HTTP client."""
    hooks = http.event_hooks
    hooks.setdefault("request", []).append(_on_request)
    hooks.setdefault("response", []).append(_on_response)
    http.event_hooks = hooks
    _hooked.add(http)


class paced:
    """Pace the requests the SDK sends in this block (its retries included) with `pacer`, and wait first for
    one of the client's connections (`_gate`)."""

    __slots__ = ("call", "gate", "http", "token")

    def __init__(self, client: Any, pacer: Pacer) -> None:
        self.call = _Call(pacer)
        self.http = getattr(client, "_client", None)
        self.gate: Gate | None = None
        self.token: Token[_Call | None] | None = None

    async def __aenter__(self) -> None:
        http = self.http
        if http is not None:
            if http not in _hooked:
                _install_hooks(http)
            self.gate = gate_for(http)
            if self.gate is not None:
                await self.gate.acquire()
        self.token = _current.set(self.call)

    async def __aexit__(self, *exc: object) -> None:
        if self.token is not None:
            with contextlib.suppress(ValueError):  # a stream closed from another context
                _current.reset(self.token)
        if self.gate is not None:
            self.gate.release()
        self.call.pacer.finish(self.call.pending)
