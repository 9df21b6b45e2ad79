"""A managed llama.cpp server for the local model.

It runs one of the two engines (`_engines`: the `xllamacpp` wheel, or a `llama-server` binary), which
[`find_engine`][agentkit.local.find_engine] picks; both take the same command-line flags.

[`LocalServer`][agentkit.local.LocalServer] starts the engine on a free loopback port, locked (see below), waits for
`GET /health` to answer 200 and stops the whole process group again on `stop()`, on leaving a `with`
block, or when the interpreter exits. [`get_local_server`][agentkit.local.get_local_server] hands out one
shared, started instance per process. The server's output goes to a log file in the cache folder, whose
tail is quoted in the error when the server fails to start or dies.

Locked: the server binds 127.0.0.1 only, and answers only requests that send its API key (a random
`secrets.token_urlsafe(32)` per `LocalServer`, kept across restarts; `LocalModel` sends it), so another
local user or a web page probing ports can neither drive it nor read its answers (`GET /health` stays open).
Its slots endpoint (other clients' prompts) is off, and so are CORS credentials; on xllamacpp no origin is
allowed at all. The key reaches the engine in its environment (`LLAMA_API_KEY`, which `llama-server` reads
as `--api-key`), never on its command line, which any local user can read (`ps`), nor in its log.

`LocalServer` is a plain class rather than a dataclass: it owns a child process and a lock, not values.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import errno
import logging
import os
import queue
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from pathlib import Path
from types import TracebackType
from typing import Any

from ..exceptions import AgentRunError, UserError
from ._engines import Engine, EngineNotFoundError, LlamaServerNotFoundError, find_engine
from ._weights import LOCAL_MODEL_ID, LocalModelError, cache_dir, ensure_model_file

__all__ = ("TEMPLATE_PATH", "LocalServer", "LocalServerError", "PortInUseError", "get_local_server")

logger = logging.getLogger("agentkit")

TEMPLATE_PATH = Path(__file__).with_name("qwen2.5-coder-tools.jinja")
"""Chat template that makes llama-server parse Qwen2.5-Coder's bare-JSON tool calls."""

_HOST = "127.0.0.1"
_LOG_TAIL_LINES = 25
_LOGS_KEPT = 20
_STOP_GRACE_SECONDS = 5.0
_LOCKED_ENV = {"LLAMA_ARG_ENDPOINT_SLOTS": "0", "LLAMA_ARG_CORS_CREDENTIALS": "0"}
"""`llama-server`'s environment variables for `--no-slots` and `--no-cors-credentials` (a binary too old to
know them ignores them; the key, which every version reads, locks the server anyway)."""
API_KEY_ENV = "LLAMA_API_KEY"
"""Where the engine finds the key clients must send: `llama-server` reads it as `--api-key`, and so does
the xllamacpp launcher."""


class LocalServerError(AgentRunError):
    """The llama.cpp server failed to start, did not become ready in time, or died (quotes its log).

    An `AgentRunError`, not a `UserError`: the model is installed (`LocalModelError` says when it is not),
    its server failed. During a run (the server died and could not be started again) the run fills in
    `messages` (the transcript so far) and `usage`, as for any failed run.
    """

    def __init__(self, message: str, *, log_path: Path | None = None, log_tail: str = "") -> None:
        if log_tail:
            message = f"{message}\nLast lines of {log_path}:\n{log_tail}"
        elif log_path is not None:
            message = f"{message}\nServer log: {log_path}"
        super().__init__(message)
        self.log_path = log_path
        """The server's log file, if one was written."""
        self.log_tail = log_tail
        """The last lines of the server's log."""


class PortInUseError(LocalServerError):
    """The requested port is already taken by another program."""


