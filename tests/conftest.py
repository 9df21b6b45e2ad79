from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from agentkit.testing import LoopbackServer, block_model_requests

# The `agentkit_cassette` fixture: an install of agentkit loads its plugin by the `pytest11` entry point; a
# checkout installed before the entry point existed does not (and loading it twice is an error).
PLUGIN = "_agentkit_pytest"
pytest_plugins = [] if PLUGIN in sys.modules else [PLUGIN]


@pytest.fixture(autouse=True)
def _no_real_model_requests(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test reaches a real model: requests to non-loopback endpoints fail, and no key leaks in."""
    for name in ("OPENROUTER_API_KEY", "AGENTKIT_API_KEY", "AGENTKIT_BASE_URL", "AGENTKIT_MODEL"):
        monkeypatch.delenv(name, raising=False)
    with block_model_requests():
        yield


@pytest.fixture(autouse=True)
def _fresh_pacers() -> None:
    """Each test starts with no pacer, as a new process would. Pacers are process-wide, keyed by base URL,
    key and model, and a loopback server can get the port an earlier test's server had: a pacer left with a
    request in flight and no response seen would then hold the new test's first request forever. (One CI
    run hung in `test_secrets` with an idle event loop, which no run of that file alone repeats; this shared
    state is the one that could do it.)"""
    from agentkit.models import _pacing

    _pacing._pacers.clear()


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[LoopbackServer]:
    """A loopback server that the library's default model (and the in-process command line) is configured
    for, by environment; a test module may define its own `server`."""
    with LoopbackServer() as loopback:
        monkeypatch.setenv("AGENTKIT_BASE_URL", loopback.base_url)
        monkeypatch.setenv("AGENTKIT_API_KEY", "test-key")
        yield loopback
