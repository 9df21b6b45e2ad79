"""`Agent`: a model, instructions, tools and an output type; `run()`, `run_stream()` and their sync twins
drive the loop in `_run.loop` (one loop: `run()` consumes the same events `run_stream()` yields)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AsyncExitStack, aclosing
from typing import TYPE_CHECKING, Any, Generic

from typing_extensions import TypedDict, Unpack

from ._run.approval import Approver, Decision
from ._run.history import Processor, prepare_processors
from ._run.hook_runner import HookRunner, PrepareTools, build_runner, hook_list, split_instructions
from ._run.output import OutputSpec, OutputT
from ._run.state import Opening, RunSpec, RunState, new_state, start_messages
from ._run.stream import RunStream
from .context import DepsT
from .events import Event, RunFinished
from .exceptions import UserError
from .history import HistoryProcessor
from .hooks import Instructions
from .instrumentation import traced_run
from .messages import ContentPart, Message
from .models import Model, OutputMode, infer_model
from .result import RunResult
from .settings import ModelSettings
from .tool import Tool
from .toolsets import Toolset
from .usage import UsageLimits

if TYPE_CHECKING:
    from pathlib import Path

    from starlette.applications import Starlette

    from .models.profiles import RunHooks
    from .sessions import Session

__all__ = ["Agent", "RunOptions"]

_NONE_TYPE = type(None)


class RunOptions(TypedDict, Generic[DepsT], total=False):
    """The keyword options of `Agent.run`, `run_stream` and their `_sync` twins."""

    deps: DepsT
    message_history: Sequence[Message] | None
    model_settings: ModelSettings | None
    usage_limits: UsageLimits | None
    model: Model | str | None
    max_turns: int | None
    approvals: Mapping[str, Decision] | None
    approve: Approver | None
    session: Session | None
    hooks: Sequence[object] | None
    history_processors: Sequence[HistoryProcessor] | None


class Agent(Generic[DepsT, OutputT]):
    """An agent: `await agent.run(prompt)` (or `agent.run_sync(prompt)`) for a `RunResult`;
    `async with agent.run_stream(prompt) as stream` to watch the run as events.

    Args:
        model: A `Model`, a model id (`"google/gemini-2.0-flash-001"`, `"local"`...), or `None` for the
            environment's choice (`AGENTKIT_MODEL`; see the README's configuration table).
        fallback_models: Models (or ids) tried in order when `model` fails in a way another model may not
            (unavailable, 5xx, 429, timeouts, errors in 200 bodies; not 400/401/402/403): the agent's model
            is then a `FallbackModel` (`agentkit.models.fallback`), whose circuit breakers skip a model
            that keeps failing. A per-run `model=` option replaces the whole chain.
        instructions: The system prompt: text, a function of the `RunContext` (sync or async) returning
            text, or a list mixing both (joined by blank lines). Functions are called once per run, as it
            starts (after its session is loaded), and the text goes in front of the transcript like fixed
            instructions do (not when the history already starts with a system message).
        tools: `Tool`s or plain functions (made into tools with `@tool`'s defaults).
        toolsets: `Toolset`s (`agentkit.toolsets`), such as MCP servers (`agentkit.mcp`): entered when a run
            starts and asked for their tools, which join `tools` for that run. `async with agent:` keeps
            them started across runs.
        output_type: `str` for a text answer, or a type (pydantic model, dataclass, TypedDict, list...) the
            answer is validated into.
        output_mode: How a structured `output_type` is asked for: `"native"` (a JSON-schema
            `response_format`), `"tool"` (a final-result tool the model calls) or `"prompted"` (the schema in
            the prompt, the JSON read from the reply). `None` lets the model's profile choose (see
            docs/output.md); a mode the model cannot do is a `UserError` when the run starts.
        deps_type: The type of `deps` passed to `run()`, for type checkers; tools see it as `ctx.deps`.
        max_turns: Model requests allowed in one run (each turn is one request and the calls it asks for).
        model_settings: Sampling and transport options for every request.
        usage_limits: Token and cost ceilings for one run.
        retries: Consecutive failed calls a tool gets (unless the tool sets its own `retries`).
        output_retries: Unusable answers (empty, invalid structured output) tolerated in a row; defaults to
            `retries`.
        raise_tool_errors: Raise `ToolExecutionError` when a tool raises, instead of telling the model.
        name: A name for logs, events (`RequestStarted.agent_name`) and tools (`ctx.agent_name`).
        hooks: Objects stepping into every run (`agentkit.hooks`: `Hooks` subclasses, objects with some of
            its methods, `InputGuardrail`s and `OutputGuardrail`s), called in order; a run's own `hooks=`
            come after these.
        prepare_tools: `(ctx, tools) -> tools`, sync or async, called before each model request with the
            run's tools: the `Tool`s it returns are the ones offered (filter them, or offer changed copies:
            `tool.replace(name=..., description=...)`; a call of a renamed tool runs its function).
        history_processors: Functions (sync or async) of the messages about to be sent, or of the
            `RunContext` and those messages, returning the messages to send (`agentkit.history` has
            built-ins; see docs/context.md). They run in order before each request; only what is sent
            changes, never the transcript. Then every request is fitted to the model's context window.
    """

    def __init__(
        self,
        model: Model | str | None = None,
        *,
        fallback_models: Sequence[Model | str] = (),
        instructions: Instructions | None = None,
        tools: Sequence[Tool[..., Any] | Callable[..., Any]] = (),
        toolsets: Sequence[Toolset] = (),
        output_type: type[OutputT] = str,  # type: ignore[assignment]
        output_mode: OutputMode | None = None,
        deps_type: type[DepsT] = _NONE_TYPE,  # type: ignore[assignment]
        max_turns: int = 20,
        model_settings: ModelSettings | None = None,
        usage_limits: UsageLimits | None = None,
        retries: int = 2,
        output_retries: int | None = None,
        raise_tool_errors: bool = False,
        name: str | None = None,
        hooks: Sequence[object] = (),
        prepare_tools: PrepareTools | None = None,
        history_processors: Sequence[HistoryProcessor] = (),
    ) -> None:
        _check_max_turns(max_turns)
        if retries < 0 or (output_retries is not None and output_retries < 0):
            raise UserError("retries and output_retries must be >= 0.")
        self._model_arg = model
        if model is not None and not isinstance(model, (Model, str)):
            raise UserError(f"model must be a Model or a model id string, not {type(model).__name__}.")
        self._fallback_models = (
            [fallback_models] if isinstance(fallback_models, str) else list(fallback_models)
        )
        if not all(isinstance(m, (Model, str)) for m in self._fallback_models):
            raise UserError("fallback_models must be Models or model id strings.")
        self._model: Model | None = model if isinstance(model, Model) and not self._fallback_models else None
        self.instructions = instructions
        split_instructions(instructions)  # checked now
        self.hooks: list[object] = hook_list(hooks)
        self._hooks_key = tuple(self.hooks)
        self._hooks: HookRunner | None = build_runner(self._hooks_key)
        if prepare_tools is not None and not callable(prepare_tools):
            raise UserError("prepare_tools must be a function (ctx, tools) -> tools.")
        self.prepare_tools = prepare_tools
        self.tools: dict[str, Tool[..., Any]] = _index_tools(tools)
        if not all(isinstance(t, Toolset) for t in toolsets):
            raise UserError("toolsets must be Toolset instances (tools go in tools=[...]).")
        self.toolsets: list[Toolset] = list(toolsets)
        self._toolset_stacks: list[AsyncExitStack] = []
        self.output_type = output_type
        self.output_mode = output_mode
        self._output = OutputSpec.build(output_type, mode=output_mode)
        self.deps_type = deps_type
        self.max_turns = max_turns
        self.model_settings = model_settings or ModelSettings()
        self.usage_limits = usage_limits or UsageLimits()
        self.retries = retries
        self.output_retries = retries if output_retries is None else output_retries
        self.raise_tool_errors = raise_tool_errors
        self.name = name
        self._processors = prepare_processors(history_processors, "Agent(history_processors=...)")

    @property
    def history_processors(self) -> list[HistoryProcessor]:
        """The agent's history processors, in order (a copy: give others to a run with `history_processors=`)."""
        return [p.function for p in self._processors]

    @property
    def model(self) -> Model:
        """The model, resolved on first use (so the environment is read when the agent first runs)."""
        if self._model is None:
            model = infer_model(self._model_arg)
            if self._fallback_models:
                from .models.fallback import FallbackModel

                model = FallbackModel(model, *self._fallback_models)
            self._model = model
        return self._model

    async def __aenter__(self) -> Agent[DepsT, OutputT]:
        """Start the agent's toolsets (MCP servers...) once for the runs inside the `async with` (which may
        nest, or be entered by several tasks: each entry is left by its own exit)."""
        async with AsyncExitStack() as stack:
            for toolset in self.toolsets:
                await stack.enter_async_context(toolset)
            self._toolset_stacks.append(stack.pop_all())
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._toolset_stacks.pop().aclose()

    def as_tool(
        self,
        *,
        name: str | None = None,
        description: str | None = None,
        retries: int | None = None,
        timeout: float | None = None,
        requires_approval: bool = False,
    ) -> Tool[..., Any]:
        """This agent as a tool another agent calls with a task (text), returning this agent's output.

        The sub-run's usage (tokens, cost, requests) adds, live, to the calling run's, and the calling run's
        limits count it; its events appear in the caller's stream as `events.SubAgentEvent`; its transcript
        is kept on the caller's `ToolMessage.transcript`; it gets the caller's `deps` and `approve`
        callback. If it fails, the calling model gets a tool error saying why.

        Args:
            name: The tool's name; defaults to the agent's `name` (one of them is needed).
            description: What the calling model is told the agent does.
            retries: Failed sub-runs in a row tolerated (as for any tool).
            timeout: Seconds the sub-run may take.
            requires_approval: A person must approve each delegation.
        """
        from ._run.agent_tool import agent_tool

        def start(task: str, options: dict[str, Any]) -> tuple[RunSpec[OutputT], RunState]:
            stream = options.pop("stream")
            return self._start(task, options, stream=stream)  # type: ignore[arg-type]

        return agent_tool(
            start,
            name=name or self.name,
            description=description,
            retries=retries,
            timeout=timeout,
            requires_approval=requires_approval,
        )

    def to_web(
        self,
        *,
        session_db: str | Path | None = None,
        token: str | None = None,
        ag_ui: bool = False,
        deps: DepsT | None = None,
    ) -> Starlette:
        """A web page to talk to this agent and watch it work, as an ASGI app (needs the `web` extra).

        Args:
            session_db: The SQLite file chats are kept in (default: `web-sessions.db` in agentkit's cache
                folder).
            token: The token every request must carry (default: a random one); `app.state.token` holds it.
            ag_ui: Serve the AG-UI endpoint (`to_ag_ui()`) at `/ag-ui` too.
            deps: The `deps` of every run.

        Serve it with `agentkit.web.serve(app)` or any ASGI server; see docs/web.md.
        """
        from .web import web_app

        return web_app(self, session_db=session_db, token=token, ag_ui=ag_ui, deps=deps)

    def to_ag_ui(self, *, deps: DepsT | None = None) -> Starlette:
        """An AG-UI endpoint for this agent, as an ASGI app (needs the `web` extra): POST a `RunAgentInput`
        to `/`, read the protocol's events over SSE (docs/web.md). It checks no token: mount it behind
        your own authentication, or use `to_web(ag_ui=True)`."""
        from .web import ag_ui_app

        return ag_ui_app(self, deps=deps)

    def __repr__(self) -> str:
        name = f"name={self.name!r}, " if self.name else ""
        return f"Agent({name}model={self._model_arg!r}, tools={list(self.tools)}, output_type={self.output_type!r})"

    async def run(
        self, prompt: str | Sequence[ContentPart] | None, **options: Unpack[RunOptions[DepsT]]
    ) -> RunResult[OutputT]:
        """Run the agent on `prompt` to a final answer.

        Args:
            prompt: The user's message: text or text and image parts. `None` continues `message_history` as is.
            **options: `deps` (for tools: `ctx.deps`), `message_history` (an earlier transcript,
                `result.messages`, to continue), `model_settings` (merged over the agent's), `usage_limits`
                (instead of the agent's), `model` (another model for this run), `max_turns`, `approvals`
                (decisions on the calls `message_history` ends with, waiting for approval: `{call_id: True}`
                runs one, `False` or a reason denies it, and the model reads the reason), `approve` (a
                function of a `ToolCall` deciding the same way as calls come; without it, calls of tools
                with `requires_approval` stop the run: see `RunResult.pending_approvals`), `session` (an
                `agentkit.sessions.Session`: its messages are the history, and the run's new messages are
                appended to it step by step), `hooks` (hook objects and guardrails for this run, called after
                the agent's: see `agentkit.hooks`), `history_processors` (instead of the agent's, for this
                run).

        Raises:
            UserError: Misuse, such as a missing API key (before any request).
            AgentRunError: The run failed; the exception's `messages` keep the transcript.
        """
        spec, state = self._start(prompt, options, stream=False)
        async with aclosing(traced_run(spec, state)) as events:
            async for event in events:
                if isinstance(event, RunFinished):
                    result: RunResult[OutputT] = event.result
                    return result
        raise AssertionError("the run ended without RunFinished")  # pragma: no cover

    def run_stream(
        self, prompt: str | Sequence[ContentPart] | None, **options: Unpack[RunOptions[DepsT]]
    ) -> RunStream[OutputT]:
        """Run the agent and watch it: `async with agent.run_stream(prompt) as stream: async for event in stream`.

        Takes `run()`'s options. Text and tool calls stream as the model writes them (`agentkit.events`);
        after the iteration `stream.result` is the `RunResult` that `run()` would return. Leaving the
        `async with` early cancels the request and any running async tools (a sync tool finishes in its
        thread, its result dropped); `stream.messages` keeps the transcript.
        """
        spec, state = self._start(prompt, options, stream=True)
        return RunStream(traced_run(spec, state), state)

    def run_sync(
        self, prompt: str | Sequence[ContentPart] | None, **options: Unpack[RunOptions[DepsT]]
    ) -> RunResult[OutputT]:
        """`run()` for code without an event loop (scripts, batch jobs); takes the same options.

        Every synchronous run of the process shares one background event loop, so HTTP connections are
        reused from call to call.
        """
        from ._support.sync import run_sync

        return run_sync(self.run(prompt, **options))

    def run_stream_sync(
        self, prompt: str | Sequence[ContentPart] | None, **options: Unpack[RunOptions[DepsT]]
    ) -> Iterator[Event]:
        """`run_stream()` for code without an event loop: a generator of the same events, ending with
        `RunFinished` (its `result` is the `RunResult`). Closing the generator early cancels the run."""
        from ._support.sync import is_closing, run_sync

        stream = self.run_stream(prompt, **options)
        try:
            while True:
                try:
                    yield run_sync(stream.__anext__())
                except StopAsyncIteration:
                    return
        finally:
            if not stream.is_finished and not is_closing():
                run_sync(stream.aclose())

    def _start(
        self, prompt: str | Sequence[ContentPart] | None, options: RunOptions[DepsT], *, stream: bool
    ) -> tuple[RunSpec[OutputT], RunState]:
        history = list(options.get("message_history") or ())
        session = options.get("session")
        if session is not None and history:
            raise UserError("Give a session or a message_history, not both: the session holds the history.")
        if prompt is None and not history and session is None:
            raise UserError("Give a prompt, or a message_history (or a session) to continue.")
        content = prompt if prompt is None or isinstance(prompt, str) else list(prompt)
        instructions, dynamic = split_instructions(self.instructions)
        messages, new_index, added = start_messages(instructions, history, content)
        chosen = options.get("model")
        max_turns = options.get("max_turns")
        max_turns = self.max_turns if max_turns is None else max_turns
        _check_max_turns(max_turns)
        model = infer_model(chosen) if chosen is not None else self.model
        spec = RunSpec(
            model=model,
            tools=self.tools,
            output=self._output,
            settings=self.model_settings.merged(options.get("model_settings")),
            limits=options.get("usage_limits") or self.usage_limits,
            max_turns=max_turns,
            retries=self.retries,
            output_retries=self.output_retries,
            raise_tool_errors=self.raise_tool_errors,
            deps=options.get("deps"),
            name=self.name,
            stream=stream,
            toolsets=self.toolsets,
            approve=options.get("approve"),
            session=session,
            hooks=self._run_hooks(options.get("hooks"), model.profile.policy),
            instructions=dynamic,
            prepare_tools=self.prepare_tools,
            history_processors=self._run_processors(options.get("history_processors")),
        )
        state = new_state(spec, messages, new_index, instructions_added=added)
        # the session's messages are loaded, and the approvals checked, when the run starts
        state.opening = Opening(
            instructions=instructions,
            prompt=content,
            approvals=options.get("approvals"),
            has_callback=options.get("approve") is not None,
        )
        return spec, state

    def _run_hooks(self, hooks: Sequence[object] | None, policy: RunHooks | None) -> HookRunner | None:
        """The hooks the model's profile installs for this run (`ModelProfile.policy`, made anew for each
        run), the agent's (their methods found once, again if `agent.hooks` changes), then the run's."""
        key = tuple(self.hooks)
        if key != self._hooks_key:
            self._hooks_key, self._hooks = key, build_runner(key)
        installed = hook_list(policy()) if policy is not None else []
        given = hook_list(hooks) if hooks is not None else []
        if not given and not installed:
            return self._hooks
        return build_runner([*installed, *key, *given])

    def _run_processors(self, given: Sequence[HistoryProcessor] | None) -> tuple[Processor, ...]:
        if given is None:
            return self._processors
        return prepare_processors(given, "run(history_processors=...)")


def _check_max_turns(max_turns: int) -> None:
    if max_turns < 1:
        raise UserError(f"max_turns must be at least 1, not {max_turns}.")


def _index_tools(tools: Sequence[Tool[..., Any] | Callable[..., Any]]) -> dict[str, Tool[..., Any]]:
    index: dict[str, Tool[..., Any]] = {}
    for item in tools:
        tool = item if isinstance(item, Tool) else Tool(item)
        if tool.name in index:
            raise UserError(
                f"Two tools are named {tool.name!r}; tool names must be unique. Rename one with @tool(name=...)."
            )
        from ._run.output import FINAL_RESULT_TOOL

        if tool.name == FINAL_RESULT_TOOL:
            raise UserError(
                f"The tool name {FINAL_RESULT_TOOL!r} is reserved for structured output; rename the tool."
            )
        index[tool.name] = tool
    return index
