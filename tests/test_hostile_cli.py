"""The command line after a bad reply or a failed task: `agentkit batch` writes that task's error line and goes
on (any exception, not only `AgentRunError`), `agentkit run --json` prints one JSON object in every case, and
a lone surrogate in a reply is written as U+FFFD (JSON, results lines) or `?` (plain text)."""

from __future__ import annotations

import asyncio
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cli_support import cli_env, records, run_cli, write_tasks

from agentkit import Agent, AssistantMessage, ToolCall
from agentkit.cli import ExitCode
from agentkit.cli._approve import approver
from agentkit.cli._batch import Batch, Engine, LocalEngine, Outcome, run_task
from agentkit.cli._batch_files import ResultsFile, Task, read_tasks
from agentkit.cli._chat import ChatSession
from agentkit.cli._progress import BatchCounts, PlainProgress
from agentkit.cli._render import JsonRenderer, PlainRenderer, error_line, tolerant_output
from agentkit.cli._run import _run
from agentkit.testing import (
    FunctionModel,
    LoopbackServer,
    ScriptedModel,
    last_user_text,
    tool_call_response,
)

LONE = "\udcff"


def hostile(body: dict[str, Any]) -> AssistantMessage | str:
    """question 1: an answer holding a lone surrogate; question 2: first a call whose argument has 5,000
    digits (the model reads the tool error, then answers); the rest: an echo."""
    prompt = body["messages"][-1]["content"] if body["messages"][0]["role"] == "user" else ""
    first = body["messages"][0]["content"]
    if first == "question 1":
        return f"bad {LONE}"
    if first == "question 2" and len(body["messages"]) == 1:
        return AssistantMessage(
            tool_calls=[ToolCall(id="c", name="count", arguments='{"n": ' + "9" * 5000 + "}")]
        )
    return f"answer to {first}" if prompt else "?"


TOOLS = '''
from agentkit import tool


@tool
def count(n: int) -> str:
    """Count to n."""
    return f"counted to {n}"
'''


def test_batch_writes_every_line_after_hostile_replies(tmp_path: Path) -> None:
    tasks, out, tools = tmp_path / "tasks.jsonl", tmp_path / "out.jsonl", tmp_path / "tools.py"
    tools.write_text(TOOLS, encoding="utf-8")
    write_tasks(tasks, 6)
    with LoopbackServer([hostile] * 7) as server:
        args = ["batch", str(tasks), "--out", str(out), "--tools", str(tools), "--concurrency", "2"]
        done = run_cli(*args, env=cli_env(server.base_url))
    assert done.returncode == ExitCode.OK, done.stderr
    assert "Traceback" not in done.stderr
    lines = {r["id"]: r for r in records(out)}
    assert sorted(lines) == [f"t{i}" for i in range(6)]
    assert lines["t1"]["output"] == "bad \ufffd"
    assert lines["t2"]["output"] == "answer to question 2"
    sent = [b["messages"] for b in server.bodies if b["messages"][0]["content"] == "question 2"]
    assert "5,000 digits" in sent[-1][-1]["content"]  # the model read the tool error


def test_run_json_prints_one_object_for_a_reply_with_a_surrogate() -> None:
    with LoopbackServer([f"bad {LONE}"]) as server:
        done = run_cli("run", "hi", "--json", env=cli_env(server.base_url))
        plain = LoopbackServer([f"bad {LONE}"])
        with plain:
            shown = run_cli("run", "hi", env=cli_env(plain.base_url))
    assert done.returncode == ExitCode.OK, done.stderr
    (line,) = done.stdout.splitlines()
    document = json.loads(line)
    assert document["output"] == "bad \ufffd" and document["error"] is None
    assert document["messages"][-1]["content"] == "bad \ufffd"
    assert shown.returncode == ExitCode.OK, shown.stderr
    assert shown.stdout == "bad ?\n"


class UnreadableError(Exception):
    def __str__(self) -> str:
        raise RuntimeError("unreadable")


def fail_on_question_1(messages: list[Any], info: Any) -> str:
    text = last_user_text(messages)
    if text == "question 1":
        raise RuntimeError("the model double broke")
    if text == "question 3":
        raise UnreadableError
    return f"answer to {text}"


async def test_any_exception_of_a_task_is_its_error_line() -> None:
    agent = Agent(FunctionModel(fail_on_question_1))
    outcome = await run_task(agent, Task(id="a", prompt="question 1"))
    record = json.loads(outcome.line)
    assert outcome.failed
    assert record["error"] == {"type": "RuntimeError", "message": "the model double broke"}
    unreadable = json.loads((await run_task(agent, Task(id="b", prompt="question 3"))).line)
    assert unreadable["error"] == {
        "type": "UnreadableError",
        "message": "(the message of this UnreadableError could not be read)",
    }


