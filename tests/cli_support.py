"""Helpers for the command-line tests: run `agentkit` in a subprocess against a loopback server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

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


def tools_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str, name: str) -> Path:
    """A tools file `name`.py holding `source` (what `--tools` imports), `sys.path` restored afterwards."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    path = tmp_path / f"{name}.py"
    path.write_text(source, encoding="utf-8")
    return path


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


class Terminal:
    """`python -m agentkit ARGS` in a pseudo-terminal of its own (its controlling terminal, so a Ctrl-C
    typed there interrupts it as in a shell); read its screen with `read_until`, type with `type`."""

    def __init__(self, *args: str, env: Mapping[str, str], cwd: str | None = None) -> None:
        import pty

        self.leader, follower = pty.openpty()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "agentkit", *args],
            env={**env, "TERM": "xterm-256color", "COLUMNS": "120", "LINES": "40"},
            cwd=cwd,
            stdin=follower,
            stdout=follower,
            stderr=follower,
            start_new_session=True,
            preexec_fn=_take_terminal,
        )
        os.close(follower)
        self.screen = ""
        """Everything the process wrote so far (escape codes included)."""
        self._seen = 0

    def read_until(self, text: str, *, timeout: float = 60.0) -> str:
        """Read until `text` appears after what earlier calls returned; returns the output up to it."""
        import select

        start = self._seen
        deadline = time.monotonic() + timeout
        while text not in self.screen[start:]:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{text!r} did not appear in {timeout} s; the screen:\n{self.screen}")
            ready, _, _ = select.select([self.leader], [], [], min(left, 0.5))
            if ready and not self._read():
                raise AssertionError(
                    f"the process ended before {text!r} appeared; the screen:\n{self.screen}"
                )
        self._seen = self.screen.index(text, start) + len(text)
        return self.screen[start : self._seen]

    def type(self, keys: str) -> None:
        """Type `keys` (`"\\x03"` is Ctrl-C, `"\\x04"` Ctrl-D)."""
        os.write(self.leader, keys.encode())

    def finish(self, *, timeout: float = 60.0, again: str | None = None) -> int:
        """Wait for the process to end, reading the rest of its output; its exit code. `again`: keys typed
        once more if it has not ended after a few seconds (a Ctrl-C that lands just before Python's readline
        waits for input is only seen at the next key: a CPython race, which a person meets as a second
        Ctrl-C). Past `timeout` the process is killed and the test fails with its screen."""
        import select

        deadline = time.monotonic() + timeout
        retry_at = time.monotonic() + 3.0 if again is not None else None
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                self.process.kill()
                raise AssertionError(f"the process did not end in {timeout} s; the screen:\n{self.screen}")
            if retry_at is not None and time.monotonic() >= retry_at and again is not None:
                self.type(again)
                retry_at = None
            ready, _, _ = select.select([self.leader], [], [], min(left, 0.5))
            if ready and not self._read():
                break
        code = self.process.wait(timeout=max(1.0, deadline - time.monotonic()))
        os.close(self.leader)
        return code

    def _read(self) -> bool:
        try:
            chunk = os.read(self.leader, 65536)
        except OSError:  # the terminal closes when the process ends
            return False
        self.screen += chunk.decode(errors="replace")
        return bool(chunk)


def _take_terminal() -> None:
    import fcntl
    import termios

    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


# -- batch: the loopback server's answers, and the tasks and results files --------------------------------


def answer(body: dict[str, Any]) -> str:
    """The loopback server's answer to a task: its prompt, echoed."""
    return f"answer to {body['messages'][-1]['content']}"


def slow_answer(body: dict[str, Any]) -> str:
    time.sleep(0.1)
    return answer(body)


def records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def write_tasks(path: Path, n: int, *extra: dict[str, Any]) -> None:
    """`n` tasks `t0`... (`question 0`...) as JSON lines, then `extra` ones."""
    lines = [{"id": f"t{i}", "prompt": f"question {i}"} for i in range(n)] + list(extra)
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
