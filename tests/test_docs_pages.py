"""Every code block of README.md and of the docs pages moved out of it runs, in page order, against test
doubles or loopback servers (never the network, never the local model), and does what its page says.

Fragments use names the page defines elsewhere (`get_weather`, `search_hotels`, `agent`...): each test starts
from `docs_support.prelude()`, which defines them. The pages with their own tests (output, models, wire,
files-and-routing, gemini-thinking, failures, batch-and-sessions, tool-safety) are not run again here; every
page's links and its row in the README's map are checked here.
"""

from __future__ import annotations

import ast
import asyncio
import importlib
import io
import json
import os
import re
import shlex
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from docs_support import BOOKED, DOCS, README, ROOT, blocks, links, page, prelude, run_block

from agentkit import (
    Agent,
    AssistantMessage,
    ModelRetry,
    RunContext,
    SystemMessage,
    ToolExecutionError,
    ToolMessage,
    UsageLimitExceeded,
    UsageLimits,
    UserError,
    UserMessage,
    messages_from_json,
    messages_to_json,
    tool,
)
from agentkit.testing import LoopbackServer, ScriptedModel, tool_call_response, tool_calls_response

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


def heading_slugs(page: Path) -> set[str]:
    """The anchors GitHub makes of a page's headings: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    titles = re.findall(r"^#+ (.+)$", text, re.M)
    return {re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-") for title in titles}


def test_every_relative_link_points_at_an_existing_file() -> None:
    broken = []
    for path in [README, *sorted(DOCS.glob("*.md"))]:
        for target in links(path):
            if re.match(r"[a-z]+:", target):  # https:, mailto:
                continue
            file, _, anchor = target.partition("#")
            page = path.parent / file if file else path
            if not page.exists():
                broken.append(f"{path.relative_to(ROOT)}: {target}")
            elif anchor and anchor not in heading_slugs(page):
                broken.append(f"{path.relative_to(ROOT)}: {target} (no heading of that page has this anchor)")
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


def test_every_page_with_python_blocks_has_a_test() -> None:
    """A page's Python blocks are run by a test that names the page (here, or in a test module of its own)."""
    tests = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "tests").glob("test_*.py"))
    untested = [p.name for p in sorted(DOCS.glob("*.md")) if blocks(p.name) and f'"{p.name}"' not in tests]
    assert untested == [], "run these pages' blocks in a test"


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
    server.add(tool_call_response("book_hotel", {"hotel": "Hotel Central", "nights": 1}))
    waiting = namespace["agent"].run_sync("And one night at the Central")
    with pytest.raises(UserError, match=waiting.pending_approvals[0].id):  # says which decision is missing
        namespace["agent"].run_sync(None, message_history=waiting.messages, approvals={})


# -- sessions-and-durable.md -------------------------------------------------------------------------------


def test_sessions(server: LoopbackServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The second run's request carries the first exchange, loaded from chats.db; the agent's instructions
    are not stored (each run puts its own in front)."""
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


def test_configuration_table_and_prices() -> None:
    """Every variable of the page's table is one agentkit reads; the prices the page gives are the
    profiles'; OpenAI ids get strict schemas, others standard JSON Schema."""
    from agentkit.models import profile_for

    text = page("configuration.md").read_text(encoding="utf-8")
    table = [line for line in text.splitlines() if line.startswith("| `")]
    variables = [name for line in table for name in re.findall(r"`([A-Z_]+)`", line.split("|")[1])]
    assert len(variables) == 9
    source = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "agentkit").rglob("*.py"))
    assert [name for name in variables if f'"{name}"' not in source] == []
    flat = " ".join(text.split())
    for model in ("google/gemini-2.0-flash-001", "google/gemini-2.5-flash"):
        profile = profile_for(model)
        quoted = (
            f"(${profile.input_price_per_mtok:.2f}/M input, ${profile.output_price_per_mtok:.2f}/M output"
        )
        assert quoted in flat, model
    assert profile_for("openai/gpt-4o-mini").schema_dialect == "openai-strict"
    assert profile_for("qwen2.5-7b-instruct").schema_dialect == "standard"


# -- local-model.md ----------------------------------------------------------------------------------------


ENGINE_NAMES = ("LocalModel", "LocalServer", '"local"', "agentkit.local import")


