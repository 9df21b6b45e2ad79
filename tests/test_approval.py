from __future__ import annotations

import dataclasses
import json
import threading
from typing import Any

import pytest

from agentkit import (
    Agent,
    ToolCall,
    ToolMessage,
    UserError,
    messages_from_json,
    tool,
)
from agentkit.events import ApprovalRequired, ToolCallFinished, ToolCallStarted
from agentkit.testing import ScriptedModel, tool_call_response, tool_calls_response

sent: list[str] = []


@tool(requires_approval=True)
def send_mail(to: str, body: str) -> str:
    """Send an email.

    Args:
        to: The address.
        body: The text.
    """
    sent.append(to)
    return f"sent to {to}"


@tool
def lookup(name: str) -> str:
    """Look up a person's address."""
    return f"{name.lower()}@example.com"


@pytest.fixture(autouse=True)
def _clear() -> None:
    sent.clear()


def mail_and_lookup() -> Any:
    return tool_calls_response([("send_mail", {"to": "ann@x.org", "body": "hi"}), ("lookup", {"name": "Bo"})])


def test_the_run_stops_with_the_pending_call_and_runs_the_others() -> None:
    model = ScriptedModel([mail_and_lookup()])
    result = Agent(model, tools=[send_mail, lookup]).run_sync("mail Ann, find Bo")
    assert result.output is None and result.is_pending
    [call] = result.pending_approvals
    assert (call.name, json.loads(call.arguments)) == ("send_mail", {"to": "ann@x.org", "body": "hi"})
    assert sent == []
    # the transcript ends with the turn: the lookup answered, the mail call waiting
    assert isinstance(result.messages[-1], ToolMessage) and result.messages[-1].content == "bo@example.com"
    assert result.usage.requests == 1 and result.usage.tool_calls == 1


def test_approve_continues_from_json_in_another_process_shape() -> None:
    first = Agent(ScriptedModel([mail_and_lookup()]), tools=[send_mail, lookup]).run_sync("go")
    # what another process receives: the transcript and the pending calls, both JSON
    stored = first.messages_json()
    pending = json.dumps([dataclasses.asdict(c) for c in first.pending_approvals])
    calls = [ToolCall(**c) for c in json.loads(pending)]
    decisions = json.loads(json.dumps({calls[0].id: True}))

    model = ScriptedModel(["Mail sent; Bo is bo@example.com."])
    second = Agent(model, tools=[send_mail, lookup]).run_sync(
        None, message_history=messages_from_json(stored), approvals=decisions
    )
    assert second.output == "Mail sent; Bo is bo@example.com."
    assert sent == ["ann@x.org"]
    sent_back = [m for m in model.requests[0].messages if isinstance(m, ToolMessage)]
    assert sorted(m.content for m in sent_back) == ["bo@example.com", "sent to ann@x.org"]
    assert second.usage.tool_calls == 1 and not second.pending_approvals


def test_deny_with_a_reason_the_model_reads() -> None:
    first = Agent(ScriptedModel([mail_and_lookup()]), tools=[send_mail, lookup]).run_sync("go")
    call_id = first.pending_approvals[0].id
    model = ScriptedModel(["I did not send it."])
    agent = Agent(model, tools=[send_mail, lookup])
    result = agent.run_sync(None, message_history=first.messages, approvals={call_id: "not to Ann, ever"})
    assert result.output == "I did not send it." and sent == []
    denial = next(m for m in result.messages if isinstance(m, ToolMessage) and m.tool_call_id == call_id)
    assert denial.is_error and denial.content == "Not executed: the user denied this call: not to Ann, ever"
    assert denial in model.requests[0].messages


def test_deny_without_a_reason() -> None:
    first = Agent(ScriptedModel([mail_and_lookup()]), tools=[send_mail, lookup]).run_sync("go")
    call_id = first.pending_approvals[0].id
    result = Agent(ScriptedModel(["ok"]), tools=[send_mail, lookup]).run_sync(
        None, message_history=first.messages, approvals={call_id: False}
    )
    assert result.messages[-2].content == "Not executed: the user denied this call."


