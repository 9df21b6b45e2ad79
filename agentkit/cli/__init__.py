"""The `agentkit` command line (`python -m agentkit`, or the `agentkit` console script).

```
agentkit run "task" --tools tools.py [--model ID] [--json] ...   one run, shown as it happens
agentkit chat [--tools ...]                                      an interactive session, streamed
agentkit batch TASKS --out RESULTS.jsonl [--concurrency N] ...   many runs, resumable, with progress
agentkit tools SPEC... [--dialect ...] [--json]                  the tool schemas a model is sent
agentkit local [--port N]                                        the local model's server, in the foreground
```

Nothing here is imported by `import agentkit`; rich is imported only to draw a run in a terminal.
"""

from __future__ import annotations

from ._exit import ExitCode
from ._main import main

__all__ = ["ExitCode", "main"]
