"""Test doubles for agentkit and for your own tests of agents.

- `ScriptedModel`: answers from a list (texts, `AssistantMessage`s, exceptions) and records each request.
- `FunctionModel`: a function of the messages decides each answer.
- `LoopbackServer`: an OpenRouter-compatible HTTP server on 127.0.0.1, to test the real `AsyncOpenAI` path;
  with `thought_signatures=`, a Gemini 3 thinking model that refuses a tool-call turn sent back unsigned.
- `check_gemini_history(body)`: what Gemini would refuse in a request's history (`LoopbackServer(check=...)`
  refuses such requests with HTTP 400, as Gemini does).
- `cassette(path)`: record a run's HTTP exchanges to a JSON file, replay them offline (`CassetteMismatchError`
  when a request changed); the pytest fixture `agentkit_cassette` keeps one per test.
- `block_model_requests()` / `allow_model_requests()`: the guard that makes real model requests fail in tests.
"""

from __future__ import annotations

from ..models._guard import allow_model_requests, block_model_requests
from ._cassette import Cassette, CassetteMismatchError, Interaction, cassette
from ._doubles import (
    FunctionModel,
    RecordedRequest,
    RequestInfo,
    ScriptedModel,
    last_user_text,
    text_response,
    tool_call_response,
    tool_calls_response,
)
from ._gemini import check_gemini_history
from ._loopback import BodyError, HTTPError, LoopbackServer, RawStream, RecordedHTTPRequest, StreamError

__all__ = [
    "BodyError",
    "Cassette",
    "CassetteMismatchError",
    "FunctionModel",
    "HTTPError",
    "Interaction",
    "LoopbackServer",
    "RawStream",
    "RecordedHTTPRequest",
    "RecordedRequest",
    "RequestInfo",
    "ScriptedModel",
    "StreamError",
    "allow_model_requests",
    "block_model_requests",
    "cassette",
    "check_gemini_history",
    "last_user_text",
    "text_response",
    "tool_call_response",
    "tool_calls_response",
]
