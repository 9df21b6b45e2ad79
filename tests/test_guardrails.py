"""Input and output guardrails (`agentkit.hooks`): an input guardrail runs beside the first request and
cancels it when it trips; an output guardrail checks the answer before the run returns."""

from __future__ import annotations

import asyncio
import io
from typing import Any

import pytest
from pydantic import BaseModel

from agentkit import (
    Agent,
    AssistantMessage,
    Deny,
    GuardrailTripped,
    HookError,
    InputGuardrail,
    OutputGuardrail,
    RunContext,
    UsageLimitExceeded,
    tool,
)
from agentkit.cli._render import PlainRenderer
from agentkit.events import Event, GuardrailTriggered, RunFinished, TextDelta, ToolCallDenied
from agentkit.messages import Message, SystemMessage, ToolCall, UserMessage
from agentkit.models.openai import OpenAIChatModel
from agentkit.testing import (
    FunctionModel,
    LoopbackServer,
    RequestInfo,
    ScriptedModel,
    tool_call_response,
)
from agentkit.usage import Usage

KEY = "fake-guardrail-test-key-0123456789"


def no_secrets(ctx: RunContext[Any], text: str) -> Deny | None:
    return Deny("the message contains a password") if "password" in text.lower() else None


class Stuck:
    """A model whose request never ends (until cancelled)."""

    def __init__(self) -> None:
        self.cancelled = False

    async def __call__(self, messages: list[Message], info: RequestInfo) -> str:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        raise AssertionError("unreachable")  # pragma: no cover


async def tripped(
    agent: Agent[Any, Any], prompt: Any, *, stream: bool
) -> tuple[GuardrailTripped, list[Event]]:
    """The error of a run that must trip, and the events streamed before it."""
    events: list[Event] = []
    try:
        if stream:
            async with agent.run_stream(prompt) as run:
                async for event in run:
                    events.append(event)
        else:
            await agent.run(prompt)
    except GuardrailTripped as error:
        return error, events
    raise AssertionError("the run did not trip")  # pragma: no cover


async def collect(agent: Agent[Any, Any], prompt: str, *, stream: bool) -> tuple[Any, list[Event]]:
    events: list[Event] = []
    if not stream:
        return await agent.run(prompt), events
    async with agent.run_stream(prompt) as run:
        async for event in run:
            events.append(event)
    return run.result, events


@pytest.mark.parametrize("stream", [False, True])
async def test_a_tripped_input_guardrail_cancels_the_first_request(stream: bool) -> None:
    stuck = Stuck()
    agent = Agent(FunctionModel(stuck), hooks=[InputGuardrail(no_secrets)])
    error, events = await tripped(agent, "my password is hunter2", stream=stream)
    assert (error.guardrail, error.kind, error.reason) == (
        "no_secrets",
        "input",
        "the message contains a password",
    )
    assert str(error) == "The input guardrail 'no_secrets' tripped: the message contains a password"
    assert [m.role for m in error.messages] == ["user"] and error.usage is not None
    assert stuck.cancelled
    if stream:
        assert events[-1] == GuardrailTriggered(
            guardrail="no_secrets", guardrail_kind="input", reason="the message contains a password"
        )


@pytest.mark.parametrize("stream", [False, True])
async def test_an_answer_waits_for_the_input_guardrails_to_pass(stream: bool) -> None:
    checked: list[str] = []

    async def slow_check(ctx: RunContext[Any], text: str) -> None:
        await asyncio.sleep(0.05)
        checked.append(text)

    agent = Agent(ScriptedModel(["Hello!"]), hooks=[InputGuardrail(slow_check), InputGuardrail(no_secrets)])
    result, events = await collect(agent, "hi there", stream=stream)
    assert result.output == "Hello!" and checked == ["hi there"]
    assert not any(isinstance(e, GuardrailTriggered) for e in events)


