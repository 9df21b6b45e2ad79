"""What tracing costs a run: the same agent with tracing off, on, and on with message content.

    python benchmarks/bench_tracing.py [--runs 200] [--rounds 15]

The agent (a `FunctionModel` asking for three tool calls over two turns, then answering: 3 chat spans,
3 tool spans and the run span) runs `--runs` times per round in each mode, the modes taking turns round
after round so that load on the machine touches them alike. Off is OpenTelemetry imported but no provider
configured (what an application without tracing gets); on is the SDK's `TracerProvider` with a
`SimpleSpanProcessor` into an `InMemorySpanExporter` (cleared every round), set with
`agentkit.instrumentation.configure`; unsampled is a provider whose sampler drops every span (agentkit's
own share: the spans are made but not recorded). Prints the median µs per run of each mode over the rounds, the ratio
to off and the µs tracing adds to one run; then what the SDK alone takes for 7 spans, for scale.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

from agentkit import Agent, AssistantMessage, tool
from agentkit import instrumentation as instr
from agentkit.messages import Message, ToolMessage
from agentkit.testing import FunctionModel, RequestInfo, tool_calls_response


@tool
def get_weather(city: str) -> str:
    """Current weather in a city.

    Args:
        city: City name.
    """
    return {"Oslo": "3°C, light snow", "Rome": "17°C, sunny"}.get(city, "unknown")


@tool
async def convert(celsius: float) -> float:
    """Celsius to Fahrenheit.

    Args:
        celsius: Degrees Celsius.
    """
    return celsius * 9 / 5 + 32


def respond(messages: list[Message], info: RequestInfo) -> AssistantMessage | str:
    if info.request_index % 3 == 0:
        return tool_calls_response([("get_weather", {"city": "Oslo"}), ("get_weather", {"city": "Rome"})])
    if info.request_index % 3 == 1:
        return tool_calls_response([("convert", {"celsius": 17})])
    results = [m.content for m in messages if isinstance(m, ToolMessage)]
    return f"Oslo and Rome: {', '.join(results)}"


async def one_round(agent: Agent[None, str], runs: int) -> float:
    """µs per run, over `runs` runs."""
    started = time.perf_counter()
    for _ in range(runs):
        await agent.run("Weather in Oslo and Rome, in Fahrenheit?")
    return (time.perf_counter() - started) / runs * 1e6


def sdk_alone(provider: TracerProvider, runs: int) -> float:
    """µs for the SDK to start and end a run's 7 spans (with as many attributes), with no agent around."""
    tracer = provider.get_tracer("bench")
    attributes = {f"attribute.{i}": i for i in range(8)}
    started = time.perf_counter()
    for _ in range(runs):
        for _ in range(7):
            tracer.start_span("span", attributes=attributes).end()
    return (time.perf_counter() - started) / runs * 1e6


async def main(runs: int, rounds: int) -> None:
    os.environ.pop(instr.CAPTURE_CONTENT_ENV, None)
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    agent: Agent[None, str] = Agent(FunctionModel(respond), tools=[get_weather, convert], name="weather")
    unsampled = TracerProvider(sampler=ALWAYS_OFF)
    modes = {
        "off": lambda: instr.configure(),
        "unsampled": lambda: instr.configure(tracer_provider=unsampled),
        "on": lambda: instr.configure(tracer_provider=provider),
        "on + content": lambda: instr.configure(tracer_provider=provider, capture_content=True),
    }
    for configure in modes.values():  # warm-up, and a check that each mode does what it says
        configure()
        await one_round(agent, 5)
    assert len(exporter.get_finished_spans()) == 2 * 5 * 7, "tracing did not record 7 spans per run"
    exporter.clear()
    timings: dict[str, list[float]] = {name: [] for name in modes}
    alone: list[float] = []
    for _ in range(rounds):
        for name, configure in modes.items():
            configure()
            timings[name].append(await one_round(agent, runs))
            exporter.clear()
        alone.append(sdk_alone(provider, runs))
        exporter.clear()
    instr.configure()
    print(
        f"{runs} runs x {rounds} rounds per mode; 7 spans per traced run; load average {os.getloadavg()[0]:.2f}"
    )
    off = statistics.median(timings["off"])
    print(f"{'mode':<14}{'median µs/run':>15}{'min':>10}{'max':>10}{'x off':>8}{'+µs/run':>10}")
    for name, values in timings.items():
        median = statistics.median(values)
        print(
            f"{name:<14}{median:>15.1f}{min(values):>10.1f}{max(values):>10.1f}"
            f"{median / off:>8.2f}{median - off:>10.1f}"
        )
    print(
        f"the SDK alone, 7 spans started and ended with no agent: {statistics.median(alone):.1f} µs (median)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200, help="runs per round and mode")
    parser.add_argument("--rounds", type=int, default=15, help="rounds (each mode once per round)")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.runs, arguments.rounds))
