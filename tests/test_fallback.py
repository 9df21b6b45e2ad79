"""Models that go away or fail: fallback chains, circuit breakers, retired models' successors, wire faults.

Through the real `AsyncOpenAI` client against loopback servers: one per model of a chain (so each request's
server says which model it reached), and `RawServer` for what an HTTP server of ours cannot send well (an HTML
page, a reset connection, silence).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from fault_cases import HTML_PAGE, RESET, SILENT, RawAnswer, RawSocketServer, http_response

import agentkit.models.openai as adapter
from agentkit import (
    Agent,
    AssistantMessage,
    ModelAPIError,
    ModelSettings,
    ModelUnavailableError,
    UserError,
)
from agentkit.events import TextDelta
from agentkit.models.fallback import FallbackModel, falls_back
from agentkit.models.openai import OpenAIChatModel
from agentkit.testing import (
    BodyError,
    HTTPError,
    LoopbackServer,
    RawStream,
    StreamError,
    tool_call_response,
)

OLD = "google/gemini-2.0-flash-001"
NEW = "google/gemini-2.5-flash"
LITE = "google/gemini-2.5-flash-lite"
OTHER = "openai/gpt-4o-mini"
KEY = "fake-fallback-test-key-0123456789abcdef"
QUICK = {"retry-after-ms": "1"}


@dataclass(kw_only=True, frozen=True)
class Retired(HTTPError):
    """OpenRouter's 404 for a retired model, naming successors in `error.availability.fallback_models`."""

    status: int = 404
    code: str | int | None = "model_deprecated"
    message: str = "This model has been deprecated"
    successors: tuple[str, ...] = (NEW, LITE)

    def body(self) -> dict[str, Any]:
        body = super().body()
        body["error"]["availability"] = {"fallback_models": list(self.successors)}
        return body


def RawServer(*script: str) -> RawSocketServer:
    """A raw socket server (tests/fault_cases.py) answering each connection per `script`: `"html502"`,
    `"html200"` (an HTML page), `"reset"` (the connection reset by the peer), `"hang"` (no answer)."""
    answers: dict[str, RawAnswer] = {
        "reset": RESET,
        "hang": SILENT,
        "html502": http_response("502 Bad Gateway", HTML_PAGE, "text/html"),
        "html200": http_response("200 OK", HTML_PAGE, "text/html"),
    }
    return RawSocketServer([answers[item] for item in script])


@pytest.fixture(autouse=True)
def _fresh_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(adapter, "_warned_successors", set())
    monkeypatch.setattr(adapter, "_successor_of", {})


@pytest.fixture
def first() -> Iterator[LoopbackServer]:
    with LoopbackServer(model=OLD) as srv:
        yield srv


@pytest.fixture
def second() -> Iterator[LoopbackServer]:
    with LoopbackServer(model=NEW) as srv:
        yield srv


def at(server: LoopbackServer | RawServer, name: str, **options: Any) -> OpenAIChatModel:
    options.setdefault("max_retries", 0)
    return OpenAIChatModel(name, base_url=server.base_url, api_key=KEY, **options)


def chain(first: LoopbackServer | RawServer, second: LoopbackServer, **options: Any) -> FallbackModel:
    return FallbackModel(at(first, OLD), at(second, NEW), **options)


def as_asked(server: LoopbackServer, answer: str | AssistantMessage) -> Any:
    """A responder answering as whichever model was asked (the `model` field of the request)."""

    def respond(body: dict[str, Any]) -> dict[str, Any]:
        return {**server.completion(answer), "model": body["model"]}

    return respond


def answered_by(messages: list[Any]) -> list[str | None]:
    return [m.model_name for m in messages if isinstance(m, AssistantMessage)]


# --- what falls back, and what does not ---------------------------------------------------------------------

