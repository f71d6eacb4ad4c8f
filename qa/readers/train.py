"""Training the embedded reader's span model on SQuAD-format data (ARCD train), with a fixed seed.

Targets: every candidate's word F1 against the gold answer (located by its text, since ARCD's
answer_start is wrong for some questions). The model is a softmax over each question's candidates (all
that overlap the answer and a seeded sample of the rest), fitted to sharp F1 targets plus its expected
F1. Calibration is fitted on held-out folds (grouped by article)
so the probability describes questions the model has not seen.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.optimize import minimize
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from qa.metrics import exact_match, f1_score
from qa.readers.features import BASE_FEATURES, CROSS_FEATURES, Candidates, candidates
from qa.readers.question_types import KINDS, question_info
from qa.readers.span_model import SpanModel
from qa.squad import SquadAnswer, locate_answer, read_squad
from retrieval.words import words

log = logging.getLogger(__name__)

SEED = 13
# Random negatives kept per question outside the gold sentence; the gold sentence's are all kept.
NEGATIVES_PER_QUESTION = 400
REGULARIZATION_C = 1.0
CALIBRATION_FOLDS = 5
# A question trains the model only if some candidate reaches this F1 against its gold answer.
POSITIVE_F1 = 0.5
# Sharpness of the cross-entropy targets (F1**power) and the weight of the expected-F1 term; chosen by
# grouped 5-fold CV on ARCD train (power 4/8/16/32/64/256, weight 0/2/5/10/20).
TARGET_POWER = 64
EXPECTED_F1_WEIGHT = 10.0
# An answer counts as right, for calibration, when its F1 against the gold answer reaches this.
CORRECT_F1 = 0.5


@dataclass(frozen=True)
class Example:
    """One question on one paragraph, the answer located in it by text."""

    id: str
    group: str  # the article: folds never split one
    question: str
    context: str
    answers: tuple[str, ...]
    start: int  # character span of the first answer in `context`, -1 if not found
    end: int


def load_squad(path: Path) -> list[Example]:
    """SQuAD v1.1 JSON as examples, each answer found by text nearest its given start."""
    examples: list[Example] = []
    for paragraph in read_squad(path):
        context = paragraph.context
        for qa in paragraph.questions:
            answers = tuple(a.text for a in qa.answers)
            start, end = _answer_span(context, qa.answers[0]) if answers else (-1, -1)
            examples.append(Example(qa.id, str(paragraph.article), qa.question, context, answers, start, end))
    return examples


def _answer_span(context: str, answer: SquadAnswer) -> tuple[int, int]:
    """Character span of the answer's text nearest its given start; (-1, -1) when it is not there."""
    text = answer.text.strip()
    start = locate_answer(context, text, answer.start or 0) if text else None
    return (-1, -1) if start is None else (start, start + len(text))


def fit(examples: Sequence[Example], seed: int = SEED, c: float = REGULARIZATION_C) -> SpanModel:
    """Fit the span model and its calibration on `examples`."""
    started = time.perf_counter()
    features = [_question_features(e) for e in examples]
    # One BLAS thread: threads split the gradient's sums differently from run to run, and L-BFGS
    # amplifies those last bits into different weights; the artifact must be reproducible.
    with threadpool_limits(limits=1):
        weights, bias = _fit_linear(features, seed, c)
        calibration = _fit_calibration(examples, features, seed, c)
    meta = {
        "trained_on": len(examples),
        "seed": seed,
        "c": c,
        "negatives_per_question": NEGATIVES_PER_QUESTION,
        "seconds": round(time.perf_counter() - started, 1),
    }
    return SpanModel(weights=weights, bias=bias, calibration=calibration, meta=meta)


@dataclass(frozen=True)
class _QuestionFeatures:
    cands: Candidates
    kind: str
    labels: np.ndarray  # 1 for the candidate closest to the gold answer, when it is close enough
    f1: np.ndarray  # each candidate's word F1 against the gold answer
    hard: np.ndarray  # candidates overlapping the gold answer: the near misses to tell apart


def _question_features(example: Example) -> _QuestionFeatures:
    info = question_info(example.question)
    cands = candidates(info, [example.context])
    f1 = np.zeros(len(cands))
    if example.start >= 0 and len(cands):
        gold = [k for k, w in enumerate(words(example.context)) if w.start < example.end and w.end > example.start]
        if gold:
            f1 = _word_f1(cands, gold[0], gold[-1])
    labels = np.zeros(len(cands), dtype=np.int64)
    if len(cands) and f1.max() >= POSITIVE_F1:
        labels[int(np.argmax(f1))] = 1
    return _QuestionFeatures(cands, info.kind, labels, f1, f1 > 0)


