"""The bot's state in one SQLite file (WAL): button data, votes, rate-limit counters, handled updates, the outbox."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

DB_NAME = "bot.sqlite3"

SCHEMA = """
CREATE TABLE IF NOT EXISTS buttons (
    key TEXT PRIMARY KEY,
    answer TEXT NOT NULL,          -- the Answer as JSON (Answer.to_dict)
    created REAL NOT NULL          -- wall-clock seconds: the buttons outlive the process
);
CREATE INDEX IF NOT EXISTS buttons_created ON buttons (created);
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY,
    button TEXT NOT NULL,
    voter TEXT NOT NULL,           -- keyed hash of the user id: one vote per user and answer
    chat TEXT NOT NULL,            -- keyed hash of the chat id
    question TEXT NOT NULL,
    answer TEXT,
    citation TEXT,                 -- the first citation as JSON, or NULL
    score REAL NOT NULL,
    reader TEXT NOT NULL,
    vote TEXT NOT NULL,
    time TEXT NOT NULL,
    UNIQUE (button, voter)
);
CREATE TABLE IF NOT EXISTS asked (
    user_id INTEGER NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS asked_user ON asked (user_id, at);
CREATE TABLE IF NOT EXISTS handled (
    update_id INTEGER PRIMARY KEY,
    at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY,
    chat_id INTEGER NOT NULL,
    parts TEXT NOT NULL,           -- JSON list of HTML messages, sent in order
    markup TEXT,                   -- JSON inline keyboard of the last part, or NULL
    reply_to INTEGER,              -- message the first part quotes, or NULL
    kind TEXT NOT NULL,            -- 'reply', or 'notice' (the "could not deliver" message: never noticed again)
    about TEXT NOT NULL DEFAULT '', -- the question a reply answers, named in the notice if it is given up
    created REAL NOT NULL,
    sent_parts INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at REAL NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',  -- pending | sent | given_up
    error TEXT
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (state, next_at);
"""


class Database:
    """One connection shared by the bot's stores; each `transaction()` is atomic and serialized."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        # The event loop and the reading threads both use it; the lock serializes them.
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        self._conn.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode: a commit survives the process being killed (kill -9); only a power
            # loss may undo the last commits, and it never corrupts the file.
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.executescript(SCHEMA)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def query(self, sql: str, params: tuple[object, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def database_path(data_dir: Path) -> Path:
    return data_dir / DB_NAME
