"""Numbers a tool gives in cents or thousands, and answers that drop the scale (`_units`, part of
`RunPolicy(trace_numbers=True)`)."""

from __future__ import annotations

import json

import pytest
from policy_support import LOCAL_POLICY

from agentkit import Agent, AssistantMessage, ToolMessage, UserMessage, tool
from agentkit.local.policy._tracing import sources, untraced
from agentkit.local.policy._units import (
    Scaled,
    converted_sources,
    scaled_numbers,
    unit_question,
    unit_slips,
    unscaled_numbers,
)
from agentkit.messages import Message, ToolCall
from agentkit.models.profiles import ModelProfile
from agentkit.testing import ScriptedModel, tool_call_response

DUNMERE = (
    "Dunmere, 2025 budget (all amounts in thousands of euros): total 48,250; roads 5,250; culture 3,870. "
    "Population: 12,500."
)
HALVIK = (
    "Halvik, 2025 budget (all amounts in thousands of euros): total 61,900; roads 8,120. Population: 23,870."
)


def exchange(*steps: tuple[str, str, str]) -> list[Message]:
    """A question, then each (tool, arguments, result) as a call and its result."""
    messages: list[Message] = [UserMessage(content="What is it, in euros?")]
    for index, (name, arguments, result) in enumerate(steps):
        messages.append(
            AssistantMessage(content="", tool_calls=[ToolCall(id=str(index), name=name, arguments=arguments)])
        )
        messages.append(ToolMessage(tool_call_id=str(index), name=name, content=result))
    return messages


def shown(scaled: list[Scaled]) -> list[tuple[str, str, float]]:
    return [(s.written, s.scale.unit, s.scale.factor) for s in scaled]


def test_a_json_key_that_names_a_scale_scales_its_numbers_only() -> None:
    stock = json.dumps({"sku": "SKU-4471", "on_hand_units": 1240, "unit_cost_euro_cents": 385})
    found = scaled_numbers(exchange(("warehouse_stock", "{}", stock)), 0, ["calculator"])
    assert shown(found) == [("385", "euro cents", 0.01)]
    assert found[0].scale.whole == "euros"
    assert found[0].origin == "`warehouse_stock` gives unit_cost_euro_cents 385 in euro cents"
    nested = json.dumps({"lines": {"revenue_thousands_usd": [120, 80.5]}, "year": 2025})
    found = scaled_numbers(exchange(("report", "{}", nested)), 0, [])
    assert shown(found) == [("120", "thousands of usd", 1e3), ("80.5", "thousands of usd", 1e3)]
    assert found[0].scale.whole == "dollars"


def test_a_scale_written_after_a_number_or_stated_for_a_sentence() -> None:
    tariff = "Meter M-2291, 2026-02: 412 kWh used; tariff 27.5 euro cents per kWh."
    assert shown(scaled_numbers(exchange(("energy", "{}", tariff)), 0, [])) == [("27.5", "euro cents", 0.01)]
    # the statement covers the rest of its sentence: not the year before it, nor the population after it
    found = scaled_numbers(exchange(("town_budget", "{}", DUNMERE)), 0, [])
    assert [s.written for s in found] == ["48,250", "5,250", "3,870"]
    assert found[0].scale.unit == "thousands of euros" and found[0].scale.factor == 1e3
    # a statement after its numbers covers those before it in its sentence
    after = "Revenue 120, costs 80 (in millions). Staff: 40."
    assert [s.written for s in scaled_numbers(exchange(("report", "{}", after)), 0, [])] == ["120", "80"]
    # no scale word: nothing (a percentage is traced as a fraction, not scaled)
    assert (
        scaled_numbers(exchange(("t", "{}", "Visits: 2,400 in 2025, up 12 percent; in 10 days")), 0, []) == []
    )


def test_a_computing_tools_result_keeps_its_operands_scale_unless_the_call_converts() -> None:
    stock = json.dumps({"on_hand_units": 1240, "unit_cost_euro_cents": 385})
    steps = [("warehouse_stock", "{}", stock), ("calculator", '{"expression": "1240 * 385"}', "477400")]
    found = scaled_numbers(exchange(*steps), 0, ["calculator"])
    assert shown(found) == [("385", "euro cents", 0.01), ("477400", "euro cents", 0.01)]
    assert found[1].origin.startswith("`calculator` computed it from 385; `warehouse_stock` gives")
    converts = ("calculator", '{"expression": "1240 * 385 / 100"}', "4774")
    assert shown(scaled_numbers(exchange(steps[0], converts), 0, ["calculator"])) == shown(found[:1])
    # a tool that does not compute passes nothing on
    assert len(scaled_numbers(exchange(*steps), 0, [])) == 1
    # an error is no result
    failed = exchange(*steps)
    failed[-1] = ToolMessage(tool_call_id="1", name="calculator", content="477400 is too big", is_error=True)
    assert len(scaled_numbers(failed, 0, ["calculator"])) == 1


