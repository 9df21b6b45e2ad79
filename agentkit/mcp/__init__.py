"""MCP servers as toolsets: their tools join an agent's, over stdio or streamable HTTP (`agentkit[mcp]`).

```python
from agentkit import Agent
from agentkit.mcp import MCPServerHTTP, MCPServerStdio

files = MCPServerStdio("npx", ["-y", "@modelcontextprotocol/server-filesystem", "."], prefix="fs")
search = MCPServerHTTP("http://127.0.0.1:8000/mcp", headers={"Authorization": "Bearer ..."},
                       allowed_tools=["search"])
agent = Agent("google/gemini-2.0-flash-001", tools=[add], toolsets=[files, search])

async with agent:              # the servers stay up for every run inside
    await agent.run("...")
agent.run_sync("...")          # or: each run starts the servers and stops them at its end
```

- Each run asks each server for its tools (`tools/list`); `allowed_tools` keeps only the named ones (the
  server's names), and `prefix="fs"` names them `fs_<name>` (two servers may both have `search`).
- A tool's JSON Schema goes through `Tool.from_schema`: the model family's schema dialect applies (Gemini
  gets `$ref`s inlined, `anyOf` with null as `nullable`, no `title`/`additionalProperties`...), and the
  model's arguments are validated with `jsonschema` before the call: a bad call never reaches the server,
  the model is told what to fix.
- Results: text as text; `structuredContent` as compact JSON (instead of a text block holding the same
  JSON), and not at all when it only wraps the text (`{"content": "<the text>"}`, as the reference
  filesystem server sends); both when they say different things; images as images (`ToolMessage.images`); audio and binary resources as a note. An error result
  (`isError`) goes to the model as a failed call (it counts against the tool's `retries`).
- A server that crashes or disconnects: the call in flight fails with a message to the model and a warning
  on the `agentkit` logger, and the next call starts the server again (reconnects over HTTP).
- Stopping closes the session; a stdio server that ignores its stdin closing is terminated, then killed, a
  few seconds later (the SDK's graces).

The client session lives in one background task per server (the SDK's anyio scopes must be left in the task
that entered them), so a server started in one task (or `async with agent:`) may be used and stopped from
others. `serve_stdio` does the reverse: it serves agentkit tools to other MCP clients (`agentkit mcp serve`).
"""

from __future__ import annotations

import json
import logging
import re
import sys
from abc import abstractmethod
from collections.abc import Mapping, Sequence
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any

from .._run.tool_calls import serialize_result
from ..exceptions import ModelRetry, UserError
from ..messages import ImagePart, TextPart
from ..tool import Tool
from ..toolsets import Toolset
from ._serve import approval_note, mcp_server, serve_stdio

if TYPE_CHECKING:
    import asyncio

    import mcp_types
    from mcp import Client

    from ..context import RunContext
    from ._connection import Connection

__all__ = ["MCPServer", "MCPServerHTTP", "MCPServerStdio", "approval_note", "mcp_server", "serve_stdio"]

logger = logging.getLogger("agentkit")

START_TIMEOUT = 30.0
"""Seconds a server gets to start and answer the handshake, unless given `start_timeout`."""

_NOT_A_NAME = re.compile(r"[^A-Za-z0-9_-]")


