"""Question-passage windows for an extractive QA model, and answers decoded from its logits.

Shared by the transformers reader and the shipped neural reader: both tokenize with a fast
(`tokenizers`) tokenizer, cut long passages into overlapping windows (max length, stride), run the
model on padded batches, and map the n-best token spans back to character offsets in the original
passage text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from qa.readers.base import distinct_answers, span_answer
from qa.readers.decode import MAX_ANSWER_TOKENS, best_spans
from qa.readers.question_text import question_for_reader
from qa.types import Answer
from retrieval.types import Passage

# Start and end logits, each [windows, tokens], for a batch of model inputs.
LogitsFn = Callable[[dict[str, np.ndarray]], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class Windows:
    """Encoded windows: model inputs padded to one length, and what decoding needs per window."""

    input_ids: np.ndarray  # [windows, tokens] int64
    attention_mask: np.ndarray
    token_type_ids: np.ndarray
    passage_index: np.ndarray  # [windows]: which passage each window reads
    context_mask: np.ndarray  # [windows, tokens] bool: the passage's own tokens
    offsets: np.ndarray  # [windows, tokens, 2]: character offsets into the passage

    def __len__(self) -> int:
        return int(self.input_ids.shape[0])

    def width(self, rows: slice) -> int:
        """The longest of these windows, in tokens (windows are right-padded)."""
        return int(self.attention_mask[rows].sum(axis=1).max())

    def inputs(self, rows: slice, names: Sequence[str]) -> dict[str, np.ndarray]:
        """Model inputs of `rows`, cut to their own longest window: a batch carries no padding that
        only another batch's windows needed."""
        width = self.width(rows)
        available = {
            "input_ids": self.input_ids,
            "attention_mask": self.attention_mask,
            "token_type_ids": self.token_type_ids,
        }
        return {name: available[name][rows, :width] for name in names}


def check_windowing(max_seq_length: int, doc_stride: int) -> None:
    """Windows must advance: the overlap has to be shorter than a window."""
    if doc_stride >= max_seq_length:
        raise ValueError(f"doc_stride ({doc_stride}) must be smaller than max_seq_length ({max_seq_length})")


def encode_windows(
    tokenizer: Any, question: str, passages: Sequence[Passage], max_length: int, stride: int
) -> Windows:
    """Windows of `question` (as `question_for_reader` spells it) paired with each passage; `tokenizer`
    is a `tokenizers.Tokenizer`."""
    read_as = question_for_reader(question)
    return encode_pairs(tokenizer, [(read_as, p.text) for p in passages], max_length, stride)


def encode_pairs(tokenizer: Any, pairs: Sequence[tuple[str, str]], max_length: int, stride: int) -> Windows:
    """Windows of each (question, context) pair, `passage_index` naming the pair; the one window
    encoder of serving and training. `tokenizer` is a `tokenizers.Tokenizer`.

    The tokenizer object is configured for this call (truncation of the context only, overflow with
    `stride` tokens of overlap), as transformers' own call would; windows are padded to the longest.
    """
    tokenizer.no_padding()  # windows are padded here, to the longest of this call
    tokenizer.enable_truncation(max_length, stride=stride, strategy="only_second")
    encodings = tokenizer.encode_batch(list(pairs))
    rows: list[Any] = []
    owners: list[int] = []
    for index, encoding in enumerate(encodings):
        for window in [encoding, *encoding.overflowing]:
            rows.append(window)
            owners.append(index)
    width = max(len(w.ids) for w in rows)

    def padded(values: Callable[[Any], list[int]], fill: int) -> np.ndarray:
        out = np.full((len(rows), width), fill, dtype=np.int64)
        for r, window in enumerate(rows):
            v = values(window)
            out[r, : len(v)] = v
        return out

    pad_id = next((i for t in ("<pad>", "[PAD]") if (i := tokenizer.token_to_id(t)) is not None), 0)
    context = np.zeros((len(rows), width), dtype=bool)
    offsets = np.zeros((len(rows), width, 2), dtype=np.int64)
    for r, window in enumerate(rows):
        sequence = window.sequence_ids
        context[r, : len(sequence)] = [s == 1 for s in sequence]
        offsets[r, : len(window.offsets)] = window.offsets
    return Windows(
        input_ids=padded(lambda w: w.ids, pad_id),
        attention_mask=padded(lambda w: w.attention_mask, 0),
        token_type_ids=padded(lambda w: w.type_ids, 0),
        passage_index=np.asarray(owners, dtype=np.int64),
        context_mask=context,
        offsets=offsets,
    )


def read_windows(
    question: str,
    passages: Sequence[Passage],
    windows: Windows,
    logits: LogitsFn,
    input_names: Sequence[str],
    reader_name: str,
    batch_size: int = 8,
    max_answer_tokens: int = MAX_ANSWER_TOKENS,
    n_best: int = 20,
    max_answers: int = 10,
    use_null_score: bool = True,
) -> list[Answer]:
    """Run `logits` over the windows in batches; the best distinct spans, best first.

    With `batch_size` 1 a window's spans depend on that window alone (see `NeuralReader`)."""
    answers: list[Answer] = []
    for start in range(0, len(windows), batch_size):
        rows = slice(start, start + batch_size)
        start_logits, end_logits = logits(windows.inputs(rows, input_names))
        width = start_logits.shape[1]
        for row in range(start_logits.shape[0]):
            window = start + row
            passage = passages[int(windows.passage_index[window])]
            spans, null_p = best_spans(
                start_logits[row],
                end_logits[row],
                windows.context_mask[window, :width],
                max_answer_tokens=max_answer_tokens,
                n_best=n_best,
                null_index=0,
            )
            offsets = windows.offsets[window]
            for span in spans:
                char_start, char_end = _trimmed(passage.text, int(offsets[span.start][0]), int(offsets[span.end][1]))
                if char_end <= char_start or "\n" in passage.text[char_start:char_end]:
                    continue  # empty, or across a line break: a heading and the text under it are not one answer
                score = span.probability
                if use_null_score:
                    # Relative to "no answer in this window": a span the model barely prefers to
                    # nothing scores about 0.5, a confident one near 1.
                    total = span.probability + null_p
                    score = span.probability / total if total else 0.0
                answers.append(span_answer(question, passage, char_start, char_end, score, reader_name))
    # Overlapping windows find one span twice: the best-scored copy stays.
    best_first = sorted(answers, key=lambda a: -a.score)
    return distinct_answers(best_first, overlapping=False)[:max_answers]


def _trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    """The span without surrounding spaces and clause punctuation: SentencePiece's ▁ pieces carry the
    space before a word in their offsets, and a span that ends on «،» or «.» says nothing more."""
    while start < end and (text[start].isspace() or text[start] in _EDGE_PUNCTUATION):
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] in _EDGE_PUNCTUATION):
        end -= 1
    return start, end


_EDGE_PUNCTUATION = frozenset("،,.;؛:!?؟")
