"""MCP call overhead: the same tool called directly and through an MCP server, in the same agent loop.

    python benchmarks/bench_mcp.py [--calls 50] [--rounds 7]

One agent run is a `ScriptedModel` issuing `--calls` tool calls, one per turn, then answering; the run's
wall time divided by the calls is the time per call (the loop's own cost included, the same on every side).
Sides, each measured `--rounds` times, interleaved round-robin so that other load on the machine spreads
over all of them:

- direct: `add` as a function tool (`tests/mcp_servers/served_tools.py`);
- stdio (agentkit mcp serve): the same `add` Tool, served by `agentkit mcp serve` over stdio;
- stdio (MCPServer): the same body in the mcp SDK's own server (`tests/mcp_servers/demo_server.py`);
- http (MCPServer): that server over streamable HTTP on 127.0.0.1;
- raw mcp.Client: the SDK's client calling the stdio MCPServer in a plain loop, no agent: the floor, so
  that (stdio MCPServer - direct) - raw is what agentkit's MCP toolset itself adds;
- MCPServerStdio.call_tool: the same calls through agentkit's MCP layer alone (no agent loop), to compare
  with the raw client.

The servers are started once and kept open with `async with agent:` (the README's pattern for many runs);
their start-up is timed apart. Prints per side the median µs per call, the ratio to direct and the
milliseconds an MCP call adds.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SERVERS = ROOT / "tests" / "mcp_servers"
sys.path[:0] = [str(ROOT), str(SERVERS)]

from agentkit import Agent  # noqa: E402
from agentkit.mcp import MCPServerHTTP, MCPServerStdio  # noqa: E402
from agentkit.testing import ScriptedModel, tool_call_response  # noqa: E402

RAW = "raw mcp.Client, no agent"
OURS = "MCPServerStdio.call_tool"


def script(calls: int) -> list[Any]:
    return [tool_call_response("add", {"a": i, "b": 1}) for i in range(calls)] + ["done"]


async def one_run(agent: Agent[None, str], calls: int) -> float:
    """Seconds per call of one run; checks that every call gave the right sum."""
    model = ScriptedModel(script(calls))
    started = time.perf_counter()
    result = await agent.run("add", model=model)
    elapsed = time.perf_counter() - started
    sums = [m.content for m in result.messages if m.role == "tool"]
    assert sums == [str(i + 1) for i in range(calls)], sums[:3]
    return elapsed / calls


def raw_client() -> Any:
    """The SDK's own client to the stdio MCPServer: the floor an MCP call costs, without agentkit."""
    from mcp import Client
    from mcp.client.stdio import StdioServerParameters

    return Client(StdioServerParameters(command=sys.executable, args=[str(SERVERS / "demo_server.py")]))


async def raw_calls(client: Any, calls: int) -> float:
    """Seconds per call of `calls` sequential `call_tool`s, no agent loop around them."""
    started = time.perf_counter()
    for i in range(calls):
        result = await client.call_tool("add", {"a": i, "b": 1})
        assert result.content[0].text == str(i + 1)
    return (time.perf_counter() - started) / calls


async def toolset_calls(server: MCPServerStdio, calls: int) -> float:
    """Seconds per call of `calls` sequential `server.call_tool`s (agentkit's MCP layer, no agent loop)."""
    started = time.perf_counter()
    for i in range(calls):
        assert await server.call_tool("add", {"a": i, "b": 1}) == str(i + 1)
    return (time.perf_counter() - started) / calls


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_http_server() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(SERVERS / "demo_server.py"), "http", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process, f"http://127.0.0.1:{port}/mcp"
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("the HTTP MCP server did not start") from None
            time.sleep(0.05)


async def main(calls: int, rounds: int) -> None:
    from served_tools import add

    env = {"PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tools")])}
    served = MCPServerStdio(
        sys.executable,
        ["-m", "agentkit", "mcp", "serve", "tests/mcp_servers/served_tools.py:add"],
        env=env,
        cwd=str(ROOT),
    )
    sdk = MCPServerStdio(sys.executable, [str(SERVERS / "demo_server.py")], allowed_tools=["add"])
    http_process, url = start_http_server()
    http = MCPServerHTTP(url, allowed_tools=["add"])
    sides: dict[str, Agent[None, str]] = {
        "direct": Agent(tools=[add], max_turns=calls + 1),
        "stdio (agentkit mcp serve)": Agent(toolsets=[served], max_turns=calls + 1),
        "stdio (MCPServer)": Agent(toolsets=[sdk], max_turns=calls + 1),
        "http (MCPServer)": Agent(toolsets=[http], max_turns=calls + 1),
    }
    try:
        async with AsyncExitStack() as stack:
            for name in list(sides)[1:]:
                started = time.perf_counter()
                await stack.enter_async_context(sides[name])
                print(f"start-up {name}: {(time.perf_counter() - started) * 1000:.0f} ms")
            raw = await stack.enter_async_context(raw_client())
            for agent in sides.values():  # warm-up: imports, first connections, schema caches
                await one_run(agent, 3)
            await raw_calls(raw, 3)
            per_call: dict[str, list[float]] = {name: [] for name in [*sides, RAW, OURS]}
            for _ in range(rounds):
                for name, agent in sides.items():
                    per_call[name].append(await one_run(agent, calls))
                per_call[RAW].append(await raw_calls(raw, calls))
                per_call[OURS].append(await toolset_calls(sdk, calls))
    finally:
        http_process.terminate()
        http_process.wait(10)
    direct = statistics.median(per_call["direct"])
    print(f"\n{calls} calls per run, {rounds} rounds; median per call (min-max over rounds)")
    print(f"{'side':28} {'µs/call':>9} {'range':>17} {'ratio':>7} {'added ms/call':>14}")
    for name, values in per_call.items():
        median = statistics.median(values)
        spread = f"{min(values) * 1e6:.0f}-{max(values) * 1e6:.0f}"
        added = (median - direct) * 1000
        print(f"{name:28} {median * 1e6:9.0f} {spread:>17} {median / direct:6.1f}x {added:14.3f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=50, help="tool calls per run")
    parser.add_argument("--rounds", type=int, default=7, help="runs per side")
    options = parser.parse_args()
    asyncio.run(main(options.calls, options.rounds))
