"""The hook points for checks (`check_tool_call` with `Reply`, `check_answer`, `may_check_answer`) and the hooks a
model profile installs for each run (`ModelProfile.policy`); on the wire through the real `AsyncOpenAI` client."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from loopback_support import model_at
from pydantic import BaseModel

import agentkit
from agentkit import Agent, AssistantMessage, Hooks, Reply, RunContext, RunResult, ToolCall, UserError, tool
from agentkit._run.run_tools import NOT_EXECUTED
from agentkit._run.tool_calls import ValidatedCall
from agentkit.events import Event, FeedbackSent, RunFinished, TextDelta, ToolCallFinished
from agentkit.models.profiles import ModelProfile, profile_for
from agentkit.testing import LoopbackServer, ScriptedModel, tool_call_response, tool_calls_response

ran: list[tuple[str, Any]] = []


@tool
def price(item: str) -> str:
    """The price of an item."""
    ran.append(("price", item))
    return f"{item}: 12 EUR"


@tool(requires_approval=True)
def pay(amount: int) -> str:
    """Pay an amount."""
    ran.append(("pay", amount))
    return "paid"


@pytest.fixture(autouse=True)
def _clear() -> None:
    ran.clear()


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as srv:
        yield srv


def run(agent: Agent[Any, Any], prompt: str, *, stream: bool) -> tuple[RunResult[Any], list[Event]]:
    if not stream:
        return agent.run_sync(prompt), []
    events = list(agent.run_stream_sync(prompt))
    assert isinstance(events[-1], RunFinished)
    return events[-1].result, events


class NoBread(Hooks[None]):
    """Answers calls for bread itself, as an error the model reads word for word."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, Any, bool]] = []

    async def check_tool_call(self, ctx: RunContext[None], call: ValidatedCall) -> Reply | None:
        self.seen.append((ctx.tool_name or "", call.decoded, call.final))
        if call.decoded.get("item") == "bread":
            return Reply("Bread is not sold here.", is_error=True, answer_next=True)
        return None


@pytest.mark.parametrize("stream", [False, True])
def test_a_reply_answers_the_call_word_for_word_and_asks_for_an_answer_next(
    server: LoopbackServer, stream: bool
) -> None:
    server.add(
        tool_calls_response([("price", {"item": "bread"}), ("price", {"item": "milk"})]),
        "Milk costs 12 EUR; there is no bread.",
    )
    hook = NoBread()
    agent = Agent(model_at(server), tools=[price], hooks=[hook])
    result, events = run(agent, "Prices of bread and milk?", stream=stream)
    assert ran == [("price", "milk")]  # the answered call did not run
    assert hook.seen == [("price", {"item": "bread"}, False), ("price", {"item": "milk"}, False)]
    sent = [m for m in server.bodies[1]["messages"] if m["role"] == "tool"]
    assert [m["content"] for m in sent] == ["Bread is not sold here.", "milk: 12 EUR"]
    assert server.bodies[1]["tool_choice"] == "none"  # answer_next: the next request asks for an answer
    assert "tool_choice" not in server.bodies[0] or server.bodies[0]["tool_choice"] != "none"
    assert result.messages[2].is_error and not result.messages[3].is_error  # type: ignore[union-attr]
    assert result.usage.tool_calls == 1
    if stream:
        finished = [e for e in events if isinstance(e, ToolCallFinished)]
        assert [e.message.content for e in finished] == ["Bread is not sold here.", "milk: 12 EUR"]


class AnswerWithSum(NoBread):
    """Also questions an answer without a number, asking for a call."""

    async def check_answer(self, ctx: RunContext[None], answer: AssistantMessage) -> str | None:
        return (
            None
            if any(c.isdigit() for c in str(answer.content))
            else "Call price for milk and give its price."
        )


def test_answer_next_is_for_the_next_request_only(server: LoopbackServer) -> None:
    server.add(
        tool_call_response("price", {"item": "bread"}),
        "There is no bread.",  # asked without tools, then questioned: the next request may call again
        tool_call_response("price", {"item": "milk"}),
        "Milk costs 12 EUR.",
    )
    result = Agent(model_at(server), tools=[price], hooks=[AnswerWithSum()]).run_sync("Bread?")
    assert result.output == "Milk costs 12 EUR." and ran == [("price", "milk")]
    choices = [body.get("tool_choice") for body in server.bodies]
    assert choices[1] == "none" and "none" not in (choices[0], choices[2], choices[3])


