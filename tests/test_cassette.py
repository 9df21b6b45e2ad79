"""Cassettes: a run against the loopback server (the real AsyncOpenAI path) recorded, then replayed offline."""

from __future__ import annotations

import asyncio
import gzip
import json
import re
from pathlib import Path
from types import SimpleNamespace

import httpx2
import pytest
from openai import AsyncOpenAI

from agentkit import (
    Agent,
    AssistantMessage,
    ModelAPIError,
    ModelSettings,
    RunResult,
    UserError,
    messages_to_json,
)
from agentkit.events import Event, TextDelta, ToolCallStarted
from agentkit.models.openai import OpenAIChatModel
from agentkit.testing import (
    Cassette,
    CassetteMismatchError,
    HTTPError,
    Interaction,
    LoopbackServer,
    cassette,
    tool_call_response,
)
from agentkit.testing._cassette import MAX_DIFF_LINES, mismatch_message, redact_body, redact_url
from agentkit.testing._cassette_http import _replay, body_chunks, set_body

pytest_plugins = ["pytester"]

OFFLINE = "http://127.0.0.1:9/v1"
"""Nothing listens there: a replay that opened a connection would fail."""
KEY = "fake-cassette-test-key-0123456789"  # not a real key: recognisable, to search files for


def add(a: int, b: int) -> int:
    """Add two numbers.

    Args:
        a: The first.
        b: The second.
    """
    return a + b


def make_agent(base_url: str, **options: object) -> Agent:
    model = OpenAIChatModel("google/gemini-2.0-flash-001", base_url=base_url, api_key=KEY, **options)  # type: ignore[arg-type]
    return Agent(model=model, tools=[add], instructions="Use the tools.")


def script() -> list[object]:
    return [tool_call_response("add", {"a": 2, "b": 3}), "2 + 3 = 5."]


def transcript(result: RunResult[str]) -> bytes:
    return messages_to_json(result.messages)


def record_one(path: Path, prompt: str = "2+3?") -> RunResult[str]:
    with LoopbackServer(script()) as server, cassette(path, mode="record"):
        return make_agent(server.base_url).run_sync(prompt)


# --- record, then replay ------------------------------------------------------------------------------------


