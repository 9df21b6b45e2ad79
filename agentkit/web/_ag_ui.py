"""`agent.to_ag_ui()`: the AG-UI protocol (`ag-ui-protocol`'s types and encoder) over a run's events.

POST a `RunAgentInput` (JSON); the answer is SSE of AG-UI events:

```
RUN_STARTED
STATE_SNAPSHOT                     the run's deps, when given as JSON-able state (again before RUN_FINISHED)
REASONING_START / REASONING_MESSAGE_START / _CONTENT... / _END / REASONING_END     where the model thinks
TEXT_MESSAGE_START / _CONTENT... / _END                                            each turn's text
TOOL_CALL_START / _ARGS / _END     each call of the turn, with the arguments as agentkit validated them
TOOL_CALL_RESULT                   each call's result
SUBAGENT_STARTED / _FINISHED / _ERROR   around a sub-agent's run (`Agent.as_tool`), its events carrying its
                                   subagentRunId
RUN_FINISHED                       success (front-end calls left to the client in pendingToolCallIds), or
                                   outcome interrupt: calls waiting for approval
RUN_ERROR                          the run failed (its message, and the error type as code)
```
- Front-end tools (`RunAgentInput.tools`) are offered to the model beside the agent's; a call of one is not
  run here: the run ends with it in `pendingToolCallIds`, and the client answers it with a tool message in
  its next input.
- Approvals are the protocol's interrupts: a call of a `requires_approval` tool ends the run with outcome
  `interrupt` (one `Interrupt` per call, `reason="tool_approval"`, `id` and `toolCallId` the call's id);
  the next input's `resume` entries decide them: `status: "resolved"` with `payload: {"approved": true}`
  runs the call, `{"approved": false, "reason": "..."}` or `status: "cancelled"` denies it.
- The agent's instructions are the server's: the client's system and developer messages, `context`,
  reasoning and activity messages are not passed to the model.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

from ag_ui import core as ag
from ag_ui.encoder import EventEncoder
from pydantic import ValidationError
from pydantic_core import to_jsonable_python
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from .._run.approval import Decision
from ..events import (
    ApprovalRequired,
    Event,
    ResponseFinished,
    RunFinished,
    SubAgentEvent,
    TextDelta,
    ThinkingDelta,
    ToolCallFinished,
)
from ..exceptions import UserError
from ..messages import (
    AssistantMessage,
    ContentPart,
    DocumentPart,
    ImagePart,
    Message,
    TextPart,
    ToolCall,
    ToolMessage,
    UserMessage,
)
from ..tool import Tool
from ..usage import Usage

if TYPE_CHECKING:
    from ..agent import Agent

__all__ = ["ag_ui_app", "to_messages"]

PROTOCOL_VERSION = "1.0"


def to_messages(messages: Sequence[ag.Message]) -> list[Message]:
    """AG-UI messages as an agentkit transcript (system, developer, reasoning and activity ones left out).

    Raises:
        UserError: A content part agentkit cannot send (video, or a file by id).
    """
    names: dict[str, str] = {}
    out: list[Message] = []
    for message in messages:
        if isinstance(message, ag.UserMessage):
            out.append(UserMessage(content=_user_content(message.content)))
        elif isinstance(message, ag.AssistantMessage):
            calls = [
                ToolCall(id=c.id, name=c.function.name, arguments=c.function.arguments)
                for c in message.tool_calls or ()
            ]
            names.update((c.id, c.name) for c in calls)
            out.append(AssistantMessage(content=message.content or "", tool_calls=calls))
        elif isinstance(message, ag.ToolMessage):
            content = message.content if isinstance(message.content, str) else _text_of(message.content)
            out.append(
                ToolMessage(
                    tool_call_id=message.tool_call_id,
                    name=names.get(message.tool_call_id, "tool"),
                    content=f"{content}\n{message.error}".strip() if message.error else content,
                    is_error=message.error is not None,
                )
            )
    return out


def _text_of(parts: Sequence[Any]) -> str:
    return "\n".join(p.text for p in parts if isinstance(p, ag.TextPart))


def _user_content(content: str | Sequence[Any]) -> str | list[ContentPart]:
    if isinstance(content, str):
        return content
    parts: list[ContentPart] = []
    for part in content:
        if isinstance(part, ag.TextPart):
            parts.append(TextPart(text=part.text))
        elif isinstance(part, (ag.ImagePart, ag.DocumentPart)):
            source = part.source
            if isinstance(source, ag.DataSource):
                url = f"data:{source.mime_type};base64,{source.value}"
            elif isinstance(source, ag.UrlSource):
                url = source.value
            else:
                raise UserError(
                    f"a {part.type} part by file id cannot be sent: send its data or an https URL"
                )
            parts.append(ImagePart(url=url) if isinstance(part, ag.ImagePart) else DocumentPart(url=url))
        else:
            raise UserError(f"agentkit cannot send a {getattr(part, 'type', 'unknown')} part to the model")
    return parts


def _decisions(resume: Sequence[ag.ResumeEntry] | None) -> dict[str, Decision]:
    decisions: dict[str, Decision] = {}
    for entry in resume or ():
        payload = entry.payload if isinstance(entry.payload, dict) else {}
        if entry.status == "resolved" and payload.get("approved") is True:
            decisions[entry.interrupt_id] = True
        else:
            reason = payload.get("reason")
            decisions[entry.interrupt_id] = reason if isinstance(reason, str) and reason.strip() else False
    return decisions


def _front_end_tool(spec: ag.Tool) -> Tool[..., Any]:
    def handed_back(**_: Any) -> str:  # pragma: no cover - never runs: the call waits for the client
        raise UserError(f"{spec.name} is a front-end tool: the client runs it")

    return Tool.from_schema(
        handed_back,
        name=spec.name,
        description=spec.description,
        parameters=spec.parameters or {"type": "object", "properties": {}},
        requires_approval=True,
    )


def _with_tools(agent: Agent[Any, Any], tools: Sequence[Tool[..., Any]]) -> Agent[Any, Any]:
    """The agent, with the client's front-end tools beside its own (a copy sharing its model and settings)."""
    if not tools:
        return agent
    from ..agent import Agent

    clash = sorted(set(agent.tools) & {t.name for t in tools})
    if clash:
        raise UserError(f"front-end tools {', '.join(clash)} have the names of the agent's own tools")
    return Agent(
        agent.model,
        instructions=agent.instructions,
        tools=[*agent.tools.values(), *tools],
        toolsets=agent.toolsets,
        output_type=agent.output_type,
        output_mode=agent.output_mode,
        deps_type=agent.deps_type,
        max_turns=agent.max_turns,
        model_settings=agent.model_settings,
        usage_limits=agent.usage_limits,
        retries=agent.retries,
        output_retries=agent.output_retries,
        raise_tool_errors=agent.raise_tool_errors,
        name=agent.name,
        hooks=agent.hooks,
        prepare_tools=agent.prepare_tools,
    )