class LocalServer:
    """One llama.cpp server process (either engine) serving the local model on `127.0.0.1`.

    Nothing happens on construction; [`start()`][agentkit.local.LocalServer.start] resolves the model
    file and binary, launches the server and blocks until it is ready. Use it as a context manager to
    stop it on exit:

    ```python
    with LocalServer() as server:
        client = openai.OpenAI(base_url=server.base_url, api_key=server.api_key)
    ```
    """

    def __init__(
        self,
        *,
        port: int | None = None,
        model_path: Path | None = None,
        binary: Path | None = None,
        engine: Engine | None = None,
        template_path: Path | None = TEMPLATE_PATH,
        context_size: int = 4096,
        threads: int | None = None,
        startup_timeout: float = 120.0,
        log_path: Path | None = None,
        extra_args: Sequence[str] = (),
        api_key: str | None = None,
    ) -> None:
        """Configure the server; see the attributes for what each argument means."""
        self.requested_port = port
        """Port to listen on; `None` picks a free one at start."""
        self.model_path = model_path
        """GGUF file to serve; `None` uses [`ensure_model_file()`][agentkit.local.ensure_model_file]."""
        self.binary = binary
        """A `llama-server` binary to run (the `llama-server` engine); `None` lets `engine` decide."""
        self.engine = engine
        """`"xllamacpp"` or `"llama-server"`; `None` picks with [`find_engine()`][agentkit.local.find_engine]."""
        self.template_path = template_path
        """Jinja chat template passed with `--chat-template-file`; `None` keeps the GGUF's own."""
        self.context_size = context_size
        """Context window in tokens (`-c`)."""
        self.threads = threads if threads is not None else min(os.cpu_count() or 2, 8)
        """CPU threads (`-t`)."""
        self.startup_timeout = startup_timeout
        """Seconds to wait for `/health` to answer 200."""
        self.log_path = log_path
        """Where the server's output goes; `None` picks a file under `cache_dir() / "logs"`."""
        self.extra_args = tuple(extra_args)
        """More command-line arguments (`llama-server`'s flags; the xllamacpp engine takes a subset)."""
        self._api_key = api_key or secrets.token_urlsafe(32)
        self._lock = threading.RLock()
        self._process: subprocess.Popen[bytes] | None = None
        self._port: int | None = None
        self._log_file: Path | None = None
        self._last_port: int | None = None
        self._engine: Engine | None = None

    # -- state ---------------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The port the running server listens on."""
        if self._port is None:
            raise UserError("The local server is not started; call start() first.")
        return self._port

    @property
    def base_url(self) -> str:
        """OpenAI-compatible base URL, e.g. `http://127.0.0.1:PORT/v1`."""
        return f"http://{_HOST}:{self.port}/v1"

    @property
    def api_key(self) -> str:
        """The key clients send (`Authorization: Bearer <key>`): `api_key` as given, else a random one made
        for this server (it stays the same across restarts). Never logged, nor part of `repr(server)`."""
        return self._api_key

    @property
    def pid(self) -> int | None:
        """Process id of the running server, if any."""
        return self._process.pid if self._process is not None else None

    @property
    def engine_in_use(self) -> Engine | None:
        """The engine of the last start (`None` before the first)."""
        return self._engine

    @property
    def _name(self) -> str:
        return "llama-server" if self._engine != "xllamacpp" else "the llama.cpp server (xllamacpp)"

    @property
    def current_log_path(self) -> Path | None:
        """The log file of the last start, kept after the server stops."""
        return self._log_file

    @property
    def is_running(self) -> bool:
        """Whether the server process was started and has not exited."""
        return self._process is not None and self._process.poll() is None

    def __repr__(self) -> str:
        state = f"running on port {self._port}" if self.is_running else "stopped"
        return f"LocalServer({state})"

    # -- lifecycle -----------------------------------------------------------------------------------

    def start(self) -> LocalServer:
        """Start the server and wait until it is ready; do nothing if it already runs.

        Returns:
            The server itself, for chaining.

        Raises:
            EngineNotFoundError: When no engine is installed (`LlamaServerNotFoundError` when the
                `llama-server` engine was asked for and no binary is found).
            ModelChunkMissingError: When the model's weight packages are missing.
            ModelChecksumError: When the joined model file is corrupt.
            LocalModelError: When `model_path` is not a file.
            PortInUseError: When the requested port is taken.
            LocalServerError: When the server exits during start-up or is not ready in time.
        """
        with self._lock:
            if self.is_running:
                return self
            if self._process is not None:
                self._release()
            engine: Engine
            if self.binary is not None:
                engine, launcher = "llama-server", [str(self.binary)]
            else:
                engine, launcher = find_engine(self.engine)
            self._engine = engine
            model = self.model_path or ensure_model_file()
            if not model.is_file():
                raise LocalModelError(f"Model file not found: {model}")
            attempts = 1 if self.requested_port is not None else 3
            for attempt in range(1, attempts + 1):
                try:
                    self._launch(launcher, model, self._choose_port())
                    return self
                except LocalServerError as exc:
                    # A free port picked by us can be grabbed by another program before the server binds.
                    if attempt == attempts or "bind" not in exc.log_tail.lower():
                        raise
                    logger.info("%s could not bind port %s; retrying on another", self._name, self._port)
            raise AssertionError("unreachable")  # pragma: no cover

    def _choose_port(self) -> int:
        if self.requested_port is not None:
            return self.requested_port
        # After a crash, come back on the same port so base URLs handed out before stay valid.
        previous = self._last_port
        self._last_port = None
        if previous is not None and _port_is_free(previous):
            return previous
        return _free_port()

    def _launch(self, launcher: Sequence[str], model: Path, port: int) -> None:
        if self.requested_port is not None and not _port_is_free(port):
            raise PortInUseError(
                f"Port {port} on {_HOST} is already in use. Stop the program using it, or pass port=None "
                "to pick a free port."
            )
        log_path = self.log_path or _new_log_path(port)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        command = self.command(binary=launcher, model=model, port=port)
        logger.info("Starting %s on port %d (log: %s)", self._name, port, log_path)
        started = time.monotonic()
        with open(log_path, "wb") as log:
            log.write(f"$ {subprocess.list2cmdline(command)}\n".encode())
            log.flush()
            try:
                self._process = _spawn(
                    command,
                    env={**os.environ, **_LOCKED_ENV, API_KEY_ENV: self._api_key},
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=os.name == "posix",  # own process group: stop() kills it whole
                )
            except OSError as exc:
                error = LlamaServerNotFoundError if self._engine == "llama-server" else EngineNotFoundError
                raise error(f"Could not run {command[0]}: {exc}") from exc
        self._port = port
        self._last_port = port
        self._log_file = log_path
        _running.add(self)
        _register_atexit()
        try:
            self._wait_ready(log_path)
        except BaseException:
            self.stop()
            self._last_port = None
            raise
        logger.info("%s ready on port %d after %.1f s", self._name, port, time.monotonic() - started)

    def command(self, *, binary: Path | Sequence[str], model: Path, port: int) -> list[str]:
        """Return the command line serving `model` on `port`.

        `binary` is a `llama-server` path, or the command that starts an engine (from `find_engine()`);
        `llama-server`'s flags follow.
        """
        prefix = [str(binary)] if isinstance(binary, Path) else list(binary)
        command = [*prefix, "-m", str(model), "--host", _HOST, "--port", str(port)]
        command += ["-c", str(self.context_size), "-t", str(self.threads), "-np", "1"]
        command += ["--alias", LOCAL_MODEL_ID, "--jinja", "--temp", "0", "--seed", "42"]
        if self.template_path is not None:
            command += ["--chat-template-file", str(self.template_path)]
        return [*command, *self.extra_args]

    def _wait_ready(self, log_path: Path) -> None:
        assert self._process is not None
        assert self._port is not None
        deadline = time.monotonic() + self.startup_timeout
        while True:
            code = self._process.poll()
            if code is not None:
                tail = _log_tail(log_path)
                error = PortInUseError if self.requested_port is not None and "bind" in tail.lower() else None
                raise (error or LocalServerError)(
                    f"{self._name} exited with code {code} during start-up.", log_path=log_path, log_tail=tail
                )
            if _health_ok(self._port):
                # A foreign server could answer on a port we lost in a race; make sure ours is still alive.
                if self._process.poll() is None:
                    return
                continue
            if time.monotonic() > deadline:
                raise LocalServerError(
                    f"{self._name} was not ready after {self.startup_timeout:g} s.",
                    log_path=log_path,
                    log_tail=_log_tail(log_path),
                )
            time.sleep(0.1)

    def check(self) -> None:
        """Raise if the server was started but has died since.

        Raises:
            LocalServerError: With the tail of the server's log.
        """
        process = self._process
        if process is not None and (code := process.poll()) is not None:
            log_path = self._log_file
            raise LocalServerError(
                f"{self._name} (port {self._port}) exited unexpectedly with code {code}.",
                log_path=log_path,
                log_tail=_log_tail(log_path) if log_path else "",
            )

    def wait(self, timeout: float | None = None) -> int:
        """Block until the server process exits and return its exit code.

        Raises:
            UserError: When the server was never started.
            subprocess.TimeoutExpired: When `timeout` passes first.
        """
        if self._process is None:
            raise UserError("The local server is not started; call start() first.")
        return self._process.wait(timeout)

    def stop(self) -> None:
        """Stop the server and its process group (SIGTERM, then SIGKILL after 5 s). Idempotent."""
        with self._lock:
            process = self._process
            if process is None:
                return
            if process.poll() is None:
                _terminate(process)
                self._last_port = None
            self._release()

    def _release(self) -> None:
        self._process = None
        self._port = None
        _running.discard(self)

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


