"""The same failing call made again (`RunPolicy(explain_repeated_failures=True)`, on in the local profile): the
second identical failure quotes the tool's description of the argument, a third identical call is not run."""

from __future__ import annotations

import pytest
from policy_support import LOCAL_POLICY
from pydantic import BaseModel

from agentkit import Agent, ToolMessage, UnexpectedModelBehavior, tool
from agentkit.local.policy import GroundingCheck, RunPolicy
from agentkit.local.policy._failures import described_arguments, involved_arguments
from agentkit.models.profiles import ModelProfile
from agentkit.testing import ScriptedModel, tool_call_response
from agentkit.tool import ToolDefinition

RAN: list[str] = []


@tool
def calculate(expression: str) -> float:
    """Evaluate an arithmetic expression.

    Args:
        expression: A Python expression: `**` for powers, not `^`.
    """
    RAN.append(expression)
    if "^" in expression:
        raise ValueError(f"invalid syntax in {expression!r}")
    return float(eval(expression, {"__builtins__": {}}))


@tool
def repeat(word: str, times: int) -> str:
    """Repeat a word.

    Args:
        times: How many times, a whole number from 1 to 5.
    """
    RAN.append(f"{word} x{times}")
    return " ".join([word] * times)


ERROR = "The tool raised ValueError: invalid syntax in '2^10'"
SECOND = (
    f"{ERROR}\n\nThis call failed the same way twice. What `calculate` says of `expression`: "
    '"A Python expression: `**` for powers, not `^`."\n'
    "The same call will not be run again unchanged: change `expression` as the description says, or answer "
    "without `calculate`."
)
THIRD = (
    f"Not run: this call already failed twice with the same error ({ERROR}). What `calculate` says of "
    '`expression`: "A Python expression: `**` for powers, not `^`."\n'
    "It will not be run again unchanged: change `expression` as the description says, or answer without "
    "`calculate`."
)
BAD = tool_call_response("calculate", {"expression": "2^10"})
GOOD = tool_call_response("calculate", {"expression": "2 ** 10"})


def results(messages: object) -> list[tuple[bool, str]]:
    return [(m.is_error, m.content) for m in messages if isinstance(m, ToolMessage)]  # type: ignore[attr-defined]


def test_a_second_identical_failure_quotes_the_argument_and_a_third_call_is_not_run() -> None:
    RAN.clear()
    model = ScriptedModel([BAD, BAD, BAD, GOOD, "2 to the 10th is 1024."], profile=LOCAL_POLICY)
    result = Agent(model, tools=[calculate]).run_sync("What is 2 to the power of 10?")
    assert result.output == "2 to the 10th is 1024."
    assert RAN == ["2^10", "2^10", "2 ** 10"]  # the third identical call did not run; the changed one did
    assert results(result.messages) == [(True, ERROR), (True, SECOND), (True, THIRD), (False, "1024.0")]
    # what the model read is what the transcript keeps
    assert results(model.requests[3].messages) == [(True, ERROR), (True, SECOND), (True, THIRD)]
    assert [r.parameters.tool_choice for r in model.requests] == [None] * 5


def test_insisting_once_more_asks_for_an_answer() -> None:
    RAN.clear()
    model = ScriptedModel([BAD, BAD, BAD, BAD, "I cannot compute it."], profile=LOCAL_POLICY)
    result = Agent(model, tools=[calculate]).run_sync("What is 2 to the power of 10?")
    assert result.output == "I cannot compute it."
    assert RAN == ["2^10", "2^10"]
    assert results(result.messages)[2:] == [(True, THIRD), (True, THIRD)]
    assert [r.parameters.tool_choice for r in model.requests] == [None, None, None, None, "none"]


def test_other_profiles_and_policies_without_the_option_are_unaffected() -> None:
    for profile in (ModelProfile(), ModelProfile(family="test", policy=RunPolicy(checker=GroundingCheck))):
        RAN.clear()
        model = ScriptedModel([BAD, BAD, GOOD, "1024"], profile=profile)
        result = Agent(model, tools=[calculate]).run_sync("What is 2 to the power of 10?")
        assert RAN == ["2^10", "2^10", "2 ** 10"]
        assert results(result.messages) == [(True, ERROR), (True, ERROR), (False, "1024.0")]
    # without the option the third identical failure ends the run (retries=2), as ever
    RAN.clear()
    with pytest.raises(UnexpectedModelBehavior, match="failed 3 times in a row"):
        Agent(ScriptedModel([BAD, BAD, BAD], profile=ModelProfile()), tools=[calculate]).run_sync("2^10?")


@tool
def flaky(expression: str) -> float:
    """Evaluate an expression.

    Args:
        expression: Digits and + only.
    """
    RAN.append(expression)
    raise ValueError(f"attempt {len(RAN)} failed")


def test_a_call_failing_another_way_is_not_explained() -> None:
    RAN.clear()
    call = tool_call_response("flaky", {"expression": "1+1"})
    model = ScriptedModel([call, call, call, "no"], profile=LOCAL_POLICY)
    result = Agent(model, tools=[flaky], retries=3).run_sync("1+1?")
    assert RAN == ["1+1"] * 3  # each error differs: never "the same way"
    assert all("failed the same way" not in content for _, content in results(result.messages))
    # another call between two identical failures: still the same call failing twice
    RAN.clear()
    model = ScriptedModel([BAD, GOOD, BAD, "1024"], profile=LOCAL_POLICY)
    result = Agent(model, tools=[calculate]).run_sync("What is 2 to the power of 10?")
    assert results(result.messages) == [(True, ERROR), (False, "1024.0"), (True, SECOND)]


