"""The guard against real model requests in tests (`agentkit.testing` re-exports its switches)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from urllib.parse import urlsplit

from ..exceptions import UserError

__all__ = ["allow_model_requests", "block_model_requests", "check_model_request", "is_replaying", "replaying"]

_state = {
    "blocked": os.environ.get("AGENTKIT_BLOCK_MODEL_REQUESTS", "") not in ("", "0", "false"),
    "replaying": False,
}


def _is_loopback(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return host in ("localhost", "::1") or host.startswith("127.")


def check_model_request(base_url: str) -> None:
    """Raise `UserError` when real (non-loopback) model requests are blocked."""
    if _state["blocked"] and not _is_loopback(base_url):
        raise UserError(
            f"A real model request to {base_url} was blocked: model requests are blocked in tests. Use "
            "agentkit.testing's ScriptedModel, FunctionModel or LoopbackServer, or wrap the test in "
            "allow_model_requests()."
        )


@contextlib.contextmanager
def block_model_requests(blocked: bool = True) -> Iterator[None]:
    """Within the block, requests to non-loopback model endpoints raise `UserError` (loopback is allowed)."""
    previous = _state["blocked"]
    _state["blocked"] = blocked
    try:
        yield
    finally:
        _state["blocked"] = previous


def allow_model_requests() -> contextlib.AbstractContextManager[None]:
    """Within the block, real model requests are allowed again."""
    return block_model_requests(False)


@contextlib.contextmanager
def replaying() -> Iterator[None]:
    """Within the block, a cassette answers every request: nothing is sent, so no request is real and no
    API key is needed."""
    previous = dict(_state)
    _state["replaying"] = True
    _state["blocked"] = False
    try:
        yield
    finally:
        _state.update(previous)


def is_replaying() -> bool:
    """Whether a cassette is replaying (`replaying()`)."""
    return _state["replaying"]
