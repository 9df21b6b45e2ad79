from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from agentkit import Agent, RunContext, Tool, UserError, tool
from agentkit.testing import ScriptedModel, tool_call_response
from agentkit.toolsets import FunctionToolset, Toolset


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@tool
def shout(text: str) -> str:
    """Shout the text."""
    return text.upper()


class CountingToolset(Toolset):
    """Supplies a list of tools that tests change between runs, and counts its lifecycle calls."""

    def __init__(self, tools: Sequence[Tool[..., Any]]) -> None:
        self.tools = list(tools)
        self.starts = 0
        self.stops = 0
        self.asked: list[RunContext[Any]] = []

    async def start(self) -> None:
        self.starts += 1

    async def stop(self) -> None:
        self.stops += 1

    async def get_tools(self, ctx: RunContext[Any]) -> Sequence[Tool[..., Any]]:
        assert self.is_running
        self.asked.append(ctx)
        return self.tools


def test_toolset_tools_join_the_agents_and_run() -> None:
    toolset = CountingToolset([shout])
    model = ScriptedModel([tool_call_response("shout", {"text": "hi"}), "HI"])
    agent = Agent(model, tools=[add], toolsets=[toolset], deps_type=str)
    result = agent.run_sync("shout hi", deps="d")
    assert result.output == "HI"
    assert [t.name for t in model.requests[0].parameters.tools] == ["add", "shout"]
    assert result.messages[3].content == "HI"
    assert (toolset.starts, toolset.stops) == (1, 1)
    assert toolset.asked[0].deps == "d"
    assert not toolset.is_running


def test_tools_are_resolved_again_for_each_run() -> None:
    toolset = CountingToolset([shout])
    model = ScriptedModel(["one", "two"])
    agent = Agent(model, toolsets=[toolset])
    agent.run_sync("a")
    toolset.tools = [add]
    agent.run_sync("b")
    assert [[t.name for t in r.parameters.tools] for r in model.requests] == [["shout"], ["add"]]
    assert (toolset.starts, toolset.stops) == (2, 2)


async def test_async_with_agent_starts_toolsets_once_for_many_runs() -> None:
    toolset = CountingToolset([shout])
    agent = Agent(ScriptedModel(["one", "two"]), toolsets=[toolset])
    async with agent:
        assert toolset.is_running
        await agent.run("a")
        await agent.run("b")
        assert (toolset.starts, toolset.stops) == (1, 0)
    assert (toolset.starts, toolset.stops) == (1, 1)


async def test_toolset_is_stopped_when_the_run_fails() -> None:
    toolset = CountingToolset([shout])
    agent = Agent(ScriptedModel([RuntimeError("boom")]), toolsets=[toolset])
    with pytest.raises(RuntimeError, match="boom"):
        await agent.run("a")
    assert (toolset.starts, toolset.stops) == (1, 1)


async def test_stream_stopped_early_stops_the_toolset() -> None:
    toolset = CountingToolset([shout])
    agent = Agent(ScriptedModel(["a long answer"]), toolsets=[toolset])
    async with agent.run_stream("a") as stream:
        async for _ in stream:
            break
    assert (toolset.starts, toolset.stops) == (1, 1)


def test_a_name_clash_says_to_use_a_prefix() -> None:
    agent = Agent(ScriptedModel(["x"]), tools=[add], toolsets=[FunctionToolset([add])])
    with pytest.raises(UserError, match=r"named 'add'.*prefix"):
        agent.run_sync("a")


def test_function_toolset_takes_plain_functions() -> None:
    def double(x: int) -> int:
        """Double x."""
        return 2 * x

    toolset = FunctionToolset([double])
    model = ScriptedModel([tool_call_response("double", {"x": 4}), "8"])
    assert Agent(model, toolsets=[toolset]).run_sync("double 4").messages[-2].content == "8"
    assert repr(toolset) == "FunctionToolset(['double'])"


def test_toolsets_must_be_toolsets() -> None:
    with pytest.raises(UserError, match="Toolset instances"):
        Agent(ScriptedModel([]), toolsets=[add])  # type: ignore[list-item]


async def test_nested_async_with_agent_stops_the_toolset_after_the_last_exit() -> None:
    toolset = CountingToolset([shout])
    agent = Agent(ScriptedModel(["one"]), toolsets=[toolset])
    async with agent:
        async with agent:
            assert toolset.is_running
        assert toolset.is_running and toolset.stops == 0
        await agent.run("a")
    assert (toolset.starts, toolset.stops) == (1, 1) and not toolset.is_running