def test_local_model_blocks_compile_and_their_imports_resolve() -> None:
    """Every block of local-model.md compiles and every name it imports exists. A block that would start the
    embedded engine (it names `LocalModel`, `LocalServer`, `agentkit.local` or the model id `"local"`) is
    checked only so, never run; today no block does, and the one block runs in the test below."""
    engine_blocks = []
    for code in blocks("local-model.md"):
        tree = ast.parse(code)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                module = importlib.import_module(node.module)
                assert all(hasattr(module, alias.name) for alias in node.names), ast.unparse(node)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    importlib.import_module(alias.name)
        compile(tree, "docs/local-model.md", "exec")
        if any(name in code for name in ENGINE_NAMES):
            engine_blocks.append(code)
    assert engine_blocks == []


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


# -- tracing.md --------------------------------------------------------------------------------------------

TRACING_RUN = '''
import json
import os
import sys
import types

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

EXPORTED = []


class OTLPSpanExporter(InMemorySpanExporter):
    """Stands in for the OTLP exporter (not a dependency; it would send to a collector)."""

    def __init__(self) -> None:
        super().__init__()
        EXPORTED.append(self)


package = "opentelemetry.exporter.otlp.proto.http.trace_exporter"
parts = package.split(".")
for i in range(2, len(parts) + 1):
    module = sys.modules.setdefault(".".join(parts[:i]), types.ModuleType(".".join(parts[:i])))
    module.__path__ = []
sys.modules[package].OTLPSpanExporter = OTLPSpanExporter

page = {"__name__": "docs_tracing"}
exec(compile(sys.argv[1], "docs/tracing.md", "exec"), page)

from docs_support import get_weather
from agentkit import Agent
from agentkit.testing import LoopbackServer, ScriptedModel, tool_call_response, tool_calls_response

with LoopbackServer() as server:
    server.add(tool_call_response("get_weather", {"city": "Oslo"}), "3°C in Oslo.")
    os.environ["AGENTKIT_BASE_URL"] = server.base_url
    agent = Agent("google/gemini-2.0-flash-001", name="weather", tools=[get_weather])
    agent.run_sync("Weather in Oslo?")
page["provider"].force_flush()
spans = [
    {"name": s.name, "kind": s.kind.name, "attributes": dict(s.attributes)}
    for s in EXPORTED[0].get_finished_spans()
]
print(json.dumps(spans))
'''


