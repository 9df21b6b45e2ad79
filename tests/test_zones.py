"""A time a tool gives in UTC, answered as the local time the question asks for (`_zones`, part of
`RunPolicy(trace_numbers=True)`)."""

from __future__ import annotations

import json

import pytest
from policy_support import LOCAL_POLICY

from agentkit import Agent, AssistantMessage, ToolMessage, UserMessage, tool
from agentkit.local.policy._zones import (
    given_offset,
    offset_tools,
    utc_times,
    zone_question,
    zone_slips,
    zoned_numbers,
)
from agentkit.messages import Message
from agentkit.testing import ScriptedModel, tool_call_response

FLIGHT = {
    "flight": "RA 219",
    "origin": "Dubai",
    "departure_utc": "06:45",
    "gate": "A9",
    "duration_minutes": 290,
}


def exchange(question: str, result: str, answer: str) -> list[Message]:
    return [
        UserMessage(content=question),
        AssistantMessage(content=""),
        ToolMessage(tool_call_id="1", name="get_flight", content=result),
        AssistantMessage(content=answer),
    ]


def test_times_a_result_gives_in_utc() -> None:
    nested = json.dumps({"legs": [{"times_utc": {"out": "6:45", "back": "21:05"}}], "local": "10:45"})
    assert utc_times(exchange("", json.dumps(FLIGHT), ""), 0) == [
        ("06:45", "`get_flight` gives departure_utc 06:45")
    ]
    assert [t for t, _ in utc_times(exchange("", nested, ""), 0)] == ["06:45", "21:05"]
    text = "Departs 06:45 UTC from gate A9; boarding 06:15, lands 11:35Z."
    assert utc_times(exchange("", text, ""), 0) == [
        ("06:45", "`get_flight` gives 06:45 UTC"),
        ("11:35", "`get_flight` gives 11:35 UTC"),
    ]


@pytest.mark.parametrize(
    ("question", "answer", "found"),
    [
        ("At what local Dubai time does it depart?", "It leaves at 06:45 local time.", ["06:45"]),
        ("At what local Dubai time does it depart?", "6:45", ["6:45"]),
        ("¿A qué hora local sale?", "Sale a las 06:45.", ["06:45"]),
        ("Um wie viel Uhr Ortszeit?", "Um 06:45.", ["06:45"]),
        ("現地時間で何時に出発しますか?", "06:45です。", ["06:45"]),
        ("At what local Dubai time does it depart?", "06:45 UTC, so 10:45 local time.", []),
        ("At what local Dubai time does it depart?", "At 10:45.", []),
        ("At what time (UTC) does it depart?", "06:45", []),  # no local time asked for
    ],
)
def test_a_utc_time_answered_as_the_local_time(question: str, answer: str, found: list[str]) -> None:
    slips = zone_slips(exchange(question, json.dumps(FLIGHT), answer), 0)
    assert [w for w, _ in slips] == found
    assert zone_slips(exchange(question, json.dumps(FLIGHT), answer), 0, frozenset(found)) == []


@tool
def get_flight(flight_number: str) -> dict[str, object]:
    """A flight's route and departure time (UTC)."""
    return FLIGHT


@tool
def get_utc_offset(city: str) -> str:
    """A city's offset from UTC, in hours."""
    return "+4"


def test_the_question_names_the_tools_that_give_an_offset_but_the_source() -> None:
    tools = {t.name: t.definition for t in (get_flight, get_utc_offset)}
    assert offset_tools(tools) == ["get_flight", "get_utc_offset"]
    slips = [("06:45", "`get_flight` gives departure_utc 06:45")]
    assert zone_question(slips, offset_tools(tools)) == (
        "Your answer gives 06:45 as the local time, but `get_flight` gives departure_utc 06:45, in UTC. Find "
        "the place's UTC offset with `get_utc_offset`, add it, and answer with the local time. If the time is "
        "right as written, give the same answer again."
    )
    assert "Add the place's UTC offset and answer" in zone_question(slips, ["get_flight"])


