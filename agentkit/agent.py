"""`Agent`: a model, instructions, tools and an output type; `run()` drives the loop in `_loop`."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any, Generic

from typing_extensions import TypedDict, Unpack

from ._loop import RunSpec, run_loop, start_messages
from ._output import OutputSpec, OutputT
from .context import DepsT
from .exceptions import UserError
from .messages import ContentPart, Message
from .models import Model, infer_model
from .result import RunResult
from .settings import ModelSettings
from .tool import Tool
from .usage import UsageLimits

__all__ = ["Agent"]

_NONE_TYPE = type(None)


class RunOptions(TypedDict, Generic[DepsT], total=False):
    """The keyword options of `Agent.run` and `Agent.run_sync`."""

    deps: DepsT
    message_history: Sequence[Message] | None
    model_settings: ModelSettings | None
    usage_limits: UsageLimits | None
    model: Model | str | None


class Agent(Generic[DepsT, OutputT]):
    """An agent: call `await agent.run(prompt)` (or `agent.run_sync(prompt)`) for a `RunResult`.

    Args:
        model: A `Model`, a model id (`"google/gemini-2.0-flash-001"`, `"local"`...), or `None` for the
            environment's choice (`AGENTKIT_MODEL`; see the README's configuration table).
        instructions: The system prompt.
        tools: `Tool`s or plain functions (made into tools with `@tool`'s defaults).
        output_type: `str` for a text answer, or a type (pydantic model, dataclass, TypedDict, list...) the
            answer is validated into.
        deps_type: The type of `deps` passed to `run()`, for type checkers; tools see it as `ctx.deps`.
        max_turns: Model requests allowed in one run.
        model_settings: Sampling and transport options for every request.
        usage_limits: Token, request and cost ceilings for one run.
        retries: Consecutive failed calls a tool gets (unless the tool sets its own `retries`).
        output_retries: Unusable answers (empty, invalid structured output) tolerated in a row; defaults to
            `retries`.
        raise_tool_errors: Raise `ToolExecutionError` when a tool raises, instead of telling the model.
        name: A name for logs and traces.
    """

    def __init__(
        self,
        model: Model | str | None = None,
        *,
        instructions: str | None = None,
        tools: Sequence[Tool[..., Any] | Callable[..., Any]] = (),
        output_type: type[OutputT] = str,  # type: ignore[assignment]
        deps_type: type[DepsT] = _NONE_TYPE,  # type: ignore[assignment]
        max_turns: int = 20,
        model_settings: ModelSettings | None = None,
        usage_limits: UsageLimits | None = None,
        retries: int = 2,
        output_retries: int | None = None,
        raise_tool_errors: bool = False,
        name: str | None = None,
    ) -> None:
        if max_turns < 1:
            raise UserError(f"max_turns must be at least 1, not {max_turns}.")
        if retries < 0 or (output_retries is not None and output_retries < 0):
            raise UserError("retries and output_retries must be >= 0.")
        self._model_arg = model
        self._model: Model | None = model if isinstance(model, Model) else None
        if model is not None and not isinstance(model, (Model, str)):
            raise UserError(f"model must be a Model or a model id string, not {type(model).__name__}.")
        self.instructions = instructions
        self.tools: dict[str, Tool[..., Any]] = _index_tools(tools)
        self.output_type = output_type
        self._output = OutputSpec.build(output_type)
        self.deps_type = deps_type
        self.max_turns = max_turns
        self.model_settings = model_settings or ModelSettings()
        self.usage_limits = usage_limits or UsageLimits()
        self.retries = retries
        self.output_retries = retries if output_retries is None else output_retries
        self.raise_tool_errors = raise_tool_errors
        self.name = name

    @property
    def model(self) -> Model:
        """The model, resolved on first use (so the environment is read when the agent first runs)."""
        if self._model is None:
            self._model = infer_model(self._model_arg)
        return self._model

    def __repr__(self) -> str:
        return f"Agent(model={self._model_arg!r}, tools={list(self.tools)}, output_type={self.output_type!r})"

    async def run(
        self,
        prompt: str | Sequence[ContentPart] | None,
        *,
        deps: DepsT = None,  # type: ignore[assignment]
        message_history: Sequence[Message] | None = None,
        model_settings: ModelSettings | None = None,
        usage_limits: UsageLimits | None = None,
        model: Model | str | None = None,
    ) -> RunResult[OutputT]:
        """Run the agent on `prompt` to a final answer.

        Args:
            prompt: The user's message: text or text and image parts. `None` continues `message_history` as is.
            deps: Dependencies for tools (`ctx.deps`).
            message_history: An earlier transcript (`result.messages`) to continue.
            model_settings: Settings for this run, merged over the agent's.
            usage_limits: Limits for this run, instead of the agent's.
            model: Another model for this run only.

        Raises:
            UserError: Misuse, such as a missing API key (before any request).
            AgentRunError: The run failed; the exception's `messages` keep the transcript.
        """
        if prompt is None and not message_history:
            raise UserError("Give a prompt, or a message_history to continue.")
        history = list(message_history or ())
        content = prompt if prompt is None or isinstance(prompt, str) else list(prompt)
        messages = start_messages(self.instructions, history, content)
        inserted = len(messages) - len(history) - (0 if content is None else 1)  # a system message
        new_index = inserted + len(history) if history else 0
        spec = RunSpec(
            model=infer_model(model) if model is not None else self.model,
            tools=self.tools,
            output=self._output,
            instructions=self.instructions,
            settings=self.model_settings.merged(model_settings),
            limits=usage_limits or self.usage_limits,
            max_turns=self.max_turns,
            retries=self.retries,
            output_retries=self.output_retries,
            raise_tool_errors=self.raise_tool_errors,
            deps=deps,
        )
        return await run_loop(spec, messages, new_index)

    def run_sync(
        self, prompt: str | Sequence[ContentPart] | None, **options: Unpack[RunOptions[DepsT]]
    ) -> RunResult[OutputT]:
        """`run()` for code without an event loop (scripts, batch jobs); takes the same options."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            raise UserError(
                "run_sync() was called inside a running event loop; use `await agent.run(...)` there."
            )
        model = options.get("model")
        chosen = infer_model(model) if model is not None else self.model
        options["model"] = chosen

        async def main() -> RunResult[OutputT]:
            try:
                return await self.run(prompt, **options)
            finally:
                await chosen.aclose()  # this loop ends here: so do its connections

        return asyncio.run(main())


def _index_tools(tools: Sequence[Tool[..., Any] | Callable[..., Any]]) -> dict[str, Tool[..., Any]]:
    index: dict[str, Tool[..., Any]] = {}
    for item in tools:
        tool = item if isinstance(item, Tool) else Tool(item)
        if tool.name in index:
            raise UserError(
                f"Two tools are named {tool.name!r}; tool names must be unique. Rename one with @tool(name=...)."
            )
        from ._output import FINAL_RESULT_TOOL

        if tool.name == FINAL_RESULT_TOOL:
            raise UserError(
                f"The tool name {FINAL_RESULT_TOOL!r} is reserved for structured output; rename the tool."
            )
        index[tool.name] = tool
    return index
