"""The pipeline end to end over the seeds with the embedded reader."""

import pytest

from qa.pipeline import Pipeline
from qa.question import MAX_QUESTION_CHARS, QuestionError, check_question
from qa.readers.embedded import EmbeddedReader
from qa.selection import DENSE_SUPPORT_RANGE, passage_support, select_answer
from qa.types import Answer, Citation
from retrieval.types import Hit, Passage


@pytest.fixture(scope="module")
def pipeline(seed_index) -> Pipeline:
    return Pipeline(seed_index, EmbeddedReader())


def test_spokesman_question_is_answered_and_cited(pipeline):
    answer = pipeline.ask("من هو المتحدث باسم وزارة الخارجية الأمريكية؟")
    assert answer.text == "ماثيو ميلر"
    first = answer.citations[0]
    assert first.doc_id == "003_d15b74a03d651d6f"
    assert first.passage[first.start : first.end] == answer.text
    assert first.title and answer.reader == "embedded" and answer.latency_ms > 0


def test_every_citation_quotes_its_passage(pipeline):
    answer = pipeline.ask("متى وصل بلينكن إلى تل أبيب؟")
    assert answer.found
    for c in answer.citations:
        assert c.passage[c.start : c.end] == c.quote
    assert answer.citations[0].quote == answer.text


def test_unanswerable_question_gives_no_answer_and_closest_passages(pipeline):
    answer = pipeline.ask("ما هي عاصمة أستراليا؟")
    assert answer.text is None
    assert answer.citations and all(c.start == c.end == 0 for c in answer.citations)


@pytest.mark.parametrize("question", ["", "   \n\t ", "😀🎉👍", "؟؟؟ !!", "x" * (MAX_QUESTION_CHARS + 1)])
def test_unusable_questions_get_a_clear_arabic_message(pipeline, question):
    with pytest.raises(QuestionError) as err:
        pipeline.ask(question)
    assert any("\u0600" <= ch <= "\u06ff" for ch in err.value.message_ar)
    assert err.value.message_en


def test_question_at_the_length_limit_is_accepted():
    assert check_question("  " + "ب" * MAX_QUESTION_CHARS + " ") == "ب" * MAX_QUESTION_CHARS


def _candidate(passage: Passage, start: int, end: int, score: float) -> Answer:
    cite = Citation(passage.doc_id, "", "", passage.id, passage.text, start, end, score)
    return Answer("q", passage.text[start:end], score, [cite], "test")


def test_selection_drops_overlapping_duplicates_from_overlapping_passages():
    text = "الجملة الأولى. قال المتحدث ماثيو ميلر اليوم. الجملة الثالثة."
    a = Passage("d#0", "d", text[:45], 0, 45)
    b = Passage("d#1", "d", text[15:], 15, len(text))
    hits = [Hit(a, 2.0, 1), Hit(b, 1.0, 2)]
    span = "ماثيو ميلر"
    candidates = [
        _candidate(a, a.text.index(span), a.text.index(span) + len(span), 0.9),
        _candidate(b, b.text.index(span), b.text.index(span) + len(span), 0.8),
        _candidate(b, b.text.index("الثالثة"), b.text.index("الثالثة") + 7, 0.5),
    ]
    answer = select_answer("q", hits, [], candidates, {}, threshold=0.1, reader_weight=0.7, reader_name="t")
    assert answer.text == span
    assert [c.quote for c in answer.citations] == [span, "الثالثة"]


def test_selection_abstains_below_the_threshold():
    p = Passage("d#0", "d", "نص قصير للاختبار.", 0, 17)
    answer = select_answer(
        "q", [Hit(p, 1.0, 1)], [], [_candidate(p, 0, 2, 0.1)], {}, threshold=0.5, reader_weight=1.0, reader_name="t"
    )
    assert answer.text is None and answer.citations[0].passage_id == "d#0"


def test_combined_score_is_the_geometric_mean_of_reader_and_coverage():
    p1, p2 = Passage("a", "d", "ألف باء", 0, 7), Passage("b", "d", "جيم دال", 8, 15)
    hits = [Hit(p1, 10.0, 1), Hit(p2, 5.0, 2)]
    cands = [_candidate(p1, 0, 3, 0.5), _candidate(p2, 0, 3, 0.8)]
    coverage = {"a": 0.9, "b": 0.2}
    answer = select_answer(
        "q", hits, [], cands, {}, threshold=0.0, reader_weight=0.5, reader_name="t", coverage=coverage
    )
    # a: sqrt(0.5 * 0.9) = 0.671 beats b: sqrt(0.8 * 0.2) = 0.4, though b's reader score is higher.
    assert answer.text == "ألف" and answer.score == pytest.approx((0.5 * 0.9) ** 0.5)


