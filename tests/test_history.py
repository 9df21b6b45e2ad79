"""History processors: through the real `AsyncOpenAI` path (the JSON that goes out), the built-ins and their
invariants, sync/async and context-taking processors per agent and per run, and misuse."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import pytest

from agentkit import (
    Agent,
    AssistantMessage,
    KeepRecentToolResults,
    Message,
    RunContext,
    SummarizeOlder,
    SystemMessage,
    TokenWindow,
    ToolCall,
    ToolMessage,
    UserError,
    UserMessage,
    tool,
)
from agentkit.events import HistoryCompacted
from agentkit.history import estimate_tokens, message_tokens, units
from agentkit.models import profile_for
from agentkit.models.openai import OpenAIChatModel
from agentkit.testing import FunctionModel, LoopbackServer, RequestInfo, ScriptedModel, tool_call_response
from agentkit.usage import Usage

MODEL = "google/gemini-2.0-flash-001"
PAGE = "Page {n}: " + "the quick brown fox jumps over the lazy dog; " * 100  # ~4,500 characters


@tool
def fetch(n: int) -> str:
    """Fetch page n.

    Args:
        n: The page number.
    """
    return PAGE.format(n=n)


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer(model=MODEL) as srv:
        yield srv


def _calls_then_answer(turns: int) -> list[AssistantMessage | str]:
    return [*(tool_call_response("fetch", {"n": n}, id=f"c{n}") for n in range(turns)), "done"]


def _tool_contents(body: dict[str, Any]) -> list[str]:
    return [m["content"] for m in body["messages"] if m["role"] == "tool"]


def test_keep_recent_tool_results_changes_only_what_is_sent(server: LoopbackServer) -> None:
    server.add(*_calls_then_answer(3))
    agent = Agent(
        OpenAIChatModel(MODEL, base_url=server.base_url, api_key="k"),
        tools=[fetch],
        instructions="Read pages.",
        history_processors=[KeepRecentToolResults(keep=1)],
    )
    events = list(agent.run_stream_sync("Read three pages."))
    result = events[-1].result  # type: ignore[union-attr]
    last = _tool_contents(server.bodies[-1])
    assert last[-1] == PAGE.format(n=2)  # the newest in full
    for n, note in enumerate(last[:-1]):  # the older ones: tool, size, first words
        assert note.startswith(f"[The fetch result was left out to save context: {len(PAGE.format(n=n)):,} ")
        assert f'It began: "Page {n}: the quick brown fox' in note
    assert server.bodies[-1]["messages"][0] == {"role": "system", "content": "Read pages."}
    kept = [m.content for m in result.messages if isinstance(m, ToolMessage)]
    assert kept == [PAGE.format(n=n) for n in range(3)]  # the transcript keeps everything
    compacted = [e for e in events if isinstance(e, HistoryCompacted)]
    assert [e.processor for e in compacted] == ["KeepRecentToolResults", "KeepRecentToolResults"]
    assert all(e.messages_before == e.messages_after for e in compacted)
    assert compacted[-1].tokens_after < compacted[-1].tokens_before


def test_processors_sync_async_with_context_per_agent_and_per_run() -> None:
    seen: list[tuple[str, Any]] = []

    def plain(messages: list[Message]) -> list[Message]:
        seen.append(("plain", len(messages)))
        return messages

    async def with_ctx(ctx: RunContext[str], messages: list[Message]) -> list[Message]:
        seen.append(("ctx", ctx.deps))
        return [m for m in messages if not (isinstance(m, UserMessage) and m.text == "forget me")]

    model = ScriptedModel(["one", "two", "three"])
    history: list[Message] = [UserMessage(content="forget me"), AssistantMessage(content="ok")]
    agent = Agent(model, history_processors=[plain])
    agent.run_sync("hi", message_history=history)
    assert seen == [("plain", 3)]
    result = agent.run_sync("hi", message_history=history, history_processors=[with_ctx], deps="D")
    assert seen[-1] == ("ctx", "D")  # the run's list replaces the agent's
    assert [m.content for m in model.requests[1].messages] == ["ok", "hi"]
    assert result.messages[0].content == "forget me"
    agent.run_sync("hi", history_processors=[])
    assert len(seen) == 2  # none for this run


async def test_processor_in_a_streamed_run_sees_the_run() -> None:
    contexts: list[RunContext[None]] = []

    def spy(ctx: RunContext[None], messages: list[Message]) -> list[Message]:
        contexts.append(ctx)
        return messages[-2:]  # the newest turn: a call and its result

    model = ScriptedModel([tool_call_response("fetch", {"n": 1}), "done"])
    agent = Agent(model, tools=[fetch], name="reader")
    async with agent.run_stream("go", history_processors=[spy]) as stream:
        kinds = [e.kind async for e in stream]
    assert [c.run_step for c in contexts] == [1, 2] and contexts[0].agent_name == "reader"
    assert kinds.count("history_compacted") == 1  # the first request sent its one message unchanged
    assert [type(m).__name__ for m in model.requests[1].messages] == ["AssistantMessage", "ToolMessage"]


def _transcript(turns: int, *, waiting: bool = False) -> list[Message]:
    messages: list[Message] = [SystemMessage(content="Be brief."), UserMessage(content="old question")]
    messages.append(AssistantMessage(content="old answer"))
    messages.append(UserMessage(content="read the pages"))
    for n in range(turns):
        calls = [
            ToolCall(id=f"a{n}", name="fetch", arguments="{}"),
            ToolCall(id=f"b{n}", name="fetch", arguments="{}"),
        ]
        messages.append(AssistantMessage(tool_calls=calls))
        messages += [ToolMessage(tool_call_id=c.id, name="fetch", content=PAGE.format(n=n)) for c in calls]
    if waiting:
        messages.append(AssistantMessage(tool_calls=[ToolCall(id="pay", name="pay", arguments="{}")]))
    return messages


def _check_shape(messages: list[Message]) -> None:
    """Every result follows its call; every call that had a result still has it."""
    calls: set[str] = set()
    for message in messages:
        if isinstance(message, AssistantMessage):
            calls = {c.id for c in message.tool_calls}
            answered = {m.tool_call_id for m in messages if isinstance(m, ToolMessage)}
            assert calls <= answered or message is messages[-1], message
        if isinstance(message, ToolMessage):
            assert message.tool_call_id in calls


@pytest.mark.parametrize("waiting", [False, True])
def test_token_window_keeps_the_invariants(waiting: bool) -> None:
    messages = _transcript(6, waiting=waiting)
    out = TokenWindow(max_tokens=1)(messages)  # a budget nothing fits in: only what is pinned stays
    _check_shape(out)
    assert out[0] is messages[0] and messages[3] in out  # instructions, newest prompt
    newest = messages[-1:] if waiting else messages[-3:]  # a waiting call; the turn the model answers now
    assert out == [messages[0], messages[3], *newest]
    roomy = TokenWindow(max_tokens=estimate_tokens(messages) - 10)(messages)
    assert roomy == messages[:1] + messages[3:]  # the older exchange goes whole, first
    window = TokenWindow(max_tokens=estimate_tokens(messages[:1] + messages[3:]) - 10)(messages)
    assert window == messages[:1] + messages[3:4] + messages[7:]  # then the oldest turn with both results
    assert TokenWindow(max_tokens=10**6)(messages) == messages


def test_keep_recent_tool_results_edges() -> None:
    messages = _transcript(2)
    short = dataclasses.replace(messages[-1], content="short")  # type: ignore[type-var]
    out = KeepRecentToolResults(keep=0)([*messages[:-1], short])
    assert out[-1] is short  # too short to elide
    notes = [m.content for m in out if isinstance(m, ToolMessage)][:-1]
    assert all(n.startswith("[The fetch result was left out") for n in notes)
    assert KeepRecentToolResults(keep=0)(out) == out  # a note is not elided again
    image = ToolMessage(tool_call_id="i", name="shot", content="", images=[_image()])
    calls = AssistantMessage(tool_calls=[ToolCall(id="i", name="shot", arguments="{}")])
    elided = KeepRecentToolResults(keep=0)([calls, image])[1]
    assert (
        isinstance(elided, ToolMessage)
        and not elided.images
        and "0 characters and 1 image." in elided.content
    )
    with pytest.raises(UserError, match="keep and min_chars"):
        KeepRecentToolResults(keep=-1)
    with pytest.raises(UserError, match="max_tokens must be at least 1"):
        TokenWindow(max_tokens=0)


def _image() -> Any:
    from agentkit import ImagePart

    return ImagePart(url="https://example.com/a.png")


def test_estimate_counts_text_images_documents_audio_and_tools() -> None:
    from agentkit import AudioPart, DocumentPart, ImagePart, TextPart
    from agentkit.history import IMAGE_TOKENS, URL_DOCUMENT_TOKENS

    text = UserMessage(content="x" * 400)
    assert message_tokens(text) == 104
    parts = UserMessage(
        content=[
            TextPart(text="y" * 40),
            ImagePart(url="https://e.com/a.png"),
            DocumentPart(url="https://e.com/a.pdf"),
            DocumentPart(url="data:application/pdf;base64," + "A" * 8000),
            AudioPart(data="A" * 4000, format="wav"),
        ]
    )
    assert message_tokens(parts) == 4 + 10 + IMAGE_TOKENS + URL_DOCUMENT_TOKENS + 752 + 6
    with_tools = estimate_tokens([text], tools=[fetch.definition])
    assert with_tools - 104 == estimate_tokens([], tools=[fetch.definition]) > 20
    assert estimate_tokens([], tools=[fetch.definition]) == estimate_tokens(
        [], tools=[fetch.definition]
    )  # cached
    from agentkit.models import ResponseFormat

    fmt = ResponseFormat(name="out", schema={"type": "object", "properties": {"a": {"type": "string"}}})
    assert estimate_tokens([], response_format=fmt) > 5


def test_summarize_older_uses_the_agents_model_counts_usage_and_reuses_the_summary() -> None:
    summaries: list[str] = []

    def answer(messages: list[Message], info: RequestInfo) -> AssistantMessage | str:
        first = messages[0]
        if isinstance(first, SystemMessage) and first.content.startswith("You summarise"):
            summaries.append(messages[1].content)  # type: ignore[arg-type]
            return AssistantMessage(
                content=f"summary {len(summaries)}", usage=Usage(requests=1, input_tokens=500)
            )
        n = len(model.requests) - len(summaries) - 1  # this run's requests so far, the summaries' aside
        return "done" if n == 8 else tool_call_response("fetch", {"n": n}, id=f"c{n}")

    model = FunctionModel(answer, model_name=MODEL)
    processor = SummarizeOlder(max_tokens=4_000, keep_turns=2)
    agent = Agent(model, tools=[fetch], instructions="Read.", history_processors=[processor])
    result = agent.run_sync("Read eight pages.")
    assert result.output == "done"
    assert len(summaries) == 3  # 9 requests, summarised again only when the budget is passed again
    assert summaries[0].startswith('assistant: [called fetch({"n": 0})]\n\ntool fetch returned: Page 0:')
    assert summaries[1].startswith("Summary so far:\nsummary 1\n\nWhat came after it:\nassistant: [called")
    assert summaries[2].startswith("Summary so far:\nsummary 2\n\n")
    sent = model.requests[-1].messages
    assert sent[0].content == "Read." and sent[1].content == "Read eight pages."  # type: ignore[union-attr]
    assert isinstance(sent[2], UserMessage) and sent[2].feedback and "summary" in sent[2].text
    assert estimate_tokens(sent) <= 4_000
    assert result.usage.requests == 9 + len(summaries)  # the summaries' requests are the run's
    assert result.usage.input_tokens >= 500 * len(summaries)
    assert len([m for m in result.messages if isinstance(m, ToolMessage)]) == 8  # nothing lost


async def test_summarize_older_with_its_own_model_and_outside_a_run() -> None:
    own = ScriptedModel(["the gist"])
    processor = SummarizeOlder(max_tokens=100, keep_turns=1, model=own)
    messages = _transcript(3)
    out = await processor(messages)
    assert next(m for m in out if isinstance(m, UserMessage) and m.feedback).text.endswith("the gist")
    assert out[-3:] == messages[-3:]
    assert await processor(messages) == out  # still over budget, nothing new to summarise: no second request
    assert len(own.requests) == 1
    assert await SummarizeOlder(max_tokens=10**6)(messages) == messages  # under budget
    assert await SummarizeOlder(max_tokens=1, keep_turns=99)(messages) == messages  # nothing older
    with pytest.raises(UserError, match="needs model="):
        await SummarizeOlder(max_tokens=1)(messages)
    with pytest.raises(UserError, match="SummarizeOlder"):
        SummarizeOlder(max_tokens=0)


@pytest.mark.parametrize(
    ("processor", "error"),
    [
        (lambda messages: "text", "returned str; return a list of messages"),
        (lambda messages: [], "returned no messages"),
        (
            lambda messages: [m for m in messages if not isinstance(m, AssistantMessage)],
            "without the assistant",
        ),
        (lambda messages: messages[:-2] + messages[-1:] + messages[-2:-1], "without the assistant"),
        (lambda messages: [m for m in messages if not isinstance(m, ToolMessage)], "dropped the result"),
    ],
)
def test_a_processor_that_breaks_the_transcript_is_named(processor: Any, error: str) -> None:
    model = ScriptedModel([tool_call_response("fetch", {"n": 1}), "done"])
    agent = Agent(model, tools=[fetch], history_processors=[processor])
    with pytest.raises(UserError, match=error):
        agent.run_sync("go") if "result" not in error else _second_request(agent)


def _second_request(agent: Agent[None, str]) -> None:
    agent.run_sync("go")


def test_a_history_that_was_malformed_is_not_the_processors_fault() -> None:
    model = ScriptedModel(["ok"])
    stray = ToolMessage(tool_call_id="gone", name="fetch", content="a result whose call was lost")
    Agent(model, history_processors=[lambda m: m]).run_sync("go on", message_history=[stray])
    assert model.requests[0].messages[0] is stray


def test_misused_history_processors() -> None:
    with pytest.raises(UserError, match="takes a list of history processors"):
        Agent(ScriptedModel([]), history_processors=KeepRecentToolResults())  # type: ignore[arg-type]
    with pytest.raises(UserError, match="is not callable"):
        Agent(ScriptedModel([]), history_processors=[3])  # type: ignore[list-item]
    with pytest.raises(UserError, match="takes 3 arguments"):
        Agent(ScriptedModel([]), history_processors=[lambda a, b, c: a])
    agent = Agent(ScriptedModel(["ok"]), history_processors=[print, dict])  # *args; no signature to read
    assert [p.takes_ctx for p in agent._processors] == [False, False]
    assert agent.history_processors == [print, dict]


def test_the_caches_stay_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from agentkit import history

    monkeypatch.setattr(history, "_TOOL_CACHE_SIZE", 1)
    monkeypatch.setattr(history, "_ELIDED_CACHE_SIZE", 1)
    first, second = fetch.definition, dataclasses.replace(fetch.definition, name="other")
    assert estimate_tokens([], tools=[first, second, first]) > 0
    assert len(history._TOOL_TOKENS) == 1
    results = [m for m in _transcript(2) if isinstance(m, ToolMessage)]
    notes = [history.elided(m) for m in [*results, results[0]]]
    assert len(history._ELIDED) == 1 and notes[0].content == notes[-1].content
    assert history.newest_prompt([AssistantMessage(content="hi")]) is None
    from agentkit._run import history as _history
    from agentkit.models import ModelRequestParameters

    monkeypatch.setattr(_history, "_FIXED_CACHE_SIZE", 1)
    one, other = ModelRequestParameters(tools=[first]), ModelRequestParameters(tools=[second])
    counts = [_history._fixed_tokens(p) for p in (one, other, one)]
    assert counts == [estimate_tokens([], tools=p.tools) for p in (one, other, one)]
    assert len(_history._FIXED) == 1


def test_units_pin_what_must_stay() -> None:
    messages = _transcript(1, waiting=True)
    cut = units(messages)
    assert [(u.start, u.end, u.pinned) for u in cut] == [
        (0, 1, True),
        (1, 2, False),
        (2, 3, False),
        (3, 4, True),
        (4, 7, False),
        (7, 8, True),
    ]
    orphan = units([UserMessage(content="q"), ToolMessage(tool_call_id="x", name="t", content="r")])
    assert [(u.start, u.end) for u in orphan] == [(0, 2)]


def test_json_of_the_wire_keeps_pairs_after_the_window(server: LoopbackServer) -> None:
    """TokenWindow through the real client: every tool message sent follows its call."""
    server.add(*_calls_then_answer(5))
    model = OpenAIChatModel(MODEL, base_url=server.base_url, api_key="k", profile=profile_for(MODEL))
    agent = Agent(model, tools=[fetch], history_processors=[TokenWindow(max_tokens=3_000)])
    agent.run_sync("Read five pages.")
    for body in server.bodies:
        ids: set[str] = set()
        for message in body["messages"]:
            ids |= {c["id"] for c in message.get("tool_calls") or []}
            if message["role"] == "tool":
                assert message["tool_call_id"] in ids
        assert body["messages"][0] == {"role": "user", "content": "Read five pages."}
    assert len(json.dumps(server.bodies[-1])) < 3 * len(PAGE) + 4_000


async def test_the_fit_and_the_summary_keep_the_invariants_too() -> None:
    from agentkit._run.history import fit_window
    from agentkit.models import ModelRequestParameters

    messages = _transcript(6, waiting=True)
    fitted = fit_window(messages, ModelRequestParameters(), 1, processor="context_window", harder=True)
    assert fitted.messages == [messages[0], messages[3], messages[-1]]  # instructions, prompt, waiting call
    assert [e.messages_after for e in fitted.events] == [3]
    summarised = await SummarizeOlder(max_tokens=1, keep_turns=0, model=ScriptedModel(["gist"]))(messages)
    _check_shape(summarised)
    assert summarised[0] is messages[0] and messages[3] in summarised and summarised[-1] is messages[-1]
    assert [m.role for m in summarised] == [
        "system",
        "user",
        "user",
        "assistant",
    ]  # the summary after the prompt


def test_estimate_counts_the_reasoning_an_answer_sends_back() -> None:
    """A thinking model's reasoning text and `reasoning_details` (signed and encrypted ones by the length of
    their data) go back with its message: the window's fit counts them."""
    bare = AssistantMessage(content="ok")
    thought = "t" * 800
    secret = "E" * 2_000
    thinking = dataclasses.replace(
        bare,
        reasoning=thought,
        reasoning_details=[
            {"type": "reasoning.text", "text": thought, "signature": "S" * 400},
            {"type": "reasoning.encrypted", "data": secret},
        ],
    )
    sent = len(thought) * 2 + 400 + len(secret)
    assert message_tokens(thinking) - message_tokens(bare) >= sent // 4
