"""Serving an app with uvicorn on a socket bound first, so that port 0 gives a free port to print."""

from __future__ import annotations

import ipaddress
import socket
import sys
from typing import IO, Any

from ..exceptions import UserError

__all__ = ["bind", "is_loopback", "serve", "unbracket"]


def unbracket(host: str) -> str:
    """`host` without the brackets a URL puts around an IPv6 address (`[::1]` is `::1`)."""
    return host[1:-1] if host.startswith("[") and host.endswith("]") else host


def is_loopback(host: str) -> bool:
    """True for `localhost` and loopback addresses (127.0.0.0/8, ::1, also written `[::1]`)."""
    host = unbracket(host)
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on `host:port` (0: a free port).

    Raises:
        UserError: The address cannot be bound (in use, not this machine's, a port out of range).
    """
    host = unbracket(host)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Accepted connections inherit it: each event leaves at once, instead of waiting (~40 ms) for the
        # browser's delayed ACK of the one before (Nagle's algorithm).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise UserError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    except OverflowError:  # a port out of range
        sock.close()
        raise UserError(f"cannot listen on {host}:{port}: port must be 0-65535") from None
    return sock


def serve(
    app: Any,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    allow_remote: bool = False,
    open_browser: bool = False,
    out: IO[str] | None = None,
) -> None:
    """Serve `app` until Ctrl-C, printing the URL to open (with the app's token) once on `out` (stdout).

    Raises:
        UserError: `host` is not a loopback address and `allow_remote` is not set, or it cannot be bound.
    """
    import uvicorn

    host = unbracket(host)
    if not is_loopback(host) and not allow_remote:
        raise UserError(
            f"{host} is reachable from other machines: pass allow_remote=True (--allow-remote) to bind it; "
            "the token in the URL is then the only lock"
        )
    sock = bind(host, port)
    shown = f"[{host}]" if ":" in host else host
    token = getattr(getattr(app, "state", None), "token", None)
    url = f"http://{shown}:{sock.getsockname()[1]}/" + (f"?token={token}" if token else "")
    print(url, file=out or sys.stdout, flush=True)
    if not is_loopback(host):
        print(
            f"warning: serving on {host}: anyone who has the URL's token can use this agent", file=sys.stderr
        )
    if open_browser:
        import webbrowser

        webbrowser.open(url)
    config = uvicorn.Config(app, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
