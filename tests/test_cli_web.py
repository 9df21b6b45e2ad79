"""`agentkit web` as a user runs it: a real process serving the page, its model the loopback server
(the real `AsyncOpenAI` path), the URL printed once on stdout; and its refusals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2
import pytest
from cli_support import TOOLS_FILE, cli_env
from web_support import sse_items

from agentkit.cli import ExitCode, main
from agentkit.testing import LoopbackServer, tool_call_response

AGENT_FILE = (
    TOOLS_FILE
    + """
from agentkit import Agent

agent = Agent(instructions="Answer briefly.", tools=[lookup], name="census")
"""
)


@contextmanager
def web_process(*args: str, base_url: str, cwd: Path) -> Iterator[str]:
    """`agentkit web ARGS` running; yields the URL it printed."""
    process = subprocess.Popen(
        [sys.executable, "-m", "agentkit", "web", *args],
        env=cli_env(base_url),
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), process.stderr.read() if process.stderr else url
        yield url
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
        assert process.returncode == ExitCode.INTERRUPTED, err  # Ctrl-C ends it, as it ends `agentkit chat`
        assert err == "agentkit web: interrupted\n"
        assert out == ""  # the URL was printed once, and nothing after it


@pytest.mark.parametrize("spec", ["my_agent.py:agent", "my_agent.py:lookup"])
def test_the_page_runs_the_agent_spec_names_over_the_real_client(tmp_path: Path, spec: str) -> None:
    (tmp_path / "my_agent.py").write_text(AGENT_FILE, encoding="utf-8")
    script = [tool_call_response("lookup", {"city": "Oslo"}), "Oslo has about 700000 people."]
    with LoopbackServer(script) as server:
        args = [spec, "--port", "0", "--session-db", str(tmp_path / "chats.db"), "--ag-ui"]
        with (
            web_process(*args, base_url=server.base_url, cwd=tmp_path) as url,
            httpx2.Client(timeout=30) as client,
        ):
            token = url.split("token=")[1]
            page = client.get(url)
            assert page.status_code == 200 and 'data-testid="prompt"' in page.text
            assert client.get(url.split("?")[0]).status_code == 401
            body = {"prompt": "How many people live in Oslo?"}
            started = time.perf_counter()
            first_text = None
            items = []
            with client.stream("POST", url.replace("/?", "/api/chat?"), json=body) as response:
                for item in sse_items(response):
                    if item["type"] == "text" and first_text is None:
                        first_text = time.perf_counter() - started
                    items.append(item)
            ag_ui = client.post(f"{url.split('?')[0]}ag-ui/", params={"token": token}, json={})
        bodies = server.bodies
    assert [i["content"] for i in items if i["type"] == "tool_end"] == ["Oslo: 700000 people"]
    assert "".join(i["text"] for i in items if i["type"] == "text") == "Oslo has about 700000 people."
    assert first_text is not None
    assert [t["function"]["name"] for t in bodies[0]["tools"]] == ["lookup"]
    assert bodies[0]["stream"] is True
    system = [m["content"] for m in bodies[0]["messages"] if m["role"] == "system"]
    assert system == (["Answer briefly."] if spec.endswith(":agent") else [])
    assert ag_ui.status_code == 422  # the AG-UI endpoint is there, behind the same token


def test_refusals_are_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "my_agent.py").write_text(AGENT_FILE, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    for key, value in cli_env("http://127.0.0.1:9").items():
        monkeypatch.setenv(key, value)
    code = main(
        ["web", "my_agent.py:lookup,explode", "--host", "0.0.0.0", "--session-db", str(tmp_path / "c.db")]
    )
    assert code == ExitCode.USAGE
    assert "--allow-remote" in capsys.readouterr().err
    code = main(["web", "my_agent.py", "--host", "192.168.1.2", "--session-db", str(tmp_path / "c.db")])
    assert (
        code == ExitCode.USAGE and "192.168.1.2 is reachable from other machines" in capsys.readouterr().err
    )
    code = main(["web", "my_agent.py:agent", "--model", "x/y", "--session-db", str(tmp_path / "c.db")])
    assert code == ExitCode.USAGE
    assert "is an Agent" in capsys.readouterr().err
    code = main(["web", "my_agent.py:agent", "--max-turns", "3", "--session-db", str(tmp_path / "c.db")])
    assert code == ExitCode.USAGE  # the Agent's own max_turns would run, not 3
    assert "is an Agent: --tools, --model, --instructions and --max-turns" in capsys.readouterr().err
    code = main(["web", "my_agent.py:lookup", "--port", "70000", "--session-db", str(tmp_path / "c.db")])
    assert code == ExitCode.USAGE  # a one-line misuse, not a traceback
    assert "cannot listen on 127.0.0.1:70000: port must be 0-65535" in capsys.readouterr().err
    with LoopbackServer([]) as server:
        busy = server.port
        code = main(
            ["web", "my_agent.py:lookup", "--port", str(busy), "--session-db", str(tmp_path / "c.db")]
        )
    assert code == ExitCode.USAGE
    assert f"cannot listen on 127.0.0.1:{busy}" in capsys.readouterr().err


def test_in_process_it_prints_the_url_opens_the_browser_and_stops_on_ctrl_c(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "my_agent.py").write_text(AGENT_FILE, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    opened: list[str] = []
    answers: list[int] = []

    def visit(url: str) -> None:  # what --open calls (webbrowser.open) is a person's visit here
        opened.append(url)

        def person() -> None:
            with httpx2.Client(timeout=30) as client:
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:
                    try:
                        answers.append(client.get(url).status_code)
                        break
                    except httpx2.ConnectError:
                        time.sleep(0.05)
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C

        threading.Thread(target=person, daemon=True).start()

    monkeypatch.setattr("webbrowser.open", visit)
    with LoopbackServer([]) as server:
        for key, value in cli_env(server.base_url).items():
            monkeypatch.setenv(key, value)
        code = main(["web", "my_agent.py:agent", "--open", "--session-db", str(tmp_path / "c.db")])
    out, err = capsys.readouterr()
    assert code == ExitCode.INTERRUPTED and err == "agentkit web: interrupted\n"
    assert out == f"{opened[0]}\n" and opened[0].startswith("http://127.0.0.1:")
    assert answers == [200]