# -- shared instance -------------------------------------------------------------------------------------

_shared: LocalServer | None = None
_shared_lock = threading.Lock()
_running: set[LocalServer] = set()
_atexit_registered = False


def get_local_server() -> LocalServer:
    """Return this process's shared local server, started (the first call blocks until it is ready).

    Thread-safe. A shared server that died is started again. It is stopped when the interpreter exits.
    From async code call it as `await asyncio.to_thread(get_local_server)`.

    Raises:
        LocalModelError: The model or its engine is not installed (a `UserError`).
        LocalServerError: The server failed to start or was not ready in time (an `AgentRunError`).
    """
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = LocalServer()
        elif _shared.pid is not None and not _shared.is_running:
            logger.warning(
                "The shared llama-server died (see %s); starting it again", _shared.current_log_path
            )
        return _shared.start()


def _stop_all() -> None:
    for server in list(_running):
        with contextlib.suppress(Exception):
            server.stop()


def _register_atexit() -> None:
    global _atexit_registered
    if not _atexit_registered:
        atexit.register(_stop_all)
        _atexit_registered = True


def _forget_in_child() -> None:
    """After `fork()`, the child does not own the parent's servers (never stop them from there), and the
    spawning thread did not survive the fork."""
    global _shared, _spawner
    _shared = None
    _running.clear()
    _spawner = None


