"""What the bot holds while it runs (kept in `application.bot_data`, never in module globals)."""

from __future__ import annotations

import asyncio
import copy
import logging
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from bot.callbacks import CallbackStore
from bot.feedback import FeedbackLog
from bot.limits import AllowList, RateLimiter
from qa.config import Settings
from qa.pipeline import Pipeline, build_settings, retriever_for, vector_build
from qa.types import Answer
from retrieval.store import AUTO_EMBED_LIMIT, build_index

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

    @property
    def reloading(self) -> bool:
        return self._reload_lock.locked()

    async def reload(self, settings: Settings) -> Pipeline:
        """Rebuild the index from the corpus in a thread of its own (answers go on), then swap it in."""
        async with self._reload_lock:
            vectors = vector_build(settings, limit=AUTO_EMBED_LIMIT)
            built = await asyncio.to_thread(
                build_index, Path(settings.corpus), settings.index_dir(), build_settings(settings),
                None, settings.corpus_named(), vectors,
            )
            index = retriever_for(built, settings, vectors, None, settings.index_dir())
            # A new pipeline object rather than assigning `index` in place: questions being read keep a
            # consistent (old index, old documents) pair until they finish.
            fresh = copy.copy(self.pipeline)
            fresh.index = index
            self.pipeline = fresh
            log.info("index reloaded: %d documents, %d passages", len(index.documents), len(index.passages))
            return fresh

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


class SeenUpdates:
    """The last update ids handled: Telegram redelivers an update when a webhook reply was slow or lost."""

    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self._ids: OrderedDict[int, None] = OrderedDict()

    def first_time(self, update_id: int) -> bool:
        if update_id in self._ids:
            return False
        self._ids[update_id] = None
        if len(self._ids) > self.capacity:
            self._ids.popitem(last=False)
        return True


@dataclass
class BotState:
    settings: Settings
    service: AnswerService
    callbacks: CallbackStore
    feedback: FeedbackLog
    rate: RateLimiter
    allowed: AllowList
    examples: list[str] = field(default_factory=list)
    seen: SeenUpdates = field(default_factory=SeenUpdates)
