"""Hooks (`agentkit.hooks`): the order they are called in, what they may change (what is sent, arguments,
results), denials, and their events; on the wire through the real `AsyncOpenAI` client, streamed and not."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import pytest
from loopback_support import model_at

from agentkit import (
    Agent,
    Deny,
    HookError,
    Hooks,
    ModelRequest,
    RunContext,
    RunResult,
    SystemMessage,
    ToolCall,
    ToolMessage,
    UsageLimitExceeded,
    UserError,
    tool,
)
from agentkit.events import (
    Event,
    RunFinished,
    ToolArgumentsChanged,
    ToolCallDenied,
    ToolCallFinished,
    ToolCallStarted,
)
from agentkit.settings import ModelSettings
from agentkit.testing import LoopbackServer, ScriptedModel, tool_call_response, tool_calls_response

calls: list[tuple[str, Any]] = []


@tool
def weather(city: str, days: int = 1) -> str:
    """The weather in a city.

    Args:
        city: The city.
        days: How many days ahead.
    """
    calls.append(("weather", (city, days)))
    return f"{city}: sunny for {days} day(s)"


@tool
def delete_file(path: str) -> str:
    """Delete a file."""
    calls.append(("delete_file", path))
    return f"deleted {path}"


@pytest.fixture(autouse=True)
def _clear() -> None:
    calls.clear()


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as srv:
        yield srv


def run(
    agent: Agent[Any, Any], prompt: str, *, stream: bool, **options: Any
) -> tuple[RunResult[Any], list[Event]]:
    if not stream:
        return agent.run_sync(prompt, **options), []
    events = list(agent.run_stream_sync(prompt, **options))
    finished = events[-1]
    assert isinstance(finished, RunFinished)
    return finished.result, events


class Recorder(Hooks[str]):
    """Async hooks recording what they see."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    async def before_run(self, ctx: RunContext[str]) -> None:
        self.seen.append(f"before_run deps={ctx.deps} step={ctx.run_step}")

    async def before_request(self, ctx: RunContext[str], request: ModelRequest) -> None:
        self.seen.append(f"before_request step={ctx.run_step} messages={len(request.messages)}")

    async def after_response(self, ctx: RunContext[str], response: Any) -> None:
        self.seen.append(f"after_response calls={[c.name for c in response.tool_calls]}")

    async def before_tool_call(self, ctx: RunContext[str], call: ToolCall, arguments: dict[str, Any]) -> None:
        self.seen.append(f"before_tool_call {ctx.tool_name} {ctx.tool_call_id == call.id} {arguments}")

    async def after_tool_call(self, ctx: RunContext[str], call: ToolCall, result: ToolMessage) -> None:
        self.seen.append(f"after_tool_call {call.name} {result.content}")

    async def after_run(self, ctx: RunContext[str], result: Any, error: Exception | None) -> None:
        self.seen.append(f"after_run {result.output if result else None} {type(error).__name__}")


