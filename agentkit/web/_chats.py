"""The page's list of chats: a small table beside the sessions' messages in the same SQLite file
(`agentkit_web_chats`: session id, title, last activity), so past chats can be listed and reopened."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..exceptions import SessionError

__all__ = ["Chat", "ChatList"]

_TITLE_CHARS = 80


@dataclass(kw_only=True, frozen=True)
class Chat:
    """A chat as the list shows it."""

    session_id: str
    title: str
    updated: float
    """Seconds since the epoch of its last run."""


class ChatList:
    """The chats kept in `path` (the same file as their `SQLiteSession`s)."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._memory = (
            sqlite3.connect(":memory:", check_same_thread=False) if self.path == ":memory:" else None
        )
        with self._db() as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS agentkit_web_chats (session_id TEXT PRIMARY KEY, title TEXT NOT "
                "NULL, updated REAL NOT NULL)"
            )

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        """A connection, committed (or rolled back) and closed (unless in memory) at the end."""
        try:
            if self._memory is not None:
                with self._lock, self._memory:  # one connection, shared by the worker threads
                    yield self._memory
                return
            db = sqlite3.connect(self.path, timeout=30.0)
            try:
                with db:
                    yield db
            finally:
                db.close()
        except sqlite3.Error as exc:
            raise SessionError(f"{self.path}: the chat list cannot be used ({exc}).") from None

    def touch(self, session_id: str, first_prompt: str) -> None:
        """Record a run of `session_id`; a new chat is titled by its first prompt."""
        title = " ".join(first_prompt.split())[:_TITLE_CHARS] or "(attachments)"
        with self._db() as db:
            db.execute(
                "INSERT INTO agentkit_web_chats VALUES (?, ?, ?) ON CONFLICT(session_id) DO UPDATE SET "
                "updated = excluded.updated",
                (session_id, title, time.time()),
            )

    def chats(self, *, limit: int = 200) -> list[Chat]:
        """The chats, the most recent first."""
        with self._db() as db:
            rows = db.execute(
                "SELECT session_id, title, updated FROM agentkit_web_chats ORDER BY updated DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [Chat(session_id=row[0], title=row[1], updated=row[2]) for row in rows]
