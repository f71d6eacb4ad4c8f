"""👍/👎 votes on answers from every front end (the bot, the web page), in one SQLite file in the data
directory, once per voter and answer; and their export as JSON Lines for evaluation.

Front ends identify voters by a keyed hash (a Telegram user, a web client's address), so the file holds
no one's identity. It lives in qa, below the front ends, because bot and web must not import each other.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TextIO

from qa.sqlite_file import SqliteFile
from retrieval.atomic import write_once

FEEDBACK_DB = "feedback.sqlite3"
SALT_FILE = "feedback.salt"

SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY,
    front_end TEXT NOT NULL,       -- 'bot' or 'web'
    answer_key TEXT NOT NULL,      -- what was voted on: the bot's button key, the web's answer hash
    voter TEXT NOT NULL,           -- keyed hash of the voter: one vote per voter and answer
    chat TEXT,                     -- keyed hash of the Telegram chat, or NULL
    question TEXT NOT NULL,
    answer TEXT,
    citation TEXT,                 -- the first citation as JSON, or NULL
    score REAL,
    reader TEXT,
    vote TEXT NOT NULL,
    time TEXT NOT NULL,
    UNIQUE (front_end, answer_key, voter)
);
"""

COLUMNS = ("front_end", "answer_key", "voter", "chat", "question", "answer", "citation", "score", "reader", "vote", "time")


@dataclass(frozen=True)
class Vote:
    front_end: str
    answer_key: str
    voter: str
    question: str
    vote: str  # "up" | "down"
    answer: str | None = None
    citation: dict[str, Any] | None = None
    score: float | None = None
    reader: str | None = None
    chat: str | None = None


def feedback_path(data_dir: Path) -> Path:
    return data_dir / FEEDBACK_DB


def voter_hash(salt: bytes, identity: str) -> str:
    """A keyed hash of a voter's identity (a user id, an address): the same voter gives the same hash."""
    return hmac.new(salt, identity.encode("utf-8"), hashlib.sha256).hexdigest()[:16]


def install_salt(data_dir: Path) -> bytes:
    """This installation's secret for voter hashes, made on first use: without a secret, a hashed address
    could be found again by hashing every address."""
    path = data_dir / SALT_FILE
    if not path.is_file():
        write_once(path, secrets.token_hex(32))  # the first process to make one wins; the others read it
    return path.read_text(encoding="ascii").strip().encode("ascii")


def now_utc() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class FeedbackStore:
    """The votes file; safe to share between threads and processes (the bot and the server write it at once)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.db = SqliteFile(path, SCHEMA)

    def record(self, vote: Vote, at: str | None = None) -> bool:
        """Store `vote`; False when this voter voted on that answer already (the first vote stands)."""
        row = asdict(vote) | {
            "citation": json.dumps(vote.citation, ensure_ascii=False) if vote.citation is not None else None,
            "score": round(float(vote.score), 6) if vote.score is not None else None,
            "time": at or now_utc(),
        }
        with self.db.transaction() as conn:
            cursor = conn.execute(
                f"INSERT OR IGNORE INTO feedback ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
                tuple(row[name] for name in COLUMNS),
            )
            return cursor.rowcount == 1

    def voted(self, front_end: str, answer_key: str, voter: str) -> str | None:
        """The vote this voter gave that answer, if any."""
        found = self.db.query(
            "SELECT vote FROM feedback WHERE front_end = ? AND answer_key = ? AND voter = ?", (front_end, answer_key, voter)
        )
        return found[0]["vote"] if found else None

    def entries(self) -> Iterator[dict[str, Any]]:
        """Every vote, oldest first, as the export writes it (voter hashes and answer keys left out)."""
        for row in self.db.query("SELECT * FROM feedback ORDER BY id"):
            yield {
                "front_end": row["front_end"],
                "chat": row["chat"],
                "question": row["question"],
                "answer": row["answer"],
                "citation": json.loads(row["citation"]) if row["citation"] else None,
                "score": row["score"],
                "reader": row["reader"],
                "vote": row["vote"],
                "time": row["time"],
            }

    def export(self, out: TextIO) -> int:
        """Write every vote to `out` as JSON Lines; how many."""
        count = 0
        for entry in self.entries():
            out.write(json.dumps(entry, ensure_ascii=False) + "\n")
            count += 1
        return count

    def close(self) -> None:
        self.db.close()
