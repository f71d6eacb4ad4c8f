"""The durable outbox: every message the bot sends is stored first, then sent, retried until delivered or too old.

A reply that cannot be sent now (5xx, timeouts, dropped connections, 429) waits in the bot's database
and is retried with capped exponential backoff (a 429's `retry_after` honoured) until it is delivered
or older than SANAD_REPLY_MAX_AGE; only then the user is told, once. It survives restarts: replies
pending when the bot stopped are sent when it starts again.

Delivery is at least once: Telegram has no idempotency key, so when a connection drops after Telegram
accepted a message, the retry (after the backoff, never at once) sends it a second time.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from telegram import Bot, InlineKeyboardMarkup, ReplyParameters
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError

from bot.db import Database

log = logging.getLogger(__name__)

KEEP_FINISHED = 86400.0  # seconds
GAVE_UP = (
    "عذرًا، لم أستطع إيصال إجابتي عن سؤالك{about} بسبب انقطاع الاتصال بتيليجرام. "
    "اطرح سؤالك من جديد من فضلك."
)


@dataclass(frozen=True)
class Outgoing:
    """One stored message (possibly several Telegram messages long) and how far its delivery got."""

    id: int
    chat_id: int
    parts: list[str]
    markup: dict[str, Any] | None
    reply_to: int | None
    kind: str
    about: str
    created: float
    sent_parts: int
    attempts: int


class Outbox:
    """The outbox table: add, find what is due, record each outcome."""

    def __init__(self, db: Database, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self._clock = clock

    def add(
        self,
        chat_id: int,
        parts: list[str],
        markup: dict[str, Any] | None = None,
        reply_to: int | None = None,
        kind: str = "reply",
        about: str = "",
    ) -> int:
        now = self._clock()
        with self.db.transaction() as conn:
            # Finished messages are kept a day (for a look after an incident), then forgotten.
            conn.execute("DELETE FROM outbox WHERE state != 'pending' AND created < ?", (now - KEEP_FINISHED,))
            cursor = conn.execute(
                "INSERT INTO outbox (chat_id, parts, markup, reply_to, kind, about, created, next_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (chat_id, json.dumps(parts, ensure_ascii=False), json.dumps(markup, ensure_ascii=False) if markup else None,
                 reply_to, kind, about, now, now),
            )  # fmt: skip
            return int(cursor.lastrowid or 0)

    def due(self, busy_chats: set[int]) -> list[Outgoing]:
        """The oldest pending message of each chat not being sent to, if its next attempt is due.

        One message per chat at a time keeps a chat's messages in order; a newer one waits behind an
        older one that is backing off.
        """
        rows = self.db.query(
            "SELECT * FROM outbox WHERE id IN (SELECT MIN(id) FROM outbox WHERE state = 'pending' GROUP BY chat_id)"
            " AND next_at <= ? ORDER BY id",
            (self._clock(),),
        )
        return [_outgoing(row) for row in rows if row["chat_id"] not in busy_chats]

    def next_due(self) -> float | None:
        """When the next pending message is due (wall clock), or None when nothing is pending."""
        value = self.db.query("SELECT MIN(next_at) FROM outbox WHERE state = 'pending'")[0][0]
        return None if value is None else float(value)

    def part_sent(self, item: Outgoing, sent_parts: int) -> None:
        state = "sent" if sent_parts >= len(item.parts) else "pending"
        with self.db.transaction() as conn:
            conn.execute("UPDATE outbox SET sent_parts = ?, state = ? WHERE id = ?", (sent_parts, state, item.id))

    def retry(self, item: Outgoing, at: float, error: str) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE outbox SET attempts = attempts + 1, next_at = ?, error = ? WHERE id = ?", (at, error, item.id)
            )

    def give_up(self, item: Outgoing, error: str, notice: str | None) -> None:
        """Mark `item` undeliverable; `notice` (if any) is queued for its chat unless one was told lately."""
        now = self._clock()
        with self.db.transaction() as conn:
            conn.execute("UPDATE outbox SET state = 'given_up', error = ? WHERE id = ?", (error, item.id))
            if notice is None:
                return
            told = conn.execute(
                "SELECT 1 FROM outbox WHERE chat_id = ? AND kind = 'notice' AND created > ? LIMIT 1",
                (item.chat_id, item.created),
            ).fetchone()
            if not told:
                conn.execute(
                    "INSERT INTO outbox (chat_id, parts, kind, about, created, next_at) VALUES (?, ?, 'notice', '', ?, ?)",
                    (item.chat_id, json.dumps([notice], ensure_ascii=False), now, now),
                )

    def states(self) -> dict[str, int]:
        """How many messages are in each state (pending, sent, given_up)."""
        return {row[0]: row[1] for row in self.db.query("SELECT state, COUNT(*) FROM outbox GROUP BY state")}


class OutboxSender:
    """The background task that sends what is due, each chat's messages in order, many chats at once."""

    def __init__(
        self,
        outbox: Outbox,
        bot: Bot,
        max_age: float,
        first_delay: float = 0.5,
        max_delay: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.outbox = outbox
        self.bot = bot
        self.max_age = max_age
        self.first_delay = first_delay
        self.max_delay = max_delay
        self._clock = clock
        self._wake = asyncio.Event()
        self._busy: set[int] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._runner: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._runner = asyncio.create_task(self._run(), name="sanad-outbox")

    async def stop(self) -> None:
        """Stop sending; what is not sent stays in the outbox for the next start."""
        for task in [self._runner, *self._tasks]:
            if task is not None:
                task.cancel()
        await asyncio.gather(*[t for t in [self._runner, *self._tasks] if t is not None], return_exceptions=True)

    def wake(self) -> None:
        self._wake.set()

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                for item in self.outbox.due(self._busy):
                    self._busy.add(item.chat_id)
                    task = asyncio.create_task(self._deliver(item))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
                next_due = self.outbox.next_due()
            except Exception:  # a database error must not stop delivery for good
                log.exception("outbox: could not read the pending messages")
                next_due = self._clock() + 5
            wait = 60.0 if next_due is None else max(0.0, next_due - self._clock())
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=max(wait, 0.01))
            except TimeoutError:
                pass

    async def _deliver(self, item: Outgoing) -> None:
        try:
            await self._send_parts(item)
        except asyncio.CancelledError:
            raise
        except Exception as err:
            self._failed(item, err)
        finally:
            self._busy.discard(item.chat_id)
            self.wake()

    async def _send_parts(self, item: Outgoing) -> None:
        for number in range(item.sent_parts, len(item.parts)):
            last = number == len(item.parts) - 1
            markup = InlineKeyboardMarkup.de_json(item.markup, self.bot) if item.markup and last else None
            reply = (
                ReplyParameters(item.reply_to, allow_sending_without_reply=True)
                if item.reply_to is not None and number == 0
                else None
            )
            await self.bot.send_message(item.chat_id, item.parts[number], reply_markup=markup, reply_parameters=reply)
            self.outbox.part_sent(item, number + 1)

    def _failed(self, item: Outgoing, err: Exception) -> None:
        """One log line per failure; retry after the backoff, or give up (and tell the user, once)."""
        now = self._clock()
        notice = None if item.kind == "notice" else GAVE_UP.format(about=f" «{item.about}»" if item.about else "")
        if isinstance(err, Forbidden):  # the user blocked the bot or left the chat: nobody to tell
            log.warning("outbox: message %d to chat %d refused (%s); dropped", item.id, item.chat_id, err)
            self.outbox.give_up(item, str(err), None)
            return
        if isinstance(err, BadRequest) or not isinstance(err, TelegramError):
            # Fails the same way on every try: give up now (a bug, so with the traceback).
            log.error("outbox: message %d to chat %d cannot be sent; given up", item.id, item.chat_id, exc_info=err)
            self.outbox.give_up(item, str(err), notice)
            return
        age = now - item.created
        if age >= self.max_age:
            log.warning("outbox: message %d to chat %d undelivered after %.0f s (%s); given up",
                        item.id, item.chat_id, age, err)  # fmt: skip
            self.outbox.give_up(item, str(err), notice)
            return
        if isinstance(err, RetryAfter):
            delay = err.retry_after if isinstance(err.retry_after, int | float) else err.retry_after.total_seconds()
        else:
            delay = min(self.max_delay, self.first_delay * 2**item.attempts) * random.uniform(0.8, 1.2)
        at = min(now + delay, item.created + self.max_age)
        log.warning("outbox: message %d to chat %d not sent (%s: %s); retry %d in %.1f s",
                    item.id, item.chat_id, type(err).__name__, err, item.attempts + 1, at - now)  # fmt: skip
        self.outbox.retry(item, at, str(err))


def _outgoing(row: Any) -> Outgoing:
    return Outgoing(
        id=row["id"],
        chat_id=row["chat_id"],
        parts=json.loads(row["parts"]),
        markup=json.loads(row["markup"]) if row["markup"] else None,
        reply_to=row["reply_to"],
        kind=row["kind"],
        about=row["about"] or "",
        created=row["created"],
        sent_parts=row["sent_parts"],
        attempts=row["attempts"],
    )
