"""Evaluate a gold set end to end: build what the mode needs (index, reader), run, summarize."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from qa.config import Settings
from qa.evaluation.gold import GoldError, GoldSet
from qa.evaluation.run import Prediction, run_pipeline, run_reader
from qa.evaluation.summary import Summary, summarize
from qa.pipeline import Pipeline, build_settings, retriever_for, vector_build
from qa.readers.base import Reader
from qa.readers.factory import make_reader
from retrieval.dense import embed_passages
from retrieval.hybrid import HybridIndex
from retrieval.index import BM25Index
from retrieval.store import AUTO_EMBED_LIMIT, open_index

EVAL_MODES = ("pipeline", "reader")


@dataclass(frozen=True)
class Evaluation:
    predictions: tuple[Prediction, ...]
    summary: Summary


def evaluate(
    gold: GoldSet,
    settings: Settings,
    mode: str = "pipeline",
    notices: list[str] | None = None,
    reader: Reader | None = None,
    progress: bool | None = None,
) -> Evaluation:
    """Run `gold` in `mode` with the reader `settings` choose (or `reader`), at `settings.threshold_for(reader)`.

    JSON Lines gold is asked over `settings.corpus`; a SQuAD file over an in-memory index of its own
    paragraphs, each paragraph a document.
    """
    if mode not in EVAL_MODES:
        raise ValueError(f"unknown mode {mode!r}; choose one of {', '.join(EVAL_MODES)}")
    index = _index_for(gold, settings, notices)
    _check_documents(gold, index)
    reader = reader or make_reader(settings, notices)
    threshold = settings.threshold_for(reader)
    if mode == "pipeline":
        pipeline = Pipeline(index, reader, settings.top_k, threshold, settings.reader_weight)
        predictions = run_pipeline(gold.questions, pipeline, threshold, progress)
    else:
        predictions = run_reader(
            gold.questions, reader, index.documents, threshold, index=index, top_k=settings.top_k,
            whole_documents=gold.format == "squad", progress=progress,
        )  # fmt: skip
    summary = summarize(predictions, reader=reader.name, mode=mode, top_k=settings.top_k, retrieval=index.mode)
    return Evaluation(predictions=tuple(predictions), summary=summary)


def _index_for(gold: GoldSet, settings: Settings, notices: list[str] | None) -> HybridIndex:
    """The index to ask over, searched by `settings.retrieval` (a SQuAD file's: `squad_index`)."""
    if gold.format == "squad":
        return squad_index(gold, settings, notices)
    vectors = vector_build(settings, limit=AUTO_EMBED_LIMIT)
    index = open_index(
        Path(settings.corpus), settings.index_dir(), build_settings(settings), notices, settings.corpus_named(),
        vectors,
    )  # fmt: skip
    return retriever_for(index, settings, vectors, notices, settings.index_dir())


def squad_index(gold: GoldSet, settings: Settings, notices: list[str] | None = None) -> HybridIndex:
    """An in-memory index of a SQuAD file's paragraphs, each a document, searched by `settings.retrieval`.

    The paragraphs are embedded here each run unless the vector cache has them (no limit: there is no
    other way to evaluate dense retrieval on them).
    """
    vectors = vector_build(settings)
    index = BM25Index.build(list(gold.documents), build_settings(settings))
    if vectors is not None:
        index.attach_vectors(embed_passages(index.embedding_texts(), vectors.embedder, cache=vectors.cache))
    return retriever_for(index, settings, vectors, notices, gold.path)


def _check_documents(gold: GoldSet, index: BM25Index | HybridIndex) -> None:
    unknown = [q for q in gold.questions if q.doc_id is not None and q.doc_id not in index.documents]
    if unknown:
        first = unknown[0]
        raise GoldError(
            f"{gold.path}, line {first.line}: doc_id {first.doc_id!r} is not in the corpus "
            f"({len(unknown)} question(s) like this). Pass --corpus with the documents the gold set was written for."
        )
