"""Index terms: stopwords, clitic stripping, and the analyzer signature."""

import pytest

from retrieval.analyze import Analyzer, stopwords, strip_article, strip_prefix, strip_suffix


def test_stopwords_are_normalized_and_include_question_words():
    stop = stopwords()
    assert {"من", "متي", "اين", "في", "الي", "علي", "ان"} <= stop


def test_strip_article_with_attached_clitics():
    assert [strip_article(w) for w in ("الخارجيه", "والولايات", "بالقطاع", "للسلام", "كالعاده")] == [
        "خارجيه", "ولايات", "قطاع", "سلام", "عاده",
    ]


def test_strip_article_keeps_short_words():
    assert strip_article("الا") == "الا"


def test_strip_prefix_removes_bare_proclitic_only_from_long_words():
    assert strip_prefix("وبلينكن") == "بلينكن"
    assert strip_prefix("وزير") == "وزير"


def test_strip_suffix():
    assert strip_suffix("مسءولين") == "مسءول"
    assert strip_suffix("بلد") == "بلد"


def test_terms_drop_stopwords_and_strip_the_article():
    assert Analyzer(stemmer="article").terms("من هو المتحدث باسم وزارة الخارجية الأمريكية؟") == [
        "متحدث", "باسم", "وزاره", "خارجيه", "امريكيه",
    ]


def test_terms_match_across_spelling_variants():
    a = Analyzer()
    assert a.terms("الأمريكية") == a.terms("الامريكيه") == a.terms("الأمريكيّة")


def test_unknown_stemmer_is_rejected_with_the_choices():
    with pytest.raises(ValueError, match="none, article, prefix, light"):
        Analyzer(stemmer="porter")


def test_signature_records_how_terms_are_made():
    sig = Analyzer(stemmer="light", remove_stopwords=False).signature
    assert sig["stemmer"] == "light" and sig["remove_stopwords"] is False and "normalizer_version" in sig


def test_default_light_stemmer_folds_plural_and_possessive_forms():
    a = Analyzer()
    assert a.terms("المسؤولين") == a.terms("مسؤول")
    assert a.terms("وزيرها") == a.terms("الوزير")
