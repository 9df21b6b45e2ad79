"""agentkit: `Agent` over `OpenAIChatModel` with a `google/` model name, so the Gemini profile and dialect.

Tools are made with `tool(f)`, which is what `@tool` does.
"""

from __future__ import annotations

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


if __name__ == "__main__":
    harness.main(sys.modules[__name__])
