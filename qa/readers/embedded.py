"""The embedded reader: a learned span model that ships inside the package and answers with no download."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from qa.readers.base import distinct_answers, span_answer
from qa.readers.features import candidates
from qa.readers.question_types import question_info
from qa.readers.span_model import SpanModel, load_model
from qa.types import Answer
from retrieval.types import Passage


class EmbeddedReader:
    """Scores every short span of the passages with the shipped model (trained on ARCD train).

    Scores are calibrated probabilities that the span is the answer (F1 >= 0.5 on held-out ARCD),
    so the pipeline's no-answer threshold compares like with like.
    """

    name = "embedded"

    def __init__(self, model: SpanModel | Path | None = None, max_answers: int = 10) -> None:
        self._model = model if isinstance(model, SpanModel) else None
        self._path = model if isinstance(model, Path) else None
        self.max_answers = max_answers

    @property
    def model(self) -> SpanModel:
        # Loaded on first use (and cached per process), so building a reader costs nothing.
        if self._model is None:
            self._model = load_model(self._path)
        return self._model

    def read(self, question: str, passages: Sequence[Passage]) -> list[Answer]:
        if not passages:
            return []
        info = question_info(question)
        if not info.terms:
            return []
        cands = candidates(info, [p.text for p in passages])
        if not len(cands):
            return []
        linear = self.model.linear_scores(cands, info.kind)
        order = np.argsort(-linear, kind="stable")[: self.max_answers * 3]
        scores = self.model.probability(linear[order])
        best_first = (
            span_answer(question, passages[p], int(start), int(end), float(score), self.name)
            for p, start, end, score in zip(
                cands.passage_index[order], cands.start[order], cands.end[order], scores, strict=True
            )
        )
        # Neighbouring spans of one answer («ماثيو ميلر» / «ميلر») would crowd out the alternatives.
        return distinct_answers(best_first)[: self.max_answers]
