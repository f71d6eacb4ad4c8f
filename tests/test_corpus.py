"""Corpus loading and cleaning: every body sentence survives, site furniture does not."""

import json
import re

import pytest

from retrieval import corpus as corpus_module
from retrieval.chunk import sentence_spans
from retrieval.clean import clean_article
from retrieval.corpus import CorpusError, load_corpus

# Read off the files by hand: the line where each site footer starts (None: no footer), then
# furniture that must be gone, inside the body or in the footer.
FOOTER_START = {
    "000_e0b34527a4dc318d": "شاهد أيضاً",
    "001_fe51b7582397db4a": "شاركها.",
    "002_97e23d5805bb0975": "تصنيفات",
    "003_d15b74a03d651d6f": None,
    "004_31c9022a9ad5315f": "المصدر: الحرة",
}
FURNITURE = {
    "000_e0b34527a4dc318d": ["شاهد أيضاً", "الضربات تهز جنوب بيروت", "اترك تعليقاً", "لن يتم نشر عنوان بريدك"],
    "001_fe51b7582397db4a": ["شاركها.", "© 2024 خليجي 247", "Exit mobile version"],
    "002_97e23d5805bb0975": ["تصنيفات", "قصص قد تهمك"],
    "003_d15b74a03d651d6f": [],
    "004_31c9022a9ad5315f": ["تاريخ النشر:", "المصدر: الحرة", "كلمات دلالية:", "إقرأ أيضاً:", "المجر: مصر تقوم بدور",
                             "بيتر سيارتو", "نرفض بشكل قاطع"],
}


def _body_lines(raw: str, doc_id: str) -> list[str]:
    """The raw file's lines before its footer, without the furniture lines inside the body."""
    lines = [line.strip() for line in raw.splitlines() if line.strip()]
    footer = FOOTER_START[doc_id]
    if footer is not None:
        lines = lines[: lines.index(footer)]
    return [line for line in lines if not any(line.startswith(f) for f in FURNITURE[doc_id])]


@pytest.mark.parametrize("doc_id", sorted(FURNITURE))
def test_every_body_sentence_survives_and_furniture_goes(seeds_dir, doc_id):
    raw = (seeds_dir / f"{doc_id}.txt").read_text("utf-8")
    doc = next(d for d in load_corpus(seeds_dir).documents if d.id == doc_id)
    body = _body_lines(raw, doc_id)
    assert len(body) >= 5, "the test must check the article body"
    for line in body:
        for start, end in sentence_spans(line):
            assert line[start:end] in doc.text, f"lost sentence: {line[start:end][:60]}"
    for furniture in FURNITURE[doc_id]:
        assert furniture not in doc.text


def test_headline_becomes_title_only_where_the_article_starts_with_one(seed_corpus):
    titles = {d.id: d for d in seed_corpus.documents}
    assert titles["000_e0b34527a4dc318d"].title.startswith("بلينكن يحث على وقف إطلاق النار")
    assert titles["002_97e23d5805bb0975"].title == 'بلينكن: هذه "لحظة حاسمة" لمحادثات وقف إطلاق النار في غزة'
    assert titles["004_31c9022a9ad5315f"].title == "بلينكن يبحث وقف إطلاق النار بغزة مع مسؤولين إسرائيليين"
    # 003 opens with a sentence, not a headline: its title is that sentence, shortened.
    assert titles["003_d15b74a03d651d6f"].title.endswith("…")


def test_publisher_becomes_source_where_named(seed_corpus):
    sources = {d.id: d.source for d in seed_corpus.documents}
    assert sources["001_fe51b7582397db4a"] == "خليجي 247"
    assert sources["002_97e23d5805bb0975"] == "رويترز"
    assert sources["004_31c9022a9ad5315f"] == "الحرة"
    assert sources["003_d15b74a03d651d6f"] == ""