class _Translator:
    """A run's events as AG-UI events: opens and closes the reasoning and text messages around the deltas."""

    def __init__(self, front_end: set[str], *, subagent_run_id: str | None = None) -> None:
        self.front_end = front_end
        self.subagent_run_id = subagent_run_id
        """The sub-agent invocation whose events these are (`None`: the run's own)."""
        self.message_id = uuid.uuid4().hex
        self.text_open = False
        self.reasoning_id: str | None = None
        self.waiting: list[ToolCall] = []
        self.handed_back: list[str] = []
        self.subagents: dict[str, tuple[str, _Translator]] = {}
        """The sub-agents running or run (their run id, their translator), by the call that runs them."""
        self.finished_subagents: set[str] = set()

    def events(self, event: Event) -> list[ag.BaseEvent]:
        """The AG-UI events of one run event, attributed to this translator's sub-agent, if any."""
        out = self._events(event)
        if self.subagent_run_id is None:
            return out
        update = {"subagent_run_id": self.subagent_run_id}
        return [e.model_copy(update=update) if "subagent_run_id" in type(e).model_fields else e for e in out]

    def _subagent(self, event: SubAgentEvent) -> list[ag.BaseEvent]:
        """A sub-agent's event: `SUBAGENT_STARTED` first, its own events attributed to it, then
        `SUBAGENT_FINISHED` (or `SUBAGENT_ERROR`, when its call ends without it finishing)."""
        key = event.tool_call_id or event.agent_name
        out: list[ag.BaseEvent] = []
        if key not in self.subagents:
            run_id = uuid.uuid4().hex
            self.subagents[key] = run_id, _Translator(set(), subagent_run_id=run_id)
            out.append(
                ag.SubagentStartedEvent(
                    subagent_run_id=run_id,
                    name=event.agent_name,
                    parent_subagent_run_id=self.subagent_run_id,
                    parent_tool_call_id=event.tool_call_id,
                )
            )
        run_id, child = self.subagents[key]
        out += child.events(event.event)
        if isinstance(event.event, RunFinished):
            self.finished_subagents.add(key)
            result = event.event.result.output
            out.append(
                ag.SubagentFinishedEvent(
                    subagent_run_id=run_id,
                    result=None if result is None else to_jsonable_python(result, fallback=repr),
                    outcome=ag.SubagentFinishedSuccessOutcome(),
                )
            )
        return out

    def _events(self, event: Event) -> list[ag.BaseEvent]:
        if isinstance(event, SubAgentEvent):
            return self._subagent(event)
        if isinstance(event, ThinkingDelta):
            out = self._close_text()
            if self.reasoning_id is None:
                self.reasoning_id = uuid.uuid4().hex
                out += [
                    ag.ReasoningStartEvent(message_id=self.reasoning_id),
                    ag.ReasoningMessageStartEvent(message_id=self.reasoning_id, role="reasoning"),
                ]
            return [*out, ag.ReasoningMessageContentEvent(message_id=self.reasoning_id, delta=event.text)]
        if isinstance(event, TextDelta):
            out = self._close_reasoning()
            if not self.text_open:
                self.text_open = True
                out.append(ag.TextMessageStartEvent(message_id=self.message_id, role="assistant"))
            return (
                [*out, ag.TextMessageContentEvent(message_id=self.message_id, delta=event.text)]
                if event.text
                else out
            )
        if isinstance(event, ResponseFinished):
            out = self._close_reasoning() + self._close_text()
            for call in event.message.tool_calls:
                out += [
                    ag.ToolCallStartEvent(
                        tool_call_id=call.id, tool_call_name=call.name, parent_message_id=self.message_id
                    ),
                    ag.ToolCallArgsEvent(tool_call_id=call.id, delta=call.arguments),
                    ag.ToolCallEndEvent(tool_call_id=call.id),
                ]
            self.message_id = uuid.uuid4().hex
            return out
        if isinstance(event, ToolCallFinished):
            message = event.message
            out = []
            running = self.subagents.get(message.tool_call_id)
            if running is not None and message.tool_call_id not in self.finished_subagents:
                out.append(ag.SubagentErrorEvent(subagent_run_id=running[0], message=message.content))
            return [
                *out,
                ag.ToolCallResultEvent(
                    message_id=uuid.uuid4().hex,
                    tool_call_id=message.tool_call_id,
                    content=message.content,
                    role="tool",
                ),
            ]
        if isinstance(event, ApprovalRequired):
            if event.call.name in self.front_end:
                self.handed_back.append(event.call.id)
            else:
                self.waiting.append(event.call)
        return []

    def finished(self, thread_id: str, run_id: str, event: RunFinished[Any]) -> ag.RunFinishedEvent:
        outcome: ag.RunFinishedOutcome
        if self.waiting:
            outcome = ag.RunFinishedInterruptOutcome(
                interrupts=[
                    ag.Interrupt(
                        id=call.id,
                        reason="tool_approval",
                        message=f"Run {call.name}({call.arguments})?",
                        tool_call_id=call.id,
                        response_schema=_APPROVAL_SCHEMA,
                    )
                    for call in self.waiting
                ]
            )
        else:
            outcome = ag.RunFinishedSuccessOutcome(pending_tool_call_ids=self.handed_back or None)
        output = event.result.output
        return ag.RunFinishedEvent(
            thread_id=thread_id,
            run_id=run_id,
            result=None if output is None else to_jsonable_python(output, fallback=repr),
            outcome=outcome,
            usage=_usage(event.result.messages, event.result.usage),
        )

    def _close_text(self) -> list[ag.BaseEvent]:
        if not self.text_open:
            return []
        self.text_open = False
        return [ag.TextMessageEndEvent(message_id=self.message_id)]

    def _close_reasoning(self) -> list[ag.BaseEvent]:
        if self.reasoning_id is None:
            return []
        rid, self.reasoning_id = self.reasoning_id, None
        return [ag.ReasoningMessageEndEvent(message_id=rid), ag.ReasoningEndEvent(message_id=rid)]


