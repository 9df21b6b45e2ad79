"""A session store that cannot be used gives a `SessionError` naming the file and what to do; in a run, an
answer that cannot be stored comes back on an `AgentRunError` with the transcript and usage."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

from agentkit import (
    Agent,
    AgentRunError,
    AssistantMessage,
    SessionError,
    UsageLimitExceeded,
    UsageLimits,
    UserError,
    UserMessage,
)
from agentkit.messages import Message
from agentkit.sessions import Session, SQLiteSession
from agentkit.testing import FunctionModel, RequestInfo, ScriptedModel


@contextmanager
def _locked(path: Path) -> Iterator[sqlite3.Connection]:
    """Another connection holding the database's write lock (as a long write elsewhere does)."""
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN EXCLUSIVE")
        yield other
    finally:
        other.execute("ROLLBACK")
        other.close()


def test_an_answer_that_cannot_be_stored_is_returned_with_the_transcript(tmp_path: Path) -> None:
    path = tmp_path / "chats.db"
    session = SQLiteSession(path, "ann", timeout=0.2)
    other: list[sqlite3.Connection] = []

    def answer(messages: list[Message], info: RequestInfo) -> str:
        # the prompt is stored; while the model answers, another process locks the database
        other.append(sqlite3.connect(path, isolation_level=None, check_same_thread=False))
        other[0].execute("BEGIN EXCLUSIVE")
        return "the paid answer"

    with pytest.raises(AgentRunError) as info:
        Agent(FunctionModel(answer)).run_sync("hello", session=session)
    other[0].execute("ROLLBACK")
    other[0].close()
    error = info.value
    assert type(error) is AgentRunError
    assert [m.role for m in error.messages] == ["user", "assistant"]
    assert (
        isinstance(error.messages[-1], AssistantMessage) and error.messages[-1].content == "the paid answer"
    )
    assert error.usage is not None and error.usage.requests == 1
    assert str(error) == (
        f"The run's messages could not be stored in session 'ann': {path} is locked by another connection "
        "(waited 0.2 s); try again later, or give SQLiteSession a longer timeout. The whole transcript is on "
        "this error (.messages): append the unsaved ones to the session once it can be written."
    )
    assert isinstance(error.__cause__, SessionError)
    # nothing was lost: once the lock is gone, the answer can be stored from the error
    assert [m.content for m in session.load_sync()] == ["hello"]  # type: ignore[union-attr]
    session.append_sync(error.messages[1:])
    assert [m.content for m in session.load_sync()] == ["hello", "the paid answer"]  # type: ignore[union-attr]


def test_a_locked_database_outside_a_run(tmp_path: Path) -> None:
    path = tmp_path / "chats.db"
    session = SQLiteSession(path, "x", timeout=0.05)
    with _locked(path):
        with pytest.raises(SessionError, match=r"is locked by another connection \(waited 0.05 s\)"):
            session.load_sync()
        with pytest.raises(SessionError, match="is locked"):
            session.append_sync([UserMessage(content="a")])
        with pytest.raises(SessionError, match="is locked"):
            session.clear_sync()
        with pytest.raises(SessionError, match="is locked"):
            SQLiteSession(path, "y", timeout=0.05)
    assert session.load_sync() == []


def test_a_failed_save_after_another_failure_keeps_the_first_error(tmp_path: Path) -> None:
    path = tmp_path / "chats.db"
    session = SQLiteSession(path, "f", timeout=0.05)
    other: list[sqlite3.Connection] = []

    def answer(messages: list[Message], info: RequestInfo) -> str:
        other.append(sqlite3.connect(path, isolation_level=None, check_same_thread=False))
        other[0].execute("BEGIN EXCLUSIVE")
        return "a long answer, over the token limit"

    agent = Agent(FunctionModel(answer), usage_limits=UsageLimits(output_tokens_limit=1))
    with pytest.raises(UsageLimitExceeded) as info:
        agent.run_sync("hello", session=session)
    other[0].execute("ROLLBACK")
    other[0].close()
    error = info.value
    assert [m.role for m in error.messages] == ["user", "assistant"]  # the answer that went over the limit
    assert str(error).endswith(
        f" (also, the run's messages could not be stored in session 'f': {path} is locked by another "
        "connection (waited 0.05 s); try again later, or give SQLiteSession a longer timeout)"
    )
    assert [m.content for m in session.load_sync()] == ["hello"]  # type: ignore[union-attr]


@pytest.mark.parametrize("path", ["", Path(""), "folder"])
def test_an_empty_path_or_a_folder_is_refused_when_built(
    path: str | Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "folder").mkdir()
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SessionError, match=r"give the database file's path \(or ':memory:' for a session"):
        SQLiteSession(path, "x")


