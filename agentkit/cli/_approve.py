"""`--approve`: who decides the calls of tools that require approval, on the command line.

- `ask` (the default when stdin and stderr are a terminal): the call is shown on the terminal and the
  person types `y` to run it, Enter or `n` to deny it, or a reason to deny it with (the model reads it);
- `yes`: every call runs (unattended use: the tools' safety is then all there is);
- `no` (the default otherwise, and for `agentkit batch`): every call is denied, and the model told why.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from collections.abc import Callable
from typing import TextIO

from .._run.approval import Approver, Decision
from ..messages import ToolCall

__all__ = ["APPROVE_MODES", "DENIED_UNATTENDED", "add_approve_argument", "approver"]

APPROVE_MODES = ("ask", "yes", "no")
DENIED_UNATTENDED = "nobody can approve it in this run (the command ran with --approve no)"


def add_approve_argument(parser: argparse.ArgumentParser, *, interactive: bool) -> None:
    """Add `--approve` to `parser` (`ask` is offered only where a person may be there)."""
    modes = APPROVE_MODES if interactive else ("yes", "no")
    default = "ask on a terminal, else no" if interactive else "no"
    parser.add_argument(
        "--approve",
        choices=modes,
        default=None,
        help=f"calls of tools that require approval: ask, run them all (yes) or deny them (no); default: {default}",
    )


def approver(
    mode: str | None,
    *,
    before_asking: Callable[[], None] | None = None,
    stdin: TextIO | None = None,
    stderr: TextIO | None = None,
) -> Approver:
    """The `approve` callback for `mode` (`None`: `ask` when a person is at a terminal, else `no`)."""
    source = stdin or sys.stdin
    out = stderr or sys.stderr
    if mode is None:
        mode = "ask" if source.isatty() and out.isatty() else "no"
    if mode == "yes":
        return _approve_all
    if mode == "no":
        return _deny_all
    lock = threading.Lock()  # concurrent calls ask one at a time

    def ask(call: ToolCall) -> Decision:
        with lock:
            if before_asking is not None:
                before_asking()
            out.write(f"\nApprove {call.name}({_arguments(call)})? [y/N or a reason to deny] ")
            out.flush()
            answer = source.readline()
            if not answer:  # end of input: nobody is there
                out.write("\n")
                return DENIED_UNATTENDED
            text = answer.strip()
            if text.lower() in ("y", "yes"):
                return True
            return False if text.lower() in ("", "n", "no") else text

    return ask


def _approve_all(call: ToolCall) -> Decision:
    return True


def _deny_all(call: ToolCall) -> Decision:
    return DENIED_UNATTENDED


def _arguments(call: ToolCall) -> str:
    try:
        return json.dumps(json.loads(call.arguments or "{}"), ensure_ascii=False)
    except ValueError:
        return call.arguments
