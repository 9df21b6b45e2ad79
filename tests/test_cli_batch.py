"""`agentkit batch`: subprocesses against the loopback server (inputs, resume after SIGKILL and Ctrl-C, a
line cut short, the budget, exit codes, plain output when piped, a progress bar in a terminal), and the
parts in-process."""

from __future__ import annotations

import io
import json
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from cli_support import Terminal, answer, cli_env, records, run_cli, slow_answer, write_tasks

from agentkit.cli import ExitCode, main
from agentkit.cli._batch_files import Task, answered_ids, read_tasks
from agentkit.cli._exit import CliError
from agentkit.cli._progress import BatchCounts, PlainProgress, status_line, summary_lines
from agentkit.testing import HTTPError, LoopbackServer
from agentkit.usage import Usage

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def test_jsonl_tasks_give_one_line_each_and_a_rerun_does_nothing(tmp_path: Path) -> None:
    tasks, out = tmp_path / "tasks.jsonl", tmp_path / "out.jsonl"
    write_tasks(tasks, 5)
    with LoopbackServer([answer] * 5) as server:
        args = ["batch", str(tasks), "--out", str(out), "--concurrency", "3", "--json-summary"]
        done = run_cli(*args, env=cli_env(server.base_url))
        assert done.returncode == ExitCode.OK, done.stderr
        again = run_cli(*args, env=cli_env(server.base_url))
    assert again.returncode == ExitCode.OK
    assert len(server.requests) == 5
    lines = records(out)
    assert sorted(r["id"] for r in lines) == [f"t{i}" for i in range(5)]
    first = next(r for r in lines if r["id"] == "t0")
    assert first["output"] == "answer to question 0"
    assert first["error"] is None
    assert first["model"] == "google/gemini-2.0-flash-001"
    assert first["usage"]["total_tokens"] == 18
    assert first["cost_usd"] == pytest.approx(0.0000042)
    summary = json.loads(done.stdout)
    assert summary["answered"] == 5 and summary["failed"] == 0 and summary["exit_code"] == 0
    assert json.loads(again.stdout)["answered_before"] == 5
    assert "batch: all 5 tasks were answered before; nothing to do" in again.stderr
    assert "\x1b" not in done.stdout + done.stderr + again.stderr  # piped: no escape codes


def test_text_tasks_are_one_prompt_per_line_their_id_the_line_number(tmp_path: Path) -> None:
    tasks, out = tmp_path / "tasks.txt", tmp_path / "out.jsonl"
    tasks.write_text("What is 1+1?\n\nWhat is 2+2?\n", encoding="utf-8")
    with LoopbackServer([answer] * 2) as server:
        done = run_cli("batch", str(tasks), "--out", str(out), env=cli_env(server.base_url))
    assert done.returncode == ExitCode.OK, done.stderr
    assert done.stdout == ""
    assert {r["id"]: r["output"] for r in records(out)} == {
        1: "answer to What is 1+1?",
        3: "answer to What is 2+2?",
    }
    assert done.stderr.startswith(
        "batch: 2 answered, 0 failed, 0 not started of 2 to do; 2 requests, 36 tokens"
    )


