"""agentkit tools served as an MCP server (`agentkit mcp serve`), so other MCP clients can use them.

The tools' JSON schemas are published as they are; a call is validated with `Tool.validate_arguments` and
run as an agent runs it (`_tool_calls.execute`: the tool's timeout, `ModelRetry`, a result cut to
`max_result_chars`, images). A failure (unknown tool, invalid arguments, an exception) is an error result
(`isError`) whose text says what to fix.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from .exceptions import ToolArgumentsError, UserError
from .tool import Tool

if TYPE_CHECKING:
    import mcp_types
    from mcp.server import Server, ServerRequestContext

__all__ = ["mcp_server", "serve_stdio"]


def mcp_server(
    tools: Sequence[Tool[..., Any] | Callable[..., Any]], *, name: str = "agentkit"
) -> Server[Any]:
    """A low-level `mcp` server (`mcp.server.Server`) offering `tools`; run it over any MCP transport.

    Args:
        tools: `Tool`s or plain functions (made tools with `@tool`'s defaults). A tool that takes a
            `RunContext` gets one with `deps=None`.
        name: The server's name, told to clients.
    """
    from mcp.server import Server

    index: dict[str, Tool[..., Any]] = {}
    for item in tools:
        found = item if isinstance(item, Tool) else Tool(item)
        if found.name in index:
            raise UserError(f"Two tools are named {found.name!r}; an MCP server needs unique names.")
        index[found.name] = found

    async def list_tools(
        ctx: ServerRequestContext[Any], params: mcp_types.PaginatedRequestParams | None
    ) -> mcp_types.ListToolsResult:
        import mcp_types as types

        return types.ListToolsResult(
            tools=[
                types.Tool(name=t.name, description=t.description or None, input_schema=t.parameters)
                for t in index.values()
            ]
        )

    async def call_tool(
        ctx: ServerRequestContext[Any], params: mcp_types.CallToolRequestParams
    ) -> mcp_types.CallToolResult:
        return await _call(index, params.name, params.arguments)

    return Server(name, on_list_tools=list_tools, on_call_tool=call_tool)


async def serve_stdio(
    tools: Sequence[Tool[..., Any] | Callable[..., Any]], *, name: str = "agentkit"
) -> None:
    """Serve `tools` over this process's stdin and stdout until the client closes stdin.

    Args:
        tools: `Tool`s or plain functions.
        name: The server's name, told to clients.
    """
    from mcp.server.stdio import stdio_server

    server = mcp_server(tools, name=name)
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())


async def _call(
    index: dict[str, Tool[..., Any]], name: str, raw: dict[str, Any] | None
) -> mcp_types.CallToolResult:
    """Validate and run one call, as the agent loop would; every failure is an error result."""
    from ._tool_calls import ValidatedCall, _unknown_tool, execute
    from .context import RunContext
    from .messages import ToolCall

    found = index.get(name)
    if found is None:
        return _error(_unknown_tool(name, index))
    try:
        arguments = found.validate_arguments(raw or {})
    except ToolArgumentsError as exc:
        return _error(f"{exc}\nFix the arguments and call the tool again.")
    call = ToolCall(id="mcp", name=name, arguments="")
    validated = ValidatedCall(
        call=call, tool=found, decoded=raw, arguments=arguments, budget=0, key=(name, "")
    )
    ctx: RunContext[Any] = RunContext(deps=None, tool_name=name, tool_call_id=call.id)
    outcome = await execute(validated, ctx, raise_tool_errors=False, transcript=[])
    message = outcome.message
    return _result(message.content, [i.url for i in message.images], is_error=message.is_error)


def _error(text: str) -> mcp_types.CallToolResult:
    return _result(text, [], is_error=True)


def _result(text: str, image_urls: list[str], *, is_error: bool) -> mcp_types.CallToolResult:
    """A result of text and images: a base64 `data:` URL as image content, another URL as a text note (an
    MCP image carries its bytes; nothing is fetched)."""
    import mcp_types as types

    content: list[types.ContentBlock] = [types.TextContent(type="text", text=text)]
    for url in image_urls:
        header, _, data = url.partition(",")
        if url.startswith("data:") and header.endswith(";base64"):
            mime = header[len("data:") : -len(";base64")]
            content.append(types.ImageContent(type="image", data=data, mime_type=mime))
        else:
            content.append(types.TextContent(type="text", text=f"[image: {url}]"))
    return types.CallToolResult(content=content, is_error=is_error)