def _word_f1(cands: Candidates, first: int, last: int) -> np.ndarray:
    """F1 of every candidate's words against the gold words first..last (passage word indices)."""
    overlap = np.clip(np.minimum(cands.word_end, last) - np.maximum(cands.word_start, first) + 1, 0, None)
    precision = overlap / (cands.word_end - cands.word_start + 1)
    recall = overlap / (last - first + 1)
    return np.where(overlap > 0, 2 * precision * recall / np.maximum(precision + recall, 1e-9), 0.0)


def _fit_linear(features: Sequence[_QuestionFeatures], seed: int, c: float) -> tuple[np.ndarray, float]:
    """Linear scores, softmaxed over each question's candidates, fitted to two aims at once.

    Ranking a question's candidates against each other is the task, so the loss compares them within a
    question. Cross-entropy against targets ∝ F1**TARGET_POWER (sharp: near-exact spans, for EM) plus
    EXPECTED_F1_WEIGHT times the expected F1 of the softmax's pick (credit for near misses, for F1).
    """
    rng = np.random.default_rng(seed)
    groups = []
    for f in features:
        if not f.labels.any():
            continue
        rest = np.flatnonzero(~f.hard)
        if len(rest) > NEGATIVES_PER_QUESTION:
            rest = rng.choice(rest, NEGATIVES_PER_QUESTION, replace=False)
        rows = np.concatenate([np.flatnonzero(f.hard), rest])
        target = f.f1[rows] ** TARGET_POWER
        groups.append(
            (f.cands.base[rows].astype(np.float64), f.cands.cross[rows].astype(np.float64), KINDS.index(f.kind),
             target / target.sum(), f.f1[rows])
        )
    n_base, n_cross = len(BASE_FEATURES), len(CROSS_FEATURES)
    dim = n_base + len(KINDS) * n_cross
    n = max(1, len(groups))
    l2 = 1.0 / (c * n)

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        total, grad = 0.0, np.zeros(dim)
        for base, cross, k, target, f1 in groups:
            offset = n_base + k * n_cross
            z = base @ w[:n_base] + cross @ w[offset : offset + n_cross]
            e = np.exp(z - z.max())
            p = e / e.sum()
            expected_f1 = p @ f1
            total += np.log(e.sum()) + z.max() - target @ z - EXPECTED_F1_WEIGHT * expected_f1
            g = p - target - EXPECTED_F1_WEIGHT * p * (f1 - expected_f1)
            grad[:n_base] += base.T @ g
            grad[offset : offset + n_cross] += cross.T @ g
        return total / n + 0.5 * l2 * w @ w, grad / n + l2 * w

    result = minimize(loss, np.zeros(dim), jac=True, method="L-BFGS-B", options={"maxiter": 500})
    return result.x.astype(np.float32), 0.0


def _fit_calibration(
    examples: Sequence[Example], features: Sequence[_QuestionFeatures], seed: int, c: float
) -> tuple[float, float]:
    """Platt scaling of held-out top-span scores against whether the top span is right."""
    groups = sorted({e.group for e in examples})
    folds = min(CALIBRATION_FOLDS, len(groups))
    if folds < 2:
        return 1.0, 0.0
    fold_of = {g: i % folds for i, g in enumerate(np.random.default_rng(seed).permutation(groups))}
    scores, correct = [], []
    for fold in range(folds):
        train = [f for e, f in zip(examples, features) if fold_of[e.group] != fold]
        held = [(e, f) for e, f in zip(examples, features) if fold_of[e.group] == fold]
        if not any(f.labels.any() for f in train) or not held:
            continue
        weights, bias = _fit_linear(train, seed, c)
        for e, f in held:
            if not len(f.cands):
                continue
            raw = f.cands.linear_scores(f.kind, weights, bias)
            top = int(np.argmax(raw))
            scores.append(float(raw[top]))
            correct.append(f1_score(e.context[f.cands.start[top] : f.cands.end[top]], e.answers) >= CORRECT_F1)
    if len(set(correct)) < 2:
        return 1.0, 0.0
    platt = LogisticRegression(C=100.0)
    platt.fit(np.array(scores).reshape(-1, 1), np.array(correct, dtype=np.int64))
    return float(platt.coef_[0][0]), float(platt.intercept_[0])


def evaluate(model: SpanModel, examples: Iterable[Example]) -> dict[str, float]:
    """Reader-mode EM/F1 (percent): the gold paragraph is given, the top span is the prediction."""
    ems, f1s = [], []
    for e in examples:
        info = question_info(e.question)
        cands = candidates(info, [e.context])
        if len(cands):
            top = int(np.argmax(model.linear_scores(cands, info.kind)))
            prediction: str | None = e.context[cands.start[top] : cands.end[top]]
        else:
            prediction = None
        ems.append(exact_match(prediction, e.answers))
        f1s.append(f1_score(prediction, e.answers))
    return {"n": len(ems), "em": 100 * float(np.mean(ems)), "f1": 100 * float(np.mean(f1s))}
