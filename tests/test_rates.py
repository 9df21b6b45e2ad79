"""A value a tool gives per unit, answered as it is where the question asks about another quantity
(`_rates`, part of the local profile's grounding check): 112 kcal per 100 g answered for 250 g."""

from __future__ import annotations

import pytest
from policy_support import exchange

from agentkit.local.policy._rates import Rate, rate_answered, rate_question

FOOD = "lentil stew, per 100 g: 112 kcal, 7.4 g protein"
HOTEL = (
    "Birchwood Lodge, free rooms per night: 2025-03-14: 3, 2025-03-15: 2, 2025-03-16: 4. "
    "Rate: 96.00 EUR per room per night."
)
STAY = "Three nights at Birchwood Lodge from 2025-03-14: is a room free, and what is the total for one room?"


@pytest.mark.parametrize(
    ("question", "result", "answer", "found"),
    [
        ("Calories in a 250 g portion?", FOOD, "112 kcal", Rate("112", "lookup", "100 g", "250 g")),
        ("Protein in 2 kilos?", "per kg: 74 g protein", "74 g.", Rate("74", "lookup", "kg", "2 kilos")),
        (STAY, HOTEL, "Yes. The stay costs 96.00 EUR.", Rate("96.00", "lookup", "night", "Three nights")),
        (
            "Dinner for 6 people?",
            '{"dish": "stew", "price_per_person": 14.5}',
            "14.50",
            Rate("14.50", "lookup", "person", "6 people"),
        ),
        ("Calories in a 250 g portion?", FOOD, "280 kcal", None),  # worked out: not the rate
        ("Calories in 100 g?", FOOD, "112 kcal", None),  # the rate's own quantity
        ("How many calories does it have?", FOOD, "112 kcal per 100 g", None),  # no quantity asked about
        (STAY, HOTEL, "Yes: 3 rooms on the first night; 288 EUR.", None),  # 3 is the question's (three)
        ("Calories in a 250 g portion?", "lentil stew: 112 kcal", "112 kcal", None),  # no rate
    ],
)
def test_a_rate_answered_where_the_question_asks_about_another_quantity(
    question: str, result: str, answer: str, found: Rate | None
) -> None:
    assert rate_answered(exchange(question, result, answer), 0) == found


def test_the_rate_question_names_the_rate_and_the_tools_that_compute() -> None:
    found = Rate("112", "get_nutrition", "100 g", "250 g")
    assert rate_question(found, ["calculator"]) == (
        "Your answer gives 112, which is what `get_nutrition` gives per 100 g; the question asks about 250 g. "
        "Call `calculator` to work it out for 250 g and answer with the result. If your answer is right, give "
        "it again."
    )
    assert "Work it out for 250 g and answer" in rate_question(found, [])
