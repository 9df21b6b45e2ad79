"""Constrained tool calls: the grammar a prompted request carries, checked with LLGuidance itself (the
library llama.cpp's xllamacpp engine runs it with), byte by byte."""

from __future__ import annotations

import dataclasses
from typing import Literal

import pytest
from pydantic import BaseModel

from agentkit import ModelSettings, UserMessage, tool
from agentkit.models import ModelRequestParameters
from agentkit.models._chat_format import build_request
from agentkit.models._grammar import tool_call_grammar
from agentkit.models._prompted import parse_tool_calls
from agentkit.models.profiles import LOCAL, ModelProfile

llguidance = pytest.importorskip("llguidance")

CONSTRAINED = ModelProfile(family="test", tool_calling="prompted", constrain_calls=True)


@tool
def get_weather(city: str, units: Literal["celsius", "fahrenheit"] = "celsius") -> str:
    """Current weather in a city.

    Args:
        city: City name.
        units: Temperature units.
    """
    return city


class Item(BaseModel):
    sku: str
    quantity: int


@tool
def order(items: list[Item], express: bool = False) -> str:
    """Place an order.

    Args:
        items: What to order.
        express: Ship by express.
    """
    return "ok"


@tool
def ping() -> str:
    """Answer pong."""
    return "pong"


TOOLS = [get_weather.definition, order.definition, ping.definition]


def accepts(grammar: str, text: str) -> bool:
    """Whether the whole of `text` is a complete reply the grammar allows."""
    tokenizer = llguidance.LLTokenizer("byte")
    matcher = llguidance.LLMatcher(tokenizer, grammar, log_level=0)
    matcher.consume_tokens(tokenizer.tokenize_str(text))
    return not matcher.is_error() and matcher.is_accepting()


@pytest.fixture(scope="module")
def grammar() -> str:
    text = tool_call_grammar(TOOLS, CONSTRAINED, "auto")
    assert text is not None
    assert llguidance.LLMatcher.validate_grammar(text) == ""
    return text


@pytest.mark.parametrize(
    "reply",
    [
        '{"name": "get_weather", "arguments": {"city": "Oslo"}}',
        '{"name": "get_weather", "arguments": {"city": "Oslo", "units": "fahrenheit"}}',
        '{"name": "ping", "arguments": {}}',
        '{"name": "order", "arguments": {"items": [{"sku": "A-1", "quantity": 2}], "express": true}}',
        '{"name": "get_weather", "arguments": {"city": "Oslo"}}\n{"name": "get_weather", "arguments": {"city": "Lima"}}',
        '{"name":"ping","arguments":{}}',
        "Oslo has light snow, -3°C.",
        "```python\n{'a': 1}\n```\nThat is the dict.",
        "Ja, es regnet in Tokio.",
    ],
)
def test_valid_calls_and_plain_answers_are_allowed(grammar: str, reply: str) -> None:
    assert accepts(grammar, reply)


@pytest.mark.parametrize(
    ("reply", "why"),
    [
        ('{"name": "get_time", "arguments": {}}', "a tool nobody offered"),
        ('{"name": "get_weather", "arguments": {"town": "Oslo"}}', "a parameter the tool does not have"),
        ('{"name": "get_weather", "arguments": {"city": "Oslo", "country": "NO"}}', "an extra parameter"),
        ('{"name": "get_weather", "arguments": {}}', "a required argument left out"),
        ('{"name": "get_weather", "arguments": {"city": 3}}', "a wrong type"),
        (
            '{"name": "get_weather", "arguments": {"city": "Oslo", "units": "kelvin"}}',
            "a value outside the enum",
        ),
        ('{"name": "order", "arguments": {"items": [{"sku": "A-1"}]}}', "a nested required field left out"),
        (
            '{"name": "order", "arguments": {"items": [{"sku": "A", "quantity": 1, "gift": true}]}}',
            "nested extra",
        ),
        ('{"name": "ping", "arguments": {"x": 1}}', "arguments for a tool that takes none"),
        ('{"name": "ping", "arguments": {}} Done.', "text after a call"),
        ('\n{"name": "ping", "arguments": {}}', "white space hiding a call from the grammar"),
    ],
)
def test_what_a_small_model_gets_wrong_cannot_be_written(grammar: str, reply: str, why: str) -> None:
    assert not accepts(grammar, reply), why


def test_arguments_without_a_tool_name_are_an_answer_not_a_call(grammar: str) -> None:
    # an answer may be a dict or JSON: the parser finds no call in it, and a required call refuses it
    assert accepts(grammar, '{"city": "Oslo"}')
    assert parse_tool_calls('{"city": "Oslo"}', ["get_weather"]).calls == []
    required = tool_call_grammar(TOOLS, CONSTRAINED, "required")
    assert required is not None and not accepts(required, '{"city": "Oslo"}')


def test_required_choice_allows_calls_only() -> None:
    grammar = tool_call_grammar(TOOLS, CONSTRAINED, "required")
    assert grammar is not None
    assert accepts(grammar, '{"name": "ping", "arguments": {}}')
    assert not accepts(grammar, "Pong.")


def test_no_grammar_when_no_call_is_allowed_or_offered() -> None:
    assert tool_call_grammar(TOOLS, CONSTRAINED, "none") is None
    assert tool_call_grammar([], CONSTRAINED, "auto") is None


def test_each_tool_has_its_own_rule_with_its_schema_in_the_prompt_order() -> None:
    grammar = tool_call_grammar([get_weather.definition, order.definition], CONSTRAINED, "auto")
    assert grammar is not None
    assert "call: call_0 | call_1" in grammar
    assert "call_1: CALL_1 arguments_1 CALL_END" in grammar
    (opening,) = [line for line in grammar.splitlines() if line.startswith("CALL_1:")]
    assert r'"order\"' in opening  # the call's opening names its tool
    (rule,) = [line for line in grammar.splitlines() if line.startswith("arguments_1:")]
    assert rule.index('"items"') < rule.index('"express"')
    assert rule.count('"additionalProperties": false') == 2  # the arguments, each Item


def test_build_request_sends_the_grammar_only_when_constrained_and_prompted() -> None:
    messages = [UserMessage(content="Weather in Oslo?")]
    params = ModelRequestParameters(tools=TOOLS, tool_choice="auto")
    body = build_request("m", messages, params, ModelSettings(), CONSTRAINED)
    assert body["grammar"] == tool_call_grammar(TOOLS, CONSTRAINED, "auto")
    off = dataclasses.replace(CONSTRAINED, constrain_calls=False)
    assert "grammar" not in build_request("m", messages, params, ModelSettings(), off)
    native = dataclasses.replace(CONSTRAINED, tool_calling="native")
    assert "grammar" not in build_request("m", messages, params, ModelSettings(), native)
    no_tools = ModelRequestParameters()
    assert "grammar" not in build_request("m", messages, no_tools, ModelSettings(), CONSTRAINED)


def test_the_local_profile_constrains_calls() -> None:
    assert LOCAL.constrain_calls and LOCAL.tool_calling == "prompted"
