"""The embedded local model's server in the foreground, for other programs to use (`agentkit local`)."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from types import FrameType

from ._server import LocalServer, LocalServerError
from ._weights import LOCAL_MODEL_ID, LocalModelError

__all__ = ["serve_forever"]


def serve_forever(port: int | None = None) -> int:
    """Run the local server in the foreground until Ctrl-C (or SIGTERM); what `agentkit local` does.

    Prints the base URL once the server is ready.

    Args:
        port: Port to listen on; `None` picks a free one.

    Returns:
        A process exit code: 0 after Ctrl-C, 1 when the server could not start or died.
    """
    server = LocalServer(port=port)
    previous = _raise_interrupt_on_sigterm()
    try:
        print("Starting the local model server (first run joins the model file, ~1 GB)...", file=sys.stderr)
        server.start()
        print(f"Serving {LOCAL_MODEL_ID} at {server.base_url}", flush=True)
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
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


_SignalHandler = Callable[[int, FrameType | None], object] | int | None


def _raise_interrupt_on_sigterm() -> _SignalHandler:
    if threading.current_thread() is not threading.main_thread():
        return None

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    return previous if previous is not None else signal.SIG_DFL