@pytest.mark.parametrize("stream", [False, True])
async def test_a_dropped_answer_is_charged_as_an_answer_taken_is(stream: bool) -> None:
    """A response whose usage says `requests=0` still counts one request, as it does when the run takes it."""

    async def slow_refusal(ctx: RunContext[Any], text: str) -> Deny:
        await asyncio.sleep(0.05)
        return Deny("off topic")

    usage = Usage(requests=0, input_tokens=7, output_tokens=3)
    taken = await Agent(ScriptedModel([AssistantMessage(content="ok", usage=usage)])).run("hi")
    model = ScriptedModel([AssistantMessage(content="ok", usage=usage)])
    error, _ = await tripped(Agent(model, hooks=[InputGuardrail(slow_refusal)]), "hi", stream=stream)
    assert error.usage == taken.usage
    assert error.usage is not None and error.usage.requests == 1


@pytest.mark.parametrize("stream", [False, True])
async def test_an_answer_that_came_before_the_guardrail_tripped_is_dropped_but_paid_for(stream: bool) -> None:
    async def slow_refusal(ctx: RunContext[Any], text: str) -> Deny:
        await asyncio.sleep(0.05)
        return Deny("off topic")

    model = ScriptedModel(["an answer that streams in several pieces"], chunk_size=4)
    agent = Agent(model, hooks=[InputGuardrail(slow_refusal, name="topic")])
    error, events = await tripped(agent, "tell me a joke", stream=stream)
    assert str(error) == "The input guardrail 'topic' tripped: off topic"
    assert [m.role for m in error.messages] == ["user"]  # the answer is not in the transcript
    assert error.usage is not None and error.usage.requests == 1
    assert len(model.requests) == 1
    if stream:  # the deltas were held back, and dropped
        assert [e.kind for e in events] == ["request_started", "guardrail_triggered"]


async def test_deltas_held_back_while_the_guardrails_run_come_out_whole_and_in_order() -> None:
    async def slow_check(ctx: RunContext[Any], text: str) -> None:
        await asyncio.sleep(0.05)

    model = ScriptedModel(["an answer that streams in several pieces"], chunk_size=4)
    result, events = await collect(Agent(model, hooks=[InputGuardrail(slow_check)]), "hi", stream=True)
    deltas = [e.text for e in events if isinstance(e, TextDelta)]
    assert len(deltas) > 3 and "".join(deltas) == result.output == "an answer that streams in several pieces"
    assert [e.kind for e in events][-2:] == ["response_finished", "run_finished"]


async def test_a_guardrail_that_passes_late_lets_later_turns_go_unchecked() -> None:
    seen: list[str] = []

    def check(ctx: RunContext[Any], text: str) -> None:
        seen.append(text)

    model = ScriptedModel([tool_call_response("echo", {"text": "x"}), "done"])

    @tool
    def echo(text: str) -> str:
        """Echo."""
        return text

    agent = Agent(model, tools=[echo], hooks=[InputGuardrail(check)])
    assert (await agent.run("go")).output == "done"
    assert seen == ["go"]  # once, for the run's input


async def test_a_guardrail_that_runs_before_the_request_saves_the_request() -> None:
    model = ScriptedModel(["never sent"])
    agent = Agent(model, hooks=[InputGuardrail(no_secrets, concurrent=False)])
    _, events = await tripped(agent, "password: 1234", stream=True)
    assert model.requests == [] and isinstance(events[-1], GuardrailTriggered)
    assert (await agent.run("fine")).output == "never sent"


async def test_the_guardrail_reads_the_last_user_text_of_image_prompts_too() -> None:
    from agentkit import TextPart

    agent = Agent(FunctionModel(Stuck()), hooks=[InputGuardrail(no_secrets)])
    with pytest.raises(GuardrailTripped):
        await agent.run([TextPart(text="the PASSWORD is x")])


def test_a_failing_check_ends_the_run_and_cancels_the_request() -> None:
    def broken(ctx: RunContext[Any], text: str) -> None:
        raise RuntimeError("checker down")

    stuck = Stuck()
    with pytest.raises(HookError, match="checker down") as info:
        Agent(FunctionModel(stuck), hooks=[InputGuardrail(broken)]).run_sync("hi")
    assert stuck.cancelled
    assert isinstance(info.value.__cause__, RuntimeError) and info.value.messages