# -- dying with this process -----------------------------------------------------------------------------
# On Linux a child can ask to be sent SIGTERM when its parent dies (PR_SET_PDEATHSIG), so the server does
# not outlive a Python process killed with SIGKILL, where no atexit handler runs. The signal follows the
# *thread* that started the child: a server started from a worker thread would be killed when that thread
# ends. So children are started from one daemon thread that lives as long as the process.

_PR_SET_PDEATHSIG = 1
_spawner: queue.SimpleQueue[tuple[Future[subprocess.Popen[bytes]], list[str], dict[str, Any]]] | None = None
_spawner_lock = threading.Lock()


def _die_with_parent() -> Callable[[], None] | None:
    """A `preexec_fn` setting PR_SET_PDEATHSIG, or `None` where there is no such thing."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # pragma: no cover - every Linux libc has prctl
        return None
    parent = os.getpid()

    def preexec() -> None:  # runs in the child between fork and exec: no allocation-heavy work
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os.kill(os.getpid(), signal.SIGTERM)

    return preexec


def _spawn(command: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
    """`subprocess.Popen(command, **kwargs)`; on Linux from the spawning thread, the child set to die with
    this process."""
    global _spawner
    preexec = _die_with_parent()
    if preexec is None:
        return subprocess.Popen(command, **kwargs)
    with _spawner_lock:
        if _spawner is None:
            _spawner = queue.SimpleQueue()
            threading.Thread(
                target=_spawn_loop, args=(_spawner, preexec), name="agentkit-spawner", daemon=True
            ).start()
        jobs = _spawner
    future: Future[subprocess.Popen[bytes]] = Future()
    jobs.put((future, command, kwargs))
    return future.result()


def _spawn_loop(
    jobs: queue.SimpleQueue[tuple[Future[subprocess.Popen[bytes]], list[str], dict[str, Any]]],
    preexec: Callable[[], None],
) -> None:
    while True:
        future, command, kwargs = jobs.get()
        try:
            future.set_result(subprocess.Popen(command, preexec_fn=preexec, **kwargs))
        except BaseException as exc:
            future.set_exception(exc)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_in_child)


# -- helpers ---------------------------------------------------------------------------------------------


def _terminate(process: subprocess.Popen[bytes]) -> None:
    def send(sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if os.name == "posix":
                os.killpg(process.pid, sig)
            else:  # pragma: no cover
                process.send_signal(sig)

    send(signal.SIGTERM)
    try:
        process.wait(_STOP_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        logger.warning("llama-server (pid %d) ignored SIGTERM; killing it", process.pid)
        send(signal.SIGKILL if os.name == "posix" else signal.SIGTERM)
        process.wait(_STOP_GRACE_SECONDS)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((_HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Like llama-server: SO_REUSEADDR lets us bind over TIME_WAIT, but never over a listener.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((_HOST, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
        return True


def _health_ok(port: int) -> bool:
    # http.client, not urllib: urllib would send loopback requests through $http_proxy.
    import http.client

    connection = http.client.HTTPConnection(_HOST, port, timeout=2.0)
    try:
        connection.request("GET", "/health")
        return connection.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()


def _logs_dir() -> Path:
    return cache_dir() / "logs"


def _new_log_path(port: int) -> Path:
    folder = _logs_dir()
    with contextlib.suppress(OSError):
        old = sorted(folder.glob("llama-server-*.log"), key=lambda p: p.stat().st_mtime)
        for stale in old[: max(0, len(old) - _LOGS_KEPT + 1)]:
            stale.unlink(missing_ok=True)
    return folder / f"llama-server-{os.getpid()}-{port}.log"


def _log_tail(path: Path, lines: int = _LOG_TAIL_LINES) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 16_384))
            text = f.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.rstrip().splitlines()[-lines:])
