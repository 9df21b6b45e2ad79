"""`@tool(retry=...)`: a call that raised an exception its policy names runs again, after a pause that never
blocks the event loop, before the model sees an error; `ctx.attempt` and `ctx.idempotency_key` say which
attempt runs and what key its side effect carries."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from agentkit import Agent, ModelRetry, RetryPolicy, RunContext, UserError, tool
from agentkit._run.retry import backoff_delay
from agentkit.events import ToolCallFinished
from agentkit.models.openai import OpenAIChatModel
from agentkit.testing import LoopbackServer, ScriptedModel, tool_call_response, tool_calls_response

MODEL = "google/gemini-2.0-flash-001"
QUICK = {"initial_delay": 0.001, "max_delay": 0.001}


class Flaky:
    """A tool body that raises `error` on its first `failures` calls, recording each call's context."""

    def __init__(self, failures: int, error: Exception | None = None) -> None:
        self.failures = failures
        self.error = error or ConnectionError("connection reset")
        self.seen: list[tuple[int, str]] = []

    def __call__(self, ctx: RunContext[Any]) -> str:
        self.seen.append((ctx.attempt, ctx.idempotency_key))
        if len(self.seen) <= self.failures:
            raise self.error
        return f"charged once with key {ctx.idempotency_key}"


async def test_a_flaky_tool_is_retried_before_the_model_sees_an_error_through_the_openai_path() -> None:
    flaky = Flaky(failures=2)

    @tool(retry=RetryPolicy(exceptions=(ConnectionError,), **QUICK))
    def charge(ctx: RunContext[None], amount: int) -> str:
        """Charge an amount."""
        return flaky(ctx)

    script = [tool_call_response("charge", {"amount": 5}, id="call_charge"), "Charged."]
    with LoopbackServer(script, model=MODEL) as server:
        model = OpenAIChatModel(MODEL, base_url=server.base_url, api_key="test")
        async with Agent(model, tools=[charge]).run_stream("charge 5") as stream:
            events = [e async for e in stream]
        result = stream.result

    [(_, key), *later] = flaky.seen
    assert [attempt for attempt, _ in flaky.seen] == [1, 2, 3]
    assert all(k == key for _, k in later) and len(key) == 32  # the same key over the attempts
    sent = server.bodies[1]["messages"][-1]  # what the model is sent: the result, no error
    assert sent == {
        "role": "tool",
        "tool_call_id": "call_charge",
        "name": "charge",
        "content": f"charged once with key {key}",
    }
    [finished] = [e for e in events if isinstance(e, ToolCallFinished)]
    assert finished.attempts == 3 and not finished.is_error
    assert result.usage.tool_retries == 2 and result.usage.tool_calls == 1


async def test_the_last_attempts_error_goes_to_the_model_when_every_attempt_fails() -> None:
    flaky = Flaky(failures=10, error=TimeoutError("upstream timed out"))

    @tool(retry=RetryPolicy(exceptions=(ConnectionError, TimeoutError), attempts=4, **QUICK))
    def fetch(ctx: RunContext[None]) -> str:
        """Fetch."""
        return flaky(ctx)

    model = ScriptedModel([tool_call_response("fetch", {}), "gave up"])
    result = await Agent(model, tools=[fetch]).run("go")
    assert [a for a, _ in flaky.seen] == [1, 2, 3, 4]
    message = result.messages[2]
    assert message.is_error and message.content == "The tool raised TimeoutError: upstream timed out"  # type: ignore[union-attr]
    assert result.usage.tool_retries == 3


