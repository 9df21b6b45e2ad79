from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from agentkit import Agent, AssistantMessage, SystemMessage, ToolMessage, UserError, UserMessage, tool
from agentkit.sessions import TRANSCRIPT_FORMAT, SQLiteSession
from agentkit.testing import ScriptedModel, tool_call_response

ROOT = Path(__file__).resolve().parents[1]


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def test_a_session_carries_the_conversation_to_the_next_run(tmp_path: Path) -> None:
    session = SQLiteSession(tmp_path / "chats.db", "ann")
    model = ScriptedModel([tool_call_response("add", {"a": 2, "b": 3}), "5", "You asked for 2 + 3."])
    agent = Agent(model, instructions="Be exact.", tools=[add])
    first = agent.run_sync("What is 2 + 3?", session=session)
    second = agent.run_sync("What did I ask?", session=session)
    assert second.output == "You asked for 2 + 3."
    sent = model.requests[2].messages
    assert isinstance(sent[0], SystemMessage) and sent[0].content == "Be exact."
    assert [m.role for m in sent] == ["system", "user", "assistant", "tool", "assistant", "user"]
    assert second.new_messages()[-2:] == second.messages[-2:]
    stored = session.load_sync()
    assert [m.role for m in stored] == ["user", "assistant", "tool", "assistant", "user", "assistant"]
    assert stored[:4] == first.messages[1:5]  # the instructions are not stored


def test_sessions_are_kept_apart_and_cleared(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    Agent(ScriptedModel(["hi Ann"])).run_sync("I am Ann", session=SQLiteSession(path, "ann"))
    Agent(ScriptedModel(["hi Bo"])).run_sync("I am Bo", session=SQLiteSession(path, "bo"))
    ann = SQLiteSession(path, "ann")
    assert [m.content for m in ann.load_sync()] == ["I am Ann", "hi Ann"]  # type: ignore[union-attr]
    ann.clear_sync()
    assert ann.load_sync() == []
    assert len(SQLiteSession(path, "bo").load_sync()) == 2


async def test_async_api_and_memory_store() -> None:
    session = SQLiteSession(":memory:", "x")
    await session.append([UserMessage(content="a"), AssistantMessage(content="b")])
    assert [m.content for m in await session.load()] == ["a", "b"]  # type: ignore[union-attr]
    await session.clear()
    assert await session.load() == []
    assert repr(session) == "SQLiteSession(':memory:', 'x')"


def test_persistence_across_two_processes(tmp_path: Path) -> None:
    db = tmp_path / "chats.db"
    script = textwrap.dedent(
        f"""
        import sys
        from agentkit import Agent
        from agentkit.sessions import SQLiteSession
        from agentkit.testing import FunctionModel, last_user_text

        def answer(messages, info):
            said = [m.content for m in messages if m.role == "user"]
            return f"{{len(said)}} messages from you so far: {{' / '.join(said)}}"

        session = SQLiteSession({str(db)!r}, "chat")
        print(Agent(FunctionModel(answer)).run_sync(sys.argv[1], session=session).output)
        """
    )
    outputs = [_python(["-c", script, text]).strip() for text in ("hello", "again")]
    assert outputs == ["1 messages from you so far: hello", "2 messages from you so far: hello / again"]


def test_a_killed_run_keeps_the_steps_done(tmp_path: Path) -> None:
    db = tmp_path / "chats.db"
    script = textwrap.dedent(
        f"""
        import os, signal
        from agentkit import Agent, tool
        from agentkit.sessions import SQLiteSession
        from agentkit.testing import ScriptedModel, tool_call_response

        @tool
        def step(n: int) -> str:
            '''A step.'''
            if n == 2:
                os.kill(os.getpid(), signal.SIGKILL)  # the process dies in the second turn's call
            return f"step {{n}} done"

        model = ScriptedModel([tool_call_response("step", {{"n": 1}}), tool_call_response("step", {{"n": 2}}), "never"])
        Agent(model, tools=[step]).run_sync("do two steps", session=SQLiteSession({str(db)!r}, "job"))
        """
    )
    run = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=_env(), capture_output=True, check=False
    )
    assert run.returncode == -9, run.stderr
    stored = SQLiteSession(db, "job").load_sync()
    # the prompt and the first turn (call and result) survived; the turn in flight did not
    assert [m.role for m in stored] == ["user", "assistant", "tool"]
    assert isinstance(stored[2], ToolMessage) and stored[2].content == "step 1 done"
    # and the conversation continues from there
    model = ScriptedModel(["Step 1 is done; step 2 crashed."])
    result = Agent(model, tools=[add]).run_sync("What happened?", session=SQLiteSession(db, "job"))
    assert [m.role for m in model.requests[0].messages] == ["user", "assistant", "tool", "user"]
    assert result.output.startswith("Step 1")


