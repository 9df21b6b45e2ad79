"""`agentkit web SPEC`: a web page to talk to an agent and watch it work (`agentkit.web`)."""

from __future__ import annotations

import argparse
from typing import Any

from ..agent import Agent
from ..exceptions import UserError
from ._exit import EXIT_CODES_HELP, CliError, ExitCode, one_line
from ._options import TOOL_SPECS_HELP, add_agent_arguments, build_agent, positive_int
from ._specs import load_object

__all__ = ["add_web_parser", "web_command"]

DESCRIPTION = f"""\
Serve a web page to talk to an agent and watch it work: the answer as it streams, each tool call with its
arguments, result and duration, Approve / Deny for calls that need approval, usage and cost, uploads, and
past chats. Prints the URL to open (it carries a random token: requests without it are refused) and serves
until Ctrl-C. Needs `pip install 'agentkit[web]'`.

SPEC names an Agent (file.py:name or module:name), or tools as --tools takes them.

{TOOL_SPECS_HELP}"""


def add_web_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `agentkit web` to the command line."""
    web = commands.add_parser(
        "web",
        help="serve a web page to talk to an agent (and the AG-UI protocol)",
        description=DESCRIPTION,
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    web.add_argument("spec", nargs="*", metavar="SPEC", help="an Agent (file.py:name, module:name) or tools")
    add_agent_arguments(web, max_turns=False)
    web.add_argument(
        "--max-turns",
        type=positive_int,
        metavar="N",
        help="with tool specs: model requests per run (default 20)",
    )
    web.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    web.add_argument("--port", type=int, default=0, help="port to listen on (default 0: a free one)")
    web.add_argument(
        "--session-db", metavar="PATH", help="SQLite file of the chats (default: in the cache folder)"
    )
    web.add_argument("--open", action="store_true", help="open the page in a browser")
    web.add_argument("--ag-ui", action="store_true", help="serve the AG-UI endpoint at /ag-ui too")
    web.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a --host other machines can reach (the URL's token is then the only lock)",
    )


def web_command(args: argparse.Namespace) -> int:
    """Run `agentkit web`; returns the exit code once the server stops."""
    agent = _agent(args)
    try:
        from ..web import serve, web_app

        app = web_app(agent, session_db=args.session_db, ag_ui=args.ag_ui)
        serve(app, host=args.host, port=args.port, allow_remote=args.allow_remote, open_browser=args.open)
    except UserError as exc:
        raise CliError(one_line(str(exc))) from None
    return ExitCode.OK


def _agent(args: argparse.Namespace) -> Agent[Any, Any]:
    """The agent SPEC names, or one built from the tool specs and flags."""
    if len(args.spec) == 1 and ":" in args.spec[0]:
        found = _object(args.spec[0])
        if isinstance(found, Agent):
            if args.tools or args.model or args.instructions or args.max_turns:
                raise CliError(
                    f"{args.spec[0]} is an Agent: --tools, --model, --instructions and --max-turns go with "
                    "tool specs"
                )
            return found
    args.tools = [*args.spec, *args.tools]
    args.max_turns = args.max_turns or 20
    return build_agent(args)


def _object(spec: str) -> object:
    try:
        return load_object(spec, what="SPEC")
    except CliError:
        return None  # not one object: tool specs (`tools.py:a,b`), which load_tools reports on