def test_a_run_asks_once_and_takes_the_local_time() -> None:
    look = tool_call_response("get_flight", {"flight_number": "RA 219"})
    offset = tool_call_response("get_utc_offset", {"city": "Dubai"})
    model = ScriptedModel([look, "06:45 local time", offset, "10:45"], profile=LOCAL_POLICY)
    result = Agent(model, tools=[get_flight, get_utc_offset]).run_sync(
        "Flight RA 219 leaves from Dubai. At what local Dubai time does it depart?"
    )
    model.assert_all_used()
    asked = [m.text for m in result.messages if isinstance(m, UserMessage) and m.feedback]
    assert result.output == "10:45" and len(asked) == 1 and "in UTC. Find the place's UTC offset" in asked[0]


@pytest.mark.parametrize(
    ("results", "found"),
    [
        (["Dubai: UTC+4:00"], ("`get_utc_offset` gives UTC+4:00", 240)),
        (["Kathmandu: UTC+5:45"], ("`get_utc_offset` gives UTC+5:45", 345)),
        (['{"city": "Lima", "offset": "UTC-05:00"}'], ("`get_utc_offset` gives UTC-05:00", -300)),
        (["Dubai: UTC+4:00", "Dubai: GMT+4"], ("`get_utc_offset` gives UTC+4:00", 240)),  # the same offset
        (["Dubai: UTC+4:00", "Nairobi: UTC+3:00"], None),  # two places: which one is asked about is not told
        (["Dubai: +4"], None),
    ],
)
def test_the_offset_results_give(results: list[str], found: tuple[str, int] | None) -> None:
    messages: list[Message] = [UserMessage(content="q")]
    messages += [
        ToolMessage(tool_call_id=str(i), name="get_utc_offset", content=r) for i, r in enumerate(results)
    ]
    assert given_offset(messages, 0) == found


def test_with_the_offset_given_the_question_works_out_the_local_time() -> None:
    slips = [("06:45", "`get_flight` gives departure_utc 06:45")]
    assert zone_question(slips, ["get_utc_offset"], ("`get_utc_offset` gives UTC+4:00", 240)) == (
        "Your answer gives 06:45 as the local time, but `get_flight` gives departure_utc 06:45, in UTC. "
        "`get_utc_offset` gives UTC+4:00: 06:45 UTC is 10:45 there. Answer with the local time. If the time is "
        "right as written, give the same answer again."
    )
    assert "22:30 UTC is 04:15 there" in zone_question([("22:30", "x")], [], ("y gives UTC+5:45", 345))


@tool
def dubai_offset(city: str) -> str:
    """A city's offset from UTC."""
    return "Dubai: UTC+4:00"


def test_a_time_asked_about_is_asked_about_once_more_when_the_offset_comes() -> None:
    look = tool_call_response("get_flight", {"flight_number": "RA 219"})
    offset = tool_call_response("dubai_offset", {"city": "Dubai"})
    script: list[object] = [look, "06:45 local time", offset, "06:45", "10:45"]
    model = ScriptedModel(script, profile=LOCAL_POLICY)  # type: ignore[arg-type]
    result = Agent(model, tools=[get_flight, dubai_offset]).run_sync(
        "Flight RA 219 leaves from Dubai. At what local Dubai time does it depart?"
    )
    model.assert_all_used()
    asked = [m.text for m in result.messages if isinstance(m, UserMessage) and m.feedback]
    assert result.output == "10:45" and len(asked) == 2
    assert "06:45 UTC is 10:45 there" in asked[1]
    # the local time is worked out: the request after that question asks for text
    assert [r.parameters.tool_choice for r in model.requests][-1] == "none"


def test_the_answers_times_are_left_to_this_check_when_a_local_time_is_asked_for() -> None:
    messages = exchange("At what local time?", json.dumps(FLIGHT), "10:45, and 9:05 back")
    assert zoned_numbers(messages, 0) == frozenset({"10", "45", "9", "05"})
    assert zoned_numbers(exchange("At what time (UTC)?", json.dumps(FLIGHT), "10:45"), 0) == frozenset()
    assert zoned_numbers(exchange("At what local time?", '{"departure": "06:45"}', "10:45"), 0) == frozenset()
