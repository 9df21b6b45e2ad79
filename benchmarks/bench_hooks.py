"""What hooks cost a run: the same agent with no hooks, with 3 no-op hooks, and with 3 hooks that have all
six methods (each doing nothing), side by side.

    python benchmarks/bench_hooks.py [--base-url URL] [--runs 200] [--rounds 9] [--json OUT.json]

The agent is runner_agentkit's (`OpenAIChatModel` through the shared `AsyncOpenAI` client, the 10 reference
tools, the 2-turn scenario: one request with a tool call, one with the answer) against the benchmark server
(`server.py`, started here unless `--base-url` is given). "3 no-op hooks" is `hooks=[Hooks(), Hooks(),
Hooks()]`: agentkit finds once, when the agent is made, that they override nothing, so the run calls
nothing. "3 hooks, all methods" is three objects each with `before_run`, `before_request`,
`after_response`, `before_tool_call`, `after_tool_call` and `after_run`, async, returning `None`: every one
is awaited at its point (18 awaits over the run's 2 requests and 1 tool call), the worst case of a hook that
does nothing. The variants take turns round after round (so load on the machine touches them alike); each
round times `--runs` sequential runs per variant, each variant going first in turn. Prints the median over
the rounds of each variant's median µs per run, its ratio to no hooks, and the median of the per-round
ratios (`paired`: each round's variant over the same round's no-hooks run, which cancels slow drift in the
machine's load). The target: 3 no-op hooks cost at most 3% more than none.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

import harness  # noqa: E402
from reference_tools import INSTRUCTIONS, REFERENCE_FUNCTIONS  # noqa: E402
from server import MODEL_NAME  # noqa: E402

from agentkit import Agent, Hooks, tool  # noqa: E402
from agentkit.models.openai import OpenAIChatModel  # noqa: E402

PROMPT = "scenario=2turn Please help me with my errands."
EXPECTED = harness.EXPECTED_OUTPUT["2turn"]


class AllMethods:
    """A hook with every method, doing nothing."""

    async def before_run(self, ctx: Any) -> None:
        return None

    async def before_request(self, ctx: Any, request: Any) -> None:
        return None

    async def after_response(self, ctx: Any, response: Any) -> None:
        return None

    async def before_tool_call(self, ctx: Any, call: Any, arguments: Any) -> None:
        return None

    async def after_tool_call(self, ctx: Any, call: Any, result: Any) -> None:
        return None

    async def after_run(self, ctx: Any, result: Any, error: Any) -> None:
        return None


VARIANTS: dict[str, list[object]] = {
    "none": [],
    "3 no-op hooks": [Hooks(), Hooks(), Hooks()],
    "3 hooks, all methods": [AllMethods(), AllMethods(), AllMethods()],
}


async def measure(base_url: str, runs: int, rounds: int) -> dict[str, Any]:
    model = OpenAIChatModel(MODEL_NAME, client=harness.openai_client(base_url))
    tools = [tool(f) for f in REFERENCE_FUNCTIONS]
    agents = {
        name: Agent(model=model, tools=tools, instructions=INSTRUCTIONS, hooks=hooks)
        for name, hooks in VARIANTS.items()
    }
    for agent in agents.values():  # warm-up: lazy imports, the connection pool, caches
        for _ in range(max(3, runs // 10)):
            await _run(agent)
    medians: dict[str, list[float]] = {name: [] for name in agents}
    names = list(agents)
    for index in range(rounds):
        shift = index % len(names)  # each variant goes first in turn: no variant pays for going first
        for name in names[shift:] + names[:shift]:
            samples = []
            for _ in range(runs):
                start = time.perf_counter_ns()
                await _run(agents[name])
                samples.append((time.perf_counter_ns() - start) / 1000)
            medians[name].append(statistics.median(samples))
    base = medians["none"]
    return {
        name: {
            "run_us": statistics.median(values),
            "rounds_us": values,
            "ratio": statistics.median(values) / statistics.median(base),
            "paired_ratio": statistics.median(v / b for v, b in zip(values, base, strict=True)),
        }
        for name, values in medians.items()
    }


async def _run(agent: Agent[Any, Any]) -> None:
    output = (await agent.run(PROMPT)).output
    if output != EXPECTED:
        raise RuntimeError(f"unexpected output {output!r}, wanted {EXPECTED!r}")


def render(results: dict[str, Any]) -> str:
    lines = [f"{'variant':<22} {'µs/run':>9} {'ratio':>7} {'paired':>7}"]
    for name, figures in results.items():
        lines.append(
            f"{name:<22} {figures['run_us']:>9.0f} {figures['ratio']:>7.3f} {figures['paired_ratio']:>7.3f}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", help="a running server.py (ending in /v1); default: start one")
    parser.add_argument("--runs", type=int, default=200, help="sequential runs per variant and round")
    parser.add_argument("--rounds", type=int, default=9, help="rounds, the variants taking turns")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    server = None
    base_url = args.base_url
    if base_url is None:
        server = subprocess.Popen(
            [sys.executable, str(HERE / "server.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert server.stdout is not None
        base_url = f"http://127.0.0.1:{int(server.stdout.readline())}/v1"
    try:
        results = asyncio.run(measure(base_url, args.runs, args.rounds))
    finally:
        if server is not None:
            assert server.stdin is not None
            server.stdin.close()
            server.wait(timeout=10)
    print(render(results))
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
