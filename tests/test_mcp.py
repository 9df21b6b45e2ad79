"""MCP toolsets against real MCP servers (the SDK's `MCPServer`, run as a subprocess) over stdio and
streamable HTTP, with a scripted model calling their tools."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("mcp")

from agentkit import Agent, ModelRetry, RunContext, ToolMessage, UserError
from agentkit._support.sync import run_sync
from agentkit.events import RunFinished
from agentkit.mcp import MCPServer, MCPServerHTTP, MCPServerStdio
from agentkit.testing import ScriptedModel, tool_call_response

SERVERS = Path(__file__).parent / "mcp_servers"
DEMO = str(SERVERS / "demo_server.py")
ROOT = Path(__file__).resolve().parents[1]
DEMO_TOOLS = ["add", "search", "describe", "picture", "fail", "crash", "call_log"]


def demo(**options: Any) -> MCPServerStdio:
    return MCPServerStdio(sys.executable, [DEMO], **options)


def tool_messages(messages: list[Any]) -> list[ToolMessage]:
    return [m for m in messages if isinstance(m, ToolMessage)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def http_url() -> Iterator[str]:
    """The demo server over streamable HTTP on 127.0.0.1."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, DEMO, "http", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the demo HTTP server did not start") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(10)


def test_stdio_server_tools_are_called_by_the_agent() -> None:
    model = ScriptedModel(
        [
            tool_call_response("demo_add", {"a": 2, "b": 3}),
            tool_call_response("demo_describe", {"item": {"name": "cup", "color": "green"}}),
            "done",
        ]
    )
    result = Agent(model, toolsets=[demo(prefix="demo")]).run_sync("go")
    assert result.output == "done"
    names = [t.name for t in model.requests[0].parameters.tools]
    assert names == [f"demo_{n}" for n in DEMO_TOOLS]
    add, describe = tool_messages(result.messages)
    assert (add.content, add.is_error) == ("5", False)
    assert json.loads(describe.content) == {"name": "cup", "color": "green", "tags": [], "note": None}
    assert describe.content == '{"name":"cup","color":"green","tags":[],"note":null}'  # compact


async def test_http_server_with_prefix_and_allowed_tools(http_url: str) -> None:
    server = MCPServerHTTP(http_url, headers={"X-Test": "1"}, prefix="web", allowed_tools=["search", "add"])
    model = ScriptedModel([tool_call_response("web_search", {"query": "mcp", "limit": 2}), "found"])
    result = await Agent(model, toolsets=[server]).run("search")
    assert [t.name for t in model.requests[0].parameters.tools] == ["web_add", "web_search"]
    assert tool_messages(result.messages)[0].content == "results for 'mcp' (limit 2)"
    assert "MCPServerHTTP" in repr(server) and server.name == f"MCP server {http_url!r}"


async def test_two_servers_with_the_same_tools_need_prefixes(http_url: str) -> None:
    model = ScriptedModel(
        [tool_call_response("a_add", {"a": 1, "b": 1}), tool_call_response("b_add", {"a": 2, "b": 2}), "ok"]
    )
    toolsets = [
        demo(prefix="a", allowed_tools=["add"]),
        MCPServerHTTP(http_url, prefix="b", allowed_tools=["add"]),
    ]
    result = await Agent(model, toolsets=toolsets).run("add")
    assert [m.content for m in tool_messages(result.messages)] == ["2", "4"]
    clash = Agent(
        ScriptedModel(["x"]),
        toolsets=[demo(allowed_tools=["add"]), MCPServerHTTP(http_url, allowed_tools=["add"])],
    )
    with pytest.raises(UserError, match="prefix"):
        await clash.run("add")