def test_an_input_guardrail_over_the_wire_drops_the_streamed_answer() -> None:
    from agentkit.testing import RawStream

    with LoopbackServer() as server:
        server.add(lambda body: RawStream(events=server.stream_events("a long answer"), delay=0.2))
        model = OpenAIChatModel(
            "google/gemini-2.0-flash-001", base_url=server.base_url, api_key=KEY, max_retries=0
        )
        agent = Agent(model, hooks=[InputGuardrail(no_secrets)])
        events: list[Event] = []
        stream = agent.run_stream_sync("password?")
        with pytest.raises(GuardrailTripped) as info:
            events.extend(stream)
        assert len(server.bodies) <= 1
    assert [e.kind for e in events][-1] == "guardrail_triggered"
    assert not any(e.kind == "text_delta" for e in events)
    assert [m.role for m in info.value.messages] == ["user"]


class City(BaseModel):
    name: str
    population: int


def plausible(ctx: RunContext[Any], city: City) -> Deny | None:
    return Deny(f"{city.name} cannot have {city.population} people") if city.population > 50_000_000 else None


@pytest.mark.parametrize("stream", [False, True])
async def test_an_output_guardrail_stops_an_answer_it_refuses(stream: bool) -> None:
    answer = tool_call_response("final_result", {"name": "Oslo", "population": 90_000_000})
    agent = Agent(ScriptedModel([answer]), output_type=City, hooks=[OutputGuardrail(plausible)])
    error, events = await tripped(agent, "Oslo?", stream=stream)
    assert (error.kind, error.guardrail) == ("output", "plausible")
    assert isinstance(error.messages[1], AssistantMessage)  # the transcript keeps the answer
    assert error.usage is not None and error.usage.requests == 1
    if stream:
        assert isinstance(events[-1], GuardrailTriggered) and events[-1].guardrail_kind == "output"
        assert not any(isinstance(e, RunFinished) for e in events)


async def test_an_output_guardrail_lets_a_good_answer_through_and_sees_text_output() -> None:
    seen: list[Any] = []

    async def check(ctx: RunContext[Any], output: str) -> None:
        seen.append((output, ctx.run_step))

    agent = Agent(ScriptedModel(["fine"]), hooks=[OutputGuardrail(check, name="log")])
    assert (await agent.run("hi")).output == "fine"
    assert seen == [("fine", 1)]


async def test_a_run_waiting_for_approval_has_no_output_to_check() -> None:
    @tool(requires_approval=True)
    def pay(amount: int) -> str:
        """Pay."""
        return "paid"

    def never(ctx: RunContext[Any], output: Any) -> Deny:
        raise AssertionError("called")  # pragma: no cover

    agent = Agent(
        ScriptedModel([tool_call_response("pay", {"amount": 5})]), tools=[pay], hooks=[OutputGuardrail(never)]
    )
    result = await agent.run("pay 5")
    assert result.is_pending


def test_the_command_line_shows_denied_calls_and_tripped_guardrails() -> None:
    err = io.StringIO()
    renderer = PlainRenderer(out=io.StringIO(), err=err)
    call = ToolCall(id="c1", name="delete_file", arguments='{"path": "/etc/passwd"}')
    renderer.event(ToolCallDenied(call=call, reason="system files are off limits"))
    renderer.event(GuardrailTriggered(guardrail="no_secrets", guardrail_kind="input", reason="a password"))
    assert err.getvalue().splitlines() == [
        'denied: delete_file(path="/etc/passwd"): system files are off limits',
        "input guardrail no_secrets tripped: a password",
    ]


def test_guardrails_are_named_by_their_function_or_their_name() -> None:
    assert InputGuardrail(no_secrets).label == "no_secrets"
    assert OutputGuardrail(plausible, name="sane").label == "sane"
    assert InputGuardrail(lambda ctx, text: None).label == "<lambda>"


async def test_a_run_continuing_without_a_user_message_checks_empty_text() -> None:
    seen: list[str] = []

    def check(ctx: RunContext[Any], text: str) -> None:
        seen.append(text)

    history: list[Message] = [SystemMessage(content="Greet."), UserMessage(content="hi", feedback=True)]
    agent = Agent(ScriptedModel(["hello"]), hooks=[InputGuardrail(check)])
    assert (await agent.run(None, message_history=history)).output == "hello"
    assert seen == [""]


