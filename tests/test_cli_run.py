"""`agentkit run` in-process (`main(argv)`) against the loopback server: flags, output modes, errors."""

from __future__ import annotations

import base64
import io
import json
import re
import sys
from pathlib import Path

import pytest
from cli_support import TOOLS_FILE, tools_module

from agentkit.cli import ExitCode, _images, main
from agentkit.testing import HTTPError, LoopbackServer, tool_call_response, tool_calls_response

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture
def tools_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return tools_module(tmp_path, monkeypatch, TOOLS_FILE, "my_tools")


def test_plain_output_the_answer_on_stdout_the_way_on_stderr(
    server: LoopbackServer, tools_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server.add(
        tool_calls_response([("lookup", {"city": "Oslo"})], text="Looking it up."), "Oslo has 700000 people."
    )
    assert main(["run", "How many people live in Oslo?", "--tools", str(tools_file)]) == 0
    out, err = capsys.readouterr()
    assert out == "Oslo has 700000 people.\n"
    lines = err.splitlines()
    assert re.fullmatch(r"<- lookup: Oslo: 700000 people \(\d+\.\d\d s\)", lines[2])  # its duration
    lines[2] = "<- lookup: Oslo: 700000 people (0.00 s)"
    assert lines == [
        "model: Looking it up.",
        '-> lookup(city="Oslo")',
        "<- lookup: Oslo: 700000 people (0.00 s)",
        "done: 2 requests, 36 tokens (22 in, 14 out), 1 tool call, $0.0000084, google/gemini-2.0-flash-001",
    ]
    assert "\x1b" not in out + err
    assert server.bodies[0]["model"] == "google/gemini-2.0-flash-001"
    assert [t["function"]["name"] for t in server.bodies[0]["tools"]] == ["lookup", "explode"]


def test_json_is_one_object(server: LoopbackServer, capsys: pytest.CaptureFixture[str]) -> None:
    server.add(tool_call_response("calculator", {"expression": "6*7"}), "42")
    assert main(["run", "6*7?", "--tools", "calculator", "--json"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    document = json.loads(out)
    assert set(document) == {"output", "model", "usage", "messages", "error"}
    assert document["output"] == "42"
    assert document["model"] == "google/gemini-2.0-flash-001"
    assert document["error"] is None
    assert document["usage"] == {
        "requests": 2,
        "input_tokens": 22,
        "cached_input_tokens": 0,
        "output_tokens": 14,
        "reasoning_tokens": 0,
        "total_tokens": 36,
        "cost_usd": pytest.approx(0.0000084),
        "tool_calls": 1,
        "repairs": 0,
        "tool_retries": 0,
        "decisions": 0,
    }
    assert [m["role"] for m in document["messages"]] == ["user", "assistant", "tool", "assistant"]
    assert document["messages"][2]["content"] == "42"


def test_model_instructions_and_task_from_stdin(
    server: LoopbackServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    server.add("Hei!")
    monkeypatch.setattr(sys, "stdin", io.StringIO("Say hello in Norwegian.\n"))
    assert main(["run", "-", "--model", "openai/gpt-4o-mini", "--instructions", "Be brief."]) == 0
    assert capsys.readouterr().out == "Hei!\n"
    body = server.bodies[0]
    assert body["model"] == "openai/gpt-4o-mini"
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Say hello in Norwegian.\n"},
    ]


def test_structured_output(
    server: LoopbackServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(sys, "path", list(sys.path))
    (tmp_path / "city_types.py").write_text(
        "from dataclasses import dataclass\n\n@dataclass\nclass City:\n    name: str\n    people: int\n"
    )
    server.add(tool_call_response("final_result", {"name": "Oslo", "people": 700000}))
    spec = f"{tmp_path / 'city_types.py'}:City"
    assert main(["run", "Oslo?", "--output-type", spec]) == 0
    out, _ = capsys.readouterr()
    assert json.loads(out) == {"name": "Oslo", "people": 700000}

    server.add(tool_call_response("final_result", {"name": "Bergen", "people": 290000}))
    assert main(["run", "Bergen?", "--output-type", spec, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["output"] == {"name": "Bergen", "people": 290000}


def test_output_type_that_does_not_load(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "x", "--output-type", "agentkit_tools:nothing"]) == ExitCode.USAGE
    assert "has no attribute 'nothing'" in capsys.readouterr().err
    assert main(["run", "x", "--output-type", "agentkit_tools.calculator:MAX_LENGTH"]) == ExitCode.USAGE
    assert capsys.readouterr().err.startswith("agentkit run: error: output_type 500 has no JSON Schema form")


def test_images_go_as_image_url_parts(
    server: LoopbackServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    picture = tmp_path / "picture.bin"  # the type comes from the bytes, not the name
    picture.write_bytes(PNG)
    server.add("A black square.")
    argv = ["run", "What is this?", "--image", str(picture), "--image", "https://example.com/cat.jpg"]
    assert main(argv) == 0
    content = server.bodies[0]["messages"][0]["content"]
    assert content[0] == {"type": "text", "text": "What is this?"}
    assert content[1]["image_url"]["url"] == "data:image/png;base64," + base64.b64encode(PNG).decode()
    assert content[2]["image_url"]["url"] == "https://example.com/cat.jpg"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"\xff\xd8\xff\xe0rest", "image/jpeg"),
        (b"GIF89a...", "image/gif"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
    ],
)
def test_image_types(tmp_path: Path, data: bytes, expected: str) -> None:
    path = tmp_path / "image"
    path.write_bytes(data)
    assert _images.load_image(str(path)).url.startswith(f"data:{expected};base64,")


def test_bad_images_fail_before_any_request(
    server: LoopbackServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    big = tmp_path / "big.png"
    big.write_bytes(PNG + b"\x00" * 100)
    monkeypatch.setattr(_images, "MAX_IMAGE_BYTES", 64)
    cases = {
        str(tmp_path / "missing.png"): "no such file; check the path",
        str(tmp_path): "is a folder; give a file",
        str(text): "not a PNG, JPEG, GIF or WebP image",
        str(big): "140 bytes is over the limit of 64 bytes",
        "ftp://example.com/a.png": "give a file path, an http(s) URL or a data:image/ URL",
    }
    for source, expected in cases.items():
        assert main(["run", "x", "--image", source]) == ExitCode.USAGE
        err = capsys.readouterr().err
        assert err.startswith(f"agentkit run: error: --image {source[:20]}"), err
        assert expected in err
    assert server.requests == []


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["run", " "], "agentkit run: error: the task is empty"),
        (["run", "x", "--model", "local:nope"], "agentkit run: error: Unknown local model 'local:nope'"),
    ],
)
def test_misuse(argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == ExitCode.USAGE
    assert capsys.readouterr().err.startswith(expected)


@pytest.mark.parametrize(
    "flag", [["--max-turns", "0"], ["--max-turns", "x"], ["--budget-usd", "-1"], ["--budget-usd", "inf"]]
)
def test_bad_flags_exit_2(flag: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["run", "x", *flag])
    assert info.value.code == ExitCode.USAGE
    assert f"argument {flag[0]}: must be" in capsys.readouterr().err


def test_missing_key_is_misuse(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("AGENTKIT_MODEL", "google/gemini-2.0-flash-001")
    assert main(["run", "hello"]) == ExitCode.USAGE
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("agentkit run: error: No API key for OpenRouter: set OPENROUTER_API_KEY")
    assert len(err.splitlines()) == 1


def test_model_api_error(server: LoopbackServer, capsys: pytest.CaptureFixture[str]) -> None:
    server.add(HTTPError(status=400, message="bad request from the test"))
    assert main(["run", "x"]) == ExitCode.MODEL_API
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("agentkit run: ModelAPIError: ")
    assert "bad request from the test" in err
    assert len(err.splitlines()) == 1


def test_unusable_answers_fail_the_run(server: LoopbackServer, capsys: pytest.CaptureFixture[str]) -> None:
    server.add("", "", "")
    assert main(["run", "x"]) == ExitCode.RUN_FAILED
    err = capsys.readouterr().err.splitlines()
    assert err[:2] == ["agentkit: the answer was empty; asking again"] * 2
    assert err[2].startswith("spent: 3 requests, 54 tokens (33 in, 21 out), $0.0000126, ")
    assert err[3].startswith("agentkit run: UnexpectedModelBehavior: ")


def test_budget_and_max_turns_are_usage_limits(
    server: LoopbackServer, capsys: pytest.CaptureFixture[str]
) -> None:
    server.add("too expensive")
    assert main(["run", "x", "--budget-usd", "0.000001"]) == ExitCode.USAGE_LIMIT
    assert "cost_usd_limit of 1e-06 exceeded" in capsys.readouterr().err

    server.add(tool_call_response("calculator", {"expression": "1+1"}))
    assert main(["run", "x", "--tools", "calculator", "--max-turns", "1", "--json"]) == ExitCode.USAGE_LIMIT
    out, err = capsys.readouterr()
    document = json.loads(out)
    assert document["output"] is None
    assert document["error"]["type"] == "UsageLimitExceeded"
    assert document["error"]["exit_code"] == 4
    assert document["usage"]["requests"] == 1
    assert [m["role"] for m in document["messages"]] == ["user", "assistant", "tool"]
    assert err.startswith("agentkit run: UsageLimitExceeded: The run reached max_turns=1")


def test_tool_errors_go_to_the_model_unless_raised(
    server: LoopbackServer, tools_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server.add(tool_call_response("explode", {"reason": "test"}), "It failed.")
    assert main(["run", "x", "--tools", str(tools_file)]) == 0
    assert "<- explode: error: " in capsys.readouterr().err

    server.add(tool_call_response("explode", {"reason": "test"}))
    assert main(["run", "x", "--tools", str(tools_file), "--raise-tool-errors"]) == ExitCode.TOOL_ERROR
    err = capsys.readouterr().err
    assert err.splitlines()[-1] == (
        "agentkit run: ToolExecutionError: Tool 'explode' raised RuntimeError: tool blew up: test"
    )
