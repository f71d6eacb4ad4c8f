"""👍/👎 votes in the bot's database, once per user and answer, and their export as JSON Lines for evaluation."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any, TextIO

from bot.db import Database
from qa.types import Answer


class Feedback:
    """Records votes; chat and user ids are stored as keyed hashes so the data does not identify anyone."""

    def __init__(self, db: Database, salt: str) -> None:
        self.db = db
        self._salt = salt.encode("utf-8")

    def chat_hash(self, chat_id: int) -> str:
        return hmac.new(self._salt, str(chat_id).encode("ascii"), hashlib.sha256).hexdigest()[:16]

    def record(self, button: str, user_id: int, chat_id: int, answer: Answer, vote: str) -> bool:
        """Store one vote ("up" or "down") on the answer behind `button`; False when this user voted on it already."""
        first = answer.citations[0] if answer.citations else None
        citation = None
        if first is not None:
            citation = json.dumps(
                {k: v for k, v in first.to_dict().items() if k != "passage"} | {"quote": first.quote},
                ensure_ascii=False,
            )
        with self.db.transaction() as conn:
            cursor = conn.execute(
                "INSERT OR IGNORE INTO feedback (button, voter, chat, question, answer, citation, score, reader, vote, time)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (button, self.chat_hash(user_id), self.chat_hash(chat_id), answer.question, answer.text, citation,
                 round(float(answer.score), 6), answer.reader, vote, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())),
            )  # fmt: skip
            return cursor.rowcount == 1

    def voted(self, button: str, user_id: int) -> str | None:
        """The vote this user gave the answer behind `button`, if any."""
        rows = self.db.query("SELECT vote FROM feedback WHERE button = ? AND voter = ?", (button, self.chat_hash(user_id)))
        return rows[0]["vote"] if rows else None

    def entries(self) -> Iterator[dict[str, Any]]:
        """Every vote, oldest first, as the export writes it."""
        for row in self.db.query("SELECT * FROM feedback ORDER BY id"):
            yield {
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
