"""Every example runs, against the loopback server (the real AsyncOpenAI path), configured by environment."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

from agentkit.testing import Cassette, HTTPError, LoopbackServer, tool_call_response, tool_calls_response

EXAMPLES = Path(__file__).parent.parent / "examples"
OFFLINE = "http://127.0.0.1:9/v1"
"""Nothing listens there: a replayed run is answered by its cassette."""


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[LoopbackServer]:
    with LoopbackServer() as srv:
        monkeypatch.setenv("AGENTKIT_BASE_URL", srv.base_url)
        monkeypatch.setenv("AGENTKIT_MODEL", "google/gemini-2.0-flash-001")
        yield srv


def test_every_example_has_a_test() -> None:
    tested = {"weather_agent", "structured_output", "batch", "demo", "streaming", "delegation", "tools_agent"}
    assert {p.stem for p in EXAMPLES.glob("*.py")} == tested


def test_weather_agent(
    agentkit_cassette: Cassette, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """CI replays the committed cassette (`cassettes/test_examples/test_weather_agent.json`); with
    `--agentkit-record` the loopback server answers again and the cassette is recorded anew."""
    with contextlib.ExitStack() as stack:
        base_url = OFFLINE
        if agentkit_cassette.mode == "record":
            server = stack.enter_context(LoopbackServer())
            server.add(
                tool_calls_response(
                    [
                        ("get_weather", {"city": "Oslo"}),
                        ("get_weather", {"city": "Rome", "units": "fahrenheit"}),
                    ]
                ),
                tool_call_response("get_forecast", {"city": "Atlantis"}),
                "Rome is warmer.",
            )
            base_url = server.base_url
        monkeypatch.setenv("AGENTKIT_BASE_URL", base_url)
        monkeypatch.setenv("AGENTKIT_MODEL", "google/gemini-2.0-flash-001")
        assert load("weather_agent").main(["Oslo or Rome?"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"Model: google/gemini-2.0-flash-001 at {base_url}")
    assert "Rome is warmer." in out and "[3 requests, 3 tool calls" in out
    bodies = [i.body for i in agentkit_cassette.interactions]  # what went out (matched, when replayed)
    assert len(bodies) == 3
    results = [m["content"] for m in bodies[1]["messages"] if m["role"] == "tool"]
    assert results == ["Oslo: 3°C, light snow", "Rome: 62.6°F, sunny"]
    retry = bodies[2]["messages"][-1]["content"]
    assert "No data for 'Atlantis'" in retry


def test_structured_output(server: LoopbackServer, capsys: pytest.CaptureFixture[str]) -> None:
    server.add(
        tool_call_response(
            "final_result", {"city": "Oslo", "country": "Norway", "population": 709000, "is_capital": True}
        )
    )
    assert load("structured_output").main([]) == 0
    printed = capsys.readouterr().out.split("\n", 1)[1]
    assert json.loads(printed) == {
        "city": "Oslo",
        "country": "Norway",
        "population": 709000,
        "is_capital": True,
    }
    assert server.requests[0].body["tool_choice"] == "required"


def test_batch_runs_concurrently_and_reports_errors(
    server: LoopbackServer, capsys: pytest.CaptureFixture[str]
) -> None:
    def respond(body: dict[str, object]) -> object:
        messages = body["messages"]
        assert isinstance(messages, list)
        question = messages[1]["content"]
        if messages[-1]["role"] == "tool":
            return f"{messages[-1]['content']}"
        if "3*3" in question:
            return HTTPError(status=400, message="bad day")
        return tool_call_response("calculator", {"expression": question.split()[-1].rstrip("?")})

    server.add(*[respond] * 3)
    assert load("batch").main(["What is 2+2?", "What is 3*3?"]) == 1  # one input failed
    out, err = capsys.readouterr()
    assert out.splitlines()[0] == "What is 2+2? -> 4"
    assert out.splitlines()[1].startswith("What is 3*3? -> error: ModelAPIError: ")
    assert err == "[2 requests, 36 tokens, $0.000008]\n"
    assert len(server.requests) == 3


@pytest.mark.parametrize("approve", ["yes", "no"])
def test_delegation(server: LoopbackServer, capsys: pytest.CaptureFixture[str], approve: str) -> None:
    example = load("delegation")
    server.add(
        tool_call_response("researcher", {"task": "Quiet hotels in Lisbon"}),  # the planner delegates
        tool_call_response("search_hotels", {"city": "Lisbon", "quiet_only": True}),  # the researcher
        "Casa do Largo, 118 EUR a night.",
        tool_call_response("book_hotel", {"hotel": "Casa do Largo", "check_in": "2026-12-18", "nights": 2}),
        "Booked." if approve == "yes" else "I did not book it.",
    )
    assert example.main(["--approve", approve]) == 0
    out = capsys.readouterr().out.splitlines()
    researcher_saw = server.requests[2].body["messages"]
    assert researcher_saw[-1]["role"] == "tool" and "Jardim Estrela" in researcher_saw[-1]["content"]
    assert server.requests[3].body["messages"][-1]["content"] == "Casa do Largo, 118 EUR a night."
    last = server.requests[4].body["messages"][-1]
    if approve == "yes":
        assert example.BOOKINGS == ["Casa do Largo"] and last["content"].startswith("Booked Casa do Largo")
        assert out[0] == "Booked."
    else:
        assert example.BOOKINGS == [] and last["content"].endswith("no one was there to approve it")
        assert out[0] == "I did not book it."
    calls = 3 if approve == "yes" else 2  # researcher, search_hotels, and the booking once approved
    assert out[1].startswith(f"[5 requests (the researcher's included), {calls} tool calls")


def test_demo(server: LoopbackServer, capsys: pytest.CaptureFixture[str]) -> None:
    server.add(
        tool_calls_response(
            [("calculator", {"expression": "17 * 23 + 4"}), ("current_time", {"timezone": "UTC"})]
        ),
        "17 * 23 + 4 = 395, and today is a weekday.",
    )
    assert load("demo").main([]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"Model: google/gemini-2.0-flash-001 at {server.base_url}"
    assert out[2] == "Answer: 17 * 23 + 4 = 395, and today is a weekday."
    assert out[3] == "Answered by: google/gemini-2.0-flash-001"
    assert server.requests[1].body["messages"][-2]["content"] == "395"


@dataclass(kw_only=True, frozen=True)
class Retired(HTTPError):
    """OpenRouter's 404 for a retired model, naming its successors in `error.availability`."""

    successors: tuple[str, ...] = ()

    def body(self) -> dict[str, object]:
        body = super().body()
        body["error"]["availability"] = {"fallback_models": list(self.successors)}
        return body


