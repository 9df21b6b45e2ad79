"""What carrying a thinking model's reasoning costs a run: a 2-turn tool run with and without it.

    python benchmarks/bench_reasoning.py [--runs 2000] [--check]

The run is the one the README shows (an `Agent` over `OpenAIChatModel`, through the real `AsyncOpenAI`
client), on a Gemini 3 model that asks for one tool call, then answers: 2 requests. The model is a loopback
inside the process (an `httpx2.MockTransport` answering pre-rendered bytes), so what is timed is agentkit's
own overhead (and the SDK's), with no server time in it. Three kinds of replies, otherwise the same:

* `none`: no reasoning at all (a model that does not think, or hides it);
* `text`: the reasoning text (`reasoning`, streamed as `reasoning` deltas: `ThinkingDelta`s);
* `details`: that, plus what OpenRouter sends for Gemini 3 to carry back: a `reasoning.text` detail and a
  `reasoning.encrypted` one holding a 2 KB signature, which agentkit merges (streamed), keeps on the
  message and sends back on the second request.

"Carrying the details" is `details` against `text`: the bound issue 20 sets (at most 2% of a 2-turn run's
overhead) is on it. `details` against `none` is everything thinking adds, the thinking text's own events
included. Runs go plainly and streamed, one run of each kind in turn (who goes first rotating), timed in
the process's CPU time (all of it is CPU work here; other processes' load would swamp wall time on a busy
machine). Prints the median CPU µs per run of each kind, the ratios, and the median of the paired
differences. `--check` exits 1 when carrying the details adds more than 2%.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import statistics
import sys
import time
from typing import Any

import httpx2
from openai import AsyncOpenAI

from agentkit import Agent, tool
from agentkit.models.openai import OpenAIChatModel

MODEL = "google/gemini-3-flash-preview"
BOUND = 0.02
"""The most carrying reasoning may add to a 2-turn run's overhead."""
THOUGHT = "The user asks for the sum of two numbers; the add tool computes it, so I call it once. " * 8
SIGNATURE = base64.b64encode(bytes(range(256)) * 6).decode("ascii")  # 2 KB, like Gemini's


@tool
def add(a: int, b: int) -> int:
    """Add two numbers.

    Args:
        a: The first.
        b: The second.
    """
    return a + b


def details(call_id: str) -> list[dict[str, Any]]:
    return [
        {"type": "reasoning.text", "text": THOUGHT, "format": "google-gemini-v1", "index": 0},
        {
            "type": "reasoning.encrypted",
            "data": SIGNATURE,
            "id": call_id,
            "format": "google-gemini-v1",
            "index": 1,
        },
    ]


KINDS = ("none", "text", "details")


def replies(kind: str) -> list[dict[str, Any]]:
    """The two assistant messages of the run, as wire dicts, with the reasoning of `kind`."""
    call = {
        "id": "tool_add_0",
        "type": "function",
        "function": {"name": "add", "arguments": '{"a": 17, "b": 25}'},
    }
    first: dict[str, Any] = {"role": "assistant", "content": None, "tool_calls": [call]}
    last: dict[str, Any] = {"role": "assistant", "content": "17 + 25 = 42."}
    if kind != "none":
        first["reasoning"] = THOUGHT
        last["reasoning"] = "The result is in; I answer."
    if kind == "details":
        first["reasoning_details"] = details("tool_add_0")
    return [first, last]


USAGE = {"prompt_tokens": 60, "completion_tokens": 20, "total_tokens": 80, "cost": 0.00002}


def completion(message: dict[str, Any]) -> bytes:
    finish = "tool_calls" if message.get("tool_calls") else "stop"
    body = {
        "id": "gen-1",
        "model": MODEL,
        "object": "chat.completion",
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": USAGE,
    }
    return json.dumps(body).encode()


def stream(message: dict[str, Any]) -> bytes:
    """SSE as OpenRouter streams it: reasoning first (details in fragments), then text or the call."""

    def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        body = {"id": "gen-1", "model": MODEL, "object": "chat.completion.chunk", "choices": [choice]}
        return f"data: {json.dumps(body)}\n\n"

    events = []
    thought = message.get("reasoning") or ""
    for start in range(0, len(thought), 64):
        events.append(chunk({"role": "assistant", "content": "", "reasoning": thought[start : start + 64]}))
    for detail in message.get("reasoning_details") or ():
        events.append(chunk({"reasoning_details": [detail]}))
    text = message.get("content") or ""
    for start in range(0, len(text), 8):
        events.append(chunk({"content": text[start : start + 8]}))
    for index, call in enumerate(message.get("tool_calls") or ()):
        events.append(chunk({"tool_calls": [{**call, "index": index}]}))
    events.append(chunk({}, "tool_calls" if message.get("tool_calls") else "stop"))
    usage = {"id": "gen-1", "model": MODEL, "object": "chat.completion.chunk", "choices": [], "usage": USAGE}
    events.append(f"data: {json.dumps(usage)}\n\n")
    events.append("data: [DONE]\n\n")
    return "".join(events).encode()


