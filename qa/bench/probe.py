"""A small BERT QA model that has actually learned extractive QA, trained here from random init on ARCD.

`sanad bench reader` measures int8's span agreement with fp32 on random weights (near-flat logits: a
floor) and on a contrived confident head (a ceiling). Neither is what a trained reader sees; this
"probe" model is: a WordPiece vocabulary trained on the seeds and ARCD's training texts, a 4-layer,
hidden-256 `BertForQuestionAnswering` trained on ARCD's training questions within a time budget on
the CPU, nothing downloaded. Its F1 on ARCD's test set is far below a pretrained reader's, but it is
well above a trivial baseline, so its logits have the shape of a model that learned the task.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from qa.bench.bert import wordpiece_bert_qa
from qa.config import Settings, seed_folder
from qa.metrics import f1_score
from qa.squad import read_squad
from retrieval.types import Passage

log = logging.getLogger(__name__)

STATS = "probe.json"


def arcd_file(split: str) -> Path:
    """ARCD's "train" or "test" set, in the datasets folder (SANAD_DATASETS)."""
    return Settings().datasets / "arcd" / f"arcd-{split}.json"


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    context: str
    answers: list[str]
    answer_start: int


def load_questions(path: Path, limit: int | None = None) -> list[Question]:
    """SQuAD-format questions with their gold paragraph and first gold answer's offset."""
    questions = [
        Question(qa.id, qa.question, paragraph.context, [a.text for a in qa.answers], qa.answers[0].start or 0)
        for paragraph in read_squad(path)
        for qa in paragraph.questions
        if qa.answers
    ]
    return questions[:limit] if limit else questions


def gold_passage(question: Question) -> Passage:
    return Passage(id=f"p-{question.id}", doc_id=f"d-{question.id}", text=question.context, start=0,
                   end=len(question.context))