def test_callback_form_decides_as_calls_come() -> None:
    asked: list[tuple[str, str]] = []

    def approve(call: ToolCall) -> bool | str:
        asked.append((call.name, threading.current_thread().name))
        return json.loads(call.arguments)["to"] != "boss@x.org" or "never the boss"

    model = ScriptedModel(
        [
            tool_calls_response(
                [
                    ("send_mail", {"to": "ann@x.org", "body": "a"}),
                    ("send_mail", {"to": "boss@x.org", "body": "b"}),
                ]
            ),
            "done",
        ]
    )
    result = Agent(model, tools=[send_mail]).run_sync("go", approve=approve)
    assert result.output == "done" and sent == ["ann@x.org"]
    assert [a[0] for a in asked] == ["send_mail", "send_mail"]
    results = [m for m in result.messages if isinstance(m, ToolMessage)]
    assert results[1].content.endswith(": never the boss")


async def test_async_callback_and_events() -> None:
    async def approve(call: ToolCall) -> bool:
        return True

    model = ScriptedModel([tool_call_response("send_mail", {"to": "a@x.org", "body": "b"}), "done"])
    agent = Agent(model, tools=[send_mail])
    async with agent.run_stream("go", approve=approve) as stream:
        kinds = [e.kind async for e in stream]
    assert "approval_required" not in kinds and "tool_call_started" in kinds
    assert stream.result.output == "done"


async def test_stream_yields_approval_required() -> None:
    model = ScriptedModel([mail_and_lookup()])
    events = []
    async with Agent(model, tools=[send_mail, lookup]).run_stream("go") as stream:
        events = [e async for e in stream]
    [waiting] = [e for e in events if isinstance(e, ApprovalRequired)]
    assert waiting.arguments == {"to": "ann@x.org", "body": "hi"}
    assert [e.call.name for e in events if isinstance(e, ToolCallStarted)] == ["lookup"]
    assert len([e for e in events if isinstance(e, ToolCallFinished)]) == 1
    assert stream.result.pending_approvals == [waiting.call]


def test_callback_must_return_a_decision() -> None:
    model = ScriptedModel([tool_call_response("send_mail", {"to": "a@x.org", "body": "b"})])
    with pytest.raises(UserError, match="return True to run"):
        Agent(model, tools=[send_mail]).run_sync("go", approve=lambda call: None)  # type: ignore[arg-type,return-value]


def test_misuse_says_what_to_do() -> None:
    first = Agent(ScriptedModel([mail_and_lookup()]), tools=[send_mail, lookup]).run_sync("go")
    agent = Agent(ScriptedModel([]), tools=[send_mail, lookup])
    with pytest.raises(UserError, match="pass approvals="):
        agent.run_sync(None, message_history=first.messages)
    with pytest.raises(UserError, match="prompt=None"):
        agent.run_sync("and also", message_history=first.messages, approvals={"x": True})
    with pytest.raises(UserError, match="not waiting: nope"):
        agent.run_sync(None, message_history=first.messages, approvals={"nope": True})
    with pytest.raises(UserError, match="must be True, False or a reason"):
        agent.run_sync(None, message_history=first.messages, approvals={first.pending_approvals[0].id: 1})  # type: ignore[dict-item]
    with pytest.raises(UserError, match="does not end with calls waiting"):
        agent.run_sync("hi", approvals={"x": True})


def test_approved_call_that_is_resumed_counts_failures_and_answers() -> None:
    @tool(requires_approval=True)
    def delete(path: str) -> str:
        """Delete a file."""
        raise RuntimeError("disk on fire")

    first = Agent(ScriptedModel([tool_call_response("delete", {"path": "a"})]), tools=[delete]).run_sync(
        "rm a"
    )
    model = ScriptedModel(["could not delete"])
    result = Agent(model, tools=[delete]).run_sync(
        None, message_history=first.messages, approvals={first.pending_approvals[0].id: True}
    )
    error = result.messages[-2]
    assert isinstance(error, ToolMessage) and error.is_error and "disk on fire" in error.content