class MCPServer(Toolset):
    """An MCP server's tools, as a toolset: the base of `MCPServerStdio` and `MCPServerHTTP`.

    Args:
        prefix: Name the tools `<prefix>_<name>`.
        allowed_tools: Offer only these tools (the server's names, without the prefix).
        timeout: Seconds one call may take (each tool's `timeout`); `None`: no limit.
        start_timeout: Seconds the server gets to start and answer the handshake.
    """

    def __init__(
        self,
        *,
        prefix: str | None = None,
        allowed_tools: Sequence[str] | None = None,
        timeout: float | None = None,
        start_timeout: float = START_TIMEOUT,
    ) -> None:
        if isinstance(allowed_tools, str):
            raise UserError("allowed_tools takes a list of tool names, not one string.")
        self.prefix = prefix
        self.allowed_tools = None if allowed_tools is None else list(allowed_tools)
        self.timeout = timeout
        self.start_timeout = start_timeout
        self._connection: Connection | None = None
        self._reconnecting: asyncio.Lock | None = None
        self._tools: dict[tuple[str, str, str], Tool[..., Any] | None] = {}
        self._warned_missing = False

    @property
    @abstractmethod
    def label(self) -> str:
        """The command line or URL, for logs and errors."""

    @property
    def name(self) -> str:
        return f"MCP server {self.label!r}"

    @abstractmethod
    async def _open_client(self, stack: AsyncExitStack) -> Client:
        """An entered `mcp.Client` for this server, closed with `stack`."""

    async def start(self) -> None:
        """Start the server (or connect to it) and open the session."""
        import asyncio

        self._reconnecting = asyncio.Lock()
        self._connection = await self._connect()

    async def stop(self) -> None:
        """Close the session (and stop a stdio server's process)."""
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.close()

    async def get_tools(self, ctx: RunContext[Any]) -> Sequence[Tool[..., Any]]:
        """The server's tools (those in `allowed_tools`, when given), prefixed."""
        listed = await self._list_tools()
        chosen = [t for t in listed if self.allowed_tools is None or t.name in self.allowed_tools]
        if self.allowed_tools is not None and not self._warned_missing:
            missing = sorted(set(self.allowed_tools) - {t.name for t in listed})
            if missing:
                self._warned_missing = True
                logger.warning("%s has no tools named %s (allowed_tools)", self.name, ", ".join(missing))
        return [built for spec in chosen if (built := self._tool(spec)) is not None]

    async def call_tool(self, name: str, arguments: Mapping[str, Any]) -> Any:
        """Call the server's tool `name` (its own name, without the prefix) with validated `arguments`.

        Returns the result as a function tool would: text (JSON for structured content), or a list of
        `TextPart` and `ImagePart` when it carries images. Raises `ModelRetry` for an error result, a
        protocol error, or a lost connection (the next call reconnects).
        """
        connection = await self._live(name)
        try:
            result = await connection.run(connection.client.call_tool(name, dict(arguments)))
        except Exception as exc:
            if not _is_lost(exc):
                raise ModelRetry(f"The MCP server answered with an error: {_reason(exc)}") from exc
            await self._drop(connection)
            logger.warning(
                "%s: the connection was lost during a call to %r (%s); the next call reconnects",
                self.name,
                name,
                _reason(exc),
            )
            raise ModelRetry(
                f"The MCP server stopped or disconnected during this call ({_reason(exc)}). It is started "
                "again on the next call."
            ) from exc
        return _result_value(result)

    async def _list_tools(self) -> list[mcp_types.Tool]:
        for attempt in range(2):
            connection = await self._live(None)
            try:
                return await connection.run(_all_tools(connection.client))
            except Exception as exc:
                if attempt or not _is_lost(exc):
                    raise UserError(f"{self.name} could not list its tools: {_reason(exc)}") from exc
                await self._drop(connection)
                logger.warning("%s: the connection was lost (%s); reconnecting", self.name, _reason(exc))
        raise AssertionError("unreachable")  # pragma: no cover

    async def _live(self, calling: str | None) -> Connection:
        """The open connection, reconnecting when the last one was lost."""
        connection = self._connection
        if connection is not None and connection.is_open:
            return connection
        if not self.is_running or self._reconnecting is None:
            raise UserError(
                f"{self.name} is not started: pass it to Agent(toolsets=[...]) or enter it (`async with`)."
            )
        async with self._reconnecting:
            if self._connection is None or not self._connection.is_open:
                try:
                    self._connection = await self._connect()
                except UserError as exc:
                    if calling is None:
                        raise
                    logger.warning("%s could not be restarted for a call to %r: %s", self.name, calling, exc)
                    raise ModelRetry(f"The MCP server could not be restarted: {exc}") from exc
                logger.info("%s: reconnected", self.name)
            return self._connection

    async def _connect(self) -> Connection:
        from ._connection import Connection

        try:
            return await Connection.open(self._open_client, self.label, timeout=self.start_timeout)
        except Exception as exc:
            raise UserError(f"{self.name} did not start: {_reason(exc)}") from exc

    async def _drop(self, connection: Connection) -> None:
        if self._connection is connection:
            self._connection = None
        await connection.close()

    def _tool(self, spec: mcp_types.Tool) -> Tool[..., Any] | None:
        """The agentkit tool for an MCP tool (built once per name, description and schema)."""
        description = spec.description or spec.title or ""
        key = (spec.name, description, json.dumps(spec.input_schema, sort_keys=True, default=str))
        if key in self._tools:
            return self._tools[key]
        server_name = spec.name

        async def call(**arguments: Any) -> Any:
            return await self.call_tool(server_name, arguments)

        name = _NOT_A_NAME.sub("_", f"{self.prefix}_{spec.name}" if self.prefix else spec.name)[:64]
        built: Tool[..., Any] | None
        try:
            built = Tool.from_schema(
                call,
                name=name,
                description=description,
                parameters=dict(spec.input_schema),
                timeout=self.timeout,
            )
        except UserError as exc:
            logger.warning("%s: tool %r left out: %s", self.name, spec.name, exc)
            built = None
        self._tools[key] = built
        return built


