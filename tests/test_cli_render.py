"""The renderers of `agentkit run`: rich in a terminal (on a forced-terminal console), and the helpers."""

from __future__ import annotations

import dataclasses
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
    assert (
        "\x1b[33m(answer questioned by a check (a hook's check_answer); the model answers again)\x1b[0m"
        in text
    )
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
    retried = ToolCallFinished(
        message=ToolMessage(tool_call_id="c", name="t", content="ok"), duration_s=0.5, attempts=3
    )
    assert short_result(retried) == "ok (0.50 s, 3 attempts)"


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


def test_terminal_and_plain_lines_show_denied_calls_and_tripped_guardrails() -> None:
    from agentkit import Deny, GuardrailTripped, Hooks, InputGuardrail, RunContext, ToolCall
    from agentkit.cli._exit import exit_code_for

    class NoLookups(Hooks[None]):
        def before_tool_call(
            self, ctx: RunContext[None], call: ToolCall, arguments: dict[str, object]
        ) -> Deny:
            return Deny("lookups are off today")

    console, out, err_console, _ = _consoles()
    renderer = TerminalRenderer(console=console, err_console=err_console)
    model = ScriptedModel([tool_call_response("lookup", {"city": "Oslo"}), "I cannot look it up."])
    _run(renderer, Agent(model, tools=[lookup], hooks=[NoLookups()]), "Oslo?")
    assert '\x1b[31m✗ denied: lookup(city="Oslo"): lookups are off today\x1b[0m' in out.getvalue()

    err = io.StringIO()
    plain = PlainRenderer(out=io.StringIO(), err=err)
    agent = Agent(ScriptedModel(["x"]), hooks=[InputGuardrail(lambda ctx, text: Deny("no"), name="nope")])
    events = agent.run_stream_sync("hi")
    with pytest.raises(GuardrailTripped) as info:
        list(map(plain.event, events))
    assert exit_code_for(info.value) == 1  # the run failed
    plain.failed(info.value, exit_code_for(info.value), "scripted")
    lines = err.getvalue().splitlines()
    assert "input guardrail nope tripped: no" in lines
    assert lines[-1] == "agentkit run: GuardrailTripped: The input guardrail 'nope' tripped: no"


def test_a_sub_agents_denied_call_is_shown_under_its_name() -> None:
    from agentkit import Deny
    from agentkit.cli._render import nested_line
    from agentkit.events import SubAgentEvent, ToolCallDenied
    from agentkit.messages import ToolCall

    call = ToolCall(id="c1", name="lookup", arguments='{"city": "Oslo"}')
    event = SubAgentEvent(
        agent_name="helper", tool_call_id="c0", event=ToolCallDenied(call=call, reason="no")
    )
    assert nested_line(event) == '  helper: denied: lookup(city="Oslo"): no'
    for odd in ("null", "{not json"):
        denied = ToolCallDenied(call=dataclasses.replace(call, arguments=odd), reason=Deny("no").reason)
        assert nested_line(SubAgentEvent(agent_name="helper", tool_call_id=None, event=denied)) == (
            "  helper: denied: lookup(): no"
        )