@pytest.mark.parametrize(
    ("answer", "slipped"),
    [
        ("The difference is 13,650.", ["13,650"]),
        ("13,650 euros, and Dunmere spends 5,250 on roads", ["13,650", "5,250"]),
        ("13,650 thousand euros", []),
        ("13,650 k€", []),
        ("13.65 million euros", []),
        ("13,650,000 euros", []),
        ("Dunmere has 12,500 inhabitants (2025).", []),
    ],
)
def test_an_answer_number_without_its_sources_scale(answer: str, slipped: list[str]) -> None:
    messages = exchange(
        ("town_budget", '{"town": "Dunmere"}', DUNMERE),
        ("town_budget", '{"town": "Halvik"}', HALVIK),
        ("calculator", '{"expression": "61900 - 48250"}', "13650"),
    )
    scaled = scaled_numbers(messages, 0, ["calculator"])
    slips = unit_slips(answer, scaled, unscaled_numbers(messages, 0, scaled))
    assert [written for written, _ in slips] == slipped
    assert unit_slips(answer, scaled, unscaled_numbers(messages, 0, scaled), frozenset(slipped)) == []


def test_a_number_the_question_gives_is_the_users_value() -> None:
    messages = exchange(("price", "{}", json.dumps({"price_cents": 250})))
    messages[0] = UserMessage(content="I have 250 euros; can I buy it?")
    scaled = scaled_numbers(messages, 0, [])
    assert unit_slips("Yes: you have 250 euros.", scaled, unscaled_numbers(messages, 0, scaled)) == []
    assert unit_slips("It costs 250 cents.", scaled, []) == []
    assert [w for w, _ in unit_slips("It costs 250.", scaled, [])] == ["250"]


def test_the_question_gives_the_value_in_whole_units_and_that_value_traces() -> None:
    stock = json.dumps({"on_hand_units": 1240, "unit_cost_euro_cents": 385})
    messages = exchange(
        ("warehouse_stock", "{}", stock), ("calculator", '{"expression": "1240*385"}', "477400")
    )
    scaled = scaled_numbers(messages, 0, ["calculator"])
    assert unit_question(unit_slips("477400", scaled, [])) == (
        "Your answer has 477400 without the unit of its source:\n"
        "- 477400: `calculator` computed it from 385; `warehouse_stock` gives unit_cost_euro_cents 385 in euro "
        "cents; 477400 euro cents are 4,774 euros.\n"
        "Answer in the unit the question asks for (or write the unit next to the number). If the number is "
        "right as written, give the same answer again."
    )
    given = [*sources(messages, 0), *converted_sources(scaled)]
    assert untraced("The stock is worth 4,774 euros (3.85 each).", given) == []
    assert [u.written for u in untraced("The stock is worth 4,774 euros.", sources(messages, 0))] == ["4,774"]


RAN: list[str] = []


@tool
def warehouse_stock(sku: str) -> dict[str, object]:
    """Stock of one article: units on hand and unit cost."""
    RAN.append(sku)
    return {"sku": sku, "on_hand_units": 1240, "unit_cost_euro_cents": 385}


@tool
def calculator(expression: str) -> float:
    """Evaluate an arithmetic expression."""
    return float(eval(expression, {"__builtins__": {}}))


def run(script: list[object], profile: ModelProfile = LOCAL_POLICY) -> tuple[object, list[str]]:
    model = ScriptedModel(script, profile=profile)  # type: ignore[arg-type]
    agent = Agent(model, tools=[warehouse_stock, calculator])
    result = agent.run_sync("What is the stock of SKU-4471 worth, in euros, at unit cost?")
    model.assert_all_used()
    return result.output, [m.text for m in result.messages if isinstance(m, UserMessage) and m.feedback]


LOOKUP = tool_call_response("warehouse_stock", {"sku": "SKU-4471"})
MULTIPLY = tool_call_response("calculator", {"expression": "1240 * 385"})


def test_a_run_asks_once_and_takes_the_answer_in_euros() -> None:
    output, feedback = run([LOOKUP, MULTIPLY, "477400", "The stock is worth 4,774 euros."])
    assert output == "The stock is worth 4,774 euros."
    assert len(feedback) == 1 and "477400 euro cents are 4,774 euros" in feedback[0]
    # the same number again: the model confirms it, and it goes through
    output, feedback = run([LOOKUP, MULTIPLY, "477400", "477400"])
    assert output == "477400" and len(feedback) == 1
    # written with its unit: nothing to ask
    output, feedback = run([LOOKUP, MULTIPLY, "477400 cents"])
    assert feedback == []
    # without the local policy nothing is asked
    output, feedback = run([LOOKUP, MULTIPLY, "477400"], profile=ModelProfile())
    assert output == "477400" and feedback == []
