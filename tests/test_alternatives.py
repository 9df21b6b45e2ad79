"""Choices a tool's description offers, of which a call takes one while the question names another
(`_alternatives`, part of the local profile's grounding check): boots asked for, jackets searched."""

from __future__ import annotations

from enum import Enum

import pytest
from policy_support import LOCAL_POLICY

from agentkit import Agent, ToolMessage, tool
from agentkit.local.policy._alternatives import Choice, choice_question, choices, contradicted_choice
from agentkit.models.profiles import ModelProfile
from agentkit.testing import ScriptedModel, tool_call_response

SEARCHED: list[str] = []


class Unit(str, Enum):
    celsius = "celsius"
    fahrenheit = "fahrenheit"


@tool
def catalogue_search(query: str) -> str:
    """Search the shop's catalogue.

    Args:
        query: Terms `field:value` joined by ` AND `. Fields: category (boots, jackets), size, colour,
            max_price (in EUR). Example: "category:jackets AND colour:red".
    """
    SEARCHED.append(query)
    return "Fjellsko Trail GTX: boots, 139.00 EUR" if "boots" in query else "No product matches the filter."


@tool
def forecast(city: str, unit: Unit) -> str:
    """Tomorrow's temperature in a city, from the city's value or from one or more stations.

    Args:
        city: The city.
        unit: The unit.
    """
    return "12"


@tool
def star_info(star: str, fact: str) -> str:
    """Facts about a star.

    Args:
        star: The star's name.
        fact: Which fact: radius, mass or age.
    """
    return ""


def test_the_choices_a_description_gives() -> None:
    definition = catalogue_search.definition
    assert choices(definition.description, definition.parameters) == (("boots", "jackets"),)
    # an enum; "one or more" and "from the city's value or from" are no choices
    definition = forecast.definition
    assert choices(definition.description, definition.parameters) == (("celsius", "fahrenheit"),)
    definition = star_info.definition
    assert choices(definition.description, definition.parameters) == (("radius", "mass", "age"),)
    assert choices("A price (in EUR), a size (38 to 46) or (S, M, L)", {}) == (("S", "M", "L"),)


@pytest.mark.parametrize(
    ("arguments", "question", "found"),
    [
        (
            {"query": "category:jackets AND size:42"},
            "Do you have boots in size 42?",
            Choice(used="jackets", named="boots", options=("boots", "jackets")),
        ),
        (
            {"query": "category:Jacket AND size:42"},  # a plural's s and the case aside
            "Any boots in size 42?",
            Choice(used="Jacket", named="boots", options=("boots", "jackets")),
        ),
        ({"query": "category:boots AND size:42"}, "Do you have boots in size 42?", None),
        ({"query": "category:jackets"}, "Jackets or boots, what do you have?", None),  # both named
        ({"query": "category:jackets"}, "What do you have in size 42?", None),  # none named
        ({"query": "size:42"}, "Do you have boots in size 42?", None),  # no choice taken
        ({"query": 42}, "Do you have boots?", None),
    ],
)
def test_a_call_taking_another_choice_than_the_question_names(
    arguments: object, question: str, found: Choice | None
) -> None:
    definition = catalogue_search.definition
    lists = choices(definition.description, definition.parameters)
    assert contradicted_choice(arguments, lists, question) == found


def test_the_choice_question() -> None:
    found = Choice(used="jackets", named="boots", options=("boots", "jackets"))
    assert choice_question(found) == (
        "Not run: your call has jackets, but the question asks for boots (the tool's choices: boots and "
        "jackets). Make the call with boots. If jackets is right, make the same call again."
    )


def run(
    script: list[object], question: str, profile: ModelProfile = LOCAL_POLICY
) -> tuple[object, list[str]]:
    SEARCHED.clear()
    model = ScriptedModel(script, profile=profile)  # type: ignore[arg-type]
    result = Agent(model, tools=[catalogue_search, forecast]).run_sync(question)
    model.assert_all_used()
    return result.output, [m.content for m in result.messages if isinstance(m, ToolMessage)]


def test_a_run_asks_once_and_a_repeat_runs() -> None:
    question = "Do you have boots in size 42 for 150 euros or less?"
    jackets = tool_call_response(
        "catalogue_search", {"query": "category:jackets AND size:42 AND max_price:150"}
    )
    boots = tool_call_response("catalogue_search", {"query": "category:boots AND size:42 AND max_price:150"})
    output, results = run([jackets, boots, "Fjellsko Trail GTX, 139.00 EUR."], question)
    assert output == "Fjellsko Trail GTX, 139.00 EUR."
    assert SEARCHED == ["category:boots AND size:42 AND max_price:150"]
    assert results[0] == choice_question(Choice(used="jackets", named="boots", options=("boots", "jackets")))
    # made again in the next turn, the call runs: the model confirms it
    output, results = run([jackets, jackets, "No product matches the filter."], question)
    assert SEARCHED == ["category:jackets AND size:42 AND max_price:150"]
    assert results[1] == "No product matches the filter."
    # an enum: fahrenheit asked for, celsius sent
    celsius = tool_call_response("forecast", {"city": "Oslo", "unit": "celsius"})
    _, results = run([celsius, "12 degrees."], "Tomorrow in Oslo, in Fahrenheit?", profile=ModelProfile())
    assert results == ["12"]  # without the local policy nothing is asked
    fahrenheit = tool_call_response("forecast", {"city": "Oslo", "unit": "fahrenheit"})
    _, results = run([celsius, fahrenheit, "12 F."], "Tomorrow in Oslo, in Fahrenheit?")
    assert results[0].startswith("Not run: your call has celsius, but the question asks for fahrenheit")
