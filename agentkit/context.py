"""`RunContext`: what a tool (or a hook, an instructions function, `prepare_tools`) can see of the run."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic

from typing_extensions import TypeVar

from .usage import Usage, UsageView

if TYPE_CHECKING:
    from .messages import Message

__all__ = ["DepsT", "RunContext"]

DepsT = TypeVar("DepsT", default=None)
"""The type of the dependencies a run carries (`Agent(deps_type=...)`, `agent.run(deps=...)`)."""


@dataclass(kw_only=True)
class RunContext(Generic[DepsT]):
    """Passed to a tool whose first parameter is annotated `RunContext[...]`; left out of its schema."""

    deps: DepsT
    """The dependencies given to `agent.run(deps=...)`."""
    usage: UsageView = field(default_factory=lambda: UsageView(Usage()))
    """Usage of the run so far: a live, read-only view (it keeps counting after the tool returns)."""
    messages: list[Message] = field(default_factory=list)
    """The transcript so far (read it; do not change it)."""
    model_name: str = ""
    """The model running this agent."""
    tool_name: str | None = None
    """The tool being called."""
    tool_call_id: str | None = None
    """The id of the tool call being answered."""
    retry: int = 0
    """How many times this tool has failed in this run so far (0 on the first try)."""
    attempt: int = 1
    """Which attempt at this call is running: 1, then 2 when `@tool(retry=...)` runs it again, and so on."""
    idempotency_key: str = field(default_factory=lambda: uuid.uuid4().hex)
    """A key for this call's side effect, for an API that takes one (payments, mail): the same over the
    call's `@tool(retry=...)` attempts and when a durable run recovers (`<workflow id>:<step id>`), and new
    for every other call (a random hex string; over `agentkit mcp serve`, the call's unique id)."""
    run_step: int = 0
    """The number of model requests made so far in this run."""
    agent_name: str | None = None
    """The running agent's `name`."""
