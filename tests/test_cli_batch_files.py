"""`agentkit batch`'s files: what may be the results file, its lock, and where task lines end."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from cli_support import answer, cli_env, run_cli, write_tasks

from agentkit.cli import ExitCode
from agentkit.cli._batch_files import ResultsFile, read_tasks
from agentkit.cli._exit import CliError
from agentkit.testing import LoopbackServer


def _lines(path: Path) -> list[dict[str, object]]:
    """The results file's records, split on newlines only (as JSON lines are)."""
    return [json.loads(line) for line in path.read_bytes().split(b"\n") if line]


def test_a_pipe_as_the_results_file_is_refused_not_read_forever(tmp_path: Path) -> None:
    tasks = tmp_path / "t.jsonl"
    write_tasks(tasks, 2)
    # `agentkit batch t.jsonl --out /dev/stdout | cat`: stdout is a pipe, which reading back would wait on
    done = subprocess.run(
        [sys.executable, "-m", "agentkit", "batch", str(tasks), "--out", "/dev/stdout"],
        env=cli_env("http://127.0.0.1:9/v1"),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == ExitCode.USAGE, done.stderr
    assert done.stderr == (
        "agentkit batch: error: --out /dev/stdout: not a regular file (a pipe); the results file must be "
        "a file, read back to resume and appended to\n"
    )
    assert done.stdout == ""


def test_the_tasks_file_as_the_results_file_is_refused(tmp_path: Path) -> None:
    tasks = tmp_path / "tasks.jsonl"
    write_tasks(tasks, 3)
    before = tasks.read_bytes()
    (tmp_path / "same.jsonl").symlink_to(tasks)
    for out in (tasks, tmp_path / "same.jsonl"):
        done = run_cli("batch", str(tasks), "--out", str(out), env=cli_env("http://127.0.0.1:9/v1"))
        assert done.returncode == ExitCode.USAGE, done.stderr
        assert done.stderr == (
            f"agentkit batch: error: --out {out}: that is the tasks file; give another file for the results\n"
        )
    assert tasks.read_bytes() == before


def test_a_second_batch_on_the_same_results_file_is_refused(tmp_path: Path) -> None:
    tasks, out = tmp_path / "tasks.jsonl", tmp_path / "out.jsonl"
    write_tasks(tasks, 3)
    first = ResultsFile(out)  # what a running batch holds
    try:
        with LoopbackServer([answer] * 3) as server:
            done = run_cli("batch", str(tasks), "--out", str(out), env=cli_env(server.base_url))
        assert done.returncode == ExitCode.USAGE, done.stderr
        assert done.stderr == (
            f"agentkit batch: error: --out {out}: another batch is writing to it (the file is locked); "
            "wait for it to end, or give another results file\n"
        )
        assert server.requests == [] and out.read_bytes() == b""
    finally:
        first.close()
    with LoopbackServer([answer] * 3) as server:
        done = run_cli("batch", str(tasks), "--out", str(out), env=cli_env(server.base_url))
    assert done.returncode == ExitCode.OK, done.stderr  # the lock ends with the batch that held it
    assert sorted(str(r["id"]) for r in _lines(out)) == ["t0", "t1", "t2"]


def test_a_batch_started_while_another_runs_answers_nothing(tmp_path: Path) -> None:
    tasks, out = tmp_path / "tasks.jsonl", tmp_path / "out.jsonl"
    write_tasks(tasks, 4)
    go = threading.Event()

    def held(body: dict[str, Any]) -> str:
        go.wait(60)  # the first batch stays in its second task until the second batch has ended
        return answer(body)

    with LoopbackServer([answer] + [held] * 3) as server:
        args = [
            sys.executable,
            "-m",
            "agentkit",
            "batch",
            str(tasks),
            "--out",
            str(out),
            "--concurrency",
            "1",
        ]
        env = cli_env(server.base_url)
        first = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while not (out.exists() and out.read_bytes().endswith(b"\n")) and time.monotonic() < deadline:
            time.sleep(0.02)
        second = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60, check=False)
        go.set()
        _, first_err = first.communicate(timeout=60)
    assert second.returncode == ExitCode.USAGE, second.stderr
    assert "another batch is writing to it (the file is locked)" in second.stderr
    assert first.returncode == ExitCode.OK, first_err
    assert [r["id"] for r in _lines(out)] == ["t0", "t1", "t2", "t3"]  # each once
    assert len(server.requests) == 4


def test_the_results_file_is_checked_on_the_open_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "folder").mkdir()
    with pytest.raises(CliError, match="cannot write to it"):
        ResultsFile(tmp_path / "folder")
    with pytest.raises(CliError, match=r"not a regular file \(a character device\)"):
        ResultsFile(Path("/dev/null"))
    results = ResultsFile(tmp_path / "r.jsonl")
    with pytest.raises(CliError, match="another batch is writing to it"):
        ResultsFile(tmp_path / "r.jsonl")  # the lock is the open file's: this process is refused too
    with pytest.raises(CliError, match="that is the tasks file"):
        ResultsFile(tmp_path / "t.jsonl", tasks=(tmp_path / "t.jsonl"))
    results.close()
    results.close()  # closing twice is harmless
    import errno
    import fcntl

    def no_locks(fd: int, operation: int) -> None:
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_locks)
    with pytest.raises(CliError, match=r"r.jsonl: cannot lock it \(No locks available\)"):
        ResultsFile(tmp_path / "r.jsonl")


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85", "\f", "\v", "\x1c", "\r"])
def test_only_newlines_end_a_task(tmp_path: Path, separator: str) -> None:
    prompt = f"first half{separator}second half"
    text = tmp_path / "t.txt"
    text.write_text(f"{prompt}\nnext\r\n", encoding="utf-8")
    assert [(t.id, t.prompt) for t in read_tasks(text)] == [(1, prompt), (2, "next")]
    jsonl = tmp_path / "t.jsonl"
    raw = json.dumps({"id": "a", "prompt": prompt}, ensure_ascii=False)
    jsonl.write_text(f"{raw}\r\n{json.dumps({'id': 'b', 'prompt': 'next'})}\n", encoding="utf-8")
    assert [(t.id, t.prompt) for t in read_tasks(jsonl)] == [("a", prompt), ("b", "next")]


def test_a_raw_line_separator_goes_through_a_batch_and_its_resume(tmp_path: Path) -> None:
    tasks, out = tmp_path / "tasks.jsonl", tmp_path / "out.jsonl"
    tasks.write_text('{"id": "x", "prompt": "a\u2028b"}\n', encoding="utf-8")
    with LoopbackServer([answer]) as server:
        args = ["batch", str(tasks), "--out", str(out)]
        done = run_cli(*args, env=cli_env(server.base_url))
        again = run_cli(*args, env=cli_env(server.base_url))
    assert done.returncode == ExitCode.OK and again.returncode == ExitCode.OK, done.stderr + again.stderr
    assert server.bodies[0]["messages"][-1]["content"] == "a\u2028b"
    assert [r["output"] for r in _lines(out)] == ["answer to a\u2028b"]
    assert "all 1 tasks were answered before" in again.stderr
