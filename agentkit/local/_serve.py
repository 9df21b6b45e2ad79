"""The embedded local model's server in the foreground, for other programs to use (`agentkit local`)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from ._server import LocalServer, LocalServerError
from ._weights import LOCAL_MODEL_ID, LocalModelError, cache_dir

__all__ = ["API_KEY_ENV", "serve_forever"]

API_KEY_ENV = "AGENTKIT_LOCAL_API_KEY"
"""The key `agentkit local` requires, when set; else a random one, written to a file only you can read."""


def serve_forever(port: int | None = None) -> int:
    """Run the local server in the foreground until Ctrl-C (or SIGTERM); what `agentkit local` does.

    Prints the base URL once the server is ready, and where clients find the key it requires (never the
    key itself): `$AGENTKIT_LOCAL_API_KEY` when set, else a random key in a file only the user can read.

    Args:
        port: Port to listen on; `None` picks a free one.

    Returns:
        A process exit code: 0 after Ctrl-C, 1 when the server could not start or died.
    """
    server = LocalServer(port=port, api_key=os.environ.get(API_KEY_ENV) or None)
    previous = _raise_interrupt_on_sigterm()
    key_file: Path | None = None
    try:
        print("Starting the local model server (first run joins the model file, ~1 GB)...", file=sys.stderr)
        server.start()
        print(f"Serving {LOCAL_MODEL_ID} at {server.base_url}", flush=True)
        if os.environ.get(API_KEY_ENV):
            print(f"Clients send the API key from ${API_KEY_ENV}.", flush=True)
        else:
            key_file = _write_key(server)
            print(
                f"Clients send the API key written to {key_file} (readable by you only; removed on exit; "
                f"set ${API_KEY_ENV} to choose the key).",
                flush=True,
            )
        print("Press Ctrl-C to stop.", file=sys.stderr, flush=True)
        while server.is_running:  # short waits let Python run signal handlers promptly
            with contextlib.suppress(subprocess.TimeoutExpired):
                server.wait(0.5)
        server.check()
        return 1  # pragma: no cover - check() raises after any exit
    except KeyboardInterrupt:
        print("Stopping.", file=sys.stderr)
        return 0
    except (LocalModelError, LocalServerError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        server.stop()
        if key_file is not None:
            key_file.unlink(missing_ok=True)
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _write_key(server: LocalServer) -> Path:
    """Write the server's key to a new file only the user can read (mode 0600); return its path."""
    path = cache_dir() / f"local-api-key-{server.port}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)  # a file someone else made is not written into
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(server.api_key)
    return path


_SignalHandler = Callable[[int, FrameType | None], object] | int | None


def _raise_interrupt_on_sigterm() -> _SignalHandler:
    if threading.current_thread() is not threading.main_thread():
        return None

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    return previous if previous is not None else signal.SIG_DFL
