"""What a durable run (DBOS, SQLite) adds per step to a plain run of the same agent.

    python benchmarks/bench_durable.py [--runs 15] [--turns 5]

One agent, a `ScriptedModel` asking for one tool call per turn for `--turns` turns, then answering: each run
is `turns + 1` model requests and `turns` tool calls, that is `2 * turns + 1` steps. It runs the plain
`agent.run_sync` and the README's `DBOSAgent(agent).run_sync` (DBOS on a SQLite file in a temporary folder)
alternately, `--runs` times each after one warm-up run, and prints the median time per run, the difference,
the difference per step, and the ratio. A model double answers at once, so the difference is DBOS's
checkpointing (a database write per step and per workflow start and end), not the network.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from dbos import DBOS

from agentkit import Agent, tool
from agentkit.durable import DBOSAgent
from agentkit.testing import ScriptedModel, tool_call_response


@tool
def lookup(key: int) -> str:
    """Look a key up.

    Args:
        key: The key.
    """
    return f"value {key}"


def script(turns: int) -> list[Any]:
    return [*(tool_call_response("lookup", {"key": n}) for n in range(turns)), "done"]


def timed(run: Any) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--turns", type=int, default=5)
    args = parser.parse_args()
    turns = args.turns
    steps = 2 * turns + 1
    agent = Agent(ScriptedModel([]), tools=[lookup], name="bench")
    durable = DBOSAgent(agent)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'dbos.sqlite'}"
        DBOS(config={"name": "bench-durable", "system_database_url": url, "log_level": "WARNING"})
        DBOS.launch()
        try:
            plain: list[float] = []
            kept: list[float] = []
            for index in range(args.runs + 1):
                p = timed(lambda: agent.run_sync("go", model=ScriptedModel(script(turns))))
                d = timed(lambda: durable.run_sync("go", model=ScriptedModel(script(turns))))
                if index:  # the first round warms both up
                    plain.append(p)
                    kept.append(d)
        finally:
            DBOS.destroy()
    p_ms, d_ms = statistics.median(plain) * 1000, statistics.median(kept) * 1000
    print(
        f"{turns} tool turns: {steps} steps per run ({turns + 1} requests, {turns} tool calls), {args.runs} runs each"
    )
    print(f"plain run    median {p_ms:8.2f} ms")
    print(f"durable run  median {d_ms:8.2f} ms   (DBOS, SQLite)")
    print(f"added        {d_ms - p_ms:8.2f} ms per run, {(d_ms - p_ms) / steps:.2f} ms per step")
    print(f"ratio        {d_ms / p_ms:8.1f}x")


if __name__ == "__main__":
    main()
