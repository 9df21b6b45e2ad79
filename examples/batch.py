"""Scripted automation: one agent over many inputs, writing one JSON line per input. Resumable.

Run: `python examples/batch.py questions.txt results.jsonl [--concurrency 4]`
Each input line becomes `{"input", "output", "usage", "error"}` in the output file. Lines already answered
(a run that was stopped, a CI job that timed out) are skipped when the same command runs again; failed ones
are retried. Exit status: 0 when every input has an answer, 1 otherwise (so CI notices).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import sys
from pathlib import Path

from agentkit_tools import calculator

from agentkit import Agent, AgentRunError

agent = Agent(instructions="Answer briefly. Use the calculator for any arithmetic.", tools=[calculator])


def done_inputs(path: Path) -> set[str]:
    """Inputs already answered without error in an earlier run."""
    done: set[str] = set()
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue  # a line cut short by a crash
            if record.get("error") is None:
                done.add(record["input"])
    return done


async def answer(prompt: str, limit: asyncio.Semaphore) -> dict[str, object]:
    async with limit:
        try:
            result = await agent.run(prompt)
        except AgentRunError as exc:
            return {"input": prompt, "output": None, "usage": None, "error": f"{type(exc).__name__}: {exc}"}
        return {
            "input": prompt,
            "output": result.output,
            "usage": dataclasses.asdict(result.usage),
            "error": None,
        }


async def run(inputs: list[str], out: Path, concurrency: int) -> int:
    done = done_inputs(out)
    todo = [i for i in dict.fromkeys(inputs) if i not in done]
    print(f"Model: {agent.model.describe()}; {len(todo)} to do, {len(done)} already done", file=sys.stderr)
    limit = asyncio.Semaphore(concurrency)
    failures = 0
    try:
        with out.open("a", encoding="utf-8") as sink:
            for next_done in asyncio.as_completed([answer(i, limit) for i in todo]):
                record = await next_done
                failures += record["error"] is not None
                sink.write(json.dumps(record, ensure_ascii=False) + "\n")
                sink.flush()  # every finished answer survives a crash
    finally:
        await agent.model.aclose()
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("inputs", type=Path, help="a text file, one prompt per line")
    parser.add_argument("output", type=Path, help="the JSON-lines file to append to")
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args(argv)
    prompts = [line.strip() for line in args.inputs.read_text(encoding="utf-8").splitlines() if line.strip()]
    return asyncio.run(run(prompts, args.output, max(1, args.concurrency)))


if __name__ == "__main__":
    raise SystemExit(main())