async def test_allowed_tools_naming_a_missing_tool_is_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    server = demo(allowed_tools=["add", "nope"])
    async with server:
        tools = await server.get_tools(RunContext(deps=None))
        await server.get_tools(RunContext(deps=None))
    assert [t.name for t in tools] == ["add"]
    warnings = [r for r in caplog.records if r.name == "agentkit" and "nope" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING


async def test_server_schemas_translate_for_gemini_and_arguments_are_validated_before_the_call() -> None:
    server = demo()
    async with server:
        tools = {t.name: t for t in await server.get_tools(RunContext(deps=None))}
        describe = tools["describe"]
        raw = json.dumps(describe.parameters)
        assert (
            "$defs" in raw and "$ref" in raw and "anyOf" in raw and "title" in raw
        )  # what FastMCP publishes
        gemini = describe.openai_tool("gemini")["function"]["parameters"]
        text = json.dumps(gemini)
        for keyword in ("$defs", "$ref", "anyOf", "title", "additionalProperties"):
            assert keyword not in text, keyword
        assert gemini["properties"]["item"]["properties"]["color"]["enum"] == ["red", "green"]
        assert gemini["properties"]["note"] == {"type": "string", "nullable": True}
        assert "parameters" not in tools["crash"].openai_tool("gemini")["function"]  # no arguments: none sent
        # a null for an optional field, as Gemini writes it, validates
        assert describe.validate_arguments('{"item": {"name": "x"}, "note": null}', dialect="gemini")

    def answer(messages: list[Any], info: Any) -> Any:
        if info.request_index == 0:
            return tool_call_response("describe", {"item": {"name": 3, "color": "blue"}})
        if info.request_index == 1:
            return tool_call_response("call_log", {})
        return "done"

    from agentkit.testing import FunctionModel

    result = await Agent(FunctionModel(answer), toolsets=[demo()]).run("go")
    bad, log = tool_messages(result.messages)
    assert bad.is_error
    assert "$.item.color: 'blue' is not one of ['red', 'green']" in bad.content
    assert "$.item.name: 3 is not of type 'string'" in bad.content
    assert log.content.endswith(": ")  # the server saw no call to describe


def test_results_with_images_errors_and_structured_content() -> None:
    model = ScriptedModel(
        [
            tool_call_response("picture", {"caption": "a dot"}),
            tool_call_response("fail", {"reason": "out of paper"}),
            "done",
        ]
    )
    result = Agent(model, toolsets=[demo()]).run_sync("go")
    picture, fail = tool_messages(result.messages)
    assert picture.content == "a dot\n[1 image attached]"
    assert len(picture.images) == 1 and picture.images[0].url.startswith("data:image/png;base64,iVBOR")
    assert fail.is_error and "out of paper" in fail.content


def test_a_crash_mid_run_tells_the_model_and_the_next_call_reconnects(
    caplog: pytest.LogCaptureFixture,
) -> None:
    model = ScriptedModel(
        [
            tool_call_response("call_log", {}),
            tool_call_response("crash", {}),
            tool_call_response("add", {"a": 1, "b": 2}),
            tool_call_response("call_log", {}),
            "recovered",
        ]
    )
    with caplog.at_level(logging.INFO, logger="agentkit"):
        result = Agent(model, toolsets=[demo()]).run_sync("go")
    assert result.output == "recovered"
    before, crash, add, after = tool_messages(result.messages)
    assert crash.is_error and "stopped or disconnected" in crash.content and "next call" in crash.content
    assert (add.content, add.is_error) == ("3", False)
    assert before.content.split(":")[0] != after.content.split(":")[0]  # another process
    assert after.content.endswith(": add")
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and r.name == "agentkit"]
    assert len(warnings) == 1 and "connection was lost during a call to 'crash'" in warnings[0].getMessage()
    assert any("reconnected" in r.getMessage() for r in caplog.records)


async def test_async_with_agent_keeps_one_server_for_many_runs() -> None:
    server = demo()
    model = ScriptedModel(
        [tool_call_response("call_log", {}), "one", tool_call_response("call_log", {}), "two"]
    )
    agent = Agent(model, toolsets=[server])
    async with agent:
        first = await agent.run("a")
        second = await agent.run("b")
    pid = tool_messages(first.messages)[0].content.split(":")[0]
    assert tool_messages(second.messages)[0].content.split(":")[0] == pid
    assert not server.is_running


