"""Serving an `agentkit.web` app on 127.0.0.1 in a thread (real uvicorn, real sockets), and reading its
server-sent events with an ordinary HTTP client."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx2
import uvicorn

from agentkit.web._serve import bind


@contextmanager
def served(app: Any) -> Iterator[str]:
    """`app` served by uvicorn on a free loopback port; yields its base URL (`http://127.0.0.1:PORT`)."""
    sock = bind("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


def sse_items(response: httpx2.Response) -> Iterator[dict[str, Any]]:
    """The JSON data of each server-sent event of a streamed response, as it arrives."""
    for line in response.iter_lines():
        if line.startswith("data: "):
            yield json.loads(line[6:])
