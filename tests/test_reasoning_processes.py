"""Signed reasoning across processes: a session continued in a new process, and a durable run killed and
resumed, on the loopback server playing a Gemini 3 model that refuses a tool-call turn without its
signature (the child process is `reasoning_app.py`)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from test_reasoning_runs import GEMINI_3, tool_run_script

from agentkit.models.profiles import profile_for
from agentkit.testing import LoopbackServer

ROOT = Path(__file__).resolve().parents[1]
APP = Path(__file__).with_name("reasoning_app.py")


def start(mode: str, server: LoopbackServer, database: Path, work: Path, calls: int) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTKIT_", "OPENROUTER_", "DBOS"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    command = [sys.executable, str(APP), mode, server.base_url, str(database), str(work), str(calls)]
    return subprocess.Popen(
        command, env=env, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def finish(app: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = app.communicate(timeout=120)
    assert app.returncode == 0, err
    line = next(line for line in out.splitlines() if line.startswith("RESULT "))
    result: dict[str, Any] = json.loads(line.removeprefix("RESULT "))
    return result


def signed_turns(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in body["messages"] if m["role"] == "assistant" and m.get("tool_calls")]


def assert_every_turn_carried(server: LoopbackServer) -> None:
    signatures = server.signatures
    assert signatures is not None and signatures.refused == 0
    for body in server.bodies:
        for turn in signed_turns(body):
            issued = signatures.issued[turn["tool_calls"][0]["id"]]
            assert json.dumps(turn["reasoning_details"]) == json.dumps(issued)


@pytest.mark.parametrize("turns", [2, 10])
@pytest.mark.parametrize("mode", ["session", "session-stream"])
def test_a_session_continued_in_a_new_process_carries_the_signatures(
    tmp_path: Path, turns: int, mode: str
) -> None:
    with LoopbackServer(model=GEMINI_3, thought_signatures="openrouter") as server:
        server.add(*tool_run_script(turns, "first"), *tool_run_script(turns, "second"))
        database = tmp_path / "chats.db"
        first = finish(start(mode, server, database, tmp_path, turns - 1))
        second = finish(start(mode, server, database, tmp_path, turns - 1))
    assert first["output"] == second["output"] == f"Done after {turns - 1} calls."
    assert len(server.bodies) == 2 * turns
    assert_every_turn_carried(server)
    # the second process sent the first's signed turns, read back from the session
    assert len(signed_turns(server.bodies[-1])) == 2 * (turns - 1)
    stored = [m for m in second["messages"] if m["role"] == "assistant" and m["tool_calls"]]
    assert all(m["reasoning_details"] and m["model_family"] == profile_for(GEMINI_3).family for m in stored)


@pytest.mark.parametrize("turns", [2, 10])
def test_a_durable_run_killed_and_resumed_carries_the_signatures(tmp_path: Path, turns: int) -> None:
    pytest.importorskip("dbos")
    calls = turns - 1
    database = tmp_path / "dbos.sqlite"
    with LoopbackServer(model=GEMINI_3, thought_signatures="openrouter") as server:
        server.add(*tool_run_script(turns))
        crashing = start("crash", server, database, tmp_path, calls)
        try:
            deadline = time.monotonic() + 120
            while not (tmp_path / "add.ready").exists():
                assert crashing.poll() is None, crashing.communicate()[1]
                assert time.monotonic() < deadline, "the last call never started"
                time.sleep(0.05)
        finally:
            crashing.send_signal(signal.SIGKILL)
            crashing.communicate(timeout=60)
        assert len(server.bodies) == calls  # every request asking for a call; the answer is still to come
        resumed = finish(start("resume", server, database, tmp_path, calls))
    assert resumed["output"] == f"Done after {calls} calls."
    count = tmp_path / "add.count"
    assert len(count.read_text(encoding="utf-8").splitlines()) == calls  # no call ran twice
    assert len(server.bodies) == turns  # no request was paid for twice
    assert_every_turn_carried(server)
    assert len(signed_turns(server.bodies[-1])) == calls  # the checkpointed turns, signatures and all
