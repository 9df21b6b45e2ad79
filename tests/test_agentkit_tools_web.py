"""`http_fetch()`: address checks (IPv4, IPv6, names that resolve inward), pinned connections, redirects,
and the fetch itself against a loopback server. Nothing here touches the internet: names resolve through
a monkeypatched resolver, and connections to "public" addresses are redirected to the loopback server."""

from __future__ import annotations

import contextlib
import http.server
import importlib
import ipaddress
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pytest
from agentkit_tools import http_fetch
from agentkit_tools._html import (
    CHUNK_CHARS,
    CLOSE_CHARS,
    MAX_LINK_CHARS,
    STUCK_CHARS,
    _TextParser,
    html_to_text,
)
from agentkit_tools.web import is_public_address

from agentkit import ModelRetry, Tool, UserError

PUBLIC = "93.184.216.34"
"""A public address the fake resolver gives `www.example.com`; the test connects to the loopback instead."""

Route = Callable[[http.server.BaseHTTPRequestHandler], None]


@dataclass
class Server:
    port: int
    routes: dict[str, Route] = field(default_factory=dict)
    hosts: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def reply(status: int, body: bytes = b"", content_type: str = "text/plain", **headers: str) -> Route:
    def route(handler: http.server.BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(body)

    return route


@pytest.fixture
def server() -> Iterator[Server]:
    state = Server(port=0)

    class Handler(http.server.BaseHTTPRequestHandler):
        disable_nagle_algorithm = True

        def do_GET(self) -> None:
            state.hosts.append(self.headers["Host"])
            state.routes.get(self.path, reply(404, b"not here"))(self)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield state
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """A resolver from a table (any other name fails); and every connection to PUBLIC goes to 127.0.0.1."""
    table: dict[str, list[str]] = {}
    real_connect, real_getaddrinfo = socket.create_connection, socket.getaddrinfo

    def getaddrinfo(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        if host == "127.0.0.1":  # the real connection to the loopback server resolves its address
            return real_getaddrinfo(host, port, *args, **kwargs)
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        family = {4: socket.AF_INET, 6: socket.AF_INET6}
        return [
            (family[ipaddress.ip_address(a).version], socket.SOCK_STREAM, 6, "", (a, port))
            for a in table[host]
        ]

    def create_connection(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        connected.append(address)
        if address[0] == PUBLIC:
            return real_connect(("127.0.0.1", address[1]), *args, **kwargs)
        raise ConnectionRefusedError(
            111, "Connection refused"
        )  # pragma: no cover - a checked test never gets here

    connected: list[tuple[str, int]] = []
    table["__connected__"] = connected  # type: ignore[assignment]
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket, "create_connection", create_connection)
    return table


def fetch(url: str, **options: Any) -> str:
    tool: Tool[..., str] = http_fetch(**options)
    return tool(url)


def refused(url: str, **options: Any) -> str:
    with pytest.raises(ModelRetry) as error:
        fetch(url, **options)
    return error.value.message


@pytest.mark.parametrize(
    "address",
    [
        "10.0.0.1", "172.16.5.4", "192.168.1.1", "127.0.0.1", "127.255.255.254", "0.0.0.0", "169.254.169.254",
        "100.64.0.1", "100.127.255.254", "224.0.0.1", "239.255.255.250", "240.0.0.1", "255.255.255.255",
        "192.0.2.1", "198.18.0.1", "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1",
        "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "2002:7f00:1::1", "2002:a00:1::1",
        "64:ff9b::a00:1", "64:ff9b::7f00:1", "2001:0:4136:e378:8000:63bf:80ff:fffe", "2001:db8::1", "fec0::1", "feff::1", "3fff::1", "192.0.0.9", "192.88.99.1",
    ],
)  # fmt: skip
def test_non_public_addresses(address: str) -> None:
    assert not is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", PUBLIC, "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses(address: str) -> None:
    assert is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://localhost.localdomain./",
        "http://[::1]:8080/",
        "http://[::ffff:127.0.0.1]/",
        "http://[fe80::1%25eth0]/",
        "http://169.254.169.254/latest/meta-data/",
        "http://2130706433/",
        "http://0x7f.1/",
        "http://127.1/",
        "http://017700000001/",
        "http://0/",
        "https://10.1.2.3/admin",
        "http://100.100.100.200/",
    ],
)
def test_private_addresses_are_refused(url: str, dns: dict[str, list[str]]) -> None:
    dns["localhost.localdomain."] = ["127.0.0.1"]
    message = refused(url)
    assert "private or local address" in message or "Cannot resolve" in message
    assert dns["__connected__"] == []  # nothing was even connected to