def test_a_reply_is_not_a_failure_of_the_tool() -> None:
    script = [tool_call_response("price", {"item": "bread"})] * 3 + ["No bread."]
    agent = Agent(ScriptedModel(script), tools=[price], hooks=[NoBread()], retries=0)
    result = agent.run_sync("bread?")  # three error replies in a row, with retries=0: the run goes on
    assert result.output == "No bread." and ran == []


def test_check_tool_call_comes_before_approval() -> None:
    asked: list[int] = []

    class AtMost100:
        def check_tool_call(self, ctx: RunContext[None], call: ValidatedCall) -> Reply | None:
            return Reply("Refused: over 100.", is_error=True) if call.arguments["amount"] > 100 else None

    def approve(call: ToolCall) -> bool:
        asked.append(int(call.arguments.split(":")[1].strip(" }")))
        return True

    script = [tool_calls_response([("pay", {"amount": 500}), ("pay", {"amount": 5})]), "ok"]
    result = Agent(ScriptedModel(script), tools=[pay], hooks=[AtMost100()]).run_sync("pay", approve=approve)
    assert result.output == "ok"
    assert asked == [5]  # no one is asked to approve a call a hook answered
    assert ran == [("pay", 5)]


class Answer(BaseModel):
    total: int


def test_check_tool_call_sees_the_final_result_call_and_a_reply_keeps_the_run_going() -> None:
    seen: list[tuple[bool, Any]] = []

    class Positive:
        def check_tool_call(self, ctx: RunContext[None], call: ValidatedCall) -> Reply | None:
            seen.append((call.final, call.output))
            if call.final and call.output.total < 0:
                return Reply("The total cannot be negative.", is_error=True)
            return None

    script = [
        tool_call_response("final_result", {"total": -3}),
        tool_call_response("final_result", {"total": 3}),
    ]
    result = Agent(ScriptedModel(script), output_type=Answer, hooks=[Positive()]).run_sync("total?")
    assert result.output == Answer(total=3)
    assert seen == [(True, Answer(total=-3)), (True, Answer(total=3))]
    assert result.messages[2].content == "The total cannot be negative."


class Unsure(Hooks[None]):
    """Questions the first answer once, then takes what comes."""

    def __init__(self) -> None:
        self.left = 1
        self.answers: list[str] = []

    async def check_answer(self, ctx: RunContext[None], answer: AssistantMessage) -> str | None:
        self.answers.append(answer.content)
        assert ctx.messages[-1] is answer
        if self.left:
            self.left -= 1
            return "Are you sure? Check the price first."
        return None

    @property
    def may_check_answer(self) -> bool:
        return self.left > 0


@pytest.mark.parametrize("stream", [False, True])
def test_check_answer_sends_feedback_instead_of_finishing(server: LoopbackServer, stream: bool) -> None:
    server.add("About 10 EUR.", "It is 12 EUR.")
    hook = Unsure()
    result, events = run(
        Agent(model_at(server), tools=[price], hooks=[hook]), "Price of milk?", stream=stream
    )
    assert result.output == "It is 12 EUR."
    assert hook.answers == ["About 10 EUR.", "It is 12 EUR."]
    assert server.bodies[1]["messages"][-2:] == [
        {"role": "assistant", "content": "About 10 EUR."},
        {"role": "user", "content": "Are you sure? Check the price first."},
    ]
    if stream:
        assert [e.reason for e in events if isinstance(e, FeedbackSent)] == ["answer_questioned"]
        # the text is provisional while the hook may still question it, not once it may not
        texts = [(e.text, e.provisional) for e in events if isinstance(e, TextDelta)]
        assert {p for t, p in texts if "10" in t} == {True} and {p for t, p in texts if "12" in t} == {False}


def test_a_check_answer_hook_without_may_check_answer_makes_streamed_text_provisional() -> None:
    class Quiet:
        def check_answer(self, ctx: RunContext[None], answer: AssistantMessage) -> None:
            return None

    events = list(Agent(ScriptedModel(["fine"]), hooks=[Quiet()]).run_stream_sync("hi"))
    assert [e.provisional for e in events if isinstance(e, TextDelta)] == [True]
    plain = list(Agent(ScriptedModel(["fine"])).run_stream_sync("hi"))
    assert [e.provisional for e in plain if isinstance(e, TextDelta)] == [False]


