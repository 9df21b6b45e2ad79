"""Numbers of a final answer traced to their source (`RunPolicy(trace_numbers=True)`, on in the local
profile), and values the user wrote compared as words."""

from __future__ import annotations

import json

import pytest
from policy_support import LOCAL_POLICY

from agentkit import Agent, AssistantMessage, SystemMessage, ToolMessage, UserError, UserMessage, tool
from agentkit.local.policy import GroundingCheck, RunChecker, RunPolicy
from agentkit.local.policy._grounding import copied_examples
from agentkit.local.policy._tracing import (
    sources,
    trace_question,
    untraced,
    unworked,
    unworked_question,
    word_set,
    words,
)
from agentkit.messages import Message
from agentkit.models.profiles import ModelProfile
from agentkit.testing import ScriptedModel, tool_call_response

ONE_STEP = ModelProfile(family="test", policy=RunPolicy(checker=GroundingCheck))
"""The grounding check without tracing: one step from two given numbers is supported."""

RAN: list[str] = []


@tool
def get_employee(employee_id: int) -> dict[str, object]:
    """An employee's record: name and yearly salary in EUR."""
    RAN.append(f"get_employee {employee_id}")
    return {"id": employee_id, "name": "Ana", "salary": 93840}


@tool
def get_rate(base: str, quote: str) -> float:
    """The exchange rate from one currency to another."""
    RAN.append(f"get_rate {base} {quote}")
    return 1.08


@tool
def calculate(expression: str) -> float:
    """Evaluate an arithmetic expression."""
    RAN.append(f"calculate {expression}")
    return float(eval(expression, {"__builtins__": {}}))


def run(prompt: str, script: list[object], profile: ModelProfile = LOCAL_POLICY) -> tuple[object, list[str]]:
    """The run's output and the feedback the model read."""
    RAN.clear()
    model = ScriptedModel(script, profile=profile)  # type: ignore[arg-type]
    result = Agent(model, tools=[get_employee, get_rate, calculate]).run_sync(prompt)
    model.assert_all_used()
    return result.output, [m.text for m in result.messages if isinstance(m, UserMessage) and m.feedback]


LOOKUP = tool_call_response("get_employee", {"employee_id": 10})
RATE = tool_call_response("get_rate", {"base": "EUR", "quote": "USD"})


def test_a_value_at_the_wrong_scale_is_named_with_its_source() -> None:
    prompt = "What does employee 10 earn a year?"
    output, feedback = run(prompt, [LOOKUP, "Ana earns 9384 EUR a year.", "Ana earns 93,840 EUR a year."])
    assert output == "Ana earns 93,840 EUR a year."
    assert feedback == [
        "Your answer has 9384, which no message and no tool result gives:\n"
        "- 9384: `get_employee` returned 93840; your 9384 is that divided by 10.\n"
        "Correct your answer. If you are sure it is right, give the same answer again."
    ]
    # without tracing, 93840 / 10 (the 10 of the question) passes as one step from two given numbers
    output, feedback = run(prompt, [LOOKUP, "Ana earns 9384 EUR a year."], profile=ONE_STEP)
    assert output == "Ana earns 9384 EUR a year." and feedback == []
    # no policy at all: nothing is asked
    output, feedback = run(prompt, [LOOKUP, "Ana earns 9384 EUR a year."], profile=ModelProfile())
    assert feedback == []


def test_arithmetic_done_in_the_head_asks_for_the_tool_that_computes() -> None:
    compute = tool_call_response("calculate", {"expression": "250 * 1.08"})
    answer = "250 EUR is 270.00 USD."
    output, feedback = run("Convert 250 EUR to USD.", [RATE, answer, compute, answer])
    assert output == answer
    assert RAN == ["get_rate EUR USD", "calculate 250 * 1.08"]  # the calculator's result is a source
    assert feedback == [
        "Your answer has 270.00, which no message and no tool result gives:\n"
        "- 270.00: your 270.00 is 250 * 1.08 (the question gives 250; `get_rate` returned 1.08), worked out in "
        "your head.\n"
        "Call `calculate` to compute 250 * 1.08, and answer with its result. If you are sure it is right, give "
        "the same answer again."
    ]
    _, feedback = run("Convert 250 EUR to USD.", [RATE, answer], profile=ONE_STEP)
    assert feedback == []


