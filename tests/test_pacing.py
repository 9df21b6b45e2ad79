"""Pacing: runs wait their turn under the limits the provider states (or explicit ones) instead of collecting
429s. Through the real `AsyncOpenAI` client and a mock transport that plays a rate-limited provider."""

from __future__ import annotations

import asyncio
import json
import math
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from email.utils import formatdate
from typing import Any

import httpx2
import openai
import pytest

from agentkit import Agent, ModelSettings, RateLimit, UserError, UserMessage
from agentkit.models import ModelRequestParameters, _gate
from agentkit.models import _pacing as pacing
from agentkit.models.openai import OpenAIChatModel
from agentkit.testing import LoopbackServer

MODEL = "google/gemini-2.0-flash-001"


def completion(body: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "c",
        "object": "chat.completion",
        "created": 0,
        "model": body["model"],
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
    }


class Provider:
    """A provider that allows `limit` requests per fixed `window` seconds and answers 429 past it, stating the
    limit in OpenRouter's headers (or OpenAI's with `style="openai"`, or none with `style=None`)."""

    def __init__(self, *, limit: int = 5, window: float = 0.3, style: str | None = "openrouter") -> None:
        self.limit, self.window, self.style = limit, window, style
        self.window_index = -1
        self.used = 0
        self.sent: list[tuple[float, int]] = []
        """(time.time(), status) per request."""
        self.bodies: list[dict[str, Any]] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self.latency = 0.005

    async def __call__(self, request: httpx2.Request) -> httpx2.Response:
        body = json.loads(request.content)
        now = time.time()
        index = math.floor(now / self.window)
        if index != self.window_index:
            self.window_index, self.used = index, 0
        allowed = self.used < self.limit
        self.used += allowed
        reset = (index + 1) * self.window
        headers = self.headers(max(0, self.limit - self.used), reset, now)
        self.sent.append((now, 200 if allowed else 429))
        self.bodies.append(body)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.latency)
        finally:
            self.in_flight -= 1
        if not allowed:
            error = {"error": {"code": 429, "message": "Rate limit exceeded"}}
            return httpx2.Response(429, json=error, headers={**headers, "retry-after": str(reset - now)})
        if body.get("stream"):
            chunk = {"id": "c", "model": body["model"], "choices": [{"index": 0, "delta": {"content": "ok"}}]}
            end = {
                "id": "c",
                "model": body["model"],
                "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
            }
            text = f"data: {json.dumps(chunk)}\n\ndata: {json.dumps(end)}\n\ndata: [DONE]\n\n"
            return httpx2.Response(200, text=text, headers={**headers, "content-type": "text/event-stream"})
        return httpx2.Response(200, json=completion(body), headers=headers)

    def headers(self, remaining: int, reset: float, now: float) -> dict[str, str]:
        if self.style == "openrouter":
            return {
                "X-RateLimit-Limit": str(self.limit),
                "X-RateLimit-Remaining": str(remaining),
                "X-RateLimit-Reset": str(int(reset * 1000)),
            }
        if self.style == "openai":
            return {
                "x-ratelimit-limit-requests": str(self.limit),
                "x-ratelimit-remaining-requests": str(remaining),
                "x-ratelimit-reset-requests": f"{int((reset - now) * 1000)}ms",
            }
        return {}

    @property
    def statuses(self) -> list[int]:
        return [status for _, status in self.sent]

    def per_window(self) -> dict[int, int]:
        counts: dict[int, int] = {}
        for when, status in self.sent:
            if status == 200:
                index = math.floor(when / self.window)
                counts[index] = counts.get(index, 0) + 1
        return counts


_ports = iter(range(20000, 30000))


def model_for(
    provider: Callable[[httpx2.Request], Awaitable[httpx2.Response]], **kwargs: Any
) -> OpenAIChatModel:
    """A model on an endpoint of its own (so a pacer of its own), through the real SDK and `provider`."""
    http = httpx2.AsyncClient(transport=httpx2.MockTransport(provider))
    client = openai.AsyncOpenAI(
        base_url=f"http://127.0.0.1:{next(_ports)}/v1", api_key="sk-test", http_client=http, max_retries=2
    )
    return OpenAIChatModel(MODEL, client=client, **kwargs)


