"""agentkit: `Agent` over `OpenAIChatModel` with a `google/` model name, so the Gemini profile and dialect.

Tools are made with `tool(f)`, which is what `@tool` does. Streaming is `agent.run_stream()`, its text the
`TextDelta` events. The default path is what the README shows: `Agent(tools=..., instructions=...)` with no
model or client, configured from the environment (`AGENTKIT_BASE_URL`, `AGENTKIT_MODEL`, `AGENTKIT_API_KEY`,
which run.py sets for this process), and `agent.run_sync(prompt)` / `await agent.run(prompt)`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

import harness
from reference_tools import INSTRUCTIONS, REFERENCE_FUNCTIONS, pause_async, pause_sync
from server import MODEL_NAME

from agentkit import Agent, tool
from agentkit.models.openai import OpenAIChatModel

NAME = "agentkit"
DISTRIBUTION = "agentkit"

REFERENCE_TOOLS = [tool(f) for f in REFERENCE_FUNCTIONS]


def build_tools(functions: Sequence[Callable[..., Any]] = REFERENCE_FUNCTIONS) -> list[dict[str, Any]]:
    """The reference set built anew, in the Gemini dialect."""
    return [tool(f).openai_tool(dialect="gemini") for f in functions]


def make_run(base_url: str, toolset: str) -> harness.RunFn:
    tools: list[Any] = {
        "reference": REFERENCE_TOOLS,
        "pause_sync": [tool(pause_sync)],
        "pause_async": [tool(pause_async)],
    }[toolset]
    model = OpenAIChatModel(MODEL_NAME, client=harness.openai_client(base_url))
    agent = Agent(model=model, tools=tools, instructions=INSTRUCTIONS)

    async def run(prompt: str) -> str:
        result = await agent.run(prompt)
        return str(result.output)

    return run


def make_stream(base_url: str) -> harness.StreamFn:
    if not hasattr(Agent, "run_stream"):
        raise RuntimeError("this agentkit has no Agent.run_stream")
    from agentkit.events import TextDelta

    model = OpenAIChatModel(MODEL_NAME, client=harness.openai_client(base_url))
    agent = Agent(model=model, tools=REFERENCE_TOOLS, instructions=INSTRUCTIONS)

    async def run(prompt: str, on_text: Callable[[str], None]) -> str:
        async with agent.run_stream(prompt) as stream:
            async for event in stream:
                if isinstance(event, TextDelta):
                    on_text(event.text)
        return str(stream.result.output)

    return run


def make_default(base_url: str) -> tuple[harness.SyncRunFn, harness.RunFn]:
    wanted = {"AGENTKIT_BASE_URL": base_url, "AGENTKIT_MODEL": MODEL_NAME}
    if wrong := {k: os.environ.get(k) for k, v in wanted.items() if os.environ.get(k) != v}:
        raise RuntimeError(
            f"the default path reads the environment; set {wanted} (and AGENTKIT_API_KEY), got {wrong}"
        )
    sync_agent = Agent(tools=REFERENCE_TOOLS, instructions=INSTRUCTIONS)
    async_agent = Agent(tools=REFERENCE_TOOLS, instructions=INSTRUCTIONS)

    def run_sync(prompt: str) -> str:
        return str(sync_agent.run_sync(prompt).output)

    async def run(prompt: str) -> str:
        return str((await async_agent.run(prompt)).output)

    return run_sync, run


if __name__ == "__main__":
    harness.main(sys.modules[__name__])
