"""Hard no-answer examples for the neural reader: the other paragraph that retrieval ranks first."""

from __future__ import annotations

import json

from qa.config import Settings
from qa.metrics import normalize_answer
from qa.readers.hard_negatives import hard_negatives
from qa.readers.neural_train import is_held_out, load_examples

PARAGRAPHS = {
    "ميلر-0": "قال ماثيو ميلر المتحدث باسم وزارة الخارجية الأمريكية إن الوزير سيزور المنطقة الأسبوع المقبل.",
    "ميلر-1": "وأضاف المتحدث باسم الوزارة أن الزيارة تشمل القاهرة والدوحة وتل أبيب، وأنها تستمر ثلاثة أيام.",
    "هنية-0": "اغتيل إسماعيل هنية رئيس المكتب السياسي لحركة حماس في طهران في يوليو.",
}
QUESTIONS = [
    ("ميلر-0", "من هو المتحدث باسم وزارة الخارجية الأمريكية؟", "ماثيو ميلر"),
    ("ميلر-1", "كم يوما تستمر زيارة الوزير؟", "ثلاثة أيام"),
    ("ميلر-1", "ما المدن التي تشملها زيارة المتحدث باسم الوزارة؟", "القاهرة والدوحة وتل أبيب"),
    ("هنية-0", "أين اغتيل إسماعيل هنية؟", "في طهران"),
]


def _squad(tmp_path, ids):
    articles: dict[str, list] = {}
    for key, context in PARAGRAPHS.items():
        article = key.split("-")[0]
        qas = [{"id": ids[i], "question": q, "answers": [{"text": a, "answer_start": context.find(a)}]}
               for i, (where, q, a) in enumerate(QUESTIONS) if where == key]  # fmt: skip
        articles.setdefault(article, []).append({"context": context, "qas": qas})
    path = tmp_path / "train.json"
    path.write_text(json.dumps({"data": [{"title": t, "paragraphs": p} for t, p in articles.items()]}, ensure_ascii=False))
    return path


def test_each_question_gets_another_paragraph_without_its_answer(tmp_path):
    ids = [f"q{i}" for i in range(len(QUESTIONS))]
    held = [i for i in ids if is_held_out(i, 3)]
    settings = Settings(vector_cache=tmp_path / "vectors")
    negatives = hard_negatives(_squad(tmp_path, ids), holdout=3, settings=settings)

    (tmp_path / "negatives.json").write_text(json.dumps(negatives, ensure_ascii=False))
    examples = load_examples(tmp_path / "negatives.json")  # what training reads: unanswerable examples
    assert examples and all(e.start == -1 for e in examples)
    by_question = {e.question: e.context for e in examples}
    for i, (where, question, answer) in enumerate(QUESTIONS):
        if ids[i] in held:
            assert question not in by_question, "a held-out question became training data"
            continue
        context = by_question[question]
        assert context != PARAGRAPHS[where] and context in PARAGRAPHS.values()  # a whole paragraph
        assert normalize_answer(answer) not in normalize_answer(context)
    # The spokesman's question: its own article's other paragraph, not the one about another subject.
    if "q0" not in held:
        assert by_question[QUESTIONS[0][1]] == PARAGRAPHS["ميلر-1"]
