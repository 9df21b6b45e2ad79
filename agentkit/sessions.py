"""Sessions: a conversation's transcript kept by session id, so it carries on in a later run or process.

```python
from agentkit.sessions import SQLiteSession

session = SQLiteSession("chats.db", "user-42")
agent.run_sync("My name is Ann.", session=session)
agent.run_sync("What is my name?", session=session)  # the first exchange is loaded from chats.db
```
A run given a `session` loads its messages as the history, and appends each new message as the run goes
(after each step: the prompt, each answer, each turn's tool results), so a crash loses at most the step in
flight. The agent's instructions are not stored: each run puts its agent's current instructions in front.

A store is a `Session`: three async methods (`load`, `append`, `clear`). `SQLiteSession` (standard library)
is the default; a Redis or Postgres store is a short subclass. Stored messages carry a format version
(`TRANSCRIPT_FORMAT`): a transcript from an older agentkit is upgraded as it loads, and one from a newer
agentkit is refused with a `SessionError` saying so.

A store that cannot be used raises `SessionError` (a `UserError`) naming the file and what to do: a file
that is not a SQLite database, a table `agentkit_messages` that agentkit did not make, a stored message
that is not one, a database locked by another connection for longer than `timeout`. In a run, a store that
cannot be written ends the run with an `AgentRunError` carrying the whole transcript, so no answer is lost.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ._support.threads import run_in_thread
from .exceptions import SessionError
from .messages import Message, messages_from_json, messages_to_json

__all__ = ["TRANSCRIPT_FORMAT", "SQLiteSession", "Session", "load_messages"]

TRANSCRIPT_FORMAT = 1
"""The version of the stored message format (`messages_to_json`'s JSON of one message)."""


class Session(ABC):
    """A conversation's stored transcript. Subclass it for another store (Redis, Postgres...)."""

    session_id: str

    @abstractmethod
    async def load(self) -> list[Message]:
        """The stored messages, oldest first (empty for a new session)."""

    @abstractmethod
    async def append(self, messages: Sequence[Message]) -> None:
        """Store `messages` after those already stored."""

    @abstractmethod
    async def clear(self) -> None:
        """Forget the session's messages."""


def load_messages(
    items: Sequence[tuple[int, str]],
    *,
    where: str,
    repair: str = "repair or delete that stored message, or clear the session (session.clear())",
) -> list[Message]:
    """Messages from stored `(format, json)` pairs: older formats upgraded, newer ones refused.

    Raises:
        SessionError: A format this agentkit cannot read, or an item that is not a stored message (the
            message says `where` it is, which one, and `repair`: what to do about it).
    """
    upgraded: list[Any] = []
    for n, (version, text) in enumerate(items, 1):
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise SessionError(
                f"{where}: message {n} has an unknown transcript format {version!r}; {repair}."
            )
        if version > TRANSCRIPT_FORMAT:
            raise SessionError(
                f"{where} holds messages in transcript format {version}, written by a newer agentkit (this one "
                f"reads formats up to {TRANSCRIPT_FORMAT}): upgrade agentkit to continue this session."
            )
        try:
            upgraded.append(json.loads(text))  # format 1 is today's: nothing to upgrade yet
        except (TypeError, ValueError) as exc:
            raise SessionError(f"{where}: message {n} is not JSON ({exc}); {repair}.") from None
    try:
        return messages_from_json(json.dumps(upgraded))
    except ValidationError as exc:
        first = exc.errors()[0]
        n = int(first["loc"][0]) + 1  # a list's errors start with the item's index
        raise SessionError(f"{where}: message {n} is not a message ({first['msg']}); {repair}.") from None


class SQLiteSession(Session):
    """A session in a SQLite file (standard library `sqlite3`); many sessions share one file.

    Args:
        path: The database file (created with its folder if missing), or `":memory:"` for one process.
        session_id: Which conversation.
        timeout: Seconds to wait for a lock another connection holds before raising `SessionError`.

    Raises:
        SessionError: `path` is empty, a folder, not a SQLite database or holds an `agentkit_messages` table
            agentkit did not make; `session_id` is empty or not valid Unicode.
    """

    def __init__(self, path: str | Path, session_id: str, *, timeout: float = 30.0) -> None:
        _check_session_id(session_id)
        if not os.fspath(path) or Path(path).is_dir():
            raise SessionError(
                f"SQLiteSession({str(path)!r}): give the database file's path (or ':memory:' for a session that "
                "lives as long as this process)."
            )
        self.path = str(path)
        self.session_id = session_id
        self.timeout = timeout
        self._lock = threading.Lock()
        self._memory: sqlite3.Connection | None = None
        with self._errors():
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            db = self._connect()
            try:
                db.execute(
                    "CREATE TABLE IF NOT EXISTS agentkit_messages (session_id TEXT NOT NULL, position INTEGER "
                    "NOT NULL, format INTEGER NOT NULL, message TEXT NOT NULL, PRIMARY KEY (session_id, position))"
                )
                columns = [row[1] for row in db.execute("PRAGMA table_info(agentkit_messages)")]
            finally:
                if db is not self._memory:
                    db.close()
        if columns != list(_COLUMNS):
            raise SessionError(
                f"{self.path} has a table agentkit_messages that agentkit did not make (its columns: "
                f"{', '.join(columns)}); give SQLiteSession another file."
            )

    def _connect(self) -> sqlite3.Connection:
        if self.path == ":memory:":
            if self._memory is None:
                self._memory = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
            return self._memory
        # autocommit mode: transactions are begun explicitly (`BEGIN IMMEDIATE` where one must write)
        return sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """Turn the store's errors into `SessionError`s naming the file and what to do."""
        try:
            yield
        except sqlite3.Error as exc:
            if "locked" in str(exc):
                raise SessionError(
                    f"{self.path} is locked by another connection (waited {self.timeout:g} s); try again later, "
                    "or give SQLiteSession a longer timeout."
                ) from exc
            raise _unusable(self.path, str(exc)) from exc
        except OSError as exc:  # its folder cannot be made
            raise _unusable(self.path, exc.strerror or str(exc)) from exc

    def _query(self, sql: str, parameters: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        with self._lock, self._errors():
            db = self._connect()
            try:
                return db.execute(sql, parameters).fetchall()  # one statement: its own transaction
            finally:
                if db is not self._memory:
                    db.close()

    def load_sync(self) -> list[Message]:
        """`load()` for code without an event loop."""
        rows = self._query(
            "SELECT format, message FROM agentkit_messages WHERE session_id = ? ORDER BY position",
            (self.session_id,),
        )
        return load_messages(
            rows,
            where=f"Session {self.session_id!r} in {self.path}",
            repair="repair or delete that row of agentkit_messages, or clear the session (session.clear())",
        )

    async def load(self) -> list[Message]:
        return await run_in_thread(self.load_sync)

    def append_sync(self, messages: Sequence[Message]) -> None:
        """`append()` for code without an event loop."""
        if not messages:
            return
        texts = [json.dumps(item, ensure_ascii=False) for item in json.loads(messages_to_json(messages))]
        with self._lock, self._errors():
            db = self._connect()
            try:
                # the write lock first, then the last position: appends from other connections (other
                # SQLiteSession objects, other processes) wait their turn instead of taking the same positions
                db.execute("BEGIN IMMEDIATE")
                try:
                    (last,) = db.execute(
                        "SELECT COALESCE(MAX(position), -1) FROM agentkit_messages WHERE session_id = ?",
                        (self.session_id,),
                    ).fetchone()
                    db.executemany(
                        "INSERT INTO agentkit_messages VALUES (?, ?, ?, ?)",
                        [(self.session_id, last + 1 + i, TRANSCRIPT_FORMAT, t) for i, t in enumerate(texts)],
                    )
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
                db.execute("COMMIT")
            finally:
                if db is not self._memory:
                    db.close()

    async def append(self, messages: Sequence[Message]) -> None:
        await run_in_thread(self.append_sync, list(messages))

    def clear_sync(self) -> None:
        """`clear()` for code without an event loop."""
        self._query("DELETE FROM agentkit_messages WHERE session_id = ?", (self.session_id,))

    async def clear(self) -> None:
        await run_in_thread(self.clear_sync)

    def __repr__(self) -> str:
        return f"SQLiteSession({self.path!r}, {self.session_id!r})"


_COLUMNS = ("session_id", "position", "format", "message")


def _check_session_id(session_id: object) -> None:
    if not isinstance(session_id, str) or not session_id:
        raise SessionError("SQLiteSession needs a non-empty session_id (a string).")
    try:
        session_id.encode("utf-8")
    except UnicodeEncodeError:
        raise SessionError(
            f"SQLiteSession: session_id {session_id!r} cannot be stored: it is not valid Unicode (it holds a lone "
            "surrogate, as a name decoded with errors='surrogateescape' does); give a valid string."
        ) from None


def _unusable(path: str, reason: str) -> SessionError:
    return SessionError(
        f"{path} cannot be used for sessions: {reason}; check that it is a SQLite database this process can "
        "read and write, or give SQLiteSession another file."
    )
