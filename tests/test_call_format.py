"""The prompted reply format of the local profile: several calls as natural as one, a call may follow text
(and is then held to its tool's schema by the grammar), and a cheap yes/no decision first so a request no
tool fits is answered in text. Grammars checked with LLGuidance itself; requests through the real
`AsyncOpenAI` client against the loopback server, asserting on the JSON that goes out."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Iterator
from typing import Any, Literal

import pytest
from loopback_support import logprobs

from agentkit import Agent, ModelSettings, UserMessage, tool
from agentkit.local.policy import LOCAL
from agentkit.models import ModelRequestParameters
from agentkit.models._grammar import tool_call_grammar
from agentkit.models._prompted import CHOICES_SECTION, TOOLS_SECTION, _describe, system_prompt
from agentkit.models._tool_decision import NAMES, asks_decision, decision_bodies, tool_use_declined
from agentkit.models.openai import OpenAIChatModel
from agentkit.models.profiles import ModelProfile
from agentkit.testing import LoopbackServer
from agentkit.tool import ToolDefinition

llguidance = pytest.importorskip("llguidance")

# the local profile's wire format, without its run policy (the checks have their own tests) and decision
FORMAT = dataclasses.replace(LOCAL, policy=None, decide_tool_use=False, decline_invented_calls=False)
DECIDING = dataclasses.replace(
    FORMAT, decide_tool_use=True, tool_use_thresholds=ModelProfile().tool_use_thresholds
)
"""The decision with both requests (the local profile's has no name question: `ONE_REQUEST`)."""
ONE_REQUEST = dataclasses.replace(DECIDING, tool_use_thresholds=LOCAL.tool_use_thresholds)
PLAIN = ModelProfile(family="test", tool_calling="prompted", constrain_calls=True)


@tool
def get_weather(city: str, units: Literal["celsius", "fahrenheit"] = "celsius") -> str:
    """Current weather in a city.

    Args:
        city: City name.
        units: Temperature units.
    """
    return f"{city}: 3°C"


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


TOOLS = [get_weather.definition, add.definition]
OSLO = '{"name": "get_weather", "arguments": {"city": "Oslo"}}'
LIMA = '{"name": "get_weather", "arguments": {"city": "Lima", "units": "fahrenheit"}}'
SUM = '{"name": "add", "arguments": {"a": 2, "b": 3}}'
BAD_SUM = '{"name": "add", "arguments": {"a": "two", "b": 3}}'


def accepts(grammar: str, text: str) -> bool:
    tokenizer = llguidance.LLTokenizer("byte")
    matcher = llguidance.LLMatcher(tokenizer, grammar, log_level=0)
    matcher.consume_tokens(tokenizer.tokenize_str(text))
    return not matcher.is_error() and matcher.is_accepting()


def grammar_of(profile: ModelProfile, choice: str = "auto") -> str:
    grammar = tool_call_grammar(TOOLS, profile, choice)
    assert grammar is not None and llguidance.LLMatcher.validate_grammar(grammar) == ""
    return grammar


# -- the grammar ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reply",
    [
        "Oslo has light snow, -3°C.",
        "Two lines of text,\nthe second one {in braces}.",
        "```python\nprint({'a': 1})\n```",
        OSLO,
        f"{OSLO}\n{LIMA}\n{SUM}",
        f"I'll look up both cities and add the numbers.\n{OSLO}\n{LIMA}",
        f"First the weather.\nThen the sum.\n{OSLO}\n{SUM}",
        f"```json\n{OSLO}",  # a call in an opened code fence is a constrained call after text
        f"```json\n{OSLO}\n\n{LIMA}\n```\n",  # blank lines between the calls, the fence closed after them
        f"{OSLO}\n",
        "{'a': 1}",  # an answer that is a dict literal, or JSON, not a call
        '{"a": 1, "names": ["x"]}',
        'Here is JSON:\n{"x": 1}',
        "```python\n{\n    'a': 1,\n}\n```",
    ],
)
def test_text_one_call_several_calls_and_text_then_calls_are_allowed(reply: str) -> None:
    assert accepts(grammar_of(FORMAT), reply)