def test_an_invented_value_names_the_nearest_source_and_a_confirmed_answer_goes_through() -> None:
    answer = "250 EUR is 280 USD."
    output, feedback = run("Convert 250 EUR to USD.", [answer, answer])
    assert output == answer
    assert feedback == [
        "Your answer has 280, which no message and no tool result gives:\n"
        "- 280: the nearest number given: the question gives 250.\n"
        "Do not work it out in your head: call `calculate`, `get_employee` or `get_rate` now, with the numbers "
        "you have (250). If you are sure it is right, give the same answer again."
    ]


def test_an_answer_using_no_result_with_numbers_from_nowhere_is_asked_about_the_results() -> None:
    script: list[object] = [LOOKUP, "It is 1911.", "Ana earns 93840 EUR a year."]
    output, feedback = run("What does employee 10 earn a year?", script)
    assert output == "Ana earns 93840 EUR a year."
    assert feedback == [
        'Your answer leaves out what `get_employee` returned ({"id":10,"name":"Ana","salary":93840}). Answer '
        "the whole question again, in one reply that uses every result the question needs. The question "
        'was: "What does employee 10 earn a year?"'
    ]
    # a number near a result (a slip of scale) is traced: the question names its source
    _, feedback = run("What does employee 10 earn a year?", [LOOKUP, "It is 9384.", "It is 93840."])
    assert feedback[0].startswith("Your answer has 9384, which")


def test_each_number_is_asked_about_once_per_run() -> None:
    script: list[object] = [LOOKUP, "It is 9384.", "It is 9384, or 77 a week.", "It is 9384, or 77 a week."]
    output, feedback = run("What does employee 10 earn a year?", script)
    assert output == "It is 9384, or 77 a week."
    assert len(feedback) == 2
    assert feedback[1].startswith("Your answer has 77, which")  # 9384 was asked about already
    assert "- 9384" not in feedback[1]


@pytest.mark.parametrize(
    ("answer", "found"),
    [
        ("38125/6", ["38125/6"]),
        ("The monthly salary is 76250 / 12 euros.", ["76250 / 12"]),
        (
            "It costs 240 * 1.085, and 1,240 × 3.85 in all; (240 + 20.4) with tax",
            ["240 * 1.085", "1,240 × 3.85", "(240 + 20.4)"],
        ),
        ("5 - 3 = 2, and 240 * 1.085 = 260.4", []),
        ("Meet on 12/05/2026, 10-12 people, open 09:30-17:30, 24/7, 1/2 cup, version 3.8/3.9, 2026-02", []),
        ("Price: 240 + 8.5% tax", []),
        ("135/58 (≈ 2.32758620689655)", []),  # written with its value: worked out
        ("135/58 ≈ 2.33", []),
    ],
)
def test_arithmetic_written_out_undone(answer: str, found: list[str]) -> None:
    assert unworked(answer) == found
    assert unworked(answer, frozenset(found)) == []


def test_an_answer_leaving_arithmetic_undone_asks_for_the_tool_once() -> None:
    compute = tool_call_response("calculate", {"expression": "93840 / 12"})
    script: list[object] = [LOOKUP, "93840 / 12 a month.", compute, "7820 a month."]
    output, feedback = run("What does employee 10 earn in each of the 12 months?", script)
    assert output == "7820 a month." and RAN[-1] == "calculate 93840 / 12"
    assert feedback == [
        "Your answer writes `93840 / 12` without working it out. Call `calculate` to compute it, and answer "
        "with the result. If the answer is meant to be written that way, give the same answer again."
    ]
    assert unworked_question(["1 + 2", "3 * 4"], []) == (
        "Your answer writes `1 + 2` and `3 * 4` without working them out. Work it out and answer with the "
        "result. If the answer is meant to be written that way, give the same answer again."
    )
    # written again, it goes through
    output, feedback = run(
        "What does employee 10 earn in each of 12 months?", [LOOKUP, "93840 / 12", "93840 / 12"]
    )
    assert output == "93840 / 12" and len(feedback) == 1