async def test_exceptions_not_named_and_model_retry_are_never_retried() -> None:
    other = Flaky(failures=1, error=ValueError("bad input"))
    asked = Flaky(failures=1, error=ModelRetry("ask the user for the amount"))

    @tool(retry=ConnectionError)
    def parse(ctx: RunContext[None]) -> str:
        """Parse."""
        return other(ctx)

    @tool(retry=RetryPolicy(exceptions=(Exception,), **QUICK))
    def ask(ctx: RunContext[None]) -> str:
        """Ask."""
        return asked(ctx)

    model = ScriptedModel([tool_calls_response([("parse", {}), ("ask", {})]), "ok"])
    result = await Agent(model, tools=[parse, ask], retries=3).run("go")
    assert len(other.seen) == len(asked.seen) == 1
    assert [m.content for m in result.messages if m.role == "tool"] == [
        "The tool raised ValueError: bad input",
        "ask the user for the amount",
    ]
    assert result.usage.tool_retries == 0


async def test_the_tools_timeout_is_retried_only_when_named() -> None:
    calls: list[int] = []

    async def slow_once() -> str:
        calls.append(1)
        if len(calls) == 1:
            await asyncio.sleep(5)
        return "fast now"

    named = tool(timeout=0.05, retry=RetryPolicy(exceptions=(TimeoutError,), **QUICK), name="named")(
        slow_once
    )
    model = ScriptedModel([tool_call_response("named", {}), "ok"])
    result = await Agent(model, tools=[named]).run("go")
    assert result.messages[2].content == "fast now" and len(calls) == 2

    calls.clear()
    unnamed = tool(timeout=0.05, retry=ConnectionError, name="unnamed")(slow_once)
    model = ScriptedModel([tool_call_response("unnamed", {}), "ok"])
    result = await Agent(model, tools=[unnamed]).run("go")
    assert result.messages[2].content == "The tool timed out after 0.05 seconds." and len(calls) == 1


async def test_the_wait_between_attempts_of_a_sync_tool_does_not_block_the_event_loop() -> None:
    failures = Flaky(failures=2)

    @tool(retry=RetryPolicy(exceptions=(ConnectionError,), initial_delay=0.1, jitter=0))
    def send(ctx: RunContext[None]) -> str:
        """Send."""
        assert ctx.attempt > 0
        return failures(ctx)

    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(tick())
    started = time.perf_counter()
    model = ScriptedModel([tool_call_response("send", {}), "sent"])
    result = await Agent(model, tools=[send]).run("go")
    elapsed = time.perf_counter() - started
    ticker.cancel()
    assert result.output == "sent" and result.usage.tool_retries == 2
    assert elapsed >= 0.1 + 0.2  # the two waits: 0.1 s, then doubled
    assert ticks >= 5  # the loop kept running during them


def test_backoff_doubles_up_to_the_max_and_jitter_shortens_it() -> None:
    policy = RetryPolicy(exceptions=(OSError,), initial_delay=0.5, max_delay=3.0, jitter=0.5)
    assert [backoff_delay(policy, n, 0.0) for n in (1, 2, 3, 4, 100)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert backoff_delay(policy, 2, 0.5) == 0.75  # shortened by a quarter (half of the jitter)
    exact = RetryPolicy(exceptions=(OSError,), jitter=0)
    assert backoff_delay(exact, 1, 0.99) == exact.initial_delay


def test_retry_options_are_normalised_and_default_to_none() -> None:
    @tool
    def plain() -> str:
        """Plain."""
        return ""

    @tool(retry=(ConnectionError, TimeoutError), idempotent=True)
    def both() -> str:
        """Both."""
        return ""

    assert (plain.retry, plain.idempotent) == (None, False)
    assert both.retry == RetryPolicy(exceptions=(ConnectionError, TimeoutError)) and both.idempotent
    assert tool(retry=OSError)(plain.function).retry == RetryPolicy(exceptions=(OSError,))
    from_schema = type(plain).from_schema(
        lambda: "", name="raw", description="", parameters={"type": "object"}, retry=OSError, idempotent=True
    )
    assert from_schema.retry == RetryPolicy(exceptions=(OSError,)) and from_schema.idempotent


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"exceptions": ()}, "non-empty tuple of exception types"),
        ({"exceptions": [OSError]}, "non-empty tuple of exception types"),
        ({"exceptions": ("OSError",)}, "'OSError' is not an exception type"),
        ({"exceptions": (KeyboardInterrupt,)}, "is not an exception type"),
        ({"exceptions": (ModelRetry,)}, "cannot name ModelRetry: it is a message to the model"),
        ({"exceptions": (OSError,), "attempts": 0}, r"attempts=\.\.\.\) must be >= 1"),
        ({"exceptions": (OSError,), "initial_delay": -1}, r"initial_delay=\.\.\.\) must be a number"),
        ({"exceptions": (OSError,), "max_delay": float("inf")}, r"max_delay=\.\.\.\) must be a number"),
        ({"exceptions": (OSError,), "jitter": 1.5}, "between 0 and 1"),
    ],
)
def test_bad_policies_are_refused(options: dict[str, Any], message: str) -> None:
    with pytest.raises(UserError, match=message):
        RetryPolicy(**options)