class SyncLogger:
    """Duck-typed and sync: only two of the methods."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def before_run(self, ctx: RunContext[Any]) -> None:
        self.seen.append("sync before_run")

    def after_run(self, ctx: RunContext[Any], result: Any, error: Exception | None) -> None:
        self.seen.append("sync after_run")


@pytest.mark.parametrize("stream", [False, True])
def test_hooks_are_called_in_order_with_the_run_context(server: LoopbackServer, stream: bool) -> None:
    server.add(tool_call_response("weather", {"city": "Oslo"}), "Sunny in Oslo.")
    recorder, logger = Recorder(), SyncLogger()
    agent = Agent(model_at(server), tools=[weather], deps_type=str, hooks=[recorder, logger])
    result, _ = run(agent, "Weather in Oslo?", stream=stream, deps="user-1")
    assert result.output == "Sunny in Oslo."
    assert recorder.seen == [
        "before_run deps=user-1 step=0",
        "before_request step=1 messages=1",
        "after_response calls=['weather']",
        "before_tool_call weather True {'city': 'Oslo', 'days': 1}",
        "after_tool_call weather Oslo: sunny for 1 day(s)",
        "before_request step=2 messages=3",
        "after_response calls=[]",
        "after_run Sunny in Oslo. NoneType",
    ]
    assert logger.seen == ["sync before_run", "sync after_run"]


@pytest.mark.parametrize("stream", [False, True])
def test_before_request_changes_what_is_sent_not_the_transcript(server: LoopbackServer, stream: bool) -> None:
    class Redact(Hooks[None]):
        def before_request(self, ctx: RunContext[None], request: ModelRequest) -> ModelRequest:
            messages = [SystemMessage(content="Be brief."), *request.messages]
            tools = [t for t in request.tools if t.name != "delete_file"]
            settings = request.settings.merged(ModelSettings(temperature=0.1))
            return request.replace(messages=messages, tools=tools, settings=settings)

    server.add("Done.")
    agent = Agent(model_at(server), tools=[weather, delete_file], hooks=[Redact()])
    result, _ = run(agent, "Hello", stream=stream)
    [body] = server.bodies
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hello"},
    ]
    assert [t["function"]["name"] for t in body["tools"]] == ["weather"]
    assert body["temperature"] == 0.1
    assert [m.role for m in result.messages] == ["user", "assistant"]  # the transcript as it was


def test_a_hook_that_returns_something_else_than_a_request_is_a_user_error() -> None:
    class Wrong:
        def before_request(self, ctx: RunContext[None], request: ModelRequest) -> str:
            return "nope"

    agent = Agent(ScriptedModel(["hi"]), hooks=[Wrong()])
    with pytest.raises(UserError, match=r"Wrong.before_request returned str: return a ModelRequest"):
        agent.run_sync("hi")


@pytest.mark.parametrize("stream", [False, True])
def test_a_denied_call_does_not_run_and_the_model_reads_the_reason(
    server: LoopbackServer, stream: bool
) -> None:
    class Guard(Hooks[None]):
        async def before_tool_call(
            self, ctx: RunContext[None], call: ToolCall, arguments: dict[str, Any]
        ) -> Deny | None:
            if call.name == "delete_file" and arguments["path"].startswith("/etc"):
                return Deny("system files are off limits")
            return None

    server.add(
        tool_calls_response([("delete_file", {"path": "/etc/passwd"}), ("delete_file", {"path": "/tmp/x"})]),
        "I deleted /tmp/x only.",
    )
    agent = Agent(model_at(server), tools=[delete_file], hooks=[Guard()])
    result, events = run(agent, "clean up", stream=stream)
    assert calls == [("delete_file", "/tmp/x")]
    tool_messages = [m for m in server.bodies[1]["messages"] if m["role"] == "tool"]
    assert tool_messages[0]["content"] == "Not executed: the call was denied: system files are off limits"
    assert tool_messages[1]["content"] == "deleted /tmp/x"
    assert result.messages[2].is_error and not result.messages[3].is_error  # type: ignore[union-attr]
    if stream:
        [denied] = [e for e in events if isinstance(e, ToolCallDenied)]
        assert denied.reason == "system files are off limits"
        assert json.loads(denied.call.arguments) == {"path": "/etc/passwd"}
        finished = [e for e in events if isinstance(e, ToolCallFinished)]
        assert [e.is_error for e in finished] == [True, False]
        assert result.usage.tool_calls == 1  # the denied call did not run


@pytest.mark.parametrize("stream", [False, True])
def test_changed_arguments_are_validated_again_and_the_transcript_keeps_the_models(
    server: LoopbackServer, stream: bool
) -> None:
    class AtMostThreeDays(Hooks[None]):
        def before_tool_call(
            self, ctx: RunContext[None], call: ToolCall, arguments: dict[str, Any]
        ) -> dict[str, Any]:
            return {**arguments, "days": str(min(arguments["days"], 3))}  # "3": validated into 3

    server.add(tool_call_response("weather", {"city": "Oslo", "days": 10}), "Sunny.")
    agent = Agent(model_at(server), tools=[weather], hooks=[AtMostThreeDays()])
    result, events = run(agent, "weather", stream=stream)
    assert calls == [("weather", ("Oslo", 3))]
    sent_call = server.bodies[1]["messages"][1]["tool_calls"][0]
    assert json.loads(sent_call["function"]["arguments"]) == {"city": "Oslo", "days": 10}
    assert json.loads(result.messages[1].tool_calls[0].arguments) == {"city": "Oslo", "days": 10}  # type: ignore[union-attr]
    if stream:
        [changed] = [e for e in events if isinstance(e, ToolArgumentsChanged)]
        assert changed.previous == {"city": "Oslo", "days": 10} and changed.arguments == {
            "city": "Oslo",
            "days": 3,
        }
        [started] = [e for e in events if isinstance(e, ToolCallStarted)]
        assert started.arguments == {"city": "Oslo", "days": 3}


def test_returning_the_same_arguments_changes_nothing() -> None:
    class Same:
        def before_tool_call(
            self, ctx: RunContext[None], call: ToolCall, arguments: dict[str, Any]
        ) -> dict[str, Any]:
            return dict(arguments)

    model = ScriptedModel([tool_call_response("weather", {"city": "Oslo"}), "ok"])
    events = list(Agent(model, tools=[weather], hooks=[Same()]).run_stream_sync("weather"))
    assert not any(isinstance(e, ToolArgumentsChanged) for e in events)
    assert calls == [("weather", ("Oslo", 1))]


def test_arguments_that_do_not_validate_are_a_user_error() -> None:
    class Broken:
        def before_tool_call(
            self, ctx: RunContext[None], call: ToolCall, arguments: dict[str, Any]
        ) -> dict[str, Any]:
            return {"city": 5}

    model = ScriptedModel([tool_call_response("weather", {"city": "Oslo"})])
    agent = Agent(model, tools=[weather], hooks=[Broken()])
    with pytest.raises(UserError, match=r"Broken.before_tool_call changed the arguments of 'weather'"):
        agent.run_sync("weather")
    assert calls == []


def test_before_tool_call_returning_something_else_is_a_user_error() -> None:
    class Wrong:
        def before_tool_call(self, ctx: RunContext[None], call: ToolCall, arguments: dict[str, Any]) -> bool:
            return True

    agent = Agent(
        ScriptedModel([tool_call_response("weather", {"city": "Oslo"})]), tools=[weather], hooks=[Wrong()]
    )
    with pytest.raises(UserError, match=r"return the arguments \(a dict\), Deny\(reason\) or None"):
        agent.run_sync("weather")


@pytest.mark.parametrize("stream", [False, True])
def test_after_tool_call_changes_the_result(server: LoopbackServer, stream: bool) -> None:
    class Mask:
        async def after_tool_call(
            self, ctx: RunContext[None], call: ToolCall, result: ToolMessage
        ) -> ToolMessage:
            return dataclasses.replace(result, content=result.content.replace("Oslo", "[city]"))

    server.add(tool_call_response("weather", {"city": "Oslo"}), "ok")
    agent = Agent(model_at(server), tools=[weather], hooks=[Mask()])
    result, events = run(agent, "weather", stream=stream)
    assert server.bodies[1]["messages"][2]["content"] == "[city]: sunny for 1 day(s)"
    assert result.messages[2].content == "[city]: sunny for 1 day(s)"
    if stream:
        [finished] = [e for e in events if isinstance(e, ToolCallFinished)]
        assert finished.message.content == "[city]: sunny for 1 day(s)"


def test_after_tool_call_returning_something_else_is_a_user_error() -> None:
    class Wrong:
        def after_tool_call(self, ctx: RunContext[None], call: ToolCall, result: ToolMessage) -> str:
            return "text"

    agent = Agent(
        ScriptedModel([tool_call_response("weather", {"city": "Oslo"})]), tools=[weather], hooks=[Wrong()]
    )
    with pytest.raises(UserError, match=r"return a ToolMessage"):
        agent.run_sync("weather")


def test_after_run_sees_the_error_and_the_error_keeps_the_transcript() -> None:
    recorder = Recorder()
    model = ScriptedModel([tool_call_response("weather", {"city": "Oslo"})])
    agent = Agent(model, tools=[weather], hooks=[recorder], max_turns=1)
    with pytest.raises(UsageLimitExceeded) as info:
        agent.run_sync("weather", deps="d")
    assert recorder.seen[-1] == "after_run None UsageLimitExceeded"
    assert len(info.value.messages) == 3


def test_after_run_sees_errors_that_are_not_run_errors() -> None:
    recorder = Recorder()
    agent = Agent(ScriptedModel([]), hooks=[recorder])  # runs out of answers: a UserError
    with pytest.raises(UserError):
        agent.run_sync("hi", deps="d")
    assert recorder.seen[-1] == "after_run None UserError"


def test_run_hooks_come_after_the_agents_and_apply_to_one_run() -> None:
    order: list[str] = []

    class Named(Hooks[None]):
        def __init__(self, name: str) -> None:
            self.name = name

        def before_run(self, ctx: RunContext[None]) -> None:
            order.append(self.name)

    agent = Agent(ScriptedModel(["a", "b"]), hooks=[Named("agent")])
    agent.run_sync("hi", hooks=[Named("run")])
    agent.run_sync("hi")
    assert order == ["agent", "run", "agent"]


async def test_run_stream_takes_hooks_too() -> None:
    recorder = Recorder()
    agent = Agent(ScriptedModel(["hello"]))
    async with agent.run_stream("hi", hooks=[recorder], deps="x") as stream:
        async for _ in stream:
            pass
    assert recorder.seen[0] == "before_run deps=x step=0" and recorder.seen[-1] == "after_run hello NoneType"


def test_methods_a_hook_does_not_override_are_never_called() -> None:
    agent = Agent(ScriptedModel(["hi"]), hooks=[Hooks(), Hooks(), Hooks()])
    assert agent._hooks is None  # nothing to call: the run takes the path it takes without hooks
    spec, _ = agent._start("hi", {}, stream=False)
    assert spec.hooks is None
    only_after = Agent(ScriptedModel(["hi"]), hooks=[SyncLogger()])._hooks
    assert only_after is not None and not only_after.checks_calls and not only_after.checks_results


def test_changing_agent_hooks_is_seen_by_the_next_run() -> None:
    agent = Agent(ScriptedModel(["a", "b"]))
    agent.run_sync("hi")
    logger = SyncLogger()
    agent.hooks.append(logger)
    agent.run_sync("hi")
    assert logger.seen == ["sync before_run", "sync after_run"]


@pytest.mark.parametrize(
    ("hooks", "message"),
    [
        ([object()], r"is not a hook: give hooks=\[...\] objects with any of the methods before_run"),
        ([Hooks], r"takes hook objects, not the class Hooks: add \(\)"),
        ("Hooks()", r"hooks takes a list of hook objects"),
    ],
)
def test_things_that_are_not_hooks_are_refused(hooks: Any, message: str) -> None:
    with pytest.raises(UserError, match=message):
        Agent(ScriptedModel(["hi"]), hooks=hooks)


@pytest.mark.parametrize("hooks", [Hooks(), "Hooks()"])
def test_a_run_s_hooks_that_are_not_a_list_are_refused_as_the_agent_s_are(hooks: Any) -> None:
    model = ScriptedModel(["hi"])
    with pytest.raises(UserError, match=r"hooks takes a list of hook objects"):
        Agent(model).run_sync("hi", hooks=hooks)
    assert model.requests == []


def test_a_hook_attribute_that_is_not_callable_is_refused() -> None:
    class Odd:
        before_run = "soon"

    with pytest.raises(UserError, match=r"has a 'before_run' that is not a method"):
        Agent(ScriptedModel(["hi"]), hooks=[Odd()])


def test_a_sub_agents_hooks_run_inside_the_tool() -> None:
    recorder = Recorder()
    helper = Agent(ScriptedModel(["from the helper"]), name="helper", hooks=[recorder])
    main = Agent(
        ScriptedModel([tool_call_response("helper", {"task": "help"}), "done"]), tools=[helper.as_tool()]
    )
    assert main.run_sync("go").output == "done"
    assert recorder.seen[0] == "before_run deps=None step=0"
    assert recorder.seen[-1] == "after_run from the helper NoneType"


def test_a_subclass_may_call_the_base_methods() -> None:
    class Polite(Hooks[None]):
        async def before_request(self, ctx: RunContext[None], request: ModelRequest) -> ModelRequest | None:
            return await super().before_request(ctx, request)

        async def before_tool_call(
            self, ctx: RunContext[None], call: ToolCall, arguments: dict[str, Any]
        ) -> dict[str, Any] | Deny | None:
            return await super().before_tool_call(ctx, call, arguments)

        async def after_tool_call(
            self, ctx: RunContext[None], call: ToolCall, result: ToolMessage
        ) -> ToolMessage | None:
            return await super().after_tool_call(ctx, call, result)

    model = ScriptedModel([tool_call_response("weather", {"city": "Oslo"}), "ok"])
    result = Agent(model, tools=[weather], hooks=[Polite()]).run_sync("weather")
    assert result.output == "ok" and calls == [("weather", ("Oslo", 1))]


def test_before_tool_call_runs_after_approval_and_not_on_calls_left_waiting() -> None:
    seen: list[str] = []

    @tool(requires_approval=True)
    def pay(amount: int) -> str:
        """Pay an amount."""
        calls.append(("pay", amount))
        return "paid"

    class Limit:
        def before_tool_call(
            self, ctx: RunContext[None], call: ToolCall, arguments: dict[str, Any]
        ) -> Deny | None:
            seen.append(call.id)
            return Deny("over the limit") if arguments["amount"] > 100 else None

    script = [tool_calls_response([("pay", {"amount": 500}), ("pay", {"amount": 5})]), "ok"]
    approved = Agent(ScriptedModel(script), tools=[pay], hooks=[Limit()]).run_sync(
        "pay", approve=lambda c: True
    )
    assert calls == [("pay", 5)] and len(seen) == 2
    assert approved.messages[2].content == "Not executed: the call was denied: over the limit"
    seen.clear()
    waiting = Agent(ScriptedModel(script[:1]), tools=[pay], hooks=[Limit()]).run_sync("pay")
    assert len(waiting.pending_approvals) == 2 and seen == []  # nothing runs yet: nothing to check


# --- a hook that raises ---------------------------------------------------------------------------------


class Broken(Hooks[None]):
    """Raises a `RuntimeError` in the one method named `where`."""

    def __init__(self, where: str) -> None:
        self.where = where

    def _maybe(self, method: str) -> None:
        if method == self.where:
            raise RuntimeError(f"{method} is broken")

    def before_request(self, ctx: RunContext[None], request: ModelRequest) -> None:
        self._maybe("before_request")

    def after_response(self, ctx: RunContext[None], response: Any) -> None:
        self._maybe("after_response")

    def check_tool_call(self, ctx: RunContext[None], call: Any) -> None:
        self._maybe("check_tool_call")

    def before_tool_call(self, ctx: RunContext[None], call: ToolCall, arguments: dict[str, Any]) -> None:
        self._maybe("before_tool_call")

    def after_tool_call(self, ctx: RunContext[None], call: ToolCall, result: ToolMessage) -> None:
        self._maybe("after_tool_call")

    def check_answer(self, ctx: RunContext[None], answer: Any) -> None:
        self._maybe("check_answer")


def _failed(agent: Agent[Any, Any], prompt: str, *, stream: bool, **options: Any) -> HookError:
    with pytest.raises(HookError) as info:
        run(agent, prompt, stream=stream, **options)
    return info.value


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize(
    ("where", "roles"),
    [
        ("before_request", ["user"]),
        ("after_response", ["user", "assistant"]),  # the response paid for is on the transcript
        ("check_tool_call", ["user", "assistant"]),
        ("before_tool_call", ["user", "assistant"]),
        ("after_tool_call", ["user", "assistant"]),
        ("check_answer", ["user", "assistant", "tool", "assistant"]),
    ],
)
def test_a_hook_that_raises_fails_the_run_with_its_transcript(
    where: str, roles: list[str], stream: bool
) -> None:
    model = ScriptedModel([tool_call_response("weather", {"city": "Oslo"}), "Sunny."])
    recorder = Recorder()
    error = _failed(Agent(model, tools=[weather], hooks=[Broken(where), recorder]), "weather", stream=stream)
    assert error.hook == f"Broken.{where}"
    assert isinstance(error.__cause__, RuntimeError) and str(error.__cause__) == f"{where} is broken"
    assert f"Broken.{where} raised RuntimeError: {where} is broken" in str(error)
    assert [m.role for m in error.messages] == roles
    assert error.usage is not None and error.usage.requests == len(model.requests)
    assert recorder.seen[-1] == "after_run None HookError"


@pytest.mark.parametrize("stream", [False, True])
def test_a_hook_s_run_error_passes_through_as_it_is(stream: bool) -> None:
    class Limit(Hooks[None]):
        def after_response(self, ctx: RunContext[None], response: Any) -> None:
            raise UsageLimitExceeded("enough")

    with pytest.raises(UsageLimitExceeded, match="enough") as info:
        run(Agent(ScriptedModel(["hi"]), hooks=[Limit()]), "hello", stream=stream)
    assert [m.role for m in info.value.messages] == ["user", "assistant"]


def test_an_after_run_hook_that_raises_after_a_result_fails_the_run_with_its_transcript() -> None:
    class Closing(Hooks[None]):
        def after_run(self, ctx: RunContext[None], result: Any, error: Exception | None) -> None:
            raise OSError("log full")

    error = _failed(Agent(ScriptedModel(["hi"]), hooks=[Closing()]), "hello", stream=False)
    assert error.hook == "Closing.after_run" and isinstance(error.__cause__, OSError)
    assert [m.role for m in error.messages] == ["user", "assistant"] and error.usage is not None


def test_a_tool_that_raises_is_still_a_tool_error_for_the_model() -> None:
    @tool
    def fragile() -> str:
        """Breaks."""
        raise RuntimeError("tool broke")

    model = ScriptedModel([tool_call_response("fragile", {}), "ok"])
    result = Agent(model, tools=[fragile], hooks=[Broken("none")]).run_sync("go")
    assert result.output == "ok"
    assert "tool broke" in result.messages[2].content


class _Unprintable(Exception):
    def __str__(self) -> str:
        raise ValueError("no text")


@pytest.mark.parametrize(("raised", "text"), [(KeyError(), "KeyError"), (_Unprintable(), "_Unprintable")])
def test_an_exception_without_text_is_named_by_its_type(raised: Exception, text: str) -> None:
    class Raising(Hooks[None]):
        def before_request(self, ctx: RunContext[None], request: ModelRequest) -> None:
            raise raised

    error = _failed(Agent(ScriptedModel(["hi"]), hooks=[Raising()]), "hello", stream=False)
    assert str(error) == f"Raising.before_request raised {text}" and error.__cause__ is raised
