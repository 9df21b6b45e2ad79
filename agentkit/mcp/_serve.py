"""agentkit tools served as an MCP server (`agentkit mcp serve`), so other MCP clients can use them.

The tools' JSON schemas are published as they are; a call is validated with `Tool.validate_arguments` and
run as an agent runs it (`_run.tool_calls.execute`: the tool's timeout, `ModelRetry`, a result cut to
`max_result_chars`, images). A failure (unknown tool, invalid arguments, an exception) is an error result
(`isError`) whose text says what to fix.

A tool marked `requires_approval` never runs unattended: each call is put to the client's user through MCP
elicitation (a form asking to run it, with the arguments) and runs only when they accept. A client that cannot
elicit does not see such tools, and a call of one is refused, unless the server was made with
`allow_unapproved=True` (`agentkit mcp serve --allow-unapproved`): then they run for such clients without
asking. Each call gets its own `RunContext.tool_call_id` (`mcp-<request id>-<random>`), which is also its
`RunContext.idempotency_key`.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ..exceptions import ToolArgumentsError, UserError
from ..tool import Tool

if TYPE_CHECKING:
    import mcp_types
    from mcp.server import Server, ServerRequestContext

__all__ = ["approval_note", "mcp_server", "serve_stdio"]

_KEY = "agentkit-approval"
_ASK = {
    "type": "object",
    "properties": {"approve": {"type": "boolean", "title": "Run it", "description": "Run this call now."}},
    "required": ["approve"],
}


def mcp_server(
    tools: Sequence[Tool[..., Any] | Callable[..., Any]],
    *,
    name: str = "agentkit",
    allow_unapproved: bool = False,
) -> Server[Any]:
    """A low-level `mcp` server (`mcp.server.Server`) offering `tools`; run it over any MCP transport.

    Args:
        tools: `Tool`s or plain functions (made tools with `@tool`'s defaults). A tool that takes a
            `RunContext` gets one with `deps=None`.
        name: The server's name, told to clients.
        allow_unapproved: Tools marked `requires_approval` are asked about through MCP elicitation for each
            call; a client that cannot elicit does not see them. `True` offers them to such clients too, and
            runs their calls without anyone's approval.
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

        hidden = not allow_unapproved and not _can_elicit(ctx)
        return types.ListToolsResult(
            tools=[
                types.Tool(name=t.name, description=t.description or None, input_schema=t.parameters)
                for t in index.values()
                if not (hidden and t.requires_approval)
            ]
        )

    async def call_tool(
        ctx: ServerRequestContext[Any], params: mcp_types.CallToolRequestParams
    ) -> mcp_types.CallToolResult | mcp_types.InputRequiredResult:
        return await _call(index, params, ctx, allow_unapproved=allow_unapproved)

    return Server(name, on_list_tools=list_tools, on_call_tool=call_tool)


async def serve_stdio(
    tools: Sequence[Tool[..., Any] | Callable[..., Any]],
    *,
    name: str = "agentkit",
    allow_unapproved: bool = False,
) -> None:
    """Serve `tools` over this process's stdin and stdout until the client closes stdin.

    Args:
        tools: `Tool`s or plain functions.
        name: The server's name, told to clients.
        allow_unapproved: As for `mcp_server`: offer tools marked `requires_approval` to clients that cannot
            be asked (no MCP elicitation) and run them unattended.
    """
    from mcp.server.stdio import stdio_server

    server = mcp_server(tools, name=name, allow_unapproved=allow_unapproved)
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())


def approval_note(tools: Sequence[Tool[..., Any]], *, allow_unapproved: bool) -> str | None:
    """One line for the server's start-up: what happens to the tools that need approval (`None`: none do)."""
    names = ", ".join(t.name for t in tools if t.requires_approval)
    if not names:
        return None
    if allow_unapproved:
        return (
            f"tools that need approval ({names}): asked through the client (MCP elicitation) where it can ask; "
            "clients that cannot ask run them WITHOUT approval (--allow-unapproved)"
        )
    return (
        f"tools that need approval ({names}): asked through the client (MCP elicitation); clients that "
        "cannot ask do not see them (--allow-unapproved runs them unattended)"
    )