def test_resume_after_sigkill_loses_no_task_and_answers_none_twice(tmp_path: Path) -> None:
    tasks, out = tmp_path / "tasks.jsonl", tmp_path / "out.jsonl"
    write_tasks(tasks, 30)
    with LoopbackServer([slow_answer] * 60) as server:
        args = ["batch", str(tasks), "--out", str(out), "--concurrency", "4"]
        process = subprocess.Popen(
            [sys.executable, "-m", "agentkit", *args],
            env=cli_env(server.base_url),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while (not out.exists() or len(out.read_bytes().splitlines()) < 6) and time.monotonic() < deadline:
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        before = len([r for r in records(out) if r["error"] is None])
        assert 6 <= before < 30  # killed mid-batch
        done = run_cli(*args, env=cli_env(server.base_url))
    assert done.returncode == ExitCode.OK, done.stderr
    answered = Counter(r["id"] for r in records(out) if r["error"] is None)
    assert set(answered) == {f"t{i}" for i in range(30)}  # none lost
    assert set(answered.values()) == {1}  # none answered twice
    assert f"({before} answered before)" in done.stderr


def test_a_line_cut_short_by_a_crash_is_ignored_and_its_task_redone(tmp_path: Path) -> None:
    tasks, out = tmp_path / "tasks.jsonl", tmp_path / "out.jsonl"
    write_tasks(tasks, 2)
    whole = json.dumps({"id": "t0", "output": "old", "error": None})
    out.write_text(whole + '\n{"id": "t1", "output": "answer to qu', encoding="utf-8")
    with LoopbackServer([answer]) as server:
        done = run_cli("batch", str(tasks), "--out", str(out), env=cli_env(server.base_url))
    assert done.returncode == ExitCode.OK, done.stderr
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0] == whole
    assert lines[1] == '{"id": "t1", "output": "answer to qu'  # left as it was, ended
    assert json.loads(lines[2])["output"] == "answer to question 1"
    assert len(lines) == 3
    assert answered_ids(out.read_bytes().split(b"\n")) == {"t0", "t1"}


def test_failed_tasks_exit_1_and_are_retried(tmp_path: Path) -> None:
    tasks, out = tmp_path / "tasks.jsonl", tmp_path / "out.jsonl"
    write_tasks(tasks, 3)

    def fail_t1(body: dict[str, Any]) -> Any:
        if body["messages"][-1]["content"] == "question 1":
            return HTTPError(status=400, message="bad request")
        return answer(body)

    with LoopbackServer([fail_t1] * 3) as server:
        args = ["batch", str(tasks), "--out", str(out), "--concurrency", "1"]
        failed = run_cli(*args, env=cli_env(server.base_url))
        server.add(answer)
        retried = run_cli(*args, env=cli_env(server.base_url))
    assert failed.returncode == ExitCode.RUN_FAILED
    assert "batch: 2 answered, 1 failed" in failed.stderr
    assert "run the same command again" in failed.stderr
    assert retried.returncode == ExitCode.OK, retried.stderr
    lines = records(out)
    error = next(r["error"] for r in lines if r["id"] == "t1" and r["error"])
    assert error["type"] == "ModelAPIError" and "bad request" in error["message"]
    assert [r["id"] for r in lines] == ["t0", "t1", "t2", "t1"]
    assert lines[-1]["output"] == "answer to question 1"


def test_the_budget_stops_starting_tasks_and_exits_4(tmp_path: Path) -> None:
    tasks, out = tmp_path / "tasks.jsonl", tmp_path / "out.jsonl"
    write_tasks(tasks, 6)
    with LoopbackServer([answer] * 6) as server:  # each request costs $0.0000042
        args = ["batch", str(tasks), "--out", str(out), "--concurrency", "1", "--budget-usd", "0.00001"]
        done = run_cli(*args, env=cli_env(server.base_url))
    assert done.returncode == ExitCode.USAGE_LIMIT, done.stderr
    assert len(records(out)) == 3
    assert "batch: the budget of $0.00001 is spent ($0.0000126): no more tasks were started" in done.stderr
    assert "3 not started" in done.stderr