def test_demo_continues_on_the_successor_of_a_retired_default_model(
    server: LoopbackServer,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import agentkit.models.openai as adapter

    monkeypatch.setattr(adapter, "_warned_successors", set())
    monkeypatch.setattr(adapter, "_successor_of", {})
    monkeypatch.delenv("AGENTKIT_MODEL")  # the seed's default model, as a user with only a key has it
    retired = Retired(
        status=404,
        code="model_deprecated",
        message="google/gemini-2.0-flash-001 has been deprecated",
        successors=("google/gemini-2.5-flash", "google/gemini-2.5-flash-lite"),
    )

    def successor(answer: object) -> object:
        def respond(body: dict[str, object]) -> dict[str, object]:
            assert body["model"] == "google/gemini-2.5-flash"
            return {**server.completion(answer), "model": body["model"]}  # type: ignore[arg-type]

        return respond

    calls = tool_calls_response(
        [("calculator", {"expression": "17 * 23 + 4"}), ("current_time", {"timezone": "UTC"})]
    )
    # a second run (a new agent) goes straight to the successor the process found, and warns no more
    server.add(retired)
    for _ in range(2):
        server.add(successor(calls), successor("17 * 23 + 4 = 395."))
        with caplog.at_level(logging.WARNING, logger="agentkit"):
            assert load("demo").main([]) == 0
        out = capsys.readouterr().out.splitlines()
        assert out[0] == f"Model: google/gemini-2.0-flash-001 at {server.base_url}"
        assert out[2:4] == ["Answer: 17 * 23 + 4 = 395.", "Answered by: google/gemini-2.5-flash"]
    assert [r.body["model"] for r in server.requests] == ["google/gemini-2.0-flash-001"] + [
        "google/gemini-2.5-flash"
    ] * 4
    (warning,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "google/gemini-2.0-flash-001" in warning.getMessage()
    assert "google/gemini-2.5-flash" in warning.getMessage()


def test_demo_reports_configuration_errors(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AGENTKIT_MODEL", "google/gemini-2.0-flash-001")
    assert load("demo").main(["hi"]) == 2
    assert "OPENROUTER_API_KEY" in capsys.readouterr().err


def test_streaming_prints_text_as_it_arrives_and_each_call(
    server: LoopbackServer, capsys: pytest.CaptureFixture[str]
) -> None:
    server.add(
        tool_calls_response(
            [("calculator", {"expression": "2048 * 0.125"}), ("current_time", {"timezone": "UTC"})]
        ),
        "12.5% of 2,048 is 256; today is a fine day.",
    )
    assert load("streaming").main([]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == '-> calculator({"expression": "2048 * 0.125"})'
    assert out[1] == '-> current_time({"timezone": "UTC"})'
    assert out[2].startswith("<- 256 (") and out[3].startswith("<- ")
    assert out[4] == "12.5% of 2,048 is 256; today is a fine day."
    assert out[5].startswith(
        "[2 requests, 2 tool calls, 22+14 tokens, $0.000008, google/gemini-2.0-flash-001]"
    )
    assert all(r.body["stream"] is True for r in server.requests)


def test_tools_agent(server: LoopbackServer, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    server.add(
        tool_calls_response(
            [
                ("list_files", {}),
                ("query_csv", {"path": "sales.csv", "where": ["region == north"], "columns": ["amount"]}),
            ]
        ),
        tool_call_response("calculator", {"expression": "1200 + 850.50"}),
        tool_call_response("write_file", {"path": "report.md", "content": "North sold 2050.5 in total.\n"}),
        tool_call_response("read_file", {"path": "../secret.txt"}),
        "North sold 2050.5 in total; the answer is in report.md.",
    )
    example = load("tools_agent")
    assert example.main([str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "North sold 2050.5 in total; the answer is in report.md." in out
    assert (tmp_path / "report.md").read_text() == "North sold 2050.5 in total.\n"
    assert "--- report.md ---\nNorth sold 2050.5 in total." in out
    results = [[m["content"] for m in r.body["messages"] if m["role"] == "tool"] for r in server.requests]
    assert results[1] == [
        f"sales.csv ({len(example.SAMPLE)} bytes)",
        "2 of 4 rows match.\namount\n1200\n850.50\n",
    ]
    assert results[2][-1] == "2050.5"
    assert results[3][-1] == f"Wrote {(tmp_path / 'report.md').stat().st_size} bytes to report.md."
    assert "'..' is not allowed" in results[4][-1]