@pytest.mark.parametrize(
    "addresses",
    [["10.0.0.5"], ["127.0.0.1"], ["::1"], ["fd00::1"], [PUBLIC, "192.168.0.10"], ["::ffff:169.254.169.254"]],
)
def test_names_that_resolve_inward_are_refused(addresses: list[str], dns: dict[str, list[str]]) -> None:
    dns["intranet.example.com"] = addresses
    assert "private or local address" in refused("http://intranet.example.com/")
    assert dns["__connected__"] == []


def test_the_connection_goes_to_the_address_that_was_checked(
    server: Server, dns: dict[str, list[str]]
) -> None:
    """DNS rebinding: the name is resolved once; a second answer (say 127.0.0.1) is never asked for."""
    answers = iter([[PUBLIC], ["127.0.0.1"]])
    real = socket.getaddrinfo

    def rebinding(host: str, *args: Any, **kwargs: Any) -> Any:
        dns[host] = next(answers)
        return real(host, *args, **kwargs)

    socket.getaddrinfo = rebinding  # restored by the dns fixture's monkeypatch
    server.routes["/"] = reply(200, b"public page")
    result = fetch(f"http://www.example.com:{server.port}/")
    assert result.endswith("\n\npublic page")
    assert dns["__connected__"] == [(PUBLIC, server.port)]
    assert server.hosts == [f"www.example.com:{server.port}"]  # the Host header names the site, not the IP


def test_every_redirect_is_checked(server: Server, dns: dict[str, list[str]]) -> None:
    dns["www.example.com"] = [PUBLIC]
    dns["intranet.example.com"] = ["10.0.0.7"]
    start = f"http://www.example.com:{server.port}"
    server.routes["/ok"] = reply(302, Location="/final")
    server.routes["/final"] = reply(200, b"arrived")
    server.routes["/to-loopback"] = reply(302, Location=server.url("/final"))
    server.routes["/to-intranet"] = reply(301, Location="http://intranet.example.com/")
    server.routes["/to-metadata"] = reply(307, Location="http://169.254.169.254/latest/meta-data/")
    server.routes["/to-file"] = reply(302, Location="file:///etc/passwd")
    server.routes["/to-nonsense"] = reply(302, Location="http://[::1/")
    assert fetch(f"{start}/ok").startswith(f"URL: {start}/final\nStatus: 200 OK")
    for path in ("/to-loopback", "/to-intranet", "/to-metadata"):
        assert "private or local address" in refused(start + path)
    assert "Only http and https" in refused(f"{start}/to-file")
    assert "redirected to an invalid URL 'http://[::1/'" in refused(f"{start}/to-nonsense")
    assert {address for address, _ in dns["__connected__"]} == {PUBLIC}


def test_https_sends_the_name_for_sni_and_the_certificate_check(
    server: Server, dns: dict[str, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    names: list[str | None] = []

    class Context:
        def wrap_socket(self, sock: socket.socket, server_hostname: str | None = None) -> socket.socket:
            names.append(server_hostname)
            return sock  # the loopback speaks plain HTTP

    monkeypatch.setattr(ssl, "create_default_context", Context)
    dns["www.example.com"] = [PUBLIC]
    server.routes["/"] = reply(200, b"secure")
    assert fetch(f"https://www.example.com:{server.port}/").endswith("secure")
    assert names == ["www.example.com"]
    assert dns["__connected__"] == [(PUBLIC, server.port)]


def test_a_failed_tls_handshake_is_reported(server: Server) -> None:
    server.routes["/"] = reply(200, b"plain")
    assert "The TLS connection to 127.0.0.1 failed" in refused(
        f"https://127.0.0.1:{server.port}/", allow_private=True
    )


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("file:///etc/passwd", "Only http and https"),
        ("ftp://example.com/x", "Only http and https"),
        ("gopher://example.com/", "Only http and https"),
        ("javascript:alert(1)", "Only http and https"),
        ("//example.com/x", "Only http and https"),
        ("http://user:pass@example.com/", "user name or password"),
        ("http://example.com:99999/", "invalid port"),
        ("http:///path", "no host name"),
        ("http://no-such-host.invalid/", "Cannot resolve"),
        ("http://[::1/", "is not a valid URL (Invalid IPv6 URL)"),
        ("http://[not-an-ip]/", "is not a valid URL"),
    ],
)
def test_bad_urls_are_refused(url: str, message: str, dns: dict[str, list[str]]) -> None:
    assert message in refused(url)


