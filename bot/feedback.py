"""The bot's 👍/👎: one vote per Telegram user and answer, kept in the votes file every front end shares
(qa.feedback); user and chat ids go in as keyed hashes so the file does not identify anyone."""

from __future__ import annotations

import json
import logging

from bot.db import Database
from qa.feedback import FeedbackStore, Vote, voter_hash
from qa.types import Answer

log = logging.getLogger(__name__)

FRONT_END = "bot"


class Feedback:
    def __init__(self, store: FeedbackStore, salt: str) -> None:
        self.store = store
        self._salt = salt.encode("utf-8")

    def chat_hash(self, chat_id: int) -> str:
        return voter_hash(self._salt, str(chat_id))

    def record(self, button: str, user_id: int, chat_id: int, answer: Answer, vote: str) -> bool:
        """Store one vote ("up" or "down") on the answer behind `button`; False when this user voted on it already."""
        first = answer.citations[0] if answer.citations else None
        citation = None
        if first is not None:
            citation = {k: v for k, v in first.to_dict().items() if k != "passage"} | {"quote": first.quote}
        return self.store.record(
            Vote(front_end=FRONT_END, answer_key=button, voter=self.chat_hash(user_id), chat=self.chat_hash(chat_id),
                 question=answer.question, answer=answer.text, citation=citation, score=float(answer.score),
                 reader=answer.reader, vote=vote)
        )  # fmt: skip

    def voted(self, button: str, user_id: int) -> str | None:
        """The vote this user gave the answer behind `button`, if any."""
        return self.store.voted(FRONT_END, button, self.chat_hash(user_id))


def move_old_votes(db: Database, store: FeedbackStore) -> int:
    """Votes that an earlier version kept in the bot's own database go to the shared file, once.

    The old table is renamed, not dropped, so nothing is lost if the move is interrupted (a vote
    already moved is not stored twice: the file keeps one per voter and answer).
    """
    if not db.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'feedback'"):
        return 0
    rows = db.query("SELECT * FROM feedback ORDER BY id")
    for row in rows:
        store.record(
            Vote(front_end=FRONT_END, answer_key=row["button"], voter=row["voter"], chat=row["chat"],
                 question=row["question"], answer=row["answer"],
                 citation=json.loads(row["citation"]) if row["citation"] else None, score=row["score"],
                 reader=row["reader"], vote=row["vote"]),
            at=row["time"],
        )  # fmt: skip
    with db.transaction() as conn:
        conn.execute("ALTER TABLE feedback RENAME TO feedback_moved")
    log.info("moved %d votes from %s to %s", len(rows), db.path, store.path)
    return len(rows)
