"""pydantic-ai (`pydantic-ai-slim[openai]`): `OpenAIChatModel` with a `google/` model name.

The OpenRouter provider supplies the Gemini model profile (its `GoogleJsonSchemaTransformer` variant), as it
would for a Gemini model behind an OpenAI-compatible gateway; the provider wraps an `AsyncOpenAI` client
pointed at the loopback server. Tools are the plain functions, pydantic-ai's idiom.

Streaming uses `agent.run_stream_events()`, the API its docs give for streaming a whole run, tool calls
included (`run_stream()` streams only the final response and is meant for output without tool calls
after it); the text is the `TextPart` a response starts with and the `TextPartDelta`s after it. The default
path is `OpenAIChatModel(name, provider=OpenAIProvider(base_url=..., api_key=...))` and `agent.run_sync()`,
as its docs show for an OpenAI-compatible server.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any

import harness
from pydantic_ai import (
    Agent,
    AgentRunResultEvent,
    PartDeltaEvent,
    PartStartEvent,
    TextPart,
    TextPartDelta,
    Tool,
)
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.providers.openai import OpenAIProvider
from pydantic_ai.providers.openrouter import OpenRouterProvider
from reference_tools import INSTRUCTIONS, REFERENCE_FUNCTIONS, pause_async, pause_sync
from server import MODEL_NAME

NAME = "pydantic-ai"
DISTRIBUTION = "pydantic-ai-slim"


def _model(base_url: str) -> OpenAIChatModel:
    provider = OpenRouterProvider(openai_client=harness.openai_client(base_url))
    return OpenAIChatModel(MODEL_NAME, provider=provider)


def build_tools(functions: Sequence[Callable[..., Any]] = REFERENCE_FUNCTIONS) -> list[dict[str, Any]]:
    """The reference set built anew, transformed by the Gemini profile as the model does per request."""
    transformer = OpenRouterProvider.model_profile(MODEL_NAME)["json_schema_transformer"]
    out = []
    for f in functions:
        definition = Tool(f).tool_def
        walker = transformer(definition.parameters_json_schema, strict=definition.strict)
        function = {
            "name": definition.name,
            "description": definition.description or "",
            "parameters": walker.walk(),
        }
        if definition.strict if definition.strict is not None else walker.is_strict_compatible:
            function["strict"] = True
        out.append({"type": "function", "function": function})
    return out


def make_run(base_url: str, toolset: str) -> harness.RunFn:
    tools: list[Any] = {
        "reference": list(REFERENCE_FUNCTIONS),
        "pause_sync": [pause_sync],
        "pause_async": [pause_async],
    }[toolset]
    agent = Agent(_model(base_url), tools=tools, instructions=INSTRUCTIONS)

    async def run(prompt: str) -> str:
        result = await agent.run(prompt)
        return result.output

    return run


def make_stream(base_url: str) -> harness.StreamFn:
    agent = Agent(_model(base_url), tools=list(REFERENCE_FUNCTIONS), instructions=INSTRUCTIONS)

    async def run(prompt: str, on_text: Callable[[str], None]) -> str:
        output = None
        async with agent.run_stream_events(prompt) as events:
            async for event in events:
                if isinstance(event, PartDeltaEvent) and isinstance(event.delta, TextPartDelta):
                    on_text(event.delta.content_delta)
                elif isinstance(event, PartStartEvent) and isinstance(event.part, TextPart):
                    on_text(event.part.content)
                elif isinstance(event, AgentRunResultEvent):
                    output = event.result.output
        return str(output)

    return run


def make_default(base_url: str) -> tuple[harness.SyncRunFn, harness.RunFn]:
    def agent() -> Agent[None, str]:
        model = OpenAIChatModel(MODEL_NAME, provider=OpenAIProvider(base_url=base_url, api_key="x"))
        return Agent(model, tools=list(REFERENCE_FUNCTIONS), instructions=INSTRUCTIONS)

    sync_agent, async_agent = agent(), agent()

    def run_sync(prompt: str) -> str:
        return sync_agent.run_sync(prompt).output

    async def run(prompt: str) -> str:
        return (await async_agent.run(prompt)).output

    return run_sync, run


if __name__ == "__main__":
    harness.main(sys.modules[__name__])
