"""Idle connections are dropped before the server drops them: llama.cpp's server closes a connection idle
for 5 s, the SDK keeps one for 5 s, and a request sent on a connection the server is closing fails with
"Server disconnected without sending a response" (seen in CI on the local model, under load)."""

from __future__ import annotations

import time

from agentkit import Agent
from agentkit.local import LocalModel
from agentkit.models.openai import OpenAIChatModel
from agentkit.testing import LoopbackServer


class ShortKeepalive(OpenAIChatModel):
    keepalive_expiry = 0.3


def test_the_local_model_keeps_idle_connections_for_less_than_llama_cpp_does() -> None:
    assert LocalModel.keepalive_expiry is not None and LocalModel.keepalive_expiry < 5.0
    assert OpenAIChatModel.keepalive_expiry is None  # other servers: the SDK's default


def test_a_connection_idle_past_the_expiry_is_not_reused() -> None:
    with LoopbackServer(["one", "two", "three"]) as server:
        model = ShortKeepalive("m", base_url=server.base_url, api_key="test-key")
        agent = Agent(model)
        agent.run_sync("a")
        agent.run_sync("b")  # at once: the same connection
        time.sleep(0.6)
        agent.run_sync("c")  # after the expiry: a new one
    ports = [request.client_port for request in server.requests]
    assert ports[0] == ports[1] and ports[2] != ports[1]
