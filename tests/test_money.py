"""An amount of money answered with a computation's every decimal (`_money`, part of the local profile's
grounding check): 6354.16666666667 USD asked about once, given rounded to the cent."""

from __future__ import annotations

import pytest
from policy_support import LOCAL_POLICY

from agentkit import Agent, AssistantMessage, ToolMessage, UserMessage, tool
from agentkit.local.policy._money import money_question, unrounded_money
from agentkit.messages import Message
from agentkit.testing import ScriptedModel, tool_call_response

SALARY = "Lena Brandt's yearly salary divided by 12: what is her monthly salary in USD?"


def exchange(question: str, answer: str, lookup: str = '{"salary": 76250}') -> list[Message]:
    return [
        UserMessage(content=question),
        AssistantMessage(content=""),
        ToolMessage(tool_call_id="1", name="get_employee", content=lookup),
        ToolMessage(tool_call_id="2", name="calculator", content="6354.16666666667"),
        AssistantMessage(content=answer),
    ]


@pytest.mark.parametrize(
    ("question", "answer", "lookup", "found"),
    [
        (SALARY, "6354.16666666667", '{"salary": 76250}', ("6354.16666666667", "6354.17", 2)),
        ("Her monthly pay?", "6354.16666666667 a month.", "{}", ("6354.16666666667", "6354.17", 2)),
        ("月給は何円ですか?", "529513.8889 円", "{}", ("529513.8889", "529514", 0)),  # yen: no cents
        (SALARY, "6,354.17 USD", '{"salary": 76250}', None),  # rounded
        (SALARY, "6354.167", '{"salary": 76250}', None),  # three decimals may be a price's
        (SALARY, "At 0.92345, 5867.93 EUR.", '{"rate": 0.92345}', None),  # a rate a look-up quotes
        ("What is 76250 / 12?", "6354.16666666667", "{}", None),  # no money
    ],
)
def test_money_with_a_computations_every_decimal(
    question: str, answer: str, lookup: str, found: tuple[str, str, int] | None
) -> None:
    assert unrounded_money(exchange(question, answer, lookup), 0, ["calculator"]) == found


def test_the_money_question_gives_the_amount_rounded() -> None:
    assert money_question(("6354.16666666667", "6354.17", 2)) == (
        "Your answer writes 6354.16666666667, an amount of money with 11 decimals; money is written to the "
        "cent: 6354.17. Answer again with the amount rounded. If the question asks for every decimal, give "
        "the same answer again."
    )
    assert "written to the unit: 529514." in money_question(("529513.8889", "529514", 0))


@tool
def get_employee(name: str) -> dict[str, int]:
    """An employee's record."""
    return {"salary": 76250}


@tool
def calculator(expression: str) -> str:
    """Evaluate an arithmetic expression."""
    return "6354.16666666667"


def test_a_run_asks_once_for_the_amount_rounded() -> None:
    script: list[object] = [
        tool_call_response("get_employee", {"name": "Lena Brandt"}),
        tool_call_response("calculator", {"expression": "76250 / 12"}),
        "6354.16666666667",
        "6,354.17 USD",
    ]
    model = ScriptedModel(script, profile=LOCAL_POLICY)  # type: ignore[arg-type]
    result = Agent(model, tools=[get_employee, calculator]).run_sync(SALARY)
    model.assert_all_used()
    assert result.output == "6,354.17 USD"
    feedback = [m.text for m in result.messages if isinstance(m, UserMessage) and m.feedback]
    assert feedback == [money_question(("6354.16666666667", "6354.17", 2))]
