"""openai-agents: `Agent` + `Runner.run` over `OpenAIChatCompletionsModel`, tracing off.

The SDK has no Gemini schema form: it sends its strict schemas whatever the model, so that is what is
measured. Tools are made with `function_tool`, which is what `@function_tool` does.

Streaming is `Runner.run_streamed(...).stream_events()`; the text is the `ResponseTextDeltaEvent`s inside
`raw_response_event`s. The default path is `Runner.run_sync()` over an `OpenAIChatCompletionsModel` on an
`AsyncOpenAI` built with `base_url` and `api_key`, tracing disabled.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

os.environ.setdefault("OPENAI_AGENTS_DISABLE_TRACING", "1")

import harness
import openai
from agents import Agent, OpenAIChatCompletionsModel, Runner, function_tool, set_tracing_disabled
from agents.models.chatcmpl_converter import Converter
from openai.types.responses import ResponseTextDeltaEvent
from reference_tools import INSTRUCTIONS, REFERENCE_FUNCTIONS, pause_async, pause_sync
from server import MODEL_NAME

NAME = "openai-agents"
DISTRIBUTION = "openai-agents"
MAX_TURNS = 50

set_tracing_disabled(True)  # no trace export (it would try to reach api.openai.com)

REFERENCE_TOOLS = [function_tool(f) for f in REFERENCE_FUNCTIONS]


def build_tools(functions: Sequence[Callable[..., Any]] = REFERENCE_FUNCTIONS) -> list[dict[str, Any]]:
    """The reference set built anew and converted as the chat-completions model does per request."""
    return [dict(Converter.tool_to_openai(function_tool(f))) for f in functions]


def make_run(base_url: str, toolset: str) -> harness.RunFn:
    tools: list[Any] = {
        "reference": REFERENCE_TOOLS,
        "pause_sync": [function_tool(pause_sync)],
        "pause_async": [function_tool(pause_async)],
    }[toolset]
    model = OpenAIChatCompletionsModel(model=MODEL_NAME, openai_client=harness.openai_client(base_url))
    agent = Agent(name="bench", instructions=INSTRUCTIONS, tools=tools, model=model)

    async def run(prompt: str) -> str:
        result = await Runner.run(agent, prompt, max_turns=MAX_TURNS)
        return str(result.final_output)

    return run


def make_stream(base_url: str) -> harness.StreamFn:
    model = OpenAIChatCompletionsModel(model=MODEL_NAME, openai_client=harness.openai_client(base_url))
    agent = Agent(name="bench", instructions=INSTRUCTIONS, tools=REFERENCE_TOOLS, model=model)

    async def run(prompt: str, on_text: Callable[[str], None]) -> str:
        result = Runner.run_streamed(agent, prompt, max_turns=MAX_TURNS)
        async for event in result.stream_events():
            if event.type == "raw_response_event" and isinstance(event.data, ResponseTextDeltaEvent):
                on_text(event.data.delta)
        return str(result.final_output)

    return run


def make_default(base_url: str) -> tuple[harness.SyncRunFn, harness.RunFn]:
    def agent() -> Agent[Any]:
        client = openai.AsyncOpenAI(base_url=base_url, api_key="x")
        model = OpenAIChatCompletionsModel(model=MODEL_NAME, openai_client=client)
        return Agent(name="bench", instructions=INSTRUCTIONS, tools=REFERENCE_TOOLS, model=model)

    sync_agent, async_agent = agent(), agent()

    def run_sync(prompt: str) -> str:
        return str(Runner.run_sync(sync_agent, prompt, max_turns=MAX_TURNS).final_output)

    async def run(prompt: str) -> str:
        return str((await Runner.run(async_agent, prompt, max_turns=MAX_TURNS)).final_output)

    return run_sync, run


if __name__ == "__main__":
    harness.main(sys.modules[__name__])
