"""Which of a call's required values the transcript gives (`_invented_calls`): the check that sends a first reply
whose calls come from nowhere back without calls (`ModelProfile.decline_invented_calls`)."""

from __future__ import annotations

import json
from enum import Enum
from typing import Any, Literal

import pytest
from pydantic import BaseModel

from agentkit import AssistantMessage, SystemMessage, ToolMessage, UserMessage, tool
from agentkit._support.given import given_text
from agentkit.messages import ImagePart, TextPart, ToolCall
from agentkit.models._invented_calls import given_and_invented, invented_calls


@tool
def star_info(star_name: str, information: str) -> str:
    """Facts about a star.

    Args:
        star_name: The star's name.
        information: Which fact: radius, mass or age.
    """
    return ""


@tool
def area(radius: float, unit: str = "m") -> float:
    """The area of a circle."""
    return 3.14159 * radius**2


@tool
def convert(amount: float, from_currency: str, to_currency: str) -> float:
    """Convert money between currencies (ISO codes)."""
    return amount


@tool
def forecast(city: str, day: str, units: Literal["celsius", "fahrenheit"]) -> str:
    """The weather on a day (YYYY-MM-DD)."""
    return ""


@tool
def flags(verbose: bool, label: str | None) -> str:
    """Flags."""
    return ""


class Shape(Enum):
    CIRCLE = "circle"
    SQUARE = "square"


class Box(BaseModel):
    width: float
    height: float


@tool
def draw(shape: Shape, box: Box, points: list[int]) -> str:
    """Draw a shape."""
    return ""


TOOLS = [t.definition for t in (star_info, area, convert, forecast, flags, draw)]


def call(name: str, arguments: dict[str, Any] | str) -> ToolCall:
    text = arguments if isinstance(arguments, str) else json.dumps(arguments, ensure_ascii=False)
    return ToolCall(id=f"call_{name}", name=name, arguments=text)


def counted(text: str, name: str, arguments: dict[str, Any] | str) -> tuple[int, int]:
    return given_and_invented([call(name, arguments)], TOOLS, text)


def test_values_nobody_gave_are_invented() -> None:
    # a question no tool answers, forced into the nearest tool
    calls = [call("star_info", {"star_name": "Sun", "information": "radius"})]
    assert given_and_invented(calls, TOOLS, "What is the largest planet in the universe?") == (0, 2)
    assert invented_calls(calls, TOOLS, "What is the largest planet in the universe?")
    # the same call, asked for
    asked = "How big is the radius of the Sun?"
    assert given_and_invented(calls, TOOLS, asked) == (2, 0) and not invented_calls(calls, TOOLS, asked)


def test_only_more_invented_than_given_declines() -> None:
    text = "Tell me about the star Vega."
    calls = [call("star_info", {"star_name": "Vega", "information": "age"})]
    assert given_and_invented(calls, TOOLS, text) == (1, 1) and not invented_calls(calls, TOOLS, text)
    assert not invented_calls([], TOOLS, text)  # a text reply


@pytest.mark.parametrize(
    ("text", "radius"),
    [
        ("the area of a circle of radius 5", 5),
        ("radius 2.5 metres", 2.5),
        ("a radius of -3 (sign aside)", 3),
        ("a radius of 1,500 m", 1500),
        ("a radius of 1.5 million km", 1_500_000),
        ("a radius of 5 thousand km", 5000),
        ("a radius 12% of the other", 0.12),
        ("a radius of 0.25", 25),  # a fraction written as a percent
        ("a radius of five", 5),
        ("a radius of twenty-five", 25),
        ("the radius on the fourteenth", 14),
        ("the radius on 3 April", 4),  # a month's name gives its number (a date's month)
        ("le rayon du 3 avril", 4),
        ("the radius in May", 5),
        ("the radius at a quarter past three in the afternoon", 15),  # a time of day's hour and minutes
        ("a radius of a decade", 10),
        ("半径は５メートル", 5),  # full-width digits
    ],
)
def test_numbers_are_given_as_written_at_a_scale_or_in_words(text: str, radius: float) -> None:
    assert counted(text, "area", {"radius": radius}) == (1, 0)


def test_a_number_the_text_does_not_hold_is_invented() -> None:
    assert counted("the area of a circle of radius 5", "area", {"radius": 7}) == (0, 1)
    assert counted("you may march in the area", "area", {"radius": 5}) == (0, 1)  # verbs, not months
    # "3,4" is two numbers, not 34 (a comma groups thousands only before three digits)
    assert counted("between A(3,4) and B(1,2)", "area", {"radius": 34}) == (0, 1)
    assert counted("between A(3,4) and B(1,2)", "area", {"radius": 4}) == (1, 0)