def test_ctrl_c_cancels_running_tasks_exits_130_and_a_rerun_finishes(tmp_path: Path) -> None:
    tasks, out = tmp_path / "tasks.jsonl", tmp_path / "out.jsonl"
    write_tasks(tasks, 20)
    with LoopbackServer([slow_answer] * 40) as server:
        args = ["batch", str(tasks), "--out", str(out), "--concurrency", "2"]
        process = subprocess.Popen(
            [sys.executable, "-m", "agentkit", *args],
            env=cli_env(server.base_url),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 60
        while (not out.exists() or len(out.read_bytes().splitlines()) < 2) and time.monotonic() < deadline:
            time.sleep(0.02)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
        assert process.returncode == ExitCode.INTERRUPTED, err
        assert "batch: interrupted: running tasks were cancelled and not written" in err
        assert out.read_text(encoding="utf-8").endswith("\n")
        done = run_cli(*args, env=cli_env(server.base_url))
    assert done.returncode == ExitCode.OK, done.stderr
    answered = Counter(r["id"] for r in records(out))
    assert set(answered) == {f"t{i}" for i in range(20)} and set(answered.values()) == {1}


def test_a_progress_bar_in_a_terminal(tmp_path: Path) -> None:
    tasks, out = tmp_path / "tasks.txt", tmp_path / "out.jsonl"
    tasks.write_text("a\nb\nc\n", encoding="utf-8")
    with LoopbackServer([answer] * 3) as server:
        terminal = Terminal("batch", str(tasks), "--out", str(out), env=cli_env(server.base_url))
        assert terminal.finish() == ExitCode.OK
    assert "\x1b[" in terminal.screen
    assert "3/3" in terminal.screen
    assert "0 failed, 0 running, 54 tokens, $0.0000126" in terminal.screen
    assert "batch: 3 answered" in terminal.screen


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("t.jsonl", '{"id": 1, "prompt": "a"}\n{"id": 2, "prompt": "b"\n', "t.jsonl, line 2: not JSON"),
        ("t.jsonl", '["a"]\n', "t.jsonl, line 1: give a JSON object"),
        ("t.jsonl", '{"id": 1}\n', 't.jsonl, line 1: "prompt" is missing'),
        ("t.jsonl", '{"id": [1], "prompt": "a"}\n', 't.jsonl, line 1: "id" must be a string'),
        ("t.jsonl", '{"prompt": "a", "images": "x.png"}\n', '"images" must be a list'),
        ("t.jsonl", '{"prompt": "a", "images": ["x.png"]}\n', "image 'x.png': no such file"),
        ("t.jsonl", '{"id": "a", "prompt": "a"}\n{"id": "a", "prompt": "b"}\n', 'line 2: id "a" was already'),
        (
            "t.jsonl",
            "{}\n{}\n[]\n",
            'line 1: "prompt" is missing or not a non-empty string; 2 more bad lines',
        ),
        ("t.txt", "\n\n", "t.txt: no tasks in it"),
        ("missing.txt", None, "missing.txt: cannot read the tasks (No such file or directory)"),
    ],
)
def test_bad_tasks_stop_the_command_before_anything_runs(
    name: str, content: str | None, expected: str, tmp_path: Path
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(CliError) as info:
        read_tasks(path)
    assert expected in info.value.message


def test_misuse_exits_2_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tasks, out = tmp_path / "t.jsonl", tmp_path / "out.jsonl"
    tasks.write_text('{"prompt": "a"}\nnot json\n', encoding="utf-8")
    assert main(["batch", str(tasks), "--out", str(out)]) == ExitCode.USAGE
    assert capsys.readouterr().err.startswith(f"agentkit batch: error: {tasks}, line 2: not JSON")
    assert not out.exists()


def test_tasks_carry_images_and_ids_default_to_line_numbers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pic.png").write_bytes(PNG)
    (tmp_path / "not.png").write_bytes(b"text")
    tasks, out = tmp_path / "t.jsonl", tmp_path / "out.jsonl"
    tasks.write_text(
        '{"prompt": "What is it?", "images": ["pic.png", "https://example.com/a.jpg"], "extra": 1}\n'
        '{"id": 7, "prompt": "And this?", "images": ["not.png"]}\n',
        encoding="utf-8",
    )
    assert [t.id for t in read_tasks(tasks)] == [1, 7]
    with LoopbackServer(["A picture."]) as server:
        monkeypatch.setenv("AGENTKIT_BASE_URL", server.base_url)
        monkeypatch.setenv("AGENTKIT_API_KEY", "test-key")
        code = main(["batch", str(tasks), "--out", str(out), "--concurrency", "1"])
    assert code == ExitCode.RUN_FAILED
    parts = server.bodies[0]["messages"][-1]["content"]
    assert [p["type"] for p in parts] == ["text", "image_url", "image_url"]
    assert parts[1]["image_url"]["url"].startswith("data:image/png;base64,")
    assert parts[2]["image_url"]["url"] == "https://example.com/a.jpg"
    first, second = records(out)
    assert first["output"] == "A picture."
    assert (
        second["error"]["type"] == "CliError" and "not a PNG, JPEG, GIF or WebP" in second["error"]["message"]
    )
    assert second["usage"]["requests"] == 0


def test_the_ray_engine_without_ray_is_a_one_line_misuse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    tasks, out = tmp_path / "t.txt", tmp_path / "out.jsonl"
    tasks.write_text("a\n", encoding="utf-8")
    monkeypatch.setenv("AGENTKIT_API_KEY", "test-key")
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError, as when not installed
    assert main(["batch", str(tasks), "--out", str(out), "--engine", "ray"]) == ExitCode.USAGE
    assert capsys.readouterr().err == (
        "agentkit batch: error: --engine ray needs Ray, which is not installed: pip install 'agentkit[ray]'\n"
    )
    assert main(["batch", str(tasks), "--out", str(out), "--ray-address", "10.0.0.1:6379"]) == ExitCode.USAGE
    assert "--ray-address goes with --engine ray" in capsys.readouterr().err
    assert not out.exists()


def test_agent_specs_travel_as_absolute_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from agentkit.cli._options import AgentSpec

    (tmp_path / "mytools.py").write_text("", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    args = ["batch", "t.txt", "--out", "o.jsonl", "--tools", "mytools.py:a,b", "mytools", "calculator"]
    spec = AgentSpec.from_args(_parse(args))
    assert spec.tools == (f"{tmp_path}/mytools.py:a,b", "mytools", "calculator")
    assert spec.import_path == (str(tmp_path),) and spec.max_turns == 20


def _parse(argv: list[str]) -> Any:
    from agentkit.cli._main import _parser

    return _parser().parse_args(argv)


def test_results_that_cannot_be_read_or_written(tmp_path: Path) -> None:
    lines = [
        "",
        "[1, 2]",
        json.dumps({"output": "no id"}),
        json.dumps({"id": 3, "error": {"type": "X"}}),
        json.dumps({"id": 4, "error": None}),
    ]
    results = tmp_path / "r.jsonl"
    results.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert answered_ids(results.read_bytes().split(b"\n")) == {"4"}
    tasks = tmp_path / "t.txt"
    tasks.write_text("a\n", encoding="utf-8")
    with pytest.raises(SystemExit):
        main(["batch", str(tasks), "--out", str(results), "--concurrency", "0"])
    from agentkit.cli._batch_files import ResultsFile

    with pytest.raises(CliError, match="cannot write to it"):
        ResultsFile(tmp_path / "no" / "such" / "folder.jsonl")


def test_plain_progress_prints_a_line_every_interval() -> None:
    now = [100.0]
    err = io.StringIO()
    progress = PlainProgress(err=err, interval=10.0, clock=lambda: now[0])
    counts = BatchCounts(tasks=10, skipped=2, started=100.0)
    progress.update(counts)
    assert err.getvalue() == ""
    counts.done, counts.failed, counts.running = 3, 1, 2
    counts.usage = Usage(requests=4, input_tokens=1000, output_tokens=234, cost_usd=0.0012)
    now[0] = 110.0
    progress.update(counts)
    progress.close(counts)
    assert err.getvalue() == (
        "batch: 4/8 done, 1 failed, 2 running, 1,234 tokens, $0.0012, 0.4 tasks/s, 10.0s left\n"
    )


def test_status_and_summary_wording() -> None:
    counts = BatchCounts(tasks=5000, skipped=0, started=0.0)
    assert status_line(counts, 0.0).endswith("0.0 tasks/s, ? left")
    counts.done = 100
    assert status_line(counts, 50.0).endswith("2.0 tasks/s, 40m50s left")
    assert status_line(counts, 1.0).endswith("100.0 tasks/s, 49.0s left")
    counts.done = 1
    assert status_line(counts, 1.0).endswith("1.0 tasks/s, 1h23m left")
    counts.stopped = "budget"
    lines = summary_lines(counts, "out.jsonl", 0.5)
    assert lines[1] == "batch: the budget of $0.5 is spent ($0): no more tasks were started"
    assert lines[2] == "batch: run the same command again to do the failed and the not-started tasks"
    assert Task(id=3, prompt="x").key == "3"
