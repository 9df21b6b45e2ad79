"""Grounding: numbers in calls and answers that nothing in the conversation gives are questioned once."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel

from agentkit import Agent, AssistantMessage, SystemMessage, ToolCall, ToolMessage, UserMessage, tool
from agentkit._run.output import OutputSpec
from agentkit._run.tool_calls import validate_call
from agentkit._support.given import number_words
from agentkit.local.policy import LOCAL, RunPolicy
from agentkit.local.policy._grounding import (
    ANSWER_QUESTION,
    CALL_QUESTION,
    UNUSED_QUESTION,
    GroundingCheck,
    copied_examples,
    examples,
    given_numbers,
    ignored_question,
    ignored_results,
    known_numbers,
    question,
    question_names,
    unsupported_in_arguments,
    unsupported_in_text,
    unused_in_question,
)
from agentkit.models.profiles import ModelProfile
from agentkit.testing import ScriptedModel, tool_call_response

CHECKING = ModelProfile(family="test", policy=RunPolicy(checker=GroundingCheck))

# -- what counts as given -----------------------------------------------------------------------------------


def known(*messages: object, before: int = 0) -> frozenset[float]:
    return known_numbers(list(messages), before)  # type: ignore[arg-type]


def test_numbers_from_system_user_and_tool_messages() -> None:
    numbers = known(
        SystemMessage(content="Today is 2026-11-25."),
        UserMessage(content="What is 15% of 2,480?"),
        ToolMessage(tool_call_id="a", name="t", content='{"price":142.35,"ids":[12,345]}'),
    )
    # `2,480` and `[12,345]` are read both ways: a thousands separator, or a list
    assert {2026, 11, 25, 15, 0.15, 2480, 2, 480, 142.35, 12, 345, 12345} <= numbers
    assert {0, 1} <= numbers  # always known
    assert not {248, 24, 80, 14} & numbers


def test_percent_words_and_plain_commas() -> None:
    numbers = known(UserMessage(content="A rise of 3 percent on 1,5 units and 7 per cent."))
    assert {3, 0.03, 1, 5, 7, 0.07} <= numbers
    assert 15 not in numbers


def test_feedback_error_results_and_this_runs_answers_give_nothing() -> None:
    numbers = known(
        AssistantMessage(content="Earlier answer: 41."),
        UserMessage(content="Your answer had 77.", feedback=True),
        ToolMessage(tool_call_id="a", name="t", content="Not run: 88 is made up", is_error=True),
        AssistantMessage(content="I guess 99."),
        before=1,
    )
    assert 41 in numbers
    assert not {77, 88, 99} & numbers


# -- what is unsupported ------------------------------------------------------------------------------------

GIVEN = frozenset({0.0, 1.0, 12.0, 76250.0, 6354.166666666667, 142.35, 3.0})


def test_arguments_numbers_and_numbers_inside_strings() -> None:
    arguments = (
        '{"amount": 10000, "expr": "12 * 50 + 142.35", "flag": true, "nested": [{"x": 7.5}], "n": null}'
    )
    assert unsupported_in_arguments(arguments, GIVEN) == ["10000", "50", "7.5"]


def test_arguments_that_are_given_rounded_negative_or_unparsable() -> None:
    assert unsupported_in_arguments('{"a": 76250, "b": "76,250 / 12", "c": -3, "d": 6354.17}', GIVEN) == []
    assert unsupported_in_arguments("{not json", GIVEN) == []
    assert unsupported_in_arguments("  ", GIVEN) == []
    assert unsupported_in_arguments('{"big": 1e+300}', GIVEN) == ["1e+300"]


def test_one_step_from_given_numbers_is_supported() -> None:
    given = frozenset({0.0, 1.0, 24.0, 3.0, 12.0, 142.35})
    # 24 - -3, 12 * 142.35, 142.35 / 12 rounded, 24 / 3
    assert unsupported_in_text("27 degrees; 1,708.20 USD; 11.86 each; 8 times", given) == []
    assert unsupported_in_text("20 or 1705.40", given) == ["20", "1705.40"]
    assert unsupported_in_text("25 or 143.35", given) == ["25", "143.35"]  # never ± 1 of a given number


def test_number_words_are_given() -> None:
    numbers = known(UserMessage(content="What is 37 cubed, or half a dozen, or the square root of 2?"))
    assert {37, 3, 2, 0.5, 12} <= numbers
    assert 4 not in numbers


def test_ordinals_and_compound_number_words_are_given() -> None:
    numbers = known(
        UserMessage(content="Arriving on the fourteenth of March, for twenty-one nights or thirty first")
    )
    assert {14, 21, 31} <= numbers
    assert not {13, 15, 22} & numbers
    assert [w for w, _ in number_words("the Twenty Third, a fifth, twenty cars")] == [
        "Twenty Third",
        "fifth",
        "twenty",
    ]


def test_month_names_give_their_numbers() -> None:
    numbers = known(UserMessage(content="Le 8 avril 2026, der 2. März, el 1 de diciembre, 2 Sept., 5 июня"))
    assert {4, 3, 12, 9, 6} <= numbers
    # English month names that are also words count only capitalised, as months are written
    assert not {5, 3} & known(UserMessage(content="you may march on"))
    assert {5, 3} <= known(UserMessage(content="in May or March"))


def test_times_of_day_said_in_words_give_their_hours_and_minutes() -> None:
    numbers = known(UserMessage(content="No earlier than a quarter past three in the afternoon, or 7 pm"))
    assert {15, 19} <= numbers
    assert {30, 12} <= known(UserMessage(content="At half past noon"))
    assert 15 not in known(UserMessage(content="At three in the morning"))
    assert [w for w, _ in number_words("a quarter past three in the afternoon")] == [
        "quarter past",
        "quarter",
        "three in the afternoon",
        "three",
    ]


def test_examples_in_descriptions() -> None:
    parameters = {
        "properties": {
            "city": {"description": 'City name, e.g. "Paris".'},
            "food": {"description": "Dish, for example chicken curry."},
            "items": {"type": "array", "items": {"description": "Such as `PKG-0001` or 'PKG-0002'"}},
            "plain": {"description": "No example here."},
        }
    }
    assert examples("Evaluate, e.g. `(17 * 23) + sqrt(16)`.", parameters) == {
        "(17 * 23) + sqrt(16)",
        "paris",
        "chicken curry",
        "pkg-0001",
        "pkg-0002",
    }
    assert examples("Nothing.", {}) == frozenset()


def test_copied_examples_are_those_the_conversation_does_not_give() -> None:
    tool_examples = frozenset({"paris", "chicken curry"})
    arguments = '{"city": "Paris", "food": "Chicken curry", "more": ["chicken curry"], "n": 3}'
    assert copied_examples(json.loads(arguments), tool_examples, "what does km stand for?") == [
        '"Paris"',
        '"Chicken curry"',
    ]
    assert copied_examples(json.loads(arguments), tool_examples, "weather in paris?") == ['"Chicken curry"']
    assert copied_examples(json.loads(arguments), frozenset(), "") == []


def test_numbers_of_the_question_that_the_run_never_used() -> None:
    messages = [
        UserMessage(content="Old: 99?"),
        UserMessage(content="Calories in 250 g of stew, for 2 people, item 7?"),
        AssistantMessage(tool_calls=[ToolCall(id="a", name="food", arguments='{"name": "stew", "id": 7}')]),
        ToolMessage(tool_call_id="a", name="food", content="112 kcal per 100 g"),
        AssistantMessage(content="112 kcal each for 2 people."),
    ]
    assert unused_in_question(messages, 1) == ["250"]
    assert given_numbers([UserMessage(content="From -3 to PKG-1042 on 2026-11-25")], 0) == [
        "-3",
        "1042",
        "2026",
        "11",
        "25",
    ]


def test_answer_text_numbers_each_once_as_written() -> None:
    text = "It costs 1,705.40 USD, i.e. 1,705.40 for 12 shares at 142.35, about 6354 a month or 6354.2."
    assert unsupported_in_text(text, GIVEN) == ["1,705.40"]
    assert unsupported_in_text("No numbers here.", GIVEN) == []


def test_given_numbers_are_those_of_the_question_and_successful_results_of_the_run() -> None:
    messages = [
        UserMessage(content="Old question 5?"),
        UserMessage(content="Lena's salary / 12?"),
        ToolMessage(tool_call_id="a", name="t", content="Not run: 50", is_error=True),
        ToolMessage(tool_call_id="b", name="t", content='{"salary": 76250, "year": 2021, "again": 12}'),
        UserMessage(content="Your answer had 3020.", feedback=True),
    ]
    assert given_numbers(messages, 1) == ["12", "76250", "2021"]
    assert given_numbers(messages, 1, limit=2) == ["12", "76250"]


def test_question_wording() -> None:
    one = question(CALL_QUESTION, ["10000"], ["get_employee"])
    assert one.startswith("Not run: 10000 appears neither in the question nor in any tool result, so it is ")
    assert "Call the tool that gives it first (`get_employee`)" in one
    several = question(CALL_QUESTION, ["17", "23", "16"], ["a", "b"])
    assert "17, 23 and 16 appear neither" in several and "gives them first (`a` or `b`)" in several
    assert "Use a tool first" in question(CALL_QUESTION, ["5"], [])
    answer = question(ANSWER_QUESTION, ["650.40"], ["calculator"], ["12", "142.35"])
    assert answer == (
        "Your answer contains 650.40, which neither the question nor any tool result gives. Do not work it "
        "out in your head: call `calculator` now, with the numbers you have (12, 142.35). If you are sure of "
        "your answer, give it again."
    )
    assert "use a tool now." in question(ANSWER_QUESTION, ["4", "5"], [])


# -- in the loop --------------------------------------------------------------------------------------------

RAN: list[tuple[str, object]] = []


@tool
def get_salary(name: str) -> int:
    """Yearly salary of an employee, in USD."""
    RAN.append(("get_salary", name))
    return 76250


@tool
def divide(a: float, b: float) -> float:
    """Divide a by b."""
    RAN.append(("divide", (a, b)))
    return a / b


def run(
    script: list[object], profile: ModelProfile = CHECKING, output_type: object = str
) -> tuple[object, list[object]]:
    RAN.clear()
    model = ScriptedModel(script, profile=profile)  # type: ignore[arg-type]
    agent = Agent(model, tools=[get_salary, divide], output_type=output_type)  # type: ignore[arg-type]
    result = agent.run_sync("Lena's monthly salary: her yearly salary divided by 12?")
    model.assert_all_used()
    return result.output, result.messages


def test_a_made_up_argument_is_questioned_then_the_looked_up_value_runs() -> None:
    output, messages = run(
        [
            tool_call_response("divide", {"a": 60000, "b": 12}),
            tool_call_response("get_salary", {"name": "Lena"}),
            tool_call_response("divide", {"a": 76250, "b": 12}),
            "About 6354.17 USD.",
        ]
    )
    assert output == "About 6354.17 USD."
    assert RAN == [("get_salary", "Lena"), ("divide", (76250, 12))]
    questioned = messages[2]
    assert isinstance(questioned, ToolMessage) and questioned.is_error
    assert questioned.content.startswith("Not run: 60000 appears neither")
    assert "(`get_salary`)" in questioned.content  # the other tools are named


def test_the_same_call_made_again_at_once_is_confirmed_and_runs() -> None:
    call = tool_call_response("divide", {"a": 60000, "b": 12})
    output, _ = run([call, call, "5000"])
    assert RAN == [("divide", (60000, 12))]
    assert output == "5000"


def test_a_later_repeat_is_questioned_again_until_the_budget_is_spent() -> None:
    call = tool_call_response("divide", {"a": 60000, "b": 12})
    lookup = tool_call_response("get_salary", {"name": "Lena"})
    output, messages = run([call, lookup, call, call, "5000"])
    assert RAN == [("get_salary", "Lena"), ("divide", (60000, 12))]
    errors = [m for m in messages if isinstance(m, ToolMessage) and m.is_error]
    assert len(errors) == 2
    assert output == "5000"
    # budget spent: a third made-up call runs at once
    _, _ = run([call, lookup, call, tool_call_response("divide", {"a": 99, "b": 3}), "x"])
    assert RAN[-1] == ("divide", (99, 3))


def test_an_answer_with_an_unsupported_number_is_questioned_once() -> None:
    output, messages = run(
        [
            tool_call_response("get_salary", {"name": "Lena"}),
            "Her monthly salary is 3020.83 USD.",
            tool_call_response("divide", {"a": 76250, "b": 12}),
            "Her monthly salary is 6354.17 USD.",
        ]
    )
    assert output == "Her monthly salary is 6354.17 USD."
    feedback = messages[4]
    assert isinstance(feedback, UserMessage) and feedback.feedback
    assert feedback.content == question(ANSWER_QUESTION, ["3020.83"], ["divide"], ["12", "76250"])


def test_a_repeated_answer_goes_through() -> None:
    output, messages = run(["About 4000.", "About 4000."])
    assert output == "About 4000."
    assert sum(isinstance(m, UserMessage) and m.feedback for m in messages) == 1


def test_an_answer_from_the_results_rounded_is_not_questioned() -> None:
    output, messages = run(
        [
            tool_call_response("get_salary", {"name": "Lena"}),
            tool_call_response("divide", {"a": 76250, "b": 12}),
            "6,354.17 USD a month (76,250 a year).",
        ]
    )
    assert output.startswith("6,354.17")  # type: ignore[union-attr]
    assert not any(isinstance(m, UserMessage) and m.feedback for m in messages)


class Salary(BaseModel):
    yearly_usd: float


def test_a_structured_output_with_a_made_up_number_is_questioned() -> None:
    output, messages = run(
        [
            tool_call_response("final_result", {"yearly_usd": 5000}),
            tool_call_response("get_salary", {"name": "Lena"}),
            tool_call_response("final_result", {"yearly_usd": 76250}),
        ],
        output_type=Salary,
    )
    assert output == Salary(yearly_usd=76250)
    assert isinstance(messages[2], ToolMessage) and messages[2].content.startswith("Not run: 5000 appears")


def test_off_by_default_and_on_for_the_local_profile() -> None:
    output, _ = run([tool_call_response("divide", {"a": 60000, "b": 12}), "5000"], profile=ModelProfile())
    assert RAN == [("divide", (60000, 12))]
    assert output == "5000"
    assert LOCAL.policy.checker is GroundingCheck and ModelProfile().policy is None


def test_answers_without_tools_are_not_questioned() -> None:
    model = ScriptedModel(["It ended in 1945."], profile=CHECKING)
    assert Agent(model).run_sync("When did the war end?").output == "It ended in 1945."


def test_answers_from_earlier_runs_count_as_given() -> None:
    model = ScriptedModel(["4242", "4242", "You picked 4242."], profile=CHECKING)
    agent = Agent(model, tools=[divide])
    first = agent.run_sync("Pick a number.")  # questioned once, then confirmed
    second = agent.run_sync("Which number did you pick?", message_history=first.messages)
    assert second.output == "You picked 4242."
    assert [m.feedback for m in second.messages if isinstance(m, UserMessage)] == [False, True, False]
    model.assert_all_used()


@tool
def get_food(food: str) -> str:
    """Calories of a food.

    Args:
        food: The food, e.g. "chicken curry".
    """
    RAN.append(("get_food", food))
    return f"{food}: 112 kcal per 100 g"


def test_a_copied_example_is_not_confirmed_by_repeating_it() -> None:
    RAN.clear()
    copied = tool_call_response("get_food", {"food": "chicken curry"})
    model = ScriptedModel([copied, copied, "km means kilometre."], profile=CHECKING)
    result = Agent(model, tools=[get_food]).run_sync("What does km stand for?")
    assert result.output == "km means kilometre."
    assert RAN == []
    errors = [m.content for m in result.messages if isinstance(m, ToolMessage)]
    assert len(errors) == 2 and all(e.startswith('Not run: "chicken curry" is the example') for e in errors)
    # insisting on the example: the next request asks for a text answer
    assert [r.parameters.tool_choice for r in model.requests] == [None, None, "none"]
    # the user's own value is never questioned, even when it is the example
    RAN.clear()
    model = ScriptedModel([copied, "112 kcal per 100 g."], profile=CHECKING)
    Agent(model, tools=[get_food]).run_sync("Calories of chicken curry?")
    assert RAN == [("get_food", "chicken curry")]


def test_a_copied_example_refused_before_is_refused_past_the_budget() -> None:
    RAN.clear()
    copied = tool_call_response("get_food", {"food": "chicken curry"})
    model = ScriptedModel([copied, copied, copied, "km means kilometre."], profile=CHECKING)
    result = Agent(model, tools=[get_food]).run_sync("What does km stand for?")
    assert result.output == "km means kilometre." and RAN == []
    errors = [m.content for m in result.messages if isinstance(m, ToolMessage)]
    assert len(errors) == 3 and all(e.startswith('Not run: "chicken curry" is the example') for e in errors)
    assert [r.parameters.tool_choice for r in model.requests] == [None, None, "none", "none"]


def test_the_copy_question_names_what_the_question_gives() -> None:
    RAN.clear()
    copied = tool_call_response("get_food", {"food": "chicken curry"})
    named = tool_call_response("get_food", {"food": "Kaju Katli"})
    model = ScriptedModel([copied, named, "Kaju Katli: 112 kcal per 100 g."], profile=CHECKING)
    result = Agent(model, tools=[get_food]).run_sync("Kaju Katli की कैलोरी (calories) कितनी है?")
    assert RAN == [("get_food", "Kaju Katli")] and result.output == "Kaju Katli: 112 kcal per 100 g."
    errors = [m.content for m in result.messages if isinstance(m, ToolMessage)][:1]
    assert errors == [
        'Not run: "chicken curry" is the example in the tool\'s description, and the question does not mention '
        "it. Use the values the question gives (it names Kaju and Katli); if the question needs no tool, "
        "answer it directly."
    ]


@pytest.mark.parametrize(
    ("asked", "names"),
    [
        ("Dunmere क्षेत्र में बिक्री कर (sales tax) की दर कितनी है?", ["Dunmere"]),
        ("What is the sales tax rate in Lornedal? Tell me, please.", ["Lornedal"]),
        ("How many units of SKU-5820 are left?", ["SKU-5820"]),
        ("Quel est le taux de la Taxe dans la Région ?", []),  # capitalised, but the tool's own words
        ("what is the sales tax rate?", []),
    ],
)
def test_the_names_a_question_gives(asked: str, names: list[str]) -> None:
    tool_text = "The sales tax rate of a region (taxe, région). region The region's name, e.g. Westmark."
    assert question_names(asked, tool_text) == names


def test_an_answer_is_questioned_again_only_after_new_results() -> None:
    output, messages = run(
        [
            "It is 5000.",
            tool_call_response("get_salary", {"name": "Lena"}),
            "It is 5000.",  # new results since the question: asked again
            "It is 5000.",  # nothing new: confirmed
        ]
    )
    assert output == "It is 5000."
    assert sum(isinstance(m, UserMessage) and m.feedback for m in messages) == 2


@pytest.mark.parametrize(
    ("asked", "expected"),
    [
        # a number of the question the answer does not use
        ("Calories of lentil stew, times 250?", question(UNUSED_QUESTION, ["250"], ["divide"])),
        # a value per 100 g answered for 250 g (`_rates`): asked before the unused number
        (
            "Calories in 250 g of lentil stew?",
            "Your answer gives 112, which is what `get_food` gives per 100 g; the question asks about 250 g. "
            "Call `divide` to work it out for 250 g and answer with the result. If your answer is right, "
            "give it again.",
        ),
    ],
)
def test_an_answer_leaving_the_questions_quantity_aside_is_questioned(asked: str, expected: str) -> None:
    RAN.clear()
    model = ScriptedModel(
        [
            tool_call_response("get_food", {"food": "lentil stew"}),
            "112 kcal.",
            tool_call_response("divide", {"a": 250, "b": 100}),
            "280 kcal.",
        ],
        profile=CHECKING,
    )
    result = Agent(model, tools=[get_food, divide]).run_sync(asked)
    assert result.output == "280 kcal."
    feedback = [m for m in result.messages if isinstance(m, UserMessage) and m.feedback]
    assert [m.content for m in feedback] == [expected]


def test_results_neither_the_answer_nor_a_later_call_uses() -> None:
    time_result = ToolMessage(tool_call_id="t", name="current_time", content="2026-11-25T23:27 (Wednesday)")
    salary = ToolMessage(tool_call_id="s", name="get_salary", content='{"name": "Lena", "salary": 76250}')
    later_call = AssistantMessage(
        tool_calls=[ToolCall(id="d", name="divide", arguments='{"a": 76250, "b": 12}')]
    )
    quotient = ToolMessage(tool_call_id="d", name="divide", content="6354.17")
    empty = ToolMessage(tool_call_id="e", name="noop", content="")
    failed = ToolMessage(tool_call_id="f", name="x", content="Boom", is_error=True)
    run_messages = [UserMessage(content="q"), time_result, salary, later_call, quotient, empty, failed]
    answer = AssistantMessage(content="It is 6354.17.")
    assert ignored_results([*run_messages, answer], 0) == [time_result]
    assert ignored_results([*run_messages, AssistantMessage(content="6354.17, on Wednesday")], 0) == []
    assert ignored_results([*run_messages, UserMessage(content="not an answer")], 0) == []
    text = ignored_question([time_result], " When? ")
    assert text == (
        "Your answer leaves out what `current_time` returned (2026-11-25T23:27 (Wednesday)). Answer the whole "
        'question again, in one reply that uses every result the question needs. The question was: "When?"'
    )
    long = ToolMessage(tool_call_id="l", name="big", content="x" * 200)
    assert "x" * 77 + "..." in ignored_question([long, long], "q")


def test_results_of_calls_nobody_asked_for_need_not_be_used() -> None:
    def call(id_: str, name: str, **arguments: object) -> AssistantMessage:
        return AssistantMessage(tool_calls=[ToolCall(id=id_, name=name, arguments=json.dumps(arguments))])

    hotel = ToolMessage(tool_call_id="h", name="hotel", content="Birchwood Lodge: 96.00 EUR per night")
    recipe = ToolMessage(tool_call_id="r", name="recipe", content="No recipe called apple crumble")
    room = ToolMessage(tool_call_id="n", name="room", content="Room 12 faces the lake")
    messages = [
        UserMessage(content="Three nights at Birchwood Lodge: the cost?"),
        call("h", "hotel", hotel="Birchwood Lodge", nights=3),
        hotel,
        call("r", "recipe", recipe="apple crumble", servings=1),  # nothing in the question or a result
        recipe,
        call("n", "room", rate=96),  # a value from an earlier result
        room,
        AssistantMessage(content="The stay costs 288 EUR."),
    ]
    assert ignored_results(messages, 0) == [room]  # the hotel's result is used by a later call
    # the same call made again is not asked for by its own earlier result
    again = ToolMessage(tool_call_id="r2", name="recipe", content="No recipe called apple crumble")
    twice = [*messages[:-1], call("r2", "recipe", recipe="apple crumble", servings=1), again, messages[-1]]
    assert ignored_results(twice, 0) == [room]
    messages[3] = call("r", "recipe", recipe="lodge pie")  # shares a word with the question
    assert ignored_results(messages, 0) == [recipe, room]


def test_an_answer_leaving_out_a_result_is_asked_for_the_whole_question() -> None:
    RAN.clear()
    model = ScriptedModel(
        [
            tool_call_response("get_food", {"food": "stew"}),
            "It is tasty.",
            "Stew has 112 kcal per 100 g.",
        ],
        profile=CHECKING,
    )
    result = Agent(model, tools=[get_food]).run_sync("Is stew light?")
    assert result.output == "Stew has 112 kcal per 100 g."
    feedback = [m.content for m in result.messages if isinstance(m, UserMessage) and m.feedback]
    assert len(feedback) == 1 and feedback[0].startswith("Your answer leaves out what `get_food` returned")


def test_edge_cases_of_the_readers() -> None:
    assert examples("Run it, e.g.", {}) == frozenset()  # an example marker with nothing after it
    broken = AssistantMessage(tool_calls=[ToolCall(id="b", name="t", arguments="{not json 250")])
    assert unused_in_question([UserMessage(content="250 and 7?"), broken], 0) == ["7"]
    checks = GroundingCheck()
    checks.start_run([UserMessage(content="hi")], 0, {})
    assert not checks.may_question_answer  # no tools: an answer has nowhere better to come from
    checks.start_turn([UserMessage(content="hi")])
    call = validate_call(
        ToolCall(id="c", name="t", arguments='{"n": 5}'),
        tools={},
        output=OutputSpec.build(str),
        retries=1,
    )
    assert call.problem is not None  # an unknown tool is validation's business, not the check's
