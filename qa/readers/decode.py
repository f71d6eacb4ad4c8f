"""Decode answer spans from an extractive QA model's start/end logits (transformers v5 has no QA pipeline)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# The longest answer, in tokens. Chosen on held-out training-side dev sets (README, "Neural reader"):
# pipeline F1 at 24 / 30 / 35 / 40 / 50 tokens 68.6 / 70.1 / 70.8 / 71.5 / 71.4 (native questions,
# a third of their paragraphs removed) and 34.7 / 34.6 / 35.0 / 34.9 / 34.9 (AQAD); some of ARCD's
# answers are whole clauses (2-9% of gold answers on the training side are longer than 30 tokens:
# ARCD train 2.2%, held-out native 4.4%, TyDi 8.7%).
MAX_ANSWER_TOKENS = 40


@dataclass(frozen=True)
class TokenSpan:
    start: int  # first token of the answer
    end: int  # last token of the answer (inclusive)
    probability: float  # P(start) * P(end) under the window's softmax


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max()
    exp = np.exp(shifted)
    return exp / exp.sum()


def best_spans(
    start_logits: np.ndarray,
    end_logits: np.ndarray,
    context_mask: np.ndarray,
    max_answer_tokens: int = MAX_ANSWER_TOKENS,
    n_best: int = 20,
    null_index: int | None = 0,
) -> tuple[list[TokenSpan], float]:
    """The `n_best` spans inside the context, best first, and the no-answer probability.

    Softmax runs over the context tokens plus the null token (CLS at `null_index`) so that span and
    no-answer probabilities are comparable; spans may not cross the context mask, end before they
    start, or exceed `max_answer_tokens`.
    """
    allowed = context_mask.astype(bool).copy()
    if null_index is not None:
        allowed[null_index] = True
    masked_start = np.where(allowed, start_logits, -np.inf)
    masked_end = np.where(allowed, end_logits, -np.inf)
    p_start = softmax(masked_start)
    p_end = softmax(masked_end)
    null_probability = float(p_start[null_index] * p_end[null_index]) if null_index is not None else 0.0

    context = np.flatnonzero(context_mask)
    if context.size == 0:
        return [], null_probability
    k = min(n_best, context.size)
    top_starts = context[np.argsort(-p_start[context], kind="stable")[:k]]
    top_ends = context[np.argsort(-p_end[context], kind="stable")[:k]]
    spans: list[TokenSpan] = []
    for s in top_starts:
        for e in top_ends:
            if e < s or e - s + 1 > max_answer_tokens:
                continue
            if not context_mask[s : e + 1].all():
                continue
            spans.append(TokenSpan(int(s), int(e), float(p_start[s] * p_end[e])))
    spans.sort(key=lambda span: (-span.probability, span.start, span.end))
    return spans[:n_best], null_probability