_APPROVAL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"approved": {"type": "boolean"}, "reason": {"type": "string"}},
    "required": ["approved"],
}


def _usage(messages: Sequence[Message], total: Usage) -> list[ag.TokenUsage]:
    models = {m.model_name for m in messages if isinstance(m, AssistantMessage) and m.usage is not None}
    model = next(iter(models)) if len(models) == 1 else None
    return [
        ag.TokenUsage(
            model=model,
            input_tokens=total.input_tokens,
            output_tokens=total.output_tokens,
            total_tokens=total.total_tokens,
            reasoning_tokens=total.reasoning_tokens or None,
            cached_input_tokens=total.cached_input_tokens or None,
        )
    ]


async def _run(agent: Agent[Any, Any], run_input: ag.RunAgentInput, deps: Any) -> AsyncIterator[ag.BaseEvent]:
    thread_id, run_id = run_input.thread_id, run_input.run_id
    yield ag.RunStartedEvent(thread_id=thread_id, run_id=run_id, protocol_version=PROTOCOL_VERSION)
    state = _state(deps)
    if state is not None:
        yield ag.StateSnapshotEvent(snapshot=state)
    try:
        front_end = [_front_end_tool(t) for t in run_input.tools or ()]
        runner = _with_tools(agent, front_end)
        history = to_messages(run_input.messages)
        options: dict[str, Any] = {"message_history": history, "approvals": _decisions(run_input.resume)}
        if deps is not None:
            options["deps"] = deps
        translator = _Translator({t.name for t in front_end})
        async with runner.run_stream(None, **options) as stream:
            async for event in stream:
                for out in translator.events(event):
                    yield out
                if isinstance(event, RunFinished):
                    state = _state(deps)
                    if state is not None:
                        yield ag.StateSnapshotEvent(snapshot=state)
                    yield translator.finished(thread_id, run_id, event)
    except Exception as exc:  # every failure ends the stream with RUN_ERROR
        yield ag.RunErrorEvent(message=str(exc) or type(exc).__name__, code=type(exc).__name__)


def _state(deps: Any) -> Any:
    if deps is None:
        return None
    try:
        return to_jsonable_python(deps)
    except Exception:  # deps that are no JSON (a client, a connection) are not state
        return None


def ag_ui_app(agent: Agent[Any, Any], *, deps: Any = None) -> Starlette:
    """The AG-UI endpoint's ASGI app (what `Agent.to_ag_ui` returns): POST a `RunAgentInput` to `/`."""
    encoder = EventEncoder()

    async def endpoint(request: Request) -> Response:
        try:
            run_input = ag.RunAgentInput.model_validate_json(await request.body())
        except ValidationError as exc:
            return JSONResponse(
                {"error": f"not a RunAgentInput: {exc.errors()[0]['msg']}", "errors": json.loads(exc.json())},
                status_code=422,
            )

        async def stream() -> AsyncIterator[str]:
            async for event in _run(agent, run_input, deps):
                yield encoder.encode(event)

        return StreamingResponse(
            stream(), media_type=encoder.get_content_type(), headers={"cache-control": "no-store"}
        )

    return Starlette(routes=[Route("/", endpoint, methods=["POST"])])
