"""`Agent.run_stream` end to end through the real `AsyncOpenAI` client and the OpenRouter-like loopback server.

The adapter's handling of each SSE quirk is in test_openai_stream.py; here the whole run: every event kind,
parallel calls, structured output, errors mid-stream with the transcript, leaving early, the sync twin, and
`run_sync` reusing one client on the default path.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import BaseModel

from agentkit import Agent, ModelAPIError, ModelUnavailableError, ToolMessage, tool
from agentkit.events import (
    Event,
    OutputDelta,
    RequestStarted,
    ResponseFinished,
    RunFinished,
    TextDelta,
    ToolCallDelta,
    ToolCallFinished,
    ToolCallStarted,
)
from agentkit.models import _clients
from agentkit.models.openai import OpenAIChatModel
from agentkit.testing import LoopbackServer, RawStream, StreamError, tool_call_response, tool_calls_response

MODEL = "google/gemini-2.0-flash-001"


@tool
def get_weather(city: str) -> str:
    """Current weather in a city.

    Args:
        city: City name.
    """
    return {"Oslo": "3°C, light snow", "Rome": "17°C, sunny"}.get(city, "unknown")


class Forecast(BaseModel):
    city: str
    summary: str
    high_c: int


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer(model=MODEL) as srv:
        yield srv


def agent_for(server: LoopbackServer, **options: object) -> Agent[None, object]:
    model = OpenAIChatModel(MODEL, base_url=server.base_url, api_key="test")
    return Agent(model, tools=[get_weather], **options)  # type: ignore[arg-type]


async def watch(agent: Agent[None, object], prompt: str) -> tuple[list[Event], object]:
    async with agent.run_stream(prompt) as stream:
        events = [event async for event in stream]
    await agent.model.aclose()
    return events, stream.result


async def test_every_event_kind_of_a_run_with_parallel_calls(server: LoopbackServer) -> None:
    server.add(
        tool_calls_response([("get_weather", {"city": "Oslo"}), ("get_weather", {"city": "Rome"})]),
        "Oslo has snow; Rome is sunny.",
    )
    events, result = await watch(agent_for(server), "Oslo or Rome?")
    kinds = [e.kind for e in events]
    assert kinds[0] == "request_started" and kinds[-1] == "run_finished"
    first_turn = events[: kinds.index("response_finished") + 1]
    deltas = [e for e in first_turn if isinstance(e, ToolCallDelta)]
    assert [d.index for d in deltas] == [0, 0, 1, 1]
    assert [d.name for d in deltas] == ["get_weather", None, "get_weather", None]
    assert "".join(d.arguments for d in deltas if d.index == 1) == '{"city": "Rome"}'
    started = [e for e in events if isinstance(e, ToolCallStarted)]
    assert [dict(e.arguments) for e in started] == [{"city": "Oslo"}, {"city": "Rome"}]
    finished = [e.message.content for e in events if isinstance(e, ToolCallFinished)]
    assert sorted(finished) == ["17°C, sunny", "3°C, light snow"]
    responses = [e.message for e in events if isinstance(e, ResponseFinished)]
    assert [r.model_name for r in responses] == [MODEL, MODEL]
    assert all(r.usage is not None and r.usage.cost_usd == 0.0000042 for r in responses)
    turns = [e.turn for e in events if isinstance(e, RequestStarted)]
    assert turns == [1, 2]
    last_turn = events[kinds.index("request_started", 1) :]
    text = "".join(e.text for e in last_turn if isinstance(e, TextDelta))
    assert text == "Oslo has snow; Rome is sunny." == getattr(result, "output", None)
    assert all(
        body["stream"] is True and body["stream_options"] == {"include_usage": True} for body in server.bodies
    )
    tool_messages = [m["content"] for m in server.bodies[1]["messages"] if m["role"] == "tool"]
    assert tool_messages == ["3°C, light snow", "17°C, sunny"]  # the model's order


async def test_structured_output_streams_partial_objects(server: LoopbackServer) -> None:
    server.add(
        tool_call_response("final_result", {"city": "Oslo", "summary": "light snow all day", "high_c": 3})
    )
    agent = Agent(OpenAIChatModel(MODEL, base_url=server.base_url, api_key="t"), output_type=Forecast)
    events, _ = await watch(agent, "Forecast for Oslo?")
    partials = [e.output for e in events if isinstance(e, OutputDelta)]
    assert partials and all(isinstance(p, Forecast) for p in partials)
    final = events[-1]
    assert isinstance(final, RunFinished)
    assert (
        final.result.output == Forecast(city="Oslo", summary="light snow all day", high_c=3) == partials[-1]
    )
    assert server.bodies[0]["tool_choice"] == "required"


async def test_an_error_mid_stream_raises_with_the_transcript(server: LoopbackServer) -> None:
    server.add(
        tool_call_response("get_weather", {"city": "Oslo"}),
        StreamError(content="Oslo is", code=502, message="Provider disconnected"),
    )
    agent = agent_for(server)
    seen: list[Event] = []

    async def run() -> None:
        async with agent.run_stream("Oslo?") as stream:
            async for event in stream:
                seen.append(event)

    with pytest.raises(ModelAPIError, match="Provider disconnected") as info:
        await run()
    await agent.model.aclose()
    assert info.value.status_code == 502
    assert [m.role for m in info.value.messages] == ["user", "assistant", "tool"]
    assert isinstance(info.value.messages[2], ToolMessage)
    assert [e.text for e in seen if isinstance(e, TextDelta)] == ["Oslo is"]
    assert len(server.requests) == 2  # text was shown already: not retried


async def test_a_retired_model_mid_stream_is_model_unavailable(server: LoopbackServer) -> None:
    server.add(StreamError(code="model_deprecated", message="This model is deprecated"))
    agent = agent_for(server)
    with pytest.raises(ModelUnavailableError) as info:
        await watch(agent, "hi")
    assert info.value.code == "model_deprecated" and info.value.messages[0].role == "user"


async def test_a_cut_stream_raises(server: LoopbackServer) -> None:
    server.add(RawStream(events=[server.chunk({"role": "assistant", "content": "Half an ans"})], cut=True))
    with pytest.raises(ModelAPIError, match="cut"):
        await watch(agent_for(server), "hi")


async def test_leaving_a_slow_stream_early_then_running_again(server: LoopbackServer) -> None:
    chunks: list[dict[str, object] | str] = [
        server.chunk({"role": "assistant", "content": f"word{i} "}) for i in range(50)
    ]
    server.add(RawStream(events=[*chunks, "data: [DONE]"], delay=0.05), "second run")
    agent = agent_for(server)
    async with agent.run_stream("talk") as stream:
        async for event in stream:
            if isinstance(event, TextDelta):
                break
    assert not stream.is_finished and [m.role for m in stream.messages] == ["user"]
    result = await agent.run("again")  # the client and its pool still work
    assert result.output == "second run"
    await agent.model.aclose()
    assert [t for t in asyncio.all_tasks() if t is not asyncio.current_task()] == []


def test_run_stream_sync_over_http(server: LoopbackServer) -> None:
    server.add(tool_call_response("get_weather", {"city": "Rome"}), "Sunny in Rome.")
    events = list(agent_for(server).run_stream_sync("Rome?"))
    final = events[-1]
    assert isinstance(final, RunFinished) and final.result.output == "Sunny in Rome."
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Sunny in Rome."


def test_run_sync_from_the_environment_reuses_one_client(
    server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTKIT_BASE_URL", server.base_url)
    monkeypatch.setenv("AGENTKIT_MODEL", MODEL)
    server.add("one", "two", "three")
    agent = Agent(tools=[get_weather])
    assert agent.run_sync("1").output == "one"
    assert agent.run_sync("2").output == "two"
    assert Agent(tools=[get_weather]).run_sync("3").output == "three"  # a new agent, configured alike
    assert len({r.client_port for r in server.requests}) == 1  # one connection served all three runs


async def test_agents_made_per_request_on_one_loop_share_one_client(server: LoopbackServer) -> None:
    server.add(*[f"answer {i}" for i in range(5)])
    for i in range(5):
        agent = Agent(OpenAIChatModel(MODEL, base_url=server.base_url, api_key="k"))
        assert (await agent.run(f"q{i}")).output == f"answer {i}"
    pool = _clients._pools[asyncio.get_running_loop()]
    assert len(pool.clients) == 1 and not pool.users
    assert len({r.client_port for r in server.requests}) == 1


async def test_a_client_pushed_out_of_the_pool_is_closed_only_once_idle(
    server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_clients, "MAX_CLIENTS", 1)
    words: list[dict[str, object] | str] = [server.chunk({"content": f"w{i} "}) for i in range(6)]
    server.add(RawStream(events=[*words, server.chunk({}, "stop"), "data: [DONE]"], delay=0.02), "other")
    slow = Agent(OpenAIChatModel(MODEL, base_url=server.base_url, api_key="one"))
    other = Agent(OpenAIChatModel(MODEL, base_url=server.base_url, api_key="two"))
    async with slow.run_stream("long") as stream:
        async for event in stream:
            if isinstance(event, TextDelta) and event.text == "w1 ":
                assert (await other.run("short")).output == "other"  # pushes the slow client out
    assert stream.result.output == "w0 w1 w2 w3 w4 w5 "
    pool = _clients._pools[asyncio.get_running_loop()]
    assert not pool.evicted and len(pool.clients) == 1
    await other.model.aclose()
    assert not pool.clients


def test_a_forked_child_starts_without_the_parents_clients() -> None:
    loop = asyncio.new_event_loop()
    try:
        _clients._pools[loop] = _clients._Pool(loop)
        _clients._forget_after_fork()
        assert loop not in _clients._pools
    finally:
        loop.close()


def test_nothing_is_left_open_at_exit(tmp_path: Path) -> None:
    """A script's run_sync and run_stream_sync leave no connection, task or loop behind at exit."""
    script = tmp_path / "script.py"
    script.write_text(
        "import atexit, os\n"
        "def check():  # registered first, so it runs after agentkit's own exit handler\n"
        "    from agentkit.models import _clients\n"
        "    print('open clients at exit:', sum(len(p.clients) + len(p.evicted) for p in _clients._pools.values()))\n"
        "atexit.register(check)\n"
        "from agentkit import Agent\n"
        "from agentkit.testing import LoopbackServer, tool_call_response\n"
        "def add(a: int, b: int) -> int:\n"
        "    '''Add.'''\n"
        "    return a + b\n"
        "server = LoopbackServer(model='google/gemini-2.0-flash-001').start()\n"
        "os.environ['AGENTKIT_BASE_URL'] = server.base_url\n"
        "os.environ['AGENTKIT_MODEL'] = 'google/gemini-2.0-flash-001'\n"
        "server.add(tool_call_response('add', {'a': 1, 'b': 2}), '3', 'streamed')\n"
        "agent = Agent(tools=[add])\n"
        "print(agent.run_sync('1+2').output)\n"
        "print(list(agent.run_stream_sync('again'))[-1].result.output)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTKIT_", "OPENROUTER_"))}
    done = subprocess.run(
        [sys.executable, "-X", "dev", "-W", "error::ResourceWarning", str(script)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["3", "streamed", "open clients at exit: 0"]
    for sign in ("ResourceWarning", "unclosed", "Exception ignored", "Task was destroyed", "Traceback"):
        assert sign not in done.stderr, done.stderr
