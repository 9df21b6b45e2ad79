"""`DBOSAgent`: an agent whose runs are DBOS workflows."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, Generic, NoReturn, cast

from dbos import DBOS
from typing_extensions import Unpack

from ..agent import Agent, RunOptions
from ..context import DepsT
from ..exceptions import UserError
from ..messages import ContentPart
from ..models import infer_model
from ..result import OutputT, RunResult
from ._steps import StepModel, StepToolset, step_tool

__all__ = ["DBOSAgent"]

HOOKS_REFUSED = (
    "A durable run takes no hooks or guardrails (Agent(hooks=...), run(hooks=...)): they run outside DBOS's "
    "steps, so a recovered run would call them again, and an input guardrail would cancel a model request "
    "DBOS is recording. Check the input before starting the workflow, and the output after it returns."
)

_Workflow = Callable[..., Coroutine[Any, Any, RunResult[Any]]]


class DBOSAgent(Generic[DepsT, OutputT]):
    """`agent` with durable runs: each `run()` / `run_sync()` is a DBOS workflow whose model requests and tool
    calls are steps, so a run cut short (the process killed, the machine lost) resumes from its last
    completed step when DBOS recovers it.

    Create it at import time, before `DBOS.launch()`: the workflow is registered with DBOS as
    `<name>.run` when the `DBOSAgent` is made, so that a process that starts later finds it to recover.

    Args:
        agent: The agent to run durably; it keeps working as a plain agent too.
        name: The name the workflow and its steps are registered under, unique in the process; defaults to
            the agent's `name`.

    Raises:
        UserError: The agent has no name (and none is given), or another `DBOSAgent` has this name, or the
            agent has hooks (see `HOOKS_REFUSED`).
    """

    def __init__(self, agent: Agent[DepsT, OutputT], *, name: str | None = None) -> None:
        name = name or agent.name
        if not name:
            raise UserError(
                "DBOSAgent needs a name, unique in the process, to register its workflow with DBOS: "
                'give the agent one (Agent(..., name="support")) or pass DBOSAgent(agent, name=...).'
            )
        if agent.hooks:
            raise UserError(HOOKS_REFUSED)
        workflow_name = f"{name}.run"
        if _is_registered(workflow_name):
            raise UserError(
                f"A DBOS workflow named {workflow_name!r} is already registered: each DBOSAgent needs its "
                "own name (DBOSAgent(agent, name=...)). Make each DBOSAgent once, at import time."
            )
        self.agent = agent
        self.name = name

        @DBOS.workflow(name=workflow_name)
        async def run_workflow(
            prompt: str | Sequence[ContentPart] | None, **options: Unpack[RunOptions[DepsT]]
        ) -> RunResult[OutputT]:
            return await self._run_steps(prompt, options)

        self._workflow: _Workflow = run_workflow

    @property
    def workflow(self) -> Callable[..., Coroutine[Any, Any, RunResult[OutputT]]]:
        """The run's workflow function, taking `run()`'s arguments, for DBOS's own ways of starting a workflow:
        `DBOS.start_workflow(dbos_agent.workflow, prompt, ...)`, `DBOS.enqueue_workflow(queue, ...)`."""
        return self._workflow

    @property
    def workflow_name(self) -> str:
        """The name of the run's workflow in DBOS (`<name>.run`), as listed by `DBOS.list_workflows()`."""
        return f"{self.name}.run"

    async def __aenter__(self) -> DBOSAgent[DepsT, OutputT]:
        """Start the agent's toolsets once for the runs inside the `async with` (as `async with agent:`)."""
        await self.agent.__aenter__()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.agent.__aexit__(*exc_info)

    def __repr__(self) -> str:
        return f"DBOSAgent(name={self.name!r}, agent={self.agent!r})"

    async def run(
        self, prompt: str | Sequence[ContentPart] | None, **options: Unpack[RunOptions[DepsT]]
    ) -> RunResult[OutputT]:
        """`Agent.run` as a DBOS workflow; takes the same options.

        The prompt and options are the workflow's inputs, recorded by DBOS: they must pickle (`deps` too).
        Run it inside `with SetWorkflowID(...)` to choose the workflow's id (DBOS runs a workflow once per id).
        """
        _check_options(options, self.agent)
        result: RunResult[OutputT] = await self._workflow(prompt, **options)
        return result

    def run_sync(
        self, prompt: str | Sequence[ContentPart] | None, **options: Unpack[RunOptions[DepsT]]
    ) -> RunResult[OutputT]:
        """`run()` for code without an event loop; takes the same options.

        The workflow runs on DBOS's event loop (not on the loop agentkit's `run_sync` shares: DBOS makes the
        loops it runs on use its thread pool, which `DBOS.destroy()` shuts down). Interrupting the call
        (Ctrl-C) stops the wait, not the workflow.
        """
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            raise UserError(
                "run_sync() was called inside a running event loop; use `await agent.run(...)` there."
            )
        _check_options(options, self.agent)
        handle = DBOS.start_workflow(self._workflow, prompt, **options)
        # typed by DBOS as the coroutine function's return value; the handle gives what it awaits to
        return cast("RunResult[OutputT]", handle.get_result())

    def run_stream(self, prompt: str | Sequence[ContentPart] | None, **options: Any) -> NoReturn:
        """Not durable: raises `UserError`."""
        raise UserError(
            "DBOSAgent runs are not streamed: use run() or run_sync() for a durable run, or the wrapped "
            "agent's run_stream() (dbos_agent.agent.run_stream(...)) for a streamed run that is not durable."
        )

    run_stream_sync = run_stream

    async def _run_steps(
        self, prompt: str | Sequence[ContentPart] | None, options: RunOptions[DepsT]
    ) -> RunResult[OutputT]:
        """The workflow's body: the agent's own run, with its model and tools replaced by steps."""
        _check_options(
            options, self.agent
        )  # also when started through `workflow` (DBOS.start_workflow, a queue)
        prefix = self.name
        durable = copy.copy(self.agent)
        durable.tools = {name: step_tool(tool, prefix) for name, tool in self.agent.tools.items()}
        durable.toolsets = [StepToolset(toolset, prefix) for toolset in self.agent.toolsets]
        chosen = options.get("model")
        model = infer_model(chosen) if chosen is not None else self.agent.model
        options = {**options, "model": StepModel(model, step_name=f"{prefix}.model.request")}
        return await durable.run(prompt, **options)


def _check_options(options: RunOptions[Any], agent: Agent[Any, Any]) -> None:
    """The options a durable run cannot take, refused with what to do instead (and hooks added to the agent
    since the `DBOSAgent` was made)."""
    if options.get("hooks") or agent.hooks:
        raise UserError(HOOKS_REFUSED)
    if options.get("approve") is not None:
        raise UserError(
            "A durable run takes no approve= callback (a callback cannot be recorded, so a recovered run could "
            "not ask it again): let calls that need approval stop the run (result.pending_approvals), then "
            "continue it with run(None, message_history=result.messages, approvals={call_id: True | reason})."
        )
    if options.get("session") is not None:
        raise UserError(
            "A durable run takes no session= (DBOS records the run; a session appended to between steps would "
            "be appended to again on recovery): pass message_history=session.load_sync() and append the "
            "result's new_messages() to the session after the run."
        )


def _is_registered(workflow_name: str) -> bool:
    """Whether DBOS's registry (kept until `DBOS.destroy(destroy_registry=True)`) has this workflow."""
    from dbos import _dbos

    registry = _dbos._get_or_create_dbos_registry()
    return workflow_name in registry.workflow_info_map
