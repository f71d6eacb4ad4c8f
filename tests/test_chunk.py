"""Sentence-aware passages with offsets into their document."""

from retrieval.chunk import chunk_document, sentence_spans
from retrieval.types import Document


def test_passages_point_into_their_document(seed_corpus):
    for doc in seed_corpus.documents:
        passages = chunk_document(doc)
        assert passages
        for p in passages:
            assert doc.text[p.start : p.end] == p.text
            assert p.doc_id == doc.id


def test_every_sentence_is_in_some_passage(seed_corpus):
    for doc in seed_corpus.documents:
        passages = chunk_document(doc)
        for start, end in sentence_spans(doc.text):
            assert any(p.start <= start and end <= p.end for p in passages), doc.text[start:end]


def test_consecutive_passages_overlap_by_a_sentence():
    text = " ".join(f"هذه الجملة رقم {i} في النص." for i in range(10))
    passages = chunk_document(Document(id="d", title="", text=text), max_sentences=3)
    for left, right in zip(passages, passages[1:]):
        assert right.start < left.end, "neighbours must share text"
    assert passages[-1].end == len(text)


def test_arabic_sentence_marks_and_line_breaks_split():
    text = "هل وصل الوزير؟ نعم وصل؛ ثم غادر!\nسطر جديد"
    pieces = [text[s:e] for s, e in sentence_spans(text)]
    assert pieces == ["هل وصل الوزير؟", "نعم وصل؛", "ثم غادر!", "سطر جديد"]


def test_decimal_point_does_not_split():
    assert len(sentence_spans("ارتفع السعر 2.5 بالمئة اليوم.")) == 1


def test_overlong_sentence_is_cut_at_commas_within_the_limit():
    text = "، ".join(["كلمة أخرى في جملة طويلة جدا"] * 40) + "."
    spans = sentence_spans(text, max_chars=200)
    assert len(spans) > 1 and all(e - s <= 200 for s, e in spans)
    assert "".join(text[s:e] for s, e in spans).replace(" ", "") == text.replace(" ", "")
