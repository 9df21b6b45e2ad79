from __future__ import annotations

import dataclasses
import json
import pickle
from typing import Any

import pytest

from agentkit import (
    Agent,
    AssistantMessage,
    RunContext,
    ToolCall,
    ToolMessage,
    Usage,
    UsageLimitExceeded,
    UsageLimits,
    UserError,
    messages_from_json,
    messages_to_json,
    tool,
)
from agentkit.events import RunFinished, SubAgentEvent, TextDelta, ToolCallFinished
from agentkit.testing import ScriptedModel, tool_call_response


@tool
def word_count(text: str) -> int:
    """Count the words of a text."""
    return len(text.split())


def priced(text: str, cost: float, tokens: int = 10) -> AssistantMessage:
    return AssistantMessage(
        content=text, usage=Usage(requests=1, input_tokens=tokens, output_tokens=tokens, cost_usd=cost)
    )


def priced_call(name: str, args: dict[str, Any], cost: float) -> AssistantMessage:
    message = tool_call_response(name, args)
    message.usage = Usage(requests=1, input_tokens=10, output_tokens=10, cost_usd=cost)
    return message


seen: list[float] = []


@tool
def spent(ctx: RunContext[None]) -> float:
    """The dollars spent so far."""
    seen.append(ctx.usage.cost_usd)
    return ctx.usage.cost_usd


def writer_and_editor(
    writer_script: list[Any], editor_script: list[Any], **options: Any
) -> tuple[Agent[Any, Any], ScriptedModel, ScriptedModel]:
    writer_model = ScriptedModel(writer_script, model_name="writer-model")
    writer = Agent(writer_model, name="writer", tools=[word_count], **options)
    editor_model = ScriptedModel(editor_script, model_name="editor-model")
    editor = Agent(editor_model, name="editor", tools=[writer.as_tool(description="Writes text.")])
    return editor, writer_model, editor_model


def test_the_sub_run_answers_and_its_usage_rolls_up() -> None:
    editor, writer_model, _ = writer_and_editor(
        [priced_call("word_count", {"text": "a b c"}, 0.01), priced("A haiku of 3 words.", 0.02)],
        [priced_call("writer", {"task": "Write a haiku"}, 0.1), priced("Here it is.", 0.2)],
    )
    result = editor.run_sync("Get me a haiku")
    assert result.output == "Here it is."
    writer_model.assert_all_used()
    assert writer_model.requests[0].messages[-1].content == "Write a haiku"  # type: ignore[union-attr]
    # the parent's usage holds its own two requests and the writer's two, and both runs' tool calls
    assert result.usage.requests == 4 and result.usage.tool_calls == 2
    assert result.usage.cost_usd == pytest.approx(0.33)
    assert result.usage.input_tokens == 40
    answer = result.messages[2]
    assert isinstance(answer, ToolMessage) and answer.content == "A haiku of 3 words."
    assert answer.transcript is not None and answer.transcript[-1].content == "A haiku of 3 words."
    assert isinstance(answer.transcript[1], AssistantMessage) and answer.transcript[1].tool_calls


def test_the_sub_runs_usage_is_live_for_the_parents_tools() -> None:
    seen.clear()
    writer = Agent(ScriptedModel([priced("done", 0.5)]), name="writer")
    model = ScriptedModel(
        [priced_call("writer", {"task": "t"}, 0.1), priced_call("spent", {}, 0.1), priced("end", 0.1)]
    )
    Agent(model, tools=[writer.as_tool(), spent]).run_sync("go")
    assert seen == [pytest.approx(0.7)]


def test_the_parents_limits_count_the_sub_run() -> None:
    editor, _, editor_model = writer_and_editor(
        [priced("expensive", 5.0)],
        [priced_call("writer", {"task": "t"}, 0.1), priced("never", 0.1)],
    )
    with pytest.raises(UsageLimitExceeded, match="cost_usd_limit") as caught:
        editor.run_sync("go", usage_limits=UsageLimits(cost_usd_limit=1.0))
    # the writer spent the editor's budget: the editor's run ends too, with its own transcript, asking no more
    assert len(editor_model.requests) == 1
    assert "cost_usd_limit of 1.0 exceeded (5.1 used)" in str(caught.value)
    last = caught.value.messages[-1]
    assert isinstance(last, AssistantMessage) and last.tool_calls[0].name == "writer"
    assert caught.value.usage is not None and caught.value.usage.cost_usd == pytest.approx(5.1)


