"""The run as events: `run_stream`, `run_stream_sync`, and `run()` built on the same loop (test doubles)."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import textwrap
from collections.abc import AsyncGenerator, Sequence
from pathlib import Path

import pytest
from pydantic import BaseModel

from agentkit import (
    Agent,
    AssistantMessage,
    Message,
    Model,
    ModelAPIError,
    ModelRequestParameters,
    ModelSettings,
    RunContext,
    ToolMessage,
    UserError,
    UserMessage,
    tool,
)
from agentkit.events import (
    Event,
    FeedbackSent,
    ModelStreamEvent,
    OutputDelta,
    RequestStarted,
    ResponseFinished,
    RunFinished,
    TextDelta,
    ToolCallDelta,
    ToolCallFinished,
    ToolCallStarted,
)
from agentkit.local.policy import GroundingCheck, RunPolicy
from agentkit.models.profiles import ModelProfile
from agentkit.testing import ScriptedModel, text_response, tool_call_response, tool_calls_response


@tool
def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


async def collect(agent: Agent[None, object], prompt: str, **options: object) -> list[Event]:
    async with agent.run_stream(prompt, **options) as stream:  # type: ignore[arg-type]
        return [event async for event in stream]


def kinds(events: Sequence[Event]) -> list[str]:
    return [e.kind for e in events]


async def test_a_two_turn_run_as_events() -> None:
    model = ScriptedModel([tool_call_response("add", {"a": 2, "b": 40}), "The sum is 42."], chunk_size=5)
    agent = Agent(model, tools=[add], name="adder")
    async with agent.run_stream("2 + 40?") as stream:
        events = [event async for event in stream]
    assert kinds(events) == [
        "request_started",
        *["tool_call_delta"] * 4,
        "response_finished",
        "tool_call_started",
        "tool_call_finished",
        "request_started",
        *["text_delta"] * 3,
        "response_finished",
        "run_finished",
    ]
    first = events[0]
    assert isinstance(first, RequestStarted) and (first.turn, first.model_name, first.agent_name) == (
        1,
        "scripted",
        "adder",
    )
    deltas = [e for e in events if isinstance(e, ToolCallDelta)]
    assert deltas[0].name == "add" and all(d.name is None for d in deltas[1:])
    assert "".join(d.arguments for d in deltas) == '{"a": 2, "b": 40}'
    started = next(e for e in events if isinstance(e, ToolCallStarted))
    assert started.arguments == {"a": 2, "b": 40} and started.call.name == "add"
    finished = next(e for e in events if isinstance(e, ToolCallFinished))
    assert finished.message.content == "42" and not finished.is_error and finished.duration_s >= 0
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert text == stream.result.output == "The sum is 42."
    assert isinstance(events[-1], RunFinished) and events[-1].result is stream.result
    assert stream.is_finished and stream.usage.requests == 2 and stream.usage.tool_calls == 1


async def test_run_and_run_stream_give_the_same_result() -> None:
    script = [tool_call_response("add", {"a": 1, "b": 2}), "3"]
    ran = await Agent(ScriptedModel(script), tools=[add]).run("1+2?")
    async with Agent(ScriptedModel(script), tools=[add]).run_stream("1+2?") as stream:
        async for _ in stream:
            pass
    assert stream.result.output == ran.output
    assert stream.result.messages == ran.messages
    assert stream.result.usage == ran.usage


async def test_calls_start_in_model_order_and_finish_as_they_end() -> None:
    @tool
    async def slow(name: str) -> str:
        """Slow."""
        await asyncio.sleep(0.05)
        return f"slow {name}"

    @tool
    async def fast(name: str) -> str:
        """Fast."""
        return f"fast {name}"

    calls = tool_calls_response([("slow", {"name": "a"}), ("fast", {"name": "b"})])
    events = await collect(Agent(ScriptedModel([calls, "done"]), tools=[slow, fast]), "go")
    started = [e.call.name for e in events if isinstance(e, ToolCallStarted)]
    finished = [e.message.name for e in events if isinstance(e, ToolCallFinished)]
    assert started == ["slow", "fast"] and finished == ["fast", "slow"]
    result = events[-1]
    assert isinstance(result, RunFinished)
    tool_messages = [m for m in result.result.messages if isinstance(m, ToolMessage)]
    assert [m.name for m in tool_messages] == ["slow", "fast"]  # the transcript keeps the model's order


async def test_calls_not_run_are_finished_without_starting() -> None:
    calls = tool_calls_response([("add", {"a": "x"}), ("nope", {}), ("add", {"a": 1, "b": 1})])
    events = await collect(Agent(ScriptedModel([calls, "ok"]), tools=[add]), "go")
    assert [e.call.id for e in events if isinstance(e, ToolCallStarted)] == ["call_3"]
    errors = [e.message.tool_call_id for e in events if isinstance(e, ToolCallFinished) and e.is_error]
    assert errors == ["call_1", "call_2"]
    result = events[-1]
    assert isinstance(result, RunFinished) and result.result.usage.tool_calls == 1  # executed calls only


class City(BaseModel):
    name: str
    population: int


async def test_structured_output_streams_partial_objects() -> None:
    answer = tool_call_response("final_result", {"name": "Oslo", "population": 709000})
    model = ScriptedModel([answer], chunk_size=6, profile=ModelProfile(structured_output="tool"))
    agent = Agent(model, output_type=City)
    async with agent.run_stream("Oslo?") as stream:
        partials = [e.output async for e in stream if isinstance(e, OutputDelta)]
    assert partials[0] == City.model_construct(name="Os") or isinstance(partials[0], City)
    assert all(isinstance(p, City) for p in partials)
    assert partials[-1] == City(name="Oslo", population=709000) == stream.result.output
    assert stream.partial_output == stream.result.output
    assert len(partials) >= 2


async def test_structured_output_as_json_text_streams_too() -> None:
    model = ScriptedModel(['{"name": "Bergen", "population": 285000}'], chunk_size=7)
    async with Agent(model, output_type=City).run_stream("Bergen?") as stream:
        partials = [e.output async for e in stream if isinstance(e, OutputDelta)]
    assert partials and partials[-1] == City(name="Bergen", population=285000) == stream.result.output


async def test_leaving_early_cancels_running_tools_and_keeps_the_transcript() -> None:
    cancelled = asyncio.Event()
    entered = asyncio.Event()

    @tool
    async def wait_forever() -> str:
        """Never returns."""
        entered.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return "never"  # pragma: no cover

    model = ScriptedModel([tool_call_response("wait_forever"), "unused"])
    async with Agent(model, tools=[wait_forever]).run_stream("go") as stream:
        async for event in stream:
            if isinstance(event, ToolCallStarted):
                await entered.wait()
                break
    assert cancelled.is_set()
    assert not stream.is_finished
    assert [m.role for m in stream.messages] == ["user", "assistant"]
    with pytest.raises(UserError, match="has not finished"):
        _ = stream.result
    pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    assert pending == []


class HangingModel(Model):
    """Streams one piece of text, then waits forever: leaving must cancel the request."""

    def __init__(self) -> None:
        self.closed = False

    @property
    def model_name(self) -> str:
        return "hanging"

    async def request(
        self, messages: Sequence[Message], parameters: ModelRequestParameters, settings: ModelSettings
    ) -> AssistantMessage:  # pragma: no cover - only streamed here
        raise NotImplementedError

    async def request_stream(
        self, messages: Sequence[Message], parameters: ModelRequestParameters, settings: ModelSettings
    ) -> AsyncGenerator[ModelStreamEvent, None]:
        try:
            yield TextDelta(text="Thinking")
            await asyncio.sleep(3600)
            yield ResponseFinished(message=AssistantMessage(content="never"))  # pragma: no cover
        finally:
            self.closed = True


async def test_leaving_during_the_model_stream_closes_the_request() -> None:
    model = HangingModel()
    async with Agent(model).run_stream("hi") as stream:
        async for event in stream:
            if isinstance(event, TextDelta):
                break
    assert model.closed


async def test_a_cancelled_consumer_task_closes_the_request() -> None:
    model = HangingModel()

    async def consume() -> None:
        async with Agent(model).run_stream("hi") as stream:
            async for _ in stream:
                pass

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert model.closed


async def test_an_error_mid_stream_carries_the_transcript() -> None:
    model = ScriptedModel(
        [tool_call_response("add", {"a": 1, "b": 1}), ModelAPIError("boom", status_code=502)]
    )
    seen: list[Event] = []

    async def watch() -> None:
        async with Agent(model, tools=[add]).run_stream("go") as stream:
            async for event in stream:
                seen.append(event)

    with pytest.raises(ModelAPIError, match="boom") as info:
        await watch()
    assert [m.role for m in info.value.messages] == ["user", "assistant", "tool"]
    assert info.value.usage is not None and (info.value.usage.requests, info.value.usage.tool_calls) == (1, 1)
    assert isinstance(seen[-1], RequestStarted) and seen[-1].turn == 2


async def test_an_empty_answer_is_answered_with_feedback() -> None:
    events = await collect(Agent(ScriptedModel([AssistantMessage(content=""), "fine"])), "go")
    feedback = [e for e in events if isinstance(e, FeedbackSent)]
    assert len(feedback) == 1 and feedback[0].reason == "empty_response" and feedback[0].message.feedback


async def test_a_questioned_answer_streams_as_provisional() -> None:
    checking = ModelProfile(policy=RunPolicy(checker=GroundingCheck))
    model = ScriptedModel(["It is 4242.", "It is 4242."], profile=checking)
    events = await collect(Agent(model, tools=[add]), "what is it?")
    texts = [e for e in events if isinstance(e, TextDelta)]
    assert texts and all(t.provisional for t in texts)
    reasons = [e.reason for e in events if isinstance(e, FeedbackSent)]
    assert reasons == ["answer_questioned"]
    plain = await collect(Agent(ScriptedModel(["It is 4242."]), tools=[add]), "what is it?")
    assert not any(e.provisional for e in plain if isinstance(e, TextDelta))


def test_run_stream_sync_yields_the_same_events() -> None:
    agent = Agent(ScriptedModel([tool_call_response("add", {"a": 1, "b": 2}), "3"]), tools=[add])
    events = list(agent.run_stream_sync("1+2?"))
    assert events[0].kind == "request_started" and isinstance(events[-1], RunFinished)
    assert events[-1].result.output == "3"


def test_run_stream_sync_closed_early_cancels_the_run() -> None:
    model = HangingModel()
    stream = Agent(model).run_stream_sync("hi")
    assert isinstance(next(stream), RequestStarted)
    assert isinstance(next(stream), TextDelta)
    stream.close()
    assert model.closed


async def test_a_model_without_streaming_streams_its_answer_in_one_piece() -> None:
    class Plain(Model):
        @property
        def model_name(self) -> str:
            return "plain"

        async def request(
            self, messages: Sequence[Message], parameters: ModelRequestParameters, settings: ModelSettings
        ) -> AssistantMessage:
            return text_response("whole")

    events = await collect(Agent(Plain()), "hi")
    assert kinds(events) == ["request_started", "text_delta", "response_finished", "run_finished"]


async def test_tools_see_the_agent_name_and_live_usage() -> None:
    seen: list[tuple[str | None, int]] = []

    @tool
    def probe(ctx: RunContext[None]) -> str:
        """Probe."""
        seen.append((ctx.agent_name, ctx.usage.requests))
        with pytest.raises(AttributeError):
            ctx.usage.requests = 0  # type: ignore[misc]
        return "ok"

    await Agent(ScriptedModel([tool_call_response("probe"), "done"]), tools=[probe], name="prober").run("go")
    assert seen == [("prober", 1)]


def test_run_sync_inside_a_running_loop_is_a_user_error() -> None:
    agent = Agent(ScriptedModel(["x"]))

    async def inside() -> None:
        with pytest.raises(UserError, match="inside a running event loop"):
            agent.run_sync("hi")

    asyncio.run(inside())


def test_double_chunk_size_must_be_positive() -> None:
    with pytest.raises(UserError, match="chunk_size"):
        ScriptedModel([], chunk_size=0)


def test_feedback_messages_are_marked() -> None:
    message = UserMessage(content="x", feedback=True)
    assert FeedbackSent(message=message, reason="invalid_output").kind == "feedback_sent"


def test_a_tool_error_is_logged_with_the_agent_name(caplog: pytest.LogCaptureFixture) -> None:
    @tool
    def boom() -> str:
        """Fails."""
        raise RuntimeError("broken")

    model = ScriptedModel([tool_call_response("boom"), "sorry"])
    with caplog.at_level("WARNING", logger="agentkit"):
        Agent(model, tools=[boom], name="worker").run_sync("go")
    assert "agent 'worker': tool 'boom' raised RuntimeError: broken" in caplog.text


def test_a_tool_raising_timeout_error_itself_is_an_ordinary_error() -> None:
    @tool
    async def fetch() -> str:
        """Fetch."""
        raise TimeoutError("upstream took too long")

    model = ScriptedModel([tool_call_response("fetch"), "gave up"])
    result = Agent(model, tools=[fetch]).run_sync("go")
    (message,) = model.requests[1].last_tool_messages
    assert message.is_error and message.content == "The tool raised TimeoutError: upstream took too long"
    assert result.output == "gave up"


def test_calls_the_same_once_validated_are_the_same_call() -> None:
    ran: list[int] = []

    @tool
    def mul(a: int, b: int) -> int:
        """Multiply."""
        ran.append(a)
        return a * b

    steering = ModelProfile(policy=RunPolicy(steer_repeated_calls=True))
    model = ScriptedModel(
        [
            tool_call_response("mul", {"a": 5000, "b": 3}),
            tool_call_response("mul", {"b": 3.0, "a": "5000"}),
            "15000",
        ],
        profile=steering,
    )
    Agent(model, tools=[mul]).run_sync("5000 * 3?")
    assert ran == [5000]
    assert "You already called mul" in model.requests[2].last_tool_messages[0].content
    assert model.requests[2].parameters.tool_choice == "none"  # asked for the answer now


def test_a_per_run_max_turns_of_zero_is_refused() -> None:
    with pytest.raises(UserError, match="max_turns must be at least 1"):
        Agent(ScriptedModel(["x"])).run_sync("hi", max_turns=0)


def test_ctrl_c_during_run_stream_sync_raises_keyboard_interrupt(tmp_path: Path) -> None:
    script = tmp_path / "interrupted.py"
    script.write_text(
        textwrap.dedent(
            """
            import asyncio, sys
            from agentkit import Agent, tool
            from agentkit.testing import ScriptedModel, tool_call_response

            @tool
            async def slow() -> str:
                '''Slow.'''
                await asyncio.sleep(30)
                return "late"

            agent = Agent(ScriptedModel([tool_call_response("slow"), "x"]), tools=[slow])
            try:
                for event in agent.run_stream_sync("go"):
                    if event.kind == "tool_call_started":
                        print("started", flush=True)
            except KeyboardInterrupt:
                print("interrupted", flush=True)
            """
        )
    )
    process = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "started"
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=20)
    assert out.strip() == "interrupted", err
    assert "RuntimeError" not in err