def test_a_result_written_after_its_own_arithmetic_names_that_arithmetic() -> None:
    question = UserMessage(content="A jacket is 240 euros before tax. What does it cost with sales tax?")
    tax = ToolMessage(tool_call_id="a", name="sales_tax", content="Sales tax in Lornedal: 8.5%")
    given = sources([question, tax], 0)
    (found,) = untraced("240 euros + (240 euros * 8.5%) = 252 euros", given)
    assert found.computation == "240 + (240 * 8.5%)"
    assert found.reason == "your 252 is `240 + (240 * 8.5%)` worked out in your head."
    assert trace_question([found], ["calculator"], ["sales_tax"], ["240", "8.5"]) == (
        "Your answer has 252, which no message and no tool result gives:\n"
        "- 252: your 252 is `240 + (240 * 8.5%)` worked out in your head.\n"
        "Call `calculator` to compute 240 + (240 * 8.5%), and answer with its result. If you are sure it is "
        "right, give the same answer again."
    )
    # the arithmetic starts after a sentence, a colon or an earlier `=`; a lone number before `=` is none
    found = untraced("Total: 240 + 9 = 249. Then 249 = 250 - 2 = 247.", given)
    assert {u.written: u.computation for u in found} == {
        "249": "240 + 9",
        "250": "",
        "2": "",
        "247": "250 - 2",
    }


def test_a_short_number_among_many_given_is_not_read_as_a_step_by_chance() -> None:
    budget = ToolMessage(
        tool_call_id="a",
        name="town_budget",
        content="Dunmere, 2025 budget (all amounts in thousands of euros): total 48,250; roads 5,250; "
        "culture 3,870; schools 14,600. Population: 12,500.",
    )
    question = UserMessage(content="Roads in 2025 per inhabitant, in euros?")
    # written to two digits among seven numbers, a step would be a chance hit: named as the nearest
    (found,) = untraced("2.3", sources([question, budget], 0))
    assert not found.computation and found.invented and "in your head" not in found.reason
    # in prose `3,870` is one number, not a list of 3 and 870 (a JSON result's `[3,870]` is read both ways)
    assert found.reason == "the nearest number given: the question gives 2025."
    listed = ToolMessage(tool_call_id="b", name="t", content="[3,870]")
    assert sorted(s.value for s in sources([budget], 0) if s.value < 10) == []
    assert sorted(s.value for s in sources([listed], 0)) == [3.0, 870.0, 3870.0]
    # three digits among the same numbers: a step still tells (5,250 / 12,500 is 0.42)
    (found,) = untraced("0.420", sources([question, budget], 0))
    assert found.computation == "5,250 / 12,500"


def test_undone_arithmetic_whose_value_a_tool_gave_points_at_that_value() -> None:
    exact = ToolMessage(tool_call_id="a", name="calculator", content="38125/6 (≈ 6354.16666666667)")
    given = sources([UserMessage(content="Her salary divided by 12?"), exact], 0)
    assert unworked_question(["38125/6"], ["calculator"], given) == (
        "Your answer writes `38125/6` without working it out, but `calculator` returned 6354.16666666667, "
        "which is `38125/6` worked out. Answer with that number, not the expression. If the answer is meant "
        "to be written that way, give the same answer again."
    )
    rounded = ToolMessage(tool_call_id="b", name="calculator", content="6354.17 and 12.5")
    both = unworked_question(["38125/6", "(20 + 5) ÷ 2"], ["calculator"], sources([rounded], 0))
    assert "returned 6354.17, which is `38125/6` worked out and `calculator` returned 12.5, which is" in both
    assert both.endswith(
        "Answer with those numbers, not the expressions. If the answer is meant to be written that way, give the same answer again."
    )
    # a value no tool result gives (the question's own numbers do not count): ask for the tool, as before
    assert unworked_question(["38125/7"], ["calculator"], given).startswith(
        "Your answer writes `38125/7` without working it out. Call `calculator`"
    )
    assert unworked_question(["12 / 1"], [], sources([UserMessage(content="12?")], 0)).endswith(
        "Work it out and answer with the result. If the answer is meant to be written that way, give the "
        "same answer again."
    )
    assert unworked_question(["5 / 0"], [], given).startswith("Your answer writes `5 / 0` without working")


