"""`agentkit eval` in-process (`main(argv)`) against the loopback server: two models side by side, repeats,
the JSON file, a baseline's regressions, --fail-under, bad files and specs (exit 2), Ctrl-C, the terminal."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from cli_support import TOOLS_FILE, tools_module

from agentkit import AssistantMessage
from agentkit.cli import ExitCode, main
from agentkit.testing import LoopbackServer, tool_call_response

CASES = """\
evaluators:
  - max_requests: 2
cases:
  - name: oslo
    prompt: How many people live in Oslo?
    evaluators:
      - contains: "700000"
      - tool_called: {name: lookup, args: {city: Oslo}}
  - name: greeting
    prompt: Say hello.
    evaluators:
      - regex: {pattern: "^hello", ignore_case: true}
"""


def responder(body: dict[str, Any]) -> AssistantMessage | str:
    """`good/model` looks Oslo up and answers from the tool; `bad/model` guesses; both say hello."""
    last = body["messages"][-1]
    if last["role"] == "tool":
        return f"Oslo: {last['content'].split(': ')[1]}."
    if "hello" in last["content"]:
        return "Hello!"
    if body["model"] == "good/model":
        return tool_call_response("lookup", {"city": "Oslo"})
    return "About a million."


@pytest.fixture
def tools_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return tools_module(tmp_path, monkeypatch, TOOLS_FILE, "my_tools")


@pytest.fixture
def cases(tmp_path: Path) -> Path:
    path = tmp_path / "cases.yaml"
    path.write_text(CASES, encoding="utf-8")
    return path


def test_two_models_side_by_side_repeated_written_as_json(
    server: LoopbackServer, tools_file: Path, cases: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server.add(*[responder] * 12)
    out = tmp_path / "out.json"
    argv = ["eval", str(cases), "--tools", str(tools_file), "--model", "good/model", "--model", "bad/model"]
    assert main([*argv, "--repeat", "2", "--concurrency", "3", "--json", str(out)]) == ExitCode.OK
    stdout, stderr = capsys.readouterr()
    lines = stdout.splitlines()
    assert lines[0].split() == ["good/model", "bad/model"]
    assert lines[1].split() == ["pass", "rate", "100%", "(4/4)", "50%", "(2/4)"]
    assert lines[2].split() == ["pass^2", "100%", "(2/2)", "50%", "(1/2)"]
    assert lines[5].split() == ["requests/run", "1.5", "1.0"]
    assert lines[-2:] == [
        "FAIL oslo #1 [bad/model]: contains: '700000' not in 'About a million.'; tool_called: lookup({\"city\": "
        '"Oslo"}) called 0 time(s), expected at least once (tools called: none)',
        "FAIL oslo #2 [bad/model]: contains: '700000' not in 'About a million.'; tool_called: lookup({\"city\": "
        '"Oslo"}) called 0 time(s), expected at least once (tools called: none)',
    ]
    assert "\x1b" not in stdout + stderr
    assert sorted(body["model"] for body in server.bodies) == ["bad/model"] * 4 + ["good/model"] * 6
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["models"] == ["good/model", "bad/model"] and report["cases"] == ["oslo", "greeting"]
    assert report["repeat"] == 2 and report["interrupted"] is False
    assert [(r["case"], r["model"], r["repeat"], r["passed"]) for r in report["runs"]] == [
        ("oslo", "good/model", 0, True),
        ("oslo", "good/model", 1, True),
        ("greeting", "good/model", 0, True),
        ("greeting", "good/model", 1, True),
        ("oslo", "bad/model", 0, False),
        ("oslo", "bad/model", 1, False),
        ("greeting", "bad/model", 0, True),
        ("greeting", "bad/model", 1, True),
    ]
    first = report["runs"][0]
    assert first["output"] == "Oslo: 700000 people."
    assert first["error"] is None and first["answered_by"] == "google/gemini-2.0-flash-001"
    assert first["usage"]["requests"] == 2 and first["usage"]["tool_calls"] == 1
    assert first["usage"]["total_tokens"] > 0 and first["usage"]["cost_usd"] > 0 and first["seconds"] > 0
    assert first["results"] == [
        {"name": "max_requests", "passed": True, "score": None, "reason": None},
        {"name": "contains", "passed": True, "score": None, "reason": None},
        {"name": "tool_called", "passed": True, "score": None, "reason": None},
    ]
    summary = report["summary"]
    assert summary["good/model"]["pass_rate"] == 1.0 and summary["bad/model"]["pass_rate"] == 0.5
    assert summary["bad/model"]["pass_all_k"] == 0.5 and summary["good/model"]["requests"] == 1.5


def test_a_baseline_regression_and_fail_under_exit_1(
    server: LoopbackServer, tools_file: Path, cases: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server.add(*[responder] * 20)
    base, now = tmp_path / "base.json", tmp_path / "now.json"
    run = ["eval", str(cases), "--tools", str(tools_file)]
    assert main([*run, "--model", "good/model", "--json", str(base)]) == ExitCode.OK
    assert main([*run, "--model", "good/model", "--baseline", str(base)]) == ExitCode.OK
    assert capsys.readouterr().out.splitlines()[-2:] == [
        "pass rate [good/model]: 100% -> 100%",
        "0 regression(s), 0 fixed",
    ]
    code = main([*run, "--model", "bad/model", "--baseline", str(base), "--json", str(now)])
    assert code == ExitCode.RUN_FAILED
    stdout, stderr = capsys.readouterr()
    assert "REGRESSION: oslo [bad/model] 1/1 -> 0/1" in stdout.splitlines()
    assert "pass rate [bad/model]: 100% -> 50%" in stdout.splitlines()
    assert stderr == "eval: 1 case(s) passed in the baseline and fail now\n"
    comparison = json.loads(now.read_text(encoding="utf-8"))["comparison"]
    assert comparison["regressions"] == 1 and comparison["changes"][0]["change"] == "broke"
    assert main([*run, "--model", "bad/model", "--fail-under", "60%"]) == ExitCode.RUN_FAILED
    assert capsys.readouterr().err == "eval: pass rate of bad/model is 50%, under --fail-under 60%\n"
    assert main([*run, "--model", "bad/model", "--fail-under", "0.5"]) == ExitCode.OK


def test_an_agent_object_from_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "my_agent.py").write_text(
        "from agentkit import Agent\nfrom agentkit.testing import FunctionModel\n\n"
        "agent = Agent(FunctionModel(lambda messages, info: 'Hello there', model_name='fn'))\n"
        "not_an_agent = 3\n",
        encoding="utf-8",
    )
    cases = tmp_path / "cases.json"
    cases.write_text(
        json.dumps({"cases": [{"name": "hi", "prompt": "hi", "evaluators": [{"equals": "Hello there"}]}]})
    )
    assert main(["eval", str(cases), "--agent", f"{tmp_path / 'my_agent.py'}:agent"]) == ExitCode.OK
    assert capsys.readouterr().out.splitlines()[:2] == ["              fn", "pass rate     100% (1/1)"]
    assert main(["eval", str(cases), "--agent", f"{tmp_path / 'my_agent.py'}:not_an_agent"]) == ExitCode.USAGE
    assert capsys.readouterr().err.endswith(":not_an_agent: not an Agent (type: int)\n")
    assert main(["eval", str(cases), "--agent", f"{tmp_path / 'my_agent.py'}:agent", "--tools", "x"]) == 2
    assert capsys.readouterr().err == (
        "agentkit eval: error: give --agent, or --tools/--instructions/--max-turns to build one, not both\n"
    )


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("cases:\n  - name: a\n    prompt: x\n    evaluators:\n      - max_requests: lots\n", "cases.yaml, line 5: "
         "cases[0].evaluators[0].max_requests: the limit must be a whole number, not 'lots'"),
        ("cases:\n  - name: a\n  prompt: x\n", "cases.yaml, line 3: not valid YAML: expected <block end>, but found '?'"),
    ],
)  # fmt: skip
def test_a_bad_case_file_exits_2_naming_the_line(
    tmp_path: Path, text: str, error: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "cases.yaml"
    path.write_text(text, encoding="utf-8")
    assert main(["eval", str(path)]) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert err == f"agentkit eval: error: {tmp_path / error}\n"


def test_a_report_file_that_cannot_be_written_still_shows_the_results(
    server: LoopbackServer, tools_file: Path, cases: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.json"

    def taken_meanwhile(body: dict[str, Any]) -> AssistantMessage | str:
        out.mkdir(exist_ok=True)  # the file's place is taken while the runs go on: writing it fails late
        return responder(body)

    server.add(*[taken_meanwhile] * 6)
    argv = ["eval", str(cases), "--tools", str(tools_file), "--model", "good/model", "--json", str(out)]
    assert main(argv) == ExitCode.USAGE
    stdout, stderr = capsys.readouterr()
    assert stdout.splitlines()[0].split() == ["good/model"]  # the results were shown all the same
    assert f"--json {out}: cannot be written" in stderr


def test_a_bad_baseline_a_bad_rate_and_a_missing_key(
    cases: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["eval", str(cases), "--json", str(tmp_path / "no" / "out.json")]) == ExitCode.USAGE
    assert (
        f"--json {tmp_path / 'no' / 'out.json'}: no such folder: {tmp_path / 'no'}" in capsys.readouterr().err
    )
    (tmp_path / "reports").mkdir()  # found before the runs, not when their report cannot be written
    assert main(["eval", str(cases), "--json", str(tmp_path / "reports")]) == ExitCode.USAGE
    assert f"--json {tmp_path / 'reports'}: a folder; give a file name" in capsys.readouterr().err
    assert main(["eval", str(cases), "--baseline", str(tmp_path / "none.json")]) == ExitCode.USAGE
    assert "none.json: cannot be read (FileNotFoundError" in capsys.readouterr().err
    (tmp_path / "bad.json").write_text("[1]", encoding="utf-8")
    assert main(["eval", str(cases), "--baseline", str(tmp_path / "bad.json")]) == ExitCode.USAGE
    assert "bad.json: not an evaluation report" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["eval", str(cases), "--fail-under", "150%"])
    assert "must be a rate from 0 to 1 (or 0% to 100%), not '150%'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["eval", str(cases), "--fail-under", "most"])
    assert "not 'most'" in capsys.readouterr().err
    for name in ("AGENTKIT_API_KEY", "OPENROUTER_API_KEY", "AGENTKIT_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    assert main(["eval", str(cases), "--model", "vendor/model"]) == ExitCode.USAGE
    assert "OPENROUTER_API_KEY" in capsys.readouterr().err


def test_a_model_that_fails_to_resolve_during_the_eval_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "fn_agent.py").write_text(
        "from agentkit import Agent\nfrom agentkit.testing import FunctionModel\n\n"
        "agent = Agent(FunctionModel(lambda messages, info: 'hi'))\n",
        encoding="utf-8",
    )
    cases = tmp_path / "cases.json"
    cases.write_text('{"cases": [{"name": "a", "prompt": "x"}]}', encoding="utf-8")
    for name in ("AGENTKIT_API_KEY", "OPENROUTER_API_KEY", "AGENTKIT_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    argv = ["eval", str(cases), "--agent", f"{tmp_path / 'fn_agent.py'}:agent", "--model", "vendor/model"]
    assert main(argv) == ExitCode.USAGE
    assert "OPENROUTER_API_KEY" in capsys.readouterr().err


def test_ctrl_c_stops_and_still_writes_what_finished(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "stop_agent.py").write_text(
        "from agentkit import Agent\nfrom agentkit.testing import FunctionModel, last_user_text\n\n"
        "def answer(messages, info):\n"
        "    if last_user_text(messages) == 'stop':\n"
        "        raise KeyboardInterrupt\n"
        "    return 'ok'\n\n"
        "agent = Agent(FunctionModel(answer, model_name='fn'))\n",
        encoding="utf-8",
    )
    cases = tmp_path / "cases.json"
    names = ["first", "stop", "never"]
    cases.write_text(json.dumps({"cases": [{"name": n, "prompt": n} for n in names]}), encoding="utf-8")
    out = tmp_path / "out.json"
    argv = ["eval", str(cases), "--agent", f"{tmp_path / 'stop_agent.py'}:agent", "--concurrency", "1"]
    assert main([*argv, "--json", str(out), "--fail-under", "1"]) == ExitCode.INTERRUPTED
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["interrupted"] is True and [r["case"] for r in report["runs"]] == ["first"]
    assert "interrupted: 1 runs finished" in capsys.readouterr().out.splitlines()


def test_in_a_terminal_a_rich_table_and_a_progress_bar(
    server: LoopbackServer,
    tools_file: Path,
    cases: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server.add(*[responder] * 12)
    base = tmp_path / "base.json"
    base.write_text(
        json.dumps(
            {"models": ["m"], "cases": ["oslo"], "runs": [{"case": "oslo", "model": "m", "results": []}]}
        ),
        encoding="utf-8",
    )
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    argv = ["eval", str(cases), "--tools", str(tools_file), "--model", "bad/model", "--baseline", str(base)]
    assert main(argv) == ExitCode.RUN_FAILED
    stdout, stderr = capsys.readouterr()
    assert "┃" in stdout and "bad/model" in stdout and "pass rate" in stdout
    assert "REGRESSION: oslo [bad/model] 1/1 -> 0/1" in stdout
    assert "FAIL oslo [bad/model]: contains" in stdout
    assert "2/2" in stderr  # the progress bar, finished


def test_help_lists_the_command_and_its_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["eval", "--help"])
    out = capsys.readouterr().out
    assert "--baseline OLD.json" in out and "130  interrupted (Ctrl-C)" in out


def test_plain_progress_is_a_line_now_and_then(capsys: pytest.CaptureFixture[str]) -> None:
    from agentkit.cli._eval import _PlainProgress
    from agentkit.cli._progress import BatchCounts

    counts = BatchCounts(tasks=4, skipped=0, done=2, failed=1)
    _PlainProgress(interval=0).update(counts)
    _PlainProgress(interval=60).update(counts)
    assert capsys.readouterr().err == "eval: 3/4 runs, 2 passed, 1 failed\n"


def test_sigint_in_a_subprocess_writes_the_finished_runs_and_exits_130(tmp_path: Path) -> None:
    import signal
    import subprocess
    import time

    from cli_support import cli_env, slow_answer

    cases = tmp_path / "cases.json"
    cases.write_text(json.dumps({"cases": [{"name": f"c{i}", "prompt": f"q{i}"} for i in range(20)]}))
    out = tmp_path / "out.json"
    with LoopbackServer([slow_answer] * 20) as server:
        process = subprocess.Popen(
            [sys.executable, "-m", "agentkit", "eval", str(cases), "--concurrency", "1", "--json", str(out)],
            env=cli_env(server.base_url),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 30
        while len(server.requests) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == ExitCode.INTERRUPTED, stderr
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["interrupted"] is True
    finished = [r["case"] for r in report["runs"]]
    assert 2 <= len(finished) < 20 and finished == [f"c{i}" for i in range(len(finished))]
    assert all(r["output"] == f"answer to q{i}" for i, r in enumerate(report["runs"]))
    assert f"interrupted: {len(finished)} runs finished" in stdout


def test_judge_model_is_the_model_of_judges_that_name_none(
    server: LoopbackServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def answer(body: dict[str, Any]) -> Any:
        if "You grade" in body["messages"][0]["content"]:
            return tool_call_response("final_result", {"passed": True, "score": 0.8, "reason": "Fine."})
        return "Hello!"

    server.add(*[answer] * 3)
    cases = tmp_path / "cases.yaml"
    cases.write_text(
        "evaluators: [llm_judge: Friendly.]\ncases:\n  - name: hi\n    prompt: Say hello.\n    evaluators:\n"
        "      - llm_judge: {rubric: Short., model: named/judge}\n",
        encoding="utf-8",
    )
    out = tmp_path / "out.json"
    assert main(["eval", str(cases), "--judge-model", "cli/judge", "--json", str(out)]) == ExitCode.OK
    assert [body["model"] for body in server.bodies] == [
        "google/gemini-2.0-flash-001",
        "cli/judge",
        "named/judge",
    ]
    (run,) = json.loads(out.read_text(encoding="utf-8"))["runs"]
    assert [(r["name"], r["passed"], r["score"]) for r in run["results"]] == [
        ("llm_judge", True, 0.8),
        ("llm_judge", True, 0.8),
    ]
    assert run["judge_cost_usd"] > 0
