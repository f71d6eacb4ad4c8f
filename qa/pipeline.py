"""The question-answering pipeline: check → retrieve → read → select. It owns no stage's logic."""

from __future__ import annotations

import logging
import re
import time
import unicodedata
from dataclasses import replace
from pathlib import Path

from qa.config import DEFAULT_NO_ANSWER_THRESHOLD, DEFAULT_READER_WEIGHT, DEFAULT_TOP_K, Settings
from qa.question import check_question
from qa.readers.base import Reader
from qa.readers.question_text import question_for_reader
from qa.selection import passage_citations, passage_support, select_answer
from qa.types import Answer, Citation
from retrieval.analyze import Analyzer
from retrieval.dense import Embedder, VectorCache
from retrieval.hybrid import HybridIndex, no_vectors_notice
from retrieval.index import BM25Index, BuildSettings
from retrieval.normalize import normalized_words
from retrieval.store import AUTO_EMBED_LIMIT, VectorBuild, build_index, open_index
from retrieval.types import Hit

log = logging.getLogger(__name__)

# Other sources that `Pipeline.more` lists (the bot's «مصادر أخرى», the REPL's /more): one short message.
MORE_SOURCES = 5
# Passages it searches to find them: one per document is kept and the answer's own document dropped, so
# it searches well past `limit` to still have `limit` documents when a few documents hold most passages.
MORE_POOL = 30


class Pipeline:
    """Answers questions over one index with one reader."""

    def __init__(
        self,
        index: BM25Index | HybridIndex,
        reader: Reader,
        top_k: int = DEFAULT_TOP_K,
        no_answer_threshold: float = DEFAULT_NO_ANSWER_THRESHOLD,
        reader_weight: float = DEFAULT_READER_WEIGHT,
    ) -> None:
        self.index = index
        self.reader = reader
        self.top_k = top_k
        self.no_answer_threshold = no_answer_threshold
        self.reader_weight = reader_weight

    @classmethod
    def from_settings(cls, settings: Settings, notices: list[str] | None = None) -> Pipeline:
        """Open (building or rebuilding if needed) the index for `settings.corpus` and make the reader."""
        from qa.readers.factory import make_reader

        retriever = _retriever(settings, notices, rebuild=False)
        reader = make_reader(settings, notices)
        return cls(retriever, reader, settings.top_k, settings.threshold_for(reader), settings.reader_weight)

    def rebuilt(self, settings: Settings) -> Pipeline:
        """A new pipeline over an index rebuilt from `settings.corpus`, with this one's reader and settings.

        A new object rather than `index` assigned in place: questions being read on this one keep a
        consistent (old index, old documents) pair until they finish. Slow (a whole build): run it off
        any event loop.
        """
        index = _retriever(settings, None, rebuild=True)
        return Pipeline(index, self.reader, self.top_k, self.no_answer_threshold, self.reader_weight)

    def search(self, question: str, k: int | None = None) -> list[Hit]:
        return self.index.search(check_question(question), k or self.top_k)

    def ask(
        self,
        question: str,
        top_k: int | None = None,
        timings: dict[str, float] | None = None,
        threshold: float | None = None,
    ) -> Answer:
        """Answer `question`; raises QuestionError (with an Arabic message) for unusable input.

        `top_k` and `threshold`, when given, replace the pipeline's for this call only (an evaluation
        reads at threshold 0 and applies thresholds to the stored scores afterwards).

        `timings`, when given, receives the seconds each stage took ("retrieve", "read", "select"),
        for a server's metrics.
        """
        started = time.perf_counter()
        question = check_question(question)
        hits = self.index.search(question, top_k or self.top_k)
        searched = time.perf_counter()
        passages = [h.passage for h in hits]
        candidates = self.reader.read(question, passages) if hits else []
        read = time.perf_counter()
        # Coverage is measured on the question as the reader reads it: «مين», «اللي», «كام» become «من»,
        # «الذي», «كم», stopwords, instead of rare terms no passage holds that would weigh most of the
        # question's idf mass. Dialect dev set (158 held-out questions): pipeline F1 70.75 → 71.26.
        covered = self.index.coverage(question_for_reader(question), passages)
        support = {hit.passage.id: passage_support(c, hit.similarity) for hit, c in zip(hits, covered)}
        answer = select_answer(
            question,
            hits,
            [] if hits else self.index.closest(question),
            candidates,
            self.index.documents,
            threshold=self.no_answer_threshold if threshold is None else threshold,
            reader_weight=self.reader_weight,
            reader_name=self.reader.name,
            coverage=support,
        )
        finished = time.perf_counter()
        if timings is not None:
            timings.update(retrieve=searched - started, read=read - searched, select=finished - read)
        latency = (finished - started) * 1000
        log.debug("answered in %.1f ms: %r", latency, answer.text)
        return replace(answer, latency_ms=latency)

    def more(self, answer: Answer, limit: int = MORE_SOURCES, search_k: int = MORE_POOL) -> list[Citation]:
        """Other documents' passages for `answer` ("other sources"): what the REPL's /more and the bot's button show.

        One passage per document, never from the answer's own document (its other fragments are not
        other sources). For a found answer, the passages that hold the answer's words (compared
        normalized) come first, the span marking them (`passage[start:end]`): they support it. The
        others, and every passage of a no-answer, are whole passages (start == end == 0), best retrieved
        first; a reader's span there would be a different answer shown as if it confirmed this one.
        Titles and sources are filled in.
        """
        question = check_question(answer.question)
        own = answer.citations[0].doc_id if answer.found and answer.citations else None
        # Nothing shares a word or a trigram with the question (one in English, say): each document's
        # opening, so that the user still sees what the corpus holds.
        hits = self.index.search(question, search_k) or self.index.closest(question) or self._openings(limit)
        best_per_document: dict[str, Hit] = {}
        supporting: dict[str, tuple[Hit, tuple[int, int]]] = {}
        for hit in hits:
            doc_id = hit.passage.doc_id
            if doc_id == own or doc_id in supporting:
                continue
            found = find_words(hit.passage.text, answer.text) if answer.text else None
            if found:
                supporting[doc_id] = (hit, found)
            best_per_document.setdefault(doc_id, hit)
        spans = {hit.passage.id: span for hit, span in supporting.values()}
        chosen = [hit for hit, _ in supporting.values()]
        chosen += [hit for doc_id, hit in best_per_document.items() if doc_id not in supporting]
        citations = passage_citations(chosen[:limit], self.index.documents, n=limit)
        return [replace(c, start=spans[c.passage_id][0], end=spans[c.passage_id][1]) if c.passage_id in spans else c
                for c in citations]  # fmt: skip

    def _openings(self, limit: int) -> list[Hit]:
        firsts = [self.index.passages_of(doc_id)[:1] for doc_id in list(self.index.documents)[:limit]]
        return [Hit(passages[0], 0.0, rank) for rank, passages in enumerate(filter(None, firsts), start=1)]


