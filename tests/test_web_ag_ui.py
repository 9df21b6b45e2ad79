"""`agent.to_ag_ui()`: the AG-UI protocol over real sockets, each event validated with `ag-ui-protocol`'s
models: text and thinking, tool calls, front-end tools handed back, approvals as interrupts, errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
from ag_ui import core as ag
from pydantic import TypeAdapter
from web_support import served, sse_items

from agentkit import Agent, RunContext, tool
from agentkit.exceptions import ModelAPIError
from agentkit.messages import AssistantMessage, Message, ToolMessage
from agentkit.testing import FunctionModel, RequestInfo, last_user_text, tool_call_response

EVENTS: TypeAdapter[Any] = TypeAdapter(ag.Event)
seen_requests: list[list[Message]] = []


@tool
def weather(city: str) -> str:
    """The weather in a city."""
    return f"Sunny in {city}"


@tool(requires_approval=True)
def send_mail(to: str) -> str:
    """Send a mail."""
    return f"sent to {to}"


def answer(messages: list[Message], info: RequestInfo) -> AssistantMessage | str:
    seen_requests.append(messages)
    text = last_user_text(messages)
    if info.tool_results:
        return "Done: " + "; ".join(m.content for m in info.tool_results)
    if "fail" in text:
        raise ModelAPIError("the provider is down", status_code=503)
    if "weather" in text:
        return tool_call_response("weather", {"city": "Oslo"}, id="call_w")
    if "mail" in text:
        return tool_call_response("send_mail", {"to": "ann@example.com"}, id="call_m")
    if "color" in text:
        return tool_call_response("pick_color", {"hint": "warm"}, id="call_c")
    return AssistantMessage(content=f"Hello! You said {text}.", reasoning="Greet them.")


@dataclass
class Cart:
    items: list[str]


@pytest.fixture
def endpoint(tmp_path: Path) -> Iterator[str]:
    agent = Agent(FunctionModel(answer), tools=[weather, send_mail], max_turns=5)
    app = agent.to_web(session_db=tmp_path / "chats.db", ag_ui=True, token="secret-token")
    with served(app) as url:
        yield f"{url}/ag-ui/?token=secret-token"


def _run(url: str, messages: list[dict[str, Any]], **extra: Any) -> list[Any]:
    body = {"threadId": "t1", "runId": "r1", "messages": messages, **extra}
    with httpx2.Client(timeout=30) as client, client.stream("POST", url, json=body) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        return [EVENTS.validate_python(item) for item in sse_items(response)]


def _types(events: list[Any]) -> list[str]:
    return [e.type.value for e in events]


def _user(text: str) -> dict[str, Any]:
    return {"id": f"u-{text}", "role": "user", "content": text}


def test_text_and_thinking_stream_as_protocol_messages(endpoint: str) -> None:
    events = _run(endpoint, [_user("hi")])
    types = _types(events)
    assert types[0] == "RUN_STARTED" and types[-1] == "RUN_FINISHED"
    assert types[1:3] == ["REASONING_START", "REASONING_MESSAGE_START"]
    reasoning_end = types.index("REASONING_END")
    assert types[reasoning_end - 1] == "REASONING_MESSAGE_END"
    assert types[reasoning_end + 1] == "TEXT_MESSAGE_START"
    assert types[-2] == "TEXT_MESSAGE_END"
    deltas = [e.delta for e in events if isinstance(e, ag.TextMessageContentEvent)]
    assert "".join(deltas) == "Hello! You said hi."
    assert "".join(e.delta for e in events if isinstance(e, ag.ReasoningMessageContentEvent)) == "Greet them."
    assert len({e.message_id for e in events if hasattr(e, "message_id") and "TEXT" in e.type.value}) == 1
    finished = events[-1]
    assert finished.result == "Hello! You said hi."
    assert finished.outcome.type == "success"
    assert finished.usage[0].model == "function" and finished.usage[0].total_tokens > 0


def test_tool_calls_and_their_results(endpoint: str) -> None:
    events = _run(endpoint, [_user("weather in Oslo")])
    types = _types(events)
    start = types.index("TOOL_CALL_START")
    assert types[start : start + 4] == [
        "TOOL_CALL_START",
        "TOOL_CALL_ARGS",
        "TOOL_CALL_END",
        "TOOL_CALL_RESULT",
    ]
    call, args, _, result = events[start : start + 4]
    assert (call.tool_call_id, call.tool_call_name) == ("call_w", "weather")
    assert json.loads(args.delta) == {"city": "Oslo"}
    assert (result.tool_call_id, result.content) == ("call_w", "Sunny in Oslo")
    assert events[-1].result == "Done: Sunny in Oslo"


def test_front_end_tools_are_offered_and_their_calls_handed_back(endpoint: str) -> None:
    tools = [
        {
            "name": "pick_color",
            "description": "Ask the user to pick a color.",
            "parameters": {"type": "object", "properties": {"hint": {"type": "string"}}},
        }
    ]
    events = _run(endpoint, [_user("choose a color")], tools=tools)
    assert "TOOL_CALL_RESULT" not in _types(events)
    assert [e.tool_call_name for e in events if isinstance(e, ag.ToolCallStartEvent)] == ["pick_color"]
    finished = events[-1]
    assert finished.outcome.type == "success"
    assert finished.outcome.pending_tool_call_ids == ["call_c"]
    assert finished.result is None
    # the client runs the tool and sends its result in the next input
    history = [
        _user("choose a color"),
        {
            "id": "a1",
            "role": "assistant",
            "toolCalls": [
                {"id": "call_c", "type": "function", "function": {"name": "pick_color", "arguments": "{}"}}
            ],
        },
        {"id": "t1", "role": "tool", "toolCallId": "call_c", "content": "teal"},
    ]
    events = _run(endpoint, history, tools=tools)
    assert events[-1].result == "Done: teal"
    assert isinstance(seen_requests[-1][-1], ToolMessage) and seen_requests[-1][-1].name == "pick_color"


def test_approvals_are_interrupts_resumed_by_the_next_input(endpoint: str) -> None:
    events = _run(endpoint, [_user("mail Ann")])
    outcome = events[-1].outcome
    assert outcome.type == "interrupt"
    (interrupt,) = outcome.interrupts
    assert (interrupt.id, interrupt.tool_call_id, interrupt.reason) == ("call_m", "call_m", "tool_approval")
    history = [
        _user("mail Ann"),
        {
            "id": "a1",
            "role": "assistant",
            "toolCalls": [
                {
                    "id": "call_m",
                    "type": "function",
                    "function": {"name": "send_mail", "arguments": '{"to": "ann@example.com"}'},
                }
            ],
        },
    ]
    approved = _run(
        endpoint,
        history,
        resume=[{"interruptId": "call_m", "status": "resolved", "payload": {"approved": True}}],
    )
    assert approved[-1].result == "Done: sent to ann@example.com"
    denied = _run(
        endpoint,
        history,
        resume=[
            {
                "interruptId": "call_m",
                "status": "resolved",
                "payload": {"approved": False, "reason": "not now"},
            }
        ],
    )
    assert denied[-1].result == "Done: Not executed: the user denied this call: not now"
    cancelled = _run(endpoint, history, resume=[{"interruptId": "call_m", "status": "cancelled"}])
    assert cancelled[-1].result == "Done: Not executed: the user denied this call."


def test_errors_end_the_run_with_run_error(endpoint: str) -> None:
    events = _run(endpoint, [_user("please fail")])
    assert _types(events) == ["RUN_STARTED", "RUN_ERROR"]
    assert "the provider is down" in events[-1].message
    assert events[-1].code == "ModelAPIError"
    video = {"type": "video", "source": {"type": "url", "value": "https://example.com/v.mp4"}}
    events = _run(endpoint, [{"id": "u", "role": "user", "content": [video]}])
    assert _types(events) == ["RUN_STARTED", "RUN_ERROR"] and "video" in events[-1].message
    with httpx2.Client(timeout=30) as client:
        invalid = client.post(endpoint, json={"threadId": "t"})
    assert invalid.status_code == 422 and "RunAgentInput" in invalid.json()["error"]


def test_deps_are_sent_as_state_snapshots() -> None:
    cart = Cart(items=["pen"])

    @tool
    def add_item(ctx: RunContext[Cart], item: str) -> str:
        """Add an item."""
        ctx.deps.items.append(item)
        return "added"

    def buy(messages: list[Message], info: RequestInfo) -> AssistantMessage | str:
        return "ok" if info.tool_results else tool_call_response("add_item", {"item": "ink"})

    agent = Agent(FunctionModel(buy), tools=[add_item], deps_type=Cart)
    image = {"type": "image", "source": {"type": "data", "value": "aGk=", "mimeType": "image/png"}}
    with served(agent.to_ag_ui(deps=cart)) as url:
        remote = {"type": "document", "source": {"type": "url", "value": "https://example.com/list.pdf"}}
        content = [{"type": "text", "text": "buy"}, image, remote]
        events = _run(f"{url}/", [{"id": "u", "role": "user", "content": content}])
    sent = agent.model.requests[0].messages[-1]  # type: ignore[attr-defined]
    assert [type(p).__name__ for p in sent.content] == ["TextPart", "ImagePart", "DocumentPart"]
    assert sent.content[1].url == "data:image/png;base64,aGk=" and sent.content[2].url.startswith("https://")
    snapshots = [e.snapshot for e in events if isinstance(e, ag.StateSnapshotEvent)]
    assert snapshots == [{"items": ["pen"]}, {"items": ["pen", "ink"]}]
    assert _types(events)[-1] == "RUN_FINISHED"


def test_tool_messages_parts_and_refusals_of_the_input(endpoint: str) -> None:
    history = [
        _user("weather in Oslo"),
        {
            "id": "a1",
            "role": "system",
            "content": "ignored: the agent's instructions are the server's",
        },
        {
            "id": "a2",
            "role": "assistant",
            "toolCalls": [
                {"id": "call_x", "type": "function", "function": {"name": "weather", "arguments": "{}"}}
            ],
        },
        {
            "id": "t1",
            "role": "tool",
            "toolCallId": "call_x",
            "content": [{"type": "text", "text": "partial"}],
            "error": "timed out",
        },
    ]
    events = _run(endpoint, history)
    assert events[-1].result == "Done: partial\ntimed out"
    sent = seen_requests[-1]
    assert not any(m.role == "system" for m in sent)
    tool_message = sent[-1]
    assert isinstance(tool_message, ToolMessage) and tool_message.is_error
    by_id = {"type": "image", "source": {"type": "file", "value": "f1"}}
    events = _run(endpoint, [{"id": "u", "role": "user", "content": [by_id]}])
    assert events[-1].type.value == "RUN_ERROR" and "file id" in events[-1].message
    clash = [{"name": "weather", "description": "the client's weather"}]
    events = _run(endpoint, [_user("hi")], tools=clash)
    assert events[-1].type.value == "RUN_ERROR" and "weather" in events[-1].message


def test_deps_that_are_no_json_send_no_state() -> None:
    import threading

    agent = Agent(FunctionModel(answer), deps_type=object)
    with served(agent.to_ag_ui(deps=threading.Lock())) as url:
        events = _run(f"{url}/", [_user("hi")])
    assert "STATE_SNAPSHOT" not in _types(events) and _types(events)[-1] == "RUN_FINISHED"


def test_sub_agents_events_are_attributed_to_their_invocation() -> None:
    def researcher_model(messages: list[Message], info: RequestInfo) -> AssistantMessage | str:
        if "fail" in last_user_text(messages):
            raise ModelAPIError("the researcher's provider is down", status_code=503)
        if info.tool_results:
            return f"Found: {info.tool_results[0].content}"
        return tool_call_response("weather", {"city": "Bergen"}, id="inner_1")

    def boss_model(messages: list[Message], info: RequestInfo) -> AssistantMessage | str:
        if info.tool_results:
            return "Boss: " + info.tool_results[0].content
        return tool_call_response("researcher", {"task": last_user_text(messages)}, id="outer_1")

    researcher = Agent(FunctionModel(researcher_model), tools=[weather], name="researcher", retries=0)
    boss = Agent(FunctionModel(boss_model), tools=[researcher.as_tool(description="Researches.")])
    with served(boss.to_ag_ui()) as url:
        events = _run(f"{url}/", [_user("weather in Bergen")])
        failed = _run(f"{url}/", [_user("fail")])
    types = _types(events)
    started = events[types.index("SUBAGENT_STARTED")]
    assert (started.name, started.parent_tool_call_id) == ("researcher", "outer_1")
    inner = [e for e in events if getattr(e, "subagent_run_id", None) == started.subagent_run_id]
    assert [e.type.value for e in inner if e.type.value.startswith("TOOL_CALL")] == [
        "TOOL_CALL_START",
        "TOOL_CALL_ARGS",
        "TOOL_CALL_END",
        "TOOL_CALL_RESULT",
    ]
    assert (
        "".join(e.delta for e in inner if isinstance(e, ag.TextMessageContentEvent))
        == "Found: Sunny in Bergen"
    )
    finished = events[types.index("SUBAGENT_FINISHED")]
    assert finished.result == "Found: Sunny in Bergen" and finished.outcome.type == "success"
    outer_results = [e for e in events if isinstance(e, ag.ToolCallResultEvent) and e.subagent_run_id is None]
    assert [e.tool_call_id for e in outer_results] == ["outer_1"]
    assert types.index("SUBAGENT_FINISHED") < types.index(
        "TOOL_CALL_RESULT", types.index("SUBAGENT_FINISHED")
    )
    assert events[-1].result == "Boss: Found: Sunny in Bergen"
    error = next(e for e in failed if isinstance(e, ag.SubagentErrorEvent))
    assert "provider is down" in error.message
    assert "SUBAGENT_FINISHED" not in _types(failed) and failed[-1].type.value == "RUN_FINISHED"
