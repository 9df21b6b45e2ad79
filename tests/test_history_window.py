"""A run never sends more than the model's context window: fitted before sending, and after a provider's
"context length exceeded" refused it, fitted harder and sent once more. Through the real `AsyncOpenAI`
client against a loopback server that counts the JSON it receives and refuses what is too long."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import pytest

from agentkit import Agent, AssistantMessage, ModelAPIError, ModelSettings, ToolMessage, UserMessage, tool
from agentkit.cli._render import PlainRenderer
from agentkit.events import HistoryCompacted
from agentkit.models import ModelRequestParameters, profile_for
from agentkit.models._errors import context_limit, is_context_overflow
from agentkit.models.openai import OpenAIChatModel
from agentkit.testing import HTTPError, LoopbackServer, StreamError, tool_call_response

MODEL = "google/gemini-2.0-flash-001"
PAGE = "Page {n}: " + "the quick brown fox jumps over the lazy dog; " * 100  # ~4,500 characters


@tool
def fetch(n: int) -> str:
    """Fetch page n.

    Args:
        n: The page number.
    """
    return PAGE.format(n=n)


class Window:
    """Plays a model with a context window of `size` tokens (4 characters of the request's JSON a token):
    longer requests get `refusal`; others a call of `fetch` for the next page, and after `turns`, "done"."""

    def __init__(
        self,
        size: int,
        turns: int,
        refusal: str = "openrouter",
        *,
        scale: int = 1,
        server: LoopbackServer | None = None,
    ) -> None:
        self.size = size
        self.turns = turns
        self.refusal = refusal
        self.scale = scale
        """Count `scale` times the characters / 4 (a tokenizer that splits finer: code, other scripts)."""
        self.server = server
        """Report the count as `prompt_tokens` (a completion made by this server)."""
        self.refused = 0
        self.tokens: list[int] = []

    def __call__(self, body: dict[str, Any]) -> Any:
        tokens = self.scale * len(json.dumps({"messages": body["messages"], "tools": body.get("tools")})) // 4
        if tokens > self.size:
            self.refused += 1
            return self.error(tokens)
        self.tokens.append(tokens)
        n = len(self.tokens) - 1
        answer = "done" if n == self.turns else tool_call_response("fetch", {"n": n}, id=f"call_{n}")
        if self.server is None:
            return answer
        usage = {"prompt_tokens": tokens, "completion_tokens": 5, "total_tokens": tokens + 5}
        return {**self.server.completion(answer), "usage": usage}

    def error(self, tokens: int) -> HTTPError:
        if self.refusal == "openai":
            message = (
                f"This model's maximum context length is {self.size} tokens. However, your messages resulted "
                f"in {tokens} tokens. Please reduce the length of the messages."
            )
            return HTTPError(status=400, code="context_length_exceeded", message=message)
        if self.refusal == "llama.cpp":
            return HTTPError(
                status=400, message="the request exceeds the available context size, try increasing it"
            )
        message = (
            f"This endpoint's maximum context length is {self.size} tokens. However, you requested about "
            f"{tokens} tokens ({tokens} of text input). Please reduce the length of either one, or use the "
            '"middle-out" transform to compress your prompt automatically.'
        )
        return HTTPError(status=400, message=message)


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer(model=MODEL) as srv:
        yield srv


def _agent(server: LoopbackServer, window: int | None, **options: Any) -> Agent[None, str]:
    profile = dataclasses.replace(profile_for(MODEL), context_window=window, max_output_tokens=None)
    model = OpenAIChatModel(MODEL, base_url=server.base_url, api_key="k", profile=profile)
    return Agent(model, tools=[fetch], instructions="Read the pages.", max_turns=100, **options)


def test_a_long_run_fits_the_window_the_profile_knows(server: LoopbackServer) -> None:
    window = Window(8_000, turns=30)
    server.add(*[window] * 31)
    events = list(_agent(server, 8_000).run_stream_sync("Read 30 pages."))
    result = events[-1].result  # type: ignore[union-attr]
    assert result.output == "done" and window.refused == 0
    assert max(window.tokens) < 8_000  # the server's count (JSON / 4) is a little above agentkit's estimate
    assert sum(isinstance(m, ToolMessage) for m in result.messages) == 30  # the transcript keeps all
    for body in server.bodies:
        assert body["messages"][:2] == [
            {"role": "system", "content": "Read the pages."},
            {"role": "user", "content": "Read 30 pages."},
        ]
    fits = [e for e in events if isinstance(e, HistoryCompacted)]
    assert fits and all(e.processor == "context_window" and not e.retry for e in fits)
    assert all(e.tokens_after <= (8_000 - 2_000) * 0.9 < e.tokens_before for e in fits)
    newest = server.bodies[-1]["messages"]
    assert newest[-1]["content"] == PAGE.format(n=29)  # the newest result whole
    assert any(
        m["role"] == "tool" and m["content"].startswith("[The fetch result was left out") for m in newest
    )


def test_the_estimate_learns_the_providers_count(server: LoopbackServer) -> None:
    """A provider counting 2.5 to 3 times agentkit's estimate: after its first count, requests fit anyway."""
    window = Window(8_000, turns=12, scale=2, server=server)
    server.add(*[window] * 13)
    result = _agent(server, 8_000).run_sync("Read 12 pages.")
    assert result.output == "done" and window.refused == 0
    assert max(window.tokens) <= 8_000 and len(window.tokens) == 13


def test_max_tokens_is_the_reserve(server: LoopbackServer) -> None:
    window = Window(8_000, turns=8)
    server.add(*[window] * 9)
    agent = _agent(server, 8_000, model_settings=ModelSettings(max_tokens=4_000))
    agent.run_sync("Read 8 pages.")
    assert max(window.tokens) <= 4_000  # (8,000 - 4,000) * 0.9 estimated, as the server counts a little more


@pytest.mark.parametrize("refusal", ["openrouter", "openai", "llama.cpp"])
@pytest.mark.parametrize("stream", [False, True])
def test_a_refusal_as_too_long_is_fitted_harder_and_sent_once_more(
    server: LoopbackServer, refusal: str, stream: bool
) -> None:
    window = Window(3_000, turns=8, refusal=refusal)
    server.add(*[window] * 20)
    agent = _agent(server, None)  # a window the profile does not know
    if stream:
        events = list(agent.run_stream_sync("Read 8 pages."))
    else:
        events = []
        result = agent.run_sync("Read 8 pages.")
        assert result.output == "done"
    retries = [e for e in events if isinstance(e, HistoryCompacted) and e.retry]
    assert window.tokens[-1] < 3_000 and len(window.tokens) == 9
    assert 1 <= window.refused <= (1 if refusal != "llama.cpp" else 3)  # the window is learned from the error
    if stream:
        assert len(retries) == window.refused and retries[0].tokens_after <= retries[0].tokens_before // 2


def test_other_errors_are_not_retried_and_a_refusal_twice_fails_with_the_transcript(
    server: LoopbackServer,
) -> None:
    server.add(HTTPError(status=400, message="Invalid schema for function 'fetch'"))
    with pytest.raises(ModelAPIError, match="Invalid schema"):
        _agent(server, None).run_sync("Read.")
    assert len(server.requests) == 1
    window = Window(10, turns=1)  # nothing fits
    server.add(window, window)
    with pytest.raises(ModelAPIError, match="maximum context length") as info:
        _agent(server, None).run_sync("Read a page, " * 200)
    assert window.refused == 1  # the prompt alone is too long: nothing to take out, no second try
    assert isinstance(info.value.messages[-1], UserMessage)


def test_a_refusal_is_tried_once_more_only(server: LoopbackServer) -> None:
    window = Window(2_000, turns=3)
    server.add(window, window, window)
    history = [UserMessage(content="a" * 8_000), AssistantMessage(content="b")]
    with pytest.raises(ModelAPIError, match="maximum context length"):
        _agent(server, None).run_sync("x" * 7_900, message_history=history)  # refused, then the retry too
    assert window.refused == 2 and len(server.requests) == 2
    assert server.bodies[1]["messages"][1:] == [{"role": "user", "content": "x" * 7_900}]


def test_a_refusal_in_the_middle_of_a_stream_is_not_retried(server: LoopbackServer) -> None:
    server.add(
        StreamError(content="Partly", code=400, message="This model's maximum context length is 10 tokens.")
    )
    with pytest.raises(ModelAPIError, match="maximum context length"):
        list(_agent(server, None).run_stream_sync("Read."))
    assert len(server.requests) == 1


def test_overflow_errors_are_recognised() -> None:
    assert is_context_overflow(400, "context_length_exceeded", "")
    assert is_context_overflow(400, "exceed_context_size_error", "")
    assert is_context_overflow(
        None, None, "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576)."
    )
    assert not is_context_overflow(429, None, "maximum context length")
    assert not is_context_overflow(400, None, "Invalid schema")
    assert (
        context_limit("", {"error": {"n_ctx": 4096, "message": "exceeds the available context size"}}) == 4096
    )
    assert context_limit("maximum number of tokens allowed (1048576).") == 1_048_576
    assert context_limit("This model's maximum context length is 128000 tokens.") == 128_000
    assert context_limit("too long") is None


def test_the_cli_shows_a_compaction_as_one_line() -> None:
    import io

    err = io.StringIO()
    renderer = PlainRenderer(out=io.StringIO(), err=err)
    renderer.event(
        HistoryCompacted(
            processor="context_window",
            messages_before=412,
            messages_after=37,
            tokens_before=61240,
            tokens_after=27100,
        )
    )
    renderer.event(
        HistoryCompacted(
            processor="context_window",
            messages_before=37,
            messages_after=20,
            tokens_before=27100,
            tokens_after=13000,
            retry=True,
        )
    )
    assert err.getvalue().splitlines() == [
        "context: 412 -> 37 messages, ~61,240 -> ~27,100 tokens (context_window)",
        "context: 37 -> 20 messages, ~27,100 -> ~13,000 tokens (context_window, after the provider refused it as too long)",
    ]


def test_the_terminal_dims_the_compaction_line() -> None:
    import io

    from rich.console import Console

    from agentkit.cli._terminal import TerminalRenderer

    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=200, color_system="standard")
    renderer = TerminalRenderer(console=console, err_console=console)
    renderer.event(
        HistoryCompacted(
            processor="TokenWindow", messages_before=9, messages_after=5, tokens_before=900, tokens_after=500
        )
    )
    assert "\x1b[2mcontext: 9 -> 5 messages, ~900 -> ~500 tokens (TokenWindow)" in out.getvalue()


def test_a_request_within_the_limit_is_sent_as_is() -> None:
    from agentkit._run.history import fit_window

    messages = [UserMessage(content="x" * 4_000)]
    fitted = fit_window(messages, ModelRequestParameters(), 10_000, processor="t")
    assert fitted.messages is messages and fitted.tokens == 1_004 and not fitted.events
