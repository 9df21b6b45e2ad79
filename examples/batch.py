"""Many inputs through one agent with the library API: concurrent runs, answers and cost collected.

Run: `python examples/batch.py "What is 2+2?" "What is 3*3?"`
For a file of thousands of tasks with progress, resume and a budget, use the command instead:
`agentkit batch tasks.jsonl --out results.jsonl --tools calculator` (see the README's "Command line").
"""

from __future__ import annotations

import asyncio
import sys

from agentkit_tools import calculator

from agentkit import Agent, AgentRunError, Usage

agent = Agent(instructions="Answer briefly. Use the calculator for any arithmetic.", tools=[calculator])


async def answer_all(prompts: list[str], concurrency: int = 4) -> list[str | AgentRunError]:
    """Each prompt's answer, or the error its run ended with; at most `concurrency` runs at once."""
    limit = asyncio.Semaphore(concurrency)
    total = Usage()

    async def one(prompt: str) -> str | AgentRunError:
        async with limit:
            try:
                result = await agent.run(prompt)
            except AgentRunError as exc:
                total.add(exc.usage or Usage())
                return exc
            total.add(result.usage)
            return result.output

    try:
        answers = await asyncio.gather(*(one(p) for p in prompts))
    finally:
        await agent.model.aclose()
    print(f"[{total.requests} requests, {total.total_tokens} tokens, ${total.cost_usd:.6f}]", file=sys.stderr)
    return answers


def main(argv: list[str] | None = None) -> int:
    prompts = sys.argv[1:] if argv is None else argv
    answers = asyncio.run(answer_all(prompts))
    for prompt, answer in zip(prompts, answers, strict=True):
        shown = f"error: {type(answer).__name__}: {answer}" if isinstance(answer, Exception) else answer
        print(f"{prompt} -> {shown}")
    return 1 if any(isinstance(a, Exception) for a in answers) else 0


if __name__ == "__main__":
    raise SystemExit(main())
