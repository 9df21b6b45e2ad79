"""The demo MCP server, except that it does not exit when its stdin closes (it must be terminated)."""

from __future__ import annotations

import time

from demo_server import server

if __name__ == "__main__":
    server.run()
    time.sleep(120)