def test_strings_are_given_by_a_word_its_stem_or_its_text() -> None:
    weather = {"city": "London", "day": "monday", "units": "celsius"}
    assert counted("Quel temps fait-il à Londres lundi ?", "forecast", weather) == (1, 1)  # stem "lond"
    assert counted("Weather in New York on monday", "forecast", weather | {"city": "New York, NY"}) == (2, 0)
    assert counted("東京の天気は？月曜日", "forecast", weather | {"city": "東京", "day": "月曜日"}) == (2, 0)


def test_a_string_is_given_by_its_numbers_too() -> None:
    question = "What is 1.5 million divided by 3,200?"
    assert counted(question, "star_info", {"star_name": "1500000 / 3200", "information": "x"}) == (1, 0)
    assert counted(question, "star_info", {"star_name": "1.5 / 3200", "information": "x"}) == (1, 0)
    assert counted(question, "star_info", {"star_name": "7 * 9", "information": "x"}) == (0, 1)


def test_values_counted_neither_way() -> None:
    text = "What will the weather be in Paris tomorrow?"
    # an enum value, an ISO date worked out from "tomorrow", and the optional parameter are not counted
    assert counted(text, "forecast", {"city": "Paris", "day": "2026-12-08", "units": "fahrenheit"}) == (1, 0)
    assert counted(
        "Convert 100 dollars to euros",
        "convert",
        {"amount": 100, "from_currency": "USD", "to_currency": "EUR"},
    ) == (1, 0)
    assert counted("anything", "area", {"radius": 5, "unit": "parsec"}) == (0, 1)  # `unit` is optional
    assert counted("anything", "flags", {"verbose": True, "label": None}) == (0, 0)  # a boolean, a null
    assert counted("anything", "star_info", {"star_name": "!!", "information": ""}) == (0, 0)  # no word
    # the default and the listed values of a `$ref`'d enum
    assert counted(
        "draw it", "draw", {"shape": "square", "box": {"width": 2, "height": 3}, "points": [2]}
    ) == (
        0,
        3,
    )
    assert counted(
        "a 2 by 3 box", "draw", {"shape": "circle", "box": {"width": 2, "height": 3}, "points": []}
    ) == (
        2,
        0,
    )


def test_latin_strings_against_another_script_are_not_counted() -> None:
    # a name translated from the question's script cannot be compared word for word
    weather = {"city": "Tokyo", "day": "Monday", "units": "celsius"}
    assert counted("東京の月曜日の天気は？", "forecast", weather) == (0, 0)
    assert counted("東京の月曜日の天気は？", "forecast", weather | {"city": "大阪"}) == (0, 1)


def test_calls_that_cannot_be_read_are_left_out() -> None:
    assert counted("anything", "area", "{not json") == (0, 0)
    assert counted("anything", "area", "[5]") == (0, 0)
    assert counted("anything", "no_such_tool", {"radius": 9}) == (0, 0)
    assert counted("anything", "area", {}) == (0, 0)  # a required value missing is the schema's concern


def test_the_values_come_from_what_the_conversation_gives() -> None:
    messages = [
        SystemMessage(content="The user lives in Oslo."),
        UserMessage(
            content=[
                TextPart(text="What is the weather"),
                ImagePart(url="https://example.com/chart.png"),
            ]
        ),
        AssistantMessage(content="", tool_calls=[call("star_info", {})]),
        ToolMessage(tool_call_id="call_star_info", name="star_info", content="radius 696340 km"),
        ToolMessage(tool_call_id="call_x", name="star_info", content="no star Bergen", is_error=True),
        UserMessage(content="Answer with the city of Trondheim.", feedback=True),
    ]
    text = given_text(messages, len(messages))  # what the decision reads: earlier turns count too
    assert "oslo" in text and "what is the weather" in text and "696340" in text
    # an error message and agentkit's own feedback give nothing
    assert "bergen" not in text and "trondheim" not in text
    calls = [call("forecast", {"city": "Oslo", "day": "today", "units": "celsius"})]
    assert given_and_invented(calls, TOOLS, text) == (1, 1)
    assert given_and_invented([call("area", {"radius": 696340})], TOOLS, text) == (1, 0)


def test_a_long_transcript_is_read_once() -> None:
    # the numbers are looked up, not compared one by one: a long history and a long list stay cheap
    base = 10_000_000  # at every scale, far from the values below but at scale 1
    text = " ".join(str(base + n) for n in range(0, 200_000, 2))
    values = [base + j for j in range(20_000)]  # the even ones written
    box = {"width": base, "height": base + 2}
    assert counted(text, "draw", {"shape": "circle", "box": box, "points": values}) == (10_002, 10_000)
