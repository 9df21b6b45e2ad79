"""Structured output in its three modes (`native`, `tool`, `prompted`) through the loop, with test doubles:
which mode a profile chooses, what an explicit mode asks for, validation and its retry, partial outputs."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from pydantic import BaseModel

from agentkit import Agent, ToolMessage, UnexpectedModelBehavior, UserError, UserMessage
from agentkit._run.output import OutputSpec
from agentkit.events import FeedbackSent, OutputDelta
from agentkit.local.policy import RunPolicy
from agentkit.models import ModelRequestParameters, OutputMode
from agentkit.models.profiles import (
    DEFAULT,
    GEMINI_2_0_FLASH,
    GEMINI_2_5_FLASH,
    GEMINI_3_FLASH,
    LOCAL,
    ModelProfile,
)
from agentkit.testing import ScriptedModel, tool_call_response
from tests.shared_tools import add


class City(BaseModel):
    name: str
    population: int


GOOD = '{"name": "Oslo", "population": 709000}'
BAD = '{"name": "Oslo", "population": "many"}'
OSLO = City(name="Oslo", population=709000)
NO_RESPONSE_FORMAT = ModelProfile(family="plain", tool_calling="prompted", supports_response_format=False)
"""A server with neither tool calling nor a JSON response format."""
UNCHECKED_LOCAL = dataclasses.replace(LOCAL, policy=RunPolicy())
"""The local model's wire, without its checks (which question numbers no tool gave)."""
TOOLS_APART = ModelProfile(family="apart", tools_with_response_format=False)
"""Takes a response format, but not with tools (and prefers native)."""


def answer(mode: OutputMode, text: str) -> Any:
    """The model's answer `text` as the mode asks for it: a final-result call, or the reply text."""
    return tool_call_response("final_result", text) if mode == "tool" else text


def asked(model: ScriptedModel, index: int = 0) -> ModelRequestParameters:
    return model.requests[index].parameters


def mode_of(parameters: ModelRequestParameters) -> str:
    if parameters.response_format is not None:
        return parameters.response_format.mode
    assert "final_result" in [t.name for t in parameters.tools] and parameters.tool_choice == "required"
    return "tool"


@pytest.mark.parametrize(
    ("profile", "with_tools", "expected"),
    [
        (DEFAULT, False, "native"),
        (DEFAULT, True, "native"),
        (GEMINI_3_FLASH, True, "native"),  # Gemini 3 takes tools and a response format together
        (GEMINI_2_5_FLASH, True, "tool"),  # Gemini 2.x does not
        (GEMINI_2_5_FLASH, False, "tool"),
        (GEMINI_2_0_FLASH, False, "tool"),
        (TOOLS_APART, False, "native"),
        (TOOLS_APART, True, "tool"),  # native is the choice, but not with tools: the tool instead
        (UNCHECKED_LOCAL, True, "tool"),  # calls go through the prompt, kept valid by a grammar: the tool too
        (dataclasses.replace(NO_RESPONSE_FORMAT, structured_output="prompted"), True, "prompted"),
        (dataclasses.replace(NO_RESPONSE_FORMAT, structured_output="prompted"), False, "prompted"),
    ],
)
def test_the_profile_chooses_the_mode(profile: ModelProfile, with_tools: bool, expected: str) -> None:
    model = ScriptedModel([answer(expected, GOOD)], profile=profile)  # type: ignore[arg-type]
    agent = Agent(model, tools=[add] if with_tools else [], output_type=City)
    assert agent.run_sync("Biggest city of Norway?").output == OSLO
    parameters = asked(model)
    assert mode_of(parameters) == expected
    assert ("add" in [t.name for t in parameters.tools]) is with_tools


@pytest.mark.parametrize("mode", ["tool", "native", "prompted"])
def test_an_explicit_mode_is_used(mode: OutputMode) -> None:
    model = ScriptedModel([answer(mode, GOOD)], profile=GEMINI_3_FLASH)
    result = Agent(model, tools=[add], output_type=City, output_mode=mode).run_sync("Oslo?")
    assert result.output == OSLO
    parameters = asked(model)
    assert mode_of(parameters) == mode
    assert [t.name for t in parameters.tools] == (["add", "final_result"] if mode == "tool" else ["add"])
    if mode != "tool":
        fmt = parameters.response_format
        assert fmt is not None and fmt.schema["required"] == ["name", "population"] and not fmt.strict


def test_native_mode_without_tools_works_on_gemini_2() -> None:
    model = ScriptedModel([GOOD], profile=GEMINI_2_5_FLASH)
    assert Agent(model, output_type=City, output_mode="native").run_sync("Oslo?").output == OSLO
    assert mode_of(asked(model)) == "native"


