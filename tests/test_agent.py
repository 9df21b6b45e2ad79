from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass
from typing import Any

import pytest
from pydantic import BaseModel
from typing_extensions import TypedDict

from agentkit import (
    Agent,
    AssistantMessage,
    ModelRetry,
    ModelSettings,
    RunContext,
    SystemMessage,
    ToolCall,
    ToolExecutionError,
    ToolMessage,
    UnexpectedModelBehavior,
    UsageLimitExceeded,
    UsageLimits,
    UserError,
    UserMessage,
    messages_from_json,
    tool,
)
from agentkit.messages import Message
from agentkit.models.profiles import GEMINI_2_0_FLASH, ModelProfile
from agentkit.testing import (
    FunctionModel,
    RequestInfo,
    ScriptedModel,
    text_response,
    tool_call_response,
    tool_calls_response,
)


@tool
def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: The first.
        b: The second.
    """
    return a + b


def test_single_tool_call_then_answer() -> None:
    model = ScriptedModel([tool_call_response("add", {"a": 2, "b": 3}), "2 + 3 = 5"])
    result = Agent(model, instructions="Be exact.", tools=[add]).run_sync("What is 2 + 3?")
    assert result.output == "2 + 3 = 5"
    model.assert_all_used()
    first, second = model.requests
    assert first.tool_names == ["add"]
    assert isinstance(first.messages[0], SystemMessage) and first.messages[0].content == "Be exact."
    assert second.last_tool_messages == [ToolMessage(tool_call_id="call_1", name="add", content="5")]
    assert [m.role for m in result.messages] == ["system", "user", "assistant", "tool", "assistant"]
    assert result.usage.requests == 2
    assert result.usage.tool_calls == 1
    assert result.usage.input_tokens > 0 and result.usage.output_tokens > 0


def test_plain_functions_are_accepted_as_tools() -> None:
    def shout(text: str) -> str:
        """Upper-case text."""
        return text.upper()

    model = ScriptedModel([tool_call_response("shout", {"text": "hi"}), "done"])
    result = Agent(model, tools=[shout]).run_sync("go")
    assert model.requests[1].last_tool_messages[0].content == "HI"
    assert result.output == "done"


async def test_parallel_calls_overlap_and_results_keep_model_order() -> None:
    started: list[str] = []
    both_running = asyncio.Event()

    @tool
    async def slow(name: str) -> str:
        """Wait for the other call."""
        started.append(name)
        if len(started) == 2:
            both_running.set()
        await asyncio.wait_for(both_running.wait(), 5)  # only completes if the two calls overlap
        return f"done {name}"

    model = ScriptedModel([tool_calls_response([("slow", {"name": "a"}), ("slow", {"name": "b"})]), "ok"])
    await Agent(model, tools=[slow]).run("go")
    assert [m.content for m in model.requests[1].last_tool_messages] == ["done a", "done b"]


async def test_sync_tools_run_in_threads_concurrently() -> None:
    barrier = threading.Barrier(3, timeout=5)  # three calls must be inside the tool at the same time

    @tool
    def wait(i: int) -> int:
        """Wait at the barrier."""
        barrier.wait()
        return i

    calls = [("wait", {"i": i}) for i in range(3)]
    model = ScriptedModel([tool_calls_response(calls), "ok"])
    await Agent(model, tools=[wait]).run("go")
    assert [m.content for m in model.requests[1].last_tool_messages] == ["0", "1", "2"]


async def test_sequential_tool_never_overlaps() -> None:
    active = 0
    peak = 0

    async def track() -> None:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0.01)
        active -= 1

    @tool(sequential=True)
    async def exclusive(i: int) -> int:
        """Runs alone."""
        await track()
        return i

    calls = [("exclusive", {"i": i}) for i in range(3)]
    model = ScriptedModel([tool_calls_response(calls), "ok"])
    await Agent(model, tools=[exclusive]).run("go")
    assert peak == 1
    assert [m.content for m in model.requests[1].last_tool_messages] == ["0", "1", "2"]


async def test_tool_timeout_is_reported_to_the_model() -> None:
    @tool(timeout=0.05)
    async def hang() -> str:
        """Never returns in time."""
        await asyncio.sleep(5)
        return "late"

    model = ScriptedModel([tool_call_response("hang"), "gave up"])
    result = await Agent(model, tools=[hang]).run("go")
    message = model.requests[1].last_tool_messages[0]
    assert message.is_error and "timed out after 0.05 seconds" in message.content
    assert result.output == "gave up"


def test_invalid_arguments_are_sent_back_and_the_model_recovers() -> None:
    model = ScriptedModel(
        [tool_call_response("add", {"a": "x"}), tool_call_response("add", {"a": 1, "b": 2}), "3"]
    )
    result = Agent(model, tools=[add]).run_sync("go")
    error = model.requests[1].last_tool_messages[0]
    assert error.is_error
    assert "$.a: Input should be a valid integer" in error.content
    assert "$.b: Field required" in error.content
    assert result.output == "3"


def test_invalid_json_arguments_are_sent_back() -> None:
    model = ScriptedModel([tool_call_response("add", '{"a": 1, "b": '), "sorry"])
    Agent(model, tools=[add]).run_sync("go")
    assert "not valid JSON" in model.requests[1].last_tool_messages[0].content


def test_unknown_tool_lists_the_available_ones() -> None:
    model = ScriptedModel([tool_call_response("multiply", {"a": 1}), "ok"])
    Agent(model, tools=[add]).run_sync("go")
    message = model.requests[1].last_tool_messages[0]
    assert message.is_error and message.content == "Unknown tool 'multiply'. Available tools: add."


def test_model_retry_then_budget_exhausted_carries_transcript() -> None:
    attempts: list[int] = []

    @tool(retries=1)
    def flaky(ctx: RunContext[None], x: int) -> str:
        """Always asks again."""
        attempts.append(ctx.retry)
        raise ModelRetry(f"try a bigger x than {x}")

    model = ScriptedModel([tool_call_response("flaky", {"x": 1}), tool_call_response("flaky", {"x": 2})])
    with pytest.raises(UnexpectedModelBehavior, match="'flaky' failed 2 times in a row") as info:
        Agent(model, tools=[flaky]).run_sync("go")
    assert attempts == [0, 1]
    transcript = info.value.messages
    assert isinstance(transcript[-1], ToolMessage) and transcript[-1].content == "try a bigger x than 2"
    assert [m.role for m in transcript] == ["user", "assistant", "tool", "assistant", "tool"]


def test_success_resets_the_retry_budget() -> None:
    outcomes = iter([ModelRetry("again"), "ok", ModelRetry("again"), "ok"])

    @tool(retries=1)
    def sometimes() -> str:
        """Fails every other call."""
        value = next(outcomes)
        if isinstance(value, Exception):
            raise value
        return value

    model = ScriptedModel([tool_call_response("sometimes")] * 4 + ["done"])
    assert Agent(model, tools=[sometimes]).run_sync("go").output == "done"


def test_tool_exception_goes_to_the_model_by_default() -> None:
    @tool
    def broken() -> str:
        """Raises."""
        raise ValueError("disk full")

    model = ScriptedModel([tool_call_response("broken"), "it failed"])
    result = Agent(model, tools=[broken]).run_sync("go")
    assert model.requests[1].last_tool_messages[0].content == "The tool raised ValueError: disk full"
    assert result.output == "it failed"


def test_tool_exception_can_raise_instead() -> None:
    @tool
    def broken() -> str:
        """Raises."""
        raise ValueError("disk full")

    model = ScriptedModel([tool_call_response("broken")])
    with pytest.raises(ToolExecutionError, match="disk full") as info:
        Agent(model, tools=[broken], raise_tool_errors=True).run_sync("go")
    assert isinstance(info.value.__cause__, ValueError)
    assert info.value.tool_name == "broken"
    assert [m.role for m in info.value.messages] == ["user", "assistant"]


class City(BaseModel):
    name: str
    population: int


@dataclass
class Point:
    x: float
    y: float


class Pair(TypedDict):
    left: str
    right: str


def test_tool_results_are_serialised_compactly() -> None:
    @tool
    def things() -> dict[str, Any]:
        """Structured values."""
        return {"city": City(name="Oslo", population=700000), "point": Point(1, 2), "list": [1, "a"]}

    model = ScriptedModel([tool_call_response("things"), "ok"])
    Agent(model, tools=[things]).run_sync("go")
    content = model.requests[1].last_tool_messages[0].content
    assert content == '{"city":{"name":"Oslo","population":700000},"point":{"x":1,"y":2},"list":[1,"a"]}'


@pytest.mark.parametrize(
    "profile", [GEMINI_2_0_FLASH, ModelProfile(family="other", structured_output="tool")]
)
def test_structured_output_through_final_result_tool(profile: ModelProfile) -> None:
    model = ScriptedModel(
        [
            tool_call_response("add", {"a": 1, "b": 1}),
            tool_call_response("final_result", {"name": "Oslo", "population": "many"}),
            tool_call_response("final_result", {"name": "Oslo", "population": 709000}),
        ],
        profile=profile,
    )
    agent = Agent(model, tools=[add], output_type=City)
    result = agent.run_sync("Biggest city of Norway?")
    assert result.output == City(name="Oslo", population=709000)
    first = model.requests[0]
    assert first.tool_names == ["add", "final_result"]
    assert first.parameters.tool_choice == "required"
    assert first.parameters.response_format is None
    retry = model.requests[2].last_tool_messages[0]
    assert retry.is_error and "$.population" in retry.content
    assert (
        isinstance(result.messages[-1], ToolMessage)
        and result.messages[-1].content == "Final result received."
    )


def test_structured_output_through_response_format() -> None:
    model = ScriptedModel(['{"x": 1', '```json\n{"x": 1, "y": 2.5}\n```'], profile=ModelProfile())
    result = Agent(model, output_type=Point).run_sync("A point?")
    assert result.output == Point(1.0, 2.5)
    fmt = model.requests[0].parameters.response_format
    assert fmt is not None and fmt.name == "final_result"
    assert fmt.schema["required"] == ["x", "y"]
    nudge = model.requests[1].messages[-1]
    assert isinstance(nudge, UserMessage) and "not valid JSON" in nudge.text


@pytest.mark.parametrize(
    ("output_type", "arguments", "expected"),
    [
        (list[int], {"result": [1, 2]}, [1, 2]),
        (Pair, {"left": "a", "right": "b"}, {"left": "a", "right": "b"}),
        (int, {"result": 7}, 7),
    ],
)
def test_structured_output_types(output_type: Any, arguments: dict[str, Any], expected: Any) -> None:
    model = ScriptedModel([tool_call_response("final_result", arguments)], profile=GEMINI_2_0_FLASH)
    assert Agent(model, output_type=output_type).run_sync("go").output == expected


def test_final_result_with_other_calls_in_the_same_turn() -> None:
    model = ScriptedModel(
        [tool_calls_response([("add", {"a": 1, "b": 2}), ("final_result", {"result": 3})])],
        profile=GEMINI_2_0_FLASH,
    )
    result = Agent(model, tools=[add], output_type=int).run_sync("go")
    assert result.output == 3
    tool_messages = [m for m in result.messages if isinstance(m, ToolMessage)]
    assert [m.name for m in tool_messages] == ["add", "final_result"]
    assert "Not executed" in tool_messages[0].content


def test_structured_output_exhausts_its_retries() -> None:
    model = ScriptedModel(["not json", "still not"], profile=ModelProfile())
    with pytest.raises(UnexpectedModelBehavior, match="did not validate") as info:
        Agent(model, output_type=Point, retries=1).run_sync("go")
    assert len(info.value.messages) == 4  # prompt, answer, nudge, answer


def test_text_answer_to_a_structured_request_over_tool_route_is_parsed() -> None:
    model = ScriptedModel(['{"result": 5}'], profile=GEMINI_2_0_FLASH)
    assert Agent(model, output_type=int).run_sync("go").output == 5


def test_empty_response_is_retried_with_a_nudge() -> None:
    empty = AssistantMessage(content="", finish_reason="MALFORMED_FUNCTION_CALL")
    model = ScriptedModel([empty, "fine"])
    result = Agent(model).run_sync("go")
    assert result.output == "fine"
    nudge = model.requests[1].messages[-1]
    assert isinstance(nudge, UserMessage) and "MALFORMED_FUNCTION_CALL" in nudge.text


def test_repeated_empty_responses_raise() -> None:
    model = ScriptedModel([AssistantMessage(content="")] * 3)
    with pytest.raises(UnexpectedModelBehavior, match="empty response"):
        Agent(model, output_retries=2).run_sync("go")


def test_max_turns_raises_with_transcript() -> None:
    model = ScriptedModel([tool_call_response("add", {"a": 1, "b": 1})] * 3)
    with pytest.raises(UsageLimitExceeded, match="max_turns=2") as info:
        Agent(model, tools=[add], max_turns=2).run_sync("loop")
    assert len(info.value.messages) == 5


def test_max_turns_per_run_overrides_the_agents() -> None:
    model = ScriptedModel([tool_call_response("add", {"a": 1, "b": 1})] * 2)
    with pytest.raises(UsageLimitExceeded, match="max_turns=1"):
        Agent(model, tools=[add], max_turns=5).run_sync("loop", max_turns=1)


@pytest.mark.parametrize(
    ("limits", "match"),
    [
        (UsageLimits(input_tokens_limit=0), "input_tokens_limit"),
        (UsageLimits(output_tokens_limit=0), "output_tokens_limit"),
        (UsageLimits(total_tokens_limit=1), "total_tokens_limit"),
        (UsageLimits(cost_usd_limit=0.0), "cost_usd_limit"),
    ],
)
def test_usage_limits(limits: UsageLimits, match: str) -> None:
    answer = tool_call_response("add", {"a": 1, "b": 1})
    model = ScriptedModel([answer, answer], profile=GEMINI_2_0_FLASH)
    with pytest.raises(UsageLimitExceeded, match=match) as info:
        Agent(model, tools=[add]).run_sync("go", usage_limits=limits)
    assert info.value.messages[0] == UserMessage(content="go")


def test_deps_reach_tools_through_context() -> None:
    @dataclass
    class Deps:
        prefix: str

    seen: list[RunContext[Deps]] = []
    requests_then: list[int] = []

    @tool
    def greet(ctx: RunContext[Deps], name: str) -> str:
        """Greet."""
        seen.append(ctx)
        requests_then.append(ctx.usage.requests)
        return f"{ctx.deps.prefix} {name}"

    model = ScriptedModel([tool_call_response("greet", {"name": "Ada"}, id="abc"), "ok"])
    agent: Agent[Deps, str] = Agent(model, tools=[greet], deps_type=Deps)
    agent.run_sync("go", deps=Deps(prefix="Hello"))
    assert model.requests[1].last_tool_messages[0].content == "Hello Ada"
    ctx = seen[0]
    assert (ctx.tool_name, ctx.tool_call_id, ctx.retry, ctx.run_step, ctx.model_name) == (
        "greet",
        "abc",
        0,
        1,
        "scripted",
    )
    assert requests_then == [1]
    assert ctx.usage.requests == 2  # a live view: it kept counting after the tool returned


def test_message_history_continues_a_conversation() -> None:
    model = ScriptedModel([tool_call_response("add", {"a": 1, "b": 2}), "3", "6"])
    agent = Agent(model, instructions="Be brief.", tools=[add])
    first = agent.run_sync("1+2?")
    history = messages_from_json(first.messages_json())
    assert history == first.messages
    second = agent.run_sync("double it", message_history=history)
    assert second.output == "6"
    assert [m.role for m in second.new_messages()] == ["user", "assistant"]
    sent = model.requests[2].messages
    assert sent[: len(history)] == history
    assert sum(isinstance(m, SystemMessage) for m in sent) == 1
    assert second.usage.requests == 1


def test_new_messages_of_a_fresh_run_include_instructions() -> None:
    result = Agent(ScriptedModel(["hi"]), instructions="sys").run_sync("hello")
    assert [m.role for m in result.new_messages()] == ["system", "user", "assistant"]


def test_history_without_system_message_gets_the_instructions() -> None:
    model = ScriptedModel(["again"])
    history: list[Message] = [UserMessage(content="a"), AssistantMessage(content="b")]
    result = Agent(model, instructions="sys").run_sync("c", message_history=history)
    assert isinstance(model.requests[0].messages[0], SystemMessage)
    # the system message this run put in front of the history is one of its new messages
    assert result.instructions_added and result.new_message_index == 3
    assert [m.role for m in result.new_messages()] == ["system", "user", "assistant"]
    assert [m.role for m in result.messages] == ["system", "user", "assistant", "user", "assistant"]


def test_continue_without_prompt() -> None:
    model = ScriptedModel(["answer"])
    result = Agent(model).run_sync(None, message_history=[UserMessage(content="q")])
    assert result.output == "answer"
    with pytest.raises(UserError, match="Give a prompt"):
        Agent(model).run_sync(None)


def test_repeated_and_missing_tool_call_ids_are_made_unique() -> None:
    twice = AssistantMessage(
        tool_calls=[
            ToolCall(id="", name="add", arguments='{"a":1,"b":1}'),
            ToolCall(id="x", name="add", arguments='{"a":2,"b":2}'),
        ]
    )
    again = AssistantMessage(tool_calls=[ToolCall(id="x", name="add", arguments='{"a":3,"b":3}')])
    model = ScriptedModel([twice, again, "done"])
    result = Agent(model, tools=[add]).run_sync("go")
    ids = [c.id for m in result.messages if isinstance(m, AssistantMessage) for c in m.tool_calls]
    assert len(set(ids)) == 3 and "" not in ids
    answered = [m.tool_call_id for m in result.messages if isinstance(m, ToolMessage)]
    assert answered == ids


def test_function_model_sees_tool_results() -> None:
    def respond(messages: list[Message], info: RequestInfo) -> AssistantMessage | str:
        if not info.tool_results:
            return tool_call_response("add", {"a": 20, "b": 22})
        return f"The answer is {info.tool_results[0].content}"

    assert Agent(FunctionModel(respond), tools=[add]).run_sync("go").output == "The answer is 42"


async def test_async_function_model() -> None:
    async def respond(messages: list[Message], info: RequestInfo) -> str:
        return "async"

    assert (await Agent(FunctionModel(respond)).run("go")).output == "async"


def test_model_settings_merge() -> None:
    model = ScriptedModel(["ok"])
    agent = Agent(model, model_settings=ModelSettings(temperature=0.1, max_tokens=50, extra_body={"a": 1}))
    agent.run_sync("go", model_settings=ModelSettings(max_tokens=10, extra_body={"b": 2}))
    settings = model.requests[0].settings
    assert (settings.temperature, settings.max_tokens, dict(settings.extra_body)) == (
        0.1,
        10,
        {"a": 1, "b": 2},
    )


def test_scripted_model_reports_leftovers_and_exhaustion() -> None:
    model = ScriptedModel(["a", "b"])
    Agent(model).run_sync("go")
    with pytest.raises(AssertionError, match="1 scripted answer"):
        model.assert_all_used()
    Agent(model).run_sync("go")
    with pytest.raises(UserError, match="ran out of answers"):
        Agent(model).run_sync("go")


def test_scripted_exception_is_raised_with_transcript() -> None:
    from agentkit import ModelAPIError

    model = ScriptedModel([ModelAPIError("boom", status_code=500)])
    with pytest.raises(ModelAPIError) as info:
        Agent(model).run_sync("go")
    assert info.value.messages == [UserMessage(content="go")]


def test_agent_configuration_errors() -> None:
    with pytest.raises(UserError, match="Two tools are named 'add'"):
        Agent("x", tools=[add, add])
    with pytest.raises(UserError, match="reserved"):
        Agent("x", tools=[tool(name="final_result")(lambda: 1)])
    with pytest.raises(UserError, match="max_turns"):
        Agent("x", max_turns=0)
    with pytest.raises(UserError, match="retries"):
        Agent("x", retries=-1)
    with pytest.raises(UserError, match="model must be"):
        Agent(3)  # type: ignore[arg-type]


async def test_run_sync_inside_event_loop_is_a_clear_error() -> None:
    with pytest.raises(UserError, match=r"await agent\.run"):
        Agent(ScriptedModel(["x"])).run_sync("go")


def test_image_prompt_parts_reach_the_model(tmp_path: Any) -> None:
    from agentkit import ImagePart, TextPart

    path = tmp_path / "pixel.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n")  # the signature: the type comes from the bytes
    model = ScriptedModel(["a pixel"])
    Agent(model).run_sync([TextPart(text="What is this?"), ImagePart.from_path(path)])
    content = model.requests[0].messages[0].content
    assert isinstance(content, list) and content[1].url.startswith("data:image/png;base64,")


def test_run_per_call_model_override() -> None:
    agent = Agent(ScriptedModel(["from default"]))
    other = ScriptedModel(["from override"])
    assert agent.run_sync("go", model=other).output == "from override"


def test_messages_json_round_trip_keeps_every_field() -> None:
    model = ScriptedModel([tool_call_response("add", {"a": 1, "b": 2}), "3"])
    result = Agent(model, instructions="i", tools=[add]).run_sync("go")
    data = json.loads(result.messages_json())
    assert data[2]["usage"]["requests"] == 1
    assert messages_from_json(result.messages_json()) == result.messages


def test_tool_call_time_is_not_serialised_by_the_loop() -> None:
    # Two sync calls of 50 ms each finish in well under the sum: evidence of threads, not a timing claim.
    @tool
    def nap() -> str:
        """Sleep."""
        time.sleep(0.05)
        return "z"

    model = ScriptedModel([tool_calls_response([("nap", None), ("nap", None)]), "ok"])
    assert Agent(model, tools=[nap]).run_sync("go").output == "ok"


def test_text_response_helper() -> None:
    assert text_response("x") == AssistantMessage(content="x")
