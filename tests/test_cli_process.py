"""`agentkit` as users run it: a subprocess against the loopback server, one test per exit code, and a
pseudo-terminal for the live output."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_support import TOOLS_FILE, cli_env, run_cli

from agentkit.cli import ExitCode
from agentkit.testing import HTTPError, LoopbackServer, RawStream, tool_call_response, tool_calls_response


@pytest.fixture
def tools_file(tmp_path: Path) -> Path:
    path = tmp_path / "my_tools.py"
    path.write_text(TOOLS_FILE, encoding="utf-8")
    return path


def test_success_plain_lines_without_escape_codes(tools_file: Path) -> None:
    script = [tool_calls_response([("lookup", {"city": "Oslo"})], text="Checking."), "About 700000 people."]
    with LoopbackServer(script) as server:
        done = run_cli("run", "Oslo?", "--tools", str(tools_file), env=cli_env(server.base_url))
    assert done.returncode == ExitCode.OK, done.stderr
    assert done.stdout == "About 700000 people.\n"
    assert '-> lookup(city="Oslo")' in done.stderr
    assert "done: 2 requests, 36 tokens (22 in, 14 out), 1 tool call, $0.0000084, " in done.stderr
    assert "\x1b" not in done.stdout + done.stderr


def test_success_json(tools_file: Path) -> None:
    with LoopbackServer([tool_call_response("lookup", {"city": "Oslo"}), "700000."]) as server:
        done = run_cli(
            "run", "Oslo?", "--tools", f"{tools_file}:lookup", "--json", env=cli_env(server.base_url)
        )
    assert done.returncode == ExitCode.OK, done.stderr
    assert done.stderr == ""
    document = json.loads(done.stdout)  # exactly one JSON document: loads() rejects anything after it
    assert document["output"] == "700000."
    assert document["usage"]["requests"] == 2
    assert document["model"] == "google/gemini-2.0-flash-001"
    assert len(document["messages"]) == 4


def test_unusable_output_exits_1() -> None:
    with LoopbackServer(["", "", ""]) as server:
        done = run_cli("run", "x", env=cli_env(server.base_url))
    assert done.returncode == ExitCode.RUN_FAILED
    assert done.stderr.splitlines()[-1].startswith("agentkit run: UnexpectedModelBehavior: ")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["run", "x", "--max-turns", "zero"], "agentkit run: error: argument --max-turns: must be"),
        (["run", "x", "--tools", "no_such_tools.py"], "agentkit run: error: no_such_tools.py: no such file"),
        (
            ["run", "x", "--image", "missing.png"],
            "agentkit run: error: --image missing.png: no such file; check the path",
        ),
        (["run", "x"], "agentkit run: error: No API key for OpenRouter"),
        (["frobnicate"], "agentkit: error: argument COMMAND: invalid choice: 'frobnicate'"),
    ],
)
def test_misuse_exits_2(args: list[str], expected: str, tmp_path: Path) -> None:
    done = run_cli(*args, env=cli_env(), cwd=str(tmp_path))
    assert done.returncode == ExitCode.USAGE
    assert done.stdout == ""
    assert expected in done.stderr
    assert "Traceback" not in done.stderr


def test_model_api_error_exits_3() -> None:
    with LoopbackServer([HTTPError(status=401, message="invalid key")]) as server:
        done = run_cli("run", "x", "--json", env=cli_env(server.base_url))
    assert done.returncode == ExitCode.MODEL_API
    document = json.loads(done.stdout)
    assert document["error"]["type"] == "ModelAPIError"
    assert document["error"]["exit_code"] == 3
    assert done.stderr.startswith("agentkit run: ModelAPIError: ")


def test_budget_exits_4() -> None:
    with LoopbackServer(["an answer that cost too much"]) as server:
        done = run_cli("run", "x", "--budget-usd", "0.000001", env=cli_env(server.base_url))
    assert done.returncode == ExitCode.USAGE_LIMIT
    assert done.stdout == ""
    assert "cost_usd_limit of 1e-06 exceeded" in done.stderr


def test_raised_tool_error_exits_5(tools_file: Path) -> None:
    with LoopbackServer([tool_call_response("explode", {"reason": "why not"})]) as server:
        args = ["run", "x", "--tools", str(tools_file), "--raise-tool-errors"]
        done = run_cli(*args, env=cli_env(server.base_url))
    assert done.returncode == ExitCode.TOOL_ERROR
    assert done.stderr.splitlines()[-1] == (
        "agentkit run: ToolExecutionError: Tool 'explode' raised RuntimeError: tool blew up: why not"
    )


def test_ctrl_c_exits_130() -> None:
    slow = RawStream(events=[": OPENROUTER PROCESSING"] * 200, delay=0.05)
    with LoopbackServer([slow]) as server:
        process = subprocess.Popen(
            [sys.executable, "-m", "agentkit", "run", "x"],
            env=cli_env(server.base_url),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 30
        while not server.requests and time.monotonic() < deadline:
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    assert process.returncode == ExitCode.INTERRUPTED
    assert out == ""
    assert err == "agentkit run: interrupted\n"


def test_live_output_in_a_terminal(tools_file: Path) -> None:
    import pty

    script = [tool_call_response("lookup", {"city": "Oslo"}), "Oslo has about 700000 people."]
    with LoopbackServer(script) as server:
        leader, follower = pty.openpty()
        process = subprocess.Popen(
            [sys.executable, "-m", "agentkit", "run", "Oslo?", "--tools", str(tools_file)],
            env=cli_env(server.base_url, TERM="xterm-256color", COLUMNS="120"),
            stdin=subprocess.DEVNULL,
            stdout=follower,
            stderr=follower,
        )
        os.close(follower)
        output = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal closes when the process ends
                break
            if not chunk:
                break
            output += chunk
        os.close(leader)
    assert process.wait(timeout=30) == ExitCode.OK
    text = output.decode()
    assert "\x1b[" in text  # styled
    assert 'lookup(city="Oslo")' in text
    assert re.search(r"Oslo: 700000 people \(\d+\.\d\d s\)", text)  # how long the tool took, as shown
    assert "Oslo has about 700000 people." in text
    assert "done: 2 requests, 36 tokens (22 in, 14 out), 1 tool call, $0.0000084, " in text