def find_words(text: str, words: str) -> tuple[int, int] | None:
    """Where `words` occur in `text`, compared as normalized words (diacritics, alef forms…); None if not."""
    wanted = normalized_words(words)
    if not wanted:
        return None
    exact = text.find(words)
    if exact >= 0:
        return exact, exact + len(words)
    tokens = [(m.start(), m.end(), normalized_words(m.group(0))) for m in _WORD.finditer(text)]
    flat = [(start, end, word) for start, end, pieces in tokens for word in pieces]
    for i in range(len(flat) - len(wanted) + 1):
        if [w for _, _, w in flat[i : i + len(wanted)]] == wanted:
            start, end = flat[i][0], flat[i + len(wanted) - 1][1]
            while end > start and unicodedata.category(text[end - 1])[0] == "P":  # «ميلر،» → «ميلر»
                end -= 1
            return start, end
    return None


_WORD = re.compile(r"\S+")


def _retriever(settings: Settings, notices: list[str] | None, rebuild: bool) -> HybridIndex:
    """The index of `settings.corpus`: opened (built if missing or stale), or rebuilt from scratch."""
    vectors = vector_build(settings, limit=AUTO_EMBED_LIMIT)
    make = build_index if rebuild else open_index
    index = make(
        Path(settings.corpus), settings.index_dir(), build_settings(settings), notices, settings.corpus_named(), vectors
    )
    return retriever_for(index, settings, vectors, notices, settings.index_dir())


def build_settings(settings: Settings) -> BuildSettings:
    """The index build settings that `settings` ask for."""
    return BuildSettings(analyzer=Analyzer(stemmer=settings.stemmer), k1=settings.k1, b=settings.b)


def vector_build(settings: Settings, limit: int | None = None) -> VectorBuild | None:
    """How the index gets dense vectors for `settings.retrieval`; None for BM25 alone."""
    if settings.retrieval == "bm25":
        return None
    return VectorBuild(Embedder(settings.embed_threads), VectorCache(settings.vector_cache), limit)


def retriever_for(
    index: BM25Index, settings: Settings, vectors: VectorBuild | None, notices: list[str] | None, where: Path | str
) -> HybridIndex:
    """`index` searched by `settings.retrieval`; without vectors, by BM25, with one notice saying how to add them."""
    retriever = HybridIndex(index, settings.retrieval, vectors.embedder if vectors else None)
    if retriever.mode != retriever.requested_mode:
        message = no_vectors_notice(where)
        if notices is None:
            log.warning(message)
        else:
            notices.append(message)
    return retriever
