"""Hard no-answer examples for training the neural reader: a question with the paragraph retrieval confuses for its own.

The pipeline reads the top passages hybrid retrieval returns, and most of them are not the question's:
on ARCD train three in four of dense retrieval's first-rank misses are another paragraph of the same
article. A reader trained only on its question's own paragraph is sure of a span in any of them (P(span)
≥ 0.999 on 60% of the passages it reads), so its score cannot tell the right passage from a neighbour.
These examples teach it that a paragraph on the same subject that does not hold the answer has none.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from qa.config import Settings
from qa.evaluation.evaluate import squad_index
from qa.evaluation.gold import load_gold
from qa.metrics import normalize_answer
from qa.readers.neural_train import is_held_out

# How deep in the fused ranking to look for a passage of another paragraph without the answer.
SEARCH_DEPTH = 20


def hard_negatives(path: Path, holdout: int, settings: Settings | None = None) -> dict[str, Any]:
    """A SQuAD 2.0 file: each answerable question of the SQuAD file `path` (held-out ones skipped, as
    training skips them) paired, as unanswerable, with another of the file's paragraphs: the first one
    that hybrid search over the file's paragraphs (`squad_index`, as `sanad eval` indexes them) ranks and that
    does not hold the answer (compared normalized). The whole paragraph, not the passage retrieved:
    negatives as long as the positives, or the reader learns that a short text has no answer (a first
    run on passages did: its answers in the right paragraph lost 1 F1). Vectors come from the vector cache."""
    gold = load_gold(path, "squad")
    retriever = squad_index(gold, (settings or Settings()).model_copy(update={"retrieval": "hybrid"}))
    paragraph = {doc_id: doc.text for doc_id, doc in retriever.documents.items()}
    normalized = {doc_id: normalize_answer(text) for doc_id, text in paragraph.items()}
    paragraphs: dict[str, list[dict[str, Any]]] = {}
    for question in gold.questions:
        if not question.answers or is_held_out(question.id, holdout):
            continue
        answers = [a for a in map(normalize_answer, question.answers) if a]
        for hit in retriever.search(question.question, SEARCH_DEPTH):
            doc_id = hit.passage.doc_id
            if doc_id != question.doc_id and not any(a in normalized[doc_id] for a in answers):
                paragraphs.setdefault(paragraph[doc_id], []).append(
                    {"id": f"{question.id}-hard-negative", "question": question.question, "answers": [],
                     "is_impossible": True}
                )  # fmt: skip
                break
    return {"version": "v2.0", "data": [{"title": f"hard negatives of {path.name}", "paragraphs": [
        {"context": context, "qas": qas} for context, qas in paragraphs.items()
    ]}]}  # fmt: skip
