"""Every code block of README.md and of the docs pages moved out of it runs, in page order, against test
doubles or loopback servers (never the network, never the local model), and does what its page says.

Fragments use names the page defines elsewhere (`get_weather`, `search_hotels`, `agent`...): each test starts
from `docs_support.prelude()`, which defines them. The pages with their own tests (output, models, wire,
files-and-routing, gemini-thinking, failures, batch-and-sessions, tool-safety) are not run again here; every
page's links and its row in the README's map are checked here.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from docs_support import BOOKED, DOCS, README, ROOT, blocks, links, prelude, run_block

from agentkit import Agent, AssistantMessage, SystemMessage, ToolMessage, UserMessage
from agentkit.testing import LoopbackServer, tool_call_response

MOVED_PAGES = [
    "tools.md",
    "runs.md",
    "sessions-and-durable.md",
    "cli.md",
    "mcp.md",
    "configuration.md",
    "local-model.md",
    "tracing.md",
    "reliability.md",
    "performance.md",
    "ready-made-tools.md",
    "testing.md",
]


def lines(text: str) -> list[str]:
    return text.splitlines()


# -- links and the README's map ---------------------------------------------------------------------------


def test_every_relative_link_points_at_an_existing_file() -> None:
    broken = []
    for path in [README, *sorted(DOCS.glob("*.md"))]:
        for target in links(path):
            if re.match(r"[a-z]+:", target):  # https:, mailto:
                continue
            file = target.split("#", 1)[0]
            if not file or not (path.parent / file).exists():
                broken.append(f"{path.relative_to(ROOT)}: {target}")
            elif "#" in target:
                broken.append(f"{path.relative_to(ROOT)}: {target} (an anchor: link the page)")
    assert broken == []


def test_every_docs_page_is_in_the_readme_map() -> None:
    text = README.read_text(encoding="utf-8")
    table = text[text.index("## Documentation") :].split("\n## ", 1)[0]
    mapped = {target for target in links_in(table)}
    missing = sorted(f"docs/{p.name}" for p in DOCS.glob("*.md") if f"docs/{p.name}" not in mapped)
    assert missing == [], "add a row for each to the README's Documentation table"


def links_in(text: str) -> list[str]:
    return re.findall(r"\]\(([^)\s]+)\)", text)


def test_the_moved_pages_have_the_blocks_these_tests_run() -> None:
    """A block added to a page fails here until a test below runs it."""
    counts = {name: len(blocks(name)) for name in ["README.md", *MOVED_PAGES]}
    assert counts == {
        "README.md": 1,
        "tools.md": 0,
        "runs.md": 3,
        "sessions-and-durable.md": 2,
        "cli.md": 0,
        "mcp.md": 1,
        "configuration.md": 1,
        "local-model.md": 1,
        "tracing.md": 1,
        "reliability.md": 0,
        "performance.md": 0,
        "ready-made-tools.md": 1,
        "testing.md": 3,
    }


# -- README.md ---------------------------------------------------------------------------------------------


def test_readme_example(server: LoopbackServer, capsys: pytest.CaptureFixture[str]) -> None:
    """The example on the default model (the environment points it at the loopback server): the model asks
    for the weather, gets the tool's text, answers; the three prints are the answer, the usage and the
    transcript."""
    server.add(tool_call_response("get_weather", {"city": "Oslo"}), "It is 3°C with light snow in Oslo.")
    namespace: dict[str, Any] = {"__name__": "readme"}
    (code,) = blocks("README.md")
    run_block("README.md", code, namespace)
    output, usage, messages = lines(capsys.readouterr().out)
    assert output == "It is 3°C with light snow in Oslo."
    for field in ("requests=2", "input_tokens=", "output_tokens=", "cost_usd=", "tool_calls=1"):
        assert field in usage
    assert messages.startswith("[") and "Oslo: 3°C, light snow" in messages
    result = namespace["result"]
    roles = [type(m) for m in result.messages]
    assert roles == [SystemMessage, UserMessage, AssistantMessage, ToolMessage, AssistantMessage]
    assert json.loads(result.messages_json())[3]["content"] == "Oslo: 3°C, light snow"
    schema = server.bodies[0]["tools"][0]["function"]
    assert schema["name"] == "get_weather" and schema["description"] == "Current weather in a city."
    assert schema["parameters"]["properties"]["units"]["enum"] == ["celsius", "fahrenheit"]
    assert server.bodies[0]["messages"][0] == {"role": "system", "content": "Answer in one sentence."}


# -- runs.md -----------------------------------------------------------------------------------------------


def test_runs_streaming(server: LoopbackServer, capsys: pytest.CaptureFixture[str]) -> None:
    """The stream prints each call as it starts and ends, the answer as it streams, then the usage."""
    server.add(tool_call_response("get_weather", {"city": "Oslo"}), "Oslo has light snow at 3°C.")
    streaming, _, _ = blocks("runs.md")
    run_block("runs.md", streaming, prelude())
    out = lines(capsys.readouterr().out)
    assert out[:3] == [
        "-> get_weather({'city': 'Oslo'})",
        "<- Oslo: 3°C, light snow",
        "Oslo has light snow at 3°C.",
    ]
    assert "requests=2" in out[3] and "tool_calls=1" in out[3]
    assert all(body["stream"] for body in server.bodies)


def test_runs_agents_as_tools(server: LoopbackServer, capsys: pytest.CaptureFixture[str]) -> None:
    """The planner asks the researcher (a sub-run on the same endpoint), which searches; the planner's usage
    counts the researcher's requests."""
    server.add(
        tool_call_response("researcher", {"task": "A quiet hotel in Lisbon"}),
        tool_call_response("search_hotels", {"city": "Lisbon", "quiet": True}),
        "Casa Calma: quiet, 95 EUR a night.",
        "I recommend Casa Calma; shall I book it?",
    )
    _, as_tool, _ = blocks("runs.md")
    namespace = prelude()
    run_block("runs.md", as_tool, namespace)
    (usage,) = lines(capsys.readouterr().out)
    assert "requests=4" in usage and "tool_calls=2" in usage
    planner_tools = [t["function"]["name"] for t in server.bodies[0]["tools"]]
    assert planner_tools == ["researcher", "book_hotel"]
    assert server.bodies[0]["tools"][0]["function"]["description"] == "Finds and recommends hotels"
    assert server.bodies[1]["messages"][0]["content"] == "Find hotels and recommend one."
    call = next(m for m in namespace["result"].messages if isinstance(m, ToolMessage))
    assert call.content == "Casa Calma: quiet, 95 EUR a night."
    assert call.transcript  # the sub-run's transcript, kept with the call