def test_restatements_of_given_numbers_are_traced() -> None:
    @tool
    def get_city() -> dict[str, object]:
        """Facts about the city."""
        return {"population": 1534000, "share_over_65": 0.153, "area_km2": 1285.4, "visitors": "2.5 million"}

    model = ScriptedModel(
        [
            tool_call_response("get_city", {}),
            "About 1.5 million people (1,534,000), 15.3% of them over 65, on 1,285 km2; 1534 thousand; 2,500,000 visitors.",
        ],
        profile=LOCAL_POLICY,
    )
    result = Agent(model, tools=[get_city]).run_sync("Tell me about the city's people.")
    assert not any(isinstance(m, UserMessage) and m.feedback for m in result.messages)
    model.assert_all_used()


def read(*messages: Message) -> list[tuple[str, str]]:
    return [(u.written, u.reason) for u in untraced(str(messages[-1].content), sources(list(messages), 0))]


def test_scale_slips_both_ways_and_the_sources_they_name() -> None:
    price = ToolMessage(tool_call_id="a", name="get_price", content=json.dumps({"eur": 93.84}))
    salary = ToolMessage(tool_call_id="b", name="get_salary", content=json.dumps({"salary": 93840}))
    assert read(price, AssistantMessage(content="9384 cents")) == [
        ("9384", "`get_price` returned 93.84; your 9384 is that multiplied by 100.")
    ]
    # divided by ten thousand instead of a thousand
    question = UserMessage(content="Her salary in thousands?")
    assert read(question, salary, AssistantMessage(content="9.384")) == [
        ("9.384", "`get_salary` returned 93840; your 9.384 is that divided by 10000.")
    ]
    result = ToolMessage(
        tool_call_id="c", name="get_price", content=json.dumps({"eur": 93.84, "salary": 93840})
    )
    assert untraced("93.84 thousand or 93840 or 93,840.00", sources([result], 0)) == []
    # a round number is rounded to its last significant digit (two at least); a list's numbering is no claim
    big = ToolMessage(tool_call_id="d", name="t", content="93840 and 1534000")
    text = "1. about 94,000\n2. 1,500,000\n 3) 1,530,000; 2. not 90,000 nor 2000"
    assert [u.written for u in untraced(text, sources([big], 0))] == ["2", "90,000", "2000"]
    # with no tool that computes, the computation is named all the same
    found = untraced("9.5 and 37", sources([UserMessage(content="Add 4.5 and 5, and 30 and 7.")], 0))
    assert trace_question(found, []) == (
        "Your answer has 9.5 and 37, which no message and no tool result gives:\n"
        "- 9.5: your 9.5 is 4.5 + 5 (the question gives 4.5; the question gives 5), worked out in your head.\n"
        "- 37: your 37 is 30 + 7 (the question gives 30; the question gives 7), worked out in your head.\n"
        "Compute 4.5 + 5 and 30 + 7 with a tool. If you are sure they are right, give the same answer again."
    )
    # too few digits to tell a slip of scale: the nearest number instead
    assert [u.reason for u in untraced("3", sources([result], 0))] == [
        "the nearest number given: `get_price` returned 93.84."
    ]
    assert [u.reason for u in untraced("5", [])] == ["nothing in the conversation gives a number near it."]
    # sources: the instructions, the question, an earlier run's answer; percentages and number words
    given = sources(
        [
            AssistantMessage(content="Earlier: 41."),
            SystemMessage(content="Rates change at 12%."),
            UserMessage(content="Half of 80, please."),
            UserMessage(content="Your answer had 77.", feedback=True),
            ToolMessage(tool_call_id="b", name="t", content="failed 88", is_error=True),
        ],
        1,
    )
    assert {(s.value, s.origin) for s in given} >= {
        (41.0, "an earlier answer gave 41"),
        (0.12, "the instructions give 12%"),
        (0.5, "the question gives Half"),
        (80.0, "the question gives 80"),
    }
    assert not {77.0, 88.0} & {s.value for s in given}