def test_fetching_from_a_loopback_server(server: Server) -> None:
    page = (
        b"<html><head><title>The  Title</title><style>p{color:red}</style><script>steal()</script></head>"
        b"<body><h1>Main</h1><p>First <b>para</b> with <a href='/more'>a link</a>.</p>"
        b"<ul><li>one</li><li>two</li></ul><table><tr><td>a</td><td>b</td></tr></table>"
        b"<noscript><iframe>x</iframe>hidden</noscript><p>caf&eacute;<br>end</p></body></html>"
    )
    server.routes["/page"] = reply(200, page, "text/html; charset=utf-8")
    server.routes["/data.json"] = reply(200, b'{"a": 1}', "application/json")
    server.routes["/latin"] = reply(200, "café".encode("latin-1"), "text/plain; charset=latin-1")
    server.routes["/odd"] = reply(200, b"text", "text/plain; charset=no-such-charset")
    server.routes["/image.png"] = reply(200, b"\x89PNG....", "image/png")
    server.routes["/loop"] = reply(302, Location="/loop")
    text = fetch(server.url("/page"), allow_private=True)
    assert text.startswith(f"URL: {server.url('/page')}\nStatus: 200 OK\nContent-Type: text/html\n\n")
    body = text.split("\n\n", 1)[1]
    assert body.startswith("Title: The Title\n\n# Main\n\nFirst para with a link (")
    assert f"a link ({server.url('/more')})." in body
    assert "- one\n- two" in body and "| a | b" in body and "café\nend" in body
    assert "steal" not in body and "color" not in body and "hidden" not in body
    assert fetch(server.url("/data.json"), allow_private=True).endswith('\n\n{"a": 1}')
    assert fetch(server.url("/latin"), allow_private=True).endswith("\n\ncafé")
    assert fetch(server.url("/odd"), allow_private=True).endswith("\n\ntext")
    assert "[image/png content, 8 bytes: not text, not shown]" in fetch(
        server.url("/image.png"), allow_private=True
    )
    missing = fetch(server.url("/missing"), allow_private=True)
    assert "Status: 404 Not Found" in missing and missing.endswith("not here")
    assert "More than 2 redirects" in refused(server.url("/loop"), allow_private=True, max_redirects=2)


def test_a_body_longer_than_max_bytes_is_cut(server: Server) -> None:
    server.routes["/big"] = reply(200, b"y" * 5000)
    result = fetch(server.url("/big"), allow_private=True, max_bytes=100)
    assert result.endswith("\n\n" + "y" * 100 + "\n\n[cut: the body is longer than 100 bytes]")


def test_a_server_that_does_not_answer_times_out() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)  # the kernel accepts the connection; nobody ever answers
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/"
        assert "timed out after 0.3 seconds" in refused(url, allow_private=True, timeout=0.3)


def test_a_closed_port_is_reported() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert "Cannot fetch" in refused(f"http://127.0.0.1:{port}/", allow_private=True)


def test_the_tool_and_its_options() -> None:
    tool = http_fetch()
    assert tool.name == "fetch_url" and not tool.requires_approval
    assert tool.parameters["properties"]["url"]["description"]
    for options in ({"max_bytes": 0}, {"timeout": 0}, {"max_redirects": -1}):
        with pytest.raises(UserError):
            http_fetch(**options)  # type: ignore[arg-type]


def test_html_to_text_without_a_title() -> None:
    assert (
        html_to_text("<p>a</p><p>b</p><a>no href</a><a href='mailto:x@y'>mail</a>") == "a\n\nb\n\nno hrefmail"
    )


def test_a_name_with_no_address_is_refused(dns: dict[str, list[str]]) -> None:
    dns["empty.example.com"] = []
    assert "Cannot resolve" in refused("http://empty.example.com/")


class SlowClock:
    """`time` for the fetcher: each reading is `step` seconds after the last (the fetch's own deadline)."""

    def __init__(self, step: float) -> None:
        self.now = 0.0
        self.step = step

    def monotonic(self) -> float:
        self.now += self.step
        return self.now


@pytest.mark.parametrize(
    ("path", "message"), [("/hop", "timed out after 10 seconds"), ("/body", "timed out after 10 seconds")]
)
def test_the_timeout_covers_the_whole_fetch(
    server: Server, monkeypatch: pytest.MonkeyPatch, path: str, message: str
) -> None:
    import importlib

    server.routes["/hop"] = reply(302, Location="/body")
    server.routes["/body"] = reply(200, b"z")
    monkeypatch.setattr(importlib.import_module("agentkit_tools.web"), "time", SlowClock(step=4))
    assert message in refused(server.url(path), allow_private=True, timeout=10)


@contextlib.contextmanager
def dripping(head: bytes, drip: bytes) -> Iterator[str]:
    """A loopback server that sends `head` at once, then `drip` one byte every 0.2 s (20 s for 100 bytes)."""
    stop = threading.Event()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def serve() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.recv(65536)
            connection.sendall(head)
            for byte in drip:
                if stop.wait(0.2):
                    return
                try:
                    connection.sendall(bytes([byte]))
                except OSError:
                    return

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/"
    finally:
        stop.set()
        listener.close()
        thread.join()


HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n"


@pytest.mark.parametrize(
    ("head", "drip"), [(HEAD, b"x" * 100), (b"", HEAD + b"x" * 100)], ids=["body", "headers"]
)
def test_a_server_that_drips_bytes_is_stopped_at_the_deadline(head: bytes, drip: bytes) -> None:
    with dripping(head, drip) as url:
        started = time.monotonic()
        message = refused(url, allow_private=True, timeout=1)
        elapsed = time.monotonic() - started
    assert "timed out after 1 seconds" in message
    assert elapsed < 10  # a bound, not a speed claim: the drip would take 20 s, per-read timeouts never fire


def test_a_hanging_name_lookup_is_stopped_at_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()

    def getaddrinfo(*args: Any, **kwargs: Any) -> list[Any]:
        release.wait(30)
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    try:
        assert "Resolving slow.example timed out after 0.5 seconds" in refused(
            "http://slow.example/", timeout=0.5
        )
    finally:
        release.set()


def test_a_resolver_error_other_than_a_failed_lookup_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    def getaddrinfo(*args: Any, **kwargs: Any) -> list[Any]:
        raise OSError(24, "Too many open files")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    assert "Too many open files" in refused("http://any.example/")


@pytest.mark.parametrize(
    ("charset", "body", "expected"),
    [
        ("latin-1", "café".encode("latin-1"), "café"),
        ("windows-1252", "€5".encode("cp1252"), "€5"),
        ("shift_jis", "日本".encode("shift_jis"), "日本"),
        ("punycode", "bücher".encode(), "bücher"),  # a codec that is not a text charset: read as UTF-8
        ("rot13", b"abc", "abc"),
        ("no-such-charset", b"abc", "abc"),
    ],
)
def test_only_known_text_charsets_are_decoded(
    server: Server, charset: str, body: bytes, expected: str
) -> None:
    server.routes["/c"] = reply(200, body, f"text/plain; charset={charset}")
    assert fetch(server.url("/c"), allow_private=True).endswith("\n\n" + expected)


class RecordingParser(_TextParser):
    """Records how many characters the parser held each time it was fed or closed."""

    held: ClassVar[list[int]] = []

    def goahead(self, end: bool) -> None:
        RecordingParser.held.append(len(self.rawdata))
        super().goahead(end)


@pytest.mark.parametrize(
    "page",
    [
        "<a " * 100_000,
        "<!--" + "a" * 300_000,
        "</" * 150_000,
        "&#" * 150_000,
        "<a " + "x=" * 150_000,
        '<a x="' * 50_000,
    ],
)
def test_the_parser_is_never_given_more_than_the_stuck_cap(
    monkeypatch: pytest.MonkeyPatch, page: str
) -> None:
    module = importlib.import_module("agentkit_tools._html")
    monkeypatch.setattr(module, "_TextParser", RecordingParser)
    RecordingParser.held = []
    html_to_text(page)
    assert RecordingParser.held and max(RecordingParser.held) <= STUCK_CHARS + CHUNK_CHARS
    assert RecordingParser.held[-1] <= CLOSE_CHARS  # close() handles an unfinished construct quadratically


def test_a_parser_failure_falls_back_to_stripping_tags() -> None:
    assert html_to_text("<p>kept &amp; shown</p>" + "<![" * 1000) == "kept & shown " + "<![" * 1000
    assert html_to_text("<b>x</b><![if !supportLists]>") == "x"


def test_link_addresses_and_the_page_text_are_capped() -> None:
    base = "https://site.example/" + "A" * 3000 + "/"
    text = html_to_text("<a href=b>t</a>" * 10_000, base, max_chars=5000)
    links = re.findall(r"t \((https://site\.example/A+\.\.\.)\)", text)
    assert links and all(len(link) == MAX_LINK_CHARS for link in links)
    assert text.endswith("\n\n[cut: the page's text is longer than 5000 characters]")
    assert len(text) < 5000 + 100
    assert html_to_text("<title>" + "T" * 1000 + "</title>x").startswith(
        "Title: " + "T" * MAX_LINK_CHARS + "\n"
    )


def test_a_redirect_to_a_long_address_does_not_blow_up_the_text(server: Server) -> None:
    server.routes["/"] = reply(302, Location="/" + "A" * 3000 + "/")
    server.routes["/" + "A" * 3000 + "/"] = reply(200, b"<a href=b></a>" * 7000, "text/html")
    result = fetch(server.url("/"), allow_private=True, max_bytes=100_000)
    text = result.split("\n\n", 1)[1]  # after the URL, status and type lines
    assert len(text) < 100_000 + 100  # the body's size, not 7000 full addresses of 3000 characters
