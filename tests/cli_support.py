"""Helpers for the command-line tests: run `agentkit` in a subprocess against a loopback server."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping

TOOLS_FILE = '''
from agentkit import tool


@tool
def lookup(city: str) -> str:
    """Population of a city.

    Args:
        city: The city.
    """
    return f"{city}: 700000 people"


@tool
def explode(reason: str) -> str:
    """Always fails.

    Args:
        reason: Why.
    """
    raise RuntimeError(f"tool blew up: {reason}")
'''


def cli_env(base_url: str | None = None, **extra: str) -> dict[str, str]:
    """The environment of a CLI subprocess: no real keys, real model requests blocked, the loopback server."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTKIT_", "OPENROUTER_"))}
    env["AGENTKIT_BLOCK_MODEL_REQUESTS"] = "1"
    env["AGENTKIT_MODEL"] = "google/gemini-2.0-flash-001"  # never the local model, even when installed
    if base_url is not None:
        env["AGENTKIT_BASE_URL"] = base_url
        env["AGENTKIT_API_KEY"] = "test-key"
    env.update(extra)
    return env


def run_cli(
    *args: str, env: Mapping[str, str], cwd: str | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m agentkit ARGS`, its output captured."""
    return subprocess.run(
        [sys.executable, "-m", "agentkit", *args],
        env=dict(env),
        cwd=cwd,
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
