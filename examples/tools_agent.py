"""An agent with ready-made tools: it reads a CSV file in a folder, adds up with the calculator and writes a report.

Run: `python examples/tools_agent.py [folder]`
Without a folder it works in a new temporary folder holding a small sample `sales.csv`. The file tools cannot
leave the folder; writing is switched on (`write=True`) and, as this example runs unattended, without a
person's approval of each write (`require_approval=False`): only do that for a folder you can lose.
The model comes from the environment (see the README's configuration table).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from agentkit_tools import calculator, data, files

from agentkit import Agent

SAMPLE = "region,product,amount\nNorth,tea,1200\nSouth,tea,640\nNorth,coffee,850.50\nSouth,coffee,990\n"
TASK = "How much did the North region sell in total? Use sales.csv, then write the answer to report.md."


def build_agent(folder: Path) -> Agent:
    return Agent(
        instructions="You work with the files in one folder. Look at the files first, query the data, use the "
        "calculator for every sum, and write what you are asked to write. Answer in one sentence.",
        tools=[*files(folder, write=True, require_approval=False), *data(folder), calculator],
    )


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    folder = Path(args[0]) if args else Path(tempfile.mkdtemp(prefix="agentkit-tools-"))
    if not (folder / "sales.csv").exists():
        (folder / "sales.csv").write_text(SAMPLE)
    agent = build_agent(folder)
    print(f"Model: {agent.model.describe()}\nFolder: {folder}")
    result = agent.run_sync(TASK)
    print(result.output)
    report = folder / "report.md"
    if report.exists():
        print(f"--- report.md ---\n{report.read_text()}")
    print(f"[{result.usage.requests} requests, {result.usage.tool_calls} tool calls]")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
