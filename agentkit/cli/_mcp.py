"""`agentkit mcp serve SPEC...`: agentkit tools as an MCP server over stdio, for any MCP client.

SPECs are the command line's tool specs (`tools.py`, `module`, `module:name`, a ready-made tool's name).
The server speaks MCP on stdin/stdout until the client closes stdin; nothing else is written to stdout.
Needs the `mcp` extra (`pip install 'agentkit[mcp]'`).
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from ._exit import CliError, ExitCode
from ._specs import load_tools

__all__ = ["add_mcp_parser", "mcp_command"]

DESCRIPTION = """\
Serve tools to MCP clients (Claude Desktop, IDEs, other agents) over stdio.

  agentkit mcp serve tools.py              every tool in tools.py
  agentkit mcp serve mytools:search calculator

Point a client at the command, for example {"command": "agentkit", "args": ["mcp", "serve", "tools.py"]}.
Calls are validated against the tools' schemas before they run; failures are MCP error results.
Tools that need approval (write_file, run_command, @tool(requires_approval=True)) ask the client's user
for each call (MCP elicitation); clients that cannot ask do not see them, unless --allow-unapproved.
"""


def add_mcp_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `agentkit mcp` (with `serve`) to the command line."""
    mcp = commands.add_parser(
        "mcp",
        help="serve tools as an MCP server over stdio",
        description=DESCRIPTION,
        epilog="exit codes:\n  0    the client closed the connection\n  2    misuse: tools that do not load, "
        "the mcp extra missing",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = mcp.add_subparsers(dest="mcp_command", metavar="ACTION", required=True)
    serve = actions.add_parser(
        "serve",
        help="serve tools over stdio",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument(
        "specs", nargs="+", metavar="SPEC", help="tools.py, module, module:name, calculator..."
    )
    serve.add_argument("--name", default="agentkit", help="the server's name, told to clients")
    serve.add_argument(
        "--allow-unapproved",
        action="store_true",
        help="offer tools that need approval to clients that cannot ask their user (no MCP elicitation), "
        "and run those calls WITHOUT approval",
    )


def mcp_command(args: argparse.Namespace) -> int:
    """Run `agentkit mcp serve`; returns the exit code."""
    tools = load_tools(args.specs)
    try:
        import mcp  # noqa: F401

        from ..mcp import approval_note, serve_stdio
    except ImportError as exc:
        raise CliError("agentkit mcp needs the mcp extra: pip install 'agentkit[mcp]'") from exc
    names = ", ".join(t.name for t in tools)
    print(f"agentkit mcp: serving {len(tools)} tool(s) over stdio: {names}", file=sys.stderr, flush=True)
    note = approval_note(tools, allow_unapproved=args.allow_unapproved)
    if note is not None:
        print(f"agentkit mcp: {note}", file=sys.stderr, flush=True)
    asyncio.run(serve_stdio(tools, name=args.name, allow_unapproved=args.allow_unapproved))
    return ExitCode.OK
