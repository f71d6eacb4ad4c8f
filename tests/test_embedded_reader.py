"""The embedded reader: its shipped model loads, its spans cite the passage exactly, and training runs end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa.readers.embedded import EmbeddedReader
from qa.readers.features import BASE_FEATURES, CROSS_FEATURES, candidates
from qa.readers.question_types import question_info, question_kind
from qa.readers.span_model import ModelError, load_model, shipped_artifact
from qa.readers.train import Example, _question_features, evaluate, fit, load_squad
from retrieval.chunk import chunk_document
from retrieval.types import Document, Passage

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def _passage(text: str, pid: str = "d#0") -> Passage:
    return Passage(id=pid, doc_id=pid.split("#")[0], text=text, start=0, end=len(text))


def _assert_cited(answers) -> None:
    for answer in answers:
        c = answer.citations[0]
        assert answer.text and c.passage[c.start : c.end] == answer.text
        assert 0.0 <= answer.score <= 1.0
    assert [a.score for a in answers] == sorted((a.score for a in answers), reverse=True)


def test_shipped_model_is_small_and_loads() -> None:
    assert shipped_artifact().stat().st_size < 3_000_000
    model = load_model(shipped_artifact())
    assert model.weights.any() and model.meta["trained_on"] > 600


def test_model_built_for_other_features_is_refused(tmp_path: Path) -> None:
    data = json.loads(shipped_artifact().read_text(encoding="utf-8"))
    data["features"] = data["features"][:-1]
    stale = tmp_path / "stale.json"
    stale.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ModelError, match="train-reader"):
        load_model(stale)


def test_spans_on_seed_passages_are_exact_substrings() -> None:
    reader = EmbeddedReader()
    passages = []
    for path in sorted(SEEDS.glob("*.txt")):
        doc = Document(id=path.stem, title="", text=path.read_text(encoding="utf-8"), source="", meta={})
        passages.extend(chunk_document(doc)[:3])
    answers = reader.read("من هو المتحدث باسم وزارة الخارجية الأمريكية؟", passages)
    assert answers
    _assert_cited(answers)
    assert any("ميلر" in a.text for a in answers)


@pytest.mark.parametrize(
    "text",
    [
        "قالَ المُتَحَدِّثُ باسمِ الوزارةِ مَاثيو مِيلَر، إنَّ الاجتماعَ انتهى.",  # diacritized
        "قال المتحـــدث باسم الوزارة ماثيو ميلـــر إن الاجتماع انتهى.",  # tatweel
        "قال المتحدث باسم الوزارة Matthew Miller في 12/3/2024 إن الاجتماع انتهى عند 10:30.",  # Latin, digits
        "قال المتحدث باسم الوزارة ٣ مرات (مرة في مايو) إن الاجتماع انتهى…",  # Arabic-Indic digits, brackets
    ],
)
def test_spans_are_exact_on_edge_cases(text: str) -> None:
    answers = EmbeddedReader().read("من هو المتحدث باسم الوزارة؟", [_passage(text)])
    assert answers
    _assert_cited(answers)


def test_no_passages_and_no_overlap() -> None:
    reader = EmbeddedReader()
    assert reader.read("من هو المتحدث باسم الوزارة؟", []) == []
    assert reader.read("من هو المتحدث؟", [_passage("")]) == []
    unrelated = reader.read("ما عاصمة أستراليا؟", [_passage("ارتفعت أسعار القمح في الأسواق هذا الأسبوع.")])
    _assert_cited(unrelated)
    related = reader.read("من هو المتحدث باسم الوزارة؟", [_passage("قال المتحدث باسم الوزارة ماثيو ميلر إن الاجتماع انتهى.")])
    # A passage that shares no word with the question must score lower than one that does.
    assert not unrelated or unrelated[0].score < related[0].score


def test_question_kinds() -> None:
    assert question_kind("متى ولد خاشقجي؟") == "when"
    assert question_kind("في أي عام تأسست الشركة؟") == "when"
    assert question_kind("في أي مدينة ولد؟") == "where"
    assert question_kind("كم عدد سكان مصر؟") == "how_many"
    assert question_kind("من هو المتحدث باسم الوزارة؟") == "who"
    assert question_kind("من هو جمال خاشقجي؟") == "who"


def test_training_examples_locate_the_answer_by_text_when_start_is_wrong(tmp_path: Path) -> None:
    context = "ولد في القاهرة عام 1950 ثم انتقل إلى القاهرة."
    qas = [
        {"id": "late", "question": "أين؟", "answers": [{"text": "القاهرة", "answer_start": 40}]},
        {"id": "early", "question": "أين؟", "answers": [{"text": "القاهرة", "answer_start": 0}]},
        {"id": "absent", "question": "أين؟", "answers": [{"text": "دمشق", "answer_start": 0}]},
    ]
    squad = tmp_path / "train.json"
    squad.write_text(json.dumps({"data": [{"paragraphs": [{"context": context, "qas": qas}]}]}), encoding="utf-8")
    spans = {e.id: (e.start, e.end) for e in load_squad(squad)}
    assert spans == {"late": (37, 44), "early": (7, 14), "absent": (-1, -1)}


def _example(i: int, group: str, question: str, context: str, answer: str) -> Example:
    start = context.index(answer)
    return Example(f"q{i}", group, question, context, (answer,), start, start + len(answer))


def test_training_on_a_tiny_slice_writes_a_loadable_model(tmp_path: Path) -> None:
    facts = [
        ("متى ولد أحمد؟", "ولد أحمد في 13 أكتوبر 1958 في المدينة. ثم درس الطب.", "13 أكتوبر 1958"),
        ("أين ولد سامي؟", "ولد سامي في مدينة دمشق عام 1970. وعمل مهندسا.", "مدينة دمشق"),
        ("من هو المتحدث باسم الشركة؟", "قال المتحدث باسم الشركة خالد عمر، إن الأرباح زادت.", "خالد عمر"),
        ("كم عدد سكان البلدة؟", "يبلغ عدد سكان البلدة 5000 نسمة. وهي جميلة.", "5000 نسمة"),
    ]
    examples = [_example(i, str(i % 3), q, c, a) for i, (q, c, a) in enumerate(facts * 3)]
    model = fit(examples, seed=1)
    out = tmp_path / "model.json"
    model.save(out)
    loaded = load_model(out)
    assert (loaded.weights == model.weights.round(6)).all() or abs(loaded.weights - model.weights).max() < 1e-5
    assert evaluate(loaded, examples)["f1"] > 50  # it learned the toy patterns
    answers = EmbeddedReader(out).read("متى ولد أحمد؟", [_passage(facts[0][1])])
    _assert_cited(answers)
    assert answers[0].text == "13 أكتوبر 1958"


def test_training_targets_are_word_f1_against_the_located_answer() -> None:
    example = _example(0, "0", "من هو المتحدث باسم الشركة؟", "قال المتحدث باسم الشركة خالد عمر، إن الأرباح زادت.", "خالد عمر")
    f = _question_features(example)
    spans = {example.context[s:e]: f1 for s, e, f1 in zip(f.cands.start, f.cands.end, f.f1)}
    assert spans["خالد عمر"] == 1.0
    assert spans["خالد"] == pytest.approx(2 / 3)  # precision 1, recall 1/2
    assert spans["الشركة خالد عمر"] == pytest.approx(0.8)
    assert spans["قال"] == 0.0
    assert f.labels.sum() == 1 and f.labels[list(spans).index("خالد عمر")] == 1


def test_fitting_is_deterministic() -> None:
    facts = [
        ("متى ولد أحمد؟", "ولد أحمد في 13 أكتوبر 1958 في المدينة. ثم درس الطب.", "13 أكتوبر 1958"),
        ("أين ولد سامي؟", "ولد سامي في مدينة دمشق عام 1970. وعمل مهندسا.", "مدينة دمشق"),
    ]
    examples = [_example(i, str(i % 2), q, c, a) for i, (q, c, a) in enumerate(facts * 2)]
    first, second = fit(examples, seed=3), fit(examples, seed=3)
    assert (first.weights == second.weights).all() and first.calibration == second.calibration


def test_a_title_the_question_does_not_name_is_marked() -> None:
    info = question_info("من هو المتحدث باسم وزارة الخارجية؟")
    text = "قال المتحدث باسم وزارة الخارجية ماثيو ميلر، إن وزير الخارجية أنتوني بلينكن سيسافر."
    cands = candidates(info, [text])
    column = CROSS_FEATURES.index("start_other_title")
    by_text = {text[s:e]: row for s, e, row in zip(cands.start, cands.end, cands.cross[:, column])}
    assert by_text["وزير الخارجية أنتوني بلينكن"] == 1.0
    assert by_text["المتحدث باسم وزارة الخارجية ماثيو ميلر"] == 0.0  # the role the question asks about
    assert by_text["ماثيو ميلر"] == 0.0


@pytest.mark.parametrize(
    ("word", "stem"), [("وزيرها", "وزير"), ("بيانات", "بيان"), ("كتابهم", "كتاب"), ("بلدها", "بلد")]
)
def test_reader_and_index_share_one_analyzer(word: str, stem: str) -> None:
    # The index's terms and the reader's question terms come from the same Analyzer: a suffix is
    # stripped before the prefix, so «وزيرها» is «وزير», not «زير».
    from retrieval.analyze import Analyzer

    assert Analyzer().terms(word) == [stem]
    assert question_info(f"ما {word}؟").terms == {stem}
    # The passage side matches through the same term: the word counts as a question word in the span.
    cands = candidates(question_info(f"ما {word}؟"), [f"قال {word} اليوم"])
    matched = cands.base[:, list(BASE_FEATURES).index("any_matched")]
    assert matched.max() == 1.0


def test_every_lexicon_entry_is_in_normalized_spelling() -> None:
    # Features compare normalized words with these lists; an entry that normalization would change
    # (a hamza on alef, a final ة, a tatweel) could never match.
    from qa.readers import lexicon
    from retrieval.normalize import normalize

    lists = {name: value for name, value in vars(lexicon).items() if name.isupper()}
    entries = [(name, word) for name, value in lists.items() for group in (value.values() if isinstance(value, dict) else [value]) for word in group]
    assert len(entries) > 200
    assert [(name, word) for name, word in entries if normalize(word) != word] == []
