"""User functions other than hooks that raise (an instructions function, `prepare_tools`, a history
processor): the run fails with `HookError` naming the function, carrying the transcript and the usage, and
stores in the session only what it would store for any failed request."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agentkit import Agent, HookError, InputGuardrail, RunContext, Tool, UserError
from agentkit.messages import Message
from agentkit.sessions import SQLiteSession
from agentkit.testing import ScriptedModel


def persona(ctx: RunContext[Any]) -> str:
    raise LookupError("no persona for this user")


def narrow(ctx: RunContext[Any], tools: list[Tool[..., Any]]) -> list[Tool[..., Any]]:
    raise PermissionError("tool registry offline")


def trim(messages: list[Message]) -> list[Message]:
    raise ValueError("cannot trim")


async def _run(agent: Agent[Any, Any], prompt: str | None, *, stream: bool, **options: Any) -> None:
    if not stream:
        await agent.run(prompt, **options)
        return
    async with agent.run_stream(prompt, **options) as run:
        async for _ in run:
            pass


async def _failed(agent: Agent[Any, Any], prompt: str | None, *, stream: bool, **options: Any) -> HookError:
    with pytest.raises(HookError) as info:
        await _run(agent, prompt, stream=stream, **options)
    return info.value


CASES = [
    ({"instructions": ["Be brief.", persona]}, "instructions function 'persona'", LookupError, 0),
    ({"prepare_tools": narrow}, "prepare_tools 'narrow'", PermissionError, 0),
    ({"history_processors": [trim]}, "history processor 'trim'", ValueError, 0),
]


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize(("options", "where", "cause", "requests"), CASES)
async def test_a_user_function_that_raises_fails_the_run_with_its_transcript(
    options: dict[str, Any], where: str, cause: type[Exception], requests: int, stream: bool
) -> None:
    model = ScriptedModel(["hi"])
    error = await _failed(Agent(model, **options), "hello", stream=stream)
    assert error.hook == where and error.guardrail is None
    assert isinstance(error.__cause__, cause)
    assert str(error) == f"{where} raised {cause.__name__}: {error.__cause__}"
    assert [m.role for m in error.messages if m.role != "system"] == ["user"]
    assert error.usage is not None and error.usage.requests == requests == len(model.requests)


async def test_a_later_step_s_failure_keeps_the_answers_paid_for() -> None:
    calls = 0

    def second_time(messages: list[Message]) -> list[Message]:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("second request")
        return messages

    from agentkit import tool
    from agentkit.testing import tool_call_response

    @tool
    def ping() -> str:
        """Ping."""
        return "pong"

    model = ScriptedModel([tool_call_response("ping", {}), "done"])
    error = await _failed(Agent(model, tools=[ping], history_processors=[second_time]), "go", stream=False)
    assert error.hook == "history processor 'second_time'"
    assert [m.role for m in error.messages] == ["user", "assistant", "tool"]
    assert error.usage is not None and error.usage.requests == 1


@pytest.mark.parametrize(
    "options",
    [
        {"instructions": lambda ctx: (_ for _ in ()).throw(UserError("fix the persona"))},
        {"prepare_tools": lambda ctx, tools: (_ for _ in ()).throw(UserError("fix the persona"))},
        {"history_processors": [lambda messages: (_ for _ in ()).throw(UserError("fix the persona"))]},
    ],
)
async def test_agentkit_s_own_errors_pass_through(options: dict[str, Any]) -> None:
    with pytest.raises(UserError, match="fix the persona") as info:
        await Agent(ScriptedModel(["hi"]), **options).run("hello")
    assert not isinstance(info.value, HookError)


@pytest.mark.parametrize("stream", [False, True])
async def test_a_run_whose_instructions_failed_stores_nothing(tmp_path: Path, stream: bool) -> None:
    """The instructions are set up before the prompt is stored: a failure there stores nothing; a failure of
    `prepare_tools` (before each request) stores the prompt, as any failed request does."""
    session = SQLiteSession(tmp_path / "chat.db", "c")
    await _failed(Agent(ScriptedModel(["hi"]), instructions=persona), "hello", stream=stream, session=session)
    assert await session.load() == []
    await _failed(Agent(ScriptedModel(["hi"]), prepare_tools=narrow), "again", stream=stream, session=session)
    assert [m.content for m in await session.load()] == ["again"]


@pytest.mark.parametrize("stream", [False, True])
async def test_a_processor_failure_stores_only_a_prompt_the_input_guardrails_cleared(
    tmp_path: Path, stream: bool
) -> None:
    def allow(ctx: RunContext[Any], text: str) -> None:
        return None

    session = SQLiteSession(tmp_path / "chat.db", "c")
    checked = Agent(ScriptedModel(["hi"]), history_processors=[trim], hooks=[InputGuardrail(allow)])
    await _failed(checked, "my password is hunter2", stream=stream, session=session)
    assert await session.load() == []  # the concurrent guardrail had not cleared it
    plain = Agent(ScriptedModel(["hi"]), history_processors=[trim])
    await _failed(plain, "hello", stream=stream, session=session)
    assert [m.content for m in await session.load()] == ["hello"]  # as for any failed request


async def test_prepare_tools_that_raises_as_a_run_continues_fails_it_with_the_history(tmp_path: Path) -> None:
    from agentkit import tool
    from agentkit.testing import tool_call_response

    @tool(requires_approval=True)
    def send_mail(to: str) -> str:
        """Send an email."""
        return f"sent to {to}"

    steps: list[int] = []

    def offline_after_the_first(ctx: RunContext[Any], tools: list[Tool[..., Any]]) -> list[Tool[..., Any]]:
        steps.append(ctx.run_step)
        if ctx.run_step == 0:
            raise ConnectionError("tool registry offline")
        return tools

    session = SQLiteSession(tmp_path / "chat.db", "c")
    model = ScriptedModel([tool_call_response("send_mail", {"to": "ann@x.org"}), "Sent."])
    agent = Agent(model, tools=[send_mail], prepare_tools=offline_after_the_first)
    first = await agent.run("mail Ann", session=session)
    [waiting] = first.pending_approvals
    stored = await session.load()
    error = await _failed(agent, None, stream=False, session=session, approvals={waiting.id: True})
    assert steps == [1, 0] and error.hook == "prepare_tools 'offline_after_the_first'"
    assert error.messages == stored and error.usage is not None and error.usage.requests == 0
    assert await session.load() == stored