def _can_elicit(ctx: ServerRequestContext[Any]) -> bool:
    """Whether the client said it can put a form to its user (`elicitation: {}` means form mode)."""
    capabilities = ctx.session.client_capabilities
    found = capabilities.elicitation if capabilities is not None else None
    return found is not None and (found.form is not None or found.url is None)


async def _approved(
    ctx: ServerRequestContext[Any],
    tool: Tool[..., Any],
    params: mcp_types.CallToolRequestParams,
    *,
    allow_unapproved: bool,
) -> mcp_types.InputRequiredResult | str | None:
    """`None` when a call of `tool` may run; the error text for the client when it may not; or, on the
    2026-07-28 protocol (no server-initiated requests), the question to answer when retrying the call."""
    if not tool.requires_approval:
        return None
    if not _can_elicit(ctx):
        if allow_unapproved:
            return None
        return (
            f"Not executed: {tool.name!r} needs a person's approval and this client cannot ask for it (MCP "
            "elicitation); the server runs it unattended only when started with --allow-unapproved."
        )
    import mcp_types as types
    from mcp.shared.exceptions import MCPError
    from mcp_types.version import MODERN_PROTOCOL_VERSIONS

    arguments = json.dumps(params.arguments or {}, ensure_ascii=False, indent=2, sort_keys=True)
    message = f"Run the tool {tool.name!r} with these arguments?\n{arguments}"
    if ctx.protocol_version in MODERN_PROTOCOL_VERSIONS:  # asked in the result; answered in the retried call
        state = hashlib.sha256(f"{tool.name}\n{arguments}".encode()).hexdigest()
        answer = (params.input_responses or {}).get(_KEY)
        if answer is None or params.request_state != state:
            form = types.ElicitRequestFormParams(message=message, requested_schema=_ASK)
            return types.InputRequiredResult(
                input_requests={_KEY: types.ElicitRequest(params=form)}, request_state=state
            )
        if not isinstance(answer, types.ElicitResult):
            return f"Not executed: the answer to the approval of {tool.name!r} was not a form's answer."
    else:
        try:
            answer = await ctx.session.elicit_form(message, _ASK, related_request_id=ctx.request_id)
        except MCPError as exc:
            return f"Not executed: asking for approval of {tool.name!r} failed ({exc}); nothing was run."
    if answer.action == "accept" and (answer.content or {}).get("approve") is True:
        return None
    return "Not executed: the user denied this call."


async def _call(
    index: dict[str, Tool[..., Any]],
    params: mcp_types.CallToolRequestParams,
    request: ServerRequestContext[Any],
    *,
    allow_unapproved: bool,
) -> mcp_types.CallToolResult | mcp_types.InputRequiredResult:
    """Validate, approve and run one call, as the agent loop would; every failure is an error result."""
    from .._run.tool_calls import ValidatedCall, _unknown_tool, execute
    from ..context import RunContext
    from ..messages import ToolCall

    name, raw = params.name, params.arguments
    found = index.get(name)
    if found is None:
        return _error(_unknown_tool(name, index))
    try:
        arguments = found.validate_arguments(raw or {})
    except ToolArgumentsError as exc:
        return _error(f"{exc}\nFix the arguments and call the tool again.")
    refusal = await _approved(request, found, params, allow_unapproved=allow_unapproved)
    if isinstance(refusal, str):
        return _error(refusal)
    if refusal is not None:
        return refusal
    call = ToolCall(id=f"mcp-{request.request_id}-{uuid.uuid4().hex[:12]}", name=name, arguments="")
    validated = ValidatedCall(
        call=call, tool=found, decoded=raw, arguments=arguments, budget=0, key=(name, "")
    )
    run_ctx: RunContext[Any] = RunContext(
        deps=None, tool_name=name, tool_call_id=call.id, idempotency_key=call.id
    )
    outcome = await execute(validated, run_ctx, raise_tool_errors=False, transcript=[])
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