def test_check_methods_returning_something_else_are_user_errors() -> None:
    class WrongCall:
        def check_tool_call(self, ctx: RunContext[None], call: ValidatedCall) -> str:
            return "no"

    class WrongAnswer:
        def check_answer(self, ctx: RunContext[None], answer: AssistantMessage) -> bool:
            return False

    agent = Agent(
        ScriptedModel([tool_call_response("price", {"item": "tea"})]), tools=[price], hooks=[WrongCall()]
    )
    with pytest.raises(
        UserError, match=r"WrongCall.check_tool_call returned str: return Reply\(content\) or None"
    ):
        agent.run_sync("tea?")
    with pytest.raises(UserError, match=r"WrongAnswer.check_answer returned bool: return the feedback"):
        Agent(ScriptedModel(["hi"]), hooks=[WrongAnswer()]).run_sync("hi")


def test_the_base_methods_do_nothing() -> None:
    class Polite(Hooks[None]):
        async def check_tool_call(self, ctx: RunContext[None], call: ValidatedCall) -> Reply | None:
            return await super().check_tool_call(ctx, call)

        async def check_answer(self, ctx: RunContext[None], answer: AssistantMessage) -> str | None:
            return await super().check_answer(ctx, answer)

    hook = Polite()
    assert hook.may_check_answer
    model = ScriptedModel([tool_call_response("price", {"item": "tea"}), "12 EUR"])
    assert Agent(model, tools=[price], hooks=[hook]).run_sync("tea?").output == "12 EUR"


# --- the hooks a profile installs -------------------------------------------------------------------------


def test_a_profiles_policy_makes_hooks_for_each_run_in_front_of_the_agents(server: LoopbackServer) -> None:
    order: list[str] = []
    made: list[Hooks[None]] = []

    class Tag(Hooks[None]):
        def __init__(self, name: str) -> None:
            self.name = name

        async def before_request(self, ctx: RunContext[None], request: Any) -> None:
            order.append(self.name)

    def policy() -> list[object]:
        made.append(Tag("profile"))
        return [made[-1]]

    server.add("one", "two")
    agent = Agent(model_at(server, profile=ModelProfile(policy=policy)), hooks=[Tag("agent")])
    agent.run_sync("a")
    agent.run_sync("b", hooks=[Tag("run")])
    assert order == ["profile", "agent", "profile", "agent", "run"]
    assert len(made) == 2 and made[0] is not made[1]  # one set per run: a hook's state is its run's


def test_a_policy_that_makes_no_list_is_a_user_error() -> None:
    profile = ModelProfile(policy=lambda: "nope")  # type: ignore[arg-type,return-value]
    with pytest.raises(UserError, match="hooks takes a list of hook objects"):
        Agent(ScriptedModel(["hi"], profile=profile)).run_sync("hi")


def test_the_local_profile_comes_from_the_policy_package() -> None:
    from agentkit.local.policy import (
        LOCAL,
        ExplainRepeatedFailures,
        GroundingCheck,
        RunPolicy,
        SteerRepeatedCalls,
    )
    from agentkit.models import profiles

    assert profile_for("local") is LOCAL and profile_for("local:qwen2.5-coder-1.5b") is LOCAL
    assert profiles.LOCAL is LOCAL
    assert LOCAL.policy == RunPolicy(
        checker=GroundingCheck, steer_repeated_calls=True, trace_numbers=True, explain_repeated_failures=True
    )
    first, second = LOCAL.policy(), LOCAL.policy()
    assert [type(h) for h in first] == [SteerRepeatedCalls, ExplainRepeatedFailures, GroundingCheck]
    assert isinstance(first[2], GroundingCheck) and first[2].trace_numbers
    assert all(a is not b for a, b in zip(first, second, strict=True))
    assert RunPolicy()() == []
    with pytest.raises(AttributeError, match="no attribute 'NOPE'"):
        profiles.NOPE  # noqa: B018


def test_the_package_root_gives_run_policy_when_asked() -> None:
    import agentkit
    from agentkit.local.policy import RunPolicy

    assert agentkit.RunPolicy is RunPolicy
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        agentkit.Nope  # noqa: B018