TRIGGERS = {
    "404 model_deprecated": HTTPError(status=404, code="model_deprecated", message="deprecated"),
    "404 no endpoints": HTTPError(status=404, message=f"No endpoints found for {OLD}."),
    "408": HTTPError(status=408, message="Request timeout"),
    "429 with Retry-After": HTTPError(status=429, message="Rate limited", headers={"retry-after": "0"}),
    "429 without Retry-After": HTTPError(status=429, message="Rate limited"),
    "500": HTTPError(status=500, message="Internal error"),
    "502": HTTPError(status=502, message="Bad gateway"),
    "503": HTTPError(status=503, message="Overloaded"),
    "error in a 200 body": BodyError(code=502, message="Provider returned error"),
    "unavailable in a 200 body": BodyError(code="model_deprecated", message="deprecated"),
}


@pytest.mark.parametrize("fault", TRIGGERS.values(), ids=TRIGGERS.keys())
def test_the_next_model_answers_after(first: LoopbackServer, second: LoopbackServer, fault: Any) -> None:
    first.add(fault)
    second.add("from the fallback")
    model = chain(first, second)
    assert model.model_name == OLD
    result = Agent(model).run_sync("go")
    assert result.output == "from the fallback"
    assert (len(first.requests), len(second.requests)) == (1, 1)
    assert second.requests[0].body["model"] == NEW
    assert answered_by(result.messages) == [NEW]
    assert model.model_name == NEW and model.profile.family == "gemini-2.5-flash"


def test_a_429_is_retried_by_the_sdk_before_falling_back(
    first: LoopbackServer, second: LoopbackServer
) -> None:
    first.add(*[HTTPError(status=429, message="Rate limited", headers=QUICK)] * 2)
    second.add("fallback")
    model = FallbackModel(at(first, OLD, max_retries=1), at(second, NEW))
    assert Agent(model).run_sync("go").output == "fallback"
    assert len(first.requests) == 2  # the SDK's own retry first


@pytest.mark.parametrize("fault", ["reset", "hang", "html502", "html200"])
def test_connection_faults_fall_back(second: LoopbackServer, fault: str) -> None:
    second.add("fallback")
    with RawServer(fault) as raw:
        model = chain(raw, second)
        settings = ModelSettings(timeout=0.3)
        assert Agent(model, model_settings=settings).run_sync("go").output == "fallback"
        assert raw.requests == 1
    (status,) = [s for s in model.status() if s.model_name == OLD]
    assert status.failures == 1 and status.last_error is not None


YOURS = {
    400: "malformed",
    401: "API key was refused",
    402: "no credits",
    403: "moderation",
}


@pytest.mark.parametrize("status", YOURS)
def test_errors_that_are_the_users_to_fix_raise_at_once(
    first: LoopbackServer, second: LoopbackServer, status: int
) -> None:
    first.add(HTTPError(status=status, message="refused"))
    model = chain(first, second)
    with pytest.raises(ModelAPIError) as info:
        Agent(model).run_sync("go")
    assert info.value.status_code == status and not isinstance(info.value, ModelUnavailableError)
    assert YOURS[status] in info.value.message and "for you to fix" in info.value.message
    assert "fallback models were not tried" in info.value.message
    assert (len(first.requests), len(second.requests)) == (1, 0)
    assert model.status()[0].failures == 0  # not the model's failure


def test_credits_reported_in_a_200_body_raise_too(first: LoopbackServer, second: LoopbackServer) -> None:
    first.add(BodyError(code=402, message="Insufficient credits"))
    with pytest.raises(ModelAPIError, match="no credits left") as info:
        Agent(chain(first, second)).run_sync("go")
    assert info.value.status_code == 402 and len(second.requests) == 0


def test_falls_back_table() -> None:
    def error(status: int | None) -> ModelAPIError:
        return ModelAPIError("x", status_code=status)

    assert [falls_back(error(s)) for s in (None, 200, 408, 409, 429, 500, 503, 529)] == [True] * 8
    assert [falls_back(error(s)) for s in (400, 401, 402, 403, 404, 413, 422)] == [False] * 7
    assert falls_back(ModelUnavailableError("gone", status_code=404))