@pytest.mark.parametrize(
    ("profile", "tools", "reason"),
    [
        (GEMINI_2_5_FLASH, [add], "cannot take tools and a JSON response format in one request"),
        (NO_RESPONSE_FORMAT, [], "its server takes no JSON response format"),
        (LOCAL, [add], "its tools are called through the prompt"),
    ],
)
def test_a_native_mode_the_model_cannot_do_is_a_user_error(
    profile: ModelProfile, tools: list[Any], reason: str
) -> None:
    model = ScriptedModel([], model_name="some/model", profile=profile)
    agent = Agent(model, tools=tools, output_type=City, output_mode="native")
    with pytest.raises(UserError) as info:
        agent.run_sync("Oslo?")
    text = str(info.value)
    assert "output_mode='native'" in text and "some/model" in text and reason in text
    assert "output_mode='tool'" in text and "'prompted'" in text
    assert model.requests == []  # refused before any request


def test_output_mode_is_checked_when_the_agent_is_made() -> None:
    with pytest.raises(
        UserError, match="output_mode must be one of 'tool', 'native', 'prompted', not 'json'"
    ):
        Agent(ScriptedModel([]), output_type=City, output_mode="json")  # type: ignore[arg-type]
    with pytest.raises(UserError, match="needs a structured output_type"):
        Agent(ScriptedModel([]), output_mode="native")
    assert Agent(ScriptedModel([]), output_type=City, output_mode="prompted").output_mode == "prompted"


@pytest.mark.parametrize("mode", ["tool", "native", "prompted"])
def test_an_invalid_answer_is_fed_back_and_retried(mode: OutputMode) -> None:
    model = ScriptedModel([answer(mode, BAD), answer(mode, GOOD)], profile=GEMINI_3_FLASH)
    result = Agent(model, output_type=City, output_mode=mode).run_sync("Oslo?")
    assert result.output == OSLO
    retry = model.requests[1].messages[-1]
    if mode == "tool":  # the failed call's tool message says what to fix
        assert isinstance(retry, ToolMessage) and retry.is_error and "$.population" in retry.content
    else:  # the reply text: a feedback message says what to fix and how to answer
        assert isinstance(retry, UserMessage) and retry.feedback
        assert "$.population" in retry.text and "Answer with JSON matching the schema." in retry.text


@pytest.mark.parametrize("mode", ["tool", "native", "prompted"])
def test_retries_run_out_the_same_way_in_every_mode(mode: OutputMode) -> None:
    model = ScriptedModel([answer(mode, BAD)] * 2, profile=GEMINI_3_FLASH)
    with pytest.raises(UnexpectedModelBehavior) as info:
        Agent(model, output_type=City, output_mode=mode, retries=1).run_sync("Oslo?")
    assert info.value.messages  # the transcript travels with the failure


@pytest.mark.parametrize("mode", ["native", "prompted"])
@pytest.mark.parametrize(
    "reply",
    [
        f"```json\n{GOOD}\n```",
        f"```\n{GOOD}\n```",
        f"Here is the answer:\n\n```json\n{GOOD}\n```\nAnything else?",
        f"```json {GOOD} ```",
    ],
)
def test_a_fenced_json_reply_is_accepted(mode: OutputMode, reply: str) -> None:
    model = ScriptedModel([reply], profile=GEMINI_3_FLASH)
    assert Agent(model, output_type=City, output_mode=mode).run_sync("Oslo?").output == OSLO


@pytest.mark.parametrize(
    ("mode", "reply"),
    [
        ("tool", GOOD),
        ("native", GOOD),
        ("prompted", GOOD),
        ("native", f"```json\n{GOOD}\n```"),
        ("prompted", f"Sure.\n```json\n{GOOD}\n```"),
    ],
)
async def test_partial_outputs_stream_in_every_mode(mode: OutputMode, reply: str) -> None:
    model = ScriptedModel([answer(mode, reply)], chunk_size=5, profile=GEMINI_3_FLASH)
    agent = Agent(model, tools=[add], output_type=City, output_mode=mode)
    async with agent.run_stream("Oslo?") as stream:
        events = [event async for event in stream]
    partials = [e.output for e in events if isinstance(e, OutputDelta)]
    assert len(partials) >= 2 and all(isinstance(p, City) for p in partials)
    assert partials[0] != partials[-1]
    assert partials[-1] == OSLO == stream.result.output
    assert not [e for e in events if isinstance(e, FeedbackSent)]


async def test_a_partial_output_needs_the_wrapped_result_key() -> None:
    model = ScriptedModel(['{"other": 1, "result": [1, 2]}'], chunk_size=4, profile=GEMINI_3_FLASH)
    async with Agent(model, output_type=list[int], output_mode="prompted").run_stream("go") as stream:
        partials = [e.output async for e in stream if isinstance(e, OutputDelta)]
    assert partials[-1] == [1, 2] == stream.result.output
    assert all(isinstance(p, list) for p in partials)


def test_partial_json_that_is_no_object_validates_nothing_yet() -> None:
    spec = OutputSpec.build(City)
    assert spec.validate_partial("[1, 2") is None
    assert spec.validate_partial("Let me think") is None
    cut = 'Sure:\n```json\n{"population": 709000, "name": "Os'
    assert spec.validate_partial(cut) == City(name="Os", population=709000)