def test_support_is_coverage_alone_by_bm25_and_averaged_with_rescaled_similarity_with_vectors():
    low, high = DENSE_SUPPORT_RANGE
    assert passage_support(0.4, None) == 0.4
    assert passage_support(0.4, high + 0.05) == pytest.approx(0.7)  # similarity past the range counts 1
    assert passage_support(0.4, low - 0.05) == pytest.approx(0.2)  # below it, 0
    assert passage_support(0.4, (low + high) / 2) == pytest.approx(0.45)


def test_the_pipeline_weighs_each_hits_similarity_in_its_support():
    """Two passages with the same coverage: the one closer in meaning to the question wins."""

    class Index:
        documents: dict = {}

        def __init__(self, hits):
            self.hits = hits

        def search(self, question, k):
            return self.hits

        def coverage(self, question, passages):
            return [0.5 for _ in passages]

        def closest(self, question):
            return []

    class Reader:
        name = "t"

        def read(self, question, passages):
            return [_candidate(passages[0], 0, 3, 0.9), _candidate(passages[1], 0, 3, 0.8)]

    p1, p2 = Passage("a", "d", "ألف باء", 0, 7), Passage("b", "e", "جيم دال", 0, 7)
    far, near = DENSE_SUPPORT_RANGE[0], DENSE_SUPPORT_RANGE[1]
    answer = Pipeline(Index([Hit(p1, 2.0, 1, far), Hit(p2, 1.0, 2, near)]), Reader(), no_answer_threshold=0.0).ask("سؤال")
    assert answer.text == "جيم" and answer.score == pytest.approx((0.8 * 0.75) ** 0.5)
    by_bm25 = Pipeline(Index([Hit(p1, 2.0, 1), Hit(p2, 1.0, 2)]), Reader(), no_answer_threshold=0.0).ask("سؤال")
    assert by_bm25.text == "ألف"


def test_a_passage_missing_the_questions_key_word_sinks_a_confident_span():
    p = Passage("a", "d", "ألف باء", 0, 7)
    answer = select_answer(
        "q", [Hit(p, 1.0, 1)], [], [_candidate(p, 0, 3, 0.95)], {},
        threshold=0.3, reader_weight=0.5, reader_name="t", coverage={"a": 0.05},
    )
    assert answer.text is None


def test_coverage_weighs_words_the_corpus_lacks_most(seed_index):
    passage = next(p for p in seed_index.passages if "ماثيو ميلر" in p.text)
    full, = seed_index.coverage("المتحدث باسم وزارة الخارجية", [passage])
    partial, = seed_index.coverage("المتحدث باسم وزارة الخارجية اليابانية", [passage])
    assert full == pytest.approx(1.0)
    # One unknown word takes over a third of the weight of a five-word question.
    assert partial < 0.7


def test_everyday_question_words_do_not_lower_a_passages_support(seed_index):
    """«مين» and «اللي» are question words the corpus lacks: as rare terms they would weigh most of the
    question's idf mass. The support is measured on the question as the reader reads it («من», «الذي»)."""

    class Reader:
        name = "t"

        def read(self, question, passages):
            passage = next(p for p in passages if "ماثيو ميلر" in p.text)
            start = passage.text.index("ماثيو ميلر")
            return [_candidate(passage, start, start + len("ماثيو ميلر"), 0.9)]

    pipeline = Pipeline(seed_index, Reader(), no_answer_threshold=0.0)
    msa = pipeline.ask("من الذي يتحدث باسم وزارة الخارجية الأمريكية؟")
    everyday = pipeline.ask("مين اللي يتحدث باسم وزارة الخارجية الأمريكية؟")
    assert everyday.text == msa.text == "ماثيو ميلر"
    assert everyday.score == pytest.approx(msa.score)
    passage = next(p for p in seed_index.passages if p.id == msa.citations[0].passage_id)
    (as_typed,) = seed_index.coverage("مين اللي يتحدث باسم وزارة الخارجية الأمريكية؟", [passage])
    (as_read,) = seed_index.coverage("من الذي يتحدث باسم وزارة الخارجية الأمريكية؟", [passage])
    assert as_typed < as_read  # the lower support the question as typed would have had
