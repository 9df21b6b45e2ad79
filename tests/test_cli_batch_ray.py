"""`agentkit batch --engine ray` end to end on a local Ray with 2 CPUs, against the loopback server.

Ray starts once for the module (in a helper process this module starts and ends); most tests join it with
`--ray-address`, one starts a Ray of its own as the command does by default. Skipped where ray is not
installed, except in CI (`CI=true`), which installs the `ray` extra and must run them.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_support import answer, cli_env, records, run_cli, slow_answer, write_tasks

from agentkit.cli import ExitCode, main
from agentkit.testing import HTTPError, LoopbackServer, tool_call_response

if os.environ.get("CI") != "true" and importlib.util.find_spec("ray") is None:
    pytest.skip("ray is not installed (pip install 'agentkit[ray]')", allow_module_level=True)
# Not imported here: this process's first `import ray` must see RAY_ENV (set by `loopback_env`).

CLUSTER = """
import sys
import ray

ray.init(address="local", num_cpus=2, include_dashboard=False, object_store_memory=128 * 2**20,
         logging_level="ERROR")
print(ray.get_runtime_context().gcs_address, flush=True)
sys.stdin.read()  # until the tests close it
ray.shutdown()
"""


RAY_ENV = {"RAY_AUTH_MODE": "token", "RAY_USAGE_STATS_ENABLED": "0"}
"""Token authentication, which a local Ray turns on by default, must be asked for by the clients joining it;
and no usage statistics."""


@pytest.fixture(scope="module")
def ray_address() -> Iterator[str]:
    """The address of a local Ray (2 CPUs) kept for this module's tests."""
    env = cli_env(**RAY_ENV)
    cluster = subprocess.Popen(
        [sys.executable, "-c", CLUSTER], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert cluster.stdout is not None and cluster.stdin is not None
    address = cluster.stdout.readline().strip()
    try:
        assert address, "the helper process did not start Ray"
        yield address
    finally:
        cluster.stdin.close()
        cluster.stdout.close()
        try:
            cluster.wait(timeout=60)
        except subprocess.TimeoutExpired:
            cluster.kill()
            cluster.wait()


@pytest.fixture
def loopback_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[LoopbackServer]:
    """A loopback server, named by the variables the Ray workers are sent."""
    with LoopbackServer() as server:
        for name, value in RAY_ENV.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("AGENTKIT_BASE_URL", server.base_url)
        monkeypatch.setenv("AGENTKIT_API_KEY", "test-key")
        monkeypatch.setenv("AGENTKIT_MODEL", "google/gemini-2.0-flash-001")
        yield server


def test_results_failures_and_resume_on_a_ray_cluster(
    ray_address: str,
    loopback_env: LoopbackServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "not.png").write_bytes(b"text")
    tasks, out = tmp_path / "tasks.jsonl", tmp_path / "out.jsonl"
    write_tasks(tasks, 5, {"id": "bad-image", "prompt": "What is it?", "images": ["not.png"]})

    def fail_t1(body: dict[str, Any]) -> Any:
        if body["messages"][-1]["content"] == "question 1":
            return HTTPError(status=400, message="bad request")
        return answer(body)

    server = loopback_env
    server.add(*[fail_t1] * 5)
    args = ["batch", str(tasks), "--out", str(out), "--engine", "ray", "--ray-address", ray_address]
    args += ["--concurrency", "4", "--json-summary"]
    assert main(args) == ExitCode.RUN_FAILED
    first = capsys.readouterr()
    summary = json.loads(first.out)
    assert summary["engine"] == "ray" and summary["engine_start_s"] > 0
    assert (summary["answered"], summary["failed"], summary["requests"]) == (4, 2, 4)
    assert "batch: ray: 2 workers (2 tasks at once each) on 1 node of the Ray cluster at" in first.err
    lines = {r["id"]: r for r in records(out)}
    assert set(lines) == {"t0", "t1", "t2", "t3", "t4", "bad-image"}
    assert lines["t3"]["output"] == "answer to question 3" and lines["t3"]["usage"]["total_tokens"] == 18
    assert (
        lines["t1"]["error"]["type"] == "ModelAPIError" and "bad request" in lines["t1"]["error"]["message"]
    )
    assert lines["bad-image"]["error"]["type"] == "CliError"
    assert "not a PNG, JPEG, GIF or WebP" in lines["bad-image"]["error"]["message"]

    server.add(answer)
    assert main(args) == ExitCode.RUN_FAILED  # the image is still not one
    assert json.loads(capsys.readouterr().out)["answered_before"] == 4
    assert len(server.requests) == 6  # the rerun sent only t1
    answered = Counter(r["id"] for r in records(out) if r["error"] is None)
    assert answered == Counter({"t0": 1, "t1": 1, "t2": 1, "t3": 1, "t4": 1})


def test_the_budget_stops_submitting_tasks(
    ray_address: str, loopback_env: LoopbackServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tasks, out = tmp_path / "tasks.jsonl", tmp_path / "out.jsonl"
    write_tasks(tasks, 6)
    loopback_env.add(*[answer] * 6)  # each request costs $0.0000042
    args = ["batch", str(tasks), "--out", str(out), "--engine", "ray", "--ray-address", ray_address]
    code = main([*args, "--concurrency", "1", "--budget-usd", "0.00001"])
    assert code == ExitCode.USAGE_LIMIT
    assert len(records(out)) == 3
    err = capsys.readouterr().err
    assert "batch: the budget of $0.00001 is spent ($0.0000126): no more tasks were started" in err
    assert "3 not started" in err


def test_a_worker_that_dies_fails_its_task_and_is_restarted(
    ray_address: str, loopback_env: LoopbackServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tools = tmp_path / "crashing.py"
    tools.write_text(
        "import os\nfrom agentkit import tool\n\n\n@tool\ndef crash() -> str:\n"
        '    """End the process this runs in."""\n    os._exit(1)\n',
        encoding="utf-8",
    )
    tasks, out = tmp_path / "tasks.jsonl", tmp_path / "out.jsonl"
    write_tasks(tasks, 3)

    def crash_on_t0(body: dict[str, Any]) -> Any:
        if body["messages"][-1]["content"] == "question 0":
            return tool_call_response("crash", {})
        return answer(body)

    loopback_env.add(*[crash_on_t0] * 3)
    args = ["batch", str(tasks), "--out", str(out), "--engine", "ray", "--ray-address", ray_address]
    assert main([*args, "--tools", str(tools), "--concurrency", "1"]) == ExitCode.RUN_FAILED
    lines = {r["id"]: r for r in records(out)}
    assert lines["t0"]["error"]["type"] in ("ActorDiedError", "ActorUnavailableError")
    assert lines["t1"]["output"] == "answer to question 1" and lines["t2"]["error"] is None
    out_text, err = capsys.readouterr()
    assert out_text == ""  # what Ray says of the dead worker goes to stderr, plain
    assert "\x1b" not in err


def test_tools_that_do_not_load_on_the_workers_stop_the_command(
    ray_address: str, loopback_env: LoopbackServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tools = tmp_path / "here_only.py"
    tools.write_text(
        f"import os\nfrom agentkit import tool\n\nif os.getpid() != {os.getpid()}:\n"
        '    raise RuntimeError("not on this machine")\n\n\n@tool\ndef ok() -> str:\n'
        '    """Fine."""\n    return "ok"\n',
        encoding="utf-8",
    )
    tasks, out = tmp_path / "tasks.txt", tmp_path / "out.jsonl"
    tasks.write_text("a\n", encoding="utf-8")
    args = ["batch", str(tasks), "--out", str(out), "--engine", "ray", "--ray-address", ray_address]
    assert main([*args, "--tools", str(tools)]) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert "agentkit batch: error: a Ray worker could not build the agent: " in err
    assert "importing it raised RuntimeError: not on this machine" in err
    assert out.read_text(encoding="utf-8") == ""
    assert not loopback_env.requests


def test_ctrl_c_cancels_the_ray_tasks_and_a_rerun_finishes(ray_address: str, tmp_path: Path) -> None:
    tasks, out = tmp_path / "tasks.jsonl", tmp_path / "out.jsonl"
    write_tasks(tasks, 20)
    with LoopbackServer([slow_answer] * 40) as server:
        args = ["batch", str(tasks), "--out", str(out), "--engine", "ray", "--ray-address", ray_address]
        args += ["--concurrency", "2"]
        process = subprocess.Popen(
            [sys.executable, "-m", "agentkit", *args],
            env=cli_env(server.base_url, **RAY_ENV),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 120
        while (not out.exists() or len(out.read_bytes().splitlines()) < 2) and time.monotonic() < deadline:
            time.sleep(0.02)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
        assert process.returncode == ExitCode.INTERRUPTED, err
        assert "batch: interrupted: running tasks were cancelled and not written" in err
        assert out.read_text(encoding="utf-8").endswith("\n")
        done = run_cli(*args, env=cli_env(server.base_url, **RAY_ENV))
    assert done.returncode == ExitCode.OK, done.stderr
    answered = Counter(r["id"] for r in records(out))
    assert set(answered) == {f"t{i}" for i in range(20)} and set(answered.values()) == {1}


def test_a_local_ray_of_its_own_by_default(tmp_path: Path) -> None:
    tasks, out = tmp_path / "tasks.jsonl", tmp_path / "out.jsonl"
    write_tasks(tasks, 8)
    with LoopbackServer([answer] * 8) as server:
        env = cli_env(server.base_url, RAY_USAGE_STATS_ENABLED="0")  # RAY_AUTH_MODE unset: Ray's default
        args = ["batch", str(tasks), "--out", str(out), "--engine", "ray", "--concurrency", "2"]
        done = subprocess.run(
            [sys.executable, "-m", "agentkit", *args, "--json-summary"],
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
    assert done.returncode == ExitCode.OK, done.stderr
    assert json.loads(done.stdout)["answered"] == 8
    assert "batch: ray: 2 workers (1 task at once each) on 1 node of a local Ray, ready in" in done.stderr
    assert {r["output"] for r in records(out)} == {f"answer to question {i}" for i in range(8)}
    assert "test-key" not in done.stdout + done.stderr  # the key reached the workers, and nothing else
    assert "\x1b" not in done.stdout + done.stderr


async def test_a_worker_rebuilds_the_agent_from_its_spec(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The actor class's own code, here in this process (in Ray it runs where coverage does not look)."""
    from agentkit.cli._batch_files import Task
    from agentkit.cli._batch_ray import _Worker
    from agentkit.cli._options import AgentSpec

    (tmp_path / "worker_tools.py").write_text(
        'from agentkit import tool\n\n\n@tool\ndef ping() -> str:\n    """Ping."""\n    return "pong"\n',
        encoding="utf-8",
    )
    monkeypatch.setattr(sys, "path", list(sys.path))
    broken = _Worker(AgentSpec(tools=("no_such_tools_module",)), {})
    assert broken.error is not None and "no file or module named 'no_such_tools_module'" in broken.error
    with LoopbackServer([answer]) as server:
        env = {"AGENTKIT_BASE_URL": server.base_url, "AGENTKIT_API_KEY": "test-key"}
        for name in env:
            monkeypatch.setenv(name, "")  # restored after the test: the worker sets them in its process
        spec = AgentSpec(tools=("worker_tools",), import_path=(str(tmp_path),), instructions="Be brief.")
        worker = _Worker(spec, env)
        assert worker.error is None and sys.path[-1] == str(tmp_path)  # after the installed modules
        outcome = await worker.run(Task(id="w", prompt="question w"), "question w")
        await worker.agent.model.aclose()
    assert not outcome.failed and json.loads(outcome.line)["output"] == "answer to question w"
    assert server.bodies[0]["messages"][0] == {"role": "system", "content": "Be brief."}
    assert [t["function"]["name"] for t in server.bodies[0]["tools"]] == ["ping"]


def test_workers_share_the_rate_limit_instead_of_multiplying_it(
    ray_address: str, loopback_env: LoopbackServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """600 requests per minute for the batch: 2 workers pace with 300 each (a burst of 5, then 5 a second),
    so the 15 requests of each take 2 s at the least; unshared (a burst of 10, then 10 a second), 0.5 s."""
    stamps: list[float] = []

    def stamped(body: dict[str, Any]) -> str:
        stamps.append(time.monotonic())
        return answer(body)

    monkeypatch.setenv("AGENTKIT_REQUESTS_PER_MINUTE", "600")
    loopback_env.add(*[stamped] * 30)
    tasks, out = tmp_path / "tasks.jsonl", tmp_path / "out.jsonl"
    write_tasks(tasks, 30)
    args = ["batch", str(tasks), "--out", str(out), "--engine", "ray", "--ray-address", ray_address]
    assert main([*args, "--concurrency", "16"]) == ExitCode.OK
    assert len(stamps) == 30 and all(r["error"] is None for r in records(out))
    assert max(stamps) - min(stamps) >= 1.8