@pytest.mark.parametrize(
    ("reply", "why"),
    [
        (f"Looking it up.\n{OSLO.replace('get_weather', 'get_time')}", "an unknown tool after text"),
        (f"Looking it up.\n{OSLO.replace('city', 'town')}", "an unknown parameter after text"),
        (f"Two calls.\n{OSLO}\n{BAD_SUM}", "a wrong type in the second call after text"),
        (f"Looking it up.\n{LIMA.replace('fahrenheit', 'kelvin')}", "a value outside the enum after text"),
        ('Looking it up.\n{"name": "add", "arguments": {"a": 2}}', "a required argument left out after text"),
        (f"Looking it up: {OSLO}", "a call inside a line of text"),
        ("The result:\n{'name': 'add', 'arguments': {'a': 2, 'b': 3}}", "a Python-style call after text"),
        ('{\n  "name": "add", "arguments": {"a": "two"}}', "a call whose first key is on the next line"),
        ('{"type": "function", "name": "add", "arguments": {"a": 2, "b": 3}}', "a call in another shape"),
        ('{"note": {"name": "x"}}', "an object the parser reads as a possible call"),
        (f"{OSLO}\nDone.", "text after the calls"),
        (f"{OSLO}\n```\n{LIMA}", "a call after the closing fence"),
        (f"\n{OSLO}", "white space first"),
    ],
)
def test_a_call_after_text_is_held_to_the_schema(reply: str, why: str) -> None:
    assert not accepts(grammar_of(FORMAT), reply), why


def test_without_calls_after_text_only_a_reply_starting_as_a_call_is_constrained() -> None:
    grammar = grammar_of(PLAIN)
    assert accepts(grammar, f"Looking it up.\n{OSLO.replace('get_weather', 'get_time')}")
    assert accepts(grammar, "{'a': 1}") and accepts(grammar, f"{OSLO}\n{LIMA}")
    assert not accepts(grammar, OSLO.replace("get_weather", "get_time"))
    assert "prose" not in grammar


def test_a_tool_name_with_regex_characters_is_matched_as_written() -> None:
    definition = ToolDefinition(
        name="files.read-text", description="Read a file.", parameters={"type": "object", "properties": {}}
    )
    grammar = tool_call_grammar([definition], FORMAT, "auto")
    assert grammar is not None and llguidance.LLMatcher.validate_grammar(grammar) == ""
    assert accepts(grammar, '{"name": "files.read-text", "arguments": {}}')
    assert not accepts(grammar, '{"name": "filesXread-text", "arguments": {}}')


def test_required_choice_allows_text_then_calls_but_not_text_alone() -> None:
    grammar = grammar_of(FORMAT, "required")
    assert accepts(grammar, f"Both cities:\n{OSLO}\n{LIMA}")
    assert accepts(grammar, OSLO)
    assert not accepts(grammar, "It is cold.")
    assert not accepts(grammar, f"Both cities:\n{OSLO.replace('Oslo', '1')[:-2]}")


# -- the system prompt ---------------------------------------------------------------------------------------


def test_the_prompt_names_the_no_tool_reply_and_shows_several_calls_in_one_reply() -> None:
    text = system_prompt(None, TOOLS, FORMAT)
    assert CHOICES_SECTION.split("{tools}")[0].replace("{{", "{").replace("}}", "}") in text
    # the tools after the shared text (a prompt cache keeps it), then the shape of a call again
    tools_at = text.index(json.dumps(_describe(TOOLS[0], FORMAT), ensure_ascii=False))
    assert tools_at > text.index("If no tool does what is asked")
    shape = '\n{"name": "<tool name>", "arguments": {"<argument>": <value>, ...}}'
    assert text.endswith(
        f"with every call the question needs that does not need another call's result in this one reply:{shape}"
    )
    assert system_prompt(None, TOOLS, PLAIN).endswith(
        f"reply with only a JSON object and nothing else:{shape}"
    )
    example = [line for line in text.splitlines() if line.startswith('{"name": "population"')]
    assert len(example) == 2 and all(json.loads(line)["arguments"] for line in example)
    assert "If no tool does what is asked, call none" in text
    plain = system_prompt(None, TOOLS, PLAIN)
    assert TOOLS_SECTION.split("{tools}")[0].replace("{{", "{").replace("}}", "}") in plain
    assert "If no tool does what is asked" not in plain


