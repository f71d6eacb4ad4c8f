"""The seeds gold set (coverage, answers copied from the text) and the gold loaders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa.evaluation.gold import GoldError, load_gold
from qa.squad import locate_answer
from retrieval.corpus import Corpus
from retrieval.normalize import normalize
from tests.support.squad import squad_file

GOLD = Path(__file__).resolve().parent.parent / "seeds" / "gold.jsonl"
QUESTION_WORDS = ("من", "ما", "ماذا", "متى", "أين", "كم", "كيف", "لماذا", "هل", "أي")
# Attached prepositions a question word takes: «بماذا», «ممن», «بأي», «لماذا» is its own word.
_QUESTION_PREFIXES = ("", "ب", "ل", "ف", "و", "م")


@pytest.fixture(scope="module")
def seeds_gold():
    return load_gold(GOLD)


def test_size_and_unique_ids(seeds_gold) -> None:
    ids = [q.id for q in seeds_gold.questions]
    assert len(ids) >= 60
    assert len(set(ids)) == len(ids)


def test_every_article_is_covered(seeds_gold, seed_corpus: Corpus) -> None:
    covered = {q.doc_id for q in seeds_gold.questions if q.doc_id}
    assert covered == {d.id for d in seed_corpus.documents}


def test_every_question_word_is_represented(seeds_gold) -> None:
    asked = [set(normalize(q.question).split()) for q in seeds_gold.questions]
    for word in QUESTION_WORDS:
        forms = {normalize(prefix + word) for prefix in _QUESTION_PREFIXES} if word != "ما" else {"ما"}
        assert any(forms & words for words in asked), word


def test_unanswerable_questions(seeds_gold, seed_corpus: Corpus) -> None:
    unanswerable = [q for q in seeds_gold.questions if not q.answers]
    assert len(unanswerable) >= 10
    assert all(q.doc_id is None for q in unanswerable)
    # Some must share names with the corpus, so that retrieval finds something and the reader must decline.
    vocabulary = {w for d in seed_corpus.documents for w in normalize(d.text).split()}
    names = {"بلينكن", "ميلر", "كيربي", "غزه", "القاهره"} & vocabulary
    overlapping = [q for q in unanswerable if names & set(normalize(q.question).split())]
    assert len(overlapping) >= 4


def test_informally_typed_questions(seeds_gold) -> None:
    typed = [q for q in seeds_gold.questions if q.id.startswith("typed-")]
    assert len(typed) >= 8
    texts = " ".join(q.question for q in typed)
    for marker in ("مين", "فين", "امتى", "ايه"):
        assert marker in texts.split() or any(w.startswith(marker) for w in texts.split()), marker
    assert any(sum(0x064B <= ord(c) <= 0x0652 for c in q.question) > 5 for q in typed), "a fully diacritized question"


def test_answers_are_copied_from_the_documents(seeds_gold, seed_corpus: Corpus) -> None:
    """The first answer occurs in the gold document; an alternative may be another article's spelling."""
    texts = {d.id: d.text for d in seed_corpus.documents}
    for q in seeds_gold.questions:
        if not q.answers:
            continue
        assert q.answers[0] in texts[q.doc_id], (q.id, q.answers[0])
        for answer in q.answers:
            assert answer == answer.strip()
            assert any(answer in text for text in texts.values()), (q.id, answer)


def _write(tmp_path: Path, text: str, name: str = "gold.jsonl") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


GOOD = '{"id": "q1", "question": "من؟", "answers": ["أ"], "doc_id": "d"}\n'


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "not valid JSON"),
        ('["a list"]', "expected"),
        ('{"id": "q2", "question": "س"}', "missing answers"),
        ('{"id": "q2", "question": "س", "answers": "أ", "doc_id": "d"}', "list of non-empty strings"),
        ('{"id": "q2", "question": "", "answers": [], "doc_id": null}', '"question"'),
        ('{"id": "q2", "question": "س", "answers": ["أ"], "doc_id": null}', "doc_id"),
        ('{"id": "q2", "question": "س", "answers": [], "doc_id": 3}', "doc_id"),
        ('{"id": "q1", "question": "س", "answers": [], "doc_id": null}', "duplicate id"),
    ],
)
def test_malformed_line_names_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    path = _write(tmp_path, GOOD + "\n" + line + "\n")
    with pytest.raises(GoldError) as err:
        load_gold(path)
    assert f"{path}, line 3" in str(err.value)
    assert message in str(err.value)