async def ask(model: OpenAIChatModel, text: str = "hi") -> str:
    message = await model.request([UserMessage(content=text)], ModelRequestParameters(), ModelSettings())
    return message.content


@pytest.fixture(autouse=True)
def _fresh_share() -> Iterator[None]:
    yield
    pacing.set_process_share(1.0)


@pytest.mark.parametrize("style", ["openrouter", "openai"])
async def test_learned_limits_pace_concurrent_runs_without_429s(style: str) -> None:
    provider = Provider(limit=5, window=0.3, style=style)
    model = model_for(provider)
    answers = await asyncio.gather(*(ask(model, f"question {i}") for i in range(18)))
    assert answers == ["ok"] * 18
    assert provider.statuses.count(429) == 0
    assert max(provider.per_window().values()) <= 5
    assert sorted(m["messages"][0]["content"] for m in provider.bodies) == sorted(
        f"question {i}" for i in range(18)
    )


async def test_the_first_request_goes_alone_then_the_stated_budget_at_once() -> None:
    provider = Provider(limit=50, window=5.0)
    provider.latency = 0.02
    model = model_for(provider)
    await asyncio.gather(*(ask(model) for _ in range(12)))
    assert provider.statuses == [200] * 12
    (first, _), (second, _) = provider.sent[:2]
    assert second - first >= 0.015  # the probe alone, answered before anything else went
    assert provider.most_in_flight >= 6  # then the others together


async def test_without_headers_nothing_waits_after_the_first_answer() -> None:
    provider = Provider(style=None, limit=1000)
    provider.latency = 0.02
    model = model_for(provider)
    await asyncio.gather(*(ask(model) for _ in range(20)))
    assert provider.most_in_flight >= 10
    pacer = pacing.pacer_for(model.base_url, "sk-test", MODEL, None)
    assert pacer.in_flight == 0 and pacer.seen and not pacer.counts_tokens


async def test_a_429_blocks_every_run_until_retry_after() -> None:
    calls: list[float] = []

    async def provider(request: httpx2.Request) -> httpx2.Response:
        calls.append(time.monotonic())
        if len(calls) == 2:
            return httpx2.Response(
                429, json={"error": {"code": 429, "message": "slow down"}}, headers={"retry-after": "0.4"}
            )
        return httpx2.Response(200, json=completion(json.loads(request.content)))

    model = model_for(provider)
    await ask(model)  # the probe: no headers
    await asyncio.gather(*(ask(model) for _ in range(5)))
    assert len(calls) == 7
    blocked = calls[1]
    assert all(t - blocked >= 0.39 for t in calls[2:])  # nobody, the SDK's retry included, went early


async def test_a_429_without_a_time_backs_off_and_an_http_date_is_read() -> None:
    pacer = pacing.Pacer()
    pacer.in_flight = 1
    pacer.learn({}, 429)
    assert pacer._blocked_until - time.monotonic() == pytest.approx(pacing.DEFAULT_BACKOFF, abs=0.05)
    later = pacing.Pacer()
    later.in_flight = 1
    later.learn({"retry-after": formatdate(time.time() + 30, usegmt=True)}, 503)
    assert 28 < later._blocked_until - time.monotonic() <= 30.5
    assert pacer.statuses_429 == 1 and later.statuses_429 == 0


async def test_streamed_requests_are_paced_too() -> None:
    provider = Provider(limit=4, window=0.3)
    model = model_for(provider)

    async def stream() -> str:
        async with Agent(model=model).run_stream("hi") as run:
            async for _ in run:
                pass
        return str(run.result.output)

    assert await asyncio.gather(*(stream() for _ in range(10))) == ["ok"] * 10
    assert provider.statuses.count(429) == 0 and all(b["stream"] for b in provider.bodies)