def test_tracing(tmp_path: Path) -> None:
    """The block, run in a fresh process (it sets the global tracer provider), with a stand-in for the OTLP
    exporter that keeps the spans: every run from there on is traced, with the spans and the attributes of
    the page's table, and no content."""
    (code,) = blocks("tracing.md")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTKIT_", "OPENROUTER_", "OTEL_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "tools"), str(ROOT / "tests")])
    env["AGENTKIT_API_KEY"] = "test-key"
    done = subprocess.run(
        [sys.executable, "-c", TRACING_RUN, code], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    spans = {span["name"]: span for span in json.loads(done.stdout)}
    assert sorted(spans) == [
        "chat google/gemini-2.0-flash-001",
        "execute_tool get_weather",
        "invoke_agent weather",
    ]
    run = spans["invoke_agent weather"]
    chat = spans["chat google/gemini-2.0-flash-001"]
    call = spans["execute_tool get_weather"]
    assert (run["kind"], chat["kind"], call["kind"]) == ("INTERNAL", "CLIENT", "INTERNAL")
    assert run["attributes"]["gen_ai.agent.name"] == "weather"
    assert run["attributes"]["agentkit.usage.tool_calls"] == 1
    assert chat["attributes"]["gen_ai.request.model"] == "google/gemini-2.0-flash-001"
    assert call["attributes"]["gen_ai.tool.call.id"]
    recorded = json.dumps(list(spans.values()))
    assert "gen_ai.input.messages" not in recorded and "light snow" not in recorded


# -- mcp.md ------------------------------------------------------------------------------------------------

DEMO_SERVER = ROOT / "tests" / "mcp_servers" / "demo_server.py"


@pytest.fixture
def demo_http_url() -> Iterator[str]:
    """The tests' demo MCP server over streamable HTTP on 127.0.0.1."""
    pytest.importorskip("mcp")  # the server is the SDK's: without the mcp extra, the test skips
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, str(DEMO_SERVER), "http", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline and process.poll() is None, "the demo server did not start"
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(10)


def test_mcp_servers_as_toolsets(
    server: LoopbackServer, demo_http_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The block's two servers are the tests' demo MCP server: over stdio in place of `npx ...
    server-filesystem` (it would download a package), and over HTTP at a free port in place of
    127.0.0.1:8000; `add` is a function tool. The run offers the agent's tool, every `fs_` tool and only
    `web_search`, and calls both servers' tools; the two async runs reuse the servers."""
    mcp = pytest.importorskip("agentkit.mcp")
    pytest.importorskip("mcp")
    from shared_tools import add

    real_stdio, real_http = mcp.MCPServerStdio, mcp.MCPServerHTTP

    def stdio(command: str, args: list[str], **options: Any) -> Any:
        assert (command, args) == ("npx", ["-y", "@modelcontextprotocol/server-filesystem", "."])
        return real_stdio(sys.executable, [str(DEMO_SERVER)], **options)

    def http(url: str, **options: Any) -> Any:
        assert url == "http://127.0.0.1:8000/mcp"
        return real_http(demo_http_url, **options)

    monkeypatch.setattr(mcp, "MCPServerStdio", stdio)
    monkeypatch.setattr(mcp, "MCPServerHTTP", http)
    server.add(
        tool_calls_response([("fs_search", {"query": "MCP"}), ("web_search", {"query": "MCP", "limit": 3})]),
        "Two hits.",
        "first answer",
        "second answer",
    )
    namespace = prelude()
    namespace["add"] = add
    (code,) = blocks("mcp.md")
    run_block("mcp.md", code, namespace)
    offered = [t["function"]["name"] for t in server.bodies[0]["tools"]]
    assert offered[0] == "add" and offered[-1] == "web_search"
    assert {"fs_search", "fs_add", "fs_describe"} <= set(offered[1:-1])
    assert not {"search", "web_add"} & set(offered)
    results = [m for m in namespace["result"].messages if isinstance(m, ToolMessage)]
    assert [m.content for m in results] == ["results for 'MCP' (limit None)", "results for 'MCP' (limit 3)"]
    assert namespace["result"].output == "Two hits."
    assert [body["messages"][-1]["content"] for body in server.bodies[2:]] == [
        "first question",
        "second question",
    ]


# -- reliability.md ----------------------------------------------------------------------------------------


# -- cli.md ------------------------------------------------------------------------------------------------


def cli_command(prefix: str) -> list[str]:
    """The arguments of the page's one `agentkit` command line starting with `prefix` (after `agentkit`),
    without its comment and output redirection."""
    found = [
        line.split("|")[-1].strip()
        for code in blocks("cli.md", "bash")
        for line in code.splitlines()
        if line.split("|")[-1].strip().startswith(f"agentkit {prefix}")
    ]
    assert len(found) == 1, (prefix, found)
    words = shlex.split(found[0], comments=True)[1:]
    return words[: words.index(">")] if ">" in words else words


def shown(prefix: str) -> list[str]:
    """The lines of the page's output block that starts with `$ agentkit ` + `prefix`, without that line."""
    (output,) = (code for code in blocks("cli.md", "") if code.startswith(f"$ agentkit {prefix}"))
    return output.splitlines()[1:]


def normalized(text: str) -> list[str]:
    return [re.sub(r"\(\d+\.\d\d s\)", "(0.00 s)", line) for line in text.splitlines()]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """`tmp_path` as the current directory and first on `sys.path`, for the page's `--tools` and
    `--output-type` files; the modules imported from it are forgotten afterwards."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])
    before = set(sys.modules)
    yield tmp_path
    for name in set(sys.modules) - before:
        if str(getattr(sys.modules[name], "__file__", None) or "").startswith(str(tmp_path)):
            del sys.modules[name]


def test_cli_run_piped(server: LoopbackServer, capsys: pytest.CaptureFixture[str]) -> None:
    """Piped: the answer alone on stdout; the way there on stderr, as the page shows it."""
    from agentkit.cli import main

    server.add(tool_call_response("calculator", {"expression": "1234*5678"}), "1234 × 5678 = 7,006,652.")
    assert main(cli_command('run "What is 1234 * 5678?" --tools calculator  ')) == 0
    out, err = capsys.readouterr()
    assert out == "1234 × 5678 = 7,006,652.\n"
    assert normalized(err) == shown('run "What is 1234 * 5678?" --tools calculator >')


def test_cli_run_json_with_image_and_output_type(
    server: LoopbackServer,
    workdir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`--image` and `--output-type module:Class` with `--json`: one object with the page's keys."""
    from agentkit.cli import main

    (workdir / "scan.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 32)
    (workdir / "invoices.py").write_text(
        "from pydantic import BaseModel\n\n\nclass Invoice(BaseModel):\n    number: str\n    total: float\n",
        encoding="utf-8",
    )
    server.add(tool_call_response("final_result", {"number": "INV-7", "total": 99.5}))
    assert main(cli_command('run "Extract the invoice."')) == 0
    document = json.loads(capsys.readouterr().out)
    assert set(document) == {"output", "model", "usage", "messages", "error"}
    assert document["output"] == {"number": "INV-7", "total": 99.5} and document["error"] is None
    assert (
        document["usage"]["total_tokens"]
        == document["usage"]["input_tokens"] + document["usage"]["output_tokens"]
    )
    parts = server.bodies[0]["messages"][-1]["content"]
    assert parts[1]["image_url"]["url"].startswith("data:image/jpeg;base64,")


def test_cli_run_limits_exit_4(
    server: LoopbackServer,
    workdir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`ops.py:read_log` takes only that function (a plain one becomes a tool); a model that keeps calling
    it reaches `--max-turns 5`: exit code 4, the error as one line on stderr."""
    from agentkit.cli import main

    (workdir / "ops.py").write_text(
        'def read_log(name: str) -> str:\n    """Read a log."""\n    return "all quiet"\n\n\n'
        'def other() -> str:\n    """Not taken."""\n    return ""\n',
        encoding="utf-8",
    )
    server.add(*[tool_call_response("read_log", {"name": f"app{i}.log"}) for i in range(6)])
    assert main(cli_command('run "Summarise the logs."')) == 4
    err = capsys.readouterr().err.splitlines()
    assert err[-1] == "agentkit run: UsageLimitExceeded: The run reached max_turns=5 without a final answer."
    assert err[-2].startswith("spent: 5 requests,")  # one line of errors, after the way there
    assert [t["function"]["name"] for t in server.bodies[0]["tools"]] == ["read_log"]
    assert len(server.bodies) == 5


def test_cli_run_task_from_stdin(
    server: LoopbackServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from agentkit.cli import main

    monkeypatch.setattr(sys, "stdin", io.StringIO("What time is it in Tokyo?\n"))
    server.add(tool_call_response("current_time", {"timezone": "Asia/Tokyo"}), "It is evening in Tokyo.")
    assert main(cli_command("run - --tools agentkit_tools:current_time")) == 0
    assert capsys.readouterr().out == "It is evening in Tokyo.\n"
    assert server.bodies[0]["messages"][-1]["content"].strip() == "What time is it in Tokyo?"
    assert "+09:00 (" in server.bodies[1]["messages"][-1]["content"]  # the tool's answer: Tokyo's time


def test_cli_tools_in_the_gemini_dialect(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The schemas the model is sent: a tools file and the ready-made module, in the named dialect."""
    from agentkit.cli import main

    (workdir / "tools.py").write_text(
        "from agentkit import tool\n\n\n@tool\ndef get_weather(city: str) -> str:\n"
        '    """Current weather in a city.\n\n    Args:\n        city: City name.\n    """\n'
        '    return f"{city}: 3°C"\n',
        encoding="utf-8",
    )
    assert main(cli_command("tools tools.py agentkit_tools")) == 0
    out = capsys.readouterr().out
    assert out.startswith("3 tools, in the gemini dialect")
    assert "\nget_weather\n  Current weather in a city." in out and "\ncalculator\n" in out


def test_cli_batch_of_questions(
    server: LoopbackServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A plain-text tasks file: one line per answer with the page's fields, the summary in the shape the page
    shows, and `--json-summary`'s object on stdout."""
    from agentkit.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "questions.txt").write_text("What is 2+2?\n\nWhat is 3*3?\n", encoding="utf-8")
    server.add(lambda body: f"answer to {body['messages'][-1]['content']}")
    server.add(lambda body: f"answer to {body['messages'][-1]['content']}")
    assert main(cli_command("batch questions.txt")) == 0
    out, err = capsys.readouterr()
    results = [json.loads(line) for line in (tmp_path / "answers.jsonl").read_text().splitlines()]
    assert {r["id"]: r["output"] for r in results} == {
        1: "answer to What is 2+2?",
        3: "answer to What is 3*3?",
    }
    for record in results:
        assert set(record) == {"id", "output", "model", "usage", "cost_usd", "error", "duration_s"}
    (summary_shape,) = (line for line in blocks("cli.md", "")[-1].splitlines() if "answered" in line)
    parts = re.split(r"(\d[\d,.]*(?:m\d+s|s)?)", summary_shape.replace("results.jsonl", "answers.jsonl"))
    pattern = "".join(r"[\d,.ms]+" if i % 2 else re.escape(part) for i, part in enumerate(parts))
    assert any(re.fullmatch(pattern, line) for line in err.splitlines()), err
    assert json.loads(out.splitlines()[-1])["answered"] == 2


def test_cli_run_in_a_terminal(server: LoopbackServer) -> None:
    """In a terminal (a pseudo-terminal, in a subprocess), the lines the page says stay on screen are there,
    once the escape codes are taken out."""
    from cli_support import Terminal, cli_env

    server.add(tool_call_response("calculator", {"expression": "1234*5678"}), "1234 × 5678 = 7,006,652.")
    terminal = Terminal(
        *cli_command('run "What is 1234 * 5678?" --tools calculator  '), env=cli_env(server.base_url)
    )
    assert terminal.finish() == 0
    screen = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\r", "", terminal.screen)
    screen = re.sub(r"\(\d+\.\d\d s\)", "(0.00 s)", screen)
    for line in shown('run "What is 1234 * 5678?" --tools calculator\n'):
        assert f"\n{line}\n" in screen, (line, screen)  # a whole line of the screen


# -- tools.md: no code block; its claims, run ---------------------------------------------------------------


def test_tools_page_claims() -> None:
    """What tools.md's bullets say, with a scripted model: a context parameter is not in the schema and gets
    the deps, the call id and the usage; a turn's calls run concurrently (both pass a barrier of two) and
    their results keep the model's order; `ModelRetry`'s text reaches the model; a timeout is reported to the
    model; `max_turns` per run and `UsageLimits` raise `UsageLimitExceeded` with the transcript and usage;
    `raise_tool_errors=True` raises; a conversation continues from `message_history` and its transcript
    round-trips through JSON; `run_sync` refuses a running loop."""
    barrier = threading.Barrier(2, timeout=10)

    @tool
    def whoami(ctx: RunContext[str], greeting: str) -> str:
        """Greet the user.

        Args:
            greeting: The greeting.
        """
        return f"{greeting} {ctx.deps} ({ctx.tool_call_id}, after {ctx.usage.requests} request)"

    @tool
    def meet(name: str) -> str:
        """Wait for the other call.

        Args:
            name: Who.
        """
        barrier.wait()
        return f"met {name}"

    @tool
    def pick(n: int) -> str:
        """Pick a number.

        Args:
            n: The number.
        """
        if n != 2:
            raise ModelRetry("Pick 2 instead.")
        return "picked 2"

    @tool(timeout=0.05)
    async def slow() -> str:
        """Take long."""
        await asyncio.sleep(5)
        return "never"

    model = ScriptedModel(
        [
            tool_call_response("whoami", {"greeting": "Hello"}, id="call_1"),
            tool_calls_response([("meet", {"name": "A"}), ("meet", {"name": "B"})]),
            tool_call_response("pick", {"n": 3}),
            tool_call_response("slow", {}),
            "Done.",
            "Still here.",
        ]
    )
    agent = Agent(model, tools=[whoami, meet, pick, slow], deps_type=str)
    result = agent.run_sync("Go", deps="Ann")
    assert list(model.requests[0].parameters.tools[0].parameters["properties"]) == ["greeting"]
    results = [m.content for m in result.messages if isinstance(m, ToolMessage)]
    assert results[:3] == ["Hello Ann (call_1, after 1 request)", "met A", "met B"]
    assert "Pick 2 instead." in results[3] and "timed out" in results[4]
    again = agent.run_sync(
        "Still?", deps="Ann", message_history=messages_from_json(messages_to_json(result.messages))
    )
    assert (
        again.output == "Still here."
        and model.requests[-1].messages[: len(result.messages)] == result.messages
    )

    looping = ScriptedModel([tool_call_response("pick", {"n": 2})] * 3)
    with pytest.raises(UsageLimitExceeded) as stopped:
        Agent(looping, tools=[pick]).run_sync("Go", max_turns=1)
    assert stopped.value.usage.requests == 1 and isinstance(stopped.value.messages[-1], ToolMessage)
    with pytest.raises(UsageLimitExceeded):
        Agent(ScriptedModel(["Hi"]), usage_limits=UsageLimits(total_tokens_limit=1)).run_sync("Hello")

    @tool
    def broken() -> str:
        """Fail."""
        raise RuntimeError("disk on fire")

    with pytest.raises(ToolExecutionError, match="disk on fire"):
        Agent(
            ScriptedModel([tool_call_response("broken", {})]), tools=[broken], raise_tool_errors=True
        ).run_sync("Go")

    async def inside_a_loop() -> None:
        Agent(ScriptedModel(["Hi"])).run_sync("Hello")

    with pytest.raises(UserError):
        asyncio.run(inside_a_loop())
