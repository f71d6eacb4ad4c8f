"""The Arabic answer normalizer, one rule at a time, and EM/F1 edge cases."""

from __future__ import annotations

import pytest

from qa.metrics import (
    drop_detached_clitics,
    drop_leading_preposition,
    exact_match,
    f1_score,
    normalize_answer,
    remove_format_characters,
    strip_answer_article,
    strip_leading_waw,
)


def same(a: str, b: str) -> bool:
    return normalize_answer(a) == normalize_answer(b)


@pytest.mark.parametrize(
    ("variant", "plain", "rule"),
    [
        ("ﻻ يزال", "لا يزال", "NFKC folds the lam-alef ligature"),
        ("بلي\u200fنكن", "بلينكن", "format characters (RLM) inside a word"),
        ("\u2068ماثيو ميلر\u2069", "ماثيو ميلر", "bidi isolates around a span"),
        ("الخارجیة الأمیرکیة", "الخارجية الأميركية", "Persian yeh and keheh"),
        ("عبّر", "عبر", "shadda"),
        ("أَنْتُونِي بْلِينْكِن", "أنتوني بلينكن", "full diacritics"),
        ("بلينكـــن", "بلينكن", "tatweel"),
        ("إسرائيل", "اسرائيل", "alef with hamza below"),
        ("أكتوبر", "اكتوبر", "alef with hamza above"),
        ("آلاف", "الاف", "alef madda"),
        ("مسؤول", "مسئول", "hamza on waw and on yeh meet"),
        ("مسؤول", "مسءول", "hamza carrier and bare hamza"),
        ("مصطفى", "مصطفي", "alef maksura"),
        ("مرحلة", "مرحله", "teh marbuta"),
        ("٣١ مايو", "31 مايو", "Arabic-Indic digits"),
        ("۳۱ مايو", "31 مايو", "Persian digits"),
        ("Reuters", "reuters", "Latin case"),
        ("«لحظة حاسمة»", "لحظة حاسمة", "guillemets"),
        ("”صفقة تبادل محدودة“", "صفقة تبادل محدودة", "curly quotes"),
        ("مخيبة للآمال، ولم نكن نتوقعها.", "مخيبة للآمال ولم نكن نتوقعها", "Arabic comma and full stop"),
        ("  جو   بايدن ", "جو بايدن", "whitespace"),
        ("الرئيس", "رئيس", "the article"),
        ("والاتحاد الأوروبي", "اتحاد أوروبي", "waw + article"),
        ("بالسكان", "سكان", "bi + article"),
        ("للسلام", "سلام", "li + article"),
        ("وماثيو ميلر", "ماثيو ميلر", "a conjunction waw glued to a name"),
        ('بـ"القضاء على حماس"', "القضاء على حماس", "a clitic cut loose by tatweel and a quote"),
        ("و ماثيو ميلر", "ماثيو ميلر", "a conjunction written apart"),
        ("في القاهرة", "القاهرة", "a leading في"),
        ("في 7 أكتوبر", "7 أكتوبر", "a leading في before a date"),
        ("على طول الحدود اللبنانية", "طول الحدود اللبنانية", "a leading على"),
        ("إلى الأردن", "الأردن", "a leading إلى"),
    ],
)
def test_each_rule_folds_its_variation(variant: str, plain: str, rule: str) -> None:
    assert same(variant, plain), rule


@pytest.mark.parametrize(
    ("a", "b", "why"),
    [
        ("منذ 27 أكتوبر", "27 أكتوبر", "منذ changes a date's meaning"),
        ("من غير المعقول", "غير المعقول", "من is not dropped"),
        ("الأمريكية", "الأميركية", "spelling variants of a name are listed as alternatives, not folded"),
        ("بطهران", "طهران", "a bare ب before a name is not an article: بلينكن must survive"),
        ("الحدود في لبنان", "الحدود لبنان", "a preposition inside the span stays"),
    ],
)
def test_what_the_normalizer_keeps_apart(a: str, b: str, why: str) -> None:
    assert not same(a, b), why


def test_strip_article_keeps_short_words_and_non_articles() -> None:
    assert strip_answer_article("الا") == "الا"
    assert strip_answer_article("بلينكن") == "بلينكن"
    assert strip_answer_article("كالعاده") == "عاده"


def test_strip_leading_waw_only_on_long_words() -> None:
    assert strip_leading_waw("وماثيو") == "ماثيو"
    assert strip_leading_waw("وصل") == "وصل"


def test_drop_detached_clitics() -> None:
    assert drop_detached_clitics(["ب", "قضاء", "و", "حماس"]) == ["قضاء", "حماس"]


def test_drop_leading_preposition_only_first_and_not_alone() -> None:
    assert drop_leading_preposition(["في", "قاهره"]) == ["قاهره"]
    assert drop_leading_preposition(["في"]) == ["في"]
    assert drop_leading_preposition(["حدود", "في", "لبنان"]) == ["حدود", "في", "لبنان"]


def test_remove_format_characters() -> None:
    assert remove_format_characters("a\u200cb\u200dc\ufeffd\u00ade\u200ef") == "abcdef"


def test_exact_match_max_over_alternatives() -> None:
    assert exact_match("هرتسوغ", ["يتسحق هرتسوغ", "هرتسوغ"]) == 1.0
    assert exact_match("يتسحاق", ["يتسحق هرتسوغ", "هرتسوغ"]) == 0.0


def test_no_answer_cases() -> None:
    assert exact_match(None, []) == f1_score(None, []) == 1.0
    assert exact_match("شيء", []) == f1_score("شيء", []) == 0.0
    assert exact_match(None, ["جو بايدن"]) == f1_score(None, ["جو بايدن"]) == 0.0


def test_f1_partial_overlap() -> None:
    # pred {جو, بايدن} against gold {رئيس, جو, بايدن}: precision 1, recall 2/3.
    assert f1_score("جو بايدن", ["الرئيس جو بايدن"]) == pytest.approx(0.8)


def test_f1_takes_the_best_alternative() -> None:
    assert f1_score("جو بايدن", ["ماثيو ميلر", "الرئيس جو بايدن"]) == pytest.approx(0.8)


def test_f1_counts_repeated_tokens_once_each() -> None:
    # pred [هجوم, هجوم, أي] vs gold [أي, هجوم]: overlap 2, precision 2/3, recall 1.
    assert f1_score("هجوم هجوم أي", ["أي هجوم"]) == pytest.approx(0.8)


def test_f1_no_overlap_and_punctuation_only_prediction() -> None:
    assert f1_score("القاهرة", ["الدوحة"]) == 0.0
    assert f1_score("،", ["الدوحة"]) == 0.0
    assert exact_match("،", ["الدوحة"]) == 0.0


def test_normalization_makes_em_hold_for_spelling_only_differences() -> None:
    assert exact_match("وزيرُ الخارجيّة الأمريكيّ", ["وزير الخارجية الامريكي"]) == 1.0