# -- on the wire ---------------------------------------------------------------------------------------------


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer(model="local-test") as srv:
        yield srv


def model_on(server: LoopbackServer, profile: ModelProfile = FORMAT) -> OpenAIChatModel:
    return OpenAIChatModel("local-test", base_url=server.base_url, profile=profile)


def test_several_calls_after_text_on_the_wire(server: LoopbackServer) -> None:
    server.add('{"', "get_weather", f"Checking both.\n{OSLO}\n{LIMA}", "Oslo: 3°C, Lima: 3°C.")
    agent = Agent(model_on(server, DECIDING), tools=[get_weather, add])
    result = agent.run_sync("Weather in Oslo and in Lima?")
    assert result.output == "Oslo: 3°C, Lima: 3°C."
    fits, names, first, second = server.bodies
    assert "grammar" not in fits and "grammar" not in names
    assert first["grammar"] == tool_call_grammar(TOOLS, FORMAT, "auto")
    assert "start: answer | prose? calls" in first["grammar"]
    assert "population" in first["messages"][0]["content"]
    calls = result.messages[1].tool_calls  # type: ignore[union-attr]
    assert [(c.name, json.loads(c.arguments)["city"]) for c in calls] == [
        ("get_weather", "Oslo"),
        ("get_weather", "Lima"),
    ]
    assert second["messages"][2]["content"] == f"{OSLO}\n{LIMA}"  # the calls go back without the text
    assert "grammar" in second and len(server.bodies) == 4  # no decision after tool results


def test_decision_no_gives_a_text_reply_without_the_call_grammar(server: LoopbackServer) -> None:
    server.add("Sorry", "none", "No tool here can book a flight.")
    result = Agent(model_on(server, DECIDING), tools=[get_weather, add]).run_sync("Book me a flight to Rome.")
    assert result.output == "No tool here can book a flight."
    first, names, reply = server.bodies
    for decision in (first, names):
        assert decision["max_tokens"] == 1 and decision["logprobs"] is True and "grammar" not in decision
        assert decision["messages"][:-1] == reply["messages"][:-1]  # the same prompt, so the cache serves it
    assert first["messages"][-1]["content"] == "Book me a flight to Rome."  # the reply's own prompt
    assert names["messages"][-1]["content"] == f"Book me a flight to Rome.\n\n{NAMES}"
    assert "grammar" not in reply
    assert reply["messages"][-1]["content"] == (
        "Book me a flight to Rome.\n\nAnswer in plain text, without calling a tool."
    )
    # the decision's two requests are counted apart: `requests` counts replies; their tokens are counted
    assert (result.usage.requests, result.usage.decisions) == (1, 2)
    assert result.usage.input_tokens == 3 * server.usage["prompt_tokens"]


def test_without_a_second_threshold_the_reply_token_decides_alone(server: LoopbackServer) -> None:
    # the local profile's decision: one request, the reply's own prompt; no name question is sent
    assert LOCAL.tool_use_thresholds[1] is None
    server.add(logprobs(("Sorry", -0.01), ('{"', -5.0)), "No tool here can book a flight.")
    result = Agent(model_on(server, ONE_REQUEST), tools=[get_weather, add]).run_sync(
        "Book me a flight to Rome."
    )
    assert result.output == "No tool here can book a flight."
    first, reply = server.bodies
    assert first["max_tokens"] == 1 and first["messages"] == [*reply["messages"][:-1], first["messages"][-1]]
    assert first["messages"][-1]["content"] == "Book me a flight to Rome."
    assert "grammar" not in reply
    assert (result.usage.requests, result.usage.decisions) == (1, 1)


