"""Answers that give a number in another unit than the one its source names (`_measures`, part of
`RunPolicy(trace_numbers=True)`)."""

from __future__ import annotations

import json

import pytest
from policy_support import LOCAL_POLICY

from agentkit import Agent, AssistantMessage, ToolMessage, UserMessage, tool
from agentkit.local.policy._measures import (
    Measured,
    converting_tools,
    measure_question,
    measure_slips,
    measured_numbers,
)
from agentkit.messages import Message, ToolCall
from agentkit.models.profiles import ModelProfile
from agentkit.testing import ScriptedModel, tool_call_response

EMPLOYEE = json.dumps({"name": "Omar Haddad", "salary_usd": 102000, "start_year": 2019})
FLIGHT = json.dumps(
    {"flight": "LM 907", "distance_km": 2210, "duration_minutes": 205, "cruise": {"kmh": 830}}
)


def results(*contents: tuple[str, str]) -> list[Message]:
    """A question, then each (tool, result) as a call and its result."""
    messages: list[Message] = [UserMessage(content="How much, in the unit I ask?")]
    for index, (name, content) in enumerate(contents):
        messages.append(
            AssistantMessage(content="", tool_calls=[ToolCall(id=str(index), name=name, arguments="{}")])
        )
        messages.append(ToolMessage(tool_call_id=str(index), name=name, content=content))
    return messages


def shown(found: list[Measured]) -> list[tuple[str, list[str], str]]:
    return [(m.written, sorted(m.units), m.origin) for m in found]


def test_a_json_key_names_the_unit_of_its_numbers_and_a_rate_names_none() -> None:
    found = measured_numbers(results(("get_employee", EMPLOYEE), ("get_flight", FLIGHT)), 0)
    assert shown(found) == [
        ("102000", ["USD"], "`get_employee` gives salary_usd 102000"),
        ("2210", ["km"], "`get_flight` gives distance_km 2210"),
        ("830", ["kmh"], "`get_flight` gives kmh 830"),  # a key's unit passes to the numbers under it
    ]
    rates = json.dumps({"usd_to_eur": 0.92, "km_per_mile": 1.609, "totalEUR": 48.5, "temp_c": 21})
    assert shown(measured_numbers(results(("rates", rates)), 0)) == [
        ("48.5", ["EUR"], "`rates` gives totalEUR 48.5"),
        ("21", ["C"], "`rates` gives temp_c 21"),
    ]


def test_a_unit_written_next_to_a_number() -> None:
    text = "Fare $310 (US$ 12 tax), 23 kg bag, cabin 22 °C, 900 km/h, 5 kg/m cable, 40 EUR, USD 7, 12 items."
    found = measured_numbers(results(("flight_info", text)), 0)
    assert [(m.written, sorted(m.units)) for m in found] == [
        ("310", ["AUD", "CAD", "HKD", "NZD", "SGD", "USD"]),  # `$` is any dollar
        ("12", ["USD"]),
        ("23", ["kg"]),
        ("22", ["C"]),
        ("900", ["kmh"]),
        ("40", ["EUR"]),
        ("7", ["USD"]),
    ]
    assert found[0].origin == "`flight_info` gives 310"


@pytest.mark.parametrize(
    ("answer", "slipped"),
    [
        ("Omar earns 102000 euros a year.", [("102000", "euros")]),
        ("€102,000", [("102,000", "euros")]),
        ("102,000 EUR", [("102,000", "euros")]),
        ("The route is 2210 miles long.", [("2210", "miles")]),
        ("102000 US dollars", []),
        ("$102,000", []),  # any dollar may be the source's
        ("102000", []),  # no unit written: nothing to compare
        ("2210 km, 205 minutes", []),
        ("The flight takes 205 miles", []),  # no source gives 205 in a unit
        ("102000 kilometres", []),  # another kind of unit: another quantity, not a slip
        ("93840 euros", []),
    ],
)
def test_an_answer_number_in_another_unit_of_the_same_kind(
    answer: str, slipped: list[tuple[str, str]]
) -> None:
    found = measured_numbers(results(("get_employee", EMPLOYEE), ("get_flight", FLIGHT)), 0)
    assert [(w, unit) for w, unit, _ in measure_slips(answer, found)] == slipped


