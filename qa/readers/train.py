"""Training the embedded reader's span model on SQuAD-format data (ARCD train), with a fixed seed.

Labels: the candidate that best covers the gold answer (located by its text, since ARCD's
answer_start is wrong for some questions) is the positive; the other candidates of its sentence and a
seeded sample of the rest are negatives. Calibration is fitted on held-out folds (grouped by article)
so the probability describes questions the model has not seen.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from qa.metrics import exact_match, f1_score
from qa.readers.features import Candidates, candidates, question_info
from qa.readers.span_model import SpanModel

log = logging.getLogger(__name__)

SEED = 13
# Random negatives kept per question outside the gold sentence; the gold sentence's are all kept.
NEGATIVES_PER_QUESTION = 200
REGULARIZATION_C = 0.5
CALIBRATION_FOLDS = 5
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
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    examples: list[Example] = []
    for a_index, article in enumerate(data["data"]):
        for paragraph in article["paragraphs"]:
            context = paragraph["context"]
            for qa in paragraph["qas"]:
                answers = tuple(a["text"] for a in qa.get("answers", []))
                start, end = locate_answer(context, qa["answers"][0]) if answers else (-1, -1)
                examples.append(
                    Example(qa["id"], str(a_index), qa["question"], context, answers, start, end)
                )
    return examples


def locate_answer(context: str, answer: dict) -> tuple[int, int]:
    """The occurrence of the answer text nearest to its `answer_start` (which may be wrong)."""
    text = answer["text"].strip()
    if not text:
        return -1, -1
    given = int(answer.get("answer_start", 0))
    found = []
    position = context.find(text)
    while position >= 0:
        found.append(position)
        position = context.find(text, position + 1)
    if not found:
        return -1, -1
    start = min(found, key=lambda p: abs(p - given))
    return start, start + len(text)


def fit(examples: Sequence[Example], seed: int = SEED, c: float = REGULARIZATION_C) -> SpanModel:
    """Fit the span model and its calibration on `examples`."""
    started = time.perf_counter()
    features = [_question_features(e) for e in examples]
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
    labels: np.ndarray  # 1 for the positive candidate
    hard: np.ndarray  # candidates overlapping the gold answer: the near misses to tell apart


def _question_features(example: Example) -> _QuestionFeatures:
    info = question_info(example.question)
    cands = candidates(info, [example.context])
    labels = np.zeros(len(cands), dtype=np.int64)
    hard = np.zeros(len(cands), dtype=bool)
    if example.start >= 0 and len(cands):
        inter = np.clip(np.minimum(cands.end, example.end) - np.maximum(cands.start, example.start), 0, None)
        union = np.maximum(cands.end, example.end) - np.minimum(cands.start, example.start)
        iou = inter / np.maximum(union, 1)
        best = int(np.argmax(iou))
        if iou[best] >= 0.5:
            labels[best] = 1
        hard = inter > 0
    return _QuestionFeatures(cands, info.kind, labels, hard)


def _fit_linear(features: Sequence[_QuestionFeatures], seed: int, c: float) -> tuple[np.ndarray, float]:
    rng = np.random.default_rng(seed)
    rows, ys = [], []
    for f in features:
        if not f.labels.any():
            continue
        chosen = f.labels.astype(bool) | f.hard
        rest = np.flatnonzero(~chosen)
        if len(rest) > NEGATIVES_PER_QUESTION:
            rest = rng.choice(rest, NEGATIVES_PER_QUESTION, replace=False)
        chosen[rest] = True
        rows.append(f.cands.matrix(f.kind, np.flatnonzero(chosen)))
        ys.append(f.labels[chosen])
    x, y = np.concatenate(rows), np.concatenate(ys)
    model = LogisticRegression(C=c, max_iter=2000, class_weight={0: 1.0, 1: 5.0}, random_state=seed)
    model.fit(x, y)
    return model.coef_[0].astype(np.float32), float(model.intercept_[0])


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
            top = int(np.argmax(model.raw(cands, info.kind)))
            prediction: str | None = e.context[cands.start[top] : cands.end[top]]
        else:
            prediction = None
        ems.append(exact_match(prediction, e.answers))
        f1s.append(f1_score(prediction, e.answers))
    return {"n": len(ems), "em": 100 * float(np.mean(ems)), "f1": 100 * float(np.mean(f1s))}