def test_a_sub_agent_over_its_own_limit_is_a_tool_error() -> None:
    writer = Agent(
        ScriptedModel([priced("expensive", 5.0)]), name="writer", usage_limits=UsageLimits(cost_usd_limit=1.0)
    )
    editor_model = ScriptedModel(
        [priced_call("writer", {"task": "t"}, 0.1), priced("It cost too much.", 0.1)]
    )
    result = Agent(editor_model, tools=[writer.as_tool()]).run_sync("go")
    assert result.output == "It cost too much."
    error = result.messages[2]
    assert isinstance(error, ToolMessage) and error.is_error and "writer agent failed" in error.content


def test_a_sub_agent_failure_is_a_tool_error_for_the_parent() -> None:
    editor, _, editor_model = writer_and_editor(
        [AssistantMessage(content="")] * 3,
        [priced_call("writer", {"task": "t"}, 0.0), "The writer failed, sorry."],
    )
    result = editor.run_sync("go")
    assert result.output == "The writer failed, sorry."
    error = result.messages[2]
    assert isinstance(error, ToolMessage) and error.is_error
    assert error.content.startswith("The writer agent failed: The model returned an empty response")
    assert error.transcript is not None and len(error.transcript) >= 2
    assert error in editor_model.requests[1].messages


async def test_events_appear_nested_with_the_agents_name() -> None:
    editor, _, _ = writer_and_editor(
        [priced_call("word_count", {"text": "a b"}, 0.0), priced("two words", 0.0)],
        [priced_call("writer", {"task": "t"}, 0.0), priced("done", 0.0)],
    )
    async with editor.run_stream("go") as stream:
        events = [e async for e in stream]
    nested = [e for e in events if isinstance(e, SubAgentEvent)]
    assert {e.agent_name for e in nested} == {"writer"}
    call_id = nested[0].tool_call_id
    assert call_id is not None and all(e.tool_call_id == call_id for e in nested)
    kinds = [e.event.kind for e in nested]
    assert kinds[0] == "request_started" and kinds[-1] == "run_finished"
    assert "tool_call_started" in kinds and "text_delta" in kinds  # the sub-run streams too
    assert "".join(e.event.text for e in nested if isinstance(e.event, TextDelta)) == "two words"
    # the nested events come before the parent's ToolCallFinished of that call
    finished = next(i for i, e in enumerate(events) if isinstance(e, ToolCallFinished))
    assert max(i for i, e in enumerate(events) if isinstance(e, SubAgentEvent)) < finished
    assert isinstance(nested[-1].event, RunFinished) and nested[-1].event.result.output == "two words"


def test_sub_agents_nest_two_levels() -> None:
    inner = Agent(ScriptedModel([priced("inner done", 1.0)]), name="inner")
    middle = Agent(
        ScriptedModel([priced_call("inner", {"task": "x"}, 1.0), priced("middle done", 1.0)]),
        name="middle",
        tools=[inner.as_tool()],
    )
    outer = Agent(
        ScriptedModel([priced_call("middle", {"task": "y"}, 1.0), priced("outer done", 1.0)]),
        tools=[middle.as_tool()],
    )
    events = list(outer.run_stream_sync("go"))
    result = events[-1].result  # type: ignore[union-attr]
    assert result.usage.cost_usd == pytest.approx(5.0) and result.usage.requests == 5
    doubly = [
        e.event.event for e in events if isinstance(e, SubAgentEvent) and isinstance(e.event, SubAgentEvent)
    ]
    assert doubly and doubly[-1].kind == "run_finished"


