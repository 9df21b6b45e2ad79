"""Instructions that are functions of the `RunContext`, and `prepare_tools` choosing each request's tools;
on the wire through the real `AsyncOpenAI` client."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from loopback_support import model_at

from agentkit import Agent, RunContext, SystemMessage, Tool, UserError, UserMessage, tool
from agentkit.sessions import SQLiteSession
from agentkit.testing import LoopbackServer, ScriptedModel, tool_call_response

ran: list[str] = []


@tool
def weather(city: str) -> str:
    """The weather in a city.

    Args:
        city: The city.
    """
    ran.append(f"weather {city}")
    return f"{city}: sunny"


@tool
def delete_file(path: str) -> str:
    """Delete a file."""
    ran.append(f"delete {path}")
    return f"deleted {path}"


@pytest.fixture(autouse=True)
def _clear() -> None:
    ran.clear()


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as srv:
        yield srv


def system_text(body: dict[str, Any]) -> str | None:
    first = body["messages"][0]
    return first["content"] if first["role"] == "system" else None


@pytest.mark.parametrize("stream", [False, True])
def test_instructions_mix_text_and_functions_evaluated_once_per_run(
    server: LoopbackServer, stream: bool
) -> None:
    evaluated: list[str] = []

    def user_name(ctx: RunContext[str]) -> str:
        evaluated.append(ctx.deps)
        return f"The user is {ctx.deps}."

    async def today(ctx: RunContext[str]) -> str:
        return "Today is Monday."

    def nothing(ctx: RunContext[str]) -> None:
        return None

    server.add(tool_call_response("weather", {"city": "Oslo"}), "Sunny.")
    agent = Agent(
        model_at(server),
        deps_type=str,
        tools=[weather],
        instructions=["You are a weather assistant.", user_name, nothing, today],
    )
    if stream:
        list(agent.run_stream_sync("Weather?", deps="Ann"))
    else:
        agent.run_sync("Weather?", deps="Ann")
    expected = "You are a weather assistant.\n\nThe user is Ann.\n\nToday is Monday."
    assert [system_text(b) for b in server.bodies] == [expected, expected]
    assert evaluated == ["Ann"]  # once per run, not per request


def test_one_function_as_instructions_and_a_list_of_text() -> None:
    model = ScriptedModel(["a", "b"])
    Agent(model, instructions=lambda ctx: f"Model {ctx.model_name}.").run_sync("hi")
    Agent(model, instructions=["One.", "Two."]).run_sync("hi")
    assert [r.messages[0] for r in model.requests] == [
        SystemMessage(content="Model scripted."),
        SystemMessage(content="One.\n\nTwo."),
    ]


def test_dynamic_instructions_go_in_front_of_a_history_as_fixed_ones_do() -> None:
    model = ScriptedModel(["first", "second", "third"])
    agent = Agent(model, instructions=[lambda ctx: "Be kind."])
    first = agent.run_sync("hello")
    assert first.messages[0] == SystemMessage(content="Be kind.") and first.new_messages()[0].role == "system"
    history = first.messages[1:]  # no system message: the run puts it in front
    second = agent.run_sync("again", message_history=history)
    assert second.instructions_added and [m.role for m in second.new_messages()] == [
        "system",
        "user",
        "assistant",
    ]
    assert second.messages[0] == SystemMessage(content="Be kind.")
    third = agent.run_sync("once more", message_history=[SystemMessage(content="Kept."), *history])
    assert third.messages[0] == SystemMessage(content="Kept.") and not third.instructions_added


def test_dynamic_instructions_with_a_session_are_not_stored(tmp_path: Path) -> None:
    session = SQLiteSession(tmp_path / "s.db", "chat")
    model = ScriptedModel(["one", "two"])
    agent = Agent(model, instructions=lambda ctx: f"{len(ctx.messages)} messages so far.")
    agent.run_sync("hi", session=session)
    agent.run_sync("again", session=session)
    assert [m.role for m in session.load_sync()] == ["user", "assistant", "user", "assistant"]
    assert model.requests[0].messages[0] == SystemMessage(content="1 messages so far.")
    assert model.requests[1].messages[0] == SystemMessage(
        content="3 messages so far."
    )  # the session loaded first
    assert [m.role for m in model.requests[1].messages] == ["system", "user", "assistant", "user"]


def test_a_sub_agents_dynamic_instructions_see_the_callers_deps() -> None:
    helper_model = ScriptedModel(["helped"])
    helper = Agent(helper_model, name="helper", deps_type=str, instructions=lambda ctx: f"Help {ctx.deps}.")
    main = Agent(
        ScriptedModel([tool_call_response("helper", {"task": "x"}), "done"]), tools=[helper.as_tool()]
    )
    assert main.run_sync("go", deps="Bo").output == "done"
    assert helper_model.requests[0].messages[0] == SystemMessage(content="Help Bo.")


def test_instructions_of_the_wrong_kind_are_refused() -> None:
    with pytest.raises(UserError, match="instructions takes text, a function of the RunContext"):
        Agent(ScriptedModel([]), instructions=["ok", 5])  # type: ignore[list-item]
    agent = Agent(ScriptedModel(["x"]), instructions=lambda ctx: 42)  # type: ignore[arg-type,return-value]
    with pytest.raises(UserError, match="returned int: return text or None"):
        agent.run_sync("hi")


def test_empty_dynamic_instructions_add_no_system_message() -> None:
    model = ScriptedModel(["x"])
    Agent(model, instructions=[lambda ctx: ""]).run_sync("hi")
    assert model.requests[0].messages == [UserMessage(content="hi")]


@pytest.mark.parametrize("stream", [False, True])
def test_prepare_tools_filters_and_renames_per_step(server: LoopbackServer, stream: bool) -> None:
    steps: list[int] = []

    async def prepare(ctx: RunContext[None], tools: list[Tool[..., Any]]) -> list[Tool[..., Any]]:
        steps.append(ctx.run_step)
        if ctx.run_step == 1:  # the first request (run_step counts it): only the weather
            return [t for t in tools if t.name == "weather"]
        return [
            t.replace(name="remove", description="Remove a file for good.")
            for t in tools
            if t.name == "delete_file"
        ]

    server.add(
        tool_call_response("weather", {"city": "Oslo"}),
        tool_call_response("remove", {"path": "/tmp/x"}),
        "Done.",
    )
    agent = Agent(model_at(server), tools=[weather, delete_file], prepare_tools=prepare)
    if stream:
        list(agent.run_stream_sync("go"))
    else:
        agent.run_sync("go")
    offered = [
        [(t["function"]["name"], t["function"]["description"]) for t in b["tools"]] for b in server.bodies
    ]
    assert offered[0] == [("weather", "The weather in a city.")]
    assert offered[1] == offered[2] == [("remove", "Remove a file for good.")]
    assert ran == ["weather Oslo", "delete /tmp/x"]  # the renamed tool ran its own function
    assert steps == [1, 2, 3]
    tool_message = server.bodies[2]["messages"][-1]
    assert (tool_message["role"], tool_message["content"]) == ("tool", "deleted /tmp/x")


def test_a_call_of_a_tool_not_offered_this_step_is_an_unknown_tool() -> None:
    model = ScriptedModel([tool_call_response("delete_file", {"path": "/x"}), "ok"])
    agent = Agent(model, tools=[weather, delete_file], prepare_tools=lambda ctx, tools: tools[:1])
    result = agent.run_sync("go")
    assert ran == [] and "Unknown tool 'delete_file'" in result.messages[2].content  # type: ignore[union-attr]
    assert [t.name for t in model.requests[0].parameters.tools] == ["weather"]


@pytest.mark.parametrize(
    ("prepare", "message"),
    [
        (lambda ctx, tools: ["weather"], "prepare_tools returned a str: return Tool objects"),
        (lambda ctx, tools: [tools[0], tools[0]], "two tools named 'weather'"),
    ],
)
def test_prepare_tools_must_return_distinct_tools(prepare: Any, message: str) -> None:
    with pytest.raises(UserError, match=message):
        Agent(ScriptedModel(["x"]), tools=[weather], prepare_tools=prepare).run_sync("hi")


def test_prepare_tools_must_be_a_function_and_names_must_be_valid() -> None:
    with pytest.raises(UserError, match="prepare_tools must be a function"):
        Agent(ScriptedModel([]), prepare_tools=[weather])  # type: ignore[arg-type]
    with pytest.raises(UserError, match="not allowed"):
        weather.replace(name="has space")
    renamed = weather.replace(name="forecast")
    assert (renamed.name, renamed.definition.name, weather.name) == ("forecast", "forecast", "weather")
    assert json.loads(renamed.openai_tool_json())["function"]["name"] == "forecast"


def test_a_renamed_tool_waiting_for_approval_runs_when_the_run_continues() -> None:
    @tool(requires_approval=True)
    def send_mail(to: str) -> str:
        """Send an email."""
        ran.append(f"mail {to}")
        return f"sent to {to}"

    def rename(ctx: RunContext[None], tools: list[Tool[..., Any]]) -> list[Tool[..., Any]]:
        return [t.replace(name="mail") for t in tools]

    model = ScriptedModel([tool_call_response("mail", {"to": "ann@x.org"}), "Sent."])
    agent = Agent(model, tools=[send_mail], prepare_tools=rename)
    first = agent.run_sync("mail Ann")
    [waiting] = first.pending_approvals
    assert waiting.name == "mail" and ran == []
    second = agent.run_sync(None, message_history=first.messages, approvals={waiting.id: True})
    assert second.output == "Sent." and ran == ["mail ann@x.org"]