class MCPServerStdio(MCPServer):
    """An MCP server run as a subprocess, speaking over its stdin and stdout.

    Args:
        command: The program to run (`"uvx"`, `"npx"`, `sys.executable`...).
        args: Its arguments.
        env: Environment variables for it, over the few the SDK passes on (`PATH`, `HOME`, `USER`...; not
            the whole environment: pass the API keys a server needs here).
        prefix: Name the tools `<prefix>_<name>`.
        allowed_tools: Offer only these tools (the server's names).
        cwd: Its working directory.
        timeout: Seconds one call may take.
        start_timeout: Seconds the server gets to start and answer the handshake.
    """

    def __init__(
        self,
        command: str,
        args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        prefix: str | None = None,
        allowed_tools: Sequence[str] | None = None,
        *,
        cwd: str | None = None,
        timeout: float | None = None,
        start_timeout: float = START_TIMEOUT,
    ) -> None:
        super().__init__(
            prefix=prefix, allowed_tools=allowed_tools, timeout=timeout, start_timeout=start_timeout
        )
        if isinstance(args, str):
            raise UserError("args takes a list of arguments, not one string.")
        self.command = command
        self.args = list(args)
        self.env = None if env is None else dict(env)
        self.cwd = cwd

    @property
    def label(self) -> str:
        return " ".join([self.command, *self.args])

    def __repr__(self) -> str:
        return f"MCPServerStdio({self.command!r}, {self.args!r}, prefix={self.prefix!r})"

    async def _open_client(self, stack: AsyncExitStack) -> Client:
        from mcp import Client
        from mcp.client.stdio import StdioServerParameters, stdio_client

        parameters = StdioServerParameters(command=self.command, args=self.args, env=self.env, cwd=self.cwd)
        client = Client(stdio_client(parameters, errlog=sys.stderr), client_info=_client_info())
        return await stack.enter_async_context(client)


class MCPServerHTTP(MCPServer):
    """An MCP server at a URL, over streamable HTTP.

    Args:
        url: The server's MCP endpoint (`http://127.0.0.1:8000/mcp`).
        headers: HTTP headers sent with every request (`Authorization`...).
        prefix: Name the tools `<prefix>_<name>`.
        allowed_tools: Offer only these tools (the server's names).
        timeout: Seconds one call may take.
        start_timeout: Seconds the server gets to answer the handshake.
    """

    def __init__(
        self,
        url: str,
        headers: Mapping[str, str] | None = None,
        prefix: str | None = None,
        allowed_tools: Sequence[str] | None = None,
        *,
        timeout: float | None = None,
        start_timeout: float = START_TIMEOUT,
    ) -> None:
        super().__init__(
            prefix=prefix, allowed_tools=allowed_tools, timeout=timeout, start_timeout=start_timeout
        )
        self.url = url
        self.headers = dict(headers or {})

    @property
    def label(self) -> str:
        return self.url

    def __repr__(self) -> str:
        return f"MCPServerHTTP({self.url!r}, prefix={self.prefix!r})"

    async def _open_client(self, stack: AsyncExitStack) -> Client:
        import httpx2
        from mcp import Client
        from mcp.client.streamable_http import streamable_http_client

        # the SDK's defaults: 30 s to connect or send, 300 s to read (a response may stream for long)
        http = httpx2.AsyncClient(headers=self.headers, timeout=httpx2.Timeout(30.0, read=300.0))
        await stack.enter_async_context(http)
        client = Client(streamable_http_client(self.url, http_client=http), client_info=_client_info())
        return await stack.enter_async_context(client)


