"""Button data kept on the server: Telegram carries only a short key (its callback data is limited to 64 bytes)."""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from qa.types import Answer

MAX_CALLBACK_BYTES = 64
SEPARATOR = ":"


@dataclass
class AnswerButtons:
    """What an answer's buttons need: the answer itself, and the votes already recorded for it."""

    answer: Answer
    voters: set[int] = field(default_factory=set)


class CallbackStore:
    """Answers by random key, forgotten after `ttl` seconds or when more than `capacity` are held."""

    def __init__(self, ttl: float, capacity: int = 10_000, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.capacity = capacity
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, AnswerButtons]] = OrderedDict()

    def put(self, answer: Answer) -> str:
        """A new key for `answer`'s buttons."""
        self._expire()
        key = secrets.token_urlsafe(9)  # 12 characters, 72 random bits
        self._entries[key] = (self._clock(), AnswerButtons(answer))
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)
        return key

    def get(self, key: str) -> AnswerButtons | None:
        """The buttons' data for `key`, or None when it expired or never existed."""
        item = self._entries.get(key)
        if item is None or self._clock() - item[0] >= self.ttl:
            self._entries.pop(key, None)
            return None
        return item[1]

    def __len__(self) -> int:
        return len(self._entries)

    def _expire(self) -> None:
        now = self._clock()
        while self._entries:
            created, _ = next(iter(self._entries.values()))
            if now - created < self.ttl:
                break
            self._entries.popitem(last=False)


def callback_data(action: str, key: str) -> str:
    """`action:key`, checked against Telegram's 64-byte limit."""
    data = f"{action}{SEPARATOR}{key}"
    if len(data.encode("utf-8")) > MAX_CALLBACK_BYTES:
        raise ValueError(f"callback data {data!r} is over {MAX_CALLBACK_BYTES} bytes")
    return data


def parse_callback_data(data: str | None) -> tuple[str, str]:
    action, _, key = (data or "").partition(SEPARATOR)
    return action, key