def test_publish_date_goes_to_meta(seed_corpus):
    doc = next(d for d in seed_corpus.documents if d.id == "004_31c9022a9ad5315f")
    assert doc.meta["date"].startswith("21st, June 2024")


def test_rules_generalize_to_another_site():
    raw = "\n".join([
        "وزير الخارجية يزور القاهرة لبحث التهدئة",
        "الرئيسية",
        "وصل وزير الخارجية إلى القاهرة صباح اليوم في زيارة تستمر يومين، يلتقي خلالها نظيره المصري لبحث ملفات المنطقة.",
        "اقرأ أيضا: وزير الخارجية يلتقي نظيره الأردني",
        "وقال الوزير إن الزيارة تهدف إلى دعم جهود التهدئة وتعزيز التعاون الثنائي بين البلدين في مجالات عدة.",
        "شارك الخبر عبر فيسبوك",
        "الوسوم: القاهرة، وزير الخارجية",
        "مواضيع ذات صلة",
        "الرئيس يستقبل وفدا برلمانيا",
        "جميع الحقوق محفوظة لموقع الخبر اليوم 2024 ©",
        "Skip to content",
    ])
    article = clean_article(raw)
    assert article.title == "وزير الخارجية يزور القاهرة لبحث التهدئة"
    assert "وصل وزير الخارجية إلى القاهرة صباح اليوم" in article.text
    assert "وقال الوزير إن الزيارة تهدف" in article.text
    for furniture in ("الرئيسية", "شارك الخبر", "الوسوم", "مواضيع ذات صلة", "الرئيس يستقبل", "جميع الحقوق", "Skip"):
        assert furniture not in article.text


def test_markup_is_stripped(tmp_path):
    (tmp_path / "a.txt").write_text(
        "<html><body><h1>عنوان الخبر</h1><script>var x=1;</script><p>نص الخبر الأول هنا &amp; هناك.</p></body></html>",
        "utf-8",
    )
    doc = load_corpus(tmp_path).documents[0]
    assert "<" not in doc.text and "var x" not in doc.text
    assert "نص الخبر الأول هنا & هناك." in doc.text


def test_windows_1256_is_read_with_a_notice(tmp_path):
    (tmp_path / "old.txt").write_bytes("هذا خبر قديم محفوظ بترميز ويندوز العربي.".encode("cp1256"))
    loaded = load_corpus(tmp_path)
    assert loaded.documents[0].text == "هذا خبر قديم محفوظ بترميز ويندوز العربي."
    assert any("Windows-1256" in p for p in loaded.problems)


def test_bad_files_are_skipped_with_a_message_naming_them(tmp_path, monkeypatch):
    (tmp_path / "good.txt").write_text("خبر سليم يكفي لبناء الفهرس.", "utf-8")
    (tmp_path / "empty.txt").write_text("  \n", "utf-8")
    (tmp_path / "binary.txt").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "huge.txt").write_text("كلمة " * 100, "utf-8")
    monkeypatch.setattr(corpus_module, "MAX_FILE_BYTES", 300)
    loaded = load_corpus(tmp_path)
    assert [d.id for d in loaded.documents] == ["good"]
    problems = " ".join(loaded.problems)
    assert "empty.txt" in problems and "binary.txt" in problems and "huge.txt" in problems


def test_jsonl_documents_and_malformed_lines(tmp_path):
    lines = [
        json.dumps({"id": "a1", "title": "عنوان", "text": "نص المقال الأول.", "source": "وكالة"}, ensure_ascii=False),
        "{not json",
        json.dumps({"title": "بلا معرف"}, ensure_ascii=False),
        json.dumps({"id": "a2", "text": "نص المقال الثاني."}, ensure_ascii=False),
    ]
    (tmp_path / "docs.jsonl").write_text("\n".join(lines), "utf-8")
    loaded = load_corpus(tmp_path)
    assert [(d.id, d.source) for d in loaded.documents] == [("a1", "وكالة"), ("a2", "")]
    assert any("line 2" in p for p in loaded.problems) and any("line 3" in p for p in loaded.problems)