async def test_explicit_requests_per_minute_spread_the_requests() -> None:
    provider = Provider(style=None, limit=1000)
    model = model_for(provider, rate_limit=RateLimit(requests_per_minute=1200))  # 20 per second
    start = time.monotonic()
    await asyncio.gather(*(ask(model) for _ in range(31)))
    elapsed = time.monotonic() - start
    assert 0.45 <= elapsed < 2.0  # a second's worth (20) at once, then 20 per second
    assert len(provider.sent) == 31


async def test_explicit_tokens_per_minute_count_the_request_size() -> None:
    provider = Provider(style=None, limit=1000)
    model = model_for(provider, rate_limit=RateLimit(tokens_per_minute=60 * 400))  # 400 tokens per second
    big = "x" * 1600  # about 400 tokens with the rest of the body
    start = time.monotonic()
    await asyncio.gather(*(ask(model, big) for _ in range(3)))
    assert time.monotonic() - start >= 0.9
    assert pacing.pacer_for(model.base_url, "sk-test", MODEL, None).counts_tokens


async def test_the_environment_sets_an_explicit_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTKIT_REQUESTS_PER_MINUTE", "90")
    monkeypatch.setenv("AGENTKIT_TOKENS_PER_MINUTE", "1e6")
    model = model_for(Provider(style=None))
    assert model._rate_limit == RateLimit(requests_per_minute=90, tokens_per_minute=1e6)
    monkeypatch.setenv("AGENTKIT_REQUESTS_PER_MINUTE", "lots")
    with pytest.raises(UserError, match="AGENTKIT_REQUESTS_PER_MINUTE='lots' is not a number"):
        RateLimit.from_env()


@pytest.mark.parametrize("value", [0, -1, True, "60", math.nan])
def test_a_bad_rate_limit_says_what_to_give(value: Any) -> None:
    with pytest.raises(UserError, match="give a number above 0"):
        RateLimit(requests_per_minute=value)


def test_set_process_share_checks_its_fraction() -> None:
    with pytest.raises(UserError, match="a fraction above 0"):
        pacing.set_process_share(0)


async def test_a_process_share_scales_learned_and_explicit_limits() -> None:
    provider = Provider(limit=8, window=0.3)
    model = model_for(provider, rate_limit=RateLimit(requests_per_minute=6000))
    pacer = pacing.pacer_for(model.base_url, "sk-test", MODEL, model._rate_limit)
    pacing.set_process_share(0.5)
    assert pacer._requests is not None and pacer._requests.rate == 50
    await asyncio.gather(*(ask(model) for _ in range(12)))
    assert max(provider.per_window().values()) <= 4  # half of 8: another worker has the other half
    assert provider.statuses.count(429) == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1733560000123", 1733560000.123),
        ("1733560000", 1733560000.0),
        ("30", 1030.0),
        ("1s", 1001.0),
        ("6m0s", 1360.0),
        ("1h2m3.5s", 4723.5),
        ("20ms", 1000.02),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_reset_values_in_every_form(text: str | None, expected: float | None) -> None:
    assert pacing.parse_reset(text, 1000.0) == (pytest.approx(expected) if expected is not None else None)


def test_retry_after_in_every_form() -> None:
    assert pacing.retry_after({"retry-after-ms": "250"}, 0.0) == 0.25
    assert pacing.retry_after({"retry-after": "2"}, 0.0) == 2.0
    assert pacing.retry_after({"retry-after": "not a date"}, 0.0) is None
    assert pacing.retry_after({}, 0.0) is None


def test_token_headers_limit_the_tokens_per_window() -> None:
    pacer = pacing.Pacer()
    pacer.in_flight = 1
    pacer.learn(
        {
            "x-ratelimit-limit-tokens": "1000",
            "x-ratelimit-remaining-tokens": "300",
            "x-ratelimit-reset-tokens": "2s",
        },
        200,
    )
    now = time.monotonic()
    assert pacer.counts_tokens
    assert pacer._delay(now, 200) == 0
    pacer._take(200)
    assert 1.9 < pacer._delay(now, 200) <= 2.0 + pacing.RESET_MARGIN


