"""`agent.to_web()`: the page's server over real sockets (uvicorn on 127.0.0.1) with an ordinary HTTP
client: the token, a run streaming, tool cards, approvals, stop, sessions and uploads."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from pydantic import BaseModel
from web_support import served, sse_items

from agentkit import Agent, tool
from agentkit.messages import AssistantMessage, DocumentPart, ImagePart, Message, TextPart, UserMessage
from agentkit.testing import (
    FunctionModel,
    RequestInfo,
    last_user_text,
    tool_call_response,
    tool_calls_response,
)

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
deleted: list[str] = []


@tool
def weather(city: str) -> str:
    """The weather in a city."""
    return f"Sunny in {city}"


@tool
def broken(city: str) -> str:
    """Always fails."""
    raise RuntimeError(f"no data for {city}")


@tool(requires_approval=True)
def delete_file(path: str) -> str:
    """Delete a file."""
    deleted.append(path)
    return f"deleted {path}"


@tool
async def slow() -> str:
    """Takes a long time."""
    await asyncio.sleep(60)
    return "finally"


def answer(messages: list[Message], info: RequestInfo) -> AssistantMessage | str:
    """The model: a tool call for some prompts, else the prompt echoed (with some thinking)."""
    text = last_user_text(messages)
    if info.tool_results:
        return "Done: " + "; ".join(m.content for m in info.tool_results)
    if "weather" in text:
        return tool_call_response("weather", {"city": "Oslo"})
    if "broken" in text:
        return tool_call_response("broken", {"city": "Oslo"})
    if "delete" in text:
        return tool_calls_response([("delete_file", {"path": "a.txt"}), ("delete_file", {"path": "b.txt"})])
    if "slow" in text:
        return tool_call_response("slow", {})
    last = messages[-1]
    attached = (
        len(last.content) - 1 if isinstance(last, UserMessage) and isinstance(last.content, list) else 0
    )
    kinds = [type(p).__name__ for p in last.content] if isinstance(last, UserMessage) and attached else []
    prior = sum(1 for m in messages if isinstance(m, UserMessage))
    return AssistantMessage(
        content=f"You said: {text} (message {prior}; parts {kinds})", reasoning="Let me think about it."
    )


@pytest.fixture
def app_url(tmp_path: Path) -> Iterator[tuple[str, str]]:
    agent = Agent(FunctionModel(answer), tools=[weather, broken, delete_file, slow], name="helper")
    app = agent.to_web(session_db=tmp_path / "chats.db")
    with served(app) as url:
        yield url, app.state.token


def _chat(client: httpx2.Client, url: str, token: str, **body: Any) -> list[dict[str, Any]]:
    with client.stream("POST", f"{url}/api/chat", json=body, headers={"x-agentkit-token": token}) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        return list(sse_items(response))


def test_every_request_without_the_token_is_refused(app_url: tuple[str, str]) -> None:
    url, token = app_url
    wrong = token[:-1] + ("y" if token.endswith("x") else "x")
    with httpx2.Client() as client:
        for path in ("/", "/static/web.js", "/api/sessions", "/ag-ui/"):
            assert client.get(f"{url}{path}").status_code == 401
            assert client.get(f"{url}{path}", params={"token": wrong}).status_code == 401
        refused = client.post(f"{url}/api/chat", json={"prompt": "hi"})
        assert refused.status_code == 401
        assert "token" in refused.json()["error"]
        assert "access-control-allow-origin" not in refused.headers
        page = client.get(f"{url}/", params={"token": token})
        assert page.status_code == 200
        assert "default-src 'none'" in page.headers["content-security-policy"]
        assert page.headers["referrer-policy"] == "no-referrer"  # the token in the URL goes nowhere
        for hook in ("prompt", "send", "stop", "usage", "new-chat"):
            assert f'data-testid="{hook}"' in page.text
        assert (
            client.get(f"{url}/static/web.js", headers={"authorization": f"Bearer {token}"}).status_code
            == 200
        )
        assert client.get(f"{url}/static/other.js", params={"token": token}).status_code == 404


def test_a_run_streams_its_answer_thinking_and_usage(app_url: tuple[str, str]) -> None:
    url, token = app_url
    with httpx2.Client(timeout=30) as client:
        items = _chat(client, url, token, prompt="hello there")
    kinds = [i["type"] for i in items]
    assert kinds[:4] == ["session", "user", "turn", "thinking"]
    assert kinds[-1] == "done"
    text = "".join(i["text"] for i in items if i["type"] == "text")
    assert text == "You said: hello there (message 1; parts [])"
    assert sum(1 for k in kinds if k == "text") > 1  # it streamed in pieces
    assert "".join(i["text"] for i in items if i["type"] == "thinking") == "Let me think about it."
    (usage,) = [i for i in items if i["type"] == "usage"]
    assert usage["model"] == "function"
    assert usage["usage"]["total_tokens"] == items[-1]["usage"]["total_tokens"] > 0


def test_tool_cards_carry_arguments_results_durations_and_errors(app_url: tuple[str, str]) -> None:
    url, token = app_url
    with httpx2.Client(timeout=30) as client:
        items = _chat(client, url, token, prompt="weather please")
        failed = _chat(client, url, token, prompt="broken please")
    (start,) = [i for i in items if i["type"] == "tool_start"]
    (end,) = [i for i in items if i["type"] == "tool_end"]
    assert start["name"] == "weather"
    assert json.loads(start["arguments"]) == {"city": "Oslo"}
    assert start["parent"] is None and start["repaired"] is None
    assert end == {
        "type": "tool_end",
        "id": start["id"],
        "content": "Sunny in Oslo",
        "is_error": False,
        "images": [],
        "duration_s": end["duration_s"],
        "attempts": 1,
    }
    assert isinstance(end["duration_s"], float)
    assert "".join(i["text"] for i in items if i["type"] == "text") == "Done: Sunny in Oslo"
    (error,) = [i for i in failed if i["type"] == "tool_end"]
    assert error["is_error"] and "no data for Oslo" in error["content"]


def test_calls_wait_for_approve_and_deny_with_a_reason(app_url: tuple[str, str]) -> None:
    url, token = app_url
    deleted.clear()
    seen: list[dict[str, Any]] = []
    headers = {"x-agentkit-token": token}
    with httpx2.Client(timeout=30) as client, httpx2.Client(timeout=30) as other:
        body = {"prompt": "delete two files"}
        with client.stream("POST", f"{url}/api/chat", json=body, headers=headers) as response:
            for item in sse_items(response):
                seen.append(item)
                if item["type"] == "approval":
                    approve = json.loads(item["arguments"])["path"] == "a.txt"
                    decision = {"approve": approve, "reason": "" if approve else "keep b.txt"}
                    session = seen[0]["id"]
                    answer_ = other.post(
                        f"{url}/api/approve",
                        json={"session": session, "call_id": item["id"], **decision},
                        headers=headers,
                    )
                    assert answer_.status_code == 200
        again = other.post(
            f"{url}/api/approve",
            json={"session": seen[0]["id"], "call_id": "call_1", "approve": True},
            headers=headers,
        )
    assert again.status_code == 404  # decided already, and the run is over
    assert [i["name"] for i in seen if i["type"] == "approval"] == ["delete_file", "delete_file"]
    assert deleted == ["a.txt"]
    results = {i["id"]: i["content"] for i in seen if i["type"] == "tool_end"}
    assert sorted(results.values()) == [
        "Not executed: the user denied this call: keep b.txt",
        "deleted a.txt",
    ]


def test_stop_cancels_the_run(app_url: tuple[str, str]) -> None:
    url, token = app_url
    headers = {"x-agentkit-token": token}
    seen: list[dict[str, Any]] = []
    with httpx2.Client(timeout=30) as client, httpx2.Client(timeout=30) as other:
        with client.stream("POST", f"{url}/api/chat", json={"prompt": "slow"}, headers=headers) as response:
            for item in sse_items(response):
                seen.append(item)
                if item["type"] == "tool_start":
                    busy = other.post(
                        f"{url}/api/chat", json={"prompt": "x", "session": seen[0]["id"]}, headers=headers
                    )
                    assert busy.status_code == 409
                    stopped = other.post(f"{url}/api/stop", json={"session": seen[0]["id"]}, headers=headers)
                    assert stopped.json() == {"stopped": True}
        assert other.post(f"{url}/api/stop", json={"session": seen[0]["id"]}, headers=headers).json() == {
            "stopped": False
        }
    assert seen[-1] == {"type": "stopped"}


def test_sessions_are_listed_and_reopen_with_their_history(app_url: tuple[str, str]) -> None:
    url, token = app_url
    headers = {"x-agentkit-token": token}
    with httpx2.Client(timeout=30) as client:
        first = _chat(client, url, token, prompt="weather please")
        session = first[0]["id"]
        second = _chat(client, url, token, prompt="and again", session=session)
        _chat(client, url, token, prompt="another chat")
        chats = client.get(f"{url}/api/sessions", headers=headers).json()
        page = client.get(f"{url}/", params={"token": token, "session": session})
        stored = client.get(f"{url}/api/sessions/{session}", headers=headers).json()
    assert second[0] == {"type": "session", "id": session}
    assert "(message 2;" in "".join(i["text"] for i in second if i["type"] == "text")
    assert [c["title"] for c in chats] == ["another chat", "weather please"]
    assert page.text.count('data-testid="session"') == 2
    assert 'aria-current="page">weather please' in page.text
    kinds = [i["type"] for i in stored]
    assert kinds.count("user") == 2 and "tool_start" in kinds and "tool_end" in kinds
    config = page.text.split('id="agentkit-config">')[1].split("</script>")[0]
    assert json.loads(config)["items"] == stored


def test_images_and_documents_are_uploaded_checked_by_their_bytes(app_url: tuple[str, str]) -> None:
    url, token = app_url
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"
    files = [
        {"name": "dot.png", "type": "image/png", "data": base64.b64encode(PNG).decode()},
        {"name": "paper.pdf", "type": "application/pdf", "data": base64.b64encode(pdf).decode()},
    ]
    headers = {"x-agentkit-token": token}
    with httpx2.Client(timeout=30) as client:
        items = _chat(client, url, token, prompt="what is attached", files=files)
        fake = [{"name": "fake.png", "type": "image/png", "data": base64.b64encode(b"not an image").decode()}]
        refused = client.post(f"{url}/api/chat", json={"prompt": "x", "files": fake}, headers=headers)
        empty = client.post(f"{url}/api/chat", json={"prompt": "  "}, headers=headers)
        not_base64 = client.post(
            f"{url}/api/chat", json={"files": [{"name": "a", "data": "%%"}]}, headers=headers
        )
        other_kind = [{"name": "a.txt", "type": "text/plain", "data": "aGk="}]
        text_file = client.post(f"{url}/api/chat", json={"files": other_kind}, headers=headers)
        not_json = client.post(f"{url}/api/chat", content=b"{", headers=headers)
    text = "".join(i["text"] for i in items if i["type"] == "text")
    assert f"parts {['TextPart', ImagePart.__name__, DocumentPart.__name__]}" in text
    assert items[1] == {"type": "user", "text": "what is attached", "attachments": 2}
    assert refused.status_code == 400 and "PNG" in refused.json()["error"]
    assert empty.status_code == 400 and "type a message" in empty.json()["error"]
    assert not_base64.status_code == 400 and "base64" in not_base64.json()["error"]
    assert text_file.status_code == 400 and "text/plain" in text_file.json()["error"]
    assert not_json.status_code == 400


def test_sub_agents_calls_nest_in_their_parents_card_live_and_reopened(tmp_path: Path) -> None:
    def researcher_model(messages: list[Message], info: RequestInfo) -> AssistantMessage | str:
        if info.tool_results:
            return f"Found: {info.tool_results[0].content}"
        return tool_call_response("weather", {"city": "Bergen"}, id="inner_1")

    def boss_model(messages: list[Message], info: RequestInfo) -> AssistantMessage | str:
        if info.tool_results:
            return "Boss: " + info.tool_results[0].content
        return tool_call_response("researcher", {"task": "weather in Bergen"}, id="outer_1")

    researcher = Agent(FunctionModel(researcher_model), tools=[weather], name="researcher")
    boss = Agent(FunctionModel(boss_model), tools=[researcher.as_tool(description="Researches.")])
    app = boss.to_web(session_db=tmp_path / "chats.db")
    with served(app) as url, httpx2.Client(timeout=30) as client:
        items = _chat(client, url, app.state.token, prompt="go")
        stored = client.get(
            f"{url}/api/sessions/{items[0]['id']}", headers={"x-agentkit-token": app.state.token}
        )
    starts = [(i["name"], i["parent"]) for i in items if i["type"] == "tool_start"]
    assert starts == [("researcher", None), ("weather", "outer_1")]
    assert "".join(i["text"] for i in items if i["type"] == "text") == "Boss: Found: Sunny in Bergen"
    assert [i["model"] for i in items if i["type"] == "usage"] == [
        "function",
        "function",
    ]  # the boss's turns only
    reopened = [(i["name"], i["parent"]) for i in stored.json() if i["type"] == "tool_start"]
    assert reopened == starts
    ends = [i["id"] for i in stored.json() if i["type"] == "tool_end"]
    assert ends == ["inner_1", "outer_1"]


@tool
def chart() -> list[Any]:
    """A chart."""
    return [TextPart(text="the chart"), ImagePart.from_bytes(PNG)]


class Forecast(BaseModel):
    city: str
    degrees: int


def test_tool_images_and_structured_answers_reach_the_page(tmp_path: Path) -> None:
    def model(messages: list[Message], info: RequestInfo) -> AssistantMessage | str:
        if info.tool_results:
            return tool_call_response("final_result", {"city": "Oslo", "degrees": 21})
        return tool_call_response("chart", {})

    agent: Agent[None, Forecast] = Agent(
        FunctionModel(model), tools=[chart], output_type=Forecast, output_mode="tool"
    )
    app = agent.to_web(session_db=tmp_path / "chats.db")
    with served(app) as url, httpx2.Client(timeout=30) as client:
        items = _chat(client, url, app.state.token, prompt="chart it")
    (end,) = [i for i in items if i["type"] == "tool_end" and i["content"].startswith("the chart")]
    assert end["images"] == [ImagePart.from_bytes(PNG).url]
    (output,) = [i for i in items if i["type"] == "output"]
    assert json.loads(output["text"]) == {"city": "Oslo", "degrees": 21}


def test_items_of_questioned_and_repaired_answers() -> None:
    from agentkit.events import FeedbackSent, RunFinished, ToolCallStarted
    from agentkit.messages import ToolCall
    from agentkit.result import RunResult
    from agentkit.usage import Usage
    from agentkit.web._items import event_items

    questioned = FeedbackSent(message=UserMessage(content="check", feedback=True), reason="answer_questioned")
    assert list(event_items(questioned)) == [{"type": "retract"}]
    empty = FeedbackSent(message=UserMessage(content="say something", feedback=True), reason="empty_response")
    assert list(event_items(empty)) == []
    call = ToolCall(id="c1", name="weather", arguments='{"city": "Oslo"}', original_arguments="{city: Oslo")
    (start,) = event_items(ToolCallStarted(call=call, arguments={"city": "Oslo"}))
    assert start["repaired"] == "{city: Oslo"
    nothing = RunFinished(result=RunResult(output=None, messages=[], usage=Usage()))
    assert list(event_items(nothing)) == []


def test_bad_requests_get_clear_errors(app_url: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    url, token = app_url
    headers = {"x-agentkit-token": token}
    monkeypatch.setattr("agentkit.web._app.MAX_REQUEST_BYTES", 1000)
    with httpx2.Client(timeout=30) as client:

        def post(path: str, **kwargs: Any) -> tuple[int, str]:
            response = client.post(f"{url}{path}", headers=headers, **kwargs)
            return response.status_code, response.json()["error"]

        assert post("/api/chat", json={"prompt": "x" * 2000}) == (
            413,
            "the request is too large (over 0 MiB)",
        )
        assert post("/api/chat", json=["a list"]) == (400, "the request body must be a JSON object")
        assert post("/api/chat", json={"prompt": 3}) == (400, "prompt must be a string")
        assert post("/api/chat", json={"prompt": "x", "files": "a.png"})[0] == 400
        assert post("/api/chat", json={"prompt": "x", "files": [{"name": "a"}]})[0] == 400
        assert post("/api/chat", json={"prompt": "x", "session": " "})[0] == 400  # not a session id
        assert post("/api/approve", content=b"{")[0] == 400
        assert post("/api/approve", json={"session": "none", "call_id": "c"})[0] == 404
        assert post("/api/stop", content=b"[")[0] == 400


def test_failures_of_the_run_and_of_the_store_are_shown(tmp_path: Path) -> None:
    import sqlite3

    def failing(messages: list[Message], info: RequestInfo) -> str:
        raise RuntimeError("the model broke")

    db = tmp_path / "chats.db"
    agent = Agent(FunctionModel(failing), deps_type=dict)
    app = agent.to_web(session_db=db, deps={"user": "ann"})
    with served(app) as url, httpx2.Client(timeout=30) as client:
        items = _chat(client, url, app.state.token, prompt="hi")
        with sqlite3.connect(db) as connection:
            connection.execute("UPDATE agentkit_messages SET message = 'not json'")
        connection.close()
        stored = client.get(
            f"{url}/api/sessions/{items[0]['id']}", headers={"x-agentkit-token": app.state.token}
        )
    assert items[-1]["type"] == "error" and "the model broke" in items[-1]["message"]
    assert stored.json() == [
        {"type": "error", "message": f"no chat {items[0]['id']!r} can be loaded from {db}"}
    ]


def test_stop_while_a_call_waits_for_approval(app_url: tuple[str, str]) -> None:
    url, token = app_url
    deleted.clear()
    headers = {"x-agentkit-token": token}
    seen: list[dict[str, Any]] = []
    with (
        httpx2.Client(timeout=30) as client,
        httpx2.Client(timeout=30) as other,
        client.stream("POST", f"{url}/api/chat", json={"prompt": "delete"}, headers=headers) as response,
    ):
        for item in sse_items(response):
            seen.append(item)
            if item["type"] == "approval":
                other.post(f"{url}/api/stop", json={"session": seen[0]["id"]}, headers=headers)
    assert seen[-1] == {"type": "stopped"} and deleted == []


def test_closing_the_page_stops_its_run(app_url: tuple[str, str]) -> None:
    url, token = app_url
    headers = {"x-agentkit-token": token}
    with httpx2.Client(timeout=30) as client:
        with client.stream("POST", f"{url}/api/chat", json={"prompt": "slow"}, headers=headers) as response:
            items = sse_items(response)
            session = next(items)["id"]
            while next(items)["type"] != "tool_start":
                pass
        deadline = time.monotonic() + 30
        while (
            status := client.post(f"{url}/api/stop", json={"session": session}, headers=headers).json()
        ) != {"stopped": False} and time.monotonic() < deadline:
            time.sleep(0.05)
        assert status == {"stopped": False}  # the run is over: nothing is left to stop
        again = _chat(client, url, token, prompt="hello", session=session)
    assert again[-1]["type"] == "done"


def test_audio_is_uploaded(app_url: tuple[str, str]) -> None:
    url, token = app_url
    wav = b"RIFF" + (36).to_bytes(4, "little") + b"WAVEfmt " + bytes(24) + b"data" + bytes(4)
    files = [{"name": "note.wav", "type": "audio/wav", "data": base64.b64encode(wav).decode()}]
    with httpx2.Client(timeout=30) as client:
        items = _chat(client, url, token, prompt="listen", files=files)
    assert "AudioPart" in "".join(i["text"] for i in items if i["type"] == "text")


def test_items_of_stored_odd_messages_and_the_default_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agentkit.events import ApprovalRequired
    from agentkit.messages import SystemMessage, ToolCall, ToolMessage
    from agentkit.web import default_session_db
    from agentkit.web._chats import ChatList
    from agentkit.web._items import event_items, transcript_items, usage_json

    call = ToolCall(id="c1", name="weather", arguments="{not json")
    stored = [
        SystemMessage(content="be brief"),
        AssistantMessage(content="", tool_calls=[call]),
        ToolMessage(tool_call_id="c1", name="weather", content="bad arguments", is_error=True),
    ]
    items = list(transcript_items(stored))
    assert [i["type"] for i in items] == ["turn", "usage", "tool_start", "tool_end"]
    assert items[1]["usage"] == usage_json(None) == {}
    assert items[2]["arguments"] == "{not json"
    (approval,) = event_items(ApprovalRequired(call=call, arguments={"city": "Oslo"}))
    assert json.loads(approval["arguments"]) == {"city": "Oslo"}
    monkeypatch.setenv("AGENTKIT_CACHE_DIR", str(tmp_path / "cache"))
    assert default_session_db() == tmp_path / "cache" / "web-sessions.db"
    chats = ChatList(":memory:")
    chats.touch("a", "  first   prompt ")
    chats.touch("a", "ignored: the title stays")
    assert [(c.session_id, c.title) for c in chats.chats()] == [("a", "first prompt")]


def test_a_file_that_is_no_database_is_refused_when_the_app_is_made(tmp_path: Path) -> None:
    from agentkit.exceptions import SessionError

    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(SessionError, match=r"junk\.db"):
        Agent(FunctionModel(answer)).to_web(session_db=junk)


def test_loopback_hosts() -> None:
    from agentkit.web._serve import is_loopback

    assert is_loopback("localhost") and is_loopback("127.0.0.2") and is_loopback("::1")
    assert is_loopback("[::1]")  # as a URL writes it, and as users pass it to --host
    assert not is_loopback("0.0.0.0") and not is_loopback("example.com") and not is_loopback("192.168.1.2")


def test_a_bracketed_ipv6_loopback_is_bound_as_the_address_it_names() -> None:
    import socket

    from agentkit.exceptions import UserError
    from agentkit.web._serve import bind

    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    try:
        bind("::1", 0).close()
    except UserError as exc:  # an IPv6 stack with no ::1 (some containers)
        pytest.skip(str(exc))
    with bind("[::1]", 0) as listening:
        assert listening.family == socket.AF_INET6 and listening.getsockname()[0] == "::1"


def test_the_served_socket_sends_each_event_at_once() -> None:
    import socket

    from agentkit.web._serve import bind

    listening = bind("127.0.0.1", 0)
    with listening, socket.create_connection(listening.getsockname()) as client:
        accepted, _ = listening.accept()
        with accepted:  # inherited from the listening socket: no Nagle delay behind a delayed ACK
            assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        assert client.fileno() >= 0


async def test_websockets_without_the_token_are_refused_too(tmp_path: Path) -> None:
    app = Agent(FunctionModel(answer)).to_web(session_db=tmp_path / "chats.db")
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.connect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "websocket", "path": "/", "query_string": b"", "headers": [], "root_path": ""}
    await app(scope, receive, send)
    assert sent == [{"type": "websocket.close", "code": 1008}]
    sent.clear()
    scope["query_string"] = f"token={app.state.token}".encode()
    await app(scope, receive, send)
    assert sent[0]["type"] == "websocket.close"  # past the guard: no route takes websockets


def test_what_a_chat_holds_cannot_break_out_of_the_page(app_url: tuple[str, str]) -> None:
    url, token = app_url
    hostile = '</script><script>alert(1)</script><a href="x">'
    with httpx2.Client(timeout=30) as client:
        items = _chat(client, url, token, prompt=hostile)
        page = client.get(f"{url}/", params={"token": token, "session": items[0]["id"]})
    assert "<script>alert(1)" not in page.text and '<a href="x">' not in page.text
    assert page.text.count("<script") == 2  # the config and web.js
    config = page.text.split('id="agentkit-config">')[1].split("</script>")[0]
    assert json.loads(config)["items"][0]["text"] == hostile


def test_a_chat_list_that_cannot_be_written_refuses_the_run_and_frees_the_chat(tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "chats.db"
    app = Agent(FunctionModel(answer)).to_web(session_db=db)
    headers = {"x-agentkit-token": app.state.token}
    with served(app) as url, httpx2.Client(timeout=30) as client:
        with sqlite3.connect(db) as connection:
            connection.execute("DROP TABLE agentkit_web_chats")
        connection.close()
        refused = client.post(f"{url}/api/chat", json={"prompt": "hi", "session": "s1"}, headers=headers)
        assert refused.status_code == 503 and "chat list cannot be used" in refused.json()["error"]
        assert client.post(f"{url}/api/stop", json={"session": "s1"}, headers=headers).json() == {
            "stopped": False
        }