def test_each_sync_run_starts_and_stops_the_server() -> None:
    server = demo()
    model = ScriptedModel(
        [tool_call_response("call_log", {}), "one", tool_call_response("call_log", {}), "two"]
    )
    agent = Agent(model, toolsets=[server])
    pids = [tool_messages(agent.run_sync(p).messages)[0].content.split(":")[0] for p in ("a", "b")]
    assert pids[0] != pids[1]
    assert not server.is_running


def test_run_stream_sync_starts_and_stops_the_server_from_different_tasks() -> None:
    model = ScriptedModel([tool_call_response("add", {"a": 4, "b": 4}), "eight"])
    events = list(Agent(model, toolsets=[demo()]).run_stream_sync("add"))
    finished = events[-1]
    assert isinstance(finished, RunFinished) and finished.result.output == "eight"
    assert tool_messages(finished.result.messages)[0].content == "8"


def test_a_stream_closed_early_stops_the_server() -> None:
    server = demo()
    model = ScriptedModel([tool_call_response("add", {"a": 4, "b": 4}), "eight"])
    stream = Agent(model, toolsets=[server]).run_stream_sync("add")
    next(stream)
    assert server.is_running
    stream.close()
    assert not server.is_running


def test_calls_from_another_event_loop_go_through_the_owners() -> None:
    server = demo()
    run_sync(server.__aenter__())  # started on the background loop of run_sync
    try:
        assert asyncio.run(server.call_tool("add", {"a": 20, "b": 22})) == "42"
    finally:
        asyncio.run(server.__aexit__(None, None, None))  # stopped from yet another loop
    assert not server.is_running


async def test_stop_does_not_hang_on_a_server_that_ignores_stdin_closing() -> None:
    server = MCPServerStdio(sys.executable, [str(SERVERS / "stubborn_server.py")], cwd=str(SERVERS))
    await server.__aenter__()
    assert await server.call_tool("add", {"a": 1, "b": 1}) == "2"
    await asyncio.wait_for(server.__aexit__(None, None, None), 30)
    assert not server.is_running


async def test_a_server_that_does_not_start_is_a_user_error() -> None:
    with pytest.raises(UserError, match=r"MCP server '/nonexistent/mcp-server' did not start: .*Error"):
        async with MCPServerStdio("/nonexistent/mcp-server"):
            pass
    server = MCPServerHTTP(f"http://127.0.0.1:{free_port()}/mcp", start_timeout=10)
    with pytest.raises(UserError, match="did not start"):
        await Agent(ScriptedModel(["x"]), toolsets=[server]).run("go")


async def test_calling_a_server_that_is_not_started_says_how_to_start_it() -> None:
    with pytest.raises(UserError, match=r"not started.*toolsets"):
        await demo().call_tool("add", {"a": 1, "b": 2})


async def test_protocol_errors_and_unknown_tools_reach_the_model_as_retries() -> None:
    server = demo()
    async with server:
        with pytest.raises(ModelRetry, match="add"):
            await server.call_tool("add", {"a": "x"})  # past our validation: the server's error result
        with pytest.raises(ModelRetry):
            await server.call_tool("no_such_tool", {})


def test_options_must_be_lists() -> None:
    with pytest.raises(UserError, match="list of tool names"):
        demo(allowed_tools="add")
    with pytest.raises(UserError, match="list of arguments"):
        MCPServerStdio("python", "server.py")