def test_over_the_wire_a_guardrail_passing_mid_stream_lets_the_held_deltas_out_in_order() -> None:
    from agentkit.testing import RawStream

    async def slow_check(ctx: RunContext[Any], text: str) -> None:
        await asyncio.sleep(0.21)  # between the first delta (the 3rd event, 0.18 s) and the next (0.24 s)

    answer = "one two three four five six seven eight"
    with LoopbackServer() as server:
        server.add(
            lambda body: RawStream(events=server.stream_events(AssistantMessage(content=answer)), delay=0.06)
        )
        model = OpenAIChatModel(
            "google/gemini-2.0-flash-001", base_url=server.base_url, api_key=KEY, max_retries=0
        )
        events = list(Agent(model, hooks=[InputGuardrail(slow_check)]).run_stream_sync("count"))
    deltas = [e.text for e in events if isinstance(e, TextDelta)]
    assert "".join(deltas) == answer and len(deltas) > 1
    finished = events[-1]
    assert isinstance(finished, RunFinished) and finished.result.output == answer


async def test_sync_checks_run_in_a_worker_thread_and_async_callables_are_awaited() -> None:
    import threading

    threads: list[str] = []

    def sync_check(ctx: RunContext[Any], text: str) -> None:
        threads.append(threading.current_thread().name)

    class AsyncCheck:
        async def __call__(self, ctx: RunContext[Any], output: str) -> Deny | None:
            threads.append(threading.current_thread().name)
            return Deny("no") if output == "bad" else None

    hooks = [InputGuardrail(sync_check), OutputGuardrail(AsyncCheck(), name="async")]
    assert (await Agent(ScriptedModel(["good"]), hooks=hooks).run("hi")).output == "good"
    assert threads[0].startswith("agentkit-tool") and threads[1] == threading.current_thread().name
    error, _ = await tripped(Agent(ScriptedModel(["bad"]), hooks=hooks), "hi", stream=False)
    assert error.guardrail == "async"


async def test_leaving_the_stream_early_cancels_the_request_and_the_guardrails() -> None:
    stuck, checking = Stuck(), Stuck()

    async def check(ctx: RunContext[Any], text: str) -> None:
        await checking([], None)  # type: ignore[arg-type]

    agent = Agent(FunctionModel(stuck), hooks=[InputGuardrail(check)])
    async with agent.run_stream("hi") as run:
        assert (await anext(run)).kind == "request_started"
        waiting = asyncio.ensure_future(anext(run))
        await asyncio.sleep(0.05)  # the request and the guardrail are under way
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
    assert stuck.cancelled and checking.cancelled


async def tripped_in(session: Any, agent: Agent[Any, Any], prompt: str, *, stream: bool) -> GuardrailTripped:
    """The error of a run on `session` that must trip."""
    try:
        if stream:
            async with agent.run_stream(prompt, session=session) as run:
                async for _ in run:
                    pass
        else:
            await agent.run(prompt, session=session)
    except GuardrailTripped as error:
        return error
    raise AssertionError("the run did not trip")  # pragma: no cover


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("concurrent", [True, False])
async def test_a_tripped_input_is_not_kept_in_the_session_for_the_next_turn(
    tmp_path: Any, stream: bool, concurrent: bool
) -> None:
    from agentkit.sessions import SQLiteSession

    session = SQLiteSession(tmp_path / "chat.db", "c")
    guarded = Agent(ScriptedModel(["seen"]), hooks=[InputGuardrail(no_secrets, concurrent=concurrent)])
    error = await tripped_in(session, guarded, "my password is hunter2", stream=stream)
    assert [m.text for m in error.messages if isinstance(m, UserMessage)] == ["my password is hunter2"]
    assert await session.load() == []
    # the next turn does not send the password the guardrail kept from the model
    model = ScriptedModel(["hello"])
    await Agent(model, hooks=[InputGuardrail(no_secrets)]).run("hi", session=session)
    assert "hunter2" not in str(model.requests[0].messages)