@dataclass
class Point:
    x: int


async def test_an_answer_that_cannot_be_written_as_json_is_the_tasks_error() -> None:
    model = ScriptedModel([tool_call_response("final_result", {"x": 1})])
    outcome = await run_task(Agent(model, output_type=Point), Task(id="p", prompt="where?"))
    record = json.loads(outcome.line)
    assert outcome.failed and record["output"] is None
    assert (
        record["error"]["type"] == "TypeError"
        and "Point is not JSON serializable" in record["error"]["message"]
    )
    assert record["usage"]["requests"] == 1  # what the run cost is kept


class FlakyEngine(Engine):
    """Runs tasks locally, except that its own `run` raises for task 2 (as a broken engine would)."""

    def __init__(self, agent: Agent[None, Any]) -> None:
        self.local = LocalEngine(agent)
        self.ran: list[str] = []

    async def run(self, task: Task) -> Outcome:
        self.ran.append(task.key)
        if task.prompt == "question 2":
            raise OSError("engine lost its worker")
        return await self.local.run(task)

    async def aclose(self) -> None:
        await self.local.aclose()


def batch(tmp_path: Path, engine: Engine) -> BatchCounts:
    tasks, out = tmp_path / "tasks.jsonl", tmp_path / "out.jsonl"
    results = ResultsFile(out, tasks=tasks)
    try:
        answered = results.answered()
        todo = [t for t in read_tasks(tasks) if t.key not in answered]
        counts = BatchCounts(tasks=len(read_tasks(tasks)), skipped=len(read_tasks(tasks)) - len(todo))
        run = Batch(engine, todo, results, PlainProgress(err=io.StringIO()), counts=counts, concurrency=3)
        asyncio.run(run.run())
    finally:
        results.close()
    return counts


def test_a_batch_goes_on_past_failing_tasks_and_a_resume_redoes_only_those(tmp_path: Path) -> None:
    write_tasks(tmp_path / "tasks.jsonl", 5)
    first = FlakyEngine(Agent(FunctionModel(fail_on_question_1)))
    counts = batch(tmp_path, first)
    assert (counts.done, counts.failed) == (2, 3)
    lines = {r["id"]: r for r in records(tmp_path / "out.jsonl")}
    assert sorted(lines) == ["t0", "t1", "t2", "t3", "t4"]
    assert lines["t1"]["error"]["type"] == "RuntimeError"
    assert lines["t2"]["error"] == {"type": "OSError", "message": "engine lost its worker"}
    assert lines["t3"]["error"]["type"] == "UnreadableError"
    again = FlakyEngine(Agent(FunctionModel(fail_on_question_1)))
    counts = batch(tmp_path, again)
    assert sorted(again.ran) == ["t1", "t2", "t3"]  # none that finished
    assert (counts.skipped, counts.failed) == (2, 3)


@pytest.mark.parametrize(
    ("script", "kind"),
    [
        ([RuntimeError("down")], "RuntimeError"),
        ([UnreadableError()], "UnreadableError"),
    ],
)
async def test_run_json_prints_one_object_when_the_run_raises_anything(script: list[Any], kind: str) -> None:
    out, err = io.StringIO(), io.StringIO()
    code = await _run(Agent(ScriptedModel(script)), "hi", JsonRenderer(out=out, err=err), approver("no"))
    assert code == ExitCode.RUN_FAILED
    (line,) = out.getvalue().splitlines()
    document = json.loads(line)
    assert document["output"] is None and document["error"]["type"] == kind
    assert document["error"]["exit_code"] == ExitCode.RUN_FAILED
    assert err.getvalue().startswith(f"agentkit run: {kind}: ")


async def test_plain_run_shows_any_exception_as_one_line() -> None:
    out, err = io.StringIO(), io.StringIO()
    renderer = PlainRenderer(out=out, err=err)
    code = await _run(Agent(ScriptedModel([RuntimeError("down")])), "hi", renderer, approver("no"))
    assert code == ExitCode.RUN_FAILED
    assert err.getvalue() == "agentkit run: RuntimeError: down\n"
    assert error_line(ValueError("x\ny"), "batch") == "agentkit batch: ValueError: x y"


def test_a_chat_turn_that_raises_anything_is_one_line_and_the_session_goes_on(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = iter(["first", "second", "/exit"])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(lines))
    tolerant_output()  # what `agentkit chat` does first
    session = ChatSession(Agent(ScriptedModel([RuntimeError("down"), f"fine {LONE}"])), terminal=False)
    assert session.loop() == ExitCode.OK
    out, err = capsys.readouterr()
    assert "agentkit chat: RuntimeError: down" in err
    assert "fine ?\n" in out
