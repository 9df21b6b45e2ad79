"""`http_fetch()`: a `fetch_url` tool that GETs a public web page and returns its text.

Safety: only `http` and `https`; the host is resolved once and every address it resolves to must be public
(not private, loopback, link-local, CGNAT, multicast, reserved, unspecified, nor an IPv4-mapped, 6to4, Teredo
or NAT64 form of one), unless `allow_private=True`. The connection then goes to the address that was
checked (the name is kept for the `Host` header, TLS SNI and the certificate check), so a second DNS answer
cannot send it elsewhere (DNS rebinding). Each redirect is checked the same way. Proxies from the environment
are not used. Bodies are read up to `max_bytes`.

`timeout` bounds the whole fetch with one deadline: the name lookup (run in a thread the fetch stops waiting
for; a lookup that hangs keeps that thread until the resolver gives up), each address tried, the TLS
handshake, the headers and the body, every redirect included. Before each read the socket's timeout is set
to the time left, and each read takes what one `recv` gives, so a server that sends a byte at a time cannot
hold the fetch open. Only known text charsets are decoded (others as UTF-8), and HTML is parsed in bounded
work (see `_html`).
"""

from __future__ import annotations

import codecs
import http.client
import io
import ipaddress
import socket
import ssl
import threading
import time
from urllib.parse import urljoin, urlsplit

from agentkit import ModelRetry, Tool, UserError

from ._html import html_to_text