def test_a_repeated_invalid_call_is_explained_in_what_the_model_reads() -> None:
    RAN.clear()
    bad = tool_call_response("repeat", {"word": "hi", "times": "many"})
    model = ScriptedModel(
        [bad, bad, tool_call_response("repeat", {"word": "hi", "times": 2}), "hi hi"], profile=LOCAL_POLICY
    )
    result = Agent(model, tools=[repeat]).run_sync("Say hi 2 times.")
    assert result.output == "hi hi" and RAN == ["hi x2"]
    invalid = (
        "Invalid arguments for tool 'repeat':\n- $.times: Input should be a valid integer, unable to parse "
        'string as an integer (got "many")\nFix the arguments and call the tool again.'
    )
    explained = (
        f"{invalid}\n\nThis call failed the same way twice. What `repeat` says of `times`: "
        '"How many times, a whole number from 1 to 5."\n'
        "The same call will not be run again unchanged: change `times` as the description says, or answer "
        "without `repeat`."
    )
    assert results(model.requests[1].messages) == [(True, invalid)]
    assert results(model.requests[2].messages) == [(True, invalid), (True, explained)]
    assert results(model.requests[3].messages) == [(True, invalid), (True, explained), (False, "hi hi")]
    # the run answers an invalid call itself: the transcript keeps its own error
    assert results(result.messages) == [(True, invalid), (True, invalid), (False, "hi hi")]


def test_a_third_identical_invalid_call_is_answered_not_run_again() -> None:
    bad = tool_call_response("repeat", {"word": "hi", "times": "many"})
    model = ScriptedModel([bad, bad, bad, "I could not say it 2 times."], profile=LOCAL_POLICY)
    Agent(model, tools=[repeat], retries=3).run_sync("Say hi 2 times.")
    third = results(model.requests[3].messages)[2][1]
    assert third.startswith("Not run: this call already failed twice with the same error (Invalid arguments")
    assert 'What `repeat` says of `times`: "How many times, a whole number from 1 to 5."' in third


def test_the_tool_description_stands_in_for_an_argument_without_one() -> None:
    definition = ToolDefinition(
        name="repeat",
        description="Repeat a word.",
        parameters={
            "type": "object",
            "properties": {"word": {"type": "string"}, "times": {"description": "From 1 to 5."}},
        },
    )
    assert described_arguments(definition, "repeat", ["word"]) == (
        'What `repeat` says of its arguments:\n- `repeat` itself: "Repeat a word."'
    )
    assert described_arguments(definition, "repeat", ["word", "times"]) == (
        'What `repeat` says of its arguments:\n- `times`: "From 1 to 5."\n- `repeat` itself: "Repeat a word."'
    )
    assert described_arguments(definition, "repeat", []) == (
        'What `repeat` says of it:\n- `repeat` itself: "Repeat a word."'
    )
    assert (
        described_arguments(None, "gone", ["x"])
        == "What `gone` says of its arguments:\n- `gone` has no description."
    )
    # the arguments an error names, else those the call sent
    assert involved_arguments(definition, {"word": "a", "times": 9}, "times must be at most 5") == ["times"]
    assert involved_arguments(definition, {"word": "a", "times": 9}, "no") == ["word", "times"]
    assert involved_arguments(definition, {"other": 1}, "no") == ["other"]
    assert involved_arguments(None, None, "no") == []
    no_schema = ToolDefinition(name="t", description="T.", parameters={"type": "object", "properties": True})
    assert involved_arguments(no_schema, {"a": 1}, "a") == ["a"]


@tool
def once_down(expression: str) -> str:
    """Down once in two calls."""
    RAN.append(expression)
    if len(RAN) % 2:
        raise ValueError("down")
    return "up"


def test_a_success_of_the_same_call_starts_its_count_again() -> None:
    RAN.clear()
    call = tool_call_response("once_down", {"expression": "x"})
    profile = ModelProfile(family="test", policy=RunPolicy(explain_repeated_failures=True))
    model = ScriptedModel([call, call, call, "up"], profile=profile)
    result = Agent(model, tools=[once_down]).run_sync("x?")
    assert RAN == ["x", "x", "x"]
    down = "The tool raised ValueError: down"
    assert results(result.messages) == [(True, down), (False, "up"), (True, down)]


class Power(BaseModel):
    value: int


def test_a_final_result_call_is_left_to_the_run() -> None:
    final = tool_call_response("final_result", {"value": 1024})
    model = ScriptedModel([BAD, BAD, GOOD, final], profile=LOCAL_POLICY)
    result = Agent(model, tools=[calculate], output_type=Power).run_sync("What is 2 to the power of 10?")
    assert result.output == Power(value=1024)


def test_failures_of_an_earlier_run_are_that_runs() -> None:
    bad = tool_call_response("repeat", {"word": "hi", "times": "many"})
    agent = Agent(ScriptedModel([bad, "I could not say it 2 times."], profile=LOCAL_POLICY), tools=[repeat])
    first = agent.run_sync("Say hi 2 times.")
    model = ScriptedModel([bad, "Still not 2 times."], profile=LOCAL_POLICY)
    Agent(model, tools=[repeat]).run_sync("Again, 2 times.", message_history=first.messages)
    sent = results(model.requests[1].messages)
    assert len(sent) == 2 and sent[0] == sent[1]  # the second run's first failure is a first one
    assert "failed the same way" not in sent[1][1]
