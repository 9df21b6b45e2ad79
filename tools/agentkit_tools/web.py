"""`http_fetch()`: a `fetch_url` tool that GETs a public web page and returns its text.

Safety: only `http` and `https`; the host is resolved once and every address it resolves to must be public
(not private, loopback, link-local, CGNAT, multicast, reserved, unspecified, nor an IPv4-mapped, 6to4, Teredo
or NAT64 form of one), unless `allow_private=True`. The connection then goes to the address that was
checked (the name is kept for the `Host` header, TLS SNI and the certificate check), so a second DNS answer
cannot send it elsewhere (DNS rebinding). Each redirect is checked the same way. Proxies from the environment
are not used. Bodies are read up to `max_bytes`, within `timeout` seconds.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from urllib.parse import urljoin, urlsplit

from agentkit import ModelRetry, Tool, UserError

from ._html import html_to_text

__all__ = ["http_fetch", "is_public_address"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_TEXT_TYPES = ("application/json", "application/xml", "application/javascript", "application/x-ndjson")
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


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
    return address.is_global and not (
        address.is_private
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


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the checked addresses, whatever the host name would resolve to now."""

    def __init__(self, host: str, port: int, *, addresses: list[str], timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.addresses = addresses

    def _open(self) -> socket.socket:
        error: OSError | None = None
        for address in self.addresses:
            try:
                sock = socket.create_connection((address, self.port), self.timeout)
            except OSError as exc:
                error = exc
                continue
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return sock
        assert error is not None
        raise error

    def connect(self) -> None:
        self.sock = self._open()


class _PinnedHTTPSConnection(_PinnedHTTPConnection):
    default_port = 443

    def __init__(self, host: str, port: int, *, addresses: list[str], timeout: float) -> None:
        super().__init__(host, port, addresses=addresses, timeout=timeout)
        self.context = ssl.create_default_context()

    def connect(self) -> None:
        self.sock = self.context.wrap_socket(self._open(), server_hostname=self.host)


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
                url = urljoin(url, location)
                continue
            return _describe(url, response, body, cut, self.max_bytes)
        raise ModelRetry(f"More than {self.max_redirects} redirects; stopped at {url}.")

    def addresses(self, host: str, port: int) -> list[str]:
        """The addresses `host` resolves to, once; refused if any is not public (unless allowed)."""
        try:
            found = [ipaddress.ip_address(host)]
        except ValueError:
            try:
                infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            except (socket.gaierror, UnicodeError):
                raise ModelRetry(f"Cannot resolve the host {host!r}.") from None
            found = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
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
        parts = urlsplit(url.strip())
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
        addresses = self.addresses(host, port)
        kind = _PinnedHTTPSConnection if parts.scheme == "https" else _PinnedHTTPConnection
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ModelRetry(f"Fetching took longer than {self.timeout:g} seconds.")
        connection = kind(host, port, addresses=addresses, timeout=remaining)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = {"User-Agent": self.user_agent, "Accept-Encoding": "identity", "Connection": "close"}
        try:
            connection.request("GET", target, headers=headers)
            response = connection.getresponse()
            body, cut = self._read(response, deadline)
        except TimeoutError:
            raise ModelRetry(f"Fetching {url} timed out after {self.timeout:g} seconds.") from None
        except ssl.SSLError as exc:
            raise ModelRetry(f"The TLS connection to {host} failed: {exc.reason or exc}.") from None
        except (OSError, http.client.HTTPException) as exc:
            raise ModelRetry(f"Cannot fetch {url}: {exc or type(exc).__name__}.") from None
        finally:
            connection.close()
        return response, body, cut

    def _read(self, response: http.client.HTTPResponse, deadline: float) -> tuple[bytes, bool]:
        body = bytearray()
        while len(body) <= self.max_bytes:
            if time.monotonic() > deadline:
                raise TimeoutError
            chunk = response.read(min(65536, self.max_bytes + 1 - len(body)))
            if not chunk:
                return bytes(body), False
            body += chunk
        return bytes(body[: self.max_bytes]), True


def _describe(url: str, response: http.client.HTTPResponse, body: bytes, cut: bool, limit: int) -> str:
    content_type = response.headers.get_content_type()
    charset = response.headers.get_content_charset() or "utf-8"
    try:
        text = body.decode(charset, errors="replace")
    except LookupError:
        text = body.decode("utf-8", errors="replace")
    if content_type in ("text/html", "application/xhtml+xml"):
        text = html_to_text(text, url)
    elif not (
        content_type.startswith("text/") or content_type in _TEXT_TYPES or content_type.endswith("+json")
    ):
        text = f"[{content_type} content, {len(body)} bytes: not text, not shown]"
    note = f"\n\n[cut: the body is longer than {limit} bytes]" if cut else ""
    return f"URL: {url}\nStatus: {response.status} {response.reason}\nContent-Type: {content_type}\n\n{text}{note}"
