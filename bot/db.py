"""The bot's state in one SQLite file (WAL): button data, rate-limit counters, handled updates, the outbox.
(Votes go to the file every front end shares: qa.feedback.)"""

from __future__ import annotations

from pathlib import Path

from qa.sqlite_file import SqliteFile

DB_NAME = "bot.sqlite3"

SCHEMA = """
CREATE TABLE IF NOT EXISTS buttons (
    key TEXT PRIMARY KEY,
    answer TEXT NOT NULL,          -- the Answer as JSON (Answer.to_dict)
    created REAL NOT NULL          -- wall-clock seconds: the buttons outlive the process
);
CREATE INDEX IF NOT EXISTS buttons_created ON buttons (created);
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


class Database(SqliteFile):
    """The bot's state file, shared by its stores."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, SCHEMA)


def database_path(data_dir: Path) -> Path:
    return data_dir / DB_NAME