def test_approval_through_a_session(tmp_path: Path) -> None:
    @tool(requires_approval=True)
    def pay(amount: int) -> str:
        """Pay."""
        return f"paid {amount}"

    session = SQLiteSession(tmp_path / "s.db", "p")
    first = Agent(ScriptedModel([tool_call_response("pay", {"amount": 3})]), tools=[pay]).run_sync(
        "pay 3", session=session
    )
    call_id = first.pending_approvals[0].id
    assert [m.role for m in session.load_sync()] == ["user", "assistant"]  # the waiting call is stored
    with pytest.raises(UserError, match="waiting for approval"):
        Agent(ScriptedModel([]), tools=[pay]).run_sync("and?", session=session)
    second = Agent(ScriptedModel(["paid"]), tools=[pay]).run_sync(
        None, session=session, approvals={call_id: True}
    )
    assert second.output == "paid"
    assert [m.role for m in session.load_sync()] == ["user", "assistant", "tool", "assistant"]


def test_a_failed_run_keeps_the_prompt(tmp_path: Path) -> None:
    session = SQLiteSession(tmp_path / "s.db", "f")
    with pytest.raises(RuntimeError):
        Agent(ScriptedModel([RuntimeError("down")])).run_sync("hello", session=session)
    assert [m.content for m in session.load_sync()] == ["hello"]  # type: ignore[union-attr]


def test_misuse(tmp_path: Path) -> None:
    session = SQLiteSession(tmp_path / "s.db", "m")
    agent = Agent(ScriptedModel([]))
    with pytest.raises(UserError, match="not both"):
        agent.run_sync("x", session=session, message_history=[UserMessage(content="y")])
    with pytest.raises(UserError, match="has no messages to continue"):
        agent.run_sync(None, session=session)
    with pytest.raises(UserError, match="non-empty session_id"):
        SQLiteSession(tmp_path / "s.db", "")


def test_transcript_format_versions(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    session = SQLiteSession(path, "v")
    session.append_sync([UserMessage(content="hi")])
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT format, message FROM agentkit_messages").fetchall()
        assert rows == [(TRANSCRIPT_FORMAT, json.dumps({"content": "hi", "feedback": False, "role": "user"}))]
        db.execute("UPDATE agentkit_messages SET format = ?", (TRANSCRIPT_FORMAT + 1,))
    with pytest.raises(UserError, match="newer agentkit"):
        session.load_sync()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE agentkit_messages SET format = 0")
    with pytest.raises(UserError, match="unknown transcript format 0"):
        session.load_sync()


def _env() -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }


def _python(args: list[str]) -> str:
    run = subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=_env(), capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stderr
    return run.stdout


def test_concurrent_appends_from_separate_objects_keep_every_message(tmp_path: Path) -> None:
    import threading

    path = tmp_path / "busy.db"

    def append(writer: int) -> None:
        session = SQLiteSession(path, "shared")  # one object per writer, as per web request
        for n in range(25):
            session.append_sync([UserMessage(content=f"{writer}:{n}")])

    threads = [threading.Thread(target=append, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stored = [m.content for m in SQLiteSession(path, "shared").load_sync()]  # type: ignore[union-attr]
    assert sorted(stored) == sorted(f"{w}:{n}" for w in range(4) for n in range(25))
    for writer in range(4):  # each writer's messages in its own order
        assert [c for c in stored if c.startswith(f"{writer}:")] == [f"{writer}:{n}" for n in range(25)]


def test_history_processors_change_what_is_sent_not_what_the_session_keeps(tmp_path: Path) -> None:
    from agentkit import TokenWindow

    session = SQLiteSession(tmp_path / "chats.db", "ann")
    model = ScriptedModel(["first answer " * 50, "second answer"])
    agent = Agent(model, history_processors=[TokenWindow(max_tokens=40)])
    agent.run_sync("first question " * 20, session=session)
    agent.run_sync("second question", session=session)
    assert [m.content for m in model.requests[-1].messages] == [
        "second question"
    ]  # the old exchange: dropped
    stored = asyncio.run(session.load())
    assert [m.role for m in stored] == ["user", "assistant", "user", "assistant"]
    assert stored[0].content == "first question " * 20
