"""Watch a run as it happens: the answer as the model writes it, and each tool call as it runs.

Run: `python examples/streaming.py ["your question"]` (the model is chosen as in demo.py: OpenRouter with
OPENROUTER_API_KEY, your server with AGENTKIT_BASE_URL, else the embedded local model).
"""

from __future__ import annotations

import asyncio
import json
import sys

from agentkit_tools import calculator, current_time

from agentkit import Agent, AgentRunError, UserError
from agentkit.events import FeedbackSent, TextDelta, ToolCallFinished, ToolCallStarted

QUESTION = "What is 12.5% of 2,048, and what is the date today in UTC?"


async def watch(question: str) -> int:
    agent = Agent(
        instructions="Use the tools for arithmetic and for the date; then answer in one sentence.",
        tools=[calculator, current_time],
    )
    async with agent.run_stream(question) as stream:
        async for event in stream:
            if isinstance(event, TextDelta):
                print(event.text, end="", flush=True)
            elif isinstance(event, ToolCallStarted):
                print(f"-> {event.call.name}({json.dumps(dict(event.arguments))})", flush=True)
            elif isinstance(event, ToolCallFinished):
                mark = "!!" if event.is_error else "<-"
                print(f"{mark} {event.message.content[:100]} ({event.duration_s * 1000:.0f} ms)", flush=True)
            elif isinstance(event, FeedbackSent) and event.reason == "answer_questioned":
                print("\n(checking that answer again)", flush=True)  # the text above was provisional
    usage = stream.result.usage
    models = {m.model_name for m in stream.result.new_messages() if getattr(m, "model_name", None)}
    print(f"\n[{usage.requests} requests, {usage.tool_calls} tool calls, "
          f"{usage.input_tokens}+{usage.output_tokens} tokens, ${usage.cost_usd:.6f}, {', '.join(sorted(models))}]")  # fmt: skip
    return 0


def main(argv: list[str] | None = None) -> int:
    question = " ".join(argv if argv is not None else sys.argv[1:]) or QUESTION
    try:
        return asyncio.run(watch(question))
    except (UserError, AgentRunError) as exc:
        print(f"\nerror: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
