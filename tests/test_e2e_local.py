"""End to end against the real local model (Qwen2.5-Coder-1.5B on llama.cpp) through agentkit.

Run with `python -m pytest -m e2e`. Skipped when the `local` extra (an engine and the weight packages) is
not installed. One server is started for the module (the xllamacpp engine when installed, as in CI) and
stopped after it; each test is a couple of model requests of a few seconds each on 2 cores. The local
profile's defaults are what is tested: prompted tool calling constrained by a grammar, results followed by
the question, structured output through `final_result`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest
from agentkit_tools import calculator
from agentkit_tools.calculator import evaluate
from pydantic import BaseModel

from agentkit import Agent, AssistantMessage, ModelSettings, ToolMessage, UserMessage, tool
from agentkit.events import RequestStarted, RunFinished, TextDelta, ToolCallDelta, ToolCallStarted
from agentkit.local import (
    EngineNotFoundError,
    LocalModel,
    LocalServer,
    ModelChunkMissingError,
    find_engine,
    find_model_chunks,
)
from agentkit.models import ModelRequestParameters
from agentkit.models.profiles import LOCAL

pytestmark = pytest.mark.e2e

SETTINGS = ModelSettings(max_tokens=200)
EMPLOYEES = {"omar haddad": {"department": "Research", "start_year": 2019}}


def _missing_local_extra() -> str | None:
    try:
        find_engine()
        find_model_chunks()
    except (EngineNotFoundError, ModelChunkMissingError) as exc:
        return f"the local extra is not installed ({type(exc).__name__}): {exc}"
    return None


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    reason = _missing_local_extra()
    if reason:
        if os.environ.get("CI") == "true":  # CI installs the local extra: a skip there hides a broken install
            pytest.fail(reason)
        pytest.skip(reason)
    with LocalServer() as running:
        yield running


@pytest.fixture
def model(server: LocalServer) -> LocalModel:
    return LocalModel(server=server)


@tool
def get_weather(city: str) -> str:
    """Current weather in a city.

    Args:
        city: City name, e.g. "Paris".
    """
    return f"{city}: -3°C, light snow" if city.strip().lower() == "oslo" else f"No weather data for {city}."


@tool
def get_employee(name: str) -> dict[str, object]:
    """Look up an employee of the company by full name: department and start year.

    Args:
        name: Full name, e.g. "Jane Doe".
    """
    return {"name": name, **EMPLOYEES.get(name.strip().lower(), {"error": "no such employee"})}


class EmployeeCard(BaseModel):
    name: str
    department: str
    start_year: int


async def test_single_tool_call(model: LocalModel) -> None:
    parameters = ModelRequestParameters(tools=[calculator.definition, get_weather.definition])
    try:
        response = await model.request([UserMessage(content="Compute 1234 * 5678.")], parameters, SETTINGS)
    finally:
        await model.aclose()
    (call,) = response.tool_calls
    assert call.name == "calculator"
    assert evaluate(calculator.validate_arguments(call.arguments)["expression"]) == 7_006_652
    assert response.usage is not None and response.usage.output_tokens > 0


def test_tool_result_becomes_the_answer(model: LocalModel) -> None:
    result = Agent(model, tools=[get_weather]).run_sync(
        "What's the weather in Oslo right now?", model_settings=SETTINGS
    )
    assert "-3" in result.output and "snow" in result.output.lower()
    (call,) = [c for m in result.messages if isinstance(m, AssistantMessage) for c in m.tool_calls]
    assert call.name == "get_weather" and json.loads(call.arguments) == {"city": "Oslo"}
    assert [m.content for m in result.messages if isinstance(m, ToolMessage)] == ["Oslo: -3°C, light snow"]
    assert result.usage.requests == 2


def test_structured_output(model: LocalModel) -> None:
    assert model.profile is LOCAL and LOCAL.structured_output == "tool"
    agent = Agent(model, tools=[get_employee], output_type=EmployeeCard)
    result = agent.run_sync(
        "Look up Omar Haddad and give his name, department and start year.", model_settings=SETTINGS
    )
    assert result.output == EmployeeCard(name="Omar Haddad", department="Research", start_year=2019)
    assert result.usage.requests <= 3


def test_streamed_run(model: LocalModel) -> None:
    """The weather question streamed: the call arrives as events (never as text), the answer as text deltas
    that add up to the output, provisional while the grounding check may still question it."""
    agent = Agent(model, tools=[get_weather])
    events = list(agent.run_stream_sync("What's the weather in Oslo right now?", model_settings=SETTINGS))
    finished = events[-1]
    assert isinstance(finished, RunFinished)
    result = finished.result
    assert "-3" in result.output and "snow" in result.output.lower()
    (started,) = [e for e in events if isinstance(e, ToolCallStarted)]
    assert started.call.name == "get_weather" and started.arguments == {"city": "Oslo"}
    turns = [i for i, e in enumerate(events) if isinstance(e, RequestStarted)]
    last_turn = events[turns[-1] :]
    text = "".join(e.text for e in last_turn if isinstance(e, TextDelta))
    assert text == result.output
    assert all(e.provisional for e in last_turn if isinstance(e, TextDelta))
    first_turn = events[turns[0] : turns[1]]
    assert not any(isinstance(e, TextDelta) and "{" in e.text for e in first_turn)  # the call is not text
    assert any(isinstance(e, ToolCallDelta) and e.name == "get_weather" for e in first_turn)


async def test_the_engine_applies_the_call_grammar(model: LocalModel, server: LocalServer) -> None:
    """A question that needs no tool, with a call required: the grammar leaves the model no way to answer
    in text, and the call it writes is one of the offered tools with valid arguments."""
    if server.engine_in_use != "xllamacpp":
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI runs the default engine, xllamacpp, not {server.engine_in_use}")
        pytest.skip("the call grammar needs the xllamacpp engine (LLGuidance)")
    assert model.profile.constrain_calls
    parameters = ModelRequestParameters(
        tools=[calculator.definition, get_weather.definition], tool_choice="required"
    )
    try:
        response = await model.request(
            [UserMessage(content="What is the capital of France? Answer in one word.")], parameters, SETTINGS
        )
    finally:
        await model.aclose()
    assert response.tool_calls, response.content
    for call in response.tool_calls:
        tool_ = {"calculator": calculator, "get_weather": get_weather}[call.name]
        tool_.validate_arguments(call.arguments)  # raises when the arguments do not fit
    assert response.usage is not None and response.usage.input_tokens > 0
