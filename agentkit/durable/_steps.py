"""The pieces of a run that become DBOS steps: the model's requests and each tool call.

Inside a workflow, `DBOS.run_step_async` checkpoints a step's output (or error) under the next step id of the
workflow; on recovery, DBOS runs the workflow function again and hands back the recorded outputs in the
same order instead of running the steps. Step ids are taken in call order, when the step is called (before
its first `await`), so the concurrent calls of one turn, whose tasks start in the calls' order, keep their
ids from one execution to the next; each tool step's name carries the call's id, so a mismatch raises
DBOS's `DBOSUnexpectedStepError` instead of handing one call another's result.

A call of a tool that is not `idempotent` is two steps, both ids drawn when the call starts
(`DBOS.reserve_step`): `...:<call id>.started`, recorded before the function runs, then the call itself. On
recovery, a call whose first step is recorded but not its second was cut short: it may or may not have taken
effect, and the model is told so (`IN_DOUBT`, recorded as the call's outcome) instead of it running again.
A call of an `idempotent` tool is one step, which simply runs again if it was cut short. The call's
`RunContext.idempotency_key` is `<workflow id>:<step id>`, the same in every execution of the workflow.
Attempts (`@tool(retry=...)`) and the tool's timeout run inside the call's step.
"""

from __future__ import annotations

import asyncio
import logging
import pickle
from collections.abc import Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, NoReturn

from dbos import DBOS

from .._run.retry import call_with_retry
from .._run.tool_calls import SubRunOutput, result_parts
from ..exceptions import ModelRetry
from ..models import Model, ModelProfile, ModelRequestParameters
from ..tool import Tool
from ..toolsets import Toolset

if TYPE_CHECKING:
    from ..context import RunContext
    from ..messages import AssistantMessage, Message
    from ..settings import ModelSettings

__all__ = ["StepModel", "StepToolset", "step_tool"]

TIMED_OUT = "The tool timed out after {timeout:g} seconds."
"""What the model is told of a call past its tool's `timeout` (the words of a plain run)."""

IN_DOUBT = (
    "The effect of this call is unknown: the run was interrupted while the tool was running, and it was not "
    "run again because it is not marked idempotent, so it may or may not have taken effect. Check whether "
    "it did (for example, look up the current state) before calling it again."
)
"""What the model is told of a non-idempotent call that a crash cut short, when the run recovers."""

logger = logging.getLogger("agentkit")


class StepModel(Model):
    """A model whose `request` is a DBOS step: its output, the `AssistantMessage`, is checkpointed."""

    def __init__(self, model: Model, *, step_name: str) -> None:
        self.wrapped = model
        self.step_name = step_name

    @property
    def model_name(self) -> str:
        return self.wrapped.model_name

    @property
    def profile(self) -> ModelProfile:
        return self.wrapped.profile

    async def request(
        self, messages: Sequence[Message], parameters: ModelRequestParameters, settings: ModelSettings
    ) -> AssistantMessage:
        return await DBOS.run_step_async(
            {"name": self.step_name}, self.wrapped.request, messages, parameters, settings
        )

    def describe(self) -> str:
        return self.wrapped.describe()

    async def aclose(self) -> None:
        await self.wrapped.aclose()


class _StepTool(Tool[..., Any]):
    """A tool whose call is a DBOS step; the checkpoint is the result as the model reads it (text, or the
    text and image parts a tool returned)."""

    inner: Tool[..., Any]
    step_prefix: str

    async def call(self, arguments: dict[str, Any], ctx: RunContext[Any] | None = None) -> Any:
        assert ctx is not None  # a run always passes its context
        call_id = ctx.tool_call_id
        name = f"{self.step_prefix}.tool.{self.name}" + (f":{call_id}" if call_id else "")
        # the ids are drawn now, before the first await: concurrent calls keep their ids from one execution
        # to the next whatever order their steps finish in. An idempotent call runs again anyway: no `started`
        started = None if self.inner.idempotent else DBOS.reserve_step()
        finished = DBOS.reserve_step()
        ctx.idempotency_key = f"{DBOS.workflow_id}:{finished.step_id}"
        start = _Start(marked=started is not None)
        if started is not None:
            await started.run_async({"name": f"{name}.started"}, start.record)
        return await finished.run_async({"name": name}, self._checkpointed, arguments, ctx, start)

    async def _checkpointed(self, arguments: dict[str, Any], ctx: RunContext[Any], start: _Start) -> Any:
        inner = self.inner
        if start.earlier:
            logger.warning(
                "not running again the call %s of %r cut short by a crash", ctx.tool_call_id, self.name
            )
            raise ModelRetry(IN_DOUBT)
        try:
            # attempts and the timeout run inside the step, so that its outcome is the call's, as recorded
            value = await call_with_retry(inner, arguments, ctx)
        except ModelRetry:
            raise
        except asyncio.TimeoutError as exc:
            if inner.timeout is None:  # the function's own timeout, not the tool's
                _raise_portable(exc)
            raise ModelRetry(TIMED_OUT.format(timeout=inner.timeout)) from None
        except Exception as exc:
            _raise_portable(exc)
        transcript = None
        if isinstance(value, SubRunOutput):  # an agent's run (`Agent.as_tool`): its transcript is kept too
            transcript, value = value.transcript, value.output
        text, images = result_parts(value)
        # images are kept as the parts they came in (dataclasses, which pickle); anything else as its text
        kept = value if images else text
        return kept if transcript is None else SubRunOutput(output=kept, transcript=transcript)


class _Start:
    """Whether a call's `started` step was read back from an earlier execution of the workflow, not run in
    this one: that execution started the call and never recorded its end."""

    def __init__(self, *, marked: bool) -> None:
        self.marked = marked
        """The call has a `started` step (its tool is not idempotent)."""
        self.ran = False

    async def record(self) -> None:
        self.ran = True

    @property
    def earlier(self) -> bool:
        return self.marked and not self.ran


def step_tool(tool: Tool[..., Any], step_prefix: str) -> Tool[..., Any]:
    """`tool` with each call run as DBOS steps named `<step_prefix>.tool.<name>:<call id>` (and `.started`)."""
    durable: _StepTool = _StepTool.__new__(_StepTool)
    durable.__dict__.update(tool.__dict__)
    durable.inner = tool
    durable.step_prefix = step_prefix
    durable.timeout = durable.retry = None  # applied inside the step
    return durable


def _raise_portable(error: Exception) -> NoReturn:
    """Raise `error` if it survives pickling (how DBOS records a step's error), else a `RuntimeError` that
    says what it was (from it): a step's error is read back from the checkpoint when the workflow recovers."""
    try:
        pickle.loads(pickle.dumps(error))
    except Exception:
        raise RuntimeError(f"{type(error).__name__}: {error}") from error
    raise error


class StepToolset(Toolset):
    """A toolset whose tools' calls are DBOS steps. Entering and leaving it enter and leave the toolset it
    wraps; its tools are asked for again on recovery (`get_tools` is not a step)."""

    def __init__(self, toolset: Toolset, step_prefix: str) -> None:
        self.wrapped = toolset
        self.step_prefix = step_prefix

    @property
    def name(self) -> str:
        return self.wrapped.name

    async def get_tools(self, ctx: RunContext[Any]) -> Sequence[Tool[..., Any]]:
        return [step_tool(tool, self.step_prefix) for tool in await self.wrapped.get_tools(ctx)]

    async def __aenter__(self) -> StepToolset:
        await self.wrapped.__aenter__()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.wrapped.__aexit__(kind, error, trace)