class Loopback:
    """Answers each request with the pre-rendered reply of its turn (the number of assistant messages in it)."""

    def __init__(self, kind: str) -> None:
        messages = replies(kind)
        self.plain = [completion(m) for m in messages]
        self.streamed = [stream(m) for m in messages]
        self.last_body: dict[str, Any] = {}

    async def __call__(self, request: httpx2.Request) -> httpx2.Response:
        body = json.loads(request.content)
        self.last_body = body
        turn = sum(1 for m in body["messages"] if m["role"] == "assistant")
        if body.get("stream"):
            headers = {"content-type": "text/event-stream"}
            return httpx2.Response(200, content=self.streamed[turn], headers=headers)
        return httpx2.Response(200, content=self.plain[turn], headers={"content-type": "application/json"})


def agent_for(loopback: Loopback) -> Agent[None, str]:
    client = AsyncOpenAI(
        base_url="http://loopback.test/v1",
        api_key="bench",
        http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(loopback)),
    )
    return Agent(OpenAIChatModel(MODEL, client=client), tools=[add])


async def one_run(agent: Agent[None, str], streamed: bool) -> str:
    if not streamed:
        return (await agent.run("What is 17 + 25?")).output
    async with agent.run_stream("What is 17 + 25?") as run:
        async for _ in run:
            pass
    return run.result.output


async def timed_run(agent: Agent[None, str], streamed: bool) -> float:
    """CPU µs of one run (the process's CPU time: everything here is CPU work, and other processes' load
    does not count, as it would in wall time on a busy machine)."""
    started = time.process_time()
    await one_run(agent, streamed)
    return (time.process_time() - started) * 1e6


async def check_kinds(loopbacks: dict[str, Loopback], agents: dict[str, Agent[None, str]]) -> None:
    """Each kind does what it says: the second request carries the details exactly, or none."""
    for streamed in (False, True):
        for kind, agent in agents.items():
            assert await one_run(agent, streamed) == "17 + 25 = 42."
            sent = loopbacks[kind].last_body["messages"][1]
            assert ("reasoning" in sent) == (kind != "none")
            if kind == "details":
                assert json.dumps(sent["reasoning_details"]) == json.dumps(details("tool_add_0"))
            else:
                assert "reasoning_details" not in sent


async def measure(runs: int) -> dict[str, dict[str, list[float]]]:
    """Per way (plain, streamed): the CPU µs of `runs` runs of each kind, one of each in turn."""
    loopbacks = {kind: Loopback(kind) for kind in KINDS}
    agents = {kind: agent_for(loopback) for kind, loopback in loopbacks.items()}
    await check_kinds(loopbacks, agents)
    timings: dict[str, dict[str, list[float]]] = {}
    for streamed in (False, True):
        for _ in range(max(10, runs // 10)):  # warm-up
            for agent in agents.values():
                await one_run(agent, streamed)
        samples: dict[str, list[float]] = {kind: [] for kind in KINDS}
        for index in range(runs):
            shift = index % len(KINDS)
            for kind in KINDS[shift:] + KINDS[:shift]:
                samples[kind].append(await timed_run(agents[kind], streamed))
        timings["streamed" if streamed else "plain"] = samples
    return timings


def report(timings: dict[str, dict[str, list[float]]], runs: int) -> float:
    """Print the table; returns the largest extra share of carrying the details (details / text - 1)."""
    print(f"{runs} runs of each kind, plain and streamed; CPU time; load average {os.getloadavg()[0]:.2f}")
    print(
        f"{'run':<10}{'none µs':>10}{'text µs':>10}{'details µs':>12}"
        f"{'details/text':>14}{'paired +µs':>12}{'details/none':>14}{'paired +µs':>12}"
    )
    worst = 0.0
    for way, kinds in timings.items():
        medians = {kind: statistics.median(values) for kind, values in kinds.items()}

        def paired(base: str, kinds: dict[str, list[float]] = kinds) -> float:
            return statistics.median(d - b for d, b in zip(kinds["details"], kinds[base], strict=True))

        carrying = medians["details"] / medians["text"]
        worst = max(worst, carrying - 1)
        print(
            f"{way:<10}{medians['none']:>10.1f}{medians['text']:>10.1f}{medians['details']:>12.1f}"
            f"{carrying:>14.3f}{paired('text'):>12.1f}"
            f"{medians['details'] / medians['none']:>14.3f}{paired('none'):>12.1f}"
        )
    return worst


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2000, help="runs of each kind, plain and streamed")
    parser.add_argument(
        "--check", action="store_true", help=f"exit 1 when carrying the details adds more than {BOUND:.0%}"
    )
    args = parser.parse_args(argv)
    timings = asyncio.run(measure(args.runs))
    worst = report(timings, args.runs)
    print(f"carrying the reasoning details adds {worst:.1%} to a 2-turn run's overhead (bound {BOUND:.0%})")
    if args.check and worst > BOUND:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
