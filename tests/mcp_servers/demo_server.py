"""An MCP server for the tests and the benchmark, built with the `mcp` SDK's own `MCPServer` (FastMCP).

Run: `python demo_server.py stdio` or `python demo_server.py http PORT` (streamable HTTP on 127.0.0.1).
Its tools' schemas are what FastMCP generates (pydantic models as `$defs`/`$ref`, `Optional` as `anyOf`
with `null`, enums, `title`s), and one tool makes the process exit, to test a crash mid-run.
"""

from __future__ import annotations

import base64
import enum
import os
import sys
from typing import Optional

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.utilities.types import Image
from pydantic import BaseModel, Field

# A 1x1 PNG.
PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)

server = MCPServer("demo", log_level="ERROR")
calls: list[str] = []


class Color(str, enum.Enum):
    RED = "red"
    GREEN = "green"


class Item(BaseModel):
    name: str = Field(description="The item's name.")
    color: Color = Color.RED
    tags: list[str] = []


@server.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    calls.append("add")
    return a + b


@server.tool()
def search(query: str, limit: Optional[int] = None) -> str:
    """Search the demo index."""
    calls.append("search")
    return f"results for {query!r} (limit {limit})"


@server.tool()
def describe(item: Item, note: Optional[str] = None) -> dict[str, object]:
    """Describe an item."""
    calls.append("describe")
    return {"name": item.name, "color": item.color.value, "tags": item.tags, "note": note}


@server.tool()
def picture(caption: str) -> list[str | Image]:
    """A tiny picture with a caption."""
    calls.append("picture")
    return [caption, Image(data=PIXEL, format="png")]


@server.tool()
def fail(reason: str) -> str:
    """Always fails."""
    calls.append("fail")
    raise ToolError(reason)


@server.tool()
def crash() -> str:
    """Makes the server process exit at once."""
    os._exit(3)


@server.tool()
def call_log() -> str:
    """The names of the tools called so far in this process, and its pid."""
    return f"{os.getpid()}: {','.join(calls)}"


if __name__ == "__main__":
    if sys.argv[1:2] == ["http"]:
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        server.run()
