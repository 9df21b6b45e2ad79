"""A computation multiplying an amount in one unit by a rate per another (`_mixed_units`, part of the local
profile's grounding check): 900 g times 18.40 euros a kilo."""

from __future__ import annotations

import pytest
from policy_support import LOCAL_POLICY

from agentkit import Agent, ToolMessage, tool
from agentkit.local.policy._mixed_units import Mixed, mixed_question, mixed_units
from agentkit.testing import ScriptedModel, tool_call_response

FISH = (
    "white fish is 18.40 euros a kilo at my market. what will the fish for 6 people cost me?\n"
    "harbour fish pie for 6 servings: white fish 900 g, potatoes 1350 g, milk 450 ml"
)
RAN: list[str] = []


@pytest.mark.parametrize(
    ("expression", "text", "found"),
    [
        ("900 * 18.40", FISH, Mixed("900", "g", "18.40", "kilo", "0.9", "0.9 * 18.40")),
        ("18.40 × 1350", FISH, Mixed("1350", "g", "18.40", "kilo", "1.35", "18.40 × 1.35")),
        (
            "1.2 km * €0.35/m",
            "the cable costs €0.35/m; the run is 1.2 km",
            Mixed("1.2", "km", "0.35", "m", "1200", "1200 km * €0.35/m"),
        ),
        ("900 / 1000 * 18.40", FISH, None),  # converted
        ("0.9 * 18.40", FISH, None),
        ("900 + 18.40", FISH, None),  # no product, no quotient
        ("42 * 1.65", "diesel is €1.65 per litre; the trip takes 42 l", None),  # the same unit
        ("412 * 27.5", "27.5 cents per kwh; 412 kwh", None),  # no unit of these kinds
    ],
)
def test_an_amount_times_a_rate_per_another_unit(expression: str, text: str, found: Mixed | None) -> None:
    assert mixed_units({"expression": expression}, text) == found


def test_the_mixed_question_converts_the_amount() -> None:
    assert mixed_question(Mixed("900", "g", "18.40", "kilo", "0.9", "0.9 * 18.40")) == (
        "Not run: your call uses 900 g with 18.40, which is per kilo: 900 g is 0.9 kilo. Make the call with "
        "0.9: `0.9 * 18.40`. If yours is right, make the same call again."
    )


@tool
def scale_recipe(recipe: str, servings: int) -> str:
    """A recipe's ingredients for a number of servings."""
    return "harbour fish pie for 6 servings: white fish 900 g, potatoes 1350 g, milk 450 ml"


@tool
def calculator(expression: str) -> float:
    """Evaluate an arithmetic expression."""
    RAN.append(expression)
    return float(eval(expression, {"__builtins__": {}}))


def test_a_run_asks_once_and_a_repeat_runs() -> None:
    question = (
        "White fish is 18.40 euros a kilo. If I make the harbour fish pie for 6 people, what will it cost?"
    )
    scale = tool_call_response("scale_recipe", {"recipe": "harbour fish pie", "servings": 6})
    grams = tool_call_response("calculator", {"expression": "900 * 18.40"})
    kilos = tool_call_response("calculator", {"expression": "0.9 * 18.40"})
    for script, expected in [
        ([scale, grams, kilos, "16.56 euros."], ["0.9 * 18.40"]),
        ([scale, grams, grams, "16560 euros."], ["900 * 18.40"]),  # made again: the model confirms it
    ]:
        RAN.clear()
        model = ScriptedModel(script, profile=LOCAL_POLICY)  # type: ignore[arg-type]
        result = Agent(model, tools=[scale_recipe, calculator]).run_sync(question)
        assert expected == RAN
        results = [m.content for m in result.messages if isinstance(m, ToolMessage)]
        assert results[1] == mixed_question(Mixed("900", "g", "18.40", "kilo", "0.9", "0.9 * 18.40"))