def test_without_a_second_threshold_a_likely_call_keeps_the_grammar(server: LoopbackServer) -> None:
    # log P(text) - log P(call): about -1.5 (above the threshold, -2.221: declined), then about -4.6 (a call)
    server.add(logprobs(('{"', -0.2), ("The", -1.8)), "5")
    Agent(model_on(server, ONE_REQUEST), tools=[get_weather, add]).run_sync("2+3?")
    assert len(server.bodies) == 2 and "grammar" not in server.bodies[1]
    server.add(logprobs(('{"', -0.01), ("The", -5.0)), "5")
    Agent(model_on(server, ONE_REQUEST), tools=[get_weather, add]).run_sync("2+3?")
    assert len(server.bodies) == 4 and "grammar" in server.bodies[3]


@pytest.mark.parametrize(("first", "names"), [('{"', "none"), ("The", "get_weather"), ("```", "none")])
def test_a_call_stays_possible_unless_both_answers_say_no_tool(
    server: LoopbackServer, first: str, names: str
) -> None:
    server.add(first, names, "5")
    Agent(model_on(server, DECIDING), tools=[get_weather, add]).run_sync("2+3?")
    assert "grammar" in server.bodies[2]


def test_decision_yes_keeps_the_call_grammar_and_the_prompt_unchanged(server: LoopbackServer) -> None:
    server.add('{"', "add", "5")
    model = model_on(server, DECIDING)
    params = ModelRequestParameters(tools=TOOLS, tool_choice="auto")
    messages = [UserMessage(content="2+3?")]
    reply = Agent(model, tools=[get_weather, add]).run_sync("2+3?")
    assert reply.output == "5"
    body = server.bodies[2]
    sent = model.request_body(messages, params, ModelSettings(), stream=True)  # cut_repeated_calls streams
    assert body == sent | {"messages": body["messages"]}
    assert body["messages"][-1] == {"role": "user", "content": "2+3?"}


def test_decision_on_the_streamed_path(server: LoopbackServer) -> None:
    server.add("Why", "none", "Nothing to call for that.")

    async def main() -> Any:
        async with Agent(model_on(server, DECIDING), tools=[get_weather]).run_stream(
            "Tell me a joke."
        ) as stream:
            async for _ in stream:
                pass
        return stream.result.output, stream.result.usage

    output, usage = asyncio.run(main())
    assert output == "Nothing to call for that."
    first, names, reply = server.bodies
    assert "stream" not in first and "stream" not in names and reply["stream"] is True
    assert "grammar" not in reply
    assert (usage.requests, usage.decisions) == (1, 2)


@pytest.mark.parametrize(
    ("first", "names", "declined"),
    [
        # the calibrated reading: a call likelier than text (0.61) and "none" far from the top still decline
        (logprobs(('{"', -0.5), ("To", -1.0)), logprobs(("add", -0.1), ("none", -4.0)), True),
        (logprobs(('{"', -0.05), ("To", -3.0)), logprobs(("add", -0.1), (" None", -4.0)), False),
        (logprobs(("```", -0.05), ("To", -3.0)), logprobs(("add", -0.1), (" None", -4.0)), False),
        (logprobs(('{"', -0.5), ("To", -1.0)), logprobs(("add", -0.1), ("none", -6.0)), False),
        (logprobs(('{"', -0.5), ("To", -1.0)), logprobs(("add", -0.1)), False),  # none not among them
        (logprobs(("The", -0.1)), logprobs(('"none', -0.2)), True),  # no call among the alternatives
    ],
)
def test_the_decision_reads_log_probabilities_against_the_thresholds(
    first: dict[str, Any], names: dict[str, Any], declined: bool
) -> None:
    assert tool_use_declined(first, names, (-1.8, -5.0)) is declined
    # the greedy default reading asks for more: text likelier than a call, "none" likelier than one half
    assert not tool_use_declined(first, names, ModelProfile().tool_use_thresholds) or declined


