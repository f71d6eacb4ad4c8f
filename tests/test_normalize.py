"""Each normalization rule alone, then the composed normalizer and its fast path."""

from retrieval import normalize as n


def test_unicode_nfkc_folds_lam_alef_ligature():
    assert n.unicode_nfkc("\ufefb") == "لا"


def test_remove_diacritics():
    assert n.remove_diacritics("مُحَمَّدٌ") == "محمد"


def test_remove_tatweel():
    assert n.remove_tatweel("كتـــاب") == "كتاب"


def test_normalize_alef_forms():
    assert n.normalize_alef("أحمد إبراهيم آمال ٱلله") == "احمد ابراهيم امال الله"


def test_normalize_hamza_carriers():
    assert n.normalize_hamza("مسؤول شئون") == n.normalize_hamza("مسئول شؤون") == "مسءول شءون"


def test_normalize_alef_maksura():
    assert n.normalize_alef_maksura("على مستشفى") == "علي مستشفي"


def test_normalize_teh_marbuta():
    assert n.normalize_teh_marbuta("وزارة الخارجية") == "وزاره الخارجيه"


def test_normalize_persian_letters():
    assert n.normalize_persian_letters("الخارجیة الأمیرکی") == "الخارجية الأميركي"


def test_normalize_digits_arabic_indic_and_persian():
    assert n.normalize_digits("٢٠٢٤ و۱۹") == "2024 و19"


def test_remove_punctuation_arabic_and_latin():
    assert n.collapse_spaces(n.remove_punctuation("قال، «نعم»؛ لماذا؟ (حقا!) a.b")) == "قال نعم لماذا حقا a b"


def test_collapse_spaces():
    assert n.collapse_spaces("  a \n\t b  ") == "a b"


def test_normalize_composes_every_rule():
    assert n.normalize("«الخارجیّة» الأمريكيـــة: ٣ مسؤولين على") == "الخارجيه الامريكيه 3 مسءولين علي"


def test_fast_path_matches_normalizer_on_the_seeds(seed_corpus):
    for doc in seed_corpus.documents:
        assert n.normalized_words(doc.text) == n.normalize(doc.text).split()


def test_fast_path_matches_on_tricky_text():
    text = "\ufefb كتـــابُ_الله Hello-World ١٢٫٥ ؟؟ \u064e وحده"
    assert n.normalized_words(text) == n.normalize(text).split()
