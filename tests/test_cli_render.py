"""The renderers of `agentkit run`: rich in a terminal (on a forced-terminal console), and the helpers."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

import pytest
from rich.console import Console

from agentkit import Agent, AssistantMessage, ToolMessage, UsageLimitExceeded, UserError, UserMessage, tool
from agentkit.cli._exit import ExitCode, exit_code_for
from agentkit.cli._render import PlainRenderer, call_line, dollars, short_result
from agentkit.cli._terminal import TerminalRenderer
from agentkit.events import FeedbackSent, TextDelta, ToolCallFinished
from agentkit.local import LocalModelError, LocalServerError
from agentkit.testing import ScriptedModel, tool_call_response
from agentkit.usage import Usage


@tool
def lookup(city: str) -> str:
    """Population of a city.

    Args:
        city: The city.
    """
    return f"{city}: 700000 people"


def _consoles() -> tuple[Console, io.StringIO, Console, io.StringIO]:
    out, err = io.StringIO(), io.StringIO()
    return (
        Console(file=out, force_terminal=True, width=100, color_system="standard"),
        out,
        Console(file=err, force_terminal=True, width=100, color_system="standard"),
        err,
    )


def _run(renderer: TerminalRenderer | PlainRenderer, agent: Agent[None, object], prompt: str) -> None:
    result = None
    for event in agent.run_stream_sync(prompt):
        renderer.event(event)
        if event.kind == "run_finished":
            result = event.result
    assert result is not None
    renderer.finished(result, "scripted")


def test_terminal_shows_the_run_live() -> None:
    console, out, err_console, err = _consoles()
    renderer = TerminalRenderer(console=console, err_console=err_console)
    model = ScriptedModel(
        [tool_call_response("lookup", {"city": "Oslo"}), "Oslo has 700000 people."], chunk_size=4
    )
    _run(renderer, Agent(model, tools=[lookup]), "Oslo?")
    text = out.getvalue()
    assert '\x1b[36m→ \x1b[0m\x1b[36mlookup(city="Oslo")' in text  # cyan call
    # green result, then the tool's duration (its digits depend on the machine's load)
    assert re.search(r"\x1b\[32m  ← \x1b\[0m\x1b\[32mOslo: 700000 people \(\d+\.\d\d s\)", text)
    assert "Oslo has 700000 people." in text
    assert "\x1b[2mdone: 2 requests, " in text  # dim usage line
    assert text.endswith("scripted\x1b[0m\n")
    assert err.getvalue() == ""


def test_terminal_dims_provisional_text_and_notes_feedback() -> None:
    console, out, err_console, _ = _consoles()
    renderer = TerminalRenderer(console=console, err_console=err_console)
    renderer.event(TextDelta(text="It is 42", provisional=True))
    renderer.event(
        FeedbackSent(message=UserMessage(content="check", feedback=True), reason="answer_questioned")
    )
    renderer.event(
        ToolCallFinished(
            message=ToolMessage(tool_call_id="c", name="t", content="bad", is_error=True), duration_s=0.0
        )
    )
    text = out.getvalue()
    assert "\x1b[2mIt is 42\x1b[0m\n" in text
    assert "\x1b[33m(answer questioned by the grounding check; the model answers again)\x1b[0m" in text
    assert "\x1b[31m  ← \x1b[0m\x1b[31merror: bad (0.00 s)" in text


@dataclass
class City:
    name: str
    people: int


def test_terminal_prints_a_structured_answer_as_json() -> None:
    console, out, err_console, _ = _consoles()
    renderer = TerminalRenderer(City, console=console, err_console=err_console)
    model = ScriptedModel([tool_call_response("final_result", {"name": "Oslo", "people": 700000})])
    _run(renderer, Agent(model, output_type=City), "Oslo?")
    assert '"name": "Oslo"' in out.getvalue()
    assert '"people": 700000' in out.getvalue()


def test_terminal_failure_goes_to_stderr_with_what_was_spent() -> None:
    console, out, err_console, err = _consoles()
    renderer = TerminalRenderer(console=console, err_console=err_console)
    error = UsageLimitExceeded(
        "Usage limit exceeded: cost.", usage=Usage(requests=1, input_tokens=3, output_tokens=4)
    )
    renderer.failed(error, exit_code_for(error), "m")
    assert "spent: 1 request, 7 tokens (3 in, 4 out), $0, m" in out.getvalue()
    assert "agentkit run: UsageLimitExceeded: Usage limit exceeded: cost." in err.getvalue()
    assert "\x1b[1;31m" in err.getvalue()

    renderer.failed(UserError("No API key.\nSet one."), ExitCode.USAGE, "m")
    assert "agentkit run: error: No API key. Set one." in err.getvalue()


def test_plain_renderer_is_free_of_escape_codes() -> None:
    out, err = io.StringIO(), io.StringIO()
    renderer = PlainRenderer(out=out, err=err)
    model = ScriptedModel(
        [AssistantMessage(content=""), tool_call_response("lookup", {"city": "Oslo"}), "Done."]
    )
    _run(renderer, Agent(model, tools=[lookup]), "Oslo?")
    assert out.getvalue() == "Done.\n"
    assert err.getvalue().splitlines()[0] == "agentkit: the answer was empty; asking again"
    assert "\x1b" not in out.getvalue() + err.getvalue()


def test_helpers() -> None:
    assert dollars(0) == "$0"
    assert dollars(0.0000084) == "$0.0000084"
    assert dollars(1.25) == "$1.25"
    assert call_line("f", {"text": "x" * 100, "n": 2}) == f'f(text="{"x" * 56}..., n=2)'
    long = ToolCallFinished(
        message=ToolMessage(tool_call_id="c", name="t", content="y\n" * 100), duration_s=1.5
    )
    assert short_result(long) == "y " * 48 + "y... (1.50 s)"


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (UserError("no key"), ExitCode.USAGE),
        (LocalServerError("the local server died"), ExitCode.RUN_FAILED),
        (LocalModelError("not installed"), ExitCode.USAGE),
    ],
)
def test_exit_codes(error: UserError, code: ExitCode) -> None:
    assert exit_code_for(error) == code
