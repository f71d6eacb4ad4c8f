"""Who may ask, and how often: an optional allow-list of chats and a per-user sliding-window rate limit."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from bot.db import Database


class RateLimiter:
    """At most `limit` questions per user in any `window` seconds; `limit == 0` means no limit.

    The counts live in the bot's database, so a restart does not hand everyone a fresh allowance.
    """

    def __init__(
        self, db: Database, limit: int, window: float = 60.0, clock: Callable[[], float] = time.time
    ) -> None:
        self.db = db
        self.limit = limit
        self.window = window
        self._clock = clock

    def allow(self, user_id: int) -> bool:
        """Count one question for `user_id` if it is within the limit; False means: ask later."""
        if self.limit <= 0:
            return True
        now = self._clock()
        with self.db.transaction() as conn:
            # Every user's old counts go, so the table holds one window's questions at most.
            conn.execute("DELETE FROM asked WHERE at <= ?", (now - self.window,))
            count = conn.execute("SELECT COUNT(*) FROM asked WHERE user_id = ?", (user_id,)).fetchone()[0]
            if count >= self.limit:
                return False
            conn.execute("INSERT INTO asked (user_id, at) VALUES (?, ?)", (user_id, now))
        return True

    def retry_in(self, user_id: int) -> float:
        """Seconds until `user_id` may ask again (0 when they may ask now)."""
        if self.limit <= 0:
            return 0.0
        now = self._clock()
        times = [r[0] for r in self.db.query(
            "SELECT at FROM asked WHERE user_id = ? AND at > ? ORDER BY at", (user_id, now - self.window))]  # fmt: skip
        if len(times) < self.limit:
            return 0.0
        return max(0.0, self.window - (now - times[0]))


class AllowList:
    """The chats the bot serves; an empty list serves every chat."""

    def __init__(self, chat_ids: Iterable[int]) -> None:
        self.chat_ids = frozenset(chat_ids)

    def allows(self, chat_id: int) -> bool:
        return not self.chat_ids or chat_id in self.chat_ids