@pytest.mark.parametrize("text", ["", "  \n\n"])
def test_empty_file_is_a_clear_error(tmp_path: Path, text: str) -> None:
    with pytest.raises(GoldError, match="empty|only blank lines"):
        load_gold(_write(tmp_path, text))


def test_missing_file_and_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(GoldError, match="not found"):
        load_gold(tmp_path / "nope.jsonl")
    with pytest.raises(GoldError, match="--format"):
        load_gold(_write(tmp_path, GOOD), "csv")


def test_jsonl_blank_lines_are_skipped_and_lines_recorded(tmp_path: Path) -> None:
    gold = load_gold(_write(tmp_path, "\n" + GOOD))
    assert [(q.id, q.line, q.answers, q.doc_id) for q in gold.questions] == [("q1", 2, ("أ",), "d")]


def test_squad_loader_paragraphs_become_documents(tmp_path: Path) -> None:
    gold = load_gold(squad_file(tmp_path), "squad")
    assert [d.id for d in gold.documents][:2] == ["0-0", "0-1"] and len(gold.documents) == 6
    assert [(q.id, q.doc_id, q.answers) for q in gold.questions] == [
        ("s1", "0-0", ("مساء الأحد",)),
        ("s2", "0-0", ("القاهرة",)),
        ("s3", "0-1", ("ماثيو ميلر",)),
    ]
    assert any("wrong answer_start" in p for p in gold.problems)


def test_locate_answer_by_text_nearest_the_given_start() -> None:
    context = "بلينكن قال. ثم بلينكن عاد. بلينكن"
    assert locate_answer(context, "بلينكن", 14) == 15
    assert locate_answer(context, "بلينكن", 100) == 27
    assert locate_answer(context, "بلينكن") == 0
    assert locate_answer(context, "ميلر", 3) is None


def test_squad_not_a_squad_file(tmp_path: Path) -> None:
    with pytest.raises(GoldError, match="SQuAD"):
        load_gold(_write(tmp_path, '{"version": 1}', "x.json"), "squad")
    with pytest.raises(GoldError, match="no questions"):
        load_gold(_write(tmp_path, '{"data": [{"paragraphs": [{"context": "نص", "qas": []}]}]}', "y.json"), "squad")


def test_a_squad_question_without_answers_is_an_error(tmp_path: Path) -> None:
    data = {"data": [{"title": "t", "paragraphs": [{"context": "وصل بلينكن مساء الأحد.", "qas": [
        {"id": "s1", "question": "متى وصل؟", "answers": [{"text": "مساء الأحد", "answer_start": 11}]},
        {"id": "s2", "question": "من وصل؟"},
    ]}]}]}  # fmt: skip
    path = tmp_path / "squad.json"
    path.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    with pytest.raises(GoldError, match=r'paragraphs\[0\]\.qas\[1\] has no "answers" list'):
        load_gold(path, "squad")
    data["data"][0]["paragraphs"][0]["qas"][1]["answers"] = []  # SQuAD v2's "unanswerable" is still accepted
    path.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    assert not load_gold(path, "squad").questions[1].answerable


def test_the_wrong_format_says_which_one_the_file_looks_like(tmp_path: Path) -> None:
    jsonl = _write(tmp_path, GOOD + "\n" + GOOD.replace("q1", "q2") + "\n")
    with pytest.raises(GoldError, match="looks like JSON Lines .*; pass --format jsonl"):
        load_gold(jsonl, "squad")
    with pytest.raises(GoldError, match="looks like SQuAD JSON .*; pass --format squad"):
        load_gold(squad_file(tmp_path), "jsonl")