def test_when_every_model_fails_the_last_error_is_raised_with_the_earlier_ones(
    first: LoopbackServer, second: LoopbackServer
) -> None:
    first.add(HTTPError(status=503, message="Primary overloaded"))
    second.add(HTTPError(status=404, code="model_not_found", message="No such model"))
    with pytest.raises(ModelUnavailableError) as info:
        Agent(chain(first, second)).run_sync("go")
    error = info.value
    assert error.status_code == 404 and error.model_name == NEW
    assert "Earlier in the fallback chain" in error.message and "Primary overloaded" in error.message
    assert error.messages[0].role == "user" and error.usage is not None


def test_a_chain_from_model_ids(monkeypatch: pytest.MonkeyPatch, first: LoopbackServer) -> None:
    monkeypatch.setenv("AGENTKIT_BASE_URL", first.base_url)
    first.add(*[HTTPError(status=503, message="down", headers=QUICK)] * 3)  # the SDK retries twice first
    first.add(as_asked(first, "from the fallback"))
    agent = Agent(OLD, fallback_models=[NEW])
    model = agent.model
    assert isinstance(model, FallbackModel)
    assert [m.model_name for m in model.models] == [OLD, NEW]
    assert model.describe() == f"{OLD} at {first.base_url}, falling back to {NEW}"
    result = agent.run_sync("go")
    assert answered_by(result.messages) == [NEW]
    assert Agent(OLD, fallback_models=NEW).model.describe().endswith(f"falling back to {NEW}")
    with pytest.raises(UserError, match="fallback_models"):
        Agent(OLD, fallback_models=[3])  # type: ignore[list-item]
    with pytest.raises(UserError, match="failure_threshold"):
        FallbackModel(OLD, NEW, failure_threshold=0)


# --- streaming -----------------------------------------------------------------------------------------------


async def stream_run(agent: Agent[None, str]) -> tuple[list[str], Any]:
    async with agent.run_stream("go") as stream:
        texts = [e.text async for e in stream if isinstance(e, TextDelta)]
    await agent.model.aclose()
    return texts, stream.result


@pytest.mark.parametrize(
    "fault",
    [StreamError(code=502, message="Provider disconnected"), HTTPError(status=503, message="Overloaded")],
    ids=["error in the stream", "503"],
)
async def test_a_stream_falls_back_before_its_first_event(
    first: LoopbackServer, second: LoopbackServer, fault: Any
) -> None:
    first.add(fault)
    second.add("streamed by the fallback")
    texts, result = await stream_run(Agent(chain(first, second)))
    assert "".join(texts) == "streamed by the fallback"
    assert answered_by(result.messages) == [NEW]
    assert first.requests[0].body["stream"] is True and len(second.requests) == 1


async def test_a_stream_that_has_shown_text_is_never_continued_by_another_model(
    first: LoopbackServer, second: LoopbackServer
) -> None:
    first.add(StreamError(content="Half an answ", code=502, message="Provider disconnected"))
    agent = Agent(chain(first, second))
    with pytest.raises(ModelAPIError, match="Provider disconnected") as info:
        await stream_run(agent)
    await agent.model.aclose()
    assert info.value.status_code == 502
    assert len(second.requests) == 0


# --- circuit breaker -----------------------------------------------------------------------------------------


