"""The pipeline behind the API: loaded once, read in a bounded thread pool, one reader per kind asked for."""

from __future__ import annotations

import asyncio
import copy
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from qa.cli import failure_of
from qa.config import Settings
from qa.pipeline import Pipeline
from qa.readers.factory import make_reader
from qa.types import Answer
from web.errors import ApiError

log = logging.getLogger(__name__)

T = TypeVar("T")


class AnswerService:
    """Answers off the event loop: at most `settings.api_max_concurrent_reads` reads run at once, the rest wait."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.pipeline: Pipeline | None = None
        self.load_error: ApiError | None = None
        self._by_reader: dict[str, Pipeline] = {}
        self._build_lock = threading.Lock()
        self._executor = ThreadPoolExecutor(settings.api_max_concurrent_reads, thread_name_prefix="sanad-read")

    def load(self, pipeline: Pipeline | None = None) -> None:
        """Open the index and make the reader (blocking: seconds to minutes); errors a user can fix are kept."""
        notices: list[str] = []
        try:
            self.pipeline = pipeline or Pipeline.from_settings(self.settings, notices)
        except Exception as err:
            failure = failure_of(err)
            if failure is None:
                raise
            self.load_error = ApiError(503, failure[0], str(err))
            raise
        for notice in notices:
            log.warning("%s", notice)
        # Under its kind too ("neural:e5-small-ar" is the neural one), so that asking for the reader
        # `auto` chose does not build it a second time.
        built_kind = self.pipeline.reader.name.partition(":")[0]
        for kind in ("auto", built_kind):
            self._by_reader[kind] = self.pipeline
        log.info("ready: %d documents, %d passages, reader %s", len(self.pipeline.index.documents),
                 len(self.pipeline.index.passages), self.pipeline.reader.name)  # fmt: skip

    def ready_pipeline(self) -> Pipeline:
        """The loaded pipeline, or a 503 saying why there is none yet."""
        if self.pipeline is not None:
            return self.pipeline
        raise self.load_error or ApiError(503, "not_ready", "الخادم يحمّل الفهرس ونموذج القراءة. حاول بعد لحظات.")

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        """`fn(*args)` in the read pool; a request waits there, not on the event loop, when all reads are busy."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def ask(self, question: str, top_k: int | None, reader: str | None) -> tuple[Answer, dict[str, float]]:
        """The answer and the seconds of each stage; blocking, for `run`."""
        timings: dict[str, float] = {}
        answer = self._pipeline_for(reader).ask(question, top_k, timings)
        return answer, timings

    def _pipeline_for(self, reader: str | None) -> Pipeline:
        """The pipeline with the reader `reader` (default: the configured one), built on first use."""
        base = self.ready_pipeline()
        if reader is None or reader in self._by_reader:
            return self._by_reader.get(reader or "auto", base)
        with self._build_lock:  # one build per kind, however many requests ask for it at once
            if reader not in self._by_reader:
                settings = self.settings.model_copy(update={"reader": reader})
                try:
                    made = make_reader(settings)
                except Exception as err:
                    failure = failure_of(err)
                    if failure is None:
                        raise
                    raise ApiError(503, failure[0], str(err)) from err
                # Same index, another reader and its own no-answer threshold.
                fresh = copy.copy(base)
                fresh.reader = made
                fresh.no_answer_threshold = settings.threshold_for(made)
                self._by_reader[reader] = fresh
            return self._by_reader[reader]

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