def test_run_sync_replays_with_the_server_stopped(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    with LoopbackServer(script()) as server:
        agent = make_agent(server.base_url)
        with cassette(path) as recording:
            recorded = agent.run_sync("2+3?")
        assert recording.mode == "record" and len(server.requests) == 2
    with cassette(path) as replay:  # the same agent, its cached client, its server gone
        replayed = agent.run_sync("2+3?")
    assert replay.mode == "replay"
    assert replayed.output == recorded.output == "2 + 3 = 5."
    assert transcript(replayed) == transcript(recorded)
    assert replayed.usage.requests == recorded.usage.requests == 2
    data = json.loads(path.read_text())
    assert data["version"] == 1
    first = data["interactions"][0]
    assert first["request"]["method"] == "POST"
    assert first["request"]["url"].endswith("/v1/chat/completions")
    assert first["request"]["body"] == server.requests[0].body  # the JSON that went out, as it went
    assert first["response"]["status"] == 200
    assert first["response"]["content_type"] == "application/json"
    assert first["response"]["json"]["choices"][0]["finish_reason"] == "tool_calls"


async def test_await_run_and_run_stream_replay_the_same_events(tmp_path: Path) -> None:
    path = tmp_path / "stream.json"

    async def both(agent: Agent) -> tuple[RunResult[str], list[Event], RunResult[str]]:
        result = await agent.run("2+3?")
        async with agent.run_stream("2+3?") as stream:
            events = [event async for event in stream]
        return result, events, stream.result

    with LoopbackServer([*script(), *script()]) as server:
        async with cassette(path) as recording:
            recorded = await both(make_agent(server.base_url))
        assert recording.mode == "record" and server.bodies[2]["stream"] is True
    async with cassette(path) as replay:
        replayed = await both(make_agent(OFFLINE))
    assert replay.mode == "replay"
    assert transcript(replayed[0]) == transcript(recorded[0])
    assert transcript(replayed[2]) == transcript(recorded[2])

    def shown(events: list[Event]) -> list[str]:
        return [
            e.text if isinstance(e, TextDelta) else e.call.name if isinstance(e, ToolCallStarted) else ""
            for e in events
        ]

    assert [type(e) for e in replayed[1]] == [type(e) for e in recorded[1]]
    assert shown(replayed[1]) == shown(recorded[1]) and "add" in shown(recorded[1])
    streamed = replay.interactions[2]
    assert streamed.kind == "sse" and streamed.content_type == "text/event-stream"
    assert streamed.response[0] == ": OPENROUTER PROCESSING"  # the event lines as sent, readable
    assert any(line.startswith('data: {"id"') for line in streamed.response)
    assert "data: [DONE]" in streamed.response


def test_a_stream_replays_byte_for_byte_one_event_per_chunk() -> None:
    sent = b': OPENROUTER PROCESSING\n\ndata: {"a": 1}\n\ndata: [DONE]\n\n'
    interaction = Interaction(
        method="POST", url="http://h/v1/chat/completions", content_type="text/event-stream"
    )
    set_body(interaction, sent)
    assert interaction.response == [
        ": OPENROUTER PROCESSING",
        "",
        'data: {"a": 1}',
        "",
        "data: [DONE]",
        "",
        "",
    ]
    chunks = body_chunks(interaction)
    assert b"".join(chunks) == sent
    assert chunks == [b": OPENROUTER PROCESSING\n\n", b'data: {"a": 1}\n\n', b"data: [DONE]\n\n"]


def test_clients_made_before_the_cassette_are_caught(tmp_path: Path) -> None:
    with LoopbackServer([*script(), *script()]) as server:
        agent = make_agent(server.base_url)
        before = agent.run_sync("2+3?")  # makes and caches the client on run_sync's loop
        with cassette(tmp_path / "late.json") as recording:
            agent.run_sync("2+3?")
        assert len(recording.interactions) == 2 and len(server.requests) == 4
    with cassette(tmp_path / "late.json"):
        replayed = agent.run_sync("2+3?")
    # the same answers; the completions' ids are the recorded ones (the server counts its requests)
    assert [m.response_id for m in replayed.messages if isinstance(m, AssistantMessage)] == ["gen-3", "gen-4"]
    assert transcript(replayed).replace(b'"gen-3"', b'"gen-1"').replace(b'"gen-4"', b'"gen-2"') == transcript(
        before
    )


def test_http_errors_and_retry_hints_are_recorded_and_replayed(tmp_path: Path) -> None:
    path = tmp_path / "errors.json"
    busy = HTTPError(status=429, message="slow down", headers={"retry-after-ms": "1"})
    server = LoopbackServer([busy, HTTPError(status=400, message="bad request")])
    with server, cassette(path), pytest.raises(ModelAPIError) as recorded:
        make_agent(server.base_url).run_sync("2+3?")
    with cassette(path) as replay, pytest.raises(ModelAPIError) as replayed:
        make_agent(OFFLINE).run_sync("2+3?")
    assert replayed.value.status_code == recorded.value.status_code == 400
    assert "bad request" in str(replayed.value)
    assert [i.status for i in replay.interactions] == [429, 400]
    assert replay.interactions[0].headers == {"retry-after-ms": "1"}


def test_a_replayed_retry_hint_does_not_make_the_test_wait(tmp_path: Path) -> None:
    path = tmp_path / "busy.json"
    busy = HTTPError(status=429, message="slow down", headers={"retry-after": "30"})
    # no retries while recording: the 429 itself is recorded
    with LoopbackServer([busy]) as server, cassette(path, mode="record"), pytest.raises(ModelAPIError):
        make_agent(server.base_url, max_retries=0).run_sync("2+3?")
    data = json.loads(path.read_text())
    assert data["interactions"][0]["response"]["headers"] == {"retry-after": "30"}
    replayed = _replay(Interaction.from_json(data["interactions"][0]))
    assert replayed.status_code == 429 and replayed.headers["retry-after"] == "0"


def test_concurrent_runs_replay_whatever_order_their_requests_come_in(tmp_path: Path) -> None:
    path = tmp_path / "concurrent.json"
    prompts = ["2+3?", "3+2?"]

    def answer(body: dict[str, object]) -> object:
        return tool_call_response("add", {"a": 2, "b": 3}) if len(body["messages"]) == 2 else "5"  # type: ignore[arg-type]

    async def gather(agent: Agent) -> list[RunResult[str]]:
        return list(await asyncio.gather(*(agent.run(p) for p in prompts)))

    with LoopbackServer([answer] * 4) as server, cassette(path):
        recorded = asyncio.run(gather(make_agent(server.base_url)))
    with cassette(path):  # one after the other now, the second first
        agent = make_agent(OFFLINE)
        replayed = [agent.run_sync(p) for p in reversed(prompts)][::-1]
    assert [transcript(r) for r in replayed] == [transcript(r) for r in recorded]


# --- a run that changed ---------------------------------------------------------------------------------------


def test_a_changed_request_fails_with_a_diff_of_what_changed(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    record_one(path)

    def tripled(a: int, b: int, c: int = 0) -> int:
        """Add three numbers."""
        return a + b + c

    agent = Agent(
        model=OpenAIChatModel("google/gemini-2.5-flash", base_url=OFFLINE, api_key=KEY), tools=[tripled]
    )
    with pytest.raises(CassetteMismatchError) as caught, cassette(path):
        agent.run_sync("2+4?")
    message = str(caught.value)
    assert message.startswith("Request #1 (POST /v1/chat/completions) differs from interaction #1")
    assert "in: model, messages, tools." in message.splitlines()[0]
    assert "--- recorded\n+++ this run" in message
    assert '-      "content": "2+3?",' in message and '+      "content": "2+4?",' in message
    assert '-        "name": "add",' in message and '+        "name": "tripled",' in message
    assert '-  "model": "google/gemini-2.0-flash-001"' in message
    assert '+  "model": "google/gemini-2.5-flash"' in message
    assert "mode='record'" in message and "AGENTKIT_RECORD=1" in message and "--agentkit-record" in message
    assert isinstance(caught.value, AssertionError)  # a failed expectation, not an error of the run


def test_a_changed_setting_is_a_change_too(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    record_one(path)
    with pytest.raises(CassetteMismatchError, match=r"in: temperature\.") as caught, cassette(path):
        make_agent(OFFLINE).run_sync("2+3?", model_settings=ModelSettings(temperature=0.5))
    assert '+  "temperature": 0.5' in str(caught.value) and '-  "temperature": "<absent>"' in str(
        caught.value
    )


def test_more_requests_than_recorded_fail(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    record_one(path)
    agent = make_agent(OFFLINE)

    def twice() -> None:
        agent.run_sync("2+3?")
        agent.run_sync("2+3?")

    with cassette(path), pytest.raises(CassetteMismatchError) as caught:
        twice()
    assert "Request #3 (POST /v1/chat/completions) was not recorded" in str(caught.value)
    assert "holds 2 interaction(s), all used" in str(caught.value)


def test_recorded_requests_left_unused_fail_at_the_end(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    with LoopbackServer([*script(), *script()]) as server, cassette(path):
        make_agent(server.base_url).run_sync("2+3?")
        make_agent(server.base_url).run_sync("2+3?")
    unused = r"made 2 request\(s\), but .* recorded 4"
    with pytest.raises(CassetteMismatchError, match=unused) as caught, cassette(path):
        make_agent(OFFLINE).run_sync("2+3?")
    assert "2 recorded interaction(s) were not used, from #3" in str(caught.value)


# --- modes ----------------------------------------------------------------------------------------------------


def test_auto_records_when_the_file_is_missing_then_replays(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "auto.json"
    with LoopbackServer(script()) as server:
        with cassette(path) as first:
            make_agent(server.base_url).run_sync("2+3?")
        with cassette(path) as second:
            make_agent(server.base_url).run_sync("2+3?")
        assert len(server.requests) == 2  # the second run asked the file, not the server
    assert (first.mode, second.mode) == ("record", "replay")
    assert repr(second) == f"Cassette({str(path)!r}, mode='replay')"


def test_record_again_with_mode_record_or_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "run.json"
    record_one(path)
    for again in (cassette(path, mode="record"), "env"):
        if again == "env":
            monkeypatch.setenv("AGENTKIT_RECORD", "1")
            again = cassette(path)
        assert isinstance(again, Cassette)
        with LoopbackServer(script()) as server, again:
            make_agent(server.base_url).run_sync(
                "2+4?"
            )  # the run changed: its new recording replaces the old
        assert again.mode == "record" and len(server.requests) == 2
    monkeypatch.delenv("AGENTKIT_RECORD")
    with cassette(path) as replay:
        assert make_agent(OFFLINE).run_sync("2+4?").output == "2 + 3 = 5."
    assert replay.interactions[0].body["messages"][-1]["content"] == "2+4?"


def test_a_failed_block_keeps_no_recording(tmp_path: Path) -> None:
    path = tmp_path / "failed.json"

    def failing_test(base_url: str) -> None:
        make_agent(base_url).run_sync("2+3?")
        raise RuntimeError("the test failed")

    with LoopbackServer(script()) as server, pytest.raises(RuntimeError), cassette(path):
        failing_test(server.base_url)
    assert not path.exists()


def test_misuse_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="Unknown cassette mode 'play'"):
        cassette(tmp_path / "x.json", mode="play")  # type: ignore[arg-type]
    with pytest.raises(UserError, match=r"No cassette at .*missing.json to replay: record it first"):
        cassette(tmp_path / "missing.json", mode="replay").start()
    broken = tmp_path / "broken.json"
    broken.write_text('{"version": 0, "interactions": []}')
    with pytest.raises(UserError, match=r"cannot be read .*version 0.*record it again"):
        cassette(broken).start()
    with cassette(tmp_path / "one.json", mode="record"), pytest.raises(UserError, match="already in use"):  # noqa: SIM117
        with cassette(tmp_path / "two.json"):
            pass
    assert json.loads((tmp_path / "one.json").read_text()) == {"version": 1, "interactions": []}


# --- the guard and secrets ------------------------------------------------------------------------------------


def test_replay_needs_no_real_request_and_works_while_they_are_blocked(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    record_one(path)
    remote = make_agent("https://models.example.invalid/v1")
    with pytest.raises(UserError, match="blocked"), cassette(tmp_path / "real.json", mode="record"):
        remote.run_sync("2+3?")  # recording a real endpoint: the user must allow it
    with cassette(path):
        assert remote.run_sync("2+3?").output == "2 + 3 = 5."
    with pytest.raises(UserError, match="blocked"):  # the guard is back after the block
        remote.run_sync("2+3?")


async def test_secrets_are_never_written(tmp_path: Path) -> None:
    path = tmp_path / "secrets.json"
    header_secrets = {"api-key": "azure-key-5f4dcc3b5aa7", "x-api-key": "anthropic-style-key-9b2e"}
    query = {"key": "query-key-77aa01", "api-version": "2024-06-01"}
    with LoopbackServer(script()) as server:
        client = AsyncOpenAI(
            api_key=KEY, base_url=server.base_url, default_headers=header_secrets, default_query=query
        )
        async with client, cassette(path):
            recorded = await make_agent(server.base_url, client=client).run("2+3?")
        sent = server.requests[0]
        assert sent.headers["authorization"] == f"Bearer {KEY}"
        assert sent.headers["x-api-key"] == header_secrets["x-api-key"]
        assert "key=query-key-77aa01" in sent.path
    text = path.read_text()
    for secret in [KEY, *header_secrets.values(), "query-key-77aa01"]:
        assert secret not in text
    assert "Bearer" not in text and "authorization" not in text.lower()
    interactions = json.loads(text)["interactions"]
    assert len(interactions) == 2
    for interaction in interactions:
        assert interaction["request"]["url"].endswith(
            "/v1/chat/completions?key=REDACTED&api-version=2024-06-01"
        )
    other = {**query, "key": "another-key"}  # the same redaction on replay: it matches
    async with AsyncOpenAI(api_key="other", base_url=OFFLINE, default_query=other) as client, cassette(path):
        replayed = await make_agent(OFFLINE, client=client).run("2+3?")
    assert replayed.output == recorded.output == "2 + 3 = 5."


def test_replaying_an_openrouter_model_needs_no_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "openrouter.json"
    with LoopbackServer(script()) as server:  # recorded with a key, on a server that serves /api/v1 too
        base_url = server.base_url.removesuffix("/v1") + "/api/v1"
        with cassette(path, mode="record"):
            recorded = make_agent(base_url).run_sync("2+3?")
    data = json.loads(path.read_text())
    for interaction in data["interactions"]:  # as OpenRouter itself was asked: with its usage accounting on
        interaction["request"]["body"]["usage"] = {"include": True}
    path.write_text(json.dumps(data))
    for name in ("OPENROUTER_API_KEY", "AGENTKIT_API_KEY", "AGENTKIT_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    agent = Agent(OpenAIChatModel("google/gemini-2.0-flash-001"), tools=[add], instructions="Use the tools.")
    assert agent.model.is_openrouter  # type: ignore[attr-defined]
    with cassette(path, mode="replay"):  # no key, and nothing sent: it replays
        assert agent.run_sync("2+3?").output == recorded.output
    with pytest.raises(
        UserError, match="No API key for OpenRouter"
    ):  # outside a replay, the key is asked for
        Agent(OpenAIChatModel("google/gemini-2.0-flash-001", max_retries=1)).run_sync("2+3?")


def test_a_secret_echoed_in_a_body_is_scrubbed(tmp_path: Path) -> None:
    path = tmp_path / "echo.json"
    with LoopbackServer([f"Your key is {KEY}."]) as server, cassette(path):
        make_agent(server.base_url).run_sync("2+3?")
    assert KEY not in path.read_text() and "Your key is REDACTED." in path.read_text()


async def test_secret_fields_of_json_bodies_are_never_written(tmp_path: Path) -> None:
    path = tmp_path / "bodies.json"
    body = {
        "api_key": "tvly-secret-8c1d",
        "query": "weather",
        "max_tokens": 5,
        "auth": {"client_secret": "cs-99x"},
    }
    with LoopbackServer(["ok"]) as server:
        url = server.base_url + "/chat/completions"  # any JSON API, the way a tool might call one
        for _ in range(2):
            async with httpx2.AsyncClient() as client, cassette(path):
                answer = await client.post(url, json=body)
            assert answer.status_code == 200
        # recorded, then replayed: the redacted request still matches its recording
        assert server.bodies[0]["api_key"] == "tvly-secret-8c1d" and len(server.requests) == 1
    text = path.read_text()
    assert "tvly-secret-8c1d" not in text and "cs-99x" not in text
    request = json.loads(text)["interactions"][0]["request"]["body"]
    assert request == {
        "api_key": "REDACTED",
        "query": "weather",
        "max_tokens": 5,
        "auth": {"client_secret": "REDACTED"},
    }


def test_secret_fields_a_response_sends_back_are_never_written() -> None:
    interaction = Interaction(method="POST", url="http://h/token", content_type="application/json")
    set_body(interaction, b'{"access_token": "eyJ-token-1", "expires_in": 3600, "token_type": "Bearer"}')
    clean, found = redact_body(interaction.response)
    assert clean == {"access_token": "REDACTED", "expires_in": 3600, "token_type": "Bearer"}
    assert found == ["eyJ-token-1"]


def test_urls_lose_user_info_and_secret_query_values() -> None:
    url, secrets = redact_url("https://user:pw-1234@host.example:8443/v1/x?token=t0k3n&signature=abc&q=1")
    assert url == "https://host.example:8443/v1/x?token=REDACTED&signature=REDACTED&q=1"
    assert secrets == ["user", "pw-1234", "t0k3n", "abc"]


# --- bodies as readable as they can be ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "data", "encoding", "kind", "stored"),
    [
        ("application/json", b'{"a": [1, 2]}', "identity", "json", {"a": [1, 2]}),
        ("application/json", gzip.compress(b'{"a": 1}'), "gzip", "json", {"a": 1}),
        ("application/json", b"not json", "identity", "text", "not json"),
        ("text/plain", b"plain", "identity", "text", "plain"),
        ("application/octet-stream", b"\xff\xfe", "identity", "base64", "//4="),
        ("application/json", b"br-bytes", "br", "base64", "YnItYnl0ZXM="),
    ],
)
def test_bodies_are_stored_readably_and_replayed_as_sent(
    content_type: str, data: bytes, encoding: str, kind: str, stored: object
) -> None:
    interaction = Interaction(method="POST", url="http://h/v1", content_type=content_type)
    set_body(interaction, data, encoding)
    assert (interaction.kind, interaction.response) == (kind, stored)
    again = Interaction.from_json(json.loads(json.dumps(interaction.to_json())))
    assert again == interaction
    replayed = b"".join(body_chunks(again))
    if kind == "json":
        assert json.loads(replayed) == stored
    else:
        assert replayed == (data if encoding in ("identity", "br") else gzip.decompress(data))
    if encoding == "br":  # an encoding it cannot undo is kept, and replayed with its header
        assert again.headers == {"content-encoding": "br"}


# --- the pytest fixture -----------------------------------------------------------------------------------

INNER_TEST = """
import pytest
from agentkit import Agent
from agentkit.models.openai import OpenAIChatModel
from agentkit.testing import LoopbackServer

PROMPT = "Capital of France?"

@pytest.mark.parametrize("n", [1])
def test_answer(agentkit_cassette, n):
    with LoopbackServer(["Paris."]) as server:
        url = server.base_url if agentkit_cassette.mode == "record" else "http://127.0.0.1:9/v1"
        agent = Agent(model=OpenAIChatModel("m", base_url=url))
        assert agent.run_sync(PROMPT).output == "Paris."
    print("MODE", agentkit_cassette.mode, "REQUESTS", len(server.requests))

@pytest.mark.agentkit_cassette("shared/capital.json", mode="replay")
def test_marked(agentkit_cassette):
    assert agentkit_cassette.path.name == "capital.json"
    agent = Agent(model=OpenAIChatModel("m", base_url="http://127.0.0.1:9/v1"))
    assert agent.run_sync(PROMPT).output == "Paris."
"""


@pytest.fixture
def inner(pytester: pytest.Pytester, pytestconfig: pytest.Config) -> list[str]:
    """Options for an inner pytest run with agentkit's plugin: an install loads it by its entry point (then
    so does the inner run), a checkout not installed again since the entry point was added does not."""
    pytester.makepyfile(test_recorded_agent=INNER_TEST)
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    installed = pytestconfig.pluginmanager.get_plugin("agentkit") is not None
    return ["-p", "no:cacheprovider", "-s", *([] if installed else ["-p", "_agentkit_pytest"])]


def test_the_fixture_records_the_first_run_and_replays_later_ones(
    pytester: pytest.Pytester, inner: list[str]
) -> None:
    first = pytester.runpytest(*inner, "-k", "test_answer")
    first.assert_outcomes(passed=1)
    first.stdout.fnmatch_lines(["*MODE record REQUESTS 1*"])
    path = pytester.path / "cassettes" / "test_recorded_agent" / "test_answer_1.json"
    assert json.loads(path.read_text())["interactions"][0]["request"]["body"]["messages"][0]["content"] == (
        "Capital of France?"
    )
    second = pytester.runpytest(*inner, "-k", "test_answer")
    second.assert_outcomes(passed=1)
    second.stdout.fnmatch_lines(["*MODE replay REQUESTS 0*"])
    again = pytester.runpytest(*inner, "-k", "test_answer", "--agentkit-record")
    again.assert_outcomes(passed=1)
    again.stdout.fnmatch_lines(["*MODE record REQUESTS 1*"])
    (pytester.path / "shared").mkdir()
    (pytester.path / "shared" / "capital.json").write_text(path.read_text())
    pytester.runpytest(*inner, "-k", "test_marked", "--agentkit-record").assert_outcomes(
        passed=1
    )  # kept: replay


def test_the_fixture_fails_a_changed_run_and_keeps_no_recording_of_a_failed_one(
    pytester: pytest.Pytester, inner: list[str]
) -> None:
    pytester.runpytest(*inner, "-k", "test_answer").assert_outcomes(passed=1)
    pytester.makepyfile(
        test_recorded_agent=INNER_TEST.replace('PROMPT = "Capital of France?"', 'PROMPT = "Capital of Peru?"')
    )
    changed = pytester.runpytest(*inner, "-k", "test_answer")
    changed.assert_outcomes(failed=1)
    changed.stdout.fnmatch_lines(["*CassetteMismatchError: Request #1 (POST /v1/chat/completions) differs*"])
    changed.stdout.fnmatch_lines(['*+*"content": "Capital of Peru?"*'])
    pytester.makepyfile(test_recorded_agent=INNER_TEST.replace('"Paris."])', '"Lima."])'))
    path = pytester.path / "cassettes" / "test_recorded_agent" / "test_answer_1.json"
    path.unlink()
    pytester.runpytest(*inner, "-k", "test_answer").assert_outcomes(failed=1)  # records, then fails
    assert not path.exists()


async def test_any_httpx2_request_is_recorded_a_body_that_is_not_json_as_text(tmp_path: Path) -> None:
    path = tmp_path / "raw.json"
    with LoopbackServer() as server:
        async with httpx2.AsyncClient() as client, cassette(path):
            recorded = await client.post(f"{server.base_url}/chat/completions", content=b"plain words")
    async with httpx2.AsyncClient() as client, cassette(path) as replay:
        replayed = await client.post(f"{OFFLINE}/chat/completions", content=b"plain words")
    assert (
        (replayed.status_code, replayed.json())
        == (recorded.status_code, recorded.json())
        == (
            400,
            {"error": {"code": 400, "message": "request body is not JSON"}},
        )
    )
    assert replay.interactions[0].body == "plain words"


def test_a_long_diff_is_cut_short() -> None:
    recorded = Interaction(method="POST", url="http://h/v1/x", body=[str(n) for n in range(100)])
    request = Interaction(method="POST", url="http://h/v1/x", body=[str(-n) for n in range(100)])
    message = mismatch_message(recorded, request, 1, 0, Path("c.json"))
    assert "differs from interaction #1 of c.json in: body." in message
    diff = message.splitlines()[1:-1]
    assert len(diff) == MAX_DIFF_LINES + 1 and re.fullmatch(r"\.\.\. \(\d+ more lines\)", diff[-1])


def test_the_local_model_replays_without_starting_its_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agentkit.local import LocalModel

    path = tmp_path / "local.json"
    with LoopbackServer(['{"', "add", *script()]) as server:  # the decision first: a call, a name
        # recorded from a running server (a loopback one standing in for llama.cpp here)
        running = SimpleNamespace(
            is_running=True, base_url=server.base_url, engine_in_use="xllamacpp", api_key="local-key-1234"
        )
        with cassette(path, mode="record"):
            recorded = Agent(LocalModel(server=running), tools=[add]).run_sync("2+3?")  # type: ignore[arg-type]

    def no_server() -> None:
        raise AssertionError("the local server was started during a replay")

    monkeypatch.setattr("agentkit.local.get_local_server", no_server)
    model = LocalModel()
    with cassette(path, mode="replay"):
        replayed = Agent(model, tools=[add]).run_sync("2+3?")
    assert transcript(replayed) == transcript(recorded)
    assert not model._started  # a later real request starts the server then
    assert "local-key-1234" not in path.read_text(), "the local server's key is not recorded"


def test_fixture_files_are_named_by_the_tests_id_after_its_module() -> None:
    from _agentkit_pytest import cassette_path

    def path_of(nodeid: str) -> str:
        request = SimpleNamespace(node=SimpleNamespace(nodeid=nodeid), path=Path("/p/tests/test_mod.py"))
        return str(cassette_path(request))  # type: ignore[arg-type]

    assert path_of("tests/test_mod.py::test_run") == "/p/tests/cassettes/test_mod/test_run.json"
    assert path_of("tests/test_mod.py::TestA::test_run") == "/p/tests/cassettes/test_mod/TestA_test_run.json"
    assert path_of("tests/test_mod.py::TestB::test_run") == "/p/tests/cassettes/test_mod/TestB_test_run.json"
    assert (
        path_of("tests/test_mod.py::test_answer[1-x y]")
        == "/p/tests/cassettes/test_mod/test_answer_1-x_y.json"
    )