def test_the_circuit_breaker_opens_half_opens_and_closes(
    first: LoopbackServer, second: LoopbackServer, caplog: pytest.LogCaptureFixture
) -> None:
    now = [1000.0]
    model = chain(first, second, failure_threshold=2, cooldown=30.0, clock=lambda: now[0])
    agent = Agent(model)
    down = HTTPError(status=503, message="Overloaded")

    def run() -> str | None:
        return answered_by(agent.run_sync("go").messages)[-1]

    with caplog.at_level(logging.INFO, logger="agentkit"):
        first.add(down, down)
        second.add(as_asked(second, "a"), as_asked(second, "b"), as_asked(second, "c"))
        assert [run(), run()] == [NEW, NEW]
        (opened,) = [r for r in caplog.records if "skipping" in r.getMessage()]
        assert (
            OLD in opened.getMessage() and "30s" in opened.getMessage() and opened.levelno == logging.WARNING
        )
        primary = model.status()[0]
        assert (primary.state, primary.failures, primary.open_until) == ("open", 2, 1030.0)
        assert "Overloaded" in (primary.last_error or "")
        now[0] += 10
        assert run() == NEW  # skipped: the primary is not asked
        assert len(first.requests) == 2

        now[0] += 21  # the pause is over: half-open, tried once more
        assert model.status()[0].state == "half-open"
        first.add(down)
        second.add(as_asked(second, "d"))
        assert run() == NEW
        reopened = model.status()[0]
        assert (reopened.state, reopened.failures, reopened.open_until) == (
            "open",
            3,
            now[0] + 60.0,
        )  # doubled

        now[0] += 61
        first.add("the primary is back")
        assert run() == OLD
        closed = model.status()[0]
        assert (closed.state, closed.failures, closed.open_until, closed.last_error) == (
            "closed",
            0,
            None,
            None,
        )
        assert model.model_name == OLD
        messages = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert len([m for m in messages if "skipping" in m]) == 2
        assert len([m for m in messages if "answered again" in m]) == 1
    assert len(first.requests) == 4


def test_when_every_model_is_paused_the_run_fails_at_once(
    first: LoopbackServer, second: LoopbackServer
) -> None:
    model = chain(first, second, failure_threshold=1, clock=lambda: 0.0)
    first.add(HTTPError(status=503, message="Overloaded"))
    second.add(HTTPError(status=502, message="Bad gateway"))
    with pytest.raises(ModelAPIError, match="Bad gateway"):
        Agent(model).run_sync("go")
    with pytest.raises(ModelAPIError, match="paused after repeated failures") as info:
        Agent(model).run_sync("go")
    assert OLD in info.value.message and "Bad gateway" in info.value.message
    assert (len(first.requests), len(second.requests)) == (1, 1)  # nothing more was sent
    assert [s.state for s in model.status()] == ["open", "open"]


# --- retired models and their successors -------------------------------------------------------------------


def test_a_retired_model_continues_on_its_first_successor(
    first: LoopbackServer, caplog: pytest.LogCaptureFixture
) -> None:
    first.add(Retired(), as_asked(first, "from the successor"), as_asked(first, "again"))
    model = at(first, OLD)
    with caplog.at_level(logging.WARNING, logger="agentkit"):
        result = Agent(model).run_sync("go")
        assert result.output == "from the successor"
        assert [r.body["model"] for r in first.requests] == [OLD, NEW]
        assert model.model_name == NEW and model.profile.family == "gemini-2.5-flash"
        assert answered_by(Agent(model).run_sync("go").messages) == [NEW]
        assert first.requests[-1].body["model"] == NEW  # kept for later requests
        first.add(as_asked(first, "a second model goes straight to the successor"))
        assert answered_by(Agent(at(first, OLD)).run_sync("go").messages) == [NEW]
        assert first.requests[-1].body["model"] == NEW  # the retired model is not asked again
        assert len(first.requests) == 4
    (warning,) = caplog.records
    assert (
        OLD in warning.getMessage()
        and NEW in warning.getMessage()
        and "AGENTKIT_STRICT_MODEL" in warning.getMessage()
    )


def test_successors_named_in_a_200_body(first: LoopbackServer) -> None:
    retired = BodyError(
        code=404, message=f"{OLD} is deprecated", metadata={"availability": {"fallback_models": [LITE]}}
    )
    first.add(retired, as_asked(first, "lite"))
    model = at(first, OLD)
    assert Agent(model).run_sync("go").output == "lite"
    assert model.model_name == LITE