def test_mcp_serve_round_trip_through_our_own_client() -> None:
    served = MCPServerStdio(
        sys.executable,
        ["-m", "agentkit", "mcp", "serve", "tests/mcp_servers/served_tools.py", "calculator"],
        env={
            "PYTHONPATH": os.pathsep.join(
                filter(None, [str(ROOT), str(ROOT / "tools"), os.environ.get("PYTHONPATH")])
            )
        },
        cwd=str(ROOT),
        prefix="kit",
    )
    model = ScriptedModel(
        [
            tool_call_response("kit_add", {"a": 40, "b": 2}),
            tool_call_response("kit_check", {"word": "no"}),
            tool_call_response("kit_picture", {"caption": "dot"}),
            tool_call_response("kit_whoami", {}),
            "done",
        ]
    )
    result = Agent(model, toolsets=[served]).run_sync("go")
    offered = {t.name: t for t in model.requests[0].parameters.tools}
    assert sorted(offered) == ["kit_add", "kit_calculator", "kit_check", "kit_picture", "kit_whoami"]
    assert offered["kit_add"].parameters["properties"]["a"] == {
        "type": "integer",
        "description": "The first.",
    }
    add, check, picture, whoami = tool_messages(result.messages)
    assert add.content == "42"
    assert check.is_error and check.content == "Say 'yes'."
    assert picture.content.startswith("dot\n[2 images attached]\n[image: https://x.test/a.png]")
    assert [i.url for i in picture.images] == ["data:image/png;base64,iVBORw=="]
    assert whoami.content == "whoami deps=None"


async def test_served_tools_validate_arguments_and_name_unknown_tools() -> None:
    from mcp import Client

    from agentkit.mcp import mcp_server

    sys.path.insert(0, str(SERVERS))
    try:
        import served_tools
    finally:
        sys.path.remove(str(SERVERS))

    def double(x: int) -> int:
        """Double x."""
        return 2 * x

    async with Client(mcp_server([served_tools.add, double])) as client:
        listed = await client.list_tools()
        assert [t.name for t in listed.tools] == ["add", "double"]
        bad = await client.call_tool("add", {"a": "x", "b": 1})
        assert bad.is_error and "$.a" in bad.content[0].text and "Fix the arguments" in bad.content[0].text
        unknown = await client.call_tool("ad", {})
        assert unknown.is_error and "Did you mean 'add'?" in unknown.content[0].text
        good = await client.call_tool("double", {"x": 21})
        assert not good.is_error and good.content[0].text == "42"
    async with Client(mcp_server([served_tools.picture])) as client:
        picture = await client.call_tool("picture", {"caption": "dot"})
        assert [c.type for c in picture.content] == ["text", "image", "text"]
        assert (
            picture.content[1].data == "iVBORw=="
            and picture.content[2].text == "[image: https://x.test/a.png]"
        )
    with pytest.raises(UserError, match="unique"):
        mcp_server([served_tools.add, served_tools.add])


def test_mcp_serve_needs_specs_and_reports_bad_ones(capsys: pytest.CaptureFixture[str]) -> None:
    from agentkit.cli._main import main

    assert main(["mcp", "serve", "no_such_module_xyz"]) == 2
    assert "no_such_module_xyz" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["mcp"])


class InProcess(MCPServer):
    """An in-process `mcp` server as a toolset (for servers that publish odd tools)."""

    def __init__(self, server: Any, **options: Any) -> None:
        super().__init__(**options)
        self.server = server

    @property
    def label(self) -> str:
        return "in-process"

    async def _open_client(self, stack: Any) -> Any:
        from mcp import Client

        return await stack.enter_async_context(Client(self.server))