def test_pending_approval_inside_a_sub_agent_is_a_tool_error() -> None:
    @tool(requires_approval=True)
    def pay(amount: int) -> str:
        """Pay."""
        return "paid"

    payer = Agent(ScriptedModel([tool_call_response("pay", {"amount": 5})]), name="payer", tools=[pay])
    model = ScriptedModel([tool_call_response("payer", {"task": "pay 5"}), "could not pay"])
    result = Agent(model, tools=[payer.as_tool()]).run_sync("go")
    error = result.messages[2]
    assert isinstance(error, ToolMessage) and "need a person's approval" in error.content


def test_the_callers_approve_callback_reaches_the_sub_agent() -> None:
    @tool(requires_approval=True)
    def pay(amount: int) -> str:
        """Pay."""
        return f"paid {amount}"

    asked: list[ToolCall] = []
    payer = Agent(
        ScriptedModel([tool_call_response("pay", {"amount": 5}), "paid"]), name="payer", tools=[pay]
    )
    model = ScriptedModel([tool_call_response("payer", {"task": "pay 5"}), "done"])
    Agent(model, tools=[payer.as_tool()]).run_sync("go", approve=lambda call: asked.append(call) or True)
    assert [c.name for c in asked] == ["pay"]


def test_transcript_round_trips_through_json() -> None:
    editor, _, _ = writer_and_editor(
        [priced("text", 0.0)], [priced_call("writer", {"task": "t"}, 0.0), priced("done", 0.0)]
    )
    messages = editor.run_sync("go").messages
    loaded = messages_from_json(messages_to_json(messages))
    assert loaded == messages
    assert json.loads(messages_to_json(messages))[2]["transcript"][-1]["content"] == "text"


def test_a_name_is_needed() -> None:
    with pytest.raises(UserError, match="Name the tool"):
        Agent(ScriptedModel([])).as_tool()
    assert Agent(ScriptedModel([])).as_tool(name="helper").name == "helper"


async def test_a_sub_agents_events_arrive_as_they_happen() -> None:
    import asyncio

    from agentkit.testing import FunctionModel

    seen_result = asyncio.Event()

    async def answer_once_the_result_was_seen(messages: list[Any], info: Any) -> Any:
        if info.request_index == 0:
            return tool_call_response("word_count", {"text": "a b"})
        # the sub-run's second request waits until the parent's consumer has seen the sub-run's tool result:
        # events held back until the sub-run's next event would leave it waiting here
        try:
            await asyncio.wait_for(seen_result.wait(), 5)
        except asyncio.TimeoutError:
            return "the tool result was held back"
        return "two words"

    writer = Agent(FunctionModel(answer_once_the_result_was_seen), name="writer", tools=[word_count])
    editor = Agent(
        ScriptedModel([tool_call_response("writer", {"task": "t"}), "done"]), tools=[writer.as_tool()]
    )
    async with editor.run_stream("go") as stream:
        async for event in stream:
            if isinstance(event, SubAgentEvent):
                if event.event.kind == "tool_call_finished":
                    seen_result.set()
                await asyncio.sleep(0.01)  # a consumer that takes its time between events
    assert stream.result.messages[2].content == "two words"


def test_run_context_has_no_private_fields() -> None:
    # the calling run reaches the sub-run through the task the call runs in; the transcript comes back with
    # the tool's result: neither travels on the context a tool sees
    assert [f.name for f in dataclasses.fields(RunContext) if f.name.startswith("_")] == []


def test_a_sub_run_failure_pickles_with_its_transcript() -> None:
    from agentkit._run.tool_calls import SubRunFailed

    error = SubRunFailed("The writer agent failed: no", transcript=[AssistantMessage(content="no")])
    again = pickle.loads(pickle.dumps(error))
    assert (again.message, again.transcript) == (error.message, error.transcript)


async def test_a_tool_outside_a_run_starts_the_sub_run_on_its_own() -> None:
    writer = Agent(ScriptedModel(["written"]), name="writer")
    output = await writer.as_tool().call({"task": "t"}, RunContext(deps=None))
    assert output.output == "written" and [m.role for m in output.transcript] == ["user", "assistant"]