def test_a_checker_takes_up_calls_waiting_for_approval_before_any_request() -> None:
    """A run continuing calls that waited for approval checks them before it makes a request: the checker
    starts its run and its turn there (the numbers the history gives count)."""
    from agentkit.local.policy import GroundingCheck, RunPolicy

    profile = ModelProfile(policy=RunPolicy(checker=GroundingCheck))
    first = Agent(
        ScriptedModel([tool_call_response("pay", {"amount": 40})], profile=profile), tools=[pay]
    ).run_sync("Pay the 40 EUR bill.")
    assert first.pending_approvals and ran == []
    made_up = dataclasses.replace(first.pending_approvals[0], arguments='{"amount": 4000}')
    history = [*first.messages[:-1], dataclasses.replace(first.messages[-1], tool_calls=[made_up])]
    model = ScriptedModel(["Paid."], profile=profile)
    result = Agent(model, tools=[pay]).run_sync(None, message_history=history, approvals={made_up.id: True})
    assert ran == []  # 4000 appears nowhere: questioned, not run
    assert result.messages[-2].content.startswith("Not run: 4000 appears")
    again = Agent(ScriptedModel(["Paid."], profile=profile), tools=[pay]).run_sync(
        None, message_history=first.messages, approvals={first.pending_approvals[0].id: True}
    )
    assert again.output == "Paid." and ran == [("pay", 40)]


@tool
def flaky(n: int) -> str:
    """Fails the first time."""
    ran.append(("flaky", n))
    if len(ran) == 1:
        raise RuntimeError("busy")
    return f"got {n}"


def test_steering_answers_a_repeated_call_but_not_a_failed_one_or_the_final_result() -> None:
    from agentkit.local.policy import REPEATED_CALL, RunPolicy

    profile = ModelProfile(policy=RunPolicy(steer_repeated_calls=True))
    call = tool_call_response("flaky", {"n": 7})
    script = [call, call, call, tool_call_response("final_result", {"total": 7})]
    result = Agent(ScriptedModel(script, profile=profile), tools=[flaky], output_type=Answer).run_sync(
        "seven?"
    )
    assert result.output == Answer(total=7)
    assert ran == [("flaky", 7), ("flaky", 7)]  # failed, so made again it ran; the third time it was answered
    results = [m.content for m in result.messages if m.role == "tool"]
    assert results[2] == REPEATED_CALL.format(result="got 7", name="flaky")
    assert results[3] == "Final result received."


class Positive(Hooks[None]):
    """Records the calls it checks, in order; answers a negative total itself."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def check_tool_call(self, ctx: RunContext[None], call: agentkit.ValidatedCall) -> Reply | None:
        self.seen.append(call.call.name)
        if call.final and call.output.total < 0:
            return Reply("The total cannot be negative.", is_error=True)
        return None


def test_check_tool_call_sees_a_response_s_calls_in_order_the_final_result_call_too() -> None:
    hook = Positive()
    script = [
        tool_calls_response([("price", {"item": "tea"}), ("final_result", {"total": -3})]),
        tool_calls_response([("price", {"item": "milk"}), ("final_result", {"total": 3})]),
    ]
    result = Agent(ScriptedModel(script), tools=[price], output_type=Answer, hooks=[hook]).run_sync("total?")
    assert hook.seen == ["price", "final_result", "price", "final_result"]
    assert result.output == Answer(total=3)
    assert ran == [("price", "tea")]  # the calls beside an accepted final result do not run
    assert [m.content for m in result.messages[-2:]] == [NOT_EXECUTED, "Final result received."]


def test_the_type_check_tool_call_gets_is_public() -> None:
    import agentkit.hooks

    assert agentkit.hooks.ValidatedCall is agentkit.ValidatedCall is ValidatedCall
    assert "ValidatedCall" in agentkit.hooks.__all__ and "ValidatedCall" in agentkit.__all__


def test_beside_an_accepted_final_result_an_invalid_call_is_not_executed_and_a_reply_kept() -> None:
    script = [
        tool_calls_response(
            [("price", {"wrong": 1}), ("price", {"item": "bread"}), ("final_result", {"total": 3})]
        )
    ]
    agent = Agent(ScriptedModel(script), tools=[price], output_type=Answer, hooks=[NoBread()])
    result = agent.run_sync("total?")
    assert result.output == Answer(total=3) and ran == []
    assert [m.content for m in result.messages[2:]] == [
        NOT_EXECUTED,
        "Bread is not sold here.",
        "Final result received.",
    ]
