"""The model several test modules build: the real `AsyncOpenAI` client against agentkit's `LoopbackServer`,
with no retries (a refusal the test provokes is seen at once)."""

from __future__ import annotations

from typing import Any

from agentkit.models.openai import OpenAIChatModel
from agentkit.models.profiles import ModelProfile
from agentkit.testing import LoopbackServer

GEMINI_2_0 = "google/gemini-2.0-flash-001"
KEY = "fake-loopback-test-key-0123456789"


def model_at(
    server: LoopbackServer, name: str = GEMINI_2_0, profile: ModelProfile | None = None
) -> OpenAIChatModel:
    """`name` (with its own profile, or `profile`) served by `server`."""
    return OpenAIChatModel(name, base_url=server.base_url, api_key=KEY, max_retries=0, profile=profile)


def logprobs(*alternatives: tuple[str, float], usage: dict[str, int] | None = None) -> dict[str, Any]:
    """A one-token completion with these alternatives of its first token (the likeliest first), as
    llama.cpp answers `logprobs: true, top_logprobs: N`."""
    top = [{"token": t, "logprob": p} for t, p in alternatives]
    completion: dict[str, Any] = {
        "choices": [
            {
                "message": {"role": "assistant", "content": alternatives[0][0]},
                "logprobs": {"content": [{**top[0], "top_logprobs": top}]},
            }
        ]
    }
    if usage is not None:
        completion["usage"] = usage
    return completion