def test_a_stale_window_is_ignored() -> None:
    window = pacing._Window()
    window.learn(10, 4, 100.0, 1.0, 0)
    assert (window.left, window.end) == (4, 100.0)
    window.delay(100.0 + pacing.RESET_MARGIN, 1.0, 1.0, 0)  # rolls over
    assert (window.left, window.end, window.last_end) == (10, None, 100.0)
    window.learn(10, 0, 100.0, 1.0, 0)  # a late answer from the old window
    assert window.left == 10
    window.learn(10, 7, 110.0, 1.0, 2)  # the new window, 2 more of ours on the way
    assert (window.left, window.end) == (5, 110.0)


def test_a_window_with_no_answer_coming_starts_over() -> None:
    window = pacing._Window()
    window.limit, window.left = 3.0, 0.0
    assert window.delay(0.0, 1.0, 1.0, in_flight=1) == math.inf  # an answer will tell when
    assert window.delay(0.0, 1.0, 1.0, in_flight=0) == 0.0
    assert window.left == 3.0


async def test_waiters_are_served_in_order_and_a_cancelled_one_gives_way() -> None:
    pacer = pacing.Pacer(RateLimit(requests_per_minute=600))  # 10 per second, a burst of 10
    pacer.seen = True  # past the probe
    for _ in range(10):
        await pacer.acquire()
    order: list[int] = []

    async def wait(i: int) -> None:
        await pacer.acquire()
        order.append(i)

    tasks = [asyncio.create_task(wait(i)) for i in range(4)]
    await asyncio.sleep(0)
    tasks[1].cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert order == [0, 2, 3]
    assert pacer.in_flight == 13


async def test_waiters_on_other_event_loops_share_the_limit() -> None:
    pacer = pacing.Pacer(RateLimit(requests_per_minute=1200))  # 20 per second, a burst of 20
    pacer.seen = True  # past the probe
    stamps: list[float] = []
    lock = threading.Lock()

    def other_loop() -> None:
        async def main() -> None:
            for _ in range(10):
                await pacer.acquire()
                with lock:
                    stamps.append(time.monotonic())

        asyncio.run(main())

    thread = threading.Thread(target=other_loop)
    start = time.monotonic()
    thread.start()
    for _ in range(20):
        await pacer.acquire()
        with lock:
            stamps.append(time.monotonic())
    await asyncio.to_thread(thread.join)
    assert len(stamps) == 30
    assert max(stamps) - start >= 0.45  # 30 requests at 20 per second with a burst of 20


async def test_a_request_that_fails_without_an_answer_frees_its_slot() -> None:
    attempts = 0

    async def provider(request: httpx2.Request) -> httpx2.Response:
        nonlocal attempts
        attempts += 1
        raise httpx2.ConnectError("refused")

    model = model_for(provider)
    with pytest.raises(Exception, match="Could not connect"):
        await ask(model)
    pacer = pacing.pacer_for(model.base_url, "sk-test", MODEL, None)
    assert attempts == 3 and pacer.in_flight == 0 and not pacer.seen


async def test_requests_past_the_connection_pool_wait_in_agentkit() -> None:
    def slow(body: dict[str, Any]) -> str:
        time.sleep(0.15)
        return "ok"

    with LoopbackServer([slow] * 5) as server:
        http = httpx2.AsyncClient(limits=httpx2.Limits(max_connections=2))
        client = openai.AsyncOpenAI(base_url=server.base_url, api_key="sk-test", http_client=http)
        model = OpenAIChatModel(MODEL, client=client)
        tasks = [asyncio.create_task(ask(model, f"q{i}")) for i in range(6)]
        await asyncio.sleep(0.05)
        gate = _gate._gates[http]
        assert gate.free == 0 and len(gate.waiters) == 4  # 2 in the SDK, 4 not built yet
        tasks[5].cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert results[:5] == ["ok"] * 5 and isinstance(results[5], asyncio.CancelledError)
        assert gate.free == 2 and not gate.waiters
        assert sorted(b["messages"][0]["content"] for b in server.bodies) == [f"q{i}" for i in range(5)]
        await client.close()