def test_a_bad_retry_option_names_the_tool() -> None:
    with pytest.raises(UserError, match=r"Tool 'parse': retry=\('x',\) is not usable: .*not an exception"):

        @tool(retry=("x",))  # type: ignore[arg-type]
        def parse() -> str:
            """Parse."""
            return ""


async def test_every_call_gets_its_own_key_and_a_new_run_new_keys() -> None:
    keys: list[str] = []

    @tool
    def note(ctx: RunContext[None], n: int) -> str:
        """Note."""
        keys.append(ctx.idempotency_key)
        return "ok"

    def script() -> list[Any]:
        return [tool_calls_response([("note", {"n": 1}), ("note", {"n": 2})]), "done"]

    agent = Agent(ScriptedModel(script()), tools=[note])
    await agent.run("go")
    await agent.run("go", model=ScriptedModel(script()))
    assert len(set(keys)) == 4


async def test_a_call_over_mcp_serve_uses_its_unique_call_id_as_its_key() -> None:
    pytest.importorskip("mcp")
    from mcp import Client

    from agentkit.mcp import mcp_server

    @tool
    def key_and_id(ctx: RunContext[None]) -> str:
        """This call's key and id."""
        return f"{ctx.idempotency_key} {ctx.tool_call_id}"

    async with Client(mcp_server([key_and_id])) as client:
        answers = [(await client.call_tool("key_and_id", {})).content[0].text for _ in range(2)]
    pairs = [a.split() for a in answers]
    assert all(key == call_id and key.startswith("mcp-") for key, call_id in pairs)
    assert pairs[0] != pairs[1]


async def test_a_tool_sees_the_retries_so_far_in_its_live_usage() -> None:
    flaky = Flaky(failures=1)

    @tool(retry=RetryPolicy(exceptions=(ConnectionError,), **QUICK))
    def connect(ctx: RunContext[None]) -> str:
        """Connect."""
        return flaky(ctx)

    @tool
    def report(ctx: RunContext[None]) -> str:
        """Report."""
        return f"{ctx.usage.tool_retries} retried, {ctx.usage.snapshot().tool_retries} in the snapshot"

    model = ScriptedModel([tool_call_response("connect", {}), tool_call_response("report", {}), "ok"])
    result = await Agent(model, tools=[connect, report]).run("go")
    assert result.messages[-2].content == "1 retried, 1 in the snapshot"


async def test_a_run_cancelled_during_a_wait_stops_at_once() -> None:
    flaky = Flaky(failures=10)

    @tool(retry=RetryPolicy(exceptions=(ConnectionError,), initial_delay=60, max_delay=60))
    async def connect(ctx: RunContext[None]) -> str:
        """Connect."""
        return flaky(ctx)

    model = ScriptedModel([tool_call_response("connect", {}), "never"])
    started = time.perf_counter()
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(Agent(model, tools=[connect]).run("go"), 0.2)
    assert time.perf_counter() - started < 5 and len(flaky.seen) == 1
