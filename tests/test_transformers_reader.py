"""The transformers reader on a tiny BERT QA model built in the test: offsets, windows, batches."""

from pathlib import Path

import pytest

from qa.readers.base import Reader
from qa.readers.transformers_reader import ReaderLoadError, TransformersReader
from retrieval.chunk import chunk_document
from tests.support.tiny_model import build_tiny_qa_model

QUESTION = "من هو المتحدث باسم وزارة الخارجية الأمريكية؟"


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory, seed_corpus) -> Path:
    return build_tiny_qa_model(tmp_path_factory.mktemp("tiny-qa"), [d.text for d in seed_corpus.documents])


@pytest.fixture(scope="module")
def passages(seed_corpus):
    return [p for d in seed_corpus.documents for p in chunk_document(d)][:8]


def _assert_exact_spans(answers):
    assert answers
    for answer in answers:
        c = answer.citations[0]
        assert c.passage[c.start : c.end] == answer.text
        assert 0 <= answer.score <= 1


def test_the_tiny_tokenizer_knows_the_corpus_words(tiny_model):
    from transformers import AutoTokenizer

    tokens = AutoTokenizer.from_pretrained(tiny_model).tokenize(QUESTION)
    # Every word is known; at most the final «؟» may be missing from the tiny vocabulary.
    assert tokens.count("[UNK]") <= 1 and len(tokens) >= 6


def test_reader_satisfies_the_contract(tiny_model):
    reader = TransformersReader(str(tiny_model), local_files_only=True)
    assert isinstance(reader, Reader) and reader.name == f"transformers:{tiny_model}"
    assert reader.read(QUESTION, []) == []  # no passages, no candidates (and no model call)


def test_every_span_is_an_exact_substring(tiny_model, passages):
    reader = TransformersReader(str(tiny_model), max_seq_length=128, doc_stride=32, local_files_only=True)
    answers = reader.read(QUESTION, passages)
    _assert_exact_spans(answers)
    assert {a.citations[0].passage_id for a in answers} <= {p.id for p in passages}
    assert all(a.reader.startswith("transformers:") for a in answers)


def test_long_passages_are_windowed_and_offsets_stay_in_the_original(tiny_model, seed_corpus):
    from retrieval.types import Passage

    doc = max(seed_corpus.documents, key=lambda d: len(d.text))
    whole = Passage(id="long", doc_id=doc.id, text=doc.text, start=0, end=len(doc.text))
    reader = TransformersReader(str(tiny_model), max_seq_length=64, doc_stride=16, local_files_only=True, max_answers=50)
    reader.warm_up()
    windows = reader.encode(QUESTION, [whole])
    assert len(windows) > 3, "a long passage must span several windows"
    answers = reader.read(QUESTION, [whole])
    _assert_exact_spans(answers)
    # Spans come from windows all over the document, not only the first one.
    assert max(a.citations[0].start for a in answers) > len(doc.text) // 4


def test_batch_size_does_not_change_the_answers(tiny_model, passages):
    one = TransformersReader(str(tiny_model), batch_size=1, max_seq_length=96, doc_stride=32, local_files_only=True)
    many = TransformersReader(str(tiny_model), batch_size=16, max_seq_length=96, doc_stride=32, local_files_only=True)
    a, b = one.read(QUESTION, passages), many.read(QUESTION, passages)
    assert [(x.text, x.citations[0].passage_id) for x in a] == [(y.text, y.citations[0].passage_id) for y in b]
    assert [x.score for x in a] == pytest.approx([y.score for y in b], rel=1e-4)


def test_diacritics_and_tatweel_keep_offsets_exact(tiny_model):
    from retrieval.types import Passage

    text = "قالَ المتحـــدثُ باسمِ الوزارةِ ماثيو ميلر إنّ الاجتماعَ سيُعقدُ يومَ 21 يونيو (June) 2024."
    reader = TransformersReader(str(tiny_model), local_files_only=True)
    _assert_exact_spans(reader.read(QUESTION, [Passage("p", "d", text, 0, len(text))]))


def test_no_passages_no_answers(tiny_model):
    assert TransformersReader(str(tiny_model), local_files_only=True).read(QUESTION, []) == []


def test_missing_checkpoint_gives_a_clear_error(tmp_path):
    reader = TransformersReader(str(tmp_path / "no-such-model"), local_files_only=True)
    with pytest.raises(ReaderLoadError, match="no-such-model"):
        reader.warm_up()


def test_stride_must_be_smaller_than_the_window():
    with pytest.raises(ValueError, match="doc_stride"):
        TransformersReader("x", max_seq_length=64, doc_stride=64)