async def test_successors_named_mid_stream_before_any_text(first: LoopbackServer) -> None:
    error = {"error": {"code": 404, "message": "deprecated", "availability": {"fallback_models": [NEW]}}}
    first.add(RawStream(events=[": OPENROUTER PROCESSING", error]), "streamed")
    model = at(first, OLD)
    texts, _ = await stream_run(Agent(model))
    assert "".join(texts) == "streamed"
    assert [r.body["model"] for r in first.requests] == [OLD, NEW]


@pytest.mark.parametrize("how", ["argument", "environment"])
def test_strict_mode_raises_with_the_successors(
    first: LoopbackServer, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    if how == "environment":
        monkeypatch.setenv("AGENTKIT_STRICT_MODEL", "1")
        model = at(first, OLD)
    else:
        model = at(first, OLD, follow_successors=False)
    first.add(Retired())
    with pytest.raises(ModelUnavailableError, match=r"suggests google/gemini-2\.5-flash") as info:
        Agent(model).run_sync("go")
    assert info.value.successors == [NEW, LITE]
    assert len(first.requests) == 1 and model.model_name == OLD


def test_successors_that_are_retired_too_end_the_hops(first: LoopbackServer) -> None:
    first.add(Retired(successors=(NEW,)), Retired(successors=(OLD,)))
    with pytest.raises(ModelUnavailableError) as info:
        Agent(at(first, OLD)).run_sync("go")
    assert [r.body["model"] for r in first.requests] == [OLD, NEW]
    assert info.value.model_name == NEW


def test_in_a_chain_the_next_model_not_the_successor_takes_over(
    first: LoopbackServer, second: LoopbackServer, caplog: pytest.LogCaptureFixture
) -> None:
    first.add(Retired())
    second.add("chain")
    model = FallbackModel(at(first, OLD), at(second, OTHER))
    assert answered_by(Agent(model).run_sync("go").messages) == [NEW]  # the second server's model field
    assert len(first.requests) == 1 and second.requests[0].body["model"] == OTHER
    assert not [r for r in caplog.records if "successor" in r.getMessage()]


# --- usage and cost across models ----------------------------------------------------------------------------


def test_usage_and_cost_follow_the_model_that_answered() -> None:
    tokens = {"prompt_tokens": 1_000_000, "completion_tokens": 1_000_000, "cost": None}
    with LoopbackServer(model=OLD, usage=tokens) as one, LoopbackServer(model=NEW, usage=tokens) as two:
        one.add(tool_call_response("get_time", {}), HTTPError(status=503, message="down"))
        two.add("done")

        def get_time() -> str:
            """The time."""
            return "noon"

        result = Agent(chain(one, two), tools=[get_time]).run_sync("go")
    assert answered_by(result.messages) == [OLD, NEW]
    assert result.usage.requests == 2
    assert result.usage.cost_usd == pytest.approx((0.10 + 0.40) + (0.30 + 2.50))


def test_the_providers_cost_wins_and_prices_of_successors() -> None:
    from agentkit.models import profile_for

    with LoopbackServer(model=NEW, usage={"cost": 0.125}) as srv:
        srv.add("x")
        assert Agent(at(srv, NEW)).run_sync("go").usage.cost_usd == pytest.approx(0.125)
    assert profile_for(NEW).cost(1_000_000, 1_000_000) == pytest.approx(2.80)
    assert profile_for(LITE).cost(1_000_000, 1_000_000) == pytest.approx(0.50)
    assert profile_for("google/gemini-2.5-pro").schema_dialect == "gemini"


# --- the wire: odd bodies ------------------------------------------------------------------------------------


@pytest.mark.parametrize("odd", [{"choices": None}, {}], ids=["choices null", "no choices"])
def test_a_completion_without_choices_is_nudged_and_recovers(
    first: LoopbackServer, odd: dict[str, Any]
) -> None:
    first.add({"id": "gen-1", "model": OLD, **odd}, "recovered")
    result = Agent(at(first, OLD)).run_sync("go")
    assert result.output == "recovered" and len(first.requests) == 2


@pytest.mark.parametrize("key", ["data", "response"])
def test_a_completion_nested_under_another_key_is_read(first: LoopbackServer, key: str) -> None:
    first.add({key: first.completion("nested"), "request_id": "r1"})
    result = Agent(at(first, OLD)).run_sync("go")
    assert result.output == "nested" and result.usage.requests == 1 and len(first.requests) == 1


def test_html_and_non_json_bodies_are_typed_errors() -> None:
    with RawServer("html502", "html200") as raw:
        for status in (502, 200):
            with pytest.raises(ModelAPIError) as info:
                Agent(at(raw, OLD)).run_sync("go")
            assert info.value.status_code == status
            assert "<html>" in info.value.message and len(info.value.message) < 500


@pytest.mark.parametrize(("fault", "says"), [("reset", "connection was lost"), ("hang", "timed out")])
def test_a_reset_connection_and_a_read_timeout_are_typed_errors(fault: str, says: str) -> None:
    with RawServer(fault) as raw:
        agent = Agent(at(raw, OLD), model_settings=ModelSettings(timeout=0.3))
        with pytest.raises(ModelAPIError, match=says) as info:
            agent.run_sync("go")
    assert info.value.status_code is None and info.value.messages[0].role == "user"


# --- the key stays secret ------------------------------------------------------------------------------------


def test_the_api_key_never_shows(
    first: LoopbackServer, second: LoopbackServer, caplog: pytest.LogCaptureFixture
) -> None:
    raised: list[str] = []
    with caplog.at_level(logging.DEBUG):
        first.add(HTTPError(status=401, message=f"Invalid key {KEY}"))
        first.add(Retired(), as_asked(first, "ok"))
        first.add(BodyError(code=502, message="x"), HTTPError(status=503, message="y"))
        second.add(HTTPError(status=502, message=f"echo {KEY}"))
        for model in (at(first, OLD), at(first, OLD), chain(first, second)):
            assert KEY not in repr(model) and KEY not in model.describe()
            try:
                Agent(model).run_sync("go")
            except ModelAPIError as exc:
                raised.append(str(exc) + repr(exc))
        with RawServer("reset") as raw:
            try:
                Agent(at(raw, OLD)).run_sync("go")
            except ModelAPIError as exc:
                raised.append(str(exc))
    assert len(raised) == 3 and "[API key]" in raised[0]
    assert all(KEY not in text for text in raised)
    assert caplog.records and all(KEY not in r.getMessage() for r in caplog.records)


async def test_a_half_open_model_is_tried_by_one_request_at_a_time() -> None:
    import asyncio

    from agentkit import AssistantMessage, Model, ModelRequestParameters
    from agentkit.messages import Message
    from agentkit.testing import ScriptedModel

    release = asyncio.Event()

    class Slow(Model):
        """Fails twice (opening its breaker), then answers slowly."""

        calls = 0

        @property
        def model_name(self) -> str:
            return "slow"

        async def request(
            self, messages: Sequence[Message], parameters: ModelRequestParameters, settings: ModelSettings
        ) -> AssistantMessage:
            Slow.calls += 1
            if Slow.calls <= 1:
                raise ModelAPIError("down", status_code=503)
            await release.wait()
            return AssistantMessage(content="slow answer", model_name="slow")

    now = [0.0]
    model = FallbackModel(
        Slow(), ScriptedModel(["spare 1", "spare 2", "spare 3"]), failure_threshold=1, clock=lambda: now[0]
    )
    agent = Agent(model)
    assert (await agent.run("go")).output == "spare 1"  # the breaker opens
    now[0] += 31  # half-open
    trial = asyncio.create_task(agent.run("trial"))
    await asyncio.sleep(0.01)  # the trial is in flight on the slow model
    assert (await agent.run("meanwhile")).output == "spare 2"  # not a second trial
    assert Slow.calls == 2
    release.set()
    assert (await trial).output == "slow answer"
    assert model.status()[0].state == "closed"