__all__ = ["http_fetch", "is_public_address"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_TEXT_TYPES = ("application/json", "application/xml", "application/javascript", "application/x-ndjson")
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_CHARSETS = frozenset(
    codecs.lookup(name).name
    for name in (
        "utf-8", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be", "ascii",
        "iso-8859-1", "iso-8859-2", "iso-8859-3", "iso-8859-4", "iso-8859-5", "iso-8859-6", "iso-8859-7",
        "iso-8859-8", "iso-8859-9", "iso-8859-10", "iso-8859-13", "iso-8859-14", "iso-8859-15", "iso-8859-16",
        "cp1250", "cp1251", "cp1252", "cp1253", "cp1254", "cp1255", "cp1256", "cp1257", "cp1258", "cp874",
        "koi8-r", "koi8-u", "mac-roman", "shift_jis", "cp932", "euc-jp", "iso-2022-jp", "gb2312", "gbk",
        "gb18030", "big5", "big5hkscs", "euc-kr", "cp949",
    )
)  # fmt: skip
"""The charsets a body is decoded with (each decodes in linear time); any other is read as UTF-8."""
_NOT_GLOBAL = tuple(
    ipaddress.ip_network(n)
    for n in (
        "192.0.0.0/24",  # IETF protocol assignments (some of it `is_global` in Python 3.11)
        "192.88.99.0/24",  # the deprecated 6to4 relay anycast
        "3fff::/20",  # documentation (RFC 9637), not yet known to the ipaddress module
    )
)
"""Non-global ranges the standard library's `is_global` lets through (in some Python versions)."""


def is_public_address(address: IPAddress) -> bool:
    """Whether `address` is a global unicast address, including the IPv4 address inside an IPv6 form."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return is_public_address(address.ipv4_mapped)
        inner = address.sixtofour or (address.teredo[1] if address.teredo else None)
        if address in _NAT64:
            inner = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if inner is not None and not is_public_address(inner):
            return False
    if any(address in network for network in _NOT_GLOBAL if network.version == address.version):
        return False
    return address.is_global and not (
        address.is_private
        or (isinstance(address, ipaddress.IPv6Address) and address.is_site_local)
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def http_fetch(
    *,
    allow_private: bool = False,
    max_bytes: int = 1_000_000,
    timeout: float = 15.0,
    max_redirects: int = 5,
    user_agent: str = "agentkit-tools/0.1 (+fetch_url)",
) -> Tool[..., str]:
    """A `fetch_url` tool: GET an http(s) URL and return its text (the readable text of an HTML page).

    Args:
        allow_private: Also reach private, loopback and link-local addresses (your own services, the
            cloud metadata address): only for a model you trust with your network.
        max_bytes: Bytes of a body read at most; a longer one is cut and the model told so.
        timeout: Seconds for the whole fetch (each redirect included).
        max_redirects: Redirects followed at most (each one checked like the first URL).
        user_agent: The `User-Agent` header sent.
    """
    if max_bytes < 1 or timeout <= 0 or max_redirects < 0:
        raise UserError("http_fetch(): max_bytes and timeout must be positive, max_redirects at least 0.")
    fetcher = _Fetcher(allow_private, max_bytes, timeout, max_redirects, user_agent)

    def fetch_url(url: str) -> str:
        """Fetch a web page or file by its URL (http or https) and return its text.

        Args:
            url: The full address, e.g. "https://example.org/page".
        """
        return fetcher.fetch(url)

    return Tool(fetch_url, name="fetch_url")


def _left(deadline: float) -> float:
    """Seconds until `deadline`; `TimeoutError` once it has passed."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError
    return remaining


class _DeadlineReader(io.RawIOBase):
    """The socket's raw file, each read of which waits at most until the deadline."""

    def __init__(self, raw: io.RawIOBase, sock: socket.socket, deadline: float) -> None:
        self.raw = raw
        self.sock = sock
        self.deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int | None:  # type: ignore[override]
        self.sock.settimeout(_left(self.deadline))
        return self.raw.readinto(buffer)

    def close(self) -> None:
        self.raw.close()
        super().close()


class _DeadlineResponse(http.client.HTTPResponse):
    """Reads the status line, headers and body through a `_DeadlineReader`."""

    deadline = 0.0

    def __init__(
        self, sock: socket.socket, debuglevel: int = 0, method: str | None = None, url: str | None = None
    ) -> None:
        super().__init__(sock, debuglevel, method, url)
        raw = self.fp.detach()  # the socket file http.client made (it keeps the socket open until closed)
        self.fp = io.BufferedReader(_DeadlineReader(raw, sock, self.deadline))


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the checked addresses, whatever the host name would resolve to now, by a deadline."""

    def __init__(self, host: str, port: int, *, addresses: list[str], deadline: float) -> None:
        super().__init__(host, port, timeout=_left(deadline))
        self.addresses = addresses
        self.deadline = deadline
        self.response_class = type("_Response", (_DeadlineResponse,), {"deadline": deadline})

    def _open(self) -> socket.socket:
        error: OSError | None = None
        for address in self.addresses:
            try:
                sock = socket.create_connection((address, self.port), _left(self.deadline))
            except TimeoutError:
                raise
            except OSError as exc:
                error = exc
                continue
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return sock
        assert error is not None
        raise error

    def connect(self) -> None:
        self.sock = self._open()
        self.sock.settimeout(_left(self.deadline))  # for sending the request


class _PinnedHTTPSConnection(_PinnedHTTPConnection):
    default_port = 443

    def __init__(self, host: str, port: int, *, addresses: list[str], deadline: float) -> None:
        super().__init__(host, port, addresses=addresses, deadline=deadline)
        self.context = ssl.create_default_context()

    def connect(self) -> None:
        sock = self._open()
        sock.settimeout(_left(self.deadline))  # the handshake as a whole waits at most this long
        self.sock = self.context.wrap_socket(sock, server_hostname=self.host)
        self.sock.settimeout(_left(self.deadline))


class _Fetcher:
    def __init__(
        self, allow_private: bool, max_bytes: int, timeout: float, max_redirects: int, user_agent: str
    ) -> None:
        self.allow_private = allow_private
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.max_redirects = max_redirects
        self.user_agent = user_agent

    def fetch(self, url: str) -> str:
        deadline = time.monotonic() + self.timeout
        for _ in range(self.max_redirects + 1):
            response, body, cut = self._get(url, deadline)
            location = response.getheader("Location")
            if response.status in _REDIRECTS and location:
                try:
                    url = urljoin(url, location)
                except ValueError as exc:
                    raise ModelRetry(
                        f"The server redirected to an invalid URL {location!r} ({exc})."
                    ) from None
                continue
            return _describe(url, response, body, cut, self.max_bytes)
        raise ModelRetry(f"More than {self.max_redirects} redirects; stopped at {url}.")

    def addresses(self, host: str, port: int, deadline: float) -> list[str]:
        """The addresses `host` resolves to, once; refused if any is not public (unless allowed)."""
        try:
            found = [ipaddress.ip_address(host)]
        except ValueError:
            found = [ipaddress.ip_address(a.split("%")[0]) for a in _resolve(host, port, deadline)]
        if not found:
            raise ModelRetry(f"Cannot resolve the host {host!r}.")
        if not self.allow_private:
            for address in found:
                if not is_public_address(address):
                    raise ModelRetry(
                        f"{host!r} is a private or local address ({address}); only public web addresses can "
                        "be fetched."
                    )
        return list(dict.fromkeys(str(a) for a in found))

    def _get(self, url: str, deadline: float) -> tuple[http.client.HTTPResponse, bytes, bool]:
        try:
            parts = urlsplit(url.strip())
        except ValueError as exc:  # an unclosed '[' or a bracketed host that is no IP address
            raise ModelRetry(f"{url!r} is not a valid URL ({exc}).") from None
        if parts.scheme not in ("http", "https"):
            raise ModelRetry(f"Only http and https URLs can be fetched, not {url!r}.")
        if parts.username is not None or parts.password is not None:
            raise ModelRetry("URLs with a user name or password are not fetched.")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise ModelRetry(f"{url!r} has an invalid port.") from None
        host = parts.hostname
        if not host:
            raise ModelRetry(f"{url!r} has no host name.")
        try:
            addresses = self.addresses(host, port, deadline)
        except TimeoutError:
            raise ModelRetry(f"Resolving {host} timed out after {self.timeout:g} seconds.") from None
        kind = _PinnedHTTPSConnection if parts.scheme == "https" else _PinnedHTTPConnection
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = {"User-Agent": self.user_agent, "Accept-Encoding": "identity", "Connection": "close"}
        connection: _PinnedHTTPConnection | None = None
        try:
            connection = kind(host, port, addresses=addresses, deadline=deadline)
            connection.request("GET", target, headers=headers)
            response = connection.getresponse()
            with response:  # closed once read, whatever happens
                body, cut = self._read(response, deadline)
        except TimeoutError:
            raise ModelRetry(f"Fetching {url} timed out after {self.timeout:g} seconds.") from None
        except ssl.SSLError as exc:
            raise ModelRetry(f"The TLS connection to {host} failed: {exc.reason or exc}.") from None
        except (OSError, http.client.HTTPException) as exc:
            raise ModelRetry(f"Cannot fetch {url}: {exc or type(exc).__name__}.") from None
        finally:
            if connection is not None:
                connection.close()
        return response, body, cut

    def _read(self, response: http.client.HTTPResponse, deadline: float) -> tuple[bytes, bool]:
        body = bytearray()
        while len(body) <= self.max_bytes:
            _left(deadline)
            chunk = response.read1(min(65536, self.max_bytes + 1 - len(body)))  # one recv at most
            if not chunk:
                return bytes(body), False
            body += chunk
        return bytes(body[: self.max_bytes]), True


def _resolve(host: str, port: int, deadline: float) -> list[str]:
    """The addresses `getaddrinfo(host, port)` gives, waited for until `deadline` (`TimeoutError` then; the
    lookup runs on in its thread)."""
    found: list[list[str] | Exception] = []

    def lookup() -> None:
        try:
            found.append(
                [str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]
            )
        except Exception as exc:  # handed to the waiting thread
            found.append(exc)

    thread = threading.Thread(target=lookup, name="agentkit-tools-getaddrinfo", daemon=True)
    thread.start()
    thread.join(_left(deadline))
    if not found:
        raise TimeoutError
    if isinstance(found[0], Exception):
        raise ModelRetry(f"Cannot resolve the host {host!r} ({found[0]}).")
    return found[0]


def _decode(body: bytes, charset: str | None) -> str:
    """`body` decoded with its declared charset if it is a known text one (`_CHARSETS`), else as UTF-8."""
    try:
        name = codecs.lookup(charset or "utf-8").name
    except LookupError:
        name = "utf-8"
    return body.decode(name if name in _CHARSETS else "utf-8", errors="replace")


def _describe(url: str, response: http.client.HTTPResponse, body: bytes, cut: bool, limit: int) -> str:
    content_type = response.headers.get_content_type()
    text = _decode(body, response.headers.get_content_charset())
    if content_type in ("text/html", "application/xhtml+xml"):
        text = html_to_text(text, url, max_chars=limit)
    elif not (
        content_type.startswith("text/") or content_type in _TEXT_TYPES or content_type.endswith("+json")
    ):
        text = f"[{content_type} content, {len(body)} bytes: not text, not shown]"
    note = f"\n\n[cut: the body is longer than {limit} bytes]" if cut else ""
    return f"URL: {url}\nStatus: {response.status} {response.reason}\nContent-Type: {content_type}\n\n{text}{note}"
