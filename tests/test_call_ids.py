"""One tool-call id maker (`unique_call_id`) and one grouping of a turn's results (`turns`), read by every
place that needs them: the wire format, the prompted format, and the split of two calls written as one."""

from __future__ import annotations

from agentkit import AssistantMessage, SystemMessage, ToolCall, ToolMessage, UserMessage
from agentkit._run.output import OutputSpec
from agentkit._run.tool_calls import validate_calls
from agentkit.messages import turns, unique_call_id
from agentkit.models._chat_format import unique_tool_calls, wire_messages
from agentkit.models._prompted import parse_tool_calls
from agentkit.tool import tool


@tool
def weather(city: str) -> str:
    """The weather in a city."""
    return city


def test_an_id_is_kept_when_fresh_and_made_when_missing_or_taken() -> None:
    taken = {"call_1", "x"}
    assert unique_call_id("abc", taken) == "abc"
    assert unique_call_id("", taken) == "call_4"  # counting on from the 3 ids taken
    assert unique_call_id("x", taken) == "call_5"
    assert taken == {"call_1", "x", "abc", "call_4", "call_5"}


def test_every_place_that_needs_an_id_makes_the_same_one() -> None:
    taken = ["call_1"]
    from_the_wire = unique_tool_calls([{"function": {"name": "weather", "arguments": "{}"}}], taken)
    from_text = parse_tool_calls('{"name": "weather", "arguments": {"city": "Oslo"}}', ["weather"], taken)
    joined = ToolCall(id="call_1", name="weather", arguments='{"city": "Oslo"}{"city": "Rome"}')
    split = validate_calls([joined], tools={"weather": weather}, output=OutputSpec.build(str), retries=1)
    assert [c.id for c in from_the_wire] == [c.id for c in from_text.calls] == ["call_2"]
    assert [c.call.id for c in split] == ["call_1", "call_2"]


def test_a_turn_is_grouped_with_the_results_that_follow_it() -> None:
    calls = AssistantMessage(content="", tool_calls=[ToolCall(id="a", name="weather", arguments="{}")])
    first = ToolMessage(tool_call_id="a", name="weather", content="sunny")
    again = ToolMessage(tool_call_id="a", name="weather", content="rain")
    orphan = ToolMessage(tool_call_id="b", name="weather", content="lost")
    question = UserMessage(content="weather?")
    grouped = turns([SystemMessage(content="s"), orphan, question, calls, first, again, question, orphan])
    assert [(type(m).__name__, results) for m, results in grouped] == [
        ("SystemMessage", {}),
        ("UserMessage", {}),
        ("AssistantMessage", {"a": first}),  # a call's first answer wins
        ("UserMessage", {}),
    ]
    wire = wire_messages([question, calls, first, again])
    assert [m["role"] for m in wire] == ["user", "assistant", "tool"] and wire[2]["content"] == "sunny"
