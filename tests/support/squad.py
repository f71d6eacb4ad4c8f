"""A small SQuAD-format gold file (one answer_start wrong, on purpose) for the gold and evaluation tests."""

from __future__ import annotations

import json
from pathlib import Path


def squad_file(tmp_path: Path) -> Path:
    data = {
        "data": [
            {
                "title": "غزة",
                "paragraphs": [
                    {
                        "context": "وصل بلينكن إلى تل أبيب مساء الأحد. ثم وصل بلينكن إلى القاهرة.",
                        "qas": [
                            # answer_start wrong (points at the first «بلينكن», not this text).
                            {"id": "s1", "question": "متى وصل بلينكن؟", "answers": [{"text": "مساء الأحد", "answer_start": 4}]},
                            {"id": "s2", "question": "إلى أين وصل؟", "answers": [{"text": "القاهرة", "answer_start": 53}]},
                        ],
                    },
                    {
                        "context": "قال المتحدث ماثيو ميلر إن الاجتماع يوم الخميس.",
                        "qas": [{"id": "s3", "question": "من المتحدث؟", "answers": [{"text": "ماثيو ميلر", "answer_start": 12}]}],
                    },
                ],
            },
            # Distractors: BM25's idf is zero for a term in half the passages, so a two-paragraph file retrieves nothing.
            {"title": "أخرى", "paragraphs": [{"context": text, "qas": []} for text in DISTRACTORS]},
        ]
    }
    path = tmp_path / "squad.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


DISTRACTORS = (
    "تقع مدينة الإسكندرية على ساحل البحر المتوسط.",
    "يزرع القمح في الشتاء ويحصد في الربيع.",
    "افتتح المتحف الجديد أبوابه للزوار هذا العام.",
    "فاز الفريق بالبطولة بعد مباراة صعبة.",
)