def test_a_lone_surrogate_session_id_is_refused_when_built(tmp_path: Path) -> None:
    with pytest.raises(SessionError, match="session_id 'a\\\\udc80b' cannot be stored"):
        SQLiteSession(tmp_path / "s.db", "a\udc80b")
    with pytest.raises(SessionError, match="non-empty session_id"):
        SQLiteSession(tmp_path / "s.db", "")
    assert isinstance(SessionError("x"), UserError)


def test_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("not a database at all, " * 100, encoding="utf-8")
    with pytest.raises(SessionError) as info:
        SQLiteSession(path, "x")
    assert str(info.value) == (
        f"{path} cannot be used for sessions: file is not a database; check that it is a SQLite database this "
        "process can read and write, or give SQLiteSession another file."
    )


def test_a_foreign_table_of_the_same_name(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE agentkit_messages (id INTEGER PRIMARY KEY, body TEXT)")
    with pytest.raises(SessionError) as info:
        SQLiteSession(path, "x")
    assert str(info.value) == (
        f"{path} has a table agentkit_messages that agentkit did not make (its columns: id, body); give "
        "SQLiteSession another file."
    )


@pytest.mark.parametrize(
    ("stored", "problem"),
    [
        ("{not json", "not JSON"),
        ('{"role": "robot", "content": "x"}', "not a message"),
        ("[1, 2]", "not a message"),
    ],
)
def test_a_corrupt_row_names_its_place(tmp_path: Path, stored: str, problem: str) -> None:
    path = tmp_path / "s.db"
    session = SQLiteSession(path, "c")
    session.append_sync([UserMessage(content="fine"), AssistantMessage(content="fine too")])
    with sqlite3.connect(path) as db:
        db.execute("UPDATE agentkit_messages SET message = ? WHERE position = 1", (stored,))
    with pytest.raises(SessionError) as info:
        session.load_sync()
    message = str(info.value)
    assert message.startswith(f"Session 'c' in {path}: message 2 is {problem} (")
    assert message.endswith(
        "); repair or delete that row of agentkit_messages, or clear the session (session.clear())."
    )
    with pytest.raises(SessionError):
        Agent(ScriptedModel(["never"])).run_sync("hi", session=session)


def test_a_non_numeric_format_is_a_corrupt_row(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    session = SQLiteSession(path, "c")
    session.append_sync([UserMessage(content="fine")])
    with sqlite3.connect(path) as db:
        db.execute("UPDATE agentkit_messages SET format = 'one'")
    with pytest.raises(SessionError, match=r"message 1 has an unknown transcript format 'one'"):
        session.load_sync()


def test_a_folder_that_cannot_be_made(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("", encoding="utf-8")
    with pytest.raises(SessionError, match=r"file/s\.db cannot be used for sessions: "):
        SQLiteSession(tmp_path / "file" / "s.db", "x")


def test_any_store_that_cannot_write_ends_the_run_with_its_transcript() -> None:
    class Down(Session):
        session_id = "r"

        async def load(self) -> list[Message]:
            return []

        async def append(self, messages: Sequence[Message]) -> None:
            raise ConnectionError()

        async def clear(self) -> None:  # pragma: no cover - not called
            pass

    with pytest.raises(AgentRunError) as info:
        Agent(ScriptedModel(["never asked"])).run_sync("hi", session=Down())
    assert str(info.value).startswith(
        "The run's messages could not be stored in session 'r': ConnectionError. "
    )
    assert [m.role for m in info.value.messages] == ["user"]
    assert isinstance(info.value.__cause__, ConnectionError)


def test_the_recovery_example_of_the_docs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """docs/batch-and-sessions.md: the answer a locked database could not take is appended once it can."""
    import re
    import threading

    doc = Path(__file__).resolve().parents[1] / "docs" / "batch-and-sessions.md"
    (block,) = re.findall(r"```python\n(.*?)```", doc.read_text(encoding="utf-8"), re.DOTALL)
    monkeypatch.chdir(tmp_path)
    SQLiteSession("chats.db", "user-42").append_sync(
        [UserMessage(content="Hi"), AssistantMessage(content="Hello")]
    )

    def answer(messages: list[Message], info: RequestInfo) -> str:
        other = sqlite3.connect("chats.db", isolation_level=None, check_same_thread=False)
        other.execute("BEGIN EXCLUSIVE")  # held past the example's 2 s timeout, then let go

        def release() -> None:
            other.execute("ROLLBACK")
            other.close()

        threading.Timer(2.4, release).start()
        return "The report, in short."

    exec(block, {"agent": Agent(FunctionModel(answer), instructions="Be brief.")})
    assert capsys.readouterr().out == ""  # the run failed: the answer was stored by the except branch
    stored = SQLiteSession("chats.db", "user-42").load_sync()
    assert [m.content for m in stored] == [  # type: ignore[union-attr]
        "Hi",
        "Hello",
        "Summarise the report.",
        "The report, in short.",
    ]