async def test_a_gate_belongs_to_one_event_loop_and_passes_on_a_slot_given_as_it_was_cancelled() -> None:
    http = httpx2.AsyncClient(limits=httpx2.Limits(max_connections=1))
    gate = _gate.gate_for(http)
    assert gate is not None and _gate.gate_for(http) is gate
    assert await asyncio.to_thread(lambda: asyncio.run(_gate_elsewhere(http))) is None
    assert (
        _gate.gate_for(httpx2.AsyncClient(transport=httpx2.MockTransport(lambda r: httpx2.Response(200))))
        is None
    )
    await gate.acquire()
    waiting = asyncio.create_task(gate.acquire())
    await asyncio.sleep(0)
    gate.release()  # granted to `waiting`...
    waiting.cancel()  # ...which is cancelled before it runs: the slot goes back
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert gate.free == 1
    await http.aclose()


async def _gate_elsewhere(http: httpx2.AsyncClient) -> _gate.Gate | None:
    return _gate.gate_for(http)


async def test_a_pacer_slot_given_as_the_waiter_was_cancelled_is_not_counted() -> None:
    pacer = pacing.Pacer(RateLimit(requests_per_minute=60))  # one a second
    pacer.seen = True
    await pacer.acquire()
    waiting = asyncio.create_task(pacer.acquire())
    await asyncio.sleep(0)
    assert pacer._requests is not None and len(pacer._queue) == 1
    pacer._requests.level = 1.0
    with pacer._lock:
        pacer._pump()  # the slot is taken for the waiter, its wake-up on the way...
    waiting.cancel()  # ...when it is cancelled
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert pacer.in_flight == 1


def test_waiters_of_a_closed_loop_are_dropped_and_explicit_limits_follow_the_model() -> None:
    pacer = pacing.pacer_for("http://127.0.0.1:1/v1", "k", MODEL, RateLimit(requests_per_minute=60))
    assert pacing.pacer_for("http://127.0.0.1:1/v1", "k", MODEL, RateLimit(requests_per_minute=120)) is pacer
    assert pacer.explicit == RateLimit(requests_per_minute=120)
    loop = asyncio.new_event_loop()
    future: asyncio.Future[None] = loop.create_future()
    loop.close()
    with pacer._lock:
        pacer._queue.append(pacing._Waiter(loop, future, 0.0))
        pacer._pump()
    assert not pacer._queue


async def test_requests_of_others_on_the_same_client_are_left_alone() -> None:
    provider = Provider(limit=5, window=30.0)
    model = model_for(provider)
    assert await ask(model) == "ok"
    pacer = pacing.pacer_for(model.base_url, "sk-test", MODEL, None)
    left = pacer._request_window.left
    other = await model.client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "mine"}]
    )
    assert other.choices[0].message.content == "ok" and provider.statuses == [200, 200]
    assert pacer.in_flight == 0 and pacer._request_window.left == left  # neither waited for nor counted


def test_headers_that_are_not_numbers_are_ignored() -> None:
    pacer = pacing.Pacer()
    pacer.in_flight = 1
    pacer.learn({"x-ratelimit-limit": "many", "x-ratelimit-remaining": "-3"}, 200)
    assert pacer._request_window.limit is None and pacer._request_window.left is None


def test_a_timer_armed_on_a_loop_that_closed_does_not_strand_the_next_loops_waiter() -> None:
    pacer = pacing.Pacer(RateLimit(requests_per_minute=60))  # one request a second
    asyncio.run(pacer.acquire())  # the second's one request ...
    pacer.learn({}, 200)  # ... answered

    async def give_up() -> None:
        waiting = asyncio.ensure_future(pacer.acquire())
        await asyncio.sleep(0.05)  # a timer is armed on this loop for the next slot
        waiting.cancel()

    asyncio.run(give_up())  # ... and the loop closes before it fires
    started = time.monotonic()
    asyncio.run(asyncio.wait_for(pacer.acquire(), 5))  # another loop's waiter still gets the slot
    assert time.monotonic() - started < 3
