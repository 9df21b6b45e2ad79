"""Flags several commands share (`--tools`, `--model`, `--instructions`, `--max-turns`, `--budget-usd`),
and the agent they describe, built once and checked before anything runs."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from typing import Any

from ..agent import Agent
from ..exceptions import UserError
from ..usage import UsageLimits
from ._exit import CliError, one_line
from ._specs import load_tools, portable_spec

__all__ = [
    "TOOL_SPECS_HELP",
    "AgentSpec",
    "add_agent_arguments",
    "build_agent",
    "positive_float",
    "positive_int",
]

TOOL_SPECS_HELP = """\
tool specs: a file (tools.py), a module (mytools), either with :name or :name1,name2 to take only those,
or the name of a ready-made tool (calculator, current_time from agentkit_tools). A module gives its
@tool functions (those in __all__ when it has one)."""


def add_agent_arguments(parser: argparse.ArgumentParser, *, max_turns: bool = True) -> None:
    """Add `--tools`, `--model`, `--instructions` (and `--max-turns`) to `parser`."""
    parser.add_argument(
        "--tools", nargs="+", action="extend", default=[], metavar="SPEC", help="tools the model may call"
    )
    parser.add_argument(
        "--model", metavar="ID", help="model id (default: AGENTKIT_MODEL or the library's default)"
    )
    parser.add_argument("--instructions", metavar="TEXT", help="the system prompt")
    if max_turns:
        parser.add_argument(
            "--max-turns", type=positive_int, default=20, metavar="N", help="model requests allowed per run"
        )


@dataclass(kw_only=True, frozen=True)
class AgentSpec:
    """An agent as the command line's flags describe it, by import specs and plain values: what another
    process (a Ray worker) rebuilds the same agent from with `build_agent`, no function pickled."""

    tools: tuple[str, ...] = ()
    """Tool specs, file paths made absolute."""
    model: str | None = None
    instructions: str | None = None
    max_turns: int = 20
    import_path: tuple[str, ...] = ()
    """Folders to import module specs from: the working folder of the command that made the spec."""
    approve: bool = False
    """Run calls of tools that require approval (`--approve yes`) instead of denying them."""

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> AgentSpec:
        """The spec of the agent `args` describe, valid in any process whose files are laid out the same."""
        return cls(
            tools=tuple(portable_spec(spec) for spec in args.tools),
            model=args.model,
            instructions=args.instructions,
            max_turns=args.max_turns,
            import_path=(os.getcwd(),),
            approve=getattr(args, "approve", None) == "yes",
        )


def build_agent(
    args: argparse.Namespace | AgentSpec,
    *,
    output_type: Any = str,
    budget_usd: float | None = None,
    raise_tool_errors: bool = False,
) -> Agent[None, Any]:
    """The agent `args` describe, its tools loaded and its model resolved (a bad id or a missing key is
    misuse, reported as `CliError` before anything runs)."""
    tools = load_tools(list(args.tools))
    limits = UsageLimits(cost_usd_limit=budget_usd) if budget_usd is not None else None
    try:
        agent: Agent[None, Any] = Agent(
            args.model,
            instructions=args.instructions,
            tools=tools,
            output_type=output_type,
            max_turns=getattr(args, "max_turns", 20),
            usage_limits=limits,
            raise_tool_errors=raise_tool_errors,
        )
        agent.model  # noqa: B018 - resolve the model now
    except UserError as exc:
        raise CliError(one_line(str(exc))) from None
    return agent


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {text!r}")
    return value


def positive_float(text: str) -> float:
    """An argparse type: a positive, finite number of dollars."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of dollars, not {text!r}")
    return value
