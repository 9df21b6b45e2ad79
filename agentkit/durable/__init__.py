"""Durable runs on DBOS (`pip install "agentkit[dbos]"`): a run is a workflow whose model requests and tool
calls are steps, checkpointed in DBOS's system database (SQLite by default, Postgres across machines).

```python
from dbos import DBOS
from agentkit import Agent
from agentkit.durable import DBOSAgent

agent = DBOSAgent(Agent("google/gemini-2.0-flash-001", tools=[search], name="support"))

DBOS(config={"name": "support", "system_database_url": "sqlite:///support.sqlite"})
DBOS.launch()  # recovers the runs an earlier process left unfinished
result = agent.run_sync("Where is my order?")
```

If the process dies mid-run, the next `DBOS.launch()` (on this machine, or any worker sharing the Postgres
database) runs the workflow again: completed steps are not executed again, their recorded outputs are
handed back in order, and the run carries on from the first step that did not finish.

What this asks of your code:
- The prompt, `deps`, `message_history` and the other run options are the workflow's inputs and the
  `RunResult` its output: DBOS records them with pickle.
- A tool's result is recorded as the text the model reads; an exception it raises is recorded too (one that
  does not pickle is recorded as a `RuntimeError` naming it).
- A tool call cut short (the process killed while it ran) may or may not have taken effect: on recovery it
  runs again only if its tool is marked `@tool(idempotent=True)`; otherwise the model is told that the
  call's effect is unknown and to check before calling again. Give the APIs your tools call
  `ctx.idempotency_key` (`<workflow id>:<step id>`, the same in every execution of the run) to make a side
  effect happen once.
- Everything outside the steps must do the same thing each time: a toolset's `get_tools` is asked again on
  recovery and must supply the same tools. `run_stream` is not durable (it raises `UserError`).
"""

from __future__ import annotations

try:
    import dbos  # noqa: F401
except ImportError as exc:  # pragma: no cover - the extra is installed wherever the tests run
    raise ImportError('agentkit.durable needs DBOS: pip install "agentkit[dbos]"') from exc

from ._agent import DBOSAgent

__all__ = ["DBOSAgent"]
