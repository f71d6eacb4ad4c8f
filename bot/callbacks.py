"""Button data kept on the server: Telegram carries only a short key (its callback data is limited to 64 bytes)."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable

from telegram.constants import InlineKeyboardButtonLimit

from bot.db import Database
from qa.types import Answer

# Not python-telegram-bot's `arbitrary_callback_data`: its cache lives in memory (or in a whole-bot
# pickle persistence), so buttons would die with each restart; ours is a TTL'd table in the bot's database.
MAX_CALLBACK_BYTES = int(InlineKeyboardButtonLimit.MAX_CALLBACK_DATA)
SEPARATOR = ":"


class CallbackStore:
    """Answers by random key, in the bot's database: forgotten after `ttl` seconds or past `capacity` entries.

    Stored, not held in memory, so that an answer's buttons still work after the bot restarts.
    """

    def __init__(
        self, db: Database, ttl: float, capacity: int = 100_000, clock: Callable[[], float] = time.time
    ) -> None:
        self.db = db
        self.ttl = ttl
        self.capacity = capacity
        self._clock = clock

    def put(self, answer: Answer) -> str:
        """A new key for `answer`'s buttons."""
        key = secrets.token_urlsafe(9)  # 12 characters, 72 random bits
        now = self._clock()
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM buttons WHERE created <= ?", (now - self.ttl,))
            conn.execute(
                "INSERT INTO buttons (key, answer, created) VALUES (?, ?, ?)",
                (key, json.dumps(answer.to_dict(), ensure_ascii=False), now),
            )
            conn.execute(
                "DELETE FROM buttons WHERE key IN (SELECT key FROM buttons ORDER BY created DESC LIMIT -1 OFFSET ?)",
                (self.capacity,),
            )
        return key

    def get(self, key: str) -> Answer | None:
        """The answer behind `key`, or None when it expired or never existed."""
        rows = self.db.query("SELECT answer, created FROM buttons WHERE key = ?", (key,))
        if not rows or self._clock() - rows[0]["created"] >= self.ttl:
            return None
        return Answer.from_dict(json.loads(rows[0]["answer"]))

    def __len__(self) -> int:
        return int(self.db.query("SELECT COUNT(*) FROM buttons")[0][0])


def callback_data(action: str, key: str) -> str:
    """`action:key`, checked against Telegram's 64-byte limit."""
    data = f"{action}{SEPARATOR}{key}"
    if len(data.encode("utf-8")) > MAX_CALLBACK_BYTES:
        raise ValueError(f"callback data {data!r} is over {MAX_CALLBACK_BYTES} bytes")
    return data


def parse_callback_data(data: str | None) -> tuple[str, str]:
    action, _, key = (data or "").partition(SEPARATOR)
    return action, key