def _client_info() -> mcp_types.Implementation:
    from mcp_types import Implementation

    from .._version import __version__

    return Implementation(name="agentkit", version=__version__)


async def _all_tools(client: Client) -> list[mcp_types.Tool]:
    tools: list[mcp_types.Tool] = []
    cursor: str | None = None
    while True:
        page = await client.list_tools(cursor=cursor)
        tools.extend(page.tools)
        cursor = page.next_cursor
        if not cursor or not page.tools:
            return tools


def _is_lost(exc: BaseException) -> bool:
    """Whether `exc` means the connection is gone (rather than an error the server answered with)."""
    from mcp.shared.exceptions import MCPError
    from mcp_types import CONNECTION_CLOSED
    from pydantic import ValidationError

    if isinstance(exc, MCPError):
        return exc.code == CONNECTION_CLOSED
    return not isinstance(exc, ValidationError)


def _reason(exc: BaseException) -> str:
    """One line for `exc`: the first leaf of an exception group, its type and message."""
    while isinstance(inner := getattr(exc, "exceptions", None), tuple) and inner:  # an exception group
        exc = inner[0]
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _result_value(result: mcp_types.CallToolResult) -> str | list[TextPart | ImagePart]:
    """A `tools/call` result as a tool's return value (text, or text and image parts); raises `ModelRetry`
    for an error result."""
    parts = [part for block in result.content for part in _block_parts(block)]
    if result.is_error:
        text = "\n".join(p.text for p in parts if isinstance(p, TextPart))
        raise ModelRetry(text or "The tool failed (the server gave no details).")
    structured = result.structured_content
    if structured is not None and not _wraps_text(
        structured, [p.text for p in parts if isinstance(p, TextPart)]
    ):
        for index, part in enumerate(parts):
            if isinstance(part, TextPart) and (compact := _compact(part.text, structured)) is not None:
                parts[index] = TextPart(text=compact)
                break
        else:
            parts.append(TextPart(text=serialize_result(structured)))
    if any(isinstance(p, ImagePart) for p in parts):
        return parts
    return "\n".join(p.text for p in parts if isinstance(p, TextPart))


def _wraps_text(structured: dict[str, Any], texts: list[str]) -> bool:
    """Whether the structured content only repeats the text blocks: one field (`{"content": text}`,
    `{"result": text}`...) holding their text, whole or joined by newlines."""
    if len(structured) != 1 or not texts:
        return False
    (value,) = structured.values()
    return isinstance(value, str) and value in ("\n".join(texts), "".join(texts))


def _compact(text: str, structured: dict[str, Any]) -> str | None:
    """The structured content as compact JSON when a text block holds the same data (for a value the SDK
    wrapped as `{"result": value}`, that value); `None` when the text says something else."""
    wrapped = list(structured) == ["result"]
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if wrapped and value == structured["result"]:
        return serialize_result(value)
    return serialize_result(structured) if value == structured else None


def _block_parts(block: object) -> list[TextPart | ImagePart]:
    """A content block as parts: text, images, and a note for what a chat model cannot be shown."""
    import mcp_types as types

    if isinstance(block, types.TextContent):
        return [TextPart(text=block.text)]
    if isinstance(block, types.ImageContent):
        return [ImagePart(url=f"data:{block.mime_type};base64,{block.data}")]
    if isinstance(block, types.AudioContent):
        return [TextPart(text=f"[audio ({block.mime_type}) not shown]")]
    if isinstance(block, types.ResourceLink):
        return [TextPart(text=f"[resource link: {block.name} {block.uri}]")]
    if isinstance(block, types.EmbeddedResource):
        resource = block.resource
        if isinstance(resource, types.TextResourceContents):
            return [TextPart(text=resource.text)]
        mime = resource.mime_type or "application/octet-stream"
        if mime.startswith("image/"):
            return [ImagePart(url=f"data:{mime};base64,{resource.blob}")]
        return [TextPart(text=f"[resource {resource.uri} ({mime}) not shown]")]
    return [TextPart(text=f"[{getattr(block, 'type', 'unknown')} content not shown]")]  # pragma: no cover
