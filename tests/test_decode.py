"""Span decoding from hand-made start/end logits."""

import numpy as np
import pytest

from qa.readers.decode import best_spans

# Token layout: [CLS] q q [SEP] c c c c c [SEP]
CONTEXT = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1, 0], dtype=bool)


def logits(peaks: dict[int, float]) -> np.ndarray:
    values = np.full(len(CONTEXT), -10.0)
    for i, v in peaks.items():
        values[i] = v
    return values


def test_best_span_is_the_start_and_end_peaks():
    spans, _ = best_spans(logits({5: 8.0}), logits({7: 8.0}), CONTEXT)
    assert (spans[0].start, spans[0].end) == (5, 7)


def test_spans_never_leave_the_context():
    # The highest logits sit on question tokens and [SEP]; decoding must ignore them.
    spans, _ = best_spans(logits({1: 20.0, 4: 5.0}), logits({9: 20.0, 6: 5.0}), CONTEXT)
    assert all(CONTEXT[s.start] and CONTEXT[s.end] for s in spans)
    assert (spans[0].start, spans[0].end) == (4, 6)


def test_end_before_start_is_rejected():
    spans, _ = best_spans(logits({7: 9.0, 4: 1.0}), logits({5: 9.0, 8: 1.0}), CONTEXT)
    assert all(s.end >= s.start for s in spans)
    assert (spans[0].start, spans[0].end) != (7, 5)


def test_maximum_answer_length():
    spans, _ = best_spans(logits({4: 9.0}), logits({8: 9.0, 5: 1.0}), CONTEXT, max_answer_tokens=2)
    assert all(s.end - s.start + 1 <= 2 for s in spans)
    assert (spans[0].start, spans[0].end) == (4, 5)


def test_null_probability_from_cls():
    _, null_confident = best_spans(logits({0: 10.0}), logits({0: 10.0}), CONTEXT)
    _, null_unlikely = best_spans(logits({5: 10.0}), logits({6: 10.0}), CONTEXT)
    assert null_confident > 0.9 and null_unlikely < 0.01


def test_probabilities_are_sorted_and_bounded():
    rng = np.random.default_rng(0)
    spans, null = best_spans(rng.normal(size=10), rng.normal(size=10), CONTEXT, n_best=50)
    probs = [s.probability for s in spans]
    assert probs == sorted(probs, reverse=True)
    assert 0 <= sum(probs) + null <= 1 + 1e-9


def test_n_best_limits_the_list():
    spans, _ = best_spans(np.zeros(10), np.zeros(10), CONTEXT, n_best=3)
    assert len(spans) == 3


def test_empty_context():
    spans, null = best_spans(np.zeros(10), np.zeros(10), np.zeros(10, dtype=bool))
    assert spans == [] and null == pytest.approx(1.0)
