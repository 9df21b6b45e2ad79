"""The `agentkit` command: the parser, and each command's errors turned into one line and an exit code.

Commands live in their own modules and are imported when chosen, so `agentkit --help` stays quick.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from .._version import __version__
from ._exit import EXIT_CODES_HELP, CliError, ExitCode

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    from ._batch import add_batch_parser
    from ._chat import add_chat_parser
    from ._eval import add_eval_parser
    from ._mcp import add_mcp_parser
    from ._run import add_run_parser
    from ._tools import add_tools_parser
    from ._web import add_web_parser

    parser = argparse.ArgumentParser(
        prog="agentkit",
        description="agentkit command line: run an agent on a task, chat with it, run it over a file of tasks, "
        "evaluate it on a case file, inspect tools, serve tools over MCP, serve the local model.",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"agentkit {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    add_run_parser(commands)
    add_chat_parser(commands)
    add_batch_parser(commands)
    add_eval_parser(commands)
    add_tools_parser(commands)
    add_mcp_parser(commands)
    add_web_parser(commands)
    local = commands.add_parser(
        "local",
        help="serve the local model (OpenAI-compatible) on 127.0.0.1 until Ctrl-C",
        description="Run the embedded llama.cpp server in the foreground; point AGENTKIT_BASE_URL at the "
        "URL it prints. Needs `pip install 'agentkit[local]'`. Exits 0 after Ctrl-C, 1 when the server "
        "could not start or died.",
    )
    local.add_argument("--port", type=int, default=None, help="port to listen on (default: a free one)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `agentkit` command with `argv` (default: the process's arguments); returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "run":
            from ._run import run_command

            return run_command(args)
        if args.command == "chat":
            from ._chat import chat_command

            return chat_command(args)
        if args.command == "batch":
            from ._batch import batch_command

            return batch_command(args)
        if args.command == "eval":
            from ._eval import eval_command

            return eval_command(args)
        if args.command == "tools":
            from ._tools import tools_command

            return tools_command(args)
        if args.command == "mcp":
            from ._mcp import mcp_command

            return mcp_command(args)
        if args.command == "web":
            from ._web import web_command

            return web_command(args)
        if args.command == "local":
            return _local(args.port)
    except CliError as exc:
        print(f"agentkit {args.command}: error: {exc.message}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        print(f"agentkit {args.command}: interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED
    except BrokenPipeError:  # stdout closed early (`agentkit tools ... | head`): not an error worth a trace
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return ExitCode.OK
    parser.print_help()
    return ExitCode.USAGE


def _local(port: int | None) -> int:
    from ..local import LocalModelError, LocalServerError, serve_forever

    try:
        return serve_forever(port)
    except (LocalModelError, LocalServerError) as exc:
        print(f"agentkit local: {exc}", file=sys.stderr)
        return 1