async def test_odd_tool_names_are_made_valid_and_invalid_schemas_left_out(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import mcp_types as types
    from mcp.server import Server

    async def list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
        return types.ListToolsResult(
            tools=[
                types.Tool(name="files.read/all", input_schema={"type": "object"}),
                types.Tool(name="broken", input_schema={"type": "object", "properties": {"x": {"type": 5}}}),
            ]
        )

    async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        return types.CallToolResult(content=[types.TextContent(type="text", text=f"called {params.name}")])

    server = InProcess(Server("odd", on_list_tools=list_tools, on_call_tool=call_tool), prefix="x")
    async with server:
        tools = await server.get_tools(RunContext(deps=None))
        assert [t.name for t in tools] == ["x_files_read_all"]
        assert await tools[0].call({}) == "called files.read/all"
        assert (await server.get_tools(RunContext(deps=None)))[0] is tools[0]  # built once
    assert any("'broken' left out" in r.getMessage() for r in caplog.records)


def test_import_agentkit_mcp_does_not_import_the_sdk() -> None:
    check = "import sys, agentkit, agentkit.mcp; print(sorted(m for m in ('mcp', 'mcp_types', 'anyio') if m in sys.modules))"
    run = subprocess.run(
        [sys.executable, "-c", check],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=True,
    )
    assert run.stdout.strip() == "[]"


def result(*content: Any, structured: dict[str, Any] | None = None, is_error: bool = False) -> Any:
    import mcp_types as types

    return types.CallToolResult(content=list(content), structured_content=structured, is_error=is_error)


def test_result_blocks_become_text_images_and_notes() -> None:
    import mcp_types as types

    from agentkit import ImagePart, TextPart
    from agentkit.mcp import _result_value

    text = types.TextContent(type="text", text="hello")
    image = types.ImageContent(type="image", data="AAAA", mime_type="image/png")
    audio = types.AudioContent(type="audio", data="AAAA", mime_type="audio/wav")
    link = types.ResourceLink(type="resource_link", name="notes", uri="file:///notes.txt")
    embedded_text = types.EmbeddedResource(
        type="resource", resource=types.TextResourceContents(uri="file:///a.txt", text="inside")
    )
    embedded_image = types.EmbeddedResource(
        type="resource",
        resource=types.BlobResourceContents(uri="file:///a.png", blob="BBBB", mime_type="image/png"),
    )
    embedded_blob = types.EmbeddedResource(
        type="resource", resource=types.BlobResourceContents(uri="file:///a.bin", blob="CCCC")
    )
    assert _result_value(result(text, audio, link, embedded_text, embedded_blob)) == (
        "hello\n[audio (audio/wav) not shown]\n[resource link: notes file:///notes.txt]\ninside\n"
        "[resource file:///a.bin (application/octet-stream) not shown]"
    )
    assert _result_value(result(text, image, embedded_image)) == [
        TextPart(text="hello"),
        ImagePart(url="data:image/png;base64,AAAA"),
        ImagePart(url="data:image/png;base64,BBBB"),
    ]
    assert _result_value(result()) == ""


def test_structured_content_is_sent_once_as_compact_json() -> None:
    import mcp_types as types

    from agentkit.mcp import _result_value

    def text(value: str) -> types.TextContent:
        return types.TextContent(type="text", text=value)

    data = {"a": [1, 2], "b": None}
    assert _result_value(result(text(json.dumps(data, indent=2)), structured=data)) == '{"a":[1,2],"b":null}'
    assert _result_value(result(structured=data)) == '{"a":[1,2],"b":null}'
    assert _result_value(result(text("a summary"), structured=data)) == 'a summary\n{"a":[1,2],"b":null}'
    assert _result_value(result(text("7"), structured={"result": 7})) == "7"
    assert _result_value(result(text("seven"), structured={"result": "seven"})) == "seven"
    assert _result_value(result(text("[1, 2]"), structured={"result": [1, 2]})) == "[1,2]"


def test_structured_content_that_only_wraps_the_text_is_not_sent_again() -> None:
    import mcp_types as types

    from agentkit.mcp import _result_value

    def text(value: str) -> types.TextContent:
        return types.TextContent(type="text", text=value)

    file = "".join(f"line {n:05d} of a text file with ünïcode\n" for n in range(1000))[:20_480]
    assert len(file) == 20_480
    # the reference filesystem server's read_text_file: the file as text, and again as {"content": ...}
    assert _result_value(result(text(file), structured={"content": file})) == file
    assert _result_value(result(text("a"), text("b"), structured={"content": "a\nb"})) == "a\nb"
    assert _result_value(result(text("a"), text("b"), structured={"text": "ab"})) == "a\nb"
    # different things are both sent
    assert (
        _result_value(result(text("3 files"), structured={"content": "a b c"}))
        == '3 files\n{"content":"a b c"}'
    )
    assert _result_value(result(text("x"), structured={"content": "x", "n": 1})) == 'x\n{"content":"x","n":1}'
    assert _result_value(result(text("7"), structured={"count": 7})) == '7\n{"count":7}'
    assert _result_value(result(structured={"content": "x"})) == '{"content":"x"}'


def test_an_error_result_is_a_retry_with_the_servers_text() -> None:
    import mcp_types as types

    from agentkit.mcp import _result_value

    with pytest.raises(ModelRetry, match="disk full"):
        _result_value(result(types.TextContent(type="text", text="disk full"), is_error=True))
    with pytest.raises(ModelRetry, match="no details"):
        _result_value(result(is_error=True))


class FakeClient:
    """Stands in for `mcp.Client`: answers from scripts (a value, or an exception to raise)."""

    def __init__(self, listings: list[Any], calls: list[Any] = ()) -> None:  # type: ignore[assignment]
        self.listings, self.calls = list(listings), list(calls)

    async def list_tools(self, cursor: str | None = None) -> Any:
        return self._next(self.listings)

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> Any:
        return self._next(self.calls)

    def _next(self, script: list[Any]) -> Any:
        item = script.pop(0)
        if isinstance(item, BaseException):
            raise item
        return item


class Scripted(MCPServer):
    """A toolset whose each (re)connection takes the next item: a `FakeClient`, an exception, or "hang"."""

    def __init__(self, opens: list[Any], **options: Any) -> None:
        super().__init__(**options)
        self.opens = list(opens)

    @property
    def label(self) -> str:
        return "scripted"

    async def _open_client(self, stack: Any) -> Any:
        item = self.opens.pop(0)
        if item == "hang":
            await asyncio.Event().wait()
        if isinstance(item, BaseException):
            raise item
        return item


def listing(*names: str) -> Any:
    import mcp_types as types

    return types.ListToolsResult(tools=[types.Tool(name=n, input_schema={"type": "object"}) for n in names])


def lost() -> Exception:
    from mcp.shared.exceptions import MCPError
    from mcp_types import CONNECTION_CLOSED

    return MCPError(CONNECTION_CLOSED, "Connection closed")


async def test_listing_on_a_lost_connection_reconnects_once(caplog: pytest.LogCaptureFixture) -> None:
    server = Scripted([FakeClient([lost()]), FakeClient([listing("a")])])
    async with server:
        assert [t.name for t in await server.get_tools(RunContext(deps=None))] == ["a"]
    assert any("connection was lost" in r.getMessage() for r in caplog.records)
    from mcp.shared.exceptions import MCPError

    failing = Scripted([FakeClient([MCPError(-32603, "bad page")])])
    async with failing:
        with pytest.raises(UserError, match="could not list its tools: MCPError: bad page"):
            await failing.get_tools(RunContext(deps=None))


async def test_a_server_that_cannot_be_restarted_fails_the_call_for_the_model() -> None:
    server = Scripted([FakeClient([], [lost()]), OSError("no such command")])
    async with server:
        with pytest.raises(ModelRetry, match="stopped or disconnected"):
            await server.call_tool("a", {})
        with pytest.raises(ModelRetry, match=r"could not be restarted: .*OSError: no such command"):
            await server.call_tool("a", {})


async def test_a_server_that_hangs_while_starting_times_out() -> None:
    with pytest.raises(UserError, match="did not start: TimeoutError"):
        async with Scripted(["hang"], start_timeout=0.05):
            pass


async def test_a_failure_while_closing_is_only_logged(caplog: pytest.LogCaptureFixture) -> None:
    class FailsOnClose(Scripted):
        async def _open_client(self, stack: Any) -> Any:
            async def fail() -> None:
                raise RuntimeError("close failed")

            stack.push_async_callback(fail)
            return await super()._open_client(stack)

    with caplog.at_level(logging.DEBUG, logger="agentkit"):
        async with FailsOnClose([FakeClient([])]):
            pass
    assert any("closing the MCP session failed" in r.getMessage() for r in caplog.records)


def test_mcp_serve_command_serves_the_loaded_tools(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import agentkit.mcp
    from agentkit.cli._main import main

    served: list[Any] = []

    async def fake_serve(tools: Any, *, name: str, allow_unapproved: bool) -> None:
        served.append(([t.name for t in tools], name, allow_unapproved))

    monkeypatch.setattr(agentkit.mcp, "serve_stdio", fake_serve)
    assert main(["mcp", "serve", str(SERVERS / "served_tools.py") + ":add,check", "--name", "kit"]) == 0
    assert served == [(["add", "check"], "kit", False)]
    err = capsys.readouterr().err
    assert "serving 2 tool(s) over stdio: add, check" in err and "approval" not in err
    assert main(["mcp", "serve", str(SERVERS / "served_tools.py") + ":add,erase"]) == 0
    err = capsys.readouterr().err
    assert "tools that need approval (erase): asked through the client (MCP elicitation)" in err
    assert "clients that cannot ask do not see them" in err
    assert main(["mcp", "serve", str(SERVERS / "served_tools.py") + ":erase", "--allow-unapproved"]) == 0
    assert "clients that cannot ask run them WITHOUT approval" in capsys.readouterr().err
    assert served[1:] == [(["add", "erase"], "agentkit", False), (["erase"], "agentkit", True)]


def _served_tools() -> Any:
    sys.path.insert(0, str(SERVERS))
    try:
        import served_tools
    finally:
        sys.path.remove(str(SERVERS))
    served_tools.ERASED.clear()
    return served_tools


class Asker:
    """An elicitation callback: records each question and answers with the next scripted answer."""

    def __init__(self, *answers: Any) -> None:
        self.answers, self.questions = list(answers), []  # type: list[Any], list[Any]

    async def __call__(self, context: Any, params: Any) -> Any:
        self.questions.append(params)
        return self.answers.pop(0)


@pytest.mark.parametrize("mode", ["auto", "legacy"])  # 2026-07-28 asks in the result; older, by a request
async def test_a_tool_that_needs_approval_is_asked_about_through_elicitation(mode: str) -> None:
    import mcp_types as types
    from mcp import Client

    from agentkit.mcp import mcp_server

    served = _served_tools()
    asker = Asker(
        types.ElicitResult(action="accept", content={"approve": True}),
        types.ElicitResult(action="decline"),
        types.ElicitResult(action="accept", content={"approve": False}),
        types.ElicitResult(action="cancel"),
    )
    server = mcp_server([served.add, served.erase])
    async with Client(server, elicitation_callback=asker, mode=mode) as client:  # type: ignore[arg-type]
        assert (client.session.protocol_version == "2026-07-28") == (mode == "auto")
        assert [t.name for t in (await client.list_tools()).tools] == ["add", "erase"]
        ran = await client.call_tool("erase", {"name": "a.txt"})
        assert not ran.is_error and ran.content[0].text.startswith("erased a.txt in call mcp-")
        for _ in range(3):
            denied = await client.call_tool("erase", {"name": "b.txt"})
            assert denied.is_error and denied.content[0].text == "Not executed: the user denied this call."
        assert not (await client.call_tool("add", {"a": 1, "b": 2})).is_error  # no question for add
    assert served.ERASED == ["a.txt"]
    assert len(asker.questions) == 4
    question = asker.questions[0]
    assert "Run the tool 'erase'" in question.message and '"name": "a.txt"' in question.message
    assert question.requested_schema["properties"]["approve"]["type"] == "boolean"


async def test_an_approval_is_for_one_call_and_a_failed_question_runs_nothing() -> None:
    import mcp_types as types
    from mcp import Client

    from agentkit.mcp import mcp_server

    served = _served_tools()
    yes = types.ElicitResult(action="accept", content={"approve": True})
    async with Client(mcp_server([served.erase]), elicitation_callback=Asker(yes)) as client:
        asked = await client.session.call_tool("erase", {"name": "a.txt"}, allow_input_required=True)
        assert isinstance(asked, types.InputRequiredResult) and asked.request_state
        (key,) = asked.input_requests or {}
        other = await client.session.call_tool(  # the answer replayed for other arguments: asked again
            "erase",
            {"name": "b.txt"},
            input_responses={key: yes},
            request_state=asked.request_state,
            allow_input_required=True,
        )
        assert isinstance(other, types.InputRequiredResult)
        odd = await client.session.call_tool(
            "erase",
            {"name": "a.txt"},
            input_responses={key: types.ListRootsResult(roots=[])},
            request_state=asked.request_state,
        )
        assert odd.is_error and "was not a form's answer" in odd.content[0].text
    no_user = Asker(types.ErrorData(code=-32600, message="no user here"))
    async with Client(mcp_server([served.erase]), elicitation_callback=no_user, mode="legacy") as client:
        failed = await client.call_tool("erase", {"name": "c.txt"})
        assert failed.is_error and "asking for approval of 'erase' failed" in failed.content[0].text
    assert served.ERASED == []


async def test_a_client_that_cannot_ask_does_not_get_tools_that_need_approval() -> None:
    from mcp import Client

    from agentkit.mcp import mcp_server

    served = _served_tools()
    async with Client(mcp_server([served.add, served.erase])) as client:
        assert [t.name for t in (await client.list_tools()).tools] == ["add"]
        refused = await client.call_tool("erase", {"name": "a.txt"})
        assert refused.is_error and "cannot ask for it (MCP elicitation)" in refused.content[0].text
        assert "--allow-unapproved" in refused.content[0].text
    assert served.ERASED == []
    async with Client(mcp_server([served.add, served.erase], allow_unapproved=True)) as client:
        assert [t.name for t in (await client.list_tools()).tools] == ["add", "erase"]
        assert not (await client.call_tool("erase", {"name": "a.txt"})).is_error
    assert served.ERASED == ["a.txt"]


async def test_each_served_call_gets_its_own_tool_call_id() -> None:
    from mcp import Client

    from agentkit import tool
    from agentkit.mcp import mcp_server

    @tool
    def call_id(ctx: RunContext[None]) -> str:
        """This call's id."""
        return ctx.tool_call_id

    async with Client(mcp_server([call_id])) as client:
        ids = [(await client.call_tool("call_id", {})).content[0].text for _ in range(3)]
    assert len(set(ids)) == 3 and all(i.startswith("mcp-") for i in ids), ids


async def test_mcp_serve_over_stdio_asks_a_real_client_before_a_call_that_needs_approval() -> None:
    import mcp_types as types
    from mcp import Client, StdioServerParameters

    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "agentkit", "mcp", "serve", "tests/mcp_servers/served_tools.py"],
        env={
            "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tools")]),
            "PATH": os.environ.get("PATH", os.defpath),
        },
        cwd=str(ROOT),
    )
    asker = Asker(
        types.ElicitResult(action="accept", content={"approve": True}), types.ElicitResult(action="decline")
    )
    async with Client(params, elicitation_callback=asker) as client:
        assert "erase" in [t.name for t in (await client.list_tools()).tools]
        first = (await client.call_tool("erase", {"name": "x"})).content[0].text
        assert first.startswith("erased x in call mcp-")
        denied = await client.call_tool("erase", {"name": "y"})
        assert denied.is_error and "denied" in denied.content[0].text
    assert [q.message.splitlines()[0] for q in asker.questions] == [
        "Run the tool 'erase' with these arguments?"
    ] * 2