@pytest.mark.parametrize("stream", [False, True])
async def test_a_denied_answer_is_not_kept_in_the_session(tmp_path: Any, stream: bool) -> None:
    from agentkit.sessions import SQLiteSession

    def short(ctx: RunContext[Any], output: str) -> Deny | None:
        return Deny("too long") if len(output) > 10 else None

    session = SQLiteSession(tmp_path / "chat.db", "c")
    agent = Agent(ScriptedModel(["an answer far too long"]), hooks=[OutputGuardrail(short)])
    error = await tripped_in(session, agent, "hi", stream=stream)
    assert error.messages[-1].content == "an answer far too long"  # the error keeps it
    assert [m.role for m in await session.load()] == ["user"]  # the session does not
    await Agent(ScriptedModel(["short"]), hooks=[OutputGuardrail(short)]).run("again", session=session)
    assert [m.role for m in await session.load()] == ["user", "user", "assistant"]  # one that passes is


def _unreachable(ctx: RunContext[Any], value: Any) -> None:
    raise ConnectionError("moderation service unreachable")


async def _failed(agent: Agent[Any, Any], prompt: str, *, stream: bool) -> HookError:
    with pytest.raises(HookError) as info:
        await collect(agent, prompt, stream=stream)
    return info.value


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("concurrent", [True, False])
async def test_an_input_guardrail_whose_check_raises_fails_the_run_with_its_transcript(
    stream: bool, concurrent: bool
) -> None:
    guardrail = InputGuardrail(_unreachable, name="moderation", concurrent=concurrent)
    error = await _failed(Agent(ScriptedModel(["hi"]), hooks=[guardrail]), "hello", stream=stream)
    assert error.hook == "input guardrail 'moderation'"
    assert str(error) == "input guardrail 'moderation' raised ConnectionError: moderation service unreachable"
    assert isinstance(error.__cause__, ConnectionError)
    assert [m.role for m in error.messages] == ["user"] and error.usage is not None


@pytest.mark.parametrize("stream", [False, True])
async def test_an_output_guardrail_whose_check_raises_fails_the_run_with_its_transcript(stream: bool) -> None:
    error = await _failed(
        Agent(ScriptedModel(["hi"]), hooks=[OutputGuardrail(_unreachable)]), "hello", stream=stream
    )
    assert error.hook == "output guardrail '_unreachable'" and isinstance(error.__cause__, ConnectionError)
    assert [m.role for m in error.messages] == ["user", "assistant"]
    assert error.usage is not None and error.usage.requests == 1


async def test_a_guardrail_s_run_error_passes_through_as_it_is() -> None:
    def over_budget(ctx: RunContext[Any], text: str) -> None:
        raise UsageLimitExceeded("the moderation budget is spent")

    with pytest.raises(UsageLimitExceeded, match="moderation budget") as info:
        await Agent(ScriptedModel(["hi"]), hooks=[InputGuardrail(over_budget)]).run("hello")
    assert [m.role for m in info.value.messages] == ["user"]


async def _on_session(session: Any, agent: Agent[Any, Any], prompt: str, *, stream: bool) -> None:
    if not stream:
        await agent.run(prompt, session=session)
        return
    async with agent.run_stream(prompt, session=session) as run:
        async for _ in run:
            pass


@pytest.mark.parametrize("stream", [False, True])
async def test_what_a_guardrail_could_not_check_is_not_kept_in_the_session(
    tmp_path: Any, stream: bool
) -> None:
    """A check that raised cleared nothing: the prompt (or the answer) is not stored for a later turn to send."""
    from agentkit.sessions import SQLiteSession

    session = SQLiteSession(tmp_path / "chat.db", "c")
    for guardrail, roles in ((InputGuardrail(_unreachable), []), (OutputGuardrail(_unreachable), ["user"])):
        agent = Agent(ScriptedModel(["hi"]), hooks=[guardrail])
        with pytest.raises(HookError) as info:
            await _on_session(session, agent, "my password is hunter2", stream=stream)
        assert info.value.guardrail == "_unreachable" and info.value.messages
        assert [m.role for m in await session.load()] == roles
