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
agentkit is refused with a `UserError` saying so.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._threads import run_in_thread
from .exceptions import UserError
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


def load_messages(items: Sequence[tuple[int, str]], *, where: str) -> list[Message]:
    """Messages from stored `(format, json)` pairs: older formats upgraded, newer ones refused."""
    upgraded: list[Any] = []
    for version, text in items:
        if version > TRANSCRIPT_FORMAT:
            raise UserError(
                f"{where} holds messages in transcript format {version}, written by a newer agentkit (this one "
                f"reads formats up to {TRANSCRIPT_FORMAT}): upgrade agentkit to continue this session."
            )
        if version < 1:
            raise UserError(f"{where} holds messages in an unknown transcript format {version}.")
        upgraded.append(json.loads(text))  # format 1 is today's: nothing to upgrade yet
    return messages_from_json(json.dumps(upgraded))


class SQLiteSession(Session):
    """A session in a SQLite file (standard library `sqlite3`); many sessions share one file.

    Args:
        path: The database file (created with its folder if missing), or `":memory:"` for one process.
        session_id: Which conversation.
    """

    def __init__(self, path: str | Path, session_id: str) -> None:
        if not session_id:
            raise UserError("SQLiteSession needs a non-empty session_id.")
        self.path = str(path)
        self.session_id = session_id
        self._lock = threading.Lock()
        self._memory: sqlite3.Connection | None = None
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        db = self._connect()
        try:
            db.execute(
                "CREATE TABLE IF NOT EXISTS agentkit_messages (session_id TEXT NOT NULL, position INTEGER NOT "
                "NULL, format INTEGER NOT NULL, message TEXT NOT NULL, PRIMARY KEY (session_id, position))"
            )
        finally:
            if db is not self._memory:
                db.close()

    def _connect(self) -> sqlite3.Connection:
        if self.path == ":memory:":
            if self._memory is None:
                self._memory = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
            return self._memory
        # autocommit mode: transactions are begun explicitly (`BEGIN IMMEDIATE` where one must write)
        return sqlite3.connect(self.path, timeout=30, isolation_level=None)

    def _query(self, sql: str, parameters: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        with self._lock:
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
        return load_messages(rows, where=f"Session {self.session_id!r} in {self.path}")

    async def load(self) -> list[Message]:
        return await run_in_thread(self.load_sync)

    def append_sync(self, messages: Sequence[Message]) -> None:
        """`append()` for code without an event loop."""
        if not messages:
            return
        texts = [json.dumps(item, ensure_ascii=False) for item in json.loads(messages_to_json(messages))]
        with self._lock:
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