def test_the_decision_reads_log_probabilities_on_the_wire(server: LoopbackServer) -> None:
    server.add(
        logprobs(('{"', -0.5), ("To", -1.0)), logprobs(("add", -0.1), ("none", -4.0)), "No tool for jokes."
    )
    profile = dataclasses.replace(DECIDING, tool_use_thresholds=(-1.8, -5.0))
    result = Agent(model_on(server, profile), tools=[get_weather, add]).run_sync("Tell me a joke.")
    assert result.output == "No tool for jokes." and "grammar" not in server.bodies[2]


@pytest.mark.parametrize(
    ("messages", "settings", "names", "asked"),
    [
        ([UserMessage(content="Hi")], ModelSettings(), ["get_weather"], True),
        ([UserMessage(content="Hi")], ModelSettings(tool_choice="required"), ["get_weather"], False),
        ([UserMessage(content="Hi", feedback=True)], ModelSettings(), ["get_weather"], False),
        ([UserMessage(content="Hi")], ModelSettings(), ["get_weather", "final_result"], False),
        ([], ModelSettings(), ["get_weather"], False),
    ],
)
def test_when_the_decision_is_asked(
    messages: list[Any], settings: ModelSettings, names: list[str], asked: bool
) -> None:
    tools = [dataclasses.replace(get_weather.definition, name=n) for n in names]
    params = ModelRequestParameters(tools=tools, tool_choice="auto")
    assert asks_decision(DECIDING, messages, params, settings) is asked
    assert asks_decision(LOCAL, messages, params, settings) is asked  # on in the local profile
    assert not asks_decision(FORMAT, messages, params, settings)


def test_decision_bodies_append_to_a_message_with_parts() -> None:
    body = {
        "model": "m",
        "stream": True,
        "grammar": "start: x",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}],
    }
    first, names = decision_bodies(body)
    assert decision_bodies(body, names=False) == (first,)
    assert first["messages"] == body["messages"]
    assert names["messages"][0]["content"][-1] == {"type": "text", "text": NAMES}
    for out in (first, names):
        assert "grammar" not in out and "stream" not in out and out["max_tokens"] == 1
    assert body["messages"][0]["content"] == [{"type": "text", "text": "Hi"}]  # the reply's body unchanged


def test_the_local_format_without_the_decision_sends_one_request(server: LoopbackServer) -> None:
    server.add(f"{OSLO}\n{LIMA}", "Cold in both.")
    result = Agent(model_on(server), tools=[get_weather]).run_sync("Weather in Oslo and Lima?")
    assert result.output == "Cold in both." and result.usage.requests == 2  # the calls, then the answer
    assert [len(m.tool_calls) for m in result.messages if hasattr(m, "tool_calls") and m.tool_calls] == [2]
    assert all("prose" in body["grammar"] for body in server.bodies)


def test_other_profiles_send_nothing_new(server: LoopbackServer) -> None:
    server.add("Hello.")
    Agent(model_on(server, ModelProfile()), tools=[get_weather]).run_sync("Hi")
    (body,) = server.bodies
    assert "grammar" not in body and body["messages"][-1] == {"role": "user", "content": "Hi"}


# -- the reply cap ---------------------------------------------------------------------------------------------


def test_the_local_profile_caps_a_reply_unless_the_run_sets_max_tokens(server: LoopbackServer) -> None:
    server.add("Snow in Oslo.", "Sun in Lima.")  # no numbers: the local policy has nothing to question
    agent = Agent(model_on(server, dataclasses.replace(LOCAL, decide_tool_use=False)), tools=[get_weather])
    agent.run_sync("Weather in Oslo?")
    agent.run_sync("Weather in Lima?", model_settings=ModelSettings(max_tokens=50))
    capped, chosen = server.bodies
    assert LOCAL.reply_token_cap is not None
    assert capped["max_tokens"] == LOCAL.reply_token_cap and chosen["max_tokens"] == 50


def test_other_profiles_send_no_cap(server: LoopbackServer) -> None:
    server.add("Oslo: 3°C.")
    Agent(model_on(server, ModelProfile()), tools=[get_weather]).run_sync("Weather in Oslo?")
    assert "max_tokens" not in server.bodies[0]
