"""A value a result labels one thing, used where the question names another of its labels (`_labels`, part
of the local profile's grounding check): the total budget divided where the roads budget was asked about."""

from __future__ import annotations

import pytest
from policy_support import LOCAL_POLICY, exchange

from agentkit import Agent, ToolMessage, UserMessage, tool
from agentkit.local.policy._labels import (
    Mislabelled,
    label_question,
    mislabelled_in_answer,
    mislabelled_in_call,
)
from agentkit.testing import ScriptedModel, tool_call_response

BUDGET = (
    "Dunmere, 2025 budget (all amounts in thousands of euros): total 48,250; roads 5,250; culture 3,870. "
    "Population: 12,500."
)
ROADS = "How much did Dunmere budget for roads in 2025 per inhabitant?"
TOTAL = Mislabelled(used="48250", tool="town_budget", label="total", named="roads", value="5,250")
RAN: list[str] = []


@pytest.mark.parametrize(
    ("question", "expression", "found"),
    [
        (ROADS, "48250 / 12500", TOTAL),
        (ROADS, "5250 * 1000 / 12500", None),  # the roads' value
        ("What share of the total goes to roads?", "5250 / 48250", None),  # both named
        ("Dunmere's budget per inhabitant?", "48250 / 12500", None),  # no label named
        (ROADS, "total: 48250 / 12500", None),  # the call names its label: a choice, not a slip
    ],
)
def test_a_call_using_another_labels_value(question: str, expression: str, found: Mislabelled | None) -> None:
    assert (
        mislabelled_in_call({"expression": expression}, exchange(question, BUDGET, tool="town_budget"), 0)
        == found
    )


@pytest.mark.parametrize(
    ("result", "answer", "found"),
    [
        (BUDGET, "48,250 thousand euros", Mislabelled("48,250", "town_budget", "total", "roads", "5,250")),
        (BUDGET, "5,250 thousand euros", None),
        (
            '{"total_eur": 48250, "roads_eur": 5250}',
            "48250 EUR",
            Mislabelled("48250", "town_budget", "total eur", "roads eur", "5250"),
        ),
        ("total 5,250; roads 5,250", "5,250", None),  # a value two labels share tells nothing
        ("Low tide 00:48 and 13:02; high tide 06:55", "06:55", None),  # times are no labelled numbers
    ],
)
def test_an_answer_giving_another_labels_value(result: str, answer: str, found: Mislabelled | None) -> None:
    question = "What is the roads budget?" if "eur" not in result else "What is the roads eur budget?"
    messages = exchange(question, result, answer, tool="town_budget")
    assert mislabelled_in_answer(messages, 0) == found


def test_an_answer_with_another_labels_value_is_asked_about_before_its_arithmetic() -> None:
    look = tool_call_response("town_budget", {"town": "Dunmere", "year": 2025})
    roads = tool_call_response("calculator", {"expression": "5250 * 1000 / 12500"})
    script: list[object] = [look, "48,250 / 12,500 = 3.86", roads, "420 euros."]
    model = ScriptedModel(script, profile=LOCAL_POLICY)  # type: ignore[arg-type]
    result = Agent(model, tools=[town_budget, calculator]).run_sync(ROADS)
    model.assert_all_used()
    asked = [m.text for m in result.messages if isinstance(m, UserMessage) and m.feedback]
    assert result.output == "420 euros." and len(asked) == 1
    assert asked[0] == label_question(
        Mislabelled(used="48,250", tool="town_budget", label="total", named="roads", value="5,250"),
        call=False,
    )


def test_the_label_questions() -> None:
    assert label_question(TOTAL, call=True) == (
        "Not run: your call uses 48250, which `town_budget` gives as total; the question asks about roads: "
        "use 5,250 for roads. If yours is right, make the same call again."
    )
    assert label_question(TOTAL, call=False) == (
        "Your answer gives 48250, which `town_budget` gives as total; the question asks about roads: use "
        "5,250 for roads. If your answer is right, give it again."
    )


@tool
def town_budget(town: str, year: int) -> str:
    """A town's budget by line, and its population."""
    return BUDGET


@tool
def calculator(expression: str) -> float:
    """Evaluate an arithmetic expression."""
    RAN.append(expression)
    return float(eval(expression, {"__builtins__": {}}))


def test_a_run_asks_once_and_a_repeat_runs() -> None:
    look = tool_call_response("town_budget", {"town": "Dunmere", "year": 2025})
    total = tool_call_response("calculator", {"expression": "48250 / 12500"})
    roads = tool_call_response("calculator", {"expression": "5250 * 1000 / 12500"})
    for script, expected in [
        ([look, total, roads, "420 euros."], ["5250 * 1000 / 12500"]),
        ([look, total, total, "3.86 thousand euros."], ["48250 / 12500"]),  # made again: confirmed
    ]:
        RAN.clear()
        model = ScriptedModel(script, profile=LOCAL_POLICY)  # type: ignore[arg-type]
        result = Agent(model, tools=[town_budget, calculator]).run_sync(ROADS)
        assert expected == RAN
        results = [m.content for m in result.messages if isinstance(m, ToolMessage)]
        assert results[1] == label_question(TOTAL, call=True)
