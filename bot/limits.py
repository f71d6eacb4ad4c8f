"""Who may ask, and how often: an optional allow-list of chats and a per-user sliding-window rate limit."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable


class RateLimiter:
    """At most `limit` questions per user in any `window` seconds; `limit == 0` means no limit."""

    def __init__(self, limit: int, window: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._asked: dict[int, deque[float]] = {}

    def allow(self, user_id: int) -> bool:
        """Count one question for `user_id` if it is within the limit; False means: ask later."""
        if self.limit <= 0:
            return True
        now = self._clock()
        times = self._asked.setdefault(user_id, deque())
        while times and now - times[0] >= self.window:
            times.popleft()
        if len(times) >= self.limit:
            return False
        times.append(now)
        self._forget_idle(now)
        return True

    def retry_in(self, user_id: int) -> float:
        """Seconds until `user_id` may ask again (0 when they may ask now)."""
        times = self._asked.get(user_id)
        if self.limit <= 0 or not times or len(times) < self.limit:
            return 0.0
        return max(0.0, self.window - (self._clock() - times[0]))

    def _forget_idle(self, now: float) -> None:
        # Users who have not asked for a window hold no memory; checked only when the map grows.
        if len(self._asked) > 4096:
            for user_id in [u for u, t in self._asked.items() if not t or now - t[-1] >= self.window]:
                del self._asked[user_id]


class AllowList:
    """The chats the bot serves; an empty list serves every chat."""

    def __init__(self, chat_ids: Iterable[int]) -> None:
        self.chat_ids = frozenset(chat_ids)

    def allows(self, chat_id: int) -> bool:
        return not self.chat_ids or chat_id in self.chat_ids
