"""What the bot holds while it runs (kept in `application.bot_data`, never in module globals)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from bot.callbacks import CallbackStore
from bot.db import Database
from bot.feedback import Feedback
from bot.limits import AllowList, RateLimiter
from bot.outbox import Outbox, OutboxSender
from bot.settings import BotSettings
from qa.config import Settings
from qa.pipeline import Pipeline
from qa.types import Answer, Citation

log = logging.getLogger(__name__)

STATE_KEY = "sanad"


class AnswerService:
    """Runs the pipeline off the event loop, at most `max_reads` questions at a time."""

    def __init__(self, pipeline: Pipeline, max_reads: int) -> None:
        self.pipeline = pipeline
        self.max_reads = max_reads
        self._executor = ThreadPoolExecutor(max_workers=max_reads, thread_name_prefix="sanad-read")
        self._reload_lock = asyncio.Lock()

    async def ask(self, question: str) -> Answer:
        """The pipeline's answer; QuestionError (with its Arabic message) for unusable input."""
        pipeline = self.pipeline  # a reload swaps the attribute; this question keeps the one it started with
        return await asyncio.get_running_loop().run_in_executor(self._executor, pipeline.ask, question)

    async def more(self, answer: Answer) -> list[Citation]:
        """Other documents' passages for `answer` (Pipeline.more), read off the event loop."""
        pipeline = self.pipeline
        return await asyncio.get_running_loop().run_in_executor(self._executor, pipeline.more, answer)

    @property
    def reloading(self) -> bool:
        return self._reload_lock.locked()

    async def reload(self, settings: Settings) -> Pipeline:
        """Rebuild the index from the corpus in a thread of its own (answers go on), then swap it in."""
        async with self._reload_lock:
            fresh = await asyncio.to_thread(self.pipeline.rebuilt, settings)
            self.pipeline = fresh
            index = fresh.index
            log.info("index reloaded: %d documents, %d passages", len(index.documents), len(index.passages))
            return fresh

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


class SeenUpdates:
    """Updates handled, kept in the database: Telegram redelivers an update when a webhook reply was slow or
    lost, and polling redelivers what was fetched but not yet confirmed when the bot was killed."""

    def __init__(self, db: Database, keep: float = 86400.0, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self.keep = keep
        self._clock = clock
        self._in_progress: set[int] = set()

    def first_time(self, update_id: int) -> bool:
        """True the first time `update_id` is seen (it is then in progress until `done`)."""
        if update_id in self._in_progress or self.db.query("SELECT 1 FROM handled WHERE update_id = ?", (update_id,)):
            return False
        self._in_progress.add(update_id)
        return True

    def done(self, update_id: int) -> None:
        now = self._clock()
        with self.db.transaction() as conn:
            conn.execute("INSERT OR IGNORE INTO handled (update_id, at) VALUES (?, ?)", (update_id, now))
            conn.execute("DELETE FROM handled WHERE at < ?", (now - self.keep,))
        self._in_progress.discard(update_id)


@dataclass
class BotState:
    settings: Settings  # the shared ones: corpus, index, reader (a /reload rebuilds with them)
    bot_settings: BotSettings
    service: AnswerService
    db: Database
    callbacks: CallbackStore
    feedback: Feedback
    rate: RateLimiter
    allowed: AllowList
    outbox: Outbox
    sender: OutboxSender
    seen: SeenUpdates
    examples: list[str] = field(default_factory=list)
