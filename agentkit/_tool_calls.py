"""The old path of three classes that a durable run's checkpoints may name, kept importable for them.

DBOS records a tool step's output and error with pickle, which names a class by its module: checkpoints
written before the run part became the package `agentkit._run` name `agentkit._tool_calls.SubRunOutput`
(what an agent tool returns), `SubRunFailed` and `UnwritableResult` (errors a tool step may end with). A
run recovered from such a checkpoint finds them here. Nothing in agentkit imports this module; code uses
`agentkit._run.tool_calls`, and checkpoints written since name that.
"""

from __future__ import annotations

from ._run.tool_calls import SubRunFailed, SubRunOutput, UnwritableResult

__all__ = ["SubRunFailed", "SubRunOutput", "UnwritableResult"]