def test_non_arabic_text_is_indexed_with_a_warning(tmp_path):
    (tmp_path / "en.txt").write_text("This article is written in English only.", "utf-8")
    loaded = load_corpus(tmp_path)
    assert loaded.documents and any("not Arabic" in p for p in loaded.problems)


def test_missing_or_unusable_corpus_raises_a_clear_error(tmp_path):
    with pytest.raises(CorpusError, match="not found"):
        load_corpus(tmp_path / "nope")
    (tmp_path / "empty.txt").write_text("", "utf-8")
    with pytest.raises(CorpusError, match=re.escape("No usable document")):
        load_corpus(tmp_path)


def test_loading_never_writes_to_the_corpus(tmp_path, seeds_dir):
    for f in seeds_dir.glob("*.txt"):
        (tmp_path / f.name).write_bytes(f.read_bytes())
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    load_corpus(tmp_path)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_a_gold_question_set_beside_the_articles_is_not_indexed(tmp_path):
    (tmp_path / "a.txt").write_text("خبر سليم يكفي لبناء الفهرس.", "utf-8")
    (tmp_path / "gold.jsonl").write_text(
        json.dumps({"id": "q1", "question": "ما الخبر؟", "answers": ["خبر"], "doc_id": "a"}, ensure_ascii=False), "utf-8"
    )
    loaded = load_corpus(tmp_path)
    assert [d.id for d in loaded.documents] == ["a"] and loaded.problems == []


def test_a_duplicate_id_skips_the_record_and_says_which_holds_the_id(tmp_path):
    (tmp_path / "a").mkdir()  # read before docs.jsonl
    (tmp_path / "a" / "good.txt").write_text("خبر سليم يكفي لبناء الفهرس.", "utf-8")
    lines = [
        json.dumps({"id": "other", "text": "نص آخر سليم."}, ensure_ascii=False),
        json.dumps({"id": "good", "text": "نص بمعرف مكرر."}, ensure_ascii=False),
    ]
    (tmp_path / "docs.jsonl").write_text("\n".join(lines), "utf-8")
    loaded = load_corpus(tmp_path)
    assert sorted(d.id for d in loaded.documents) == ["good", "other"]
    [problem] = loaded.problems
    assert problem.startswith(f"{tmp_path / 'docs.jsonl'}, line 2: record skipped")
    assert f"'good' is already taken by {tmp_path / 'a' / 'good.txt'}" in problem


def test_a_malformed_json_line_says_where_once(tmp_path):
    (tmp_path / "docs.jsonl").write_text('{"id": "a", "text": "نص سليم."}\n{"id": "b", "text": "مقطوع\n', "utf-8")
    [problem] = load_corpus(tmp_path).problems
    assert "line 2: record skipped, not valid JSON (Unterminated string starting at: column 21)" in problem
    assert "at at" not in problem


def test_each_corpus_warning_is_printed_once(tmp_path, capsys):
    from qa.cli import main

    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "good.txt").write_text("خبر سليم يكفي لبناء الفهرس.", "utf-8")
    (tmp_path / "corpus" / "en.txt").write_text("This article is written in English only.", "utf-8")
    assert main(["index", "--corpus", str(tmp_path / "corpus"), "--index", str(tmp_path / "idx")]) == 0
    err = capsys.readouterr().err
    assert err.count("en.txt") == 1 and err.startswith("sanad: ")


@pytest.mark.parametrize("terminal", [False, True])
def test_the_index_progress_bar_shows_on_a_terminal_only(seed_corpus, monkeypatch, capsys, terminal):
    import sys

    from retrieval import index as index_module

    monkeypatch.setattr(index_module, "PROGRESS_FROM", 1)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: terminal)
    index_module.BM25Index.build(seed_corpus.documents)
    assert ("Indexing passages" in capsys.readouterr().err) is terminal