def test_runs_human_approval(server: LoopbackServer) -> None:
    """The first run stops with the call waiting and no output; the continued run, approved, runs it."""
    server.add(tool_call_response("book_hotel", {"hotel": "Casa Calma", "nights": 2}), "Booked: Casa Calma.")
    _, _, approval = blocks("runs.md")
    namespace = prelude()
    run_block("runs.md", approval, namespace)
    assert namespace["call"].name == "book_hotel"
    assert json.loads(namespace["call"].arguments) == {"hotel": "Casa Calma", "nights": 2}
    assert BOOKED == ["Casa Calma x2"]  # run once, after the approval
    result = namespace["result"]
    assert result.output == "Booked: Casa Calma." and not result.pending_approvals
    assert server.bodies[1]["messages"][-1]["content"] == "Booked Casa Calma for 2 nights."


# -- sessions-and-durable.md -------------------------------------------------------------------------------


def test_sessions(server: LoopbackServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The second run's request carries the first exchange, loaded from chats.db."""
    monkeypatch.chdir(tmp_path)
    server.add("Nice to meet you, Ann.", "Your name is Ann.")
    sessions, _ = blocks("sessions-and-durable.md")
    run_block("sessions-and-durable.md", sessions, prelude())
    second = [(m["role"], m["content"]) for m in server.bodies[1]["messages"]]
    assert second == [
        ("system", "Answer in one sentence."),
        ("user", "My name is Ann."),
        ("assistant", "Nice to meet you, Ann."),
        ("user", "What is my name?"),
    ]
    from agentkit.sessions import SQLiteSession

    stored = asyncio.run(SQLiteSession(str(tmp_path / "chats.db"), "user-42").load())
    assert [type(m) for m in stored] == [UserMessage, AssistantMessage, UserMessage, AssistantMessage]


def test_durable_run(server: LoopbackServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The durable run answers as a plain run would, on the loopback server; DBOS keeps its result under the
    workflow id, and running the id again returns it without a request."""
    dbos = pytest.importorskip("dbos")
    monkeypatch.chdir(tmp_path)
    server.add(tool_call_response("get_weather", {"city": "Oslo"}), "Oslo: 3°C and light snow.")
    _, durable = blocks("sessions-and-durable.md")
    namespace = prelude()
    try:
        run_block("sessions-and-durable.md", durable, namespace)
        assert namespace["result"].output == "Oslo: 3°C and light snow."
        assert (tmp_path / "weather.sqlite").exists()
        stored = dbos.DBOS.retrieve_workflow("order-1234").get_result()
        assert stored.output == "Oslo: 3°C and light snow."
        with dbos.SetWorkflowID("order-1234"):
            again = namespace["agent"].run_sync("Weather in Oslo?")
        assert again.output == stored.output and len(server.bodies) == 2
    finally:
        dbos.DBOS.destroy(destroy_registry=True)


# -- testing.md --------------------------------------------------------------------------------------------


def test_testing_scripted_model() -> None:
    scripted, _, _ = blocks("testing.md")
    namespace = prelude()
    run_block("testing.md", scripted, namespace)  # its assert checks the tool's result
    assert namespace["result"].output == "It is 3°C in Oslo."


def test_testing_cassettes(server: LoopbackServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The `with cassette(...)` block records against the loopback server, then replays with the server
    stopped: the same output. The fixture's test function is called inside a cassette as the fixture would."""
    from agentkit.testing import cassette

    monkeypatch.chdir(tmp_path)
    server.add("Rome is warmer: 18°C against 3°C in Oslo.", "Rome, at 18°C.")
    _, fixture_test, wrapped = blocks("testing.md")
    namespace = prelude()
    run_block("testing.md", fixture_test, namespace)
    with cassette(tmp_path / "cassettes" / "test_docs" / "test_weather.json") as recording:
        namespace["test_weather"](recording)  # the assert in it holds
    run_block("testing.md", wrapped, namespace)
    recorded = tmp_path / "tests" / "cassettes" / "weather.json"
    assert recorded.exists() and "Rome, at 18°C." in recorded.read_text(encoding="utf-8")
    assert len(server.bodies) == 2
    server.stop()
    first = namespace["result"].output
    run_block("testing.md", wrapped, namespace)  # replayed: nothing listens any more
    assert namespace["result"].output == first == "Rome, at 18°C."


# -- configuration.md --------------------------------------------------------------------------------------


def test_configuration_in_code() -> None:
    """An OpenAI id on an endpoint of your own: the OpenAI profile (strict schemas); nothing is sent."""
    (code,) = blocks("configuration.md")
    namespace = prelude()
    run_block("configuration.md", code, namespace)
    model = namespace["model"]
    assert model.describe() == "gpt-4o-mini at https://api.openai.com/v1"
    assert model.profile.schema_dialect == "openai-strict"
    assert namespace["agent"].model is model


def test_configuration_any_server_by_environment(server: LoopbackServer) -> None:
    """The page's command, its URL the loopback server's: the demo runs there on the named model, no key."""
    (command,) = blocks("configuration.md", "bash")
    command = command.replace("http://127.0.0.1:8080/v1", server.base_url)
    server.add(
        tool_call_response("calculator", {"expression": "17*23+4"}),
        "17 * 23 + 4 is 395; today is a Monday.",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTKIT_", "OPENROUTER_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "tools")])
    env["AGENTKIT_BLOCK_MODEL_REQUESTS"] = "1"
    done = subprocess.run(
        ["bash", "-c", command.strip()], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    out = lines(done.stdout)
    assert out[0] == f"Model: qwen2.5-7b-instruct at {server.base_url}"
    assert out[2] == "Answer: 17 * 23 + 4 is 395; today is a Monday."
    assert server.bodies[0]["model"] == "qwen2.5-7b-instruct"


# -- local-model.md ----------------------------------------------------------------------------------------


def test_local_model_profile_on_another_server(server: LoopbackServer) -> None:
    """The page's one block builds a profile for a server of your own; it starts no engine, so it runs,
    pointed at the loopback server instead of 127.0.0.1:8080. With prompted tool calling the tools are
    written into the system prompt (no `tools` in the request) and the call is read from the reply's text."""
    (code,) = blocks("local-model.md")
    code = code.replace("http://127.0.0.1:8080/v1", server.base_url)
    namespace = prelude()
    run_block("local-model.md", code, namespace)
    server.add('{"name": "get_weather", "arguments": {"city": "Oslo"}}', "It is 3°C and snowing in Oslo.")
    result = Agent(namespace["model"], tools=[namespace["get_weather"]]).run_sync("Oslo weather?")
    assert result.output == "It is 3°C and snowing in Oslo."
    first = server.bodies[0]
    assert "tools" not in first and "get_weather" in first["messages"][0]["content"]
    assert any(isinstance(m, ToolMessage) and m.content == "Oslo: 3°C, light snow" for m in result.messages)


# -- ready-made-tools.md -----------------------------------------------------------------------------------


def test_ready_made_tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The agent gets exactly the tools the block's comments name."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "workspace").mkdir()
    (code,) = blocks("ready-made-tools.md")
    namespace: dict[str, Any] = {"__name__": "docs_page"}
    run_block("ready-made-tools.md", code, namespace)
    named = ["calculator"]
    for comment in re.findall(r"# (.+)", code):
        named += [name.strip() for name in comment.split(",")]
    assert list(namespace["agent"].tools) == named
    assert namespace["agent"].tools["write_file"].requires_approval
    assert namespace["agent"].tools["run_command"].requires_approval