def test_only_a_grounding_check_traces() -> None:
    class Mine(RunChecker):
        def question_call(self, call: object) -> None:
            return None

        def question_answer(self, messages: object) -> None:
            return None

        may_question_answer = False

    mine = ModelProfile(family="test", policy=RunPolicy(checker=Mine, trace_numbers=True))
    with pytest.raises(UserError, match=r"give checker=GroundingCheck .*not a maker of Mine"):
        Agent(ScriptedModel(["hi"], profile=mine)).run_sync("hi")
    # without a checker (the grounding check turned off) it does nothing
    assert RunPolicy(trace_numbers=True)() == []
    assert GroundingCheck().trace_numbers is False
    assert ONE_STEP.policy is not None
    checker = ONE_STEP.policy()[0]
    assert isinstance(checker, GroundingCheck) and not checker.trace_numbers


# -- values compared as words -----------------------------------------------------------------------------


def test_words_are_compared_as_words() -> None:
    assert words("São-Paulo's CAFÉS") == ["sao", "paulo", "cafe"]
    assert word_set("New York") == word_set("york, NEW")
    assert word_set("chicken curries") != word_set("chicken curry")  # only a plain `s` or `es` is a plural
    assert words("boxes, glass, bus") == ["box", "glass", "bus"]
    examples = frozenset({"são paulo", "chicken curry", "pkg-0001"})
    call = {"city": "Sao Paulo", "dish": "Chicken Curry", "id": "PKG 0001"}
    assert copied_examples(call, examples, "weather in SÃO PAULO, and my chicken-curry recipes?") == [
        '"PKG 0001"'
    ]
    assert copied_examples(call, examples, "the weather in paulo (são), two chicken currys, pkg-0001") == []
    assert copied_examples(call, examples, "what does km stand for?") == [
        '"Sao Paulo"',
        '"Chicken Curry"',
        '"PKG 0001"',
    ]


@tool
def get_weather(city: str) -> str:
    """Today's weather in a city.

    Args:
        city: The city, e.g. "São Paulo".
    """
    RAN.append(f"get_weather {city}")
    return f"{city}: sunny"


def test_a_value_the_user_wrote_reworded_is_never_a_copied_example() -> None:
    RAN.clear()
    call = tool_call_response("get_weather", {"city": "São Paulo"})
    model = ScriptedModel([call, "Sunny."], profile=LOCAL_POLICY)
    result = Agent(model, tools=[get_weather]).run_sync("How is the weather in SAO PAULO today?")
    assert RAN == ["get_weather São Paulo"]
    assert [m.content for m in result.messages if isinstance(m, ToolMessage)] == ["São Paulo: sunny"]
    # a value the conversation never gave is still the copied example
    RAN.clear()
    model = ScriptedModel([call, "I need a city."], profile=LOCAL_POLICY)
    result = Agent(model, tools=[get_weather]).run_sync("How is the weather today?")
    assert RAN == []
    questioned = [m.content for m in result.messages if isinstance(m, ToolMessage)]
    assert questioned[0].startswith('Not run: "São Paulo" is the example in the tool\'s description')