def train_probe_model(
    out: Path,
    minutes: float = 12.0,
    layers: int = 4,
    hidden: int = 256,
    max_length: int = 256,
    vocabulary: int = 16_000,
    max_epochs: int = 60,
    batch_size: int = 16,
    learning_rate: float = 1e-3,
    train_limit: int | None = None,
    test_limit: int | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Train the probe model into `out` within about `minutes` of training, evaluate it, save its stats."""
    train = load_questions(arcd_file("train"), train_limit)
    started = time.perf_counter()
    tokenizer, model = wordpiece_bert_qa(
        out, _texts(train), vocabulary=vocabulary, layers=layers, hidden=hidden, max_length=max_length, seed=seed
    )
    config = model.config
    features = _features(tokenizer, train, max_length)
    steps, epochs, seconds = _fit(model, features, minutes, max_epochs, batch_size, learning_rate, seed)
    model.eval()
    model.save_pretrained(out)
    parameters = sum(p.numel() for p in model.parameters())
    test = load_questions(arcd_file("test"), test_limit)
    stats = {
        "model": {"layers": layers, "hidden": hidden, "heads": config.num_attention_heads, "vocabulary":
                  tokenizer.vocab_size, "max_seq_length": max_length, "parameters": parameters},
        "train_questions": len(train),
        "train_windows": len(features["input_ids"]),
        "epochs": round(epochs, 1),
        "steps": steps,
        "training_seconds": round(seconds, 1),
        "total_seconds": round(time.perf_counter() - started, 1),
        "f1_train": _f1(out, train[:200]),
        "f1_test": _f1(out, test),
        "f1_test_baseline_first_words": _baseline_f1(train, test),
        "test_questions": len(test),
    }
    (out / STATS).write_text(json.dumps(stats, ensure_ascii=False, indent=1), encoding="utf-8")
    return stats


def _texts(train: list[Question]) -> list[str]:
    texts = [p.read_text(encoding="utf-8") for p in sorted(seed_folder().glob("*.txt"))]
    return texts + sorted({q.context for q in train}) + [q.question for q in train]


def _features(tokenizer: Any, questions: list[Question], max_length: int) -> dict[str, np.ndarray]:
    """Windows with start/end token labels; a window that misses the answer points at [CLS]."""
    enc = tokenizer(
        [q.question for q in questions],
        [q.context for q in questions],
        truncation="only_second",
        max_length=max_length,
        stride=min(96, max_length // 3),
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
        padding="max_length",
        return_tensors="np",
    )
    starts, ends = [], []
    for i in range(len(enc["input_ids"])):
        q = questions[int(enc["overflow_to_sample_mapping"][i])]
        first, last = q.answer_start, q.answer_start + len(q.answers[0])
        sequence_ids = enc.sequence_ids(i)
        offsets = enc["offset_mapping"][i]
        context = [t for t, s in enumerate(sequence_ids) if s == 1]
        start = end = 0
        if context and offsets[context[0]][0] <= first and offsets[context[-1]][1] >= last:
            start = next(t for t in context if offsets[t][1] > first)
            end = next(t for t in reversed(context) if offsets[t][0] < last)
        starts.append(start)
        ends.append(max(start, end))
    return {
        "input_ids": enc["input_ids"],
        "attention_mask": enc["attention_mask"],
        "token_type_ids": enc["token_type_ids"],
        "start_positions": np.array(starts),
        "end_positions": np.array(ends),
    }


def _fit(
    model: Any, features: dict[str, np.ndarray], minutes: float, max_epochs: int, batch_size: int,
    learning_rate: float, seed: int,
) -> tuple[int, float, float]:
    """AdamW with warm-up and linear decay; the number of steps is fitted to the time budget after
    timing the first few."""
    import torch

    n = len(features["input_ids"])
    per_epoch = math.ceil(n / batch_size)
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=0.01)
    rng = np.random.default_rng(seed)
    planned = max_epochs * per_epoch
    step, started = 0, time.perf_counter()
    model.train()
    lengths = features["attention_mask"].sum(1)
    while step < planned:
        for index in _length_batches(lengths, batch_size, rng):
            if step >= planned:
                break
            if step == 5:  # fit the schedule to the budget
                per_step = (time.perf_counter() - started) / 5
                planned = max(6, min(planned, int(minutes * 60 / per_step)))
            batch = {k: torch.as_tensor(v[index]) for k, v in features.items()}
            length = int(batch["attention_mask"].sum(1).max())
            batch = {k: (v[:, :length] if v.dim() == 2 else v) for k, v in batch.items()}
            warmup = max(1, planned // 10)
            scale = min((step + 1) / warmup, max(0.0, (planned - step) / max(1, planned - warmup)))
            for group in optimizer.param_groups:
                group["lr"] = learning_rate * scale
            loss = model(**batch).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            optimizer.zero_grad()
            step += 1
            if step % 50 == 0:
                elapsed = time.perf_counter() - started
                log.info("step %d/%d loss %.3f (%.0f s)", step, planned, loss.item(), elapsed)
    return step, step / per_epoch, time.perf_counter() - started


def _length_batches(lengths: np.ndarray, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """One epoch's batches of windows of similar length (less padding), in random order."""
    order = rng.permutation(len(lengths))
    batches = []
    for first in range(0, len(order), 32 * batch_size):
        chunk = order[first : first + 32 * batch_size]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    return [batches[i] for i in rng.permutation(len(batches))]


def _f1(model_dir: Path, questions: list[Question]) -> float:
    reader = probe_reader(model_dir)
    scores = []
    for q in questions:
        answers = reader.read(q.question, [gold_passage(q)])
        scores.append(f1_score(answers[0].text if answers else "", q.answers))
    return round(100 * float(np.mean(scores)), 1) if scores else 0.0


def probe_reader(model_dir: Path, **options: Any) -> Any:
    """The transformers reader as the probe model is evaluated: always answering, windows of its length."""
    from transformers import AutoTokenizer

    from qa.readers.transformers_reader import TransformersReader

    length = min(int(AutoTokenizer.from_pretrained(model_dir).model_max_length), 512)
    return TransformersReader(
        str(model_dir), max_seq_length=length, doc_stride=min(96, length // 3), local_files_only=True,
        use_null_score=False, **options
    )


def _baseline_f1(train: list[Question], test: list[Question]) -> float:
    """The paragraph's first k words, k the median gold answer length in training: a trivial reader."""
    k = int(np.median([len(q.answers[0].split()) for q in train])) or 1
    scores = [f1_score(" ".join(q.context.split()[:k]), q.answers) for q in test]
    return round(100 * float(np.mean(scores)), 1) if scores else 0.0
