"""The loopback server speaks OpenRouter's wire format: checked with the real SDK, streams included."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from agentkit.testing import BodyError, HTTPError, LoopbackServer, StreamError, tool_calls_response


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer(processing_comments=3) as srv:
        yield srv


def client(server: LoopbackServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0)


def stream(server: LoopbackServer) -> list[Any]:
    with client(server) as c:
        return list(
            c.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}], stream=True)
        )


def test_stream_of_text_with_processing_comments_and_usage(server: LoopbackServer) -> None:
    server.add("Hello from the loopback server")
    chunks = stream(server)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Hello from the loopback server"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.model_extra == {"cost": 0.0000042}
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"


def test_raw_sse_lines(server: LoopbackServer) -> None:
    events = server.stream_events("hi")
    assert events[:3] == [": OPENROUTER PROCESSING"] * 3
    assert events[-1] == "data: [DONE]"


def test_stream_of_tool_calls_in_fragments(server: LoopbackServer) -> None:
    server.add(tool_calls_response([("a", {"x": 1}), ("b", {"y": "two"})]))
    chunks = stream(server)
    arguments: dict[int, str] = {}
    names: dict[int, str] = {}
    for chunk in chunks:
        for call in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
            arguments[call.index] = arguments.get(call.index, "") + (call.function.arguments or "")
            if call.function.name:
                names[call.index] = call.function.name
    assert names == {0: "a", 1: "b"}
    assert {i: json.loads(a) for i, a in arguments.items()} == {0: {"x": 1}, 1: {"y": "two"}}


def test_error_mid_stream(server: LoopbackServer) -> None:
    server.add(StreamError(content="partial", code=502, message="Provider disconnected"))
    with pytest.raises(openai.APIError, match="Provider disconnected"):
        stream(server)


def test_stream_error_without_stream_is_a_body_error(server: LoopbackServer) -> None:
    server.add(StreamError())
    request = urllib.request.Request(server.base_url + "/chat/completions", data=b"{}", method="POST")
    with urllib.request.urlopen(request) as response:
        assert json.loads(response.read())["error"]["code"] == 502


def test_errors_in_status_and_body(server: LoopbackServer) -> None:
    server.add(
        HTTPError(status=402, message="Insufficient credits"),
        BodyError(code=429, message="slow down", metadata={"raw": "x"}),
    )
    with client(server) as c, pytest.raises(openai.APIStatusError) as info:
        c.chat.completions.create(model="m", messages=[])
    assert info.value.status_code == 402
    request = urllib.request.Request(server.base_url + "/chat/completions", data=b"{}", method="POST")
    with urllib.request.urlopen(request) as response:
        assert json.loads(response.read())["error"] == {
            "code": 429,
            "message": "slow down",
            "metadata": {"raw": "x"},
        }


def test_unknown_path_bad_json_and_empty_script(server: LoopbackServer) -> None:
    for path, data, status in [
        ("/v1/embeddings", b"{}", 404),
        ("/v1/chat/completions", b"{not json", 400),
        ("/v1/chat/completions", b"{}", 400),
    ]:
        request = urllib.request.Request(server.base_url.removesuffix("/v1") + path, data=data, method="POST")
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(request)
        assert info.value.code == status
        info.value.close()


def test_raw_dict_and_responder(server: LoopbackServer) -> None:
    server.add({"choices": [], "custom": True}, lambda body: f"echo {body['messages'][0]['content']}")
    with client(server) as c:
        first = c.chat.completions.with_raw_response.create(
            model="m", messages=[{"role": "user", "content": "a"}]
        )
        assert json.loads(first.http_response.content)["custom"] is True
        second = c.chat.completions.create(model="m", messages=[{"role": "user", "content": "b"}])
    assert second.choices[0].message.content == "echo b"
    assert server.requests[1].body["messages"][0]["content"] == "b"


def test_port_requires_a_started_server() -> None:
    with pytest.raises(AssertionError, match="start the server"):
        _ = LoopbackServer().port