def test_a_result_that_gives_the_value_in_the_answers_unit_lets_it_through() -> None:
    converted = "102000 USD = 102000 EUR at the test rate"  # a conversion that landed on the same value
    found = measured_numbers(results(("get_employee", EMPLOYEE), ("convert_currency", converted)), 0)
    assert measure_slips("102000 euros", found) == []
    assert measure_slips("102000 euros", found[:1], asked=frozenset({"102000"})) == []  # asked about once


def test_a_pound_is_sterling_or_a_weight_whichever_kind_the_source_is() -> None:
    found = measured_numbers(results(("shop", json.dumps({"price_usd": 23, "weight_kg": 4}))), 0)
    assert [(w, unit) for w, unit, _ in measure_slips("23 pounds and 4 pounds", found)] == [
        ("23", "pounds sterling"),
        ("4", "pounds"),
    ]
    assert measure_slips("£23", measured_numbers(results(("shop", '{"price_gbp": 23}')), 0)) == []


def test_the_question_names_both_units_and_the_tools_that_convert() -> None:
    found = measured_numbers(results(("get_employee", EMPLOYEE)), 0)
    slips = measure_slips("102000 euros", found)
    assert measure_question(slips, ["convert_currency"]) == (
        "Your answer gives 102000 in euros, but `get_employee` gives salary_usd 102000, in US dollars. "
        "Convert it with `convert_currency` and answer with the result. If the number is right as written, "
        "give the same answer again."
    )
    assert "Convert it and answer" in measure_question(slips, [])


def test_the_tools_that_convert_by_their_name_or_description() -> None:
    tools = {t.name: t.definition for t in (convert_currency, get_employee, calculator)}
    assert converting_tools(tools) == ["convert_currency"]


@tool
def get_employee(name: str) -> dict[str, object]:
    """Look up an employee's record."""
    return json.loads(EMPLOYEE) | {"name": name}


@tool
def convert_currency(amount: float, source: str, target: str) -> float:
    """Turn an amount from one currency into another."""
    return round(amount * 0.92, 2)


@tool
def calculator(expression: str) -> float:
    """Evaluate an arithmetic expression."""
    return float(eval(expression, {"__builtins__": {}}))


def run(script: list[object], profile: ModelProfile = LOCAL_POLICY) -> tuple[object, list[str]]:
    model = ScriptedModel(script, profile=profile)  # type: ignore[arg-type]
    agent = Agent(model, tools=[get_employee, convert_currency, calculator])
    result = agent.run_sync("What is Omar Haddad's yearly salary in euros?")
    model.assert_all_used()
    return result.output, [m.text for m in result.messages if isinstance(m, UserMessage) and m.feedback]


LOOKUP = tool_call_response("get_employee", {"name": "Omar Haddad"})
CONVERT = tool_call_response("convert_currency", {"amount": 102000, "source": "USD", "target": "EUR"})


def test_a_run_asks_once_and_takes_the_converted_answer() -> None:
    output, feedback = run([LOOKUP, "102000 euros", CONVERT, "93840 euros"])
    assert output == "93840 euros"
    assert (
        len(feedback) == 1
        and "in euros, but `get_employee` gives salary_usd 102000, in US dollars" in feedback[0]
    )
    # the same answer again: the model confirms it, and it goes through
    output, feedback = run([LOOKUP, "102000 euros", "102000 euros"])
    assert output == "102000 euros" and len(feedback) == 1
    # without the local policy nothing is asked
    output, feedback = run([LOOKUP, "102000 euros"], profile=ModelProfile())
    assert output == "102000 euros" and feedback == []
